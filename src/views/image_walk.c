/*
 * image_walk.c - the image view's ops over the ext4 layer: path
 * resolution (pathwalk.c), files, stat and the walk (dirwalk.c).  See
 * image.c ("Paths", "The walk") for the rules.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "dirwalk.h"
#include "image_int.h"
#include "pathwalk.h"

#define MAX_LINKS 40
#define RES_MAX_DIRS (PATH_MAX / 2) /* directories on a resolution's stack */

/* ---- resolving paths --------------------------------------------------------- */

/* The path text is a pathwalk (pathwalk.h); dirs[0..depth) are the
 * directories resolved so far, dirs[0] the root. */
struct resolve {
	struct image_view *iv;
	int depth;
	int links;
	ext2_ino_t dirs[RES_MAX_DIRS];
	struct pathwalk w;
	char target[PATH_MAX];
};

static int res_follow(struct resolve *s, ext2_ino_t ino, struct ext2_inode_large *in)
{
	ssize_t n;

	if (++s->links > MAX_LINKS)
		return -ELOOP;
	n = img_read_link(s->iv, ino, in, s->target, sizeof(s->target));
	if (n < 0)
		return (int)n;
	if (n == 0)
		return -ENOENT;
	int rc = pathwalk_splice(&s->w, s->target, (size_t)n);
	if (rc)
		return rc;
	if (s->target[0] == '/')
		s->depth = 1; /* absolute: from the image's root */
	return 0;
}

static int res_run(struct resolve *s, bool follow, ext2_ino_t *ino, struct ext2_inode_large *in)
{
	for (;;) {
		const char *name;
		ext2_ino_t child;
		size_t n;
		bool last;
		int rc;

		if (pathwalk_next(&s->w, &name, &n, &last)) { /* ended on a directory */
			*ino = s->dirs[s->depth - 1];
			return img_read_inode(s->iv, *ino, in);
		}
		if (n > EXT2_NAME_LEN)
			return -ENAMETOOLONG;
		if (n == 1 && name[0] == '.')
			continue;
		if (n == 2 && name[0] == '.' && name[1] == '.') {
			if (s->depth > 1)
				s->depth--; /* ".." at the root stays there */
			continue;
		}
		rc = img_dir_lookup(s->iv, s->dirs[s->depth - 1], name, n, &child);
		if (!rc)
			rc = img_read_inode(s->iv, child, in);
		if (rc)
			return rc;
		if (LINUX_S_ISLNK(in->i_mode) && (!last || follow)) {
			rc = res_follow(s, child, in);
			if (rc)
				return rc;
			continue;
		}
		if (last) {
			*ino = child;
			return 0;
		}
		if (!img_is_dir(in))
			return -ENOTDIR;
		if (s->depth >= RES_MAX_DIRS)
			return -ENAMETOOLONG;
		s->dirs[s->depth++] = child;
	}
}

/* Resolve `path` (inside the image) to an inode; `follow` a final symlink
 * too (otherwise lstat-like). */
int img_resolve(struct image_view *iv, const char *path, bool follow, ext2_ino_t *ino,
                struct ext2_inode_large *in)
{
	struct resolve *s;
	int rc;

	if (!path)
		return -EINVAL;
	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->iv = iv;
	s->depth = 1;
	s->dirs[0] = EXT2_ROOT_INO;
	s->links = 0;
	rc = pathwalk_init(&s->w, path);
	if (rc) {
		free(s);
		return rc;
	}
	rc = res_run(s, follow, ino, in);
	free(s);
	return rc;
}

/* ---- files -------------------------------------------------------------------- */

/* Open regular file `ino` (anything else: -EINVAL, as fsroot does). */
static int open_ino(struct image_view *iv, ext2_ino_t ino, const struct ext2_inode_large *in,
                    struct vfile **out)
{
	struct vfile *f;
	errcode_t e;
	int rc;

