/*
 * test_alarm_window.c - alarm_window_run() (the daemon's evaluation over
 * points held in memory) against alarm_run() (the store read path) over
 * a real store: for a mixed set of alarms (missing periods, selectors,
 * a system by name, stats, metric math, warm-up, a gone system, no data)
 * evaluated period after period, the same items with the same states,
 * flags and reasons; and the reasons left out when nothing changed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "analytics/alarm.h"
#include "analytics/alarm_run.h"
#include "analytics/alarm_window.h"
#include "store/store.h"
#include "tmpstore.h"
#include "util/buf.h"
#include "util/timefmt.h"

#define T0 1699999200000LL /* on an hour boundary */
#define MIN 60000LL

#define MAX_ITEMS 32
struct got {
	int n;
	struct {
		char system[64], labels[64], reason[1024], data[2048];
		enum alarm_state st;
		bool gone, warming;
	} it[MAX_ITEMS];
	enum alarm_state current;
};

static enum alarm_state cur(void *ctx, const char *system, const char *labels)
{
	return ((struct got *)ctx)->current;
}

static void prev(void *ctx, const char *system, const char *labels, struct alarm_prev *out)
{
	out->st = ((struct got *)ctx)->current;
	out->gone = out->warming = false;
}

static int collect(void *ctx, const struct alarm_run_item *it)
{
	struct got *g = ctx;
	assert_true(g->n < MAX_ITEMS);
	snprintf(g->it[g->n].system, sizeof(g->it[0].system), "%s", it->system_id);
	snprintf(g->it[g->n].labels, sizeof(g->it[0].labels), "%s", it->series_labels);
	snprintf(g->it[g->n].reason, sizeof(g->it[0].reason), "%s", it->r.reason);
	snprintf(g->it[g->n].data, sizeof(g->it[0].data), "%s", it->r.data);
	g->it[g->n].st = it->state;
	g->it[g->n].gone = it->gone;
	g->it[g->n].warming = it->warming;
	g->n++;
	return 0;
}

static void def(struct alarm_def *d, const char *name, ...)
{
	va_list ap;
	alarm_def_init(d, name);
	va_start(ap, name);
	const char *k;
	char err[256];
	while ((k = va_arg(ap, const char *))) {
		const char *v = va_arg(ap, const char *);
		int r = alarm_def_set(d, k, v, err, sizeof(err));
		if (r < 0)
			fprintf(stderr, "%s = %s: %s\n", k, v, err);
		assert_int_equal(r, 0);
	}
	va_end(ap);
	char err2[256];
	assert_int_equal(alarm_def_check(d, err2, sizeof(err2)), 0);
}

#define NDEFS 10

static void defs_init(struct alarm_def *d)
{
	int i = 0;
	def(&d[i++], "gaps", "metric", "memory.used_pct", "system", "container:aaaa1111", "period",
	    "1m", "evaluation_periods", "3", "datapoints", "3", "threshold", "50", NULL);
	def(&d[i++], "by-name", "metric", "memory.used_pct", "system", "aaaa1111", "period", "1m",
	    "evaluation_periods", "2", "missing", "notBreaching", "threshold", "50", NULL);
	def(&d[i++], "sel-max", "metric", "memory.used_pct", "selector", "image=nginx:*", "stat",
	    "max", "period", "1m", "evaluation_periods", "2", "missing", "breaching", "threshold",
	    "60", NULL);
	def(&d[i++], "sel-p90", "metric", "cpu.used_pct", "selector", "kind=container", "stat",
	    "p90", "period", "2m", "evaluation_periods", "2", "datapoints", "1", "missing",
	    "ignore", "comparison", "<", "threshold", "30", NULL);
	def(&d[i++], "sel-count", "metric", "cpu.used_pct", "selector", "app=web,image!=redis:*",
	    "stat", "count", "period", "1m", "comparison", ">=", "threshold", "2", NULL);
	def(&d[i++], "math", "expr", "memory.used_pct + cpu.used_pct", "system",
	    "container:bbbb2222", "period", "1m", "evaluation_periods", "2", "threshold", "71",
	    NULL);
	def(&d[i++], "math-sum", "expr", "SUM(memory.used_pct) / 2", "selector", "kind=container",
	    "period", "1m", "threshold", "100", NULL);
	def(&d[i++], "math-rate", "expr", "RATE(FILL(memory.used_pct, 0)) * 60", "selector",
	    "image=nginx:*", "period", "1m", "evaluation_periods", "2", "threshold", "5", NULL);
	def(&d[i++], "nodata", "metric", "memory.used_pct", "system", "container:nosuch0", "period",
	    "1m", "missing", "breaching", NULL);
	def(&d[i++], "sum-5s", "metric", "memory.used_pct", "selector", "kind=container", "stat",
	    "sum", "period", "5s", "evaluation_periods", "4", "datapoints", "2", "warmup", "30s",
	    "threshold", "100", NULL);
	assert_int_equal(i, NDEFS);
}

/* One item list against the other, item by item in (system, labels). */
static void same(const struct got *a, const struct got *b, const char *alarm, int64_t t)
{
	if (a->n != b->n)
		fprintf(stderr, "%s at %lld: %d items vs %d\n", alarm, (long long)t, a->n, b->n);
	assert_int_equal(a->n, b->n);
	for (int i = 0; i < a->n; i++) {
		int k = -1;
		for (int j = 0; j < b->n && k < 0; j++)
			if (!strcmp(a->it[i].system, b->it[j].system) &&
			    !strcmp(a->it[i].labels, b->it[j].labels))
				k = j;
		if (k < 0)
			fprintf(stderr, "%s: no %s in the window's items\n", alarm,
			        a->it[i].system);
		assert_true(k >= 0);
		if (strcmp(a->it[i].reason, b->it[k].reason) != 0)
			fprintf(stderr, "%s at %lld, %s:\n  store:  %s\n  window: %s\n", alarm,
			        (long long)t, a->it[i].system, a->it[i].reason, b->it[k].reason);
		assert_string_equal(a->it[i].reason, b->it[k].reason);
		assert_string_equal(a->it[i].data, b->it[k].data);
		assert_int_equal(a->it[i].st, b->it[k].st);
		assert_int_equal(a->it[i].gone, b->it[k].gone);
		assert_int_equal(a->it[i].warming, b->it[k].warming);
	}
}

