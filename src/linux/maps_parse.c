/*
 * maps_parse.c - parser of /proc/PID/maps lines.  See maps_parse.h.
 */
#include "maps_parse.h"

#include <string.h>

#include "../util/util.h"

/* At most 16 hex digits (64 bits); false on none or overflow. */
static bool parse_hex(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	const char *s = *p;
	int d;
	while (*p < end && (d = hex_digit(**p)) >= 0) {
		if (v >> 60)
			return false;
		v = v * 16 + (uint64_t)d;
		(*p)++;
	}
	*out = v;
	return *p > s;
}

/* A field ends at a blank or the end of the line. */
static bool at_field_end(const char *p, const char *end)
{
	return p >= end || *p == ' ' || *p == '\t';
}

bool maps_parse_line(const char *s, const char *end, struct maps_line *m)
{
	const char *p = s;
	uint64_t maj, min;

	if (!s || end < s)
		return false;
	if (!parse_hex(&p, end, &m->start) || p >= end || *p++ != '-' ||
	    !parse_hex(&p, end, &m->end) || m->end <= m->start || !at_field_end(p, end))
		return false;
	skip_blanks(&p, end);
	if (end - p < 4 || !at_field_end(p + 4, end))
		return false;
	memcpy(m->perms, p, 4);
	m->perms[4] = 0;
	for (int i = 0; i < 4; i++)
		if ((unsigned char)m->perms[i] < 0x21 || (unsigned char)m->perms[i] > 0x7e)
			return false;
	p += 4;
	skip_blanks(&p, end);
	if (!parse_hex(&p, end, &m->offset) || !at_field_end(p, end))
		return false;
	skip_blanks(&p, end);
	if (!parse_hex(&p, end, &maj) || p >= end || *p++ != ':' || !parse_hex(&p, end, &min) ||
	    maj > UINT32_MAX || min > UINT32_MAX || !at_field_end(p, end))
		return false;
	m->dev_major = (uint32_t)maj;
	m->dev_minor = (uint32_t)min;
	skip_blanks(&p, end);
	if (!parse_u64(&p, end, &m->inode) || !at_field_end(p, end))
		return false;
	skip_blanks(&p, end);
	m->path = p;
	m->path_len = (size_t)(end - p);
	m->deleted = false;
	static const char del[] = " (deleted)";
	if (m->path_len >= sizeof(del) - 1 &&
	    !memcmp(p + m->path_len - (sizeof(del) - 1), del, sizeof(del) - 1)) {
		m->path_len -= sizeof(del) - 1;
		m->deleted = true;
	}
	return true;
}

bool maps_path_is(const struct maps_line *m, const char *s)
{
	size_t n = strlen(s);
	return m->path_len == n && !memcmp(m->path, s, n);
}

bool maps_path_starts(const struct maps_line *m, const char *s)
{
	size_t n = strlen(s);
	return m->path_len >= n && !memcmp(m->path, s, n);
}

int maps_for_each(const char *buf, size_t len, int (*fn)(const struct maps_line *m, void *arg),
                  void *arg)
{
	if (!buf)
		return 0;
	const char *p = buf, *end = buf + len;
	struct maps_line m;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		bool ok = maps_parse_line(p, le, &m);
		p = nl ? nl + 1 : end;
		if (ok) {
			int r = fn(&m, arg);
			if (r)
				return r;
		}
	}
	return 0;
}
