/* Unit tests: edge resolution of the topology (analytics/topology_graph.c)
 * on synthetic systems and sockets: direction from the listening socket,
 * loopback only inside one namespace, shared namespaces from shared
 * inodes, DNAT through conntrack and without it, external nodes, rates
 * from two frames, grouping, record parsing and the conntrack parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <errno.h>

#include "analytics/topology.h"
#include "analytics/topology_load.h"
#include "linux/conntrack_parse.h"

static uint64_t next_inode = 100;

static void a16(const char *t, uint8_t out[16])
{
	assert_true(topo_parse_addr(t, strlen(t), out));
}

static struct topo_sock *listen_on(struct topo_system *s, const char *addr, uint16_t port)
{
	struct topo_sock k = {.lport = port, .state = TOPO_LISTEN, .inode = next_inode++};
	a16(addr, k.laddr);
	a16("0.0.0.0", k.raddr);
	snprintf(k.comm, sizeof(k.comm), "srv");
	return topo_add_sock(s, &k);
}

static struct topo_sock *est(struct topo_system *s, const char *la, uint16_t lp, const char *ra,
                             uint16_t rp, uint64_t inode)
{
	struct topo_sock k = {.lport = lp, .rport = rp, .state = TOPO_ESTABLISHED, .inode = inode};
	a16(la, k.laddr);
	a16(ra, k.raddr);
	return topo_add_sock(s, &k);
}

static struct topo_system *sys(struct topo_input *in, const char *id, const char *addr)
{
	struct topo_system *s = topo_add_system(in, id, id, "container", NULL, "h1");
	if (addr)
		topo_add_addr_text(s, addr, strlen(addr));
	return s;
}

/* The edges as "from>to:port n" lines (sorted by the JSON output). */
static char *edges_of(const struct topo_graph *g)
{
	static char out[4096];
	size_t n = 0;
	out[0] = 0;
	for (size_t i = 0; i < g->nedges; i++) {
		const struct topo_edge *e = &g->edges[i];
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s%s:%u %u;",
		                      g->nodes[e->from].id, e->directed ? ">" : "-",
		                      g->nodes[e->to].id, e->port, e->conns);
	}
	return out;
}

/* A -> B on 10.0.0.3:80 with both ends crawled: one edge, one connection,
 * from the client (which has no listener) to the server. */
static void direction_from_listener(void **state)
{
	struct topo_input in;
	struct topo_graph g;
	topo_input_init(&in);
	struct topo_system *a = sys(&in, "a", "10.0.0.2"), *b = sys(&in, "b", "10.0.0.3");
	/* the client's port is the lower one: no port heuristic may win */
	est(a, "10.0.0.2", 22, "10.0.0.3", 40000, next_inode++);
	listen_on(b, "0.0.0.0", 40000);
	est(b, "10.0.0.3", 40000, "10.0.0.2", 22, next_inode++);
	assert_int_equal(topo_build(&in, TOPO_GROUP_NONE, &g), 0);
	assert_string_equal(edges_of(&g), "a>b:40000 1;");
	assert_int_equal(g.nconns, 1);
	topo_graph_free(&g);
	topo_input_free(&in);
}

/* Two namespaces each with a client on 127.0.0.1:7000 to their own
 * listener: each gets a loop, never an edge to the other, even when the
 * client ports are equal. */
static void loopback_stays_in_namespace(void **state)
{
	struct topo_input in;
	struct topo_graph g;
	topo_input_init(&in);
	struct topo_system *a = sys(&in, "a", NULL), *b = sys(&in, "b", NULL);
	for (int i = 0; i < 2; i++) {
		struct topo_system *s = i ? b : a;
		listen_on(s, "127.0.0.1", 7000);
		est(s, "127.0.0.1", 50000, "127.0.0.1", 7000, next_inode++);
		est(s, "127.0.0.1", 7000, "127.0.0.1", 50000, next_inode++);
	}
	assert_int_equal(topo_build(&in, TOPO_GROUP_NONE, &g), 0);
	assert_string_equal(edges_of(&g), "a>a:7000 1;b>b:7000 1;");
	topo_graph_free(&g);
	topo_input_free(&in);
}

/* A container on the host's network reports some of the host's sockets
 * (same inodes): one namespace, its loopback connection to the host's
 * listener joins them, and the shared socket counts once (the
 * container's). */
