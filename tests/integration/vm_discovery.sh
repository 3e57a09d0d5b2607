#!/usr/bin/env bash
# VM discovery and QMP with a real QEMU guest (one boot, see vm_lib.sh):
# `vantage ls` lists the guest with its name, uuid, memory, RAM file, QEMU
# pid and QMP socket; the host address it reports for the guest RAM holds
# the same bytes as the RAM file; src/vmi/qmp.c (through qmp_tool.c)
# stops and resumes the guest and query-status follows, confirmed by an
# independent client (vm_qmp).  Then a QEMU that never runs its guest (-S)
# with anonymous RAM, other option forms (-name guest=..., -M pc, -m 192)
# and a libvirt status file naming it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/vm_lib.sh"
cd "$(dirname "$0")/../.."

need_testbin qmp_tool
TOOL=$TESTBIN/qmp_tool
ok "the QMP driver is built (make unit: build/tests/qmp_tool)"

if ! vm_start disc 256M "" || ! vm_wait_ready 150; then
	not_ok "boot the guest"
	exit 1
fi
ok "boot the guest"

# ---- vantage ls ----------------------------------------------------------------
$VANTAGE ls --json >"$TMP/ls.json" 2>"$TMP/ls.err"
check_eq "ls --json exits 0" 0 $?
jq -c --arg n disc 'select(.kind == "vm" and .name == $n)' "$TMP/ls.json" >"$TMP/vm.json"
check_eq "the guest is listed once" 1 "$(wc -l <"$TMP/vm.json")"
field() { jq -r ".$1" "$TMP/vm.json"; }
check_eq "id is vm:<uuid>" "vm:$VM_UUID" "$(field id)"
check_eq "uuid" "$VM_UUID" "$(field uuid)"
check_eq "runtime" qemu "$(field runtime)"
check_eq "QEMU pid" "$VM_PID" "$(field pid)"
check_eq "memory" 268435456 "$(field mem_bytes)"
check_eq "machine" q35 "$(field machine)"
check_eq "backend" file "$(field backend)"
check_eq "RAM file" "$VM_RAM" "$(field ram_path)"
check_eq "QMP socket" "$VM_QMP" "$(field qmp)"
check_eq "kernel" "$VM_VMLINUZ" "$(field kernel)"
check_eq "procs is null" null "$(field procs)"
check_eq "RAM found by its mem-path" mem-path "$(field ram_how)"
check_eq "RAM mapping length" 268435456 "$(field ram_len)"
maps_start=$(awk -v p="$VM_RAM" '$6 == p { split($1, a, "-"); print a[1]; exit }' "/proc/$VM_PID/maps")
check_eq "RAM address is the RAM file's mapping" "$((16#${maps_start:-0}))" "$(field ram_addr)"
# containers come before VMs, the host first
check_eq "host row first" host "$(head -1 "$TMP/ls.json" | jq -r .kind)"
check "VMs after containers" bash -c "jq -r .kind '$TMP/ls.json' | awk '/vm/ {v=1} v && !/vm/ {exit 1}'"
$VANTAGE ls >"$TMP/ls.txt"
check "table row: ID KIND RUNTIME NAME ... STATE" \
	grep -qE "^${VM_UUID:0:12} +vm +qemu +disc +- +- +running$" "$TMP/ls.txt"
$VANTAGE ls --no-trunc >"$TMP/ls-full.txt"
check "table --no-trunc shows the whole uuid" grep -q "^$VM_UUID " "$TMP/ls-full.txt"
$VANTAGE ls --help >"$TMP/help.txt"
check "ls --help mentions VMs" grep -q "QEMU virtual machine" "$TMP/help.txt"

# ---- QMP: stop, compare memory, cont --------------------------------------------
check_eq "qmp.c: status running" running "$("$TOOL" "$VM_QMP" status 2>&1)"
check_eq "qmp.c: stop" "{}" "$("$TOOL" "$VM_QMP" stop 2>&1)"
check_eq "qmp.c: status paused" paused "$("$TOOL" "$VM_QMP" status 2>&1)"
check_eq "other client sees it paused" paused "$(vm_qmp query-status | jq -r .status)"
check_eq "ls still lists the paused guest" 1 \
	"$($VANTAGE ls --json | jq -c 'select(.kind == "vm" and .name == "disc")' | wc -l)"
# the bytes at the reported host address are the guest's RAM: compare the
# kernel banner in the RAM file with the same offset through /proc/PID/mem
addr=$(field ram_addr)
off=$(grep -obUa -m1 "Linux version 6\.1" "$VM_RAM" | head -1 | cut -d: -f1)
if [ -n "$off" ]; then
	from_file=$(dd if="$VM_RAM" bs=1 skip="$off" count=96 status=none | od -An -tx1 | tr -d ' \n')
	from_mem=$(dd if="/proc/$VM_PID/mem" iflag=skip_bytes,count_bytes skip=$((addr + off)) \
		count=96 bs=96 status=none 2>/dev/null | od -An -tx1 | tr -d ' \n')
	check_eq "guest RAM at ram_addr matches the RAM file (banner at $off)" "$from_file" "$from_mem"
