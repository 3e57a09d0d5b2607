#!/usr/bin/env bash
# State (drift) alarms end to end (issue 12): a real daemon (`vantage
# serve`), a real unshare+cgroup container, a python3 webhook receiver.
#   - [alarm new-port] rule = listen over the container (a selector): a
#     process in the container opens listening port 4444 (busybox nc -l):
#     ALARM, and the webhook body and the history's reason name the socket
#     (4444); the port closed (revert): OK again, with a resolved POST;
#   - a second change (port 5555): ALARM; acknowledged through the API
#     (POST /api/v1/alarms/new-port/ack): OK, and it stays OK while 5555
#     listens; a change after the acknowledgement (port 6666) fires again;
#   - [alarm sleeper-gone] rule = process_gone on the container (by name):
#     the matching process killed: ALARM, the reason names it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"
source "$(dirname "$0")/alarms_lib.sh"

command -v curl >/dev/null || { not_ok "curl is installed"; exit 1; }
command -v jq >/dev/null || { not_ok "jq is installed"; exit 1; }
mk_busybox_root "$TMP/root" >/dev/null || { not_ok "busybox root"; exit 1; }
DB=$TMP/v.db
PORT=$(free_port)
API=http://127.0.0.1:$PORT
C=vt-state

alarm_hook_start
cpid=$(start_unshare_container $C "$TMP/root" 'sleep 2000001 & sleep 1000000') ||
	{ not_ok "start the container"; exit 1; }
cat >"$TMP/v.ini" <<EOF
[alarm new-port]
rule = listen
selector = name=$C
webhook = $HOOK_URL/new-port

[alarm sleeper-gone]
rule = process_gone
pattern = sleep 2000001
system = $C
webhook = $HOOK_URL/sleeper-gone
EOF
alarm_serve "$TMP/serve.log" --config "$TMP/v.ini" --no-vms --log-level info \
	--metric-interval 2s --process-interval 2s --connection-interval 2s ||
	{ not_ok "the daemon starts"; cat "$TMP/serve.log"; exit 1; }
check "the daemon logs its two config file alarms" grep -q "2 alarms from the configuration" "$TMP/serve.log"

# listening PORT_HEX: the container's network namespace has a TCP listener there
listening() { grep -qE ":$1 0+:0000 0A" "/proc/$cpid/net/tcp" "/proc/$cpid/net/tcp6"; }
# in_container CMD...: run CMD in the container (its namespaces and cgroups)
in_container() {
	(
		for d in $(unshare_cgroup_dirs $C); do echo "$BASHPID" >"$d/cgroup.procs"; done
		exec nsenter -t "$cpid" -a -r -w "$@"
	)
}
# listen_on PORT: busybox nc -l -p PORT in the container, until it listens
listen_on() {
	in_container nc -l -p "$1" </dev/null >/dev/null 2>&1 &
	on_exit "kill $!"
	wait_for 10 listening "$(printf %04X "$1")"
}
# close_port PORT: kill that nc, until its port is closed
close_port() {
	pkill -KILL -f "^nc -l -p $1\$"
	wait_for 10 eval "! listening $(printf %04X "$1")"
}

wait_for 40 state_is new-port $C OK
check_eq "new-port: the container is OK at first" OK "$(state new-port $C)"
wait_for 20 state_is sleeper-gone $C OK
check_eq "sleeper-gone: OK at first" OK "$(state sleeper-gone $C)"
# armed: the baseline is the container's latest frame holding the rule's
# feature; the next crawl of it is compared ("no listen drift since ...")
compared() { state_json "$1" $C | jq -e --arg r "$2" '.state == "OK" and (.reason | startswith("no \($r) drift since"))' >/dev/null 2>&1; }
wait_for 90 compared new-port listen
check "new-port: OK, compared with the baseline ($(state_json new-port $C | jq -r .reason))" compared new-port listen
wait_for 30 compared sleeper-gone process_gone
check "sleeper-gone: OK, compared with the baseline" compared sleeper-gone process_gone

# ---- a new listening port: ALARM naming the socket ---------------------------------------------
listen_on 4444
check "nc -l -p 4444 listens in the container" listening 115C
wait_for 20 state_is new-port $C ALARM
check_eq "new-port: ALARM" ALARM "$(state new-port $C)"
wait_for 10 posts_ge firing 1 /hook/new-port
check_eq "the receiver got one firing POST for new-port" 1 "$(posts firing /hook/new-port)"
F=$(jq -s -c '[.[] | select(.path == "/hook/new-port" and .body.status == "firing")][0].body' "$HOOK_LOG")
desc=$(jq -r '.alerts[0].annotations.description' <<<"$F")
echo "# firing description: $desc"
check "... its description names the socket (tcp ...:4444, nc)" \
	bash -c "grep -Eq 'new listening socket tcp (0\.0\.0\.0|\[::\]|::):4444 \(nc, pid [0-9]+\)' <<<'$desc'"
