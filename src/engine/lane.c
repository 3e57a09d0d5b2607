/*
 * lane.c - a crawl thread of the daemon (see lane.h): its requests, its
 * discovery of systems, and one crawl pass.
 */
#include "lane.h"

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../store/store.h"
#include "../targets/cgroup_id.h"
#include "../targets/containers.h"
#include "../targets/vms.h"
#include "../util/log.h"
#include "../util/util.h"
#include "../views/view.h"
#include "engine.h"
#include "gone.h"
#include "vm_klog.h"

#define DISCOVER_FULL_NS (30 * 1000000000LL) /* rediscover even if no pid changed */

const char *const lane_names[NLANES] = {"fast", "slow", "file"};

/* Which lane crawls a feature: by name; anything not listed is fast. */
/* A feature declares its lane (struct feature's .lane). */
int lane_of(const struct feature *f)
{
	return (int)f->lane;
}

static int nfeat(const struct lane *l)
{
	return l->e->sched.nfeat;
}

static void count(const struct engine *e, enum engine_counter c, int64_t v)
{
	if (e->report.count)
		e->report.count(e->report.arg, c, v);
}

void lane_init(struct lane *l, int idx, struct engine *e)
{
	memset(l, 0, sizeof(*l));
	l->idx = idx;
	l->e = e;
	l->procdir = -1;
	/* the lane's own copy: fitting the settings to new intervals (a
	 * reload) must not touch another lane's */
	if (crawl_opts_copy(&l->opts, &e->opts) < 0)
		l->opts = e->opts, l->opts_borrowed = true;
	target_set_init(&l->set, e->proc_fd);
	pthread_mutex_init(&l->lock, NULL);
	cond_init_mono(&l->cv); /* lane_wait: on CLOCK_MONOTONIC */
	for (int f = 0; f < e->sched.nfeat; f++)
		if (lane_of(feature_table[f]) == idx)
			l->feats |= 1ull << f;
	if (idx == LANE_FAST)
		l->gone = gone_new(e->proc_fd);
}

void lane_post(struct lane *l, const struct lane_request *rq)
{
	pthread_mutex_lock(&l->lock);
	l->rq.due |= rq->due & l->feats;
	l->rq.discover |= rq->discover;
	l->rq.maintain |= rq->maintain;
	l->rq.enabled = rq->enabled;
	l->rq.workers = rq->workers;
	l->rq.timeout = rq->timeout;
	memcpy(l->rq.interval, rq->interval, sizeof(l->rq.interval));
	if (l->rq.due || l->rq.discover || l->rq.maintain)
		pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->lock);
}

bool lane_take_locked(struct lane *l, struct lane_request *out)
{
	if (!l->rq.due && !l->rq.discover && !l->rq.maintain)
		return false;
	*out = l->rq;
	l->rq.due = 0;
	l->rq.discover = l->rq.maintain = false;
	return true;
}

/*
 * A signature of the set of processes: a hash of the numeric entries of
 * /proc (one getdents pass, no file opened).  The same pids mean the same
 * systems, so discovery, which reads a namespace link per process, is
 * skipped at ticks where nothing started or exited (names and states are
 * refreshed every DISCOVER_FULL_NS anyway).  0 when /proc cannot be read.
 */
static int cmp_pid(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static uint64_t pid_signature(struct lane *l)
{
	if (l->procdir < 0)
		l->procdir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->procdir < 0 || lseek(l->procdir, 0, SEEK_SET) < 0)
		return 0;
	char buf[16384];
	uint64_t h = FNV1A_BASIS, n = 0;
	ssize_t len;
	bool listed = true; /* l->cur_pids holds every pid */
	l->ncur = 0;
	while ((len = getdents64(l->procdir, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < len;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);
			off += e->d_reclen;
			if (e->d_name[0] < '1' || e->d_name[0] > '9')
				continue;
			h = fnv1a(h, e->d_name,
			          strlen(e->d_name) + 1); /* the NUL separates names */
			n++;
			if (l->ncur == l->cap_cur) {
				int cap = l->cap_cur ? l->cap_cur * 2 : 1024;
				int *v = realloc(l->cur_pids, (size_t)cap * sizeof(*v));
				if (!v) {
					listed = false;
					continue;
				}
				l->cur_pids = v;
				l->cap_cur = cap;
			}
			l->cur_pids[l->ncur++] = atoi(e->d_name);
		}
	}
	if (!listed)
		l->ncur = -1;
	else
		qsort(l->cur_pids, (size_t)l->ncur, sizeof(int), cmp_pid);
	return len < 0 ? 0 : h ^ n;
}

