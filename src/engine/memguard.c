/*
 * memguard.c - the daemon's memory guard (see memguard.h).
 *
 * The daemon's own cgroup is read from /proc/self/cgroup at every sample
 * (a service manager may move it); its directories are kept open
 * (views/host/cgroup.h) and opened again when the path changes.
 */
#include "memguard.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/log.h"
#include "../views/host/cgroup.h"

#define SAMPLE_EVERY_NS 1000000000LL
#define CGFILE_MAX 4096

static const double enter_at[MEMGUARD_LEVELS] = {0, 0.80, 0.90, 0.95};
#define HYSTERESIS 0.10

struct memguard {
	int proc_fd;
	uint64_t soft_limit;
	struct cgroup_mounts mnt;
	bool have_mnt;
	struct cgroup_dirs *dirs;
	char cgfile[CGFILE_MAX]; /* /proc/self/cgroup when dirs were opened */
	char cgpath[256];        /* the memory cgroup's path, for messages */
	char what[300];
	int64_t last;
	int level;
	struct memguard_sample s;
};

int memguard_level(double frac, int cur)
{
	int l = cur < 0 ? 0 : cur >= MEMGUARD_LEVELS ? MEMGUARD_LEVELS - 1 : cur;
	while (l + 1 < MEMGUARD_LEVELS && frac >= enter_at[l + 1])
		l++;
	while (l > 0 && frac < enter_at[l] - HYSTERESIS)
		l--;
	return l;
}

const char *memguard_shed_text(int level)
{
	switch (level) {
	case 0:
		return "nothing";
	case MEMGUARD_TRIM:
		return "file walks skipped, freed memory given back";
	case MEMGUARD_REFUSE_STREAMS:
		return "file walks, package and config crawls skipped, new live tails refused, "
		       "freed "
		       "memory given back";
	default:
		return "only metric crawled, every other tick; file walks, package, config, "
		       "process, "
		       "connection, os, module, interface and library crawls skipped; new live "
		       "tails "
		       "refused; freed memory given back";
	}
}

struct memguard *memguard_new(int proc_fd, uint64_t soft_limit)
{
	struct memguard *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->proc_fd = proc_fd;
	g->soft_limit = soft_limit;
	g->have_mnt = cgroup_mounts_open(proc_fd, "self/mountinfo", -1, &g->mnt) == 0;
	return g;
}

void memguard_free(struct memguard *g)
{
	if (!g)
		return;
	cgroup_dirs_close(g->dirs);
	if (g->have_mnt)
		cgroup_mounts_close(&g->mnt);
	free(g);
}

void memguard_set_soft_limit(struct memguard *g, uint64_t bytes)
{
	if (g)
		g->soft_limit = bytes;
}

/* Read a small file of /proc into buf (NUL-terminated); its length or -1. */
static ssize_t read_proc(int proc_fd, const char *name, char *buf, size_t cap)
{
	int fd = openat(proc_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = 0;
	return (ssize_t)n;
}

/* Does the comma list [p, e) name `ctrl`? */
static bool names(const char *p, const char *e, const char *ctrl)
{
	size_t n = strlen(ctrl);
	while (p < e) {
		const char *c = memchr(p, ',', (size_t)(e - p));
		if (!c)
			c = e;
		if ((size_t)(c - p) == n && memcmp(p, ctrl, n) == 0)
			return true;
		p = c + 1;
	}
	return false;
}

/*
 * The paths of the daemon's cgroup in /proc/self/cgroup (`buf`, modified:
 * the paths are cut out of it in place): the v1 memory hierarchy's
 * ("N:memory:/path" or "N:memory,...:/path") and cgroup2's ("0::/path").
 */
void memguard_cgroup_paths(char *buf, struct cgroup_paths *p)
{
	memset(p, 0, sizeof(*p));
	for (char *line = buf; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = 0;
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 && c2[1] == '/') {
			if (c2 == c1 + 1 && c1 - line == 1 && line[0] == '0')
				p->path[CG_V2] = c2 + 1;
			else if (names(c1 + 1, c2, "memory"))
				p->path[CG_MEMORY] = c2 + 1;
		}
		line = nl ? nl + 1 : NULL;
	}
}

