/*
 * Unit tests: sFlow flow samples (frame/sflow_flow.c).  A sampled UDP/IPv4
 * frame and its socket go into a datagram and come back whole; IPv6 and
 * 802.1Q headers parse to addresses and ports; an expanded sample and
 * unknown records decode; truncated, lying and random input is refused or
 * parsed within bounds (each copied into an exact-size heap block, so ASan
 * catches a read past its end).
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

#define HDR_V4 28 /* an IPv4 agent's datagram header */

static struct sflow_dgram *dgram(size_t mtu)
{
	/* set up as sflow_dgram_init does: the header's bytes come first */
	struct sflow_dgram *d = calloc(1, sizeof(*d));
	assert_non_null(d);
	d->agent.af = 1;
	d->mtu = mtu;
	d->len = HDR_V4;
	return d;
}

static int decode(const uint8_t *p, size_t n, bool expanded, struct sflow_flow *f,
                  struct sflow_stats *st)
{
	uint8_t *c = malloc(n ? n : 1);
	assert_non_null(c);
	memcpy(c, p, n);
	int r = sflow_decode_flow_sample(c, n, expanded, f, st);
	free(c);
	return r;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* An Ethernet + IPv4 + UDP frame 10.1.2.3:5000 -> 10.9.8.7:53, `vlan`
 * adds an 802.1Q tag. */
static size_t udp4_frame(uint8_t *b, bool vlan)
{
	memset(b, 0, 64);
	size_t o = 12;
	if (vlan) {
		b[o] = 0x81;
		b[o + 1] = 0x00;
		b[o + 3] = 42;
		o += 4;
	}
	b[o] = 0x08;
	b[o + 1] = 0x00;
	o += 2;
	uint8_t *ip = b + o;
	ip[0] = 0x45;
	ip[9] = 17;
	memcpy(ip + 12, (uint8_t[]){10, 1, 2, 3}, 4);
	memcpy(ip + 16, (uint8_t[]){10, 9, 8, 7}, 4);
	uint8_t *udp = ip + 20;
	udp[0] = 5000 >> 8;
	udp[1] = 5000 & 0xFF;
	udp[3] = 53;
	return o + 28;
}

static void test_round_trip(void **state)
{
	struct sflow_dgram *d = dgram(1400);
	struct sflow_flow f = {0};
	f.seq = 7;
	f.ds_class = 0;
	f.ds_index = 1234;
	f.sampling_rate = 100;
	f.sample_pool = 7000;
	f.drops = 3;
	f.input = 5;
	f.output = 0x3FFFFFFF;
	f.has_header = true;
	f.header_protocol = 1;
	f.frame_length = 1042;
	f.header_len = (uint32_t)udp4_frame(f.header, false);
	f.has_socket = true;
	f.sock_af = 1;
	f.sock_proto = 17;
	memcpy(f.local, (uint8_t[]){10, 1, 2, 3}, 4);
	memcpy(f.remote, (uint8_t[]){10, 9, 8, 7}, 4);
	f.local_port = 5000;
	f.remote_port = 53;
	assert_int_equal(sflow_dgram_add_flow(d, &f), 0);
	assert_int_equal(d->nsamples, 1);
	/* tag, length, then the sample's data */
	const uint8_t *s = d->buf + HDR_V4;
	assert_int_equal(s[3], 1);
	uint32_t len = (uint32_t)s[4] << 24 | (uint32_t)s[5] << 16 | (uint32_t)s[6] << 8 | s[7];
	assert_int_equal(len + 8 + HDR_V4, d->len);
	assert_int_equal(len % 4, 0);

	struct sflow_flow g;
	struct sflow_stats st = {0};
	assert_int_equal(decode(s + 8, len, false, &g, &st), 0);
	assert_int_equal(g.seq, 7);
	assert_int_equal(g.ds_index, 1234);
	assert_int_equal(g.sampling_rate, 100);
	assert_int_equal(g.sample_pool, 7000);
	assert_int_equal(g.drops, 3);
	assert_int_equal(g.input, 5);
	assert_int_equal(g.output, 0x3FFFFFFF);
	assert_true(g.has_header);
	assert_int_equal(g.frame_length, 1042);
	assert_int_equal(g.header_len, f.header_len);
	assert_memory_equal(g.header, f.header, f.header_len);
	assert_true(g.has_ip);
	assert_int_equal(g.af, 1);
	assert_memory_equal(g.src, ((uint8_t[]){10, 1, 2, 3}), 4);
	assert_memory_equal(g.dst, ((uint8_t[]){10, 9, 8, 7}), 4);
	assert_int_equal(g.proto, 17);
	assert_int_equal(g.sport, 5000);
	assert_int_equal(g.dport, 53);
	assert_true(g.has_socket);
	assert_int_equal(g.sock_af, 1);
	assert_int_equal(g.sock_proto, 17);
	assert_memory_equal(g.local, f.local, 16);
	assert_memory_equal(g.remote, f.remote, 16);
	assert_int_equal(g.local_port, 5000);
	assert_int_equal(g.remote_port, 53);
	assert_int_equal(st.bad_length + st.unknown_record, 0);

	/* an IPv6 socket */
	f.sock_af = 2;
	memset(f.local, 0xfe, 16);
	memset(f.remote, 0x20, 16);
	size_t before = d->len;
	assert_int_equal(sflow_dgram_add_flow(d, &f), 0);
	assert_int_equal(decode(d->buf + before + 8, d->len - before - 8, false, &g, &st), 0);
	assert_int_equal(g.sock_af, 2);
	assert_memory_equal(g.local, f.local, 16);
	assert_memory_equal(g.remote, f.remote, 16);
	free(d);
}

static void test_mtu(void **state)
{
	struct sflow_dgram *d = dgram(300);
	struct sflow_flow f = {0};
	f.has_header = true;
	f.header_len = 128;
	int n = 0;
	int r;
	while ((r = sflow_dgram_add_flow(d, &f)) == 0)
		n++;
	assert_int_equal(r, -EMSGSIZE);
	assert_int_equal(n, 1); /* 28 + 8 + 32 + 8 + 144 = 220; two do not fit */
	assert_true(d->len <= 300);
	struct sflow_dgram *small = dgram(100);
	assert_int_equal(sflow_dgram_add_flow(small, &f), -E2BIG);
	assert_int_equal(small->len, HDR_V4);
	free(small);
	free(d);
}

static void test_parse_vlan_v6(void **state)
{
	struct sflow_flow f = {0};
	f.has_header = true;
	f.header_protocol = 1;
	f.header_len = (uint32_t)udp4_frame(f.header, true);
	assert_true(sflow_parse_header(&f));
	assert_int_equal(f.sport, 5000);
	assert_int_equal(f.dport, 53);

	/* IPv6 + hop-by-hop + TCP 443 -> 51000 */
	memset(f.header, 0, sizeof(f.header));
	uint8_t *b = f.header;
	b[12] = 0x86;
	b[13] = 0xDD;
	uint8_t *ip = b + 14;
	ip[0] = 0x60;
	ip[6] = 0; /* hop-by-hop */
	ip[8] = 0x20;
	ip[23] = 1;
	ip[24] = 0x20;
	ip[39] = 2;
	uint8_t *hbh = ip + 40;
	hbh[0] = 6; /* then TCP */
	hbh[1] = 0; /* 8 bytes */
	uint8_t *tcp = hbh + 8;
	tcp[0] = 443 >> 8;
	tcp[1] = 443 & 0xFF;
	tcp[2] = 51000 >> 8;
	tcp[3] = 51000 & 0xFF;
	f.header_len = 14 + 40 + 8 + 20;
	assert_true(sflow_parse_header(&f));
	assert_int_equal(f.af, 2);
	assert_int_equal(f.proto, 6);
	assert_int_equal(f.sport, 443);
	assert_int_equal(f.dport, 51000);
	assert_int_equal(f.src[15], 1);
	assert_int_equal(f.dst[15], 2);

	/* ARP: no IP */
	b[12] = 0x08;
	b[13] = 0x06;
	assert_false(sflow_parse_header(&f));
	assert_false(f.has_ip);
	/* cut inside the IPv4 header */
	f.header_len = (uint32_t)udp4_frame(f.header, false);
	f.header_len = 14 + 10;
	assert_false(sflow_parse_header(&f));
	/* cut inside UDP: addresses, no ports */
	f.header_len = 14 + 20 + 2;
	assert_true(sflow_parse_header(&f));
	assert_int_equal(f.sport, 0);
}

/* An expanded sample (0:3) with an unknown record before sampled_ipv4. */
static void test_expanded_unknown(void **state)
{
	uint8_t b[256] = {0};
	size_t o = 0;
	uint32_t fixed[11] = {9, 0, 77, 1000, 50000, 0, 0, 3, 0, 4, 2};
	for (int i = 0; i < 11; i++, o += 4)
		put32(b + o, fixed[i]);
	put32(b + o, SFLOW_TAG(9, 1)); /* enterprise 9: unknown */
	put32(b + o + 4, 6);           /* odd length: padded to 8 */
	o += 8 + 8;
	put32(b + o, SFLOW_TAG(0, SFLOW_FLOW_IPV4));
	put32(b + o + 4, 32);
	o += 8;
	uint32_t v4[8] = {1500, 6, 0x0A000001, 0x0A000002, 80, 40000, 0, 0};
	for (int i = 0; i < 8; i++, o += 4)
		put32(b + o, v4[i]);
	struct sflow_flow f;
	struct sflow_stats st = {0};
	assert_int_equal(decode(b, o, true, &f, &st), 0);
	assert_int_equal(st.unknown_record, 1);
	assert_int_equal(f.ds_index, 77);
	assert_int_equal(f.sampling_rate, 1000);
	assert_int_equal(f.input, 3);
	assert_int_equal(f.output, 4);
	assert_true(f.has_ip);
	assert_int_equal(f.frame_length, 1500);
	assert_int_equal(f.src[3], 1);
	assert_int_equal(f.dport, 40000);

	/* a record length past the sample */
	put32(b + 44 + 8 + 8 + 4, 200);
	memset(&st, 0, sizeof(st));
	assert_int_equal(decode(b, o, true, &f, &st), -EBADMSG);
	assert_int_equal(st.bad_length, 1);
	/* a lying record count */
	put32(b + 40, 0x7FFFFFFF);
	assert_int_equal(decode(b, o, true, &f, &st), -EBADMSG);
	/* too short for the fixed part */
	assert_int_equal(decode(b, 20, true, &f, &st), -EBADMSG);
}

static void test_garbage(void **state)
{
	/* a good sample cut at every length, then random bytes */
	struct sflow_dgram *d = dgram(1400);
	struct sflow_flow f = {0};
	f.has_header = true;
	f.header_protocol = 1;
	f.header_len = (uint32_t)udp4_frame(f.header, false);
	f.has_socket = true;
	assert_int_equal(sflow_dgram_add_flow(d, &f), 0);
	size_t n = d->len - HDR_V4 - 8;
	struct sflow_flow g;
	struct sflow_stats st = {0};
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(decode(d->buf + HDR_V4 + 8, cut, false, &g, &st), -EBADMSG);
	assert_int_equal(decode(d->buf + HDR_V4 + 8, n, false, &g, &st), 0);
	/* a header length that lies */
	put32(d->buf + HDR_V4 + 8 + 32 + 8 + 12, 4000);
	assert_int_equal(decode(d->buf + HDR_V4 + 8, n, false, &g, &st), -EBADMSG);

	uint32_t seed = 12345;
	uint8_t r[512];
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)(seed % sizeof(r));
		for (size_t k = 0; k < len; k++) {
			seed = seed * 1103515245 + 12345;
			r[k] = (uint8_t)(seed >> 16);
		}
		/* small record counts now and then, so records get read */
		if (len >= 44 && i % 3 == 0)
			put32(r + 40, i % 5);
		if (len >= 32 && i % 3 == 1)
			put32(r + 28, i % 5);
		int e = decode(r, len, i & 1, &g, &st);
		assert_true(e == 0 || e == -EBADMSG);
		memset(&g, 0, sizeof(g));
		g.has_header = true;
		g.header_len = (uint32_t)(len < SFLOW_HEADER_MAX ? len : SFLOW_HEADER_MAX);
		memcpy(g.header, r, g.header_len);
		if (len > 14) {
			g.header[12] = (i & 1) ? 0x86 : 0x08;
			g.header[13] = (i & 1) ? 0xDD : 0x00;
			g.header[14] = (i & 1) ? 0x60 : 0x45;
		}
		(void)sflow_parse_header(&g);
	}
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),    cmocka_unit_test(test_mtu),
	    cmocka_unit_test(test_parse_vlan_v6), cmocka_unit_test(test_expanded_unknown),
	    cmocka_unit_test(test_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
