/*
 * Unit tests: recognising container runtimes and ids from cgroup paths and
 * /proc/PID/cgroup files (v1, v2 and hybrid lines), with the path shapes
 * of podman, docker, containerd/CRI-O under Kubernetes (cgroupfs and
 * systemd drivers), LXC and systemd-nspawn; paths that are NOT containers
 * (services, sessions, conmon, libvirt VMs, a memory-only service cgroup);
 * and malformed, truncated and hostile input, always passed as exact-size
 * heap copies so ASan catches any read past the end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "targets/cgroup_id.h"

#define ID "9f614bfa76625a6c3ec5c1746360e2aa977896988fb09036e3cf8f2374547809"
#define ID2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UID "5b9b4a1f-3c2d-4e5f-8a9b-0c1d2e3f4a5b"
#define UID_ "5b9b4a1f_3c2d_4e5f_8a9b_0c1d2e3f4a5b"

static char *exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);
	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

/* Recognise `path`; expect runtime/id (NULL runtime: not a container). */
static void expect(const char *path, const char *rt, const char *id, const char *pod)
{
	struct cgroup_cid c;
	size_t n = strlen(path);
	char *p = exact(path, n);
	bool r = cgroup_id_from_path(p, n, &c);
	free(p);
	if (!rt) {
		if (r)
			fail_msg("%s: recognised as %s %s", path, c.runtime, c.id);
		assert_string_equal(c.runtime, "");
		return;
	}
	if (!r)
		fail_msg("%s: not recognised", path);
	assert_string_equal(c.runtime, rt);
	assert_string_equal(c.id, id);
	assert_string_equal(c.pod_uid, pod ? pod : "");
}

static void podman_paths(void **state)
{
	expect("/libpod_parent/libpod-" ID, "podman", ID, NULL);
	expect("/machine.slice/libpod-" ID ".scope", "podman", ID, NULL);
	expect("/machine.slice/libpod-" ID ".scope/container", "podman", ID, NULL);
	expect("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID ".scope",
	       "podman", ID, NULL);
	expect("/libpod_parent/libpod_pod_" ID2 "/libpod-" ID, "podman", ID, NULL);
	/* conmon is the runtime's monitor, on the host's side */
	expect("/libpod_parent/conmon", NULL, NULL, NULL);
	expect("/machine.slice/libpod-conmon-" ID ".scope", NULL, NULL, NULL);
	expect("/user.slice/user-0.slice/user@0.service/user.slice/podman-1234.scope", NULL, NULL,
	       NULL);
}

static void docker_paths(void **state)
{
	expect("/docker/" ID, "docker", ID, NULL);
	expect("/docker/" ID "/init", "docker", ID, NULL);
	expect("/system.slice/docker-" ID ".scope", "docker", ID, NULL);
	expect("/system.slice/docker.service", NULL, NULL, NULL);
	expect("/system.slice/containerd.service", NULL, NULL, NULL);
	expect("/docker/buildkit", NULL, NULL, NULL);
	/* docker-in-docker: the outer container owns everything below it */
	expect("/docker/" ID "/docker/" ID2, "docker", ID, NULL);
}

static void kubernetes_paths(void **state)
{
	/* cgroupfs driver: the runtime cannot be told from the path */
	expect("/kubepods/burstable/pod" UID "/" ID, "cri", ID, UID);
	expect("/kubepods/besteffort/pod" UID "/" ID, "cri", ID, UID);
	expect("/kubepods/pod" UID "/" ID, "cri", ID, UID);
	expect("/kubepods/burstable/pod" UID, NULL, NULL, NULL);
	expect("/kubepods/burstable", NULL, NULL, NULL);
	/* systemd driver */
	expect("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	       ".slice/cri-containerd-" ID ".scope",
	       "containerd", ID, UID);
	expect("/kubepods.slice/kubepods-pod" UID_ ".slice/crio-" ID ".scope", "cri-o", ID, UID);
	expect("/kubepods.slice/kubepods-pod" UID_ ".slice/crio-conmon-" ID ".scope", NULL, NULL,
	       NULL);
	expect("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
	       ".slice/docker-" ID ".scope",
	       "docker", ID, UID);
	/* a bare id outside kubepods is nothing */
	expect("/pod" UID "/" ID, NULL, NULL, NULL);
	/* CRI-O with cgroupfs */
	expect("/kubepods/burstable/pod" UID "/crio-" ID, "cri-o", ID, UID);
}

