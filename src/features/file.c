/*
 * file.c - the `file` feature: a metadata walk of a directory tree.
 *
 * Walks its `root` (--file-root, default "/") through view_walk(), one record per
 * entry (the root itself included), keyed by the path inside the system.
 * Paths in its `excludes` (--exclude), and everything below them, are neither
 * reported nor descended into (an exclude is a path prefix ending at a
 * component boundary: "/proc" excludes "/proc/1", not "/procfs").  An
 * exclude that holds the walk's root itself is ignored, so that
 * `--file-root /proc` walks /proc despite the default excludes.
 *
 * Value fields (JSON format):
 *   path    the path inside the system
 *   type    file, dir, symlink, chardev, blockdev, fifo, socket, unknown
 *   mode    permission bits incl. setuid/setgid/sticky as a 4-digit octal
 *           string ("0755", "4755"): octal is how people read modes, and a
 *           string keeps the leading zero
 *   uid, gid, size, inode, nlink   numbers
 *   mtime, ctime   UTC, "2024-05-01T12:00:00Z" (second precision, as stat
 *           gives it through the view)
 *   link    the target of a symlink as stored, never followed (symlinks only)
 *   sha256  with `hash` (--hash), for regular files up to `hash_max`
 *           bytes (--hash-max-size; 0: 64 MiB), read in 64 KiB chunks
 *
 * Crawler format (rec_crawler "file", key the path): the reference
 * crawler's fields and types: name, path, type (file, dir, link, char,
 * block, pipe, socket — sockets are not "file" as the reference had them),
 * mode (the numeric st_mode, type bits included), uid, gid, size, mtime and
 * ctime as epoch seconds, linksto (null for non-links), plus inode, nlink
 * and sha256.
 *
 * Nothing is kept per entry: memory is the walk's (bounded by depth) plus
 * one record.  With opts->progress (global: --progress) a line "file: N entries, /path" is
 * redrawn on stderr at most 5 times a second and cleared at the end.
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/sha256.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "feature.h"

#define CHUNK (64 * 1024)
#define DEFAULT_HASH_MAX (64ull * 1024 * 1024)
#define PROGRESS_NS (200 * 1000 * 1000)

/* The settings (options below). */
struct file_settings {
	char *root;                   /* where the walk starts */
	struct feature_list excludes; /* paths not descended into */
	bool hash;                    /* add SHA-256 of regular files */
	uint64_t hash_max;            /* larger files are not hashed */
};

static const struct feature_option options[] = {
    {.key = "file_root",
     .flag = "file-root",
     .metavar = "DIR",
     .type = FOPT_STRING,
     .dflt = "/",
     .help = "where the walk starts",
     .offset = offsetof(struct file_settings, root)},
    {.key = "file_excludes",
     .flag = "exclude",
     .metavar = "PATH",
     .type = FOPT_LIST,
     .dflt = "/proc, /sys, /dev, /run",
     .help = "paths not descended into",
     .offset = offsetof(struct file_settings, excludes)},
    {.key = "file_hash",
     .flag = "hash",
     .type = FOPT_BOOL,
     .help = "add the SHA-256 of regular files",
     .offset = offsetof(struct file_settings, hash)},
    {.key = "file_hash_max_size",
     .flag = "hash-max-size",
     .metavar = "SIZE",
     .type = FOPT_SIZE,
     .dflt = "64M",
     .help = "larger files are not hashed",
     .offset = offsetof(struct file_settings, hash_max)},
    {0},
};

extern const struct feature feature_file;

struct exclude {
	const char *s;
	size_t len; /* without trailing slashes; 0 excludes everything */
};

/* A tiny cache: mtime and ctime repeat a lot across a tree. */
struct time_cache {
	int64_t sec[2];
	char str[2][40];
	int next;
};

struct file_walk {
	struct crawl_ctx *c;
	struct frame *f;
	bool crawler;
	struct exclude *ex;
	int nex;
	struct sha256 *sha; /* NULL unless hashing */
	uint64_t hash_max;
	char *chunk;
	uint64_t entries;
	int64_t last_progress;
	bool progress_shown;
	int err; /* first error that stopped the walk */
	struct time_cache tc;
};

static const char *cached_time(struct time_cache *tc, int64_t sec)
{
	for (int i = 0; i < 2; i++)
		if (tc->str[i][0] && tc->sec[i] == sec)
			return tc->str[i];
	int i = tc->next;

	tc->next ^= 1;
	tc->sec[i] = sec;
	format_time_utc_sec(sec, tc->str[i], sizeof(tc->str[i]));
	return tc->str[i];
}

