/*
 * partition.c - MBR and GPT partition tables and file system magics, from
 * bytes (see partition.h).
 *
 * Layouts (all little-endian):
 *   MBR   sector 0: four 16-byte entries at 446 (status, CHS, type, CHS,
 *         first LBA u32, sector count u32) and 0x55 0xAA at 510.  A status
 *         other than 0x00 or 0x80 means the sector is not a partition
 *         table (a file system's boot sector, say) - as Linux decides.
 *         Type 0xEE marks a protective MBR: the disk is GPT.  Types 0x05,
 *         0x0F, 0x85 are extended partitions whose EBR chain holds the
 *         logical partitions (sda5...).
 *   GPT   header at LBA 1: "EFI PART", header size (92..sector), header
 *         CRC32 (computed with the field zeroed), its own LBA (must be 1),
 *         entry array LBA, entry count and entry size (a multiple of 8,
 *         128..4096), entry array CRC32.  Entry: type GUID (all zero =
 *         unused), unique GUID, first and last LBA (inclusive),
 *         attributes, name (36 UTF-16LE units).
 *
 * Every read goes through rd16/rd32/rd64 after a bounds check against the
 * buffer length; products of values from the image are checked for
 * overflow before they are used as offsets.
 */
#include "partition.h"

#include <errno.h>
#include <string.h>

#define MBR_SIG_OFF 510
#define MBR_ENTRIES 446
#define GPT_HDR_MIN 92

static uint16_t rd16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

