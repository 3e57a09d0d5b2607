#!/usr/bin/env bash
# A VM's kernel log read from its RAM (issue 16, docs/logs.md).  One
# guest (Debian's 6.1 kernel under TCG, vm_lib.sh) whose init writes a
# marker line at level 3 to /dev/kmsg and goes idle; it has no network at
# all, so the log can only come from its RAM.
#   - klog_tool (src/vmi/klog.c) reads the ring from the RAM file: the
#     marker with its level, the kernel's boot lines, records in sequence
#     order, the same with the known layout as with BTF's offsets; the
#     guest's own `dmesg -r` agrees (level and text); a second
#     read from the first one's cursor gives only what was logged since;
#   - `vantage serve` watching the guest stores its records as "kmsg" lines
#     (checked in the store with sqlite3): as many as the ring holds, the
#     marker once, at level 3, stamped near the guest's clock; markers
#     written later are added once each; a restart of serve adds nothing
#     already stored (the cursor is in the store), and a marker written
#     while it was down comes in after.
#   - the guest's serial console is a file (vm_lib.sh: -serial file:$VM_LOG,
#     console=ttyS0): serve stores its lines as "console" lines, "\r\n"
#     ended as a tty writes them, each once: the kernel's messages printed on
#     ttyS0 (the level 3 marker), what init prints, a marker echoed to
#     /dev/ttyS0 later; all the file's complete lines, none twice, also
#     after a restart of serve.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/vm_lib.sh"
cd "$(dirname "$0")/../.."
need_testbin klog_tool
KLOG=$TESTBIN/klog_tool
export VANTAGE_CACHE_DIR=$TMP/cache
MARK=vantage-klog-marker-$RANDOM$RANDOM
start_ms=$(($(date +%s%N) / 1000000))
VM_CONTROL=1

if ! vm_kernel || ! vm_initramfs "$TMP/initrd.gz" "echo '<3>$MARK-boot' >/dev/kmsg"; then
	not_ok "guest kernel and initramfs"
	exit 1
fi
VM_INITRD=$TMP/initrd.gz
vm_start klog 256M ""
if ! vm_wait_ready 150; then
	not_ok "the guest booted"
	exit 1
fi
ok "the guest ($VM_KVER) booted"

# ---- read from the RAM file ---------------------------------------------------------
"$KLOG" "$VM_RAM" >"$TMP/k1" 2>"$TMP/k1.err"
check_eq "klog_tool reads the ring (exit 0)" 0 $?
grep -q . "$TMP/k1.err" && sed 's/^/#   /' "$TMP/k1.err"
recs() { awk '$1 == "rec"' "$1"; }
check_eq "the marker, once, at level 3" "3 $MARK-boot" \
	"$(recs "$TMP/k1" | awk -v m="$MARK-boot" '$5 == m && NF == 5 { print $3, $5 }')"
check "the kernel's first line: 'Linux version $VM_KVER' at seq 0" \
	grep -q "^rec 0 5 0 Linux version $VM_KVER " "$TMP/k1"
check "the kernel's boot lines are there (Command line, the initramfs)" \
	sh -c "grep -q '^rec [0-9]* [0-7] [0-9]* Command line: ' '$TMP/k1' &&
	       grep -q 'Freeing initrd memory\|Unpacking initramfs\|Trying to unpack rootfs' '$TMP/k1'"
n1=$(recs "$TMP/k1" | wc -l)
next1=$(awk '$1 == "next" { print $2 }' "$TMP/k1")
check_eq "records in sequence order, each once, none missing ($n1 records, next $next1)" \
	"$(seq 0 $((${next1:-1} - 1)))" "$(recs "$TMP/k1" | cut -d' ' -f2)"

"$KLOG" --known-layout "$VM_RAM" >"$TMP/k1.known" 2>&1
check "the known layout (BTF offsets ignored) reads the same records" cmp -s "$TMP/k1" "$TMP/k1.known"

