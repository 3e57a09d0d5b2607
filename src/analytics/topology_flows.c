/*
 * topology_flows.c - the sampled flows beside the socket counters on the
 * topology's edges (topology.h topo_add_flows; docs/flows.md): the flow
 * records of the minute before the graph's time, summed by source and
 * destination system (store_flows_top), are put on every edge between the
 * nodes of the two systems, each way.  Edges without flows are unchanged
 * (and so is the answer: the "flow" field is only there when flows are).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../store/store.h"
#include "../util/util.h"
#include "topology.h"

struct flow_ctx {
	struct topo_graph *g;
	const struct topo_input *in;
	double window_s;
};

/* The node of system `id` as make_system_nodes() names it; -1: none. */
static long node_of(const struct flow_ctx *c, const char *id)
{
	if (!id)
		return -1;
	const struct topo_system *s = NULL;
	for (size_t i = 0; i < c->in->n && !s; i++)
		if (!strcmp(c->in->sys[i].id, id))
			s = &c->in->sys[i];
	if (!s)
		return -1;
	char nid[512];
	if (c->g->group == TOPO_GROUP_HOST && strcmp(s->kind, "vm") != 0)
		snprintf(nid, sizeof(nid), "host/%s", s->host);
	else if (c->g->group == TOPO_GROUP_IMAGE && s->image)
		snprintf(nid, sizeof(nid), "image/%s", s->image);
	else
		snprintf(nid, sizeof(nid), "%s", s->id);
	for (size_t i = 0; i < c->g->nnodes; i++)
		if (!strcmp(c->g->nodes[i].id, nid))
			return (long)i;
	return -1;
}

static int one(void *arg, const struct store_flow_top *t)
{
	struct flow_ctx *c = arg;
	long a = node_of(c, t->key[0]), b = node_of(c, t->key[1]);
	if (a < 0 || b < 0 || a == b)
		return 0;
	for (size_t i = 0; i < c->g->nedges; i++) {
		struct topo_edge *e = &c->g->edges[i];
		bool fwd = e->from == (size_t)a && e->to == (size_t)b;
		bool rev = e->from == (size_t)b && e->to == (size_t)a;
		if (!fwd && !rev)
			continue;
		e->has_flow = true;
		e->flow_window_s = c->window_s;
		if (fwd) {
			e->flow_to_server_bps += t->bytes_per_s;
			e->flow_to_server_pps += t->packets_per_s;
		} else {
			e->flow_to_client_bps += t->bytes_per_s;
			e->flow_to_client_pps += t->packets_per_s;
		}
	}
	return 0;
}

int topo_add_flows(struct topo_graph *g, const struct topo_input *in, struct store *st,
                   int64_t at_ms)
{
	int64_t to = at_ms ? at_ms : now_ns() / 1000000;
	struct flow_ctx c = {g, in, TOPO_FLOW_WINDOW_MS / 1000.0};
	if (!g->nedges)
		return 0;
	int r = store_flows_top(st, to - TOPO_FLOW_WINDOW_MS, to, "src_system,dst_system", 100000,
	                        one, &c);
	return r == -ENOTSUP ? 0 : r;
}
