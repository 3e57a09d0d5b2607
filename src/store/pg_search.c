/*
 * pg_search.c - the PostgreSQL backend's search text index:
 * store_state_records_matching() and its fill, run by store_maintain().
 *
 *   the index  a side table search_text(id, feature, t) keyed by the
 *              record's id (records.id, one per record hash; deleted with
 *              the record), t the record's feature name, key and value as
 *              stored, one a line, with a pg_trgm GIN index on t.  A
 *              record whose key or value holds a JSON escape gets a line
 *              more: the escapes decoded (what is not printable ASCII
 *              made a space: the words asked for are printable ASCII), so
 *              a word of a decoded string is found as the search finds it.
 *   the fill   off the ingest path (a GIN index kept at write time made
 *              ingest 10-20x slower, docs/scale.md): pg_maintain adds the
 *              records above meta 'search_wm' (50,000 a transaction),
 *              up to a horizon read under the GC advisory lock held
 *              exclusively (no writer in flight: every id below it is
 *              committed or never will be), FILL_BUDGET_NS at most a call.
 *              No pg_trgm (the extension cannot be created): no index;
 *              searches still narrow, by scanning.
 *   the read   in one REPEATABLE READ snapshot: the ids of search_text
 *              rows matching the filter (t ILIKE '%word%', the GIN index),
 *              and of records above the watermark (not indexed yet)
 *              matching it by the same expression, or holding an escape;
 *              then pg_state_records_in() passes the state's records
 *              among those ids only.  A superset of the matches: ILIKE
 *              folds case at least as the search does, the raw JSON text
 *              holds every unescaped leaf and number as written.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/util.h"
#include "../util/xalloc.h"
#include "pg_internal.h"

#define FILL_BUDGET_NS (30LL * 1000000000LL)
#define BULK 100000

/* ---- the read ------------------------------------------------------------------------- */

/* '%word%' for ILIKE: \ % _ escaped */
static char *pattern(const char *w)
{
	struct buf b = BUF_INIT;
	buf_addc(&b, '%');
	for (const char *p = w; *p; p++) {
		if (*p == '\\' || *p == '%' || *p == '_')
			buf_addc(&b, '\\');
		buf_addc(&b, *p);
	}
	buf_addc(&b, '%');
	char *s = xstrdup(buf_str(&b));
	buf_free(&b);
	return s;
}

/* The filter over columns fcol (feature id) and tcol (text): an OR of the
 * selectors (those of a feature the store has: fid[i] != 0), each an AND;
 * words are parameters $2.. in order. */
static void filter_sql(struct buf *q, const struct store_text_sel *sel, size_t nsel,
                       const int64_t *fid, const char *fcol, const char *tcol)
{
	int k = 2, any = 0;
	buf_addc(q, '(');
	for (size_t i = 0; i < nsel; i++) {
		if (fid[i] == 0)
			continue;
		buf_adds(q, any++ ? " OR (true" : "(true");
		if (fid[i] > 0)
			buf_printf(q, " AND %s = %" PRId64, fcol, fid[i]);
		for (size_t g = 0; g < sel[i].n; g++) {
			buf_adds(q, " AND (false");
			for (size_t w = 0; w < sel[i].all[g].n; w++)
				buf_printf(q, " OR %s ILIKE $%d", tcol, k++);
			buf_addc(q, ')');
		}
		buf_addc(q, ')');
	}
	if (!any)
		buf_adds(q, "false");
	buf_addc(q, ')');
}

