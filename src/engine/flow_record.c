/*
 * flow_record.c - the collector's flow recorder (flow_record.h): decoded
 * flow samples, attributed to systems, into the store in batches.
 *
 * State: the address map of the store's systems (addr_map.h: reloaded
 * every 30 s, and sooner after a miss), the data sources the collector named
 * (agent, sub-agent, ds_index -> system id), the addresses learnt from
 * extended_socket records of known data sources (address -> system), and
 * the records waiting for the next batch (each owning its strings).
 */
#include "flow_record.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store.h"
#include "../util/log.h"
#include "../util/u64set.h"
#include "../util/xalloc.h"
#include "addr_map.h"
#include "locked_sink.h"

#define LEARNT_MAX 65536 /* learnt addresses kept; past it the map starts over */

struct source {
	char *system;
};

struct learnt {
	uint8_t a[16];
	char *system;
};

/* A kept sample: what attribution needs, attributed when written. */
struct pending {
	int64_t t;
	char agent[48];
	uint32_t af;
	uint8_t src[16], dst[16];
	char *ds; /* the data source's system (owned), NULL: unknown */
	bool has_socket;
	uint32_t sock_af;
	uint8_t local[16];
	uint32_t proto, sport, dport, frame_length, rate;
};

struct flow_recorder {
	struct store *st;
	struct store_share *sh; /* NULL: st is ours to use */
	struct addr_map addrs;
	struct u64map sources; /* hash(agent, sub-agent, ds_index) -> struct source */
	struct u64map learnt;  /* hash(address) -> struct learnt */
	struct pending *p;
	size_t n, cap;
	int64_t first_ms; /* when p[0] came */
	bool failing;     /* in an episode of failed writes (logged once) */
	struct flow_recorder_stats stats;
};

