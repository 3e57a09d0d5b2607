# Hostile configuration input (issue 10, probe D6, D7, D11, D13b/c/g): a
# config that is no regular file (/dev/zero, a directory, a FIFO) or is over
# 1 MiB is refused at start (exit 2, at once, naming it) and at SIGHUP (the
# current configuration kept, the daemon crawling on and stopping on
# SIGTERM); a line over 16 KiB or with a NUL byte is named; time limits are
# from 1s to 1d and no duration takes a hex float; `crawl -f all,all` and
# `crawl -t 1e308`.
source "$(dirname "$0")/lib.sh"

# serve_refused DESC WANT CONFIG [FLAGS...]: serve exits 2 within 10 s, its
# message holds WANT (a grep -F string), and no store was made
serve_refused() {
	local desc=$1 want=$2 cfg=$3 rc
	shift 3
	timeout -k 2 10 "$VANTAGE" serve --config "$cfg" --db "$TMP/never.db" --no-vms \
		--no-containers --listen off "$@" 2>"$TMP/err" </dev/null
	rc=$?
	check_eq "$desc: exit 2 (not hanging)" 2 "$rc"
	check "…saying '$want' ($(head -c 300 "$TMP/err"))" grep -qF -- "$want" "$TMP/err"
}

# ---- at start: not a regular file -------------------------------------------------
serve_refused "--config /dev/zero" "config file /dev/zero is a character device, not a regular file" /dev/zero
serve_refused "--config /etc (a directory)" "config file /etc is a directory, not a regular file" /etc
mkfifo "$TMP/fifo.ini"
serve_refused "--config on a FIFO nobody writes to" "is a FIFO, not a regular file" "$TMP/fifo.ini"
ln -s /dev/zero "$TMP/zero.ini"
serve_refused "--config on a symlink to /dev/zero" "is a character device" "$TMP/zero.ini"
check "no store was created by the refused starts" test ! -e "$TMP/never.db"

# ---- at start: size, long lines, NUL bytes ----------------------------------------
{ printf '[log]\nlevel = info\n'; head -c 2097152 /dev/zero | tr '\0' '\n'; } >"$TMP/big.ini"
serve_refused "a config of 2 MiB" "is larger than 1 MiB" "$TMP/big.ini"
{ printf '[log]\nlevel = info\n;'; head -c 20000 /dev/zero | tr '\0' x; printf '\n'; } >"$TMP/long.ini"
serve_refused "a 3-line config whose line 3 is 20 000 bytes" "long.ini, line 3: longer than 16384 bytes" "$TMP/long.ini"
printf '[crawl]\nworkers = 2\0junk\n' >"$TMP/nul.ini"
serve_refused "'workers = 2<NUL>junk'" "nul.ini, line 2: holds a NUL byte" "$TMP/nul.ini"

# ---- time limits from 1s to 1d; no hex floats ---------------------------------------
for v in 0.001 1e-300 0x1p-20 25h; do
	printf '[crawl]\ntimeout = %s\n' "$v" >"$TMP/t.ini"
	serve_refused "[crawl] timeout = $v" \
		"t.ini, line 2: [crawl] timeout: not a duration from 1s to 1d: '$v' (use e.g. 30s)" "$TMP/t.ini"
done
printf '[log]\nlevel = info\n' >"$TMP/ok.ini"
serve_refused "--timeout 0.001" "--timeout: not a duration from 1s to 1d: '0.001'" "$TMP/ok.ini" --timeout 0.001
printf '[intervals]\nmetric = 0x10\n' >"$TMP/hex.ini"
serve_refused "metric = 0x10" "line 2: [intervals] metric: not a duration: '0x10'" "$TMP/hex.ini"

timeout -k 2 10 "$VANTAGE" crawl -f metric -i 0x10 >/dev/null 2>"$TMP/err"
check_eq "crawl -i 0x10: exit 2 at once (not a 16 s interval)" 2 $?
timeout -k 2 10 "$VANTAGE" crawl -f os -t 1e308 >/dev/null 2>"$TMP/err"
check_eq "crawl -t 1e308: exit 2" 2 $?
check "…saying the range ($(cat "$TMP/err"))" grep -qF "not a duration from 1s to 1d" "$TMP/err"
timeout -k 2 10 "$VANTAGE" crawl -f os -t 0.001 >/dev/null 2>"$TMP/err"
check_eq "crawl -t 0.001: exit 2 (time limits start at 1s)" 2 $?

# ---- crawl -f all,all / os,all -----------------------------------------------------------
# (the file feature walks an empty directory, not /)
mkdir "$TMP/froot"
first_frame() { timeout 120 "$VANTAGE" crawl -f "$1" --file-root "$TMP/froot" --no-progress 2>"$TMP/err" | head -1; }
all=$(first_frame all | jq -c .value.features)
for f in all,all os,all; do
	got=$(first_frame "$f" | jq -c .value.features)
	check_eq "crawl -f $f: every feature, as -f all" "$all" "$got"
