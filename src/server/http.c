/*
 * http.c - the libmicrohttpd daemon under the REST API and /metrics:
 * start (listen address, token, store checked, socket bound), stop, and
 * for each request: auth, the request target, routing (router.c over the
 * table in endpoints.c), and sending what the handler answered.
 *
 * Threads: libmicrohttpd runs a pool of worker threads, each with its own
 * epoll set (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL and a thread
 * pool), sharing one listening socket that listen.c binds (so a bind
 * error has its errno).  A handler runs on the worker thread of its
 * connection; that thread's read-only store handle lives in a pthread key
 * whose destructor closes it when the thread ends (server_stop).
 *
 * The raw request target is captured in the URI log callback (before
 * libmicrohttpd decodes it, see request.c).  Connections are tracked
 * from libmicrohttpd's connection callback by the guard (guard.h), which
 * closes the slowest ones past the caps.  The token is read under a
 * read-write lock, so server_set_token() can replace it while requests
 * run (SIGHUP in `vantage serve`).  Order of checks: auth (401,
 * so nothing is learned without the token), request target (400), route
 * (404), method (405), write rights (403, router.h), body size (413: a
 * Content-Length over REQ_BODY_MAX), then the body is read and the handler
 * called.  All the checks run as soon as the headers are in, so the body
 * of a refused request is never read (the connection is closed after the
 * answer, lingering: linger.h).
 *
 * Bodies and slow clients: a connection stays "waiting" for the guard
 * (evictable past its caps, like one sending its headers slowly) until its
 * body is complete, and a body must arrive within BODY_TIMEOUT_S of the
 * headers.  A chunked body that grows past REQ_BODY_MAX, or one past the
 * time limit, closes the connection without an answer (libmicrohttpd
 * cannot queue one while a body is being received).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "mhd.h"

#include "../store/store.h"
#include "../util/log.h"
#include "../util/redact.h"
#include "../util/util.h"
#include "api.h"
#include "api_logs.h"
#include "auth.h"
#include "instance.h"
#include "listen.h"
#include "request.h"
#include "router.h"
#include "tls.h"
#include "ui_files.h"

#define DEFAULT_THREADS 4
#define MAX_THREADS 64
/* Connections held at once, in total and per client address (guard.h:
 * past a cap, the one that has waited longest for its request is closed).
 * libmicrohttpd's own limit, which it splits between its threads and
 * which makes it stop accepting, is set well above. */
#define CONNECTION_LIMIT 512
#define CONNECTIONS_PER_ADDR 64
#define MHD_CONNECTION_LIMIT (2 * CONNECTION_LIMIT)
#define CONNECTION_TIMEOUT_S 60
#define BODY_TIMEOUT_S 10

/* ---- libmicrohttpd callbacks --------------------------------------------------- */

struct conn_ctx {
	char *uri;     /* the raw request target */
	bool seen;     /* the access handler was called */
	bool answered; /* a response is queued */
	/* a request with a body, between its headers and its body's end */
	struct request *r;
	char *arena; /* r's decoded target */
	char *in;    /* the body so far (NUL-terminated) */
	size_t in_len, in_cap;
	int64_t t0;       /* mono_ns() at its headers */
	bool body_failed; /* past REQ_BODY_MAX or BODY_TIMEOUT_S */
};

static void ctx_free_request(struct conn_ctx *ctx)
{
	if (ctx->r) {
		buf_free(&ctx->r->body);
		free(ctx->r->form_arena);
		free(ctx->r);
		ctx->r = NULL;
	}
	free(ctx->arena);
	ctx->arena = NULL;
	free(ctx->in);
	ctx->in = NULL;
	ctx->in_len = ctx->in_cap = 0;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct conn_ctx *ctx = calloc(1, sizeof(*ctx));
	if (ctx)
		ctx->uri = strdup(uri ? uri : "/");
	return ctx;
}

