/*
 * vm_crawl.c - QEMU guests made ready for a crawl from their RAM (VM
 * introspection, src/vmi/ and src/views/vm.c): the SPECs resolved, the
 * views opened, the --pause hooks (see vm_crawl.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "../targets/vms.h"
#include "../util/json.h"
#include "../util/log.h"
#include "../util/util.h"
#include "../views/vm.h"
#include "../vmi/qmp.h"
#include "vm_crawl.h"

struct vm_job {
	char qmp[108];
	bool pause;
	char labels[PATH_MAX * 2 + 256];
	char ram_desc[PATH_MAX];
	struct qmp *q;
	int64_t paused_at;
	double paused_ms;
	char pause_err[200];
	struct vmi_stats st;
};

/* The frame's labels, through the JSON writer.  Written into the job's
 * fixed array: the frame holds a pointer to it until its header is out. */
static void set_labels(struct vm_job *j)
{
	struct buf b = BUF_INIT;
	struct json w;
	jw_init(&w, &b);
	jw_obj_begin(&w, NULL);
	jw_str(&w, "ram", j->ram_desc);
	jw_bool(&w, "profile_cached", j->st.cached);
	jw_double(&w, "locate_ms", j->st.locate_ms, 1);
	if (j->pause && !j->pause_err[0])
		jw_double(&w, "paused_ms", j->paused_ms, 1);
	else if (j->pause)
		jw_bool(&w, "paused", false);
	jw_obj_end(&w);
	if (jw_ok(&w) && b.len < sizeof(j->labels))
		memcpy(j->labels, buf_str(&b), b.len + 1);
	buf_free(&b);
}

static int vm_enter(struct crawl_target *t, struct frame *fr)
{
	struct vm_job *j = t->hook_arg;
	if (!j->pause)
		return 0;
	if (!j->qmp[0]) {
		snprintf(j->pause_err, sizeof(j->pause_err), "no QMP socket");
		frame_error(fr, ENOTSUP, "--pause: guest %s has no QMP socket; crawled live",
		            t->sys.name);
		set_labels(j);
		return 0;
	}
	int r = qmp_open(j->qmp, 3000, &j->q);
	if (!r)
		r = qmp_command(j->q, "stop", NULL, NULL);
	if (r) {
		snprintf(j->pause_err, sizeof(j->pause_err), "%s",
		         j->q && qmp_error(j->q)[0] ? qmp_error(j->q) : strerror(-r));
		frame_error(fr, -r,
		            "--pause: cannot stop guest %s through QMP %s (%s); crawled live",
		            t->sys.name, j->qmp, j->pause_err);
		if (j->q) {
			qmp_close(j->q);
			j->q = NULL;
		}
		set_labels(j);
		return 0;
	}
	j->paused_at = mono_ns();
	return 0;
}

/* "cont" on a QMP connection of its own: 0, or a negative errno. */
static int resume_fresh(const char *qmp)
{
	struct qmp *q = NULL;
	int r = qmp_open(qmp, 3000, &q);
	if (!r)
		r = qmp_command(q, "cont", NULL, NULL);
	if (q)
		qmp_close(q);
	return r;
}

static void vm_leave(struct crawl_target *t, struct frame *fr)
{
	struct vm_job *j = t->hook_arg;
	if (j->q) {
		int r = qmp_command(j->q, "cont", NULL, NULL);
		j->paused_ms = (mono_ns() - j->paused_at) / 1e6;
		qmp_close(j->q);
		j->q = NULL;
		if (r) /* once more on a fresh connection: never leave it stopped */
			r = resume_fresh(j->qmp);
		if (r)
			frame_error(fr, -r, "--pause: could not resume guest %s through %s",
			            t->sys.name, j->qmp);
		log_info("vm %s paused for %.1f ms", t->sys.name, j->paused_ms);
	}
	set_labels(j);
}

