/*
 * server.h - the HTTP surface of Vantage: the REST API (/api/v1/...) and the
 * Prometheus endpoint (/metrics) over a store file.  docs/api.md describes
 * every endpoint; endpoints.c lists them with their handlers.
 *
 * One server = one libmicrohttpd daemon with a pool of worker threads, each
 * with its own epoll set.  Every worker thread opens its own read-only
 * store handle (STORE_RO) on first use and keeps it until the thread ends,
 * so request handlers never share a store handle and never block the
 * daemon's writer (SQLite WAL).
 *
 * Used by `vantage api` (a store file, read-only, no daemon) and by
 * `vantage serve` (the daemon), which also publishes its own counters
 * through a struct server_stats it owns and updates while it crawls.
 *
 *	struct server_stats st;
 *	server_stats_init(&st);
 *	struct server_opts o = { .listen = "127.0.0.1:7070", .store_path = db,
 *				 .stats = &st };
 *	char err[256];
 *	struct server *srv;
 *	if (server_start(&o, &srv, err, sizeof(err)) < 0)
 *		fail(err);
 *	fprintf(stderr, "listening on http://%s\n", server_address(srv));
 *	... atomic_fetch_add(&st.frames_stored, 1); ...
 *	server_stop(srv);
 *	server_stats_destroy(&st);
 */
#ifndef VANTAGE_SERVER_H
#define VANTAGE_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SERVER_DEFAULT_LISTEN "127.0.0.1:7070"

struct buf;

/*
 * The daemon's own state, shown by /api/v1/health ("daemon") and /metrics
 * (vantage_frames_stored_total ...).  Owned by the daemon, which updates
 * the atomic fields from any thread at any time (relaxed order is enough:
 * each field is read on its own); it must outlive the server.  Counters
 * only grow.  frames_stored counts frames whose store transaction has
 * committed, so a frame the API reports stored is on disk.
 */
struct sflow_collector;

struct server_stats {
	atomic_uint_fast64_t frames_stored; /* committed to the store */
	atomic_uint_fast64_t frames_failed; /* dropped after every retry */
	atomic_uint_fast64_t records_stored;
	atomic_uint_fast64_t crawls;         /* crawl passes finished */
	atomic_uint_fast64_t crawl_errors;   /* item and feature errors */
	atomic_int_fast64_t last_frame_id;   /* id of the last stored frame */
	atomic_int_fast64_t last_crawl_ms;   /* end of the last crawl, ms since epoch */
	atomic_int_fast64_t last_crawl_us;   /* duration of the last crawl, microseconds */
	atomic_int_fast64_t pending_frames;  /* waiting for the store (full disk) */
	atomic_int_fast64_t systems;         /* systems watched now */
	atomic_int_fast64_t started_ms;      /* daemon start, ms since epoch */
	atomic_uint_fast64_t store_errors;   /* store writes that failed */
	atomic_uint_fast64_t frames_dropped; /* dropped by a full retry queue */
	atomic_int_fast64_t store_full;      /* 1 while the store's disk is full */
	/* memory guard (engine/memguard.h): its level (0: not shedding; new
	 * live tails are refused from MEMGUARD_REFUSE_STREAMS up), crawls
	 * skipped by it, and its last sample */
	atomic_int_fast64_t shed_level;
	atomic_uint_fast64_t shed_skipped;
	atomic_int_fast64_t mem_used, mem_limit; /* bytes; limit 0: none known */
	/* the sFlow collector (engine/sflow_collector.h) when one runs: its
	 * counters on /metrics; set before the server starts, freed after it
	 * stops */
	_Atomic(struct sflow_collector *) sflow;
	/* The last error the daemon wants users to see ("store: disk full"),
	 * empty when all is well; set and cleared with the calls below. */
	pthread_mutex_t lock;
	char last_error[256];
	/* More of the daemon's own metrics in Prometheus text, appended to
	 * /metrics (the log collector's counters); NULL: none.  Set before
	 * the server starts; called from its threads. */
	void (*extra_metrics)(void *arg, struct buf *out);
	void *extra_metrics_arg;
};

void server_stats_init(struct server_stats *st);
void server_stats_destroy(struct server_stats *st);
/* Set (printf-style) or clear (fmt NULL) the daemon's last error. */
void server_stats_set_error(struct server_stats *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

struct server_opts {
	/* "127.0.0.1:7070", "[::1]:7070", "0.0.0.0:7070", "localhost:7070",
	 * ":7070" (all interfaces) or "7070" (loopback); port 0 picks a free
	 * port (see server_address()).  NULL: SERVER_DEFAULT_LISTEN. */
	const char *listen;
	/* Bearer token every request must carry; NULL or "" for none, which
	 * is allowed only on a loopback address. */
	const char *token;
	const char *store_path; /* the store file (must exist) */
	int threads;            /* worker threads; 0: 4 */
	/* The daemon's counters; NULL when serving a store file alone
	 * (`vantage api`): health then says "mode":"api". */
	struct server_stats *stats;
	/* The dashboard's directory (docs/dashboard.md); NULL: found next to
	 * the binary (ui_files.h).  A missing one is not an error. */
	const char *ui_dir;
	/* HTTPS: PEM files of the certificate (chain) and its private key,
	 * both or neither (NULL: plain HTTP).  Read once at start. */
	const char *tls_cert, *tls_key;
};

struct server;

/*
 * Start serving in background threads.  Refuses (-EINVAL, message in
 * err) a malformed listen address or token and a non-loopback address
 * without a token; -EADDRINUSE etc. when the address cannot be bound.
 * The store is opened once here to check it (message naming the file).
 * Returns 0 and *out, or a negative errno with a message in err.
 */
int server_start(const struct server_opts *o, struct server **out, char *err, size_t errlen);
/* The checks server_start() makes before it touches anything: the listen
 * address, the token, a non-loopback address without a token, a store
 * path given.  0, or -EINVAL with a message: errors of usage. */
int server_check_opts(const struct server_opts *o, char *err, size_t errlen);
/* The address actually listened on, "127.0.0.1:43121" or "[::1]:7070"
 * (port 0 resolved); valid until server_stop(). */
const char *server_address(const struct server *srv);
/* "https" when serving TLS, else "http". */
const char *server_scheme(const struct server *srv);
/*
 * Replace the bearer token (NULL or "": none) from now on: a request
 * checked after this returns needs the new one, the old one is refused.
 * Refuses (-EINVAL, message in err) a malformed token, and no token on an
 * address other hosts can reach; the current token then stays.
 */
int server_set_token(struct server *srv, const char *token, char *err, size_t errlen);
/* Stop accepting, finish requests in progress, join the threads, close
 * their store handles, free.  NULL is a no-op. */
void server_stop(struct server *srv);

/*
 * Parse a listen address (forms as in server_opts.listen) into a socket
 * address.  *loopback tells whether only this host can connect.  Returns 0
 * or -EINVAL with a message naming the address in err.
 */
int server_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sslen,
                        bool *loopback, char *err, size_t errlen);

#endif
