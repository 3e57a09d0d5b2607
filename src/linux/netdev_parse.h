/*
 * netdev_parse.h - a pure parser of /proc/net/dev, the interface counters
 * of a network namespace as text.
 *
 * The daemon reads a system's interface counters every tick from its
 * /proc/PID/net/dev, kept open and read again from offset 0 (no netlink
 * dump, no socket).  The file is two header lines (they hold '|') then one
 * line per interface:
 *
 *   "  eth0: RXBYTES RXPACKETS ERRS DROP FIFO FRAME COMPRESSED MULTICAST
 *            TXBYTES TXPACKETS ERRS DROP FIFO COLLS CARRIER COMPRESSED"
 *
 * The kernel prints them from dev_get_stats(), as rtnetlink's
 * IFLA_STATS64 carries them, except that rx "drop" is rx_dropped +
 * rx_missed_errors there.  The text is never trusted: a name longer than
 * an interface name can be, fewer than 16 numbers, garbage after them,
 * or a number that overflows is -EINVAL (tests/unit/test_netdev_parse.c).
 */
#ifndef VANTAGE_NETDEV_PARSE_H
#define VANTAGE_NETDEV_PARSE_H

#include <stddef.h>

#include "records.h"

#define NETDEV_NAME_MAX 32 /* IFNAMSIZ is 16; room to spare, never cut */

struct netdev_line {
	char name[NETDEV_NAME_MAX];
	struct vt_netio c; /* c.ifname points at name */
};

/* Returns 1 with *out filled for an interface line, 0 for a header or
 * blank line, -EINVAL for a malformed line. */
int netdev_parse_line(const char *line, size_t len, struct netdev_line *out);

#endif
