/*
 * pg.c - the PostgreSQL store backend (store URL postgres://... or
 * postgresql://..., through libpq): connecting, the schema, errors,
 * prepared statements, meta and counters, features, and the ops table.
 * The other files: pg_ingest.c (storing frames), pg_read.c (answers),
 * pg_maintain.c (roll-ups, retention by partitions, garbage collection),
 * pg_objects.c (objects, events, gone systems, consumer offsets).
 *
 * The URL is libpq's (user, password, host, port, database, and its
 * parameters such as sslmode or host=/a/socket/dir) plus one of ours,
 * schema=NAME (default "vantage"): the PostgreSQL schema holding the
 * store's tables, so several stores can share a database.  The password
 * is never written into a message: `display` is the URL without it.
 *
 * STORE_RW creates the schema and its tables when missing; STORE_RO
 * gives -ENOENT when the schema holds no store and runs every
 * transaction read-only; STORE_DAEMON takes a session advisory lock of
 * the schema instead of a lock file (-EBUSY, naming the holder's backend
 * pid, when another daemon holds it).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/jscan.h"
#include "../util/xalloc.h"
#include "pg_internal.h"

static const char *const schema_sql =
    "CREATE TABLE meta(key text PRIMARY KEY, value bigint NOT NULL);"
    "CREATE TABLE counts(name text NOT NULL, n bigint NOT NULL);"
    "CREATE TABLE features(id serial PRIMARY KEY, name text UNIQUE NOT NULL);"
    "CREATE TABLE systems(id bigserial PRIMARY KEY, sid text UNIQUE NOT NULL, name text,"
    " kind text, runtime text, image text, host text, labels text NOT NULL DEFAULT '{}',"
    " first_seen bigint NOT NULL, last_seen bigint NOT NULL, last_metric bigint,"
    " feats int[] NOT NULL DEFAULT '{}', gone boolean NOT NULL DEFAULT false,"
    " gone_at bigint, gone_reason text);"
    "CREATE TABLE records(id bigserial PRIMARY KEY, hash uuid UNIQUE NOT NULL,"
    " feature int NOT NULL, key text NOT NULL, value text NOT NULL);"
    "CREATE TABLE sets(id bigserial PRIMARY KEY, hash uuid UNIQUE NOT NULL,"
    " feature int NOT NULL, ids bigint[] NOT NULL);"
    "CREATE TABLE frames(id bigserial PRIMARY KEY, system bigint NOT NULL, t bigint NOT NULL,"
    " feats int[] NOT NULL, head bigint NOT NULL, nums bigint[] NOT NULL,"
    " parts bigint[] NOT NULL);"
    "CREATE INDEX frames_system_t ON frames(system, t);"
    "CREATE TABLE series(id bigserial PRIMARY KEY, system bigint NOT NULL, name text NOT NULL,"
    " labels text NOT NULL, UNIQUE(system, name, labels));"
    "CREATE TABLE points(series bigint NOT NULL, t bigint NOT NULL, i bigint, v float8,"
    " PRIMARY KEY(t, series)) PARTITION BY RANGE (t);"
    "CREATE TABLE points_1m(series bigint NOT NULL, t bigint NOT NULL, avg float8 NOT NULL,"
    " min float8 NOT NULL, max float8 NOT NULL, sum float8 NOT NULL, count bigint NOT NULL,"
    " p50 float8 NOT NULL, p90 float8 NOT NULL, p99 float8 NOT NULL,"
    " PRIMARY KEY(series, t)) PARTITION BY RANGE (t);"
    "CREATE TABLE points_1h(LIKE points_1m INCLUDING ALL) PARTITION BY RANGE (t);"
    "CREATE TABLE objects(kind text NOT NULL, name text NOT NULL, json text NOT NULL,"
    " updated bigint NOT NULL, PRIMARY KEY(kind, name));"
    "CREATE TABLE events(id bigserial PRIMARY KEY, t bigint NOT NULL, kind text, subject text,"
    " system text, type text, summary text, data text);"
    "CREATE INDEX events_t ON events(t);"
    "CREATE INDEX events_kst ON events(kind, subject, t);"
    "CREATE TABLE offsets(grp text NOT NULL, topic text NOT NULL, part int NOT NULL,"
    " next bigint NOT NULL, PRIMARY KEY(grp, topic, part));"
    "INSERT INTO meta VALUES('vantage_store', 1), ('schema_version', 2), ('gc_epoch', 0);";

/*
 * Schema versions:
 *   1  records and sets keyed by a bytea hash
 *   2  the hashes are uuid (16 bytes, fixed size: a smaller, faster btree);
 *      record values and sets' ids compressed with lz4 when the server
 *      has it (pglz, the default, was a fifth of the ingest's time)
 * An older schema is brought up to date when the store is opened for
 * writing (one transaction, under the DDL lock).
 */
