/*
 * netdev_parse.c - /proc/net/dev lines into interface counters (see
 * netdev_parse.h).
 */
#include "netdev_parse.h"

#include <errno.h>
#include <string.h>

#include "../util/util.h"

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

int netdev_parse_line(const char *line, size_t len, struct netdev_line *out)
{
	const char *p = line, *end = line + len;
	while (p < end && blank(*p))
		p++;
	if (p == end)
		return 0;
	if (memchr(line, '|', len))
		return 0; /* "Inter-|   Receive ..." and " face |bytes ..." */
	const char *colon = memchr(p, ':', (size_t)(end - p));
	if (!colon)
		return -EINVAL;
	const char *ne = colon;
	while (ne > p && blank(ne[-1]))
		ne--;
	size_t n = (size_t)(ne - p);
	if (n == 0 || n >= sizeof(out->name))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (blank(p[i]) || p[i] == '/' || (unsigned char)p[i] < 0x20)
			return -EINVAL;
	memset(out, 0, sizeof(*out));
	memcpy(out->name, p, n);
	out->name[n] = 0;
	out->c.ifname = out->name;

	uint64_t v[16];
	p = colon + 1;
	for (int i = 0; i < 16; i++) {
		while (p < end && blank(*p))
			p++;
		if (!parse_u64(&p, end, &v[i]))
			return -EINVAL;
		if (p < end && !blank(*p))
			return -EINVAL; /* "12x" */
	}
	while (p < end && (blank(*p) || *p == '\r'))
		p++;
	if (p != end)
		return -EINVAL;
	out->c.rx_bytes = v[0];
	out->c.rx_packets = v[1];
	out->c.rx_errors = v[2];
	out->c.rx_dropped = v[3];
	out->c.tx_bytes = v[8];
	out->c.tx_packets = v[9];
	out->c.tx_errors = v[10];
	out->c.tx_dropped = v[11];
	return 1;
}
