/*
 * fuzz_http.c - HTTP requests as the server's handlers get them, in
 * process (no socket): the bearer token check (src/server/auth.c), the
 * request target splitter (req_parse_target, src/server/request.c), the
 * route table and its checks (route_prepare, src/server/router.c), then
 * the endpoint's handler (route_run: api*.c, prometheus.c, api_prom.c,
 * ui_files.c) with its query parameters (window, group, since, step,
 * query, q ...), form and JSON bodies, against a small SQLite store made
 * once (a host and a container, metric frames a minute apart).  An alarm
 * definition PUT is also given to the parsers the daemon's handler calls
 * after its engine check (alarm_def_from_json, alarm_selector_check), its
 * definition written back as JSON and read again.
 *
 * The input is a request in a small text form:
 *     METHOD SP TARGET LF
 *     Name: value LF ...      (Content-Type, Authorization)
 *     LF
 *     body
 * Checked: the status is an HTTP status; an answer declared JSON is one
 * JSON value, an error's with an "error" member; no 500 (the store is
 * sound: a 500 means a parameter reached it unchecked); every allocation
 * freed.
 *
 * Seeds (fuzz/corpus/http/): the requests of docs/api.md and
 * tests/integration/api.sh, prometheus.sh, alarms.sh, flows.sh, logs.sh.
 */
#include "fuzz.h"

#include "analytics/alarm.h"
#include "analytics/alarm_run.h"
#include "server/auth.h"
#include "server/instance.h"
#include "server/request.h"
#include "server/router.h"
#include "server/ui_files.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/jscan.h"
#include "util/json.h"
#include "util/timefmt.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN "fuzz-token-0123456789abcdef"
#define HOST "host:0123456789abcdef0123456789abcdef"
#define CTR "container:podman:0123456789ab"

static struct server srv;
static int64_t now_ms;

