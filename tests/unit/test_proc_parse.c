/*
 * Unit tests: the procfs parsers (stat, status, cgroup, cmdline, btime,
 * passwd, kernel release) fed good, malformed, truncated and hostile
 * input, every input copied into an exact-size heap block so ASan catches
 * any read past its end; then procfs_processes() and the passwd cache
 * over a fake procfs and root built in a temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <dirent.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "under_valgrind.h"

#include "views/fsroot.h"
#include "views/host/host.h"
#include "../../src/linux/proc_parse.h"

/* An exact-size copy (no terminator) of the first n bytes of s. */
static char *exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);
	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

static int stat_of(const char *s, size_t n, struct proc_stat *st)
{
	char *p = exact(s, n);
	int r = proc_parse_stat(p, n, st);
	free(p);
	return r;
}

#define STAT_TAIL                                                                                  \
	" S 1 4583 2342 0 -1 4194304 97 0 0 0 250 75 0 0 20 0 3 0 33634 3133440 384 "              \
	"18446744073709551615 94659391410176 0 0 0 17 1 0 0 0 0 0\n"

static void stat_good(void **state)
{
	const char *s = "4587 (cat)" STAT_TAIL;
	struct proc_stat st;

	assert_int_equal(stat_of(s, strlen(s), &st), 0);
	assert_int_equal(st.pid, 4587);
	assert_string_equal(st.comm, "cat");
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 1);
	assert_int_equal(st.flags, 4194304);
	assert_int_equal(st.utime, 250);
	assert_int_equal(st.stime, 75);
	assert_int_equal(st.threads, 3);
	assert_int_equal(st.starttime, 33634);
	assert_int_equal(st.vsize, 3133440);
	assert_int_equal(st.rss, 384);
}

static void stat_comm_parens(void **state)
{
	const char *s = "77 (a b) (c)" STAT_TAIL;
	struct proc_stat st;

	assert_int_equal(stat_of(s, strlen(s), &st), 0);
	assert_int_equal(st.pid, 77);
	assert_string_equal(st.comm, "a b) (c");
	assert_int_equal(st.ppid, 1);
	assert_int_equal(st.rss, 384);

	s = "78 ()) S)" STAT_TAIL;
	assert_int_equal(stat_of(s, strlen(s), &st), 0);
	assert_string_equal(st.comm, ")) S");

	s = "79 ()" STAT_TAIL;
	assert_int_equal(stat_of(s, strlen(s), &st), 0);
	assert_string_equal(st.comm, "");
}

static void stat_comm_newline(void **state)
{
	const char *s = "80 (x\ny 1 2)" STAT_TAIL;
	struct proc_stat st;

	assert_int_equal(stat_of(s, strlen(s), &st), 0);
	assert_string_equal(st.comm, "x\ny 1 2");
	assert_int_equal(st.starttime, 33634);
}

static void stat_long_comm(void **state)
{
	char s[512];
	struct proc_stat st;

	memset(s, 'q', sizeof(s));
	memcpy(s, "5 (", 3);
	snprintf(s + 300, sizeof(s) - 300, ")%s", STAT_TAIL);
	assert_int_equal(stat_of(s, strlen(s), &st), 0);
	assert_int_equal(strlen(st.comm), sizeof(st.comm) - 1);
	assert_int_equal(st.ppid, 1);
}

static void stat_truncated(void **state)
{
	const char *s = "4587 (cat)" STAT_TAIL;
	size_t full = strlen(s), n;
	struct proc_stat st;

	/* Every cut that ends before field 24 is complete must fail; the
	 * field 24 value "384" must never come out cut. */
	for (n = 0; n < full; n++) {
		int r = stat_of(s, n, &st);
		if (r == 0)
			assert_int_equal(st.rss, 384);
	}
	assert_int_equal(stat_of(s, 0, &st), -EINVAL);
	assert_int_equal(stat_of(s, 20, &st), -EINVAL);
	assert_int_equal(proc_parse_stat(NULL, 0, &st), -EINVAL);
}

static void stat_garbage(void **state)
{
	static const char *const bad[] = {
	    "",
	    "\n",
	    "garbage",
	    "12 cat S 1 2 3",
	    ")(",
	    "12 (cat",
	    "12 cat)" STAT_TAIL,
	    "x (cat)" STAT_TAIL,
	    "-1 (cat)" STAT_TAIL,
	    "99999999999 (cat)" STAT_TAIL,
	    "12 (cat)S 1 2",
	    "12 (cat)  S 1",
	    "12 (cat) SS 1 4583 2342 0 -1 4194304 97 0 0 0 250 75 0 0 20 0 3 0 33634 1 2\n",
	    "12 (cat) S x 4583 2342 0 -1 4194304 97 0 0 0 250 75 0 0 20 0 3 0 33634 1 2\n",
	    "12 (cat) S 1 4583 2342 0 -1 4194304 97 0 0 0 -250 75 0 0 20 0 3 0 33634 1 2\n",
	    "12 (cat) S 1 4583 2342 0 -1 4194304 97 0 0 0 250 75 0 0 20 0 3 0 33634 1 2x\n",
	    /* huge: utime overflows uint64 */
	    "12 (cat) S 1 4583 2342 0 -1 4194304 97 0 0 0 99999999999999999999999 75 0 0 20 0 3 "
	    "0 33634 1 2\n",
	    /* ppid above INT_MAX */
	    "12 (cat) S 4294967296 4583 2342 0 -1 4194304 97 0 0 0 1 75 0 0 20 0 3 0 33634 1 2\n",
	    "12 (cat) S 1 4583 2342 0 -1 4194304 97 0 0 0 250 75 0 0 20 0 3 0 33634 1\n",
	};
	struct proc_stat st;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(stat_of(bad[i], strlen(bad[i]), &st), -EINVAL);

	/* The largest values that fit are accepted. */
	const char *big = "2147483647 (x) S 2147483647 0 0 0 -1 0 0 0 0 0 "
	                  "18446744073709551615 0 0 0 20 0 1 0 1 18446744073709551615 7\n";
	assert_int_equal(stat_of(big, strlen(big), &st), 0);
	assert_int_equal(st.pid, 2147483647);
	assert_true(st.utime == UINT64_MAX);
	assert_true(st.vsize == UINT64_MAX);
}

