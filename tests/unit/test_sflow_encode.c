/*
 * Unit tests: the sFlow v5 encoder (frame/sflow_encode.c, sflow_xdr.h).
 *
 * The golden bytes are records of the first datagram a real Host sFlow
 * agent (hsflowd 2.x) sent in ../shared/fixtures/sflow/hsflowd-host-1s.pcap:
 * the same values encoded by us must give the very same bytes, record by
 * record.  A hand-written sample checks the sample header, host_parent and
 * the virt_* records.  Then MTU splitting and the size errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "frame/sflow.h"
#include "frame/sflow_xdr.h"

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = 0;
	for (; h[0] && h[1] && n < cap; h += 2) {
		char b[3] = {h[0], h[1], 0};
		out[n++] = (uint8_t)strtoul(b, NULL, 16);
	}
	return n;
}

/* The records of hsflowd's first datagram (tag, length, data). */
static const char *const golden[] = {
    /* 2001 host_adapters */
    "000007d10000001400000001000000040000000102fc000000010000",
    /* 2005 host_disk_io */
    "000007d5000000340000003efe39d00000000013640d100000001b09000096a8"
    "0000000057d7b400000052fa0000cdfc00000000a860e0000001afd7",
    /* 2004 host_memory */
    "000007d40000004800000005e2919000000000050dd060000000000000000000"
    "000000000263100000000000b73d300000000000000000000000000000000000"
    "0015f5ed002a18380000000000000000",
    /* 2003 host_cpu */
    "000007d300000050403eb8523fb333333f0f5c29000000080000008300000002"
    "00000830000001bb00034602000000000001ceb2000843320000203000000000"
    "00000d980005d3bc000eec8f000000000000000000000000",
    /* 2006 host_net_io */
    "000007d600000028000000000000000000000000000000000000000000000000"
    "00000000000000000000000000000000",
    /* 2000 host_descr */
    "000007d00000003400000002766d00006571e19b6571519ba571e19b6571e19b"
    "00000003000000020000000f362e31382e34342d66632d7637363900",
};

/* hsflowd's datagram header: agent 192.0.2.2, sub-agent 100001, seq 1,
 * uptime 1800 ms, 1 sample. */
static const char golden_header[] = "0000000500000001c0000202000186a1000000010000070800000001";

static void host_sample(struct sflow_counters *c)
{
	static const uint8_t uuid[16] = {0x65, 0x71, 0xe1, 0x9b, 0x65, 0x71, 0x51, 0x9b,
	                                 0xa5, 0x71, 0xe1, 0x9b, 0x65, 0x71, 0xe1, 0x9b};
	memset(c, 0, sizeof(*c));
	c->seq = 1;
	c->ds_class = SFLOW_DS_PHYSICAL;
	c->ds_index = 1;
	c->has_descr = c->has_adapters = c->has_cpu = c->has_mem = c->has_disk = c->has_net = true;
	strcpy(c->descr.hostname, "vm");
	memcpy(c->descr.uuid, uuid, 16);
	c->descr.machine_type = SFLOW_MT_X86_64;
	c->descr.os_name = SFLOW_OS_LINUX;
	strcpy(c->descr.os_release, "6.18.44-fc-v769");
	c->adapters.n = 1;
	c->adapters.a[0] =
	    (struct sflow_adapter){.ifindex = 4, .nmacs = 1, .mac = {0x02, 0xfc, 0, 0, 0, 0x01}};
	c->cpu = (struct sflow_host_cpu){
	    .load_one = 2.98f,
	    .load_five = 1.4f,
	    .load_fifteen = 0.56f,
	    .proc_run = 8,
	    .proc_total = 131,
	    .cpu_num = 2,
	    .cpu_speed_mhz = 2096,
	    .uptime_s = 443,
	    .cpu_user = 214530,
	    .cpu_system = 118450,
	    .cpu_idle = 541490,
	    .cpu_wio = 8240,
	    .cpu_sintr = 3480,
	    .interrupts = 381884,
	    .contexts = 978063,
	};
	c->mem = (struct sflow_host_memory){
	    .mem_total = 25276026880ull,
	    .mem_free = 21706596352ull,
	    .mem_buffers = 40046592,
	    .mem_cached = 3074240512ull,
	    .page_in = 1439213,
	    .page_out = 2758712,
	};
	c->disk = (struct sflow_host_disk_io){
	    .disk_total = 270553174016ull,
	    .disk_free = 83282956288ull,
	    .part_max_used = 6921,
	    .reads = 38568,
	    .bytes_read = 1473754112,
	    .read_time = 21242,
	    .writes = 52732,
	    .bytes_written = 2824921088ull,
	    .write_time = 110551,
	};
}

static void agent_v4(struct sflow_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->af = 1;
	a->a[0] = 192;
	a->a[1] = 0;
	a->a[2] = 2;
	a->a[3] = 2;
}

