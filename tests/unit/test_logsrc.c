/*
 * Unit tests: targets/logsrc.c, where a system's logs are: conmon's and
 * QEMU's command lines (good ones, and every prefix of them and mutated
 * ones from exact-size copies), glob splitting, keys, and a container's
 * output files found in a sample tree standing for the host's root.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../src/targets/logsrc.h"

static char *exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);
	assert_non_null(p);
	memcpy(p, s, n);
	return p;
}

/* argv from a '|'-separated string (each '|' becomes a NUL). */
static size_t mkargv(const char *s, char *out, size_t cap)
{
	size_t n = strlen(s);
	assert_true(n < cap);
	for (size_t i = 0; i < n; i++)
		out[i] = s[i] == '|' ? 0 : s[i];
	out[n] = 0;
	return n + 1;
}

static void test_conmon(void **state)
{
	char a[1024], path[256];
	size_t n = mkargv("/usr/bin/conmon|--api-version|1|-c|abc|-l|k8s-file:/var/lib/x/ctr.log|"
	                  "--log-level|warning",
	                  a, sizeof(a));
	assert_true(logsrc_conmon_log(a, n, path, sizeof(path)));
	assert_string_equal(path, "/var/lib/x/ctr.log");
	n = mkargv("conmon|--log-path=/run/y.log", a, sizeof(a));
	assert_true(logsrc_conmon_log(a, n, path, sizeof(path)));
	assert_string_equal(path, "/run/y.log");
	n = mkargv("conmon|--log-path|/abs/z.log", a, sizeof(a));
	assert_true(logsrc_conmon_log(a, n, path, sizeof(path)));
	assert_string_equal(path, "/abs/z.log");
	n = mkargv("conmon|-l|journald:|-l|passthrough:", a, sizeof(a));
	assert_false(logsrc_conmon_log(a, n, path, sizeof(path)));
	n = mkargv("conmon|-l|relative.log", a, sizeof(a));
	assert_false(logsrc_conmon_log(a, n, path, sizeof(path)));
	n = mkargv("conmon|-l", a, sizeof(a));
	assert_false(logsrc_conmon_log(a, n, path, sizeof(path)));
	/* a path longer than the buffer is refused, not cut */
	char small[8];
	n = mkargv("conmon|-l|k8s-file:/a/very/long/path.log", a, sizeof(a));
	assert_false(logsrc_conmon_log(a, n, small, sizeof(small)));
}

static void test_qemu(void **state)
{
	char a[2048], path[256];
	size_t n = mkargv("qemu-system-x86_64|-m|256|-serial|file:/tmp/vm1.console", a, sizeof(a));
	assert_true(logsrc_qemu_console(a, n, path, sizeof(path)));
	assert_string_equal(path, "/tmp/vm1.console");
	n = mkargv("qemu-system-x86_64|-chardev|file,id=con0,path=/var/log/vm,,2.log|-serial|"
	           "chardev:con0",
	           a, sizeof(a));
	assert_true(logsrc_qemu_console(a, n, path, sizeof(path)));
	assert_string_equal(path, "/var/log/vm,2.log");
	n = mkargv("qemu-kvm|-chardev|pty,id=s0,logfile=/var/log/s0.log|-device|"
	           "isa-serial,chardev=s0",
	           a, sizeof(a));
	assert_true(logsrc_qemu_console(a, n, path, sizeof(path)));
	assert_string_equal(path, "/var/log/s0.log");
	/* a file chardev nobody uses as a serial port is not a console */
	n = mkargv("qemu-kvm|-chardev|file,id=dbg,path=/tmp/debugcon|-device|"
	           "isa-debugcon,chardev=dbg",
	           a, sizeof(a));
	assert_false(logsrc_qemu_console(a, n, path, sizeof(path)));
	n = mkargv("qemu-kvm|-serial|stdio|-serial|pty", a, sizeof(a));
	assert_false(logsrc_qemu_console(a, n, path, sizeof(path)));
	n = mkargv("qemu-kvm|--serial|mon:file:/x/y", a, sizeof(a));
	assert_true(logsrc_qemu_console(a, n, path, sizeof(path)));
	assert_string_equal(path, "/x/y");
}

