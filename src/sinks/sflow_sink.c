/*
 * sflow_sink.c - the sFlow v5 sink: each frame's metric records as the
 * counter samples a Host sFlow agent sends, and sampled packets as flow
 * samples, in UDP datagrams to an sFlow collector (docs/sflow.md).  URL:
 *
 *   sflow://HOST[:PORT][?OPTION=VALUE&...]      (PORT 6343)
 *     mtu=BYTES        a datagram's size at most (1400; 200..65507)
 *     agent=IP         the agent address in every datagram (default: the
 *                      non-loopback IPv4 address of the up interface with
 *                      the lowest index, else such an IPv6 one)
 *     sub_agent=N      the sub-agent id (0)
 *     delay_ms=MS      how long a datagram waits for more samples before it
 *                      is sent (200; 0: sent after each frame)
 *
 * What a frame becomes (JSON frames; crawler-format frames are skipped and
 * counted): the host's frame one counter sample of data source 2:1 with
 * host_descr, host_adapters, host_cpu, host_memory, host_disk_io,
 * host_net_io and, once containers or VMs were seen, virt_node; a
 * container's or VM's frame one sample of data source 3:sflow_ds_index(id)
 * with host_descr (its name, a uuid from its id), host_parent (2:1),
 * virt_cpu, virt_memory, virt_disk_io (when the frame has a disk or block
 * I/O figure) and virt_net_io.  docs/sflow.md has the field-by-field map.
 * A frame without metric records (or of a mounted root) sends nothing.
 *
 * Counters the frames give as rates only (the CPU's shares of an interval)
 * are integrated into cumulative milliseconds per data source, starting at
 * 0 when the sink opens: their differences are what a collector reads.
 *
 * Sequences: the datagram sequence is +1 per datagram of this sink (one
 * agent and sub-agent); each data source has its counter-sample and its
 * flow-sample sequence, +1 per sample; all start at 1 when the sink opens,
 * as an agent's do when it restarts (the uptime says so too).
 *
 * Samples gather in one datagram, sent when the next sample does not fit,
 * delay_ms after its first sample (a thread of the sink's), or at close.
 * A failed send is counted and logged once per episode, never returned:
 * UDP has no receiver to wait for.  The sink keeps one entry per data source
 * (its sequences and integrals); one not seen for an hour is forgotten.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <math.h>
#include <net/if.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../features/feature.h"
#include "../frame/decode.h"
#include "../frame/sflow.h"
#include "../util/buf.h"
#include "../util/jscan.h"
#include "../util/log.h"
#include "../util/sha256.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "sinks.h"

#define SS_FORGET_NS (3600LL * 1000000000LL) /* a data source not seen for an hour */
#define SS_MAX_ITEMS 256                     /* disks, devices, interfaces of a frame */
#define SS_LINE_MAX (64u << 20)              /* a longer line is skipped */

/* One data source: a system whose samples this sink sent. */
struct ds {
	char *id;
	uint32_t index, ctr_seq, flow_seq;
	bool guest;       /* a container or VM */
	int64_t seen_ns;  /* its last frame (or flow), CLOCK_MONOTONIC */
	double cpu_ms[8]; /* integrals: user nice system idle iowait irq softirq steal */
	double busy_ms;   /* a VM's CPU time */
	/* what the last frame with os or interface records said (the daemon
	 * crawls those less often than metrics, in frames of their own) */
	char hostname[65], release[33], arch[32];
	struct sflow_host_adapters adapters;
	uint64_t lo_hash[8];
	int nlo;
};

enum { C_USER, C_NICE, C_SYSTEM, C_IDLE, C_IOWAIT, C_IRQ, C_SOFTIRQ, C_STEAL, C_N };

/* A block device or interface of the frame. */
struct item {
	uint64_t hash; /* of its name */
	char name[64];
	uint64_t v[8];
	bool loopback;
};

/* What the frame being received holds, as far as the samples need it.
 * Everything before dev[] is cleared when a frame begins. */
struct cur {
	bool active, json, any_metric, any_os, any_if, is_host, is_guest;
	char id[512], name[256];
	/* cpu */
	bool has_cpu_pct, has_cpu_s;
	double cpu[C_N], interval_s, busy_pct;
	uint32_t ncpu;
	/* load */
	bool has_load;
	double load[3], uptime_s;
	uint64_t runnable, tasks;
	/* memory (KiB) */
	bool has_mem;
	uint64_t total_kb, free_kb, used_kb, buffers_kb, cached_kb, swap_total_kb, swap_free_kb;
	/* file systems */
	bool has_disk, has_root;
	uint64_t disk_total, disk_free, root_size, root_used, root_avail;
	double part_max_used;
	uint64_t disk_devs[64];
	int ndisk_devs;
	/* interfaces */
	struct sflow_host_adapters adapters;
	uint64_t lo_hash[8];
	int nlo;
	/* cgroup */
	bool has_cg_cpu, has_cg_io, has_cpu_limit;
	uint64_t cg_cpu_ns, io_rb, io_wb, io_rops, io_wops;
	double cpu_limit;
	/* os */
	char hostname[65], release[33], arch[32];
	/* block devices and interfaces */
	int ndev, nnet;
	struct item dev[SS_MAX_ITEMS], net[SS_MAX_ITEMS];
};

struct sflow_sink {
	struct sink base;
	/* set at open */
	size_t mtu;
	int64_t delay_ns, start_ns;
	struct sockaddr_storage to;
	int fd;
	socklen_t tolen;
	uint32_t sub_agent;
	struct sflow_addr agent;
	char agent_str[64];

	/* the frame being received (the caller's thread) */
	struct buf line; /* a line cut by a write */
	struct cur cur;

	/* under lock: everything below, shared with the sender thread */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	int64_t first_ns; /* when the pending datagram got its first sample; 0 none */
	struct ds *ds;
	size_t nds, capds;
	int64_t host_prev_ns, host_gap_ns; /* the host's frames: the last, their spacing */
	uint64_t datagrams, bytes, samples, flow_samples, send_errors, too_big, skipped_frames;
	uint32_t seq, host_ncpu;
	int last_err;
	bool thread_started, stop;
	struct sflow_dgram dg;
};