/* The candidate ids into *ids. */
static int candidates(struct pg_store *s, const struct store_text_sel *sel, size_t nsel,
                      struct u64set *ids)
{
	int e = 0;
	int64_t wm = pg_meta_get(s, "search_wm", -1);
	int64_t *fid = xcalloc(nsel + 1, sizeof(*fid));
	size_t nw = 0;
	for (size_t i = 0; i < nsel; i++) {
		fid[i] = sel[i].feature
		             ? pg_feature_id(s, sel[i].feature, strlen(sel[i].feature), false)
		             : -1;
		if (fid[i] < -1) {
			int err = (int)fid[i];
			free(fid);
			return err;
		}
		for (size_t g = 0; g < sel[i].n; g++)
			nw += sel[i].all[g].n;
	}
	const char **par = xcalloc(nw + 2, sizeof(*par));
	char wms[24];
	snprintf(wms, sizeof(wms), "%" PRId64, wm > 0 ? wm : 0);
	par[0] = wms;
	size_t k = 1;
	for (size_t i = 0; i < nsel; i++)
		for (size_t g = 0; fid[i] && g < sel[i].n; g++)
			for (size_t w = 0; w < sel[i].all[g].n; w++)
				par[k++] = pattern(sel[i].all[g].words[w]);
	struct buf q = BUF_INIT;
	if (wm >= 0) {
		buf_adds(&q, "SELECT id FROM search_text WHERE ");
		filter_sql(&q, sel, nsel, fid, "feature", "t");
		buf_adds(&q, " UNION ALL ");
	}
	buf_adds(&q, "SELECT r.id FROM records r JOIN features f ON f.id = r.feature WHERE r.id >"
	             " $1::bigint AND (strpos(r.key, chr(92)) > 0 OR strpos(r.value, chr(92)) > 0"
	             " OR ");
	filter_sql(&q, sel, nsel, fid, "r.feature",
	           "(f.name || E'\\n' || r.key || E'\\n' || r.value)");
	buf_addc(&q, ')');
	PGresult *r = PQexecParams(s->c, buf_str(&q), (int)k, NULL, par, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		e = pg_fail(s, r, "reading the search text index");
	for (int i = 0; e == 0 && i < PQntuples(r); i++)
		if (u64set_add(ids, strtoull(PQgetvalue(r, i, 0), NULL, 10)) < 0)
			e = pg_failf(s, -ENOMEM, "search candidates: out of memory");
	PQclear(r);
	buf_free(&q);
	for (size_t i = 1; i < k; i++)
		free((char *)par[i]);
	free(par);
	free(fid);
	return e;
}

int pg_state_records_matching(
    struct store *b, int64_t at_ms, const struct store_text_sel *sel, size_t nsel,
    int (*system)(void *ctx, uint32_t idx, const struct store_state_system *y),
    int (*record)(void *ctx, const struct store_state_record *r), void *ctx)
{
	struct pg_store *s = pgs(b);
	bool mine = !s->read_session && PQtransactionStatus(s->c) == PQTRANS_IDLE &&
	            pg_exec(s, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", "a read") == 0;
	struct u64set ids;
	u64set_init(&ids);
	int e = nsel ? candidates(s, sel, nsel, &ids) : 0;
	if (e == 0)
		e = pg_state_records_in(s, at_ms, &ids, system, record, ctx);
	u64set_free(&ids);
	if (mine)
		PQclear(PQexec(s->c, "COMMIT"));
	return e;
}

/* ---- the fill ------------------------------------------------------------------------- */

/* The side table and its index; 1 made (or there), 0 when pg_trgm cannot
 * be had (no index), or the error. */
static int setup(struct pg_store *s)
{
	char sql[600];
	snprintf(sql, sizeof(sql), "BEGIN; SELECT pg_advisory_xact_lock(%lld)",
	         (long long)PG_LOCK_DDL);
	int e = pg_exec(s, sql, "making the search text index");
	if (e == 0 && pg_meta_get(s, "search_wm", -1) >= 0)
		return pg_exec(s, "COMMIT", "making the search text index") == 0 ? 1 : -EIO;
	/* the extension in public (one for every store of the database), else
	 * wherever the server puts it */
	PGresult *r = NULL;
	if (e == 0) {
		PQclear(PQexec(s->c, "SAVEPOINT x"));
		r = PQexec(s->c, "CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public");
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			PQclear(PQexec(s->c, "ROLLBACK TO x"));
			PQclear(r);
			r = PQexec(s->c, "CREATE EXTENSION IF NOT EXISTS pg_trgm");
		}
		bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
		r = NULL;
		if (!ok) {
			PQclear(PQexec(s->c, "ROLLBACK"));
			return 0;
		}
		r = PQexec(s->c, "SELECT quote_ident(n.nspname) FROM pg_extension x JOIN"
		                 " pg_namespace n ON n.oid = x.extnamespace WHERE x.extname ="
		                 " 'pg_trgm'");
		if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
			e = pg_fail(s, r, "finding pg_trgm");
	}
	if (e == 0) {
		snprintf(sql, sizeof(sql),
		         "CREATE TABLE IF NOT EXISTS search_text(id bigint PRIMARY KEY REFERENCES"
		         " records(id) ON DELETE CASCADE, feature int NOT NULL, t text NOT NULL);"
		         " CREATE INDEX IF NOT EXISTS search_text_trgm ON search_text USING gin"
		         " (t %.64s.gin_trgm_ops)",
		         PQgetvalue(r, 0, 0));
		e = pg_exec(s, sql, "making the search text index");
	}
	PQclear(r);
	if (e == 0)
		e = pg_meta_set(s, "search_wm", 0);
	if (e == 0)
		e = pg_exec(s, "COMMIT", "making the search text index");
	if (e < 0)
		PQclear(PQexec(s->c, "ROLLBACK"));
	return e < 0 ? e : 1;
}

/* JSON escapes decoded, anything not printable ASCII a space */
static void unescaped(struct buf *o, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c != '\\' || i + 1 >= n) {
			buf_addc(o, c >= 0x20 && c <= 0x7e ? (char)c : ' ');
			continue;
		}
		char x = p[++i], d = ' ';
		switch (x) {
		case '"':
		case '\\':
		case '/':
			d = x;
			break;
		case 'u':
			if (i + 4 < n) {
				char h[5] = {p[i + 1], p[i + 2], p[i + 3], p[i + 4], 0};
				char *end;
				long v = strtol(h, &end, 16);
				if (*end == 0 && v >= 0x20 && v <= 0x7e)
					d = (char)v;
				i += 4;
			}
			break;
		default:
			break;
		}
		buf_addc(o, d);
	}
}

