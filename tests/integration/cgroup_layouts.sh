# Containers with sub-cgroups, limits on ancestors, and runtime-less
# containers in the host's root or a shared cgroup (issue 10): the layouts
# are built with real cgroups (every hierarchy of this host: v1, hybrid or
# v2), each container a real `unshare --pid` process moved into its
# sub-cgroup, and vantage's counters and limits compared with the cgroup
# files of the container's own cgroup.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"
T=t$$
HIERS=$(_cg_hierarchies)
V2=0
[ -f "$CGROUP_FS/cgroup.controllers" ] && V2=1
MADE=() # cgroup directories made here, deepest last

# mkdir REL in every hierarchy (remembered for removal at exit)
mk() {
	local h
	for h in $HIERS; do
		_cg_mkdir "$h" "$1" || return 1
	done
	MADE+=("$1")
}

# The directory of REL in the hierarchy that holds controller $2
# (memory, pids, cpu, cpuacct).
dir_of() {
	if [ "$V2" = 1 ]; then echo "$CGROUP_FS/$1"; else echo "$CGROUP_FS/$2/$1"; fi
}

# Limits on REL: mem BYTES|"", pids N|"", cpu QUOTA_US|"" (period 100000).
limits() {
	local rel=$1 mem=$2 pids=$3 cpu=$4
	if [ "$V2" = 1 ]; then
		[ -n "$mem" ] && echo "$mem" >"$CGROUP_FS/$rel/memory.max"
		[ -n "$pids" ] && echo "$pids" >"$CGROUP_FS/$rel/pids.max"
		[ -n "$cpu" ] && echo "$cpu 100000" >"$CGROUP_FS/$rel/cpu.max"
	else
		[ -n "$mem" ] && echo "$mem" >"$(dir_of "$rel" memory)/memory.limit_in_bytes"
		[ -n "$pids" ] && echo "$pids" >"$(dir_of "$rel" pids)/pids.max"
		if [ -n "$cpu" ]; then
			echo 100000 >"$(dir_of "$rel" cpu)/cpu.cfs_period_us"
			echo "$cpu" >"$(dir_of "$rel" cpu)/cpu.cfs_quota_us"
		fi
	fi
	return 0
}

# Start a PID-namespace process, move its PID 1 into REL ("/" for the
# root cgroup) in every hierarchy, then let it allocate MB megabytes
# (charged there).  Prints the host pid of its PID 1.
PIDS=()
start_in() {
	local rel=$1 mb=$2 flag=$TMP/go.$RANDOM upid child h i
	unshare --pid --fork --mount-proc sh -c "while [ ! -e $flag ]; do sleep 0.02; done
x=\$(head -c ${mb}000000 /dev/zero | tr '\\0' a); touch $flag.done; sleep 1000000" \
		</dev/null >/dev/null 2>&1 &
	upid=$!
	PIDS+=("$upid")
	for ((i = 0; i < 300; i++)); do
		child=$(cat "/proc/$upid/task/$upid/children" 2>/dev/null)
		child=${child%% *}
		[ -n "$child" ] && break
		sleep 0.01
	done
	[ -n "$child" ] || return 1
	for h in $HIERS; do
		echo "$child" >"$h/${rel#/}/cgroup.procs" || return 1
	done
	touch "$flag"
	for ((i = 0; i < 500; i++)); do
		[ -e "$flag.done" ] && break
		sleep 0.02
	done
	PIDS+=("$child")
	echo "$child"
}

