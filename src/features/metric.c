/*
 * metric.c - the `metric` feature: how busy the system is.
 *
 * Records (key: fields):
 *   "cpu", "cpu<N>"      user_pct nice_pct system_pct idle_pct iowait_pct irq_pct
 *                        softirq_pct steal_pct busy_pct interval_s
 *   "memory"             total_kb free_kb available_kb used_kb used_pct buffers_kb
 *                        cached_kb swap_total_kb swap_free_kb swap_used_kb swap_used_pct
 *   "load"               load1 load5 load15 runnable tasks
 *   "disk:<mountpoint>"  mountpoint device fstype size_bytes used_bytes avail_bytes
 *                        used_pct inodes inodes_used inodes_used_pct
 *   "diskio:<device>"    device reads writes read_bytes write_bytes read_ms write_ms
 *                        io_ms + reads_per_s writes_per_s read_bytes_per_s
 *                        write_bytes_per_s util_pct interval_s
 *   "net:<ifname>"       ifname rx_/tx_ bytes packets errors dropped + the same
 *                        with _per_s, interval_s
 *   "cgroup"             the view's own cgroup counters (the host: its root
 *                        cgroup), with cpu_pct over the interval; limits are
 *                        effective ones (the tightest of the cgroup and its
 *                        ancestors), the cgroup's own beside them when it
 *                        differs (mem_limit_own_bytes, pids_limit_own,
 *                        cpu_limit_own_cores), and oom_kills (a counter: the
 *                        processes the OOM killer ended in it, from
 *                        memory.events or v1 memory.oom_control)
 *
 * How: rates and CPU percentages need two samples.  The feature samples the
 * cumulative counters (CPU times, disk I/O, interface counters, cgroup CPU
 * time), sleeps its `interval` setting (--interval, default 1 s) seconds, samples again and emits
 * each item of the second sample with its rate against the first.  So a first crawl already has
 * true rates (the reference crawler reported 0 there). The first sample lives in small arrays
 * allocated once per crawl and bounded (MAX_ITEMS); an item beyond the bound, or one that appears
 * only in the second sample, or whose counters went backwards (a device replaced), is reported
 * without rates.
 *
 * The daemon (struct crawl_ctx's carry): the second sample of a crawl is
 * left for the next crawl of the system, which takes it as its first: a
 * steady daemon reads each counter once per tick, never sleeps, and its
 * rates cover the whole time between two crawls (interval_s says how
 * long).  Only a system's first crawl (nothing carried) samples twice.
 *
 * Interval 0: one sample only.  CPU records then carry the cumulative
 * seconds since boot (user_s, nice_s, ..., steal_s) instead of
 * percentages, and disk I/O and network records carry their counters
 * without rates.
 *
 * Percentages have 2 decimals.  used_pct of memory is (total - available)
 * / total; without MemAvailable (kernels before 3.14) available is
 * estimated as free + buffers + cached and the record says
 * "available_estimated": true.  used_pct of a file system is used /
 * (used + avail), as df computes it (df rounds it up to an integer).
 *
 * Crawler layout (--format crawler): per-CPU records are ("cpu",
 * "cpu-<n>") with cpu_idle, cpu_nice, cpu_user, cpu_wait, cpu_system,
 * cpu_interrupt, cpu_steal, cpu_util; the all-CPU total is left out (that
 * crawler had none, and its consumers parse the number after "cpu-").
 * memory is ("memory","memory") with memory_used, memory_buffered,
 * memory_cached, memory_free (bytes) and memory_util_percentage; load is
 * ("load","load") with shortterm, midterm and longterm (the 15-minute
 * value: the reference repeated the 5-minute one); disk is ("disk",
 * <mountpoint>) with partitionname, fstype, mountpt, partitionsize,
 * freepct.  Interface rates are ("net", "interface-<ifname>") with
 * if_octets_rx/tx, if_packets_rx/tx, if_errors_rx/tx per second: the
 * `interface` feature owns the crawler's "interface" records, so a frame
 * holding both never has two records of one key.  Disk I/O is ("diskio",
 * <device>), cgroup ("cgroup", "cgroup").
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/util.h"
#include "feature.h"

#define MAX_ITEMS 8192 /* CPUs, devices, interfaces kept per sample */
#define MAX_INTERVAL 3600.0

/* The settings (options below). */
struct metric_settings {
	double interval; /* seconds between the two samples; 0: one sample */
};

