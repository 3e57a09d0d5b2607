#!/usr/bin/env bash
# bench/sflow_sink.sh - the sFlow sink's cost per tick beside the daemon's own
# (issue 15, "The sFlow sink's cost per tick beside the daemon's own").
#
#   1. Starts N (default 20) busybox containers (unshare + cgroups, the
#      fixtures of tests/integration/containers_lib.sh; stopped at exit) and
#      a UDP receiver on loopback that counts datagrams.
#   2. Side by side, in one window of WINDOW (60) s after WARM (5) s:
#        plain  vantage serve --metric-interval 1s (host + the containers),
#               with a file sink (the frames replayed in 3.)
#        sflow  the same with --sink sflow://127.0.0.1:PORT besides its file sink
#      CPU of each (utime+stime of the process, /proc/PID/stat) as % of one
#      core, and per tick (ms of CPU per 1 s tick); the difference is the
#      sink's cost as the daemon sees it, noise of a loaded machine included.
#   3. The sink alone, exactly: the frames `plain` wrote (a file sink beside
#      its store) replayed REPS times through sink_open("sflow://...") by a
#      small program linked with build/libvantage.a (built here into $TMP);
#      CPU of the process (parsing, encoding, the sender thread, sendto) per
#      tick of host + N containers.
#   Prints both, with the ratio sink / daemon per tick.
# Run as root, after `make`.  Knobs: N, WINDOW, WARM, REPS.
set -u
cd "$(dirname "$0")/.." || exit 1
N=${N:-20}
WINDOW=${WINDOW:-60}
WARM=${WARM:-5}
REPS=${REPS:-200}
V=$PWD/build/vantage
[ -x "$V" ] && [ -f build/libvantage.a ] || { echo "run 'make' first" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench/sflow_sink.sh runs as root (containers)" >&2; exit 1; }
VANTAGE=$V
source tests/integration/lib.sh
source tests/integration/containers_lib.sh
HZ=$(getconf CLK_TCK)

ticks() { awk '{ s = $0; sub(/^.*\) /, "", s); split(s, f, " "); print f[12] + f[13] }' "/proc/$1/stat"; }

# ---- containers and the receiver ------------------------------------------------
mk_busybox_root "$TMP/root" || exit 1
for i in $(seq 1 "$N"); do
	start_unshare_container "bsf$$-$i" "$TMP/root" 'sleep 1000000' >/dev/null || exit 1
done
cat >"$TMP/recv.py" <<'PY'
import socket, sys, signal
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
n = b = 0
def done(*a):
    open(sys.argv[2], "w").write("%d %d\n" % (n, b))
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
while True:
    d = s.recv(65535)
    n += 1
    b += len(d)
PY
python3 "$TMP/recv.py" "$TMP/port" "$TMP/recv.count" &
RECV=$!
on_exit "kill $RECV"
wait_for 5 test -s "$TMP/port"
RPORT=$(cat "$TMP/port")
URL="sflow://127.0.0.1:$RPORT"

# ---- 2. two daemons side by side ------------------------------------------------
start_serve() { # name, extra args...
	local name=$1
	shift
	"$V" serve --no-vms --db "$TMP/$name.db" --listen "127.0.0.1:$(free_port)" --metric-interval 1s \
		"$@" >"$TMP/$name.out" 2>"$TMP/$name.log" &
	echo $!
}
P_PLAIN=$(start_serve plain --sink "$TMP/frames.jsonl")
P_SFLOW=$(start_serve sflow --sink "$URL" --sink "$TMP/frames2.jsonl")
on_exit "kill -9 $P_PLAIN $P_SFLOW"
echo "N=$N containers, metric interval 1 s, WARM=${WARM}s, WINDOW=${WINDOW}s, $(nproc) cores"
sleep "$WARM" # the daemons' start-up (first crawls of every feature) is not measured
a0=$(ticks "$P_PLAIN") b0=$(ticks "$P_SFLOW") t0=$(date +%s%N)
sleep "$WINDOW" # the window measured
a1=$(ticks "$P_PLAIN") b1=$(ticks "$P_SFLOW") t1=$(date +%s%N)
kill -TERM "$P_PLAIN" "$P_SFLOW"
wait_for 20 bash -c "! kill -0 $P_PLAIN 2>/dev/null && ! kill -0 $P_SFLOW 2>/dev/null"
kill -TERM "$RECV"
wait "$RECV" 2>/dev/null
read -r ndg nbytes <"$TMP/recv.count"
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e9 }')
pct() { awk -v d=$(($2 - $1)) -v hz="$HZ" -v s="$secs" 'BEGIN { printf "%.2f", d / hz / s * 100 }'; }
cp=$(pct "$a0" "$a1") cs=$(pct "$b0" "$b1")
printf '%-34s %8s %% of one core  %8s ms CPU per 1 s tick\n' "serve (store, file sink)" "$cp" \
	"$(awk -v c="$cp" 'BEGIN { printf "%.2f", c * 10 }')"
printf '%-34s %8s %% of one core  %8s ms CPU per 1 s tick\n' "serve + sflow:// sink" "$cs" \
	"$(awk -v c="$cs" 'BEGIN { printf "%.2f", c * 10 }')"
