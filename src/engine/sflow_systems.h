/*
 * sflow_systems.h - what the sFlow collector makes of counter samples:
 * each data source of each agent a system, each sample a frame of
 * `metric` records under our own names (docs/sflow.md).
 *
 * A data source is (agent address, sub-agent, ds_class, ds_index).  Its
 * system:
 *   kind   "host" for a physical entity (or any source without a parent).
 *          A virtual node (host_parent record, or ds_class 3, a logical
 *          entity) is a "container" when its host_descr names the same
 *          os_release as its parent host (it shares the host's kernel: so
 *          do hsflowd's Docker containers and our own sink's), a "vm" when
 *          it names another one (a kernel of its own), or none with
 *          os_name unknown (hsflowd's KVM/Xen guests: the hypervisor does
 *          not know their OS).  While it cannot tell (no os_release yet,
 *          or the parent not seen yet) its samples are held (counted in
 *          `undecided`, no frame; rates start from them), at most
 *          SFLOW_KIND_WAIT of them, then it is a "container".  The kind is
 *          kept once decided.
 *   id     "<kind>:sflow:<agent>:<uuid>" from host_descr's uuid, or
 *          "<kind>:sflow:<agent>:<sub_agent>:<ds_class>.<ds_index>" without
 *          one: stable across agent and collector restarts
 *   name   host_descr's hostname (else the agent address, or ds<N>)
 *   host   the host's hostname: its own for a host, its parent's for a
 *          virtual node (the field our own container frames fill)
 *   labels {"source":"sflow","agent","sub_agent","ds","uuid","os_release",
 *           "machine","parent": the parent's system id}
 *
 * Records, as the `metric` feature writes them (features/metric.c), so
 * charts, alarms and /prometheus need nothing new:
 *   host_cpu      "cpu" (user_pct ... steal_pct, busy_pct over the time
 *                 between two samples), "load" (load1/5/15, runnable,
 *                 tasks, uptime_s)
 *   host_memory   "memory" (total_kb, free_kb, available_kb estimated as
 *                 free + buffers + cached, used_kb, used_pct, swap_*)
 *   host_disk_io  "disk:all" (size_bytes, used_bytes, avail_bytes,
 *                 used_pct, max_used_pct) and "diskio:all" (counters and
 *                 *_per_s)
 *   host_net_io   "net:all" (rx_/tx_ bytes packets errors dropped, *_per_s)
 *   virt_cpu      "cpu" (busy_pct of its vCPUs) and "cgroup" (cpu_pct of
 *                 one core, with virt_memory's mem_usage_bytes and
 *                 mem_limit_bytes, virt_disk_io's io_* counters)
 *   virt_memory   "memory" (total_kb = max, used_kb, used_pct)
 *   virt_disk_io  "disk:all" (capacity, allocation, available), "diskio:all"
 *   virt_net_io   "net:all"
 *   virt_node     "virt_node" (mhz, cpus, memory_bytes, memory_free_bytes,
 *                 domains)
 * Rates need two samples of the source: the first one gives none.  The
 * time between them is the agent's uptime difference (its own clock).
 * Samples are checked by their sequence number: a repeated or older one is
 * dropped (stale), a gap is counted (lost) and rates cover it; a sample
 * whose uptime went back is an agent restart (no rates this time).  u32
 * counters wrap (deltas are taken modulo 2^32); a u64 counter that went
 * back gives no rate.
 *
 * A sample less than SFLOW_MIN_SPACING_MS of the agent's uptime after the
 * last stored one of its source is coalesced: counted, its sequence taken,
 * no frame (the next frame's rates span it).  Agents poll every second at
 * the most (a real hsflowd at 1 s: 596 to 2108 ms apart, and once two
 * samples at the same uptime); a source sending faster (a replay, a flood)
 * costs a decode, not a store transaction, per datagram.
 *
 * At most SFLOW_MAX_SOURCES data sources are followed: further ones are
 * counted (sources_full) and ignored.  One thread (the collector's).
 */
#ifndef VANTAGE_SFLOW_SYSTEMS_H
#define VANTAGE_SFLOW_SYSTEMS_H

#include <stdint.h>

#include "../frame/sflow.h"
#include "../frame/sink.h"

#define SFLOW_MAX_SOURCES 65536
#define SFLOW_KIND_WAIT 3
#define SFLOW_MIN_SPACING_MS 250u

struct sflow_systems;

struct sflow_systems_stats {
	uint64_t sources;      /* data sources followed now */
	uint64_t frames;       /* frames written (one per sample) */
	uint64_t frame_errors; /* frames the sink refused */
	uint64_t stale;        /* samples dropped: sequence repeated or older */
	uint64_t lost;         /* samples missed: sequence gaps */
	uint64_t restarts;     /* agent restarts seen (uptime went back) */
	uint64_t sources_full; /* samples of sources beyond SFLOW_MAX_SOURCES */
	uint64_t no_records;   /* samples with nothing we map (a switch port's) */
	uint64_t undecided;    /* samples held while a virtual node's kind was unknown */
	uint64_t coalesced;    /* samples within SFLOW_MIN_SPACING_MS of a stored one */
};

/* Frames go to `sink` (borrowed). */
struct sflow_systems *sflow_systems_new(struct sink *sink);
void sflow_systems_free(struct sflow_systems *s);

/* One counter sample of a datagram (header h), received at now_ms (wall
 * clock): a frame of its system.  0, or the sink's negative errno (the
 * sample is counted in frame_errors; the caller goes on). */
int sflow_systems_counters(struct sflow_systems *s, const struct sflow_header *h,
                           const struct sflow_counters *c, int64_t now_ms);

/* The id of the system the last sflow_systems_counters() call wrote a
 * frame of, or NULL when it wrote none; valid until the next call. */
const char *sflow_systems_last_id(const struct sflow_systems *s);

void sflow_systems_stats(const struct sflow_systems *s, struct sflow_systems_stats *out);

#endif
