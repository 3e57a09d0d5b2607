#!/usr/bin/env bash
# Integration test: a cgroup-v2-only host, with Vantage running INSIDE it.
#
# A QEMU guest (Debian's 6.1 kernel, TCG, one CPU; vm_lib.sh) boots with
# `systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all` and a busybox root
# that also carries build/vantage and its libraries (vm_guest_lib.sh).  Its
# /init mounts cgroup2 at /sys/fs/cgroup, enables +cpu +memory +pids +io
# down the tree and starts containers in the layouts real runtimes make on
# pure v2, each a PID namespace whose processes fill a tmpfs file (memory
# charged to their cgroup):
#
#   podman/crun  /machine.slice/libpod-<id>.scope/container   limits on the scope:
#                memory 64M, pids 20, cpu.max 50 ms/100 ms; 20M filled
#   docker       /system.slice/docker-<id>.scope   (own network namespace, a
#                listener and a connection inside) limits 96M / 40 on the scope
#                but 48M / 25 on /system.slice: the effective ones; 12M filled
#   lxc          /lxc.payload.web/init.scope and .../system.slice/x.service
#                (LXC with systemd inside), limits 80M / 30 on lxc.payload.web;
#                8M filled in each sub-cgroup
#   none         `unshare --pid --fork --mount-proc`, left in the root cgroup
#
# The guest loads no sock_diag module (none is in its root), so the
# connection feature must fall back to /proc/net and say so.  Through the
# command channel (VM_CONTROL) the guest prints the cgroup files, runs
# `vantage crawl --host --containers -f connection,metric -i 1`, prints
# the files again, its sockets (/proc/net, the netns container's too) and
# which pid holds which socket (a shell walk of /proc/*/fd); here jq
# compares: limits exactly (the effective ones), counters between the
# values read before and after the crawl (memory within 2 %), no cgroup
# counters and a reason for the root-cgroup PID-namespace container, and
# every socket with its owner.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/vm_lib.sh"
source "$(dirname "$0")/vm_guest_lib.sh"

t_start=$(date +%s)
VM_CONTROL=1
VM_TRUTH_EXTRA='mkdir -p /mnt/v1; if mount -t cgroup -o memory cgroup /mnt/v1 2>/dev/null; then echo "v1: mounted"; else echo "v1: refused"; fi; cat /sys/fs/cgroup/cgroup.subtree_control'
POD=$(printf 'a1%.0s' $(seq 32))
DOCK=$(printf 'd0%.0s' $(seq 32))
MiB=1048576
jqt() { jq -e "$@" >/dev/null; }

