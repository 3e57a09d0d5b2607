/*
 * sqlite_internal.h - what the SQLite backend's files (sqlite.c,
 * sqlite_ingest.c, sqlite_points.c, sqlite_rollup.c, sqlite_read.c,
 * sqlite_series.c, sqlite_objects.c, hmap.c)
 * share: the handle, its prepared-statement cache, its in-memory
 * caches, varints, error mapping and the retention constants.
 *
 * Invariants of struct sqlite_store:
 *   - db is one SQLite connection, used by one thread at a time.
 *   - the caches (recs, series, feats) only hold rows committed to this
 *     database; they are emptied after any rollback, after garbage
 *     collection, and whenever another connection has written the file
 *     (PRAGMA data_version changed), so a cached id is always a live row.
 *   - wm1m/wm1h mirror meta 'rollup_1m'/'rollup_1h' (-1: unset).
 */
#ifndef VANTAGE_STORE_SQLITE_INTERNAL_H
#define VANTAGE_STORE_SQLITE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../util/buf.h"
#include "../util/jscan.h"
#include "../util/u64set.h"
#include "backend.h"
#include "logs_common.h"
#include "series_common.h"
#include "store.h"

#define STORE_APPID 0x56414e54 /* 'VANT', PRAGMA application_id */
#define STORE_MAGIC "vantage-store"
#define STORE_SCHEMA_VERSION 2

/* A small map from byte strings to row ids (hmap.c): entries in one array,
 * keys in one arena, a u64map from a key's hash to its entry; when it is
 * 70% of cap full it is emptied (it is a cache). */
struct hent {
	uint64_t h;
	int64_t id; /* > 0 (row ids start at 1) */
	uint32_t koff, klen;
};
struct hmap {
	struct hent *e;  /* cap entries; [0, n) used, in the order added */
	uint32_t cap, n; /* cap: a power of two */
	uint64_t epoch;  /* counts the times the map was emptied */
	struct buf keys;
	struct u64map idx; /* key hash -> index in e (uint32_t) */
};
void hmap_init(struct hmap *m, uint32_t cap);
void hmap_clear(struct hmap *m);
void hmap_free(struct hmap *m);
int64_t hmap_get(const struct hmap *m, const void *key, size_t len);
void hmap_put(struct hmap *m, const void *key, size_t len, int64_t id);

enum stmt_id {
	ST_DATA_VERSION,
	ST_META_GET,
	ST_META_SET,
	ST_COUNT_ADD,
	ST_FEAT_FIND,
	ST_FEAT_INS,
	ST_FEAT_ALL,
	ST_REC_INS,
	ST_REC_GET,
	ST_PREV_FRAME,
	ST_SET_INS,
	ST_SET_FIND,
	ST_SET_GET,
	ST_SYS_UPSERT,
	ST_SYS_METRIC,
	ST_SYS_FIND,
	ST_SYS_FMASK,
	ST_FRAME_INS,
	ST_SERIES_FIND,
	ST_SERIES_INS,
	ST_POINT_INS,
	ST_POINT_UPD,
	ST_POINT_GET,
	ST_NEW_RANGE,
	ST_SERIES_SYS,
	ST_NEW_MINUTE,
	ST_CHUNK_RANGE,
	ST_CHUNK_GET,
	ST_CHUNK_PUT,
	ST_P1M_GET,
	ST_P1H_GET,
	ST_P1M_ROW,
	ST_P1H_ROW,
	ST_NEW_SCAN,
	ST__N
};

#define FEAT_MAX 256

struct pcache; /* sqlite_series.c */
struct ckpt;   /* sqlite.c: the background checkpointer */
struct tcache; /* sqlite_read.c */

