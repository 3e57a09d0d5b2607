/*
 * vms.c - QEMU guests found from /proc: which processes are QEMU, where
 * each guest's RAM is in its QEMU process (vm_maps_find_ram, over the
 * /proc/PID/maps lines of linux/maps_parse.c), libvirt's status files,
 * and the lookup by id.  See vms.h for what is read and the rules applied.
 *
 * The parsers live beside it: qemu_cmdline.c (QEMU option strings, sizes
 * and the command line) and libvirt_xml.c (the domain status scan).
 * Discovery reads each file once with a size bound and hands the bytes to
 * them.
 */
#include "vms.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../linux/maps_parse.h"
#include "../util/util.h"

#define CMDLINE_MAX (256 << 10) /* libvirt command lines run to ~20 KB */
#define MAPS_MAX (16 << 20)
#define XML_MAX (8 << 20) /* a domstatus with qemuCaps is ~200 KB */
#define MAX_VMS 4096

/* ---- the memory map -------------------------------------------------------- */

/* A mapping of the backend's file: mem-path itself, or the unlinked file
 * QEMU creates inside a mem-path directory. */
static bool is_backend_file(const struct maps_line *m, const char *mem_path)
{
	char dir[PATH_MAX + 32];
	if (maps_path_is(m, mem_path))
		return true;
	snprintf(dir, sizeof(dir), "%s/qemu_back_mem.", mem_path);
	return maps_path_starts(m, dir);
}

struct ram_search {
	uint64_t mem_bytes, slack;
	const struct vm_backend *b;
	const char *type;
	struct maps_line best;
	int kind; /* 1 exact file/memfd, 2 other file/memfd, 3 exact anon, 4 nearest anon */
};

static int ram_line(const struct maps_line *m, void *arg)
{
	struct ram_search *s = arg;
	const struct vm_backend *b = s->b;
	uint64_t sz = m->end - m->start;
	int k = 0;

	if (!maps_readable(m) || !maps_writable(m) || maps_executable(m))
		return 0;
	if (!strcmp(s->type, "file") && b->mem_path[0]) {
		if (is_backend_file(m, b->mem_path))
			k = sz == s->mem_bytes ? 1 : 2;
	} else if (!strcmp(s->type, "memfd")) {
		if (maps_path_starts(m, "/memfd:memory-backend-memfd"))
			k = sz == s->mem_bytes ? 1 : 2;
	} else if (!m->path_len) {
		if (sz == s->mem_bytes)
			k = 3;
		else if (sz > s->mem_bytes && sz - s->mem_bytes <= s->slack)
			k = 4;
	}
	if (!k)
		return 0;
	/* a better kind wins; within "other"/"nearest" the closest size */
	if (!s->kind || k < s->kind ||
	    (k == s->kind && (k == 2 || k == 4) && sz < s->best.end - s->best.start)) {
		s->best = *m;
		s->kind = k;
	}
	return 0;
}

int vm_maps_find_ram(const char *buf, size_t len, uint64_t mem_bytes, const struct vm_backend *b,
                     struct vm_ram_map *out)
{
	struct ram_search s = {.mem_bytes = mem_bytes,
	                       .slack = mem_bytes / 8 + (4ull << 20),
	                       .b = b,
	                       .type = b ? b->type : ""};

	memset(out, 0, sizeof(*out));
	if (!buf || !mem_bytes)
		return -ENOENT;
	maps_for_each(buf, len, ram_line, &s);
	if (!s.kind)
		return -ENOENT;
	out->addr = s.best.start;
	out->len = s.best.end - s.best.start;
	out->shared = maps_shared(&s.best);
	out->deleted = s.best.deleted;
	const char *how = s.kind <= 2   ? (!strcmp(s.type, "memfd") ? "memfd" : "mem-path")
	                  : s.kind == 3 ? "size"
	                                : "nearest";
	copy_str(out->how, sizeof(out->how), how, strlen(how));
	return 0;
}

/* ---- discovery ------------------------------------------------------------ */