static const char *const upgrade_sql[] = {
    [1] = "ALTER TABLE records ALTER COLUMN hash TYPE uuid USING encode(hash, 'hex')::uuid;"
          "ALTER TABLE sets ALTER COLUMN hash TYPE uuid USING encode(hash, 'hex')::uuid;"
          "UPDATE meta SET value = 2 WHERE key = 'schema_version'",
};

/* lz4 for the record values, when this server was built with it (a
 * failure leaves the default compression). */
static void values_lz4(struct pg_store *s)
{
	if (pg_exec(s,
	            "SAVEPOINT lz4; ALTER TABLE records ALTER COLUMN value SET COMPRESSION lz4;"
	            " ALTER TABLE sets ALTER COLUMN ids SET COMPRESSION lz4",
	            "lz4") < 0)
		PQclear(PQexec(s->c, "ROLLBACK TO lz4"));
	PQclear(PQexec(s->c, "RELEASE lz4"));
}

/* ---- errors ------------------------------------------------------------------------ */

static int errno_of(const char *state, ConnStatusType cs)
{
	if (cs == CONNECTION_BAD)
		return -ECONNREFUSED;
	if (!state) /* libpq's own error, not the server's: the connection is being lost
	             * ("server closed the connection unexpectedly" comes before the
	             * status says so) */
		return -ECONNRESET;
	if (strcmp(state, "53100") == 0)
		return -ENOSPC;
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0 || strcmp(state, "53300") == 0)
		return -EBUSY;
	if (strcmp(state, "25006") == 0)
		return -EROFS;
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0)
		return -ECONNRESET;
	if (strncmp(state, "22", 2) == 0)
		return -EINVAL;
	if (strcmp(state, "42501") == 0)
		return -EACCES;
	return -EIO;
}

/* The server's message, first line only. */
static void first_line(const char *m, char *o, size_t cap)
{
	if (!m)
		m = "";
	size_t n = strcspn(m, "\n");
	if (n >= cap)
		n = cap - 1;
	memcpy(o, m, n);
	o[n] = 0;
}

int pg_fail(struct pg_store *s, PGresult *r, const char *what)
{
	char msg[300];
	first_line(r ? PQresultErrorMessage(r) : PQerrorMessage(s->c), msg, sizeof(msg));
	if (!*msg)
		first_line(PQerrorMessage(s->c), msg, sizeof(msg));
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	snprintf(s->sqlstate, sizeof(s->sqlstate), "%s", state ? state : "");
	int e = errno_of(state, PQstatus(s->c));
	snprintf(s->err, sizeof(s->err), "%s: %s: %s", s->display, what, msg);
	return e;
}

int pg_failf(struct pg_store *s, int err, const char *fmt, ...)
{
	int n = snprintf(s->err, sizeof(s->err), "%s: ", s->display);
	va_list ap;
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(s->err))
		vsnprintf(s->err + n, sizeof(s->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return err;
}

int pg_exec(struct pg_store *s, const char *sql, const char *what)
{
	PGresult *r = PQexec(s->c, sql);
	ExecStatusType st = PQresultStatus(r);
	int e = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : pg_fail(s, r, what);
	PQclear(r);
	return e;
}

/* The statement's prepared name (prepared once per connection: its text
 * is the key; types, when given, are its parameters'); -1 when the table
 * of statements is full (then it runs unprepared), or an error. */
static int prepared(struct pg_store *s, const char *sql, int n, const Oid *types, char name[16],
                    const char *what)
{
	int k;
	for (k = 0; k < s->nprep; k++)
		if (s->prep[k].sql == sql)
			break;
	if (k == s->nprep && k < (int)(sizeof(s->prep) / sizeof(s->prep[0]))) {
		snprintf(name, 16, "v%d", k);
		PGresult *r = PQprepare(s->c, name, sql, n, types);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			int e = pg_fail(s, r, what);
			PQclear(r);
			return e;
		}
		PQclear(r);
		s->prep[s->nprep++].sql = sql;
	}
	snprintf(name, 16, "v%d", k);
	return k < s->nprep ? 0 : -1;
}

