/*
 * fuzz_pkgdb.c - package-manager databases (src/features/pkgdb.c) and the
 * `package` feature that reads them (src/features/package.c).  The first
 * byte picks:
 *
 *   0  dpkg_parse()          var/lib/dpkg/status text
 *   1  apk_parse()           lib/apk/db/installed text
 *   2  rpm_header_parse()    one rpm header blob (il, dl, index, data)
 *   3  rpmdb_sqlite_read()   a whole rpmdb.sqlite file, opened from memory
 *   4  feature `package`     the rest written as /var/lib/dpkg/status of a
 *   5                        root directory, as /lib/apk/db/installed,
 *   6                        as /var/lib/rpm/rpmdb.sqlite, crawled through
 *                            the root view as the daemon does; every line
 *                            of the frame must be JSON (util/jload.h)
 *
 * Seeds (fuzz/corpus/pkgdb/, README there): this machine's dpkg status
 * (trimmed), an Alpine installed database, rpmdb.sqlite made by rpm 4.18
 * and the header blobs from it.
 */
#include "fuzz.h"

#include "features/feature.h"
#include "features/pkgdb.h"
#include "frame/sink.h"
#include "util/buf.h"
#include "util/jload.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern const struct feature feature_package;

static void check_str(const struct pkg_str *s)
{
	if (s->len >= PKG_STR_MAX || s->s[s->len] != '\0')
		__builtin_trap();
}

static int check_pkg(void *ctx, const struct pkg *p)
{
	unsigned *n = ctx;
	check_str(&p->name);
	check_str(&p->version);
	check_str(&p->arch);
	check_str(&p->source);
	check_str(&p->status);
	if (p->nconffiles > PKG_CONFFILES_MAX)
		__builtin_trap();
	for (size_t i = 0; i < p->nconffiles; i++) {
		check_str(&p->conffiles[i].path);
		size_t ml = strnlen(p->conffiles[i].md5, sizeof(p->conffiles[i].md5));
		if (ml != 0 && ml != 32)
			__builtin_trap();
	}
	if ((p->have & PKG_NAME) && p->name.len == 0 && !p->truncated)
		__builtin_trap(); /* every reader refuses an empty name */
	/* stop after many packages now and then: the stop value comes back */
	return ++*n == 1000 ? 7 : 0;
}

static void rpm_bad(void *ctx, int64_t hnum, int err)
{
	(void)ctx;
	(void)hnum;
	if (err <= 0)
		__builtin_trap();
}

/* ---- the feature over a root directory ------------------------------------- */

static const char *const db_paths[] = {"root/var/lib/dpkg/status", "root/lib/apk/db/installed",
                                       "root/var/lib/rpm/rpmdb.sqlite"};

static void mkdirs(const char *rel)
{
	char p[4096];
	snprintf(p, sizeof p, "%s/%s", fuzz_tmpdir(), rel);
	for (char *s = p + strlen(fuzz_tmpdir()) + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0700);
			*s = '/';
		}
}

static void crawl_root(unsigned which, const uint8_t *data, size_t size)
{
	static struct view *v;
	static struct crawl_opts opts;
	if (!v) {
		char root[4096];
		for (size_t i = 0; i < 3; i++)
			mkdirs(db_paths[i]);
		snprintf(root, sizeof root, "%s/root", fuzz_tmpdir());
		if (view_root_open(root, &v) < 0 || crawl_opts_init(&opts) < 0)
			abort();
	}
	char path[4096];
	for (unsigned i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", fuzz_tmpdir(), db_paths[i]);
		unlink(path);
	}
	if (!fuzz_file(db_paths[which], data, size))
		abort();

	struct fuzz_sink sink = FUZZ_SINK_INIT;
	struct system_id sys = {.id = "fuzz:1", .name = "fuzz", .kind = "image", .host = "fuzz"};
	const char *names[1] = {feature_package.name};
	struct frame *f = frame_begin(&sink.base, &sys, names, 1, FRAME_JSON);
	if (!f)
		abort();
	struct crawl_ctx c = {.view = v,
	                      .frame = f,
	                      .opts = &opts,
	                      .settings = crawl_opts_settings(&opts, &feature_package)};
	frame_feature_start(f, feature_package.name);
	if (feature_package.crawl(&c) != 0)
		__builtin_trap(); /* the feature runs whatever the files hold */
	frame_feature_end(f);
	if (frame_end(f) != 0)
		__builtin_trap();

	/* the frame is JSON Lines whatever bytes the databases held (with the
	 * \udcXX escapes of bytes that are not UTF-8: util/json.h) */
	const char *p = sink.b.data, *end = p + sink.b.len;
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			__builtin_trap(); /* every line ends */
		json_error_t err;
		json_t *rec = jload_lenient(p, (size_t)(nl - p), &err);
		if (!rec) {
			fprintf(stderr, "not JSON (%s at %d): %.*s\n", err.text, err.position,
			        (int)(nl - p), p);
			__builtin_trap();
		}
		json_decref(rec);
		p = nl + 1;
	}
	buf_free(&sink.b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned n = 0;
	unsigned k = fuzz_pick(&data, &size, 7);
	switch (k) {
	case 0:
		dpkg_parse((const char *)data, size, check_pkg, &n);
		break;
	case 1:
		apk_parse((const char *)data, size, check_pkg, &n);
		break;
	case 2: {
		/* an exact-size copy: a read past the blob is an ASan report */
		unsigned char *b = fuzz_copy(data, size);
		struct pkg *p = malloc(sizeof(*p));
		p->offset = 42;
		if (rpm_header_parse(b, size, p) == 0) {
			if (!(p->have & PKG_NAME) || p->offset != 42)
				__builtin_trap();
			check_pkg(&n, p);
		}
		free(p);
		free(b);
		break;
	}
	case 3: {
		unsigned char *b = fuzz_copy(data, size);
		rpmdb_sqlite_read(b, size, check_pkg, rpm_bad, &n);
		free(b);
		break;
	}
	default:
		crawl_root(k - 4, data, size);
		break;
	}
	return 0;
}
