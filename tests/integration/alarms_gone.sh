#!/usr/bin/env bash
# Gone systems and warm-up in alarms (issue 12): a real daemon, real
# containers, a python3 webhook receiver.
#   - an unshare+cgroup container with a 32 MiB memory limit whose process
#     allocates past it and is killed by the kernel's OOM killer, then the
#     container stopped: its memory alarm's history has the reason
#     "gone: exited ..., killed by the OOM killer", the state is kept (not
#     INSUFFICIENT_DATA) and flagged gone, no notification is sent;
#   - a podman container whose process exits with code 3: "gone: exited 3";
#   - a container that appears while the daemon runs starts in a warm-up:
#     INSUFFICIENT_DATA with "warming up (N s left)" and no action, though
#     every point breaches; the history shows the warm-up and then the
#     change to ALARM (announced: a firing POST) no earlier than the warm-up
#     after the container started.
# (A VM shut down: alarms_vm.sh.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"
source "$(dirname "$0")/alarms_lib.sh"

command -v curl >/dev/null || { not_ok "curl is installed"; exit 1; }
command -v jq >/dev/null || { not_ok "jq is installed"; exit 1; }
mk_busybox_root "$TMP/root" >/dev/null || { not_ok "busybox root"; exit 1; }
have_podman=1
podman_setup || have_podman=0
DB=$TMP/v.db
PORT=$(free_port)
WARMUP=15
PERIOD=5

alarm_hook_start
# The OOM container: PID 1 lives; a process of its group waits for /tmp/go,
# then reads 200 MB into a shell variable past the 32 MiB limit.
UNSHARE_MEM_LIMIT=33554432 start_unshare_container vt-oom "$TMP/root" \
	'{ while [ ! -e /tmp/go ]; do sleep 0.1; done; x=$(head -c 200000000 /dev/zero | tr "\000" a); sleep 1000000; }' \
	>/dev/null || { not_ok "start the OOM container"; exit 1; }
if [ "$have_podman" = 1 ]; then
	start_podman vt-exit3 -- sh -c 'while [ ! -e /tmp/go ]; do sleep 0.1; done; exit 3' >/dev/null ||
		{ not_ok "podman run vt-exit3"; have_podman=0; }
fi
cat >"$TMP/v.ini" <<EOF
[alarm oom-mem]
metric = memory.used_pct
selector = name=vt-oom
period = 5s
threshold = 90
webhook = $HOOK_URL/oom-mem

[alarm exit-mem]
metric = memory.used_pct
selector = name=vt-exit3
period = 5s
threshold = 90
webhook = $HOOK_URL/exit-mem

# every point breaches (>= 0): ALARM as soon as the warm-up is over
[alarm warm]
metric = memory.used_pct
selector = name=vt-warm
period = 5s
comparison = >=
threshold = 0
warmup = ${WARMUP}s
webhook = $HOOK_URL/warm
EOF
alarm_serve "$TMP/serve.log" --config "$TMP/v.ini" --no-vms --log-level info --metric-interval 1s ||
	{ not_ok "the daemon starts"; cat "$TMP/serve.log"; exit 1; }

# gone_event NAME: the history of NAME has a state event "gone: ..." (prints its summary)
gone_event() {
	history "$1" --type state | jq -er '[.[] | select(.summary | startswith("gone: "))][0].summary' 2>/dev/null
}
has_gone() { gone_event "$1" >/dev/null; }

# ---- OOM-killed ----------------------------------------------------------------------------------------
wait_for 40 state_is oom-mem vt-oom OK
check_eq "oom-mem: the container is OK after its warm-up" OK "$(state oom-mem vt-oom)"
memcg=$(grep '/memory/' "$CT_STATE/vt-oom.cgroups" || grep -v '/cpu' "$CT_STATE/vt-oom.cgroups" | head -1)
oomfile=$memcg/memory.oom_control
[ -f "$oomfile" ] || oomfile=$memcg/memory.events
touch "$TMP/root/tmp/go"
wait_for 20 bash -c "grep -q '^oom_kill [1-9]' '$oomfile'"
check "the kernel's OOM killer ended the allocating process ($(grep '^oom_kill ' "$oomfile"))" \
	grep -q '^oom_kill [1-9]' "$oomfile"