done
check "…('all' lists more than one feature: $all)" bash -c "[ \"\$(jq length <<<'$all')\" -gt 1 ]"

# ---- SIGHUP: the config replaced by a symlink to /dev/zero, then a directory -------
DB=$TMP/v.db
printf '[intervals]\nmetric = 1s\n[log]\nlevel = info\n' >"$TMP/real.ini"
ln -s "$TMP/real.ini" "$TMP/live.ini"
"$VANTAGE" serve --config "$TMP/live.ini" --db "$DB" --no-vms --no-containers --listen off \
	2>"$TMP/serve.log" &
PID=$!
on_exit "kill -9 $PID"
wait_for 15 bash -c "[ \"\$('$VANTAGE' systems --json --db '$DB' --kind host 2>/dev/null | jq length)\" = 1 ]"
HOST_ID=$("$VANTAGE" systems --json --db "$DB" --kind host | jq -r '.[0].id')
check "the daemon stores the host ($HOST_ID)" test -n "$HOST_ID" -a "$HOST_ID" != null
# host_points SINCE: raw points of the host's memory.used_pct since epoch second SINCE
host_points() {
	"$VANTAGE" metrics "$HOST_ID" memory.used_pct --db "$DB" --since "$1" --step 1s --stat count --json 2>/dev/null |
		jq '[.points[][1] // 0] | add // 0'
}
points_reach() { [ "$(host_points "$2")" -ge "$1" ] 2>/dev/null; }
# cpu_ticks: user+system clock ticks the daemon has used
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }

# hup_refused DESC WANT: SIGHUP is refused with WANT logged, the daemon
# does not spin, keeps its 1 s metric interval, and is still running
hup_refused() {
	local desc=$1 want=$2 s t0 t1
	kill -HUP "$PID"
	wait_for 5 grep -qF "$want" "$TMP/serve.log"
	check "SIGHUP with $desc: refused, logged ($(grep -F "$want" "$TMP/serve.log" | tail -1))" \
		grep -qF "$want" "$TMP/serve.log"
	t0=$(cpu_ticks)
	sleep 2 # the point: the CPU time the daemon uses over 2 s
	t1=$(cpu_ticks)
	check "…no spinning: $((t1 - t0)) ticks of CPU in 2 s (under 100)" test $((t1 - t0)) -lt 100
	s=$(date +%s)
	wait_for 8 points_reach 4 "$s"
	check "…still crawling at 1 s: 4 host points within 8 s ($(host_points "$s"))" points_reach 4 "$s"
	check "…the daemon is running" kill -0 "$PID"
}
ln -sfn /dev/zero "$TMP/live.ini"
hup_refused "the config a symlink to /dev/zero" \
	"reload: config file $TMP/live.ini is a character device, not a regular file; keeping the current configuration"
rm "$TMP/live.ini"
mkdir "$TMP/live.ini"
hup_refused "the config a directory" \
	"reload: config file $TMP/live.ini is a directory, not a regular file; keeping the current configuration"
check "…no option went back to its default (no 'interval of metric: 1s -> 10s')" \
	bash -c "! grep -q 'interval of metric: 1s -> ' '$TMP/serve.log'"
rmdir "$TMP/live.ini"
{ printf '[intervals]\nmetric = 1s\n'; head -c 2097152 /dev/zero | tr '\0' '\n'; } >"$TMP/live.ini"
hup_refused "a config of 2 MiB" "reload: config file $TMP/live.ini is larger than 1 MiB"
printf '[intervals]\nmetric = 1s\n[crawl]\nworkers = 2\0junk\n' >"$TMP/live.ini"
hup_refused "a NUL byte in a value" "reload: $TMP/live.ini, line 4: holds a NUL byte; keeping"

# a good file is read again after all that
printf '[intervals]\nmetric = 2s\n' >"$TMP/live.ini"
kill -HUP "$PID"
wait_for 5 grep -q "interval of metric: 1s -> 2s" "$TMP/serve.log"
check "a good file on the next SIGHUP is applied (metric 1s -> 2s)" \
	grep -q "interval of metric: 1s -> 2s" "$TMP/serve.log"

t_term=$(date +%s%N)
kill -TERM "$PID"
wait_for 5 bash -c "! kill -0 $PID 2>/dev/null"
wait "$PID"
rc=$?
ms=$((($(date +%s%N) - t_term) / 1000000))
check_eq "SIGTERM: exit 0" 0 "$rc"
check "…within 5 s (${ms} ms)" test "$ms" -le 5000
check_eq "PRAGMA integrity_check" ok "$(sqlite3 "$DB" 'PRAGMA integrity_check')"