/* ---- data sources --------------------------------------------------------------- */

static struct ds *ds_get(struct sflow_sink *ss, const char *id, bool guest)
{
	uint32_t index = guest ? sflow_ds_index(id) : 1;
	for (size_t i = 0; i < ss->nds; i++) {
		struct ds *d = &ss->ds[i];
		if (d->index != index || d->guest != guest)
			continue;
		if (!guest) { /* one host: the id of its frames, once one came */
			if (strcmp(id, "host:") != 0 && strcmp(d->id, id) != 0) {
				free(d->id);
				d->id = xstrdup(id);
			}
			return d;
		}
		if (strcmp(d->id, id) == 0)
			return d;
	}
	if (ss->nds == ss->capds) {
		ss->capds = ss->capds ? 2 * ss->capds : 16;
		ss->ds = xreallocarray(ss->ds, ss->capds, sizeof(*ss->ds));
	}
	struct ds *d = &ss->ds[ss->nds++];
	memset(d, 0, sizeof(*d));
	d->id = xstrdup(id);
	d->index = index;
	d->guest = guest;
	return d;
}

/* Forget data sources not seen for an hour (lock held). */
static void ds_prune(struct sflow_sink *ss, int64_t now)
{
	size_t k = 0;
	for (size_t i = 0; i < ss->nds; i++) {
		if (now - ss->ds[i].seen_ns > SS_FORGET_NS) {
			free(ss->ds[i].id);
			continue;
		}
		ss->ds[k++] = ss->ds[i];
	}
	ss->nds = k;
}

/* ---- sending -------------------------------------------------------------------- */

/* Send the pending datagram, if any (lock held). */
static void send_pending(struct sflow_sink *ss)
{
	if (!ss->dg.nsamples)
		return;
	ss->dg.seq = ++ss->seq;
	ss->dg.uptime_ms = (uint32_t)((mono_ns() - ss->start_ns) / 1000000);
	sflow_dgram_finish(&ss->dg);
	ssize_t w = sendto(ss->fd, ss->dg.buf, ss->dg.len, MSG_DONTWAIT | MSG_NOSIGNAL,
	                   (const struct sockaddr *)&ss->to, ss->tolen);
	if (w < 0) {
		int e = errno;
		ss->send_errors++;
		if (e != ss->last_err)
			log_warn("sink %s: sending a datagram: %s (counted; later failures "
			         "are not logged until one succeeds)",
			         ss->base.desc, strerror(e));
		ss->last_err = e;
	} else {
		if (ss->last_err)
			log_info("sink %s: datagrams are sent again", ss->base.desc);
		ss->last_err = 0;
		ss->datagrams++;
		ss->bytes += (uint64_t)w;
	}
	sflow_dgram_reset(&ss->dg);
	ss->first_ns = 0;
}

/* Append a sample through add(), sending the pending datagram first when it
 * does not fit (lock held).  0, or -E2BIG / another error (counted). */
static int add_sample(struct sflow_sink *ss, int (*add)(struct sflow_dgram *, const void *),
                      const void *arg)
{
	int r = add(&ss->dg, arg);
	if (r == -EMSGSIZE) {
		send_pending(ss);
		r = add(&ss->dg, arg);
	}
	if (r < 0) {
		ss->too_big++;
		return r;
	}
	if (!ss->first_ns) {
		ss->first_ns = mono_ns();
		pthread_cond_signal(&ss->wake);
	}
	return 0;
}

static int add_counters(struct sflow_dgram *d, const void *c)
{
	return sflow_dgram_add_counters(d, c);
}

static int add_flow(struct sflow_dgram *d, const void *f)
{
	return sflow_dgram_add_flow(d, f);
}

/* The thread: sends a datagram delay_ns after its first sample. */
static void *sender(void *arg)
{
	struct sflow_sink *ss = arg;
	pthread_mutex_lock(&ss->lock);
	while (!ss->stop) {
		if (!ss->first_ns) {
			pthread_cond_wait(&ss->wake, &ss->lock);
			continue;
		}
		int64_t due = ss->first_ns + ss->delay_ns, now = mono_ns();
		if (now >= due) {
			send_pending(ss);
			continue;
		}
		/* the condition variable's clock is CLOCK_MONOTONIC (see open) */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		int64_t at = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + (due - now);
		ts.tv_sec = at / 1000000000LL;
		ts.tv_nsec = at % 1000000000LL;
		pthread_cond_timedwait(&ss->wake, &ss->lock, &ts);
	}
	pthread_mutex_unlock(&ss->lock);
	return NULL;
}

/* ---- reading the frame's records ------------------------------------------------ */

static double numd(struct js_span v)
{
	if (!v.n || v.p[0] == 'n' || v.p[0] == 't' || v.p[0] == 'f' || v.p[0] == '"')
		return 0;
	return strtod(v.p, NULL);
}

static uint64_t numu(struct js_span v)
{
	if (!v.n || !((v.p[0] >= '0' && v.p[0] <= '9')))
		return 0;
	for (size_t i = 0; i < v.n; i++)
		if (v.p[i] == '.' || v.p[i] == 'e' || v.p[i] == 'E') {
			double d = strtod(v.p, NULL);
			return d >= 1.8e19 ? UINT64_MAX : (uint64_t)d;
		}
	return strtoull(v.p, NULL, 10);
}

static bool isnull(struct js_span v)
{
	return v.n == 4 && memcmp(v.p, "null", 4) == 0;
}

/* A JSON string's decoded text into dst (cut to cap - 1). */
static void str_into(struct js_span v, char *dst, size_t cap)
{
	struct js_span c;
	dst[0] = 0;
	if (!js_str(v, &c))
		return;
	struct buf b = BUF_INIT;
	js_unescape(&b, c.p, c.n);
	copy_str(dst, cap, buf_str(&b), b.len);
	buf_free(&b);
}

static bool key_is(struct js_span k, const char *prefix, struct js_span *rest)
{
	size_t n = strlen(prefix);
	if (k.n < n || memcmp(k.p, prefix, n) != 0)
		return false;
	rest->p = k.p + n;
	rest->n = k.n - n;
	return true;
}

