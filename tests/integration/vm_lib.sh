# Fixtures for tests with a real QEMU guest (sourced after lib.sh).
# Debian's 6.1 kernel under software emulation with a busybox initramfs, as in
# ../shared/notes/fixtures.md.  One guest at a time (two cores are shared).
#
#   vm_kernel                 ensure a guest kernel in the cache dir
#                             ${VANTAGE_FIXTURES:-/var/cache/vantage-fixtures}:
#                             apt-get download the newest linux-image-6.1.0-N-amd64
#                             when no .deb is there, dpkg -x it once.  Sets VM_KVER,
#                             VM_VMLINUZ, VM_MODDIR (.../lib/modules/$VM_KVER).
#   vm_initramfs OUT [SNIPPET]
#                             a busybox initramfs (gzip'd newc cpio) whose /init
#                             mounts proc/sys/devtmpfs, sets the hostname
#                             ($VM_HOSTNAME, default vantage-guest) and domain name
#                             ($VM_DOMAIN, default vantage.test), brings lo up and
#                             dummy0 up (10.11.12.13/24, MAC 02:56:41:4e:54:01),
#                             insmods $VM_MODULES (default: dummy nlmon crc8, all
#                             free of dependencies), starts the known processes
#                             below, runs SNIPPET (sh code), prints the ground
#                             truth to the console and then "VANTAGE-READY", and
#                             reaps children forever.
#   vm_start NAME MEM APPEND [MACHINE]
#                             start qemu-system-x86_64 in the background (tcg, -cpu
#                             max, 1 CPU, RAM in /dev/shm/vantage-NAME.mem, share=on,
#                             MACHINE default q35, serial console to a log, QMP on a
#                             unix socket, -name NAME, -uuid a fixed uuid per NAME).
#                             APPEND is added to "console=ttyS0 panic=-1 quiet".
#                             Uses $VM_INITRD (built with vm_initramfs if unset).
#                             Sets VM_NAME VM_PID VM_RAM VM_QMP VM_LOG VM_UUID VM_MEM.
#   vm_wait_ready [SECONDS]   wait (default 120 s) for VANTAGE-READY on the console;
#                             returns 1 with the log tail on stderr when QEMU exits
#                             or time runs out
#   vm_truth SECTION [LOG]    one ground-truth section of the console log, \r removed.
#                             Sections: ps modules netstat proc_net hostname
#                             domainname uname meminfo loadavg uptime links
#                             net_dev kallsyms (a few key symbols; all of
#                             /proc/kallsyms when VM_KALLSYMS=full), extra (what
#                             VM_TRUTH_EXTRA, sh code, prints)
#   vm_qmp CMD [ARGS_JSON]    one QMP command; prints the "return" value as JSON
#                             (or the error object, with status 1)
#   vm_uuid NAME              the fixed uuid vm_start gives NAME
#   vm_stop                   kill QEMU, remove the RAM file and the socket
#                             (registered with on_exit by vm_start, so nothing
#                             leaks when a test fails)
#
# Options (environment, read by vm_initramfs / vm_start):
#   VM_RAM_BACKEND=anon       plain -m RAM, no memory-backend-file: no RAM file
#                             (VM_RAM empty), guest RAM only in QEMU's memory
#                             (read through /proc/PID/mem)
#   VM_CONTROL=1              a command channel: vm_initramfs starts a reader
#                             of /dev/ttyS1 (a subshell of /init, so it is in
#                             the ps truth: "/bin/sh /init", ppid 1), vm_start
#                             adds a second serial port on a unix socket
#                             ($VM_STATE/NAME.ctl, VM_CTL).  Both must agree.
#   vm_exec ID CMD [SECONDS]  (VM_CONTROL) run sh code CMD in the guest (under
#                             the reader; `CMD &` leaves it running) and wait
#                             (default 60 s) until it is done; its output is
#                             the console section exec-ID (vm_truth exec-ID)
#   vm_snapshot_save          stop the running guest, copy its RAM file and
#                             console log to the shared snapshot
#                             ($VM_CACHE/snap/guest-KVER-HASH.{mem,log}, HASH
#                             of this file), resume it; older snapshots go
#   vm_snapshot               ensure that snapshot (boot a default guest, q35
#                             256M KASLR, when it is missing): sets VM_SNAP_MEM
#                             and VM_SNAP_LOG.  Suites share one boot this way.
#
# Known guest processes (distinctive argv): sleep 1000001; httpd -p 8080 -h /www
# (listens on :: or 0.0.0.0, runs as www, uid 33); httpd -p 127.0.0.1:8081 -h /www;
# nc -l -p 9090 (listener); nc -l -p 9091 with a loopback client
# "nc 127.0.0.1 9091" fed by "sleep 1000002" (an ESTABLISHED pair); syslogd -n -R
# 127.0.0.1:5140 (an unconnected UDP socket once logger has written); udhcpd -f
# on lo (UDP 0.0.0.0:67).  PID 1 is "/bin/sh /init" followed by any kernel
# command line words the kernel did not know (e.g. "nokaslr no5lvl").  The
# ps section also shows its own transient "ps" and "cat" rows; they are gone
# once VANTAGE-READY is printed.  State lives in $TMP/vm/.

