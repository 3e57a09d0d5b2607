/*
 * api_flows.c - GET /api/v1/flows[?window=60s][&from=T&to=T]
 * [&group=src_system,dst_system][&limit=20]: the top talkers of the flow
 * records the sFlow collector stored (analytics/flows_top.h; docs/api.md,
 * docs/flows.md).  The window ends now unless `to` is given; `from`
 * replaces the window.  Times: ISO-8601, epoch seconds or -DURATION.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../analytics/flows_top.h"
#include "../store/store.h"
#include "../util/timefmt.h"
#include "api.h"
#include "request.h"

static int time_param(struct request *r, const char *name, int64_t *ms)
{
	const char *v = req_param(r, name);
	if (!v)
		return 0;
	if (parse_time(v, r->now_ms, ms) < 0 || *ms <= 0) {
		req_error(r, 400, name,
		          "bad time '%s' (an ISO-8601 time, epoch seconds or -DURATION)", v);
		return -EINVAL;
	}
	return 1;
}

void api_flows(struct request *r)
{
	static const char *const allowed[] = {"window", "from", "to", "group", "limit", NULL};
	if (req_check_params(r, allowed) < 0)
		return;
	const char *w = req_param(r, "window"), *g = req_param(r, "group"),
	           *l = req_param(r, "limit");
	int64_t window = FLOWS_DEFAULT_WINDOW_MS, from = 0, to = r->now_ms;
	if (w && (parse_duration_ms(w, &window) < 0 || window <= 0 || window > 86400000)) {
		req_error(r, 400, "window", "bad window '%s' (a duration up to 1d, e.g. 60s)", w);
		return;
	}
	int hf = time_param(r, "from", &from), ht = time_param(r, "to", &to);
	if (hf < 0 || ht < 0)
		return;
	if (!hf)
		from = to - window;
	if (from >= to) {
		req_error(r, 400, "from", "'from' must come before 'to'");
		return;
	}
	long limit = 20;
	if (l) {
		char *end;
		limit = strtol(l, &end, 10);
		if (end == l || *end || limit < 1 || limit > 10000) {
			req_error(r, 400, "limit", "bad limit '%s' (1 to 10000)", l);
			return;
		}
	}
	struct store *st = req_store(r);
	if (!st)
		return;
	char err[512];
	int rc = flows_top_json(st, from, to, g ? g : FLOWS_DEFAULT_GROUP, (size_t)limit, &r->body,
	                        err, sizeof(err));
	if (rc == -EINVAL) {
		req_error(r, 400, "group", "%s", err);
		return;
	}
	if (rc < 0)
		req_store_error(r, rc, "flows");
}
