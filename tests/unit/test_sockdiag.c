/*
 * Unit tests: the netlink parsers of the host view (sockdiag_parse.c) fed
 * hand-built sock_diag and rtnetlink buffers: IPv4 and IPv6 sockets, ports
 * in network order, several messages per buffer, truncated messages,
 * nlmsg_len past the buffer or below a header, NLMSG_ERROR and NLMSG_DONE
 * with errors, foreign sequence numbers, unknown families, misaligned
 * buffers, every truncation of a good buffer and seeded random garbage.
 * Each buffer is copied into an exact-size heap block so ASan catches any
 * read past its end.  Then the real thing: sockdiag_sockets() finds a
 * socket this test opens, owned by this process, and host_interfaces()
 * lists lo.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "views/host/host.h"
#include "../../src/linux/sockdiag_parse.h"

/* ---- building netlink buffers -------------------------------------------- */

struct nlb {
	uint8_t d[8192] __attribute__((aligned(8)));
	size_t len;
};

/* Append a message; nlmsg_len = header + plen unless `len_override`. */
static void add_msg_len(struct nlb *b, uint16_t type, uint32_t seq, const void *payload,
                        size_t plen, uint32_t len_override)
{
	struct nlmsghdr h = {
	    .nlmsg_len = len_override ? len_override : (uint32_t)(NLMSG_HDRLEN + plen),
	    .nlmsg_type = type,
	    .nlmsg_flags = NLM_F_MULTI,
	    .nlmsg_seq = seq,
	};

	assert_true(b->len + NLMSG_ALIGN(NLMSG_HDRLEN + plen) <= sizeof(b->d));
	memcpy(b->d + b->len, &h, sizeof(h));
	if (plen)
		memcpy(b->d + b->len + NLMSG_HDRLEN, payload, plen);
	memset(b->d + b->len + NLMSG_HDRLEN + plen, 0,
	       NLMSG_ALIGN(NLMSG_HDRLEN + plen) - (NLMSG_HDRLEN + plen));
	b->len += NLMSG_ALIGN(NLMSG_HDRLEN + plen);
}

static void add_msg(struct nlb *b, uint16_t type, uint32_t seq, const void *payload, size_t plen)
{
	add_msg_len(b, type, seq, payload, plen, 0);
}

static void add_done(struct nlb *b, uint32_t seq, int32_t err)
{
	add_msg(b, NLMSG_DONE, seq, &err, sizeof(err));
}

static void add_error(struct nlb *b, uint32_t seq, int32_t err)
{
	struct nlmsgerr e;

	memset(&e, 0, sizeof(e));
	e.error = err;
	add_msg(b, NLMSG_ERROR, seq, &e, sizeof(e));
}

static struct inet_diag_msg diag4(uint8_t state, const char *src, uint16_t sport, const char *dst,
                                  uint16_t dport, uint32_t uid, uint32_t inode)
{
	struct inet_diag_msg m;

	memset(&m, 0, sizeof(m));
	m.idiag_family = AF_INET;
	m.idiag_state = state;
	m.id.idiag_sport = htons(sport);
	m.id.idiag_dport = htons(dport);
	assert_int_equal(inet_pton(AF_INET, src, m.id.idiag_src), 1);
	assert_int_equal(inet_pton(AF_INET, dst, m.id.idiag_dst), 1);
	m.idiag_uid = uid;
	m.idiag_inode = inode;
	return m;
}

static struct inet_diag_msg diag6(uint8_t state, const char *src, uint16_t sport, const char *dst,
                                  uint16_t dport, uint32_t uid, uint32_t inode)
{
	struct inet_diag_msg m;

	memset(&m, 0, sizeof(m));
	m.idiag_family = AF_INET6;
	m.idiag_state = state;
	m.id.idiag_sport = htons(sport);
	m.id.idiag_dport = htons(dport);
	assert_int_equal(inet_pton(AF_INET6, src, m.id.idiag_src), 1);
	assert_int_equal(inet_pton(AF_INET6, dst, m.id.idiag_dst), 1);
	m.idiag_uid = uid;
	m.idiag_inode = inode;
	return m;
}

static void add_diag(struct nlb *b, uint32_t seq, const struct inet_diag_msg *m)
{
	add_msg(b, SOCK_DIAG_BY_FAMILY, seq, m, sizeof(*m));
}

/* ---- parsing into a list ------------------------------------------------- */

struct got {
	struct vt_sock s[16];
	int n;
	int stop_after; /* callback returns 7 after this many (0: never) */
};

static int collect(void *ctx, const struct sd_sock *s)
{
	struct got *g = ctx;

	if (g->n < 16)
		sd_sock_format(s, &g->s[g->n]);
	g->n++;
	if (g->stop_after && g->n >= g->stop_after)
		return 7;
	return 0;
}

/* Parse the first n bytes of b, from an exact-size heap copy. */
static int parse(const struct nlb *b, size_t n, int proto, uint32_t seq, struct got *g,
                 struct sd_dump *out)
{
	struct sd_dump d = {.nl = {.seq = seq}, .proto = proto, .cb = collect, .ctx = g};
	void *p = malloc(n ? n : 1);
	int r;

