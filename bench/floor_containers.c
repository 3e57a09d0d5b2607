/*
 * floor_containers.c - the floor for crawling containers: the least work
 * any tool must do to list each container's processes and sockets.
 *
 * Reads lines of host pids from stdin, one container a line, its init
 * first.  For each container: enter its network namespace once, dump TCP
 * and UDP sockets (IPv4, IPv6) through sock_diag, return; read
 * /proc/PID/stat, status and cmdline of every pid.  Prints counts only.
 */
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char buf[1 << 16];

static long read_file(const char *path)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	long total = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += n;
	close(fd);
	return total;
}

static long dump(int s, int family, int proto)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
	    .nlh = {.nlmsg_len = sizeof(req),
	            .nlmsg_type = SOCK_DIAG_BY_FAMILY,
	            .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
	    .r = {.sdiag_family = (unsigned char)family,
	          .sdiag_protocol = (unsigned char)proto,
	          .idiag_states = ~0u},
	};
	long count = 0;
	if (send(s, &req, sizeof(req), 0) < 0)
		return 0;
	for (;;) {
		ssize_t n = recv(s, buf, sizeof(buf), 0);
		if (n <= 0)
			return count;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
				return count;
			count++;
		}
	}
}

int main(void)
{
	int self = open("/proc/thread-self/ns/net", O_RDONLY);
	char line[65536], path[64];
	long containers = 0, procs = 0, socks = 0, bytes = 0;
	while (fgets(line, sizeof(line), stdin)) {
		char *p = line, *end;
		long pid = strtol(p, &end, 10);
		if (end == p)
			continue;
		containers++;
		snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
		int ns = open(path, O_RDONLY);
		if (ns >= 0 && setns(ns, CLONE_NEWNET) == 0) {
			int s = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_SOCK_DIAG);
			setns(self, CLONE_NEWNET);
			if (s >= 0) {
				socks +=
				    dump(s, AF_INET, IPPROTO_TCP) + dump(s, AF_INET6, IPPROTO_TCP) +
				    dump(s, AF_INET, IPPROTO_UDP) + dump(s, AF_INET6, IPPROTO_UDP);
				close(s);
			}
		}
		if (ns >= 0)
			close(ns);
		for (;;) {
			pid = strtol(p, &end, 10);
			if (end == p)
				break;
			p = end;
			snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
			bytes += read_file(path);
			snprintf(path, sizeof(path), "/proc/%ld/status", pid);
			bytes += read_file(path);
			snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
			bytes += read_file(path);
			procs++;
		}
	}
	printf("containers=%ld processes=%ld sockets=%ld bytes=%ld\n", containers, procs, socks,
	       bytes);
	return 0;
}
