/*
 * show.c - `vantage show SYSTEM`: a system's latest frame (or its frame at
 * a time) from the store: the header, then each feature's records as
 * tables, or the store's JSON (--json).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../features/feature.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "cli.h"
#include "display.h"
#include "sysref.h"
#include "table.h"

#define SHOW_MAX_COLS 12 /* fields in a row; more: a transposed table */

static void show_usage(FILE *out)
{
	fprintf(out,
	        "Usage: vantage show SYSTEM [OPTIONS]\n"
	        "\n"
	        "Show a system's latest frame from the store (or its frame at a time):\n"
	        "the header, then the records grouped by feature.  SYSTEM is an id, a\n"
	        "prefix of one (the short id of 'vantage systems' is enough) or a name.\n"
	        "\n"
	        "Options:\n"
	        "  -f, --feature F      only records of feature F (see 'vantage features')\n"
	        "      --at TIME        the frame at or before TIME: an ISO-8601 time\n"
	        "                       (2026-11-22T10:00:00Z), epoch seconds, or a duration\n"
	        "                       meaning that long ago (90s, 10m, 1h, 2d)\n"
	        "  -j, --json           the store's JSON: {\"frame\": header, \"records\":\n"
	        "                       [{feature, key, value}, ...]}\n"
	        "      --no-trunc       do not cut long values in the tables\n"
	        "      --db PATH        the store file (see 'vantage systems --help')\n"
	        "  -h, --help           show this help\n"
	        "\n"
	        "Exit status: 0 shown, 1 the store could not be read, 2 bad usage, an unknown\n"
	        "system or no frame at that time.\n");
}

/*
 * A feature's records as tables.  Records of one shape share a table: a
 * record joins the current group when at least half of the fields of the
 * two (its own and the group's columns so far) are shared, and the group's
 * columns grow to the union; another shape starts a new group (a metric
 * frame has cpu, disk, net, memory ... records; processes differ only by
 * a field or two).  A group is printed one record a row, or transposed
 * (one field a row, one record a column) when it has more than
 * SHOW_MAX_COLS fields and at most SHOW_TRANSPOSE records.
 */
#define SHOW_TRANSPOSE 4
#define GROUP_MAX_COLS 64

struct group {
	const char *cols[GROUP_MAX_COLS];
	int ncols;
	bool plain; /* values that are not objects: KEY VALUE */
	const json_t **recs;
	size_t n, cap;
};

static int col_index(const struct group *g, const char *k)
{
	for (int c = 0; c < g->ncols; c++)
		if (strcmp(g->cols[c], k) == 0)
			return c;
	return -1;
}

static bool fits(const struct group *g, const json_t *v)
{
	if (g->plain != !json_is_object(v))
		return false;
	if (g->plain)
		return true;
	int shared = 0, total = g->ncols;
	const char *k;
	json_t *x;
	json_object_foreach((json_t *)v, k, x)
	{
		if (col_index(g, k) >= 0)
			shared++;
		else
			total++;
	}
	return total == 0 || 2 * shared >= total;
}

static void group_add(struct group *g, const json_t *r)
{
	const json_t *v = json_object_get(r, "value");
	if (!g->n)
		g->plain = !json_is_object(v);
	if (!g->plain) {
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k,
		                    x) if (col_index(g, k) < 0 && g->ncols < GROUP_MAX_COLS)
		    g->cols[g->ncols++] = k;
	}
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 16;
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		g->recs = xreallocarray(g->recs, g->cap, sizeof(*g->recs));
	}
	g->recs[g->n++] = r;
}

static void title_cell(struct table *t, int col, const char *name)
{
	char up[64];
	size_t k;
	for (k = 0; k < sizeof(up) - 1 && name[k]; k++)
		up[k] = (char)(name[k] >= 'a' && name[k] <= 'z' ? name[k] - 32 : name[k]);
	up[k] = 0;
	table_set(t, col, up, true);
}

static void value_cell(struct table *t, int col, const json_t *x, bool trunc)
{
	if (!x)
		return;
	char *s = value_text(x);
	table_set(t, col, s, !trunc);
	if (json_is_number(x))
		t->right[col] = true;
	free(s);
}

static void key_cell(struct table *t, int col, const json_t *rec, bool trunc)
{
	char *s = value_text(json_object_get(rec, "key"));
	table_set(t, col, s, !trunc);
	free(s);
}