static void lxc_nspawn_paths(void **state)
{
	expect("/lxc.payload.web1", "lxc", "web1", NULL);
	expect("/lxc.payload.web1/system.slice/nginx.service", "lxc", "web1", NULL);
	expect("/lxc.payload/web2", "lxc", "web2", NULL);
	expect("/lxc/old1", "lxc", "old1", NULL);
	expect("/lxc.monitor.web1", NULL, NULL, NULL);
	expect("/lxc.payload.", NULL, NULL, NULL);
	expect("/machine.slice/machine-box.scope", "nspawn", "box", NULL);
	expect("/machine.slice/machine-my\\x2dbox.scope", "nspawn", "my-box", NULL);
	expect("/machine.slice/machine-my\\x2dbox.scope/payload/system.slice", "nspawn", "my-box",
	       NULL);
	/* malformed escapes are kept as they are */
	expect("/machine.slice/machine-a\\xzz.scope", "nspawn", "a\\xzz", NULL);
	expect("/machine.slice/machine-a\\x00.scope", "nspawn", "a\\x00", NULL);
	expect("/machine.slice/machine-a\\x2.scope", "nspawn", "a\\x2", NULL);
	/* libvirt VMs live in machine.slice too: not containers */
	expect("/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope", NULL, NULL, NULL);
	expect("/machine.slice/machine-qemu\\x2d1\\x2dvm1.scope/libvirt/emulator", NULL, NULL,
	       NULL);
	expect("/machine.slice/machine-.scope", NULL, NULL, NULL);
	expect("/system.slice/machine-box.scope", NULL, NULL, NULL);
}

static void not_containers(void **state)
{
	expect("/", NULL, NULL, NULL);
	expect("", NULL, NULL, NULL);
	expect("/user.slice/user-0.slice/session-1.scope", NULL, NULL, NULL);
	expect("/init.scope", NULL, NULL, NULL);
	/* the service cgroups of these machines (memory controller only) */
	expect("/process_api/3690fd2056f247a2302208f1239a7ce5", NULL, NULL, NULL);
	expect("/vantage-test/web", NULL, NULL, NULL);
	/* ids must be exactly 64 lowercase hex digits */
	expect("/libpod_parent/libpod-"
	       "9f614bfa76625a6c3ec5c1746360e2aa977896988fb09036e3cf8f237454780",
	       NULL, NULL, NULL);
	expect("/libpod_parent/libpod-" ID "0", NULL, NULL, NULL);
	expect("/libpod_parent/libpod-"
	       "9F614BFA76625A6C3EC5C1746360E2AA977896988FB09036E3CF8F2374547809",
	       NULL, NULL, NULL);
	expect("/docker/"
	       "zz614bfa76625a6c3ec5c1746360e2aa977896988fb09036e3cf8f2374547809",
	       NULL, NULL, NULL);
	expect("/system.slice/docker-" ID, NULL, NULL, NULL); /* no .scope */
	expect("////", NULL, NULL, NULL);
}

/* The container's own cgroup: `path` cut after its recognised component. */
static void expect_own(const char *path, const char *own)
{
	struct cgroup_cid c;
	size_t n = strlen(path);
	char *p = exact(path, n);
	assert_true(cgroup_id_from_path(p, n, &c));
	free(p);
	assert_true(c.end <= n);
	if (c.end != strlen(own) || memcmp(path, own, c.end) != 0)
		fail_msg("%s: own cgroup %.*s, expected %s", path, (int)c.end, path, own);
}