static void test_same_as_store(void **state)
{
	struct store *s = NULL;
	assert_int_equal(store_open(path, STORE_RW, &s), 0);
	const char *ids[] = {"container:aaaa1111", "container:bbbb2222", "container:cccc3333",
	                     "container:gone4444", "container:redis555"};
	const char *img[] = {"nginx:1", "nginx:2", "nginx:1", "nginx:1", "redis:7"};
	for (int i = 0; i < 5; i++) /* an hour old: no warm-up */
		tmpstore_put_metrics(s, ids[i], img[i], T0 - 60 * MIN, 10, 10);
	for (int64_t t = T0; t < T0 + 12 * MIN; t += 10000) {
		int k = (int)((t - T0) / 10000);
		/* aaaa: some minutes without points; bbbb: a swing; cccc: steady;
		 * gone: until minute 4; redis: every 20 s */
		if ((k / 6) % 3 != 1)
			tmpstore_put_metrics(s, ids[0], img[0], t, 40 + (k % 7) * 5, 20 + k % 3);
		tmpstore_put_metrics(s, ids[1], img[1], t, 30 + (k % 11) * 6, 25 + (k % 5) * 3);
		tmpstore_put_metrics(s, ids[2], img[2], t + 1000, 55, 31);
		if (t < T0 + 4 * MIN)
			tmpstore_put_metrics(s, ids[3], img[3], t, 70, 40);
		if (k % 2 == 0)
			tmpstore_put_metrics(s, ids[4], img[4], t, 20 + k % 13, 12);
	}
	/* a new system from minute 9 (warm-up) */
	for (int64_t t = T0 + 9 * MIN + 2000; t < T0 + 12 * MIN; t += 5000)
		tmpstore_put_metrics(s, "container:new06666", "nginx:3", t, 90, 50);
	const char *present[] = {ids[0], ids[1], ids[2], ids[4], "container:new06666"};
	assert_int_equal(store_mark_gone(s, "container", NULL, present, 5, T0 + 4 * MIN + 1000), 0);
	assert_int_equal(store_gone_reason(s, ids[3], "{\"reason\":\"exited\",\"exit_code\":0}",
	                                   T0 + 4 * MIN + 1000),
	                 0);
	struct alarm_def d[NDEFS];
	defs_init(d);
	const struct alarm_def *dp[NDEFS];
	for (int i = 0; i < NDEFS; i++)
		dp[i] = &d[i];
	struct alarm_window *w = alarm_window_new();
	static struct got a, b;
	char err[512];
	int checked = 0;
	for (int64_t now = T0 + 3 * MIN; now <= T0 + 12 * MIN; now += 5000) {
		assert_int_equal(alarm_window_update(w, s, dp, NDEFS, now, err, sizeof(err)), 0);
		for (int i = 0; i < NDEFS; i++) {
			enum alarm_state cs = (enum alarm_state)((now / 5000 + i) % 3);
			a.n = b.n = 0;
			a.current = b.current = cs;
			int r = alarm_run(s, &d[i], now, cur, NULL, collect, &a, err, sizeof(err));
			if (r < 0)
				fprintf(stderr, "alarm_run: %s\n", err);
			assert_int_equal(r, 0);
			r = alarm_window_run(w, s, &d[i], now, ALARM_WINDOW_TEXT, prev, collect, &b,
			                     err, sizeof(err));
			if (r < 0)
				fprintf(stderr, "alarm_window_run: %s\n", err);
			assert_int_equal(r, 0);
			same(&a, &b, d[i].name, now);
			checked += a.n;
		}
	}
	assert_int_equal(alarm_window_fallbacks(w), 0);
	assert_true(checked > 1000);

	/* without ALARM_WINDOW_TEXT: the text only where the state changes */
	a.n = 0;
	a.current = ALARM_STATE_OK;
	assert_int_equal(
	    alarm_window_run(w, s, &d[2], T0 + 12 * MIN, 0, prev, collect, &a, err, sizeof(err)),
	    0);
	int with_text = 0;
	for (int i = 0; i < a.n; i++) {
		if (a.it[i].gone)
			assert_string_equal(a.it[i].reason, "gone: exited 0");
		else if (a.it[i].st == ALARM_STATE_OK && !a.it[i].warming)
			assert_string_equal(a.it[i].reason, "");
		else
			assert_true(a.it[i].reason[0] != 0);
		with_text += a.it[i].reason[0] != 0;
	}
	assert_true(with_text > 0 && with_text < a.n);
	/* a time before what the window holds: through the store */
	a.n = 0;
	assert_int_equal(
	    alarm_window_run(w, s, &d[0], T0 - 30 * MIN, 0, prev, collect, &a, err, sizeof(err)),
	    0);
	assert_int_equal(alarm_window_fallbacks(w), 1);
	alarm_window_free(w);
	for (int i = 0; i < NDEFS; i++)
		alarm_def_free(&d[i]);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_same_as_store, tmpstore_setup, tmpstore_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
