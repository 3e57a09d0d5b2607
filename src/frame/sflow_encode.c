/*
 * sflow_encode.c - building sFlow v5 datagrams of counter samples within
 * an MTU (sflow.h; the sFlow sink, src/sinks/sflow_sink.c, is the user).
 *
 * A datagram's buffer holds the header's room (28 bytes for an IPv4 agent,
 * 40 for IPv6) then the samples; the header's fields are written by
 * sflow_dgram_finish(), when sequence, uptime and count are known.  A
 * sample is measured before it is appended (sflow_dgram_put(),
 * sflow_xdr.h), so a datagram never exceeds its MTU and a sample that does
 * not fit leaves it unchanged.
 *
 * Counter samples are format 0:2 (source_id = class << 24 | index), each
 * record in the layout of the Host sFlow structures (sflow.h; anchors in
 * docs/sflow.md): host_descr 2000, host_adapters 2001, host_parent 2002,
 * host_cpu 2003 (always the 80-byte form), host_memory 2004, host_disk_io
 * 2005, host_net_io 2006, virt_node 2100, virt_cpu 2101, virt_memory 2102,
 * virt_disk_io 2103, virt_net_io 2104, in that order.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "sflow.h"
#include "sflow_xdr.h"

static size_t header_len(const struct sflow_addr *a)
{
	return a->af == 2 ? 40 : 28;
}

void sflow_dgram_init(struct sflow_dgram *d, const struct sflow_addr *agent, uint32_t sub_agent,
                      size_t mtu)
{
	d->agent = *agent;
	if (d->agent.af != 2)
		d->agent.af = 1;
	d->sub_agent = sub_agent;
	d->seq = 0;
	d->uptime_ms = 0;
	if (mtu < header_len(&d->agent) || mtu > SFLOW_DGRAM_MAX)
		mtu = mtu > SFLOW_DGRAM_MAX ? SFLOW_DGRAM_MAX : SFLOW_MTU_DEFAULT;
	d->mtu = mtu;
	sflow_dgram_reset(d);
}

void sflow_dgram_reset(struct sflow_dgram *d)
{
	d->nsamples = 0;
	d->len = header_len(&d->agent);
	memset(d->buf, 0, d->len);
}

void sflow_dgram_finish(struct sflow_dgram *d)
{
	struct xdr x;
	xdr_init(&x, d->buf, sizeof(d->buf), 0);
	xdr_u32(&x, SFLOW_VERSION);
	xdr_u32(&x, d->agent.af);
	xdr_fixed(&x, d->agent.a, d->agent.af == 2 ? 16 : 4);
	xdr_u32(&x, d->sub_agent);
	xdr_u32(&x, d->seq);
	xdr_u32(&x, d->uptime_ms);
	xdr_u32(&x, d->nsamples);
}

int sflow_dgram_put(struct sflow_dgram *d, sflow_enc_fn enc, const void *arg)
{
	struct xdr x;
	xdr_init(&x, NULL, 0, 0);
	enc(&x, arg);
	if (x.err)
		return -EINVAL;
	size_t n = x.len;
	if (header_len(&d->agent) + n > d->mtu)
		return -E2BIG;
	if (d->len + n > d->mtu)
		return -EMSGSIZE;
	xdr_init(&x, d->buf, d->mtu, d->len);
	enc(&x, arg);
	if (x.err || x.len != d->len + n)
		return -EINVAL; /* an encoder that wrote other bytes than it counted */
	d->len = x.len;
	d->nsamples++;
	return 0;
}

/* ---- counter records ----------------------------------------------------------- */

static void put_net_io(struct xdr *x, uint32_t fmt, const struct sflow_net_io *n)
{
	size_t at = xdr_begin(x, SFLOW_TAG(0, fmt));
	xdr_u64(x, n->bytes_in);
	xdr_u32(x, n->pkts_in);
	xdr_u32(x, n->errs_in);
	xdr_u32(x, n->drops_in);
	xdr_u64(x, n->bytes_out);
	xdr_u32(x, n->pkts_out);
	xdr_u32(x, n->errs_out);
	xdr_u32(x, n->drops_out);
	xdr_end(x, at);
}

