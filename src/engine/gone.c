/*
 * gone.c - why the systems the daemon saw went away (see gone.h): a list
 * of the containers and VMs of the last discovery, each with its first
 * process and the OOM-kill counter of its cgroup, and the reasons of
 * those that went, queued for the store.
 */
#include "gone.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../linux/proc_parse.h"
#include "../targets/cgroup_id.h"
#include "../targets/containers.h"
#include "../targets/gone_reason.h"
#include "../targets/runtime_meta.h"
#include "../targets/vms.h"
#include "../util/buf.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "../views/host/cgroup.h"

#define RETRY_NS 1000000000LL /* between looks for a missing exit code */
#define OOM_TRIES 5           /* discoveries that try to open a counter */

struct entry {
	char *id;
	bool vm;                  /* else a container */
	char runtime[32];         /* a container's */
	char cid[128];            /* a container's */
	int pid;                  /* its first process (container init, QEMU) */
	uint64_t start;           /* that process's start time (ticks), 0 unknown */
	int oom_fd;               /* the OOM counter file, -1 none */
	int oom_tries;            /* discoveries that tried to open it */
	bool have_oom;            /* oom_last read */
	uint64_t oom_last;        /* the latest read */
	bool seen;                /* in the current discovery */
	bool gone;                /* reason given; waiting for its exit code */
	int64_t pending_ns;       /* mono: look for the exit code until then */
	int64_t next_try_ns;      /* mono: not before then */
	struct container_end end; /* what is known of a gone one */
};

struct gone_tracker {
	int proc_fd;
	struct cgroup_mounts cg;
	bool cg_tried;
	struct entry *v;
	int n, cap;
	struct gone_report *out;
	int nout, cap_out;
};

struct gone_tracker *gone_new(int proc_fd)
{
	struct gone_tracker *t = xcalloc(1, sizeof(*t));
	t->proc_fd = proc_fd;
	t->cg.v2_fd = -1;
	for (int i = 0; i < CG_NCTRL; i++)
		t->cg.v1_fd[i] = -1;
	return t;
}

static void clear_out(struct gone_tracker *t)
{
	for (int i = 0; i < t->nout; i++) {
		free(t->out[i].id);
		free(t->out[i].json);
	}
	t->nout = 0;
}

static void entry_free(struct entry *e)
{
	if (e->oom_fd >= 0)
		close(e->oom_fd);
	free(e->id);
}

void gone_free(struct gone_tracker *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->n; i++)
		entry_free(&t->v[i]);
	free(t->v);
	clear_out(t);
	free(t->out);
	cgroup_mounts_close(&t->cg);
	free(t);
}

const struct gone_report *gone_take(struct gone_tracker *t, int *n)
{
	*n = t->nout;
	return t->out;
}

static void report(struct gone_tracker *t, const char *id, const struct buf *json)
{
	if (t->nout == t->cap_out) {
		t->cap_out = t->cap_out ? 2 * t->cap_out : 8;
		t->out = xrealloc(t->out, (size_t)t->cap_out * sizeof(*t->out));
	}
	t->out[t->nout].id = xstrdup(id);
	t->out[t->nout].json = xstrdup(json->data ? json->data : "{}");
	t->nout++;
}

/* Read e's OOM counter (kept when the cgroup is gone: ENODEV). */
static void sample(struct entry *e)
{
	uint64_t v;
	if (e->oom_fd < 0 || cgroup_oom_read(e->oom_fd, &v) < 0)
		return;
	e->have_oom = true;
	e->oom_last = v;
}

/* ---- first sight ------------------------------------------------------------- */

static bool read_stat(int proc_fd, int pid, struct proc_stat *ps)
{
	char path[48], st[1024];
	snprintf(path, sizeof(path), "%d/stat", pid);
	ssize_t n = read_small_at(proc_fd, path, st, sizeof(st));
	return n > 0 && proc_parse_stat(st, (size_t)n, ps) == 0;
}

struct member_ctx {
	const struct container *c;
	int init_ppid;
	int proc_fd;
};

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static bool listed(const struct container *c, int pid)
{
	return c->npids > 0 &&
	       bsearch(&pid, c->pids, (size_t)c->npids, sizeof(int), cmp_int) != NULL;
}

/* A process of the container, the init's parent (the unshare that
 * started it is often in the same cgroup), or a child of one of its
 * processes forked since the discovery listed them (a shell's loop forks
 * all the time: without it the OOM counter of such a container was never
 * opened, and its gone reason never said it was OOM-killed). */
