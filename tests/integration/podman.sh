# Podman containers crawled from the outside: names, image, labels, PID 1
# inside, a listener in the container's own network, memory against
# `podman stats`.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"

if ! podman_setup; then
	not_ok "podman and runc are installed (scripts/setup.sh --tests installs them)"
	exit 1
fi
cid=$(start_podman vt-web --label app=web --label tier=front --memory 64m \
	-- sh -c 'httpd -f -p 8080 & while :; do sleep 1; done') || { not_ok "podman run"; exit 1; }
for _ in $(seq 100); do
	[ "$(podman inspect -f '{{.State.Running}}' vt-web 2>/dev/null)" = true ] && \
		nsenter -t "$(podman inspect -f '{{.State.Pid}}' vt-web)" -n cat /proc/net/tcp6 /proc/net/tcp 2>/dev/null | grep -q ':1F90 ' && break
	sleep 0.1
done
ppid=$(podman inspect -f '{{.State.Pid}}' vt-web)
out=$TMP/p.jsonl
$VANTAGE crawl --container vt-web -f os,process,connection,metric -i 0.3 >"$out" 2>"$TMP/err"
check_eq "crawl --container NAME exits 0" 0 $?
hdr=$(jq -c 'select(.feature=="frame").value' "$out")
check_eq "system id" "container:podman:$cid" "$(jq -r .id <<<"$hdr")"
check_eq "name from podman" vt-web "$(jq -r .name <<<"$hdr")"
check_eq "runtime" podman "$(jq -r .runtime <<<"$hdr")"
check "image from podman ($(jq -r .image <<<"$hdr"))" bash -c "jq -r .image <<<'$hdr' | grep -q vantage-busybox"
check_eq "labels from podman" "front web" "$(jq -r '"\(.labels.tier) \(.labels.app)"' <<<"$hdr")"
check_eq "PID 1 inside is podman's container pid $ppid" 1 \
	"$(jq -r "select(.feature==\"process\" and .value.pid==$ppid).value.nspid" "$out")"
check_eq "listener on 8080 in the container's frame, owned by httpd" httpd \
	"$(jq -r 'select(.feature=="connection" and .value.local_port==8080 and .value.state=="LISTEN").value.comm' "$out" | head -1)"
$VANTAGE crawl -f connection >"$TMP/host.jsonl"
check_eq "the listener is not in the host's frame" 0 \
	"$(jq -s '[.[]|select(.feature=="connection" and .value.local_port==8080 and .value.state=="LISTEN" and .value.comm=="httpd")]|length' "$TMP/host.jsonl")"

# memory against podman stats (usage and limit)
stats=$(podman stats --no-stream --format '{{.MemUsage}}' vt-web)
# podman prints SI units with decimals: 901.1kB, 67.11MB
to_bytes() { awk '{ v = $0 + 0; u = $0; sub(/^[0-9.]+/, "", u)
	m = (u == "kB") ? 1e3 : (u == "MB") ? 1e6 : (u == "GB") ? 1e9 : 1; printf "%.0f", v * m }' <<<"$1"; }
p_used=$(to_bytes "${stats%% / *}")
p_limit=$(to_bytes "${stats##* / }")
$VANTAGE crawl --container vt-web -f metric -i 0 >"$TMP/m.jsonl"
v_limit=$(jq -r 'select(.key=="cgroup").value.mem_limit_bytes' "$TMP/m.jsonl")
v_used=$(jq -r 'select(.key=="memory").value.used_kb * 1024' "$TMP/m.jsonl")
v_usage=$(jq -r 'select(.key=="cgroup").value.mem_usage_bytes' "$TMP/m.jsonl")
within() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }
check "memory limit ($v_limit B) agrees with podman stats ($stats) within its rounding" within "$v_limit" "$p_limit" 10000
check "memory used ($v_used B, usage $v_usage B) agrees with podman stats ($p_used B) within 2 MiB" \
	within "$v_usage" "$p_used" 2097152
# (compared within 0.05 points: the record keeps 2 decimals, and rounding both to an integer
# flips at .5)
v_pct=$(jq -r 'select(.key=="memory").value.used_pct' "$TMP/m.jsonl")
check "memory used % ($v_pct) is of the limit" within "$v_pct" \
	"$(awk -v u="$v_used" -v l="$v_limit" 'BEGIN{printf "%.4f", 100*u/l}')" 0.05

# every container, and the host with --host
$VANTAGE crawl --containers --host -f os -i 0 >"$TMP/all.jsonl"
check "--containers --host: a frame for the host" jq_any '.feature=="frame" and .value.kind=="host"' "$TMP/all.jsonl"
check "--containers --host: a frame for the podman container" jq_any ".feature==\"frame\" and .value.id==\"container:podman:$cid\"" "$TMP/all.jsonl"
check "--containers alone: no host frame" bash -c "! $VANTAGE crawl --containers -f os | jq -e 'select(.feature==\"frame\" and .value.kind==\"host\")' >/dev/null"
