/*
 * search.c - `vantage search QUERY`: records across every system in the
 * store, grouped by system (analytics/search.c; the language is
 * docs/search.md).  This file parses the arguments, builds the index from
 * the store and prints.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../analytics/search.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "cli.h"
#include "serve_config.h"
#include "sysref.h"

#define VALUE_SHOWN 100 /* bytes of a value in the text output */

static void search_usage(FILE *out)
{
	fprintf(out,
	        "Usage: vantage search QUERY [OPTIONS]\n"
	        "\n"
	        "Find records across every system in the store: the latest state of each\n"
	        "present system (or the state at a time), answered grouped by system.\n"
	        "\n"
	        "  package name=openssl version<3.0.14     a feature and field conditions\n"
	        "  connection state=LISTEN local_port=3306\n"
	        "  process user=root cmdline~nginx          ~ contains (any case), ~/re/ a regex\n"
	        "  has package name=a and has package name=b   systems with both\n"
	        "  nginx                                    a word in any record's key or values\n"
	        "  system kind=container image~redis        the systems themselves\n"
	        "Operators = != ~ !~ < <= > >= in (a,b); and, or, not, parentheses.\n"
	        "Versions compare by the package's manager (dpkg, rpm, apk).  The\n"
	        "language, with examples: docs/search.md.\n"
	        "\n"
	        "Options:\n"
	        "  -j, --json           {\"results\":[{system, name, feature, key, value}...],\n"
	        "                       \"systems\", \"total\", \"truncated\", \"index\":{...}}\n"
	        "      --at TIME        the state at TIME (ISO-8601, epoch seconds, or a\n"
	        "                       duration meaning that long ago: 10m, 1h, 2d)\n"
	        "  -n, --limit N        at most N results (default %d, at most %d)\n"
	        "      --stats          print the index's size and the time taken\n"
	        "      --db PATH        the store file (default: [store] path of\n"
	        "                       " CONFIG_DEFAULT_FILE ", else\n"
	        "                       " CONFIG_DEFAULT_DB ")\n"
	        "  -h, --help           show this help\n"
	        "\n"
	        "Exit status: 0 searched (with or without results), 1 the store could not\n"
	        "be read, 2 bad usage or a bad query (the error points at the bad token).\n",
	        SEARCH_LIMIT_DEFAULT, SEARCH_LIMIT_MAX);
}

static double mono_ms(void)
{
	return (double)mono_ns() / 1e6;
}

static int64_t now_ms(void)
{
	return now_ns() / 1000000;
}

static void print_text(const struct search_index *ix, const struct search_result *r)
{
	uint32_t cur = UINT32_MAX;
	for (size_t i = 0; i < r->nhits; i++) {
		const struct search_hit *h = &r->hits[i];
		const struct sx_sys *y = &ix->sys[h->sys];
		if (h->sys != cur) {
			size_t n = 0;
			for (size_t k = i; k < r->nhits && r->hits[k].sys == h->sys; k++)
				n += r->hits[k].rec != SEARCH_NO_RECORD;
			printf("%s%s  %s", cur == UINT32_MAX ? "" : "\n", sx_str(ix, y->name),
			       sx_str(ix, y->id));
			if (n)
				printf("  (%zu record%s)", n, n == 1 ? "" : "s");
			putchar('\n');
			cur = h->sys;
		}
		if (h->rec == SEARCH_NO_RECORD)
			continue;
		const struct sx_rec *rec = &ix->recs[h->rec];
		const char *v = sx_str(ix, rec->val);
		printf("  %-10s %-32s %.*s%s\n", ix->features[rec->feature], sx_str(ix, rec->key),
		       VALUE_SHOWN, v, rec->val_len > VALUE_SHOWN ? "..." : "");
	}
	if (r->nhits)
		putchar('\n');
	printf("%zu system%s, %zu result%s", r->systems, r->systems == 1 ? "" : "s", r->total,
	       r->total == 1 ? "" : "s");
	if (r->truncated)
		printf(" (the first %zu shown; --limit N for more)", r->nhits);
	putchar('\n');
}

static void print_stats(const struct search_index *ix, double build_ms, double query_ms)
{
	struct search_index_stats s;
	search_index_stats(ix, &s);
	printf("index: %zu systems, %zu distinct records held %zu times, %zu postings, %zu "
	       "field paths\n",
	       s.systems, s.records, s.pairs, s.postings, s.paths);
	printf("index bytes: %llu (an index of every system's copy: %llu, %.1fx larger)\n",
	       (unsigned long long)s.bytes, (unsigned long long)s.per_frame_bytes,
	       s.bytes ? (double)s.per_frame_bytes / (double)s.bytes : 0.0);
	printf("build: %.1f ms", build_ms);
	if (query_ms >= 0)
		printf(", query: %.2f ms", query_ms);
	putchar('\n');
}

