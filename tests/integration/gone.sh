#!/usr/bin/env bash
# Why a system went away (issue 12): `vantage serve` records a reason for
# each container that exits.  Real containers, a real daemon:
#   - an unshare+cgroup container with a 32 MiB memory limit whose process
#     allocates past it and is OOM-killed: the metric series
#     cgroup.oom_kills counts it while the container lives; the container
#     is then stopped and its cgroups removed, and its gone_reason says
#     oom_killed true and the kills counted (read while it lived);
#   - a podman container whose process exits with code 3: exit_code 3, from
#     podman's files on disk (no podman command asked by vantage);
#   - an unshare container killed with SIGKILL: no runtime records its exit
#     code, so null (how "exited"), or 137 when the daemon saw its init as a
#     zombie first; oom_killed false.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"

command -v curl >/dev/null || { not_ok "curl is installed"; exit 1; }
mk_busybox_root "$TMP/root" >/dev/null || { not_ok "busybox root"; exit 1; }
have_podman=1
podman_setup || have_podman=0
DB=$TMP/v.db
PORT=$(free_port)

systems_json() { "$VANTAGE" systems --all --json --db "$DB" 2>/dev/null; }
# reason NAME: the gone_reason of the system named NAME ("null" when none)
reason() { systems_json | jq -c --arg n "$1" '[.[] | select(.name == $n)][0].gone_reason'; }
has_reason() { [ "$(reason "$1")" != null ] && [ -n "$(reason "$1")" ]; }
has_system() { systems_json | jq -e --arg n "$1" 'any(.[]; .name == $n)' >/dev/null 2>&1; }
id_of() { systems_json | jq -r --arg n "$1" '[.[] | select(.name == $n)][0].id'; }
# the latest stored cgroup.oom_kills of system $1 (empty when none)
oom_series() {
	"$VANTAGE" metrics "$1" cgroup.oom_kills --db "$DB" --since 10m --step 1s --stat max --json \
		2>/dev/null | jq -r '[.points[][1] // empty] | last // empty' 2>/dev/null
}
oom_series_is() { [ "$(oom_series "$1")" = "$2" ]; }

# ---- the daemon -----------------------------------------------------------------------
"$VANTAGE" serve --no-vms --db "$DB" --listen "127.0.0.1:$PORT" --metric-interval 1 \
	--log-level info 2>"$TMP/serve.log" &
SERVE_PID=$!
on_exit "kill -9 $SERVE_PID"
wait_for 10 grep -q "API on" "$TMP/serve.log" || { not_ok "the daemon starts"; cat "$TMP/serve.log"; exit 1; }

# A plain container, started now so that its PID namespace (its id) is not
# one vt-oom's freed.
start_unshare_container vt-plain "$TMP/root" 'sleep 1000000' >/dev/null || not_ok "start vt-plain"

# ---- an OOM kill inside a container with a memory limit -------------------------------
# The group (not PID 1) reads 200 MB into a shell variable: the OOM killer
# ends it, PID 1 lives on.
UNSHARE_MEM_LIMIT=33554432 start_unshare_container vt-oom "$TMP/root" \
	'{ sleep 2; x=$(head -c 200000000 /dev/zero | tr "\000" a); sleep 1000000; }' >/dev/null ||
	{ not_ok "start the OOM container"; exit 1; }
wait_for 15 has_system vt-oom
check "the OOM container is stored" has_system vt-oom
OOM_ID=$(id_of vt-oom)
memcg=$(grep '/memory/' "$CT_STATE/vt-oom.cgroups" || grep -v '/cpu' "$CT_STATE/vt-oom.cgroups" | head -1)
oomfile=$memcg/memory.oom_control
[ -f "$oomfile" ] || oomfile=$memcg/memory.events
kills() { sed -n 's/^oom_kill //p' "$oomfile"; }
wait_for 20 bash -c "grep -q '^oom_kill [1-9]' '$oomfile'"
check "the kernel's OOM killer ended the allocating process ($oomfile: $(kills))" grep -q '^oom_kill [1-9]' "$oomfile"
sleep 1 # the pipeline's processes may be killed one after the other: let the count settle
K=$(kills)
wait_for 15 oom_series_is "$OOM_ID" "$K"
check_eq "metric series cgroup.oom_kills of the container counts the kills" "$K" "$(oom_series "$OOM_ID")"
check_eq "... the container lives on (PID 1 was not the victim)" 0 \
	"$(kill -0 "$(cat "$CT_STATE/vt-oom.pid")" 2>/dev/null; echo $?)"