static const char *crawler_type(enum vt_ftype t)
{
	static const char *const names[] = {
	    [VF_REG] = "file",  [VF_DIR] = "dir",   [VF_LNK] = "link",    [VF_CHR] = "char",
	    [VF_BLK] = "block", [VF_FIFO] = "pipe", [VF_SOCK] = "socket", [VF_UNKNOWN] = "unknown",
	};

	return (unsigned)t < ARRAY_SIZE(names) ? names[t] : "unknown";
}

static uint32_t type_bits(enum vt_ftype t)
{
	static const uint32_t bits[] = {
	    [VF_REG] = 0100000, [VF_DIR] = 0040000,  [VF_LNK] = 0120000,  [VF_CHR] = 0020000,
	    [VF_BLK] = 0060000, [VF_FIFO] = 0010000, [VF_SOCK] = 0140000, [VF_UNKNOWN] = 0,
	};

	return (unsigned)t < ARRAY_SIZE(bits) ? bits[t] : 0;
}

static void mode_str(uint32_t mode, char out[5])
{
	for (int i = 3; i >= 0; i--) {
		out[i] = (char)('0' + (mode & 7));
		mode >>= 3;
	}
	out[4] = 0;
}

/* True when path `p` is `x` (len xl) or below it. */
static bool under(const char *p, size_t plen, const char *x, size_t xl)
{
	return plen >= xl && memcmp(p, x, xl) == 0 && (plen == xl || p[xl] == '/' || xl == 0);
}

static bool excluded(const struct file_walk *w, const char *path)
{
	size_t plen = strlen(path);

	for (int i = 0; i < w->nex; i++)
		if (under(path, plen, w->ex[i].s, w->ex[i].len))
			return true;
	return false;
}

/* SHA-256 of a walk entry's regular file into hex; 0 or negative errno. */
static int hash_entry(struct file_walk *w, const struct vt_walk_entry *e, char *hex)
{
	struct view *v = w->c->view;
	struct vfile *vf = NULL;
	uint64_t total = 0;
	ssize_t n;
	int rc;

	rc = view_walk_open(v, e, &vf);
	if (rc == -ENOTSUP)
		rc = view_file_open(v, e->path, &vf);
	if (rc < 0)
		return rc;
	rc = sha256_begin(w->sha);
	while (!rc && (n = view_file_read(v, vf, w->chunk, CHUNK)) != 0) {
		if (n == -EINTR || n == -EAGAIN)
			continue;
		if (n < 0) {
			rc = (int)n;
			break;
		}
		total += (uint64_t)n;
		if (total > w->hash_max) { /* grew past the limit while read */
			rc = -EFBIG;
			break;
		}
		rc = sha256_update(w->sha, w->chunk, (size_t)n);
	}
	view_file_close(v, vf);
	if (!rc)
		rc = sha256_end_hex(w->sha, hex);
	return rc;
}

static void progress(struct file_walk *w, const char *path, bool force)
{
	int64_t now = mono_ns();
	size_t len = strlen(path);

	if (!force && now - w->last_progress < PROGRESS_NS)
		return;
	w->last_progress = now;
	w->progress_shown = true;
	/* Keep the line short: the tail of a long path.  Names come from the
	 * observed system: anything but printable ASCII is shown as '?' so a
	 * file name cannot send escape sequences to the operator's terminal. */
	const char *tail = len > 60 ? path + len - 57 : path;
	char shown[64];
	size_t k = 0;
	for (; k < sizeof(shown) - 1 && tail[k]; k++)
		shown[k] = (tail[k] >= 0x20 && tail[k] < 0x7f) ? tail[k] : '?';
	shown[k] = 0;
	fprintf(stderr, "\rfile: %" PRIu64 " entries, %s%s\033[K", w->entries,
	        len > 60 ? "..." : "", shown);
	fflush(stderr);
}

