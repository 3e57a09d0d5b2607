#!/usr/bin/env bash
# Integration test: the REST API (`vantage api`) over a store made from real
# frames.  Frames of this host (two crawls, so "at" has a choice) and of a
# root file system whose id holds '/' are imported with
# `vantage api --import`, the server is started on a free loopback port
# (--listen 127.0.0.1:0), and every endpoint is asked with curl: status
# codes, JSON shapes, values against the imported frames, errors naming the
# bad parameter, 404 and 405, bearer-token auth, IPv6, SIGTERM.
source "$(dirname "$0")/lib.sh"

command -v curl >/dev/null || { not_ok "curl is installed (apt-get install curl)"; exit 1; }
DB=$TMP/store.db

# ---- frames and import ----------------------------------------------------------
"$VANTAGE" crawl -f os,process,metric -i 0.2 >"$TMP/f1.jsonl" 2>"$TMP/crawl.err"
check_eq "first crawl exits 0" 0 $?
sleep 1.1	# the second frame is at least a second later
"$VANTAGE" crawl -f os,process,metric -i 0.2 >"$TMP/f2.jsonl" 2>>"$TMP/crawl.err"
check_eq "second crawl exits 0" 0 $?
R=$TMP/root
mkdir -p "$R/etc"
printf 'ID=apitest\nNAME="API Test"\nVERSION_ID=3\n' >"$R/etc/os-release"
"$VANTAGE" crawl --root "$R" -f os >"$TMP/img.jsonl" 2>>"$TMP/crawl.err"
check_eq "crawl --root exits 0" 0 $?

HOST=$(jq -r 'select(.feature == "frame") | .value.id' "$TMP/f1.jsonl")
IMG=$(jq -r 'select(.feature == "frame") | .value.id' "$TMP/img.jsonl")
T1=$(jq -r 'select(.feature == "frame") | .time' "$TMP/f1.jsonl")
T2=$(jq -r 'select(.feature == "frame") | .time' "$TMP/f2.jsonl")
check_eq "the image id holds '/'" "image:$R" "$IMG"

"$VANTAGE" api --db "$DB" --import "$TMP/f1.jsonl" 2>"$TMP/import.err"
check_eq "--import exits 0" 0 $?
check "--import reports what it imported" grep -q "imported 1 frames" "$TMP/import.err"
cat "$TMP/f2.jsonl" "$TMP/img.jsonl" | "$VANTAGE" api --db "$DB" --import - 2>"$TMP/import.err"
check_eq "--import - (stdin, two frames) exits 0" 0 $?
check "--import counts both frames" grep -q "imported 2 frames" "$TMP/import.err"
"$VANTAGE" crawl -f os -F crawler >"$TMP/crawler.txt" 2>/dev/null
"$VANTAGE" api --db "$DB" --import "$TMP/crawler.txt" 2>"$TMP/import.err"
check_eq "--import of the crawler layout fails" 1 $?
check "... saying it is not JSON Lines" grep -q "not a JSON record" "$TMP/import.err"
tail -n +2 "$TMP/f1.jsonl" >"$TMP/headless.jsonl"
"$VANTAGE" api --db "$DB" --import "$TMP/headless.jsonl" 2>"$TMP/import.err"
check_eq "--import of records without a header fails" 1 $?
check "... naming the line" grep -q "line 1: a record before any frame header" "$TMP/import.err"

