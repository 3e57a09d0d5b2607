/*
 * Unit tests: the flow recorder (engine/flow_record.c) over a real store
 * (SQLite, or VANTAGE_TEST_STORE_URL): flow samples attributed by the
 * systems' stored addresses and by data source, written in batches, and
 * the top talkers (store_flows_top) scaled by the sampling rate and the
 * window; bad groups refused; retention after an hour; the flows on the
 * topology's edges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "analytics/topology.h"
#include "engine/addr_map.h"
#include "engine/flow_record.h"
#include "store/store.h"
#include "tmpstore.h"
#include "util/buf.h"
#include "util/timefmt.h"

#define T0 1699999200000LL

static char url[600];

static int setup(void **state)
{
	tmpstore_setup(state);
	tmpstore_url(url, sizeof(url));
	return 0;
}

/* A frame of system `sid` (kind `kind`) with an os record of `addrs`. */
static void put_system(struct store *s, const char *sid, const char *kind, int64_t t,
                       const char *addrs)
{
	char iso[64];
	struct buf b = {0};
	format_time_utc(t * 1000000, iso, sizeof(iso));
	buf_printf(&b,
	           "{\"system\":\"%s\",\"time\":\"%s\",\"feature\":\"frame\",\"key\":\"%s\","
	           "\"value\":{\"id\":\"%s\",\"name\":\"%s\",\"kind\":\"%s\",\"host\":\"box\","
	           "\"time\":\"%s\",\"features\":[\"os\"],\"duration_ms\":1,\"records\":1,"
	           "\"errors\":{}}}\n",
	           sid, iso, sid, sid, sid, kind, iso);
	buf_printf(&b,
	           "{\"system\":\"%s\",\"time\":\"%s\",\"feature\":\"os\",\"key\":\"linux\","
	           "\"value\":{\"hostname\":\"%s\",\"ip_addresses\":[%s]}}\n",
	           sid, iso, sid, addrs);
	int r = store_put_frame(s, b.data, b.len, NULL);
	if (r < 0)
		fprintf(stderr, "put_frame: %s\n", store_errmsg(s));
	assert_int_equal(r, 0);
	buf_free(&b);
}

static struct sflow_header agent(void)
{
	struct sflow_header h = {0};
	h.agent.af = 1;
	memcpy(h.agent.a, (uint8_t[]){192, 0, 2, 1}, 4);
	return h;
}

static struct sflow_flow udp(const uint8_t src[4], const uint8_t dst[4], uint32_t len,
                             uint32_t rate)
{
	struct sflow_flow f = {0};
	f.has_ip = true;
	f.af = 1;
	memcpy(f.src, src, 4);
	memcpy(f.dst, dst, 4);
	f.proto = 17;
	f.sport = 4000;
	f.dport = 5000;
	f.frame_length = len;
	f.sampling_rate = rate;
	f.ds_index = 7;
	return f;
}

struct tops {
	int n;
	char key[8][2][64];
	double bps[8], pps[8];
	uint64_t samples[8];
};

static int top_cb(void *ctx, const struct store_flow_top *t)
{
	struct tops *o = ctx;
	if (o->n == 8)
		return 0;
	for (int i = 0; i < t->nkey && i < 2; i++)
		snprintf(o->key[o->n][i], 64, "%s", t->key[i] ? t->key[i] : "-");
	o->bps[o->n] = t->bytes_per_s;
	o->pps[o->n] = t->packets_per_s;
	o->samples[o->n] = t->samples;
	o->n++;
	return 0;
}

static const uint8_t A[4] = {10, 88, 0, 2}, B[4] = {10, 88, 0, 3}, X[4] = {198, 51, 100, 9},
                     Y[4] = {203, 0, 113, 5}, Z[4] = {192, 0, 2, 77};

