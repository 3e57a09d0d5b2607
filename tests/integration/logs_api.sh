#!/usr/bin/env bash
# Logs end to end (issue 16: store, search, CLI, API, live tail, metric
# filters): a real `vantage serve` on this host, a writer appending lines to
# a file that a tail of it stores (build/tests/log_tool put, standing in for
# the collector), and:
#   - a [logfilter errors] counting "ERROR" lines drives an [alarm] on
#     log.errors to ALARM; a value filter (a capture group) gives its max;
#   - `vantage logs`: every line once, in order; --json objects with system,
#     source, time, level, line; --grep (with and without whole words),
#     --search, --level, --source, -n, --since, SYSTEM by name, --follow;
#     usage errors exit 2;
#   - the API: /api/v1/logs with q, level, system, limit, order; a bad
#     level is a 400; /api/v1/logs/tail streams NDJSON and SSE as lines
#     come, resumes after an id, and ends when the server stops;
#   - the log store's unit tests against a real PostgreSQL 15 (initdb as an
#     unprivileged user), when its server binaries are installed.
source "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.."

command -v curl >/dev/null || { not_ok "curl is installed"; exit 1; }
command -v jq >/dev/null || { not_ok "jq is installed"; exit 1; }
need_testbin log_tool
TOOL=$TESTBIN/log_tool
DB=$TMP/v.db
PORT=$(free_port)
API=http://127.0.0.1:$PORT/api/v1

# ---- the daemon, with a metric filter and an alarm on it ---------------------------
cat >"$TMP/v.ini" <<EOF
[log]
level = info
[intervals]
metric = 2s
[crawl]
containers = false
vms = false
[logfilter errors]
pattern = ERROR
source = file:*
period = 2s
[logfilter latency]
pattern = took ([0-9]+) ms
value = 1
stat = max
period = 2s
[alarm log-errors]
metric = log.errors
selector = kind=host
stat = sum
period = 2s
comparison = >=
threshold = 5
EOF
printf '[logfilter bad]\npattern = (\n' >"$TMP/bad.ini"
"$VANTAGE" serve --config "$TMP/bad.ini" --db "$TMP/bad.db" --listen 127.0.0.1:0 2>"$TMP/bad.err"
check_eq "serve with a bad filter pattern exits 2" 2 $?
check "... naming the filter and the key: $(head -1 "$TMP/bad.err")" \
	grep -q "\[logfilter bad\] pattern: not a POSIX extended regular expression" "$TMP/bad.err"

# --no-logs: the lines of this suite are put by log_tool alone (the collector that would add
# this host's own /var/log files has its suite, logs_tail.sh)
"$VANTAGE" serve --no-logs --config "$TMP/v.ini" --db "$DB" --listen "127.0.0.1:$PORT" 2>"$TMP/serve.log" &
SERVE=$!
on_exit "kill $SERVE"
host_id() {
	local id
	id=$(curl -sf "$API/systems" | jq -r '.systems[] | select(.kind == "host") | .id' 2>/dev/null)
	[ -n "$id" ] && echo "$id"
}
wait_for 20 host_id >/dev/null
HID=$(host_id)
check "the daemon stores the host ($HID)" test -n "$HID"
HNAME=$(curl -sf "$API/systems" | jq -r '.systems[] | select(.kind == "host") | .name')
check "it says it runs 2 log filters" grep -q "2 log filters from the configuration" "$TMP/serve.log"

