/*
 * sflow_xdr.h - writing XDR (RFC 4506) for the sFlow encoders
 * (sflow_encode.c, sflow_flow.c): big-endian, every field 4-byte aligned,
 * opaques and strings a u32 length then the bytes padded with zeros to 4.
 *
 * A struct xdr writes into [buf, buf+cap) from `len` on.  Every writer
 * checks the bound: a write that would not fit writes nothing and sets
 * `err`, and every later write is ignored, so an encoder writes its fields
 * blindly and checks xdr.err once at the end.  With buf NULL nothing is
 * written, only `len` counted: the size of what would be written (the
 * encoders measure a sample that way before appending it).
 *
 * Lengths that come before what they measure (a sample's, a record's) are
 * reserved with xdr_mark() and filled in by xdr_patch_len().
 *
 * sflow_dgram_put() appends one sample to a datagram through such an
 * encoder: measured first, so a sample that does not fit leaves the
 * datagram unchanged (-EMSGSIZE), or one that would not fit even alone
 * (-E2BIG).  Internal to src/frame/: sflow.h is the public interface.
 */
#ifndef VANTAGE_SFLOW_XDR_H
#define VANTAGE_SFLOW_XDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sflow.h"

struct xdr {
	uint8_t *buf; /* NULL: count only */
	size_t cap;   /* bytes of buf usable (ignored when counting) */
	size_t len;   /* bytes written (or counted) so far */
	bool err;     /* a write did not fit: everything after it was ignored */
};

static inline void xdr_init(struct xdr *x, uint8_t *buf, size_t cap, size_t len)
{
	x->buf = buf;
	x->cap = cap;
	x->len = len;
	x->err = false;
}

/* Room for n more bytes?  Sets err when not. */
static inline bool xdr_room(struct xdr *x, size_t n)
{
	if (x->err)
		return false;
	if (x->buf && (x->len > x->cap || n > x->cap - x->len)) {
		x->err = true;
		return false;
	}
	return true;
}

static inline void xdr_u32(struct xdr *x, uint32_t v)
{
	if (!xdr_room(x, 4))
		return;
	if (x->buf) {
		uint8_t *p = x->buf + x->len;
		p[0] = (uint8_t)(v >> 24);
		p[1] = (uint8_t)(v >> 16);
		p[2] = (uint8_t)(v >> 8);
		p[3] = (uint8_t)v;
	}
	x->len += 4;
}

static inline void xdr_u64(struct xdr *x, uint64_t v)
{
	if (!xdr_room(x, 8))
		return;
	xdr_u32(x, (uint32_t)(v >> 32));
	xdr_u32(x, (uint32_t)v);
}

/* An IEEE 754 single, big-endian (XDR float). */
static inline void xdr_float(struct xdr *x, float f)
{
	uint32_t v;
	memcpy(&v, &f, sizeof(v));
	xdr_u32(x, v);
}

/* n bytes as they are, then zeros to the next multiple of 4 (a fixed-length
 * opaque: an address, a uuid, a MAC). */
static inline void xdr_fixed(struct xdr *x, const void *p, size_t n)
{
	size_t padded = (n + 3) & ~(size_t)3;
	if (padded < n || !xdr_room(x, padded))
		return;
	if (x->buf) {
		if (n)
			memcpy(x->buf + x->len, p, n);
		memset(x->buf + x->len + n, 0, padded - n);
	}
	x->len += padded;
}

/* A variable-length opaque: u32 length, the bytes, padding. */
static inline void xdr_opaque(struct xdr *x, const void *p, size_t n)
{
	if (n > UINT32_MAX || !xdr_room(x, 4 + ((n + 3) & ~(size_t)3))) {
		x->err = true;
		return;
	}
	xdr_u32(x, (uint32_t)n);
	xdr_fixed(x, p, n);
}

/* A string of at most `max` bytes (the structure's bound: longer ones are
 * cut there); NULL writes an empty string. */
static inline void xdr_string(struct xdr *x, const char *s, size_t max)
{
	size_t n = s ? strnlen(s, max) : 0;
	xdr_opaque(x, s, n);
}

/* Reserve a u32 written later by xdr_patch_len(); returns its offset. */
static inline size_t xdr_mark(struct xdr *x)
{
	size_t at = x->len;
	xdr_u32(x, 0);
	return at;
}

/* Fill the u32 at `at` with the bytes written after it. */
static inline void xdr_patch_len(struct xdr *x, size_t at)
{
	if (x->err || !x->buf)
		return;
	size_t n = x->len - at - 4;
	uint8_t *p = x->buf + at;
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
}

/* Start a sample or record: its tag and a length to patch; returns the
 * length's offset for xdr_end(). */
static inline size_t xdr_begin(struct xdr *x, uint32_t tag)
{
	xdr_u32(x, tag);
	return xdr_mark(x);
}

static inline void xdr_end(struct xdr *x, size_t at)
{
	xdr_patch_len(x, at);
}

/*
 * Append one sample to d: enc(x, arg) writes the whole sample (tag, length,
 * data) with the writers above.  It is called twice: once counting, once
 * writing.  Returns 0 (d->nsamples counted), -EMSGSIZE when it does not fit
 * in d's MTU (d unchanged), -E2BIG when it would not fit even in an empty
 * datagram, -EINVAL when the encoder failed otherwise (sflow_encode.c).
 */
typedef void (*sflow_enc_fn)(struct xdr *x, const void *arg);
int sflow_dgram_put(struct sflow_dgram *d, sflow_enc_fn enc, const void *arg);

#endif
