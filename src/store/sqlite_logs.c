/*
 * sqlite_logs.c - the SQLite backend's log store: lines collected from
 * outside the systems, their full-text index, the collector's cursors,
 * and their retention (store.h "logs"; docs/logs.md).
 *
 * The tables are made by the first write of logs, in its transaction (a
 * store that never had a log line has none, and its schema version is
 * unchanged, as sqlite_offsets.c does for consumer offsets):
 *   log_sources(id, system, source, pos, retain)
 *            one row per (system, source) ever written: the small id the
 *            lines point at, the collector's cursor (pos; NULL: none) and
 *            a retention of its own in ms (NULL: the default, 7 days;
 *            written by maintain from store_log_retention's rules)
 *   log_lines(id, src, t, level, line)
 *            id AUTOINCREMENT: ascending with insertion and never reused,
 *            even once retention deleted every line (a live tail waits for
 *            ids above the last it saw); indexes (t) for time ranges and
 *            (src, t) for one system's lines and per-source retention
 *   log_fts  an FTS5 index over log_lines.line (external content: the
 *            text is kept once, in log_lines; rowid = the line's id)
 *
 * store_put_logs() writes lines and cursors in one transaction with
 * statements prepared once per call (a batch of lines amortizes them).
 * store_logs() loads the small sources table, resolves the query's system
 * and source filters to source ids, and reads lines by the time index, or,
 * with `match`, from the FTS5 index first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/buf.h"
#include "../util/xalloc.h"
#include "logs_common.h"
#include "series_common.h"
#include "sqlite_internal.h"

static const char logs_schema[] =
    "CREATE TABLE IF NOT EXISTS log_sources(id INTEGER PRIMARY KEY, system TEXT NOT NULL,"
    " source TEXT NOT NULL, pos TEXT, retain INTEGER, UNIQUE(system, source));"
    "CREATE TABLE IF NOT EXISTS log_lines(id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " src INTEGER NOT NULL, t INTEGER NOT NULL, level INTEGER NOT NULL, line TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS log_lines_t ON log_lines(t);"
    "CREATE INDEX IF NOT EXISTS log_lines_src_t ON log_lines(src, t);"
    "CREATE VIRTUAL TABLE IF NOT EXISTS log_fts USING fts5(line, content='log_lines',"
    " content_rowid='id');";

/* Do the log tables exist?  1 yes, 0 no, negative errno. */
static int have_logs(struct sqlite_store *s)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db,
	                            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
	                            " name = 'log_fts'",
	                            -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "reading logs");
	rc = sqlite3_step(st);
	int have = rc == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? have : sq_fail(s, rc, "reading logs");
}

/* ---- writing --------------------------------------------------------------- */

enum { P_SRC_FIND, P_SRC_INS, P_LINE, P_FTS, P_CURSOR, P__N };
static const char *const put_sql[P__N] = {
    [P_SRC_FIND] = "SELECT id FROM log_sources WHERE system = ?1 AND source = ?2",
    [P_SRC_INS] = "INSERT INTO log_sources(system, source) VALUES(?1, ?2)",
    [P_LINE] = "INSERT INTO log_lines(src, t, level, line) VALUES(?1, ?2, ?3, ?4)",
    [P_FTS] = "INSERT INTO log_fts(rowid, line) VALUES(?1, ?2)",
    /* NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one statement, two lines */
    [P_CURSOR] = "INSERT INTO log_sources(system, source, pos) VALUES(?1, ?2, ?3)"
                 " ON CONFLICT(system, source) DO UPDATE SET pos = excluded.pos",
};

/* The id of (system, source), created if missing.  > 0 or negative errno. */
static int64_t src_id(struct sqlite_store *s, sqlite3_stmt **p, const char *system,
                      const char *source)
{
	sqlite3_stmt *st = p[P_SRC_FIND];
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, system, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return sqlite3_column_int64(st, 0);
	if (rc != SQLITE_DONE)
		return sq_fail(s, rc, "storing log lines");
	st = p[P_SRC_INS];
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, system, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return sq_fail(s, rc, "storing log lines");
	return sqlite3_last_insert_rowid(s->db);
}

