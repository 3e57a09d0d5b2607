/*
 * diff.c - `vantage diff A B`: what changed between two frames, ranked
 * with the cause first; `vantage changes SYSTEM`: the timeline of changes
 * between a system's consecutive stored frames.  The work is
 * analytics/drift.c; this file resolves the arguments and prints.
 *
 * A and B are each a file `vantage crawl` wrote (one frame), or a stored
 * frame: SYSTEM (the latest), SYSTEM@TIME (the last at or before TIME:
 * ISO-8601, epoch seconds) or SYSTEM@-1h (that long ago).
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../analytics/drift.h"
#include "../analytics/drift_logs.h"
#include "../analytics/drift_probe.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "cli.h"
#include "display.h"
#include "sysref.h"

#define HISTORY_FRAMES 20 /* frames before A read for the history signal */
#define PEERS_MAX 20
#define BISECT_FRAMES_MAX                                                                          \
	100000 /* frames --bisect looks at */ /* systems of B's image read for the peers signal */
#define CHANGES_MAX 200                       /* frames `changes` compares at most */
#define DETAIL_VALUE_MAX 120                  /* a value's text in the table */

static void diff_usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: vantage diff A B [OPTIONS]\n"
	    "       vantage diff --bisect SYSTEM --probe QUERY [--since TIME] [OPTIONS]\n"
	    "\n"
	    "What changed between two frames, ranked with the likely cause first.  A and\n"
	    "B are each a frame in the store: SYSTEM (its latest), SYSTEM@TIME (the last\n"
	    "at or before an ISO-8601 time or epoch seconds) or SYSTEM@-1h (that long\n"
	    "ago); or a file written by 'vantage crawl': FILE (one frame) or FILE@SYSTEM\n"
	    "(that system's frame in a file of several).  SYSTEM is an id, a prefix of\n"
	    "one or a name, as 'vantage systems' shows.  Two systems can be compared (a\n"
	    "good and a bad container of one image) as well as one system at two times.\n"
	    "\n"
	    "Records are matched by feature and key; a changed record shows each changed\n"
	    "field as before -> after, a changed config file its changed keys and lines.\n"
	    "Each entry's score multiplies a prior from the rules, whether a running\n"
	    "process uses what changed, (for one stored system) how often it changed\n"
	    "before, and (B from the store) how rare B's value is among the other systems\n"
	    "of its image; docs/drift.md explains it.\n"
	    "\n"
	    "Options:\n"
	    "  -j, --json           {\"a\":..., \"b\":..., \"entries\":[{feature, key, change,\n"
	    "                       fields, score, why}...]} ranked best first\n"
	    "  -a, --all            also the entries below the noise line (%.2f)\n"
	    "      --rules FILE     rules after the built-in ones (the last match wins)\n"
	    "      --print-rules    print the built-in rules and exit\n"
	    "      --no-peers       do not weigh B's values against the other systems of\n"
	    "                       its image in the store\n"
	    "      --no-logs        leave out B's new error lines between the two times\n"
	    "                       (feature \"log\": added when the store keeps logs)\n"
	    "  -n, --limit N        at most N entries (default: all)\n"
	    "      --db PATH        the store file (see 'vantage systems --help')\n"
	    "      --timing         print the time of each phase on stderr\n"
	    "      --bisect SYSTEM  instead of A and B: find the first stored frame of SYSTEM\n"
	    "                       where --probe's answer flips, and diff it with the one\n"
	    "                       before (halving the frames: a few probes for thousands)\n"
	    "      --probe QUERY    with --bisect: a query of the search language\n"
	    "                       (docs/search.md), e.g. 'connection state=LISTEN\n"
	    "                       local_port=5432'; true when it has an answer\n"
	    "      --since TIME, --until TIME\n"
	    "                       with --bisect: the frames looked at (default the last\n"
	    "                       24h up to now)\n"
	    "  -h, --help           show this help\n"
	    "\n"
	    "Exit status: 0 no entry above the noise line, 3 changes found, 1 a store or\n"
	    "file could not be read, 2 bad usage, an unknown system or no frame then.\n",
	    DRIFT_NOISE);
}

