/*
 * http.c - the HTTP server under the REST API and /metrics: listen address
 * parsing, the libmicrohttpd daemon, bearer-token auth, request parsing,
 * routing and JSON errors.
 *
 * Threads: libmicrohttpd runs a pool of worker threads, each with its own
 * epoll set (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL and a thread
 * pool), sharing one listening socket that this file binds itself (so a
 * bind error has its errno).  A handler runs on the worker thread of its
 * connection; that thread's read-only store handle lives in a pthread key
 * whose destructor closes it when the thread ends (server_stop).
 *
 * Requests: libmicrohttpd percent-decodes the path before a handler sees
 * it, which would make the '/' of a system id like "image:/mnt/x" (sent
 * as image%3A%2Fmnt%2Fx) indistinguishable from a path separator.  So the
 * raw request target is captured in the URI log callback, and this file
 * splits it: path segments at '/', then each segment decoded; the query
 * at '&' and '=', then decoded ('+' is a space).  A malformed escape or an
 * encoded NUL is a 400.
 *
 * Order of checks: auth (401, so nothing is learned without the token),
 * request target (400), route (404), method (405: GET and HEAD only),
 * then the handler.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mhd.h"
#include <openssl/crypto.h>

#include "../store/store.h"
#include "../util/json.h"
#include "../util/log.h"
#include "../util/sha256.h"
#include "../util/util.h"
#include "internal.h"

#define DEFAULT_THREADS 4
#define MAX_THREADS 64
#define MAX_TOKEN 1024
#define CONNECTION_LIMIT 512
#define CONNECTION_TIMEOUT_S 60

const int server_codes[SERVER_CODES] = {200, 400, 401, 404, 405, 500, 501, 503, 0};

/* ---- daemon stats ---------------------------------------------------------- */

void server_stats_init(struct server_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_init(&st->lock, NULL);
	atomic_store(&st->started_ms, now_ns() / 1000000);
}

void server_stats_destroy(struct server_stats *st)
{
	pthread_mutex_destroy(&st->lock);
}

void server_stats_set_error(struct server_stats *st, const char *fmt, ...)
{
	pthread_mutex_lock(&st->lock);
	st->last_error[0] = 0;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(st->last_error, sizeof(st->last_error), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&st->lock);
}

/* ---- listen address -------------------------------------------------------- */

static int parse_port(const char *s, unsigned *port)
{
	const char *p = s, *end = s + strlen(s);
	uint64_t v;
	if (!parse_u64(&p, end, &v) || p != end || v > 65535)
		return -EINVAL;
	*port = (unsigned)v;
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int server_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sslen,
                        bool *loopback, char *err, size_t errlen)
{
	char host[128];
	const char *portstr;
	if (!s || !*s)
		s = SERVER_DEFAULT_LISTEN;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close == s + 1 || (size_t)(close - s - 1) >= sizeof(host) ||
		    close[1] != ':') {
			snprintf(err, errlen,
			         "listen address '%s': expected [IPv6]:PORT, e.g. [::1]:7070", s);
			return -EINVAL;
		}
		copy_str(host, sizeof(host), s + 1, (size_t)(close - s - 1));
		portstr = close + 2;
	} else if (all_digits(s)) {
		copy_str(host, sizeof(host), "127.0.0.1", 9);
		portstr = s;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon) {
			snprintf(err, errlen,
			         "listen address '%s': expected HOST:PORT, e.g. 127.0.0.1:7070", s);
			return -EINVAL;
		}
		if (strchr(s, ':') != colon) {
			snprintf(
			    err, errlen,
			    "listen address '%s': put an IPv6 address in brackets, e.g. [::1]:7070",
			    s);
			return -EINVAL;
		}
		if ((size_t)(colon - s) >= sizeof(host)) {
			snprintf(err, errlen, "listen address '%s': host too long", s);
			return -EINVAL;
		}
		copy_str(host, sizeof(host), s, (size_t)(colon - s));
		portstr = colon + 1;
	}
	unsigned port;
	if (parse_port(portstr, &port) < 0) {
		snprintf(err, errlen, "listen address '%s': port '%s' is not a number 0-65535", s,
		         portstr);
		return -EINVAL;
	}
	if (host[0] == 0 || strcmp(host, "*") == 0)
		copy_str(host, sizeof(host), "0.0.0.0", 7);
	else if (strcasecmp(host, "localhost") == 0)
		copy_str(host, sizeof(host), "127.0.0.1", 9);

	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		*sslen = sizeof(*in4);
		*loopback = (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*sslen = sizeof(*in6);
		const uint8_t *a = in6->sin6_addr.s6_addr;
		*loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
		            (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && a[12] == 127);
		return 0;
	}
	snprintf(err, errlen,
	         "listen address '%s': '%s' is not an IP address (only 'localhost' is resolved)", s,
	         host);
	return -EINVAL;
}

