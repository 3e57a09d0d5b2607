/*
 * api_cmd.c - `vantage api`: serve the REST API and /metrics over an
 * existing store file, read-only, until SIGTERM or SIGINT; or, with
 * --import, load frames written by `vantage crawl` into a store file and
 * exit.
 *
 * Serving: signals are blocked before the server's threads start (they
 * inherit the mask), and the main thread waits for them with sigwait(), so
 * no handler runs in the middle of a request.  Import: the JSON Lines
 * input is read line by line; a header record (top-level "feature" is
 * "frame") starts a new frame; each complete frame goes to
 * store_put_frame() in its own transaction.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../server/server.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "../util/log.h"
#include "../util/util.h"
#include "cli.h"

#define MAX_TOKEN_FILE 4096

static void api_usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: vantage api --db PATH [OPTIONS]\n"
	    "       vantage api --db PATH --import FILE\n"
	    "\n"
	    "Serve the REST API (/api/v1/...) and the Prometheus endpoint (/metrics) over\n"
	    "an existing store file, read-only, until SIGTERM or SIGINT.  The endpoints are\n"
	    "described in docs/api.md.  `vantage serve` serves the same API while it crawls.\n"
	    "\n"
	    "Options:\n"
	    "      --db PATH           the store to serve (a SQLite file or postgres://...);\n"
	    "                          must exist\n"
	    "  -l, --listen ADDR       address to listen on (default " SERVER_DEFAULT_LISTEN ");\n"
	    "                          [::1]:7070 for IPv6, port 0 for any free port; an\n"
	    "                          address other hosts can reach requires a token\n"
	    "      --token TOKEN       require 'Authorization: Bearer TOKEN' on every request\n"
	    "                          (visible in ps: prefer --token-file)\n"
	    "      --token-file FILE   read the token from FILE (first line)\n"
	    "      --tls-cert FILE     serve HTTPS with this PEM certificate (chain)\n"
	    "      --tls-key FILE      its PEM private key (mode 600); both or neither\n"
	    "      --threads N         worker threads (default 4)\n"
	    "      --ui-dir DIR        the dashboard's files (default: found next to the\n"
	    "                          binary; docs/dashboard.md)\n"
	    "      --import FILE       load the frames of FILE (JSON Lines written by\n"
	    "                          `vantage crawl`, '-' for stdin) into the store, creating\n"
	    "                          it if needed, then exit\n"
	    "      --log-level LEVEL   debug, info, warn (default), error, off\n"
	    "  -h, --help              show this help\n"
	    "\n"
	    "Prints \"listening on http://ADDR\" and \"dashboard: http://ADDR/\" (https with\n"
	    "--tls-cert) on stderr\n"
	    "once it serves.\n"
	    "Exit status: 0 stopped by a signal or imported, 1 failure, 2 bad usage.\n");
}

/* ---- token file -------------------------------------------------------------- */

static int read_token_file(const char *path, char **out)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "vantage api: --token-file %s: %s\n", path, strerror(errno));
		return -1;
	}
	struct stat st;
	const char *bad = fstat(fileno(f), &st) < 0 ? strerror(errno)
	                  : S_ISDIR(st.st_mode)     ? "is a directory, not a file"
	                                            : NULL;
	if (bad) {
		fprintf(stderr, "vantage api: --token-file %s: %s\n", path, bad);
		fclose(f);
		return -1;
	}
	if (S_ISREG(st.st_mode) && (st.st_mode & 0077)) /* not a pipe: <(cmd) */
		log_warn("token file %s is readable by other users (chmod 600 it)", path);
	char *line = calloc(1, MAX_TOKEN_FILE + 1);
	if (!line || !fgets(line, MAX_TOKEN_FILE + 1, f)) {
		fprintf(stderr, "vantage api: --token-file %s: empty\n", path);
		free(line);
		fclose(f);
		return -1;
	}
	fclose(f);
	size_t n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' ' ||
	             line[n - 1] == '\t'))
		line[--n] = 0;
	if (!n) {
		fprintf(stderr, "vantage api: --token-file %s: empty\n", path);
		free(line);
		return -1;
	}
	*out = line;
	return 0;
}

/* ---- import ------------------------------------------------------------------ */

/* Skip the JSON string at *p (on its quote); false if unterminated. */
static bool skip_string(const char **p, const char *end)
{
	for ((*p)++; *p < end; (*p)++) {
		if (**p == '\\')
			(*p)++;
		else if (**p == '"') {
			(*p)++;
			return true;
		}
	}
	return false;
}