static bool is_qemu_process(int proc_fd, const char *pid)
{
	char path[64], exe[PATH_MAX];
	snprintf(path, sizeof(path), "%s/exe", pid);
	ssize_t n = readlinkat(proc_fd, path, exe, sizeof(exe) - 1);
	if (n > 0) {
		static const char del[] = " (deleted)";
		if ((size_t)n > sizeof(del) - 1 &&
		    !memcmp(exe + n - (sizeof(del) - 1), del, sizeof(del) - 1))
			n -= sizeof(del) - 1;
		return vm_is_qemu_name(exe, (size_t)n);
	}
	snprintf(path, sizeof(path), "%s/comm", pid);
	char comm[64];
	n = read_small_at(proc_fd, path, comm, sizeof(comm));
	if (n <= 0)
		return false;
	while (n > 0 && comm[n - 1] == '\n')
		n--;
	return vm_is_qemu_name(comm, (size_t)n);
}

/* A relative socket path is relative to QEMU's working directory. */
static void absolute_qmp(int proc_fd, struct vm_target *t)
{
	char path[64], cwd[PATH_MAX], full[PATH_MAX + 110];
	if (!t->qmp_path[0] || t->qmp_path[0] == '/')
		return;
	snprintf(path, sizeof(path), "%d/cwd", t->pid);
	ssize_t n = readlinkat(proc_fd, path, cwd, sizeof(cwd) - 1);
	if (n <= 0)
		return;
	cwd[n] = 0;
	int w = snprintf(full, sizeof(full), "%s/%s", cwd, t->qmp_path);
	if (w > 0 && (size_t)w < sizeof(t->qmp_path))
		copy_str(t->qmp_path, sizeof(t->qmp_path), full, (size_t)w);
}

static void locate_ram(int proc_fd, struct vm_target *t, const struct vm_backend *b)
{
	char path[64];
	struct buf maps = BUF_INIT;
	struct vm_ram_map r;

	snprintf(path, sizeof(path), "%d/maps", t->pid);
	if (read_file_at(proc_fd, path, &maps, MAPS_MAX) > 0 &&
	    vm_maps_find_ram(maps.data, maps.len, t->mem_bytes, b, &r) == 0) {
		t->ram_addr = r.addr;
		t->ram_len = r.len;
		copy_str(t->ram_how, sizeof(t->ram_how), r.how, strlen(r.how));
		if (!strcmp(b->type, "file") && r.shared && !r.deleted &&
		    !strcmp(r.how, "mem-path"))
			copy_str(t->ram_path, sizeof(t->ram_path), b->mem_path,
			         strlen(b->mem_path));
	} else if (!strcmp(b->type, "file") && b->share && b->mem_path[0]) {
		/* maps unreadable: trust the command line for a shared file */
		struct stat st;
		if (stat(b->mem_path, &st) == 0 && S_ISREG(st.st_mode))
			copy_str(t->ram_path, sizeof(t->ram_path), b->mem_path,
			         strlen(b->mem_path));
	}
	buf_free(&maps);
}

static int describe(int proc_fd, int pid, struct vm_target *t)
{
	char path[64];
	struct buf cmd = BUF_INIT;
	struct vm_backend *b = calloc(1, sizeof(*b));
	int r;

	if (!b)
		return -ENOMEM;
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	snprintf(path, sizeof(path), "%d/cmdline", pid);
	r = (int)read_file_at(proc_fd, path, &cmd, CMDLINE_MAX);
	if (r > 0)
		r = vm_parse_cmdline(cmd.data, cmd.len, t, b);
	else if (r == 0)
		r = -ENOENT; /* a zombie */
	buf_free(&cmd);
	if (r == 0) {
		if (!t->name[0])
			snprintf(t->name, sizeof(t->name), "qemu-%d", pid);
		copy_str(t->source, sizeof(t->source), "qemu", 4);
		copy_str(t->state, sizeof(t->state), "running", 7);
		absolute_qmp(proc_fd, t);
		locate_ram(proc_fd, t, b);
	}
	free(b);
	return r;
}

