# The dashboard in a real browser: a `vantage serve` on loopback (temporary
# store, 2 s intervals) watching this host, a runtime-less container whose
# memory limit the test raises once (the limit line must step), and, when
# podman is there, a client and a server container on an internal podman
# network (a topology edge) where a process is started after the first
# frames (a drift).  Then `node tests/ui/run.mjs` runs every
# tests/ui/*.test.mjs in Debian's chromium against it; its TAP lines are
# this suite's checks.
#
# What the browser tests get (environment):
#   VANTAGE_TEST_BASE        http://127.0.0.1:PORT (no trailing '/')
#   VANTAGE_TEST_DB          the store file (read it with `vantage ... --db`)
#   VANTAGE_TEST_HOST_ID     the host's system id
#   VANTAGE_TEST_CTR         name of the limited container (runtime-less)
#   VANTAGE_TEST_CTR_ID      its system id
#   VANTAGE_TEST_SEARCH      a search query finding it by name (name=NAME)
#   VANTAGE_TEST_LIMIT_METRIC  cgroup.mem_limit_bytes
#   VANTAGE_TEST_LIMIT_OLD / _NEW  its memory limit in bytes before and after
#   VANTAGE_TEST_LIMIT_CHANGED_MS  when the test raised it (epoch ms)
#   VANTAGE_TEST_PODMAN      1 when the podman containers below run, else 0
#   VANTAGE_TEST_SERVER / _SERVER_ID   the podman server container (nc listening on :8000)
#   VANTAGE_TEST_CLIENT / _CLIENT_ID   the podman client (one connection to it, 10 KB/s)
#   VANTAGE_TEST_DRIFT_ID    the system that changed (the server; else CTR)
#   VANTAGE_TEST_DRIFT_BEFORE_MS / _AFTER_MS  a time before and after the change
#   VANTAGE_TEST_DRIFT_PROCESS the change: a process started with this command
#                            (`sleep 4242`... as its command line)
#   VANTAGE_TEST_HOSTILE_NAME / _ARG / _ID  a container whose host name, and a
#                            process in it whose command line, are markup
#   VANTAGE_ARTIFACTS        where screenshots go (build/artifacts/ui)
# Usage: tests/run dashboard; or bash tests/integration/dashboard.sh [TEST...]
# (names of tests/ui/*.test.mjs without .test.mjs).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=vt-ui$$
DB=$TMP/store.db
MIB=1048576

for need in node /usr/bin/chromium "$ROOT/ui/node_modules/playwright-core" "$ROOT/ui/node_modules/uplot"; do
	command -v "$need" >/dev/null 2>&1 || [ -e "$need" ] ||
		{ not_ok "$need is missing: run scripts/setup.sh --tests"; exit 1; }
done
[ -f "$ROOT/ui/index.html" ] || { not_ok "ui/index.html is missing"; exit 1; }
on_exit containers_cleanup

# ---- containers ----------------------------------------------------------------------------------
mk_busybox_root "$TMP/root" >/dev/null || { not_ok "busybox root"; exit 1; }
CPID=$(UNSHARE_MEM_LIMIT=$((256 * MIB)) start_unshare_container "$T-app" "$TMP/root" \
	"httpd -f -p 127.0.0.1:8080 -h /tmp") || { not_ok "start the container"; exit 1; }

# a container whose host name and a process's command line are markup: the
# dashboard must show them as text (tests/ui/hostile.test.mjs)
HOSTILE_NAME='<script>alert(1)</script><img src=x onerror=alert(2)>'
HOSTILE_ARG='<img src=x onerror=alert(3)>'
HPID=$(start_unshare_container "$T-hostile" "$TMP/root" "sleep 1000000") || { not_ok "start the hostile container"; exit 1; }
nsenter -t "$HPID" -u python3 -c 'import socket, sys; socket.sethostname(sys.argv[1])' "$HOSTILE_NAME" || not_ok "set the hostile container's host name"
(
	while read -r d; do echo "$BASHPID" >"$d/cgroup.procs"; done <"$CT_STATE/$T-hostile.cgroups"
	exec nsenter -t "$HPID" -m -u -i -n -p -r -w sh -c 'sleep 1000001; :' "$HOSTILE_ARG"
) </dev/null >/dev/null 2>&1 &
on_exit "kill -9 $!"

