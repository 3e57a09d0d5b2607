/*
 * crawl_vm.c - `vantage crawl --vm SPEC` / `--vms`: crawl QEMU guests from
 * their RAM (VM introspection, src/vmi/ and src/views/vm.c).
 *
 * SPEC is one of
 *   ram=PATH[,system-map=PATH]   a raw RAM file (QEMU memory-backend-file,
 *                                /dev/shm/...) or an ELF core written by
 *                                QMP dump-guest-memory
 *   NAME | UUID | PID | vm:ID    a running QEMU guest (see `vantage ls`);
 *                                its RAM is read from its shared RAM file,
 *                                else through /proc/PID/mem at QEMU's
 *                                mapping of guest RAM
 * --vms crawls every running guest.  Every guest's kernel is located
 * before the output is created: a bad RAM file is an error naming it, and
 * no frame.  With --pause a running guest is stopped through QMP for the
 * time of its crawl (features only; the kernel was located before) and
 * always resumed, even on error; the pause time goes into the frame's
 * labels ("paused_ms").  Nothing is ever written to a guest.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "../frame/frame.h"
#include "../sinks/sinks.h"
#include "../targets/vms.h"
#include "../util/json.h"
#include "../util/log.h"
#include "../util/util.h"
#include "../views/vm.h"
#include "../vmi/qmp.h"
#include "cli.h"
#include "crawl_run.h"
#include "crawl_vm.h"

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
	json_init(&w, &b);
	json_obj_begin(&w, NULL);
	json_str(&w, "ram", j->ram_desc);
	json_bool(&w, "profile_cached", j->st.cached);
	json_double(&w, "locate_ms", j->st.locate_ms, 1);
	if (j->pause && !j->pause_err[0])
		json_double(&w, "paused_ms", j->paused_ms, 1);
	else if (j->pause)
		json_bool(&w, "paused", false);
	json_obj_end(&w);
	if (json_ok(&w) && b.len < sizeof(j->labels))
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

static void vm_leave(struct crawl_target *t, struct frame *fr)
{
	struct vm_job *j = t->hook_arg;
	if (j->q) {
		int r = qmp_command(j->q, "cont", NULL, NULL);
		j->paused_ms = (mono_ns() - j->paused_at) / 1e6;
		if (r) {
			/* try once more on a fresh connection: never leave it stopped */
			qmp_close(j->q);
			j->q = NULL;
			if (!qmp_open(j->qmp, 3000, &j->q))
				r = qmp_command(j->q, "cont", NULL, NULL);
		}
		if (r)
			frame_error(fr, -r, "--pause: could not resume guest %s through %s",
			            t->sys.name, j->qmp);
		if (j->q)
			qmp_close(j->q);
		j->q = NULL;
		log_info("vm %s paused for %.1f ms", t->sys.name, j->paused_ms);
	}
	set_labels(j);
}