static const struct feature_option options[] = {
    {.flag = "interval",
     .short_flag = 'i',
     .metavar = "SEC",
     .type = FOPT_DURATION,
     .dflt = "1",
     .min = 0,
     .max = MAX_INTERVAL,
     .help = "seconds between the two samples rates and CPU percentages are computed over; "
             "0: one sample, no rates",
     .offset = offsetof(struct metric_settings, interval)},
    {0},
};

extern const struct feature feature_metric;
#define NAME_CAP 64

struct dev_sample {
	char name[NAME_CAP];
	uint64_t reads, writes, read_bytes, write_bytes, io_ms;
};

struct net_sample {
	char name[NAME_CAP];
	struct vt_netio c;
};

/* A growable array of first-sample items, bounded by MAX_ITEMS. */
struct vec {
	void *v;
	size_t n, cap, size;
};

/* The cumulative counters of one sample, and when each kind was read. */
struct sample {
	struct vec cpu, dev, net; /* struct vt_cpu, dev_sample, net_sample */
	int64_t t_cpu, t_dev, t_net, t_cg;
	bool have_cpu, have_dev, have_net, have_cg;
	struct vt_cgroup cg;
	/* the system's uptime as read at boot_ns (CLOCK_BOOTTIME, which
	 * uptime counts in, time namespaces apart by a constant): a carry
	 * answers the next uptime without reading the kernel's facts */
	bool have_uptime;
	double uptime;
	int64_t boot_ns;
};

struct metric {
	struct crawl_ctx *c;
	struct frame *f;
	bool second;   /* emitting: compare against the first sample */
	bool rates;    /* the first sample of the current kind exists */
	bool keep;     /* emitting: also keep the counters in `b` (a carry) */
	double dt;     /* seconds between the samples of the current kind */
	size_t cursor; /* where the next item probably is in the first sample */

	struct sample a; /* the first sample */
	struct sample b; /* the second, kept for the next crawl when `keep` */
};

static void *vec_push(struct vec *a)
{
	if (a->n == a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 8;
		if (a->cap >= MAX_ITEMS)
			return NULL;
		if (ncap > MAX_ITEMS)
			ncap = MAX_ITEMS;
		void *nv = realloc(a->v, ncap * a->size);
		if (!nv)
			return NULL;
		a->v = nv;
		a->cap = ncap;
	}
	return (char *)a->v + a->size * a->n++;
}

static void *vec_at(const struct vec *a, size_t i)
{
	return (char *)a->v + a->size * i;
}

/* Index of the first-sample item whose key (at offset 0 of the item: a
 * name, or a cpu number) matches, trying the cursor first since both
 * samples list items in the same order.  -1 if none. */
static ssize_t find_item(struct metric *m, const struct vec *a,
                         bool (*same)(const void *item, const void *key), const void *key)
{
	if (m->cursor < a->n && same(vec_at(a, m->cursor), key))
		return (ssize_t)m->cursor++;
	for (size_t i = 0; i < a->n; i++) {
		if (same(vec_at(a, i), key)) {
			m->cursor = i + 1;
			return (ssize_t)i;
		}
	}
	return -1;
}

static bool same_cpu(const void *item, const void *key)
{
	return ((const struct vt_cpu *)item)->cpu == *(const int *)key;
}

static bool same_name(const void *item, const void *key)
{
	return strcmp((const char *)item, (const char *)key) == 0;
}

static void iter_error(void *ctx, const char *what, int err)
{
	struct metric *m = ctx;
	if (m->f) /* no frame while priming: the second sample reports it */
		frame_error(m->f, err, "%s", what);
}

static struct view_iter metric_iter(struct metric *m)
{
	return (struct view_iter){.ctx = m, .error = iter_error};
}

static double seconds_since(int64_t t0)
{
	return (double)(mono_ns() - t0) / 1e9;
}

/* Per-second rate of a counter, or false when there is none to give. */
static bool rate(uint64_t a, uint64_t b, double dt, double *out)
{
	if (dt <= 0 || b < a)
		return false;
	*out = (double)(b - a) / dt;
	return true;
}

static void put_rate(struct json *j, const char *name, uint64_t a, uint64_t b, double dt)
{
	double r;
	if (rate(a, b, dt, &r))
		jw_double(j, name, r, 2);
}

static double pct(double part, double whole)
{
	if (whole <= 0)
		return 0;
	double p = part * 100.0 / whole;
	return p < 0 ? 0 : p > 100 ? 100 : p;
}

