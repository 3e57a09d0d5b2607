# State alarms (analytics/alarm_drift.c) on a real container crawled into a
# store with `vantage crawl --sink sqlite:`: a process in the container
# opens a new listening port 4444 (busybox nc -l) -> the listen rule names
# the socket; the port closes -> 0 hits; the container's httpd is killed ->
# process_gone fires; a config file edited and a package's version changed
# -> config and package fire.  The evaluations go through
# build/tests/alarm_drift_tool (alarm_drift_eval, the engine's entry
# point); the mean time of one evaluation is printed.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"
need_testbin alarm_drift_tool
T=ad$$
C=$T-web
DB=$TMP/store.db
TOOL=$TESTBIN/alarm_drift_tool
FEATURES=os,process,connection,package,config

mk_busybox_root "$TMP/root" >/dev/null || { not_ok "busybox root"; exit 1; }
printf 'listen=8080\nworkers=2\n' >"$TMP/root/etc/app.conf"
echo hello >"$TMP/root/var/www/index.html"
mkdir -p "$TMP/root/var/lib/dpkg"
for p in "openssl 3.0.14-1" "tzdata 2024a-1"; do
	set -- $p
	printf 'Package: %s\nStatus: install ok installed\nVersion: %s\nArchitecture: amd64\n\n' "$1" "$2"
done >"$TMP/root/var/lib/dpkg/status"

cpid=$(start_unshare_container $C "$TMP/root" \
	'httpd -p 8080 -h /var/www; sleep 1000000') || { not_ok "start the container"; exit 1; }
# 8080 = 0x1F90, 4444 = 0x115C; state 0A = LISTEN (the container's netns;
# busybox listens on [::] where it can)
listening() { grep -qE ":$1 0+:0000 0A" "/proc/$cpid/net/tcp" "/proc/$cpid/net/tcp6"; }
wait_for 10 listening 1F90 || { not_ok "httpd listens in the container"; exit 1; }

in_container() { # in_container CMD...: run CMD in the container, in its cgroups
	(
		for d in $(unshare_cgroup_dirs $C); do echo "$BASHPID" >"$d/cgroup.procs"; done
		exec nsenter -t "$cpid" -a -r -w "$@"
	)
}

crawl() {
	$VANTAGE crawl -c $C -f $FEATURES --sink "sqlite:$DB" 2>>"$TMP/crawl.err"
}
now_ms() { date +%s%3N; }
# alarm OUT RULE PATTERN [NOW_MS [REPEAT]]: evaluate against the baseline
alarm() {
	local out=$1
	shift
	"$TOOL" "$DB" $C "$1" "$2" "$BASE" "${3:-0}" "${4:-1}" >"$TMP/$out.json" 2>"$TMP/$out.err"
	echo "#   $1 ${2}: $(jq -c '{rc,hits,summary}' "$TMP/$out.json" 2>/dev/null)"
}
hits() { jq -r .hits "$TMP/$1.json" 2>/dev/null; }
jqe() { jq -e "$@" >/dev/null 2>&1; }

# ---- the baseline ------------------------------------------------------------
crawl
check "the container is in the store" "$TOOL" "$DB" $C listen - "$(now_ms)"
sleep 0.01 # the baseline is a time after the first crawl's frame
BASE=$(now_ms)
alarm base-listen listen -
check_eq "no change yet: listen has 0 hits" 0 "$(hits base-listen)"
check_eq "no change yet: the entries are []" "[]" "$(jq -c .entries "$TMP/base-listen.json")"
"$TOOL" "$DB" $C listen - 1000 >"$TMP/nobase.json" 2>/dev/null
check_eq "a baseline before the first frame: -ENOENT" -2 "$(jq .rc "$TMP/nobase.json")"
check "...and its error names the system" jqe '.err | test("has no frame")' "$TMP/nobase.json"

# ---- a new listening socket ------------------------------------------------------
in_container nc -l -p 4444 </dev/null >/dev/null 2>&1 &
ncjob=$!
on_exit "kill $ncjob"
wait_for 10 listening 115C || not_ok "nc listens on 4444 in the container"
crawl
OPEN_T=$(now_ms)
alarm open listen -
check_eq "nc -l 4444: the listen rule fires once" 1 "$(hits open)"
check "the summary names the socket and its process" \
	jqe '.summary | test("^new listening socket tcp (0\\.0\\.0\\.0|\\[::\\]):4444 \\(nc, pid [0-9]+\\)$")' "$TMP/open.json"
check "the entry is drift's: an added connection, its value, score and why" \
	jqe '.entries[0] | .feature == "connection" and .change == "added" and
		(.key == "tcp 0.0.0.0:4444 LISTEN" or .key == "tcp :::4444 LISTEN") and .value.local_port == 4444 and
		.value.comm == "nc" and .score > 0.5 and (.why.prior > 0)' "$TMP/open.json"
