/*
 * Unit tests: sflow_decode() (frame/sflow_decode.c) on the 63 datagrams of
 * a real Host sFlow agent (tests/sflow/hsflowd-host-1s.pcap, values checked
 * against tests/sflow/sflow_decode.py), on datagrams built here (68-byte
 * host_cpu of older agents, longer records, virtual nodes, unknown
 * enterprises and formats, flow samples without a flow callback) and on
 * garbage: every prefix of a real datagram, lying sample counts and
 * lengths, over-long strings, unknown versions, and thousands of random and
 * mutated datagrams.  Each input is copied into an exact-size heap block so
 * ASan catches any read past its end, and every call must count exactly
 * one outcome (datagrams, bad_version, truncated or bad_length).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "frame/sflow.h"

#define FIXTURE "tests/sflow/hsflowd-host-1s.pcap"
#define NDGRAM 63

/* ---- the capture ---------------------------------------------------------- */

struct dgram {
	uint8_t *p;
	size_t n;
};
static struct dgram fx[NDGRAM + 1];
static int nfx;

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The UDP payloads of the classic pcap (Ethernet, IPv4, UDP). */
static int load_fixture(void **state)
{
	FILE *f = fopen(FIXTURE, "rb");
	assert_non_null(f);
	static uint8_t buf[1 << 17];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	assert_true(n > 24 && le32(buf) == 0xa1b2c3d4u && le32(buf + 20) == 1);
	size_t off = 24;
	nfx = 0;
	while (off + 16 <= n && nfx <= NDGRAM) {
		uint32_t incl = le32(buf + off + 8);
		const uint8_t *pkt = buf + off + 16;
		assert_true(off + 16 + incl <= n);
		off += 16 + incl;
		assert_true(incl > 14 + 20 + 8);
		const uint8_t *ip = pkt + 14;
		size_t ihl = (size_t)(ip[0] & 15) * 4;
		const uint8_t *udp = ip + ihl;
		size_t ulen = (size_t)udp[4] << 8 | udp[5];
		assert_true(ulen >= 8 && (size_t)(udp - pkt) + ulen <= incl);
		fx[nfx].n = ulen - 8;
		fx[nfx].p = malloc(fx[nfx].n);
		memcpy(fx[nfx].p, udp + 8, fx[nfx].n);
		nfx++;
	}
	assert_int_equal(nfx, NDGRAM);
	return 0;
}

static int free_fixture(void **state)
{
	for (int i = 0; i < nfx; i++)
		free(fx[i].p);
	return 0;
}

/* ---- decoding into memory --------------------------------------------------- */

struct got {
	int n;
	struct sflow_header h;
	struct sflow_counters c[8];
	int flows;
};

static int on_counters(void *ctx, const struct sflow_header *h, const struct sflow_counters *c)
{
	struct got *g = ctx;
	g->h = *h;
	if (g->n < 8)
		g->c[g->n] = *c;
	g->n++;
	return 0;
}

static int on_flow(void *ctx, const struct sflow_header *h, const struct sflow_flow *f)
{
	((struct got *)ctx)->flows++;
	return 0;
}

/* Decode a copy of p in an exact-size heap block; check that exactly one
 * outcome was counted. */
static int decode(const uint8_t *p, size_t n, struct got *g, struct sflow_stats *st)
{
	uint8_t *q = malloc(n ? n : 1);
	assert_non_null(q);
	if (n)
		memcpy(q, p, n);
	memset(g, 0, sizeof *g);
	struct sflow_decode_cb cb = {.ctx = g, .counters = on_counters, .flow = NULL};
	uint64_t before = st->datagrams + st->bad_version + st->truncated + st->bad_length;
	int r = sflow_decode(q, n, &cb, st);
	free(q);
	uint64_t after = st->datagrams + st->bad_version + st->truncated + st->bad_length;
	assert_int_equal(after - before, 1);
	assert_true(r == 0 || r == -EPROTO || r == -EMSGSIZE || r == -EBADMSG);
	return r;
}

