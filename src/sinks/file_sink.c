/*
 * file_sink.c - the file sink: frames to stdout or to a file.  URLs: "-"
 * (stdout), a plain path, file:PATH, file://PATH (sinks.h), the last two
 * with options: file://PATH?rotate_size=100M&rotate_age=1h&keep=10&
 * compress=zstd.
 *
 * The file is opened (created or truncated) when the sink is opened, so a
 * path that cannot be written fails before any crawling.  Writes go
 * straight to the descriptor in large blocks (frames arrive whole); spooled
 * frames are copied with sendfile() where the kernel allows it.
 *
 * Rotation (either option given): between frames, when the file holds
 * rotate_size bytes or was started rotate_age ago, it is fsynced and
 * renamed PATH.YYYYMMDDTHHMMSS.mmmZ (UTC) and a new PATH is started; an
 * existing non-empty PATH is rotated the same way at open instead of
 * being truncated.  With compress=zstd the rotated file is compressed
 * (level 3) into NAME.zst.tmp, fsynced, renamed NAME.zst, and only then is
 * NAME removed: a crash never leaves a partial NAME.zst, and at open a
 * leftover NAME.zst.tmp is removed and NAME compressed again.  keep=N:
 * after each rotation, the oldest rotated files beyond N are removed.
 *
 * The file going away: before each frame the path is compared with the
 * file open (device and inode, as the store does).  A file deleted or
 * replaced is opened again at its path (created, appended to: said once);
 * while that fails (its directory removed, not writable, a full disk) the
 * frames are refused with the error, which the tee reports once per
 * episode, and the next frame tries again.  A frame whose write fails part
 * way is cut off the file (ftruncate to its start), so the file never
 * holds a torn line.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "../features/feature.h"
#include "../util/log.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "file_sink.h"
#include "sinks.h"

struct file_sink {
	struct sink base;
	int fd;
	bool own;
	/* rotation (rotate() below); off when both bounds are 0 */
	char *path;
	uint64_t rotate_size;
	int64_t rotate_age_ns;
	int keep; /* 0: keep every rotated file */
	bool zstd;
	uint64_t size;   /* bytes in the current file */
	int64_t started; /* mono ns: when the current file was started */
	/* the file at the path (own files): its identity, where the frame
	 * being written started (-1: not known, stdout or a pipe) */
	dev_t dev;
	ino_t ino;
	off_t frame_off;
	bool lost; /* the file could not be opened again at its path */
};

/* Remember which file fd is, and where the next frame starts. */
static void note_file(struct file_sink *fs)
{
	struct stat st;
	if (fstat(fs->fd, &st) == 0) {
		fs->dev = st.st_dev;
		fs->ino = st.st_ino;
	}
	fs->frame_off = S_ISREG(st.st_mode) ? lseek(fs->fd, 0, SEEK_END) : -1;
}

/* A frame whose write failed: cut it off, so no torn line stays. */
static void cut_frame(struct file_sink *fs)
{
	if (!fs->own || fs->frame_off < 0) /* stdout: never cut what is not ours */
		return;
	if (ftruncate(fs->fd, fs->frame_off) == 0) {
		(void)lseek(fs->fd, fs->frame_off, SEEK_SET);
		fs->size = (uint64_t)fs->frame_off;
	}
}

