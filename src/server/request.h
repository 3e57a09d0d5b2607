/*
 * request.h - one HTTP request as an endpoint handler sees it, and the
 * helpers every handler calls: query parameters, JSON error answers and
 * this thread's read-only store handle.
 *
 * A handler reads r->seg / req_var() / req_param(), checks its
 * parameters with req_check_params(), and leaves its answer in r->status,
 * r->body and r->content_type (200, JSON by default); http.c sends it.
 * A request lives on one worker thread from start to end.
 *
 * Request bodies (PUT, DELETE, POST): read whole by http.c before the
 * handler runs, at most REQ_BODY_MAX bytes (413 beyond), into r->in.  A
 * handler that takes JSON calls req_body_json() (415 unless the client
 * said application/json, which also keeps browsers' cross-site "simple"
 * requests out); one that takes a form calls req_form_params(), after
 * which the form's fields are read with req_param() like the query's.
 */
#ifndef VANTAGE_SERVER_REQUEST_H
#define VANTAGE_SERVER_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../util/buf.h"

#define REQ_MAX_PARAMS 32
#define REQ_MAX_SEGS 64
#define REQ_MAX_VARS 4
#define REQ_BODY_MAX (1024 * 1024) /* bytes of a request body */

struct route;
struct server;
struct store;

struct req_param {
	char *key, *val; /* decoded, NUL-free */
};

/* A path variable of the matched route: "{id}" in the pattern gives
 * name "id" (name_len 2, pointing into the pattern). */
struct req_var {
	const char *name;
	size_t name_len;
	const char *val;
};

struct request {
	struct server *srv;
	const char *method;
	/* Path: decoded segments of the path ("api", "v1", "systems", ...),
	 * stored one after the other (each NUL-terminated) in one block. */
	char *seg[REQ_MAX_SEGS];
	int nseg;
	struct req_param param[REQ_MAX_PARAMS];
	int nparam;
	struct req_var var[REQ_MAX_VARS]; /* set by route_match() */
	int nvar;
	const struct route *route; /* set by route_prepare() */
	/* The request body (PUT, DELETE, POST), NUL-terminated (len excludes
	 * the NUL; data NULL when none was sent), and its Content-Type (NULL
	 * when none). */
	struct {
		const char *data;
		size_t len;
		const char *type;
	} in;
	char *form_arena; /* req_form_params()'s decoded fields; freed by http.c */
	bool may_write;   /* PUT, DELETE, POST allowed (router.h) */
	char allow[32];   /* the methods of a 405's Allow header */
	/* The answer, filled by the handler. */
	int status;
	struct buf body;
	const char *content_type; /* default application/json */
	int64_t now_ms;           /* when the request started */
	/* Static files (ui_files.c): request headers (NULL when absent) and
	 * the answer's caching headers (cache_control NULL: no-store; etag,
	 * last_modified and csp empty: none). */
	const char *if_none_match, *if_modified_since;
	const char *cache_control;
	char etag[48], last_modified[40];
	bool csp; /* the dashboard page's Content-Security-Policy */
	/* A streamed answer (the logs' live tail, api_logs.c): when
	 * stream_read is set, http.c sends a response of unknown length whose
	 * bytes stream_read gives (libmicrohttpd's content reader; it may
	 * suspend `conn` and have it resumed); stream_free(stream_ctx) when
	 * the connection ends.  conn is the libmicrohttpd connection. */
	void *conn;
	ssize_t (*stream_read)(void *ctx, uint64_t pos, char *buf, size_t max);
	void (*stream_free)(void *ctx);
	void *stream_ctx;
};

/* Split the raw request target "/a/b%2Fc?x=1&y" into r->seg and r->param,
 * percent-decoded into `arena` (2 * strlen(uri) + 2 bytes), which must
 * outlive the request.  0, or -EINVAL with a 400 answer set. */
int req_parse_target(struct request *r, const char *uri, char *arena);

/* Set a JSON error answer {"error": msg, "parameter": param}; param may be
 * NULL.  Replaces any body already written. */
void req_error(struct request *r, int status, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The value of query parameter `key`, or NULL. */
const char *req_param(const struct request *r, const char *key);
/* The value of path variable `name` of the matched route, or NULL. */
const char *req_var(const struct request *r, const char *name);
/* 0 when every parameter is in `allowed` (NULL-terminated) and none is
 * given twice (names starting with '+' in `allowed` may repeat: "+label");
 * otherwise a 400 naming it is set and -EINVAL returned. */
int req_check_params(struct request *r, const char *const *allowed);
/* The request body as JSON: 0 with *data and *len set (NUL-terminated),
 * or -EINVAL with the answer set: 415 unless Content-Type is
 * application/json (parameters such as charset allowed), 400 when empty. */
int req_body_json(struct request *r, const char **data, size_t *len);
/* Add the fields of an application/x-www-form-urlencoded body to r->param,
 * decoded as the query's are (after them: req_check_params() sees a field
 * given in both).  0 also when there is no body; -EINVAL with the answer
 * set: 415 for a body of another type, 400 for a malformed one. */
int req_form_params(struct request *r);
/* Whether a Content-Type header value names `type` ("application/json;
 * charset=utf-8" is application/json); case-insensitive. */
bool req_type_is(const char *content_type, const char *type);
/* This thread's read-only store handle, opened on first use; NULL with a
 * 503 answer set when the store cannot be opened. */
struct store *req_store(struct request *r);
/* Answer for a failed store call `rc` (404 for -ENOENT, 500 otherwise);
 * `what` names the object for 404 ("system 'x'").  A handle that failed
 * in an unexpected way is dropped and reopened by the next request. */
void req_store_error(struct request *r, int rc, const char *what);
/* The destructor of the per-thread handles (pthread_key_create). */
void req_store_close(void *store);

#endif
