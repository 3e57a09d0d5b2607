/*
 * bgtask.h - a build on the store run apart from the request that asked
 * for it (bgtask.c).  A worker thread of the API serves many connections:
 * one that builds a cached answer (a search index, a topology graph: tens
 * of milliseconds for a busy host) holds up all of them.  So a request
 * that finds its cached answer out of date but recent answers from it and
 * starts the next build here: on a detached thread, with a read-only
 * store handle of its own, one at a time per task.
 *
 *	static struct bg_task task = BG_TASK_INIT;
 *	bg_task_start(&task, srv->store_path, rebuild, arg, free);
 *	...
 *	bg_task_wait(&task);   (server_stop: no build outlives the server)
 */
#ifndef VANTAGE_SERVER_BGTASK_H
#define VANTAGE_SERVER_BGTASK_H

#include <pthread.h>
#include <stdbool.h>

struct store;

struct bg_task {
	pthread_mutex_t lock;
	pthread_cond_t done;
	bool running;
};

#define BG_TASK_INIT                                                                               \
	{                                                                                          \
		PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false                         \
	}

/* Runs fn(st, arg) on a thread of its own, st a read-only handle of the
 * store at store_path (open for fn's call only; fn is not called when it
 * cannot be opened), then free_arg(arg) when free_arg is not NULL.  True
 * when it started, or when a build of this task runs already (then this
 * one is dropped: free_arg(arg)); false when no thread could start (arg
 * freed: the caller builds itself). */
bool bg_task_start(struct bg_task *t, const char *store_path,
                   void (*fn)(struct store *st, void *arg), void *arg, void (*free_arg)(void *));

/* Waits until the task's build, if one runs, has ended. */
void bg_task_wait(struct bg_task *t);

#endif
