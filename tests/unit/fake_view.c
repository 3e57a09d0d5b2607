/*
 * fake_view.c - a view backed by arrays and a one-feature crawl into a
 * memory sink, for unit tests of features (see fake_view.h).
 *
 * fake_settings() is the one place that knows how features receive their
 * options (struct crawl_opts today).  Reading the frame back (jansson) is
 * in fake_frame.c: jansson.h and util/json.h cannot meet in one file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_view.h"
#include "features/feature.h"
#include "frame/frame.h"
#include "frame/sink.h"
#include "util/buf.h"

/* ---- iterating ops -------------------------------------------------------- */

static struct fake_view *fake(struct view *v)
{
	return (struct fake_view *)v;
}

/* Common start of an op: count the call, whole-op failure, item error. */
static int op_begin(struct fake_view *fv, enum fake_op op, const struct view_iter *it)
{
	fv->calls[op]++;
	if (fv->err[op])
		return fv->err[op];
	if (fv->item_err[op] && it && it->error)
		it->error(it->ctx, fv->item_err_what[op] ? fv->item_err_what[op] : "item",
		          fv->item_err[op]);
	return 0;
}

/* The sample the current call of `op` serves (calls already counted). */
static int sample_of(const struct fake_view *fv, enum fake_op op)
{
	int s = (int)fv->calls[op] - 1, last = fv->nsamples[op] - 1;
	if (last < 0)
		return -1;
	return s < last ? s : last;
}

#define ITERATE(arr, n)                                                                            \
	do {                                                                                       \
		for (size_t i_ = 0; i_ < (n); i_++) {                                              \
			int r_ = cb(it ? it->ctx : NULL, &(arr)[i_]);                              \
			if (r_)                                                                    \
				return r_;                                                         \
		}                                                                                  \
		return 0;                                                                          \
	} while (0)

static int f_processes(struct view *v, const struct view_iter *it,
                       int (*cb)(void *ctx, const struct vt_proc *p))
{
	struct fake_view *fv = fake(v);
	int r = op_begin(fv, FAKE_PROCESSES, it);
	if (r)
		return r;
	ITERATE(fv->procs, fv->nprocs);
}

struct maps_walk {
	const struct view_iter *it;
	int (*cb)(void *ctx, const struct maps_line *m);
};

static int maps_line_cb(const struct maps_line *m, void *arg)
{
	struct maps_walk *w = arg;
	return w->cb(w->it ? w->it->ctx : NULL, m);
}

static int f_mappings(struct view *v, int pid, const struct view_iter *it,
                      int (*cb)(void *ctx, const struct maps_line *m))
{
	struct fake_view *fv = fake(v);
	int r = op_begin(fv, FAKE_MAPPINGS, it);
	if (r)
		return r;
	for (size_t i = 0; i < fv->nmaps; i++) {
		if (fv->maps[i].pid != pid)
			continue;
		if (fv->maps[i].err)
			return fv->maps[i].err;
		struct maps_walk w = {.it = it, .cb = cb};
		return maps_for_each(fv->maps[i].text, strlen(fv->maps[i].text), maps_line_cb, &w);
	}
	return -ESRCH;
}

static int f_sockets(struct view *v, const struct view_iter *it,
                     int (*cb)(void *ctx, const struct vt_sock *s))
{
	struct fake_view *fv = fake(v);
	int r = op_begin(fv, FAKE_SOCKETS, it);
	if (r)
		return r;
	ITERATE(fv->socks, fv->nsocks);
}

static int f_kernel(struct view *v, struct vt_kernel *out)
{
	struct fake_view *fv = fake(v);
	int r = op_begin(fv, FAKE_KERNEL, NULL);
	if (!r)
		*out = fv->kernel;
	return r;
}

static int f_modules(struct view *v, const struct view_iter *it,
                     int (*cb)(void *ctx, const struct vt_module *m))
{
	struct fake_view *fv = fake(v);
	int r = op_begin(fv, FAKE_MODULES, it);
	if (r)
		return r;
	ITERATE(fv->modules, fv->nmodules);
}

static int f_cpu_times(struct view *v, const struct view_iter *it,
                       int (*cb)(void *ctx, const struct vt_cpu *c))
{
	struct fake_view *fv = fake(v);
	int r = op_begin(fv, FAKE_CPU_TIMES, it), s;
	if (r)
		return r;
	if ((s = sample_of(fv, FAKE_CPU_TIMES)) < 0)
		return 0;
	ITERATE(fv->cpu[s].v, fv->cpu[s].n);
}

