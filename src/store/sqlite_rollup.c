/*
 * sqlite_rollup.c - the SQLite backend's roll-ups, retention and garbage
 * collection: the maintain op (store_maintain()).
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
 * into a rolled bucket lowers them, sqlite_ingest.c, and the bucket is rolled
 * again); 'raw_cut', 'm1_cut', 'h1_cut' the times below which points were
 * deleted.  Only systems seen since a watermark are visited, so a run with
 * nothing to do costs a few index lookups.
 *
 * Frames are kept whole for 24 hours; then, per system and per set of
 * features crawled together, the last frame of each hour for 15 days, the
 * last of each day for 15 months, and after that only each system's
 * latest frame.  Records and record sets no longer used by any frame are
 * then deleted by a mark-and-sweep pass (at most hourly) that reads the
 * frames and the sets, never the records themselves.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite_internal.h"

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
static int select_ids(struct sqlite_store *s, const char *sql, int64_t arg, struct ids *out)
{
	sqlite3_stmt *st;
	out->n = 0;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "maintenance query");
	sqlite3_bind_int64(st, 1, arg);
	int r = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && r == 0)
		r = ids_add(out, sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
	if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = sq_fail(s, rc, "maintenance query");
	return r;
}

/* Series of the systems seen at or after `since`. */
static int active_series(struct sqlite_store *s, int64_t since, struct ids *out)
{
	return select_ids(s,
	                  "SELECT series.id FROM systems JOIN series ON series.system = systems.id"
	                  " WHERE systems.last_seen >= ?1",
	                  since, out);
}

static int prep(struct sqlite_store *s, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
	return rc == SQLITE_OK ? 0 : sq_fail(s, rc, "maintenance statement");
}

static int step_done(struct sqlite_store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, what);
}

/* ---- roll-ups ------------------------------------------------------------------ */

/*
 * Rows of one series for one bucket are collected in `rows` and reduced
 * into one roll-up row.  Destination tables are keyed (t, series): the
 * rows of one bucket of every series are written side by side.
 */
struct roller {
	struct sqlite_store *s;
	sqlite3_stmt *put, *exists;
	int64_t old_wm; /* buckets below it may exist already */
	struct agg *rows;
	size_t n, cap;
	int64_t added;
};

