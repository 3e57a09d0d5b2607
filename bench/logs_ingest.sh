#!/usr/bin/env bash
# bench/logs_ingest.sh - the log collector of `vantage serve` against the
# targets of issue 16:
#   ingest  lines/s from files into SQLite: N lines (about 100 bytes, a
#           syslog-like text with a level word) in 4 files present at start;
#           timed from the daemon's start to the last line stored (max(id)
#           of log_lines), target >= 100k lines/s
#   idle    200 idle tailed files: CPU of the collector's thread
#           ("vt-logtail", /proc/PID/task/TID/stat utime+stime) over 60 s,
#           in % of one core, target < 0.1 %
# The daemon runs with --no-containers --no-vms and long crawl intervals,
# its globs pointing at the bench's files only.  N=... (default 1000000),
# IDLE_S=... (default 60).  The machine is shared: figures vary.
set -eu
cd "$(dirname "$0")/.."
N=${N:-1000000}
IDLE_S=${IDLE_S:-60}
V=$PWD/build/vantage
[ -x "$V" ] || { echo "run 'make' first" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "sqlite3 is needed" >&2; exit 1; }
W=$(mktemp -d /tmp/vantage-bench-logs.XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
serve() { # glob
	"$V" serve --db "$W/v.db" --listen off --no-containers --no-vms --log-glob "$1" \
		--metric-interval 1h --process-interval off --connection-interval off \
		--os-interval off --module-interval off --interface-interval off \
		--package-interval off --config-interval off 2>"$W/serve.log" &
	PID=$!
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }
maxid() { sqlite3 -readonly "$W/v.db" "SELECT coalesce(max(id), 0) FROM log_lines" 2>/dev/null || echo 0; }

# ---- ingest ---------------------------------------------------------------------------
mkdir -p "$W/in"
per=$((N / 4))
for f in 1 2 3 4; do
	awk -v n="$per" -v f="$f" 'BEGIN { for (i = 1; i <= n; i++)
		printf "Dec  6 10:00:%02d web%d app[%d]: INFO request %d served in %d ms from 10.0.%d.%d\n",
		       i % 60, f, 1000 + f, i, i % 997, i % 256, (i * 7) % 256 }' >"$W/in/app$f.log"
done
total=$((per * 4))
bytes=$(cat "$W"/in/*.log | wc -c)
t0=$(date +%s.%N)
serve "$W/in/*.log"
while [ "$(maxid)" -lt "$total" ]; do
	sleep 0.05
	kill -0 "$PID" 2>/dev/null || { cat "$W/serve.log"; exit 1; }
done
t1=$(date +%s.%N)
stop
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
rate=$(awk -v n="$total" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
printf 'ingest: %d lines (%d MB) from 4 files into SQLite in %.2f s (daemon start included)\n' \
	"$total" $((bytes / 1000000)) "$secs"
printf '  %9d lines/s   ratio to the 100k target: %sx\n' "$rate" "$(ratio "$rate" 100000)"

# ---- idle ------------------------------------------------------------------------------
rm -f "$W"/v.db*
mkdir -p "$W/idle"
for i in $(seq 200); do echo "first line of file $i" >"$W/idle/f$i.log"; done
serve "$W/idle/*.log"
while [ "$(maxid)" -lt 200 ]; do sleep 0.1; done
tid=
for t in /proc/"$PID"/task/*; do
	[ "$(cat "$t/comm")" = vt-logtail ] && tid=${t##*/}
done
[ -n "$tid" ] || { echo "the collector's thread was not found" >&2; exit 1; }
ticks() { awk '{ print $14 + $15 }' "/proc/$PID/task/$tid/stat"; }
hz=$(getconf CLK_TCK)
c0=$(ticks)
sleep "$IDLE_S" # the point: the CPU spent while nothing is written
c1=$(ticks)
stop
pct=$(awk -v d=$((c1 - c0)) -v hz="$hz" -v s="$IDLE_S" 'BEGIN { printf "%.4f", 100 * d / hz / s }')
printf 'idle: 200 tailed files, %d s: the collector used %d ticks (1/%d s) = %s %% of a core\n' \
	"$IDLE_S" $((c1 - c0)) "$hz" "$pct"
printf '  target < 0.1 %%: ratio %sx of the budget used\n' "$(ratio "$pct" 0.1)"