# ---- a writer into a file, the file's tail into the store ---------------------------
LOG=$TMP/app.log
: >"$LOG"
mkfifo "$TMP/fifo"
tail -n +1 -F "$LOG" >"$TMP/fifo" 2>/dev/null &
on_exit "kill $!"
"$TOOL" put "$DB" "$HID" "file:/var/log/app.log" <"$TMP/fifo" &
on_exit "kill $!"
for i in $(seq 1 400); do echo "INFO request $i ok took $((i % 50)) ms"; done >>"$LOG"
echo "error: cache miss storm 1" >>"$LOG" # an error seen before the diff's range
wait_for 10 bash -c "[ \$('$VANTAGE' logs --db '$DB' --since 1h --json | wc -l) -ge 401 ]"
"$VANTAGE" logs --db "$DB" --since 1h --json | grep -v 'cache miss' >"$TMP/all.json"
check_eq "vantage logs: the 400 lines written, each once" 400 "$(jq -r .line "$TMP/all.json" | sort -u | wc -l)"
check_eq "... in the order written" "$(seq 1 400 | tr '\n' ' ')" \
	"$(jq -r '.line | split(" ")[2]' "$TMP/all.json" | tr '\n' ' ')"
check "... --json: system, source, time, level, line" jq -e -s \
	--arg h "$HID" 'all(.[]; .system == $h and .source == "file:/var/log/app.log" and
	  (.time | test("^20..-..-..T..:..:..\\.[0-9]{3}Z$")) and .level == "info" and
	  (.line | startswith("INFO request")))' "$TMP/all.json" >/dev/null

# ---- errors: the filter counts them, the alarm fires ----------------------------------
# the diff's A: the host's first frame after the lines above
last_line_ms=$("$VANTAGE" logs --db "$DB" -n 1 --json | jq -r '.time | sub("\\.[0-9]+Z$"; "Z") | fromdate * 1000')
frame_after() { curl -sf "$API/systems" | jq -e --argjson t "$last_line_ms" '.systems[] | select(.kind == "host") | (.last_seen | sub("\\.[0-9]+Z$"; "Z") | fromdate * 1000) > $t + 1000' >/dev/null; }
wait_for 10 frame_after
TA=$(curl -sf "$API/systems" | jq -r '.systems[] | select(.kind == "host") | .last_seen')
echo "error: cache miss storm 2" >>"$LOG"
for i in 1 2 3 4 5 6 7 8; do echo "ERROR request $i failed: connection refused took $((100 + i)) ms"; done >>"$LOG"
echo "WARN disk almost full" >>"$LOG"
wait_for 20 bash -c "curl -sf '$API/alarms' | jq -e '.[0].states[0].state == \"ALARM\"' >/dev/null"
check_eq "a metric filter counting ERROR lines drives the alarm to ALARM" ALARM \
	"$(curl -sf "$API/alarms" | jq -r '.[0].states[0].state')"
check "... the series log.errors has a point of 8" bash -c \
	"curl -sf '$API/systems/$HID/metrics/log.errors?since=-5m&step=2s&stat=sum' | jq -e '[.points[][1]] | max == 8' >/dev/null"
check "... log.latency (a capture group, stat max) is 108" bash -c \
	"curl -sf '$API/systems/$HID/metrics/log.latency?since=-5m&step=2s&stat=max' | jq -e '[.points[][1]] | max == 108' >/dev/null"
check "... the system's name and kind are kept" bash -c \
	"curl -sf '$API/systems' | jq -e --arg h '$HID' '.systems[] | select(.id == \$h) | .kind == \"host\" and .name == \"$HNAME\"' >/dev/null"

# ---- the new error lines in a diff ---------------------------------------------------------
"$VANTAGE" diff --db "$DB" "$HID@$TA" "$HID" --json >"$TMP/diff.json" 2>"$TMP/diff.err"
check_eq "vantage diff: one entry for the new error lines (their shape)" 1 \
	"$(jq '[.entries[] | select(.feature == "log")] | length' "$TMP/diff.json")"
check "... the 8 connection refused lines, level err, ranked by score" jq -e \
	'[.entries[] | select(.feature == "log")][0] | (.key | test("^file:/var/log/app.log: ERROR request 1 failed: connection refused")) and .fields.lines == [0, 8] and .why.log.level == "err" and .score > 0.4' \
	"$TMP/diff.json" >/dev/null