static void own_cgroup(void **state)
{
	/* sub-cgroups of the container are cut */
	expect_own("/machine.slice/libpod-" ID ".scope/container",
	           "/machine.slice/libpod-" ID ".scope");
	expect_own("/machine.slice/libpod-" ID ".scope", "/machine.slice/libpod-" ID ".scope");
	expect_own("/lxc.payload.web1/init.scope", "/lxc.payload.web1");
	expect_own("/lxc.payload.web1/system.slice/nginx.service", "/lxc.payload.web1");
	expect_own("/lxc.payload/web2/system.slice", "/lxc.payload/web2");
	expect_own("/machine.slice/machine-my\\x2dbox.scope/payload/system.slice",
	           "/machine.slice/machine-my\\x2dbox.scope");
	expect_own("/machine.slice/machine-box.scope/payload", "/machine.slice/machine-box.scope");
	/* docker-in-docker: the outer container */
	expect_own("/docker/" ID "/docker/" ID2, "/docker/" ID);
	expect_own("/docker/" ID "/init", "/docker/" ID);
	/* Kubernetes: the container, below its pod */
	expect_own("/kubepods/burstable/pod" UID "/" ID, "/kubepods/burstable/pod" UID "/" ID);
	expect_own("/kubepods.slice/kubepods-pod" UID_ ".slice/crio-" ID ".scope/x",
	           "/kubepods.slice/kubepods-pod" UID_ ".slice/crio-" ID ".scope");
	/* a pod of podman: the container, not the pod */
	expect_own("/libpod_parent/libpod_pod_" ID2 "/libpod-" ID,
	           "/libpod_parent/libpod_pod_" ID2 "/libpod-" ID);
	/* empty components are kept as they are */
	expect_own("//docker//" ID "//x", "//docker//" ID);
}

static void path_garbage(void **state)
{
	struct cgroup_cid c;
	assert_false(cgroup_id_from_path(NULL, 0, &c));
	/* an LXC name longer than the id field is cut, not overflowed */
	char big[600] = "/lxc.payload.";
	memset(big + 13, 'x', 500);
	big[513] = 0;
	char *p = exact(big, strlen(big));
	assert_true(cgroup_id_from_path(p, strlen(big), &c));
	assert_int_equal(strlen(c.id), sizeof(c.id) - 1);
	free(p);
	/* every prefix of a real path: no crash, and only a full id matches */
	const char *full = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_
	                   ".slice/cri-containerd-" ID ".scope";
	for (size_t n = 0; n <= strlen(full); n++) {
		p = exact(full, n);
		bool r = cgroup_id_from_path(p, n, &c);
		free(p);
		if (r)
			assert_string_equal(c.id, ID);
	}
	/* NUL bytes inside */
	const char nul[] = "/docker/\0" ID;
	p = exact(nul, sizeof(nul) - 1);
	assert_false(cgroup_id_from_path(p, sizeof(nul) - 1, &c));
	free(p);
}

static const char hybrid_podman[] = "9:name=systemd:/libpod_parent/libpod-" ID "\n"
                                    "8:pids:/libpod_parent/libpod-" ID "\n"
                                    "4:memory:/libpod_parent/libpod-" ID "\n"
                                    "3:cpuset:/libpod_parent/libpod-" ID "\n"
                                    "1:cpu:/libpod_parent/libpod-" ID "\n"
                                    "0::/libpod_parent/libpod-" ID "\n";

static const char v2_docker[] = "0::/system.slice/docker-" ID ".scope\n";

static const char v1_service[] = "9:name=systemd:/\n"
                                 "8:pids:/\n"
                                 "4:memory:/process_api/3690fd2056f247a2302208f1239a7ce5\n"
                                 "3:cpuset:/\n"
                                 "1:cpu:/\n"
                                 "0::/\n";

/* Hybrid: the cgroup2 line is "/" and only one v1 line names the container. */
static const char v1_mixed[] = "9:name=systemd:/\n"
                               "5:freezer:/\n"
                               "4:memory:/docker/" ID "\n"
                               "0::/\n";

static bool file_cid(const char *s, size_t n, struct cgroup_cid *c, char *path, size_t cap)
{
	const char *pp = NULL;
	size_t pl = 0;
	char *p = exact(s, n);
	bool r = cgroup_id_from_file(p, n, c, &pp, &pl);
	if (r && path) {
		assert_true(pp >= p && pp + pl <= p + n);
		memcpy(path, pp, pl < cap ? pl : cap - 1);
		path[pl < cap ? pl : cap - 1] = 0;
	}
	free(p);
	return r;
}

