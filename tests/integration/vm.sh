#!/usr/bin/env bash
# VM introspection against real guests (three boots, one at a time; see
# vm_lib.sh): what `vantage crawl --vm` reads from guest RAM is compared with
# what each guest printed on its own console (the ground truth):
# processes (pid, ppid, uid, state, comm, argv, RSS) against ps, modules
# against /proc/modules, hostname, domain name, uname, memory against
# /proc/meminfo, every TCP/UDP socket of /proc/net/{tcp,tcp6,udp,udp6} with
# its owner against the guest's own /proc/*/fd, interfaces against ip link,
# ip addr and /proc/net/dev.
#
#   A  q35, 256M, default KASLR, 5-level paging, RAM in a file: crawled by
#      name with --pause (cold profile cache), by name, uuid and pid (warm),
#      by ram=FILE, and as an ELF core from QMP dump-guest-memory (cold and
#      warm give the same records); a process started and killed in the
#      guest appears and goes; usage errors (unknown name, --pause with a
#      RAM file).  The RAM is saved as the shared snapshot vm_bad.sh uses.
#   B  pc, 256M plain -m RAM (no file: read through /proc/PID/mem),
#      nokaslr no5lvl (4-level paging): the same comparisons, then a loop
#      forking hundreds of processes per second crawled live 40 times:
#      every crawl exits 0 with a frame, bounded process counts, errors
#      counted in the header, never a signal.
#   C  q35, 3 GiB: RAM above the PCI hole (the RAM file's last GiB is
#      guest-physical 4-5 GiB); memmap= keeps 16 MiB..2046 MiB from the
#      guest so its kernel image is placed above 4 GiB, and zone Normal (the
#      tasks, page tables, argv) is there anyway.  Checked: the argv bytes
#      really lie above 4 GiB; the crawl matches the truth with no errors.
# The guests run a command channel (VM_CONTROL, vm_exec) for what happens
# after boot.  No timing is asserted.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/vm_lib.sh"
cd "$(dirname "$0")/../.."

VM_CONTROL=1
# socket owners as the guest sees them, addresses, where the kernel sits
VM_TRUTH_EXTRA=$(
	cat <<-'EOF'
		for d in /proc/[0-9]*; do for f in $d/fd/*; do l=$(readlink $f 2>/dev/null) || continue; case $l in socket:*) echo "sockowner ${d#/proc/} $l" ;; esac; done; done
		ip -o addr
		grep -e 'Kernel code' /proc/iomem | sed 's/^ */iomem /'
	EOF
)

if ! vm_kernel || ! VM_INITRD=$TMP/initramfs.cpio.gz || ! vm_initramfs "$VM_INITRD"; then
	not_ok "guest kernel and initramfs"
	exit 1
fi
ok "guest kernel $VM_KVER and initramfs"

# ---- helpers ------------------------------------------------------------------

# crawl OUT ARGS...: vantage crawl -i 0 ARGS into $TMP/OUT.{json,err,rc}
crawl() {
	local out=$1
	shift
	"$VANTAGE" crawl -i 0 "$@" >"$TMP/$out.json" 2>"$TMP/$out.err"
	echo $? >"$TMP/$out.rc"
}
rc_of() { cat "$TMP/$1.rc"; }
hdr() { head -1 "$TMP/$1.json" | jq -c "select(.feature == \"frame\") | .value | $2"; }
recs() { jq -c "select(.feature == \"$2\") | .value" "$TMP/$1.json"; }
# show a file's first lines as diagnostics
show() { head -n "${2:-15}" "$1" | sed 's/^/#   /'; }