check "... an error seen before A (error: cache miss storm) is not new" bash -c "! grep -q 'cache miss' '$TMP/diff.json'"
check_eq "... the API's diff has the same entry" 8 \
	"$(curl -sfG "$API/diff" --data-urlencode "a=$HID@$TA" --data-urlencode "b=$HID" | jq '[.entries[] | select(.feature == "log")][0].fields.lines[1]')"
check_eq "... logs=0 leaves it out" 0 \
	"$(curl -sfG "$API/diff" --data-urlencode "a=$HID@$TA" --data-urlencode "b=$HID" -d logs=0 | jq '[.entries[] | select(.feature == "log")] | length')"
check_eq "... --no-logs leaves them out" 0 \
	"$("$VANTAGE" diff --db "$DB" "$HID@$TA" "$HID" --json --no-logs | jq '[.entries[] | select(.feature == "log")] | length')"

# ---- the CLI's filters -----------------------------------------------------------------
check_eq "--level err: the 8 error lines" 8 "$("$VANTAGE" logs --db "$DB" --level err | wc -l)"
check_eq "--level warning: and the warning" 9 "$("$VANTAGE" logs --db "$DB" --level warning | wc -l)"
check_eq "--grep 'connection refused' (narrowed by whole words)" 8 \
	"$("$VANTAGE" logs --db "$DB" --grep ' connection refused ' | wc -l)"
check_eq "--grep with alternation (no words: every line read)" 333 \
	"$("$VANTAGE" logs --db "$DB" --since 1h --grep 'request 1[0-9]* ok|request [2-3][0-9]* ok' | wc -l)"
check_eq "--grep -i" 8 "$("$VANTAGE" logs --db "$DB" -i --grep 'error REQUEST' | wc -l)"
check_eq "--search refused" 8 "$("$VANTAGE" logs --db "$DB" --search refused | wc -l)"
check_eq "-n 5: the last 5" "ERROR request 8 failed: connection refused took 108 ms|WARN disk almost full" \
	"$("$VANTAGE" logs --db "$DB" -n 5 --json | jq -r .line | tail -2 | paste -sd '|')"
check_eq "SYSTEM by name" 5 "$("$VANTAGE" logs --db "$DB" "$HNAME" -n 5 | wc -l)"
check_eq "--source another: nothing" 0 "$("$VANTAGE" logs --db "$DB" --source stdout | wc -l)"
check_eq "--since in the future: nothing" 0 "$("$VANTAGE" logs --db "$DB" --since "$(date -u -d '+1 hour' +%FT%TZ)" | wc -l)"
"$VANTAGE" logs --db "$DB" nosuchsystem >/dev/null 2>"$TMP/e1"
check_eq "an unknown system: exit 2" 2 $?
"$VANTAGE" logs --db "$DB" --level loud >/dev/null 2>"$TMP/e2"
check_eq "a bad --level: exit 2" 2 $?
"$VANTAGE" logs --db "$DB" --grep '(' >/dev/null 2>"$TMP/e3"
check_eq "a bad --grep: exit 2" 2 $?
"$VANTAGE" logs --db "$DB" --search '"open' >/dev/null 2>"$TMP/e4"
RC=$?
check_eq "a bad --search: exit 2 ($(head -c 60 "$TMP/e4"))" 2 $RC

# --follow: the lines written after it started, once
"$VANTAGE" logs --db "$DB" --follow -n 1 --json >"$TMP/follow.json" 2>&1 &
FOLLOW=$!
on_exit "kill $FOLLOW"
wait_for 5 test -s "$TMP/follow.json"
for i in 1 2 3; do echo "INFO followed $i" >>"$LOG"; done
wait_for 10 bash -c "[ \$(grep -c followed '$TMP/follow.json') -ge 3 ]"
kill $FOLLOW
check_eq "--follow shows the new lines, once each" "INFO followed 1|INFO followed 2|INFO followed 3" \
	"$(jq -r .line "$TMP/follow.json" | grep followed | paste -sd '|')"

