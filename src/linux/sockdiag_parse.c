/*
 * sockdiag_parse.c - pure parsers of sock_diag and rtnetlink messages.
 *
 * The framing walk uses NLMSG_OK/NLMSG_NEXT over a signed remaining
 * length, so an nlmsg_len smaller than a header, larger than what is
 * left, or a tail too short for a header all end the walk; what is left
 * over then makes the buffer -EBADMSG.  Payloads are copied (memcpy) into
 * local structs before use, and attribute lists are walked with explicit
 * bounds, so neither alignment nor lengths are ever trusted.
 */
#include "sockdiag_parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <linux/if_link.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* ---- netlink framing ----------------------------------------------------- */

/* The error carried by NLMSG_ERROR or NLMSG_DONE, as a sane -errno. */
static int nl_errno(int32_t e)
{
	if (e < 0 && e >= -4095)
		return e;
	return -EPROTO;
}

int nl_walk(struct nl_walk *w, const void *buf, size_t len,
            int (*msg)(void *ctx, uint16_t type, const void *payload, size_t plen), void *ctx)
{
	const struct nlmsghdr *h = buf;
	int rem;

	if (len == 0)
		return 0;
	if (!buf || ((uintptr_t)buf & (NLMSG_ALIGNTO - 1)))
		return -EINVAL;
	if (len > INT_MAX)
		return -EBADMSG;
	rem = (int)len;

	for (; NLMSG_OK(h, rem); h = NLMSG_NEXT(h, rem)) {
		const void *payload = NLMSG_DATA(h);
		size_t plen = h->nlmsg_len - NLMSG_HDRLEN;
		int32_t e;
		int r;

		if (w->seq && h->nlmsg_seq != w->seq)
			continue; /* not a reply to our request */
		if (h->nlmsg_flags & NLM_F_DUMP_INTR)
			w->interrupted = true;
		switch (h->nlmsg_type) {
		case NLMSG_DONE:
			w->done = true;
			/* A dump that failed part-way says so here. */
			if (plen >= sizeof(e)) {
				memcpy(&e, payload, sizeof(e));
				if (e != 0)
					return nl_errno(e);
			}
			return 0;
		case NLMSG_ERROR:
			if (plen < sizeof(e))
				return -EBADMSG;
			memcpy(&e, payload, sizeof(e));
			if (e == 0)
				continue; /* an acknowledgement */
			return nl_errno(e);
		case NLMSG_OVERRUN:
			return -ENOBUFS;
		default:
			if (h->nlmsg_type < NLMSG_MIN_TYPE)
				continue; /* NOOP and other control messages */
			r = msg(ctx, h->nlmsg_type, payload, plen);
			if (r)
				return r;
		}
	}
	/* rem < 0 only when the last message's length was not padded to the
	 * alignment: the buffer was consumed.  rem > 0 is a truncated or
	 * broken message. */
	return rem > 0 ? -EBADMSG : 0;
}

/* ---- sock_diag ------------------------------------------------------------ */

struct attr_it {
	const uint8_t *p;
	size_t left;
};

static bool attr_next(struct attr_it *it, unsigned *type, const uint8_t **data, size_t *n);

/* The tcp_info fields we keep, from an INET_DIAG_INFO attribute of n
 * bytes (shorter on old kernels: then nothing is kept). */
static void parse_tcp_info(const uint8_t *d, size_t n, struct sd_sock *out)
{
	struct tcp_info ti;

	if (n < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof(ti.tcpi_bytes_received))
		return;
	memset(&ti, 0, sizeof(ti));
	memcpy(&ti, d, n < sizeof(ti) ? n : sizeof(ti));
	out->info = 1;
	out->rtt_us = ti.tcpi_rtt;
	out->retrans = ti.tcpi_total_retrans;
	out->bytes_acked = ti.tcpi_bytes_acked;
	out->bytes_received = ti.tcpi_bytes_received;
}