static void fixture_first(void **state)
{
	struct got g;
	struct sflow_stats st = {0};
	assert_int_equal(decode(fx[0].p, fx[0].n, &g, &st), 0);
	assert_int_equal(fx[0].n, 712);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.h.agent.af, 1);
	assert_memory_equal(g.h.agent.a, ((uint8_t[]){192, 0, 2, 2}), 4);
	assert_int_equal(g.h.sub_agent, 100001);
	assert_int_equal(g.h.seq, 1);
	assert_int_equal(g.h.uptime_ms, 1800);
	assert_int_equal(g.h.nsamples, 1);
	const struct sflow_counters *c = &g.c[0];
	assert_int_equal(c->seq, 1);
	assert_int_equal(c->ds_class, 2);
	assert_int_equal(c->ds_index, 1);
	assert_true(c->has_descr && c->has_adapters && c->has_cpu && c->has_mem && c->has_disk &&
	            c->has_net);
	assert_false(c->has_parent || c->has_vnode || c->has_vcpu || c->has_vmem || c->has_vdisk ||
	             c->has_vnet);
	assert_string_equal(c->descr.hostname, "vm");
	assert_string_equal(c->descr.os_release, "6.18.44-fc-v769");
	assert_int_equal(c->descr.machine_type, SFLOW_MT_X86_64);
	assert_int_equal(c->descr.os_name, SFLOW_OS_LINUX);
	assert_memory_equal(c->descr.uuid,
	                    ((uint8_t[]){0x65, 0x71, 0xe1, 0x9b, 0x65, 0x71, 0x51, 0x9b, 0xa5, 0x71,
	                                 0xe1, 0x9b, 0x65, 0x71, 0xe1, 0x9b}),
	                    16);
	assert_int_equal(c->adapters.n, 1);
	assert_int_equal(c->adapters.a[0].ifindex, 4);
	assert_int_equal(c->adapters.a[0].nmacs, 1);
	assert_memory_equal(c->adapters.a[0].mac, ((uint8_t[]){2, 0xfc, 0, 0, 0, 1}), 6);
	assert_float_equal(c->cpu.load_one, 2.98, 1e-5);
	assert_float_equal(c->cpu.load_five, 1.4, 1e-5);
	assert_float_equal(c->cpu.load_fifteen, 0.56, 1e-5);
	assert_int_equal(c->cpu.proc_run, 8);
	assert_int_equal(c->cpu.proc_total, 131);
	assert_int_equal(c->cpu.cpu_num, 2);
	assert_int_equal(c->cpu.cpu_speed_mhz, 2096);
	assert_int_equal(c->cpu.uptime_s, 443);
	assert_int_equal(c->cpu.cpu_user, 214530);
	assert_int_equal(c->cpu.cpu_system, 118450);
	assert_int_equal(c->cpu.cpu_idle, 541490);
	assert_int_equal(c->cpu.cpu_wio, 8240);
	assert_int_equal(c->cpu.cpu_sintr, 3480);
	assert_int_equal(c->cpu.interrupts, 381884);
	assert_int_equal(c->cpu.contexts, 978063);
	assert_true(c->cpu.has_steal);
	assert_int_equal(c->mem.mem_total, 25276026880ULL);
	assert_int_equal(c->mem.mem_free, 21706596352ULL);
	assert_int_equal(c->mem.mem_buffers, 40046592ULL);
	assert_int_equal(c->mem.mem_cached, 3074240512ULL);
	assert_int_equal(c->mem.page_in, 1439213);
	assert_int_equal(c->mem.page_out, 2758712);
	assert_int_equal(c->disk.disk_total, 270553174016ULL);
	assert_int_equal(c->disk.disk_free, 83282956288ULL);
	assert_int_equal(c->disk.part_max_used, 6921);
	assert_int_equal(c->disk.reads, 38568);
	assert_int_equal(c->disk.bytes_read, 1473754112ULL);
	assert_int_equal(c->disk.read_time, 21242);
	assert_int_equal(c->disk.writes, 52732);
	assert_int_equal(c->disk.bytes_written, 2824921088ULL);
	assert_int_equal(c->disk.write_time, 110551);
	assert_int_equal(c->net.bytes_in, 0);
	/* mib2 ip, icmp, tcp, udp: known to sFlow, not kept here */
	assert_int_equal(st.unknown_record, 4);
	assert_int_equal(st.counter_samples, 1);
	assert_int_equal(st.datagrams, 1);
}

