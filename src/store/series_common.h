/*
 * series_common.h - metric series as every store backend keeps them,
 * independent of the tables (series_common.c): points, roll-up
 * aggregates, statistics, levels and watermarks, the
 * reduction into buckets, the "points" JSON of an answer; and the
 * retention periods, which are the store's contract (store.h).
 */
#ifndef VANTAGE_STORE_SERIES_COMMON_H
#define VANTAGE_STORE_SERIES_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"
#include "../util/json.h"
#include "../util/labelsel.h"

#define MS_MIN 60000LL
#define MS_HOUR 3600000LL
#define MS_DAY 86400000LL
#define RETAIN_RAW MS_DAY                  /* raw points: 24 h */
#define RETAIN_1M (15 * MS_DAY)            /* 1-minute roll-ups: 15 days */
#define RETAIN_1H (455 * MS_DAY)           /* 1-hour roll-ups: 15 months */
#define RETAIN_FRAMES_ALL MS_DAY           /* every frame for 24 h, then hourly */
#define RETAIN_FRAMES_HOURLY (15 * MS_DAY) /* then daily */
#define RETAIN_FRAMES_DAILY (455 * MS_DAY) /* then only each system's last */
#define GC_PERIOD MS_HOUR
#define RETAIN_EVENTS (14 * MS_DAY) /* the events log: 14 days */

#define PT_INT 1   /* SQLITE_INTEGER */
#define PT_FLOAT 2 /* SQLITE_FLOAT */
#define PT_NULL 5  /* SQLITE_NULL */

/* One raw point; type is PT_INT, PT_FLOAT or PT_NULL (the values of
 * SQLITE_INTEGER, SQLITE_FLOAT and SQLITE_NULL). */
struct point {
	int64_t t;
	int64_t i;
	double d;
	int type;
	int64_t series;
};
struct pvec {
	struct point *v;
	size_t n, cap;
};
int pvec_grow(struct pvec *p, const struct point *x);
static inline int pvec_add(struct pvec *p, const struct point *x)
{
	if (p->n < p->cap) {
		p->v[p->n++] = *x;
		return 0;
	}
	return pvec_grow(p, x);
}
/* Room for `extra` more points: 0 or -ENOMEM. */
int pvec_reserve(struct pvec *p, size_t extra);
void pvec_free(struct pvec *p);

/* Format a point's value as the crawler would have written it. */
struct point;
void format_point(const struct point *p, struct buf *out);

/* One series being read : its raw points gathered. */
struct sread {
	int64_t id, sys; /* series and system rows */
	struct pvec pts; /* by time, one per time */
	size_t nchunk;   /* how many of pts came from chunks */
	size_t tag;      /* the caller's */
	bool borrowed;   /* pts is a view into the handle's cache: not freed */
};
/* Free r->pts unless it is borrowed. */
static inline void sread_free(struct sread *r)
{
	if (!r->borrowed)
		pvec_free(&r->pts);
	r->pts = (struct pvec){0};
	r->borrowed = false;
}

/* One aggregate row (a raw point is sum=min=max=p*=v, count=1). */
struct agg {
	int64_t t;
	double sum, min, max, p[3];
	int64_t count;
};
extern const int agg_pct[3]; /* 50, 90, 99 */
/* Reduce rows into one aggregate: sums, extremes, and for each
 * percentile the count-weighted nearest rank of the rows' percentiles
 * (exact nearest-rank percentiles when every row is a raw point).
 * `rows` is reordered. */
void agg_reduce(struct agg *rows, size_t n, struct agg *out);

/* A statistic: avg, min, max, sum, count, or the pct-th percentile
 * (slot: its index in agg_pct, -1 when the roll-ups do not keep it). */
enum stat_kind { STAT_AVG, STAT_MIN, STAT_MAX, STAT_SUM, STAT_COUNT, STAT_PCT };
struct stat_spec {
	enum stat_kind kind;
	int pct, slot;
};
/* "avg"... or "pNN"; `any_pct` false: only p50, p90, p99.  0 or -EINVAL. */
int stat_parse(const char *name, bool any_pct, struct stat_spec *out);

/* Where each kind of row is kept (meta), of a store. */
struct levels {
	int64_t raw_cut, m1_cut, wm1m, wm1h, compacted;
};
/* The level a bucketed read uses (0 raw, 1 minutes, 2 hours) and its step. */
int level_pick(const struct levels *lv, int64_t from, int64_t step, int64_t *step_used);

/* Times and values of a series read. */
struct tv {
	int64_t *t;
	double *v;
	size_t n, cap;
};
void tv_free(struct tv *x);
/* Where the raw part of a bucketed read at `level` starts. */
int64_t raw_start(const struct levels *lv, int level, int64_t from, int64_t to);

/* Where roll-up rows come from: rows(ctx, level (1 minutes, 2 hours),
 * series, from, to, each, ectx) calls each() for every stored row of the
 * series with t in [from, to), oldest first, with the row's avg; a
 * non-zero return of each() (or a failure: a negative errno) stops it. */
struct rollup_src {
	int (*rows)(void *ctx, int level, int64_t series, int64_t from, int64_t to,
	            int (*each)(void *ectx, const struct agg *a, double avg), void *ectx);
	void *ctx;
};
/* Reduce series r over [from, to] (inclusive) into buckets of `step` at
 * `level` (its raw points from raw_start() on already gathered); step 0:
 * the points as stored.  Appends to out; 0 or a negative errno. */
int series_reduce(const struct rollup_src *s, const struct sread *r, int64_t from, int64_t to,
                  int64_t step, int level, const struct levels *lv, const struct stat_spec *st,
                  struct tv *out);

/* The points of one series as "points":[[iso_time, value]...] in j
 * (count: integers), the bytes jw_str/jw_double(6)/jw_int would give. */
void series_points_json(const struct tv *x, bool count, struct json *j);
/* Points [a, b) of x, each "[iso_time,value]", appended to o (the same
 * bytes jw_str/jw_double/jw_int give), a ',' before each but the first
 * when `first`; offs (optional) gets where each one's '[' starts. */
void series_points_text(const struct tv *x, size_t a, size_t b, bool count, bool first,
                        struct buf *o, size_t *offs);

static inline int64_t floor_to(int64_t t, int64_t step)
{
	int64_t r = t % step;
	return r < 0 ? t - r - step : t - r;
}

static inline int64_t ceil_to(int64_t t, int64_t step)
{
	int64_t f = floor_to(t, step);
	return f == t ? t : f + step;
}

#endif
