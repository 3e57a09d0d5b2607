/*
 * rollup.c - roll-ups, retention and garbage collection: store_maintain().
 *
 * Metric points are kept like CloudWatch keeps them:
 *   points_raw  every point, 24 hours
 *   points_1m   one row per series and minute: avg, min, max, sum, count,
 *               p50, p90, p99 computed from the raw points; 15 days
 *   points_1h   one row per series and hour, computed from the minute
 *               rows; 15 months
 * Percentiles are nearest-rank: the p-th percentile of n values is the
 * smallest value with at least ceil(p * n / 100) values at or below it
 * (exact for a minute).  An hour's percentile is the count-weighted
 * nearest rank of its minutes' percentiles of the same order: exact when
 * the minutes are alike, an approximation otherwise (docs/storage.md).
 *
 * Progress is kept in meta: 'rollup_1m' and 'rollup_1h' are the times up
 * to which complete buckets have been rolled up (a point stored later
 * into a rolled bucket lowers them, ingest.c, and the bucket is rolled
 * again); 'raw_cut', 'm1_cut', 'h1_cut' the times below which points were
 * deleted.  Only systems seen since a watermark are visited, so a run with
 * nothing to do costs a few index lookups.
 *
 * Frames are kept whole for 24 hours; then, per system and per set of
 * features crawled together, the last frame of each hour for 15 days, the
 * last of each day for 15 months, and after that only each system's
 * latest frame.  Records and record sets no longer used by any frame are
 * then deleted by a mark-and-sweep pass (at most hourly).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const int agg_pct[3] = {50, 90, 99};

static int agg_k;
static int cmp_p(const void *a, const void *b)
{
	double x = ((const struct agg *)a)->p[agg_k], y = ((const struct agg *)b)->p[agg_k];
	return x < y ? -1 : x > y;
}

void agg_reduce(struct agg *rows, size_t n, struct agg *out)
{
	memset(out, 0, sizeof(*out));
	if (!n)
		return;
	out->t = rows[0].t;
	out->min = rows[0].min;
	out->max = rows[0].max;
	for (size_t i = 0; i < n; i++) {
		out->sum += rows[i].sum;
		out->count += rows[i].count;
		if (rows[i].min < out->min)
			out->min = rows[i].min;
		if (rows[i].max > out->max)
			out->max = rows[i].max;
	}
	for (int k = 0; k < 3; k++) {
		agg_k = k;
		qsort(rows, n, sizeof(*rows), cmp_p);
		int64_t target = (out->count * agg_pct[k] + 99) / 100, cum = 0;
		if (target < 1)
			target = 1;
		out->p[k] = rows[n - 1].p[k];
		for (size_t i = 0; i < n; i++) {
			cum += rows[i].count;
			if (cum >= target) {
				out->p[k] = rows[i].p[k];
				break;
			}
		}
	}
}

/* ---- helpers ----------------------------------------------------------------- */

struct ids {
	int64_t *v;
	size_t n, cap;
};

static int ids_add(struct ids *a, int64_t id)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		int64_t *v = realloc(a->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = id;
	return 0;
}

/* Ids returned by `sql` with ?1 bound to `arg`. */
static int select_ids(struct store *s, const char *sql, int64_t arg, struct ids *out)
{
	sqlite3_stmt *st;
	out->n = 0;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_fail(s, rc, "maintenance query");
	sqlite3_bind_int64(st, 1, arg);
	int r = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && r == 0)
		r = ids_add(out, sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
	if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = store_fail(s, rc, "maintenance query");
	return r;
}

/* Series of the systems seen at or after `since`. */
static int active_series(struct store *s, int64_t since, struct ids *out)
{
	return select_ids(s,
			  "SELECT series.id FROM systems JOIN series ON series.system = systems.id"
			  " WHERE systems.last_seen >= ?1",
			  since, out);
}

static int prep(struct store *s, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
	return rc == SQLITE_OK ? 0 : store_fail(s, rc, "maintenance statement");
}

static int step_done(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_fail(s, rc, what);
}

/* ---- roll-ups ------------------------------------------------------------------ */

struct roller {
	struct store *s;
	sqlite3_stmt *get, *put, *exists;
	int64_t bucket, old_wm;	/* bucket width; buckets below old_wm may exist */
	const char *table;	/* counts name of the destination */
	struct agg *rows;
	size_t n, cap;
	int64_t added;
};

