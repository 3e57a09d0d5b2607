# Churn of systems under a crawling daemon (sourced after lib.sh and
# containers_lib.sh), shared by tests/integration/churn.sh (~45 s, CI) and
# tests/soak/churn.sh (5 minutes):
#
#   churn_serve DB                  vantage serve on DB, metric every 1 s,
#                                   containers and VMs on; sets SERVE_PID, PORT
#   churn_sample_start FILE         every second, "SECONDS FDS THREADS RSS_KB" of
#                                   the daemon (/proc/PID/fd, status) appended
#                                   to FILE; sets SAMPLER_PID
#   churn_run SECONDS               systems appear and vanish until SECONDS have
#                                   passed: unshare+cgroup containers (up to 4
#                                   alive), QEMU processes (tcg, -S: never run a
#                                   guest, RAM from CHURN_VM_RAM; up to 2 alive, half of them SIGKILLed,
#                                   half SIGTERMed), podman containers when
#                                   CHURN_PODMAN=1 (up to 1 alive); each lives
#                                   0.3-3 s.  Counts in CHURN_CT, CHURN_VM,
#                                   CHURN_PODMAN_N.  Everything started is
#                                   stopped at the end.
#   churn_stats FILE FROM TO COL    "start end min max slope_per_min" of column
#                                   COL (2 fds, 3 threads, 4 RSS KiB) over the
#                                   samples with FROM <= SECONDS <= TO
#   churn_min FILE FROM TO COL      the smallest value of COL in that window
#   churn_leftovers PID             descriptors of PID referring to a churned
#                                   system (none may be left once they are gone)
#   churn_others                    ids of the other systems on this host
#
# RANDOM is seeded from CHURN_SEED (printed) so a run can be repeated.
CHURN_SEED=${CHURN_SEED:-$(date +%s)}
RANDOM=$CHURN_SEED
CHURN_CT=0 CHURN_VM=0 CHURN_PODMAN_N=0

churn_serve() {
	PORT=$(free_port)
	"$VANTAGE" serve --db "$1" --listen "127.0.0.1:$PORT" --metric-interval 1 "${@:2}" \
		--log-level info 2>"$TMP/serve.log" &
	SERVE_PID=$!
	on_exit "kill -9 $SERVE_PID"
	wait_for 15 grep -q "API on" "$TMP/serve.log"
}

churn_sample_start() {
	local out=$1 t0
	t0=$(date +%s%N)
	(
		while kill -0 "$SERVE_PID" 2>/dev/null; do
			fds=$(ls "/proc/$SERVE_PID/fd" 2>/dev/null | wc -l)
			read -r th rss < <(awk '/^Threads:/ { t = $2 } /^VmRSS:/ { r = $2 } END { print t, r }' \
				"/proc/$SERVE_PID/status" 2>/dev/null)
			now=$(date +%s%N)
			[ -n "$rss" ] && echo "$(((now - t0) / 1000000000)) $fds $th $rss" >>"$out"
			sleep 1
		done
	) &
	SAMPLER_PID=$!
	on_exit "kill $SAMPLER_PID"
}

_churn_uuid() { cat /proc/sys/kernel/random/uuid; }
# NAME: a QEMU that never runs its guest; prints its pid.  With CHURN_VM_RAM
# (a booted guest's RAM: vm_lib.sh's shared snapshot) its RAM is that file
# mapped privately (share=off: the file is never written), so the daemon
# finds a Linux kernel in it and crawls it like a running guest.
_churn_qemu() {
	local ram=(-m 64 -M pc)
	[ -n "${CHURN_VM_RAM:-}" ] && ram=(-m 256M -object
		"memory-backend-file,id=mem,size=256M,mem-path=$CHURN_VM_RAM,share=off"
		-machine q35,memory-backend=mem)
	qemu-system-x86_64 -accel tcg -S "${ram[@]}" -display none -monitor none -nic none \
		-nodefaults -name "$1" -uuid "$(_churn_uuid)" </dev/null >/dev/null 2>&1 &
	echo $!
}

# what the daemon may hold of a churned system: its pid, its namespaces
_churn_remember() {
	echo "$1" >>"$TMP/churn.pids"
	local n
	for n in net mnt pid uts ipc cgroup; do readlink "/proc/$1/ns/$n"; done >>"$TMP/churn.ns" 2>/dev/null
}

# churn_leftovers PID: the descriptors of PID that refer to a churned system
# (its cgroups, root, /proc/PID files, namespaces), one "FD -> TARGET" a line
churn_leftovers() {
	local fd t p
	# namespaces some process is in now: their inode numbers are reused, so a
	# churned container's may now be another's, which the daemon rightly holds
	for p in /proc/[0-9]*/ns/*; do readlink "$p"; done 2>/dev/null | sort -u >"$TMP/live.ns"
	for fd in /proc/"$1"/fd/*; do
		t=$(readlink "$fd") || continue
		case $t in
		"$TMP"/churn.db* | "$TMP"/serve.log) ;; # the store, the daemon's stderr
		*churn-ct-* | *churn-vm-* | "$TMP"/*) echo "${fd##*/} -> $t" ;;
		/proc/[0-9]*)
			p=${t#/proc/}
			p=${p%%/*}
			# (a pid alive now is another process's: pids are reused too)
			grep -qx "$p" "$TMP/churn.pids" 2>/dev/null && [ ! -d "/proc/$p" ] && echo "${fd##*/} -> $t"
			;;
		*:\[*\])
			grep -qxF "$t" "$TMP/churn.ns" 2>/dev/null && ! grep -qxF "$t" "$TMP/live.ns" &&
				echo "${fd##*/} -> $t"
			;;
		esac
	done
	return 0
}

