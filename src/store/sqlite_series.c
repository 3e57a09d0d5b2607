/*
 * sqlite_series.c - the SQLite backend's metric series as numbers: the
 * series_read op (store_series_read()) and the core store_series_json()
 * (sqlite_read.c) is built on, so both give the same buckets and values.
 *
 * A read is three steps:
 *   1. which series: label selectors (label_sel_parse), the systems asked
 *      for (only those with a metric point since the range's hour:
 *      systems.last_metric), their series by the (system, name, labels)
 *      index;
 *   2. their raw points, gathered for many series at once (raw_gather):
 *      the hourly chunks of points_raw (only below the `compacted`
 *      watermark: above it there are none), and the frame rows of
 *      points_new, each frame's blob walked once for all the series of
 *      its system (fpoints_pick), by one range scan over the minutes when
 *      the read covers many systems, else by one lookup per minute and
 *      system;
 *   3. the reduction (series_reduce): roll-up rows up to their watermarks
 *      (as store_series_json always chose them), raw points after, in
 *      buckets of the step; percentiles of raw points are exact nearest
 *      ranks (a selection, not a sort), those of roll-up rows the
 *      count-weighted nearest rank of their stored percentiles.
 * Step 0 gives the points as stored: raw points, and where the range is
 * older than raw retention the minutes' (then the hours') averages.
 *
 * Series are read in batches (about a million points at most), so a read
 * of every series of every system never holds them all at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../util/jscan.h"
#include "../util/xalloc.h"
#include "sqlite_internal.h"

/* ---- selectors ------------------------------------------------------------------- */

/* ---- statistics and levels ------------------------------------------------------- */

void levels_load(struct sqlite_store *s, struct levels *lv)
{
	lv->raw_cut = meta_get(s, "raw_cut", 0);
	lv->m1_cut = meta_get(s, "m1_cut", 0);
	lv->wm1m = meta_get(s, "rollup_1m", -1);
	lv->wm1h = meta_get(s, "rollup_1h", -1);
	lv->compacted = meta_get(s, "compacted", 0);
}

/* ---- gathering raw points ------------------------------------------------------ */

/* Chunk points first, then the newer table's: merge them by time, the
 * newer copy of a time winning (as raw_read() does). */
static int merge_sources(struct pvec *p, size_t nchunk)
{
	if (!nchunk || nchunk >= p->n || p->v[nchunk - 1].t < p->v[nchunk].t)
		return 0;
	struct point *m = malloc(p->n * sizeof(*m));
	if (!m)
		return -ENOMEM;
	size_t i = 0, j = nchunk, w = 0;
	while (i < nchunk || j < p->n) {
		if (j >= p->n || (i < nchunk && p->v[i].t < p->v[j].t)) {
			m[w++] = p->v[i++];
		} else {
			if (i < nchunk && p->v[i].t == p->v[j].t)
				i++;
			m[w++] = p->v[j++];
		}
	}
	free(p->v);
	p->v = m;
	p->cap = p->n;
	p->n = w;
	return 0;
}

/* The group of r (sorted by sys) of system `sys`: [*a, *b). */
static void group_of(const struct sread *r, size_t n, int64_t sys, size_t *a, size_t *b)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (r[mid].sys < sys)
			lo = mid + 1;
		else
			hi = mid;
	}
	*a = lo;
	while (hi < n && r[hi].sys == sys)
		hi++;
	*b = hi;
}

static int new_rows(struct sqlite_store *s, sqlite3_stmt *st, int col, struct sread *r, size_t n,
                    bool by_system)
{
	int rc, e = 0;
	while (e == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t a = 0, b = n;
		if (by_system) {
			group_of(r, n, sqlite3_column_int64(st, 0), &a, &b);
			if (a == b)
				continue;
		}
		e = fpoints_pick(sqlite3_column_blob(st, col + 1),
		                 (size_t)sqlite3_column_bytes(st, col + 1),
		                 sqlite3_column_int64(st, col), r + a, b - a);
	}
	sqlite3_reset(st);
	if (e == -EINVAL)
		return sq_failf(s, -EINVAL, "corrupt points of system %lld", (long long)r[0].sys);
	if (e < 0)
		return e;
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sq_fail(s, rc, "reading points");
}

