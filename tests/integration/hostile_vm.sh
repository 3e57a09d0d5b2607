#!/usr/bin/env bash
# A guest whose RAM changes under the reader all the time (issue 17,
# docs/reliability.md "Hostile guests"): a QEMU guest (Debian's 6.1 kernel
# under TCG, vm_lib.sh) runs a fork and mmap storm (hostile_tool storm,
# built static and added to its initramfs, started by its init) while
# `vantage crawl --vm` reads its RAM again and again, in both formats, for
# STORM_SECONDS (default 20 s in CI; tests/soak/guest_storm.sh runs 300 s,
# then `vantage serve` watching the guest too).  Every crawl must exit 0
# within its bound (STORM_CRAWL_MAX, 30 s) with a whole frame whose every
# line parses, bad reads counted as errors in the header; never a signal,
# never a hang.  The figures: crawls made, their median and longest time,
# the largest RSS of a crawl, errors counted, how far the guest's pids
# went (how much it forked meanwhile).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/vm_lib.sh"
need_testbin hostile_tool
CHECK=$(cd "$(dirname "$0")" && pwd)/hostile_check.py
STORM_SECONDS=${STORM_SECONDS:-20}
STORM_CRAWL_MAX=${STORM_CRAWL_MAX:-30}
STORM_SERVE=${STORM_SERVE:-0}
STORM_SERVE_SECONDS=${STORM_SERVE_SECONDS:-60}
export VANTAGE_CACHE_DIR=$TMP/cache

# the storm in the guest: started by init before the truth is printed
if ! vm_kernel || ! vm_initramfs "$TMP/initrd.gz" "/hostile_tool storm 0 >/dev/null 2>&1 &"; then
	not_ok "guest kernel and initramfs"
	exit 1
fi
mkdir -p "$TMP/extra" && cp "$TESTBIN/hostile_tool" "$TMP/extra/hostile_tool"
# the kernel unpacks concatenated archives in order (as vm_guest_lib.sh does)
(cd "$TMP/extra" && find . -mindepth 1 | cpio -o -H newc --quiet -R 0:0 | gzip -1) >>"$TMP/initrd.gz"
VM_INITRD=$TMP/initrd.gz
vm_start storm 256M ""
if ! vm_wait_ready 180; then
	not_ok "the storming guest booted"
	exit 1
fi
ok "the guest ($VM_KVER) booted with the storm running"
# the storm's pid in the guest's own ps (its comm is hostile_tool)
check "the storm runs in the guest (its ps)" grep -q hostile_tool <(vm_truth ps)