static void group_rows(const struct group *g, bool trunc)
{
	int ncols = g->plain ? 1 : g->ncols;
	struct table t;
	table_init(&t, 1 + ncols);
	table_row(&t);
	table_set(&t, 0, "KEY", true);
	if (g->plain)
		table_set(&t, 1, "VALUE", true);
	for (int c = 0; !g->plain && c < ncols; c++)
		title_cell(&t, 1 + c, g->cols[c]);
	for (size_t i = 0; i < g->n; i++) {
		const json_t *v = json_object_get(g->recs[i], "value");
		table_row(&t);
		key_cell(&t, 0, g->recs[i], trunc);
		if (g->plain)
			value_cell(&t, 1, v, trunc);
		for (int c = 0; !g->plain && c < ncols; c++)
			value_cell(&t, 1 + c, json_object_get(v, g->cols[c]), trunc);
	}
	table_print(&t, "  ");
	table_free(&t);
}

static void group_transposed(const struct group *g, bool trunc)
{
	struct table t;
	table_init(&t, 1 + (int)g->n);
	table_row(&t);
	table_set(&t, 0, "KEY", true);
	for (size_t i = 0; i < g->n; i++)
		key_cell(&t, 1 + (int)i, g->recs[i], trunc);
	for (int c = 0; c < g->ncols; c++) {
		table_row(&t);
		table_set(&t, 0, g->cols[c], true);
		for (size_t i = 0; i < g->n; i++)
			value_cell(
			    &t, 1 + (int)i,
			    json_object_get(json_object_get(g->recs[i], "value"), g->cols[c]),
			    trunc);
	}
	table_print(&t, "  ");
	table_free(&t);
}

static void group_print(struct group *g, bool trunc, bool *printed)
{
	if (!g->n)
		return;
	if (*printed)
		putchar('\n');
	if (!g->plain && g->ncols > SHOW_MAX_COLS && g->n <= SHOW_TRANSPOSE)
		group_transposed(g, trunc);
	else
		group_rows(g, trunc);
	*printed = true;
	g->n = 0;
	g->ncols = 0;
}

static void show_feature(const json_t *recs, const char *feature, const char *when, bool trunc)
{
	size_t i, nrec = 0;
	json_t *r;
	json_array_foreach(recs, i, r) nrec += strcmp(jstr(r, "feature"), feature) == 0;
	putchar('\n');
	put_safe(feature);
	printf(" (%zu record%s%s", nrec, nrec == 1 ? "" : "s", when ? ", " : "");
	put_safe(when);
	fputs(")\n", stdout);
	struct group g = {0};
	bool printed = false;
	json_array_foreach(recs, i, r)
	{
		if (strcmp(jstr(r, "feature"), feature) != 0)
			continue;
		if (g.n && !fits(&g, json_object_get(r, "value")))
			group_print(&g, trunc, &printed);
		group_add(&g, r);
	}
	group_print(&g, trunc, &printed);
	free(g.recs);
}

static void header_line(const char *title, const char *value)
{
	printf("%-10s", title);
	put_safe(value);
}

static void show_header(const json_t *hdr)
{
	header_line("SYSTEM", jstr(hdr, "id"));
	putchar('\n');
	header_line("NAME", jstr(hdr, "name"));
	putchar('\n');
	header_line("KIND", jstr(hdr, "kind"));
	if (*jstr(hdr, "runtime"))
		header_line("   RUNTIME ", jstr(hdr, "runtime"));
	if (*jstr(hdr, "image"))
		header_line("   IMAGE ", jstr(hdr, "image"));
	putchar('\n');
	header_line("TIME", jstr(hdr, "time"));
	json_t *dur = json_object_get(hdr, "duration_ms");
	if (json_is_number(dur))
		printf("   (crawled in %.1f ms)", json_number_value(dur));
	putchar('\n');
	json_t *errs = json_object_get(hdr, "errors");
	const char *k;
	json_t *x;
	int nerr = 0;
	json_object_foreach(errs, k, x) if (json_integer_value(x) > 0)
	{
		fputs(nerr ? ", " : "ERRORS    ", stdout);
		put_safe(k);
		printf(": %lld", (long long)json_integer_value(x));
		nerr++;
	}
	if (nerr)
		putchar('\n');
	json_t *msgs = json_object_get(hdr, "messages");
	json_object_foreach(msgs, k, x)
	{
		size_t i;
		json_t *m;
		json_array_foreach(x, i, m)
		{
			fputs("          ", stdout);
			put_safe(k);
			fputs(": ", stdout);
			put_safe(json_string_value(m));
			putchar('\n');
		}
	}
}

