/*
 * config.c - the `config` feature: content and SHA-256 of configuration
 * files.
 *
 * For each of its `paths` (--config-path, default /etc), a file or a directory
 * walked recursively through view_walk() (symlinks never followed), one
 * record per regular file or symlink, keyed by its path inside the system:
 *
 *   path, size, mode ("0644", as in the file feature), uid, gid,
 *   mtime ("2024-05-01T12:00:00Z")
 *   sha256     of the whole file, streamed in 64 KiB chunks; files above
 *              HASH_CAP (64 MiB) are not read at all: no sha256 and
 *              "hash_skipped": true (so a 10 GB sparse file costs nothing)
 *   content    the file's bytes as a JSON string (non-UTF-8 bytes escaped
 *              by the JSON writer), only for files up to
 *              `max_size` bytes (--config-max-size, default 64K)
 *   truncated  false when content holds the whole file; true when the file
 *              is larger than the limit and content is left out (that file
 *              is also counted as skipped in the frame header)
 *   link       for a symlink: its target as stored (never followed)
 *   redacted   how many secrets were taken out of content (util/redact.h:
 *              private keys, password and token assignments, URL passwords,
 *              known token shapes), each replaced by "[REDACTED]"; the
 *              sha256 is the file's own, so a changed secret still shows;
 *              --no-config-redact keeps the content as it is
 *   withheld   true when the path is a known secret (shadow files, private
 *              keys: see is_secret()); it keeps its sha256, so a change is
 *              still seen, but its content never enters a frame
 *   error      set (and counted in the header) when the file could not be
 *              read; the metadata fields are still there
 *
 * FIFOs, devices and sockets are counted as skipped and never opened, so a
 * hostile system cannot make the crawl block.  Files are opened only
 * through the view (confined to the system's root).
 *
 * Crawler format: rec_crawler("config", path), plus the reference's
 * "name" field (the last path component).
 */
#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/sha256.h"
#include "../util/redact.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "feature.h"

#define CHUNK (64 * 1024)
#define HASH_CAP (64ull * 1024 * 1024)

/* The settings (options below). */
struct config_settings {
	struct feature_list paths; /* files or directories */
	uint64_t max_size;         /* larger files get no content */
	bool redact;               /* well-known secrets out of content */
};

static const struct feature_option options[] = {
    {.key = "config_paths",
     .flag = "config-path",
     .metavar = "PATH",
     .type = FOPT_LIST,
     .dflt = "/etc",
     .help = "files or directories read, in each system's own root",
     .offset = offsetof(struct config_settings, paths)},
    {.key = "config_max_size",
     .flag = "config-max-size",
     .metavar = "SIZE",
     .type = FOPT_SIZE,
     .dflt = "64K",
     .help = "larger files get size and hash, no content",
     .offset = offsetof(struct config_settings, max_size)},
    {.key = "config_redact",
     .flag = "config-redact",
     .type = FOPT_BOOL,
     .dflt = "true",
     .help = "replace private keys, passwords, tokens and URL passwords in content with "
             "[REDACTED] (--no-config-redact: keep content as it is)",
     .offset = offsetof(struct config_settings, redact)},
    {0},
};

extern const struct feature feature_config;

struct config_walk {
	struct crawl_ctx *c;
	struct frame *f;
	bool crawler;
	uint64_t max; /* content limit */
	bool redact;
	struct buf clean; /* content with its secrets out */
	struct sha256 *sha;
	char *chunk;
	struct buf content; /* reused for every file */
	int err;            /* first error that stopped the walk */
};

/* What reading one file gave. */
struct file_read {
	bool have_hash, have_content, hash_skipped;
	int err; /* negative errno, 0 if read fine */
	char hex[SHA256_HEX_LEN + 1];
};

/*
 * Read a regular file: hash all of it (up to HASH_CAP) and keep its
 * content in w->content while it stays within w->max bytes.
 */