/* All 63: decoded whole, sequences +1, cumulative counters never back. */
static void fixture_all(void **state)
{
	struct sflow_stats st = {0};
	struct sflow_counters prev = {0};
	for (int i = 0; i < nfx; i++) {
		struct got g;
		assert_int_equal(decode(fx[i].p, fx[i].n, &g, &st), 0);
		assert_int_equal(g.n, 1);
		assert_int_equal(g.h.seq, (uint32_t)i + 1);
		const struct sflow_counters *c = &g.c[0];
		assert_int_equal(c->seq, (uint32_t)i + 1);
		assert_int_equal(c->mem.mem_total, 25276026880ULL);
		assert_true(c->mem.mem_free < c->mem.mem_total);
		if (i) {
			assert_true(c->cpu.cpu_user >= prev.cpu.cpu_user);
			assert_true(c->cpu.cpu_idle >= prev.cpu.cpu_idle);
			assert_true(c->cpu.contexts >= prev.cpu.contexts);
			assert_true(c->disk.reads >= prev.disk.reads);
			assert_true(c->disk.bytes_written >= prev.disk.bytes_written);
		}
		prev = *c;
	}
	assert_int_equal(st.datagrams, NDGRAM);
	assert_int_equal(st.counter_samples, NDGRAM);
	assert_int_equal(st.unknown_record, 4 * NDGRAM);
	assert_int_equal(st.bad_length + st.truncated + st.bad_version + st.unknown_sample, 0);
	/* the last one, as tests/sflow/sflow_decode.py reads it */
	assert_int_equal(prev.cpu.cpu_user, 313450);
	assert_int_equal(prev.cpu.cpu_idle, 545400);
	assert_int_equal(prev.mem.mem_free, 21958971392ULL);
	assert_int_equal(prev.disk.bytes_written, 3729031168ULL);
}

/* Every prefix of a real datagram is refused, never read past. */
static void fixture_prefixes(void **state)
{
	struct sflow_stats st = {0};
	for (size_t n = 0; n < fx[0].n; n++) {
		struct got g;
		int r = decode(fx[0].p, n, &g, &st);
		assert_true(r < 0);
		assert_int_equal(g.n, 0);
	}
	assert_int_equal(st.datagrams, 0);
	assert_true(st.truncated > 0 && st.bad_length > 0);
}

/* ---- datagrams built here ------------------------------------------------------ */

struct w {
	uint8_t b[4096];
	size_t n;
};

static void put32(struct w *w, uint32_t v)
{
	w->b[w->n++] = (uint8_t)(v >> 24);
	w->b[w->n++] = (uint8_t)(v >> 16);
	w->b[w->n++] = (uint8_t)(v >> 8);
	w->b[w->n++] = (uint8_t)v;
}

static void put64(struct w *w, uint64_t v)
{
	put32(w, (uint32_t)(v >> 32));
	put32(w, (uint32_t)v);
}

static void putstr(struct w *w, const char *s)
{
	size_t n = strlen(s);
	put32(w, (uint32_t)n);
	memcpy(w->b + w->n, s, n);
	w->n += n;
	while (w->n & 3)
		w->b[w->n++] = 0;
}

/* Start a length-prefixed unit (sample or record): returns where its
 * length goes; end() fills it. */
static size_t begin(struct w *w, uint32_t tag)
{
	put32(w, tag);
	put32(w, 0);
	return w->n;
}

static void end(struct w *w, size_t at)
{
	uint32_t len = (uint32_t)(w->n - at);
	w->b[at - 4] = (uint8_t)(len >> 24);
	w->b[at - 3] = (uint8_t)(len >> 16);
	w->b[at - 2] = (uint8_t)(len >> 8);
	w->b[at - 1] = (uint8_t)len;
}

static void header(struct w *w, uint32_t nsamples)
{
	w->n = 0;
	put32(w, 5);
	put32(w, 1);
	put32(w, 0x0a000001); /* 10.0.0.1 */
	put32(w, 7);          /* sub-agent */
	put32(w, 42);         /* seq */
	put32(w, 123456);     /* uptime */
	put32(w, nsamples);
}

