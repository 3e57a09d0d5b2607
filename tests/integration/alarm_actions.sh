#!/usr/bin/env bash
# Integration test: an alarm's actions (src/analytics/alarm_action.c)
# against real receivers, through build/tests/alarm_action_tool (which
# queues notices with alarm_actions_send() and prints every attempt):
# (a) a python3 webhook receiver on loopback that answers 500 twice, then
#     200: three attempts, 1 s and 2 s apart, and the Alertmanager webhook
#     body's fields; a 400 is not retried; a closed port is retried 5 times;
# (b) Debian's prometheus-alertmanager on loopback: the pushed alert is
#     listed by /api/v2/alerts with our labels and fingerprint, and the
#     resolving push makes it resolved;
# (c) a command gets the notice as JSON on stdin, its exit status reported;
#     one that hangs is killed after 10 s.
source "$(dirname "$0")/lib.sh"

need_testbin alarm_action_tool
TOOL=$TESTBIN/alarm_action_tool
command -v jq >/dev/null || { not_ok "jq is installed"; exit 1; }
command -v curl >/dev/null || { not_ok "curl is installed"; exit 1; }
jqe() { jq -e "$@" >/dev/null; }

# ---- (a) the webhook: 500, 500, 200 -------------------------------------------------------
cat >"$TMP/hook.py" <<'EOF'
import http.server, json, sys, time
answers = [int(x) for x in sys.argv[2].split(",")]
out = sys.argv[3]
n = 0
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global n
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        code = answers[min(n, len(answers) - 1)]
        n += 1
        with open(out, "a") as f:
            f.write(json.dumps({"t": time.monotonic(), "code": code, "path": self.path,
                                "type": self.headers.get("Content-Type"),
                                "body": json.loads(body)}) + "\n")
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"no" if code >= 400 else b"ok")
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H)
print("ready", flush=True)
s.serve_forever()
EOF
# start_hook ANSWERS OUT: a receiver on a free port; HOOK_URL, HOOK_PID
start_hook() {
	local port
	port=$(free_port)
	python3 "$TMP/hook.py" "$port" "$1" "$2" >"$TMP/hook.log" 2>&1 &
	HOOK_PID=$!
	on_exit "kill $HOOK_PID"
	HOOK_URL=http://127.0.0.1:$port/hook
	wait_for 5 grep -q ready "$TMP/hook.log"
}
start_hook 500,500,200 "$TMP/got.jsonl"
LABELS='{"mountpoint":"/","weird":"a\"b\\c\n</x>"}'
"$TOOL" --name mem-high --system c1 --system-name web --severity critical --labels "$LABELS" \
	--webhook "$HOOK_URL" --send OK:ALARM --send ALARM:OK >"$TMP/out.jsonl" 2>"$TMP/tool.err"
check_eq "webhook: the tool ends (every delivery final)" 0 $?
check_eq "500, 500, 200: three attempts for the firing notice, the third ok" "1 false false 500,2 false false 500,3 true true 200" \
	"$(jq -r 'select(.action == "webhook") | "\(.attempt) \(.ok) \(.final) \(.status)"' "$TMP/out.jsonl" | head -3 | paste -sd,)"
check_eq "... the 500s reported with their error text" 'HTTP 500: no' \
	"$(jq -r 'select(.attempt == 1) | .error' "$TMP/out.jsonl" | head -1)"
check_eq "the receiver got 4 POSTs (3 firing, 1 resolved)" 4 "$(wc -l <"$TMP/got.jsonl")"
gaps=$(jq -s -r '[.[0:3][] | .t] | "\(.[1] - .[0]) \(.[2] - .[1])"' "$TMP/got.jsonl")
read -r g1 g2 <<<"$gaps"
echo "# backoff gaps: $g1 s, $g2 s"
check "... backoff: the 2nd attempt 1 s after the 1st (${g1} s)" \
	python3 -c "import sys; sys.exit(not 0.9 <= $g1 <= 1.6)"
check "... the 3rd 2 s after the 2nd (${g2} s)" python3 -c "import sys; sys.exit(not 1.9 <= $g2 <= 2.6)"
F=$TMP/firing.json R=$TMP/resolved.json
sed -n 3p "$TMP/got.jsonl" >"$F"
sed -n 4p "$TMP/got.jsonl" >"$R"
check_eq "Content-Type application/json" application/json "$(jq -r .type "$F")"
check_eq "body: version, status, receiver" '"4" firing vantage' \
	"$(jq -r '.body | "\"\(.version)\" \(.status) \(.receiver)"' "$F")"
