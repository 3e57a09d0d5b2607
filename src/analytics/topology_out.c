/*
 * topology_out.c - the topology graph as JSON (the CLI's --json and
 * GET /api/v1/topology) and as Graphviz DOT.  Edges come out sorted by
 * (from, to, port) so the same graph always prints the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/json.h"
#include "../util/timefmt.h"
#include "../util/xalloc.h"
#include "topology.h"

static int edge_cmp(const void *x, const void *y, void *ctx)
{
	const struct topo_graph *g = ctx;
	const struct topo_edge *a = &g->edges[*(const size_t *)x];
	const struct topo_edge *b = &g->edges[*(const size_t *)y];
	int c = strcmp(g->nodes[a->from].id, g->nodes[b->from].id);
	if (!c)
		c = strcmp(g->nodes[a->to].id, g->nodes[b->to].id);
	if (!c)
		c = (int)a->port - (int)b->port;
	return c;
}

/* Edge indexes in print order (caller frees). */
static size_t *sorted_edges(const struct topo_graph *g)
{
	size_t *ix = xcalloc(g->nedges ? g->nedges : 1, sizeof(*ix));
	for (size_t i = 0; i < g->nedges; i++)
		ix[i] = i;
	qsort_r(ix, g->nedges, sizeof(*ix), edge_cmp, (void *)g);
	return ix;
}

void topo_json(const struct topo_graph *g, struct buf *out)
{
	struct json j;
	char t[64], a[64];
	size_t *ix = sorted_edges(g);

	jw_init(&j, out);
	jw_obj_begin(&j, NULL);
	if (g->at_ms) {
		format_time_utc(g->at_ms * 1000000, t, sizeof(t));
		jw_str(&j, "time", t);
	} else {
		jw_null(&j, "time");
	}
	jw_str(&j, "group_by", topo_group_name(g->group));
	jw_uint(&j, "systems", g->nsystems);
	jw_uint(&j, "connections", g->nconns);
	jw_uint(&j, "unresolved", g->nunresolved);
	jw_arr_begin(&j, "nodes");
	for (size_t i = 0; i < g->nnodes; i++) {
		const struct topo_node *n = &g->nodes[i];
		jw_obj_begin(&j, NULL);
		jw_str(&j, "id", n->id);
		jw_str(&j, "name", n->name);
		jw_str(&j, "kind", n->kind);
		jw_str(&j, "image", n->image);
		jw_str(&j, "host", n->host);
		jw_uint(&j, "systems", n->nsystems);
		jw_arr_begin(&j, "listening");
		for (size_t k = 0; k < n->nlisten; k++) {
			const struct topo_listen *l = &n->listen[k];
			jw_obj_begin(&j, NULL);
			jw_str(&j, "proto", l->udp ? "udp" : "tcp");
			topo_format_addr(l->addr, a, sizeof(a));
			jw_str(&j, "addr", a);
			jw_uint(&j, "port", l->port);
			jw_str(&j, "comm", l->comm[0] ? l->comm : NULL);
			jw_obj_end(&j);
		}
		jw_arr_end(&j);
		if (!strcmp(n->kind, "external")) {
			jw_arr_begin(&j, "addresses");
			for (size_t k = 0; k < n->naddrs; k++) {
				topo_format_addr(n->addrs[k], a, sizeof(a));
				jw_str(&j, NULL, a);
			}
			jw_arr_end(&j);
		}
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	jw_arr_begin(&j, "edges");
	for (size_t i = 0; i < g->nedges; i++) {
		const struct topo_edge *e = &g->edges[ix[i]];
		jw_obj_begin(&j, NULL);
		jw_str(&j, "from", g->nodes[e->from].id);
		jw_str(&j, "to", g->nodes[e->to].id);
		if (e->directed)
			jw_uint(&j, "port", e->port);
		else
			jw_null(&j, "port");
		jw_bool(&j, "directed", e->directed);
		jw_uint(&j, "connections", e->conns);
		if (e->rated) {
			jw_obj_begin(&j, "bytes_per_s");
			jw_double(&j, "to_server", e->to_server_bps, 1);
			jw_double(&j, "to_client", e->to_client_bps, 1);
			jw_obj_end(&j);
			jw_uint(&j, "rated", e->rated);
			jw_double(&j, "window_s", e->window_s, 3);
		} else {
			jw_null(&j, "bytes_per_s");
			jw_uint(&j, "rated", 0);
			jw_null(&j, "window_s");
		}
		if (e->rtt_n)
			jw_double(&j, "rtt_ms", e->rtt_sum_us / e->rtt_n / 1000.0, 3);
		else
			jw_null(&j, "rtt_ms");
		jw_uint(&j, "retransmits", e->retrans);
		jw_uint(&j, "retransmits_total", e->retrans_total);
		if (e->has_flow) { /* sampled flows (docs/flows.md): only when there are */
			jw_obj_begin(&j, "flow");
			jw_double(&j, "to_server_bytes_per_s", e->flow_to_server_bps, 1);
			jw_double(&j, "to_client_bytes_per_s", e->flow_to_client_bps, 1);
			jw_double(&j, "to_server_packets_per_s", e->flow_to_server_pps, 2);
			jw_double(&j, "to_client_packets_per_s", e->flow_to_client_pps, 2);
			jw_double(&j, "window_s", e->flow_window_s, 3);
			jw_obj_end(&j);
		}
		jw_obj_end(&j);
	}
	jw_arr_end(&j);
	jw_obj_end(&j);
	buf_addc(out, '\n');
	free(ix);
}

/* Text inside a DOT string: quotes and backslashes escaped, control
 * characters left out. */
static void dot_text(struct buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_addc(out, '\\');
		if ((unsigned char)*s >= 0x20)
			buf_addc(out, *s);
	}
}

