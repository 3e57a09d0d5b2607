/*
 * sockdiag_parse.h - pure parsers of the netlink messages the host view
 * reads: sock_diag (inet_diag) socket dumps and rtnetlink link/address
 * dumps.
 *
 * The parsers do no I/O: every one takes a buffer and its length, as
 * received from the kernel, and never reads past it.  Lengths inside the
 * buffer (nlmsg_len, rta_len) are checked against what is left before
 * they are used; a message whose length does not fit stops the walk with
 * -EBADMSG, a message too short for its payload is skipped and counted.
 *
 * views/host/sockdiag.c and views/host/netif.c do the socket work and call
 * these; the unit tests (tests/unit/test_sockdiag.c) feed them hand-built
 * and broken buffers.  The I/O that feeds them, nl_dump() (send a dump
 * request, walk its replies), is views/host/sockdiag.c's (host.h).
 */
#ifndef VANTAGE_SOCKDIAG_PARSE_H
#define VANTAGE_SOCKDIAG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "records.h"

/* ---- netlink framing ----------------------------------------------------- */

/* State of a walk over the replies to one netlink dump request. */
struct nl_walk {
	uint32_t seq;     /* only messages with this nlmsg_seq (0: any) */
	bool done;        /* out: NLMSG_DONE met */
	bool interrupted; /* out: NLM_F_DUMP_INTR met (dump inconsistent) */
};

/*
 * Walk the netlink messages in `buf` (len bytes, 4-byte aligned as
 * recvmsg() delivers it).  For each data message calls
 * msg(ctx, type, payload, plen); stops after NLMSG_DONE (w->done set).
 *
 * Returns 0 when the buffer was consumed, the (negative) error of an
 * NLMSG_ERROR message, -EBADMSG when a length is inconsistent (truncated
 * message, nlmsg_len smaller than a header or past the buffer, trailing
 * bytes), -EINVAL for a misaligned buffer, or msg's non-zero return.
 */
int nl_walk(struct nl_walk *w, const void *buf, size_t len,
            int (*msg)(void *ctx, uint16_t type, const void *payload, size_t plen), void *ctx);

/* ---- sock_diag ------------------------------------------------------------ */

/* A socket as dumped, kept compact (72 bytes) because a dump is buffered
 * until its owners are known.  Ports in host order, addresses as in the
 * message (network order; 4 bytes used for AF_INET). */
struct sd_sock {
	uint8_t family; /* AF_INET / AF_INET6 */
	uint8_t proto;  /* IPPROTO_TCP / IPPROTO_UDP */
	uint8_t state;  /* TCP_* number (UDP: 7 unconnected, 1 connected) */
	uint8_t info;   /* 1: the tcp_info fields below were in the message */
	uint16_t sport, dport;
	uint32_t uid;
	uint32_t inode; /* 0 for sockets without one (TIME_WAIT...) */
	uint8_t src[16], dst[16];
	/* from the INET_DIAG_INFO attribute (struct tcp_info), TCP only */
	uint32_t rtt_us;         /* tcpi_rtt: smoothed RTT */
	uint32_t retrans;        /* tcpi_total_retrans */
	uint64_t bytes_acked;    /* tcpi_bytes_acked: sent and acknowledged */
	uint64_t bytes_received; /* tcpi_bytes_received */
};

/* Parse one inet_diag_msg payload of a dump of protocol `proto`, and the
 * INET_DIAG_INFO attribute that follows it when there is one (asked for
 * with idiag_ext; a struct tcp_info too short for tcpi_bytes_received,
 * as older kernels send, leaves `info` 0).  Returns 0, or -EBADMSG when
 * too short or of an unknown family. */
int sd_parse_diag(const void *payload, size_t plen, int proto, struct sd_sock *out);

/* Fill the text form of a socket (no owner; `have` = VS_UID|VS_INODE,
 * VS_INODE only when the inode is not 0, VS_TCPINFO when `info`). */
void sd_sock_format(const struct sd_sock *s, struct vt_sock *out);

/* One sock_diag dump being parsed: the walk, the dump's protocol, and
 * where parsed sockets go. */
struct sd_dump {
	struct nl_walk nl;
	int proto;    /* IPPROTO_TCP / IPPROTO_UDP (not in the message) */
	unsigned bad; /* out: SOCK_DIAG_BY_FAMILY messages skipped */
	int (*cb)(void *ctx, const struct sd_sock *s);
	void *ctx;
};

/* The message handler of a sock_diag dump for nl_walk() (ctx: a struct
 * sd_dump): sd_parse_diag() on each SOCK_DIAG_BY_FAMILY message, counting
 * those it rejects in d->bad and passing the others to d->cb; other types
 * are ignored. */
int sd_parse_msg(void *ctx, uint16_t type, const void *payload, size_t plen);

/* Parse one received buffer of a dump: nl_walk(&d->nl, ..., sd_parse_msg,
 * d).  Same returns as nl_walk(). */
int sd_parse_buf(struct sd_dump *d, const void *buf, size_t len);

/* ---- rtnetlink ------------------------------------------------------------ */

/* One RTM_NEWLINK message. */
struct rtnl_link {
	int index;
	unsigned flags; /* IFF_* from ifi_flags */
	unsigned mtu;
	bool have_stats; /* IFLA_STATS64 (or IFLA_STATS) was present */
	char name[64];   /* IFLA_IFNAME, "" if absent */
	uint8_t hw[32];  /* IFLA_ADDRESS */
	size_t hwlen;
	struct vt_netio stats; /* ifname left NULL */
};

/* Parse an RTM_NEWLINK payload (ifinfomsg + attributes).  Returns 0 or
 * -EBADMSG.  An attribute whose length is inconsistent ends the attribute
 * list (what was read so far is kept). */
int rtnl_parse_link(const void *payload, size_t plen, struct rtnl_link *out);

/* One RTM_NEWADDR message, as text "addr/prefix". */
struct rtnl_addr {
	int index;
	int family;
	char text[64];
};

/* Parse an RTM_NEWADDR payload.  Returns 0, -EBADMSG, or -ENOENT when
 * it carries no address of a family we format (AF_INET, AF_INET6). */
int rtnl_parse_addr(const void *payload, size_t plen, struct rtnl_addr *out);

/* Format a hardware address as "aa:bb:..." into dst (cap bytes); ""
 * when it does not fit or n is 0. */
void format_hwaddr(const uint8_t *hw, size_t n, char *dst, size_t cap);

#endif
