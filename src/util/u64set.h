/*
 * u64set.h - one open-addressing hash table of 64-bit keys: a map to
 * fixed-size values (struct u64map) or, with no value, a set (struct
 * u64set).  Used wherever the code looks up pids, inodes, addresses or
 * other hashes by number.
 *
 * Linear probing over a power-of-two table kept at most half full; keys
 * are mixed (murmur3's finalizer) so pointers, pids and inodes all spread.
 * Every key is allowed, 0 included (it is kept apart from the slots).
 * Values are zeroed when their key is added; a value pointer stays valid
 * until the next add that grows the table (u64map_reserve first to keep
 * them valid while several threads update values in place, no add).
 * No removal.  Not thread-safe for adds.
 *
 * Allocation failure is returned (-ENOMEM or NULL), never fatal: the
 * tables grow with what untrusted input holds.
 *
 *     struct u64map m;
 *     u64map_init(&m, sizeof(int));
 *     bool added;
 *     int *v = u64map_put(&m, inode, &added);   // NULL: out of memory
 *     if (v && added) *v = pid;
 *     ...
 *     u64map_free(&m);
 */
#ifndef VANTAGE_U64SET_H
#define VANTAGE_U64SET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct u64map {
	uint64_t *keys;      /* cap slots, 0 = empty */
	unsigned char *vals; /* cap + 1 values of vsize bytes; [cap] is key 0's */
	size_t vsize;        /* bytes of a value, 0 for a set */
	size_t cap;          /* 0 or a power of two >= 16 */
	size_t n;            /* non-zero keys held, 2 * n <= cap */
	bool has_zero;       /* key 0 held */
};

/* The mixing hash used (murmur3 fmix64), for callers hashing keys of their own. */
uint64_t u64_hash(uint64_t k);

/* An empty map with `vsize`-byte values (0: a set).  Allocates nothing. */
void u64map_init(struct u64map *m, size_t vsize);
/* Free what the map holds; it is then empty (init again not needed). */
void u64map_free(struct u64map *m);
/* Room for `n` keys in all without growing: 0 or -ENOMEM. */
int u64map_reserve(struct u64map *m, size_t n);
/* Keys held. */
size_t u64map_count(const struct u64map *m);
/* Whether `key` is held. */
bool u64map_has(const struct u64map *m, uint64_t key);
/* The value of `key`, NULL when absent (or for a set). */
void *u64map_get(const struct u64map *m, uint64_t key);
/*
 * The value of `key`, adding it (value zeroed, *added true) when absent.
 * Returns NULL only when the table could not grow (out of memory); for a
 * set, a non-NULL pointer that must not be used.
 */
void *u64map_put(struct u64map *m, uint64_t key, bool *added);
/*
 * Iterate: start with *pos = 0; each call gives one key (and its value,
 * val may be NULL) and returns true, false at the end.  Order is the
 * table's.  No adds during an iteration.
 */
bool u64map_next(const struct u64map *m, size_t *pos, uint64_t *key, void **val);

/* ---- the set: a map without values ---- */

struct u64set {
	struct u64map m;
};

static inline void u64set_init(struct u64set *s)
{
	u64map_init(&s->m, 0);
}
static inline void u64set_free(struct u64set *s)
{
	u64map_free(&s->m);
}
static inline bool u64set_has(const struct u64set *s, uint64_t key)
{
	return u64map_has(&s->m, key);
}
static inline size_t u64set_count(const struct u64set *s)
{
	return u64map_count(&s->m);
}
/* Add `key`: 1 when it was new, 0 when already there, -ENOMEM. */
int u64set_add(struct u64set *s, uint64_t key);

#endif
