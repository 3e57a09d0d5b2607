/*
 * topology.h - who talks to whom: systems joined by their TCP connections,
 * with traffic on the edges (docs/topology.md).
 *
 * Input (struct topo_input): the systems, each with its addresses and its
 * sockets (the `connection` records of one frame) and, per socket, the
 * deltas of the kernel's tcp_info counters since an earlier frame; and,
 * optionally, the host's conntrack table.  It is filled from the store
 * (topology_store.c), from frames `vantage crawl` wrote (topology_load.c)
 * or by hand (the unit tests).
 *
 * Resolution (topology_graph.c), for every established TCP socket:
 *   - the systems that share a network namespace are those that report
 *     the same socket inode (on one host): a container on the host's
 *     network sees part of the host's sockets; loopback addresses only
 *     join sockets of one namespace;
 *   - the peer socket is the one whose local end is this one's remote end
 *     and the other way round; failing that (a DNAT'ed published port)
 *     the conntrack entry of the connection names the peer's real ends;
 *     failing that, a server socket whose remote end is this socket's
 *     local end (DNAT without SNAT);
 *   - the server is the side whose namespace has a LISTEN socket on its
 *     local address and port, never a guess from port numbers; a socket
 *     whose port nobody listens on is the side that connected;
 *   - a remote end that is no known system's address becomes an external
 *     node, grouped by /24 (IPv4) or /64 (IPv6).
 * Each connection is counted once (its two sockets are one connection).
 *
 * Ownership: the input owns its strings and arrays (topo_input_free); a
 * graph owns its own (topo_graph_free).
 */
#ifndef VANTAGE_TOPOLOGY_H
#define VANTAGE_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../linux/conntrack_parse.h"
#include "../util/buf.h"

enum topo_state { TOPO_OTHER, TOPO_LISTEN, TOPO_ESTABLISHED };

/* A socket of a system.  Addresses are IPv6 or IPv4-mapped IPv6. */
struct topo_sock {
	uint8_t laddr[16], raddr[16];
	uint16_t lport, rport;
	uint8_t state; /* enum topo_state */
	uint8_t udp;
	uint8_t info; /* acked..retrans known */
	uint8_t rate; /* d_* known: the socket was in the earlier frame */
	uint64_t inode;
	uint64_t acked, received; /* bytes sent (acknowledged), received */
	uint32_t rtt_us, retrans;
	uint64_t d_acked, d_received; /* since the earlier frame */
	uint32_t d_retrans;
	double dt_s; /* seconds between the two frames */
	int32_t pid; /* 0: unknown */
	char comm[16];
};

struct topo_system {
	char *id, *name, *kind, *image, *host; /* image may be NULL */
	int64_t time_ms;                       /* of the connection records */
	int64_t prev_ms;                       /* of the earlier ones, 0: none */
	uint8_t (*addrs)[16];                  /* its non-loopback addresses */
	size_t naddrs, caddrs;
	struct topo_sock *socks;
	size_t nsocks, csocks;
};

struct topo_input {
	struct topo_system *sys;
	size_t n, cap;
	struct ct_entry *ct; /* the host's conntrack table (live only) */
	size_t nct, cct;
	int64_t at_ms; /* the time asked for; 0: now */
};

void topo_input_init(struct topo_input *in);
void topo_input_free(struct topo_input *in);
/* A new system (strings copied; image may be NULL). */
struct topo_system *topo_add_system(struct topo_input *in, const char *id, const char *name,
                                    const char *kind, const char *image, const char *host);
struct topo_system *topo_find_system(struct topo_input *in, const char *id);
void topo_add_addr(struct topo_system *s, const uint8_t a[16]);
/* Add an address given as text ("10.0.0.2", "fd00::2", "10.0.0.2/24");
 * loopback and unparsable ones are ignored. */
void topo_add_addr_text(struct topo_system *s, const char *text, size_t n);
struct topo_sock *topo_add_sock(struct topo_system *s, const struct topo_sock *k);
void topo_add_ct(struct topo_input *in, const struct ct_entry *e);

/*
 * Set each socket's deltas (rate, d_*, dt_s) from the sockets of an
 * earlier frame of the same system taken at prev_ms: a socket is the same
 * when its inode and both ends are.  Counters that went down are no rate.
 */
