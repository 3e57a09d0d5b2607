/*
 * api_alarms.c - the alarm endpoints (api_alarms.h, docs/api.md).
 *
 * Reads (the list, one alarm, the history, backtests) go through this
 * thread's read-only store handle or the daemon's engine, so they work
 * under `vantage api` too, where the alarms are as the daemon last left
 * them in the store.  Writes (PUT, DELETE, silence, ack) go to the
 * daemon's engine (r->srv->alarms); without one they are answered 503
 * naming `vantage serve`.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../analytics/alarm.h"
#include "../analytics/alarm_engine.h"
#include "../analytics/alarm_run.h"
#include "../store/store.h"
#include "../util/timefmt.h"
#include "api_alarms.h"
#include "instance.h"
#include "request.h"

#define DEFAULT_TEST_SINCE_MS (24 * 3600 * 1000LL)
#define MAX_HISTORY 10000

static struct alarm_engine *engine(struct request *r)
{
	return atomic_load(&r->srv->alarms);
}

static bool need_engine(struct request *r, struct alarm_engine **e)
{
	*e = engine(r);
	if (*e)
		return true;
	req_error(r, 503, NULL,
	          "alarms are changed through the daemon: this server reads a store file "
	          "(vantage api); run `vantage serve` to change them");
	return false;
}

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

static void answer_alarms(struct request *r, const char *name)
{
	struct alarm_engine *e = engine(r);
	int rc;
	buf_reset(&r->body);
	if (e) {
		rc = alarm_engine_json(e, name, &r->body);
	} else {
		struct store *s = req_store(r);
		if (!s)
			return;
		rc = alarm_store_json(s, name, &r->body);
	}
	if (rc == -ENOENT) {
		req_error(r, 404, NULL, "no alarm '%s'", name);
	} else if (rc < 0) {
		req_error(r, 500, NULL, "cannot read the alarms: %s", strerror(-rc));
	}
}

void api_alarms(struct request *r)
{
	static const char *const allowed[] = {NULL};
	if (req_check_params(r, allowed) < 0)
		return;
	answer_alarms(r, NULL);
}

void api_alarm_get(struct request *r)
{
	static const char *const allowed[] = {NULL};
	if (req_check_params(r, allowed) < 0)
		return;
	answer_alarms(r, req_var(r, "name"));
}

void api_alarm_history(struct request *r)
{
	static const char *const allowed[] = {"alarm", "system", "type", "since",
	                                      "until", "limit",  NULL};
	if (req_check_params(r, allowed) < 0)
		return;
	struct store_event_filter f = {.subject = req_param(r, "alarm"),
	                               .system = req_param(r, "system"),
	                               .type = req_param(r, "type"),
	                               .limit = 1000};
	if (f.type && strcmp(f.type, "config") != 0 && strcmp(f.type, "state") != 0 &&
	    strcmp(f.type, "action") != 0) {
		req_error(r, 400, "type", "type '%s' is not one of config, state, action", f.type);
		return;
	}
	if (time_param(r, "since", 0, &f.from_ms) < 0 || time_param(r, "until", 0, &f.to_ms) < 0)
		return;
	const char *lim = req_param(r, "limit");
	if (lim) {
		char *end;
		long v = strtol(lim, &end, 10);
		if (*end || end == lim || v < 1 || v > MAX_HISTORY) {
			req_error(r, 400, "limit", "limit '%s' is not a number from 1 to %d", lim,
			          MAX_HISTORY);
			return;
		}
		f.limit = (size_t)v;
	}
	struct store *s = req_store(r);
	if (!s)
		return;
	buf_reset(&r->body);
	int rc = alarm_history_json(s, &f, &r->body);
	if (rc < 0)
		req_store_error(r, rc, "history");
}

void api_alarm_put(struct request *r)
{
	struct alarm_engine *e;
	if (!need_engine(r, &e))
		return;
	const char *name = req_var(r, "name"), *j;
	size_t n;
	if (req_body_json(r, &j, &n) < 0)
		return;
	struct alarm_def d; /* set by alarm_def_from_json() */
	char err[512];
	int rc = alarm_def_from_json(&d, name, j, n, err, sizeof(err));
	if (rc == 0 && d.selector)
		rc = alarm_selector_check(d.selector, err, sizeof(err));
	if (rc < 0) {
		req_error(r, 400, NULL, "alarm '%s': %s", name, err);
		alarm_def_free(&d);
		return;
	}
	rc = alarm_engine_put(e, &d, err, sizeof(err));
	alarm_def_free(&d);
	if (rc == -EPERM) {
		req_error(r, 409, NULL, "%s", err);
		return;
	}
	if (rc < 0) {
		req_error(r, rc == -EINVAL ? 400 : 500, NULL, "alarm '%s': %s", name, err);
		return;
	}
	answer_alarms(r, name);
}

void api_alarm_delete(struct request *r)
{
	struct alarm_engine *e;
	if (!need_engine(r, &e))
		return;
	const char *name = req_var(r, "name");
	int rc = alarm_engine_delete(e, name);
	if (rc == -ENOENT) {
		req_error(r, 404, NULL, "no alarm '%s'", name);
		return;
	}
	if (rc == -EPERM) {
		req_error(r, 409, NULL,
		          "alarm '%s' is defined in the config file: remove it there (and reload "
		          "with SIGHUP)",
		          name);
		return;
	}
	buf_reset(&r->body);
	struct json jw;
	jw_init(&jw, &r->body);
	jw_obj_begin(&jw, NULL);
	jw_str(&jw, "deleted", name);
	jw_obj_end(&jw);
}

