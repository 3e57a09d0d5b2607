/* Unit tests: the configuration of `vantage serve` (cli/serve_config.c): values,
 * the INI file with its errors (file, line, key), flags, lists. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/serve_config.h"
#include "features/feature.h"

static char path[64];

static const char *write_ini(const char *text)
{
	snprintf(path, sizeof(path), "/tmp/vantage-cfg-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static int feat(const char *name)
{
	for (size_t i = 0; i < feature_count; i++)
		if (strcmp(feature_table[i]->name, name) == 0)
			return (int)i;
	fail_msg("no feature %s", name);
	return -1;
}

/* Load `text`; returns the result, err in *err. */
static int load(const char *text, struct serve_config *c, char *err, size_t n)
{
	assert_int_equal(config_defaults(c), 0);
	int r = config_load_file(c, write_ini(text), err, n);
	unlink(path);
	return r;
}

static void test_durations(void **state)
{
	double d;
	assert_int_equal(config_parse_duration("10", &d), 0);
	assert_true(d == 10);
	assert_int_equal(config_parse_duration("10s", &d), 0);
	assert_true(d == 10);
	assert_int_equal(config_parse_duration("5m", &d), 0);
	assert_true(d == 300);
	assert_int_equal(config_parse_duration("1.5h", &d), 0);
	assert_true(d == 5400);
	assert_int_equal(config_parse_duration("2d", &d), 0);
	assert_true(d == 172800);
	const char *bad[] = {"",    "s",   "5x",  "-1s", "+3",  "1e999",
	                     "nan", "inf", "5 s", "5ms", "10ss"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(config_parse_duration(bad[i], &d), -EINVAL);
}

static void test_sizes(void **state)
{
	uint64_t v;
	assert_int_equal(config_parse_size("65536", &v), 0);
	assert_true(v == 65536);
	assert_int_equal(config_parse_size("64K", &v), 0);
	assert_true(v == 65536);
	assert_int_equal(config_parse_size("1M", &v), 0);
	assert_true(v == 1048576);
	assert_int_equal(config_parse_size("2GB", &v), 0);
	assert_true(v == 2147483648ull);
	const char *bad[] = {"", "K", "-1", "1T", "99999999999999999999", "17179869184G", " 1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(config_parse_size(bad[i], &v), -EINVAL);
}

static void test_defaults(void **state)
{
	struct serve_config c;
	assert_int_equal(config_defaults(&c), 0);
	assert_string_equal(c.db_path, "/var/lib/vantage/vantage.db");
	assert_string_equal(c.listen, "127.0.0.1:7070");
	assert_true(c.interval[feat("metric")] == 10);
	assert_true(c.interval[feat("process")] == 60);
	assert_true(c.interval[feat("connection")] == 60);
	assert_true(c.interval[feat("os")] == 300);
	assert_true(c.interval[feat("module")] == 300);
	assert_true(c.interval[feat("interface")] == 300);
	assert_true(c.interval[feat("package")] == 3600);
	assert_true(c.interval[feat("config")] == 3600);
	assert_true(c.interval[feat("file")] == 0);
	assert_true(c.containers);
	assert_int_equal(c.config_paths.n, 1);
	assert_int_equal(c.file_excludes.n, 4);
	assert_int_equal(c.log_level, LOG_INFO);
	assert_null(c.token);
	config_free(&c);
}

static void test_good_file(void **state)
{
	struct serve_config c;
	char err[512];
	assert_int_equal(load("; a comment\n"
	                      "# another\n"
	                      "[store]\n"
	                      "path = /tmp/x.db\n"
	                      "\n"
	                      "[api]\n"
	                      "listen = 0.0.0.0:9090\n"
	                      "token_file = /etc/vantage/token\n"
	                      "[intervals]\n"
	                      "metric = 1s\n"
	                      "process = 2m ; inline comment\n"
	                      "file = on\n"
	                      "package = off\n"
	                      "[crawl]\n"
	                      "workers = 8\n"
	                      "timeout = 1m\n"
	                      "containers = no\n"
	                      "config_paths = /etc/nginx, /etc/ssh ,/opt/app/conf\n"
	                      "file_hash = true\n"
	                      "file_hash_max_size = 1M\n"
	                      "[log]\n"
	                      "level = debug\n",
	                      &c, err, sizeof(err)),
	                 0);
	assert_string_equal(c.db_path, "/tmp/x.db");
	assert_string_equal(c.listen, "0.0.0.0:9090");
	assert_string_equal(c.token_file, "/etc/vantage/token");
	assert_true(c.interval[feat("metric")] == 1);
	assert_true(c.interval[feat("process")] == 120);
	assert_true(c.interval[feat("file")] == 86400);
	assert_true(c.interval[feat("package")] == 0);
	assert_int_equal(c.workers, 8);
	assert_true(c.timeout == 60);
	assert_false(c.containers);
	assert_int_equal(c.config_paths.n, 3);
	assert_string_equal(c.config_paths.v[0], "/etc/nginx");
	assert_string_equal(c.config_paths.v[1], "/etc/ssh");
	assert_string_equal(c.config_paths.v[2], "/opt/app/conf");
	assert_true(c.file_hash);
	assert_true(c.file_hash_max_size == 1048576);
	assert_int_equal(c.log_level, LOG_DEBUG);

	struct serve_config copy;
	assert_int_equal(config_copy(&copy, &c), 0);
	config_free(&c);
	assert_string_equal(copy.config_paths.v[2], "/opt/app/conf");
	config_free(&copy);
}

/* Each bad file: the error names the line and the key. */
static void bad(const char *text, const char *want)
{
	struct serve_config c;
	char err[512] = "";
	assert_int_equal(load(text, &c, err, sizeof(err)), -EINVAL);
	if (!strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
	assert_non_null(strstr(err, "/tmp/vantage-cfg-"));
	config_free(&c);
}

static void test_bad_files(void **state)
{
	bad("[intervals]\nmetric = 5x\n", "line 2: [intervals] metric: not a duration: '5x'");
	bad("[intervals]\nmetric = off\n", "line 2: [intervals] metric: metric cannot be off");
	bad("[intervals]\nmetric = 0.5s\n", "line 2: [intervals] metric: '0.5s' is out of range");
	bad("[intervals]\nfoo = 1s\n", "line 2: [intervals] foo: unknown feature 'foo'");
	bad("[store]\npath = /x\n[api]\n\nfoo = 1\n", "line 5: [api] foo: unknown key");
	bad("[nope]\nx = 1\n", "line 2: [nope] x: unknown section [nope]");
	bad("x = 1\n", "line 1: [] x: key outside any section");
	bad("[store\npath = /x\n", "line 1: syntax error");
	bad("[store]\npath = /x\njunk\n", "line 3: syntax error");
	bad("[crawl]\nworkers = 0\n", "line 2: [crawl] workers: not a number from 1 to 64");
	bad("[crawl]\nworkers = 4x\n", "[crawl] workers");
	bad("[crawl]\ntimeout = 0\n", "[crawl] timeout");
	bad("[crawl]\ncontainers = maybe\n", "[crawl] containers: not a boolean: 'maybe'");
	bad("[crawl]\nconfig_max_size = big\n", "[crawl] config_max_size: not a size");
	bad("[log]\nlevel = loud\n", "[log] level: unknown level 'loud'");
	bad("[api]\nlisten = nowhere\n", "[api] listen");
	bad("[api]\nlisten = 127.0.0.1:99999\n", "[api] listen");
	bad("[store]\npath =\n", "[store] path: must not be empty");
	bad("[store]\npath = /a\npath = /b\n",
	    "line 3: [store] path: given twice (first on line 2)");
	/* the first error is the one reported */
	bad("[log]\nlevel = loud\n[api]\nfoo = 1\n", "line 2: [log] level");
}

static void test_long_line(void **state)
{
	/* a list longer than inih's default line limit of 200 bytes */
	char text[4096] = "[crawl]\nconfig_paths = ";
	for (int i = 0; i < 40; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s/etc/dir%02d",
		         i ? "," : "", i);
	strcat(text, "\n[log]\nlevel = warn\n");
	struct serve_config c;
	char err[512];
	assert_int_equal(load(text, &c, err, sizeof(err)), 0);
	assert_int_equal(c.config_paths.n, 40);
	assert_string_equal(c.config_paths.v[39], "/etc/dir39");
	assert_int_equal(c.log_level, LOG_WARN);
	config_free(&c);
}

static void test_missing_file(void **state)
{
	struct serve_config c;
	char err[512];
	assert_int_equal(config_defaults(&c), 0);
	assert_int_equal(config_load_file(&c, "/nonexistent/vantage.ini", err, sizeof(err)),
	                 -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/vantage.ini"));
	config_free(&c);
}

static void test_flags(void **state)
{
	const char *section, *key, *value;
	bool has_arg;
	assert_true(config_flag_find("db", &section, &key, &has_arg, &value));
	assert_string_equal(section, "store");
	assert_string_equal(key, "path");
	assert_true(has_arg);
	assert_true(config_flag_find("metric-interval", &section, &key, &has_arg, &value));
	assert_string_equal(section, "intervals");
	assert_string_equal(key, "metric");
	assert_true(config_flag_find("no-containers", &section, &key, &has_arg, &value));
	assert_string_equal(key, "containers");
	assert_false(has_arg);
	assert_string_equal(value, "false");
	assert_true(config_flag_find("hash", &section, &key, &has_arg, &value));
	assert_string_equal(value, "true");
	assert_false(config_flag_find("nope", &section, &key, &has_arg, &value));
	assert_false(config_flag_find("nope-interval", &section, &key, &has_arg, &value));
	assert_false(config_flag_find("no-db", &section, &key, &has_arg, &value));

	/* lists: the first flag replaces, later ones add */
	struct serve_config c;
	char err[256];
	assert_int_equal(config_defaults(&c), 0);
	assert_int_equal(config_set(&c, "crawl", "config_paths", "/a", true, err, sizeof(err)), 0);
	assert_int_equal(config_set(&c, "crawl", "config_paths", "/b", false, err, sizeof(err)), 0);
	assert_int_equal(c.config_paths.n, 2);
	assert_string_equal(c.config_paths.v[0], "/a");
	assert_int_equal(config_set(&c, "api", "token", "", true, err, sizeof(err)), 0);
	assert_null(c.token);
	config_free(&c);
}

static void test_describe_hides_token(void **state)
{
	struct serve_config c;
	char err[256];
	assert_int_equal(config_defaults(&c), 0);
	assert_int_equal(config_set(&c, "api", "token", "s3cret", true, err, sizeof(err)), 0);
	struct buf b = BUF_INIT;
	config_describe(&c, &b);
	assert_null(strstr(buf_str(&b), "s3cret"));
	assert_non_null(strstr(buf_str(&b), "[intervals] metric = 10s"));
	assert_non_null(strstr(buf_str(&b), "[intervals] package = 1h"));
	buf_free(&b);
	config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_good_file),
	    cmocka_unit_test(test_bad_files),
	    cmocka_unit_test(test_long_line),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_describe_hides_token),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
