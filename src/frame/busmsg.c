/*
 * busmsg.c - the envelope of a message of frames on a bus (see busmsg.h).
 */
#include "busmsg.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../util/json.h"

void busmsg_write(struct buf *out, const struct busmsg *m)
{
	buf_printf(out,
	           "{\"vantage\":%d,\"type\":\"%s\",\"fmt\":\"%s\",\"system\":", BUSMSG_VERSION,
	           m->delta ? "delta" : "full", m->fmt == FRAME_CRAWLER ? "crawler" : "jsonl");
	jw_escape(out, m->system, strlen(m->system));
	buf_adds(out, ",\"chain\":");
	jw_escape(out, m->chain, strlen(m->chain));
	buf_printf(out, ",\"seq\":%llu,\"part\":%u,\"parts\":%u,\"len\":%llu,\"hash\":\"%s\"",
	           (unsigned long long)m->seq, m->part, m->parts, (unsigned long long)m->len,
	           m->hash);
	if (m->delta)
		buf_printf(out, ",\"base\":\"%s\"", m->base);
	buf_adds(out, "}\n");
}

static int get_str(json_t *o, const char *name, char *dst, size_t cap, bool need, char *err,
                   size_t errlen)
{
	json_t *v = json_object_get(o, name);
	if (!v && !need) {
		dst[0] = 0;
		return 0;
	}
	const char *s = json_string_value(v);
	size_t n = s ? json_string_length(v) : 0;
	if (!s || n >= cap || memchr(s, 0, n)) {
		snprintf(err, errlen, "envelope: \"%s\" is %s", name,
		         !v   ? "missing"
		         : !s ? "not a string"
		              : "too long");
		return -EINVAL;
	}
	memcpy(dst, s, n + 1);
	return 0;
}

static int get_uint(json_t *o, const char *name, uint64_t max, uint64_t *out, char *err,
                    size_t errlen)
{
	json_t *v = json_object_get(o, name);
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max) {
		snprintf(err, errlen, "envelope: \"%s\" is %s", name,
		         !v ? "missing" : "not an integer in range");
		return -EINVAL;
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static bool is_hash(const char *h)
{
	if (strlen(h) != DELTA_HASH_LEN)
		return false;
	for (const char *c = h; *c; c++)
		if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
			return false;
	return true;
}

int busmsg_parse(const char *p, size_t len, struct busmsg *m, size_t *body, char *err,
                 size_t errlen)
{
	memset(m, 0, sizeof(*m));
	const char *nl = memchr(p, '\n', len);
	if (!nl) {
		snprintf(err, errlen, "envelope: no line (a truncated message?)");
		return -EINVAL;
	}
	json_error_t je;
	json_t *o = json_loadb(p, (size_t)(nl - p), 0, &je);
	if (!json_is_object(o)) {
		snprintf(err, errlen, "envelope: not a JSON object (%s)", o ? "" : je.text);
		json_decref(o);
		return -EINVAL;
	}
	int r = 0;
	uint64_t v = 0, part = 0, parts = 0;
	char type[8], fmt[8];
	if (get_uint(o, "vantage", INT32_MAX, &v, err, errlen) < 0) {
		r = -EINVAL;
		goto out;
	}
	m->version = (int)v;
	if (v > BUSMSG_VERSION || v == 0) {
		snprintf(err, errlen, "envelope: format version %llu (this vantage reads %d)",
		         (unsigned long long)v, BUSMSG_VERSION);
		r = v ? -EPROTONOSUPPORT : -EINVAL;
		goto out;
	}
	if (get_str(o, "type", type, sizeof(type), true, err, errlen) < 0 ||
	    get_str(o, "fmt", fmt, sizeof(fmt), true, err, errlen) < 0 ||
	    get_str(o, "system", m->system, sizeof(m->system), true, err, errlen) < 0 ||
	    get_str(o, "chain", m->chain, sizeof(m->chain), true, err, errlen) < 0 ||
	    get_str(o, "hash", m->hash, sizeof(m->hash), false, err, errlen) < 0 ||
	    get_str(o, "base", m->base, sizeof(m->base), false, err, errlen) < 0 ||
	    get_uint(o, "seq", INT64_MAX, &m->seq, err, errlen) < 0 ||
	    get_uint(o, "part", BUSMSG_MAX_PARTS, &part, err, errlen) < 0 ||
	    get_uint(o, "parts", BUSMSG_MAX_PARTS, &parts, err, errlen) < 0 ||
	    get_uint(o, "len", DELTA_MAX_FRAME, &m->len, err, errlen) < 0) {
		r = -EINVAL;
		goto out;
	}
	m->part = (uint32_t)part;
	m->parts = (uint32_t)parts;
	m->delta = strcmp(type, "delta") == 0;
	if (!m->delta)
		m->base[0] = 0; /* a full frame has none (busmsg.h): one sent is ignored */
	m->fmt = strcmp(fmt, "crawler") == 0 ? FRAME_CRAWLER : FRAME_JSON;
	if ((!m->delta && strcmp(type, "full") != 0) ||
	    (m->fmt == FRAME_JSON && strcmp(fmt, "jsonl") != 0)) {
		snprintf(err, errlen, "envelope: type \"%s\", fmt \"%s\" unknown", type, fmt);
		r = -EINVAL;
	} else if (m->part < 1 || m->part > m->parts || !m->system[0]) {
		snprintf(err, errlen, "envelope: part %u of %u, system \"%s\"", m->part, m->parts,
		         m->system);
		r = -EINVAL;
	} else if ((m->hash[0] && !is_hash(m->hash)) || (m->delta && !is_hash(m->base)) ||
	           (m->delta && !is_hash(m->hash))) {
		snprintf(err, errlen, "envelope: a hash is not %d hex digits", DELTA_HASH_LEN);
		r = -EINVAL;
	} else if (len - (size_t)(nl + 1 - p) > m->len) {
		snprintf(err, errlen, "envelope: a part of %zu bytes in a body of %llu",
		         len - (size_t)(nl + 1 - p), (unsigned long long)m->len);
		r = -EINVAL;
	}
	*body = (size_t)(nl + 1 - p);
out:
	json_decref(o);
	return r;
}
