/*
 * Unit tests: container discovery.
 *
 *   - over a fake procfs and host root built in a temporary directory, with
 *     a pure cgroup2 layout and with a hybrid v1 one
 *     (the ns entries are plain symlinks whose text is what the kernel's
 *     would say, "pid:[200]"): a runtime-less PID namespace, a podman
 *     container named from its containers.json and bolt database and
 *     frozen through cgroup.events, a docker container sharing the host's
 *     PID namespace found only through the cgroup tree, a service in a
 *     memory-only cgroup, a process with only a private mount namespace,
 *     and a process without namespaces (exited): what is a container and
 *     what is not;
 *   - over the real /proc: the invariants (sorted pids, init among them);
 *   - container_find() and container_short_id().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "targets/containers.h"

#define IDB "9f614bfa76625a6c3ec5c1746360e2aa977896988fb09036e3cf8f2374547809"
#define IDD "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"

static char dir[PATH_MAX];

static void mkdirs(const char *path)
{
	char p[PATH_MAX * 2];
	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s == '/') {
			*s = 0;
			mkdir(p, 0755);
			*s = '/';
		}
	}
	mkdir(p, 0755);
}

static void put(const char *rel, const char *s)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	char *sl = strrchr(path, '/');
	*sl = 0;
	mkdirs(path);
	*sl = '/';
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(s, f);
	fclose(f);
}

static void link_(const char *rel, const char *target)
{
	char path[PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	char *sl = strrchr(path, '/');
	*sl = 0;
	mkdirs(path);
	*sl = '/';
	assert_int_equal(symlink(target, path), 0);
}

/* A fake /proc/<pid>: namespaces, cgroup, stat, status. */
static void proc(int pid, const char *comm, int ppid, char state, unsigned pidns, unsigned mntns,
                 const char *cgroup, const char *nspid)
{
	char rel[128], t[512];
	static const char *const ns[] = {"pid", "mnt", "net", "uts"};
	for (int i = 0; i < 4; i++) {
		snprintf(rel, sizeof(rel), "proc/%d/ns/%s", pid, ns[i]);
		snprintf(t, sizeof(t), "%s:[%u]", ns[i],
		         i == 0   ? pidns
		         : i == 1 ? mntns
		                  : pidns + i);
		link_(rel, t);
	}
	snprintf(rel, sizeof(rel), "proc/%d/cgroup", pid);
	put(rel, cgroup);
	snprintf(rel, sizeof(rel), "proc/%d/stat", pid);
	snprintf(t, sizeof(t),
	         "%d (%s) %c %d %d %d 0 -1 4194560 0 0 0 0 1 2 0 0 20 0 1 0 %d 1000 10 0 0 0\n",
	         pid, comm, state, ppid, pid, pid, 1000 + pid);
	put(rel, t);
	snprintf(rel, sizeof(rel), "proc/%d/status", pid);
	snprintf(t, sizeof(t), "Name:\t%s\nPPid:\t%d\nNSpid:\t%s\nThreads:\t1\n", comm, ppid,
	         nspid);
	put(rel, t);
}

/* v1: the hierarchies of a hybrid host (name=systemd, memory, unified),
 * the docker container under /docker/<id> (cgroupfs driver); else a pure
 * cgroup2 host with systemd's paths. */
