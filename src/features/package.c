/*
 * package.c - the `package` feature: installed packages, read from the
 * package managers' own databases inside the system (never by running a
 * package manager).
 *
 *   dpkg  /var/lib/dpkg/status, streamed in chunks through the view
 *   rpm   /var/lib/rpm/rpmdb.sqlite (or /usr/lib/sysimage/rpm/...), read
 *         whole through the view into memory and opened there by SQLite,
 *         so no path of the observed system is ever opened outside its
 *         root (a symlink cannot lead SQLite out of it)
 *   apk   /lib/apk/db/installed, streamed like dpkg
 *
 * Every database found is read; a missing one just means the system does
 * not use that manager.  One record per package, key = its name.
 *
 * dpkg: a package is reported when its files are on disk, i.e. its state
 * (third word of Status) is installed, unpacked, half-installed,
 * half-configured, triggers-awaited or triggers-pending (dpkg-query's
 * abbreviations i, U, H, F, W, t); `status` carries the state so a
 * consumer can keep only "installed".  not-installed and config-files
 * entries are left out.
 *
 * Keys: the package name.  When a name comes again (dpkg Multi-Arch: same
 * packages of a second architecture, several rpm versions of gpg-pubkey
 * or kernel-core, or the same name from two managers), the later entries
 * get "name:arch" (dpkg, apk) or "name-version.arch" (rpm), so keys stay
 * unique; a set of name hashes remembers what was seen.
 *
 * A malformed entry produces what it can (a record when it has a name)
 * plus one frame error naming the file, the entry and what was wrong.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/timefmt.h"
#include "../util/u64set.h"
#include "../util/util.h"
#include "feature.h"
#include "pkgdb.h"

/* rpmdb.sqlite is read whole into memory: refuse a bigger one */
#define RPMDB_MAX_SIZE (512ull << 20)

/* ---- a set of name hashes (to make repeated names' keys unique) ---------- */

static uint64_t name_hash(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h;
}

/* Add; returns true if the name was already there (false when out of
 * memory: keys may repeat, nothing worse). */
static bool name_seen(struct u64set *seen, const char *s, size_t n)
{
	return u64set_add(seen, name_hash(s, n)) == 0;
}

/* ---- records ----------------------------------------------------------------- */

struct pkg_crawl {
	struct crawl_ctx *c;
	const char *manager; /* "dpkg", "rpm", "apk" */
	const char *path;    /* database path inside the system */
	struct u64set seen;  /* hashes of the names emitted */
};

static void str_field(struct json *j, const char *name, const struct pkg *p, unsigned bit,
                      const struct pkg_str *s)
{
	if (p->have & bit)
		jw_strn(j, name, s->s, s->len);
	else
		jw_null(j, name);
}

static void emit(struct pkg_crawl *pc, const struct pkg *p)
{
	struct frame *f = pc->c->frame;
	char key[3 * PKG_STR_MAX];

	memcpy(key, p->name.s, p->name.len + 1);
	if (name_seen(&pc->seen, p->name.s, p->name.len)) {
		bool arch = (p->have & PKG_ARCH) && p->arch.len;
		if (!strcmp(pc->manager, "rpm"))
			snprintf(key, sizeof(key), "%s-%s%s%s", p->name.s, p->version.s,
			         arch ? "." : "", arch ? p->arch.s : "");
		else if (arch)
			snprintf(key, sizeof(key), "%s:%s", p->name.s, p->arch.s);
		else /* still unique: where the entry is in its file */
			snprintf(key, sizeof(key), "%s@%llu", p->name.s,
			         (unsigned long long)p->offset);
	}

	struct json *j = rec_begin(f, key);
	rec_crawler(f, "package", key);
	jw_strn(j, rec_name(f, "name", "pkgname"), p->name.s, p->name.len);
	str_field(j, rec_name(f, "version", "pkgversion"), p, PKG_VERSION, &p->version);
	str_field(j, rec_name(f, "arch", "pkgarchitecture"), p, PKG_ARCH, &p->arch);
	if (p->have & PKG_SIZE)
		jw_uint(j, rec_name(f, "size_kb", "pkgsize"), p->size_kb);
	else
		jw_null(j, rec_name(f, "size_kb", "pkgsize"));
	if (p->have & PKG_SOURCE)
		jw_strn(j, "source", p->source.s, p->source.len);
	else
		jw_strn(j, "source", p->name.s, p->name.len);
	if (p->have & PKG_STATUS)
		jw_strn(j, "status", p->status.s, p->status.len);
	else
		jw_str(j, "status", "installed");
	jw_str(j, "manager", pc->manager);
	if (p->have & PKG_CONFFILES && frame_format(f) != FRAME_CRAWLER) {
		jw_obj_begin(j, "conffiles");
		for (size_t i = 0; i < p->nconffiles; i++)
			jw_str(j, p->conffiles[i].path.s, p->conffiles[i].md5);
		jw_obj_end(j);
	}
	if (!(p->have & PKG_INSTALLTIME)) {
		jw_null(j, "installed");
	} else if (frame_format(f) == FRAME_CRAWLER) {
		jw_int(j, "installed", p->install_time);
	} else {
		char t[40];
		format_time_utc(p->install_time * 1000000000ll, t, sizeof(t));
		jw_str(j, "installed", t);
	}
	rec_end(f);
}

