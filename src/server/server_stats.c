/*
 * server_stats.c - counters a server shows on /api/v1/health and
 * /metrics: the daemon's own (struct server_stats, server.h), owned and
 * updated by `vantage serve`, and the server's count of answers by HTTP
 * status code.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "../util/util.h"
#include "instance.h"
#include "server.h"

const int server_codes[SERVER_CODES] = {200, 400, 401, 404, 405, 500, 501, 503, 0};

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

void server_count_status(struct server *srv, int status)
{
	int i = 0;
	while (i < SERVER_CODES - 1 && server_codes[i] != status)
		i++;
	atomic_fetch_add_explicit(&srv->requests[i], 1, memory_order_relaxed);
}
