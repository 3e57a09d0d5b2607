/*
 * tls.c - reading the API's PEM certificate and key (see tls.h).
 */
#include "tls.h"

#include "../util/log.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PEM_MAX ((size_t)1 << 20)

int tls_check_paths(const char *cert_path, const char *key_path, char *err, size_t errlen)
{
	bool cert = cert_path && *cert_path, key = key_path && *key_path;
	if (cert != key) {
		snprintf(err, errlen, "%s",
		         cert ? "tls_cert (--tls-cert) is set without tls_key (--tls-key): HTTPS "
		                "needs both"
		              : "tls_key (--tls-key) is set without tls_cert (--tls-cert): HTTPS "
		                "needs both");
		return -EINVAL;
	}
	return 0;
}

/* The whole file as a string; `what` names it in messages. */
static int read_pem(const char *path, const char *what, char **out, bool secret, char *err,
                    size_t errlen)
{
	*out = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -EINVAL;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s %s: not a regular file", what, path);
		close(fd);
		return -EINVAL;
	}
	if ((size_t)st.st_size > PEM_MAX) {
		snprintf(err, errlen,
		         "%s %s: %lld bytes, more than a PEM file holds (1 MiB at most)", what,
		         path, (long long)st.st_size);
		close(fd);
		return -EINVAL;
	}
	if (secret && (st.st_mode & 077))
		log_warn("%s %s is readable by other users (chmod 600 it)", what, path);
	char *s = malloc((size_t)st.st_size + 1);
	if (!s) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	size_t len = 0;
	while (len < (size_t)st.st_size) {
		ssize_t r = read(fd, s + len, (size_t)st.st_size - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	s[len] = '\0';
	*out = s;
	return 0;
}

void tls_free(struct tls_pem *p)
{
	if (p->key) {
		explicit_bzero(p->key, strlen(p->key));
		free(p->key);
	}
	free(p->cert);
	p->cert = p->key = NULL;
}

int tls_load(const char *cert_path, const char *key_path, struct tls_pem *out, char *err,
             size_t errlen)
{
	out->cert = out->key = NULL;
	int rc = tls_check_paths(cert_path, key_path, err, errlen);
	if (rc < 0 || !cert_path || !*cert_path)
		return rc;
	if ((rc = read_pem(cert_path, "tls_cert", &out->cert, false, err, errlen)) < 0)
		return rc;
	if (!strstr(out->cert, "-----BEGIN CERTIFICATE-----")) {
		snprintf(err, errlen,
		         "tls_cert %s: no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
		         cert_path);
		tls_free(out);
		return -EINVAL;
	}
	if (strstr(out->cert, "PRIVATE KEY-----")) {
		snprintf(
		    err, errlen,
		    "tls_cert %s: holds a private key too; keep the key in its own file (tls_key), "
		    "the certificate is not secret",
		    cert_path);
		tls_free(out);
		return -EINVAL;
	}
	if ((rc = read_pem(key_path, "tls_key", &out->key, true, err, errlen)) < 0) {
		tls_free(out);
		return rc;
	}
	if (!strstr(out->key, "PRIVATE KEY-----")) {
		snprintf(err, errlen,
		         "tls_key %s: no PEM private key (-----BEGIN ... PRIVATE KEY-----) in it",
		         key_path);
		tls_free(out);
		return -EINVAL;
	}
	return 0;
}