static void format_address(const struct sockaddr_storage *ss, char *dst, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(dst, cap, "[%s]:%u", ip, ntohs(in6->sin6_port));
	} else {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &in4->sin_addr, ip, sizeof(ip));
		snprintf(dst, cap, "%s:%u", ip, ntohs(in4->sin_port));
	}
}

/* socket + bind + listen, so that errors come with their errno. */
static int bind_listen(const struct sockaddr_storage *ss, socklen_t len, const char *addr,
                       char *err, size_t errlen)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "listen on %s: socket: %s", addr, strerror(e));
		return -e;
	}
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6) {
		/* "[::]" means every address, IPv4 included */
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		int v6only = IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr) ? 0 : 1;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only ? &one : &zero, sizeof(int));
	}
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		snprintf(err, errlen, "listen on %s: %s", addr, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

/* ---- per-thread store handles --------------------------------------------- */

static void close_thread_store(void *p)
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
	json_init(&j, &r->body);
	json_obj_begin(&j, NULL);
	json_str(&j, "error", msg);
	if (param)
		json_str(&j, "parameter", param);
	json_obj_end(&j);
	buf_addc(&r->body, '\n');
}

const char *req_param(const struct request *r, const char *key)
{
	for (int i = 0; i < r->nparam; i++)
		if (strcmp(r->param[i].key, key) == 0)
			return r->param[i].val;
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
			return -1;
		}
		for (int m = 0; m < i && !repeatable; m++)
			if (strcmp(r->param[m].key, k) == 0) {
				req_error(r, 400, k, "parameter '%s' given more than once", k);
				return -1;
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

/*
 * Split the raw target "/a/b%2Fc?x=1&y" into r->seg and r->param.  The
 * decoded strings live in `arena` (2 * len + 2 bytes).  Returns 0, or -1
 * with a 400 answer set.
 */
int http_parse_target(struct request *r, const char *uri, char *arena)
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
		return -1;
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
			return -1;
		}
		if (pct_decode(p, (size_t)(e - p), false, out) < 0) {
			req_error(r, 400, NULL, "malformed percent-escape in the path");
			return -1;
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
	for (const char *p = q + 1; p < qend;) {
		const char *e = memchr(p, '&', (size_t)(qend - p));
		if (!e)
			e = qend;
		if (e == p) {
			p++;
			continue;
		}
		const char *eq = memchr(p, '=', (size_t)(e - p));
		const char *kend = eq ? eq : e;
		if (r->nparam >= REQ_MAX_PARAMS) {
			req_error(r, 400, NULL, "too many query parameters");
			return -1;
		}
		struct req_param *pr = &r->param[r->nparam];
		pr->key = out;
		if (pct_decode(p, (size_t)(kend - p), true, out) < 0) {
			req_error(r, 400, NULL, "malformed percent-escape in the query");
			return -1;
		}
		out += strlen(out) + 1;
		pr->val = out;
		if (pct_decode(eq ? eq + 1 : e, eq ? (size_t)(e - eq - 1) : 0, true, out) < 0) {
			req_error(r, 400, pr->key, "malformed percent-escape in parameter '%s'",
			          pr->key);
			return -1;
		}
		out += strlen(out) + 1;
		if (!pr->key[0]) {
			req_error(r, 400, NULL, "query parameter without a name");
			return -1;
		}
		r->nparam++;
		p = e;
	}
	return 0;
}