VM_CACHE=${VANTAGE_FIXTURES:-/var/cache/vantage-fixtures}
VM_STATE=$TMP/vm
mkdir -p "$VM_STATE"
VM_PID=
VM_HOSTNAME=${VM_HOSTNAME:-vantage-guest}
VM_DOMAIN=${VM_DOMAIN:-vantage.test}
VM_MODULES=${VM_MODULES:-dummy nlmon crc8}

_vm_log() { echo "# vm: $*" >&2; }

vm_kernel() {
	local deb pkg ver dir
	mkdir -p "$VM_CACHE" || return 1
	deb=$(ls -1 "$VM_CACHE"/linux-image-6.1.*-amd64_*.deb 2>/dev/null | grep -v -e -dbg -e -rt- -e -cloud- \
		-e -unsigned | sort -V | tail -1)
	if [ -z "$deb" ]; then
		pkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null |
			awk '{print $1}' | sort -V | tail -1)
		[ -n "$pkg" ] || { _vm_log "no linux-image-6.1.0-*-amd64 package known to apt"; return 1; }
		(cd "$VM_CACHE" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
			{ _vm_log "apt-get download $pkg failed"; return 1; }
		deb=$(ls -1 "$VM_CACHE"/"$pkg"_*.deb | sort -V | tail -1)
	fi
	dir=$VM_CACHE/$(basename "$deb" .deb)
	if [ ! -e "$dir/.unpacked" ]; then
		rm -rf "$dir.tmp" && mkdir -p "$dir.tmp" && dpkg -x "$deb" "$dir.tmp" ||
			{ _vm_log "dpkg -x $deb failed"; rm -rf "$dir.tmp"; return 1; }
		rm -rf "$dir" && mv "$dir.tmp" "$dir" && touch "$dir/.unpacked" || return 1
	fi
	ver=$(ls -1 "$dir/lib/modules" | sort -V | tail -1)
	[ -n "$ver" ] && [ -f "$dir/boot/vmlinuz-$ver" ] || { _vm_log "no vmlinuz in $dir"; return 1; }
	VM_KVER=$ver
	VM_VMLINUZ=$dir/boot/vmlinuz-$ver
	VM_MODDIR=$dir/lib/modules/$ver
}

# _vm_module NAME DESTDIR: copy module NAME (.ko or .ko.xz/.ko.zst) as DEST/NAME.ko
_vm_module() {
	local f
	f=$(find "$VM_MODDIR/kernel" -name "$1.ko" -o -name "$1.ko.xz" -o -name "$1.ko.zst" | head -1)
	[ -n "$f" ] || { _vm_log "module $1 not found in $VM_MODDIR"; return 1; }
	if [ -n "$(modinfo -F depends "$f" 2>/dev/null)" ]; then
		_vm_log "module $1 has dependencies: $(modinfo -F depends "$f")"
		return 1
	fi
	case $f in
	*.xz) xz -dc "$f" >"$2/$1.ko" ;;
	*.zst) zstd -qdc "$f" >"$2/$1.ko" ;;
	*) cp "$f" "$2/$1.ko" ;;
	esac
}