/* ---- CPU -------------------------------------------------------------------- */

static void keep_cpu(struct sample *sa, const struct vt_cpu *c)
{
	struct vt_cpu *s = vec_push(&sa->cpu);
	if (s)
		*s = *c;
}

static int store_cpu(void *ctx, const struct vt_cpu *c)
{
	struct metric *m = ctx;
	keep_cpu(&m->a, c);
	return 0;
}

static void put_cpu_cumulative(struct json *j, const struct vt_cpu *b)
{
	jw_double(j, "user_s", b->user, 2);
	jw_double(j, "nice_s", b->nice, 2);
	jw_double(j, "system_s", b->system, 2);
	jw_double(j, "idle_s", b->idle, 2);
	jw_double(j, "iowait_s", b->iowait, 2);
	jw_double(j, "irq_s", b->irq, 2);
	jw_double(j, "softirq_s", b->softirq, 2);
	jw_double(j, "steal_s", b->steal, 2);
}

/* Percentages of the interval between a and b; false if it is empty. */
static bool put_cpu_pct(struct frame *f, struct json *j, const struct vt_cpu *a,
                        const struct vt_cpu *b, double dt)
{
	static const char *const names[8][2] = {
	    {"user_pct", "cpu_user"}, {"nice_pct", "cpu_nice"},   {"system_pct", "cpu_system"},
	    {"idle_pct", "cpu_idle"}, {"iowait_pct", "cpu_wait"}, {"irq_pct", "cpu_interrupt"},
	    {"softirq_pct", NULL},    {"steal_pct", "cpu_steal"},
	};
	double d[8] = {b->user - a->user,       b->nice - a->nice,     b->system - a->system,
	               b->idle - a->idle,       b->iowait - a->iowait, b->irq - a->irq,
	               b->softirq - a->softirq, b->steal - a->steal};
	double total = 0;
	for (int i = 0; i < 8; i++) {
		if (d[i] < 0)
			d[i] = 0; /* iowait may go backwards on some kernels */
		total += d[i];
	}
	if (total <= 0)
		return false;
	for (int i = 0; i < 8; i++)
		jw_double(j, rec_name(f, names[i][0], names[i][1]), pct(d[i], total), 2);
	jw_double(j, rec_name(f, "busy_pct", "cpu_util"), 100.0 - pct(d[3] + d[4], total), 2);
	jw_double(j, "interval_s", dt, 3);
	return true;
}

static int emit_cpu(void *ctx, const struct vt_cpu *b)
{
	struct metric *m = ctx;
	struct frame *f = m->f;
	char key[32];
	struct json *j;

	if (b->cpu < 0) {
		if (frame_format(f) == FRAME_CRAWLER)
			return 0;
		j = rec_begin(f, "cpu");
	} else {
		j = rec_beginf(f, "cpu%d", b->cpu);
		snprintf(key, sizeof(key), "cpu-%d", b->cpu);
		rec_crawler(f, "cpu", key);
	}
	if (m->keep)
		keep_cpu(&m->b, b);
	ssize_t i = m->rates ? find_item(m, &m->a.cpu, same_cpu, &b->cpu) : -1;
	if (i < 0 || !put_cpu_pct(f, j, vec_at(&m->a.cpu, (size_t)i), b, m->dt))
		put_cpu_cumulative(j, b);
	return rec_end(f);
}

/* ---- memory, load --------------------------------------------------------------- */

static void op_failed(struct metric *m, const char *what, int r);

