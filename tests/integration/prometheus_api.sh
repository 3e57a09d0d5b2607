#!/usr/bin/env bash
# Integration test: the Prometheus query API under /prometheus with
# Debian's promtool as the client.  A real `vantage serve` (the host, a
# metric every second, a temporary store on loopback) runs until its
# series hold 40 s of points; then, at a time T:
#   - the raw points of a gauge (memory.used_pct) and of a counter
#     (cgroup.cpu_usage_ns -> vantage_cgroup_cpu_usage_seconds, x1e-9) that
#     the API gives for NAME[60s] are the points the REST series endpoint
#     gives (step 1s: one point a bucket);
#   - `promtool query instant` of rate, irate, increase and every
#     *_over_time equals Prometheus's formulas applied to those points
#     (python3 here, with the extrapolation rules);
#   - *_over_time[10s] at T (a multiple of 10 s), and at each step of a
#     `promtool query range`, equals the REST endpoint's avg/min/max/sum/
#     count of the 10 s bucket before it;
#   - sum/avg/min/max/count by (system) over every mount point's
#     vantage_disk_used_pct, and arithmetic between series and scalars,
#     equal the same computed from the REST endpoint's latest points;
#   - `promtool query series` and `promtool query labels` list the series;
#     a POST with a form body (Grafana's default) is answered as the GET;
#   - unsupported PromQL: 400 in Prometheus's error shape (curl), promtool
#     exits non-zero printing the message.
source "$(dirname "$0")/lib.sh"

for tool in curl promtool python3 jq; do
	command -v "$tool" >/dev/null || { not_ok "$tool is installed"; exit 1; }
done

"$VANTAGE" serve --no-vms --no-containers --db "$TMP/store.db" --listen 127.0.0.1:0 \
	--metric-interval 2s 2>"$TMP/serve.log" &
