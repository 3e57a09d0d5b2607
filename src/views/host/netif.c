/*
 * netif.c - network interfaces of the calling thread's network namespace,
 * with their addresses and counters, through rtnetlink.
 *
 * Two dumps on NETLINK_ROUTE (nl_dump() from sockdiag.c, parsers from
 * linux/sockdiag_parse.c):
 *
 *  1. RTM_GETADDR: every IPv4 and IPv6 address, kept as "addr/prefix" text
 *     in one small growable array (a host has few addresses).
 *  2. RTM_GETLINK: one message per interface with its name, index, flags,
 *     MTU, hardware address and IFLA_STATS64 counters (64-bit, unlike the
 *     32-bit struct rtnl_link_stats getifaddrs() hands out).  Each link is
 *     streamed to the callback as it is parsed, with the addresses of its
 *     index attached.
 *
 * No sysfs file-per-counter reads.  An address dump that fails is
 * reported through it->error and the links are still listed.
 */
#include "host.h"
#include "../../linux/sockdiag_parse.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define NL_BUF_SIZE 32768

struct addrvec {
	struct rtnl_addr *v;
	size_t n, cap;
};

static int addr_msg(void *ctx, uint16_t type, const void *payload, size_t plen)
{
	struct addrvec *av = ctx;
	struct rtnl_addr a;

	if (type != RTM_NEWADDR || rtnl_parse_addr(payload, plen, &a) < 0)
		return 0;
	if (av->n == av->cap) {
		size_t cap = av->cap ? av->cap * 2 : 16;
		void *p = realloc(av->v, cap * sizeof(*av->v));

		if (!p)
			return -ENOMEM;
		av->v = p;
		av->cap = cap;
	}
	av->v[av->n++] = a;
	return 0;
}

/* A dump request of `type` with an all-zero family header of `hdrlen`
 * bytes (ifinfomsg / ifaddrmsg: AF_UNSPEC, every interface). */
static int route_dump(uint16_t type, size_t hdrlen, uint32_t seq, void *buf,
                      int (*msg)(void *ctx, uint16_t type, const void *payload, size_t plen),
                      void *ctx)
{
	struct {
		struct nlmsghdr nlh;
		struct ifinfomsg hdr; /* the larger of the two */
	} req;
	struct nl_walk w = {.seq = seq};

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = (uint32_t)NLMSG_LENGTH(hdrlen);
	req.nlh.nlmsg_type = type;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.nlh.nlmsg_seq = seq;
	return nl_dump(NETLINK_ROUTE, &req, req.nlh.nlmsg_len, buf, NL_BUF_SIZE, &w, msg, ctx);
}

struct link_ctx {
	const struct addrvec *addrs;
	const char **ptrs; /* addrs->n + 1 slots */
	int (*cb)(void *ctx, const struct vt_iface *i);
	void *cb_ctx;
};

static int link_msg(void *ctx, uint16_t type, const void *payload, size_t plen)
{
	struct link_ctx *lc = ctx;
	struct rtnl_link l;
	struct vt_iface i;
	size_t k, n = 0;

	if (type != RTM_NEWLINK || rtnl_parse_link(payload, plen, &l) < 0)
		return 0;
	for (k = 0; k < lc->addrs->n; k++)
		if (lc->addrs->v[k].index == l.index)
			lc->ptrs[n++] = lc->addrs->v[k].text;
	lc->ptrs[n] = NULL;

	memset(&i, 0, sizeof(i));
	i.name = l.name;
	i.index = l.index;
	format_hwaddr(l.hw, l.hwlen, i.mac, sizeof(i.mac));
	i.mtu = l.mtu;
	i.flags = l.flags;
	i.addrs = lc->ptrs;
	i.counters = l.stats;
	i.counters.ifname = l.name;
	return lc->cb(lc->cb_ctx, &i);
}

int host_interfaces(struct view *v, const struct view_iter *it,
                    int (*cb)(void *ctx, const struct vt_iface *i))
{
	void *buf = aligned_alloc(8, NL_BUF_SIZE);
	struct addrvec av = {0};
	struct link_ctx lc = {.addrs = &av, .cb = cb, .cb_ctx = it ? it->ctx : NULL};
	int r;

	(void)v;
	if (!buf)
		return -ENOMEM;
	r = route_dump(RTM_GETADDR, sizeof(struct ifaddrmsg), 1, buf, addr_msg, &av);
	if (r == -ENOMEM)
		goto out;
	if (r < 0 && it && it->error)
		it->error(it->ctx, "interface addresses", -r);
	lc.ptrs = malloc((av.n + 1) * sizeof(*lc.ptrs));
	if (!lc.ptrs) {
		r = -ENOMEM;
		goto out;
	}
	r = route_dump(RTM_GETLINK, sizeof(struct ifinfomsg), 2, buf, link_msg, &lc);
out:
	free(lc.ptrs);
	free(av.v);
	free(buf);
	return r;
}
