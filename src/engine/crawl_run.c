/*
 * crawl_run.c - the worker pool behind `vantage crawl` and each lane of
 * `vantage serve` (see crawl_run.h).
 *
 * Invariants: jobs are claimed with an atomic counter; a job's `state`
 * moves PENDING -> RUNNING -> DONE under `lock`, or RUNNING -> ABANDONED
 * when the main thread gives up on it (then the worker, if it ever
 * returns, drops its frame instead of writing it).  The sink is written
 * only under `lock`.
 */
#include "crawl_run.h"

#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/util.h"
#include "../views/view.h"

enum job_state { PENDING, RUNNING, DONE, ABANDONED };

struct job {
	struct crawl_target *t;
	void **primed;   /* per feature, from prime() */
	int64_t started; /* mono ns when crawl began */
	enum job_state state;
};

struct pool {
	/* The pool's own copies of the caller's run, feature list and
	 * targets: an abandoned worker coming back after crawl_run() returned
	 * still reads them (the caller's live on its stack or in arrays it
	 * reuses for its next run).  What a target only borrows (its view,
	 * carry slots, hook argument) the caller leaves to the stuck crawl. */
	const struct crawl_run *run; /* &own */
	struct crawl_run own;
	const struct feature **feats;
	struct crawl_target *targets;
	struct crawl_target *caller; /* the caller's targets: only until crawl_run() returns */
	struct job *jobs;
	atomic_int next;
	bool priming;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	int ndone;
	int sink_err;
	void **primed; /* the jobs' primed slots, one array */
	int live;      /* crawl-phase worker threads not yet returned */
	bool orphaned; /* crawl_run() returned: the last worker frees the pool */
};

static void free_primed(const struct crawl_run *run, struct job *j);

static void pool_free(struct pool *p)
{
	for (int i = 0; i < p->run->ntargets; i++)
		free_primed(p->run, &p->jobs[i]);
	free(p->primed);
	free(p->jobs);
	free(p->feats);
	free(p->targets);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cv);
	free(p);
}

static int open_view(const struct crawl_run *run, const struct crawl_target *t, struct view **v)
{
	char err[512];
	if (t->view) {
		*v = t->view;
		return 0;
	}
	if (!t->target)
		return -EINVAL;
	return target_open(t->target, run->proc_fd, v, err, sizeof(err));
}

/* Does target `t` get feature i of the run? */
static bool wants(const struct crawl_target *t, int i)
{
	return t->feat_mask == 0 || (i < 64 && (t->feat_mask >> i) & 1);
}

/* Where feature i of the run finds and leaves its carry for target t, or NULL. */
static void **carry_slot(const struct crawl_run *run, const struct crawl_target *t, int i)
{
	if (!t->carry)
		return NULL;
	int fi = feature_index(run->feats[i]);
	return fi >= 0 && fi < FEATURE_MAX ? &t->carry[fi] : NULL;
}

/* Does feature i need a first sample for target t (no carry to start from)? */
static bool needs_prime(const struct crawl_run *run, const struct crawl_target *t, int i)
{
	if (!run->feats[i]->prime || !wants(t, i))
		return false;
	void **c = carry_slot(run, t, i);
	return !c || !*c;
}

static bool wants_prime(const struct crawl_run *run, const struct crawl_target *t)
{
	for (int i = 0; i < run->nfeats; i++)
		if (needs_prime(run, t, i))
			return true;
	return false;
}

static void close_view(const struct crawl_target *t, struct view *v)
{
	if (v != t->view)
		view_destroy(v);
}

static void prime_job(struct pool *p, struct job *j)
{
	const struct crawl_run *run = p->run;
	struct view *v;
	if (!wants_prime(run, j->t))
		return;
	if (open_view(run, j->t, &v) < 0)
		return; /* the crawl reports it */
	struct crawl_ctx c = {.view = v, .opts = run->opts};
	for (int i = 0; i < run->nfeats; i++)
		if (needs_prime(run, j->t, i)) {
			c.settings = crawl_opts_settings(run->opts, run->feats[i]);
			j->primed[i] = run->feats[i]->prime(&c);
		}
	close_view(j->t, v);
}

