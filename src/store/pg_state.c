/*
 * pg_state.c - the PostgreSQL backend's reads over many systems:
 * store_series_read() (series as numbers, through series_common.c as the
 * SQLite backend, so buckets and values are the same) and
 * store_state_records() (the state of every system, each distinct record
 * once with the systems holding it; pg_search.c reads only some records
 * through pg_state_records_in()).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../features/metric_series.h"
#include "../util/jscan.h"
#include "../util/xalloc.h"
#include "pg_internal.h"

static const char *col(PGresult *r, int i, int c)
{
	return PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c);
}

static int64_t i64(PGresult *r, int i, int c)
{
	return strtoll(PQgetvalue(r, i, c), NULL, 10);
}

static char *decoded(const char *raw)
{
	if (!raw)
		return NULL;
	struct buf b = BUF_INIT;
	js_unescape(&b, raw, strlen(raw));
	char *s = xstrdup(buf_str(&b));
	buf_free(&b);
	return s;
}

/* The systems asked for: "{...}" of escaped ids, or NULL for all. */
static char *ids_array(const char *const *ids, size_t n)
{
	if (!ids)
		return NULL;
	struct buf *e = xcalloc(n + 1, sizeof(*e));
	const char **v = xcalloc(n + 1, sizeof(*v));
	size_t *l = xcalloc(n + 1, sizeof(*l));
	for (size_t i = 0; i < n; i++) {
		js_escape_raw(&e[i], ids[i], strlen(ids[i]));
		v[i] = e[i].data ? e[i].data : "";
		l[i] = e[i].len;
	}
	struct buf a = BUF_INIT;
	pg_text_array(&a, v, l, n);
	for (size_t i = 0; i < n; i++)
		buf_free(&e[i]);
	free(e);
	free(v);
	free(l);
	char *s = xstrdup(buf_str(&a));
	buf_free(&a);
	return s;
}