static void cpu_record(struct w *w, bool old)
{
	size_t r = begin(w, SFLOW_CTR_HOST_CPU);
	put32(w, 0x3f800000); /* 1.0 */
	put32(w, 0x40000000); /* 2.0 */
	put32(w, 0x40400000); /* 3.0 */
	for (uint32_t i = 0; i < 14; i++)
		put32(w, 100 + i);
	if (!old) {
		put32(w, 11);
		put32(w, 12);
		put32(w, 13);
	}
	end(w, r);
}

static void old_cpu_and_long_record(void **state)
{
	struct w w;
	header(&w, 1);
	size_t s = begin(&w, SFLOW_COUNTER_SAMPLE);
	put32(&w, 9);            /* seq */
	put32(&w, 2u << 24 | 1); /* physical entity 1 */
	put32(&w, 2);            /* records */
	cpu_record(&w, true);    /* 68 bytes */
	size_t r = begin(&w, SFLOW_CTR_HOST_MEMORY);
	for (int i = 0; i < 7; i++)
		put64(&w, 1000u * (i + 1));
	for (int i = 0; i < 4; i++)
		put32(&w, 10 + i);
	put32(&w, 0xdeadbeef); /* a field a newer agent added */
	put32(&w, 0xdeadbeef);
	end(&w, r);
	end(&w, s);
	struct got g;
	struct sflow_stats st = {0};
	assert_int_equal(decode(w.b, w.n, &g, &st), 0);
	assert_int_equal(g.n, 1);
	const struct sflow_counters *c = &g.c[0];
	assert_int_equal(c->seq, 9);
	assert_int_equal(c->ds_class, 2);
	assert_int_equal(c->ds_index, 1);
	assert_true(c->has_cpu);
	assert_false(c->cpu.has_steal);
	assert_float_equal(c->cpu.load_five, 2.0, 0);
	assert_int_equal(c->cpu.proc_run, 100);
	assert_int_equal(c->cpu.contexts, 113);
	assert_int_equal(c->cpu.cpu_steal, 0);
	assert_true(c->has_mem);
	assert_int_equal(c->mem.mem_total, 1000);
	assert_int_equal(c->mem.swap_free, 7000);
	assert_int_equal(c->mem.swap_out, 13);
	assert_int_equal(g.h.sub_agent, 7);
	assert_int_equal(g.h.seq, 42);
	assert_int_equal(st.unknown_record, 0);

	/* and the 80-byte one */
	header(&w, 1);
	s = begin(&w, SFLOW_COUNTER_SAMPLE_EXP);
	put32(&w, 10);
	put32(&w, 2);
	put32(&w, 1);
	put32(&w, 1);
	cpu_record(&w, false);
	end(&w, s);
	assert_int_equal(decode(w.b, w.n, &g, &st), 0);
	assert_true(g.c[0].cpu.has_steal);
	assert_int_equal(g.c[0].cpu.cpu_steal, 11);
	assert_int_equal(g.c[0].cpu.cpu_guest_nice, 13);
}