static int f_memory(struct view *v, struct vt_mem *out)
{
	struct fake_view *fv = fake(v);
	int r = op_begin(fv, FAKE_MEMORY, NULL);
	if (!r)
		*out = fv->mem;
	return r;
}

static int f_load(struct view *v, struct vt_load *out)
{
	struct fake_view *fv = fake(v);
	int r = op_begin(fv, FAKE_LOAD, NULL);
	if (!r)
		*out = fv->load;
	return r;
}

static int f_filesystems(struct view *v, const struct view_iter *it,
                         int (*cb)(void *ctx, const struct vt_fs *f))
{
	struct fake_view *fv = fake(v);
	int r = op_begin(fv, FAKE_FILESYSTEMS, it);
	if (r)
		return r;
	ITERATE(fv->fs, fv->nfs);
}

static int f_disk_io(struct view *v, const struct view_iter *it,
                     int (*cb)(void *ctx, const struct vt_diskio *d))
{
	struct fake_view *fv = fake(v);
	int r = op_begin(fv, FAKE_DISK_IO, it), s;
	if (r)
		return r;
	if ((s = sample_of(fv, FAKE_DISK_IO)) < 0)
		return 0;
	ITERATE(fv->disk[s].v, fv->disk[s].n);
}

static int f_interfaces(struct view *v, const struct view_iter *it,
                        int (*cb)(void *ctx, const struct vt_iface *i))
{
	struct fake_view *fv = fake(v);
	int r = op_begin(fv, FAKE_INTERFACES, it), s;
	if (r)
		return r;
	if ((s = sample_of(fv, FAKE_INTERFACES)) < 0)
		return 0;
	ITERATE(fv->ifaces[s].v, fv->ifaces[s].n);
}

static int f_cgroup(struct view *v, struct vt_cgroup *out)
{
	struct fake_view *fv = fake(v);
	int r = op_begin(fv, FAKE_CGROUP, NULL), s;
	if (r)
		return r;
	if ((s = sample_of(fv, FAKE_CGROUP)) < 0)
		return -ENOENT;
	*out = fv->cgroup[s];
	return 0;
}

/* ---- files ---------------------------------------------------------------- */

/* A node of the tree: a listed file, or a directory implied by one. */
struct node {
	const struct fake_file *f; /* NULL: implied directory (or "/") */
	char path[4096];
};

struct vfile {
	struct fake_view *fv;
	const struct fake_file *f;
	size_t pos;
};

static size_t content_len(const struct fake_file *f)
{
	if (f->len)
		return f->len;
	return f->content ? strlen(f->content) : 0;
}

static void fill_stat(const struct node *n, struct vt_stat *st)
{
	const struct fake_file *f = n->f;
	memset(st, 0, sizeof(*st));
	if (!f) {
		st->type = VF_DIR;
		st->mode = 0755;
		st->nlink = 2;
		return;
	}
	st->type = f->type;
	st->mode = f->mode ? f->mode : f->type == VF_DIR ? 0755 : f->type == VF_LNK ? 0777 : 0644;
	st->uid = f->uid;
	st->gid = f->gid;
	st->size = f->size             ? f->size
	           : f->type == VF_LNK ? (f->link ? strlen(f->link) : 0)
	                               : content_len(f);
	st->mtime = f->mtime;
	st->ctime = f->ctime;
	st->inode = f->inode;
	st->nlink = f->nlink ? f->nlink : 1;
}

/* Does `path` lie strictly below directory `dir`? */
static bool below(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	if (strcmp(dir, "/") == 0)
		return path[0] == '/' && path[1] != 0;
	return strncmp(path, dir, n) == 0 && path[n] == '/';
}

/* Find `path` (normalized): 0 and *out filled, or -ENOENT. */
static int lookup(const struct fake_view *fv, const char *path, struct node *out)
{
	size_t n = strlen(path);
	if (n == 0 || path[0] != '/' || n >= sizeof(out->path))
		return -ENOENT;
	memcpy(out->path, path, n + 1);
	while (n > 1 && out->path[n - 1] == '/')
		out->path[--n] = 0;
	out->f = NULL;
	for (size_t i = 0; i < fv->nfiles; i++)
		if (strcmp(fv->files[i].path, out->path) == 0) {
			out->f = &fv->files[i];
			return 0;
		}
	if (strcmp(out->path, "/") == 0)
		return 0;
	for (size_t i = 0; i < fv->nfiles; i++)
		if (below(fv->files[i].path, out->path))
			return 0; /* an implied directory */
	return -ENOENT;
}

