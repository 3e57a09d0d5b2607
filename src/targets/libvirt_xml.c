/*
 * libvirt_xml.c - a bounded scan of libvirt's domain status XML
 * (/run/libvirt/qemu/<name>.xml): tags and attributes, not a full XML
 * parser (vm_parse_libvirt_xml; see vms.h for the fields read).
 *
 * The file is untrusted text: every copy is bounded, entities are decoded
 * only when well formed, and a truncated file yields what was read.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "../util/util.h"
#include "vms.h"

/* ---- libvirt domain status XML ------------------------------------------- */

/* Copy XML text (or an attribute value) with the five predefined entities
 * and numeric references below 128 decoded; control characters as '?'. */
static void xml_copy(char *dst, size_t cap, const char *s, const char *e)
{
	static const struct {
		const char *ent;
		char c;
	} ents[] = {
	    {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&apos;", '\''}, {"&quot;", '"'},
	};
	size_t o = 0;
	if (!cap)
		return;
	while (s < e && o + 1 < cap) {
		char c = *s++;
		if (c == '&') {
			bool done = false;
			for (size_t i = 0; i < ARRAY_SIZE(ents) && !done; i++) {
				size_t n = strlen(ents[i].ent) - 1;
				if ((size_t)(e - s) >= n && !memcmp(s, ents[i].ent + 1, n)) {
					c = ents[i].c, s += n, done = true;
				}
			}
			if (!done && s < e && *s == '#') {
				const char *q = s + 1;
				uint64_t v;
				if (q < e && parse_u64(&q, e, &v) && q < e && *q == ';' &&
				    v < 128 && v)
					c = (char)v, s = q + 1;
			}
		}
		dst[o++] = ((unsigned char)c < 0x20 || c == 0x7f) ? '?' : c;
	}
	dst[o] = 0;
}

/* The value of attribute `name` in the tag text [s, e). */
static bool xml_attr(const char *s, const char *e, const char *name, char *dst, size_t cap)
{
	size_t n = strlen(name);
	const char *p = s;
	/* skip the element name */
	while (p < e && !isspace((unsigned char)*p))
		p++;
	while (p < e) {
		while (p < e && isspace((unsigned char)*p))
			p++;
		const char *k = p;
		while (p < e && *p != '=' && !isspace((unsigned char)*p))
			p++;
		const char *ke = p;
		while (p < e && isspace((unsigned char)*p))
			p++;
		if (p >= e || *p != '=')
			return false;
		p++;
		while (p < e && isspace((unsigned char)*p))
			p++;
		if (p >= e || (*p != '\'' && *p != '"'))
			return false;
		char q = *p++;
		const char *v = p, *ve = memchr(p, q, (size_t)(e - p));
		if (!ve)
			return false;
		if ((size_t)(ke - k) == n && !memcmp(k, name, n)) {
			xml_copy(dst, cap, v, ve);
			return true;
		}
		p = ve + 1;
	}
	return false;
}

static bool tag_is(const char *s, const char *e, const char *name)
{
	size_t n = strlen(name);
	return (size_t)(e - s) >= n && !memcmp(s, name, n) &&
	       ((size_t)(e - s) == n || isspace((unsigned char)s[n]) || s[n] == '/');
}

static uint64_t libvirt_unit(const char *u)
{
	static const struct {
		const char *u;
		uint64_t m;
	} units[] = {
	    {"b", 1},           {"bytes", 1},        {"KB", 1000},     {"k", 1024},
	    {"KiB", 1024},      {"MB", 1000000},     {"M", 1 << 20},   {"MiB", 1 << 20},
	    {"GB", 1000000000}, {"G", 1 << 30},      {"GiB", 1 << 30}, {"TB", 1000000000000ull},
	    {"T", 1ull << 40},  {"TiB", 1ull << 40},
	};
	if (!u[0])
		return 1024; /* libvirt's default unit is KiB */
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (!strcmp(u, units[i].u))
			return units[i].m;
	return 0;
}

struct xml_scan {
	const char *p, *end;
	int depth;
	int domain_depth; /* depth inside <domain>, 0 before it */
	int os_depth;
	struct vm_libvirt *out;
	bool seen_domain;
	char unit[16];
	int want_text; /* 1 name, 2 uuid, 3 memory */
};

/* Skip a comment, processing instruction, CDATA or DOCTYPE at p ("<!" or
 * "<?"); false when it never ends. */
static bool skip_special(struct xml_scan *x)
{
	size_t left = (size_t)(x->end - x->p);
	const char *term = x->p[1] == '?'                               ? "?>"
	                   : left >= 4 && !memcmp(x->p, "<!--", 4)      ? "-->"
	                   : left >= 9 && !memcmp(x->p, "<![CDATA[", 9) ? "]]>"
	                                                                : ">";
	const char *q = memmem(x->p + 2, left - 2, term, strlen(term));
	if (!q)
		return false;
	x->p = q + strlen(term);
	return true;
}

static void xml_text(struct xml_scan *x, const char *s, const char *e)
{
	char v[128];
	const char *ts = s;
	size_t n = (size_t)(e - s);
	trim(&ts, &n);
	if (x->want_text == 1)
		xml_copy(x->out->name, sizeof(x->out->name), ts, ts + n);
	else if (x->want_text == 2) {
		xml_copy(v, sizeof(v), ts, ts + n);
		vm_set_uuid(x->out->uuid, sizeof(x->out->uuid), v, strlen(v));
	} else if (x->want_text == 3) {
		uint64_t m = libvirt_unit(x->unit), val;
		const char *q = ts;
		if (m && parse_u64(&q, ts + n, &val) && q == ts + n && val <= UINT64_MAX / m)
			x->out->mem_bytes = val * m;
	}
	x->want_text = 0;
}

static void xml_open_tag(struct xml_scan *x, const char *s, const char *e, bool self_close)
{
	struct vm_libvirt *o = x->out;
	char v[32];
	int d = x->depth + 1; /* depth of this element */

	if (tag_is(s, e, "domstatus") && d == 1) {
		uint64_t pid;
		const char *q = v;
		if (xml_attr(s, e, "pid", v, sizeof(v)) && parse_u64(&q, v + strlen(v), &pid) &&
		    !*q && pid > 0 && pid < (1u << 30))
			o->pid = (int)pid;
		xml_attr(s, e, "state", o->state, sizeof(o->state));
	} else if (tag_is(s, e, "monitor") && d == 2 && !x->domain_depth) {
		xml_attr(s, e, "path", o->monitor, sizeof(o->monitor));
	} else if (tag_is(s, e, "domain") && !x->seen_domain && d <= 2) {
		x->domain_depth = d;
		x->seen_domain = true;
	} else if (x->domain_depth && d == x->domain_depth + 1) {
		if (tag_is(s, e, "name") && !o->name[0])
			x->want_text = 1;
		else if (tag_is(s, e, "uuid") && !o->uuid[0])
			x->want_text = 2;
		else if (tag_is(s, e, "memory") && !o->mem_bytes) {
			x->want_text = 3;
			x->unit[0] = 0;
			xml_attr(s, e, "unit", x->unit, sizeof(x->unit));
		} else if (tag_is(s, e, "os"))
			x->os_depth = d;
	} else if (x->os_depth && d == x->os_depth + 1 && tag_is(s, e, "type") && !o->machine[0]) {
		xml_attr(s, e, "machine", o->machine, sizeof(o->machine));
	}
	if (self_close)
		x->want_text = 0;
	else
		x->depth = d;
}

static void xml_close_tag(struct xml_scan *x)
{
	if (x->os_depth == x->depth)
		x->os_depth = 0;
	if (x->domain_depth == x->depth)
		x->domain_depth = 0;
	if (x->depth > 0)
		x->depth--;
	x->want_text = 0;
}

int vm_parse_libvirt_xml(const char *buf, size_t len, struct vm_libvirt *out)
{
	memset(out, 0, sizeof(*out));
	if (!buf)
		return -EINVAL;
	struct xml_scan x = {.p = buf, .end = buf + len, .out = out};
	while (x.p < x.end) {
		const char *lt = memchr(x.p, '<', (size_t)(x.end - x.p));
		if (!lt)
			break;
		if (x.want_text)
			xml_text(&x, x.p, lt);
		x.p = lt;
		if (x.end - x.p >= 2 && (x.p[1] == '!' || x.p[1] == '?')) {
			if (!skip_special(&x))
				break;
			continue;
		}
		const char *gt = memchr(x.p, '>', (size_t)(x.end - x.p));
		if (!gt)
			break; /* truncated */
		const char *s = x.p + 1, *e = gt;
		x.p = gt + 1;
		if (s < e && *s == '/') {
			xml_close_tag(&x);
			continue;
		}
		bool self_close = e > s && e[-1] == '/';
		xml_open_tag(&x, s, self_close ? e - 1 : e, self_close);
	}
	return x.seen_domain ? 0 : -EINVAL;
}