/* "ram=PATH[,system-map=PATH]" */
static bool parse_ram_spec(const char *spec, char *ram, size_t rcap, char *map, size_t mcap)
{
	if (strncmp(spec, "ram=", 4) != 0)
		return false;
	const char *p = spec + 4, *c = strstr(p, ",system-map=");
	size_t n = c ? (size_t)(c - p) : strlen(p);
	copy_str(ram, rcap, p, n);
	map[0] = 0;
	if (c)
		copy_str(map, mcap, c + 12, strlen(c + 12));
	return true;
}

static void ram_identity(const char *path, struct system_id *out)
{
	memset(out, 0, sizeof(*out));
	char abs[PATH_MAX], tmp[PATH_MAX];
	if (!realpath(path, abs))
		copy_str(abs, sizeof(abs), path, strlen(path));
	snprintf(out->id, sizeof(out->id), "vm:ram:%.500s", abs);
	copy_str(tmp, sizeof(tmp), abs, strlen(abs));
	const char *b = basename(tmp);
	copy_str(out->name, sizeof(out->name), b, strlen(b));
	copy_str(out->kind, sizeof(out->kind), "vm", 2);
	copy_str(out->runtime, sizeof(out->runtime), "ram", 3);
	if (gethostname(out->host, sizeof(out->host)) || !out->host[0])
		copy_str(out->host, sizeof(out->host), "localhost", 9);
	out->host[sizeof(out->host) - 1] = 0;
}

/* Open the view of one discovered guest. */
int vm_target_open(const struct vm_target *t, const struct vmi_opts *o, struct view **out,
                   char *err, size_t errlen)
{
	struct gmem g;
	char e[512] = "";
	int r = -ENOENT;

	if (t->ram_path[0])
		r = gmem_open_file(&g, t->ram_path, e, sizeof(e));
	/* the RAM file may be out of sight (a private /dev/shm): the same
	 * memory through the QEMU process */
	if (r && t->ram_addr && t->ram_len)
		r = gmem_open_pid(&g, t->pid, t->ram_addr, t->ram_len, e, sizeof(e));
	else if (r && !t->ram_path[0]) {
		snprintf(err, errlen,
		         "guest '%s' (QEMU pid %d): its RAM was not found in the QEMU "
		         "process",
		         t->name, t->pid);
		return -ENOENT;
	}
	if (r) {
		snprintf(err, errlen, "guest '%s': %s", t->name, e);
		return r;
	}
	r = view_vm_open(&g, o, out, e, sizeof(e));
	if (r)
		snprintf(err, errlen, "guest '%s': %s", t->name, e);
	return r;
}