static int roller_add(struct roller *ro, const struct agg *a)
{
	if (ro->n == ro->cap) {
		size_t cap = ro->cap ? ro->cap * 2 : 256;
		struct agg *v = realloc(ro->rows, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		ro->rows = v;
		ro->cap = cap;
	}
	ro->rows[ro->n++] = *a;
	return 0;
}

/* Reduce the collected rows into the row (t, series). */
static int roller_flush(struct roller *ro, int64_t series, int64_t t)
{
	if (!ro->n)
		return 0;
	struct agg a;
	agg_reduce(ro->rows, ro->n, &a);
	ro->n = 0;
	if (a.count <= 0)
		return 0;
	bool existed = false;
	if (t < ro->old_wm) {
		sqlite3_reset(ro->exists);
		sqlite3_bind_int64(ro->exists, 1, t);
		sqlite3_bind_int64(ro->exists, 2, series);
		existed = sqlite3_step(ro->exists) == SQLITE_ROW;
		sqlite3_reset(ro->exists);
	}
	sqlite3_stmt *p = ro->put;
	sqlite3_bind_int64(p, 1, t);
	sqlite3_bind_int64(p, 2, series);
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

static void raw_agg(const struct point *p, struct agg *a)
{
	a->t = p->t;
	a->sum = a->min = a->max = a->p[0] = a->p[1] = a->p[2] = p->d;
	a->count = 1;
}

/*
 * Roll up minute [m, m + 1 min).  Above the compaction watermark all its
 * points are in points_new: one range scan gives every frame of the
 * minute, regrouped here by series.  Below it only late points are there;
 * their series are re-read whole (chunks and points_new merged).
 */
static int roll_minute(struct roller *ro, int64_t m, int64_t compacted, sqlite3_stmt *scan,
                       struct pvec *pts, struct pvec *tmp)
{
	struct sqlite_store *s = ro->s;
	sqlite3_reset(scan);
	sqlite3_bind_int64(scan, 1, m / MS_MIN);
	int rc, r = 0;
	pts->n = 0;
	while (r == 0 && (rc = sqlite3_step(scan)) == SQLITE_ROW)
		r = fpoints_decode(sqlite3_column_blob(scan, 1),
		                   (size_t)sqlite3_column_bytes(scan, 1),
		                   sqlite3_column_int64(scan, 0), 0, pts);
	sqlite3_reset(scan);
	if (r == -EINVAL)
		return sq_failf(s, -EINVAL, "corrupt points in minute %lld",
		                (long long)(m / MS_MIN));
	if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		return sq_fail(s, rc, "reading points");
	pvec_sort_unique(pts);
	ro->n = 0;
	for (size_t a = 0, b; r == 0 && a < pts->n; a = b) {
		int64_t series = pts->v[a].series;
		for (b = a; b < pts->n && pts->v[b].series == series; b++)
			;
		const struct point *src = pts->v + a;
		size_t n = b - a;
		if (m < compacted) {
			r = raw_read(s, series, m, m + MS_MIN, tmp);
			src = tmp->v;
			n = tmp->n;
		}
		for (size_t i = 0; r == 0 && i < n; i++) {
			struct agg ag;
			if (src[i].type == SQLITE_NULL)
				continue;
			raw_agg(&src[i], &ag);
			r = roller_add(ro, &ag);
		}
		if (r == 0)
			r = roller_flush(ro, series, m);
	}
	return r;
}

/* Roll up hour [h, h + 1 h) from its minutes, series by series. */
static int roll_hour(struct roller *ro, int64_t h, sqlite3_stmt *scan)
{
	sqlite3_reset(scan);
	sqlite3_bind_int64(scan, 1, h);
	sqlite3_bind_int64(scan, 2, h + MS_HOUR);
	int rc, r = 0;
	int64_t cur = 0;
	ro->n = 0;
	while (r == 0 && (rc = sqlite3_step(scan)) == SQLITE_ROW) {
		int64_t series = sqlite3_column_int64(scan, 0);
		if (series != cur) {
			r = roller_flush(ro, cur, h);
			cur = series;
		}
		struct agg a = {.t = sqlite3_column_int64(scan, 1)};
		a.min = sqlite3_column_double(scan, 2);
		a.max = sqlite3_column_double(scan, 3);
		a.sum = sqlite3_column_double(scan, 4);
		a.count = sqlite3_column_int64(scan, 5);
		for (int k = 0; k < 3; k++)
			a.p[k] = sqlite3_column_double(scan, 6 + k);
		if (r == 0 && a.count > 0)
			r = roller_add(ro, &a);
	}
	if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		r = sq_fail(ro->s, rc, "reading roll-ups");
	sqlite3_reset(scan);
	if (r == 0)
		r = roller_flush(ro, cur, h);
	return r;
}

#define ROLL_PUT(tbl)                                                                              \
	"INSERT OR REPLACE INTO " tbl "(t, series, avg, min, max, sum, count, p50, p90, p99)"      \
	" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"

/*
 * Roll complete buckets from the watermark `wm_key` up to `end` (minutes
 * from raw points, or hours from minutes), a chunk of buckets per
 * transaction.  `cut_key` is the source's deletion point: buckets below it
 * are never rolled again.
 */
static int roll_level(struct sqlite_store *s, bool minutes, int64_t end_limit)
{
	const char *wm_key = minutes ? "rollup_1m" : "rollup_1h";
	const char *cut_key = minutes ? "raw_cut" : "m1_cut";
	const char *max_key = minutes ? "rolled_1m_max" : "rolled_1h_max";
	int64_t bucket = minutes ? MS_MIN : MS_HOUR;
	int64_t chunk = minutes ? 6 * MS_HOUR : 7 * MS_DAY;
	struct roller ro = {.s = s};
	sqlite3_stmt *scan = NULL;
	struct pvec tmp = {0}, pts = {0};
	int r =
	    prep(s,
	         minutes ? "SELECT t, data FROM points_new WHERE m = ?1"
	                 : "SELECT series, t, min, max, sum, count, p50, p90, p99 FROM points_1m"
	                   " WHERE t >= ?1 AND t < ?2 ORDER BY series, t",
	         &scan);
	if (r == 0)
		r = prep(s, minutes ? ROLL_PUT("points_1m") : ROLL_PUT("points_1h"), &ro.put);
	if (r == 0)
		r = prep(s,
		         minutes ? "SELECT 1 FROM points_1m WHERE t = ?1 AND series = ?2"
		                 : "SELECT 1 FROM points_1h WHERE t = ?1 AND series = ?2",
		         &ro.exists);
	while (r == 0) {
		r = sq_begin(s);
		if (r < 0)
			break;
		int64_t wm = meta_get(s, wm_key, -1);
		int64_t end = minutes ? end_limit : floor_to(meta_get(s, "rollup_1m", -1), MS_HOUR);
		int64_t cut = meta_get(s, cut_key, 0);
		int64_t compacted = meta_get(s, "compacted", 0);
		int64_t start = wm;
		if (start >= 0 && start < cut)
			start = floor_to(cut + bucket - 1, bucket);
		if (wm < 0 || start >= end) {
			r = sq_commit(s);
			break;
		}
		int64_t cend = start + chunk < end ? start + chunk : end;
		ro.old_wm = meta_get(s, max_key, 0);
		ro.added = 0;
		for (int64_t t = start; r == 0 && t < cend; t += bucket)
			r = minutes ? roll_minute(&ro, t, compacted, scan, &pts, &tmp)
			            : roll_hour(&ro, t, scan);
		if (r == 0)
			r = meta_set(s, wm_key, cend);
		if (r == 0 && cend > ro.old_wm)
			r = meta_set(s, max_key, cend);
		if (r == 0)
			r = count_add(s, minutes ? "points_1m" : "points_1h", ro.added);
		if (r == 0)
			r = sq_commit(s);
		else
			sq_rollback(s);
	}
	sqlite3_finalize(scan);
	sqlite3_finalize(ro.put);
	sqlite3_finalize(ro.exists);
	free(ro.rows);
	pvec_free(&tmp);
	pvec_free(&pts);
	return r;
}

/* ---- retention -------------------------------------------------------------------- */

static int run_delete(struct sqlite_store *s, const char *sql, int64_t a, int64_t b, int64_t *n)
{
	sqlite3_stmt *st;
	int r = prep(s, sql, &st);
	if (r < 0)
		return r;
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (b == -1) { /* RETURNING data: a frame's points */
			struct pvec v = {0};
			fpoints_decode(sqlite3_column_blob(st, 0),
			               (size_t)sqlite3_column_bytes(st, 0), 0, 0, &v);
			*n += (int64_t)v.n;
			pvec_free(&v);
		} else { /* RETURNING n */
			*n += sqlite3_column_int64(st, 0);
		}
	}
	if (rc == SQLITE_DONE && sqlite3_column_count(st) == 0)
		*n += sqlite3_changes(s->db);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "deleting old points");
}

