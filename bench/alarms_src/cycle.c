/*
 * bench/alarms_src/cycle.c - the alarms' speed (bench/alarms builds and runs
 * it against build/libvantage.a):
 *
 *   cycle    a store of 100 containers (10 images) with 10 minutes of
 *            memory.used_pct and cpu.used_pct every 10 s; 1000 alarms, 500
 *            on one system each and 500 selectors over the 100 (kind=
 *            container, and image=img-K:* for a tenth of them).  One cycle,
 *            as the daemon's engine runs it: a minute of new points stored
 *            (not timed), then in one read session the window brought up to
 *            date (alarm_window_update) and every alarm evaluated over it
 *            (alarm_window_run), each state looked up and kept in a hash
 *            table as the engine does.  Median of RUNS cycles; ratio to
 *            20 ms.  For reference, the store path (alarm_run(), one read
 *            per alarm: what backtests and the API use) over 3 cycles.
 *   latency  the daemon's path: a writer stores a frame of one system every
 *            second and calls alarm_engine_notify(); an alarm (period 5 s,
 *            max > 80, a webhook to a receiver in this program) watches it;
 *            from the first breaching point stored to the POST received,
 *            against period + 1 s.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "analytics/alarm.h"
#include "analytics/alarm_engine.h"
#include "analytics/alarm_run.h"
#include "analytics/alarm_window.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/timefmt.h"
#include "util/util.h"

#define NSYS 100
#define NALARMS 1000

static int64_t ms_now(void)
{
	return now_ns() / 1000000;
}

static void frame(struct buf *b, int i, int64_t t, double mem, double cpu)
{
	char iso[40], sid[64];
	format_time_utc(t * 1000000, iso, sizeof(iso));
	snprintf(sid, sizeof(sid), "container:bench%04d", i);
	buf_printf(
	    b,
	    "{\"system\":\"%s\",\"time\":\"%s\",\"feature\":\"frame\",\"key\":\"%s\","
	    "\"value\":{\"id\":\"%s\",\"name\":\"c%04d\",\"kind\":\"container\",\"runtime\":"
	    "\"podman\",\"image\":\"img-%d:1\",\"host\":\"box\",\"time\":\"%s\",\"features\":"
	    "[\"metric\"],\"duration_ms\":1,\"records\":2,\"errors\":{},\"feature_ms\":{}}}\n",
	    sid, iso, sid, sid, i, i % 10, iso);
	buf_printf(b,
	           "{\"system\":\"%s\",\"time\":\"%s\",\"feature\":\"metric\",\"key\":\"memory\","
	           "\"value\":{\"used_pct\":%.2f}}\n",
	           sid, iso, mem);
	buf_printf(b,
	           "{\"system\":\"%s\",\"time\":\"%s\",\"feature\":\"metric\",\"key\":\"cpu\","
	           "\"value\":{\"used_pct\":%.2f}}\n",
	           sid, iso, cpu);
}

static int nitems;
static int count_cb(void *ctx, const struct alarm_run_item *it)
{
	nitems++;
	return 0;
}

/* The states, as the engine keeps them: a hash table by alarm/system/labels. */
struct st {
	char *key;
	enum alarm_state st;
};
static struct st *tab;
static size_t tcap = 1 << 17, nchanged;
static int cur_alarm;

static struct st *st_find(const char *system, const char *labels, bool add)
{
	/* hashed by its pieces, compared without building the key */
	char a[8];
	snprintf(a, sizeof(a), "a%04d", cur_alarm);
	size_t ls = strlen(system);
	uint64_t h = fnv1a(0xcbf29ce484222325ULL, a, 5);
	h = fnv1a(h, system, ls);
	h = fnv1a(h, labels, strlen(labels));
	size_t i = (size_t)h & (tcap - 1);
	for (; tab[i].key; i = (i + 1) & (tcap - 1)) {
		const char *k = tab[i].key;
		if (memcmp(k, a, 5) == 0 && k[5] == '/' && strncmp(k + 6, system, ls) == 0 &&
		    k[6 + ls] == '/' && strcmp(k + 7 + ls, labels) == 0)
			return &tab[i];
	}
	if (!add)
		return NULL;
	char key[256];
	snprintf(key, sizeof(key), "%s/%s/%s", a, system, labels);
	tab[i].key = strdup(key);
	tab[i].st = ALARM_STATE_INSUFFICIENT;
	return &tab[i];
}

static struct st *last; /* the engine keeps the state prev found for the item */

static void prev_cb(void *ctx, const char *system, const char *labels, struct alarm_prev *out)
{
	struct st *x = last = st_find(system, labels, false);
	out->st = x ? x->st : ALARM_STATE_INSUFFICIENT;
	out->gone = out->warming = false;
}

static int keep_cb(void *ctx, const struct alarm_run_item *it)
{
	struct st *x = last ? last : st_find(it->system_id, it->series_labels, true);
	last = NULL;
	if (x->st != it->state)
		nchanged++;
	x->st = it->state;
	nitems++;
	return 0;
}