static void say(void (*report)(void *, const char *), void *arg, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(void (*report)(void *, const char *), void *arg, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	report(arg, msg);
}

/* A guest given as ram=PATH: its view into *v and identity into t. */
static int open_ram(const char *spec, const char *ram, const char *map, struct crawl_target *t,
                    struct vm_job *j, struct view **v, void (*report)(void *, const char *),
                    void *arg)
{
	char err[1024];
	struct vmi_opts o = {.system_map = map[0] ? map : NULL};
	struct gmem g;
	int r = gmem_open_file(&g, ram, err, sizeof(err));
	if (!r) {
		char e2[512];
		r = view_vm_open(&g, &o, v, e2, sizeof(e2));
		if (r)
			snprintf(err, sizeof(err), "%s", e2);
	}
	if (r) {
		say(report, arg, "--vm '%s': %s", spec, err);
		return -EINVAL;
	}
	ram_identity(ram, &t->sys);
	copy_str(j->ram_desc, sizeof(j->ram_desc), ram, strlen(ram));
	return 0;
}

/* A discovered guest: its view into *v (through its kind) and identity. */
static int open_guest(const struct target *gt, struct crawl_target *t, struct vm_job *j,
                      struct view **v, bool pause, char *err, size_t errlen)
{
	const struct vm_target *vt = gt->obj;
	int r = target_open(gt, -1, v, err, errlen);
	if (r)
		return r;
	t->sys = gt->sys;
	copy_str(j->qmp, sizeof(j->qmp), vt->qmp_path, strlen(vt->qmp_path));
	if (vt->ram_path[0])
		copy_str(j->ram_desc, sizeof(j->ram_desc), vt->ram_path, strlen(vt->ram_path));
	else
		snprintf(j->ram_desc, sizeof(j->ram_desc), "/proc/%d/mem@%#llx", vt->pid,
		         (unsigned long long)vt->ram_addr);
	j->pause = pause;
	return 0;
}

int vm_crawl_open(struct vm_crawl *c, const struct vm_crawl_args *a,
                  void (*report)(void *arg, const char *msg), void *arg)
{
	memset(c, 0, sizeof(*c));
	target_set_init(&c->found, -1);
	bool need_discovery = a->all;
	for (int i = 0; i < a->nspecs; i++)
		need_discovery |= strncmp(a->specs[i], "ram=", 4) != 0;
	if (need_discovery) {
		int pfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		c->found.proc_fd = pfd;
		int r = pfd < 0 ? -errno : target_discover(&c->found, &kind_vm);
		if (pfd >= 0)
			close(pfd);
		c->found.proc_fd = -1;
		if (r < 0) {
			say(report, arg, "cannot list VMs: %s", strerror(-r));
			return r;
		}
	}
	int cap = a->nspecs + (a->all ? c->found.n : 0);
	c->targets = calloc(cap ? cap : 1, sizeof(*c->targets));
	c->jobs = calloc(cap ? cap : 1, sizeof(*c->jobs));
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	c->views = calloc(cap ? cap : 1, sizeof(*c->views));
	if (!c->targets || !c->jobs || !c->views)
		return -ENOMEM;
	for (int i = 0; i < cap; i++) {
		char err[1024], ram[PATH_MAX], map[PATH_MAX];
		struct crawl_target *t = &c->targets[c->n];
		struct vm_job *j = &c->jobs[c->n];
		struct view **v = &c->views[c->n];
		bool named = i < a->nspecs;
		if (named && parse_ram_spec(a->specs[i], ram, sizeof(ram), map, sizeof(map))) {
			if (a->pause) {
				say(report, arg,
				    "--pause needs a running guest; --vm '%s' is a RAM file (pause "
				    "the guest yourself, or name it)",
				    a->specs[i]);
				return -EINVAL;
			}
			if (open_ram(a->specs[i], ram, map, t, j, v, report, arg) < 0)
				return -EINVAL;
		} else {
			const struct target *gt = named ? kind_vm.find(&c->found, a->specs[i])
			                                : &c->found.v[i - a->nspecs];
			if (!gt) {
				say(report, arg,
				    "no running VM '%s' (see 'vantage ls'; a RAM file is given as "
				    "ram=PATH)",
				    a->specs[i]);
				return -EINVAL;
			}
			if (open_guest(gt, t, j, v, a->pause, err, sizeof(err)) < 0) {
				say(report, arg, "VM %s", err);
				if (named)
					return -EINVAL;
				c->partial = true;
				continue; /* --vms: the others are still crawled */
			}
		}
		j->st = view_vm_vmi(*v)->st;
		set_labels(j);
		t->sys.labels_json = j->labels;
		t->view = *v;
		t->enter = vm_enter;
		t->leave = vm_leave;
		t->hook_arg = j;
		c->n++;
	}
	return 0;
}

void vm_crawl_close(struct vm_crawl *c)
{
	bool stuck = false;
	for (int i = 0; i < c->n; i++) {
		if (!c->targets[i].abandoned) {
			if (c->views[i])
				view_destroy(c->views[i]);
			continue;
		}
		/* its worker is stuck in a feature and still holds the view and
		 * its job (vm_leave() runs when it comes back); a guest it
		 * paused is resumed now, on a connection of our own: a crawl
		 * never leaves a guest stopped */
		stuck = true;
		const struct vm_job *j = &c->jobs[i];
		if (j->pause && j->qmp[0] && resume_fresh(j->qmp) == 0)
			log_warn("vm %s: its crawl was abandoned; the guest is resumed",
			         c->targets[i].sys.name);
	}
	free(c->targets);
	if (!stuck) /* else left to the stuck workers: the process ends soon */
		free(c->jobs);
	free(c->views);
	target_set_free(&c->found);
	memset(c, 0, sizeof(*c));
}
