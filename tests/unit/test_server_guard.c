/*
 * Unit tests: the connection guard (src/server/guard.c), on socket pairs
 * standing for connections: past the cap of an address, its connection
 * that has waited longest is shut down (its peer reads end of file), not
 * another address's nor a busy one; past the total cap the oldest waiting
 * one of all; one that never had a request answered before one idle
 * after a request; with none waiting, the new one itself.
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
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/guard.h"

#define N 16

struct conn {
	int server, client; /* the guard watches `server`; `client` sees the shutdown */
	struct guard_conn *g;
};

static struct sockaddr_in addr(int last)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(1000)};
	a.sin_addr.s_addr = htonl(0x0a000000u | (unsigned)last);
	return a;
}

static void open_conn(struct guard *g, struct conn *c, int last)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	c->server = sv[0];
	c->client = sv[1];
	struct sockaddr_in a = addr(last);
	a.sin_port = htons((uint16_t)(1000 + c->server)); /* ports do not matter */
	c->g = guard_open(g, c->server, (struct sockaddr *)&a, sizeof(a));
	assert_non_null(c->g);
}

/* Was the server side of c shut down: does its client read end of file? */
static int cut(const struct conn *c)
{
	struct pollfd p = {.fd = c->client, .events = POLLIN};
	if (poll(&p, 1, 0) != 1)
		return 0;
	char b;
	return recv(c->client, &b, 1, MSG_DONTWAIT) == 0;
}

static void close_conn(struct guard *g, struct conn *c)
{
	guard_close(g, c->g);
	close(c->server);
	close(c->client);
}

static void test_per_address(void **state)
{
	struct guard g;
	assert_int_equal(guard_init(&g, 100, 3), 0);
	struct conn c[N];
	open_conn(&g, &c[0], 1);
	open_conn(&g, &c[1], 1);
	guard_busy(&g, c[1].g);  /* its request is being answered */
	open_conn(&g, &c[2], 2); /* another address */
	open_conn(&g, &c[3], 1);
	for (int i = 0; i < 4; i++)
		assert_false(cut(&c[i]));
	open_conn(&g, &c[4], 1); /* the 4th of address 1: its oldest waiting goes */
	assert_true(cut(&c[0]));
	assert_false(cut(&c[1]));
	assert_false(cut(&c[2]));
	assert_false(cut(&c[3]));
	assert_false(cut(&c[4]));
	assert_int_equal(g.live, 4);
	assert_int_equal(atomic_load(&g.evicted), 1);
	/* every other one of address 1 busy: the newcomer itself goes */
	guard_busy(&g, c[3].g);
	guard_busy(&g, c[4].g);
	open_conn(&g, &c[5], 1);
	assert_true(cut(&c[5]));
	assert_false(cut(&c[1]));
	assert_false(cut(&c[3]));
	assert_false(cut(&c[4]));
	/* a request answered: waiting again, so the next to go */
	guard_wait(&g, c[3].g);
	open_conn(&g, &c[6], 1);
	assert_true(cut(&c[3]));
	assert_false(cut(&c[6]));
	/* one that never had a request answered goes before an idle one */
	guard_wait(&g, c[4].g);
	open_conn(&g, &c[7], 1);
	assert_true(cut(&c[6]));
	assert_false(cut(&c[4]));
	assert_false(cut(&c[7]));
	for (int i = 0; i <= 7; i++)
		close_conn(&g, &c[i]);
	assert_int_equal(g.live, 0);
	guard_destroy(&g);
}

static void test_total(void **state)
{
	struct guard g;
	assert_int_equal(guard_init(&g, 4, 100), 0);
	struct conn c[N];
	for (int i = 0; i < 4; i++)
		open_conn(&g, &c[i], 10 + i);
	guard_busy(&g, c[0].g);
	open_conn(&g, &c[4], 20); /* 5 > 4: the oldest waiting of all (c[1]) */
	assert_false(cut(&c[0]));
	assert_true(cut(&c[1]));
	for (int i = 2; i <= 4; i++)
		assert_false(cut(&c[i]));
	/* a closed one frees its slot: no eviction */
	close_conn(&g, &c[2]);
	open_conn(&g, &c[2], 30);
	assert_false(cut(&c[3]));
	assert_false(cut(&c[2]));
	assert_int_equal(g.live, 4);
	/* NULL (not tracked) is accepted everywhere */
	guard_busy(&g, NULL);
	guard_wait(&g, NULL);
	guard_close(&g, NULL);
	for (int i = 0; i <= 4; i++)
		close_conn(&g, &c[i]);
	assert_int_equal(g.live, 0);
	guard_destroy(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_per_address),
	    cmocka_unit_test(test_total),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
