/*
 * test_promql.c - the PromQL subset (analytics/promql*.c) over a data
 * source of fixed arrays: parser errors and refusals of what is not
 * supported, selectors (matchers, regex anchoring, lookback, offset,
 * names and units as /metrics gives them), each function's math with
 * Prometheus's extrapolation, aggregations by/without, arithmetic with
 * scalars and one-to-one matching (and its duplicate errors), listings.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analytics/promql.h"
#include "util/buf.h"

#define S 1000LL /* a second in ms */
#define T0 (1700000000LL * S)

struct fseries {
	const char *system, *name, *kind, *runtime, *image;
	const char *metric, *labels;
	int n;
	int64_t t[16];
	double v[16];
};

/* Points every 10 s from T0. */
static struct fseries data[] = {
    {"host:a",
     "a",
     "host",
     NULL,
     NULL,
     "memory.used_pct",
     "{}",
     7,
     {T0, T0 + 10 * S, T0 + 20 * S, T0 + 30 * S, T0 + 40 * S, T0 + 50 * S, T0 + 60 * S},
     {10, 20, 30, 40, 50, 60, 70}},
    {"container:b",
     "b",
     "container",
     "podman",
     "img:1",
     "memory.used_pct",
     "{}",
     3,
     {T0, T0 + 30 * S, T0 + 60 * S},
     {50, 50, 50}},
    {"host:a",
     "a",
     "host",
     NULL,
     NULL,
     "net.rx_bytes",
     "{\"interface\":\"eth0\"}",
     7,
     {T0, T0 + 10 * S, T0 + 20 * S, T0 + 30 * S, T0 + 40 * S, T0 + 50 * S, T0 + 60 * S},
     {100, 110, 120, 5, 15, 25, 35}},
    {"host:a", "a", "host", NULL, NULL, "memory.total_kb", "{}", 1, {T0}, {2}},
    {"host:a", "a", "host", NULL, NULL, "disk.used_pct", "{\"mountpoint\":\"/\"}", 1, {T0}, {40}},
    {"host:a",
     "a",
     "host",
     NULL,
     NULL,
     "disk.used_pct",
     "{\"mountpoint\":\"/boot\"}",
     1,
     {T0},
     {20}},
    {"host:ab", "ab", "host", NULL, NULL, "memory.used_pct", "{\"system\":\"x\"}", 1, {T0}, {1}},
};

static int reads;

static int fake_read(void *src, const struct store_series_query *q,
                     int (*cb)(void *ctx, const struct store_series_data *d), void *ctx)
{
	reads++;
	for (size_t i = 0; i < sizeof(data) / sizeof(data[0]); i++) {
		const struct fseries *f = &data[i];
		if (q->metric && strcmp(q->metric, f->metric) != 0)
			continue;
		bool sys = !q->system_ids;
		for (size_t k = 0; q->system_ids && k < q->nsystems; k++)
			sys |= strcmp(q->system_ids[k], f->system) == 0;
		if (!sys)
			continue;
		int lo = 0, hi = 0;
		while (lo < f->n && f->t[lo] < q->from_ms)
			lo++;
		hi = lo;
		while (hi < f->n && f->t[hi] <= q->to_ms)
			hi++;
		if (hi == lo)
			continue;
		struct store_series_data d = {.system_id = f->system,
		                              .name = f->name,
		                              .kind = f->kind,
		                              .runtime = f->runtime,
		                              .image = f->image,
		                              .system_labels = "{}",
		                              .metric = f->metric,
		                              .labels = f->labels,
		                              .t = f->t + lo,
		                              .v = f->v + lo,
		                              .n = q->no_points ? 0 : (size_t)(hi - lo)};
		int rc = cb(ctx, &d);
		if (rc)
			return rc;
	}
	return 0;
}

static const struct pq_source src = {fake_read, NULL};

static void labels_text(struct buf *b, const char *labels)
{
	buf_addc(b, '{');
	const char *p = labels, *n, *v;
	size_t nl, vl;
	bool first = true;
	while (pq_label_next(&p, &n, &nl, &v, &vl)) {
		buf_printf(b, "%s%.*s=\"%.*s\"", first ? "" : ",", (int)nl, n, (int)vl, v);
		first = false;
	}
	buf_addc(b, '}');
}