int raw_gather(struct sqlite_store *s, struct sread *r, size_t n, int64_t from, int64_t to,
               const struct levels *lv, bool scan)
{
	for (size_t k = 0; k < n; k++) {
		r[k].pts.n = 0;
		r[k].nchunk = 0;
	}
	if (from >= to || n == 0)
		return 0;
	int e = 0;
	/* a few series over a long range: room for their points at once
	 * (10 s apart), not grown by doubling */
	if (n <= 16) {
		int64_t guess = (to - from) / 10000 + 16;
		for (size_t k = 0; e == 0 && k < n; k++)
			e = pvec_reserve(&r[k].pts, (size_t)(guess < 100000 ? guess : 100000));
	}
	/* hourly chunks exist only below the compaction watermark */
	for (size_t k = 0; e == 0 && from < lv->compacted && k < n; k++) {
		sqlite3_stmt *st = stmt(s, ST_CHUNK_RANGE);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, r[k].id);
		sqlite3_bind_int64(st, 2, floor_to(from, MS_HOUR));
		sqlite3_bind_int64(st, 3, to);
		int rc;
		while (e == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
			e = chunk_decode(sqlite3_column_blob(st, 1),
			                 (size_t)sqlite3_column_bytes(st, 1),
			                 sqlite3_column_int64(st, 0), from, to, &r[k].pts);
		sqlite3_reset(st);
		if (e == -EINVAL)
			return sq_failf(s, -EINVAL, "a corrupt chunk of points (series %lld)",
			                (long long)r[k].id);
		if (e == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
			return sq_fail(s, rc, "reading points");
		r[k].nchunk = r[k].pts.n;
	}
	if (e < 0)
		return e;
	int64_t lo, hi;
	e = new_range(s, &lo, &hi);
	if (e < 0 || lo > hi)
		return e;
	int64_t m0 = floor_to(from, MS_MIN) / MS_MIN, m1 = floor_to(to - 1, MS_MIN) / MS_MIN;
	if (m0 < lo)
		m0 = lo;
	if (m1 > hi)
		m1 = hi;
	if (scan) {
		sqlite3_stmt *st = stmt(s, ST_NEW_SCAN);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, m0);
		sqlite3_bind_int64(st, 2, m1);
		sqlite3_bind_int64(st, 3, from);
		sqlite3_bind_int64(st, 4, to);
		e = new_rows(s, st, 1, r, n, true);
	} else {
		for (size_t a = 0, b; e == 0 && a < n; a = b) {
			for (b = a; b < n && r[b].sys == r[a].sys; b++)
				;
			for (int64_t m = m0; e == 0 && m <= m1; m++) {
				sqlite3_stmt *st = stmt(s, ST_NEW_MINUTE);
				if (!st)
					return -EIO;
				sqlite3_bind_int64(st, 1, m);
				sqlite3_bind_int64(st, 2, r[a].sys);
				sqlite3_bind_int64(st, 3, from);
				sqlite3_bind_int64(st, 4, to);
				e = new_rows(s, st, 0, r + a, b - a, false);
			}
		}
	}
	for (size_t k = 0; e == 0 && k < n; k++)
		e = merge_sources(&r[k].pts, r[k].nchunk);
	return e;
}

/* ---- the decoded points cache ------------------------------------------------------ */

/* A read-only handle keeps the points it last gathered of a few series,
 * each for a range [from, upto), as raw_gather() gave them; they are valid
 * for one database version (PRAGMA data_version, read inside the read
 * transaction: it changes whenever another connection's commit is in the
 * snapshot).  A repeated read of a series (a dashboard, a client polling
 * "the last 24 h") then costs no SQLite reads and no decoding while the
 * store has not changed.  A read-write handle's own commits do not change
 * its data_version, so it never caches.  Bounded: PC_SLOTS series and
 * PC_POINTS points (5 MB) a handle, least recently used out first. */
#define PC_SLOTS 16
#define PC_POINTS (128 * 1024)
#define PC_MAX_SERIES 8 /* reads of more series at once are not cached */

struct pc_ent {
	int64_t series, from, upto; /* its every point with from <= t < upto */
	struct pvec pts;
	uint64_t used;
};

struct pcache {
	int64_t version;
	struct pc_ent e[PC_SLOTS];
	size_t n, points; /* entries; points held (capacity) */
	uint64_t tick;
};

