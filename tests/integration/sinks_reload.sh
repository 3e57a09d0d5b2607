#!/bin/bash
# The daemon's sinks from its config file and on SIGHUP (docs/configuration.md,
# [output] sinks): a comma list whose Kafka URL keeps its brokers' commas
# (librdkafka's mock cluster, kcat reads the frames back); a reload closes
# the sinks no longer named, opens the new ones and leaves the others alone;
# an HTTP sink whose receiver is down spools, is removed by a reload (its
# spool stays on disk), and added back by another with the receiver up: the
# frames it spooled are delivered, none lost, none twice.
source "$(dirname "$0")/lib.sh"
need_testbin kafka_mock
command -v kcat >/dev/null || { not_ok "kcat is not installed"; exit 1; }

"$TESTBIN/kafka_mock" -n 1 -t frames -p 1 >"$TMP/mock.out" 2>"$TMP/mock.err" &
on_exit "kill $!"
wait_for 10 grep -q : "$TMP/mock.out" || { not_ok "kafka_mock up"; exit 1; }
B=$(head -1 "$TMP/mock.out")
DEAD=127.0.0.1:$(free_port) # a second broker nobody runs: librdkafka uses the first

# the HTTP receiver: bodies appended to got.jsonl
cat >"$TMP/recv.py" <<'PY'
import http.server, sys
port, d = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', '0')))
        with open(d + '/got.jsonl', 'ab') as f:
            f.write(body)
        self.send_response(200)
        self.send_header('Content-Length', '0')
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(('127.0.0.1', port), H).serve_forever()
PY
RPORT=$(free_port)
HURL="http://127.0.0.1:$RPORT/in"

conf() { # the [output] sinks line
	printf '[intervals]\nmetric = 1s\n[output]\nsinks = %s\n' "$1" >"$TMP/v.ini"
}
conf "$TMP/a.jsonl, kafka://$B,$DEAD/frames?delta=off"
PORT=$(free_port)
"$VANTAGE" serve --config "$TMP/v.ini" --no-vms --no-containers --db "$TMP/s.db" \
	--listen "127.0.0.1:$PORT" --spool-dir "$TMP/spool" --log-level info 2>"$TMP/serve.log" &
SERVE_PID=$!
on_exit "kill -9 $SERVE_PID"
frames() { local n; n=$(grep -c '"feature":"frame"' "$1" 2>/dev/null); echo "${n:-0}"; }
at_least() { [ "$(frames "$1")" -ge "$2" ]; }
on_bus() { [ "$(kcat -b "$B" -C -t frames -e -q 2>/dev/null | grep -c '"vantage"')" -ge 2 ]; }
check "the file sink of the config's list gets frames" wait_for 30 at_least "$TMP/a.jsonl" 2
check "kafka://B1,B2/TOPIC from the config file is one sink: its frames are on the bus" wait_for 30 on_bus
check "…and serve opened no sink named after a piece of it" bash -c "! grep -q 'sink \"$DEAD' '$TMP/serve.log'"

metric() { curl -s --max-time 5 "http://127.0.0.1:$PORT/metrics" | sed -n "s|^vantage_sink_spool_frames_total{sink=\"$HURL\",event=\"$1\"} ||p"; }
gauge() { curl -s --max-time 5 "http://127.0.0.1:$PORT/metrics" | sed -n "s|^vantage_sink_spool_frames{sink=\"$HURL\"} ||p"; }
reloaded() { [ "$(grep -c 'reloading the configuration' "$TMP/serve.log")" -ge "$1" ]; }

# ---- reload 1: a.jsonl and kafka go, b.jsonl and http (receiver down) come --
conf "$TMP/b.jsonl, $HURL#batch_time=0.2s"
kill -HUP "$SERVE_PID"
check "reload 1 done" wait_for 10 reloaded 1
check "…the removed sinks are closed" wait_for 10 grep -q "reload: closing the sink kafka://" "$TMP/serve.log"
check "…the new file sink gets frames" wait_for 30 at_least "$TMP/b.jsonl" 2
a1=$(frames "$TMP/a.jsonl")
spooled_at_least() { local n; n=$(metric spooled); [ "${n:-0}" -ge "$1" ]; }
check "…the new HTTP sink spools while its receiver is down" wait_for 30 spooled_at_least 2
check_eq "the closed file sink gets nothing more" "$a1" "$(sleep 2; frames "$TMP/a.jsonl")" # 2 s: two metric ticks

# ---- reload 2: the HTTP sink goes; its spool stays on disk ------------------
conf "$TMP/b.jsonl"
kill -HUP "$SERVE_PID"
check "reload 2: the HTTP sink is closed" wait_for 10 grep -q "reload: closing the sink $HURL" "$TMP/serve.log"
segs() { compgen -G "$TMP/spool/http_127.0.0.1_${RPORT}_in-*/*.seg" >/dev/null; }
check "…its spooled frames stay on disk" segs
sp=$(metric spooled)
b2=$(frames "$TMP/b.jsonl")
check "the file sink kept by both reloads goes on" wait_for 10 at_least "$TMP/b.jsonl" $((b2 + 2))

# ---- reload 3: the HTTP sink again, its receiver up: the spool is delivered --
python3 "$TMP/recv.py" "$RPORT" "$TMP" &
on_exit "kill $!"
wait_for 5 curl -s -o /dev/null "http://127.0.0.1:$RPORT/"
conf "$TMP/b.jsonl, $HURL#batch_time=0.2s"
kill -HUP "$SERVE_PID"
opened_twice() { [ "$(grep -c "reload: opened the sink $HURL" "$TMP/serve.log")" -ge 2 ]; }
check "reload 3: the HTTP sink opened again" wait_for 10 opened_twice
drained() { [ "$(gauge)" = 0 ] && [ "$(metric replayed)" -ge "$sp" ]; }
check "…the frames it spooled before are delivered" wait_for 30 drained
keys() { jq -r 'select(.feature == "frame") | "\(.system) \(.time)"' "$1" 2>/dev/null; }
recv_at_least() { [ "$(frames "$TMP/got.jsonl")" -ge "$1" ]; }
check "…and new frames after them" wait_for 30 recv_at_least $((sp + 2))
sp2=$(metric spooled) rp2=$(metric replayed) dr=$(metric dropped)
check_eq "replayed = spooled ($sp2) over the three reloads, none dropped" "$sp2 0" "$rp2 ${dr:-0}"
kill -TERM "$SERVE_PID"
wait_for 30 bash -c "! kill -0 $SERVE_PID 2>/dev/null"
check "serve stopped" bash -c "! kill -0 $SERVE_PID 2>/dev/null"
check_eq "every frame received was crawled (it is in b.jsonl), none twice" \
	"$(keys "$TMP/got.jsonl" | sort -u | wc -l) 0" \
	"$(comm -12 <(keys "$TMP/got.jsonl" | sort -u) <(keys "$TMP/b.jsonl" | sort -u) | wc -l) $(keys "$TMP/got.jsonl" | sort | uniq -d | wc -l)"