int cmd_search(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"at", required_argument, NULL, 'A'},
	    {"limit", required_argument, NULL, 'n'},
	    {"stats", no_argument, NULL, 'S'},
	    {"db", required_argument, NULL, 'D'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool json = false, stats = false;
	const char *db = NULL, *at = NULL;
	long limit = SEARCH_LIMIT_DEFAULT;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "jn:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'A':
			at = optarg;
			break;
		case 'n': {
			char *end;
			errno = 0;
			limit = strtol(optarg, &end, 10);
			if (end == optarg || *end || errno || limit < 0 ||
			    limit > SEARCH_LIMIT_MAX) {
				fprintf(
				    stderr,
				    "vantage search: --limit '%s': a whole number from 0 to %d\n",
				    optarg, SEARCH_LIMIT_MAX);
				return EXIT_USAGE;
			}
			break;
		}
		case 'S':
			stats = true;
			break;
		case 'D':
			db = optarg;
			break;
		case 'h':
			search_usage(stdout);
			return EXIT_OK;
		default:
			search_usage(stderr);
			return EXIT_USAGE;
		}
	}
	/* the query: the arguments left, joined by spaces */
	struct buf q = BUF_INIT;
	for (int i = optind; i < argc; i++) {
		if (q.len)
			buf_addc(&q, ' ');
		buf_adds(&q, argv[i]);
	}
	if (!q.len && !stats) {
		fprintf(stderr, "vantage search: a QUERY is needed (vantage search --help)\n");
		buf_free(&q);
		return EXIT_USAGE;
	}
	int64_t at_ms = 0;
	if (at && (parse_time(at, now_ms(), &at_ms) < 0 || at_ms <= 0)) {
		fprintf(stderr,
		        "vantage search: --at '%s': not a time (ISO-8601, epoch seconds, or a "
		        "duration ago: 10m, 1h)\n",
		        at);
		buf_free(&q);
		return EXIT_USAGE;
	}
	/* the query is checked before the store is read */
	struct sq_error err;
	struct sq_node *tree = NULL;
	if (q.len && !(tree = search_parse(NULL, q.data, &err))) {
		struct buf m = BUF_INIT;
		sq_error_show(q.data, &err, &m);
		fprintf(stderr, "vantage search: bad query at column %d: %s\n%s", err.col, err.msg,
		        m.data);
		buf_free(&m);
		buf_free(&q);
		return EXIT_USAGE;
	}
	struct store *st = NULL;
	int rc = sysref_open_db("search", db, &st);
	if (rc != EXIT_OK) {
		sq_free(tree);
		buf_free(&q);
		return rc;
	}
	double t0 = mono_ms();
	struct search_index *ix = NULL;
	char e[512];
	/* only the query's candidate records when the store can (PostgreSQL) */
	int r = tree ? search_index_build_for(st, at_ms, tree, &ix, e, sizeof(e)) : -ENOTSUP;
	if (r == -ENOTSUP)
		r = search_index_build(st, at_ms, &ix, e, sizeof(e));
	double t1 = mono_ms();
	store_close(st);
	if (r < 0) {
		fprintf(stderr, "vantage search: %s\n", e);
		sq_free(tree);
		buf_free(&q);
		return EXIT_FAIL;
	}
	double query_ms = -1;
	if (tree) {
		/* parsed again against the index: features only it knows */
		sq_free(tree);
		tree = search_parse(ix, q.data, &err);
	}
	if (tree) {
		struct search_result res;
		double t2 = mono_ms();
		search_eval(ix, tree, (size_t)limit, &res);
		query_ms = mono_ms() - t2;
		if (json) {
			struct buf out = BUF_INIT;
			search_result_json(ix, &res, q.data, (size_t)limit, &out);
			fwrite(out.data, 1, out.len, stdout);
			buf_free(&out);
		} else {
			print_text(ix, &res);
		}
		search_result_free(&res);
	}
	if (stats)
		print_stats(ix, t1 - t0, query_ms);
	sq_free(tree);
	search_index_free(ix);
	buf_free(&q);
	return EXIT_OK;
}
