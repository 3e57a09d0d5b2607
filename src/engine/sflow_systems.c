/*
 * sflow_systems.c - counter samples of sFlow agents to systems and frames
 * of `metric` records (sflow_systems.h says what maps to what).
 *
 * Each data source has a `struct src`, found through an open-addressing
 * table keyed by (agent, sub-agent, ds_class, ds_index) that doubles up to
 * 2 * SFLOW_MAX_SOURCES slots.  A src keeps its identity (decided at first
 * sight, the kind kept) and the cumulative counters of its last sample,
 * which the next sample's rates are taken against.  Nothing is ever
 * removed: a source that stops sending costs its ~1.7 KB until the
 * daemon restarts (bounded by SFLOW_MAX_SOURCES).
 *
 * Strings from the wire (hostname, os_release) are kept as printable
 * ASCII: any other byte becomes '?', so ids, names and labels are always
 * valid JSON text and valid UTF-8.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../frame/frame.h"
#include "../util/buf.h"
#include "../util/json.h"
#include "../util/xalloc.h"
#include "sflow_systems.h"

struct srckey {
	uint32_t af, sub_agent, ds_class, ds_index;
	uint8_t a[16];
};

/* The cumulative counters rates are taken from. */
struct last {
	bool have, has_cpu, has_disk, has_net, has_vcpu, has_vdisk, has_vnet;
	uint32_t seq, uptime_ms;
	bool stored;     /* a frame was made of the kept sample */
	uint32_t cpu[8]; /* user nice system idle wio intr sintr steal, ms */
	struct sflow_host_disk_io disk;
	struct sflow_net_io net, vnet;
	uint32_t vcpu_ms;
	struct sflow_virt_disk_io vdisk;
};

struct src {
	struct srckey k;
	struct system_id sys;
	char os_release[33];
	struct buf labels;
	bool virt;
	int held; /* samples of a virtual node held while its kind is unknown */
	struct last last;
};

struct sflow_systems {
	struct sink *sink;
	struct src **tab;
	size_t cap, n;
	struct sflow_systems_stats st;
	const struct src *last; /* of the last call, when it wrote a frame */
};

