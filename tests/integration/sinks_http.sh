#!/bin/bash
# The HTTP sink and its spool (issue 14): a python3 receiver on loopback,
# started here, answers 503 (or is not there at all) for a while, then 200.
# Every frame `vantage serve` / `vantage crawl` made reaches it exactly
# once and in order (a file sink given alongside is the record of what was
# crawled); /metrics counts spooled and replayed frames; a spool that fills
# drops its oldest frames and the drop counter says how many; a 4xx is not
# retried; the bearer token is sent and never logged.
source "$(dirname "$0")/lib.sh"

# The receiver: POST bodies appended to $TMP/got.jsonl while $TMP/up exists
# (else 503), 400 while $TMP/reject exists; one log line per request.
cat >"$TMP/recv.py" <<'PY'
import http.server, os, sys
port, d = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', '0')))
        code = 400 if os.path.exists(d + '/reject') else 200 if os.path.exists(d + '/up') else 503
        if code == 200:
            with open(d + '/got.jsonl', 'ab') as f:
                f.write(body)
        with open(d + '/requests.log', 'a') as f:
            f.write('%d %s %s\n' % (code, self.headers.get('Content-Type'), self.headers.get('Authorization')))
        self.send_response(code)
        self.send_header('Content-Length', '3')
        self.end_headers()
        self.wfile.write(b'no\n' if code == 400 else b'ok\n')
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(('127.0.0.1', port), H).serve_forever()
PY
RPORT=$(free_port)
start_receiver() {
	python3 "$TMP/recv.py" "$RPORT" "$TMP" &
	RECV_PID=$!
	on_exit "kill $RECV_PID"
	wait_for 5 curl -s -o /dev/null "http://127.0.0.1:$RPORT/" # a GET: 501, nothing stored
}
# frame_keys FILE: "system time" of each frame header, in order
frame_keys() { jq -r 'select(.feature == "frame") | "\(.system) \(.time)"' "$1" 2>/dev/null; }
count_lines() { [ -s "$1" ] && wc -l <"$1" || echo 0; }
SP=$TMP/spool

# ---- crawl: receiver absent, the frames wait in the spool; the next run sends them first
"$VANTAGE" crawl --host -f os,metric --sink "http://127.0.0.1:$RPORT/in#token=SEKRIT" --spool-dir "$SP" \
	-o "$TMP/crawled.jsonl" 2>"$TMP/err1"
check_eq "crawl with the receiver down: exit 0 (the frame is safe in the spool)" 0 $?
check "…its exit message says a frame waits in the spool ($(tail -1 "$TMP/err1"))" \
	grep -q "not reachable; 1 frames wait in the spool $SP/" "$TMP/err1"
check "the spool holds a segment" bash -c "compgen -G '$SP/http_127.0.0.1_${RPORT}_in-*/*.seg' >/dev/null"
check "the token is never logged" bash -c "! grep -q SEKRIT '$TMP/err1'"
touch "$TMP/up"
start_receiver
"$VANTAGE" crawl --host -f os,metric --sink "http://127.0.0.1:$RPORT/in#token=SEKRIT" --spool-dir "$SP" \
	-o "$TMP/crawled2.jsonl" 2>"$TMP/err2"
check_eq "the next crawl: exit 0" 0 $?
check "…says the earlier frame was delivered" grep -q "1 frames of an earlier run delivered" "$TMP/err2"
cat "$TMP/crawled.jsonl" "$TMP/crawled2.jsonl" >"$TMP/crawled_all.jsonl"
check_eq "the receiver got both frames, the spooled one first" \
	"$(frame_keys "$TMP/crawled_all.jsonl")" "$(frame_keys "$TMP/got.jsonl")"
check_eq "…and every record of them" "$(count_lines "$TMP/crawled_all.jsonl")" "$(count_lines "$TMP/got.jsonl")"
check "JSON Lines with the ndjson type and the bearer token" \
	grep -q "^200 application/x-ndjson Bearer SEKRIT$" "$TMP/requests.log"
check "the spool is empty again" bash -c "! compgen -G '$SP/http_127.0.0.1_${RPORT}_in-*/*.seg'"

# ---- a 4xx is not retried: counted as rejected, logged, exit 1 -------------------
touch "$TMP/reject"
"$VANTAGE" crawl --host -f os --sink "http://127.0.0.1:$RPORT/in" --spool-dir "$SP" -o /dev/null 2>"$TMP/err3"
check_eq "a receiver answering 400: exit 1" 1 $?
check "…the frame is logged as refused ($(grep -m1 refuses "$TMP/err3"))" grep -q "HTTP 400: the receiver refuses a frame" "$TMP/err3"
check "…and not spooled" bash -c "! compgen -G '$SP/http_127.0.0.1_${RPORT}_in-*/*.seg'"
rm -f "$TMP/reject"