static struct guard_conn *conn_guard(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    mhd.get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
	struct server *srv = cls;
	const union MHD_ConnectionInfo *ci =
	    mhd.get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) { /* before libmicrohttpd closes the fd */
		if (guard_close(&srv->guard, *socket_context) && ci)
			linger_add(&srv->linger, ci->connect_fd);
		*socket_context = NULL;
		return;
	}
	if (!ci)
		return;
	int fd = ci->connect_fd;
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	if (getpeername(fd, (struct sockaddr *)&peer, &plen) < 0)
		plen = 0;
	*socket_context = guard_open(&srv->guard, fd, (struct sockaddr *)&peer, plen);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct server *srv = cls;
	guard_wait(&srv->guard, conn_guard(c)); /* until the next request's headers */
	struct conn_ctx *ctx = *con_cls;
	if (ctx) {
		ctx_free_request(ctx);
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

static enum MHD_Result send_answer(struct MHD_Connection *c, struct request *r)
{
	size_t len = r->body.len;
	char *data = r->body.data;
	r->body = (struct buf)BUF_INIT;
	struct MHD_Response *resp;
	if (r->stream_read && r->status != 200) { /* a stream refused after all */
		r->stream_free(r->stream_ctx);
		r->stream_read = NULL;
	}
	if (r->stream_read && r->status == 200) { /* a live tail (api_logs.c) */
		free(data);
		data = NULL;
		resp = mhd.create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, r->stream_read,
		                                         r->stream_ctx, r->stream_free);
		if (!resp)
			r->stream_free(r->stream_ctx);
		r->stream_read = NULL;
	} else {
		resp = mhd.create_response_from_buffer_with_free_callback(len, data ? data : "",
		                                                          data ? free : NULL);
	}
	if (!resp) {
		free(data);
		return MHD_NO;
	}
	mhd.add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
	                        r->content_type ? r->content_type : "application/json");
	mhd.add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
	                        r->cache_control ? r->cache_control : "no-store");
	if (r->etag[0])
		mhd.add_response_header(resp, MHD_HTTP_HEADER_ETAG, r->etag);
	if (r->last_modified[0])
		mhd.add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, r->last_modified);
	if (r->csp) /* the dashboard's page: its own scripts only, no framing */
		mhd.add_response_header(resp, "Content-Security-Policy", UI_CSP);
	mhd.add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->status == 401)
		mhd.add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		                        "Bearer realm=\"vantage\"");
	if (r->status == 405)
		mhd.add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
		                        r->allow[0] ? r->allow : "GET, HEAD");
	if (r->status == 503)
		mhd.add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	enum MHD_Result ret = mhd.queue_response(c, (unsigned)r->status, resp);
	mhd.destroy_response(resp);
	return ret;
}

/* Whether the client is this host (127.0.0.0/8, ::1, ::ffff:127.x). */
static bool client_loopback(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    mhd.get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;
	if (!sa)
		return false;
	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		return IN6_IS_ADDR_LOOPBACK(a) ||
		       (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
	}
	return false;
}

/* The checks before the handler (auth, target, route, method, write
 * rights, declared size) into a new ctx->r.  0: go on; -1: answered with
 * an error (in ctx->r). */
