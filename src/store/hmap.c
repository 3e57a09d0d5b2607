/*
 * hmap.c - the store's small cache map: byte strings -> row ids.
 *
 * Entries (hash, id, key offset and length) sit in one array in the
 * order they were added, keys in one arena buffer, so an entry costs 24
 * bytes plus its key and nothing is allocated per entry.  A u64map
 * (util/u64set.h) takes a key's 64-bit hash to its entry; two keys with
 * one hash (never seen in practice) fall back to a linear search.  It
 * never deletes: it is a cache, and when it reaches 70% of its capacity
 * it is simply emptied and refilled by later lookups (the database stays
 * the truth).
 */
#include <stdlib.h>
#include <string.h>

#include "sqlite_internal.h"

/* FNV-1a, then a final mix; keys are short (16-byte hashes, series names) */
static uint64_t hash_bytes(const void *p, size_t n)
{
	const unsigned char *c = p;
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ c[i]) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

void hmap_init(struct hmap *m, uint32_t cap)
{
	memset(m, 0, sizeof(*m));
	m->cap = cap; /* a power of two */
	u64map_init(&m->idx, sizeof(uint32_t));
}

void hmap_clear(struct hmap *m)
{
	u64map_free(&m->idx);
	m->n = 0;
	m->epoch++;
	buf_reset(&m->keys);
}

void hmap_free(struct hmap *m)
{
	free(m->e);
	u64map_free(&m->idx);
	buf_free(&m->keys);
	m->e = NULL;
	m->n = 0;
}

static bool same_key(const struct hmap *m, const struct hent *e, uint64_t h, const void *key,
                     size_t len)
{
	return e->h == h && e->klen == len && memcmp(m->keys.data + e->koff, key, len) == 0;
}

/* The entry of `key` (hash h), or NULL. */
static struct hent *find(const struct hmap *m, uint64_t h, const void *key, size_t len)
{
	const uint32_t *i = u64map_get(&m->idx, h);
	if (!i)
		return NULL;
	if (same_key(m, &m->e[*i], h, key, len))
		return &m->e[*i];
	for (uint32_t j = 0; j < m->n; j++) /* another key with this hash */
		if (same_key(m, &m->e[j], h, key, len))
			return &m->e[j];
	return NULL;
}

int64_t hmap_get(const struct hmap *m, const void *key, size_t len)
{
	if (!m->e || !m->n)
		return 0;
	const struct hent *e = find(m, hash_bytes(key, len), key, len);
	return e ? e->id : 0;
}

void hmap_put(struct hmap *m, const void *key, size_t len, int64_t id)
{
	if (len > 1 << 16 || id <= 0)
		return;
	if (!m->e) {
		m->e = calloc(m->cap, sizeof(*m->e));
		if (!m->e)
			return;
	}
	if ((uint64_t)(m->n + 1) * 10 > (uint64_t)m->cap * 7 || m->keys.len + len > UINT32_MAX / 2)
		hmap_clear(m);
	uint64_t h = hash_bytes(key, len);
	struct hent *e = m->n ? find(m, h, key, len) : NULL;
	if (e) {
		e->id = id;
		return;
	}
	bool added;
	uint32_t *i = u64map_put(&m->idx, h, &added);
	if (!i)
		return; /* out of memory: a cache miss later, nothing worse */
	if (added)      /* else the hash is another key's: found by the linear search */
		*i = m->n;
	e = &m->e[m->n];
	e->h = h;
	e->id = id;
	e->koff = (uint32_t)m->keys.len;
	e->klen = (uint32_t)len;
	buf_add(&m->keys, key, len);
	m->n++;
}