static void free_primed(const struct crawl_run *run, struct job *j)
{
	for (int i = 0; i < run->nfeats; i++) {
		if (j->primed[i] && run->feats[i]->prime_free)
			run->feats[i]->prime_free(j->primed[i]);
		j->primed[i] = NULL;
	}
}

/* The names of the features target `t` gets; their number in *n. */
static void feature_names(const struct crawl_run *run, const struct crawl_target *t,
                          const char **names, int *n)
{
	*n = 0;
	for (int i = 0; i < run->nfeats && *n < 64; i++)
		if (wants(t, i))
			names[(*n)++] = run->feats[i]->name;
}

/* Write (or drop, if abandoned) a finished frame. */
static void finish(struct pool *p, struct job *j, struct frame *fr)
{
	pthread_mutex_lock(&p->lock);
	if (j->state == ABANDONED) {
		frame_abort(fr);
	} else {
		int r = frame_end(fr);
		if (r < 0 && !p->sink_err)
			p->sink_err = r;
		j->state = DONE;
		p->ndone++;
	}
	if (p->ndone == p->run->ntargets) /* the waiter wakes once, at the end */
		pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->lock);
}

/* The waiter gave up on the job: its worker, back from the kernel, stops. */
static bool job_abandoned(struct pool *p, const struct job *j)
{
	pthread_mutex_lock(&p->lock);
	bool a = j->state == ABANDONED;
	pthread_mutex_unlock(&p->lock);
	return a;
}

static void crawl_job(struct pool *p, struct job *j)
{
	const struct crawl_run *run = p->run;
	const char *names[64];
	int nnames;
	feature_names(run, j->t, names, &nnames);
	struct frame *fr = frame_begin(run->sink, &j->t->sys, names, nnames, run->fmt);
	if (!fr) {
		pthread_mutex_lock(&p->lock);
		if (!p->sink_err)
			p->sink_err = -errno;
		j->state = DONE;
		p->ndone++;
		if (p->ndone == run->ntargets)
			pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->lock);
		return;
	}
	struct view *v;
	int r = open_view(run, j->t, &v);
	if (r < 0) {
		frame_error(fr, -r, "%s",
		            r == -ESRCH ? "the system exited before it could be crawled"
		                        : "cannot open the system");
		free_primed(run, j);
		finish(p, j, fr);
		return;
	}
	int64_t deadline = j->started + (int64_t)(run->timeout * 1e9);
	struct crawl_ctx c = {.view = v, .frame = fr, .opts = run->opts};
	if (j->t->enter && (r = j->t->enter(j->t, fr)) != 0) {
		frame_error(fr, r < 0 ? -r : EIO, "cannot prepare the system for the crawl");
		if (j->t->leave)
			j->t->leave(j->t, fr);
		close_view(j->t, v);
		free_primed(run, j);
		finish(p, j, fr);
		return;
	}
	for (int i = 0; i < run->nfeats; i++) {
		if (!wants(j->t, i))
			continue;
		if (job_abandoned(p, j))
			break; /* its frame is dropped: no more of its features */
		frame_feature_start(fr, run->feats[i]->name);
		if (mono_ns() > deadline) {
			frame_error(fr, 0,
			            "not crawled: the system's time limit of %g s had passed",
			            run->timeout);
		} else {
			c.primed = j->primed[i];
			c.carry = carry_slot(run, j->t, i);
			c.settings = crawl_opts_settings(run->opts, run->feats[i]);
			j->primed[i] = NULL;
			r = run->feats[i]->crawl(&c);
			if (c.primed && run->feats[i]->prime_free)
				run->feats[i]->prime_free(c.primed);
			c.primed = NULL;
			if (r == -ENOTSUP) /* e.g. modules of a container: the host's */
				frame_skip(fr, "%s does not apply to a %s", run->feats[i]->name,
				           j->t->sys.kind);
			else if (r < 0)
				frame_error(fr, -r, "feature %s failed", run->feats[i]->name);
		}
		frame_feature_end(fr);
	}
	if (j->t->leave)
		j->t->leave(j->t, fr);
	close_view(j->t, v);
	free_primed(run, j);
	finish(p, j, fr);
}

