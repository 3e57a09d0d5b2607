/*
 * listen.c - the listen address of the server: parsed from text
 * ("127.0.0.1:7070", "[::1]:7070", ":7070", "7070", "localhost:7070"),
 * shown back as text, and bound.  "[::]" binds every address, IPv4
 * included; any other IPv6 address is IPv6 only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../util/util.h"
#include "listen.h"
#include "server.h"

static int parse_port(const char *s, unsigned *port)
{
	const char *p = s, *end = s + strlen(s);
	uint64_t v;
	if (!parse_u64(&p, end, &v) || p != end || v > 65535)
		return -EINVAL;
	*port = (unsigned)v;
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int server_parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *sslen,
                        bool *loopback, char *err, size_t errlen)
{
	char host[128];
	const char *portstr;
	if (!s || !*s)
		s = SERVER_DEFAULT_LISTEN;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close == s + 1 || (size_t)(close - s - 1) >= sizeof(host) ||
		    close[1] != ':') {
			snprintf(err, errlen,
			         "listen address '%s': expected [IPv6]:PORT, e.g. [::1]:7070", s);
			return -EINVAL;
		}
		copy_str(host, sizeof(host), s + 1, (size_t)(close - s - 1));
		portstr = close + 2;
	} else if (all_digits(s)) {
		copy_str(host, sizeof(host), "127.0.0.1", 9);
		portstr = s;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon) {
			snprintf(err, errlen,
			         "listen address '%s': expected HOST:PORT, e.g. 127.0.0.1:7070", s);
			return -EINVAL;
		}
		if (strchr(s, ':') != colon) {
			snprintf(
			    err, errlen,
			    "listen address '%s': put an IPv6 address in brackets, e.g. [::1]:7070",
			    s);
			return -EINVAL;
		}
		if ((size_t)(colon - s) >= sizeof(host)) {
			snprintf(err, errlen, "listen address '%s': host too long", s);
			return -EINVAL;
		}
		copy_str(host, sizeof(host), s, (size_t)(colon - s));
		portstr = colon + 1;
	}
	unsigned port;
	if (parse_port(portstr, &port) < 0) {
		snprintf(err, errlen, "listen address '%s': port '%s' is not a number 0-65535", s,
		         portstr);
		return -EINVAL;
	}
	if (host[0] == 0 || strcmp(host, "*") == 0)
		copy_str(host, sizeof(host), "0.0.0.0", 7);
	else if (strcasecmp(host, "localhost") == 0)
		copy_str(host, sizeof(host), "127.0.0.1", 9);

	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		*sslen = sizeof(*in4);
		*loopback = (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*sslen = sizeof(*in6);
		const uint8_t *a = in6->sin6_addr.s6_addr;
		*loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
		            (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && a[12] == 127);
		return 0;
	}
	snprintf(err, errlen,
	         "listen address '%s': '%s' is not an IP address (only 'localhost' is resolved)", s,
	         host);
	return -EINVAL;
}

void listen_format(const struct sockaddr_storage *ss, char *dst, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(dst, cap, "[%s]:%u", ip, ntohs(in6->sin6_port));
	} else {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &in4->sin_addr, ip, sizeof(ip));
		snprintf(dst, cap, "%s:%u", ip, ntohs(in4->sin_port));
	}
}

/* socket + bind + listen, so that errors come with their errno. */
int listen_bind(const struct sockaddr_storage *ss, socklen_t len, const char *addr, char *err,
                size_t errlen)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "listen on %s: socket: %s", addr, strerror(e));
		return -e;
	}
	int one = 1, zero = 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6) {
		/* "[::]" means every address, IPv4 included */
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
		int v6only = IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr) ? 0 : 1;
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, v6only ? &one : &zero, sizeof(int));
	}
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		snprintf(err, errlen, "listen on %s: %s", addr, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}
