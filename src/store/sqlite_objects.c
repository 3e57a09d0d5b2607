/*
 * sqlite_objects.c - what analytics keep in the SQLite store (schema
 * version 2): named JSON objects (alarm definitions, silences...), the
 * events log (alarm history), and why a system is gone.
 *
 *   objects(kind, name, json, updated)   keyed (kind, name); a put
 *            replaces; listed in name order
 *   events(id, t, kind, subject, system, type, summary, data)
 *            append-only, id AUTOINCREMENT (ascending with insertion, never
 *            reused); indexes on t (retention, time ranges) and (kind,
 *            subject, t) (one alarm's history); events older than 14 days
 *            are deleted by store_maintain()
 *   systems.gone_reason   JSON text written by store_gone_reason(); cleared
 *            when the system is present again (a frame, store_mark_gone())
 *
 * Text is stored as given (UTF-8), not JSON-escaped like frame text: these
 * rows come from our own callers, not from crawled systems; the system id
 * of an event is the plain id too.  JSON given is validated with the
 * scanner of util/jscan.c and stored as is.
 */
#include <errno.h>
#include <string.h>

#include "../util/jscan.h"
#include "store_json.h"
#include "sqlite_internal.h"

/*
 * A write inside a read session (the alarm engine keeps a state and a
 * history event while it evaluates) cannot go in the session's read
 * transaction: once another connection committed since its snapshot,
 * SQLite refuses to upgrade it (SQLITE_BUSY at once, no busy wait).  So
 * the session's snapshot ends before the write, and a new one begins after
 * it (step_write): the reads after a write see the store as it is then.
 */
static int writable(struct sqlite_store *s)
{
	if (s->ro)
		return sq_failf(s, -EROFS, "the store is open read-only");
	if (s->read_session && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	return 0;
}

/* Run a prepared write statement to its end: 0 or the store's error. */
static int step_write(struct sqlite_store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	int r = rc == SQLITE_DONE ? 0 : sq_fail(s, rc, what);
	if (s->read_session && sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
	return r;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* ---- objects ---------------------------------------------------------------------- */

int sqlite_object_put(struct store *base, const char *kind, const char *name, const char *json,
                      int64_t now_ms)
{
	struct sqlite_store *s = sq(base);
	int r = writable(s);
	if (r < 0)
		return r;
	if (!kind || !*kind || !name || !*name)
		return sq_failf(s, -EINVAL, "an object needs a kind and a name");
	if (!sj_valid_json(json))
		return sq_failf(s, -EINVAL, "object %s '%s': not valid JSON", kind, name);
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db,
	                            "INSERT OR REPLACE INTO objects(kind, name, json, updated)"
	                            " VALUES(?1, ?2, ?3, ?4)",
	                            -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "storing an object");
	bind_text(st, 1, kind);
	bind_text(st, 2, name);
	bind_text(st, 3, json);
	sqlite3_bind_int64(st, 4, now_ms);
	return step_write(s, st, "storing an object");
}

int sqlite_object_delete(struct store *base, const char *kind, const char *name)
{
	struct sqlite_store *s = sq(base);
	int r = writable(s);
	if (r < 0)
		return r;
	if (!kind || !name)
		return sq_failf(s, -EINVAL, "an object needs a kind and a name");
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, "DELETE FROM objects WHERE kind = ?1 AND name = ?2", -1,
	                            &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "deleting an object");
	bind_text(st, 1, kind);
	bind_text(st, 2, name);
	r = step_write(s, st, "deleting an object");
	if (r == 0 && sqlite3_changes(s->db) == 0)
		r = sq_failf(s, -ENOENT, "no %s '%s' in the store", kind, name);
	return r;
}

int sqlite_objects(struct store *base, const char *kind,
                   int (*cb)(void *ctx, const char *name, const char *json, int64_t updated_ms),
                   void *ctx)
{
	struct sqlite_store *s = sq(base);
	int r = sq_follow(s);
	if (r < 0)
		return r;
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db,
	                            "SELECT name, json, updated FROM objects WHERE kind = ?1"
	                            " ORDER BY name",
	                            -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "listing objects");
	bind_text(st, 1, kind);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		r = cb(ctx, (const char *)sqlite3_column_text(st, 0),
		       (const char *)sqlite3_column_text(st, 1), sqlite3_column_int64(st, 2));
	sqlite3_finalize(st);
	if (r)
		return r;
	return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "listing objects");
}

/* ---- events ----------------------------------------------------------------------- */

