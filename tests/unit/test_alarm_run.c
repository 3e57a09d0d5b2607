/*
 * test_alarm_run.c - alarm_run() and alarm_backtest() over a real store in
 * a temporary file, filled with frames of known metric values through
 * store.h: evaluation with missing periods, a selector over several
 * systems (one state each), a gone system, warm-up, metric math, and the
 * transitions of a backtest.
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

/* 2023-11-14T22:00:00.000Z, on an hour boundary */
#define T0 1699999200000LL
#define MIN 60000LL

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
	int r = alarm_def_check(d, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "check: %s\n", err);
	assert_int_equal(r, 0);
}

/* ---- collecting items ------------------------------------------------------------ */

#define MAX_ITEMS 16
struct got {
	int n;
	struct {
		char system[64], labels[64], reason[1024];
		enum alarm_state st;
		bool gone, warming;
	} it[MAX_ITEMS];
	enum alarm_state current; /* what cur() answers */
};

static enum alarm_state cur(void *ctx, const char *system, const char *labels)
{
	return ((struct got *)ctx)->current;
}

static int collect(void *ctx, const struct alarm_run_item *it)
{
	struct got *g = ctx;
	assert_true(g->n < MAX_ITEMS);
	snprintf(g->it[g->n].system, sizeof(g->it[0].system), "%s", it->system_id);
	snprintf(g->it[g->n].labels, sizeof(g->it[0].labels), "%s", it->series_labels);
	snprintf(g->it[g->n].reason, sizeof(g->it[0].reason), "%s", it->r.reason);
	g->it[g->n].st = it->state;
	g->it[g->n].gone = it->gone;
	g->it[g->n].warming = it->warming;
	g->n++;
	return 0;
}

static int find(const struct got *g, const char *system)
{
	for (int i = 0; i < g->n; i++)
		if (strcmp(g->it[i].system, system) == 0)
			return i;
	return -1;
}

static void run(struct store *s, const struct alarm_def *d, int64_t now, struct got *g)
{
	char err[512] = "";
	int n = g->n = 0;
	(void)n;
	int r = alarm_run(s, d, now, cur, NULL, collect, g, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "alarm_run: %s\n", err);
	assert_int_equal(r, 0);
}

/* ---- tests ------------------------------------------------------------------------- */

/* Periods of 1 min, N = 3 (range 5): points in some periods only. */
static void test_missing_periods(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	/* a system that exists from T0 - 1 h: no warm-up */
	tmpstore_put_metrics(s, "container:aaaa1111", "nginx:1", T0 - 60 * MIN, 10, 0);
	/* periods P0..P4 = [T0 + k min, +1 min): 0 - X - X */
	tmpstore_put_metrics(s, "container:aaaa1111", "nginx:1", T0 + 10000, 10, 0);
	tmpstore_put_metrics(s, "container:aaaa1111", "nginx:1", T0 + 2 * MIN + 10000, 90, 0);
	tmpstore_put_metrics(s, "container:aaaa1111", "nginx:1", T0 + 4 * MIN + 10000, 90, 0);
	struct alarm_def d;
	def(&d, "mem", "metric", "memory.used_pct", "system", "container:aaaa1111", "period", "1m",
	    "evaluation_periods", "3", "datapoints", "3", "comparison", ">", "threshold", "50",
	    NULL);
	struct got g = {.current = ALARM_STATE_INSUFFICIENT};
	/* at T0 + 5 min (+ a few s: aligned down): the range is P0..P4 */
	run(s, &d, T0 + 5 * MIN + 3000, &g);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.it[0].system, "container:aaaa1111");
	assert_int_equal(g.it[0].st, ALARM_STATE_OK); /* 0 X X: 2 of 3 */
	/* P5 breaching too: X X X over the last three real points */
	tmpstore_put_metrics(s, "container:aaaa1111", "nginx:1", T0 + 5 * MIN + 10000, 95, 0);
	run(s, &d, T0 + 6 * MIN, &g);
	assert_int_equal(g.it[0].st, ALARM_STATE_ALARM);
	assert_non_null(strstr(g.it[0].reason, "95"));
	/* nothing for 5 periods: every slot missing -> INSUFFICIENT_DATA */
	run(s, &d, T0 + 11 * MIN, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.it[0].st, ALARM_STATE_INSUFFICIENT);
	alarm_def_free(&d);
	/* the same under breaching: ALARM */
	def(&d, "mem", "metric", "memory.used_pct", "system", "container:aaaa1111", "period", "1m",
	    "evaluation_periods", "3", "comparison", ">", "threshold", "50", "missing", "breaching",
	    NULL);
	run(s, &d, T0 + 11 * MIN, &g);
	assert_int_equal(g.it[0].st, ALARM_STATE_ALARM);
	alarm_def_free(&d);
	store_close(s);
}