/* Random bytes and random cuts of good input: never crash. */
static void stat_fuzz(void **state)
{
	const char *s = "77 (a b) (c)" STAT_TAIL;
	size_t full = strlen(s);
	struct proc_stat st;
	struct proc_status ps;
	unsigned seed = 12345;
	char b[256];

	for (int i = 0; i < 20000; i++) {
		size_t n = (size_t)rand_r(&seed) % sizeof(b);
		memcpy(b, s, n < full ? n : full);
		for (size_t k = 0; k < n; k++)
			if (k >= full || rand_r(&seed) % 8 == 0)
				b[k] = "0123456789 ()\n\t:-aSkB"[rand_r(&seed) % 21];
		(void)stat_of(b, n, &st);
		char *p = exact(b, n);
		(void)proc_parse_status(p, n, &ps);
		const char *path;
		size_t len;
		(void)proc_cgroup_pick(p, n, &path, &len);
		int64_t bt;
		(void)proc_parse_btime(p, n, &bt);
		const char *q = p, *name;
		size_t nl;
		uint32_t uid;
		while (passwd_next(&q, p + n, &name, &nl, &uid))
			assert_true(name >= p && name + nl <= p + n);
		free(p);
	}
}

static int status_of(const char *s, size_t n, struct proc_status *st)
{
	char *p = exact(s, n);
	int r = proc_parse_status(p, n, st);
	free(p);
	return r;
}

static const char status_text[] =
    "Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4588\nNgid:\t0\n"
    "Pid:\t4588\nPPid:\t4583\nTracerPid:\t0\nUid:\t1000\t1001\t1002\t1003\n"
    "Gid:\t0\t0\t0\t0\nFDSize:\t256\nGroups:\t \nNStgid:\t4588\t12\n"
    "NSpid:\t4588\t12\nNSpgid:\t4583\t1\nNSsid:\t2342\t1\nKthread:\t0\n"
    "VmPeak:\t    3060 kB\nVmSize:\t    3060 kB\nVmRSS:\t    1624 kB\n"
    "Threads:\t7\nSigQ:\t0/96365\n";

static void status_good(void **state)
{
	struct proc_status st;

	assert_int_equal(status_of(status_text, strlen(status_text), &st), 0);
	assert_int_equal(st.have, PS_UID | PS_NSPID | PS_THREADS | PS_RSS | PS_VSZ | PS_PPID);
	assert_int_equal(st.uid, 1000);
	assert_int_equal(st.nspid, 12);
	assert_int_equal(st.ppid, 4583);
	assert_int_equal(st.threads, 7);
	assert_int_equal(st.rss_kb, 1624);
	assert_int_equal(st.vsz_kb, 3060);
}

static void status_kthread(void **state)
{
	const char *s = "Name:\tkthreadd\nPPid:\t0\nUid:\t0\t0\t0\t0\nNSpid:\t2\nThreads:\t1\n";
	struct proc_status st;

	assert_int_equal(status_of(s, strlen(s), &st), 0);
	assert_int_equal(st.have, PS_UID | PS_NSPID | PS_THREADS | PS_PPID);
	assert_int_equal(st.nspid, 2);
}

static void status_truncated(void **state)
{
	size_t full = strlen(status_text);
	struct proc_status st;

	/* A cut line is never used: no value is ever read half. */
	for (size_t n = 0; n <= full; n++) {
		int r = status_of(status_text, n, &st);
		if (r < 0) {
			assert_int_equal(st.have, 0);
			continue;
		}
		if (st.have & PS_UID)
			assert_int_equal(st.uid, 1000);
		if (st.have & PS_NSPID)
			assert_int_equal(st.nspid, 12);
		if (st.have & PS_RSS)
			assert_int_equal(st.rss_kb, 1624);
		if (st.have & PS_THREADS)
			assert_int_equal(st.threads, 7);
	}
	/* "Uid:\t1000\t1001" cut after "Uid:\t10": no uid. */
	const char *cut = "Uid:\t10";
	assert_int_equal(status_of(cut, strlen(cut), &st), -EINVAL);
}