struct sqlite_store {
	struct store base; /* first: the handle store.c sees */
	sqlite3 *db;
	char *path;
	bool ro;
	bool daemon;      /* STORE_DAEMON: holds the claim on PATH.lock */
	bool immutable;   /* RO on a file nobody can write (immutable=1) */
	bool small_pages; /* a file made by this handle gets 4 KiB pages */
	dev_t dev;        /* the file open, to notice it deleted or replaced */
	ino_t ino;
	int lock_fd;       /* the daemon's flock on lock_path, or -1 */
	bool read_session; /* store_read_begin() opened a read transaction */
	char *lock_path;
	char err[512];
	sqlite3_stmt *st[ST__N];
	struct hmap recs;   /* 16-byte record hash -> records.id */
	struct hmap warm;   /* (system row, feature id) -> recs.epoch + 1 when
	                     * every record of the system's last set of that
	                     * feature is in recs */
	struct hmap series; /* system row, name, labels -> series.id */
	struct {
		char name[32];
		int64_t id;
	} feats[FEAT_MAX]; /* features table, by name */
	int nfeats;
	int64_t data_version;
	int64_t wm1m, wm1h;
	struct sha256 *sha;
	struct pcache *pc;           /* read-only handles: decoded points (sqlite_series.c) */
	struct tcache *tc;           /* and series answers' text (sqlite_read.c) */
	struct ckpt *ck;             /* RW handles: checkpoints in a thread of their own */
	struct log_retention logret; /* store_log_retention() (sqlite_logs.c) */
};

static inline struct sqlite_store *sq(struct store *s)
{
	return (struct sqlite_store *)s;
}

/* The backend's ops (store_backend_sqlite, sqlite.c), each with the
 * contract of the store.h call of the same name. */
int sqlite_put_frame(struct store *base, const char *jsonl, size_t len, int64_t *frame_id);
int sqlite_put_frames(struct store *base, struct store_frame *f, int n);
int sqlite_put_frames_at(struct store *base, struct store_frame *f, int n, const char *group,
                         const struct store_offset *o, size_t no);
int sqlite_offsets(struct store *base, const char *group,
                   int (*cb)(void *ctx, const struct store_offset *o), void *ctx);
/* Store a group's offsets in the open transaction (sqlite_offsets.c). */
int offsets_put(struct sqlite_store *s, const char *group, const struct store_offset *o, size_t no);
int sqlite_mark_gone(struct store *base, const char *kind, const char *host,
                     const char *const *present, int n, int64_t now_ms);
int sqlite_maintain(struct store *base, int64_t now_ms);
int sqlite_systems_json(struct store *base, const struct store_system_filter *f, struct buf *out);
int sqlite_frame_json(struct store *base, const char *system_id, int64_t at_ms, const char *feature,
                      struct buf *out);
int sqlite_series_json(struct store *base, const char *system_id, const char *metric,
                       int64_t from_ms, int64_t to_ms, int64_t step_ms, const char *stat,
                       struct buf *out);
int sqlite_metric_names_json(struct store *base, const char *system_id, struct buf *out);
int sqlite_read_begin(struct store *base);
void sqlite_read_end(struct store *base);
int sqlite_frame_times(struct store *base, const char *system_id, int64_t from_ms, int64_t to_ms,
                       const char *except, size_t max, int64_t **times, size_t *n);
int sqlite_state_records(struct store *base, int64_t at_ms,
                         int (*system)(void *ctx, uint32_t idx, const struct store_state_system *y),
                         int (*record)(void *ctx, const struct store_state_record *r), void *ctx);
int sqlite_latest_points(struct store *base, int (*cb)(void *ctx, const struct store_latest *p),
                         void *ctx);
int sqlite_stats_json(struct store *base, struct buf *out);
/* store_verify() (sqlite_verify.c) */
int sqlite_verify(struct store *base,
                  int (*cb)(void *ctx, const char *check, int64_t problems, const char *detail),
                  void *ctx);
int sqlite_series_read(struct store *base, const struct store_series_query *q,
                       int (*cb)(void *ctx, const struct store_series_data *d), void *ctx);
int sqlite_object_put(struct store *base, const char *kind, const char *name, const char *json,
                      int64_t now_ms);
int sqlite_object_delete(struct store *base, const char *kind, const char *name);
int sqlite_objects(struct store *base, const char *kind,
                   int (*cb)(void *ctx, const char *name, const char *json, int64_t updated_ms),
                   void *ctx);