void api_alarm_test(struct request *r)
{
	static const char *const allowed[] = {"since", "until", NULL};
	if (req_check_params(r, allowed) < 0)
		return;
	const char *name = req_var(r, "name");
	int64_t from, to;
	if (time_param(r, "since", r->now_ms - DEFAULT_TEST_SINCE_MS, &from) < 0 ||
	    time_param(r, "until", r->now_ms, &to) < 0)
		return;
	struct store *s = req_store(r);
	if (!s)
		return;
	struct alarm_def d; /* set by alarm_def_from_json() or alarm_store_def() */
	char err[512];
	int rc;
	if (r->in.data && r->in.len) {
		const char *j;
		size_t n;
		if (req_body_json(r, &j, &n) < 0)
			return;
		rc = alarm_def_from_json(&d, name, j, n, err, sizeof(err));
		if (rc < 0) {
			req_error(r, 400, NULL, "alarm '%s': %s", name, err);
			alarm_def_free(&d);
			return;
		}
	} else {
		rc = alarm_store_def(s, name, &d, err, sizeof(err));
		if (rc < 0) {
			req_error(r, rc == -ENOENT ? 404 : 500, NULL, "%s", err);
			alarm_def_free(&d);
			return;
		}
	}
	struct buf tr = BUF_INIT;
	rc = alarm_backtest(s, &d, from, to, &tr, err, sizeof(err));
	if (rc < 0) {
		req_error(r, rc == -EINVAL ? 400 : 500, NULL, "%s", err);
	} else {
		char a[40], b[40];
		format_time_utc(from * 1000000, a, sizeof(a));
		format_time_utc(to * 1000000, b, sizeof(b));
		buf_reset(&r->body);
		struct json jw;
		jw_init(&jw, &r->body);
		jw_obj_begin(&jw, NULL);
		jw_str(&jw, "alarm", name);
		jw_str(&jw, "from", a);
		jw_str(&jw, "to", b);
		struct buf def = BUF_INIT;
		struct json dj;
		jw_init(&dj, &def);
		alarm_def_json(&d, &dj);
		jw_raw(&jw, "definition", buf_str(&def), def.len);
		buf_free(&def);
		jw_raw(&jw, "transitions", buf_str(&tr), tr.len);
		jw_obj_end(&jw);
	}
	buf_free(&tr);
	alarm_def_free(&d);
}

/* POST .../silence and .../ack: {"system", "until" | "for", "comment"}. */
static void mute(struct request *r, bool ack)
{
	struct alarm_engine *e;
	if (!need_engine(r, &e))
		return;
	const char *name = req_var(r, "name"), *j;
	size_t n;
	if (req_body_json(r, &j, &n) < 0)
		return;
	json_error_t je;
	json_t *doc = json_loadb(j, n, 0, &je);
	if (!json_is_object(doc)) {
		req_error(r, 400, NULL, "the body is not a JSON object: %s", je.text);
		json_decref(doc);
		return;
	}
	const char *key;
	json_t *v;
	json_object_foreach(doc, key, v)
	{
		if (strcmp(key, "system") != 0 && strcmp(key, "until") != 0 &&
		    strcmp(key, "for") != 0 && strcmp(key, "comment") != 0) {
			req_error(r, 400, key, "%s: unknown member (system, until, for, comment)",
			          key);
			json_decref(doc);
			return;
		}
	}
	const char *sys = json_string_value(json_object_get(doc, "system"));
	const char *until = json_string_value(json_object_get(doc, "until"));
	const char *dur = json_string_value(json_object_get(doc, "for"));
	const char *comment = json_string_value(json_object_get(doc, "comment"));
	int64_t t = 0;
	if (until && dur) {
		req_error(r, 400, "for", "give until or for, not both");
	} else if (until && parse_time(until, r->now_ms, &t) < 0) {
		req_error(r, 400, "until",
		          "until '%s' is not a time (ISO-8601 UTC or epoch seconds)", until);
	} else if (dur && (parse_duration_ms(dur, &t) < 0 || t <= 0)) {
		req_error(r, 400, "for", "for '%s' is not a duration (30m, 2h, 1d)", dur);
	} else if (!until && !dur) {
		req_error(r, 400, "until", "give until (a time) or for (a duration)");
	} else {
		if (dur)
			t += r->now_ms;
		char err[512];
		int rc = ack ? alarm_engine_ack(e, name, sys, t, comment, err, sizeof(err))
		             : alarm_engine_silence(e, name, sys, t, comment, err, sizeof(err));
		if (rc < 0)
			req_error(r,
			          rc == -ENOENT   ? 404
			          : rc == -EINVAL ? 400
			                          : 500,
			          NULL, "%s", err);
		else
			answer_alarms(r, name);
	}
	json_decref(doc);
}

void api_alarm_silence(struct request *r)
{
	mute(r, false);
}

void api_alarm_ack(struct request *r)
{
	mute(r, true);
}
