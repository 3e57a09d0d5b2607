/*
 * pg_maintain.c - store_maintain() of the PostgreSQL backend: roll-ups,
 * retention, garbage collection, the events log.
 *
 *   roll-ups   the complete minutes above meta 'rollup_1m' are read from
 *              `points` (one range scan, by series and time) and reduced
 *              in C with agg_reduce() (series_common.c), the very code of
 *              the SQLite backend, into points_1m; the hours below the
 *              minutes' watermark from points_1m into points_1h.  A late
 *              point lowers the watermarks (pg_ingest.c), so its minute
 *              and hour are rolled again (their rows replaced).
 *   retention  by partitions dropped whole: raw points are partitioned by
 *              hour (points_r<H>), minutes by day (points_1m_d<D>), hours
 *              by 30 days (points_1h_b<B>); a partition goes when all of
 *              it is older than its retention (raw: never above the
 *              minutes' watermark).  meta raw_cut/m1_cut say what is gone.
 *   frames     thinned as in SQLite: every frame for 24 h, then the last of
 *              each hour (per system and set of features) for 15 days,
 *              then the last of each day for 15 months, then only each
 *              system's latest frame.
 *   gc         sets no frame uses and records no set or header uses are
 *              deleted after frames were; the collector holds the GC
 *              advisory lock exclusively and bumps meta gc_epoch, so
 *              writers empty their caches.
 *   search     the records stored since the last run are added to the
 *              search text index (pg_search.c), off the ingest path.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

static int64_t one_int(struct pg_store *s, const char *sql, int *e)
{
	PGresult *r = PQexec(s->c, sql);
	int64_t v = 0;
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		*e = pg_fail(s, r, "maintenance");
	else if (PQntuples(r) && !PQgetisnull(r, 0, 0))
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

static int wtx_begin(struct pg_store *s)
{
	return pg_exec(s, "BEGIN", "beginning maintenance");
}

static int wtx_end(struct pg_store *s, int e)
{
	if (e == 0)
		return pg_exec(s, "COMMIT", "committing maintenance");
	PQclear(PQexec(s->c, "ROLLBACK"));
	return e;
}

static int ensure_part(struct pg_store *s, const char *table, const char *prefix, int64_t idx,
                       int64_t width)
{
	char sql[400];
	snprintf(
	    sql, sizeof(sql),
	    "SELECT pg_advisory_xact_lock(%lld); CREATE TABLE IF NOT EXISTS %s%lld PARTITION OF"
	    " %s FOR VALUES FROM (%lld) TO (%lld)",
	    (long long)PG_LOCK_DDL, prefix, (long long)idx, table,
	    (long long)idx * (long long)width, ((long long)idx + 1) * (long long)width);
	return pg_exec(s, sql, "making a partition");
}

/* ---- roll-ups ------------------------------------------------------------------- */

struct rowbuf {
	struct agg *v;
	size_t n, cap;
};

static void rb_add(struct rowbuf *b, const struct agg *a)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 256;
		struct agg *nv = realloc(b->v, b->cap * sizeof(*nv));
		if (!nv)
			abort();
		b->v = nv;
	}
	b->v[b->n++] = *a;
}

/* Flush one (series, bucket) group into the INSERT being built. */
static void flush_group(struct rowbuf *g, int64_t series, int64_t t, struct buf *sql, size_t *n)
{
	if (!g->n)
		return;
	struct agg a;
	agg_reduce(g->v, g->n, &a);
	g->n = 0;
	buf_printf(sql,
	           "%s(%" PRId64 ",%" PRId64 ",%.17g,%.17g,%.17g,%.17g,%" PRId64
	           ",%.17g,%.17g,%.17g)",
	           (*n)++ ? "," : "", series, t, a.sum / (double)a.count, a.min, a.max, a.sum,
	           a.count, a.p[0], a.p[1], a.p[2]);
}

/* Roll [from, to) of the finer table into the coarser one (minutes: raw
 * points into points_1m; else minutes into points_1h), in one transaction. */
