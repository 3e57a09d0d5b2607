#!/usr/bin/env bash
# Integration test: /metrics with a real Prometheus.  A runtime-less
# container (unshare) that holds some memory is crawled with the host
# (`vantage crawl --containers --host -f metric`), the frames imported into
# a store, and `vantage api` serves it with a bearer token.  Our /metrics
# must pass `promtool check metrics` and carry the container's memory;
# then Debian's Prometheus server, configured by this test to scrape us
# every second with that token, must give back through its HTTP query API
# the container's vantage_cgroup_mem_usage_bytes and the host's
# vantage_memory_used_pct, equal to the stored values.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"

for tool in curl promtool prometheus; do
	command -v "$tool" >/dev/null ||
		{ not_ok "$tool is installed (apt-get install curl prometheus)"; exit 1; }
done
DB=$TMP/store.db
CT=vt-prom-$$

# ---- a container with memory in use, crawled with the host --------------------------------------
mk_busybox_root "$TMP/root" >/dev/null || { not_ok "busybox root"; exit 1; }
# 8 MB held in a tmpfs-less root: a shell variable grown in memory
pid=$(start_unshare_container "$CT" "$TMP/root" \
	'x=$(head -c 8000000 /dev/zero | tr "\0" a); sleep 100000') ||
	{ not_ok "start container"; exit 1; }
for ((i = 0; i < 100; i++)); do
	[ "$(cat "/proc/$pid/task/$pid/children" 2>/dev/null | wc -w)" -ge 1 ] && break
	sleep 0.05
done
sleep 0.5
"$VANTAGE" crawl --containers --host -f metric -i 0.2 >"$TMP/frames.jsonl" 2>"$TMP/crawl.err"
check_eq "crawl --containers --host exits 0" 0 $?
CID=$(jq -r --arg n "$CT" 'select(.feature == "frame" and .value.name == $n) | .value.id' "$TMP/frames.jsonl")
HOST=$(jq -r 'select(.feature == "frame" and .value.kind == "host") | .value.id' "$TMP/frames.jsonl")
check "the container's frame is there (container:none:...)" grep -q '^container:none:' <<<"$CID"
MEM=$(jq -r --arg s "$CID" 'select(.system == $s and .feature == "metric" and .key == "cgroup") | .value.mem_usage_bytes' "$TMP/frames.jsonl")
HPCT=$(jq -r --arg s "$HOST" 'select(.system == $s and .feature == "metric" and .key == "memory") | .value.used_pct' "$TMP/frames.jsonl")
check "the container uses memory ($MEM bytes)" test "${MEM:-0}" -gt 1000000

"$VANTAGE" api --db "$DB" --import "$TMP/frames.jsonl" 2>"$TMP/import.err"
check_eq "import exits 0" 0 $?

# ---- vantage api with a token -----------------------------------------------------------------------
TOKEN=prom-$RANDOM$RANDOM-0123456789abcdef
printf '%s\n' "$TOKEN" >"$TMP/token"
chmod 600 "$TMP/token"
"$VANTAGE" api --db "$DB" --listen 127.0.0.1:0 --token-file "$TMP/token" 2>"$TMP/api.err" &
API_PID=$!
on_exit "kill $API_PID"
for ((i = 0; i < 100; i++)); do
	ADDR=$(sed -n 's|^listening on http://\([^ ]*\)$|\1|p' "$TMP/api.err")
	[ -n "$ADDR" ] && break
	sleep 0.05
done
check "vantage api listens ($ADDR)" test -n "$ADDR"
[ -n "$ADDR" ] || { cat "$TMP/api.err"; exit 1; }

