/*
 * Unit tests: partition tables and file system magics (views/partition.c).
 *
 * Tables are built byte by byte here: good MBRs (primaries, an extended
 * partition, EBRs), good GPTs (512- and 4096-byte sectors, CRCs right),
 * then malformed ones (bad status byte, bad CRC, impossible entry size or
 * count, entry array past the buffer, overflowing LBAs, more entries than
 * kept) and truncated ones; then random and mutated buffers, which must
 * never make the parser read out of bounds (ASan) or report a partition
 * that overflows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "views/partition.h"

#define DISK (1024 * 1024)

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void mbr_entry(unsigned char *b, int slot, uint8_t status, uint8_t type, uint32_t lba,
                      uint32_t count)
{
	unsigned char *e = b + 446 + 16 * slot;

	e[0] = status;
	e[4] = type;
	put32(e + 8, lba);
	put32(e + 12, count);
	b[510] = 0x55;
	b[511] = 0xAA;
}

/* A GPT: protective MBR, header at LBA 1 (sector bytes each), `nent`
 * entries of `esz` bytes at LBA 2, CRCs right. */
static void gpt_build(unsigned char *b, unsigned sector, uint32_t nent, uint32_t esz)
{
	unsigned char *h = b + sector;

	mbr_entry(b, 0, 0, 0xEE, 1, 0xFFFFFFFF);
	memcpy(h, "EFI PART", 8);
	put32(h + 8, 0x00010000);
	put32(h + 12, 92);
	put64(h + 24, 1);
	put64(h + 72, 2);
	put32(h + 80, nent);
	put32(h + 84, esz);
}

static void gpt_add(unsigned char *b, unsigned sector, uint32_t esz, int i, uint64_t first,
                    uint64_t last, const char *name)
{
	unsigned char *e = b + 2 * sector + (size_t)i * esz;

	memset(e, 0x11, 16); /* a non-zero type GUID */
	e[0] = (unsigned char)(i + 1);
	memset(e + 16, 0x22, 16);
	put64(e + 32, first);
	put64(e + 40, last);
	for (size_t k = 0; name && name[k] && k < 36; k++)
		put16(e + 56 + 2 * k, (unsigned char)name[k]);
}

static void gpt_seal(unsigned char *b, unsigned sector)
{
	unsigned char *h = b + sector;
	uint32_t nent = (uint32_t)(h[80] | h[81] << 8 | h[82] << 16 | (uint32_t)h[83] << 24);
	uint32_t esz = (uint32_t)(h[84] | h[85] << 8 | h[86] << 16 | (uint32_t)h[87] << 24);

	put32(h + 88, part_crc32(b + 2 * sector, (size_t)nent * esz));
	put32(h + 16, 0);
	put32(h + 16, part_crc32(h, 92));
}

static void test_crc32(void **state)
{
	assert_int_equal(part_crc32("123456789", 9), 0xCBF43926u);
	assert_int_equal(part_crc32("", 0), 0);
}

static void test_none(void **state)
{
	unsigned char *b = calloc(1, DISK);
	struct part_table t;

	assert_int_equal(part_parse(b, DISK, &t), 0);
	assert_int_equal(t.scheme, PART_NONE);
	assert_int_equal(t.n, 0);
	/* truncated: less than a sector */
	assert_int_equal(part_parse(b, 511, &t), -ENODATA);
	assert_int_equal(part_parse(b, 0, &t), -ENODATA);
	/* a boot sector: signature but a status byte no table has */
	mbr_entry(b, 0, 0x80, 0x83, 2048, 100);
	b[446 + 16] = 0x12;
	assert_int_equal(part_parse(b, DISK, &t), 0);
	assert_int_equal(t.scheme, PART_NONE);
	free(b);
}

static void test_mbr(void **state)
{
	unsigned char *b = calloc(1, DISK);
	struct part_table t;

	mbr_entry(b, 0, 0x80, 0x83, 2048, 4096);
	mbr_entry(b, 1, 0, 0x05, 8192, 1000); /* extended */
	mbr_entry(b, 2, 0, 0x82, 10000, 0xFFFFFFFF);
	mbr_entry(b, 3, 0, 0x83, 0, 50); /* starts at 0: not a partition */
	assert_int_equal(part_parse(b, DISK, &t), 0);
	assert_int_equal(t.scheme, PART_MBR);
	assert_int_equal(t.sector, 512);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.v[0].index, 1);
	assert_int_equal(t.v[0].start, 2048ull * 512);
	assert_int_equal(t.v[0].size, 4096ull * 512);
	assert_int_equal(t.v[0].mbr_type, 0x83);
	assert_int_equal(t.v[1].index, 3);
	assert_int_equal(t.v[1].start, 10000ull * 512);
	assert_int_equal(t.v[1].size, 0xFFFFFFFFull * 512); /* past the disk: kept */
	assert_int_equal(t.ext_start, 8192ull * 512);
	assert_int_equal(t.ext_size, 1000ull * 512);
	/* exactly one sector is enough for an MBR */
	assert_int_equal(part_parse(b, 512, &t), 0);
	assert_int_equal(t.n, 2);
	free(b);
}

