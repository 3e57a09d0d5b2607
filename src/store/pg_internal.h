/*
 * pg_internal.h - what the PostgreSQL backend's files (pg.c, pg_ingest.c,
 * pg_read.c, pg_maintain.c) share: the handle, its prepared statements,
 * its caches and the error mapping.
 *
 * Invariants of struct pg_store:
 *   - c is one libpq connection, used by one thread at a time.
 *   - the caches (recs, sets, series, feats) only hold ids of rows that
 *     were committed; they are emptied after a rollback and whenever the
 *     garbage collector ran (meta 'gc_epoch' changed: writers hold a
 *     shared advisory lock for their transaction, the collector an
 *     exclusive one, so no cached id dies under a writer).
 *   - display is the URL without its password: the only form ever
 *     written into a message.
 */
#ifndef VANTAGE_STORE_PG_INTERNAL_H
#define VANTAGE_STORE_PG_INTERNAL_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "../util/buf.h"
#include "../util/u64set.h"
#include "backend.h"
#include "logs_common.h"
#include "series_common.h"
#include "store.h"

#define PG_SCHEMA_VERSION 2
#define PG_LOCK_GC 0x56414e5400000001LL     /* advisory: writers shared, gc exclusive */
#define PG_LOCK_DAEMON 0x56414e5400000002LL /* advisory: the store's daemon */
#define PG_LOCK_DDL 0x56414e5400000003LL    /* advisory: creating partitions */

struct pbatch;

struct pg_store {
	struct store base; /* first: the handle store.c sees */
	PGconn *c;
	char *conninfo; /* the URL given to libpq (schema parameter taken out) */
	char *display;  /* the URL without its password, for messages */
	char *schema;   /* quoted identifier */
	bool ro, daemon;
	bool read_session;
	bool resume_session; /* a write paused the read session (pg_objects.c) */
	int nprep;
	struct {
		const char *sql;
	} prep[64];
	char err[512];
	char sqlstate[6];     /* of the last failure (pg_fail) */
	int careful;          /* frames to insert records with ON CONFLICT (pg_ingest.c) */
	struct u64map recs;   /* record hash (first 8 bytes) -> id */
	struct u64map sets;   /* set hash -> id */
	struct u64map series; /* hash of (system, name, labels) -> id */
	struct u64map parts;  /* raw hours with a partition -> 1 */
	struct {
		char name[32];
		int64_t id;
	} feats[256];
	int nfeats;
	struct pbatch *bt; /* the batch being stored (pg_ingest.c) */
	int64_t gc_epoch;
	bool wm_set;                 /* meta has the roll-up watermarks (then only lowered) */
	struct log_retention logret; /* store_log_retention() (pg_logs.c) */
};

static inline struct pg_store *pgs(struct store *s)
{
	return (struct pg_store *)s;
}

/* ---- pg.c ---- */
/* Record "<display>: <what>: <server message>" and return the negative
 * errno for the result (or the connection's state when r is NULL). */
