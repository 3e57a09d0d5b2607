/*
 * internal.h - what the files of src/server/ share: the server, one
 * request as the endpoint handlers see it, and the handlers.
 *
 * http.c owns the libmicrohttpd daemon: it captures the raw request
 * target, checks the bearer token, splits the path into percent-decoded
 * segments and the query into decoded parameters, routes to a handler and
 * sends what the handler left in the request (status, body, type).
 * api.c holds the /api/v1 handlers, prometheus.c the /metrics handler.
 *
 * A request lives on one worker thread from start to end; req_store()
 * gives that thread's read-only store handle.
 */
#ifndef VANTAGE_SERVER_INTERNAL_H
#define VANTAGE_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../util/buf.h"
#include "server.h"

#define REQ_MAX_PARAMS 32
#define REQ_MAX_SEGS 64

/* HTTP status codes counted for vantage_http_requests_total. */
#define SERVER_CODES 9
extern const int server_codes[SERVER_CODES]; /* the last slot counts any other */

struct server {
	struct MHD_Daemon *mhd;
	char *token;                  /* NULL: no auth */
	unsigned char token_hash[32]; /* SHA-256 of the token */
	char *store_path;
	struct server_stats *stats; /* borrowed; NULL in api mode */
	pthread_key_t store_key;    /* per-thread struct store * */
	bool key_made;
	char address[80]; /* "127.0.0.1:7070" */
	int64_t started_ms;
	atomic_uint_fast64_t requests[SERVER_CODES];
};

struct req_param {
	char *key, *val; /* decoded, NUL-free */
};

struct request {
	struct server *srv;
	const char *method;
	/* Path: decoded segments of the path ("api", "v1", "systems", ...). */
	char *seg[REQ_MAX_SEGS];
	int nseg;
	struct req_param param[REQ_MAX_PARAMS];
	int nparam;
	/* The answer, filled by the handler. */
	int status;
	struct buf body;
	const char *content_type; /* default application/json */
	int64_t now_ms;           /* when the request started */
};

/* Set a JSON error answer {"error": msg, "parameter": param}; param may be
 * NULL.  Replaces any body already written. */
void req_error(struct request *r, int status, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The value of query parameter `key`, or NULL. */
const char *req_param(const struct request *r, const char *key);
/* 0 when every parameter is in `allowed` (NULL-terminated) and none is
 * given twice (names starting with '+' in `allowed` may repeat: "+label");
 * otherwise a 400 naming it is set and -1 returned. */
int req_check_params(struct request *r, const char *const *allowed);
/* This thread's read-only store handle, opened on first use; NULL with a
 * 503 answer set when the store cannot be opened. */
struct store *req_store(struct request *r);
/* Answer for a failed store call `rc` (404 for -ENOENT, 500 otherwise);
 * `what` names the object for 404 ("system 'x'").  A handle that failed
 * in an unexpected way is dropped and reopened by the next request. */
void req_store_error(struct request *r, int rc, const char *what);

/* http.c: split the raw request target into r->seg and r->param,
 * decoded into `arena` (2 * strlen(uri) + 2 bytes); -1 with a 400 set. */
int http_parse_target(struct request *r, const char *uri, char *arena);

/* api.c */
void api_health(struct request *r);
void api_systems(struct request *r);
void api_frame(struct request *r, const char *system_id);
void api_metric_names(struct request *r, const char *system_id);
void api_series(struct request *r, const char *system_id, const char *metric);

/* prometheus.c */
void prom_metrics(struct request *r);
/* Format v as Prometheus/JSON would read it back exactly (shortest
 * round-trip form; NaN, +Inf, -Inf). */
void prom_format_value(double v, char *dst, size_t cap);
/* "vantage_" + the sanitized series name in base units; *scale converts
 * the value ("memory.total_kb" -> vantage_memory_total_bytes, 1024). */
void prom_family_name(const char *metric, struct buf *dst, double *scale);
/* Append s (n bytes) as a quoted label value: escaped, valid UTF-8. */
void prom_label_value(struct buf *out, const char *s, size_t n);
/* cb(key, value text, is_string) for each scalar member of a flat JSON
 * object (nested values and null skipped); 0 or -EINVAL when malformed. */
int prom_flat_object(const char *s, size_t n,
                     void (*cb)(void *ctx, const char *k, const char *v, bool str), void *ctx);

#endif
