/*
 * pkgdb.c - readers of dpkg, apk and rpm databases (see pkgdb.h).
 *
 * Text databases (dpkg, apk) go through one line reader: a single
 * PKGDB_CHUNK buffer is filled from the read function, complete lines are
 * handed to a per-format line handler, and the partial last line is moved
 * to the front before the next read.  A line that does not fit the buffer
 * is handed over cut (flagged) and its tail skipped.  The handler fills
 * one struct pkg and delivers it when a blank line (or the end of the
 * file) closes the paragraph.
 *
 * The rpm reader opens an in-memory copy of rpmdb.sqlite with SQLite's
 * deserialize interface (read-only, defensive mode, no trusted schema, a
 * bound on VM steps), selects the Packages blobs and parses each rpm
 * header with bounds checks on every count and offset.
 */
#include "pkgdb.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/util.h"

/* ---- shared helpers ------------------------------------------------------ */

static void set_str(struct pkg *p, struct pkg_str *d, const char *s, size_t n, bool cut)
{
	if (n > PKG_STR_MAX - 1) {
		n = PKG_STR_MAX - 1;
		cut = true;
	}
	memcpy(d->s, s, n);
	d->s[n] = 0;
	d->len = n;
	if (cut)
		p->truncated = true;
}

static void pkg_reset(struct pkg *p)
{
	p->nconffiles = 0;
	p->have = 0;
	p->bad = 0;
	p->truncated = false;
	p->multiarch_same = false;
	p->offset = 0;
	p->size_kb = 0;
	p->install_time = 0;
	p->name.len = p->version.len = p->arch.len = p->source.len = p->status.len = 0;
	p->name.s[0] = p->version.s[0] = p->arch.s[0] = p->source.s[0] = p->status.s[0] = 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool blank_line(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_blank(s[i]))
			return false;
	return true;
}

/* The whole of [s, s+n) is a decimal number. */
static bool parse_whole_u64(const char *s, size_t n, uint64_t *out)
{
	const char *p = s;
	return parse_u64(&p, s + n, out) && p == s + n;
}

/* ---- the line reader ------------------------------------------------------ */

/* A line handler: `cut` when the line did not fit the buffer (the handler
 * gets its first PKGDB_CHUNK bytes).  Non-zero stops the reader. */
struct line_ops {
	int (*line)(void *ctx, const char *s, size_t n, uint64_t off, bool cut);
	int (*end)(void *ctx); /* end of file */
};

static int read_lines(pkgdb_read_fn rd, void *rctx, const struct line_ops *ops, void *ctx)
{
	char *buf = malloc(PKGDB_CHUNK);
	if (!buf)
		return -ENOMEM;
	size_t len = 0;
	uint64_t off = 0;      /* file offset of buf[0] */
	bool skipping = false; /* in the tail of a cut line */
	int r = 0;

	for (;;) {
		ssize_t n = rd(rctx, buf + len, PKGDB_CHUNK - len);
		if (n == -EINTR)
			continue;
		if (n < 0) {
			r = (int)n;
			goto out;
		}
		if (n == 0)
			break;
		if ((size_t)n > PKGDB_CHUNK - len) { /* a lying read function */
			r = -EIO;
			goto out;
		}
		len += (size_t)n;
		size_t start = 0;
		char *nl;
		while ((nl = memchr(buf + start, '\n', len - start))) {
			size_t ll = (size_t)(nl - buf) - start;
			if (skipping)
				skipping = false;
			else if ((r = ops->line(ctx, buf + start, ll, off + start, false)))
				goto out;
			start += ll + 1;
		}
		if (start == 0 && len == PKGDB_CHUNK) {
			if (!skipping && (r = ops->line(ctx, buf, len, off, true)))
				goto out;
			skipping = true;
			off += len;
			len = 0;
			continue;
		}
		memmove(buf, buf + start, len - start);
		off += start;
		len -= start;
	}
	/* a last line without its newline is taken as it is (dpkg does too) */
	if (len && !skipping && (r = ops->line(ctx, buf, len, off, false)))
		goto out;
	r = ops->end(ctx);
out:
	free(buf);
	return r;
}

struct mem_src {
	const char *p;
	size_t left;
};

static ssize_t mem_read(void *rctx, void *dst, size_t n)
{
	struct mem_src *m = rctx;
	if (n > m->left)
		n = m->left;
	memcpy(dst, m->p, n);
	m->p += n;
	m->left -= n;
	return (ssize_t)n;
}

/* ---- paragraphs ------------------------------------------------------------ */