static int fs_write(struct sink *s, const void *data, size_t len)
{
	struct file_sink *fs = (struct file_sink *)s;
	const char *p = data;
	fs->size += len;
	while (len) {
		ssize_t n = write(fs->fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = -errno;
			cut_frame(fs);
			return e;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fs_write_fd(struct sink *s, int fd, size_t len)
{
	struct file_sink *fs = (struct file_sink *)s;
	off_t off = 0;
	while ((size_t)off < len) {
		ssize_t n = sendfile(fs->fd, fd, &off, len - (size_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
	}
	fs->size += (size_t)off;
	if ((size_t)off == len)
		return 0;
	/* sendfile refused (or stopped): copy the rest by hand */
	int r = sink_copy_fd(s, fd, (size_t)off, len);
	if (r < 0)
		cut_frame(fs);
	return r;
}

static int fs_flush(struct sink *s)
{
	struct file_sink *fs = (struct file_sink *)s;
	if (fs->own && fsync(fs->fd) < 0 && errno != EINVAL && errno != EROFS)
		return -errno;
	return 0;
}

/* ---- rotation ------------------------------------------------------------------ */

/* NAME is a rotated file of `base`: base.YYYYMMDDTHHMMSS.mmmZ[.zst][.tmp] */
static bool rotated_name(const char *name, const char *base, bool *zst, bool *tmp)
{
	size_t bl = strlen(base);
	if (strncmp(name, base, bl) != 0 || name[bl] != '.')
		return false;
	const char *t = name + bl + 1;
	static const char pat[] = "ddddddddTdddddd.dddZ";
	for (int i = 0; pat[i]; i++) {
		bool ok = pat[i] == 'd' ? (t[i] >= '0' && t[i] <= '9') : t[i] == pat[i];
		if (!ok)
			return false;
	}
	t += sizeof(pat) - 1;
	*zst = strncmp(t, ".zst", 4) == 0;
	if (*zst)
		t += 4;
	*tmp = strcmp(t, ".tmp") == 0;
	return *tmp || !*t;
}

/* Compress `src` into src.zst (through src.zst.tmp), then remove src. */
static int compress_file(const char *src)
{
	char tmp[4200], dst[4200];
	snprintf(dst, sizeof(dst), "%s.zst", src);
	snprintf(tmp, sizeof(tmp), "%s.zst.tmp", src);
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		int e = -errno;
		close(in);
		return e;
	}
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	size_t inlen = ZSTD_CStreamInSize(), outlen = ZSTD_CStreamOutSize();
	char *ib = xmalloc(inlen), *ob = xmalloc(outlen);
	int r = cc ? 0 : -ENOMEM;
	if (cc)
		ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 3);
	bool last = false;
	while (r == 0 && !last) {
		ssize_t n = read(in, ib, inlen);
		if (n < 0) {
			r = -errno;
			break;
		}
		last = n == 0;
		ZSTD_inBuffer zin = {ib, (size_t)n, 0};
		size_t left;
		do {
			ZSTD_outBuffer zout = {ob, outlen, 0};
			left = ZSTD_compressStream2(cc, &zout, &zin,
			                            last ? ZSTD_e_end : ZSTD_e_continue);
			if (ZSTD_isError(left)) {
				r = -EIO;
				break;
			}
			const char *p = ob;
			size_t m = zout.pos;
			while (m) {
				ssize_t w = write(out, p, m);
				if (w < 0 && errno == EINTR)
					continue;
				if (w < 0) {
					r = -errno;
					break;
				}
				p += w;
				m -= (size_t)w;
			}
		} while (r == 0 && (last ? left != 0 : zin.pos < zin.size));
	}
	ZSTD_freeCCtx(cc);
	free(ib);
	free(ob);
	close(in);
	if (r == 0 && fsync(out) < 0)
		r = -errno;
	close(out);
	if (r == 0 && rename(tmp, dst) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	unlink(src);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Finish what a crash left (compress = zstd) and keep the newest `keep`. */
static void tidy(struct file_sink *fs)
{
	char d[4096], b[4096];
	snprintf(d, sizeof(d), "%s", fs->path);
	snprintf(b, sizeof(b), "%s", fs->path);
	const char *dir = dirname(d), *base = basename(b);
	DIR *dh = opendir(dir);
	if (!dh)
		return;
	char **names = NULL;
	size_t n = 0, cap = 0;
	const struct dirent *de;
	while ((de = readdir(dh))) {
		bool zst, tmp;
		if (!rotated_name(de->d_name, base, &zst, &tmp))
			continue;
		char full[8300];
		snprintf(full, sizeof(full), "%s/%s", dir, de->d_name);
		if (tmp) {
			unlink(full); /* a compression a crash cut short */
			continue;
		}
		if (grow_array((void **)&names, &cap, n + 1, sizeof(*names)) < 0)
			break;
		names[n++] = xstrdup(full);
	}
	closedir(dh);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(names[i]);
		bool zst = l > 4 && strcmp(names[i] + l - 4, ".zst") == 0;
		if (fs->zstd && !zst) {
			int r = compress_file(names[i]);
			if (r < 0)
				log_warn("sink %s: cannot compress %s: %s", fs->base.desc, names[i],
				         strerror(-r));
		}
	}
	/* names sort by time; a NAME and its NAME.zst count once (one exists) */
	size_t total = n;
	for (size_t i = 0; fs->keep > 0 && i < n && total > (size_t)fs->keep; i++) {
		char z[8300];
		snprintf(z, sizeof(z), "%s.zst", names[i]);
		if (unlink(names[i]) < 0 && errno == ENOENT)
			(void)unlink(z);
		total--;
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Close the current file under its rotated name, start a new one. */
static int rotate(struct file_sink *fs)
{
	if (fs->size == 0) {
		fs->started = mono_ns();
		return 0;
	}
	if (fsync(fs->fd) < 0 && errno != EINVAL)
		return -errno;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char name[4200];
	size_t n = (size_t)snprintf(name, sizeof(name), "%s.", fs->path);
	n += strftime(name + n, sizeof(name) - n, "%Y%m%dT%H%M%S", &tm);
	snprintf(name + n, sizeof(name) - n, ".%03ldZ", ts.tv_nsec / 1000000);
	if (rename(fs->path, name) < 0)
		return -errno;
	int fd = open(fs->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	close(fs->fd);
	fs->fd = fd;
	fs->size = 0;
	fs->started = mono_ns();
	note_file(fs);
	if (fs->zstd) {
		int r = compress_file(name);
		if (r < 0)
			log_warn("sink %s: cannot compress %s: %s (left as it is)", fs->base.desc,
			         name, strerror(-r));
	}
	if (fs->keep)
		tidy(fs);
	return 0;
}

static bool rotating(const struct file_sink *fs)
{
	return fs->rotate_size || fs->rotate_age_ns;
}

static bool due(const struct file_sink *fs)
{
	return (fs->rotate_size && fs->size >= fs->rotate_size) ||
	       (fs->rotate_age_ns && mono_ns() - fs->started >= fs->rotate_age_ns);
}

/* The path still names the file open, or it is opened again there:
 * 0, or the error that keeps it from being written. */
static int follow_path(struct file_sink *fs)
{
	struct stat st;
	if (stat(fs->path, &st) == 0 && st.st_dev == fs->dev && st.st_ino == fs->ino)
		return 0;
	int fd = open(fs->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = -errno;
		fs->lost = true;
		return e;
	}
	log_warn("sink %s: the file was deleted or replaced%s; frames go to a new file at that "
	         "path",
	         fs->base.desc, fs->lost ? " and its path could not be written for a while" : "");
	close(fs->fd);
	fs->fd = fd;
	fs->lost = false;
	fs->size = 0;
	fs->started = mono_ns();
	return 0;
}

static int fs_begin(struct sink *s, const struct frame_info *info)
{
	struct file_sink *fs = (struct file_sink *)s;
	if (fs->own && fs->path) {
		int r = follow_path(fs);
		if (r < 0)
			return r;
	}
	int r = rotating(fs) && fs->path && due(fs) ? rotate(fs) : 0;
	if (fs->own)
		note_file(fs);
	return r;
}

static int fs_end(struct sink *s, const struct frame_summary *sum)
{
	struct file_sink *fs = (struct file_sink *)s;
	return rotating(fs) && due(fs) ? rotate(fs) : 0;
}

static void fs_close(struct sink *s)
{
	struct file_sink *fs = (struct file_sink *)s;
	if (fs->own)
		close(fs->fd);
	free(fs->path);
	free(fs);
}

static const struct sink_ops file_sink_ops = {
    .name = "file",
    .begin_frame = fs_begin,
    .end_frame = fs_end,
    .write = fs_write,
    .write_fd = fs_write_fd,
    .flush = fs_flush,
    .close = fs_close,
};

int sink_file_open(const char *path, struct sink **out)
{
	struct file_sink *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->base.ops = &file_sink_ops;
	if (!path || strcmp(path, "-") == 0) {
		fs->fd = STDOUT_FILENO;
		fs->own = false;
		copy_str(fs->base.desc, sizeof(fs->base.desc), "stdout", 6);
	} else {
		/* 0600: frames hold config contents and command lines */
		fs->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fs->fd < 0) {
			int e = errno;
			free(fs);
			return -e;
		}
		fs->own = true;
		fs->path = xstrdup(path);
		copy_str(fs->base.desc, sizeof(fs->base.desc), path, strlen(path));
		note_file(fs);
	}
	*out = &fs->base;
	return 0;
}

static int file_opt(void *ctx, const char *key, const char *v, char *err, size_t errlen)
{
	struct file_sink *fs = ctx;
	uint64_t u;
	double d;
	if (strcmp(key, "rotate_size") == 0) {
		if (feature_parse_size(v, &u) < 0 || u < 1) {
			snprintf(err, errlen, "rotate_size: not a size: '%s' (e.g. 100M)", v);
			return -EINVAL;
		}
		fs->rotate_size = u;
	} else if (strcmp(key, "rotate_age") == 0) {
		if (feature_parse_duration(v, &d) < 0 || d < 1) {
			snprintf(err, errlen, "rotate_age: not a duration from 1s: '%s' (e.g. 1h)",
			         v);
			return -EINVAL;
		}
		fs->rotate_age_ns = (int64_t)(d * 1e9);
	} else if (strcmp(key, "keep") == 0) {
		char *end;
		long k = strtol(v, &end, 10);
		if (end == v || *end || k < 1 || k > 100000) {
			snprintf(err, errlen, "keep: not a number from 1: '%s'", v);
			return -EINVAL;
		}
		fs->keep = (int)k;
	} else if (strcmp(key, "compress") == 0) {
		if (strcmp(v, "zstd") != 0 && strcmp(v, "none") != 0) {
			snprintf(err, errlen, "compress: '%s' (zstd or none)", v);
			return -EINVAL;
		}
		fs->zstd = strcmp(v, "zstd") == 0;
	} else {
		snprintf(err, errlen,
		         "unknown option \"%s\" (rotate_size, rotate_age, keep, compress)", key);
		return -EINVAL;
	}
	return 0;
}

/* A file with options (file:PATH?..., file://PATH?...): rotated. */
static int file_open_rotating(const char *url, const char *path, const char *q, struct sink **out,
                              char *err, size_t errlen)
{
	struct file_sink *fs = xcalloc(1, sizeof(*fs));
	fs->base.ops = &file_sink_ops;
	fs->path = xstrndup(path, (size_t)(q - path));
	copy_str(fs->base.desc, sizeof(fs->base.desc), fs->path, strlen(fs->path));
	char why[512];
	int r = sink_url_options(q + 1, strlen(q + 1), file_opt, fs, why, sizeof(why));
	if (r == 0 && !rotating(fs) && (fs->keep || fs->zstd)) {
		snprintf(why, sizeof(why), "keep and compress need rotate_size or rotate_age");
		r = -EINVAL;
	}
	if (r == 0 && (!*fs->path || strcmp(fs->path, "-") == 0)) {
		snprintf(why, sizeof(why), "a file to rotate is needed (not stdout)");
		r = -EINVAL;
	}
	if (r < 0) {
		snprintf(err, errlen, "sink \"%s\": %s", url, why);
		free(fs->path);
		free(fs);
		return r;
	}
	/* an existing file is rotated, not truncated: a restart loses nothing */
	fs->fd = open(fs->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	struct stat st;
	if (fs->fd < 0 || fstat(fs->fd, &st) < 0) {
		r = -errno;
		snprintf(err, errlen, "sink \"%s\": cannot open %s: %s", url, fs->path,
		         strerror(-r));
		if (fs->fd >= 0)
			close(fs->fd);
		free(fs->path);
		free(fs);
		return r;
	}
	fs->own = true;
	fs->size = (uint64_t)st.st_size;
	fs->started = mono_ns();
	if ((r = rotate(fs)) < 0) {
		snprintf(err, errlen, "sink \"%s\": cannot rotate %s: %s", url, fs->path,
		         strerror(-r));
		fs_close(&fs->base);
		return r;
	}
	tidy(fs); /* what a crash left, and keep */
	note_file(fs);
	*out = &fs->base;
	return 0;
}

/* "-", PATH, file:PATH, file://PATH (file:///abs: "/abs"); the last two
 * may end in ?OPTIONS (rotation). */
static int file_open_url(const char *url, const char *rest, const struct sink_env *env,
                         struct sink **out, char *err, size_t errlen)
{
	const char *path = rest;
	if (rest != url && strncmp(path, "//", 2) == 0)
		path += 2; /* file://PATH; a plain "//x" is a path */
	if (!*path) {
		snprintf(err, errlen, "sink \"%s\": no file named (file:PATH, or - for stdout)",
		         url);
		return -EINVAL;
	}
	const char *q = rest != url ? strchr(path, '?') : NULL;
	if (q)
		return file_open_rotating(url, path, q, out, err, errlen);
	int r = sink_file_open(path, out);
	if (r < 0)
		snprintf(err, errlen, "sink \"%s\": cannot open %s: %s", url, path, strerror(-r));
	return r;
}

const struct sink_scheme sink_scheme_file = {
    .scheme = "file",
    .usage = "file:PATH[?OPTIONS]",
    .open = file_open_url,
};
