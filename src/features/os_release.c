/*
 * os_release.c - parser of os-release(5) files; see os_release.h for the
 * accepted syntax.
 *
 * One pass over the input, line by line.  An assignment's value is
 * unescaped into the caller's scratch area, appended after the previous
 * values, so all values of one parse stay valid together (the unescaped
 * form is never longer than the raw text it came from, so a scratch of the
 * input's size is always enough).  A value whose quote never closes is
 * rolled back and the parse resumes on the following line.
 */
#include "os_release.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static bool is_key_start(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static bool is_key_char(char c)
{
	return is_key_start(c) || (c >= '0' && c <= '9');
}

static const char *skip_line(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	return nl ? nl + 1 : end;
}

/*
 * Unescape the value starting at *pp into dst.  On success *pp is past the
 * line's newline, *n the value length, and true is returned.  Returns false
 * on a quote left open at the end of input.
 */
static bool parse_value(const char **pp, const char *end, char *dst, size_t *n)
{
	const char *p = *pp;
	size_t len = 0, keep = 0; /* keep: length without trailing unquoted blanks */

	while (p < end && is_blank(*p) && *p != '\n')
		p++;
	while (p < end && *p != '\n') {
		char c = *p++;
		if (c == '\\') {
			if (p == end)
				break;
			if (*p == '\n') { /* line continuation */
				p++;
				continue;
			}
			dst[len++] = *p++;
			keep = len;
		} else if (c == '"') {
			for (;;) {
				if (p == end)
					return false;
				c = *p++;
				if (c == '"')
					break;
				if (c == '\\' && p < end) {
					if (*p == '\n') {
						p++;
						continue;
					}
					if (*p == '"' || *p == '\\' || *p == '$' || *p == '`')
						c = *p++;
				}
				dst[len++] = c;
			}
			keep = len;
		} else if (c == '\'') {
			for (;;) {
				if (p == end)
					return false;
				c = *p++;
				if (c == '\'')
					break;
				dst[len++] = c;
			}
			keep = len;
		} else {
			dst[len++] = c;
			if (!is_blank(c))
				keep = len;
		}
	}
	if (p < end)
		p++; /* the newline */
	*pp = p;
	*n = keep;
	return true;
}

int os_release_each(const char *buf, size_t len, char *scratch,
                    int (*cb)(void *ctx, const char *key, size_t klen, const char *val,
                              size_t vlen),
                    void *ctx)
{
	if (len > OS_RELEASE_MAX)
		len = OS_RELEASE_MAX;
	const char *p = buf, *end = buf + len;
	size_t used = 0;
	int ignored = 0;

	while (p < end) {
		const char *line = p;
		while (p < end && is_blank(*p))
			p++;
		if (p == end)
			break;
		if (*p == '\n' || *p == '#') {
			p = skip_line(p, end);
			continue;
		}
		const char *key = p;
		if (!is_key_start(*p)) {
			ignored++;
			p = skip_line(p, end);
			continue;
		}
		while (p < end && is_key_char(*p))
			p++;
		size_t klen = (size_t)(p - key);
		while (p < end && is_blank(*p))
			p++;
		if (p == end || *p != '=') {
			ignored++;
			p = skip_line(p, end);
			continue;
		}
		p++;
		size_t vlen;
		if (!parse_value(&p, end, scratch + used, &vlen)) {
			ignored++;
			p = skip_line(line, end);
			continue;
		}
		scratch[used + vlen] = 0;
		int r = cb(ctx, key, klen, scratch + used, vlen);
		if (r)
			return r;
		used += vlen + 1;
	}
	return ignored;
}

struct known {
	const char *key;
	size_t off;
};

static const struct known known_keys[] = {
    {"NAME", offsetof(struct os_release, name)},
    {"ID", offsetof(struct os_release, id)},
    {"ID_LIKE", offsetof(struct os_release, id_like)},
    {"VERSION", offsetof(struct os_release, version)},
    {"VERSION_ID", offsetof(struct os_release, version_id)},
    {"VERSION_CODENAME", offsetof(struct os_release, version_codename)},
    {"PRETTY_NAME", offsetof(struct os_release, pretty_name)},
    {"VARIANT_ID", offsetof(struct os_release, variant_id)},
    {"BUILD_ID", offsetof(struct os_release, build_id)},
};

static int keep_known(void *ctx, const char *key, size_t klen, const char *val, size_t vlen)
{
	struct os_release *r = ctx;
	r->assignments++;
	for (size_t i = 0; i < sizeof(known_keys) / sizeof(known_keys[0]); i++) {
		if (strlen(known_keys[i].key) == klen && !memcmp(known_keys[i].key, key, klen)) {
			struct os_release_val *v = (void *)((char *)r + known_keys[i].off);
			v->s = val;
			v->len = vlen;
			break;
		}
	}
	return 0;
}

int os_release_parse(const char *buf, size_t len, struct os_release *out)
{
	memset(out, 0, sizeof(*out));
	out->truncated = len > OS_RELEASE_MAX;
	if (out->truncated)
		len = OS_RELEASE_MAX;
	out->store = malloc(len + 1);
	if (!out->store)
		return -ENOMEM;
	int r = os_release_each(buf, len, out->store, keep_known, out);
	out->ignored = r > 0 ? (unsigned)r : 0;
	return 0;
}

void os_release_free(struct os_release *r)
{
	free(r->store);
	r->store = NULL;
}