/* The pids now become the ones last checked. */
static void keep_pids(struct lane *l)
{
	int *v = l->pids, cap = l->cap_pids;
	l->pids = l->cur_pids;
	l->cap_pids = l->cap_cur;
	l->npids = l->ncur;
	l->cur_pids = v;
	l->cap_cur = cap;
	l->ncur = 0;
}

static uint64_t ns_link(int procdir, int pid, const char *ns)
{
	char path[48], link[64];
	snprintf(path, sizeof(path), "%d/ns/%s", pid, ns);
	ssize_t n = readlinkat(procdir, path, link, sizeof(link) - 1);
	if (n <= 0)
		return 0;
	link[n] = 0;
	const char *b = strchr(link, '[');
	return b ? strtoull(b + 1, NULL, 10) : 0;
}

/* Could new process `pid` be part of a system not in l->set (see lane.h)?
 * True when unsure. */
static bool new_pid_matters(struct lane *l, int pid, uint64_t host_pidns)
{
	struct engine *e = l->e;
	char path[48], buf[8192];
	uint64_t pidns = ns_link(l->procdir, pid, "pid");
	if (!pidns)
		return false; /* gone already */
	if (e->watch[kind_vm.index]) {
		snprintf(path, sizeof(path), "%d/exe", pid);
		ssize_t n = readlinkat(l->procdir, path, buf, sizeof(buf) - 1);
		if (n < 0 && errno != ENOENT)
			return true; /* cannot tell */
		if (n > 0 && vm_is_qemu_name(buf, (size_t)n))
			return true;
	}
	if (!e->watch[kind_container.index])
		return false;
	snprintf(path, sizeof(path), "%d/cgroup", pid);
	ssize_t n = read_small_at(l->procdir, path, buf, sizeof(buf));
	struct cgroup_cid cid;
	bool known_cid = false, known_ns = pidns == host_pidns;
	bool has_cid = n > 0 && cgroup_id_from_file(buf, (size_t)n, &cid, NULL, NULL);
	if (n <= 0 && pidns != host_pidns)
		return true;
	for (int i = 0; i < l->set.n; i++) {
		const struct target *t = &l->set.v[i];
		if (t->kind != &kind_container)
			continue;
		const struct container *c = t->obj;
		known_ns |= c->pidns == pidns;
		known_cid |= has_cid && strcmp(c->cid, cid.id) == 0;
	}
	return has_cid ? !known_cid : !known_ns;
}

/* Did the pids that came and went since the last check change the
 * systems?  True when unsure. */
static bool pids_matter(struct lane *l)
{
	if (l->ncur < 0 || l->npids <= 0)
		return true;
	uint64_t host_pidns = ns_link(l->procdir, getpid(), "pid");
	int i = 0, k = 0;
	while (i < l->npids || k < l->ncur) {
		int old = i < l->npids ? l->pids[i] : INT32_MAX;
		int now = k < l->ncur ? l->cur_pids[k] : INT32_MAX;
		if (old == now) {
			i++, k++;
		} else if (old < now) { /* exited: was it a system's? */
			for (int t = 0; t < l->set.n; t++)
				if (l->set.v[t].gen == old)
					return true;
			i++;
		} else { /* new */
			if (new_pid_matters(l, now, host_pidns))
				return true;
			k++;
		}
	}
	return false;
}

/* Does the engine watch any kind found from the processes (not only the host)? */
static bool watches_processes(const struct engine *e)
{
	for (int i = 0; i < target_nkinds; i++)
		if (e->watch[target_kinds[i]->index] && target_kinds[i] != &kind_host)
			return true;
	return false;
}

