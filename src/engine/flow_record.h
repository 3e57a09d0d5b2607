/*
 * flow_record.h - the collector's side of network flows: each flow sample
 * the sFlow collector decodes becomes a flow record in the store
 * (store_put_flows), attributed to the systems owning its addresses
 * (docs/flows.md).
 *
 * Attribution of each end (source, destination address):
 *   1. the addresses: every present system's addresses as the store holds
 *      them (addr_map.h: its `os` record's ip_addresses, else its
 *      `interface` addresses), reloaded every 30 s; an address of several
 *      systems is ambiguous and left to (2.);
 *   2. the data source: a flow sample's (agent, sub-agent, ds_index) names
 *      the system it was sampled for, as the collector learnt it from the
 *      agent's counter samples (flow_recorder_source()).  With an
 *      extended_socket record the socket's local address is that system's
 *      (and is remembered for later samples without one); without one, an
 *      end still unknown is that system when the other end is known to be
 *      another system.
 *   An end neither tells stays unknown (NULL: the address speaks for it).

 * Records are kept in memory and written in batches, attributed when they
 * are written (after the address map was reloaded if due).
 * flow_recorder_add() only keeps (it never touches the store: the
 * collector calls it inside its own store batch); flow_recorder_tick(),
 * called after each of the collector's wake-ups outside that batch, writes
 * when FLOW_RECORDER_BATCH records are kept or the oldest is
 * FLOW_RECORDER_DELAY_MS old; flow_recorder_flush() writes what is kept.
 * Past FLOW_RECORDER_MAX kept records, samples are dropped and counted.
 *
 * Threads: a recorder belongs to one thread (the collector's).  Its store
 * writes take the share's lock when made with flow_recorder_new_shared()
 * (the daemon), none with flow_recorder_new() (tests, a store of its own).
 */
#ifndef VANTAGE_FLOW_RECORD_H
#define VANTAGE_FLOW_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "../frame/sflow.h"

#define FLOW_RECORDER_BATCH 1024
#define FLOW_RECORDER_DELAY_MS 1000
#define FLOW_RECORDER_MAX 65536

struct store;
struct store_share;
struct flow_recorder;

/* A recorder writing to `st` (not owned; the caller serializes access). */
struct flow_recorder *flow_recorder_new(struct store *st);
/* A recorder writing through the daemon's store share (engine/locked_sink.h):
 * each write under sh->lock; once the share is closed, writes give
 * -ESHUTDOWN and the records are dropped. */
struct flow_recorder *flow_recorder_new_shared(struct store_share *sh);

/* Data source (h->agent, h->sub_agent, ds_index) is system `system_id`
 * (the collector's id for it), seen at now_ms.  Call it for each counter
 * sample whose system is known; cheap when nothing changed. */
void flow_recorder_source(struct flow_recorder *r, const struct sflow_header *h, uint32_t ds_index,
                          const char *system_id, int64_t now_ms);

/* One decoded flow sample (a flow callback of sflow_decode()), received at
 * now_ms (wall clock, ms): kept for the next write.  Samples without an IP
 * header are counted and skipped.  0; -ENOBUFS when FLOW_RECORDER_MAX are
 * kept (the sample is dropped and counted). */
int flow_recorder_add(struct flow_recorder *r, const struct sflow_header *h,
                      const struct sflow_flow *f, int64_t now_ms);

/* Write when FLOW_RECORDER_BATCH records are kept or the oldest is
 * FLOW_RECORDER_DELAY_MS old.  0 or the store's error (the records written
 * are dropped and counted; the recorder goes on).  Call it at least every
 * second, outside any store batch. */
int flow_recorder_tick(struct flow_recorder *r, int64_t now_ms);

/* Write what is kept; 0 or the store's error.  Call it before
 * flow_recorder_free(). */
int flow_recorder_flush(struct flow_recorder *r, int64_t now_ms);

/* What the recorder did, for /metrics. */
struct flow_recorder_stats {
	uint64_t samples; /* flow samples given to flow_recorder_add */
	uint64_t stored;  /* flow records written */
	uint64_t no_ip;   /* samples without an IP header: skipped */
	uint64_t dropped; /* records lost to failed writes or a full buffer */
	uint64_t write_errors;
};
void flow_recorder_stats(const struct flow_recorder *r, struct flow_recorder_stats *out);

/* Frees without writing: flush first. NULL is allowed. */
void flow_recorder_free(struct flow_recorder *r);

#endif
