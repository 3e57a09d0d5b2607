# Fixtures for tests with real containers (sourced after lib.sh).
#
#   mk_busybox_root DIR               a ~2 MB busybox root file system (sh, httpd,
#                                     nc, ip, hostname, sleep ...) with passwd,
#                                     group, os-release and /dev nodes
#   start_unshare_container NAME ROOT 'CMD'
#                                     a runtime-less container: fresh cgroups
#                                     (every v1 hierarchy, or a cgroup2 dir) named
#                                     vantage-test/NAME, then unshare --pid --mount
#                                     --net --uts --ipc --cgroup + chroot ROOT.  Its
#                                     PID 1 is /bin/sh, which sets the hostname to
#                                     NAME, brings lo up, runs `CMD &` and reaps.
#                                     Prints the host pid of that PID 1.
#                                     UNSHARE_MEM_LIMIT=BYTES sets a memory limit.
#   stop_unshare_container NAME       SIGKILL to its PID 1 (which ignores SIGTERM),
#                                     wait until its processes are gone, remove
#                                     its cgroups
#   unshare_cgroup_dirs NAME          the cgroup directories of NAME (one a line)
#   podman_setup                      CONTAINERS_CONF private file (runc, cgroupfs,
#                                     ulimits), a busybox image $PODMAN_IMAGE made
#                                     with `podman import` (removed at exit when
#                                     this test made it); returns 1 when podman
#                                     or runc is not installed
#   start_podman NAME [RUN_OPTS...] [-- CMD...]
#                                     podman run -d --network=none --name NAME;
#                                     default CMD: sleep 1000000.  Prints the full id.
#   stop_podman NAME                  podman rm -f
#
# Everything started here is stopped at exit (on_exit containers_cleanup),
# whether or not the test stopped it.  State lives in $TMP/ct/.
# See ../shared/notes/fixtures.md for why each step is there.

CT_STATE=$TMP/ct
mkdir -p "$CT_STATE"
CGROUP_FS=${CGROUP_FS:-/sys/fs/cgroup}
PODMAN_IMAGE=${PODMAN_IMAGE:-localhost/vantage-busybox:test}

mk_busybox_root() {
	local root=$1 bb
	bb=$(command -v busybox) || { echo "mk_busybox_root: busybox not installed" >&2; return 1; }
	mkdir -p "$root"/{bin,etc,dev,proc,sys,tmp,root,var/www,run} || return 1
	cp "$bb" "$root/bin/busybox" || return 1
	chroot "$root" /bin/busybox --install -s /bin || return 1
	cat >"$root/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		daemon:x:1:1:daemon:/usr/sbin:/bin/false
		www:x:33:33:www:/var/www:/bin/false
		nobody:x:65534:65534:nobody:/nonexistent:/bin/false
	EOF
	cat >"$root/etc/group" <<-'EOF'
		root:x:0:
		daemon:x:1:
		www:x:33:
		nogroup:x:65534:
	EOF
	cat >"$root/etc/os-release" <<-'EOF'
		NAME="Vantage Test Busybox"
		ID=vantage-busybox
		VERSION_ID=1.35
		PRETTY_NAME="Vantage Test Busybox 1.35"
	EOF
	mknod -m 666 "$root/dev/null" c 1 3 2>/dev/null
	mknod -m 666 "$root/dev/zero" c 1 5 2>/dev/null
	mknod -m 666 "$root/dev/urandom" c 1 9 2>/dev/null
	return 0
}

