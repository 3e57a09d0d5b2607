/*
 * sflow_collector.c - the collector's socket, thread and counters
 * (sflow_collector.h); what samples become is sflow_systems.c's.
 *
 * The thread polls its socket and an eventfd (stop).  A wake-up takes the
 * tokens the one-second bucket holds (max_rate a second, at most
 * SFLOW_COLLECTOR_BATCH), reads up to that many datagrams with recvmmsg()
 * in rounds of RECV_VEC, decodes each, and ends the store batch: the
 * frames of the wake-up in one transaction.  The kernel's count of
 * datagrams dropped on the socket (its receive queue full) is read with
 * SO_MEMINFO at every wake-up and every second.  Counters are the thread's; a copy under `lock`
 * is refreshed after every wake-up for sflow_collector_stats().
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/sock_diag.h>

#include "../frame/sink.h"
#include "../util/log.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "locked_sink.h"
#include "sflow_collector.h"

#define RECV_VEC 64

struct sflow_collector {
	int fd, stopfd;
	pthread_t tid;
	bool started, stopped;
	struct store_share *sh;
	int slot;
	struct sink *sink;
	struct sflow_systems *sys;
	uint32_t max_rate;
	struct sflow_flow_hooks flows;
	int64_t flushed_ns; /* when flows.flush last ran */
	double tokens;
	int64_t refill_ns;
	char addr[80];

	struct sflow_collector_stats st; /* the thread's */
	pthread_mutex_t lock;
	struct sflow_collector_stats pub; /* the copy, under lock */

	uint8_t (*bufs)[SFLOW_COLLECTOR_DGRAM_MAX];
	struct mmsghdr msgs[RECV_VEC];
	struct iovec iov[RECV_VEC];
};

int sflow_listen_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len, char *err,
                       size_t errlen)
{
	const char *orig = s;
	char host[256] = "", port[16];
	const char *colon = strrchr(s, ':');
	const char *p = colon ? colon + 1 : s;
	if (colon) {
		size_t n = (size_t)(colon - s);
		if (n && s[0] == '[' && s[n - 1] == ']') {
			s++;
			n -= 2;
		}
		if (n >= sizeof(host)) {
			snprintf(err, errlen, "sFlow listen address too long: '%.40s...'", s);
			return -EINVAL;
		}
		memcpy(host, s, n);
		host[n] = 0;
	}
	char *end;
	errno = 0;
	long v = strtol(p, &end, 10);
	if (!*p || *end || errno || v < 0 || v > 65535) {
		snprintf(err, errlen, "not [ADDR:]PORT (e.g. 6343, 0.0.0.0:6343, [::]:6343): '%s'",
		         orig);
		return -EINVAL;
	}
	snprintf(port, sizeof(port), "%ld", v);
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_DGRAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	int r = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (r != 0 || !ai) {
		snprintf(err, errlen, "sFlow listen address '%s': %s", host, gai_strerror(r));
		return -EINVAL;
	}
	/* no address: IPv4's any, which hsflowd's default collector config uses */
	struct addrinfo *pick = ai;
	for (struct addrinfo *a = ai; !host[0] && a; a = a->ai_next)
		if (a->ai_family == AF_INET)
			pick = a;
	memcpy(ss, pick->ai_addr, pick->ai_addrlen);
	*len = pick->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static void format_addr(const struct sockaddr_storage *ss, char *dst, size_t cap)
{
	char a[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		snprintf(dst, cap, "[%s]:%u", a, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		snprintf(dst, cap, "%s:%u", a, ntohs(s4->sin_port));
	}
}

static int open_socket(struct sflow_collector *c, const char *listen, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int r = sflow_listen_parse(listen, &ss, &sl, err, errlen);
	if (r < 0)
		return r;
	int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "sFlow socket: %s", strerror(errno));
		return r;
	}
	int one = 1, size = SFLOW_COLLECTOR_RCVBUF;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* the bound queue: forced past rmem_max when allowed (CAP_NET_ADMIN) */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	char a[80];
	format_addr(&ss, a, sizeof(a));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		r = -errno;
		snprintf(err, errlen, "sFlow: cannot bind UDP %s: %s", a, strerror(errno));
		close(fd);
		return r;
	}
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		format_addr(&ss, a, sizeof(a));
	snprintf(c->addr, sizeof(c->addr), "%s", a);
	c->fd = fd;
	return 0;
}