PODMAN=0
if podman_setup 2>/dev/null; then
	NET=$T-net
	SUB=10.212.$((RANDOM % 200 + 20))
	if podman network create --internal --subnet "$SUB.0/24" "$NET" >/dev/null 2>"$TMP/net.err"; then
		on_exit podman network rm -f "$NET"
		echo "$T-server" >>"$CT_STATE/podman.names"
		echo "$T-client" >>"$CT_STATE/podman.names"
		if podman run -d --network "$NET" --ip "$SUB.3" --memory 128m --name "$T-server" "$PODMAN_IMAGE" \
			sh -c 'nc -ll -p 8000 -e sh -c "cat >/dev/null"' >/dev/null 2>"$TMP/server.err" &&
			podman run -d --network "$NET" --ip "$SUB.2" --name "$T-client" "$PODMAN_IMAGE" \
				sh -c "sleep 1; while :; do head -c 1000 /dev/zero; sleep 0.1; done | nc $SUB.3 8000" >/dev/null 2>"$TMP/client.err"; then
			PODMAN=1
		else
			echo "# podman containers did not start: $(cat "$TMP/server.err" "$TMP/client.err" 2>/dev/null | head -3)"
		fi
	else
		echo "# podman network create: $(cat "$TMP/net.err")"
	fi
else
	echo "# podman is not usable here: the topology and drift data come from the runtime-less container only"
fi

# ---- the daemon ----------------------------------------------------------------------------------
PORT=$(free_port)
BASE=http://127.0.0.1:$PORT
"$VANTAGE" serve --no-vms --db "$DB" --listen "127.0.0.1:$PORT" --ui-dir "$ROOT/ui" \
	--metric-interval 2s --process-interval 2s --connection-interval 2s --interface-interval 2s \
	--package-interval 30s --os-interval 30s 2>"$TMP/serve.log" &
SERVE_PID=$!
on_exit "kill -9 $SERVE_PID"
wait_for 15 grep -q "^dashboard: http://127.0.0.1:$PORT/" "$TMP/serve.log" ||
	{ not_ok "the daemon starts and prints the dashboard's address"; cat "$TMP/serve.log"; exit 1; }
ok "the daemon prints 'dashboard: $BASE/'"

sysid() { curl -sf "$BASE/api/v1/systems" | jq -r --arg n "$1" '.systems[] | select(.name == $n) | .id' | head -1; }
has_id() { [ -n "$(sysid "$1")" ]; }
wait_for 30 has_id "$T-app" || { not_ok "the daemon watches $T-app"; cat "$TMP/serve.log"; exit 1; }
CTR_ID=$(sysid "$T-app")
HOST_ID=$(curl -sf "$BASE/api/v1/systems?kind=host" | jq -r '.systems[0].id')

# points of a metric of a system since T (ms)
npoints() {
	curl -sf -G "$BASE/api/v1/chart" --data-urlencode "system=$1" --data-urlencode "metric=$2" \
		--data-urlencode "from=$3" --data-urlencode "width=2000" | jq '[.series[].t | length] | add // 0'
}
points_ge() { [ "$(npoints "$1" "$2" "$3")" -ge "$4" ]; }
T0=$(($(date +%s%3N) - 60000))
wait_for 30 points_ge "$CTR_ID" cgroup.mem_limit_bytes "$T0" 3 ||
	{ not_ok "the container's memory limit is stored"; exit 1; }

# the limit raised once: 256 MiB -> 384 MiB
CHANGED=$(date +%s%3N)
while read -r d; do
	[ -f "$d/memory.limit_in_bytes" ] && echo $((384 * MIB)) >"$d/memory.limit_in_bytes"
	[ -f "$d/memory.max" ] && echo $((384 * MIB)) >"$d/memory.max"
done <"$CT_STATE/$T-app.cgroups"
distinct_limits() {
	curl -sf -G "$BASE/api/v1/chart" --data-urlencode "system=$CTR_ID" --data-urlencode "metric=cgroup.mem_limit_bytes" \
		--data-urlencode "from=$T0" --data-urlencode "width=800" | jq '[.series[].v[]] | unique | length'
}
limits_ge() { [ "$(distinct_limits)" -ge 2 ]; }
wait_for 30 limits_ge
check_eq "the chart endpoint gives the limit before and after its change" 2 "$(distinct_limits)"

# ---- podman: topology edge and a drift --------------------------------------------------------------
SERVER_ID="" CLIENT_ID=""
DRIFT_ID=$CTR_ID
if [ "$PODMAN" = 1 ]; then
	wait_for 30 has_id "$T-server" && wait_for 30 has_id "$T-client"
	SERVER_ID=$(sysid "$T-server")
	CLIENT_ID=$(sysid "$T-client")
	DRIFT_ID=$SERVER_ID
	edge() { curl -sf "$BASE/api/v1/topology" | jq -e --arg a "$CLIENT_ID" --arg b "$SERVER_ID" \
		'any(.edges[]; .from == $a and .to == $b)' >/dev/null; }
	wait_for 30 edge
	check "the topology has the client -> server edge" edge