/* Frames of every system at [t, t + 60 s), 10 s apart. */
static int put_minute(struct store *s, int64_t t0)
{
	for (int64_t t = t0; t < t0 + 60000; t += 10000) {
		struct store_frame fr[NSYS];
		struct buf b[NSYS];
		for (int i = 0; i < NSYS; i++) {
			b[i] = (struct buf)BUF_INIT;
			frame(&b[i], i, t, 50 + (i * 7 + t / 10000) % 45, 10 + i % 50);
			fr[i] = (struct store_frame){.jsonl = b[i].data, .len = b[i].len};
		}
		if (store_put_frames(s, fr, NSYS) < 0) {
			fprintf(stderr, "put: %s\n", store_errmsg(s));
			return -1;
		}
		for (int i = 0; i < NSYS; i++)
			buf_free(&b[i]);
	}
	return 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int bench_cycle(const char *dir, int runs)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/cycle.db", dir);
	struct store *s;
	if (store_open(path, STORE_RW, &s) < 0) {
		fprintf(stderr, "%s\n", store_errmsg(NULL));
		return 1;
	}
	int64_t now = ms_now();
	now -= now % 10000;
	for (int64_t t = now - 600000; t < now; t += 10000) {
		struct store_frame fr[NSYS];
		struct buf b[NSYS];
		for (int i = 0; i < NSYS; i++) {
			b[i] = (struct buf)BUF_INIT;
			frame(&b[i], i, t, 50 + (i * 7 + t / 10000) % 45, 10 + i % 50);
			fr[i] = (struct store_frame){.jsonl = b[i].data, .len = b[i].len};
		}
		if (store_put_frames(s, fr, NSYS) < 0) {
			fprintf(stderr, "put: %s\n", store_errmsg(s));
			return 1;
		}
		for (int i = 0; i < NSYS; i++)
			buf_free(&b[i]);
	}
	static struct alarm_def d[NALARMS];
	char err[256], v[64];
	for (int k = 0; k < NALARMS; k++) {
		snprintf(v, sizeof(v), "a%04d", k);
		alarm_def_init(&d[k], v);
		alarm_def_set(&d[k], "metric", k % 4 < 2 ? "memory.used_pct" : "cpu.used_pct", err,
		              sizeof(err));
		if (k < NALARMS / 2) {
			snprintf(v, sizeof(v), "container:bench%04d", k % NSYS);
			alarm_def_set(&d[k], "system", v, err, sizeof(err));
		} else if (k % 10 == 0) {
			snprintf(v, sizeof(v), "image=img-%d:*", k % 10);
			alarm_def_set(&d[k], "selector", v, err, sizeof(err));
		} else {
			alarm_def_set(&d[k], "selector", "kind=container", err, sizeof(err));
		}
		alarm_def_set(&d[k], "period", "1m", err, sizeof(err));
		alarm_def_set(&d[k], "evaluation_periods", "3", err, sizeof(err));
		alarm_def_set(&d[k], "datapoints", "2", err, sizeof(err));
		alarm_def_set(&d[k], "threshold", "80", err, sizeof(err));
		if (alarm_def_check(&d[k], err, sizeof(err)) < 0) {
			fprintf(stderr, "alarm %d: %s\n", k, err);
			return 1;
		}
	}
	/* the store path, for reference */
	double *ms = calloc((size_t)(runs > 3 ? runs : 3), sizeof(double));
	for (int r = 0; r < 3; r++) {
		nitems = 0;
		int64_t t0 = now_ns();
		store_read_begin(s);
		for (int k = 0; k < NALARMS; k++)
			if (alarm_run(s, &d[k], now, NULL, NULL, count_cb, NULL, err, sizeof(err)) <
			    0) {
				fprintf(stderr, "run: %s\n", err);
				return 1;
			}
		store_read_end(s);
		ms[r] = (double)(now_ns() - t0) / 1e6;
	}
	qsort(ms, 3, sizeof(double), cmp_d);
	printf("store path (alarm_run, one read per alarm): %d states, %.1f ms per cycle (median "
	       "of 3)\n",
	       nitems, ms[1]);
	/* the daemon's path: the window, a minute of new points before each cycle */
	tab = calloc(tcap, sizeof(*tab));
	const struct alarm_def *dp[NALARMS];
	for (int k = 0; k < NALARMS; k++)
		dp[k] = &d[k];
	struct alarm_window *w = alarm_window_new();
	double first = 0, *upd = calloc((size_t)runs, sizeof(double));
	size_t changed = 0;
	for (int r = -1; r < runs; r++) {
		if (put_minute(s, now) < 0)
			return 1;
		now += 60000;
		nitems = 0;
		nchanged = 0;
		int64_t t0 = now_ns();
		store_read_begin(s);
		if (alarm_window_update(w, s, dp, NALARMS, now, err, sizeof(err)) < 0) {
			fprintf(stderr, "update: %s\n", err);
			return 1;
		}
		double tu = (double)(now_ns() - t0) / 1e6;
		for (int k = 0; k < NALARMS; k++) {
			cur_alarm = k;
			if (alarm_window_run(w, s, &d[k], now, 0, prev_cb, keep_cb, NULL, err,
			                     sizeof(err)) < 0) {
				fprintf(stderr, "run: %s\n", err);
				return 1;
			}
		}
		store_read_end(s);
		double t = (double)(now_ns() - t0) / 1e6;
		if (r < 0)
			first = t; /* the window's first fill */
		else {
			ms[r] = t;
			upd[r] = tu;
			changed += nchanged;
		}
	}
	qsort(ms, (size_t)runs, sizeof(double), cmp_d);
	qsort(upd, (size_t)runs, sizeof(double), cmp_d);
	double med = ms[runs / 2];
	printf(
	    "cycle: %d alarms (%d on one system, %d selectors over %d systems), %d states "
	    "(%.0f changes a cycle): %.1f ms per cycle (median of %d; min %.1f, max %.1f; window "
	    "update %.1f ms; "
	    "first fill of the window %.1f ms; %zu through the store); target 20 ms: ratio "
	    "%.2f\n",
	    NALARMS, NALARMS / 2, NALARMS / 2, NSYS, nitems, (double)changed / runs, med, runs,
	    ms[0], ms[runs - 1], upd[runs / 2], first, alarm_window_fallbacks(w), med / 20.0);
	alarm_window_free(w);
	free(upd);
	free(ms);
	for (int k = 0; k < NALARMS; k++)
		alarm_def_free(&d[k]);
	store_close(s);
	return 0;
}