static int open_node(struct fake_view *fv, const struct node *n, struct vfile **out)
{
	const struct fake_file *f = n->f;
	if (!f || f->type == VF_DIR)
		return -EISDIR;
	if (f->open_err)
		return -f->open_err;
	if (f->type != VF_REG)
		return -EINVAL;
	struct vfile *vf = calloc(1, sizeof(*vf));
	if (!vf)
		return -ENOMEM;
	vf->fv = fv;
	vf->f = f;
	fv->open_files++;
	*out = vf;
	return 0;
}

static int f_file_open(struct view *v, const char *path, struct vfile **out)
{
	struct fake_view *fv = fake(v);
	struct node n;
	int r = op_begin(fv, FAKE_FILES, NULL);
	if (r)
		return r;
	if ((r = lookup(fv, path, &n)) < 0)
		return r;
	/* a final symlink: followed once, to an absolute target inside */
	if (n.f && n.f->type == VF_LNK) {
		if (!n.f->link || n.f->link[0] != '/')
			return -ENOENT;
		if ((r = lookup(fv, n.f->link, &n)) < 0)
			return r;
	}
	return open_node(fv, &n, out);
}

static ssize_t f_file_read(struct vfile *vf, void *dst, size_t n)
{
	size_t len = content_len(vf->f), left = len - vf->pos;
	if (n > left)
		n = left;
	if (n)
		memcpy(dst, vf->f->content + vf->pos, n);
	vf->pos += n;
	return (ssize_t)n;
}

static int f_file_stat(struct vfile *vf, struct vt_stat *out)
{
	struct node n = {.f = vf->f};
	fill_stat(&n, out);
	return 0;
}

static void f_file_close(struct vfile *vf)
{
	vf->fv->open_files--;
	free(vf);
}

static int f_stat(struct view *v, const char *path, struct vt_stat *out)
{
	struct fake_view *fv = fake(v);
	struct node n;
	int r = op_begin(fv, FAKE_FILES, NULL);
	if (r)
		return r;
	if ((r = lookup(fv, path, &n)) < 0)
		return r;
	fill_stat(&n, out);
	return 0;
}

struct walk {
	struct fake_view *fv;
	const struct vt_walk_ops *ops;
	void *ctx;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int walk_node(struct walk *w, struct node *n, int depth);

/* Visit the entries of directory n, sorted by name. */
static int walk_dir(struct walk *w, const struct node *dir, int depth)
{
	const struct fake_view *fv = w->fv;
	size_t dlen = strcmp(dir->path, "/") == 0 ? 0 : strlen(dir->path);
	char **names = calloc(fv->nfiles + 1, sizeof(*names));
	size_t nn = 0;
	int rc = 0;

	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < fv->nfiles; i++) {
		const char *p = fv->files[i].path;
		if (!below(p, dir->path))
			continue;
		const char *name = p + dlen + 1;
		size_t len = strcspn(name, "/");
		bool dup = false;
		for (size_t k = 0; k < nn && !dup; k++)
			dup = strlen(names[k]) == len && strncmp(names[k], name, len) == 0;
		if (!dup && len)
			names[nn++] = strndup(name, len);
	}
	qsort(names, nn, sizeof(*names), cmp_str);
	for (size_t k = 0; k < nn && !rc; k++) {
		struct node child;
		char path[sizeof(child.path)];
		snprintf(path, sizeof(path), "%.*s/%s", (int)dlen, dir->path, names[k]);
		if (lookup(fv, path, &child) == 0)
			rc = walk_node(w, &child, depth);
	}
	for (size_t k = 0; k < nn; k++)
		free(names[k]);
	free(names);
	return rc;
}

/* Report node n, then descend if it is a directory not skipped. */
static int walk_node(struct walk *w, struct node *n, int depth)
{
	struct vt_walk_entry e = {.path = n->path, .depth = depth, .priv = (void *)n->f};
	const char *slash = strrchr(n->path, '/');

	e.name = strcmp(n->path, "/") == 0 ? n->path : slash + 1;
	fill_stat(n, &e.st);
	if (n->f && n->f->type == VF_LNK)
		e.link = n->f->link;
	int rc = w->ops->entry(w->ctx, &e);
	if (rc == VT_WALK_SKIP)
		return 0;
	if (rc)
		return rc;
	if (e.st.type != VF_DIR)
		return 0;
	if (n->f && n->f->open_err) {
		if (w->ops->error)
			w->ops->error(w->ctx, n->path, n->f->open_err);
		return 0;
	}
	return walk_dir(w, n, depth + 1);
}