static void pc_drop(struct pcache *pc, size_t i)
{
	pc->points -= pc->e[i].pts.cap;
	pvec_free(&pc->e[i].pts);
	pc->n--;
	pc->e[i] = pc->e[pc->n]; /* the last one in its place */
	pc->e[pc->n] = (struct pc_ent){0};
}

static void pcache_free(struct pcache *pc)
{
	if (!pc)
		return;
	while (pc->n)
		pc_drop(pc, 0);
	free(pc);
}

static struct pc_ent *pc_find(struct pcache *pc, int64_t series, int64_t from, int64_t to)
{
	for (size_t i = 0; i < pc->n; i++)
		if (pc->e[i].series == series && pc->e[i].from <= from && to <= pc->e[i].upto)
			return &pc->e[i];
	return NULL;
}

/* Keep `pts` (taken) for series over [from, upto): false when it does not
 * fit (the caller keeps it).  Entries lent out by this read (used ==
 * pc->tick) stay. */
static bool pc_put(struct pcache *pc, int64_t series, int64_t from, int64_t upto, struct pvec *pts)
{
	if (pts->cap > PC_POINTS / 2)
		return false;
	for (size_t i = 0; i < pc->n; i++)
		if (pc->e[i].series == series && pc->e[i].used != pc->tick)
			pc_drop(pc, i--); /* a narrower range of the same series */
	while (pc->n == PC_SLOTS || pc->points + pts->cap > PC_POINTS) {
		size_t old = SIZE_MAX;
		for (size_t i = 0; i < pc->n; i++)
			if (pc->e[i].used != pc->tick &&
			    (old == SIZE_MAX || pc->e[i].used < pc->e[old].used))
				old = i;
		if (old == SIZE_MAX)
			return false;
		pc_drop(pc, old);
	}
	struct pc_ent *x = &pc->e[pc->n++];
	*x = (struct pc_ent){
	    .series = series, .from = from, .upto = upto, .pts = *pts, .used = pc->tick};
	pc->points += pts->cap;
	*pts = (struct pvec){0};
	return true;
}

