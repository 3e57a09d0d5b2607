/*
 * redact.h - well-known secrets taken out of a text before it leaves the
 * system it came from (the config feature's file contents).
 *
 * Replaced by "[REDACTED]", the rest of the text kept byte for byte:
 *
 *   - the body of a PEM private key block (-----BEGIN ... PRIVATE KEY-----
 *     to its END line; OpenSSH, PGP and encrypted keys too);
 *   - the value of an assignment whose key names a secret: the key's last
 *     word is password, passwd, passphrase, pwd, secret, token, apikey /
 *     api_key, access_key, secret_key, private_key, credentials, psk
 *     (any case; words split by _ - . or a capital), written KEY=VALUE,
 *     KEY: VALUE, KEY = "VALUE", "KEY": "VALUE" (INI, shell, env files,
 *     YAML, JSON, properties); a value that is empty stays empty;
 *   - the password of a URL (scheme://user:PASSWORD@host);
 *   - an HTTP Authorization header's credentials (Bearer, Basic ...);
 *   - tokens of a recognisable shape anywhere: GitHub (ghp_, gho_, ghu_,
 *     ghs_, ghr_, github_pat_), GitLab (glpat-), Slack (xoxb- ...), Google
 *     API keys (AIza...), AWS secret keys after an AWS key id, JSON Web
 *     Tokens (eyJ....eyJ....sig), crypt(3) password hashes ($1$, $5$,
 *     $6$, $y$, $2b$ ...).
 *
 * It is a heuristic: it takes out what is commonly a secret and keeps
 * what is commonly not (PasswordAuthentication yes, password_min_len = 8
 * keep their values: their key's last word is not a secret word).
 */
#ifndef VANTAGE_REDACT_H
#define VANTAGE_REDACT_H

#include <stddef.h>

#include "buf.h"

#define REDACTED "[REDACTED]"

/* Append `len` bytes of `in` to `out` with the secrets replaced; returns
 * how many were replaced.  `in` may hold any bytes (NULs too). */
size_t redact_text(const char *in, size_t len, struct buf *out);

/* A request target for a log line: the value of each query parameter whose
 * name is a secret word (as above, or key, auth, sig, signature) replaced
 * by "[REDACTED]"; written NUL-terminated into out (cut at outlen - 1). */
void redact_query(const char *target, char *out, size_t outlen);

#endif
