/*
 * idset.h - a set of system ids, kept as sorted 64-bit hashes.
 *
 * The daemon remembers which systems it has crawled with every feature:
 * hundreds of ids, looked up once per system and tick.  A sorted array of
 * FNV-1a hashes answers that with a binary search and no allocation per
 * id.  Build a set with idset_add() (any order), then idset_sort() before
 * idset_has().  A failed allocation drops the id (idset_add() returns
 * false): callers treat a missing id as "not seen", which must be harmless.
 */
#ifndef VANTAGE_IDSET_H
#define VANTAGE_IDSET_H

#include <stdbool.h>
#include <stdint.h>

struct idset {
	uint64_t *v; /* sorted after idset_sort() */
	int n, cap;
};

/* FNV-1a of the string: the hash ids are kept as. */
uint64_t id_hash(const char *s);

bool idset_has(const struct idset *s, uint64_t h);
bool idset_add(struct idset *s, uint64_t h);
void idset_sort(struct idset *s);
/* A hash of the whole set (sorted): equal sets give equal signatures. */
uint64_t idset_signature(const struct idset *s, uint64_t seed);
void idset_clear(struct idset *s); /* empty, memory kept */
void idset_free(struct idset *s);

#endif
