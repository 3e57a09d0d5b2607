/* Unit tests: the rpm header blob parser and the rpmdb.sqlite reader
 * (features/pkgdb.c): a good blob, truncated blobs, lying index counts,
 * out-of-range offsets, unterminated strings, and a real SQLite database
 * built here and read back from memory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <cmocka.h>

#include "features/pkgdb.h"

/* ---- building headers -------------------------------------------------- */

struct hdr {
	unsigned char idx[64 * 16];
	unsigned char data[4096];
	uint32_t il, dl;
};

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static void add(struct hdr *h, uint32_t tag, uint32_t type, const void *d, size_t n, uint32_t count)
{
	unsigned char *e = h->idx + h->il * 16;
	put32(e, tag);
	put32(e + 4, type);
	put32(e + 8, h->dl);
	put32(e + 12, count);
	memcpy(h->data + h->dl, d, n);
	h->dl += (uint32_t)n;
	h->il++;
}

static void add_str(struct hdr *h, uint32_t tag, const char *s)
{
	add(h, tag, 6, s, strlen(s) + 1, 1);
}

static void add_i32(struct hdr *h, uint32_t tag, uint32_t v)
{
	unsigned char b[4];
	while (h->dl % 4) /* rpm aligns numbers; the parser must not care */
		h->data[h->dl++] = 0;
	put32(b, v);
	add(h, tag, 4, b, 4, 1);
}

/* Serialize into a fresh exact-size allocation (for ASan). */
static unsigned char *blob(const struct hdr *h, size_t *len)
{
	*len = 8 + h->il * 16 + h->dl;
	unsigned char *b = malloc(*len);
	put32(b, h->il);
	put32(b + 4, h->dl);
	memcpy(b + 8, h->idx, h->il * 16);
	memcpy(b + 8 + h->il * 16, h->data, h->dl);
	return b;
}

static void good_header(struct hdr *h)
{
	memset(h, 0, sizeof(*h));
	add_i32(h, 63, 0); /* a region tag, ignored */
	add_str(h, RPMTAG_NAME, "bash");
	add_str(h, RPMTAG_VERSION, "5.1.8");
	add_str(h, RPMTAG_RELEASE, "6.el9");
	add_i32(h, RPMTAG_EPOCH, 1);
	add_i32(h, RPMTAG_SIZE, 7738634);
	add_i32(h, RPMTAG_INSTALLTIME, 1700000000);
	add_str(h, RPMTAG_ARCH, "x86_64");
	add_str(h, RPMTAG_SOURCERPM, "bash-5.1.8-6.el9.src.rpm");
}

static void assert_str(const struct pkg_str *s, const char *want)
{
	assert_int_equal(s->len, strlen(want));
	assert_string_equal(s->s, want);
}

/* ---- header tests ------------------------------------------------------ */

static void test_good(void **state)
{
	struct hdr h;
	good_header(&h);
	size_t n;
	unsigned char *b = blob(&h, &n);
	struct pkg p = {.offset = 42};
	assert_int_equal(rpm_header_parse(b, n, &p), 0);
	assert_str(&p.name, "bash");
	assert_str(&p.version, "1:5.1.8-6.el9");
	assert_str(&p.arch, "x86_64");
	assert_str(&p.source, "bash");
	assert_int_equal(p.size_kb, 7558); /* 7738634 / 1024 rounded up */
	assert_int_equal(p.install_time, 1700000000);
	assert_int_equal(p.offset, 42);
	assert_int_equal(p.bad, 0);
	free(b);
}

static void test_minimal(void **state)
{
	struct hdr h = {0};
	add_str(&h, RPMTAG_NAME, "gpg-pubkey");
	add_str(&h, RPMTAG_VERSION, "fd431d51");
	add_str(&h, RPMTAG_SOURCERPM, "weird"); /* no dashes: kept whole */
	size_t n;
	unsigned char *b = blob(&h, &n);
	struct pkg p;
	assert_int_equal(rpm_header_parse(b, n, &p), 0);
	assert_str(&p.version, "fd431d51");
	assert_str(&p.source, "weird");
	assert_false(p.have & (PKG_ARCH | PKG_SIZE | PKG_INSTALLTIME));
	free(b);
}

static void test_truncated_everywhere(void **state)
{
	struct hdr h;
	good_header(&h);
	size_t n;
	unsigned char *b = blob(&h, &n);
	for (size_t len = 0; len < n; len++) {
		unsigned char *c = malloc(len ? len : 1);
		memcpy(c, b, len);
		struct pkg p;
		assert_int_equal(rpm_header_parse(c, len, &p), -EINVAL);
		free(c);
	}
	free(b);
}