vm_initramfs() {
	local out=$1 snippet=${2:-} root bb m
	[ -n "${VM_MODDIR:-}" ] || vm_kernel || return 1
	bb=$(command -v busybox) || { _vm_log "busybox not installed"; return 1; }
	root=$(mktemp -d "$VM_STATE/initramfs.XXXXXX")
	chmod 755 "$root"
	mkdir -p "$root"/{bin,sbin,etc,dev,proc,sys,tmp,root,www,run,lib/modules,var/lib/misc,usr/bin,usr/sbin} || return 1
	cp "$bb" "$root/bin/busybox" || return 1
	file -L "$root/bin/busybox" 2>/dev/null | grep -q dynamic &&
		{ _vm_log "busybox is not static (install busybox-static)"; return 1; }
	chroot "$root" /bin/busybox --install -s /bin || return 1
	mknod -m 600 "$root/dev/console" c 5 1 && mknod -m 666 "$root/dev/null" c 1 3 || return 1
	for m in $VM_MODULES; do _vm_module "$m" "$root/lib/modules" || return 1; done
	cat >"$root/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		www:x:33:33:www:/www:/bin/false
		nobody:x:65534:65534:nobody:/nonexistent:/bin/false
	EOF
	printf 'root:x:0:\nwww:x:33:\nnogroup:x:65534:\n' >"$root/etc/group"
	printf 'interface lo\nstart 127.0.0.100\nend 127.0.0.110\nlease_file /var/lib/misc/udhcpd.leases\n' \
		>"$root/etc/udhcpd.conf"
	echo "vantage guest" >"$root/www/index.html"
	printf '%s\n' "$snippet" >"$root/extra.sh"
	printf '%s\n' "${VM_TRUTH_EXTRA:-}" >"$root/truth_extra.sh"
	{
		echo '#!/bin/sh'
		echo "HOST=$VM_HOSTNAME"
		echo "DOMAIN=$VM_DOMAIN"
		echo "MODULES='$VM_MODULES'"
		echo "KALLSYMS='${VM_KALLSYMS:-}'"
		echo "CONTROL='${VM_CONTROL:-}'"
		cat <<-'EOF'
			export PATH=/bin
			mount -t proc proc /proc
			mount -t sysfs sysfs /sys
			mount -t devtmpfs devtmpfs /dev
			mount -t tmpfs tmpfs /tmp
			exec </dev/console >/dev/console 2>&1
			echo "1 4 1 7" >/proc/sys/kernel/printk # no kernel chatter inside the truth
			hostname "$HOST"
			echo "$DOMAIN" >/proc/sys/kernel/domainname
			echo 0 >/proc/sys/kernel/kptr_restrict
			for m in $MODULES; do insmod /lib/modules/$m.ko; done
			ip link set lo up
			ip link set dummy0 address 02:56:41:4e:54:01 2>/dev/null
			ip link set dummy0 mtu 1400 2>/dev/null
			ip link set dummy0 up 2>/dev/null
			ip addr add 10.11.12.13/24 dev dummy0 2>/dev/null
			sleep 1000001 &
			httpd -p 8080 -h /www -u www:www
			httpd -p 127.0.0.1:8081 -h /www
			nc -l -p 9090 </dev/null >/dev/null &
			sleep 1000003 | nc -l -p 9091 >/dev/null &
			sleep 1
			sleep 1000002 | nc 127.0.0.1 9091 &
			touch /var/lib/misc/udhcpd.leases
			udhcpd -f /etc/udhcpd.conf >/dev/null 2>&1 &
			syslogd -n -R 127.0.0.1:5140 &
			sleep 1
			logger vantage-guest-up
			if [ -n "$CONTROL" ]; then # vm_exec: "ID sh code" lines on ttyS1
				(
					stty -F /dev/ttyS1 -echo 2>/dev/null
					while :; do
						while read -r id cmd; do
							echo "=== VANTAGE-BEGIN exec-$id ==="
							eval "$cmd"
							echo "=== VANTAGE-END ==="
						done </dev/ttyS1
						sleep 1
					done
				) &
			fi
			. /extra.sh
			sleep 1
			sec() { echo; echo "=== VANTAGE-BEGIN $1 ==="; shift; "$@"; echo "=== VANTAGE-END ==="; }
			keysyms() {
				if [ "$KALLSYMS" = full ]; then cat /proc/kallsyms; return; fi
				grep -E ' (_text|_stext|linux_banner|init_task|init_uts_ns|init_top_pgt|modules|tcp_hashinfo|udp_table|page_offset_base|vmalloc_base|vmemmap_base|phys_base|kallsyms_token_table|kallsyms_num_syms|__start_BTF|__stop_BTF)$' /proc/kallsyms
			}
			wide() { COLUMNS=4096 "$@" </dev/null | cat; }
			sec ps wide ps -o pid,ppid,user,stat,rss,comm,args
			sec modules cat /proc/modules
			sec netstat netstat -tuan
			sec proc_net cat /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6
			sec hostname hostname
			sec domainname cat /proc/sys/kernel/domainname
			sec uname uname -r -v
			sec meminfo cat /proc/meminfo
			sec loadavg cat /proc/loadavg
			sec uptime cat /proc/uptime
			sec links ip -o link
			sec net_dev cat /proc/net/dev
			sec kallsyms keysyms
			sec extra . /truth_extra.sh
			echo VANTAGE-READY
			while :; do wait; sleep 1; done
		EOF
	} >"$root/init"
	chmod 755 "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out" || return 1
	rm -rf "$root"
}