	assert_non_null(p);
	memcpy(p, b->d, n);
	r = sd_parse_buf(&d, p, n);
	free(p);
	if (out)
		*out = d;
	return r;
}

/* ---- sock_diag ------------------------------------------------------------ */

static void v4_listen_and_established(void **state)
{
	struct nlb b = {.len = 0};
	struct inet_diag_msg m1 = diag4(10, "127.0.0.1", 8080, "0.0.0.0", 0, 1000, 12345);
	struct inet_diag_msg m2 = diag4(1, "10.1.2.3", 40000, "192.168.7.9", 443, 0, 777);
	struct got g = {.n = 0};
	struct sd_dump d;

	add_diag(&b, 5, &m1);
	add_diag(&b, 5, &m2);
	add_done(&b, 5, 0);
	assert_int_equal(parse(&b, b.len, IPPROTO_TCP, 5, &g, &d), 0);
	assert_true(d.nl.done);
	assert_int_equal(d.bad, 0);
	assert_int_equal(g.n, 2);

	assert_int_equal(g.s[0].family, AF_INET);
	assert_int_equal(g.s[0].proto, IPPROTO_TCP);
	assert_string_equal(g.s[0].local_addr, "127.0.0.1");
	assert_int_equal(g.s[0].local_port, 8080); /* from network order */
	assert_string_equal(g.s[0].remote_addr, "0.0.0.0");
	assert_int_equal(g.s[0].remote_port, 0);
	assert_int_equal(g.s[0].state, 10);
	assert_int_equal(g.s[0].uid, 1000);
	assert_int_equal(g.s[0].inode, 12345);
	assert_int_equal(g.s[0].have, VS_UID | VS_INODE);
	assert_int_equal(g.s[0].pid, 0);

	assert_string_equal(g.s[1].local_addr, "10.1.2.3");
	assert_int_equal(g.s[1].local_port, 40000);
	assert_string_equal(g.s[1].remote_addr, "192.168.7.9");
	assert_int_equal(g.s[1].remote_port, 443);
	assert_int_equal(g.s[1].state, 1);
}

static void v6_and_mapped(void **state)
{
	struct nlb b = {.len = 0};
	struct inet_diag_msg m1 = diag6(1, "::1", 443, "fe80::1:2", 50000, 33, 99);
	struct inet_diag_msg m2 = diag6(7, "::ffff:10.0.0.1", 53, "::", 0, 0, 0);
	struct got g = {.n = 0};

	add_diag(&b, 1, &m1);
	add_diag(&b, 1, &m2);
	add_done(&b, 1, 0);
	assert_int_equal(parse(&b, b.len, IPPROTO_UDP, 1, &g, NULL), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.s[0].family, AF_INET6);
	assert_int_equal(g.s[0].proto, IPPROTO_UDP);
	assert_string_equal(g.s[0].local_addr, "::1");
	assert_int_equal(g.s[0].local_port, 443);
	assert_string_equal(g.s[0].remote_addr, "fe80::1:2");
	assert_int_equal(g.s[0].remote_port, 50000);
	/* a v4-mapped address stays as given */
	assert_string_equal(g.s[1].local_addr, "::ffff:10.0.0.1");
	assert_string_equal(g.s[1].remote_addr, "::");
	assert_int_equal(g.s[1].state, 7);
	/* inode 0 (TIME_WAIT and the like): no VS_INODE */
	assert_int_equal(g.s[1].have, VS_UID);
}

static void attributes_after_msg(void **state)
{
	/* Real replies carry attributes after the inet_diag_msg. */
	struct nlb b = {.len = 0};
	uint8_t p[sizeof(struct inet_diag_msg) + 12];
	struct inet_diag_msg m = diag4(10, "0.0.0.0", 22, "0.0.0.0", 0, 0, 5);
	struct got g = {.n = 0};

	memset(p, 0xab, sizeof(p));
	memcpy(p, &m, sizeof(m));
	add_msg(&b, SOCK_DIAG_BY_FAMILY, 1, p, sizeof(p));
	add_done(&b, 1, 0);
	assert_int_equal(parse(&b, b.len, IPPROTO_TCP, 1, &g, NULL), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.s[0].local_port, 22);
}

static void truncated_message(void **state)
{
	struct nlb b = {.len = 0};
	struct inet_diag_msg m = diag4(10, "127.0.0.1", 1, "0.0.0.0", 0, 0, 1);
	struct got g = {.n = 0};
	size_t one;

	add_diag(&b, 1, &m);
	one = b.len;
	add_diag(&b, 1, &m);
	/* the second message cut in its payload, then in its header */
	assert_int_equal(parse(&b, one + 40, IPPROTO_TCP, 1, &g, NULL), -EBADMSG);
	assert_int_equal(g.n, 1);
	g.n = 0;
	assert_int_equal(parse(&b, one + 6, IPPROTO_TCP, 1, &g, NULL), -EBADMSG);
	assert_int_equal(g.n, 1);
}

