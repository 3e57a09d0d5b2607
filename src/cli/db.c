/*
 * db.c - `vantage db`: the store itself.  `vantage db check` checks its
 * consistency (store_verify(): the database's own checks and the store's
 * invariants) and says what it found, without the daemon, read-only.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../store/store.h"
#include "../util/buf.h"
#include "../util/json.h"
#include "cli.h"
#include "serve_config.h"
#include "sysref.h"

static void db_usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: vantage db check [OPTIONS]\n"
	    "\n"
	    "Check the store's consistency, read-only (a running daemon goes on writing):\n"
	    "SQLite's PRAGMA integrity_check and foreign_key_check, then the store's own\n"
	    "invariants: every frame's header record and record sets exist, every set's\n"
	    "records exist, points belong to series and systems that exist, the kept\n"
	    "counts equal the rows, log lines belong to a source.  On PostgreSQL the\n"
	    "store's invariants (the server checks its own files).  One line per check.\n"
	    "\n"
	    "Options:\n"
	    "      --db PATH|URL    the store (default: [store] path of\n"
	    "                       " CONFIG_DEFAULT_FILE ", else\n"
	    "                       " CONFIG_DEFAULT_DB ")\n"
	    "  -j, --json           {\"store\", \"ok\", \"problems\", \"checks\": [{\"check\",\n"
	    "                       \"problems\", \"detail\"}, ...]}\n"
	    "  -h, --help           show this help\n"
	    "\n"
	    "Exit status: 0 the store is consistent, 1 problems were found or the store\n"
	    "could not be read (corrupt, not a store), 2 bad usage or no store there.\n");
}

struct db_out {
	bool json;
	struct json *j;
};

static int print_check(void *ctx, const char *check, int64_t problems, const char *detail)
{
	struct db_out *o = ctx;
	if (o->json) {
		jw_obj_begin(o->j, NULL);
		jw_str(o->j, "check", check);
		jw_int(o->j, "problems", problems);
		jw_str(o->j, "detail", detail);
		jw_obj_end(o->j);
	} else {
		printf("%-30s %-4s %s\n", check, problems ? "FAIL" : "ok", detail);
		fflush(stdout);
	}
	return 0;
}

static int db_check(int argc, char **argv)
{
	enum { O_DB = 256 };
	static const struct option longopts[] = {
	    {"db", required_argument, 0, O_DB},
	    {"json", no_argument, 0, 'j'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	const char *db = NULL;
	bool json = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (c) {
		case O_DB:
			db = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			db_usage(stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'vantage db --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr,
		        "vantage db check: unexpected argument '%s'\nTry 'vantage db --help'.\n",
		        argv[optind]);
		return EXIT_USAGE;
	}
	struct store *st;
	int status = sysref_open_db("db check", db, &st);
	if (status != EXIT_OK)
		return status;
	struct buf b = BUF_INIT;
	struct json j;
	struct db_out o = {.json = json, .j = &j};
	if (json) {
		jw_init(&j, &b);
		jw_obj_begin(&j, NULL);
		jw_arr_begin(&j, "checks");
	}
	int r = store_verify(st, print_check, &o);
	if (r < 0) {
		fprintf(stderr, "vantage db check: the store could not be read to the end: %s\n",
		        store_errmsg(st));
		status = EXIT_FAIL;
	} else {
		status = r ? EXIT_FAIL : EXIT_OK;
	}
	char safe[1024];
	if (json) {
		jw_arr_end(&j);
		if (db) /* (none given: the default store) */
			jw_str(&j, "store", store_url_safe(db, safe, sizeof(safe)));
		else
			jw_null(&j, "store");
		jw_bool(&j, "ok", r == 0);
		jw_int(&j, "problems", r < 0 ? -1 : r);
		jw_obj_end(&j);
		printf("%s\n", buf_str(&b));
	} else if (r >= 0) {
		printf("%s: %s\n", r ? "FAIL" : "ok",
		       r ? "problems found (the lines marked FAIL)" : "the store is consistent");
	}
	buf_free(&b);
	store_close(st);
	return status;
}

int cmd_db(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		db_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	if (strcmp(argv[1], "check") == 0)
		return db_check(argc - 1, argv + 1);
	fprintf(stderr, "vantage db: unknown subcommand '%s'\nTry 'vantage db --help'.\n", argv[1]);
	return EXIT_USAGE;
}