/* "LABELS t:v t:v; LABELS ..." with t in seconds after T0, or "error: MSG". */
static char *eval(const char *q, int64_t start, int64_t end, int64_t step)
{
	static char out[4096];
	struct pq_node *n;
	char err[512];
	bool unsup;
	if (pq_parse(q, &n, err, sizeof(err), &unsup) < 0) {
		snprintf(out, sizeof(out), "parse: %s", err);
		return out;
	}
	struct pq_result res;
	int rc = pq_eval(&src, n, start, end, step, &res, err, sizeof(err));
	pq_free(n);
	if (rc < 0) {
		snprintf(out, sizeof(out), "error: %s", err);
		return out;
	}
	struct buf b = BUF_INIT;
	buf_adds(&b, "");
	for (size_t i = 0; i < res.nseries; i++) {
		if (i)
			buf_adds(&b, "; ");
		if (res.type != PQ_SCALAR)
			labels_text(&b, res.series[i].labels);
		for (size_t k = 0; k < res.series[i].n; k++)
			buf_printf(&b, "%s%lld:%g", res.type == PQ_SCALAR && !k ? "" : " ",
			           (long long)((res.series[i].t[k] - T0) / S), res.series[i].v[k]);
	}
	snprintf(out, sizeof(out), "%s", b.data);
	buf_free(&b);
	pq_result_free(&res);
	return out;
}

static char *at(const char *q, int64_t sec)
{
	return eval(q, T0 + sec * S, T0 + sec * S, 0);
}

#define EQ(got, want) assert_string_equal(got, want)
#define ERR(q, part)                                                                               \
	do {                                                                                       \
		const char *g = at(q, 60);                                                         \
		if (!strstr(g, part))                                                              \
			fail_msg("%s: got '%s', want '%s'", q, g, part);                           \
	} while (0)

static void parse_errors(void **state)
{
	ERR("rate(vantage_memory_used_pct)",
	    "expected type range vector in call to function \"rate\"");
	ERR("sum(vantage_memory_used_pct[5m])", "expected type instant vector in aggregation");
	ERR("histogram_quantile(0.9, x)",
	    "unsupported by Vantage's PromQL: the function histogram_quantile");
	ERR("x % 2", "unsupported by Vantage's PromQL: the operator '%'");
	ERR("x > 1", "the operator '>'");
	ERR("x and y", "the operator 'and'");
	ERR("topk(3, x)", "the aggregation topk");
	ERR("x[5m:1m]", "subqueries");
	ERR("rate(x[5m])[5m:]", "subqueries");
	ERR("x @ 100", "the @ modifier");
	ERR("x * on(a) group_left y", "group_left");
	ERR("x == bool y", "the operator '=='");
	ERR("{}", "at least one matcher that does not match the empty string");
	ERR("{a=~\".*\"}", "at least one matcher");
	ERR("x{a=\"1\"", "expected");
	ERR("x{a=\"1}", "unterminated quoted string");
	ERR("nosuch(x)", "unknown function with name \"nosuch\"");
	ERR("1 +", "unexpected end of input");
	ERR("x[5q]", "bad duration");
	/* found by fuzz/fuzz_query.c: the years times their ms overflowed */
	ERR("rate(x[777777777y])", "duration too long");
	ERR("rate(x[292y200d])", "duration too long");
	ERR("x{a=~\"v++++++++++++++++++++\"}", "a repetition operator '+' after another one");
	ERR("x offset", "expected a duration");
	ERR("", "no expression");
	ERR("x{a=~\"(\"}", "invalid regular expression");
	ERR("x[5m] + 1", "binary expression must contain only scalar and instant vector types");
	ERR("x{__name__=\"y\"}", "metric name must not be set twice");
	ERR("\"str\"", "string literals");
	ERR("1 + on(a) x", "vector matching only allowed between instant vectors");
	ERR("-x[5m]", "unary expression only allowed");
	/* hostile: deep nesting */
	char deep[400];
	memset(deep, '(', 200);
	strcpy(deep + 200, "1");
	memset(deep + 201, ')', 198);
	deep[399] = 0;
	ERR(deep, "nested deeper");
	bool unsup;
	struct pq_node *n;
	char err[256];
	assert_int_equal(pq_parse("abs(x)", &n, err, sizeof(err), &unsup), -EINVAL);
	assert_true(unsup);
	assert_int_equal(pq_parse("x +", &n, err, sizeof(err), &unsup), -EINVAL);
	assert_false(unsup);
}

