/*
 * alarms.c - `vantage alarms`: the alarms' states as the daemon keeps them
 * in the store (a table or --json), their history (--history), and
 * backtests (`vantage alarms test NAME`: the transitions an alarm would
 * have made over stored data; a saved alarm, one of a config file, or one
 * given by --set keys).  Reads the store only: no daemon needed.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../analytics/alarm.h"
#include "../analytics/alarm_engine.h"
#include "../analytics/alarm_run.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "cli.h"
#include "display.h"
#include "serve_config.h"
#include "sysref.h"
#include "table.h"

#define MAX_SETS 64

static void alarms_usage(FILE *out)
{
	fprintf(out,
	        "Usage: vantage alarms [--db PATH] [--json]\n"
	        "       vantage alarms --history [NAME] [--system SYSTEM] [--type TYPE]\n"
	        "                      [--since TIME] [--limit N] [--json]\n"
	        "       vantage alarms test NAME [--since TIME] [--until TIME]\n"
	        "                      [--config FILE | --set KEY=VALUE ...] [--json]\n"
	        "\n"
	        "The alarms of the daemon (`vantage serve`) as it keeps them in the store:\n"
	        "one row per alarm and system with its state (OK, ALARM, INSUFFICIENT_DATA),\n"
	        "since when and why.  --history lists configuration changes, state changes\n"
	        "(with the points evaluated) and every notification attempt, newest first.\n"
	        "'test' replays stored data through an alarm and lists the transitions it\n"
	        "would have made: a saved alarm (NAME alone), the [alarm NAME] section of a\n"
	        "config file (--config), or one given by its keys (--set metric=cpu.used_pct\n"
	        "--set system=web --set threshold=80 ...; the keys of docs/alarms.md).\n"
	        "\n"
	        "Options:\n"
	        "      --history        the history instead of the states\n"
	        "      --system SYSTEM  history: of this system only\n"
	        "      --type TYPE      history: config, state or action\n"
	        "      --since TIME     history: from (default 24h); test: start (default 24h)\n"
	        "      --until TIME     test: end (default now)\n"
	        "      --limit N        history: at most N events (default 100)\n"
	        "      --config FILE    test: the alarm of this config file\n"
	        "      --set KEY=VALUE  test: a key of the alarm (repeat)\n"
	        "  -j, --json           JSON (the API's answers)\n"
	        "      --db PATH        the store file (see 'vantage systems --help')\n"
	        "  -h, --help           show this help\n"
	        "\n"
	        "TIME: a duration ago (24h), an ISO-8601 time or epoch seconds.\n"
	        "Exit status: 0 shown, 1 the store could not be read, 2 bad usage, an unknown\n"
	        "alarm or a bad definition.\n");
}

static void iso_short(const char *iso, char *dst, size_t cap)
{
	/* "2026-11-22T10:00:00.000Z" -> "2026-11-22 10:00:00" */
	snprintf(dst, cap, "%.19s", iso ? iso : "");
	if (strlen(dst) > 10 && dst[10] == 'T')
		dst[10] = ' ';
}

static int states_table(const struct buf *b)
{
	json_t *doc = load_display(buf_str(b), b->len, NULL);
	struct table t;
	table_init(&t, 5);
	table_row(&t);
	const char *titles[] = {"ALARM", "SYSTEM", "STATE", "SINCE", "REASON"};
	for (int i = 0; i < 5; i++)
		table_set(&t, i, titles[i], true);
	size_t i, k;
	json_t *a, *s;
	int rows = 0;
	json_array_foreach(doc, i, a)
	{
		const char *name = json_string_value(json_object_get(a, "name"));
		json_t *states = json_object_get(a, "states");
		if (!json_array_size(states)) {
			table_row(&t);
			table_set(&t, 0, name, false);
			table_set(&t, 1, "-", false);
			table_set(&t, 2, "INSUFFICIENT_DATA", false);
			table_set(&t, 3, "-", false);
			table_set(&t, 4, "not evaluated yet", true);
			rows++;
			continue;
		}
		json_array_foreach(states, k, s)
		{
			char since[32], st[48];
			iso_short(json_string_value(json_object_get(s, "since")), since,
			          sizeof(since));
			snprintf(st, sizeof(st), "%s%s",
			         json_string_value(json_object_get(s, "state"))
			             ? json_string_value(json_object_get(s, "state"))
			             : "?",
			         json_is_true(json_object_get(s, "gone"))      ? " (gone)"
			         : json_is_true(json_object_get(s, "warming")) ? " (warming)"
			                                                       : "");
			table_row(&t);
			table_set(&t, 0, name, false);
			table_set(&t, 1, json_string_value(json_object_get(s, "system_name")),
			          false);
			table_set(&t, 2, st, false);
			table_set(&t, 3, since, false);
			table_set(&t, 4, json_string_value(json_object_get(s, "reason")), true);
			rows++;
		}
	}
	if (rows)
		table_print(&t, "");
	else
		printf("no alarms (define them in [alarm NAME] sections of the config file or "
		       "with PUT /api/v1/alarms/NAME)\n");
	table_free(&t);
	json_decref(doc);
	return EXIT_OK;
}