/* ---- the thread ------------------------------------------------------------------ */

static int on_counters(void *ctx, const struct sflow_header *h, const struct sflow_counters *ctr)
{
	struct sflow_collector *c = ctx;
	int64_t now_ms = now_ns() / 1000000;
	/* a frame the store refuses is counted there; the datagram goes on */
	sflow_systems_counters(c->sys, h, ctr, now_ms);
	const char *id = sflow_systems_last_id(c->sys);
	if (c->flows.source && id)
		c->flows.source(c->flows.ctx, h, ctr->ds_index, id, now_ms);
	return 0;
}

static int on_flow(void *ctx, const struct sflow_header *h, const struct sflow_flow *f)
{
	struct sflow_collector *c = ctx;
	if (c->flows.flow(c->flows.ctx, h, f, now_ns() / 1000000) < 0)
		c->st.flow_errors++;
	return 0;
}

/* The flow hook's flush, at most once a second (and `force`d at the end). */
static void flush_flows(struct sflow_collector *c, bool force)
{
	int64_t now = mono_ns();
	if (!c->flows.flush || (!force && now - c->flushed_ns < 1000000000))
		return;
	c->flushed_ns = now;
	c->flows.flush(c->flows.ctx, now_ns() / 1000000);
}

static void publish(struct sflow_collector *c)
{
	uint32_t mi[SK_MEMINFO_VARS] = {0};
	socklen_t ml = sizeof(mi);
	if (getsockopt(c->fd, SOL_SOCKET, SO_MEMINFO, mi, &ml) == 0 &&
	    ml > SK_MEMINFO_DROPS * sizeof(mi[0]))
		c->st.dropped_queue = mi[SK_MEMINFO_DROPS];
	sflow_systems_stats(c->sys, &c->st.systems);
	pthread_mutex_lock(&c->lock);
	c->pub = c->st;
	pthread_mutex_unlock(&c->lock);
}

static void refill(struct sflow_collector *c)
{
	int64_t now = mono_ns();
	double add = (double)(now - c->refill_ns) / 1e9 * c->max_rate;
	c->refill_ns = now;
	c->tokens += add;
	if (c->tokens > c->max_rate)
		c->tokens = c->max_rate;
}

/* Read and decode up to `max` datagrams; returns how many were read
 * (0 when the socket is empty). */
static int drain(struct sflow_collector *c, int max)
{
	const struct sflow_decode_cb cb = {
	    .ctx = c, .counters = on_counters, .flow = c->flows.flow ? on_flow : NULL};
	int done = 0;
	while (done < max) {
		int want = max - done < RECV_VEC ? max - done : RECV_VEC;
		for (int i = 0; i < want; i++) {
			c->iov[i] = (struct iovec){c->bufs[i], SFLOW_COLLECTOR_DGRAM_MAX};
			c->msgs[i].msg_hdr =
			    (struct msghdr){.msg_iov = &c->iov[i], .msg_iovlen = 1};
		}
		int n = recvmmsg(c->fd, c->msgs, (unsigned)want, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			struct msghdr *m = &c->msgs[i].msg_hdr;
			size_t len = c->msgs[i].msg_len;
			c->st.received++;
			c->st.bytes += len;
			if (m->msg_flags & MSG_TRUNC) {
				c->st.oversized++;
				continue;
			}
			if (sflow_decode(c->bufs[i], len, &cb, &c->st.decode) < 0)
				c->st.rejected++;
		}
		done += n;
		if (n < want)
			break;
	}
	return done;
}