/* A result: PGRES_TUPLES_OK or PGRES_COMMAND_OK, else NULL (*err set). */
static PGresult *checked(struct pg_store *s, PGresult *r, const char *what, int *err)
{
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		*err = pg_fail(s, r, what);
		PQclear(r);
		return NULL;
	}
	*err = 0;
	return r;
}

static PGresult *run(struct pg_store *s, const char *sql, int n, const Oid *types,
                     const char *const *params, const int *lens, const int *fmts, int resfmt,
                     const char *what, int *err)
{
	char name[16];
	int k = prepared(s, sql, n, types, name, what);
	if (k < -1) {
		*err = k;
		return NULL;
	}
	PGresult *r = k == 0 ? PQexecPrepared(s->c, name, n, params, lens, fmts, resfmt)
	                     : PQexecParams(s->c, sql, n, types, params, lens, fmts, resfmt);
	return checked(s, r, what, err);
}

PGresult *pg_q(struct pg_store *s, const char *sql, int n, const char *const *params,
               const char *what, int *err)
{
	return run(s, sql, n, NULL, params, NULL, NULL, 0, what, err);
}

/* Binary parameters: values, lengths and formats for libpq. */
static int binary(struct pg_store *s, int n, const struct buf *params, const char **v, int *lens,
                  int *fmts, const char *what)
{
	if (n > PG_QB_MAX)
		return pg_failf(s, -EINVAL, "%s: too many parameters", what);
	for (int i = 0; i < n; i++) {
		if (params[i].len > 0x3fffffff)
			return pg_failf(s, -E2BIG, "%s: a parameter of %zu bytes", what,
			                params[i].len);
		v[i] = params[i].data ? params[i].data : "";
		lens[i] = (int)params[i].len;
		fmts[i] = 1;
	}
	return 0;
}

PGresult *pg_qb(struct pg_store *s, const char *sql, int n, const Oid *types,
                const struct buf *params, const char *what, int *err)
{
	const char *v[PG_QB_MAX];
	int lens[PG_QB_MAX], fmts[PG_QB_MAX];
	*err = binary(s, n, params, v, lens, fmts, what);
	return *err < 0 ? NULL : run(s, sql, n, types, v, lens, fmts, 1, what, err);
}

int pg_qb_send(struct pg_store *s, const char *sql, int n, const Oid *types,
               const struct buf *params, const char *what)
{
	const char *v[PG_QB_MAX];
	int lens[PG_QB_MAX], fmts[PG_QB_MAX];
	char name[16];
	int e = binary(s, n, params, v, lens, fmts, what);
	if (e == 0)
		e = prepared(s, sql, n, types, name, what);
	if (e < -1)
		return e;
	int ok = e == 0 ? PQsendQueryPrepared(s->c, name, n, v, lens, fmts, 1)
	                : PQsendQueryParams(s->c, sql, n, types, v, lens, fmts, 1);
	return ok ? 0 : pg_fail(s, NULL, what);
}

PGresult *pg_qb_result(struct pg_store *s, const char *what, int *err)
{
	PGresult *r = PQgetResult(s->c), *more;
	while ((more = PQgetResult(s->c)) != NULL)
		PQclear(more);
	if (!r) {
		*err = pg_fail(s, NULL, what);
		return NULL;
	}
	return checked(s, r, what, err);
}

/* ---- transactions, meta, counts, features ------------------------------------------ */

void pg_caches_clear(struct pg_store *s)
{
	u64map_free(&s->recs);
	u64map_free(&s->sets);
	u64map_free(&s->series);
	u64map_init(&s->recs, sizeof(int64_t));
	u64map_init(&s->sets, sizeof(int64_t));
	u64map_init(&s->series, sizeof(int64_t));
}

