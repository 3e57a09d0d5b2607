/*
 * nl_capture.c - capture the netlink dumps the host view reads, as seeds
 * of fuzz/fuzz_netlink.c: each received buffer (what recvmsg() returned,
 * the unit nl_walk() parses) becomes one file DIR/BYTE-NAME-K, prefixed
 * with the harness's pick byte:
 *
 *   0 sock_diag TCP (with INET_DIAG_INFO, as views/host/sockdiag.c asks)
 *   1 sock_diag UDP
 *   2 rtnetlink RTM_GETLINK      3 rtnetlink RTM_GETADDR
 *
 * A seed tool only (not part of the daemon):
 *   cc -o /tmp/nl_capture fuzz/tools/nl_capture.c && /tmp/nl_capture fuzz/corpus/netlink
 */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char buf[32768] __attribute__((aligned(8)));

static int dump(const char *dir, int byte, const char *name, int proto, const void *req,
                size_t reqlen)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto);
	if (fd < 0) {
		perror("socket");
		return -1;
	}
	if (send(fd, req, reqlen, 0) != (ssize_t)reqlen) {
		perror("send");
		close(fd);
		return -1;
	}
	for (int k = 0;; k++) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		char path[4096];
		snprintf(path, sizeof(path), "%s/%d-%s-%d", dir, byte, name, k);
		FILE *f = fopen(path, "wb");
		if (!f) {
			perror(path);
			break;
		}
		unsigned char b = (unsigned char)byte;
		fwrite(&b, 1, 1, f);
		fwrite(buf, 1, (size_t)n, f);
		fclose(f);
		int done = 0;
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n))
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
				done = 1;
		if (done)
			break;
	}
	close(fd);
	return 0;
}

static void diag(const char *dir, int byte, const char *name, int family, int proto)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req;
	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = sizeof(req);
	req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nlh.nlmsg_seq = 1;
	req.r.sdiag_family = (unsigned char)family;
	req.r.sdiag_protocol = (unsigned char)proto;
	req.r.idiag_states = ~0u;
	if (proto == IPPROTO_TCP)
		req.r.idiag_ext = 1u << (INET_DIAG_INFO - 1);
	dump(dir, byte, name, NETLINK_SOCK_DIAG, &req, sizeof(req));
}

static void route(const char *dir, int byte, const char *name, int type)
{
	struct {
		struct nlmsghdr nlh;
		struct ifinfomsg hdr;
	} req;
	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len =
	    NLMSG_LENGTH(type == RTM_GETLINK ? sizeof(struct ifinfomsg) : sizeof(struct ifaddrmsg));
	req.nlh.nlmsg_type = (unsigned short)type;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nlh.nlmsg_seq = 2;
	dump(dir, byte, name, NETLINK_ROUTE, &req, req.nlh.nlmsg_len);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: nl_capture DIR\n");
		return 2;
	}
	diag(argv[1], 0, "tcp4", AF_INET, IPPROTO_TCP);
	diag(argv[1], 0, "tcp6", AF_INET6, IPPROTO_TCP);
	diag(argv[1], 1, "udp4", AF_INET, IPPROTO_UDP);
	diag(argv[1], 1, "udp6", AF_INET6, IPPROTO_UDP);
	route(argv[1], 2, "link", RTM_GETLINK);
	route(argv[1], 3, "addr", RTM_GETADDR);
	return 0;
}