static void *collector_main(void *arg)
{
	struct sflow_collector *c = arg;
	setpriority(PRIO_PROCESS, (id_t)gettid(), 5); /* below the lanes and the API */
	c->refill_ns = mono_ns();
	c->tokens = c->max_rate;
	struct pollfd pf[2] = {{.fd = c->fd, .events = POLLIN},
	                       {.fd = c->stopfd, .events = POLLIN}};
	for (;;) {
		int r = poll(pf, 2, 1000);
		if (r < 0 && errno != EINTR)
			break;
		if (pf[1].revents)
			break;
		flush_flows(c, false);
		if (r <= 0 || !(pf[0].revents & POLLIN)) {
			publish(c); /* the kernel's drop count, every second */
			continue;
		}
		refill(c);
		int budget =
		    c->tokens < SFLOW_COLLECTOR_BATCH ? (int)c->tokens : SFLOW_COLLECTOR_BATCH;
		if (budget < 1) {
			/* over the rate: wait for tokens while the queue takes (or
			 * drops) what comes; a stop still ends the wait */
			c->st.throttled++;
			publish(c);
			poll(&pf[1], 1, 20);
			if (pf[1].revents)
				break;
			continue;
		}
		locked_sink_batch(c->sink, true);
		int n = drain(c, budget);
		locked_sink_batch(c->sink, false); /* errors logged by the share */
		c->tokens -= n;
		if (n)
			c->st.batches++;
		publish(c);
	}
	flush_flows(c, true);
	publish(c);
	return NULL;
}

/* ---- start and stop ---------------------------------------------------------------- */

int sflow_collector_start(const struct sflow_collector_opts *o, struct sflow_collector **out,
                          char *err, size_t errlen)
{
	struct sflow_collector *c = xcalloc(1, sizeof(*c));
	struct store_share *sh = o->store;
	c->fd = c->stopfd = -1;
	c->sh = sh;
	c->slot = o->slot;
	c->max_rate = o->max_rate ? o->max_rate : SFLOW_COLLECTOR_MAX_RATE;
	if (o->flows)
		c->flows = *o->flows;
	c->flushed_ns = mono_ns();
	pthread_mutex_init(&c->lock, NULL);
	int r = open_socket(c, o->listen, err, errlen);
	if (r < 0)
		goto fail;
	c->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->stopfd < 0) {
		r = -errno;
		snprintf(err, errlen, "sFlow: eventfd: %s", strerror(errno));
		goto fail;
	}
	c->bufs = malloc((size_t)RECV_VEC * SFLOW_COLLECTOR_DGRAM_MAX);
	if (!c->bufs) {
		r = -ENOMEM;
		snprintf(err, errlen, "sFlow: no memory for the receive buffers");
		goto fail;
	}
	if ((r = locked_sink_open(sh, c->slot, &c->sink)) < 0) {
		snprintf(err, errlen, "sFlow: cannot open the store sink: %s", strerror(-r));
		goto fail;
	}
	c->sys = sflow_systems_new(c->sink);
	if (pthread_create(&c->tid, NULL, collector_main, c) != 0) {
		r = -EAGAIN;
		snprintf(err, errlen, "sFlow: cannot start the collector thread");
		goto fail;
	}
	pthread_setname_np(c->tid, "vantage-sflow"); /* for top and bench/sflow */
	c->started = true;
	*out = c;
	return 0;
fail:
	sflow_collector_free(c);
	*out = NULL;
	return r;
}

const char *sflow_collector_address(const struct sflow_collector *c)
{
	return c->addr;
}

void sflow_collector_stats(struct sflow_collector *c, struct sflow_collector_stats *out)
{
	pthread_mutex_lock(&c->lock);
	*out = c->pub;
	pthread_mutex_unlock(&c->lock);
}

void sflow_collector_stop(struct sflow_collector *c)
{
	if (!c || c->stopped)
		return;
	c->stopped = true;
	if (c->started) {
		uint64_t one = 1;
		if (write(c->stopfd, &one, sizeof(one)) < 0)
			log_warn("sFlow: cannot signal the collector thread: %s", strerror(errno));
		pthread_join(c->tid, NULL);
		c->started = false;
	}
	if (c->sink) {
		/* frames kept back (a full disk) get one more try, then the sink
		 * leaves the share (its slot freed under the share's lock) */
		sink_flush(c->sink);
		pthread_mutex_lock(&c->sh->lock);
		if (!c->sh->closed) {
			sink_close(c->sink);
			if (c->slot >= 0 && c->slot < STORE_SHARE_SINKS &&
			    c->sh->sinks[c->slot] == c->sink)
				c->sh->sinks[c->slot] = NULL;
		}
		pthread_mutex_unlock(&c->sh->lock);
		free(c->sink); /* a locked sink's close does not free it */
		c->sink = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

void sflow_collector_free(struct sflow_collector *c)
{
	if (!c)
		return;
	sflow_collector_stop(c);
	if (c->stopfd >= 0)
		close(c->stopfd);
	sflow_systems_free(c->sys);
	free(c->bufs);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
