/*
 * instance.h - one running server as its files see it: the libmicrohttpd
 * daemon, the bearer token, the store it serves, the daemon's counters
 * and the count of answers by status code.  http.c creates and frees it;
 * the endpoint handlers (api.c, prometheus.c) read it through
 * request->srv to describe the server (health, /metrics).
 */
#ifndef VANTAGE_SERVER_INSTANCE_H
#define VANTAGE_SERVER_INSTANCE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "guard.h"
#include "linger.h"
#include "server.h"
#include "tls.h"

/* HTTP status codes counted for vantage_http_requests_total. */
#define SERVER_CODES 9
extern const int server_codes[SERVER_CODES]; /* the last slot counts any other */

struct server {
	struct MHD_Daemon *mhd;
	/* The bearer token (auth.token NULL: no auth), read by every request
	 * and replaced by server_set_token(): under auth_lock. */
	pthread_rwlock_t auth_lock;
	struct auth auth;
	bool lock_made;
	bool loopback;      /* only this host can connect: a token is optional */
	struct guard guard; /* connection caps (slow clients) */
	bool guard_made;
	struct linger_pool linger; /* closes of refused requests' connections (linger.h) */
	char *store_path;
	struct server_stats *stats; /* borrowed; NULL in api mode */
	pthread_key_t store_key;    /* per-thread struct store * (request.c) */
	bool key_made;
	char address[80];   /* "127.0.0.1:7070" */
	struct tls_pem tls; /* HTTPS when tls.cert (tls.h) */
	int ui_fd;          /* the dashboard's directory (O_PATH), -1: none (ui_files.h) */
	char *ui_dir;       /* its path (ui_fd -1: where it was looked for) */
	/* The daemon's alarms (analytics/alarm_engine.h), set by `vantage
	 * serve` once they run; NULL under `vantage api` (writes: 503). */
	_Atomic(struct alarm_engine *) alarms;
	int64_t started_ms;
	atomic_uint_fast64_t requests[SERVER_CODES];
};

/* Count one answer with this status in srv->requests. */
void server_count_status(struct server *srv, int status);

#endif
