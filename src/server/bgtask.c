/*
 * bgtask.c - a build on the store run apart from the request that asked
 * for it (bgtask.h).
 */
#include <stdlib.h>
#include <string.h>

#include "../store/store.h"
#include "../util/log.h"
#include "bgtask.h"

struct run {
	struct bg_task *t;
	char *store_path;
	void (*fn)(struct store *, void *);
	void *arg;
	void (*free_arg)(void *);
};

static void *run_thread(void *p)
{
	struct run *r = p;
	struct store *st = NULL;
	int rc = store_open(r->store_path, STORE_RO, &st);
	if (rc == 0) {
		r->fn(st, r->arg);
		store_close(st);
	} else { /* the next request builds, and says what fails */
		log_debug("a background build could not open the store (%d)", rc);
	}
	if (r->free_arg)
		r->free_arg(r->arg);
	free(r->store_path);
	struct bg_task *t = r->t;
	free(r);
	pthread_mutex_lock(&t->lock);
	t->running = false;
	pthread_cond_broadcast(&t->done);
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

bool bg_task_start(struct bg_task *t, const char *store_path,
                   void (*fn)(struct store *st, void *arg), void *arg, void (*free_arg)(void *))
{
	pthread_mutex_lock(&t->lock);
	if (t->running) {
		pthread_mutex_unlock(&t->lock);
		if (free_arg)
			free_arg(arg);
		return true; /* one runs: it will do */
	}
	bool started = false;
	struct run *r = malloc(sizeof(*r));
	char *path = store_path ? strdup(store_path) : NULL;
	pthread_attr_t at;
	if (r && path && pthread_attr_init(&at) == 0) {
		*r = (struct run){
		    .t = t, .store_path = path, .fn = fn, .arg = arg, .free_arg = free_arg};
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		pthread_t th;
		if (pthread_create(&th, &at, run_thread, r) == 0)
			started = t->running = true;
		pthread_attr_destroy(&at);
	}
	pthread_mutex_unlock(&t->lock);
	if (!started) {
		free(r);
		free(path);
		if (free_arg)
			free_arg(arg);
	}
	return started;
}

void bg_task_wait(struct bg_task *t)
{
	pthread_mutex_lock(&t->lock);
	while (t->running)
		pthread_cond_wait(&t->done, &t->lock);
	pthread_mutex_unlock(&t->lock);
}