static int f_walk(struct view *v, const char *root, const struct vt_walk_ops *ops, void *ctx)
{
	struct fake_view *fv = fake(v);
	struct walk w = {.fv = fv, .ops = ops, .ctx = ctx};
	struct node *n;
	int r = op_begin(fv, FAKE_FILES, NULL);
	if (r)
		return r;
	if (!root || !ops || !ops->entry)
		return -EINVAL;
	n = malloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	r = lookup(fv, root, n);
	if (r == 0)
		r = walk_node(&w, n, 0);
	free(n);
	return r;
}

static int f_walk_open(struct view *v, const struct vt_walk_entry *e, struct vfile **out)
{
	struct fake_view *fv = fake(v);
	struct node n = {.f = e->priv};
	fv->calls[FAKE_FILES]++;
	return open_node(fv, &n, out);
}

static const struct view_ops fake_ops = {
    .name = "fake",
    .processes = f_processes,
    .mappings = f_mappings,
    .sockets = f_sockets,
    .kernel = f_kernel,
    .modules = f_modules,
    .cpu_times = f_cpu_times,
    .memory = f_memory,
    .load = f_load,
    .filesystems = f_filesystems,
    .disk_io = f_disk_io,
    .interfaces = f_interfaces,
    .cgroup = f_cgroup,
    .file_open = f_file_open,
    .file_read = f_file_read,
    .file_stat = f_file_stat,
    .file_close = f_file_close,
    .stat = f_stat,
    .walk = f_walk,
    .walk_open = f_walk_open,
    .destroy = NULL, /* the test owns the struct */
};

void fake_view_init(struct fake_view *fv)
{
	memset(fv, 0, sizeof(*fv));
	fv->ops = fake_ops;
	fv->base.ops = &fv->ops;
}

void fake_view_drop(struct fake_view *fv, enum fake_op op)
{
	struct view_ops *o = &fv->ops;
	switch (op) {
	case FAKE_PROCESSES:
		o->processes = NULL;
		break;
	case FAKE_MAPPINGS:
		o->mappings = NULL;
		break;
	case FAKE_SOCKETS:
		o->sockets = NULL;
		break;
	case FAKE_KERNEL:
		o->kernel = NULL;
		break;
	case FAKE_MODULES:
		o->modules = NULL;
		break;
	case FAKE_CPU_TIMES:
		o->cpu_times = NULL;
		break;
	case FAKE_MEMORY:
		o->memory = NULL;
		break;
	case FAKE_LOAD:
		o->load = NULL;
		break;
	case FAKE_FILESYSTEMS:
		o->filesystems = NULL;
		break;
	case FAKE_DISK_IO:
		o->disk_io = NULL;
		break;
	case FAKE_INTERFACES:
		o->interfaces = NULL;
		break;
	case FAKE_CGROUP:
		o->cgroup = NULL;
		break;
	case FAKE_FILES:
		o->file_open = NULL;
		o->file_read = NULL;
		o->file_stat = NULL;
		o->file_close = NULL;
		o->stat = NULL;
		o->walk = NULL;
		o->walk_open = NULL;
		break;
	case FAKE_NOPS:
		break;
	}
}

void fake_view_item_error(struct fake_view *fv, enum fake_op op, const char *what, int err)
{
	fv->item_err_what[op] = what;
	fv->item_err[op] = err;
}

static void set_samples(struct fake_view *fv, enum fake_op op, int sample)
{
	assert_true(sample >= 0 && sample < FAKE_SAMPLES);
	if (fv->nsamples[op] < sample + 1)
		fv->nsamples[op] = sample + 1;
}

void fake_view_cpu(struct fake_view *fv, int sample, const struct vt_cpu *v, size_t n)
{
	set_samples(fv, FAKE_CPU_TIMES, sample);
	fv->cpu[sample].v = v;
	fv->cpu[sample].n = n;
}

void fake_view_disk(struct fake_view *fv, int sample, const struct vt_diskio *v, size_t n)
{
	set_samples(fv, FAKE_DISK_IO, sample);
	fv->disk[sample].v = v;
	fv->disk[sample].n = n;
}

void fake_view_ifaces(struct fake_view *fv, int sample, const struct vt_iface *v, size_t n)
{
	set_samples(fv, FAKE_INTERFACES, sample);
	fv->ifaces[sample].v = v;
	fv->ifaces[sample].n = n;
}