int pg_begin(struct pg_store *s)
{
	if (s->ro)
		return pg_failf(s, -EROFS, "the store is open read-only");
	char sql[160];
	snprintf(sql, sizeof(sql), "BEGIN; SELECT pg_advisory_xact_lock_shared(%lld)",
	         (long long)PG_LOCK_GC);
	int e = pg_exec(s, sql, "beginning a transaction");
	if (e < 0) {
		PQclear(PQexec(s->c, "ROLLBACK"));
		return e;
	}
	int64_t ep = pg_meta_get(s, "gc_epoch", 0);
	if (ep != s->gc_epoch) {
		pg_caches_clear(s);
		s->gc_epoch = ep;
	}
	return 0;
}

int pg_commit(struct pg_store *s)
{
	int e = pg_exec(s, "COMMIT", "committing");
	if (e < 0)
		pg_rollback(s);
	return e;
}

void pg_rollback(struct pg_store *s)
{
	PQclear(PQexec(s->c, "ROLLBACK"));
	s->wm_set = false;
	pg_caches_clear(s);
	s->nfeats = 0;
}

int64_t pg_meta_get(struct pg_store *s, const char *key, int64_t def)
{
	int e;
	const char *p[] = {key};
	PGresult *r = pg_q(s, "SELECT value FROM meta WHERE key = $1", 1, p, "reading meta", &e);
	int64_t v = def;
	if (r && PQntuples(r) == 1)
		v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

int pg_meta_set(struct pg_store *s, const char *key, int64_t v)
{
	char b[32];
	snprintf(b, sizeof(b), "%lld", (long long)v);
	const char *p[] = {key, b};
	int e;
	PQclear(pg_q(s,
	             "INSERT INTO meta(key, value) VALUES($1, $2) ON CONFLICT(key) DO UPDATE"
	             " SET value = excluded.value",
	             2, p, "writing meta", &e));
	return e;
}

/* Counts are deltas, one row a change (no row every writer waits on);
 * stats add them up, maintenance folds them. */
int pg_count_add(struct pg_store *s, const char *name, int64_t n)
{
	if (n == 0)
		return 0;
	char b[32];
	snprintf(b, sizeof(b), "%lld", (long long)n);
	const char *p[] = {name, b};
	int e;
	PQclear(pg_q(s, "INSERT INTO counts(name, n) VALUES($1, $2)", 2, p, "counting", &e));
	return e;
}

int pg_load_features(struct pg_store *s)
{
	int e;
	PGresult *r =
	    pg_q(s, "SELECT id, name FROM features ORDER BY id", 0, NULL, "reading features", &e);
	if (!r)
		return e;
	s->nfeats = 0;
	for (int i = 0; i < PQntuples(r) && s->nfeats < 256; i++) {
		snprintf(s->feats[s->nfeats].name, sizeof(s->feats[0].name), "%s",
		         PQgetvalue(r, i, 1));
		s->feats[s->nfeats++].id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
	}
	PQclear(r);
	return 0;
}

int64_t pg_feature_id(struct pg_store *s, const char *name, size_t n, bool create)
{
	if (n == 0 || n >= sizeof(s->feats[0].name))
		return pg_failf(s, -EINVAL, "bad feature name");
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < s->nfeats; i++)
			if (strlen(s->feats[i].name) == n && memcmp(s->feats[i].name, name, n) == 0)
				return s->feats[i].id;
		if (pass == 0) {
			int e = pg_load_features(s);
			if (e < 0)
				return e;
		}
	}
	if (!create)
		return 0;
	if (s->nfeats >= 256)
		return pg_failf(s, -EINVAL, "too many features");
	char nm[32];
	memcpy(nm, name, n);
	nm[n] = 0;
	const char *p[] = {nm};
	int e;
	PGresult *r = pg_q(s,
	                   "WITH i AS (INSERT INTO features(name) VALUES($1) ON CONFLICT(name)"
	                   " DO NOTHING RETURNING id) SELECT id FROM i UNION ALL"
	                   " SELECT id FROM features WHERE name = $1",
	                   1, p, "storing a feature", &e);
	if (!r)
		return e;
	int64_t id = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	PQclear(r);
	if (id <= 0)
		return pg_failf(s, -EIO, "storing feature '%s'", nm);
	snprintf(s->feats[s->nfeats].name, sizeof(s->feats[0].name), "%s", nm);
	s->feats[s->nfeats++].id = id;
	return id;
}

