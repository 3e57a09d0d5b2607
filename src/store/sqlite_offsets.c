/*
 * sqlite_offsets.c - the SQLite backend's consumer offsets: where a
 * consumer group of a bus (vantage ingest) has read up to, stored in the
 * same transaction as the frames it read (store_put_frames_at()), so that
 * a restart resumes exactly after the last stored frame.
 *
 * The table is made by the first write of offsets, in that transaction
 * (a store that never ingested from a bus has none, and its schema
 * version is unchanged):
 *   offsets(grp, topic, part, next)   key (grp, topic, part); next is the
 *                                     next offset to read
 * A position given twice is fenced (offsets_fence.c): the batch is stored
 * only if it still holds the offset the consumer read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "offsets_fence.h"
#include "sqlite_internal.h"

/* The stored offset of a position: 1 (and *v), 0 none, or an error. */
static int stored_at(struct sqlite_store *s, sqlite3_stmt *st, const char *group,
                     const struct fence_pos *p, int64_t *v)
{
	sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->topic, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, p->partition);
	int rc = sqlite3_step(st);
	int r = rc == SQLITE_ROW    ? 1
	        : rc == SQLITE_DONE ? 0
	                            : sq_fail(s, rc, "reading consumer offsets");
	if (r == 1)
		*v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return r;
}

/*
 * The positions, in the batch's transaction (a write transaction: no
 * other writer between the check and the write).  A fenced position
 * (given twice, offsets_fence.c) that holds another offset than the
 * caller's expected one refuses the whole batch with -ESTALE.
 */
int offsets_put(struct sqlite_store *s, const char *group, const struct store_offset *o, size_t no)
{
	int r = sq_exec(s, "CREATE TABLE IF NOT EXISTS offsets(grp TEXT NOT NULL, topic TEXT NOT"
	                   " NULL, part INTEGER NOT NULL, next INTEGER NOT NULL,"
	                   " PRIMARY KEY(grp, topic, part)) WITHOUT ROWID");
	if (r < 0 || no == 0)
		return r;
	struct fence_pos *p;
	size_t n, bad;
	if (fence_plan(o, no, &p, &n, &bad) < 0)
		return sq_failf(s, -EINVAL, "consumer offset %zu: no topic", bad);
	sqlite3_stmt *get = NULL, *put = NULL;
	int rc = sqlite3_prepare_v2(s->db,
	                            "SELECT next FROM offsets WHERE grp = ?1 AND topic = ?2 AND"
	                            " part = ?3",
	                            -1, &get, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db,
		                        "INSERT INTO offsets(grp, topic, part, next) VALUES(?1, ?2,"
		                        " ?3, ?4) ON CONFLICT(grp, topic, part) DO UPDATE SET"
		                        " next = excluded.next",
		                        -1, &put, NULL);
	if (rc != SQLITE_OK)
		r = sq_fail(s, rc, "storing consumer offsets");
	for (size_t i = 0; i < n && r == 0; i++) {
		int64_t v = 0;
		int h = p[i].fenced ? stored_at(s, get, group, &p[i], &v) : 0;
		if (h < 0)
			r = h;
		else if (!fence_holds(&p[i], h == 1, v))
			r = sq_failf(
			    s, -ESTALE,
			    "consumer group %s, %s [%d]: the stored offset is %lld, not"
			    " %lld as this consumer read it: another consumer stored since,"
			    " or the store lost its last commits (nothing stored; read"
			    " again from the stored offset)",
			    group, p[i].topic, (int)p[i].partition, (long long)v,
			    (long long)p[i].expect);
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		sqlite3_bind_text(put, 1, group, -1, SQLITE_STATIC);
		sqlite3_bind_text(put, 2, p[i].topic, -1, SQLITE_STATIC);
		sqlite3_bind_int64(put, 3, p[i].partition);
		sqlite3_bind_int64(put, 4, p[i].next);
		rc = sqlite3_step(put);
		sqlite3_reset(put);
		if (rc != SQLITE_DONE)
			r = sq_fail(s, rc, "storing consumer offsets");
	}
	sqlite3_finalize(get);
	sqlite3_finalize(put);
	free(p);
	return r;
}

int sqlite_offsets(struct store *base, const char *group,
                   int (*cb)(void *ctx, const struct store_offset *o), void *ctx)
{
	struct sqlite_store *s = sq(base);
	int r = sq_follow(s);
	if (r < 0)
		return r;
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db,
	                            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
	                            " name = 'offsets'",
	                            -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "reading consumer offsets");
	rc = sqlite3_step(st);
	bool have = rc == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return sq_fail(s, rc, "reading consumer offsets");
	if (!have)
		return 0;
	rc = sqlite3_prepare_v2(s->db,
	                        "SELECT topic, part, next FROM offsets WHERE grp = ?1"
	                        " ORDER BY topic, part",
	                        -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "reading consumer offsets");
	sqlite3_bind_text(st, 1, group ? group : "", -1, SQLITE_STATIC);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_offset o = {.topic = (const char *)sqlite3_column_text(st, 0),
		                         .partition = (int32_t)sqlite3_column_int64(st, 1),
		                         .offset = sqlite3_column_int64(st, 2)};
		r = cb(ctx, &o);
	}
	sqlite3_finalize(st);
	if (r)
		return r;
	return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "reading consumer offsets");
}
