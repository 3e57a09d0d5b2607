/*
 * serve.c - `vantage serve`: the daemon.  It watches this host and its
 * containers, puts what it sees into the store, and serves the REST API.
 *
 * Threads:
 *   main    an epoll loop over a signalfd (SIGTERM, SIGINT, SIGHUP) and
 *           one timerfd armed at the earliest moment something is due.
 *           It owns the schedule: per feature, the next time it is due
 *           (CLOCK_MONOTONIC), and store maintenance once a minute.  It
 *           never crawls and never touches the store; it posts requests
 *           to the lanes.
 *   lanes   three threads that crawl, each for its own features, so a
 *           slow crawl never delays a fast one:
 *             fast  metric, process, connection, os, module, interface
 *                   (and container discovery every metric tick, marking
 *                   gone containers, store maintenance)
 *             slow  package, config
 *             file  file (a walk of the whole file system)
 *           A lane runs one request at a time through crawl_run() (its
 *           worker pool); requests posted while it is busy are merged
 *           (features OR-ed) and run when it is done: a tick is delayed,
 *           never queued twice.
 *   server  libmicrohttpd's threads (src/server), with their own
 *           read-only store handles.
 *
 * Per lane, a system it has not crawled before (a new container, or
 * everything at start) gets every enabled feature of the lane at once;
 * the others get the features now due.  Ids seen are kept as a sorted
 * array of 64-bit hashes.  The fast lane rediscovers containers when
 * metric is due and the set of pids in /proc changed (or 30 s passed);
 * the other lanes when they run (at their own, rarer ticks) or when the
 * fast lane saw a new container.  Crawls of metric alone go through
 * views kept open from tick to tick (kept_view()).
 *
 * The store: ONE read-write handle shared by the lanes under store_lock.
 * Each lane writes through its own store sink (sink_store_open) wrapped in
 * a "locked sink" that takes store_lock around every call, counts frames
 * and records stored for the server's counters, and turns store errors
 * into one log line per episode ("store PATH: disk full; N frames
 * pending") and one when writing works again.  Once the store is closed
 * (at exit) the locked sink refuses everything: a lane abandoned in a
 * stuck crawl can never touch a closed handle.
 *
 * Configuration: config.h.  SIGHUP rebuilds it (defaults, file, the
 * flags given at start); intervals, log level, workers and time limits change
 * at once, the others are reported as needing a restart; a config that
 * does not parse is logged and the current one kept.
 *
 * Shutdown (SIGTERM, SIGINT): the fast lane finishes the crawl it is in
 * (crawl_run bounds it by the time limit); the slow lane gets 10 s and
 * the file lane 3 s, then their crawl is left behind (its frame is not
 * stored); frames still pending are retried once, the store is closed,
 * the server stopped; exit status 0.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../features/feature.h"
#include "../server/server.h"
#include "../sinks/sinks.h"
#include "../store/store.h"
#include "../targets/containers.h"
#include "../targets/vms.h"
#include "crawl_vm.h"
#include "../util/log.h"
#include "../util/util.h"
#include "../views/container.h"
#include "cli.h"
#include "serve_config.h"
#include "crawl_run.h"

#define MAINTAIN_EVERY_NS (60 * 1000000000LL)
#define DISCOVER_FULL_NS (30 * 1000000000LL) /* rediscover even if no pid changed */
#define MAX_FLAGS 128

enum { LANE_FAST, LANE_SLOW, LANE_FILE, NLANES };

static const char *const lane_names[NLANES] = {"fast", "slow", "file"};

/* Which lane crawls a feature: by name; anything not listed is fast. */
static int lane_of(const char *feature)
{
	if (strcmp(feature, "package") == 0 || strcmp(feature, "config") == 0)
		return LANE_SLOW;
	if (strcmp(feature, "file") == 0)
		return LANE_FILE;
	return LANE_FAST;
}

struct daemon;

/* A set of system ids, as sorted 64-bit hashes. */
struct idset {
	uint64_t *v;
	int n, cap;
};

/* A view kept open between ticks (see kept_view()). */
struct kept_view {
	uint64_t h;   /* id hash */
	int init_pid; /* 0: the host */
	struct view *v;
};

struct lane {
	int idx;
	struct daemon *d;
	uint64_t feats; /* bits of feature_table this lane crawls */
	pthread_t tid;
	bool started;

	/* Requests from the main thread, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cv;
	uint64_t due;  /* features due (merged while busy) */
	bool discover; /* rediscover containers first */
	bool maintain; /* run store_maintain afterwards */
	bool stop, done;
	uint64_t enabled; /* features with an interval, at post time */
	int workers;
	double timeout;
	double sample_interval;

	/* The lane's own state: touched only by its thread. */
	struct sink *sink; /* a locked store sink */
	struct crawl_opts opts;
	struct container_list list;
	struct vm_target *vms; /* QEMU guests found at the last discovery */
	size_t nvms;
	struct vm_fail { /* guests whose kernel could not be located yet */
		uint64_t h;
		int64_t at; /* mono ns of the failed attempt */
	} * vm_fail;
	int nvm_fail;
	struct system_id host;
	bool have_list;
	uint64_t proc_sig;     /* signature of the pids at the last discovery */
	int64_t discovered_at; /* mono ns of the last discovery */
	int procdir;           /* /proc, for the pid signature; -1 until used */
	struct idset known;    /* systems crawled with every feature */
	struct idset next;     /* the next `known`, built during a run (reused) */
	struct crawl_target *targets;
	int cap;
	struct kept_view *views;
	int nviews, capviews;
	/* fast lane: the set of containers last given to store_mark_gone */
	uint64_t gone_sig;
	bool gone_synced;
	int runs;
};

struct flag {
	const char *section, *key, *value;
	char name[64]; /* the flag as given, for messages */
	bool replace;  /* first flag of a list option */
};

struct daemon {
	/* start-up configuration: what needs a restart to change */
	struct serve_config cfg;
	const char *config_path; /* NULL: none */
	bool config_given;       /* --config: the file must exist */
	struct flag flags[MAX_FLAGS];
	int nflags;
	const char *config_paths[CONFIG_MAX_LIST], *file_excludes[CONFIG_MAX_LIST];
	struct crawl_opts opts;
	char *token; /* from token or token_file */

	int proc_fd;
	struct store *st;
	pthread_mutex_t store_lock; /* the store handle and what follows */
	bool store_closed;
	bool store_trouble; /* in an episode of failed writes */
	bool abandoned;     /* a lane thread was left running: keep d */
	int pending[NLANES];

	struct server *srv;
	struct server_stats stats;
	struct lane lanes[NLANES];

