#!/usr/bin/env bash
# Integration test: the `process` feature on the live host.
#
# Starts a process whose comm is `a b) (c` (a copy of sleep under that
# file name), one in its own PID namespace (nspid 1) and a zombie, crawls
# with `vantage crawl --features process` in both formats, and checks the
# records against /proc and what we started.
source "$(dirname "$0")/lib.sh"

NAME='a b) (c'
cp /bin/sleep "$TMP/$NAME"
cp /bin/sleep "$TMP/nssleep"
mkdir -p "$TMP/work dir"
t0=$(date +%s)

# The odd-named process, started from a known cwd, fds 0-2 on /dev/null.
(cd "$TMP/work dir" && exec "$TMP/$NAME" 1000 1) </dev/null >/dev/null 2>&1 &
odd=$!
on_exit "kill $odd"
# One in a new PID namespace: it is PID 1 inside.
unshare --pid --fork --kill-child "$TMP/nssleep" 1000 </dev/null >/dev/null 2>&1 &
ush=$!
on_exit "kill $ush"
# The child is PID 1 of its namespace: only SIGKILL reaches it from outside.
on_exit "pkill -KILL -P $ush"
# A zombie: `sleep 0` exits and its parent (exec'd sleep) never reaps it.
(sleep 0 & exec sleep 1000) </dev/null >/dev/null 2>&1 &
zparent=$!
on_exit "kill $zparent"

# Wait until they have settled (asleep, child forked, zombie dead).
for _ in $(seq 100); do
	s=$(sed "s/.*) //" "/proc/$odd/stat" 2>/dev/null | cut -d" " -f1)
	nsp=$(pgrep -P "$ush" 2>/dev/null | head -1)
	zomb=$(pgrep -P "$zparent" 2>/dev/null | head -1)
	zs=$([ -n "$zomb" ] && awk '{print $3}' "/proc/$zomb/stat" 2>/dev/null)
	[ "$s" == S ] && [ -n "$nsp" ] && [ "$zs" == Z ] && break
	sleep 0.05
done

# jqt FILTER [FILE]: jq -e without output (a test).
jqt() { jq -e "$@" >/dev/null; }
# near A B TOLERANCE: |A - B| <= TOLERANCE
near() { local d=$(($1 - $2)); [ "${d#-}" -le "$3" ]; }

pids_now() { ls /proc | grep -E '^[0-9]+$' | sort; }
out=$TMP/out.json
pids_now >"$TMP/before"
$VANTAGE crawl --features process >"$out" 2>"$TMP/err"
check_eq "crawl exits 0" 0 $?
pids_now >"$TMP/after"

# ---- the header ---------------------------------------------------------
check_eq "first line is the frame header" frame "$(head -1 "$out" | jq -r .feature)"
check_eq "header lists the process feature" '["process"]' "$(head -1 "$out" | jq -c .value.features)"
check "every line is one JSON record with the five keys" \
	jqt -s 'all(keys == ["feature","key","system","time","value"])' "$out"
nerr=$(tail -n +2 "$out" | jq -s '[.[] | select(.value.error)] | length')
hdr_err=$(head -1 "$out" | jq '.value.errors.process // 0')
check "header counts every record marked with an error ($nerr <= $hdr_err)" [ "$nerr" -le "$hdr_err" ]

rec() { jq -c --arg k "$1" 'select(.feature=="process" and .key==$k) | .value' "$out"; }
field() { jq -r --arg f "$2" '.[$f] | if . == null then "(absent)" else tostring end' <<<"$1"; }

