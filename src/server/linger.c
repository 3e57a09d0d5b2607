/*
 * linger.c - a lingering close for connections answered before their
 * request body was read (see linger.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "../util/util.h"
#include "linger.h"

#define WAKE_TAG UINT64_MAX

static void slot_close(struct linger_pool *l, struct linger_slot *s)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
	l->n--;
}

/* Read and drop what the client still sends; close at its end, on an
 * error or past the byte budget. */
static void drain(struct linger_pool *l, struct linger_slot *s)
{
	static char sink[65536]; /* only this thread reads into it */
	for (;;) {
		ssize_t n = recv(s->fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (n > 0) {
			s->dropped += n;
			if (s->dropped < LINGER_BYTES)
				continue;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return;
		}
		slot_close(l, s); /* the end, an error, or enough dropped */
		return;
	}
}

static void *run(void *arg)
{
	struct linger_pool *l = arg;
	struct epoll_event ev[16];
	for (;;) {
		int n = epoll_wait(l->epfd, ev, 16, 100);
		pthread_mutex_lock(&l->lock);
		bool stop = false;
		for (int i = 0; i < n; i++) {
			if (ev[i].data.u64 == WAKE_TAG) {
				stop = true;
				continue;
			}
			struct linger_slot *s = &l->slot[ev[i].data.u64];
			if (s->fd >= 0)
				drain(l, s);
		}
		int64_t now = mono_ns();
		for (int i = 0; i < LINGER_MAX; i++)
			if (l->slot[i].fd >= 0 && now >= l->slot[i].until)
				slot_close(l, &l->slot[i]);
		pthread_mutex_unlock(&l->lock);
		if (stop || atomic_load(&l->stopping))
			return NULL;
	}
}

int linger_start(struct linger_pool *l)
{
	memset(l, 0, sizeof(*l));
	l->epfd = l->wakefd = -1;
	for (int i = 0; i < LINGER_MAX; i++)
		l->slot[i].fd = -1;
	atomic_init(&l->lingered, 0);
	atomic_init(&l->refused, 0);
	atomic_init(&l->stopping, false);
	if (pthread_mutex_init(&l->lock, NULL) != 0)
		return -ENOMEM;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_TAG};
	int r = 0;
	if (l->epfd < 0 || l->wakefd < 0 || epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev) < 0)
		r = -errno;
	else if ((r = -pthread_create(&l->thread, NULL, run, l)) == 0)
		l->running = true;
	if (r < 0) {
		if (l->epfd >= 0)
			close(l->epfd);
		if (l->wakefd >= 0)
			close(l->wakefd);
		l->epfd = l->wakefd = -1;
		pthread_mutex_destroy(&l->lock);
	}
	return r;
}

void linger_stop(struct linger_pool *l)
{
	if (!l->running)
		return;
	uint64_t one = 1;
	atomic_store(&l->stopping, true);
	ssize_t w = write(l->wakefd, &one, sizeof(one));
	(void)w; /* failed, the thread still sees `stopping` within 0.1 s */
	pthread_join(l->thread, NULL);
	l->running = false;
	for (int i = 0; i < LINGER_MAX; i++)
		if (l->slot[i].fd >= 0)
			slot_close(l, &l->slot[i]);
	close(l->epfd);
	close(l->wakefd);
	l->epfd = l->wakefd = -1;
	pthread_mutex_destroy(&l->lock);
}

bool linger_add(struct linger_pool *l, int fd)
{
	if (!l->running || fd < 0)
		return false;
	pthread_mutex_lock(&l->lock);
	int i = 0;
	while (i < LINGER_MAX && l->slot[i].fd >= 0)
		i++;
	int dup = i < LINGER_MAX ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
	if (dup >= 0) {
		/* the answer is all written: the client sees it end */
		shutdown(dup, SHUT_WR);
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = (uint64_t)i};
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, dup, &ev) < 0) {
			close(dup);
			dup = -1;
		}
	}
	if (dup >= 0) {
		l->slot[i] = (struct linger_slot){
		    .fd = dup, .until = mono_ns() + (int64_t)LINGER_MS * 1000000};
		l->n++;
		atomic_fetch_add(&l->lingered, 1);
	} else {
		atomic_fetch_add(&l->refused, 1);
	}
	pthread_mutex_unlock(&l->lock);
	return dup >= 0;
}
