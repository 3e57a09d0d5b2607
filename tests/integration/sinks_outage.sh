#!/usr/bin/env bash
# Every sink's far end gone and back, the ones other suites do not cover
# (sinks_http.sh: the HTTP receiver down and answering 503, with its spool;
# sinks_graphite.sh: carbon restarted; kafka.sh: the brokers down 30 s):
#   - a file sink whose directory is removed, then made again: the daemon
#     says so once, writes to a new file at the path once it can, never a
#     torn line;
#   - a file sink on a full file system (a small tmpfs filled, then
#     emptied): refused and reported (once, or twice when a small frame
#     still fitted in the file's last page), no torn line, frames again after;
#   - the sFlow sink with no collector listening, then one started: no
#     error spam (UDP has nothing to spool), datagrams arrive once it is up;
#   - the daemon's PostgreSQL store stopped (immediate: a crash) and started
#     again: frames are kept in memory and stored once it is back, none
#     lost (a file sink alongside is the record of what was crawled), one
#     error line and one line when writing again; `vantage db check` of
#     the PostgreSQL store passes.
# Throughout, the daemon keeps crawling (its store grows during each outage).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"

nlines() { [ -s "$1" ] && wc -l <"$1" || echo 0; }
# parses FILE: every line of FILE is a JSON value (no torn line)
parses() { [ ! -s "$1" ] || jq -e . "$1" >/dev/null 2>&1; }
frames_in() { grep -c '"feature":"frame"' "$1" 2>/dev/null || echo 0; }
grows() { [ "$("$1")" -gt "$2" ]; }

# ---- the file sinks and the sFlow sink, one daemon --------------------------------------
D=$TMP/dir
M=$TMP/small
mkdir -p "$D" "$M"
mount -t tmpfs -o size=1m tmpfs "$M" || { not_ok "mount a 1 MiB tmpfs"; exit 1; }
on_exit "umount -l $M"
SFPORT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
DB=$TMP/s.db
"$VANTAGE" serve --db "$DB" --listen off --no-vms --no-containers --no-logs --metric-interval 1 \
	--sink "$D/out.jsonl" --sink "$M/out.jsonl" --sink "sflow://127.0.0.1:$SFPORT" \
	--log-level info 2>"$TMP/serve.log" &
SP=$!
on_exit "kill -9 $SP"
stored() { sqlite3 -readonly "$DB" "SELECT count(*) FROM frames" 2>/dev/null || echo 0; }
check "the daemon writes frames to the file sinks" wait_for 15 bash -c "[ \$(grep -c '\"feature\":\"frame\"' '$D/out.jsonl' 2>/dev/null) -ge 2 ]"

# the sFlow collector absent for these first seconds: nothing said
sleep 3 # (the sFlow sink sends to nobody meanwhile: the point)
check_eq "sFlow with no collector: nothing logged about it" 0 "$(grep -c sflow "$TMP/serve.log")"
cat >"$TMP/recv.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
with open(sys.argv[2], "a") as out:
    while True:
        out.write("%d\n" % len(s.recv(65535)))
        out.flush()
PY
python3 "$TMP/recv.py" "$SFPORT" "$TMP/sflow.got" &
on_exit "kill $!"
check "the collector started: datagrams arrive" wait_for 10 test -s "$TMP/sflow.got"

# ---- the directory removed, then made again ---------------------------------------------
before=$(stored)
rm -rf "$D"
sleep 3 # the outage
check "…the daemon went on storing while the directory was gone" grows stored "$before"
check_eq "the directory gone: the sink is reported failing once" 1 \
	"$(grep -c "sink $D/out.jsonl: No such file or directory" "$TMP/serve.log")"
mkdir -p "$D"
check "the directory made again: frames go to a new file there" \
	wait_for 10 bash -c "[ \$(grep -c '\"feature\":\"frame\"' '$D/out.jsonl' 2>/dev/null) -ge 2 ]"
check "…said once (a new file at that path)" \
	test "$(grep -c "sink $D/out.jsonl: the file was deleted or replaced" "$TMP/serve.log")" = 1
check "…and delivering again, once" test "$(grep -c "sink $D/out.jsonl: delivering again" "$TMP/serve.log")" = 1
check "the new file holds only whole JSON lines" parses "$D/out.jsonl"

