/*
 * store.h - where frames and metric series are kept, the only interface of
 * the store.  store_open() takes a store URL: a path or sqlite:PATH is the
 * embedded SQLite store (one file, WAL); postgres://... the PostgreSQL
 * backend (src/store/pg*.c; backend.h says how a backend plugs in).
 *
 * Model (docs/storage.md has the schema):
 *   systems  one row per system id: identity (name, kind, runtime, image,
 *            host, labels JSON), first_seen, last_seen, gone (0/1)
 *   frames   one row per stored frame: system, time, header JSON
 *   records  each DISTINCT record (feature, key, value) stored once, by
 *            content hash; a frame points at the records it holds, so a
 *            process list crawled every minute that did not change costs a
 *            few bytes per frame, not its size again
 *   series   numeric fields of `metric` records as time series
 *            (system, name e.g. "memory.used_pct" or "cgroup.mem_usage_bytes",
 *            labels), with roll-ups and retention like CloudWatch's: raw
 *            points for 24 h, 1-minute aggregates (avg, min, max, sum, count,
 *            p50, p90, p99) for 15 days, 1-hour aggregates for 15 months
 *
 * Handles: a struct store is one connection (SQLite: to the file) and is
 * NOT thread-safe;
 * each thread opens its own handle on the same file (readers never block
 * the writer in WAL mode).  Times are milliseconds since the epoch.
 * Errors: negative errno-style codes; store_errmsg() gives the text of the
 * last one (naming the file for open errors).
 */
#ifndef VANTAGE_STORE_H
#define VANTAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"

struct store;

/*
 * STORE_RW    read-write: creates what is missing, migrates.
 * STORE_RO    read-only: never writes.  On a read-only file system (or in a
 *             directory it cannot write, with no -shm file) the file is
 *             opened immutable: frames still in a -wal file are not seen.
 * STORE_DAEMON
 *             STORE_RW, and the store's only daemon: an exclusive flock on
 *             PATH.lock (holding the pid) for the handle's life; a second
 *             one gives -EBUSY naming the pid of the first.  The lock file
 *             is removed at store_close().
 */
enum store_mode { STORE_RW, STORE_RO, STORE_DAEMON };

/*
 * Open the store at `url` (a path, sqlite:PATH, or postgres://...).  RW
 * creates what is missing (for a file: the file and its parent
 * directories, mode 0750) and migrates an older schema; RO on a store that
 * does not exist gives -ENOENT with "no store at PATH" (so callers never
 * stat() or mkdir themselves).  A file that is not a SQLite database, is
 * corrupt, or is a SQLite database of something else gives -EINVAL with a
 * message naming the file; a schema newer than this program gives
 * -EPROTO; an unknown scheme -EINVAL.  postgres://... (libpq's URL, plus
 * schema=NAME) is the PostgreSQL backend (docs/storage.md): RW creates the
 * schema, RO on a schema with no store gives -ENOENT, STORE_DAEMON takes
 * an advisory lock of the schema instead of a lock file.  Only a regular file (or nothing)
 * is opened: a device, a FIFO or a socket at the path gives -EINVAL naming
 * what it is, checked before anything opens it (a FIFO never blocks).  RW on
 * a read-only file system gives -EROFS; STORE_DAEMON on a store another
 * daemon holds, -EBUSY.  Returns 0 or a negative errno; on
 * error *out is NULL and store_errmsg(NULL) has the message (per thread).
 */
int store_open(const char *url, enum store_mode mode, struct store **out);
/* The store URL as it may be shown (logs, messages): a password in it
 * (postgres://user:PASSWORD@..., ...&password=...) replaced by "***".
 * Writes at most cap bytes (NUL-terminated) and returns out. */
char *store_url_safe(const char *url, char *out, size_t cap);
void store_close(struct store *s);
const char *store_errmsg(const struct store *s);

/*
 * Is the handle still the store its path names?  0 yes; -ESTALE when the
 * file was deleted or replaced by another file (store_errmsg() says which;
 * writes would go to a file nobody will see again).  The daemon calls it
 * before storing, then store_reopen().  Also renews the claim of a
 * STORE_DAEMON handle whose lock file was deleted.
 */
int store_check(struct store *s);

/*
 * Open the store at the handle's path again, in place (the handle stays
 * valid, its caches are emptied): a read-write handle on a deleted store
 * makes a new empty one there (the -wal and -shm files of the deleted one
 * are removed first), one on a replaced file opens that file.  On error
 * the handle keeps its old connection.  0 or a negative errno.
 */