/* Rediscover the systems; false when it was skipped (nothing changed).
 * `pids_needed`: a feature that reads the systems' processes is due. */
static bool refresh_systems(struct lane *l, bool pids_needed)
{
	struct engine *e = l->e;
	int64_t now = mono_ns();
	uint64_t sig = watches_processes(e) ? pid_signature(l) : 0;
	bool fresh = l->have_list && sig && now - l->discovered_at < DISCOVER_FULL_NS;
	if (fresh && sig == l->proc_sig)
		return false;
	if (fresh && !pids_needed && !pids_matter(l)) {
		l->proc_sig = sig; /* these pids are checked */
		keep_pids(l);
		return false;
	}
	target_set_free(&l->set);
	target_set_init(&l->set, e->proc_fd);
	for (int i = 0; i < target_nkinds; i++) {
		const struct target_kind *k = target_kinds[i];
		if (!e->watch[k->index] || !k->discover)
			continue;
		int r = target_discover(&l->set, k);
		if (r < 0)
			log_warn("cannot list %ss: %s", k->noun ? k->noun : k->name, strerror(-r));
	}
	log_debug("lane %s: discovery: %d systems in %.1f ms", lane_names[l->idx], l->set.n,
	          (double)(mono_ns() - now) / 1e6);
	l->have_list = true;
	l->proc_sig = sig;
	keep_pids(l);
	l->discovered_at = now;
	return true;
}

/* Does a feature of `due` (bits of feature_table) other than metric go to
 * a kind found from processes (it reads their current pids)? */
static bool needs_pids(const struct lane *l, uint64_t due)
{
	int mi = l->e->sched.metric;
	if (mi >= 0)
		due &= ~(1ull << mi);
	for (int k = 0; k < target_nkinds && due; k++) {
		const struct target_kind *kind = target_kinds[k];
		if (kind == &kind_host || !kind->discover || !l->e->watch[kind->index])
			continue;
		for (int i = 0; i < nfeat(l); i++)
			if ((due >> i) & 1 && target_takes(kind, feature_table[i]))
				return true;
	}
	return false;
}

static bool grow_targets(struct lane *l, int n)
{
	if (n <= l->cap)
		return true;
	struct crawl_target *t = realloc(l->targets, (size_t)n * sizeof(*t));
	if (!t)
		return false;
	l->targets = t;
	struct kept_view **e = realloc(l->entries, (size_t)n * sizeof(struct kept_view *));
	if (!e)
		return false;
	l->entries = e;
	uint64_t *m = realloc(l->table_masks, (size_t)n * sizeof(*m));
	if (!m)
		return false;
	l->table_masks = m;
	l->cap = n;
	return true;
}

/* The features of feature_table with prime() (they leave carries). */
static uint64_t prime_mask(const struct lane *l)
{
	uint64_t m = 0;
	for (int i = 0; i < nfeat(l); i++)
		if (feature_table[i]->prime)
			m |= 1ull << i;
	return m;
}

/* Translate a mask over feature_table into one over the run's features. */
static uint64_t run_mask(const struct lane *l, uint64_t table_mask, const int *run_of)
{
	uint64_t m = 0;
	for (int i = 0; i < nfeat(l); i++)
		if ((table_mask >> i) & 1 && run_of[i] >= 0)
			m |= 1ull << run_of[i];
	return m;
}

/* The features of feature_table kind k takes. */
static uint64_t kind_mask(const struct lane *l, const struct target_kind *k)
{
	uint64_t m = 0;
	for (int i = 0; i < nfeat(l); i++)
		if (target_takes(k, feature_table[i]))
			m |= 1ull << i;
	return m;
}

/* Tell the store which systems of each kind are present (those not listed
 * are marked gone); only when the set changed. */