static uint64_t key_hash(const struct srckey *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < sizeof(*k); i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static bool key_eq(const struct srckey *a, const struct srckey *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

static void table_put(struct src **tab, size_t cap, struct src *s)
{
	size_t i = key_hash(&s->k) & (cap - 1);
	while (tab[i])
		i = (i + 1) & (cap - 1);
	tab[i] = s;
}

/* The src of key k, made when new (NULL when the table is full). */
static struct src *lookup(struct sflow_systems *S, const struct srckey *k, bool make, bool *fresh)
{
	*fresh = false;
	size_t i = key_hash(k) & (S->cap - 1);
	while (S->tab[i]) {
		if (key_eq(&S->tab[i]->k, k))
			return S->tab[i];
		i = (i + 1) & (S->cap - 1);
	}
	if (!make || S->n >= SFLOW_MAX_SOURCES)
		return NULL;
	if ((S->n + 1) * 2 > S->cap) {
		size_t ncap = S->cap * 2;
		struct src **nt = xcalloc(ncap, sizeof(struct src *));
		for (size_t j = 0; j < S->cap; j++)
			if (S->tab[j])
				table_put(nt, ncap, S->tab[j]);
		free(S->tab);
		S->tab = nt;
		S->cap = ncap;
	}
	struct src *s = xcalloc(1, sizeof(*s));
	s->k = *k;
	table_put(S->tab, S->cap, s);
	S->n++;
	*fresh = true;
	return s;
}

struct sflow_systems *sflow_systems_new(struct sink *sink)
{
	struct sflow_systems *S = xcalloc(1, sizeof(*S));
	S->sink = sink;
	S->cap = 1024;
	S->tab = xcalloc(S->cap, sizeof(struct src *));
	return S;
}

void sflow_systems_free(struct sflow_systems *S)
{
	if (!S)
		return;
	for (size_t i = 0; i < S->cap; i++) {
		if (S->tab[i]) {
			buf_free(&S->tab[i]->labels);
			free(S->tab[i]);
		}
	}
	free(S->tab);
	free(S);
}

const char *sflow_systems_last_id(const struct sflow_systems *S)
{
	return S->last ? S->last->sys.id : NULL;
}

void sflow_systems_stats(const struct sflow_systems *S, struct sflow_systems_stats *out)
{
	*out = S->st;
	out->sources = S->n;
}

/* ---- identity ------------------------------------------------------------------ */

/* Printable ASCII of a wire string into dst (cap bytes). */
static void clean(char *dst, size_t cap, const char *s)
{
	size_t i = 0;
	for (; s[i] && i + 1 < cap; i++)
		dst[i] = s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"' && s[i] != '\\' ? s[i] : '?';
	dst[i] = 0;
}

static void addr_str(const struct srckey *k, char *dst, size_t cap)
{
	if (!inet_ntop(k->af == 2 ? AF_INET6 : AF_INET, k->a, dst, (socklen_t)cap))
		snprintf(dst, cap, "?");
}

static bool uuid_zero(const uint8_t *u)
{
	for (int i = 0; i < 16; i++)
		if (u[i])
			return false;
	return true;
}

static const char *machine_name(uint32_t t)
{
	static const char *const names[] = {"unknown", "other", "x86",     "x86_64", "ia64",
	                                    "sparc",   "alpha", "powerpc", "m68k",   "mips",
	                                    "arm",     "hppa",  "s390"};
	return t < sizeof(names) / sizeof(names[0]) ? names[t] : "other";
}

/* The parent host of a virtual node, when its sample was seen. */
static struct src *parent_of(struct sflow_systems *S, const struct src *s,
                             const struct sflow_counters *c)
{
	struct srckey pk = s->k;
	if (c->has_parent) {
		pk.ds_class = c->parent.ds_class;
		pk.ds_index = c->parent.ds_index;
	} else { /* a logical entity without host_parent: the agent's host, index 1 */
		pk.ds_class = SFLOW_DS_PHYSICAL;
		pk.ds_index = 1;
	}
	bool fresh;
	struct src *p = lookup(S, &pk, false, &fresh);
	return p && !p->virt ? p : NULL;
}

/* The kind of virtual node s: "vm" or "container", NULL while it cannot
 * tell yet (sflow_systems.h); `last` forces an answer. */
static const char *virt_kind(const struct src *s, const struct src *parent,
                             const struct sflow_counters *c, bool last)
{
	if (s->os_release[0] && parent && parent->os_release[0])
		return strcmp(parent->os_release, s->os_release) == 0 ? "container" : "vm";
	if (!s->os_release[0] && c->has_descr && c->descr.os_name == SFLOW_OS_UNKNOWN)
		return "vm"; /* a hypervisor's guest whose OS its agent does not know */
	return last ? "container" : NULL;
}

/* Set (once the kind is known) or refresh the identity of s from sample
 * c; false while the kind of a virtual node is not known yet. */
static bool identify(struct sflow_systems *S, struct src *s, const struct sflow_counters *c,
                     bool fresh)
{
	char agent[INET6_ADDRSTRLEN];
	addr_str(&s->k, agent, sizeof(agent));
	struct system_id *y = &s->sys;
	if (c->has_descr)
		clean(s->os_release, sizeof(s->os_release), c->descr.os_release);
	if (fresh)
		s->virt = c->has_parent || c->ds_class == SFLOW_DS_LOGICAL;
	struct src *parent = s->virt ? parent_of(S, s, c) : NULL;
	if (!y->kind[0]) {
		const char *kind = "host";
		if (s->virt && !(kind = virt_kind(s, parent, c, ++s->held > SFLOW_KIND_WAIT)))
			return false;
		snprintf(y->kind, sizeof(y->kind), "%s", kind);
		snprintf(y->runtime, sizeof(y->runtime), "%s",
		         strcmp(kind, "container") == 0 ? "sflow" : "");
		if (c->has_descr && !uuid_zero(c->descr.uuid)) {
			const uint8_t *u = c->descr.uuid;
			snprintf(y->id, sizeof(y->id),
			         "%s:sflow:%s:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
			         "%02x%02x%02x%02x%02x%02x",
			         kind, agent, u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8],
			         u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
		} else {
			snprintf(y->id, sizeof(y->id), "%s:sflow:%s:%u:%u.%u", kind, agent,
			         s->k.sub_agent, s->k.ds_class, s->k.ds_index);
		}
	}
	if (c->has_descr && c->descr.hostname[0])
		clean(y->name, sizeof(y->name), c->descr.hostname);
	else if (!y->name[0] && !s->virt)
		snprintf(y->name, sizeof(y->name), "%s", agent);
	else if (!y->name[0])
		snprintf(y->name, sizeof(y->name), "ds%u", s->k.ds_index);
	if (!s->virt)
		snprintf(y->host, sizeof(y->host), "%s", y->name);
	else if (parent)
		snprintf(y->host, sizeof(y->host), "%s", parent->sys.name);
	else if (!y->host[0])
		snprintf(y->host, sizeof(y->host), "%s", agent);

	buf_reset(&s->labels);
	struct json j;
	jw_init(&j, &s->labels);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "source", "sflow");
	jw_str(&j, "agent", agent);
	char n[32];
	snprintf(n, sizeof(n), "%u", s->k.sub_agent);
	jw_str(&j, "sub_agent", n);
	snprintf(n, sizeof(n), "%u.%u", s->k.ds_class, s->k.ds_index);
	jw_str(&j, "ds", n);
	if (c->has_descr) {
		if (!uuid_zero(c->descr.uuid)) {
			const char *colon = strrchr(y->id, ':');
			jw_str(&j, "uuid", colon ? colon + 1 : "");
		}
		if (s->os_release[0])
			jw_str(&j, "os_release", s->os_release);
		jw_str(&j, "machine", machine_name(c->descr.machine_type));
	}
	if (parent)
		jw_str(&j, "parent", parent->sys.id);
	jw_obj_end(&j);
	y->labels_json = buf_str(&s->labels);
	return true;
}

/* ---- records -------------------------------------------------------------------- */

static double pct(double part, double whole)
{
	return whole > 0 ? 100.0 * part / whole : 0;
}

static void rate_u64(struct json *j, const char *name, uint64_t a, uint64_t b, double dt)
{
	if (b >= a)
		jw_double(j, name, (double)(b - a) / dt, 2);
}

static void rate_u32(struct json *j, const char *name, uint32_t a, uint32_t b, double dt)
{
	jw_double(j, name, (double)(uint32_t)(b - a) / dt, 2);
}

static int host_cpu(struct frame *f, const struct sflow_host_cpu *u, const struct last *l,
                    double dt)
{
	uint32_t now[8] = {u->cpu_user, u->cpu_nice, u->cpu_system, u->cpu_idle,
	                   u->cpu_wio,  u->cpu_intr, u->cpu_sintr,  u->cpu_steal};
	if (dt > 0 && l->has_cpu) {
		double d[8], total = 0;
		for (int i = 0; i < 8; i++)
			total += d[i] = (double)(uint32_t)(now[i] - l->cpu[i]);
		if (total > 0) {
			static const char *const names[8] = {
			    "user_pct",   "nice_pct", "system_pct",  "idle_pct",
			    "iowait_pct", "irq_pct",  "softirq_pct", "steal_pct"};
			struct json *j = rec_begin(f, "cpu");
			for (int i = 0; i < 8; i++)
				jw_double(j, names[i], pct(d[i], total), 2);
			jw_double(j, "busy_pct", 100.0 - pct(d[3] + d[4], total), 2);
			jw_double(j, "interval_s", dt, 3);
			if (rec_end(f) < 0)
				return -EIO;
		}
	}
	struct json *j = rec_begin(f, "load");
	jw_double(j, "load1", u->load_one, 2);
	jw_double(j, "load5", u->load_five, 2);
	jw_double(j, "load15", u->load_fifteen, 2);
	jw_uint(j, "runnable", u->proc_run);
	jw_uint(j, "tasks", u->proc_total);
	jw_uint(j, "cpus", u->cpu_num);
	jw_uint(j, "uptime_s", u->uptime_s);
	return rec_end(f) < 0 ? -EIO : 0;
}

static int host_memory(struct frame *f, const struct sflow_host_memory *m)
{
	uint64_t total = m->mem_total / 1024, free_kb = m->mem_free / 1024;
	uint64_t avail = free_kb + m->mem_buffers / 1024 + m->mem_cached / 1024;
	if (avail > total)
		avail = total;
	uint64_t swap_total = m->swap_total / 1024;
	uint64_t swap_free = m->swap_free / 1024 < swap_total ? m->swap_free / 1024 : swap_total;
	struct json *j = rec_begin(f, "memory");
	jw_uint(j, "total_kb", total);
	jw_uint(j, "free_kb", free_kb);
	jw_uint(j, "available_kb", avail);
	jw_bool(j, "available_estimated", true);
	jw_uint(j, "used_kb", total - avail);
	jw_double(j, "used_pct", pct((double)(total - avail), (double)total), 2);
	jw_uint(j, "buffers_kb", m->mem_buffers / 1024);
	jw_uint(j, "cached_kb", m->mem_cached / 1024);
	jw_uint(j, "swap_total_kb", swap_total);
	jw_uint(j, "swap_free_kb", swap_free);
	jw_uint(j, "swap_used_kb", swap_total - swap_free);
	jw_double(j, "swap_used_pct", pct((double)(swap_total - swap_free), (double)swap_total), 2);
	return rec_end(f) < 0 ? -EIO : 0;
}

static int disk_space(struct frame *f, uint64_t size, uint64_t used, uint64_t avail,
                      double max_used)
{
	struct json *j = rec_begin(f, "disk:all");
	jw_str(j, "mountpoint", "all");
	jw_uint(j, "size_bytes", size);
	jw_uint(j, "used_bytes", used);
	jw_uint(j, "avail_bytes", avail);
	jw_double(j, "used_pct", pct((double)used, (double)(used + avail)), 2);
	if (max_used >= 0)
		jw_double(j, "max_used_pct", max_used, 2);
	return rec_end(f) < 0 ? -EIO : 0;
}

/* "diskio:all" from reads, writes (u32) and bytes (u64), times when known. */
struct dio {
	uint32_t reads, writes;
	uint64_t read_bytes, write_bytes;
	uint32_t read_ms, write_ms;
	bool times;
};

static int disk_io(struct frame *f, const struct dio *b, const struct dio *a, double dt)
{
	struct json *j = rec_begin(f, "diskio:all");
	jw_str(j, "device", "all");
	jw_uint(j, "reads", b->reads);
	jw_uint(j, "writes", b->writes);
	jw_uint(j, "read_bytes", b->read_bytes);
	jw_uint(j, "write_bytes", b->write_bytes);
	if (b->times) {
		jw_uint(j, "read_ms", b->read_ms);
		jw_uint(j, "write_ms", b->write_ms);
	}
	if (a && dt > 0) {
		rate_u32(j, "reads_per_s", a->reads, b->reads, dt);
		rate_u32(j, "writes_per_s", a->writes, b->writes, dt);
		rate_u64(j, "read_bytes_per_s", a->read_bytes, b->read_bytes, dt);
		rate_u64(j, "write_bytes_per_s", a->write_bytes, b->write_bytes, dt);
		jw_double(j, "interval_s", dt, 3);
	}
	return rec_end(f) < 0 ? -EIO : 0;
}

static struct dio host_dio(const struct sflow_host_disk_io *d)
{
	return (struct dio){d->reads,     d->writes,     d->bytes_read, d->bytes_written,
	                    d->read_time, d->write_time, true};
}

static struct dio virt_dio(const struct sflow_virt_disk_io *d)
{
	return (struct dio){d->rd_req, d->wr_req, d->rd_bytes, d->wr_bytes, 0, 0, false};
}

static int net_io(struct frame *f, const struct sflow_net_io *b, const struct sflow_net_io *a,
                  double dt)
{
	struct json *j = rec_begin(f, "net:all");
	jw_str(j, "ifname", "all");
	jw_uint(j, "rx_bytes", b->bytes_in);
	jw_uint(j, "rx_packets", b->pkts_in);
	jw_uint(j, "rx_errors", b->errs_in);
	jw_uint(j, "rx_dropped", b->drops_in);
	jw_uint(j, "tx_bytes", b->bytes_out);
	jw_uint(j, "tx_packets", b->pkts_out);
	jw_uint(j, "tx_errors", b->errs_out);
	jw_uint(j, "tx_dropped", b->drops_out);
	if (a && dt > 0) {
		rate_u64(j, "rx_bytes_per_s", a->bytes_in, b->bytes_in, dt);
		rate_u32(j, "rx_packets_per_s", a->pkts_in, b->pkts_in, dt);
		rate_u32(j, "rx_errors_per_s", a->errs_in, b->errs_in, dt);
		rate_u32(j, "rx_dropped_per_s", a->drops_in, b->drops_in, dt);
		rate_u64(j, "tx_bytes_per_s", a->bytes_out, b->bytes_out, dt);
		rate_u32(j, "tx_packets_per_s", a->pkts_out, b->pkts_out, dt);
		rate_u32(j, "tx_errors_per_s", a->errs_out, b->errs_out, dt);
		rate_u32(j, "tx_dropped_per_s", a->drops_out, b->drops_out, dt);
		jw_double(j, "interval_s", dt, 3);
	}
	return rec_end(f) < 0 ? -EIO : 0;
}

/* virt_cpu, virt_memory, virt_disk_io of a virtual node: "cpu" and the
 * "cgroup" record our own container frames carry. */
static int virt_cpu_mem(struct frame *f, const struct sflow_counters *c, const struct last *l,
                        double dt)
{
	double busy = -1;
	if (c->has_vcpu && l->has_vcpu && dt > 0) {
		double ms = (double)(uint32_t)(c->vcpu.cpu_time_ms - l->vcpu_ms);
		/* more than every vCPU busy all the time: a reset, no rate */
		uint32_t n = c->vcpu.nr_virt_cpu ? c->vcpu.nr_virt_cpu : 1;
		if (ms <= dt * 1000.0 * n * 1.5 + 1000.0)
			busy = ms / (dt * 1000.0) * 100.0;
		if (busy >= 0 && !c->has_cpu) {
			struct json *j = rec_begin(f, "cpu");
			double b = busy / n;
			jw_double(j, "busy_pct", b > 100 ? 100 : b, 2);
			jw_double(j, "interval_s", dt, 3);
			if (rec_end(f) < 0)
				return -EIO;
		}
	}
	if (!c->has_vcpu && !c->has_vmem && !c->has_vdisk)
		return 0;
	struct json *j = rec_begin(f, "cgroup");
	if (busy >= 0) {
		jw_double(j, "cpu_pct", busy, 2);
		jw_double(j, "interval_s", dt, 3);
	}
	if (c->has_vcpu) {
		jw_uint(j, "vcpus", c->vcpu.nr_virt_cpu);
		jw_uint(j, "state", c->vcpu.state);
	}
	if (c->has_vmem) {
		jw_uint(j, "mem_usage_bytes", c->vmem.memory);
		jw_uint(j, "mem_limit_bytes", c->vmem.max_memory);
	}
	if (c->has_vdisk) {
		jw_uint(j, "io_read_bytes", c->vdisk.rd_bytes);
		jw_uint(j, "io_write_bytes", c->vdisk.wr_bytes);
		jw_uint(j, "io_read_ops", c->vdisk.rd_req);
		jw_uint(j, "io_write_ops", c->vdisk.wr_req);
	}
	if (rec_end(f) < 0)
		return -EIO;
	if (c->has_vmem && !c->has_mem && c->vmem.max_memory) {
		uint64_t total = c->vmem.max_memory / 1024;
		uint64_t used = c->vmem.memory / 1024 < total ? c->vmem.memory / 1024 : total;
		j = rec_begin(f, "memory");
		jw_uint(j, "total_kb", total);
		jw_uint(j, "used_kb", used);
		jw_uint(j, "available_kb", total - used);
		jw_double(j, "used_pct", pct((double)used, (double)total), 2);
		if (rec_end(f) < 0)
			return -EIO;
	}
	return 0;
}

static int virt_node(struct frame *f, const struct sflow_virt_node *v)
{
	struct json *j = rec_begin(f, "virt_node");
	jw_uint(j, "mhz", v->mhz);
	jw_uint(j, "cpus", v->cpus);
	jw_uint(j, "memory_bytes", v->memory);
	jw_uint(j, "memory_free_bytes", v->memory_free);
	jw_uint(j, "domains", v->num_domains);
	return rec_end(f) < 0 ? -EIO : 0;
}

/* The records of sample c into f, rates against l (dt 0: none). */
static int records(struct frame *f, const struct sflow_counters *c, const struct last *l, double dt)
{
	int r = 0;
	if (c->has_cpu)
		r = host_cpu(f, &c->cpu, l, dt);
	if (!r && c->has_mem)
		r = host_memory(f, &c->mem);
	if (!r && c->has_disk) {
		struct dio b = host_dio(&c->disk), a = host_dio(&l->disk);
		uint64_t used = c->disk.disk_total >= c->disk.disk_free
		                    ? c->disk.disk_total - c->disk.disk_free
		                    : 0;
		r = disk_space(f, c->disk.disk_total, used, c->disk.disk_free,
		               c->disk.part_max_used / 100.0);
		if (!r)
			r = disk_io(f, &b, l->has_disk ? &a : NULL, dt);
	} else if (!r && c->has_vdisk) {
		struct dio b = virt_dio(&c->vdisk), a = virt_dio(&l->vdisk);
		r = disk_space(f, c->vdisk.capacity, c->vdisk.allocation, c->vdisk.available, -1);
		if (!r)
			r = disk_io(f, &b, l->has_vdisk ? &a : NULL, dt);
	}
	if (!r && c->has_net)
		r = net_io(f, &c->net, l->has_net ? &l->net : NULL, dt);
	else if (!r && c->has_vnet)
		r = net_io(f, &c->vnet, l->has_vnet ? &l->vnet : NULL, dt);
	if (!r)
		r = virt_cpu_mem(f, c, l, dt);
	if (!r && c->has_vnode)
		r = virt_node(f, &c->vnode);
	return r;
}

static void keep(struct last *l, const struct sflow_header *h, const struct sflow_counters *c)
{
	l->have = true;
	l->stored = false; /* until its frame is written */
	l->seq = c->seq;
	l->uptime_ms = h->uptime_ms;
	l->has_cpu = c->has_cpu;
	if (c->has_cpu) {
		const struct sflow_host_cpu *u = &c->cpu;
		uint32_t v[8] = {u->cpu_user, u->cpu_nice, u->cpu_system, u->cpu_idle,
		                 u->cpu_wio,  u->cpu_intr, u->cpu_sintr,  u->cpu_steal};
		memcpy(l->cpu, v, sizeof(v));
	}
	l->has_disk = c->has_disk;
	l->disk = c->disk;
	l->has_net = c->has_net;
	l->net = c->net;
	l->has_vcpu = c->has_vcpu;
	l->vcpu_ms = c->vcpu.cpu_time_ms;
	l->has_vdisk = c->has_vdisk;
	l->vdisk = c->vdisk;
	l->has_vnet = c->has_vnet;
	l->vnet = c->vnet;
}

static bool maps_anything(const struct sflow_counters *c)
{
	return c->has_cpu || c->has_mem || c->has_disk || c->has_net || c->has_vcpu ||
	       c->has_vmem || c->has_vdisk || c->has_vnet || c->has_vnode || c->has_descr;
}

int sflow_systems_counters(struct sflow_systems *S, const struct sflow_header *h,
                           const struct sflow_counters *c, int64_t now_ms)
{
	(void)now_ms;
	S->last = NULL;
	if (!maps_anything(c)) {
		S->st.no_records++;
		return 0;
	}
	struct srckey k;
	memset(&k, 0, sizeof(k));
	k.af = h->agent.af;
	memcpy(k.a, h->agent.a, sizeof(k.a));
	k.sub_agent = h->sub_agent;
	k.ds_class = c->ds_class;
	k.ds_index = c->ds_index;
	bool fresh;
	struct src *s = lookup(S, &k, true, &fresh);
	if (!s) {
		S->st.sources_full++;
		return 0;
	}

	/* the sequence: older or repeated samples are dropped; an uptime
	 * that went back is a restart of the agent */
	double dt = 0;
	struct last *l = &s->last;
	if (l->have) {
		uint32_t d = c->seq - l->seq;
		if (h->uptime_ms < l->uptime_ms) {
			S->st.restarts++;
			memset(l, 0, sizeof(*l));
		} else if (d == 0 || d >= 0x80000000u) {
			S->st.stale++;
			return 0;
		} else {
			if (d > 1)
				S->st.lost += d - 1;
			dt = (double)(h->uptime_ms - l->uptime_ms) / 1000.0;
		}
	}
	/* closer to the last stored sample than SFLOW_MIN_SPACING_MS of the
	 * agent's uptime: its sequence is taken, nothing stored (the next
	 * frame's rates span both) - a flood of one source costs no store */
	if (l->have && l->stored && h->uptime_ms - l->uptime_ms < SFLOW_MIN_SPACING_MS) {
		l->seq = c->seq;
		S->st.coalesced++;
		return 0;
	}
	if (!identify(S, s, c, fresh)) {
		keep(l, h, c); /* its rates start with the next sample */
		S->st.undecided++;
		return 0;
	}

	static const char *const feats[] = {"metric"};
	struct frame *f = frame_begin(S->sink, &s->sys, feats, 1, FRAME_JSON);
	if (!f) {
		int e = errno;
		S->st.frame_errors++;
		return e ? -e : -EIO;
	}
	frame_feature_start(f, "metric");
	int r = records(f, c, l, dt);
	frame_feature_end(f);
	if (r < 0) {
		frame_abort(f);
		S->st.frame_errors++;
		return r;
	}
	keep(l, h, c);
	r = frame_end(f);
	if (r < 0) {
		S->st.frame_errors++;
	} else {
		S->st.frames++;
		S->last = s;
		l->stored = true;
	}
	return r;
}
