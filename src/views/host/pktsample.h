/*
 * pktsample.h - packet sampling on a host interface: an AF_PACKET socket
 * bound to one interface (of the host's network namespace: the host's own
 * interfaces and the host ends of containers' veth pairs), with a classic
 * BPF filter that keeps 1 packet in N, chosen at random in the kernel
 * (SKF_AD_RANDOM mod N), cut to PKTSAMPLE_SNAP bytes: the packets not
 * sampled never reach user space (docs/flows.md).
 *
 * Each sample carries the frame's first bytes (Ethernet), its length on
 * the wire (PACKET_AUXDATA tp_len) and its direction.  The sample pool
 * (packets that could have been sampled) is the interface's rx + tx packet
 * counters since the socket was opened; drops are the socket's
 * (PACKET_STATISTICS: samples the kernel could not queue).
 */
#ifndef VANTAGE_PKTSAMPLE_H
#define VANTAGE_PKTSAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKTSAMPLE_SNAP 128

struct pktsample;

struct pkt_sample {
	const uint8_t *data; /* the frame's first caplen bytes */
	uint32_t caplen;     /* <= PKTSAMPLE_SNAP */
	uint32_t origlen;    /* the frame's length */
	bool outgoing;       /* sent by this interface (else received) */
	int ifindex;
};

/* Open sampling of 1 packet in `rate` (>= 1) on interface `ifname`.  0, or
 * a negative errno with the message in err (-ENODEV: no such interface;
 * -EPERM: AF_PACKET needs CAP_NET_RAW). */
int pktsample_open(const char *ifname, uint32_t rate, struct pktsample **out, char *err,
                   size_t errlen);

/* The socket, to poll for input. */
int pktsample_fd(const struct pktsample *p);
const char *pktsample_name(const struct pktsample *p);
int pktsample_ifindex(const struct pktsample *p);
uint32_t pktsample_rate(const struct pktsample *p);

/* Read the samples queued (without blocking), cb for each (a non-zero
 * return stops and is returned).  Returns the number read, or a negative
 * errno. */
int pktsample_read(struct pktsample *p, int (*cb)(void *ctx, const struct pkt_sample *s),
                   void *ctx);

/* The sample pool (interface packets since open) and the drops so far. */
void pktsample_counts(struct pktsample *p, uint64_t *pool, uint64_t *drops);

void pktsample_close(struct pktsample *p);

#endif