static int prepare(struct server *srv, struct MHD_Connection *c, struct conn_ctx *ctx,
                   const char *url, const char *method)
{
	struct request *r = ctx->r;
	r->srv = srv;
	r->method = method;
	r->status = 200;
	r->now_ms = now_ns() / 1000000;
	r->conn = c;
	const char *uri = ctx->uri ? ctx->uri : url;
	pthread_rwlock_rdlock(&srv->auth_lock);
	bool ok =
	    auth_ok(&srv->auth, mhd.lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"));
	bool token = srv->auth.token != NULL;
	pthread_rwlock_unlock(&srv->auth_lock);
	ok = ok || ui_files_public(method, uri); /* the dashboard's files hold no data */
	if (!ok) {
		req_error(r, 401, NULL,
		          "missing or wrong bearer token (Authorization: Bearer TOKEN)");
		return -1;
	}
	/* writes: with a token, whoever has it; without, this host only */
	r->may_write = token || client_loopback(c);
	if (req_parse_target(r, uri, ctx->arena) < 0 || route_prepare(r) < 0)
		return -1;
	r->if_none_match =
	    mhd.lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	r->if_modified_since =
	    mhd.lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_MODIFIED_SINCE);
	if (route_method_has_body(method)) {
		const char *cl =
		    mhd.lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		char *end;
		unsigned long long n = cl ? strtoull(cl, &end, 10) : 0;
		if (cl && n > REQ_BODY_MAX) {
			req_error(r, 413, NULL, "the request body is larger than %d bytes (%s)",
			          REQ_BODY_MAX, cl);
			return -1;
		}
		r->in.type =
		    mhd.lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	}
	return 0;
}

/* Send what the handler (or a check) answered, count and log it. */
static enum MHD_Result answer(struct server *srv, struct MHD_Connection *c, struct conn_ctx *ctx,
                              const char *url, const char *method)
{
	struct request *r = ctx->r;
	ctx->answered = true;
	int status = r->status;
	enum MHD_Result ret = send_answer(c, r);
	server_count_status(srv, status);
	if (log_threshold <= LOG_DEBUG) {
		const char *uri = ctx->uri ? ctx->uri : url;
		char shown[256]; /* the target as sent, control bytes masked, a
		                  * token sent as a parameter left out */
		redact_query(uri, shown, sizeof(shown));
		for (size_t i = 0; shown[i]; i++)
			if (!(shown[i] > ' ' && shown[i] < 0x7f))
				shown[i] = '?';
		log_debug("http: %s %s -> %d, %zu-byte body in (%.2f ms)", method, shown, status,
		          r->in.len, (double)(mono_ns() - ctx->t0) / 1e6);
	}
	ctx_free_request(ctx);
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
	bool body = route_method_has_body(method);
	if (!ctx->seen) {
		/* First call, headers only: every check now.  A refused request
		 * is answered at once (its body, if any, is not read: the
		 * connection is closed after the answer).  A GET is answered at
		 * the next call, once the request is complete, so the connection
		 * stays open (keep-alive); a body is read by the calls between. */
		ctx->seen = true;
		ctx->t0 = mono_ns();
		const char *uri = ctx->uri ? ctx->uri : url;
		ctx->r = calloc(1, sizeof(*ctx->r));
		ctx->arena = malloc(2 * strlen(uri) + 2);
		if (!ctx->r || !ctx->arena)
			return MHD_NO;
		if (prepare(srv, c, ctx, url, method) < 0) {
			guard_busy(&srv->guard, conn_guard(c));
			if (body) /* a body may still be coming: do not reset it */
				guard_mark_linger(&srv->guard, conn_guard(c));
			return answer(srv, c, ctx, url, method);
		}
		if (!body)
			guard_busy(&srv->guard, conn_guard(c));
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (ctx->answered || !ctx->r || !body)
			return MHD_YES; /* discard a body we did not ask for */
		if (mono_ns() - ctx->t0 > (int64_t)BODY_TIMEOUT_S * 1000000000) {
			log_debug("http: %s body not complete after %d s: connection closed",
			          method, BODY_TIMEOUT_S);
			return MHD_NO;
		}
		if (ctx->in_len + n > REQ_BODY_MAX) {
			log_debug("http: %s body past %d bytes: connection closed", method,
			          REQ_BODY_MAX);
			return MHD_NO;
		}
		if (ctx->in_len + n + 1 > ctx->in_cap) { /* sized by the client: no abort */
			size_t cap = ctx->in_cap ? ctx->in_cap : 4096;
			while (cap < ctx->in_len + n + 1)
				cap *= 2;
			char *p = realloc(ctx->in, cap);
			if (!p)
				return MHD_NO;
			ctx->in = p;
			ctx->in_cap = cap;
		}
		memcpy(ctx->in + ctx->in_len, upload_data, n);
		ctx->in_len += n;
		ctx->in[ctx->in_len] = 0;
		return MHD_YES;
	}
	if (ctx->answered || !ctx->r)
		return MHD_YES;
	struct request *r = ctx->r;
	if (body) {
		guard_busy(&srv->guard, conn_guard(c));
		r->in.len = ctx->in_len;
		r->in.data = ctx->in_len ? ctx->in : NULL;
	}
	route_run(r);
	return answer(srv, c, ctx, url, method);
}