# ---- the file system full, then emptied -----------------------------------------------------
before=$(stored)
# another writer filling it: what the sink frees (a frame cut off) is taken again
( while [ ! -e "$TMP/room" ]; do dd if=/dev/zero bs=4k 2>/dev/null >>"$M/filler"; sleep 0.1; done ) &
FILLER=$!
on_exit "kill $FILLER"
wait_for 5 bash -c "[ \$(df --output=avail '$M' | tail -1) -eq 0 ]"
full_at=$(nlines "$M/out.jsonl")
sleep 5 # the outage
check "…the daemon went on storing while the file system was full" grows stored "$before"
# (a small frame that still fits in the file's last page is written: a
# report per such flap, never one per frame)
nfull=$(grep -c "sink $M/out.jsonl: No space left on device" "$TMP/serve.log")
check "full: the sink is reported failing, not once per frame ($nfull times in 5 s)" \
	test "$nfull" -ge 1 -a "$nfull" -le 2
check "full: no torn line in the file" parses "$M/out.jsonl"
touch "$TMP/room"
wait $FILLER
rm -f "$M/filler"
check "room again: frames are written again" wait_for 10 bash -c "[ \$(wc -l <'$M/out.jsonl') -gt $full_at ]"
check "…delivering again, said as often as it failed" \
	test "$(grep -c "sink $M/out.jsonl: delivering again" "$TMP/serve.log")" = "$nfull"
sleep 1.5
check "…and the file holds only whole JSON lines" parses "$M/out.jsonl"
kill -TERM "$SP"
wait "$SP"
check_eq "the daemon stops cleanly" 0 $?
check_eq "sFlow: no send error logged" 0 "$(grep -c 'sflow.*sending a datagram' "$TMP/serve.log")"
grep ': \(error\|warning\):' "$TMP/serve.log" | sed 's/^/#   /'

# ---- the PostgreSQL store stopped and started again ----------------------------------------
if [ ! -x "$PGBIN/initdb" ]; then
	not_ok "PostgreSQL server binaries (apt install postgresql)"
	exit 1
fi
pg_init && pg_start && as_pg "$PGBIN/createdb" -h "$PG" -U vantage vantage ||
	{ not_ok "a PostgreSQL cluster for the store"; exit 1; }
U=$(pg_url outage)
"$VANTAGE" serve --db "$U" --listen off --no-vms --no-containers --no-logs --metric-interval 1 \
	--os-interval 2s --process-interval 2s --sink "$TMP/rec.jsonl" --log-level info 2>"$TMP/pg.log" &
SP=$!
on_exit "kill -9 $SP"
pgframes() { pg_sql "SELECT count(*) FROM outage.frames" 2>/dev/null || echo 0; }
pg_at_least() { [ "$(pgframes)" -ge "$1" ]; }
check "the daemon stores into PostgreSQL" wait_for 20 pg_at_least 3
check "PostgreSQL stopped (immediate: a crash)" pg_stop immediate
crawled=$(frames_in "$TMP/rec.jsonl")
sleep 5 # the outage
check "…the daemon went on crawling" test "$(frames_in "$TMP/rec.jsonl")" -gt "$((crawled + 2))"
check "PostgreSQL started again" pg_start
same() { [ "$(pgframes)" = "$(frames_in "$TMP/rec.jsonl")" ]; }
check "the frames of the outage are stored once it is back" wait_for 20 same
kill -TERM "$SP"
wait "$SP"
check_eq "the daemon stops cleanly" 0 $?
check_eq "every frame crawled is in the PostgreSQL store, none lost" "$(frames_in "$TMP/rec.jsonl")" "$(pgframes)"
check_eq "none twice" 0 "$(pg_sql "SELECT count(*) FROM (SELECT system, t, feats FROM outage.frames GROUP BY 1, 2, 3 HAVING count(*) > 1) d")"
check_eq "the outage logged once as an error" 1 "$(grep -c ': error:' "$TMP/pg.log")"
check_eq "…and once when writing again" 1 "$(grep -c 'writing again' "$TMP/pg.log")"
check_eq "no frame refused" 0 "$(grep -c 'refused' "$TMP/pg.log")"
grep ': \(error\|warning\):' "$TMP/pg.log" | cut -c1-200 | sed 's/^/#   /'
"$VANTAGE" db check --db "$U" >"$TMP/pgcheck" 2>&1
check_eq "vantage db check of the PostgreSQL store: exit 0" 0 $?
sed 's/^/#   /' "$TMP/pgcheck"