static void changes_usage(FILE *out)
{
	fprintf(out,
	        "Usage: vantage changes SYSTEM [OPTIONS]\n"
	        "\n"
	        "The timeline of a system's changes: each stored frame compared with the one\n"
	        "before it (frames holding metrics only are skipped), with the entries above\n"
	        "the noise line, best first.\n"
	        "\n"
	        "Options:\n"
	        "      --since TIME     from TIME (ISO-8601, epoch seconds, or a duration\n"
	        "                       meaning that long ago: 90s, 10m, 1h, 2d; default 1h)\n"
	        "      --until TIME     up to TIME (default now)\n"
	        "  -n, --limit N        at most N entries per change (default 5)\n"
	        "  -j, --json           {\"system\":..., \"changes\":[{\"from\", \"to\", "
	        "\"entries\"}]}\n"
	        "      --rules FILE     rules after the built-in ones\n"
	        "      --db PATH        the store file\n"
	        "  -h, --help           show this help\n"
	        "\n"
	        "Exit status: 0 shown, 1 the store could not be read, 2 bad usage or an unknown\n"
	        "system.\n");
}

static double mono_ms(void)
{
	return (double)mono_ns() / 1e6;
}

static int64_t now_ms(void)
{
	return now_ns() / 1000000;
}

struct side_ref {
	const char *arg;
	bool file;
	char *path, *want; /* FILE or FILE@SYSTEM */
	char *system;      /* resolved id */
	int64_t at_ms;
};

/* Is the argument a file (it exists as one, or names a path), or
 * FILE@SYSTEM (the part before the last '@' exists)? */
static bool names_file(const char *arg, struct side_ref *r)
{
	struct stat st;
	const char *at = strrchr(arg, '@');
	if ((stat(arg, &st) == 0 && !S_ISDIR(st.st_mode)) || (!at && strchr(arg, '/'))) {
		r->path = xstrndup(arg, strlen(arg));
		return true;
	}
	if (at) {
		char *p = xstrndup(arg, (size_t)(at - arg));
		if ((stat(p, &st) == 0 && !S_ISDIR(st.st_mode)) || strchr(p, '/')) {
			r->path = p;
			r->want = xstrndup(at + 1, strlen(at + 1));
			return true;
		}
		free(p);
	}
	return false;
}

/* Open the store when first needed. */
static int need_store(const char *db, struct store **st)
{
	return *st ? EXIT_OK : sysref_open_db("diff", db, st);
}

static int resolve(const char *cmd, const char *arg, const char *db, struct store **st,
                   struct side_ref *r)
{
	r->arg = arg;
	if (names_file(arg, r)) {
		r->file = true;
		return EXIT_OK;
	}
	char *sys = xstrndup(arg, strlen(arg));
	char *at = strrchr(sys, '@');
	r->at_ms = 0;
	if (at) {
		*at++ = '\0';
		if (parse_time(at, now_ms(), &r->at_ms) < 0) {
			fprintf(
			    stderr,
			    "vantage %s: '%s': bad time '%s' (an ISO-8601 time, epoch seconds or "
			    "-DURATION such as -1h)\n",
			    cmd, arg, at);
			free(sys);
			return EXIT_USAGE;
		}
	}
	int rc = need_store(db, st);
	if (rc == EXIT_OK)
		rc = sysref_resolve(*st, cmd, sys, &r->system);
	free(sys);
	return rc;
}

static int load(const char *cmd, struct store *st, const struct side_ref *r, struct drift_state *s)
{
	char err[4400];
	int e = r->file ? drift_state_from_file(r->path, r->want, s, err, sizeof(err))
	                : drift_state_from_store(st, r->system, r->at_ms, s, err, sizeof(err));
	if (e == 0)
		return EXIT_OK;
	if (r->file) /* the message names the file */
		fprintf(stderr, "vantage %s: %s\n", cmd, err);
	else
		fprintf(stderr, "vantage %s: %s: %s\n", cmd, r->arg, err);
	return e == -ENOENT && !r->file ? EXIT_USAGE : (e == -EINVAL ? EXIT_USAGE : EXIT_FAIL);
}