check_eq "body: groupKey" '{}:{alertname="mem-high", system="c1"}' "$(jq -r .body.groupKey "$F")"
check_eq "body: groupLabels" '{"alertname":"mem-high","system":"c1"}' "$(jq -c .body.groupLabels "$F")"
check_eq "body: labels (alertname, system, system_name, severity, the series')" \
	'{"alertname":"mem-high","mountpoint":"/","severity":"critical","system":"c1","system_name":"web","weird":"a\"b\\c\n</x>"}' \
	"$(jq -c '.body.alerts[0].labels' "$F")"
check_eq "... the same as commonLabels" true "$(jq '.body.alerts[0].labels == .body.commonLabels' "$F")"
check_eq "body: one alert, firing, endsAt zero" 'firing 0001-01-01T00:00:00Z 1' \
	"$(jq -r '.body | "\(.alerts[0].status) \(.alerts[0].endsAt) \(.alerts | length)"' "$F")"
check_eq "body: annotations.description is the reason" 'test: 3 of 3 points > 80 ("quoted")' \
	"$(jq -r '.body.alerts[0].annotations.description' "$F")"
check "body: a 16-hex fingerprint" jqe '.body.alerts[0].fingerprint | test("^[0-9a-f]{16}$")' "$F"
check "body: startsAt is RFC 3339" jqe '.body.alerts[0].startsAt | test("^20[0-9-]{8}T[0-9:.]{8,12}Z$")' "$F"
check_eq "resolved: status, the same fingerprint and startsAt" "resolved true true" \
	"$(jq -rn --slurpfile f "$F" --slurpfile r "$R" '"\($r[0].body.status) \($r[0].body.alerts[0].fingerprint == $f[0].body.alerts[0].fingerprint) \($r[0].body.alerts[0].startsAt == $f[0].body.alerts[0].startsAt)"')"
check "resolved: endsAt is the change's time, not zero" \
	jqe '.body.alerts[0].endsAt | test("^20[0-9-]{8}T")' "$R"
kill "$HOOK_PID"

start_hook 400 "$TMP/got400.jsonl"
"$TOOL" --webhook "$HOOK_URL" --send OK:ALARM >"$TMP/out400.jsonl" 2>>"$TMP/tool.err"
check_eq "a 400 is not retried: one attempt, final" '1 false true 400' \
	"$(jq -r '"\(.attempt) \(.ok) \(.final) \(.status)"' "$TMP/out400.jsonl" | paste -sd,)"
kill "$HOOK_PID"

DEAD=$(free_port)
t0=$(date +%s.%N)
"$TOOL" --webhook "http://127.0.0.1:$DEAD/x" --send OK:ALARM >"$TMP/outdead.jsonl" 2>>"$TMP/tool.err"
t1=$(date +%s.%N)
check_eq "nothing listening: 5 attempts, the last final" '1 false,2 false,3 false,4 false,5 true' \
	"$(jq -r '"\(.attempt) \(.final)"' "$TMP/outdead.jsonl" | paste -sd,)"
check "... over 1+2+4+8 = 15 s ($(python3 -c "print(round($t1 - $t0, 1))") s)" \
	python3 -c "import sys; sys.exit(not 14.5 <= $t1 - $t0 <= 20)"
check "... with curl's error text" grep -q "Couldn't connect\|Connection refused\|Failed to connect" "$TMP/outdead.jsonl"

# ---- (b) a real Alertmanager ------------------------------------------------------------------
AM_PORT=$(free_port)
AM_CPORT=$(free_port)
mkdir -p "$TMP/am"
cat >"$TMP/am/alertmanager.yml" <<EOF
route:
  receiver: hook
  group_wait: 1s
receivers:
  - name: hook
EOF
prometheus-alertmanager --config.file="$TMP/am/alertmanager.yml" --storage.path="$TMP/am" \
	--web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= >"$TMP/am.log" 2>&1 &
AM_PID=$!
on_exit "kill $AM_PID"
AM=http://127.0.0.1:$AM_PORT
wait_for 15 curl -sfo /dev/null "$AM/-/ready"
check "Alertmanager $(prometheus-alertmanager --version 2>&1 | head -1 | cut -d' ' -f3) ready on $AM" curl -sfo /dev/null "$AM/-/ready"
"$TOOL" --name disk-full --system c2 --system-name db --labels '{"mountpoint":"/var"}' --period-ms 5000 \
	--alertmanager "$AM" --webhook "$HOOK_URL" --send OK:ALARM >"$TMP/am1.jsonl" 2>>"$TMP/tool.err"
check_eq "push to Alertmanager: one attempt, 200" '1 true 200' \
	"$(jq -r 'select(.action == "alertmanager") | "\(.attempt) \(.ok) \(.status)"' "$TMP/am1.jsonl")"