# ---- a spool that fills: the oldest frames are dropped, and counted --------------
rm -f "$TMP/up" "$TMP/got.jsonl"
: >"$TMP/crawled_fill.jsonl"
lost=0
for i in 1 2 3 4 5 6; do
	"$VANTAGE" crawl --host -f os,metric --sink "http://127.0.0.1:$RPORT/fill#spool_max_bytes=20K" \
		--spool-dir "$SP" -o "$TMP/c$i.jsonl" 2>"$TMP/errf$i"
	cat "$TMP/c$i.jsonl" >>"$TMP/crawled_fill.jsonl"
	n=$(sed -n 's/.* \([0-9]*\) frames lost .*/\1/p' "$TMP/errf$i")
	lost=$((lost + ${n:-0}))
done
check "the full spool dropped frames (lost: $lost) and said so" test "$lost" -gt 0
touch "$TMP/up"
"$VANTAGE" crawl --host -f os,metric --sink "http://127.0.0.1:$RPORT/fill#spool_max_bytes=20K" \
	--spool-dir "$SP" -o "$TMP/c7.jsonl" 2>"$TMP/errf7"
cat "$TMP/c7.jsonl" >>"$TMP/crawled_fill.jsonl"
crawled=$(frame_keys "$TMP/crawled_fill.jsonl" | wc -l)
got=$(frame_keys "$TMP/got.jsonl" | wc -l)
check_eq "frames crawled ($crawled) = frames received ($got) + frames dropped ($lost)" "$crawled" $((got + lost))
check_eq "the frames received are the newest ones, in order (the oldest were dropped)" \
	"$(frame_keys "$TMP/crawled_fill.jsonl" | tail -n "$got")" "$(frame_keys "$TMP/got.jsonl")"

# ---- the daemon: 503 for a while, then 200; /metrics counts -------------------
rm -f "$TMP/up" "$TMP/got.jsonl"
PORT=$(free_port)
URL="http://127.0.0.1:$RPORT/serve"
"$VANTAGE" serve --no-vms --no-containers --db "$TMP/s.db" --listen "127.0.0.1:$PORT" \
	--metric-interval 1s --sink "$URL#batch_time=0.2s&token=SEKRIT" --sink "$TMP/served.jsonl" \
	--spool-dir "$TMP/spool2" 2>"$TMP/serve.log" &
SERVE_PID=$!
on_exit "kill -9 $SERVE_PID"
metric() { curl -s --max-time 5 "http://127.0.0.1:$PORT/metrics" | sed -n "s|^vantage_sink_spool_frames_total{sink=\"$URL\",event=\"$1\"} ||p"; }
gauge() { curl -s --max-time 5 "http://127.0.0.1:$PORT/metrics" | sed -n "s|^vantage_sink_spool_frames{sink=\"$URL\"} ||p"; }
spooled_at_least() { local n; n=$(metric spooled); [ "${n:-0}" -ge "$1" ]; }
check "/metrics counts frames spooled while the receiver answers 503" wait_for 60 spooled_at_least 5
check "the 503s were answered" grep -q "^503 " "$TMP/requests.log"
touch "$TMP/up"
spool_drained() { [ "$(gauge)" = 0 ] && [ "$(metric replayed)" -ge 5 ]; }
check "the receiver is back: the spool drains" wait_for 90 spool_drained
sp=$(metric spooled) rp=$(metric replayed) dr=$(metric dropped)
check_eq "replayed = spooled ($sp), none dropped" "$sp 0" "$rp $dr"
kill -TERM "$SERVE_PID"
wait_for 30 bash -c "! kill -0 $SERVE_PID 2>/dev/null"
check "serve stopped" bash -c "! kill -0 $SERVE_PID 2>/dev/null"
crawled=$(frame_keys "$TMP/served.jsonl" | wc -l)
# every spooled frame was crawled first (at least 5: the wait above)
check "frames were crawled ($crawled, $sp spooled)" test "$crawled" -ge "${sp:-5}" -a "$crawled" -ge 5
check_eq "frames crawled = frames received, in order" "$(frame_keys "$TMP/served.jsonl")" "$(frame_keys "$TMP/got.jsonl")"
check_eq "none received twice" "$(frame_keys "$TMP/got.jsonl" | sort | uniq -d)" ""
check "the token is never logged by serve" bash -c "! grep -q SEKRIT '$TMP/serve.log'"
