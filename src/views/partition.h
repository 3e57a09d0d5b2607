/*
 * partition.h - partition tables of a raw disk image (MBR, GPT) and what a
 * partition holds, parsed from bytes the caller read.
 *
 * Everything here is a pure function over (buf, len): no I/O, no
 * allocation, every offset and count taken from the image checked against
 * `len` before use.  The bytes come from a disk image someone else made, so
 * they are hostile: a table that does not parse is an error (negative
 * errno), never a crash or a read past `len`.
 *
 *   part_parse()      the table at the start of a disk: an MBR, or a GPT
 *                     (behind its protective MBR, header at LBA 1 with
 *                     512-byte sectors, or 4096-byte ones when there is no
 *                     header at 512).  `buf` should hold the first MiB of
 *                     the disk: the GPT entry array must lie inside it.
 *   part_parse_ebr()  one extended boot record of an MBR extended
 *                     partition: the logical partition it describes and
 *                     where the next EBR is.  The caller reads the chain
 *                     (bounded, strictly forward).
 *   part_probe()      the file system (or other content) at the start of a
 *                     partition, from its magic numbers.
 */
#ifndef VANTAGE_PARTITION_H
#define VANTAGE_PARTITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PART_SECTOR 512
#define PART_MAX 128               /* partitions kept from one table */
#define PART_GPT_MAX_ENTRIES 4096  /* a larger entry array is refused */
#define PART_PROBE_LEN (68 * 1024) /* bytes part_probe() looks at */

enum part_scheme { PART_NONE, PART_MBR, PART_GPT };

/* One partition.  Invariant: size > 0, and start + size does not overflow
 * (it may lie past the end of the disk: the caller checks that). */
struct part {
	unsigned index;       /* number as Linux names it: sda<index>; MBR
	                       * primaries 1-4, logicals from 5; GPT: entry + 1 */
	uint64_t start;       /* bytes from the start of the disk */
	uint64_t size;        /* bytes */
	uint8_t mbr_type;     /* MBR type byte; 0 for GPT */
	uint8_t gpt_type[16]; /* GPT type GUID as stored; zeros for MBR */
	char name[37];        /* GPT name as printable ASCII ('?' for others) */
};

struct part_table {
	enum part_scheme scheme;
	unsigned sector; /* sector size the table uses: 512 or 4096 */
	int n;           /* partitions in v[] (empty slots are skipped) */
	struct part v[PART_MAX];
	/* MBR: the extended partition holding logical ones (its EBR chain
	 * starts at ext_start), or ext_size 0 when there is none. */
	uint64_t ext_start, ext_size;
	/* GPT: the header's or the entry array's CRC32 did not match (the
	 * table is parsed anyway; the caller may warn). */
	bool crc_bad;
	bool truncated; /* more than PART_MAX partitions: the rest dropped */
};

/*
 * Parse the partition table at the start of a disk, `buf` holding its
 * first `len` bytes.  Returns 0 with out->scheme
 * PART_NONE when there is no table (no 0x55AA signature, or one that is
 * not a partition table), 0 with PART_MBR or PART_GPT and the partitions,
 * or: -ENODATA when len < 512 (truncated), -EINVAL for a protective MBR
 * without a valid GPT header or a header with impossible values, -ERANGE
 * when the GPT entry array does not lie inside buf.
 */
int part_parse(const void *buf, size_t len, struct part_table *out);

/*
 * One EBR (`buf`, at least 512 bytes) at sector `ebr_lba` of an extended
 * partition starting at sector `ext_lba`.  Fills *logical (index left 0
 * for the caller) and returns 1 when the EBR describes a logical
 * partition, 0 when it describes none; *next_lba is the next EBR's sector
 * or 0 at the end of the chain.  -EINVAL when the record is not an EBR,
 * -ENODATA when len < 512.
 */
int part_parse_ebr(const void *buf, size_t len, uint64_t ext_lba, uint64_t ebr_lba,
                   struct part *logical, uint64_t *next_lba);

/*
 * What the first `len` bytes of a partition (or disk) hold, from magic
 * numbers: "ext2", "ext3", "ext4", "ext-journal" (an external ext3/4
 * journal device), "xfs", "btrfs", "swap", "LUKS", "LVM2", "vfat", "ntfs",
 * "iso9660", "squashfs", "f2fs", or NULL when nothing is recognised.
 * Looks at most PART_PROBE_LEN bytes; magics past `len` are not seen.
 */
const char *part_probe(const void *buf, size_t len);

/* True when `buf` has an ext2/3/4 superblock magic (0xEF53 at byte 1080). */
bool part_is_ext(const void *buf, size_t len);

/* CRC-32 (IEEE 802.3, as GPT uses it) of n bytes. */
uint32_t part_crc32(const void *buf, size_t n);

#endif
