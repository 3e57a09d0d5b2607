/*
 * topology_input.c - the input of the topology (topology.h): systems,
 * their addresses and sockets, parsed from `connection`, `os` and
 * `interface` record values with the raw scanner (util/jscan.h: no tree,
 * nothing allocated per field, as 20k connections must parse in a few
 * milliseconds), and the deltas between two frames.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../util/jscan.h"
#include "../util/u64set.h"
#include "../util/xalloc.h"
#include "topology.h"

void topo_input_init(struct topo_input *in)
{
	memset(in, 0, sizeof(*in));
}

void topo_input_free(struct topo_input *in)
{
	for (size_t i = 0; i < in->n; i++) {
		struct topo_system *s = &in->sys[i];
		free(s->id);
		free(s->name);
		free(s->kind);
		free(s->image);
		free(s->host);
		free(s->addrs);
		free(s->socks);
	}
	free(in->sys);
	free(in->ct);
	memset(in, 0, sizeof(*in));
}

struct topo_system *topo_add_system(struct topo_input *in, const char *id, const char *name,
                                    const char *kind, const char *image, const char *host)
{
	if (in->n == in->cap) {
		in->cap = in->cap ? in->cap * 2 : 64;
		in->sys = xrealloc(in->sys, in->cap * sizeof(*in->sys));
	}
	struct topo_system *s = &in->sys[in->n++];
	memset(s, 0, sizeof(*s));
	s->id = xstrdup(id ? id : "");
	s->name = xstrdup(name && *name ? name : s->id);
	s->kind = xstrdup(kind && *kind ? kind : "host");
	s->image = image && *image ? xstrdup(image) : NULL;
	s->host = xstrdup(host ? host : "");
	return s;
}

struct topo_system *topo_find_system(struct topo_input *in, const char *id)
{
	for (size_t i = 0; i < in->n; i++)
		if (!strcmp(in->sys[i].id, id))
			return &in->sys[i];
	return NULL;
}

static bool is_loopback(const uint8_t a[16])
{
	static const uint8_t lo6[16] = {[15] = 1};
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
	return !memcmp(a, lo6, 16) || (!memcmp(a, mapped, 12) && a[12] == 127);
}

void topo_add_addr(struct topo_system *s, const uint8_t a[16])
{
	for (size_t i = 0; i < s->naddrs; i++)
		if (!memcmp(s->addrs[i], a, 16))
			return;
	if (s->naddrs == s->caddrs) {
		s->caddrs = s->caddrs ? s->caddrs * 2 : 4;
		s->addrs = xrealloc(s->addrs, s->caddrs * sizeof(*s->addrs));
	}
	memcpy(s->addrs[s->naddrs++], a, 16);
}

bool topo_parse_addr(const char *str, size_t n, uint8_t out[16])
{
	char tmp[64];
	struct in_addr a4;

	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, str, n);
	tmp[n] = 0;
	char *slash = strchr(tmp, '/');
	if (slash)
		*slash = 0;
	if (inet_pton(AF_INET, tmp, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		return true;
	}
	return inet_pton(AF_INET6, tmp, out) == 1;
}

void topo_format_addr(const uint8_t a[16], char *dst, size_t cap)
{
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
	if (!memcmp(a, mapped, 12)) {
		if (!inet_ntop(AF_INET, a + 12, dst, (socklen_t)cap))
			dst[0] = 0;
	} else if (!inet_ntop(AF_INET6, a, dst, (socklen_t)cap)) {
		dst[0] = 0;
	}
}

void topo_add_addr_text(struct topo_system *s, const char *text, size_t n)
{
	uint8_t a[16];
	if (topo_parse_addr(text, n, a) && !is_loopback(a))
		topo_add_addr(s, a);
}

struct topo_sock *topo_add_sock(struct topo_system *s, const struct topo_sock *k)
{
	if (s->nsocks == s->csocks) {
		s->csocks = s->csocks ? s->csocks * 2 : 16;
		s->socks = xrealloc(s->socks, s->csocks * sizeof(*s->socks));
	}
	s->socks[s->nsocks] = *k;
	return &s->socks[s->nsocks++];
}

void topo_add_ct(struct topo_input *in, const struct ct_entry *e)
{
	if (in->nct == in->cct) {
		in->cct = in->cct ? in->cct * 2 : 64;
		in->ct = xrealloc(in->ct, in->cct * sizeof(*in->ct));
	}
	in->ct[in->nct++] = *e;
}

/* ---- record values -------------------------------------------------------- */

static uint64_t span_u64(struct js_span v)
{
	uint64_t x = 0;
	for (size_t i = 0; i < v.n; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return 0;
		x = x * 10 + (uint64_t)(v.p[i] - '0');
	}
	return x;
}

/* Raw string content of v (the fields we read are never escaped). */
static bool span_text(struct js_span v, struct js_span *c)
{
	return js_str(v, c);
}