static void sync_gone(struct lane *l, const struct idset *present)
{
	struct engine *e = l->e;
	uint64_t sig = idset_signature(present, id_hash("containers"));
	if (l->gone_synced && sig == l->gone_sig)
		return;
	const char **ids = calloc((size_t)l->set.n + 1, sizeof(*ids));
	if (!ids)
		return;
	int64_t now_ms = now_ns() / 1000000;
	/* only this host's systems: others in the store came from other
	 * hosts (Kafka, sFlow) and are not ours to mark */
	char host[256] = "";
	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = 0;
	pthread_mutex_lock(&e->store.lock);
	int r = e->store.closed ? -ESHUTDOWN : 0;
	for (int k = 0; k < target_nkinds && r == 0; k++) {
		const struct target_kind *kind = target_kinds[k];
		if (!kind->discover)
			continue;
		int n = 0;
		for (int i = 0; i < l->set.n; i++)
			if (l->set.v[i].kind == kind)
				ids[n++] = l->set.v[i].sys.id;
		r = store_mark_gone(e->store.st, kind->name, host[0] ? host : NULL, ids, n, now_ms);
	}
	pthread_mutex_unlock(&e->store.lock);
	free(ids);
	if (r == 0) {
		l->gone_synced = true;
		l->gone_sig = sig;
	} else if (r != -ESHUTDOWN) {
		log_warn("store %s: cannot mark stopped containers gone: %s", e->store.path,
		         strerror(-r));
	}
}

/* Why the systems that went away went (gone.h), into the store: after
 * sync_gone() has marked them gone.  Every fast-lane job: the OOM counters
 * are read while the containers live, missing exit codes looked for. */
static void record_gone(struct lane *l, bool discovered)
{
	struct engine *e = l->e;
	int n;
	if (!l->gone)
		return;
	gone_sample(l->gone);
	if (discovered)
		gone_update(l->gone, &l->set);
	gone_retry(l->gone);
	const struct gone_report *rp = gone_take(l->gone, &n);
	if (!n)
		return;
	int64_t now_ms = now_ns() / 1000000;
	pthread_mutex_lock(&e->store.lock);
	for (int i = 0; i < n && !e->store.closed; i++) {
		int r = store_gone_reason(e->store.st, rp[i].id, rp[i].json, now_ms);
		if (r < 0 && r != -ENOENT) /* -ENOENT: gone before its first frame */
			log_warn("store %s: cannot record why %s is gone: %s", e->store.path,
			         rp[i].id, strerror(-r));
		else if (r == 0)
			log_info("%s gone: %s", rp[i].id, rp[i].json);
	}
	pthread_mutex_unlock(&e->store.lock);
}

static void poke_other_lanes(struct engine *e)
{
	for (int i = 0; i < NLANES; i++) {
		struct lane *o = &e->lanes[i];
		if (i == LANE_FAST || !o->started)
			continue;
		pthread_mutex_lock(&o->lock);
		if (o->rq.enabled & o->feats) {
			o->rq.discover = true;
			pthread_cond_signal(&o->cv);
		}
		pthread_mutex_unlock(&o->lock);
	}
}

static void maintain(struct engine *e)
{
	int64_t t0 = mono_ns();
	pthread_mutex_lock(&e->store.lock);
	int r = e->store.closed ? 0 : store_maintain(e->store.st, now_ns() / 1000000);
	pthread_mutex_unlock(&e->store.lock);
	/* said once per episode: on a full disk it fails every minute */
	if (r < 0 && !e->maintain_failed)
		log_warn("store %s: maintenance failed: %s (retried every minute; said again once "
		         "it works)",
		         e->store.path, strerror(-r));
	else if (r == 0 && e->maintain_failed)
		log_warn("store %s: maintenance works again", e->store.path);
	else if (r == 0)
		log_debug("store maintenance: %.1f ms", (double)(mono_ns() - t0) / 1e6);
	e->maintain_failed = r < 0;
}

/* The systems due for this run into l->targets; their number.  `fresh`
 * counts the systems new to the lane, by kind. */