static void test_golden_hsflowd(void **state)
{
	static struct sflow_dgram d;
	struct sflow_addr agent;
	struct sflow_counters c;
	uint8_t want[512];

	agent_v4(&agent);
	host_sample(&c);
	sflow_dgram_init(&d, &agent, 100001, SFLOW_MTU_DEFAULT);
	assert_int_equal(d.len, 28);
	assert_int_equal(sflow_dgram_add_counters(&d, &c), 0);
	d.seq = 1;
	d.uptime_ms = 1800;
	sflow_dgram_finish(&d);
	size_t n = unhex(golden_header, want, sizeof(want));
	assert_int_equal(n, 28);
	assert_memory_equal(d.buf, want, 28);
	/* every record of the agent's is in ours, byte for byte */
	for (size_t i = 0; i < sizeof(golden) / sizeof(golden[0]); i++) {
		n = unhex(golden[i], want, sizeof(want));
		assert_non_null(memmem(d.buf + 28, d.len - 28, want, n));
	}
	/* sample: tag 0:2, length, seq, source_id (2 << 24 | 1), 6 records */
	uint8_t head[20];
	n = unhex("00000002000000000000000102000001"
	          "00000006",
	          head, sizeof(head));
	uint32_t slen = (uint32_t)(d.len - 28 - 8);
	head[4] = (uint8_t)(slen >> 24);
	head[5] = (uint8_t)(slen >> 16);
	head[6] = (uint8_t)(slen >> 8);
	head[7] = (uint8_t)slen;
	assert_memory_equal(d.buf + 28, head, n);
	/* the records' sizes add up: 28 + 8 + 12 + 60 + 28 + 88 + 80 + 60 + 48 */
	assert_int_equal(d.len, 28 + 20 + 60 + 28 + 88 + 80 + 60 + 48);
}

static void test_virtual_sample(void **state)
{
	static struct sflow_dgram d;
	struct sflow_addr agent;
	struct sflow_counters c;
	memset(&c, 0, sizeof(c));
	memset(&agent, 0, sizeof(agent));
	agent.af = 2; /* ::1 */
	agent.a[15] = 1;
	c.seq = 7;
	c.ds_class = SFLOW_DS_LOGICAL;
	c.ds_index = 0x123456;
	c.has_parent = c.has_vcpu = c.has_vmem = c.has_vdisk = c.has_vnet = true;
	c.parent = (struct sflow_host_parent){.ds_class = 2, .ds_index = 1};
	c.vcpu = (struct sflow_virt_cpu){.state = 1, .cpu_time_ms = 0x01020304, .nr_virt_cpu = 2};
	c.vmem = (struct sflow_virt_memory){.memory = 0x100000000ull, .max_memory = 5};
	c.vdisk = (struct sflow_virt_disk_io){.capacity = 1,
	                                      .allocation = 2,
	                                      .available = 3,
	                                      .rd_req = 4,
	                                      .rd_bytes = 5,
	                                      .wr_req = 6,
	                                      .wr_bytes = 7,
	                                      .errs = 8};
	c.vnet = (struct sflow_net_io){.bytes_in = 0xAABBCCDDEEull,
	                               .pkts_in = 1,
	                               .errs_in = 2,
	                               .drops_in = 3,
	                               .bytes_out = 4,
	                               .pkts_out = 5,
	                               .errs_out = 6,
	                               .drops_out = 7};
	sflow_dgram_init(&d, &agent, 3, 1400);
	assert_int_equal(d.len, 40);
	assert_int_equal(sflow_dgram_add_counters(&d, &c), 0);
	d.seq = 0x10;
	d.uptime_ms = 0x20;
	sflow_dgram_finish(&d);
	static const char want_hex[] =
	    /* header: version, af 2, ::1, sub-agent 3, seq, uptime, 1 sample */
	    "00000005"
	    "00000002"
	    "00000000000000000000000000000001"
	    "00000003"
	    "00000010"
	    "00000020"
	    "00000001"
	    /* counter sample, 12 + 16 + 20 + 24 + 60 + 48 = 180 bytes */
	    "00000002"
	    "000000b4"
	    "00000007"
	    "03123456"
	    "00000005"
	    /* host_parent */
	    "000007d2"
	    "00000008"
	    "00000002"
	    "00000001"
	    /* virt_cpu */
	    "00000835"
	    "0000000c"
	    "00000001"
	    "01020304"
	    "00000002"
	    /* virt_memory */
	    "00000836"
	    "00000010"
	    "0000000100000000"
	    "0000000000000005"
	    /* virt_disk_io */
	    "00000837"
	    "00000034"
	    "0000000000000001"
	    "0000000000000002"
	    "0000000000000003"
	    "00000004"
	    "0000000000000005"
	    "00000006"
	    "0000000000000007"
	    "00000008"
	    /* virt_net_io */
	    "00000838"
	    "00000028"
	    "000000aabbccddee"
	    "00000001"
	    "00000002"
	    "00000003"
	    "0000000000000004"
	    "00000005"
	    "00000006"
	    "00000007";
	uint8_t want[512];
	size_t n = unhex(want_hex, want, sizeof(want));
	assert_int_equal(d.len, n);
	assert_memory_equal(d.buf, want, n);
}