static void dot_quoted(struct buf *out, const char *s)
{
	buf_addc(out, '"');
	dot_text(out, s);
	buf_addc(out, '"');
}

void topo_format_rate(double bps, char *dst, size_t cap)
{
	if (bps >= 1e6)
		snprintf(dst, cap, "%.1f MB/s", bps / 1e6);
	else if (bps >= 1e3)
		snprintf(dst, cap, "%.1f kB/s", bps / 1e3);
	else
		snprintf(dst, cap, "%.0f B/s", bps);
}

void topo_dot(const struct topo_graph *g, struct buf *out)
{
	size_t *ix = sorted_edges(g);
	char label[256], up[32], down[32];

	buf_adds(out, "digraph topology {\n  rankdir=LR;\n  node [shape=box];\n");
	for (size_t i = 0; i < g->nnodes; i++) {
		const struct topo_node *n = &g->nodes[i];
		buf_adds(out, "  ");
		dot_quoted(out, n->id);
		buf_adds(out, " [label=\"");
		dot_text(out, n->name);
		buf_adds(out, "\\n(");
		dot_text(out, n->kind);
		buf_adds(out, ")\"");
		if (!strcmp(n->kind, "external"))
			buf_adds(out, ", shape=ellipse, style=dashed");
		buf_adds(out, "];\n");
	}
	for (size_t i = 0; i < g->nedges; i++) {
		const struct topo_edge *e = &g->edges[ix[i]];
		buf_adds(out, "  ");
		dot_quoted(out, g->nodes[e->from].id);
		buf_adds(out, " -> ");
		dot_quoted(out, g->nodes[e->to].id);
		int n = e->directed
		            ? snprintf(label, sizeof(label), ":%u  %u conn", e->port, e->conns)
		            : snprintf(label, sizeof(label), "%u conn", e->conns);
		if (e->rated && n > 0 && (size_t)n < sizeof(label)) {
			topo_format_rate(e->to_server_bps, up, sizeof(up));
			topo_format_rate(e->to_client_bps, down, sizeof(down));
			snprintf(label + n, sizeof(label) - (size_t)n, "\\n%s / %s", up, down);
		}
		buf_adds(out, " [label=\"");
		buf_adds(out, label);
		buf_addc(out, '"');
		if (!e->directed)
			buf_adds(out, ", dir=none");
		buf_adds(out, "];\n");
	}
	buf_adds(out, "}\n");
	free(ix);
}