/* ---- auth ------------------------------------------------------------------- */

/* Constant time in the token: both sides are hashed, the digests compared
 * with CRYPTO_memcmp, so neither length nor content leaks by timing. */
static bool authorized(const struct server *srv, struct MHD_Connection *c)
{
	if (!srv->token)
		return true;
	const char *h = mhd.lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (!h)
		return false;
	while (*h == ' ')
		h++;
	if (strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	while (*h == ' ')
		h++;
	size_t n = strlen(h);
	while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
		n--;
	char hex[SHA256_HEX_LEN + 1], want[SHA256_HEX_LEN + 1];
	if (sha256_hex(h, n, hex) < 0)
		return false;
	hex_encode(srv->token_hash, sizeof(srv->token_hash), want);
	return CRYPTO_memcmp(hex, want, SHA256_HEX_LEN) == 0;
}

/* ---- routing ------------------------------------------------------------------ */

static bool seg_is(const struct request *r, int i, const char *s)
{
	return i < r->nseg && strcmp(r->seg[i], s) == 0;
}

/* Join segments [from, to) with '/' into dst (the id of a system whose '/'
 * was sent unencoded). */
static void join_segs(const struct request *r, int from, int to, struct buf *dst)
{
	for (int i = from; i < to; i++) {
		if (i > from)
			buf_addc(dst, '/');
		buf_adds(dst, r->seg[i]);
	}
}

static bool method_ok(struct request *r)
{
	if (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0)
		return true;
	req_error(r, 405, NULL, "method %s not allowed here (GET or HEAD)", r->method);
	return false;
}

/*
 *  /metrics                                 prom_metrics
 *  /api/v1/health                           api_health
 *  /api/v1/systems                          api_systems
 *  /api/v1/systems/{id}/frame               api_frame
 *  /api/v1/systems/{id}/metrics             api_metric_names
 *  /api/v1/systems/{id}/metrics/{name}      api_series
 * The id is one segment (its '/' encoded as %2F) or, when sent unencoded,
 * every segment between "systems" and the endpoint's last segments.
 */
static void route(struct request *r)
{
	if (r->nseg == 1 && seg_is(r, 0, "metrics")) {
		if (method_ok(r))
			prom_metrics(r);
		return;
	}
	if (r->nseg >= 3 && seg_is(r, 0, "api") && seg_is(r, 1, "v1")) {
		if (r->nseg == 3 && seg_is(r, 2, "health")) {
			if (method_ok(r))
				api_health(r);
			return;
		}
		if (seg_is(r, 2, "systems")) {
			if (r->nseg == 3) {
				if (method_ok(r))
					api_systems(r);
				return;
			}
			int last = r->nseg - 1;
			struct buf id = BUF_INIT;
			bool found = true;
			if (r->nseg >= 5 && seg_is(r, last, "frame")) {
				join_segs(r, 3, last, &id);
				if (method_ok(r))
					api_frame(r, buf_str(&id));
			} else if (r->nseg >= 5 && seg_is(r, last, "metrics")) {
				join_segs(r, 3, last, &id);
				if (method_ok(r))
					api_metric_names(r, buf_str(&id));
			} else if (r->nseg >= 6 && seg_is(r, last - 1, "metrics")) {
				join_segs(r, 3, last - 1, &id);
				if (method_ok(r))
					api_series(r, buf_str(&id), r->seg[last]);
			} else {
				found = false;
			}
			buf_free(&id);
			if (found)
				return;
			req_error(r, 404, NULL,
			          "no such endpoint; a system's endpoints are "
			          "/api/v1/systems/{id}/frame, "
			          "/metrics and /metrics/{name}");
			return;
		}
	}
	req_error(r, 404, NULL,
	          "no such endpoint (see docs/api.md: /api/v1/health, /api/v1/systems, /metrics)");
}

/* ---- libmicrohttpd callbacks --------------------------------------------------- */

struct conn_ctx {
	char *uri;     /* the raw request target */
	bool seen;     /* the access handler was called */
	bool answered; /* a response is queued */
};

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct conn_ctx *ctx = calloc(1, sizeof(*ctx));
	if (ctx)
		ctx->uri = strdup(uri ? uri : "/");
	return ctx;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct conn_ctx *ctx = *con_cls;
	if (ctx) {
		free(ctx->uri);
		free(ctx);
		*con_cls = NULL;
	}
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = 0;
	log_debug("http: %s", line);
}