static void test_ebr(void **state)
{
	unsigned char e[512] = {0};
	struct part p;
	uint64_t next;

	mbr_entry(e, 0, 0, 0x83, 63, 1000);
	mbr_entry(e, 1, 0, 0x05, 2000, 1100);
	assert_int_equal(part_parse_ebr(e, sizeof(e), 8192, 8192, &p, &next), 1);
	assert_int_equal(p.start, (8192ull + 63) * 512);
	assert_int_equal(p.size, 1000ull * 512);
	assert_int_equal(p.mbr_type, 0x83);
	assert_int_equal(next, 8192 + 2000);
	/* the last EBR: no next */
	memset(e + 446 + 16, 0, 16);
	assert_int_equal(part_parse_ebr(e, sizeof(e), 8192, 10192, &p, &next), 1);
	assert_int_equal(p.start, (10192ull + 63) * 512);
	assert_int_equal(next, 0);
	/* an empty EBR */
	memset(e + 446, 0, 16);
	assert_int_equal(part_parse_ebr(e, sizeof(e), 8192, 10192, &p, &next), 0);
	/* overflowing LBAs */
	mbr_entry(e, 0, 0, 0x83, 0xFFFFFFFF, 10);
	assert_int_equal(part_parse_ebr(e, sizeof(e), 1, UINT64_MAX - 5, &p, &next), -EINVAL);
	mbr_entry(e, 0, 0, 0x83, 1, 10);
	mbr_entry(e, 1, 0, 0x0F, 0xFFFFFFFF, 10);
	assert_int_equal(part_parse_ebr(e, sizeof(e), UINT64_MAX - 5, 1, &p, &next), -EINVAL);
	/* garbage and truncated */
	e[510] = 0;
	assert_int_equal(part_parse_ebr(e, sizeof(e), 8192, 8192, &p, &next), -EINVAL);
	assert_int_equal(part_parse_ebr(e, 100, 8192, 8192, &p, &next), -ENODATA);
}

static void test_gpt(void **state)
{
	unsigned char *b = calloc(1, DISK);
	struct part_table t;

	gpt_build(b, 512, 128, 128);
	gpt_add(b, 512, 128, 0, 2048, 4095, "root");
	gpt_add(b, 512, 128, 2, 4096, 8191, "h\xc3\xa9llo");
	gpt_seal(b, 512);
	assert_int_equal(part_parse(b, DISK, &t), 0);
	assert_int_equal(t.scheme, PART_GPT);
	assert_int_equal(t.sector, 512);
	assert_false(t.crc_bad);
	assert_int_equal(t.n, 2);
	assert_int_equal(t.v[0].index, 1);
	assert_int_equal(t.v[0].start, 2048ull * 512);
	assert_int_equal(t.v[0].size, 2048ull * 512);
	assert_string_equal(t.v[0].name, "root");
	assert_int_equal(t.v[0].gpt_type[0], 1);
	assert_int_equal(t.v[1].index, 3);
	assert_int_equal(t.v[1].start, 4096ull * 512);
	assert_string_equal(t.v[1].name, "h??llo"); /* non-ASCII shown as '?' */

	/* a flipped byte in an entry: parsed, CRC flagged */
	b[2 * 512 + 60] ^= 1;
	assert_int_equal(part_parse(b, DISK, &t), 0);
	assert_true(t.crc_bad);
	assert_int_equal(t.n, 2);
	free(b);
}

static void test_gpt_4k(void **state)
{
	unsigned char *b = calloc(1, DISK);
	struct part_table t;

	gpt_build(b, 4096, 16, 128);
	gpt_add(b, 4096, 128, 0, 256, 511, "x");
	gpt_seal(b, 4096);
	assert_int_equal(part_parse(b, DISK, &t), 0);
	assert_int_equal(t.scheme, PART_GPT);
	assert_int_equal(t.sector, 4096);
	assert_false(t.crc_bad);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.v[0].start, 256ull * 4096);
	assert_int_equal(t.v[0].size, 256ull * 4096);
	free(b);
}

