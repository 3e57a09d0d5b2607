/*
 * fsroot.c - file access confined to a directory taken as a system's root.
 *
 * The root is held as an O_PATH directory fd; nothing here ever uses an
 * absolute host path after fsroot_init().
 *
 * Resolving a path (fsroot_openat):
 *   openat2(dirfd, path, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) lets the
 *   kernel resolve every symlink and ".." as if the root were "/".  Mounts
 *   inside the root are legitimate (a container's volumes), so no
 *   RESOLVE_NO_XDEV.  On kernels without openat2 (ENOSYS, remembered) the
 *   same is done in user space by fsroot_openat_walk(): one component at a
 *   time, each opened O_PATH|O_NOFOLLOW relative to the previous one; a
 *   symlink is read with readlinkat() and its target spliced in front of
 *   the rest of the path (an absolute one restarts at the root); ".." is
 *   resolved lexically against the components resolved so far (clamped at
 *   the root) and the directory re-opened from the root, so a directory
 *   moved meanwhile cannot take us out.  At most 40 symlinks (ELOOP).
 *
 * Opening a file for reading (fsroot_file_open, fsroot_walk_open):
 *   the file is first opened O_PATH and fstat()ed; only a regular file is
 *   then re-opened for reading, through /proc/self/fd/N, which reopens
 *   exactly that inode.  So a device node or FIFO planted in a guest is
 *   never opened for reading, not even by racing a rename (opening a
 *   watchdog or tape device has side effects).  Without procfs we fall back
 *   to a second confined open with O_NONBLOCK and check the type again.
 *   A struct vfile is just the fd.
 *
 * The walk (fsroot_walk): dirwalk.c's depth-first walk over a stack of
 * directory fds, each subdirectory opened relative to its parent with
 * O_NOFOLLOW|O_DIRECTORY (never by path, so never outside the root).
 * Entries come from getdents64 into a per-level buffer that is allocated on
 * first use and kept; the path is built in one buffer that is reused.  So
 * memory is bounded by the depth (FSROOT_WALK_MAX_DEPTH), never by the
 * size of the tree, and there is no allocation per entry.
 */
#include "fsroot.h"
#include "dirwalk.h"
#include "pathwalk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_LINKS 40

/* An open regular file inside a root. */
struct vfile {
	int fd;
};

/* Set once openat2() answered ENOSYS: use the user-space walk from then on. */
static atomic_bool openat2_missing;

int fsroot_init(struct fsroot *r, const char *dir)
{
	int fd;

	r->dirfd = -1;
	r->path[0] = 0;
	if (!dir || !*dir)
		return -EINVAL;
	if (strlen(dir) >= sizeof(r->path))
		return -ENAMETOOLONG;
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r->dirfd = fd;
	strcpy(r->path, dir);
	return 0;
}

void fsroot_fini(struct fsroot *r)
{
	if (r->dirfd >= 0)
		close(r->dirfd);
	r->dirfd = -1;
}

void fsroot_fill_stat(const struct stat *st, struct vt_stat *out)
{
	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		out->type = VF_REG;
		break;
	case S_IFDIR:
		out->type = VF_DIR;
		break;
	case S_IFLNK:
		out->type = VF_LNK;
		break;
	case S_IFCHR:
		out->type = VF_CHR;
		break;
	case S_IFBLK:
		out->type = VF_BLK;
		break;
	case S_IFIFO:
		out->type = VF_FIFO;
		break;
	case S_IFSOCK:
		out->type = VF_SOCK;
		break;
	default:
		out->type = VF_UNKNOWN;
		break;
	}
	out->mode = st->st_mode & 07777;
	out->uid = st->st_uid;
	out->gid = st->st_gid;
	out->size = st->st_size < 0 ? 0 : (uint64_t)st->st_size;
	out->mtime = st->st_mtim.tv_sec;
	out->ctime = st->st_ctim.tv_sec;
	out->inode = st->st_ino;
	out->nlink = st->st_nlink;
}

/* ---- resolving paths ------------------------------------------------------ */