# ---- start the server ----------------------------------------------------------------
# start_api LOG ARGS...: start `vantage api`, wait for "listening on", set $API_PID, $URL
start_api() {
	local log=$1 i
	shift
	"$VANTAGE" api "$@" 2>"$log" &
	API_PID=$!
	on_exit "kill $API_PID"
	for ((i = 0; i < 100; i++)); do
		URL=$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$log")
		[ -n "$URL" ] && return 0
		kill -0 "$API_PID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
start_api "$TMP/api.err" --db "$DB" --listen 127.0.0.1:0
check "vantage api prints 'listening on http://127.0.0.1:PORT'" test -n "$URL"
[ -n "$URL" ] || { cat "$TMP/api.err"; exit 1; }

# get PATH: body to $TMP/body, status code printed
get() { curl -s -g -o "$TMP/body" -w '%{http_code}' "$@"; }
enc() { jq -rn --arg s "$1" '$s | @uri'; }
HOSTE=$(enc "$HOST")
IMGE=$(enc "$IMG")
body() { jq -r "$1" "$TMP/body"; }
jqe() { jq -e "$1" "$TMP/body" >/dev/null; }	# the body satisfies a jq condition

# ---- health ------------------------------------------------------------------------------
check_eq "health: 200" 200 "$(get "$URL/api/v1/health")"
check_eq "health: status ok" ok "$(body .status)"
check_eq "health: the store has 3 frames" 3 "$(body .store.frames)"
check_eq "health: 2 systems" 2 "$(body .store.systems)"
check_eq "health: daemon mode api, read-only" "api true" "$(body '"\(.daemon.mode) \(.daemon.read_only)"')"
check_eq "health: JSON content type" "application/json" \
	"$(curl -s -o /dev/null -w '%{content_type}' "$URL/api/v1/health")"

# ---- systems --------------------------------------------------------------------------------
check_eq "systems: 200" 200 "$(get "$URL/api/v1/systems")"
check_eq "systems: the host and the image" "$HOST $IMG" \
	"$(body '[.systems[].id] | sort | join(" ")')"
check_eq "systems: each has id, name, kind, labels, first/last seen, gone" true \
	"$(body '[.systems[] | has("id") and has("name") and has("kind") and has("labels") and has("first_seen") and has("last_seen") and has("gone")] | all')"
get "$URL/api/v1/systems?kind=host" >/dev/null
check_eq "systems?kind=host: only the host" "$HOST" "$(body '[.systems[].id] | join(" ")')"
get "$URL/api/v1/systems?kind=image" >/dev/null
check_eq "systems?kind=image: only the image" "$IMG" "$(body '[.systems[].id] | join(" ")')"
get "$URL/api/v1/systems?gone=false&kind=host" >/dev/null
check_eq "systems?gone=false: the host is not gone" "$HOST" "$(body '[.systems[].id] | join(" ")')"
get "$URL/api/v1/systems?gone=true" >/dev/null
check_eq "systems?gone=true: none" 0 "$(body '.systems | length')"
get "$URL/api/v1/systems?runtime=podman" >/dev/null
check_eq "systems?runtime=podman: none" 0 "$(body '.systems | length')"
check_eq "systems?kind=vms: 400" 400 "$(get "$URL/api/v1/systems?kind=vms")"
check_eq "... naming the parameter kind" kind "$(body .parameter)"
check_eq "systems?gone=maybe: 400 naming gone" "400 gone" "$(get "$URL/api/v1/systems?gone=maybe") $(body .parameter)"
check_eq "systems?knd=host (typo): 400 naming knd" "400 knd" "$(get "$URL/api/v1/systems?knd=host") $(body .parameter)"
check_eq "systems?kind=host&kind=image: 400 naming kind" "400 kind" \
	"$(get "$URL/api/v1/systems?kind=host&kind=image") $(body .parameter)"

# ---- frames ------------------------------------------------------------------------------------
check_eq "frame (latest): 200" 200 "$(get "$URL/api/v1/systems/$HOSTE/frame")"
check_eq "frame (latest): the second crawl's" "$HOST $T2" "$(body '"\(.frame.id) \(.frame.time)"')"
n2=$(jq -s '[.[] | select(.feature != "frame")] | length' "$TMP/f2.jsonl")
check_eq "frame (latest): all its records" "$n2" "$(body '.records | length')"
check_eq "frame records have feature, key, value" true \
	"$(body '[.records[] | has("feature") and has("key") and has("value")] | all')"
np2=$(jq -s '[.[] | select(.feature == "process")] | length' "$TMP/f2.jsonl")
get "$URL/api/v1/systems/$HOSTE/frame?feature=process" >/dev/null
check_eq "frame?feature=process: only its $np2 process records" "$np2 process" \
	"$(body '"\(.records | length) \([.records[].feature] | unique | join(","))"')"
want=$(jq -c -s 'map(select(.feature == "os")) | .[0].value' "$TMP/f2.jsonl")
get "$URL/api/v1/systems/$HOSTE/frame?feature=os" >/dev/null
check_eq "frame?feature=os: the record as crawled" "$want" "$(jq -c '.records[0].value' "$TMP/body")"
get "$URL/api/v1/systems/$HOSTE/frame?at=$T1" >/dev/null
check_eq "frame?at=T1 (ISO): the first crawl's" "$T1" "$(body .frame.time)"
t1s=$(date -d "$T1" +%s)
check_eq "frame?at=EPOCH+0.5s: the first crawl's" 200 "$(get "$URL/api/v1/systems/$HOSTE/frame?at=$t1s.999")"
check_eq "... frame time" "$T1" "$(body .frame.time)"
get "$URL/api/v1/systems/$HOSTE/frame?at=$(enc "$T2")" >/dev/null
check_eq "frame?at=T2 (encoded): the second crawl's" "$T2" "$(body .frame.time)"
check_eq "frame?at=before the first: 404" 404 "$(get "$URL/api/v1/systems/$HOSTE/frame?at=2001-01-01T00:00:00Z")"
check_eq "frame?at=garbage: 400 naming at" "400 at" "$(get "$URL/api/v1/systems/$HOSTE/frame?at=yesterday") $(body .parameter)"
check_eq "frame?feature=bogus: 400 naming feature" "400 feature" \
	"$(get "$URL/api/v1/systems/$HOSTE/frame?feature=bogus") $(body .parameter)"
check_eq "frame of an unknown system: 404" 404 "$(get "$URL/api/v1/systems/host%3Anope/frame")"
check "... with an error message" jqe '.error | test("nope")'
check_eq "frame of the image (id with %2F): 200" 200 "$(get "$URL/api/v1/systems/$IMGE/frame")"
check_eq "... its os record" apitest "$(body '.records[] | select(.feature == "os") | .value.id')"
check_eq "frame of the image (id with raw '/'): 200" 200 "$(get "$URL/api/v1/systems/image:$R/frame")"
check_eq "... the same system" "$IMG" "$(body .frame.id)"

# ---- metric names and series ------------------------------------------------------------------
check_eq "metrics: 200" 200 "$(get "$URL/api/v1/systems/$HOSTE/metrics")"
check_eq "metrics: memory.used_pct and cpu.busy_pct are there" "true true" \
	"$(body '"\(.metrics | index("memory.used_pct") != null) \(.metrics | index("cpu.busy_pct") != null)"')"
check_eq "metrics of an unknown system: 404" 404 "$(get "$URL/api/v1/systems/host%3Anope/metrics")"

S="$URL/api/v1/systems/$HOSTE/metrics/memory.used_pct"
since=$(date -u -d "$T1 - 10 seconds" +%Y-%m-%dT%H:%M:%SZ)
check_eq "series: 200" 200 "$(get "$S?since=$since&step=1s&stat=max")"
check_eq "series: system, metric, stat, step_s" "$HOST memory.used_pct max 1" \
	"$(body '"\(.system) \(.metric) \(.stat) \(.step_s)"')"
check_eq "series: the 2 points of the 2 frames" 2 "$(body '.points | length')"
m1=$(jq -r 'select(.feature == "metric" and .key == "memory") | .value.used_pct' "$TMP/f1.jsonl")
m2=$(jq -r 'select(.feature == "metric" and .key == "memory") | .value.used_pct' "$TMP/f2.jsonl")
check_eq "series: values equal the crawled ones" "$m1 $m2" "$(body '[.points[][1]] | map(tostring) | join(" ")')"
check_eq "series: points are [ISO time, value]" true \
	"$(body '[.points[] | (.[0] | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T.*Z$")) and (.[1] | type == "number")] | all')"