int store_reopen(struct store *s);

/*
 * Store one frame given as the JSON Lines text `vantage crawl` writes
 * (header record of feature "frame" first, then its records).  The
 * system row is created or updated (last_seen, identity, gone = 0);
 * numeric fields of metric records become series points.  Atomic: all of
 * the frame or nothing.  Returns 0 and *frame_id, or a negative errno
 * (-ENOSPC on a full disk: the caller keeps the frame and retries).
 */
int store_put_frame(struct store *s, const char *jsonl, size_t len, int64_t *frame_id);

/*
 * Store several frames in ONE transaction (the daemon stores a tick's
 * frames of every system so).  Each frame is still atomic on its own: one
 * the store refuses (malformed: -EINVAL...) gets its error in .err and the
 * others are stored.  A transient failure (-ENOSPC, -EBUSY) or one that
 * loses the transaction stores none of them: every .err is set to it and
 * it is returned.  Returns 0 when the frames with .err 0 are stored (.id
 * set), or that negative errno.  A backend without a batch stores them
 * one by one, stopping at the first transient failure.
 */
struct store_frame {
	const char *jsonl;
	size_t len;
	int64_t id; /* out */
	int err;    /* out: 0 stored, or a negative errno */
};
int store_put_frames(struct store *s, struct store_frame *f, int n);

/*
 * Exactly once from a bus (vantage ingest): store frames AND the consumer
 * position they were read up to in ONE transaction, so that after a crash
 * the consumer resumes from the stored positions and no frame is stored
 * twice or lost.  `group` names the consumer group; each offset is the
 * NEXT offset to read of (topic, partition).  Frames as store_put_frames
 * (a refused frame gets its .err, the others and the offsets are stored).
 * Fence against a zombie consumer: a (topic, partition) given twice in o[]
 * is a move from its first offset (the one the caller read as stored; -1:
 * none) to its last; the batch is stored only if every such position
 * holds its first offset or nothing, else nothing is stored and -ESTALE
 * is returned (every .err set; store_errmsg() names the position): the
 * caller reads again from the stored positions.
 * store_offsets() gives the stored positions of a group (cb per
 * partition).  0 or a negative errno.
 */
struct store_offset {
	const char *topic;
	int32_t partition;
	int64_t offset;
};
int store_put_frames_at(struct store *s, struct store_frame *f, int n, const char *group,
                        const struct store_offset *o, size_t no);
int store_offsets(struct store *s, const char *group,
                  int (*cb)(void *ctx, const struct store_offset *o), void *ctx);

/* Mark every system of kind `kind` running on `host` (its "host" field;
 * NULL: on any host) whose id is not in `present` as gone (and present
 * ones as not gone).  Used after each discovery pass, with the local
 * host's name: systems other hosts sent (Kafka, sFlow) are not this
 * host's to mark. */
int store_mark_gone(struct store *s, const char *kind, const char *host, const char *const *present,
                    int n, int64_t now_ms);

/* Roll raw points up into 1-minute and 1-hour aggregates and delete what
 * retention no longer keeps; on PostgreSQL also add the records stored
 * since the last call to the search text index (in batches, off the
 * ingest path: store_state_records_matching()).  Cheap when there is
 * nothing to do; the daemon calls it every minute. */
int store_maintain(struct store *s, int64_t now_ms);

/* ---- queries: each appends JSON to `out` ---------------------------------- */

struct store_system_filter {
	const char *kind;    /* NULL: any */
	const char *runtime; /* NULL: any */
	const char *label;   /* "key=value" or "key"; NULL: any */
	int gone;            /* -1 any, 0 present only, 1 gone only */
};

/* [{"id","name","kind","runtime","image","host","labels":{},"first_seen",
 *   "last_seen","gone"}, ...] (times as ISO-8601 UTC strings) */
int store_systems_json(struct store *s, const struct store_system_filter *f, struct buf *out);

/*
 * A frame of `system_id`: the latest (at_ms == 0) or the last one at or
 * before at_ms.  {"frame": <header value>, "records": [{"feature","key",
 * "value"}...]}, only records of `feature` when not NULL.  -ENOENT when
 * the system or a frame does not exist.
 *
 * With a feature, the frame is the last one holding that feature.  Without
 * one (the daemon crawls features on different intervals, so most frames
 * hold a few), "frame" is the header of the last frame and "records" the
 * system's state: for each feature it ever had, the records of the last
 * frame holding it; "feature_times": {feature: ISO time of that frame}
 * says where each came from.  Records and headers come back byte for byte
 * as crawled (docs/storage.md).
 */
