#!/usr/bin/env bash
# Alarms on a VM, with no agent in the guest (issue 12): a real QEMU guest
# (vm_lib.sh: Debian's kernel, a busybox initramfs, a command channel), a
# real daemon, a python3 webhook receiver.
#   - an alarm on the VM's memory.used_pct (PUT through the API, threshold
#     25 points above what the guest uses at rest): a process in the guest
#     holds 120 MiB of its 256 MiB -> ALARM within two periods, from the
#     guest's memory alone (read from its RAM), and the receiver gets the
#     firing POST; the process ended -> OK;
#   - QEMU stopped: the alarm's history has "gone: VM shut down", the state
#     is kept and flagged gone.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/vm_lib.sh"
source "$(dirname "$0")/alarms_lib.sh"

command -v curl >/dev/null || { not_ok "curl is installed"; exit 1; }
command -v jq >/dev/null || { not_ok "jq is installed"; exit 1; }
DB=$TMP/v.db
PORT=$(free_port)
API=http://127.0.0.1:$PORT
export VANTAGE_CACHE_DIR=$TMP/cache
PERIOD=5

VM_CONTROL=1
if ! vm_start avm 256M "" || ! vm_wait_ready 180; then
	not_ok "the guest booted"
	exit 1
fi
ok "the guest booted ($VM_KVER)"
VID=vm:$VM_UUID
alarm_hook_start
alarm_serve "$TMP/serve.log" --no-containers --log-level info --metric-interval 1s ||
	{ not_ok "the daemon starts"; cat "$TMP/serve.log"; exit 1; }

# used_pct: the guest's latest stored memory.used_pct (empty when none)
used_pct() {
	curl -sf "$API/api/v1/systems/$VID/metrics/memory.used_pct?since=1m&step=1s" 2>/dev/null |
		jq -r '[.points[][1] // empty] | last // empty' 2>/dev/null
}
has_used() { [ -n "$(used_pct)" ]; }
wait_for 60 has_used
U0=$(used_pct)
check "the daemon stores the guest's memory.used_pct ($U0 %)" test -n "$U0"
T=$(awk -v u="${U0:-0}" 'BEGIN { printf "%.0f", u + 25 }')
body="{\"metric\":\"memory.used_pct\",\"system\":\"$VID\",\"period\":\"${PERIOD}s\",\"comparison\":\">\",\"threshold\":$T,\"webhook\":\"$HOOK_URL/vm-mem\"}"
code=$(curl -s -o "$TMP/put.json" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
	--data "$body" "$API/api/v1/alarms/vm-mem")
check_eq "PUT /api/v1/alarms/vm-mem (memory.used_pct > $T on $VID): 200" 200 "$code"
NAME=$(curl -s "$API/api/v1/systems?gone=any" | jq -r --arg id "$VID" '.systems[] | select(.id == $id) | .name')
echo "# the guest's system name: $NAME"
wait_for 60 state_is vm-mem "$NAME" OK
check_eq "vm-mem: OK at rest" OK "$(state vm-mem "$NAME")"

# ---- the guest uses memory: ALARM from its RAM alone -------------------------------------------
# dd fills a 120 MiB buffer from /dev/zero, then blocks writing it to a
# pipe nobody reads: the memory stays in use until dd is killed.
vm_exec alloc 'dd if=/dev/zero bs=120M count=1 2>/dev/null | sleep 1000004 & sleep 3; free -m' 60 ||
	not_ok "vm_exec: allocate in the guest"
echo "# in the guest: $(vm_truth exec-alloc | grep -i '^mem' | tr -s ' ')"
T_BREACH=$(date +%s.%N)
wait_for $((2 * PERIOD + 10)) state_is vm-mem "$NAME" ALARM
echo "# used_pct now: $(used_pct) (threshold $T); ALARM after $(awk -v b="$T_BREACH" -v n="$(date +%s.%N)" 'BEGIN{printf "%.1f", n - b}') s"
check_eq "120 MiB used in the guest: vm-mem ALARM within two periods" ALARM "$(state vm-mem "$NAME")"
wait_for 10 posts_ge firing 1 /hook/vm-mem
check_eq "... the receiver got the firing POST" 1 "$(posts firing /hook/vm-mem)"
check_eq "... for the VM" "vm-mem $VID" \
	"$(jq -s -r '[.[] | select(.path == "/hook/vm-mem")][0].body.alerts[0].labels | "\(.alertname) \(.system)"' "$HOOK_LOG")"
vm_exec free 'kill $(pidof dd); sleep 2; free -m' 60 || not_ok "vm_exec: free in the guest"
wait_for $((2 * PERIOD + 10)) state_is vm-mem "$NAME" OK
check_eq "dd killed: OK again" OK "$(state vm-mem "$NAME")"

# ---- QEMU stopped: gone, "VM shut down" ------------------------------------------------------------
vm_stop
gone_event() {
	history vm-mem --type state | jq -er '[.[] | select(.summary | startswith("gone: "))][0].summary' 2>/dev/null
}
wait_for 30 gone_event >/dev/null
check_eq "history: \"gone: VM shut down\"" "gone: VM shut down" "$(gone_event)"
check_eq "the state is kept (OK), flagged gone" "OK true" \
	"$(state_json vm-mem "$NAME" | jq -r '"\(.state) \(.gone)"')"

check "the daemon logged no error" bash -c "! grep -q ': error:' '$TMP/serve.log'"
kill -TERM "$SERVE_PID"
wait_for 15 bash -c "! kill -0 $SERVE_PID 2>/dev/null"
check "the daemon stops on SIGTERM" bash -c "! kill -0 $SERVE_PID 2>/dev/null"