static void test_record_and_top(void **state)
{
	struct store *s;
	assert_int_equal(store_open(url, STORE_RW, &s), 0);
	put_system(s, "container:a", "container", T0, "\"10.88.0.2/16\"");
	put_system(s, "container:b", "container", T0, "\"10.88.0.3\",\"fe80::1\"");

	/* nothing stored yet: no rows, no error */
	struct tops o = {0};
	assert_int_equal(store_flows_top(s, T0, T0 + 10000, "src_system", 0, top_cb, &o), 0);
	assert_int_equal(o.n, 0);

	struct flow_recorder *r = flow_recorder_new(s);
	struct sflow_header h = agent();
	flow_recorder_source(r, &h, 7, "container:b", T0);
	/* 10 s: A -> B 100 samples of 1000 bytes at 1 in 100 (10 kB/s x 100),
	 * X -> B 10 samples (unknown source), Y -> Z 20 with a socket of the
	 * data source (B) whose local end is Z, then a sample with no IP */
	for (int i = 0; i < 100; i++) {
		struct sflow_flow f = udp(A, B, 1000, 100);
		assert_int_equal(flow_recorder_add(r, &h, &f, T0 + i * 100), 0);
	}
	for (int i = 0; i < 10; i++) {
		struct sflow_flow f = udp(X, B, 500, 100);
		assert_int_equal(flow_recorder_add(r, &h, &f, T0 + 9000 + i), 0);
	}
	/* Y -> Z, with a socket: the local end (Z) is the data source's */
	for (int i = 0; i < 20; i++) {
		struct sflow_flow f = udp(Y, Z, 200, 10);
		f.has_socket = true;
		f.sock_af = 1;
		memcpy(f.local, Z, 4);
		memcpy(f.remote, Y, 4);
		assert_int_equal(flow_recorder_add(r, &h, &f, T0 + 9100 + i), 0);
	}
	struct sflow_flow none = {0};
	assert_int_equal(flow_recorder_add(r, &h, &none, T0 + 9200), 0);
	assert_int_equal(flow_recorder_flush(r, T0 + 9300), 0);
	struct flow_recorder_stats st;
	flow_recorder_stats(r, &st);
	assert_int_equal(st.samples, 131);
	assert_int_equal(st.no_ip, 1);
	assert_int_equal(st.stored, 130);
	assert_int_equal(st.dropped, 0);
	flow_recorder_free(r);

	memset(&o, 0, sizeof(o));
	assert_int_equal(store_flows_top(s, T0, T0 + 10000, "src_system,dst_system", 0, top_cb, &o),
	                 0);
	assert_int_equal(o.n, 2);
	assert_string_equal(o.key[0][0], "container:a");
	assert_string_equal(o.key[0][1], "container:b");
	assert_true(o.bps[0] > 999999.0 && o.bps[0] < 1000001.0); /* 100 x 1000 x 100 / 10 s */
	assert_true(o.pps[0] > 999.9 && o.pps[0] < 1000.1);
	assert_int_equal(o.samples[0], 100);
	/* X -> B (10 x 500 x 100) and Y -> Z (Z learnt as container:b; 20 x
	 * 200 x 10), over 10 s */
	assert_string_equal(o.key[1][0], "-");
	assert_string_equal(o.key[1][1], "container:b");
	assert_true(o.bps[1] > 53999.0 && o.bps[1] < 54001.0);
	assert_int_equal(o.samples[1], 30);

	/* by address and port, limited */
	memset(&o, 0, sizeof(o));
	assert_int_equal(store_flows_top(s, T0, T0 + 10000, "src,dport", 1, top_cb, &o), 0);
	assert_int_equal(o.n, 1);
	assert_string_equal(o.key[0][0], "10.88.0.2");
	assert_string_equal(o.key[0][1], "5000");
	/* no group: the total */
	memset(&o, 0, sizeof(o));
	assert_int_equal(store_flows_top(s, T0, T0 + 10000, "", 0, top_cb, &o), 0);
	assert_int_equal(o.n, 1);
	assert_int_equal(o.samples[0], 130);
	/* bad groups and windows */
	assert_int_equal(store_flows_top(s, T0, T0 + 10000, "src;drop", 0, top_cb, &o), -EINVAL);
	assert_int_equal(store_flows_top(s, T0, T0 + 10000, "src,src", 0, top_cb, &o), -EINVAL);
	assert_int_equal(store_flows_top(s, T0, T0, "src", 0, top_cb, &o), -EINVAL);

	/* an hour later, maintain deletes them */
	assert_int_equal(store_maintain(s, T0 + 3600000 + 20000), 0);
	memset(&o, 0, sizeof(o));
	assert_int_equal(store_flows_top(s, T0, T0 + 10000, "", 0, top_cb, &o), 0);
	assert_int_equal(o.n, 0);
	store_close(s);
}

static void test_addr_map(void **state)
{
	struct addr_map m = {0};
	uint8_t k[16];
	addr_map_key(1, A, k);
	addr_map_add(&m, k, "a");
	addr_map_key(1, B, k);
	addr_map_add(&m, k, "b");
	addr_map_add(&m, k, "c"); /* B twice: ambiguous */
	addr_map_key(1, X, k);
	addr_map_add(&m, k, "x");
	addr_map_add(&m, k, "x"); /* the same owner twice: still x */
	addr_map_sort(&m);
	assert_string_equal(addr_map_find(&m, 1, A), "a");
	assert_null(addr_map_find(&m, 1, B));
	assert_string_equal(addr_map_find(&m, 1, X), "x");
	assert_null(addr_map_find(&m, 1, Y));
	addr_map_free(&m);
}

