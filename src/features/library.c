/*
 * library.c - the `library` feature: the shared libraries and other files
 * mapped into the memory of the system's processes, one record per
 * mapped file (key = its path, as the system sees it).
 *
 * Fields: path, inode, device ("major:minor", of the file system holding
 * it), deleted (the file was unlinked or replaced while mapped: a process
 * still runs the old code, the classic "restart after an upgrade" case),
 * processes (how many map it), pids (as seen inside the system; at most
 * 256 listed, `processes` counts them all), executable (some process maps
 * it executable).
 *
 * It lists the processes through the view, then asks the view for each
 * one's mappings (view_mappings(): a live system's /proc/PID/maps, paths
 * as the system names them; pids listed as seen inside).  Anonymous memory and
 * pseudo mappings ("[heap]", "[vdso]") are not files and are left out; so
 * are memfd and other files with no path in the system ("/memfd:...",
 * "anon_inode:..."), which have no inode number of a file system.  A
 * process that exits meanwhile, or whose maps cannot be read, counts as
 * one error; what the others map is still reported.  A view without
 * mappings (a VM seen from its RAM, a mounted root, an image) cannot
 * answer: the feature is skipped there and the frame header says so.
 *
 * Unlike most features this one gathers before it writes: a file's record
 * holds every process that maps it, so the distinct mapped files (a few
 * hundred to a few thousand) are kept until the last process is read.
 *
 * Opt-in: `vantage crawl --features library`, or `[intervals] library = 10m`
 * for the daemon.
 *
 * Option: library_deleted_only (--library-deleted-only): report only the
 * files that are deleted while mapped.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/u64set.h"
#include "../util/util.h"
#include "feature.h"

#define MAX_PIDS_LISTED 256

struct library_settings {
	bool deleted_only;
};

static const struct feature_option options[] = {
    {.key = "library_deleted_only",
     .flag = "library-deleted-only",
     .type = FOPT_BOOL,
     .dflt = "false",
     .help = "report only the files deleted or replaced while still mapped (processes that "
             "run old code)",
     .offset = offsetof(struct library_settings, deleted_only)},
    {0},
};

extern const struct feature feature_library;

/* One mapped file. */
struct mapped {
	char *path;
	uint64_t inode;
	uint32_t major, minor;
	bool deleted, exec;
	int *pids; /* the first MAX_PIDS_LISTED, in the order met */
	int npids, cap;
	uint64_t processes;
	int last_pid; /* the last process counted (a file mapped many times by one) */
};

struct gather {
	struct crawl_ctx *c;
	const struct library_settings *s;
	struct u64map index; /* hash of the path -> index into v (+1 per collision chain) */
	struct mapped *v;
	int n, cap;
	int pid; /* the process being read, as seen inside */
	int err; /* -ENOMEM */
};

/* The entry of this path, added when new; NULL when out of memory. */
static struct mapped *find_or_add(struct gather *g, const struct maps_line *m)
{
	uint64_t h = fnv1a(FNV1A_BASIS, m->path, m->path_len);
	int *slot;
	bool added;
	/* open hashing over the 64-bit hash: on a collision, probe h+1, h+2... */
	for (uint64_t k = h;; k++) {
		if (!(slot = u64map_put(&g->index, k, &added)))
			return NULL;
		if (added)
			break;
		struct mapped *e = &g->v[*slot];
		if (strlen(e->path) == m->path_len && memcmp(e->path, m->path, m->path_len) == 0 &&
		    e->inode == m->inode)
			return e;
	}
	if (g->n == g->cap) {
		int cap = g->cap ? 2 * g->cap : 256;
		struct mapped *v = realloc(g->v, (size_t)cap * sizeof(*v));
		if (!v)
			return NULL;
		g->v = v, g->cap = cap;
	}
	struct mapped *e = &g->v[g->n];
	memset(e, 0, sizeof(*e));
	if (!(e->path = strndup(m->path, m->path_len)))
		return NULL;
	e->inode = m->inode;
	e->major = m->dev_major, e->minor = m->dev_minor;
	e->deleted = m->deleted;
	*slot = g->n++;
	return e;
}