int sqlite_event_put(struct store *base, const struct store_event *e, int64_t *id);
int sqlite_events(struct store *base, const struct store_event_filter *f,
                  int (*cb)(void *ctx, int64_t id, const struct store_event *e), void *ctx);
int sqlite_gone_reason(struct store *base, const char *system_id, const char *reason_json,
                       int64_t now_ms);
/* Delete events older than the retention (sqlite_objects.c; maintain). */
int expire_events(struct sqlite_store *s, int64_t now_ms);
/* Logs (sqlite_logs.c): the ops, and the retention run by maintain. */
int sqlite_put_logs(struct store *base, const struct store_log *l, size_t n,
                    const struct store_log_cursor *c, size_t nc);
int sqlite_log_cursors(struct store *base, int (*cb)(void *ctx, const struct store_log_cursor *c),
                       void *ctx);
int sqlite_log_retention(struct store *base, int64_t default_ms, const struct store_log_retain *r,
                         size_t n);
int sqlite_logs(struct store *base, const struct store_log_query *q,
                int (*cb)(void *ctx, int64_t id, const struct store_log *l), void *ctx);
int sqlite_expire_logs(struct sqlite_store *s, int64_t now_ms);
/* Flow records (sqlite_flows.c); expire_flows: the 1-hour retention (maintain). */
int sqlite_put_flows(struct store *base, const struct store_flow *f, size_t n);
int sqlite_flows_top(struct store *base, int64_t from_ms, int64_t to_ms, const char *group,
                     size_t limit, int (*cb)(void *ctx, const struct store_flow_top *t), void *ctx);
int expire_flows(struct sqlite_store *s, int64_t now_ms);

/* ---- sqlite.c ---- */
/* The cached statement (prepared on first use, reset and unbound). */
sqlite3_stmt *stmt(struct sqlite_store *s, enum stmt_id id);
/* Record an error "<path>: <what>: <sqlite message>" and return the
 * negative errno for SQLite result `rc`. */
