/*
 * sqlite.c - the SQLite backend (store_backend_sqlite, chosen by store.c
 * for a path or sqlite:PATH): its handle, opening, schema migrations,
 * errors, prepared statements, small shared helpers and statistics.
 *
 * Opening makes the file's missing parent directories (RW; mode 0750), or
 * says "no store at PATH" (RO, -ENOENT), then checks, before anything is written, that the file is
 * ours: it must be empty (then, in RW mode, it is created) or carry our application_id and a meta
 * table with our magic.  A file that is not SQLite, is corrupt, or belongs to another program gives
 * -EINVAL with a message naming it; a schema newer than this program gives -EPROTO.  RW handles
 * then migrate older schemas (each step in one transaction) and set WAL, synchronous=NORMAL,
 * foreign keys and a busy timeout; RO handles open the file SQLITE_OPEN_READONLY and never write.
 * Before SQLite sees the path it must be a regular file or nothing (precheck(): a device is never
 * written, a FIFO never opened); RO on a file nobody can write opens it immutable=1; RW on a
 * read-only file system says EROFS.  STORE_DAEMON handles hold an flock on PATH.lock (claim()).
 * Each handle keeps the device and inode it opened: store_check() tells a deleted or replaced
 * file (-ESTALE), store_reopen() opens the path again in place, and RO handles follow a new file
 * by themselves before each read (sq_follow()).
 *
 * Checkpoints: a RW handle copies its WAL into the file from a thread of
 * its own (struct ckpt, a second connection), so a writer does not wait
 * for the copy and its fsyncs: after a commit that leaves CKPT_BYTES or
 * more in the WAL the thread runs a PASSIVE checkpoint while the writer
 * goes on.  The WAL starts over only once all of it is copied and a write
 * begins, which a writer that never pauses never gives: past
 * CKPT_HARD_BYTES (or without the thread) the writer waits for the
 * thread's checkpoint and copies the rest itself, as SQLite's
 * autocheckpoint would, so the WAL stays below that plus one transaction.
 * New files get 16 KiB pages, except the daemon's (setup_rw()).
 *
 * The schema (docs/storage.md explains it):
 *   meta(key, value)                 magic, schema_version, watermarks
 *   counts(name, n)                  row counts kept up to date by writers
 *   systems(id, sid, identity..., labels, first_seen, last_seen,
 *           last_metric, gone, gone_at)
 *   features(id, name)               feature names, small ids (fmask bits)
 *   records(id, feature, key, value) distinct records (deduplicated by
 *                                    content hash, sqlite_ingest.c)
 *   sets(id, hash, feature, n, ids)  one feature's record list (varints),
 *                                    shared by every frame holding it
 *   frames(id, system, t, fmask, head, nums, parts)
 *   gc_heads(id)                     headers of deleted frames, for the GC
 *   series(id, system, name, labels)
 *   points_new(m, system, t, data)   new points: a frame's as one row (sqlite_points.c)
 *   points_raw(series, h, n, data)   older points, one chunk an hour
 *   points_1m / points_1h(t, series, avg, min, max, sum, count, p50,
 *           p90, p99)                roll-ups (sqlite_rollup.c)
 * and since version 2 (sqlite_objects.c):
 *   objects(kind, name, json, updated)  named JSON documents (alarms)
 *   events(id, t, kind, subject, system, type, summary, data)
 *                                    the events log, 14 days
 *   systems.gone_reason              why a system is gone (JSON)
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../util/json.h"
#include "../util/log.h"
#include "../util/sha256.h"
#include "../util/util.h"
#include "sqlite_internal.h"

static void sqlite_close(struct store *base);

/* ---- schema ---------------------------------------------------------------- */