/* One batch of records (id > *wm, <= top) into search_text; *wm moves to
 * the last one (top when none is left) */
static int fill_batch(struct pg_store *s, int64_t *wm, int64_t top)
{
	char a[24], z[24];
	snprintf(a, sizeof(a), "%" PRId64, *wm);
	snprintf(z, sizeof(z), "%" PRId64, top);
	const char *p[] = {a, z};
	int e;
	PGresult *r = pg_q(s,
	                   "SELECT r.id, r.feature, f.name, r.key, r.value FROM records r JOIN"
	                   " features f ON f.id = r.feature WHERE r.id > $1::bigint AND r.id <="
	                   " $2::bigint ORDER BY r.id LIMIT 5000",
	                   2, p, "reading records to index", &e);
	int n = r ? PQntuples(r) : 0;
	struct buf ids = BUF_INIT, fs = BUF_INIT, ts = BUF_INIT, t = BUF_INIT;
	const char **tv = xcalloc((size_t)n + 1, sizeof(*tv));
	size_t *tl = xcalloc((size_t)n + 1, sizeof(*tl));
	char **own = xcalloc((size_t)n + 1, sizeof(*own));
	buf_addc(&ids, '{');
	buf_addc(&fs, '{');
	for (int i = 0; i < n; i++) {
		buf_printf(&ids, "%s%s", i ? "," : "", PQgetvalue(r, i, 0));
		buf_printf(&fs, "%s%s", i ? "," : "", PQgetvalue(r, i, 1));
		buf_reset(&t);
		for (int c = 2; c < 5; c++) {
			if (c > 2)
				buf_addc(&t, '\n');
			buf_add(&t, PQgetvalue(r, i, c), (size_t)PQgetlength(r, i, c));
		}
		/* escapes: a line more, decoded */
		const char *k = PQgetvalue(r, i, 3), *v = PQgetvalue(r, i, 4);
		if (strchr(k, '\\') || strchr(v, '\\')) {
			buf_addc(&t, '\n');
			unescaped(&t, k, (size_t)PQgetlength(r, i, 3));
			buf_addc(&t, '\n');
			unescaped(&t, v, (size_t)PQgetlength(r, i, 4));
		}
		own[i] = xstrdup(buf_str(&t));
		tv[i] = own[i];
		tl[i] = t.len;
	}
	buf_addc(&ids, '}');
	buf_addc(&fs, '}');
	pg_text_array(&ts, tv, tl, (size_t)n);
	const char *q[] = {buf_str(&ids), buf_str(&fs), buf_str(&ts)};
	if (n && e == 0)
		PQclear(pg_q(s,
		             "INSERT INTO search_text SELECT * FROM unnest($1::bigint[], $2::int[],"
		             " $3::text[]) ON CONFLICT (id) DO NOTHING",
		             3, q, "indexing records", &e));
	if (e == 0)
		*wm = n ? strtoll(PQgetvalue(r, n - 1, 0), NULL, 10) : top;
	for (int i = 0; i < n; i++)
		free(own[i]);
	free(own);
	free(tv);
	free(tl);
	buf_free(&ids);
	buf_free(&fs);
	buf_free(&ts);
	buf_free(&t);
	PQclear(r);
	return e;
}