static void *worker(void *arg)
{
	struct pool *p = arg;
	for (;;) {
		int i = atomic_fetch_add(&p->next, 1);
		if (i >= p->run->ntargets)
			break;
		struct job *j = &p->jobs[i];
		if (p->priming) {
			prime_job(p, j);
			continue;
		}
		pthread_mutex_lock(&p->lock);
		j->state = RUNNING;
		j->started = mono_ns();
		pthread_mutex_unlock(&p->lock);
		crawl_job(p, j);
	}
	return NULL;
}

/* A worker thread: after the crawl phase, the last one out of a pool
 * crawl_run() left behind (an abandoned worker that came back) frees it. */
static void *worker_thread(void *arg)
{
	struct pool *p = arg;
	worker(p);
	if (p->priming)
		return NULL; /* joined by crawl_run() */
	pthread_mutex_lock(&p->lock);
	bool last = --p->live == 0 && p->orphaned;
	pthread_mutex_unlock(&p->lock);
	if (last)
		pool_free(p);
	return NULL;
}

static int start_workers(struct pool *p, pthread_t *tids, int n)
{
	int started = 0;
	for (int i = 0; i < n; i++) {
		if (pthread_create(&tids[i], NULL, worker_thread, p) != 0)
			break;
		started++;
	}
	return started;
}

/* A header-only frame for a system whose worker is stuck. */
static void write_stuck_frame(struct pool *p, struct job *j)
{
	const struct crawl_run *run = p->run;
	const char *names[64];
	int nnames;
	feature_names(run, j->t, names, &nnames);
	struct frame *fr = frame_begin(run->sink, &j->t->sys, names, nnames, run->fmt);
	if (!fr)
		return;
	frame_error(fr, 0,
	            "the crawl did not finish within its time limit of %g s and was abandoned",
	            run->timeout);
	int r = frame_end(fr);
	if (r < 0 && !p->sink_err)
		p->sink_err = r;
}

/* The monotonic time the waiter next has to look at the jobs: when the
 * first running one passes its limit (lock held); a job not started yet
 * starts later than now, so its limit is later than now + grace. */
static int64_t next_check(const struct pool *p, int64_t now, int64_t grace)
{
	int64_t next = now + grace;
	for (int i = 0; i < p->run->ntargets; i++) {
		const struct job *j = &p->jobs[i];
		if (j->state == RUNNING && j->started + grace < next)
			next = j->started + grace;
	}
	return next;
}

/* Wait for the crawl phase; abandon jobs stuck past their limit.  The
 * waiter sleeps until every job is done (finish() wakes it once) or the
 * first running job's limit, never polling.  Returns true when every
 * worker finished (so they can be joined). */
static bool wait_crawl(struct pool *p)
{
	const struct crawl_run *run = p->run;
	int64_t grace = (int64_t)((run->timeout + 1.0) * 1e9);
	bool abandoned_any = false;
	pthread_mutex_lock(&p->lock);
	while (p->ndone < run->ntargets) {
		int64_t wake = next_check(p, mono_ns(), grace) + 1000000;
		struct timespec ts = {.tv_sec = (time_t)(wake / 1000000000),
		                      .tv_nsec = (long)(wake % 1000000000)};
		pthread_cond_timedwait(&p->cv, &p->lock, &ts); /* on CLOCK_MONOTONIC */
		int64_t now = mono_ns();
		for (int i = 0; i < run->ntargets; i++) {
			struct job *j = &p->jobs[i];
			if (j->state == RUNNING && now - j->started > grace) {
				j->state = ABANDONED;
				j->t->abandoned = true;
				p->caller[i].abandoned = true; /* the caller's say */
				p->ndone++;
				abandoned_any = true;
				log_warn("%s: crawl stuck for more than %.1f s; abandoned",
				         j->t->sys.id, run->timeout);
				write_stuck_frame(p, j);
			}
		}
	}
	pthread_mutex_unlock(&p->lock);
	return !abandoned_any;
}

