/*
 * qmp.c - QMP client: one non-blocking unix socket, a bounded line buffer,
 * jansson for the JSON.
 *
 * QEMU writes one JSON object per line ("\r\n"-terminated).  The receive
 * buffer grows up to QMP_LINE_MAX; a line is cut out at its '\n', parsed
 * by qmp_parse_msg() and consumed.  Waiting for a reply means reading
 * lines until the one whose "id" is ours, skipping events and stale
 * replies, all before one deadline taken from CLOCK_MONOTONIC.  A failure
 * of the transport or protocol closes the socket: the stream position is
 * unknown after it, so nothing later could be trusted.
 */
#include "qmp.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../util/util.h"

struct qmp {
	int fd;
	int timeout_ms;
	int64_t next_id;
	char *buf;
	size_t len, cap;
	char err[384];
};

/* ---- parsing ------------------------------------------------------------ */

/* Copy a JSON string (or "" when `v` is not one) with control characters
 * shown as '?'. */
static void copy_json_str(char *dst, size_t cap, const json_t *v)
{
	const char *s = json_is_string(v) ? json_string_value(v) : "";
	size_t n = json_is_string(v) ? json_string_length(v) : 0;
	copy_str(dst, cap, s, n);
	for (; *dst; dst++)
		if ((unsigned char)*dst < 0x20 || *dst == 0x7f)
			*dst = '?';
}

static void parse_greeting(const json_t *qmp, struct qmp_msg *m)
{
	const json_t *q = json_object_get(json_object_get(qmp, "version"), "qemu");
	const json_t *a = json_object_get(q, "major"), *b = json_object_get(q, "minor"),
	             *c = json_object_get(q, "micro");
	if (json_is_integer(a) && json_is_integer(b) && json_is_integer(c))
		snprintf(m->version, sizeof(m->version), "%lld.%lld.%lld",
		         (long long)json_integer_value(a), (long long)json_integer_value(b),
		         (long long)json_integer_value(c));
}

int qmp_parse_msg(const char *buf, size_t len, struct qmp_msg *m)
{
	json_error_t jerr;
	json_t *o, *v;
	int r = 0;

	memset(m, 0, sizeof(*m));
	m->id = -1;
	if (!buf || len > QMP_LINE_MAX)
		return -EPROTO;
	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o)) {
		json_decref(o);
		return -EPROTO;
	}
	v = json_object_get(o, "id");
	if (json_is_integer(v))
		m->id = json_integer_value(v);
	if ((v = json_object_get(o, "QMP"))) {
		m->kind = QMP_MSG_GREETING;
		if (json_is_object(v))
			parse_greeting(v, m);
		else
			r = -EPROTO;
	} else if ((v = json_object_get(o, "return"))) {
		m->kind = QMP_MSG_RETURN;
		m->ret_json = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!m->ret_json)
			r = -EPROTO;
	} else if ((v = json_object_get(o, "error"))) {
		m->kind = QMP_MSG_ERROR;
		if (!json_is_object(v) || !json_is_string(json_object_get(v, "class")))
			r = -EPROTO;
		else {
			copy_json_str(m->err_class, sizeof(m->err_class),
			              json_object_get(v, "class"));
			copy_json_str(m->err_desc, sizeof(m->err_desc), json_object_get(v, "desc"));
		}
	} else if (json_is_string(v = json_object_get(o, "event"))) {
		m->kind = QMP_MSG_EVENT;
		copy_json_str(m->event, sizeof(m->event), v);
	} else {
		r = -EPROTO;
	}
	json_decref(o);
	if (r < 0)
		qmp_msg_free(m);
	return r;
}

void qmp_msg_free(struct qmp_msg *m)
{
	free(m->ret_json);
	m->ret_json = NULL;
}

int qmp_class_errno(const char *cls)
{
	if (!strcmp(cls, "CommandNotFound"))
		return -ENOSYS;
	if (!strcmp(cls, "DeviceNotFound") || !strcmp(cls, "DeviceNotActive"))
		return -ENODEV;
	return -EIO;
}

/* ---- transport ---------------------------------------------------------- */