/* The history signal: the frames of the system before `before_ms`. */
static void limit_entries(json_t *d, long limit)
{
	json_t *entries = json_object_get(d, "entries");
	while (limit >= 0 && json_array_size(entries) > (size_t)limit)
		json_array_remove(entries, json_array_size(entries) - 1);
}

/* Parse --since and --until; false after saying which is bad. */
static bool parse_range(const char *cmd, const char *since, const char *until, int64_t *from,
                        int64_t *to)
{
	int64_t now = now_ms();
	*from = *to = 0;
	bool ok_since = parse_time(since, now, from) == 0;
	bool ok_until = parse_time(until, now, to) == 0;
	if (!ok_since || !ok_until)
		fprintf(stderr, "vantage %s: bad time '%s'\n", cmd, ok_since ? until : since);
	return ok_since && ok_until;
}

/* Call fn with each two consecutive states of `system` at times t[0..n)
 * (a frame that cannot be read is skipped). */
static void each_pair(struct store *st, const char *system, const int64_t *t, size_t n,
                      void (*fn)(void *ctx, const struct drift_state *a,
                                 const struct drift_state *b),
                      void *ctx)
{
	struct drift_state prev = {0}, cur;
	bool have = false;
	for (size_t i = 0; i < n; i++) {
		char err[256];
		if (drift_state_from_store(st, system, t[i], &cur, err, sizeof(err)) < 0)
			continue;
		if (have) {
			fn(ctx, &prev, &cur);
			drift_state_free(&prev);
		}
		prev = cur;
		have = true;
	}
	if (have)
		drift_state_free(&prev);
}

static void history_pair(void *ctx, const struct drift_state *a, const struct drift_state *b)
{
	drift_history_add(ctx, a, b);
}

struct change_ctx {
	const struct drift_rules *rules;
	long limit;
	json_t *list; /* [{from, to, entries, sunk}...] */
};

/* `vantage changes`: one pair's entries, when it has some. */
static void change_pair(void *ctx, const struct drift_state *a, const struct drift_state *b)
{
	struct change_ctx *cc = ctx;
	struct drift_opts o = {0};
	json_t *d = drift_diff(a, b, cc->rules, &o);
	limit_entries(d, cc->limit);
	if (json_array_size(json_object_get(d, "entries")))
		json_array_append_new(
		    cc->list,
		    json_pack("{s:O,s:O,s:O,s:O}", "from",
		              json_object_get(json_object_get(d, "a"), "time"), "to",
		              json_object_get(json_object_get(d, "b"), "time"), "entries",
		              json_object_get(d, "entries"), "sunk", json_object_get(d, "sunk")));
	json_decref(d);
}

static void load_history(struct store *st, const char *system, int64_t before_ms,
                         struct drift_history *h)
{
	int64_t *t;
	size_t n;
	if (store_frame_times(st, system, 0, before_ms - 1, "metric", HISTORY_FRAMES, &t, &n) < 0)
		return;
	each_pair(st, system, t, n, history_pair, h);
	free(t);
}

/* The peers signal: the latest states of the other present systems of B's
 * image in the store (at most PEERS_MAX).  Returns how many were loaded. */
static size_t load_peers(struct store *st, const struct drift_state *a, const struct drift_state *b,
                         struct drift_state **out)
{
	*out = NULL;
	if (!b->image || !*b->image)
		return 0;
	struct store_system_filter f = {.gone = 0};
	struct buf j = BUF_INIT;
	if (store_systems_json(st, &f, &j) < 0) {
		buf_free(&j);
		return 0;
	}
	json_t *arr = load_display(j.data, j.len, NULL);
	buf_free(&j);
	size_t n = 0, i;
	json_t *sys;
	json_array_foreach(arr, i, sys)
	{
		const char *id = jstr(sys, "id");
		if (n == PEERS_MAX || strcmp(jstr(sys, "image"), b->image) != 0 ||
		    !strcmp(id, a->system) || !strcmp(id, b->system))
			continue;
		*out = xreallocarray(*out, n + 1, sizeof(**out));
		char err[256];
		if (drift_state_from_store(st, id, 0, &(*out)[n], err, sizeof(err)) == 0)
			n++;
	}
	json_decref(arr);
	return n;
}