/* ---- start / stop --------------------------------------------------------------- */

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

/* The usage checks of server_start(): listen address, token, store path. */
static int check_opts(const struct server_opts *o, struct sockaddr_storage *ss, socklen_t *sslen,
                      bool *loopback, char *err, size_t errlen)
{
	int rc = server_parse_listen(o->listen, ss, sslen, loopback, err, errlen);
	if (rc < 0)
		return rc;
	const char *token = o->token && *o->token ? o->token : NULL;
	if (token && (rc = auth_check_token(token, err, errlen)) < 0)
		return rc;
	if (!*loopback && !token) {
		char a[80];
		listen_format(ss, a, sizeof(a));
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
	return tls_check_paths(o->tls_cert, o->tls_key, err, errlen);
}

int server_check_opts(const struct server_opts *o, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	bool loopback;
	return check_opts(o, &ss, &sslen, &loopback, err, errlen);
}

int server_start(const struct server_opts *o, struct server **out, char *err, size_t errlen)
{
	*out = NULL;
	struct sockaddr_storage ss = {0};
	socklen_t sslen;
	bool loopback;
	int rc = check_opts(o, &ss, &sslen, &loopback, err, errlen);
	if (rc < 0)
		return rc;
	const char *token = o->token && *o->token ? o->token : NULL;
	if ((rc = mhd_load(err, errlen)) < 0)
		return rc;
	if ((rc = check_store(o->store_path, err, errlen)) < 0)
		return rc;
	struct tls_pem pem;
	if ((rc = tls_load(o->tls_cert, o->tls_key, &pem, err, errlen)) < 0)
		return rc;
	if (pem.cert && mhd.is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		snprintf(err, errlen,
		         "HTTPS asked for (tls_cert) but this libmicrohttpd has no TLS");
		tls_free(&pem);
		return -EINVAL;
	}
	int threads = o->threads > 0 ? o->threads : DEFAULT_THREADS;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;

	struct server *srv = calloc(1, sizeof(*srv));
	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	srv->stats = o->stats;
	srv->tls = pem;
	srv->started_ms = now_ns() / 1000000;
	srv->store_path = strdup(o->store_path);
	srv->loopback = loopback;
	srv->ui_fd = -1;
	if (ui_files_open(srv, o->ui_dir) < 0) {
		snprintf(err, errlen, "out of memory");
		server_stop(srv);
		return -ENOMEM;
	}
	if (pthread_rwlock_init(&srv->auth_lock, NULL) != 0) {
		snprintf(err, errlen, "out of memory");
		server_stop(srv);
		return -ENOMEM;
	}
	srv->lock_made = true;
	if (guard_init(&srv->guard, CONNECTION_LIMIT, CONNECTIONS_PER_ADDR) < 0) {
		snprintf(err, errlen, "out of memory");
		server_stop(srv);
		return -ENOMEM;
	}
	srv->guard_made = true;
	if ((rc = linger_start(&srv->linger)) < 0) /* not fatal: closes reset as before */
		log_warn("http: no lingering close of refused requests: %s", strerror(-rc));
	if ((rc = auth_init(&srv->auth, token, err, errlen)) < 0) {
		server_stop(srv);
		return rc;
	}
	if (!srv->store_path || pthread_key_create(&srv->store_key, req_store_close) != 0) {
		snprintf(err, errlen, "out of memory");
		server_stop(srv);
		return -ENOMEM;
	}
	srv->key_made = true;

	listen_format(&ss, srv->address, sizeof(srv->address));
	int fd = listen_bind(&ss, sslen, srv->address, err, errlen);
	if (fd < 0) {
		server_stop(srv);
		return fd;
	}
	struct sockaddr_storage bound = {0};
	socklen_t blen = sizeof(bound);
	if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0)
		listen_format(&bound, srv->address, sizeof(srv->address));

	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
	                 MHD_ALLOW_SUSPEND_RESUME; /* the logs' live tail waits suspended */
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (srv->tls.cert)
		flags |= MHD_USE_TLS;
	/* the TLS options come last: with TLS off, an MHD_OPTION_END in their
	 * place ends the list (GnuTLS copies the key at start) */
	srv->mhd = mhd.start_daemon(
	    flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
	    NULL, /* first, to catch every message */
	    MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
	    srv, MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned)MHD_CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)CONNECTION_TIMEOUT_S,
	    srv->tls.cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, srv->tls.cert,
	    MHD_OPTION_HTTPS_MEM_KEY, srv->tls.key, MHD_OPTION_END);
	if (!srv->mhd) {
		snprintf(err, errlen, "cannot start the HTTP%s server on %s (libmicrohttpd%s)",
		         srv->tls.cert ? "S" : "", srv->address,
		         srv->tls.cert ? ": is tls_key the key of tls_cert? see the message above"
		                       : "");
		/* fd is not closed: libmicrohttpd may have closed it already */
		server_stop(srv);
		return -EIO;
	}
	char safe[1024]; /* a store URL's password is never logged */
	log_info("http: serving %s on %s://%s with %d threads%s",
	         store_url_safe(o->store_path, safe, sizeof(safe)), server_scheme(srv),
	         srv->address, threads, token ? ", bearer token required" : "");
	*out = srv;
	return 0;
}

