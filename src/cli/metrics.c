/*
 * metrics.c - `vantage metrics SYSTEM [METRIC]`: the names of a system's
 * series, or one series from the store in buckets of --step reduced with
 * --stat, as a table or as the store's JSON (--json).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store.h"
#include "../util/buf.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "cli.h"
#include "display.h"
#include "sysref.h"
#include "table.h"

static const char *const stats[] = {"avg", "min", "max", "sum", "count", "p50", "p90", "p99"};

static void metrics_usage(FILE *out)
{
	fprintf(out,
	        "Usage: vantage metrics SYSTEM [METRIC] [OPTIONS]\n"
	        "\n"
	        "A metric series of a system from the store, in buckets of --step, each\n"
	        "reduced with --stat.  Without METRIC: the names of the system's series.\n"
	        "METRIC is a name like memory.used_pct, cpu.used_pct or\n"
	        "cgroup.mem_usage_bytes.\n"
	        "\n"
	        "Options:\n"
	        "      --since TIME     start: a duration ago (default 1h), an ISO-8601 time\n"
	        "                       (2026-11-22T10:00:00Z) or epoch seconds\n"
	        "      --until TIME     end (default now), same forms\n"
	        "      --step DURATION  bucket size (default 1m): 10s, 5m, 1h ...\n"
	        "      --stat STAT      avg (default), min, max, sum, count, p50, p90, p99\n"
	        "  -j, --json           the store's JSON: {system, metric, stat, step_s,\n"
	        "                       points: [[time, value], ...]}\n"
	        "      --db PATH        the store file (see 'vantage systems --help')\n"
	        "  -h, --help           show this help\n"
	        "\n"
	        "Raw points are kept 24 h, 1-minute roll-ups 15 days, 1-hour roll-ups 15\n"
	        "months; older ranges are answered from the roll-ups.\n"
	        "Exit status: 0 shown, 1 the store could not be read, 2 bad usage, an unknown\n"
	        "system or metric.\n");
}

static int metric_names(struct store *st, const char *id, bool json)
{
	struct buf b = BUF_INIT;
	int r = store_metric_names_json(st, id, &b);
	int status = EXIT_OK;
	if (r < 0) {
		fprintf(stderr, "vantage metrics: %s\n", store_errmsg(st));
		status = r == -ENOENT ? EXIT_USAGE : EXIT_FAIL;
	} else if (json) {
		print_json_text(&b);
	} else {
		json_t *arr = load_display(buf_str(&b), b.len, NULL);
		size_t i;
		json_t *v;
		json_array_foreach(arr, i, v) if (json_is_string(v))
		{
			put_safe(json_string_value(v));
			putchar('\n');
		}
		json_decref(arr);
	}
	buf_free(&b);
	return status;
}

static int series_table(const struct buf *b)
{
	json_t *doc = load_display(buf_str(b), b->len, NULL);
	if (!json_is_object(doc)) {
		fprintf(stderr, "vantage metrics: the store gave a series that is not JSON\n");
		json_decref(doc);
		return EXIT_FAIL;
	}
	struct table t;
	table_init(&t, 2);
	t.right[1] = true;
	table_row(&t);
	table_set(&t, 0, "TIME", true);
	char title[96];
	snprintf(title, sizeof(title), "%s(%s)", jstr(doc, "stat"), jstr(doc, "metric"));
	table_set(&t, 1, title, true);
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(doc, "points"), i, p)
	{
		table_row(&t);
		table_set(&t, 0, json_string_value(json_array_get(p, 0)), true);
		json_t *v = json_array_get(p, 1);
		char num[64] = "-";
		if (json_is_number(v))
			format_number(json_number_value(v), num, sizeof(num));
		table_set(&t, 1, num, true);
	}
	table_print(&t, "");
	if (t.nrows == 1)
		printf("(no points in the range)\n");
	table_free(&t);
	json_decref(doc);
	return EXIT_OK;
}

int cmd_metrics(int argc, char **argv)
{
	enum { O_SINCE = 256, O_UNTIL, O_STEP, O_STAT, O_DB };
	static const struct option longopts[] = {
	    {"since", required_argument, 0, O_SINCE},
	    {"until", required_argument, 0, O_UNTIL},
	    {"step", required_argument, 0, O_STEP},
	    {"stat", required_argument, 0, O_STAT},
	    {"json", no_argument, 0, 'j'},
	    {"db", required_argument, 0, O_DB},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	const char *since = "1h", *until = NULL, *step = "1m", *stat = "avg", *db = NULL;
	bool json = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (c) {
		case O_SINCE:
			since = optarg;
			break;
		case O_UNTIL:
			until = optarg;
			break;
		case O_STEP:
			step = optarg;
			break;
		case O_STAT:
			stat = optarg;
			break;
		case 'j':
			json = true;
			break;
		case O_DB:
			db = optarg;
			break;
		case 'h':
			metrics_usage(stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'vantage metrics --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr,
		        "vantage metrics: which system? (vantage metrics SYSTEM [METRIC])\n");
		return EXIT_USAGE;
	}
	if (optind + 2 < argc) {
		fprintf(stderr, "vantage metrics: unexpected argument '%s'\n", argv[optind + 2]);
		return EXIT_USAGE;
	}
	const char *want = argv[optind], *metric = optind + 1 < argc ? argv[optind + 1] : NULL;
	bool stat_ok = false;
	for (size_t i = 0; i < ARRAY_SIZE(stats); i++)
		stat_ok |= strcmp(stat, stats[i]) == 0;
	if (!stat_ok) {
		fprintf(stderr,
		        "vantage metrics: unknown --stat '%s' (avg, min, max, sum, count, "
		        "p50, p90 or p99)\n",
		        stat);
		return EXIT_USAGE;
	}
	int64_t now_ms = now_ns() / 1000000, from, to = now_ms, step_ms;
	if (parse_time(since, now_ms, &from) < 0) {
		fprintf(stderr,
		        "vantage metrics: --since '%s' is not a time or a duration ago (1h, "
		        "30m, 2026-11-22T10:00:00Z, epoch seconds)\n",
		        since);
		return EXIT_USAGE;
	}
	if (until && parse_time(until, now_ms, &to) < 0) {
		fprintf(stderr,
		        "vantage metrics: --until '%s' is not a time or a duration ago (10m, "
		        "2026-11-22T10:00:00Z, epoch seconds, now)\n",
		        until);
		return EXIT_USAGE;
	}
	if (parse_duration_ms(step, &step_ms) < 0 || step_ms < 1000) {
		fprintf(stderr,
		        "vantage metrics: --step '%s' is not a duration of at least 1s (10s, "
		        "1m, 1h)\n",
		        step);
		return EXIT_USAGE;
	}
	if (from > to) {
		fprintf(stderr, "vantage metrics: --since '%s' is after --until '%s'\n", since,
		        until ? until : "now");
		return EXIT_USAGE;
	}
	if ((to - from) / step_ms > 100000) {
		fprintf(stderr,
		        "vantage metrics: --step '%s' makes more than 100000 points over the "
		        "range; use a larger step\n",
		        step);
		return EXIT_USAGE;
	}
	struct store *st;
	int status = sysref_open_db("metrics", db, &st);
	if (status != EXIT_OK)
		return status;
	char *id = NULL;
	status = sysref_resolve(st, "metrics", want, &id);
	if (status == EXIT_OK && !metric) {
		status = metric_names(st, id, json);
	} else if (status == EXIT_OK) {
		struct buf b = BUF_INIT;
		int r = store_series_json(st, id, metric, from, to, step_ms, stat, &b);
		if (r == -ENOENT) {
			fprintf(stderr,
			        "vantage metrics: %s has no metric '%s' (list them with "
			        "'vantage metrics %s')\n",
			        id, metric, want);
			status = EXIT_USAGE;
		} else if (r == -EINVAL) {
			fprintf(stderr, "vantage metrics: %s\n", store_errmsg(st));
			status = EXIT_USAGE;
		} else if (r < 0) {
			fprintf(stderr, "vantage metrics: %s\n", store_errmsg(st));
			status = EXIT_FAIL;
		} else if (json) {
			print_json_text(&b);
		} else {
			status = series_table(&b);
		}
		buf_free(&b);
	}
	free(id);
	store_close(st);
	return status;
}