static int roll(struct pg_store *s, bool minutes, int64_t from, int64_t to)
{
	int64_t res = minutes ? MS_MIN : MS_HOUR;
	const char *dst = minutes ? "points_1m" : "points_1h";
	int e = wtx_begin(s);
	char sql[300];
	snprintf(sql, sizeof(sql),
	         minutes
	             ? "SELECT series, t, i, v, 1, 0, 0, 0, 0, 0 FROM points WHERE t >= %lld AND"
	               " t < %lld AND (i IS NOT NULL OR v IS NOT NULL) ORDER BY series, t"
	             : "SELECT series, t, sum, count, min, max, p50, p90, p99, 0 FROM points_1m"
	               " WHERE t >= %lld AND t < %lld ORDER BY series, t",
	         (long long)from, (long long)to);
	PGresult *r = e == 0 ? PQexec(s->c, sql) : NULL;
	if (e == 0 && PQresultStatus(r) != PGRES_TUPLES_OK)
		e = pg_fail(s, r, "rolling up");
	/* the destination partitions */
	int64_t width = minutes ? MS_DAY : 30 * MS_DAY;
	for (int64_t p = floor_to(from, width) / width; e == 0 && p * width < to; p++)
		e = ensure_part(s, dst, minutes ? "points_1m_d" : "points_1h_b", p, width);
	int64_t removed = 0, added = 0;
	if (e == 0) {
		snprintf(sql, sizeof(sql),
		         "WITH d AS (DELETE FROM %s WHERE t >= %lld AND t < %lld"
		         " RETURNING 1) SELECT count(*) FROM d",
		         dst, (long long)from, (long long)to);
		removed = one_int(s, sql, &e);
	}
	struct buf ins = BUF_INIT;
	struct rowbuf g = {0};
	size_t n = 0;
	int64_t cs = -1, ct = INT64_MIN;
	buf_printf(&ins,
	           "INSERT INTO %s(series, t, avg, min, max, sum, count, p50, p90, p99) VALUES",
	           dst);
	size_t head = ins.len;
	for (int i = 0; e == 0 && i < PQntuples(r); i++) {
		int64_t series = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		int64_t t = strtoll(PQgetvalue(r, i, 1), NULL, 10);
		int64_t bt = floor_to(t, res);
		if (series != cs || bt != ct) {
			flush_group(&g, cs, ct, &ins, &n);
			cs = series;
			ct = bt;
		}
		struct agg a = {.t = t};
		if (minutes) {
			double v = PQgetisnull(r, i, 2)
			               ? strtod(PQgetvalue(r, i, 3), NULL)
			               : (double)strtoll(PQgetvalue(r, i, 2), NULL, 10);
			a.sum = a.min = a.max = a.p[0] = a.p[1] = a.p[2] = v;
			a.count = 1;
		} else {
			a.sum = strtod(PQgetvalue(r, i, 2), NULL);
			a.count = strtoll(PQgetvalue(r, i, 3), NULL, 10);
			a.min = strtod(PQgetvalue(r, i, 4), NULL);
			a.max = strtod(PQgetvalue(r, i, 5), NULL);
			for (int k = 0; k < 3; k++)
				a.p[k] = strtod(PQgetvalue(r, i, 6 + k), NULL);
		}
		rb_add(&g, &a);
		if (n >= 2000) { /* bounded statements */
			e = pg_exec(s, buf_str(&ins), "storing roll-ups");
			added += (int64_t)n;
			n = 0;
			ins.len = head;
		}
	}
	flush_group(&g, cs, ct, &ins, &n);
	if (e == 0 && n) {
		e = pg_exec(s, buf_str(&ins), "storing roll-ups");
		added += (int64_t)n;
	}
	PQclear(r);
	free(g.v);
	buf_free(&ins);
	if (e == 0)
		e = pg_meta_set(s, minutes ? "rollup_1m" : "rollup_1h", to);
	if (e == 0)
		e = pg_count_add(s, dst, added - removed);
	return wtx_end(s, e);
}