static int64_t deadline_after(int ms)
{
	return mono_ns() + (int64_t)ms * 1000000;
}

/* Milliseconds left until `deadline` (0 when past), rounded up. */
static int ms_left(int64_t deadline)
{
	int64_t ns = deadline - mono_ns();
	return ns <= 0 ? 0 : (int)((ns + 999999) / 1000000);
}

/* Record a failure in words. */
static int fail(struct qmp *q, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct qmp *q, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(q->err, sizeof(q->err), fmt, ap);
	va_end(ap);
	return err;
}

static int wait_fd(struct qmp *q, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = {.fd = q->fd, .events = events};
		int n = poll(&p, 1, ms_left(deadline));
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static int send_all(struct qmp *q, const char *p, size_t n, int64_t deadline)
{
	while (n) {
		ssize_t w = send(q->fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w, n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN)
			return errno == EPIPE ? -ECONNRESET : -errno;
		int r = wait_fd(q, POLLOUT, deadline);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The next complete line into line and n (without "\r\n"); it stays in the
 * buffer until consume_line(). */
static int next_line(struct qmp *q, int64_t deadline, const char **line, size_t *n)
{
	for (;;) {
		char *nl = q->len ? memchr(q->buf, '\n', q->len) : NULL;
		if (nl) {
			*line = q->buf;
			*n = (size_t)(nl - q->buf);
			if (*n && q->buf[*n - 1] == '\r')
				(*n)--;
			return 0;
		}
		if (q->len >= QMP_LINE_MAX)
			return -EMSGSIZE;
		if (q->cap - q->len < 4096) {
			size_t cap = q->cap ? q->cap * 2 : 8192;
			if (cap > QMP_LINE_MAX + 1)
				cap = QMP_LINE_MAX + 1;
			char *b = realloc(q->buf, cap);
			if (!b)
				return -ENOMEM;
			q->buf = b, q->cap = cap;
		}
		ssize_t r = recv(q->fd, q->buf + q->len, q->cap - q->len, 0);
		if (r > 0) {
			q->len += (size_t)r;
			continue;
		}
		if (r == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		int w = wait_fd(q, POLLIN, deadline);
		if (w < 0)
			return w;
	}
}

static void consume_line(struct qmp *q)
{
	char *nl = memchr(q->buf, '\n', q->len);
	size_t used = (size_t)(nl - q->buf) + 1;
	memmove(q->buf, q->buf + used, q->len - used);
	q->len -= used;
}

/* A failure of the stream: say what happened and drop the connection
 * (where the next message starts is no longer known). */
static int transport_fail(struct qmp *q, int r, const char *what)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	switch (r) {
	case -ETIMEDOUT:
		return fail(q, r, "no reply from QEMU to %s in time", what);
	case -ECONNRESET:
		return fail(q, r, "QEMU closed the QMP connection during %s", what);
	case -EMSGSIZE:
		return fail(q, r, "a QMP message longer than the limit during %s", what);
	case -EPROTO:
		return fail(q, r, "a malformed QMP message during %s", what);
	default:
		return fail(q, r, "QMP I/O during %s: %s", what, strerror(-r));
	}
}

/* Read messages until the reply with `id` (or, for id < 0, the greeting). */
static int wait_reply(struct qmp *q, int64_t id, int64_t deadline, const char *what,
                      struct qmp_msg *m)
{
	for (;;) {
		const char *line = NULL;
		size_t n = 0;
		int r = next_line(q, deadline, &line, &n);
		if (r < 0)
			return transport_fail(q, r, what);
		r = qmp_parse_msg(line, n, m);
		consume_line(q);
		if (r < 0)
			return transport_fail(q, r, what);
		if (id < 0 && m->kind == QMP_MSG_GREETING)
			return 0;
		if (id < 0)
			return qmp_msg_free(m), transport_fail(q, -EPROTO, what);
		if ((m->kind == QMP_MSG_RETURN || m->kind == QMP_MSG_ERROR) && m->id == id)
			return 0;
		qmp_msg_free(m); /* an event, or a late reply to an earlier command */
	}
}

/* ---- commands ----------------------------------------------------------- */

static int build_request(const char *cmd, const char *args_json, int64_t id, char **out)
{
	json_t *req = json_object(), *args = NULL;
	if (!req)
		return -ENOMEM;
	if (args_json) {
		args = json_loads(args_json, 0, NULL);
		if (!json_is_object(args)) {
			json_decref(args);
			json_decref(req);
			return -EINVAL;
		}
	}
	json_object_set_new(req, "execute", json_string(cmd));
	if (args)
		json_object_set_new(req, "arguments", args);
	json_object_set_new(req, "id", json_integer(id));
	*out = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	return *out ? 0 : -ENOMEM;
}

int qmp_command(struct qmp *q, const char *cmd, const char *args_json, char **ret_json)
{
	struct qmp_msg m;
	char *req;
	int r;

	if (ret_json)
		*ret_json = NULL;
	if (!q || !cmd)
		return -EINVAL;
	if (q->fd < 0)
		return -ENOTCONN;
	q->err[0] = 0;
	int64_t id = q->next_id++, deadline = deadline_after(q->timeout_ms);
	r = build_request(cmd, args_json, id, &req);
	if (r < 0)
		return fail(q, r, "cannot build the QMP request %s", cmd);
	size_t n = strlen(req);
	r = send_all(q, req, n, deadline);
	if (!r)
		r = send_all(q, "\n", 1, deadline);
	free(req);
	if (r < 0)
		return transport_fail(q, r, cmd);
	r = wait_reply(q, id, deadline, cmd, &m);
	if (r < 0)
		return r;
	if (m.kind == QMP_MSG_ERROR) {
		snprintf(q->err, sizeof(q->err), "%s: %s", m.err_class, m.err_desc);
		r = qmp_class_errno(m.err_class);
	} else if (ret_json) {
		*ret_json = m.ret_json;
		m.ret_json = NULL;
	}
	qmp_msg_free(&m);
	return r;
}

int qmp_status(struct qmp *q, char *status, size_t cap)
{
	char *ret;
	json_t *o;
	int r = qmp_command(q, "query-status", NULL, &ret);
	if (r < 0)
		return r;
	o = json_loads(ret, 0, NULL);
	free(ret);
	if (!json_is_string(json_object_get(o, "status"))) {
		json_decref(o);
		snprintf(q->err, sizeof(q->err), "query-status reply has no status");
		return -EPROTO;
	}
	copy_json_str(status, cap, json_object_get(o, "status"));
	json_decref(o);
	return 0;
}

/* ---- connection --------------------------------------------------------- */

static int connect_unix(int fd, const char *path, int64_t deadline)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(path);
	if (n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, n);
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN && ms_left(deadline) > 0) { /* backlog full */
			struct timespec ts = {0, 10 * 1000000};
			nanosleep(&ts, NULL);
			continue;
		}
		if (errno == EINPROGRESS) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			int e = 0;
			socklen_t el = sizeof(e);
			if (poll(&p, 1, ms_left(deadline)) <= 0)
				return -ETIMEDOUT;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
				return -errno;
			return -e;
		}
		return errno == EAGAIN ? -ETIMEDOUT : -errno;
	}
}

int qmp_open(const char *path, int timeout_ms, struct qmp **out)
{
	struct qmp *q;
	struct qmp_msg m = {0}; /* set by wait_reply when it returns 0 */
	int r;

	*out = NULL;
	if (!path)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
	q->next_id = 1;
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (q->fd < 0) {
		r = -errno;
		free(q);
		return r;
	}
	int64_t deadline = deadline_after(q->timeout_ms);
	r = connect_unix(q->fd, path, deadline);
	if (!r)
		r = wait_reply(q, -1, deadline, "the greeting", &m);
	if (!r) {
		qmp_msg_free(&m);
		r = qmp_command(q, "qmp_capabilities", NULL, NULL);
	}
	if (r < 0) {
		qmp_close(q);
		return r;
	}
	*out = q;
	return 0;
}

const char *qmp_error(const struct qmp *q)
{
	return q ? q->err : "";
}

void qmp_close(struct qmp *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	free(q->buf);
	free(q);
}
