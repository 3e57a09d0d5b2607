/*
 * guard.h - the connections a server holds, capped in total and per
 * client address, so that clients which open connections and then send
 * their request slowly (slowloris) cannot take every slot.
 *
 * A connection is "waiting" from its start until its request headers are
 * complete, and again from the end of each request until the next one's
 * headers are complete (keep-alive); otherwise it is busy (a request is
 * being answered).  When a new connection passes a cap, a waiting one is
 * shut down (shutdown(2): its owner sees end of file and closes it): of
 * the same address when that address holds more than `per_addr`, else of
 * any when the server holds more than `total`; the oldest that never had
 * a request answered, else the one idle longest after a request.  When
 * none is waiting, the new connection itself is shut down.  So a client whose request arrives
 * at once is always served, whatever the number of slow ones, from its
 * address or any other; busy connections are never cut.
 *
 * Thread-safe (one mutex).  The owner must call guard_close() before it
 * closes the descriptor, so a shutdown never reaches a reused one.
 */
#ifndef VANTAGE_SERVER_GUARD_H
#define VANTAGE_SERVER_GUARD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct guard_conn;

struct guard_list {
	struct guard_conn *head, *tail; /* oldest first */
};

struct guard {
	pthread_mutex_t lock;
	struct guard_list fresh; /* waiting for their first request */
	struct guard_list idle;  /* waiting for their next request */
	struct guard_list busy;
	int live; /* connections counted: not shut down by the guard */
	int total, per_addr;
	atomic_uint_fast64_t evicted; /* connections the guard shut down */
};

/* 0, or -ENOMEM. */
int guard_init(struct guard *g, int total, int per_addr);
void guard_destroy(struct guard *g);

/* A connection on fd from peer has started (waiting for its request);
 * shuts one down if a cap is passed (see above).  NULL when out of memory:
 * the connection is then not tracked (the calls below accept NULL). */
struct guard_conn *guard_open(struct guard *g, int fd, const struct sockaddr *peer,
                              socklen_t peerlen);
/* Its request headers are complete: busy, never shut down. */
void guard_busy(struct guard *g, struct guard_conn *c);
/* Its request is answered: waiting for the next one. */
void guard_wait(struct guard *g, struct guard_conn *c);
/* Its request was answered before its body was read: its close should
 * linger (linger.h). */
void guard_mark_linger(struct guard *g, struct guard_conn *c);
/* It is about to be closed: forget it.  True when it was marked to linger. */
bool guard_close(struct guard *g, struct guard_conn *c);

#endif