static int roller_flush(struct roller *ro, int64_t series)
{
	if (!ro->n)
		return 0;
	struct agg a;
	agg_reduce(ro->rows, ro->n, &a);
	int64_t t = floor_to(ro->rows[0].t, ro->bucket);
	ro->n = 0;
	bool existed = false;
	if (t < ro->old_wm) {
		sqlite3_reset(ro->exists);
		sqlite3_bind_int64(ro->exists, 1, series);
		sqlite3_bind_int64(ro->exists, 2, t);
		existed = sqlite3_step(ro->exists) == SQLITE_ROW;
		sqlite3_reset(ro->exists);
	}
	sqlite3_stmt *p = ro->put;
	sqlite3_bind_int64(p, 1, series);
	sqlite3_bind_int64(p, 2, t);
	sqlite3_bind_double(p, 3, a.sum / (double)a.count);
	sqlite3_bind_double(p, 4, a.min);
	sqlite3_bind_double(p, 5, a.max);
	sqlite3_bind_double(p, 6, a.sum);
	sqlite3_bind_int64(p, 7, a.count);
	for (int k = 0; k < 3; k++)
		sqlite3_bind_double(p, 8 + k, a.p[k]);
	int r = step_done(ro->s, p, "storing a roll-up");
	if (r == 0 && !existed)
		ro->added++;
	return r;
}

/* Roll one series' rows in [from, to) into buckets. */
static int roll_series(struct roller *ro, int64_t series, int64_t from, int64_t to, bool raw)
{
	sqlite3_stmt *g = ro->get;
	sqlite3_reset(g);
	sqlite3_bind_int64(g, 1, series);
	sqlite3_bind_int64(g, 2, from);
	sqlite3_bind_int64(g, 3, to);
	int rc, r = 0;
	int64_t cur = INT64_MIN;
	ro->n = 0;
	while (r == 0 && (rc = sqlite3_step(g)) == SQLITE_ROW) {
		struct agg a;
		a.t = sqlite3_column_int64(g, 0);
		if (raw) {
			if (sqlite3_column_type(g, 1) == SQLITE_NULL)
				continue;
			double v = sqlite3_column_double(g, 1);
			a.sum = a.min = a.max = a.p[0] = a.p[1] = a.p[2] = v;
			a.count = 1;
		} else {
			a.min = sqlite3_column_double(g, 1);
			a.max = sqlite3_column_double(g, 2);
			a.sum = sqlite3_column_double(g, 3);
			a.count = sqlite3_column_int64(g, 4);
			for (int k = 0; k < 3; k++)
				a.p[k] = sqlite3_column_double(g, 5 + k);
			if (a.count <= 0)
				continue;
		}
		int64_t b = floor_to(a.t, ro->bucket);
		if (b != cur) {
			r = roller_flush(ro, series);
			cur = b;
		}
		if (ro->n == ro->cap) {
			size_t cap = ro->cap ? ro->cap * 2 : 256;
			struct agg *v = realloc(ro->rows, cap * sizeof(*v));
			if (!v) {
				r = -ENOMEM;
				break;
			}
			ro->rows = v;
			ro->cap = cap;
		}
		ro->rows[ro->n++] = a;
	}
	if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = store_fail(ro->s, rc, "reading points");
	sqlite3_reset(g);
	if (r == 0)
		r = roller_flush(ro, series);
	return r;
}

#define ROLL_PUT(tbl) \
	"INSERT OR REPLACE INTO " tbl "(series, t, avg, min, max, sum, count, p50, p90, p99)" \
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"

/*
 * Roll complete buckets of `src` into `dst` from the watermark `wm_key` up
 * to `end`, in chunks of `chunk` (one transaction each).  `cut_key` is
 * the source's deletion point: buckets below it are never rolled again.
 */
