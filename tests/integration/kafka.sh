#!/bin/bash
# Frames over Kafka end to end: librdkafka's mock cluster (kafka_mock, the
# real Kafka protocol) kept up for the test; `vantage crawl` and `vantage
# serve` of this host and real containers with --sink kafka://; kcat, an
# independent client, reads what Vantage produced (keys = system ids,
# envelopes parse, parts put back together give JSON Lines frames); `vantage
# ingest` into a SQLite store: every frame produced is stored once (counted,
# and no (system, time) twice), `vantage show` of the ingested store equals
# that of the daemon's own store; delta frames carry fewer bytes than full
# ones; the brokers down for 15 s mid-stream (longer than the
# 10 s message timeout: frames go through the spool), then up: nothing lost,
# nothing twice; ingest SIGKILLed mid-stream and restarted: nothing lost,
# nothing twice; bad messages produced with kcat are counted and the
# consumer goes on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/containers_lib.sh"
on_exit containers_cleanup
need_testbin kafka_mock
command -v kcat >/dev/null || { not_ok "kcat is not installed"; exit 1; }
T=vk$$

# ---- the cluster ----------------------------------------------------------------
"$TESTBIN/kafka_mock" -n 1 -t frames -p 4 -t bad -p 1 >"$TMP/mock.out" 2>"$TMP/mock.err" &
MOCK=$!
on_exit "kill $MOCK"
wait_for 10 grep -q : "$TMP/mock.out" || { not_ok "kafka_mock up"; cat "$TMP/mock.err"; exit 1; }
B=$(head -1 "$TMP/mock.out")
ok "mock cluster up at $B"

mk_busybox_root "$TMP/root" >/dev/null || { not_ok "busybox root"; exit 1; }
start_unshare_container $T-a "$TMP/root" 'sleep 100000' >/dev/null || { not_ok "container a"; exit 1; }
start_unshare_container $T-b "$TMP/root" 'httpd -f -p 18081' >/dev/null || { not_ok "container b"; exit 1; }

# frames produced so far, from the sinks' closing lines
PRODUCED=0
sink_frames() { sed -n 's/.*kafka:\/\/[^ ]*: \([0-9]*\) frames.*/\1/p' "$1" | tail -1; }
# every frame delivered: none dropped, none left in the spool at the end
count_produced() {
	local n sp rp
	n=$(sink_frames "$1")
	PRODUCED=$((PRODUCED + ${n:-0}))
	sp=$(sed -n 's/.*spooled \([0-9]*\), replayed.*/\1/p' "$1" | tail -1)
	rp=$(sed -n 's/.*replayed \([0-9]*\), undelivered.*/\1/p' "$1" | tail -1)
	grep -q "dropped frames 0, spooled [0-9]*, replayed [0-9]*, undelivered at close 0" "$1" &&
		[ "${sp:-x}" = "${rp:-y}" ]
}

# ---- crawl with --sink kafka:// --------------------------------------------------
"$VANTAGE" crawl --host --containers --features os,process,package,config \
	--spool-dir "$TMP/spool" --sink "kafka://$B/frames" --log-level info >/dev/null 2>"$TMP/crawl.err"
check "crawl --sink kafka://: every message delivered" count_produced "$TMP/crawl.err"
ncrawl=$(sink_frames "$TMP/crawl.err")
check "crawl sent the host and the two containers ($ncrawl frames)" test "${ncrawl:-0}" -ge 3

# kcat reads it back: keys, envelopes, parts
kcat -b "$B" -C -t frames -e -J -q >"$TMP/kcat.json" 2>/dev/null
python3 - "$TMP/kcat.json" >"$TMP/kcat.out" 2>&1 <<'EOF'
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
frames, pend, keys = [], {}, set()
for m in msgs:
    env_line, body = m["payload"].split("\n", 1)
    env = json.loads(env_line)
    assert m["key"] == env["system"], (m["key"], env["system"])
    keys.add(m["key"])
    k = (m["partition"], env["system"])
    if env["part"] == 1:
        pend[k] = body
    else:
        pend[k] += body
    if env["part"] == env["parts"]:
        whole = pend.pop(k)
        assert len(whole.encode()) == env["len"]
        lines = [json.loads(l) for l in whole.splitlines()]
        assert lines[0]["feature"] == "frame" and lines[0]["system"] == env["system"]
        frames.append((env["system"], env["parts"], len(lines)))
split = sum(1 for f in frames if f[1] > 1)
print("messages", len(msgs), "frames", len(frames), "split", split, "systems", len(keys))
print("container keys", sum(1 for k in keys if k.startswith("container:")))
EOF
cat "$TMP/kcat.out" | sed 's/^/# kcat: /'
check "kcat: envelopes parse, keys are system ids, parts put back together are JSON Lines frames" \
	grep -q "^messages .* frames $ncrawl split [1-9]" "$TMP/kcat.out"
check "kcat: the containers' frames are keyed by their ids" grep -q "^container keys [2-9]" "$TMP/kcat.out"

