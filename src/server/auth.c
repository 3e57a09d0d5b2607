/*
 * auth.c - the bearer token: checked when the server starts (and when
 * server_set_token() replaces it, http.c), then compared with the
 * Authorization header of every request.  The
 * comparison takes constant time in the token: both sides are hashed and
 * the digests compared with CRYPTO_memcmp, so neither the length nor the
 * content leaks by timing.  The token is wiped from memory when freed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "../util/log.h"
#include "../util/sha256.h"
#include "../util/util.h"
#include "auth.h"

#define MAX_TOKEN 1024

int auth_check_token(const char *t, char *err, size_t errlen)
{
	size_t n = strlen(t);
	if (n > MAX_TOKEN) {
		snprintf(err, errlen, "token is longer than %d characters", MAX_TOKEN);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (t[i] <= ' ' || t[i] > '~') {
			snprintf(
			    err, errlen,
			    "token must be printable ASCII without spaces (character %zu is not)",
			    i + 1);
			return -EINVAL;
		}
	if (n < 16)
		log_warn("the bearer token is short (%zu characters); use 32 or more random ones",
		         n);
	return 0;
}

int auth_init(struct auth *a, const char *token, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (!token)
		return 0;
	a->token = strdup(token);
	if (!a->token) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	struct sha256 *h = sha256_new();
	if (!h || sha256_begin(h) < 0 || sha256_update(h, token, strlen(token)) < 0 ||
	    sha256_end(h, a->hash) < 0) {
		sha256_free(h);
		snprintf(err, errlen, "cannot hash the token (libcrypto)");
		return -ENOMEM;
	}
	sha256_free(h);
	return 0;
}

bool auth_ok(const struct auth *a, const char *h)
{
	if (!a->token)
		return true;
	if (!h)
		return false;
	while (*h == ' ')
		h++;
	if (strncasecmp(h, "Bearer ", 7) != 0)
		return false;
	h += 7;
	while (*h == ' ')
		h++;
	size_t n = strlen(h);
	while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
		n--;
	char hex[SHA256_HEX_LEN + 1], want[SHA256_HEX_LEN + 1];
	if (sha256_hex(h, n, hex) < 0)
		return false;
	hex_encode(a->hash, sizeof(a->hash), want);
	return CRYPTO_memcmp(hex, want, SHA256_HEX_LEN) == 0;
}

void auth_free(struct auth *a)
{
	if (a->token)
		OPENSSL_cleanse(a->token, strlen(a->token));
	free(a->token);
	a->token = NULL;
}