static bool member(void *ctx, int pid)
{
	const struct member_ctx *m = ctx;
	if (pid == m->init_ppid || listed(m->c, pid))
		return true;
	struct proc_stat ps;
	if (!read_stat(m->proc_fd, pid, &ps))
		return true; /* exited since the cgroup was read: no sign of another's */
	return listed(m->c, ps.ppid);
}

/* Open the OOM counter of container c's cgroup (memory hierarchy: v1 when
 * mounted, else cgroup2). */
static void open_oom(struct gone_tracker *t, struct entry *e, const struct container *c,
                     int init_ppid)
{
	e->oom_tries++;
	if (!t->cg_tried) {
		t->cg_tried = true;
		if (cgroup_mounts_open(t->proc_fd, "self/mountinfo", -1, &t->cg) < 0)
			t->cg.v2_fd = -1;
	}
	int hier = t->cg.v1_fd[CG_MEMORY] >= 0 ? CG_MEMORY : CG_V2;
	char file[8192], path[48], cg[1024];
	const char *s;
	size_t l;
	snprintf(path, sizeof(path), "%d/cgroup", c->init_pid);
	ssize_t n = read_small_at(t->proc_fd, path, file, sizeof(file));
	if (n <= 0)
		return;
	int r = cgroup_container_path(file, (size_t)n, hier == CG_V2 ? "" : "memory", &s, &l);
	if (r < 0 || l == 0 || l >= sizeof(cg))
		return;
	copy_str(cg, sizeof(cg), s, l);
	bool none = strcmp(c->sys.runtime, "none") == 0;
	if (r == 0 && !none)
		return; /* a runtime's container outside its cgroup here */
	if (strcmp(cg, "/") == 0)
		return; /* the host's root cgroup */
	if (r == 0) {   /* a runtime-less container: only a cgroup of its own */
		struct member_ctx mc = {.c = c, .init_ppid = init_ppid, .proc_fd = t->proc_fd};
		if (cgroup_foreign_pid(&t->cg, hier, cg, member, &mc) != 0)
			return;
	}
	int fd = cgroup_oom_open(&t->cg, hier, cg);
	if (fd < 0)
		return;
	e->oom_fd = fd;
	sample(e);
}

static void follow(struct gone_tracker *t, const struct target *tg)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->v = xrealloc(t->v, (size_t)t->cap * sizeof(*t->v));
	}
	struct entry *e = &t->v[t->n++];
	memset(e, 0, sizeof(*e));
	e->id = xstrdup(tg->sys.id);
	e->oom_fd = -1;
	e->seen = true;
	e->vm = tg->kind == &kind_vm;
	e->pid = tg->gen;
	struct proc_stat ps;
	bool have_ps = e->pid > 0 && read_stat(t->proc_fd, e->pid, &ps);
	if (have_ps)
		e->start = ps.starttime;
	if (e->vm)
		return;
	const struct container *c = tg->obj;
	copy_str(e->runtime, sizeof(e->runtime), c->sys.runtime, strlen(c->sys.runtime));
	copy_str(e->cid, sizeof(e->cid), c->cid, strlen(c->cid));
	open_oom(t, e, c, have_ps ? ps.ppid : -1);
}

/* A container whose counter could not be opened at first sight (a process
 * it had just started was not in its list yet): try again, a few times. */
static void reopen_oom(struct gone_tracker *t, struct entry *e, const struct target *tg)
{
	struct proc_stat ps;
	if (e->vm || e->oom_fd >= 0 || e->oom_tries >= OOM_TRIES)
		return;
	const struct container *c = tg->obj;
	open_oom(t, e, c, read_stat(t->proc_fd, c->init_pid, &ps) ? ps.ppid : -1);
}

/* ---- the counters -------------------------------------------------------------- */

void gone_sample(struct gone_tracker *t)
{
	clear_out(t);
	for (int i = 0; i < t->n; i++)
		if (!t->v[i].gone)
			sample(&t->v[i]);
}

/* ---- the end ---------------------------------------------------------------- */

/* The exit code of e's first process if it is still a zombie. */
static bool zombie_exit(const struct gone_tracker *t, const struct entry *e, int *code)
{
	char path[48], st[1024];
	struct stat_exit se;
	if (e->pid <= 0 || !e->start)
		return false;
	snprintf(path, sizeof(path), "%d/stat", e->pid);
	ssize_t n = read_small_at(t->proc_fd, path, st, sizeof(st));
	if (n <= 0 || gone_parse_stat(st, (size_t)n, &se) < 0 || se.state != 'Z' ||
	    se.starttime != e->start || !se.have_exit)
		return false;
	*code = gone_exit_code(se.wait_status);
	return *code >= 0;
}

