/*
 * sqlite_verify.c - store_verify() of the SQLite backend: SQLite's own
 * checks of the file (PRAGMA integrity_check, foreign_key_check) and the
 * store's invariants that SQLite cannot see (ids packed in blobs, kept
 * counts, the logs' full-text index), in one read transaction.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../util/u64set.h"
#include "sqlite_internal.h"

struct verify {
	struct sqlite_store *s;
	int (*cb)(void *ctx, const char *check, int64_t problems, const char *detail);
	void *ctx;
	int64_t total;
};

static int report(struct verify *v, const char *check, int64_t problems, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int report(struct verify *v, const char *check, int64_t problems, const char *fmt, ...)
{
	char d[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d, sizeof(d), fmt, ap);
	va_end(ap);
	v->total += problems;
	return v->cb(v->ctx, check, problems, d);
}

/* The first column of each row of `sql` (at most 3 kept in d, "; "
 * between); *n the rows.  SQLite's result code. */
static int rows_text(struct sqlite_store *s, const char *sql, int64_t *n, char *d, size_t cap)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	*n = 0;
	d[0] = 0;
	if (rc != SQLITE_OK)
		return rc;
	size_t used = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n < 3 && used + 4 < cap) {
			int w = snprintf(d + used, cap - used, "%s", *n ? "; " : "");
			used += (size_t)w < cap - used ? (size_t)w : 0;
			int nc = sqlite3_column_count(st);
			for (int c = 0; c < nc && used + 2 < cap; c++) {
				const char *t = (const char *)sqlite3_column_text(st, c);
				w = snprintf(d + used, cap - used, "%s%s", c ? " " : "",
				             t ? t : "NULL");
				used += (size_t)w < cap - used ? (size_t)w : cap - used - 1;
			}
		}
		(*n)++;
	}
	sqlite3_finalize(st);
	for (char *c = d; *c; c++) /* integrity_check's rows hold line breaks */
		if (*c == '\n')
			*c = ' ';
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int64_t one_int(struct sqlite_store *s, const char *sql, int *rc)
{
	sqlite3_stmt *st;
	int64_t v = 0;
	*rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (*rc != SQLITE_OK)
		return 0;
	*rc = sqlite3_step(st);
	if (*rc == SQLITE_ROW) {
		v = sqlite3_column_int64(st, 0);
		*rc = SQLITE_OK;
	} else if (*rc == SQLITE_DONE) {
		*rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return v;
}

static bool have_table(struct sqlite_store *s, const char *name)
{
	sqlite3_stmt *st;
	bool have = false;
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1,
	                       &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		have = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	return have;
}

/* Every id of a column into set (the ids that may be referred to). */
static int load_ids(struct sqlite_store *s, const char *sql, struct u64set *set)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (u64set_add(set, (uint64_t)sqlite3_column_int64(st, 0)) < 0) {
			sqlite3_finalize(st);
			return SQLITE_NOMEM;
		}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int check_pragmas(struct verify *v)
{
	struct sqlite_store *s = v->s;
	char d[400];
	int64_t n;
	int rc = rows_text(s, "PRAGMA integrity_check(100)", &n, d, sizeof(d));
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "PRAGMA integrity_check");
	bool okay = n == 1 && strcmp(d, "ok") == 0;
	int r = report(v, "sqlite integrity_check", okay ? 0 : n, "%s", okay ? "ok" : d);
	if (r)
		return r;
	rc = rows_text(s, "PRAGMA foreign_key_check", &n, d, sizeof(d));
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "PRAGMA foreign_key_check");
	return report(v, "sqlite foreign_key_check", n, "%s",
	              n ? d : "ok: frames and series refer to systems that exist");
}

static int check_identity(struct verify *v)
{
	struct sqlite_store *s = v->s;
	int rc;
	int64_t app = one_int(s, "PRAGMA application_id", &rc);
	int64_t magic = rc == SQLITE_OK
	                    ? one_int(s,
	                              "SELECT count(*) FROM meta WHERE key = 'magic' AND"
	                              " value = '" STORE_MAGIC "'",
	                              &rc)
	                    : 0;
	int64_t ver = rc == SQLITE_OK
	                  ? one_int(s, "SELECT value FROM meta WHERE key = 'schema_version'", &rc)
	                  : 0;
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "reading meta");
	int64_t bad = (app != STORE_APPID) + (magic != 1) + (ver < 1 || ver > STORE_SCHEMA_VERSION);
	return report(v, "store identity", bad,
	              "application_id 0x%llx%s, magic %s, schema version %lld%s",
	              (unsigned long long)app, app == STORE_APPID ? "" : " (not VANT)",
	              magic == 1 ? "ok" : "missing", (long long)ver,
	              ver >= 1 && ver <= STORE_SCHEMA_VERSION ? "" : " (unknown)");
}