static int pick_targets(struct lane *l, const struct lane_request *rq, uint64_t enabled,
                        const int *run_of, int *fresh)
{
	struct engine *e = l->e;
	int mi = e->sched.metric;
	uint64_t metric_only = mi >= 0 ? 1ull << mi : 0;
	uint64_t masks[TARGET_MAX_KINDS];
	for (int k = 0; k < target_nkinds; k++)
		masks[target_kinds[k]->index] = kind_mask(l, target_kinds[k]);
	struct idset *now = &l->next;
	uint64_t primes = prime_mask(l);
	int64_t max_age[FEATURE_MAX] = {0}, t_now = mono_ns();
	for (int f = 0; f < nfeat(l) && f < FEATURE_MAX; f++)
		if (rq->interval[f] > 0)
			max_age[f] = (int64_t)((2 * rq->interval[f] + 2) * 1e9);
	int n = 0;
	for (int i = 0; i < l->set.n; i++) {
		const struct target *t = &l->set.v[i];
		const struct target_kind *k = t->kind;
		uint64_t h = id_hash(t->sys.id);
		bool is_new = !idset_has(&l->known, h);
		uint64_t m = (is_new ? enabled : (rq->due & enabled)) & masks[k->index];
		if (!m) {
			idset_add(now, h);
			continue;
		}
		struct view *v = NULL;
		if (k->keep_view || m == metric_only) {
			char err[512];
			v = kept_view(&l->views, t, h, e->proc_fd, mono_ns(), err, sizeof(err));
			if (!v && k->keep_view) { /* not known: crawled in full once it opens */
				if (err[0] && l->idx == LANE_FAST)
					log_info("%s %s (retrying every %d s)",
					         k->noun ? k->noun : k->name, err,
					         (int)(KEPT_RETRY_NS / 1000000000));
				continue;
			}
		}
		idset_add(now, h);
		if (is_new && k->noun)
			fresh[k->index]++;
		struct kept_view *ke = (m & primes) ? kept_entry(&l->views, t, h) : NULL;
		if (ke)
			kept_carries_fresh(ke, max_age, t_now);
		l->entries[n] = ke;
		l->table_masks[n] = m;
		l->targets[n++] = (struct crawl_target){.target = t,
		                                        .sys = t->sys,
		                                        .feat_mask = run_mask(l, m, run_of),
		                                        .view = v,
		                                        .carry = ke ? ke->carry : NULL};
	}
	return n;
}

/* Log the new systems, and have the other lanes crawl them at once. */
static void note_fresh(struct lane *l, const int *fresh)
{
	bool any = false;
	for (int k = 0; k < target_nkinds; k++) {
		const struct target_kind *kind = target_kinds[k];
		int n = fresh[kind->index];
		if (n && kind->noun)
			log_info("%d new %s%s", n, kind->noun, n > 1 ? "s" : "");
		any |= n > 0;
	}
	if (any && l->runs > 0) /* the first run crawls all anyway */
		poke_other_lanes(l->e);
}

