/*
 * pg_objects.c - the PostgreSQL backend's small writes and lists:
 * objects, events, gone systems and their reasons, consumer offsets.
 * Each write is its own transaction (autocommit) unless said otherwise.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/jscan.h"
#include "store_json.h"
#include "pg_internal.h"

/*
 * A write inside a read session (the alarm engine keeps states and
 * history while it evaluates) cannot go in the session's READ ONLY
 * transaction: the session's snapshot ends before the write and a new one
 * begins after it (resumed()), as the SQLite backend does.
 */
static int writable(struct pg_store *s)
{
	if (s->ro)
		return pg_failf(s, -EROFS, "the store is open read-only");
	if (s->read_session && PQtransactionStatus(s->c) == PQTRANS_INTRANS) {
		pg_exec(s, "COMMIT", "ending a read");
		s->read_session = false;
		s->resume_session = true;
	}
	return 0;
}

/* After a write: the read session it paused goes on; returns e. */
static int resumed(struct pg_store *s, int e)
{
	if (s->resume_session) {
		s->resume_session = false;
		if (pg_exec(s, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", "a read") == 0)
			s->read_session = true;
	}
	return e;
}

int pg_object_put(struct store *b, const char *kind, const char *name, const char *json,
                  int64_t now_ms)
{
	struct pg_store *s = pgs(b);
	int e = writable(s);
	if (e < 0)
		return e;
	if (!sj_valid_json(json))
		return pg_failf(s, -EINVAL, "object %s/%s: not valid JSON", kind, name);
	char t[24];
	snprintf(t, sizeof(t), "%" PRId64, now_ms);
	const char *p[] = {kind, name, json, t};
	PQclear(pg_q(s,
	             "INSERT INTO objects(kind, name, json, updated) VALUES($1, $2, $3, $4)"
	             " ON CONFLICT (kind, name) DO UPDATE SET json = excluded.json,"
	             " updated = excluded.updated",
	             4, p, "storing an object", &e));
	return resumed(s, e);
}

int pg_object_delete(struct store *b, const char *kind, const char *name)
{
	struct pg_store *s = pgs(b);
	int e = writable(s);
	if (e < 0)
		return e;
	const char *p[] = {kind, name};
	PGresult *r = pg_q(s, "DELETE FROM objects WHERE kind = $1 AND name = $2", 2, p,
	                   "deleting an object", &e);
	if (!r)
		return resumed(s, e);
	bool none = strcmp(PQcmdTuples(r), "0") == 0;
	PQclear(r);
	return resumed(s, none ? pg_failf(s, -ENOENT, "no object %s/%s", kind, name) : 0);
}

int pg_objects(struct store *b, const char *kind,
               int (*cb)(void *ctx, const char *name, const char *json, int64_t updated_ms),
               void *ctx)
{
	struct pg_store *s = pgs(b);
	const char *p[] = {kind};
	int e;
	PGresult *r = pg_q(s,
	                   "SELECT name, json, updated FROM objects WHERE kind = $1"
	                   " ORDER BY name COLLATE \"C\"",
	                   1, p, "listing objects", &e);
	if (!r)
		return e;
	for (int i = 0; e == 0 && i < PQntuples(r); i++)
		e = cb(ctx, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
		       strtoll(PQgetvalue(r, i, 2), NULL, 10));
	PQclear(r);
	return e;
}

int pg_event_put(struct store *b, const struct store_event *ev, int64_t *id)
{
	struct pg_store *s = pgs(b);
	int e = writable(s);
	if (e < 0)
		return e;
	if (ev->data && !sj_valid_json(ev->data))
		return pg_failf(s, -EINVAL, "event data: not valid JSON");
	char t[24];
	snprintf(t, sizeof(t), "%" PRId64, ev->time_ms);
	const char *p[] = {t, ev->kind, ev->subject, ev->system, ev->type, ev->summary, ev->data};
	PGresult *r = pg_q(s,
	                   "INSERT INTO events(t, kind, subject, system, type, summary, data)"
	                   " VALUES($1, $2, $3, $4, $5, $6, $7) RETURNING id",
	                   7, p, "storing an event", &e);
	if (!r)
		return resumed(s, e);
	if (id)
		*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return resumed(s, 0);
}

static const char *col(PGresult *r, int i, int c)
{
	return PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c);
}

int pg_events(struct store *b, const struct store_event_filter *f,
              int (*cb)(void *ctx, int64_t id, const struct store_event *e), void *ctx)
{
	struct pg_store *s = pgs(b);
	struct store_event_filter none = {0};
	if (!f)
		f = &none;
	char from[24], to[24], lim[24];
	snprintf(from, sizeof(from), "%" PRId64, f->from_ms);
	snprintf(to, sizeof(to), "%" PRId64, f->to_ms > 0 ? f->to_ms : INT64_MAX);
	snprintf(lim, sizeof(lim), "%zu", f->limit ? f->limit : 1000);
	const char *p[] = {f->kind, f->subject, f->system, f->type, from, to, lim};
	int e;
	PGresult *r = pg_q(s,
	                   "SELECT id, t, kind, subject, system, type, summary, data FROM events"
	                   " WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR"
	                   " subject = $2) AND ($3::text IS NULL OR system = $3) AND"
	                   " ($4::text IS NULL OR type = $4) AND t >= $5 AND t <= $6"
	                   " ORDER BY t DESC, id DESC LIMIT $7",
	                   7, p, "listing events", &e);
	if (!r)
		return e;
	for (int i = 0; e == 0 && i < PQntuples(r); i++) {
		struct store_event ev = {
		    .time_ms = strtoll(PQgetvalue(r, i, 1), NULL, 10),
		    .kind = col(r, i, 2),
		    .subject = col(r, i, 3),
		    .system = col(r, i, 4),
		    .type = col(r, i, 5),
		    .summary = col(r, i, 6),
		    .data = col(r, i, 7),
		};
		e = cb(ctx, strtoll(PQgetvalue(r, i, 0), NULL, 10), &ev);
	}
	PQclear(r);
	return e;
}

int pg_gone_reason(struct store *b, const char *system_id, const char *reason_json, int64_t now_ms)
{
	struct pg_store *s = pgs(b);
	int e = writable(s);
	if (e < 0)
		return e;
	if (!sj_valid_json(reason_json))
		return pg_failf(s, -EINVAL, "the gone reason of '%s' is not valid JSON", system_id);
	int64_t row = pg_system_row(s, system_id);
	if (row < 0)
		return (int)row;
	if (!row)
		return pg_failf(s, -ENOENT, "no system '%s' in the store", system_id);
	char rs[24], t[24];
	snprintf(rs, sizeof(rs), "%" PRId64, row);
	snprintf(t, sizeof(t), "%" PRId64, now_ms);
	const char *p[] = {rs, reason_json, t};
	PQclear(pg_q(s,
	             "UPDATE systems SET gone_reason = $2, gone_at = coalesce(gone_at, $3)"
	             " WHERE id = $1",
	             3, p, "storing a gone reason", &e));
	return resumed(s, e);
}

int pg_mark_gone(struct store *b, const char *kind, const char *host, const char *const *present,
                 int n, int64_t now_ms)
{
	struct pg_store *s = pgs(b);
	int e = writable(s);
	if (e < 0)
		return e;
	struct buf k = BUF_INIT, arr = BUF_INIT, one = BUF_INIT;
	js_escape_raw(&k, kind, strlen(kind));
	const char **v = calloc((size_t)n + 1, sizeof(*v));
	size_t *l = calloc((size_t)n + 1, sizeof(*l));
	struct buf *esc = calloc((size_t)n + 1, sizeof(*esc));
	if (!v || !l || !esc) {
		free(v);
		free(l);
		free(esc);
		buf_free(&k);
		return pg_failf(s, -ENOMEM, "out of memory");
	}
	for (int i = 0; i < n; i++) {
		js_escape_raw(&esc[i], present[i], strlen(present[i]));
		v[i] = esc[i].data ? esc[i].data : "";
		l[i] = esc[i].len;
	}
	pg_text_array(&arr, v, l, (size_t)n);
	char t[24];
	snprintf(t, sizeof(t), "%" PRId64, now_ms);
	if (host)
		js_escape_raw(&one, host, strlen(host));
	const char *p[] = {buf_str(&k), buf_str(&arr), t, host ? buf_str(&one) : NULL};
	PQclear(pg_q(s,
	             "WITH a AS (UPDATE systems SET gone = true, gone_at = $3 WHERE kind = $1"
	             " AND NOT gone AND ($4::text IS NULL OR host = $4)"
	             " AND NOT (sid = ANY($2::text[])) RETURNING 1)"
	             " UPDATE systems SET gone = false, gone_at = NULL, gone_reason = NULL"
	             " WHERE kind = $1 AND gone AND sid = ANY($2::text[])",
	             4, p, "marking gone systems", &e));
	for (int i = 0; i < n; i++)
		buf_free(&esc[i]);
	free(esc);
	free(v);
	free(l);
	buf_free(&k);
	buf_free(&arr);
	buf_free(&one);
	return e;
}

int pg_offsets(struct store *b, const char *group,
               int (*cb)(void *ctx, const struct store_offset *o), void *ctx)
{
	struct pg_store *s = pgs(b);
	const char *p[] = {group ? group : ""};
	int e;
	PGresult *r = pg_q(s,
	                   "SELECT topic, part, next FROM offsets WHERE grp = $1"
	                   " ORDER BY topic COLLATE \"C\", part",
	                   1, p, "reading consumer offsets", &e);
	if (!r)
		return e;
	for (int i = 0; e == 0 && i < PQntuples(r); i++) {
		struct store_offset o = {.topic = PQgetvalue(r, i, 0),
		                         .partition =
		                             (int32_t)strtol(PQgetvalue(r, i, 1), NULL, 10),
		                         .offset = strtoll(PQgetvalue(r, i, 2), NULL, 10)};
		e = cb(ctx, &o);
	}
	PQclear(r);
	return e;
}
