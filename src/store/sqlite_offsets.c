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
 */
#include <errno.h>
#include <string.h>

#include "sqlite_internal.h"

int offsets_put(struct sqlite_store *s, const char *group, const struct store_offset *o, size_t no)
{
	int r = sq_exec(s, "CREATE TABLE IF NOT EXISTS offsets(grp TEXT NOT NULL, topic TEXT NOT"
	                   " NULL, part INTEGER NOT NULL, next INTEGER NOT NULL,"
	                   " PRIMARY KEY(grp, topic, part)) WITHOUT ROWID");
	if (r < 0 || no == 0)
		return r;
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db,
	                            "INSERT INTO offsets(grp, topic, part, next) VALUES(?1, ?2, ?3,"
	                            " ?4) ON CONFLICT(grp, topic, part) DO UPDATE SET"
	                            " next = excluded.next",
	                            -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "storing consumer offsets");
	for (size_t i = 0; i < no && r == 0; i++) {
		if (!o[i].topic) {
			r = sq_failf(s, -EINVAL, "consumer offset %zu: no topic", i);
			break;
		}
		sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, o[i].topic, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, o[i].partition);
		sqlite3_bind_int64(st, 4, o[i].offset);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			r = sq_fail(s, rc, "storing consumer offsets");
	}
	sqlite3_finalize(st);
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