static void nlmsg_len_past_buffer(void **state)
{
	struct nlb b = {.len = 0};
	struct inet_diag_msg m = diag4(10, "127.0.0.1", 1, "0.0.0.0", 0, 0, 1);
	struct got g = {.n = 0};

	add_msg_len(&b, SOCK_DIAG_BY_FAMILY, 1, &m, sizeof(m), 4000);
	assert_int_equal(parse(&b, b.len, IPPROTO_TCP, 1, &g, NULL), -EBADMSG);
	assert_int_equal(g.n, 0);
	b.len = 0;
	add_msg_len(&b, SOCK_DIAG_BY_FAMILY, 1, &m, sizeof(m), UINT32_MAX);
	assert_int_equal(parse(&b, b.len, IPPROTO_TCP, 1, &g, NULL), -EBADMSG);
	assert_int_equal(g.n, 0);
}

static void nlmsg_len_below_header(void **state)
{
	struct nlb b = {.len = 0};
	struct inet_diag_msg m = diag4(10, "127.0.0.1", 1, "0.0.0.0", 0, 0, 1);
	struct got g = {.n = 0};
	uint32_t lens[] = {0, 1, 8, NLMSG_HDRLEN - 1};
	size_t i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		b.len = 0;
		add_diag(&b, 1, &m);
		memcpy(b.d + offsetof(struct nlmsghdr, nlmsg_len), &lens[i], sizeof(lens[i]));
		assert_int_equal(parse(&b, b.len, IPPROTO_TCP, 1, &g, NULL), -EBADMSG);
		assert_int_equal(g.n, 0);
	}
}

static void short_payload_and_bad_family(void **state)
{
	struct nlb b = {.len = 0};
	struct inet_diag_msg m = diag4(10, "127.0.0.1", 9, "0.0.0.0", 0, 0, 1);
	struct inet_diag_msg unix_msg = m;
	struct got g = {.n = 0};
	struct sd_dump d;

	unix_msg.idiag_family = AF_UNIX;
	add_msg(&b, SOCK_DIAG_BY_FAMILY, 1, NULL, 0); /* header only */
	add_msg(&b, SOCK_DIAG_BY_FAMILY, 1, &m, 20);  /* too short */
	add_diag(&b, 1, &unix_msg);
	add_diag(&b, 1, &m);
	add_done(&b, 1, 0);
	assert_int_equal(parse(&b, b.len, IPPROTO_TCP, 1, &g, &d), 0);
	assert_int_equal(d.bad, 3);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.s[0].local_port, 9);
	assert_true(d.nl.done);
}

static void nlmsg_error(void **state)
{
	struct nlb b = {.len = 0};
	struct inet_diag_msg m = diag4(10, "127.0.0.1", 9, "0.0.0.0", 0, 0, 1);
	struct got g = {.n = 0};
	int32_t two = 0;

	add_error(&b, 1, -EPERM);
	assert_int_equal(parse(&b, b.len, IPPROTO_TCP, 1, &g, NULL), -EPERM);

	/* an acknowledgement (error 0) is not an error */
	b.len = 0;
	add_error(&b, 1, 0);
	add_diag(&b, 1, &m);
	add_done(&b, 1, 0);
	assert_int_equal(parse(&b, b.len, IPPROTO_TCP, 1, &g, NULL), 0);
	assert_int_equal(g.n, 1);

	/* nonsense error values become -EPROTO */
	b.len = 0;
	add_error(&b, 1, 12);
	assert_int_equal(parse(&b, b.len, IPPROTO_TCP, 1, &g, NULL), -EPROTO);
	b.len = 0;
	add_error(&b, 1, INT32_MIN);
	assert_int_equal(parse(&b, b.len, IPPROTO_TCP, 1, &g, NULL), -EPROTO);

	/* too short to hold the error */
	b.len = 0;
	add_msg(&b, NLMSG_ERROR, 1, &two, 2);
	assert_int_equal(parse(&b, b.len, IPPROTO_TCP, 1, &g, NULL), -EBADMSG);

	/* an overrun */
	b.len = 0;
	add_msg(&b, NLMSG_OVERRUN, 1, NULL, 0);
	assert_int_equal(parse(&b, b.len, IPPROTO_TCP, 1, &g, NULL), -ENOBUFS);
}

static void done_stops_and_carries_errors(void **state)
{
	struct nlb b = {.len = 0};
	struct inet_diag_msg m = diag4(10, "127.0.0.1", 9, "0.0.0.0", 0, 0, 1);
	struct got g = {.n = 0};
	struct sd_dump d;

	add_done(&b, 1, 0);
	add_diag(&b, 1, &m); /* after DONE: not read */
	assert_int_equal(parse(&b, b.len, IPPROTO_TCP, 1, &g, &d), 0);
	assert_true(d.nl.done);
	assert_int_equal(g.n, 0);

	b.len = 0;
	add_done(&b, 1, -EINTR);
	assert_int_equal(parse(&b, b.len, IPPROTO_TCP, 1, &g, &d), -EINTR);
	assert_true(d.nl.done);

	/* a DONE without payload is fine */
	b.len = 0;
	add_msg(&b, NLMSG_DONE, 1, NULL, 0);
	assert_int_equal(parse(&b, b.len, IPPROTO_TCP, 1, &g, &d), 0);
	assert_true(d.nl.done);
}