check_eq "... labels: alertname, system_name" "new-port $C" \
	"$(jq -r '.alerts[0].labels | "\(.alertname) \(.system_name)"' <<<"$F")"
history new-port --type state >"$TMP/h1.json"
check "history: OK -> ALARM with the reason naming 4444" jq -e \
	'any(.[]; .data.from == "OK" and .data.to == "ALARM" and (.summary | test("new listening socket tcp .*:4444 ")))' "$TMP/h1.json"
check "history: the evaluation holds the drift entry (connection added, port 4444)" jq -e \
	'any(.[]; .data.to == "ALARM" and any(.data.evaluation.entries[]?; .feature == "connection" and .change == "added" and .value.local_port == 4444))' "$TMP/h1.json"
check_eq "the process_gone alarm is still OK" OK "$(state sleeper-gone $C)"

# ---- revert: the port closed -> OK ---------------------------------------------------------------
close_port 4444
check "nc stopped listening" eval "! listening 115C"
wait_for 20 state_is new-port $C OK
check_eq "the port closed: new-port is OK again" OK "$(state new-port $C)"
wait_for 10 posts_ge resolved 1 /hook/new-port
check_eq "... a resolved POST" 1 "$(posts resolved /hook/new-port)"
check "history: ALARM -> OK" history_has new-port '.type == "state" and .data.from == "ALARM" and .data.to == "OK"'

# ---- a second change, acknowledged through the API -> OK -------------------------------------------
listen_on 5555
wait_for 20 state_is new-port $C ALARM
check_eq "port 5555 opened: ALARM again" ALARM "$(state new-port $C)"
check "... the reason names 5555" bash -c "'$VANTAGE' alarms --db '$DB' --json |
	jq -e '.[] | select(.name == \"new-port\") | .states[0].reason | test(\":5555 \")' >/dev/null"
code=$(curl -s -o "$TMP/ack.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
	--data "{\"system\":\"$C\",\"for\":\"1h\",\"comment\":\"expected\"}" "$API/api/v1/alarms/new-port/ack")
check_eq "POST /api/v1/alarms/new-port/ack: 200" 200 "$code"
wait_for 20 state_is new-port $C OK
check_eq "acknowledged: OK while 5555 still listens" "OK yes" "$(state new-port $C) $(listening 15B3 && echo yes)"
check "history: the acknowledgement (config event)" history_has new-port \
	'.type == "config" and (.summary | test("^acknowledged"))'
check "history: ALARM -> OK after it" bash -c "'$VANTAGE' alarms --history new-port --type state --db '$DB' --json |
	jq -e '.[0] | .data.from == \"ALARM\" and .data.to == \"OK\"' >/dev/null"
# three crawls of the connection feature (2 s each): the acknowledged port stays OK
sleep 6
check_eq "... and stays OK over the next crawls" OK "$(state new-port $C)"
listen_on 6666
wait_for 20 state_is new-port $C ALARM
check_eq "a change after the acknowledgement (6666) fires again" ALARM "$(state new-port $C)"
check "... naming 6666, not 5555" bash -c "'$VANTAGE' alarms --db '$DB' --json |
	jq -e '.[] | select(.name == \"new-port\") | .states[0].reason | test(\":6666 \") and (test(\":5555 \") | not)' >/dev/null"

# ---- process_gone: the matching process killed --------------------------------------------------------
spid=$(pgrep -f '^sleep 2000001$' | head -1)
check "sleep 2000001 runs in the container (host pid $spid)" test -n "$spid"
kill -KILL "$spid"
wait_for 20 state_is sleeper-gone $C ALARM
check_eq "sleep 2000001 killed: sleeper-gone ALARM" ALARM "$(state sleeper-gone $C)"
wait_for 10 posts_ge firing 1 /hook/sleeper-gone
check_eq "... a firing POST for it" 1 "$(posts firing /hook/sleeper-gone)"
r=$(state_json sleeper-gone $C | jq -r .reason)
echo "# sleeper-gone: $r"
check "... the reason names the process" bash -c \
	"grep -Eq \"no process matching 'sleep 2000001' any more; gone: pid [0-9]+ sleep 2000001\" <<<\"$r\""

check "the daemon logged no error" bash -c "! grep -q ': error:' '$TMP/serve.log'"
kill -TERM "$SERVE_PID"
wait_for 15 bash -c "! kill -0 $SERVE_PID 2>/dev/null"
check "the daemon stops on SIGTERM" bash -c "! kill -0 $SERVE_PID 2>/dev/null"