/* ---- the table ---------------------------------------------------------- */

static void put_value(const json_t *v)
{
	char *s = value_text(v);
	if (strlen(s) > DETAIL_VALUE_MAX)
		strcpy(s + DETAIL_VALUE_MAX - 3, "...");
	put_safe(s);
	free(s);
}

static void print_entry(const json_t *e, bool all)
{
	printf("  %5.2f  %-8s ", json_number_value(json_object_get(e, "score")), jstr(e, "change"));
	put_safe(jstr(e, "key"));
	printf("\n");
	const json_t *keys = json_object_get(e, "keys");
	const json_t *fields = json_object_get(e, "fields");
	const json_t *why = json_object_get(e, "why");
	const char *k;
	json_t *v;
	if (json_object_size(keys)) {
		json_object_foreach((json_t *)keys, k, v)
		{
			printf("                   ");
			put_safe(k);
			printf(": ");
			put_value(json_array_get(v, 0));
			printf(" -> ");
			put_value(json_array_get(v, 1));
			printf("\n");
		}
	} else if (json_array_size(json_object_get(e, "lines"))) {
		size_t i;
		json_array_foreach(json_object_get(e, "lines"), i, v)
		{
			if (i == 6) {
				printf("                   ...\n");
				break;
			}
			printf("                   ");
			put_value(v);
			printf("\n");
		}
	}
	const char *best = jstr(why, "field");
	const json_t *vol = json_object_get(e, "volatile_fields");
	json_object_foreach((json_t *)fields, k, v)
	{
		bool is_volatile = false;
		size_t vi;
		const json_t *vn;
		json_array_foreach(vol, vi, vn)
		{
			if (!strcmp(json_string_value(vn), k))
				is_volatile = true;
		}
		if (!all && strcmp(k, best) != 0 && (is_volatile || json_object_size(fields) > 3))
			continue;
		printf("                   ");
		put_safe(k);
		printf(": ");
		put_value(json_array_get(v, 0));
		printf(" -> ");
		put_value(json_array_get(v, 1));
		printf("\n");
	}
	const json_t *ex = json_object_get(e, "explains");
	if (json_array_size(ex)) {
		printf("                   explains %zu change%s:", json_array_size(ex),
		       json_array_size(ex) == 1 ? "" : "s");
		size_t xi;
		const json_t *xp;
		json_array_foreach(ex, xi, xp)
		{
			printf(" ");
			put_safe(json_string_value(xp));
		}
		printf("\n");
	}
	const char *used = jstr(why, "used_by");
	const char *folded = jstr(why, "folded");
	printf("                   why: prior %.2f",
	       json_number_value(json_object_get(why, "prior")));
	if (*used) {
		printf(", used: ");
		put_safe(used);
	}
	const json_t *pe = json_object_get(why, "peers");
	if (pe)
		printf(", %lld of %lld peers of the image share it",
		       (long long)json_integer_value(json_object_get(pe, "same")),
		       (long long)json_integer_value(json_object_get(pe, "of")));
	const json_t *h = json_object_get(why, "history");
	if (h)
		printf(", changed %lld times in %lld earlier frames",
		       (long long)json_integer_value(json_object_get(h, "changes")),
		       (long long)json_integer_value(json_object_get(h, "pairs")));
	if (*folded) {
		printf(", ");
		put_safe(folded);
	}
	printf("\n");
}

static void print_side(const char *label, const json_t *s)
{
	printf("%s ", label);
	put_safe(jstr(s, "name"));
	printf(" (");
	put_safe(jstr(s, "system"));
	printf(") at %s", jstr(s, "time"));
	if (strcmp(jstr(s, "where"), "store") != 0) {
		printf(" from ");
		put_safe(jstr(s, "where"));
	}
	printf("\n");
}