static void cgroup_files(void **state)
{
	struct cgroup_cid c;
	char path[256];
	assert_true(file_cid(hybrid_podman, sizeof(hybrid_podman) - 1, &c, path, sizeof(path)));
	assert_string_equal(c.runtime, "podman");
	assert_string_equal(c.id, ID);
	assert_string_equal(path, "/libpod_parent/libpod-" ID);

	assert_true(file_cid(v2_docker, sizeof(v2_docker) - 1, &c, path, sizeof(path)));
	assert_string_equal(c.runtime, "docker");
	assert_string_equal(path, "/system.slice/docker-" ID ".scope");
	/* without the final newline */
	assert_true(file_cid(v2_docker, sizeof(v2_docker) - 2, &c, NULL, 0));

	assert_false(file_cid(v1_service, sizeof(v1_service) - 1, &c, NULL, 0));

	assert_true(file_cid(v1_mixed, sizeof(v1_mixed) - 1, &c, path, sizeof(path)));
	assert_string_equal(c.runtime, "docker");
	assert_string_equal(path, "/docker/" ID);
}

static void cgroup_file_garbage(void **state)
{
	struct cgroup_cid c;
	static const char *const bad[] = {
	    "",
	    "\n",
	    ":",
	    "::",
	    "0:",
	    "garbage",
	    "0::",
	    "\n\n\n",
	    "x:y\n",
	    "4:memory\n",
	    ":memory:/docker/" ID "\n", /* no hierarchy id */
	};
	assert_false(cgroup_id_from_file(NULL, 0, &c, NULL, NULL));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(file_cid(bad[i], strlen(bad[i]), &c, NULL, 0));
	/* truncated anywhere: never a wrong id */
	for (size_t n = 0; n < sizeof(hybrid_podman) - 1; n++)
		if (file_cid(hybrid_podman, n, &c, NULL, 0))
			assert_string_equal(c.id, ID);
	/* a NUL glued to the id */
	const char nul[] = "4:memory:/docker/" ID "\0\n";
	assert_false(file_cid(nul, sizeof(nul) - 1, &c, NULL, 0));
	/* the path holds ':' characters */
	const char colon[] = "0::/a:b/docker/" ID "\n";
	assert_true(file_cid(colon, sizeof(colon) - 1, &c, NULL, 0));
}

static int pick(const char *s, char *out, size_t cap)
{
	const char *pp;
	size_t pl;
	size_t n = strlen(s);
	char *p = exact(s, n);
	int r = cgroup_pick_path(p, n, &pp, &pl);
	if (r == 0) {
		assert_true(pp >= p && pp + pl <= p + n);
		memcpy(out, pp, pl < cap ? pl : cap - 1);
		out[pl < cap ? pl : cap - 1] = 0;
	}
	free(p);
	return r;
}

