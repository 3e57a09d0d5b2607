#!/usr/bin/env bash
# Systems appearing and vanishing under the daemon (issue 17, faults): a
# real `vantage serve` crawling every second while unshare+cgroup
# containers and QEMU processes (tcg, -S: discovered, never booted; half
# SIGKILLed, half SIGTERMed) start and stop in a loop for CHURN_SECONDS
# (default 30; tests/soak/churn.sh runs it for 5 minutes).  Checked: the
# daemon never dies and its API answers throughout; churned systems are
# stored and all marked gone at the end; once every churned system is
# gone, the daemon holds no descriptor of any of them (cgroups, root,
# /proc/PID files, namespaces), and - when no other system came or went on
# the host meanwhile (other tests' containers would change them) - its
# descriptors (the read-only store handles the API's worker threads open at
# their first request apart: two descriptors each at most) and threads are
# back to what they were before the churn and
# its RSS within CHURN_RSS_KB (default 6 MiB) of it; no error
# logged; the store passes `vantage db check`; SIGTERM exits 0.  The seed
# of the churn's randomness is printed (CHURN_SEED repeats a run).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"
source "$(dirname "$0")/vm_lib.sh"
source "$(dirname "$0")/churn_lib.sh"
VANTAGE=${VANTAGE_PLAIN:-$VANTAGE} # it measures the daemon's memory: the plain build (ASan's quarantine and shadow would count)

DUR=${CHURN_SECONDS:-25}
RSS_TOL=${CHURN_RSS_KB:-6144}
command -v qemu-system-x86_64 >/dev/null || { not_ok "qemu-system-x86_64 is installed"; exit 1; }
# the QEMU processes hold a booted guest's RAM (vm_lib.sh's shared snapshot)
vm_snapshot || { not_ok "the shared guest RAM snapshot (vm_lib.sh)"; exit 1; }
CHURN_VM_RAM=$VM_SNAP_MEM
if [ "${CHURN_PODMAN:-0}" = 1 ] && ! podman_setup; then
	not_ok "podman and runc are installed (CHURN_PODMAN=1)"
	CHURN_PODMAN=0
fi
echo "# churn seed $CHURN_SEED, $DUR s"
DB=$TMP/churn.db
churn_serve "$DB" || { not_ok "the daemon starts"; cat "$TMP/serve.log"; exit 1; }
ok "the daemon starts (pid $SERVE_PID)"
S=$TMP/samples
touch "$S"
churn_sample_start "$S"

# ---- before: the host alone, a few ticks -----------------------------------------------
# the API's threads open their store handles at their first requests: made
# before the baseline, as the churn's polls would make them after it
cpids=()
for i in 1 2 3 4 5 6 7 8; do
	curl -sf --max-time 5 "http://127.0.0.1:$PORT/api/v1/systems" >/dev/null &
	cpids+=($!)
