/*
 * systems.c - `vantage systems`: the systems in the store, as a table or
 * as the store's JSON (--json), answered without the daemon.
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
#include "../util/util.h"
#include "cli.h"
#include "display.h"
#include "serve_config.h"
#include "sysref.h"
#include "table.h"

static void systems_usage(FILE *out)
{
	fprintf(out,
	        "Usage: vantage systems [OPTIONS]\n"
	        "\n"
	        "List the systems in the store: the host and the containers the daemon\n"
	        "has seen, present ones only unless --all or --gone.\n"
	        "\n"
	        "Options:\n"
	        "      --kind KIND      only systems of this kind (host, container, vm, image)\n"
	        "      --runtime R      only containers of this runtime (podman, docker, none...)\n"
	        "      --label K=V      only systems with label K equal to V (K alone: having K)\n"
	        "  -a, --all            present and gone systems\n"
	        "      --gone           gone systems only\n"
	        "  -j, --json           the store's JSON: [{id, name, kind, runtime, image, host,\n"
	        "                       labels, first_seen, last_seen, gone}, ...]\n"
	        "      --no-trunc       do not shorten ids and names in the table\n"
	        "      --db PATH        the store file (default: [store] path of\n"
	        "                       " CONFIG_DEFAULT_FILE ", else\n"
	        "                       " CONFIG_DEFAULT_DB ")\n"
	        "  -h, --help           show this help\n"
	        "\n"
	        "Columns: ID (the short id: a prefix of it names the system in 'vantage show'),\n"
	        "NAME, KIND, RUNTIME, IMAGE, LAST SEEN, STATE (present, or gone with why\n"
	        "when the daemon saw it go: \"gone: exited 137, killed by the OOM killer\").\n"
	        "Exit status: 0 listed, 1 the store could not be read, 2 bad usage.\n");
}

static void systems_table(const json_t *arr, bool trunc, int64_t now_ms)
{
	enum { C_ID, C_NAME, C_KIND, C_RUNTIME, C_IMAGE, C_SEEN, C_STATE, NC };
	static const char *const titles[NC] = {"ID",    "NAME",      "KIND", "RUNTIME",
	                                       "IMAGE", "LAST SEEN", "STATE"};
	struct table t;
	table_init(&t, NC);
	table_row(&t);
	for (int c = 0; c < NC; c++)
		table_set(&t, c, titles[c], true);
	size_t i;
	json_t *s;
	json_array_foreach(arr, i, s)
	{
		char sid[16], seen[64];
		const char *id = jstr(s, "id");
		table_row(&t);
		if (trunc && is_hex_id(id_tail(id))) {
			copy_str(sid, sizeof(sid), id_tail(id), 12);
			table_set(&t, C_ID, sid, true);
		} else if (trunc) {
			table_set(&t, C_ID, id_tail(id), true);
		} else {
			table_set(&t, C_ID, id, true);
		}
		table_set(&t, C_NAME, jstr(s, "name"), !trunc);
		table_set(&t, C_KIND, jstr(s, "kind"), !trunc);
		table_set(&t, C_RUNTIME, jstr(s, "runtime"), !trunc);
		table_set(&t, C_IMAGE, jstr(s, "image"), !trunc);
		age_of(jstr(s, "last_seen"), now_ms, seen, sizeof(seen));
		table_set(&t, C_SEEN, seen, true);
		/* gone, with why when the daemon recorded it: "gone: exited 3" */
		char state[160];
		const char *how = jstr(json_object_get(s, "gone_reason"), "how");
		bool gone = json_is_true(json_object_get(s, "gone"));
		snprintf(state, sizeof(state), "%s%s%s", gone ? "gone" : "present",
		         gone && how[0] ? ": " : "", gone ? how : "");
		table_set(&t, C_STATE, state, true);
	}
	table_print(&t, "");
	table_free(&t);
}

int cmd_systems(int argc, char **argv)
{
	enum { O_KIND = 256, O_RUNTIME, O_LABEL, O_GONE, O_NO_TRUNC, O_DB };
	static const struct option longopts[] = {
	    {"kind", required_argument, 0, O_KIND},
	    {"runtime", required_argument, 0, O_RUNTIME},
	    {"label", required_argument, 0, O_LABEL},
	    {"all", no_argument, 0, 'a'},
	    {"gone", no_argument, 0, O_GONE},
	    {"json", no_argument, 0, 'j'},
	    {"no-trunc", no_argument, 0, O_NO_TRUNC},
	    {"db", required_argument, 0, O_DB},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	struct store_system_filter f = {.gone = 0};
	const char *db = NULL;
	bool json = false, trunc = true, all = false, gone = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "ajh", longopts, NULL)) != -1) {
		switch (c) {
		case O_KIND:
			if (!*optarg) {
				fprintf(stderr,
				        "vantage systems: --kind needs a kind (host, container, "
				        "vm, image)\n");
				return EXIT_USAGE;
			}
			f.kind = optarg;
			break;
		case O_RUNTIME:
			f.runtime = optarg;
			break;
		case O_LABEL:
			if (!*optarg || *optarg == '=') {
				fprintf(stderr,
				        "vantage systems: --label '%s' is not KEY=VALUE or KEY\n",
				        optarg);
				return EXIT_USAGE;
			}
			f.label = optarg;
			break;
		case 'a':
			all = true;
			break;
		case O_GONE:
			gone = true;
			break;
		case 'j':
			json = true;
			break;
		case O_NO_TRUNC:
			trunc = false;
			break;
		case O_DB:
			db = optarg;
			break;
		case 'h':
			systems_usage(stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'vantage systems --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr,
		        "vantage systems: unexpected argument '%s'\nTry 'vantage systems "
		        "--help'.\n",
		        argv[optind]);
		return EXIT_USAGE;
	}
	f.gone = gone ? 1 : all ? -1 : 0;
	struct store *st;
	int status = sysref_open_db("systems", db, &st);
	if (status != EXIT_OK)
		return status;
	if (json) {
		struct buf b = BUF_INIT;
		int r = store_systems_json(st, &f, &b);
		if (r < 0) {
			fprintf(stderr, "vantage systems: %s\n", store_errmsg(st));
			status = EXIT_FAIL;
		} else {
			print_json_text(&b);
		}
		buf_free(&b);
	} else {
		json_t *arr = sysref_systems(st, &f, "systems");
		if (arr)
			systems_table(arr, trunc, now_ns() / 1000000);
		else
			status = EXIT_FAIL;
		json_decref(arr);
	}
	store_close(st);
	return status;
}
