/*
 * procnet_parse.c - the socket lines of /proc/net/{tcp,tcp6,udp,udp6}
 * (see procnet_parse.h).
 *
 * A cursor (p, end) walks the line; every take_*() checks what is left
 * before it reads a byte and bounds the number it builds, so a line cut
 * anywhere, a field too long or too short, or a number past its type is
 * rejected rather than read past or wrapped.
 */
#include "procnet_parse.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

struct cur {
	const char *p, *end;
};

static bool at_end(const struct cur *c)
{
	return c->p >= c->end;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* Spaces between fields: at least one when `need`. */
static bool take_spaces(struct cur *c, bool need)
{
	const char *start = c->p;

	while (!at_end(c) && *c->p == ' ')
		c->p++;
	return !need || c->p > start;
}

static bool take_char(struct cur *c, char ch)
{
	if (at_end(c) || *c->p != ch)
		return false;
	c->p++;
	return true;
}

/* Between `min` and `max` (<= 16) hex digits, as a number. */
static bool take_hex(struct cur *c, unsigned min, unsigned max, uint64_t *out)
{
	uint64_t v = 0;
	unsigned n = 0;
	int d;

	while (!at_end(c) && n < max && (d = hexval(*c->p)) >= 0) {
		v = v << 4 | (uint64_t)d;
		c->p++;
		n++;
	}
	if (n < min || (!at_end(c) && hexval(*c->p) >= 0))
		return false; /* too few digits, or more than max */
	*out = v;
	return true;
}

/* A decimal number of at most `max`; a '-' in front when `neg_ok` (the
 * value is then not kept: only fields that are skipped allow it). */
static bool take_dec(struct cur *c, uint64_t max, bool neg_ok, uint64_t *out)
{
	uint64_t v = 0;
	const char *start;

	if (neg_ok && !at_end(c) && *c->p == '-')
		c->p++;
	start = c->p;
	while (!at_end(c) && *c->p >= '0' && *c->p <= '9') {
		uint64_t d = (uint64_t)(*c->p - '0');

		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
		c->p++;
	}
	if (c->p == start)
		return false;
	*out = v;
	return true;
}

/* "ADDR:PORT": `words` native-endian u32 words of 8 hex digits (the
 * kernel's %08X of each __be32), then 4 hex digits of port. */
static bool take_endpoint(struct cur *c, unsigned words, uint8_t *addr, uint16_t *port)
{
	uint64_t v;

	for (unsigned i = 0; i < words; i++) {
		uint32_t w;

		if ((size_t)(c->end - c->p) < 8)
			return false;
		/* exactly 8 digits per word: bound the take to this word */
		struct cur word = {c->p, c->p + 8};
		if (!take_hex(&word, 8, 8, &v))
			return false;
		w = (uint32_t)v;
		memcpy(addr + 4 * i, &w, 4);
		c->p += 8;
	}
	if (!take_char(c, ':') || !take_hex(c, 4, 4, &v))
		return false;
	*port = (uint16_t)v;
	return true;
}

int procnet_parse_line(const char *line, size_t len, int family, int proto,
                       struct procnet_sock *out)
{
	struct cur c;
	unsigned words = family == AF_INET6 ? 4 : 1;
	uint64_t v;

	if (!line || (family != AF_INET && family != AF_INET6) ||
	    (proto != IPPROTO_TCP && proto != IPPROTO_UDP))
		return -EINVAL;
	c.p = line;
	c.end = line + len;
	memset(out, 0, sizeof(*out));
	out->s.family = (uint8_t)family;
	out->s.proto = (uint8_t)proto;

	/* "sl:" (the header line has "sl" there) */
	take_spaces(&c, false);
	if ((size_t)(c.end - c.p) >= 2 && c.p[0] == 's' && c.p[1] == 'l')
		return PROCNET_HEADER;
	if (!take_dec(&c, UINT32_MAX, false, &v) || !take_char(&c, ':'))
		return -EBADMSG;
	/* local and remote ends */
	if (!take_spaces(&c, true) || !take_endpoint(&c, words, out->s.src, &out->s.sport))
		return -EBADMSG;
	if (!take_spaces(&c, true) || !take_endpoint(&c, words, out->s.dst, &out->s.dport))
		return -EBADMSG;
	/* st */
	if (!take_spaces(&c, true) || !take_hex(&c, 2, 2, &v))
		return -EBADMSG;
	out->s.state = (uint8_t)v;
	/* tx_queue:rx_queue */
	if (!take_spaces(&c, true) || !take_hex(&c, 1, 8, &v))
		return -EBADMSG;
	out->tx_queue = (uint32_t)v;
	if (!take_char(&c, ':') || !take_hex(&c, 1, 8, &v))
		return -EBADMSG;
	out->rx_queue = (uint32_t)v;
	/* tr:tm->when (a long: up to 16 digits), retrnsmt: skipped */
	if (!take_spaces(&c, true) || !take_hex(&c, 1, 8, &v) || !take_char(&c, ':') ||
	    !take_hex(&c, 1, 16, &v))
		return -EBADMSG;
	if (!take_spaces(&c, true) || !take_hex(&c, 1, 8, &v))
		return -EBADMSG;
	/* uid */
	if (!take_spaces(&c, true) || !take_dec(&c, UINT32_MAX, false, &v))
		return -EBADMSG;
	out->s.uid = (uint32_t)v;
	/* timeout (an int: skipped), inode (a socket's is an unsigned int) */
	if (!take_spaces(&c, true) || !take_dec(&c, INT32_MAX, true, &v))
		return -EBADMSG;
	if (!take_spaces(&c, true) || !take_dec(&c, UINT32_MAX, false, &v))
		return -EBADMSG;
	out->s.inode = (uint32_t)v;
	/* the rest (ref, pointer, ...) is not read, but the inode must end
	 * its field */
	if (!at_end(&c) && *c.p != ' ')
		return -EBADMSG;
	return 0;
}