/*
 * A list of timed entries (history events, backtest transitions) as a
 * table: TIME from each entry's "time", then the members named, the last
 * one wrapped.  Returns how many entries there were.
 */
static size_t timed_table(const struct buf *b, const char *const titles[5],
                          const char *const members[4])
{
	json_t *doc = load_display(buf_str(b), b->len, NULL);
	struct table t;
	table_init(&t, 5);
	table_row(&t);
	for (int i = 0; i < 5; i++)
		table_set(&t, i, titles[i], true);
	size_t i;
	json_t *e;
	json_array_foreach(doc, i, e)
	{
		char tm[32];
		iso_short(json_string_value(json_object_get(e, "time")), tm, sizeof(tm));
		table_row(&t);
		table_set(&t, 0, tm, false);
		for (int k = 0; k < 4; k++)
			table_set(&t, k + 1, json_string_value(json_object_get(e, members[k])),
			          k == 3);
	}
	size_t n = json_array_size(doc);
	if (n)
		table_print(&t, "");
	table_free(&t);
	json_decref(doc);
	return n;
}

static int history_table(const struct buf *b)
{
	static const char *const titles[] = {"TIME", "ALARM", "SYSTEM", "TYPE", "SUMMARY"};
	static const char *const members[] = {"alarm", "system", "type", "summary"};
	if (!timed_table(b, titles, members))
		printf("no history in that range\n");
	return EXIT_OK;
}

static int transitions_table(const struct buf *b)
{
	static const char *const titles[] = {"TIME", "SYSTEM", "FROM", "TO", "REASON"};
	static const char *const members[] = {"system_name", "from", "to", "reason"};
	size_t n = timed_table(b, titles, members);
	printf("%zu transition%s\n", n, n == 1 ? "" : "s");
	return EXIT_OK;
}

/* The definition to backtest: --set keys, a config file's section, or the
 * saved one.  EXIT_OK or a status after a message. */
static int test_def(struct store *st, const char *name, const char *config, char **sets, int nsets,
                    struct alarm_def *d)
{
	char err[800];
	if (nsets) {
		alarm_def_init(d, name);
		for (int i = 0; i < nsets; i++) {
			char *eq = strchr(sets[i], '=');
			if (!eq) {
				fprintf(stderr, "vantage alarms: --set %s: not KEY=VALUE\n",
				        sets[i]);
				return EXIT_USAGE;
			}
			*eq = 0;
			int r = alarm_def_set(d, sets[i], eq + 1, err, sizeof(err));
			*eq = '=';
			if (r < 0) {
				fprintf(stderr, "vantage alarms: --set %s: %s\n", sets[i], err);
				return EXIT_USAGE;
			}
		}
		if (alarm_def_check(d, err, sizeof(err)) < 0) {
			fprintf(stderr, "vantage alarms: alarm '%s': %s\n", name, err);
			return EXIT_USAGE;
		}
		return EXIT_OK;
	}
	if (config) {
		struct serve_config c;
		if (config_defaults(&c) < 0 || config_load_file(&c, config, err, sizeof(err)) < 0) {
			fprintf(stderr, "vantage alarms: %s\n", err);
			config_free(&c);
			return EXIT_USAGE;
		}
		int found = -1;
		for (int i = 0; i < c.nalarms && found < 0; i++)
			if (strcmp(c.alarms[i].name, name) == 0)
				found = i;
		if (found < 0) {
			fprintf(stderr, "vantage alarms: %s has no [alarm %s] section\n", config,
			        name);
			config_free(&c);
			return EXIT_USAGE;
		}
		alarm_def_copy(d, &c.alarms[found]);
		config_free(&c);
		return EXIT_OK;
	}
	int r = alarm_store_def(st, name, d, err, sizeof(err)); /* sets *d */
	if (r < 0) {
		fprintf(stderr, "vantage alarms: %s%s\n", err,
		        r == -ENOENT ? " (give --config FILE or --set KEY=VALUE to test a new one)"
		                     : "");
		return r == -ENOENT ? EXIT_USAGE : EXIT_FAIL;
	}
	return EXIT_OK;
}

enum { O_DB = 256, O_HISTORY, O_SYSTEM, O_TYPE, O_SINCE, O_UNTIL, O_LIMIT, O_CONFIG, O_SET };

