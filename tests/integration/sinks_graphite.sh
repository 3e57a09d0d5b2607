#!/bin/bash
# The Graphite sink (issue 15): Debian's carbon-cache (graphite-carbon),
# started here on loopback ports with its own config and whisper directory,
# receives the metric records of `vantage serve`'s frames as plaintext
# lines.  Every point of every metric frame the daemon made (a file sink
# given alongside is the record of what was crawled) is read back from the
# whisper files (python3's whisper module, from graphite-carbon's
# dependencies) with the value the frame held, under the path the
# documented template makes - also across carbon stopped and started again
# mid-stream (the frames wait in the spool; /metrics counts them).
source "$(dirname "$0")/lib.sh"

# Debian's python (its whisper module), not another python3 first in PATH
PY=/usr/bin/python3
if ! command -v carbon-cache >/dev/null || ! "$PY" -c 'import whisper' 2>/dev/null; then
	not_ok "graphite-carbon is not installed (scripts/setup.sh --tests)"
	exit 1
fi

GPORT=$(free_port)
C=$TMP/carbon
mkdir -p "$C/storage/whisper" "$C/log"
cat >"$C/carbon.conf" <<EOF
[cache]
STORAGE_DIR = $C/storage/
LOCAL_DATA_DIR = $C/storage/whisper/
CONF_DIR = $C/
LOG_DIR = $C/log/
PID_DIR = $C/
DATABASE = whisper
USER =
ENABLE_TAGS = False
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = inf
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = $GPORT
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = $(free_port)
CACHE_QUERY_INTERFACE = 127.0.0.1
CACHE_QUERY_PORT = $(free_port)
EOF
cat >"$C/storage-schemas.conf" <<EOF
[all]
pattern = .*
retentions = 1s:1h
EOF
port_open() { (echo >"/dev/tcp/127.0.0.1/$GPORT") 2>/dev/null; }
start_carbon() {
	carbon-cache --config="$C/carbon.conf" --nodaemon --pidfile="$C/carbon.pid" \
		--logdir="$C/log" start >>"$C/out.log" 2>&1 &
	CARBON_PID=$!
	on_exit "kill -9 $CARBON_PID"
	wait_for 20 port_open
}
stop_carbon() {
	kill -TERM "$CARBON_PID"
	wait_for 20 bash -c "! kill -0 $CARBON_PID 2>/dev/null"
}
check "carbon-cache listens on 127.0.0.1:$GPORT" start_carbon

PORT=$(free_port)
URL="graphite://127.0.0.1:$GPORT"
"$VANTAGE" serve --no-vms --no-containers --db "$TMP/s.db" --listen "127.0.0.1:$PORT" \
	--metric-interval 2s --sink "$URL?prefix=vt" --sink "$TMP/served.jsonl" \
	--spool-dir "$TMP/spool" 2>"$TMP/serve.log" &
SERVE_PID=$!
on_exit "kill -9 $SERVE_PID"
metric() { curl -s --max-time 5 "http://127.0.0.1:$PORT/metrics" | sed -n "s|^vantage_sink_spool_frames_total{sink=\"graphite://127.0.0.1:$GPORT\",event=\"$1\"} ||p"; }
gauge() { curl -s --max-time 5 "http://127.0.0.1:$PORT/metrics" | sed -n "s|^vantage_sink_spool_frames{sink=\"graphite://127.0.0.1:$GPORT\"} ||p"; }
metric_frames() {
	local n
	n=$(grep -c '"feature":"frame".*"features":\["metric"\]' "$TMP/served.jsonl" 2>/dev/null)
	echo "${n:-0}"
}
frames_at_least() { [ "$(metric_frames)" -ge "$1" ]; }
check "serve makes metric frames" wait_for 30 frames_at_least 3

# ---- carbon stopped mid-stream, then started again ----------------------------
check "carbon stopped" stop_carbon
before=$(metric_frames)
spooled_at_least() { local n; n=$(metric spooled); [ "${n:-0}" -ge "$1" ]; }
check "while carbon is down, frames go to the spool (/metrics: $(metric spooled))" wait_for 30 spooled_at_least 2
check "…more frames were made meanwhile" wait_for 30 frames_at_least $((before + 2))
check "carbon started again" start_carbon
spool_drained() { [ "$(gauge)" = 0 ] && [ "$(metric replayed)" -ge 2 ]; }
check "the spool drains into carbon" wait_for 60 spool_drained
after=$(metric_frames)
check "…and frames flow again" wait_for 30 frames_at_least $((after + 2))
sp=$(metric spooled) rp=$(metric replayed) dr=$(metric dropped)
check_eq "replayed = spooled ($sp), none dropped" "$sp 0" "$rp ${dr:-0}"
kill -TERM "$SERVE_PID"
wait_for 30 bash -c "! kill -0 $SERVE_PID 2>/dev/null"
check "serve stopped" bash -c "! kill -0 $SERVE_PID 2>/dev/null"
check "serve's log names the broken connection" grep -q "graphite://127.0.0.1:$GPORT" "$TMP/serve.log"

