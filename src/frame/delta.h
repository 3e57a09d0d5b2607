/*
 * delta.h - delta frames: a frame sent as the records that changed since a
 * base frame, and rebuilt from it byte for byte (the Kafka sink encodes,
 * `vantage ingest` applies; docs/scale.md describes the wire).
 *
 * A JSON Lines frame (frame.h) is its header line followed by record lines
 * that all begin with the same prefix {"system":...,"time":...,"feature":"
 * (the prefix changes with the time).  A record's *content* is its line
 * after the prefix; a *record set* is the ordered list of a frame's
 * contents, and its identity is a hash of them (32 hex digits of SHA-256
 * over each content and a newline).  The header is not part of the set: it
 * travels whole with every delta.
 *
 * A delta body is JSON Lines:
 *     the new frame's header line, as it is
 *     {"k":N}                   keep the next N records of the base
 *     {"s":N}                   skip (drop) the next N records of the base
 *     {"feature":...}           a record of the new frame (its content,
 *                               after a "{")
 * Applying walks the base once in order, so the rebuilt frame holds the
 * producer's records in the producer's order; it is accepted only when the
 * rebuilt set's hash is the one the producer declared.  Every count and
 * size read from a body is checked: a hostile or truncated body gives
 * -EINVAL, never a read outside the base or an unbounded allocation
 * (DELTA_MAX_FRAME bounds a rebuilt frame).
 */
#ifndef VANTAGE_FRAME_DELTA_H
#define VANTAGE_FRAME_DELTA_H

#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"

#define DELTA_HASH_LEN 32                 /* hex digits of a set's identity */
#define DELTA_MAX_FRAME ((size_t)1 << 30) /* a rebuilt frame's size at most */

/* The record set of one frame: contents (each ending in '\n') in text,
 * where each starts at off[i], and the set's hash. */
struct delta_set {
	struct buf text;
	size_t *off;
	size_t n, cap;
	char hash[DELTA_HASH_LEN + 1];
};

void delta_set_init(struct delta_set *s);
void delta_set_free(struct delta_set *s);
/* Bytes the set holds (for memory bounds). */
size_t delta_set_bytes(const struct delta_set *s);

/*
 * Split the JSON Lines frame [p, p+len) into its header line (*head,
 * *headlen, without the newline) and its record set (replacing *set's
 * contents, hash computed).  -EINVAL with err set when the text is not a
 * frame whose records share its header's prefix (then only a full frame
 * can carry it).
 */
int delta_split(const char *p, size_t len, const char **head, size_t *headlen,
                struct delta_set *set, char *err, size_t errlen);

/* The hash of the set of the JSON Lines frame [p, p+len) into hash. */
int delta_frame_hash(const char *p, size_t len, char hash[DELTA_HASH_LEN + 1], char *err,
                     size_t errlen);

/* Append the delta body that turns `base` into the frame whose header line
 * is [head, head+headlen) and whose set is `cur`. */
void delta_encode(const struct delta_set *base, const char *head, size_t headlen,
                  const struct delta_set *cur, struct buf *body);

/*
 * Apply the delta body [p, p+len) to `base`: the rebuilt JSON Lines frame
 * is appended to `frame` and its set replaces *out (out may not be base).
 * `want` is the hash the producer declared for the new set.  0, or -EINVAL
 * with err set (a malformed body, a count past the base, a set whose hash
 * is not `want`); on error *out and the part appended to frame are
 * undefined (frame is cut back to its length on entry).
 */
int delta_apply(const struct delta_set *base, const char *p, size_t len, const char *want,
                struct buf *frame, struct delta_set *out, char *err, size_t errlen);

#endif
