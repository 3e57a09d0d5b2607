/*
 * Unit tests: the lingering close (src/server/linger.c), on real TCP
 * connections over loopback, where a close with unread bytes sends a
 * reset.  A client sends a 2 MB body the server never reads; the server
 * writes its answer and closes:
 *   - closed at once, the client's writes fail (reset) before its body is
 *     out (what the lingerer is for: the test can fail);
 *   - lingering, every write succeeds and the client then reads the whole
 *     answer and the end of the stream;
 *   - past LINGER_MAX sockets, linger_add() refuses (and counts it);
 *   - a client that sends nothing more is let go within LINGER_MS;
 *   - linger_stop() closes what still lingers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "server/linger.h"

#define BODY (2 << 20)
#define ANSWER "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"

static int lsn = -1;

/* A connected pair over loopback: *client and *server. */
static void tcp_pair(int *client, int *server)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);

	if (lsn < 0) {
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		lsn = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(lsn >= 0);
		assert_int_equal(bind(lsn, (struct sockaddr *)&a, sizeof(a)), 0);
		assert_int_equal(listen(lsn, 128), 0);
	}
	assert_int_equal(getsockname(lsn, (struct sockaddr *)&a, &alen), 0);
	*client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(*client >= 0);
	assert_int_equal(connect(*client, (struct sockaddr *)&a, sizeof(a)), 0);
	*server = accept4(lsn, NULL, NULL, SOCK_CLOEXEC);
	assert_true(*server >= 0);
}

/* The client sends 64 KB, the server answers and lets go of its socket
 * (lingering or not); then the client sends the rest of BODY.  Returns 0
 * when all of it went, else the errno of the write that failed. */
static int refused_upload(struct linger_pool *l, bool linger, int *client)
{
	static char body[BODY];
	int server;
	size_t off = 0;

	tcp_pair(client, &server);
	assert_int_equal(send(*client, body, 65536, MSG_NOSIGNAL), 65536);
	off = 65536;
	/* the server has the first bytes unread when it answers */
	struct pollfd p = {.fd = server, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(send(server, ANSWER, strlen(ANSWER), MSG_NOSIGNAL),
	                 (ssize_t)strlen(ANSWER));
	if (linger)
		assert_true(linger_add(l, server));
	close(server);
	while (off < BODY) {
		ssize_t n = send(*client, body + off, BODY - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		off += (size_t)n;
	}
	return 0;
}

/* Everything the client can read until the end of the stream, at most
 * `cap` bytes; -errno on an error. */
static ssize_t read_all(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 5000) != 1)
			return -ETIMEDOUT;
		ssize_t n = recv(fd, buf + got, cap - got, 0);
		if (n < 0)
			return -errno;
		if (n == 0)
			return (ssize_t)got;
		got += (size_t)n;
		if (got == cap)
			return (ssize_t)got;
	}
}

static void closed_at_once_resets(void **state)
{
	int client;
	int e = refused_upload(NULL, false, &client);

	assert_true(e == ECONNRESET || e == EPIPE);
	close(client);
}

static void lingering_lets_the_body_go_and_the_answer_be_read(void **state)
{
	struct linger_pool l;
	char buf[512];
	int client;

	assert_int_equal(linger_start(&l), 0);
	for (int round = 0; round < 5; round++) {
		assert_int_equal(refused_upload(&l, true, &client), 0);
		ssize_t n = read_all(client, buf, sizeof(buf));
		assert_int_equal(n, (ssize_t)strlen(ANSWER));
		assert_memory_equal(buf, ANSWER, strlen(ANSWER));
		close(client);
	}
	assert_int_equal(atomic_load(&l.lingered), 5);
	linger_stop(&l);
}

static void a_full_pool_refuses(void **state)
{
	struct linger_pool l;
	int client[LINGER_MAX + 1], server;

	assert_int_equal(linger_start(&l), 0);
	for (int i = 0; i <= LINGER_MAX; i++) {
		tcp_pair(&client[i], &server);
		assert_int_equal(linger_add(&l, server), i < LINGER_MAX);
		close(server);
	}
	assert_int_equal(atomic_load(&l.refused), 1);
	assert_int_equal(atomic_load(&l.lingered), LINGER_MAX);
	/* stop: what lingers is closed, each client reads its end */
	linger_stop(&l);
	for (int i = 0; i <= LINGER_MAX; i++) {
		char c;
		assert_int_equal(read_all(client[i], &c, 1), 0);
		close(client[i]);
	}
}

static int lingering(struct linger_pool *l)
{
	pthread_mutex_lock(&l->lock);
	int n = l->n;
	pthread_mutex_unlock(&l->lock);
	return n;
}

static void a_silent_client_is_let_go(void **state)
{
	struct linger_pool l;
	int client, server;
	struct timespec t0, t1;

	assert_int_equal(linger_start(&l), 0);
	tcp_pair(&client, &server);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_true(linger_add(&l, server));
	close(server);
	assert_int_equal(lingering(&l), 1);
	/* it sees the end of the answer at once (the sending side is shut) */
	char c;
	assert_int_equal(read_all(client, &c, 1), 0);
	/* and its socket is closed once LINGER_MS have passed */
	do {
		usleep(20000);
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while (lingering(&l) && t1.tv_sec - t0.tv_sec < 10);
	assert_int_equal(lingering(&l), 0);
	/* a write now is refused by the peer: nothing holds it */
	assert_true(send(client, "x", 1, MSG_NOSIGNAL) == 1);
	usleep(50000);
	assert_true(send(client, "x", 1, MSG_NOSIGNAL) < 0);
	close(client);
	linger_stop(&l);
}

static void a_client_that_closes_ends_its_linger(void **state)
{
	struct linger_pool l;
	int client, server;

	assert_int_equal(linger_start(&l), 0);
	tcp_pair(&client, &server);
	assert_true(linger_add(&l, server));
	close(server);
	close(client);
	for (int i = 0; i < 250 && lingering(&l); i++)
		usleep(20000);
	assert_int_equal(lingering(&l), 0);
	linger_stop(&l);
}

static void stop_without_start(void **state)
{
	struct linger_pool l;

	memset(&l, 0, sizeof(l));
	assert_false(linger_add(&l, 0));
	linger_stop(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(closed_at_once_resets),
	    cmocka_unit_test(lingering_lets_the_body_go_and_the_answer_be_read),
	    cmocka_unit_test(a_full_pool_refuses),
	    cmocka_unit_test(a_silent_client_is_let_go),
	    cmocka_unit_test(a_client_that_closes_ends_its_linger),
	    cmocka_unit_test(stop_without_start),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	if (lsn >= 0)
		close(lsn);
	return r;
}
