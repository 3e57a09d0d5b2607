/*
 * conntrack_parse.h - a pure parser of the kernel's connection tracking
 * table as /proc/net/nf_conntrack prints it, one entry a line:
 *
 *   ipv4 2 tcp 6 431999 ESTABLISHED src=10.88.0.2 dst=192.0.2.2 sport=43210
 *   dport=8080 src=10.88.0.5 dst=10.88.0.2 sport=80 dport=43210 [ASSURED] ...
 *
 * The first src/dst/sport/dport are the original direction (as the client
 * sent it), the second the reply direction (as the server answers): a
 * DNAT'ed connection to a published port has a reply source that is not
 * the original destination.  No I/O; lines are never trusted (a missing
 * or malformed field skips the line).
 */
#ifndef VANTAGE_CONNTRACK_PARSE_H
#define VANTAGE_CONNTRACK_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* One tracked TCP connection.  Addresses are IPv6 or IPv4-mapped IPv6
 * (::ffff:a.b.c.d), ports in host order. */
struct ct_entry {
	uint8_t osrc[16], odst[16]; /* original direction */
	uint16_t osport, odport;
	uint8_t rsrc[16], rdst[16]; /* reply direction */
	uint16_t rsport, rdport;
};

/* Parse one line (n bytes, no NUL needed).  1: a TCP entry in *out; 0: a
 * line of another protocol or one that does not parse. */
int ct_parse_line(const char *line, size_t n, struct ct_entry *out);

/* Parse a whole table: calls cb for each TCP entry; stops and returns a
 * non-zero return of cb, else the number of entries. */
long ct_parse_table(const char *text, size_t n, int (*cb)(void *ctx, const struct ct_entry *e),
                    void *ctx);

#endif
