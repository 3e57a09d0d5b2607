#!/bin/bash
# The wall clock jumping back and forth by an hour under a running `vantage
# serve` (issue 17, faults).  The daemon runs under libfaketime (Debian's
# faketime) with its offset read from a file at every call
# (FAKETIME_TIMESTAMP_FILE, FAKETIME_NO_CACHE=1); CLOCK_MONOTONIC is left
# real (DONT_FAKE_MONOTONIC=1), as the kernel leaves it when the wall clock
# is set.  The offset goes 0 -> -1 h -> +1 h -> 0.  Required: ticks go on at
# the metric interval (the schedule is on CLOCK_MONOTONIC), every frame is
# stored with the wall time it was taken at, the latest state and /metrics
# follow the clock back (no frame "from the future" hides newer ones), the
# alarm keeps its state, roll-ups and retention run on the mixed timeline
# without deleting what is younger than retention, and the store passes
# its integrity check.  docs/running.md "The clock".
source "$(dirname "$0")/lib.sh"
VANTAGE=${VANTAGE_PLAIN:-$VANTAGE} # libfaketime is preloaded: ASan must come first, so the plain build
need_testbin store_tool

FT=""
for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 \
	/usr/lib/*/faketime/libfaketimeMT.so.1 /usr/lib/faketime/libfaketimeMT.so.1; do
	[ -e "$f" ] && FT=$f && break
done
if [ -z "$FT" ]; then
	not_ok "libfaketime is installed (Debian package faketime; scripts/setup.sh --tests)"
	exit 1
fi
OFF=$TMP/offset
echo "+0" >"$OFF"
DB=$TMP/v.db
PORT=$(free_port)
LOG=$TMP/serve.log
cat >"$TMP/v.ini" <<EOF
[alarm host-mem]
metric = memory.used_pct
selector = kind=host
stat = max
period = 2s
evaluation_periods = 1
comparison = >
threshold = 0
EOF
LD_PRELOAD=$FT FAKETIME_TIMESTAMP_FILE=$OFF FAKETIME_NO_CACHE=1 DONT_FAKE_MONOTONIC=1 \
	"$VANTAGE" serve --no-vms --no-containers --config "$TMP/v.ini" --db "$DB" \
	--listen "127.0.0.1:$PORT" --metric-interval 1 --process-interval 2 2>"$LOG" &
PID=$!
on_exit "kill -9 $PID"

metric() { curl -s -m 3 "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2; exit }'; }
stored() { metric vantage_frames_stored_total; }
host_id() { "$VANTAGE" systems --json --db "$DB" 2>/dev/null | jq -r '.[] | select(.kind == "host") | .id' | sed 's/:/%3A/g'; }
iso() { date -u -d "@$(($1 / 1000))" +%Y-%m-%dT%H:%M:%SZ; } # ms -> ISO time
# ms since the epoch of the host's latest frame, as the API shows it
latest_ms() { curl -s -m 3 "http://127.0.0.1:$PORT/api/v1/systems/$HID/frame" | jq -r '.frame.time' |
	python3 -c 'import sys, datetime; s = sys.stdin.read().strip(); print(int(datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000))' 2>/dev/null; }
alarm_state() { curl -s -m 3 "http://127.0.0.1:$PORT/api/v1/alarms/host-mem" | jq -r '[.states[]?.state] | first // .state // empty'; }
# metric frames of the host stored with a time in [$1, $2) ms
frames_between() {
	sqlite3 "$DB" "SELECT count(*) FROM frames WHERE system = (SELECT id FROM systems WHERE kind = 'host')
		AND fmask & (SELECT 1 << (id - 1) FROM features WHERE name = 'metric') > 0 AND t >= $1 AND t < $2"
}
real_ms() { echo $(($(date +%s%N) / 1000000)); }
H=3600000

wait_for 10 bash -c "[ \"\$(curl -s -m 2 http://127.0.0.1:$PORT/metrics | awk '\$1==\"vantage_frames_stored_total\"{print \$2}')\" -ge 3 ] 2>/dev/null"
HID=$(host_id)
check "the daemon runs under libfaketime, storing ($(stored) frames, host $HID)" test -n "$HID"
wait_for 8 bash -c "curl -s -m 2 http://127.0.0.1:$PORT/api/v1/alarms/host-mem | grep -q '\"ALARM\"'"
check_eq "the alarm (memory.used_pct > 0, 2 s periods) is in ALARM" ALARM "$(alarm_state)"

# ---- back by an hour ----------------------------------------------------------------
t0=$(real_ms)
s0=$(stored)
echo "-1h" >"$OFF"
sleep 5 # the point: five seconds of ticks after the jump
s1=$(stored)
check "after the jump back, ticks go on at the interval ($s0 -> $s1 frames in 5 s)" test "$((s1 - s0))" -ge 4
nback=$(frames_between $((t0 - H - 60000)) $((t0 - H + 60000)))
check "…frames are stored with the wall clock's time, an hour back ($nback metric frames near t-1h)" test "$nback" -ge 3
lt=$(latest_ms)
check "…the host's latest frame is the newest taken, not the one 'from the future' ($lt ~ $((t0 - H)))" \
	test "${lt:-0}" -ge $((t0 - H)) -a "${lt:-0}" -lt $((t0 - H + 30000))
lm=$(sqlite3 "$DB" "SELECT last_metric FROM systems WHERE kind = 'host'")
check "…/metrics follows: the host's latest metric points are the new ones (last_metric $lm)" \
	test "${lm:-0}" -ge $((t0 - H)) -a "${lm:-0}" -lt $((t0 - H + 30000))
check "…and /metrics serves them" bash -c "curl -s -m 3 http://127.0.0.1:$PORT/metrics | grep -q '^vantage_memory_used_pct{system=\"${HID//%3A/:}\"'"
# points on each side of the jump: those taken before it (near t0), those
# taken after (near t0 - 1 h), in time order
curl -s -m 3 "http://127.0.0.1:$PORT/api/v1/systems/$HID/metrics/memory.used_pct?since=$(iso $((t0 - H - 60000)))&until=$(iso $((t0 + 60000)))&step=1s" >"$TMP/series.json"
read -r npts nearly nlate sorted < <(jq -r --arg mid "$(iso $((t0 - H / 2)))" \
	'.points as $p | [($p | length), ([$p[] | select(.[0] < $mid)] | length), ([$p[] | select(.[0] >= $mid)] | length), ($p == ($p | sort_by(.[0])))] | @tsv' "$TMP/series.json")
echo "# metric frames of the host stored before the jump (t0 - 60 s .. t0): $(frames_between $((t0 - 60000)) $t0), after it (near t0 - 1 h): $nback"
check "…the series answer holds both sides of the jump ($npts points: $nlate before it, $nearly after it, in time order: $sorted)" \
	test "${nlate:-0}" -ge 2 -a "${nearly:-0}" -ge 3 -a "${sorted:-}" = true
wait_for 6 bash -c "curl -s -m 2 http://127.0.0.1:$PORT/api/v1/alarms/host-mem | grep -q '\"ALARM\"'"
check_eq "…the alarm is still in ALARM" ALARM "$(alarm_state)"

# ---- forward by two hours (an hour ahead of the real time) -----------------------------
t1=$(real_ms)
s0=$(stored)
echo "+1h" >"$OFF"
sleep 5 # the point: five seconds of ticks after the jump
s1=$(stored)
check "after the jump forward, ticks go on at the interval ($s0 -> $s1 frames in 5 s)" test "$((s1 - s0))" -ge 4
nfwd=$(frames_between $((t1 + H - 60000)) $((t1 + H + 60000)))
check "…frames are stored an hour ahead ($nfwd metric frames near t+1h)" test "$nfwd" -ge 3
wait_for 6 bash -c "curl -s -m 2 http://127.0.0.1:$PORT/api/v1/alarms/host-mem | grep -q '\"ALARM\"'"
check_eq "…the alarm is still in ALARM" ALARM "$(alarm_state)"

# ---- back to the real time: frames from the future stay, the newest taken wins ----------
t2=$(real_ms)
echo "+0" >"$OFF"
sleep 4 # the point: ticks after the jump back
lt=$(latest_ms)
check "back at the real time: the latest frame is the one just taken ($lt ~ $t2), not the one an hour ahead" \
	test "${lt:-0}" -ge "$t2" -a "${lt:-0}" -lt $((t2 + 30000))
wait_for 6 bash -c "curl -s -m 2 http://127.0.0.1:$PORT/api/v1/alarms/host-mem | grep -q '\"ALARM\"'"
check_eq "…the alarm is still in ALARM" ALARM "$(alarm_state)"
nchg=$(curl -s -m 3 "http://127.0.0.1:$PORT/api/v1/alarms/history?alarm=host-mem&type=state&since=$(iso $((t0 - 2 * H)))&until=$(iso $((t2 + 2 * H)))" | jq 'length')
check "…and changed state at most twice per jump ($nchg state changes in all)" test "${nchg:-99}" -le 7
curl -s -m 3 "http://127.0.0.1:$PORT/api/v1/alarms/history?alarm=host-mem&type=state&since=$(iso $((t0 - 2 * H)))&until=$(iso $((t2 + 2 * H)))" |
	jq -r '.[] | "# alarm history: \(.time) \(.data.from) -> \(.data.to)"' | tac
check "the daemon never crashed" kill -0 "$PID"
kill -TERM "$PID"
wait "$PID"
check_eq "it stops cleanly (exit 0)" 0 $?
check_eq "PRAGMA integrity_check" ok "$(sqlite3 "$DB" 'PRAGMA integrity_check')"

# ---- roll-ups and retention over the mixed timeline, at the times the daemon would use ----
total() { sqlite3 "$DB" "SELECT (SELECT count(*) FROM frames) || ' ' || (SELECT n FROM counts WHERE name = 'points_raw')"; }
before=$(total)
"$TESTBIN/store_tool" maintain "$DB" $((t2 + H + 120000)) # an hour ahead, as during the forward jump
after=$(total)
check_eq "maintenance an hour ahead deletes nothing (frames, raw points)" "$before" "$after"
m1=$(sqlite3 "$DB" "SELECT count(*) FROM points_1m")
check "…and rolls the minutes up, both sides of the jumps ($m1 one-minute rows)" test "$m1" -ge 1
"$TESTBIN/store_tool" maintain "$DB" $((t2 + 2 * H))
check_eq "…again an hour later: still nothing deleted" "$before" "$(total)"
check_eq "PRAGMA integrity_check after maintenance" ok "$(sqlite3 "$DB" 'PRAGMA integrity_check')"
grep -E 'error|warn' "$LOG" | grep -v dashboard | sed 's/^/# /' | head