# ---- serve with --sink kafka:// for a few ticks --------------------------------
serve_run() { # LOG SECONDS DB [TOPIC [?OPTIONS]]: the daemon with every state feature every
	# 2 s ($SLOW: every 10 s, so that the frames an outage turns full stay well under the
	# mock cluster's 5 MiB per partition, beyond which it drops the oldest messages)
	local st=${SLOW:-2}
	timeout -s INT "$2" "$VANTAGE" serve --db "$3" --listen off --containers \
		--metric-interval 1s --process-interval ${st}s --connection-interval ${st}s \
		--os-interval ${st}s --package-interval $((st * 2))s --config-interval $((st * 2))s \
		--module-interval ${st}s --interface-interval ${st}s --sink "kafka://$B/${4:-frames}${5:-}" --log-level info >/dev/null 2>"$1"
}
serve_run "$TMP/serve1.err" 12 "$TMP/direct.db" served
check "serve --sink kafka://: every message delivered" grep -q "failed 0, dropped frames 0, spooled 0, replayed 0, undelivered at close 0" "$TMP/serve1.err"
grep 'kafka://' "$TMP/serve1.err" | tail -1 | sed 's/^/# /'
# delta frames against full frames, bytes per frame
read -r nfull ndelta bfull bdelta < <(sed -n 's/.*(\([0-9]*\) full, \([0-9]*\) delta: \([0-9]*\) and \([0-9]*\) bytes).*/\1 \2 \3 \4/p' "$TMP/serve1.err" | tail -1)
echo "# full frames: $nfull, ${bfull} bytes; delta frames: $ndelta, ${bdelta} bytes"
check "serve sent delta frames ($ndelta)" test "${ndelta:-0}" -gt 5
check "a delta frame is at most a fifth of a full frame on average" \
	test $((bdelta / (ndelta > 0 ? ndelta : 1) * 5)) -lt $((bfull / (nfull > 0 ? nfull : 1)))

# ---- ingest: every frame once -----------------------------------------------------
nframes() { sqlite3 "$1" "SELECT count(*) FROM frames"; }
# a frame twice: the same system, time, features, header and records
ndup() { sqlite3 "$1" "SELECT count(*) FROM (SELECT 1 FROM frames GROUP BY system, t, fmask, head, parts HAVING count(*) > 1)"; }
# each topic its own consumer group: a group's next member waits until
# the mock cluster drops the last one, up to its 10 s session timeout
ingest() { # DB LOG [TOPIC]
	"$VANTAGE" ingest --from "kafka://$B/${3:-frames}" --group "g-${3:-frames}" --store "$1" \
		--idle-exit 3 >"$2.json" 2>"$2"
}
IN=$TMP/in.db
check "ingest of the daemon's topic" ingest "$TMP/served.db" "$TMP/ingest0.err" served
sed 's/^/# ingest: /' "$TMP/ingest0.err.json"
check_eq "every frame the daemon stored itself is in the ingested store" \
	"$(nframes "$TMP/direct.db")" "$(nframes "$TMP/served.db")"
check_eq "no frame twice" "$(ndup "$TMP/direct.db")" "$(ndup "$TMP/served.db")"
check "deltas were applied (rebuilt frames matched the producer's hash)" \
	jq -e '.frames_delta > 5 and .unknown_base == 0 and .bad_delta == 0' "$TMP/ingest0.err.json"
check "ingest of the crawl's topic" ingest "$IN" "$TMP/ingest1.err"
check_eq "every frame crawled is in the store" "$PRODUCED" "$(nframes "$IN")"
check_eq "no frame crawled twice" 0 "$(ndup "$IN")"
sys=$("$VANTAGE" systems --db "$TMP/direct.db" -j | jq -r '(if type == "array" then . else .systems end) | map(select(.id | startswith("host:")))[0].id')
"$VANTAGE" show "$sys" --db "$TMP/direct.db" -j >"$TMP/show.direct" 2>&1
"$VANTAGE" show "$sys" --db "$TMP/served.db" -j >"$TMP/show.ingested" 2>&1
check "vantage show of the host: the ingested store gives what the daemon's store gives" \
	cmp -s "$TMP/show.direct" "$TMP/show.ingested"
check "vantage show output is a frame" jq -e '.frame' "$TMP/show.ingested" >/dev/null

# ---- the brokers down for 15 s mid-stream -----------------------------------------
# ingest consumes all along (the mock keeps only 5 MiB a partition: a
# consumer that waited for the end would find the oldest messages gone)
"$VANTAGE" ingest --from "kafka://$B/frames" --group g-frames --store "$IN" >"$TMP/ingest2.json" 2>"$TMP/ingest2.err" &
ING=$!
on_exit "kill -9 $ING"
# messages time out after 10 s: frames of the outage go through the spool
SLOW=10 serve_run "$TMP/serve2.err" 35 "$TMP/direct2.db" frames '?timeout_ms=10000' &
SERVE=$!
sleep 5 # the daemon streams for a while before the brokers go
kill -USR1 $MOCK
wait_for 5 grep -q '^down' "$TMP/mock.out"
ok "brokers down"
sleep 15 # the outage whose survival is tested
kill -USR2 $MOCK
wait_for 5 grep -q '^up' "$TMP/mock.out"
wait $SERVE
check "broker down 15 s: every frame delivered after it came back (from librdkafka's queue or the spool)" count_produced "$TMP/serve2.err"
grep 'kafka://' "$TMP/serve2.err" | tail -1 | sed 's/^/# /'
check "broker down 15 s: frames went through the spool and were replayed" \
	grep -q "spooled [1-9][0-9]*, replayed [1-9]" "$TMP/serve2.err"