	/* main thread only: the schedule and what reloads change */
	double interval[CONFIG_MAX_FEATURES]; /* 0: off */
	int64_t next_due[CONFIG_MAX_FEATURES];
	int64_t next_maintain;
	int workers;
	double timeout, file_timeout;
	int epfd, sigfd, tfd;
};

static int nfeat(void)
{
	return feature_count < CONFIG_MAX_FEATURES ? (int)feature_count : CONFIG_MAX_FEATURES;
}

static int metric_index(void)
{
	for (int i = 0; i < nfeat(); i++)
		if (strcmp(feature_table[i]->name, "metric") == 0)
			return i;
	return -1;
}

/* ---- id sets ------------------------------------------------------------------ */

static uint64_t id_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static bool idset_has(const struct idset *s, uint64_t h)
{
	return s->n && bsearch(&h, s->v, (size_t)s->n, sizeof(h), cmp_u64);
}

static void idset_add(struct idset *s, uint64_t h)
{
	if (s->n == s->cap) {
		int cap = s->cap ? s->cap * 2 : 32;
		uint64_t *v = realloc(s->v, (size_t)cap * sizeof(*v));
		if (!v)
			return; /* a system missing here is crawled in full again: harmless */
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = h;
}

static void idset_sort(struct idset *s)
{
	if (s->n > 1)
		qsort(s->v, (size_t)s->n, sizeof(*s->v), cmp_u64);
}

/* ---- the locked store sink ----------------------------------------------------- */

struct lsink {
	struct sink base;
	struct daemon *d;
	int lane;
	struct sink *inner;
	bool in_frame;    /* bytes written since the last flush */
	uint64_t records; /* records of the frame being written */
};

static const struct sink_ops lsink_ops;

/* The value of the header's "records": field; 0 if none. */
static uint64_t header_records(const char *p, size_t len)
{
	const char *r = memmem(p, len, "\"records\":", 10);
	uint64_t v = 0;
	if (r) {
		r += 10;
		if (!parse_u64(&r, p + len, &v))
			v = 0;
	}
	return v;
}

/* Sum the numbers of the header's "errors":{...} object. */
static uint64_t header_errors(const char *p, size_t len)
{
	const char *end = p + len;
	const char *e = memmem(p, len, "\"errors\":{", 10);
	uint64_t sum = 0;
	if (!e)
		return 0;
	for (e += 10; e < end && *e != '}'; e++) {
		if (*e == ':') {
			const char *q = e + 1;
			uint64_t v;
			if (parse_u64(&q, end, &v))
				sum += v;
		}
	}
	return sum;
}

/* The first write of a frame is its header line: note its counts. */
static void note_header(struct lsink *ls, const char *data, size_t len)
{
	if (ls->in_frame)
		return;
	const char *nl = memchr(data, '\n', len);
	size_t hl = nl ? (size_t)(nl - data) : len;
	ls->records = header_records(data, hl);
	uint64_t errs = header_errors(data, hl);
	if (errs)
		atomic_fetch_add(&ls->d->stats.crawl_errors, errs);
}

static int lsink_write(struct sink *s, const void *data, size_t len)
{
	struct lsink *ls = (struct lsink *)s;
	pthread_mutex_lock(&ls->d->store_lock);
	int r = -ESHUTDOWN;
	if (!ls->d->store_closed) {
		note_header(ls, data, len);
		r = sink_write(ls->inner, data, len);
		ls->in_frame = true;
	}
	pthread_mutex_unlock(&ls->d->store_lock);
	return r;
}

static int lsink_write_fd(struct sink *s, int fd, size_t len)
{
	struct lsink *ls = (struct lsink *)s;
	pthread_mutex_lock(&ls->d->store_lock);
	int r = ls->d->store_closed ? -ESHUTDOWN : sink_write_fd(ls->inner, fd, len);
	ls->in_frame = true;
	pthread_mutex_unlock(&ls->d->store_lock);
	return r;
}

static int total_pending(const struct daemon *d)
{
	int n = 0;
	for (int i = 0; i < NLANES; i++)
		n += d->pending[i];
	return n;
}

/* After a flush (store_lock held): counters, and one log line per episode. */
static void note_flush(struct lsink *ls, int r, int before)
{
	struct daemon *d = ls->d;
	int after = sink_store_pending(ls->inner);
	bool refused = r < 0 && r != -ENOSPC && r != -EBUSY; /* this frame: dropped */
	int stored = before + (ls->in_frame && !refused ? 1 : 0) - after;
	if (stored > 0) {
		atomic_fetch_add(&d->stats.frames_stored, (uint64_t)stored);
		atomic_store(&d->stats.last_frame_id, sink_store_last_id(ls->inner));
	}
	if (ls->in_frame && r == 0)
		atomic_fetch_add(&d->stats.records_stored, ls->records);
	if (refused && ls->in_frame)
		atomic_fetch_add(&d->stats.frames_failed, 1);
	d->pending[ls->lane] = after;
	int pending = total_pending(d);
	atomic_store(&d->stats.pending_frames, pending);
	if (r < 0 && !d->store_trouble) {
		d->store_trouble = true;
		if (r == -ENOSPC) {
			log_error("store %s: disk full; %d frames pending (kept in memory, retried "
			          "at every crawl; reads still served)",
			          d->cfg.db_path, pending);
			server_stats_set_error(&d->stats, "store %s: disk full; %d frames pending",
			                       d->cfg.db_path, pending);
		} else {
			log_error("store %s: cannot store frames: %s; %d frames pending",
			          d->cfg.db_path, strerror(-r), pending);
			server_stats_set_error(&d->stats, "store %s: %s; %d frames pending",
			                       d->cfg.db_path, strerror(-r), pending);
		}
	} else if (r == 0 && d->store_trouble && pending == 0) {
		d->store_trouble = false;
		log_warn("store %s: writing again; every pending frame is stored", d->cfg.db_path);
		server_stats_set_error(&d->stats, NULL);
	}
}

static int lsink_flush(struct sink *s)
{
	struct lsink *ls = (struct lsink *)s;
	pthread_mutex_lock(&ls->d->store_lock);
	int r = -ESHUTDOWN;
	if (!ls->d->store_closed) {
		int before = sink_store_pending(ls->inner);
		r = sink_flush(ls->inner);
		note_flush(ls, r, before);
	}
	ls->in_frame = false;
	ls->records = 0;
	pthread_mutex_unlock(&ls->d->store_lock);
	return r;
}

/* Closed with the store (store_lock held by the caller). */
static void lsink_close(struct sink *s)
{
	struct lsink *ls = (struct lsink *)s;
	sink_close(ls->inner);
	ls->inner = NULL;
}

static const struct sink_ops lsink_ops = {
    .name = "store",
    .write = lsink_write,
    .write_fd = lsink_write_fd,
    .flush = lsink_flush,
    .close = lsink_close,
};

static int lsink_open(struct daemon *d, int lane, struct sink **out)
{
	struct lsink *ls = calloc(1, sizeof(*ls));
	if (!ls)
		return -ENOMEM;
	int r = sink_store_open(d->st, &ls->inner);
	if (r < 0) {
		free(ls);
		return r;
	}
	ls->base.ops = &lsink_ops;
	snprintf(ls->base.desc, sizeof(ls->base.desc), "store %s", d->cfg.db_path);
	ls->d = d;
	ls->lane = lane;
	*out = &ls->base;
	return 0;
}

/* ---- a lane's work -------------------------------------------------------------- */

/*
 * A signature of the set of processes: a hash of the numeric entries of
 * /proc (one getdents pass, no file opened).  The same pids mean the same
 * containers, so discovery, which reads a namespace link per process, is
 * skipped at ticks where nothing started or exited (names and states are
 * refreshed every DISCOVER_FULL_NS anyway).  0 when /proc cannot be read.
 */
static uint64_t pid_signature(struct lane *l)
{
	if (l->procdir < 0)
		l->procdir = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->procdir < 0 || lseek(l->procdir, 0, SEEK_SET) < 0)
		return 0;
	char buf[16384];
	uint64_t h = 1469598103934665603ull, n = 0;
	ssize_t len;
	while ((len = getdents64(l->procdir, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < len;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);
			off += e->d_reclen;
			if (e->d_name[0] < '1' || e->d_name[0] > '9')
				continue;
			for (const char *c = e->d_name; *c; c++)
				h = (h ^ (unsigned char)*c) * 1099511628211ull;
			h = (h ^ '/') * 1099511628211ull;
			n++;
		}
	}
	return len < 0 ? 0 : h ^ n;
}

