#!/bin/bash
# The store's disk filling and emptying under a running `vantage serve`
# (issue 17, faults): the store AND the spool of an HTTP sink whose far end
# is down live on a 48 MB tmpfs; a filler file takes every free byte, twice,
# and is removed again.  The daemon must not crash, must say so once per
# episode (log and /metrics), keep the frames it could not store in memory
# (bounded), store them when space returns, and leave a store that passes
# PRAGMA integrity_check.  docs/running.md "A full disk".
source "$(dirname "$0")/lib.sh"
VANTAGE=${VANTAGE_PLAIN:-$VANTAGE} # it measures the daemon's memory: the plain build (ASan's quarantine and shadow would count)

SMALL=$TMP/small
mkdir -p "$SMALL"
if ! mount -t tmpfs -o size=48m tmpfs "$SMALL" 2>/dev/null; then
	ok "# SKIP cannot mount a tmpfs here"
	exit 0
fi
on_exit "umount -l '$SMALL'"
DB=$SMALL/v.db
PORT=$(free_port)
DEAD=$(free_port) # nobody listens there: the HTTP sink spools everything
LOG=$TMP/serve.log
"$VANTAGE" serve --no-vms --no-containers --db "$DB" --listen "127.0.0.1:$PORT" \
	--metric-interval 1 --process-interval 1 --sink "http://127.0.0.1:$DEAD/frames" \
	--spool-dir "$SMALL/spool" --spool-max-bytes 8M --log-level info 2>"$LOG" &
PID=$!
on_exit "kill -9 $PID"

metric() { curl -s -m 3 "http://127.0.0.1:$PORT/metrics" | awk -v m="$1" '$1 == m { print $2; exit }'; }
spooled() { curl -s -m 3 "http://127.0.0.1:$PORT/metrics" |
	awk '/^vantage_sink_spool_frames_total\{/ && /event="spooled"/ { s += $2 } END { print s + 0 }'; }
health() { curl -s -m 3 "http://127.0.0.1:$PORT/api/v1/health"; }
stored() { metric vantage_frames_stored_total; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$PID/status"; }
ge() { [ "${1:-0}" != "" ] && awk -v a="${1:-0}" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

wait_for 15 bash -c "[ \"\$(curl -s -m 2 http://127.0.0.1:$PORT/metrics | awk '\$1==\"vantage_frames_stored_total\"{print \$2}')\" -ge 4 ] 2>/dev/null"
check "the daemon stores frames on the small disk ($(stored) stored)" ge "$(stored)" 4
wait_for 10 bash -c "[ \"\$(ls '$SMALL/spool' 2>/dev/null | wc -l)\" -ge 1 ]"
check "the dead sink's frames go to the spool on the same disk ($(spooled) spooled)" ge "$(spooled)" 1
check_eq "vantage_store_full is 0 while there is room" 0 "$(metric vantage_store_full)"
rss0=$(rss_kb)

# ---- fill, wait, empty: twice -----------------------------------------------------------
for round in 1 2; do
	errs0=$(metric vantage_store_write_errors_total)
	dd if=/dev/zero of="$SMALL/fill" bs=64k 2>/dev/null # until the disk is full
	avail=$(df --output=avail -k "$SMALL" | tail -1 | tr -d ' ')
	wait_for 15 bash -c "[ \"\$(curl -s -m 2 http://127.0.0.1:$PORT/metrics | awk '\$1==\"vantage_store_full\"{print \$2}')\" = 1 ]"
	check_eq "round $round: the filler took the disk (${avail} KiB left); vantage_store_full is 1" 1 "$(metric vantage_store_full)"
	t_full=$(date +%s)
	sleep 5 # the point: five more seconds of failed writes (metric and process every second)
	errs=$(metric vantage_store_write_errors_total)
	check "round $round: vantage_store_write_errors_total counts the failed writes ($errs0 -> $errs)" \
		ge "$errs" "$((${errs0:-0} + 3))"
	pend=$(metric vantage_pending_frames)
	check "round $round: the frames not stored wait in memory (vantage_pending_frames $pend)" ge "$pend" 3
	check "round $round: health says degraded, disk full" \
		bash -c "curl -s -m 3 http://127.0.0.1:$PORT/api/v1/health | jq -e '.status == \"degraded\" and (.daemon.last_error | test(\"disk full\"))' >/dev/null"
	check_eq "round $round: the full disk is logged once per episode" "$round" "$(grep -c 'disk full;' "$LOG")"
	nlost=$(grep -c 'a frame of .* is lost: No space left on device' "$LOG")
	check "round $round: the spool's lost frames are logged once per episode ($nlost lines)" test "$nlost" -le "$round"
	check "round $round: reads still work (vantage systems on the full disk)" \
		bash -c "[ \"\$('$VANTAGE' systems --json --db '$DB' | jq 'length >= 1')\" = true ]"
	check "round $round: the daemon is alive" kill -0 "$PID"
	rm -f "$SMALL/fill"
	stored0=$(stored)
	ok_again() { [ "$(metric vantage_store_full)" = 0 ] && [ "$(metric vantage_pending_frames)" = 0 ]; }
	wait_for 10 ok_again
	check "round $round: space back: writing resumes by itself within $(($(date +%s) - t_full - 5)) s, nothing pending" ok_again
	check "round $round: the pending frames were stored ($stored0 -> $(stored) stored)" ge "$(stored)" "$((stored0 + pend))"
	check_eq "round $round: 'writing again' is logged once per episode" "$round" "$(grep -c 'writing again; every pending' "$LOG")"
	check "round $round: health is ok again" bash -c "curl -s -m 3 http://127.0.0.1:$PORT/api/v1/health | jq -e '.status == \"ok\"' >/dev/null"
	sp0=$(spooled)
	wait_for 5 bash -c "[ \"\$(curl -s -m 2 http://127.0.0.1:$PORT/metrics | awk '/^vantage_sink_spool_frames_total\\{/ && /event=\"spooled\"/ { s += \$2 } END { print s + 0 }')\" -gt $sp0 ]"
	check "round $round: the spool takes frames again ($sp0 -> $(spooled))" ge "$(spooled)" "$((sp0 + 1))"
done
dropped=$(metric vantage_store_frames_dropped_total)
check_eq "no frame was dropped (the queue of 64 MB per lane was never full)" 0 "$dropped"
rss1=$(rss_kb)
check "memory stayed bounded through both episodes (RSS $rss0 -> $rss1 KiB)" test "$rss1" -lt $((rss0 + 20000))
check "the maintenance failure (if any) is logged at most once per episode" \
	test "$(grep -c 'maintenance failed' "$LOG")" -le 2
check "the daemon never crashed" kill -0 "$PID"

# ---- every frame crawled is in the store: the host's metric frames are a gapless series ----
kill -TERM "$PID"
wait "$PID"
check_eq "it stops cleanly (exit 0)" 0 $?
check_eq "PRAGMA integrity_check after two full disks" ok "$(sqlite3 "$DB" 'PRAGMA integrity_check')"
# metric frames every second: between the first and the last, no gap of > 3 s
gap=$(sqlite3 "$DB" "SELECT max(t - lag) FROM (SELECT t, lag(t) OVER (ORDER BY t) AS lag FROM frames
	WHERE fmask & (SELECT 1 << (id - 1) FROM features WHERE name = 'metric') > 0
	AND system = (SELECT id FROM systems WHERE kind = 'host'))")
check "the host's metric frames have no hole where the disk was full (largest gap ${gap} ms)" test "${gap:-99999}" -le 3000
grep -E 'error|warn' "$LOG" | sed 's/^/# /' | sort | uniq -c | sort -rn | head -12