# the guest's own view: busybox dmesg -r prints "<L>[ secs] text" per record
# (lines of a multi-line record after the first have no "<")
vm_exec d1 'dmesg -r' 60 >/dev/null
vm_truth exec-d1 | sed -n 's/^<\([0-7]\)>\[ *[0-9.]*\] \(.*\)$/\1 \2/p' | grep -v '[^ -~]' |
	tail -n 60 >"$TMP/dmesg.truth"
recs "$TMP/k1" | cut -d' ' -f3,5- | grep -v '\\x' >"$TMP/k1.lt"
missing=$(grep -vxFf "$TMP/k1.lt" "$TMP/dmesg.truth" | head -5)
check "the guest's dmesg: its last $(wc -l <"$TMP/dmesg.truth") lines, level and text, all read" \
	test -s "$TMP/dmesg.truth" -a -z "$missing"
[ -n "$missing" ] && echo "$missing" | sed 's/^/#   not read: /'

# a second poll from the cursor: only the new records
vm_exec m2 "echo '<4>$MARK-two' >/dev/kmsg" 30 >/dev/null
"$KLOG" "$VM_RAM" "$next1" >"$TMP/k2"
first2=$(recs "$TMP/k2" | head -1 | cut -d' ' -f2)
check "second poll starts at the cursor ($next1)" test "${first2:-x}" = "$next1"
check_eq "second poll: the new marker at level 4" "4 $MARK-two" \
	"$(recs "$TMP/k2" | awk -v m="$MARK-two" '$5 == m { print $3, $5 }')"
check_eq "second poll: nothing read twice" "" \
	"$(recs "$TMP/k2" | awk -v n="$next1" '$2 < n')"

# ---- vantage serve stores them --------------------------------------------------------
db=$TMP/serve.db
port=$(free_port)
spid=
serve_start() {
	"$VANTAGE" serve --db "$db" --listen "127.0.0.1:$port" --metric-interval 1s \
		--no-containers 2>>"$TMP/serve.log" &
	spid=$!
	on_exit "kill -9 $spid 2>/dev/null"
}
serve_stop() { kill -TERM "$spid" 2>/dev/null && wait "$spid"; }
q() { sqlite3 -batch "$db" "PRAGMA busy_timeout = 5000; $1" 2>/dev/null | tail -n +2; }
kmsg_where() { # SQL condition on log_lines l: count of the guest's kmsg lines
	q "SELECT count(*) FROM log_lines l JOIN log_sources s ON s.id = l.src
	   WHERE s.system = 'vm:$VM_UUID' AND s.source = 'kmsg' AND ($1)"
}
stored() { [ "$(kmsg_where "l.line = '$1'")" = "${2:-1}" ]; }
console_where() { # the same for the guest's console lines
	q "SELECT count(*) FROM log_lines l JOIN log_sources s ON s.id = l.src
	   WHERE s.system = 'vm:$VM_UUID' AND s.source = 'console' AND ($1)"
}
console_has() { [ "$(console_where "l.line LIKE '%$1%'")" = 1 ]; }
# the console file's complete lines (empty ones too), "\r" removed: the stored ones
console_text() { tr -d '\r' <"$VM_LOG" | head -n "$(tr -cd '\n' <"$VM_LOG" | wc -c)"; }
console_check() { # LABEL: every complete line of the file stored once (guest idle)
	local want got
	want=$(console_text | wc -l)
	got=$(console_where 1)
	check_eq "$1: the console file's $want lines stored, once each" "$want" "$got"
	if [ "$want" != "$got" ]; then
		console_text | sort >"$TMP/cons.file"
		q "SELECT l.line FROM log_lines l JOIN log_sources s ON s.id = l.src
		   WHERE s.system = 'vm:$VM_UUID' AND s.source = 'console'" | sort >"$TMP/cons.db"
		diff "$TMP/cons.file" "$TMP/cons.db" | head -10 | sed 's/^/#   /'
	fi
}
# the records the ring holds now with text (empty ones are not stored)
ring_lines() { "$KLOG" "$VM_RAM" | grep -c '^rec [0-9]* [0-7] [0-9]* .'; }

