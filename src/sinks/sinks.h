/*
 * sinks.h - opening sinks by URL, and the tee (implementations of the
 * interface of frame/sink.h; docs/sinks.md lists the URLs).
 *
 * Every sink is one file of src/sinks/ ending in its `const struct
 * sink_ops` and a `const struct sink_scheme` that schemes.c lists: adding
 * a sink is its file plus one row of that table.  Callers know no
 * constructor but sink_open():
 *
 *     struct sink_env env = {.store = st, .store_path = db_path};
 *     char err[512];
 *     struct sink *s;
 *     if (sink_open(url, &env, &s, err, sizeof(err)) < 0)
 *             fprintf(stderr, "vantage: %s\n", err);
 *
 * URLs:  -                 stdout
 *        PATH, file:PATH   a file (created or truncated at open), also
 *                          file://PATH (file:///abs/path)
 *        store:            the store the caller passes in env->store
 *        sqlite:PATH       the store at PATH (opened, created if missing),
 *        store:PATH        owned by the sink
 *        file://PATH?rotate_size=..&rotate_age=..&keep=..&compress=zstd
 *                          a file rotated by size and time (file_sink.h)
 *        http://HOST/PATH, https://HOST/PATH[#OPTIONS]
 *                          JSON Lines POSTed in batches, spooled while
 *                          the receiver is down (http_sink.c)
 *        kafka://BROKERS/TOPIC[?OPTIONS]
 *                          Kafka, spooled while no broker takes the
 *                          frames (kafka_sink.c)
 *        sflow://HOST[:PORT][?OPTIONS]
 *                          sFlow v5 counter and flow samples over UDP
 *                          (sflow_sink.c)
 *        graphite://HOST:PORT[?OPTIONS]
 *                          carbon's plaintext protocol: the metric records
 *                          of each frame, spooled while carbon is down
 *                          (graphite_sink.c)
 * A string whose prefix before ':' is not a scheme of the table is a file
 * path ("out:1.json"), unless the ':' is followed by "//": "foo://x" is an
 * unknown scheme, an error.
 */
#ifndef VANTAGE_SINKS_H
#define VANTAGE_SINKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../frame/sink.h"

struct store;

/* What a sink may need from the program that opens it. */
struct sink_env {
	struct store *store;    /* the caller's store, for "store:"; borrowed;
	                         * NULL if it has none */
	const char *store_path; /* its path, for messages; may be NULL */
	/* Spools of the sinks that have one (spool.h): each in its own
	 * directory under spool_dir; NULL: "spool" next to store_path, else
	 * /var/lib/vantage/spool (root) or ~/.local/state/vantage/spool.
	 * Bounds 0: the defaults of spool.h. */
	const char *spool_dir;
	uint64_t spool_max_bytes;
	int64_t spool_max_age_s;
};

struct spool;

/*
 * Open the spool of the sink `url` (for the sinks that keep one):
 * directory sink_spool_dir(env)/spool_dir_for(url), bounds from env (NULL:
 * defaults), counters named `name` (the URL without secrets).  Errors: as
 * spool_open(), the message in err.
 */
int sink_spool_open(const char *url, const char *name, const struct sink_env *env,
                    struct spool **out, char *err, size_t errlen);
/* The base directory of the spools (see struct sink_env) into dst. */
void sink_spool_base(const struct sink_env *env, char *dst, size_t cap);

/*
 * Options of a sink URL: "k=v&k=v" (a query or a fragment), each value
 * %XX-decoded, handed to fn(ctx, key, value); fn returns 0 or a negative
 * errno with a message in err.  An option without '=' is an error.
 */
int sink_url_options(const char *opts, size_t len,
                     int (*fn)(void *ctx, const char *key, const char *value, char *err,
                               size_t errlen),
                     void *ctx, char *err, size_t errlen);

/*
 * Open the sink `url` names.  Returns 0 and *out, or a negative errno and a
 * message in err naming the URL: -EINVAL for a malformed URL or an unknown
 * scheme (the message lists the schemes known), -ENOTSUP for a scheme whose
 * sink is not built, or the error of opening (a file, a store).
 */
int sink_open(const char *url, const struct sink_env *env, struct sink **out, char *err,
              size_t errlen);

/* The URL forms known, for messages and --help: "-, PATH, file:PATH, ...". */
const char *sink_schemes(void);

/* One row of the table of schemes (schemes.c). */
struct sink_scheme {
	const char *scheme; /* "file", "sqlite", ...: the URL's prefix before ':' */
	const char *usage;  /* "file:PATH" */
	/* Open the sink; `rest` is what follows "scheme:" (for a plain path
	 * or "-", the whole URL).  Errors: as sink_open(), the message in
	 * err.  NULL: a scheme known but not built. */
	int (*open)(const char *url, const char *rest, const struct sink_env *env,
	            struct sink **out, char *err, size_t errlen);
};

/*
 * The tee: every frame to each of its members.  A member that fails (at
 * begin_frame, a write, end_frame or flush) gets nothing more of that
 * frame; the others get all of it.  The tee's end_frame and flush return
 * the first member error of the frame (0 if none), and each failure is
 * reported through `report` once per episode (err < 0 when a member starts
 * failing, err == 0 when it delivers a frame again); report NULL logs a
 * warning naming the member.  A tee's write() fails only when every member
 * has failed.
 *
 * SINK_TEE_LOCKED makes one tee safe to share between threads: a mutex is
 * held from begin_frame to end_frame, so frames of different threads do not
 * interleave (flush and close take it too).
 */
#define SINK_TEE_LOCKED 1u
typedef void (*sink_report_fn)(void *ctx, const struct sink *member, int err);
int sink_tee_open(unsigned flags, sink_report_fn report, void *ctx, struct sink **out);
/*
 * Add a member (before the first frame, or inside sink_tee_edit()).  The tee closes its members
 * when it is closed, except those added with SINK_TEE_BORROW (a locked tee shared by several
 * per-thread tees, say).  Returns 0 or -ENOMEM (the member is then not added, and not closed).
 */
#define SINK_TEE_BORROW 1u
int sink_tee_add(struct sink *tee, struct sink *member, unsigned flags);
/* Number of members. */
int sink_tee_count(const struct sink *tee);
/*
 * Change the members of a tee in use (the daemon's sinks on SIGHUP): fn(ctx,
 * tee) runs between frames (a SINK_TEE_LOCKED tee's lock held), and may call
 * sink_tee_add() and sink_tee_drop() (which removes a member and closes it,
 * unless borrowed; -ENOENT if it is not one).  Returns fn's result.
 */
int sink_tee_edit(struct sink *tee, int (*fn)(void *ctx, struct sink *tee), void *ctx);
int sink_tee_drop(struct sink *tee, struct sink *member);

/* Until every caller opens sinks by URL: the two constructors of old. */
#include "file_sink.h"
#include "store_sink.h"

#endif