int pg_series_read(struct store *b, const struct store_series_query *qq,
                   int (*cb)(void *ctx, const struct store_series_data *d), void *ctx)
{
	struct pg_store *s = pgs(b);
	if (qq->step_ms < 0)
		return pg_failf(s, -EINVAL, "a negative step (%lld ms)", (long long)qq->step_ms);
	if (qq->from_ms > qq->to_ms)
		return 0;
	struct stat_spec st = {0};
	const char *stat = qq->stat ? qq->stat : "avg";
	if (qq->step_ms > 0 && stat_parse(stat, true, &st) < 0)
		return pg_failf(s, -EINVAL,
		                "unknown statistic '%s' (avg, min, max, sum, count, p1 ... p99)",
		                stat);
	bool mine = !s->read_session && PQtransactionStatus(s->c) == PQTRANS_IDLE &&
	            pg_exec(s, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", "a read") == 0;
	struct levels lv;
	pg_levels(s, &lv);
	int64_t step = qq->step_ms, raw_from;
	int level = 0, e = 0;
	if (qq->step_ms > 0) {
		level = level_pick(&lv, qq->from_ms, qq->step_ms, &step);
		if (level > 0 && st.kind == STAT_PCT && st.slot < 0) {
			if (qq->from_ms >= lv.raw_cut) {
				level = 0;
				step = qq->step_ms;
			} else {
				e = pg_failf(s, -EINVAL,
				             "%s needs raw points, and the range starts before raw"
				             " retention (24 h; roll-ups keep p50, p90 and p99)",
				             stat);
			}
		}
		raw_from = raw_start(&lv, level, qq->from_ms, qq->to_ms);
	} else {
		raw_from = raw_start(&lv, -1, qq->from_ms, qq->to_ms);
	}
	char *ids = ids_array(qq->system_ids, qq->nsystems);
	struct buf metric = BUF_INIT;
	if (qq->metric)
		js_escape_raw(&metric, qq->metric, strlen(qq->metric));
	const char *p[] = {ids, qq->present_only ? "t" : "f", qq->metric ? buf_str(&metric) : NULL};
	PGresult *r = NULL;
	if (e == 0)
		r = pg_q(
		    s,
		    "SELECT sy.sid, sy.name, sy.kind, sy.runtime, sy.image, sy.host, sy.labels,"
		    " sy.gone, se.id, se.name, se.labels FROM systems sy JOIN series se ON"
		    " se.system = sy.id WHERE ($1::text[] IS NULL OR sy.sid = ANY($1::text[]))"
		    " AND (NOT $2::bool OR NOT sy.gone) AND ($3::text IS NULL OR se.name = $3)"
		    " ORDER BY sy.sid COLLATE \"C\", se.name COLLATE \"C\","
		    " se.labels COLLATE \"C\"",
		    3, p, "listing series", &e);
	free(ids);
	buf_free(&metric);
	size_t n = r ? (size_t)PQntuples(r) : 0;
	struct rollup_src src = pg_rollups(s);
	struct tv x = {0};
	/* in batches of 512 series: their raw points in one statement */
	for (size_t a = 0; e == 0 && a < n; a += 512) {
		size_t m = n - a < 512 ? n - a : 512;
		struct sread *rd = xcalloc(m, sizeof(*rd));
		for (size_t k = 0; k < m; k++)
			rd[k].id = i64(r, (int)(a + k), 8);
		e = pg_raw_gather(s, rd, m, raw_from, qq->to_ms + 1);
		for (size_t k = 0; e == 0 && k < m; k++) {
			int i = (int)(a + k);
			x.n = 0;
			e = series_reduce(&src, &rd[k], qq->from_ms, qq->to_ms, step, level, &lv,
			                  &st, &x);
			if (e < 0 || (qq->no_points && !x.n))
				continue;
			char *f[6];
			for (int c = 0; c < 6; c++)
				f[c] = decoded(col(r, i, c));
			char *mn = decoded(PQgetvalue(r, i, 9));
			struct store_series_data d = {
			    .system_id = f[0],
			    .name = f[1],
			    .kind = f[2],
			    .runtime = f[3],
			    .image = f[4],
			    .host = f[5],
			    .system_labels = col(r, i, 6) ? col(r, i, 6) : "{}",
			    .gone = PQgetvalue(r, i, 7)[0] == 't',
			    .metric = mn,
			    .labels = PQgetvalue(r, i, 10),
			    .t = qq->no_points ? NULL : x.t,
			    .v = qq->no_points ? NULL : x.v,
			    .n = qq->no_points ? 0 : x.n,
			    .step_ms = step,
			};
			e = cb(ctx, &d);
			for (int c = 0; c < 6; c++)
				free(f[c]);
			free(mn);
		}
		for (size_t k = 0; k < m; k++)
			pvec_free(&rd[k].pts);
		free(rd);
	}
	PQclear(r);
	tv_free(&x);
	if (mine)
		PQclear(PQexec(s->c, "COMMIT"));
	return e;
}

/* ---- the state of every system ---------------------------------------------------- */

struct srec {
	int64_t id;
	uint32_t sys;
};

static int cmp_srec(const void *a, const void *b)
{
	const struct srec *x = a, *y = b;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->sys < y->sys ? -1 : x->sys > y->sys;
}

int pg_state_records(struct store *b, int64_t at_ms,
                     int (*system)(void *ctx, uint32_t idx, const struct store_state_system *y),
                     int (*record)(void *ctx, const struct store_state_record *r), void *ctx)
{
	return pg_state_records_in(pgs(b), at_ms, NULL, system, record, ctx);
}

int pg_state_records_in(struct pg_store *s, int64_t at_ms, const struct u64set *only,
                        int (*system)(void *ctx, uint32_t idx, const struct store_state_system *y),
                        int (*record)(void *ctx, const struct store_state_record *r), void *ctx)
{
	bool mine = !s->read_session && PQtransactionStatus(s->c) == PQTRANS_IDLE &&
	            pg_exec(s, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", "a read") == 0;
	char at[24];
	snprintf(at, sizeof(at), "%" PRId64, at_ms > 0 ? at_ms : INT64_MAX);
	const char *p[] = {at, at_ms > 0 ? "t" : "f"};
	int e;
	/* each system's latest frame at or before `at`, and for each of its
	 * features the set of the latest frame holding it */
	PGresult *r = pg_q(
	    s,
	    "WITH sy AS (SELECT id, sid, name, kind, runtime, image, host, labels, feats FROM"
	    " systems WHERE CASE WHEN $2::bool THEN first_seen <= $1 AND (NOT gone OR"
	    " gone_at IS NULL OR gone_at > $1) ELSE NOT gone END)"
	    " SELECT sy.sid, sy.name, sy.kind, sy.runtime, sy.image, sy.host, sy.labels,"
	    " (SELECT max(t) FROM frames f WHERE f.system = sy.id AND f.t <= $1),"
	    " ARRAY(SELECT (SELECT f.parts[array_position(f.feats, x)] FROM frames f WHERE"
	    " f.system = sy.id AND f.t <= $1 AND x = ANY(f.feats) ORDER BY f.t DESC, f.id DESC"
	    " LIMIT 1) FROM unnest(sy.feats) AS x WHERE x NOT IN (SELECT id FROM features WHERE"
	    " name IN ('metric', 'frame')))"
	    " FROM sy WHERE EXISTS (SELECT 1 FROM frames f WHERE f.system = sy.id AND f.t <= $1)"
	    " ORDER BY sy.sid COLLATE \"C\"",
	    2, p, "reading the state of the systems", &e);
	struct srec *pairs = NULL;
	size_t np = 0, cap = 0;
	struct buf sets = BUF_INIT;
	for (int i = 0; r && e == 0 && i < PQntuples(r); i++) {
		struct store_state_system y = {
		    .id = col(r, i, 0),
		    .name = col(r, i, 1),
		    .kind = col(r, i, 2),
		    .runtime = col(r, i, 3),
		    .image = col(r, i, 4),
		    .host = col(r, i, 5),
		    .labels = col(r, i, 6) ? col(r, i, 6) : "{}",
		    .t = col(r, i, 7) ? i64(r, i, 7) : 0,
		};
		e = system(ctx, (uint32_t)i, &y);
		buf_reset(&sets);
		buf_printf(&sets, "%s", PQgetvalue(r, i, 8));
		const char *q[] = {buf_str(&sets)};
		PGresult *ids = e == 0 ? pg_q(s,
		                              "SELECT DISTINCT unnest(ids) FROM sets WHERE id ="
		                              " ANY($1::bigint[])",
		                              1, q, "reading record sets", &e)
		                       : NULL;
		for (int k = 0; ids && k < PQntuples(ids); k++) {
			if (only && !u64set_has(only, (uint64_t)i64(ids, k, 0)))
				continue;
			if (np == cap) {
				cap = cap ? cap * 2 : 1024;
				pairs = xreallocarray(pairs, cap, sizeof(*pairs));
			}
			pairs[np++] = (struct srec){i64(ids, k, 0), (uint32_t)i};
		}
		PQclear(ids);
	}
	PQclear(r);
	buf_free(&sets);
	if (np)
		qsort(pairs, np, sizeof(*pairs), cmp_srec);
	/* groups: distinct lists of systems, numbered in the order met */
	struct u64map groups;
	u64map_init(&groups, sizeof(uint32_t));
	uint32_t ngroups = 0;
	uint32_t *sys = xcalloc(np + 1, sizeof(*sys));
	for (size_t a = 0; e == 0 && a < np;) {
		size_t z = a;
		while (z < np && pairs[z].id == pairs[a].id)
			z++;
		/* the records of a chunk of ids at once */
		size_t c = a, nrec = 0;
		struct buf idl = BUF_INIT;
		buf_addc(&idl, '{');
		while (c < np && nrec < 1000) {
			size_t w = c;
			while (w < np && pairs[w].id == pairs[c].id)
				w++;
			buf_printf(&idl, "%s%" PRId64, nrec++ ? "," : "", pairs[c].id);
			c = w;
		}
		buf_addc(&idl, '}');
		const char *q[] = {buf_str(&idl)};
		PGresult *rr = pg_q(s,
		                    "SELECT id, feature, key, value FROM records WHERE id ="
		                    " ANY($1::bigint[]) ORDER BY id",
		                    1, q, "reading records", &e);
		buf_free(&idl);
		int row = 0;
		while (e == 0 && a < c) {
			z = a;
			size_t ns = 0;
			uint64_t h = 0xcbf29ce484222325ULL;
			while (z < np && pairs[z].id == pairs[a].id) {
				if (!ns || sys[ns - 1] != pairs[z].sys) {
					sys[ns++] = pairs[z].sys;
					h = (h ^ pairs[z].sys) * 0x100000001b3ULL;
				}
				z++;
			}
			h = (h ^ ns) * 0x100000001b3ULL;
			bool added;
			uint32_t *g = u64map_put(&groups, h, &added);
			if (g && added)
				*g = ngroups++;
			while (rr && row < PQntuples(rr) && i64(rr, row, 0) < pairs[a].id)
				row++;
			if (rr && row < PQntuples(rr) && i64(rr, row, 0) == pairs[a].id) {
				struct store_state_record rec = {
				    .id = pairs[a].id,
				    .feature = pg_feature_name(s, i64(rr, row, 1)),
				    .key = PQgetvalue(rr, row, 2),
				    .key_len = (size_t)PQgetlength(rr, row, 2),
				    .value = PQgetvalue(rr, row, 3),
				    .value_len = (size_t)PQgetlength(rr, row, 3),
				    .systems = sys,
				    .nsystems = ns,
				    .group = g ? *g : 0,
				};
				e = record(ctx, &rec);
			}
			a = z;
		}
		PQclear(rr);
	}
	u64map_free(&groups);
	free(sys);
	free(pairs);
	if (mine)
		PQclear(PQexec(s->c, "COMMIT"));
	return e;
}