check "the same entry as vantage diff --json gives" sh -c \
	"$VANTAGE diff --db '$DB' $C@$(date -u -d "@$((BASE / 1000)).$(printf %03d $((BASE % 1000)))" +%Y-%m-%dT%H:%M:%S.%3NZ) $C --json --no-peers |
	 jq -e --argjson e \"\$(jq -c '.entries[0]' '$TMP/open.json')\" \
		'[.entries[] | select(.key | test(\":4444 LISTEN\"))][0] == \$e' >/dev/null"
alarm port listen 4444
check_eq "pattern 4444 matches it" 1 "$(hits port)"
alarm addr listen '*:44*'
check_eq "pattern *:44* matches it" 1 "$(hits addr)"
addr=$(jq -r .entries[0].value.local_addr "$TMP/open.json")
alarm addr2 listen "$addr"
check_eq "its address $addr as the pattern matches it" 1 "$(hits addr2)"
alarm lo listen '127.0.0.1'
check_eq "pattern 127.0.0.1 does not" 0 "$(hits lo)"
alarm other listen 5555
check_eq "pattern 5555 does not" 0 "$(hits other)"
alarm still process_gone 'httpd*'
check_eq "process_gone httpd*: httpd still runs, 0 hits" 0 "$(hits still)"
alarm cost listen - 0 200
echo "# one listen evaluation (two states of the connection feature read, diffed):" \
	"$(jq .us "$TMP/cost.json") us mean of 200"
alarm cost-p process_gone 'httpd*' 0 200
echo "# one process_gone evaluation: $(jq .us "$TMP/cost-p.json") us mean of 200"

# ---- the port closes: back to 0 -----------------------------------------------------
ncpid=$(pgrep -f '^nc -l -p 4444$' | head -1)
[ -n "$ncpid" ] && kill "$ncpid"
wait_for 10 eval '! listening 115C' ||
	not_ok "nc stopped listening"
crawl
alarm closed listen -
check_eq "the port closed: 0 hits" 0 "$(hits closed)"
check_eq "...no entries" "[]" "$(jq -c .entries "$TMP/closed.json")"
check_eq "...an empty summary" "" "$(jq -r .summary "$TMP/closed.json")"

# ---- a process gone, a config file and a package changed ------------------------------
hpid=$(pgrep -f '^httpd -p 8080' | head -1)
check "httpd runs (host pid $hpid)" test -n "$hpid"
kill -KILL "$hpid" 2>/dev/null
wait_for 10 eval "! listening 1F90 && ! kill -0 $hpid 2>/dev/null"
sed -i 's/^workers=2/workers=8/' "$TMP/root/etc/app.conf"
sed -i 's/^Version: 3.0.14-1/Version: 3.0.15-1/' "$TMP/root/var/lib/dpkg/status"
crawl
alarm gone process_gone 'httpd*'
check_eq "httpd killed: process_gone httpd* fires" 1 "$(hits gone)"
check "the summary says no process matches any more and names it" \
	jqe '.summary | test("^no process matching .httpd\\*. any more; gone: pid [0-9]+ httpd -p 8080")' \
	"$TMP/gone.json"
check "the entry is the removed process" \
	jqe '.entries[0] | .feature == "process" and .change == "removed" and (.key | test("httpd"))' \
	"$TMP/gone.json"
alarm sleeper process_gone 'sleep*'
check_eq "process_gone sleep*: sleep still runs, 0 hits" 0 "$(hits sleeper)"
alarm listen-after listen -
check_eq "a listener gone is no new listener" 0 "$(hits listen-after)"
alarm conf config '/etc/app.conf'
check_eq "app.conf edited: config fires" 1 "$(hits conf)"
check_eq "its summary names the file and the key" \
	"config file /etc/app.conf changed (workers: 2 -> 8)" "$(jq -r .summary "$TMP/conf.json")"
alarm conf-other config '/etc/nginx/*'
check_eq "config /etc/nginx/*: 0 hits" 0 "$(hits conf-other)"
alarm pkg package -
check_eq "openssl upgraded: package fires" 1 "$(hits pkg)"
check_eq "its summary names the versions" "package openssl 3.0.14-1 -> 3.0.15-1" \
	"$(jq -r .summary "$TMP/pkg.json")"
alarm pkg-other package 'tzdata'
check_eq "package tzdata: 0 hits" 0 "$(hits pkg-other)"
alarm then listen - "$OPEN_T"
check_eq "the state of the time nc listened still has it" 1 "$(hits then)"

# ---- bad definitions ------------------------------------------------------------------
"$TOOL" "$DB" $C lisen - "$BASE" >"$TMP/bad.json" 2>/dev/null
check_eq "an unknown rule: -EINVAL" -22 "$(jq .rc "$TMP/bad.json")"
check "...naming the rules" jqe '.err | test("not one of listen, package, config, process_gone")' \
	"$TMP/bad.json"
"$TOOL" "$DB" $C process_gone - "$BASE" >"$TMP/bad2.json" 2>/dev/null
check_eq "process_gone without a pattern: -EINVAL" -22 "$(jq .rc "$TMP/bad2.json")"

stop_unshare_container $C