/* The path relative to the root: leading slashes stripped, "" -> ".". */
static const char *rel_path(const char *path)
{
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

static int openat2_in_root(int dirfd, const char *path, int flags)
{
	struct open_how how = {
	    .flags = (uint64_t)(flags | O_CLOEXEC),
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};

	/* EAGAIN: a rename raced with a ".." lookup; the kernel asks to retry. */
	for (int i = 0; i < 16; i++) {
		long fd = syscall(SYS_openat2, dirfd, rel_path(path), &how, sizeof(how));

		if (fd >= 0)
			return (int)fd;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
	return -EAGAIN;
}

int fsroot_openat(struct fsroot *r, const char *path, int flags)
{
	if (!path)
		return -EINVAL;
	if (!atomic_load_explicit(&openat2_missing, memory_order_relaxed)) {
		int fd = openat2_in_root(r->dirfd, path, flags);

		if (fd != -ENOSYS)
			return fd;
		atomic_store(&openat2_missing, true);
	}
	return fsroot_openat_walk(r, path, flags);
}

/*
 * State of the user-space resolution.  The unresolved rest of the path
 * lives at the END of `work` (work[pos] .. NUL at the last byte) so that a
 * symlink target can be put in front of it without moving it.  `done`
 * holds the components resolved so far ("a/b"), all real directories, and
 * `cur` an O_PATH fd of the last one (-1: the root itself).
 */
struct resolve {
	struct fsroot *r;
	int cur;
	size_t dlen;
	int links;
	char done[PATH_MAX];
	struct pathwalk w;
	char target[PATH_MAX];
};

static int res_dirfd(const struct resolve *s)
{
	return s->cur >= 0 ? s->cur : s->r->dirfd;
}

static void res_set_cur(struct resolve *s, int fd)
{
	if (s->cur >= 0)
		close(s->cur);
	s->cur = fd;
}

/* Re-open `done` from the root, every step O_NOFOLLOW|O_DIRECTORY. */
static int res_reopen(struct resolve *s)
{
	char *p = s->done, *end = s->done + s->dlen;

	res_set_cur(s, -1);
	while (p < end) {
		char *slash = memchr(p, '/', (size_t)(end - p));
		size_t n = slash ? (size_t)(slash - p) : (size_t)(end - p);
		char name[NAME_MAX + 1];
		int fd;

		memcpy(name, p, n);
		name[n] = 0;
		fd = openat(res_dirfd(s), name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		res_set_cur(s, fd);
		p += n + 1;
	}
	return 0;
}

/* Put the target of the symlink `fd` in front of the rest of the path. */
static int res_follow(struct resolve *s, int fd)
{
	ssize_t n;

	if (++s->links > MAX_LINKS)
		return -ELOOP;
	n = readlinkat(fd, "", s->target, sizeof(s->target));
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ENOENT;
	if ((size_t)n >= sizeof(s->target))
		return -ENAMETOOLONG;
	int rc = pathwalk_splice(&s->w, s->target, (size_t)n);
	if (rc)
		return rc;
	if (s->target[0] == '/') { /* absolute: restart at the root */
		s->dlen = 0;
		res_set_cur(s, -1);
	}
	return 0;
}

/* Open the final component `name` (in res_dirfd) with the caller's flags. */
static int res_open_last(struct resolve *s, const char *name, int flags, bool *followed)
{
	struct stat st;
	int fd, rc;

	*followed = false;
	fd = openat(res_dirfd(s), name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (S_ISLNK(st.st_mode) && !(flags & O_NOFOLLOW)) {
		rc = res_follow(s, fd);
		close(fd);
		*followed = rc == 0;
		return rc;
	}
	if ((flags & O_DIRECTORY) && !S_ISDIR(st.st_mode)) {
		close(fd);
		return S_ISLNK(st.st_mode) ? -ELOOP : -ENOTDIR;
	}
	if (flags & O_PATH)
		return fd;
	close(fd);
	/* Replaced by a symlink since the check: O_NOFOLLOW makes it fail. */
	fd = openat(res_dirfd(s), name, flags | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Step into directory `name` (not the last component, or with a trailing
 * slash).  A symlink is spliced into the path instead. */
static int res_step(struct resolve *s, const char *name, size_t n)
{
	struct stat st;
	int fd, rc;

	fd = openat(res_dirfd(s), name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (S_ISLNK(st.st_mode)) {
		rc = res_follow(s, fd);
		close(fd);
		return rc;
	}
	if (!S_ISDIR(st.st_mode)) {
		close(fd);
		return -ENOTDIR;
	}
	if (s->dlen + n + 2 > sizeof(s->done)) {
		close(fd);
		return -ENAMETOOLONG;
	}
	if (s->dlen)
		s->done[s->dlen++] = '/';
	memcpy(s->done + s->dlen, name, n);
	s->dlen += n;
	res_set_cur(s, fd);
	return 0;
}

static int res_run(struct resolve *s, int flags)
{
	for (;;) {
		char name[NAME_MAX + 1];
		const char *comp;
		size_t n;
		bool last, followed;
		int rc;

		if (pathwalk_next(&s->w, &comp, &n, &last)) { /* ended on a directory */
			int fd = openat(res_dirfd(s), ".", flags | O_CLOEXEC);

			return fd < 0 ? -errno : fd;
		}
		if (n > NAME_MAX)
			return -ENAMETOOLONG;
		memcpy(name, comp, n);
		name[n] = 0;

		if (n == 1 && name[0] == '.')
			continue;
		if (n == 2 && name[0] == '.' && name[1] == '.') {
			if (s->dlen == 0)
				continue; /* ".." at the root stays there */
			while (s->dlen && s->done[s->dlen - 1] != '/')
				s->dlen--;
			if (s->dlen)
				s->dlen--;
			rc = res_reopen(s);
			if (rc)
				return rc;
			continue;
		}
		if (last) {
			rc = res_open_last(s, name, flags, &followed);
			if (followed)
				continue;
			return rc;
		}
		rc = res_step(s, name, n);
		if (rc)
			return rc;
	}
}

int fsroot_openat_walk(struct fsroot *r, const char *path, int flags)
{
	struct resolve *s;
	int rc;

	if (!path)
		return -EINVAL;
	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->r = r;
	s->cur = -1;
	s->dlen = 0;
	s->links = 0;
	rc = pathwalk_init(&s->w, path);
	if (rc) {
		free(s);
		return rc;
	}
	rc = res_run(s, flags);
	res_set_cur(s, -1);
	free(s);
	return rc;
}

/* ---- reading files -------------------------------------------------------- */

/*
 * Files of procfs, sysfs and the like look regular but are windows on the
 * kernel (a system's /proc/kcore is the host's memory): never read one as
 * a system's file, whatever path led there.
 */
static bool on_kernel_fs(int fd)
{
	struct statfs sf;
	if (fstatfs(fd, &sf) < 0)
		return true;
	switch ((unsigned long)sf.f_type) {
	case PROC_SUPER_MAGIC:
	case SYSFS_MAGIC:
	case DEBUGFS_MAGIC:
	case TRACEFS_MAGIC:
	case SECURITYFS_MAGIC:
	case BPF_FS_MAGIC:
	case CGROUP_SUPER_MAGIC:
	case CGROUP2_SUPER_MAGIC:
	case PSTOREFS_MAGIC:
	case EFIVARFS_MAGIC:
		return true;
	default:
		return false;
	}
}

/*
 * `pfd` is an O_PATH fd (consumed).  If it is a regular file, return an fd
 * open for reading on the same inode; otherwise -EINVAL.  `dirfd`/`name`
 * (opened O_NOFOLLOW) or, with dirfd < 0, the root and `name`, is the
 * fallback when /proc/self/fd cannot be used.
 */
static int reopen_regular(int pfd, struct fsroot *r, int dirfd, const char *name)
{
	const int rd = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	struct stat want, got;
	char proc[64];
	int fd, rc;

	if (fstat(pfd, &want) < 0) {
		rc = -errno;
		close(pfd);
		return rc;
	}
	if (!S_ISREG(want.st_mode)) {
		close(pfd);
		return -EINVAL;
	}
	if (on_kernel_fs(pfd)) {
		close(pfd);
		return -EPERM;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, rd);
	if (fd < 0 && errno != EACCES && errno != EPERM) {
		if (dirfd >= 0)
			fd = openat(dirfd, name, rd | O_NOFOLLOW);
		else
			fd = fsroot_openat(r, name, rd);
		if (fd < 0)
			fd = -errno;
	} else if (fd < 0) {
		fd = -errno;
	}
	close(pfd);
	if (fd < 0)
		return fd;
	if (fstat(fd, &got) < 0 || !S_ISREG(got.st_mode) || got.st_ino != want.st_ino ||
	    got.st_dev != want.st_dev) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

static int vfile_wrap(int fd, struct vfile **out)
{
	struct vfile *f;

	if (fd < 0)
		return fd;
	f = malloc(sizeof(*f));
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	f->fd = fd;
	*out = f;
	return 0;
}

int fsroot_file_open(struct fsroot *r, const char *path, struct vfile **out)
{
	int pfd;

	*out = NULL;
	pfd = fsroot_openat(r, path, O_PATH);
	if (pfd < 0)
		return pfd;
	return vfile_wrap(reopen_regular(pfd, r, -1, path), out);
}

ssize_t fsroot_file_read(struct vfile *f, void *dst, size_t n)
{
	for (;;) {
		ssize_t k = read(f->fd, dst, n);

		if (k >= 0)
			return k;
		if (errno != EINTR)
			return -errno;
	}
}

int fsroot_file_stat(struct vfile *f, struct vt_stat *out)
{
	struct stat st;

	if (fstat(f->fd, &st) < 0)
		return -errno;
	fsroot_fill_stat(&st, out);
	return 0;
}

void fsroot_file_close(struct vfile *f)
{
	if (!f)
		return;
	close(f->fd);
	free(f);
}

/* ---- lstat ---------------------------------------------------------------- */

/*
 * Lexically normalise `path` into dst (cap bytes): a leading "/", no empty
 * or "." components, ".." removing the previous component (never above
 * "/"), no trailing slash.  "" and "/" give "/".
 */
int fsroot_normalize(const char *path, char *dst, size_t cap)
{
	size_t len = 0;
	const char *p = path;

	if (cap < 2)
		return -ENAMETOOLONG;
	while (*p) {
		const char *c;
		size_t n;

		while (*p == '/')
			p++;
		c = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - c);
		if (n == 0 || (n == 1 && c[0] == '.'))
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			while (len && dst[len - 1] != '/')
				len--;
			if (len)
				len--;
			continue;
		}
		if (len + 1 + n + 1 > cap)
			return -ENAMETOOLONG;
		dst[len++] = '/';
		memcpy(dst + len, c, n);
		len += n;
	}
	if (len == 0)
		dst[len++] = '/';
	dst[len] = 0;
	return (int)len;
}

/* Split normalised `path` (not "/") at its last slash: path becomes the
 * parent ("/" at least), the returned pointer the last component. */
static const char *split_last(char *path, char *parent, size_t cap)
{
	char *slash = strrchr(path, '/');
	size_t plen = (size_t)(slash - path);

	if (plen == 0)
		plen = 1;
	if (plen >= cap)
		plen = cap - 1;
	memcpy(parent, path, plen);
	parent[plen] = 0;
	return slash + 1;
}

int fsroot_stat(struct fsroot *r, const char *path, struct vt_stat *out)
{
	char norm[PATH_MAX], parent[PATH_MAX];
	const char *name;
	struct stat st;
	int pfd, rc;

	if (!path)
		return -EINVAL;
	rc = fsroot_normalize(path, norm, sizeof(norm));
	if (rc < 0)
		return rc;
	if (strcmp(norm, "/") == 0) {
		if (fstat(r->dirfd, &st) < 0)
			return -errno;
		fsroot_fill_stat(&st, out);
		return 0;
	}
	name = split_last(norm, parent, sizeof(parent));
	pfd = fsroot_openat(r, parent, O_PATH | O_DIRECTORY);
	if (pfd < 0)
		return pfd;
	rc = fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	close(pfd);
	if (!rc)
		fsroot_fill_stat(&st, out);
	return rc;
}

/* ---- the walk ------------------------------------------------------------- */

/* The walk itself is dirwalk.c's; this is the file-descriptor side. */

#define WALK_BIG_BUF (32 * 1024)  /* getdents buffer of shallow levels */
#define WALK_SMALL_BUF (4 * 1024) /* ... and of deep ones */
#define WALK_BIG_LEVELS 16

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* One directory being read.  Invariant: `fd` is first so that an entry's
 * priv (a pointer to the level it was read from) is a pointer to the fd
 * of its parent directory. */
struct walk_level {
	int fd;    /* O_RDONLY|O_DIRECTORY, or O_PATH for the start's parent */
	bool root; /* the start level standing for "/" itself (fd -1) */
	bool dead; /* getdents failed: the level ends */
	char *buf; /* getdents64 buffer, kept for reuse */
	size_t cap, pos, end;
};

struct fswalk {
	struct fsroot *r;
	struct walk_level start; /* the parent of the walk's root */
	char parent[PATH_MAX];
};

static int fw_start(void *fs, const char *path, size_t len, void **parent, const char **name)
{
	struct fswalk *f = fs;
	struct stat st;

	*parent = &f->start;
	if (len == 1) { /* "/": the root fd itself */
		f->start.root = true;
		*name = path;
		return 0;
	}
	*name = split_last((char *)path, f->parent, sizeof(f->parent)); /* path is not written */
	f->start.fd = fsroot_openat(f->r, f->parent, O_PATH | O_DIRECTORY);
	if (f->start.fd < 0)
		return f->start.fd;
	/* The root must exist: an fstatat failure here fails the walk. */
	if (fstatat(f->start.fd, *name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

static int fw_next(void *fs, void *l, const char **name, size_t *n)
{
	struct walk_level *lv = l;

	for (;;) {
		if (lv->pos < lv->end) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(lv->buf + lv->pos);

			if (d->d_reclen == 0 || d->d_reclen > lv->end - lv->pos)
				return 0;
			lv->pos += d->d_reclen;
			*name = d->d_name;
			*n = strnlen(d->d_name,
			             d->d_reclen - offsetof(struct linux_dirent64, d_name));
			if (*n == 0 || *n > NAME_MAX)
				continue;
			return 1;
		}
		if (lv->dead)
			return 0;
		ssize_t r = getdents64(lv->fd, lv->buf, lv->cap);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			lv->dead = true;
			return -errno;
		}
		if (r == 0)
			return 0;
		lv->pos = 0;
		lv->end = (size_t)r;
	}
}

static int fw_stat(void *fs, void *parent, const char *name, struct vt_stat *out, void **priv)
{
	struct fswalk *f = fs;
	struct walk_level *p = parent;
	struct stat st;

	*priv = parent;
	if (p->root ? fstat(f->r->dirfd, &st) < 0
	            : fstatat(p->fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	fsroot_fill_stat(&st, out);
	return 0;
}

static ssize_t fw_readlink(void *fs, void *parent, const char *name, char *dst, size_t cap)
{
	struct walk_level *p = parent;
	ssize_t n = readlinkat(p->fd, name, dst, cap - 1);

	if (n < 0)
		return -errno;
	dst[n] = 0;
	return n;
}

static int fw_enter(void *fs, void *parent, const char *name, void *l, int depth)
{
	struct fswalk *f = fs;
	struct walk_level *p = parent, *lv = l;
	int fd = p->root ? openat(f->r->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
	                 : openat(p->fd, name,
	                          O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return p->root ? -errno : errno;
	if (!lv->buf) {
		lv->cap = depth < WALK_BIG_LEVELS ? WALK_BIG_BUF : WALK_SMALL_BUF;
		lv->buf = malloc(lv->cap);
		if (!lv->buf) {
			close(fd);
			return -ENOMEM;
		}
	}
	lv->fd = fd;
	lv->pos = lv->end = 0;
	lv->dead = false;
	return 0;
}

static void fw_leave(void *fs, void *l)
{
	struct walk_level *lv = l;

	close(lv->fd);
	lv->fd = -1;
}

static void fw_drop(void *fs, void *l)
{
	free(((struct walk_level *)l)->buf);
}

static const struct dirwalk_ops fsroot_walk_ops = {
    .level_size = sizeof(struct walk_level),
    .start = fw_start,
    .next_entry = fw_next,
    .stat = fw_stat,
    .readlink = fw_readlink,
    .enter = fw_enter,
    .leave = fw_leave,
    .drop = fw_drop,
};

int fsroot_walk(struct fsroot *r, const char *root, const struct vt_walk_ops *ops, void *ctx)
{
	struct fswalk *f = calloc(1, sizeof(*f));
	int rc;

	if (!f)
		return -ENOMEM;
	f->r = r;
	f->start.fd = -1;
	rc = dirwalk(&fsroot_walk_ops, f, FSROOT_WALK_MAX_DEPTH, root, ops, ctx);
	if (f->start.fd >= 0)
		close(f->start.fd);
	free(f);
	return rc;
}

int fsroot_walk_open(struct fsroot *r, const struct vt_walk_entry *e, struct vfile **out)
{
	const struct walk_level *parent;
	int pfd;

	*out = NULL;
	if (!e || !e->priv || !e->name)
		return -EINVAL;
	if (e->st.type != VF_REG)
		return -EINVAL;
	parent = e->priv;
	if (parent->fd < 0)
		return -EINVAL;
	pfd = openat(parent->fd, e->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0)
		return -errno;
	return vfile_wrap(reopen_regular(pfd, r, parent->fd, e->name), out);
}
