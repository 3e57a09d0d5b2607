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

struct pending {
	int64_t t;
	char agent[48], src[48], dst[48];
	char *src_system, *dst_system;
	uint32_t proto, sport, dport, frame_length, rate;
};

struct flow_recorder {
	struct store *st;
	struct store_share *sh; /* NULL: st is ours to use */
	struct addr_map addrs;
	struct u64map sources; /* hash(agent, sub-agent, ds_index) -> struct source */
	struct u64map learnt;  /* hash(address) -> struct learnt */
	struct pending *p;
	size_t n;
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
	r->p = xcalloc(FLOW_RECORDER_BATCH, sizeof(*r->p));
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

static void maybe_reload(struct flow_recorder *r, int64_t now_ms, bool missed)
{
	if (!addr_map_due(&r->addrs, now_ms, missed))
		return;
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
	maybe_reload(r, now_ms, false);
	const struct source *src = u64map_get(&r->sources, source_key(h, f->ds_index));
	const char *ds = src ? src->system : NULL;
	if (ds && f->has_socket)
		learn(r, f->sock_af, f->local, ds);
	const char *ss = lookup(r, f->af, f->src), *dsys = lookup(r, f->af, f->dst);
	if ((!ss || !dsys) && addr_map_due(&r->addrs, now_ms, true)) { /* a new system? */
		maybe_reload(r, now_ms, true);
		ss = lookup(r, f->af, f->src);
		dsys = lookup(r, f->af, f->dst);
	}
	if (ds && !f->has_socket) {
		/* sampled on ds's interface: an unknown end facing another
		 * system is ds */
		if (!ss && dsys && strcmp(dsys, ds) != 0)
			ss = ds;
		else if (!dsys && ss && strcmp(ss, ds) != 0)
			dsys = ds;
	} else if (ds) {
		if (!ss && same(f->sock_af, f->local, f->af, f->src))
			ss = ds;
		if (!dsys && same(f->sock_af, f->local, f->af, f->dst))
			dsys = ds;
	}
	struct pending *p = &r->p[r->n];
	memset(p, 0, sizeof(*p));
	p->t = now_ms;
	addr_text(h->agent.af, h->agent.a, p->agent, sizeof(p->agent));
	addr_text(f->af, f->src, p->src, sizeof(p->src));
	addr_text(f->af, f->dst, p->dst, sizeof(p->dst));
	p->src_system = ss ? xstrdup(ss) : NULL;
	p->dst_system = dsys ? xstrdup(dsys) : NULL;
	p->proto = f->proto;
	p->sport = f->sport;
	p->dport = f->dport;
	p->frame_length = f->frame_length;
	p->rate = f->sampling_rate ? f->sampling_rate : 1;
	if (r->n++ == 0)
		r->first_ms = now_ms;
	if (r->n >= FLOW_RECORDER_BATCH || now_ms - r->first_ms >= FLOW_RECORDER_DELAY_MS)
		return flow_recorder_flush(r, now_ms);
	return 0;
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

int flow_recorder_flush(struct flow_recorder *r, int64_t now_ms)
{
	if (r->n == 0)
		return 0;
	struct store_flow *v = xcalloc(r->n, sizeof(*v));
	for (size_t i = 0; i < r->n; i++) {
		const struct pending *p = &r->p[i];
		v[i] = (struct store_flow){.time_ms = p->t,
		                           .agent = p->agent,
		                           .src_system = p->src_system,
		                           .dst_system = p->dst_system,
		                           .src = p->src,
		                           .dst = p->dst,
		                           .proto = p->proto,
		                           .sport = p->sport,
		                           .dport = p->dport,
		                           .frame_length = p->frame_length,
		                           .sampling_rate = p->rate};
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
	free(v);
	for (size_t i = 0; i < r->n; i++) {
		free(r->p[i].src_system);
		free(r->p[i].dst_system);
	}
	r->n = 0;
	return e;
}

void flow_recorder_stats(const struct flow_recorder *r, struct flow_recorder_stats *out)
{
	*out = r->stats;
}

void flow_recorder_free(struct flow_recorder *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->p[i].src_system);
		free(r->p[i].dst_system);
	}
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