static struct item *item_add(struct item *a, int *n, struct js_span name)
{
	if (*n >= SS_MAX_ITEMS)
		return NULL;
	struct item *it = &a[(*n)++];
	memset(it, 0, sizeof(*it));
	it->hash = fnv1a(0, name.p, name.n);
	copy_str(it->name, sizeof(it->name), name.p, name.n);
	return it;
}

static const char *const cpu_fields[C_N] = {"user",   "nice", "system",  "idle",
                                            "iowait", "irq",  "softirq", "steal"};

/* "user_pct" / "user_s" -> the category and whether it is a share. */
static int cpu_field(struct js_span n, bool *pct)
{
	for (int i = 0; i < C_N; i++) {
		size_t l = strlen(cpu_fields[i]);
		if (n.n <= l || memcmp(n.p, cpu_fields[i], l) != 0 || n.p[l] != '_')
			continue;
		struct js_span t = {n.p + l + 1, n.n - l - 1};
		if (js_eq(t, "pct")) {
			*pct = true;
			return i;
		}
		if (js_eq(t, "s")) {
			*pct = false;
			return i;
		}
	}
	return -1;
}

static void metric_record(struct cur *c, struct js_span key, struct js_span val)
{
	struct js_iter it;
	struct js_span n, v, rest;
	if (js_iter_begin(&it, val, JS_TRUSTED) < 0)
		return;
	c->any_metric = true;
	if (js_eq(key, "cpu")) {
		while (js_obj_next(&it, &n, &v) == 1) {
			bool pct = false;
			int i = cpu_field(n, &pct);
			if (i >= 0) {
				c->cpu[i] = numd(v);
				if (pct)
					c->has_cpu_pct = true;
				else
					c->has_cpu_s = true;
			} else if (js_eq(n, "interval_s")) {
				c->interval_s = numd(v);
			} else if (js_eq(n, "busy_pct")) {
				c->busy_pct = numd(v);
			}
		}
	} else if (key_is(key, "cpu", &rest) && rest.n && rest.p[0] >= '0' && rest.p[0] <= '9') {
		c->ncpu++;
	} else if (js_eq(key, "memory")) {
		c->has_mem = true;
		while (js_obj_next(&it, &n, &v) == 1) {
			if (js_eq(n, "total_kb"))
				c->total_kb = numu(v);
			else if (js_eq(n, "free_kb"))
				c->free_kb = numu(v);
			else if (js_eq(n, "used_kb"))
				c->used_kb = numu(v);
			else if (js_eq(n, "buffers_kb"))
				c->buffers_kb = numu(v);
			else if (js_eq(n, "cached_kb"))
				c->cached_kb = numu(v);
			else if (js_eq(n, "swap_total_kb"))
				c->swap_total_kb = numu(v);
			else if (js_eq(n, "swap_free_kb"))
				c->swap_free_kb = numu(v);
		}
	} else if (js_eq(key, "load")) {
		c->has_load = true;
		while (js_obj_next(&it, &n, &v) == 1) {
			if (js_eq(n, "load1"))
				c->load[0] = numd(v);
			else if (js_eq(n, "load5"))
				c->load[1] = numd(v);
			else if (js_eq(n, "load15"))
				c->load[2] = numd(v);
			else if (js_eq(n, "runnable"))
				c->runnable = numu(v);
			else if (js_eq(n, "tasks"))
				c->tasks = numu(v);
			else if (js_eq(n, "uptime_s"))
				c->uptime_s = numd(v);
		}
	} else if (key_is(key, "disk:", &rest)) {
		char dev[256] = "", fstype[64] = "";
		uint64_t size = 0, used = 0, avail = 0;
		double pct = 0;
		while (js_obj_next(&it, &n, &v) == 1) {
			if (js_eq(n, "device"))
				str_into(v, dev, sizeof(dev));
			else if (js_eq(n, "fstype"))
				str_into(v, fstype, sizeof(fstype));
			else if (js_eq(n, "size_bytes"))
				size = numu(v);
			else if (js_eq(n, "used_bytes"))
				used = numu(v);
			else if (js_eq(n, "avail_bytes"))
				avail = numu(v);
			else if (js_eq(n, "used_pct"))
				pct = numd(v);
		}
		if (rest.n == 1 && rest.p[0] == '/') {
			c->has_root = true;
			c->root_size = size;
			c->root_used = used;
			c->root_avail = avail;
		}
		/* the host's disks: file systems on devices, each device once */
		static const char *const pseudo[] = {"tmpfs",    "devtmpfs", "ramfs", "overlay",
		                                     "squashfs", "nsfs",     "autofs"};
		for (size_t i = 0; i < sizeof(pseudo) / sizeof(pseudo[0]); i++)
			if (strcmp(fstype, pseudo[i]) == 0)
				return;
		uint64_t h = fnv1a(0, dev, strlen(dev));
		for (int i = 0; i < c->ndisk_devs; i++)
			if (c->disk_devs[i] == h)
				return;
		if (c->ndisk_devs < (int)(sizeof(c->disk_devs) / sizeof(c->disk_devs[0])))
			c->disk_devs[c->ndisk_devs++] = h;
		c->has_disk = true;
		c->disk_total += size;
		c->disk_free += avail;
		if (pct > c->part_max_used)
			c->part_max_used = pct;
	} else if (key_is(key, "diskio:", &rest)) {
		struct item *d = item_add(c->dev, &c->ndev, rest);
		if (!d)
			return;
		static const char *const f[] = {"reads",       "writes",  "read_bytes",
		                                "write_bytes", "read_ms", "write_ms"};
		while (js_obj_next(&it, &n, &v) == 1)
			for (int i = 0; i < 6; i++)
				if (js_eq(n, f[i]))
					d->v[i] = numu(v);
	} else if (key_is(key, "net:", &rest)) {
		struct item *d = item_add(c->net, &c->nnet, rest);
		if (!d)
			return;
		static const char *const f[] = {"rx_bytes",   "rx_packets", "rx_errors",
		                                "rx_dropped", "tx_bytes",   "tx_packets",
		                                "tx_errors",  "tx_dropped"};
		while (js_obj_next(&it, &n, &v) == 1)
			for (int i = 0; i < 8; i++)
				if (js_eq(n, f[i]))
					d->v[i] = numu(v);
	} else if (js_eq(key, "cgroup")) {
		while (js_obj_next(&it, &n, &v) == 1) {
			if (js_eq(n, "cpu_usage_ns")) {
				c->cg_cpu_ns = numu(v);
				c->has_cg_cpu = true;
			} else if (js_eq(n, "io_read_bytes")) {
				c->io_rb = numu(v);
				c->has_cg_io = true;
			} else if (js_eq(n, "io_write_bytes"))
				c->io_wb = numu(v);
			else if (js_eq(n, "io_read_ops"))
				c->io_rops = numu(v);
			else if (js_eq(n, "io_write_ops"))
				c->io_wops = numu(v);
			else if (js_eq(n, "cpu_limit_cores") && !isnull(v)) {
				c->cpu_limit = numd(v);
				c->has_cpu_limit = true;
			}
		}
	}
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return false;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return true;
}

