#!/usr/bin/env bash
# The systemd journal as a log source (issue 16, docs/logs.md), without
# journald: Debian's systemd-journal-remote writes a real .journal file from
# export-format entries into a directory that `vantage serve` reads
# ([logs] journal_dir, --log-journal-dir).
#   - an entry written before serve's first start is not read (it starts at
#     the journal's end);
#   - entries appended while it runs are stored once each as "journal" lines
#     of the host, with their level (PRIORITY) and time (__REALTIME_TIMESTAMP);
#     an entry without PRIORITY has level -1 (none); a second append comes in once;
#   - a restart of serve duplicates nothing (the journal's cursor is in the
#     store) and an entry appended while it was down comes in after.
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.."
JR=/lib/systemd/systemd-journal-remote
[ -x "$JR" ] || JR=/usr/lib/systemd/systemd-journal-remote
if [ ! -x "$JR" ]; then
	not_ok "systemd-journal-remote is installed (scripts/setup.sh --tests)"
	exit 1
fi
JDIR=$TMP/journal
mkdir -p "$JDIR"
DB=$TMP/serve.db
PORT=$(free_port)
MARK=vt-journal-$RANDOM$RANDOM
BOOT=0123456789abcdef0123456789abcdef
# a fixed time for each entry (µs): 2026-01-02 03:04:05 UTC plus N seconds
T0=1767323045000000

# put NAME PRIORITY SECONDS: append one entry (PRIORITY "-": none) to the journal
put() {
	{
		printf '__REALTIME_TIMESTAMP=%s\n__MONOTONIC_TIMESTAMP=%s\n_BOOT_ID=%s\n' \
			$((T0 + $3 * 1000000)) $(($3 * 1000000 + 1)) "$BOOT"
		printf 'MESSAGE=%s\n_SYSTEMD_UNIT=vt-test.service\n' "$MARK-$1"
		[ "$2" != - ] && printf 'PRIORITY=%s\n' "$2"
		printf '\n'
	} | "$JR" --output="$JDIR/remote.journal" - 2>>"$TMP/jr.log"
}

SPID=
start_serve() {
	"$VANTAGE" serve --no-vms --no-containers --db "$DB" --listen "127.0.0.1:$PORT" \
		--metric-interval 1 --log-glob '/nonexistent-vt/*.log' --log-journal-dir "$JDIR" \
		2>>"$TMP/serve.log" &
	SPID=$!
	on_exit "kill -9 $SPID 2>/dev/null"
	wait_for 10 grep -q "API on" "$TMP/serve.log"
}
stop_serve() { kill -TERM "$SPID" 2>/dev/null && wait "$SPID"; }
q() { sqlite3 -batch "$DB" "PRAGMA busy_timeout = 5000; $1" 2>/dev/null | tail -n +2; }
# where SQL: the count of stored journal lines of this test matching SQL
where() {
	q "SELECT count(*) FROM log_lines l JOIN log_sources s ON s.id = l.src
	   WHERE s.source = 'journal' AND l.line LIKE '$MARK-%' AND ($1)"
}
stored() { [ "$(where "l.line = '$MARK-$1'")" = 1 ]; }

put old 4 0 || { not_ok "systemd-journal-remote writes a journal"; cat "$TMP/jr.log"; exit 1; }
ok "systemd-journal-remote wrote $(ls "$JDIR")"
start_serve || { not_ok "serve starts"; cat "$TMP/serve.log"; exit 1; }
sleep 1.5 # the collector opens the journal at its end
put a 3 10 && put b - 11 && put c 7 12
if wait_for 15 stored c; then
	ok "serve: entries appended to the journal are stored"
else
	not_ok "serve: entries appended to the journal are stored"
	tail -n 20 "$TMP/serve.log" | sed 's/^/#   /'
fi
check_eq "the entry before the first start is not read" 0 "$(where "l.line = '$MARK-old'")"
check_eq "each entry once" 3 "$(where 1)"
check_eq "levels from PRIORITY (3, none: -1, 7)" "3|-1|7" \
	"$(q "SELECT group_concat(l.level, '|') FROM (SELECT l.level FROM log_lines l
	      JOIN log_sources s ON s.id = l.src WHERE s.source = 'journal'
	      AND l.line LIKE '$MARK-%' ORDER BY l.line) l")"
check_eq "times from __REALTIME_TIMESTAMP (ms)" 3 \
	"$(where "l.t = $T0 / 1000 + 1000 * (10 + instr('abc', substr(l.line, -1)) - 1)")"
sys=$(q "SELECT DISTINCT s.system FROM log_sources s WHERE s.source = 'journal'")
check "the journal belongs to the host ($sys)" test "${sys%%:*}" = host

put d 5 20
wait_for 15 stored d
check "an entry appended later (a second writer run) is stored" stored d
sleep 1.5
check_eq "nothing stored twice" 4 "$(where 1)"

stop_serve
check_eq "serve exits 0 on SIGTERM" 0 $?
check "the journal's cursor is in the store" \
	test -n "$(q "SELECT pos FROM log_sources WHERE source = 'journal'")"
put down 2 30
start_serve || { not_ok "serve starts again"; exit 1; }
wait_for 15 stored down
check "serve restarted: the entry written while it was down is stored" stored down
sleep 1.5
check_eq "serve restarted: nothing stored twice" 5 "$(where 1)"
check_eq "serve restarted: its level" 1 "$(where "l.line = '$MARK-down' AND l.level = 2")"
stop_serve
