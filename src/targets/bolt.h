/*
 * bolt.h - a read-only reader of bbolt (BoltDB) database files.
 *
 * Podman up to 4.x keeps its container configurations (name, labels,
 * image) and states in a BoltDB file (libpod/bolt_state.db), containerd
 * keeps its container metadata (image, labels) in another
 * (io.containerd.metadata.v1.bolt/meta.db).  Reading the file directly
 * lets Vantage name containers without asking any daemon.
 *
 * The format: fixed-size pages (page size from the meta page); pages 0 and
 * 1 are meta pages (magic 0xED0CDAED, the valid one with the highest
 * transaction id wins, FNV-1a checksum); a bucket is a B+tree of branch
 * pages (elements: key -> child page) and leaf pages (elements: key ->
 * value, or key -> nested bucket when flag 1 is set).  A small nested
 * bucket is stored inline in its parent's value: a 16-byte bucket header
 * with root 0 followed by a page image.  A value larger than a page spans
 * "overflow" pages that follow its page contiguously.
 *
 * Everything is bounds-checked against the buffer: a torn or hostile file
 * makes a lookup fail (-EINVAL / not found), never read out of bounds or
 * loop (descent depth and element counts are bounded).  Little-endian
 * files only (every platform Vantage runs on).
 *
 * The reader works on a buffer the caller owns (read from the file with a
 * size bound); returned pointers point into it.
 */
#ifndef VANTAGE_BOLT_H
#define VANTAGE_BOLT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bolt {
	const unsigned char *db;
	size_t len;
	uint32_t page_size;
	uint64_t root; /* page of the root bucket */
};

/* A bucket: a tree rooted at page `root`, or an inline page [inl, inl+inl_len). */
struct bolt_bucket {
	uint64_t root;
	const unsigned char *inl;
	size_t inl_len;
};

/* Check the meta pages and find the root bucket.  0 or -EINVAL. */
int bolt_open(struct bolt *b, const void *db, size_t len);

/* The root bucket (whose keys are the top-level bucket names). */
void bolt_root(const struct bolt *b, struct bolt_bucket *out);

/*
 * Look up `key` in bucket `bk`.  Returns 1 and sets *val, *vlen (pointing
 * into the database buffer) and *is_bucket when found, 0 when absent,
 * -EINVAL when the tree is malformed.
 */
int bolt_get(const struct bolt *b, const struct bolt_bucket *bk, const void *key, size_t klen,
             const unsigned char **val, size_t *vlen, bool *is_bucket);

/* Open the nested bucket `name` of `parent`.  1 found, 0 absent (or not a
 * bucket), -EINVAL malformed. */
int bolt_bucket(const struct bolt *b, const struct bolt_bucket *parent, const char *name,
                struct bolt_bucket *out);

/* The bucket stored in value [v, v+vl) of an element flagged as a bucket
 * (as bolt_foreach() passes it).  0 or -EINVAL. */
int bolt_bucket_value(const unsigned char *v, size_t vl, struct bolt_bucket *out);

/* Follow a path of nested bucket names from the root; NULL-terminated. */
int bolt_bucket_path(const struct bolt *b, const char *const *names, struct bolt_bucket *out);

/*
 * Call cb for every key of bucket `bk`, in key order.  cb returns 0 to go
 * on, non-zero to stop (that value is returned).  Returns 0 at the end or
 * -EINVAL when the tree is malformed (after calling cb for what was read).
 */
typedef int (*bolt_cb)(void *ctx, const unsigned char *k, size_t klen, const unsigned char *v,
                       size_t vlen, bool is_bucket);
int bolt_foreach(const struct bolt *b, const struct bolt_bucket *bk, bolt_cb cb, void *ctx);

#endif