static int put_lines(struct sqlite_store *s, sqlite3_stmt **p, const struct store_log *l, size_t n)
{
	const char *lsys = NULL, *lsrc = NULL;
	int64_t sid = 0;
	for (size_t i = 0; i < n; i++) {
		if (!l[i].system_id || !*l[i].system_id || !l[i].source || !*l[i].source)
			return sq_failf(s, -EINVAL, "log line %zu: no system or no source", i);
		if (!l[i].line && l[i].len)
			return sq_failf(s, -EINVAL, "log line %zu: no text", i);
		if (l[i].len > 0x7fffffff)
			return sq_failf(s, -E2BIG, "log line %zu: %zu bytes", i, l[i].len);
		/* lines of one source come in runs: look it up once per run */
		if (!lsys || strcmp(lsys, l[i].system_id) != 0 || strcmp(lsrc, l[i].source) != 0) {
			sid = src_id(s, p, l[i].system_id, l[i].source);
			if (sid < 0)
				return (int)sid;
			lsys = l[i].system_id;
			lsrc = l[i].source;
		}
		int level = l[i].level < -1 || l[i].level > 7 ? -1 : l[i].level;
		const char *text = l[i].line ? l[i].line : "";
		sqlite3_stmt *st = p[P_LINE];
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, sid);
		sqlite3_bind_int64(st, 2, l[i].time_ms);
		sqlite3_bind_int(st, 3, level);
		sqlite3_bind_text(st, 4, text, (int)l[i].len, SQLITE_STATIC);
		int rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			return sq_fail(s, rc, "storing log lines");
		st = p[P_FTS];
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, sqlite3_last_insert_rowid(s->db));
		sqlite3_bind_text(st, 2, text, (int)l[i].len, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			return sq_fail(s, rc, "indexing log lines");
	}
	return 0;
}

static int put_cursors(struct sqlite_store *s, sqlite3_stmt **p, const struct store_log_cursor *c,
                       size_t nc)
{
	for (size_t i = 0; i < nc; i++) {
		if (!c[i].system_id || !*c[i].system_id || !c[i].source || !*c[i].source)
			return sq_failf(s, -EINVAL, "log cursor %zu: no system or no source", i);
		sqlite3_stmt *st = p[P_CURSOR];
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, c[i].system_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, c[i].source, -1, SQLITE_STATIC);
		if (c[i].pos)
			sqlite3_bind_text(st, 3, c[i].pos, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 3);
		int rc = sqlite3_step(st);
		if (rc != SQLITE_DONE)
			return sq_fail(s, rc, "storing log cursors");
	}
	return 0;
}

int sqlite_put_logs(struct store *base, const struct store_log *l, size_t n,
                    const struct store_log_cursor *c, size_t nc)
{
	struct sqlite_store *s = sq(base);
	if (s->ro)
		return sq_failf(s, -EROFS, "the store is open read-only");
	if (!n && !nc)
		return 0;
	if ((n && !l) || (nc && !c))
		return sq_failf(s, -EINVAL, "store_put_logs: no lines or no cursors given");
	/* a write inside a read session: the session's snapshot ends here
	 * (sqlite_objects.c says why) and begins again after */
	bool session = s->read_session && !sqlite3_get_autocommit(s->db);
	if (session)
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	int r = sq_begin(s);
	sqlite3_stmt *p[P__N] = {0};
	if (r == 0)
		r = sq_exec(s, logs_schema);
	for (int i = 0; r == 0 && i < P__N; i++) {
		int rc = sqlite3_prepare_v3(s->db, put_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &p[i],
		                            NULL);
		if (rc != SQLITE_OK)
			r = sq_fail(s, rc, "storing log lines");
	}
	if (r == 0)
		r = put_lines(s, p, l, n);
	if (r == 0)
		r = put_cursors(s, p, c, nc);
	for (int i = 0; i < P__N; i++)
		sqlite3_finalize(p[i]);
	if (r == 0)
		r = sq_commit(s);
	else if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL); /* our tables only: the
		                                                    * caches stay valid */
	if (session && sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
	return r;
}

/* ---- reading --------------------------------------------------------------- */

int sqlite_log_cursors(struct store *base, int (*cb)(void *ctx, const struct store_log_cursor *c),
                       void *ctx)
{
	struct sqlite_store *s = sq(base);
	int r = sq_follow(s);
	if (r == 0)
		r = have_logs(s);
	if (r <= 0)
		return r;
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db,
	                            "SELECT system, source, pos FROM log_sources WHERE pos IS NOT"
	                            " NULL ORDER BY system, source",
	                            -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "reading log cursors");
	r = 0;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_log_cursor cur = {.system_id =
		                                   (const char *)sqlite3_column_text(st, 0),
		                               .source = (const char *)sqlite3_column_text(st, 1),
		                               .pos = (const char *)sqlite3_column_text(st, 2)};
		r = cb(ctx, &cur);
	}
	sqlite3_finalize(st);
	if (r)
		return r;
	return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "reading log cursors");
}

static int load_srcs(struct sqlite_store *s, struct log_srcs *t)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, "SELECT id, system, source FROM log_sources ORDER BY id",
	                            -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "reading log sources");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		log_srcs_add(t, sqlite3_column_int64(st, 0),
		             (const char *)sqlite3_column_text(st, 1),
		             (const char *)sqlite3_column_text(st, 2));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "reading log sources");
}