/* The first point of v at or after t. */
static size_t lower_bound(const struct pvec *v, int64_t t)
{
	size_t lo = 0, hi = v->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->v[mid].t < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* r's points: the [from, to) part of x, borrowed. */
static void pc_view(struct pc_ent *x, uint64_t tick, int64_t from, int64_t to, struct sread *r)
{
	size_t a = lower_bound(&x->pts, from), b = lower_bound(&x->pts, to);
	r->pts = (struct pvec){.v = x->pts.v + a, .n = b - a, .cap = b - a};
	r->nchunk = 0;
	r->borrowed = true;
	x->used = tick;
}

void series_caches_free(struct sqlite_store *s)
{
	pcache_free(s->pc);
	tcache_free(s->tc);
	s->pc = NULL;
	s->tc = NULL;
}

int64_t cache_version(struct sqlite_store *s)
{
	/* only inside a read transaction: its data_version is its snapshot's */
	if (!s->ro || sqlite3_get_autocommit(s->db))
		return -1;
	sqlite3_stmt *st = stmt(s, ST_DATA_VERSION);
	if (!st)
		return -1;
	int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	sqlite3_reset(st);
	return v;
}

int raw_gather_cached(struct sqlite_store *s, struct sread *r, size_t n, int64_t from, int64_t to,
                      const struct levels *lv)
{
	if (n == 0 || n > PC_MAX_SERIES || from >= to)
		return raw_gather(s, r, n, from, to, lv, false);
	int64_t version = cache_version(s);
	if (version < 0)
		return raw_gather(s, r, n, from, to, lv, false);
	if (!s->pc && !(s->pc = calloc(1, sizeof(*s->pc))))
		return raw_gather(s, r, n, from, to, lv, false);
	struct pcache *pc = s->pc;
	if (pc->version != version) {
		while (pc->n)
			pc_drop(pc, 0);
		pc->version = version;
	}
	pc->tick++;
	/* the series not cached, gathered together up to an hour past `to`
	 * (the next reads of "the last N hours" end a little later) */
	int64_t upto = to < INT64_MAX - MS_HOUR ? to + MS_HOUR : INT64_MAX;
	struct sread miss[PC_MAX_SERIES];
	size_t nm = 0;
	for (size_t k = 0; k < n; k++) {
		struct pc_ent *x = pc_find(pc, r[k].id, from, to);
		if (x) {
			pc_view(x, pc->tick, from, to, &r[k]);
		} else {
			miss[nm] = r[k];
			miss[nm].pts = (struct pvec){0};
			miss[nm].borrowed = false;
			miss[nm++].tag = k;
		}
	}
	if (!nm)
		return 0;
	int e = raw_gather(s, miss, nm, from, upto, lv, false);
	for (size_t m = 0; m < nm; m++) {
		struct sread *rk = &r[miss[m].tag];
		if (e == 0 && pc_put(pc, miss[m].id, from, upto, &miss[m].pts)) {
			pc_view(&pc->e[pc->n - 1], pc->tick, from, to, rk);
			continue;
		}
		/* not kept: the caller owns the points below `to` */
		sread_free(rk);
		if (e == 0) {
			miss[m].pts.n = lower_bound(&miss[m].pts, to);
			rk->pts = miss[m].pts;
			rk->nchunk = 0;
		} else {
			pvec_free(&miss[m].pts);
		}
	}
	return e;
}

/* ---- reducing ------------------------------------------------------------------- */

/* Roll-up rows of `level` (1 minutes, 2 hours) of a series with t in
 * [from, to), one lookup per minute or hour (rows are keyed by time
 * first), each handed to each() (series_reduce()). */
static int rollup_rows(void *ctx, int level, int64_t series, int64_t from, int64_t to,
                       int (*each)(void *ectx, const struct agg *a, double avg), void *ectx)
{
	struct sqlite_store *s = ctx;
	int64_t res = level == 1 ? MS_MIN : MS_HOUR;
	int r = 0;
	for (int64_t t = floor_to(from, res); r == 0 && t < to; t += res) {
		if (t < from)
			continue;
		sqlite3_stmt *st = stmt(s, level == 1 ? ST_P1M_ROW : ST_P1H_ROW);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, t);
		sqlite3_bind_int64(st, 2, series);
		int rc = sqlite3_step(st);
		struct agg a = {.t = t};
		double avg = 0;
		if (rc == SQLITE_ROW) {
			a.min = sqlite3_column_double(st, 0);
			a.max = sqlite3_column_double(st, 1);
			a.sum = sqlite3_column_double(st, 2);
			a.count = sqlite3_column_int64(st, 3);
			for (int k = 0; k < 3; k++)
				a.p[k] = sqlite3_column_double(st, 4 + k);
			avg = sqlite3_column_double(st, 7);
		}
		sqlite3_reset(st);
		if (rc == SQLITE_ROW)
			r = each(ectx, &a, avg);
		else if (rc != SQLITE_DONE)
			r = sq_fail(s, rc, "reading a series");
	}
	return r;
}

struct rollup_src sqlite_rollups(struct sqlite_store *s)
{
	return (struct rollup_src){.rows = rollup_rows, .ctx = s};
}

/* ---- store_series_read ------------------------------------------------------------ */

struct sys_info {
	int64_t row;
	char *f[6]; /* id, name, kind, runtime, image, host (decoded; NULL) */
	char *labels;
	bool gone;
	bool active; /* may have a point in the range */
};

struct ser_info {
	size_t sys; /* index in the systems */
	size_t ri;  /* index in the batch's sread */
	char *name; /* decoded */
	char *labels;
};

struct rq {
	struct sqlite_store *s;
	const struct store_series_query *q;
	struct sys_info *sys;
	size_t nsys;
	struct ser_info *ser;
	struct sread *r;
	size_t nser, cap;
	size_t nr;        /* sread entries of the batch (series of active systems) */
	size_t batch_sys; /* active systems in the batch */
	size_t batch_pts; /* raw points expected */
	int level;
	int64_t step, raw_from, end;
	struct levels lv;
	struct stat_spec st;
	struct tv tv;
	struct buf tmp;
};

static char *decoded(sqlite3_stmt *st, int col, struct buf *tmp)
{
	const char *raw = (const char *)sqlite3_column_text(st, col);
	if (!raw)
		return NULL;
	if (!strchr(raw, '\\'))
		return xstrdup(raw);
	buf_reset(tmp);
	js_unescape(tmp, raw, strlen(raw));
	return xstrdup(buf_str(tmp));
}