/* The trigram index on search_text: made (1) or dropped (0) */
static int trgm_index(struct pg_store *s, bool make)
{
	if (!make)
		return pg_exec(s, "DROP INDEX IF EXISTS search_text_trgm",
		               "dropping the text index");
	PGresult *r = PQexec(s->c, "SELECT quote_ident(n.nspname) FROM pg_extension x JOIN"
	                           " pg_namespace n ON n.oid = x.extnamespace WHERE x.extname ="
	                           " 'pg_trgm'");
	int e = 0;
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		e = pg_fail(s, r, "finding pg_trgm");
	} else {
		char sql[300];
		snprintf(sql, sizeof(sql),
		         "CREATE INDEX IF NOT EXISTS search_text_trgm ON search_text USING gin"
		         " (t %.64s.gin_trgm_ops)",
		         PQgetvalue(r, 0, 0));
		e = pg_exec(s, sql, "making the text index");
	}
	PQclear(r);
	return e;
}

int pg_search_fill(struct pg_store *s)
{
	int64_t wm = pg_meta_get(s, "search_wm", -1);
	if (wm < 0) {
		int e = setup(s);
		if (e <= 0)
			return e;
		wm = pg_meta_get(s, "search_wm", 0);
	}
	/* the horizon: no writer in flight */
	char sql[160];
	snprintf(sql, sizeof(sql), "BEGIN; SELECT pg_advisory_xact_lock(%lld)",
	         (long long)PG_LOCK_GC);
	int e = pg_exec(s, sql, "indexing records");
	PGresult *r = e == 0 ? pg_q(s, "SELECT coalesce(max(id), 0) FROM records", 0, NULL,
	                            "indexing records", &e)
	                     : NULL;
	int64_t top = r ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	PQclear(r);
	if (e == 0)
		e = pg_exec(s, "COMMIT", "indexing records");
	if (e < 0) {
		PQclear(PQexec(s->c, "ROLLBACK"));
		return e;
	}
	int64_t t0 = mono_ns();
	/* a large backlog (the first fill of a store): without the index, made
	 * again once every record is in (sorted at once, ~3x faster than
	 * entry by entry); searches meanwhile scan search_text, answers the
	 * same */
	if (e == 0 && top - wm > BULK)
		e = trgm_index(s, false);
	snprintf(sql, sizeof(sql), "BEGIN; SELECT pg_advisory_xact_lock_shared(%lld)",
	         (long long)PG_LOCK_GC);
	while (e == 0 && wm < top && mono_ns() - t0 < FILL_BUDGET_NS) {
		int64_t last = wm;
		e = pg_exec(s, sql, "indexing records");
		for (int k = 0; e == 0 && k < 10 && last < top; k++)
			e = fill_batch(s, &last, top);
		if (e == 0)
			e = pg_meta_set(s, "search_wm", last);
		if (e == 0)
			e = pg_exec(s, "COMMIT", "indexing records");
		if (e < 0)
			PQclear(PQexec(s->c, "ROLLBACK"));
		else
			wm = last;
	}
	if (e == 0 && wm >= top)
		e = trgm_index(s, true);
	return e;
}