static void shared_namespace_from_inodes(void **state)
{
	struct topo_input in;
	struct topo_graph g;
	topo_input_init(&in);
	struct topo_system *h = topo_add_system(&in, "host:1", "h1", "host", NULL, "h1");
	struct topo_system *c = sys(&in, "c", NULL);
	listen_on(h, "127.0.0.1", 5432);
	est(h, "127.0.0.1", 5432, "127.0.0.1", 41000, 900);
	est(h, "127.0.0.1", 41000, "127.0.0.1", 5432, 901);
	est(c, "127.0.0.1", 41000, "127.0.0.1", 5432, 901); /* the same socket */
	assert_int_equal(topo_build(&in, TOPO_GROUP_NONE, &g), 0);
	assert_string_equal(edges_of(&g), "c>host:1:5432 1;");
	topo_graph_free(&g);
	topo_input_free(&in);
}

/* Client 10.88.0.2 -> host 192.0.2.2:8080, DNAT'ed and SNAT'ed to
 * 10.88.0.5:80 (the server sees 10.88.0.1:61000): conntrack joins them. */
static void published_port_through_conntrack(void **state)
{
	struct topo_input in;
	struct topo_graph g;
	topo_input_init(&in);
	struct topo_system *h = topo_add_system(&in, "host:1", "h1", "host", NULL, "h1");
	topo_add_addr_text(h, "192.0.2.2", 9);
	topo_add_addr_text(h, "10.88.0.1", 9);
	struct topo_system *c = sys(&in, "client", "10.88.0.2"),
	                   *s = sys(&in, "server", "10.88.0.5");
	est(c, "10.88.0.2", 43210, "192.0.2.2", 8080, next_inode++);
	listen_on(s, "0.0.0.0", 80);
	est(s, "10.88.0.5", 80, "10.88.0.1", 61000, next_inode++);
	const char *line =
	    "ipv4     2 tcp      6 431999 ESTABLISHED src=10.88.0.2 dst=192.0.2.2 "
	    "sport=43210 dport=8080 src=10.88.0.5 dst=10.88.0.1 sport=80 dport=61000 "
	    "[ASSURED] mark=0 use=2";
	struct ct_entry e;
	assert_int_equal(ct_parse_line(line, strlen(line), &e), 1);
	topo_add_ct(&in, &e);
	assert_int_equal(topo_build(&in, TOPO_GROUP_NONE, &g), 0);
	assert_string_equal(edges_of(&g), "client>server:80 1;");
	topo_graph_free(&g);
	/* without conntrack: the client's edge goes to the host's port, the
	 * server's comes from the host's bridge address */
	in.nct = 0;
	assert_int_equal(topo_build(&in, TOPO_GROUP_NONE, &g), 0);
	assert_string_equal(edges_of(&g), "client>host:1:8080 1;host:1>server:80 1;");
	topo_graph_free(&g);
	topo_input_free(&in);
}

/* DNAT without SNAT: the server sees the client's own end; no conntrack
 * needed. */
static void dnat_without_snat(void **state)
{
	struct topo_input in;
	struct topo_graph g;
	topo_input_init(&in);
	struct topo_system *c = sys(&in, "client", "10.1.0.2"), *s = sys(&in, "server", "10.1.0.5");
	est(c, "10.1.0.2", 43000, "10.96.0.10", 443, next_inode++);
	listen_on(s, "::", 8443);
	est(s, "10.1.0.5", 8443, "10.1.0.2", 43000, next_inode++);
	assert_int_equal(topo_build(&in, TOPO_GROUP_NONE, &g), 0);
	assert_string_equal(edges_of(&g), "client>server:8443 1;");
	topo_graph_free(&g);
	topo_input_free(&in);
}

/* Unknown remote ends: external nodes by /24, inbound and outbound,
 * counted per edge. */
static void external_nodes(void **state)
{
	struct topo_input in;
	struct topo_graph g;
	topo_input_init(&in);
	struct topo_system *a = sys(&in, "a", "10.0.0.2");
	listen_on(a, "0.0.0.0", 443);
	est(a, "10.0.0.2", 443, "203.0.113.7", 50001, next_inode++);
	est(a, "10.0.0.2", 443, "203.0.113.9", 50002, next_inode++);
	est(a, "10.0.0.2", 40000, "198.51.100.1", 5432, next_inode++);
	assert_int_equal(topo_build(&in, TOPO_GROUP_NONE, &g), 0);
	assert_string_equal(edges_of(&g),
	                    "external:203.0.113.0/24>a:443 2;a>external:198.51.100.0/24:5432 1;");
	assert_int_equal(g.nunresolved, 3);
	topo_graph_free(&g);
	topo_input_free(&in);
}

