/*
 * addr_map.h - which system owns an IP address: every present system's
 * addresses as the store holds them (its latest `os` record's
 * ip_addresses, else its `interface` records' addresses), for attributing
 * sampled packets to containers, VMs and the host (the sampler, the flow
 * recorder; docs/flows.md).
 *
 * Addresses are kept as 16 bytes (IPv4 mapped into IPv6, ::ffff:a.b.c.d);
 * loopback addresses are left out.  An address held by several systems
 * (the same private address in two places) is ambiguous: lookups give NULL
 * for it.  A map is plain data: its owner serializes access.
 */
#ifndef VANTAGE_ADDR_MAP_H
#define VANTAGE_ADDR_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

struct addr_owner {
	uint8_t a[16];
	char *system; /* the system id; NULL: ambiguous */
};

struct addr_map {
	struct addr_owner *v; /* sorted by address */
	size_t n, cap;
	int64_t loaded_ms; /* when it was last loaded (0: never) */
	/* reloads after a miss (addr_map_due): not before next_ms; the wait
	 * doubles from 2 s to 30 s while reloads bring nothing new */
	int64_t next_ms, backoff_ms;
	uint64_t digest; /* of the content, to tell a reload that changed it */
};

#define ADDR_MAP_RELOAD_MS 30000 /* reloaded at least this often when used */

/* Whether to reload now: never loaded, ADDR_MAP_RELOAD_MS old, or a
 * lookup missed (`missed`) and the back-off since the last load passed. */
bool addr_map_due(const struct addr_map *m, int64_t now_ms, bool missed);

/* Replace m's content with the store's present systems' addresses.  0, or
 * a negative errno (m is then left as it was, its back-off advanced). */
int addr_map_load(struct addr_map *m, struct store *st, int64_t now_ms);

/* Add one address of `system` (kept sorted; a second owner makes it
 * ambiguous). */
void addr_map_add(struct addr_map *m, const uint8_t a[16], const char *system);
void addr_map_sort(struct addr_map *m);

/* The system owning address `a` (af 1: 4 bytes, 2: 16 bytes), or NULL. */
const char *addr_map_find(const struct addr_map *m, uint32_t af, const uint8_t *a);

/* 16-byte form of an address of af 1 or 2. */
void addr_map_key(uint32_t af, const uint8_t *a, uint8_t out[16]);

void addr_map_free(struct addr_map *m);

#endif