/* Rediscover the systems; false when it was skipped (nothing changed). */
static bool refresh_systems(struct lane *l)
{
	struct daemon *d = l->d;
	int64_t now = mono_ns();
	uint64_t sig = d->cfg.containers ? pid_signature(l) : 0;
	if (l->have_list && sig && sig == l->proc_sig && now - l->discovered_at < DISCOVER_FULL_NS)
		return false;
	container_list_free(&l->list);
	memset(&l->list, 0, sizeof(l->list));
	if (d->cfg.containers) {
		int r = containers_discover(d->proc_fd, &l->list);
		if (r < 0)
			log_warn("cannot list containers: %s", strerror(-r));
	}
	free(l->vms);
	l->vms = NULL;
	l->nvms = 0;
	if (d->cfg.vms) {
		int r = vms_discover(d->proc_fd, &l->vms, &l->nvms);
		if (r < 0)
			log_warn("cannot list VMs: %s", strerror(-r));
	}
	system_host_identity(&l->host);
	log_debug("lane %s: discovery: %d containers in %.1f ms", lane_names[l->idx], l->list.n,
	          (double)(mono_ns() - now) / 1e6);
	l->have_list = true;
	l->proc_sig = sig;
	l->discovered_at = now;
	return true;
}

static bool grow_targets(struct lane *l, int n)
{
	if (n <= l->cap)
		return true;
	struct crawl_target *t = realloc(l->targets, (size_t)n * sizeof(*t));
	if (!t)
		return false;
	l->targets = t;
	l->cap = n;
	return true;
}

/* Translate a mask over feature_table into one over the run's features. */
static uint64_t run_mask(uint64_t table_mask, const int *run_of)
{
	uint64_t m = 0;
	for (int i = 0; i < nfeat(); i++)
		if ((table_mask >> i) & 1 && run_of[i] >= 0)
			m |= 1ull << run_of[i];
	return m;
}

/* The same for QEMU guests (store lock held). */
static int sync_gone_vms(struct daemon *d, struct lane *l, int64_t now_ms)
{
	struct system_id *sys = calloc(l->nvms + 1, sizeof(*sys));
	const char **ids = calloc(l->nvms + 1, sizeof(*ids));
	int r = -ENOMEM;
	if (sys && ids) {
		for (size_t i = 0; i < l->nvms; i++) {
			vm_identity(&l->vms[i], &sys[i]);
			ids[i] = sys[i].id;
		}
		r = store_mark_gone(d->st, "vm", ids, (int)l->nvms, now_ms);
	}
	free(sys);
	free(ids);
	return r;
}

/* Tell the store which containers are present; only when the set changed. */
static void sync_gone(struct lane *l, const struct idset *now)
{
	struct daemon *d = l->d;
	uint64_t sig = id_hash("containers");
	for (int i = 0; i < now->n; i++)
		sig = (sig ^ now->v[i]) * 1099511628211ull;
	if (l->gone_synced && sig == l->gone_sig)
		return;
	const char **ids = calloc((size_t)l->list.n + 1, sizeof(*ids));
	if (!ids)
		return;
	for (int i = 0; i < l->list.n; i++)
		ids[i] = l->list.v[i].sys.id;
	int64_t now_ms = now_ns() / 1000000;
	pthread_mutex_lock(&d->store_lock);
	int r = -ESHUTDOWN;
	if (!d->store_closed) {
		r = store_mark_gone(d->st, "container", ids, l->list.n, now_ms);
		if (r == 0)
			r = sync_gone_vms(d, l, now_ms);
		if (r == 0 && !l->gone_synced) {
			const char *host = l->host.id;
			store_mark_gone(d->st, "host", &host, 1, now_ms);
		}
	}
	pthread_mutex_unlock(&d->store_lock);
	free(ids);
	if (r == 0) {
		l->gone_synced = true;
		l->gone_sig = sig;
	} else if (r != -ESHUTDOWN) {
		log_warn("store %s: cannot mark stopped containers gone: %s", d->cfg.db_path,
		         strerror(-r));
	}
}

static void poke_other_lanes(struct daemon *d)
{
	for (int i = 0; i < NLANES; i++) {
		struct lane *o = &d->lanes[i];
		if (i == LANE_FAST || !o->started)
			continue;
		pthread_mutex_lock(&o->lock);
		if (o->enabled & o->feats) {
			o->discover = true;
			pthread_cond_signal(&o->cv);
		}
		pthread_mutex_unlock(&o->lock);
	}
}