/* The SQL of a query: the lines of the wanted sources (ids inline: they
 * are ours), bound parameters ?1 from, ?2 to, ?3 after_id, ?4 max level,
 * ?5 limit, ?6 match. */
static void query_sql(const struct store_log_query *q, const struct log_srcs *t, bool filtered,
                      struct buf *b)
{
	buf_adds(b, "SELECT l.id, l.src, l.t, l.level, l.line FROM ");
	if (q->match && *q->match)
		/* the index first: a rare word is found at once; the planner
		 * could otherwise walk the time index and probe each line */
		/* (the rowid bound: a tail's poll reads the index after the
		 * last id only, not every match of a common word) */
		buf_adds(b, "log_fts f CROSS JOIN log_lines l ON l.id = f.rowid"
		            " WHERE log_fts MATCH ?6 AND f.rowid > ?3 AND ");
	else
		buf_adds(b, "log_lines l WHERE ");
	buf_adds(b, "l.t >= ?1 AND l.t <= ?2 AND l.id > ?3");
	if (q->max_level < 7)
		buf_adds(b, " AND l.level <= ?4");
	if (q->exclude_unknown)
		buf_adds(b, " AND l.level >= 0");
	if (filtered) {
		buf_adds(b, " AND l.src IN (");
		bool first = true;
		for (size_t i = 0; i < t->n; i++) {
			if (!t->v[i].want)
				continue;
			buf_printf(b, "%s%lld", first ? "" : ",", (long long)t->v[i].id);
			first = false;
		}
		buf_adds(b, ")");
	}
	if (q->by_id)
		buf_adds(b, q->reverse ? " ORDER BY l.id DESC" : " ORDER BY l.id");
	else
		buf_adds(b, q->reverse ? " ORDER BY l.t DESC, l.id DESC" : " ORDER BY l.t, l.id");
	buf_adds(b, " LIMIT ?5");
}

int sqlite_logs(struct store *base, const struct store_log_query *q,
                int (*cb)(void *ctx, int64_t id, const struct store_log *l), void *ctx)
{
	struct sqlite_store *s = sq(base);
	int r = sq_follow(s);
	if (r == 0)
		r = have_logs(s);
	if (r <= 0)
		return r;
	struct log_srcs t = {0};
	r = load_srcs(s, &t);
	bool filtered = false;
	if (r < 0 || log_srcs_select(&t, q, &filtered) == 0) {
		log_srcs_free(&t);
		return r;
	}
	struct buf sql = BUF_INIT;
	query_sql(q, &t, filtered, &sql);
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, sql.data, -1, &st, NULL);
	buf_free(&sql);
	if (rc != SQLITE_OK) {
		log_srcs_free(&t);
		return sq_fail(s, rc, "reading logs");
	}
	sqlite3_bind_int64(st, 1, q->from_ms);
	sqlite3_bind_int64(st, 2, q->to_ms > 0 ? q->to_ms : INT64_MAX);
	sqlite3_bind_int64(st, 3, q->after_id);
	sqlite3_bind_int(st, 4, q->max_level);
	sqlite3_bind_int64(st, 5, q->limit ? (int64_t)q->limit : LOG_QUERY_LIMIT);
	if (q->match && *q->match)
		sqlite3_bind_text(st, 6, q->match, -1, SQLITE_STATIC);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const struct log_src *src = log_srcs_find(&t, sqlite3_column_int64(st, 1));
		const char *line = (const char *)sqlite3_column_text(st, 4);
		struct store_log l = {.system_id = src ? src->system : "",
		                      .source = src ? src->source : "",
		                      .time_ms = sqlite3_column_int64(st, 2),
		                      .level = sqlite3_column_int(st, 3),
		                      .line = line ? line : "",
		                      .len = (size_t)sqlite3_column_bytes(st, 4)};
		r = cb(ctx, sqlite3_column_int64(st, 0), &l);
	}
	if (r == 0 && rc != SQLITE_DONE) {
		/* a plain SQLITE_ERROR of a query with words is a malformed
		 * MATCH expression ("unterminated string", "fts5: syntax error
		 * near ..."): the caller's, -EINVAL */
		if (rc == SQLITE_ERROR && q->match && *q->match)
			r = sq_failf(s, -EINVAL, "bad search '%s': %s", q->match,
			             sqlite3_errmsg(s->db));
		else
			r = sq_fail(s, rc, "reading logs");
	}
	sqlite3_finalize(st);
	log_srcs_free(&t);
	return r;
}

/* ---- retention --------------------------------------------------------------- */

/* Delete up to LOG_EXPIRE_CHUNK lines of source `src` older than `cut`
 * (their index entries first) in one transaction: how many, or a negative
 * errno. */