# ---- the API ----------------------------------------------------------------------------
check_eq "GET /logs?q=refused&level=err" 8 "$(curl -sf "$API/logs?q=refused&level=err" | jq '.lines | length')"
check_eq "... order=asc&limit=2: the oldest first" "INFO request 1 ok took 1 ms" \
	"$(curl -sf "$API/logs?order=asc&limit=2&since=-1h" | jq -r '.lines[0].line')"
check_eq "... newest first by default" "INFO followed 3" "$(curl -sf "$API/logs?limit=1" | jq -r '.lines[0].line')"
check_eq "... system=another: none" 0 "$(curl -sf "$API/logs?system=container:none" | jq '.lines | length')"
check_eq "... a bad level: 400" 400 "$(curl -s -o /dev/null -w '%{http_code}' "$API/logs?level=loud")"
check_eq "... a bad search: 400" 400 "$(curl -s -o /dev/null -w '%{http_code}' "$API/logs?q=%22open")"

curl -sN "$API/logs/tail?system=$HID" >"$TMP/tail.ndjson" &
TAIL1=$!
on_exit "kill $TAIL1"
curl -sN "$API/logs/tail?format=sse&q=tailed" >"$TMP/tail.sse" &
TAIL2=$!
on_exit "kill $TAIL2"
wait_for 5 test -s "$TMP/tail.sse"
NEWEST=$(curl -sf "$API/logs?limit=1" | jq .newest_id)
for i in 1 2 3 4 5; do echo "INFO tailed $i" >>"$LOG"; done
wait_for 10 bash -c "[ \$(grep -c tailed '$TMP/tail.ndjson') -ge 5 ] && [ \$(grep -c '^data: ' '$TMP/tail.sse') -ge 5 ]"
check_eq "the live tail (NDJSON) streams the new lines" "INFO tailed 1|INFO tailed 2|INFO tailed 3|INFO tailed 4|INFO tailed 5" \
	"$(grep . "$TMP/tail.ndjson" | jq -r .line | paste -sd '|')"
check_eq "... and as server-sent events, with ids" 5 "$(grep -c '^id: [0-9]' "$TMP/tail.sse")"
check_eq "... resumed after an id" "INFO tailed 1" \
	"$(timeout 3 curl -sN "$API/logs/tail?after=$NEWEST" | grep -m1 tailed | jq -r .line)"
check_eq "... a bad format: 400" 400 "$(curl -s -o /dev/null -w '%{http_code}' "$API/logs/tail?format=xml")"
kill $SERVE
wait_for 10 bash -c "! kill -0 $TAIL1 2>/dev/null && ! kill -0 $TAIL2 2>/dev/null"
check "the tails end when the server stops" bash -c "! kill -0 $TAIL1 2>/dev/null"
wait $SERVE
check_eq "... and the daemon exits 0" 0 $?

# ---- the log store on PostgreSQL -------------------------------------------------------
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -x "$PGBIN/initdb" ] && [ -x build/unit/test_store_logs ]; then
	chmod 755 "$TMP"
	PG=$TMP/pg
	mkdir -p "$PG"
	chown nobody "$PG"
	runuser -u nobody -- "$PGBIN/initdb" -D "$PG/data" -U vantage --auth=trust -E UTF8 -N >/dev/null
	on_exit "runuser -u nobody -- $PGBIN/pg_ctl -D $PG/data -m immediate stop"
	runuser -u nobody -- "$PGBIN/pg_ctl" -D "$PG/data" -o "-k $PG -c listen_addresses=''" -l "$PG/log" -w start -s
	runuser -u nobody -- "$PGBIN/createdb" -h "$PG" -U vantage vantage
	if VANTAGE_TEST_STORE_URL="postgres:///vantage?host=$PG&user=vantage&schema=%s" \
		build/unit/test_store_logs >"$TMP/pg.log" 2>&1; then
		ok "the log store's tests pass on PostgreSQL"
	else
		not_ok "the log store's tests pass on PostgreSQL"
		tail -20 "$TMP/pg.log" | sed 's/^/#   /'
	fi
else
	ok "# SKIP PostgreSQL server binaries or build/unit/test_store_logs missing"
fi