/*
 * Report what was wrong with an entry, as one frame error: its malformed
 * lines, cut values, missing version, and `skip` (why it is left out, or
 * NULL when it is emitted).
 */
static void report(struct pkg_crawl *pc, const struct pkg *p, const char *what, const char *skip)
{
	bool nover = (p->have & PKG_NAME) && !(p->have & PKG_VERSION);
	if (!p->bad && !p->truncated && !nover && !skip)
		return;
	struct buf m = BUF_INIT;
	if (p->have & PKG_NAME)
		buf_printf(&m, "%s: package %s (%s %llu):", pc->path, p->name.s, what,
		           (unsigned long long)p->offset);
	else
		buf_printf(&m, "%s: entry at %s %llu:", pc->path, what,
		           (unsigned long long)p->offset);
	const char *sep = " ";
	if (p->bad) {
		buf_printf(&m, "%s%u malformed line(s) or value(s)", sep, p->bad);
		sep = ", ";
	}
	if (p->truncated) {
		buf_printf(&m, "%svalue(s) cut to %d bytes", sep, PKG_STR_MAX - 1);
		sep = ", ";
	}
	if (nover) {
		buf_printf(&m, "%sno version", sep);
		sep = ", ";
	}
	if (skip)
		buf_printf(&m, "%s%s: skipped", sep, skip);
	frame_error(pc->c->frame, 0, "%s", buf_str(&m));
	buf_free(&m);
}

static int dpkg_one(void *ctx, const struct pkg *p)
{
	struct pkg_crawl *pc = ctx;
	char why[PKG_STR_MAX + 32];
	const char *skip = NULL;

	if (!(p->have & PKG_NAME)) {
		skip = "no package name";
	} else if (!(p->have & PKG_STATUS)) {
		skip = "no valid Status field";
	} else {
		switch (dpkg_state(p->status.s, p->status.len)) {
		case DPKG_ABSENT: /* removed, config files left: not installed */
			if (!p->bad && !p->truncated)
				return 0;
			skip = "not installed";
			break;
		case DPKG_UNKNOWN:
			snprintf(why, sizeof(why), "unknown state \"%s\"", p->status.s);
			skip = why;
			break;
		case DPKG_PRESENT:
			break;
		}
	}
	report(pc, p, "byte", skip);
	if (!skip)
		emit(pc, p);
	return 0;
}

static int apk_one(void *ctx, const struct pkg *p)
{
	struct pkg_crawl *pc = ctx;
	bool named = p->have & PKG_NAME;
	report(pc, p, "byte", named ? NULL : "no package name");
	if (named)
		emit(pc, p);
	return 0;
}

/* rpm_header_parse() refuses a header without a name: always named. */
static int rpm_one(void *ctx, const struct pkg *p)
{
	struct pkg_crawl *pc = ctx;
	report(pc, p, "hnum", NULL);
	emit(pc, p);
	return 0;
}

static void rpm_bad(void *ctx, int64_t hnum, int err)
{
	struct pkg_crawl *pc = ctx;
	frame_error(pc->c->frame, err, "%s: package header %lld", pc->path, (long long)hnum);
}

/* ---- reading through the view -------------------------------------------------- */

struct vsrc {
	struct view *v;
	struct vfile *f;
};

static ssize_t vsrc_read(void *rctx, void *dst, size_t n)
{
	struct vsrc *s = rctx;
	return view_file_read(s->v, s->f, dst, n);
}

/* A database that is not there is not an error. */
static bool absent(int err)
{
	return err == -ENOENT || err == -ENOTDIR;
}