wait_for 60 eval 'test "$(nframes "$IN")" -ge "$PRODUCED"'
kill -TERM $ING
wait $ING
check "ingest stopped by SIGTERM: exit 0" test $? -eq 0
sed 's/^/# ingest: /' "$TMP/ingest2.json"
check_eq "broker down 15 s: every frame produced is in the store" "$PRODUCED" "$(nframes "$IN")"
check_eq "broker down 15 s: no frame twice" 0 "$(ndup "$IN")"

# ---- ingest killed with SIGKILL mid-stream ----------------------------------------
# small frames on a topic of their own (each crawl a new producer), ingest
# consuming them as they come, SIGKILLed half way, the stream going on
K=$TMP/kill.db
KN=0
crawl_kill() {
	"$VANTAGE" crawl --host --containers -f os,module --spool-dir "$TMP/spool" \
		--sink "kafka://$B/kill" --log-level info >/dev/null 2>"$TMP/kc.err"
	n=$(sink_frames "$TMP/kc.err")
	KN=$((KN + ${n:-0}))
}
crawl_kill
"$VANTAGE" ingest --from "kafka://$B/kill" --group g-kill --store "$K" --batch 1 >/dev/null 2>"$TMP/ingest3.err" &
ING=$!
on_exit "kill -9 $ING"
wait_for 60 eval 'test "$(nframes "$K" 2>/dev/null || echo 0)" -gt 0'
for i in $(seq 24); do
	crawl_kill
	if [ "$i" = 12 ]; then
		kill -9 $ING
		wait $ING 2>/dev/null
		mid=$(nframes "$K")
	fi
done
echo "# backlog: $KN frames; ingest killed after storing $mid"
check "ingest was killed mid-stream" test "$mid" -gt 0 -a "$mid" -lt "$KN"
check "ingest restarted after SIGKILL" ingest "$K" "$TMP/ingest4.err" kill
sed 's/^/# ingest: /' "$TMP/ingest4.err.json"
check_eq "SIGKILL mid-stream: every frame produced is in the store" "$KN" "$(nframes "$K")"
check_eq "SIGKILL mid-stream: no frame twice" 0 "$(ndup "$K")"

# ---- bad messages -------------------------------------------------------------------
# each file one message (kcat -P sends files whole), then a good frame
H=0123456789abcdef0123456789abcdef
env() { printf '{"vantage":%s,"type":"%s","fmt":"jsonl","system":"host:bad","chain":"os","seq":1,"part":%s,"parts":%s,"len":%s,"hash":"%s"%s}\n' "$@"; }
"$VANTAGE" crawl -f os >"$TMP/good.jsonl" 2>/dev/null
goodlen=$(stat -c %s "$TMP/good.jsonl")
mkdir "$TMP/bad"
printf 'truncated' >"$TMP/bad/1"
printf '{"vantage":1,"type":\n' >"$TMP/bad/2"
printf '[1,2,3]\n' >"$TMP/bad/3"
{ env 2 full 1 1 10 "$H" ''; printf '0123456789'; } >"$TMP/bad/4"
{ env 1 delta 1 1 2 "$H" ",\"base\":\"$H\""; printf '{}'; } >"$TMP/bad/5"
{ env 1 full 1 2 "$goodlen" "" ''; head -c 100 "$TMP/good.jsonl"; } >"$TMP/bad/6"
{ env 1 full 1 1 "$goodlen" "" ''; head -c 50 "$TMP/good.jsonl"; } >"$TMP/bad/7"
{ env 1 full 1 1 "$goodlen" "" ''; cat "$TMP/good.jsonl"; } >"$TMP/bad/8"
kcat -b "$B" -P -t bad -k host:bad "$TMP"/bad/[1-8] 2>/dev/null
"$VANTAGE" ingest --from "kafka://$B/bad" --group g-bad --store "$TMP/bad.db" --idle-exit 3 >"$TMP/bad.json" 2>"$TMP/bad.err"
check "bad messages: ingest did not crash" test $? -eq 0
sed 's/^/# ingest: /' "$TMP/bad.json"
check "bad messages: counted by kind" jq -e '.bad_envelope >= 3 and .future_version == 1 and .unknown_base == 1 and .missing_part == 1 and .truncated == 1' "$TMP/bad.json"
check "bad messages: logged with topic, partition and offset" grep -q 'ingest: bad \[0\] offset [0-9]' "$TMP/bad.err"
check_eq "bad messages: the good frame after them is stored" 1 "$(nframes "$TMP/bad.db")"