static void test_garbage(void **state)
{
	char a[2048], path[256];
	size_t n = mkargv("qemu-system-x86_64|-chardev|file,id=c,path=/p|-serial|chardev:c|-device|"
	                  "virtconsole,chardev=c|-l|k8s-file:/q|--log-path=/r",
	                  a, sizeof(a));
	srand(7);
	for (size_t k = 0; k <= n; k++) {
		char *p = exact(a, k);
		(void)logsrc_qemu_console(p, k, path, sizeof(path));
		(void)logsrc_conmon_log(p, k, path, sizeof(path));
		free(p);
	}
	char *m = exact(a, n);
	for (int round = 0; round < 2000; round++) {
		memcpy(m, a, n);
		for (int j = 0; j < 4; j++)
			m[rand() % (int)n] = (char)(rand() % 3 ? rand() & 0xff : 0);
		(void)logsrc_qemu_console(m, n, path, sizeof(path));
		(void)logsrc_conmon_log(m, n, path, sizeof(path));
	}
	free(m);
}

static void test_globs(void **state)
{
	char dir[256];
	const char *pat;
	assert_int_equal(logsrc_glob_split("/var/log/*.log", dir, sizeof(dir), &pat), 0);
	assert_string_equal(dir, "/var/log");
	assert_string_equal(pat, "*.log");
	assert_int_equal(logsrc_glob_split("/x.log", dir, sizeof(dir), &pat), 0);
	assert_string_equal(dir, "/");
	assert_string_equal(pat, "x.log");
	const char *bad[] = {"",          "var/log/*.log", "/var/*/x.log", "/var/log/",
	                     "/var/../x", "/var/log/..",   "/a/[b]/c"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(logsrc_glob_split(bad[i], dir, sizeof(dir), &pat), -EINVAL);
	assert_int_equal(logsrc_glob_split("/var/log/a.log", dir, 8, &pat), -EINVAL);
	assert_null(logsrc_refuse_reason(S_IFREG | 0644));
	assert_string_equal(logsrc_refuse_reason(S_IFIFO | 0644), "a FIFO");
	assert_string_equal(logsrc_refuse_reason(S_IFDIR | 0755), "a directory");
}

static void test_keys(void **state)
{
	struct logsrc_list l = {0};
	assert_int_equal(logsrc_add(&l, LOGSRC_FILE, LOGFMT_PLAIN, "/var/log/syslog"), 0);
	assert_int_equal(logsrc_add(&l, LOGSRC_FILE, LOGFMT_PLAIN, "/var/log/syslog"), 0);
	assert_int_equal(logsrc_add(&l, LOGSRC_STDIO, LOGFMT_K8S, "/c/ctr.log"), 0);
	assert_int_equal(logsrc_add(&l, LOGSRC_JOURNAL, LOGFMT_PLAIN, ""), 0);
	assert_int_equal(logsrc_add(&l, LOGSRC_CONSOLE, LOGFMT_PLAIN, "/tmp/c"), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[0].key, "file:/var/log/syslog");
	assert_string_equal(l.v[1].key, "stdio:/c/ctr.log");
	assert_string_equal(l.v[2].key, "journal");
	assert_string_equal(l.v[3].key, "console:/tmp/c");
	logsrc_list_free(&l);
}

static void put(int root, const char *path, const char *text)
{
	char tmp[512];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; (p = strchr(p, '/')); p++) {
		*p = 0;
		mkdirat(root, tmp, 0755);
		*p = '/';
	}
	int fd = openat(root, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void test_container_files(void **state)
{
	char dir[] = "/tmp/vt-logsrc-XXXXXX";
	assert_non_null(mkdtemp(dir));
	int root = open(dir, O_RDONLY | O_DIRECTORY);
	int proc = open("/proc", O_RDONLY | O_DIRECTORY);
	assert_true(root >= 0 && proc >= 0);
	const char *hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char p[512];
	snprintf(p, sizeof(p), "var/lib/docker/containers/%s/%s-json.log", hex, hex);
	put(root, p, "{}\n");
	put(root, "var/log/pods/ns_pod_uid1/web/0.log", "x\n");
	put(root, "var/log/pods/ns_pod_uid1/web/1.log", "x\n");
	put(root, "var/log/pods/ns_pod_uid1/web/other.txt", "x\n");

	struct container c = {0};
	c.labels_json = "{}";
	snprintf(c.sys.runtime, sizeof(c.sys.runtime), "docker");
	snprintf(c.cid, sizeof(c.cid), "%s", hex);
	struct logsrc_list l = {0};
	assert_int_equal(logsrc_container(proc, root, &c, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].frame, LOGFMT_DOCKER);
	assert_non_null(strstr(l.v[0].path, "-json.log"));
	logsrc_list_free(&l);

	snprintf(c.sys.runtime, sizeof(c.sys.runtime), "containerd");
	c.labels_json =
	    "{\"io.kubernetes.pod.namespace\":\"ns\",\"io.kubernetes.pod.name\":\"pod\","
	    "\"io.kubernetes.pod.uid\":\"uid1\",\"io.kubernetes.container.name\":\"web\"}";
	assert_int_equal(logsrc_container(proc, root, &c, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].path, "/var/log/pods/ns_pod_uid1/web/0.log");
	assert_string_equal(l.v[1].path, "/var/log/pods/ns_pod_uid1/web/1.log");
	assert_int_equal(l.v[1].frame, LOGFMT_K8S);
	logsrc_list_free(&l);

	/* a label with a slash never makes a path */
	c.labels_json =
	    "{\"io.kubernetes.pod.namespace\":\"../..\",\"io.kubernetes.pod.name\":\"a/b\","
	    "\"io.kubernetes.pod.uid\":\"uid1\",\"io.kubernetes.container.name\":\"web\"}";
	assert_int_equal(logsrc_container(proc, root, &c, &l), 0);
	assert_int_equal(l.n, 0);
	logsrc_list_free(&l);

	/* conmon as the parent of the container's init (from a /proc tree):
	 * its -l names the log; the init's comm holds ") (" and a newline */
	put(root, "proc/100/stat",
	    "100 (sh) (x\ny) S 50 100 100 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
	    "500 2236416 200 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0\n");
	put(root, "proc/50/comm", "conmon\n");
	int cfd = openat(root, "proc/50/cmdline", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	static const char cl[] = "/usr/bin/conmon\0-c\0abc\0-l\0k8s-file:/ctr/c.log\0";
	assert_int_equal(write(cfd, cl, sizeof(cl) - 1), (ssize_t)sizeof(cl) - 1);
	close(cfd);
	put(root, "ctr/c.log", "x\n");
	int fproc = openat(root, "proc", O_RDONLY | O_DIRECTORY);
	assert_true(fproc >= 0);
	snprintf(c.sys.runtime, sizeof(c.sys.runtime), "cri-o");
	c.labels_json = "{}";
	c.init_pid = 100;
	assert_int_equal(logsrc_container(fproc, root, &c, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].path, "/ctr/c.log");
	assert_int_equal(l.v[0].frame, LOGFMT_K8S);
	logsrc_list_free(&l);
	/* a stat line cut before its fields end names no parent */
	put(root, "proc/100/stat", "100 (sh) S 50 100");
	assert_int_equal(logsrc_container(fproc, root, &c, &l), 0);
	assert_int_equal(l.n, 0);
	logsrc_list_free(&l);
	close(fproc);

	close(root);
	close(proc);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conmon),  cmocka_unit_test(test_qemu),
	    cmocka_unit_test(test_garbage), cmocka_unit_test(test_globs),
	    cmocka_unit_test(test_keys),    cmocka_unit_test(test_container_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