static void put_descr(struct xdr *x, const struct sflow_host_descr *h)
{
	size_t at = xdr_begin(x, SFLOW_TAG(0, SFLOW_CTR_HOST_DESCR));
	xdr_string(x, h->hostname, 64);
	xdr_fixed(x, h->uuid, 16);
	xdr_u32(x, h->machine_type);
	xdr_u32(x, h->os_name);
	xdr_string(x, h->os_release, 32);
	xdr_end(x, at);
}

static void put_adapters(struct xdr *x, const struct sflow_host_adapters *a)
{
	size_t at = xdr_begin(x, SFLOW_TAG(0, SFLOW_CTR_HOST_ADAPTERS));
	uint32_t n = a->n < SFLOW_MAX_ADAPTERS ? a->n : SFLOW_MAX_ADAPTERS;
	xdr_u32(x, n);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t nmacs = a->a[i].nmacs ? 1 : 0; /* one MAC held per adapter */
		xdr_u32(x, a->a[i].ifindex);
		xdr_u32(x, nmacs);
		if (nmacs)
			xdr_fixed(x, a->a[i].mac, 6);
	}
	xdr_end(x, at);
}

static void put_cpu(struct xdr *x, const struct sflow_host_cpu *c)
{
	size_t at = xdr_begin(x, SFLOW_TAG(0, SFLOW_CTR_HOST_CPU));
	xdr_float(x, c->load_one);
	xdr_float(x, c->load_five);
	xdr_float(x, c->load_fifteen);
	xdr_u32(x, c->proc_run);
	xdr_u32(x, c->proc_total);
	xdr_u32(x, c->cpu_num);
	xdr_u32(x, c->cpu_speed_mhz);
	xdr_u32(x, c->uptime_s);
	xdr_u32(x, c->cpu_user);
	xdr_u32(x, c->cpu_nice);
	xdr_u32(x, c->cpu_system);
	xdr_u32(x, c->cpu_idle);
	xdr_u32(x, c->cpu_wio);
	xdr_u32(x, c->cpu_intr);
	xdr_u32(x, c->cpu_sintr);
	xdr_u32(x, c->interrupts);
	xdr_u32(x, c->contexts);
	xdr_u32(x, c->cpu_steal);
	xdr_u32(x, c->cpu_guest);
	xdr_u32(x, c->cpu_guest_nice);
	xdr_end(x, at);
}

static void put_mem(struct xdr *x, const struct sflow_host_memory *m)
{
	size_t at = xdr_begin(x, SFLOW_TAG(0, SFLOW_CTR_HOST_MEMORY));
	xdr_u64(x, m->mem_total);
	xdr_u64(x, m->mem_free);
	xdr_u64(x, m->mem_shared);
	xdr_u64(x, m->mem_buffers);
	xdr_u64(x, m->mem_cached);
	xdr_u64(x, m->swap_total);
	xdr_u64(x, m->swap_free);
	xdr_u32(x, m->page_in);
	xdr_u32(x, m->page_out);
	xdr_u32(x, m->swap_in);
	xdr_u32(x, m->swap_out);
	xdr_end(x, at);
}

static void put_disk(struct xdr *x, const struct sflow_host_disk_io *d)
{
	size_t at = xdr_begin(x, SFLOW_TAG(0, SFLOW_CTR_HOST_DISK_IO));
	xdr_u64(x, d->disk_total);
	xdr_u64(x, d->disk_free);
	xdr_u32(x, d->part_max_used);
	xdr_u32(x, d->reads);
	xdr_u64(x, d->bytes_read);
	xdr_u32(x, d->read_time);
	xdr_u32(x, d->writes);
	xdr_u64(x, d->bytes_written);
	xdr_u32(x, d->write_time);
	xdr_end(x, at);
}

