/*
 * sqlite_flows.c - the SQLite backend's flow records (store.h
 * store_put_flows, store_flows_top): sampled packets as the sFlow
 * collector attributed them, kept one hour.
 *
 * The table is made by the first write (a store that never received a
 * flow has none, and its schema version is unchanged):
 *   flows(t, agent, src_system, dst_system, src, dst, proto, sport, dport,
 *         bytes, rate)   one row per sample; bytes: the sampled packet's
 *                        length; rate: its sampling rate (>= 1)
 *   flows_t on (t)       the window scans and the retention
 * Top talkers sum bytes * rate and rate (the packets the sample stands
 * for) over the window, grouped by the asked columns (flows_group.h: the
 * GROUP BY is built from known names only), divided by its seconds.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "flows_group.h"
#include "sqlite_internal.h"

static int have_table(struct sqlite_store *s, bool *have)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db,
	                            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
	                            " name = 'flows'",
	                            -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "reading flows");
	rc = sqlite3_step(st);
	*have = rc == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : sq_fail(s, rc, "reading flows");
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

int sqlite_put_flows(struct store *base, const struct store_flow *f, size_t n)
{
	struct sqlite_store *s = sq(base);
	if (s->ro)
		return sq_failf(s, -EROFS, "the store is open read-only");
	if (n == 0)
		return 0;
	int r = sq_begin(s);
	if (r < 0)
		return r;
	r = sq_exec(s, "CREATE TABLE IF NOT EXISTS flows(t INTEGER NOT NULL, agent TEXT,"
	               " src_system TEXT, dst_system TEXT, src TEXT, dst TEXT, proto INTEGER,"
	               " sport INTEGER, dport INTEGER, bytes INTEGER NOT NULL,"
	               " rate INTEGER NOT NULL)");
	if (r == 0)
		r = sq_exec(s, "CREATE INDEX IF NOT EXISTS flows_t ON flows(t)");
	sqlite3_stmt *st = NULL;
	if (r == 0) {
		int rc =
		    sqlite3_prepare_v2(s->db,
		                       "INSERT INTO flows(t, agent, src_system, dst_system, src,"
		                       " dst, proto, sport, dport, bytes, rate) VALUES(?1, ?2, ?3,"
		                       " ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
		                       -1, &st, NULL);
		if (rc != SQLITE_OK)
			r = sq_fail(s, rc, "storing flows");
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		sqlite3_bind_int64(st, 1, f[i].time_ms);
		bind_text(st, 2, f[i].agent);
		bind_text(st, 3, f[i].src_system);
		bind_text(st, 4, f[i].dst_system);
		bind_text(st, 5, f[i].src);
		bind_text(st, 6, f[i].dst);
		sqlite3_bind_int64(st, 7, f[i].proto);
		sqlite3_bind_int64(st, 8, f[i].sport);
		sqlite3_bind_int64(st, 9, f[i].dport);
		sqlite3_bind_int64(st, 10, f[i].frame_length);
		sqlite3_bind_int64(st, 11, f[i].sampling_rate ? f[i].sampling_rate : 1);
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			r = sq_fail(s, rc, "storing flows");
	}
	sqlite3_finalize(st);
	if (r < 0) {
		sq_rollback(s);
		return r;
	}
	return sq_commit(s);
}

int sqlite_flows_top(struct store *base, int64_t from_ms, int64_t to_ms, const char *group,
                     size_t limit, int (*cb)(void *ctx, const struct store_flow_top *t), void *ctx)
{
	struct sqlite_store *s = sq(base);
	int idx[FLOWS_NCOLS], n;
	char err[256];
	if (flows_group_parse(group, idx, &n, err, sizeof(err)) < 0)
		return sq_failf(s, -EINVAL, "%s", err);
	if (to_ms <= from_ms)
		return sq_failf(s, -EINVAL, "flows: an empty window");
	int r = sq_follow(s);
	bool have = false;
	if (r == 0)
		r = have_table(s, &have);
	if (r < 0 || !have)
		return r;
	char cols[160] = "", sql[512];
	size_t cl = 0;
	for (int i = 0; i < n; i++)
		cl += (size_t)snprintf(cols + cl, sizeof(cols) - cl, "%s%s", i ? ", " : "",
		                       flows_cols[idx[i]]);
	snprintf(sql, sizeof(sql),
	         "SELECT %s%ssum(bytes * rate), sum(rate), count(*) FROM flows WHERE t >= ?1 AND"
	         " t <= ?2%s%s ORDER BY %d DESC LIMIT ?3",
	         cols, n ? ", " : "", n ? " GROUP BY " : "", cols, n + 1);
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "reading flows");
	sqlite3_bind_int64(st, 1, from_ms);
	sqlite3_bind_int64(st, 2, to_ms);
	sqlite3_bind_int64(st, 3, limit ? (int64_t)limit : 20);
	double secs = (double)(to_ms - from_ms) / 1000.0;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_flow_top t = {.nkey = n};
		t.samples = (uint64_t)sqlite3_column_int64(st, n + 2);
		if (t.samples == 0)
			continue; /* no grouping and no rows: the one row of NULL sums */
		for (int i = 0; i < n; i++)
			t.key[i] = (const char *)sqlite3_column_text(st, i);
		t.bytes_per_s = sqlite3_column_double(st, n) / secs;
		t.packets_per_s = sqlite3_column_double(st, n + 1) / secs;
		r = cb(ctx, &t);
	}
	sqlite3_finalize(st);
	if (r)
		return r;
	return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "reading flows");
}

int expire_flows(struct sqlite_store *s, int64_t now_ms)
{
	bool have = false;
	int r = have_table(s, &have);
	if (r < 0 || !have)
		return r;
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(s->db, "DELETE FROM flows WHERE t < ?1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sq_fail(s, rc, "expiring flows");
	sqlite3_bind_int64(st, 1, now_ms - FLOWS_RETAIN);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, rc, "expiring flows");
}