int topo_parse_connection(const char *json, size_t n, struct topo_sock *out)
{
	struct js_span whole = {json, n}, name, val, c;
	struct js_iter it;
	bool have_l = false, have_r = false, have_proto = false;
	int r;

	memset(out, 0, sizeof(*out));
	if (js_iter_begin(&it, whole, 0) < 0)
		return -EINVAL;
	while ((r = js_obj_next(&it, &name, &val)) == 1) {
		if (name.n < 3)
			continue;
		switch (name.p[0]) {
		case 'p':
			if (js_eq(name, "proto") && span_text(val, &c)) {
				have_proto = true;
				out->udp = js_eq(c, "udp");
			} else if (js_eq(name, "pid")) {
				out->pid = (int32_t)span_u64(val);
			}
			break;
		case 'l':
			if (js_eq(name, "local_addr") && span_text(val, &c))
				have_l = topo_parse_addr(c.p, c.n, out->laddr);
			else if (js_eq(name, "local_port"))
				out->lport = (uint16_t)span_u64(val);
			break;
		case 'r':
			if (js_eq(name, "remote_addr") && span_text(val, &c))
				have_r = topo_parse_addr(c.p, c.n, out->raddr);
			else if (js_eq(name, "remote_port"))
				out->rport = (uint16_t)span_u64(val);
			else if (js_eq(name, "rtt_us"))
				out->rtt_us = (uint32_t)span_u64(val), out->info = 1;
			else if (js_eq(name, "retrans"))
				out->retrans = (uint32_t)span_u64(val);
			break;
		case 's':
			if (js_eq(name, "state") && span_text(val, &c))
				out->state = js_eq(c, "LISTEN")        ? TOPO_LISTEN
				             : js_eq(c, "ESTABLISHED") ? TOPO_ESTABLISHED
				                                       : TOPO_OTHER;
			break;
		case 'i':
			if (js_eq(name, "inode"))
				out->inode = span_u64(val);
			break;
		case 'b':
			if (js_eq(name, "bytes_acked"))
				out->acked = span_u64(val), out->info = 1;
			else if (js_eq(name, "bytes_received"))
				out->received = span_u64(val);
			break;
		case 'c':
			if (js_eq(name, "comm") && span_text(val, &c)) {
				size_t k =
				    c.n < sizeof(out->comm) - 1 ? c.n : sizeof(out->comm) - 1;
				memcpy(out->comm, c.p, k);
				out->comm[k] = 0;
			}
			break;
		}
	}
	if (r < 0)
		return -EINVAL;
	return have_proto && have_l && have_r ? 1 : 0;
}

void topo_parse_addresses(const char *json, size_t n, struct topo_system *s)
{
	struct js_span whole = {json, n}, name, val, el, c;
	struct js_iter it, ai;

	if (js_iter_begin(&it, whole, 0) < 0)
		return;
	while (js_obj_next(&it, &name, &val) == 1) {
		if (!js_eq(name, "ip_addresses") && !js_eq(name, "addresses"))
			continue;
		if (val.n == 0 || val.p[0] != '[' || js_iter_begin(&ai, val, 0) < 0)
			continue;
		while (js_arr_next(&ai, &el) == 1)
			if (span_text(el, &c))
				topo_add_addr_text(s, c.p, c.n);
	}
}

/* ---- deltas between two frames -------------------------------------------- */

void topo_set_prev(struct topo_system *s, const struct topo_sock *prev, size_t nprev,
                   int64_t prev_ms)
{
	struct u64map m; /* inode -> index + 1 in prev */
	double dt = (double)(s->time_ms - prev_ms) / 1000.0;

	if (nprev == 0 || dt <= 0)
		return;
	u64map_init(&m, sizeof(size_t));
	for (size_t i = 0; i < nprev; i++) {
		bool added;
		size_t *v;
		if (!prev[i].inode || !prev[i].info)
			continue;
		v = u64map_put(&m, prev[i].inode, &added);
		if (v)
			*v = i + 1;
	}
	s->prev_ms = prev_ms;
	for (size_t i = 0; i < s->nsocks; i++) {
		struct topo_sock *k = &s->socks[i];
		size_t *v;
		if (!k->inode || !k->info || !(v = u64map_get(&m, k->inode)))
			continue;
		const struct topo_sock *p = &prev[*v - 1];
		if (p->lport != k->lport || p->rport != k->rport ||
		    memcmp(p->raddr, k->raddr, 16) != 0 || p->acked > k->acked ||
		    p->received > k->received || p->retrans > k->retrans)
			continue;
		k->rate = 1;
		k->d_acked = k->acked - p->acked;
		k->d_received = k->received - p->received;
		k->d_retrans = k->retrans - p->retrans;
		k->dt_s = dt;
	}
	u64map_free(&m);
}