static void fake_host(bool v1)
{
	strcpy(dir, "/tmp/vt-disc-XXXXXX");
	assert_non_null(mkdtemp(dir));
	put("proc/stat", "cpu 1 2 3 4\nbtime 1795300000\n");
	/* the host: PID 1, a service in a memory-only cgroup, a process with
	 * only a private mount namespace */
	proc(1, "init", 0, 'S', 100, 101, "4:memory:/\n0::/\n", "1");
	proc(10, "svc", 1, 'S', 100, 101, "4:memory:/process_api/abc\n0::/\n", "10");
	proc(60, "private", 1, 'S', 100, 555, "0::/system.slice/x.service\n", "60");
	/* an exited process: its pid dir has no namespaces left */
	put("proc/50/cgroup", "0::/\n");
	/* a runtime-less container: PID 1 inside is host pid 21 */
	proc(20, "unshare", 1, 'S', 100, 101, "4:memory:/vantage-test/a\n0::/vantage-test/a\n",
	     "20");
	proc(21, "sh", 20, 'S', 200, 201, "4:memory:/vantage-test/a\n0::/vantage-test/a\n",
	     "21\t1");
	proc(22, "sleep", 21, 'S', 200, 201, "4:memory:/vantage-test/a\n0::/vantage-test/a\n",
	     "22\t2");
	/* podman (own PID namespace), paused */
	const char *pcg = v1 ? "9:name=systemd:/libpod_parent/libpod-" IDB "\n"
	                       "6:freezer:/libpod_parent/libpod-" IDB "\n"
	                       "4:memory:/libpod_parent/libpod-" IDB "\n0::/\n"
	                     : "0::/libpod_parent/libpod-" IDB "\n";
	proc(30, "sh", 29, 'S', 300, 301, pcg, "30\t1");
	proc(31, "httpd", 30, 'S', 300, 301, pcg, "31\t2");
	proc(29, "conmon", 1, 'S', 100, 101, "0::/libpod_parent/conmon\n", "29");
	if (v1) {
		put("sys/fs/cgroup/systemd/cgroup.procs", "1\n");
		put("sys/fs/cgroup/memory/cgroup.procs", "1\n");
		put("sys/fs/cgroup/unified/cgroup.procs", "1\n");
		put("sys/fs/cgroup/systemd/libpod_parent/libpod-" IDB "/cgroup.procs", "30\n31\n");
		put("sys/fs/cgroup/freezer/libpod_parent/libpod-" IDB "/freezer.state", "FROZEN\n");
	} else {
		put("sys/fs/cgroup/cgroup.controllers", "cpu memory pids\n");
		put("sys/fs/cgroup/libpod_parent/libpod-" IDB "/cgroup.procs", "30\n31\n");
		put("sys/fs/cgroup/libpod_parent/libpod-" IDB "/cgroup.events",
		    "populated 1\nfrozen 1\n");
	}
	put("var/lib/containers/storage/overlay-containers/containers.json",
	    "[{\"id\":\"" IDB "\",\"names\":[\"vtweb\"],\"metadata\":\"{\\\"image-name\\\":"
	    "\\\"localhost/vtbusy:1\\\",\\\"created-at\\\":1795320832}\"}]");
	/* docker with --pid=host: only its cgroup tells; the oldest process
	 * whose parent is outside is its init */
	const char *dcg = v1 ? "9:name=systemd:/docker/" IDD "\n4:memory:/docker/" IDD "\n0::/\n"
	                     : "0::/system.slice/docker-" IDD ".scope\n";
	proc(40, "nginx", 39, 'S', 100, 401, dcg, "40");
	proc(41, "nginx", 40, 'S', 100, 401, dcg, "41");
	if (v1) {
		put("sys/fs/cgroup/systemd/docker/" IDD "/cgroup.procs", "41\n40\n");
		put("sys/fs/cgroup/memory/docker/" IDD "/cgroup.procs", "41\n40\n");
	} else {
		put("sys/fs/cgroup/system.slice/docker-" IDD ".scope/cgroup.procs", "41\n40\n");
		put("sys/fs/cgroup/system.slice/docker-" IDD ".scope/cgroup.events", "frozen 0\n");
		put("sys/fs/cgroup/system.slice/x.service/cgroup.procs", "60\n");
	}
	put("var/lib/docker/containers/" IDD "/config.v2.json",
	    "{\"Name\":\"/web\",\"Config\":{\"Image\":\"nginx:1.25\",\"Labels\":{\"app\":\"web\"}},"
	    "\"State\":{\"Running\":true}}");
}

