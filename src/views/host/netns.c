/*
 * netns.c - enter a namespace briefly; netlink sockets made inside one.
 * See netns.h.
 *
 * setns() of a network or UTS namespace affects only the calling thread,
 * so worker threads can each visit a different container.  Every entry is
 * paired with a return to the thread's original namespace (kept as an fd
 * of /proc/thread-self/ns/<type>); if the return fails the thread is left
 * in a foreign namespace, which is reported as -ENOTRECOVERABLE so the
 * caller stops using the thread for host work.
 */
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static __thread const struct nl_sockets *nl_current;

static const char *ns_name(int nstype)
{
	switch (nstype) {
	case CLONE_NEWNET:
		return "/proc/thread-self/ns/net";
	case CLONE_NEWUTS:
		return "/proc/thread-self/ns/uts";
	default:
		return NULL;
	}
}

int ns_run_in(int ns_fd, int nstype, int (*fn)(void *arg), void *arg)
{
	const char *self = ns_name(nstype);
	if (!self)
		return -EINVAL;
	int back = open(self, O_RDONLY | O_CLOEXEC);
	if (back < 0)
		return -errno;
	if (setns(ns_fd, nstype) < 0) {
		int e = errno;
		close(back);
		return -e;
	}
	int r = fn(arg);
	if (setns(back, nstype) < 0)
		r = -ENOTRECOVERABLE;
	close(back);
	return r;
}

int nl_socket_new(int protocol)
{
	struct timeval tv = {.tv_sec = 10};
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, protocol);
	if (fd < 0)
		return -errno;
	/* The kernel always answers a dump; never hang if it does not. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int open_both(void *arg)
{
	struct nl_sockets *s = arg;
	s->diag_fd = nl_socket_new(NETLINK_SOCK_DIAG);
	if (s->diag_fd < 0)
		return s->diag_fd;
	s->route_fd = nl_socket_new(NETLINK_ROUTE);
	if (s->route_fd < 0) {
		int r = s->route_fd;
		close(s->diag_fd);
		s->diag_fd = -1;
		return r;
	}
	return 0;
}

int nl_sockets_open(int netns_fd, struct nl_sockets *out)
{
	out->diag_fd = out->route_fd = -1;
	return ns_run_in(netns_fd, CLONE_NEWNET, open_both, out);
}

void nl_sockets_close(struct nl_sockets *s)
{
	if (s->diag_fd >= 0)
		close(s->diag_fd);
	if (s->route_fd >= 0)
		close(s->route_fd);
	s->diag_fd = s->route_fd = -1;
}

void nl_sockets_use(const struct nl_sockets *s)
{
	nl_current = s;
}

int nl_sockets_dup(int protocol)
{
	if (!nl_current)
		return -1;
	int fd = protocol == NETLINK_SOCK_DIAG ? nl_current->diag_fd
	         : protocol == NETLINK_ROUTE   ? nl_current->route_fd
	                                       : -1;
	if (fd < 0)
		return -1;
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return d < 0 ? -errno : d;
}