# processes as "pid ppid uid state comm<TAB>cmdline" (cmdline "-" for none);
# a kworker's comm loses its workqueue suffix (ps shows /proc/PID/comm,
# "kworker/0:1-events") and its state is not compared (they come and go)
norm_procs() {
	awk -F'\t' -v OFS='\t' '{
		split($1, f, " ")
		if (f[5] ~ /^kworker\//) { sub(/-.*/, "", f[5]); f[4] = "*" }
		print f[1] " " f[2] " " f[3] " " f[4] " " f[5], $2
	}' | sort
}
truth_procs() { # LOG
	vm_truth ps "$1" | awk -v OFS='\t' '
		$1 !~ /^[0-9]+$/ { next }
		$6 == "ps" || $6 == "cat" { next }	# the truth printer itself
		{
			uid = $3 == "root" ? 0 : $3 == "www" ? 33 : $3 == "nobody" ? 65534 : $3
			comm = $6; line = $0
			sub(/^ *[0-9]+ +[0-9]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +/, "", line)
			sub(/ +$/, "", line)
			if (line ~ /^\[.*\]$/) line = "-"	# kernel thread
			else if (line ~ /^\{[^}]*\} /) sub(/^\{[^}]*\} /, "", line)
			print $1 " " $2 " " uid " " substr($4, 1, 1) " " comm, line
		}' | norm_procs
}
crawl_procs() { # NAME
	recs "$1" process | jq -r '[(.pid | tostring) + " " + (.ppid | tostring) + " " +
		(.uid | tostring) + " " + .state + " " + .comm, (.cmdline // "-")] | @tsv' | norm_procs
}
truth_rss() { vm_truth ps "$1" | awk '$1 ~ /^[0-9]+$/ && $5 ~ /^[0-9]+$/ && $6 != "ps" && $6 != "cat" { print $1, $5 }' | sort; }
crawl_rss() { recs "$1" process | jq -r 'select(.rss_kb != null) | "\(.pid) \(.rss_kb)"' | sort; }

# compare_procs WHAT TRUTH_FILE CRAWL_FILE: every truth row in the crawl;
# rows only in the crawl may be kworkers (started since) and nothing else
compare_procs() {
	local what=$1 t=$2 c=$3
	comm -23 "$t" "$c" >"$TMP/missing"
	comm -13 "$t" "$c" | grep -v -P '^\d+ 2 0 \* kworker/' >"$TMP/extra"
	if [ -s "$t" ] && [ ! -s "$TMP/missing" ] && [ ! -s "$TMP/extra" ]; then
		ok "$what: all $(wc -l <"$t") processes match (pid, ppid, uid, state, comm, argv)"
	else
		not_ok "$what: processes match"
		echo "#   in the truth, not in the crawl:"
		show "$TMP/missing"
		echo "#   in the crawl, not in the truth:"
		show "$TMP/extra"
	fi
}

# sockets of /proc/net/{tcp,tcp6,udp,udp6} as
# "proto family laddr lport raddr rport state inode uid"
truth_socks() { # LOG
	vm_truth proc_net "$1" | python3 -c '
import socket, struct, sys
names = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
         6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING"}
def addr(h):
    b = b"".join(struct.pack("<I", int(h[i:i + 8], 16)) for i in range(0, len(h), 8))
    return socket.inet_ntop(socket.AF_INET if len(b) == 4 else socket.AF_INET6, b)
proto = None
for line in sys.stdin:
    f = line.split()
    if not f:
        continue
    if f[0] == "sl":
        # tcp, tcp6, udp, udp6 in this order; udp headers carry "drops"
        proto = "udp" if "drops" in f else "tcp"
        continue
    la, lp = f[1].split(":"); ra, rp = f[2].split(":")
    st = int(f[3], 16)
    fam = "ipv4" if len(la) == 8 else "ipv6"
    state = ("UNCONN" if st == 7 else "ESTABLISHED") if proto == "udp" else names.get(st, "?")
    print(proto, fam, addr(la), int(lp, 16), addr(ra), int(rp, 16), state, f[9], f[7])
' | sort
}
crawl_socks() { recs "$1" connection | jq -r '"\(.proto) \(.family) \(.local_addr) \(.local_port) \(.remote_addr) \(.remote_port) \(.state) \(.inode) \(.uid)"' | sort; }

# compare_guest WHAT NAME LOG: the crawl NAME (paused) against the truth
compare_guest() {
	local what=$1 n=$2 log=$3
	truth_procs "$log" >"$TMP/t.procs"
	crawl_procs "$n" >"$TMP/c.procs"
	compare_procs "$what" "$TMP/t.procs" "$TMP/c.procs"
	# RSS: exact but for the shells running the truth (pid 1 and its
	# subshells grew while printing it)
	if join <(truth_rss "$log") <(crawl_rss "$n") | awk -v shells="$(vm_truth ps "$log" | awk '$6 == "init" { printf "%s,", $1 }')" '
		BEGIN { n = split(shells, s, ","); for (i = 1; i <= n; i++) if (s[i] != "") sh[s[i]] = 1 }
		{ d = $3 - $2; if (d < 0) d = -d }
		d > (($1 in sh) ? 256 : 0) { printf "pid %s: ps %s KiB, crawl %s KiB\n", $1, $2, $3; bad = 1 }
		END { exit bad }' >"$TMP/rssdiff" && [ "$(join <(truth_rss "$log") <(crawl_rss "$n") | wc -l)" -gt 5 ]; then
		ok "$what: RSS of every process as ps shows it"
	else
		not_ok "$what: RSS of every process as ps shows it"
		show "$TMP/rssdiff"
	fi
	# modules
	vm_truth modules "$log" | awk '{ print $1, $2, $3, $5 }' | sort >"$TMP/t.mods"
	recs "$n" module | jq -r '"\(.name) \(.size) \(.refcount) \(.state)"' | sort >"$TMP/c.mods"
	if [ -s "$TMP/t.mods" ] && cmp -s "$TMP/t.mods" "$TMP/c.mods"; then
		ok "$what: modules (name, size, refcount, state) as /proc/modules"
	else
		not_ok "$what: modules as /proc/modules"
		diff "$TMP/t.mods" "$TMP/c.mods" | sed 's/^/#   /'
	fi
	# kernel facts
	local os
	os=$(recs "$n" os)
	check_eq "$what: hostname" "$(vm_truth hostname "$log")" "$(jq -r .hostname <<<"$os")"
	check_eq "$what: domain name" "$(vm_truth domainname "$log")" "$(jq -r .domainname <<<"$os")"
	check_eq "$what: kernel release and version as uname -r -v" "$(vm_truth uname "$log")" \
		"$(jq -r '"\(.kernel_release) \(.kernel_version)"' <<<"$os")"
	local up
	up=$(vm_truth uptime "$log" | cut -d' ' -f1)
	check "$what: uptime ($(jq -r .uptime_s <<<"$os") s) not less than the truth's ($up s)" \
		awk -v c="$(jq -r .uptime_s <<<"$os")" -v t="$up" 'BEGIN { exit !(c + 1 >= t) }'
	# memory
	local mem tot fre ava
	mem=$(jq -c 'select(.feature == "metric" and .key == "memory") | .value' "$TMP/$n.json")
	tot=$(vm_truth meminfo "$log" | awk '$1 == "MemTotal:" { print $2 }')
	fre=$(vm_truth meminfo "$log" | awk '$1 == "MemFree:" { print $2 }')
	ava=$(vm_truth meminfo "$log" | awk '$1 == "MemAvailable:" { print $2 }')
	check_eq "$what: memory total as MemTotal" "$tot" "$(jq -r .total_kb <<<"$mem")"
	# free and available moved a little since the truth was printed: 2%
	check "$what: memory free $(jq -r .free_kb <<<"$mem") KiB near MemFree $fre KiB" \
		awk -v c="$(jq -r .free_kb <<<"$mem")" -v t="$fre" -v T="$tot" 'BEGIN { d = c - t; exit !(d * d <= (T / 50) ^ 2) }'
	check "$what: memory available $(jq -r .available_kb <<<"$mem") KiB near MemAvailable $ava KiB" \
		awk -v c="$(jq -r .available_kb <<<"$mem")" -v t="$ava" -v T="$tot" 'BEGIN { d = c - t; exit !(d * d <= (T / 50) ^ 2) }'
	# sockets
	truth_socks "$log" >"$TMP/t.socks"
	crawl_socks "$n" >"$TMP/c.socks"
	if [ "$(wc -l <"$TMP/t.socks")" -ge 7 ] && cmp -s "$TMP/t.socks" "$TMP/c.socks"; then
		ok "$what: all $(wc -l <"$TMP/t.socks") TCP and UDP sockets (addresses, ports, state, inode, uid)"
	else
		not_ok "$what: TCP and UDP sockets as /proc/net"
		diff "$TMP/t.socks" "$TMP/c.socks" | sed 's/^/#   /'
	fi
	vm_truth extra "$log" | awk '$1 == "sockowner" { gsub(/[^0-9]/, "", $3); print $3, $2 }' | sort >"$TMP/t.owners"
	recs "$n" connection | jq -r 'select(.inode != null) | "\(.inode) \(.pid // "none")"' | sort >"$TMP/c.owners"
	: >"$TMP/ownerdiff"
	if [ -s "$TMP/t.owners" ] && awk 'NR == FNR { own[$1 " " $2] = 1; has[$1] = 1; next }
		has[$1] && !own[$1 " " $2] { print "inode " $1 ": crawl says pid " $2; bad = 1 }
		END { exit bad }' "$TMP/t.owners" "$TMP/c.owners" >"$TMP/ownerdiff"; then
		ok "$what: every socket's owner is a process holding it"
	else
		not_ok "$what: socket owners"
		show "$TMP/ownerdiff"
	fi
	# interfaces: index, name, MTU, MAC, flags from ip link; addresses from ip addr
	vm_truth links "$log" | sed 's/\\/ /' | awk '{
		gsub(":", "", $2); fl = $3; gsub(/[<>]/, "", fl); mac = ""
		for (i = 4; i <= NF; i++) { if ($i == "mtu") mtu = $(i + 1); if ($i ~ /^link\//) mac = $(i + 1) }
		print $1 + 0, $2, mtu, mac, tolower(fl) }' | sort >"$TMP/t.links"
	recs "$n" interface | jq -r '"\(.index) \(.name) \(.mtu) \(.mac) \(.flags | join(","))"' | sort >"$TMP/c.links"
	if [ -s "$TMP/t.links" ] && awk 'NR == FNR { c[$1 " " $2 " " $3 " " $4] = $5; next }
		{ k = $1 " " $2 " " $3 " " $4
		  if (!(k in c)) { print "no interface " k; bad = 1; next }
		  n = split($5, f, ","); for (i = 1; i <= n; i++) if (("," c[k] ",") !~ ("," f[i] ",")) { print $2 ": flag " f[i] " missing"; bad = 1 } }
		END { exit bad }' "$TMP/c.links" "$TMP/t.links" >"$TMP/linkdiff" &&
		[ "$(wc -l <"$TMP/t.links")" = "$(wc -l <"$TMP/c.links")" ]; then
		ok "$what: interfaces (index, name, MTU, MAC, flags) as ip link"
	else
		not_ok "$what: interfaces as ip link"
		show "$TMP/linkdiff"
		diff "$TMP/t.links" "$TMP/c.links" | sed 's/^/#   /'
	fi
	vm_truth extra "$log" | awk '$3 == "inet" || $3 == "inet6" { print $2, $4 }' | sort >"$TMP/t.addrs"
	recs "$n" interface | jq -r '.name as $n | .addresses[] | "\($n) \(.)"' | sort >"$TMP/c.addrs"
	if [ -s "$TMP/t.addrs" ] && cmp -s "$TMP/t.addrs" "$TMP/c.addrs"; then
		ok "$what: interface addresses as ip addr"
	else
		not_ok "$what: interface addresses as ip addr"
		diff "$TMP/t.addrs" "$TMP/c.addrs" | sed 's/^/#   /'
	fi
	# counters only grow after the truth (a few IPv6 packets at most)
	vm_truth net_dev "$log" | awk -F'[: ]+' 'NF > 10 && $0 ~ /:/ { sub(/^ +/, ""); split($0, a, /[: ]+/); print a[1], a[2], a[3], a[10], a[11] }' | sort >"$TMP/t.ctr"
	recs "$n" interface | jq -r '"\(.name) \(.rx_bytes) \(.rx_packets) \(.tx_bytes) \(.tx_packets)"' | sort >"$TMP/c.ctr"
	if [ -s "$TMP/t.ctr" ] && join "$TMP/t.ctr" "$TMP/c.ctr" | awk '
		{ for (i = 2; i <= 5; i++) { d = $(i + 4) - $i; if (d < 0 || d > (i % 2 ? 50 : 10000)) { print; bad = 1 } } n++ }
		END { exit bad || n < 2 }' >"$TMP/ctrdiff"; then
		ok "$what: interface counters as /proc/net/dev (grown by a few packets at most)"
	else
		not_ok "$what: interface counters as /proc/net/dev"
		show "$TMP/ctrdiff"
		show "$TMP/t.ctr"
		show "$TMP/c.ctr"
	fi
}

# same_procs WHAT A B: the crawls A and B saw the same processes (kworkers,
# which come and go, aside)
same_procs() {
	crawl_procs "$2" | grep -v -P '^\d+ 2 0 \* kworker/' | cut -d' ' -f1,2,3,5- >"$TMP/a.procs"
	crawl_procs "$3" | grep -v -P '^\d+ 2 0 \* kworker/' | cut -d' ' -f1,2,3,5- >"$TMP/b.procs"
	if [ "$(wc -l <"$TMP/a.procs")" -gt 20 ] && cmp -s "$TMP/a.procs" "$TMP/b.procs"; then
		ok "$1: the same $(wc -l <"$TMP/a.procs") processes"
	else
		not_ok "$1: the same processes"
		diff "$TMP/a.procs" "$TMP/b.procs" | head -20 | sed 's/^/#   /'
	fi
}

no_errors() { # WHAT NAME
	local e
	e=$(hdr "$2" '[.errors[]] | add')
	if [ "$e" = 0 ]; then
		ok "$1: no errors in the frame"
	else
		not_ok "$1: no errors in the frame"
		echo "#   $(hdr "$2" '.errors, .messages')"
	fi
}

status() { vm_qmp query-status | jq -r .status; }
jqt() { [ "$(jq -r "$1" <<<"$2" 2>/dev/null)" = true ]; } # jqt FILTER JSON: the filter holds (not jq -e: jq 1.6 says yes to no input)

boot() { # NAME MEM APPEND MACHINE
	if ! vm_start "$@" || ! vm_wait_ready 180; then
		not_ok "guest $1 boots"
		return 1
	fi
	ok "guest $1 boots ($2, ${4:-q35}${3:+, $3})"
}

kallsym() { vm_truth kallsyms | awk -v s="$1" '$3 == s { print $1 }'; }

# ---- guest A: q35, KASLR, 5-level paging, RAM file -----------------------------------

if boot vma 256M ""; then
	check "A: KASLR moved the kernel (_text $(kallsym _text))" test "$(kallsym _text)" != ffffffff81000000
	check "A: 5-level paging (VmallocTotal)" \
		test "$(vm_truth meminfo | awk '$1 == "VmallocTotal:" { print $2 }')" -gt 34359738367

	export VANTAGE_CACHE_DIR=$TMP/cache-a
	crawl a1 --vm vma --pause
	check_eq "A: crawl --vm NAME --pause exits 0" 0 "$(rc_of a1)"
	check_eq "A: frame id vm:UUID" "\"vm:$VM_UUID\"" "$(hdr a1 .id)"
	check_eq "A: cold: profile_cached false" false "$(hdr a1 .labels.profile_cached)"
	check "A: paused_ms in the labels" jqt '.labels.paused_ms >= 0' "$(hdr a1 .)"
	check_eq "A: the guest runs again after --pause" running "$(status)"
	check_eq "A: RAM read from the RAM file" "\"$VM_RAM\"" "$(hdr a1 .labels.ram)"
	no_errors "A paused" a1
	compare_guest "A paused" a1 "$VM_LOG"

	crawl a2 --vm vma
	check_eq "A: crawl by name exits 0" 0 "$(rc_of a2)"
	check_eq "A: warm: profile_cached true" true "$(hdr a2 .labels.profile_cached)"
	check "A: no paused_ms without --pause" jqt '.labels | has("paused_ms") | not' "$(hdr a2 .)"
	same_procs "A: by name, warm, live" a1 a2
	crawl a3 --vm "$VM_UUID"
	check_eq "A: by uuid: the same guest" "\"vm:$VM_UUID\"" "$(hdr a3 .id)"
	same_procs "A: by uuid" a1 a3
	crawl a4 --vm "$VM_PID"
	check_eq "A: by QEMU pid: the same guest" "\"vm:$VM_UUID\"" "$(hdr a4 .id)"
	crawl a5 --vm "ram=$VM_RAM"
	check_eq "A: crawl ram=FILE exits 0" 0 "$(rc_of a5)"
	check_eq "A: ram=FILE: runtime ram" '"ram"' "$(hdr a5 .runtime)"
	same_procs "A: ram=FILE" a1 a5
	no_errors "A ram=FILE" a5

	# usage errors
	crawl u1 --vm no-such-guest
	check_eq "an unknown guest name: exit 2" 2 "$(rc_of u1)"
	check "an unknown guest name: the message names it" grep -q "no-such-guest" "$TMP/u1.err"
	check "an unknown guest name: no frame" test ! -s "$TMP/u1.json"
	crawl u2 --vm "ram=$VM_RAM" --pause
	check_eq "--pause with ram=: exit 2" 2 "$(rc_of u2)"
	check "--pause with ram=: says why" grep -q -- "--pause" "$TMP/u2.err"
	check_eq "--pause with ram=: the guest was not stopped" running "$(status)"

	# an ELF core from dump-guest-memory: cold then warm, the same records
	core=$TMP/vma.core
	if vm_qmp dump-guest-memory "{\"paging\": false, \"protocol\": \"file:$core\"}" >/dev/null &&
		[ "$(head -c 4 "$core" | od -An -c | tr -d ' ')" = 177ELF ]; then
		ok "A: dump-guest-memory wrote an ELF core"
	else
		not_ok "A: dump-guest-memory wrote an ELF core"
	fi
	check_eq "A: running after the dump" running "$(status)"
	VANTAGE_CACHE_DIR=$TMP/cache-core crawl c1 --vm "ram=$core"
	VANTAGE_CACHE_DIR=$TMP/cache-core crawl c2 --vm "ram=$core"
	check_eq "A core: exit 0 cold and warm" "0 0" "$(rc_of c1) $(rc_of c2)"
	check_eq "A core: cold, then warm" "false true" \
		"$(hdr c1 .labels.profile_cached) $(hdr c2 .labels.profile_cached)"
	no_errors "A core" c1
	same_procs "A core" a1 c1
	if [ "$(jq -c 'select(.feature != "frame") | [.feature, .key, .value]' "$TMP/c1.json" | md5sum)" = \
		"$(jq -c 'select(.feature != "frame") | [.feature, .key, .value]' "$TMP/c2.json" | md5sum)" ] &&
		[ "$(jq -c 'select(.feature != "frame")' "$TMP/c1.json" | wc -l)" -gt 50 ]; then
		ok "A core: cold and warm crawls give the same records"
	else
		not_ok "A core: cold and warm crawls give the same records"
		diff <(jq -c 'select(.feature != "frame") | [.feature, .key, .value]' "$TMP/c1.json") \
			<(jq -c 'select(.feature != "frame") | [.feature, .key, .value]' "$TMP/c2.json") | head | sed 's/^/#   /'
	fi
	rm -f "$core"

	# a process started in the guest appears, killed it goes
	if vm_exec new 'sleep 1000005 & echo "newpid $!"'; then
		newpid=$(vm_truth exec-new | awk '$1 == "newpid" { print $2 }')
		crawl a6 --vm vma
		check_eq "A: a process started after boot is seen with its argv" "sleep 1000005" \
			"$(recs a6 process | jq -r --argjson p "${newpid:-0}" 'select(.pid == $p) | .cmdline')"
		vm_exec kill "kill $newpid; wait $newpid"
		crawl a7 --vm vma
		check_eq "A: ... and gone once killed" 0 \
			"$(recs a7 process | jq -r --argjson p "${newpid:-0}" 'select(.pid == $p) | .pid' | wc -l)"
	else
		not_ok "A: the guest runs a command (vm_exec)"
	fi

	check "A: saved as the shared snapshot for vm_bad" vm_snapshot_save
	check_eq "A: running after the snapshot" running "$(status)"
	vm_stop
fi

# ---- guest B: pc, plain RAM (/proc/PID/mem), nokaslr no5lvl, forking -----------------

VM_RAM_BACKEND=anon
if boot vmb 256M "nokaslr no5lvl" pc; then
	check_eq "B: nokaslr: _text at its link address" ffffffff81000000 "$(kallsym _text)"
	check_eq "B: 4-level paging (VmallocTotal)" 34359738367 \
		"$(vm_truth meminfo | awk '$1 == "VmallocTotal:" { print $2 }')"
	check_eq "B: no RAM file" '""' "$($VANTAGE ls --json | jq -c 'select(.name == "vmb") | .ram_path')"

	export VANTAGE_CACHE_DIR=$TMP/cache-b
	crawl b1 --vm vmb --pause
	check_eq "B: crawl --vm NAME --pause exits 0" 0 "$(rc_of b1)"
	check "B: RAM read through /proc/PID/mem" grep -q "^\"/proc/$VM_PID/mem@0x" <<<"$(hdr b1 .labels.ram)"
	check_eq "B: cold: profile_cached false" false "$(hdr b1 .labels.profile_cached)"
	check "B: paused_ms in the labels" jqt '.labels.paused_ms >= 0' "$(hdr b1 .)"
	check_eq "B: the guest runs again after --pause" running "$(status)"
	no_errors "B paused" b1
	compare_guest "B paused" b1 "$VM_LOG"

	# long-lived processes every complete walk must see
	known=$(recs b1 process | jq -r 'select(.cmdline != null) | .pid' | sort -n | tr '\n' ' ')
	base_count=$(recs b1 process | wc -l)
	# 15 forks and 5 fork+execs per round, as fast as the guest goes
	if vm_exec fork '(while :; do for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do true & done; for i in 1 2 3 4 5; do /bin/true & done; wait; done) >/dev/null 2>&1 & echo "forker $!"'; then
		ok "B: a loop forking processes runs in the guest"
	else
		not_ok "B: a loop forking processes runs in the guest"
	fi
	sleep 1
	# the guest's newest pid before and after the crawls: how much it forked
	vm_exec pid0 'true & echo "$!"' && pid0=$(vm_truth exec-pid0 | tr -dc '0-9\n' | tail -1)
	bad_rc=0 bad_frame=0 silent_miss=0 errs=0 first_max= last_max= n=40
	for i in $(seq $n); do
		crawl f --vm vmb
		rc=$(rc_of f)
		if [ "$rc" != 0 ]; then
			bad_rc=$((bad_rc + 1))
			echo "#   crawl $i: exit $rc: $(head -c 300 "$TMP/f.err")"
			continue
		fi
		read -r nproc perr maxpid < <(jq -s -r '[ (map(select(.feature == "process")) | length),
			(.[0].value.errors.process), (map(select(.feature == "process") | .value.pid) | max) ] | @tsv' "$TMP/f.json")
		if [ "$(hdr f .kind)" != '"vm"' ] || ! [ "${nproc:-0}" -ge 1 ] || [ "$nproc" -gt 5000 ] ||
			! [ "${perr:-x}" -ge 0 ] 2>/dev/null; then
			bad_frame=$((bad_frame + 1))
			echo "#   crawl $i: frame $(hdr f '{kind, records, errors}') with $nproc processes"
			continue
		fi
		errs=$((errs + perr))
		first_max=${first_max:-$maxpid}
		last_max=$maxpid
		if [ "$perr" = 0 ]; then # a complete walk sees every long-lived process
			have=$(recs f process | jq -r .pid | sort -n | tr '\n' ' ')
			for p in $known; do
				case " $have" in *" $p "*) ;; *) silent_miss=$((silent_miss + 1)); echo "#   crawl $i: pid $p missing with no error"; break ;; esac
			done
		fi
	done
	check_eq "B forking: $n live crawls exit 0 (never a signal)" 0 "$bad_rc"
	check_eq "B forking: every frame is a vm frame with 1..5000 processes and counted errors" 0 "$bad_frame"
	echo "# B forking: $errs process errors recorded over $n crawls; pids went from ${first_max:-?} to ${last_max:-?}"
	vm_exec pid1 'true & echo "$!"' && pid1=$(vm_truth exec-pid1 | tr -dc '0-9\n' | tail -1)
	echo "# B forking: the guest's newest pid went from ${pid0:-?} to ${pid1:-?} during the crawls"
	check "B forking: the guest forked hundreds of processes during the crawls" \
		test "$(( ${pid1:-0} - ${pid0:-0} ))" -ge 200
	# a walk that loses its way must say so: at most a rare unlucky one
	check "B forking: walks that end with no error saw every long-lived process ($silent_miss misses)" \
		test "$silent_miss" -le 2
	vm_exec stopfork 'kill %1 2>/dev/null; kill $(jobs -p) 2>/dev/null; sleep 2; echo stopped'
	crawl b2 --vm vmb
	check_eq "B: crawl after the forking exits 0" 0 "$(rc_of b2)"
	no_errors "B after forking" b2
	check "B: back to about as many processes ($(recs b2 process | wc -l), before $base_count)" \
		test "$(recs b2 process | wc -l)" -le $((base_count + 10))
	vm_stop