int sqlite_event_put(struct store *base, const struct store_event *e, int64_t *id)
{
	struct sqlite_store *s = sq(base);
	int r = writable(s);
	if (r < 0)
		return r;
	if (!e->kind || !*e->kind)
		return sq_failf(s, -EINVAL, "an event needs a kind");
	if (e->data && !sj_valid_json(e->data))
		return sq_failf(s, -EINVAL, "event %s '%s': its data is not valid JSON", e->kind,
		                e->subject ? e->subject : "");
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db,
	                            "INSERT INTO events(t, kind, subject, system, type, summary,"
	                            " data) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	                            -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "storing an event");
	sqlite3_bind_int64(st, 1, e->time_ms);
	bind_text(st, 2, e->kind);
	bind_text(st, 3, e->subject);
	bind_text(st, 4, e->system);
	bind_text(st, 5, e->type);
	bind_text(st, 6, e->summary);
	bind_text(st, 7, e->data);
	r = step_write(s, st, "storing an event");
	if (r == 0 && id)
		*id = sqlite3_last_insert_rowid(s->db);
	return r;
}

int sqlite_events(struct store *base, const struct store_event_filter *f,
                  int (*cb)(void *ctx, int64_t id, const struct store_event *e), void *ctx)
{
	struct sqlite_store *s = sq(base);
	int r = sq_follow(s);
	if (r < 0)
		return r;
	struct store_event_filter none = {0};
	if (!f)
		f = &none;
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(
	    s->db,
	    "SELECT id, t, kind, subject, system, type, summary, data FROM events"
	    " WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR subject = ?2)"
	    " AND (?3 IS NULL OR system = ?3) AND (?4 IS NULL OR type = ?4)"
	    " AND t >= ?5 AND t <= ?6 ORDER BY t DESC, id DESC LIMIT ?7",
	    -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "listing events");
	bind_text(st, 1, f->kind);
	bind_text(st, 2, f->subject);
	bind_text(st, 3, f->system);
	bind_text(st, 4, f->type);
	sqlite3_bind_int64(st, 5, f->from_ms);
	sqlite3_bind_int64(st, 6, f->to_ms > 0 ? f->to_ms : INT64_MAX);
	sqlite3_bind_int64(st, 7, f->limit ? (int64_t)f->limit : 1000);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_event e = {
		    .time_ms = sqlite3_column_int64(st, 1),
		    .kind = (const char *)sqlite3_column_text(st, 2),
		    .subject = (const char *)sqlite3_column_text(st, 3),
		    .system = (const char *)sqlite3_column_text(st, 4),
		    .type = (const char *)sqlite3_column_text(st, 5),
		    .summary = (const char *)sqlite3_column_text(st, 6),
		    .data = (const char *)sqlite3_column_text(st, 7),
		};
		r = cb(ctx, sqlite3_column_int64(st, 0), &e);
	}
	sqlite3_finalize(st);
	if (r)
		return r;
	return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "listing events");
}

int expire_events(struct sqlite_store *s, int64_t now_ms)
{
	int64_t cut = now_ms - RETAIN_EVENTS;
	sqlite3_stmt *st;
	/* a look first: most minutes there is nothing to delete, and no
	 * write transaction is then opened */
	int rc =
	    sqlite3_prepare_v2(s->db, "SELECT 1 FROM events WHERE t < ?1 LIMIT 1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "expiring events");
	sqlite3_bind_int64(st, 1, cut);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return sq_fail(s, rc, "expiring events");
	rc = sqlite3_prepare_v2(s->db, "DELETE FROM events WHERE t < ?1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "expiring events");
	sqlite3_bind_int64(st, 1, cut);
	return step_write(s, st, "expiring events");
}

/* ---- gone reasons ------------------------------------------------------------------ */

int sqlite_gone_reason(struct store *base, const char *system_id, const char *reason_json,
                       int64_t now_ms)
{
	struct sqlite_store *s = sq(base);
	int r = writable(s);
	if (r < 0)
		return r;
	if (!sj_valid_json(reason_json))
		return sq_failf(s, -EINVAL, "the gone reason of '%s' is not valid JSON", system_id);
	int err;
	int64_t row = system_row(s, system_id, &err);
	if (err)
		return err;
	if (!row)
		return sq_failf(s, -ENOENT, "no system '%s' in the store", system_id);
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db,
	                            "UPDATE systems SET gone_reason = ?2,"
	                            " gone_at = coalesce(gone_at, ?3) WHERE id = ?1",
	                            -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "storing a gone reason");
	sqlite3_bind_int64(st, 1, row);
	bind_text(st, 2, reason_json);
	sqlite3_bind_int64(st, 3, now_ms);
	return step_write(s, st, "storing a gone reason");
}
