/*
 * Unit tests: the QMP client.
 *
 *   - qmp_parse_msg() on real QEMU lines (greeting, return, error, event)
 *     and on malformed, truncated and hostile ones;
 *   - the client against a scripted fake QEMU on a unix socket in a
 *     thread: events and stale replies interleaved with the reply, a reply
 *     written byte by byte, QMP errors, no greeting, a connection closed in
 *     the middle of a line, a line longer than QMP_LINE_MAX, a peer that
 *     never answers, a missing socket and a path too long for sockaddr_un.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "under_valgrind.h"

#include "vmi/qmp.h"

#define GREETING                                                                                   \
	"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 1, \"minor\": 2, \"major\": 7}, "          \
	"\"package\": \"Debian 1:7.2+dfsg-7\"}, \"capabilities\": [\"oob\"]}}\r\n"

static int parse(const char *s, struct qmp_msg *m)
{
	size_t n = strlen(s);
	char *p = malloc(n ? n : 1); /* exact size: a read past the end is caught */
	assert_non_null(p);
	memcpy(p, s, n);
	int r = qmp_parse_msg(p, n, m);
	free(p);
	return r;
}

static void parse_good(void **state)
{
	struct qmp_msg m;

	assert_int_equal(parse(GREETING, &m), 0);
	assert_int_equal(m.kind, QMP_MSG_GREETING);
	assert_string_equal(m.version, "7.2.1");
	qmp_msg_free(&m);

	assert_int_equal(parse("{\"return\": {}, \"id\": 7}\r\n", &m), 0);
	assert_int_equal(m.kind, QMP_MSG_RETURN);
	assert_int_equal(m.id, 7);
	assert_string_equal(m.ret_json, "{}");
	qmp_msg_free(&m);

	assert_int_equal(
	    parse(
	        "{\"return\": {\"status\": \"paused\", \"singlestep\": false, \"running\": false}}",
	        &m),
	    0);
	assert_int_equal(m.id, -1);
	assert_non_null(strstr(m.ret_json, "\"status\":\"paused\""));
	qmp_msg_free(&m);

	assert_int_equal(parse("{\"return\": 42, \"id\": 1}", &m), 0); /* a scalar return */
	assert_string_equal(m.ret_json, "42");
	qmp_msg_free(&m);

	assert_int_equal(parse("{\"id\": 3, \"error\": {\"class\": \"CommandNotFound\", \"desc\": "
	                       "\"The command bogus has not been found\"}}",
	                       &m),
	                 0);
	assert_int_equal(m.kind, QMP_MSG_ERROR);
	assert_int_equal(m.id, 3);
	assert_string_equal(m.err_class, "CommandNotFound");
	assert_string_equal(m.err_desc, "The command bogus has not been found");
	qmp_msg_free(&m);

	assert_int_equal(parse("{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": "
	                       "\"STOP\"}",
	                       &m),
	                 0);
	assert_int_equal(m.kind, QMP_MSG_EVENT);
	assert_string_equal(m.event, "STOP");
	qmp_msg_free(&m);

	/* a greeting without a version is still a greeting */
	assert_int_equal(parse("{\"QMP\": {}}", &m), 0);
	assert_int_equal(m.kind, QMP_MSG_GREETING);
	assert_string_equal(m.version, "");
	qmp_msg_free(&m);

	/* an id that is not an integer is no id */
	assert_int_equal(parse("{\"return\": {}, \"id\": \"7\"}", &m), 0);
	assert_int_equal(m.id, -1);
	qmp_msg_free(&m);

	assert_int_equal(qmp_class_errno("CommandNotFound"), -ENOSYS);
	assert_int_equal(qmp_class_errno("DeviceNotFound"), -ENODEV);
	assert_int_equal(qmp_class_errno("GenericError"), -EIO);
	assert_int_equal(qmp_class_errno(""), -EIO);
}

static void parse_bad(void **state)
{
	static const char *const bad[] = {
	    "",
	    "\r\n",
	    "null",
	    "[]",
	    "[{\"return\": {}}]",
	    "\"return\"",
	    "{}",
	    "{\"id\": 1}",
	    "{\"QMP\": 1}",
	    "{\"error\": \"oops\"}",
	    "{\"error\": {}}",
	    "{\"error\": {\"class\": 5, \"desc\": \"x\"}}",
	    "{\"event\": 5}",
	    "{\"return\": {}",                   /* truncated */
	    "{\"return\": {\"status\": \"pau",   /* truncated */
	    "{\"return\": {}} {\"return\": {}}", /* two objects on a line */
	    "{\"return\": {}, \"return\": 1}",   /* duplicate key */
	    "{\"return\": \xff\xfe}",            /* not UTF-8 */
	    "{'return': {}}",
	};
	struct qmp_msg m;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &m) != -EPROTO)
			fail_msg("accepted: %s", bad[i]);
		assert_null(m.ret_json);
	}
	/* an embedded NUL byte */
	assert_int_equal(qmp_parse_msg("{\"return\": \"a\0b\"}", 17, &m), -EPROTO);
	assert_int_equal(qmp_parse_msg(NULL, 0, &m), -EPROTO);
	/* control characters in strings come back as '?', long ones cut */
	char big[1024];
	snprintf(big, sizeof(big),
	         "{\"error\": {\"class\": \"Generic\\u001b[31mError\", \"desc\": \"%0600d\"}}", 0);
	assert_int_equal(parse(big, &m), 0);
	assert_string_equal(m.err_class, "Generic?[31mError");
	assert_int_equal(strlen(m.err_desc), sizeof(m.err_desc) - 1);
	qmp_msg_free(&m);
}