static void lane_job(struct lane *l, const struct lane_request *rq)
{
	struct engine *e = l->e;
	int64_t t0 = mono_ns();
	uint64_t enabled = rq->enabled & l->feats;
	bool discovered = false;
	if (enabled && (rq->discover || !l->have_list))
		discovered = refresh_systems(l, needs_pids(l, rq->due & enabled));
	if (discovered && l->idx == LANE_FAST && e->discovered) /* the log collector */
		e->discovered(e->discovered_arg, &l->set);

	/* the run's features: the enabled ones of this lane, in table order */
	const struct feature *feats[64];
	int run_of[SCHEDULE_MAX_FEATURES], nf = 0;
	for (int i = 0; i < SCHEDULE_MAX_FEATURES; i++) {
		run_of[i] = -1; /* all of it: the analyzer cannot see nfeat() stays put */
		if (i < nfeat(l) && (enabled >> i) & 1) {
			run_of[i] = nf;
			feats[nf++] = feature_table[i];
		}
	}

	int fresh[TARGET_MAX_KINDS] = {0}, n = 0;
	idset_clear(&l->next);
	if (nf && grow_targets(l, l->set.n + 1))
		n = pick_targets(l, rq, enabled, run_of, fresh);
	if (n) {
		crawl_opts_fit(&l->opts, rq->interval);
		struct crawl_run run = {
		    .targets = l->targets,
		    .ntargets = n,
		    .feats = feats,
		    .nfeats = nf,
		    .opts = &l->opts,
		    .fmt = FRAME_JSON,
		    .sink = l->sink,
		    .proc_fd = e->proc_fd,
		    .workers = rq->workers,
		    .timeout = rq->timeout,
		};
		/* one store transaction for the run's frames */
		locked_sink_batch(l->store_sink, true);
		crawl_run(&run); /* store errors: logged by the locked sink */
		locked_sink_batch(l->store_sink, false);
		if (e->stored) /* the tick's data is in the store */
			e->stored(e->stored_arg, now_ns() / 1000000);
		/* give back what the run freed (its frames, the store's churned
		 * caches) instead of keeping it resident until the next run */
		malloc_trim(0);
		int64_t t_end = mono_ns();
		for (int i = 0; i < n; i++) {
			if (l->targets[i].abandoned && (l->targets[i].view || l->entries[i]))
				kept_forget(&l->views, id_hash(l->targets[i].sys.id));
			else if (l->entries[i])
				kept_carries_left(l->entries[i], l->table_masks[i], t_end);
		}
		if (l->idx == LANE_FAST) /* the VMs' kernel logs (vm_klog.h) */
			vm_klog_run(&l->klog, &e->store, l->targets, n);
		count(e, EC_CRAWLS, 1);
		count(e, EC_LAST_CRAWL_MS, now_ns() / 1000000);
		count(e, EC_LAST_CRAWL_US, (mono_ns() - t0) / 1000);
	}
	if (nf && (discovered || n)) { /* swap: the old set's memory is reused next time */
		idset_sort(&l->next);
		struct idset old = l->known;
		l->known = l->next;
		l->next = old;
		if (discovered)
			kept_prune(&l->views, &l->known);
	}
	if (l->idx == LANE_FAST && discovered) {
		count(e, EC_SYSTEMS, l->set.n);
		sync_gone(l, &l->known);
		note_fresh(l, fresh);
	}
	if (l->idx == LANE_FAST)
		record_gone(l, discovered);
	if (rq->maintain)
		maintain(e);
	l->runs++;
	log_debug("lane %s: %d system%s in %.1f ms", lane_names[l->idx], n, n == 1 ? "" : "s",
	          (double)(mono_ns() - t0) / 1e6);
}

void *lane_main(void *arg)
{
	struct lane *l = arg;
	struct lane_request rq;
	pthread_mutex_lock(&l->lock);
	for (;;) {
		while (!l->stop && !lane_take_locked(l, &rq))
			pthread_cond_wait(&l->cv, &l->lock);
		if (l->stop)
			break;
		pthread_mutex_unlock(&l->lock);
		lane_job(l, &rq);
		pthread_mutex_lock(&l->lock);
	}
	l->done = true;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

bool lane_wait(struct lane *l, double secs)
{
	struct timespec ts;
	mono_deadline(&ts, (int64_t)(secs * 1e9));
	pthread_mutex_lock(&l->lock);
	while (!l->done) {
		if (secs < 0)
			pthread_cond_wait(&l->cv, &l->lock);
		else if (pthread_cond_timedwait(&l->cv, &l->lock, &ts) == ETIMEDOUT)
			break;
	}
	bool done = l->done;
	pthread_mutex_unlock(&l->lock);
	return done;
}

void lane_free(struct lane *l)
{
	kept_free(&l->views);
	if (!l->opts_borrowed)
		crawl_opts_free(&l->opts);
	if (l->procdir >= 0)
		close(l->procdir);
	l->procdir = -1;
	target_set_free(&l->set);
	gone_free(l->gone);
	l->gone = NULL;
	vm_klog_free(l->klog);
	l->klog = NULL;
	idset_free(&l->known);
	idset_free(&l->next);
	free(l->targets);
	l->targets = NULL;
	free(l->pids);
	free(l->cur_pids);
	l->pids = l->cur_pids = NULL;
	l->cap_pids = l->cap_cur = l->npids = l->ncur = 0;
	free(l->entries);
	l->entries = NULL;
	free(l->table_masks);
	l->table_masks = NULL;
	l->cap = 0;
}
