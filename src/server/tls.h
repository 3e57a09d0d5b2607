/*
 * tls.h - the API's certificate and private key (HTTPS), read from PEM
 * files once when the server starts.
 *
 * libmicrohttpd serves TLS through GnuTLS from the PEM text in memory; this
 * file only reads and checks the two files, so that a wrong path, an empty
 * file or a key in the certificate's place gets an error naming the file
 * before anything listens.  The key is wiped from memory when freed and is
 * never part of a message.  A key file others can read is warned about.
 */
#ifndef VANTAGE_SERVER_TLS_H
#define VANTAGE_SERVER_TLS_H

#include <stddef.h>

struct tls_pem {
	char *cert; /* NUL-terminated PEM text, NULL when TLS is off */
	char *key;
};

/* Both paths NULL: TLS off (0, *out zeroed).  One without the other, an
 * unreadable file, one larger than 1 MiB or without the PEM block it
 * should hold (a CERTIFICATE; a PRIVATE KEY): -EINVAL with a message
 * naming the file in err. */
int tls_load(const char *cert_path, const char *key_path, struct tls_pem *out, char *err,
             size_t errlen);
/* The checks of tls_load() that need no file contents: both or neither. */
int tls_check_paths(const char *cert_path, const char *key_path, char *err, size_t errlen);
void tls_free(struct tls_pem *p);

#endif