curl -s -H "Authorization: Bearer $TOKEN" -o "$TMP/metrics.txt" -w '%{http_code}' "http://$ADDR/metrics" >"$TMP/code"
check_eq "/metrics: 200" 200 "$(cat "$TMP/code")"
promtool check metrics <"$TMP/metrics.txt" >"$TMP/promtool.out" 2>&1
check_eq "promtool check metrics: no problems" 0 $?
[ -s "$TMP/promtool.out" ] && sed 's/^/#   /' "$TMP/promtool.out" | head -20
check "HELP and TYPE once per family" \
	test "$(grep -c '^# TYPE ' "$TMP/metrics.txt")" -eq "$(grep '^# TYPE ' "$TMP/metrics.txt" | sort -u | wc -l)"
line=$(grep "^vantage_cgroup_mem_usage_bytes{system=\"$CID\"" "$TMP/metrics.txt")
check_eq "the container's memory in our /metrics" "$MEM" "${line##* }"
check "... labelled name, kind, runtime" grep -q "name=\"$CT\",kind=\"container\",runtime=\"none\"" <<<"$line"
hline=$(grep "^vantage_memory_used_pct{system=\"$HOST\"" "$TMP/metrics.txt")
check_eq "the host's memory.used_pct in our /metrics" "$HPCT" "${hline##* }"
check "vantage_up 1" grep -qx 'vantage_up 1' "$TMP/metrics.txt"

# ---- a real Prometheus scraping us --------------------------------------------------------------------
cat >"$TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: vantage
    metrics_path: /metrics
    authorization:
      type: Bearer
      credentials_file: $TMP/token
    static_configs:
      - targets: ['$ADDR']
EOF
promtool check config "$TMP/prometheus.yml" >"$TMP/config.out" 2>&1
check_eq "promtool check config" 0 $?

# a free port for Prometheus: try a few until one binds
PROM=
for ((try = 0; try < 10; try++)); do
	port=$((20000 + (RANDOM * 7 + try) % 40000))
	ss -Hltn "sport = :$port" | grep -q . && continue
	prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/tsdb" \
		--web.listen-address="127.0.0.1:$port" >"$TMP/prometheus.log" 2>&1 &
	PROM_PID=$!
	on_exit "kill $PROM_PID"
	for ((i = 0; i < 200; i++)); do
		if curl -s -o /dev/null "http://127.0.0.1:$port/-/ready"; then PROM=127.0.0.1:$port; break; fi
		kill -0 "$PROM_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -n "$PROM" ] && break
	kill "$PROM_PID" 2>/dev/null; wait "$PROM_PID" 2>/dev/null
done
check "Prometheus server ready ($PROM)" test -n "$PROM"
[ -n "$PROM" ] || { tail -20 "$TMP/prometheus.log" | sed 's/^/#   /'; exit 1; }

# query EXPR: the value of the first result of an instant query, "" if none
query() {
	curl -s -G "http://$PROM/api/v1/query" --data-urlencode "query=$1" |
		jq -r 'if .status == "success" and (.data.result | length) > 0 then .data.result[0].value[1] else "" end'
}
for ((i = 0; i < 150; i++)); do
	got=$(query "vantage_cgroup_mem_usage_bytes{system=\"$CID\"}")
	[ -n "$got" ] && break
	sleep 0.1
done
check_eq "Prometheus: the container's vantage_cgroup_mem_usage_bytes equals the stored value" "$MEM" "$got"
check_eq "Prometheus: the host's vantage_memory_used_pct equals the stored value" "$HPCT" \
	"$(query "vantage_memory_used_pct{system=\"$HOST\"}")"
check_eq "Prometheus: up{job=\"vantage\"} is 1 (scraped with the token)" 1 "$(query 'up{job="vantage"}')"
check_eq "Prometheus: the container's labels (name, kind, runtime)" "$CT container none" \
	"$(curl -s -G "http://$PROM/api/v1/query" --data-urlencode "query=vantage_cgroup_mem_usage_bytes{system=\"$CID\"}" |
		jq -r '.data.result[0].metric | "\(.name) \(.kind) \(.runtime)"')"
check_eq "Prometheus: vantage_store_frames counts the stored frames" \
	"$(jq -s '[.[] | select(.feature == "frame")] | length' "$TMP/frames.jsonl")" "$(query vantage_store_frames)"
