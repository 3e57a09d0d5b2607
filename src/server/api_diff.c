/*
 * api_diff.c - GET /api/v1/diff?a=SYSTEM[@TIME]&b=SYSTEM[@TIME][&all=1]
 * [&limit=N]: what changed between two stored frames, ranked
 * (analytics/drift.c; docs/api.md).  SYSTEM is a system id; TIME an
 * ISO-8601 time, epoch seconds or -DURATION ("-1h"); without one, the
 * latest frame.  The answer is `vantage diff --json`'s, built-in rules.
 */
#include <errno.h>
#include <pthread.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../analytics/drift.h"
#include "../analytics/drift_logs.h"
#include "../store/store.h"
#include "../util/timefmt.h"
#include "../util/xalloc.h"
#include "api.h"
#include "request.h"

#define DIFF_LIMIT_MAX 100000

/* Load side `param` ("a" or "b") into *s; false after an error answer. */
static bool side(struct request *r, struct store *st, const char *param, struct drift_state *s,
                 int64_t *at_out)
{
	const char *v = req_param(r, param);
	if (!v || !*v) {
		req_error(r, 400, param, "'%s' is required: SYSTEM or SYSTEM@TIME", param);
		return false;
	}
	char *sys = xstrndup(v, strlen(v));
	char *at = strrchr(sys, '@');
	int64_t at_ms = 0;
	if (at) {
		*at++ = '\0';
		if (parse_time(at, r->now_ms, &at_ms) < 0 || at_ms <= 0) {
			req_error(r, 400, param,
			          "bad time '%s' (an ISO-8601 time, epoch seconds or -DURATION)",
			          at);
			free(sys);
			return false;
		}
	}
	*at_out = at_ms;
	char err[512];
	int rc = drift_state_from_store(st, sys, at_ms, s, err, sizeof(err));
	if (rc == -ENOENT)
		req_error(r, 404, param, "%s", err);
	else if (rc < 0)
		req_store_error(r, rc, "frame");
	free(sys);
	return rc == 0;
}

static struct drift_rules rules; /* the built-in rules, parsed once */

static void load_builtin(void)
{
	char err[256];
	drift_rules_load(&rules, NULL, err, sizeof(err));
}

void api_diff(struct request *r)
{
	static const char *const allowed[] = {"a", "b", "all", "limit", "logs", NULL};
	if (req_check_params(r, allowed) < 0)
		return;
	const char *all = req_param(r, "all"), *lim = req_param(r, "limit");
	if (all && strcmp(all, "0") != 0 && strcmp(all, "1") != 0) {
		req_error(r, 400, "all", "'all' is 0 or 1");
		return;
	}
	const char *logs = req_param(r, "logs");
	if (logs && strcmp(logs, "0") != 0 && strcmp(logs, "1") != 0) {
		req_error(r, 400, "logs", "'logs' is 0 or 1");
		return;
	}
	long limit = -1;
	if (lim) {
		char *end;
		limit = strtol(lim, &end, 10);
		if (end == lim || *end || limit < 0 || limit > DIFF_LIMIT_MAX) {
			req_error(r, 400, "limit", "'limit' is a whole number from 0 to %d",
			          DIFF_LIMIT_MAX);
			return;
		}
	}
	struct store *st = req_store(r);
	if (!st)
		return;
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, load_builtin);
	struct drift_state a = {0}, b = {0};
	int64_t at_a = 0, at_b = 0;
	if (side(r, st, "a", &a, &at_a) && side(r, st, "b", &b, &at_b)) {
		struct drift_opts o = {.all = all && !strcmp(all, "1")};
		json_t *d = drift_diff(&a, &b, &rules, &o);
		/* B's new error lines between the two times (docs/logs.md) */
		if (!(logs && !strcmp(logs, "0")))
			drift_logs_add(st, d, a.system, b.system, at_a ? at_a : a.time_ms,
			               at_b ? at_b : r->now_ms);
		json_t *e = json_object_get(d, "entries");
		while (limit >= 0 && json_array_size(e) > (size_t)limit)
			json_array_remove(e, json_array_size(e) - 1);
		char *s = json_dumps(d, JSON_COMPACT);
		if (s) {
			buf_adds(&r->body, s);
			buf_addc(&r->body, '\n');
		}
		free(s);
		json_decref(d);
	}
	drift_state_free(&a);
	drift_state_free(&b);
}