static const char schema_v1[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
    "CREATE TABLE counts(name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE systems("
    " id INTEGER PRIMARY KEY, sid TEXT NOT NULL UNIQUE, name TEXT, kind TEXT,"
    " runtime TEXT, image TEXT, host TEXT, labels TEXT NOT NULL DEFAULT '{}',"
    " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, last_metric INTEGER,"
    " fmask INTEGER NOT NULL DEFAULT 0,"
    " gone INTEGER NOT NULL DEFAULT 0, gone_at INTEGER);"
    "CREATE TABLE features(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
    "CREATE TABLE records(id INTEGER PRIMARY KEY, feature INTEGER NOT NULL,"
    " key TEXT NOT NULL, value TEXT NOT NULL);"
    "CREATE TABLE sets(id INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE,"
    " feature INTEGER NOT NULL, n INTEGER NOT NULL, ids BLOB NOT NULL);"
    "CREATE TABLE frames(id INTEGER PRIMARY KEY,"
    " system INTEGER NOT NULL REFERENCES systems(id), t INTEGER NOT NULL,"
    " fmask INTEGER NOT NULL, head INTEGER NOT NULL, nums BLOB, parts BLOB NOT NULL);"
    "CREATE INDEX frames_system_t ON frames(system, t, fmask);"
    "CREATE TABLE gc_heads(id INTEGER PRIMARY KEY);"
    "CREATE TABLE series(id INTEGER PRIMARY KEY,"
    " system INTEGER NOT NULL REFERENCES systems(id), name TEXT NOT NULL,"
    " labels TEXT NOT NULL, UNIQUE(system, name, labels));"
    "CREATE TABLE points_new(m INTEGER NOT NULL, system INTEGER NOT NULL, t INTEGER NOT NULL,"
    " data BLOB NOT NULL, PRIMARY KEY(m, system, t)) WITHOUT ROWID;"
    "CREATE TABLE points_raw(series INTEGER NOT NULL, h INTEGER NOT NULL, n INTEGER NOT NULL,"
    " data BLOB NOT NULL, PRIMARY KEY(series, h)) WITHOUT ROWID;"
    "CREATE TABLE points_1m(t INTEGER NOT NULL, series INTEGER NOT NULL, avg REAL,"
    " min REAL, max REAL, sum REAL, count INTEGER, p50 REAL, p90 REAL, p99 REAL,"
    " PRIMARY KEY(t, series)) WITHOUT ROWID;"
    "CREATE TABLE points_1h(t INTEGER NOT NULL, series INTEGER NOT NULL, avg REAL,"
    " min REAL, max REAL, sum REAL, count INTEGER, p50 REAL, p90 REAL, p99 REAL,"
    " PRIMARY KEY(t, series)) WITHOUT ROWID;"
    "INSERT INTO meta(key, value) VALUES('magic', '" STORE_MAGIC "');"
    "INSERT INTO counts(name, n) VALUES('frames', 0), ('records', 0), ('sets', 0),"
    " ('points_raw', 0), ('points_1m', 0), ('points_1h', 0);";

/* 2: what analytics keep (alarms): named JSON objects, an events log,
 * and why a system is gone */
static const char schema_v2[] =
    "CREATE TABLE objects(kind TEXT NOT NULL, name TEXT NOT NULL, json TEXT NOT NULL,"
    " updated INTEGER NOT NULL, PRIMARY KEY(kind, name)) WITHOUT ROWID;"
    "CREATE TABLE events(id INTEGER PRIMARY KEY AUTOINCREMENT, t INTEGER NOT NULL,"
    " kind TEXT NOT NULL, subject TEXT, system TEXT, type TEXT, summary TEXT, data TEXT);"
    "CREATE INDEX events_t ON events(t);"
    "CREATE INDEX events_subject ON events(kind, subject, t);"
    "ALTER TABLE systems ADD COLUMN gone_reason TEXT;";

/* migrations[v] turns schema v-1 into schema v */
static const char *const migrations[] = {NULL, schema_v1, schema_v2};

/* ---- errors ---------------------------------------------------------------- */

static int rc_errno(sqlite3 *db, int rc)
{
	int e = db ? sqlite3_system_errno(db) : 0;
	switch (rc & 0xff) {
	case SQLITE_OK:
		return 0;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
		return -EINVAL;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_CANTOPEN:
		return e ? -e : -ENOENT;
	case SQLITE_IOERR:
		return e == ENOSPC || e == EDQUOT ? -ENOSPC : -EIO;
	default:
		return -EIO;
	}
}

int sq_fail(struct sqlite_store *s, int rc, const char *what)
{
	int err = rc_errno(s->db, rc);
	const char *m = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);
	if ((rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CORRUPT)
		snprintf(s->err, sizeof(s->err), "%s: %s: %s (not a valid Vantage store)", s->path,
		         what, m);
	else
		snprintf(s->err, sizeof(s->err), "%s: %s: %s", s->path, what, m);
	return err;
}

int sq_failf(struct sqlite_store *s, int err, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(s->err, sizeof(s->err), "%s: %s", s->path, msg);
	return err;
}

static const char *sqlite_errmsg(const struct store *st)
{
	return ((const struct sqlite_store *)st)->err;
}

/* ---- statements and transactions ------------------------------------------ */

static const char *const stmt_sql[ST__N] = {
    [ST_DATA_VERSION] = "PRAGMA data_version",
    [ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [ST_META_SET] = "INSERT INTO meta(key, value) VALUES(?1, ?2)"
                    " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    [ST_COUNT_ADD] = "INSERT INTO counts(name, n) VALUES(?1, ?2)"
                     " ON CONFLICT(name) DO UPDATE SET n = n + excluded.n",
    [ST_FEAT_FIND] = "SELECT id FROM features WHERE name = ?1",
    [ST_FEAT_INS] = "INSERT INTO features(name) VALUES(?1)",
    [ST_FEAT_ALL] = "SELECT id, name FROM features",
    [ST_REC_INS] = "INSERT INTO records(feature, key, value) VALUES(?1, ?2, ?3)",
    [ST_REC_GET] = "SELECT feature, key, value FROM records WHERE id = ?1",
    [ST_PREV_FRAME] = "SELECT head, parts FROM frames WHERE system = ?1"
                      " AND (?2 = 0 OR (fmask & ?2) != 0) ORDER BY t DESC, id DESC LIMIT 1",
    [ST_SET_INS] = "INSERT INTO sets(hash, feature, n, ids) VALUES(?1, ?2, ?3, ?4)"
                   " ON CONFLICT(hash) DO NOTHING",
    [ST_SET_FIND] = "SELECT id FROM sets WHERE hash = ?1",
    [ST_SET_GET] = "SELECT feature, n, ids FROM sets WHERE id = ?1",
    [ST_SYS_UPSERT] =
        "INSERT INTO systems(sid, name, kind, runtime, image, host, labels, first_seen,"
        " last_seen) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)"
        " ON CONFLICT(sid) DO UPDATE SET"
        /* a frame newer than the last seen, or any frame when the last
         * seen is in the future (?9: now + slack; the clock was set
         * back): it is the system's latest (docs/storage.md) */
        " name = iif(excluded.last_seen >= last_seen OR last_seen > ?9, excluded.name, name),"
        " kind = iif(excluded.last_seen >= last_seen OR last_seen > ?9, excluded.kind, kind),"
        " runtime = iif(excluded.last_seen >= last_seen OR last_seen > ?9, excluded.runtime,"
        " runtime),"
        " image = iif(excluded.last_seen >= last_seen OR last_seen > ?9, excluded.image, image),"
        " host = iif(excluded.last_seen >= last_seen OR last_seen > ?9, excluded.host, host),"
        " labels = iif(excluded.last_seen >= last_seen OR last_seen > ?9, excluded.labels,"
        " labels),"
        " gone = iif(excluded.last_seen >= last_seen OR last_seen > ?9, 0, gone),"
        " gone_at = iif(excluded.last_seen >= last_seen OR last_seen > ?9, NULL, gone_at),"
        " gone_reason = iif(excluded.last_seen >= last_seen OR last_seen > ?9, NULL,"
        " gone_reason),"
        " first_seen = min(first_seen, excluded.first_seen),"
        " last_seen = iif(last_seen > ?9, excluded.last_seen, max(last_seen,"
        " excluded.last_seen))"
        " RETURNING id",
    /* as last_seen above: the newest, unless the one kept is in the future */
    [ST_SYS_METRIC] = "UPDATE systems SET last_metric = iif(coalesce(last_metric, ?2) > ?3,"
                      " ?2, max(coalesce(last_metric, ?2), ?2)) WHERE id = ?1",
    [ST_SYS_FIND] = "SELECT id FROM systems WHERE sid = ?1",
    [ST_SYS_FMASK] = "UPDATE systems SET fmask = fmask | ?2 WHERE id = ?1 AND fmask | ?2 != fmask",
    [ST_FRAME_INS] = "INSERT INTO frames(system, t, fmask, head, nums, parts)"
                     " VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_SERIES_FIND] = "SELECT id FROM series WHERE system = ?1 AND name = ?2 AND labels = ?3",
    [ST_SERIES_INS] = "INSERT INTO series(system, name, labels) VALUES(?1, ?2, ?3)",
    [ST_POINT_INS] = "INSERT OR IGNORE INTO points_new(m, system, t, data) VALUES(?1, ?2, ?3, ?4)",
    [ST_POINT_UPD] = "UPDATE points_new SET data = ?4 WHERE m = ?1 AND system = ?2 AND t = ?3",
    [ST_POINT_GET] = "SELECT data FROM points_new WHERE m = ?1 AND system = ?2 AND t = ?3",
    [ST_SERIES_SYS] = "SELECT system FROM series WHERE id = ?1",
    [ST_NEW_RANGE] = "SELECT (SELECT min(m) FROM points_new), (SELECT max(m) FROM points_new)",
    [ST_NEW_MINUTE] = "SELECT t, data FROM points_new WHERE m = ?1 AND system = ?2 AND t >= ?3"
                      " AND t < ?4 ORDER BY t",
    [ST_CHUNK_RANGE] = "SELECT h, data FROM points_raw WHERE series = ?1 AND h >= ?2 AND h < ?3"
                       " ORDER BY h",
    [ST_CHUNK_GET] = "SELECT n, data FROM points_raw WHERE series = ?1 AND h = ?2",
    [ST_CHUNK_PUT] = "INSERT OR REPLACE INTO points_raw(series, h, n, data) VALUES(?1, ?2, ?3, ?4)",
    [ST_P1M_GET] = "SELECT avg FROM points_1m WHERE t = ?2 AND series = ?1",
    [ST_P1H_GET] = "SELECT avg FROM points_1h WHERE t = ?2 AND series = ?1",
    [ST_P1M_ROW] = "SELECT min, max, sum, count, p50, p90, p99, avg FROM points_1m"
                   " WHERE t = ?1 AND series = ?2",
    [ST_P1H_ROW] = "SELECT min, max, sum, count, p50, p90, p99, avg FROM points_1h"
                   " WHERE t = ?1 AND series = ?2",
    [ST_NEW_SCAN] = "SELECT system, t, data FROM points_new WHERE m >= ?1 AND m <= ?2"
                    " AND t >= ?3 AND t < ?4",
};

sqlite3_stmt *stmt(struct sqlite_store *s, enum stmt_id id)
{
	sqlite3_stmt *st = s->st[id];
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return st;
	}
	int rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		sq_fail(s, rc, "preparing a statement");
		return NULL;
	}
	s->st[id] = st;
	return st;
}

