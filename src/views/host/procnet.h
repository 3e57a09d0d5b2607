/*
 * procnet.h - the TCP and UDP sockets of a network namespace read from
 * procfs (/proc/<pid>/net/{tcp,tcp6,udp,udp6}), for a kernel that cannot
 * dump them through sock_diag (inet_diag, tcp_diag or udp_diag not built
 * or not loadable).
 *
 * sockdiag.c calls procnet_sockets() for each (family, protocol) whose
 * dump procnet_fallback() accepts as "sock_diag cannot answer", and keeps
 * its owner scan: the inodes these files give are those sock_diag gives.
 */
#ifndef VANTAGE_PROCNET_H
#define VANTAGE_PROCNET_H

#include <stdbool.h>

#include "../../linux/sockdiag_parse.h"
#include "../view.h"

/* What sockets' header field says of them (view_iter's source hook). */
#define PROCNET_SOURCE "procfs"

/* True when a sock_diag dump failing with `err` (negative) should be
 * replaced by the procfs file: no handler for the family or protocol
 * (-ENOENT, -EOPNOTSUPP), no NETLINK_SOCK_DIAG (-EPROTONOSUPPORT), or
 * netlink refused (-EPERM, -EACCES). */
bool procnet_fallback(int err);

/*
 * Pass each socket of `family` (AF_INET, AF_INET6) and `proto`
 * (IPPROTO_TCP, IPPROTO_UDP) in <netdir>/tcp (tcp6, udp, udp6) under
 * `proc_fd` to cb(ctx, s), in the file's order.  `netdir` names a network
 * namespace's net directory relative to proc_fd: "thread-self/net" for
 * the calling thread's, "<pid>/net" for that of process pid (a
 * container's init: procfs shows its namespace, no setns needed).
 * Malformed lines (and lines too long) are skipped and reported once
 * through it->error ("/proc/<netdir>/tcp: N malformed line(s)",
 * EBADMSG); when the file was read, it->source(it->ctx, PROCNET_SOURCE)
 * is called.  A missing tcp6/udp6 file (IPv6 off) has no sockets.
 * Returns 0, cb's non-zero return, or a negative errno (the file could
 * not be opened or read; -EINVAL when it is not a regular file).
 */
int procnet_sockets(int proc_fd, const char *netdir, int family, int proto,
                    const struct view_iter *it, int (*cb)(void *ctx, const struct sd_sock *s),
                    void *ctx);

#endif