struct para {
	struct pkg pkg;
	bool started;
	bool in_conffiles; /* continuation lines belong to Conffiles */
	pkg_cb cb;
	void *ctx;
};

static int para_end(struct para *pa)
{
	int r = 0;
	if (pa->started && (pa->pkg.have || pa->pkg.bad))
		r = pa->cb(pa->ctx, &pa->pkg);
	pkg_reset(&pa->pkg);
	pa->started = false;
	pa->in_conffiles = false;
	return r;
}

static int para_eof(void *ctx)
{
	return para_end(ctx);
}

/* Start of a non-blank line: open the paragraph if needed.  Returns true
 * when this is its first line. */
static bool para_line(struct para *pa, uint64_t off)
{
	if (pa->started)
		return false;
	pa->started = true;
	pa->pkg.offset = off;
	return true;
}

/* ---- dpkg ------------------------------------------------------------------ */

static bool field_is(const char *f, size_t n, const char *name)
{
	return strlen(name) == n && !strncasecmp(f, name, n);
}

/* "want flag state" -> state, exactly three words. */
static bool dpkg_status_state(const char *v, size_t n, const char **st, size_t *stn)
{
	const char *p = v, *end = v + n;
	const char *w[3];
	size_t wl[3];
	int words = 0;
	while (p < end) {
		while (p < end && is_blank(*p))
			p++;
		if (p == end)
			break;
		const char *s = p;
		while (p < end && !is_blank(*p))
			p++;
		if (words == 3)
			return false;
		w[words] = s;
		wl[words++] = (size_t)(p - s);
	}
	if (words != 3)
		return false;
	*st = w[2];
	*stn = wl[2];
	return true;
}

/* " /etc/x 0123456789abcdef0123456789abcdef [obsolete]": the path (no
 * blanks in it, as dpkg writes it) and the MD5, or a malformed line. */
static void conffile_line(struct pkg *p, const char *s, size_t n, bool cut)
{
	const char *e = s + n, *q = s;
	while (q < e && is_blank(*q))
		q++;
	const char *path = q;
	while (q < e && !is_blank(*q))
		q++;
	size_t pn = (size_t)(q - path);
	while (q < e && is_blank(*q))
		q++;
	const char *md5 = q;
	while (q < e && !is_blank(*q))
		q++;
	size_t mn = (size_t)(q - md5);
	if (pn == 0 || path[0] != '/' || cut) {
		p->bad++;
		return;
	}
	if (p->nconffiles == PKG_CONFFILES_MAX) {
		p->truncated = true;
		return;
	}
	struct pkg_conffile *c = &p->conffiles[p->nconffiles];
	set_str(p, &c->path, path, pn, false);
	c->md5[0] = '\0';
	bool hex = mn == 32;
	for (size_t i = 0; hex && i < mn; i++)
		hex = (md5[i] >= '0' && md5[i] <= '9') || (md5[i] >= 'a' && md5[i] <= 'f');
	if (hex) {
		memcpy(c->md5, md5, 32);
		c->md5[32] = '\0';
	}
	p->nconffiles++;
	p->have |= PKG_CONFFILES;
}

static int dpkg_line(void *ctx, const char *s, size_t n, uint64_t off, bool cut)
{
	struct para *pa = ctx;
	struct pkg *p = &pa->pkg;

	if (blank_line(s, n))
		return para_end(pa);
	bool first = para_line(pa, off);
	if (s[0] == ' ' || s[0] == '\t') { /* continuation of a field */
		if (first)
			p->bad++;
		else if (pa->in_conffiles)
			conffile_line(p, s, n, cut);
		return 0;
	}
	pa->in_conffiles = false;
	const char *colon = memchr(s, ':', n);
	if (!colon || colon == s) {
		p->bad++;
		return 0;
	}
	size_t fn = (size_t)(colon - s);
	const char *v = colon + 1;
	size_t vn = n - fn - 1;
	trim(&v, &vn);

	switch (s[0] | 0x20) {
	case 'p':
		if (field_is(s, fn, "Package")) {
			if (vn == 0) {
				p->bad++;
				break;
			}
			set_str(p, &p->name, v, vn, cut);
			p->have |= PKG_NAME;
		}
		break;
	case 'v':
		if (field_is(s, fn, "Version")) {
			set_str(p, &p->version, v, vn, cut);
			p->have |= PKG_VERSION;
		}
		break;
	case 'a':
		if (field_is(s, fn, "Architecture")) {
			set_str(p, &p->arch, v, vn, cut);
			p->have |= PKG_ARCH;
		}
		break;
	case 'i':
		if (field_is(s, fn, "Installed-Size")) {
			if (parse_whole_u64(v, vn, &p->size_kb))
				p->have |= PKG_SIZE;
			else
				p->bad++;
		}
		break;
	case 's':
		if (field_is(s, fn, "Source")) {
			/* "name" or "name (version)" */
			size_t w = 0;
			while (w < vn && !is_blank(v[w]) && v[w] != '(')
				w++;
			if (w) {
				set_str(p, &p->source, v, w, cut && w == vn);
				p->have |= PKG_SOURCE;
			} else {
				p->bad++;
			}
		} else if (field_is(s, fn, "Status")) {
			const char *st;
			size_t stn;
			if (!cut && dpkg_status_state(v, vn, &st, &stn)) {
				set_str(p, &p->status, st, stn, false);
				p->have |= PKG_STATUS;
			} else {
				p->bad++;
			}
		}
		break;
	case 'm':
		if (field_is(s, fn, "Multi-Arch"))
			p->multiarch_same = vn == 4 && !strncasecmp(v, "same", 4);
		break;
	case 'c':
		if (field_is(s, fn, "Conffiles")) {
			pa->in_conffiles = true;
			if (vn) /* the list starts on the next line */
				p->bad++;
		}
		break;
	}
	return 0;
}

