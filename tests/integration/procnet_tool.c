/*
 * procnet_tool - the sockets of this network namespace through both paths
 * of the connection feature's view, for tests/integration/procnet.sh:
 *
 *   procnet_tool        one line per socket, "<source> <proto><6> <local
 *                       addr> <port> <remote addr> <port> <state> <inode>
 *                       <uid>", first through sock_diag (source
 *                       "sockdiag1", no owners, no fallback), then from
 *                       /proc/thread-self/net (views/host/procnet.c:
 *                       "procfs"), then through sock_diag again
 *                       ("sockdiag2"), so sockets that came or went in
 *                       between can be told apart.
 *
 * Exit status 0; 1 with the failing path and errno on stderr.  Built by
 * `make unit` as build/tests/procnet_tool (Makefile: testbin).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "views/host/host.h"
#include "views/host/procnet.h"

static void print(const char *source, const struct vt_sock *s)
{
	printf("%s %s%s %s %u %s %u %d %llu %u\n", source, s->proto == IPPROTO_UDP ? "udp" : "tcp",
	       s->family == AF_INET6 ? "6" : "", s->local_addr, (unsigned)s->local_port,
	       s->remote_addr, (unsigned)s->remote_port, s->state, (unsigned long long)s->inode,
	       s->uid);
}

static int from_sockdiag(void *ctx, const struct vt_sock *s)
{
	print(ctx, s);
	return 0;
}

static int from_procfs(void *ctx, const struct sd_sock *s)
{
	struct vt_sock vs;

	sd_sock_format(s, &vs);
	print("procfs", &vs);
	return 0;
}

static void error(void *ctx, const char *what, int err)
{
	fprintf(stderr, "procnet_tool: %s: %s\n", what, strerror(err));
}

static int sockdiag(const char *name)
{
	struct view_iter it = {.ctx = (void *)name, .error = error};
	int r = sockdiag_sockets_ns(-1, NULL, NULL, NULL, &it, from_sockdiag);

	if (r < 0)
		fprintf(stderr, "procnet_tool: sock_diag: %s\n", strerror(-r));
	return r;
}

int main(void)
{
	static const int tables[][2] = {
	    {AF_INET, IPPROTO_TCP},
	    {AF_INET6, IPPROTO_TCP},
	    {AF_INET, IPPROTO_UDP},
	    {AF_INET6, IPPROTO_UDP},
	};
	struct view_iter it = {.error = error};
	int proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (proc_fd < 0) {
		fprintf(stderr, "procnet_tool: /proc: %s\n", strerror(errno));
		return 1;
	}
	if (sockdiag("sockdiag1") < 0)
		r = 1;
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		int e = procnet_sockets(proc_fd, "thread-self/net", tables[i][0], tables[i][1], &it,
		                        from_procfs, NULL);
		if (e < 0) {
			fprintf(stderr, "procnet_tool: /proc/thread-self/net: %s\n", strerror(-e));
			r = 1;
		}
	}
	if (sockdiag("sockdiag2") < 0)
		r = 1;
	close(proc_fd);
	return r;
}