/* Entries grouped by feature, groups in the order of their best entry. */
static void print_table(const json_t *d, bool all)
{
	print_side("a:", json_object_get(d, "a"));
	print_side("b:", json_object_get(d, "b"));
	const json_t *entries = json_object_get(d, "entries");
	size_t n = json_array_size(entries);
	json_t *done = json_object();
	size_t i;
	json_t *e;
	json_array_foreach(entries, i, e)
	{
		const char *f = jstr(e, "feature");
		if (json_object_get(done, f))
			continue;
		json_object_set_new(done, f, json_true());
		printf("\n%s\n", f);
		for (size_t j = i; j < n; j++) {
			const json_t *x = json_array_get(entries, j);
			if (!strcmp(jstr(x, "feature"), f))
				print_entry(x, all);
		}
	}
	json_decref(done);
	long long sunk = (long long)json_integer_value(json_object_get(d, "sunk"));
	printf("\n%zu entr%s", n, n == 1 ? "y" : "ies");
	if (!all && sunk)
		printf("; %lld below the noise line (--all shows them)", sunk);
	printf("\n");
	const json_t *vol = json_object_get(d, "volatile");
	if (json_array_size(vol)) {
		printf("volatile fields that changed: ");
		json_array_foreach(vol, i, e)
		{
			printf("%s", i ? ", " : "");
			put_safe(json_string_value(e));
		}
		printf("\n");
	}
}

static void dump(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (s)
		printf("%s\n", s);
	free(s);
}

/* ---- vantage diff -------------------------------------------------------- */

enum {
	OPT_RULES = 256,
	OPT_PRINT_RULES,
	OPT_DB,
	OPT_SINCE,
	OPT_UNTIL,
	OPT_NO_PEERS,
	OPT_NO_LOGS,
	OPT_TIMING,
	OPT_BISECT,
	OPT_PROBE
};

static bool parse_limit(const char *cmd, const char *s, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || *end || v < 0 || v > 1000000) {
		fprintf(stderr, "vantage %s: --limit '%s': a whole number from 0 to 1000000\n", cmd,
		        s);
		return false;
	}
	*out = v;
	return true;
}

