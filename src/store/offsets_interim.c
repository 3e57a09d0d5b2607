/*
 * offsets_interim.c - INTERIM store_put_frames_at() and store_offsets()
 * (store.h) for the SQLite backend, so that `vantage ingest` links and its
 * exactly-once tests run before the store's own implementation lands.
 * Both are WEAK symbols: the store's real ones (sqlite and PostgreSQL
 * backends, through store.c) replace them at link time; delete this file
 * then.
 *
 * The offsets go in the same transaction as the frames without touching
 * the backend's code: they are staged in a TEMP table and a TEMP trigger
 * on the frames table copies them into ingest_offsets when the batch's
 * first frame is inserted, inside the batch's transaction (a batch with no
 * frame stored writes them in a transaction of their own).
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "sqlite_internal.h"
#include "store.h"

static int exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int prepare(sqlite3 *db)
{
	return exec(db, "CREATE TABLE IF NOT EXISTS ingest_offsets(grp TEXT NOT NULL,"
	                " topic TEXT NOT NULL, part INTEGER NOT NULL, next INTEGER NOT NULL,"
	                " PRIMARY KEY(grp, topic, part)) WITHOUT ROWID;"
	                "CREATE TEMP TABLE IF NOT EXISTS staged_offsets(grp TEXT, topic TEXT,"
	                " part INTEGER, next INTEGER);"
	                "CREATE TEMP TRIGGER IF NOT EXISTS staged_offsets_go AFTER INSERT ON"
	                " main.frames WHEN EXISTS(SELECT 1 FROM temp.staged_offsets) BEGIN"
	                " INSERT OR REPLACE INTO ingest_offsets SELECT grp, topic, part, next"
	                " FROM staged_offsets; DELETE FROM staged_offsets; END;");
}

static int stage(sqlite3 *db, const char *group, const struct store_offset *o, size_t no,
                 const char *table)
{
	char sql[160];
	snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO %s VALUES(?1, ?2, ?3, ?4)", table);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	int r = 0;
	for (size_t i = 0; i < no && r == 0; i++) {
		sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, o[i].topic, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, o[i].partition);
		sqlite3_bind_int64(st, 4, o[i].offset);
		if (sqlite3_step(st) != SQLITE_DONE)
			r = -EIO;
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return r;
}

__attribute__((weak)) int store_put_frames_at(struct store *s, struct store_frame *f, int n,
                                              const char *group, const struct store_offset *o,
                                              size_t no)
{
	if (s->be != &store_backend_sqlite)
		return -ENOTSUP;
	sqlite3 *db = ((struct sqlite_store *)s)->db;
	int r = prepare(db);
	if (r == 0)
		r = exec(db, "DELETE FROM temp.staged_offsets");
	if (r == 0)
		r = stage(db, group, o, no, "temp.staged_offsets");
	if (r < 0)
		return r;
	if (n > 0) {
		r = store_put_frames(s, f, n);
		if (r < 0)
			return r;
	}
	/* no frame inserted (none given, or all refused): the offsets alone */
	sqlite3_stmt *st;
	bool left = false;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM temp.staged_offsets LIMIT 1", -1, &st, NULL) ==
	    SQLITE_OK) {
		left = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_finalize(st);
	}
	if (!left)
		return 0;
	r = exec(db, "BEGIN IMMEDIATE");
	if (r == 0)
		r = stage(db, group, o, no, "main.ingest_offsets");
	if (r == 0)
		r = exec(db, "COMMIT; DELETE FROM temp.staged_offsets");
	if (r < 0)
		exec(db, "ROLLBACK");
	return r < 0 ? -EBUSY : 0;
}

__attribute__((weak)) int store_offsets(struct store *s, const char *group,
                                        int (*cb)(void *ctx, const struct store_offset *o),
                                        void *ctx)
{
	if (s->be != &store_backend_sqlite)
		return -ENOTSUP;
	sqlite3 *db = ((struct sqlite_store *)s)->db;
	if (prepare(db) < 0)
		return -EIO;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "SELECT topic, part, next FROM ingest_offsets WHERE grp = ?1",
	                       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, group, -1, SQLITE_STATIC);
	int r = 0;
	while (r == 0 && sqlite3_step(st) == SQLITE_ROW) {
		struct store_offset o = {.topic = (const char *)sqlite3_column_text(st, 0),
		                         .partition = sqlite3_column_int(st, 1),
		                         .offset = sqlite3_column_int64(st, 2)};
		r = cb(ctx, &o);
	}
	sqlite3_finalize(st);
	return r;
}