static void maintain(struct daemon *d)
{
	int64_t t0 = mono_ns();
	pthread_mutex_lock(&d->store_lock);
	int r = d->store_closed ? 0 : store_maintain(d->st, now_ns() / 1000000);
	pthread_mutex_unlock(&d->store_lock);
	if (r < 0)
		log_warn("store %s: maintenance failed: %s", d->cfg.db_path, strerror(-r));
	else
		log_debug("store maintenance: %.1f ms", (double)(mono_ns() - t0) / 1e6);
}

/*
 * Views kept between ticks.  A crawl of metric alone (most ticks) reads
 * counters through a view whose set-up (namespace and cgroup directory
 * descriptors, netlink sockets in the system's network namespace, the
 * mount table) does not change while the system lives, so the lane keeps
 * one view per system for those crawls instead of opening two per tick
 * (one to prime, one to crawl).  Crawls with other features (processes,
 * sockets: they need the container's current pids) open fresh views.  A
 * kept view is dropped when its system is gone or restarted (another
 * init pid), and left alone (never closed) when its crawl was abandoned.
 */
/* The kept view of system h (opened for `pid`): 1 with *out set, or 0 when
 * one must be opened (room for it made; a view of an older pid closed),
 * or -ENOMEM. */
static int kept_find(struct lane *l, uint64_t h, int pid, struct view **out)
{
	for (int i = 0; i < l->nviews; i++) {
		struct kept_view *k = &l->views[i];
		if (k->h != h)
			continue;
		if (k->init_pid == pid) {
			*out = k->v;
			return 1;
		}
		view_destroy(k->v);
		l->views[i] = l->views[--l->nviews];
		break;
	}
	if (l->nviews == l->capviews) {
		int cap = l->capviews ? l->capviews * 2 : 16;
		struct kept_view *v = realloc(l->views, (size_t)cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		l->views = v;
		l->capviews = cap;
	}
	return 0;
}

static struct view *kept_view(struct lane *l, uint64_t h, const struct container *c)
{
	int pid = c ? c->init_pid : 0;
	struct view *v;
	int k = kept_find(l, h, pid, &v);
	if (k)
		return k > 0 ? v : NULL;
	int r = c ? view_container_open(l->d->proc_fd, c, &v) : view_host_open(&v);
	if (r < 0)
		return NULL; /* the crawl opens its own and reports the error */
	l->views[l->nviews++] = (struct kept_view){.h = h, .init_pid = pid, .v = v};
	return v;
}

/* Forget a view without closing it: an abandoned crawl may still use it. */
static void forget_view(struct lane *l, const struct view *v)
{
	for (int i = 0; i < l->nviews; i++)
		if (l->views[i].v == v) {
			l->views[i] = l->views[--l->nviews];
			return;
		}
}

/* Close the kept views of systems no longer present. */
static void prune_views(struct lane *l, const struct idset *present)
{
	for (int i = 0; i < l->nviews;) {
		if (idset_has(present, l->views[i].h)) {
			i++;
			continue;
		}
		view_destroy(l->views[i].v);
		l->views[i] = l->views[--l->nviews];
	}
}

static void free_views(struct lane *l)
{
	for (int i = 0; i < l->nviews; i++)
		view_destroy(l->views[i].v);
	free(l->views);
	l->views = NULL;
	l->nviews = l->capviews = 0;
}

/*
 * QEMU guests: their views are always kept (opening one locates the guest
 * kernel; a kept one reads the live RAM at every crawl).  A guest whose
 * kernel cannot be located (still in firmware, not Linux) is retried every
 * VM_RETRY_NS, not at every tick.
 */
#define VM_RETRY_NS (30 * 1000000000LL)

static struct view *kept_vm_view(struct lane *l, uint64_t h, const struct vm_target *vt)
{
	struct view *v;
	int k = kept_find(l, h, vt->pid, &v);
	if (k)
		return k > 0 ? v : NULL;
	int64_t now = mono_ns();
	for (int i = 0; i < l->nvm_fail; i++)
		if (l->vm_fail[i].h == h) {
			if (now - l->vm_fail[i].at < VM_RETRY_NS)
				return NULL;
			l->vm_fail[i] = l->vm_fail[--l->nvm_fail];
			break;
		}
	char err[512];
	if (vm_target_open(vt, NULL, &v, err, sizeof(err)) < 0) {
		struct vm_fail *f = realloc(l->vm_fail, (size_t)(l->nvm_fail + 1) * sizeof(*f));
		if (f) {
			l->vm_fail = f;
			l->vm_fail[l->nvm_fail++] = (struct vm_fail){.h = h, .at = now};
		}
		if (l->idx == LANE_FAST)
			log_info("VM %s (retrying every %d s)", err,
			         (int)(VM_RETRY_NS / 1000000000));
		return NULL;
	}
	l->views[l->nviews++] = (struct kept_view){.h = h, .init_pid = vt->pid, .v = v};
	return v;
}

/* Features a VM has: all but those reading files (os reads the kernel). */
static uint64_t vm_feature_mask(void)
{
	uint64_t m = 0;
	for (int i = 0; i < nfeat(); i++)
		if (!feature_table[i]->needs_files)
			m |= 1ull << i;
	return m;
}

/* Add the guests due for a crawl to `out`; returns how many. */
static int vm_targets(struct lane *l, struct idset *now, struct crawl_target *out, uint64_t enabled,
                      uint64_t due, const int *run_of, int *new_systems)
{
	int n = 0;
	uint64_t vmask = vm_feature_mask();
	for (size_t i = 0; i < l->nvms; i++) {
		struct system_id sys;
		vm_identity(&l->vms[i], &sys);
		uint64_t h = id_hash(sys.id);
		bool is_new = !idset_has(&l->known, h);
		uint64_t m = (is_new ? enabled : (due & enabled)) & vmask;
		if (!m) {
			idset_add(now, h);
			continue;
		}
		struct view *v = kept_vm_view(l, h, &l->vms[i]);
		if (!v)
			continue; /* not known: crawled in full once it opens */
		idset_add(now, h);
		if (is_new)
			(*new_systems)++;
		struct crawl_target *t = &out[n++];
		memset(t, 0, sizeof(*t));
		t->sys = sys;
		t->feat_mask = run_mask(m, run_of);
		t->view = v;
	}
	return n;
}

struct job {
	uint64_t due, enabled;
	bool discover, maintain;
	int workers;
	double timeout, sample_interval;
};

static void lane_job(struct lane *l, const struct job *jb)
{
	struct daemon *d = l->d;
	int64_t t0 = mono_ns();
	uint64_t enabled = jb->enabled & l->feats;
	bool discovered = false;
	if (enabled && (jb->discover || !l->have_list))
		discovered = refresh_systems(l);

	/* the run's features: the enabled ones of this lane, in table order */
	const struct feature *feats[64];
	int run_of[CONFIG_MAX_FEATURES], nf = 0;
	for (int i = 0; i < nfeat(); i++) {
		run_of[i] = -1;
		if ((enabled >> i) & 1) {
			run_of[i] = nf;
			feats[nf++] = feature_table[i];
		}
	}

	int mi = metric_index();
	uint64_t metric_only = mi >= 0 ? 1ull << mi : 0;
	struct idset *now = &l->next;
	int new_containers = 0, new_vms = 0, n = 0;
	now->n = 0;
	if (nf && grow_targets(l, 1 + l->list.n + (int)l->nvms)) {
		for (int i = -1; i < l->list.n; i++) {
			const struct system_id *sys = i < 0 ? &l->host : &l->list.v[i].sys;
			uint64_t h = id_hash(sys->id);
			bool is_new = !idset_has(&l->known, h);
			idset_add(now, h);
			uint64_t m = is_new ? enabled : (jb->due & enabled);
			if (!m)
				continue;
			if (is_new && i >= 0)
				new_containers++;
			struct crawl_target *t = &l->targets[n++];
			memset(t, 0, sizeof(*t)); /* reused: no hooks, nothing stale */
			t->container = i < 0 ? NULL : &l->list.v[i];
			t->sys = *sys;
			t->feat_mask = run_mask(m, run_of);
			t->view = m == metric_only ? kept_view(l, h, t->container) : NULL;
		}
		n += vm_targets(l, now, l->targets + n, enabled, jb->due, run_of, &new_vms);
	}
	if (n) {
		l->opts.sample_interval = jb->sample_interval;
		struct crawl_run run = {
		    .targets = l->targets,
		    .ntargets = n,
		    .feats = feats,
		    .nfeats = nf,
		    .opts = &l->opts,
		    .fmt = FRAME_JSON,
		    .sink = l->sink,
		    .proc_fd = d->proc_fd,
		    .workers = jb->workers,
		    .timeout = jb->timeout,
		};
		crawl_run(&run); /* store errors: logged by the locked sink */
		for (int i = 0; i < n; i++)
			if (l->targets[i].abandoned && l->targets[i].view)
				forget_view(l, l->targets[i].view);
		atomic_fetch_add(&d->stats.crawls, 1);
		atomic_store(&d->stats.last_crawl_ms, now_ns() / 1000000);
		atomic_store(&d->stats.last_crawl_us, (mono_ns() - t0) / 1000);
	}
	if (nf && (discovered || n)) { /* swap: the old set's memory is reused next time */
		idset_sort(now);
		struct idset old = l->known;
		l->known = *now;
		*now = old;
		if (discovered)
			prune_views(l, &l->known);
	}
	if (l->idx == LANE_FAST && discovered) {
		atomic_store(&d->stats.systems, 1 + l->list.n + (int)l->nvms);
		sync_gone(l, &l->known);
		if ((new_containers || new_vms) &&
		    l->runs > 0) /* the first run crawls all anyway */
			poke_other_lanes(d);
		if (new_containers)
			log_info("%d new container%s", new_containers,
			         new_containers > 1 ? "s" : "");
		if (new_vms)
			log_info("%d new VM%s", new_vms, new_vms > 1 ? "s" : "");
	}
	if (jb->maintain)
		maintain(d);
	l->runs++;
	log_debug("lane %s: %d system%s in %.1f ms", lane_names[l->idx], n, n == 1 ? "" : "s",
	          (double)(mono_ns() - t0) / 1e6);
}

static void *lane_main(void *arg)
{
	struct lane *l = arg;
	pthread_mutex_lock(&l->lock);
	for (;;) {
		while (!l->stop && !l->due && !l->discover && !l->maintain)
			pthread_cond_wait(&l->cv, &l->lock);
		if (l->stop)
			break;
		struct job jb = {
		    .due = l->due,
		    .enabled = l->enabled,
		    .discover = l->discover,
		    .maintain = l->maintain,
		    .workers = l->workers,
		    .timeout = l->timeout,
		    .sample_interval = l->sample_interval,
		};
		l->due = 0;
		l->discover = l->maintain = false;
		pthread_mutex_unlock(&l->lock);
		lane_job(l, &jb);
		pthread_mutex_lock(&l->lock);
	}
	l->done = true;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

/* ---- the schedule (main thread) ---------------------------------------------- */

static uint64_t enabled_mask(const struct daemon *d)
{
	uint64_t m = 0;
	for (int i = 0; i < nfeat(); i++)
		if (d->interval[i] > 0)
			m |= 1ull << i;
	return m;
}

/* min(1 s, interval / 2): rates on every tick, the wait never the tick */
static double sample_interval(const struct daemon *d)
{
	int mi = metric_index();
	double iv = mi >= 0 ? d->interval[mi] : 10;
	return iv / 2 < 1 ? iv / 2 : 1;
}

static void post(struct daemon *d, int lane, uint64_t due, bool discover, bool maint)
{
	struct lane *l = &d->lanes[lane];
	pthread_mutex_lock(&l->lock);
	l->due |= due & l->feats;
	l->discover |= discover;
	l->maintain |= maint;
	l->enabled = enabled_mask(d);
	l->workers = d->workers;
	l->timeout = lane == LANE_FILE ? d->file_timeout : d->timeout;
	l->sample_interval = sample_interval(d);
	if (l->due || l->discover || l->maintain)
		pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->lock);
}

/* Post what is due now; move each due feature to its next tick (ticks
 * missed while a lane was busy are skipped, not run in a burst). */
static void run_due(struct daemon *d)
{
	int64_t now = mono_ns() + 5 * 1000000; /* 5 ms early is on time */
	uint64_t due = 0;
	for (int i = 0; i < nfeat(); i++) {
		if (d->interval[i] <= 0 || d->next_due[i] > now)
			continue;
		due |= 1ull << i;
		int64_t step = (int64_t)(d->interval[i] * 1e9);
		d->next_due[i] += step;
		if (d->next_due[i] <= now)
			d->next_due[i] = now + step;
	}
	bool maint = d->next_maintain <= now;
	if (maint)
		d->next_maintain = now + MAINTAIN_EVERY_NS;
	int mi = metric_index();
	bool discover = mi >= 0 && (due >> mi) & 1;
	for (int i = 0; i < NLANES; i++) {
		uint64_t mine = due & d->lanes[i].feats;
		bool m = maint && i == LANE_FAST;
		if (mine || m || (discover && i == LANE_FAST))
			post(d, i, mine, discover && i == LANE_FAST, m);
	}
}

static void arm_timer(struct daemon *d)
{
	int64_t next = d->next_maintain;
	for (int i = 0; i < nfeat(); i++)
		if (d->interval[i] > 0 && d->next_due[i] < next)
			next = d->next_due[i];
	if (next <= 0)
		next = 1;
	struct itimerspec its = {
	    .it_value = {.tv_sec = next / 1000000000, .tv_nsec = next % 1000000000}};
	if (timerfd_settime(d->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_error("timerfd: %s", strerror(errno));
}

static void apply_schedule(struct daemon *d, const struct serve_config *c, bool at_start)
{
	int64_t now = mono_ns();
	for (int i = 0; i < nfeat(); i++) {
		double old = d->interval[i], iv = c->interval[i];
		d->interval[i] = iv;
		if (at_start || (iv > 0 && old <= 0)) {
			d->next_due[i] = now; /* everything at start; a feature turned on at once */
		} else if (iv > 0 && iv != old) {
			int64_t sooner = now + (int64_t)(iv * 1e9);
			if (sooner < d->next_due[i])
				d->next_due[i] = sooner;
			log_info("interval of %s: %gs -> %gs", feature_table[i]->name, old, iv);
		} else if (iv <= 0 && old > 0) {
			log_info("feature %s turned off", feature_table[i]->name);
		}
	}
	d->workers = c->workers;
	d->timeout = c->timeout;
	d->file_timeout = c->file_timeout;
	log_threshold = c->log_level;
}

/* ---- configuration -------------------------------------------------------------- */

/* Defaults, then the file, then the flags.  0, or -1 with msg set. */
static int build_config(const struct daemon *d, struct serve_config *c, char *msg, size_t len)
{
	char err[600];
	if (config_defaults(c) < 0) {
		snprintf(msg, len, "out of memory");
		return -1;
	}
	if (d->config_path) {
		int r = config_load_file(c, d->config_path, err, sizeof(err));
		if (r < 0 && !(r == -ENOENT && !d->config_given)) {
			snprintf(msg, len, "%s", err);
			config_free(c);
			return -1;
		}
	}
	for (int i = 0; i < d->nflags; i++) {
		const struct flag *f = &d->flags[i];
		if (config_set(c, f->section, f->key, f->value, f->replace, err, sizeof(err)) < 0) {
			snprintf(msg, len, "--%s: %s", f->name, err);
			config_free(c);
			return -1;
		}
	}
	return 0;
}

static bool reloadable(const char *line)
{
	return strncmp(line, "[intervals] ", 12) == 0 || strncmp(line, "[log] level ", 12) == 0 ||
	       strncmp(line, "[crawl] workers ", 16) == 0 ||
	       strncmp(line, "[crawl] timeout ", 16) == 0 ||
	       strncmp(line, "[crawl] file_timeout ", 21) == 0;
}

/* Say which options changed that only a restart applies. */
static void warn_restart_needed(const struct serve_config *old, const struct serve_config *neu)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	config_describe(old, &a);
	config_describe(neu, &b);
	const char *p = buf_str(&a), *q = buf_str(&b);
	while (*p && *q) {
		const char *pe = strchr(p, '\n'), *qe = strchr(q, '\n');
		if (!pe || !qe)
			break;
		if ((pe - p != qe - q || memcmp(p, q, (size_t)(pe - p)) != 0) && !reloadable(p)) {
			const char *eq = memchr(p, '=', (size_t)(pe - p));
			int klen = eq ? (int)(eq - p - 1) : (int)(pe - p);
			log_warn("%.*s changed; restart vantage serve to apply it", klen, p);
		}
		p = pe + 1;
		q = qe + 1;
	}
	buf_free(&a);
	buf_free(&b);
}

static void reload(struct daemon *d)
{
	char msg[800];
	struct serve_config c;
	if (!d->config_given) /* the default file may have appeared or gone */
		d->config_path =
		    access(CONFIG_DEFAULT_FILE, F_OK) == 0 ? CONFIG_DEFAULT_FILE : NULL;
	const char *what = d->config_path ? d->config_path : "(no config file)";
	if (build_config(d, &c, msg, sizeof(msg)) < 0) {
		log_error("reload: %s; keeping the current configuration", msg);
		return;
	}
	log_threshold = c.log_level;
	log_info("reloading the configuration from %s", what);
	warn_restart_needed(&d->cfg, &c);
	apply_schedule(d, &c, false);
	config_free(&c);
	run_due(d);
	arm_timer(d);
}

/* The token from [api] token or token_file; 0 or -1 with msg. */
static int load_token(struct daemon *d, char *msg, size_t len)
{
	if (d->cfg.token && d->cfg.token_file) {
		snprintf(msg, len, "give [api] token or token_file, not both");
		return -1;
	}
	if (d->cfg.token) {
		d->token = strdup(d->cfg.token);
		return d->token ? 0 : -1;
	}
	if (!d->cfg.token_file)
		return 0;
	struct buf b = BUF_INIT;
	ssize_t n = read_file_at(AT_FDCWD, d->cfg.token_file, &b, 4096);
	if (n < 0) {
		snprintf(msg, len, "cannot read token_file %s: %s", d->cfg.token_file,
		         strerror((int)-n));
		buf_free(&b);
		return -1;
	}
	const char *s = buf_str(&b);
	size_t l = strcspn(s, "\r\n");
	trim(&s, &l);
	if (!l) {
		snprintf(msg, len, "token_file %s is empty", d->cfg.token_file);
		buf_free(&b);
		return -1;
	}
	d->token = strndup(s, l);
	buf_free(&b);
	return d->token ? 0 : -1;
}

/* Refuse a non-loopback address without a token before anything is made
 * (the server checks it too). */
static int check_api_address(const struct daemon *d, char *msg, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	bool loopback;
	if (strcmp(d->cfg.listen, "off") == 0)
		return 0;
	if (server_parse_listen(d->cfg.listen, &ss, &sl, &loopback, msg, len) < 0)
		return -1;
	if (!loopback && !(d->token && *d->token)) {
		snprintf(msg, len,
		         "listen address '%s' is reachable from other hosts: set [api] token "
		         "or token_file (--token-file FILE), or listen on 127.0.0.1",
		         d->cfg.listen);
		return -1;
	}
	return 0;
}

/* ---- start-up -------------------------------------------------------------------- */

static void serve_usage(FILE *out)
{
	fprintf(out,
	        "Usage: vantage serve [OPTIONS]\n"
	        "\n"
	        "Watch this host, its containers and its QEMU guests (from their RAM): crawl\n"
	        "each feature on its own interval into the store, notice new containers and\n"
	        "VMs within one metric interval and mark stopped ones gone, and serve the\n"
	        "REST API and /metrics.  Logs go to stderr.\n"
	        "Signals: SIGTERM/SIGINT finish the crawl in progress, close the store and\n"
	        "exit 0; SIGHUP reloads the configuration file (intervals, log level,\n"
	        "workers, time limits) and keeps the current one if the file has an error.\n"
	        "\n"
	        "Every option can be set in the configuration file (INI) or as a flag; flags\n"
	        "win.  Shown below: the flag, what it does, and its key in the file with\n"
	        "the default.\n"
	        "\n"
	        "  --config FILE                 the configuration file (default\n"
	        "                                %s when it exists)\n"
	        "  -h, --help                    show this help\n",
	        CONFIG_DEFAULT_FILE);
	config_print_help(out);
	fprintf(out, "\n"
	             "Flags take their value as --flag VALUE or --flag=VALUE.  See\n"
	             "docs/configuration.md and docs/running.md.\n"
	             "Exit status: 0 stopped by a signal, 1 runtime failure (the store or the\n"
	             "address cannot be opened), 2 bad usage or configuration.\n");
}

/* argv -> d->flags and the config file; EXIT_OK to go on, else a status. */
static int parse_args(struct daemon *d, int argc, char **argv, bool *help)
{
	bool list_seen[64] = {0};
	const char *list_keys[64];
	int nlist = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			*help = true;
			return EXIT_OK;
		}
		if (strncmp(a, "--", 2) != 0 || !a[2]) {
			fprintf(stderr,
			        "vantage serve: unexpected argument '%s'\n"
			        "Try 'vantage serve --help'.\n",
			        a);
			return EXIT_USAGE;
		}
		char name[64];
		const char *eq = strchr(a + 2, '=');
		size_t nlen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (nlen >= sizeof(name)) {
			fprintf(stderr, "vantage serve: unknown option '%s'\n", a);
			return EXIT_USAGE;
		}
		memcpy(name, a + 2, nlen);
		name[nlen] = 0;
		const char *value = eq ? eq + 1 : NULL;
		if (strcmp(name, "config") == 0) {
			if (!value && i + 1 < argc)
				value = argv[++i];
			if (!value || !*value) {
				fprintf(stderr, "vantage serve: --config needs a file\n");
				return EXIT_USAGE;
			}
			d->config_path = value;
			d->config_given = true;
			continue;
		}
		const char *section, *key, *fixed;
		bool has_arg;
		if (!config_flag_find(name, &section, &key, &has_arg, &fixed)) {
			fprintf(stderr,
			        "vantage serve: unknown option '--%s'\n"
			        "Try 'vantage serve --help'.\n",
			        name);
			return EXIT_USAGE;
		}
		if (has_arg && !value) {
			if (i + 1 >= argc) {
				fprintf(stderr, "vantage serve: --%s needs a value\n", name);
				return EXIT_USAGE;
			}
			value = argv[++i];
		} else if (!has_arg) {
			if (value) {
				fprintf(stderr, "vantage serve: --%s takes no value\n", name);
				return EXIT_USAGE;
			}
			value = fixed;
		}
		if (d->nflags == MAX_FLAGS) {
			fprintf(stderr, "vantage serve: too many options\n");
			return EXIT_USAGE;
		}
		/* the first flag of a list replaces the file's list; later ones add */
		bool replace = true;
		for (int k = 0; k < nlist; k++)
			if (strcmp(list_keys[k], key) == 0)
				replace = !list_seen[k];
		if (replace && nlist < 64) {
			list_keys[nlist] = key;
			list_seen[nlist++] = true;
		}
		struct flag *f = &d->flags[d->nflags++];
		*f = (struct flag){
		    .section = section, .key = key, .value = value, .replace = replace};
		snprintf(f->name, sizeof(f->name), "%s", name);
	}
	return EXIT_OK;
}