static void count_status(struct server *srv, int status)
{
	int i = 0;
	while (i < SERVER_CODES - 1 && server_codes[i] != status)
		i++;
	atomic_fetch_add_explicit(&srv->requests[i], 1, memory_order_relaxed);
}

static enum MHD_Result send_answer(struct MHD_Connection *c, struct request *r)
{
	size_t len = r->body.len;
	char *data = r->body.data;
	r->body = (struct buf)BUF_INIT;
	struct MHD_Response *resp = mhd.create_response_from_buffer_with_free_callback(
	    len, data ? data : "", data ? free : NULL);
	if (!resp) {
		free(data);
		return MHD_NO;
	}
	mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	                        r->content_type ? r->content_type : "application/json");
	mhd.add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	mhd.add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->status == 401)
		mhd.add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		                        "Bearer realm=\"vantage\"");
	if (r->status == 405)
		mhd.add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	if (r->status == 503)
		mhd.add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	enum MHD_Result ret = mhd.queue_response(c, (unsigned)r->status, resp);
	mhd.destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
	struct server *srv = cls;
	struct conn_ctx *ctx = *con_cls;
	if (!ctx)
		return MHD_NO; /* out of memory in on_uri */
	bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
	if (!ctx->seen) {
		/* First call, headers only.  A GET is answered at the next call,
		 * once the request is complete, so the connection stays open
		 * (keep-alive); other methods are refused at once (and the
		 * connection closed: their body is not read). */
		ctx->seen = true;
		if (get)
			return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0; /* discard a body we did not ask for */
		return MHD_YES;
	}
	if (ctx->answered)
		return MHD_YES;
	ctx->answered = true;
	int64_t t0 = mono_ns();
	struct request r = {.srv = srv, .method = method, .status = 200};
	r.now_ms = now_ns() / 1000000;
	const char *uri = ctx->uri ? ctx->uri : url;
	char *arena = malloc(2 * strlen(uri) + 2);
	if (!arena)
		return MHD_NO;
	if (!authorized(srv, c))
		req_error(&r, 401, NULL,
		          "missing or wrong bearer token (Authorization: Bearer TOKEN)");
	else if (http_parse_target(&r, uri, arena) == 0)
		route(&r);
	int status = r.status;
	enum MHD_Result ret = send_answer(c, &r);
	count_status(srv, status);
	if (log_threshold <= LOG_DEBUG) {
		char shown[256]; /* the target as sent, control bytes masked */
		size_t i = 0;
		for (; i < sizeof(shown) - 1 && uri[i]; i++)
			shown[i] = uri[i] > ' ' && uri[i] < 0x7f ? uri[i] : '?';
		shown[i] = 0;
		log_debug("http: %s %s -> %d (%.2f ms)", method, shown, status,
		          (double)(mono_ns() - t0) / 1e6);
	}
	buf_free(&r.body);
	free(arena);
	return ret;
}

/* ---- start / stop --------------------------------------------------------------- */