static void emit_memory(struct metric *m)
{
	struct frame *f = m->f;
	struct vt_mem mem;
	int r = view_memory(m->c->view, &mem);
	if (r < 0) {
		op_failed(m, "memory", r);
		return;
	}
	uint64_t avail = mem.available_kb;
	if (!(mem.have & VM_AVAILABLE))
		avail = mem.free_kb + mem.buffers_kb + mem.cached_kb;
	if (avail > mem.total_kb)
		avail = mem.total_kb;
	uint64_t used = mem.total_kb - avail;
	uint64_t swap_free =
	    mem.swap_free_kb < mem.swap_total_kb ? mem.swap_free_kb : mem.swap_total_kb;
	uint64_t swap_used = mem.swap_total_kb - swap_free;

	struct json *j = rec_begin(f, "memory");
	rec_crawler(f, "memory", "memory");
	if (frame_format(f) == FRAME_CRAWLER) { /* bytes, as psutil gave them */
		jw_uint(j, "memory_used", used * 1024);
		jw_uint(j, "memory_buffered", mem.buffers_kb * 1024);
		jw_uint(j, "memory_cached", mem.cached_kb * 1024);
		jw_uint(j, "memory_free", mem.free_kb * 1024);
	}
	jw_uint(j, "total_kb", mem.total_kb);
	jw_uint(j, "free_kb", mem.free_kb);
	jw_uint(j, "available_kb", avail);
	if (!(mem.have & VM_AVAILABLE))
		jw_bool(j, "available_estimated", true);
	jw_uint(j, "used_kb", used);
	jw_double(j, rec_name(f, "used_pct", "memory_util_percentage"),
	          pct((double)used, (double)mem.total_kb), 2);
	if (mem.have & VM_CACHE) {
		jw_uint(j, "buffers_kb", mem.buffers_kb);
		jw_uint(j, "cached_kb", mem.cached_kb);
	}
	if (mem.have & VM_SWAP) {
		jw_uint(j, "swap_total_kb", mem.swap_total_kb);
		jw_uint(j, "swap_free_kb", swap_free);
		jw_uint(j, "swap_used_kb", swap_used);
		jw_double(j, "swap_used_pct", pct((double)swap_used, (double)mem.swap_total_kb), 2);
	}
	rec_end(f);
}