static void interface_record(struct cur *c, struct js_span key, struct js_span val)
{
	struct js_iter it, fl;
	struct js_span n, v, e;
	if (js_iter_begin(&it, val, JS_TRUSTED) < 0)
		return;
	uint32_t index = 0;
	char mac[32] = "";
	c->any_if = true;
	bool loopback = false, up = false;
	while (js_obj_next(&it, &n, &v) == 1) {
		if (js_eq(n, "index")) {
			index = (uint32_t)numu(v);
		} else if (js_eq(n, "mac")) {
			str_into(v, mac, sizeof(mac));
		} else if (js_eq(n, "flags") && js_iter_begin(&fl, v, JS_TRUSTED) == 0) {
			while (js_arr_next(&fl, &e) == 1) {
				if (js_eq(e, "\"loopback\""))
					loopback = true;
				else if (js_eq(e, "\"up\""))
					up = true;
			}
		}
	}
	if (loopback) {
		if (c->nlo < (int)(sizeof(c->lo_hash) / sizeof(c->lo_hash[0])))
			c->lo_hash[c->nlo++] = fnv1a(0, key.p, key.n);
		return;
	}
	if (!up || c->adapters.n >= SFLOW_MAX_ADAPTERS)
		return;
	struct sflow_adapter *a = &c->adapters.a[c->adapters.n++];
	memset(a, 0, sizeof(*a));
	a->ifindex = index;
	a->nmacs = parse_mac(mac, a->mac) ? 1 : 0;
}

static void os_record(struct cur *c, struct js_span val)
{
	struct js_iter it;
	struct js_span n, v;
	if (js_iter_begin(&it, val, JS_TRUSTED) < 0)
		return;
	c->any_os = true;
	while (js_obj_next(&it, &n, &v) == 1) {
		if (js_eq(n, "hostname"))
			str_into(v, c->hostname, sizeof(c->hostname));
		else if (js_eq(n, "kernel_release"))
			str_into(v, c->release, sizeof(c->release));
		else if (js_eq(n, "architecture"))
			str_into(v, c->arch, sizeof(c->arch));
	}
}

/* One record line [p, end) of the frame. */
static void take_line(struct cur *c, const char *p, const char *end)
{
	/* the feature comes third: find it without scanning the whole line */
	size_t scan = (size_t)(end - p) < 1400 ? (size_t)(end - p) : 1400;
	const char *f = memmem(p, scan, "\"feature\":\"", 11);
	if (!f)
		return;
	f += 11;
	size_t left = (size_t)(end - f);
	int kind = 0;
	if (left > 8 && memcmp(f, "metric\"", 7) == 0)
		kind = 1;
	else if (left > 11 && memcmp(f, "interface\"", 10) == 0)
		kind = 2;
	else if (left > 4 && memcmp(f, "os\"", 3) == 0)
		kind = 3;
	if (!kind)
		return;
	struct frame_line l;
	char err[128];
	if (frame_line_decode(p, end, &l, err, sizeof(err)) < 0)
		return;
	if (kind == 1)
		metric_record(c, l.key, l.value);
	else if (kind == 2)
		interface_record(c, l.key, l.value);
	else
		os_record(c, l.value);
}

/* ---- the samples ---------------------------------------------------------------- */

/* A uuid for a system id: the first 32 hex digits of its last part when it
 * has them (a machine-id, a container id, a VM's uuid), else the first 16
 * bytes of the id's SHA-256. */
static void id_uuid(const char *id, uint8_t uuid[16])
{
	const char *colon = strchr(id, ':');
	const char *s = colon ? colon + 1 : id;
	const char *last = strrchr(s, ':');
	if (last && strncmp(id, "vm:", 3) != 0)
		s = last + 1;
	int n = 0;
	uint8_t b[16];
	for (const char *p = s; *p && n < 32; p++) {
		if (*p == '-')
			continue;
		int h = hex_digit(*p);
		if (h < 0)
			break;
		if (n % 2 == 0)
			b[n / 2] = (uint8_t)(h << 4);
		else
			b[n / 2] |= (uint8_t)h;
		n++;
	}
	if (n == 32) {
		memcpy(uuid, b, 16);
		return;
	}
	char hex[SHA256_HEX_LEN + 1];
	if (sha256_hex(id, strlen(id), hex) < 0) {
		memset(uuid, 0, 16);
		return;
	}
	for (int i = 0; i < 16; i++)
		uuid[i] = (uint8_t)(hex_digit(hex[2 * i]) << 4 | hex_digit(hex[2 * i + 1]));
}

static uint32_t machine_type(const char *arch)
{
	if (strcmp(arch, "x86_64") == 0)
		return SFLOW_MT_X86_64;
	if (strncmp(arch, "i", 1) == 0 && strstr(arch, "86"))
		return SFLOW_MT_X86;
	if (strncmp(arch, "arm", 3) == 0 || strcmp(arch, "aarch64") == 0)
		return SFLOW_MT_ARM;
	return SFLOW_MT_UNKNOWN;
}