static int roll_all(struct pg_store *s, int64_t now)
{
	int e = 0;
	/* minutes */
	int64_t wm = pg_meta_get(s, "rollup_1m", -1);
	if (wm < 0) {
		int64_t lo = one_int(s, "SELECT min(t) FROM points", &e);
		int64_t any =
		    one_int(s, "SELECT count(*) FROM (SELECT 1 FROM points LIMIT 1) x", &e);
		if (e < 0 || !any)
			return e;
		wm = floor_to(lo, MS_MIN);
	}
	int64_t end = floor_to(now, MS_MIN);
	for (int64_t a = wm; e == 0 && a < end;) {
		int64_t b =
		    floor_to(a, MS_HOUR) + MS_HOUR < end ? floor_to(a, MS_HOUR) + MS_HOUR : end;
		e = roll(s, true, a, b);
		a = b;
	}
	if (e < 0)
		return e;
	/* hours: those whose minutes are all rolled */
	int64_t m = pg_meta_get(s, "rollup_1m", -1);
	if (m < 0)
		return 0;
	int64_t hend = floor_to(m, MS_HOUR);
	int64_t wh = pg_meta_get(s, "rollup_1h", -1);
	if (wh < 0) {
		int64_t any =
		    one_int(s, "SELECT count(*) FROM (SELECT 1 FROM points_1m LIMIT 1) x", &e);
		if (e < 0 || !any)
			return e;
		wh = floor_to(one_int(s, "SELECT min(t) FROM points_1m", &e), MS_HOUR);
	}
	for (int64_t a = wh; e == 0 && a < hend;) {
		int64_t b = a + MS_DAY < hend ? a + MS_DAY : hend;
		e = roll(s, false, a, b);
		a = b;
	}
	return e;
}

/* ---- retention by partitions ---------------------------------------------------- */

/* Drop the partitions of `table` named prefix<N> covering [N*width,
 * (N+1)*width) that end at or before cut; meta cut_key = the highest end. */
static int drop_parts(struct pg_store *s, const char *table, const char *prefix, int64_t width,
                      int64_t cut, const char *cut_key, const char *count_name)
{
	char sql[600];
	snprintf(sql, sizeof(sql),
	         "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
	         " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = '%s' AND"
	         " p.relnamespace = current_schema()::regnamespace",
	         table);
	PGresult *r = PQexec(s->c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		int e = pg_fail(s, r, "listing partitions");
		PQclear(r);
		return e;
	}
	int e = 0;
	size_t pl = strlen(prefix);
	for (int i = 0; e == 0 && i < PQntuples(r); i++) {
		const char *nm = PQgetvalue(r, i, 0);
		if (strncmp(nm, prefix, pl) != 0)
			continue;
		int64_t idx = strtoll(nm + pl, NULL, 10);
		int64_t pend = (idx + 1) * width;
		if (pend > cut)
			continue;
		e = wtx_begin(s);
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", nm);
		int64_t n = e == 0 ? one_int(s, sql, &e) : 0;
		snprintf(sql, sizeof(sql), "DROP TABLE %s", nm);
		if (e == 0)
			e = pg_exec(s, sql, "dropping a partition");
		if (e == 0)
			e = pg_count_add(s, count_name, -n);
		if (e == 0 && pend > pg_meta_get(s, cut_key, 0))
			e = pg_meta_set(s, cut_key, pend);
		e = wtx_end(s, e);
		if (e == 0 && width == MS_HOUR)
			u64map_free(&s->parts), u64map_init(&s->parts, 0);
	}
	PQclear(r);
	return e;
}

/* ---- frames and garbage ------------------------------------------------------- */

static int thin(struct pg_store *s, const char *key, int64_t cut, int64_t bucket, int64_t *gone)
{
	int64_t prev = pg_meta_get(s, key, 0);
	if (cut <= prev)
		return 0;
	char p[24], c[24], bk[24];
	snprintf(p, sizeof(p), "%" PRId64, prev);
	snprintf(c, sizeof(c), "%" PRId64, cut);
	snprintf(bk, sizeof(bk), "%" PRId64, bucket);
	const char *pp[] = {p, c, bk};
	int e = wtx_begin(s);
	PGresult *r = NULL;
	if (e == 0)
		r = pg_q(s,
		         bucket
		             ? "DELETE FROM frames f USING (SELECT id, row_number() OVER"
		               " (PARTITION BY system, feats, div(t, $3::bigint) ORDER BY t DESC,"
		               " id DESC) AS rn FROM frames WHERE t >= $1 AND t < $2) x"
		               " WHERE f.id = x.id AND x.rn > 1"
		             : "DELETE FROM frames f WHERE t >= $1 AND t < $2 AND $3::bigint = 0"
		               " AND id <> (SELECT g.id FROM frames g WHERE g.system = f.system"
		               " ORDER BY g.t DESC, g.id DESC LIMIT 1)",
		         3, pp, "thinning frames", &e);
	int64_t n = r ? strtoll(PQcmdTuples(r), NULL, 10) : 0;
	PQclear(r);
	if (e == 0)
		e = pg_count_add(s, "frames", -n);
	if (e == 0)
		e = pg_meta_set(s, key, cut);
	e = wtx_end(s, e);
	if (e == 0)
		*gone += n;
	return e;
}

