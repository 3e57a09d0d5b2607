/*
 * request.c - the request as handlers see it: the raw target split and
 * decoded, query parameters, JSON errors and the per-thread store handle.
 *
 * libmicrohttpd percent-decodes the path before a handler sees it, which
 * would make the '/' of a system id like "image:/mnt/x" (sent as
 * image%3A%2Fmnt%2Fx) indistinguishable from a path separator.  So
 * http.c captures the raw request target and req_parse_target() splits
 * it: path segments at '/', then each segment decoded; the query at '&'
 * and '=', then decoded ('+' is a space).  A malformed escape or an
 * encoded NUL is a 400.
 *
 * Store handles: each worker thread opens its own read-only handle on
 * first use and keeps it in the pthread key srv->store_key, whose
 * destructor (req_store_close) closes it when the thread ends.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../store/store.h"
#include "../util/json.h"
#include "../util/util.h"
#include "instance.h"
#include "request.h"

/* ---- per-thread store handles --------------------------------------------- */

void req_store_close(void *p)
{
	store_close(p);
}

struct store *req_store(struct request *r)
{
	struct store *s = pthread_getspecific(r->srv->store_key);
	if (s)
		return s;
	int rc = store_open(r->srv->store_path, STORE_RO, &s);
	if (rc < 0) {
		req_error(r, 503, NULL, "store unavailable: %s", store_errmsg(NULL));
		return NULL;
	}
	pthread_setspecific(r->srv->store_key, s);
	return s;
}

void req_store_error(struct request *r, int rc, const char *what)
{
	struct store *s = pthread_getspecific(r->srv->store_key);
	const char *msg = s ? store_errmsg(s) : "";
	if (!msg)
		msg = "";
	switch (rc) {
	case -ENOENT:
		req_error(r, 404, NULL, "%s not found", what);
		return;
	case -EINVAL:
		req_error(r, 400, NULL, "%s", *msg ? msg : "invalid request");
		return;
	case -ENOTSUP:
		req_error(r, 501, NULL, "not supported by this store: %s", msg);
		return;
	case -EBUSY:
	case -EAGAIN:
		req_error(r, 503, NULL, "store busy, retry: %s", msg);
		return;
	default:
		req_error(r, 500, NULL, "store error (%s): %s", strerror(-rc), msg);
		/* a handle in an unknown state is replaced by the next request */
		store_close(s);
		pthread_setspecific(r->srv->store_key, NULL);
	}
}

/* ---- request helpers -------------------------------------------------------- */

void req_error(struct request *r, int status, const char *param, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->status = status;
	r->content_type = "application/json";
	buf_reset(&r->body);
	struct json j;
	jw_init(&j, &r->body);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "error", msg);
	if (param)
		jw_str(&j, "parameter", param);
	jw_obj_end(&j);
	buf_addc(&r->body, '\n');
}

const char *req_param(const struct request *r, const char *key)
{
	for (int i = 0; i < r->nparam; i++)
		if (strcmp(r->param[i].key, key) == 0)
			return r->param[i].val;
	return NULL;
}

const char *req_var(const struct request *r, const char *name)
{
	size_t n = strlen(name);
	for (int i = 0; i < r->nvar; i++)
		if (r->var[i].name_len == n && memcmp(r->var[i].name, name, n) == 0)
			return r->var[i].val;
	return NULL;
}

int req_check_params(struct request *r, const char *const *allowed)
{
	for (int i = 0; i < r->nparam; i++) {
		const char *k = r->param[i].key;
		bool known = false, repeatable = false;
		for (const char *const *a = allowed; *a; a++) {
			const char *name = **a == '+' ? *a + 1 : *a;
			if (strcmp(name, k) == 0) {
				known = true;
				repeatable = **a == '+';
			}
		}
		if (!known) {
			struct buf names = BUF_INIT;
			for (const char *const *a = allowed; *a; a++)
				buf_printf(&names, "%s%s", a == allowed ? "" : ", ",
				           **a == '+' ? *a + 1 : *a);
			req_error(r, 400, k, "unknown parameter '%s' (this endpoint takes: %s)", k,
			          *allowed ? buf_str(&names) : "none");
			buf_free(&names);
			return -EINVAL;
		}
		for (int m = 0; m < i && !repeatable; m++)
			if (strcmp(r->param[m].key, k) == 0) {
				req_error(r, 400, k, "parameter '%s' given more than once", k);
				return -EINVAL;
			}
	}
	return 0;
}

/* ---- request target --------------------------------------------------------- */

/* Decode [s, s+n) into dst (room for n + 1), NUL-terminated.  -EINVAL on a
 * malformed escape or an encoded NUL. */
static int pct_decode(const char *s, size_t n, bool plus_space, char *dst)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -EINVAL;
			int hi = hex_digit(s[i + 1]);
			int lo = hex_digit(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -EINVAL;
			dst[o++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && plus_space) {
			dst[o++] = ' ';
		} else {
			dst[o++] = c;
		}
	}
	dst[o] = 0;
	return 0;
}