int sd_parse_diag(const void *payload, size_t plen, int proto, struct sd_sock *out)
{
	struct inet_diag_msg m;

	if (!payload || plen < sizeof(m))
		return -EBADMSG;
	memcpy(&m, payload, sizeof(m));
	if (m.idiag_family != AF_INET && m.idiag_family != AF_INET6)
		return -EBADMSG;

	memset(out, 0, sizeof(*out));
	out->family = m.idiag_family;
	out->proto = (uint8_t)proto;
	out->state = m.idiag_state;
	out->sport = ntohs(m.id.idiag_sport);
	out->dport = ntohs(m.id.idiag_dport);
	out->uid = m.idiag_uid;
	out->inode = m.idiag_inode;
	if (m.idiag_family == AF_INET) {
		memcpy(out->src, m.id.idiag_src, 4);
		memcpy(out->dst, m.id.idiag_dst, 4);
	} else {
		memcpy(out->src, m.id.idiag_src, 16);
		memcpy(out->dst, m.id.idiag_dst, 16);
	}
	if (proto == IPPROTO_TCP && plen > NLMSG_ALIGN(sizeof(m))) {
		struct attr_it it = {(const uint8_t *)payload + NLMSG_ALIGN(sizeof(m)),
		                     plen - NLMSG_ALIGN(sizeof(m))};
		const uint8_t *d;
		unsigned type;
		size_t n;

		while (attr_next(&it, &type, &d, &n))
			if (type == INET_DIAG_INFO)
				parse_tcp_info(d, n, out);
	}
	return 0;
}

void sd_sock_format(const struct sd_sock *s, struct vt_sock *out)
{
	out->have = VS_UID | (s->inode ? VS_INODE : 0);
	out->family = s->family;
	out->proto = s->proto;
	if (!inet_ntop(s->family, s->src, out->local_addr, sizeof(out->local_addr)))
		out->local_addr[0] = 0;
	if (!inet_ntop(s->family, s->dst, out->remote_addr, sizeof(out->remote_addr)))
		out->remote_addr[0] = 0;
	out->local_port = s->sport;
	out->remote_port = s->dport;
	out->state = s->state;
	out->inode = s->inode;
	out->uid = s->uid;
	out->pid = 0;
	out->comm[0] = 0;
	if (s->info) {
		out->have |= VS_TCPINFO;
		out->rtt_us = s->rtt_us;
		out->retrans = s->retrans;
		out->bytes_acked = s->bytes_acked;
		out->bytes_received = s->bytes_received;
	}
}

int sd_parse_msg(void *ctx, uint16_t type, const void *payload, size_t plen)
{
	struct sd_dump *d = ctx;
	struct sd_sock s;

	if (type != SOCK_DIAG_BY_FAMILY)
		return 0;
	if (sd_parse_diag(payload, plen, d->proto, &s) < 0) {
		d->bad++;
		return 0;
	}
	return d->cb(d->ctx, &s);
}

int sd_parse_buf(struct sd_dump *d, const void *buf, size_t len)
{
	return nl_walk(&d->nl, buf, len, sd_parse_msg, d);
}

/* ---- rtnetlink attributes ------------------------------------------------- */

/* Next attribute of the list, false at its end or at the first one whose
 * length does not fit. */
static bool attr_next(struct attr_it *it, unsigned *type, const uint8_t **data, size_t *n)
{
	struct rtattr a;
	size_t adv;

	if (it->left < sizeof(a))
		return false;
	memcpy(&a, it->p, sizeof(a));
	if (a.rta_len < sizeof(a) || a.rta_len > it->left)
		return false;
	*type = a.rta_type & NLA_TYPE_MASK;
	*data = it->p + RTA_LENGTH(0);
	*n = a.rta_len - RTA_LENGTH(0);
	adv = RTA_ALIGN(a.rta_len);
	if (adv > it->left)
		adv = it->left;
	it->p += adv;
	it->left -= adv;
	return true;
}

static void copy_name(char *dst, size_t cap, const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && i + 1 < cap && s[i]; i++)
		dst[i] = (char)s[i];
	dst[i] = 0;
}

/* The eight counters we report from an rtnl_link_stats64 or (older
 * kernels) rtnl_link_stats attribute of n bytes: one body for both. */
#define STATS_FROM(o, type, d, n)                                                                  \
	do {                                                                                       \
		type s_;                                                                           \
		memset(&s_, 0, sizeof(s_));                                                        \
		memcpy(&s_, (d), (n) < sizeof(s_) ? (n) : sizeof(s_));                             \
		(o)->rx_bytes = s_.rx_bytes;                                                       \
		(o)->rx_packets = s_.rx_packets;                                                   \
		(o)->rx_errors = s_.rx_errors;                                                     \
		(o)->rx_dropped = s_.rx_dropped;                                                   \
		(o)->tx_bytes = s_.tx_bytes;                                                       \
		(o)->tx_packets = s_.tx_packets;                                                   \
		(o)->tx_errors = s_.tx_errors;                                                     \
		(o)->tx_dropped = s_.tx_dropped;                                                   \
	} while (0)