# the daemon reads the OOM kills from the container's cgroup while it lives
# (its cgroup.oom_kills series): wait until it has, then stop the container
OOM_ID=$("$VANTAGE" systems --json --db "$DB" | jq -r '.[] | select(.name == "vt-oom") | .id')
oom_stored() {
	"$VANTAGE" metrics "$OOM_ID" cgroup.oom_kills --db "$DB" --since 10m --step 1s --stat max --json \
		2>/dev/null | jq -e '[.points[][1] // empty] | last // 0 | . >= 1' >/dev/null 2>&1
}
wait_for 20 oom_stored
check "the daemon stored the container's OOM kill (cgroup.oom_kills)" oom_stored
stop_unshare_container vt-oom
wait_for 30 has_gone oom-mem
g=$(gone_event oom-mem)
echo "# oom-mem: $g"
check "history: \"gone: exited ..., killed by the OOM killer\"" \
	bash -c "grep -Eq '^gone: exited.*killed by the OOM killer' <<<'$g'"
sj=$(state_json oom-mem vt-oom)
kept=$(jq -r .state <<<"$sj")
check "the state is kept ($kept: OK or ALARM, not INSUFFICIENT_DATA)" bash -c "[ '$kept' = OK ] || [ '$kept' = ALARM ]"
check_eq "... flagged gone" true "$(jq -r .gone <<<"$sj")"
check "... its reason is the gone reason" bash -c "jq -r .reason <<<'$sj' | grep -q 'killed by the OOM killer'"
check "vantage alarms: the row says $kept (gone)" bash -c \
	"'$VANTAGE' alarms --db '$DB' | grep -E '^oom-mem +vt-oom' | grep -qF '$kept (gone)'"
n_posts=$(jq -s '[.[] | select(.path == "/hook/oom-mem")] | length' "$HOOK_LOG")
# three periods later the gone state is still kept: no INSUFFICIENT_DATA from missing data
sleep 15
check_eq "15 s (3 periods) later: still $kept, gone" "$kept true" \
	"$(state_json oom-mem vt-oom | jq -r '"\(.state) \(.gone)"')"
check "... no change to INSUFFICIENT_DATA in the history" bash -c \
	"! '$VANTAGE' alarms --history oom-mem --type state --db '$DB' --json | jq -e 'any(.[]; .data.to == \"INSUFFICIENT_DATA\")' >/dev/null"
check_eq "... and no notification since it went (the state did not change)" "$n_posts" \
	"$(jq -s '[.[] | select(.path == "/hook/oom-mem")] | length' "$HOOK_LOG")"

# ---- podman: exited 3 ------------------------------------------------------------------------------------
if [ "$have_podman" = 1 ]; then
	wait_for 40 state_is exit-mem vt-exit3 OK
	check_eq "exit-mem: the podman container is OK after its warm-up" OK "$(state exit-mem vt-exit3)"
	ppid=$(podman inspect -f '{{.State.Pid}}' vt-exit3)
	touch "/proc/$ppid/root/tmp/go"
	wait_for 20 bash -c "[ \"\$(podman inspect -f '{{.State.Status}}' vt-exit3)\" = exited ]"
	check_eq "podman says it exited with 3" 3 "$(podman inspect -f '{{.State.ExitCode}}' vt-exit3)"
	wait_for 30 has_gone exit-mem
	g=$(gone_event exit-mem)
	echo "# exit-mem: $g"
	check_eq "history: \"gone: exited 3\"" "gone: exited 3" "$g"
	check_eq "the state is kept, flagged gone" "OK true" \
		"$(state_json exit-mem vt-exit3 | jq -r '"\(.state) \(.gone)"')"
	stop_podman vt-exit3
else
	not_ok "podman and runc are installed (scripts/setup.sh --tests installs them)"
fi