static const char sys_cols[] = "SELECT id, sid, name, kind, runtime, image, host, labels, gone,"
                               " last_metric, first_seen FROM systems";

static void sys_add(struct rq *q, sqlite3_stmt *st, int64_t since)
{
	q->sys = xreallocarray(q->sys, q->nsys + 1, sizeof(*q->sys));
	struct sys_info *y = &q->sys[q->nsys++];
	y->row = sqlite3_column_int64(st, 0);
	for (int i = 0; i < 6; i++)
		y->f[i] = decoded(st, 1 + i, &q->tmp);
	const char *l = (const char *)sqlite3_column_text(st, 7);
	y->labels = xstrdup(l ? l : "{}");
	y->gone = sqlite3_column_int(st, 8) != 0;
	/* every point of a system is at or before its last_metric, and at or
	 * after its first_seen */
	y->active = sqlite3_column_type(st, 9) != SQLITE_NULL &&
	            sqlite3_column_int64(st, 9) >= since &&
	            sqlite3_column_int64(st, 10) <= q->q->to_ms;
}

static int cmp_sys(const void *a, const void *b)
{
	const struct sys_info *x = a, *y = b;
	return strcmp(x->f[0] ? x->f[0] : "", y->f[0] ? y->f[0] : "");
}

/* The systems of the query, in id order. */
static int load_systems(struct rq *q)
{
	struct sqlite_store *s = q->s;
	const struct store_series_query *qq = q->q;
	/* a read goes back at most to the range's hour (roll-up rows) */
	int64_t since = qq->no_points ? qq->from_ms : floor_to(qq->from_ms, MS_HOUR);
	struct buf sql = BUF_INIT;
	buf_printf(&sql, "%s WHERE (?2 = 0 OR gone = 0)%s", sys_cols,
	           qq->system_ids ? " AND sid = ?1" : " ORDER BY sid");
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, sql.data, -1, &st, NULL);
	buf_free(&sql);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "listing systems");
	sqlite3_bind_int(st, 2, qq->present_only);
	size_t nq = qq->system_ids ? qq->nsystems : 1;
	struct buf e = BUF_INIT;
	for (size_t i = 0; i < nq; i++) {
		if (qq->system_ids) {
			if (!qq->system_ids[i])
				continue;
			buf_reset(&e);
			js_escape_raw(&e, qq->system_ids[i], strlen(qq->system_ids[i]));
			sqlite3_bind_text(st, 1, e.data, (int)e.len, SQLITE_STATIC);
		}
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			sys_add(q, st, since);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			break;
	}
	buf_free(&e);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sq_fail(s, rc, "listing systems");
	if (qq->system_ids && q->nsys > 1) { /* in id order, each once */
		qsort(q->sys, q->nsys, sizeof(*q->sys), cmp_sys);
		size_t w = 1;
		for (size_t i = 1; i < q->nsys; i++) {
			if (q->sys[i].row == q->sys[w - 1].row) {
				for (int k = 0; k < 6; k++)
					free(q->sys[i].f[k]);
				free(q->sys[i].labels);
			} else {
				q->sys[w++] = q->sys[i];
			}
		}
		q->nsys = w;
	}
	return 0;
}