# churn_fd_kinds PID: PID's descriptors counted by kind of target (socket,
# anon_inode:[eventfd], pipe, /proc/self, /proc/PID, cgroupfs, /dev, other
# paths), one "COUNT KIND" a line
churn_fd_kinds() {
	local fd t
	for fd in /proc/"$1"/fd/*; do
		t=$(readlink "$fd") || continue
		case $t in
		socket:* | pipe:*) echo "${t%%:*}" ;;
		anon_inode:*) echo "$t" ;;
		*:\[*\]) echo "ns:${t%%:*}" ;;
		/proc/"$1"/* | /proc/self/*) echo "/proc/self" ;;
		/proc/[0-9]*) echo "/proc/PID" ;;
		/sys/fs/cgroup/*) echo "cgroupfs" ;;
		/dev/*) echo "/dev" ;;
		*) echo "path" ;;
		esac
	done | sort | uniq -c | awk '{ print $1, $2 }'
}

# churn_others: the ids of the systems on this host that are not churned
# ones (other tests' containers may come and go meanwhile), sorted
churn_others() { "$VANTAGE" ls --json 2>/dev/null | jq -r 'select(.name | startswith("churn-") | not) | .id' | sort; }

# churn_run SECONDS
churn_run() {
	local end=$(($(date +%s) + $1)) root=$TMP/churn-root
	[ -d "$root/bin" ] || mk_busybox_root "$root" >/dev/null || return 1
	local cts=() vms=() pods=() die_ct=() die_vm=() die_pod=() i now
	while [ "$(date +%s)" -lt "$end" ]; do
		now=$(date +%s%N)
		now=$((now / 1000000))
		# stop those whose time is up
		for i in "${!cts[@]}"; do
			if [ "${die_ct[$i]}" -le "$now" ]; then
				stop_unshare_container "${cts[$i]}"
				unset "cts[$i]" "die_ct[$i]"
			fi
		done
		for i in "${!vms[@]}"; do
			if [ "${die_vm[$i]}" -le "$now" ]; then
				if ((RANDOM % 2)); then kill -KILL "${vms[$i]}"; else kill -TERM "${vms[$i]}"; fi
				wait "${vms[$i]}" 2>/dev/null
				unset "vms[$i]" "die_vm[$i]"
			fi
		done
		for i in "${!pods[@]}"; do
			if [ "${die_pod[$i]}" -le "$now" ]; then
				stop_podman "${pods[$i]}"
				unset "pods[$i]" "die_pod[$i]"
			fi
		done
		# start new ones
		if [ "${#cts[@]}" -lt 4 ] && ((RANDOM % 2)); then
			CHURN_CT=$((CHURN_CT + 1))
			if ipid=$(start_unshare_container "churn-ct-$CHURN_CT" "$root" 'sleep 1000000'); then
				_churn_remember "$ipid"
				cts+=("churn-ct-$CHURN_CT")
				die_ct+=($((now + 300 + RANDOM % 2700)))
			fi
		fi
		if [ "${#vms[@]}" -lt 2 ] && ((RANDOM % 3 == 0)); then
			CHURN_VM=$((CHURN_VM + 1))
			vms+=("$(_churn_qemu "churn-vm-$CHURN_VM")")
			_churn_remember "${vms[-1]}"
			die_vm+=($((now + 300 + RANDOM % 2700)))
		fi
		if [ "${CHURN_PODMAN:-0}" = 1 ] && [ "${#pods[@]}" -lt 1 ] && ((RANDOM % 4 == 0)); then
			CHURN_PODMAN_N=$((CHURN_PODMAN_N + 1))
			if start_podman "churn-pod-$CHURN_PODMAN_N" >/dev/null 2>&1; then
				pods+=("churn-pod-$CHURN_PODMAN_N")
				die_pod+=($((now + 1000 + RANDOM % 2000)))
			fi
		fi
		sleep 0.$((1 + RANDOM % 3))
	done
	for i in "${!cts[@]}"; do stop_unshare_container "${cts[$i]}"; done
	for i in "${!vms[@]}"; do kill -KILL "${vms[$i]}"; wait "${vms[$i]}" 2>/dev/null; done
	for i in "${!pods[@]}"; do stop_podman "${pods[$i]}"; done
	return 0
}

churn_stats() {
	awk -v from="$2" -v to="$3" -v c="$4" '
		$1 >= from && $1 <= to {
			v = $c; n++
			if (n == 1) { first = v; min = v; max = v }
			last = v
			if (v < min) min = v
			if (v > max) max = v
			sx += $1; sy += v; sxx += $1 * $1; sxy += $1 * v
		}
		END {
			if (n < 2) { print "0 0 0 0 0"; exit }
			d = n * sxx - sx * sx
			slope = d ? (n * sxy - sx * sy) / d : 0
			printf "%d %d %d %d %.2f\n", first, last, min, max, slope * 60
		}' "$1"
}

churn_min() { awk -v from="$2" -v to="$3" -v c="$4" '$1 >= from && $1 <= to && (m == "" || $c < m) { m = $c } END { print m + 0 }' "$1"; }