get "$URL/api/v1/systems/$HOSTE/metrics/memory.used_pct?since=1h&step=1h&stat=count" >/dev/null
check_eq "series: stat=count over one bucket counts 2 points" 2 "$(body '[.points[][1]] | add')"
get "$URL/api/v1/systems/$HOSTE/metrics/memory.used_pct" >/dev/null
check_eq "series: defaults (since 1h, step 1m, avg)" "avg 60" "$(body '"\(.stat) \(.step_s)"')"
check_eq "series?stat=p42: 400 naming stat" "400 stat" "$(get "$S?stat=p42") $(body .parameter)"
check_eq "series?step=0s: 400 naming step" "400 step" "$(get "$S?step=0s") $(body .parameter)"
check_eq "series?step=fast: 400 naming step" "400 step" "$(get "$S?step=fast") $(body .parameter)"
check_eq "series?step=1s over 30 days: 400 naming step" "400 step" "$(get "$S?step=1s&since=30d") $(body .parameter)"
check_eq "series?since=garbage: 400 naming since" "400 since" "$(get "$S?since=garbage") $(body .parameter)"
check_eq "series?until before since: 400 naming until" "400 until" "$(get "$S?since=1h&until=2h") $(body .parameter)"
check "... the error says why" jqe '.error | test("since must be before until")'
get "$URL/api/v1/systems/$HOSTE/metrics/disk.used_pct?since=1h&step=1h&label=mountpoint=/" >/dev/null
check_eq "series?label=mountpoint=/: the root file system's series" "/" "$(body .labels.mountpoint)"
dused=$(jq -r 'select(.feature == "metric" and .key == "disk:/") | .value.used_pct' "$TMP/f2.jsonl")
get "$URL/api/v1/systems/$HOSTE/metrics/disk.used_pct?since=1h&step=1h&stat=max&label=mountpoint=/" >/dev/null
check "... its max is at least the last crawled value" awk -v a="$(body '.points[0][1]')" -v b="$dused" 'BEGIN { exit !(a >= b) }'
get "$URL/api/v1/systems/$HOSTE/metrics/disk.used_pct?since=1h" >/dev/null
check_eq "series of a name with several label sets: one entry per set" \
	"$(jq -r 'select(.feature == "metric" and (.key | startswith("disk:"))) | .key' "$TMP/f2.jsonl" | wc -l)" \
	"$(body '.series | length')"