int store_frame_json(struct store *s, const char *system_id, int64_t at_ms, const char *feature,
                     struct buf *out);

/*
 * A metric series over [from_ms, to_ms] in buckets of step_ms, each
 * bucket reduced with `stat` ("avg", "min", "max", "sum", "count", "p50",
 * "p90", "p99").  Reads raw points, or the 1-minute or 1-hour roll-ups
 * when the range is older than raw retention or the step is coarse.
 * {"system","metric","stat","step_s","points":[[iso_time, value]...]}.
 * -ENOENT for an unknown system or metric; -EINVAL for a bad stat.
 *
 * `metric` is a name ("disk.used_pct") or a name with label matchers
 * ("disk.used_pct{mountpoint="/"}", several separated by commas).  The
 * answer also has "source" ("raw", "1m", "1h") and the series' "labels";
 * step_s is the step used (at least 60 on 1m, 3600 on 1h).  When several
 * series match (several mount points), "labels"/"points" are replaced by
 * "series": [{"labels":{...},"points":[...]}...].  Buckets start at
 * multiples of the step; empty buckets are left out.
 */
int store_series_json(struct store *s, const char *system_id, const char *metric, int64_t from_ms,
                      int64_t to_ms, int64_t step_ms, const char *stat, struct buf *out);

/*
 * A read session: the reads between store_read_begin() and
 * store_read_end() see one snapshot of the store and take its lock once
 * (analytics that read a state per system make thousands of small reads).
 * Not nested: a begin inside a session, or on a handle in a write, does
 * nothing, and its end neither.  A write of an object, an event or a gone reason inside a
 * session is allowed: the session's snapshot ends before it and a new one
 * begins after it.  Keep a session short: a writer's
 * checkpoint waits for it.  0 or a negative errno.
 */
int store_read_begin(struct store *s);
void store_read_end(struct store *s);

/*
 * The times of a system's frames in [from_ms, to_ms], oldest first, at
 * most `max` (the latest ones when there are more): *times is allocated
 * (free() it).  `except` (e.g. "metric") leaves out frames that hold that
 * feature only.  0, or -ENOENT for an unknown system.
 */
int store_frame_times(struct store *s, const char *system_id, int64_t from_ms, int64_t to_ms,
                      const char *except, size_t max, int64_t **times, size_t *n);

/*
 * The state of every system, each distinct record once: for search
 * (analytics/search_index.c), which indexes records, not frames.
 *
 * The systems are those present (at_ms == 0: not gone), or, at a time,
 * those with a frame at or before at_ms and not gone by then.  A system's
 * state is, for each feature it ever had, the records of its latest frame
 * (at or before at_ms) holding that feature, as store_frame_json() gives
 * it.  `system` is called once per system first, in id order, with idx
 * 0, 1, ...; then `record` once per distinct record of those states, in
 * no particular order, with the ascending indexes of the systems holding
 * it.  Records that are held by the same systems have the same `group`
 * (groups are numbered from 0 in the order first met), so a caller can
 * keep one list per group.  Metric records (their values are series:
 * store_series_json()) and frame headers are left out.  Strings are the
 * stored JSON-escaped text (id, name, ... of a system; a record's key);
 * a record's value is its JSON text.  Data is valid only during the call;
 * a non-zero return of a callback stops and is returned.
 */
struct store_state_system {
	const char *id, *name, *kind, *runtime, *image, *host; /* escaped; NULL: unknown */
	const char *labels;                                    /* JSON object */
	int64_t t;                                             /* its latest frame used */
};
struct store_state_record {
	int64_t id;
	const char *feature;
	const char *key, *value; /* NUL-terminated */
	size_t key_len, value_len;
	const uint32_t *systems; /* ascending system indexes */
	size_t nsystems;
	uint32_t group;
};
int store_state_records(struct store *s, int64_t at_ms,
                        int (*system)(void *ctx, uint32_t idx, const struct store_state_system *y),
                        int (*record)(void *ctx, const struct store_state_record *r), void *ctx);