int sq_exec(struct sqlite_store *s, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : sq_fail(s, rc, sql);
}

int sq_begin(struct sqlite_store *s)
{
	int rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : sq_fail(s, rc, "starting a transaction");
}

int sq_commit(struct sqlite_store *s)
{
	int rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		return 0;
	int r = sq_fail(s, rc, "committing");
	sq_rollback(s);
	return r;
}

void sq_rollback(struct sqlite_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	sq_caches_clear(s);
}

void sq_caches_clear(struct sqlite_store *s)
{
	hmap_clear(&s->recs);
	hmap_clear(&s->warm);
	hmap_clear(&s->series);
	s->nfeats = 0;
	s->wm1m = s->wm1h = -2; /* reload */
}

int sq_sync_caches(struct sqlite_store *s)
{
	sqlite3_stmt *st = stmt(s, ST_DATA_VERSION);
	if (!st)
		return -EIO;
	int rc = sqlite3_step(st);
	if (rc != SQLITE_ROW)
		return sq_fail(s, rc, "reading data_version");
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (v != s->data_version) {
		sq_caches_clear(s);
		s->data_version = v;
	}
	if (s->wm1m == -2) {
		s->wm1m = meta_get(s, "rollup_1m", -1);
		s->wm1h = meta_get(s, "rollup_1h", -1);
	}
	return 0;
}

int64_t meta_get(struct sqlite_store *s, const char *key, int64_t def)
{
	sqlite3_stmt *st = stmt(s, ST_META_GET);
	if (!st)
		return def;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	int64_t v = def;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

int meta_set(struct sqlite_store *s, const char *key, int64_t v)
{
	sqlite3_stmt *st = stmt(s, ST_META_SET);
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "writing meta");
}

int count_add(struct sqlite_store *s, const char *name, int64_t delta)
{
	if (!delta)
		return 0;
	sqlite3_stmt *st = stmt(s, ST_COUNT_ADD);
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, delta);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "updating counts");
}