/* The fields "a=1&b" of [p, end) into r->param, decoded into `out` (room
 * for 2 * (end - p) + 2 bytes); `what` ("query", "form") for the errors. */
static int parse_fields(struct request *r, const char *p, const char *end, char *out,
                        const char *what)
{
	while (p < end) {
		const char *e = memchr(p, '&', (size_t)(end - p));
		if (!e)
			e = end;
		if (e == p) {
			p++;
			continue;
		}
		const char *eq = memchr(p, '=', (size_t)(e - p));
		const char *kend = eq ? eq : e;
		if (r->nparam >= REQ_MAX_PARAMS) {
			req_error(r, 400, NULL, "too many %s parameters", what);
			return -EINVAL;
		}
		struct req_param *pr = &r->param[r->nparam];
		pr->key = out;
		if (pct_decode(p, (size_t)(kend - p), true, out) < 0) {
			req_error(r, 400, NULL, "malformed percent-escape in the %s", what);
			return -EINVAL;
		}
		out += strlen(out) + 1;
		pr->val = out;
		if (pct_decode(eq ? eq + 1 : e, eq ? (size_t)(e - eq - 1) : 0, true, out) < 0) {
			req_error(r, 400, pr->key, "malformed percent-escape in parameter '%s'",
			          pr->key);
			return -EINVAL;
		}
		out += strlen(out) + 1;
		if (!pr->key[0]) {
			req_error(r, 400, NULL, "%s parameter without a name", what);
			return -EINVAL;
		}
		r->nparam++;
		p = e;
	}
	return 0;
}

/* The path's segments are decoded first, one after the other in `arena`:
 * route_match() relies on it to join segments in place. */
int req_parse_target(struct request *r, const char *uri, char *arena)
{
	size_t len = strlen(uri);
	/* absolute form "http://host/path" */
	if (strncasecmp(uri, "http://", 7) == 0 || strncasecmp(uri, "https://", 8) == 0) {
		const char *p = strchr(strstr(uri, "//") + 2, '/');
		uri = p ? p : "/";
		len = strlen(uri);
	}
	if (uri[0] != '/') {
		req_error(r, 400, NULL, "request target must start with '/'");
		return -EINVAL;
	}
	const char *q = memchr(uri, '?', len);
	const char *pend = q ? q : uri + len;
	const char *hash = memchr(uri, '#', len);
	if (hash && hash < pend)
		pend = hash;
	char *out = arena;
	for (const char *p = uri; p < pend;) {
		while (p < pend && *p == '/')
			p++;
		if (p >= pend)
			break;
		const char *e = memchr(p, '/', (size_t)(pend - p));
		if (!e)
			e = pend;
		if (r->nseg >= REQ_MAX_SEGS) {
			req_error(r, 400, NULL, "path has too many segments");
			return -EINVAL;
		}
		if (pct_decode(p, (size_t)(e - p), false, out) < 0) {
			req_error(r, 400, NULL, "malformed percent-escape in the path");
			return -EINVAL;
		}
		r->seg[r->nseg++] = out;
		out += strlen(out) + 1;
		p = e;
	}
	if (!q)
		return 0;
	const char *qend = uri + len;
	if (hash && hash > q)
		qend = hash;
	return parse_fields(r, q + 1, qend, out, "query");
}

bool req_type_is(const char *ct, const char *type)
{
	if (!ct)
		return false;
	while (*ct == ' ')
		ct++;
	size_t n = strlen(type);
	if (strncasecmp(ct, type, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return !*ct || *ct == ';';
}

int req_body_json(struct request *r, const char **data, size_t *len)
{
	if (!req_type_is(r->in.type, "application/json")) {
		req_error(r, 415, NULL,
		          "the request body must be JSON (Content-Type: application/json)%s%s",
		          r->in.type ? ", not " : "", r->in.type ? r->in.type : "");
		return -EINVAL;
	}
	if (!r->in.data || !r->in.len) {
		req_error(r, 400, NULL, "the request body is empty (a JSON object expected)");
		return -EINVAL;
	}
	*data = r->in.data;
	*len = r->in.len;
	return 0;
}

int req_form_params(struct request *r)
{
	if (!r->in.data || !r->in.len)
		return 0;
	if (!req_type_is(r->in.type, "application/x-www-form-urlencoded")) {
		req_error(r, 415, NULL,
		          "the request body must be a form (Content-Type: "
		          "application/x-www-form-urlencoded)%s%s",
		          r->in.type ? ", not " : "", r->in.type ? r->in.type : "");
		return -EINVAL;
	}
	if (r->form_arena) /* read already */
		return 0;
	r->form_arena = malloc(2 * r->in.len + 2);
	if (!r->form_arena) {
		req_error(r, 503, NULL, "out of memory for a %zu-byte form", r->in.len);
		return -EINVAL;
	}
	if (memchr(r->in.data, 0, r->in.len)) {
		req_error(r, 400, NULL, "the form holds a NUL byte");
		return -EINVAL;
	}
	return parse_fields(r, r->in.data, r->in.data + r->in.len, r->form_arena, "form");
}