# ---- the guest's files --------------------------------------------------------------
g=$TMP/guestfiles
mkdir -p "$g/ct"
cat >"$g/cg_setup.sh" <<EOF
POD=$POD
DOCK=$DOCK
EOF
cat >>"$g/cg_setup.sh" <<'EOF'
# sourced by /init (vm_lib.sh) before the truth is printed
CG=/sys/fs/cgroup
CTL="+cpu +memory +pids +io"
mkdir -p $CG && mount -t cgroup2 cgroup2 $CG
ctl() { echo "$CTL" >"$CG$1/cgroup.subtree_control" || echo "cg_setup: cannot enable $CTL in $1"; }
put() { echo "$2" >"$CG$1" || echo "cg_setup: cannot write $2 to $1"; }
ctl ""
# podman with crun: the scope holds the limits, the processes are in "container"
mkdir -p $CG/machine.slice/libpod-$POD.scope/container
ctl /machine.slice
ctl /machine.slice/libpod-$POD.scope
put /machine.slice/libpod-$POD.scope/memory.max 67108864
put /machine.slice/libpod-$POD.scope/pids.max 20
put /machine.slice/libpod-$POD.scope/cpu.max "50000 100000"
# docker: a leaf scope; its ancestor /system.slice is tighter
mkdir -p $CG/system.slice/docker-$DOCK.scope
ctl /system.slice
put /system.slice/docker-$DOCK.scope/memory.max 100663296
put /system.slice/docker-$DOCK.scope/pids.max 40
put /system.slice/memory.max 50331648
put /system.slice/pids.max 25
# LXC with systemd inside: limits on the payload, init in init.scope
mkdir -p $CG/lxc.payload.web/init.scope $CG/lxc.payload.web/system.slice/x.service
ctl /lxc.payload.web
ctl /lxc.payload.web/system.slice
put /lxc.payload.web/memory.max 83886080
put /lxc.payload.web/pids.max 30
# the containers: each init moves itself into its cgroup (`echo 0`), so the
# unshare process that waits for it stays a host process (as conmon does)
unshare -p -f --mount-proc sh /ct/podman.sh </dev/null >/dev/null 2>&1 &
unshare -p -f -n --mount-proc sh /ct/docker.sh </dev/null >/dev/null 2>&1 &
unshare -p -f --mount-proc sh /ct/lxc.sh </dev/null >/dev/null 2>&1 &
unshare -p -f --mount-proc sh /ct/none.sh </dev/null >/dev/null 2>&1 &
n=0
while [ "$(ls /tmp/*.done 2>/dev/null | wc -l)" -lt 5 ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
echo "cg_setup: $(ls /tmp/*.done 2>/dev/null | wc -l) of 5 fills done"
EOF
cat >"$g/ct/podman.sh" <<EOF
echo 0 >/sys/fs/cgroup/machine.slice/libpod-$POD.scope/container/cgroup.procs
dd if=/dev/zero of=/tmp/podman.fill bs=1M count=20 2>/dev/null
touch /tmp/podman.done
sleep 1000011 &
exec sleep 1000012
EOF
cat >"$g/ct/docker.sh" <<EOF
echo 0 >/sys/fs/cgroup/system.slice/docker-$DOCK.scope/cgroup.procs
ip link set lo up
sleep 1000034 | nc -l -p 7070 >/dev/null &
sleep 1
sleep 1000033 | nc 127.0.0.1 7070 >/dev/null &
dd if=/dev/zero of=/tmp/docker.fill bs=1M count=12 2>/dev/null
touch /tmp/docker.done
exec sleep 1000032
EOF
cat >"$g/ct/lxc.sh" <<'EOF'
CG=/sys/fs/cgroup/lxc.payload.web
echo 0 >$CG/init.scope/cgroup.procs
(
	echo 0 >$CG/system.slice/x.service/cgroup.procs
	dd if=/dev/zero of=/tmp/lxc-svc.fill bs=1M count=8 2>/dev/null
	touch /tmp/lxc-svc.done
	exec sleep 1000022
) &
dd if=/dev/zero of=/tmp/lxc-init.fill bs=1M count=8 2>/dev/null
touch /tmp/lxc-init.done
exec sleep 1000021
EOF
cat >"$g/ct/none.sh" <<'EOF'
dd if=/dev/zero of=/tmp/none.fill bs=1M count=4 2>/dev/null
touch /tmp/none.done
sleep 1000041 &
exec sleep 1000042
EOF
cat >"$g/cg_truth.sh" <<EOF
POD=$POD
DOCK=$DOCK
EOF
cat >>"$g/cg_truth.sh" <<'EOF'
# cg_truth.sh PHASE: "cg|PHASE|dir|key|value" for each container cgroup,
# "pn|PHASE|netns|file|line" for the sockets, "fd|PHASE|pid|socket:[N]"
CG=/sys/fs/cgroup
ph=$1
for d in /machine.slice/libpod-$POD.scope /system.slice/docker-$DOCK.scope /lxc.payload.web; do
	p=$CG$d
	for f in memory.current memory.max pids.current pids.max; do
		[ -f $p/$f ] && echo "cg|$ph|$d|$f|$(cat $p/$f)"
	done
	while read -r k v; do echo "cg|$ph|$d|cpu.$k|$v"; done <$p/cpu.stat
	grep -E '^(anon|file) ' $p/memory.stat | while read -r k v; do echo "cg|$ph|$d|mem.$k|$v"; done
	awk -v pre="cg|$ph|$d|io." '{ for (i = 2; i <= NF; i++) { split($i, a, "="); s[a[1]] += a[2] } }
		END { for (k in s) print pre k "|" s[k] }' $p/io.stat
	# effective limits: the tightest of the cgroup's and its ancestors'
	for f in memory.max pids.max; do
		e=max q=$d
		while [ -n "$q" ]; do
			v=$(cat $CG$q/$f 2>/dev/null)
			if [ -n "$v" ] && [ "$v" != max ] && { [ "$e" = max ] || [ "$v" -lt "$e" ]; }; then e=$v; fi
			q=${q%/*}
		done
		echo "cg|$ph|$d|eff.$f|$e"
	done
done
for f in tcp tcp6 udp udp6; do sed "s/^/pn|$ph|host|$f|/" /proc/net/$f; done
dpid=$(head -1 $CG/system.slice/docker-$DOCK.scope/cgroup.procs)
for f in tcp tcp6 udp udp6; do sed "s/^/pn|$ph|docker|$f|/" /proc/$dpid/net/$f; done
for p in /proc/[0-9]*; do
	for f in $p/fd/*; do
		l=$(readlink $f 2>/dev/null)
		case $l in socket:*) echo "fd|$ph|${p#/proc/}|$l" ;; esac
	done
done
EOF

# ---- boot ---------------------------------------------------------------------------
if ! vm_kernel || ! vm_guest_initramfs "$TMP/initrd.gz" ". /cg_setup.sh" "$g"; then
	not_ok "a guest root with vantage in it was built"
	exit 0
fi
VM_INITRD=$TMP/initrd.gz
vm_start cgv2 512M "systemd.unified_cgroup_hierarchy=1 cgroup_no_v1=all"
if ! vm_wait_ready 150; then
	not_ok "the cgroup-v2 guest booted"
	exit 0
fi
ok "the cgroup-v2 guest booted ($VM_KVER, $(($(date +%s) - t_start)) s)"
check_eq "guest: the cgroups were set up, the containers filled their memory" \
	"cg_setup: 5 of 5 fills done" "$(tr -d '\r' <"$VM_LOG" | grep -o 'cg_setup: .*')"
check_eq "guest: cgroup v2 only (v1 cannot be mounted), controllers enabled" \
	"v1: refused|cpu io memory pids" "$(vm_truth extra | paste -sd'|')"
check_eq "guest: no sock_diag module loaded" "" \
	"$(vm_truth modules | awk '$1 ~ /^(inet|tcp|udp)_diag$/ { print $1 }')"

# ---- crawl inside, truth around it -----------------------------------------------
cmd="sh /cg_truth.sh before; $VM_GUEST_VANTAGE crawl --host --containers -f connection,metric -i 1"
cmd+=" >/tmp/crawl.json 2>/tmp/crawl.err; echo \"crawl-rc|\$?\"; sh /cg_truth.sh after;"
cmd+=" cat /tmp/crawl.json; sed 's/^/stderr|/' /tmp/crawl.err"
if ! vm_exec crawl "$cmd" 150; then
	not_ok "vantage crawl ran in the guest"
	exit 0
fi
out=$TMP/out
vm_truth exec-crawl >"$out"
grep '^{' "$out" >"$TMP/crawl.json"
check_eq "crawl in the guest exits 0" "crawl-rc|0" "$(grep '^crawl-rc|' "$out")"
check_eq "crawl: nothing on stderr" "" "$(grep '^stderr|' "$out" | head -5)"
check "crawl: its output is JSON" jqt -s 'length > 0' "$TMP/crawl.json"

# the truth as JSON: {"before": {dir: {key: value}}, "after": ...}
jq -R -s '[split("\n")[] | select(startswith("cg|")) | split("|")] |
	reduce .[] as $l ({}; .[$l[1]][$l[2]][$l[3]] = ($l[4] | if test("^[0-9]+$") then tonumber else . end))' \
	"$out" >"$TMP/cg.json"

crawl() { jq -c "$@" "$TMP/crawl.json"; }
frame() { crawl "select(.feature == \"frame\" and .key == \"$1\") | .value"; }
cgrec() { crawl "select(.system == \"$1\" and .feature == \"metric\" and .key == \"cgroup\") | .value"; }
# truth PHASE DIR KEY
truth() { jq -r --arg p "$1" --arg d "$2" --arg k "$3" '.[$p][$d][$k] // "absent"' "$TMP/cg.json"; }

# between ID FIELD DIR KEY SCALE SLACK_PCT: the record's field lies between
# the truth before and after (times SCALE), widened by SLACK_PCT percent
between() {
	local id=$1 field=$2 dir=$3 key=$4 scale=$5 slack=$6 v b a
	v=$(cgrec "$id" | jq -r ".$field")
	b=$(truth before "$dir" "$key")
	a=$(truth after "$dir" "$key")
	if [ "$b" = absent ] || [ "$a" = absent ]; then b=0 a=0; fi
	if jq -e -n --argjson v "${v:-null}" --argjson b "$b" --argjson a "$a" --argjson s "$scale" \
		--argjson p "$slack" '($v | type) == "number" and
			$v >= ([$b, $a] | min) * $s * (1 - $p / 100) and
			$v <= ([$b, $a] | max) * $s * (1 + $p / 100)' >/dev/null; then
		ok "$id: $field = $v, $dir $key ${b}..${a} (x$scale, ${slack} %)"
	else
		not_ok "$id: $field = $v, $dir $key ${b}..${a} (x$scale, ${slack} %)"
	fi
}

# ---- containers: every counter and limit against the cgroup files ----------------
check_container() { # ID DIR MEM_LIMIT PIDS_LIMIT MIN_USAGE
	local id=$1 dir=$2 mem=$3 pids=$4 min=$5 h r
	h=$(frame "$id")
	if [ -z "$h" ]; then
		not_ok "$id: found and crawled"
		return
	fi
	ok "$id: found and crawled"
	r=$(cgrec "$id")
	check_eq "$id: a cgroup record, version 2" 2 "$(jq -r '.version' <<<"${r:-null}")"
	check_eq "$id: the files say limits $mem / $pids" "$mem $pids" \
		"$(truth after "$dir" eff.memory.max) $(truth after "$dir" eff.pids.max)"
	check_eq "$id: mem_limit_bytes is the effective limit ($dir and ancestors)" "$mem" \
		"$(jq -r '.mem_limit_bytes' <<<"${r:-null}")"
	check_eq "$id: pids_limit is the effective limit" "$pids" "$(jq -r '.pids_limit' <<<"${r:-null}")"
	between "$id" pids_current "$dir" pids.current 1 0
	between "$id" mem_usage_bytes "$dir" memory.current 1 2
	check "$id: mem_usage_bytes holds what it filled (>= $((min / MiB)) MiB)" \
		jqt -n --argjson v "$(jq '.mem_usage_bytes // 0' <<<"${r:-null}")" "\$v >= $min"
	between "$id" mem_anon_bytes "$dir" mem.anon 1 2
	between "$id" mem_cache_bytes "$dir" mem.file 1 2
	between "$id" cpu_usage_ns "$dir" cpu.usage_usec 1000 0
	between "$id" cpu_user_ns "$dir" cpu.user_usec 1000 0
	between "$id" cpu_system_ns "$dir" cpu.system_usec 1000 0
	between "$id" nr_periods "$dir" cpu.nr_periods 1 0
	between "$id" nr_throttled "$dir" cpu.nr_throttled 1 0
	between "$id" throttled_ns "$dir" cpu.throttled_usec 1000 0
	between "$id" io_read_bytes "$dir" io.rbytes 1 0
	between "$id" io_write_bytes "$dir" io.wbytes 1 0
	check "$id: cpu_pct over two samples" jqt '(.cpu_pct | type) == "number" and .cpu_pct >= 0 and
		.cpu_pct <= 100 and .interval_s > 0' <<<"${r:-null}"
}
check_container "container:podman:$POD" "/machine.slice/libpod-$POD.scope" 67108864 20 $((20 * MiB))
check_container "container:docker:$DOCK" "/system.slice/docker-$DOCK.scope" 50331648 25 $((12 * MiB))
check_container "container:lxc:web" /lxc.payload.web 83886080 30 $((16 * MiB))

# the PID-namespace-only container, whose processes sit in the root cgroup
none=$(crawl 'select(.feature == "frame" and (.key | startswith("container:none:"))) | .value')
check_eq "none: the PID-namespace container is found (one)" 1 "$(jq -s length <<<"$none")"
nid=$(jq -r .id <<<"$none" | head -1)
check_eq "none: no cgroup counters of its own" "" "$(cgrec "$nid")"
check "none: its frame says why" jqt '.messages.metric // [] | any(test("cgroup"))' <<<"${none:-null}"
check "none: no error about memory files" jqt '[.messages[]?[]] | all(test("No such file") | not)' \
	<<<"${none:-null}"

# ---- connection: /proc/net, since there is no sock_diag ---------------------------
# /proc/net lines -> the records the connection feature writes (without owners)
procnet_json() { # PHASE NETNS
	grep "^pn|$1|$2|" "$out" | python3 -c '
import json, socket, struct, sys
TCP = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
       6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING"}
def addr(h):
    raw = b"".join(struct.pack("<I", int(h[i:i + 8], 16)) for i in range(0, len(h), 8))
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)
out = []
for line in sys.stdin:
    _, _, _, f, rest = line.rstrip("\n").split("|", 4)
    w = rest.split()
    if w[0] == "sl":
        continue
    (la, lp), (ra, rp) = w[1].split(":"), w[2].split(":")
    st = int(w[3], 16)
    udp = f.startswith("udp")
    out.append({"proto": "udp" if udp else "tcp", "family": "ipv6" if f.endswith("6") else "ipv4",
                "local_addr": addr(la), "local_port": int(lp, 16), "remote_addr": addr(ra),
                "remote_port": int(rp, 16),
                "state": ({7: "UNCONN", 1: "ESTABLISHED"}.get(st, "UNKNOWN") if udp else TCP.get(st, "UNKNOWN")),
                "inode": int(w[9]) or None, "uid": int(w[7])})
print(json.dumps(out))' | jq -c "$canon"
}
# records in one order whatever their fields' order
canon='map(to_entries | sort_by(.key) | from_entries) | sort_by(tojson)'

# inode -> lowest pid holding it, from the shell's walk of /proc/*/fd
grep '^fd|after|' "$out" | awk -F'|' '{ gsub(/[^0-9]/, "", $4); if (!($4 in o) || $3 + 0 < o[$4]) o[$4] = $3 + 0 }
	END { for (i in o) print i, o[i] }' | jq -R -s 'split("\n") | map(select(length > 0) | split(" ") |
	{(.[0]): (.[1] | tonumber)}) | add // {}' >"$TMP/owners.json"

check_sockets() { # NAME SYSTEM_ID NETNS
	local name=$1 id=$2 ns=$3 h got want_b want_a bad
	h=$(frame "$id")
	check_eq "$name: the frame header says the sockets came from procfs" procfs \
		"$(jq -r '.sources.connection // "absent"' <<<"${h:-null}")"
	check_eq "$name: no connection errors" 0 "$(jq -r '.errors.connection' <<<"${h:-null}")"
	got=$(crawl "select(.system == \"$id\" and .feature == \"connection\") | .value |
		del(.pid, .comm)" | jq -s -c "$canon")
	want_b=$(procnet_json before "$ns")
	want_a=$(procnet_json after "$ns")
	if [ "$got" = "$want_b" ] || [ "$got" = "$want_a" ]; then
		ok "$name: the sockets are /proc/net's ($(jq length <<<"$got"), with states, uid, inode)"
	else
		not_ok "$name: the sockets are /proc/net's"
		diff <(jq -c '.[]' <<<"$want_a") <(jq -c '.[]' <<<"$got") | sed 's/^/#   /' | head -20
	fi
	bad=$(crawl "select(.system == \"$id\" and .feature == \"connection\") | .value |
		select(.inode != null) | [.inode, .pid]" | jq -s -c --slurpfile o "$TMP/owners.json" \
		'map(select(.[1] != $o[0][.[0] | tostring]))')
	check_eq "$name: every socket's owner is the lowest pid holding it" "[]" "$bad"
}
check_sockets host "$(crawl 'select(.feature == "frame" and .value.kind == "host") | .key' | tr -d '"')" host
check_sockets "docker netns" "container:docker:$DOCK" docker
# podman and lxc share the host's network namespace: only the sockets their
# processes hold (none), read from the host's /proc/net all the same
for id in "container:podman:$POD" container:lxc:web; do
	check_eq "$id: shares the host's netns: no sockets of its own, source procfs" "0 procfs" \
		"$(crawl "select(.system == \"$id\" and .feature == \"connection\")" | wc -l) $(frame "$id" |
			jq -r '.sources.connection // "absent"')"
done
# known DESC SYSTEM_PREFIX FILTER: the system's connection records satisfy
# FILTER (jq, over the array of their values)
known() {
	if ! crawl "select((.system | startswith(\"$2\")) and .feature == \"connection\") | .value" |
		jqt -s "$3"; then
		not_ok "$1"
		crawl "select((.system | startswith(\"$2\")) and .feature == \"connection\") | .value" |
			sed 's/^/#   record: /' | head -10
		return
	fi
	ok "$1"
}
known "host: httpd's listener on 8080, owner httpd" host: \
	'map(select(.local_port == 8080 and .state == "LISTEN")) | length > 0 and all(.[]; .comm == "httpd")'
# busybox nc -l closes its listener once it accepted
known "docker: the connection to 7070 in its own netns, both ends owned by nc" "container:docker:" \
	'map(select(.local_port == 7070 or .remote_port == 7070)) | length == 2 and
		all(.[]; .state == "ESTABLISHED" and .comm == "nc")'
# every listener of the boot-time netstat is still there
want=$(vm_truth netstat | awk '$6 == "LISTEN" { print $1 " " $4 }' | sed 's/^tcp6* /tcp /' | sort -u)
got=$(crawl 'select(.feature == "connection" and .value.state == "LISTEN" and (.system | startswith("host:"))) |
	.value | "tcp \(.local_addr):\(.local_port)"' | tr -d '"' | sort -u)
check_eq "host: the listeners of netstat (boot)" "$want" "$got"

t=$(($(date +%s) - t_start))
check "the suite took under 3 minutes ($t s)" test "$t" -lt 180