static void selectors(void **state)
{
	EQ(at("vantage_memory_used_pct{system=\"host:a\"}", 60),
	   "{__name__=\"vantage_memory_used_pct\",kind=\"host\",name=\"a\",system=\"host:a\"} "
	   "60:70");
	/* units as /metrics: _kb -> _bytes x1024; series labels, label_system for a clash */
	EQ(at("vantage_memory_total_bytes", 0),
	   "{__name__=\"vantage_memory_total_bytes\",kind=\"host\",name=\"a\",system=\"host:a\"} "
	   "0:2048");
	EQ(at("vantage_memory_used_pct{name=\"ab\"}", 0),
	   "{__name__=\"vantage_memory_used_pct\",kind=\"host\",label_system=\"x\",name=\"ab\","
	   "system=\"host:ab\"} 0:1");
	EQ(at("vantage_memory_used_pct{kind=\"container\"}", 60),
	   "{__name__=\"vantage_memory_used_pct\",image=\"img:1\",kind=\"container\",name=\"b\","
	   "runtime=\"podman\",system=\"container:b\"} 60:50");
	/* regexes are anchored: "a" is not "ab" */
	EQ(at("count(vantage_memory_used_pct{name=~\"a\"})", 0), "{} 0:1");
	EQ(at("count(vantage_memory_used_pct{name=~\"a.*\"})", 0), "{} 0:2");
	EQ(at("count(vantage_memory_used_pct{name!~\"a\"})", 0), "{} 0:2");
	EQ(at("count(vantage_memory_used_pct{name!=\"a\"})", 0), "{} 0:2");
	EQ(at("count({__name__=~\"vantage_memory_.*\",system=\"host:a\"})", 0), "{} 0:2");
	EQ(at("count(vantage_memory_used_pct{name=~\"(?i)A\"})", 0), "{} 0:1");
	EQ(at("vantage_disk_used_pct{mountpoint=~\"/\\\\w+\"}", 0),
	   "{__name__=\"vantage_disk_used_pct\",kind=\"host\",mountpoint=\"/boot\",name=\"a\","
	   "system=\"host:a\"} 0:20");
	/* lookback: the latest point in the 5 minutes up to t */
	EQ(at("vantage_memory_used_pct{name=\"a\"}", 65),
	   "{__name__=\"vantage_memory_used_pct\",kind=\"host\",name=\"a\",system=\"host:a\"} "
	   "65:70");
	EQ(at("vantage_memory_used_pct{name=\"a\"}", 359),
	   "{__name__=\"vantage_memory_used_pct\",kind=\"host\",name=\"a\",system=\"host:a\"} "
	   "359:70");
	EQ(at("vantage_memory_used_pct{name=\"a\"}", 360), "");
	EQ(at("vantage_memory_used_pct{name=\"a\"}", -1), "");
	EQ(at("vantage_memory_used_pct{name=\"a\"} offset 30s", 60),
	   "{__name__=\"vantage_memory_used_pct\",kind=\"host\",name=\"a\",system=\"host:a\"} "
	   "60:40");
	/* a range query: each step its latest point */
	EQ(eval("vantage_memory_used_pct{name=\"b\"}", T0, T0 + 40 * S, 20 * S),
	   "{__name__=\"vantage_memory_used_pct\",image=\"img:1\",kind=\"container\",name=\"b\","
	   "runtime=\"podman\",system=\"container:b\"} 0:50 20:50 40:50");
	/* an instant query of a range: the points in (t - R, t] */
	EQ(at("vantage_memory_used_pct{name=\"a\"}[30s]", 60),
	   "{__name__=\"vantage_memory_used_pct\",kind=\"host\",name=\"a\",system=\"host:a\"} "
	   "40:50 "
	   "50:60 60:70");
	EQ(at("nothing_here", 60), "");
}

