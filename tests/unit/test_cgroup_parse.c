/*
 * Unit tests: the cgroup counter parsers (one-value files, limits with
 * "max" and v1's huge "unlimited", flat keyed files, v2 io.stat, v1 blkio)
 * fed good, malformed and truncated input in exact-size heap blocks; then
 * cgroup_mounts_open() and cgroup_read() over fake v1, v2 and hybrid
 * hierarchies built in a temporary directory (mount points found through
 * a fake mountinfo, one of them with an escaped space); effective limits
 * (the tightest of a cgroup and its ancestors) on v1 and v2 trees, files
 * kept open between reads, and which pids a cgroup holds.
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
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "views/host/cgroup.h"
#include "../../src/linux/stats_parse.h"

static char *exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);
	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

#define CALL(fn, s, ...)                                                                           \
	({                                                                                         \
		size_t n_ = strlen(s);                                                             \
		char *p_ = exact(s, n_);                                                           \
		int r_ = fn(p_, n_, __VA_ARGS__);                                                  \
		free(p_);                                                                          \
		r_;                                                                                \
	})

/* ---- parsers ----------------------------------------------------------------- */

static void one_value(void **state)
{
	uint64_t v;
	assert_int_equal(CALL(cg_parse_u64, "53837824\n", &v), 0);
	assert_int_equal(v, 53837824);
	assert_int_equal(CALL(cg_parse_u64, "  7  ", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(CALL(cg_parse_u64, "", &v), -EINVAL);
	assert_int_equal(CALL(cg_parse_u64, "\n", &v), -EINVAL);
	assert_int_equal(CALL(cg_parse_u64, "max", &v), -EINVAL);
	assert_int_equal(CALL(cg_parse_u64, "12 13", &v), -EINVAL);
	assert_int_equal(CALL(cg_parse_u64, "-5", &v), -EINVAL);
	assert_int_equal(CALL(cg_parse_u64, "18446744073709551616", &v), -EINVAL);
	assert_int_equal(CALL(cg_parse_u64, "18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
}

static void limits(void **state)
{
	uint64_t v;
	assert_int_equal(CALL(cg_parse_limit, "max\n", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(CALL(cg_parse_limit, "-1\n", &v), 0);
	assert_true(v == UINT64_MAX);
	/* v1's "unlimited": LONG_MAX rounded down to the page size */
	assert_int_equal(CALL(cg_parse_limit, "9223372036854771712\n", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(CALL(cg_parse_limit, "9223372036854710272\n", &v), 0); /* 64K pages */
	assert_true(v == UINT64_MAX);
	assert_int_equal(CALL(cg_parse_limit, "536870912\n", &v), 0);
	assert_int_equal(v, 536870912);
	assert_int_equal(CALL(cg_parse_limit, "1000", &v), 0);
	assert_int_equal(v, 1000);
	assert_int_equal(CALL(cg_parse_limit, "", &v), -EINVAL);
	assert_int_equal(CALL(cg_parse_limit, "maximum", &v), -EINVAL);
	assert_int_equal(CALL(cg_parse_limit, "ma", &v), -EINVAL);
	assert_int_equal(CALL(cg_parse_limit, "-2", &v), -EINVAL);
}

static const char CPU_STAT_V2[] = "usage_usec 22621590\n"
                                  "user_usec 12330933\n"
                                  "system_usec 10290657\n"
                                  "nr_periods 10\n"
                                  "nr_throttled 2\n"
                                  "throttled_usec 5000\n";

static void keyed(void **state)
{
	uint64_t v;
	assert_int_equal(CALL(cg_parse_keyed, CPU_STAT_V2, "usage_usec", &v), 0);
	assert_int_equal(v, 22621590);
	assert_int_equal(CALL(cg_parse_keyed, CPU_STAT_V2, "throttled_usec", &v), 0);
	assert_int_equal(v, 5000);
	/* a key is a whole token: "user" is not "user_usec" */
	assert_int_equal(CALL(cg_parse_keyed, CPU_STAT_V2, "user", &v), -ENOENT);
	assert_int_equal(CALL(cg_parse_keyed, CPU_STAT_V2, "usage", &v), -ENOENT);
	assert_int_equal(CALL(cg_parse_keyed, "", "x", &v), -ENOENT);
	assert_int_equal(CALL(cg_parse_keyed, "cache x\n", "cache", &v), -EINVAL);
	assert_int_equal(CALL(cg_parse_keyed, "cache\n", "cache", &v), -EINVAL);
	assert_int_equal(CALL(cg_parse_keyed, "cache -1\n", "cache", &v), -EINVAL);
	/* v1 cpuacct.stat, no final newline */
	assert_int_equal(CALL(cg_parse_keyed, "user 1275\nsystem 1062", "system", &v), 0);
	assert_int_equal(v, 1062);
	/* truncated at every length: found, absent or refused */
	for (size_t k = 0; k <= sizeof(CPU_STAT_V2) - 1; k++) {
		char *p = exact(CPU_STAT_V2, k);
		int r = cg_parse_keyed(p, k, "throttled_usec", &v);
		assert_true(r == 0 || r == -ENOENT || r == -EINVAL);
		free(p);
	}
}

static void io_stat(void **state)
{
	struct cg_io io;
	const char *s = "8:0 rbytes=1000 wbytes=2000 rios=10 wios=20 dbytes=5 dios=1\n"
	                "253:1 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0 newkey=7\n";
	assert_int_equal(CALL(cg_parse_io_stat, s, &io), 2);
	assert_int_equal(io.read_bytes, 1001);
	assert_int_equal(io.write_bytes, 2002);
	assert_int_equal(io.read_ops, 13);
	assert_int_equal(io.write_ops, 24);
	/* empty: no I/O yet */
	assert_int_equal(CALL(cg_parse_io_stat, "", &io), 0);
	assert_int_equal(io.read_bytes, 0);
	/* saturating sums */
	assert_int_equal(
	    CALL(cg_parse_io_stat, "8:0 rbytes=18446744073709551615\n8:1 rbytes=5\n", &io), 2);
	assert_true(io.read_bytes == UINT64_MAX);
	/* malformed */
	assert_int_equal(CALL(cg_parse_io_stat, "sda rbytes=1\n", &io), -EINVAL);
	assert_int_equal(CALL(cg_parse_io_stat, "8:0 rbytes\n", &io), -EINVAL);
	assert_int_equal(CALL(cg_parse_io_stat, "8:0 rbytes=x\n", &io), -EINVAL);
	assert_int_equal(CALL(cg_parse_io_stat, "8:0 rbytes=\n", &io), -EINVAL);
	for (size_t k = 0; k <= strlen(s); k++) {
		char *p = exact(s, k);
		int r = cg_parse_io_stat(p, k, &io);
		assert_true(r >= -EINVAL && r <= 2);
		free(p);
	}
}

static void blkio(void **state)
{
	uint64_t r, w;
	const char *s = "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 100\n8:0 Async 200\n"
	                "8:0 Discard 0\n8:0 Total 12288\n"
	                "8:16 Read 1\n8:16 Write 2\n8:16 Total 3\nTotal 12291\n";
	assert_int_equal(CALL(cg_parse_blkio, s, &r, &w), 2);
	assert_int_equal(r, 4097);
	assert_int_equal(w, 8194);
	/* the root of this machine: nothing but the grand total */
	assert_int_equal(CALL(cg_parse_blkio, "Total 0\n", &r, &w), 0);
	assert_int_equal(r, 0);
	assert_int_equal(CALL(cg_parse_blkio, "", &r, &w), 0);
	assert_int_equal(CALL(cg_parse_blkio, "8:0 Read\n", &r, &w), -EINVAL);
	assert_int_equal(CALL(cg_parse_blkio, "8:0 Read x\n", &r, &w), -EINVAL);
	assert_int_equal(CALL(cg_parse_blkio, "Total\n", &r, &w), -EINVAL);
	assert_int_equal(CALL(cg_parse_blkio, "garbage here 1\n", &r, &w), -EINVAL);
	for (size_t k = 0; k <= strlen(s); k++) {
		char *p = exact(s, k);
		int x = cg_parse_blkio(p, k, &r, &w);
		assert_true(x >= -EINVAL && x <= 2);
		free(p);
	}
}

/* ---- fake hierarchies ----------------------------------------------------------- */

static char tmp[256];

static void put(const char *rel, const char *text)
{
	char path[512], *slash;
	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	/* mkdir -p of the parent */
	for (slash = path + strlen(tmp) + 1; (slash = strchr(slash, '/')); slash++) {
		*slash = 0;
		mkdir(path, 0755);
		*slash = '/';
	}
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	strcpy(tmp, "/tmp/vantage-cgtest.XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	/* v2 hierarchy at "v2 mnt" (a space, escaped in mountinfo) */
	put("v2 mnt/cpu.stat", CPU_STAT_V2);
	put("v2 mnt/io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n");
	put("v2 mnt/memory.stat", "anon 4096\nfile 8192\nkernel 1\n");
	put("v2 mnt/app.slice/web.service/cpu.stat", "usage_usec 5\nuser_usec 3\nsystem_usec 2\n");
	put("v2 mnt/app.slice/web.service/memory.current", "1048576\n");
	put("v2 mnt/app.slice/web.service/memory.max", "max\n");
	put("v2 mnt/app.slice/web.service/memory.stat", "anon 1\nfile 2\n");
	put("v2 mnt/app.slice/web.service/io.stat", "");
	put("v2 mnt/app.slice/web.service/pids.current", "12\n");
	put("v2 mnt/app.slice/web.service/pids.max", "100\n");
	put("v2 mnt/bad/memory.current", "garbage\n");
	put("v2 mnt/bad/memory.max", "\n");
	/* v1 controllers */
	put("v1/cpuacct/cpuacct.usage", "23371809218\n");
	put("v1/cpuacct/cpuacct.stat", "user 1275\nsystem 1062\n");
	put("v1/cpu/cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n");
	put("v1/memory/memory.usage_in_bytes", "53837824\n");
	put("v1/memory/memory.limit_in_bytes", "9223372036854771712\n");
	put("v1/memory/memory.stat", "cache 1\nrss 2\ntotal_cache 42106880\ntotal_rss 11755520\n");
	put("v1/blkio/blkio.throttle.io_service_bytes_recursive",
	    "8:0 Read 10\n8:0 Write 20\n8:0 Total 30\nTotal 30\n");
	put("v1/blkio/blkio.throttle.io_serviced_recursive",
	    "8:0 Read 1\n8:0 Write 2\n8:0 Total 3\nTotal 3\n");
	put("v1/blkio/blkio.throttle.io_service_bytes", "Total 0\n");
	put("v1/pids/.keep", "");
	put("v1/memory/docker/abc/memory.usage_in_bytes", "4096\n");
	put("v1/memory/docker/abc/memory.limit_in_bytes", "536870912\n");
	put("v1/pids/docker/abc/pids.current", "3\n");
	put("v1/pids/docker/abc/pids.max", "max\n");
	put("v1/cpuacct/docker/abc/cpuacct.usage", "99\n");
	put("v1/cpuacct/docker/abc/cpuacct.usage_user", "60\n");
	put("v1/cpuacct/docker/abc/cpuacct.usage_sys", "39\n");
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) == 0 ? 0 : -1;
}

/* A fake proc dir with `mountinfo` holding `lines` (%s = tmp). */
static int fake_proc(const char *lines)
{
	char text[4096], dir[512];
	snprintf(text, sizeof(text), lines, tmp, tmp, tmp, tmp, tmp, tmp, tmp, tmp);
	put("proc/mountinfo", text);
	snprintf(dir, sizeof(dir), "%s/proc", tmp);
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	return fd;
}

static const char HYBRID[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / %s/v1/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / %s/v1/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "35 31 0:32 / %s/v1/memory rw,relatime - cgroup cgroup rw,memory\n"
    "38 31 0:35 / %s/v1/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / %s/v1/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / %s/v1/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / %s/v2\\040mnt rw,relatime shared:9 - cgroup2 cgroup2 rw\n"
    "99 1 0:1 / /broken\n";

static void mounts_hybrid(void **state)
{
	struct cgroup_mounts m;
	struct vt_cgroup cg;
	int pfd = fake_proc(HYBRID);
	assert_int_equal(cgroup_mounts_open(pfd, "mountinfo", -1, &m), 0);
	assert_true(cgroup_mounts_any(&m));
	assert_true(m.v2_fd >= 0);
	for (int c = 0; c < CG_NCTRL; c++)
		assert_true(m.v1_fd[c] >= 0);

	/* the root: CPU, memory, I/O from v1; nothing v2-only to add */
	assert_int_equal(cgroup_read(&m, "/", 0, &cg), 0);
	assert_int_equal(cg.version, 1);
	assert_true(cg.have & VC_CPU);
	assert_int_equal(cg.cpu_usage_ns, 23371809218ULL);
	long hz = sysconf(_SC_CLK_TCK);
	assert_int_equal(cg.cpu_user_ns, 1275ULL * (1000000000ULL / (uint64_t)hz));
	assert_true(cg.have & VC_THROTTLE);
	assert_int_equal(cg.mem_usage, 53837824);
	assert_true(cg.mem_limit == UINT64_MAX);
	assert_int_equal(cg.mem_cache, 42106880); /* hierarchical total_ */
	assert_int_equal(cg.mem_anon, 11755520);
	assert_true(cg.have & VC_IO);
	assert_int_equal(cg.io_read_bytes, 10); /* _recursive first */
	assert_int_equal(cg.io_write_ops, 2);
	assert_false(cg.have & (VC_PIDS | VC_PIDSLIMIT)); /* none at the root */

	/* v2 only: its own root counters */
	assert_int_equal(cgroup_read(&m, "/", 2, &cg), 0);
	assert_int_equal(cg.version, 2);
	assert_int_equal(cg.cpu_usage_ns, 22621590000ULL);
	assert_int_equal(cg.cpu_system_ns, 10290657000ULL);
	assert_true(cg.have & VC_THROTTLE);
	assert_int_equal(cg.throttled_ns, 5000000);
	assert_int_equal(cg.io_write_bytes, 200);
	assert_int_equal(cg.mem_cache, 8192);
	assert_int_equal(cg.mem_anon, 4096);
	assert_false(cg.have & VC_MEM); /* no memory.current at a root */

	/* a container's cgroup, v1 */
	assert_int_equal(cgroup_read(&m, "/docker/abc", 1, &cg), 0);
	assert_int_equal(cg.cpu_usage_ns, 99);
	assert_int_equal(cg.cpu_user_ns, 60);
	assert_int_equal(cg.cpu_system_ns, 39);
	assert_int_equal(cg.mem_limit, 536870912);
	assert_int_equal(cg.pids_current, 3);
	assert_true(cg.pids_limit == UINT64_MAX);
	assert_false(cg.have & VC_IO);

	/* bad paths */
	assert_int_equal(cgroup_read(&m, "/docker/../..", 0, &cg), -EINVAL);
	assert_int_equal(cgroup_read(&m, "..", 0, &cg), -EINVAL);
	assert_int_equal(cgroup_read(&m, "docker", 0, &cg), -EINVAL);
	assert_int_equal(cgroup_read(&m, NULL, 0, &cg), -EINVAL);
	assert_int_equal(cgroup_read(&m, "/no/such", 0, &cg), -ENOENT);
	/* ".." inside a name is fine (and absent here) */
	assert_int_equal(cgroup_read(&m, "/a..b", 0, &cg), -ENOENT);
	cgroup_mounts_close(&m);
	close(pfd);
}

static void mounts_pure_v2(void **state)
{
	struct cgroup_mounts m;
	struct vt_cgroup cg;
	int pfd = fake_proc("29 23 0:26 / %s/v2\\040mnt rw,nosuid - cgroup2 cgroup2 "
	                    "rw,nsdelegate,memory_recursiveprot\n");
	assert_int_equal(cgroup_mounts_open(pfd, "mountinfo", -1, &m), 0);
	assert_true(m.v2_fd >= 0);
	assert_true(m.v1_fd[CG_CPU] < 0 && m.v1_fd[CG_MEMORY] < 0);

	assert_int_equal(cgroup_read(&m, "/app.slice/web.service", 0, &cg), 0);
	assert_int_equal(cg.version, 2);
	assert_int_equal(cg.cpu_usage_ns, 5000);
	assert_false(cg.have & VC_THROTTLE);
	assert_int_equal(cg.mem_usage, 1048576);
	assert_true(cg.mem_limit == UINT64_MAX);
	assert_int_equal(cg.mem_anon, 1);
	assert_true(cg.have & VC_IO); /* empty io.stat: zero I/O */
	assert_int_equal(cg.io_read_bytes, 0);
	assert_int_equal(cg.pids_current, 12);
	assert_int_equal(cg.pids_limit, 100);
	/* trailing slash, doubled slashes */
	assert_int_equal(cgroup_read(&m, "/app.slice//web.service/", 0, &cg), 0);
	assert_int_equal(cg.pids_current, 12);
	/* garbage counter files are left out, not trusted */
	assert_int_equal(cgroup_read(&m, "/bad", 0, &cg), -ENOENT);
	/* only v1 asked: nothing */
	assert_int_equal(cgroup_read(&m, "/", 1, &cg), -ENOENT);
	cgroup_mounts_close(&m);
	close(pfd);
}

static void mounts_subtree_root(void **state)
{
	/* Inside a cgroup namespace the mount shows only a subtree: paths
	 * are given from the hierarchy's root and the mount root stripped. */
	struct cgroup_mounts m;
	struct vt_cgroup cg;
	int pfd = fake_proc("29 23 0:26 /app.slice %s/v2\\040mnt rw - cgroup2 cgroup2 rw\n");
	assert_int_equal(cgroup_mounts_open(pfd, "mountinfo", -1, &m), 0);
	assert_string_equal(m.v2_root, "/app.slice");
	/* The mount shows the hierarchy's /app.slice, so the hierarchy path
	 * /app.slice/app.slice/web.service is <mount>/app.slice/web.service. */
	assert_int_equal(cgroup_read(&m, "/app.slice/app.slice/web.service", 0, &cg), 0);
	assert_int_equal(cg.pids_current, 12);
	assert_int_equal(cgroup_read(&m, "/other.slice/x", 0, &cg), -EINVAL);
	assert_int_equal(cgroup_read(&m, "/app.slicex", 0, &cg), -EINVAL);
	cgroup_mounts_close(&m);
	close(pfd);
}

static void mounts_none(void **state)
{
	struct cgroup_mounts m;
	struct vt_cgroup cg;
	int pfd = fake_proc("22 27 0:21 / /proc rw,relatime - proc proc rw\n"
	                    "garbage line\n"
	                    "41 31 0:38 / /does/not/exist rw - cgroup2 cgroup2 rw\n");
	assert_int_equal(cgroup_mounts_open(pfd, "mountinfo", -1, &m), 0);
	assert_false(cgroup_mounts_any(&m));
	assert_int_equal(cgroup_read(&m, "/", 0, &cg), -ENOENT);
	cgroup_mounts_close(&m);
	assert_int_equal(cgroup_mounts_open(pfd, "no-such-file", -1, &m), -ENOENT);
	close(pfd);
}

/* ---- the container's own cgroup, effective limits, kept files ------------------- */

#define SCOPE "machine.slice/libpod-abc.scope"

/* Pure v2 (podman with crun: the container's processes in SCOPE/container):
 * limits on the scope and on machine.slice. */
static void v2_effective_limits(void **state)
{
	struct cgroup_mounts m;
	struct cgroup_dirs *d;
	struct vt_cgroup cg;
	put("v2a/memory.max", "1000\n"); /* the hierarchy's root: never a limit */
	put("v2a/machine.slice/memory.max", "1073741824\n");
	put("v2a/machine.slice/pids.max", "50\n");
	put("v2a/machine.slice/cpu.max", "200000 100000\n");
	put("v2a/" SCOPE "/cpu.stat", "usage_usec 7\nuser_usec 4\nsystem_usec 3\n");
	put("v2a/" SCOPE "/cpu.max", "max 100000\n");
	put("v2a/" SCOPE "/memory.current", "4096\n");
	put("v2a/" SCOPE "/memory.max", "max\n");
	put("v2a/" SCOPE "/memory.stat", "anon 1\nfile 2\n");
	put("v2a/" SCOPE "/io.stat", "");
	put("v2a/" SCOPE "/pids.current", "2\n");
	put("v2a/" SCOPE "/pids.max", "max\n");
	put("v2a/" SCOPE "/container/memory.current", "1024\n");
	int pfd = fake_proc("29 23 0:26 / %s/v2a rw - cgroup2 cgroup2 rw\n");
	assert_int_equal(cgroup_mounts_open(pfd, "mountinfo", -1, &m), 0);

	assert_int_equal(cgroup_dirs_open(&m, "/" SCOPE, 0, &d), 0);
	assert_int_equal(cgroup_dirs_nfiles(d), 0); /* opened on first need */
	assert_int_equal(cgroup_dirs_read(d, &cg), 0);
	assert_int_equal(cg.version, 2);
	assert_int_equal(cg.mem_usage, 4096); /* the scope's, sub-cgroup included */
	assert_int_equal(cg.mem_limit, 1073741824);
	assert_true(cg.mem_limit_own == UINT64_MAX);
	assert_int_equal(cg.pids_limit, 50);
	assert_true(cg.pids_limit_own == UINT64_MAX);
	assert_true(cg.have & VC_CPULIMIT);
	assert_true(cg.cpu_limit == 2.0);
	assert_true(cg.cpu_limit_own == 0);
	int held = cgroup_dirs_nfiles(d);
	assert_true(held >= 10); /* the scope's files and machine.slice's limits */

	/* the files are kept: new contents are read through them */
	put("v2a/" SCOPE "/memory.current", "8192\n");
	put("v2a/" SCOPE "/memory.max", "536870912\n");
	put("v2a/" SCOPE "/cpu.max", "50000 100000\n");
	put("v2a/machine.slice/pids.max", "garbage\n"); /* unreadable: not a limit */
	assert_int_equal(cgroup_dirs_read(d, &cg), 0);
	assert_int_equal(cgroup_dirs_nfiles(d), held);
	assert_int_equal(cg.mem_usage, 8192);
	assert_int_equal(cg.mem_limit, 536870912); /* the tighter, its own */
	assert_int_equal(cg.mem_limit_own, 536870912);
	assert_true(cg.pids_limit == UINT64_MAX);
	assert_true(cg.cpu_limit == 0.5 && cg.cpu_limit_own == 0.5);
	cgroup_dirs_close(d);

	/* the cgroup2 file alone, its own limits only */
	int dfd = open(tmp, O_RDONLY | O_DIRECTORY);
	int sfd = openat(dfd, "v2a/" SCOPE, O_RDONLY | O_DIRECTORY);
	assert_true(sfd >= 0);
	memset(&cg, 0, sizeof(cg));
	assert_int_equal(cgroup_read_v2(sfd, &cg), 0);
	assert_int_equal(cg.mem_limit, 536870912);
	assert_true(cg.pids_limit == UINT64_MAX);
	close(sfd);
	close(dfd);
	cgroup_mounts_close(&m);
	close(pfd);
}

#define KPOD "kubepods/burstable/pod1234abcd"

/* v1 (plus an empty cgroup2 mount, hybrid): the memory limit from
 * hierarchical_memory_limit, CPU quota and pids limit from the pod. */
static void v1_effective_limits(void **state)
{
	struct cgroup_mounts m;
	struct cgroup_dirs *d;
	struct vt_cgroup cg;
	put("v1a/cpu/" KPOD "/cpu.cfs_quota_us", "150000\n");
	put("v1a/cpu/" KPOD "/cpu.cfs_period_us", "100000\n");
	put("v1a/cpu/" KPOD "/c1/cpu.cfs_quota_us", "-1\n");
	put("v1a/cpu/" KPOD "/c1/cpu.cfs_period_us", "100000\n");
	put("v1a/cpu/" KPOD "/c1/cpu.stat", "nr_periods 5\nnr_throttled 1\nthrottled_time 9\n");
	put("v1a/cpuacct/" KPOD "/c1/cpuacct.usage", "77\n");
	put("v1a/memory/" KPOD "/c1/memory.usage_in_bytes", "65536\n");
	put("v1a/memory/" KPOD "/c1/memory.limit_in_bytes", "9223372036854771712\n");
	put("v1a/memory/" KPOD "/c1/memory.stat",
	    "cache 1\nrss 2\nhierarchical_memory_limit 268435456\ntotal_cache 10\ntotal_rss 20\n");
	put("v1a/pids/kubepods/pids.max", "1000\n");
	put("v1a/pids/" KPOD "/c1/pids.current", "5\n");
	put("v1a/pids/" KPOD "/c1/pids.max", "max\n");
	put("v1a/unified/" KPOD "/c1/cgroup.procs", "");
	int pfd = fake_proc("32 31 0:29 / %s/v1a/cpu rw - cgroup cgroup rw,cpu\n"
	                    "33 31 0:30 / %s/v1a/cpuacct rw - cgroup cgroup rw,cpuacct\n"
	                    "35 31 0:32 / %s/v1a/memory rw - cgroup cgroup rw,memory\n"
	                    "39 31 0:36 / %s/v1a/pids rw - cgroup cgroup rw,pids\n"
	                    "41 31 0:38 / %s/v1a/unified rw - cgroup2 cgroup2 rw\n");
	assert_int_equal(cgroup_mounts_open(pfd, "mountinfo", -1, &m), 0);

	assert_int_equal(cgroup_dirs_open(&m, "/" KPOD "/c1", 0, &d), 0);
	assert_int_equal(cgroup_dirs_read(d, &cg), 0);
	assert_int_equal(cg.version, 1);
	assert_int_equal(cg.cpu_usage_ns, 77);
	assert_int_equal(cg.nr_throttled, 1);
	assert_int_equal(cg.mem_usage, 65536);
	assert_int_equal(cg.mem_limit, 268435456); /* set on an ancestor */
	assert_true(cg.mem_limit_own == UINT64_MAX);
	assert_int_equal(cg.mem_cache, 10);
	assert_int_equal(cg.pids_limit, 1000);
	assert_true(cg.pids_limit_own == UINT64_MAX);
	assert_true(cg.cpu_limit == 1.5);
	assert_true(cg.cpu_limit_own == 0);
	cgroup_dirs_close(d);

	/* one path per hierarchy; memory not read at all */
	struct cgroup_paths p = {{0}};
	p.path[CG_CPU] = "/" KPOD;
	p.path[CG_PIDS] = "/" KPOD "/c1";
	assert_int_equal(cgroup_dirs_open_paths(&m, &p, &d), 0);
	assert_int_equal(cgroup_dirs_read(d, &cg), 0);
	assert_false(cg.have & (VC_MEM | VC_MEMLIMIT | VC_CPU));
	assert_true(cg.cpu_limit == 1.5 && cg.cpu_limit_own == 1.5);
	assert_int_equal(cg.pids_current, 5);
	cgroup_dirs_close(d);

	p.path[CG_PIDS] = "/" KPOD "/../x";
	assert_int_equal(cgroup_dirs_open_paths(&m, &p, &d), 0); /* cpu still opens */
	cgroup_dirs_close(d);
	p.path[CG_CPU] = "/nosuch";
	assert_int_equal(cgroup_dirs_open_paths(&m, &p, &d), -EINVAL);
	assert_null(d);
	p.path[CG_PIDS] = NULL;
	assert_int_equal(cgroup_dirs_open_paths(&m, &p, &d), -ENOENT);
	cgroup_mounts_close(&m);
	close(pfd);
}

/* A mount showing a subtree (a cgroup namespace): its root is a cgroup
 * like any other, and its limit counts. */
static void subtree_root_limit(void **state)
{
	struct cgroup_mounts m;
	struct vt_cgroup cg;
	put("v2sub/pids.max", "7\n");
	put("v2sub/web.service/pids.current", "1\n");
	put("v2sub/web.service/pids.max", "max\n");
	int pfd = fake_proc("29 23 0:26 /app.slice %s/v2sub rw - cgroup2 cgroup2 rw\n");
	assert_int_equal(cgroup_mounts_open(pfd, "mountinfo", -1, &m), 0);
	assert_int_equal(cgroup_read(&m, "/app.slice/web.service", 0, &cg), 0);
	assert_int_equal(cg.pids_limit, 7);
	assert_true(cg.pids_limit_own == UINT64_MAX);
	cgroup_mounts_close(&m);
	close(pfd);
}

static bool member_below_3(void *ctx, int pid)
{
	return pid < 3;
}

static bool member_all(void *ctx, int pid)
{
	return true;
}

static void foreign_pids(void **state)
{
	struct cgroup_mounts m;
	put("v2f/shared/cgroup.procs", "1\n2\n");
	put("v2f/shared/sub/cgroup.procs", "2\n3\n");
	put("v2f/own/cgroup.procs", "1\n");
	int pfd = fake_proc("29 23 0:26 / %s/v2f rw - cgroup2 cgroup2 rw\n");
	assert_int_equal(cgroup_mounts_open(pfd, "mountinfo", -1, &m), 0);
	assert_int_equal(cgroup_foreign_pid(&m, CG_V2, "/shared", member_below_3, NULL), 3);
	assert_int_equal(cgroup_foreign_pid(&m, CG_V2, "/shared", member_all, NULL), 0);
	assert_int_equal(cgroup_foreign_pid(&m, CG_V2, "/own", member_below_3, NULL), 0);
	assert_int_equal(cgroup_foreign_pid(&m, CG_V2, "/none", member_all, NULL), -ENOENT);
	assert_int_equal(cgroup_foreign_pid(&m, CG_V2, "/own/..", member_all, NULL), -EINVAL);
	assert_int_equal(cgroup_foreign_pid(&m, CG_MEMORY, "/own", member_all, NULL), -ENOENT);
	cgroup_mounts_close(&m);
	close(pfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(one_value),
	    cmocka_unit_test(limits),
	    cmocka_unit_test(keyed),
	    cmocka_unit_test(io_stat),
	    cmocka_unit_test(blkio),
	    cmocka_unit_test(mounts_hybrid),
	    cmocka_unit_test(mounts_pure_v2),
	    cmocka_unit_test(mounts_subtree_root),
	    cmocka_unit_test(mounts_none),
	    cmocka_unit_test(v2_effective_limits),
	    cmocka_unit_test(v1_effective_limits),
	    cmocka_unit_test(subtree_root_limit),
	    cmocka_unit_test(foreign_pids),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