/*
 * store_state_records() narrowed by a filter derived from a search query
 * (analytics/search_index.c), for backends with a text index of their own
 * (PostgreSQL: docs/storage.md).  The systems are the same, numbered the
 * same and passed to `system` the same; `record` is then called for every
 * record of their states that matches one of the selectors sel[0..nsel)
 * (nsel 0: none), and may be called for others too (a superset: the
 * caller evaluates its query exactly on what it is given).  Records held
 * by the same systems share a group, as above (numbers may differ).
 *
 * A record matches a selector when it is of the selector's feature (NULL:
 * any) and, for each of its `all[i]`, one of the words all[i].words[0..n)
 * is a substring, ASCII case-insensitive, of the record's feature name,
 * its key (decoded) or one of the leaf values of its value (strings
 * decoded, numbers, true, false and null as written).  Words are
 * printable ASCII, 3 bytes or more (-EINVAL otherwise).
 *
 * -ENOTSUP when the backend has no such read (SQLite: the caller reads the
 * whole state with store_state_records()).
 */
struct store_text_any {
	const char *const *words;
	size_t n;
};
struct store_text_sel {
	const char *feature; /* NULL: any */
	const struct store_text_any *all;
	size_t n;
};
int store_state_records_matching(
    struct store *s, int64_t at_ms, const struct store_text_sel *sel, size_t nsel,
    int (*system)(void *ctx, uint32_t idx, const struct store_state_system *y),
    int (*record)(void *ctx, const struct store_state_record *r), void *ctx);

/* Names of the series of a system: ["memory.used_pct", ...]. */
int store_metric_names_json(struct store *s, const char *system_id, struct buf *out);

/* The latest point of every series of every present system, for the
 * Prometheus endpoint: the points of each system's latest metric frame (a
 * series that stopped, e.g. an unmounted disk, is not reported).  `name`
 * and `system_name` are both the system's name; strings are decoded
 * (UTF-8), labels_json is JSON.  Callback data valid only during the call;
 * a non-zero return of the callback stops and is returned. */
struct store_latest {
	const char *system_id, *name, *kind, *runtime, *image, *system_name;
	const char *metric;      /* "memory.used_pct" */
	const char *labels_json; /* series labels, "{}" if none */
	double value;
	int64_t time_ms;
};
int store_latest_points(struct store *s, int (*cb)(void *ctx, const struct store_latest *p),
                        void *ctx);

/* ---- numeric reads: series as arrays (alarms, the PromQL API) --------------- */

/*
 * Read series as numbers, not JSON.  Every series whose name is q->metric
 * (NULL: every name) of the systems q->system_ids (NULL: every system; a
 * system that is gone is included: q->present_only leaves it out) is
 * passed to `cb` once, with its points in [from_ms, to_ms] oldest first.
 *
 * step_ms == 0: the stored points as they are (raw points; where the range
 * is older than raw retention, the 1-minute roll-ups' averages at their
 * minute; older than theirs, the hours').  step_ms > 0: buckets starting at multiples of step_ms (a
 * bucket's time is its start), each reduced with q->stat ("avg", "min",
 * "max", "sum", "count", or "pNN" for any NN in 1..99: exact over raw
 * points; over roll-ups only p50, p90 and p99 exist and another pNN gives
 * -EINVAL), empty buckets left out; the roll-up level is chosen as
 * store_series_json() does.  q->no_points: cb gets, with n = 0, each series
 * of the systems having metric points in the range, read from the list of
 * series alone (series and label listings: cheap, and not exact to the
 * point: a series of such a system that stopped before the range is listed).
 *
 * Strings are decoded UTF-8 (not JSON-escaped), labels as JSON objects
 * ("{}" when none); data is valid only during the call.  A non-zero
 * return of cb stops the read and is returned.  0 (also when nothing
 * matched), -EINVAL for a bad stat, another negative errno on failure.
 */
struct store_series_query {
	const char *metric;            /* "memory.used_pct"; NULL: every series */
	const char *const *system_ids; /* NULL: every system */
	size_t nsystems;
	bool present_only; /* leave out systems that are gone */
	bool no_points;
	int64_t from_ms, to_ms; /* inclusive */
	int64_t step_ms;        /* 0: points as stored */
	const char *stat;       /* with step_ms; NULL: "avg" */
};
struct store_series_data {
	const char *system_id, *name, *kind, *runtime, *image, *host; /* NULL: unknown */
	const char *system_labels;                                    /* JSON object */
	bool gone;
	const char *metric; /* "disk.used_pct" */
	const char *labels; /* the series' labels, JSON object */
	const int64_t *t;   /* n times (ms), ascending */
	const double *v;    /* n values */
	size_t n;
	int64_t step_ms; /* the step used (0: as stored) */
};
int store_series_read(struct store *s, const struct store_series_query *q,
                      int (*cb)(void *ctx, const struct store_series_data *d), void *ctx);

