/*
 * linger.h - a lingering close for connections answered before their
 * request body was read.
 *
 * A request refused at its headers (401 without the token, 413 for a
 * Content-Length past the limit...) is answered at once and its
 * connection closed, its body never read.  Closing a TCP socket whose
 * receive queue holds unread bytes sends a reset, and a client still
 * sending its body then fails with "connection reset" on its next write
 * (curl reports no status at all) without reading the answer that was
 * waiting for it.  So, as HTTP servers do, such a socket is not closed at
 * once: the lingerer keeps a duplicate of its descriptor, shuts down its
 * sending side (the client sees the answer end), and reads and drops what
 * still comes until the client closes, LINGER_MS pass or LINGER_BYTES are
 * dropped, then closes it.  At most LINGER_MAX sockets linger at a time
 * (beyond them a socket is closed as before): a client that keeps sending
 * holds one slot for LINGER_MS at most.
 *
 * One thread (epoll).  linger_add() is thread-safe.
 */
#ifndef VANTAGE_SERVER_LINGER_H
#define VANTAGE_SERVER_LINGER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define LINGER_MAX 64
#define LINGER_MS 2000
#define LINGER_BYTES (16 << 20)

struct linger_slot {
	int fd;          /* our duplicate, -1: free */
	int64_t until;   /* monotonic ns */
	int64_t dropped; /* bytes read and dropped */
};

struct linger_pool {
	pthread_mutex_t lock;
	pthread_t thread;
	int epfd, wakefd; /* wakefd: an eventfd that stops the thread */
	bool running;
	atomic_bool stopping;
	int n;
	struct linger_slot slot[LINGER_MAX];
	atomic_uint_fast64_t lingered; /* sockets taken */
	atomic_uint_fast64_t refused;  /* closed at once: every slot taken */
};

/* Start the thread.  0, or -errno. */
int linger_start(struct linger_pool *l);
/* Stop it and close what still lingers.  Safe on a zeroed struct and
 * after a failed linger_start(). */
void linger_stop(struct linger_pool *l);
/* Linger on the connection of `fd`, which its owner is about to close:
 * true when taken (a duplicate is kept), false when not (no slot, not
 * running, or an error): the owner's close then ends it as before. */
bool linger_add(struct linger_pool *l, int fd);

#endif
