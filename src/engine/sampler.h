/*
 * sampler.h - the daemon's packet sampler (`vantage serve --sample IFACE
 * --sample-rate N`, [sample] interfaces and rate; docs/flows.md).
 *
 * One thread reads the samples of every chosen interface (pktsample.h: 1
 * in N chosen by the kernel), parses each header to addresses and ports
 * (sflow_parse_header), attributes it to the system owning its source
 * address, else its destination address (addr_map.h: the store's systems'
 * addresses, reloaded every 30 s; unknown: the host), and once a second
 * hands the samples of that second to the engine's extra sinks
 * (sink_flows() on e->extras: the sFlow sink sends them as flow samples).
 * An attributed sample carries an extended socket: local = the owned
 * address.  Interfaces that do not exist (yet) are tried again every 10 s,
 * so a container's veth end may be named before the container starts; one
 * deleted or made again (a restarted container) is noticed within 10 s.
 *
 * Start it after engine_start() (the sinks are open) and stop it before
 * engine_stop().
 */
#ifndef VANTAGE_SAMPLER_H
#define VANTAGE_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

struct engine;
struct sampler;

#define SAMPLER_MAX_IFACES 64
#define SAMPLER_MAX_PER_S 20000 /* samples handed on per second; more are counted and dropped */

/* Start sampling 1 in `rate` on the comma list `ifaces`.  0, or a negative
 * errno with err set (-EINVAL: a bad list). */
int sampler_start(struct engine *e, const char *ifaces, uint32_t rate, struct sampler **out,
                  char *err, size_t errlen);

/* What the sampler did so far. */
struct sampler_stats {
	uint64_t samples;  /* read from the sockets */
	uint64_t sent;     /* handed to the sinks */
	uint64_t overflow; /* past SAMPLER_MAX_PER_S in a second: dropped */
	uint64_t no_ip;    /* not IP: sent unattributed */
};
void sampler_stats(struct sampler *s, struct sampler_stats *out);

/* Stop the thread and close the sockets; NULL is allowed. */
void sampler_stop(struct sampler *s);

#endif