static void foreign_seq_and_types(void **state)
{
	struct nlb b = {.len = 0};
	struct inet_diag_msg m = diag4(10, "127.0.0.1", 9, "0.0.0.0", 0, 0, 1);
	struct got g = {.n = 0};
	struct sd_dump d;

	add_diag(&b, 99, &m); /* an old dump's reply */
	add_done(&b, 99, 0);
	add_error(&b, 99, -EPERM);
	add_msg(&b, NLMSG_NOOP, 1, NULL, 0);
	add_msg(&b, RTM_NEWLINK, 1, &m, sizeof(m)); /* not ours */
	add_diag(&b, 1, &m);
	assert_int_equal(parse(&b, b.len, IPPROTO_TCP, 1, &g, &d), 0);
	assert_false(d.nl.done);
	assert_int_equal(d.bad, 0);
	assert_int_equal(g.n, 1);
}

static void callback_stops(void **state)
{
	struct nlb b = {.len = 0};
	struct inet_diag_msg m = diag4(10, "127.0.0.1", 9, "0.0.0.0", 0, 0, 1);
	struct got g = {.n = 0, .stop_after = 2};
	int i;

	for (i = 0; i < 5; i++)
		add_diag(&b, 1, &m);
	assert_int_equal(parse(&b, b.len, IPPROTO_TCP, 1, &g, NULL), 7);
	assert_int_equal(g.n, 2);
}

static void empty_and_misaligned(void **state)
{
	struct nlb b = {.len = 0};
	struct inet_diag_msg m = diag4(10, "127.0.0.1", 9, "0.0.0.0", 0, 0, 1);
	struct sd_dump d = {.proto = IPPROTO_TCP, .cb = collect};
	struct got g = {.n = 0};
	uint8_t *p;

	d.ctx = &g;
	assert_int_equal(sd_parse_buf(&d, NULL, 0), 0);
	add_diag(&b, 0, &m);
	p = malloc(b.len + 1);
	assert_non_null(p);
	memcpy(p + 1, b.d, b.len);
	assert_int_equal(sd_parse_buf(&d, p + 1, b.len), -EINVAL);
	free(p);
	assert_int_equal(g.n, 0);
}

static void every_truncation(void **state)
{
	struct nlb b = {.len = 0};
	struct inet_diag_msg m4 = diag4(10, "127.0.0.1", 9, "0.0.0.0", 0, 0, 1);
	struct inet_diag_msg m6 = diag6(1, "::1", 9, "::1", 10, 0, 2);
	size_t n;

	add_diag(&b, 1, &m4);
	add_diag(&b, 1, &m6);
	add_error(&b, 1, -EPERM);
	add_done(&b, 1, 0);
	for (n = 0; n <= b.len; n++) {
		struct got g = {.n = 0};
		int r = parse(&b, n, IPPROTO_TCP, 1, &g, NULL);

		assert_true(r == 0 || r == -EBADMSG || r == -EPERM);
		assert_true(g.n <= 2);
	}
}

static void garbage(void **state)
{
	struct nlb b;
	unsigned seed = 12345;
	int round;

	for (round = 0; round < 3000; round++) {
		struct got g = {.n = 0};
		size_t n = (size_t)(rand_r(&seed) % 600), i;
		int r;

		for (i = 0; i < n; i++)
			b.d[i] = (uint8_t)rand_r(&seed);
		/* Half the time, make the first header plausible so the
		 * walk goes deeper than the first length check. */
		if (n >= NLMSG_HDRLEN && (round & 1)) {
			struct nlmsghdr h;

			memcpy(&h, b.d, sizeof(h));
			h.nlmsg_len = (uint32_t)(rand_r(&seed) % (n + 8));
			h.nlmsg_type = (round & 2) ? SOCK_DIAG_BY_FAMILY : h.nlmsg_type;
			h.nlmsg_seq = 0;
			memcpy(b.d, &h, sizeof(h));
		}
		r = parse(&b, n, IPPROTO_TCP, 0, &g, NULL);
		assert_true(r <= 0);
	}
}

/* ---- rtnetlink ------------------------------------------------------------ */

struct attrs {
	uint8_t d[1024] __attribute__((aligned(8)));
	size_t len;
};

static void add_attr(struct attrs *a, uint16_t type, const void *data, size_t n)
{
	struct rtattr h = {.rta_len = (unsigned short)RTA_LENGTH(n), .rta_type = type};

	assert_true(a->len + RTA_SPACE(n) <= sizeof(a->d));
	memcpy(a->d + a->len, &h, sizeof(h));
	memcpy(a->d + a->len + RTA_LENGTH(0), data, n);
	memset(a->d + a->len + RTA_LENGTH(n), 0, RTA_SPACE(n) - RTA_LENGTH(n));
	a->len += RTA_SPACE(n);
}

