/*
 * api.c - the REST endpoints under /api/v1 (docs/api.md documents each):
 *
 *   GET /api/v1/health
 *   GET /api/v1/systems?kind=&runtime=&label=&gone=
 *   GET /api/v1/systems/{id}/frame?at=&feature=
 *   GET /api/v1/systems/{id}/metrics
 *   GET /api/v1/systems/{id}/metrics/{name}?since=&until=&step=&stat=
 *
 * Each handler checks its parameters first (unknown or repeated ones are
 * refused, every value is validated and a bad one answered with a 400
 * naming it), then asks the store on this thread's read-only handle; the
 * store writes the JSON.  The path variables ({id}, {name}) come from the
 * route table (endpoints.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/version.h"
#include "../features/feature.h"
#include "../store/store.h"
#include "../util/json.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "api.h"
#include "instance.h"
#include "request.h"

#define MAX_POINTS 100000
#define DEFAULT_SINCE_MS (3600 * 1000LL)
#define DEFAULT_STEP_MS (60 * 1000LL)

/* ---- helpers ----------------------------------------------------------------- */

static void iso(int64_t ms, char *dst, size_t cap)
{
	format_time_utc(ms * 1000000, dst, cap);
}

/* A time parameter; -1 with a 400 answer when malformed. */
static int time_param(struct request *r, const char *name, int64_t dflt, int64_t *out)
{
	const char *v = req_param(r, name);
	if (!v) {
		*out = dflt;
		return 0;
	}
	if (parse_time(v, r->now_ms, out) < 0) {
		req_error(r, 400, name,
		          "%s '%s' is not a time: use ISO-8601 UTC (2026-11-22T10:00:00Z), epoch "
		          "seconds, or a duration before now (30s, 5m, 1h, 2d)",
		          name, v);
		return -1;
	}
	return 0;
}

/* ---- GET /api/v1/health --------------------------------------------------------- */

/* A daemon with an error to show or frames waiting for the store. */
static bool daemon_degraded(struct server_stats *st)
{
	if (!st)
		return false;
	pthread_mutex_lock(&st->lock);
	bool err = st->last_error[0] != 0;
	pthread_mutex_unlock(&st->lock);
	return err || atomic_load(&st->pending_frames) > 0;
}

static void daemon_json(struct request *r, struct json *j)
{
	struct server *srv = r->srv;
	struct server_stats *st = srv->stats;
	char t[40];
	jw_obj_begin(j, "daemon");
	jw_str(j, "mode", st ? "serve" : "api");
	jw_str(j, "version", VANTAGE_VERSION);
	int64_t started = st ? atomic_load(&st->started_ms) : srv->started_ms;
	iso(started, t, sizeof(t));
	jw_str(j, "started", t);
	jw_double(j, "uptime_s", (double)(r->now_ms - started) / 1000.0, 3);
	jw_str(j, "listen", srv->address);
	jw_bool(j, "auth", srv->auth.token != NULL);
	if (!st) {
		jw_bool(j, "read_only", true);
		jw_obj_end(j);
		return;
	}
	jw_uint(j, "frames_stored", atomic_load(&st->frames_stored));
	jw_uint(j, "frames_failed", atomic_load(&st->frames_failed));
	jw_uint(j, "records_stored", atomic_load(&st->records_stored));
	jw_int(j, "last_frame_id", atomic_load(&st->last_frame_id));
	jw_uint(j, "crawls", atomic_load(&st->crawls));
	jw_uint(j, "crawl_errors", atomic_load(&st->crawl_errors));
	int64_t last = atomic_load(&st->last_crawl_ms);
	if (last > 0) {
		iso(last, t, sizeof(t));
		jw_str(j, "last_crawl", t);
	} else {
		jw_null(j, "last_crawl");
	}
	jw_double(j, "last_crawl_duration_ms", (double)atomic_load(&st->last_crawl_us) / 1000.0, 3);
	jw_int(j, "pending_frames", atomic_load(&st->pending_frames));
	jw_int(j, "systems", atomic_load(&st->systems));
	char errmsg[sizeof(st->last_error)];
	pthread_mutex_lock(&st->lock);
	memcpy(errmsg, st->last_error, sizeof(errmsg));
	pthread_mutex_unlock(&st->lock);
	errmsg[sizeof(errmsg) - 1] = 0;
	if (errmsg[0])
		jw_str(j, "last_error", errmsg);
	else
		jw_null(j, "last_error");
	jw_obj_end(j);
}