/* A cumulative count as the wire's u32: rounded, wrapping at 2^32. */
static uint32_t u32_of(double v)
{
	if (!(v > 0) || v > 1e18)
		return 0;
	return (uint32_t)(uint64_t)llround(v);
}

/* Advance a data source's CPU integrals with the frame's cpu record. */
static void integrate_cpu(struct ds *d, const struct cur *c)
{
	double ncpu = c->ncpu ? c->ncpu : 1;
	if (c->has_cpu_s) {
		for (int i = 0; i < C_N; i++)
			d->cpu_ms[i] = c->cpu[i] * 1000.0;
		d->busy_ms = (c->cpu[C_USER] + c->cpu[C_NICE] + c->cpu[C_SYSTEM] + c->cpu[C_IRQ] +
		              c->cpu[C_SOFTIRQ] + c->cpu[C_STEAL]) *
		             1000.0;
	} else if (c->has_cpu_pct && c->interval_s > 0) {
		double total = c->interval_s * 1000.0 * ncpu;
		for (int i = 0; i < C_N; i++)
			d->cpu_ms[i] += c->cpu[i] / 100.0 * total;
		d->busy_ms += c->busy_pct / 100.0 * total;
	}
}

/* The sum of the interfaces' counters, loopback left out. */
static void net_sum(const struct cur *c, const struct ds *d, struct sflow_net_io *n)
{
	uint64_t s[8] = {0};
	for (int i = 0; i < c->nnet; i++) {
		const struct item *it = &c->net[i];
		bool lo = strcmp(it->name, "lo") == 0;
		for (int k = 0; k < d->nlo && !lo; k++)
			lo = d->lo_hash[k] == it->hash;
		if (lo)
			continue;
		for (int k = 0; k < 8; k++)
			s[k] += it->v[k];
	}
	*n = (struct sflow_net_io){.bytes_in = s[0],
	                           .pkts_in = (uint32_t)s[1],
	                           .errs_in = (uint32_t)s[2],
	                           .drops_in = (uint32_t)s[3],
	                           .bytes_out = s[4],
	                           .pkts_out = (uint32_t)s[5],
	                           .errs_out = (uint32_t)s[6],
	                           .drops_out = (uint32_t)s[7]};
}

/* Devices counted in host_disk_io: whole disks, not their partitions, and
 * not loop, ram, zram, device-mapper, md or optical devices (which stand
 * on other disks or on memory). */
static bool whole_disk(const struct cur *c, const struct item *d)
{
	static const char *const skip[] = {"loop", "ram", "zram", "dm-", "md", "sr", "nbd"};
	for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
		if (strncmp(d->name, skip[i], strlen(skip[i])) == 0)
			return false;
	size_t n = strlen(d->name);
	for (int i = 0; i < c->ndev; i++) {
		size_t m = strlen(c->dev[i].name);
		if (&c->dev[i] == d || m >= n || strncmp(d->name, c->dev[i].name, m) != 0)
			continue;
		const char *t = d->name + m;
		if (*t == 'p' && m && c->dev[i].name[m - 1] >= '0' && c->dev[i].name[m - 1] <= '9')
			t++;
		if (!*t)
			continue;
		while (*t >= '0' && *t <= '9')
			t++;
		if (!*t)
			return false; /* a partition of dev[i] */
	}
	return true;
}

static void descr(const struct ds *d, const char *hostname, struct sflow_host_descr *h)
{
	memset(h, 0, sizeof(*h));
	copy_str(h->hostname, sizeof(h->hostname), hostname, strlen(hostname));
	id_uuid(d->id, h->uuid);
	h->machine_type = machine_type(d->arch);
	h->os_name = SFLOW_OS_LINUX;
	copy_str(h->os_release, sizeof(h->os_release), d->release, strlen(d->release));
}

static uint32_t guests_seen(const struct sflow_sink *ss, int64_t now)
{
	int64_t window = ss->host_gap_ns > 0 ? 2 * ss->host_gap_ns : 120LL * 1000000000LL;
	uint32_t n = 0;
	for (size_t i = 0; i < ss->nds; i++)
		if (ss->ds[i].guest && now - ss->ds[i].seen_ns <= window)
			n++;
	return n;
}

static void host_sample(struct sflow_sink *ss, const struct cur *c, struct ds *d,
                        struct sflow_counters *s, int64_t now)
{
	s->ds_class = SFLOW_DS_PHYSICAL;
	s->ds_index = 1;
	s->has_descr = true;
	descr(d, d->hostname[0] ? d->hostname : c->name, &s->descr);
	s->has_adapters = true;
	s->adapters = d->adapters;
	if (c->has_cpu_pct || c->has_cpu_s || c->has_load) {
		struct sflow_host_cpu *h = &s->cpu;
		s->has_cpu = true;
		h->load_one = (float)c->load[0];
		h->load_five = (float)c->load[1];
		h->load_fifteen = (float)c->load[2];
		h->proc_run = (uint32_t)c->runnable;
		h->proc_total = (uint32_t)c->tasks;
		h->cpu_num = c->ncpu;
		h->uptime_s = (uint32_t)c->uptime_s;
		h->cpu_user = u32_of(d->cpu_ms[C_USER]);
		h->cpu_nice = u32_of(d->cpu_ms[C_NICE]);
		h->cpu_system = u32_of(d->cpu_ms[C_SYSTEM]);
		h->cpu_idle = u32_of(d->cpu_ms[C_IDLE]);
		h->cpu_wio = u32_of(d->cpu_ms[C_IOWAIT]);
		h->cpu_intr = u32_of(d->cpu_ms[C_IRQ]);
		h->cpu_sintr = u32_of(d->cpu_ms[C_SOFTIRQ]);
		h->cpu_steal = u32_of(d->cpu_ms[C_STEAL]);
		h->has_steal = true;
	}
	if (c->has_mem) {
		s->has_mem = true;
		s->mem.mem_total = c->total_kb * 1024;
		s->mem.mem_free = c->free_kb * 1024;
		s->mem.mem_buffers = c->buffers_kb * 1024;
		s->mem.mem_cached = c->cached_kb * 1024;
		s->mem.swap_total = c->swap_total_kb * 1024;
		s->mem.swap_free = c->swap_free_kb * 1024;
	}
	if (c->has_disk || c->ndev) {
		struct sflow_host_disk_io *k = &s->disk;
		s->has_disk = true;
		k->disk_total = c->disk_total;
		k->disk_free = c->disk_free;
		k->part_max_used = (uint32_t)llround(c->part_max_used * 100);
		uint64_t v[6] = {0};
		for (int i = 0; i < c->ndev; i++)
			if (whole_disk(c, &c->dev[i]))
				for (int j = 0; j < 6; j++)
					v[j] += c->dev[i].v[j];
		k->reads = (uint32_t)v[0];
		k->writes = (uint32_t)v[1];
		k->bytes_read = v[2];
		k->bytes_written = v[3];
		k->read_time = (uint32_t)v[4];
		k->write_time = (uint32_t)v[5];
	}
	if (c->nnet) {
		s->has_net = true;
		net_sum(c, d, &s->net);
	}
	uint32_t guests = guests_seen(ss, now);
	if (guests) {
		s->has_vnode = true;
		s->vnode.cpus = c->ncpu;
		s->vnode.memory = c->total_kb * 1024;
		s->vnode.memory_free = c->free_kb * 1024;
		s->vnode.num_domains = guests;
	}
}