void topo_set_prev(struct topo_system *s, const struct topo_sock *prev, size_t nprev,
                   int64_t prev_ms);

/* Text address to the 16-byte form; false when it is not one. */
bool topo_parse_addr(const char *s, size_t n, uint8_t out[16]);
/* The 16-byte form as text (IPv4-mapped ones as a.b.c.d). */
void topo_format_addr(const uint8_t a[16], char *dst, size_t cap);

/*
 * Parse one `connection` record's value (JSON text, n bytes) into *out.
 * 1: a TCP or UDP socket; 0: not one (a record without the fields);
 * -EINVAL: not JSON.
 */
int topo_parse_connection(const char *json, size_t n, struct topo_sock *out);
/* The addresses of an `os` record's value (its ip_addresses) or an
 * `interface` record's (its addresses) into s. */
void topo_parse_addresses(const char *json, size_t n, struct topo_system *s);

/* ---- the graph ------------------------------------------------------------ */

enum topo_group { TOPO_GROUP_NONE, TOPO_GROUP_HOST, TOPO_GROUP_IMAGE };

struct topo_listen {
	uint8_t addr[16];
	uint16_t port;
	uint8_t udp;
	char comm[16];
};

struct topo_node {
	char *id, *name, *kind; /* kind: host, container, vm, image, external */
	char *image, *host;     /* NULL when unknown or mixed */
	size_t nsystems;        /* systems merged into it (0 for external) */
	struct topo_listen *listen;
	size_t nlisten, clisten;
	uint8_t (*addrs)[16]; /* external nodes: the addresses met (at most 16) */
	size_t naddrs, caddrs;
};

struct topo_edge {
	size_t from, to; /* node indexes: client -> server */
	uint16_t port;   /* the server's port (0 when not directed) */
	bool directed;   /* false: neither or both ends listen */
	unsigned conns;
	unsigned rated;       /* connections with a rate */
	double to_server_bps; /* bytes/s client -> server */
	double to_client_bps; /* bytes/s server -> client */
	double rtt_sum_us;    /* over rtt_n connections */
	unsigned rtt_n;
	uint64_t retrans;       /* retransmitted segments in the window */
	uint64_t retrans_total; /* since the connections opened */
	double window_s;        /* the longest window of the rated ones */
	/* sampled flows between the two nodes, all ports (topo_add_flows) */
	bool has_flow;
	double flow_to_server_bps, flow_to_client_bps; /* bytes/s */
	double flow_to_server_pps, flow_to_client_pps; /* packets/s */
	double flow_window_s;
};

struct topo_graph {
	enum topo_group group;
	int64_t at_ms;
	size_t nsystems, nconns, nunresolved;
	struct topo_node *nodes;
	size_t nnodes, cnodes;
	struct topo_edge *edges;
	size_t nedges, cedges;
};

/* Build the graph of `in`.  0, or -ENOMEM. */
int topo_build(const struct topo_input *in, enum topo_group group, struct topo_graph *g);
void topo_graph_free(struct topo_graph *g);

/* The flows the sFlow collector stored over the TOPO_FLOW_WINDOW_MS before
 * at_ms (0: now) onto the edges between their systems' nodes
 * (topology_flows.c).  0, or the store's error. */
struct store;
#define TOPO_FLOW_WINDOW_MS 60000
int topo_add_flows(struct topo_graph *g, const struct topo_input *in, struct store *st,
                   int64_t at_ms);

/* {"time","group_by","systems","connections","nodes":[...],"edges":[...]}
 * (docs/topology.md), appended to out with a newline. */
void topo_json(const struct topo_graph *g, struct buf *out);
/* Graphviz: a digraph with one box per node, edges labelled with port,
 * connections and bytes/s. */
void topo_dot(const struct topo_graph *g, struct buf *out);

/* Bytes/s as text: "812 B/s", "12.3 kB/s", "1.2 MB/s". */
void topo_format_rate(double bps, char *dst, size_t cap);

const char *topo_group_name(enum topo_group g);
/* "host", "image", "none" -> *g; false for anything else. */
bool topo_group_parse(const char *s, enum topo_group *g);

#endif