static int cmp_sread(const void *a, const void *b)
{
	const struct sread *x = a, *y = b;
	if (x->sys != y->sys)
		return x->sys < y->sys ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static void flush_batch_free(struct rq *q)
{
	for (size_t i = 0; i < q->nser; i++) {
		free(q->ser[i].name);
		free(q->ser[i].labels);
	}
	for (size_t k = 0; k < q->nr; k++)
		sread_free(&q->r[k]);
	q->nser = q->nr = 0;
	q->batch_sys = 0;
	q->batch_pts = 0;
}

/* Read the batch's points and hand each series to the callback. */
static int flush_batch(struct rq *q, int (*cb)(void *ctx, const struct store_series_data *d),
                       void *ctx)
{
	const struct store_series_query *qq = q->q;
	if (q->nr > 1)
		qsort(q->r, q->nr, sizeof(*q->r), cmp_sread);
	for (size_t k = 0; k < q->nr; k++)
		q->ser[q->r[k].tag].ri = k;
	bool scan = !qq->system_ids && q->batch_sys >= 16 && q->batch_sys * 4 >= q->nsys;
	int e = qq->system_ids && q->batch_sys == 1
	            ? raw_gather_cached(q->s, q->r, q->nr, q->raw_from, q->end, &q->lv)
	            : raw_gather(q->s, q->r, q->nr, q->raw_from, q->end, &q->lv, scan);
	struct rollup_src src = sqlite_rollups(q->s);
	for (size_t i = 0; e == 0 && i < q->nser; i++) {
		struct ser_info *x = &q->ser[i];
		const struct sys_info *y = &q->sys[x->sys];
		q->tv.n = 0;
		if (x->ri != SIZE_MAX)
			e = series_reduce(&src, &q->r[x->ri], qq->from_ms, qq->to_ms, q->step,
			                  q->level, &q->lv, &q->st, &q->tv);
		if (e < 0)
			break;
		if (qq->no_points && !q->tv.n)
			continue;
		struct store_series_data d = {
		    .system_id = y->f[0],
		    .name = y->f[1],
		    .kind = y->f[2],
		    .runtime = y->f[3],
		    .image = y->f[4],
		    .host = y->f[5],
		    .system_labels = y->labels,
		    .gone = y->gone,
		    .metric = x->name,
		    .labels = x->labels,
		    .t = qq->no_points ? NULL : q->tv.t,
		    .v = qq->no_points ? NULL : q->tv.v,
		    .n = qq->no_points ? 0 : q->tv.n,
		    .step_ms = q->step,
		};
		e = cb(ctx, &d);
	}
	flush_batch_free(q);
	return e;
}

/* The series of system i (of the metric asked for) into the batch. */
static int add_system(struct rq *q, size_t i, sqlite3_stmt *st, const char *metric)
{
	struct sys_info *y = &q->sys[i];
	sqlite3_bind_int64(st, 1, y->row);
	if (metric)
		sqlite3_bind_text(st, 2, metric, -1, SQLITE_STATIC);
	int rc;
	/* a guess of the raw points a series brings (10 s apart) */
	size_t per = (size_t)((q->end - q->raw_from) / 10000 + 1);
	bool any = false;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (q->nser == q->cap) {
			q->cap = q->cap ? q->cap * 2 : 64;
			q->ser = xreallocarray(q->ser, q->cap, sizeof(*q->ser));
			q->r = xreallocarray(q->r, q->cap, sizeof(*q->r));
		}
		struct ser_info *x = &q->ser[q->nser];
		x->sys = i;
		x->ri = SIZE_MAX;
		x->name = decoded(st, 1, &q->tmp);
		const char *l = (const char *)sqlite3_column_text(st, 2);
		x->labels = xstrdup(l ? l : "{}");
		if (y->active) {
			struct sread *r = &q->r[q->nr++];
			memset(r, 0, sizeof(*r));
			r->id = sqlite3_column_int64(st, 0);
			r->sys = y->row;
			r->tag = q->nser;
			if (q->raw_from < q->end)
				q->batch_pts += per;
		}
		q->nser++;
		any = true;
	}
	sqlite3_reset(st);
	if (any && y->active)
		q->batch_sys++;
	return rc == SQLITE_DONE ? 0 : sq_fail(q->s, rc, "listing series");
}

/*
 * q->no_points: the series of every system with metric points in the
 * range (its first and last metric times overlap it), read from the
 * series table alone.  A series of such a system that stopped earlier
 * (an unmounted disk) is listed too: listings are not exact to the point,
 * as Prometheus's are not (they go by blocks).
 */