/* A frame of system `sid` at t: header, os, metric records. */
static void put_frame(struct store *s, const char *sid, const char *kind, int64_t t, int i)
{
	char iso[40];
	struct buf b = BUF_INIT;
	format_time_utc(t * 1000000, iso, sizeof(iso));
	buf_printf(&b,
	           "{\"system\":\"%s\",\"time\":\"%s\",\"feature\":\"frame\",\"key\":\"%s\","
	           "\"value\":{\"id\":\"%s\",\"name\":\"web-%s\",\"kind\":\"%s\",%s"
	           "\"labels\":{\"app\":\"web\"},\"host\":\"box\",\"time\":\"%s\","
	           "\"features\":[\"os\",\"metric\",\"package\"],\"duration_ms\":1.5,\"records\":6,"
	           "\"errors\":{},\"feature_ms\":{\"metric\":1}}}\n",
	           sid, iso, sid, sid, kind, kind,
	           strcmp(kind, "container") == 0
	               ? "\"runtime\":\"podman\",\"image\":\"docker.io/library/nginx:1.25\","
	               : "",
	           iso);
	const char *pre = "{\"system\":\"%s\",\"time\":\"%s\",";
	buf_printf(&b, pre, sid, iso);
	buf_printf(&b,
	           "\"feature\":\"os\",\"key\":\"linux\",\"value\":{\"name\":\"Debian "
	           "GNU/Linux\",\"version\":\"12\",\"kernel\":\"6.1.0-%d-amd64\"}}\n",
	           20 + (i > 1));
	buf_printf(&b, pre, sid, iso);
	buf_printf(&b,
	           "\"feature\":\"package\",\"key\":\"openssl\",\"value\":{\"name\":\"openssl\","
	           "\"version\":\"3.0.%d\",\"manager\":\"dpkg\"}}\n",
	           11 + i);
	buf_printf(&b, pre, sid, iso);
	buf_printf(&b,
	           "\"feature\":\"metric\",\"key\":\"cpu\",\"value\":{\"used_pct\":%d.5,"
	           "\"user_pct\":%d,\"system_pct\":1.25}}\n",
	           10 + i * 7, 5 + i);
	buf_printf(&b, pre, sid, iso);
	buf_printf(&b,
	           "\"feature\":\"metric\",\"key\":\"memory\",\"value\":{\"total_kb\":8000000,"
	           "\"used_kb\":%d,\"used_pct\":%d.25}}\n",
	           4000000 + i * 1000, 50 + i);
	buf_printf(&b, pre, sid, iso);
	buf_printf(&b,
	           "\"feature\":\"metric\",\"key\":\"disk:/\",\"value\":{\"used_pct\":%d,"
	           "\"size_bytes\":1000000000}}\n",
	           40 + i);
	int64_t id;
	if (store_put_frame(s, b.data, b.len, &id) < 0) {
		fprintf(stderr, "fuzz_http: store_put_frame: %s\n", store_errmsg(s));
		abort();
	}
	buf_free(&b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char url[512];
	snprintf(url, sizeof(url), "sqlite:%s/store.db", fuzz_tmpdir());
	struct store *s;
	if (store_open(url, STORE_RW, &s) < 0) {
		fprintf(stderr, "fuzz_http: %s: %s\n", url, store_errmsg(NULL));
		abort();
	}
	now_ms = (now_ns() / 1000000) / 1000 * 1000;
	for (int i = 0; i < 4; i++) {
		put_frame(s, HOST, "host", now_ms - (4 - i) * 60000, i);
		put_frame(s, CTR, "container", now_ms - (4 - i) * 60000 + 500, i);
	}
	store_close(s);
	srv.store_path = url;
	srv.ui_fd = -1;
	srv.loopback = true;
	srv.started_ms = now_ms - 3600000;
	snprintf(srv.address, sizeof(srv.address), "127.0.0.1:7070");
	char err[256];
	if (auth_init(&srv.auth, TOKEN, err, sizeof(err)) < 0 ||
	    pthread_key_create(&srv.store_key, req_store_close) != 0)
		abort();
	srv.key_made = true;
	return 0;
}

/* ---- checks -------------------------------------------------------------------- */

static bool one_json(const char *p, size_t n)
{
	const char *end = p + n, *q = js_ws(p, end);
	const char *after = q < end ? js_skip(q, end, 0) : NULL;
	return after && js_ws(after, end) == end;
}

static void check_answer(const struct request *r)
{
	if (r->status < 100 || r->status > 599)
		__builtin_trap();
	if (r->status == 500)
		__builtin_trap(); /* a sound store: something reached it unchecked */
	bool json = !r->content_type || strstr(r->content_type, "json");
	if (json && r->body.len && !one_json(r->body.data, r->body.len))
		__builtin_trap();
	if (json && r->status >= 400 && r->body.len &&
	    !memmem(r->body.data, r->body.len, "\"error\":", 8))
		__builtin_trap();
}

/* The PUT handler's parsers, after its engine check: definition from
 * JSON, selector; the definition written back reads back the same. */
static void alarm_body(const char *name, const char *body, size_t len)
{
	struct alarm_def d, d2;
	char err[512];
	int rc = alarm_def_from_json(&d, name, body, len, err, sizeof(err)); /* sets d */
	if (rc == 0 && d.selector)
		rc = alarm_selector_check(d.selector, err, sizeof(err));
	if (rc == 0) {
		struct buf a = BUF_INIT, b = BUF_INIT;
		struct json j;
		jw_init(&j, &a);
		alarm_def_json(&d, &j);
		if (!one_json(a.data, a.len))
			__builtin_trap();
		if (alarm_def_from_json(&d2, name, a.data, a.len, err, sizeof(err)) != 0)
			__builtin_trap(); /* what we write we read */
		jw_init(&j, &b);
		alarm_def_json(&d2, &j);
		if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
			__builtin_trap();
		alarm_def_free(&d2);
		buf_free(&a);
		buf_free(&b);
	}
	alarm_def_free(&d);
}

/* ---- the request ----------------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = fuzz_strdup(data, size);
	char *end = in + size;
	/* request line */
	char *nl = memchr(in, '\n', size);
	char *line_end = nl ? nl : end;
	*line_end = 0;
	char *sp = strchr(in, ' ');
	if (!sp || sp == in) {
		free(in);
		return 0;
	}
	*sp = 0;
	const char *method = in, *target = sp + 1;
	if (strlen(target) != (size_t)(line_end - target)) { /* a NUL in it: not HTTP */
		free(in);
		return 0;
	}
	/* headers up to an empty line, then the body */
	const char *type = NULL, *authz = NULL, *body = NULL;
	size_t blen = 0;
	char *p = nl ? nl + 1 : end;
	while (p < end) {
		char *e = memchr(p, '\n', (size_t)(end - p));
		char *le = e ? e : end;
		if (le == p) {
			body = e ? e + 1 : end;
			blen = (size_t)(end - body);
			break;
		}
		*le = 0;
		if (strncasecmp(p, "Content-Type: ", 14) == 0)
			type = p + 14;
		else if (strncasecmp(p, "Authorization: ", 15) == 0)
			authz = p + 15;
		p = le + 1;
	}

	bool authed = auth_ok(&srv.auth, authz);
	(void)ui_files_public(method, target);

	struct request *r = calloc(1, sizeof(*r));
	char *arena = malloc(2 * strlen(target) + 2);
	r->srv = &srv;
	r->method = method;
	r->status = 200;
	r->now_ms = now_ms;
	r->may_write = authed || !authz; /* loopback without a token; with one, the right one */
	if (req_parse_target(r, target, arena) == 0 && route_prepare(r) == 0) {
		if (route_method_has_body(method)) {
			r->in.type = type;
			r->in.data = blen ? body : NULL;
			r->in.len = blen;
		}
		if (strcmp(method, "PUT") == 0 && r->route && r->route->put && body &&
		    req_var(r, "name"))
			alarm_body(req_var(r, "name"), body, blen);
		route_run(r);
		if (r->stream_free)
			r->stream_free(r->stream_ctx);
	}
	check_answer(r);
	buf_free(&r->body);
	free(r->form_arena);
	free(r);
	free(arena);
	free(in);
	return 0;
}