/* Frames: the header record exists, each set of parts exists. */
static int check_frames(struct verify *v, const struct u64set *recs, const struct u64set *sets)
{
	struct sqlite_store *s = v->s;
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, "SELECT id, head, parts FROM frames", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "reading frames");
	int64_t n = 0, badhead = 0, badpart = 0, first = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n++;
		int64_t id = sqlite3_column_int64(st, 0);
		bool bad = false;
		if (!u64set_has(recs, (uint64_t)sqlite3_column_int64(st, 1))) {
			badhead++;
			bad = true;
		}
		const unsigned char *p = sqlite3_column_blob(st, 2);
		const unsigned char *end = p + sqlite3_column_bytes(st, 2);
		uint64_t set;
		while (p && p < end) {
			if (!vget(&p, end, &set) || !u64set_has(sets, set)) {
				badpart++;
				bad = true;
				break;
			}
		}
		if (bad && !first)
			first = id;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sq_fail(s, rc, "reading frames");
	int r =
	    report(v, "frame headers", badhead, "%lld frames, %lld without their header record%s",
	           (long long)n, (long long)badhead, badhead ? " (first: see frame parts)" : "");
	if (r)
		return r;
	if (badhead || badpart)
		return report(v, "frame parts", badpart,
		              "%lld frames name a missing record set or hold a bad list; first "
		              "bad frame id %lld",
		              (long long)badpart, (long long)first);
	return report(v, "frame parts", 0, "every frame's record sets exist");
}

/* Sets: each record id exists, the count matches, the feature exists. */
static int check_sets(struct verify *v, const struct u64set *recs, const struct u64set *feats)
{
	struct sqlite_store *s = v->s;
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, "SELECT id, feature, n, ids FROM sets", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "reading record sets");
	int64_t n = 0, bad = 0, first = 0, refs = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n++;
		const unsigned char *p = sqlite3_column_blob(st, 3);
		const unsigned char *end = p + sqlite3_column_bytes(st, 3);
		int64_t id = 0, count = 0;
		bool broken = !u64set_has(feats, (uint64_t)sqlite3_column_int64(st, 1));
		uint64_t x;
		while (!broken && p && p < end) {
			if (!vget(&p, end, &x)) {
				broken = true;
				break;
			}
			id += unzz(x);
			count++;
			if (!u64set_has(recs, (uint64_t)id))
				broken = true;
		}
		refs += count;
		if (!broken && count != sqlite3_column_int64(st, 2))
			broken = true;
		if (broken) {
			bad++;
			if (!first)
				first = sqlite3_column_int64(st, 0);
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sq_fail(s, rc, "reading record sets");
	if (bad)
		return report(v, "record sets", bad,
		              "%lld of %lld sets refer to a missing record or feature, or hold a "
		              "bad list; first set id %lld",
		              (long long)bad, (long long)n, (long long)first);
	return report(v, "record sets", 0, "%lld sets, %lld record references, all present",
	              (long long)n, (long long)refs);
}

/* "SELECT count(*) ..." of rows that refer to nothing: one check. */
static int check_orphans(struct verify *v, const char *check, const char *sql, const char *what)
{
	int rc;
	int64_t n = one_int(v->s, sql, &rc);
	if (rc != SQLITE_OK)
		return sq_fail(v->s, rc, check);
	return report(v, check, n, "%lld %s", (long long)n, what);
}

/* The kept counts (store_stats_json: never counted) against the rows. */
static int check_counts(struct verify *v)
{
	static const char *const names[] = {"frames", "records", "sets"};
	char d[300] = "";
	size_t used = 0;
	int64_t bad = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char sql[160];
		int rc;
		snprintf(sql, sizeof(sql),
		         "SELECT coalesce(sum(n), 0) FROM counts WHERE name = '%s'", names[i]);
		int64_t kept = one_int(v->s, sql, &rc);
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", names[i]);
		int64_t rows = rc == SQLITE_OK ? one_int(v->s, sql, &rc) : 0;
		if (rc != SQLITE_OK)
			return sq_fail(v->s, rc, "counting rows");
		bad += kept != rows;
		int w = snprintf(d + used, sizeof(d) - used, "%s%s %lld%s", i ? ", " : "", names[i],
		                 (long long)rows, kept != rows ? " (kept count differs)" : "");
		if (w > 0 && (size_t)w < sizeof(d) - used)
			used += (size_t)w;
		if (kept != rows) {
			w = snprintf(d + used, sizeof(d) - used, ": %lld", (long long)kept);
			if (w > 0 && (size_t)w < sizeof(d) - used)
				used += (size_t)w;
		}
	}
	return report(v, "kept counts", bad, "%s", d);
}