/* "ram=PATH[,system-map=PATH]" */
static bool parse_ram_spec(const char *spec, char *ram, size_t rcap, char *map, size_t mcap)
{
	if (strncmp(spec, "ram=", 4))
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
	char e[512];
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

int crawl_vms(const struct vm_crawl_args *a, const struct feature **feats, int nfeats,
              const struct crawl_opts *opts, enum frame_format fmt, const char *output)
{
	for (int i = 0; i < nfeats; i++)
		if (feats[i]->needs_files) {
			fprintf(stderr,
			        "vantage crawl: feature '%s' reads files; a VM's files are "
			        "crawled offline from its disk with --image (features for a VM: "
			        "os, process, connection, module, metric, interface)\n",
			        feats[i]->name);
			return EXIT_USAGE;
		}
	struct vm_target *found = NULL;
	size_t nfound = 0;
	bool need_discovery = a->all;
	for (int i = 0; i < a->nspecs; i++)
		need_discovery |= strncmp(a->specs[i], "ram=", 4) != 0;
	if (need_discovery) {
		int pfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		int r = pfd < 0 ? -errno : vms_discover(pfd, &found, &nfound);
		if (pfd >= 0)
			close(pfd);
		if (r < 0) {
			fprintf(stderr, "vantage crawl: cannot list VMs: %s\n", strerror(-r));
			return EXIT_FAIL;
		}
	}
	int cap = a->nspecs + (a->all ? (int)nfound : 0);
	struct crawl_target *t = calloc(cap ? cap : 1, sizeof(*t));
	struct vm_job *jobs = calloc(cap ? cap : 1, sizeof(*jobs));
	struct view **views = calloc(cap ? cap : 1, sizeof(*views));
	int n = 0, status = EXIT_OK;
	if (!t || !jobs || !views) {
		status = EXIT_FAIL;
		goto out;
	}
	for (int i = 0; i < cap; i++) {
		const struct vm_target *vt = NULL;
		char err[1024], ram[PATH_MAX], map[PATH_MAX];
		struct vmi_opts o = {0};
		struct vm_job *j = &jobs[n];
		int r;
		if (i < a->nspecs &&
		    parse_ram_spec(a->specs[i], ram, sizeof(ram), map, sizeof(map))) {
			if (a->pause) {
				fprintf(
				    stderr,
				    "vantage crawl: --pause needs a running guest; --vm '%s' is a "
				    "RAM file (pause the guest yourself, or name it)\n",
				    a->specs[i]);
				status = EXIT_USAGE;
				goto out;
			}
			o.system_map = map[0] ? map : NULL;
			struct gmem g;
			r = gmem_open_file(&g, ram, err, sizeof(err));
			if (!r) {
				char e2[512];
				r = view_vm_open(&g, &o, &views[n], e2, sizeof(e2));
				if (r)
					snprintf(err, sizeof(err), "%s", e2);
			}
			if (r) {
				fprintf(stderr, "vantage crawl: --vm '%s': %s\n", a->specs[i], err);
				status = EXIT_USAGE;
				goto out;
			}
			ram_identity(ram, &t[n].sys);
			copy_str(j->ram_desc, sizeof(j->ram_desc), ram, strlen(ram));
		} else {
			if (i < a->nspecs) {
				vt = vm_target_find(found, nfound, a->specs[i]);
				if (!vt) {
					fprintf(
					    stderr,
					    "vantage crawl: no running VM '%s' (see 'vantage ls'; "
					    "a RAM file is given as ram=PATH)\n",
					    a->specs[i]);
					status = EXIT_USAGE;
					goto out;
				}
			} else {
				vt = &found[i - a->nspecs];
			}
			r = vm_target_open(vt, &o, &views[n], err, sizeof(err));
			if (r) {
				fprintf(stderr, "vantage crawl: VM %s\n", err);
				status = i < a->nspecs ? EXIT_USAGE : EXIT_FAIL;
				if (i < a->nspecs)
					goto out;
				continue; /* --vms: the others are still crawled */
			}
			vm_identity(vt, &t[n].sys);
			copy_str(j->qmp, sizeof(j->qmp), vt->qmp_path, strlen(vt->qmp_path));
			if (vt->ram_path[0])
				copy_str(j->ram_desc, sizeof(j->ram_desc), vt->ram_path,
				         strlen(vt->ram_path));
			else
				snprintf(j->ram_desc, sizeof(j->ram_desc), "/proc/%d/mem@%#llx",
				         vt->pid, (unsigned long long)vt->ram_addr);
			j->pause = a->pause;
		}
		j->st = view_vm_vmi(views[n])->st;
		set_labels(j);
		t[n].sys.labels_json = j->labels;
		t[n].view = views[n];
		t[n].enter = vm_enter;
		t[n].leave = vm_leave;
		t[n].hook_arg = j;
		n++;
	}
	if (!n) {
		if (status == EXIT_OK)
			fprintf(stderr, "vantage crawl: no running VM found\n");
		status = status == EXIT_OK ? EXIT_FAIL : status;
		goto out;
	}
	struct sink *sink;
	int r = sink_file_open(a->output ? a->output : output, &sink);
	if (r < 0) {
		fprintf(stderr, "vantage crawl: cannot write --output '%s': %s\n", output,
		        strerror(-r));
		status = EXIT_USAGE;
		goto out;
	}
	struct crawl_run run = {
	    .targets = t,
	    .ntargets = n,
	    .feats = feats,
	    .nfeats = nfeats,
	    .opts = opts,
	    .fmt = fmt,
	    .sink = sink,
	    .proc_fd = -1,
	    .workers = a->workers > 0 ? a->workers : 1,
	    .timeout = a->timeout > 0 ? a->timeout : 30,
	};
	r = crawl_run(&run);
	if (r < 0) {
		fprintf(stderr, "vantage crawl: writing frames to %s failed: %s\n", sink->desc,
		        strerror(-r));
		status = EXIT_FAIL;
	}
	sink_close(sink);
out:
	for (int i = 0; i < n; i++)
		if (views && views[i] && !t[i].abandoned)
			view_destroy(views[i]);
	free(t);
	free(jobs);
	free(views);
	free(found);
	return status;
}