static int emit(struct file_walk *w, const struct vt_walk_entry *e, const char *hex)
{
	struct frame *f = w->f;
	const struct vt_stat *st = &e->st;
	struct json *j = rec_begin(f, e->path);
	char mode[5];

	if (w->crawler) {
		rec_crawler(f, "file", e->path);
		jw_str(j, "name", e->name);
		jw_str(j, "path", e->path);
		jw_str(j, "type", crawler_type(st->type));
		jw_uint(j, "mode", type_bits(st->type) | st->mode);
	} else {
		jw_str(j, "path", e->path);
		jw_str(j, "type", vt_ftype_name(st->type));
		mode_str(st->mode, mode);
		jw_str(j, "mode", mode);
	}
	jw_uint(j, "uid", st->uid);
	jw_uint(j, "gid", st->gid);
	jw_uint(j, "size", st->size);
	if (w->crawler) {
		jw_int(j, "mtime", st->mtime);
		jw_int(j, "ctime", st->ctime);
	} else {
		jw_str(j, "mtime", cached_time(&w->tc, st->mtime));
		jw_str(j, "ctime", cached_time(&w->tc, st->ctime));
	}
	jw_uint(j, "inode", st->inode);
	jw_uint(j, "nlink", st->nlink);
	if (w->crawler)
		jw_str(j, "linksto", e->link); /* NULL -> null */
	else if (e->link)
		jw_str(j, "link", e->link);
	if (hex)
		jw_str(j, "sha256", hex);
	return rec_end(f);
}

static int on_entry(void *ctx, const struct vt_walk_entry *e)
{
	struct file_walk *w = ctx;
	char hex[SHA256_HEX_LEN + 1];
	const char *h = NULL;
	int rc;

	if (w->nex && excluded(w, e->path))
		return VT_WALK_SKIP;
	if (w->sha && e->st.type == VF_REG && e->st.size <= w->hash_max) {
		rc = hash_entry(w, e, hex);
		if (rc < 0)
			frame_error(w->f, -rc, "%s: sha256", e->path);
		else
			h = hex;
	}
	rc = emit(w, e, h);
	if (rc < 0) {
		w->err = rc;
		return 1;
	}
	w->entries++;
	if (w->c->opts->progress && (w->entries & 1023) == 0)
		progress(w, e->path, false);
	return 0;
}

static void on_error(void *ctx, const char *path, int err)
{
	struct file_walk *w = ctx;

	if (err == VT_WALK_TOO_DEEP)
		frame_error(w->f, 0, "%s: more than %d directories deep, not read", path,
		            VT_WALK_MAX_DEPTH);
	else
		frame_error(w->f, err, "%s", path);
}

/*
 * Copy the excludes, trailing slashes stripped.  An exclude that holds the
 * walk's root itself is dropped: `--file-root /proc` means the user wants
 * /proc, whatever the default excludes say.
 */
static int load_excludes(struct file_walk *w, const struct file_settings *o, const char *root)
{
	size_t rlen = strlen(root);

	while (rlen > 1 && root[rlen - 1] == '/')
		rlen--;
	if (o->excludes.n <= 0)
		return 0;
	w->ex = calloc((size_t)o->excludes.n, sizeof(*w->ex));
	if (!w->ex)
		return -ENOMEM;
	for (int i = 0; i < o->excludes.n; i++) {
		const char *s = o->excludes.v[i];
		size_t len;

		if (!s || !*s)
			continue;
		len = strlen(s);
		while (len && s[len - 1] == '/')
			len--;
		if (under(root, rlen, s, len))
			continue;
		w->ex[w->nex].s = s;
		w->ex[w->nex].len = len;
		w->nex++;
	}
	return 0;
}

static int crawl(struct crawl_ctx *c)
{
	const struct file_settings *o = FEATURE_SETTINGS(c, feature_file);
	if (!o)
		return -EINVAL; /* a caller that gave no crawl_opts */
	const struct vt_walk_ops ops = {.entry = on_entry, .error = on_error};
	struct file_walk w = {
	    .c = c,
	    .f = c->frame,
	    .crawler = frame_format(c->frame) == FRAME_CRAWLER,
	    .hash_max = o->hash_max ? o->hash_max : DEFAULT_HASH_MAX,
	};
	const char *root = o->root && *o->root ? o->root : "/";
	int rc = load_excludes(&w, o, root);

	if (!rc && o->hash) {
		w.sha = sha256_new();
		w.chunk = malloc(CHUNK);
		if (!w.sha || !w.chunk)
			rc = -ENOMEM;
	}
	if (!rc) {
		rc = view_walk(c->view, root, &ops, &w);
		if (rc > 0)
			rc = w.err;
	}
	if (w.progress_shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	sha256_free(w.sha);
	free(w.chunk);
	free(w.ex);
	return rc;
}

const struct feature feature_file = {
    .name = "file",
    .opt_in = true,
    .description = "metadata of every file under --file-root (type, mode, owner, size, "
                   "times, link target, optional SHA-256)",
    .on_files_only = true,
    .needs_files = true,
    .crawl = crawl,
    .lane = FEATURE_LANE_FILE,
    .options = options,
    .settings_size = sizeof(struct file_settings),
};