static void guest_sample(const struct sflow_sink *ss, const struct cur *c, const struct ds *d,
                         struct sflow_counters *s)
{
	s->ds_class = SFLOW_DS_LOGICAL;
	s->ds_index = d->index;
	s->has_descr = true;
	descr(d, c->name[0] ? c->name : d->hostname, &s->descr);
	s->has_parent = true;
	s->parent.ds_class = SFLOW_DS_PHYSICAL;
	s->parent.ds_index = 1;
	s->has_vcpu = true;
	s->vcpu.state = 1; /* running: it was crawled */
	if (c->has_cg_cpu)
		s->vcpu.cpu_time_ms = (uint32_t)(c->cg_cpu_ns / 1000000);
	else
		s->vcpu.cpu_time_ms = u32_of(d->busy_ms);
	if (c->ncpu)
		s->vcpu.nr_virt_cpu = c->ncpu;
	else if (c->has_cpu_limit && c->cpu_limit > 0)
		s->vcpu.nr_virt_cpu = (uint32_t)ceil(c->cpu_limit);
	else
		s->vcpu.nr_virt_cpu = ss->host_ncpu;
	if (c->has_mem) {
		s->has_vmem = true;
		s->vmem.memory = c->used_kb * 1024;
		s->vmem.max_memory = c->total_kb * 1024;
	}
	if (c->has_root || c->has_cg_io) {
		s->has_vdisk = true;
		s->vdisk.capacity = c->root_size;
		s->vdisk.allocation = c->root_used;
		s->vdisk.available = c->root_avail;
		s->vdisk.rd_req = (uint32_t)c->io_rops;
		s->vdisk.rd_bytes = c->io_rb;
		s->vdisk.wr_req = (uint32_t)c->io_wops;
		s->vdisk.wr_bytes = c->io_wb;
	}
	if (c->nnet) {
		s->has_vnet = true;
		net_sum(c, d, &s->vnet);
	}
}

/* The frame is complete: its sample into the pending datagram. */
static void frame_sample(struct sflow_sink *ss)
{
	struct cur *c = &ss->cur;
	int64_t now = mono_ns();
	struct sflow_counters *s = xcalloc(1, sizeof(*s));
	pthread_mutex_lock(&ss->lock);
	struct ds *d = ds_get(ss, c->id, c->is_guest);
	d->seen_ns = now;
	if (c->any_os) {
		memcpy(d->hostname, c->hostname, sizeof(d->hostname));
		memcpy(d->release, c->release, sizeof(d->release));
		memcpy(d->arch, c->arch, sizeof(d->arch));
	}
	if (c->any_if) {
		d->adapters = c->adapters;
		memcpy(d->lo_hash, c->lo_hash, sizeof(d->lo_hash));
		d->nlo = c->nlo;
	}
	if (!c->any_metric) {
		pthread_mutex_unlock(&ss->lock);
		free(s);
		return;
	}
	integrate_cpu(d, c);
	if (c->is_host) {
		if (ss->host_prev_ns)
			ss->host_gap_ns = now - ss->host_prev_ns;
		ss->host_prev_ns = now;
		if (c->ncpu)
			ss->host_ncpu = c->ncpu;
		host_sample(ss, c, d, s, now);
	} else {
		guest_sample(ss, c, d, s);
	}
	s->seq = d->ctr_seq + 1;
	if (add_sample(ss, add_counters, s) == 0) {
		d->ctr_seq++;
		ss->samples++;
	} else {
		log_warn("sink %s: the sample of %s does not fit in a datagram of %zu bytes",
		         ss->base.desc, c->id, ss->mtu);
	}
	if (!ss->delay_ns)
		send_pending(ss);
	ds_prune(ss, now);
	pthread_mutex_unlock(&ss->lock);
	free(s);
}

/* ---- sink ops ------------------------------------------------------------------- */

static int ss_begin_frame(struct sink *s, const struct frame_info *info)
{
	struct sflow_sink *ss = (struct sflow_sink *)s;
	struct cur *c = &ss->cur;
	memset(c, 0, offsetof(struct cur, dev));
	c->active = true;
	c->json = info->fmt == FRAME_JSON;
	if (!c->json)
		ss->skipped_frames++;
	c->is_host = strcmp(info->sys->kind, "host") == 0;
	c->is_guest =
	    strcmp(info->sys->kind, "container") == 0 || strcmp(info->sys->kind, "vm") == 0;
	copy_str(c->id, sizeof(c->id), info->sys->id, strlen(info->sys->id));
	copy_str(c->name, sizeof(c->name), info->sys->name, strlen(info->sys->name));
	buf_reset(&ss->line);
	return 0;
}