static int mkdir_p(const char *dir, mode_t mode)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int make_db_dir(const char *path)
{
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	return mkdir_p(dir, 0750);
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int start_lanes(struct daemon *d)
{
	for (int i = 0; i < NLANES; i++) {
		struct lane *l = &d->lanes[i];
		l->idx = i;
		l->d = d;
		l->procdir = -1;
		l->opts = d->opts;
		pthread_mutex_init(&l->lock, NULL);
		pthread_cond_init(&l->cv, NULL);
		for (int f = 0; f < nfeat(); f++)
			if (lane_of(feature_table[f]->name) == i)
				l->feats |= 1ull << f;
		int r = lsink_open(d, i, &l->sink);
		if (r < 0) {
			log_error("store %s: cannot open the store sink: %s", d->cfg.db_path,
			          strerror(-r));
			return r;
		}
		if (pthread_create(&l->tid, NULL, lane_main, l) != 0) {
			log_error("cannot start a crawl thread");
			return -EAGAIN;
		}
		l->started = true;
	}
	return 0;
}

/* Wait until lane l has stopped, at most `secs` (< 0: no limit). */
static bool wait_lane(struct lane *l, double secs)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t end = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + (int64_t)(secs * 1e9);
	ts.tv_sec = end / 1000000000;
	ts.tv_nsec = end % 1000000000;
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

static void stop_lanes(struct daemon *d)
{
	bool joined[NLANES] = {0};
	for (int i = 0; i < NLANES; i++) {
		struct lane *l = &d->lanes[i];
		if (!l->started)
			continue;
		pthread_mutex_lock(&l->lock);
		l->stop = true;
		pthread_cond_signal(&l->cv);
		pthread_mutex_unlock(&l->lock);
	}
	for (int i = 0; i < NLANES; i++) {
		struct lane *l = &d->lanes[i];
		if (!l->started)
			continue;
		/* the fast lane's crawl is short (crawl_run gives up on a stuck
		 * system after its limit + 1 s); the others get a few seconds,
		 * then their frame is given up: a file walk may take an hour */
		double limit = i == LANE_FAST ? -1 : i == LANE_SLOW ? 10 : 3;
		if (wait_lane(l, limit)) {
			pthread_join(l->tid, NULL);
			joined[i] = true;
		} else {
			log_warn("the %s crawl did not finish in time; its frame is not stored",
			         lane_names[i]);
			pthread_detach(l->tid);
			d->abandoned = true;
		}
	}
	/* the last chance for frames kept back by a full disk, then close */
	pthread_mutex_lock(&d->store_lock);
	int pending = 0;
	for (int i = 0; i < NLANES; i++) {
		struct lane *l = &d->lanes[i];
		if (!l->sink)
			continue;
		struct lsink *ls = (struct lsink *)l->sink;
		if (ls->inner && sink_store_pending(ls->inner) > 0) {
			int before = sink_store_pending(ls->inner);
			note_flush(ls, sink_flush(ls->inner), before);
			pending += sink_store_pending(ls->inner);
		}
		lsink_close(l->sink);
		if (joined[i])
			free(l->sink);
		l->sink = NULL;
	}
	if (pending)
		log_error("store %s: %d frames could not be stored before exit", d->cfg.db_path,
		          pending);
	store_close(d->st);
	d->st = NULL;
	d->store_closed = true;
	pthread_mutex_unlock(&d->store_lock);
	for (int i = 0; i < NLANES; i++) {
		struct lane *l = &d->lanes[i];
		if (!joined[i])
			continue; /* still in use by its thread: left for exit */
		free_views(l);
		if (l->procdir >= 0)
			close(l->procdir);
		container_list_free(&l->list);
		free(l->vms);
		free(l->vm_fail);
		free(l->known.v);
		free(l->next.v);
		free(l->targets);
	}
}

static int setup_fds(struct daemon *d)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	d->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sigfd < 0 || d->tfd < 0 || d->epfd < 0)
		return -errno;
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = d->sigfd};
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->sigfd, &ev) < 0)
		return -errno;
	ev.data.fd = d->tfd;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->tfd, &ev) < 0)
		return -errno;
	return 0;
}