/* Does the runtime write the exit code to a file we read? */
static bool runtime_writes_exit(const char *runtime)
{
	return strcmp(runtime, "podman") == 0 || strcmp(runtime, "docker") == 0 ||
	       strcmp(runtime, "cri-o") == 0 || strcmp(runtime, "cri") == 0;
}

/* The runtime's word on e's end; true when found. */
static bool runtime_exit(struct entry *e)
{
	if (!runtime_writes_exit(e->runtime))
		return false;
	int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return false;
	struct meta_ctx mc;
	int code;
	bool oom;
	const char *from;
	meta_ctx_init(&mc, root);
	int r = meta_exit(&mc, e->runtime, e->cid, &code, &oom, &from);
	meta_ctx_free(&mc);
	close(root);
	if (r < 0)
		return false;
	e->end.have_exit = true;
	e->end.exit_code = code;
	e->end.exit_from = from;
	e->end.oom_flag |= oom;
	return true;
}

static void container_end(struct gone_tracker *t, struct entry *e)
{
	struct buf b = BUF_INIT;
	int code;
	sample(e); /* once more, when the cgroup is still there */
	memset(&e->end, 0, sizeof(e->end));
	e->end.have_oom = e->have_oom;
	e->end.oom_kills = e->oom_last; /* the cgroup is the container's alone */
	if (!runtime_exit(e) && zombie_exit(t, e, &code)) {
		e->end.have_exit = true;
		e->end.exit_code = code;
		e->end.exit_from = "proc";
	}
	gone_container_json(&e->end, &b);
	report(t, e->id, &b);
	buf_free(&b);
	if (!e->end.have_exit && runtime_writes_exit(e->runtime)) {
		int64_t now = mono_ns();
		e->gone = true;
		e->pending_ns = now + GONE_PENDING_S * 1000000000LL;
		e->next_try_ns = now + RETRY_NS;
	}
}

static void vm_end(struct gone_tracker *t, const struct entry *e)
{
	struct buf b = BUF_INIT;
	int code = 0;
	bool have = zombie_exit(t, e, &code);
	gone_vm_json(e->pid, false, have, code, &b);
	report(t, e->id, &b);
	buf_free(&b);
}

/* Drop entry i (swap with the last). */
static void drop(struct gone_tracker *t, int i)
{
	entry_free(&t->v[i]);
	t->v[i] = t->v[--t->n];
}

static struct entry *find(struct gone_tracker *t, const char *id)
{
	for (int i = 0; i < t->n; i++)
		if (!t->v[i].gone && strcmp(t->v[i].id, id) == 0)
			return &t->v[i];
	return NULL;
}

void gone_update(struct gone_tracker *t, const struct target_set *set)
{
	for (int i = 0; i < t->n; i++)
		t->v[i].seen = false;
	for (int i = 0; i < set->n; i++) {
		const struct target *tg = &set->v[i];
		if (tg->kind != &kind_container && tg->kind != &kind_vm)
			continue;
		struct entry *e = find(t, tg->sys.id);
		if (!e) {
			follow(t, tg);
			continue;
		}
		e->seen = true;
		reopen_oom(t, e, tg);
		if (e->pid != tg->gen) { /* restarted under the same id */
			struct proc_stat ps;
			e->pid = tg->gen;
			e->start =
			    e->pid > 0 && read_stat(t->proc_fd, e->pid, &ps) ? ps.starttime : 0;
		}
	}
	for (int i = 0; i < t->n;) {
		struct entry *e = &t->v[i];
		if (e->seen || e->gone) {
			i++;
			continue;
		}
		if (e->vm)
			vm_end(t, e);
		else
			container_end(t, e);
		if (e->gone) /* looked for again */
			i++;
		else
			drop(t, i);
	}
}

void gone_retry(struct gone_tracker *t)
{
	int64_t now = mono_ns();
	for (int i = 0; i < t->n;) {
		struct entry *e = &t->v[i];
		if (!e->gone || now < e->next_try_ns) {
			i++;
			continue;
		}
		e->next_try_ns = now + RETRY_NS;
		if (runtime_exit(e)) {
			struct buf b = BUF_INIT;
			gone_container_json(&e->end, &b);
			report(t, e->id, &b);
			buf_free(&b);
		} else if (now < e->pending_ns) {
			i++;
			continue;
		}
		drop(t, i);
	}
}