/* A container's sample: host_descr, host_parent, virt_* records. */
static void virtual_node(void **state)
{
	struct w w;
	header(&w, 2);
	size_t s = begin(&w, SFLOW_COUNTER_SAMPLE_EXP);
	put32(&w, 3);
	put32(&w, SFLOW_DS_LOGICAL);
	put32(&w, 77);
	put32(&w, 5);
	size_t r = begin(&w, SFLOW_CTR_HOST_DESCR);
	putstr(&w, "web-1");
	for (int i = 0; i < 4; i++)
		put32(&w, 0x11111111u * (i + 1));
	put32(&w, SFLOW_MT_X86_64);
	put32(&w, SFLOW_OS_LINUX);
	putstr(&w, "");
	end(&w, r);
	r = begin(&w, SFLOW_CTR_HOST_PARENT);
	put32(&w, SFLOW_DS_PHYSICAL);
	put32(&w, 1);
	end(&w, r);
	r = begin(&w, SFLOW_CTR_VIRT_CPU);
	put32(&w, 1);
	put32(&w, 5000);
	put32(&w, 2);
	end(&w, r);
	r = begin(&w, SFLOW_CTR_VIRT_MEMORY);
	put64(&w, 1 << 20);
	put64(&w, 1 << 30);
	end(&w, r);
	r = begin(&w, SFLOW_CTR_VIRT_NET_IO);
	put64(&w, 1234);
	for (int i = 0; i < 3; i++)
		put32(&w, 1);
	put64(&w, 5678);
	for (int i = 0; i < 3; i++)
		put32(&w, 2);
	end(&w, r);
	end(&w, s);
	/* a flow sample: counted, skipped without a flow callback */
	s = begin(&w, SFLOW_FLOW_SAMPLE);
	for (int i = 0; i < 8; i++)
		put32(&w, 0);
	end(&w, s);
	struct got g;
	struct sflow_stats st = {0};
	assert_int_equal(decode(w.b, w.n, &g, &st), 0);
	assert_int_equal(g.n, 1);
	const struct sflow_counters *c = &g.c[0];
	assert_int_equal(c->ds_class, SFLOW_DS_LOGICAL);
	assert_int_equal(c->ds_index, 77);
	assert_string_equal(c->descr.hostname, "web-1");
	assert_string_equal(c->descr.os_release, "");
	assert_true(c->has_parent);
	assert_int_equal(c->parent.ds_class, SFLOW_DS_PHYSICAL);
	assert_int_equal(c->parent.ds_index, 1);
	assert_int_equal(c->vcpu.cpu_time_ms, 5000);
	assert_int_equal(c->vcpu.nr_virt_cpu, 2);
	assert_int_equal(c->vmem.memory, 1 << 20);
	assert_int_equal(c->vmem.max_memory, 1 << 30);
	assert_int_equal(c->vnet.bytes_in, 1234);
	assert_int_equal(c->vnet.bytes_out, 5678);
	assert_int_equal(c->vnet.drops_out, 2);
	assert_int_equal(st.flow_samples, 1);
	assert_int_equal(st.datagrams, 1);

	/* with a flow callback: the flow sample goes to the flow decoder */
	struct sflow_decode_cb cb = {.ctx = &g, .counters = on_counters, .flow = on_flow};
	memset(&g, 0, sizeof g);
	int rr = sflow_decode(w.b, w.n, &cb, &st);
	assert_true(rr == 0 || rr == -EBADMSG);
	assert_int_equal(st.flow_samples, 2);
}

/* Samples and records of other enterprises or unknown formats: skipped
 * and counted, the rest still decoded. */
static void unknown_enterprises(void **state)
{
	struct w w;
	header(&w, 3);
	size_t s = begin(&w, SFLOW_TAG(4413, 5)); /* a vendor's sample */
	put32(&w, 1);
	end(&w, s);
	s = begin(&w, SFLOW_TAG(0, 99)); /* an unknown format */
	end(&w, s);
	s = begin(&w, SFLOW_COUNTER_SAMPLE);
	put32(&w, 1);
	put32(&w, 2u << 24 | 1);
	put32(&w, 3);
	size_t r = begin(&w, SFLOW_TAG(8800, 2003)); /* host_cpu's number, another enterprise */
	put32(&w, 1);
	end(&w, r);
	r = begin(&w, SFLOW_TAG(0, 3000)); /* unknown */
	end(&w, r);
	cpu_record(&w, false);
	end(&w, s);
	struct got g;
	struct sflow_stats st = {0};
	assert_int_equal(decode(w.b, w.n, &g, &st), 0);
	assert_int_equal(st.unknown_sample, 2);
	assert_int_equal(st.unknown_record, 2);
	assert_int_equal(g.n, 1);
	assert_true(g.c[0].has_cpu);
	assert_int_equal(g.c[0].cpu.cpu_steal, 11);
}

static void bad_version_and_address(void **state)
{
	struct w w;
	struct got g;
	struct sflow_stats st = {0};
	header(&w, 0);
	w.b[3] = 4;
	assert_int_equal(decode(w.b, w.n, &g, &st), -EPROTO);
	w.b[3] = 5;
	w.b[7] = 3; /* address type 3 */
	assert_int_equal(decode(w.b, w.n, &g, &st), -EPROTO);
	assert_int_equal(st.bad_version, 2);
	w.b[7] = 1;
	assert_int_equal(decode(w.b, w.n, &g, &st), 0); /* no samples: fine */
	/* IPv6 agent */
	w.n = 0;
	put32(&w, 5);
	put32(&w, 2);
	for (int i = 0; i < 4; i++)
		put32(&w, 0x20010db8u + (uint32_t)i);
	put32(&w, 0);
	put32(&w, 1);
	put32(&w, 2);
	put32(&w, 0);
	assert_int_equal(decode(w.b, w.n, &g, &st), 0);
	assert_int_equal(decode(w.b, 3, &g, &st), -EMSGSIZE);
	assert_int_equal(decode(w.b, 20, &g, &st), -EMSGSIZE);
	assert_int_equal(st.truncated, 2);
}