/* ---- a scripted fake QEMU ------------------------------------------------ */

struct fake {
	char dir[64], path[128];
	int lfd;
	pthread_t th;
	const char *greeting;     /* sent on accept (may be NULL) */
	const char *const *reply; /* one per request line; "%d" is the request's id;
	                           * NULL ends the script: then the connection is closed,
	                           * or kept silent until the client leaves when hang */
	int hang;
	int byte_by_byte;
	size_t flood; /* when > 0: send this many 'x' with no newline after the greeting */
	char last_request[512];
};

static void send_str(int fd, const char *s, int slow)
{
	size_t n = strlen(s);
	if (!slow) {
		if (send(fd, s, n, MSG_NOSIGNAL) < 0)
			return;
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (send(fd, s + i, 1, MSG_NOSIGNAL) < 0)
			return;
}

/* Read one request line; returns its "id" or -1 (0 on EOF). */
static int read_request(int fd, struct fake *f, int *eof)
{
	size_t n = 0;
	char c;
	*eof = 0;
	while (n + 1 < sizeof(f->last_request)) {
		ssize_t r = read(fd, &c, 1);
		if (r <= 0) {
			*eof = 1;
			break;
		}
		if (c == '\n')
			break;
		f->last_request[n++] = c;
	}
	f->last_request[n] = 0;
	const char *p = strstr(f->last_request, "\"id\":");
	return p ? atoi(p + 5) : -1;
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->lfd, NULL, NULL), eof;
	char line[2048];
	if (fd < 0)
		return NULL;
	if (f->greeting)
		send_str(fd, f->greeting, f->byte_by_byte);
	if (f->flood) {
		char *x = malloc(f->flood);
		memset(x, 'x', f->flood);
		size_t off = 0;
		while (off < f->flood) {
			ssize_t w = send(fd, x + off, f->flood - off, MSG_NOSIGNAL);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		free(x);
	}
	for (int i = 0; f->reply && f->reply[i]; i++) {
		int id = read_request(fd, f, &eof);
		if (eof)
			break;
		snprintf(line, sizeof(line), f->reply[i], id);
		send_str(fd, line, f->byte_by_byte);
	}
	if (f->hang) /* silent until the client goes away */
		while (read(fd, line, sizeof(line)) > 0)
			;
	close(fd);
	return NULL;
}

static void fake_start(struct fake *f)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(f->dir, "/tmp/vantage-qmp.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/qmp.sock", f->dir);
	strcpy(sa.sun_path, f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
	unlink(f->path);
	rmdir(f->dir);
}

#define CAPS_OK "{\"return\": {}, \"id\": %d}\r\n"

static void client_good(void **state)
{
	static const char *const script[] = {
	    CAPS_OK,
	    /* an event, a stale reply and then ours */
	    "{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, \"event\": \"STOP\"}\r\n"
	    "{\"return\": {\"status\": \"running\"}, \"id\": 999}\r\n"
	    "{\"return\": {}, \"id\": %d}\r\n",
	    "{\"return\": {\"status\": \"paused\", \"singlestep\": false, \"running\": false}, "
	    "\"id\": %d}\r\n",
	    "{\"id\": %d, \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command "
	    "bogus "
	    "has not been found\"}}\r\n",
	    "{\"return\": [1, 2], \"id\": %d}\r\n",
	    NULL,
	};
	for (int slow = 0; slow <= 1; slow++) {
		struct fake f = {.greeting = GREETING, .reply = script, .byte_by_byte = slow};
		struct qmp *q;
		char status[32], *ret;
		fake_start(&f);
		assert_int_equal(qmp_open(f.path, 5000, &q), 0);
		assert_int_equal(qmp_command(q, "stop", NULL, &ret), 0);
		assert_string_equal(ret, "{}");
		free(ret);
		assert_non_null(strstr(f.last_request, "\"execute\":\"stop\""));
		assert_int_equal(qmp_status(q, status, sizeof(status)), 0);
		assert_string_equal(status, "paused");
		assert_int_equal(qmp_command(q, "bogus", NULL, &ret), -ENOSYS);
		assert_null(ret);
		assert_non_null(strstr(qmp_error(q), "CommandNotFound"));
		/* the connection survives a QMP error */
		assert_int_equal(qmp_command(q, "x-list", "{\"a\": \"b\\\"c\"}", &ret), 0);
		assert_string_equal(ret, "[1,2]");
		free(ret);
		assert_non_null(strstr(f.last_request, "\"arguments\":{\"a\":\"b\\\"c\"}"));
		/* bad arguments never reach QEMU */
		assert_int_equal(qmp_command(q, "stop", "[1]", NULL), -EINVAL);
		assert_int_equal(qmp_command(q, "stop", "{", NULL), -EINVAL);
		qmp_close(q);
		fake_stop(&f);
	}
}

static void client_bad(void **state)
{
	struct qmp *q = (void *)1;
	static const char *const caps_only[] = {CAPS_OK, NULL};
	static const char *const truncated[] = {CAPS_OK, "{\"return\": {\"sta", NULL};
	static const char *const not_qmp[] = {CAPS_OK, "HTTP/1.1 400 Bad Request\r\n", NULL};
	static const char *const caps_err[] = {
	    "{\"id\": %d, \"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}}\r\n", NULL};
	struct fake f;

	/* no socket, and a path too long for sockaddr_un */
	assert_int_equal(qmp_open("/nonexistent/qmp.sock", 1000, &q), -ENOENT);
	assert_null(q);
	char lp[300];
	memset(lp, 'a', sizeof(lp) - 1);
	lp[0] = '/', lp[sizeof(lp) - 1] = 0;
	assert_int_equal(qmp_open(lp, 1000, &q), -ENAMETOOLONG);

	/* something that is not QMP greets us */
	f = (struct fake){.greeting = "SSH-2.0-OpenSSH\r\n"};
	fake_start(&f);
	assert_int_equal(qmp_open(f.path, 2000, &q), -EPROTO);
	fake_stop(&f);

	/* a reply first instead of a greeting */
	f = (struct fake){.greeting = "{\"return\": {}}\r\n"};
	fake_start(&f);
	assert_int_equal(qmp_open(f.path, 2000, &q), -EPROTO);
	fake_stop(&f);

	/* closed before the greeting ends */
	f = (struct fake){.greeting = "{\"QMP\": {\"vers"};
	fake_start(&f);
	assert_int_equal(qmp_open(f.path, 2000, &q), -ECONNRESET);
	fake_stop(&f);

	/* qmp_capabilities refused */
	f = (struct fake){.greeting = GREETING, .reply = caps_err};
	fake_start(&f);
	assert_int_equal(qmp_open(f.path, 2000, &q), -EIO);
	fake_stop(&f);

	/* a reply cut in the middle, then the connection is unusable */
	f = (struct fake){.greeting = GREETING, .reply = truncated};
	fake_start(&f);
	assert_int_equal(qmp_open(f.path, 2000, &q), 0);
	assert_int_equal(qmp_command(q, "stop", NULL, NULL), -ECONNRESET);
	assert_non_null(strstr(qmp_error(q), "closed"));
	assert_int_equal(qmp_command(q, "cont", NULL, NULL), -ENOTCONN);
	qmp_close(q);
	fake_stop(&f);

	/* a line that is not JSON */
	f = (struct fake){.greeting = GREETING, .reply = not_qmp};
	fake_start(&f);
	assert_int_equal(qmp_open(f.path, 2000, &q), 0);
	assert_int_equal(qmp_command(q, "stop", NULL, NULL), -EPROTO);
	qmp_close(q);
	fake_stop(&f);

	/* no reply at all: the wait is bounded */
	f = (struct fake){.greeting = GREETING, .reply = caps_only, .hang = 1};
	fake_start(&f);
	/* 300 ms, 3 s under valgrind (the greeting alone may take longer) */
	assert_int_equal(qmp_open(f.path, RUNNING_ON_VALGRIND ? 3000 : 300, &q), 0);
	assert_int_equal(qmp_status(q, (char[16]){0}, 16), -ETIMEDOUT);
	assert_non_null(strstr(qmp_error(q), "in time"));
	qmp_close(q);
	fake_stop(&f);

	/* an endless line */
	f = (struct fake){.greeting = GREETING, .flood = QMP_LINE_MAX + 4096, .hang = 1};
	fake_start(&f);
	assert_int_equal(qmp_open(f.path, 5000, &q), -EMSGSIZE);
	fake_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_good),
	    cmocka_unit_test(parse_bad),
	    cmocka_unit_test(client_good),
	    cmocka_unit_test(client_bad),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