# ---- a new system starts in a warm-up ---------------------------------------------------------------
T0=$(date +%s.%N)
start_unshare_container vt-warm "$TMP/root" 'sleep 1000000' >/dev/null || not_ok "start vt-warm"
# its state: the alarm's selector (name=vt-warm) covers it alone, so its
# only state (looked up by neither system id nor name: `vantage systems`
# may learn the container's name only after the alarm has, and the warm-up
# lasts WARMUP - PERIOD s or so)
warm_state() {
	"$VANTAGE" alarms --db "$DB" --json 2>/dev/null |
		jq -c '.[] | select(.name == "warm") | .states[0] // empty' 2>/dev/null
}
# (jq -e on no input at all succeeds: the state must be there first)
warming() {
	local j
	j=$(warm_state)
	[ -n "$j" ] && jq -e '.warming == true' >/dev/null 2>&1 <<<"$j"
}
wait_for 30 warming
sj=$(warm_state)
echo "# warm: $sj"
check_eq "the new container: INSUFFICIENT_DATA, warming" "INSUFFICIENT_DATA true" \
	"$(jq -r '"\(.state) \(.warming)"' <<<"$sj")"
check "... the reason says how long is left" bash -c \
	"jq -r .reason <<<'$sj' | grep -Eq '^warming up \([0-9]+ s left\)$'"
wait_for $((WARMUP + 20)) state_is warm vt-warm ALARM
T_ALARM=$(date +%s.%N)
check_eq "after the warm-up: ALARM" ALARM "$(state warm vt-warm)"
wait_for 10 posts_ge firing 1 /hook/warm
check_eq "... announced: one firing POST" 1 "$(posts firing /hook/warm)"
t_post=$(jq -s -r '[.[] | select(.path == "/hook/warm")][0].t' "$HOOK_LOG")
# the warm-up counts from the start of the period of the first point: up to one period early
check "... the POST came no earlier than the warm-up ($WARMUP s) less a period ($PERIOD s) after the container started ($(awk -v a="$t_post" -v b="$T0" 'BEGIN{printf "%.1f", a - b}') s)" \
	awk -v a="$t_post" -v b="$T0" -v w="$((WARMUP - PERIOD))" 'BEGIN { exit !(a - b >= w) }'
history warm >"$TMP/hwarm.json"
jq -r '.[] | "#   \(.time) \(.type) \(.summary)"' "$TMP/hwarm.json" | tail -n 8
check "history: the warm-up is recorded (a state event \"warming up (N s left)\", no action)" jq -e \
	'any(.[]; .type == "state" and (.summary | test("^warming up \\([0-9]+ s left\\)$")))' "$TMP/hwarm.json"
check "history: INSUFFICIENT_DATA -> ALARM after it" jq -e \
	'any(.[]; .type == "state" and .data.from == "INSUFFICIENT_DATA" and .data.to == "ALARM")' "$TMP/hwarm.json"
to_s() { date -d "$1" +%s.%N; }
t_change=$(to_s "$(jq -r '[.[] | select(.type == "state" and .data.to == "ALARM")][0].time' "$TMP/hwarm.json")")
check "... at least the warm-up less a period after the container started ($(awk -v a="$t_change" -v b="$T0" 'BEGIN{printf "%.1f", a - b}') s)" \
	awk -v a="$t_change" -v b="$T0" -v w="$((WARMUP - PERIOD))" 'BEGIN { exit !(a - b >= w) }'
check "history: no webhook attempt before that change" jq -e --argjson t "$t_change" \
	'all(.[]; .type != "action" or .data.action != "webhook" or (.time | sub("\\.[0-9]+Z$"; "Z") | fromdate) >= ($t | floor))' "$TMP/hwarm.json"
hook_ok() { history_has warm '.type == "action" and .data.action == "webhook" and .data.ok == true and .data.status == 200'; }
wait_for 10 hook_ok
check "history: the webhook's outcome for the ALARM (ok, status 200)" hook_ok

check "the daemon logged no error" bash -c "! grep -q ': error:' '$TMP/serve.log'"
kill -TERM "$SERVE_PID"
wait_for 15 bash -c "! kill -0 $SERVE_PID 2>/dev/null"
check "the daemon stops on SIGTERM" bash -c "! kill -0 $SERVE_PID 2>/dev/null"