const char *server_address(const struct server *srv)
{
	return srv->address;
}

const char *server_scheme(const struct server *srv)
{
	return srv->tls.cert ? "https" : "http";
}

void server_stop(struct server *srv)
{
	if (!srv)
		return;
	api_logs_streams_end(srv, true); /* no live tail left suspended */
	if (srv->mhd)
		mhd.stop_daemon(srv->mhd); /* joins the workers: their handles close */
	api_logs_streams_end(srv, false);
	linger_stop(&srv->linger); /* after the workers: they hand it sockets */
	api_search_end();          /* a search index built in the background */
	api_topology_end();        /* topology graphs built in the background */
	if (srv->key_made)
		pthread_key_delete(srv->store_key);
	auth_free(&srv->auth);
	if (srv->lock_made)
		pthread_rwlock_destroy(&srv->auth_lock);
	if (srv->guard_made)
		guard_destroy(&srv->guard);
	ui_files_close(srv);
	tls_free(&srv->tls);
	free(srv->store_path);
	free(srv);
}

int server_set_token(struct server *srv, const char *token, char *err, size_t errlen)
{
	token = token && *token ? token : NULL;
	int rc;
	if (token && (rc = auth_check_token(token, err, errlen)) < 0)
		return rc;
	if (!token && !srv->loopback) {
		snprintf(err, errlen,
		         "refusing to drop the bearer token: %s is reachable from other hosts",
		         srv->address);
		return -EINVAL;
	}
	struct auth neu, old;
	if ((rc = auth_init(&neu, token, err, errlen)) < 0) {
		auth_free(&neu);
		return rc;
	}
	pthread_rwlock_wrlock(&srv->auth_lock);
	old = srv->auth;
	srv->auth = neu;
	pthread_rwlock_unlock(&srv->auth_lock);
	auth_free(&old);
	return 0;
}
