/*
 * sampler.c - the daemon's packet sampler thread (sampler.h).
 *
 * The thread polls the sockets of the open interfaces and an eventfd (the
 * stop), with a timeout to the next whole second.  Samples are parsed as
 * they come into this second's vector; at the second they are attributed
 * (the address map is reloaded first when due, so the system ids the
 * samples point to live until they are handed on), the interfaces' sample
 * pools and drops filled in, and the vector handed to the sinks.
 */
#include "sampler.h"

#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../frame/sflow.h"
#include "../frame/sink.h"
#include "../util/log.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "../views/host/pktsample.h"
#include "addr_map.h"
#include "engine.h"

#define REOPEN_MS 10000

struct iface {
	char name[32];
	struct pktsample *ps; /* NULL: not open (yet) */
	bool said;            /* its failure to open was logged */
};

struct sampler {
	struct engine *e;
	uint32_t rate;
	struct iface ifs[SAMPLER_MAX_IFACES];
	int nifs;
	int stopfd;
	pthread_t tid;
	bool started;
	struct addr_map addrs;
	int64_t last_open_ms;
	uint32_t seq;
	struct sflow_flow *v; /* this second's samples */
	size_t n;
	_Atomic uint64_t samples, sent, overflow, no_ip;
};

static int64_t wall_ms(void)
{
	return now_ns() / 1000000;
}

static void open_missing(struct sampler *s, int64_t now)
{
	s->last_open_ms = now;
	for (int i = 0; i < s->nifs; i++) {
		struct iface *f = &s->ifs[i];
		/* an interface deleted and made again (a container restarted)
		 * has a new index: the old socket hears nothing any more */
		if (f->ps && (int)if_nametoindex(f->name) != pktsample_ifindex(f->ps)) {
			log_info("sampling %s: the interface was replaced; sampling the new one",
			         f->name);
			pktsample_close(f->ps);
			f->ps = NULL;
		}
		if (f->ps)
			continue;
		char err[256];
		int r = pktsample_open(f->name, s->rate, &f->ps, err, sizeof(err));
		if (r == 0) {
			log_info("sampling 1 packet in %u on %s", s->rate, f->name);
			f->said = false;
		} else if (!f->said) {
			log_warn("%s%s", err, r == -ENODEV ? "; tried again every 10 s" : "");
			f->said = true;
		}
	}
}

struct take_ctx {
	struct sampler *s;
	int ifindex;
};

static int take(void *ctx, const struct pkt_sample *p)
{
	struct take_ctx *c = ctx;
	struct sampler *s = c->s;
	atomic_fetch_add(&s->samples, 1);
	if (s->n >= SAMPLER_MAX_PER_S) {
		atomic_fetch_add(&s->overflow, 1);
		return 0;
	}
	struct sflow_flow *f = &s->v[s->n++];
	memset(f, 0, sizeof(*f));
	f->sampling_rate = s->rate;
	f->has_header = true;
	f->header_protocol = 1;
	f->frame_length = p->origlen;
	f->header_len = p->caplen > SFLOW_HEADER_MAX ? SFLOW_HEADER_MAX : p->caplen;
	memcpy(f->header, p->data, f->header_len);
	f->input = p->outgoing ? 0 : (uint32_t)c->ifindex;
	f->output = p->outgoing ? (uint32_t)c->ifindex : 0;
	if (!sflow_parse_header(f))
		atomic_fetch_add(&s->no_ip, 1);
	return 0;
}

/* The owner of f's source address, else of its destination; true when an
 * end is no known system's. */
static bool attribute(struct sampler *s, struct sflow_flow *f)
{
	f->system_id = NULL;
	f->has_socket = false;
	if (!f->has_ip)
		return false;
	size_t al = f->af == 2 ? 16 : 4;
	const char *sys = addr_map_find(&s->addrs, f->af, f->src);
	const char *dsys = addr_map_find(&s->addrs, f->af, f->dst);
	bool src_side = sys != NULL;
	if (!sys)
		sys = dsys;
	if (!sys)
		return true;
	f->system_id = sys;
	f->has_socket = true;
	f->sock_af = f->af;
	f->sock_proto = f->proto;
	memcpy(f->local, src_side ? f->src : f->dst, al);
	memcpy(f->remote, src_side ? f->dst : f->src, al);
	f->local_port = src_side ? f->sport : f->dport;
	f->remote_port = src_side ? f->dport : f->sport;
	return !src_side || !dsys;
}

static void reload_addrs(struct sampler *s, int64_t now)
{
	struct store_share *sh = &s->e->store;
	pthread_mutex_lock(&sh->lock);
	int r = sh->closed || !sh->st ? -ESHUTDOWN : addr_map_load(&s->addrs, sh->st, now);
	pthread_mutex_unlock(&sh->lock);
	if (r == -ESHUTDOWN)
		s->addrs.loaded_ms = now; /* the old map until the next try */
}