static int one_mapping(void *arg, const struct maps_line *m)
{
	struct gather *g = arg;
	/* files only: a path in the system's tree and a file system's inode */
	if (!m->inode || m->path_len == 0 || m->path[0] != '/' || maps_path_starts(m, "/memfd:"))
		return 0;
	if (g->s->deleted_only && !m->deleted)
		return 0;
	struct mapped *e = find_or_add(g, m);
	if (!e) {
		g->err = -ENOMEM;
		return 1;
	}
	e->exec |= maps_executable(m);
	if (e->last_pid == g->pid && e->processes)
		return 0;
	e->last_pid = g->pid;
	e->processes++;
	if (e->npids < MAX_PIDS_LISTED) {
		if (e->npids == e->cap) {
			int cap = e->cap ? 4 * e->cap : 4;
			cap = cap > MAX_PIDS_LISTED ? MAX_PIDS_LISTED : cap;
			int *p = realloc(e->pids, (size_t)cap * sizeof(*p));
			if (!p) {
				g->err = -ENOMEM;
				return 1;
			}
			e->pids = p, e->cap = cap;
		}
		e->pids[e->npids++] = g->pid;
	}
	return 0;
}

static int one_process(void *ctx, const struct vt_proc *p)
{
	struct gather *g = ctx;
	g->pid = (p->have & VP_NSPID) && p->nspid > 0 ? p->nspid : p->pid;
	struct view_iter it = {.ctx = g};
	int r = view_mappings(g->c->view, p->pid, &it, one_mapping);
	if (g->err)
		return 1;
	/* a process gone meanwhile or not readable: one error, the others go on */
	if (r < 0)
		frame_error(g->c->frame, -r, "pid %d (%s): its mappings", g->pid, p->comm);
	return 0;
}

/* A process the view could not read: one error. */
static void gather_error(void *ctx, const char *what, int err)
{
	struct gather *g = ctx;
	frame_error(g->c->frame, err, "%s", what);
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(((const struct mapped *)a)->path, ((const struct mapped *)b)->path);
}

static int emit(struct gather *g)
{
	struct frame *f = g->c->frame;
	/* sorted, so that two frames list the files in the same order */
	qsort(g->v, (size_t)g->n, sizeof(*g->v), cmp_path);
	for (int i = 0; i < g->n; i++) {
		const struct mapped *e = &g->v[i];
		/* the same path with two inodes (replaced while mapped): keyed apart */
		bool twin = (i > 0 && strcmp(g->v[i - 1].path, e->path) == 0) ||
		            (i + 1 < g->n && strcmp(g->v[i + 1].path, e->path) == 0);
		struct json *j =
		    twin ? rec_beginf(f, "%s@%llu", e->path, (unsigned long long)e->inode)
		         : rec_begin(f, e->path);
		jw_str(j, "path", e->path);
		jw_uint(j, "inode", e->inode);
		char dev[32];
		snprintf(dev, sizeof(dev), "%u:%u", e->major, e->minor);
		jw_str(j, "device", dev);
		jw_bool(j, "deleted", e->deleted);
		jw_bool(j, "executable", e->exec);
		jw_uint(j, "processes", e->processes);
		jw_arr_begin(j, "pids");
		for (int k = 0; k < e->npids; k++)
			jw_int(j, NULL, e->pids[k]);
		jw_arr_end(j);
		if (rec_end(f) < 0)
			return -EIO;
	}
	return 0;
}

static int crawl(struct crawl_ctx *c)
{
	if (!VIEW_HAS(c->view, processes) || !VIEW_HAS(c->view, mappings))
		return -ENOTSUP; /* a VM seen from its RAM, an image: skipped */
	struct gather g = {.c = c, .s = FEATURE_SETTINGS(c, feature_library)};
	u64map_init(&g.index, sizeof(int));
	struct view_iter it = {.ctx = &g, .error = gather_error};
	int r = view_processes(c->view, &it, one_process);
	if (g.err)
		r = g.err;
	if (r >= 0)
		r = emit(&g);
	for (int i = 0; i < g.n; i++) {
		free(g.v[i].path);
		free(g.v[i].pids);
	}
	free(g.v);
	u64map_free(&g.index);
	return r < 0 ? r : 0;
}

const struct feature feature_library = {
    .name = "library",
    .description = "shared libraries and other files mapped by processes",
    .crawl = crawl,
    .opt_in = true, /* a walk over every process's mappings: named when wanted */
    .options = options,
    .settings_size = sizeof(struct library_settings),
};
