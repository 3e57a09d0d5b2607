/*
 * sflow_decode.c - sflow_decode(): one sFlow v5 datagram to callbacks
 * (the collector's side of sflow.h).
 *
 * The datagram is read through a cursor bounded by its container (the
 * datagram, then the sample, then the record): every read checks the
 * bytes left, so no length in the datagram can make it read outside.
 * Order of checks and what they count (struct sflow_stats):
 *   - a datagram shorter than its header            truncated,   -EMSGSIZE
 *   - version != 5, or an agent address type other
 *     than 1 (IPv4) or 2 (IPv6)                     bad_version, -EPROTO
 *   - a sample count the bytes left cannot hold
 *     (8 bytes at least each)                       truncated,   -EBADMSG
 *   - a sample or record whose length runs past its
 *     container, a sample or a known record shorter
 *     than its fixed fields, a string longer than
 *     its bound (hostname 64, os_release 32)        bad_length,  -EBADMSG
 *   - a sample of another enterprise or an unknown
 *     format (neither 1, 2, 3 nor 4)                unknown_sample, skipped
 *   - a record of another enterprise or a format not
 *     kept in struct sflow_counters (generic_if, the
 *     mib2 ip/icmp/tcp/udp groups 2007-2010 ...)   unknown_record, skipped
 * A broken sample stops the datagram; the samples before it have been
 * delivered.  datagrams counts the datagrams decoded whole.
 *
 * Records are read by their stated length, never by the size we expect:
 * a longer record (a newer agent's extra fields) is decoded as far as we
 * know it and the rest skipped; host_cpu is 80 bytes from current agents
 * and 68 from older ones (no steal/guest/guest_nice: has_steal false).
 * Lengths need not be multiples of 4 in this reader (XDR says they are):
 * the cursor simply moves by the stated length.
 *
 * Flow samples go to sflow_decode_flow_sample() (sflow_flow.c) when the
 * caller has a flow callback; without one they are counted and skipped.
 */
#include <errno.h>
#include <string.h>

#include "sflow.h"

/* A bounded read cursor.  `bad` is set by any read past the end; the
 * reads then return zeros, and the caller checks `bad` once per unit. */
struct cur {
	const uint8_t *p;
	size_t n, off;
	bool bad;
};

static struct cur sub(struct cur *c, size_t len)
{
	struct cur s = {.p = c->p + c->off, .n = len, .off = 0, .bad = false};
	c->off += len;
	return s;
}

static size_t left(const struct cur *c)
{
	return c->n - c->off;
}

static bool need(struct cur *c, size_t n)
{
	if (c->bad || n > c->n - c->off) {
		c->bad = true;
		return false;
	}
	return true;
}

