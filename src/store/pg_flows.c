/*
 * pg_flows.c - the PostgreSQL backend's flow records (store.h
 * store_put_flows, store_flows_top), as sqlite_flows.c keeps them: one row
 * per sample, made by the first write (the schema version is unchanged),
 * an index on time, top talkers summed over a window and scaled by the
 * sampling rate, an hour's retention (pg_expire_flows, from maintain).
 *   flows(t, agent, src_system, dst_system, src, dst, proto, sport, dport,
 *         bytes, rate)
 * A batch is one INSERT of unnest()ed arrays.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flows_group.h"
#include "pg_internal.h"

static const char create_sql[] =
    "CREATE TABLE IF NOT EXISTS flows(t bigint NOT NULL, agent text, src_system text,"
    " dst_system text, src text, dst text, proto int, sport int, dport int,"
    " bytes bigint NOT NULL, rate bigint NOT NULL);"
    "CREATE INDEX IF NOT EXISTS flows_t ON flows(t)";

static const char insert_sql[] =
    "INSERT INTO flows(t, agent, src_system, dst_system, src, dst, proto, sport, dport, bytes,"
    " rate) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[],"
    " $6::text[], $7::int[], $8::int[], $9::int[], $10::bigint[], $11::bigint[])";

/* A text array literal element: NULL or the quoted string. */
static void elem(struct buf *b, bool first, const char *v)
{
	if (!first)
		buf_addc(b, ',');
	if (!v) {
		buf_adds(b, "NULL");
		return;
	}
	buf_addc(b, '"');
	for (const char *p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_addc(b, '\\');
		buf_addc(b, *p);
	}
	buf_addc(b, '"');
}

static void num(struct buf *b, bool first, int64_t v)
{
	buf_printf(b, "%s%" PRId64, first ? "" : ",", v);
}

int pg_put_flows(struct store *base, const struct store_flow *f, size_t n)
{
	struct pg_store *s = pgs(base);
	if (s->ro)
		return pg_failf(s, -EROFS, "the store is open read-only");
	if (n == 0)
		return 0;
	int e = pg_exec(s, create_sql, "making the flows table");
	if (e < 0)
		return e;
	struct buf a[11];
	memset(a, 0, sizeof(a));
	for (int k = 0; k < 11; k++)
		buf_addc(&a[k], '{');
	for (size_t i = 0; i < n; i++) {
		bool first = i == 0;
		num(&a[0], first, f[i].time_ms);
		elem(&a[1], first, f[i].agent);
		elem(&a[2], first, f[i].src_system);
		elem(&a[3], first, f[i].dst_system);
		elem(&a[4], first, f[i].src);
		elem(&a[5], first, f[i].dst);
		num(&a[6], first, f[i].proto);
		num(&a[7], first, f[i].sport);
		num(&a[8], first, f[i].dport);
		num(&a[9], first, f[i].frame_length);
		num(&a[10], first, f[i].sampling_rate ? f[i].sampling_rate : 1);
	}
	const char *p[11];
	for (int k = 0; k < 11; k++) {
		buf_addc(&a[k], '}');
		p[k] = buf_str(&a[k]);
	}
	PGresult *r = pg_q(s, insert_sql, 11, p, "storing flows", &e);
	PQclear(r);
	for (int k = 0; k < 11; k++)
		buf_free(&a[k]);
	return e;
}

/* Whether the flows table exists: 1, 0, or a negative errno. */
static int have_table(struct pg_store *s)
{
	int e;
	PGresult *r =
	    pg_q(s, "SELECT to_regclass('flows') IS NOT NULL", 0, NULL, "reading flows", &e);
	if (!r)
		return e;
	int have = PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "t");
	PQclear(r);
	return have;
}

int pg_flows_top(struct store *base, int64_t from_ms, int64_t to_ms, const char *group,
                 size_t limit, int (*cb)(void *ctx, const struct store_flow_top *t), void *ctx)
{
	struct pg_store *s = pgs(base);
	int idx[FLOWS_NCOLS], n;
	char err[256];
	if (flows_group_parse(group, idx, &n, err, sizeof(err)) < 0)
		return pg_failf(s, -EINVAL, "%s", err);
	if (to_ms <= from_ms)
		return pg_failf(s, -EINVAL, "flows: an empty window");
	int h = have_table(s);
	if (h <= 0)
		return h;
	char cols[200] = "", sql[600];
	size_t cl = 0;
	for (int i = 0; i < n; i++)
		cl += (size_t)snprintf(cols + cl, sizeof(cols) - cl, "%s%s::text", i ? ", " : "",
		                       flows_cols[idx[i]]);
	char gb[200] = "";
	cl = 0;
	for (int i = 0; i < n; i++)
		cl += (size_t)snprintf(gb + cl, sizeof(gb) - cl, "%s%s", i ? ", " : "",
		                       flows_cols[idx[i]]);
	snprintf(sql, sizeof(sql),
	         "SELECT %s%ssum(bytes * rate)::float8, sum(rate)::float8, count(*) FROM flows"
	         " WHERE t >= $1 AND t <= $2%s%s ORDER BY %d DESC LIMIT $3",
	         cols, n ? ", " : "", n ? " GROUP BY " : "", gb, n + 1);
	char f[24], t[24], l[24];
	snprintf(f, sizeof(f), "%" PRId64, from_ms);
	snprintf(t, sizeof(t), "%" PRId64, to_ms);
	snprintf(l, sizeof(l), "%zu", limit ? limit : 20);
	const char *p[] = {f, t, l};
	/* not pg_q: it keys its prepared statements by the text's address */
	PGresult *r = PQexecParams(s->c, sql, 3, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		int e = pg_fail(s, r, "reading flows");
		PQclear(r);
		return e;
	}
	double secs = (double)(to_ms - from_ms) / 1000.0;
	int e = 0;
	for (int i = 0; i < PQntuples(r) && e == 0; i++) {
		struct store_flow_top top = {.nkey = n};
		top.samples = strtoull(PQgetvalue(r, i, n + 2), NULL, 10);
		if (top.samples == 0)
			continue;
		for (int k = 0; k < n; k++)
			top.key[k] = PQgetisnull(r, i, k) ? NULL : PQgetvalue(r, i, k);
		top.bytes_per_s = strtod(PQgetvalue(r, i, n), NULL) / secs;
		top.packets_per_s = strtod(PQgetvalue(r, i, n + 1), NULL) / secs;
		e = cb(ctx, &top);
	}
	PQclear(r);
	return e;
}

int pg_expire_flows(struct pg_store *s, int64_t now_ms)
{
	int h = have_table(s);
	if (h <= 0)
		return h;
	char sql[120];
	snprintf(sql, sizeof(sql), "DELETE FROM flows WHERE t < %" PRId64,
	         (int64_t)(now_ms - FLOWS_RETAIN));
	return pg_exec(s, sql, "expiring flows");
}
