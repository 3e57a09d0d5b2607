/*
 * sha256.c - SHA-256 through OpenSSL's own SHA-256 functions (SHA256_Init,
 * _Update, _Final: the CPU's SHA instructions where it has them).
 *
 * Not through EVP: fetching a digest by EVP initialises OpenSSL's
 * provider machinery, which alone keeps about 1.8 MB of the library
 * resident in a long-running daemon that only ever hashes (measured: 3.4
 * MB of libcrypto resident with EVP, 1.6 MB with these).  The functions
 * are deprecated in OpenSSL 3 in favour of EVP, not removed, and compute
 * the same digest.  The hex form is written here rather than through
 * util's hex_encode() so this file stands alone.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "sha256.h"
#include "util.h"

#include <errno.h>
#include <openssl/sha.h>
#include <stdlib.h>

struct sha256 {
	SHA256_CTX ctx;
	int started; /* begin() called and end() not yet */
};

struct sha256 *sha256_new(void)
{
	return calloc(1, sizeof(struct sha256));
}

void sha256_free(struct sha256 *h)
{
	free(h);
}

int sha256_begin(struct sha256 *h)
{
	if (!h)
		return -EINVAL;
	if (SHA256_Init(&h->ctx) != 1)
		return -ENOMEM;
	h->started = 1;
	return 0;
}

int sha256_update(struct sha256 *h, const void *p, size_t n)
{
	if (!h || !h->started)
		return -EINVAL;
	if (n && SHA256_Update(&h->ctx, p, n) != 1)
		return -ENOMEM;
	return 0;
}

int sha256_end(struct sha256 *h, unsigned char digest[SHA256_LEN])
{
	if (!h || !h->started)
		return -EINVAL;
	h->started = 0;
	if (SHA256_Final(digest, &h->ctx) != 1)
		return -ENOMEM;
	return 0;
}
int sha256_end_hex(struct sha256 *h, char hex[SHA256_HEX_LEN + 1])
{
	unsigned char d[SHA256_LEN];
	int rc = sha256_end(h, d);

	if (rc)
		return rc;
	hex_encode(d, SHA256_LEN, hex);
	return 0;
}

int sha256_hex(const void *p, size_t n, char hex[SHA256_HEX_LEN + 1])
{
	struct sha256 *h = sha256_new();
	int rc;

	if (!h)
		return -ENOMEM;
	rc = sha256_begin(h);
	if (!rc)
		rc = sha256_update(h, p, n);
	if (!rc)
		rc = sha256_end_hex(h, hex);
	sha256_free(h);
	return rc;
}