else
	not_ok "kernel banner found in the RAM file"
fi
check_eq "qmp.c: cont" "{}" "$("$TOOL" "$VM_QMP" cont 2>&1)"
check_eq "qmp.c: status running again" running "$("$TOOL" "$VM_QMP" status 2>&1)"
"$TOOL" "$VM_QMP" no-such-command >/dev/null 2>"$TMP/err"
check_eq "qmp.c: unknown command fails" 1 $?
check "qmp.c: the error names the class" grep -q "CommandNotFound" "$TMP/err"
"$TOOL" "$VM_QMP" query-name >"$TMP/qn" 2>&1
check_eq "qmp.c: a command with a return value" disc "$(jq -r .name "$TMP/qn")"
"$TOOL" "$TMP/nope.sock" status >/dev/null 2>"$TMP/err"
check "qmp.c: a missing socket is an error" grep -q "No such file" "$TMP/err"
vm_stop
check "the RAM file is removed" test ! -e "$VM_RAM"
check "the guest is gone from ls" bash -c "! $VANTAGE ls --json | jq -e 'select(.name == \"disc\")' >/dev/null"

# ---- anonymous RAM, other option forms, libvirt ------------------------------------
# a QEMU stopped before its first instruction (-S): no guest runs
anon_uuid=$(vm_uuid anon)
qemu-system-x86_64 -accel tcg -S -m 192 -M pc -display none -monitor none -nic none \
	-name guest=anon-vm,,x,debug-threads=on -uuid "${anon_uuid^^}" \
	-qmp "unix:$TMP/anon.qmp,server,nowait" </dev/null >"$TMP/anon.out" 2>&1 &
APID=$!
on_exit "kill -9 $APID"
wait_for 10 test -S "$TMP/anon.qmp"
check_eq "qmp.c: a -S guest is prelaunch" prelaunch "$("$TOOL" "$TMP/anon.qmp" status 2>&1)"
$VANTAGE ls --json | jq -c --argjson p "$APID" 'select(.kind == "vm" and .pid == $p)' >"$TMP/anon.json"
check_eq "anon: name from guest=, with ,, unescaped" "anon-vm,x" "$(jq -r .name "$TMP/anon.json")"
check_eq "anon: uuid in lowercase" "$anon_uuid" "$(jq -r .uuid "$TMP/anon.json")"
check_eq "anon: -m 192 is MiB" $((192 << 20)) "$(jq -r .mem_bytes "$TMP/anon.json")"
check_eq "anon: machine" pc "$(jq -r .machine "$TMP/anon.json")"
check_eq "anon: no RAM file" "" "$(jq -r .ram_path "$TMP/anon.json")"
check_eq "anon: RAM found by its size" size "$(jq -r .ram_how "$TMP/anon.json")"
check_eq "anon: RAM length" $((192 << 20)) "$(jq -r .ram_len "$TMP/anon.json")"
anon_start=$(printf '%x' "$(jq -r .ram_addr "$TMP/anon.json")")
check "anon: RAM address is an rw-p anonymous mapping of QEMU" \
	grep -qE "^0*$anon_start-[0-9a-f]+ rw-p 00000000 00:00 0 *$" "/proc/$APID/maps"
if [ ! -e /run/libvirt ]; then
	on_exit "rm -rf /run/libvirt"
	mkdir -p /run/libvirt/qemu
	cat >/run/libvirt/qemu/lv-test.xml <<-EOF
		<!-- WARNING: generated by vantage's vm_discovery test -->
		<domstatus state='paused' reason='user' pid='$APID'>
		  <monitor path='/var/lib/libvirt/qemu/domain-9-lv/monitor.sock' type='unix'/>
		  <domain type='kvm' id='9'>
		    <name>lv-guest</name>
		    <uuid>$anon_uuid</uuid>
		    <memory unit='KiB'>196608</memory>
		  </domain>
		</domstatus>
	EOF
	$VANTAGE ls --json | jq -c --argjson p "$APID" 'select(.kind == "vm" and .pid == $p)' \
		>"$TMP/lv.json"
	check_eq "libvirt: runtime" libvirt "$(jq -r .runtime "$TMP/lv.json")"
	check_eq "libvirt: name from the domain XML" lv-guest "$(jq -r .name "$TMP/lv.json")"
	check_eq "libvirt: state from domstatus" paused "$(jq -r .state "$TMP/lv.json")"
	check_eq "libvirt: the command line's QMP socket is kept" "$TMP/anon.qmp" \
		"$(jq -r .qmp "$TMP/lv.json")"
	rm -rf /run/libvirt
else
	ok "libvirt: skipped, /run/libvirt exists on this host # SKIP"
fi
kill $APID # QEMU exits on SIGTERM; the on_exit SIGKILL is for a failed test
wait $APID 2>/dev/null
true
