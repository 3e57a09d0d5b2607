/*
 * pg_logs.c - the PostgreSQL backend's log store (store.h "logs";
 * docs/logs.md): lines, their full-text index, the collector's cursors
 * and retention, as sqlite_logs.c does for SQLite.
 *
 * The tables are made by the first write of logs, under the DDL advisory
 * lock (a schema that never had a log line has none; its schema version
 * is unchanged):
 *   log_sources(id, system, source, pos, retain)
 *            one row per (system, source): the id lines point at, the
 *            collector's cursor (NULL: none), an own retention (ms)
 *   log_lines(id bigserial, src, t, level, line, tsv)
 *            ids ascending with insertion and never reused; tsv the
 *            line's words (to_tsvector('simple', line): no stemming, no
 *            stop words, lower case, as FTS5's default tokenizer), a
 *            stored generated column with a GIN index; indexes (t) and
 *            (src, t)
 *
 * A query's `match` is read by websearch_to_tsquery('simple', ...): the
 * words must all occur, "quoted words" are a phrase, `or` and a leading
 * `-` work as on a search site; it never fails on syntax.  PostgreSQL's
 * parser keeps some tokens whole where FTS5 splits them (a path
 * /var/log/syslog, a host name db.example.com, a version 2.5 are one
 * word each).
 *
 * store_put_logs() stores a batch as one INSERT of arrays (unnest), the
 * lines and the cursors in one transaction.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/xalloc.h"
#include "logs_common.h"
#include "pg_internal.h"

static const char logs_schema[] =
    "CREATE TABLE IF NOT EXISTS log_sources(id bigserial PRIMARY KEY, system text NOT NULL,"
    " source text NOT NULL, pos text, retain bigint, UNIQUE(system, source));"
    "CREATE TABLE IF NOT EXISTS log_lines(id bigserial PRIMARY KEY, src bigint NOT NULL,"
    " t bigint NOT NULL, level smallint NOT NULL, line text NOT NULL,"
    " tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', line)) STORED);"
    "CREATE INDEX IF NOT EXISTS log_lines_t ON log_lines(t);"
    "CREATE INDEX IF NOT EXISTS log_lines_src_t ON log_lines(src, t);"
    "CREATE INDEX IF NOT EXISTS log_lines_tsv ON log_lines USING gin(tsv);";

/* Do the log tables exist?  1, 0, or a negative errno. */
static int have_logs(struct pg_store *s)
{
	int e;
	PGresult *r =
	    pg_q(s, "SELECT to_regclass('log_lines') IS NOT NULL", 0, NULL, "looking for logs", &e);
	if (!r)
		return e;
	int have = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return have;
}

/* A write inside a read session: the session's snapshot ends before it
 * and a new one begins after (pg_objects.c does the same). */
static bool pause_session(struct pg_store *s)
{
	if (s->read_session && PQtransactionStatus(s->c) == PQTRANS_INTRANS) {
		pg_exec(s, "COMMIT", "ending a read");
		s->read_session = false;
		return true;
	}
	return false;
}