/* The topology's edges: a -> b (b listens on 80) gets the flows a -> b
 * (to the server) and b -> a (to the client); an edge without flows and
 * a graph over a store without flows have no "flow" field. */
static void test_topology_flows(void **state)
{
	struct store *s;
	assert_int_equal(store_open(url, STORE_RW, &s), 0);
	struct topo_input in;
	struct topo_graph g;
	topo_input_init(&in);
	struct topo_system *a = topo_add_system(&in, "a", "a", "container", NULL, "h1");
	struct topo_system *b = topo_add_system(&in, "b", "b", "container", NULL, "h1");
	struct topo_system *c = topo_add_system(&in, "c", "c", "container", NULL, "h1");
	topo_add_addr_text(a, "10.0.0.2", 8);
	topo_add_addr_text(b, "10.0.0.3", 8);
	topo_add_addr_text(c, "10.0.0.4", 8);
	struct topo_sock k = {.lport = 80, .state = TOPO_LISTEN, .inode = 1};
	assert_true(topo_parse_addr("0.0.0.0", 7, k.laddr));
	assert_true(topo_parse_addr("0.0.0.0", 7, k.raddr));
	topo_add_sock(b, &k);
	struct topo_sock e1 = {.lport = 40000, .rport = 80, .state = TOPO_ESTABLISHED, .inode = 2};
	assert_true(topo_parse_addr("10.0.0.2", 8, e1.laddr));
	assert_true(topo_parse_addr("10.0.0.3", 8, e1.raddr));
	topo_add_sock(a, &e1);
	struct topo_sock e2 = {.lport = 80, .rport = 40000, .state = TOPO_ESTABLISHED, .inode = 3};
	assert_true(topo_parse_addr("10.0.0.3", 8, e2.laddr));
	assert_true(topo_parse_addr("10.0.0.2", 8, e2.raddr));
	topo_add_sock(b, &e2);
	struct topo_sock e3 = {.lport = 40001, .rport = 80, .state = TOPO_ESTABLISHED, .inode = 4};
	assert_true(topo_parse_addr("10.0.0.4", 8, e3.laddr));
	assert_true(topo_parse_addr("10.0.0.3", 8, e3.raddr));
	topo_add_sock(c, &e3);
	assert_int_equal(topo_build(&in, TOPO_GROUP_NONE, &g), 0);
	assert_int_equal(g.nedges, 2);

	/* no flows stored: the answer is unchanged */
	assert_int_equal(topo_add_flows(&g, &in, s, T0 + 60000), 0);
	struct buf out = {0};
	topo_json(&g, &out);
	assert_null(strstr(buf_str(&out), "\"flow\""));
	buf_free(&out);

	struct store_flow f[3] = {
	    {.time_ms = T0 + 1000,
	     .src_system = "a",
	     .dst_system = "b",
	     .src = "10.0.0.2",
	     .dst = "10.0.0.3",
	     .proto = 6,
	     .frame_length = 1500,
	     .sampling_rate = 1000},
	    {.time_ms = T0 + 2000,
	     .src_system = "a",
	     .dst_system = "b",
	     .src = "10.0.0.2",
	     .dst = "10.0.0.3",
	     .proto = 6,
	     .frame_length = 1500,
	     .sampling_rate = 1000},
	    {.time_ms = T0 + 3000,
	     .src_system = "b",
	     .dst_system = "a",
	     .src = "10.0.0.3",
	     .dst = "10.0.0.2",
	     .proto = 6,
	     .frame_length = 60,
	     .sampling_rate = 1000},
	};
	assert_int_equal(store_put_flows(s, f, 3), 0);
	assert_int_equal(topo_add_flows(&g, &in, s, T0 + 60000), 0);
	int with = 0;
	for (size_t i = 0; i < g.nedges; i++) {
		const struct topo_edge *e = &g.edges[i];
		if (!e->has_flow)
			continue;
		with++;
		assert_string_equal(g.nodes[e->from].id, "a");
		assert_string_equal(g.nodes[e->to].id, "b");
		assert_true(e->flow_to_server_bps > 49999.0 && e->flow_to_server_bps < 50001.0);
		assert_true(e->flow_to_client_bps > 999.0 && e->flow_to_client_bps < 1001.0);
		assert_true(e->flow_to_server_pps > 33.3 && e->flow_to_server_pps < 33.4);
	}
	assert_int_equal(with, 1);
	topo_json(&g, &out);
	assert_non_null(strstr(buf_str(&out), "\"flow\":{\"to_server_bytes_per_s\":50000"));
	buf_free(&out);
	topo_graph_free(&g);
	topo_input_free(&in);
	store_close(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_record_and_top, setup, tmpstore_teardown),
	    cmocka_unit_test(test_addr_map),
	    cmocka_unit_test_setup_teardown(test_topology_flows, setup, tmpstore_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
