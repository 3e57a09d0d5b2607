/*
 * sflow_collector.h - the daemon's sFlow collector: `vantage serve
 * --sflow-listen [ADDR:]PORT` ([sflow] listen) receives sFlow v5 datagrams
 * from agents anywhere in the fleet and stores their counters as systems
 * and metric series (sflow_systems.h; docs/sflow.md).
 *
 * Its own thread and UDP socket.  Each wake-up reads what is queued with
 * recvmmsg(), at most SFLOW_COLLECTOR_BATCH datagrams, decodes them
 * (frame/sflow.h sflow_decode()) and stores the frames they make in ONE
 * store transaction, through a locked sink of the daemon's store share
 * (engine/locked_sink.h), like a lane's tick.  A flood cannot starve the
 * rest of the daemon:
 *   - the queue is the socket's receive buffer (SFLOW_COLLECTOR_RCVBUF):
 *     what does not fit is dropped by the kernel and counted
 *     (dropped_queue, the socket's drops from SO_MEMINFO);
 *   - at most `max_rate` datagrams are decoded per second (a token bucket
 *     of one second); beyond it the thread sleeps and the queue overflows;
 *   - the thread runs at nice +5 against the lanes and the API.
 * Datagrams larger than SFLOW_COLLECTOR_DGRAM_MAX are dropped (oversized).
 */
#ifndef VANTAGE_SFLOW_COLLECTOR_H
#define VANTAGE_SFLOW_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "../frame/sflow.h"
#include "sflow_systems.h"

#define SFLOW_COLLECTOR_BATCH 512
#define SFLOW_COLLECTOR_DGRAM_MAX 16384
#define SFLOW_COLLECTOR_RCVBUF (4 << 20)
#define SFLOW_COLLECTOR_MAX_RATE 20000 /* datagrams decoded per second, default */
#define SFLOW_COLLECTOR_SLOT 6         /* its writer slot in the store share */

struct store_share;
struct sflow_collector;

/* What the collector did; /metrics shows it as vantage_sflow_*. */
struct sflow_collector_stats {
	uint64_t received;      /* datagrams read from the socket */
	uint64_t bytes;         /* their bytes */
	uint64_t dropped_queue; /* dropped by the kernel: the socket's queue was full */
	uint64_t oversized;     /* larger than SFLOW_COLLECTOR_DGRAM_MAX: dropped */
	uint64_t rejected;      /* refused by the decoder (its kinds in `decode`) */
	uint64_t batches;       /* wake-ups that stored (store transactions) */
	uint64_t throttled;     /* times the rate limit made the thread wait */
	uint64_t flow_errors;   /* flow samples the flow hook refused */
	struct sflow_stats decode;
	struct sflow_systems_stats systems;
};

/* "[ADDR:]PORT": "6343" or ":6343" (every address), "127.0.0.1:6343",
 * "[::1]:6343", "host:6343".  0, or -EINVAL with a message in err. */
int sflow_listen_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len, char *err,
                       size_t errlen);

/*
 * Where flow samples go (the flows part, engine/flow_record.h: each
 * callback is one of flow_recorder_source / _add / _flush with ctx its
 * recorder), called on the collector's thread:
 *   source  for each counter sample that made a frame: its data source
 *           (h's agent and sub-agent, ds_index) is system `system_id`
 *   flow    each decoded flow sample (a negative return is counted in
 *           flow_errors; the datagram goes on)
 *   flush   every second and when the collector stops
 * Any may be NULL; without `flow` flow samples are counted and skipped.
 */
struct sflow_flow_hooks {
	void *ctx;
	void (*source)(void *ctx, const struct sflow_header *h, uint32_t ds_index,
	               const char *system_id, int64_t now_ms);
	int (*flow)(void *ctx, const struct sflow_header *h, const struct sflow_flow *f,
	            int64_t now_ms);
	int (*flush)(void *ctx, int64_t now_ms);
};

struct sflow_collector_opts {
	const char *listen;                   /* [ADDR:]PORT */
	struct store_share *store;            /* the daemon's (engine/locked_sink.h) */
	int slot;                             /* its writer slot there: SFLOW_COLLECTOR_SLOT */
	uint32_t max_rate;                    /* 0: SFLOW_COLLECTOR_MAX_RATE */
	const struct sflow_flow_hooks *flows; /* NULL: none (copied) */
};

/* Bind o->listen and start the thread.  0, or a negative errno with a
 * message in err. */
int sflow_collector_start(const struct sflow_collector_opts *o, struct sflow_collector **out,
                          char *err, size_t errlen);
/* The bound address ("0.0.0.0:6343"), port 0 resolved. */
const char *sflow_collector_address(const struct sflow_collector *c);
/* A copy of the counters (any thread). */
void sflow_collector_stats(struct sflow_collector *c, struct sflow_collector_stats *out);
/* Stop the thread and store what it holds; before the store share is
 * closed (engine_stop()).  The counters stay readable until free. */
void sflow_collector_stop(struct sflow_collector *c);
/* Free (stopping it first if needed); NULL is allowed. */
void sflow_collector_free(struct sflow_collector *c);

#endif