static void resume_session(struct pg_store *s, bool paused)
{
	if (paused && pg_exec(s, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", "a read") == 0)
		s->read_session = true;
}

/* ---- writing --------------------------------------------------------------- */

/* The id of (system, source), created if missing: > 0 or negative errno. */
static int64_t src_id(struct pg_store *s, const char *system, const char *source)
{
	const char *p[] = {system, source};
	int e;
	PGresult *r = pg_q(s,
	                   "WITH i AS (INSERT INTO log_sources(system, source) VALUES($1, $2)"
	                   " ON CONFLICT(system, source) DO NOTHING RETURNING id)"
	                   " SELECT id FROM i UNION ALL"
	                   " SELECT id FROM log_sources WHERE system = $1 AND source = $2",
	                   2, p, "storing log lines", &e);
	if (!r)
		return e;
	int64_t id = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	PQclear(r);
	return id > 0 ? id : pg_failf(s, -EIO, "storing the log source %s/%s", system, source);
}

/* Append a text array element, quoted for an array literal. */
static void array_text(struct buf *b, const char *p, size_t n)
{
	buf_addc(b, '"');
	for (size_t k = 0; k < n; k++) {
		if (p[k] == '"' || p[k] == '\\')
			buf_addc(b, '\\');
		buf_addc(b, p[k]);
	}
	buf_addc(b, '"');
}

static int put_lines(struct pg_store *s, const struct store_log *l, size_t n)
{
	struct buf srcs = BUF_INIT, ts = BUF_INIT, lv = BUF_INIT, lines = BUF_INIT;
	const char *lsys = NULL, *lsrc = NULL;
	int64_t sid = 0;
	int e = 0;
	buf_addc(&srcs, '{');
	buf_addc(&ts, '{');
	buf_addc(&lv, '{');
	buf_addc(&lines, '{');
	for (size_t i = 0; i < n && e == 0; i++) {
		if (!l[i].system_id || !*l[i].system_id || !l[i].source || !*l[i].source) {
			e = pg_failf(s, -EINVAL, "log line %zu: no system or no source", i);
			break;
		}
		if (!l[i].line && l[i].len) {
			e = pg_failf(s, -EINVAL, "log line %zu: no text", i);
			break;
		}
		if (memchr(l[i].line ? l[i].line : "", 0, l[i].len)) {
			e = pg_failf(s, -EINVAL, "log line %zu: a NUL byte", i);
			break;
		}
		if (!lsys || strcmp(lsys, l[i].system_id) != 0 || strcmp(lsrc, l[i].source) != 0) {
			sid = src_id(s, l[i].system_id, l[i].source);
			if (sid < 0) {
				e = (int)sid;
				break;
			}
			lsys = l[i].system_id;
			lsrc = l[i].source;
		}
		int level = l[i].level < -1 || l[i].level > 7 ? -1 : l[i].level;
		const char *sep = i ? "," : "";
		buf_printf(&srcs, "%s%" PRId64, sep, sid);
		buf_printf(&ts, "%s%" PRId64, sep, l[i].time_ms);
		buf_printf(&lv, "%s%d", sep, level);
		buf_adds(&lines, sep);
		array_text(&lines, l[i].line ? l[i].line : "", l[i].len);
	}
	buf_addc(&srcs, '}');
	buf_addc(&ts, '}');
	buf_addc(&lv, '}');
	buf_addc(&lines, '}');
	if (e == 0 && n) {
		const char *p[] = {srcs.data, ts.data, lv.data, lines.data};
		PQclear(pg_q(s,
		             "INSERT INTO log_lines(src, t, level, line) SELECT * FROM"
		             " unnest($1::bigint[], $2::bigint[], $3::smallint[], $4::text[])",
		             4, p, "storing log lines", &e));
	}
	buf_free(&srcs);
	buf_free(&ts);
	buf_free(&lv);
	buf_free(&lines);
	return e;
}

static int put_cursors(struct pg_store *s, const struct store_log_cursor *c, size_t nc)
{
	int e = 0;
	for (size_t i = 0; i < nc && e == 0; i++) {
		if (!c[i].system_id || !*c[i].system_id || !c[i].source || !*c[i].source)
			return pg_failf(s, -EINVAL, "log cursor %zu: no system or no source", i);
		const char *p[] = {c[i].system_id, c[i].source, c[i].pos};
		PQclear(pg_q(s,
		             "INSERT INTO log_sources(system, source, pos) VALUES($1, $2, $3)"
		             " ON CONFLICT(system, source) DO UPDATE SET pos = excluded.pos",
		             3, p, "storing log cursors", &e));
	}
	return e;
}

/* Make the tables (first write of logs), in the open transaction. */
static int create_tables(struct pg_store *s)
{
	int h = have_logs(s);
	if (h != 0)
		return h < 0 ? h : 0;
	char sql[80];
	snprintf(sql, sizeof(sql), "SELECT pg_advisory_xact_lock(%lld)", (long long)PG_LOCK_DDL);
	int e = pg_exec(s, sql, "creating the log tables");
	if (e == 0)
		e = pg_exec(s, logs_schema, "creating the log tables");
	return e;
}

int pg_put_logs(struct store *b, const struct store_log *l, size_t n,
                const struct store_log_cursor *c, size_t nc)
{
	struct pg_store *s = pgs(b);
	if (s->ro)
		return pg_failf(s, -EROFS, "the store is open read-only");
	if (!n && !nc)
		return 0;
	if ((n && !l) || (nc && !c))
		return pg_failf(s, -EINVAL, "store_put_logs: no lines or no cursors given");
	bool paused = pause_session(s);
	int e = pg_begin(s);
	if (e == 0)
		e = create_tables(s);
	if (e == 0)
		e = put_lines(s, l, n);
	if (e == 0)
		e = put_cursors(s, c, nc);
	if (e == 0)
		e = pg_commit(s);
	else
		pg_rollback(s);
	resume_session(s, paused);
	return e;
}

/* ---- reading --------------------------------------------------------------- */

int pg_log_cursors(struct store *b, int (*cb)(void *ctx, const struct store_log_cursor *c),
                   void *ctx)
{
	struct pg_store *s = pgs(b);
	int e = have_logs(s);
	if (e <= 0)
		return e;
	PGresult *r = pg_q(s,
	                   "SELECT system, source, pos FROM log_sources WHERE pos IS NOT NULL"
	                   " ORDER BY system COLLATE \"C\", source COLLATE \"C\"",
	                   0, NULL, "reading log cursors", &e);
	if (!r)
		return e;
	for (int i = 0; e == 0 && i < PQntuples(r); i++) {
		struct store_log_cursor cur = {.system_id = PQgetvalue(r, i, 0),
		                               .source = PQgetvalue(r, i, 1),
		                               .pos = PQgetvalue(r, i, 2)};
		e = cb(ctx, &cur);
	}
	PQclear(r);
	return e;
}

static int load_srcs(struct pg_store *s, struct log_srcs *t)
{
	int e;
	PGresult *r = pg_q(s, "SELECT id, system, source FROM log_sources ORDER BY id", 0, NULL,
	                   "reading log sources", &e);
	if (!r)
		return e;
	for (int i = 0; i < PQntuples(r); i++)
		log_srcs_add(t, strtoll(PQgetvalue(r, i, 0), NULL, 10), PQgetvalue(r, i, 1),
		             PQgetvalue(r, i, 2));
	PQclear(r);
	return 0;
}

/* The SQL of a query; parameters $1 from, $2 to, $3 after_id, $4 limit,
 * $5 max level, $6 match (only those used are numbered in). */
static int query_sql(const struct store_log_query *q, const struct log_srcs *t, bool filtered,
                     struct buf *b)
{
	buf_adds(b, "SELECT id, src, t, level, line FROM log_lines WHERE t >= $1::bigint AND"
	            " t <= $2::bigint AND id > $3::bigint");
	int np = 4;
	if (q->max_level < 7)
		buf_printf(b, " AND level <= $%d::smallint", ++np);
	if (q->exclude_unknown)
		buf_adds(b, " AND level >= 0");
	if (q->match && *q->match)
		buf_printf(b, " AND tsv @@ websearch_to_tsquery('simple', $%d::text)", ++np);
	if (filtered) {
		buf_adds(b, " AND src IN (");
		bool first = true;
		for (size_t i = 0; i < t->n; i++) {
			if (!t->v[i].want)
				continue;
			buf_printf(b, "%s%" PRId64, first ? "" : ",", t->v[i].id);
			first = false;
		}
		buf_adds(b, ")");
	}
	if (q->by_id)
		buf_adds(b, q->reverse ? " ORDER BY id DESC" : " ORDER BY id");
	else
		buf_adds(b, q->reverse ? " ORDER BY t DESC, id DESC" : " ORDER BY t, id");
	buf_adds(b, " LIMIT $4::bigint");
	return np;
}

int pg_logs(struct store *b, const struct store_log_query *q,
            int (*cb)(void *ctx, int64_t id, const struct store_log *l), void *ctx)
{
	struct pg_store *s = pgs(b);
	int e = have_logs(s);
	if (e <= 0)
		return e;
	struct log_srcs t = {0};
	e = load_srcs(s, &t);
	bool filtered = false;
	if (e < 0 || log_srcs_select(&t, q, &filtered) == 0) {
		log_srcs_free(&t);
		return e;
	}
	struct buf sql = BUF_INIT;
	int np = query_sql(q, &t, filtered, &sql);
	char from[24], to[24], after[24], lim[24], lvl[8];
	snprintf(from, sizeof(from), "%" PRId64, q->from_ms);
	snprintf(to, sizeof(to), "%" PRId64, q->to_ms > 0 ? q->to_ms : INT64_MAX);
	snprintf(after, sizeof(after), "%" PRId64, q->after_id);
	snprintf(lim, sizeof(lim), "%zu", q->limit ? q->limit : (size_t)LOG_QUERY_LIMIT);
	snprintf(lvl, sizeof(lvl), "%d", q->max_level);
	const char *p[6] = {from, to, after, lim};
	int k = 4;
	if (q->max_level < 7)
		p[k++] = lvl;
	if (q->match && *q->match)
		p[k++] = q->match;
	/* dynamic SQL: never through pg_q's cache of prepared statements,
	 * which is keyed by the text's address */
	PGresult *r = PQexecParams(s->c, sql.data, np, NULL, p, NULL, NULL, 0);
	buf_free(&sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		e = pg_fail(s, r, "reading logs");
		PQclear(r);
		log_srcs_free(&t);
		return e;
	}
	for (int i = 0; e == 0 && i < PQntuples(r); i++) {
		const struct log_src *src =
		    log_srcs_find(&t, strtoll(PQgetvalue(r, i, 1), NULL, 10));
		struct store_log l = {.system_id = src ? src->system : "",
		                      .source = src ? src->source : "",
		                      .time_ms = strtoll(PQgetvalue(r, i, 2), NULL, 10),
		                      .level = (int)strtol(PQgetvalue(r, i, 3), NULL, 10),
		                      .line = PQgetvalue(r, i, 4),
		                      .len = (size_t)PQgetlength(r, i, 4)};
		e = cb(ctx, strtoll(PQgetvalue(r, i, 0), NULL, 10), &l);
	}
	PQclear(r);
	log_srcs_free(&t);
	return e;
}

/* ---- retention --------------------------------------------------------------- */

int pg_log_retention(struct store *b, int64_t default_ms, const struct store_log_retain *r,
                     size_t n)
{
	log_retention_set(&pgs(b)->logret, default_ms, r, n);
	return 0;
}

/* Write each source's retention by the handle's rules (only the rows that
 * change): a handle that was given none leaves the column as it is. */
static int sync_retain(struct pg_store *s)
{
	if (!s->logret.set)
		return 0;
	int e;
	PGresult *r = pg_q(s, "SELECT id, source, retain FROM log_sources", 0, NULL,
	                   "setting the retention of log sources", &e);
	if (!r)
		return e;
	e = 0;
	for (int i = 0; e == 0 && i < PQntuples(r); i++) {
		int64_t want = log_retention_of(&s->logret, PQgetvalue(r, i, 1));
		if (!PQgetisnull(r, i, 2) && strtoll(PQgetvalue(r, i, 2), NULL, 10) == want)
			continue;
		char ms[24];
		snprintf(ms, sizeof(ms), "%" PRId64, want);
		const char *p[] = {PQgetvalue(r, i, 0), ms};
		PQclear(pg_q(s, "UPDATE log_sources SET retain = $2::bigint WHERE id = $1::bigint",
		             2, p, "setting the retention of log sources", &e));
	}
	PQclear(r);
	return e;
}

int pg_expire_logs(struct pg_store *s, int64_t now_ms)
{
	int e = have_logs(s);
	if (e <= 0)
		return e;
	e = sync_retain(s);
	if (e < 0)
		return e;
	char now[24], def[24];
	snprintf(now, sizeof(now), "%" PRId64, now_ms);
	snprintf(def, sizeof(def), "%" PRId64, log_retention_default(&s->logret));
	const char *p[] = {now, def};
	/* each source's old lines, by the index (src, t) */
	PQclear(pg_q(s,
	             "DELETE FROM log_lines l USING log_sources s WHERE l.src = s.id AND"
	             " l.t < $1::bigint - coalesce(s.retain, $2::bigint)",
	             2, p, "expiring log lines", &e));
	return e;
}