static const struct line_ops dpkg_ops = {.line = dpkg_line, .end = para_eof};

static int run_para(const struct line_ops *ops, pkgdb_read_fn rd, void *rctx, pkg_cb cb, void *ctx)
{
	struct para *pa = malloc(sizeof(*pa));
	if (!pa)
		return -ENOMEM;
	pkg_reset(&pa->pkg);
	pa->started = false;
	pa->in_conffiles = false;
	pa->cb = cb;
	pa->ctx = ctx;
	int r = read_lines(rd, rctx, ops, pa);
	free(pa);
	return r;
}

int dpkg_read(pkgdb_read_fn rd, void *rctx, pkg_cb cb, void *ctx)
{
	return run_para(&dpkg_ops, rd, rctx, cb, ctx);
}

int dpkg_parse(const char *buf, size_t len, pkg_cb cb, void *ctx)
{
	struct mem_src m = {buf, len};
	return dpkg_read(mem_read, &m, cb, ctx);
}

enum dpkg_state dpkg_state(const char *state, size_t len)
{
	static const char *const present[] = {"installed",        "unpacked",
	                                      "half-installed",   "half-configured",
	                                      "triggers-awaited", "triggers-pending"};
	static const char *const absent[] = {"not-installed", "config-files"};
	for (size_t i = 0; i < ARRAY_SIZE(present); i++)
		if (strlen(present[i]) == len && !memcmp(present[i], state, len))
			return DPKG_PRESENT;
	for (size_t i = 0; i < ARRAY_SIZE(absent); i++)
		if (strlen(absent[i]) == len && !memcmp(absent[i], state, len))
			return DPKG_ABSENT;
	return DPKG_UNKNOWN;
}

/* ---- apk ------------------------------------------------------------------- */

static int apk_line(void *ctx, const char *s, size_t n, uint64_t off, bool cut)
{
	struct para *pa = ctx;
	struct pkg *p = &pa->pkg;

	if (blank_line(s, n))
		return para_end(pa);
	para_line(pa, off);
	if (n < 2 || s[1] != ':') {
		p->bad++;
		return 0;
	}
	const char *v = s + 2;
	size_t vn = n - 2;
	trim(&v, &vn);
	uint64_t bytes;

	switch (s[0]) {
	case 'P':
		if (vn == 0) {
			p->bad++;
			break;
		}
		set_str(p, &p->name, v, vn, cut);
		p->have |= PKG_NAME;
		break;
	case 'V':
		set_str(p, &p->version, v, vn, cut);
		p->have |= PKG_VERSION;
		break;
	case 'A':
		set_str(p, &p->arch, v, vn, cut);
		p->have |= PKG_ARCH;
		break;
	case 'I':
		if (parse_whole_u64(v, vn, &bytes)) {
			p->size_kb = bytes / 1024 + (bytes % 1024 != 0);
			p->have |= PKG_SIZE;
		} else {
			p->bad++;
		}
		break;
	case 'o':
		set_str(p, &p->source, v, vn, cut);
		p->have |= PKG_SOURCE;
		break;
	}
	return 0;
}

static const struct line_ops apk_ops = {.line = apk_line, .end = para_eof};

