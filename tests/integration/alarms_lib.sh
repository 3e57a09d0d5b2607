# Helpers of the alarm suites (alarms*.sh; sourced after lib.sh).
#
#   alarm_hook_start          a python3 webhook receiver on loopback: every POST
#                             appends {"t","path","body"} as one line to
#                             $HOOK_LOG; sets HOOK_PORT, HOOK_URL (path /hook),
#                             HOOK_LOG.  Stopped at exit.
#   alarm_am_start            a real prometheus-alertmanager on loopback; sets AM
#                             (its base URL, empty when it is not installed:
#                             then one "not ok" saying so).  Stopped at exit.
#   alarm_serve LOG ARGS...   `vantage serve --db $DB --listen 127.0.0.1:$PORT ARGS`
#                             in the background, logging to LOG; sets SERVE_PID
#                             (killed at exit); waits until the API is up
#                             (status 1 when it is not)
#   state NAME SYSTEM_NAME    the alarm's state for that system ("" when none),
#                             read from the store ($DB) with `vantage alarms`
#   state_is NAME SYSTEM_NAME STATE
#   state_json NAME SYSTEM_NAME
#                             that state's whole JSON object
#   posts STATUS [PATH]       the receiver's POSTs of that status (firing,
#                             resolved), for that path (default: any)
#   posts_ge STATUS N [PATH]
#   history NAME [ARGS...]    `vantage alarms --history NAME --json ARGS`
#   history_has NAME JQ_COND [ARGS...]
#                             some history event of NAME satisfies JQ_COND

alarm_hook_start() {
	cat >"$TMP/hook.py" <<-'EOF'
		import http.server, json, sys, time
		out = sys.argv[2]
		class H(http.server.BaseHTTPRequestHandler):
		    def do_POST(self):
		        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
		        with open(out, "a") as f:
		            f.write(json.dumps({"t": time.time(), "path": self.path,
		                                "body": json.loads(body)}) + "\n")
		        self.send_response(200)
		        self.send_header("Content-Length", "2")
		        self.end_headers()
		        self.wfile.write(b"ok")
		    def log_message(self, *a):
		        pass
		http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
	EOF
	HOOK_PORT=$(free_port)
	HOOK_LOG=$TMP/hook.jsonl
	touch "$HOOK_LOG"
	python3 "$TMP/hook.py" "$HOOK_PORT" "$HOOK_LOG" 2>"$TMP/hook.log" &
	on_exit "kill $!"
	HOOK_URL=http://127.0.0.1:$HOOK_PORT/hook
	wait_for 10 python3 -c "import socket; socket.create_connection(('127.0.0.1', $HOOK_PORT))" 2>/dev/null
}

alarm_am_start() {
	AM=
	if ! command -v prometheus-alertmanager >/dev/null; then
		not_ok "prometheus-alertmanager is installed (scripts/setup.sh)"
		return 1
	fi
	local port
	port=$(free_port)
	mkdir -p "$TMP/am"
	printf 'route:\n  receiver: none\n  group_wait: 1s\nreceivers:\n  - name: none\n' \
		>"$TMP/am/alertmanager.yml"
	prometheus-alertmanager --config.file="$TMP/am/alertmanager.yml" --storage.path="$TMP/am" \
		--web.listen-address="127.0.0.1:$port" --cluster.listen-address= >"$TMP/am.log" 2>&1 &
	on_exit "kill $!"
	AM=http://127.0.0.1:$port
	wait_for 15 curl -sfo /dev/null "$AM/-/ready"
	check "Alertmanager ready on $AM" curl -sfo /dev/null "$AM/-/ready"
}

alarm_serve() {
	local log=$1
	shift
	"$VANTAGE" serve --db "$DB" --listen "127.0.0.1:$PORT" "$@" 2>"$log" &
	SERVE_PID=$!
	on_exit "kill -9 $SERVE_PID"
	wait_for 10 grep -q "API on" "$log"
}

state() {
	"$VANTAGE" alarms --db "$DB" --json 2>/dev/null |
		jq -r --arg a "$1" --arg s "$2" '.[] | select(.name == $a) | .states[] | select(.system_name == $s) | .state' 2>/dev/null
}
state_is() { [ "$(state "$1" "$2")" = "$3" ]; }
state_json() {
	"$VANTAGE" alarms --db "$DB" --json 2>/dev/null |
		jq -c --arg a "$1" --arg s "$2" '.[] | select(.name == $a) | .states[] | select(.system_name == $s)' 2>/dev/null
}
posts() {
	jq -s --arg st "$1" --arg p "${2:-}" \
		'[.[] | select(.body.status == $st and ($p == "" or .path == $p))] | length' "$HOOK_LOG"
}
posts_ge() { [ "$(posts "$1" "${3:-}")" -ge "$2" ]; }
history() {
	local n=$1
	shift
	"$VANTAGE" alarms --history "$n" --db "$DB" --json "$@" 2>/dev/null
}
history_has() {
	local n=$1 cond=$2
	shift 2
	history "$n" "$@" | jq -e "any(.[]; $cond)" >/dev/null 2>&1
}
