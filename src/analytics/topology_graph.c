/*
 * topology_graph.c - resolve the edges of the topology (topology.h says how):
 * namespaces from shared socket inodes, peer sockets by their ends, the
 * server by its listening socket, NAT through conntrack, external nodes,
 * then grouping and the edges' traffic.
 *
 * Every lookup is a hash chain (struct chain: a u64map from a 64-bit hash
 * of the key to the first index, and a `next` array), the candidates of a
 * chain checked field by field: the whole build is linear in the sockets.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/u64set.h"
#include "../util/xalloc.h"
#include "topology.h"

#define EXTERNAL_ADDRS_MAX 16

/* ---- hash chains ---------------------------------------------------------- */

struct chain {
	struct u64map head; /* hash -> first index + 1 (uint32) */
	uint32_t *next;     /* index -> next index + 1, 0: end */
};

static void chain_init(struct chain *c, size_t n)
{
	u64map_init(&c->head, sizeof(uint32_t));
	c->next = xcalloc(n ? n : 1, sizeof(uint32_t));
}

static void chain_free(struct chain *c)
{
	u64map_free(&c->head);
	free(c->next);
}

static int chain_add(struct chain *c, uint64_t h, uint32_t idx)
{
	bool added;
	uint32_t *v = u64map_put(&c->head, h, &added);
	if (!v)
		return -ENOMEM;
	c->next[idx] = *v;
	*v = idx + 1;
	return 0;
}

