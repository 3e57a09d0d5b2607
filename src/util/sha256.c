/*
 * sha256.c - SHA-256 through OpenSSL's EVP interface.
 *
 * A struct sha256 is just an EVP_MD_CTX; sha256_begin() re-initialises it
 * so one context serves a whole crawl.  The hex form is written here
 * rather than through util's hex_encode() so this file stands alone.
 */
#include "sha256.h"
#include "util.h"

#include <errno.h>
#include <openssl/evp.h>

struct sha256 {
	EVP_MD_CTX *ctx;
	int started; /* begin() called and end() not yet */
};

struct sha256 *sha256_new(void)
{
	struct sha256 *h = OPENSSL_zalloc(sizeof(*h));

	if (!h)
		return NULL;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx) {
		OPENSSL_free(h);
		return NULL;
	}
	return h;
}

void sha256_free(struct sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	OPENSSL_free(h);
}

int sha256_begin(struct sha256 *h)
{
	if (!h)
		return -EINVAL;
	if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		return -ENOMEM;
	h->started = 1;
	return 0;
}

int sha256_update(struct sha256 *h, const void *p, size_t n)
{
	if (!h || !h->started)
		return -EINVAL;
	if (n && EVP_DigestUpdate(h->ctx, p, n) != 1)
		return -ENOMEM;
	return 0;
}

int sha256_end(struct sha256 *h, unsigned char digest[SHA256_LEN])
{
	unsigned int len = 0;

	if (!h || !h->started)
		return -EINVAL;
	h->started = 0;
	if (EVP_DigestFinal_ex(h->ctx, digest, &len) != 1 || len != SHA256_LEN)
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