fi
frames_since() { # SYSTEM MS: whether a process frame after MS is stored
	curl -sf "$BASE/api/v1/systems/$1/frame?feature=process" |
		jq -e --argjson t "$2" '(.feature_times.process // .frame.time // "1970-01-01T00:00:00Z") | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601 * 1000 > $t' >/dev/null
}
BEFORE=$(date +%s%3N)
wait_for 20 frames_since "$DRIFT_ID" "$BEFORE"
BEFORE=$(date +%s%3N)
if [ "$PODMAN" = 1 ]; then
	podman exec -d "$T-server" sleep 4242 >/dev/null || not_ok "start a process in the server container"
else
	# into the runtime-less container: its cgroups, then its namespaces and root
	(
		while read -r d; do echo "$BASHPID" >"$d/cgroup.procs"; done <"$CT_STATE/$T-app.cgroups"
		exec nsenter -t "$CPID" -m -u -i -n -p -r -w sleep 4242
	) </dev/null >/dev/null 2>&1 &
	on_exit "kill -9 $!"
fi
sleep 3 # at least one process frame after the change (2 s interval)
AFTER=$(date +%s%3N)
wait_for 20 frames_since "$DRIFT_ID" "$AFTER"
AFTER=$(date +%s%3N)
# the alarms page backtests the container's memory in 10 s periods, two to
# breach: 30 s of its points (one every 2 s) before the browser starts
wait_for 60 points_ge "$CTR_ID" cgroup.mem_usage_bytes "$T0" 15 ||
	not_ok "30 s of the container's memory points before the browser"

# ---- the browser -----------------------------------------------------------------------------------
export VANTAGE_TEST_BASE=$BASE VANTAGE_TEST_DB=$DB VANTAGE_TEST_HOST_ID=$HOST_ID
export VANTAGE_TEST_CTR=$T-app VANTAGE_TEST_CTR_ID=$CTR_ID VANTAGE_TEST_SEARCH="name=$T-app"
export VANTAGE_TEST_LIMIT_METRIC=cgroup.mem_limit_bytes VANTAGE_TEST_LIMIT_OLD=$((256 * MIB))
export VANTAGE_TEST_LIMIT_NEW=$((384 * MIB)) VANTAGE_TEST_LIMIT_CHANGED_MS=$CHANGED
export VANTAGE_TEST_PODMAN=$PODMAN VANTAGE_TEST_SERVER=$T-server VANTAGE_TEST_SERVER_ID=$SERVER_ID
export VANTAGE_TEST_CLIENT=$T-client VANTAGE_TEST_CLIENT_ID=$CLIENT_ID
export VANTAGE_TEST_DRIFT_ID=$DRIFT_ID VANTAGE_TEST_DRIFT_BEFORE_MS=$BEFORE VANTAGE_TEST_DRIFT_AFTER_MS=$AFTER
export VANTAGE_TEST_DRIFT_PROCESS="sleep 4242"
export VANTAGE_TEST_HOSTILE_NAME=$HOSTILE_NAME VANTAGE_TEST_HOSTILE_ARG=$HOSTILE_ARG
hostile_seen() { curl -sf "$BASE/api/v1/systems" | jq -e --arg n "$HOSTILE_NAME" 'any(.systems[]; .name == $n)' >/dev/null; }
wait_for 30 hostile_seen || not_ok "the daemon names the hostile container by its markup host name"
VANTAGE_TEST_HOSTILE_ID=$(curl -sf "$BASE/api/v1/systems" | jq -r --arg n "$HOSTILE_NAME" '.systems[] | select(.name == $n) | .id' | head -1)
export VANTAGE_TEST_HOSTILE_ID
export VANTAGE_ARTIFACTS=${VANTAGE_ARTIFACTS:-$ROOT/build/artifacts/ui}
env | grep '^VANTAGE_TEST_' | sort | sed 's/^/# /'

node "$ROOT/tests/ui/run.mjs" "$BASE" "$@" >"$TMP/ui.out" 2>&1
rc=$?
cat "$TMP/ui.out"
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$TMP/ui.out" | tail -1)
[ -n "$summary" ] || not_ok "the browser tests ran to their summary line (exit status $rc)"
[ "$rc" -eq 0 ] || grep -q '^not ok' "$TMP/ui.out" || not_ok "the browser tests exited with status $rc"
check "the daemon is still up after the browser tests" kill -0 "$SERVE_PID"