static void take_lines(struct sflow_sink *ss, const char *p, size_t len)
{
	const char *end = p + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			if (ss->line.len + (size_t)(end - p) <= SS_LINE_MAX)
				buf_add(&ss->line, p, (size_t)(end - p));
			return;
		}
		if (ss->line.len) {
			if (ss->line.len + (size_t)(nl - p) <= SS_LINE_MAX) {
				buf_add(&ss->line, p, (size_t)(nl - p));
				take_line(&ss->cur, ss->line.data, ss->line.data + ss->line.len);
			}
			buf_reset(&ss->line);
		} else {
			take_line(&ss->cur, p, nl);
		}
		p = nl + 1;
	}
}

static int ss_write(struct sink *s, const void *data, size_t len)
{
	struct sflow_sink *ss = (struct sflow_sink *)s;
	if (ss->cur.active && ss->cur.json && (ss->cur.is_host || ss->cur.is_guest))
		take_lines(ss, data, len);
	return 0;
}

static int ss_end_frame(struct sink *s, const struct frame_summary *sum)
{
	struct sflow_sink *ss = (struct sflow_sink *)s;
	struct cur *c = &ss->cur;
	if (c->active && !sum->write_err && c->json && (c->is_host || c->is_guest)) {
		if (ss->line.len)
			take_line(c, ss->line.data, ss->line.data + ss->line.len);
		if (c->any_metric || c->any_os || c->any_if)
			frame_sample(ss);
	}
	c->active = false;
	buf_reset(&ss->line);
	return 0;
}

static int ss_flows(struct sink *s, const struct sflow_flow *f, size_t n)
{
	struct sflow_sink *ss = (struct sflow_sink *)s;
	int64_t now = mono_ns();
	struct sflow_flow fl;
	pthread_mutex_lock(&ss->lock);
	for (size_t i = 0; i < n; i++) {
		fl = f[i];
		bool guest =
		    fl.system_id && *fl.system_id && strncmp(fl.system_id, "host:", 5) != 0;
		struct ds *d = ds_get(ss, guest ? fl.system_id : "host:", guest);
		if (!d->seen_ns)
			d->seen_ns = now;
		fl.seq = d->flow_seq + 1;
		fl.ds_class = guest ? SFLOW_DS_LOGICAL : SFLOW_DS_PHYSICAL;
		fl.ds_index = d->index;
		if (add_sample(ss, add_flow, &fl) == 0) {
			d->flow_seq++;
			ss->flow_samples++;
		}
	}
	if (!ss->delay_ns)
		send_pending(ss);
	pthread_mutex_unlock(&ss->lock);
	return 0;
}

static void ss_close(struct sink *s)
{
	struct sflow_sink *ss = (struct sflow_sink *)s;
	if (!ss)
		return;
	pthread_mutex_lock(&ss->lock);
	ss->stop = true;
	pthread_cond_signal(&ss->wake);
	pthread_mutex_unlock(&ss->lock);
	if (ss->thread_started)
		pthread_join(ss->thread, NULL);
	if (ss->fd >= 0) {
		send_pending(ss);
		log_info(
		    "sink %s: agent %s sub-agent %u: %llu datagrams (%llu bytes), %llu counter "
		    "samples, %llu flow samples, %llu send errors, %llu samples too big, %llu "
		    "frames of the crawler format skipped",
		    ss->base.desc, ss->agent_str, ss->sub_agent, (unsigned long long)ss->datagrams,
		    (unsigned long long)ss->bytes, (unsigned long long)ss->samples,
		    (unsigned long long)ss->flow_samples, (unsigned long long)ss->send_errors,
		    (unsigned long long)ss->too_big, (unsigned long long)ss->skipped_frames);
		close(ss->fd);
	}
	for (size_t i = 0; i < ss->nds; i++)
		free(ss->ds[i].id);
	free(ss->ds);
	buf_free(&ss->line);
	pthread_cond_destroy(&ss->wake);
	pthread_mutex_destroy(&ss->lock);
	free(ss);
}

static const struct sink_ops sflow_sink_ops = {
    .name = "sflow",
    .begin_frame = ss_begin_frame,
    .write = ss_write,
    .end_frame = ss_end_frame,
    .flows = ss_flows,
    .close = ss_close,
};

/* ---- opening -------------------------------------------------------------------- */

static bool parse_ip(const char *s, struct sflow_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->a) == 1) {
		a->af = 1;
		return true;
	}
	if (inet_pton(AF_INET6, s, a->a) == 1) {
		a->af = 2;
		return true;
	}
	return false;
}

/* The default agent address: the first non-loopback IPv4 address of the up
 * interface with the lowest index (then IPv6, not link-local), so the same
 * on every start while the interfaces stay. */
static void default_agent(struct sflow_addr *out)
{
	struct ifaddrs *ifa = NULL;
	memset(out, 0, sizeof(*out));
	out->af = 1;
	if (getifaddrs(&ifa) < 0)
		return;
	unsigned best4 = 0, best6 = 0;
	struct sflow_addr a4 = {.af = 1}, a6 = {.af = 2};
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		unsigned idx = if_nametoindex(i->ifa_name);
		if (i->ifa_addr->sa_family == AF_INET) {
			const struct sockaddr_in *sin = (const struct sockaddr_in *)i->ifa_addr;
			const uint8_t *b = (const uint8_t *)&sin->sin_addr;
			if (b[0] == 127 || (b[0] == 169 && b[1] == 254))
				continue;
			if (!best4 || idx < best4) {
				best4 = idx ? idx : 1;
				memcpy(a4.a, b, 4);
			}
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)i->ifa_addr;
			if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr) ||
			    IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
				continue;
			if (!best6 || idx < best6) {
				best6 = idx ? idx : 1;
				memcpy(a6.a, &sin6->sin6_addr, 16);
			}
		}
	}
	freeifaddrs(ifa);
	if (best4)
		*out = a4;
	else if (best6)
		*out = a6;
}

struct ss_opts {
	struct sflow_sink *ss;
	bool agent_set;
};