static int64_t boot_ns(void)
{
	struct timespec t;
	if (clock_gettime(CLOCK_BOOTTIME, &t) < 0)
		return -1;
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The system's uptime: from the first sample's when it has one (the
 * daemon's carry), else from the view's kernel facts (kept for the next
 * crawl). */
static bool uptime(struct metric *m, double *out)
{
	int64_t now = boot_ns();
	if (m->second && m->a.have_uptime && now >= m->a.boot_ns && m->a.boot_ns >= 0) {
		*out = m->a.uptime + (double)(now - m->a.boot_ns) / 1e9;
	} else {
		struct vt_kernel k;
		if (!VIEW_HAS(m->c->view, kernel) || view_kernel(m->c->view, &k) != 0 ||
		    !(k.have & VK_UPTIME))
			return false;
		*out = k.uptime;
	}
	if (m->keep && now >= 0) {
		m->b.have_uptime = true;
		m->b.uptime = *out;
		m->b.boot_ns = now;
	}
	return true;
}

static void emit_load(struct metric *m)
{
	struct frame *f = m->f;
	struct vt_load l;
	int r = view_load(m->c->view, &l);
	if (r < 0) {
		op_failed(m, "load", r);
		return;
	}
	struct json *j = rec_begin(f, "load");
	rec_crawler(f, "load", "load");
	jw_double(j, rec_name(f, "load1", "shortterm"), l.load1, 2);
	jw_double(j, rec_name(f, "load5", "midterm"), l.load5, 2);
	jw_double(j, rec_name(f, "load15", "longterm"), l.load15, 2);
	jw_uint(j, "runnable", l.running);
	jw_uint(j, "tasks", l.total);
	double up;
	if (frame_format(f) != FRAME_CRAWLER && uptime(m, &up))
		jw_double(j, "uptime_s", up, 2);
	rec_end(f);
}

/* ---- file systems ---------------------------------------------------------------- */

static int emit_fs(void *ctx, const struct vt_fs *fs)
{
	struct metric *m = ctx;
	struct frame *f = m->f;
	double used_pct =
	    pct((double)fs->used_bytes, (double)fs->used_bytes + (double)fs->avail_bytes);

	struct json *j = rec_beginf(f, "disk:%s", fs->mountpoint);
	rec_crawler(f, "disk", fs->mountpoint);
	jw_str(j, rec_name(f, "mountpoint", "mountpt"), fs->mountpoint);
	jw_str(j, rec_name(f, "device", "partitionname"), fs->device);
	jw_str(j, "fstype", fs->fstype);
	jw_uint(j, rec_name(f, "size_bytes", "partitionsize"), fs->size_bytes);
	jw_uint(j, "used_bytes", fs->used_bytes);
	jw_uint(j, "avail_bytes", fs->avail_bytes);
	jw_double(j, "used_pct", used_pct, 2);
	if (frame_format(f) == FRAME_CRAWLER)
		jw_double(j, "freepct", 100.0 - used_pct, 2);
	jw_uint(j, "inodes", fs->inodes);
	if (fs->inodes) { /* btrfs, vfat... have no inode table */
		uint64_t iused = fs->inodes - fs->inodes_free;
		jw_uint(j, "inodes_used", iused);
		jw_double(j, "inodes_used_pct", pct((double)iused, (double)fs->inodes), 2);
	}
	return rec_end(f);
}

/* ---- disk I/O ------------------------------------------------------------------------ */

static void keep_dev(struct sample *sa, const struct vt_diskio *d)
{
	if (strlen(d->device) >= NAME_CAP)
		return;
	struct dev_sample *s = vec_push(&sa->dev);
	if (s) {
		strcpy(s->name, d->device);
		s->reads = d->reads;
		s->writes = d->writes;
		s->read_bytes = d->read_bytes;
		s->write_bytes = d->write_bytes;
		s->io_ms = d->io_ms;
	}
}

static int store_dev(void *ctx, const struct vt_diskio *d)
{
	struct metric *m = ctx;
	keep_dev(&m->a, d);
	return 0;
}

static int emit_dev(void *ctx, const struct vt_diskio *d)
{
	struct metric *m = ctx;
	struct frame *f = m->f;
	struct json *j = rec_beginf(f, "diskio:%s", d->device);
	rec_crawler(f, "diskio", d->device);
	jw_str(j, "device", d->device);
	jw_uint(j, "reads", d->reads);
	jw_uint(j, "writes", d->writes);
	jw_uint(j, "read_bytes", d->read_bytes);
	jw_uint(j, "write_bytes", d->write_bytes);
	jw_uint(j, "read_ms", d->read_ms);
	jw_uint(j, "write_ms", d->write_ms);
	jw_uint(j, "io_ms", d->io_ms);
	if (m->keep)
		keep_dev(&m->b, d);
	ssize_t i = m->rates && strlen(d->device) < NAME_CAP
	                ? find_item(m, &m->a.dev, same_name, d->device)
	                : -1;
	if (i >= 0) {
		const struct dev_sample *a = vec_at(&m->a.dev, (size_t)i);
		double busy;
		put_rate(j, "reads_per_s", a->reads, d->reads, m->dt);
		put_rate(j, "writes_per_s", a->writes, d->writes, m->dt);
		put_rate(j, "read_bytes_per_s", a->read_bytes, d->read_bytes, m->dt);
		put_rate(j, "write_bytes_per_s", a->write_bytes, d->write_bytes, m->dt);
		if (rate(a->io_ms, d->io_ms, m->dt, &busy)) /* ms busy per s */
			jw_double(j, "util_pct", pct(busy, 1000.0), 2);
		jw_double(j, "interval_s", m->dt, 3);
	}
	return rec_end(f);
}

/* ---- network --------------------------------------------------------------------------- */

static void keep_net(struct sample *sa, const char *name, const struct vt_netio *c)
{
	if (!name || strlen(name) >= NAME_CAP)
		return;
	struct net_sample *s = vec_push(&sa->net);
	if (s) {
		strcpy(s->name, name);
		s->c = *c;
		s->c.ifname = NULL; /* the reader's string: not kept */
	}
}

static int store_net(void *ctx, const struct vt_iface *ifc)
{
	struct metric *m = ctx;
	keep_net(&m->a, ifc->name, &ifc->counters);
	return 0;
}

static int emit_net(void *ctx, const struct vt_iface *ifc)
{
	static const struct {
		const char *name, *rate, *crawler;
		size_t off;
	} ctr[] = {
#define C(n, cr) {#n, #n "_per_s", cr, offsetof(struct vt_netio, n)}
	    C(rx_bytes, "if_octets_rx"),  C(rx_packets, "if_packets_rx"),
	    C(rx_errors, "if_errors_rx"), C(rx_dropped, NULL),
	    C(tx_bytes, "if_octets_tx"),  C(tx_packets, "if_packets_tx"),
	    C(tx_errors, "if_errors_tx"), C(tx_dropped, NULL),
#undef C
	};
	struct metric *m = ctx;
	struct frame *f = m->f;
	char key[96];
	if (!ifc->name)
		return 0;
	struct json *j = rec_beginf(f, "net:%s", ifc->name);
	snprintf(key, sizeof(key), "interface-%s", ifc->name);
	rec_crawler(f, "net", key);
	jw_str(j, "ifname", ifc->name);
	for (size_t k = 0; k < ARRAY_SIZE(ctr); k++) {
		uint64_t v;
		memcpy(&v, (const char *)&ifc->counters + ctr[k].off, sizeof(v));
		jw_uint(j, ctr[k].name, v);
	}
	if (m->keep)
		keep_net(&m->b, ifc->name, &ifc->counters);
	ssize_t i = m->rates && strlen(ifc->name) < NAME_CAP
	                ? find_item(m, &m->a.net, same_name, ifc->name)
	                : -1;
	if (i >= 0) {
		const struct net_sample *a = vec_at(&m->a.net, (size_t)i);
		for (size_t k = 0; k < ARRAY_SIZE(ctr); k++) {
			uint64_t va, vb;
			memcpy(&va, (const char *)&a->c + ctr[k].off, sizeof(va));
			memcpy(&vb, (const char *)&ifc->counters + ctr[k].off, sizeof(vb));
			put_rate(j, rec_name(f, ctr[k].rate, ctr[k].crawler), va, vb, m->dt);
		}
		jw_double(j, "interval_s", m->dt, 3);
	}
	return rec_end(f);
}

/* The counters alone (view_netio: no addresses, no flags), as an interface. */
static int netio_as_iface(void *ctx, const struct vt_netio *n,
                          int (*cb)(void *, const struct vt_iface *))
{
	struct vt_iface i = {.name = n->ifname, .counters = *n};
	return cb(ctx, &i);
}

static int store_netio(void *ctx, const struct vt_netio *n)
{
	return netio_as_iface(ctx, n, store_net);
}

static int emit_netio(void *ctx, const struct vt_netio *n)
{
	return netio_as_iface(ctx, n, emit_net);
}

/* The interfaces' counters through the cheapest op the view has. */
static int read_net(struct view *v, const struct view_iter *it, bool emit)
{
	if (VIEW_HAS(v, netio))
		return view_netio(v, it, emit ? emit_netio : store_netio);
	return view_interfaces(v, it, emit ? emit_net : store_net);
}

/* ---- cgroup ------------------------------------------------------------------------------ */

static void put_limit(struct json *j, const char *name, uint64_t v)
{
	if (v == UINT64_MAX)
		jw_null(j, name); /* unlimited */
	else
		jw_uint(j, name, v);
}

/* A CPU quota in cores, null when none (0). */
static void put_cores(struct json *j, const char *name, double v)
{
	if (v > 0)
		jw_double(j, name, v, 3);
	else
		jw_null(j, name);
}

static void emit_cgroup(struct metric *m)
{
	struct frame *f = m->f;
	struct vt_cgroup cg = {0};
	int64_t t = mono_ns();
	int r = view_cgroup(m->c->view, &cg);
	if (m->keep && r == 0) {
		m->b.cg = cg;
		m->b.have_cg = true;
		m->b.t_cg = t;
	}
	if (r == -ENOENT && cg.none_why) { /* a system without a cgroup of its own */
		frame_skip(f, "cgroup: none: %s", cg.none_why);
		return;
	}
	if (r == -ENOENT || r == -ENOTSUP) {
		frame_skip(f, "cgroup: no cgroup counters (%s)", strerror(-r));
		return;
	}
	if (r < 0) {
		frame_error(f, -r, "cgroup");
		return;
	}
	struct json *j = rec_begin(f, "cgroup");
	rec_crawler(f, "cgroup", "cgroup");
	jw_int(j, "version", cg.version);
	if (cg.have & VC_CPU) {
		jw_uint(j, "cpu_usage_ns", cg.cpu_usage_ns);
		jw_uint(j, "cpu_user_ns", cg.cpu_user_ns);
		jw_uint(j, "cpu_system_ns", cg.cpu_system_ns);
		double dt = (double)(t - m->a.t_cg) / 1e9, ns;
		if (m->second && m->a.have_cg && (m->a.cg.have & VC_CPU) &&
		    rate(m->a.cg.cpu_usage_ns, cg.cpu_usage_ns, dt, &ns)) {
			/* Of one CPU: above 100 when several are busy. */
			jw_double(j, "cpu_pct", ns / 1e7, 2);
			jw_double(j, "interval_s", dt, 3);
		}
	}
	if (cg.have & VC_THROTTLE) {
		jw_uint(j, "nr_periods", cg.nr_periods);
		jw_uint(j, "nr_throttled", cg.nr_throttled);
		jw_uint(j, "throttled_ns", cg.throttled_ns);
	}
	if (cg.have & VC_MEM)
		jw_uint(j, "mem_usage_bytes", cg.mem_usage);
	/* limits: the effective ones (the tightest of the cgroup and its
	 * ancestors); the cgroup's own when it differs */
	if (cg.have & VC_MEMLIMIT) {
		put_limit(j, "mem_limit_bytes", cg.mem_limit);
		if (cg.mem_limit_own && cg.mem_limit_own != cg.mem_limit)
			put_limit(j, "mem_limit_own_bytes", cg.mem_limit_own);
	}
	if (cg.have & VC_MEMSTAT) {
		jw_uint(j, "mem_cache_bytes", cg.mem_cache);
		jw_uint(j, "mem_anon_bytes", cg.mem_anon);
	}
	if (cg.have & VC_IO) {
		jw_uint(j, "io_read_bytes", cg.io_read_bytes);
		jw_uint(j, "io_write_bytes", cg.io_write_bytes);
		jw_uint(j, "io_read_ops", cg.io_read_ops);
		jw_uint(j, "io_write_ops", cg.io_write_ops);
	}
	if (cg.have & VC_PIDS)
		jw_uint(j, "pids_current", cg.pids_current);
	if (cg.have & VC_PIDSLIMIT) {
		put_limit(j, "pids_limit", cg.pids_limit);
		if (cg.pids_limit_own && cg.pids_limit_own != cg.pids_limit)
			put_limit(j, "pids_limit_own", cg.pids_limit_own);
	}
	if (cg.have & VC_OOM) /* a counter: series cgroup.oom_kills */
		jw_uint(j, "oom_kills", cg.oom_kills);
	if (cg.have & VC_CPULIMIT) {
		put_cores(j, "cpu_limit_cores", cg.cpu_limit);
		if (cg.cpu_limit_own != cg.cpu_limit)
			put_cores(j, "cpu_limit_own_cores", cg.cpu_limit_own);
	}
	rec_end(f);
}

/* ---- the two samples ------------------------------------------------------------------------ */

/* -ENOTSUP: the view has no such thing (a container has no CPU table of
 * its own, an image no load); that is not an error. */
static void op_failed(struct metric *m, const char *what, int r)
{
	if (r < 0 && r != -ENOTSUP && m->f)
		frame_error(m->f, -r, "%s", what);
}

/* The first sample: counters only, nothing emitted. */
static void first_sample(struct metric *m)
{
	struct view *v = m->c->view;
	struct view_iter it = metric_iter(m);
	struct sample *a = &m->a;
	int r;

	a->t_cpu = mono_ns();
	r = view_cpu_times(v, &it, store_cpu);
	a->have_cpu = r == 0;
	op_failed(m, "cpu times (first sample)", r);

	a->t_dev = mono_ns();
	if (VIEW_HAS(v, disk_io)) {
		r = view_disk_io(v, &it, store_dev);
		a->have_dev = r == 0;
		op_failed(m, "disk I/O (first sample)", r);
	}
	a->t_net = mono_ns();
	if (VIEW_HAS(v, interfaces) || VIEW_HAS(v, netio))
		a->have_net = read_net(v, &it, false) == 0; /* error: 2nd */
	a->t_cg = mono_ns();
	if (VIEW_HAS(v, cgroup))
		a->have_cg = view_cgroup(v, &a->cg) == 0;
}

/* Sleep `s` seconds of monotonic time, through signals. */
static void sleep_interval(double s)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	int64_t ns = (int64_t)(s * 1e9) + t.tv_nsec;
	t.tv_sec += (time_t)(ns / 1000000000);
	t.tv_nsec = (long)(ns % 1000000000);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR)
		;
}