serve_start
t0=$SECONDS
if wait_for 60 stored "$MARK-boot"; then
	ok "serve: the guest's kernel log is stored (after $((SECONDS - t0)) s)"
else
	not_ok "serve: the guest's kernel log is stored"
	tail -n 20 "$TMP/serve.log" | sed 's/^/#   /'
fi
if wait_for 20 console_has VANTAGE-READY; then
	ok "serve: the guest's console is stored (source console)"
else
	not_ok "serve: the guest's console is stored (source console)"
	q "SELECT system, source, key FROM log_sources" | sed 's/^/#   source: /'
fi
check "serve console: the kernel's level 3 marker printed on ttyS0, once" console_has "] $MARK-boot"
check_eq "serve console: no line keeps the tty's CR" 0 \
	"$(console_where "instr(l.line, char(13)) > 0 OR l.line LIKE '%\\x0d'")"
check_eq "serve: the boot marker at level 3" 1 "$(kmsg_where "l.line = '$MARK-boot' AND l.level = 3")"
check_eq "serve: the second marker at level 4" 1 "$(kmsg_where "l.line = '$MARK-two' AND l.level = 4")"
check_eq "serve: 'Linux version' at level 5" 1 \
	"$(kmsg_where "l.line LIKE 'Linux version $VM_KVER %' AND l.level = 5")"
# time: the guest's boot time plus the record's timestamp (its clock is the host's)
now_ms=$(($(date +%s%N) / 1000000))
check "serve: 'Linux version' stamped at the guest's boot (after this test began)" \
	test "$(kmsg_where "l.line LIKE 'Linux version%' AND l.t BETWEEN $start_ms - 60000 AND $now_ms")" = 1
check "serve: the marker stamped within 2 min of now" \
	test "$(kmsg_where "l.line = '$MARK-boot' AND abs(l.t - $now_ms) < 120000")" = 1
# none twice, none lost: the guest paused, serve polls once more
vm_qmp stop >/dev/null
sleep 2.5 # two metric intervals: serve polls the paused guest, nothing new
total=$(kmsg_where 1)
console_check "serve console (guest paused)"
check_eq "serve: every record of the ring with text stored, once" "$(ring_lines)" "$total"
vm_qmp cont >/dev/null

vm_exec m3 "for i in 1 2 3; do echo \"<6>$MARK-n\$i\" >/dev/kmsg; done; echo $MARK-tty >/dev/ttyS0" 30 >/dev/null
wait_for 20 stored "$MARK-n3"
wait_for 10 console_has "$MARK-tty"
check "serve console: a line echoed to /dev/ttyS0 later is stored once" console_has "$MARK-tty"
for i in 1 2 3; do
	check "serve: new marker n$i stored once" stored "$MARK-n$i"
done
sleep 2.5 # more polls: nothing is added twice
check_eq "serve: only the new records were added" "$((total + 3))" "$(kmsg_where 1)"

# ---- a restart of serve: the cursor is in the store ------------------------------------
serve_stop
check_eq "serve exits 0 on SIGTERM" 0 $?
check "serve: the cursor is in the store" \
	test -n "$(q "SELECT pos FROM log_sources WHERE system = 'vm:$VM_UUID' AND source = 'kmsg'")"
vm_exec m4 "echo '<2>$MARK-down' >/dev/kmsg" 30 >/dev/null
serve_start
wait_for 60 stored "$MARK-down"
check "serve restarted: the marker written while it was down is stored" stored "$MARK-down"
check_eq "serve restarted: nothing stored twice" "$((total + 4))" "$(kmsg_where 1)"
check_eq "serve restarted: the boot marker still once" 1 "$(kmsg_where "l.line = '$MARK-boot'")"
# (the level 2 marker written while serve was down is checked in the kernel's log above; on
# the console only that every complete line of the file is stored once, by console_check)
sleep 1
console_check "serve restarted console"
serve_stop
vm_stop
