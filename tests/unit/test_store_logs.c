/*
 * Unit tests: the log store (store.h "logs"), through store.h ONLY, so
 * that every backend runs the same tests: lines and cursors stored in one
 * transaction (and neither when the batch is refused), read back exactly,
 * filters (system, source, level, time range, after_id), order, reverse,
 * limit, full-text words, a bad search, retention by store_maintain()
 * (per source by store_log_retention's globs),
 * ids never reused, read-only handles and a store without logs.
 *
 * The backend is chosen as in test_store_conformance.c by
 * VANTAGE_TEST_STORE_URL, a store URL template whose "%s" is a fresh
 * temporary directory (sqlite, the default "sqlite:%s/db") or a fresh
 * schema name (postgres://...&schema=%s) for each test.
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

#include "store/store.h"
#include "tmpstore.h"
#include "util/buf.h"

/* 2023-11-14T22:00:00.000Z */
#define T0 1699999200000LL
#define MIN 60000LL
#define DAY 86400000LL

static char url[600];

static int setup(void **state)
{
	tmpstore_setup(state);
	tmpstore_url(url, sizeof(url));
	return 0;
}

static struct store *open_mode(enum store_mode mode)
{
	struct store *s = NULL;
	int r = store_open(url, mode, &s);
	if (r < 0)
		fprintf(stderr, "open %s: %s\n", url, store_errmsg(NULL));
	assert_int_equal(r, 0);
	return s;
}

/* ---- reading lines back as text ---------------------------------------------- */

struct got {
	struct buf b;
	int64_t last_id, first_id;
	int n;
	bool ascending_ids;
};

static int on_line(void *ctx, int64_t id, const struct store_log *l)
{
	struct got *g = ctx;
	if (g->n == 0)
		g->first_id = id;
	else if (id <= g->last_id)
		g->ascending_ids = false;
	g->last_id = id;
	g->n++;
	buf_printf(&g->b, "%s/%s@%lld:%d:%.*s;", l->system_id, l->source,
	           (long long)((l->time_ms - T0) / MIN), l->level, (int)l->len, l->line);
	return 0;
}

/* The lines of a query as "system/source@minute:level:line;..." */
static const char *query(struct store *s, const struct store_log_query *q, struct got *g)
{
	buf_reset(&g->b);
	g->n = 0;
	g->last_id = 0;
	g->ascending_ids = true;
	int r = store_logs(s, q, on_line, g);
	if (r < 0)
		fprintf(stderr, "store_logs: %s\n", store_errmsg(s));
	assert_int_equal(r, 0);
	return buf_str(&g->b);
}

static int on_cursor(void *ctx, const struct store_log_cursor *c)
{
	buf_printf(ctx, "%s/%s=%s;", c->system_id, c->source, c->pos);
	return 0;
}

static const char *cursors(struct store *s, struct buf *b)
{
	buf_reset(b);
	assert_int_equal(store_log_cursors(s, on_cursor, b), 0);
	return buf_str(b);
}

#define LINE(sys, src, m, lvl, text)                                                               \
	{                                                                                          \
		.system_id = (sys), .source = (src), .time_ms = T0 + (m)*MIN, .level = (lvl),      \
		.line = (text), .len = sizeof(text) - 1                                            \
	}

static const struct store_log sample[] = {
    LINE("ctr:a", "stdout", 0, 6, "GET /index.html 200"),
    LINE("ctr:a", "stderr", 1, 3, "ERROR connection refused to db:5432"),
    LINE("ctr:b", "file:/var/log/syslog", 2, -1, "kernel: eth0 link up"),
    LINE("ctr:a", "stdout", 3, 4, "warning: slow query took 2.5 s"),
    LINE("vm:c", "kmsg", 4, 2, "Out of memory: Killed process 1234 (java)"),
    LINE("ctr:b", "stdout", 5, 7, "debug tick"),
    LINE("ctr:a", "stderr", 6, 3, "ERROR connection reset by peer"),
};
#define NSAMPLE (sizeof(sample) / sizeof(sample[0]))