/* The second's samples to the sinks. */
static void hand_on(struct sampler *s, int64_t now)
{
	if (addr_map_due(&s->addrs, now, false))
		reload_addrs(s, now);
	if (s->n == 0)
		return;
	/* the pools and drops of the interfaces, once a second */
	uint64_t pool[SAMPLER_MAX_IFACES] = {0}, drops[SAMPLER_MAX_IFACES] = {0};
	for (int k = 0; k < s->nifs; k++)
		if (s->ifs[k].ps)
			pktsample_counts(s->ifs[k].ps, &pool[k], &drops[k]);
	for (size_t i = 0; i < s->n; i++) {
		struct sflow_flow *f = &s->v[i];
		int ifx = (int)(f->input ? f->input : f->output);
		for (int k = 0; k < s->nifs; k++)
			if (s->ifs[k].ps && pktsample_ifindex(s->ifs[k].ps) == ifx) {
				f->sample_pool = (uint32_t)pool[k];
				f->drops = (uint32_t)drops[k];
				break;
			}
		f->seq = ++s->seq;
	}
	bool missed = false;
	for (size_t i = 0; i < s->n; i++)
		missed |= attribute(s, &s->v[i]);
	if (missed && addr_map_due(&s->addrs, now, true)) { /* a new system, maybe */
		reload_addrs(s, now);
		for (size_t i = 0; i < s->n; i++)
			attribute(s, &s->v[i]);
	}
	if (s->e->extras) {
		int r = sink_flows(s->e->extras, s->v, s->n);
		if (r < 0)
			log_debug("sampler: the sinks took %zu samples with an error: %s", s->n,
			          strerror(-r));
	}
	atomic_fetch_add(&s->sent, s->n);
	s->n = 0;
}

static void *sampler_main(void *arg)
{
	struct sampler *s = arg;
	int64_t next = (wall_ms() / 1000 + 1) * 1000;
	for (;;) {
		struct pollfd pf[SAMPLER_MAX_IFACES + 1];
		int idx[SAMPLER_MAX_IFACES];
		int n = 0;
		pf[n++] = (struct pollfd){.fd = s->stopfd, .events = POLLIN};
		for (int i = 0; i < s->nifs; i++)
			if (s->ifs[i].ps) {
				idx[n - 1] = i;
				pf[n++] = (struct pollfd){.fd = pktsample_fd(s->ifs[i].ps),
				                          .events = POLLIN};
			}
		int64_t now = wall_ms();
		int timeout = now >= next ? 0 : (int)(next - now);
		int r = poll(pf, (nfds_t)n, timeout);
		if (r < 0 && errno != EINTR) {
			log_error("sampler: poll: %s", strerror(errno));
			break;
		}
		if (pf[0].revents)
			break;
		for (int k = 1; r > 0 && k < n; k++) {
			if (!pf[k].revents)
				continue;
			struct iface *f = &s->ifs[idx[k - 1]];
			struct take_ctx c = {s, pktsample_ifindex(f->ps)};
			int e = pktsample_read(f->ps, take, &c);
			if (e < 0) { /* the interface went away (a container stopped) */
				log_warn("sampling %s: %s; tried again every 10 s", f->name,
				         strerror(-e));
				pktsample_close(f->ps);
				f->ps = NULL;
				f->said = true;
			}
		}
		now = wall_ms();
		if (now >= next) {
			hand_on(s, now);
			next = (now / 1000 + 1) * 1000;
			if (now - s->last_open_ms >= REOPEN_MS)
				open_missing(s, now);
		}
	}
	return NULL;
}

int sampler_start(struct engine *e, const char *ifaces, uint32_t rate, struct sampler **out,
                  char *err, size_t errlen)
{
	*out = NULL;
	if (rate < 1) {
		snprintf(err, errlen, "sample rate: must be 1 or more");
		return -EINVAL;
	}
	struct sampler *s = xcalloc(1, sizeof(*s));
	s->e = e;
	s->rate = rate;
	s->stopfd = -1;
	const char *p = ifaces ? ifaces : "";
	while (*p) {
		size_t len = strcspn(p, ", ");
		if (len) {
			if (len >= sizeof(s->ifs[0].name) || s->nifs == SAMPLER_MAX_IFACES) {
				snprintf(err, errlen, "sample interfaces '%s': %s", ifaces,
				         s->nifs == SAMPLER_MAX_IFACES ? "too many"
				                                       : "a name is too long");
				free(s);
				return -EINVAL;
			}
			memcpy(s->ifs[s->nifs].name, p, len);
			s->ifs[s->nifs++].name[len] = 0;
		}
		p += len;
		p += strspn(p, ", ");
	}
	if (!s->nifs) {
		free(s);
		return 0;
	}
	s->v = xcalloc(SAMPLER_MAX_PER_S, sizeof(*s->v));
	s->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stopfd < 0) {
		int r = -errno;
		snprintf(err, errlen, "sampler: eventfd: %s", strerror(errno));
		free(s->v);
		free(s);
		return r;
	}
	open_missing(s, wall_ms());
	reload_addrs(s, wall_ms());
	if (!e->extras)
		log_warn("sampling packets, but no --sink takes them (use sflow://HOST:PORT)");
	if (pthread_create(&s->tid, NULL, sampler_main, s) != 0) {
		snprintf(err, errlen, "sampler: cannot start its thread");
		sampler_stop(s);
		return -EAGAIN;
	}
	pthread_setname_np(s->tid, "vantage-sampler"); /* its CPU: bench/sflow_sampling.sh */
	s->started = true;
	*out = s;
	return 0;
}

void sampler_stats(struct sampler *s, struct sampler_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!s)
		return;
	out->samples = atomic_load(&s->samples);
	out->sent = atomic_load(&s->sent);
	out->overflow = atomic_load(&s->overflow);
	out->no_ip = atomic_load(&s->no_ip);
}

void sampler_stop(struct sampler *s)
{
	if (!s)
		return;
	if (s->started) {
		uint64_t one = 1;
		if (write(s->stopfd, &one, sizeof(one)) < 0)
			log_warn("sampler: cannot signal its thread: %s", strerror(errno));
		pthread_join(s->tid, NULL);
	}
	for (int i = 0; i < s->nifs; i++)
		pktsample_close(s->ifs[i].ps);
	if (s->stopfd >= 0)
		close(s->stopfd);
	addr_map_free(&s->addrs);
	free(s->v);
	free(s);
}