static void status_garbage(void **state)
{
	static const char *const bad[] = {
	    "",
	    "\n\n\n",
	    "Uid:\n",
	    "Uid:\tabc\n",
	    "Uid:\t-1\t0\n",
	    "Uid:\t4294967296\t0\t0\t0\n",
	    "Uid:\t12x\n",
	    "Threads:\t99999999999999999999999\n",
	    "VmRSS:\t 12 MB\n",
	    "NSpid:\t1\tx\n",
	    "NSpid:\t2147483648\n",
	    "Uidx:\t0\n",
	    "uid:\t0\n",
	};
	struct proc_status st;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(status_of(bad[i], strlen(bad[i]), &st), -EINVAL);
	assert_int_equal(status_of("\0\0\0\0", 4, &st), -EINVAL);

	const char *big = "Uid:\t4294967295\t0\t0\t0\nVmRSS:\t18446744073709551615 kB\n";
	assert_int_equal(status_of(big, strlen(big), &st), 0);
	assert_true(st.uid == UINT32_MAX);
	assert_true(st.rss_kb == UINT64_MAX);
}

static int pick(const char *s, char *out, size_t cap)
{
	size_t n = strlen(s), len;
	const char *path;
	char *p = exact(s, n);
	int r = proc_cgroup_pick(p, n, &path, &len);
	if (r == 0) {
		assert_true(path >= p && path + len <= p + n);
		assert_true(len < cap);
		memcpy(out, path, len);
		out[len] = 0;
	}
	free(p);
	return r;
}