static void test_lying_counts(void **state)
{
	struct hdr h;
	good_header(&h);
	size_t n;
	unsigned char *b = blob(&h, &n);
	struct pkg p;
	uint32_t lies[] = {0, h.il + 1, 0xffff, 0x10000, 0xffffffff};
	for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
		put32(b, lies[i]);
		assert_int_equal(rpm_header_parse(b, n, &p), -EINVAL);
	}
	put32(b, h.il);
	uint32_t dls[] = {h.dl + 1, 0x0fffffff, 0x10000000, 0xffffffff};
	for (size_t i = 0; i < sizeof(dls) / sizeof(dls[0]); i++) {
		put32(b + 4, dls[i]);
		assert_int_equal(rpm_header_parse(b, n, &p), -EINVAL);
	}
	free(b);
}

static void test_bad_offsets(void **state)
{
	struct hdr h;
	good_header(&h);
	size_t n;
	unsigned char *b = blob(&h, &n);
	/* every entry's offset pointed past the data, then at its last byte */
	for (uint32_t i = 0; i < h.il; i++) {
		unsigned char *e = b + 8 + i * 16;
		unsigned char save[4];
		memcpy(save, e + 8, 4);
		uint32_t offs[] = {h.dl, h.dl - 1, 0xfffffffc, 0x7fffffff};
		for (size_t k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
			put32(e + 8, offs[k]);
			struct pkg p;
			int r = rpm_header_parse(b, n, &p);
			/* entry 0 is the ignored region tag; for the others an
			 * offset past the data is a bad value (or, for NAME, a
			 * bad header) */
			if (i > 0 && offs[k] >= h.dl)
				assert_true(r == -EINVAL || p.bad >= 1);
			if (r == 0)
				assert_true(p.name.len < PKG_STR_MAX);
		}
		memcpy(e + 8, save, 4);
	}
	/* NAME unterminated: it is the last string of the store */
	struct hdr u = {0};
	add(&u, RPMTAG_NAME, 6, "abc", 3, 1);
	free(b);
	b = blob(&u, &n);
	struct pkg p;
	assert_int_equal(rpm_header_parse(b, n, &p), -EINVAL);
	free(b);
	/* wrong types and counts */
	struct hdr t = {0};
	add(&t, RPMTAG_NAME, 4, "abc", 4, 1);
	b = blob(&t, &n);
	assert_int_equal(rpm_header_parse(b, n, &p), -EINVAL);
	free(b);
	struct hdr c = {0};
	add_str(&c, RPMTAG_NAME, "ok");
	add(&c, RPMTAG_SIZE, 4, "\0\0\0\1", 4, 0);  /* count 0 */
	add(&c, RPMTAG_EPOCH, 5, "\0\0\0\1", 4, 1); /* INT64 past the end */
	b = blob(&c, &n);
	assert_int_equal(rpm_header_parse(b, n, &p), 0);
	assert_int_equal(p.bad, 2);
	assert_false(p.have & PKG_SIZE);
	free(b);
}

static void test_random(void **state)
{
	struct hdr h;
	good_header(&h);
	size_t n;
	unsigned char *b = blob(&h, &n);
	unsigned seed = 7;
	for (int round = 0; round < 20000; round++) {
		unsigned char *c = malloc(n);
		memcpy(c, b, n);
		for (int k = 0; k < 4; k++)
			c[(size_t)rand_r(&seed) % n] = (unsigned char)rand_r(&seed);
		struct pkg p;
		rpm_header_parse(c, n, &p);
		free(c);
	}
	free(b);
}

/* ---- sqlite ------------------------------------------------------------ */

struct seen {
	int good, bad;
	char names[4][32];
	char versions[4][64];
};

static int collect(void *ctx, const struct pkg *p)
{
	struct seen *s = ctx;
	if (s->good < 4) {
		snprintf(s->names[s->good], 32, "%.31s", p->name.s);
		snprintf(s->versions[s->good], 64, "%.63s", p->version.s);
	}
	s->good++;
	return 0;
}

static void bad_row(void *ctx, int64_t hnum, int err)
{
	((struct seen *)ctx)->bad++;
}