# ---- every point of every metric frame is in whisper, with its value ----------
# The expected path of each point, from the frame alone, as docs/sinks.md
# documents it: vt.{kind}.{name}.{metric}.{labels} (metric_series.h's key
# grammar), each value sanitized ([A-Za-z0-9_-], others '_').
cat >"$TMP/check.py" <<'PY'
import json, math, os, re, sys, whisper
served, root = sys.argv[1], sys.argv[2]
ident = re.compile(r'^[A-Za-z0-9_]{1,64}$')
def san(s):
    return re.sub(r'[^A-Za-z0-9_-]', '_', s)[:200]
def series(key):
    m = re.match(r'^cpu([0-9]+)$', key)
    if m:
        return 'cpu', [m.group(1)]
    if ':' in key:
        b, v = key.split(':', 1)
        return b, [v]
    return key, []
want, head = {}, None
for line in open(served, encoding='utf-8'):
    r = json.loads(line)
    if r['feature'] == 'frame':
        head = r['value']
        continue
    if r['feature'] != 'metric':
        continue
    t = r['time'][:19]
    import calendar, time
    ts = calendar.timegm(time.strptime(t, '%Y-%m-%dT%H:%M:%S'))
    base, labels = series(r['key'])
    if not ident.match(base):
        continue
    for f, v in r['value'].items():
        if f == 'interval_s' or not ident.match(f) or isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        levels = ['vt', san(head['kind']), san(head['name']), base, f] + [san(l) for l in labels]
        path = '.'.join(l for l in levels if l)
        want[(path, ts)] = float(v)
files, missing, wrong, example = {}, 0, 0, ''
for (path, ts), v in sorted(want.items()):
    fn = os.path.join(root, *path.split('.')) + '.wsp'
    if fn not in files:
        try:
            (start, end, step), vals = whisper.fetch(fn, 0, None)
            files[fn] = {start + i * step: x for i, x in enumerate(vals) if x is not None}
        except Exception:
            files[fn] = {}
    got = files[fn].get(ts)
    if got is None:
        missing += 1
        example = example or '%s@%d missing' % (path, ts)
    elif not math.isclose(got, v, rel_tol=1e-9, abs_tol=1e-9):
        wrong += 1
        example = example or '%s@%d: %r != %r' % (path, ts, got, v)
frames = len({ts for _, ts in want})
print(len(want), frames, missing, wrong, example or '-')
sys.exit(0 if want and not missing and not wrong else 1)
PY
landed() { "$PY" "$TMP/check.py" "$TMP/served.jsonl" "$C/storage/whisper" >"$TMP/check.out" 2>&1; }
wait_for 30 landed
read -r npoints nframes missing wrong example <"$TMP/check.out"
check "the points of $nframes metric frames ($npoints points) were read back from whisper" \
	test "${nframes:-0}" -ge 7
check_eq "none missing, none with another value (first: $example)" "0 0" "$missing $wrong"
path=$(find "$C/storage/whisper/vt/host" -path "*/memory/used_pct.wsp" | head -1)
check "a path by the default template: vt/host/NAME/memory/used_pct.wsp" test -n "$path"
check "a labelled series: disk used_pct of / under vt/host/NAME/disk/used_pct/_.wsp" \
	bash -c "compgen -G '$C/storage/whisper/vt/host/*/disk/used_pct/_.wsp' >/dev/null"
check "carbon logged no bad line" bash -c "! grep -qi 'invalid line' '$C/log/'*.log 2>/dev/null"

# ---- a template and no prefix (one crawl) --------------------------------------
"$VANTAGE" crawl --host -f metric --sink "$URL?prefix=&template=t.{id}.{metric}" -o /dev/null 2>"$TMP/crawl.err"
check_eq "crawl to graphite with a template: exit 0" 0 $?
id=$(jq -r 'select(.feature=="frame") | .system' "$TMP/served.jsonl" | head -1)
id=${id//:/_}
check "…its points land under t/$id/ (':' sanitized)" wait_for 20 test -f "$C/storage/whisper/t/$id/memory/used_pct.wsp"
stop_carbon