static int load_features(struct sqlite_store *s)
{
	sqlite3_stmt *st = stmt(s, ST_FEAT_ALL);
	if (!st)
		return -EIO;
	s->nfeats = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && s->nfeats < FEAT_MAX) {
		const char *n = (const char *)sqlite3_column_text(st, 1);
		if (!n || strlen(n) >= sizeof(s->feats[0].name))
			continue;
		strcpy(s->feats[s->nfeats].name, n);
		s->feats[s->nfeats++].id = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "reading features");
}

static int64_t cached_feature(const struct sqlite_store *s, const char *name, size_t n)
{
	for (int i = 0; i < s->nfeats; i++)
		if (strlen(s->feats[i].name) == n && memcmp(s->feats[i].name, name, n) == 0)
			return s->feats[i].id;
	return 0;
}

int64_t feature_id(struct sqlite_store *s, const char *name, size_t n, bool create)
{
	if (!s->nfeats) {
		int r = load_features(s);
		if (r < 0)
			return r;
	}
	int64_t id = cached_feature(s, name, n);
	if (id)
		return id;
	if (!create) {
		/* a reader's list may predate a feature the writer added since */
		int r = load_features(s);
		return r < 0 ? r : cached_feature(s, name, n);
	}
	if (n == 0 || n >= sizeof(s->feats[0].name))
		return sq_failf(s, -EINVAL, "feature name '%.*s' is empty or too long",
		                (int)(n > 64 ? 64 : n), name);
	if (s->nfeats >= FEAT_MAX)
		return sq_failf(s, -E2BIG, "more than %d features", FEAT_MAX);
	sqlite3_stmt *st = stmt(s, ST_FEAT_INS);
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, name, (int)n, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return sq_fail(s, rc, "adding a feature");
	id = sqlite3_last_insert_rowid(s->db);
	memcpy(s->feats[s->nfeats].name, name, n);
	s->feats[s->nfeats].name[n] = 0;
	s->feats[s->nfeats++].id = id;
	return id;
}

const char *feature_name(struct sqlite_store *s, int64_t id)
{
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < s->nfeats; i++)
			if (s->feats[i].id == id)
				return s->feats[i].name;
		if (pass == 0 && load_features(s) < 0)
			break;
	}
	return "unknown";
}

int64_t system_row(struct sqlite_store *s, const char *system_id, int *err)
{
	*err = 0;
	struct buf e = BUF_INIT;
	js_escape_raw(&e, system_id, strlen(system_id));
	sqlite3_stmt *st = stmt(s, ST_SYS_FIND);
	if (!st) {
		buf_free(&e);
		*err = -EIO;
		return 0;
	}
	sqlite3_bind_text(st, 1, e.data, (int)e.len, SQLITE_STATIC);
	int64_t id = 0;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		*err = sq_fail(s, rc, "finding a system");
	sqlite3_reset(st);
	buf_free(&e);
	return id;
}

/* ---- open / close ----------------------------------------------------------- */

static int64_t query_int(struct sqlite_store *s, const char *sql, int *rc_out)
{
	sqlite3_stmt *st;
	int64_t v = 0;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			v = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		} else if (rc == SQLITE_DONE) {
			rc = SQLITE_OK;
		}
		sqlite3_finalize(st);
	}
	*rc_out = rc;
	return v;
}

/* "a, b, c" of the tables of a foreign database, for the message. */
static void table_names(struct sqlite_store *s, char *dst, size_t cap)
{
	sqlite3_stmt *st;
	dst[0] = 0;
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
	                       " LIMIT 6",
	                       -1, &st, NULL) != SQLITE_OK)
		return;
	size_t len = 0;
	while (sqlite3_step(st) == SQLITE_ROW && len + 40 < cap) {
		const char *n = (const char *)sqlite3_column_text(st, 0);
		len +=
		    (size_t)snprintf(dst + len, cap - len, "%s%.32s", len ? ", " : "", n ? n : "?");
	}
	sqlite3_finalize(st);
}

/* Apply migrations up to STORE_SCHEMA_VERSION in one transaction. */
static int migrate(struct sqlite_store *s)
{
	int r = sq_begin(s);
	if (r < 0)
		return r;
	int rc;
	int64_t ntab = query_int(s, "SELECT count(*) FROM sqlite_master", &rc);
	int64_t v = 0;
	if (rc == SQLITE_OK && ntab > 0)
		v = query_int(s, "SELECT value FROM meta WHERE key = 'schema_version'", &rc);
	if (rc != SQLITE_OK) {
		r = sq_fail(s, rc, "reading the schema version");
		sq_rollback(s);
		return r;
	}
	for (int64_t i = v + 1; i <= STORE_SCHEMA_VERSION; i++) {
		r = sq_exec(s, migrations[i]);
		if (r < 0) {
			sq_rollback(s);
			return r;
		}
	}
	if (v < STORE_SCHEMA_VERSION) {
		char sql[200];
		snprintf(sql, sizeof(sql),
		         "INSERT OR REPLACE INTO meta(key, value) VALUES('schema_version', %d);"
		         "PRAGMA user_version = %d; PRAGMA application_id = %d;",
		         STORE_SCHEMA_VERSION, STORE_SCHEMA_VERSION, STORE_APPID);
		r = sq_exec(s, sql);
		if (r < 0) {
			sq_rollback(s);
			return r;
		}
	}
	return sq_commit(s);
}

