/*
 * auth.h - the bearer token a server may require: checked when the server
 * starts, kept hashed, compared in constant time on every request.
 */
#ifndef VANTAGE_SERVER_AUTH_H
#define VANTAGE_SERVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>

struct auth {
	char *token;            /* NULL: every request is let in */
	unsigned char hash[32]; /* SHA-256 of the token */
};

/* A usable token: printable ASCII without spaces, at most 1024 characters
 * (a short one is allowed with a warning).  0 or -EINVAL with a message. */
int auth_check_token(const char *token, char *err, size_t errlen);
/* Keep a copy of `token` (NULL: no auth) and its hash in *a.  0, or
 * -ENOMEM with a message; auth_free() in every case. */
int auth_init(struct auth *a, const char *token, char *err, size_t errlen);
/* Whether a request with this Authorization header value (NULL when
 * absent) may pass: "Bearer TOKEN", spaces around allowed. */
bool auth_ok(const struct auth *a, const char *authorization);
/* Wipe and free the token. */
void auth_free(struct auth *a);

#endif