static int link_of(const struct attrs *a, struct rtnl_link *l)
{
	uint8_t *p = malloc(a->len);
	int r;

	assert_non_null(p);
	memcpy(p, a->d, a->len);
	r = rtnl_parse_link(p, a->len, l);
	free(p);
	return r;
}

static void link_start(struct attrs *a, int index, unsigned flags)
{
	struct ifinfomsg ifi;

	memset(&ifi, 0, sizeof(ifi));
	ifi.ifi_index = index;
	ifi.ifi_flags = flags;
	a->len = 0;
	memcpy(a->d, &ifi, sizeof(ifi));
	a->len = NLMSG_ALIGN(sizeof(ifi));
}

static void rtnl_link_good(void **state)
{
	struct attrs a;
	struct rtnl_link l;
	struct rtnl_link_stats64 st;
	uint32_t mtu = 1500;
	uint8_t mac[6] = {0x02, 0xfc, 0, 0, 0xab, 0x01};
	char mactext[24];

	memset(&st, 0, sizeof(st));
	st.rx_bytes = 5000000000ull; /* above 32 bits */
	st.rx_packets = 2;
	st.rx_errors = 3;
	st.rx_dropped = 4;
	st.tx_bytes = 5;
	st.tx_packets = 6;
	st.tx_errors = 7;
	st.tx_dropped = 8;
	link_start(&a, 4, IFF_UP | IFF_BROADCAST | IFF_RUNNING);
	add_attr(&a, IFLA_IFNAME, "eth0", 5);
	add_attr(&a, IFLA_MTU, &mtu, sizeof(mtu));
	add_attr(&a, IFLA_ADDRESS, mac, sizeof(mac));
	add_attr(&a, IFLA_STATS64, &st, sizeof(st));
	assert_int_equal(link_of(&a, &l), 0);
	assert_int_equal(l.index, 4);
	assert_int_equal(l.flags, IFF_UP | IFF_BROADCAST | IFF_RUNNING);
	assert_string_equal(l.name, "eth0");
	assert_int_equal(l.mtu, 1500);
	assert_int_equal(l.hwlen, 6);
	format_hwaddr(l.hw, l.hwlen, mactext, sizeof(mactext));
	assert_string_equal(mactext, "02:fc:00:00:ab:01");
	assert_true(l.have_stats);
	assert_true(l.stats.rx_bytes == 5000000000ull);
	assert_int_equal(l.stats.rx_packets, 2);
	assert_int_equal(l.stats.rx_errors, 3);
	assert_int_equal(l.stats.rx_dropped, 4);
	assert_int_equal(l.stats.tx_bytes, 5);
	assert_int_equal(l.stats.tx_packets, 6);
	assert_int_equal(l.stats.tx_errors, 7);
	assert_int_equal(l.stats.tx_dropped, 8);
}

static void rtnl_link_stats32_and_broken(void **state)
{
	struct attrs a;
	struct rtnl_link l;
	struct rtnl_link_stats st;
	struct rtattr bad = {.rta_len = 200, .rta_type = IFLA_MTU};
	char longname[100];

	memset(&st, 0, sizeof(st));
	st.rx_bytes = 11;
	st.tx_dropped = 12;
	memset(longname, 'x', sizeof(longname)); /* no NUL */
	link_start(&a, 1, 0);
	add_attr(&a, IFLA_STATS, &st, sizeof(st));
	add_attr(&a, IFLA_IFNAME, longname, sizeof(longname));
	add_attr(&a, IFLA_MTU, "\1", 1); /* too short: ignored */
	/* an attribute claiming more than is left ends the list */
	memcpy(a.d + a.len, &bad, sizeof(bad));
	a.len += sizeof(bad);
	assert_int_equal(link_of(&a, &l), 0);
	assert_true(l.have_stats);
	assert_int_equal(l.stats.rx_bytes, 11);
	assert_int_equal(l.stats.tx_dropped, 12);
	assert_int_equal(strlen(l.name), sizeof(l.name) - 1);
	assert_int_equal(l.mtu, 0);

	/* shorter than an ifinfomsg */
	a.len = 10;
	assert_int_equal(link_of(&a, &l), -EBADMSG);
}

static int addr_of(const struct attrs *a, struct rtnl_addr *out)
{
	uint8_t *p = malloc(a->len);
	int r;

	assert_non_null(p);
	memcpy(p, a->d, a->len);
	r = rtnl_parse_addr(p, a->len, out);
	free(p);
	return r;
}

static void addr_start(struct attrs *a, int family, int prefix, int index)
{
	struct ifaddrmsg ifa;

	memset(&ifa, 0, sizeof(ifa));
	ifa.ifa_family = (uint8_t)family;
	ifa.ifa_prefixlen = (uint8_t)prefix;
	ifa.ifa_index = (uint32_t)index;
	memcpy(a->d, &ifa, sizeof(ifa));
	a->len = NLMSG_ALIGN(sizeof(ifa));
}