/* Is this file ours, empty, or something else?  Fills s->err. */
static int check_file(struct sqlite_store *s, int64_t *version)
{
	int rc;
	int64_t appid = query_int(s, "PRAGMA application_id", &rc);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "reading the database header");
	int64_t ntab = query_int(s, "SELECT count(*) FROM sqlite_master", &rc);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "reading the schema");
	*version = 0;
	if (appid == 0 && ntab == 0)
		return 0; /* empty: a new store */
	if (appid != STORE_APPID) {
		char tabs[300];
		table_names(s, tabs, sizeof(tabs));
		return sq_failf(s, -EINVAL,
		                "not a Vantage store: a SQLite database of another application"
		                " (application_id %#llx, tables: %s); give another --db path",
		                (unsigned long long)appid, tabs[0] ? tabs : "none");
	}
	sqlite3_stmt *st;
	rc = sqlite3_prepare_v2(
	    s->db, "SELECT key, value FROM meta WHERE key IN ('magic', 'schema_version')", -1, &st,
	    NULL);
	if (rc != SQLITE_OK)
		return sq_failf(s, -EINVAL,
		                "not a valid Vantage store: its meta table is missing (%s)",
		                sqlite3_errmsg(s->db));
	bool magic = false;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		if (k && strcmp(k, "magic") == 0) {
			const char *m = (const char *)sqlite3_column_text(st, 1);
			magic = m && strcmp(m, STORE_MAGIC) == 0;
		} else if (k && strcmp(k, "schema_version") == 0) {
			*version = sqlite3_column_int64(st, 1);
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sq_fail(s, rc, "reading the meta table");
	if (!magic || *version <= 0)
		return sq_failf(s, -EINVAL, "not a valid Vantage store: its meta table has no %s",
		                magic ? "schema version" : "Vantage magic");
	if (*version > STORE_SCHEMA_VERSION)
		return sq_failf(s, -EPROTO,
		                "schema version %lld is newer than this vantage understands (%d);"
		                " upgrade vantage",
		                (long long)*version, STORE_SCHEMA_VERSION);
	return 0;
}

/* ---- the background checkpointer ----------------------------------------- */

#define CKPT_BYTES (32LL << 20)       /* a checkpoint is due: 32 MiB in the WAL */
#define CKPT_HARD_BYTES (128LL << 20) /* the writer checkpoints itself */

struct ckpt {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv, done;
	bool started, want, stop, running;
	char *path;
	sqlite3 *db;   /* the thread's connection */
	int due, hard; /* WAL frames (pages) */
};

static void *ckpt_main(void *arg)
{
	struct ckpt *c = arg;
	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->want && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stop)
			break;
		c->want = false;
		c->running = true;
		pthread_mutex_unlock(&c->mu);
		if (!c->db &&
		    sqlite3_open_v2(c->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
		                    NULL) == SQLITE_OK) {
			/* the writer's connection is the last to close: it checkpoints */
			sqlite3_db_config(c->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
			sqlite3_busy_timeout(c->db, 0);
		}
		int rc = c->db ? sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
		                                           NULL, NULL)
		               : SQLITE_CANTOPEN;
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			log_debug("store %s: background checkpoint: %s", c->path,
			          c->db ? sqlite3_errmsg(c->db) : "cannot open");
		pthread_mutex_lock(&c->mu);
		c->running = false;
		pthread_cond_broadcast(&c->done);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* After each commit of the writer (sqlite3_wal_hook): nframes in the WAL. */
static int ckpt_hook(void *arg, sqlite3 *db, const char *name, int nframes)
{
	struct ckpt *c = arg;
	if (nframes >= c->hard || (!c->started && nframes >= c->due)) {
		/* the thread is behind (or absent): wait for its checkpoint (it
		 * never waits for a lock), then as SQLite's autocheckpoint */
		pthread_mutex_lock(&c->mu);
		while (c->started && (c->running || c->want))
			pthread_cond_wait(&c->done, &c->mu);
		pthread_mutex_unlock(&c->mu);
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	} else if (nframes >= c->due) {
		pthread_mutex_lock(&c->mu);
		c->want = true;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
	}
	return SQLITE_OK;
}

static void ckpt_stop(struct sqlite_store *s)
{
	struct ckpt *c = s->ck;
	if (!c)
		return;
	if (s->db)
		sqlite3_wal_hook(s->db, NULL, NULL);
	if (c->started) {
		pthread_mutex_lock(&c->mu);
		c->stop = true;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
		pthread_join(c->th, NULL);
	}
	if (c->db)
		sqlite3_close_v2(c->db);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	pthread_cond_destroy(&c->done);
	free(c->path);
	free(c);
	s->ck = NULL;
}

/* The writer's checkpoints go to a thread (a failure to start it leaves
 * them to the writer's hook). */
static int ckpt_start(struct sqlite_store *s)
{
	int rc;
	int64_t psize = query_int(s, "PRAGMA page_size", &rc);
	if (rc != SQLITE_OK || psize <= 0)
		return sq_fail(s, rc, "reading the page size");
	struct ckpt *c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(s->path))) {
		free(c);
		return sq_failf(s, -ENOMEM, "out of memory");
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	pthread_cond_init(&c->done, NULL);
	c->due = (int)(CKPT_BYTES / psize);
	c->hard = (int)(CKPT_HARD_BYTES / psize);
	s->ck = c;
	int e = pthread_create(&c->th, NULL, ckpt_main, c);
	if (e)
		log_warn("store %s: no background checkpoints (%s): the writer makes them", s->path,
		         strerror(e));
	c->started = e == 0;
	sqlite3_wal_hook(s->db, ckpt_hook, c);
	return 0;
}

static int setup_rw(struct sqlite_store *s)
{
	int rc;
	sqlite3_stmt *st;
	/* a new file (an existing one keeps its pages): 16 KiB pages for a
	 * bulk writer (vantage ingest: a quarter of the WAL frames and write
	 * calls for the same bytes, ~10% less CPU per record); the daemon's
	 * commits are small and frequent: SQLite's 4 KiB, so that each of
	 * them writes fewer bytes */
	if (!s->small_pages) {
		int r0 = sq_exec(s, "PRAGMA page_size = 16384");
		if (r0 < 0)
			return r0;
	}
	rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		const char *m = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
		bool wal = m && strcmp(m, "wal") == 0;
		sqlite3_finalize(st);
		if (rc == SQLITE_ROW && !wal)
			return sq_failf(s, -EINVAL, "cannot switch the database to WAL mode");
		rc = rc == SQLITE_ROW ? SQLITE_OK : rc;
	}
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "setting WAL mode");
	int r = sq_exec(s, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
	                   " PRAGMA journal_size_limit = 16777216; PRAGMA cache_size = -16000;");
	return r < 0 ? r : ckpt_start(s); /* in place of wal_autocheckpoint */
}

