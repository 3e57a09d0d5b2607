/*
 * hmap.c - the store's small cache map: byte strings -> row ids.
 *
 * Open addressing with linear probing over a power-of-two table; keys are
 * copied into one arena buffer, so an entry costs 24 bytes plus its key
 * and nothing is allocated per entry.  It never deletes: it is a cache,
 * and when it reaches 70% load it is simply emptied and refilled by
 * later lookups (the database stays the truth).
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
}

void hmap_clear(struct hmap *m)
{
	if (m->e)
		memset(m->e, 0, sizeof(*m->e) * m->cap);
	m->n = 0;
	m->epoch++;
	buf_reset(&m->keys);
}

void hmap_free(struct hmap *m)
{
	free(m->e);
	buf_free(&m->keys);
	m->e = NULL;
	m->n = 0;
}

int64_t hmap_get(const struct hmap *m, const void *key, size_t len)
{
	if (!m->e || !m->n)
		return 0;
	uint64_t h = hash_bytes(key, len);
	for (uint32_t i = (uint32_t)h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		const struct hent *e = &m->e[i];
		if (!e->id)
			return 0;
		if (e->h == h && e->klen == len && memcmp(m->keys.data + e->koff, key, len) == 0)
			return e->id;
	}
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
	uint32_t i = (uint32_t)h & (m->cap - 1);
	while (m->e[i].id) {
		struct hent *e = &m->e[i];
		if (e->h == h && e->klen == len && memcmp(m->keys.data + e->koff, key, len) == 0) {
			e->id = id;
			return;
		}
		i = (i + 1) & (m->cap - 1);
	}
	m->e[i].h = h;
	m->e[i].id = id;
	m->e[i].koff = (uint32_t)m->keys.len;
	m->e[i].klen = (uint32_t)len;
	buf_add(&m->keys, key, len);
	m->n++;
}