static void put_counters(struct xdr *x, const void *arg)
{
	const struct sflow_counters *c = arg;
	size_t at = xdr_begin(x, SFLOW_TAG(0, SFLOW_COUNTER_SAMPLE));
	xdr_u32(x, c->seq);
	xdr_u32(x, (c->ds_class & 0xFFu) << 24 | (c->ds_index & 0xFFFFFFu));
	uint32_t n = (uint32_t)c->has_descr + c->has_adapters + c->has_parent + c->has_cpu +
	             c->has_mem + c->has_disk + c->has_net + c->has_vnode + c->has_vcpu +
	             c->has_vmem + c->has_vdisk + c->has_vnet;
	xdr_u32(x, n);
	if (c->has_descr)
		put_descr(x, &c->descr);
	if (c->has_adapters)
		put_adapters(x, &c->adapters);
	if (c->has_parent) {
		size_t r = xdr_begin(x, SFLOW_TAG(0, SFLOW_CTR_HOST_PARENT));
		xdr_u32(x, c->parent.ds_class);
		xdr_u32(x, c->parent.ds_index);
		xdr_end(x, r);
	}
	if (c->has_cpu)
		put_cpu(x, &c->cpu);
	if (c->has_mem)
		put_mem(x, &c->mem);
	if (c->has_disk)
		put_disk(x, &c->disk);
	if (c->has_net)
		put_net_io(x, SFLOW_CTR_HOST_NET_IO, &c->net);
	if (c->has_vnode) {
		size_t r = xdr_begin(x, SFLOW_TAG(0, SFLOW_CTR_VIRT_NODE));
		xdr_u32(x, c->vnode.mhz);
		xdr_u32(x, c->vnode.cpus);
		xdr_u64(x, c->vnode.memory);
		xdr_u64(x, c->vnode.memory_free);
		xdr_u32(x, c->vnode.num_domains);
		xdr_end(x, r);
	}
	if (c->has_vcpu) {
		size_t r = xdr_begin(x, SFLOW_TAG(0, SFLOW_CTR_VIRT_CPU));
		xdr_u32(x, c->vcpu.state);
		xdr_u32(x, c->vcpu.cpu_time_ms);
		xdr_u32(x, c->vcpu.nr_virt_cpu);
		xdr_end(x, r);
	}
	if (c->has_vmem) {
		size_t r = xdr_begin(x, SFLOW_TAG(0, SFLOW_CTR_VIRT_MEMORY));
		xdr_u64(x, c->vmem.memory);
		xdr_u64(x, c->vmem.max_memory);
		xdr_end(x, r);
	}
	if (c->has_vdisk) {
		size_t r = xdr_begin(x, SFLOW_TAG(0, SFLOW_CTR_VIRT_DISK_IO));
		xdr_u64(x, c->vdisk.capacity);
		xdr_u64(x, c->vdisk.allocation);
		xdr_u64(x, c->vdisk.available);
		xdr_u32(x, c->vdisk.rd_req);
		xdr_u64(x, c->vdisk.rd_bytes);
		xdr_u32(x, c->vdisk.wr_req);
		xdr_u64(x, c->vdisk.wr_bytes);
		xdr_u32(x, c->vdisk.errs);
		xdr_end(x, r);
	}
	if (c->has_vnet)
		put_net_io(x, SFLOW_CTR_VIRT_NET_IO, &c->vnet);
	xdr_end(x, at);
}

int sflow_dgram_add_counters(struct sflow_dgram *d, const struct sflow_counters *c)
{
	return sflow_dgram_put(d, put_counters, c);
}

/* ---- data sources and addresses ------------------------------------------------ */

/*
 * The host is index 1 (the id "host:..." or none); any other system a
 * 32-bit FNV-1a hash of its id folded into 2..0xFFFFFF, so its index is the
 * same on every run and every agent that sees it.  Two systems of one
 * agent collide with a chance of about n^2 / 3.3e7 (1 in 1,000 for 180).
 */
uint32_t sflow_ds_index(const char *system_id)
{
	if (!system_id || !*system_id || strncmp(system_id, "host:", 5) == 0)
		return 1;
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)system_id; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return 2 + h % 0xFFFFFEu;
}

const char *sflow_addr_str(uint32_t af, const uint8_t *a, char *dst, size_t cap)
{
	if (!cap)
		return dst;
	dst[0] = 0;
	if (af == 1 || af == 2) {
		if (!inet_ntop(af == 1 ? AF_INET : AF_INET6, a, dst, (socklen_t)cap))
			dst[0] = 0;
	} else {
		snprintf(dst, cap, "?af%u", af);
	}
	return dst;
}