static void read_file(struct config_walk *w, const struct vt_walk_entry *e, struct file_read *r)
{
	struct view *v = w->c->view;
	struct vfile *vf = NULL;
	bool keep = e->st.size <= w->max;
	uint64_t total = 0;
	ssize_t n;
	int rc;

	buf_reset(&w->content);
	if (e->st.size > HASH_CAP) {
		r->hash_skipped = true;
		return;
	}
	rc = view_walk_open(v, e, &vf);
	if (rc == -ENOTSUP)
		rc = view_file_open(v, e->path, &vf);
	if (rc < 0) {
		r->err = rc;
		return;
	}
	rc = sha256_begin(w->sha);
	while (!rc && (n = view_file_read(v, vf, w->chunk, CHUNK)) != 0) {
		if (n == -EINTR || n == -EAGAIN)
			continue;
		if (n < 0) {
			rc = (int)n;
			break;
		}
		total += (uint64_t)n;
		if (total > HASH_CAP) { /* grew (or lied about its size) */
			r->hash_skipped = true;
			keep = false;
			break;
		}
		if (keep && total > w->max)
			keep = false; /* grew past the limit since the stat */
		if (keep)
			buf_add(&w->content, w->chunk, (size_t)n);
		rc = sha256_update(w->sha, w->chunk, (size_t)n);
	}
	view_file_close(v, vf);
	if (rc < 0) {
		r->err = rc;
		return;
	}
	if (!r->hash_skipped)
		r->have_hash = sha256_end_hex(w->sha, r->hex) == 0;
	r->have_content = keep;
}

static void common_fields(struct config_walk *w, struct json *j, const struct vt_walk_entry *e)
{
	char mode[5], t[40];
	uint32_t m = e->st.mode;

	rec_crawler(w->f, "config", e->path);
	if (w->crawler)
		jw_str(j, "name", e->name);
	jw_str(j, "path", e->path);
	jw_uint(j, "size", e->st.size);
	for (int i = 3; i >= 0; i--, m >>= 3)
		mode[i] = (char)('0' + (m & 7));
	mode[4] = 0;
	jw_str(j, "mode", mode);
	jw_uint(j, "uid", e->st.uid);
	jw_uint(j, "gid", e->st.gid);
	format_time_utc_sec(e->st.mtime, t, sizeof(t));
	jw_str(j, "mtime", t);
}

/*
 * Files whose content is a secret: password hashes, private keys.  Their
 * hash still shows a change; their bytes never leave the system.
 */
static bool is_secret(const char *path)
{
	static const char *const exact[] = {
	    "/etc/shadow",           "/etc/shadow-", "/etc/gshadow",    "/etc/gshadow-",
	    "/etc/security/opasswd", "/etc/sudoers", "/etc/machine-id",
	};
	static const char *const under[] = {"/etc/ssl/private/", "/etc/pki/tls/private/",
	                                    "/etc/letsencrypt/", "/etc/wireguard/",
	                                    "/etc/NetworkManager/system-connections/"};
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (strcmp(path, exact[i]) == 0)
			return true;
	for (size_t i = 0; i < sizeof(under) / sizeof(under[0]); i++)
		if (strncmp(path, under[i], strlen(under[i])) == 0)
			return true;
	/* ssh host keys and the like: *_key, *.key, *.pem private keys */
	size_t n = strlen(base);
	if ((n > 4 && strcmp(base + n - 4, "_key") == 0) ||
	    (n > 4 && strcmp(base + n - 4, ".key") == 0))
		return true;
	return false;
}