/* The loop; returns when asked to stop. */
static void main_loop(struct daemon *d)
{
	run_due(d);
	arm_timer(d);
	for (;;) {
		struct epoll_event ev[4];
		int n = epoll_wait(d->epfd, ev, 4, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("epoll_wait: %s", strerror(errno));
			return;
		}
		for (int i = 0; i < n; i++) {
			if (ev[i].data.fd == d->tfd) {
				uint64_t x;
				while (read(d->tfd, &x, sizeof(x)) > 0)
					;
				run_due(d);
				arm_timer(d);
			} else if (ev[i].data.fd == d->sigfd) {
				struct signalfd_siginfo si;
				while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						reload(d);
					} else {
						log_info(
						    "SIG%s: finishing the crawl in progress and "
						    "stopping",
						    sigabbrev_np((int)si.ssi_signo));
						return;
					}
				}
			}
		}
	}
}

static void close_fds(struct daemon *d)
{
	if (d->epfd >= 0)
		close(d->epfd);
	if (d->tfd >= 0)
		close(d->tfd);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->proc_fd >= 0)
		close(d->proc_fd);
}

static void fill_opts(struct daemon *d)
{
	d->opts = *d->cfg.crawl; /* borrowed: the settings are d->cfg's */
	d->opts.progress = false;
	crawl_opts_fit(&d->opts, d->cfg.interval);
}