static void cgroup_pick(void **state)
{
	char out[256];

	assert_int_equal(pick("0::/system.slice/ssh.service\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/system.slice/ssh.service");

	/* Hybrid: unified "/" loses to the memory controller. */
	assert_int_equal(pick("9:name=systemd:/\n4:memory:/process_api/bc46\n3:cpuset:/\n0::/\n",
	                      out, sizeof(out)),
	                 0);
	assert_string_equal(out, "/process_api/bc46");
	assert_int_equal(pick("5:cpu,memory,pids:/docker/abc\n0::/\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/docker/abc");
	/* "memoryx" is not "memory". */
	assert_int_equal(pick("5:memoryx:/no\n6:cpu:/first\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/no");

	/* Unified path set wins over memory. */
	assert_int_equal(pick("4:memory:/m\n0::/u\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/u");

	/* Pure v2 at the root. */
	assert_int_equal(pick("0::/\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/");

	/* v1 without memory: the first line. */
	assert_int_equal(pick("3:cpu:/a\n2:pids:/b\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/a");

	/* No trailing newline; colons inside the path. */
	assert_int_equal(pick("0::/a:b:c", out, sizeof(out)), 0);
	assert_string_equal(out, "/a:b:c");

	/* Garbage. */
	assert_int_equal(pick("", out, sizeof(out)), -EINVAL);
	assert_int_equal(pick("\n\n", out, sizeof(out)), -EINVAL);
	assert_int_equal(pick("nothing here\n", out, sizeof(out)), -EINVAL);
	assert_int_equal(pick("0:\n", out, sizeof(out)), -EINVAL);
	assert_int_equal(pick("::/x\n", out, sizeof(out)), -EINVAL);
	assert_int_equal(pick("1::\n", out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

static int shape_of(const char *s, struct proc_cgroup_shape *sh)
{
	size_t n = strlen(s);
	char *p = exact(s, n);
	int r = proc_cgroup_shape(p, n, sh);
	free(p);
	return r;
}

/* proc_cgroup_choose() from the paths of the unified and memory lines
 * must give what proc_cgroup_pick() gives from the whole file, or NULL. */
static void cgroup_choose(void **state)
{
	static const struct {
		const char *file, *v2, *mem, *want; /* want NULL: cannot tell */
		unsigned lines;
	} cases[] = {
	    {"0::/system.slice/ssh.service\n", "/system.slice/ssh.service", NULL,
	     "/system.slice/ssh.service", 1},
	    {"9:name=systemd:/\n4:memory:/process_api/bc46\n3:cpuset:/\n0::/\n", "/",
	     "/process_api/bc46", "/process_api/bc46", 4},
	    {"5:cpu,memory,pids:/docker/abc\n0::/\n", "/", "/docker/abc", "/docker/abc", 2},
	    {"4:memory:/m\n0::/u\n", "/u", "/m", "/u", 2},
	    {"0::/\n", "/", NULL, "/", 1},
	    {"4:memory:/m\n", NULL, "/m", "/m", 1},
	    {"3:cpu:/a\n0::/x\n", "/x", NULL, "/x", 2},
	    {"0::/\n0::/y\n", "/", NULL, "/", 2},     /* a second "0::" is no unified line */
	    {"3:cpu:/a\n0::/\n", "/", NULL, NULL, 2}, /* the first line's path: unknown */
	    {"3:cpu:/a\n2:pids:/b\n", NULL, NULL, NULL, 2},
	    {"junk\n4:memoryx:/no\n0::/z", "/z", NULL, "/z", 2},
	};
	struct proc_cgroup_shape sh;
	char out[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got;

		assert_int_equal(shape_of(cases[i].file, &sh), 0);
		assert_int_equal(sh.lines, cases[i].lines);
		got = proc_cgroup_choose(&sh, cases[i].v2, cases[i].mem);
		if (!cases[i].want) {
			assert_null(got);
			continue;
		}
		assert_non_null(got);
		assert_string_equal(got, cases[i].want);
		assert_int_equal(pick(cases[i].file, out, sizeof(out)), 0);
		assert_string_equal(got, out);
	}

	/* Hybrid with the unified path unknown, or "/" and memory's unknown. */
	assert_int_equal(shape_of("4:memory:/m\n0::/\n", &sh), 0);
	assert_true(sh.v2 && sh.memory && sh.first == PCG_FIRST_MEMORY);
	assert_null(proc_cgroup_choose(&sh, NULL, "/m"));
	assert_null(proc_cgroup_choose(&sh, "/", NULL));
	assert_string_equal(proc_cgroup_choose(&sh, "/u", NULL), "/u");

	/* Garbage and truncation never read past the end. */
	assert_int_equal(shape_of("", &sh), -EINVAL);
	assert_int_equal(shape_of("\n\n", &sh), -EINVAL);
	assert_int_equal(shape_of("nothing here\n", &sh), -EINVAL);
	assert_int_equal(proc_cgroup_shape(NULL, 0, &sh), -EINVAL);
	const char *hy = "9:name=systemd:/\n4:memory:/process_api/bc46\n0::/\n";
	for (size_t n = 0; n <= strlen(hy); n++) {
		char *p = exact(hy, n);
		(void)proc_cgroup_shape(p, n, &sh);
		free(p);
	}
}

/* Every id proc_pidlist_next() finds in the first n bytes of s. */
static int pidlist(const char *s, size_t n, int *out, int cap)
{
	char *p = exact(s, n);
	const char *q = p;
	int k = 0, pid;

	while (proc_pidlist_next(&q, p + n, &pid)) {
		assert_true(k < cap);
		assert_true(q <= p + n);
		out[k++] = pid;
	}
	assert_true(q == p + n);
	free(p);
	return k;
}

static void pidlist_parse(void **state)
{
	int v[16];
	const char *s;

	s = "1\n2\n300\n";
	assert_int_equal(pidlist(s, strlen(s), v, 16), 3);
	assert_int_equal(v[0], 1);
	assert_int_equal(v[1], 2);
	assert_int_equal(v[2], 300);

	/* Malformed lines are skipped; the last line may lack its '\n'. */
	s = "1\nx\n\n 5\n6 \n12a\n7";
	assert_int_equal(pidlist(s, strlen(s), v, 16), 2);
	assert_int_equal(v[0], 1);
	assert_int_equal(v[1], 7);

	/* Out of range. */
	s = "0\n-1\n99999999999999999999999\n2147483647\n2147483648\n";
	assert_int_equal(pidlist(s, strlen(s), v, 16), 1);
	assert_int_equal(v[0], 2147483647);

	assert_int_equal(pidlist("", 0, v, 16), 0);
	s = "123\n456\n";
	for (size_t n = 0; n <= strlen(s); n++)
		assert_true(pidlist(s, n, v, 16) <= 2);
}

static void status_nspid_levels(void **state)
{
	struct proc_status st;
	const char *s = "NSpid:\t42\t7\t1\n";

	assert_int_equal(status_of(s, strlen(s), &st), 0);
	assert_int_equal(st.nspid, 1);
	assert_int_equal(st.nspid_levels, 3);
	s = "NSpid:\t42\n";
	assert_int_equal(status_of(s, strlen(s), &st), 0);
	assert_int_equal(st.nspid_levels, 1);
}

static void cmdline_join(void **state)
{
	char a[] = "sleep\0"
	           "1000\0";
	assert_int_equal(proc_cmdline_join(a, sizeof(a) - 1), 10);
	assert_memory_equal(a, "sleep 1000", 10);

	char b[] = "a\0\0b\0\0\0";
	assert_int_equal(proc_cmdline_join(b, sizeof(b) - 1), 4);
	assert_memory_equal(b, "a  b", 4);

	char c[] = "setproctitle: no nuls  ";
	assert_int_equal(proc_cmdline_join(c, strlen(c)), strlen(c));

	char d[] = "\0\0\0";
	assert_int_equal(proc_cmdline_join(d, 3), 0);
	assert_int_equal(proc_cmdline_join(d, 0), 0);
}

static int btime_of(const char *s, int64_t *out)
{
	size_t n = strlen(s);
	char *p = exact(s, n);
	int r = proc_parse_btime(p, n, out);
	free(p);
	return r;
}

static void btime(void **state)
{
	int64_t t = 0;

	assert_int_equal(
	    btime_of("cpu  1 2 3\nintr 1 2\nctxt 9\nbtime 1763784000\nprocesses 5\n", &t), 0);
	assert_int_equal(t, 1763784000);
	assert_int_equal(btime_of("btime 12", &t), 0);
	assert_int_equal(t, 12);
	assert_int_equal(btime_of("", &t), -EINVAL);
	assert_int_equal(btime_of("btime\n", &t), -EINVAL);
	assert_int_equal(btime_of("btime x\n", &t), -EINVAL);
	assert_int_equal(btime_of("btime 12x\n", &t), -EINVAL);
	assert_int_equal(btime_of("xbtime 12\n", &t), -EINVAL);
	assert_int_equal(btime_of("btime 99999999999999999999\n", &t), -EINVAL);
	assert_int_equal(btime_of("btime 9223372036854775808\n", &t), -EINVAL);
}

static void passwd_lines(void **state)
{
	const char *text = "root:x:0:0:root:/root:/bin/bash\n"
	                   "# comment:x:5:5\n"
	                   "\n"
	                   "broken line\n"
	                   "nouid:x::0::/:/bin/sh\n"
	                   ":x:7:7::/:/bin/sh\n"
	                   "+nis:x:8:8\n"
	                   "big:x:4294967296:0::/:/bin/sh\n"
	                   "neg:x:-1:0::/:/bin/sh\n"
	                   "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	                   "nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n"
	                   "last:x:42";
	size_t n = strlen(text);
	char *p = exact(text, n);
	const char *q = p, *name;
	size_t nl;
	uint32_t uid;

	assert_true(passwd_next(&q, p + n, &name, &nl, &uid));
	assert_int_equal(nl, 4);
	assert_memory_equal(name, "root", 4);
	assert_int_equal(uid, 0);
	assert_true(passwd_next(&q, p + n, &name, &nl, &uid));
	assert_memory_equal(name, "daemon", 6);
	assert_int_equal(uid, 1);
	assert_true(passwd_next(&q, p + n, &name, &nl, &uid));
	assert_memory_equal(name, "nobody", 6);
	assert_int_equal(uid, 65534);
	/* "last:x:42" has no ':' after the uid: cut, not used. */
	assert_false(passwd_next(&q, p + n, &name, &nl, &uid));
	assert_false(passwd_next(&q, p + n, &name, &nl, &uid));
	free(p);

	q = "";
	assert_false(passwd_next(&q, q, &name, &nl, &uid));
}

static void release_ge(void **state)
{
	assert_true(proc_release_ge("6.2.0", 6, 2));
	assert_true(proc_release_ge("6.18.44-fc-v769", 6, 2));
	assert_true(proc_release_ge("7.0", 6, 2));
	assert_false(proc_release_ge("6.1.0-18-amd64", 6, 2));
	assert_false(proc_release_ge("5.19", 6, 2));
	assert_true(proc_release_ge("6", 6, 0));
	assert_false(proc_release_ge("", 6, 2));
	assert_false(proc_release_ge("x6.3", 6, 2));
	assert_false(proc_release_ge(NULL, 6, 2));
	assert_false(proc_release_ge("99999999999999999999999.1", 6, 2));
}

/* ---- fake procfs and root ----------------------------------------------- */

static char tmpdir[] = "/tmp/vantage-proc-test.XXXXXX";

static void put(const char *rel, const char *content, size_t n)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, n), (ssize_t)n);
	close(fd);
}

static void mk(const char *rel)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	assert_int_equal(mkdir(path, 0755), 0);
}

static void ln(const char *target, const char *rel)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	assert_int_equal(symlink(target, path), 0);
}

/* Builds:
 *   proc/stat            btime 1000000000
 *   proc/10/             a full process, comm "a b) (c", uid 1000, 2 fds
 *   proc/11/             stat only (status, cmdline, cgroup missing)
 *   proc/12/             garbage stat -> error hook
 *   proc/13/             no stat at all -> exited, skipped silently
 *   proc/self, proc/sys  non-numeric, ignored
 *   root/etc/passwd      root=0, alice=1000 twice (first wins)
 */
static int setup_fake(void **state)
{
	assert_non_null(mkdtemp(tmpdir));
	mk("proc");
	mk("proc/sys");
	mk("root");
	mk("root/etc");
	const char *pw = "root:x:0:0::/root:/bin/sh\nalice:x:1000:1000::/home:/bin/sh\n"
	                 "alias:x:1000:1000::/:/bin/sh\nbob:x:1001:1001::/:/bin/sh\n";
	put("root/etc/passwd", pw, strlen(pw));
	const char *pst = "cpu 1 2 3\nbtime 1000000000\n";
	put("proc/stat", pst, strlen(pst));

	mk("proc/10");
	const char *st = "10 (a b) (c) S 1 10 10 0 -1 4194304 0 0 0 0 250 50 0 0 20 0 1 0 "
	                 "500 4096000 100 0 0 0\n";
	put("proc/10/stat", st, strlen(st));
	const char *ss = "Name:\ta b) (c\nPPid:\t1\nUid:\t1000\t0\t0\t0\nNSpid:\t10\t3\n"
	                 "VmSize:\t    4000 kB\nVmRSS:\t     400 kB\nThreads:\t1\n";
	put("proc/10/status", ss, strlen(ss));
	put("proc/10/cmdline",
	    "sleep\0"
	    "1000\0",
	    11);
	put("proc/10/cgroup", "4:memory:/m\n0::/u/v\n", 20);
	ln("/usr/bin/sleep", "proc/10/exe");
	ln("/tmp", "proc/10/cwd");
	mk("proc/10/fd");
	ln("/dev/null", "proc/10/fd/0");
	ln("/dev/null", "proc/10/fd/1");

	mk("proc/11");
	const char *st11 = "11 (lonely) Z 10 0 0 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 0 0\n";
	put("proc/11/stat", st11, strlen(st11));
	ln("/nonexistent-target-is-fine", "proc/11/exe");

	mk("proc/12");
	put("proc/12/stat", "garbage", 7);

	mk("proc/13");
	return 0;
}

static int teardown_fake(void **state)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

struct seen {
	int n;
	int errors;
	int error_pid;
	int error_err;
	struct vt_proc p10, p11;
	char cmdline[64], exe[64], cwd[64], cgroup[64], user[32];
};

static void on_error(void *ctx, const char *what, int err)
{
	struct seen *s = ctx;
	s->errors++;
	assert_int_equal(sscanf(what, "pid %d", &s->error_pid), 1);
	s->error_err = err;
}

static int on_proc(void *ctx, const struct vt_proc *p)
{
	struct seen *s = ctx;
	s->n++;
	if (p->pid == 10) {
		s->p10 = *p;
		snprintf(s->cmdline, sizeof(s->cmdline), "%.*s", (int)p->cmdline_len, p->cmdline);
		snprintf(s->exe, sizeof(s->exe), "%s", p->exe);
		snprintf(s->cwd, sizeof(s->cwd), "%s", p->cwd);
		snprintf(s->cgroup, sizeof(s->cgroup), "%s", p->cgroup);
		snprintf(s->user, sizeof(s->user), "%s", p->user ? p->user : "(null)");
	} else if (p->pid == 11) {
		s->p11 = *p;
	}
	return 0;
}

static void fake_procfs(void **state)
{
	char path[512];
	struct fsroot fs;
	struct seen s = {0};
	struct view_iter it = {.ctx = &s, .error = on_error};

	snprintf(path, sizeof(path), "%s/root", tmpdir);
	assert_int_equal(fsroot_init(&fs, path), 0);
	struct passwd_cache *users = passwd_cache_new(&fs);
	assert_non_null(users);
	assert_string_equal(passwd_cache_name(users, 0), "root");
	assert_string_equal(passwd_cache_name(users, 1000), "alice");
	assert_string_equal(passwd_cache_name(users, 1001), "bob");
	assert_null(passwd_cache_name(users, 5));

	snprintf(path, sizeof(path), "%s/proc", tmpdir);
	int pfd = open(path, O_RDONLY | O_DIRECTORY);
	assert_true(pfd >= 0);
	assert_int_equal(procfs_processes(pfd, users, NULL, NULL, &it, on_proc), 0);

	assert_int_equal(s.n, 2);
	assert_int_equal(s.errors, 1);
	assert_int_equal(s.error_pid, 12);
	assert_int_equal(s.error_err, EINVAL);

	const struct vt_proc *p = &s.p10;
	assert_int_equal(p->err, 0);
	assert_string_equal(p->comm, "a b) (c");
	assert_int_equal(p->ppid, 1);
	assert_int_equal(p->nspid, 3);
	assert_int_equal(p->uid, 1000);
	assert_string_equal(s.user, "alice");
	assert_string_equal(s.cmdline, "sleep 1000");
	assert_int_equal(p->cmdline_len, 10);
	assert_string_equal(s.exe, "/usr/bin/sleep");
	assert_string_equal(s.cwd, "/tmp");
	assert_string_equal(s.cgroup, "/u/v");
	assert_int_equal(p->state, 'S');
	long hz = sysconf(_SC_CLK_TCK);
	assert_int_equal(p->start_time, 1000000000 + 500 / hz);
	assert_true(p->cpu_user_s > 250.0 / hz - 0.001 && p->cpu_user_s < 250.0 / hz + 0.001);
	assert_int_equal(p->rss_kb, 400);
	assert_int_equal(p->vsz_kb, 4000);
	assert_int_equal(p->threads, 1);
	assert_true(p->have & VP_FDS);
	assert_int_equal(p->have, VP_PPID | VP_NSPID | VP_UID | VP_COMM | VP_CMDLINE | VP_EXE |
	                              VP_CWD | VP_STATE | VP_START | VP_THREADS | VP_RSS | VP_VSZ |
	                              VP_CPU | VP_FDS | VP_CGROUP | VP_USER);

	/* stat only: the record is kept, marked, with what stat gave. */
	p = &s.p11;
	assert_int_equal(p->err, ESRCH);
	assert_true(p->have & VP_COMM);
	assert_true(p->have & VP_EXE); /* a dangling link is still a link */
	assert_false(p->have & (VP_UID | VP_CMDLINE | VP_CGROUP | VP_CWD | VP_USER));
	assert_int_equal(p->state, 'Z');
	assert_int_equal(p->ppid, 10);

	/* A filter keeps only what it accepts; no users -> no names. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(procfs_processes(pfd, NULL, NULL, NULL, &it, on_proc), 0);
	assert_string_equal(s.user, "(null)");
	assert_false(s.p10.have & VP_USER);

	close(pfd);
	passwd_cache_free(users);
	fsroot_fini(&fs);
}

static bool only_11(void *ctx, int pid)
{
	return pid == 11;
}

static int stop_cb(void *ctx, const struct vt_proc *p)
{
	return 42;
}

static void fake_filter_and_stop(void **state)
{
	char path[512];
	struct seen s = {0};
	struct view_iter it = {.ctx = &s, .error = on_error};

	snprintf(path, sizeof(path), "%s/proc", tmpdir);
	int pfd = open(path, O_RDONLY | O_DIRECTORY);
	assert_true(pfd >= 0);
	assert_int_equal(procfs_processes(pfd, NULL, only_11, NULL, &it, on_proc), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.errors, 0);
	assert_int_equal(s.p11.pid, 11);

	/* A callback's non-zero return stops the walk and is returned. */
	assert_int_equal(procfs_processes(pfd, NULL, NULL, NULL, NULL, stop_cb), 42);
	close(pfd);

	/* Not a directory. */
	assert_true(procfs_processes(-1, NULL, NULL, NULL, NULL, stop_cb) < 0);
}

static void passwd_missing(void **state)
{
	char path[512];
	struct fsroot fs;

	snprintf(path, sizeof(path), "%s/proc", tmpdir); /* no etc/passwd here */
	assert_int_equal(fsroot_init(&fs, path), 0);
	struct passwd_cache *users = passwd_cache_new(&fs);
	assert_non_null(users);
	assert_null(passwd_cache_name(users, 0));
	passwd_cache_free(users);
	fsroot_fini(&fs);
	assert_null(passwd_cache_name(NULL, 0));
	passwd_cache_free(NULL);
}

/* The real /proc: ourselves, with every field. */
static int find_self(void *ctx, const struct vt_proc *p)
{
	struct seen *s = ctx;
	s->n++;
	if (p->pid == getpid()) {
		s->p10 = *p;
		snprintf(s->exe, sizeof(s->exe), "%s", p->exe ? p->exe : "");
	}
	return 0;
}

static void real_proc(void **state)
{
	struct seen s = {0};
	struct view_iter it = {.ctx = &s, .error = on_error};
	int pfd = open("/proc", O_RDONLY | O_DIRECTORY);

	assert_true(pfd >= 0);
	assert_int_equal(procfs_processes(pfd, NULL, NULL, NULL, &it, find_self), 0);
	close(pfd);
	assert_true(s.n > 1);
	assert_int_equal(s.p10.pid, getpid());
	assert_int_equal(s.p10.ppid, getppid());
	assert_int_equal(s.p10.uid, getuid());
	assert_int_equal(s.p10.nspid, getpid());
	/* R, or S when other threads read while this one waits. */
	assert_true(s.p10.state == 'R' || s.p10.state == 'S');
	/* the kernel's link: under valgrind, the tool's binary, not ours */
	assert_true(strstr(s.exe, RUNNING_ON_VALGRIND ? "memcheck" : "test_proc_parse") != NULL);
	assert_true(s.p10.have & VP_FDS);
	assert_true(s.p10.fds >= 3);
	assert_true(s.p10.have & VP_CGROUP);
	assert_true(s.p10.rss_kb > 0);
}

/* Many processes: the walk runs on worker threads and may take cgroup
 * paths from the cgroup map.  Records still come one at a time, in
 * ascending pid order, and every cgroup is the one the file gives.
 * Other tests and services move processes between cgroups while this
 * one runs, and the map is a snapshot: a process counts only when its
 * file reads the same before the walk and at its record.  That misses
 * a process moved away and back, so this test's own children, which
 * never move, must all count and all agree; of the others, one in ten
 * may differ (a map gone wrong would have most of them differ). */
struct cg_before {
	pid_t pid;
	char *path;
};

struct many {
	int n, last_pid, ordered, children, cg_checked, cg_kids_checked, cg_bad, cg_kids_bad;
	pid_t lo, hi;
	int stop_after;
	struct cg_before *before;
	size_t nbefore;
};

/* The picked cgroup path of process `pid` into `out`, or -1. */
static int read_cg_path(pid_t pid, char *out, size_t cap)
{
	char path[64], buf[8192];
	const char *cg;
	size_t len;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	if ((fd = open(path, O_RDONLY)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || proc_cgroup_pick(buf, (size_t)n, &cg, &len) != 0 || len >= cap)
		return -1;
	memcpy(out, cg, len);
	out[len] = 0;
	return 0;
}

static int cmp_before(const void *a, const void *b)
{
	pid_t x = ((const struct cg_before *)a)->pid, y = ((const struct cg_before *)b)->pid;

	return (x > y) - (x < y);
}

/* Every process's cgroup path now, sorted by pid. */
static void snapshot_cgroups(struct many *m)
{
	char want[4096], *end;
	struct dirent *de;
	DIR *d = opendir("/proc");
	size_t cap = 0;

	assert_non_null(d);
	while ((de = readdir(d))) {
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || read_cg_path((pid_t)pid, want, sizeof(want)) < 0)
			continue;
		if (m->nbefore == cap) {
			cap = cap ? cap * 2 : 512;
			m->before = realloc(m->before, cap * sizeof(*m->before));
			assert_non_null(m->before);
		}
		m->before[m->nbefore].pid = (pid_t)pid;
		m->before[m->nbefore].path = strdup(want);
		assert_non_null(m->before[m->nbefore++].path);
	}
	closedir(d);
	qsort(m->before, m->nbefore, sizeof(*m->before), cmp_before);
}

static void free_snapshot(struct many *m)
{
	for (size_t i = 0; i < m->nbefore; i++)
		free(m->before[i].path);
	free(m->before);
	m->before = NULL;
	m->nbefore = 0;
}

enum { KIDS = 300 };
static pid_t kids[KIDS];
static char dirs[3][128]; /* the cgroups made, ndirs of them */
static int ndirs;

/* Directories made for half of the children, so that the map must tell
 * cgroups apart: one in the memory hierarchy of v1 and one in v2 (the
 * layouts that proc_cgroup_pick() chooses from). */
static const char *const cg_bases[] = {"/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified",
                                       "/sys/fs/cgroup"};

/* Make a cgroup for this test under each base that takes one; its
 * paths go to dirs[], their count is returned. */
static int make_test_cgroups(void)
{
	char probe[160];
	int n = 0;

	for (size_t i = 0; i < sizeof(cg_bases) / sizeof(cg_bases[0]); i++) {
		struct stat st;

		/* /sys/fs/cgroup counts only when it is the v2 root itself. */
		snprintf(probe, sizeof(probe), "%s/cgroup.procs", cg_bases[i]);
		if (stat(probe, &st) < 0)
			continue;
		snprintf(dirs[n], 128, "%s/vt-procmany-%d", cg_bases[i], (int)getpid());
		if (mkdir(dirs[n], 0755) == 0)
			n++;
	}
	return n;
}

/* Move process `pid` into every directory of dirs[]; 0 when all took it. */
static int move_to(pid_t pid)
{
	char path[sizeof(dirs) + 16], val[16];
	int r = 0;

	for (int i = 0; i < ndirs; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/cgroup.procs", dirs[i]);
		snprintf(val, sizeof(val), "%d", (int)pid);
		fd = open(path, O_WRONLY);
		if (fd < 0 || write(fd, val, strlen(val)) < 0)
			r = -1;
		if (fd >= 0)
			close(fd);
	}
	return r;
}

static int on_many(void *ctx, const struct vt_proc *p)
{
	struct many *m = ctx;
	struct cg_before key = {.pid = p->pid}, *was;
	char want[4096];
	int kid = p->pid >= m->lo && p->pid <= m->hi && p->ppid == getpid();

	m->n++;
	if (p->pid <= m->last_pid)
		m->ordered = 0;
	m->last_pid = p->pid;
	if (kid)
		m->children++;
	was = m->nbefore ? bsearch(&key, m->before, m->nbefore, sizeof(key), cmp_before) : NULL;
	if (was && read_cg_path(p->pid, want, sizeof(want)) == 0 && strcmp(was->path, want) == 0) {
		m->cg_checked++;
		m->cg_kids_checked += kid;
		if (!(p->have & VP_CGROUP) || strcmp(p->cgroup, want) != 0) {
			m->cg_bad++;
			m->cg_kids_bad += kid;
		}
	}
	return m->stop_after && m->n == m->stop_after ? 7 : 0;
}

/* Kill the children and remove the cgroups: at the test's end, and at
 * exit when an assertion left it early. */
static void many_cleanup(void)
{
	for (int i = 0; i < KIDS; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGKILL);
	for (int i = 0; i < KIDS; i++)
		if (kids[i] > 0)
			waitpid(kids[i], NULL, 0);
	memset(kids, 0, sizeof(kids));
	for (int i = 0; i < ndirs; i++)
		if (rmdir(dirs[i]) < 0)
			fprintf(stderr, "# rmdir %s: %s\n", dirs[i], strerror(errno));
	ndirs = 0;
}

static void real_proc_many(void **state)
{
	struct many m = {.ordered = 1};
	struct view_iter it = {.ctx = &m};
	int pfd = open("/proc", O_RDONLY | O_DIRECTORY);

	assert_true(pfd >= 0);
	atexit(many_cleanup);
	for (int i = 0; i < KIDS; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			/* Never outlive a failed test, nor hold its output. */
			int null = open("/dev/null", O_RDWR);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			dup2(null, 1);
			dup2(null, 2);
			alarm(60);
			pause();
			_exit(0);
		}
	}
	/* Half of them in cgroups of their own (root can make them). */
	ndirs = make_test_cgroups();
	if (geteuid() == 0)
		assert_true(ndirs > 0);
	for (int i = 1; i < KIDS && ndirs; i += 2)
		assert_int_equal(move_to(kids[i]), 0);
	m.lo = kids[0];
	m.hi = kids[0];
	for (int i = 0; i < KIDS; i++) {
		if (kids[i] < m.lo)
			m.lo = kids[i];
		if (kids[i] > m.hi)
			m.hi = kids[i];
	}
	snapshot_cgroups(&m);
	assert_int_equal(procfs_processes(pfd, NULL, NULL, NULL, &it, on_many), 0);
	free_snapshot(&m);
	assert_true(m.n > KIDS);
	assert_true(m.ordered);
	assert_int_equal(m.children, KIDS);
	assert_int_equal(m.cg_kids_checked, KIDS);
	assert_int_equal(m.cg_kids_bad, 0);
	assert_true(m.cg_checked > KIDS);
	if (m.cg_bad > m.cg_checked / 10)
		fail_msg("%d of %d processes' cgroups differ from their files", m.cg_bad,
		         m.cg_checked);

	/* A non-zero return stops the threaded walk and is returned. */
	memset(&m, 0, sizeof(m));
	m.ordered = 1;
	m.stop_after = 50;
	assert_int_equal(procfs_processes(pfd, NULL, NULL, NULL, &it, on_many), 7);
	assert_int_equal(m.n, 50);

	many_cleanup();
	close(pfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(stat_good),           cmocka_unit_test(stat_comm_parens),
	    cmocka_unit_test(stat_comm_newline),   cmocka_unit_test(stat_long_comm),
	    cmocka_unit_test(stat_truncated),      cmocka_unit_test(stat_garbage),
	    cmocka_unit_test(stat_fuzz),           cmocka_unit_test(status_good),
	    cmocka_unit_test(status_kthread),      cmocka_unit_test(status_truncated),
	    cmocka_unit_test(status_garbage),      cmocka_unit_test(cgroup_pick),
	    cmocka_unit_test(cgroup_choose),       cmocka_unit_test(pidlist_parse),
	    cmocka_unit_test(status_nspid_levels), cmocka_unit_test(real_proc_many),
	    cmocka_unit_test(cmdline_join),        cmocka_unit_test(btime),
	    cmocka_unit_test(passwd_lines),        cmocka_unit_test(release_ge),
	    cmocka_unit_test(fake_procfs),         cmocka_unit_test(fake_filter_and_stop),
	    cmocka_unit_test(passwd_missing),      cmocka_unit_test(real_proc),
	};
	int r = setup_fake(NULL);
	if (r)
		return r;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	teardown_fake(NULL);
	return r;
}