uint32_t part_crc32(const void *buf, size_t n)
{
	const unsigned char *p = buf;
	uint32_t crc = 0xFFFFFFFFu;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static bool is_extended(uint8_t type)
{
	return type == 0x05 || type == 0x0F || type == 0x85;
}

static bool has_mbr_signature(const unsigned char *b)
{
	return b[MBR_SIG_OFF] == 0x55 && b[MBR_SIG_OFF + 1] == 0xAA;
}

/* Sectors -> bytes, false on overflow. */
static bool lba_bytes(uint64_t lba, unsigned sector, uint64_t *out)
{
	if (lba > UINT64_MAX / sector)
		return false;
	*out = lba * sector;
	return true;
}

static void add_part(struct part_table *t, const struct part *p)
{
	if (t->n >= PART_MAX) {
		t->truncated = true;
		return;
	}
	t->v[t->n++] = *p;
}

/* ---- GPT ------------------------------------------------------------------ */

/* GPT names are UTF-16LE: keep printable ASCII, '?' for anything else. */
static void gpt_name(const unsigned char *src, char *dst, size_t cap)
{
	size_t k = 0;

	for (size_t i = 0; i < 36 && k + 1 < cap; i++) {
		uint16_t c = rd16(src + 2 * i);

		if (c == 0)
			break;
		dst[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[k] = 0;
}

static bool guid_zero(const unsigned char *g)
{
	for (int i = 0; i < 16; i++)
		if (g[i])
			return false;
	return true;
}

/* The entry array of a header at `hdr` (already checked). */
static int gpt_entries(const unsigned char *b, size_t len, const unsigned char *hdr,
                       unsigned sector, struct part_table *t)
{
	uint64_t lba = rd64(hdr + 72), off;
	uint32_t nent = rd32(hdr + 80), esz = rd32(hdr + 84);
	size_t total;

	if (esz < 128 || esz > 4096 || esz % 8 || nent > PART_GPT_MAX_ENTRIES || lba < 2)
		return -EINVAL;
	total = (size_t)nent * esz;
	if (!lba_bytes(lba, sector, &off) || off > len || total > len - off)
		return -ERANGE;
	if (part_crc32(b + off, total) != rd32(hdr + 88))
		t->crc_bad = true;
	for (uint32_t i = 0; i < nent; i++) {
		const unsigned char *e = b + off + (size_t)i * esz;
		uint64_t first = rd64(e + 32), last = rd64(e + 40), start, end;
		struct part p = {.index = i + 1};

		if (guid_zero(e))
			continue;
		if (last < first || last == UINT64_MAX || !lba_bytes(first, sector, &start) ||
		    !lba_bytes(last + 1, sector, &end))
			continue; /* impossible extent: not a partition */
		p.start = start;
		p.size = end - start;
		memcpy(p.gpt_type, e, 16);
		gpt_name(e + 56, p.name, sizeof(p.name));
		add_part(t, &p);
	}
	return 0;
}

/* A GPT header at LBA 1 for `sector`-byte sectors: 1 found and parsed,
 * 0 no signature there, negative errno when it is malformed. */
static int gpt_parse(const unsigned char *b, size_t len, unsigned sector, struct part_table *t)
{
	unsigned char copy[4096];
	const unsigned char *hdr;
	uint32_t hsize;

	if (len < (size_t)sector + GPT_HDR_MIN)
		return 0;
	hdr = b + sector;
	if (memcmp(hdr, "EFI PART", 8) != 0)
		return 0;
	hsize = rd32(hdr + 12);
	if (hsize < GPT_HDR_MIN || hsize > sector || rd64(hdr + 24) != 1)
		return -EINVAL;
	if ((size_t)sector + hsize > len)
		return -ENODATA;
	memcpy(copy, hdr, hsize);
	memset(copy + 16, 0, 4);
	t->crc_bad = part_crc32(copy, hsize) != rd32(hdr + 16);
	t->scheme = PART_GPT;
	t->sector = sector;
	int r = gpt_entries(b, len, hdr, sector, t);
	return r < 0 ? r : 1;
}

/* ---- MBR ------------------------------------------------------------------ */

static int mbr_parse(const unsigned char *b, struct part_table *t)
{
	for (int i = 0; i < 4; i++) {
		const unsigned char *e = b + MBR_ENTRIES + 16 * i;
		uint32_t lba = rd32(e + 8), count = rd32(e + 12);
		struct part p = {.index = (unsigned)i + 1, .mbr_type = e[4]};

		if (e[4] == 0 || count == 0 || lba == 0)
			continue;
		if (is_extended(e[4])) {
			if (!t->ext_size) {
				t->ext_start = (uint64_t)lba * PART_SECTOR;
				t->ext_size = (uint64_t)count * PART_SECTOR;
			}
			continue;
		}
		p.start = (uint64_t)lba * PART_SECTOR;
		p.size = (uint64_t)count * PART_SECTOR;
		add_part(t, &p);
	}
	return 0;
}

int part_parse(const void *buf, size_t len, struct part_table *out)
{
	const unsigned char *b = buf;
	bool protective = false;

	memset(out, 0, sizeof(*out));
	out->sector = PART_SECTOR;
	if (len < PART_SECTOR)
		return -ENODATA;
	if (!has_mbr_signature(b))
		return 0;
	for (int i = 0; i < 4; i++) {
		const unsigned char *e = b + MBR_ENTRIES + 16 * i;

		if (e[0] != 0x00 && e[0] != 0x80)
			return 0; /* a boot sector, not a partition table */
		protective |= e[4] == 0xEE;
	}
	if (protective) {
		int r = gpt_parse(b, len, 512, out);

		if (r == 0)
			r = gpt_parse(b, len, 4096, out);
		if (r == 0)
			return -EINVAL; /* protective MBR, no GPT header */
		if (r < 0) {
			out->scheme = PART_NONE;
			out->n = 0;
		}
		return r < 0 ? r : 0;
	}
	out->scheme = PART_MBR;
	return mbr_parse(b, out);
}

int part_parse_ebr(const void *buf, size_t len, uint64_t ext_lba, uint64_t ebr_lba,
                   struct part *logical, uint64_t *next_lba)
{
	const unsigned char *b = buf, *e0 = b + MBR_ENTRIES, *e1 = e0 + 16;
	uint64_t lba, start;
	int found = 0;

	*next_lba = 0;
	memset(logical, 0, sizeof(*logical));
	if (len < PART_SECTOR)
		return -ENODATA;
	if (!has_mbr_signature(b))
		return -EINVAL;
	/* the logical partition, relative to this EBR */
	if (e0[4] && rd32(e0 + 12) && !is_extended(e0[4])) {
		lba = ebr_lba + rd32(e0 + 8);
		if (lba < ebr_lba || !lba_bytes(lba, PART_SECTOR, &start) ||
		    start > UINT64_MAX - (uint64_t)rd32(e0 + 12) * PART_SECTOR)
			return -EINVAL;
		logical->start = start;
		logical->size = (uint64_t)rd32(e0 + 12) * PART_SECTOR;
		logical->mbr_type = e0[4];
		found = 1;
	}
	/* the next EBR, relative to the extended partition */
	if (is_extended(e1[4]) && rd32(e1 + 8)) {
		lba = ext_lba + rd32(e1 + 8);
		if (lba < ext_lba || lba > UINT64_MAX / PART_SECTOR)
			return -EINVAL;
		*next_lba = lba;
	}
	return found;
}

/* ---- what a partition holds ----------------------------------------------- */

static bool magic_at(const unsigned char *b, size_t len, size_t off, const char *m, size_t n)
{
	return off <= len && n <= len - off && memcmp(b + off, m, n) == 0;
}

bool part_is_ext(const void *buf, size_t len)
{
	const unsigned char *b = buf;

	return len >= 1082 && rd16(b + 1080) == 0xEF53;
}

/* ext2, ext3 or ext4 from the superblock's feature flags (at 1024). */
static const char *ext_kind(const unsigned char *sb)
{
	uint32_t compat = rd32(sb + 0x5C), incompat = rd32(sb + 0x60), ro = rd32(sb + 0x64);

	if (incompat & 0x8) /* JOURNAL_DEV */
		return "ext-journal";
	/* anything beyond ext3's FILETYPE|RECOVER|META_BG and
	 * SPARSE_SUPER|LARGE_FILE|BTREE_DIR is an ext4 feature */
	if ((incompat & ~0x16u) || (ro & ~0x7u))
		return "ext4";
	return (compat & 0x4) ? "ext3" : "ext2"; /* HAS_JOURNAL */
}

const char *part_probe(const void *buf, size_t len)
{
	static const unsigned page[] = {4096, 8192, 16384, 32768, 65536};
	const unsigned char *b = buf;

	if (len > PART_PROBE_LEN)
		len = PART_PROBE_LEN;
	if (magic_at(b, len, 0, "LUKS\xba\xbe", 6))
		return "LUKS";
	if (magic_at(b, len, 0, "XFSB", 4))
		return "xfs";
	if (magic_at(b, len, 0, "hsqs", 4))
		return "squashfs";
	if (part_is_ext(b, len))
		return ext_kind(b + 1024);
	if (len >= 1028 && rd32(b + 1024) == 0xF2F52010u)
		return "f2fs";
	for (size_t s = 0; s < 4; s++)
		if (magic_at(b, len, s * 512, "LABELONE", 8) &&
		    magic_at(b, len, s * 512 + 24, "LVM2 001", 8))
			return "LVM2";
	if (magic_at(b, len, 65536 + 64, "_BHRfS_M", 8))
		return "btrfs";
	for (size_t i = 0; i < sizeof(page) / sizeof(page[0]); i++)
		if (magic_at(b, len, page[i] - 10, "SWAPSPACE2", 10) ||
		    magic_at(b, len, page[i] - 10, "SWAP-SPACE", 10))
			return "swap";
	if (magic_at(b, len, 32769, "CD001", 5))
		return "iso9660";
	if (magic_at(b, len, 3, "NTFS    ", 8))
		return "ntfs";
	if (magic_at(b, len, 3, "EXFAT   ", 8))
		return "exfat";
	if (len >= 512 && has_mbr_signature(b) &&
	    (magic_at(b, len, 54, "FAT1", 4) || magic_at(b, len, 82, "FAT32", 5)))
		return "vfat";
	return NULL;
}
