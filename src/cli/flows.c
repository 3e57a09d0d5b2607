/*
 * flows.c - `vantage flows`: the top talkers of the network flows the sFlow
 * collector stored (analytics/flows_top.h; docs/flows.md), as sFlow
 * analyzers show them: grouped by source and destination system (or
 * address, ports, protocol), bytes/s and packets/s scaled by the sampling
 * rate over a window.  From the store (--db) or from a daemon's REST API
 * (--api URL: GET /api/v1/flows, with the bearer token of
 * $VANTAGE_API_TOKEN when set).  This file parses the arguments, fetches
 * the JSON answer and prints it.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../analytics/flows_top.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "cli.h"
#include "sysref.h"
#include "table.h"

#define API_MAX_BYTES (16u << 20)

static void flows_usage(FILE *out)
{
	fprintf(out,
	        "Usage: vantage flows [OPTIONS]\n"
	        "\n"
	        "Top talkers: the network flows sampled by sFlow agents (Vantage's own\n"
	        "--sample, or any Host sFlow agent) that the collector (vantage serve\n"
	        "--sflow-listen) stored, grouped by source and destination system, with\n"
	        "bytes/s and packets/s scaled by the sampling rate over a window.\n"
	        "\n"
	        "Options:\n"
	        "  -w, --window DURATION  the window, ending now (default 60s)\n"
	        "      --from TIME        the window's start instead (ISO-8601, epoch\n"
	        "                         seconds or -1h); --to TIME its end (default now)\n"
	        "  -g, --group KEYS       a comma list of src_system, dst_system, src, dst,\n"
	        "                         sport, dport, proto (default src_system,dst_system)\n"
	        "  -n, --limit N          at most N rows (default 20)\n"
	        "  -j, --json             the answer of GET /api/v1/flows\n"
	        "      --db PATH          the store (see 'vantage systems --help')\n"
	        "      --api URL          ask a daemon's REST API instead (http://HOST:PORT;\n"
	        "                         token from $VANTAGE_API_TOKEN)\n"
	        "  -h, --help             show this help\n"
	        "\n"
	        "Exit status: 0 success, 1 the store or the API failed, 2 bad usage.\n");
}

struct flows_args {
	const char *window, *from, *to, *group, *db, *api;
	long limit;
	bool json;
};

static size_t curl_take(char *p, size_t size, size_t n, void *ctx)
{
	struct buf *b = ctx;
	if (b->len + size * n > API_MAX_BYTES)
		return 0;
	buf_add(b, p, size * n);
	return size * n;
}

static void add_param(struct buf *url, CURL *c, const char *name, const char *v, bool *first)
{
	if (!v)
		return;
	char *e = curl_easy_escape(c, v, 0);
	buf_printf(url, "%s%s=%s", *first ? "?" : "&", name, e ? e : "");
	curl_free(e);
	*first = false;
}

/* GET /api/v1/flows of the daemon at a->api into out. */
static int fetch_api(const struct flows_args *a, struct buf *out)
{
	CURL *c = curl_easy_init();
	if (!c)
		return EXIT_FAIL;
	struct buf url = {0};
	size_t bl = strlen(a->api);
	while (bl && a->api[bl - 1] == '/')
		bl--;
	buf_add(&url, a->api, bl);
	buf_printf(&url, "/api/v1/flows");
	bool first = true;
	char lim[32];
	snprintf(lim, sizeof(lim), "%ld", a->limit);
	add_param(&url, c, "window", a->window, &first);
	add_param(&url, c, "from", a->from, &first);
	add_param(&url, c, "to", a->to, &first);
	add_param(&url, c, "group", a->group, &first);
	add_param(&url, c, "limit", lim, &first);
	struct curl_slist *h = NULL;
	const char *tok = getenv("VANTAGE_API_TOKEN");
	if (tok && *tok) {
		struct buf hb = {0};
		buf_printf(&hb, "Authorization: Bearer %s", tok);
		h = curl_slist_append(h, buf_str(&hb));
		buf_free(&hb);
	}
	curl_easy_setopt(c, CURLOPT_URL, buf_str(&url));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_take);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	CURLcode rc = curl_easy_perform(c);
	long status = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	int ret = EXIT_OK;
	if (rc != CURLE_OK) {
		fprintf(stderr, "vantage flows: %s: %s\n", buf_str(&url), curl_easy_strerror(rc));
		ret = EXIT_FAIL;
	} else if (status != 200) {
		json_t *e = json_loadb(out->data ? out->data : "", out->len, 0, NULL);
		const char *msg = json_string_value(json_object_get(e, "error"));
		fprintf(stderr, "vantage flows: %s: HTTP %ld%s%s\n", buf_str(&url), status,
		        msg ? ": " : "", msg ? msg : "");
		json_decref(e);
		ret = status == 400 ? EXIT_USAGE : EXIT_FAIL;
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	buf_free(&url);
	return ret;
}

