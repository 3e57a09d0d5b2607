/*
 * pkgdb.h - readers of package-manager databases, without running the
 * package manager:
 *
 *   dpkg  var/lib/dpkg/status: deb822 paragraphs separated by blank lines,
 *         "Field: value" lines, continuation lines start with a blank;
 *   apk   lib/apk/db/installed: blocks separated by blank lines, "X:value"
 *         lines (P name, V version, A arch, I installed size in bytes,
 *         o origin);
 *   rpm   rpmdb.sqlite: table Packages(hnum, blob), each blob an rpm
 *         header (index entries + data store, big-endian).
 *
 * The text readers stream: they pull the file in chunks through a read
 * function and hand each package to a callback as soon as its paragraph
 * ends, so memory is one chunk (PKGDB_CHUNK) plus one struct pkg whatever
 * the file's size; no allocation per package.  A line longer than the
 * chunk is cut (its value marked truncated) and the rest of it skipped.
 *
 * Everything read is hostile: no length is trusted, values are bounded to
 * PKG_STR_MAX - 1 bytes (longer ones are cut and `truncated` is set), a
 * malformed line is counted in `bad` and skipped, and the reader goes on
 * with the next line.  Nothing here allocates per package or crashes on
 * any input (the unit tests feed every truncation of sample files).
 */
#ifndef VANTAGE_PKGDB_H
#define VANTAGE_PKGDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PKG_STR_MAX 256
#define PKGDB_CHUNK ((size_t)64 * 1024)

/* A bounded string: NUL-terminated, `len` bytes (may hold NULs). */
struct pkg_str {
	size_t len;
	char s[PKG_STR_MAX];
};

enum pkg_field {
	PKG_NAME = 1u << 0,
	PKG_VERSION = 1u << 1,
	PKG_ARCH = 1u << 2,
	PKG_SIZE = 1u << 3,
	PKG_SOURCE = 1u << 4,
	PKG_STATUS = 1u << 5,      /* dpkg only */
	PKG_INSTALLTIME = 1u << 6, /* rpm only */
	PKG_CONFFILES = 1u << 7,   /* dpkg only */
};

#define PKG_CONFFILES_MAX 64 /* more: the rest are left out (`truncated`) */

/* A dpkg conffile: its path and the MD5 of the content the package ships. */
struct pkg_conffile {
	struct pkg_str path;
	char md5[33]; /* 32 hex digits; "" when the line had none (obsolete, newconffile) */
};

/*
 * One package.  Valid during the callback only.
 *   name      Package / P / NAME
 *   version   dpkg "[epoch:]upstream-revision"; rpm "[epoch:]version-release"
 *   arch      Architecture / A / ARCH
 *   size_kb   Installed-Size (KiB); apk and rpm bytes rounded up to KiB
 *   source    the source package's name (dpkg Source: without its
 *             "(version)", apk origin, rpm SOURCERPM without
 *             "-version-release.src.rpm")
 *   status    dpkg: the third word of Status ("installed", "half-installed",
 *             "config-files"...), want and error flags dropped
 *   multiarch_same  dpkg "Multi-Arch: same"
 *   conffiles dpkg "Conffiles:" lines " /etc/x 0123...md5 [obsolete]": the
 *             configuration files the package ships and their MD5s (at most
 *             PKG_CONFFILES_MAX)
 */
struct pkg {
	unsigned have;  /* PKG_* bits of fields present */
	unsigned bad;   /* malformed lines or values in this entry */
	bool truncated; /* some value was cut to PKG_STR_MAX - 1 bytes */
	bool multiarch_same;
	uint64_t offset; /* dpkg/apk: byte offset of the entry; rpm: hnum */
	uint64_t size_kb;
	int64_t install_time; /* seconds since the epoch */
	struct pkg_str name, version, arch, source, status;
	size_t nconffiles;
	struct pkg_conffile conffiles[PKG_CONFFILES_MAX];
};

/* Called for each entry that has at least one field or malformed line.
 * Return 0 to go on, non-zero to stop (returned by the reader). */
typedef int (*pkg_cb)(void *ctx, const struct pkg *p);

/* Pull up to n bytes into dst; 0 at end of file, negative errno on error. */
typedef ssize_t (*pkgdb_read_fn)(void *rctx, void *dst, size_t n);

/*
 * Stream a dpkg status / apk installed file.  Returns 0 at end of file,
 * the callback's non-zero value, -ENOMEM, or the read function's negative
 * errno (entries delivered before the error stand; the one being read is
 * dropped).
 */
int dpkg_read(pkgdb_read_fn rd, void *rctx, pkg_cb cb, void *ctx);
int apk_read(pkgdb_read_fn rd, void *rctx, pkg_cb cb, void *ctx);
/* The same over a buffer in memory. */
int dpkg_parse(const char *buf, size_t len, pkg_cb cb, void *ctx);
int apk_parse(const char *buf, size_t len, pkg_cb cb, void *ctx);

/*
 * What a dpkg state word (struct pkg.status) says about the package's
 * files: DPKG_PRESENT for "installed", "unpacked", "half-installed",
 * "half-configured", "triggers-awaited", "triggers-pending" (files on
 * disk); DPKG_ABSENT for "not-installed", "config-files"; DPKG_UNKNOWN for
 * anything else.
 */
enum dpkg_state { DPKG_UNKNOWN = -1, DPKG_ABSENT = 0, DPKG_PRESENT = 1 };
enum dpkg_state dpkg_state(const char *state, size_t len);

/* rpm tags read from a header. */
enum {
	RPMTAG_NAME = 1000,
	RPMTAG_VERSION = 1001,
	RPMTAG_RELEASE = 1002,
	RPMTAG_EPOCH = 1003,
	RPMTAG_INSTALLTIME = 1008,
	RPMTAG_SIZE = 1009,
	RPMTAG_ARCH = 1022,
	RPMTAG_SOURCERPM = 1044,
	RPMTAG_LONGSIZE = 5009,
};

/* Bounds rpm itself puts on a header. */
#define RPM_HEADER_MAX_TAGS 0xffff
#define RPM_HEADER_MAX_DATA 0x0fffffff

/*
 * Parse an rpm header blob as stored in rpmdb.sqlite (no magic: il, dl,
 * il index entries, dl bytes of data).  Fills *out (offset left as is).
 * Returns 0, or -EINVAL when the blob is malformed (counts or offsets out
 * of range, strings not terminated inside the data store, no NAME).
 */
int rpm_header_parse(const unsigned char *blob, size_t len, struct pkg *out);

/*
 * Read the packages of an rpmdb.sqlite file held in memory (`db`, `len`
 * bytes; the buffer is patched in place to turn WAL mode off and must stay
 * valid until the call returns).  The database is opened from memory,
 * read-only, with no file of the observed system ever opened by path.
 * bad(ctx, hnum, err) is called for each unreadable row (hnum -1 for the
 * whole database).  Returns 0, cb's non-zero value, or a negative errno
 * (-EINVAL: not an rpm sqlite database; -EIO: SQLite failed part-way).
 */
int rpmdb_sqlite_read(unsigned char *db, size_t len, pkg_cb cb,
                      void (*bad)(void *ctx, int64_t hnum, int err), void *ctx);

#endif