static int ss_opt(void *ctx, const char *key, const char *v, char *err, size_t errlen)
{
	struct ss_opts *o = ctx;
	struct sflow_sink *ss = o->ss;
	char *end = NULL;
	errno = 0;
	if (strcmp(key, "mtu") == 0) {
		unsigned long u = strtoul(v, &end, 10);
		if (errno || !*v || *end || u < 200 || u > SFLOW_DGRAM_MAX)
			goto bad;
		ss->mtu = u;
	} else if (strcmp(key, "sub_agent") == 0) {
		unsigned long long u = strtoull(v, &end, 10);
		if (errno || !*v || *end || v[0] == '-' || u > UINT32_MAX)
			goto bad;
		ss->sub_agent = (uint32_t)u;
	} else if (strcmp(key, "agent") == 0) {
		if (!parse_ip(v, &ss->agent))
			goto bad;
		o->agent_set = true;
	} else if (strcmp(key, "delay_ms") == 0) {
		unsigned long u = strtoul(v, &end, 10);
		if (errno || !*v || *end || v[0] == '-' || u > 60000)
			goto bad;
		ss->delay_ns = (int64_t)u * 1000000;
	} else {
		snprintf(err, errlen, "unknown option \"%s\" (mtu, agent, sub_agent, delay_ms)",
		         key);
		return -EINVAL;
	}
	return 0;
bad:
	snprintf(err, errlen, "option %s: a bad value \"%s\"", key, v);
	return -EINVAL;
}

static int ss_open(const char *url, const char *rest, const struct sink_env *env, struct sink **out,
                   char *err, size_t errlen)
{
	if (strncmp(rest, "//", 2) != 0 || !rest[2] || rest[2] == '/' || rest[2] == '?' ||
	    rest[2] == ':') {
		snprintf(err, errlen, "sink \"%s\": no host (sflow://HOST[:PORT])", url);
		return -EINVAL;
	}
	const char *h = rest + 2;
	const char *q = strchr(h, '?');
	size_t hostport_len = q ? (size_t)(q - h) : strlen(h);
	if (hostport_len && h[hostport_len - 1] == '/')
		hostport_len--;
	char host[256], port[16] = "6343";
	const char *colon;
	if (h[0] == '[') {
		const char *rb = memchr(h, ']', hostport_len);
		if (!rb || rb == h + 1 || (size_t)(rb - h - 1) >= sizeof(host)) {
			snprintf(err, errlen, "sink \"%s\": a bad [IPv6] host", url);
			return -EINVAL;
		}
		copy_str(host, sizeof(host), h + 1, (size_t)(rb - h - 1));
		colon = (size_t)(rb + 1 - h) < hostport_len && rb[1] == ':' ? rb + 1 : NULL;
		if (!colon && (size_t)(rb + 1 - h) != hostport_len) {
			snprintf(err, errlen, "sink \"%s\": a bad [IPv6] host", url);
			return -EINVAL;
		}
	} else {
		colon = memchr(h, ':', hostport_len);
		size_t hl = colon ? (size_t)(colon - h) : hostport_len;
		if (!hl || hl >= sizeof(host) || memchr(h, '/', hl)) {
			snprintf(err, errlen, "sink \"%s\": a bad host", url);
			return -EINVAL;
		}
		copy_str(host, sizeof(host), h, hl);
	}
	if (colon) {
		size_t pl = hostport_len - (size_t)(colon + 1 - h);
		char *end = NULL;
		copy_str(port, sizeof(port), colon + 1, pl < sizeof(port) ? pl : sizeof(port) - 1);
		unsigned long pn = strtoul(port, &end, 10);
		if (!pl || pl >= sizeof(port) || *end || pn < 1 || pn > 65535) {
			snprintf(err, errlen, "sink \"%s\": a bad port", url);
			return -EINVAL;
		}
	}
	struct sflow_sink *ss = xcalloc(1, sizeof(*ss));
	ss->base.ops = &sflow_sink_ops;
	ss->fd = -1;
	ss->mtu = SFLOW_MTU_DEFAULT;
	ss->delay_ns = 200LL * 1000000;
	ss->start_ns = mono_ns();
	copy_str(ss->base.desc, sizeof(ss->base.desc), url, q ? (size_t)(q - url) : strlen(url));
	pthread_mutex_init(&ss->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ss->wake, &ca);
	pthread_condattr_destroy(&ca);
	struct ss_opts o = {.ss = ss};
	char why[512];
	int r;
	if (q && (r = sink_url_options(q + 1, strlen(q + 1), ss_opt, &o, why, sizeof(why))) < 0) {
		snprintf(err, errlen, "sink \"%s\": %s", ss->base.desc, why);
		goto fail;
	}
	if (!o.agent_set)
		default_agent(&ss->agent);
	sflow_addr_str(ss->agent.af, ss->agent.a, ss->agent_str, sizeof(ss->agent_str));
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM}, *ai = NULL;
	int g = getaddrinfo(host, port, &hints, &ai);
	if (g != 0 || !ai) {
		snprintf(err, errlen, "sink \"%s\": %s: %s", ss->base.desc, host, gai_strerror(g));
		r = -EINVAL;
		goto fail;
	}
	memcpy(&ss->to, ai->ai_addr, ai->ai_addrlen);
	ss->tolen = ai->ai_addrlen;
	ss->fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	freeaddrinfo(ai);
	if (ss->fd < 0) {
		r = -errno;
		snprintf(err, errlen, "sink \"%s\": a UDP socket: %s", ss->base.desc, strerror(-r));
		goto fail;
	}
	sflow_dgram_init(&ss->dg, &ss->agent, ss->sub_agent, ss->mtu);
	if (pthread_create(&ss->thread, NULL, sender, ss) != 0) {
		r = -EAGAIN;
		snprintf(err, errlen, "sink \"%s\": cannot start its thread", ss->base.desc);
		goto fail;
	}
	ss->thread_started = true;
	(void)env;
	log_debug("sink %s: agent %s, sub-agent %u, MTU %zu", ss->base.desc, ss->agent_str,
	          ss->sub_agent, ss->mtu);
	*out = &ss->base;
	return 0;
fail:
	ss_close(&ss->base);
	return r;
}

const struct sink_scheme sink_scheme_sflow = {
    .scheme = "sflow",
    .usage = "sflow://HOST:PORT",
    .open = ss_open,
};
