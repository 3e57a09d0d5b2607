/*
 * fuzz_proc.c - the parsers of a process's procfs files and of the files
 * read with them: /proc/PID/stat, status, cgroup (src/linux/proc_parse.c
 * and the container recognition of src/targets/cgroup_id.c), cgroup
 * "tasks" lists, cmdline, /proc/stat's btime, etc/passwd, the kernel
 * release, /proc/PID/maps (src/linux/maps_parse.c) and /proc/modules
 * (src/linux/modules_parse.c).  A hostile process names its comm, its
 * argv and (with a delegated tree) its cgroups as it likes.
 *
 * The first byte picks the parser (fuzz_pick):
 *   0 stat  1 status  2 cgroup  3 pid list  4 cmdline  5 /proc/stat
 *   6 passwd  7 kernel release  8 maps  9 modules
 * Seeds in fuzz/corpus/proc/: the real files of this machine's processes
 * (captured with fuzz/tools/proc_seeds.sh), each prefixed with its byte.
 */
#include "fuzz.h"

#include "linux/maps_parse.h"
#include "linux/modules_parse.h"
#include "linux/proc_parse.h"
#include "targets/cgroup_id.h"

#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

/* A span [p, p+n) lies inside [buf, buf+len). */
static void in_buf(const char *p, size_t n, const char *buf, size_t len)
{
	CHECK(p >= buf && n <= len && (size_t)(p - buf) <= len - n);
}

static void do_stat(const char *s, size_t n)
{
	struct proc_stat st;
	if (proc_parse_stat(s, n, &st) == 0)
		CHECK(memchr(st.comm, '\0', sizeof(st.comm)) != NULL);
}

static void do_status(const char *s, size_t n)
{
	struct proc_status st;
	if (proc_parse_status(s, n, &st) == 0)
		CHECK(st.have != 0);
}

static void check_cid(const struct cgroup_cid *c)
{
	CHECK(memchr(c->runtime, '\0', sizeof(c->runtime)));
	CHECK(memchr(c->id, '\0', sizeof(c->id)));
	CHECK(memchr(c->pod_uid, '\0', sizeof(c->pod_uid)));
}

static void do_cgroup(const char *s, size_t n)
{
	const char *p;
	size_t pl;
	struct proc_cgroup_shape sh;
	struct cgroup_cid cid;

	if (proc_cgroup_pick(s, n, &p, &pl) == 0)
		in_buf(p, pl, s, n);
	if (proc_cgroup_shape(s, n, &sh) == 0) {
		CHECK(sh.lines > 0);
		(void)proc_cgroup_choose(&sh, "/a", "/b");
		(void)proc_cgroup_choose(&sh, NULL, "/b");
		(void)proc_cgroup_choose(&sh, "/a", NULL);
	}
	if (cgroup_id_from_file(s, n, &cid, &p, &pl)) {
		check_cid(&cid);
		in_buf(p, pl, s, n);
		CHECK(cid.end <= pl);
	}
	if (cgroup_pick_path(s, n, &p, &pl) == 0)
		in_buf(p, pl, s, n);
	static const char *const ctrls[] = {"", "memory", "cpu", "freezer", "pids"};
	for (size_t i = 0; i < sizeof(ctrls) / sizeof(ctrls[0]); i++) {
		if (cgroup_controller_path(s, n, ctrls[i], &p, &pl) == 0)
			in_buf(p, pl, s, n);
		if (cgroup_container_path(s, n, ctrls[i], &p, &pl) >= 0)
			in_buf(p, pl, s, n);
	}
	/* each line's path alone, as the runtime watcher hands them */
	const char *e = s + n;
	for (const char *l = s; l < e;) {
		const char *nl = memchr(l, '\n', (size_t)(e - l));
		size_t ll = nl ? (size_t)(nl - l) : (size_t)(e - l);
		const char *c2 = memchr(l, ':', ll);
		const char *c3 = c2 ? memchr(c2 + 1, ':', ll - (size_t)(c2 + 1 - l)) : NULL;
		if (c3) {
			size_t plen = ll - (size_t)(c3 + 1 - l);
			if (cgroup_id_from_path(c3 + 1, plen, &cid)) {
				check_cid(&cid);
				CHECK(cid.end <= plen);
			}
		}
		l += ll + 1;
	}
}