/* Rates: the client's counters between two frames 2 s apart. */
static void rates_from_two_frames(void **state)
{
	struct topo_input in;
	struct topo_graph g;
	topo_input_init(&in);
	struct topo_system *a = sys(&in, "a", "10.0.0.2"), *b = sys(&in, "b", "10.0.0.3");
	struct topo_sock *c = est(a, "10.0.0.2", 40000, "10.0.0.3", 80, 777);
	c->info = 1;
	c->acked = 30000;
	c->received = 5000;
	c->retrans = 3;
	c->rtt_us = 2000;
	listen_on(b, "0.0.0.0", 80);
	a->time_ms = 12000;
	struct topo_sock prev = *c;
	prev.acked = 10000;
	prev.received = 1000;
	prev.retrans = 1;
	topo_set_prev(a, &prev, 1, 10000);
	assert_int_equal(topo_build(&in, TOPO_GROUP_NONE, &g), 0);
	assert_string_equal(edges_of(&g), "a>b:80 1;");
	assert_int_equal(g.edges[0].rated, 1);
	assert_true(g.edges[0].to_server_bps == 10000.0);
	assert_true(g.edges[0].to_client_bps == 2000.0);
	assert_int_equal(g.edges[0].retrans, 2);
	assert_true(g.edges[0].rtt_sum_us / g.edges[0].rtt_n == 2000.0);
	topo_graph_free(&g);
	/* a socket with another inode earlier is a new connection: no rate */
	prev.inode = 778;
	c->rate = 0;
	topo_set_prev(a, &prev, 1, 10000);
	assert_int_equal(topo_build(&in, TOPO_GROUP_NONE, &g), 0);
	assert_int_equal(g.edges[0].rated, 0);
	topo_graph_free(&g);
	topo_input_free(&in);
}

/* Neither end listens (the listener closed): an undirected edge. */
static void undirected_without_listener(void **state)
{
	struct topo_input in;
	struct topo_graph g;
	topo_input_init(&in);
	struct topo_system *a = sys(&in, "a", "10.0.0.2"), *b = sys(&in, "b", "10.0.0.3");
	est(a, "10.0.0.2", 40000, "10.0.0.3", 80, next_inode++);
	est(b, "10.0.0.3", 80, "10.0.0.2", 40000, next_inode++);
	assert_int_equal(topo_build(&in, TOPO_GROUP_NONE, &g), 0);
	assert_string_equal(edges_of(&g), "a-b:0 1;");
	topo_graph_free(&g);
	topo_input_free(&in);
}

/* --group-by image: containers of one image fold into one node. */
static void group_by_image(void **state)
{
	struct topo_input in;
	struct topo_graph g;
	topo_input_init(&in);
	struct topo_system *w1 = topo_add_system(&in, "w1", "w1", "container", "web", "h1");
	struct topo_system *w2 = topo_add_system(&in, "w2", "w2", "container", "web", "h1");
	struct topo_system *d = topo_add_system(&in, "d", "d", "container", "db", "h1");
	topo_add_addr_text(d, "10.0.0.9", 8);
	listen_on(d, "0.0.0.0", 5432);
	est(w1, "10.0.0.2", 40000, "10.0.0.9", 5432, next_inode++);
	est(w2, "10.0.0.3", 40000, "10.0.0.9", 5432, next_inode++);
	assert_int_equal(topo_build(&in, TOPO_GROUP_IMAGE, &g), 0);
	assert_string_equal(edges_of(&g), "image/web>image/db:5432 2;");
	assert_int_equal(g.nnodes, 2);
	topo_graph_free(&g);
	topo_input_free(&in);
}