static void functions(void **state)
{
	/* 10 s apart, +10 each: window (0, 60] holds 10..60 s (6 points, 50 s sampled);
	 * 10 s to the range start < 1.1 x 10 s: extrapolated to 60 s */
	EQ(at("rate(vantage_memory_used_pct{name=\"a\"}[1m])", 60),
	   "{kind=\"host\",name=\"a\",system=\"host:a\"} 60:1");
	EQ(at("increase(vantage_memory_used_pct{name=\"a\"}[1m])", 60),
	   "{kind=\"host\",name=\"a\",system=\"host:a\"} 60:60");
	/* window (-35, 25] holds 0..20 s (10, 20, 30): 35 s to the range start,
	 * but the counter would reach 0 at 10 s before the first point: 10 s
	 * (< 1.1 x 10 s, so taken); 5 s to the end: 20 x 35 s / 20 s = 35 */
	EQ(at("increase(vantage_memory_used_pct{name=\"a\"}[1m])", 25),
	   "{kind=\"host\",name=\"a\",system=\"host:a\"} 25:35");
	/* the start extrapolated by half an interval: 50 and 60 at 40 s and 50 s, window
	 * (-5, 55]... of [15s] at 55: (40, 55] holds 50 s only: none; [20s] at 55:
	 * (35, 55] holds 40 s and 50 s: 5 s to the start < 11 -> 5; to_end 5: 10 x 20/10 */
	EQ(at("increase(vantage_memory_used_pct{name=\"a\"}[20s])", 55),
	   "{kind=\"host\",name=\"a\",system=\"host:a\"} 55:20");
	/* [45s] at 55: (10, 55] holds 20..50 s (30..60): 10 s to the start < 11;
	 * to_zero = 30 x 30/30 = 30 > 10; 5 s to the end: 30 x 45/30 = 45 */
	EQ(at("increase(vantage_memory_used_pct{name=\"a\"}[45s])", 55),
	   "{kind=\"host\",name=\"a\",system=\"host:a\"} 55:45");
	/* [2m] at 100: (-20, 100] holds all (10..70 over 60 s): to_zero = 60 x 10/60 = 10 < 20
	 * -> 10 < 11 taken; 40 s to the end > 11 -> half an interval, 5: 60 x 75/60 = 75 */
	EQ(at("increase(vantage_memory_used_pct{name=\"a\"}[2m])", 100),
	   "{kind=\"host\",name=\"a\",system=\"host:a\"} 100:75");
	/* not below zero: window (-50, 10] holds 0 s and 10 s (10, 20): 50 s to the
	 * start, but 0 is reached 10 s before the first point: 10 < 11 taken;
	 * to_end 0: 10 x 20/10 = 20 */
	EQ(at("increase(vantage_memory_used_pct{name=\"a\"}[1m])", 10),
	   "{kind=\"host\",name=\"a\",system=\"host:a\"} 10:20");
	/* a counter reset (120 -> 5): increase over (0, 60]: 110 120 5 15 25 35
	 * = 35 - 110 + 120 = 45 over 50 s, extrapolated to 60 s: 54 */
	EQ(at("increase(vantage_net_rx_bytes[1m])", 60),
	   "{interface=\"eth0\",kind=\"host\",name=\"a\",system=\"host:a\"} 60:54");
	EQ(at("rate(vantage_net_rx_bytes[1m])", 60),
	   "{interface=\"eth0\",kind=\"host\",name=\"a\",system=\"host:a\"} 60:0.9");
	EQ(at("irate(vantage_net_rx_bytes[1m])", 60),
	   "{interface=\"eth0\",kind=\"host\",name=\"a\",system=\"host:a\"} 60:1");
	/* irate across the reset: the value after it, per second */
	EQ(at("irate(vantage_net_rx_bytes[1m])", 30),
	   "{interface=\"eth0\",kind=\"host\",name=\"a\",system=\"host:a\"} 30:0.5");
	/* one point: no rate */
	EQ(at("rate(vantage_memory_used_pct{name=\"a\"}[5s])", 60), "");
	EQ(at("avg_over_time(vantage_memory_used_pct{name=\"a\"}[30s])", 60),
	   "{kind=\"host\",name=\"a\",system=\"host:a\"} 60:60");
	EQ(at("min_over_time(vantage_memory_used_pct{name=\"a\"}[30s])", 60),
	   "{kind=\"host\",name=\"a\",system=\"host:a\"} 60:50");
	EQ(at("max_over_time(vantage_memory_used_pct{name=\"a\"}[30s])", 60),
	   "{kind=\"host\",name=\"a\",system=\"host:a\"} 60:70");
	EQ(at("sum_over_time(vantage_memory_used_pct{name=\"a\"}[30s])", 60),
	   "{kind=\"host\",name=\"a\",system=\"host:a\"} 60:180");
	EQ(at("count_over_time(vantage_memory_used_pct{name=\"a\"}[30s])", 60),
	   "{kind=\"host\",name=\"a\",system=\"host:a\"} 60:3");
	/* last_over_time keeps the name */
	EQ(at("last_over_time(vantage_memory_used_pct{name=\"a\"}[30s])", 55),
	   "{__name__=\"vantage_memory_used_pct\",kind=\"host\",name=\"a\",system=\"host:a\"} "
	   "55:60");
	/* at every step of a range query */
	EQ(eval("avg_over_time(vantage_memory_used_pct{name=\"a\"}[20s])", T0, T0 + 60 * S, 30 * S),
	   "{kind=\"host\",name=\"a\",system=\"host:a\"} 0:10 30:35 60:65");
	EQ(eval("rate(vantage_memory_used_pct{name=\"a\"}[1m] offset 10s)", T0 + 70 * S,
	        T0 + 70 * S, 0),
	   "{kind=\"host\",name=\"a\",system=\"host:a\"} 70:1");
}