int apk_read(pkgdb_read_fn rd, void *rctx, pkg_cb cb, void *ctx)
{
	return run_para(&apk_ops, rd, rctx, cb, ctx);
}

int apk_parse(const char *buf, size_t len, pkg_cb cb, void *ctx)
{
	struct mem_src m = {buf, len};
	return apk_read(mem_read, &m, cb, ctx);
}

/* ---- rpm headers ----------------------------------------------------------- */

enum {
	RPM_INT32 = 4,
	RPM_INT64 = 5,
	RPM_STRING = 6,
	RPM_STRING_ARRAY = 8,
	RPM_I18NSTRING = 9,
};

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

struct rpm_entry {
	uint32_t tag, type, offset, count;
};

/* The (first) string of an entry, NUL-terminated inside the data store. */
static bool rpm_string(const unsigned char *data, uint32_t dl, const struct rpm_entry *e,
                       const char **s, size_t *n)
{
	if (e->type != RPM_STRING && e->type != RPM_STRING_ARRAY && e->type != RPM_I18NSTRING)
		return false;
	if (e->count < 1 || (e->type == RPM_STRING && e->count != 1) || e->offset >= dl)
		return false;
	const unsigned char *z = memchr(data + e->offset, 0, dl - e->offset);
	if (!z)
		return false;
	*s = (const char *)data + e->offset;
	*n = (size_t)(z - (data + e->offset));
	return true;
}

/* The first number of an INT32 or INT64 entry. */
static bool rpm_number(const unsigned char *data, uint32_t dl, const struct rpm_entry *e,
                       uint64_t *out)
{
	uint64_t w = e->type == RPM_INT32 ? 4 : e->type == RPM_INT64 ? 8 : 0;
	if (!w || e->count < 1 || (uint64_t)e->offset + w > dl)
		return false;
	*out = w == 4 ? be32(data + e->offset) : be64(data + e->offset);
	return true;
}

/* "glibc-2.34-60.el9.src.rpm" -> "glibc": the name without its
 * version-release (kept whole when it has fewer than two dashes). */
static void rpm_source_name(const char *s, size_t n, size_t *nn)
{
	static const char *const sfx[] = {".src.rpm", ".nosrc.rpm"};
	for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
		size_t l = strlen(sfx[i]);
		if (n > l && !memcmp(s + n - l, sfx[i], l)) {
			n -= l;
			break;
		}
	}
	*nn = n;
	size_t end = n;
	for (int k = 0; k < 2; k++) {
		const char *d = memrchr(s, '-', end);
		if (!d || d == s)
			return;
		end = (size_t)(d - s);
	}
	*nn = end;
}