check_eq "series?label=mountpoint: 400 naming label" "400 label" "$(get "$S?label=mountpoint") $(body .parameter)"
check_eq "series of an unknown metric: 404" 404 "$(get "$URL/api/v1/systems/$HOSTE/metrics/no.such_metric")"
check_eq "series of an unknown system: 404" 404 "$(get "$URL/api/v1/systems/host%3Anope/metrics/memory.used_pct")"

# ---- unknown paths, methods, malformed requests ------------------------------------------------
check_eq "unknown path: 404" 404 "$(get "$URL/api/v2/nothing")"
check "... JSON error" jqe '.error'
check_eq "/api/v1/systems/{id} alone: 404" 404 "$(get "$URL/api/v1/systems/$HOSTE")"
check_eq "POST: 405" 405 "$(get -X POST -d x=1 "$URL/api/v1/systems")"
check "... JSON error naming the method" jqe '.error | test("POST")'
check "... with Allow: GET, HEAD" grep -qi '^Allow: GET, HEAD' <(curl -s -D - -o /dev/null -X DELETE "$URL/api/v1/health")
check_eq "DELETE: 405" 405 "$(get -X DELETE "$URL/api/v1/systems/$HOSTE/frame")"
check_eq "HEAD: 200" 200 "$(curl -s -I -o /dev/null -w '%{http_code}' "$URL/api/v1/health")"
check_eq "a malformed escape: 400" 400 "$(get "$URL/api/v1/systems/host%zz/frame")"
check_eq "an encoded NUL: 400" 400 "$(get "$URL/api/v1/systems/host%00x/frame")"
check_eq "/metrics: 200" 200 "$(get "$URL/metrics")"
check "/metrics: vantage_up 1" grep -qx 'vantage_up 1' "$TMP/body"
check_eq "/metrics: Prometheus text type" "text/plain; version=0.0.4; charset=utf-8" \
	"$(curl -s -o /dev/null -w '%{content_type}' "$URL/metrics")"

# ---- parallel requests (one store handle per worker thread) ----------------------------------
pids=()
for i in $(seq 8); do
	(for j in $(seq 20); do
		curl -s -o /dev/null -w '%{http_code}\n' "$URL/api/v1/systems/$HOSTE/frame?feature=process"
	done >"$TMP/par.$i") &
	pids+=($!)
done
wait "${pids[@]}"
check_eq "160 parallel frame requests: all 200" 160 "$(cat "$TMP/par."* | grep -c '^200$')"

# ---- stop ---------------------------------------------------------------------------------------
kill -TERM "$API_PID"
for ((i = 0; i < 100; i++)); do kill -0 "$API_PID" 2>/dev/null || break; sleep 0.05; done
wait "$API_PID"
check_eq "SIGTERM: exits 0" 0 $?

# ---- tokens ---------------------------------------------------------------------------------------
"$VANTAGE" api --db "$DB" --listen 0.0.0.0:0 2>"$TMP/refuse.err" &
p=$!
for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$p" 2>/dev/null; then kill "$p"; fi
wait "$p"
check_eq "non-loopback listen without a token: refused (exit 2, usage)" 2 $?
check "... with a message saying a token is required" grep -q "without a bearer token" "$TMP/refuse.err"
check "... and nothing listens" test -z "$(grep -o 'listening on' "$TMP/refuse.err")"