static uint64_t fnv(const void *data, size_t n, uint64_t h)
{
	const uint8_t *p = data;
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t source_key(const struct sflow_header *h, uint32_t ds_index)
{
	uint64_t k = fnv(&h->agent.af, sizeof(h->agent.af), 0xcbf29ce484222325ULL);
	k = fnv(h->agent.a, h->agent.af == 2 ? 16 : 4, k);
	k = fnv(&h->sub_agent, sizeof(h->sub_agent), k);
	return fnv(&ds_index, sizeof(ds_index), k);
}

static struct flow_recorder *make(struct store *st, struct store_share *sh)
{
	struct flow_recorder *r = xcalloc(1, sizeof(*r));
	r->st = st;
	r->sh = sh;
	u64map_init(&r->sources, sizeof(struct source));
	u64map_init(&r->learnt, sizeof(struct learnt));
	return r;
}

struct flow_recorder *flow_recorder_new(struct store *st)
{
	return make(st, NULL);
}

struct flow_recorder *flow_recorder_new_shared(struct store_share *sh)
{
	return make(NULL, sh);
}

void flow_recorder_source(struct flow_recorder *r, const struct sflow_header *h, uint32_t ds_index,
                          const char *system_id, int64_t now_ms)
{
	if (!system_id)
		return;
	bool added;
	struct source *s = u64map_put(&r->sources, source_key(h, ds_index), &added);
	if (!s)
		return;
	if (!added && s->system && !strcmp(s->system, system_id))
		return;
	if (!added)
		free(s->system);
	s->system = xstrdup(system_id);
}

static void learnt_clear(struct flow_recorder *r)
{
	size_t pos = 0;
	uint64_t k;
	void *v;
	while (u64map_next(&r->learnt, &pos, &k, &v))
		free(((struct learnt *)v)->system);
	u64map_free(&r->learnt);
	u64map_init(&r->learnt, sizeof(struct learnt));
}

static void learn(struct flow_recorder *r, uint32_t af, const uint8_t *a, const char *system)
{
	uint8_t k16[16];
	addr_map_key(af, a, k16);
	if (u64map_count(&r->learnt) >= LEARNT_MAX)
		learnt_clear(r);
	bool added;
	struct learnt *l = u64map_put(&r->learnt, fnv(k16, 16, 0xcbf29ce484222325ULL), &added);
	if (!l)
		return;
	if (!added) {
		if (!memcmp(l->a, k16, 16) && l->system && !strcmp(l->system, system))
			return;
		free(l->system);
	}
	memcpy(l->a, k16, 16);
	l->system = xstrdup(system);
}

static const char *lookup(struct flow_recorder *r, uint32_t af, const uint8_t *a)
{
	const char *s = addr_map_find(&r->addrs, af, a);
	if (s)
		return s;
	uint8_t k16[16];
	addr_map_key(af, a, k16);
	const struct learnt *l = u64map_get(&r->learnt, fnv(k16, 16, 0xcbf29ce484222325ULL));
	return l && !memcmp(l->a, k16, 16) ? l->system : NULL;
}

/* Run fn on the store: under the share's lock when there is one. */
static int with_store(struct flow_recorder *r,
                      int (*fn)(struct flow_recorder *r, struct store *st, void *arg), void *arg)
{
	if (!r->sh)
		return fn(r, r->st, arg);
	pthread_mutex_lock(&r->sh->lock);
	int e = r->sh->closed || !r->sh->st ? -ESHUTDOWN : fn(r, r->sh->st, arg);
	pthread_mutex_unlock(&r->sh->lock);
	return e;
}

static int load_addrs(struct flow_recorder *r, struct store *st, void *arg)
{
	return addr_map_load(&r->addrs, st, *(int64_t *)arg);
}

static void reload(struct flow_recorder *r, int64_t now_ms)
{
	if (with_store(r, load_addrs, &now_ms) == -ESHUTDOWN)
		r->addrs.loaded_ms = now_ms; /* the old map until the next try */
}

static bool same(uint32_t af1, const uint8_t *a1, uint32_t af2, const uint8_t *a2)
{
	uint8_t k1[16], k2[16];
	addr_map_key(af1, a1, k1);
	addr_map_key(af2, a2, k2);
	return !memcmp(k1, k2, 16);
}

static void addr_text(uint32_t af, const uint8_t *a, char *dst, size_t cap)
{
	if (!inet_ntop(af == 2 ? AF_INET6 : AF_INET, a, dst, (socklen_t)cap))
		dst[0] = 0;
}

int flow_recorder_add(struct flow_recorder *r, const struct sflow_header *h,
                      const struct sflow_flow *f, int64_t now_ms)
{
	r->stats.samples++;
	if (!f->has_ip) {
		r->stats.no_ip++;
		return 0;
	}
	if (r->n == FLOW_RECORDER_MAX) {
		r->stats.dropped++;
		return -ENOBUFS;
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 256;
		r->p = xrealloc(r->p, r->cap * sizeof(*r->p));
	}
	const struct source *src = u64map_get(&r->sources, source_key(h, f->ds_index));
	const char *ds = src ? src->system : NULL;
	if (ds && f->has_socket)
		learn(r, f->sock_af, f->local, ds);
	struct pending *p = &r->p[r->n];
	memset(p, 0, sizeof(*p));
	p->t = now_ms;
	addr_text(h->agent.af, h->agent.a, p->agent, sizeof(p->agent));
	p->af = f->af;
	memcpy(p->src, f->src, 16);
	memcpy(p->dst, f->dst, 16);
	p->ds = ds ? xstrdup(ds) : NULL;
	p->has_socket = f->has_socket;
	p->sock_af = f->sock_af;
	memcpy(p->local, f->local, 16);
	p->proto = f->proto;
	p->sport = f->sport;
	p->dport = f->dport;
	p->frame_length = f->frame_length;
	p->rate = f->sampling_rate ? f->sampling_rate : 1;
	if (r->n++ == 0)
		r->first_ms = now_ms;
	return 0;
}

/* The systems of p's ends (flow_record.h: addresses, then the data
 * source); true when an end stays unknown. */
static bool attribute(struct flow_recorder *r, const struct pending *p, const char **ss,
                      const char **dsys)
{
	*ss = lookup(r, p->af, p->src);
	*dsys = lookup(r, p->af, p->dst);
	const char *ds = p->ds;
	if (ds && !p->has_socket) {
		/* sampled on ds's interface: an unknown end facing another
		 * system is ds */
		if (!*ss && *dsys && strcmp(*dsys, ds) != 0)
			*ss = ds;
		else if (!*dsys && *ss && strcmp(*ss, ds) != 0)
			*dsys = ds;
	} else if (ds) {
		if (!*ss && same(p->sock_af, p->local, p->af, p->src))
			*ss = ds;
		if (!*dsys && same(p->sock_af, p->local, p->af, p->dst))
			*dsys = ds;
	}
	return !*ss || !*dsys;
}

struct batch {
	const struct store_flow *f;
	size_t n;
};

static int put(struct flow_recorder *r, struct store *st, void *arg)
{
	const struct batch *b = arg;
	int e = store_put_flows(st, b->f, b->n);
	if (e < 0 && !r->failing)
		log_warn("flows: cannot store %zu flow records: %s", b->n, store_errmsg(st));
	return e;
}

static void drop_kept(struct flow_recorder *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->p[i].ds);
	r->n = 0;
}