int rpm_header_parse(const unsigned char *blob, size_t len, struct pkg *out)
{
	uint64_t keep_off = out->offset;
	pkg_reset(out);
	out->offset = keep_off;
	if (len < 8)
		return -EINVAL;
	uint32_t il = be32(blob), dl = be32(blob + 4);
	if (il < 1 || il > RPM_HEADER_MAX_TAGS || dl > RPM_HEADER_MAX_DATA)
		return -EINVAL;
	uint64_t idx_end = 8 + (uint64_t)il * 16;
	if (idx_end > len || dl > len - idx_end)
		return -EINVAL;
	const unsigned char *data = blob + idx_end;

	const char *ver = NULL, *rel = NULL, *src = NULL;
	size_t vern = 0, reln = 0, srcn = 0;
	uint64_t epoch = 0, num;
	bool has_epoch = false, has_longsize = false;

	for (uint32_t i = 0; i < il; i++) {
		const unsigned char *ip = blob + 8 + (size_t)i * 16;
		struct rpm_entry e = {be32(ip), be32(ip + 4), be32(ip + 8), be32(ip + 12)};
		const char *s;
		size_t n;
		switch (e.tag) {
		case RPMTAG_NAME:
		case RPMTAG_ARCH:
			if (!rpm_string(data, dl, &e, &s, &n)) {
				out->bad++;
				break;
			}
			if (e.tag == RPMTAG_NAME) {
				set_str(out, &out->name, s, n, false);
				out->have |= PKG_NAME;
			} else {
				set_str(out, &out->arch, s, n, false);
				out->have |= PKG_ARCH;
			}
			break;
		case RPMTAG_VERSION:
			if (!rpm_string(data, dl, &e, &ver, &vern))
				out->bad++;
			break;
		case RPMTAG_RELEASE:
			if (!rpm_string(data, dl, &e, &rel, &reln))
				out->bad++;
			break;
		case RPMTAG_SOURCERPM:
			if (!rpm_string(data, dl, &e, &src, &srcn))
				out->bad++;
			break;
		case RPMTAG_EPOCH:
			if (rpm_number(data, dl, &e, &epoch))
				has_epoch = true;
			else
				out->bad++;
			break;
		case RPMTAG_INSTALLTIME:
			if (rpm_number(data, dl, &e, &num)) {
				out->install_time = (int64_t)(num & 0xffffffffu);
				out->have |= PKG_INSTALLTIME;
			} else {
				out->bad++;
			}
			break;
		case RPMTAG_SIZE:
		case RPMTAG_LONGSIZE:
			if (!rpm_number(data, dl, &e, &num)) {
				out->bad++;
				break;
			}
			if (e.tag == RPMTAG_SIZE && has_longsize)
				break;
			has_longsize |= e.tag == RPMTAG_LONGSIZE;
			out->size_kb = num / 1024 + (num % 1024 != 0);
			out->have |= PKG_SIZE;
			break;
		}
	}
	if (!(out->have & PKG_NAME) || !out->name.len)
		return -EINVAL;
	if (ver) {
		char e[24] = "";
		if (has_epoch)
			snprintf(e, sizeof(e), "%u:", (unsigned)epoch);
		int w = snprintf(out->version.s, PKG_STR_MAX, "%s%.*s%s%.*s", e, (int)vern, ver,
		                 rel ? "-" : "", (int)reln, rel ? rel : "");
		if (w < 0)
			w = 0;
		if (w >= PKG_STR_MAX) {
			w = PKG_STR_MAX - 1;
			out->truncated = true;
		}
		out->version.len = (size_t)w;
		out->have |= PKG_VERSION;
	}
	if (src) {
		size_t snn;
		rpm_source_name(src, srcn, &snn);
		if (snn) {
			set_str(out, &out->source, src, snn, false);
			out->have |= PKG_SOURCE;
		}
	}
	return 0;
}

/* ---- rpmdb.sqlite ---------------------------------------------------------- */

/* Bound the work a hostile schema or database can make SQLite do. */
#define RPMDB_MAX_PROGRESS_CALLS 100000 /* x 1000 VM instructions */

static int progress(void *ctx)
{
	unsigned *calls = ctx;
	return ++*calls > RPMDB_MAX_PROGRESS_CALLS;
}

static bool packages_is_table(sqlite3 *db)
{
	sqlite3_stmt *st;
	bool ok = false;
	if (sqlite3_prepare_v2(
	        db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'Packages'", -1,
	        &st, NULL) != SQLITE_OK)
		return false;
	ok = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return ok;
}

int rpmdb_sqlite_read(unsigned char *dbuf, size_t len, pkg_cb cb,
                      void (*bad)(void *ctx, int64_t hnum, int err), void *ctx)
{
	if (len < 100 || memcmp(dbuf, "SQLite format 3", 16) != 0)
		return -EINVAL;
	/* WAL mode (header bytes 18-19 == 2) cannot be read from memory */
	if (dbuf[18] == 2)
		dbuf[18] = 1;
	if (dbuf[19] == 2)
		dbuf[19] = 1;

	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct pkg *p = NULL;
	unsigned calls = 0;
	int r = -EIO;

	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		goto out;
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
	sqlite3_progress_handler(db, 1000, progress, &calls);
	if (sqlite3_deserialize(db, "main", dbuf, (sqlite3_int64)len, (sqlite3_int64)len,
	                        SQLITE_DESERIALIZE_READONLY) != SQLITE_OK)
		goto out;
	if (!packages_is_table(db)) {
		r = -EINVAL;
		goto out;
	}
	if (sqlite3_prepare_v2(db, "SELECT hnum, blob FROM Packages", -1, &st, NULL) != SQLITE_OK)
		goto out;
	p = malloc(sizeof(*p));
	if (!p) {
		r = -ENOMEM;
		goto out;
	}
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *blob = sqlite3_column_blob(st, 1);
		int n = sqlite3_column_bytes(st, 1);
		p->offset = (uint64_t)sqlite3_column_int64(st, 0);
		if (!blob || n <= 0 || rpm_header_parse(blob, (size_t)n, p) < 0) {
			if (bad)
				bad(ctx, (int64_t)p->offset, EINVAL);
			continue;
		}
		int cr = cb(ctx, p);
		if (cr) {
			r = cr;
			goto out;
		}
	}
	r = rc == SQLITE_DONE ? 0 : -EIO;
out:
	free(p);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return r;
}