/* Merge what libvirt's status files say into the guests found. */
static void merge_libvirt(int root_fd, struct vm_target *v, size_t n)
{
	int dfd = openat(root_fd, "run/libvirt/qemu", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	if (dfd < 0)
		return;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		struct stat st;
		if (l < 5 || strcmp(de->d_name + l - 4, ".xml") != 0 ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
			continue;
		struct buf xml = BUF_INIT;
		struct vm_libvirt lv;
		int fd =
		    openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		if (fd >= 0 && read_fd_bounded(fd, &xml, XML_MAX, NULL) > 0 &&
		    vm_parse_libvirt_xml(xml.data, xml.len, &lv) == 0 && lv.pid > 0) {
			for (size_t i = 0; i < n; i++) {
				struct vm_target *t = &v[i];
				if (t->pid != lv.pid)
					continue;
				copy_str(t->source, sizeof(t->source), "libvirt", 7);
				if (lv.name[0])
					copy_str(t->name, sizeof(t->name), lv.name,
					         strlen(lv.name));
				if (!t->uuid[0])
					copy_str(t->uuid, sizeof(t->uuid), lv.uuid,
					         strlen(lv.uuid));
				if (!t->machine[0])
					copy_str(t->machine, sizeof(t->machine), lv.machine,
					         strlen(lv.machine));
				if (!t->qmp_path[0])
					copy_str(t->qmp_path, sizeof(t->qmp_path), lv.monitor,
					         strlen(lv.monitor));
				if (lv.state[0])
					copy_str(t->state, sizeof(t->state), lv.state,
					         strlen(lv.state));
			}
		}
		if (fd >= 0)
			close(fd);
		buf_free(&xml);
	}
	closedir(d);
}

static int cmp_vm(const void *a, const void *b)
{
	const struct vm_target *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : (x->pid > y->pid) - (x->pid < y->pid);
}

int vms_discover_at(int proc_fd, int root_fd, struct vm_target **out, size_t *n)
{
	int dfd = openat(proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	struct vm_target *v = NULL;
	size_t cnt = 0, cap = 0;

	*out = NULL;
	*n = 0;
	if (dfd < 0)
		return -errno;
	d = fdopendir(dfd);
	if (!d) {
		int e = -errno;
		close(dfd);
		return e;
	}
	while ((de = readdir(d)) && cnt < MAX_VMS) {
		const char *p = de->d_name, *e = p + strlen(p);
		uint64_t pid;
		if (!parse_u64(&p, e, &pid) || p != e || pid == 0 || pid > INT32_MAX ||
		    !is_qemu_process(proc_fd, de->d_name))
			continue;
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 4;
			struct vm_target *nv = realloc(v, nc * sizeof(*v));
			if (!nv)
				break;
			v = nv, cap = nc;
		}
		if (describe(proc_fd, (int)pid, &v[cnt]) == 0)
			cnt++;
	}
	closedir(d);
	merge_libvirt(root_fd, v, cnt);
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_vm);
	else {
		free(v);
		v = NULL;
	}
	*out = v;
	*n = cnt;
	return 0;
}

int vms_discover(int proc_fd, struct vm_target **out, size_t *n)
{
	int root = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = vms_discover_at(proc_fd, root, out, n);
	if (root >= 0)
		close(root);
	return r;
}

const struct vm_target *vm_target_find(const struct vm_target *v, size_t n, const char *key)
{
	if (!key || !key[0])
		return NULL;
	if (!strncmp(key, "vm:", 3)) {
		struct system_id id;
		for (size_t i = 0; i < n; i++) {
			vm_identity(&v[i], &id);
			if (!strcmp(id.id, key))
				return &v[i];
		}
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (v[i].uuid[0] && !strcasecmp(v[i].uuid, key))
			return &v[i];
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].name, key))
			return &v[i];
	const char *p = key, *e = key + strlen(key);
	uint64_t pid;
	if (parse_u64(&p, e, &pid) && p == e)
		for (size_t i = 0; i < n; i++)
			if ((uint64_t)v[i].pid == pid)
				return &v[i];
	return NULL;
}

void vm_identity(const struct vm_target *t, struct system_id *out)
{
	memset(out, 0, sizeof(*out));
	if (gethostname(out->host, sizeof(out->host)) != 0 || !out->host[0])
		copy_str(out->host, sizeof(out->host), "localhost", 9);
	out->host[sizeof(out->host) - 1] = 0;
	snprintf(out->id, sizeof(out->id), "vm:%s", t->uuid[0] ? t->uuid : t->name);
	copy_str(out->name, sizeof(out->name), t->name, strlen(t->name));
	copy_str(out->kind, sizeof(out->kind), "vm", 2);
	copy_str(out->runtime, sizeof(out->runtime), t->source, strlen(t->source));
}