void fake_view_cgroup(struct fake_view *fv, int sample, const struct vt_cgroup *cg)
{
	set_samples(fv, FAKE_CGROUP, sample);
	fv->cgroup[sample] = *cg;
}

/* ---- a memory sink -------------------------------------------------------- */

struct mem_sink {
	struct sink base;
	struct buf b;
};

static int mem_write(struct sink *s, const void *data, size_t len)
{
	buf_add(&((struct mem_sink *)s)->b, data, len);
	return 0;
}

static void mem_close(struct sink *s)
{
	(void)s; /* owned by fake_crawl() */
}

static const struct sink_ops mem_sink_ops = {
    .name = "memory",
    .write = mem_write,
    .close = mem_close,
};

/* ---- the crawl ------------------------------------------------------------ */

void fake_opts_init(struct fake_opts *o)
{
	*o = (struct fake_opts){
	    .sample_interval = 1.0,
	    .config_max_size = 64 * 1024,
	    .file_root = "/",
	    .file_hash_max = 64ull * 1024 * 1024,
	};
}

/* Set the option of `flag` (a `vantage crawl` flag) from text, as the CLI does. */
static void set_flag(struct crawl_opts *co, const char *flag, const char *value, bool replace)
{
	const struct feature *f;
	bool negated;
	char err[256];
	const struct feature_option *fo = feature_option_by_flag(flag, true, &f, &negated);
	assert_non_null(fo);
	if (crawl_opts_set(co, f, fo, value, replace, true, err, sizeof(err)) < 0)
		fail_msg("--%s %s: %s", flag, value, err);
}

/*
 * THE place that turns a test's options into what features read: the
 * features' own settings, set through their declared options from text,
 * the way `vantage crawl` flags set them (crawl_opts_free() frees them).
 */
static void fake_settings(const struct fake_opts *o, struct crawl_opts *out)
{
	char v[64];
	assert_int_equal(crawl_opts_init(out), 0);
	snprintf(v, sizeof(v), "%.9g", o->sample_interval);
	set_flag(out, "interval", v, true);
	for (int i = 0; i < o->nconfig_paths; i++)
		set_flag(out, "config-path", o->config_paths[i], i == 0);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)o->config_max_size);
	set_flag(out, "config-max-size", v, true);
	set_flag(out, "file-root", o->file_root, true);
	for (int i = 0; i < o->nfile_excludes; i++)
		set_flag(out, "exclude", o->file_excludes[i], i == 0);
	set_flag(out, "hash", o->file_hash ? "true" : "false", true);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)o->file_hash_max);
	set_flag(out, "hash-max-size", v, true);
	for (int i = 0; i < o->nset; i++)
		set_flag(out, o->set[i].flag, o->set[i].value, true);
	out->progress = false;
}

void fake_crawl(const struct feature *ft, struct view *v, const struct fake_opts *o,
                struct fake_frame *out)
{
	struct fake_opts defaults;
	struct crawl_opts opts;
	struct mem_sink sink = {.base = {.ops = &mem_sink_ops, .desc = "memory"}};
	struct system_id sys = {0};
	const char *names[1] = {ft->name};

	if (!o) {
		fake_opts_init(&defaults);
		o = &defaults;
	}
	fake_settings(o, &opts);
	memset(out, 0, sizeof(*out));
	strcpy(sys.id, "fake:1");
	strcpy(sys.name, "fake");
	strcpy(sys.kind, "host");
	strcpy(sys.host, "fake");

	struct crawl_ctx c = {.view = v,
	                      .opts = &opts,
	                      .settings = crawl_opts_settings(&opts, ft),
	                      .carry = o->carry};
	if (o->prime && ft->prime)
		c.primed = ft->prime(&c);
	struct frame *f =
	    frame_begin(&sink.base, &sys, names, 1, o->crawler_format ? FRAME_CRAWLER : FRAME_JSON);
	assert_non_null(f);
	c.frame = f;
	frame_feature_start(f, ft->name);
	out->rc = ft->crawl(&c);
	if (c.primed && ft->prime_free)
		ft->prime_free(c.primed);
	if (out->rc == -ENOTSUP)
		frame_skip(f, "%s does not apply", ft->name);
	else if (out->rc < 0)
		frame_error(f, -out->rc, "feature %s failed", ft->name);
	frame_feature_end(f);
	assert_int_equal(frame_end(f), 0);

	buf_addc(&sink.b, 0); /* NUL-terminate even when empty */
	out->len = sink.b.len - 1;
	out->text = sink.b.data;
	if (!o->crawler_format)
		fake_frame_parse(out);
	crawl_opts_free(&opts);
}