void api_health(struct request *r)
{
	static const char *const allowed[] = {NULL};
	if (req_check_params(r, allowed) < 0)
		return;
	struct store *s = req_store(r);
	struct buf stats = BUF_INIT;
	char err[512] = "";
	int rc = s ? store_stats_json(s, &stats) : -EIO;
	if (!s)
		snprintf(err, sizeof(err), "store unavailable: %s", store_errmsg(NULL));
	else if (rc < 0)
		snprintf(err, sizeof(err), "store: %s (%s)", store_errmsg(s), strerror(-rc));

	buf_reset(&r->body);
	struct json j;
	jw_init(&j, &r->body);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "status", rc < 0 ? "error" : daemon_degraded(r->srv->stats) ? "degraded" : "ok");
	char t[40];
	iso(r->now_ms, t, sizeof(t));
	jw_str(&j, "time", t);
	if (rc == 0)
		jw_raw(&j, "store", stats.data, stats.len);
	else
		jw_str(&j, "error", err);
	daemon_json(r, &j);
	jw_obj_end(&j);
	buf_addc(&r->body, '\n');
	r->status = rc < 0 ? 503 : 200;
	buf_free(&stats);
}

/* ---- GET /api/v1/systems ------------------------------------------------------------ */

void api_systems(struct request *r)
{
	static const char *const allowed[] = {"kind", "runtime", "label", "gone", NULL};
	static const char *const kinds[] = {"host", "container", "vm", "image"};
	if (req_check_params(r, allowed) < 0)
		return;
	struct store_system_filter f = {.gone = -1};
	f.kind = req_param(r, "kind");
	if (f.kind) {
		bool ok = false;
		for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
			ok |= strcmp(kinds[i], f.kind) == 0;
		if (!ok) {
			req_error(r, 400, "kind", "unknown kind '%s' (host, container, vm, image)",
			          f.kind);
			return;
		}
	}
	f.runtime = req_param(r, "runtime");
	if (f.runtime && !*f.runtime) {
		req_error(r, 400, "runtime", "runtime is empty (podman, docker, containerd, ...)");
		return;
	}
	f.label = req_param(r, "label");
	if (f.label && (!*f.label || f.label[0] == '=')) {
		req_error(r, 400, "label", "label '%s': expected KEY=VALUE or KEY", f.label);
		return;
	}
	const char *gone = req_param(r, "gone");
	if (gone) {
		if (strcmp(gone, "true") == 0)
			f.gone = 1;
		else if (strcmp(gone, "false") == 0)
			f.gone = 0;
		else if (strcmp(gone, "any") != 0) {
			req_error(r, 400, "gone", "gone '%s': expected true, false or any", gone);
			return;
		}
	}
	struct store *s = req_store(r);
	if (!s)
		return;
	struct buf list = BUF_INIT;
	int rc = store_systems_json(s, &f, &list);
	if (rc < 0) {
		req_store_error(r, rc, "systems");
	} else {
		buf_reset(&r->body);
		buf_adds(&r->body, "{\"systems\":");
		buf_add(&r->body, list.data ? list.data : "[]", list.data ? list.len : 2);
		buf_adds(&r->body, "}\n");
	}
	buf_free(&list);
}

/* ---- GET /api/v1/systems/{id}/frame ----------------------------------------------------- */

void api_frame(struct request *r)
{
	const char *system_id = req_var(r, "id");
	static const char *const allowed[] = {"at", "feature", NULL};
	if (req_check_params(r, allowed) < 0)
		return;
	int64_t at;
	if (time_param(r, "at", 0, &at) < 0)
		return;
	if (req_param(r, "at") && at <= 0)
		at = 1; /* before any frame, not "latest" */
	const char *feature = req_param(r, "feature");
	if (feature && !feature_find(feature)) {
		struct buf names = BUF_INIT;
		for (size_t i = 0; i < feature_count; i++)
			buf_printf(&names, "%s%s", i ? ", " : "", feature_table[i]->name);
		req_error(r, 400, "feature", "unknown feature '%s' (%s)", feature, buf_str(&names));
		buf_free(&names);
		return;
	}
	struct store *s = req_store(r);
	if (!s)
		return;
	int rc = store_frame_json(s, system_id, at, feature, &r->body);
	if (rc == -ENOENT) {
		char t[40];
		iso(at, t, sizeof(t));
		const char *m = store_errmsg(s);
		if (m && *m)
			req_error(r, 404, NULL, "%s", m);
		else if (at)
			req_error(r, 404, NULL, "no frame of system '%s' at or before %s",
			          system_id, t);
		else
			req_error(r, 404, NULL, "unknown system '%s'", system_id);
	} else if (rc < 0) {
		req_store_error(r, rc, "frame");
	} else {
		buf_addc(&r->body, '\n');
	}
}

/* ---- GET /api/v1/systems/{id}/metrics ------------------------------------------------- */