cleanup_layouts() {
	local p h i d
	for p in "${PIDS[@]}"; do
		pkill -KILL -P "$p" 2>/dev/null
		kill -KILL "$p" 2>/dev/null
	done
	sleep 0.2
	for ((i = ${#MADE[@]} - 1; i >= 0; i--)); do
		for h in $HIERS; do
			d="$h/${MADE[$i]}"
			[ -d "$d" ] || continue
			# processes left (children of the killed ones): to the root
			while read -r p; do echo "$p" >"$h/cgroup.procs" 2>/dev/null; done <"$d/cgroup.procs"
			rmdir "$d" 2>/dev/null
		done
	done
}
on_exit cleanup_layouts

# the value of a one-number cgroup file of REL (v1 name, v2 name, controller)
val() {
	local rel=$1 f1=$2 f2=$3 ctrl=$4
	if [ "$V2" = 1 ]; then cat "$CGROUP_FS/$rel/$f2"; else cat "$(dir_of "$rel" "$ctrl")/$f1"; fi
}
mem_usage() { val "$1" memory.usage_in_bytes memory.current memory; }
pids_current() { val "$1" pids.current pids.current pids; }

# |a - b| <= max(2 MB, 5 % of b)
near() {
	awk -v a="$1" -v b="$2" 'BEGIN { d = a - b; if (d < 0) d = -d; t = b * 0.05; if (t < 2097152) t = 2097152; exit !(d <= t) }'
}

crawl() { # SYSTEM OUT
	$VANTAGE crawl --container "$1" -f metric -i 0.2 >"$2" 2>"$TMP/err"
}
cg() { jq -r "select(.feature==\"metric\" and .key==\"cgroup\").value.$1" "$2"; }

# ---- LXC with systemd inside: processes in init.scope and system.slice ----
# /vt-T.slice                           memory 256 MB, pids 300, CPU 1.5 (the "host's" slice)
#   lxc.payload.vt-T-lxc                its own: pids 200
#     init.scope                        PID 1
#     system.slice/app.service          a service using 30 MB
OUT=vt-$T.slice
LXC=$OUT/lxc.payload.vt-$T-lxc
mk "$OUT" && mk "$LXC" && mk "$LXC/init.scope" && mk "$LXC/system.slice" &&
	mk "$LXC/system.slice/app.service" || { not_ok "make the LXC layout"; exit 1; }
limits "$OUT" 268435456 300 150000
limits "$LXC" "" 200 ""
init=$(start_in "$LXC/init.scope" 1) && svc=$(start_in "$LXC/system.slice/app.service" 30) ||
	{ not_ok "start the LXC container's processes"; exit 1; }
ls_json=$($VANTAGE ls --json | jq -c "select(.name==\"vt-$T-lxc\")")
check_eq "LXC container found by its payload cgroup" lxc "$(jq -r .runtime <<<"$ls_json")"
check_eq "its cgroup is the payload, not the init's init.scope" "/$LXC" "$(jq -r .cgroup <<<"$ls_json")"
crawl "vt-$T-lxc" "$TMP/lxc.jsonl"
check_eq "crawl exits 0" 0 $?
file_mem=$(mem_usage "$LXC")
got_mem=$(cg mem_usage_bytes "$TMP/lxc.jsonl")
check "memory usage is the payload's ($got_mem ~ $file_mem), services included" near "$got_mem" "$file_mem"
check "memory usage includes the 30 MB service ($got_mem > $(mem_usage "$LXC/init.scope") + 25 MB)" \
	test "$got_mem" -gt $(($(mem_usage "$LXC/init.scope") + 25000000))
check_eq "pids: the payload's pids.current" "$(pids_current "$LXC")" "$(cg pids_current "$TMP/lxc.jsonl")"
check_eq "memory limit: the slice's (effective)" 268435456 "$(cg mem_limit_bytes "$TMP/lxc.jsonl")"
check_eq "the payload's own memory limit: none" null "$(cg mem_limit_own_bytes "$TMP/lxc.jsonl")"
[ "$V2" = 0 ] && check_eq "v1: hierarchical_memory_limit says the same" 268435456 \
	"$(awk '$1=="hierarchical_memory_limit"{print $2}' "$(dir_of "$LXC" memory)/memory.stat")"
check_eq "pids limit: the tighter, the slice's 300 vs its own 200" 200 "$(cg pids_limit "$TMP/lxc.jsonl")"
check_eq "CPU limit: the slice's 150000/100000" 1.5 "$(cg cpu_limit_cores "$TMP/lxc.jsonl")"
check_eq "its own CPU limit: none" null "$(cg cpu_limit_own_cores "$TMP/lxc.jsonl")"
check_eq "memory record: total is the effective limit" 262144 \
	"$(jq -r 'select(.feature=="metric" and .key=="memory").value.total_kb' "$TMP/lxc.jsonl")"
if [ "$V2" = 0 ]; then
	cpu_file=$(cat "$(dir_of "$LXC" cpuacct)/cpuacct.usage")
else
	cpu_file=$(($(awk '$1=="usage_usec"{print $2}' "$CGROUP_FS/$LXC/cpu.stat") * 1000))
fi
cpu_got=$(cg cpu_usage_ns "$TMP/lxc.jsonl")
check "CPU time is the payload's ($cpu_got ~ $cpu_file ns)" \
	awk -v a="$cpu_got" -v b="$cpu_file" 'BEGIN { d = b - a; exit !(d >= 0 && d < 50000000) }'
check_eq "no errors in the frame" 0 "$(jq -r 'select(.feature=="frame").value.errors.metric' "$TMP/lxc.jsonl")"

# ---- podman with crun on cgroup v2: .../libpod-ID.scope/container ----------
ID=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
PSL=vt-$T-machine.slice
POD=$PSL/libpod-$ID.scope
mk "$PSL" && mk "$POD" && mk "$POD/container" || { not_ok "make the podman layout"; exit 1; }
limits "$PSL" 134217728 50 ""
limits "$POD" 67108864 100 50000
start_in "$POD/container" 10 >/dev/null || { not_ok "start the podman container's process"; exit 1; }
crawl "$ID" "$TMP/pod.jsonl"
check_eq "podman (crun layout) crawled by id" "container:podman:$ID" \
	"$(jq -r 'select(.feature=="frame").value.id' "$TMP/pod.jsonl")"
check "memory usage is the scope's" near "$(cg mem_usage_bytes "$TMP/pod.jsonl")" "$(mem_usage "$POD")"
check_eq "memory limit: the scope's 64 MB (tighter than the slice's)" 67108864 "$(cg mem_limit_bytes "$TMP/pod.jsonl")"
check_eq "no own memory limit field when it is the effective one" null \
	"$(jq -r 'select(.key=="cgroup").value | has("mem_limit_own_bytes") | if . then "present" else null end' "$TMP/pod.jsonl")"
check_eq "pids limit: the slice's 50" 50 "$(cg pids_limit "$TMP/pod.jsonl")"
check_eq "its own pids limit: 100" 100 "$(cg pids_limit_own "$TMP/pod.jsonl")"
check_eq "CPU limit: 0.5 cores" 0.5 "$(cg cpu_limit_cores "$TMP/pod.jsonl")"
check_eq "memory record: total is the 64 MB limit" 65536 \
	"$(jq -r 'select(.feature=="metric" and .key=="memory").value.total_kb' "$TMP/pod.jsonl")"

# ---- Kubernetes (cgroupfs driver): limits on the pod ---------------------
UID_=$(cat /proc/sys/kernel/random/uuid)
KP=kubepods-vt$T/burstable/pod$UID_
KC=$KP/$ID
mk "kubepods-vt$T" && mk "kubepods-vt$T/burstable" && mk "$KP" && mk "$KC" ||
	{ not_ok "make the kubepods layout"; exit 1; }
limits "$KP" 100663296 40 200000
start_in "$KC" 5 >/dev/null || { not_ok "start the pod's process"; exit 1; }
crawl "container:cri:$ID" "$TMP/k8s.jsonl"
check_eq "Kubernetes container crawled" "container:cri:$ID" "$(jq -r 'select(.feature=="frame").value.id' "$TMP/k8s.jsonl")"
check_eq "memory limit: the pod's" 100663296 "$(cg mem_limit_bytes "$TMP/k8s.jsonl")"
check_eq "pids limit: the pod's" 40 "$(cg pids_limit "$TMP/k8s.jsonl")"
check_eq "CPU limit: the pod's 2 cores" 2 "$(cg cpu_limit_cores "$TMP/k8s.jsonl")"
check "memory usage is the container's" near "$(cg mem_usage_bytes "$TMP/k8s.jsonl")" "$(mem_usage "$KC")"

# ---- docker-in-docker: the outer container -------------------------------
ID2=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
DO=vt-$T-docker
mk "$DO" && mk "$DO/docker" && mk "$DO/docker/$ID" && mk "$DO/docker/$ID/docker" &&
	mk "$DO/docker/$ID/docker/$ID2" || { not_ok "make the docker-in-docker layout"; exit 1; }
limits "$DO/docker/$ID" 201326592 "" ""
start_in "$DO/docker/$ID" 1 >/dev/null && start_in "$DO/docker/$ID/docker/$ID2" 20 >/dev/null ||
	{ not_ok "start the docker processes"; exit 1; }
crawl "container:docker:$ID" "$TMP/dind.jsonl"
check "the outer container's memory includes the inner one's" \
	near "$(cg mem_usage_bytes "$TMP/dind.jsonl")" "$(mem_usage "$DO/docker/$ID")"
check_eq "the outer container's limit" 201326592 "$(cg mem_limit_bytes "$TMP/dind.jsonl")"
check_eq "pids: both" "$(pids_current "$DO/docker/$ID")" "$(cg pids_current "$TMP/dind.jsonl")"

# ---- PID namespace only ----------------------------------------------------
pid_system() { $VANTAGE ls --json | jq -r "select(.init_pid==$1) | .id"; }
# in the host's root cgroup
rootpid=$(start_in / 1) || { not_ok "start a process in the root cgroup"; exit 1; }
sys=$(pid_system "$rootpid")
check "PID-namespace container in the root cgroup is listed" test -n "$sys"
crawl "$sys" "$TMP/root.jsonl"
check_eq "crawl exits 0" 0 $?
check_eq "no cgroup record" 0 "$(jq -s '[.[]|select(.key=="cgroup")]|length' "$TMP/root.jsonl")"
check_eq "no memory record (no cgroup of its own)" 0 "$(jq -s '[.[]|select(.key=="memory")]|length' "$TMP/root.jsonl")"
check_eq "the frame says why" "cgroup: none: the system's processes are in the host's root cgroup" \
	"$(jq -r 'select(.feature=="frame").value.messages.metric[]' "$TMP/root.jsonl" | grep '^cgroup:')"
check_eq "no errors" 0 "$(jq -r 'select(.feature=="frame").value.errors.metric' "$TMP/root.jsonl")"

# in a cgroup shared with a host process
SH=vt-$T-shared
mk "$SH" || { not_ok "make the shared cgroup"; exit 1; }
sharedpid=$(start_in "$SH" 1) || { not_ok "start a process in the shared cgroup"; exit 1; }
sleep 1000000 </dev/null >/dev/null 2>&1 &
hostpid=$!
PIDS+=("$hostpid")
for h in $HIERS; do echo "$hostpid" >"$h/$SH/cgroup.procs"; done
crawl "$(pid_system "$sharedpid")" "$TMP/shared.jsonl"
check_eq "shared cgroup: no cgroup record" 0 "$(jq -s '[.[]|select(.key=="cgroup")]|length' "$TMP/shared.jsonl")"
check_eq "the frame names the shared cgroup and the host's process" \
	"cgroup: none: the system's cgroup /$SH is shared with the host (pid $hostpid is in it)" \
	"$(jq -r 'select(.feature=="frame").value.messages.metric[]?' "$TMP/shared.jsonl" | grep '^cgroup:')"

# in a cgroup of its own, below a limited parent
OWN=vt-$T-own
mk "$OWN" && mk "$OWN/ct" || { not_ok "make the own cgroup"; exit 1; }
limits "$OWN" 83886080 "" ""
ownpid=$(start_in "$OWN/ct" 5) || { not_ok "start a process in its own cgroup"; exit 1; }
crawl "$(pid_system "$ownpid")" "$TMP/own.jsonl"
check_eq "own cgroup: its memory limit is the parent's" 83886080 "$(cg mem_limit_bytes "$TMP/own.jsonl")"
check "own cgroup: memory usage is its cgroup's" near "$(cg mem_usage_bytes "$TMP/own.jsonl")" "$(mem_usage "$OWN/ct")"
check_eq "own cgroup: pids" "$(pids_current "$OWN/ct")" "$(cg pids_current "$TMP/own.jsonl")"

# ---- files kept open: the cgroup removed and made again between samples ----
# The first sample opens the files; the cgroup is then removed and made
# again with another limit; the second sample must reopen and see it.
$VANTAGE crawl --container "$(pid_system "$ownpid")" -f metric -i 3 >"$TMP/re.jsonl" 2>"$TMP/re.err" &
cpid=$!
sleep 1
moved=$(cat "$(dir_of "$OWN/ct" memory)/cgroup.procs")
for h in $HIERS; do
	for p in $moved; do echo "$p" >"$h/$OWN/cgroup.procs"; done
	rmdir "$h/$OWN/ct"
done
mk "$OWN/ct"
limits "$OWN/ct" 41943040 "" ""
for h in $HIERS; do
	for p in $moved; do echo "$p" >"$h/$OWN/ct/cgroup.procs"; done
done
wait $cpid
check_eq "after the cgroup was made again: its new limit" 41943040 "$(cg mem_limit_bytes "$TMP/re.jsonl")"
check_eq "and its pids" "$(pids_current "$OWN/ct")" "$(cg pids_current "$TMP/re.jsonl")"
exit 0