int flow_recorder_flush(struct flow_recorder *r, int64_t now_ms)
{
	if (r->n == 0)
		return 0;
	if (addr_map_due(&r->addrs, now_ms, false))
		reload(r, now_ms);
	struct store_flow *v = xcalloc(r->n, sizeof(*v));
	bool missed = false;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < r->n; i++) {
			const struct pending *p = &r->p[i];
			const char *ss, *dsys;
			missed |= attribute(r, p, &ss, &dsys);
			v[i] = (struct store_flow){.time_ms = p->t,
			                           .agent = p->agent,
			                           .src_system = ss,
			                           .dst_system = dsys,
			                           .proto = p->proto,
			                           .sport = p->sport,
			                           .dport = p->dport,
			                           .frame_length = p->frame_length,
			                           .sampling_rate = p->rate};
		}
		/* an unknown address: a new system, maybe (the map's back-off
		 * keeps this from reloading on every write) */
		if (pass || !missed || !addr_map_due(&r->addrs, now_ms, true))
			break;
		reload(r, now_ms);
	}
	char(*text)[2][48] = xcalloc(r->n, sizeof(*text));
	for (size_t i = 0; i < r->n; i++) {
		addr_text(r->p[i].af, r->p[i].src, text[i][0], sizeof(text[i][0]));
		addr_text(r->p[i].af, r->p[i].dst, text[i][1], sizeof(text[i][1]));
		v[i].src = text[i][0];
		v[i].dst = text[i][1];
	}
	struct batch b = {v, r->n};
	int e = with_store(r, put, &b);
	if (e < 0) {
		r->stats.dropped += r->n;
		r->stats.write_errors++;
		r->failing = true;
	} else {
		if (r->failing)
			log_info("flows: storing flow records again");
		r->failing = false;
		r->stats.stored += r->n;
	}
	free(text);
	free(v);
	drop_kept(r);
	return e;
}

int flow_recorder_tick(struct flow_recorder *r, int64_t now_ms)
{
	if (r->n >= FLOW_RECORDER_BATCH || (r->n && now_ms - r->first_ms >= FLOW_RECORDER_DELAY_MS))
		return flow_recorder_flush(r, now_ms);
	return 0;
}

void flow_recorder_stats(const struct flow_recorder *r, struct flow_recorder_stats *out)
{
	*out = r->stats;
}

void flow_recorder_free(struct flow_recorder *r)
{
	if (!r)
		return;
	drop_kept(r);
	free(r->p);
	size_t pos = 0;
	uint64_t k;
	void *v;
	while (u64map_next(&r->sources, &pos, &k, &v))
		free(((struct source *)v)->system);
	u64map_free(&r->sources);
	learnt_clear(r);
	u64map_free(&r->learnt);
	addr_map_free(&r->addrs);
	free(r);
}