stop_unshare_container vt-oom # kills it and removes its cgroups
gone_dir() { rmdir "$memcg" 2>/dev/null; ! test -d "$memcg"; }
wait_for 10 gone_dir
check "its cgroups are removed" gone_dir
wait_for 15 has_reason vt-oom
r=$(reason vt-oom)
echo "# vt-oom: $r"
check_eq "gone_reason: exited" exited "$(jq -r .reason <<<"$r")"
check_eq "gone_reason: oom_killed true" true "$(jq -r .oom_killed <<<"$r")"
check_eq "gone_reason: oom_kills $K (read while it lived)" "$K" "$(jq -r .oom_kills <<<"$r")"
check "gone_reason: how says the OOM killer" bash -c "jq -r .how <<<'$r' | grep -q 'killed by the OOM killer'"
check_eq "the system is marked gone" true \
	"$(systems_json | jq -r --arg n vt-oom '[.[] | select(.name == $n)][0].gone')"
check "GET /api/v1/systems?gone=true gives the reason" bash -c \
	"curl -s 'http://127.0.0.1:$PORT/api/v1/systems?gone=true' | jq -e '.systems[] | select(.name == \"vt-oom\") | .gone_reason.oom_killed == true' >/dev/null"

# ---- a plain container killed: no runtime keeps its exit code ---------------------------
wait_for 15 has_system vt-plain
check "the plain container is stored" has_system vt-plain
stop_unshare_container vt-plain
wait_for 15 has_reason vt-plain
r=$(reason vt-plain)
echo "# vt-plain: $r"
check_eq "gone_reason: exited" exited "$(jq -r .reason <<<"$r")"
check "gone_reason: exit_code null (how \"exited\"), or 137 read from its zombie" bash -c \
	"jq -e '(.exit_code == null and .how == \"exited\") or (.exit_code == 137 and .exit_from == \"proc\" and .how == \"exited 137\")' <<<'$r' >/dev/null"
check_eq "gone_reason: oom_killed false" false "$(jq -r .oom_killed <<<"$r")"
check_eq "gone_reason: oom_kills 0 (its own cgroup, read)" 0 "$(jq -r .oom_kills <<<"$r")"

# ---- podman: exit code 3 from podman's files ----------------------------------------------
if [ "$have_podman" = 1 ]; then
	cid=$(start_podman vt-exit3 -- sh -c 'while [ ! -e /tmp/go ]; do sleep 0.1; done; exit 3') ||
		not_ok "podman run vt-exit3"
	wait_for 15 has_system vt-exit3
	check "the podman container is stored" has_system vt-exit3
	check_eq "... as container:podman:<id>" "container:podman:$cid" "$(id_of vt-exit3)"
	ppid=$(podman inspect -f '{{.State.Pid}}' vt-exit3)
	touch "/proc/$ppid/root/tmp/go"
	wait_for 20 bash -c "[ \"\$(podman inspect -f '{{.State.Status}}' vt-exit3)\" = exited ]"
	check_eq "podman says it exited with 3" 3 "$(podman inspect -f '{{.State.ExitCode}}' vt-exit3)"
	exit3() { [ "$(reason vt-exit3 | jq -r .exit_code 2>/dev/null)" = 3 ]; }
	wait_for 20 exit3
	r=$(reason vt-exit3)
	echo "# vt-exit3: $r"
	check_eq "gone_reason: exit_code 3" 3 "$(jq -r .exit_code <<<"$r")"
	check "gone_reason: from podman's files" bash -c "jq -r .exit_from <<<'$r' | grep -q '^podman'"
	check_eq "gone_reason: how" "exited 3" "$(jq -r .how <<<"$r")"
	check_eq "gone_reason: oom_killed false" false "$(jq -r .oom_killed <<<"$r")"
	check "vantage systems --all: its STATE says gone: exited 3" bash -c \
		"'$VANTAGE' systems --all --db '$DB' | grep vt-exit3 | grep -q 'gone: exited 3'"
	stop_podman vt-exit3
else
	not_ok "podman and runc are installed (scripts/setup.sh --tests installs them)"
fi

check "the daemon logged no error" bash -c "! grep -q ': error:' '$TMP/serve.log'"
kill -TERM "$SERVE_PID"
wait "$SERVE_PID"
check_eq "the daemon stops cleanly" 0 $?
