/*
 * api_topology.c - GET /api/v1/topology[?at=TIME][&group_by=host|image|none]:
 * who talks to whom from the stored frames (analytics/topology_graph.c;
 * docs/api.md, docs/topology.md).  TIME is an ISO-8601 time, epoch seconds
 * or -DURATION ("-1h"); without one, the latest frames of the present
 * systems.  The answer is `vantage topology --json`'s.
 */
#include <errno.h>
#include <string.h>

#include "../analytics/topology.h"
#include "../analytics/topology_load.h"
#include "../store/store.h"
#include "../util/timefmt.h"
#include "api.h"
#include "request.h"

void api_topology(struct request *r)
{
	static const char *const allowed[] = {"at", "group_by", NULL};
	if (req_check_params(r, allowed) < 0)
		return;
	const char *at = req_param(r, "at"), *gb = req_param(r, "group_by");
	enum topo_group group = TOPO_GROUP_NONE;
	int64_t at_ms = 0;
	if (gb && !topo_group_parse(gb, &group)) {
		req_error(r, 400, "group_by", "'group_by' is host, image or none");
		return;
	}
	if (at && (parse_time(at, r->now_ms, &at_ms) < 0 || at_ms <= 0)) {
		req_error(r, 400, "at",
		          "bad time '%s' (an ISO-8601 time, epoch seconds or -DURATION)", at);
		return;
	}
	struct store *st = req_store(r);
	if (!st)
		return;
	struct topo_input in;
	char err[512] = "";
	topo_input_init(&in);
	int rc = topo_load_store(st, at_ms, &in, err, sizeof(err));
	if (rc < 0) {
		req_store_error(r, rc, "topology");
		topo_input_free(&in);
		return;
	}
	struct topo_graph g;
	if (topo_build(&in, group, &g) < 0) {
		req_store_error(r, -ENOMEM, "topology");
		topo_input_free(&in);
		return;
	}
	topo_add_flows(&g, &in, st, at_ms); /* sampled flows on the edges, when any */
	topo_json(&g, &r->body);
	topo_graph_free(&g);
	topo_input_free(&in);
}
