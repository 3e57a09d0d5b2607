/*
 * procnet.c - the sockets of a network namespace from procfs (see
 * procnet.h): open <netdir>/<file> relative to the procfs fd, check it
 * is a regular file (never a FIFO that would block), stream it through a
 * linereader (a line longer than its buffer is dropped and counted, never
 * cut) and parse each line with linux/procnet_parse.c.
 */
#include "procnet.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../linux/linereader.h"
#include "../../linux/procnet_parse.h"

/* A tcp6 line is 178 bytes; room for much longer ones. */
#define PROCNET_LINE_MAX 4096

bool procnet_fallback(int err)
{
	return err == -ENOENT || err == -EOPNOTSUPP || err == -EPROTONOSUPPORT || err == -EPERM ||
	       err == -EACCES;
}

static const char *file_name(int family, int proto)
{
	if (proto == IPPROTO_UDP)
		return family == AF_INET6 ? "udp6" : "udp";
	return family == AF_INET6 ? "tcp6" : "tcp";
}

int procnet_sockets(int proc_fd, const char *netdir, int family, int proto,
                    const struct view_iter *it, int (*cb)(void *ctx, const struct sd_sock *s),
                    void *ctx)
{
	char path[128];
	struct linereader lr;
	struct stat st;
	const char *line;
	size_t len;
	uint64_t bad = 0, lineno = 0;
	int fd, r, stop = 0;

	if ((family != AF_INET && family != AF_INET6) ||
	    (proto != IPPROTO_TCP && proto != IPPROTO_UDP))
		return -EINVAL;
	if (snprintf(path, sizeof(path), "%s/%s", netdir, file_name(family, proto)) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT && family == AF_INET6 ? 0 : -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	r = lr_init(&lr, fd, PROCNET_LINE_MAX);
	if (r < 0)
		return r;
	while (!stop && (r = lr_next(&lr, &line, &len)) == 1) {
		struct procnet_sock ps;
		int p = procnet_parse_line(line, len, family, proto, &ps);

		lineno++;
		if (p == PROCNET_HEADER && lineno == 1)
			continue;
		if (p != 0) {
			bad++;
			continue;
		}
		stop = cb(ctx, &ps.s);
	}
	bad += lr.skipped;
	lr_close(&lr);
	if (stop)
		return stop;
	if (r < 0)
		return r;
	if (bad && it && it->error) {
		char what[192];

		snprintf(what, sizeof(what), "/proc/%s: %llu malformed line(s)", path,
		         (unsigned long long)bad);
		it->error(it->ctx, what, EBADMSG);
	}
	if (it && it->source)
		it->source(it->ctx, PROCNET_SOURCE);
	return 0;
}
