/*
 * alarm_eval.c - one evaluation of a metric alarm (alarm.h), exactly as
 * CloudWatch's "How alarm state is evaluated when data is missing":
 *
 * The evaluation range is N + 2 periods (alarm_range_periods()): the
 * documented example fetches the 5 most recent periods for N = 3, and
 * CloudWatch publishes no formula, so ours is that example made a rule
 * and named in every reason.  Then, with `real` the periods of the range
 * that have a point:
 *
 *   every period has a point      -> the newest N points
 *   some missing, real >= N       -> the newest N real points (the
 *                                    treatment is not used)
 *   real < N                      -> every real point of the range plus
 *                                    the newest N - real missing periods,
 *                                    filled by the treatment
 *
 * M or more breaching among the N -> ALARM, else OK; except with fewer
 * than N real points under `missing` and `ignore`, whose filled periods
 * are unknown: no real point -> INSUFFICIENT_DATA (`missing`) or the state
 * kept (`ignore`); M real breaching -> ALARM; a real non-breaching point
 * -> OK; only breaching real points, fewer than M -> ALARM under
 * `missing` when the oldest evaluated point is one of them ("because the
 * oldest evaluated data point is breaching"), else INSUFFICIENT_DATA;
 * under `ignore` the state is kept.  This reproduces CloudWatch's table
 * row for row, rows 5 and 6 (asymmetric) included
 * (tests/unit/test_alarm_eval.c, docs/alarms.md).
 *
 * The reason is CloudWatch's sentence ("Threshold Crossed: 1 out of the
 * last 1 datapoints [99.5 (06/12/26 16:59:00)] was greater than the
 * threshold (50.0) (minimum 1 datapoint for OK -> ALARM transition).")
 * plus the filled periods and the evaluation range in ISO UTC; the data
 * is CloudWatch's reasonData plus the evaluated points.
 */
#include "alarm.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/buf.h"
#include "../util/timefmt.h"
#include "../util/xalloc.h"

/* Points named in the reason and in the data (newest first). */
#define LIST_MAX 10

int alarm_range_periods(const struct alarm_def *d)
{
	return d->evaluation_periods + 2;
}

static bool breaches(const struct alarm_def *d, double v)
{
	switch (d->cmp) {
	case ALARM_GT:
		return v > d->threshold;
	case ALARM_GE:
		return v >= d->threshold;
	case ALARM_LT:
		return v < d->threshold;
	default:
		return v <= d->threshold;
	}
}

static const char *cmp_words(enum alarm_cmp c)
{
	switch (c) {
	case ALARM_GT:
		return "greater than";
	case ALARM_GE:
		return "greater than or equal to";
	case ALARM_LT:
		return "less than";
	default:
		return "less than or equal to";
	}
}

static const double pow10_tab[] = {1, 10, 100, 1000, 10000, 100000, 1000000};

/* v = m / 10^k with k <= 6 decimals, 1e-4 <= |v| < 1e15: its digits with
 * the point placed, which is the shortest text that reads back (m / 10^k
 * and strtod() of the text are both the correctly rounded value of that
 * rational, and the smallest such k gives the fewest digits). */
static bool num_short(double v, char *buf, size_t cap)
{
	double a = fabs(v);
	if (!(a >= 1e-4 && a < 1e15))
		return false;
	for (int k = 1; k <= 6; k++) {
		double m = nearbyint(a * pow10_tab[k]);
		if (m >= 9007199254740992.0 || m / pow10_tab[k] != a)
			continue;
		char dig[32];
		int n = snprintf(dig, sizeof(dig), "%.0f", m);
		if (n <= 0 || (size_t)n >= sizeof(dig))
			return false;
		char out[48];
		size_t o = 0;
		if (v < 0)
			out[o++] = '-';
		if (n <= k) { /* 0.0…digits */
			out[o++] = '0';
			out[o++] = '.';
			for (int z = 0; z < k - n; z++)
				out[o++] = '0';
			memcpy(out + o, dig, (size_t)n);
			o += (size_t)n;
		} else {
			memcpy(out + o, dig, (size_t)(n - k));
			o += (size_t)(n - k);
			out[o++] = '.';
			memcpy(out + o, dig + n - k, (size_t)k);
			o += (size_t)k;
		}
		out[o] = 0;
		snprintf(buf, cap, "%s", out);
		return true;
	}
	return false;
}

/* A double as CloudWatch (Java) prints it: the shortest text that reads
 * back, with ".0" on whole numbers: 50.0, 99.50160229693434. */