/* ---- breach to webhook --------------------------------------------------------------- */

static int lfd;
static volatile int64_t got_ms;

static void *receiver(void *arg)
{
	for (;;) {
		int c = accept(lfd, NULL, NULL);
		if (c < 0)
			return NULL;
		char buf[65536];
		ssize_t n = read(c, buf, sizeof(buf) - 1);
		if (n > 0 && !got_ms) {
			buf[n] = 0;
			if (strstr(buf, "firing"))
				got_ms = ms_now();
		}
		const char *ok =
		    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
		if (write(c, ok, strlen(ok)) < 0)
			perror("write");
		close(c);
	}
}

static int bench_latency(const char *dir)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/latency.db", dir);
	struct store *s;
	if (store_open(path, STORE_RW, &s) < 0)
		return 1;
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 16) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) < 0)
		return 1;
	pthread_t th;
	pthread_create(&th, NULL, receiver, NULL);
	int64_t now = ms_now();
	for (int64_t t = now - 60000; t < now; t += 1000) { /* a minute of history: no warm-up */
		struct buf b = BUF_INIT;
		frame(&b, 0, t, 20, 5);
		int64_t id;
		store_put_frame(s, b.data, b.len, &id);
		buf_free(&b);
	}
	struct alarm_engine *e;
	char err[256], url[64];
	if (alarm_engine_start(path, &e, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	struct alarm_def d;
	alarm_def_init(&d, "latency");
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", ntohs(sa.sin_port));
	const char *kv[][2] = {{"metric", "memory.used_pct"},
	                       {"system", "container:bench0000"},
	                       {"period", "5s"},
	                       {"stat", "max"},
	                       {"threshold", "80"},
	                       {"webhook", url}};
	for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
		alarm_def_set(&d, kv[i][0], kv[i][1], err, sizeof(err));
	if (alarm_engine_put(e, &d, err, sizeof(err)) < 0) {
		fprintf(stderr, "put: %s\n", err);
		return 1;
	}
	/* frames every second, like the daemon's metric lane; breach after 7 s,
	 * at a random point of a period */
	int64_t start = ms_now(), breach = 0;
	srand((unsigned)start);
	int64_t breach_at = start + 7000 + rand() % 5000;
	while (!got_ms && ms_now() < start + 60000) {
		int64_t t = ms_now();
		bool high = t >= breach_at;
		struct buf b = BUF_INIT;
		frame(&b, 0, t, high ? 95 : 20, 5);
		int64_t id;
		store_put_frame(s, b.data, b.len, &id);
		buf_free(&b);
		if (high && !breach)
			breach = t;
		alarm_engine_notify(e, ms_now());
		int64_t next = t + 1000;
		while (!got_ms && ms_now() < next)
			usleep(5000);
	}
	if (!got_ms) {
		printf("latency: no webhook within 60 s\n");
		return 1;
	}
	double lat = (double)(got_ms - breach) / 1000.0;
	printf("latency: breach stored -> webhook received %.2f s; target period + 1 s = 6 s: "
	       "ratio %.2f\n",
	       lat, lat / 6.0);
	alarm_engine_stop(e);
	alarm_def_free(&d);
	store_close(s);
	return 0;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "/tmp";
	int runs = argc > 2 ? atoi(argv[2]) : 11;
	if (bench_cycle(dir, runs > 0 ? runs : 11))
		return 1;
	return bench_latency(dir);
}
