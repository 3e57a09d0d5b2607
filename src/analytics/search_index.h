/*
 * search_index.h - what search runs over: every distinct record of the
 * systems' state once, with its fields taken apart, and for each record
 * the systems holding it (docs/search.md).
 *
 * The store keeps each distinct record once and many systems share them
 * (the containers of one image share their packages), so the index is
 * built from store_state_records(): a record held by 300 systems is one
 * entry whose posting lists 300 system numbers, and records held by the
 * same systems share one posting.  search_index_stats() gives its size
 * beside the size an index of every frame's copy would have.
 *
 * Each record keeps: its feature, key and value text (as stored,
 * JSON-escaped, for answers), the key and every leaf value decoded
 * (strings, numbers, true/false/null) under its field path ("name",
 * "a.b" for nested members; array elements share their array's path), and
 * its text for full-text words: the key and the leaf values, lower case,
 * one per line, laid end to end with every other record's so one memmem
 * finds a word across all of them.  Each system also has a record of
 * feature "system" (fields id, name, kind, runtime, image, host and
 * labels.NAME).
 *
 * Building without a store (tests): search_index_new(), _add_system(),
 * _add_record() (systems must be added first), then _finish().
 * Strings given are JSON-escaped text, as the store keeps them.
 * Immutable after _finish(); safe to query from several threads then.
 */
#ifndef VANTAGE_SEARCH_INDEX_H
#define VANTAGE_SEARCH_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"

struct store;

enum sx_type { SX_STR, SX_NUM, SX_BOOL, SX_NULL };

struct sx_leaf {
	uint32_t path; /* field path id */
	uint32_t str;  /* decoded text (NUL-terminated) in the arena */
	uint32_t len;
	uint32_t type; /* enum sx_type */
	double num;    /* SX_NUM */
};

struct sx_rec {
	uint32_t feature;      /* feature number (search_index_feature_name) */
	uint32_t key, key_len; /* raw (escaped) key in the arena */
	uint32_t dkey;         /* decoded key */
	uint32_t val, val_len; /* raw JSON value */
	uint32_t text, text_len;
	uint32_t leaf, nleaf; /* its leaves: leaves[leaf .. leaf + nleaf) */
	uint32_t post;        /* its posting */
	uint32_t manager;     /* decoded "manager" value, or UINT32_MAX */
	uint32_t version;     /* path id of its "version" field, or UINT32_MAX */
};

struct sx_post {
	uint32_t off, n; /* systems: index->sys_pool[off .. off + n) */
};

struct sx_sys {
	uint32_t id, name; /* raw (escaped) text in the arena */
	uint32_t rec;      /* its "system" record */
};

#define SX_FEATURES 64

struct search_index {
	struct buf arena; /* every string; offset 0 is "" */
	struct buf text;  /* every record's full text, end to end */
	struct sx_rec *recs;
	size_t nrecs, caprecs;
	struct sx_leaf *leaves;
	size_t nleaves, capleaves;
	struct sx_post *posts;
	size_t nposts, capposts;
	uint32_t *sys_pool;
	size_t npool, cappool;
	struct sx_sys *sys;
	size_t nsys, capsys;
	uint32_t *group_post; /* the store's group -> posting + 1 */
	size_t ngroups;
	char *features[SX_FEATURES];
	size_t nfeatures;
	uint32_t **by_feature; /* per feature: its records' indexes (after finish) */
	size_t *nby_feature;
	uint32_t *rank; /* per record: its place in (feature, key) order */
	/* field paths */
	uint32_t *path_str; /* path id -> offset in the arena */
	size_t npaths, cappaths;
	void *path_map; /* struct u64map: hash -> id + 1 */
	uint32_t p_version, p_manager;
	/* what an index of every system's copy would take */
	uint64_t pairs, per_frame_bytes;
	int64_t at_ms;
	bool finished;
};

struct search_index_stats {
	size_t systems, records, pairs, postings, paths, features;
	uint64_t bytes;           /* this index in memory */
	uint64_t per_frame_bytes; /* the same for every system's copy of each record */
};

struct search_index *search_index_new(void);
void search_index_free(struct search_index *ix);
/* System number idx (0, 1, ... in order): id and name JSON-escaped;
 * kind.. may be NULL; labels a JSON object or NULL. */
int search_index_add_system(struct search_index *ix, uint32_t idx, const char *id, const char *name,
                            const char *kind, const char *runtime, const char *image,
                            const char *host, const char *labels);
/* A distinct record held by systems[0..n) (ascending); records with the
 * same `group` have the same systems (the posting is kept once).  The
 * value must be valid JSON; a value that is not gives -EINVAL.  -E2BIG
 * when the index would pass 4 GiB of text. */
int search_index_add_record(struct search_index *ix, const char *feature, const char *key,
                            size_t key_len, const char *value, size_t value_len,
                            const uint32_t *systems, size_t n, uint32_t group);
int search_index_finish(struct search_index *ix);

/* Build from the store's state at at_ms (0: the latest).  0, or a
 * negative errno with the message in err. */
int search_index_build(struct store *st, int64_t at_ms, struct search_index **out, char *err,
                       size_t errlen);

/* The index of the records that can match query q only (search_narrow.c):
 * q's words handed to store_state_records_matching(); evaluating q over it
 * gives the answer search_index_build()'s index gives (its statistics
 * count the candidates).  -ENOTSUP, nothing read, when the store has no
 * such read (SQLite) or q narrows nothing ("process pid>100"): then build
 * the whole index.  q as search_parse(NULL, ...) gives it. */
struct sq_node;
int search_index_build_for(struct store *st, int64_t at_ms, const struct sq_node *q,
                           struct search_index **out, char *err, size_t errlen);

void search_index_stats(const struct search_index *ix, struct search_index_stats *s);

/* Feature number of `name`, or -1 when no record has it. */
int search_index_feature(const struct search_index *ix, const char *name);
/* Path id of a field path, or UINT32_MAX when no record has it. */
uint32_t search_index_path(const struct search_index *ix, const char *path);

static inline const char *sx_str(const struct search_index *ix, uint32_t off)
{
	return ix->arena.data + off;
}

#endif