/* Create the directories of `path` (the file's parents), mode 0750, as
 * `vantage serve` always did for its store. */
static int make_parent_dirs(const char *path)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	char *slash = strrchr(tmp, '/');
	if (!slash || slash == tmp)
		return 0;
	*slash = 0;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0750) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* What the file at a path is, for messages: "a block device", ... */
static const char *file_kind(mode_t m)
{
	if (S_ISDIR(m))
		return "a directory";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISCHR(m))
		return "a character device";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	return "not a regular file";
}

/* The directory of `path` into dir ("." when it has none). */
static void dir_of(const char *path, char *dir, size_t cap)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, cap, ".");
	else if (slash == path)
		snprintf(dir, cap, "/");
	else
		snprintf(dir, cap, "%.*s", (int)(slash - path), path);
}

static bool on_readonly_fs(const char *path)
{
	struct statvfs v;
	return statvfs(path, &v) == 0 && (v.f_flag & ST_RDONLY);
}

/*
 * Before SQLite sees the path: only a regular file (or nothing) is a
 * store.  Never opens anything but a regular file, so a FIFO cannot block
 * and a device is never written.  *exists and *sb say what is there.
 */
static int precheck(const char *path, enum store_mode mode, bool *exists, struct stat *sb,
                    char *err, size_t errlen)
{
	*exists = false;
	if (stat(path, sb) < 0) {
		int e = errno;
		if (mode == STORE_RO) {
			if (e == ENOENT)
				snprintf(err, errlen, "no store at %s", path);
			else
				snprintf(err, errlen, "%s: %s", path, strerror(e));
			return -e;
		}
		int r = e == ENOENT ? make_parent_dirs(path) : -e;
		if (r < 0) {
			snprintf(err, errlen, "cannot create the directory of the store %s: %s",
			         path, strerror(-r));
			return r;
		}
		char dir[PATH_MAX];
		dir_of(path, dir, sizeof(dir));
		if (on_readonly_fs(dir)) {
			snprintf(
			    err, errlen,
			    "%s: cannot create the store: its file system is read-only (EROFS)",
			    path);
			return -EROFS;
		}
		return 0;
	}
	if (S_ISDIR(sb->st_mode)) {
		snprintf(err, errlen, "%s: is a directory, not a store file", path);
		return -EISDIR;
	}
	if (!S_ISREG(sb->st_mode)) {
		snprintf(err, errlen, "%s: is %s, not a store file (a store is a regular file)",
		         path, file_kind(sb->st_mode));
		return -EINVAL;
	}
	*exists = true;
	if (mode != STORE_RO && on_readonly_fs(path)) {
		snprintf(err, errlen,
		         "%s: cannot write the store: its file system is read-only (EROFS)", path);
		return -EROFS;
	}
	return 0;
}

/* Read-only, on a file nobody can write: open it immutable (SQLite would
 * otherwise need to create the -shm file next to it). */
static bool wants_immutable(const char *path)
{
	if (on_readonly_fs(path))
		return true;
	char dir[PATH_MAX], shm[PATH_MAX + 8];
	dir_of(path, dir, sizeof(dir));
	snprintf(shm, sizeof(shm), "%s-shm", path);
	return access(dir, W_OK) < 0 && access(shm, F_OK) < 0;
}

/* "file:PATH?immutable=1" with PATH percent-encoded where URIs need it. */
static char *immutable_uri(const char *path)
{
	struct buf b = BUF_INIT;
	buf_adds(&b, "file:");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (*p == '%' || *p == '?' || *p == '#' || *p <= ' ' || *p >= 0x7f) {
			char hex[4];
			snprintf(hex, sizeof(hex), "%%%02X", *p);
			buf_adds(&b, hex);
		} else
			buf_addc(&b, (char)*p);
	}
	buf_adds(&b, "?immutable=1");
	return b.data;
}

/*
 * The daemon's claim: an exclusive flock on PATH.lock holding our pid.
 * The file is checked to still be at its path once locked (a daemon
 * stopping removes it), so two daemons never hold two different files.
 */
static int claim(struct sqlite_store *s)
{
	size_t n = strlen(s->path) + 6;
	s->lock_path = malloc(n);
	if (!s->lock_path)
		return sq_failf(s, -ENOMEM, "out of memory");
	snprintf(s->lock_path, n, "%s.lock", s->path);
	for (int tries = 0; tries < 20; tries++) {
		int fd = open(s->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
		              0640);
		if (fd < 0) {
			int e = errno;
			return sq_failf(s, -e, "cannot open the lock file %s: %s", s->lock_path,
			                strerror(e));
		}
		struct stat a, b;
		if (fstat(fd, &a) < 0 || !S_ISREG(a.st_mode)) {
			close(fd);
			return sq_failf(s, -EINVAL, "the lock file %s is not a regular file",
			                s->lock_path);
		}
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			int e = errno;
			char pid[32] = "";
			ssize_t k = pread(fd, pid, sizeof(pid) - 1, 0);
			close(fd);
			if (e != EWOULDBLOCK)
				return sq_failf(s, -e, "cannot lock %s: %s", s->lock_path,
				                strerror(e));
			pid[k > 0 ? k : 0] = 0;
			pid[strcspn(pid, "\n")] = 0;
			return sq_failf(
			    s, -EBUSY,
			    "the store is in use by another vantage serve (pid %s, holding "
			    "%s); one daemon per store",
			    *pid ? pid : "unknown", s->lock_path);
		}
		if (stat(s->lock_path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			char pid[32];
			int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
			if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)len, 0) != len)
				log_warn("store %s: cannot write the pid into %s: %s", s->path,
				         s->lock_path, strerror(errno));
			s->lock_fd = fd;
			return 0;
		}
		close(fd); /* removed by the daemon that just stopped: again */
	}
	return sq_failf(s, -EBUSY, "cannot hold the lock file %s: it keeps changing", s->lock_path);
}

