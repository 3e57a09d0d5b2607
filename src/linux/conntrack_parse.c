/*
 * conntrack_parse.c - parse /proc/net/nf_conntrack lines (see
 * conntrack_parse.h).  Tokens are split on blanks and copied into a bounded
 * buffer before inet_pton(); nothing is read past the line.
 */
#include "conntrack_parse.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>

/* Text of n bytes as an IPv6 or IPv4-mapped address. */
static bool parse_addr(const char *s, size_t n, uint8_t out[16])
{
	char tmp[64];
	struct in_addr a4;

	if (n == 0 || n >= sizeof(tmp))
		return false;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	if (inet_pton(AF_INET, tmp, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		return true;
	}
	return inet_pton(AF_INET6, tmp, out) == 1;
}

static bool parse_port(const char *s, size_t n, uint16_t *out)
{
	unsigned v = 0;

	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	*out = (uint16_t)v;
	return true;
}

int ct_parse_line(const char *line, size_t n, struct ct_entry *out)
{
	const char *p = line, *end = line + n;
	int tok = 0, nsrc = 0, ndst = 0, nsport = 0, ndport = 0;
	bool tcp = false;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *t, *eq;
		size_t tn;

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		t = p;
		while (p < end && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		tn = (size_t)(p - t);
		if (tn == 0)
			break;
		tok++;
		/* "ipv4 2 tcp 6 ...": the protocol name is the third token */
		if (tok == 3)
			tcp = tn == 3 && !memcmp(t, "tcp", 3);
		eq = memchr(t, '=', tn);
		if (!eq)
			continue;
		{
			size_t kn = (size_t)(eq - t), vn = tn - kn - 1;
			const char *v = eq + 1;
			bool ok = true;

			if (kn == 3 && !memcmp(t, "src", 3) && nsrc < 2)
				ok = parse_addr(v, vn, nsrc++ ? out->rsrc : out->osrc);
			else if (kn == 3 && !memcmp(t, "dst", 3) && ndst < 2)
				ok = parse_addr(v, vn, ndst++ ? out->rdst : out->odst);
			else if (kn == 5 && !memcmp(t, "sport", 5) && nsport < 2)
				ok = parse_port(v, vn, nsport++ ? &out->rsport : &out->osport);
			else if (kn == 5 && !memcmp(t, "dport", 5) && ndport < 2)
				ok = parse_port(v, vn, ndport++ ? &out->rdport : &out->odport);
			if (!ok)
				return 0;
		}
	}
	return tcp && nsrc == 2 && ndst == 2 && nsport == 2 && ndport == 2;
}

long ct_parse_table(const char *text, size_t n, int (*cb)(void *ctx, const struct ct_entry *e),
                    void *ctx)
{
	const char *p = text, *end = text + n;
	long count = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		struct ct_entry e;

		if (ct_parse_line(p, (size_t)(le - p), &e)) {
			int r = cb(ctx, &e);

			if (r)
				return r;
			count++;
		}
		p = nl ? nl + 1 : end;
	}
	return count;
}