/* Raw points older than `cut` (whole hours; never above the 1-minute
 * watermark, so nothing goes before it is rolled up). */
static int expire_raw(struct sqlite_store *s, int64_t cut)
{
	int64_t prev = meta_get(s, "raw_cut", 0), lim = meta_get(s, "rollup_1m", -1);
	if (lim < 0)
		return 0;
	if (cut > lim)
		cut = lim;
	cut = floor_to(cut, MS_HOUR);
	if (cut <= prev)
		return 0;
	int r = sq_begin(s);
	if (r < 0)
		return r;
	struct ids series = {0};
	int64_t gone = 0;
	r = active_series(s, prev, &series);
	for (size_t i = 0; r == 0 && i < series.n; i++)
		r = run_delete(s, "DELETE FROM points_raw WHERE series = ?1 AND h < ?2 RETURNING n",
		               series.v[i], cut, &gone);
	if (r == 0) /* late points never compacted (compaction runs first: rare) */
		r = run_delete(s, "DELETE FROM points_new WHERE m < ?1 AND ?2 = ?2 RETURNING data",
		               cut / MS_MIN, -1, &gone);
	if (r == 0)
		r = meta_set(s, "raw_cut", cut);
	if (r == 0)
		r = count_add(s, "points_raw", -gone);
	free(series.v);
	if (r < 0) {
		sq_rollback(s);
		return r;
	}
	return sq_commit(s);
}

/* Roll-up rows older than `cut`: a range at the front of the table. */
static int expire_rollup(struct sqlite_store *s, const char *table, const char *cut_key,
                         int64_t cut, const char *limit_key, int64_t min_advance)
{
	int64_t prev = meta_get(s, cut_key, 0);
	if (limit_key) {
		int64_t lim = meta_get(s, limit_key, -1);
		if (lim < 0)
			return 0;
		if (cut > lim)
			cut = lim;
	}
	if (cut - prev < min_advance)
		return 0;
	int r = sq_begin(s);
	if (r < 0)
		return r;
	char sql[128];
	snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE t < ?1 AND ?2 = ?2", table);
	int64_t gone = 0;
	r = run_delete(s, sql, cut, 0, &gone);
	if (r == 0)
		r = meta_set(s, cut_key, cut);
	if (r == 0)
		r = count_add(s, table, -gone);
	if (r < 0) {
		sq_rollback(s);
		return r;
	}
	return sq_commit(s);
}