int pg_fail(struct pg_store *s, PGresult *r, const char *what);
int pg_failf(struct pg_store *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Run a statement without parameters; 0 or the error. */
int pg_exec(struct pg_store *s, const char *sql, const char *what);
/* A statement with text parameters (NULL: SQL NULL), prepared once per
 * connection (its text is the key).  The result (PGRES_TUPLES_OK or
 * PGRES_COMMAND_OK) or NULL with the error recorded in *err. */
PGresult *pg_q(struct pg_store *s, const char *sql, int n, const char *const *params,
               const char *what, int *err);
/* The same with binary parameters of the given types (OIDs) and a binary
 * result (at most PG_QB_MAX parameters). */
#define PG_QB_MAX 8
PGresult *pg_qb(struct pg_store *s, const char *sql, int n, const Oid *types,
                const struct buf *params, const char *what, int *err);
/* The same sent without waiting (0 or the error), and its result later:
 * one statement in flight at a time, nothing else sent meanwhile. */
int pg_qb_send(struct pg_store *s, const char *sql, int n, const Oid *types,
               const struct buf *params, const char *what);
PGresult *pg_qb_result(struct pg_store *s, const char *what, int *err);
int pg_begin(struct pg_store *s); /* a write transaction, GC lock shared */
int pg_commit(struct pg_store *s);
void pg_rollback(struct pg_store *s);
void pg_caches_clear(struct pg_store *s);
int64_t pg_meta_get(struct pg_store *s, const char *key, int64_t def);
int pg_meta_set(struct pg_store *s, const char *key, int64_t v);
int pg_count_add(struct pg_store *s, const char *name, int64_t n);
/* Feature name -> id (created when `create`; 0 unknown) */
int64_t pg_feature_id(struct pg_store *s, const char *name, size_t n, bool create);
const char *pg_feature_name(struct pg_store *s, int64_t id);
int pg_load_features(struct pg_store *s);
/* systems.id of a system id (decoded), 0 unknown, or a negative errno. */
int64_t pg_system_row(struct pg_store *s, const char *sid);
/* A PostgreSQL array literal of text elements, appended. */
void pg_text_array(struct buf *b, const char *const *v, const size_t *len, size_t n);
void pg_levels(struct pg_store *s, struct levels *lv);
struct rollup_src pg_rollups(struct pg_store *s);
/* Raw points of series r[0..n) with t in [from, to), by time. */
int pg_raw_gather(struct pg_store *s, struct sread *r, size_t n, int64_t from, int64_t to);
/* The raw partition of hour h exists (made in the open transaction). */
int pg_raw_partition(struct pg_store *s, int64_t h);

/* the ops */
int pg_put_frame(struct store *b, const char *jsonl, size_t len, int64_t *id);
int pg_put_frames(struct store *b, struct store_frame *f, int n);
int pg_put_frames_at(struct store *b, struct store_frame *f, int n, const char *group,
                     const struct store_offset *o, size_t no);
int pg_offsets(struct store *b, const char *group,
               int (*cb)(void *ctx, const struct store_offset *o), void *ctx);
int pg_mark_gone(struct store *b, const char *kind, const char *host, const char *const *present,
                 int n, int64_t now_ms);
int pg_maintain(struct store *b, int64_t now_ms);
int pg_systems_json(struct store *b, const struct store_system_filter *f, struct buf *out);
int pg_frame_json(struct store *b, const char *system_id, int64_t at_ms, const char *feature,
                  struct buf *out);
int pg_series_json(struct store *b, const char *system_id, const char *metric, int64_t from_ms,
                   int64_t to_ms, int64_t step_ms, const char *stat, struct buf *out);
int pg_metric_names_json(struct store *b, const char *system_id, struct buf *out);
int pg_read_begin(struct store *b);
void pg_read_end(struct store *b);
int pg_frame_times(struct store *b, const char *system_id, int64_t from_ms, int64_t to_ms,
                   const char *except, size_t max, int64_t **times, size_t *n);
int pg_state_records(struct store *b, int64_t at_ms,
                     int (*system)(void *ctx, uint32_t idx, const struct store_state_system *y),
                     int (*record)(void *ctx, const struct store_state_record *r), void *ctx);
/* pg_state_records, passing only the records whose id is in `only` (NULL:
 * all); in the caller's transaction when one is open (pg_search.c) */
int pg_state_records_in(struct pg_store *s, int64_t at_ms, const struct u64set *only,
                        int (*system)(void *ctx, uint32_t idx, const struct store_state_system *y),
                        int (*record)(void *ctx, const struct store_state_record *r), void *ctx);
/* the search text index (pg_search.c): the op, and its fill run by
 * pg_maintain */
int pg_state_records_matching(
    struct store *b, int64_t at_ms, const struct store_text_sel *sel, size_t nsel,
    int (*system)(void *ctx, uint32_t idx, const struct store_state_system *y),
    int (*record)(void *ctx, const struct store_state_record *r), void *ctx);
int pg_search_fill(struct pg_store *s);
int pg_latest_points(struct store *b, int (*cb)(void *ctx, const struct store_latest *p),
                     void *ctx);
int pg_stats_json(struct store *b, struct buf *out);
/* store_verify() (pg_verify.c) */
int pg_verify(struct store *b,
              int (*cb)(void *ctx, const char *check, int64_t problems, const char *detail),
              void *ctx);
int pg_series_read(struct store *b, const struct store_series_query *q,
                   int (*cb)(void *ctx, const struct store_series_data *d), void *ctx);
int pg_object_put(struct store *b, const char *kind, const char *name, const char *json,
                  int64_t now_ms);
int pg_object_delete(struct store *b, const char *kind, const char *name);
int pg_objects(struct store *b, const char *kind,
               int (*cb)(void *ctx, const char *name, const char *json, int64_t updated_ms),
               void *ctx);
int pg_event_put(struct store *b, const struct store_event *e, int64_t *id);
int pg_events(struct store *b, const struct store_event_filter *f,
              int (*cb)(void *ctx, int64_t id, const struct store_event *e), void *ctx);
int pg_gone_reason(struct store *b, const char *system_id, const char *reason_json, int64_t now_ms);
/* logs (pg_logs.c): the ops, and the retention run by pg_maintain */
int pg_put_logs(struct store *b, const struct store_log *l, size_t n,
                const struct store_log_cursor *c, size_t nc);
int pg_log_cursors(struct store *b, int (*cb)(void *ctx, const struct store_log_cursor *c),
                   void *ctx);
int pg_log_retention(struct store *b, int64_t default_ms, const struct store_log_retain *r,
                     size_t n);
int pg_logs(struct store *b, const struct store_log_query *q,
            int (*cb)(void *ctx, int64_t id, const struct store_log *l), void *ctx);
int pg_expire_logs(struct pg_store *s, int64_t now_ms);
/* flow records (pg_flows.c); pg_expire_flows: the retention, from maintain */
int pg_put_flows(struct store *b, const struct store_flow *f, size_t n);
int pg_flows_top(struct store *b, int64_t from_ms, int64_t to_ms, const char *group, size_t limit,
                 int (*cb)(void *ctx, const struct store_flow_top *t), void *ctx);
int pg_expire_flows(struct pg_store *s, int64_t now_ms);

#endif