/* Skip one JSON value at *p: a string, or anything up to the ',' or '}'
 * that ends it at this depth. */
static bool skip_value(const char **p, const char *end)
{
	int depth = 0;
	while (*p < end) {
		char c = **p;
		if (c == '"') {
			if (!skip_string(p, end))
				return false;
			if (depth == 0)
				return true;
			continue;
		}
		if (c == '{' || c == '[')
			depth++;
		else if (c == '}' || c == ']') {
			if (depth == 0)
				return true;
			depth--;
		} else if (c == ',' && depth == 0)
			return true;
		(*p)++;
	}
	return false;
}

/* Is this record line a frame header: is its top-level "feature" "frame"? */
static bool is_header(const char *line, size_t n)
{
	const char *p = line, *end = line + n;
	skip_blanks(&p, end);
	if (p >= end || *p++ != '{')
		return false;
	while (p < end) {
		skip_blanks(&p, end);
		if (p >= end || *p != '"')
			return false;
		const char *k = p;
		if (!skip_string(&p, end))
			return false;
		bool feature = p - k == 9 && memcmp(k, "\"feature\"", 9) == 0;
		skip_blanks(&p, end);
		if (p >= end || *p++ != ':')
			return false;
		skip_blanks(&p, end);
		if (feature)
			return end - p >= 7 && memcmp(p, "\"frame\"", 7) == 0;
		if (!skip_value(&p, end))
			return false;
		skip_blanks(&p, end);
		if (p >= end || *p++ != ',')
			return false;
	}
	return false;
}

struct import {
	struct store *st;
	const char *file;
	struct buf frame;
	long frame_line; /* line of its header */
	long records;    /* in the current frame */
	long frames, total;
};

static int put_frame(struct import *im)
{
	if (!im->frame.len)
		return 0;
	int64_t id;
	int rc = store_put_frame(im->st, im->frame.data, im->frame.len, &id);
	if (rc < 0) {
		fprintf(stderr, "vantage api: %s: the frame at line %ld was not imported: %s\n",
		        im->file, im->frame_line, store_errmsg(im->st));
		return rc;
	}
	im->frames++;
	im->total += im->records;
	buf_reset(&im->frame);
	im->records = 0;
	return 0;
}

static int import_file(struct store *st, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	if (!f) {
		fprintf(stderr, "vantage api: --import %s: %s\n", path, strerror(errno));
		return -1;
	}
	struct import im = {.st = st, .file = strcmp(path, "-") == 0 ? "stdin" : path};
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	int rc = 0;
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		const char *p = line;
		size_t len = (size_t)n;
		trim(&p, &len);
		if (!len)
			continue;
		if (p[0] != '{') {
			fprintf(
			    stderr,
			    "vantage api: %s line %ld: not a JSON record (--import reads the JSON "
			    "Lines of `vantage crawl`, not --format crawler)\n",
			    im.file, lineno);
			rc = -1;
			break;
		}
		if (is_header(p, len)) {
			if ((rc = put_frame(&im)) < 0)
				break;
			im.frame_line = lineno;
		} else if (!im.frame.len) {
			fprintf(stderr,
			        "vantage api: %s line %ld: a record before any frame header\n",
			        im.file, lineno);
			rc = -1;
			break;
		} else {
			im.records++;
		}
		buf_add(&im.frame, p, len);
		buf_addc(&im.frame, '\n');
	}
	if (rc == 0 && ferror(f)) {
		fprintf(stderr, "vantage api: --import %s: %s\n", path, strerror(errno));
		rc = -1;
	}
	if (rc == 0)
		rc = put_frame(&im);
	free(line);
	buf_free(&im.frame);
	if (f != stdin)
		fclose(f);
	fprintf(stderr, "imported %ld frames (%ld records) from %s\n", im.frames, im.total,
	        im.file);
	return rc < 0 ? -1 : 0;
}

static int do_import(const char *db, const char *path)
{
	struct store *st;
	if (store_open(db, STORE_RW, &st) < 0) {
		fprintf(stderr, "vantage api: %s\n", store_errmsg(NULL));
		return EXIT_FAIL;
	}
	int rc = import_file(st, path);
	store_close(st);
	return rc < 0 ? EXIT_FAIL : EXIT_OK;
}

/* ---- serve ------------------------------------------------------------------- */

