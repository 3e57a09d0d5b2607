/*
 * image_int.h - what the three parts of the image view share (internal to
 * src/views/image*.c): the view and vfile structs, the ext4 reading layer
 * (image_ext.c) and the path resolution and view ops (image_walk.c) used
 * by the opening code (image.c).  See image.c for the whole design.
 *
 * Functions returning int give 0 or a negative errno unless said; errors
 * from libext2fs (errcode_t) become errno values through img_errno().
 */
#ifndef VANTAGE_VIEWS_IMAGE_INT_H
#define VANTAGE_VIEWS_IMAGE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ext2fs/ext2_err.h>
#include <ext2fs/ext2fs.h>

#include "image.h"

struct image_view {
	struct view base;
	ext2_filsys fs;
	uint64_t blocks; /* blocks in the file system */
	uint32_t inodes; /* inodes in the file system */
	unsigned blocksize;
	unsigned isize;   /* on-disk inode size */
	char *lookup_buf; /* a block for path lookups */
};

/* An open regular file: through libext2fs, or an inline file's bytes. */
struct vfile {
	struct image_view *iv;
	ext2_ino_t ino;
	struct ext2_inode_large inode;
	ext2_file_t file; /* NULL for inline data */
	char *mem;
	size_t mem_len, mem_pos;
};

/* ---- image_ext.c: reading ext2/3/4 ---------------------------------------- */

/* Register libext2fs's error table (once, thread-safe). */
void img_errors_init(void);
/* libext2fs error -> positive errno (corruption and checksums: EUCLEAN). */
int img_errno(errcode_t e);
/* Read inode `ino` whole (its number checked against s_inodes_count). */
int img_read_inode(struct image_view *iv, ext2_ino_t ino, struct ext2_inode_large *in);
/* The vt_stat of an inode. */
void img_fill_stat(ext2_ino_t ino, const struct ext2_inode_large *in, struct vt_stat *st);
static inline bool img_is_dir(const struct ext2_inode_large *in)
{
	return LINUX_S_ISDIR(in->i_mode);
}
/* The bytes of an inline-data inode (*out malloc'ed, free it). */
int img_inline_get(struct image_view *iv, ext2_ino_t ino, const struct ext2_inode_large *in,
                   char **out, size_t *len);
/* The target of symlink `ino` into dst (NUL-terminated): its length or a
 * negative errno. */
ssize_t img_read_link(struct image_view *iv, ext2_ino_t ino, struct ext2_inode_large *in, char *dst,
                      size_t cap);

/* Reading one directory.  Regions are what rec_len chains live in: each
 * block, or for inline data the rest of i_block after the parent's inode
 * number, then the attribute part. */
struct dir_iter {
	ext2_ino_t ino;
	struct ext2_inode_large inode;
	uint64_t lblk, nblk; /* next logical block, blocks to read */
	bool capped;         /* larger than IMAGE_DIR_MAX_BYTES */
	char *buf;           /* one block, the caller's */
	char *inl;           /* inline data (owned), or NULL */
	size_t inl_len;
	int region;       /* inline: regions handed out so far */
	const char *base; /* the current region: base[pos..end) */
	size_t pos, end;
};

/* Start reading directory `ino` with `buf` (one block, the caller's). */
int img_dir_begin(struct image_view *iv, struct dir_iter *d, ext2_ino_t ino,
                  const struct ext2_inode_large *in, char *buf);
void img_dir_end(struct dir_iter *d);
/* The next entry ("." and ".." included): 1 with *name (not
 * NUL-terminated), *nlen, *ino; 0 at the end; a negative errno for a
 * corrupt or unreadable part (call again to go on). */
int img_dir_next(struct image_view *iv, struct dir_iter *d, const char **name, size_t *nlen,
                 ext2_ino_t *ino);
/* The inode of `name` (n bytes) in directory `dir`. */
int img_dir_lookup(struct image_view *iv, ext2_ino_t dir, const char *name, size_t n,
                   ext2_ino_t *out);

/* ---- image_walk.c: paths, files, the walk, the view ops -------------------- */

/* Resolve `path` (inside the image) to an inode; `follow` a final symlink
 * too (otherwise lstat-like). */
int img_resolve(struct image_view *iv, const char *path, bool follow, ext2_ino_t *ino,
                struct ext2_inode_large *in);
/* Close the file system and free the view. */
void img_destroy(struct view *v);
extern const struct view_ops img_view_ops;

#endif