fi
unset VM_RAM_BACKEND

# ---- guest C: q35, 3 GiB, RAM above the PCI hole, kernel above 4 GiB ----------------------

if boot vmc 3G 'memmap=2030M$16M'; then
	kcode=$(vm_truth extra | awk '$1 == "iomem" { split($2, a, "-"); print a[1]; exit }')
	check "C: the kernel image lies above 4 GiB (Kernel code at 0x$kcode)" \
		test "$((16#${kcode:-0}))" -ge $((4 << 30))
	export VANTAGE_CACHE_DIR=$TMP/cache-c
	crawl k1 --vm vmc --pause
	check_eq "C: crawl --vm NAME --pause exits 0" 0 "$(rc_of k1)"
	check_eq "C: cold: profile_cached false" false "$(hdr k1 .labels.profile_cached)"
	no_errors "C paused" k1
	compare_guest "C paused" k1 "$VM_LOG"
	# the argv of a process is in the part of the RAM file that is
	# guest-physical 4 GiB and up: the translation used the split
	vm_qmp stop >/dev/null
	at=$(python3 -c '
import mmap, sys
f = open(sys.argv[1], "rb")
m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
print(m.find(b"sleep\x001000001\x00"))' "$VM_RAM")
	vm_qmp cont >/dev/null
	check "C: 'sleep 1000001' argv found at RAM file offset $at, above 2 GiB (guest-physical 4 GiB+)" \
		test "${at:--1}" -ge $((2 << 30))
	check_eq "C: its argv read right" "sleep 1000001" \
		"$(recs k1 process | jq -r 'select(.cmdline == "sleep 1000001") | .cmdline')"
	crawl k2 --vm "ram=$VM_RAM"
	check_eq "C: ram=FILE, warm: exit 0, profile_cached true" "0 true" \
		"$(rc_of k2) $(hdr k2 .labels.profile_cached)"
	same_procs "C: ram=FILE" k1 k2
	no_errors "C ram=FILE" k2
	vm_stop
fi
true
