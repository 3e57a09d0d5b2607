/*
 * fuzz_sflow.c - sFlow v5 datagrams as the collector receives them: the
 * whole input is one UDP payload given to sflow_decode()
 * (src/frame/sflow_decode.c, flow samples through sflow_flow.c), whose
 * counter samples go to sflow_systems_counters() (src/engine/sflow_systems.c)
 * writing frames into a memory sink, as the collector's thread does.
 *
 * Checked: every line the systems write is a JSON object (the frames go to
 * the store as they are); a decoded flow sample's header length is within
 * SFLOW_HEADER_MAX and its address families are 1 or 2; a decoded counter
 * sample, encoded again by our own sink's encoder and decoded, gives the
 * same data source and hostname (the encoder takes what the decoder gives).
 *
 * Seeds (fuzz/corpus/sflow/): the 63 datagrams hsflowd 2.0 sent in
 * tests/sflow/hsflowd-host-1s.pcap (hsflowd-NN) and datagrams of our own
 * sFlow sink's encoder (ours-*: a host, a container, flow samples).
 */
#include "fuzz.h"

#include "engine/sflow_systems.h"
#include "frame/sflow.h"
#include "frame/sink.h"
#include "util/jscan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a sink keeping each frame's bytes in memory, checking its lines ---- */

struct memsink {
	struct sink base;
	char *buf;
	size_t len, cap;
};

static int mem_write(struct sink *s, const void *data, size_t len)
{
	struct memsink *m = (struct memsink *)s;
	if (m->len + len + 1 > m->cap) {
		size_t cap = (m->len + len + 1) * 2;
		char *nb = realloc(m->buf, cap);
		if (!nb)
			return -12;
		m->buf = nb;
		m->cap = cap;
	}
	memcpy(m->buf + m->len, data, len);
	m->len += len;
	return 0;
}

static int mem_end(struct sink *s, const struct frame_summary *sum)
{
	struct memsink *m = (struct memsink *)s;
	/* each line one JSON object */
	size_t at = 0;
	while (at < m->len) {
		const char *nl = memchr(m->buf + at, '\n', m->len - at);
		size_t n = nl ? (size_t)(nl - (m->buf + at)) : m->len - at;
		const char *line = m->buf + at, *end = line + n;
		const char *after = n && line[0] == '{' ? js_skip(line, end, 0) : NULL;
		if (!after || js_ws(after, end) != end)
			__builtin_trap();
		at += n + 1;
	}
	m->len = 0;
	return 0;
}

static void mem_close(struct sink *s) {}

static const struct sink_ops mem_ops = {
    .name = "memory", .write = mem_write, .end_frame = mem_end, .close = mem_close};

/* ---- the decoder's callbacks ------------------------------------------- */

struct ctx {
	struct sflow_systems *sys;
	int64_t now_ms;
	unsigned counters, flows;
};

static int same_source(void *arg, const struct sflow_header *h, const struct sflow_counters *c)
{
	const struct sflow_counters *want = arg;
	/* the compact format (0:2) carries 8 bits of class, 24 of index; an
	 * expanded sample (0:4) may have had more */
	if (c->ds_class != (want->ds_class & 0xFF) || c->ds_index != (want->ds_index & 0xFFFFFF) ||
	    c->has_descr != want->has_descr)
		__builtin_trap();
	if (c->has_descr && strcmp(c->descr.hostname, want->descr.hostname) != 0)
		__builtin_trap();
	return 0;
}

/* Our sink's encoder on what the decoder gave, and back. */
static void reencode(const struct sflow_header *h, const struct sflow_counters *c)
{
	static struct sflow_dgram d; /* 64 KiB: not on the stack */
	sflow_dgram_init(&d, &h->agent, h->sub_agent, SFLOW_DGRAM_MAX);
	d.seq = h->seq;
	if (sflow_dgram_add_counters(&d, c) != 0)
		return; /* a record the encoder cannot hold: too big is its answer */
	sflow_dgram_finish(&d);
	struct sflow_stats st = {0};
	const struct sflow_decode_cb cb = {.ctx = (void *)c, .counters = same_source};
	if (sflow_decode(d.buf, d.len, &cb, &st) != 0 || st.counter_samples != 1)
		__builtin_trap();
}

static int on_counters(void *arg, const struct sflow_header *h, const struct sflow_counters *c)
{
	struct ctx *x = arg;
	if (h->agent.af != 1 && h->agent.af != 2)
		__builtin_trap();
	if (c->descr.hostname[sizeof(c->descr.hostname) - 1] != '\0' ||
	    c->descr.os_release[sizeof(c->descr.os_release) - 1] != '\0' ||
	    c->adapters.n > SFLOW_MAX_ADAPTERS)
		__builtin_trap();
	sflow_systems_counters(x->sys, h, c, x->now_ms);
	x->now_ms += 1000;
	const char *id = sflow_systems_last_id(x->sys);
	if (id && !*id)
		__builtin_trap();
	if (x->counters++ < 4)
		reencode(h, c);
	return 0;
}

static int on_flow(void *arg, const struct sflow_header *h, const struct sflow_flow *f)
{
	struct ctx *x = arg;
	x->flows++;
	if (f->has_header && f->header_len > SFLOW_HEADER_MAX)
		__builtin_trap();
	char a[64], b[64];
	if (f->has_ip) {
		if (f->af != 1 && f->af != 2)
			__builtin_trap();
		sflow_addr_str(f->af, f->src, a, sizeof(a));
		sflow_addr_str(f->af, f->dst, b, sizeof(b));
	}
	if (f->has_socket) {
		sflow_addr_str(f->sock_af, f->local, a, sizeof(a));
		sflow_addr_str(f->sock_af, f->remote, b, sizeof(b));
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct memsink m = {.base = {.ops = &mem_ops}};
	snprintf(m.base.desc, sizeof(m.base.desc), "memory");
	struct ctx x = {.sys = sflow_systems_new(&m.base), .now_ms = 1700000000000};
	const struct sflow_decode_cb cb = {.ctx = &x, .counters = on_counters, .flow = on_flow};
	struct sflow_stats st = {0};

	/* the datagram twice: the second time its samples are stale (same
	 * sequence numbers), a second source's state path */
	int r = sflow_decode(data, size, &cb, &st);
	if (r == 0 && st.datagrams != 1)
		__builtin_trap();
	if (r != 0 && st.bad_version + st.truncated + st.bad_length == 0)
		__builtin_trap();
	sflow_decode(data, size, &cb, &st);

	struct sflow_systems_stats ss;
	sflow_systems_stats(x.sys, &ss);
	if (ss.sources > SFLOW_MAX_SOURCES)
		__builtin_trap();
	sflow_systems_free(x.sys);
	free(m.buf);
	return 0;
}
