/*
 * pktsample.c - 1-in-N packet sampling on an interface (pktsample.h).
 *
 * The filter, classic BPF run by the kernel on every packet of the
 * interface:
 *     ld  rand            A = a random u32 (SKF_AD_OFF + SKF_AD_RANDOM)
 *     mod #N              A %= N
 *     jeq #0, keep, drop
 *     keep: ret #128      the packet, cut to 128 bytes
 *     drop: ret #0        nothing
 * so only the samples are copied to the socket.  The socket is made with
 * protocol 0 (it receives nothing) and the filter attached before bind()
 * names the protocol and the interface: no unfiltered packet is queued.
 */
#include "pktsample.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../../util/xalloc.h"

#ifndef ETH_P_ALL
#define ETH_P_ALL 0x0003
#endif

struct pktsample {
	int fd;
	int ifindex;
	uint32_t rate;
	char name[IF_NAMESIZE + 1];
	uint64_t pool0; /* the interface's rx + tx packets at open */
	uint64_t drops;
	uint8_t buf[PKTSAMPLE_SNAP];
};

/* /sys/class/net/NAME/statistics/FILE as a number (0 when unreadable). */
static uint64_t stat_file(const char *ifname, const char *file)
{
	char path[128], b[32];
	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s", ifname, file);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, b, sizeof(b) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	b[n] = 0;
	return strtoull(b, NULL, 10);
}

static uint64_t if_packets(const char *ifname)
{
	return stat_file(ifname, "rx_packets") + stat_file(ifname, "tx_packets");
}

static int fail(char *err, size_t errlen, int e, const char *ifname, const char *what)
{
	snprintf(err, errlen, "sampling %s: %s: %s", ifname, what, strerror(-e));
	return e;
}

int pktsample_open(const char *ifname, uint32_t rate, struct pktsample **out, char *err,
                   size_t errlen)
{
	*out = NULL;
	if (!ifname || !*ifname || strlen(ifname) > IF_NAMESIZE || strchr(ifname, '/')) {
		snprintf(err, errlen, "sampling: '%s' is no interface name", ifname ? ifname : "");
		return -EINVAL;
	}
	if (rate < 1) {
		snprintf(err, errlen, "sampling %s: the rate must be 1 or more", ifname);
		return -EINVAL;
	}
	unsigned idx = if_nametoindex(ifname);
	if (!idx) {
		snprintf(err, errlen, "sampling %s: no such interface", ifname);
		return -ENODEV;
	}
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return fail(err, errlen, -errno, ifname, "AF_PACKET socket");
	struct sock_filter code[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_RANDOM)),
	    BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, rate),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, PKTSAMPLE_SNAP),
	    BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
	int one = 1, rcv = 1 << 20;
	int r = 0;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0)
		r = fail(err, errlen, -errno, ifname, "attaching the sampling filter");
	else if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) < 0)
		r = fail(err, errlen, -errno, ifname, "PACKET_AUXDATA");
	if (r == 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	struct sockaddr_ll sll = {
	    .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = (int)idx};
	if (r == 0 && bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		r = fail(err, errlen, -errno, ifname, "binding the socket");
	if (r < 0) {
		close(fd);
		return r;
	}
	struct pktsample *p = xcalloc(1, sizeof(*p));
	p->fd = fd;
	p->ifindex = (int)idx;
	p->rate = rate;
	snprintf(p->name, sizeof(p->name), "%s", ifname);
	p->pool0 = if_packets(ifname);
	*out = p;
	return 0;
}

int pktsample_fd(const struct pktsample *p)
{
	return p->fd;
}

const char *pktsample_name(const struct pktsample *p)
{
	return p->name;
}

int pktsample_ifindex(const struct pktsample *p)
{
	return p->ifindex;
}

uint32_t pktsample_rate(const struct pktsample *p)
{
	return p->rate;
}

int pktsample_read(struct pktsample *p, int (*cb)(void *ctx, const struct pkt_sample *s), void *ctx)
{
	int n = 0;
	for (;;) {
		struct sockaddr_ll sll;
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
		} cm;
		struct iovec iov = {.iov_base = p->buf, .iov_len = sizeof(p->buf)};
		struct msghdr m = {.msg_name = &sll,
		                   .msg_namelen = sizeof(sll),
		                   .msg_iov = &iov,
		                   .msg_iovlen = 1,
		                   .msg_control = &cm,
		                   .msg_controllen = sizeof(cm)};
		ssize_t got = recvmsg(p->fd, &m, MSG_DONTWAIT);
		if (got < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return n;
			if (errno == EINTR)
				continue;
			return -errno;
		}
		uint32_t cap =
		    (uint32_t)got > sizeof(p->buf) ? (uint32_t)sizeof(p->buf) : (uint32_t)got;
		struct pkt_sample s = {.data = p->buf,
		                       .caplen = cap,
		                       .origlen = (uint32_t)got,
		                       .outgoing = sll.sll_pkttype == PACKET_OUTGOING,
		                       .ifindex = sll.sll_ifindex};
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
			if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA &&
			    c->cmsg_len >= CMSG_LEN(sizeof(struct tpacket_auxdata))) {
				struct tpacket_auxdata aux;
				memcpy(&aux, CMSG_DATA(c), sizeof(aux));
				s.origlen = aux.tp_len;
			}
		n++;
		int r = cb(ctx, &s);
		if (r)
			return r;
	}
}

void pktsample_counts(struct pktsample *p, uint64_t *pool, uint64_t *drops)
{
	struct tpacket_stats st;
	socklen_t sl = sizeof(st);
	if (getsockopt(p->fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl) == 0)
		p->drops += st.tp_drops; /* reset by each read */
	uint64_t now = if_packets(p->name);
	*pool = now >= p->pool0 ? now - p->pool0 : 0;
	*drops = p->drops;
}

void pktsample_close(struct pktsample *p)
{
	if (!p)
		return;
	close(p->fd);
	free(p);
}
