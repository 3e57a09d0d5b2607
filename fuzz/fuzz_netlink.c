/*
 * fuzz_netlink.c - the netlink replies the host view parses
 * (src/linux/sockdiag_parse.c): the framing walk (nl_walk), sock_diag
 * inet_diag dumps of TCP (with the tcp_info attribute) and UDP, and the
 * rtnetlink RTM_NEWLINK / RTM_NEWADDR dumps of views/host/netif.c.  The
 * kernel writes them, but inside a container's or a guest's network
 * namespace a buggy or hostile kernel module could too, and every length
 * in them is a length the parser must not trust.
 *
 * The first byte picks the dump (fuzz_pick): 0 sock_diag TCP, 1 sock_diag
 * UDP, 2 RTM_GETLINK, 3 RTM_GETADDR; the rest is one received buffer.
 * Seeds in fuzz/corpus/netlink/: buffers of this machine's dumps, captured
 * by fuzz/tools/nl_capture.c.
 */
#include "fuzz.h"

#include "linux/sockdiag_parse.h"

#include <errno.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

struct ctx {
	const uint8_t *buf;
	size_t len;
	unsigned msgs;
};

/* A payload handed to a handler lies inside the received buffer. */
static void in_buf(const struct ctx *c, const void *p, size_t n)
{
	const uint8_t *q = p;
	CHECK(q >= c->buf && n <= c->len && (size_t)(q - c->buf) <= c->len - n);
}

static int sock_cb(void *arg, const struct sd_sock *s)
{
	struct vt_sock vs;
	CHECK(s->family == AF_INET || s->family == AF_INET6);
	sd_sock_format(s, &vs);
	CHECK(memchr(vs.local_addr, '\0', sizeof(vs.local_addr)));
	CHECK(memchr(vs.remote_addr, '\0', sizeof(vs.remote_addr)));
	((struct ctx *)arg)->msgs++;
	return 0;
}

struct diag_ctx {
	struct ctx c;
	struct sd_dump d;
};

/* sd_parse_msg, with the payload's bounds checked first */
static int diag_msg(void *arg, uint16_t type, const void *payload, size_t plen)
{
	struct diag_ctx *dc = arg;
	in_buf(&dc->c, payload, plen);
	return sd_parse_msg(&dc->d, type, payload, plen);
}

static void diag(const uint8_t *buf, size_t len, int proto)
{
	struct diag_ctx dc = {.c = {buf, len, 0}};
	dc.d.proto = proto;
	dc.d.cb = sock_cb;
	dc.d.ctx = &dc.c;
	(void)nl_walk(&dc.d.nl, buf, len, diag_msg, &dc);
	/* and as the daemon calls it, filtering on its request's sequence */
	struct sd_dump d = {.nl = {.seq = 1}, .proto = proto, .cb = sock_cb, .ctx = &dc.c};
	(void)sd_parse_buf(&d, buf, len);
}

static int link_msg(void *arg, uint16_t type, const void *payload, size_t plen)
{
	struct ctx *c = arg;
	struct rtnl_link l;
	char mac[24];
	in_buf(c, payload, plen);
	if (type != RTM_NEWLINK || rtnl_parse_link(payload, plen, &l) < 0)
		return 0;
	CHECK(memchr(l.name, '\0', sizeof(l.name)));
	CHECK(l.hwlen <= sizeof(l.hw));
	format_hwaddr(l.hw, l.hwlen, mac, sizeof(mac));
	CHECK(memchr(mac, '\0', sizeof(mac)));
	c->msgs++;
	return 0;
}

static int addr_msg(void *arg, uint16_t type, const void *payload, size_t plen)
{
	struct ctx *c = arg;
	struct rtnl_addr a;
	in_buf(c, payload, plen);
	if (type != RTM_NEWADDR)
		return 0;
	if (rtnl_parse_addr(payload, plen, &a) == 0) {
		CHECK(memchr(a.text, '\0', sizeof(a.text)));
		CHECK(a.family == AF_INET || a.family == AF_INET6);
	}
	c->msgs++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned k = fuzz_pick(&data, &size, 4);
	/* recvmsg() delivers an aligned buffer: an exact-size heap copy
	 * (malloc aligns to 16), so ASan sees any read past its end */
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		abort();
	if (size)
		memcpy(buf, data, size);
	struct ctx c = {buf, size, 0};
	struct nl_walk w = {0};
	switch (k) {
	case 0:
		diag(buf, size, IPPROTO_TCP);
		break;
	case 1:
		diag(buf, size, IPPROTO_UDP);
		break;
	case 2:
		(void)nl_walk(&w, buf, size, link_msg, &c);
		break;
	case 3:
		(void)nl_walk(&w, buf, size, addr_msg, &c);
		break;
	}
	/* misaligned: refused, never read */
	if (size > 1) {
		struct nl_walk w2 = {0};
		CHECK(nl_walk(&w2, buf + 1, size - 1, link_msg, &c) == -EINVAL);
	}
	free(buf);
	return 0;
}
