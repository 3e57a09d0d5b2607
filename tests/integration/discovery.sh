#!/usr/bin/env bash
# Container discovery with real containers: two runtime-less unshare
# containers and one podman container (name, label, imported image) must
# appear in `vantage ls --json` with the right runtime, id, name, image,
# labels, process count, init pid and state; a host process in a cgroup of
# its own (memory only, like this machine's services) must not; a paused
# container shows "paused"; stopped containers disappear.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"

A=vt-$$-a
B=vt-$$-b
WEB=vt-$$-web

# ns_count INODE: host processes in the PID namespace INODE (the oracle)
ns_count() {
	local n=0 f
	for f in /proc/[0-9]*/ns/pid; do
		[ "$(readlink "$f" 2>/dev/null)" = "pid:[$1]" ] && n=$((n + 1))
	done
	echo "$n"
}
pidns_of() { readlink "/proc/$1/ns/pid" | tr -dc 0-9; }
# row NAME FIELD: a field of the system named NAME in $TMP/ls.json
row() { jq -r --arg n "$1" "select(.name == \$n) | $2" "$TMP/ls.json"; }

mk_busybox_root "$TMP/root-a" && mk_busybox_root "$TMP/root-b"
check "busybox roots built" test -x "$TMP/root-a/bin/sh" -a -x "$TMP/root-b/bin/sh"

pa=$(start_unshare_container "$A" "$TMP/root-a" 'sleep 1000 & sleep 1001')
pb=$(start_unshare_container "$B" "$TMP/root-b" 'httpd -f -p 8080')
check "unshare containers started" test -n "$pa" -a -n "$pb"

# a host service in a memory-only cgroup of its own: not a container
svc_cg=$CGROUP_FS/memory/vantage-test/$$-svc
[ -f "$CGROUP_FS/cgroup.controllers" ] && svc_cg=$CGROUP_FS/vantage-test/$$-svc
mkdir -p "$svc_cg"
(echo "$BASHPID" >"$svc_cg/cgroup.procs" && exec sleep 1000) &
svc=$!
on_exit "kill -KILL $svc; wait_for 5 rmdir $svc_cg"

have_podman=0
if podman_setup; then
	have_podman=1
	web_id=$(start_podman "$WEB" --label app=web --label tier=front -- \
		/bin/sh -c 'sleep 1000 & httpd -f -p 8080 & wait')
	check "podman container started" test -n "$web_id"
	web_pid=$(podman inspect --format '{{.State.Pid}}' "$WEB" 2>/dev/null)
else
	ok "# SKIP podman or runc not installed (scripts/setup.sh --tests installs them)"
fi
# the containers' shells have started their children
settled() {
	[ "$(ns_count "$(pidns_of "$pa")")" = 3 ] && [ "$(ns_count "$(pidns_of "$pb")")" = 2 ] &&
		{ [ "$have_podman" = 0 ] || [ "$(ns_count "$(pidns_of "$web_pid")")" = 3 ]; }
}
wait_for 10 settled

check "vantage ls --json runs" sh -c "'$VANTAGE' ls --json >'$TMP/ls.json'"
check "every line is a JSON object" jq -e 'type == "object"' "$TMP/ls.json" >/dev/null
check_eq "first row is the host" "host" "$(head -1 "$TMP/ls.json" | jq -r .kind)"
check "host row counts processes" test "$(head -1 "$TMP/ls.json" | jq .procs)" -gt 10

for c in "$A:$pa:3" "$B:$pb:2"; do
	IFS=: read -r name pid procs <<<"$c"
	ns=$(pidns_of "$pid")
	check_eq "$name: runtime none" "none" "$(row "$name" .runtime)"
	check_eq "$name: id from the pid namespace" "container:none:pidns-$ns" "$(row "$name" .id)"
	check_eq "$name: cid" "pidns-$ns" "$(row "$name" .cid)"
	check_eq "$name: init pid" "$pid" "$(row "$name" .init_pid)"
	check_eq "$name: process count" "$procs" "$(row "$name" .procs)"
	check_eq "$name: process count matches the namespace" "$(ns_count "$ns")" "$(row "$name" .procs)"
	check_eq "$name: kind" "container" "$(row "$name" .kind)"
	check_eq "$name: state" "running" "$(row "$name" .state)"
	check_eq "$name: no labels" "{}" "$(row "$name" '.labels | tojson')"
	check_eq "$name: cgroup" "/vantage-test/$name" "$(row "$name" .cgroup)"
	check_eq "$name: net namespace" "$(readlink /proc/"$pid"/ns/net | tr -dc 0-9)" "$(row "$name" .netns)"
	check "$name: init pid among its pids" test "$(row "$name" ".pids | index($pid)")" != null