static void rtnl_addr_cases(void **state)
{
	struct attrs a;
	struct rtnl_addr r;
	uint8_t local[4] = {10, 0, 0, 1}, peer[4] = {10, 0, 0, 2}, v6[16];

	/* IPv4 point-to-point: IFA_LOCAL is ours, IFA_ADDRESS the peer */
	addr_start(&a, AF_INET, 32, 3);
	add_attr(&a, IFA_ADDRESS, peer, 4);
	add_attr(&a, IFA_LOCAL, local, 4);
	assert_int_equal(addr_of(&a, &r), 0);
	assert_int_equal(r.index, 3);
	assert_int_equal(r.family, AF_INET);
	assert_string_equal(r.text, "10.0.0.1/32");

	assert_int_equal(inet_pton(AF_INET6, "fe80::1", v6), 1);
	addr_start(&a, AF_INET6, 64, 2);
	add_attr(&a, IFA_ADDRESS, v6, 16);
	assert_int_equal(addr_of(&a, &r), 0);
	assert_string_equal(r.text, "fe80::1/64");

	/* a wrong-sized address is ignored */
	addr_start(&a, AF_INET6, 64, 2);
	add_attr(&a, IFA_ADDRESS, local, 4);
	assert_int_equal(addr_of(&a, &r), -ENOENT);

	addr_start(&a, AF_PACKET, 0, 2);
	assert_int_equal(addr_of(&a, &r), -ENOENT);

	a.len = 5;
	assert_int_equal(addr_of(&a, &r), -EBADMSG);
}

static void hwaddr_format(void **state)
{
	uint8_t hw[20] = {0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01, 0x02};
	char s[24];

	format_hwaddr(hw, 6, s, sizeof(s));
	assert_string_equal(s, "aa:bb:cc:dd:ee:ff");
	format_hwaddr(hw, 8, s, sizeof(s));
	assert_string_equal(s, "aa:bb:cc:dd:ee:ff:01:02");
	format_hwaddr(hw, 0, s, sizeof(s));
	assert_string_equal(s, "");
	format_hwaddr(hw, 20, s, sizeof(s)); /* does not fit: empty */
	assert_string_equal(s, "");
}

static void rtnl_garbage(void **state)
{
	struct attrs a;
	unsigned seed = 777;
	int round;

	for (round = 0; round < 3000; round++) {
		struct rtnl_link l;
		struct rtnl_addr r;
		size_t i;

		a.len = (size_t)(rand_r(&seed) % 300);
		for (i = 0; i < a.len; i++)
			a.d[i] = (uint8_t)rand_r(&seed);
		(void)link_of(&a, &l);
		(void)addr_of(&a, &r);
	}
}

/* ---- the real kernel ------------------------------------------------------ */

struct find {
	uint16_t port;
	int proto;
	struct vt_sock s;
	int found;
	int total;
};

static int find_port(void *ctx, const struct vt_sock *s)
{
	struct find *f = ctx;

	f->total++;
	if (s->proto == f->proto && s->local_port == f->port &&
	    strcmp(s->local_addr, "127.0.0.1") == 0) {
		f->s = *s;
		f->found++;
	}
	return 0;
}

static bool no_pids(void *ctx, int pid)
{
	return false;
}

static void real_sockets(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	struct view_iter it;
	struct find f;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int proc_fd;

	assert_true(fd >= 0);
	prctl(PR_SET_NAME, "sd test) (x");
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(proc_fd >= 0);

	memset(&f, 0, sizeof(f));
	f.port = ntohs(sa.sin_port);
	f.proto = IPPROTO_TCP;
	it.ctx = &f;
	it.error = NULL;
	assert_int_equal(sockdiag_sockets(proc_fd, NULL, NULL, &it, find_port), 0);
	assert_int_equal(f.found, 1);
	assert_int_equal(f.s.state, 10); /* LISTEN */
	assert_true(f.s.have & VS_OWNER);
	assert_int_equal(f.s.pid, getpid());
	assert_string_equal(f.s.comm, "sd test) (x");
	assert_int_equal(f.s.uid, getuid());

	/* a filter that excludes every pid leaves it without an owner */
	memset(&f.s, 0, sizeof(f.s));
	f.found = 0;
	assert_int_equal(sockdiag_sockets(proc_fd, no_pids, NULL, &it, find_port), 0);
	assert_int_equal(f.found, 1);
	assert_false(f.s.have & VS_OWNER);

	close(proc_fd);
	close(fd);
}

/* Many sockets, inherited by many children: the threaded scan (more than
 * 256 pids), every socket owned, by the parent or one of its children. */
#define NSOCK 200
#define NCHILD 300

struct many {
	uint16_t port[NSOCK];
	pid_t child[NCHILD];
	int found, by_parent, by_child, unowned;
};

static int find_many(void *ctx, const struct vt_sock *s)
{
	struct many *m = ctx;
	int i;

	if (s->proto != IPPROTO_UDP || strcmp(s->local_addr, "127.0.0.1") != 0)
		return 0;
	for (i = 0; i < NSOCK; i++) {
		if (m->port[i] != s->local_port)
			continue;
		m->found++;
		if (!(s->have & VS_OWNER))
			m->unowned++;
		else if (s->pid == getpid())
			m->by_parent++;
		else
			for (int k = 0; k < NCHILD; k++)
				m->by_child += m->child[k] == s->pid;
	}
	return 0;
}

