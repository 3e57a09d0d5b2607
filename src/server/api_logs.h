/*
 * api_logs.h - the log endpoints (api_logs.c, docs/api.md): search
 * GET /api/v1/logs and the live tail GET /api/v1/logs/tail (a streamed
 * answer: server-sent events or NDJSON).
 */
#ifndef VANTAGE_SERVER_API_LOGS_H
#define VANTAGE_SERVER_API_LOGS_H

#include <stdbool.h>

#include "request.h"

void api_logs(struct request *r);      /* /api/v1/logs */
void api_logs_tail(struct request *r); /* /api/v1/logs/tail */

/* Around stopping the server's daemon (http.c): with `begin`, every live
 * tail of srv ends (suspended ones are resumed to end) and no new one
 * waits; after the daemon stopped, with begin false, tails may start again. */
void api_logs_streams_end(struct server *srv, bool begin);

#endif