SERVE_PID=$!
on_exit "kill $SERVE_PID"
api_addr() { sed -n 's|^vantage: API on http://\([^ ]*\)$|\1|p' "$TMP/serve.log" | grep -q .; }
wait_for 20 api_addr
ADDR=$(sed -n 's|^vantage: API on http://\([^ ]*\)$|\1|p' "$TMP/serve.log")
check "vantage serve listens ($ADDR)" test -n "$ADDR"
[ -n "$ADDR" ] || { sed 's/^/#   /' "$TMP/serve.log" | tail; exit 1; }
URL=http://$ADDR/prometheus
host_id() { curl -s "http://$ADDR/api/v1/systems?kind=host" | jq -r '.systems[0].id // empty'; }
has_host() { [ -n "$(host_id)" ]; }
wait_for 20 has_host
SID=$(host_id)
SIDE=${SID//:/%3A}
check "the host is in the store ($SID)" grep -q '^host:' <<<"$SID"

# enough points: the first one 65 s old (a point every 2 s: one per 1 s bucket of the REST answer)
first_age() {
	local t
	t=$(curl -s "http://$ADDR/api/v1/systems/$SIDE/metrics/memory.used_pct?since=5m&step=1s" | jq -r '.points[0][0] // empty')
	[ -n "$t" ] && echo $(($(date +%s) - $(date -d "$t" +%s))) || echo 0
}
enough() { [ "$(first_age)" -ge 65 ]; }
wait_for 120 enough
check "65 s of points stored" enough

# T: a multiple of 10 s, at least a second ago
NOW=$(date +%s)
T=$(((NOW - 2) / 10 * 10))
rest() { # METRIC SINCE UNTIL STEP STAT -> the REST answer
	curl -s "http://$ADDR/api/v1/systems/$SIDE/metrics/$1?since=$2&until=$3&step=$4&stat=$5"
}
pinst() { # FILE EXPR: promtool query instant -o json at T
	promtool query instant -o json --time="$T" -- "$URL" "$2" >"$TMP/$1.json" 2>"$TMP/$1.err" ||
		echo "promtool failed: $(cat "$TMP/$1.err")" >"$TMP/$1.json"
}
GAUGE='vantage_memory_used_pct{system="'$SID'"}'
COUNTER='vantage_cgroup_cpu_usage_seconds{system="'$SID'"}'
rest memory.used_pct $((T - 60)) "$T" 1s avg >"$TMP/rest_gauge.json"
rest cgroup.cpu_usage_ns $((T - 60)) "$T" 1s avg >"$TMP/rest_counter.json"
curl -s -G "$URL/api/v1/query" --data-urlencode "query=$GAUGE[60s]" --data-urlencode "time=$T" >"$TMP/raw_gauge.json"
curl -s -G "$URL/api/v1/query" --data-urlencode "query=$COUNTER[60s]" --data-urlencode "time=$T" >"$TMP/raw_counter.json"
for f in rate irate increase avg_over_time min_over_time max_over_time sum_over_time count_over_time last_over_time; do
	pinst "g_$f" "$f($GAUGE[30s])"
	pinst "c_$f" "$f($COUNTER[30s])"
done
for s in avg min max sum count; do
	pinst "ot10_$s" "${s}_over_time($GAUGE[10s])"
	rest memory.used_pct $((T - 10)) "$T" 10s "$s" >"$TMP/rest10_$s.json"
done
promtool query range -o json --start=$((T - 50)) --end="$T" --step=10s "$URL" "avg_over_time($GAUGE[10s])" \
	>"$TMP/range_avg.json" 2>"$TMP/range_avg.err"
rest memory.used_pct $((T - 60)) "$T" 10s avg >"$TMP/rest_range_avg.json"
promtool query range -o json --start=$((T - 30)) --end="$T" --step=5s "$URL" "$GAUGE" \
	>"$TMP/range_sel.json" 2>"$TMP/range_sel.err"
rest disk.used_pct $((T - 300)) "$T" 1s avg >"$TMP/rest_disk.json"
for a in sum avg min max count; do
	pinst "agg_$a" "$a by (system) (vantage_disk_used_pct{system=\"$SID\"})"
done
rest memory.used_kb $((T - 300)) "$T" 1s avg >"$TMP/rest_used.json"
rest memory.total_kb $((T - 300)) "$T" 1s avg >"$TMP/rest_total.json"
pinst ratio "vantage_memory_used_bytes{system=\"$SID\"} / vantage_memory_total_bytes * 100"
pinst scaled "2 * $GAUGE - 1"
pinst neg "-(vantage_memory_used_bytes{system=\"$SID\"} + vantage_memory_total_bytes)"
pinst scalar "(1 + 2) * 3 / 2"

python3 - "$TMP" "$T" <<'PY'
import json, math, os, sys
from datetime import datetime, timezone
tmp, T = sys.argv[1], int(sys.argv[2]) * 1000

def load(name):
    try:
        return json.load(open(os.path.join(tmp, name)))
    except Exception as e:
        print("#   %s: %s: %.300s" % (name, e, open(os.path.join(tmp, name)).read()))
        return None

def check(desc, ok, detail=""):
    print(("ok - " if ok else "not ok - ") + desc)
    if not ok and detail:
        print("#   " + detail)

def close(a, b):
    return a == b or (a is not None and b is not None and abs(a - b) <= 1e-9 * max(1, abs(a), abs(b)))

def close6(a, b):
    """a full-precision value against the REST answer, which rounds to 6 decimals"""
    return a is not None and b is not None and abs(a - b) <= 5.0001e-7 + 1e-9 * max(1, abs(a), abs(b))

def iso_ms(s):
    return int(datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp() * 1000)

def rest_points(name, scale=1):
    d = load(name)
    if not d:
        return []
    return [(iso_ms(t), v * scale) for t, v in d.get("points", [])]

def raw(name):
    d = load(name)
    r = d["data"]["result"] if d and d.get("status") == "success" else []
    return [(round(float(t) * 1000), float(v)) for t, v in r[0]["values"]] if r else []

def inst(name):
    d = load(name)
    if not isinstance(d, list) or len(d) != 1:
        return None
    return float(d[0]["value"][1])

# ---- the raw points are the REST endpoint's ----
series = {}
for kind, scale in (("gauge", 1), ("counter", 1e-9)):
    pts, rp = raw("raw_%s.json" % kind), rest_points("rest_%s.json" % kind, scale)
    series[kind] = pts
    # REST buckets are [s, s+1): each raw point is in the bucket of its second
    rb = {t: v for t, v in rp}
    inwin = [(t, v) for t, v in pts if t // 1000 * 1000 in rb]
    ok = len(pts) >= 25 and len(inwin) == len(pts) and all(close(v, rb[t // 1000 * 1000]) for t, v in pts)
    ok = ok and len([t for t, _ in rp if T - 60000 <= t <= T]) == len(pts)
    check("%s: %d raw points of NAME[60s] are the REST endpoint's (%d buckets)" % (kind, len(pts), len(rp)), ok,
          "api %s rest %s" % (pts[:3], rp[:3]))

# ---- functions: Prometheus's formulas over those points ----
def extrapolated(w, start, end, rng, is_rate):
    if len(w) < 2:
        return None
    t = [p[0] for p in w]; v = [p[1] for p in w]
    res = v[-1] - v[0]
    for i in range(1, len(v)):
        if v[i] < v[i - 1]:
            res += v[i - 1]
    to_start = (t[0] - start) / 1000; to_end = (end - t[-1]) / 1000
    sampled = (t[-1] - t[0]) / 1000; avg = sampled / (len(w) - 1)
    if res > 0 and v[0] >= 0:
        to_start = min(to_start, sampled * (v[0] / res))
    thr = avg * 1.1; iv = sampled
    iv += to_start if to_start < thr else avg / 2
    iv += to_end if to_end < thr else avg / 2
    res *= iv / sampled
    return res / (rng / 1000) if is_rate else res

def expect(f, pts, rng=30000):
    w = [p for p in pts if T - rng < p[0] <= T]
    v = [p[1] for p in w]
    if not w:
        return None
    if f == "rate": return extrapolated(w, T - rng, T, rng, True)
    if f == "increase": return extrapolated(w, T - rng, T, rng, False)
    if f == "irate":
        if len(w) < 2: return None
        d = v[-1] if v[-1] < v[-2] else v[-1] - v[-2]
        return d / ((w[-1][0] - w[-2][0]) / 1000)
    if f == "avg_over_time": return sum(v) / len(v)
    if f == "min_over_time": return min(v)
    if f == "max_over_time": return max(v)
    if f == "sum_over_time": return sum(v)
    if f == "count_over_time": return float(len(v))
    if f == "last_over_time": return v[-1]

for kind, pre in (("gauge", "g"), ("counter", "c")):
    for f in ("rate", "irate", "increase", "avg_over_time", "min_over_time", "max_over_time",
              "sum_over_time", "count_over_time", "last_over_time"):
        got, want = inst("%s_%s.json" % (pre, f)), expect(f, series[kind])
        check("promtool query instant %s(%s[30s]) = %s (from the REST points)" % (f, kind, want),
              want is not None and close(got, want), "got %s" % got)

# ---- *_over_time[10s] = the REST endpoint's 10 s bucket ----
for s in ("avg", "min", "max", "sum", "count"):
    d = load("rest10_%s.json" % s)
    pts = [p for p in (d.get("points", []) if d else []) if iso_ms(p[0]) == T - 10000]
    want = pts[0][1] if len(pts) == 1 else None
    got = inst("ot10_%s.json" % s)
    check("%s_over_time(gauge[10s]) at T = the REST %s of [T-10s, T) (%s)" % (s, s, want),
          want is not None and close6(got, want), "got %s rest %s" % (got, pts))

d = load("range_avg.json")
vals = d[0]["values"] if isinstance(d, list) and len(d) == 1 else []
rb = {t + 10000: v for t, v in rest_points("rest_range_avg.json")}
ok = len(vals) == 6 and all(close6(float(v), rb.get(round(float(t) * 1000))) for t, v in vals)
check("promtool query range avg_over_time(gauge[10s]), 6 steps of 10 s = the REST 10 s averages", ok,
      "got %s rest %s" % (vals, sorted(rb.items())))

# range query of the selector: each step its latest point of the 5 minutes before
d = load("range_sel.json")
vals = d[0]["values"] if isinstance(d, list) and len(d) == 1 else []
pts = series["gauge"]
def latest(t):
    w = [p for p in pts if t - 300000 < p[0] <= t]
    return w[-1][1] if w else None
ok = len(vals) == 7 and all(close(float(v), latest(round(float(t) * 1000))) for t, v in vals)
check("promtool query range gauge, 7 steps of 5 s: each the latest REST point", ok, "got %s" % vals)

# ---- aggregations over the mount points ----
d = load("rest_disk.json")
lat = []
for s in (d.get("series") or [{"points": d.get("points", [])}]) if d else []:
    p = [v for t, v in s["points"] if iso_ms(t) <= T]
    if p:
        lat.append(p[-1])
want = {"sum": sum(lat), "avg": sum(lat) / len(lat) if lat else None, "min": min(lat) if lat else None,
        "max": max(lat) if lat else None, "count": float(len(lat))}
for a in ("sum", "avg", "min", "max", "count"):
    got = inst("agg_%s.json" % a)
    check("%s by (system) (vantage_disk_used_pct) over %d mount points = %s (REST)" % (a, len(lat), want[a]),
          bool(lat) and close(got, want[a]), "got %s" % got)

# ---- arithmetic ----
used = [v for t, v in rest_points("rest_used.json") if t <= T]
total = [v for t, v in rest_points("rest_total.json") if t <= T]
if used and total:
    check("used_bytes / total_bytes * 100 = used_kb / total_kb * 100 (REST)",
          close(inst("ratio.json"), used[-1] * 1024 / (total[-1] * 1024) * 100), "got %s" % inst("ratio.json"))
    check("-(used_bytes + total_bytes) = -(used_kb + total_kb) x 1024 (REST)",
          close(inst("neg.json"), -(used[-1] + total[-1]) * 1024), "got %s" % inst("neg.json"))
else:
    check("REST memory.used_kb and total_kb", False)
check("2 * gauge - 1 = 2 x the latest REST point - 1", close(inst("scaled.json"), 2 * latest(T) - 1),
      "got %s" % inst("scaled.json"))
sc = load("scalar.json")
check("(1 + 2) * 3 / 2 is the scalar 4.5 at T", sc == [T / 1000, "4.5"], str(sc))
PY

# ---- listings --------------------------------------------------------------------------------------
promtool query series --match='vantage_memory_used_pct' --start=$((T - 60)) --end="$T" "$URL" >"$TMP/series.out" 2>&1
check "promtool query series: vantage_memory_used_pct of the host, labelled as /metrics" \
	grep -q "__name__=\"vantage_memory_used_pct\", kind=\"host\", name=\"[^\"]*\", system=\"$SID\"" "$TMP/series.out"
[ $? = 0 ] || sed 's/^/#   /' "$TMP/series.out" | head -5
promtool query labels "$URL" kind >"$TMP/labels.out" 2>&1
check_eq "promtool query labels kind" host "$(cat "$TMP/labels.out")"
promtool query labels "$URL" __name__ >"$TMP/names.out" 2>&1
check "promtool query labels __name__ lists vantage_memory_used_pct and vantage_cgroup_cpu_usage_seconds" \
	bash -c "grep -qx vantage_memory_used_pct '$TMP/names.out' && grep -qx vantage_cgroup_cpu_usage_seconds '$TMP/names.out'"
curl -s "$URL/api/v1/labels" | jq -e '.status == "success" and (.data | index("system")) and (.data | index("__name__"))' >/dev/null
check "GET /prometheus/api/v1/labels names system and __name__" test $? = 0
curl -s -X POST --data-urlencode "query=$GAUGE" --data-urlencode "time=$T" "$URL/api/v1/query" |
	jq -e --arg s "$SID" '.status == "success" and .data.result[0].metric.system == $s' >/dev/null
check "POST /prometheus/api/v1/query with a form body (Grafana's default method)" test $? = 0
curl -s "$URL/api/v1/status/buildinfo" | jq -e '.data.version | startswith("2.")' >/dev/null
check "buildinfo: a 2.x version (what Grafana reads)" test $? = 0

# ---- unsupported and bad PromQL: Prometheus's error shape ------------------------------------------------
code=$(curl -s -o "$TMP/err.json" -w '%{http_code}' -G "$URL/api/v1/query" --data-urlencode 'query=histogram_quantile(0.9, rate(x[5m]))')
check_eq "unsupported function: 400" 400 "$code"
check "... {status: error, errorType: bad_data, error naming it}" \
	jq -e '.status == "error" and .errorType == "bad_data" and (.error | contains("histogram_quantile"))' "$TMP/err.json" >/dev/null
code=$(curl -s -o "$TMP/err2.json" -w '%{http_code}' -G "$URL/api/v1/query" --data-urlencode 'query=sum(x' )
check_eq "a syntax error: 400 bad_data" "400 bad_data" "$code $(jq -r .errorType "$TMP/err2.json")"
code=$(curl -s -o "$TMP/err3.json" -w '%{http_code}' -G "$URL/api/v1/query" \
	--data-urlencode 'query={__name__=~"vantage_memory_(used_pct|swap_used_pct)"} + ignoring(__name__) vantage_memory_used_pct')
check_eq "duplicate series in a match: 422 execution" "422 execution" "$code $(jq -r .errorType "$TMP/err3.json")"
code=$(curl -s -o "$TMP/err4.json" -w '%{http_code}' "$URL/api/v1/query_range?query=1&start=10&end=5&step=1")
check_eq "query_range with end before start: 400" 400 "$code"
promtool query instant "$URL" 'topk(3, vantage_memory_used_pct)' >"$TMP/pt.out" 2>&1
rc=$?
check "promtool: unsupported expression exits non-zero ($rc)" test "$rc" -ne 0
check "... printing the message" grep -q "the aggregation topk" "$TMP/pt.out"
promtool query range --start=$((T - 60)) --end="$T" --step=10s "$URL" 'x % 2' >"$TMP/pt2.out" 2>&1
rc=$?
check "promtool query range: the operator % refused ($rc)" bash -c "[ $rc -ne 0 ] && grep -q \"operator '%'\" '$TMP/pt2.out'"