# The cgroup hierarchies to join: every mounted hierarchy directory (v1
# controllers, name=systemd, the hybrid unified dir), or the cgroup2 root.
_cg_hierarchies() {
	if [ -f "$CGROUP_FS/cgroup.controllers" ]; then
		echo "$CGROUP_FS"
		return
	fi
	local d
	for d in "$CGROUP_FS"/*/; do
		d=${d%/}
		[ -L "$d" ] && continue	# cpu -> cpu,cpuacct
		[ -f "$d/cgroup.procs" ] && echo "$d"
	done
}

unshare_cgroup_dirs() {
	local h
	for h in $(_cg_hierarchies); do echo "$h/vantage-test/$1"; done
}

# mkdir a cgroup below hierarchy $1 at relative path $2, with cpuset
# cpus/mems filled at every level (v1) or controllers enabled (v2).
_cg_mkdir() {
	local h=$1 rel=$2 cur=$1 part c
	local IFS=/
	for part in $rel; do
		if [ -f "$CGROUP_FS/cgroup.controllers" ] && [ "$h" = "$CGROUP_FS" ]; then
			for c in cpu memory pids io cpuset; do
				echo "+$c" >"$cur/cgroup.subtree_control" 2>/dev/null
			done
		fi
		mkdir -p "$cur/$part" || return 1
		if [ -f "$cur/$part/cpuset.cpus" ] && [ -z "$(cat "$cur/$part/cpuset.cpus")" ]; then
			cat "$cur/cpuset.cpus" >"$cur/$part/cpuset.cpus"
			cat "$cur/cpuset.mems" >"$cur/$part/cpuset.mems"
		fi
		cur=$cur/$part
	done
}

start_unshare_container() {
	local name=$1 root=$2 cmd=${3:-sleep 1000000} h d upid ipid i
	[ -e "$CT_STATE/$name.upid" ] && { echo "container $name already started" >&2; return 1; }
	local dirs=()
	for h in $(_cg_hierarchies); do
		_cg_mkdir "$h" "vantage-test/$name" || return 1
		dirs+=("$h/vantage-test/$name")
	done
	if [ -n "${UNSHARE_MEM_LIMIT:-}" ]; then
		for d in "${dirs[@]}"; do
			[ -f "$d/memory.limit_in_bytes" ] && echo "$UNSHARE_MEM_LIMIT" >"$d/memory.limit_in_bytes"
			[ -f "$d/memory.max" ] && echo "$UNSHARE_MEM_LIMIT" >"$d/memory.max"
		done
	fi
	printf '%s\n' "${dirs[@]}" >"$CT_STATE/$name.cgroups"
	# PID 1 of the container: ignores TERM, reaps everything it inherits.
	local init="trap '' TERM; hostname '$name' 2>/dev/null; ip link set lo up 2>/dev/null
$cmd &
while :; do wait; sleep 3600; done"
	(
		for d in "${dirs[@]}"; do echo "$BASHPID" >"$d/cgroup.procs" || exit 1; done
		exec unshare --fork --kill-child --pid --mount-proc="$root/proc" --net --uts \
			--ipc --cgroup --mount chroot "$root" /bin/sh -c "$init"
	) </dev/null >"$CT_STATE/$name.log" 2>&1 &
	upid=$!
	echo "$upid" >"$CT_STATE/$name.upid"
	for ((i = 0; i < 500; i++)); do
		ipid=$(cat "/proc/$upid/task/$upid/children" 2>/dev/null)
		ipid=${ipid%% *}
		# wait for the exec of the container's shell (chroot has exec'd)
		if [ -n "$ipid" ] && [ "$(readlink "/proc/$ipid/root" 2>/dev/null)" = "$(readlink -f "$root")" ] &&
			[ "$(cat "/proc/$ipid/comm" 2>/dev/null)" = "sh" ]; then
			echo "$ipid" >"$CT_STATE/$name.pid"
			echo "$ipid"
			return 0
		fi
		kill -0 "$upid" 2>/dev/null || break
		sleep 0.01
	done
	echo "start_unshare_container $name: did not start: $(cat "$CT_STATE/$name.log")" >&2
	stop_unshare_container "$name"
	return 1
}

stop_unshare_container() {
	local name=$1 ipid upid d i
	ipid=$(cat "$CT_STATE/$name.pid" 2>/dev/null)
	upid=$(cat "$CT_STATE/$name.upid" 2>/dev/null)
	[ -n "$ipid" ] && kill -KILL "$ipid" 2>/dev/null
	[ -n "$upid" ] && kill -KILL "$upid" 2>/dev/null
	if [ -f "$CT_STATE/$name.cgroups" ]; then
		for ((i = 0; i < 300; i++)); do
			local busy=0
			while read -r d; do
				[ -d "$d" ] || continue
				if [ -s "$d/cgroup.procs" ]; then
					busy=1
					xargs -r kill -KILL <"$d/cgroup.procs" 2>/dev/null
				fi
			done <"$CT_STATE/$name.cgroups"
			[ "$busy" = 0 ] && break
			sleep 0.01
		done
		while read -r d; do rmdir "$d" 2>/dev/null; done <"$CT_STATE/$name.cgroups"
	fi
	[ -n "$upid" ] && wait "$upid" 2>/dev/null
	rm -f "$CT_STATE/$name".{pid,upid,cgroups,log}
	return 0
}

podman_setup() {
	command -v podman >/dev/null && command -v runc >/dev/null || return 1
	export CONTAINERS_CONF=$CT_STATE/containers.conf
	cat >"$CONTAINERS_CONF" <<-'EOF'
		[containers]
		default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
		[engine]
		runtime = "runc"
		cgroup_manager = "cgroupfs"
	EOF
	if ! podman image exists "$PODMAN_IMAGE" 2>/dev/null; then
		local root=$CT_STATE/podman-root
		mk_busybox_root "$root" || return 1
		tar -C "$root" -c . | podman import - "$PODMAN_IMAGE" >/dev/null 2>&1 || return 1
		touch "$CT_STATE/podman.image"	# ours: removed at exit
	fi
	return 0
}

start_podman() {
	local name=$1 opts=() cmd=()
	shift
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do opts+=("$1"); shift; done
	[ "${1:-}" = "--" ] && shift
	cmd=("$@")
	[ ${#cmd[@]} -eq 0 ] && cmd=(sleep 1000000)
	echo "$name" >>"$CT_STATE/podman.names"
	podman run -d --network=none --name "$name" "${opts[@]}" "$PODMAN_IMAGE" "${cmd[@]}" 2>"$CT_STATE/podman-$name.err" ||
		{ cat "$CT_STATE/podman-$name.err" >&2; return 1; }
}

stop_podman() {
	podman rm -f -t 0 "$1" >/dev/null 2>&1
}

containers_cleanup() {
	local f n
	for f in "$CT_STATE"/*.upid; do
		[ -e "$f" ] || continue
		n=$(basename "$f" .upid)
		stop_unshare_container "$n"
	done
	if [ -f "$CT_STATE/podman.names" ]; then
		while read -r n; do stop_podman "$n"; done <"$CT_STATE/podman.names"
	fi
	[ -f "$CT_STATE/podman.image" ] && podman rmi "$PODMAN_IMAGE" >/dev/null 2>&1
	for f in $(_cg_hierarchies); do rmdir "$f/vantage-test" 2>/dev/null; done
	return 0
}
on_exit containers_cleanup