	*out = NULL;
	if (!LINUX_S_ISREG(in->i_mode))
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->iv = iv;
	f->ino = ino;
	f->inode = *in;
	if (in->i_flags & EXT4_INLINE_DATA_FL) {
		uint64_t size = EXT2_I_SIZE(in);

		rc = img_inline_get(iv, ino, in, &f->mem, &f->mem_len);
		if (rc) {
			free(f);
			return rc;
		}
		if (size < f->mem_len)
			f->mem_len = (size_t)size;
	} else {
		e = ext2fs_file_open2(iv->fs, ino, (struct ext2_inode *)&f->inode, 0, &f->file);
		if (e) {
			free(f);
			return -img_errno(e);
		}
	}
	*out = f;
	return 0;
}

static int image_file_open(struct view *v, const char *path, struct vfile **out)
{
	struct image_view *iv = (struct image_view *)v;
	struct ext2_inode_large in;
	ext2_ino_t ino;
	int rc;

	*out = NULL;
	rc = img_resolve(iv, path, true, &ino, &in);
	return rc ? rc : open_ino(iv, ino, &in, out);
}

static ssize_t image_file_read(struct vfile *f, void *dst, size_t n)
{
	unsigned int got = 0;
	errcode_t e;

	if (!f->file) {
		size_t left = f->mem_len - f->mem_pos;

		if (n > left)
			n = left;
		memcpy(dst, f->mem + f->mem_pos, n);
		f->mem_pos += n;
		return (ssize_t)n;
	}
	if (n > (1u << 30))
		n = 1u << 30;
	e = ext2fs_file_read(f->file, dst, (unsigned int)n, &got);
	if (e)
		return -img_errno(e);
	return (ssize_t)got;
}

static int image_file_stat(struct vfile *f, struct vt_stat *out)
{
	img_fill_stat(f->ino, &f->inode, out);
	return 0;
}

static void image_file_close(struct vfile *f)
{
	if (!f)
		return;
	if (f->file)
		ext2fs_file_close(f->file);
	free(f->mem);
	free(f);
}

static int image_stat(struct view *v, const char *path, struct vt_stat *out)
{
	struct ext2_inode_large in;
	ext2_ino_t ino;
	int rc = img_resolve((struct image_view *)v, path, false, &ino, &in);

	if (!rc)
		img_fill_stat(ino, &in, out);
	return rc;
}

/* ---- the walk -------------------------------------------------------------------- */

/* The walk itself is dirwalk.c's; this is the ext4 side.  An inode bitmap
 * remembers the directories entered, so a directory hard-linked or looped
 * back into is entered once (ELOOP reported). */

/* What a walk entry's priv points to: the entry's inode. */
struct img_entry {
	ext2_ino_t ino;
	struct ext2_inode_large inode;
};

struct wlevel {
	struct dir_iter d;
	char *buf; /* its block buffer, kept for reuse */
};

struct iwalk {
	struct image_view *iv;
	ext2fs_inode_bitmap seen; /* directories entered */
	ext2_ino_t next_ino;      /* inode of the name last handed out */
	struct img_entry cur;     /* the entry last stated */
};

/* Whether a name from a directory can be part of a path. */
static bool name_ok(const char *name, size_t n)
{
	return n <= EXT2_NAME_LEN && !memchr(name, '/', n) && !memchr(name, 0, n);
}

/* The walk's root: "/" is the root inode, else looked up in its parent
 * (which is followed if it is a symlink; the root itself is not). */
static int iw_start(void *fs, const char *path, size_t len, void **parent, const char **name)
{
	struct iwalk *w = fs;
	struct ext2_inode_large in;
	char dirp[PATH_MAX];
	const char *slash;
	ext2_ino_t dir;
	size_t plen;
	int rc;

	*parent = NULL;
	*name = path;
	if (len == 1) {
		w->next_ino = EXT2_ROOT_INO;
		return 0;
	}
	slash = strrchr(path, '/');
	plen = (size_t)(slash - path);
	if (plen >= sizeof(dirp))
		return -ENAMETOOLONG;
	memcpy(dirp, path, plen);
	dirp[plen] = 0;
	rc = img_resolve(w->iv, plen ? dirp : "/", true, &dir, &in);
	if (!rc && !img_is_dir(&in))
		rc = -ENOTDIR;
	if (!rc)
		rc = img_dir_lookup(w->iv, dir, slash + 1, strlen(slash + 1), &w->next_ino);
	*name = slash + 1;
	return rc;
}