int sq_fail(struct sqlite_store *s, int rc, const char *what);
/* Same with a message of our own (no SQLite text). */
int sq_failf(struct sqlite_store *s, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int sq_exec(struct sqlite_store *s, const char *sql);
int sq_begin(struct sqlite_store *s); /* BEGIN IMMEDIATE */
int sq_commit(struct sqlite_store *s);
void sq_rollback(struct sqlite_store *s); /* and empties the caches */
void sq_caches_clear(struct sqlite_store *s);
/* Empty the caches if another connection wrote the file. */
int sq_sync_caches(struct sqlite_store *s);
/* A read-only handle whose path now names another file (the daemon made a
 * new store) opens that one in its place; a deleted file gives -ESTALE.
 * Read-write handles: 0 (the daemon decides, store_check()). */
int sq_follow(struct sqlite_store *s);
int64_t meta_get(struct sqlite_store *s, const char *key, int64_t def);
int meta_set(struct sqlite_store *s, const char *key, int64_t v);
int count_add(struct sqlite_store *s, const char *name, int64_t delta);
/* Feature name (raw, as in the JSON) -> features.id, created if needed
 * (create false: 0 when unknown).  Negative errno on failure. */
int64_t feature_id(struct sqlite_store *s, const char *name, size_t n, bool create);
/* The bit of feature id `fid` (>= 1) in a frame's fmask: features past the
 * 64th share the last bit. */
static inline int feature_bit(int64_t fid)
{
	return (int)(fid - 1 < 63 ? fid - 1 : 63);
}
const char *feature_name(struct sqlite_store *s, int64_t id);
/* systems.id for a system id (decoded C string), 0 if unknown. */
int64_t system_row(struct sqlite_store *s, const char *system_id, int *err);

/* ---- sqlite_ingest.c ---- */
/* The series id of (system row, name, labels), created when `create`.
 * 0 when absent and not created; negative errno on failure. */
int64_t series_id(struct sqlite_store *s, int64_t sysrow, const char *name, size_t nlen,
                  const char *labels, size_t llen, bool create);

/* ---- sqlite_points.c ---- */
void point_from_col(sqlite3_stmt *st, int col, int64_t t, struct point *p);
void point_bind(sqlite3_stmt *st, int idx, const struct point *p);
void chunk_encode(const struct point *p, size_t n, int64_t h, struct buf *out);
/* The minutes points_new holds: [*lo, *hi]; *lo > *hi when empty. */
int new_range(struct sqlite_store *s, int64_t *lo, int64_t *hi);
/* Append the points of a chunk with t in [from, to); -EINVAL if corrupt. */
int chunk_decode(const void *data, size_t len, int64_t h, int64_t from, int64_t to,
                 struct pvec *out);
/* A frame's points (sorted by series) as one blob, and back: the points
 * of `series` (0: all) appended with time t. */
void fpoints_encode(const struct point *p, size_t n, struct buf *out);
int fpoints_decode(const void *data, size_t len, int64_t t, int64_t series, struct pvec *out);
/* A frame blob's points of the series r[0..n) (ascending ids), each
 * appended to its r[k].pts with time t. */
int fpoints_pick(const void *data, size_t len, int64_t t, struct sread *r, size_t n);
/* Sort by series then time; of equal (series, time) keep the last. */
void pvec_sort_unique(struct pvec *v);
/* Points of system `sysrow` (series 0: every series) in points_new with t
 * in [from, to), appended. */
int new_points(struct sqlite_store *s, int64_t sysrow, int64_t series, int64_t from, int64_t to,
               struct pvec *out);
/* All raw points of a series with t in [from, to), by time (chunks and
 * points_new merged; one point per time). */
int raw_read(struct sqlite_store *s, int64_t series, int64_t from, int64_t to, struct pvec *out);
/* The raw point at exactly t: 1 found, 0 not, negative errno. */
int point_at(struct sqlite_store *s, int64_t series, int64_t t, struct point *p);
/* Compact points_new below `upto` into chunks (own transaction). */
int compact_points(struct sqlite_store *s, int64_t upto);

/* ---- sqlite_rollup.c ---- */

/* ---- sqlite_series.c: series as numbers (store_series_read, and the
 * core of store_series_json) ---- */

/* The watermarks of meta, loaded once per read. */
void levels_load(struct sqlite_store *s, struct levels *lv);

/* Gather the raw points in [from, to) of the series r[0..n), sorted by
 * (system, id); `scan`: one range scan of points_new for all systems
 * rather than a lookup per minute and system. */
/* The roll-up rows of this store for series_reduce(). */
struct rollup_src sqlite_rollups(struct sqlite_store *s);
int raw_gather(struct sqlite_store *s, struct sread *r, size_t n, int64_t from, int64_t to,
               const struct levels *lv, bool scan);
/* The same for a few series of one system, through the decoded points
 * cache of a read-only handle inside a read transaction (else plain
 * raw_gather): r[k].pts may then be borrowed (sread_free()). */
int raw_gather_cached(struct sqlite_store *s, struct sread *r, size_t n, int64_t from, int64_t to,
                      const struct levels *lv);
/* The database version a read-only handle's caches are valid for: its
 * read transaction's PRAGMA data_version; -1 when it must not cache (a
 * read-write handle, no read transaction open). */
int64_t cache_version(struct sqlite_store *s);
/* Free a handle's caches (sqlite_close). */
void series_caches_free(struct sqlite_store *s);
void tcache_free(struct tcache *tc); /* sqlite_read.c */

/* ---- varints (LEB128) and zigzag ---- */
static inline void vput(struct buf *b, uint64_t v)
{
	char t[10];
	int n = 0;
	while (v >= 0x80) {
		t[n++] = (char)(v | 0x80);
		v >>= 7;
	}
	t[n++] = (char)v;
	buf_add(b, t, (size_t)n);
}

static inline bool vget(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	uint64_t r = 0;
	for (int sh = 0; sh < 64 && *p < end; sh += 7) {
		unsigned char c = *(*p)++;
		r |= (uint64_t)(c & 0x7f) << sh;
		if (!(c & 0x80)) {
			*v = r;
			return true;
		}
	}
	return false;
}

static inline uint64_t zz(int64_t v)
{
	return ((uint64_t)v << 1) ^ (v < 0 ? ~0ULL : 0);
}
static inline int64_t unzz(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

#endif