vm_uuid() {
	local h
	h=$(printf 'vantage-vm-%s' "$1" | md5sum | cut -c1-32)
	echo "${h:0:8}-${h:8:4}-${h:12:4}-${h:16:4}-${h:20:12}"
}

vm_start() {
	local name=$1 mem=$2 append=$3 machine=${4:-q35}
	[ -z "$VM_PID" ] || { _vm_log "a guest is already running (pid $VM_PID)"; return 1; }
	[ -n "${VM_VMLINUZ:-}" ] || vm_kernel || return 1
	if [ -z "${VM_INITRD:-}" ]; then
		VM_INITRD=$VM_STATE/initramfs.cpio.gz
		vm_initramfs "$VM_INITRD" || return 1
	fi
	VM_NAME=$name
	VM_MEM=$mem
	VM_UUID=$(vm_uuid "$name")
	VM_RAM=/dev/shm/vantage-$name.mem
	VM_QMP=$VM_STATE/$name.qmp
	VM_LOG=$VM_STATE/$name.log
	VM_CTL=
	local ram=(-object "memory-backend-file,id=mem,size=$mem,mem-path=$VM_RAM,share=on"
		-machine "$machine,memory-backend=mem") ctl=()
	if [ "${VM_RAM_BACKEND:-file}" = anon ]; then
		VM_RAM=
		ram=(-machine "$machine")
	fi
	if [ -n "${VM_CONTROL:-}" ]; then
		VM_CTL=$VM_STATE/$name.ctl
		ctl=(-serial "unix:$VM_CTL,server=on,wait=off")
	fi
	rm -f "$VM_RAM" "$VM_QMP" "$VM_LOG" "$VM_CTL"
	on_exit vm_stop
	qemu-system-x86_64 -accel tcg -cpu max -smp 1 -m "$mem" "${ram[@]}" \
		-nographic -no-reboot -nic none \
		-monitor none -serial "file:$VM_LOG" "${ctl[@]}" \
		-kernel "$VM_VMLINUZ" -initrd "$VM_INITRD" -append "console=ttyS0 panic=-1 quiet $append" \
		-qmp "unix:$VM_QMP,server=on,wait=off" -name "$name" -uuid "$VM_UUID" \
		</dev/null >"$VM_STATE/$name.qemu.out" 2>&1 &
	VM_PID=$!
}

vm_wait_ready() {
	local timeout=${1:-120} t=0
	while ! grep -q VANTAGE-READY "$VM_LOG" 2>/dev/null; do
		if ! kill -0 "$VM_PID" 2>/dev/null; then
			_vm_log "QEMU (pid $VM_PID) exited before the guest was ready"
			sed 's/^/#   qemu: /' "$VM_STATE/$VM_NAME.qemu.out" >&2
			tail -n 30 "$VM_LOG" 2>/dev/null | tr -d '\r' | sed 's/^/#   console: /' >&2
			return 1
		fi
		if [ "$t" -ge $((timeout * 5)) ] ||
			grep -q -e 'Kernel panic' -e 'Failed to execute /init' "$VM_LOG" 2>/dev/null; then
			_vm_log "guest $VM_NAME not ready (waited $((t / 5)) of $timeout s)"
			tail -n 30 "$VM_LOG" 2>/dev/null | tr -d '\r' | sed 's/^/#   console: /' >&2
			return 1
		fi
		sleep 0.2
		t=$((t + 1))
	done
}

vm_truth() {
	local log=${2:-$VM_LOG}
	tr -d '\r' <"$log" | awk -v s="=== VANTAGE-BEGIN $1 ===" '
		!on && length($0) >= length(s) && substr($0, length($0) - length(s) + 1) == s { on = 1; next }
		on && $0 == "=== VANTAGE-END ===" { exit }
		on { print }'
}