static int show_frame_table(const struct buf *b, bool trunc)
{
	json_error_t e;
	json_t *doc = load_display(buf_str(b), b->len, &e);
	if (!json_is_object(doc)) {
		fprintf(stderr, "vantage show: the store gave a frame that is not JSON: %s\n",
		        e.text);
		json_decref(doc);
		return EXIT_FAIL;
	}
	show_header(json_object_get(doc, "frame"));
	json_t *recs = json_object_get(doc, "records");
	const char *seen[64];
	int nseen = 0;
	size_t i;
	json_t *r;
	json_array_foreach(recs, i, r)
	{
		const char *f = jstr(r, "feature");
		bool have = false;
		for (int k = 0; k < nseen; k++)
			have |= strcmp(seen[k], f) == 0;
		if (!have && nseen < 64)
			seen[nseen++] = f;
	}
	json_t *times = json_object_get(doc, "feature_times");
	for (int k = 0; k < nseen; k++)
		show_feature(recs, seen[k], json_string_value(json_object_get(times, seen[k])),
		             trunc);
	if (!nseen)
		printf("\n(no records)\n");
	json_decref(doc);
	return EXIT_OK;
}

int cmd_show(int argc, char **argv)
{
	enum { O_AT = 256, O_NO_TRUNC, O_DB };
	static const struct option longopts[] = {
	    {"feature", required_argument, 0, 'f'},
	    {"at", required_argument, 0, O_AT},
	    {"json", no_argument, 0, 'j'},
	    {"no-trunc", no_argument, 0, O_NO_TRUNC},
	    {"db", required_argument, 0, O_DB},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	const char *feature = NULL, *at = NULL, *db = NULL;
	bool json = false, trunc = true;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			feature = optarg;
			break;
		case O_AT:
			at = optarg;
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
			show_usage(stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'vantage show --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "vantage show: which system? (vantage show SYSTEM; see 'vantage "
		                "systems')\n");
		return EXIT_USAGE;
	}
	if (optind + 1 < argc) {
		fprintf(stderr, "vantage show: unexpected argument '%s'\n", argv[optind + 1]);
		return EXIT_USAGE;
	}
	const char *want = argv[optind];
	if (feature && !feature_find(feature)) {
		fprintf(stderr, "vantage show: unknown --feature '%s' (see 'vantage features')\n",
		        feature);
		return EXIT_USAGE;
	}
	int64_t now_ms = now_ns() / 1000000, at_ms = 0;
	if (at && parse_time(at, now_ms, &at_ms) < 0) {
		fprintf(stderr,
		        "vantage show: --at '%s' is not a time (2026-11-22T10:00:00Z, epoch "
		        "seconds) or a duration ago (10m, 1h)\n",
		        at);
		return EXIT_USAGE;
	}
	struct store *st;
	int status = sysref_open_db("show", db, &st);
	if (status != EXIT_OK)
		return status;
	char *id = NULL;
	status = sysref_resolve(st, "show", want, &id);
	if (status == EXIT_OK) {
		struct buf b = BUF_INIT;
		int r = store_frame_json(st, id, at_ms, feature, &b);
		if (r == -ENOENT) {
			if (at)
				fprintf(stderr,
				        "vantage show: %s has no frame at or before --at '%s'\n",
				        id, at);
			else
				fprintf(stderr, "vantage show: %s has no frame%s%s in the store\n",
				        id, feature ? " with feature " : "",
				        feature ? feature : "");
			status = EXIT_USAGE;
		} else if (r < 0) {
			fprintf(stderr, "vantage show: %s\n", store_errmsg(st));
			status = EXIT_FAIL;
		} else if (json) {
			print_json_text(&b);
		} else {
			status = show_frame_table(&b, trunc);
		}
		buf_free(&b);
	}
	free(id);
	store_close(st);
	return status;
}