done
check_eq "the unshare process itself is the host's" "0" \
	"$(jq -s --argjson p "$(cat "$CT_STATE/$A.upid")" '[.[] | select(.kind == "container") | select(.pids | index($p))] | length' "$TMP/ls.json")"
check_eq "host service in its own cgroup is not a container" "0" \
	"$(jq -s --argjson p "$svc" '[.[] | select(.kind == "container") | select(.pids | index($p))] | length' "$TMP/ls.json")"
check_eq "no container named after the service cgroup" "" "$(row "$$-svc" .id)"

if [ "$have_podman" = 1 ]; then
	check_eq "podman: runtime" "podman" "$(row "$WEB" .runtime)"
	check_eq "podman: id" "container:podman:$web_id" "$(row "$WEB" .id)"
	check_eq "podman: short id" "${web_id:0:12}" "$(row "$WEB" .short_id)"
	check_eq "podman: image" "$PODMAN_IMAGE" "$(row "$WEB" .image)"
	check_eq "podman: labels" '{"app":"web","tier":"front"}' "$(row "$WEB" '.labels | tojson')"
	check_eq "podman: init pid" "$web_pid" "$(row "$WEB" .init_pid)"
	check_eq "podman: process count" "3" "$(row "$WEB" .procs)"
	check_eq "podman: process count matches the namespace" "$(ns_count "$(pidns_of "$web_pid")")" "$(row "$WEB" .procs)"
	check_eq "podman: state" "running" "$(row "$WEB" .state)"
	created=$(podman inspect --format '{{.Created.Unix}}' "$WEB")
	check_eq "podman: created time" "$created" "$(row "$WEB" .created)"
	conmon=$(cat /run/containers/storage/overlay-containers/"$web_id"/userdata/conmon.pid 2>/dev/null)
	check_eq "podman: conmon is not in the container" "0" \
		"$(jq -s --argjson p "${conmon:-0}" '[.[] | select(.kind == "container") | select(.pids | index($p))] | length' "$TMP/ls.json")"

	podman pause "$WEB" >/dev/null 2>&1
	"$VANTAGE" ls --json >"$TMP/ls.json"
	check_eq "podman: paused" "paused" "$(row "$WEB" .state)"
	podman unpause "$WEB" >/dev/null 2>&1
fi

"$VANTAGE" ls >"$TMP/ls.txt"
check "table has a header" grep -q '^ID *KIND *RUNTIME *NAME *IMAGE *PROCS *STATE$' "$TMP/ls.txt"
check "table lists $A" grep -q "pidns-$(pidns_of "$pa") *container *none *$A .* 3 *running" "$TMP/ls.txt"
[ "$have_podman" = 1 ] && check "table lists $WEB" grep -q "^${web_id:0:12} *container *podman *$WEB *$PODMAN_IMAGE *3 *running" "$TMP/ls.txt"

stop_unshare_container "$A"
[ "$have_podman" = 1 ] && stop_podman "$WEB"
"$VANTAGE" ls --json >"$TMP/ls.json"
check_eq "$A is gone after stop" "" "$(row "$A" .id)"
[ "$have_podman" = 1 ] && check_eq "$WEB is gone after stop" "" "$(row "$WEB" .id)"
check_eq "$B is still there" "$pb" "$(row "$B" .init_pid)"
stop_unshare_container "$B"
"$VANTAGE" ls --json >"$TMP/ls.json"
check_eq "$B is gone after stop" "" "$(row "$B" .id)"

check "ls --help" sh -c "'$VANTAGE' ls --help | grep -q 'Usage: vantage ls'"
"$VANTAGE" ls --bogus >/dev/null 2>&1
check_eq "unknown option: exit 2" "2" "$?"
"$VANTAGE" ls extra >/dev/null 2>&1
check_eq "extra argument: exit 2" "2" "$?"