static int roll_level(struct store *s, bool raw, const char *wm_key, const char *cut_key,
		      int64_t bucket, int64_t chunk, int64_t end_limit, const char *end_key)
{
	struct roller ro = {.s = s, .bucket = bucket, .table = raw ? "points_1m" : "points_1h"};
	int r = prep(s, raw ? "SELECT t, v FROM points_raw WHERE series = ?1 AND t >= ?2 AND t < ?3"
			      " ORDER BY t"
			    : "SELECT t, min, max, sum, count, p50, p90, p99 FROM points_1m"
			      " WHERE series = ?1 AND t >= ?2 AND t < ?3 ORDER BY t",
		     &ro.get);
	if (r == 0)
		r = prep(s, raw ? ROLL_PUT("points_1m") : ROLL_PUT("points_1h"), &ro.put);
	if (r == 0)
		r = prep(s, raw ? "SELECT 1 FROM points_1m WHERE series = ?1 AND t = ?2"
				: "SELECT 1 FROM points_1h WHERE series = ?1 AND t = ?2",
			 &ro.exists);
	struct ids series = {0};
	while (r == 0) {
		r = store_begin(s);
		if (r < 0)
			break;
		int64_t wm = meta_get(s, wm_key, -1);
		int64_t end = end_key ? floor_to(meta_get(s, end_key, -1), bucket) : end_limit;
		int64_t cut = meta_get(s, cut_key, 0);
		int64_t start = wm;
		if (start >= 0 && start < cut)
			start = floor_to(cut + bucket - 1, bucket);
		if (wm < 0 || start >= end) {
			r = store_commit(s);
			break;
		}
		int64_t cend = start + chunk < end ? start + chunk : end;
		ro.old_wm = meta_get(s, raw ? "rolled_1m_max" : "rolled_1h_max", 0);
		ro.added = 0;
		r = active_series(s, start, &series);
		for (size_t i = 0; r == 0 && i < series.n; i++)
			r = roll_series(&ro, series.v[i], start, cend, raw);
		if (r == 0)
			r = meta_set(s, wm_key, cend);
		if (r == 0 && cend > ro.old_wm)
			r = meta_set(s, raw ? "rolled_1m_max" : "rolled_1h_max", cend);
		if (r == 0)
			r = count_add(s, ro.table, ro.added);
		if (r == 0)
			r = store_commit(s);
		else
			store_rollback(s);
	}
	sqlite3_finalize(ro.get);
	sqlite3_finalize(ro.put);
	sqlite3_finalize(ro.exists);
	free(ro.rows);
	free(series.v);
	return r;
}

/* ---- retention -------------------------------------------------------------------- */

/* Delete points of `table` below now - keep (not below `limit_key`'s
 * watermark, so nothing is deleted before it is rolled up). */
static int expire_points(struct store *s, const char *table, const char *cut_key, int64_t cut,
			 const char *limit_key, int64_t min_advance)
{
	int64_t prev = meta_get(s, cut_key, 0);
	if (limit_key) {
		int64_t lim = meta_get(s, limit_key, -1);
		if (lim < 0)
			return 0; /* nothing rolled yet: nothing to delete */
		if (cut > lim)
			cut = lim;
	}
	if (cut - prev < min_advance)
		return 0;
	char sql[128];
	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE series = ?1 AND t < ?2", table);
	sqlite3_stmt *del = NULL;
	int r = store_begin(s);
	if (r < 0)
		return r;
	r = prep(s, sql, &del);
	struct ids series = {0};
	if (r == 0)
		r = active_series(s, prev, &series);
	int64_t gone = 0;
	for (size_t i = 0; r == 0 && i < series.n; i++) {
		sqlite3_bind_int64(del, 1, series.v[i]);
		sqlite3_bind_int64(del, 2, cut);
		r = step_done(s, del, "deleting old points");
		gone += sqlite3_changes(s->db);
	}
	if (r == 0)
		sqlite3_finalize(del), del = NULL;
	if (r == 0)
		r = meta_set(s, cut_key, cut);
	if (r == 0)
		r = count_add(s, table, -gone);
	free(series.v);
	if (r < 0) {
		sqlite3_finalize(del);
		store_rollback(s);
		return r;
	}
	return store_commit(s);
}

/*
 * Thin frames with t in [meta cut_key, cut): per system, keep the last
 * frame of each `bucket` and feature mask (bucket 0: keep only each
 * system's latest frame).
 */