/* One alarm on a selector: one state per matched system. */
static void test_selector(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	const char *ids[] = {"container:web00001", "container:web00002", "container:redis001"};
	const char *img[] = {"nginx:1.25", "nginx:1.27", "redis:7"};
	double val[] = {90, 10, 95};
	for (int i = 0; i < 3; i++) {
		tmpstore_put_metrics(s, ids[i], img[i], T0 - 60 * MIN, val[i], 0);
		for (int k = 0; k < 5; k++)
			tmpstore_put_metrics(s, ids[i], img[i], T0 + k * MIN + 20000, val[i], 0);
	}
	struct alarm_def d;
	def(&d, "web-mem", "metric", "memory.used_pct", "selector", "image=nginx:*,app=web",
	    "period", "1m", "evaluation_periods", "2", "comparison", ">=", "threshold", "80", NULL);
	struct got g = {.current = ALARM_STATE_INSUFFICIENT};
	run(s, &d, T0 + 5 * MIN, &g);
	assert_int_equal(g.n, 2);
	int a = find(&g, ids[0]), b = find(&g, ids[1]);
	assert_true(a >= 0 && b >= 0);
	assert_int_equal(g.it[a].st, ALARM_STATE_ALARM);
	assert_int_equal(g.it[b].st, ALARM_STATE_OK);
	assert_int_equal(find(&g, ids[2]), -1);
	alarm_def_free(&d);
	/* kind= and name= globs; a negated term */
	def(&d, "not-redis", "metric", "memory.used_pct", "selector",
	    "kind=container,image!=redis:*", "period", "1m", "comparison", ">", "threshold", "50",
	    NULL);
	run(s, &d, T0 + 5 * MIN, &g);
	assert_int_equal(g.n, 2);
	alarm_def_free(&d);
	char err[256];
	assert_int_equal(alarm_selector_check("image", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not key=value"));
	assert_int_equal(alarm_selector_check("image=nginx:*, kind=container", err, sizeof(err)),
	                 0);
	store_close(s);
}

/* A gone system keeps its state, with the reason the store keeps. */
static void test_gone(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	tmpstore_put_metrics(s, "container:gone0001", "nginx:1", T0 - 60 * MIN, 90, 0);
	tmpstore_put_metrics(s, "container:live0001", "nginx:1", T0 - 60 * MIN, 90, 0);
	for (int k = 0; k < 3; k++) {
		tmpstore_put_metrics(s, "container:gone0001", "nginx:1", T0 + k * MIN + 5000, 90,
		                     0);
		tmpstore_put_metrics(s, "container:live0001", "nginx:1", T0 + k * MIN + 5000, 90,
		                     0);
	}
	tmpstore_put_metrics(s, "container:live0001", "nginx:1", T0 + 3 * MIN + 5000, 90, 0);
	const char *present[] = {"container:live0001"};
	assert_int_equal(store_mark_gone(s, "container", NULL, present, 1, T0 + 3 * MIN + 6000), 0);
	assert_int_equal(
	    store_gone_reason(s, "container:gone0001",
	                      "{\"reason\":\"exited\",\"exit_code\":137,\"oom_killed\":true}",
	                      T0 + 3 * MIN + 6000),
	    0);
	struct alarm_def d;
	def(&d, "mem", "metric", "memory.used_pct", "selector", "image=nginx:*", "period", "1m",
	    "evaluation_periods", "1", "comparison", ">", "threshold", "50", NULL);
	struct got g = {.current = ALARM_STATE_ALARM};
	run(s, &d, T0 + 4 * MIN, &g);
	int a = find(&g, "container:gone0001"), b = find(&g, "container:live0001");
	assert_true(a >= 0 && b >= 0);
	assert_true(g.it[a].gone);
	assert_int_equal(g.it[a].st, ALARM_STATE_ALARM); /* kept */
	assert_string_equal(g.it[a].reason, "gone: exited 137, killed by the OOM killer");
	assert_false(g.it[b].gone);
	assert_int_equal(g.it[b].st, ALARM_STATE_ALARM);
	alarm_def_free(&d);
	store_close(s);
}

/* The window path (the daemon's): a system already gone is read again
 * only when the caller asks (gone_recheck), and then takes the reason the
 * store holds now: the lane stores the exit code and the OOM kill after
 * it marked the system gone. */
static bool recheck;
static void gone_prev(void *ctx, const char *system, const char *labels, struct alarm_prev *out)
{
	out->st = ALARM_STATE_OK;
	out->gone = true;
	out->warming = false;
	out->gone_recheck = recheck;
}

static void test_gone_reason_detail(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	for (int k = 0; k < 3; k++)
		tmpstore_put_metrics(s, "container:oom00001", "app:1", T0 + k * MIN + 5000, 10, 0);
	assert_int_equal(store_mark_gone(s, "container", NULL, NULL, 0, T0 + 3 * MIN), 0);
	assert_int_equal(
	    store_gone_reason(s, "container:oom00001", "{\"reason\":\"exited\"}", T0 + 3 * MIN), 0);
	struct alarm_def d;
	def(&d, "mem", "metric", "memory.used_pct", "selector", "image=app:*", "period", "1m",
	    "evaluation_periods", "1", "comparison", ">", "threshold", "50", NULL);
	struct alarm_window *w = alarm_window_new();
	const struct alarm_def *defs[] = {&d};
	char err[256] = "";
	int64_t now = T0 + 4 * MIN;
	assert_int_equal(alarm_window_update(w, s, defs, 1, now, err, sizeof(err)), 0);
	struct got g = {0};
	recheck = false;
	assert_int_equal(
	    alarm_window_run(w, s, &d, now, 0, gone_prev, collect, &g, err, sizeof(err)), 0);
	assert_int_equal(g.n, 1);
	assert_true(g.it[0].gone);
	assert_string_equal(g.it[0].reason, ""); /* not read again */
	g.n = 0;
	recheck = true;
	assert_int_equal(
	    alarm_window_run(w, s, &d, now, 0, gone_prev, collect, &g, err, sizeof(err)), 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.it[0].reason, "gone: exited");
	assert_int_equal(store_gone_reason(s, "container:oom00001",
	                                   "{\"reason\":\"exited\",\"exit_code\":137,"
	                                   "\"oom_killed\":true}",
	                                   T0 + 3 * MIN + 2000),
	                 0);
	g.n = 0;
	assert_int_equal(
	    alarm_window_run(w, s, &d, now, 0, gone_prev, collect, &g, err, sizeof(err)), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.it[0].st, ALARM_STATE_OK); /* kept */
	assert_string_equal(g.it[0].reason, "gone: exited 137, killed by the OOM killer");
	alarm_window_free(w);
	alarm_def_free(&d);
	store_close(s);
}

/* A new system stays INSUFFICIENT_DATA during its warm-up. */
static void test_warmup(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	tmpstore_put_metrics(s, "container:new00001", "nginx:1", T0 + 4 * MIN + 30000, 99, 0);
	struct alarm_def d;
	def(&d, "mem", "metric", "memory.used_pct", "system", "container:new00001", "period", "1m",
	    "evaluation_periods", "3", "comparison", ">", "threshold", "50", "missing", "breaching",
	    NULL);
	struct got g = {.current = ALARM_STATE_INSUFFICIENT};
	run(s, &d, T0 + 5 * MIN, &g);
	assert_int_equal(g.n, 1);
	assert_true(g.it[0].warming);
	assert_int_equal(g.it[0].st, ALARM_STATE_INSUFFICIENT);
	/* first bucket T0 + 4 min; warm-up 3 periods: until T0 + 7 min */
	assert_string_equal(g.it[0].reason, "warming up (120 s left)");
	/* past its warm-up: evaluated (two filled as breaching + 99) */
	tmpstore_put_metrics(s, "container:new00001", "nginx:1", T0 + 7 * MIN + 30000, 99, 0);
	run(s, &d, T0 + 8 * MIN, &g);
	assert_false(g.it[0].warming);
	assert_int_equal(g.it[0].st, ALARM_STATE_ALARM);
	alarm_def_free(&d);
	store_close(s);
}

/* An expression over two series of the system. */
static void test_math(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	tmpstore_put_metrics(s, "container:math0001", "nginx:1", T0 - 60 * MIN, 10, 10);
	for (int k = 0; k < 3; k++)
		tmpstore_put_metrics(s, "container:math0001", "nginx:1", T0 + k * MIN + 5000,
		                     40 + k, 30);
	struct alarm_def d;
	def(&d, "sum", "expr", "memory.used_pct + cpu.used_pct", "system", "container:math0001",
	    "period", "1m", "evaluation_periods", "1", "comparison", ">", "threshold", "71", NULL);
	struct got g = {.current = ALARM_STATE_INSUFFICIENT};
	run(s, &d, T0 + 3 * MIN, &g); /* 42 + 30 = 72 */
	assert_int_equal(g.n, 1);
	assert_int_equal(g.it[0].st, ALARM_STATE_ALARM);
	assert_non_null(strstr(g.it[0].reason, "72"));
	run(s, &d, T0 + 2 * MIN, &g); /* 41 + 30 = 71 */
	assert_int_equal(g.it[0].st, ALARM_STATE_OK);
	alarm_def_free(&d);
	store_close(s);
}

/* A backtest lists the transitions, in order. */
static void test_backtest(void **state)
{
	struct store *s = tmpstore_open(STORE_RW);
	for (int k = 1; k <= 3; k++) /* data before the range: no warm-up */
		tmpstore_put_metrics(s, "container:bt000001", "nginx:1", T0 - k * MIN + 5000, 10,
		                     0);
	/* 10 periods: OK, OK, OK, X, X, X, OK, OK, OK, OK */
	for (int k = 0; k < 10; k++)
		tmpstore_put_metrics(s, "container:bt000001", "nginx:1", T0 + k * MIN + 5000,
		                     k >= 3 && k <= 5 ? 90 : 10, 0);
	struct alarm_def d;
	def(&d, "bt", "metric", "memory.used_pct", "system", "container:bt000001", "period", "1m",
	    "evaluation_periods", "2", "datapoints", "2", "comparison", ">", "threshold", "50",
	    NULL);
	struct buf b = BUF_INIT;
	char err[256];
	int r = alarm_backtest(s, &d, T0, T0 + 10 * MIN, &b, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "backtest: %s\n", err);
	assert_int_equal(r, 0);
	const char *p = b.data;
	/* INSUFFICIENT -> OK at the first period end, OK -> ALARM when P3 and P4
	 * breach (at T0 + 5 min), ALARM -> OK at T0 + 7 min (2 of 2 needed) */
	const char *want[][3] = {{"2023-11-14T22:01:00.000Z", "INSUFFICIENT_DATA", "OK"},
	                         {"2023-11-14T22:05:00.000Z", "OK", "ALARM"},
	                         {"2023-11-14T22:07:00.000Z", "ALARM", "OK"}};
	for (int i = 0; i < 3; i++) {
		char t[64], ft[80];
		snprintf(t, sizeof(t), "\"time\":\"%s\"", want[i][0]);
		snprintf(ft, sizeof(ft), "\"from\":\"%s\",\"to\":\"%s\"", want[i][1], want[i][2]);
		const char *q = strstr(p, t);
		if (!q)
			fprintf(stderr, "no %s in %s\n", t, b.data);
		assert_non_null(q);
		const char *end = strstr(q + 1, "\"time\":");
		const char *f = strstr(q, ft);
		assert_non_null(f);
		assert_true(!end || f < end);
		p = q + 1;
	}
	assert_null(strstr(p, "\"time\":"));
	buf_free(&b);
	/* a range the wrong way round */
	assert_int_equal(alarm_backtest(s, &d, T0, T0 - MIN, &b, err, sizeof(err)), -EINVAL);
	buf_free(&b);
	alarm_def_free(&d);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_missing_periods, tmpstore_setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_selector, tmpstore_setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_gone, tmpstore_setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_gone_reason_detail, tmpstore_setup,
	                                    tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_warmup, tmpstore_setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_math, tmpstore_setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_backtest, tmpstore_setup, tmpstore_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