/* Record values parse; garbage does not crash. */
static void parse_records(void **state)
{
	const char *v =
	    "{\"proto\":\"tcp\",\"family\":\"ipv4\",\"local_addr\":\"10.0.0.2\","
	    "\"local_port\":41000,\"remote_addr\":\"10.0.0.3\",\"remote_port\":80,"
	    "\"state\":\"ESTABLISHED\",\"inode\":123,\"uid\":0,\"pid\":7,\"comm\":\"curl\","
	    "\"bytes_acked\":500,\"bytes_received\":900,\"rtt_us\":150,\"retrans\":2}";
	struct topo_sock k;
	assert_int_equal(topo_parse_connection(v, strlen(v), &k), 1);
	assert_int_equal(k.lport, 41000);
	assert_int_equal(k.rport, 80);
	assert_int_equal(k.state, TOPO_ESTABLISHED);
	assert_int_equal(k.inode, 123);
	assert_int_equal(k.acked, 500);
	assert_int_equal(k.received, 900);
	assert_int_equal(k.rtt_us, 150);
	assert_int_equal(k.retrans, 2);
	assert_true(k.info);
	assert_string_equal(k.comm, "curl");
	assert_int_equal(topo_parse_connection("{\"x\":1}", 7, &k), 0);
	assert_true(topo_parse_connection("{\"proto\":", 9, &k) < 0);
	for (size_t n = 0; n < strlen(v); n++) /* every cut of the text */
		(void)topo_parse_connection(v, n, &k);

	struct topo_input in;
	topo_input_init(&in);
	struct topo_system *s = sys(&in, "s", NULL);
	const char *os =
	    "{\"hostname\":\"x\",\"ip_addresses\":[\"10.0.0.2\",\"fe80::1\",\"127.0.0.1\"]}";
	topo_parse_addresses(os, strlen(os), s);
	assert_int_equal(s->naddrs, 2); /* loopback left out */
	topo_input_free(&in);

	/* frames as crawl writes them */
	const char *fr =
	    "{\"system\":\"c1\",\"time\":\"2026-01-01T00:00:00.000Z\",\"feature\":\"frame\","
	    "\"key\":\"c1\",\"value\":{\"id\":\"c1\",\"name\":\"one\",\"kind\":\"container\","
	    "\"host\":\"h\",\"time\":\"2026-01-01T00:00:00.000Z\"}}\n"
	    "{\"system\":\"c1\",\"time\":\"2026-01-01T00:00:00.000Z\",\"feature\":\"connection\","
	    "\"key\":\"k\",\"value\":"
	    "{\"proto\":\"tcp\",\"local_addr\":\"0.0.0.0\",\"local_port\":80,"
	    "\"remote_addr\":\"0.0.0.0\",\"remote_port\":0,\"state\":\"LISTEN\"}}\n";
	char err[128];
	topo_input_init(&in);
	assert_int_equal(topo_load_frames(fr, strlen(fr), &in, err, sizeof(err)), 0);
	assert_int_equal(in.n, 1);
	assert_string_equal(in.sys[0].name, "one");
	assert_int_equal(in.sys[0].nsocks, 1);
	assert_true(in.sys[0].time_ms > 0);
	topo_input_free(&in);
	topo_input_init(&in);
	assert_int_equal(topo_load_frames("not json\n", 9, &in, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 1 is not a record");
	topo_input_free(&in);
}

static void conntrack_lines(void **state)
{
	struct ct_entry e;
	const char *udp =
	    "ipv4 2 udp 17 29 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=53 src=10.0.0.2 "
	    "dst=10.0.0.1 sport=53 dport=1";
	const char *bad = "ipv4 2 tcp 6 29 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=99999 "
	                  "dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1";
	const char *v6 =
	    "ipv6 10 tcp 6 300 ESTABLISHED src=fd00::2 dst=fd00::3 sport=5000 dport=80 "
	    "src=fd00::3 dst=fd00::2 sport=80 dport=5000 [ASSURED]";
	assert_int_equal(ct_parse_line(udp, strlen(udp), &e), 0);
	assert_int_equal(ct_parse_line(bad, strlen(bad), &e), 0);
	assert_int_equal(ct_parse_line(v6, strlen(v6), &e), 1);
	assert_int_equal(e.odport, 80);
	assert_int_equal(e.rsport, 80);
	for (size_t n = 0; n < strlen(v6); n++)
		(void)ct_parse_line(v6, n, &e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(direction_from_listener),
	    cmocka_unit_test(loopback_stays_in_namespace),
	    cmocka_unit_test(shared_namespace_from_inodes),
	    cmocka_unit_test(published_port_through_conntrack),
	    cmocka_unit_test(dnat_without_snat),
	    cmocka_unit_test(external_nodes),
	    cmocka_unit_test(rates_from_two_frames),
	    cmocka_unit_test(undirected_without_listener),
	    cmocka_unit_test(group_by_image),
	    cmocka_unit_test(parse_records),
	    cmocka_unit_test(conntrack_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