/* Lying lengths and counts: refused, counted, samples before delivered. */
static void lying_lengths(void **state)
{
	struct w w;
	struct got g;
	struct sflow_stats st = {0};

	/* a sample count the datagram cannot hold */
	header(&w, 1000000);
	assert_int_equal(decode(w.b, w.n, &g, &st), -EBADMSG);
	assert_int_equal(st.truncated, 1);

	/* a good sample, then one whose length runs past the datagram */
	header(&w, 2);
	size_t s = begin(&w, SFLOW_COUNTER_SAMPLE);
	put32(&w, 1);
	put32(&w, 2u << 24 | 1);
	put32(&w, 1);
	cpu_record(&w, false);
	end(&w, s);
	put32(&w, SFLOW_COUNTER_SAMPLE);
	put32(&w, 0x7ffffff0);
	put32(&w, 0);
	assert_int_equal(decode(w.b, w.n, &g, &st), -EBADMSG);
	assert_int_equal(g.n, 1); /* the first was delivered */
	assert_int_equal(st.bad_length, 1);

	/* a record whose length runs past its sample */
	header(&w, 1);
	s = begin(&w, SFLOW_COUNTER_SAMPLE);
	put32(&w, 1);
	put32(&w, 2u << 24 | 1);
	put32(&w, 1);
	size_t r = begin(&w, SFLOW_CTR_HOST_MEMORY);
	put64(&w, 1);
	end(&w, r);
	w.b[r - 1] = 200; /* 200 > the 8 bytes there */
	end(&w, s);
	assert_int_equal(decode(w.b, w.n, &g, &st), -EBADMSG);
	assert_int_equal(st.bad_length, 2);

	/* a known record shorter than its fields: host_cpu of 40 bytes */
	header(&w, 1);
	s = begin(&w, SFLOW_COUNTER_SAMPLE);
	put32(&w, 1);
	put32(&w, 2u << 24 | 1);
	put32(&w, 1);
	r = begin(&w, SFLOW_CTR_HOST_CPU);
	for (int i = 0; i < 10; i++)
		put32(&w, 1);
	end(&w, r);
	end(&w, s);
	assert_int_equal(decode(w.b, w.n, &g, &st), -EBADMSG);
	assert_int_equal(g.n, 0);
	assert_int_equal(st.bad_length, 3);

	/* a hostname longer than 64, and one whose length runs past the record */
	for (int k = 0; k < 2; k++) {
		header(&w, 1);
		s = begin(&w, SFLOW_COUNTER_SAMPLE);
		put32(&w, 1);
		put32(&w, 2u << 24 | 1);
		put32(&w, 1);
		r = begin(&w, SFLOW_CTR_HOST_DESCR);
		if (k == 0) {
			putstr(&w, "a-hostname-of-more-than-sixty-four-characters-is-not-what-"
			           "the-structure-allows");
		} else {
			put32(&w, 60);
			put32(&w, 0x41414141);
		}
		for (int i = 0; i < 6; i++)
			put32(&w, 0);
		end(&w, r);
		end(&w, s);
		assert_int_equal(decode(w.b, w.n, &g, &st), -EBADMSG);
	}
	assert_int_equal(st.bad_length, 5);

	/* an adapter count and a MAC count the record cannot hold */
	for (int k = 0; k < 2; k++) {
		header(&w, 1);
		s = begin(&w, SFLOW_COUNTER_SAMPLE);
		put32(&w, 1);
		put32(&w, 2u << 24 | 1);
		put32(&w, 1);
		r = begin(&w, SFLOW_CTR_HOST_ADAPTERS);
		put32(&w, k ? 1 : 0x40000000);
		put32(&w, 2);
		put32(&w, k ? 0x40000000 : 1);
		put64(&w, 0);
		end(&w, r);
		end(&w, s);
		assert_int_equal(decode(w.b, w.n, &g, &st), -EBADMSG);
	}
	/* a record count the sample cannot hold */
	header(&w, 1);
	s = begin(&w, SFLOW_COUNTER_SAMPLE);
	put32(&w, 1);
	put32(&w, 2u << 24 | 1);
	put32(&w, 1000);
	end(&w, s);
	assert_int_equal(decode(w.b, w.n, &g, &st), -EBADMSG);
	assert_int_equal(st.bad_length, 8);
	/* a sample too short for its own fields */
	header(&w, 1);
	s = begin(&w, SFLOW_COUNTER_SAMPLE_EXP);
	put32(&w, 1);
	end(&w, s);
	assert_int_equal(decode(w.b, w.n, &g, &st), -EBADMSG);
	assert_int_equal(st.bad_length, 9);
	assert_int_equal(st.datagrams, 0);
}