/* Both stats structs start with the eight counters we report. */
#define STATS_MIN64 (8 * sizeof(uint64_t))
#define STATS_MIN32 (8 * sizeof(uint32_t))

int rtnl_parse_link(const void *payload, size_t plen, struct rtnl_link *out)
{
	struct ifinfomsg ifi;
	struct attr_it it;
	const uint8_t *d;
	unsigned type;
	size_t n;
	bool have64 = false;

	if (!payload || plen < sizeof(ifi))
		return -EBADMSG;
	memcpy(&ifi, payload, sizeof(ifi));
	memset(out, 0, sizeof(*out));
	out->index = ifi.ifi_index;
	out->flags = ifi.ifi_flags;

	n = NLMSG_ALIGN(sizeof(ifi));
	it.p = (const uint8_t *)payload + (n < plen ? n : plen);
	it.left = n < plen ? plen - n : 0;
	while (attr_next(&it, &type, &d, &n)) {
		switch (type) {
		case IFLA_IFNAME:
			copy_name(out->name, sizeof(out->name), d, n);
			break;
		case IFLA_MTU:
			if (n >= sizeof(uint32_t)) {
				uint32_t mtu;

				memcpy(&mtu, d, sizeof(mtu));
				out->mtu = mtu;
			}
			break;
		case IFLA_ADDRESS:
			out->hwlen = n < sizeof(out->hw) ? n : sizeof(out->hw);
			memcpy(out->hw, d, out->hwlen);
			break;
		case IFLA_STATS64:
			if (n >= STATS_MIN64) {
				STATS_FROM(&out->stats, struct rtnl_link_stats64, d, n);
				out->have_stats = have64 = true;
			}
			break;
		case IFLA_STATS:
			if (n >= STATS_MIN32 && !have64) {
				STATS_FROM(&out->stats, struct rtnl_link_stats, d, n);
				out->have_stats = true;
			}
			break;
		}
	}
	return 0;
}

int rtnl_parse_addr(const void *payload, size_t plen, struct rtnl_addr *out)
{
	struct ifaddrmsg ifa;
	struct attr_it it;
	const uint8_t *d, *local = NULL, *addr = NULL;
	unsigned type;
	size_t n, alen;
	char text[INET6_ADDRSTRLEN];

	if (!payload || plen < sizeof(ifa))
		return -EBADMSG;
	memcpy(&ifa, payload, sizeof(ifa));
	memset(out, 0, sizeof(*out));
	out->index = (int)ifa.ifa_index;
	out->family = ifa.ifa_family;
	if (ifa.ifa_family == AF_INET)
		alen = 4;
	else if (ifa.ifa_family == AF_INET6)
		alen = 16;
	else
		return -ENOENT;

	n = NLMSG_ALIGN(sizeof(ifa));
	it.p = (const uint8_t *)payload + (n < plen ? n : plen);
	it.left = n < plen ? plen - n : 0;
	while (attr_next(&it, &type, &d, &n)) {
		if (n != alen)
			continue;
		if (type == IFA_LOCAL)
			local = d;
		else if (type == IFA_ADDRESS)
			addr = d;
	}
	/* IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer
	 * on point-to-point links (and the same as IFA_LOCAL otherwise). */
	if (local)
		addr = local;
	if (!addr)
		return -ENOENT;
	{
		uint8_t a[16];

		memcpy(a, addr, alen);
		if (!inet_ntop(ifa.ifa_family, a, text, sizeof(text)))
			return -ENOENT;
	}
	snprintf(out->text, sizeof(out->text), "%s/%u", text, (unsigned)ifa.ifa_prefixlen);
	return 0;
}

void format_hwaddr(const uint8_t *hw, size_t n, char *dst, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (cap == 0)
		return;
	dst[0] = 0;
	if (n == 0 || n * 3 > cap)
		return;
	for (i = 0; i < n; i++) {
		dst[3 * i] = hex[hw[i] >> 4];
		dst[3 * i + 1] = hex[hw[i] & 15];
		dst[3 * i + 2] = i + 1 < n ? ':' : 0;
	}
}