static int expire_chunk(struct sqlite_store *s, int64_t src, int64_t cut)
{
	static const char *const sql[] = {
	    "INSERT INTO log_fts(log_fts, rowid, line) SELECT 'delete', id, line FROM log_lines"
	    " WHERE id IN (SELECT id FROM log_lines WHERE src = ?1 AND t < ?2 LIMIT ?3)",
	    "DELETE FROM log_lines WHERE id IN (SELECT id FROM log_lines WHERE src = ?1 AND"
	    " t < ?2 LIMIT ?3)",
	};
	int r = sq_begin(s);
	int n = 0;
	for (int i = 0; r == 0 && i < 2; i++) {
		sqlite3_stmt *st;
		int rc = sqlite3_prepare_v2(s->db, sql[i], -1, &st, NULL);
		if (rc != SQLITE_OK) {
			r = sq_fail(s, rc, "expiring log lines");
			break;
		}
		sqlite3_bind_int64(st, 1, src);
		sqlite3_bind_int64(st, 2, cut);
		sqlite3_bind_int64(st, 3, LOG_EXPIRE_CHUNK);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			r = sq_fail(s, rc, "expiring log lines");
		else
			n = sqlite3_changes(s->db);
	}
	if (r == 0)
		r = sq_commit(s);
	else if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return r < 0 ? r : n;
}

int sqlite_log_retention(struct store *base, int64_t default_ms, const struct store_log_retain *r,
                         size_t n)
{
	log_retention_set(&sq(base)->logret, default_ms, r, n);
	return 0;
}

/* Write each source's retention by the handle's rules (only the rows that
 * change): a handle that was given none leaves the column as it is. */
static int sync_retain(struct sqlite_store *s)
{
	if (!s->logret.set)
		return 0;
	sqlite3_stmt *st;
	int rc =
	    sqlite3_prepare_v2(s->db, "SELECT id, source, retain FROM log_sources", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "setting the retention of log sources");
	int64_t *ids = NULL, *ms = NULL;
	size_t n = 0, cap = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t want =
		    log_retention_of(&s->logret, (const char *)sqlite3_column_text(st, 1));
		if (sqlite3_column_type(st, 2) != SQLITE_NULL &&
		    sqlite3_column_int64(st, 2) == want)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			ids = xreallocarray(ids, cap, sizeof(*ids));
			ms = xreallocarray(ms, cap, sizeof(*ms));
		}
		ids[n] = sqlite3_column_int64(st, 0);
		ms[n++] = want;
	}
	sqlite3_finalize(st);
	int r = rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "setting the retention of log sources");
	if (r == 0 && n)
		r = sq_begin(s);
	for (size_t i = 0; r == 0 && i < n; i++) {
		rc = sqlite3_prepare_v2(s->db, "UPDATE log_sources SET retain = ?2 WHERE id = ?1",
		                        -1, &st, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, ids[i]);
			sqlite3_bind_int64(st, 2, ms[i]);
			rc = sqlite3_step(st);
			sqlite3_finalize(st);
		}
		if (rc != SQLITE_OK && rc != SQLITE_DONE)
			r = sq_fail(s, rc, "setting the retention of log sources");
	}
	if (r == 0 && n)
		r = sq_commit(s);
	else if (r < 0 && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	free(ids);
	free(ms);
	return r;
}

int sqlite_expire_logs(struct sqlite_store *s, int64_t now_ms)
{
	int r = have_logs(s);
	if (r <= 0)
		return r;
	r = sync_retain(s);
	if (r < 0)
		return r;
	/* the sources with lines to delete: a look at each source's oldest
	 * line (index (src, t)), no write transaction when there is none */
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db,
	                            "SELECT id, ?1 - coalesce(retain, ?2) FROM log_sources s"
	                            " WHERE (SELECT min(t) FROM log_lines WHERE src = s.id) <"
	                            " ?1 - coalesce(retain, ?2)",
	                            -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "expiring log lines");
	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_int64(st, 2, log_retention_default(&s->logret));
	int64_t *ids = NULL, *cuts = NULL;
	size_t n = 0, cap = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			ids = xreallocarray(ids, cap, sizeof(*ids));
			cuts = xreallocarray(cuts, cap, sizeof(*cuts));
		}
		ids[n] = sqlite3_column_int64(st, 0);
		cuts[n++] = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	r = rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "expiring log lines");
	for (size_t i = 0; r == 0 && i < n; i++) {
		int k;
		while ((k = expire_chunk(s, ids[i], cuts[i])) == LOG_EXPIRE_CHUNK)
			;
		r = k < 0 ? k : 0;
	}
	free(ids);
	free(cuts);
	return r;
}