static void real_many_shared(void **state)
{
	static struct many m;
	int fds[NSOCK], i, proc_fd;
	struct view_iter it = {.ctx = &m};

	memset(&m, 0, sizeof(m));
	for (i = 0; i < NSOCK; i++) {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		socklen_t sl = sizeof(sa);

		fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		assert_true(fds[i] >= 0);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(getsockname(fds[i], (struct sockaddr *)&sa, &sl), 0);
		m.port[i] = ntohs(sa.sin_port);
	}
	for (i = 0; i < NCHILD; i++) {
		m.child[i] = fork();
		assert_true(m.child[i] >= 0);
		if (m.child[i] == 0) {
			pause();
			_exit(0);
		}
	}
	proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(proc_fd >= 0);
	assert_int_equal(sockdiag_sockets(proc_fd, NULL, NULL, &it, find_many), 0);
	close(proc_fd);
	for (i = 0; i < NCHILD; i++)
		kill(m.child[i], SIGKILL);
	for (i = 0; i < NCHILD; i++)
		waitpid(m.child[i], NULL, 0);
	for (i = 0; i < NSOCK; i++)
		close(fds[i]);

	assert_int_equal(m.found, NSOCK);
	assert_int_equal(m.unowned, 0);
	assert_int_equal(m.by_parent + m.by_child, NSOCK);
}

/*
 * Siblings with as many fds as each other but at other numbers: the scan
 * tries a pid as having the previous pid's fd numbers, and must fall back
 * to listing it when one is missing.  a, b and c are forked in that order
 * (consecutive pids, usually): a holds no socket at the numbers u and v,
 * b holds socket U at fd 200 (and /dev/null at u), c socket V at fd 200
 * (and /dev/null at u).  The parent closes both, so U is b's and V c's.
 */
struct layout {
	uint16_t port_u, port_v;
	pid_t b, c;
	int pid_u, pid_v;
};

static int find_layout(void *ctx, const struct vt_sock *s)
{
	struct layout *l = ctx;

	if (s->proto != IPPROTO_UDP || strcmp(s->local_addr, "127.0.0.1") != 0)
		return 0;
	if (s->local_port == l->port_u)
		l->pid_u = s->have & VS_OWNER ? s->pid : -1;
	if (s->local_port == l->port_v)
		l->pid_v = s->have & VS_OWNER ? s->pid : -1;
	return 0;
}

static int udp_loopback(uint16_t *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* In a child: make the fd layout, tell the parent, wait to be killed. */
static void layout_child(int which, int u, int v, int ready)
{
	if (which == 'a') {
		close(u);
		close(v);
		if (open("/dev/null", O_RDONLY) != u || open("/dev/null", O_RDONLY) != v)
			_exit(1);
	} else {
		int keep = which == 'b' ? u : v;

		if (dup2(keep, 200) != 200)
			_exit(1);
		close(u);
		close(v);
		if (open("/dev/null", O_RDONLY) != u)
			_exit(1);
	}
	if (write(ready, "x", 1) != 1)
		_exit(1);
	pause();
	_exit(0);
}

static void real_sibling_layouts(void **state)
{
	static struct layout l;
	struct view_iter it = {.ctx = &l};
	pid_t kids[3];
	int u, v, p[2], proc_fd, i;
	char c;

	(void)state;
	memset(&l, 0, sizeof(l));
	u = udp_loopback(&l.port_u);
	v = udp_loopback(&l.port_v);
	assert_true(u < 200 && v < 200 && u < v);
	assert_int_equal(pipe(p), 0);
	for (i = 0; i < 3; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0)
			layout_child("abc"[i], u, v, p[1]);
	}
	l.b = kids[1];
	l.c = kids[2];
	for (i = 0; i < 3; i++)
		assert_int_equal(read(p[0], &c, 1), 1);
	close(u);
	close(v);
	proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(proc_fd >= 0);
	assert_int_equal(sockdiag_sockets(proc_fd, NULL, NULL, &it, find_layout), 0);
	close(proc_fd);
	for (i = 0; i < 3; i++)
		kill(kids[i], SIGKILL);
	for (i = 0; i < 3; i++)
		waitpid(kids[i], NULL, 0);
	close(p[0]);
	close(p[1]);

	assert_int_equal(l.pid_u, l.b);
	assert_int_equal(l.pid_v, l.c);
}

struct ifind {
	int lo;
};

static int find_lo(void *ctx, const struct vt_iface *i)
{
	struct ifind *f = ctx;
	const char *const *a;
	bool v4 = false;

	if (strcmp(i->name, "lo") != 0)
		return 0;
	for (a = i->addrs; *a; a++)
		v4 |= strcmp(*a, "127.0.0.1/8") == 0;
	if (v4 && (i->flags & IFF_LOOPBACK) && (i->flags & IFF_UP))
		f->lo++;
	return 0;
}

