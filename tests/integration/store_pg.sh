#!/usr/bin/env bash
# The PostgreSQL store backend against a real PostgreSQL 15 server: a
# cluster made by initdb in a temporary directory, run as an unprivileged
# user on a unix socket in that directory, stopped at exit.
#   - the store conformance suite (build/unit/test_store_conformance) with
#     VANTAGE_TEST_STORE_URL=postgres://... (a fresh schema per test);
#   - `vantage serve --db postgres://...` crawling real containers;
#   - the same crawled frames loaded into a SQLite store and into PostgreSQL:
#     `vantage api` answers systems, frame, metrics, series, search, diff and
#     topology byte for byte the same from both;
#   - search through the text index (store_state_records_matching): the
#     same answers before and after store_maintain filled it, candidates
#     far fewer than the records, the trigram index usable;
#   - consumer offsets stored with the frames (store_put_frames_at), and
#     their fence against a zombie consumer (build/unit/test_store_fence);
#   - a password in the store URL is never printed (errors, logs, config).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/containers_lib.sh"
cd "$(dirname "$0")/../.."
T=t$$

source "$(dirname "$0")/pg_lib.sh"
[ -x "$PGBIN/initdb" ] || { not_ok "PostgreSQL server binaries (apt install postgresql)"; exit 1; }
need_testbin store_tool
TOOL=$TESTBIN/store_tool

# ---- the cluster ------------------------------------------------------------------
check "initdb as an unprivileged user" pg_init
check "the server starts on a unix socket of the test's directory" pg_start
check "a database for the store" as_pg "$PGBIN/createdb" -h "$PG" -U vantage vantage
URL_BASE="postgres://vantage:s3cr3tPW@/vantage?host=$PG"

# ---- the conformance suite ------------------------------------------------------------
# (cmocka's exit status is the number of failed tests; its output is TAP
# or its own format, as the runner sets CMOCKA_MESSAGE_OUTPUT)
if VANTAGE_TEST_STORE_URL="postgres:///vantage?host=$PG&user=vantage&schema=%s" \
	build/unit/test_store_conformance >"$TMP/conformance.log" 2>&1; then
	ok "the store conformance suite passes on PostgreSQL ($(grep -ciE "^ok [0-9]|\[       OK \]" "$TMP/conformance.log") tests)"
else
	not_ok "the store conformance suite passes on PostgreSQL"
	grep -vE "^\[ (RUN|      OK) |^ok " "$TMP/conformance.log" | tail -20 | sed 's/^/#   /'
fi

# the fence of store_put_frames_at against a zombie consumer (two handles
# standing for two consumers of a group)
if VANTAGE_TEST_STORE_URL="postgres:///vantage?host=$PG&user=vantage&schema=%s" \
	build/unit/test_store_fence >"$TMP/fence.log" 2>&1; then
	ok "a zombie consumer's batch is refused on PostgreSQL (-ESTALE, nothing stored; test_store_fence)"
else
	not_ok "a zombie consumer's batch is refused on PostgreSQL (test_store_fence)"
	tail -20 "$TMP/fence.log" | sed 's/^/#   /'
fi

# ---- the same frames in both stores answer the same ------------------------------------
$VANTAGE crawl --features os,process,connection,package,metric,interface -i 0.2 >"$TMP/a.jsonl" 2>/dev/null
sleep 1 # a second crawl one second later: a diff needs two frame times
$VANTAGE crawl --features os,process,connection,package,metric,interface -i 0.2 >"$TMP/b.jsonl" 2>/dev/null
SQ=$TMP/sq.db
PGU="$URL_BASE&schema=same"
for f in a b; do
	$VANTAGE api --db "$SQ" --import "$TMP/$f.jsonl" >/dev/null 2>&1
	$VANTAGE api --db "$PGU" --import "$TMP/$f.jsonl" >/dev/null 2>"$TMP/import.err"