static void do_pidlist(const char *s, size_t n)
{
	const char *p = s, *e = s + n;
	int pid;
	while (p < e && proc_pidlist_next(&p, e, &pid)) {
		CHECK(pid > 0);
		CHECK(p >= s && p <= e);
	}
}

static void do_cmdline(const char *s, size_t n)
{
	char *c = fuzz_strdup((const uint8_t *)s, n);
	size_t k = proc_cmdline_join(c, n);
	CHECK(k <= n);
	CHECK(c[n] == '\0');               /* buf[len] left alone */
	CHECK(memchr(c, '\0', k) == NULL); /* one line: every NUL inside became a space */
	for (size_t i = k; i < n; i++)     /* only the trailing NULs were dropped */
		CHECK(s[i] == '\0');
	free(c);
}

static void do_btime(const char *s, size_t n)
{
	int64_t bt;
	(void)proc_parse_btime(s, n, &bt);
}

static void do_passwd(const char *s, size_t n)
{
	const char *p = s, *e = s + n, *name;
	size_t nl;
	uint32_t uid;
	while (p < e && passwd_next(&p, e, &name, &nl, &uid)) {
		in_buf(name, nl, s, n);
		CHECK(p >= s && p <= e);
	}
}

static void do_release(const char *s, size_t n)
{
	char *c = fuzz_strdup((const uint8_t *)s, n);
	(void)proc_release_ge(c, 4, 18);
	(void)proc_release_ge(c, 0, 0);
	(void)proc_release_ge(c, 6, 2);
	free(c);
}

struct maps_ctx {
	const char *buf;
	size_t len;
	unsigned lines;
};

static int maps_cb(const struct maps_line *m, void *arg)
{
	struct maps_ctx *c = arg;
	CHECK(m->end > m->start);
	CHECK(m->perms[4] == '\0');
	in_buf(m->path, m->path_len, c->buf, c->len);
	(void)maps_path_is(m, "[heap]");
	(void)maps_path_starts(m, "/memfd:");
	c->lines++;
	return 0;
}

static void do_maps(const char *s, size_t n)
{
	struct maps_ctx c = {.buf = s, .len = n};
	(void)maps_for_each(s, n, maps_cb, &c);
}

struct mod_ctx {
	unsigned good, bad;
};

static int mod_cb(void *ctx, const struct vt_module *m)
{
	struct mod_ctx *c = ctx;
	CHECK(m->name && m->state && m->deps);
	/* the strings are NUL-terminated: strlen must not run off (ASan) */
	CHECK(strlen(m->name) + strlen(m->state) + strlen(m->deps) < MODULES_LINE_MAX * 3);
	c->good++;
	return 0;
}

static void mod_bad(void *ctx, unsigned lineno)
{
	struct mod_ctx *c = ctx;
	CHECK(lineno > 0);
	c->bad++;
}

static void do_modules(const char *s, size_t n)
{
	struct mod_ctx c = {0};
	(void)modules_parse(s, n, mod_cb, mod_bad, &c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned k = fuzz_pick(&data, &size, 10);
	/* an exact-size heap copy: ASan sees any read past the end */
	char *s = malloc(size ? size : 1);
	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	switch (k) {
	case 0:
		do_stat(s, size);
		break;
	case 1:
		do_status(s, size);
		break;
	case 2:
		do_cgroup(s, size);
		break;
	case 3:
		do_pidlist(s, size);
		break;
	case 4:
		do_cmdline(s, size);
		break;
	case 5:
		do_btime(s, size);
		break;
	case 6:
		do_passwd(s, size);
		break;
	case 7:
		do_release(s, size);
		break;
	case 8:
		do_maps(s, size);
		break;
	case 9:
		do_modules(s, size);
		break;
	}
	free(s);
	return 0;
}