static void num(double v, char *buf, size_t cap)
{
	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(buf, cap, "%.1f", v);
		return;
	}
	if (num_short(v, buf, cap))
		return;
	/* the shortest precision that reads back: a double has 15 digits that
	 * always survive, so when 15 read back they are the shortest text
	 * (%g drops the trailing zeros); else 16, else 17 (subnormals have
	 * fewer: from 1) */
	for (int prec = fabs(v) < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
		snprintf(buf, cap, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	if (isfinite(v) && !strpbrk(buf, ".e"))
		strncat(buf, ".0", cap - strlen(buf) - 1);
}

/* The texts of the values of one evaluation, each formatted once (the
 * reason and the data name the same points). */
struct nums {
	double v[24];
	char s[24][40];
	int n;
};

static const char *num_c(struct nums *c, double v)
{
	for (int i = 0; i < c->n; i++)
		if (c->v[i] == v && !signbit(c->v[i]) == !signbit(v)) /* -0.0 prints apart */
			return c->s[i];
	int i = c->n < 24 ? c->n++ : 23;
	c->v[i] = v;
	num(v, c->s[i], sizeof(c->s[i]));
	return c->s[i];
}

/* ms >= 0 as "YYYY-MM-DDTHH:MM:SS.mmmZ" (format_time_utc(), fast: it
 * keeps the day's text); false when it is not that shape. */
static bool iso_ms(int64_t ms, char t[32])
{
	if (ms < 0)
		return false;
	format_time_utc(ms * 1000000, t, 32);
	return strlen(t) == 24 && t[4] == '-' && t[10] == 'T' && t[19] == '.';
}

/* "06/12/26 16:59:00": CloudWatch's dd/mm/yy, UTC. */
static void cw_time(int64_t ms, char *buf, size_t cap)
{
	char t[32];
	if (iso_ms(ms, t)) {
		snprintf(buf, cap, "%.2s/%.2s/%.2s %.8s", t + 8, t + 5, t + 2, t + 11);
		return;
	}
	time_t tt = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&tt, &tm))
		snprintf(buf, cap, "%lld", (long long)ms);
	else
		snprintf(buf, cap, "%02d/%02d/%02d %02d:%02d:%02d", tm.tm_mday, tm.tm_mon + 1,
		         tm.tm_year % 100, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void iso(int64_t ms, char *buf, size_t cap)
{
	char t[32];
	if (iso_ms(ms, t))
		snprintf(buf, cap, "%.19sZ", t);
	else
		format_time_utc_sec(ms / 1000, buf, cap);
}

static const char *fill_name(enum alarm_missing m)
{
	switch (m) {
	case MISSING_NOT_BREACHING:
		return "NonBreaching";
	case MISSING_BREACHING:
		return "Breaching";
	case MISSING_IGNORE:
		return "Ignore";
	default:
		return "Missing";
	}
}

/* The evaluated slots: indexes into the range, oldest first. */
struct pick {
	size_t *idx;
	size_t n;
	int real, breaching, good, filled;
};

/* Up to this many slots, an evaluation allocates nothing (the daemon's
 * evaluations; the range is N + 2 slots). */
#define STACK_SLOTS 64

/* p->idx has room for n indexes. */
static void choose(const struct alarm_def *d, const struct alarm_point *range, size_t n,
                   size_t want, struct pick *p)
{
	size_t real = 0;
	for (size_t i = 0; i < n; i++)
		real += range[i].present;
	bool stack_take[STACK_SLOTS];
	bool *take = n <= STACK_SLOTS ? stack_take : xcalloc(n ? n : 1, sizeof(bool));
	memset(take, 0, n * sizeof(bool));
	size_t got = 0;
	if (real >= want) {
		/* the newest `want` real points (all real: the newest slots) */
		for (size_t i = n; i-- > 0 && got < want;)
			if (range[i].present) {
				take[i] = true;
				got++;
			}
	} else {
		/* every real point, then the newest missing slots */
		for (size_t i = 0; i < n; i++)
			if (range[i].present) {
				take[i] = true;
				got++;
			}
		for (size_t i = n; i-- > 0 && got < want;)
			if (!range[i].present) {
				take[i] = true;
				got++;
			}
	}
	p->n = 0;
	p->real = p->breaching = p->good = p->filled = 0;
	for (size_t i = 0; i < n; i++) {
		if (!take[i])
			continue;
		p->idx[p->n++] = i;
		if (!range[i].present)
			p->filled++;
		else if (breaches(d, range[i].v))
			p->breaching++;
		else
			p->good++;
	}
	p->real = p->breaching + p->good;
	if (take != stack_take)
		free(take);
}

/* "[v (time), v (time)]" of the real evaluated points that `breach`
 * (or not), newest first. */
static void point_list(const struct alarm_def *d, const struct alarm_point *range,
                       const struct pick *p, bool breach, struct buf *b, struct nums *nc)
{
	int listed = 0;
	buf_addc(b, '[');
	for (size_t k = p->n; k-- > 0;) {
		const struct alarm_point *pt = &range[p->idx[k]];
		if (!pt->present || breaches(d, pt->v) != breach)
			continue;
		if (listed == LIST_MAX) {
			buf_adds(b, ", ...");
			break;
		}
		char t[40];
		cw_time(pt->t, t, sizeof(t));
		buf_printf(b, "%s%s (%s)", listed ? ", " : "", num_c(nc, pt->v), t);
		listed++;
	}
	buf_addc(b, ']');
}

static void reason(const struct alarm_def *d, const struct alarm_point *range, size_t n,
                   const struct pick *p, enum alarm_state current, struct alarm_result *out,
                   struct nums *nc)
{
	struct buf b = BUF_INIT;
	char t0[32], t1[32];
	int N = d->evaluation_periods, M = alarm_def_datapoints(d);
	const char *thr = num_c(nc, d->threshold);
	if (out->kept) {
		buf_printf(
		    &b,
		    "Unchanged: %d of the %d datapoints needed were received and missing data "
		    "is ignored, so the state stays %s.",
		    p->real, N, alarm_state_name(current));
	} else if (out->state == ALARM_STATE_INSUFFICIENT) {
		if (p->real == 0)
			buf_printf(
			    &b, "Insufficient Data: no datapoints were received for %zu period%s",
			    n, n == 1 ? "" : "s");
		else {
			buf_printf(&b, "Insufficient Data: %d out of the last %d datapoints ",
			           p->breaching, N);
			point_list(d, range, p, true, &b, nc);
			buf_printf(&b,
			           " %s %s the threshold (%s) (minimum %d datapoint%s for OK -> "
			           "ALARM transition)",
			           p->breaching == 1 ? "was" : "were", cmp_words(d->cmp), thr, M,
			           M == 1 ? "" : "s");
		}
		buf_printf(&b, " and %d missing datapoint%s %s treated as [%s].", p->filled,
		           p->filled == 1 ? "" : "s", p->filled == 1 ? "was" : "were",
		           fill_name(d->missing));
	} else {
		bool alarm = out->state == ALARM_STATE_ALARM;
		int count = alarm ? out->breaching
		                  : p->good + (d->missing == MISSING_NOT_BREACHING ? p->filled : 0);
		int minimum = alarm ? M : N - M + 1;
		if (p->real == 0) {
			buf_printf(
			    &b, "Threshold Crossed: no datapoints were received for %zu period%s",
			    n, n == 1 ? "" : "s");
			buf_printf(&b, " and %d missing datapoint%s %s treated as [%s].", p->filled,
			           p->filled == 1 ? "" : "s", p->filled == 1 ? "was" : "were",
			           fill_name(d->missing));
		} else {
			buf_printf(&b, "Threshold Crossed: %d out of the last %d datapoints ",
			           count, N);
			point_list(d, range, p, alarm, &b, nc);
			buf_printf(&b,
			           " %s %s%s the threshold (%s) (minimum %d datapoint%s for %s "
			           "transition).",
			           count == 1 ? "was" : "were", alarm ? "" : "not ",
			           cmp_words(d->cmp), thr, minimum, minimum == 1 ? "" : "s",
			           alarm ? "OK -> ALARM" : "ALARM -> OK");
			if (p->filled)
				buf_printf(&b, " %d missing datapoint%s %s treated as [%s].",
				           p->filled, p->filled == 1 ? "" : "s",
				           p->filled == 1 ? "was" : "were", fill_name(d->missing));
		}
	}
	iso(n ? range[0].t : 0, t0, sizeof(t0));
	iso(n ? range[n - 1].t + d->period_ms : 0, t1, sizeof(t1));
	buf_printf(&b, " Evaluation range [%s, %s] (%zu periods of %llds).", t0, t1, n,
	           (long long)(d->period_ms / 1000));
	size_t len = b.len < sizeof(out->reason) ? b.len : sizeof(out->reason) - 1;
	memcpy(out->reason, buf_str(&b), len);
	out->reason[len] = 0;
	buf_free(&b);
}

static void data(const struct alarm_def *d, const struct alarm_point *range, size_t n,
                 const struct pick *p, struct alarm_result *out, struct nums *nc)
{
	struct buf b = BUF_INIT;
	struct json j;
	char t[32];
	const char *v;
	jw_init(&j, &b);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "version", "1.0");
	format_time_utc((n ? range[n - 1].t + d->period_ms : 0) * 1000000, t, sizeof(t));
	jw_str(&j, "queryDate", t);
	format_time_utc((n ? range[0].t : 0) * 1000000, t, sizeof(t));
	jw_str(&j, "startDate", t);
	jw_str(&j, "statistic", d->stat);
	jw_int(&j, "period", d->period_ms / 1000);
	/* the real points evaluated, newest first (CloudWatch's order) */
	jw_arr_begin(&j, "recentDatapoints");
	int listed = 0;
	for (size_t k = p->n; k-- > 0 && listed < LIST_MAX;) {
		const struct alarm_point *pt = &range[p->idx[k]];
		if (!pt->present)
			continue;
		v = num_c(nc, pt->v);
		jw_raw(&j, NULL, v, strlen(v));
		listed++;
	}
	jw_arr_end(&j);
	v = num_c(nc, d->threshold);
	jw_raw(&j, "threshold", v, strlen(v));
	/* every evaluated slot, oldest first (the newest LIST_MAX) */
	jw_arr_begin(&j, "evaluatedDatapoints");
	for (size_t k = p->n > LIST_MAX ? p->n - LIST_MAX : 0; k < p->n; k++) {
		const struct alarm_point *pt = &range[p->idx[k]];
		jw_obj_begin(&j, NULL);
		format_time_utc(pt->t * 1000000, t, sizeof(t));
		jw_str(&j, "timestamp", t);
		if (pt->present) {
			v = num_c(nc, pt->v);
			jw_raw(&j, "value", v, strlen(v));
		} else {
			jw_str(&j, "filled", fill_name(d->missing));
		}
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	jw_obj_end(&j);
	if (b.len < sizeof(out->data))
		memcpy(out->data, buf_str(&b), b.len + 1);
	else
		snprintf(out->data, sizeof(out->data), "{\"version\":\"1.0\",\"truncated\":true}");
	buf_free(&b);
}

/* The state and counts of out (not its text) from the slots p chose. */
static void decide(const struct alarm_def *d, const struct alarm_point *range, size_t n,
                   enum alarm_state current, struct pick *p, struct alarm_result *out)
{
	int N = d->evaluation_periods, M = alarm_def_datapoints(d);
	choose(d, range, n, N > 0 ? (size_t)N : 0, p);
	out->kept = false;
	out->evaluated = (int)p->n;
	out->filled = p->filled;
	bool unknown_fill = d->missing == MISSING_MISSING || d->missing == MISSING_IGNORE;
	if (p->filled == 0 || !unknown_fill) {
		int b = p->breaching + (d->missing == MISSING_BREACHING ? p->filled : 0);
		out->breaching = b;
		out->state = b >= M ? ALARM_STATE_ALARM : ALARM_STATE_OK;
	} else {
		/* fewer than N real points, the filled ones unknown */
		out->breaching = p->breaching;
		bool oldest_breaching = p->n && range[p->idx[0]].present;
		bool alarm = p->breaching >= M ||
		             (p->good == 0 && d->missing == MISSING_MISSING && oldest_breaching);
		if (p->real == 0 || (!alarm && p->good == 0))
			out->state = ALARM_STATE_INSUFFICIENT;
		else
			out->state = alarm ? ALARM_STATE_ALARM : ALARM_STATE_OK;
		if (d->missing == MISSING_IGNORE && out->state == ALARM_STATE_INSUFFICIENT) {
			out->kept = true;
			out->state = current;
			out->evaluated = 0;
		}
	}
}

void alarm_evaluate_state(const struct alarm_def *d, const struct alarm_point *range, size_t n,
                          enum alarm_state current, struct alarm_result *out)
{
	size_t stack_idx[STACK_SLOTS];
	struct pick p = {.idx =
	                     n <= STACK_SLOTS ? stack_idx : xmalloc((n ? n : 1) * sizeof(size_t))};
	decide(d, range, n, current, &p, out);
	out->reason[0] = 0;
	out->data[0] = 0;
	if (p.idx != stack_idx)
		free(p.idx);
}

void alarm_evaluate(const struct alarm_def *d, const struct alarm_point *range, size_t n,
                    enum alarm_state current, struct alarm_result *out)
{
	size_t stack_idx[STACK_SLOTS];
	struct pick p = {.idx =
	                     n <= STACK_SLOTS ? stack_idx : xmalloc((n ? n : 1) * sizeof(size_t))};
	memset(out, 0, sizeof(*out));
	decide(d, range, n, current, &p, out);
	struct nums nc;
	nc.n = 0;
	reason(d, range, n, &p, current, out, &nc);
	data(d, range, n, &p, out, &nc);
	if (p.idx != stack_idx)
		free(p.idx);
}