int crawl_run(const struct crawl_run *run)
{
	/* on the heap: a worker abandoned in the kernel may wake after we return */
	struct pool *pool = calloc(1, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	pool->own = *run;
	pool->feats = calloc((size_t)run->nfeats + 1, sizeof(const struct feature *));
	if (!pool->feats) {
		free(pool);
		return -ENOMEM;
	}
	for (int i = 0; i < run->nfeats; i++)
		pool->feats[i] = run->feats[i];
	pool->own.feats = pool->feats;
	pool->run = &pool->own;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&pool->cv, &ca);
	pthread_condattr_destroy(&ca);
	pool->jobs = calloc((size_t)run->ntargets + 1, sizeof(*pool->jobs));
	pool->targets = calloc((size_t)run->ntargets + 1, sizeof(*pool->targets));
	pool->caller = run->targets;
	pool->own.targets = pool->targets;
	void **primed = calloc((size_t)run->ntargets * (size_t)run->nfeats + 1, sizeof(void *));
	pool->primed = primed;
	if (!pool->jobs || !pool->targets || !primed) {
		free(pool->jobs);
		free(pool->targets);
		free(primed);
		free(pool->feats);
		free(pool);
		return -ENOMEM;
	}
	for (int i = 0; i < run->ntargets; i++) {
		run->targets[i].abandoned = false;
		pool->targets[i] = run->targets[i];
		pool->jobs[i].t = &pool->targets[i];
		pool->jobs[i].primed = primed + (size_t)i * (size_t)run->nfeats;
	}
	int nw = run->workers < 1 ? 1 : run->workers;
	if (nw > run->ntargets)
		nw = run->ntargets;
	if (nw > 64)
		nw = 64;
	pthread_t tids[64];

	/* phase 1: prime every system, then sleep what is left of one interval */
	bool any_prime = false;
	for (int i = 0; i < run->ntargets && !any_prime; i++)
		any_prime = wants_prime(run, &run->targets[i]);
	if (any_prime && run->opts->sample_interval > 0 && run->ntargets > 0) {
		int64_t t0 = mono_ns();
		pool->priming = true;
		int n = start_workers(pool, tids, nw);
		for (int i = 0; i < n; i++)
			pthread_join(tids[i], NULL);
		if (n == 0)
			worker(pool);
		pool->priming = false;
		atomic_store(&pool->next, 0);
		double left = run->opts->sample_interval - (double)(mono_ns() - t0) / 1e9;
		if (left > 0) {
			struct timespec ts = {.tv_sec = (time_t)left,
			                      .tv_nsec =
			                          (long)((left - (double)(time_t)left) * 1e9)};
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
	}

	/* phase 2: crawl */
	pool->live = nw; /* before the threads start: they count down */
	int n = start_workers(pool, tids, nw);
	pthread_mutex_lock(&pool->lock);
	pool->live -= nw - n;
	pthread_mutex_unlock(&pool->lock);
	if (n == 0) {
		worker(pool);
	} else if (wait_crawl(pool)) {
		for (int i = 0; i < n; i++)
			pthread_join(tids[i], NULL);
	} else {
		for (int i = 0; i < n; i++)
			pthread_detach(tids[i]); /* a stuck one dies with the process */
	}
	pthread_mutex_lock(&pool->lock);
	int err = pool->sink_err;
	bool all_done = true;
	for (int i = 0; i < run->ntargets; i++)
		all_done &= pool->jobs[i].state == DONE;
	/* else: a detached worker may still touch its job; the last one out frees it all */
	bool last = all_done || pool->live == 0;
	if (!last)
		pool->orphaned = true;
	pthread_mutex_unlock(&pool->lock);
	if (last)
		pool_free(pool);
	return err;
}

void crawl_raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}