/* A database like rpm's, serialized to memory; wal: mark it WAL mode. */
static unsigned char *make_db(size_t *len, bool with_table, bool wal)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	if (with_table) {
		assert_int_equal(
		    sqlite3_exec(db,
		                 "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY "
		                 "AUTOINCREMENT, blob BLOB NOT NULL);"
		                 "CREATE TABLE Name (key TEXT, hnum INTEGER, idx INTEGER);",
		                 NULL, NULL, NULL),
		    SQLITE_OK);
		sqlite3_stmt *st;
		assert_int_equal(
		    sqlite3_prepare_v2(db, "INSERT INTO Packages (blob) VALUES (?)", -1, &st, NULL),
		    SQLITE_OK);
		struct hdr h;
		good_header(&h);
		size_t n;
		unsigned char *b = blob(&h, &n);
		sqlite3_bind_blob(st, 1, b, (int)n, SQLITE_TRANSIENT);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
		sqlite3_bind_blob(st, 1, "junk", 4, SQLITE_STATIC); /* a bad row */
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
		struct hdr k = {0};
		add_str(&k, RPMTAG_NAME, "kernel-core");
		add_str(&k, RPMTAG_VERSION, "5.14.0");
		add_str(&k, RPMTAG_RELEASE, "362.el9");
		free(b);
		b = blob(&k, &n);
		sqlite3_bind_blob(st, 1, b, (int)n, SQLITE_TRANSIENT);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
		free(b);
	} else {
		assert_int_equal(sqlite3_exec(db,
		                              "CREATE VIEW Packages AS SELECT 1 AS hnum, "
		                              "x'00' AS blob;",
		                              NULL, NULL, NULL),
		                 SQLITE_OK);
	}
	sqlite3_int64 sz;
	unsigned char *ser = sqlite3_serialize(db, "main", &sz, 0);
	assert_non_null(ser);
	sqlite3_close(db);
	unsigned char *out = malloc((size_t)sz);
	memcpy(out, ser, (size_t)sz);
	sqlite3_free(ser);
	if (wal)
		out[18] = out[19] = 2;
	*len = (size_t)sz;
	return out;
}

static void test_sqlite(void **state)
{
	for (int wal = 0; wal < 2; wal++) {
		size_t n;
		unsigned char *db = make_db(&n, true, wal);
		struct seen s = {0};
		assert_int_equal(rpmdb_sqlite_read(db, n, collect, bad_row, &s), 0);
		assert_int_equal(s.good, 2);
		assert_int_equal(s.bad, 1);
		assert_string_equal(s.names[0], "bash");
		assert_string_equal(s.versions[0], "1:5.1.8-6.el9");
		assert_string_equal(s.names[1], "kernel-core");
		assert_string_equal(s.versions[1], "5.14.0-362.el9");
		free(db);
	}
}

static void test_sqlite_not_rpm(void **state)
{
	size_t n;
	unsigned char *db = make_db(&n, false, false);
	struct seen s = {0};
	assert_int_equal(rpmdb_sqlite_read(db, n, collect, bad_row, &s), -EINVAL);
	free(db);
	unsigned char junk[200] = "not sqlite";
	assert_int_equal(rpmdb_sqlite_read(junk, sizeof(junk), collect, bad_row, &s), -EINVAL);
	assert_int_equal(rpmdb_sqlite_read(junk, 10, collect, bad_row, &s), -EINVAL);
}

/* A damaged database gives an error or fewer rows, never a crash. */
static void test_sqlite_damaged(void **state)
{
	size_t n;
	unsigned char *good = make_db(&n, true, false);
	unsigned seed = 99;
	for (int round = 0; round < 300; round++) {
		unsigned char *db = malloc(n);
		memcpy(db, good, n);
		for (int k = 0; k < 8; k++) {
			size_t at = 100 + (size_t)rand_r(&seed) % (n - 100);
			db[at] = (unsigned char)rand_r(&seed);
		}
		size_t len = round % 3 == 0 ? (size_t)rand_r(&seed) % n : n;
		struct seen s = {0};
		int r = rpmdb_sqlite_read(db, len, collect, bad_row, &s);
		assert_true(r == 0 || r == -EINVAL || r == -EIO);
		free(db);
	}
	free(good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_minimal),
	    cmocka_unit_test(test_truncated_everywhere),
	    cmocka_unit_test(test_lying_counts),
	    cmocka_unit_test(test_bad_offsets),
	    cmocka_unit_test(test_random),
	    cmocka_unit_test(test_sqlite),
	    cmocka_unit_test(test_sqlite_not_rpm),
	    cmocka_unit_test(test_sqlite_damaged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