int cmd_alarms(int argc, char **argv)
{
	static const struct option lopts[] = {
	    {"db", required_argument, 0, O_DB},
	    {"json", no_argument, 0, 'j'},
	    {"history", no_argument, 0, O_HISTORY},
	    {"system", required_argument, 0, O_SYSTEM},
	    {"type", required_argument, 0, O_TYPE},
	    {"since", required_argument, 0, O_SINCE},
	    {"until", required_argument, 0, O_UNTIL},
	    {"limit", required_argument, 0, O_LIMIT},
	    {"config", required_argument, 0, O_CONFIG},
	    {"set", required_argument, 0, O_SET},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	const char *db = NULL, *system = NULL, *type = NULL, *since = NULL, *until = NULL;
	const char *config = NULL;
	char *sets[MAX_SETS];
	int nsets = 0;
	long limit = 100;
	bool json = false, history = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", lopts, NULL)) != -1) {
		switch (c) {
		case O_DB:
			db = optarg;
			break;
		case 'j':
			json = true;
			break;
		case O_HISTORY:
			history = true;
			break;
		case O_SYSTEM:
			system = optarg;
			break;
		case O_TYPE:
			type = optarg;
			break;
		case O_SINCE:
			since = optarg;
			break;
		case O_UNTIL:
			until = optarg;
			break;
		case O_LIMIT: {
			char *end;
			limit = strtol(optarg, &end, 10);
			if (*end || limit < 1 || limit > 10000) {
				fprintf(stderr, "vantage alarms: --limit %s: not 1 to 10000\n",
				        optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case O_CONFIG:
			config = optarg;
			break;
		case O_SET:
			if (nsets == MAX_SETS) {
				fprintf(stderr, "vantage alarms: too many --set\n");
				return EXIT_USAGE;
			}
			sets[nsets++] = optarg;
			break;
		case 'h':
			alarms_usage(stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'vantage alarms --help'.\n");
			return EXIT_USAGE;
		}
	}
	/* (GNU getopt permutes: options may follow the arguments) */
	bool test = optind < argc && strcmp(argv[optind], "test") == 0;
	if (test)
		optind++;
	const char *name = optind < argc ? argv[optind++] : NULL;
	if (optind < argc) {
		fprintf(stderr, "vantage alarms: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (test && !name) {
		fprintf(stderr, "vantage alarms: test needs the NAME of an alarm\n");
		return EXIT_USAGE;
	}
	if (!test && !history && name) {
		fprintf(stderr, "vantage alarms: '%s': give --history NAME or test NAME\n", name);
		return EXIT_USAGE;
	}
	if (!test && (config || nsets || until)) {
		fprintf(stderr, "vantage alarms: --config, --set and --until are for 'test'\n");
		return EXIT_USAGE;
	}
	if (config && nsets) {
		fprintf(stderr, "vantage alarms: give --config or --set, not both\n");
		return EXIT_USAGE;
	}
	if (type && strcmp(type, "config") != 0 && strcmp(type, "state") != 0 &&
	    strcmp(type, "action") != 0) {
		fprintf(stderr, "vantage alarms: --type %s: not config, state or action\n", type);
		return EXIT_USAGE;
	}
	int64_t now = now_ns() / 1000000, from = now - 24 * 3600 * 1000LL, to = now;
	const char *bad = since && parse_time(since, now, &from) < 0 ? "since"
	                  : until && parse_time(until, now, &to) < 0 ? "until"
	                                                             : NULL;
	if (bad) {
		fprintf(
		    stderr,
		    "vantage alarms: --%s %s: not a time (24h, an ISO-8601 time, epoch seconds)\n",
		    bad, strcmp(bad, "since") == 0 ? since : until);
		return EXIT_USAGE;
	}
	struct store *st;
	int status = sysref_open_db("alarms", db, &st);
	if (status != EXIT_OK)
		return status;
	struct buf b = BUF_INIT;
	int r = 0;
	if (test) {
		struct alarm_def d;
		status = test_def(st, name, config, sets, nsets, &d);
		if (status == EXIT_OK) {
			char err[800];
			r = alarm_backtest(st, &d, from, to, &b, err, sizeof(err));
			if (r < 0) {
				fprintf(stderr, "vantage alarms: %s\n", err);
				status = r == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
			} else if (json) {
				print_json_text(&b);
			} else {
				status = transitions_table(&b);
			}
		}
		alarm_def_free(&d);
	} else if (history) {
		struct store_event_filter f = {.subject = name,
		                               .system = system,
		                               .type = type,
		                               .from_ms = from,
		                               .limit = (size_t)limit};
		r = alarm_history_json(st, &f, &b);
		if (r < 0) {
			fprintf(stderr, "vantage alarms: cannot read the history: %s\n",
			        store_errmsg(st));
			status = EXIT_FAIL;
		} else {
			status = json ? (print_json_text(&b), EXIT_OK) : history_table(&b);
		}
	} else {
		r = alarm_store_json(st, NULL, &b);
		if (r < 0) {
			fprintf(stderr, "vantage alarms: cannot read the alarms: %s\n",
			        store_errmsg(st));
			status = EXIT_FAIL;
		} else {
			status = json ? (print_json_text(&b), EXIT_OK) : states_table(&b);
		}
	}
	buf_free(&b);
	store_close(st);
	return status;
}
