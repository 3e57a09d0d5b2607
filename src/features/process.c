/*
 * process.c - the `process` feature: one record per process of the view.
 *
 * Key: the host PID ("1234"), stable for as long as the process lives.
 * Value: pid, ppid, nspid, uid, user, comm, cmdline, exe, cwd, state,
 * start_time, threads, rss_kb, vsz_kb, cpu_user_s, cpu_system_s, fds,
 * cgroup.  A field the view could not read is omitted; when some field of
 * a process could not be read the record carries "error" (the text of the
 * first errno met) and the frame header counts it.
 *
 * start_time is an ISO-8601 UTC string in JSON.  In the reference
 * crawler's layout the record is keyed "<comm>/<pid>" and carries its
 * field names (cmd, created, cwd, pname, pid, ppid, threads, user), with
 * `created` as seconds since the epoch, a number, as that crawler wrote it.
 */
#include <stdio.h>
#include <string.h>

#include "../util/timefmt.h"
#include "../util/util.h"
#include "feature.h"

/* The last start time formatted, per thread (crawls of several systems
 * run on several threads): processes started in the same second are
 * common (a service and its workers, a batch), and the formatting is the
 * dearest part of a record after the strings. */
static __thread struct {
	bool valid;
	int64_t t;
	char iso[40];
} last_start;

static void put_start(struct frame *f, struct json *j, int64_t t)
{
	if (frame_format(f) == FRAME_CRAWLER) {
		jw_int(j, "created", t);
		return;
	}
	if (!last_start.valid || last_start.t != t) {
		format_time_utc(t * 1000000000, last_start.iso, sizeof(last_start.iso));
		last_start.t = t;
		last_start.valid = true;
	}
	jw_str(j, "start_time", last_start.iso);
}

/* The record key: the pid in decimal (pids are positive). */
static const char *pid_key(int pid, char *buf, size_t cap)
{
	char *p = buf + cap;
	unsigned v = (unsigned)pid;

	*--p = '\0';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v && p > buf);
	return p;
}

static int emit(void *ctx, const struct vt_proc *p)
{
	struct crawl_ctx *c = ctx;
	struct frame *f = c->frame;
	char key[96], pk[16];
	struct json *j = rec_begin(f, pid_key(p->pid, pk, sizeof(pk)));

	if (frame_format(f) == FRAME_CRAWLER) {
		snprintf(key, sizeof(key), "%s/%d", (p->have & VP_COMM) ? p->comm : "", p->pid);
		rec_crawler(f, "process", key);
	}
	jw_int(j, "pid", p->pid);
	if (p->have & VP_PPID)
		jw_int(j, "ppid", p->ppid);
	if (p->have & VP_NSPID)
		jw_int(j, "nspid", p->nspid);
	if (p->have & VP_UID)
		jw_uint(j, "uid", p->uid);
	if (p->have & VP_USER)
		jw_str(j, "user", p->user);
	if (p->have & VP_COMM)
		jw_str(j, rec_name(f, "comm", "pname"), p->comm);
	if (p->have & VP_CMDLINE) {
		jw_strn(j, rec_name(f, "cmdline", "cmd"), p->cmdline, p->cmdline_len);
		if (p->cmdline_cut) {
			jw_bool(j, "cmdline_truncated", true);
			frame_skip(f, "process %d (%s): command line cut at %zu bytes", p->pid,
			           (p->have & VP_COMM) ? p->comm : "?", p->cmdline_len);
		}
	}
	if (p->have & VP_EXE)
		jw_str(j, "exe", p->exe);
	if (p->have & VP_CWD)
		jw_str(j, "cwd", p->cwd);
	if (p->have & VP_STATE)
		jw_strn(j, "state", &p->state, 1);
	if (p->have & VP_START)
		put_start(f, j, p->start_time);
	if (p->have & VP_THREADS)
		jw_uint(j, "threads", p->threads);
	if (p->have & VP_RSS)
		jw_uint(j, "rss_kb", p->rss_kb);
	if (p->have & VP_VSZ)
		jw_uint(j, "vsz_kb", p->vsz_kb);
	if (p->have & VP_CPU) {
		jw_double(j, "cpu_user_s", p->cpu_user_s, 2);
		jw_double(j, "cpu_system_s", p->cpu_system_s, 2);
	}
	if (p->have & VP_FDS)
		jw_uint(j, "fds", p->fds);
	if (p->have & VP_CGROUP)
		jw_str(j, "cgroup", p->cgroup);
	if (p->err) {
		jw_str(j, "error", strerror(p->err));
		frame_error(f, p->err, "process %d (%s)", p->pid,
		            (p->have & VP_COMM) ? p->comm : "?");
	}
	return rec_end(f);
}

static int crawl(struct crawl_ctx *c)
{
	struct view_iter it = feature_iter(c);
	int r = view_processes(c->view, &it, emit);

	return r < 0 ? r : 0;
}

const struct feature feature_process = {
    .name = "process",
    .description = "processes: ids, user, command line, exe, cwd, state, start time, "
                   "threads, memory, CPU time, open fds, cgroup",
    .on_files_only = false,
    .crawl = crawl,
    .default_interval = 60,
};