static void test_mtu_split(void **state)
{
	static struct sflow_dgram d;
	struct sflow_addr agent;
	struct sflow_counters c;
	agent_v4(&agent);
	host_sample(&c); /* 384 bytes a sample */
	sflow_dgram_init(&d, &agent, 0, 1000);
	assert_int_equal(sflow_dgram_add_counters(&d, &c), 0);
	assert_int_equal(sflow_dgram_add_counters(&d, &c), 0);
	size_t len = d.len;
	uint8_t before[1000];
	memcpy(before, d.buf, len);
	/* a third does not fit: -EMSGSIZE, the datagram unchanged */
	assert_int_equal(sflow_dgram_add_counters(&d, &c), -EMSGSIZE);
	assert_int_equal(d.len, len);
	assert_int_equal(d.nsamples, 2);
	assert_memory_equal(d.buf, before, len);
	assert_true(d.len <= d.mtu);
	/* the next datagram takes it */
	sflow_dgram_reset(&d);
	assert_int_equal(d.nsamples, 0);
	assert_int_equal(d.len, 28);
	assert_int_equal(sflow_dgram_add_counters(&d, &c), 0);
	/* exactly the MTU fits */
	sflow_dgram_init(&d, &agent, 0, len);
	assert_int_equal(sflow_dgram_add_counters(&d, &c), 0);
	assert_int_equal(sflow_dgram_add_counters(&d, &c), 0);
	assert_int_equal(d.len, d.mtu);
	/* one that would not fit even alone: -E2BIG */
	sflow_dgram_init(&d, &agent, 0, 300);
	assert_int_equal(sflow_dgram_add_counters(&d, &c), -E2BIG);
	assert_int_equal(d.len, 28);
	assert_int_equal(d.nsamples, 0);
	/* out-of-range MTUs fall back */
	sflow_dgram_init(&d, &agent, 0, 10);
	assert_int_equal(d.mtu, SFLOW_MTU_DEFAULT);
	sflow_dgram_init(&d, &agent, 0, 100000);
	assert_int_equal(d.mtu, SFLOW_DGRAM_MAX);
}

static void test_xdr_bounds(void **state)
{
	uint8_t b[12];
	char s5[64] = "abcde", s8[64] = "abcdefgh";
	struct xdr x;
	xdr_init(&x, b, sizeof(b), 0);
	xdr_string(&x, s5, 64); /* 4 + 8 */
	assert_false(x.err);
	assert_int_equal(x.len, 12);
	assert_memory_equal(b, "\0\0\0\5abcde\0\0\0", 12);
	xdr_u32(&x, 1);
	assert_true(x.err);
	assert_int_equal(x.len, 12);
	/* a string longer than its bound is cut there */
	xdr_init(&x, b, sizeof(b), 0);
	xdr_string(&x, s8, 3);
	assert_int_equal(x.len, 8);
	assert_memory_equal(b, "\0\0\0\3abc\0", 8);
	/* counting */
	xdr_init(&x, NULL, 0, 0);
	xdr_u64(&x, 1);
	xdr_opaque(&x, "x", 1);
	xdr_float(&x, 1.0f);
	assert_int_equal(x.len, 8 + 8 + 4);
	assert_false(x.err);
	/* a u64 at the edge does not write half of itself */
	xdr_init(&x, b, sizeof(b), 8);
	xdr_u64(&x, ~0ull);
	assert_true(x.err);
	assert_int_equal(x.len, 8);
}

static void test_ds_index_addr(void **state)
{
	assert_int_equal(sflow_ds_index("host:3d1219c7c4c5404aaa1f6d2a48adfda4"), 1);
	assert_int_equal(sflow_ds_index(NULL), 1);
	assert_int_equal(sflow_ds_index(""), 1);
	uint32_t a = sflow_ds_index("container:podman:0123abcd");
	uint32_t b = sflow_ds_index("container:podman:0123abce");
	assert_true(a >= 2 && a <= 0xFFFFFF);
	assert_true(b >= 2 && b <= 0xFFFFFF);
	assert_int_not_equal(a, b);
	assert_int_equal(a, sflow_ds_index("container:podman:0123abcd"));
	/* FNV-1a 32 of "vm:x" is 0x84eb6f2e: 2 + that mod 0xFFFFFE */
	assert_int_equal(sflow_ds_index("vm:x"), 2 + 0x84eb6f2eu % 0xFFFFFEu);

	char s[64];
	uint8_t v4[16] = {192, 0, 2, 2}, v6[16] = {0xfe, 0x80};
	v6[15] = 1;
	assert_string_equal(sflow_addr_str(1, v4, s, sizeof(s)), "192.0.2.2");
	assert_string_equal(sflow_addr_str(2, v6, s, sizeof(s)), "fe80::1");
	assert_string_equal(sflow_addr_str(9, v6, s, sizeof(s)), "?af9");
	assert_string_equal(sflow_addr_str(1, v4, s, 4), "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_golden_hsflowd), cmocka_unit_test(test_virtual_sample),
	    cmocka_unit_test(test_mtu_split),      cmocka_unit_test(test_xdr_bounds),
	    cmocka_unit_test(test_ds_index_addr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