static void unclaim(struct sqlite_store *s)
{
	if (s->lock_fd >= 0) {
		unlink(s->lock_path);
		close(s->lock_fd);
	}
	s->lock_fd = -1;
	free(s->lock_path);
	s->lock_path = NULL;
}

/* Open the connection of s (path, ro, immutable set) and check the file. */
static int connect_db(struct sqlite_store *s)
{
	int flags = (s->ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
	            SQLITE_OPEN_NOMUTEX;
	char *uri = NULL;
	if (s->immutable) {
		uri = immutable_uri(s->path);
		flags |= SQLITE_OPEN_URI;
	}
	int rc = sqlite3_open_v2(uri ? uri : s->path, &s->db, flags, NULL);
	free(uri);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "cannot open");
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, 5000);
	int64_t version = 0;
	int r = check_file(s, &version);
	if (r == 0 && s->ro && version == 0)
		r = sq_failf(s, -EINVAL, "not a Vantage store: the database is empty");
	else if (r == 0 && s->ro && version < STORE_SCHEMA_VERSION)
		r = sq_failf(s, -EPROTO,
		             "schema version %lld is older than this vantage's (%d);"
		             " open it read-write once (vantage serve) to migrate it",
		             (long long)version, STORE_SCHEMA_VERSION);
	if (r == 0 && !s->ro) {
		r = setup_rw(s);
		if (r == 0 && version < STORE_SCHEMA_VERSION)
			r = migrate(s);
	}
	if (r == 0 && s->ro)
		r = sq_exec(s, "PRAGMA query_only = 1");
	return r;
}

#define SQ_DAEMON_CACHE_KB "1024"