static int list_series(struct rq *q, sqlite3_stmt *st, const char *metric,
                       int (*cb)(void *ctx, const struct store_series_data *d), void *ctx)
{
	int e = 0, rc = SQLITE_DONE;
	for (size_t i = 0; e == 0 && i < q->nsys; i++) {
		const struct sys_info *y = &q->sys[i];
		if (!y->active)
			continue;
		sqlite3_bind_int64(st, 1, y->row);
		if (metric)
			sqlite3_bind_text(st, 2, metric, -1, SQLITE_STATIC);
		while (e == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
			char *name = decoded(st, 1, &q->tmp);
			const char *l = (const char *)sqlite3_column_text(st, 2);
			struct store_series_data d = {
			    .system_id = y->f[0],
			    .name = y->f[1],
			    .kind = y->f[2],
			    .runtime = y->f[3],
			    .image = y->f[4],
			    .host = y->f[5],
			    .system_labels = y->labels,
			    .gone = y->gone,
			    .metric = name,
			    .labels = l ? l : "{}",
			    .step_ms = q->step,
			};
			e = cb(ctx, &d);
			free(name);
		}
		sqlite3_reset(st);
		if (e == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
			return sq_fail(q->s, rc, "listing series");
	}
	return e;
}

static int series_read(struct rq *q, int (*cb)(void *ctx, const struct store_series_data *d),
                       void *ctx)
{
	struct sqlite_store *s = q->s;
	const struct store_series_query *qq = q->q;
	int e = load_systems(q);
	if (e < 0 || !q->nsys)
		return e;
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db,
	                            qq->metric ? "SELECT id, name, labels FROM series WHERE"
	                                         " system = ?1 AND name = ?2 ORDER BY labels"
	                                       : "SELECT id, name, labels FROM series WHERE"
	                                         " system = ?1 ORDER BY name, labels",
	                            -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "listing series");
	struct buf metric = BUF_INIT;
	if (qq->metric)
		js_escape_raw(&metric, qq->metric, strlen(qq->metric));
	if (qq->no_points) { /* listings: no point is read */
		e = list_series(q, st, qq->metric ? buf_str(&metric) : NULL, cb, ctx);
		sqlite3_finalize(st);
		buf_free(&metric);
		return e;
	}
	for (size_t i = 0; e == 0 && i < q->nsys; i++) {
		e = add_system(q, i, st, qq->metric ? buf_str(&metric) : NULL);
		if (e == 0 && (q->nser >= 1024 || q->batch_pts >= (1u << 20)))
			e = flush_batch(q, cb, ctx);
	}
	if (e == 0)
		e = flush_batch(q, cb, ctx);
	else
		flush_batch_free(q);
	sqlite3_finalize(st);
	buf_free(&metric);
	return e;
}

int sqlite_series_read(struct store *base, const struct store_series_query *qq,
                       int (*cb)(void *ctx, const struct store_series_data *d), void *ctx)
{
	struct sqlite_store *s = sq(base);
	int e = sq_follow(s);
	if (e < 0)
		return e;
	if (qq->step_ms < 0)
		return sq_failf(s, -EINVAL, "a negative step (%lld ms)", (long long)qq->step_ms);
	if (qq->from_ms > qq->to_ms)
		return 0;
	struct rq q = {.s = s, .q = qq, .step = qq->step_ms};
	const char *stat = qq->stat ? qq->stat : "avg";
	if (qq->step_ms > 0 && stat_parse(stat, true, &q.st) < 0)
		return sq_failf(s, -EINVAL,
		                "unknown statistic '%s' (avg, min, max, sum, count, p1 ... p99)",
		                stat);
	bool txn = sqlite3_get_autocommit(s->db) &&
	           sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
	levels_load(s, &q.lv);
	q.end = qq->to_ms + 1;
	if (qq->step_ms > 0) {
		q.level = level_pick(&q.lv, qq->from_ms, qq->step_ms, &q.step);
		if (q.level > 0 && q.st.kind == STAT_PCT && q.st.slot < 0) {
			/* roll-ups keep p50, p90, p99 only: other percentiles
			 * need every raw point of the range */
			if (qq->from_ms >= q.lv.raw_cut) {
				q.level = 0;
				q.step = qq->step_ms;
			} else {
				e = sq_failf(s, -EINVAL,
				             "%s needs raw points, and the range starts before raw"
				             " retention (24 h; roll-ups keep p50, p90 and p99)",
				             stat);
			}
		}
		q.raw_from = raw_start(&q.lv, q.level, qq->from_ms, qq->to_ms);
	} else {
		q.raw_from = raw_start(&q.lv, -1, qq->from_ms, qq->to_ms);
	}
	if (e == 0)
		e = series_read(&q, cb, ctx);
	if (txn)
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	for (size_t i = 0; i < q.nsys; i++) {
		for (int k = 0; k < 6; k++)
			free(q.sys[i].f[k]);
		free(q.sys[i].labels);
	}
	free(q.sys);
	free(q.ser);
	free(q.r);
	tv_free(&q.tv);
	buf_free(&q.tmp);
	return e;
}