/* Keep g->dirs open on the daemon's current cgroup. */
static void follow_cgroup(struct memguard *g)
{
	char buf[CGFILE_MAX];
	if (!g->have_mnt || read_proc(g->proc_fd, "self/cgroup", buf, sizeof(buf)) <= 0)
		return;
	if (g->dirs && strcmp(buf, g->cgfile) == 0)
		return;
	cgroup_dirs_close(g->dirs);
	g->dirs = NULL;
	snprintf(g->cgfile, sizeof(g->cgfile), "%s", buf);
	struct cgroup_paths p;
	memguard_cgroup_paths(buf, &p);
	/* memory is read where its controller is: v1 first (cgroup.h) */
	const char *mp = p.path[CG_MEMORY] ? p.path[CG_MEMORY] : p.path[CG_V2];
	snprintf(g->cgpath, sizeof(g->cgpath), "%s", mp ? mp : "?");
	struct cgroup_paths only = {0};
	if (p.path[CG_MEMORY] && g->mnt.v1_fd[CG_MEMORY] >= 0)
		only.path[CG_MEMORY] = p.path[CG_MEMORY];
	else if (p.path[CG_V2])
		only.path[CG_V2] = p.path[CG_V2];
	else
		return;
	if (cgroup_dirs_open_paths(&g->mnt, &only, &g->dirs) < 0)
		g->dirs = NULL;
}

/* The daemon's resident bytes (VmRSS), 0 when unknown. */
static uint64_t own_rss(int proc_fd)
{
	char buf[128];
	unsigned long long size, res;
	if (read_proc(proc_fd, "self/statm", buf, sizeof(buf)) <= 0 ||
	    sscanf(buf, "%llu %llu", &size, &res) != 2)
		return 0;
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void take(struct memguard_sample *s, uint64_t used, uint64_t limit, const char *what)
{
	/* v1 says "no limit" as the largest page count (9223372036854771712) */
	if (!limit || limit >= (1ull << 62))
		return;
	double f = (double)used / (double)limit;
	if (!s->limit || f > s->frac) {
		s->used = used;
		s->limit = limit;
		s->frac = f;
		s->what = what;
	}
}

static void sample(struct memguard *g, struct memguard_sample *s)
{
	memset(s, 0, sizeof(*s));
	follow_cgroup(g);
	struct vt_cgroup cg;
	if (g->dirs && cgroup_dirs_read(g->dirs, &cg) == 0 && (cg.have & VC_MEM)) {
		uint64_t used = cg.mem_usage > cg.mem_cache ? cg.mem_usage - cg.mem_cache : 0;
		if (cg.mem_anon > used)
			used = cg.mem_anon;
		snprintf(g->what, sizeof(g->what), "cgroup %s", g->cgpath);
		take(s, used, cg.mem_limit, g->what);
	}
	if (g->soft_limit)
		take(s, own_rss(g->proc_fd), g->soft_limit, "memory_limit");
	if (!s->what)
		s->what = "no limit";
}

int memguard_check(struct memguard *g, int64_t now, struct memguard_sample *out, bool *changed)
{
	*changed = false;
	if (!g)
		return 0;
	if (g->last && now - g->last < SAMPLE_EVERY_NS) {
		if (out)
			*out = g->s;
		return g->level;
	}
	g->last = now;
	sample(g, &g->s);
	int l = memguard_level(g->s.frac, g->level);
	if (l >= MEMGUARD_TRIM)
		malloc_trim(0); /* every check while under pressure */
	if (l != g->level) {
		*changed = true;
		double mb = 1024.0 * 1024.0;
		if (l > g->level)
			log_warn(
			    "memory: %.0f%% of the limit (%.1f of %.1f MB, %s): shedding level %d: "
			    "%s",
			    g->s.frac * 100, (double)g->s.used / mb, (double)g->s.limit / mb,
			    g->s.what, l, memguard_shed_text(l));
		else
			log_warn("memory: %.0f%% of the limit (%.1f of %.1f MB, %s): %s (level %d)",
			         g->s.frac * 100, (double)g->s.used / mb, (double)g->s.limit / mb,
			         g->s.what, l ? "shedding less" : "shedding over, all work resumed",
			         l);
		g->level = l;
	}
	g->s.level = l;
	if (out)
		*out = g->s;
	return l;
}