/* Emit one kind of item from the second sample, read now; returns now. */
static int64_t begin_kind(struct metric *m, bool have_first, int64_t t0)
{
	int64_t now = mono_ns();
	m->rates = m->second && have_first;
	m->dt = m->rates ? (double)(now - t0) / 1e9 : 0;
	m->cursor = 0;
	return now;
}

static void second_sample(struct metric *m)
{
	struct view *v = m->c->view;
	struct view_iter it = metric_iter(m);
	struct sample *a = &m->a, *b = &m->b;
	int r;

	b->t_cpu = begin_kind(m, a->have_cpu, a->t_cpu);
	r = view_cpu_times(v, &it, emit_cpu);
	b->have_cpu = r == 0;
	op_failed(m, "cpu times", r);
	if (VIEW_HAS(v, disk_io)) {
		b->t_dev = begin_kind(m, a->have_dev, a->t_dev);
		r = view_disk_io(v, &it, emit_dev);
		b->have_dev = r == 0;
		op_failed(m, "disk I/O", r);
	}
	if (VIEW_HAS(v, interfaces) || VIEW_HAS(v, netio)) {
		b->t_net = begin_kind(m, a->have_net, a->t_net);
		r = read_net(v, &it, true);
		b->have_net = r == 0;
		op_failed(m, "network interfaces", r);
	}
	emit_memory(m);
	emit_load(m);
	if (VIEW_HAS(v, filesystems))
		op_failed(m, "file systems", view_filesystems(v, &it, emit_fs));
	if (VIEW_HAS(v, cgroup))
		emit_cgroup(m);
}