done
check "frames import into PostgreSQL" bash -c "! grep -v ^imported $TMP/import.err"
P1=$(free_port)
P2=$(free_port)
$VANTAGE api --db "$SQ" -l 127.0.0.1:$P1 2>"$TMP/api1.log" &
on_exit "kill $!"
$VANTAGE api --db "$PGU" -l 127.0.0.1:$P2 2>"$TMP/api2.log" &
on_exit "kill $!"
wait_for 10 curl -sf "http://127.0.0.1:$P1/api/v1/health" -o /dev/null
wait_for 10 curl -sf "http://127.0.0.1:$P2/api/v1/health" -o /dev/null
SID=$(head -1 "$TMP/a.jsonl" | jq -r .system)
TA=$(head -1 "$TMP/a.jsonl" | jq -r .time)
for ep in "systems" "systems/$SID/frame" "systems/$SID/frame?feature=process" \
	"systems/$SID/frame?at=$TA" "systems/$SID/metrics" \
	"systems/$SID/metrics/memory.used_pct?since=-1h&step=1s" \
	"systems/$SID/metrics/cpu.busy_pct?since=-1h&step=1m&stat=max" \
	"search?q=kind:host" "search?q=process" "search?q=package%20name=bash" \
	"search?q=package%20version%3C3%20manager=dpkg" "search?q=process%20user=root%20cmdline~vantage" \
	"search?q=connection%20state=LISTEN" "search?q=os%20or%20interface" "search?q=root&limit=5" \
	"search?q=has%20package%20name=bash%20and%20not%20has%20package%20name=nosuch" \
	"search?q=process%20comm~/^k/&at=$TA" "diff?a=$SID@$TA&b=$SID" "topology"; do
	curl -s "http://127.0.0.1:$P1/api/v1/$ep" >"$TMP/r1"
	curl -s "http://127.0.0.1:$P2/api/v1/$ep" >"$TMP/r2"
	# the search index's own statistics describe the store's layout, not the answer
	if [[ $ep == search* ]]; then
		jq -S 'del(.index)' "$TMP/r1" >"$TMP/r1.j"
		jq -S 'del(.index)' "$TMP/r2" >"$TMP/r2.j"
		mv "$TMP/r1.j" "$TMP/r1"
		mv "$TMP/r2.j" "$TMP/r2"
	fi
	check "GET /api/v1/$ep: the same answer from PostgreSQL as from SQLite ($(wc -c <"$TMP/r1") bytes)" \
		cmp -s "$TMP/r1" "$TMP/r2"
done
# ---- search through the PostgreSQL text index ------------------------------------------
# (store_state_records_matching: the query's words narrow the records read,
# from a pg_trgm index filled by store_maintain; the answers stay SQLite's)
# records whose words are found only decoded (escapes), a feature Vantage
# does not know, a number written 1e3
TN=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
cat >"$TMP/adv.jsonl" <<EOF
{"system":"host:adv","time":"$TN","feature":"frame","key":"host:adv","value":{"id":"host:adv","name":"adv","kind":"host","host":"adv","time":"$TN","features":["package","myfeat"],"records":4}}
{"system":"host:adv","time":"$TN","feature":"package","key":"w\u0069dget","value":{"name":"wid\u0067et","version":"1.0","manager":"dpkg","note":"line1\nzebra","port":1e3}}
{"system":"host:adv","time":"$TN","feature":"package","key":"plain","value":{"name":"plain","version":"2.0","manager":"dpkg","note":"mentions myfeat and x-y-z"}}
{"system":"host:adv","time":"$TN","feature":"myfeat","key":"k1","value":{"name":"x-y-z"}}
{"system":"host:adv","time":"$TN","feature":"myfeat","key":"k2","value":{"name":"other"}}
EOF
for db in "$SQ" "$PGU"; do
	$VANTAGE api --db "$db" --import "$TMP/adv.jsonl" >"$TMP/import.out" 2>&1 ||
		{ echo "# import into the store failed:"; sed 's/^/#   /' "$TMP/import.out"; }
done
SQS=("package%20name=bash" "process%20user=root%20cmdline~vantage" "connection%20state=LISTEN"
	"os%20or%20interface" "root&limit=5" "has%20package%20name=bash%20and%20not%20has%20package%20name=nosuch"
	"widget" "package%20name=widget" "%22line1%20zebra%22" "myfeat" "myfeat%20name=x-y-z"
	"name=x-y-z%20myfeat" "1e3" "name%20in%20(widget,plain)" "process%20pid%3E100")
same_search() { # LABEL: every query of SQS answers the same from both
	local bad="" q
	for q in "${SQS[@]}"; do
		curl -s "http://127.0.0.1:$P1/api/v1/search?q=$q" | jq -S 'del(.index)' >"$TMP/s1"
		curl -s "http://127.0.0.1:$P2/api/v1/search?q=$q" | jq -S 'del(.index)' >"$TMP/s2"
		cmp -s "$TMP/s1" "$TMP/s2" || { bad="$bad $q"; diff "$TMP/s1" "$TMP/s2" | head -6 | sed "s/^/#   /"; }
		[ "$(jq .total "$TMP/s1")" != null ] || bad="$bad $q(no-answer)"
	done
	check_eq "$1: ${#SQS[@]} searches answer the same from PostgreSQL as from SQLite" "" "$bad"
}
same_search "the text index not filled yet (records matched by scanning)"
check "store_maintain fills the search text index" "$TOOL" maintain "$PGU" "$(date +%s000)"
check_eq "...with every record (search_wm is the last record's id)" \
	"$(pg_sql "SELECT max(id) FROM same.records")" "$(pg_sql "SELECT value FROM same.meta WHERE key = 'search_wm'")"
