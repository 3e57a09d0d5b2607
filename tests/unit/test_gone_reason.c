/*
 * Unit tests: why a system went away (targets/gone_reason.c) and the
 * runtimes' exit codes (runtime_meta.c):
 *   - /proc/PID/stat of a live process, of a zombie (field 52, the wait
 *     status), of a kernel before 3.5 (no field 52), a comm with spaces
 *     and parentheses, truncated and garbage lines;
 *   - wait statuses to the shell's exit codes (3, 137 for SIGKILL);
 *   - conmon's exit files, good and hostile;
 *   - the reason's JSON for containers and VMs;
 *   - podman's state JSON and docker's config.v2.json exit fields, and
 *     meta_exit() over a fake host root (exit file first, then state).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../src/targets/gone_reason.h"
#include "../../src/targets/runtime_meta.h"
#include "../../src/util/buf.h"

/* A /proc/PID/stat line with `tail` after field 24 (rss). */
static void stat_line(char *out, size_t cap, const char *comm, char state, const char *tail)
{
	snprintf(out, cap,
	         "4242 (%s) %c 1 4242 4242 0 -1 4194560 100 0 0 0 5 7 0 0 20 0 1 0 987654 1234567 "
	         "89%s",
	         comm, state, tail);
}

/* fields 25..52 with 52 = status */
static void zombie_tail(char *out, size_t cap, int status)
{
	size_t n = 0;
	for (int f = 25; f <= 51 && n < cap; f++)
		n += (size_t)snprintf(out + n, cap - n, " %d", f == 51 ? 0 : 1);
	snprintf(out + n, cap - n, " %d\n", status);
}

static void stat_live_and_zombie(void **state)
{
	char line[1024], tail[512];
	struct stat_exit se;
	stat_line(line, sizeof(line), "sleep", 'S', "\n");
	assert_int_equal(gone_parse_stat(line, strlen(line), &se), 0);
	assert_int_equal(se.state, 'S');
	assert_int_equal(se.starttime, 987654);
	assert_false(se.have_exit);

	zombie_tail(tail, sizeof(tail), 3 << 8);
	stat_line(line, sizeof(line), "a b) (c", 'Z', tail);
	assert_int_equal(gone_parse_stat(line, strlen(line), &se), 0);
	assert_int_equal(se.state, 'Z');
	assert_int_equal(se.starttime, 987654);
	assert_true(se.have_exit);
	assert_int_equal(gone_exit_code(se.wait_status), 3);

	zombie_tail(tail, sizeof(tail), SIGKILL);
	stat_line(line, sizeof(line), "qemu-system-x86", 'Z', tail);
	assert_int_equal(gone_parse_stat(line, strlen(line), &se), 0);
	assert_int_equal(gone_exit_code(se.wait_status), 137);
}