static int check_token(const char *t, char *err, size_t errlen)
{
	size_t n = strlen(t);
	if (n > MAX_TOKEN) {
		snprintf(err, errlen, "token is longer than %d characters", MAX_TOKEN);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (t[i] <= ' ' || t[i] > '~') {
			snprintf(
			    err, errlen,
			    "token must be printable ASCII without spaces (character %zu is not)",
			    i + 1);
			return -EINVAL;
		}
	if (n < 16)
		log_warn("the bearer token is short (%zu characters); use 32 or more random ones",
		         n);
	return 0;
}

static int check_store(const char *path, char *err, size_t errlen)
{
	struct store *s;
	int rc = store_open(path, STORE_RO, &s);
	if (rc < 0) {
		snprintf(err, errlen, "%s", store_errmsg(NULL));
		return rc;
	}
	store_close(s);
	return 0;
}

int server_start(const struct server_opts *o, struct server **out, char *err, size_t errlen)
{
	*out = NULL;
	struct sockaddr_storage ss = {0};
	socklen_t sslen;
	bool loopback;
	int rc = server_parse_listen(o->listen, &ss, &sslen, &loopback, err, errlen);
	if (rc < 0)
		return rc;
	const char *token = o->token && *o->token ? o->token : NULL;
	if (token && (rc = check_token(token, err, errlen)) < 0)
		return rc;
	if (!loopback && !token) {
		char a[80];
		format_address(&ss, a, sizeof(a));
		snprintf(err, errlen,
		         "refusing to listen on %s without a bearer token: it is reachable from "
		         "other hosts; set a token (--token-file FILE) or listen on 127.0.0.1",
		         a);
		return -EINVAL;
	}
	if (!o->store_path || !*o->store_path) {
		snprintf(err, errlen, "no store file given");
		return -EINVAL;
	}
	if ((rc = mhd_load(err, errlen)) < 0)
		return rc;
	if ((rc = check_store(o->store_path, err, errlen)) < 0)
		return rc;
	int threads = o->threads > 0 ? o->threads : DEFAULT_THREADS;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;

	struct server *srv = calloc(1, sizeof(*srv));
	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	srv->stats = o->stats;
	srv->started_ms = now_ns() / 1000000;
	srv->store_path = strdup(o->store_path);
	if (token) {
		srv->token = strdup(token);
		struct sha256 *h = sha256_new();
		if (!h || sha256_begin(h) < 0 || sha256_update(h, token, strlen(token)) < 0 ||
		    sha256_end(h, srv->token_hash) < 0) {
			sha256_free(h);
			snprintf(err, errlen, "cannot hash the token (libcrypto)");
			server_stop(srv);
			return -ENOMEM;
		}
		sha256_free(h);
	}
	if (!srv->store_path || (token && !srv->token) ||
	    pthread_key_create(&srv->store_key, close_thread_store) != 0) {
		snprintf(err, errlen, "out of memory");
		server_stop(srv);
		return -ENOMEM;
	}
	srv->key_made = true;

	format_address(&ss, srv->address, sizeof(srv->address));
	int fd = bind_listen(&ss, sslen, srv->address, err, errlen);
	if (fd < 0) {
		server_stop(srv);
		return fd;
	}
	struct sockaddr_storage bound = {0};
	socklen_t blen = sizeof(bound);
	if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0)
		format_address(&bound, srv->address, sizeof(srv->address));

	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	srv->mhd = mhd.start_daemon(
	    flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
	    NULL, /* first, to catch every message */
	    MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
	    NULL, MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S, MHD_OPTION_END);
	if (!srv->mhd) {
		snprintf(err, errlen, "cannot start the HTTP server on %s (libmicrohttpd)",
		         srv->address);
		/* fd is not closed: libmicrohttpd may have closed it already */
		server_stop(srv);
		return -EIO;
	}
	log_info("http: serving %s on %s with %d threads%s", o->store_path, srv->address, threads,
	         token ? ", bearer token required" : "");
	*out = srv;
	return 0;
}

const char *server_address(const struct server *srv)
{
	return srv->address;
}

void server_stop(struct server *srv)
{
	if (!srv)
		return;
	if (srv->mhd)
		mhd.stop_daemon(srv->mhd); /* joins the workers: their handles close */
	if (srv->key_made)
		pthread_key_delete(srv->store_key);
	if (srv->token)
		OPENSSL_cleanse(srv->token, strlen(srv->token));
	free(srv->token);
	free(srv->store_path);
	free(srv);
}