const char *pg_feature_name(struct pg_store *s, int64_t id)
{
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < s->nfeats; i++)
			if (s->feats[i].id == id)
				return s->feats[i].name;
		if (pass == 0 && pg_load_features(s) < 0)
			break;
	}
	return "?";
}

int64_t pg_system_row(struct pg_store *s, const char *sid)
{
	struct buf b = BUF_INIT;
	js_escape_raw(&b, sid, strlen(sid));
	const char *p[] = {buf_str(&b)};
	int e;
	PGresult *r =
	    pg_q(s, "SELECT id FROM systems WHERE sid = $1", 1, p, "finding a system", &e);
	buf_free(&b);
	if (!r)
		return e;
	int64_t id = PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	PQclear(r);
	return id;
}

void pg_text_array(struct buf *b, const char *const *v, const size_t *len, size_t n)
{
	buf_addc(b, '{');
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_addc(b, ',');
		buf_addc(b, '"');
		const char *p = v[i];
		for (size_t k = 0; k < len[i]; k++) {
			if (p[k] == '"' || p[k] == '\\')
				buf_addc(b, '\\');
			buf_addc(b, p[k]);
		}
		buf_addc(b, '"');
	}
	buf_addc(b, '}');
}

/* ---- opening ------------------------------------------------------------------------ */

/* Split the URL: libpq's part (schema= taken out), the schema, and the
 * display form (no password, neither user:PASSWORD@ nor password=). */
static int parse_url(const char *url, char **conninfo, char **schema, char **display)
{
	struct buf ci = BUF_INIT, dp = BUF_INIT;
	char sch[64] = "vantage";
	const char *q = strchr(url, '?');
	size_t base = q ? (size_t)(q - url) : strlen(url);
	/* the authority's password */
	const char *auth = strstr(url, "://");
	auth = auth ? auth + 3 : url;
	const char *at = memchr(auth, '@', (size_t)(url + base - auth));
	const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	buf_add(&ci, url, base);
	if (colon) {
		buf_add(&dp, url, (size_t)(colon - url));
		buf_add(&dp, at, (size_t)(url + base - at));
	} else {
		buf_add(&dp, url, base);
	}
	char sep = '?';
	for (const char *p = q ? q + 1 : NULL; p && *p;) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);
		if (n > 7 && strncmp(p, "schema=", 7) == 0) {
			if (n - 7 >= sizeof(sch)) {
				buf_free(&ci);
				buf_free(&dp);
				return -EINVAL;
			}
			memcpy(sch, p + 7, n - 7);
			sch[n - 7] = 0;
		} else {
			buf_addc(&ci, sep);
			buf_add(&ci, p, n);
			if (!(n >= 9 && strncmp(p, "password=", 9) == 0)) {
				buf_addc(&dp, sep);
				buf_add(&dp, p, n);
			}
			sep = '&';
		}
		p = amp ? amp + 1 : NULL;
	}
	for (char *c = sch; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_')) {
			buf_free(&ci);
			buf_free(&dp);
			return -EINVAL;
		}
	*conninfo = xstrdup(buf_str(&ci));
	*display = xstrdup(buf_str(&dp));
	*schema = xstrdup(sch);
	buf_free(&ci);
	buf_free(&dp);
	return 0;
}

static void pg_close(struct store *b)
{
	struct pg_store *s = pgs(b);
	if (s->c)
		PQfinish(s->c);
	u64map_free(&s->recs);
	u64map_free(&s->sets);
	u64map_free(&s->series);
	u64map_free(&s->parts);
	free(s->conninfo);
	free(s->display);
	free(s->schema);
	log_retention_free(&s->logret);
	free(s);
}

static const char *pg_errmsg(const struct store *b)
{
	return ((const struct pg_store *)b)->err;
}