static void stat_malformed(void **state)
{
	struct stat_exit se;
	const char *bad[] = {"",
	                     "4242",
	                     "4242 (x",
	                     "4242 (x)",
	                     "4242 (x) S",
	                     "4242 (x) S 1 2 3",
	                     "4242 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(gone_parse_stat(bad[i], strlen(bad[i]), &se), -EINVAL);
	/* ends after field 22: fine, no exit code */
	const char *short22 = "1 (x) Z 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 77";
	assert_int_equal(gone_parse_stat(short22, strlen(short22), &se), 0);
	assert_int_equal(se.starttime, 77);
	assert_false(se.have_exit);
	/* garbage bytes of every length never crash nor read past the end */
	char g[300];
	srand(12);
	for (int round = 0; round < 2000; round++) {
		size_t n = (size_t)(rand() % (int)sizeof(g));
		for (size_t i = 0; i < n; i++)
			g[i] = "0123456789 ()-Z\n"[rand() % 16];
		char *copy = malloc(n ? n : 1);
		memcpy(copy, g, n);
		gone_parse_stat(copy, n, &se);
		free(copy);
	}
}

static void exit_codes(void **state)
{
	assert_int_equal(gone_exit_code(0), 0);
	assert_int_equal(gone_exit_code(3 << 8), 3);
	assert_int_equal(gone_exit_code(255 << 8), 255);
	assert_int_equal(gone_exit_code(SIGKILL), 137);
	assert_int_equal(gone_exit_code(SIGTERM | 0x80), 143); /* with a core dump */
	assert_int_equal(gone_exit_code(0x137f), -1);          /* stopped, not ended */
}

static void exit_files(void **state)
{
	int c = -1;
	assert_int_equal(gone_parse_exit_file("3", 1, &c), 0);
	assert_int_equal(c, 3);
	assert_int_equal(gone_parse_exit_file(" 137\n", 5, &c), 0);
	assert_int_equal(c, 137);
	const char *bad[] = {"", "\n", "-1", "256", "3a", "3 4", "99999999999999999999999", "x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(gone_parse_exit_file(bad[i], strlen(bad[i]), &c), -EINVAL);
}

static json_t *parse(const struct buf *b)
{
	json_t *j = json_loadb(b->data, b->len, 0, NULL);
	assert_non_null(j);
	return j;
}

static void reason_json(void **state)
{
	struct buf b = BUF_INIT;
	struct container_end e = {.have_exit = true,
	                          .exit_code = 137,
	                          .exit_from = "podman state",
	                          .have_oom = true,
	                          .oom_kills = 1};
	gone_container_json(&e, &b);
	json_t *j = parse(&b);
	assert_string_equal(json_string_value(json_object_get(j, "reason")), "exited");
	assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 137);
	assert_true(json_is_true(json_object_get(j, "oom_killed")));
	assert_int_equal(json_integer_value(json_object_get(j, "oom_kills")), 1);
	assert_string_equal(json_string_value(json_object_get(j, "how")),
	                    "exited 137, killed by the OOM killer");
	json_decref(j);

	buf_reset(&b);
	struct container_end none = {0};
	gone_container_json(&none, &b);
	j = parse(&b);
	assert_true(json_is_null(json_object_get(j, "exit_code")));
	assert_true(json_is_false(json_object_get(j, "oom_killed")));
	assert_null(json_object_get(j, "oom_kills")); /* never read */
	assert_null(json_object_get(j, "exit_from"));
	assert_string_equal(json_string_value(json_object_get(j, "how")), "exited");
	json_decref(j);

	buf_reset(&b); /* the runtime's flag alone */
	struct container_end flag = {.oom_flag = true, .have_oom = true};
	gone_container_json(&flag, &b);
	j = parse(&b);
	assert_true(json_is_true(json_object_get(j, "oom_killed")));
	assert_string_equal(json_string_value(json_object_get(j, "how")),
	                    "exited, killed by the OOM killer");
	json_decref(j);

	buf_reset(&b);
	gone_vm_json(812, false, false, 0, &b);
	j = parse(&b);
	assert_string_equal(json_string_value(json_object_get(j, "reason")), "shut down");
	assert_string_equal(json_string_value(json_object_get(j, "how")), "QEMU pid 812 exited");
	assert_null(json_object_get(j, "exit_code"));
	json_decref(j);
	buf_reset(&b);
	gone_vm_json(9, true, true, 0, &b);
	j = parse(&b);
	assert_string_equal(json_string_value(json_object_get(j, "reason")), "powered off");
	assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 0);
	json_decref(j);
	buf_free(&b);
}

