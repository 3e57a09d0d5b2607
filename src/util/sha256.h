/*
 * sha256.h - SHA-256 digests, a thin wrapper over OpenSSL's libcrypto
 * (its SHA-256 functions, not EVP: see sha256.c).
 *
 * Streaming use, one context reused for many files (no allocation per
 * file):
 *
 *	struct sha256 *h = sha256_new();
 *	for each file:
 *		sha256_begin(h);
 *		sha256_update(h, chunk, n); ...
 *		sha256_end_hex(h, hex);		// 64 lowercase hex digits + NUL
 *	sha256_free(h);
 *
 * sha256_new() returns a context owned by the caller (free it with
 * sha256_free(), which accepts NULL).  Every call returns 0 or a negative
 * errno (-ENOMEM when libcrypto fails, -EINVAL on misuse).
 */
#ifndef VANTAGE_SHA256_H
#define VANTAGE_SHA256_H

#include <stddef.h>

#define SHA256_LEN 32
#define SHA256_HEX_LEN 64

struct sha256;

struct sha256 *sha256_new(void);
void sha256_free(struct sha256 *h);
/* Start a new digest (discarding any unfinished one). */
int sha256_begin(struct sha256 *h);
int sha256_update(struct sha256 *h, const void *p, size_t n);
/* Finish: the raw 32-byte digest. */
int sha256_end(struct sha256 *h, unsigned char digest[SHA256_LEN]);
/* Finish: lowercase hex, NUL-terminated (SHA256_HEX_LEN + 1 bytes). */
int sha256_end_hex(struct sha256 *h, char hex[SHA256_HEX_LEN + 1]);
/* One shot: the hex digest of [p, p + n). */
int sha256_hex(const void *p, size_t n, char hex[SHA256_HEX_LEN + 1]);

#endif
