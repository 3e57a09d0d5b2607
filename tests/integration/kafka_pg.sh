#!/bin/bash
# Frames over Kafka into PostgreSQL, exactly once through faults:
# librdkafka's mock cluster (kafka_mock, the real Kafka protocol) kept up
# for the test, a PostgreSQL cluster made by initdb as an unprivileged user
# (pg_lib.sh), `vantage ingest --store postgres://...` as a consumer group.
# The frames are this host's real records (os, module) as 8 systems, each
# frame a full-frame message of the Kafka sink's format (kcat produces
# them, keyed by system, 4 partitions).  Counted end to end: frames
# produced = frames in the store, no (system, time) twice, when
#   - PostgreSQL is stopped mid-ingest (immediate mode: a crash, the last
#     commits not flushed, as ingest commits without waiting for them) and
#     started again while frames keep coming;
#   - vantage ingest is SIGKILLed mid-stream and started again.
# (A zombie consumer's batch refused by the store: test_store_fence, run
# against PostgreSQL by store_pg.sh.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"
need_testbin kafka_mock
command -v kcat >/dev/null || { not_ok "kcat is not installed"; exit 1; }
[ -x "$PGBIN/initdb" ] || { not_ok "PostgreSQL server binaries (apt install postgresql)"; exit 1; }

"$TESTBIN/kafka_mock" -n 1 -p 4 -t frames >"$TMP/mock.out" 2>"$TMP/mock.err" &
on_exit "kill $!"
check "initdb as an unprivileged user" pg_init
check "the server starts" pg_start
check "a database for the store" as_pg "$PGBIN/createdb" -h "$PG" -U vantage vantage
wait_for 10 grep -q : "$TMP/mock.out" || { not_ok "kafka_mock up"; cat "$TMP/mock.err"; exit 1; }
B=$(head -1 "$TMP/mock.out")
ok "mock cluster up at $B"

# ---- frames -----------------------------------------------------------------------
"$VANTAGE" crawl -f os,package 2>/dev/null | head -301 >"$TMP/host.jsonl"
PRODUCED=0
# produce TOPIC WAVE FRAMES: FRAMES frames of each of the 8 systems, times
# of the wave, system s on partition s % 4 of TOPIC, each frame one
# message (its envelope and body), one kcat per system
produce() {
	local d=$TMP/msgs-$1-$2
	python3 - "$TMP/host.jsonl" "$d" "$2" "$3" <<'PY'
import json, os, sys
src, out, wave, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
lines = open(src, encoding="utf-8").read().splitlines()
for s in range(8):
    sysid = "host:pgk%d" % s
    os.makedirs(os.path.join(out, str(s)))
    for k in range(n):
        t = "2026-12-06T07:%02d:%02d.000Z" % (wave, k)
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
               "seq": wave * 100 + k, "part": 1, "parts": 1, "len": len(body), "hash": ""}
        with open(os.path.join(out, str(s), "%03d" % k), "wb") as f:
            f.write(json.dumps(env, separators=(",", ":")).encode() + b"\n" + body)
PY
	for s in 0 1 2 3 4 5 6 7; do
		kcat -b "$B" -P -t "$1" -p $((s % 4)) -k "host:pgk$s" "$d/$s"/* 2>/dev/null || return 1
	done
	[ "$1" = frames ] && PRODUCED=$((PRODUCED + 8 * $3))
	return 0
}
nframes() { pg_sql "SELECT count(*) FROM $1.frames" 2>/dev/null || echo -1; }
ndup() { pg_sql "SELECT count(*) FROM (SELECT system, t FROM $1.frames GROUP BY system, t HAVING count(*) > 1) d"; }
stored() { [ "$(nframes "$1")" -ge "$2" ]; }

# ---- PostgreSQL stopped mid-ingest ------------------------------------------------
S=faults
"$VANTAGE" ingest --from "kafka://$B/frames" --store "$(pg_url $S)" --batch 4 \
	>"$TMP/ingest1.json" 2>"$TMP/ingest1.err" &
ING=$!
on_exit "kill -9 $ING"
produce frames 1 3
check "ingest stores the first frames" wait_for 30 stored $S "$PRODUCED"
produce frames 2 4
check "PostgreSQL stopped (immediate: a crash) while ingest stores" pg_stop immediate
produce frames 3 3 # frames keep coming while the store is down
wait_for 10 grep -q "the store failed" "$TMP/ingest1.err"
check "ingest saw the store fail and retries" grep -q "retrying" "$TMP/ingest1.err"
check "PostgreSQL started again" pg_start
check "after the restart, every frame produced is stored ($PRODUCED)" wait_for 30 stored $S "$PRODUCED"
kill -TERM $ING
wait $ING
check "ingest stopped by SIGTERM: exit 0" test $? -eq 0
sed 's/^/# ingest: /' "$TMP/ingest1.json"
grep -E "fenced|reading again" "$TMP/ingest1.err" | head -2 | sed 's/^/# /'
check_eq "PostgreSQL down mid-ingest: frames in the store = frames produced" "$PRODUCED" "$(nframes $S)"
check_eq "PostgreSQL down mid-ingest: no frame twice" 0 "$(ndup $S)"

# ---- ingest killed with SIGKILL mid-stream ----------------------------------------
"$VANTAGE" ingest --from "kafka://$B/frames" --store "$(pg_url $S)" --batch 1 \
	>/dev/null 2>"$TMP/ingest2.err" &
ING=$!
on_exit "kill -9 $ING"
produce frames 4 3
wait_for 20 stored $S $((PRODUCED - 12))
kill -9 $ING
wait $ING 2>/dev/null
mid=$(nframes $S)
produce frames 5 3
echo "# $PRODUCED frames produced; ingest killed after storing $mid"
check "ingest was killed mid-stream" test "$mid" -lt "$PRODUCED"
check "ingest restarted after SIGKILL" \
	"$VANTAGE" ingest --from "kafka://$B/frames" --store "$(pg_url $S)" --idle-exit 3 \
	>"$TMP/ingest3.json" 2>"$TMP/ingest3.err"
sed 's/^/# ingest: /' "$TMP/ingest3.json"
check_eq "SIGKILL mid-stream: frames in the store = frames produced" "$PRODUCED" "$(nframes $S)"
check_eq "SIGKILL mid-stream: no frame twice" 0 "$(ndup $S)"
