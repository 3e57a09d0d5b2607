/* Unit tests: the configuration of `vantage serve` (cli/serve_config.c): values,
 * the INI file with its errors (file, line, key), hostile files (not a
 * regular file, over 1 MiB, a line over 16 KiB or with a NUL byte), flags,
 * lists; and the options features declare (features/options.c): defaults,
 * every option through its flag and its key, errors naming the option. */
#include <errno.h>
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

#include "cli/serve_config.h"
#include "features/feature.h"

static char path[64];

/* A temporary file of n bytes of `text` (NULs too). */
static const char *write_ini_n(const char *text, size_t n)
{
	snprintf(path, sizeof(path), "/tmp/vantage-cfg-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
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

/* The current value of the feature option of [crawl] `key`, as text. */
static const char *val(const struct serve_config *c, const char *key)
{
	static char v[1024];
	const struct feature *f;
	const struct feature_option *o = feature_option_by_key(key, &f);
	if (!o)
		fail_msg("no option %s", key);
	crawl_opts_format(c->crawl, f, o, v, sizeof(v));
	return v;
}

/* Load the `len` bytes of `text`; returns the result, err in *err. */
static int load_n(const char *text, size_t len, struct serve_config *c, char *err, size_t n)
{
	assert_int_equal(config_defaults(c), 0);
	int r = config_load_file(c, write_ini_n(text, len), err, n);
	unlink(path);
	return r;
}

static int load(const char *text, struct serve_config *c, char *err, size_t n)
{
	return load_n(text, strlen(text), c, err, n);
}

static void test_durations(void **state)
{
	double d;
	assert_int_equal(feature_parse_duration("10", &d), 0);
	assert_true(d == 10);
	assert_int_equal(feature_parse_duration("10s", &d), 0);
	assert_true(d == 10);
	assert_int_equal(feature_parse_duration("5m", &d), 0);
	assert_true(d == 300);
	assert_int_equal(feature_parse_duration("1.5h", &d), 0);
	assert_true(d == 5400);
	assert_int_equal(feature_parse_duration("2d", &d), 0);
	assert_true(d == 172800);
	/* the API's syntax too */
	assert_int_equal(feature_parse_duration("250ms", &d), 0);
	assert_true(d == 0.25);
	assert_int_equal(feature_parse_duration("1w", &d), 0);
	assert_true(d == 604800);
	assert_int_equal(feature_parse_duration("0.5", &d), 0);
	assert_true(d == 0.5);
	const char *bad[] = {"", "s", "5x", "-1s", "+3", "1e999", "nan", "inf", "5 s", "5mss",
	                     "10ss", "0x10", " 5", "5w2",
	                     /* strtod's forms, which the API never took */
	                     "1e3", ".5h", "1."};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		if (feature_parse_duration(bad[i], &d) != -EINVAL)
			fail_msg("'%s' parsed as a duration", bad[i]);
	char t[32];
	feature_format_duration(0.25, t, sizeof(t));
	assert_string_equal(t, "250ms");
	feature_format_duration(604800, t, sizeof(t));
	assert_string_equal(t, "1w");
	feature_format_duration(90, t, sizeof(t));
	assert_string_equal(t, "90s");
}

static void test_sizes(void **state)
{
	uint64_t v;
	assert_int_equal(feature_parse_size("65536", &v), 0);
	assert_true(v == 65536);
	assert_int_equal(feature_parse_size("64K", &v), 0);
	assert_true(v == 65536);
	assert_int_equal(feature_parse_size("1M", &v), 0);
	assert_true(v == 1048576);
	assert_int_equal(feature_parse_size("2GB", &v), 0);
	assert_true(v == 2147483648ull);
	const char *bad[] = {"", "K", "-1", "1T", "99999999999999999999", "17179869184G", " 1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_equal(feature_parse_size(bad[i], &v), -EINVAL);
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
	assert_string_equal(val(&c, "config_paths"), "/etc");
	assert_string_equal(val(&c, "config_max_size"), "64K");
	assert_string_equal(val(&c, "file_root"), "/");
	assert_string_equal(val(&c, "file_excludes"), "/proc, /sys, /dev, /run");
	assert_string_equal(val(&c, "file_hash"), "false");
	assert_string_equal(val(&c, "file_hash_max_size"), "64M");
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
	assert_string_equal(val(&c, "config_paths"), "/etc/nginx, /etc/ssh, /opt/app/conf");
	assert_string_equal(val(&c, "file_hash"), "true");
	assert_string_equal(val(&c, "file_hash_max_size"), "1M");
	assert_int_equal(c.log_level, LOG_DEBUG);

	struct serve_config copy;
	assert_int_equal(config_copy(&copy, &c), 0);
	config_free(&c);
	assert_string_equal(val(&copy, "config_paths"), "/etc/nginx, /etc/ssh, /opt/app/conf");
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
	bad("[crawl]\nfile_hash = maybe\n", "[crawl] file_hash: not a boolean: 'maybe'");
	bad("[crawl]\nfile_nope = 1\n", "[crawl] file_nope: unknown key");
	bad("[intervals]\nmetric = 250ms\n", "'250ms' is out of range");
	bad("[log]\nlevel = loud\n", "[log] level: unknown level 'loud'");
	bad("[api]\nlisten = nowhere\n", "[api] listen");
	bad("[api]\nlisten = 127.0.0.1:99999\n", "[api] listen");
	bad("[store]\npath =\n", "[store] path: must not be empty");
	bad("[store]\npath = /a\npath = /b\n",
	    "line 3: [store] path: given twice (first on line 2)");
	/* the first error is the one reported */
	bad("[log]\nlevel = loud\n[api]\nfoo = 1\n", "line 2: [log] level");
	/* time limits: from 1 s to 1 d, as documented (not just above 0) */
	const char *limits[] = {"0.001", "1e-300", "0x1p-20", "500ms", "0.9", "25h", "2d", "0x10"};
	for (size_t i = 0; i < sizeof(limits) / sizeof(*limits); i++) {
		char text[96], want[128];
		snprintf(text, sizeof(text), "[crawl]\ntimeout = %s\n", limits[i]);
		snprintf(
		    want, sizeof(want),
		    "line 2: [crawl] timeout: not a duration from 1s to 1d: '%s' (use e.g. 30s)",
		    limits[i]);
		bad(text, want);
		snprintf(text, sizeof(text), "[crawl]\nfile_timeout = %s\n", limits[i]);
		bad(text, "line 2: [crawl] file_timeout: not a duration from 1s to 1d");
	}
	/* no hex floats (strtod would read 0x10 as 16 s) */
	bad("[intervals]\nmetric = 0x10\n", "line 2: [intervals] metric: not a duration: '0x10'");
	bad("[intervals]\nprocess = 0x1p4\n", "line 2: [intervals] process: not a duration");
	/* nor in the features' duration options (crawl -i 0x10) */
	const struct feature *f;
	bool neg;
	const struct feature_option *o = feature_option_by_flag("interval", true, &f, &neg);
	struct crawl_opts co;
	char err[256];
	assert_non_null(o);
	assert_int_equal(crawl_opts_init(&co), 0);
	assert_int_equal(crawl_opts_set(&co, f, o, "0x10", true, true, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--interval '0x10' is not a number of seconds between 0 and 3600");
	assert_int_equal(crawl_opts_set(&co, f, o, "0x1p-2", true, true, err, sizeof(err)),
	                 -EINVAL);
	crawl_opts_free(&co);
}

static void test_time_limit_bounds(void **state)
{
	struct serve_config c;
	char err[512];
	assert_int_equal(load("[crawl]\ntimeout = 1\nfile_timeout = 1d\n", &c, err, sizeof(err)),
	                 0);
	assert_true(c.timeout == 1);
	assert_true(c.file_timeout == 86400);
	config_free(&c);
	assert_int_equal(
	    load("[crawl]\ntimeout = 1000ms\nfile_timeout = 24h\n", &c, err, sizeof(err)), 0);
	assert_true(c.timeout == 1);
	assert_true(c.file_timeout == 86400);
	/* the flag goes through the same setter */
	assert_int_equal(config_set(&c, "crawl", "timeout", "0.001", false, err, sizeof(err)),
	                 -EINVAL);
	assert_string_equal(err, "not a duration from 1s to 1d: '0.001' (use e.g. 30s)");
	assert_true(c.timeout == 1);
	config_free(&c);
}

/* A NUL byte in a line: refused, naming the line (not a value cut short). */
static void test_nul_byte(void **state)
{
	static const char text[] = "[crawl]\nworkers = 2\0junk\n[log]\nlevel = warn\n";
	struct serve_config c;
	char err[512] = "";
	assert_int_equal(load_n(text, sizeof(text) - 1, &c, err, sizeof(err)), -EINVAL);
	if (!strstr(err, "line 2: holds a NUL byte"))
		fail_msg("error '%s'", err);
	config_free(&c);
	/* in a comment too, and after good lines: the line is the one with it */
	static const char text2[] = "[log]\nlevel = warn\n; a \0 comment\n";
	assert_int_equal(load_n(text2, sizeof(text2) - 1, &c, err, sizeof(err)), -EINVAL);
	if (!strstr(err, "line 3: holds a NUL byte"))
		fail_msg("error '%s'", err);
	config_free(&c);
}

/* Files that are not a regular file of at most 1 MiB are refused before
 * they are read: /dev/zero would never end, a directory read as empty. */
static void test_not_a_file(void **state)
{
	struct serve_config c;
	char err[512];
	assert_int_equal(config_defaults(&c), 0);
	assert_int_equal(config_load_file(&c, "/dev/zero", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "config file /dev/zero is a character device, not a regular file");
	char dir[] = "/tmp/vantage-cfgdir-XXXXXX";
	assert_non_null(mkdtemp(dir));
	assert_int_equal(config_load_file(&c, dir, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is a directory, not a regular file"));
	/* a FIFO with no writer: refused at once, not waited on */
	char fifo[64];
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(config_load_file(&c, fifo, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is a FIFO, not a regular file"));
	/* through a symlink: what it points to counts */
	char link[64];
	snprintf(link, sizeof(link), "%s/live.ini", dir);
	assert_int_equal(symlink("/dev/zero", link), 0);
	assert_int_equal(config_load_file(&c, link, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is a character device"));
	unlink(link);
	unlink(fifo);
	rmdir(dir);
	/* /dev/null: no settings, as before */
	assert_int_equal(config_load_file(&c, "/dev/null", err, sizeof(err)), 0);
	config_free(&c);
}

/* At most CONFIG_MAX_FILE bytes (1 MiB). */
static void test_file_size_cap(void **state)
{
	size_t n = CONFIG_MAX_FILE;
	char *text = malloc(n + 1);
	assert_non_null(text);
	/* comment lines of 1 KiB, then a key: exactly the cap is fine */
	memset(text, 'x', n);
	for (size_t i = 0; i < n; i += 1024) {
		text[i] = ';';
		text[i + 1023] = '\n';
	}
	static const char tail[] = "[log]\nlevel = warn\n";
	memcpy(text + n - 1024, tail, sizeof(tail) - 1);
	memset(text + n - 1024 + sizeof(tail) - 1, '\n', 1024 - (sizeof(tail) - 1));
	struct serve_config c;
	char err[512];
	assert_int_equal(load_n(text, n, &c, err, sizeof(err)), 0);
	assert_int_equal(c.log_level, LOG_WARN);
	config_free(&c);
	text[n] = '\n';
	assert_int_equal(load_n(text, n + 1, &c, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, "is larger than 1 MiB"));
	assert_non_null(strstr(err, "/tmp/vantage-cfg-"));
	config_free(&c);
	free(text);
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
	assert_non_null(strstr(val(&c, "config_paths"), "/etc/dir38, /etc/dir39"));
	assert_int_equal(c.log_level, LOG_WARN);
	config_free(&c);

	/* a line of CONFIG_MAX_LINE bytes is read whole, and the lines after
	 * it keep their numbers */
	enum { L = CONFIG_MAX_LINE };
	char *big = malloc(L + 64);
	assert_non_null(big);
	strcpy(big, "[log]\n;");
	memset(big + 7, 'x', L - 1);
	strcpy(big + 6 + L, "\nlevel = loud\n");
	assert_int_equal(load(big, &c, err, sizeof(err)), -EINVAL);
	if (!strstr(err, "line 3: [log] level: unknown level 'loud'"))
		fail_msg("error '%s'", err);
	config_free(&c);
	/* one byte more: "longer than", on its own line (not "line N+1:
	 * syntax error" on a line that does not exist) */
	strcpy(big, "[log]\n;");
	memset(big + 7, 'x', L);
	strcpy(big + 7 + L, "\nlevel = warn\n");
	assert_int_equal(load(big, &c, err, sizeof(err)), -EINVAL);
	if (!strstr(err, ", line 2: longer than 16384 bytes"))
		fail_msg("error '%s'", err);
	config_free(&c);
	/* the same as the last line, without a '\n' */
	big[7 + L] = 0;
	assert_int_equal(load(big, &c, err, sizeof(err)), -EINVAL);
	if (!strstr(err, ", line 2: longer than 16384 bytes"))
		fail_msg("error '%s'", err);
	config_free(&c);
	free(big);
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
	assert_string_equal(val(&c, "config_paths"), "/a, /b");
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

/* ---- the features' declarations -------------------------------------------- */

static void test_declared_defaults(void **state)
{
	struct serve_config c;
	assert_int_equal(config_defaults(&c), 0);
	for (size_t i = 0; i < feature_count; i++) {
		const struct feature *f = feature_table[i];
		assert_true(c.interval[i] == f->default_interval);
		/* every default parses (crawl_opts_init() would have failed) and
		 * reads back as itself */
		for (const struct feature_option *o = f->options; o && o->flag; o++) {
			char v[1024], again[1024], err[256];
			crawl_opts_format(c.crawl, f, o, v, sizeof(v));
			if (o->type != FOPT_BOOL && o->dflt)
				assert_true(*v);
			assert_int_equal(
			    crawl_opts_set(c.crawl, f, o, v, true, false, err, sizeof(err)), 0);
			crawl_opts_format(c.crawl, f, o, again, sizeof(again));
			assert_string_equal(v, again);
			assert_non_null(o->help);
			assert_true(o->type == FOPT_BOOL || o->metavar);
		}
	}
	/* lanes and intervals as the daemon had them */
	assert_int_equal(feature_find("package")->lane, FEATURE_LANE_SLOW);
	assert_int_equal(feature_find("config")->lane, FEATURE_LANE_SLOW);
	assert_int_equal(feature_find("file")->lane, FEATURE_LANE_FILE);
	assert_int_equal(feature_find("metric")->lane, FEATURE_LANE_FAST);
	assert_true(feature_find("metric")->paces_discovery);
	config_free(&c);

	/* metric's sample interval: 1 s for a crawl, fitted to serve's interval */
	struct crawl_opts o;
	assert_int_equal(crawl_opts_init(&o), 0);
	assert_true(o.sample_interval == 1);
	double iv[FEATURE_MAX] = {0};
	iv[feat("metric")] = 1;
	crawl_opts_fit(&o, iv);
	assert_true(o.sample_interval == 0.5);
	iv[feat("metric")] = 10;
	crawl_opts_fit(&o, iv);
	assert_true(o.sample_interval == 1);
	crawl_opts_free(&o);
}

/* A good value of each type, and how it reads back. */
static const char *sample(enum feature_opt_type t, const char **back)
{
	switch (t) {
	case FOPT_BOOL:
		return *back = "true", "yes";
	case FOPT_SIZE:
		return *back = "2M", "2048K";
	case FOPT_DURATION:
		return *back = "250ms", "0.25";
	case FOPT_STRING:
		return *back = "/srv/x", "/srv/x";
	case FOPT_LIST:
		return *back = "/a, /b", "/a,/b";
	}
	return NULL;
}

static const char *bad_sample(enum feature_opt_type t)
{
	return t == FOPT_STRING ? "" : t == FOPT_LIST ? NULL : "12Q";
}

static void test_every_option(void **state)
{
	char flags[256][64];
	int nflags = 0;
	for (size_t i = 0; i < feature_count; i++) {
		const struct feature *f = feature_table[i];
		for (const struct feature_option *o = f->options; o && o->flag; o++) {
			const char *back, *good = sample(o->type, &back),
			                  *badv = bad_sample(o->type);
			char v[1024], err[512], file[256];
			/* flags and keys are unique */
			for (int k = 0; k < nflags; k++)
				assert_string_not_equal(flags[k], o->flag);
			snprintf(flags[nflags++], sizeof(flags[0]), "%s", o->flag);

			/* as a flag of crawl */
			struct crawl_opts co;
			assert_int_equal(crawl_opts_init(&co), 0);
			const struct feature *ff;
			bool neg;
			assert_ptr_equal(feature_option_by_flag(o->flag, true, &ff, &neg), o);
			assert_ptr_equal(ff, f);
			const char *fv = o->type == FOPT_LIST ? "/a" : good;
			assert_int_equal(
			    crawl_opts_set(&co, f, o, fv, true, true, err, sizeof(err)), 0);
			if (o->type == FOPT_LIST)
				assert_int_equal(
				    crawl_opts_set(&co, f, o, "/b", false, true, err, sizeof(err)),
				    0);
			crawl_opts_format(&co, f, o, v, sizeof(v));
			assert_string_equal(v, back);
			if (badv) {
				assert_int_equal(
				    crawl_opts_set(&co, f, o, badv, true, true, err, sizeof(err)),
				    -EINVAL);
				char want[80];
				snprintf(want, sizeof(want), "--%s", o->flag);
				if (!strstr(err, want))
					fail_msg("error '%s' does not name %s", err, want);
			}
			crawl_opts_free(&co);
			if (!o->key)
				continue; /* a flag of crawl only */

			/* as a flag of serve */
			const char *section, *key, *fixed;
			bool has_arg;
			assert_true(config_flag_find(o->flag, &section, &key, &has_arg, &fixed));
			assert_string_equal(section, "crawl");
			assert_string_equal(key, o->key);
			assert_int_equal(has_arg, o->type != FOPT_BOOL);
			if (o->type == FOPT_BOOL) {
				char no[80];
				snprintf(no, sizeof(no), "no-%s", o->flag);
				assert_true(config_flag_find(no, &section, &key, &has_arg, &fixed));
				assert_string_equal(fixed, "false");
			}

			/* as a key of the file */
			struct serve_config c;
			snprintf(file, sizeof(file), "[crawl]\n%s = %s\n", o->key, good);
			assert_int_equal(load(file, &c, err, sizeof(err)), 0);
			assert_string_equal(val(&c, o->key), back);
			struct buf b = BUF_INIT;
			config_describe(&c, &b);
			snprintf(file, sizeof(file), "[crawl] %s = %s\n", o->key, back);
			assert_non_null(strstr(buf_str(&b), file));
			buf_free(&b);
			config_free(&c);
			if (badv) {
				char want[80];
				snprintf(file, sizeof(file), "[crawl]\n%s = %s\n", o->key, badv);
				snprintf(want, sizeof(want), "line 2: [crawl] %s: ", o->key);
				bad(file, want);
			}
		}
	}
	assert_true(nflags >= 7);
	/* the messages of today */
	const struct feature *f;
	bool neg;
	const struct feature_option *o = feature_option_by_flag("interval", true, &f, &neg);
	struct crawl_opts co;
	char err[256];
	assert_int_equal(crawl_opts_init(&co), 0);
	assert_int_equal(crawl_opts_set(&co, f, o, "4000", true, true, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--interval '4000' is not a number of seconds between 0 and 3600");
	o = feature_option_by_flag("config-max-size", true, &f, &neg);
	assert_int_equal(crawl_opts_set(&co, f, o, "big", true, true, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "--config-max-size 'big' is not a size (e.g. 65536, 64K, 1M)");
	crawl_opts_free(&co);
	/* a crawl-only flag is no flag of serve */
	const char *section, *key, *fixed;
	bool has_arg;
	assert_false(config_flag_find("interval", &section, &key, &has_arg, &fixed));
}

/* docs/configuration.md holds the rows `vantage features --options --markdown`
 * prints (run from the top of the tree; skipped elsewhere). */
/* [output] sinks: a comma list whose URLs keep the commas of their
 * authority (several Kafka brokers) */
static void test_sinks_list(void **state)
{
	struct serve_config c;
	char err[512];
	assert_int_equal(load("[output]\nsinks = kafka://b1:9092,b2:9092/frames?delta=off, "
	                      "/var/log/a.jsonl ,graphite://[::1]:2003?prefix=x,"
	                      "http://h:80/in#batch_frames=10\n",
	                      &c, err, sizeof(err)),
	                 0);
	assert_int_equal(c.sinks.n, 4);
	assert_string_equal(c.sinks.v[0], "kafka://b1:9092,b2:9092/frames?delta=off");
	assert_string_equal(c.sinks.v[1], "/var/log/a.jsonl");
	assert_string_equal(c.sinks.v[2], "graphite://[::1]:2003?prefix=x");
	assert_string_equal(c.sinks.v[3], "http://h:80/in#batch_frames=10");
	config_free(&c);
	assert_int_equal(load("[output]\nsinks = a.jsonl,b.jsonl\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.sinks.n, 2);
	assert_string_equal(c.sinks.v[1], "b.jsonl");
	config_free(&c);
	assert_int_equal(load("[output]\nsinks = kafka://b1,b2/t\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.sinks.n, 1);
	config_free(&c);
	assert_int_equal(load("[output]\nsinks = a.jsonl,,b\n", &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "empty sink URL"));
	config_free(&c);
}

/* [logs] retention and retention_per_source: GLOB=DURATION entries split
 * at ";;" and at their last '=', durations 1m to 366d. */
static void test_log_retention(void **state)
{
	struct serve_config c;
	char err[512];
	assert_int_equal(load("[logs]\nretention = 30d\nretention_per_source = "
	                      "file:/var/log/nginx/*=1d;;stdout = 12h;;k=v*=2h\n",
	                      &c, err, sizeof(err)),
	                 0);
	assert_true(c.log_retention == 30 * 86400.0);
	assert_int_equal(c.log_retain_src.n, 3);
	size_t gl;
	double secs;
	assert_int_equal(config_retain_split(c.log_retain_src.v[0], &gl, &secs), 0);
	assert_int_equal(gl, strlen("file:/var/log/nginx/*"));
	assert_true(secs == 86400.0);
	assert_int_equal(config_retain_split(c.log_retain_src.v[1], &gl, &secs), 0);
	assert_int_equal(gl, 6);
	assert_true(secs == 43200.0);
	assert_int_equal(config_retain_split(c.log_retain_src.v[2], &gl, &secs), 0);
	assert_int_equal(gl, 4); /* "k=v*": the last '=' splits */
	struct serve_config d;
	assert_int_equal(config_copy(&d, &c), 0);
	assert_string_equal(d.log_retain_src.v[1], "stdout = 12h");
	config_free(&d);
	config_free(&c);
	/* the default: none, 7 days */
	assert_int_equal(load("", &c, err, sizeof(err)), 0);
	assert_int_equal(c.log_retain_src.n, 0);
	assert_true(c.log_retention == 7 * 86400.0);
	config_free(&c);
	static const char *const bad[] = {"stdout",      "=1d",          "stdout=",  "stdout=10s",
	                                  "stdout=400d", "a=1d;;;;b=1d", "stdout=1x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char ini[128];
		snprintf(ini, sizeof(ini), "[logs]\nretention_per_source = %s\n", bad[i]);
		assert_int_equal(load(ini, &c, err, sizeof(err)), -EINVAL);
		config_free(&c);
	}
}

static void test_docs_in_sync(void **state)
{
	FILE *f = fopen("docs/configuration.md", "r");
	if (!f)
		skip();
	char *docs = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&docs, &len);
	char line[4096];
	while (fgets(line, sizeof(line), f))
		fputs(line, m);
	fclose(f);
	fclose(m);
	char *rows = NULL;
	size_t rlen = 0;
	m = open_memstream(&rows, &rlen);
	feature_options_help(m, FEATURE_HELP_MARKDOWN);
	fclose(m);
	char missing[4096] = "";
	for (char *save, *r = strtok_r(rows, "\n", &save); r; r = strtok_r(NULL, "\n", &save))
		if (!strstr(docs, r) && !missing[0])
			snprintf(missing, sizeof(missing), "%s", r);
	free(rows);
	free(docs);
	if (missing[0]) /* after the frees: a failure leaks nothing */
		fail_msg("docs/configuration.md lacks the row (vantage features --options "
		         "--markdown):\n%s",
		         missing);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_log_retention),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_good_file),
	    cmocka_unit_test(test_bad_files),
	    cmocka_unit_test(test_long_line),
	    cmocka_unit_test(test_time_limit_bounds),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_not_a_file),
	    cmocka_unit_test(test_file_size_cap),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_describe_hides_token),
	    cmocka_unit_test(test_declared_defaults),
	    cmocka_unit_test(test_every_option),
	    cmocka_unit_test(test_sinks_list),
	    cmocka_unit_test(test_docs_in_sync),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