static int read_text_db(struct pkg_crawl *pc, const char *path,
                        int (*reader)(pkgdb_read_fn, void *, pkg_cb, void *), pkg_cb cb)
{
	struct view *v = pc->c->view;
	struct vsrc src = {.v = v};
	int r = view_file_open(v, path, &src.f);
	if (r < 0)
		return r;
	pc->path = path;
	r = reader(vsrc_read, &src, cb, pc);
	view_file_close(v, src.f);
	if (r < 0)
		frame_error(pc->c->frame, -r, "%s: read failed", path);
	return 0;
}

/* Read the whole regular file `path` (at most `max` bytes) into *out. */
static int read_whole(struct view *v, const char *path, size_t max, unsigned char **out,
                      size_t *len)
{
	struct vfile *f;
	struct vt_stat st;
	int r = view_file_open(v, path, &f);
	if (r < 0)
		return r;
	r = view_file_stat(v, f, &st);
	if (r == 0 && st.size > max)
		r = -EFBIG;
	unsigned char *data = NULL;
	size_t got = 0, cap = r == 0 ? (size_t)st.size : 0;
	if (r == 0 && !(data = malloc(cap ? cap : 1)))
		r = -ENOMEM;
	while (r == 0 && got < cap) {
		ssize_t n = view_file_read(v, f, data + got, cap - got);
		if (n == -EINTR)
			continue;
		if (n < 0)
			r = (int)n;
		else if (n == 0)
			break;
		else
			got += (size_t)n;
	}
	view_file_close(v, f);
	if (r < 0) {
		free(data);
		return r;
	}
	*out = data;
	*len = got;
	return 0;
}

static int read_rpmdb(struct pkg_crawl *pc, const char *path)
{
	unsigned char *db;
	size_t len;
	int r = read_whole(pc->c->view, path, RPMDB_MAX_SIZE, &db, &len);
	if (r < 0)
		return r;
	pc->path = path;
	r = rpmdb_sqlite_read(db, len, rpm_one, rpm_bad, pc);
	free(db);
	if (r == -EINVAL)
		frame_error(pc->c->frame, EINVAL, "%s: not an rpm SQLite database", path);
	else if (r < 0)
		frame_error(pc->c->frame, -r, "%s: read failed", path);
	return 0;
}

static void report_open(struct pkg_crawl *pc, const char *path, int r)
{
	if (r < 0 && !absent(r))
		frame_error(pc->c->frame, -r, "%s", path);
}

static void crawl_rpm(struct pkg_crawl *pc)
{
	static const char *const sqlite_paths[] = {"/var/lib/rpm/rpmdb.sqlite",
	                                           "/usr/lib/sysimage/rpm/rpmdb.sqlite"};
	static const char *const legacy_paths[] = {"/var/lib/rpm/Packages",
	                                           "/var/lib/rpm/Packages.db",
	                                           "/usr/lib/sysimage/rpm/Packages.db"};
	struct vt_stat st;
	pc->manager = "rpm";
	/* the second is where /var/lib/rpm points on newer Fedora and SUSE:
	 * read only the first one found so a database is never read twice */
	for (size_t i = 0; i < ARRAY_SIZE(sqlite_paths); i++) {
		int r = read_rpmdb(pc, sqlite_paths[i]);
		if (!absent(r)) {
			report_open(pc, sqlite_paths[i], r);
			return;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(legacy_paths); i++) {
		if (view_stat(pc->c->view, legacy_paths[i], &st) == 0 && st.type == VF_REG) {
			frame_skip(pc->c->frame, "%s: Berkeley DB / ndb rpm database not supported",
			           legacy_paths[i]);
			return;
		}
	}
}

static int crawl(struct crawl_ctx *c)
{
	if (!VIEW_HAS(c->view, file_open))
		return -ENOTSUP;
	struct pkg_crawl pc = {.c = c};
	u64set_init(&pc.seen);
	int r;

	pc.manager = "dpkg";
	r = read_text_db(&pc, "/var/lib/dpkg/status", dpkg_read, dpkg_one);
	report_open(&pc, "/var/lib/dpkg/status", r);

	crawl_rpm(&pc);

	pc.manager = "apk";
	r = read_text_db(&pc, "/lib/apk/db/installed", apk_read, apk_one);
	report_open(&pc, "/lib/apk/db/installed", r);

	u64set_free(&pc.seen);
	return 0;
}

const struct feature feature_package = {
    .name = "package",
    .description = "installed packages (dpkg, rpm, apk) read from their databases",
    .on_files_only = true,
    .needs_files = true,
    .crawl = crawl,
    .default_interval = 3600,
    .lane = FEATURE_LANE_SLOW,
};