done
wait "${cpids[@]}"
# one container that comes and goes before the baseline: the first container
# of the test makes its parent cgroups (vantage-test/ in each hierarchy),
# which the daemon then keeps open, one descriptor each, whatever follows
mk_busybox_root "$TMP/churn-root" >/dev/null || { not_ok "busybox root"; exit 1; }
start_unshare_container churn-warm "$TMP/churn-root" 'sleep 1000000' >/dev/null
warm_seen() { "$VANTAGE" systems --all --json --db "$DB" 2>/dev/null | jq -e 'any(.[]; .name == "churn-warm")' >/dev/null; }
wait_for 20 warm_seen
stop_unshare_container churn-warm
warm_gone() { "$VANTAGE" systems --all --json --db "$DB" 2>/dev/null | jq -e 'any(.[]; .name == "churn-warm" and .gone)' >/dev/null; }
wait_for 20 warm_gone
wait_for 20 bash -c "[ \$(wc -l <'$S' 2>/dev/null || echo 0) -ge 5 ]"
B0=$(tail -1 "$S" | cut -d' ' -f1)
sleep 4 # the baseline window: 4 samples of the daemon with no churned system
B1=$(tail -1 "$S" | cut -d' ' -f1)
churn_others >"$TMP/others.before"
churn_fd_kinds "$SERVE_PID" >"$TMP/fdkinds.before"
fd_targets() { for f in /proc/"$SERVE_PID"/fd/*; do readlink "$f"; done 2>/dev/null | sort; }
fd_targets >"$TMP/fds.before"

# ---- the churn, the API polled meanwhile --------------------------------------------------
(
	n=0 bad=0
	while [ ! -e "$TMP/churn.done" ]; do
		n=$((n + 1))
		curl -sf --max-time 5 "http://127.0.0.1:$PORT/api/v1/systems" >/dev/null || bad=$((bad + 1))
		sleep 0.5
	done
	echo "$n $bad" >"$TMP/api.poll"
) &
POLL=$!
on_exit "kill $POLL"
C0=$(tail -1 "$S" | cut -d' ' -f1)
churn_run "$DUR" 2>>"$TMP/churn.err" # (bash's "Killed" notices of the containers)
C1=$(tail -1 "$S" | cut -d' ' -f1)
touch "$TMP/churn.done"
wait $POLL
echo "# churned: $CHURN_CT containers, $CHURN_VM QEMU processes, $CHURN_PODMAN_N podman containers"
check "the daemon lived through the churn" kill -0 "$SERVE_PID"
read -r polls bad <"$TMP/api.poll"
check_eq "the API answered every poll during the churn ($polls)" 0 "$bad"

# ---- every churned system stored, and gone ----------------------------------------------
systems() { "$VANTAGE" systems --all --json --db "$DB" 2>/dev/null; }
churned() { systems | jq -r --arg p "$1" '[.[] | select(.name | startswith($p))] | "\(length) \(map(select(.gone)) | length)"'; }
all_gone() { read -r n g < <(churned "$1"); [ "$n" -gt 0 ] && [ "$n" = "$g" ]; }
wait_for 40 all_gone churn-ct-
read -r nct gct < <(churned churn-ct-)
# (a share only: the daemon's ticks stretch on a loaded machine, and a
# container may live 0.3 s)
check "containers stored: $nct of $CHURN_CT (those that lived past a discovery)" \
	test "$nct" -ge $((CHURN_CT / 10)) -a "$nct" -ge 1 -a "$nct" -le "$CHURN_CT"
check_eq "every stored container is marked gone" "$nct" "$gct"
wait_for 40 all_gone churn-vm-
read -r nvm gvm < <(churned churn-vm-)
check "VMs stored: $nvm of $CHURN_VM" test "$nvm" -ge 1 -a "$nvm" -le "$CHURN_VM"
check_eq "every stored VM is marked gone" "$nvm" "$gvm"
check "no container is left alive by the test" bash -c "! ls '$CT_STATE'/*.upid >/dev/null 2>&1"

# ---- after: the host alone again --------------------------------------------------------
sleep 5 # the after window: the daemon with every churned system gone, 5 samples
A0=$(($(tail -1 "$S" | cut -d' ' -f1) - 4))
A1=$(tail -1 "$S" | cut -d' ' -f1)
figure() { # NAME COL UNIT
	local st b a
	st=$(churn_stats "$S" "$C0" "$C1" "$2")
	b=$(churn_min "$S" "$B0" "$B1" "$2")
	a=$(churn_min "$S" "$A0" "$A1" "$2")
	read -r s e mn mx sl <<<"$st"
	read -r _ _ _ _ sl2 <<<"$(churn_stats "$S" $(((C0 + C1) / 2)) "$C1" "$2")"
	echo "# figure: churn $DUR s: $1 before $b, during: start $s end $e min $mn max $mx slope $sl $3/min (second half $sl2), after $a"
	eval "${1}_B=$b ${1}_A=$a"
}
figure fds 2 ""
figure threads 3 ""
figure rss_kb 4 KiB
churn_leftovers "$SERVE_PID" >"$TMP/leftovers"
check "no descriptor of the daemon refers to a churned system ($(wc -l <"$TMP/leftovers") do)" \
	test ! -s "$TMP/leftovers"
sed 's/^/#   /' "$TMP/leftovers" | head -5
churn_others >"$TMP/others.after"
churn_fd_kinds "$SERVE_PID" >"$TMP/fdkinds.after"
echo "# descriptors by kind, before: $(tr '\n' ',' <"$TMP/fdkinds.before")"
echo "# descriptors by kind, after:  $(tr '\n' ',' <"$TMP/fdkinds.after")"
fd_targets >"$TMP/fds.after"
comm -13 "$TMP/fds.before" "$TMP/fds.after" | head -8 | sed 's/^/#   new after: /'
comm -23 "$TMP/fds.before" "$TMP/fds.after" | head -8 | sed 's/^/#   gone after: /'
# the API's worker threads open their read-only store handle (the store and
# its WAL) at their first request, whichever thread a connection lands on:
# counted apart, and bounded by the threads (which must not grow)
store_fds() { grep -c "^$DB" "$1"; }
st_B=$(store_fds "$TMP/fds.before") st_A=$(store_fds "$TMP/fds.after")
check "store handles after the churn: $st_A descriptors, at most 2 per thread ($threads_A)" \
	test "$st_A" -le $((2 * threads_A))
if cmp -s "$TMP/others.before" "$TMP/others.after"; then
	check "descriptors after the churn, store handles apart ($((fds_A - st_A))) = before ($((fds_B - st_B)))" \
		test $((fds_A - st_A)) -le $((fds_B - st_B))
	check "threads after the churn ($threads_A) = before ($threads_B)" test "$threads_A" -le "$threads_B"
	check "RSS after the churn ($rss_kb_A KiB) within $RSS_TOL KiB of before ($rss_kb_B KiB)" \
		test "$rss_kb_A" -le $((rss_kb_B + RSS_TOL))
else
	echo "# other systems came or went on this host during the churn ($(wc -l <"$TMP/others.before") -> $(wc -l <"$TMP/others.after")): totals not compared"
	ok "descriptors, threads, RSS before and after # SKIP other tests' systems changed the totals"
fi
check "the daemon logged no error" bash -c "! grep ': error:' '$TMP/serve.log'"
grep -c ': warning:' "$TMP/serve.log" | sed 's/^/# warnings logged: /'
grep ': warning:' "$TMP/serve.log" | sed 's/^vantage: warning: //; s/[0-9a-f]\{12,\}/ID/g; s/[0-9][0-9]*/N/g' |
	sort | uniq -c | sort -rn | head -5 | sed 's/^/#   /'
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
check_eq "SIGTERM: the daemon exits 0" 0 $?
"$VANTAGE" db check --db "$DB" >"$TMP/check.out" 2>&1
check_eq "vantage db check of the store: exit 0" 0 $?
sed 's/^/#   /' "$TMP/check.out" | tail -3