curl -s "$AM/api/v2/alerts?filter=alertname%3D%22disk-full%22" >"$TMP/alerts.json"
check_eq "Alertmanager lists the alert with our labels" \
	'{"alertname":"disk-full","mountpoint":"/var","system":"c2","system_name":"db"}' \
	"$(jq -c '.[0].labels' "$TMP/alerts.json")"
check_eq "... active" active "$(jq -r '.[0].status.state' "$TMP/alerts.json")"
check_eq "... its description the reason" 'test: 3 of 3 points > 80 ("quoted")' \
	"$(jq -r '.[0].annotations.description' "$TMP/alerts.json")"
# our webhook fingerprint of the same labels is Alertmanager's
start_hook 200 "$TMP/gotfp.jsonl"
"$TOOL" --name disk-full --system c2 --system-name db --labels '{"mountpoint":"/var"}' \
	--webhook "$HOOK_URL" --send OK:ALARM >/dev/null 2>>"$TMP/tool.err"
kill "$HOOK_PID"
check_eq "the webhook's fingerprint is Alertmanager's ($(jq -r '.[0].fingerprint' "$TMP/alerts.json"))" \
	"$(jq -r '.[0].fingerprint' "$TMP/alerts.json")" "$(jq -r '.body.alerts[0].fingerprint' "$TMP/gotfp.jsonl")"
ends=$(jq -r '.[0].endsAt' "$TMP/alerts.json")
check "... endsAt 4 x max(period, 60 s) = 240 s ahead ($ends)" python3 - "$ends" <<'EOF'
import sys, datetime
e = datetime.datetime.fromisoformat(sys.argv[1].replace("Z", "+00:00"))
left = (e - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
sys.exit(not 200 <= left <= 241)
EOF
"$TOOL" --name disk-full --system c2 --system-name db --labels '{"mountpoint":"/var"}' --period-ms 5000 \
	--alertmanager "$AM" --send ALARM:OK >"$TMP/am2.jsonl" 2>>"$TMP/tool.err"
check_eq "the resolving push: 200" '1 true 200' "$(jq -r '"\(.attempt) \(.ok) \(.status)"' "$TMP/am2.jsonl")"
curl -s "$AM/api/v2/alerts?filter=alertname%3D%22disk-full%22&active=true" >"$TMP/alerts2.json"
check_eq "... Alertmanager no longer lists it as active" 0 "$(jq length "$TMP/alerts2.json")"
"$TOOL" --alertmanager "$AM" --send OK:INSUFFICIENT_DATA >"$TMP/am3.jsonl" 2>>"$TMP/tool.err"
check_eq "OK -> INSUFFICIENT_DATA is not pushed" 0 "$(wc -l <"$TMP/am3.jsonl")"

# ---- (c) the command -----------------------------------------------------------------------------
"$TOOL" --name cmd-alarm --command "cat >'$TMP/stdin.json'; echo handled; exit 3" --send OK:ALARM \
	>"$TMP/cmd.jsonl" 2>>"$TMP/tool.err"
check_eq "command: its exit status reported, not retried" '1 false true 3 exit status 3' \
	"$(jq -r '"\(.attempt) \(.ok) \(.final) \(.status) \(.error)"' "$TMP/cmd.jsonl")"
check_eq "... the notice on its stdin" 'cmd-alarm c1 OK ALARM test: 3 of 3 points > 80 ("quoted") 90' \
	"$(jq -r '"\(.alarm) \(.system) \(.from) \(.state) \(.reason) \(.data.recentDatapoints[1])"' "$TMP/stdin.json")"
check "... its stdout in the log" grep -q "alarm cmd-alarm: command: handled" "$TMP/tool.err"
check "... and the log line of the change" grep -q "alarm cmd-alarm: OK -> ALARM on web (c1)" "$TMP/tool.err"
"$TOOL" --command "true" --send OK:ALARM >"$TMP/cmd0.jsonl" 2>>"$TMP/tool.err"
check_eq "a command exiting 0: ok" '1 true 0' "$(jq -r '"\(.attempt) \(.ok) \(.status)"' "$TMP/cmd0.jsonl")"
t0=$(date +%s.%N)
"$TOOL" --command "sleep 60 & sleep 60" --send OK:ALARM >"$TMP/cmdk.jsonl" 2>>"$TMP/tool.err"
t1=$(date +%s.%N)
check_eq "a command that hangs: killed" 'false killed after 10 s (SIGKILL)' \
	"$(jq -r '"\(.ok) \(.error)"' "$TMP/cmdk.jsonl")"
check "... after 10 s ($(python3 -c "print(round($t1 - $t0, 1))") s)" \
	python3 -c "import sys; sys.exit(not 9.5 <= $t1 - $t0 <= 12)"
check "... with what it started (no 'sleep 60' left)" sh -c "! pgrep -f '^sleep 60$' >/dev/null"
