/*
 * addr_map.c - which system owns an IP address (addr_map.h), loaded from
 * the store: the present systems (store_systems_json), then for each its
 * latest `os` record's ip_addresses, else its `interface` records'
 * addresses (store_frame_json), as the topology reads them.
 */
#include "addr_map.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store.h"
#include "../util/buf.h"
#include "../util/xalloc.h"

void addr_map_key(uint32_t af, const uint8_t *a, uint8_t out[16])
{
	if (af == 2) {
		memcpy(out, a, 16);
		return;
	}
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, a, 4);
}

static bool loopback(const uint8_t a[16])
{
	static const uint8_t lo6[16] = {[15] = 1};
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
	return !memcmp(a, lo6, 16) || (!memcmp(a, mapped, 12) && a[12] == 127);
}

/* "10.0.0.1", "10.0.0.1/24", "fe80::1/64" -> 16 bytes */
static bool parse_text(const char *s, uint8_t out[16])
{
	char tmp[64];
	size_t n = strlen(s);
	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n + 1);
	char *slash = strchr(tmp, '/');
	if (slash)
		*slash = 0;
	char *pct = strchr(tmp, '%'); /* fe80::1%eth0 */
	if (pct)
		*pct = 0;
	uint8_t a4[4];
	if (inet_pton(AF_INET, tmp, a4) == 1) {
		addr_map_key(1, a4, out);
		return true;
	}
	return inet_pton(AF_INET6, tmp, out) == 1;
}

void addr_map_add(struct addr_map *m, const uint8_t a[16], const char *system)
{
	if (loopback(a))
		return;
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->v = xrealloc(m->v, m->cap * sizeof(*m->v));
	}
	memcpy(m->v[m->n].a, a, 16);
	m->v[m->n++].system = system ? xstrdup(system) : NULL;
}

static int cmp_owner(const void *x, const void *y)
{
	const struct addr_owner *a = x, *b = y;
	int c = memcmp(a->a, b->a, 16);
	if (c)
		return c;
	if (!a->system || !b->system)
		return !a->system - !b->system;
	return strcmp(a->system, b->system);
}

void addr_map_sort(struct addr_map *m)
{
	if (m->n > 1)
		qsort(m->v, m->n, sizeof(*m->v), cmp_owner);
	size_t w = 0;
	for (size_t i = 0; i < m->n; i++) {
		struct addr_owner *o = &m->v[i];
		if (w > 0 && !memcmp(m->v[w - 1].a, o->a, 16)) {
			struct addr_owner *k = &m->v[w - 1];
			if (k->system && (!o->system || strcmp(k->system, o->system) != 0)) {
				free(k->system); /* a second owner: ambiguous */
				k->system = NULL;
			}
			free(o->system);
			continue;
		}
		m->v[w++] = *o;
	}
	m->n = w;
}

const char *addr_map_find(const struct addr_map *m, uint32_t af, const uint8_t *a)
{
	uint8_t k[16];
	addr_map_key(af, a, k);
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(m->v[mid].a, k, 16);
		if (c == 0)
			return m->v[mid].system;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void addr_map_free(struct addr_map *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->v[i].system);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* The addresses of the records of a stored answer {"records": [...]}
 * holding `field` (an array of strings); how many were added. */
static size_t add_answer(struct addr_map *m, const struct buf *b, const char *field, const char *id)
{
	json_t *root = json_loadb(b->data, b->len, 0, NULL);
	json_t *recs = json_object_get(root, "records");
	size_t i, k, added = 0;
	json_t *rec, *el;
	json_array_foreach(recs, i, rec)
	{
		json_t *arr = json_object_get(json_object_get(rec, "value"), field);
		json_array_foreach(arr, k, el)
		{
			uint8_t a[16];
			const char *s = json_string_value(el);
			if (s && parse_text(s, a) && !loopback(a)) {
				addr_map_add(m, a, id);
				added++;
			}
		}
	}
	json_decref(root);
	return added;
}

/* A failed load: the old map until the next try */
static void addr_map_failed(struct addr_map *m, int64_t now_ms)
{
	m->loaded_ms = now_ms;
	m->backoff_ms = m->backoff_ms ? m->backoff_ms : 2000;
	m->next_ms = now_ms + m->backoff_ms;
}

int addr_map_load(struct addr_map *m, struct store *st, int64_t now_ms)
{
	struct store_system_filter f = {.gone = 0};
	struct buf b = {0};
	int r = store_systems_json(st, &f, &b);
	if (r < 0) {
		buf_free(&b);
		addr_map_failed(m, now_ms);
		return r;
	}
	json_t *list = json_loadb(b.data, b.len, 0, NULL);
	if (!json_is_array(list)) {
		json_decref(list);
		buf_free(&b);
		addr_map_failed(m, now_ms);
		return -EINVAL;
	}
	struct addr_map nm = {0};
	size_t i;
	json_t *o;
	json_array_foreach(list, i, o)
	{
		const char *id = json_string_value(json_object_get(o, "id"));
		if (!id)
			continue;
		buf_reset(&b);
		size_t got = 0;
		if (store_frame_json(st, id, 0, "os", &b) == 0)
			got = add_answer(&nm, &b, "ip_addresses", id) +
			      add_answer(&nm, &b, "ipaddr", id); /* the crawler format's name */
		buf_reset(&b);
		if (!got && store_frame_json(st, id, 0, "interface", &b) == 0)
			add_answer(&nm, &b, "addresses", id);
	}
	json_decref(list);
	buf_free(&b);
	addr_map_sort(&nm);
	uint64_t d = 0xcbf29ce484222325ULL;
	for (size_t k = 0; k < nm.n; k++) {
		const char *sys = nm.v[k].system ? nm.v[k].system : "";
		for (size_t x = 0; x < 16; x++)
			d = (d ^ nm.v[k].a[x]) * 0x100000001b3ULL;
		for (const char *c = sys; *c; c++)
			d = (d ^ (uint8_t)*c) * 0x100000001b3ULL;
	}
	int64_t backoff = d != m->digest || !m->backoff_ms         ? 2000
	                  : m->backoff_ms * 2 > ADDR_MAP_RELOAD_MS ? ADDR_MAP_RELOAD_MS
	                                                           : m->backoff_ms * 2;
	addr_map_free(m);
	*m = nm;
	m->digest = d;
	m->backoff_ms = backoff;
	m->loaded_ms = now_ms;
	m->next_ms = now_ms + backoff;
	return 0;
}

bool addr_map_due(const struct addr_map *m, int64_t now_ms, bool missed)
{
	if (!m->loaded_ms || now_ms < m->loaded_ms || now_ms - m->loaded_ms >= ADDR_MAP_RELOAD_MS)
		return true;
	return missed && now_ms >= m->next_ms;
}