static void pick_path(void **state)
{
	char out[256];
	assert_int_equal(pick(v1_mixed, out, sizeof(out)), 0);
	assert_string_equal(out, "/docker/" ID); /* the recognised line wins */
	assert_int_equal(pick(v1_service, out, sizeof(out)), 0);
	assert_string_equal(out, "/process_api/3690fd2056f247a2302208f1239a7ce5"); /* memory */
	assert_int_equal(pick("0::/vantage-test/a\n4:memory:/x\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/vantage-test/a"); /* unified when not "/" */
	assert_int_equal(pick("3:cpuset:/a\n1:cpu:/b\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/a"); /* first line */
	assert_int_equal(pick("garbage\n", out, sizeof(out)), -EINVAL);
	assert_int_equal(pick("", out, sizeof(out)), -EINVAL);
	const char *pp;
	size_t pl;
	assert_int_equal(cgroup_pick_path(NULL, 0, &pp, &pl), -EINVAL);
}

static void controller_path(void **state)
{
	const char f[] = "6:freezer:/vantage-test/a\n2:cpu,cpuacct:/c\n0::/u\n";
	const char *pp;
	size_t pl;
	char *p = exact(f, sizeof(f) - 1);
	assert_int_equal(cgroup_controller_path(p, sizeof(f) - 1, "freezer", &pp, &pl), 0);
	assert_int_equal(pl, strlen("/vantage-test/a"));
	assert_memory_equal(pp, "/vantage-test/a", pl);
	assert_int_equal(cgroup_controller_path(p, sizeof(f) - 1, "cpuacct", &pp, &pl), 0);
	assert_memory_equal(pp, "/c", pl);
	assert_int_equal(cgroup_controller_path(p, sizeof(f) - 1, "", &pp, &pl), 0);
	assert_memory_equal(pp, "/u", pl);
	assert_int_equal(cgroup_controller_path(p, sizeof(f) - 1, "memory", &pp, &pl), -ENOENT);
	assert_int_equal(cgroup_controller_path(p, sizeof(f) - 1, "cpu,", &pp, &pl), -ENOENT);
	free(p);
	assert_int_equal(cgroup_controller_path(NULL, 0, "memory", &pp, &pl), -ENOENT);
}

/* cgroup_container_path over one file: `want` NULL for -ENOENT. */
static void cpath(const char *file, const char *ctrl, int ret, const char *want)
{
	const char *pp;
	size_t pl;
	size_t n = strlen(file);
	char *p = exact(file, n);
	int r = cgroup_container_path(p, n, ctrl, &pp, &pl);
	assert_int_equal(r, ret);
	if (r >= 0) {
		assert_true(pp >= p && pp + pl <= p + n);
		if (pl != strlen(want) || memcmp(pp, want, pl) != 0)
			fail_msg("%s: %.*s, expected %s", ctrl, (int)pl, pp, want);
	}
	free(p);
}

static void container_paths(void **state)
{
	/* LXC with systemd inside on a hybrid host: every hierarchy at the payload */
	const char lxc[] = "12:pids:/lxc.payload.c1/init.scope\n"
	                   "4:memory:/lxc.payload.c1\n"
	                   "3:cpu,cpuacct:/lxc.payload.c1/system.slice/cron.service\n"
	                   "2:devices:/\n"
	                   "1:name=systemd:/lxc.payload.c1/init.scope\n"
	                   "0::/lxc.payload.c1/init.scope\n";
	cpath(lxc, "pids", 1, "/lxc.payload.c1");
	cpath(lxc, "memory", 1, "/lxc.payload.c1");
	cpath(lxc, "cpuacct", 1, "/lxc.payload.c1");
	cpath(lxc, "", 1, "/lxc.payload.c1");
	cpath(lxc, "devices", 0, "/");
	cpath(lxc, "blkio", -ENOENT, NULL);
	/* crun on cgroup v2 (podman's default): the scope, not .../container */
	cpath("0::/machine.slice/libpod-" ID ".scope/container\n", "", 1,
	      "/machine.slice/libpod-" ID ".scope");
	/* a runtime-less container: the paths as they are */
	cpath("4:memory:/vantage-test/a/sub\n0::/\n", "memory", 0, "/vantage-test/a/sub");
	cpath("4:memory:/vantage-test/a/sub\n0::/\n", "", 0, "/");
	cpath("garbage", "", -ENOENT, NULL);
	/* pick_path gives the cut path too */
	char out[256];
	assert_int_equal(pick(lxc, out, sizeof(out)), 0);
	assert_string_equal(out, "/lxc.payload.c1");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(podman_paths),     cmocka_unit_test(docker_paths),
	    cmocka_unit_test(kubernetes_paths), cmocka_unit_test(lxc_nspawn_paths),
	    cmocka_unit_test(not_containers),   cmocka_unit_test(path_garbage),
	    cmocka_unit_test(cgroup_files),     cmocka_unit_test(cgroup_file_garbage),
	    cmocka_unit_test(pick_path),        cmocka_unit_test(controller_path),
	    cmocka_unit_test(own_cgroup),       cmocka_unit_test(container_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
