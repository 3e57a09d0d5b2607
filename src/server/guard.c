/*
 * guard.c - caps on the connections a server holds, evicting the one that
 * has waited longest for its request (see guard.h).
 *
 * Each connection is in one of four places: the fresh list (no request
 * answered yet, waiting for its first: oldest first, the first to evict),
 * the idle list (kept alive after a request, waiting for the next: idle
 * longest first, evicted only when no fresh one can be), the busy list,
 * or nowhere once the guard has shut it down (it is then no longer
 * counted, and only waits for guard_close()).  A slow client never gets a
 * request answered, so it is always fresh; a keep-alive client such as a
 * load generator is idle between its requests and is left alone.  Counting the connections of an
 * address walks both lists: at most a few hundred entries, once per new connection.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../util/log.h"
#include "guard.h"

enum where { NOWHERE, FRESH, IDLE, BUSY };

struct guard_conn {
	struct guard_conn *prev, *next;
	enum where where;
	bool linger; /* answered before its body was read (guard_mark_linger) */
	int fd;
	int family;
	unsigned char addr[16]; /* IPv4 or IPv6 address; zero for others */
};

int guard_init(struct guard *g, int total, int per_addr)
{
	memset(g, 0, sizeof(*g));
	g->total = total;
	g->per_addr = per_addr;
	atomic_init(&g->evicted, 0);
	return pthread_mutex_init(&g->lock, NULL) == 0 ? 0 : -ENOMEM;
}

void guard_destroy(struct guard *g)
{
	pthread_mutex_destroy(&g->lock);
}

static struct guard_list *list_of(struct guard *g, enum where w)
{
	return w == FRESH ? &g->fresh : w == IDLE ? &g->idle : &g->busy;
}

static void unlink_conn(struct guard *g, struct guard_conn *c)
{
	if (c->where == NOWHERE)
		return;
	struct guard_list *l = list_of(g, c->where);
	if (c->prev)
		c->prev->next = c->next;
	else
		l->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		l->tail = c->prev;
	c->prev = c->next = NULL;
	c->where = NOWHERE;
}

static void push(struct guard *g, struct guard_conn *c, enum where w)
{
	struct guard_list *l = list_of(g, w);
	c->prev = l->tail;
	c->next = NULL;
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	c->where = w;
}

static bool same_addr(const struct guard_conn *a, const struct guard_conn *b)
{
	return a->family == b->family && memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

static void evict(struct guard *g, struct guard_conn *c, const char *why)
{
	unlink_conn(g, c);
	g->live--;
	atomic_fetch_add_explicit(&g->evicted, 1, memory_order_relaxed);
	shutdown(c->fd, SHUT_RDWR);
	log_debug("http: closed a connection waiting for its request (%s)", why);
}

/* The first connection of list l, other than `not`, of the address of
 * `like` (any address when like is NULL). */
static struct guard_conn *first(struct guard_list *l, const struct guard_conn *like,
                                const struct guard_conn * not )
{
	for (struct guard_conn *p = l->head; p; p = p->next)
		if (p != not &&(!like || same_addr(p, like)))
			return p;
	return NULL;
}

/* Whom to shut down: the oldest connection that never had a request
 * answered, else the one idle longest, else the newcomer. */
static struct guard_conn *victim(struct guard *g, struct guard_conn *c, bool same)
{
	const struct guard_conn *like = same ? c : NULL;
	struct guard_conn *v = first(&g->fresh, like, c);
	if (!v)
		v = first(&g->idle, like, NULL);
	return v ? v : c;
}

struct guard_conn *guard_open(struct guard *g, int fd, const struct sockaddr *peer,
                              socklen_t peerlen)
{
	struct guard_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->fd = fd;
	c->family = peer && peerlen >= sizeof(sa_family_t) ? peer->sa_family : AF_UNSPEC;
	if (c->family == AF_INET && peerlen >= sizeof(struct sockaddr_in))
		memcpy(c->addr, &((const struct sockaddr_in *)peer)->sin_addr, 4);
	else if (c->family == AF_INET6 && peerlen >= sizeof(struct sockaddr_in6))
		memcpy(c->addr, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16);

	pthread_mutex_lock(&g->lock);
	push(g, c, FRESH);
	g->live++;
	int mine = 0;
	for (enum where w = FRESH; w <= BUSY; w++)
		for (struct guard_conn *p = list_of(g, w)->head; p; p = p->next)
			mine += same_addr(p, c);
	if (mine > g->per_addr)
		evict(g, victim(g, c, true), "too many from its address");
	else if (g->live > g->total)
		evict(g, victim(g, c, false), "too many connections");
	pthread_mutex_unlock(&g->lock);
	return c;
}

void guard_busy(struct guard *g, struct guard_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	if (c->where == FRESH || c->where == IDLE) {
		unlink_conn(g, c);
		push(g, c, BUSY);
	}
	pthread_mutex_unlock(&g->lock);
}

void guard_wait(struct guard *g, struct guard_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	if (c->where == BUSY) {
		unlink_conn(g, c);
		push(g, c, IDLE);
	}
	pthread_mutex_unlock(&g->lock);
}

void guard_mark_linger(struct guard *g, struct guard_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	c->linger = true;
	pthread_mutex_unlock(&g->lock);
}

bool guard_close(struct guard *g, struct guard_conn *c)
{
	if (!c)
		return false;
	pthread_mutex_lock(&g->lock);
	if (c->where != NOWHERE) {
		unlink_conn(g, c);
		g->live--;
	}
	bool linger = c->linger;
	pthread_mutex_unlock(&g->lock);
	free(c);
	return linger;
}