echo "difference: $(awk -v a="$cp" -v b="$cs" 'BEGIN { printf "%+.2f", b - a }') % of one core" \
	"(ratio $(awk -v a="$cp" -v b="$cs" 'BEGIN { if (a > 0) printf "%.3f", b / a; else print "-" }'));" \
	"the receiver got $ndg datagrams, $nbytes bytes" \
	"($(awk -v n="$ndg" -v s="$secs" -v w="$WARM" 'BEGIN { printf "%.1f", n / (s + w) }')/s)"
echo "(the machine is shared: the two daemons' figures differ by noise too; 3. measures the sink alone)"

# ---- 3. the sink alone, frames replayed -----------------------------------------
cat >"$TMP/replay.c" <<'C'
/* replay FRAMES URL REPS: each frame of FRAMES (JSON Lines) through the sink. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "sinks/sinks.h"
#include "util/log.h"

struct fr { struct system_id sys; char *text; size_t len; int host; };

static double cpu_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	FILE *f = fopen(argv[1], "r");
	if (!f) { perror(argv[1]); return 1; }
	struct fr *v = NULL;
	size_t n = 0, cap = 0, ticks = 0;
	char *line = NULL;
	size_t lcap = 0;
	ssize_t l;
	while ((l = getline(&line, &lcap, f)) > 0) {
		if (strstr(line, "\"feature\":\"frame\"")) {
			if (n == cap) v = realloc(v, (cap = cap ? 2 * cap : 64) * sizeof(*v));
			struct fr *x = &v[n++];
			memset(x, 0, sizeof(*x));
			json_t *j = json_loads(line, 0, NULL), *val = json_object_get(j, "value");
			snprintf(x->sys.id, sizeof(x->sys.id), "%s", json_string_value(json_object_get(j, "system")));
			snprintf(x->sys.name, sizeof(x->sys.name), "%s", json_string_value(json_object_get(val, "name")) ?: "");
			snprintf(x->sys.kind, sizeof(x->sys.kind), "%s", json_string_value(json_object_get(val, "kind")) ?: "");
			x->host = strcmp(x->sys.kind, "host") == 0;
			json_decref(j);
		}
		if (!n) continue;
		struct fr *x = &v[n - 1];
		x->text = realloc(x->text, x->len + (size_t)l);
		memcpy(x->text + x->len, line, (size_t)l);
		x->len += (size_t)l;
		if (x->host && strstr(line, "\"feature\":\"metric\",\"key\":\"memory\"")) ticks++;
	}
	log_threshold = LOG_WARN;
	struct sink *s;
	char err[512];
	if (sink_open(argv[2], NULL, &s, err, sizeof(err)) < 0) { fprintf(stderr, "%s\n", err); return 1; }
	int reps = atoi(argv[3]);
	double c0 = cpu_s();
	for (int r = 0; r < reps; r++)
		for (size_t i = 0; i < n; i++) {
			struct frame_info in = {.sys = &v[i].sys, .fmt = FRAME_JSON};
			struct frame_summary sum = {.sys = &v[i].sys, .fmt = FRAME_JSON};
			sink_begin_frame(s, &in);
			sink_write(s, v[i].text, v[i].len);
			sink_end_frame(s, &sum);
			sink_flush(s);
		}
	sink_close(s);
	double c1 = cpu_s();
	size_t bytes = 0;
	for (size_t i = 0; i < n; i++) bytes += v[i].len;
	printf("%zu %zu %zu %.6f\n", n, ticks, bytes, (c1 - c0) / reps);
	return 0;
}
C
LIBS="-lpq -lrdkafka -lzstd -lcurl -lcrypto -lsqlite3 -ljansson -linih -lbpf -lext2fs -lcom_err -lpthread -lm"
cc -O2 -std=gnu11 -D_GNU_SOURCE -Isrc -o "$TMP/replay" "$TMP/replay.c" build/libvantage.a $LIBS ||
	{ echo "cannot build the replay program" >&2; exit 1; }
# a receiver is not needed: datagrams to a port nobody reads cost the sender the same
read -r nframes nticks nbytes per_rep < <("$TMP/replay" "$TMP/frames.jsonl" "sflow://127.0.0.1:$(free_port)" "$REPS")
[ "${nticks:-0}" -gt 0 ] || { echo "no host metric frames recorded" >&2; exit 1; }
us_tick=$(awk -v c="$per_rep" -v t="$nticks" 'BEGIN { printf "%.1f", c / t * 1e6 }')
daemon_ms=$(awk -v c="$cp" 'BEGIN { printf "%.2f", c * 10 }')
echo "sink alone: $nframes frames ($nticks ticks of host + $N containers, $((nbytes / 1024)) KiB of" \
	"frames) replayed $REPS times: $us_tick us of CPU per tick"
echo "ratio sink / daemon per tick: $(awk -v u="$us_tick" -v d="$daemon_ms" 'BEGIN { if (d > 0) printf "%.4f (%.2f %%)", u / 1000 / d, u / 10 / d; else print "-" }')" \
	"(target: a small fraction of the daemon's own; the issue gives no figure)"