static int thin_frames(struct store *s, const char *cut_key, int64_t cut, int64_t bucket)
{
	int64_t prev = meta_get(s, cut_key, 0);
	if (cut <= prev)
		return 0;
	int r = store_begin(s);
	if (r < 0)
		return r;
	struct ids systems = {0}, doomed = {0};
	sqlite3_stmt *get = NULL, *del = NULL, *last = NULL;
	r = select_ids(s, "SELECT id FROM systems WHERE last_seen >= ?1", prev, &systems);
	if (r == 0)
		r = prep(s, "SELECT id, t, fmask FROM frames WHERE system = ?1 AND t >= ?2 AND t < ?3"
			    " ORDER BY t DESC, id DESC",
			 &get);
	if (r == 0)
		r = prep(s, "DELETE FROM frames WHERE id = ?1", &del);
	if (r == 0)
		r = prep(s, "SELECT id FROM frames WHERE system = ?1 ORDER BY t DESC, id DESC LIMIT 1",
			 &last);
	for (size_t i = 0; r == 0 && i < systems.n; i++) {
		int64_t keep_last = 0;
		if (bucket == 0) {
			sqlite3_bind_int64(last, 1, systems.v[i]);
			if (sqlite3_step(last) == SQLITE_ROW)
				keep_last = sqlite3_column_int64(last, 0);
			sqlite3_reset(last);
		}
		sqlite3_bind_int64(get, 1, systems.v[i]);
		sqlite3_bind_int64(get, 2, prev);
		sqlite3_bind_int64(get, 3, cut);
		int64_t cur = INT64_MIN;
		uint64_t masks[64];
		int nm = 0, rc;
		doomed.n = 0;
		while (r == 0 && (rc = sqlite3_step(get)) == SQLITE_ROW) {
			int64_t id = sqlite3_column_int64(get, 0);
			int64_t t = sqlite3_column_int64(get, 1);
			uint64_t m = (uint64_t)sqlite3_column_int64(get, 2);
			bool keep = false;
			if (bucket == 0) {
				keep = id == keep_last;
			} else {
				int64_t b = floor_to(t, bucket);
				if (b != cur)
					cur = b, nm = 0;
				keep = true;
				for (int k = 0; k < nm; k++)
					if (masks[k] == m)
						keep = false;
				if (keep && nm < 64)
					masks[nm++] = m;
			}
			if (!keep)
				r = ids_add(&doomed, id);
		}
		sqlite3_reset(get);
		for (size_t k = 0; r == 0 && k < doomed.n; k++) {
			sqlite3_bind_int64(del, 1, doomed.v[k]);
			r = step_done(s, del, "deleting old frames");
		}
		if (r == 0 && doomed.n) {
			r = count_add(s, "frames", -(int64_t)doomed.n);
			if (r == 0)
				r = meta_set(s, "gc_needed", 1);
		}
	}
	sqlite3_finalize(get);
	sqlite3_finalize(del);
	sqlite3_finalize(last);
	free(systems.v);
	free(doomed.v);
	if (r == 0)
		r = meta_set(s, cut_key, cut);
	if (r < 0) {
		store_rollback(s);
		return r;
	}
	return store_commit(s);
}

/* ---- garbage collection ----------------------------------------------------------- */

struct bits {
	unsigned char *b;
	int64_t n;
};

static void mark(struct bits *m, int64_t i)
{
	if (i > 0 && i < m->n)
		m->b[i >> 3] |= (unsigned char)(1u << (i & 7));
}

static bool marked(const struct bits *m, int64_t i)
{
	return i > 0 && i < m->n && (m->b[i >> 3] & (1u << (i & 7)));
}

static void mark_varints(struct bits *m, const void *blob, int len, bool delta)
{
	const unsigned char *p = blob, *end = p + (len > 0 ? len : 0);
	uint64_t v;
	int64_t prev = 0;
	while (p < end && vget(&p, end, &v)) {
		prev = delta ? prev + unzz(v) : (int64_t)v;
		mark(m, prev);
	}
}

static int sweep(struct store *s, const char *scan_sql, const char *del_sql, const struct bits *m,
		 int64_t *ndel)
{
	struct ids dead = {0};
	sqlite3_stmt *st;
	*ndel = 0;
	int r = prep(s, scan_sql, &st);
	int rc = SQLITE_DONE;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (!marked(m, id))
			r = ids_add(&dead, id);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_fail(s, rc, "garbage collection");
	sqlite3_finalize(st);
	if (r == 0)
		r = prep(s, del_sql, &st);
	for (size_t i = 0; r == 0 && i < dead.n; i++) {
		sqlite3_bind_int64(st, 1, dead.v[i]);
		r = step_done(s, st, "garbage collection");
	}
	if (r == 0)
		sqlite3_finalize(st);
	*ndel = (int64_t)dead.n;
	free(dead.v);
	return r;
}