/* ---- objects and events: what analytics keep (alarms) ----------------------- */

/*
 * Small named JSON documents of a kind ("alarm": alarm definitions made
 * through the API, "silence", "ack"...), kept across restarts.  put
 * replaces a document of the same kind and name; delete gives -ENOENT
 * when there is none; store_objects() calls cb for each of a kind in name
 * order (data valid during the call; non-zero stops and is returned).
 * `json` must be valid JSON (-EINVAL otherwise).
 */
int store_object_put(struct store *s, const char *kind, const char *name, const char *json,
                     int64_t now_ms);
int store_object_delete(struct store *s, const char *kind, const char *name);
int store_objects(struct store *s, const char *kind,
                  int (*cb)(void *ctx, const char *name, const char *json, int64_t updated_ms),
                  void *ctx);

/*
 * An append-only log of events (alarm history: configuration updates,
 * state changes with the points evaluated, every notification attempt
 * with its outcome).  Events older than 14 days are deleted by
 * store_maintain().  store_events() gives those matching the filter
 * (NULL fields: any; to_ms 0: now), newest first, at most `limit`
 * (0: 1000); *id is the event's id, ascending with insertion.
 */
struct store_event {
	int64_t time_ms;
	const char *kind;    /* "alarm" */
	const char *subject; /* the alarm's name */
	const char *system;  /* a system id, or NULL */
	const char *type;    /* "config", "state", "action" */
	const char *summary; /* one line */
	const char *data;    /* JSON, or NULL */
};
int store_event_put(struct store *s, const struct store_event *e, int64_t *id);
struct store_event_filter {
	const char *kind, *subject, *system, *type;
	int64_t from_ms, to_ms;
	size_t limit;
};
int store_events(struct store *s, const struct store_event_filter *f,
                 int (*cb)(void *ctx, int64_t id, const struct store_event *e), void *ctx);

/*
 * Why a system is gone, as JSON ({"reason": "exited", "exit_code": 137,
 * "oom_killed": true, ...}; the engine writes it when it marks a system
 * gone).  store_systems_json() then gives it as "gone_reason" (and
 * "gone_at", the time of the mark).  -ENOENT for an unknown system.
 */
int store_gone_reason(struct store *s, const char *system_id, const char *reason_json,
                      int64_t now_ms);

/* ---- logs: lines collected from outside the systems (docs/logs.md) --------- */

/*
 * A log line as collected: its system, its source ("stdout", "stderr" of
 * a container; "file:/var/log/syslog" a file in the system's root;
 * "journal"; "kmsg" a VM's kernel log read from its RAM; "console" a VM's
 * serial console file), its time (the record's own when the format has
 * one, else when it was read), its level (syslog severity 0 emerg .. 7
 * debug, -1 unknown) and the line itself (UTF-8, invalid bytes and
 * control characters already escaped by the collector, at most the
 * collector's line limit).
 */
struct store_log {
	const char *system_id;
	const char *source;
	int64_t time_ms;
	int level;
	const char *line;
	size_t len;
};
/* Where a source was read up to: an opaque string of the collector
 * ("ino:size:offset", a journal cursor, a printk sequence). */
struct store_log_cursor {
	const char *system_id;
	const char *source;
	const char *pos;
};
/*
 * Store n lines and nc cursors in ONE transaction: after a crash either
 * both the lines and the cursors that cover them are there or neither
 * (what makes tailing exactly once across restarts).  Lines get ids
 * ascending with insertion.
 */
int store_put_logs(struct store *s, const struct store_log *l, size_t n,
                   const struct store_log_cursor *c, size_t nc);
/* Every cursor kept (cb non-zero stops and is returned). */
int store_log_cursors(struct store *s, int (*cb)(void *ctx, const struct store_log_cursor *c),
                      void *ctx);