static void aggregations(void **state)
{
	EQ(at("sum(vantage_memory_used_pct)", 0), "{} 0:61");
	EQ(at("sum by (kind) (vantage_memory_used_pct)", 0),
	   "{kind=\"container\"} 0:50; {kind=\"host\"} 0:11");
	EQ(at("avg(vantage_memory_used_pct) by (kind)", 0),
	   "{kind=\"container\"} 0:50; {kind=\"host\"} 0:5.5");
	EQ(at("max by (kind) (vantage_memory_used_pct)", 0),
	   "{kind=\"container\"} 0:50; {kind=\"host\"} 0:10");
	EQ(at("min by (kind) (vantage_memory_used_pct)", 0),
	   "{kind=\"container\"} 0:50; {kind=\"host\"} 0:1");
	EQ(at("count without (system, name, label_system, image, runtime) "
	      "(vantage_memory_used_pct)",
	      0),
	   "{kind=\"container\"} 0:1; {kind=\"host\"} 0:2");
	EQ(at("sum by (mountpoint) (vantage_disk_used_pct)", 0),
	   "{mountpoint=\"/boot\"} 0:20; {mountpoint=\"/\"} 0:40");
	/* an aggregation over a range query: per step, only present series */
	EQ(eval("sum(vantage_memory_used_pct{system=~\"host:a|container:b\"})", T0 + 10 * S,
	        T0 + 30 * S, 10 * S),
	   "{} 10:70 20:80 30:90");
	EQ(at("sum(rate(vantage_memory_used_pct{name=\"a\"}[1m]))", 60), "{} 60:1");
}