crawls=0 bad_rc=0 bad_parse=0 slow=0 errs=0 maxms=0 maxkb=0 pmin= pmax=0
times=()
end=$((SECONDS + STORM_SECONDS))
while [ $SECONDS -lt $end ]; do
	fmt=json
	[ $((crawls % 2)) = 1 ] && fmt=crawler
	out=$TMP/c.$fmt
	t=$(date +%s%N)
	/usr/bin/time -f '%M' -o "$TMP/time" timeout -s KILL "$STORM_CRAWL_MAX" \
		"$VANTAGE" crawl --vm "$VM_NAME" -i 0 -f os,process,module,connection,metric,interface \
		--format $fmt >"$out" 2>"$TMP/err"
	rc=$?
	ms=$((($(date +%s%N) - t) / 1000000))
	crawls=$((crawls + 1))
	times+=("$ms")
	[ "$ms" -gt "$maxms" ] && maxms=$ms
	kb=$(tail -1 "$TMP/time")
	[ "${kb:-0}" -gt "$maxkb" ] 2>/dev/null && maxkb=$kb
	if [ $rc -ne 0 ]; then
		bad_rc=$((bad_rc + 1))
		echo "# crawl $crawls ($fmt): exit $rc after $ms ms: $(head -c 300 "$TMP/err")"
		continue
	fi
	if ! python3 "$CHECK" parse $fmt "$out" >"$TMP/parse" 2>&1 || ! grep -q '^parsed 1 frames' "$TMP/parse"; then
		bad_parse=$((bad_parse + 1))
		echo "# crawl $crawls ($fmt): $(head -3 "$TMP/parse")"
	fi
	if [ $fmt = json ]; then h=$(head -1 "$out" | jq -c .value); else h=$(head -1 "$out" | cut -f3-); fi
	errs=$((errs + $(jq '[.errors[]] | add // 0' <<<"$h")))
	# the guest's pids (json: the key; crawler: after the "/")
	if [ $fmt = json ]; then
		jq -r 'select(.feature=="process") | .value.pid' "$out" >"$TMP/pids"
	else
		awk -F'\t' '$1=="process"' "$out" | cut -f3- | jq -r .pid >"$TMP/pids"
	fi
	hi=$(sort -n "$TMP/pids" | tail -1)
	n=$(wc -l <"$TMP/pids")
	[ "$n" -ge 1 ] && [ "$n" -le 65536 ] || { bad_parse=$((bad_parse + 1)); echo "# crawl $crawls: $n processes"; }
	[ -z "$pmin" ] && pmin=$hi
	[ "${hi:-0}" -gt "$pmax" ] && pmax=$hi
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}')
echo "# figure: storm ${STORM_SECONDS}s: $crawls crawls of the guest's RAM (json and crawler alternately), median $median ms, longest $maxms ms, largest crawl RSS $((maxkb / 1024)) MiB, $errs read errors counted in the headers; the guest's newest pid went from ${pmin:-?} to $pmax"
check "storm: crawled again and again ($crawls crawls in ${STORM_SECONDS}s)" test "$crawls" -ge 3
check_eq "storm: every crawl exits 0 within ${STORM_CRAWL_MAX}s (no signal, no hang)" 0 "$bad_rc"
check_eq "storm: every frame is whole and every line parses, in both formats" 0 "$bad_parse"
check "storm: the guest forked hundreds of processes meanwhile (pids ${pmin:-?} -> $pmax)" \
	test $((pmax - ${pmin:-0})) -ge 500
check "storm: QEMU still runs" kill -0 "$VM_PID"

if [ "$STORM_SERVE" = 1 ]; then
	# the daemon watches the storming guest: its VM lane crawls the RAM
	# every metric interval; it must keep storing frames and stay bounded
	PORT=$(free_port)
	printf '[intervals]\nmetric = 2s\nprocess = 2s\nconnection = 4s\n' >"$TMP/s.ini"
	"$VANTAGE" serve --no-containers --config "$TMP/s.ini" --db "$TMP/s.db" --listen "127.0.0.1:$PORT" 2>"$TMP/serve.log" &
	SP=$!
	on_exit "kill -9 $SP"
	sleep "$STORM_SERVE_SECONDS" # the daemon runs beside the storm for this long: the point of the wait
	h=$(curl -s --max-time 10 "http://127.0.0.1:$PORT/api/v1/health")
	check "serve beside the storm: still answering after ${STORM_SERVE_SECONDS}s" test -n "$h"
	vmframes=$("$VANTAGE" show "$VM_NAME" --json --db "$TMP/s.db" 2>/dev/null | jq -r '.frame.kind')
	check_eq "serve beside the storm: the guest's frames are stored" vm "$vmframes"
	hwm=$(awk '/^VmHWM:/ {print $2}' /proc/$SP/status)
	echo "# figure: serve beside the storm ${STORM_SERVE_SECONDS}s: $(jq '.daemon.frames_stored' <<<"$h") frames stored, $(jq '.daemon.frames_failed' <<<"$h") failed, $(jq '.daemon.crawl_errors' <<<"$h") crawl errors, peak RSS $((hwm / 1024)) MiB"
	kill -TERM $SP
	wait $SP
	check_eq "serve beside the storm: SIGTERM exits 0" 0 $?
fi