/*
 * How long log lines are kept: `default_ms` for every source, except the
 * sources whose name (store_log.source: "stdout", "file:/var/log/x.log",
 * ...) matches the glob of a rule (fnmatch(3) without flags: '*' also
 * matches '/'; the first rule matching wins), which keep theirs.  The
 * handle keeps the rules; store_maintain() writes each source's retention
 * into the store (log_sources.retain: other handles that run maintain
 * keep to it) and deletes the lines older than it.  Without a call: 7
 * days, or what a handle that made the call wrote.  Returns 0, -EINVAL
 * (a retention below 1 s or a glob NULL or empty) or -ENOTSUP.
 */
struct store_log_retain {
	const char *glob;
	int64_t ms;
};
int store_log_retention(struct store *s, int64_t default_ms, const struct store_log_retain *r,
                        size_t n);
/*
 * Lines matching the query, in (time, id) order (id order with `by_id`;
 * newest first with `reverse`), at most `limit` (0: 1000).  `match`: full-text words (all
 * must occur; FTS5 syntax on SQLite, the same words on PostgreSQL);
 * NULL fields: any; to_ms 0: now (no upper bound: every line stored);
 * after_id: only lines with a larger id (live tail).  cb gets each line and its id.
 */
struct store_log_query {
	const char *const *system_ids; /* NULL: every system */
	size_t nsystems;
	const char *source; /* exact, or NULL */
	int max_level;      /* lines with level <= this (unknown -1 always
	                     * passes unless exclude_unknown); 7: any */
	bool exclude_unknown;
	const char *match;
	int64_t from_ms, to_ms;
	int64_t after_id;
	size_t limit;
	bool reverse;
	bool by_id; /* in id (insertion) order instead: a live tail resuming
	             * after the last id it saw misses no line */
};
int store_logs(struct store *s, const struct store_log_query *q,
               int (*cb)(void *ctx, int64_t id, const struct store_log *l), void *ctx);

/* ---- flows: sampled packets, as sFlow analyzers keep them (docs/sflow.md) ---- */

/*
 * One flow sample as the collector decoded it, attributed: the systems
 * owning its source and destination addresses (NULL: none known),
 * addresses as text, the sampling rate that scales it.
 */
struct store_flow {
	int64_t time_ms;
	const char *agent; /* the sFlow agent's address */
	const char *src_system, *dst_system;
	const char *src, *dst; /* addresses */
	uint32_t proto, sport, dport;
	uint32_t frame_length; /* bytes of the sampled packet */
	uint32_t sampling_rate;
};
int store_put_flows(struct store *s, const struct store_flow *f, size_t n);
/*
 * Top talkers over [from_ms, to_ms]: flows grouped by `group` (a comma
 * list of src_system, dst_system, src, dst, sport, dport, proto), bytes
 * and packets scaled by each sample's sampling rate and divided by the
 * window's seconds; largest bytes/s first, at most limit (0: 20).
 * Flows older than 1 hour are deleted by store_maintain().
 */
struct store_flow_top {
	const char *key[7]; /* the group's values, in the order asked; NULL: unknown */
	int nkey;
	double bytes_per_s, packets_per_s;
	uint64_t samples;
};
int store_flows_top(struct store *s, int64_t from_ms, int64_t to_ms, const char *group,
                    size_t limit, int (*cb)(void *ctx, const struct store_flow_top *t), void *ctx);

/* Counts and sizes for the health endpoint and vantage's own metrics:
 * {"systems","frames","records","points","bytes","schema_version"} and
 * also "sets", "points_1m", "points_1h", "series", "free_bytes",
 * "wal_bytes" (cheap: counts are kept, never counted). */
int store_stats_json(struct store *s, struct buf *out);

/*
 * Check the store's consistency (`vantage db check`, docs/storage.md): the
 * database's own checks (SQLite: PRAGMA integrity_check and
 * foreign_key_check) and the store's invariants (every frame's header
 * record and record sets exist, every set's records exist, points belong
 * to series and systems that exist, kept counts equal the rows, log lines
 * belong to a source), in one snapshot: writers go on meanwhile.  cb is
 * called once per check, in order, with its name, the problems found (0:
 * it passed) and a line saying what was found; a non-zero return from cb
 * stops (-ECANCELED).  Returns the problems found in all (>= 0), or a
 * negative errno when the store could not be read (store_errmsg).
 */
int store_verify(struct store *s,
                 int (*cb)(void *ctx, const char *check, int64_t problems, const char *detail),
                 void *ctx);

#endif