/* Open; `small_pages`: a file made now gets 4 KiB pages (the daemon's). */
static int open_store(const char *path, enum store_mode mode, bool small_pages, struct store **out,
                      char *err, size_t errlen)
{
	*out = NULL;
	struct stat sb;
	bool exists;
	int r = precheck(path, mode, &exists, &sb, err, errlen);
	if (r < 0)
		return r;
	struct sqlite_store *s = calloc(1, sizeof(*s));
	if (!s || !(s->path = strdup(path)) || !(s->sha = sha256_new())) {
		if (s) {
			free(s->path);
			free(s);
		}
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	s->base.be = &store_backend_sqlite;
	s->ro = mode == STORE_RO;
	s->daemon = mode == STORE_DAEMON;
	s->small_pages = small_pages;
	s->immutable = s->ro && wants_immutable(path);
	s->lock_fd = -1;
	s->wm1m = s->wm1h = -2;
	s->data_version = -1;
	hmap_init(&s->recs, 1 << 16);
	hmap_init(&s->warm, 1 << 10);
	hmap_init(&s->series, 1 << 13);
	r = s->daemon ? claim(s) : 0;
	if (r == 0)
		r = connect_db(s);
	/* the daemon's one writer: a small page cache (its ticks touch few
	 * pages; a day's worth of them would hold the whole 16 MB default of
	 * the other handles as resident memory) */
	if (r == 0 && s->daemon)
		r = sq_exec(s, "PRAGMA cache_size = -" SQ_DAEMON_CACHE_KB);
	struct stat now = {0};
	if (r == 0 && stat(path, &now) < 0) {
		int e = errno;
		r = sq_failf(s, -e, "%s", strerror(e));
	} else if (r == 0 && exists && (now.st_dev != sb.st_dev || now.st_ino != sb.st_ino))
		r = sq_failf(s, -EAGAIN, "the file changed while it was being opened");
	if (r < 0) {
		snprintf(err, errlen, "%s", s->err);
		sqlite_close(&s->base);
		return r;
	}
	s->dev = now.st_dev;
	s->ino = now.st_ino;
	*out = &s->base;
	return 0;
}

static int sqlite_open(const char *path, enum store_mode mode, struct store **out, char *err,
                       size_t errlen)
{
	return open_store(path, mode, mode == STORE_DAEMON, out, err, errlen);
}

/* Is the file at the path the one open?  0, or -ESTALE with s->err. */
static int same_file(struct sqlite_store *s)
{
	struct stat sb;
	if (stat(s->path, &sb) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return sq_failf(s, -ESTALE, "the store file was deleted while in use");
		int e = errno;
		return sq_failf(s, -e, "%s", strerror(e));
	}
	if (sb.st_dev != s->dev || sb.st_ino != s->ino)
		return sq_failf(s, -ESTALE, "the store file was replaced by another file");
	return 0;
}

static int sqlite_check(struct store *base)
{
	struct sqlite_store *s = sq(base);
	int r = same_file(s);
	if (r == 0 && s->lock_fd >= 0) { /* the lock file deleted: claim again */
		struct stat a, b;
		if (fstat(s->lock_fd, &a) == 0 &&
		    (stat(s->lock_path, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)) {
			int old = s->lock_fd;
			free(s->lock_path);
			s->lock_path = NULL;
			if (claim(s) < 0)
				log_warn("store %s", s->err);
			close(old); /* after: the path is never unlocked in between */
		}
	}
	return r;
}

static int sqlite_reopen(struct store *base)
{
	struct sqlite_store *s = sq(base);
	if (!s->ro && same_file(s) < 0) {
		/* the -wal and -shm at the path are the lost file's: a new store
		 * must not take them for its own */
		char f[PATH_MAX + 8];
		snprintf(f, sizeof(f), "%s-wal", s->path);
		unlink(f);
		snprintf(f, sizeof(f), "%s-shm", s->path);
		unlink(f);
	}
	struct store *nb;
	char err[sizeof(s->err)];
	int r = open_store(s->path, s->ro ? STORE_RO : STORE_RW, s->daemon, &nb, err, sizeof(err));
	if (r < 0) {
		snprintf(s->err, sizeof(s->err), "%s", err);
		return r;
	}
	struct sqlite_store *n = sq(nb);
	struct sqlite_store *old = malloc(sizeof(*old));
	if (!old) {
		sqlite_close(nb);
		return sq_failf(s, -ENOMEM, "out of memory");
	}
	n->daemon = s->daemon; /* the claim stays with the handle */
	if (n->daemon)
		sq_exec(n, "PRAGMA cache_size = -" SQ_DAEMON_CACHE_KB);
	n->lock_fd = s->lock_fd;
	n->lock_path = s->lock_path;
	s->lock_fd = -1;
	s->lock_path = NULL;
	memcpy(old, s, sizeof(*old));
	memcpy(s, n, sizeof(*s));
	free(n);
	/* the old connection's file is gone: never checkpoint into it, and
	 * never remove -wal/-shm by name (they are the new store's now) */
	ckpt_stop(old); /* its thread's connection first */
	if (old->db)
		sqlite3_db_config(old->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	sqlite_close(&old->base);
	return 0;
}

int sq_follow(struct sqlite_store *s)
{
	if (!s->ro)
		return 0;
	int r = same_file(s);
	if (r == -ESTALE) {
		struct stat sb;
		if (stat(s->path, &sb) == 0) /* replaced (a new store): read that one */
			return sqlite_reopen(&s->base);
	}
	return r;
}

static void sqlite_close(struct store *base)
{
	struct sqlite_store *s = sq(base);
	if (!s)
		return;
	ckpt_stop(s); /* joined before the writer's connection closes */
	for (int i = 0; i < ST__N; i++)
		sqlite3_finalize(s->st[i]);
	if (s->db)
		sqlite3_close_v2(s->db);
	hmap_free(&s->recs);
	hmap_free(&s->warm);
	hmap_free(&s->series);
	series_caches_free(s);
	sha256_free(s->sha);
	unclaim(s);
	free(s->path);
	log_retention_free(&s->logret);
	free(s);
}

/* ---- statistics ------------------------------------------------------------- */

int sqlite_stats_json(struct store *base, struct buf *out)
{
	struct sqlite_store *s = sq(base);
	int fr = sq_follow(s);
	if (fr < 0)
		return fr;
	sqlite3_stmt *st;
	int rc =
	    sqlite3_prepare_v2(s->db, "SELECT name, n FROM counts ORDER BY name", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "reading counts");
	struct json j;
	jw_init(&j, out);
	jw_obj_begin(&j, NULL);
	int64_t raw = 0, m1 = 0, h1 = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *n = (const char *)sqlite3_column_text(st, 0);
		int64_t v = sqlite3_column_int64(st, 1);
		if (!n)
			continue;
		if (strcmp(n, "points_raw") == 0)
			raw = v;
		else if (strcmp(n, "points_1m") == 0)
			m1 = v;
		else if (strcmp(n, "points_1h") == 0)
			h1 = v;
		else
			jw_int(&j, n, v);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sq_fail(s, rc, "reading counts");
	jw_int(&j, "points", raw);
	jw_int(&j, "points_1m", m1);
	jw_int(&j, "points_1h", h1);
	jw_int(&j, "systems", query_int(s, "SELECT count(*) FROM systems", &rc));
	jw_int(&j, "series", query_int(s, "SELECT count(*) FROM series", &rc));
	int64_t pages = query_int(s, "PRAGMA page_count", &rc);
	int64_t psize = query_int(s, "PRAGMA page_size", &rc);
	int64_t freep = query_int(s, "PRAGMA freelist_count", &rc);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "reading sizes");
	jw_int(&j, "bytes", pages * psize);
	jw_int(&j, "free_bytes", freep * psize);
	char wal[4200];
	struct stat sb;
	snprintf(wal, sizeof(wal), "%s-wal", s->path);
	jw_int(&j, "wal_bytes", stat(wal, &sb) == 0 ? (int64_t)sb.st_size : 0);
	jw_int(&j, "schema_version", meta_get(s, "schema_version", 0));
	jw_obj_end(&j);
	return 0;
}

const struct store_backend store_backend_sqlite = {
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .errmsg = sqlite_errmsg,
    .check = sqlite_check,
    .reopen = sqlite_reopen,
    .put_frame = sqlite_put_frame,
    .put_frames = sqlite_put_frames,
    .put_frames_at = sqlite_put_frames_at,
    .offsets = sqlite_offsets,
    .mark_gone = sqlite_mark_gone,
    .maintain = sqlite_maintain,
    .systems_json = sqlite_systems_json,
    .frame_json = sqlite_frame_json,
    .series_json = sqlite_series_json,
    .metric_names_json = sqlite_metric_names_json,
    .frame_times = sqlite_frame_times,
    .read_begin = sqlite_read_begin,
    .read_end = sqlite_read_end,
    .state_records = sqlite_state_records,
    .latest_points = sqlite_latest_points,
    .stats_json = sqlite_stats_json,
    .verify = sqlite_verify,
    .series_read = sqlite_series_read,
    .object_put = sqlite_object_put,
    .object_delete = sqlite_object_delete,
    .objects = sqlite_objects,
    .event_put = sqlite_event_put,
    .events = sqlite_events,
    .gone_reason = sqlite_gone_reason,
    .put_logs = sqlite_put_logs,
    .log_cursors = sqlite_log_cursors,
    .logs = sqlite_logs,
    .log_retention = sqlite_log_retention,
    .put_flows = sqlite_put_flows,
    .flows_top = sqlite_flows_top,
};