# ---- the odd-named process ----------------------------------------------
r=$(rec "$odd")
check "record for the odd-named process (pid $odd)" [ -n "$r" ]
check_eq "pid" "$odd" "$(field "$r" pid)"
check_eq "ppid is this shell" "$$" "$(field "$r" ppid)"
check_eq "nspid equals pid in the host namespace" "$odd" "$(field "$r" nspid)"
check_eq "comm with spaces and parentheses" "$NAME" "$(field "$r" comm)"
check_eq "cmdline joined with spaces" "$TMP/$NAME 1000 1" "$(field "$r" cmdline)"
check_eq "exe" "$TMP/$NAME" "$(field "$r" exe)"
check_eq "cwd" "$TMP/work dir" "$(field "$r" cwd)"
check_eq "uid" 0 "$(field "$r" uid)"
check_eq "user" root "$(field "$r" user)"
check_eq "state" S "$(field "$r" state)"
check_eq "threads" 1 "$(field "$r" threads)"
check_eq "fds" "$(ls "/proc/$odd/fd" | wc -l)" "$(field "$r" fds)"
check_eq "no error" "(absent)" "$(field "$r" error)"
want_cg=$(awk -F: '$1=="0" && $2=="" && $3!="/" {u=$3} $2 ~ /(^|,)memory(,|$)/ {m=$3}
	NR==1 {f=$3} END {print u != "" ? u : (m != "" ? m : f)}' "/proc/$odd/cgroup")
check_eq "cgroup" "$want_cg" "$(field "$r" cgroup)"
rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$odd/status")
got_rss=$(field "$r" rss_kb)
check "rss_kb near VmRSS ($got_rss vs $rss)" near "$got_rss" "$rss" 512
check "rss_kb above 0" [ "$got_rss" -gt 0 ]
check_eq "vsz_kb is VmSize" "$(awk '/^VmSize:/ {print $2}' "/proc/$odd/status")" "$(field "$r" vsz_kb)"
check "cpu times are numbers" jqt '(.cpu_user_s|type)=="number" and (.cpu_system_s|type)=="number"' <<<"$r"
st=$(field "$r" start_time)
st_s=$(date -d "$st" +%s 2>/dev/null || echo 0)
check "start_time ($st) within 3 s of the start ($t0)" near "$st_s" "$t0" 3
check "start_time is ISO-8601 UTC" grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$' <<<"$st"

# ---- namespaces, zombies, PID 1 -------------------------------------------
r=$(rec "$nsp")
check_eq "process in its own PID namespace has nspid 1" 1 "$(field "$r" nspid)"
check_eq "its ppid is unshare" "$ush" "$(field "$r" ppid)"
r=$(rec "$zomb")
check_eq "zombie listed with state Z" Z "$(field "$r" state)"
check_eq "zombie has no exe and no error" "(absent)(absent)" "$(field "$r" exe)$(field "$r" error)"
r=$(rec 1)
check "PID 1 appears" [ -n "$r" ]
check_eq "PID 1 comm" "$(cut -d'(' -f2 /proc/1/stat | cut -d')' -f1)" "$(field "$r" comm)"
if [ "$(field "$r" error)" != "(absent)" ]; then
	check "PID 1's error is counted in the header" [ "$hdr_err" -ge 1 ]
fi

# ---- against /proc ----------------------------------------------------------
# Other things may start and stop processes while we crawl: compare with
# the PIDs present just before and just after it.
tail -n +2 "$out" | jq -r .key | sort >"$TMP/listed"
total=$(wc -l <"$TMP/listed")
check "many processes listed ($total)" [ "$total" -gt 3 ]
comm -12 "$TMP/before" "$TMP/after" >"$TMP/stayed"
dropped=$(comm -23 "$TMP/stayed" "$TMP/listed" | tr '\n' ' ')
check_eq "every process alive before and after the crawl is listed" "" "$dropped"
ghosts=$(sort -u "$TMP/before" "$TMP/after" | comm -13 - "$TMP/listed" | wc -l)
check "listed pids existed before or after the crawl ($ghosts did not)" [ "$ghosts" -le 5 ]
check "keys are unique" [ "$(tail -n +2 "$out" | jq -r .key | sort | uniq -d | wc -l)" -eq 0 ]
check "every record's key is its pid" \
	jqt -s '[.[1:][] | select(.key != (.value.pid|tostring))] | length == 0' "$out"

# ---- the reference crawler's layout ----------------------------------------
cr=$TMP/out.crawler
$VANTAGE crawl --features process --format crawler >"$cr" 2>/dev/null
check_eq "crawler: first line is metadata" metadata "$(head -1 "$cr" | cut -f1)"
line=$(awk -F'\t' -v k="\"$NAME/$odd\"" '$1=="process" && $2==k' "$cr")
check "crawler: record keyed \"<comm>/<pid>\"" [ -n "$line" ]
v=$(cut -f3- <<<"$line")
check "crawler: fields cmd, created, cwd, pname, pid, ppid, threads, user" \
	jqt '(.cmd|type)=="string" and (.created|type)=="number" and .cwd and .pname and
	       .pid and .ppid and .threads and .user' <<<"$v"
check_eq "crawler: pname" "$NAME" "$(jq -r .pname <<<"$v")"
check_eq "crawler: cmd" "$TMP/$NAME 1000 1" "$(jq -r .cmd <<<"$v")"