static void arithmetic(void **state)
{
	EQ(at("1 + 2 * 3", 0), "0:7");
	EQ(at("(1 + 2) * 3", 0), "0:9");
	EQ(at("-2 * 3 - -1", 0), "0:-5");
	EQ(at("10 / 4 - 1 - 1", 0), "0:0.5");
	EQ(at("1 / 0", 0), "0:inf");
	EQ(at("vantage_memory_used_pct{name=\"a\"} * 2", 60),
	   "{kind=\"host\",name=\"a\",system=\"host:a\"} 60:140");
	EQ(at("100 - vantage_memory_used_pct{name=\"a\"}", 60),
	   "{kind=\"host\",name=\"a\",system=\"host:a\"} 60:30");
	EQ(at("-vantage_memory_used_pct{name=\"a\"}", 60),
	   "{kind=\"host\",name=\"a\",system=\"host:a\"} 60:-70");
	/* one to one: every label but the name */
	EQ(at("vantage_memory_used_pct{name=\"a\"} / vantage_memory_total_bytes", 0),
	   "{kind=\"host\",name=\"a\",system=\"host:a\"} 0:0.00488281");
	/* no partner: no result */
	EQ(at("vantage_memory_used_pct / vantage_memory_total_bytes", 0),
	   "{kind=\"host\",name=\"a\",system=\"host:a\"} 0:0.00488281");
	EQ(at("vantage_memory_used_pct{name=\"a\"} - on(system) "
	      "vantage_disk_used_pct{mountpoint=\"/\"}",
	      0),
	   "{system=\"host:a\"} 0:-30");
	EQ(at("vantage_disk_used_pct + ignoring(mountpoint) vantage_memory_used_pct", 0),
	   "error: multiple matches for labels {kind=\"host\", name=\"a\", system=\"host:a\"}: "
	   "many-to-one matching must be explicit (group_left/group_right)");
	EQ(at("vantage_memory_used_pct{name=\"a\"} + ignoring(mountpoint) vantage_disk_used_pct",
	      0),
	   "error: found duplicate series for the match group {kind=\"host\", name=\"a\", "
	   "system=\"host:a\"} on the right hand-side of the operation; many-to-many matching not "
	   "allowed: matching labels must be unique on one side");
	/* two series the same once the name is dropped */
	EQ(at("rate({__name__=~\"vantage_memory_used_pct|vantage_net_rx_bytes\",name=\"a\"}[1m]) * "
	      "0 "
	      "+ 1",
	      60),
	   "{interface=\"eth0\",kind=\"host\",name=\"a\",system=\"host:a\"} 60:1; "
	   "{kind=\"host\",name=\"a\",system=\"host:a\"} 60:1");
	EQ(at("avg_over_time({__name__=~\"vantage_memory_(used_pct|total_bytes)\",name=\"a\"}[1m])",
	      50),
	   "error: vector cannot contain metrics with the same labelset");
	/* a range query of a scalar */
	EQ(eval("2 * 3", T0, T0 + 20 * S, 10 * S), "0:6 10:6 20:6");
}

static int count_cb(void *ctx, const char *labels)
{
	struct buf *b = ctx;
	labels_text(b, labels);
	buf_addc(b, ';');
	return 0;
}

static void listings(void **state)
{
	struct pq_node *n[2];
	char err[256];
	bool unsup;
	assert_int_equal(pq_parse("vantage_disk_used_pct", &n[0], err, sizeof(err), &unsup), 0);
	assert_int_equal(pq_parse("{name=\"b\"}", &n[1], err, sizeof(err), &unsup), 0);
	struct buf b = BUF_INIT;
	reads = 0;
	assert_int_equal(pq_series(&src, n, 2, T0, T0 + 60 * S, count_cb, &b, err, sizeof(err)), 0);
	assert_int_equal(reads, 1); /* one listing, no points */
	EQ(b.data,
	   "{__name__=\"vantage_disk_used_pct\",kind=\"host\",mountpoint=\"/boot\","
	   "name=\"a\",system=\"host:a\"};{__name__=\"vantage_disk_used_pct\",kind=\"host\","
	   "mountpoint=\"/\",name=\"a\",system=\"host:a\"};{__name__=\"vantage_memory_"
	   "used_pct\",image=\"img:1\",kind=\"container\",name=\"b\",runtime=\"podman\","
	   "system=\"container:b\"};");
	buf_reset(&b);
	/* nothing in the range */
	assert_int_equal(
	    pq_series(&src, n, 1, T0 + 100 * S, T0 + 200 * S, count_cb, &b, err, sizeof(err)), 0);
	EQ(buf_str(&b), "");
	buf_free(&b);
	pq_free(n[0]);
	pq_free(n[1]);
	/* selector reads: one listing and one read per store metric */
	reads = 0;
	at("vantage_memory_used_pct", 60);
	assert_int_equal(reads, 2);
}

static void limits(void **state)
{
	const char *g = eval("vantage_memory_used_pct", T0, T0 + 20000 * S, S);
	assert_non_null(strstr(g, "exceeded maximum resolution"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_errors), cmocka_unit_test(selectors),
	    cmocka_unit_test(functions),    cmocka_unit_test(aggregations),
	    cmocka_unit_test(arithmetic),   cmocka_unit_test(listings),
	    cmocka_unit_test(limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