check_eq "...one row a record" "$(pg_sql "SELECT count(*) FROM same.records")" \
	"$(pg_sql "SELECT count(*) FROM same.search_text")"
same_search "through the text index"
cand=$(curl -s "http://127.0.0.1:$P2/api/v1/search?q=package%20name=bash" | jq .index.records)
all=$(curl -s "http://127.0.0.1:$P1/api/v1/search?q=package%20name=bash" | jq .index.records)
check "'package name=bash' reads $cand candidate records of the state's $all (at most 1/20)" \
	test "$cand" -ge 1 -a $((cand * 20)) -le "$all"
plan=$(pg_sql "SET enable_seqscan = off; EXPLAIN SELECT id FROM same.search_text WHERE t ILIKE '%bash%'")
check "the trigram index serves a word (EXPLAIN: Bitmap Index Scan on search_text_trgm)" \
	grep -q "Bitmap Index Scan on search_text_trgm" <<<"$plan"
check_eq "the health endpoint names the backend" postgres \
	"$(curl -s "http://127.0.0.1:$P2/api/v1/health" | jq -r .store.backend)"

# ---- offsets with the frames ------------------------------------------------------------
OU="postgres:///vantage?host=$PG&user=vantage&schema=offs"
check "frames and offsets in one transaction" "$TOOL" offsets "$OU" "$TMP/a.jsonl" grp-1 topic-a 3 42
check_eq "the stored offset reads back" "topic-a 3 42" "$("$TOOL" offsets "$OU" - grp-1)"

# ---- vantage serve on PostgreSQL, crawling real containers ------------------------------
mk_busybox_root "$TMP/root" >/dev/null || { not_ok "busybox root"; exit 1; }
start_unshare_container "$T-pg" "$TMP/root" 'sleep 100000' >/dev/null || { not_ok "start container"; exit 1; }
on_exit "stop_unshare_container $T-pg"
P3=$(free_port)
SU="$URL_BASE&schema=serve"
$VANTAGE serve --db "$SU" --listen 127.0.0.1:$P3 --metric-interval 1s --log-level info \
	>"$TMP/serve.log" 2>&1 &
SP=$!
on_exit "kill $SP"
has_ct() { [ "$(curl -s "http://127.0.0.1:$P3/api/v1/systems" | jq "any(.systems[]; .name == \"$T-pg\")")" = true ]; }
check "vantage serve --db postgres://... stores the container's frames" wait_for 60 has_ct
cid=$(curl -s "http://127.0.0.1:$P3/api/v1/systems" | jq -r ".systems[] | select(.name == \"$T-pg\") | .id")
check "its frame is served from PostgreSQL" \
	wait_for 20 curl -sf "http://127.0.0.1:$P3/api/v1/systems/$cid/frame" -o /dev/null
check "a second daemon on the same store is refused (advisory lock)" \
	bash -c "! timeout 20 $VANTAGE serve --db '$SU' --listen off >$TMP/serve2.log 2>&1"
check "...naming why" grep -q "in use by another vantage serve" "$TMP/serve2.log"
kill $SP
wait $SP 2>/dev/null

# ---- the password is never printed ------------------------------------------------------
$VANTAGE systems --db "postgres://vantage:s3cr3tPW@/nosuchdb?host=$PG" >"$TMP/e1" 2>&1
$VANTAGE api --db "postgres://vantage:s3cr3tPW@/vantage?host=$PG&schema=nosuch" \
	-l 127.0.0.1:$(free_port) >"$TMP/e2" 2>&1
$VANTAGE serve --db "postgres://vantage:s3cr3tPW@/vantage?host=/nonexistent" --listen off >"$TMP/e3" 2>&1
$VANTAGE api --db "postgres:///vantage?host=$PG&user=vantage&password=s3cr3tPW&schema=nosuch" \
	-l 127.0.0.1:$(free_port) >"$TMP/e4" 2>&1
check "errors name the store (no such database)" grep -q "nosuchdb" "$TMP/e1"
check "errors say there is no store in the schema" grep -q "no store" "$TMP/e2"
leaks=$(grep -l s3cr3tPW "$TMP"/e[1-4] "$TMP/serve.log" "$TMP/serve2.log" "$TMP"/api[12].log | tr "\n" " ")
check_eq "the URL's password appears in no error and no log" "" "$leaks"
