/*
 * pg_verify.c - store_verify() of the PostgreSQL backend.  The server
 * keeps its own files consistent (WAL, checksums when the cluster has
 * them; amcheck is an extension a store cannot assume), so what is checked
 * is the store's invariants, which are not foreign keys (ids in arrays,
 * kept counts): in one REPEATABLE READ, READ ONLY transaction, a snapshot
 * that writers do not disturb.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "pg_internal.h"

#define PG_STR_(x) #x
#define PG_STR(x) PG_STR_(x)

struct pcheck {
	const char *name;
	const char *sql; /* one row: the problems, then what was looked at */
	const char *what;
};

static const struct pcheck checks[] = {
    {"store identity",
     "SELECT (SELECT count(*) FROM meta WHERE key = 'vantage_store' AND value = 1) <> 1 OR"
     " (SELECT value FROM meta WHERE key = 'schema_version') NOT BETWEEN 1 AND " PG_STR(
         PG_SCHEMA_VERSION) ", (SELECT value FROM meta WHERE key = 'schema_version')",
     "problems; schema version"},
    {"frames -> systems",
     "SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM systems y WHERE y.id = f.system)),"
     " count(*) FROM frames f",
     "frames of a missing system, of"},
    {"frame headers",
     "SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.id = f.head)),"
     " count(*) FROM frames f",
     "frames without their header record, of"},
    {"frame parts",
     "SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM sets t WHERE t.id = x.p)),"
     " count(*) FROM (SELECT unnest(parts) AS p FROM frames) x",
     "references to a missing record set, of"},
    {"record sets",
     "SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.id = x.i)),"
     " count(*) FROM (SELECT unnest(ids) AS i FROM sets) x",
     "references to a missing record, of"},
    {"series -> systems",
     "SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM systems y WHERE y.id = e.system)),"
     " count(*) FROM series e",
     "series of a missing system, of"},
    {"kept counts",
     "SELECT ((SELECT coalesce(sum(n), 0) FROM counts WHERE name = 'frames') <>"
     " (SELECT count(*) FROM frames))::int + ((SELECT coalesce(sum(n), 0) FROM counts WHERE"
     " name = 'records') <> (SELECT count(*) FROM records))::int + ((SELECT coalesce(sum(n), 0)"
     " FROM counts WHERE name = 'sets') <> (SELECT count(*) FROM sets))::int,"
     " (SELECT count(*) FROM frames)",
     "of frames, records and sets differ from the rows; frames"},
};

static int run_check(struct pg_store *s, const struct pcheck *c,
                     int (*cb)(void *ctx, const char *check, int64_t problems, const char *detail),
                     void *ctx, int64_t *total)
{
	int e;
	PGresult *r = pg_q(s, c->sql, 0, NULL, c->name, &e);
	if (!r)
		return e;
	int64_t bad = 0, seen = 0;
	if (PQntuples(r) == 1) {
		const char *b = PQgetvalue(r, 0, 0);
		bad = b[0] == 't' ? 1 : b[0] == 'f' ? 0 : strtoll(b, NULL, 10);
		seen = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	}
	PQclear(r);
	char d[300];
	snprintf(d, sizeof(d), "%lld %s %lld", (long long)bad, c->what, (long long)seen);
	*total += bad;
	return cb(ctx, c->name, bad, d);
}

int pg_verify(struct store *b,
              int (*cb)(void *ctx, const char *check, int64_t problems, const char *detail),
              void *ctx)
{
	struct pg_store *s = pgs(b);
	int e = pg_exec(s, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", "beginning a check");
	if (e)
		return e;
	int64_t total = 0;
	int r = 0;
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]) && r == 0; i++)
		r = run_check(s, &checks[i], cb, ctx, &total);
	if (r == 0) {
		int err;
		PGresult *q = pg_q(s,
		                   "SELECT to_regclass('log_lines') IS NOT NULL AND"
		                   " to_regclass('log_sources') IS NOT NULL",
		                   0, NULL, "looking for the log tables", &err);
		if (!q)
			r = err;
		else {
			bool logs = PQntuples(q) == 1 && PQgetvalue(q, 0, 0)[0] == 't';
			PQclear(q);
			static const struct pcheck lc = {
			    "log lines -> sources",
			    "SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM log_sources o "
			    "WHERE"
			    " o.id = l.src)), count(*) FROM log_lines l",
			    "log lines of a missing source, of"};
			if (logs)
				r = run_check(s, &lc, cb, ctx, &total);
		}
	}
	pg_exec(s, "ROLLBACK", "ending a check");
	if (r > 0)
		return -ECANCELED;
	return r < 0 ? r : (int)(total > 1000000 ? 1000000 : total);
}