static int gc(struct pg_store *s)
{
	char sql[200];
	int e = wtx_begin(s);
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%lld)", (long long)PG_LOCK_GC);
	if (e == 0)
		e = pg_exec(s, sql, "collecting garbage");
	int64_t sets = 0, recs = 0;
	if (e == 0)
		sets = one_int(s,
		               "WITH d AS (DELETE FROM sets WHERE id NOT IN (SELECT unnest(parts)"
		               " FROM frames) RETURNING 1) SELECT count(*) FROM d",
		               &e);
	if (e == 0)
		recs = one_int(s,
		               "WITH d AS (DELETE FROM records WHERE id NOT IN (SELECT unnest(ids)"
		               " FROM sets UNION ALL SELECT head FROM frames) RETURNING 1)"
		               " SELECT count(*) FROM d",
		               &e);
	if (e == 0)
		e = pg_count_add(s, "sets", -sets);
	if (e == 0)
		e = pg_count_add(s, "records", -recs);
	if (e == 0)
		e = pg_exec(s, "UPDATE meta SET value = value + 1 WHERE key = 'gc_epoch'",
		            "collecting garbage");
	e = wtx_end(s, e);
	if (e == 0)
		pg_caches_clear(s);
	return e;
}

int pg_maintain(struct store *b, int64_t now)
{
	struct pg_store *s = pgs(b);
	if (s->ro)
		return pg_failf(s, -EROFS, "the store is open read-only");
	int e = roll_all(s, now);
	/* raw points: whole hours older than 24 h, never above the minutes' watermark */
	int64_t wm = pg_meta_get(s, "rollup_1m", -1);
	if (e == 0 && wm >= 0) {
		int64_t cut = now - RETAIN_RAW < wm ? now - RETAIN_RAW : wm;
		e = drop_parts(s, "points", "points_r", MS_HOUR, cut, "raw_cut", "points_raw");
	}
	int64_t wh = pg_meta_get(s, "rollup_1h", -1);
	if (e == 0 && wh >= 0) {
		int64_t cut = now - RETAIN_1M < wh ? now - RETAIN_1M : wh;
		e = drop_parts(s, "points_1m", "points_1m_d", MS_DAY, cut, "m1_cut", "points_1m");
	}
	if (e == 0)
		e = drop_parts(s, "points_1h", "points_1h_b", 30 * MS_DAY, now - RETAIN_1H,
		               "h1_cut", "points_1h");
	int64_t gone = 0;
	if (e == 0)
		e = thin(s, "frames_hourly", now - RETAIN_FRAMES_ALL, MS_HOUR, &gone);
	if (e == 0)
		e = thin(s, "frames_daily", now - RETAIN_FRAMES_HOURLY, MS_DAY, &gone);
	if (e == 0)
		e = thin(s, "frames_dropped", now - RETAIN_FRAMES_DAILY, 0, &gone);
	if (e == 0 && gone)
		e = gc(s);
	if (e == 0) {
		char sql[160];
		snprintf(sql, sizeof(sql), "DELETE FROM events WHERE t < %lld",
		         (long long)(now - RETAIN_EVENTS));
		e = pg_exec(s, sql, "expiring events");
	}
	if (e == 0)
		e = pg_expire_logs(s, now);
	if (e == 0)
		e = pg_expire_flows(s, now);
	if (e == 0)
		e = pg_search_fill(s);
	if (e == 0 && one_int(s, "SELECT count(*) FROM counts", &e) > 256)
		e = pg_exec(s,
		            "BEGIN; WITH d AS (DELETE FROM counts RETURNING name, n) INSERT INTO"
		            " counts SELECT name, sum(n) FROM d GROUP BY name; COMMIT",
		            "folding counts");
	return e;
}
