/*
 * procnet_parse.h - a pure parser of the socket lines of /proc/net/tcp,
 * tcp6, udp and udp6: the sockets of a network namespace as procfs shows
 * them, read when the kernel's sock_diag modules are absent.
 *
 * The kernel writes one line per socket (after a header line starting
 * with "sl"), the same layout for the four files, e.g. (tcp, tcp6, udp):
 *
 *    4: 0100007F:C6F0 0100007F:B79A 01 00000000:00000000 00:00000000 00000000     0        0 60338
 * ... 4: 0000000000000000FFFF00000100007F:B79A 0000...:C6F0 01 00000000:00000000 00:00000000 ...
 *  15384: 00000000:B7A4 00000000:0000 07 00000000:00000340 00:00000000 00000000 65534        0
 * 60400 ...
 *
 * i.e. "sl: local rem st tx_queue:rx_queue tr:when retrnsmt uid timeout
 * inode ...".  An address is the kernel's __be32 words each printed as a
 * native-endian u32 in hex (%08X): 8 digits for IPv4, 32 for IPv6,
 * decoded back into network byte order on this (the same) machine; a port
 * is the number in host order (%04X).  st is the TCP state number (UDP:
 * 7 unconnected, 1 connected, as sock_diag gives it).  What follows the
 * inode (ref count, kernel pointer, drops...) is ignored.
 *
 * No I/O: views/host/procnet.c reads the files line by line and calls
 * procnet_parse_line() on each.  The parser never reads past `len`,
 * takes exactly the digits the kernel's widths give for addresses and
 * ports, bounds every number and rejects a line that does not fit.
 */
#ifndef VANTAGE_PROCNET_PARSE_H
#define VANTAGE_PROCNET_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "sockdiag_parse.h"

/* One socket line: the socket as sock_diag would give it (sd_sock: uid
 * and inode too; inode 0 for TIME_WAIT and SYN_RECV entries, which have
 * none) and its queues (bytes; for a listener rx_queue is the accept
 * backlog's length, as sock_diag's idiag_rqueue). */
struct procnet_sock {
	struct sd_sock s;
	uint32_t tx_queue, rx_queue;
};

/* Returns of procnet_parse_line() besides 0 (a socket). */
#define PROCNET_HEADER 1 /* the file's first line ("  sl  local_address ...") */

/*
 * Parse one line (without its newline, `len` bytes, not NUL-terminated)
 * of a file of `family` (AF_INET: tcp, udp; AF_INET6: tcp6, udp6) and
 * `proto` (IPPROTO_TCP, IPPROTO_UDP).  Returns 0 with *out filled,
 * PROCNET_HEADER for the header line, -EINVAL for a family or protocol
 * it does not know, -EBADMSG for a malformed line (*out then undefined).
 */
int procnet_parse_line(const char *line, size_t len, int family, int proto,
                       struct procnet_sock *out);

#endif