static int emit_regular(struct config_walk *w, const struct vt_walk_entry *e)
{
	struct file_read r = {0};
	struct json *j;

	read_file(w, e, &r);
	if (r.err)
		frame_error(w->f, -r.err, "%s", e->path);
	else if (!r.have_content)
		frame_skip(w->f, "%s: larger than limit (%" PRIu64 " > %" PRIu64 " bytes)", e->path,
		           e->st.size, w->max);
	j = rec_begin(w->f, e->path);
	common_fields(w, j, e);
	if (r.have_hash)
		jw_str(j, "sha256", r.hex);
	if (r.hash_skipped)
		jw_bool(j, "hash_skipped", true);
	bool secret = is_secret(e->path);
	if (r.have_content && !secret) {
		size_t n = 0;
		if (w->redact && w->content.len) {
			buf_reset(&w->clean);
			n = redact_text(w->content.data, w->content.len, &w->clean);
		}
		if (n)
			jw_strn(j, "content", w->clean.data, w->clean.len);
		else
			jw_strn(j, "content", w->content.len ? w->content.data : "",
			        w->content.len);
		if (n)
			jw_uint(j, "redacted", n);
	}
	if (secret)
		jw_bool(j, "withheld", true);
	if (r.err)
		jw_str(j, "error", strerror(-r.err));
	else
		jw_bool(j, "truncated", !r.have_content);
	return rec_end(w->f);
}

static int emit_symlink(struct config_walk *w, const struct vt_walk_entry *e)
{
	struct json *j = rec_begin(w->f, e->path);

	common_fields(w, j, e);
	jw_str(j, "link", e->link);
	return rec_end(w->f);
}

static int on_entry(void *ctx, const struct vt_walk_entry *e)
{
	struct config_walk *w = ctx;
	int rc;

	switch (e->st.type) {
	case VF_DIR:
		return 0;
	case VF_REG:
		rc = emit_regular(w, e);
		break;
	case VF_LNK:
		rc = emit_symlink(w, e);
		break;
	default:
		frame_skip(w->f, "%s: %s, not read", e->path, vt_ftype_name(e->st.type));
		return 0;
	}
	if (rc < 0) {
		w->err = rc;
		return 1;
	}
	return 0;
}

static void on_error(void *ctx, const char *path, int err)
{
	struct config_walk *w = ctx;

	if (err == VT_WALK_TOO_DEEP)
		frame_error(w->f, 0, "%s: more than %d directories deep, not read", path,
		            VT_WALK_MAX_DEPTH);
	else
		frame_error(w->f, err, "%s", path);
}

static int crawl(struct crawl_ctx *c)
{
	const struct config_settings *o = FEATURE_SETTINGS(c, feature_config);
	if (!o)
		return -EINVAL; /* a caller that gave no crawl_opts */
	const struct vt_walk_ops ops = {.entry = on_entry, .error = on_error};
	struct config_walk w = {
	    .c = c,
	    .f = c->frame,
	    .crawler = frame_format(c->frame) == FRAME_CRAWLER,
	    .max = o->max_size,
	    .redact = o->redact,
	};
	int rc = 0;

	w.sha = sha256_new();
	w.chunk = malloc(CHUNK);
	if (!w.sha || !w.chunk)
		rc = -ENOMEM;
	for (int i = 0; !rc && i < o->paths.n; i++) {
		const char *path = o->paths.v[i];
		int r;

		if (!path || !*path)
			continue;
		r = view_walk(c->view, path, &ops, &w);
		if (r == -ENOTSUP)
			rc = r; /* this view has no files at all */
		else if (r > 0)
			rc = w.err;
		else if (r < 0)
			frame_error(w.f, -r, "%s", path);
	}
	buf_free(&w.content);
	buf_free(&w.clean);
	sha256_free(w.sha);
	free(w.chunk);
	return rc;
}

const struct feature feature_config = {
    .name = "config",
    .description = "content and SHA-256 of configuration files (default: under /etc)",
    .on_files_only = true,
    .needs_files = true,
    .crawl = crawl,
    .default_interval = 3600,
    .lane = FEATURE_LANE_SLOW,
    .options = options,
    .settings_size = sizeof(struct config_settings),
};