static void rm_fake(void)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void fake_discovery(bool v1)
{
	char p[PATH_MAX * 2];
	fake_host(v1);
	snprintf(p, sizeof(p), "%s/proc", dir);
	int pfd = open(p, O_RDONLY | O_DIRECTORY);
	int rfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(pfd >= 0 && rfd >= 0);

	struct container_list l;
	assert_int_equal(containers_discover_at(pfd, rfd, &l), 0);
	assert_int_equal(l.host_pid1, 1);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.host_procs, 5); /* 1, 10, 20 (unshare), 29 (conmon), 60 */

	/* sorted by runtime: docker, none, podman */
	const struct container *d = &l.v[0], *u = &l.v[1], *pm = &l.v[2];
	assert_string_equal(d->sys.runtime, "docker");
	assert_string_equal(d->sys.id, "container:docker:" IDD);
	assert_string_equal(d->sys.name, "web");
	assert_string_equal(d->sys.image, "nginx:1.25");
	assert_string_equal(d->sys.kind, "container");
	assert_string_equal(d->labels_json, "{\"app\":\"web\"}");
	assert_ptr_equal(d->sys.labels_json, d->labels_json);
	assert_int_equal(d->init_pid, 40);
	assert_int_equal(d->npids, 2);
	assert_int_equal(d->pids[0], 40);
	assert_int_equal(d->pids[1], 41);
	assert_int_equal(d->pidns, 100);
	assert_int_equal(d->mntns, 401);
	assert_string_equal(d->state, "running");
	assert_string_equal(d->cgroup, v1 ? "/docker/" IDD : "/system.slice/docker-" IDD ".scope");

	assert_string_equal(u->sys.runtime, "none");
	assert_string_equal(u->cid, "pidns-200");
	assert_string_equal(u->sys.id, "container:none:pidns-200");
	assert_int_equal(u->init_pid, 21);
	assert_int_equal(u->npids, 2);
	assert_string_equal(u->sys.name, "sh"); /* no UTS hostname readable here */
	assert_string_equal(u->labels_json, "{}");
	assert_string_equal(u->cgroup, "/vantage-test/a");
	assert_int_equal(u->created, 1795300000 + (1000 + 21) / sysconf(_SC_CLK_TCK));
	assert_int_equal(u->netns, 202);

	assert_string_equal(pm->sys.runtime, "podman");
	assert_string_equal(pm->sys.name, "vtweb");
	assert_string_equal(pm->sys.image, "localhost/vtbusy:1");
	assert_int_equal(pm->created, 1795320832);
	assert_int_equal(pm->init_pid, 30);
	assert_string_equal(pm->state, "paused");
	assert_int_equal(pm->npids, 2);

	/* finding */
	assert_ptr_equal(container_find(&l, "web"), d);
	assert_ptr_equal(container_find(&l, "vtweb"), pm);
	assert_ptr_equal(container_find(&l, IDB), pm);
	assert_ptr_equal(container_find(&l, "9f61"), pm);
	assert_ptr_equal(container_find(&l, "container:none:pidns-200"), u);
	assert_ptr_equal(container_find(&l, "pidns-200"), u);
	assert_null(container_find(&l, "9f6")); /* too short */
	assert_null(container_find(&l, "nothing"));
	assert_null(container_find(&l, ""));
	char sid[130];
	container_short_id(pm, sid, sizeof(sid));
	assert_string_equal(sid, "9f614bfa7662");
	container_short_id(u, sid, sizeof(sid));
	assert_string_equal(sid, "pidns-200");
	container_list_free(&l);

	close(pfd);
	close(rfd);
	rm_fake();
}

static void fake_v2(void **state)
{
	fake_discovery(false);
}
static void fake_hybrid(void **state)
{
	fake_discovery(true);
}

static void ambiguous_prefix(void **state)
{
	struct container v[2];
	memset(v, 0, sizeof(v));
	strcpy(v[0].cid, "abcd0001");
	strcpy(v[1].cid, "abcd0002");
	struct container_list l = {v, 2, 0, 1};
	assert_null(container_find(&l, "abcd"));
	assert_ptr_equal(container_find(&l, "abcd0002"), &v[1]);
	assert_ptr_equal(container_find(&l, "abcd00"), NULL);
	assert_ptr_equal(container_find(&l, "abcd0001"), &v[0]);
}

static void real_proc(void **state)
{
	int pfd = open("/proc", O_RDONLY | O_DIRECTORY);
	assert_true(pfd >= 0);
	struct container_list l;
	assert_int_equal(containers_discover(pfd, &l), 0);
	assert_true(l.host_procs > 0);
	for (int i = 0; i < l.n; i++) {
		const struct container *c = &l.v[i];
		bool init_in = false;
		assert_true(c->npids > 0);
		for (int k = 0; k < c->npids; k++) {
			if (k)
				assert_true(c->pids[k] > c->pids[k - 1]);
			init_in |= c->pids[k] == c->init_pid;
			assert_int_not_equal(c->pids[k], getpid());
		}
		assert_true(init_in);
		assert_non_null(c->labels_json);
		assert_string_equal(c->sys.kind, "container");
		assert_int_equal(strncmp(c->sys.id, "container:", 10), 0);
	}
	container_list_free(&l);
	close(pfd);
	assert_int_equal(containers_discover(-1, &l), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fake_v2),
	    cmocka_unit_test(fake_hybrid),
	    cmocka_unit_test(ambiguous_prefix),
	    cmocka_unit_test(real_proc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
