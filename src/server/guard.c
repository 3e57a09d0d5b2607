/*
 * guard.c - caps on the connections a server holds, evicting the one that
 * has waited longest for its request (see guard.h).
 *
 * Each connection is in one of three places: the waiting list (oldest
 * first, so the head is the first to evict), the busy list, or nowhere
 * once the guard has shut it down (it is then no longer counted, and only
 * waits for guard_close()).  Counting the connections of an address walks
 * both lists: at most a few hundred entries, once per new connection.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../util/log.h"
#include "guard.h"

enum where { NOWHERE, WAITING, BUSY };

struct guard_conn {
	struct guard_conn *prev, *next;
	enum where where;
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

static void unlink_conn(struct guard *g, struct guard_conn *c)
{
	if (c->where == NOWHERE)
		return;
	struct guard_conn **head = c->where == WAITING ? &g->waiting : &g->busy;
	if (c->prev)
		c->prev->next = c->next;
	else
		*head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else if (c->where == WAITING)
		g->waiting_tail = c->prev;
	c->prev = c->next = NULL;
	c->where = NOWHERE;
}

static void push_waiting(struct guard *g, struct guard_conn *c)
{
	c->prev = g->waiting_tail;
	c->next = NULL;
	if (g->waiting_tail)
		g->waiting_tail->next = c;
	else
		g->waiting = c;
	g->waiting_tail = c;
	c->where = WAITING;
}

static void push_busy(struct guard *g, struct guard_conn *c)
{
	c->prev = NULL;
	c->next = g->busy;
	if (g->busy)
		g->busy->prev = c;
	g->busy = c;
	c->where = BUSY;
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
	log_debug("http: closed a connection still waiting for its request (%s)", why);
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
	push_waiting(g, c);
	g->live++;
	int mine = 0;
	struct guard_conn *oldest_mine = NULL;
	for (struct guard_conn *p = g->waiting; p; p = p->next)
		if (same_addr(p, c) && mine++ == 0)
			oldest_mine = p;
	for (struct guard_conn *p = g->busy; p; p = p->next)
		mine += same_addr(p, c);
	if (mine > g->per_addr)
		evict(g, oldest_mine, "too many from its address");
	else if (g->live > g->total)
		evict(g, g->waiting, "too many connections");
	pthread_mutex_unlock(&g->lock);
	return c;
}

void guard_busy(struct guard *g, struct guard_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	if (c->where == WAITING) {
		unlink_conn(g, c);
		push_busy(g, c);
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
		push_waiting(g, c);
	}
	pthread_mutex_unlock(&g->lock);
}

void guard_close(struct guard *g, struct guard_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&g->lock);
	if (c->where != NOWHERE) {
		unlink_conn(g, c);
		g->live--;
	}
	pthread_mutex_unlock(&g->lock);
	free(c);
}