static int serve(const struct server_opts *o)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* the server's threads inherit it */
	signal(SIGPIPE, SIG_IGN);

	char err[512];
	struct server *srv;
	if (server_start(o, &srv, err, sizeof(err)) < 0) {
		fprintf(stderr, "vantage api: %s\n", err);
		return EXIT_FAIL;
	}
	fprintf(stderr, "listening on %s://%s\n", server_scheme(srv), server_address(srv));
	fprintf(stderr, "dashboard: %s://%s/\n", server_scheme(srv), server_address(srv));
	for (;;) {
		int sig = 0;
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_info("SIGHUP: nothing to reload in `vantage api`");
			continue;
		}
		log_info("signal %d: stopping", sig);
		break;
	}
	server_stop(srv);
	return EXIT_OK;
}

int cmd_api(int argc, char **argv)
{
	enum {
		O_DB = 256,
		O_TOKEN,
		O_TOKEN_FILE,
		O_THREADS,
		O_IMPORT,
		O_LOG,
		O_UI_DIR,
		O_TLS_CERT,
		O_TLS_KEY
	};
	static const struct option opts[] = {
	    {"db", required_argument, NULL, O_DB},
	    {"listen", required_argument, NULL, 'l'},
	    {"token", required_argument, NULL, O_TOKEN},
	    {"token-file", required_argument, NULL, O_TOKEN_FILE},
	    {"threads", required_argument, NULL, O_THREADS},
	    {"import", required_argument, NULL, O_IMPORT},
	    {"log-level", required_argument, NULL, O_LOG},
	    {"ui-dir", required_argument, NULL, O_UI_DIR},
	    {"tls-cert", required_argument, NULL, O_TLS_CERT},
	    {"tls-key", required_argument, NULL, O_TLS_KEY},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct server_opts o = {0};
	const char *token = NULL, *token_file = NULL, *import = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "l:h", opts, NULL)) != -1) {
		switch (c) {
		case O_DB:
			o.store_path = optarg;
			break;
		case 'l':
			o.listen = optarg;
			break;
		case O_TOKEN:
			token = optarg;
			break;
		case O_TOKEN_FILE:
			token_file = optarg;
			break;
		case O_IMPORT:
			import = optarg;
			break;
		case O_UI_DIR:
			o.ui_dir = optarg;
			break;
		case O_TLS_CERT:
			o.tls_cert = optarg;
			break;
		case O_TLS_KEY:
			o.tls_key = optarg;
			break;
		case O_THREADS: {
			char *end;
			long n = strtol(optarg, &end, 10);
			if (*end || end == optarg || n < 1 || n > 64) {
				fprintf(stderr, "vantage api: --threads '%s': expected 1-64\n",
				        optarg);
				return EXIT_USAGE;
			}
			o.threads = (int)n;
			break;
		}
		case O_LOG: {
			int l = log_level_parse(optarg);
			if (l < 0) {
				fprintf(
				    stderr,
				    "vantage api: --log-level '%s': expected debug, info, warn, "
				    "error or off\n",
				    optarg);
				return EXIT_USAGE;
			}
			log_threshold = (enum log_level)l;
			break;
		}
		case 'h':
			api_usage(stdout);
			return EXIT_OK;
		default:
			api_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vantage api: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (!o.store_path) {
		fprintf(stderr, "vantage api: --db PATH is required (the store file to serve)\n");
		return EXIT_USAGE;
	}
	if (import)
		return do_import(o.store_path, import);
	if (token && token_file) {
		fprintf(stderr, "vantage api: give --token or --token-file, not both\n");
		return EXIT_USAGE;
	}
	struct store *probe;
	int orc = store_open(o.store_path, STORE_RO, &probe);
	if (orc == -ENOENT || orc == -ENOTDIR) {
		char safe[1024];
		store_url_safe(o.store_path, safe, sizeof(safe));
		fprintf(stderr,
		        "vantage api: no store at %s (%s); `vantage serve --db %s` makes one, or "
		        "`vantage api --db %s --import FRAMES.jsonl`\n",
		        safe, strerror(-orc), safe, safe);
		return EXIT_FAIL;
	}
	store_close(probe); /* other errors: server_start() says them */
	char *file_token = NULL;
	if (token_file) {
		if (read_token_file(token_file, &file_token) < 0)
			return EXIT_FAIL;
		token = file_token;
	}
	o.token = token;
	char err[512];
	if (server_check_opts(&o, err, sizeof(err)) < 0) { /* listen address, token */
		fprintf(stderr, "vantage api: %s\n", err);
		free(file_token);
		return EXIT_USAGE;
	}
	int rc = serve(&o);
	free(file_token);
	return rc;
}