/* Open the store (creating its directory) and start the API. */
static int open_store_and_api(struct daemon *d)
{
	int r = make_db_dir(d->cfg.db_path);
	if (r < 0) {
		fprintf(stderr, "vantage serve: cannot create the directory of the store %s: %s\n",
		        d->cfg.db_path, strerror(-r));
		return EXIT_FAIL;
	}
	r = store_open(d->cfg.db_path, STORE_RW, &d->st);
	if (r < 0) {
		fprintf(stderr, "vantage serve: %s\n", store_errmsg(NULL));
		return EXIT_FAIL;
	}
	if (strcmp(d->cfg.listen, "off") == 0)
		return EXIT_OK;
	char err[512];
	struct server_opts so = {
	    .listen = d->cfg.listen,
	    .token = d->token,
	    .store_path = d->cfg.db_path,
	    .stats = &d->stats,
	};
	r = server_start(&so, &d->srv, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "vantage serve: %s\n", err);
		return r == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	fprintf(stderr, "vantage: API on http://%s\n", server_address(d->srv));
	return EXIT_OK;
}

int cmd_serve(int argc, char **argv)
{
	struct daemon *d = calloc(1, sizeof(*d));
	if (!d)
		return EXIT_FAIL;
	d->epfd = d->tfd = d->sigfd = d->proc_fd = -1;
	pthread_mutex_init(&d->store_lock, NULL);
	server_stats_init(&d->stats);
	int status = EXIT_OK;
	bool help = false;
	char msg[800];

	status = parse_args(d, argc, argv, &help);
	if (status != EXIT_OK || help) {
		if (help)
			serve_usage(stdout);
		goto out_free;
	}
	if (!d->config_path && access(CONFIG_DEFAULT_FILE, F_OK) == 0)
		d->config_path = CONFIG_DEFAULT_FILE;
	if (build_config(d, &d->cfg, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "vantage serve: %s\n", msg);
		status = EXIT_USAGE;
		goto out_free;
	}
	if (load_token(d, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "vantage serve: %s\n", msg);
		status = EXIT_USAGE;
		goto out_cfg;
	}
	if (check_api_address(d, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "vantage serve: %s\n", msg);
		status = EXIT_USAGE;
		goto out_cfg;
	}
	log_threshold = d->cfg.log_level;
	fill_opts(d);

	/* signals go to the signalfd only, in every thread made from here */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	umask(027);
	raise_nofile();

	d->proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->proc_fd < 0 || setup_fds(d) < 0) {
		fprintf(stderr,
		        "vantage serve: cannot set up /proc, signalfd, timerfd or epoll: %s\n",
		        strerror(errno));
		status = EXIT_FAIL;
		goto out_fds;
	}
	status = open_store_and_api(d);
	if (status != EXIT_OK)
		goto out_store;
	atomic_store(&d->stats.started_ms, now_ns() / 1000000);
	if (d->config_path)
		log_info("configuration from %s", d->config_path);
	log_info("store %s; metric every %gs", d->cfg.db_path,
	         metric_index() >= 0 ? d->cfg.interval[metric_index()] : 0.0);
	apply_schedule(d, &d->cfg, true);
	d->next_maintain = mono_ns() + MAINTAIN_EVERY_NS;
	if (start_lanes(d) < 0) {
		status = EXIT_FAIL;
		stop_lanes(d);
		goto out_server;
	}
	main_loop(d);
	stop_lanes(d);
	log_info("stopped; store %s closed", d->cfg.db_path);
out_server:
	server_stop(d->srv);
out_store:
	if (d->st)
		store_close(d->st);
out_fds:
	close_fds(d);
	free(d->token);
out_cfg:
	config_free(&d->cfg);
out_free:
	if (!d->abandoned) { /* else a lane thread may still look at d until exit */
		server_stats_destroy(&d->stats);
		free(d);
	}
	return status;
}