static void runtime_states(void **state)
{
	struct container_meta m = {0};
	const char *running = "{\"state\":3,\"exitCode\":0}";
	assert_int_equal(meta_podman_state(running, strlen(running), &m), 0);
	assert_false(m.exited);
	const char *exited = "{\"state\":6,\"exitCode\":3,\"exited\":true}";
	assert_int_equal(meta_podman_state(exited, strlen(exited), &m), 0);
	assert_true(m.exited);
	assert_int_equal(m.exit_code, 3);
	assert_false(m.oom_killed);
	container_meta_clear(&m);
	const char *oom = "{\"state\":6,\"exitCode\":137,\"exited\":true,\"oomKilled\":true}";
	assert_int_equal(meta_podman_state(oom, strlen(oom), &m), 0);
	assert_true(m.exited && m.oom_killed);
	assert_int_equal(m.exit_code, 137);
	container_meta_clear(&m);

	const char *drun = "{\"Name\":\"/web\",\"State\":{\"Running\":true,\"ExitCode\":0}}";
	assert_int_equal(meta_docker_config(drun, strlen(drun), &m), 0);
	assert_false(m.exited);
	container_meta_clear(&m);
	const char *dex = "{\"Name\":\"/web\",\"State\":{\"Running\":false,\"ExitCode\":3,"
	                  "\"OOMKilled\":false}}";
	assert_int_equal(meta_docker_config(dex, strlen(dex), &m), 0);
	assert_true(m.exited);
	assert_int_equal(m.exit_code, 3);
	assert_string_equal(m.state, "exited");
	container_meta_clear(&m);
}

static void write_file(int dfd, const char *path, const char *text)
{
	char dir[256];
	snprintf(dir, sizeof(dir), "%s", path);
	for (char *s = dir; (s = strchr(s + 1, '/'));) {
		*s = 0;
		mkdirat(dfd, dir, 0755);
		*s = '/';
	}
	int fd = openat(dfd, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void exit_lookup(void **state)
{
	char root[] = "/tmp/vantage-gone-XXXXXX";
	assert_non_null(mkdtemp(root));
	int rfd = open(root, O_RDONLY | O_DIRECTORY);
	assert_true(rfd >= 0);
	const char *id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char path[256];
	struct meta_ctx mc;
	int code = -1;
	bool oom = true;
	const char *from = NULL;

	meta_ctx_init(&mc, rfd);
	assert_int_equal(meta_exit(&mc, "podman", id, &code, &oom, &from), -ENOENT);
	meta_ctx_free(&mc);

	snprintf(path, sizeof(path), "run/libpod/exits/%s", id);
	write_file(rfd, path, "3\n");
	meta_ctx_init(&mc, rfd);
	assert_int_equal(meta_exit(&mc, "podman", id, &code, &oom, &from), 0);
	assert_int_equal(code, 3);
	assert_false(oom);
	assert_string_equal(from, "podman exit file");
	meta_ctx_free(&mc);

	/* a hostile exit file: not a number, a FIFO */
	write_file(rfd, path, "three");
	meta_ctx_init(&mc, rfd);
	assert_int_equal(meta_exit(&mc, "podman", id, &code, &oom, &from), -ENOENT);
	meta_ctx_free(&mc);
	unlinkat(rfd, path, 0);
	assert_int_equal(mkfifoat(rfd, path, 0600), 0);
	meta_ctx_init(&mc, rfd);
	assert_int_equal(meta_exit(&mc, "podman", id, &code, &oom, &from), -ENOENT);
	meta_ctx_free(&mc);
	unlinkat(rfd, path, 0);

	/* docker's state */
	snprintf(path, sizeof(path), "var/lib/docker/containers/%s/config.v2.json", id);
	write_file(
	    rfd, path,
	    "{\"Name\":\"/w\",\"State\":{\"Running\":false,\"ExitCode\":137,\"OOMKilled\":true}}");
	meta_ctx_init(&mc, rfd);
	assert_int_equal(meta_exit(&mc, "docker", id, &code, &oom, &from), 0);
	assert_int_equal(code, 137);
	assert_true(oom);
	assert_string_equal(from, "docker state");
	/* an id that tries to leave the directory */
	assert_int_equal(meta_exit(&mc, "docker", "../../etc", &code, &oom, &from), -ENOENT);
	/* a runtime without exit files */
	assert_int_equal(meta_exit(&mc, "none", id, &code, &oom, &from), -ENOENT);
	meta_ctx_free(&mc);

	close(rfd);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(stat_live_and_zombie), cmocka_unit_test(stat_malformed),
	    cmocka_unit_test(exit_codes),           cmocka_unit_test(exit_files),
	    cmocka_unit_test(reason_json),          cmocka_unit_test(runtime_states),
	    cmocka_unit_test(exit_lookup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