/*
 * Thin frames with t in [meta cut_key, cut): per system, keep the last
 * frame of each `bucket` and feature mask (bucket 0: keep only each
 * system's latest frame).
 */
static int thin_frames(struct sqlite_store *s, const char *cut_key, int64_t cut, int64_t bucket)
{
	int64_t prev = meta_get(s, cut_key, 0);
	if (cut <= prev)
		return 0;
	int r = sq_begin(s);
	if (r < 0)
		return r;
	struct ids systems = {0}, doomed = {0};
	sqlite3_stmt *get = NULL, *del = NULL, *last = NULL, *heads = NULL;
	r = select_ids(s, "SELECT id FROM systems WHERE last_seen >= ?1", prev, &systems);
	if (r == 0)
		r = prep(s,
		         "SELECT id, t, fmask FROM frames WHERE system = ?1 AND t >= ?2 AND t < ?3"
		         " ORDER BY t DESC, id DESC",
		         &get);
	if (r == 0) /* their headers become candidates for garbage collection */
		r = prep(
		    s, "INSERT OR IGNORE INTO gc_heads(id) SELECT head FROM frames WHERE id = ?1;",
		    &heads);
	if (r == 0)
		r = prep(s, "DELETE FROM frames WHERE id = ?1", &del);
	if (r == 0)
		r = prep(s,
		         "SELECT id FROM frames WHERE system = ?1 ORDER BY t DESC, id DESC LIMIT 1",
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
		if (r == 0 && rc != SQLITE_DONE) /* not a short list taken for the whole */
			r = sq_fail(s, rc, "thinning old frames");
		sqlite3_reset(get);
		for (size_t k = 0; r == 0 && k < doomed.n; k++) {
			sqlite3_bind_int64(heads, 1, doomed.v[k]);
			r = step_done(s, heads, "deleting old frames");
			sqlite3_bind_int64(del, 1, doomed.v[k]);
			if (r == 0)
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
	sqlite3_finalize(heads);
	free(systems.v);
	free(doomed.v);
	if (r == 0)
		r = meta_set(s, cut_key, cut);
	if (r < 0) {
		sq_rollback(s);
		return r;
	}
	return sq_commit(s);
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

static int delete_ids(struct sqlite_store *s, const char *sql, const struct ids *ids)
{
	sqlite3_stmt *st;
	int r = prep(s, sql, &st);
	for (size_t i = 0; r == 0 && i < ids->n; i++) {
		sqlite3_bind_int64(st, 1, ids->v[i]);
		r = step_done(s, st, "garbage collection");
	}
	sqlite3_finalize(st);
	return r;
}

/*
 * Mark and sweep, without reading the records table (it holds all the
 * text): live sets and headers are marked from the frames; the records of
 * dead sets and the headers of deleted frames (gc_heads, filled by
 * thin_frames) are the candidates; a candidate that no live set or frame
 * uses is deleted.  Costs a scan of frames and of sets.
 */
static int gc(struct sqlite_store *s, int64_t now, bool force)
{
	if (!meta_get(s, "gc_needed", 0))
		return 0;
	if (!force && now - meta_get(s, "gc_at", 0) < GC_PERIOD)
		return 0;
	int r = sq_begin(s);
	if (r < 0)
		return r;
	int rc = SQLITE_DONE;
	struct bits live = {0}, cand = {0}, sets = {0};
	struct ids dead_sets = {0}, dead_recs = {0};
	sqlite3_stmt *st = NULL;
	r = prep(s,
	         "SELECT (SELECT coalesce(max(id), 0) FROM records),"
	         " (SELECT coalesce(max(id), 0) FROM sets)",
	         &st);
	if (r == 0 && sqlite3_step(st) == SQLITE_ROW) {
		live.n = cand.n = sqlite3_column_int64(st, 0) + 1;
		sets.n = sqlite3_column_int64(st, 1) + 1;
	}
	sqlite3_finalize(st);
	st = NULL;
	live.b = calloc((size_t)(live.n >> 3) + 1, 1);
	cand.b = calloc((size_t)(cand.n >> 3) + 1, 1);
	sets.b = calloc((size_t)(sets.n >> 3) + 1, 1);
	if (r == 0 && (!live.b || !cand.b || !sets.b))
		r = -ENOMEM;
	/* frames -> live headers and sets */
	if (r == 0)
		r = prep(s, "SELECT head, parts FROM frames", &st);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		mark(&live, sqlite3_column_int64(st, 0));
		mark_varints(&sets, sqlite3_column_blob(st, 1), sqlite3_column_bytes(st, 1), false);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (r == 0 && rc != SQLITE_DONE)
		r = sq_fail(s, rc, "garbage collection");
	/* sets -> live records, or candidates and dead sets */
	if (r == 0)
		r = prep(s, "SELECT id, ids FROM sets", &st);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		bool alive = marked(&sets, id);
		mark_varints(alive ? &live : &cand, sqlite3_column_blob(st, 1),
		             sqlite3_column_bytes(st, 1), true);
		if (!alive)
			r = ids_add(&dead_sets, id);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (r == 0 && rc != SQLITE_DONE)
		r = sq_fail(s, rc, "garbage collection");
	/* headers of deleted frames */
	if (r == 0)
		r = prep(s, "SELECT id FROM gc_heads", &st);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		mark(&cand, sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
	if (r == 0 && rc != SQLITE_DONE)
		r = sq_fail(s, rc, "garbage collection");
	for (int64_t i = 1; r == 0 && i < cand.n; i++)
		if (marked(&cand, i) && !marked(&live, i))
			r = ids_add(&dead_recs, i);
	if (r == 0)
		r = delete_ids(s, "DELETE FROM sets WHERE id = ?1", &dead_sets);
	if (r == 0)
		r = delete_ids(s, "DELETE FROM records WHERE id = ?1", &dead_recs);
	if (r == 0)
		r = sq_exec(s, "DELETE FROM gc_heads");
	free(live.b);
	free(cand.b);
	free(sets.b);
	if (r == 0)
		r = count_add(s, "sets", -(int64_t)dead_sets.n);
	if (r == 0)
		r = count_add(s, "records", -(int64_t)dead_recs.n);
	free(dead_sets.v);
	free(dead_recs.v);
	if (r == 0)
		r = meta_set(s, "gc_needed", 0);
	if (r == 0)
		r = meta_set(s, "gc_at", now);
	if (r < 0) {
		sq_rollback(s);
		return r;
	}
	r = sq_commit(s);
	sq_caches_clear(s); /* deleted ids must not stay cached */
	return r;
}

/* ---- the entry point ------------------------------------------------------------- */

int sqlite_maintain(struct store *base, int64_t now)
{
	struct sqlite_store *s = sq(base);
	if (s->ro)
		return sq_failf(s, -EROFS, "the store is open read-only");
	int r = sq_sync_caches(s);
	if (r == 0)
		r = roll_level(s, true, floor_to(now, MS_MIN));
	if (r == 0)
		r = roll_level(s, false, 0);
	if (r == 0) {
		/* complete hours already rolled up go into chunks */
		int64_t upto = floor_to(now, MS_HOUR), wm = meta_get(s, "rollup_1m", -1);
		if (wm >= 0 && wm < upto)
			upto = floor_to(wm, MS_MIN);
		if (wm >= 0)
			r = compact_points(s, upto);
	}
	if (r == 0)
		r = expire_raw(s, now - RETAIN_RAW);
	if (r == 0)
		r = expire_rollup(s, "points_1m", "m1_cut", now - RETAIN_1M, "rollup_1h", MS_MIN);
	if (r == 0)
		r = expire_rollup(s, "points_1h", "h1_cut", now - RETAIN_1H, NULL, MS_HOUR);
	if (r == 0)
		r = thin_frames(s, "frames_hourly", floor_to(now - RETAIN_FRAMES_ALL, MS_HOUR),
		                MS_HOUR);
	if (r == 0)
		r = thin_frames(s, "frames_daily", floor_to(now - RETAIN_FRAMES_HOURLY, MS_DAY),
		                MS_DAY);
	if (r == 0)
		r = thin_frames(s, "frames_dropped", floor_to(now - RETAIN_FRAMES_DAILY, MS_DAY),
		                0);
	if (r == 0)
		r = gc(s, now, false);
	if (r == 0)
		r = expire_events(s, now);
	if (r == 0)
		r = sqlite_expire_logs(s, now);
	if (r == 0) {
		s->wm1m = meta_get(s, "rollup_1m", -1);
		s->wm1h = meta_get(s, "rollup_1h", -1);
	}
	return r;
}