/* Does the schema hold a store?  1 yes (*version set), 0 no, or an error. */
static int have_store(struct pg_store *s, int64_t *version)
{
	const char *p[] = {s->schema};
	int e;
	PGresult *r = pg_q(s,
	                   "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND"
	                   " tablename = 'meta'",
	                   1, p, "looking for the store", &e);
	if (!r)
		return e;
	bool have = strcmp(PQgetvalue(r, 0, 0), "0") != 0;
	PQclear(r);
	if (!have)
		return 0;
	*version = pg_meta_get(s, "schema_version", 0);
	if (pg_meta_get(s, "vantage_store", 0) != 1)
		return pg_failf(s, -EINVAL,
		                "schema '%s' holds a table meta that is not a Vantage store's",
		                s->schema);
	return 1;
}

static void quiet(void *arg, const char *msg) {}

/* The connection's settings (at the start, and after a reconnection). */
static int session_setup(struct pg_store *s)
{
	PQsetNoticeProcessor(s->c, quiet, NULL);
	char sql[300];
	snprintf(sql, sizeof(sql),
	         "SET search_path TO \"%s\"; SET client_min_messages TO warning;"
	         " SET lock_timeout TO '30s'; SET statement_timeout TO 0%s",
	         s->schema, s->ro ? "; SET default_transaction_read_only TO on" : "");
	return pg_exec(s, sql, "setting up the session");
}

static int pg_open(const char *url, enum store_mode mode, struct store **out, char *err,
                   size_t errlen)
{
	*out = NULL;
	struct pg_store *s = xcalloc(1, sizeof(*s));
	s->base.be = &store_backend_pg;
	s->ro = mode == STORE_RO;
	u64map_init(&s->recs, sizeof(int64_t));
	u64map_init(&s->sets, sizeof(int64_t));
	u64map_init(&s->series, sizeof(int64_t));
	u64map_init(&s->parts, 0);
	if (parse_url(url, &s->conninfo, &s->schema, &s->display) < 0) {
		snprintf(err, errlen,
		         "postgres URL: bad schema= parameter (lower-case letters, digits, _)");
		free(s);
		return -EINVAL;
	}
	s->c = PQconnectdb(s->conninfo);
	int e = 0;
	if (PQstatus(s->c) != CONNECTION_OK) {
		e = pg_fail(s, NULL, "connecting");
		goto fail;
	}
	e = session_setup(s);
	if (e < 0)
		goto fail;
	char sql[300];
	int64_t version = 0;
	int h = have_store(s, &version);
	if (h < 0) {
		e = h;
		goto fail;
	}
	if (h == 0 && s->ro) {
		e = pg_failf(s, -ENOENT, "no store at %s (schema '%s')", s->display, s->schema);
		goto fail;
	}
	if (h == 0) {
		/* one creator at a time (two processes opening an empty database) */
		snprintf(sql, sizeof(sql),
		         "BEGIN; SELECT pg_advisory_xact_lock(%lld); CREATE SCHEMA IF NOT EXISTS"
		         " \"%s\"",
		         (long long)PG_LOCK_DDL, s->schema);
		e = pg_exec(s, sql, "creating the schema");
		if (e == 0)
			h = have_store(s, &version);
		if (e == 0 && h == 0) {
			e = pg_exec(s, schema_sql, "creating the store's tables");
			if (e == 0)
				values_lz4(s);
		}
		if (e == 0 && h < 0)
			e = h;
		if (e == 0)
			e = pg_exec(s, "COMMIT", "creating the store");
		if (e < 0) {
			PQclear(PQexec(s->c, "ROLLBACK"));
			goto fail;
		}
		version = PG_SCHEMA_VERSION;
	}
	if (version < PG_SCHEMA_VERSION && version >= 1 && !s->ro) {
		snprintf(sql, sizeof(sql), "BEGIN; SELECT pg_advisory_xact_lock(%lld)",
		         (long long)PG_LOCK_DDL);
		e = pg_exec(s, sql, "upgrading the store");
		version = e == 0 ? pg_meta_get(s, "schema_version", 0) : version;
		for (; e == 0 && version < PG_SCHEMA_VERSION; version++)
			e = pg_exec(s, upgrade_sql[version], "upgrading the store's tables");
		if (e == 0)
			values_lz4(s);
		if (e == 0)
			e = pg_exec(s, "COMMIT", "upgrading the store");
		if (e < 0) {
			PQclear(PQexec(s->c, "ROLLBACK"));
			goto fail;
		}
	}
	if (version > PG_SCHEMA_VERSION) {
		e = pg_failf(s, -EPROTO,
		             "schema version %lld is newer than this vantage understands (%d);"
		             " upgrade vantage",
		             (long long)version, PG_SCHEMA_VERSION);
		goto fail;
	}
	if (mode == STORE_DAEMON) {
		const char *p[] = {s->schema};
		PGresult *r = pg_q(s,
		                   "SELECT pg_try_advisory_lock(22081, hashtext($1)),"
		                   " (SELECT l.pid FROM pg_locks l WHERE l.locktype = 'advisory'"
		                   " AND l.classid = 22081 AND l.objsubid = 2 AND l.objid ="
		                   " (hashtext($1)::bigint & 4294967295)::oid AND l.granted"
		                   " AND l.pid <> pg_backend_pid() LIMIT 1)",
		                   1, p, "claiming the store", &e);
		if (!r)
			goto fail;
		bool got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
		char holder[32];
		snprintf(holder, sizeof(holder), "%s", PQgetvalue(r, 0, 1));
		PQclear(r);
		if (!got) {
			e = pg_failf(
			    s, -EBUSY,
			    "the store is in use by another vantage serve (PostgreSQL"
			    " backend pid %s holds its advisory lock); one daemon per store",
			    *holder ? holder : "?");
			goto fail;
		}
		s->daemon = true;
	}
	s->gc_epoch = pg_meta_get(s, "gc_epoch", 0);
	*out = &s->base;
	return 0;
fail:
	snprintf(err, errlen, "%s", s->err);
	pg_close(&s->base);
	return e;
}

