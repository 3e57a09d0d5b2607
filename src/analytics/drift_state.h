/*
 * drift_state.h - one side of a drift comparison: the records of a system
 * at one moment, from the store or from a file `vantage crawl` wrote.
 *
 * A state is the system's header (identity, time) and its records, each
 * (feature, key, value), sorted by (feature, match key) so two states are
 * compared by one merge walk.  The match key is the record's key except
 * where the key holds something that differs between two healthy
 * moments or two peers of one image:
 *
 *   process     pids differ between runs and between peers: matched by
 *               user and command line ("root /usr/sbin/nginx -g ..."),
 *               "#2", "#3" appended to the later ones of equal lines
 *               (ordered by pid)
 *   connection  an established connection's client side uses an
 *               ephemeral port: matched by protocol, the listening side's
 *               address and port and the peer's address ("tcp 10.0.0.2:5432
 *               <- 10.0.0.3"), repeated ones "#2", "#3"
 *
 * Ownership: a state owns its JSON (drift_state_free); records point
 * into it.
 */
#ifndef VANTAGE_DRIFT_STATE_H
#define VANTAGE_DRIFT_STATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"

struct store;

/*
 * One record.  Its value stays the text it was read as (the crawler's
 * canonical JSON: equal values have equal text), hashed, and is parsed only
 * when a comparison needs its fields (drift_value()).
 */
struct drift_rec {
	const char *feature; /* interned in the state */
	char *key;           /* decoded */
	char *match;         /* the match key */
	const char *text;    /* the value's JSON text, in the state's buffer */
	size_t len;
	uint64_t hash;        /* FNV-1a of the text */
	long long pid, nspid; /* a process's (0 otherwise) */
	char *cmdline;        /* a process's command line (NULL otherwise) */
	json_t *value;        /* parsed on first use */
};

struct drift_state {
	struct buf text;   /* the records' text */
	json_t *header;    /* the frame header's value */
	const char *where; /* "store" or the file's path */
	const char *system, *name, *image;
	int64_t time_ms;
	size_t n;
	struct drift_rec *recs;
	char **features; /* interned feature names */
	size_t nfeatures;
};

/* The record's value, parsed on first use (cached in the record: the
 * state is read by one thread). */
json_t *drift_value(const struct drift_rec *r);

/*
 * The state of `system_id` at at_ms (0: the latest) from the store: for
 * each feature, the records of the last frame holding it at that time.
 * 0, -ENOENT (no such system or no frame then) or another negative errno;
 * `err` says which.
 */
int drift_state_from_store(struct store *st, const char *system_id, int64_t at_ms,
                           struct drift_state *out, char *err, size_t errlen);

/*
 * As drift_state_from_store, with the records of `features` only (each
 * from the last frame holding it at or before at_ms; none when no frame
 * held it): what a caller that needs a few features reads, at their cost
 * only.  The header is that of the latest of those frames.  -ENOENT when
 * the system has no frame then.
 */
int drift_state_from_store_features(struct store *st, const char *system_id, int64_t at_ms,
                                    const char *const *features, size_t nfeatures,
                                    struct drift_state *out, char *err, size_t errlen);

/* Keep only the records keep() says yes to (their order stays): a caller
 * interested in a few records compares only those. */
void drift_state_keep(struct drift_state *s, bool (*keep)(void *ctx, const struct drift_rec *r),
                      void *ctx);

/*
 * The state held by a file of JSON Lines as `vantage crawl` writes it: one
 * frame (a header record of feature "frame", then its records), or, with
 * `want`, the frame of that system among several (its name, id, id prefix
 * or the part after the id's last ':').  -EINVAL when the file holds no
 * such frame, several, or a line that is not a record (err names the
 * line); -errno when it cannot be read.
 */
int drift_state_from_file(const char *path, const char *want, struct drift_state *out, char *err,
                          size_t errlen);

/* The state of a {"frame": header, "records": [{feature, key, value}...]}
 * text (the store's answer; copied).  0 or -EINVAL. */
int drift_state_from_text(const char *text, size_t len, struct drift_state *out, char *err,
                          size_t errlen);

void drift_state_free(struct drift_state *s);

#endif