static void test_gpt_malformed(void **state)
{
	unsigned char *b = calloc(1, DISK);
	struct part_table t;

	/* protective MBR, no header */
	mbr_entry(b, 0, 0, 0xEE, 1, 100);
	assert_int_equal(part_parse(b, DISK, &t), -EINVAL);
	assert_int_equal(t.scheme, PART_NONE);

	/* header size out of range, header not at LBA 1 */
	gpt_build(b, 512, 128, 128);
	put32(b + 512 + 12, 600);
	assert_int_equal(part_parse(b, DISK, &t), -EINVAL);
	gpt_build(b, 512, 128, 128);
	put64(b + 512 + 24, 7);
	assert_int_equal(part_parse(b, DISK, &t), -EINVAL);

	/* impossible entry sizes and counts */
	gpt_build(b, 512, 128, 100);
	assert_int_equal(part_parse(b, DISK, &t), -EINVAL);
	gpt_build(b, 512, 128, 8192);
	assert_int_equal(part_parse(b, DISK, &t), -EINVAL);
	gpt_build(b, 512, 100000, 128);
	assert_int_equal(part_parse(b, DISK, &t), -EINVAL);
	assert_int_equal(t.n, 0);

	/* entry array past the buffer, or at an LBA whose offset overflows */
	gpt_build(b, 512, 128, 128);
	put64(b + 512 + 72, 4096);
	assert_int_equal(part_parse(b, DISK, &t), -ERANGE);
	put64(b + 512 + 72, UINT64_MAX / 2);
	assert_int_equal(part_parse(b, DISK, &t), -ERANGE);
	put64(b + 512 + 72, 1); /* overlapping the header */
	assert_int_equal(part_parse(b, DISK, &t), -EINVAL);

	/* impossible entries are skipped, the good one kept */
	gpt_build(b, 512, 128, 128);
	gpt_add(b, 512, 128, 0, 100, 50, NULL); /* last < first */
	gpt_add(b, 512, 128, 1, 100, UINT64_MAX, NULL);
	gpt_add(b, 512, 128, 2, UINT64_MAX / 256, UINT64_MAX / 256 + 1, NULL);
	gpt_add(b, 512, 128, 3, 2048, 2048, "one");
	gpt_seal(b, 512);
	assert_int_equal(part_parse(b, DISK, &t), 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.v[0].index, 4);
	assert_int_equal(t.v[0].size, 512);
	free(b);
}

static void test_gpt_truncated(void **state)
{
	unsigned char *b = calloc(1, DISK);
	struct part_table t;

	gpt_build(b, 512, 128, 128);
	gpt_add(b, 512, 128, 0, 2048, 4095, "root");
	gpt_seal(b, 512);
	/* the entry array cut off */
	assert_int_equal(part_parse(b, 2 * 512 + 128 * 128 - 1, &t), -ERANGE);
	assert_int_equal(part_parse(b, 2 * 512 + 128 * 128, &t), 0);
	assert_int_equal(t.n, 1);
	/* the header cut off: no header found behind the protective MBR */
	assert_int_equal(part_parse(b, 600, &t), -EINVAL);
	assert_int_equal(part_parse(b, 512, &t), -EINVAL);
	free(b);
}

static void test_gpt_many(void **state)
{
	unsigned char *b = calloc(1, DISK);
	struct part_table t;

	gpt_build(b, 512, 200, 128);
	for (int i = 0; i < 200; i++)
		gpt_add(b, 512, 128, i, 2048 + 10 * (uint64_t)i, 2048 + 10 * (uint64_t)i + 9, NULL);
	gpt_seal(b, 512);
	assert_int_equal(part_parse(b, DISK, &t), 0);
	assert_int_equal(t.n, PART_MAX);
	assert_true(t.truncated);
	assert_int_equal(t.v[PART_MAX - 1].index, PART_MAX);
	free(b);
}

