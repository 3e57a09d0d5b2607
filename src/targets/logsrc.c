/*
 * logsrc.c - a system's log sources, seen from the host (see logsrc.h).
 */
#include "logsrc.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include "../linux/proc_parse.h"
#include "../util/buf.h"
#include "../util/util.h"

#define CMDLINE_MAX (256u << 10)
#define CRI_FILES_MAX 64 /* restarts of one container kept */

const char *const logsrc_default_globs[] = {
    "/var/log/*.log",         "/var/log/syslog",      "/var/log/nginx/*.log",
    "/var/log/apache2/*.log", "/var/log/mysql/*.log", NULL,
};

void logsrc_list_free(struct logsrc_list *l)
{
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int logsrc_add(struct logsrc_list *l, enum logsrc_type type, enum logfmt_frame frame,
               const char *path)
{
	static const char *const prefix[] = {"stdio:", "file:", "journal", "console:"};
	if (grow_array((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
		return -ENOMEM;
	struct logsrc *s = &l->v[l->n];
	memset(s, 0, sizeof(*s));
	s->type = type;
	s->frame = frame;
	copy_str(s->path, sizeof(s->path), path, strlen(path));
	if (type == LOGSRC_JOURNAL)
		snprintf(s->key, sizeof(s->key), "journal");
	else
		snprintf(s->key, sizeof(s->key), "%s%s", prefix[type], s->path);
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, s->key) == 0)
			return 0; /* listed already */
	l->n++;
	return 0;
}

const char *logsrc_refuse_reason(mode_t m)
{
	return S_ISREG(m)    ? NULL
	       : S_ISDIR(m)  ? "a directory"
	       : S_ISFIFO(m) ? "a FIFO"
	       : S_ISCHR(m)  ? "a character device"
	       : S_ISBLK(m)  ? "a block device"
	       : S_ISSOCK(m) ? "a socket"
	       : S_ISLNK(m)  ? "a symbolic link"
	                     : "not a regular file";
}

int logsrc_glob_split(const char *glob, char *dir, size_t cap, const char **pattern)
{
	size_t n = strlen(glob);
	if (!n || glob[0] != '/' || n >= cap || glob[n - 1] == '/')
		return -EINVAL;
	const char *slash = strrchr(glob, '/');
	size_t dl = (size_t)(slash - glob);
	if (strcspn(glob, "*?[") < dl)
		return -EINVAL; /* a wildcard before the last component */
	if (strstr(glob, "/../") || strcmp(slash, "/..") == 0 || strcmp(slash, "/.") == 0)
		return -EINVAL;
	if (!dl) {
		dir[0] = '/';
		dir[1] = 0;
	} else {
		memcpy(dir, glob, dl);
		dir[dl] = 0;
	}
	*pattern = slash + 1;
	return 0;
}

bool logsrc_has_journal(int root_fd)
{
	struct stat st;
	return (fstatat(root_fd, "var/log/journal", &st, 0) == 0 && S_ISDIR(st.st_mode)) ||
	       (fstatat(root_fd, "run/log/journal", &st, 0) == 0 && S_ISDIR(st.st_mode));
}

/* ---- command lines ------------------------------------------------------------ */

/* The next NUL-separated argument at *p, or NULL at the end. */
static const char *next_arg(const char **p, const char *end, size_t *n)
{
	if (*p >= end)
		return NULL;
	const char *a = *p;
	const char *z = memchr(a, 0, (size_t)(end - a));
	*n = z ? (size_t)(z - a) : (size_t)(end - a);
	*p = z ? z + 1 : end;
	return a;
}

static bool arg_is(const char *a, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(a, lit, n) == 0;
}

static bool set_path(char *dst, size_t cap, const char *s, size_t n)
{
	if (!n || n >= cap || s[0] != '/' || memchr(s, 0, n))
		return false;
	memcpy(dst, s, n);
	dst[n] = 0;
	return true;
}

bool logsrc_conmon_log(const char *argv, size_t len, char *path, size_t cap)
{
	const char *p = argv, *end = argv + len, *a;
	size_t n;
	bool found = false;
	while ((a = next_arg(&p, end, &n))) {
		const char *v = NULL;
		size_t vn = 0;
		if (arg_is(a, n, "-l") || arg_is(a, n, "--log-path")) {
			v = next_arg(&p, end, &vn);
		} else if (n > 11 && memcmp(a, "--log-path=", 11) == 0) {
			v = a + 11;
			vn = n - 11;
		}
		if (!v)
			continue;
		/* "k8s-file:PATH", "journald:", "passthrough", or a bare PATH */
		if (vn > 9 && memcmp(v, "k8s-file:", 9) == 0) {
			v += 9;
			vn -= 9;
		} else if (memchr(v, ':', vn) && v[0] != '/') {
			continue; /* another driver */
		}
		found |= set_path(path, cap, v, vn);
	}
	return found;
}

#define QEMU_CHARDEVS 32

struct chardev {
	char id[64];
	char path[PATH_MAX];
	bool used;
};

bool logsrc_qemu_console(const char *argv, size_t len, char *path, size_t cap)
{
	struct chardev *cd = calloc(QEMU_CHARDEVS, sizeof(*cd));
	if (!cd)
		return false;
	int ncd = 0;
	char direct[PATH_MAX] = "";
	char used[8][64];
	int nused = 0;
	const char *p = argv, *end = argv + len, *a;
	size_t n;
	while ((a = next_arg(&p, end, &n))) {
		if (n > 2 && a[0] == '-' && a[1] == '-')
			a++, n--; /* --opt as -opt */
		size_t vn;
		const char *v;
		if (arg_is(a, n, "-serial") && (v = next_arg(&p, end, &vn))) {
			if (vn > 4 && memcmp(v, "mon:", 4) == 0)
				v += 4, vn -= 4;
			if (vn > 5 && memcmp(v, "file:", 5) == 0 && !direct[0])
				set_path(direct, sizeof(direct), v + 5, vn - 5);
			else if (vn > 8 && memcmp(v, "chardev:", 8) == 0 && nused < 8)
				copy_str(used[nused++], sizeof(used[0]), v + 8, vn - 8);
		} else if (arg_is(a, n, "-device") && (v = next_arg(&p, end, &vn))) {
			char drv[64], id[64];
			if (vm_opt_get(v, vn, "driver", "driver", drv, sizeof(drv)) &&
			    (strstr(drv, "serial") || strstr(drv, "console")) &&
			    vm_opt_get(v, vn, NULL, "chardev", id, sizeof(id)) && nused < 8)
				copy_str(used[nused++], sizeof(used[0]), id, strlen(id));
		} else if (arg_is(a, n, "-chardev") && (v = next_arg(&p, end, &vn))) {
			if (ncd == QEMU_CHARDEVS)
				continue;
			struct chardev *c = &cd[ncd];
			char type[32], f[PATH_MAX];
			if (!vm_opt_get(v, vn, "backend", "backend", type, sizeof(type)) ||
			    !vm_opt_get(v, vn, NULL, "id", c->id, sizeof(c->id)))
				continue;
			bool ok = false;
			if (strcmp(type, "file") == 0 &&
			    vm_opt_get(v, vn, NULL, "path", f, sizeof(f)))
				ok = set_path(c->path, sizeof(c->path), f, strlen(f));
			if (!ok && vm_opt_get(v, vn, NULL, "logfile", f, sizeof(f)))
				ok = set_path(c->path, sizeof(c->path), f, strlen(f));
			if (ok)
				ncd++;
		}
	}
	bool found = false;
	if (direct[0]) {
		found = set_path(path, cap, direct, strlen(direct));
	} else {
		for (int i = 0; i < nused && !found; i++)
			for (int k = 0; k < ncd && !found; k++)
				if (strcmp(cd[k].id, used[i]) == 0)
					found = set_path(path, cap, cd[k].path, strlen(cd[k].path));
	}
	free(cd);
	return found;
}

/* ---- containers ------------------------------------------------------------------ */

/* The parent pid of pid (from /proc/PID/stat), 0 when unknown. */
static int parent_of(int proc_fd, int pid)
{
	char path[64], st[1024];
	snprintf(path, sizeof(path), "%d/stat", pid);
	ssize_t n = read_small_at(proc_fd, path, st, sizeof(st));
	struct proc_stat ps;
	if (n <= 0 || proc_parse_stat(st, (size_t)n, &ps) < 0)
		return 0;
	return ps.ppid;
}

static bool is_file_at(int root_fd, const char *path)
{
	struct stat st;
	return fstatat(root_fd, path[0] == '/' ? path + 1 : path, &st, 0) == 0 &&
	       S_ISREG(st.st_mode);
}

/* conmon's log file: conmon is the parent of the container's init (its
 * comm says so). */
static bool conmon_log(int proc_fd, int init_pid, char *path, size_t cap)
{
	int pp = parent_of(proc_fd, init_pid);
	if (pp <= 1)
		return false;
	char f[64], comm[64];
	snprintf(f, sizeof(f), "%d/comm", pp);
	if (read_small_at(proc_fd, f, comm, sizeof(comm)) <= 0 || strncmp(comm, "conmon", 6) != 0)
		return false;
	snprintf(f, sizeof(f), "%d/cmdline", pp);
	struct buf b = BUF_INIT;
	bool ok = read_file_at(proc_fd, f, &b, CMDLINE_MAX) > 0 &&
	          logsrc_conmon_log(b.data, b.len, path, cap);
	buf_free(&b);
	return ok;
}

static const char *label(json_t *labels, const char *k)
{
	const char *v = json_string_value(json_object_get(labels, k));
	return v && *v && !strchr(v, '/') && strcmp(v, "..") != 0 && strcmp(v, ".") != 0 ? v : NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* var/log/pods/NS_POD_UID/CONTAINER/N.log */
static int cri_files(int root_fd, const struct container *c, struct logsrc_list *out)
{
	json_t *labels = json_loads(c->labels_json, 0, NULL);
	if (!labels)
		return 0;
	const char *ns = label(labels, "io.kubernetes.pod.namespace");
	const char *pod = label(labels, "io.kubernetes.pod.name");
	const char *uid = label(labels, "io.kubernetes.pod.uid");
	const char *ctr = label(labels, "io.kubernetes.container.name");
	int r = 0;
	if (!ns || !pod || !uid || !ctr) {
		json_decref(labels);
		return 0;
	}
	char dir[PATH_MAX];
	int k = snprintf(dir, sizeof(dir), "/var/log/pods/%s_%s_%s/%s", ns, pod, uid, ctr);
	json_decref(labels);
	if (k < 0 || (size_t)k >= sizeof(dir))
		return 0;
	int dfd = openat(root_fd, dir + 1, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (dfd < 0)
		return 0;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return 0;
	}
	char *names[CRI_FILES_MAX] = {0};
	int nn = 0;
	struct dirent *de;
	while ((de = readdir(d)) && nn < CRI_FILES_MAX) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".log") != 0 ||
		    strspn(de->d_name, "0123456789") != l - 4)
			continue;
		names[nn++] = strdup(de->d_name);
		if (!names[nn - 1])
			nn--;
	}
	closedir(d);
	qsort(names, (size_t)nn, sizeof(names[0]), cmp_str);
	for (int i = 0; i < nn; i++) {
		char path[PATH_MAX + 64];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (r == 0 && strlen(path) < PATH_MAX && is_file_at(root_fd, path))
			r = logsrc_add(out, LOGSRC_STDIO, LOGFMT_K8S, path);
		free(names[i]);
	}
	return r;
}