/*
 * A lost connection (the server restarted, a network cut) is made again.
 * The caches are emptied: a server that crashed may have lost the last
 * transactions committed without waiting for their WAL flush (ingest's
 * batches), and with them rows whose ids the caches hold.
 */
static int pg_check(struct store *b)
{
	struct pg_store *s = pgs(b);
	if (PQstatus(s->c) == CONNECTION_OK)
		return 0;
	PQreset(s->c);
	s->nprep = 0;
	s->read_session = s->resume_session = false;
	pg_caches_clear(s);
	u64map_free(&s->parts);
	u64map_init(&s->parts, 0);
	s->nfeats = 0;
	s->wm_set = false;
	if (PQstatus(s->c) != CONNECTION_OK)
		return pg_fail(s, NULL, "reconnecting");
	return session_setup(s);
}

const struct store_backend store_backend_pg = {
    .name = "postgres",
    .open = pg_open,
    .close = pg_close,
    .errmsg = pg_errmsg,
    .check = pg_check,
    .put_frame = pg_put_frame,
    .put_frames = pg_put_frames,
    .put_frames_at = pg_put_frames_at,
    .offsets = pg_offsets,
    .mark_gone = pg_mark_gone,
    .maintain = pg_maintain,
    .systems_json = pg_systems_json,
    .frame_json = pg_frame_json,
    .series_json = pg_series_json,
    .metric_names_json = pg_metric_names_json,
    .read_begin = pg_read_begin,
    .read_end = pg_read_end,
    .frame_times = pg_frame_times,
    .state_records = pg_state_records,
    .state_records_matching = pg_state_records_matching,
    .latest_points = pg_latest_points,
    .stats_json = pg_stats_json,
    .verify = pg_verify,
    .series_read = pg_series_read,
    .object_put = pg_object_put,
    .object_delete = pg_object_delete,
    .objects = pg_objects,
    .event_put = pg_event_put,
    .events = pg_events,
    .gone_reason = pg_gone_reason,
    .put_logs = pg_put_logs,
    .log_cursors = pg_log_cursors,
    .logs = pg_logs,
    .log_retention = pg_log_retention,
    .put_flows = pg_put_flows,
    .flows_top = pg_flows_top,
};
