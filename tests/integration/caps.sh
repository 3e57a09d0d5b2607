# Dropping capabilities (issue 17): `vantage serve --drop-caps` keeps only
# what the enabled views need (docs/security.md) in every thread, in the
# bounding set too, and still sees what it saw with all of root's: the
# host's processes, a container's host name (setns into its UTS namespace)
# and listening socket (its network namespace), a root-only file in its root.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"
on_exit containers_cleanup

mk_busybox_root "$TMP/root" >/dev/null || { not_ok "busybox root"; exit 1; }
printf 'rootonly=1\n' >"$TMP/root/etc/only-root.conf"
chmod 000 "$TMP/root/etc/only-root.conf"
start_unshare_container capsct "$TMP/root" 'httpd -f -p 8099' >/dev/null ||
	{ not_ok "container"; exit 1; }

hexmask() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status"; }
# the mask of capabilities by number: CAP_DAC_READ_SEARCH 2, CAP_NET_ADMIN 12,
# CAP_NET_RAW 13, CAP_SYS_PTRACE 19, CAP_SYS_ADMIN 21
mask() { local m=0 c; for c in "$@"; do m=$((m | (1 << c))); done; printf '%016x' "$m"; }

run() { # DB ARGS... : serve in the background, SERVE_PID, PORT
	PORT=$(free_port)
	local db=$1
	shift
	"$VANTAGE" serve --no-vms --no-logs --db "$db" --listen "127.0.0.1:$PORT" --log-level info "$@" \
		2>"$db.log" &
	SERVE_PID=$!
	on_exit "kill -9 $SERVE_PID"
	wait_for 20 curl -sf --max-time 3 "http://127.0.0.1:$PORT/api/v1/health" -o /dev/null
}
api() { curl -s --max-time 5 "http://127.0.0.1:$PORT$1"; }
container_seen() { # the container with its host name (setns) and its listener
	local id
	id=$(api /api/v1/systems | jq -r '.systems[] | select(.name == "capsct") | .id | @uri' | head -1)
	[ -n "$id" ] || return 1
	api "/api/v1/systems/$id/frame?feature=connection" | grep -q '8099' &&
		api "/api/v1/systems/$id/frame?feature=config" | grep -q 'rootonly=1'
}

# ---- with --drop-caps ----------------------------------------------------------------
run "$TMP/d.db" --drop-caps --connection-interval 5s --config-interval 5s || not_ok "serve --drop-caps started"
want=$(mask 2 19 21)
check_eq "main thread: effective set is DAC_READ_SEARCH, SYS_PTRACE, SYS_ADMIN" "$want" "$(hexmask "$SERVE_PID" CapEff)"
check_eq "main thread: permitted set the same" "$want" "$(hexmask "$SERVE_PID" CapPrm)"
check_eq "main thread: bounding set the same (a child cannot get more)" "$want" "$(hexmask "$SERVE_PID" CapBnd)"
check_eq "inheritable and ambient sets empty" "0000000000000000 0000000000000000" \
	"$(hexmask "$SERVE_PID" CapInh) $(hexmask "$SERVE_PID" CapAmb)"
bad=0 n=0
for t in /proc/"$SERVE_PID"/task/*; do
	st=$(cat "$t/status" 2>/dev/null) || continue # a short-lived thread ended
	n=$((n + 1))
	[ "$(awk '$1 == "CapEff:" { print $2 }' <<<"$st")" = "$want" ] || bad=$((bad + 1))
	[ "$(awk '$1 == "CapBnd:" { print $2 }' <<<"$st")" = "$want" ] || bad=$((bad + 1))
done
check "every one of its $n threads has the reduced sets" test "$bad" -eq 0 -a "$n" -gt 2
check "it logs what it kept" grep -q "capabilities: kept CAP_DAC_READ_SEARCH,CAP_SYS_PTRACE,CAP_SYS_ADMIN" "$TMP/d.db.log"
if wait_for 40 container_seen; then
	ok "the container is seen whole: its listener (setns), its root-only file (DAC_READ_SEARCH)"
else
	not_ok "the container under --drop-caps"; tail -5 "$TMP/d.db.log" | sed 's/^/#   /'
fi
hid=$(api /api/v1/systems | jq -r '.systems[] | select(.kind == "host") | .id | @uri')
np=$(api "/api/v1/systems/$hid/frame?feature=process" | jq '[.records[]?] | length')
check "the host's processes are all read (${np:-0})" [ "${np:-0}" -gt 20 ]
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
check_eq "SIGTERM exits 0" 0 $?

# ---- the set follows the options --------------------------------------------------------
run "$TMP/e.db" --drop-caps --no-containers --sflow-listen "127.0.0.1:$(free_port)" ||
	not_ok "serve --drop-caps --no-containers started"
check_eq "no containers, an sFlow collector: SYS_ADMIN dropped, NET_ADMIN kept" "$(mask 2 12 19)" \
	"$(hexmask "$SERVE_PID" CapEff)"
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"

# ---- without it: root's full set, for comparison ----------------------------------------
run "$TMP/f.db" --no-containers || not_ok "serve started"
check "without --drop-caps the daemon keeps root's set" [ "$(hexmask "$SERVE_PID" CapEff)" != "$(mask 2 19)" ]
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"

# ---- the systemd unit turns it on -------------------------------------------------------
check "dist/vantage.service runs serve with --drop-caps" \
	grep -q '^ExecStart=.*vantage serve.*--drop-caps' "$(dirname "$0")/../../dist/vantage.service"