int logsrc_container(int proc_fd, int root_fd, const struct container *c, struct logsrc_list *out)
{
	char path[PATH_MAX];
	const char *rt = c->sys.runtime;
	bool hex = strlen(c->cid) == 64 && strspn(c->cid, "0123456789abcdef") == 64;
	int r = 0;
	if (c->init_pid > 0 && conmon_log(proc_fd, c->init_pid, path, sizeof(path)) &&
	    is_file_at(root_fd, path))
		r = logsrc_add(out, LOGSRC_STDIO, LOGFMT_K8S, path);
	else if (strcmp(rt, "podman") == 0 && hex) {
		snprintf(path, sizeof(path),
		         "/var/lib/containers/storage/overlay-containers/%s/userdata/ctr.log",
		         c->cid);
		if (is_file_at(root_fd, path))
			r = logsrc_add(out, LOGSRC_STDIO, LOGFMT_K8S, path);
	}
	if (r == 0 && strcmp(rt, "docker") == 0 && hex) {
		snprintf(path, sizeof(path), "/var/lib/docker/containers/%s/%s-json.log", c->cid,
		         c->cid);
		if (is_file_at(root_fd, path))
			r = logsrc_add(out, LOGSRC_STDIO, LOGFMT_DOCKER, path);
	}
	if (r == 0 && c->labels_json && strstr(c->labels_json, "io.kubernetes.pod.uid"))
		r = cri_files(root_fd, c, out);
	return r;
}

/* ---- VMs ------------------------------------------------------------------------- */

int logsrc_vm(int proc_fd, const struct vm_target *t, struct logsrc_list *out)
{
	char f[64], path[PATH_MAX];
	snprintf(f, sizeof(f), "%d/cmdline", t->pid);
	struct buf b = BUF_INIT;
	bool ok = read_file_at(proc_fd, f, &b, CMDLINE_MAX) > 0 &&
	          logsrc_qemu_console(b.data, b.len, path, sizeof(path));
	buf_free(&b);
	if (!ok)
		return 0;
	/* the QEMU process's user owns the file it writes */
	struct stat pst, fst;
	snprintf(f, sizeof(f), "%d", t->pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY);
	if (fd < 0)
		return 0;
	bool mine = fstatat(proc_fd, f, &pst, 0) == 0 && fstat(fd, &fst) == 0 &&
	            S_ISREG(fst.st_mode) && fst.st_uid == pst.st_uid;
	close(fd);
	return mine ? logsrc_add(out, LOGSRC_CONSOLE, LOGFMT_PLAIN, path) : 0;
}