TOKEN=tok-$RANDOM$RANDOM-abcdefghijklmnop
printf '%s\n' "$TOKEN" >"$TMP/token"
chmod 600 "$TMP/token"
start_api "$TMP/tok.err" --db "$DB" --listen 0.0.0.0:0 --token-file "$TMP/token"
check "with --token-file: listens on 0.0.0.0" grep -q "listening on http://0.0.0.0:" "$TMP/tok.err"
PORT=${URL##*:}
U=http://127.0.0.1:$PORT
check_eq "token set, no Authorization: 401" 401 "$(get "$U/api/v1/health")"
check "... JSON error" jqe '.error | test("token")'
check "... WWW-Authenticate: Bearer" grep -qi '^WWW-Authenticate: Bearer' <(curl -s -D - -o /dev/null "$U/api/v1/health")
check_eq "wrong token: 401" 401 "$(get -H "Authorization: Bearer ${TOKEN}x" "$U/api/v1/health")"
check_eq "token prefix: 401" 401 "$(get -H "Authorization: Bearer ${TOKEN:0:10}" "$U/api/v1/health")"
check_eq "Basic auth: 401" 401 "$(get -u "user:$TOKEN" "$U/api/v1/health")"
check_eq "unknown path without a token: 401, not 404" 401 "$(get "$U/nothing")"
check_eq "right token: 200" 200 "$(get -H "Authorization: Bearer $TOKEN" "$U/api/v1/health")"
check_eq "... health says auth" true "$(body .daemon.auth)"
check_eq "right token on /metrics: 200" 200 "$(get -H "Authorization: Bearer $TOKEN" "$U/metrics")"
check_eq "/metrics without it: 401" 401 "$(get "$U/metrics")"
kill "$API_PID"; wait "$API_PID" 2>/dev/null

"$VANTAGE" api --db "$DB" --token "" --listen 0.0.0.0:0 2>"$TMP/empty.err" &
p=$!; sleep 0.3; kill "$p" 2>/dev/null; wait "$p"
check_eq "an empty --token is no token: refused on 0.0.0.0 (exit 2)" 2 $?
"$VANTAGE" api --db "$DB" --token 'has space' 2>"$TMP/sp.err" &
p=$!; sleep 0.3; kill "$p" 2>/dev/null; wait "$p"
check_eq "a token with a space: refused (exit 2)" 2 $?
check "... saying why" grep -q "without spaces" "$TMP/sp.err"

# ---- IPv6, bad usage ----------------------------------------------------------------------------------
if [ -e /proc/net/if_inet6 ] && ip -6 addr show lo | grep -q '::1'; then
	start_api "$TMP/v6.err" --db "$DB" --listen '[::1]:0'
	check "IPv6 loopback: listening on http://[::1]:PORT" grep -q 'listening on http://\[::1\]:' "$TMP/v6.err"
	check_eq "IPv6 loopback: health 200" 200 "$(get "$URL/api/v1/health")"
	kill "$API_PID"; wait "$API_PID" 2>/dev/null
else
	ok "IPv6 loopback # SKIP no ::1 on lo"
fi
"$VANTAGE" api --db "$TMP/missing.db" 2>"$TMP/missing.err"
check_eq "missing store file: exit 1" 1 $?
check "... naming it" grep -q "missing.db" "$TMP/missing.err"
"$VANTAGE" api --db "$DB" --listen 127.0.0.1 2>"$TMP/usage.err"
check_eq "listen address without a port: exit 2" 2 $?
check "... naming the address" grep -q "'127.0.0.1'" "$TMP/usage.err"
"$VANTAGE" api --listen 127.0.0.1:0 2>/dev/null
check_eq "no --db: exit 2" 2 $?
check "api --help lists --import and --token-file" sh -c "'$VANTAGE' api --help | grep -q -- --import && '$VANTAGE' api --help | grep -q -- --token-file"
echo "not json" >"$TMP/foreign.db"
"$VANTAGE" api --db "$TMP/foreign.db" --listen 127.0.0.1:0 2>"$TMP/foreign.err" &
p=$!; sleep 0.5; kill "$p" 2>/dev/null; wait "$p"
check_eq "a file that is not a store: exit 1" 1 $?
check "... naming it" grep -q "foreign.db" "$TMP/foreign.err"