/* First index + 1 of hash h's chain (0: none); then c->next[i]. */
static uint32_t chain_first(const struct chain *c, uint64_t h)
{
	const uint32_t *v = u64map_get(&c->head, h);
	return v ? *v : 0;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t hash_end(uint64_t salt, const uint8_t a[16], uint16_t port)
{
	uint64_t h = fnv(0xcbf29ce484222325ull ^ salt, a, 16);
	return u64_hash(fnv(h, &port, sizeof(port)));
}

static uint64_t hash_pair(const uint8_t la[16], uint16_t lp, const uint8_t ra[16], uint16_t rp)
{
	uint64_t h = fnv(0xcbf29ce484222325ull, la, 16);
	h = fnv(h, &lp, sizeof(lp));
	h = fnv(h, ra, 16);
	return u64_hash(fnv(h, &rp, sizeof(rp)));
}

/* ---- addresses ------------------------------------------------------------ */

static const uint8_t mapped_prefix[12] = {[10] = 0xff, [11] = 0xff};

static bool addr_loopback(const uint8_t a[16])
{
	static const uint8_t lo6[16] = {[15] = 1};
	return !memcmp(a, lo6, 16) || (!memcmp(a, mapped_prefix, 12) && a[12] == 127);
}

static bool addr_is_v4(const uint8_t a[16])
{
	return !memcmp(a, mapped_prefix, 12);
}

/* A listener on `l` accepts connections to `a`: the same address, or a
 * wildcard (0.0.0.0 for IPv4, :: for both families). */
static bool listen_covers(const uint8_t l[16], const uint8_t a[16])
{
	static const uint8_t zero[16];
	if (!memcmp(l, zero, 16))
		return true;
	if (addr_is_v4(l) && !memcmp(l + 12, zero, 4))
		return addr_is_v4(a);
	return !memcmp(l, a, 16);
}

/* ---- the build ------------------------------------------------------------ */

struct sref {
	uint32_t sys, sock;
};

struct build {
	const struct topo_input *in;
	struct topo_graph *g;
	size_t nsocks;
	struct sref *ref;     /* global socket index -> (system, socket) */
	uint8_t *dup;         /* the same socket reported by another system too */
	uint8_t *used;        /* counted in an edge already */
	uint32_t *scope;      /* system -> scope (its host; a VM its own kernel) */
	uint32_t *ns;         /* system -> network namespace (union-find root) */
	struct chain pairs;   /* (local end, remote end) -> sockets */
	struct chain halves;  /* remote end -> established sockets */
	struct chain listens; /* (namespace, port) -> listening sockets */
	struct chain addrs;   /* address -> (system, address) entries */
	struct sref *aref;
	size_t naref;
	struct chain ct_orig, ct_reply; /* conntrack entries by each direction */
	size_t *node_of;                /* system -> node */
	struct u64map node_by_key;      /* hash of a node's key -> node + 1 */
	struct u64map edge_by_key;      /* hash of (from, to, port) -> edge + 1 */
};

static const struct topo_sock *sock_at(const struct build *b, uint32_t g)
{
	return &b->in->sys[b->ref[g].sys].socks[b->ref[g].sock];
}

static uint32_t uf_find(uint32_t *p, uint32_t x)
{
	while (p[x] != x) {
		p[x] = p[p[x]];
		x = p[x];
	}
	return x;
}

/* Scopes: systems crawled on one host share its kernel (socket inodes and
 * private addresses are the host's); a VM has a kernel of its own. */
static void scopes(struct build *b)
{
	const struct topo_input *in = b->in;
	for (size_t i = 0; i < in->n; i++) {
		b->scope[i] = (uint32_t)i;
		if (!strcmp(in->sys[i].kind, "vm"))
			continue;
		for (size_t k = 0; k < i; k++)
			if (b->scope[k] == k && strcmp(in->sys[k].kind, "vm") != 0 &&
			    !strcmp(in->sys[k].host, in->sys[i].host)) {
				b->scope[i] = (uint32_t)k;
				break;
			}
	}
}

/* Network namespaces: systems of one scope reporting the same socket
 * inode share one.  The socket then belongs to the more specific system
 * (a container's processes own it; the host only sees it): the others'
 * copies are marked dup. */
static int namespaces(struct build *b)
{
	const struct topo_input *in = b->in;
	struct u64map first; /* hash(scope, inode) -> global index + 1 */
	int r = 0;

	for (size_t i = 0; i < in->n; i++)
		b->ns[i] = (uint32_t)i;
	u64map_init(&first, sizeof(uint32_t));
	for (uint32_t gi = 0; gi < b->nsocks && !r; gi++) {
		const struct topo_sock *k = sock_at(b, gi);
		uint32_t si = b->ref[gi].sys, sc = b->scope[si];
		bool added;
		uint32_t *v;

		if (!k->inode)
			continue;
		v = u64map_put(&first, u64_hash(k->inode ^ ((uint64_t)sc << 40)), &added);
		if (!v) {
			r = -ENOMEM;
			break;
		}
		if (added) {
			*v = gi + 1;
			continue;
		}
		uint32_t other = *v - 1, os = b->ref[other].sys;
		if (os == si || sock_at(b, other)->inode != k->inode)
			continue;
		uint32_t ra = uf_find(b->ns, si), rb = uf_find(b->ns, os);
		if (ra != rb)
			b->ns[ra] = rb;
		if (!strcmp(in->sys[os].kind, "host") && strcmp(in->sys[si].kind, "host") != 0) {
			b->dup[other] = 1;
			*v = gi + 1;
		} else {
			b->dup[gi] = 1;
		}
	}
	u64map_free(&first);
	for (size_t i = 0; i < in->n; i++)
		b->ns[i] = uf_find(b->ns, (uint32_t)i);
	return r;
}

static int index_sockets(struct build *b)
{
	const struct topo_input *in = b->in;
	int r = 0;

	chain_init(&b->pairs, b->nsocks);
	chain_init(&b->halves, b->nsocks);
	chain_init(&b->listens, b->nsocks);
	for (uint32_t gi = 0; gi < b->nsocks && !r; gi++) {
		const struct topo_sock *k = sock_at(b, gi);
		uint32_t si = b->ref[gi].sys;
		if (b->dup[gi] || k->udp)
			continue;
		if (k->state == TOPO_LISTEN)
			r = chain_add(&b->listens, u64_hash(((uint64_t)b->ns[si] << 16) | k->lport),
			              gi);
		else if (k->state == TOPO_ESTABLISHED) {
			r = chain_add(&b->pairs, hash_pair(k->laddr, k->lport, k->raddr, k->rport),
			              gi);
			if (!r)
				r = chain_add(&b->halves, hash_end(1, k->raddr, k->rport), gi);
		}
	}
	/* addresses of the systems */
	size_t na = 0;
	for (size_t i = 0; i < in->n; i++)
		na += in->sys[i].naddrs;
	b->aref = xcalloc(na ? na : 1, sizeof(*b->aref));
	chain_init(&b->addrs, na);
	for (size_t i = 0; i < in->n && !r; i++)
		for (size_t a = 0; a < in->sys[i].naddrs && !r; a++) {
			b->aref[b->naref] = (struct sref){(uint32_t)i, (uint32_t)a};
			r = chain_add(&b->addrs, hash_end(2, in->sys[i].addrs[a], 0),
			              (uint32_t)b->naref++);
		}
	chain_init(&b->ct_orig, in->nct);
	chain_init(&b->ct_reply, in->nct);
	for (size_t i = 0; i < in->nct && !r; i++) {
		const struct ct_entry *e = &in->ct[i];
		r = chain_add(&b->ct_orig, hash_pair(e->osrc, e->osport, e->odst, e->odport),
		              (uint32_t)i);
		if (!r)
			r = chain_add(&b->ct_reply,
			              hash_pair(e->rsrc, e->rsport, e->rdst, e->rdport),
			              (uint32_t)i);
	}
	return r;
}

/* Does namespace `ns` listen on (addr, port)? */
static bool listens(const struct build *b, uint32_t ns, const uint8_t addr[16], uint16_t port)
{
	for (uint32_t i = chain_first(&b->listens, u64_hash(((uint64_t)ns << 16) | port)); i;
	     i = b->listens.next[i - 1]) {
		const struct topo_sock *l = sock_at(b, i - 1);
		if (b->ns[b->ref[i - 1].sys] == ns && l->lport == port &&
		    listen_covers(l->laddr, addr))
			return true;
	}
	return false;
}

static bool is_server(const struct build *b, uint32_t gi)
{
	const struct topo_sock *k = sock_at(b, gi);
	return listens(b, b->ns[b->ref[gi].sys], k->laddr, k->lport);
}

/* Among the candidates of a chain, the best for a socket of system si:
 * one of its namespace for loopback ends, else one of its scope, else
 * the only one. */
struct pick {
	const struct build *b;
	uint32_t si, self;
	bool loopback;
	uint32_t local;  /* first candidate of si's scope, + 1 */
	uint32_t remote; /* first candidate of another scope, + 1 */
	unsigned nremote;
};

static void pick_offer(struct pick *p, uint32_t gi)
{
	const struct build *b = p->b;
	uint32_t os = b->ref[gi].sys;

	if (gi == p->self || b->used[gi] || b->dup[gi])
		return;
	if (p->loopback && b->ns[os] != b->ns[p->si])
		return;
	if (b->scope[os] == b->scope[p->si]) {
		if (!p->local)
			p->local = gi + 1;
	} else if (!p->nremote++) {
		p->remote = gi + 1;
	}
}

static uint32_t pick_result(const struct pick *p)
{
	return p->local ? p->local : p->nremote == 1 ? p->remote : 0;
}

/* The established socket with local end (la, lp) and remote end (ra, rp),
 * as seen from socket `self` of system si: global index + 1, or 0. */
static uint32_t find_sock(const struct build *b, uint32_t si, uint32_t self, const uint8_t la[16],
                          uint16_t lp, const uint8_t ra[16], uint16_t rp)
{
	struct pick p = {.b = b, .si = si, .self = self, .loopback = addr_loopback(la)};
	for (uint32_t i = chain_first(&b->pairs, hash_pair(la, lp, ra, rp)); i;
	     i = b->pairs.next[i - 1]) {
		const struct topo_sock *k = sock_at(b, i - 1);
		if (k->lport == lp && k->rport == rp && !memcmp(k->laddr, la, 16) &&
		    !memcmp(k->raddr, ra, 16))
			pick_offer(&p, i - 1);
	}
	return pick_result(&p);
}

/* The peer of socket gi (global index + 1, or 0): by its ends; through
 * the conntrack entry of the connection; a server socket whose remote end
 * is gi's local end. */
static uint32_t find_peer(const struct build *b, uint32_t gi, bool server)
{
	const struct topo_sock *k = sock_at(b, gi);
	uint32_t si = b->ref[gi].sys, p;

	p = find_sock(b, si, gi, k->raddr, k->rport, k->laddr, k->lport);
	if (p)
		return p;
	if (addr_loopback(k->raddr))
		return 0;
	/* conntrack: gi is the client (original direction) or the server
	 * (reply direction) of a translated connection */
	const struct chain *c = server ? &b->ct_reply : &b->ct_orig;
	for (uint32_t i = chain_first(c, hash_pair(k->laddr, k->lport, k->raddr, k->rport)); i;
	     i = c->next[i - 1]) {
		const struct ct_entry *e = &b->in->ct[i - 1];
		if (!server && e->osport == k->lport && e->odport == k->rport &&
		    !memcmp(e->osrc, k->laddr, 16) && !memcmp(e->odst, k->raddr, 16))
			p = find_sock(b, si, gi, e->rsrc, e->rsport, e->rdst, e->rdport);
		else if (server && e->rsport == k->lport && e->rdport == k->rport &&
		         !memcmp(e->rsrc, k->laddr, 16) && !memcmp(e->rdst, k->raddr, 16))
			p = find_sock(b, si, gi, e->osrc, e->osport, e->odst, e->odport);
		if (p)
			return p;
	}
	if (server)
		return 0;
	/* DNAT without SNAT: the server sees our own end as its remote */
	struct pick pk = {.b = b, .si = si, .self = gi};
	for (uint32_t i = chain_first(&b->halves, hash_end(1, k->laddr, k->lport)); i;
	     i = b->halves.next[i - 1]) {
		const struct topo_sock *o = sock_at(b, i - 1);
		if (o->rport == k->lport && !memcmp(o->raddr, k->laddr, 16) &&
		    b->ns[b->ref[i - 1].sys] != b->ns[si] && is_server(b, i - 1))
			pick_offer(&pk, i - 1);
	}
	return pick_result(&pk);
}

/* The system holding address a, seen from system si: one of si's scope
 * first, else the only one; -1 when none. */
static long system_of_addr(const struct build *b, uint32_t si, const uint8_t a[16])
{
	long best = -1;
	int others = 0;
	if (addr_loopback(a))
		return si;
	for (uint32_t i = chain_first(&b->addrs, hash_end(2, a, 0)); i; i = b->addrs.next[i - 1]) {
		struct sref r = b->aref[i - 1];
		if (memcmp(b->in->sys[r.sys].addrs[r.sock], a, 16) != 0)
			continue;
		if (b->scope[r.sys] == b->scope[si]) {
			/* several systems of one namespace hold it (a container on
			 * the host's network): the host itself */
			if (best < 0 || b->scope[best] != b->scope[si] ||
			    !strcmp(b->in->sys[r.sys].kind, "host"))
				best = r.sys;
		} else if (best < 0) {
			best = r.sys;
			others++;
		} else if (b->scope[best] != b->scope[si]) {
			others++;
		}
	}
	if (best >= 0 && b->scope[best] != b->scope[si] && others > 1)
		return -1;
	return best;
}

/* ---- nodes and edges ------------------------------------------------------ */

static uint64_t hash_str(const char *s)
{
	return u64_hash(fnv(0xcbf29ce484222325ull, s, strlen(s)));
}

static size_t node_get(struct build *b, const char *id, const char *name, const char *kind,
                       bool *added)
{
	struct topo_graph *g = b->g;
	uint64_t h = hash_str(id);
	bool add;
	size_t *v = u64map_put(&b->node_by_key, h, &add);
	/* a 64-bit hash collision between two node ids is not expected;
	 * should one happen, the two nodes merge */
	if (v && !add) {
		*added = false;
		return *v - 1;
	}
	if (g->nnodes == g->cnodes) {
		g->cnodes = g->cnodes ? g->cnodes * 2 : 64;
		g->nodes = xrealloc(g->nodes, g->cnodes * sizeof(*g->nodes));
	}
	struct topo_node *n = &g->nodes[g->nnodes];
	memset(n, 0, sizeof(*n));
	n->id = xstrdup(id);
	n->name = xstrdup(name);
	n->kind = xstrdup(kind);
	if (v)
		*v = g->nnodes + 1;
	*added = true;
	return g->nnodes++;
}

static void node_listen(struct topo_node *n, const struct topo_sock *k)
{
	for (size_t i = 0; i < n->nlisten; i++)
		if (n->listen[i].port == k->lport && n->listen[i].udp == k->udp &&
		    !memcmp(n->listen[i].addr, k->laddr, 16))
			return;
	if (n->nlisten == n->clisten) {
		n->clisten = n->clisten ? n->clisten * 2 : 4;
		n->listen = xrealloc(n->listen, n->clisten * sizeof(*n->listen));
	}
	struct topo_listen *l = &n->listen[n->nlisten++];
	memcpy(l->addr, k->laddr, 16);
	l->port = k->lport;
	l->udp = k->udp;
	memcpy(l->comm, k->comm, sizeof(l->comm));
}

/* Merge `v` into a node's field: kept when equal, NULL when they differ. */
static void merge_str(char **field, const char *v, bool first)
{
	if (first) {
		*field = v ? xstrdup(v) : NULL;
	} else if (*field && (!v || strcmp(*field, v) != 0)) {
		free(*field);
		*field = NULL;
	}
}

static void make_system_nodes(struct build *b)
{
	const struct topo_input *in = b->in;
	char id[512];

	for (size_t i = 0; i < in->n; i++) {
		const struct topo_system *s = &in->sys[i];
		const char *kind = s->kind, *name = s->name;
		bool added;

		if (b->g->group == TOPO_GROUP_HOST && strcmp(s->kind, "vm") != 0) {
			snprintf(id, sizeof(id), "host/%s", s->host);
			kind = "host";
			name = s->host;
		} else if (b->g->group == TOPO_GROUP_IMAGE && s->image) {
			snprintf(id, sizeof(id), "image/%s", s->image);
			kind = "image";
			name = s->image;
		} else {
			snprintf(id, sizeof(id), "%s", s->id);
		}
		b->node_of[i] = node_get(b, id, name, kind, &added);
		struct topo_node *n = &b->g->nodes[b->node_of[i]];
		merge_str(&n->image, s->image, added);
		merge_str(&n->host, s->host, added);
		n->nsystems++;
	}
	/* listening services: TCP listeners and unconnected UDP sockets */
	for (uint32_t gi = 0; gi < b->nsocks; gi++) {
		const struct topo_sock *k = sock_at(b, gi);
		bool udp_bound = k->udp && k->rport == 0 && k->lport != 0;
		if (b->dup[gi] || (k->state != TOPO_LISTEN && !udp_bound))
			continue;
		node_listen(&b->g->nodes[b->node_of[b->ref[gi].sys]], k);
	}
}

/* The external node of address a: grouped by /24 (IPv4) or /64 (IPv6). */
static size_t external_node(struct build *b, const uint8_t a[16])
{
	uint8_t net[16];
	char text[64], id[96];
	bool added;

	memcpy(net, a, 16);
	if (addr_is_v4(a)) {
		net[15] = 0;
		topo_format_addr(net, text, sizeof(text));
		snprintf(id, sizeof(id), "external:%s/24", text);
	} else {
		memset(net + 8, 0, 8);
		topo_format_addr(net, text, sizeof(text));
		snprintf(id, sizeof(id), "external:%s/64", text);
	}
	size_t ni = node_get(b, id, id + 9, "external", &added);
	struct topo_node *n = &b->g->nodes[ni];
	for (size_t i = 0; i < n->naddrs; i++)
		if (!memcmp(n->addrs[i], a, 16))
			return ni;
	if (n->naddrs < EXTERNAL_ADDRS_MAX) {
		if (n->naddrs == n->caddrs) {
			n->caddrs = n->caddrs ? n->caddrs * 2 : 4;
			n->addrs = xrealloc(n->addrs, n->caddrs * sizeof(*n->addrs));
		}
		memcpy(n->addrs[n->naddrs++], a, 16);
	}
	return ni;
}

static struct topo_edge *edge_get(struct build *b, size_t from, size_t to, uint16_t port,
                                  bool directed)
{
	struct topo_graph *g = b->g;
	if (!directed && from > to) {
		size_t t = from;
		from = to;
		to = t;
	}
	uint64_t key[3] = {from, to, ((uint64_t)directed << 16) | port};
	uint64_t h = u64_hash(fnv(0xcbf29ce484222325ull, key, sizeof(key)));
	for (;; h++) { /* probe past a (not expected) collision */
		bool added;
		size_t *v = u64map_put(&b->edge_by_key, h, &added);
		if (!v)
			return NULL;
		if (!added) {
			struct topo_edge *e = &g->edges[*v - 1];
			if (e->from == from && e->to == to && e->port == port &&
			    e->directed == directed)
				return e;
			continue;
		}
		if (g->nedges == g->cedges) {
			g->cedges = g->cedges ? g->cedges * 2 : 64;
			g->edges = xrealloc(g->edges, g->cedges * sizeof(*g->edges));
		}
		struct topo_edge *e = &g->edges[g->nedges];
		memset(e, 0, sizeof(*e));
		e->from = from;
		e->to = to;
		e->port = port;
		e->directed = directed;
		*v = ++g->nedges;
		return e;
	}
}

/* Add one connection: c the client's socket, s the server's (either may
 * be NULL, not both). */
static void edge_count(struct topo_edge *e, const struct topo_sock *c, const struct topo_sock *s)
{
	e->conns++;
	if (c && c->rate) {
		e->rated++;
		e->to_server_bps += (double)c->d_acked / c->dt_s;
		e->to_client_bps += (double)c->d_received / c->dt_s;
		if (c->dt_s > e->window_s)
			e->window_s = c->dt_s;
	} else if (s && s->rate) {
		e->rated++;
		e->to_server_bps += (double)s->d_received / s->dt_s;
		e->to_client_bps += (double)s->d_acked / s->dt_s;
		if (s->dt_s > e->window_s)
			e->window_s = s->dt_s;
	}
	const struct topo_sock *r = c && c->info ? c : s && s->info ? s : NULL;
	if (r && r->rtt_us) {
		e->rtt_sum_us += r->rtt_us;
		e->rtt_n++;
	}
	if (c && c->info) {
		e->retrans_total += c->retrans;
		e->retrans += c->rate ? c->d_retrans : 0;
	}
	if (s && s->info) {
		e->retrans_total += s->retrans;
		e->retrans += s->rate ? s->d_retrans : 0;
	}
}

static int resolve(struct build *b)
{
	struct topo_graph *g = b->g;

	for (uint32_t gi = 0; gi < b->nsocks; gi++) {
		const struct topo_sock *k = sock_at(b, gi), *c, *s;
		uint32_t si = b->ref[gi].sys;
		size_t from, to;
		uint16_t port;
		bool directed = true;

		if (b->dup[gi] || b->used[gi] || k->udp || k->state != TOPO_ESTABLISHED)
			continue;
		b->used[gi] = 1;
		g->nconns++;
		bool srv = is_server(b, gi);
		uint32_t p = find_peer(b, gi, srv);
		if (p) {
			uint32_t pi = p - 1, ps = b->ref[pi].sys;
			bool psrv = is_server(b, pi);
			b->used[pi] = 1;
			if (srv == psrv) {
				directed = false;
				srv = false; /* ordered by node in edge_get */
			} else {
				srv = srv && !psrv;
			}
			c = srv ? sock_at(b, pi) : k;
			s = srv ? k : sock_at(b, pi);
			from = b->node_of[srv ? ps : si];
			to = b->node_of[srv ? si : ps];
			port = directed ? s->lport : 0;
		} else {
			long o = system_of_addr(b, si, k->raddr);
			size_t other = o >= 0 ? b->node_of[o] : external_node(b, k->raddr);
			if (o < 0)
				g->nunresolved++;
			c = srv ? NULL : k;
			s = srv ? k : NULL;
			from = srv ? other : b->node_of[si];
			to = srv ? b->node_of[si] : other;
			port = srv ? k->lport : k->rport;
		}
		struct topo_edge *e = edge_get(b, from, to, port, directed);
		if (!e)
			return -ENOMEM;
		edge_count(e, c, s);
	}
	return 0;
}

int topo_build(const struct topo_input *in, enum topo_group group, struct topo_graph *g)
{
	struct build b = {.in = in, .g = g};
	int r;

	memset(g, 0, sizeof(*g));
	g->group = group;
	g->at_ms = in->at_ms;
	g->nsystems = in->n;
	for (size_t i = 0; i < in->n; i++)
		b.nsocks += in->sys[i].nsocks;
	if (b.nsocks >= UINT32_MAX)
		return -ENOMEM;
	b.ref = xcalloc(b.nsocks ? b.nsocks : 1, sizeof(*b.ref));
	b.dup = xcalloc(b.nsocks ? b.nsocks : 1, 1);
	b.used = xcalloc(b.nsocks ? b.nsocks : 1, 1);
	b.scope = xcalloc(in->n ? in->n : 1, sizeof(*b.scope));
	b.ns = xcalloc(in->n ? in->n : 1, sizeof(*b.ns));
	b.node_of = xcalloc(in->n ? in->n : 1, sizeof(*b.node_of));
	u64map_init(&b.node_by_key, sizeof(size_t));
	u64map_init(&b.edge_by_key, sizeof(size_t));
	for (size_t i = 0, gi = 0; i < in->n; i++)
		for (size_t k = 0; k < in->sys[i].nsocks; k++, gi++)
			b.ref[gi] = (struct sref){(uint32_t)i, (uint32_t)k};

	scopes(&b);
	r = namespaces(&b);
	if (!r)
		r = index_sockets(&b);
	if (!r) {
		make_system_nodes(&b);
		r = resolve(&b);
	}
	chain_free(&b.pairs);
	chain_free(&b.halves);
	chain_free(&b.listens);
	chain_free(&b.addrs);
	chain_free(&b.ct_orig);
	chain_free(&b.ct_reply);
	u64map_free(&b.node_by_key);
	u64map_free(&b.edge_by_key);
	free(b.aref);
	free(b.ref);
	free(b.dup);
	free(b.used);
	free(b.scope);
	free(b.ns);
	free(b.node_of);
	if (r)
		topo_graph_free(g);
	return r;
}

void topo_graph_free(struct topo_graph *g)
{
	for (size_t i = 0; i < g->nnodes; i++) {
		struct topo_node *n = &g->nodes[i];
		free(n->id);
		free(n->name);
		free(n->kind);
		free(n->image);
		free(n->host);
		free(n->listen);
		free(n->addrs);
	}
	free(g->nodes);
	free(g->edges);
	memset(g, 0, sizeof(*g));
}

const char *topo_group_name(enum topo_group g)
{
	return g == TOPO_GROUP_HOST ? "host" : g == TOPO_GROUP_IMAGE ? "image" : "none";
}

bool topo_group_parse(const char *s, enum topo_group *g)
{
	if (!strcmp(s, "host"))
		*g = TOPO_GROUP_HOST;
	else if (!strcmp(s, "image"))
		*g = TOPO_GROUP_IMAGE;
	else if (!strcmp(s, "none"))
		*g = TOPO_GROUP_NONE;
	else
		return false;
	return true;
}
