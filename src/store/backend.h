/*
 * backend.h - what a store backend provides: one `const struct
 * store_backend`, the operations behind the calls of store.h.
 *
 * store.c (the dispatcher) picks the backend by the scheme of the store
 * URL given to store_open() and forwards every call of store.h to it; no
 * other file sees a backend.  Each op has the contract of the store.h call
 * of the same name (same arguments, same negative errno codes, the same
 * JSON); store.h is the documentation.
 *
 * A backend's handle embeds `struct store` as its FIRST member, so the
 * dispatcher can find the ops from any handle and the backend can cast
 * back:
 *
 *     struct pg_store { struct store base; PGconn *c; ... };
 *     static struct pg_store *pg(struct store *s) { return (struct pg_store *)s; }
 *
 * Adding a backend (PostgreSQL next): a file pg*.c defining
 * `const struct store_backend store_backend_pg`, declared here, and the
 * line of store_open() (store.c) that maps its URL scheme to it;
 * tests/unit/test_store_conformance.c then runs against it with
 * VANTAGE_TEST_STORE_URL=postgres://...
 */
#ifndef VANTAGE_STORE_BACKEND_H
#define VANTAGE_STORE_BACKEND_H

#include "store.h"

struct store {
	const struct store_backend *be;
};

struct store_backend {
	const char *name; /* "sqlite": for messages */
	/*
	 * Open the store at `location` (the URL with the scheme taken off when
	 * the backend wants that: a path for SQLite).  RW creates what is
	 * missing (for SQLite the file and its parent directory); RO on a
	 * store that does not exist gives -ENOENT and "no store at ...".  On
	 * error: a negative errno, *out NULL and the message in err.
	 */
	int (*open)(const char *location, enum store_mode mode, struct store **out, char *err,
	            size_t errlen);
	void (*close)(struct store *s);
	const char *(*errmsg)(const struct store *s);
	int (*check)(struct store *s);  /* NULL: always 0 */
	int (*reopen)(struct store *s); /* NULL: -ENOTSUP */

	/* writing */
	int (*put_frame)(struct store *s, const char *jsonl, size_t len, int64_t *frame_id);
	int (*put_frames)(struct store *s, struct store_frame *f, int n); /* NULL: put_frame each */
	/* frames and a consumer group's offsets in one transaction (NULL:
	 * -ENOTSUP) */
	int (*put_frames_at)(struct store *s, struct store_frame *f, int n, const char *group,
	                     const struct store_offset *o, size_t no);
	int (*offsets)(struct store *s, const char *group,
	               int (*cb)(void *ctx, const struct store_offset *o), void *ctx);
	int (*mark_gone)(struct store *s, const char *kind, const char *host,
	                 const char *const *present, int n, int64_t now_ms);
	int (*maintain)(struct store *s, int64_t now_ms);

	/* reading */
	int (*systems_json)(struct store *s, const struct store_system_filter *f, struct buf *out);
	int (*frame_json)(struct store *s, const char *system_id, int64_t at_ms,
	                  const char *feature, struct buf *out);
	int (*series_json)(struct store *s, const char *system_id, const char *metric,
	                   int64_t from_ms, int64_t to_ms, int64_t step_ms, const char *stat,
	                   struct buf *out);
	int (*metric_names_json)(struct store *s, const char *system_id, struct buf *out);
	/* a read session (store_read_begin); NULL: none, reads are each
	 * their own snapshot */
	int (*read_begin)(struct store *s);
	void (*read_end)(struct store *s);
	int (*frame_times)(struct store *s, const char *system_id, int64_t from_ms, int64_t to_ms,
	                   const char *except, size_t max, int64_t **times, size_t *n);
	int (*state_records)(struct store *s, int64_t at_ms,
	                     int (*system)(void *ctx, uint32_t idx,
	                                   const struct store_state_system *y),
	                     int (*record)(void *ctx, const struct store_state_record *r),
	                     void *ctx);
	/* NULL: -ENOTSUP (the caller reads the whole state instead) */
	int (*state_records_matching)(
	    struct store *s, int64_t at_ms, const struct store_text_sel *sel, size_t nsel,
	    int (*system)(void *ctx, uint32_t idx, const struct store_state_system *y),
	    int (*record)(void *ctx, const struct store_state_record *r), void *ctx);
	int (*latest_points)(struct store *s, int (*cb)(void *ctx, const struct store_latest *p),
	                     void *ctx);
	int (*stats_json)(struct store *s, struct buf *out);
	int (*verify)(struct store *s,
	              int (*cb)(void *ctx, const char *check, int64_t problems, const char *detail),
	              void *ctx); /* NULL: -ENOTSUP */

	/* numeric reads, objects, events, gone reasons (NULL: -ENOTSUP) */
	int (*series_read)(struct store *s, const struct store_series_query *q,
	                   int (*cb)(void *ctx, const struct store_series_data *d), void *ctx);
	int (*object_put)(struct store *s, const char *kind, const char *name, const char *json,
	                  int64_t now_ms);
	int (*object_delete)(struct store *s, const char *kind, const char *name);
	int (*objects)(struct store *s, const char *kind,
	               int (*cb)(void *ctx, const char *name, const char *json, int64_t updated_ms),
	               void *ctx);
	int (*event_put)(struct store *s, const struct store_event *e, int64_t *id);
	int (*events)(struct store *s, const struct store_event_filter *f,
	              int (*cb)(void *ctx, int64_t id, const struct store_event *e), void *ctx);
	int (*gone_reason)(struct store *s, const char *system_id, const char *reason_json,
	                   int64_t now_ms);

	/* logs and flows (NULL: -ENOTSUP) */
	int (*put_logs)(struct store *s, const struct store_log *l, size_t n,
	                const struct store_log_cursor *c, size_t nc);
	int (*log_cursors)(struct store *s, int (*cb)(void *ctx, const struct store_log_cursor *c),
	                   void *ctx);
	int (*logs)(struct store *s, const struct store_log_query *q,
	            int (*cb)(void *ctx, int64_t id, const struct store_log *l), void *ctx);
	int (*log_retention)(struct store *s, int64_t default_ms, const struct store_log_retain *r,
	                     size_t n);
	int (*put_flows)(struct store *s, const struct store_flow *f, size_t n);
	int (*flows_top)(struct store *s, int64_t from_ms, int64_t to_ms, const char *group,
	                 size_t limit, int (*cb)(void *ctx, const struct store_flow_top *t),
	                 void *ctx);
};

/* Now (wall clock, ms) plus a minute: a frame time beyond it is "in the
 * future", as the frames taken before the clock was set back are.  Such a
 * time does not stay a system's latest (last_seen, last_metric, its latest
 * frame) once a frame of the present comes, in either backend
 * (docs/storage.md, the clock). */
#define STORE_FUTURE_SLACK_MS 60000
int64_t store_future_ms(void);

/* The backends of this build. */
extern const struct store_backend store_backend_sqlite;
extern const struct store_backend store_backend_pg;

#endif