static int check_logs(struct verify *v)
{
	struct sqlite_store *s = v->s;
	if (!have_table(s, "log_lines"))
		return report(v, "logs", 0, "no log tables");
	int r = check_orphans(v, "log lines -> sources",
	                      "SELECT count(*) FROM log_lines WHERE src NOT IN (SELECT id FROM"
	                      " log_sources)",
	                      "log lines of a missing source");
	if (r)
		return r;
	if (!have_table(s, "log_fts"))
		return 0;
	/* FTS5's own check of its index against log_lines ('integrity-check'
	 * with rank 1: the external content too).  It is an INSERT of a
	 * command, run in a savepoint and rolled back: nothing is written. */
	if (s->ro)
		return report(v, "log search index", 0, "not checked: the store is open read-only");
	int rc = sqlite3_exec(s->db, "SAVEPOINT verify_fts", NULL, NULL, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_exec(s->db,
		                  "INSERT INTO log_fts(log_fts, rank) VALUES('integrity-check', 1)",
		                  NULL, NULL, NULL);
		char msg[300];
		snprintf(msg, sizeof(msg), "%s", rc == SQLITE_OK ? "ok" : sqlite3_errmsg(s->db));
		sqlite3_exec(s->db, "ROLLBACK TO verify_fts; RELEASE verify_fts", NULL, NULL, NULL);
		if (rc == SQLITE_OK || (rc & 0xff) == SQLITE_CORRUPT)
			return report(v, "log search index", rc != SQLITE_OK, "%s", msg);
	}
	return sq_fail(s, rc, "checking the log search index");
}

int sqlite_verify(struct store *base,
                  int (*cb)(void *ctx, const char *check, int64_t problems, const char *detail),
                  void *ctx)
{
	struct sqlite_store *s = sq(base);
	int fr = sq_follow(s);
	if (fr < 0)
		return fr;
	struct verify v = {.s = s, .cb = cb, .ctx = ctx};
	struct u64set recs, sets, feats;
	u64set_init(&recs);
	u64set_init(&sets);
	u64set_init(&feats);
	/* one snapshot for every check: a daemon writing meanwhile is not seen */
	int r = sq_exec(s, "BEGIN");
	if (r == 0)
		r = check_pragmas(&v);
	if (r == 0)
		r = check_identity(&v);
	if (r == 0) {
		int rc = load_ids(s, "SELECT id FROM records", &recs);
		if (rc == SQLITE_OK)
			rc = load_ids(s, "SELECT id FROM sets", &sets);
		if (rc == SQLITE_OK)
			rc = load_ids(s, "SELECT id FROM features", &feats);
		if (rc != SQLITE_OK)
			r = sq_fail(s, rc, "reading ids");
	}
	if (r == 0)
		r = check_frames(&v, &recs, &sets);
	if (r == 0)
		r = check_sets(&v, &recs, &feats);
	if (r == 0)
		r = check_orphans(
		    &v, "records -> features",
		    "SELECT count(*) FROM records WHERE feature NOT IN (SELECT id FROM"
		    " features)",
		    "records of a missing feature");
	if (r == 0)
		r = check_orphans(
		    &v, "points -> systems and series",
		    "SELECT (SELECT count(*) FROM points_new WHERE system NOT IN (SELECT id"
		    " FROM systems)) + (SELECT count(*) FROM points_raw WHERE series NOT IN"
		    " (SELECT id FROM series)) + (SELECT count(*) FROM points_1m WHERE"
		    " series NOT IN (SELECT id FROM series)) + (SELECT count(*) FROM"
		    " points_1h WHERE series NOT IN (SELECT id FROM series))",
		    "rows of points of a missing system or series");
	if (r == 0)
		r = check_counts(&v);
	if (r == 0)
		r = check_logs(&v);
	if (sqlite3_get_autocommit(s->db) == 0)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	u64set_free(&recs);
	u64set_free(&sets);
	u64set_free(&feats);
	if (r > 0) /* the callback stopped it */
		return -ECANCELED;
	return r < 0 ? r : (int)(v.total > 1000000 ? 1000000 : v.total);
}
