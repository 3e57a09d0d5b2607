/*
 * u64set.c - open-addressing hash map and set of 64-bit keys.  See
 * u64set.h.
 *
 * Invariant: keys[i] == 0 marks an empty slot; every non-zero key sits at
 * or after (cyclically) its home slot u64_hash(key) & (cap - 1) with no
 * empty slot in between; 2 * n <= cap.
 */
#include "u64set.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MIN_CAP 16

static unsigned char dummy_value; /* what put returns for a set */

uint64_t u64_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	k ^= k >> 33;
	return k;
}

void u64map_init(struct u64map *m, size_t vsize)
{
	memset(m, 0, sizeof(*m));
	m->vsize = vsize;
}

void u64map_free(struct u64map *m)
{
	size_t vsize = m->vsize;

	free(m->keys);
	free(m->vals);
	u64map_init(m, vsize);
}

static void *val_at(const struct u64map *m, size_t i)
{
	return m->vsize ? m->vals + i * m->vsize : &dummy_value;
}

/* The slot of `key` (non-zero), or of the empty slot where it would go. */
static size_t find_slot(const uint64_t *keys, size_t cap, uint64_t key)
{
	size_t i = (size_t)u64_hash(key) & (cap - 1);

	while (keys[i] && keys[i] != key)
		i = (i + 1) & (cap - 1);
	return i;
}

static int grow(struct u64map *m, size_t cap)
{
	uint64_t *keys;
	unsigned char *vals = NULL;

	if (cap > SIZE_MAX / sizeof(*keys) / 2 || (m->vsize && cap + 1 > SIZE_MAX / m->vsize))
		return -ENOMEM;
	keys = calloc(cap, sizeof(*keys));
	if (m->vsize)
		vals = calloc(cap + 1, m->vsize);
	if (!keys || (m->vsize && !vals)) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->keys[i])
			continue;
		size_t j = find_slot(keys, cap, m->keys[i]);
		keys[j] = m->keys[i];
		if (m->vsize)
			memcpy(vals + j * m->vsize, m->vals + i * m->vsize, m->vsize);
	}
	if (m->vsize && m->cap) /* key 0's value */
		memcpy(vals + cap * m->vsize, m->vals + m->cap * m->vsize, m->vsize);
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = cap;
	return 0;
}

int u64map_reserve(struct u64map *m, size_t n)
{
	size_t cap = m->cap ? m->cap : MIN_CAP;

	while (cap / 2 < n) {
		if (cap > SIZE_MAX / 4)
			return -ENOMEM;
		cap *= 2;
	}
	return cap == m->cap ? 0 : grow(m, cap);
}

size_t u64map_count(const struct u64map *m)
{
	return m->n + (m->has_zero ? 1 : 0);
}

bool u64map_has(const struct u64map *m, uint64_t key)
{
	if (!key)
		return m->has_zero;
	return m->cap && m->keys[find_slot(m->keys, m->cap, key)] == key;
}

void *u64map_get(const struct u64map *m, uint64_t key)
{
	if (!m->vsize || !u64map_has(m, key))
		return NULL;
	return val_at(m, key ? find_slot(m->keys, m->cap, key) : m->cap);
}

void *u64map_put(struct u64map *m, uint64_t key, bool *added)
{
	size_t i;
	bool dummy;

	if (!added)
		added = &dummy;
	*added = false;
	if (!m->cap && grow(m, MIN_CAP) < 0)
		return NULL;
	if (!key) {
		if (!m->has_zero) {
			m->has_zero = true;
			*added = true;
			if (m->vsize)
				memset(val_at(m, m->cap), 0, m->vsize);
		}
		return val_at(m, m->cap);
	}
	i = find_slot(m->keys, m->cap, key);
	if (m->keys[i] == key)
		return val_at(m, i);
	if (2 * (m->n + 1) > m->cap) {
		if (m->cap > SIZE_MAX / 4 || grow(m, m->cap * 2) < 0)
			return NULL;
		i = find_slot(m->keys, m->cap, key);
	}
	m->keys[i] = key;
	m->n++;
	*added = true;
	if (m->vsize)
		memset(val_at(m, i), 0, m->vsize);
	return val_at(m, i);
}

bool u64map_next(const struct u64map *m, size_t *pos, uint64_t *key, void **val)
{
	while (*pos < m->cap) {
		size_t i = (*pos)++;
		if (m->keys[i]) {
			*key = m->keys[i];
			if (val)
				*val = m->vsize ? val_at(m, i) : NULL;
			return true;
		}
	}
	if (*pos == m->cap && m->has_zero) {
		(*pos)++;
		*key = 0;
		if (val)
			*val = m->vsize ? val_at(m, m->cap) : NULL;
		return true;
	}
	return false;
}

int u64set_add(struct u64set *s, uint64_t key)
{
	bool added;

	if (!u64map_put(&s->m, key, &added))
		return -ENOMEM;
	return added ? 1 : 0;
}