/*
 * Siblings with the same fd numbers, some fds the same open file (a
 * socket W all of them inherited, at fd 200) and others not (each one's
 * own socket at fd 201): the scan compares a sibling's fds with the
 * previous one's (kcmp) and must still read the links of those that
 * differ.  The parent closes W after forking, so W is the first child's
 * (the lowest pid) and each own socket its child's.
 */
#define NTWIN 4

struct twins {
	uint16_t port_w, port[NTWIN];
	pid_t kid[NTWIN];
	int pid_w, pid[NTWIN];
};

static int find_twins(void *ctx, const struct vt_sock *s)
{
	struct twins *t = ctx;

	if (s->proto != IPPROTO_UDP || strcmp(s->local_addr, "127.0.0.1") != 0)
		return 0;
	if (s->local_port == t->port_w)
		t->pid_w = s->have & VS_OWNER ? s->pid : -1;
	for (int i = 0; i < NTWIN; i++)
		if (s->local_port == t->port[i])
			t->pid[i] = s->have & VS_OWNER ? s->pid : -1;
	return 0;
}

/* What a child tells the parent: its pid and its own socket's port. */
struct twin_msg {
	pid_t pid;
	uint16_t port;
};

/* In a child: W at fd 200, its own socket at 201, then tell the parent. */
static void twin_child(int w, int ready)
{
	struct twin_msg m = {.pid = getpid()};
	int own;

	if (dup2(w, 200) != 200)
		_exit(1);
	close(w);
	own = udp_loopback(&m.port);
	if (dup2(own, 201) != 201)
		_exit(1);
	close(own);
	if (write(ready, &m, sizeof(m)) != sizeof(m))
		_exit(1);
	pause();
	_exit(0);
}

static void real_sibling_same_files(void **state)
{
	static struct twins t;
	struct view_iter it = {.ctx = &t};
	int w, p[2], proc_fd, i;

	(void)state;
	memset(&t, 0, sizeof(t));
	w = udp_loopback(&t.port_w);
	assert_true(w < 200);
	assert_int_equal(pipe(p), 0);
	for (i = 0; i < NTWIN; i++) {
		t.kid[i] = fork();
		assert_true(t.kid[i] >= 0);
		if (t.kid[i] == 0)
			twin_child(w, p[1]);
	}
	close(w);
	for (i = 0; i < NTWIN; i++) {
		struct twin_msg m;
		int k;

		assert_int_equal(read(p[0], &m, sizeof(m)), sizeof(m));
		for (k = 0; k < NTWIN && t.kid[k] != m.pid; k++)
			;
		assert_true(k < NTWIN);
		t.port[k] = m.port;
	}
	proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(proc_fd >= 0);
	assert_int_equal(sockdiag_sockets(proc_fd, NULL, NULL, &it, find_twins), 0);
	close(proc_fd);
	for (i = 0; i < NTWIN; i++)
		kill(t.kid[i], SIGKILL);
	for (i = 0; i < NTWIN; i++)
		waitpid(t.kid[i], NULL, 0);
	close(p[0]);
	close(p[1]);

	pid_t lowest = t.kid[0];
	for (i = 1; i < NTWIN; i++)
		if (t.kid[i] < lowest)
			lowest = t.kid[i];
	assert_int_equal(t.pid_w, lowest);
	for (i = 0; i < NTWIN; i++)
		assert_int_equal(t.pid[i], t.kid[i]);
}

static void real_interfaces(void **state)
{
	struct ifind f = {0};
	struct view_iter it = {.ctx = &f};

	assert_int_equal(host_interfaces(NULL, &it, find_lo), 0);
	assert_int_equal(f.lo, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(v4_listen_and_established),
	    cmocka_unit_test(v6_and_mapped),
	    cmocka_unit_test(attributes_after_msg),
	    cmocka_unit_test(truncated_message),
	    cmocka_unit_test(nlmsg_len_past_buffer),
	    cmocka_unit_test(nlmsg_len_below_header),
	    cmocka_unit_test(short_payload_and_bad_family),
	    cmocka_unit_test(nlmsg_error),
	    cmocka_unit_test(done_stops_and_carries_errors),
	    cmocka_unit_test(foreign_seq_and_types),
	    cmocka_unit_test(callback_stops),
	    cmocka_unit_test(empty_and_misaligned),
	    cmocka_unit_test(every_truncation),
	    cmocka_unit_test(garbage),
	    cmocka_unit_test(rtnl_link_good),
	    cmocka_unit_test(rtnl_link_stats32_and_broken),
	    cmocka_unit_test(rtnl_addr_cases),
	    cmocka_unit_test(hwaddr_format),
	    cmocka_unit_test(rtnl_garbage),
	    cmocka_unit_test(real_sockets),
	    cmocka_unit_test(real_many_shared),
	    cmocka_unit_test(real_sibling_layouts),
	    cmocka_unit_test(real_sibling_same_files),
	    cmocka_unit_test(real_interfaces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