static double interval_of(const struct crawl_ctx *c)
{
	const struct metric_settings *s = FEATURE_SETTINGS(c, feature_metric);
	double interval = s ? s->interval : 1.0;
	if (!(interval >= 0)) /* also NaN */
		interval = 0;
	return interval > MAX_INTERVAL ? MAX_INTERVAL : interval;
}

static void sample_free(struct sample *sa)
{
	free(sa->cpu.v);
	free(sa->dev.v);
	free(sa->net.v);
}

static void sample_init(struct sample *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->cpu.size = sizeof(struct vt_cpu);
	sa->dev.size = sizeof(struct dev_sample);
	sa->net.size = sizeof(struct net_sample);
}

/* The second sample becomes the first (its arrays reused: no allocation
 * in a steady daemon). */
static void sample_shift(struct metric *m)
{
	struct sample old = m->a;
	m->a = m->b;
	m->b = old;
	m->b.cpu.n = m->b.dev.n = m->b.net.n = 0;
	m->b.have_cpu = m->b.have_dev = m->b.have_net = m->b.have_cg = false;
	m->b.have_uptime = false;
}

static void metric_free(void *state)
{
	struct metric *m = state;
	if (!m)
		return;
	sample_free(&m->a);
	sample_free(&m->b);
	free(m);
}