/* A callback's negative return stops the datagram and is returned. */
static int stop_cb(void *ctx, const struct sflow_header *h, const struct sflow_counters *c)
{
	return -ECANCELED;
}

static void callback_stops(void **state)
{
	struct sflow_decode_cb cb = {.counters = stop_cb};
	struct sflow_stats st = {0};
	assert_int_equal(sflow_decode(fx[0].p, fx[0].n, &cb, &st), -ECANCELED);
	assert_int_equal(st.datagrams, 0);
}

/* ---- garbage ----------------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static void random_datagrams(void **state)
{
	struct sflow_stats st = {0};
	static uint8_t b[2048];
	for (int i = 0; i < 3000; i++) {
		size_t n = rnd() % sizeof b;
		for (size_t k = 0; k < n; k++)
			b[k] = (uint8_t)rnd();
		/* half look like sFlow 5 from IPv4, so the samples get read */
		if (i & 1 && n >= 28) {
			memcpy(b, "\0\0\0\5\0\0\0\1", 8);
			b[24] = b[25] = b[26] = 0;
			b[27] = (uint8_t)(rnd() % 4);
		}
		struct got g;
		decode(b, n, &g, &st);
	}
	assert_int_equal(st.datagrams + st.bad_version + st.truncated + st.bad_length, 3000);
}

/* Real datagrams with bytes flipped (lengths and counts among them), cut
 * short, or grown with junk. */
static void mutated_datagrams(void **state)
{
	struct sflow_stats st = {0};
	static uint8_t b[1024];
	for (int i = 0; i < 5000; i++) {
		const struct dgram *d = &fx[rnd() % (unsigned)nfx];
		size_t n = d->n;
		memcpy(b, d->p, n);
		int flips = 1 + (int)(rnd() % 4);
		for (int k = 0; k < flips; k++) {
			size_t at = rnd() % n;
			switch (rnd() % 3) {
			case 0:
				b[at] = (uint8_t)rnd();
				break;
			case 1: /* a length or count's high byte: big lies */
				b[at & ~(size_t)3] = (uint8_t)rnd();
				break;
			default:
				b[at] ^= (uint8_t)(1u << (rnd() % 8));
				break;
			}
		}
		if (rnd() % 4 == 0)
			n = rnd() % n;
		else if (rnd() % 4 == 0) {
			size_t more = rnd() % (sizeof b - n);
			for (size_t k = 0; k < more; k++)
				b[n + k] = (uint8_t)rnd();
			n += more;
		}
		struct got g;
		decode(b, n, &g, &st);
	}
	assert_int_equal(st.datagrams + st.bad_version + st.truncated + st.bad_length, 5000);
	assert_true(st.datagrams > 0);
	assert_true(st.bad_length > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fixture_first),
	    cmocka_unit_test(fixture_all),
	    cmocka_unit_test(fixture_prefixes),
	    cmocka_unit_test(old_cpu_and_long_record),
	    cmocka_unit_test(virtual_node),
	    cmocka_unit_test(unknown_enterprises),
	    cmocka_unit_test(bad_version_and_address),
	    cmocka_unit_test(lying_lengths),
	    cmocka_unit_test(callback_stops),
	    cmocka_unit_test(random_datagrams),
	    cmocka_unit_test(mutated_datagrams),
	};
	return cmocka_run_group_tests(tests, load_fixture, free_fixture);
}
