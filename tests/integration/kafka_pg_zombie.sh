#!/bin/bash
# Two `vantage ingest` processes of one group think they own a partition,
# and the store keeps each frame once (the fence of store_put_frames_at):
# ingest A reads frames and, storing them, is held up by a lock taken on
# the store's offsets table (psql) longer than max.poll.interval.ms
# (20 s): the group gives the partition to ingest B, which reads the same
# frames from the positions A has not committed yet.  The lock is let go:
# A commits; B's batch (the same frames) is refused (-ESTALE) and B reads
# again from the store's positions.  Frames produced = frames in the
# store, none twice.  librdkafka's mock cluster, a PostgreSQL cluster of
# the test (pg_lib.sh), frames produced with kcat as in kafka_pg.sh.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"
need_testbin kafka_mock
command -v kcat >/dev/null || { not_ok "kcat is not installed"; exit 1; }
[ -x "$PGBIN/initdb" ] || { not_ok "PostgreSQL server binaries (apt install postgresql)"; exit 1; }

"$TESTBIN/kafka_mock" -n 1 -p 1 -t z >"$TMP/mock.out" 2>"$TMP/mock.err" &
on_exit "kill $!"
pg_init && pg_start && as_pg "$PGBIN/createdb" -h "$PG" -U vantage vantage
check "a PostgreSQL cluster of the test" test $? -eq 0
wait_for 10 grep -q : "$TMP/mock.out" || { not_ok "kafka_mock up"; exit 1; }
B=$(head -1 "$TMP/mock.out")

"$VANTAGE" crawl -f os,package 2>/dev/null | head -101 >"$TMP/host.jsonl"
PRODUCED=0
produce() { # WAVE: a frame of each of 2 systems
	python3 - "$TMP/host.jsonl" "$TMP/m$1" "$1" <<'PY'
import json, os, sys
src, out, wave = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = open(src, encoding="utf-8").read().splitlines()
os.makedirs(out)
for s in range(2):
    sysid, t = "host:zom%d" % s, "2026-12-06T08:%02d:00.000Z" % wave
    recs = []
    for i, l in enumerate(lines):
        r = json.loads(l)
        r["system"], r["time"] = sysid, t
        if i == 0:
            r["key"] = sysid
            r["value"]["id"], r["value"]["time"] = sysid, t
        recs.append(json.dumps(r, separators=(",", ":")))
    body = ("\n".join(recs) + "\n").encode()
    env = {"vantage": 1, "type": "full", "fmt": "jsonl", "system": sysid, "chain": "os",
           "seq": wave, "part": 1, "parts": 1, "len": len(body), "hash": ""}
    with open(os.path.join(out, str(s)), "wb") as f:
        f.write(json.dumps(env, separators=(",", ":")).encode() + b"\n" + body)
PY
	kcat -b "$B" -P -t z -p 0 "$TMP/m$1"/* 2>/dev/null && PRODUCED=$((PRODUCED + 2))
}
S=z
nframes() { pg_sql "SELECT count(*) FROM $S.frames" 2>/dev/null || echo -1; }
stored() { [ "$(nframes)" -ge "$1" ]; }
waiting() { [ "$(pg_sql "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")" -ge "$1" ]; }

produce 1
"$VANTAGE" ingest --from "kafka://$B/z" --store "$(pg_url $S)" --group zg --log-level info \
	>"$TMP/a.json" 2>"$TMP/a.err" &
A=$!
on_exit "kill -9 $A"
check "ingest A stores the first frames" wait_for 30 stored 2
# the store's offsets locked against writes: A's next batch waits
PGAPPNAME=locker "$PGBIN/psql" -h "$PG" -U vantage -d vantage -Xq \
	-c "BEGIN" -c "LOCK TABLE $S.offsets IN EXCLUSIVE MODE" -c "SELECT pg_sleep(120)" >/dev/null 2>&1 &
LOCKER=$!
on_exit "kill $LOCKER"
locker_active() { test "$(pg_sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'locker' AND state = 'active'")" = 1; }
wait_for 10 locker_active
produce 2
check "A's batch (frames of wave 2) waits for the lock" wait_for 20 waiting 1
"$VANTAGE" ingest --from "kafka://$B/z" --store "$(pg_url $S)" --group zg --log-level info \
	>"$TMP/b.json" 2>"$TMP/b.err" &
BP=$!
on_exit "kill -9 $BP"
# A does not poll while it waits: after max.poll.interval.ms the group
# gives the partition to B, which reads from the positions stored (wave 2
# again: A has not committed it)
check "the group gives the partition to B" wait_for 45 grep -q "partition 0 from offset" "$TMP/b.err"
check "B's batch waits too (the same frames, A's uncommitted records)" wait_for 15 waiting 2
pg_sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'locker'" >/dev/null
check "the lock let go: B's batch is refused, B reads again from the store's positions" \
	wait_for 20 grep -q "reading again from the store's positions" "$TMP/b.err" "$TMP/a.err"
grep -h "another consumer stored since" "$TMP/a.err" "$TMP/b.err" | head -1 | sed 's/^/# /'
produce 3
check "the frames after it are stored" wait_for 30 stored "$PRODUCED"
kill -TERM $A $BP
wait $A $BP 2>/dev/null
for x in a b; do sed "s/^/# ingest $x: /" "$TMP/$x.json"; done
check_eq "two consumers of one partition: frames in the store = frames produced" "$PRODUCED" "$(nframes)"
check_eq "no frame twice" 0 "$(pg_sql "SELECT count(*) FROM (SELECT system, t FROM $S.frames GROUP BY system, t HAVING count(*) > 1) d")"
check "a batch was refused by the fence (counted)" jq_any '.fenced >= 1' "$TMP/b.json"