static int iw_next(void *fs, void *l, const char **name, size_t *n)
{
	struct iwalk *w = fs;
	struct wlevel *lv = l;
	ext2_ino_t ino;
	int rc = img_dir_next(w->iv, &lv->d, name, n, &ino);

	if (rc <= 0)
		return rc;
	if (!name_ok(*name, *n))
		return -EUCLEAN; /* a name no path can hold */
	w->next_ino = ino;
	return 1;
}

static int iw_stat(void *fs, void *parent, const char *name, struct vt_stat *st, void **priv)
{
	struct iwalk *w = fs;
	int rc = img_read_inode(w->iv, w->next_ino, &w->cur.inode);

	if (rc)
		return rc;
	w->cur.ino = w->next_ino;
	img_fill_stat(w->cur.ino, &w->cur.inode, st);
	*priv = &w->cur;
	return 0;
}

static ssize_t iw_readlink(void *fs, void *parent, const char *name, char *dst, size_t cap)
{
	struct iwalk *w = fs;

	return img_read_link(w->iv, w->cur.ino, &w->cur.inode, dst, cap);
}

static int iw_enter(void *fs, void *parent, const char *name, void *l, int depth)
{
	struct iwalk *w = fs;
	struct wlevel *lv = l;
	int rc;

	if (ext2fs_test_inode_bitmap2(w->seen, w->cur.ino))
		return ELOOP; /* a directory met twice: a loop */
	ext2fs_mark_inode_bitmap2(w->seen, w->cur.ino);
	if (!lv->buf) {
		lv->buf = malloc(w->iv->blocksize);
		if (!lv->buf)
			return -ENOMEM;
	}
	rc = img_dir_begin(w->iv, &lv->d, w->cur.ino, &w->cur.inode, lv->buf);
	return rc < 0 ? -rc : 0;
}

static void iw_leave(void *fs, void *l)
{
	img_dir_end(&((struct wlevel *)l)->d);
}

static void iw_drop(void *fs, void *l)
{
	free(((struct wlevel *)l)->buf);
}

static const struct dirwalk_ops image_walk_ops = {
    .level_size = sizeof(struct wlevel),
    .start = iw_start,
    .next_entry = iw_next,
    .stat = iw_stat,
    .readlink = iw_readlink,
    .enter = iw_enter,
    .leave = iw_leave,
    .drop = iw_drop,
};

static int image_walk(struct view *v, const char *root, const struct vt_walk_ops *ops, void *ctx)
{
	struct iwalk *w = calloc(1, sizeof(*w));
	errcode_t e;
	int rc;

	if (!w)
		return -ENOMEM;
	w->iv = (struct image_view *)v;
	e = ext2fs_allocate_inode_bitmap(w->iv->fs, "vantage walk", &w->seen);
	if (e) {
		free(w);
		return -img_errno(e);
	}
	rc = dirwalk(&image_walk_ops, w, IMAGE_WALK_MAX_DEPTH, root, ops, ctx);
	ext2fs_free_inode_bitmap(w->seen);
	free(w);
	return rc;
}

static int image_walk_open(struct view *v, const struct vt_walk_entry *e, struct vfile **out)
{
	const struct img_entry *ie;

	*out = NULL;
	if (!e || !e->priv || e->st.type != VF_REG)
		return -EINVAL;
	ie = e->priv;
	return open_ino((struct image_view *)v, ie->ino, &ie->inode, out);
}

void img_destroy(struct view *v)
{
	struct image_view *iv = (struct image_view *)v;

	if (iv->fs)
		ext2fs_close_free(&iv->fs);
	free(iv->lookup_buf);
	free(iv);
}

const struct view_ops img_view_ops = {
    .name = "image",
    .file_open = image_file_open,
    .file_read = image_file_read,
    .file_stat = image_file_stat,
    .file_close = image_file_close,
    .stat = image_stat,
    .walk = image_walk,
    .walk_open = image_walk_open,
    .destroy = img_destroy,
};