static void put_sample(struct store *s)
{
	const struct store_log_cursor c[] = {{"ctr:a", "stdout", "10:200:200"},
	                                     {"ctr:a", "stderr", "11:300:300"}};
	int r = store_put_logs(s, sample, NSAMPLE, c, 2);
	if (r < 0)
		fprintf(stderr, "store_put_logs: %s\n", store_errmsg(s));
	assert_int_equal(r, 0);
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_put_and_read_back(void **state)
{
	struct store *s = open_mode(STORE_RW);
	struct got g = {0};
	struct buf b = BUF_INIT;
	struct store_log_query all = {.max_level = 7};
	/* nothing yet: no lines, no cursors */
	assert_string_equal(query(s, &all, &g), "");
	assert_string_equal(cursors(s, &b), "");
	put_sample(s);
	assert_string_equal(query(s, &all, &g),
	                    "ctr:a/stdout@0:6:GET /index.html 200;"
	                    "ctr:a/stderr@1:3:ERROR connection refused to db:5432;"
	                    "ctr:b/file:/var/log/syslog@2:-1:kernel: eth0 link up;"
	                    "ctr:a/stdout@3:4:warning: slow query took 2.5 s;"
	                    "vm:c/kmsg@4:2:Out of memory: Killed process 1234 (java);"
	                    "ctr:b/stdout@5:7:debug tick;"
	                    "ctr:a/stderr@6:3:ERROR connection reset by peer;");
	assert_int_equal(g.n, (int)NSAMPLE);
	assert_true(g.ascending_ids);
	assert_string_equal(cursors(s, &b), "ctr:a/stderr=11:300:300;ctr:a/stdout=10:200:200;");
	/* a cursor moves; lines of another batch get larger ids */
	int64_t last = g.last_id;
	const struct store_log more[] = {LINE("ctr:a", "stdout", 7, 6, "GET /health 200")};
	const struct store_log_cursor c2[] = {{"ctr:a", "stdout", "10:400:400"}};
	assert_int_equal(store_put_logs(s, more, 1, c2, 1), 0);
	assert_string_equal(cursors(s, &b), "ctr:a/stderr=11:300:300;ctr:a/stdout=10:400:400;");
	struct store_log_query tail = {.max_level = 7, .after_id = last};
	assert_string_equal(query(s, &tail, &g), "ctr:a/stdout@7:6:GET /health 200;");
	assert_true(g.first_id > last);
	/* cursors alone, and nothing at all */
	const struct store_log_cursor c3[] = {{"vm:c", "kmsg", "seq:99"}};
	assert_int_equal(store_put_logs(s, NULL, 0, c3, 1), 0);
	assert_int_equal(store_put_logs(s, NULL, 0, NULL, 0), 0);
	assert_string_equal(cursors(s, &b), "ctr:a/stderr=11:300:300;ctr:a/stdout=10:400:400;"
	                                    "vm:c/kmsg=seq:99;");
	store_close(s);
	/* kept, and readable read-only */
	s = open_mode(STORE_RO);
	assert_int_equal(store_logs(s, &all, on_line, &g), 0);
	query(s, &all, &g);
	assert_int_equal(g.n, (int)NSAMPLE + 1);
	assert_string_equal(cursors(s, &b), "ctr:a/stderr=11:300:300;ctr:a/stdout=10:400:400;"
	                                    "vm:c/kmsg=seq:99;");
	assert_int_equal(store_put_logs(s, more, 1, NULL, 0), -EROFS);
	store_close(s);
	buf_free(&g.b);
	buf_free(&b);
}

static void test_atomic_batch(void **state)
{
	struct store *s = open_mode(STORE_RW);
	struct got g = {0};
	struct buf b = BUF_INIT;
	/* a line with no system: the whole batch, cursors too, is refused */
	const struct store_log bad[] = {
	    LINE("ctr:a", "stdout", 0, 6, "first"),
	    {.system_id = NULL, .source = "stdout", .time_ms = T0, .line = "x", .len = 1},
	};
	const struct store_log_cursor c[] = {{"ctr:a", "stdout", "1:1:6"}};
	assert_int_equal(store_put_logs(s, bad, 2, c, 1), -EINVAL);
	struct store_log_query all = {.max_level = 7};
	assert_string_equal(query(s, &all, &g), "");
	assert_string_equal(cursors(s, &b), "");
	/* a cursor with no source: the lines are not stored either */
	const struct store_log_cursor badc[] = {{"ctr:a", NULL, "1:1:6"}};
	assert_int_equal(store_put_logs(s, bad, 1, badc, 1), -EINVAL);
	assert_string_equal(query(s, &all, &g), "");
	/* and the handle still works */
	assert_int_equal(store_put_logs(s, bad, 1, c, 1), 0);
	assert_string_equal(query(s, &all, &g), "ctr:a/stdout@0:6:first;");
	assert_string_equal(cursors(s, &b), "ctr:a/stdout=1:1:6;");
	store_close(s);
	buf_free(&g.b);
	buf_free(&b);
}

static void test_filters(void **state)
{
	struct store *s = open_mode(STORE_RW);
	put_sample(s);
	struct got g = {0};
	const char *a[] = {"ctr:a"}, *bc[] = {"ctr:b", "vm:c"}, *none[] = {"ctr:zz"};
	struct store_log_query q = {.max_level = 7, .system_ids = a, .nsystems = 1};
	query(s, &q, &g);
	assert_int_equal(g.n, 4);
	q = (struct store_log_query){.max_level = 7, .system_ids = bc, .nsystems = 2};
	assert_string_equal(query(s, &q, &g),
	                    "ctr:b/file:/var/log/syslog@2:-1:kernel: eth0 link up;"
	                    "vm:c/kmsg@4:2:Out of memory: Killed process 1234 (java);"
	                    "ctr:b/stdout@5:7:debug tick;");
	q = (struct store_log_query){.max_level = 7, .system_ids = none, .nsystems = 1};
	assert_string_equal(query(s, &q, &g), "");
	/* source */
	q = (struct store_log_query){.max_level = 7, .source = "stdout"};
	assert_string_equal(query(s, &q, &g), "ctr:a/stdout@0:6:GET /index.html 200;"
	                                      "ctr:a/stdout@3:4:warning: slow query took 2.5 s;"
	                                      "ctr:b/stdout@5:7:debug tick;");
	q = (struct store_log_query){
	    .max_level = 7, .source = "stdout", .system_ids = bc, .nsystems = 2};
	assert_string_equal(query(s, &q, &g), "ctr:b/stdout@5:7:debug tick;");
	/* level: unknown passes unless excluded */
	q = (struct store_log_query){.max_level = 3};
	assert_string_equal(query(s, &q, &g),
	                    "ctr:a/stderr@1:3:ERROR connection refused to db:5432;"
	                    "ctr:b/file:/var/log/syslog@2:-1:kernel: eth0 link up;"
	                    "vm:c/kmsg@4:2:Out of memory: Killed process 1234 (java);"
	                    "ctr:a/stderr@6:3:ERROR connection reset by peer;");
	q.exclude_unknown = true;
	query(s, &q, &g);
	assert_int_equal(g.n, 3);
	q = (struct store_log_query){.max_level = 2, .exclude_unknown = true};
	assert_string_equal(query(s, &q, &g),
	                    "vm:c/kmsg@4:2:Out of memory: Killed process 1234 (java);");
	/* time range, inclusive */
	q = (struct store_log_query){
	    .max_level = 7, .from_ms = T0 + 2 * MIN, .to_ms = T0 + 4 * MIN};
	query(s, &q, &g);
	assert_int_equal(g.n, 3);
	assert_true(strncmp(g.b.data, "ctr:b/file:/var/log/syslog@2", 28) == 0);
	/* reverse and limit: the newest first */
	q = (struct store_log_query){.max_level = 7, .reverse = true, .limit = 2};
	assert_string_equal(query(s, &q, &g), "ctr:a/stderr@6:3:ERROR connection reset by peer;"
	                                      "ctr:b/stdout@5:7:debug tick;");
	q = (struct store_log_query){.max_level = 7, .limit = 1};
	assert_string_equal(query(s, &q, &g), "ctr:a/stdout@0:6:GET /index.html 200;");
	/* after_id: the lines after one seen */
	q = (struct store_log_query){.max_level = 7, .limit = 3};
	query(s, &q, &g);
	int64_t third = g.last_id;
	q = (struct store_log_query){.max_level = 7, .after_id = third};
	query(s, &q, &g);
	assert_int_equal(g.n, (int)NSAMPLE - 3);
	assert_true(g.first_id > third);
	store_close(s);
	buf_free(&g.b);
}

static void test_order_by_time(void **state)
{
	struct store *s = open_mode(STORE_RW);
	struct got g = {0};
	/* lines stored out of time order come back in time order (then id) */
	const struct store_log l[] = {
	    LINE("h", "journal", 5, 6, "late"),
	    LINE("h", "journal", 1, 6, "early"),
	    LINE("h", "journal", 5, 6, "late too"),
	};
	assert_int_equal(store_put_logs(s, l, 3, NULL, 0), 0);
	struct store_log_query q = {.max_level = 7};
	assert_string_equal(query(s, &q, &g),
	                    "h/journal@1:6:early;h/journal@5:6:late;h/journal@5:6:late too;");
	q.reverse = true;
	assert_string_equal(query(s, &q, &g),
	                    "h/journal@5:6:late too;h/journal@5:6:late;h/journal@1:6:early;");
	/* by_id: in the order stored (a tail) */
	q = (struct store_log_query){.max_level = 7, .by_id = true};
	assert_string_equal(query(s, &q, &g),
	                    "h/journal@5:6:late;h/journal@1:6:early;h/journal@5:6:late too;");
	assert_true(g.ascending_ids);
	q.limit = 2;
	q.after_id = g.first_id;
	assert_string_equal(query(s, &q, &g), "h/journal@1:6:early;h/journal@5:6:late too;");
	store_close(s);
	buf_free(&g.b);
}

static void test_full_text(void **state)
{
	struct store *s = open_mode(STORE_RW);
	put_sample(s);
	struct got g = {0};
	struct store_log_query q = {.max_level = 7, .match = "connection"};
	assert_string_equal(query(s, &q, &g),
	                    "ctr:a/stderr@1:3:ERROR connection refused to db:5432;"
	                    "ctr:a/stderr@6:3:ERROR connection reset by peer;");
	/* every word must occur; case does not matter */
	q.match = "ERROR refused";
	assert_string_equal(query(s, &q, &g),
	                    "ctr:a/stderr@1:3:ERROR connection refused to db:5432;");
	q.match = "error";
	query(s, &q, &g);
	assert_int_equal(g.n, 2);
	q.match = "memory killed";
	assert_string_equal(query(s, &q, &g),
	                    "vm:c/kmsg@4:2:Out of memory: Killed process 1234 (java);");
	q.match = "nosuchword";
	assert_string_equal(query(s, &q, &g), "");
	/* words and the other filters together */
	q = (struct store_log_query){
	    .max_level = 7, .match = "connection", .reverse = true, .limit = 1};
	assert_string_equal(query(s, &q, &g), "ctr:a/stderr@6:3:ERROR connection reset by peer;");
	q = (struct store_log_query){
	    .max_level = 7, .match = "connection", .from_ms = T0 + 2 * MIN};
	assert_string_equal(query(s, &q, &g), "ctr:a/stderr@6:3:ERROR connection reset by peer;");
	const char *b[] = {"ctr:b"};
	q = (struct store_log_query){
	    .max_level = 7, .match = "connection", .system_ids = b, .nsystems = 1};
	assert_string_equal(query(s, &q, &g), "");
	store_close(s);
	buf_free(&g.b);
}

static void test_bad_search(void **state)
{
	struct store *s = open_mode(STORE_RW);
	put_sample(s);
	struct got g = {0};
	struct store_log_query q = {.max_level = 7, .match = "\"unbalanced"};
	int r = store_logs(s, &q, on_line, &g);
	if (strncmp(url, "postgres", 8) == 0) {
		/* websearch_to_tsquery() reads anything: no syntax to violate */
		assert_int_equal(r, 0);
	} else {
		/* FTS5 syntax: the caller's error, naming the search */
		assert_int_equal(r, -EINVAL);
		assert_non_null(strstr(store_errmsg(s), "unbalanced"));
	}
	/* the handle still works */
	q.match = "tick";
	assert_string_equal(query(s, &q, &g), "ctr:b/stdout@5:7:debug tick;");
	store_close(s);
	buf_free(&g.b);
}

static int stop_after_two(void *ctx, int64_t id, const struct store_log *l)
{
	return ++*(int *)ctx == 2 ? 42 : 0;
}

static void test_callback_stops(void **state)
{
	struct store *s = open_mode(STORE_RW);
	put_sample(s);
	int n = 0;
	struct store_log_query q = {.max_level = 7};
	assert_int_equal(store_logs(s, &q, stop_after_two, &n), 42);
	assert_int_equal(n, 2);
	store_close(s);
}

static void test_retention(void **state)
{
	struct store *s = open_mode(STORE_RW);
	struct got g = {0};
	const struct store_log l[] = {
	    {.system_id = "ctr:a",
	     .source = "stdout",
	     .time_ms = T0,
	     .level = 3,
	     .line = "ERROR old one",
	     .len = 13},
	    {.system_id = "ctr:b",
	     .source = "stdout",
	     .time_ms = T0 + DAY,
	     .level = 3,
	     .line = "ERROR old two",
	     .len = 13},
	    {.system_id = "ctr:a",
	     .source = "stdout",
	     .time_ms = T0 + 5 * DAY,
	     .level = 3,
	     .line = "ERROR recent",
	     .len = 12},
	};
	assert_int_equal(store_put_logs(s, l, 3, NULL, 0), 0);
	struct store_log_query q = {.max_level = 7};
	query(s, &q, &g);
	int64_t last = g.last_id;
	/* 7 days: at T0 + 8.5 days the first two are gone, the index too */
	assert_int_equal(store_maintain(s, T0 + 8 * DAY + DAY / 2), 0);
	assert_string_equal(query(s, &q, &g), "ctr:a/stdout@7200:3:ERROR recent;");
	q.match = "old";
	assert_string_equal(query(s, &q, &g), "");
	q.match = "error";
	assert_string_equal(query(s, &q, &g), "ctr:a/stdout@7200:3:ERROR recent;");
	/* and everything: ids are still never reused */
	assert_int_equal(store_maintain(s, T0 + 30 * DAY), 0);
	q.match = NULL;
	assert_string_equal(query(s, &q, &g), "");
	const struct store_log n1[] = {LINE("ctr:a", "stdout", 50000, 6, "new")};
	assert_int_equal(store_put_logs(s, n1, 1, NULL, 0), 0);
	assert_string_equal(query(s, &q, &g), "ctr:a/stdout@50000:6:new;");
	assert_true(g.first_id > last);
	/* nothing to do: fine */
	assert_int_equal(store_maintain(s, T0 + 30 * DAY), 0);
	store_close(s);
	buf_free(&g.b);
}

/* Per-source retention: the default for every source, a glob's own for
 * the sources it matches; kept in the store for handles given none. */
static void test_retention_per_source(void **state)
{
	struct store *s = open_mode(STORE_RW);
	struct got g = {0};
	const struct store_log l[] = {
	    LINE("ctr:a", "file:/var/log/nginx/access.log", 0, 6, "nginx old"),
	    LINE("ctr:a", "file:/var/log/nginx/access.log", 2 * 1440, 6, "nginx new"),
	    LINE("ctr:a", "stdout", 0, 6, "stdout old"),
	    LINE("ctr:a", "file:/var/log/syslog", 0, 6, "syslog old"),
	};
	assert_int_equal(store_put_logs(s, l, 4, NULL, 0), 0);
	const struct store_log_retain bad[] = {{.glob = "", .ms = DAY}};
	assert_int_equal(store_log_retention(s, 30 * DAY, bad, 1), -EINVAL);
	assert_int_equal(store_log_retention(s, 0, NULL, 0), -EINVAL);
	/* the first rule matching wins: syslog 3 days, nginx/ 1 day, others 30 */
	const struct store_log_retain r[] = {
	    {.glob = "file:/var/log/syslog", .ms = 3 * DAY},
	    {.glob = "file:/var/log/nginx/*", .ms = DAY},
	    {.glob = "file:*", .ms = 60 * DAY},
	};
	assert_int_equal(store_log_retention(s, 30 * DAY, r, 3), 0);
	struct store_log_query q = {.max_level = 7};
	/* 2.5 days on: only nginx's old line goes */
	assert_int_equal(store_maintain(s, T0 + 2 * DAY + DAY / 2), 0);
	assert_string_equal(query(s, &q, &g),
	                    "ctr:a/stdout@0:6:stdout old;ctr:a/file:/var/log/syslog@0:6:syslog "
	                    "old;ctr:a/file:/var/log/nginx/access.log@2880:6:nginx new;");
	q.match = "nginx";
	assert_string_equal(query(s, &q, &g),
	                    "ctr:a/file:/var/log/nginx/access.log@2880:6:nginx new;");
	q.match = NULL;
	store_close(s);
	/* a handle given no rules keeps to the retentions written: at 10 days
	 * nginx's and syslog's lines are gone, stdout's (30 days) stays */
	s = open_mode(STORE_RW);
	assert_int_equal(store_maintain(s, T0 + 10 * DAY), 0);
	assert_string_equal(query(s, &q, &g), "ctr:a/stdout@0:6:stdout old;");
	/* a new default applies to every source no rule matches */
	assert_int_equal(store_log_retention(s, 5 * DAY, NULL, 0), 0);
	assert_int_equal(store_maintain(s, T0 + 10 * DAY), 0);
	assert_string_equal(query(s, &q, &g), "");
	store_close(s);
	buf_free(&g.b);
}

static void test_many_lines(void **state)
{
	struct store *s = open_mode(STORE_RW);
	enum { N = 20000 };
	struct store_log *l = calloc(N, sizeof(*l));
	char(*text)[48] = calloc(N, 48);
	assert_non_null(l);
	assert_non_null(text);
	for (int i = 0; i < N; i++) {
		int n = snprintf(text[i], 48, "request %d took %d ms%s", i, i % 97,
		                 i == 12345 ? " needle" : "");
		l[i] = (struct store_log){.system_id = i % 2 ? "ctr:odd" : "ctr:even",
		                          .source = "stdout",
		                          .time_ms = T0 + i,
		                          .level = 6,
		                          .line = text[i],
		                          .len = (size_t)n};
	}
	assert_int_equal(store_put_logs(s, l, N, NULL, 0), 0);
	struct got g = {0};
	struct store_log_query q = {.max_level = 7, .match = "needle"};
	assert_string_equal(query(s, &q, &g),
	                    "ctr:odd/stdout@0:6:request 12345 took 26 ms needle;");
	q = (struct store_log_query){.max_level = 7, .limit = N};
	query(s, &q, &g);
	assert_int_equal(g.n, N);
	assert_true(g.ascending_ids);
	q.limit = 0; /* the default: 1000 */
	query(s, &q, &g);
	assert_int_equal(g.n, 1000);
	const char *odd[] = {"ctr:odd"};
	q = (struct store_log_query){.max_level = 7, .limit = N, .system_ids = odd, .nsystems = 1};
	query(s, &q, &g);
	assert_int_equal(g.n, N / 2);
	store_close(s);
	free(l);
	free(text);
	buf_free(&g.b);
}

static void test_write_in_read_session(void **state)
{
	struct store *s = open_mode(STORE_RW);
	struct store *r = open_mode(STORE_RW);
	struct got g = {0};
	assert_int_equal(store_read_begin(s), 0);
	struct store_log_query q = {.max_level = 7};
	assert_string_equal(query(s, &q, &g), "");
	/* another handle writes, then this one inside its session */
	const struct store_log a[] = {LINE("x", "stdout", 0, 6, "from r")};
	const struct store_log b[] = {LINE("x", "stdout", 1, 6, "from s")};
	assert_int_equal(store_put_logs(r, a, 1, NULL, 0), 0);
	assert_int_equal(store_put_logs(s, b, 1, NULL, 0), 0);
	assert_string_equal(query(s, &q, &g), "x/stdout@0:6:from r;x/stdout@1:6:from s;");
	store_read_end(s);
	store_close(r);
	store_close(s);
	buf_free(&g.b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_put_and_read_back, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_atomic_batch, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_filters, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_order_by_time, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_full_text, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_bad_search, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_callback_stops, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_retention, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_retention_per_source, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_many_lines, setup, tmpstore_teardown),
	    cmocka_unit_test_setup_teardown(test_write_in_read_session, setup, tmpstore_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
