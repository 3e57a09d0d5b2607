/*
 * netns.h - netlink sockets of another network namespace, opened once.
 *
 * A container's sockets and interfaces are read over netlink sockets that
 * live in its network namespace.  nl_sockets_open() enters the namespace
 * once (setns on the calling thread), creates one NETLINK_SOCK_DIAG and one
 * NETLINK_ROUTE socket there and returns to where the thread was: a socket
 * stays bound to the namespace it was created in, so every later dump of
 * that container (connection, interface, os, metric) uses these sockets
 * with no further switch.
 *
 * nl_sockets_use() makes the netlink code of this thread (sockdiag.c,
 * netif.c) use the given sockets instead of creating sockets in the
 * thread's own namespace, until called with NULL.
 */
#ifndef VANTAGE_NETNS_H
#define VANTAGE_NETNS_H

struct nl_sockets {
	int diag_fd;
	int route_fd;
};

/* netns_fd: an fd of /proc/<pid>/ns/net.  Returns 0 or a negative errno. */
int nl_sockets_open(int netns_fd, struct nl_sockets *out);
void nl_sockets_close(struct nl_sockets *s);
void nl_sockets_use(const struct nl_sockets *s);
/* The socket to use for `protocol` on this thread: a dup of the one set
 * by nl_sockets_use(), or -1 when none is set (create your own). */
int nl_sockets_dup(int protocol);

/* A netlink socket of `protocol` in the calling thread's namespace, with a
 * receive timeout so a dump can never hang.  An fd or a negative errno. */
int nl_socket_new(int protocol);

/* Run fn(arg) with the calling thread in the namespace `ns_fd` of type
 * `nstype` (CLONE_NEWUTS...), then return to the original one. */
int ns_run_in(int ns_fd, int nstype, int (*fn)(void *arg), void *arg);

#endif