static uint32_t u32(struct cur *c)
{
	if (!need(c, 4))
		return 0;
	const uint8_t *q = c->p + c->off;
	c->off += 4;
	return (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
}

static uint64_t u64(struct cur *c)
{
	uint64_t hi = u32(c);
	return hi << 32 | u32(c);
}

static float f32(struct cur *c)
{
	uint32_t v = u32(c);
	float f;
	memcpy(&f, &v, sizeof f);
	return f;
}

static void bytes(struct cur *c, void *dst, size_t n)
{
	if (!need(c, n)) {
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, c->p + c->off, n);
	c->off += n;
}

static void skip(struct cur *c, size_t n)
{
	if (need(c, n))
		c->off += n;
}

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* An XDR string of at most `max` bytes into dst (cap max + 1); a longer
 * one marks the cursor bad.  Bytes are kept as sent, NULs cut it short. */
static void string(struct cur *c, char *dst, size_t max)
{
	uint32_t n = u32(c);
	dst[0] = 0;
	if (c->bad || n > max || !need(c, pad4(n))) {
		c->bad = true;
		return;
	}
	memcpy(dst, c->p + c->off, n);
	dst[n] = 0;
	c->off += pad4(n);
}

static void addr(struct cur *c, struct sflow_addr *a)
{
	memset(a, 0, sizeof *a);
	a->af = u32(c);
	if (a->af == 1)
		bytes(c, a->a, 4);
	else if (a->af == 2)
		bytes(c, a->a, 16);
}

/* ------------------------------------------------------------ the records */

/* Minimum lengths of the fixed-size records we keep. */
enum {
	LEN_PARENT = 8,
	LEN_CPU_OLD = 68,
	LEN_CPU = 80,
	LEN_MEM = 72,
	LEN_DISK = 52,
	LEN_NET = 40,
	LEN_VNODE = 28,
	LEN_VCPU = 12,
	LEN_VMEM = 16,
	LEN_VDISK = 52,
};

static void rd_descr(struct cur *c, struct sflow_host_descr *d)
{
	string(c, d->hostname, sizeof d->hostname - 1);
	bytes(c, d->uuid, sizeof d->uuid);
	d->machine_type = u32(c);
	d->os_name = u32(c);
	string(c, d->os_release, sizeof d->os_release - 1);
}

static void rd_adapters(struct cur *c, struct sflow_host_adapters *a)
{
	uint32_t n = u32(c);
	/* each adapter is 8 bytes at least: a count the record cannot hold lies */
	if (c->bad || n > left(c) / 8) {
		c->bad = true;
		return;
	}
	a->n = 0;
	for (uint32_t i = 0; i < n && !c->bad; i++) {
		uint32_t ifindex = u32(c), nmacs = u32(c);
		if (c->bad || nmacs > left(c) / 8) {
			c->bad = true;
			return;
		}
		if (a->n < SFLOW_MAX_ADAPTERS) {
			struct sflow_adapter *ad = &a->a[a->n++];
			ad->ifindex = ifindex;
			ad->nmacs = nmacs;
			memset(ad->mac, 0, sizeof ad->mac);
			if (nmacs)
				memcpy(ad->mac, c->p + c->off, 6);
		}
		skip(c, (size_t)nmacs * 8);
	}
}

static void rd_cpu(struct cur *c, struct sflow_host_cpu *u)
{
	u->load_one = f32(c);
	u->load_five = f32(c);
	u->load_fifteen = f32(c);
	u->proc_run = u32(c);
	u->proc_total = u32(c);
	u->cpu_num = u32(c);
	u->cpu_speed_mhz = u32(c);
	u->uptime_s = u32(c);
	u->cpu_user = u32(c);
	u->cpu_nice = u32(c);
	u->cpu_system = u32(c);
	u->cpu_idle = u32(c);
	u->cpu_wio = u32(c);
	u->cpu_intr = u32(c);
	u->cpu_sintr = u32(c);
	u->interrupts = u32(c);
	u->contexts = u32(c);
	u->has_steal = left(c) >= 12;
	if (u->has_steal) {
		u->cpu_steal = u32(c);
		u->cpu_guest = u32(c);
		u->cpu_guest_nice = u32(c);
	} else {
		u->cpu_steal = u->cpu_guest = u->cpu_guest_nice = 0;
	}
}

static void rd_mem(struct cur *c, struct sflow_host_memory *m)
{
	m->mem_total = u64(c);
	m->mem_free = u64(c);
	m->mem_shared = u64(c);
	m->mem_buffers = u64(c);
	m->mem_cached = u64(c);
	m->swap_total = u64(c);
	m->swap_free = u64(c);
	m->page_in = u32(c);
	m->page_out = u32(c);
	m->swap_in = u32(c);
	m->swap_out = u32(c);
}

static void rd_disk(struct cur *c, struct sflow_host_disk_io *d)
{
	d->disk_total = u64(c);
	d->disk_free = u64(c);
	d->part_max_used = u32(c);
	d->reads = u32(c);
	d->bytes_read = u64(c);
	d->read_time = u32(c);
	d->writes = u32(c);
	d->bytes_written = u64(c);
	d->write_time = u32(c);
}

static void rd_net(struct cur *c, struct sflow_net_io *n)
{
	n->bytes_in = u64(c);
	n->pkts_in = u32(c);
	n->errs_in = u32(c);
	n->drops_in = u32(c);
	n->bytes_out = u64(c);
	n->pkts_out = u32(c);
	n->errs_out = u32(c);
	n->drops_out = u32(c);
}

static void rd_vnode(struct cur *c, struct sflow_virt_node *v)
{
	v->mhz = u32(c);
	v->cpus = u32(c);
	v->memory = u64(c);
	v->memory_free = u64(c);
	v->num_domains = u32(c);
}

static void rd_vdisk(struct cur *c, struct sflow_virt_disk_io *v)
{
	v->capacity = u64(c);
	v->allocation = u64(c);
	v->available = u64(c);
	v->rd_req = u32(c);
	v->rd_bytes = u64(c);
	v->wr_req = u32(c);
	v->wr_bytes = u64(c);
	v->errs = u32(c);
}

/* One counter record of format `fmt` (enterprise 0) from r (bounded by its
 * stated length).  0, 1 when it is not one we keep, -EBADMSG when its
 * length lies (shorter than its fields). */
static int counter_record(struct cur *r, uint32_t fmt, struct sflow_counters *c)
{
	size_t min = 0;
	switch (fmt) {
	case SFLOW_CTR_HOST_DESCR:
		rd_descr(r, &c->descr);
		c->has_descr = true;
		break;
	case SFLOW_CTR_HOST_ADAPTERS:
		rd_adapters(r, &c->adapters);
		c->has_adapters = true;
		break;
	case SFLOW_CTR_HOST_PARENT:
		min = LEN_PARENT;
		c->parent.ds_class = u32(r);
		c->parent.ds_index = u32(r);
		c->has_parent = true;
		break;
	case SFLOW_CTR_HOST_CPU:
		min = LEN_CPU_OLD;
		rd_cpu(r, &c->cpu);
		c->has_cpu = true;
		break;
	case SFLOW_CTR_HOST_MEMORY:
		min = LEN_MEM;
		rd_mem(r, &c->mem);
		c->has_mem = true;
		break;
	case SFLOW_CTR_HOST_DISK_IO:
		min = LEN_DISK;
		rd_disk(r, &c->disk);
		c->has_disk = true;
		break;
	case SFLOW_CTR_HOST_NET_IO:
		min = LEN_NET;
		rd_net(r, &c->net);
		c->has_net = true;
		break;
	case SFLOW_CTR_VIRT_NODE:
		min = LEN_VNODE;
		rd_vnode(r, &c->vnode);
		c->has_vnode = true;
		break;
	case SFLOW_CTR_VIRT_CPU:
		min = LEN_VCPU;
		c->vcpu.state = u32(r);
		c->vcpu.cpu_time_ms = u32(r);
		c->vcpu.nr_virt_cpu = u32(r);
		c->has_vcpu = true;
		break;
	case SFLOW_CTR_VIRT_MEMORY:
		min = LEN_VMEM;
		c->vmem.memory = u64(r);
		c->vmem.max_memory = u64(r);
		c->has_vmem = true;
		break;
	case SFLOW_CTR_VIRT_DISK_IO:
		min = LEN_VDISK;
		rd_vdisk(r, &c->vdisk);
		c->has_vdisk = true;
		break;
	case SFLOW_CTR_VIRT_NET_IO:
		min = LEN_NET;
		rd_net(r, &c->vnet);
		c->has_vnet = true;
		break;
	default:
		return 1;
	}
	return r->bad || r->n < min ? -EBADMSG : 0;
}

/* The data of one counter sample (after tag and length). */
static int counter_sample(struct cur *s, bool expanded, const struct sflow_header *h,
                          const struct sflow_decode_cb *cb, struct sflow_stats *st,
                          struct sflow_counters *c)
{
	memset(c, 0, sizeof *c);
	c->seq = u32(s);
	if (expanded) {
		c->ds_class = u32(s);
		c->ds_index = u32(s);
	} else {
		uint32_t id = u32(s);
		c->ds_class = id >> 24;
		c->ds_index = id & 0xFFFFFF;
	}
	uint32_t nrec = u32(s);
	if (s->bad || nrec > left(s) / 8) {
		st->bad_length++;
		return -EBADMSG;
	}
	for (uint32_t i = 0; i < nrec; i++) {
		uint32_t tag = u32(s), len = u32(s);
		if (s->bad || len > left(s)) {
			st->bad_length++;
			return -EBADMSG;
		}
		struct cur r = sub(s, len);
		if (tag >> 12 != 0) {
			st->unknown_record++;
			continue;
		}
		int k = counter_record(&r, tag & 0xFFF, c);
		if (k < 0) {
			st->bad_length++;
			return k;
		}
		if (k > 0)
			st->unknown_record++;
	}
	st->counter_samples++;
	return cb->counters ? cb->counters(cb->ctx, h, c) : 0;
}

/* ----------------------------------------------------------- flow samples */

static int flow_sample(struct cur *s, bool expanded, const struct sflow_header *h,
                       const struct sflow_decode_cb *cb, struct sflow_stats *st)
{
	st->flow_samples++;
	if (!cb->flow)
		return 0;
	struct sflow_flow f;
	memset(&f, 0, sizeof f);
	int r = sflow_decode_flow_sample(s->p, s->n, expanded, &f, st);
	if (r == -ENOTSUP)
		return 0;
	if (r < 0)
		return r;
	return cb->flow(cb->ctx, h, &f);
}

/* -------------------------------------------------------------- datagrams */

int sflow_decode(const uint8_t *p, size_t len, const struct sflow_decode_cb *cb,
                 struct sflow_stats *st)
{
	struct cur c = {.p = p, .n = len, .off = 0, .bad = false};
	struct sflow_header h;
	memset(&h, 0, sizeof h);

	uint32_t version = u32(&c);
	if (c.bad) {
		st->truncated++;
		return -EMSGSIZE;
	}
	if (version != SFLOW_VERSION) {
		st->bad_version++;
		return -EPROTO;
	}
	addr(&c, &h.agent);
	if (!c.bad && h.agent.af != 1 && h.agent.af != 2) {
		st->bad_version++;
		return -EPROTO;
	}
	h.sub_agent = u32(&c);
	h.seq = u32(&c);
	h.uptime_ms = u32(&c);
	h.nsamples = u32(&c);
	if (c.bad) {
		st->truncated++;
		return -EMSGSIZE;
	}
	if (h.nsamples > left(&c) / 8) {
		st->truncated++;
		return -EBADMSG;
	}

	struct sflow_counters ctr; /* one sample's at a time (~1 KiB) */
	for (uint32_t i = 0; i < h.nsamples; i++) {
		uint32_t tag = u32(&c), slen = u32(&c);
		if (c.bad) {
			st->truncated++;
			return -EBADMSG;
		}
		if (slen > left(&c)) {
			st->bad_length++;
			return -EBADMSG;
		}
		struct cur s = sub(&c, slen);
		int r = 0;
		if (tag >> 12 != 0) {
			st->unknown_sample++;
			continue;
		}
		switch (tag & 0xFFF) {
		case SFLOW_COUNTER_SAMPLE:
		case SFLOW_COUNTER_SAMPLE_EXP:
			r = counter_sample(&s, (tag & 0xFFF) == SFLOW_COUNTER_SAMPLE_EXP, &h, cb,
			                   st, &ctr);
			break;
		case SFLOW_FLOW_SAMPLE:
		case SFLOW_FLOW_SAMPLE_EXP:
			r = flow_sample(&s, (tag & 0xFFF) == SFLOW_FLOW_SAMPLE_EXP, &h, cb, st);
			break;
		default:
			st->unknown_sample++;
			break;
		}
		if (r < 0)
			return r;
	}
	st->datagrams++;
	return 0;
}