void api_metric_names(struct request *r)
{
	const char *system_id = req_var(r, "id");
	static const char *const allowed[] = {NULL};
	if (req_check_params(r, allowed) < 0)
		return;
	struct store *s = req_store(r);
	if (!s)
		return;
	struct buf names = BUF_INIT;
	int rc = store_metric_names_json(s, system_id, &names);
	if (rc == -ENOENT) {
		const char *m = store_errmsg(s);
		req_error(r, 404, NULL, "%s", m && *m ? m : "unknown system");
	} else if (rc < 0) {
		req_store_error(r, rc, "metrics");
	} else {
		struct json j;
		jw_init(&j, &r->body);
		jw_obj_begin(&j, NULL);
		jw_str(&j, "system", system_id);
		jw_raw(&j, "metrics", names.data ? names.data : "[]", names.data ? names.len : 2);
		jw_obj_end(&j);
		buf_addc(&r->body, '\n');
	}
	buf_free(&names);
}

/* ---- GET /api/v1/systems/{id}/metrics/{name} ------------------------------------------ */

/*
 * The store's series selector: the metric name, with the `label=KEY=VALUE`
 * parameters as NAME{KEY="VALUE",...} (values quoted, '"' and '\\'
 * escaped).  A name that already holds a selector is taken as it is.
 */
static int selector(struct request *r, const char *metric, struct buf *out)
{
	buf_adds(out, metric);
	int n = 0;
	for (int i = 0; i < r->nparam; i++) {
		if (strcmp(r->param[i].key, "label") != 0)
			continue;
		const char *l = r->param[i].val, *eq = strchr(l, '=');
		const char *bad = strpbrk(l, "{}\",");
		if (!eq || eq == l || (bad && bad < eq)) {
			req_error(r, 400, "label", "label '%s': expected KEY=VALUE (mountpoint=/)",
			          l);
			return -1;
		}
		if (strchr(metric, '{') || ++n > 8) {
			req_error(
			    r, 400, "label",
			    "at most 8 label parameters, and none with a {selector} in the name");
			return -1;
		}
		buf_addc(out, n == 1 ? '{' : ',');
		buf_add(out, l, (size_t)(eq - l));
		buf_adds(out, "=\"");
		for (const char *p = eq + 1; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_addc(out, '\\');
			buf_addc(out, *p);
		}
		buf_addc(out, '"');
	}
	if (n)
		buf_addc(out, '}');
	return 0;
}

void api_series(struct request *r)
{
	const char *system_id = req_var(r, "id"), *metric = req_var(r, "name");
	static const char *const allowed[] = {"since", "until", "step", "stat", "+label", NULL};
	static const char *const stats[] = {"avg",   "min", "max", "sum",
	                                    "count", "p50", "p90", "p99"};
	if (req_check_params(r, allowed) < 0)
		return;
	int64_t since, until, step = DEFAULT_STEP_MS;
	if (time_param(r, "since", r->now_ms - DEFAULT_SINCE_MS, &since) < 0 ||
	    time_param(r, "until", r->now_ms, &until) < 0)
		return;
	if (until <= since) {
		req_error(r, 400, req_param(r, "until") ? "until" : "since",
		          "the range is empty: since must be before until");
		return;
	}
	const char *sv = req_param(r, "step");
	if (sv && (parse_duration_ms(sv, &step) < 0 || step < 1000)) {
		req_error(r, 400, "step", "step '%s' is not a duration of 1s or more (10s, 1m, 1h)",
		          sv);
		return;
	}
	if ((until - since) / step > MAX_POINTS) {
		req_error(
		    r, 400, "step",
		    "step %s makes %lld points over the range (at most %d); use a larger step",
		    sv ? sv : "1m", (long long)((until - since) / step), MAX_POINTS);
		return;
	}
	const char *stat = req_param(r, "stat");
	if (!stat)
		stat = "avg";
	bool ok = false;
	for (size_t i = 0; i < ARRAY_SIZE(stats); i++)
		ok |= strcmp(stats[i], stat) == 0;
	if (!ok) {
		req_error(r, 400, "stat",
		          "unknown stat '%s' (avg, min, max, sum, count, p50, p90, p99)", stat);
		return;
	}
	struct buf sel = BUF_INIT;
	if (selector(r, metric, &sel) < 0) {
		buf_free(&sel); /* it already holds the name: up to 32 KB per request */
		return;
	}
	struct store *s = req_store(r);
	if (s) {
		int rc = store_series_json(s, system_id, buf_str(&sel), since, until, step, stat,
		                           &r->body);
		if (rc == -ENOENT) {
			const char *m = store_errmsg(s);
			req_error(r, 404, NULL, "%s", m && *m ? m : "unknown system or metric");
		} else if (rc == -EINVAL) {
			req_error(r, 400, NULL, "%s", store_errmsg(s));
		} else if (rc < 0) {
			req_store_error(r, rc, "series");
		} else {
			buf_addc(&r->body, '\n');
		}
	}
	buf_free(&sel);
}
