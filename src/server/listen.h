/*
 * listen.h - the server's listening socket: an address as text, and the
 * socket bound here (not by libmicrohttpd) so that a bind error comes
 * with its errno.  server_parse_listen() (server.h) reads the address.
 */
#ifndef VANTAGE_SERVER_LISTEN_H
#define VANTAGE_SERVER_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

/* "127.0.0.1:7070" or "[::1]:7070" into dst. */
void listen_format(const struct sockaddr_storage *ss, char *dst, size_t cap);
/* socket + bind + listen on ss (shown as `addr` in messages).  Returns
 * the socket, or a negative errno with a message in err. */
int listen_bind(const struct sockaddr_storage *ss, socklen_t len, const char *addr, char *err,
                size_t errlen);

#endif
