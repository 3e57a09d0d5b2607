/*
 * image.h - a raw disk image seen as a system of kind "image", read
 * through libext2fs without mounting it.
 *
 * The image is a regular file or a block device holding either one
 * ext2/3/4 file system (a "whole-disk" file system) or a partition table
 * (MBR, possibly with logical partitions, or GPT) whose partitions may
 * hold one.  Only the file ops of struct view_ops exist, as for --root:
 * the features os, package, config and file work on it.
 *
 * Everything read from the image is hostile: the image is opened
 * read-only (never EXT2_FLAG_RW), symlinks resolve inside the image's
 * root only, directory loops and hard-linked directories are walked once,
 * every size and count is bounded, and a corrupt structure is an error
 * for that path, never a crash or a hang.
 *
 * A view of an image is used by one thread at a time (libext2fs is not
 * thread-safe); vfiles opened on it must be closed before view_destroy().
 */
#ifndef VANTAGE_IMAGE_H
#define VANTAGE_IMAGE_H

#include <stdint.h>

#include "partition.h"
#include "view.h"

/* Directories deeper than this are reported (ELOOP) and not read. */
#define IMAGE_WALK_MAX_DEPTH VT_WALK_MAX_DEPTH
/* A directory larger than this is read up to it, then reported (EFBIG). */
#define IMAGE_DIR_MAX_BYTES (1ull << 30)

/* What view_image_open() found and opened. */
struct image_info {
	enum part_scheme scheme; /* PART_NONE: a whole-disk file system */
	unsigned partition;      /* 1-based; 0 for a whole-disk file system */
	uint64_t offset;         /* bytes from the start of the image */
	uint64_t size;           /* bytes the file system occupies */
	char fstype[16];         /* "ext2", "ext3" or "ext4" */
	int needs_recovery;      /* the journal holds changes that were not replayed */
	int partitions_tried;    /* ext2/3/4 partitions considered */
};

/*
 * Open the image at `path` read-only.  `partition` 0 lets the image decide:
 * a whole-disk file system, or the one ext2/3/4 partition, or among
 * several the first that holds /etc/os-release (or /usr/lib/os-release);
 * N > 0 asks for partition N (1-based, as Linux numbers them).
 *
 * Returns 0 with *out (free with view_destroy()) and *info (may be NULL)
 * filled, or a negative errno with a one-line message saying what is
 * wrong in err (`cap` bytes; the caller names the image): the file cannot
 * be opened or is neither a regular file nor a block device (-errno,
 * -EINVAL), no ext2/3/4 file system (-ENOENT, saying what was found
 * instead), partition N does not exist (-ENXIO), the image is truncated
 * (-EFBIG), the superblock is corrupt (-EUCLEAN), several candidates and
 * none is a root (-EAGAIN: choose with a partition number).
 */
int view_image_open(const char *path, unsigned partition, struct view **out,
                    struct image_info *info, char *err, size_t cap);

/*
 * Check an ext2/3/4 superblock: `sb` holds the `len` (>= 1024) bytes at
 * offset 1024 of the file system, which may occupy at most `avail` bytes.
 * Returns 0 and the file system's size in *fs_bytes, or with a reason in
 * why (`cap` bytes): -EINVAL no ext superblock magic or an external
 * journal device, -EUCLEAN impossible values (corrupt superblock),
 * -EFBIG the file system is larger than avail (a truncated image).
 */
int image_check_super(const void *sb, size_t len, uint64_t avail, uint64_t *fs_bytes, char *why,
                      size_t cap);

#endif