vm_qmp() {
	local py
	py=$(command -v /usr/bin/python3 python3 | head -1)
	[ -n "$py" ] || { _vm_log "vm_qmp needs python3"; return 1; }
	"$py" - "$VM_QMP" "$1" "${2:-}" <<-'EOF'
		import json, socket, sys
		s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		s.settimeout(10)
		s.connect(sys.argv[1])
		f = s.makefile("rw")
		def reply():
		    while True:
		        line = f.readline()
		        if not line:
		            sys.exit("qmp: connection closed")
		        m = json.loads(line)
		        if "return" in m or "error" in m:
		            return m
		json.loads(f.readline())  # greeting
		f.write('{"execute":"qmp_capabilities"}\n'); f.flush(); reply()
		cmd = {"execute": sys.argv[2]}
		if sys.argv[3]:
		    cmd["arguments"] = json.loads(sys.argv[3])
		f.write(json.dumps(cmd) + "\n"); f.flush()
		m = reply()
		if "error" in m:
		    print(json.dumps(m["error"])); sys.exit(1)
		print(json.dumps(m["return"]))
	EOF
}

vm_stop() {
	[ -n "$VM_PID" ] || return 0
	kill "$VM_PID" 2>/dev/null
	local i
	for i in $(seq 50); do kill -0 "$VM_PID" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$VM_PID" 2>/dev/null
	wait "$VM_PID" 2>/dev/null
	rm -f "$VM_RAM" "$VM_QMP" "${VM_CTL:-}"
	VM_PID=
}

# ---- a command channel (VM_CONTROL=1) ------------------------------------------

vm_exec() {
	local id=$1 cmd=$2 timeout=${3:-60} py
	[ -n "${VM_CTL:-}" ] || { _vm_log "vm_exec: the guest has no command channel (VM_CONTROL)"; return 1; }
	case $cmd in *$'\n'*) _vm_log "vm_exec: one line of sh code"; return 1 ;; esac
	py=$(command -v /usr/bin/python3 python3 | head -1)
	# the connection stays open until the answer is there: QEMU drops what
	# the guest's UART has not taken yet when the client goes away
	"$py" - "$VM_CTL" "$id" "$cmd" "$VM_LOG" "$timeout" <<-'EOF'
		import socket, sys, time
		ctl, ident, cmd, log, timeout = sys.argv[1:6]
		begin = "=== VANTAGE-BEGIN exec-%s ===" % ident
		s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
		s.settimeout(10)
		s.connect(ctl)
		s.sendall(("%s %s\n" % (ident, cmd)).encode())
		end = time.time() + float(timeout)
		while time.time() < end:
		    text = open(log, "rb").read().decode("latin-1").replace("\r", "")
		    lines = text.split("\n")
		    on = False
		    for l in lines:
		        if not on and l.endswith(begin):
		            on = True
		        elif on and l == "=== VANTAGE-END ===":
		            s.close()
		            sys.exit(0)
		    time.sleep(0.2)
		sys.exit("vm_exec %s: no answer from the guest in %s s" % (ident, timeout))
	EOF
}

# ---- a snapshot shared between suites ----------------------------------------------

_vm_snap_base() {
	local h
	[ -n "${VM_KVER:-}" ] || vm_kernel || return 1
	h=$(md5sum <"${BASH_SOURCE[0]}" | cut -c1-12)
	echo "$VM_CACHE/snap/guest-$VM_KVER-$h"
}

vm_snapshot_save() {
	local base
	[ -n "$VM_PID" ] && [ -n "${VM_RAM:-}" ] || { _vm_log "vm_snapshot_save: no guest with a RAM file"; return 1; }
	base=$(_vm_snap_base) || return 1
	mkdir -p "$(dirname "$base")" || return 1
	vm_qmp stop >/dev/null || return 1
	cp "$VM_RAM" "$base.mem.$$" && tr -d '\r' <"$VM_LOG" >"$base.log.$$"
	local r=$?
	vm_qmp cont >/dev/null
	if [ $r -ne 0 ]; then
		rm -f "$base.mem.$$" "$base.log.$$"
		return 1
	fi
	# one snapshot at a time: older ones (other kernels, other options) go
	find "$(dirname "$base")" -maxdepth 1 -name 'guest-*' ! -name "$(basename "$base").*" -delete
	mv "$base.log.$$" "$base.log" && mv "$base.mem.$$" "$base.mem"
}

vm_snapshot() {
	local base
	base=$(_vm_snap_base) || return 1
	VM_SNAP_MEM=$base.mem
	VM_SNAP_LOG=$base.log
	[ -s "$VM_SNAP_MEM" ] && [ -s "$VM_SNAP_LOG" ] && return 0
	_vm_log "no shared snapshot yet: booting a guest for it"
	vm_start snap 256M "" && vm_wait_ready 150 && vm_snapshot_save
	local r=$?
	vm_stop
	return $r
}