/* The answer from the store a->db. */
static int from_store(const struct flows_args *a, struct buf *out)
{
	int64_t now = now_ns() / 1000000, from = 0, to = now, window = FLOWS_DEFAULT_WINDOW_MS;
	if (a->window && (parse_duration_ms(a->window, &window) < 0 || window <= 0)) {
		fprintf(stderr, "vantage flows: bad --window '%s' (e.g. 60s, 5m)\n", a->window);
		return EXIT_USAGE;
	}
	if (a->to && (parse_time(a->to, now, &to) < 0 || to <= 0)) {
		fprintf(stderr, "vantage flows: bad --to '%s'\n", a->to);
		return EXIT_USAGE;
	}
	if (a->from && (parse_time(a->from, now, &from) < 0 || from <= 0)) {
		fprintf(stderr, "vantage flows: bad --from '%s'\n", a->from);
		return EXIT_USAGE;
	}
	if (!a->from)
		from = to - window;
	if (from >= to) {
		fprintf(stderr, "vantage flows: the window's start is not before its end\n");
		return EXIT_USAGE;
	}
	struct store *st;
	int r = sysref_open_db("flows", a->db, &st);
	if (r != EXIT_OK)
		return r;
	char err[512];
	int e = flows_top_json(st, from, to, a->group ? a->group : FLOWS_DEFAULT_GROUP,
	                       (size_t)a->limit, out, err, sizeof(err));
	store_close(st);
	if (e < 0) {
		fprintf(stderr, "vantage flows: %s\n", err);
		return e == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	return EXIT_OK;
}

/* 1234567 -> "1.2M" */
static void human(double v, const char *unit, char *dst, size_t cap)
{
	static const char *const pre[] = {"", "k", "M", "G", "T"};
	int i = 0;
	while (v >= 1000 && i < 4) {
		v /= 1000;
		i++;
	}
	snprintf(dst, cap, i ? "%.1f%s%s" : "%.0f%s%s", v, pre[i], unit);
}

static int print_table(const char *text, size_t len)
{
	json_error_t je;
	json_t *root = json_loadb(text, len, 0, &je);
	json_t *group = json_object_get(root, "group"), *flows = json_object_get(root, "flows");
	if (!json_is_array(group) || !json_is_array(flows)) {
		fprintf(stderr, "vantage flows: the answer does not parse: %s\n", je.text);
		json_decref(root);
		return EXIT_FAIL;
	}
	int ng = (int)json_array_size(group);
	struct table t;
	table_init(&t, ng + 4);
	table_row(&t);
	for (int i = 0; i < ng; i++) {
		char title[32];
		snprintf(title, sizeof(title), "%s", json_string_value(json_array_get(group, i)));
		for (char *c = title; *c; c++)
			*c = *c == '_' ? ' ' : (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
		table_set(&t, i, title, true);
	}
	table_set(&t, ng, "BITS/S", true);
	table_set(&t, ng + 1, "BYTES/S", true);
	table_set(&t, ng + 2, "PACKETS/S", true);
	table_set(&t, ng + 3, "SAMPLES", true);
	t.right[ng] = t.right[ng + 1] = t.right[ng + 2] = t.right[ng + 3] = true;
	size_t i;
	json_t *f;
	json_array_foreach(flows, i, f)
	{
		table_row(&t);
		for (int k = 0; k < ng; k++) {
			const char *g = json_string_value(json_array_get(group, k));
			char nk[40], cell[128];
			snprintf(nk, sizeof(nk), "%s_name", g ? g : "");
			json_t *v = json_object_get(f, g ? g : "");
			const char *name = json_string_value(json_object_get(f, nk));
			if (name)
				snprintf(cell, sizeof(cell), "%s", name);
			else if (json_is_string(v))
				snprintf(cell, sizeof(cell), "%s", json_string_value(v));
			else if (json_is_integer(v))
				snprintf(cell, sizeof(cell), "%lld",
				         (long long)json_integer_value(v));
			else
				snprintf(cell, sizeof(cell), "-");
			table_set(&t, k, cell, false);
		}
		char c[32];
		double bps = json_number_value(json_object_get(f, "bytes_per_s"));
		human(bps * 8, "", c, sizeof(c));
		table_set(&t, ng, c, false);
		human(bps, "B", c, sizeof(c));
		table_set(&t, ng + 1, c, false);
		snprintf(c, sizeof(c), "%.1f",
		         json_number_value(json_object_get(f, "packets_per_s")));
		table_set(&t, ng + 2, c, false);
		snprintf(c, sizeof(c), "%lld",
		         (long long)json_integer_value(json_object_get(f, "samples")));
		table_set(&t, ng + 3, c, false);
	}
	if (json_array_size(flows) == 0)
		printf("no flows between %s and %s\n",
		       json_string_value(json_object_get(root, "from")),
		       json_string_value(json_object_get(root, "to")));
	else
		table_print(&t, "");
	table_free(&t);
	json_decref(root);
	return EXIT_OK;
}

int cmd_flows(int argc, char **argv)
{
	enum { O_FROM = 256, O_TO, O_DB, O_API };
	static const struct option lo[] = {
	    {"window", required_argument, 0, 'w'}, {"from", required_argument, 0, O_FROM},
	    {"to", required_argument, 0, O_TO},    {"group", required_argument, 0, 'g'},
	    {"limit", required_argument, 0, 'n'},  {"json", no_argument, 0, 'j'},
	    {"db", required_argument, 0, O_DB},    {"api", required_argument, 0, O_API},
	    {"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
	};
	struct flows_args a = {.limit = 20};
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "w:g:n:jh", lo, NULL)) != -1) {
		switch (c) {
		case 'w':
			a.window = optarg;
			break;
		case O_FROM:
			a.from = optarg;
			break;
		case O_TO:
			a.to = optarg;
			break;
		case 'g':
			a.group = optarg;
			break;
		case 'n': {
			char *end;
			a.limit = strtol(optarg, &end, 10);
			if (end == optarg || *end || a.limit < 1 || a.limit > 10000) {
				fprintf(stderr, "vantage flows: bad --limit '%s' (1 to 10000)\n",
				        optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'j':
			a.json = true;
			break;
		case O_DB:
			a.db = optarg;
			break;
		case O_API:
			a.api = optarg;
			break;
		case 'h':
			flows_usage(stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "vantage flows: bad option '%s'\n", argv[optind - 1]);
			flows_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vantage flows: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (a.db && a.api) {
		fprintf(stderr, "vantage flows: --db and --api exclude each other\n");
		return EXIT_USAGE;
	}
	struct buf out = {0};
	int r = a.api ? fetch_api(&a, &out) : from_store(&a, &out);
	if (r == EXIT_OK) {
		if (a.json)
			printf("%s\n", buf_str(&out));
		else
			r = print_table(out.data ? out.data : "", out.len);
	}
	buf_free(&out);
	return r;
}