static int load_rules(const char *cmd, const char *path, struct drift_rules *rules)
{
	char err[4400];
	if (drift_rules_load(rules, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "vantage %s: %s\n", cmd, err);
		drift_rules_free(rules);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* ---- --bisect ------------------------------------------------------------ */

/* Does the probe match SYSTEM's state at t?  -1 after a message. */
static int probe_at(struct store *st, const char *sys, int64_t t, const char *probe)
{
	struct drift_state s;
	char err[4400];
	if (drift_state_from_store(st, sys, t, &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "vantage diff: --bisect: %s\n", err);
		return -1;
	}
	bool match;
	int r = drift_probe(&s, probe, &match, err, sizeof(err));
	drift_state_free(&s);
	if (r < 0) {
		fprintf(stderr, "vantage diff: --probe: %s", err);
		return -1;
	}
	return match;
}

/*
 * Chronus's bisection over stored frames: the system's frames in
 * [since, until] (metric-only frames left out), the probe asked at both
 * ends, then in halves until the two consecutive frames where its answer
 * flips.  ra, rb become those frames; *out the evidence, NULL (EXIT_OK,
 * after saying so) when the answer does not flip.
 */
static int find_flip(const char *system, const char *probe, const char *since, const char *until,
                     const char *db, struct store **st, struct side_ref *ra, struct side_ref *rb,
                     json_t **out)
{
	*out = NULL;
	int64_t from, to;
	if (!parse_range("diff", since, until, &from, &to))
		return EXIT_USAGE;
	char *sys = NULL;
	int rc = need_store(db, st);
	if (rc == EXIT_OK)
		rc = sysref_resolve(*st, "diff", system, &sys);
	if (rc != EXIT_OK)
		return rc;
	int64_t *t = NULL;
	size_t n = 0;
	if (store_frame_times(*st, sys, from, to, "metric", BISECT_FRAMES_MAX, &t, &n) < 0) {
		fprintf(stderr, "vantage diff: %s\n", store_errmsg(*st));
		free(sys);
		return EXIT_FAIL;
	}
	if (n < 2) {
		fprintf(
		    stderr,
		    "vantage diff: --bisect: %s has %zu frame%s from %s to %s: nothing to bisect\n",
		    sys, n, n == 1 ? "" : "s", since, until);
		free(t);
		free(sys);
		return EXIT_USAGE;
	}
	int probes = 2;
	int first = probe_at(*st, sys, t[0], probe);
	int last = first < 0 ? -1 : probe_at(*st, sys, t[n - 1], probe);
	if (first < 0 || last < 0) {
		free(t);
		free(sys);
		return EXIT_USAGE;
	}
	char t0[40], t1[40];
	if (first == last) {
		format_time_utc(t[0] * 1000000, t0, sizeof(t0));
		format_time_utc(t[n - 1] * 1000000, t1, sizeof(t1));
		printf(
		    "the probe is %s at both ends (%s and %s, %zu frames): it never flips there\n",
		    first ? "true" : "false", t0, t1, n);
		free(t);
		free(sys);
		return EXIT_OK;
	}
	size_t lo = 0, hi = n - 1;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		int m = probe_at(*st, sys, t[mid], probe);
		probes++;
		if (m < 0) {
			free(t);
			free(sys);
			return EXIT_FAIL;
		}
		if (m == first)
			lo = mid;
		else
			hi = mid;
	}
	ra->system = sys;
	ra->at_ms = t[lo];
	rb->system = xstrndup(sys, strlen(sys));
	rb->at_ms = t[hi];
	ra->arg = rb->arg = system;
	format_time_utc(t[lo] * 1000000, t0, sizeof(t0));
	format_time_utc(t[hi] * 1000000, t1, sizeof(t1));
	*out = json_pack("{s:s,s:b,s:s,s:b,s:s,s:i,s:I}", "probe", probe, "before", first, "from",
	                 t0, "after", last, "to", t1, "probes", probes, "frames", (json_int_t)n);
	free(t);
	return EXIT_OK;
}

static void print_flip(const json_t *b)
{
	printf("bisect: the probe '");
	put_safe(jstr(b, "probe"));
	printf("' is %s at %s and %s at %s (%lld probes over %lld frames)\n\n",
	       json_is_true(json_object_get(b, "before")) ? "true" : "false", jstr(b, "from"),
	       json_is_true(json_object_get(b, "after")) ? "true" : "false", jstr(b, "to"),
	       (long long)json_integer_value(json_object_get(b, "probes")),
	       (long long)json_integer_value(json_object_get(b, "frames")));
}

int cmd_diff(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
	                                     {"all", no_argument, NULL, 'a'},
	                                     {"rules", required_argument, NULL, OPT_RULES},
	                                     {"print-rules", no_argument, NULL, OPT_PRINT_RULES},
	                                     {"limit", required_argument, NULL, 'n'},
	                                     {"db", required_argument, NULL, OPT_DB},
	                                     {"no-peers", no_argument, NULL, OPT_NO_PEERS},
	                                     {"no-logs", no_argument, NULL, OPT_NO_LOGS},
	                                     {"timing", no_argument, NULL, OPT_TIMING},
	                                     {"bisect", required_argument, NULL, OPT_BISECT},
	                                     {"probe", required_argument, NULL, OPT_PROBE},
	                                     {"since", required_argument, NULL, OPT_SINCE},
	                                     {"until", required_argument, NULL, OPT_UNTIL},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	bool json = false, all = false, use_peers = true, timing = false, use_logs = true;
	const char *rules_file = NULL, *db = NULL, *bisect = NULL, *probe = NULL;
	const char *since = "24h", *until = "now";
	long limit = -1;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "jan:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'a':
			all = true;
			break;
		case 'n':
			if (!parse_limit("diff", optarg, &limit))
				return EXIT_USAGE;
			break;
		case OPT_RULES:
			rules_file = optarg;
			break;
		case OPT_PRINT_RULES:
			fputs(drift_default_rules, stdout);
			return EXIT_OK;
		case OPT_DB:
			db = optarg;
			break;
		case OPT_NO_PEERS:
			use_peers = false;
			break;
		case OPT_NO_LOGS:
			use_logs = false;
			break;
		case OPT_TIMING:
			timing = true;
			break;
		case OPT_BISECT:
			bisect = optarg;
			break;
		case OPT_PROBE:
			probe = optarg;
			break;
		case OPT_SINCE:
			since = optarg;
			break;
		case OPT_UNTIL:
			until = optarg;
			break;
		case 'h':
			diff_usage(stdout);
			return EXIT_OK;
		default:
			diff_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (bisect && (!probe || argc - optind != 0)) {
		fprintf(stderr,
		        "vantage diff: --bisect SYSTEM takes --probe QUERY and no frames A B "
		        "(see 'vantage diff --help')\n");
		return EXIT_USAGE;
	}
	if (!bisect && (probe || argc - optind != 2)) {
		fprintf(stderr,
		        "vantage diff: give two frames, A and B%s (see 'vantage diff --help')\n",
		        probe ? " (or --bisect SYSTEM with --probe)" : "");
		return EXIT_USAGE;
	}
	struct drift_rules rules = {0};
	int rc = load_rules("diff", rules_file, &rules);
	if (rc != EXIT_OK)
		return rc;
	struct store *st = NULL;
	struct side_ref ra = {0}, rb = {0};
	struct drift_state a = {0}, b = {0};
	struct drift_history h = {0};
	double t0 = mono_ms();
	json_t *bisected = NULL;
	if (bisect) {
		rc = find_flip(bisect, probe, since, until, db, &st, &ra, &rb, &bisected);
		if (rc != EXIT_OK || !bisected)
			goto out;
	} else if ((rc = resolve("diff", argv[optind], db, &st, &ra)) != EXIT_OK ||
	           (rc = resolve("diff", argv[optind + 1], db, &st, &rb)) != EXIT_OK) {
		goto out;
	}
	if (st) /* every read below from one snapshot, one lock */
		store_read_begin(st);
	if ((rc = load("diff", st, &ra, &a)) != EXIT_OK ||
	    (rc = load("diff", st, &rb, &b)) != EXIT_OK)
		goto out;
	double t_load = mono_ms();
	/* one stored system at two times: its history before A */
	if (!ra.file && !rb.file && !strcmp(ra.system, rb.system) && a.time_ms)
		load_history(st, ra.system, a.time_ms, &h);
	/* B from the store: its image's other systems as peers */
	struct drift_state *peers = NULL;
	size_t npeers = st && !rb.file && use_peers ? load_peers(st, &a, &b, &peers) : 0;
	struct drift_opts o = {
	    .all = all, .history = h.pairs ? &h : NULL, .peers = peers, .npeers = npeers};
	if (st)
		store_read_end(st);
	double t_signals = mono_ms();
	json_t *d = drift_diff(&a, &b, &rules, &o);
	/* B from the store: its new error lines between the two times given
	 * (else the frames'; B, its latest: up to now) */
	if (use_logs && st && !rb.file &&
	    drift_logs_add(st, d, a.system, b.system, ra.at_ms ? ra.at_ms : a.time_ms,
	                   rb.at_ms ? rb.at_ms : now_ns() / 1000000) < 0)
		fprintf(stderr, "vantage diff: warning: the logs: %s\n", store_errmsg(st));
	double t_diff = mono_ms();
	limit_entries(d, limit);
	if (bisected && json) {
		json_object_set(d, "bisect", bisected);
	} else if (bisected) {
		print_flip(bisected);
	}
	if (json)
		dump(d);
	else
		print_table(d, all);
	if (timing) {
		fflush(stdout);
		fprintf(stderr,
		        "timing: load %.2f ms (%zu + %zu records), history and peers %.2f ms (%d "
		        "pairs, %zu peers), diff %.2f ms, print %.2f ms\n",
		        t_load - t0, a.n, b.n, t_signals - t_load, h.pairs, npeers,
		        t_diff - t_signals, mono_ms() - t_diff);
	}
	size_t shown = 0, i;
	json_t *e;
	json_array_foreach(json_object_get(d, "entries"), i, e)
	{
		if (!json_is_true(json_object_get(e, "sunk")))
			shown++;
	}
	rc = shown ? 3 : EXIT_OK;
	json_decref(d);
	for (size_t k = 0; k < npeers; k++)
		drift_state_free(&peers[k]);
	free(peers);
out:
	json_decref(bisected);
	json_decref(h.counts);
	drift_state_free(&a);
	drift_state_free(&b);
	free(ra.system);
	free(rb.system);
	free(ra.path);
	free(rb.path);
	free(ra.want);
	free(rb.want);
	drift_rules_free(&rules);
	if (st) {
		store_read_end(st);
		store_close(st);
	}
	return rc;
}

/* ---- vantage changes ----------------------------------------------------- */

int cmd_changes(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
	                                     {"since", required_argument, NULL, OPT_SINCE},
	                                     {"until", required_argument, NULL, OPT_UNTIL},
	                                     {"limit", required_argument, NULL, 'n'},
	                                     {"rules", required_argument, NULL, OPT_RULES},
	                                     {"db", required_argument, NULL, OPT_DB},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	bool json = false;
	const char *rules_file = NULL, *db = NULL, *since = "1h", *until = "now";
	long limit = 5;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "jn:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'n':
			if (!parse_limit("changes", optarg, &limit))
				return EXIT_USAGE;
			break;
		case OPT_SINCE:
			since = optarg;
			break;
		case OPT_UNTIL:
			until = optarg;
			break;
		case OPT_RULES:
			rules_file = optarg;
			break;
		case OPT_DB:
			db = optarg;
			break;
		case 'h':
			changes_usage(stdout);
			return EXIT_OK;
		default:
			changes_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr,
		        "vantage changes: give one SYSTEM (see 'vantage changes --help')\n");
		return EXIT_USAGE;
	}
	int64_t from, to;
	if (!parse_range("changes", since, until, &from, &to))
		return EXIT_USAGE;
	struct drift_rules rules = {0};
	int rc = load_rules("changes", rules_file, &rules);
	if (rc != EXIT_OK)
		return rc;
	struct store *st = NULL;
	char *sys = NULL;
	int64_t *t = NULL;
	size_t n = 0;
	if ((rc = sysref_open_db("changes", db, &st)) != EXIT_OK ||
	    (rc = sysref_resolve(st, "changes", argv[optind], &sys)) != EXIT_OK)
		goto out;
	/* the frame before `from` too: the first change in range needs it */
	int64_t *before;
	size_t nb;
	int64_t start = from;
	if (store_frame_times(st, sys, 0, from - 1, "metric", 1, &before, &nb) == 0) {
		if (nb)
			start = before[0];
		free(before);
	}
	if (store_frame_times(st, sys, start, to, "metric", CHANGES_MAX, &t, &n) < 0) {
		fprintf(stderr, "vantage changes: %s\n", store_errmsg(st));
		rc = EXIT_FAIL;
		goto out;
	}
	json_t *list = json_array();
	struct change_ctx cc = {.rules = &rules, .limit = limit, .list = list};
	each_pair(st, sys, t, n, change_pair, &cc);
	if (json) {
		json_t *o = json_pack("{s:s,s:o}", "system", sys, "changes", list);
		dump(o);
		json_decref(o);
	} else {
		size_t i;
		json_t *ch;
		printf("%s: %zu frames compared, %zu with changes\n", sys, n ? n - 1 : 0,
		       json_array_size(list));
		json_array_foreach(list, i, ch)
		{
			printf("\n%s -> %s\n", jstr(ch, "from"), jstr(ch, "to"));
			size_t j;
			json_t *e;
			json_array_foreach(json_object_get(ch, "entries"), j, e)
			{
				print_entry(e, false);
			}
		}
		json_decref(list);
	}
out:
	free(t);
	free(sys);
	drift_rules_free(&rules);
	if (st)
		store_close(st);
	return rc;
}