static struct metric *metric_new(struct crawl_ctx *c)
{
	struct metric *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->c = c;
	m->f = c->frame;
	sample_init(&m->a);
	sample_init(&m->b);
	return m;
}

/* The first sample, taken before the sleep of a many-system crawl. */
static void *prime(struct crawl_ctx *c)
{
	if (interval_of(c) <= 0)
		return NULL;
	struct metric *m = metric_new(c);
	if (m)
		first_sample(m);
	return m;
}

static int crawl(struct crawl_ctx *c)
{
	double interval = interval_of(c);
	struct metric *m = c->primed;
	int64_t t0 = mono_ns();

	c->primed = NULL;
	if (!m && c->carry && *c->carry) { /* the last crawl's second sample */
		m = *c->carry;
		*c->carry = NULL;
	}
	if (m) {
		t0 = m->a.t_cpu;
	} else {
		m = metric_new(c);
		if (!m)
			return -ENOMEM;
		if (interval > 0) {
			first_sample(m);
			t0 = m->a.t_cg; /* the last kind's stamp: every rate covers >= interval */
		}
	}
	m->c = c;
	m->f = c->frame;
	if (interval > 0) {
		double left = interval - seconds_since(t0);
		if (left > 0)
			sleep_interval(left);
		m->second = true;
	}
	m->keep = c->carry && interval > 0;
	second_sample(m);
	if (m->keep) {
		sample_shift(m);
		m->second = false;
		m->keep = false;
		m->c = NULL;
		m->f = NULL;
		*c->carry = m;
	} else {
		metric_free(m);
	}
	return 0;
}

/* `vantage serve`: rates on every tick, the wait never the tick. */
static void fit_interval(void *settings, double interval)
{
	struct metric_settings *s = settings;
	s->interval = interval / 2 < 1 ? interval / 2 : 1;
}

static double prime_wait(const void *settings)
{
	const struct metric_settings *s = settings;
	return s->interval;
}

const struct feature feature_metric = {
    .name = "metric",
    .description = "CPU (total and per CPU, % over the sampling interval), memory, load, "
                   "disk usage per file system, disk I/O and network rates, cgroup counters",
    .on_files_only = false,
    .crawl = crawl,
    .prime = prime,
    .prime_free = metric_free,
    .default_interval = 10,
    .paces_discovery = true,
    .options = options,
    .settings_size = sizeof(struct metric_settings),
    .fit_interval = fit_interval,
    .prime_wait = prime_wait,
};