static void test_probe(void **state)
{
	unsigned char *b = calloc(1, PART_PROBE_LEN);

	assert_null(part_probe(b, PART_PROBE_LEN));
	assert_false(part_is_ext(b, PART_PROBE_LEN));
	put16(b + 1080, 0xEF53);
	assert_true(part_is_ext(b, PART_PROBE_LEN));
	assert_false(part_is_ext(b, 1081));
	assert_string_equal(part_probe(b, PART_PROBE_LEN), "ext2");
	put32(b + 1024 + 0x5C, 0x4); /* has_journal */
	assert_string_equal(part_probe(b, PART_PROBE_LEN), "ext3");
	put32(b + 1024 + 0x60, 0x2 | 0x40); /* filetype, extents */
	assert_string_equal(part_probe(b, PART_PROBE_LEN), "ext4");
	put32(b + 1024 + 0x60, 0x2);
	put32(b + 1024 + 0x64, 0x400); /* metadata_csum */
	assert_string_equal(part_probe(b, PART_PROBE_LEN), "ext4");
	put32(b + 1024 + 0x60, 0x8);
	assert_string_equal(part_probe(b, PART_PROBE_LEN), "ext-journal");
	assert_null(part_probe(b, 1081)); /* magic past len: not seen */

	memset(b, 0, PART_PROBE_LEN);
	memcpy(b, "XFSB", 4);
	assert_string_equal(part_probe(b, PART_PROBE_LEN), "xfs");
	memcpy(b, "LUKS\xba\xbe", 6);
	assert_string_equal(part_probe(b, PART_PROBE_LEN), "LUKS");
	memset(b, 0, PART_PROBE_LEN);
	memcpy(b + 65600, "_BHRfS_M", 8);
	assert_string_equal(part_probe(b, PART_PROBE_LEN), "btrfs");
	assert_null(part_probe(b, 65607));
	memset(b, 0, PART_PROBE_LEN);
	memcpy(b + 4086, "SWAPSPACE2", 10);
	assert_string_equal(part_probe(b, PART_PROBE_LEN), "swap");
	memset(b, 0, PART_PROBE_LEN);
	memcpy(b + 512, "LABELONE", 8);
	memcpy(b + 512 + 24, "LVM2 001", 8);
	assert_string_equal(part_probe(b, PART_PROBE_LEN), "LVM2");
	memset(b, 0, PART_PROBE_LEN);
	memcpy(b + 82, "FAT32   ", 8);
	b[510] = 0x55;
	b[511] = 0xAA;
	assert_string_equal(part_probe(b, PART_PROBE_LEN), "vfat");
	memset(b, 0, PART_PROBE_LEN);
	memcpy(b + 32769, "CD001", 5);
	assert_string_equal(part_probe(b, PART_PROBE_LEN), "iso9660");
	assert_null(part_probe(b, 32770));
	assert_null(part_probe(b, 0));
	free(b);
}

/* Random and mutated tables: no out-of-bounds read (ASan), and every
 * partition reported is a sane extent. */
static void check_table(const struct part_table *t)
{
	assert_true(t->n >= 0 && t->n <= PART_MAX);
	for (int i = 0; i < t->n; i++) {
		assert_true(t->v[i].size > 0);
		assert_true(t->v[i].start <= UINT64_MAX - t->v[i].size);
		assert_true(t->v[i].index >= 1);
	}
}

static void test_fuzz(void **state)
{
	unsigned char *good = calloc(1, 64 * 1024);
	struct part_table *t = malloc(sizeof(*t));
	unsigned seed = 12345;

	gpt_build(good, 512, 128, 128);
	gpt_add(good, 512, 128, 0, 2048, 4095, "root");
	gpt_add(good, 512, 128, 5, 4096, 9999, "data");
	gpt_seal(good, 512);
	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(rand_r(&seed) % (64 * 1024)) + 1;
		unsigned char *b = malloc(len); /* exactly len: ASan sees overreads */

		memcpy(b, good, len);
		for (int k = rand_r(&seed) % 8; k >= 0; k--) {
			size_t at = (size_t)rand_r(&seed) % (len < 20000 ? len : 20000);

			b[at] = (unsigned char)rand_r(&seed);
		}
		if (round % 4 == 0)
			for (size_t i = 0; i < len; i++)
				b[i] = (unsigned char)rand_r(&seed);
		if (round % 8 == 1 && len >= 512) { /* MBR shapes */
			memset(b + 446, 0, 64);
			mbr_entry(b, rand_r(&seed) % 4, 0, (uint8_t)rand_r(&seed),
			          (uint32_t)rand_r(&seed), (uint32_t)rand_r(&seed));
		}
		int r = part_parse(b, len, t);

		assert_true(r == 0 || r == -EINVAL || r == -ERANGE || r == -ENODATA);
		if (r == 0)
			check_table(t);
		struct part p;
		uint64_t next;

		if (part_parse_ebr(b, len, (uint64_t)rand_r(&seed), (uint64_t)rand_r(&seed), &p,
		                   &next) == 1)
			assert_true(p.start <= UINT64_MAX - p.size);
		(void)part_probe(b, len);
		free(b);
	}
	free(t);
	free(good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc32),         cmocka_unit_test(test_none),
	    cmocka_unit_test(test_mbr),           cmocka_unit_test(test_ebr),
	    cmocka_unit_test(test_gpt),           cmocka_unit_test(test_gpt_4k),
	    cmocka_unit_test(test_gpt_malformed), cmocka_unit_test(test_gpt_truncated),
	    cmocka_unit_test(test_gpt_many),      cmocka_unit_test(test_probe),
	    cmocka_unit_test(test_fuzz),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