static int gc(struct store *s, int64_t now, bool force)
{
	if (!meta_get(s, "gc_needed", 0))
		return 0;
	if (!force && now - meta_get(s, "gc_at", 0) < GC_PERIOD)
		return 0;
	int r = store_begin(s);
	if (r < 0)
		return r;
	int rc;
	struct bits recs = {0}, sets = {0};
	sqlite3_stmt *st = NULL;
	r = prep(s, "SELECT (SELECT coalesce(max(id), 0) FROM records),"
		    " (SELECT coalesce(max(id), 0) FROM sets)",
		 &st);
	if (r == 0 && sqlite3_step(st) == SQLITE_ROW) {
		recs.n = sqlite3_column_int64(st, 0) + 1;
		sets.n = sqlite3_column_int64(st, 1) + 1;
	}
	sqlite3_finalize(st);
	st = NULL;
	recs.b = calloc((size_t)(recs.n >> 3) + 1, 1);
	sets.b = calloc((size_t)(sets.n >> 3) + 1, 1);
	if (r == 0 && (!recs.b || !sets.b))
		r = -ENOMEM;
	/* mark: frames -> heads and sets; live sets -> records */
	if (r == 0)
		r = prep(s, "SELECT head, parts FROM frames", &st);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		mark(&recs, sqlite3_column_int64(st, 0));
		mark_varints(&sets, sqlite3_column_blob(st, 1), sqlite3_column_bytes(st, 1), false);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (r == 0)
		r = prep(s, "SELECT id, ids FROM sets", &st);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		if (marked(&sets, sqlite3_column_int64(st, 0)))
			mark_varints(&recs, sqlite3_column_blob(st, 1), sqlite3_column_bytes(st, 1), true);
	sqlite3_finalize(st);
	int64_t nsets = 0, nrecs = 0;
	if (r == 0)
		r = sweep(s, "SELECT id FROM sets", "DELETE FROM sets WHERE id = ?1", &sets, &nsets);
	if (r == 0)
		r = sweep(s, "SELECT id FROM records", "DELETE FROM records WHERE id = ?1", &recs, &nrecs);
	free(recs.b);
	free(sets.b);
	if (r == 0)
		r = count_add(s, "sets", -nsets);
	if (r == 0)
		r = count_add(s, "records", -nrecs);
	if (r == 0)
		r = meta_set(s, "gc_needed", 0);
	if (r == 0)
		r = meta_set(s, "gc_at", now);
	if (r < 0) {
		store_rollback(s);
		return r;
	}
	r = store_commit(s);
	store_caches_clear(s); /* deleted ids must not stay cached */
	return r;
}

/* ---- the entry point ------------------------------------------------------------- */

int store_maintain(struct store *s, int64_t now)
{
	if (s->ro)
		return store_failf(s, -EROFS, "the store is open read-only");
	int r = store_sync_caches(s);
	if (r == 0)
		r = roll_level(s, true, "rollup_1m", "raw_cut", MS_MIN, 6 * MS_HOUR,
			       floor_to(now, MS_MIN), NULL);
	if (r == 0)
		r = roll_level(s, false, "rollup_1h", "m1_cut", MS_HOUR, 7 * MS_DAY, 0, "rollup_1m");
	if (r == 0)
		r = expire_points(s, "points_raw", "raw_cut", now - RETAIN_RAW, "rollup_1m", MS_MIN);
	if (r == 0)
		r = expire_points(s, "points_1m", "m1_cut", now - RETAIN_1M, "rollup_1h", 10 * MS_MIN);
	if (r == 0)
		r = expire_points(s, "points_1h", "h1_cut", now - RETAIN_1H, NULL, MS_HOUR);
	if (r == 0)
		r = thin_frames(s, "frames_hourly", floor_to(now - RETAIN_FRAMES_ALL, MS_HOUR), MS_HOUR);
	if (r == 0)
		r = thin_frames(s, "frames_daily", floor_to(now - RETAIN_FRAMES_HOURLY, MS_DAY), MS_DAY);
	if (r == 0)
		r = thin_frames(s, "frames_dropped", floor_to(now - RETAIN_FRAMES_DAILY, MS_DAY), 0);
	if (r == 0)
		r = gc(s, now, false);
	if (r == 0) {
		s->wm1m = meta_get(s, "rollup_1m", -1);
		s->wm1h = meta_get(s, "rollup_1h", -1);
	}
	return r;
}
