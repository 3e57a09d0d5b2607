/*
 * query.c - `vantage systems`, `vantage show`, `vantage metrics`: questions
 * to the store file, answered without the daemon.
 *
 * Each command opens the store read-only (SQLite WAL: it never blocks
 * the daemon writing), asks one store query, and prints either the
 * store's JSON as it is (--json, for scripts) or a table made from it
 * (jansson parses the JSON; columns are sized to their content, long cells
 * cut, control characters shown as '?' since systems name themselves).
 *
 * SYSTEM arguments are resolved here against the list of systems: a full
 * id, a name (a present system before a gone one), a prefix of an id or
 * of its last part (the container id or machine id, as `vantage systems`
 * shows it).  A name or prefix that fits several systems is an error that
 * lists them.
 *
 * The store file: --db PATH, else [store] path of the daemon's
 * configuration file /etc/vantage/vantage.ini when it exists, else
 * /var/lib/vantage/vantage.db.  Errors name the bad argument; exit 2.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../server/timeparse.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "../util/util.h"
#include "cli.h"
#include "serve_config.h"

/* from features/feature.h, whose json.h clashes with jansson's names */
struct feature;
const struct feature *feature_find(const char *name);

#define CELL_MAX 48      /* widest cell of a table */
#define SHOW_MAX_COLS 12 /* fields in a row; more: a transposed table */

/* ---- tables ----------------------------------------------------------------- */

struct table {
	int ncol, nrows, cap;
	char **cell; /* nrows x ncol, row 0 the titles */
	bool *right; /* per column: right-aligned (numbers) */
};

static void table_init(struct table *t, int ncol)
{
	memset(t, 0, sizeof(*t));
	t->ncol = ncol;
	t->right = calloc((size_t)ncol, sizeof(bool));
	if (!t->right)
		abort();
}

/* Start a row; cells are set with table_set(). */
static void table_row(struct table *t)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->cell = realloc(t->cell, (size_t)t->cap * (size_t)t->ncol * sizeof(char *));
		if (!t->cell)
			abort();
	}
	memset(&t->cell[(size_t)t->nrows * (size_t)t->ncol], 0, (size_t)t->ncol * sizeof(char *));
	t->nrows++;
}

/* Set a cell of the last row: cut to CELL_MAX (unless `full`), control
 * characters as '?', "-" when empty. */
static void table_set(struct table *t, int col, const char *s, bool full)
{
	size_t n = s ? strlen(s) : 0;
	if (!n)
		s = "-", n = 1;
	char *d;
	if (!full && n > CELL_MAX) {
		if (asprintf(&d, "%.*s...", CELL_MAX - 3, s) < 0)
			abort();
	} else if (!(d = strndup(s, n))) {
		abort();
	}
	for (char *p = d; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	char **slot = &t->cell[(size_t)(t->nrows - 1) * (size_t)t->ncol + (size_t)col];
	free(*slot);
	*slot = d;
}

static void table_print(struct table *t, const char *indent)
{
	size_t *w = calloc((size_t)t->ncol, sizeof(*w));
	if (!w)
		abort();
	for (int r = 0; r < t->nrows; r++)
		for (int c = 0; c < t->ncol; c++) {
			const char *s = t->cell[(size_t)r * (size_t)t->ncol + (size_t)c];
			if (s && strlen(s) > w[c])
				w[c] = strlen(s);
		}
	for (int r = 0; r < t->nrows; r++) {
		fputs(indent, stdout);
		for (int c = 0; c < t->ncol; c++) {
			const char *s = t->cell[(size_t)r * (size_t)t->ncol + (size_t)c];
			if (!s)
				s = "-";
			if (c == t->ncol - 1 && !t->right[c])
				printf("%s\n", s);
			else if (t->right[c])
				printf("%*s%s", (int)w[c], s, c == t->ncol - 1 ? "\n" : "  ");
			else
				printf("%-*s  ", (int)w[c], s);
		}
	}
	free(w);
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < (size_t)t->nrows * (size_t)t->ncol; i++)
		free(t->cell[i]);
	free(t->cell);
	free(t->right);
}

/* ---- shared ------------------------------------------------------------------ */

/* The default store file: the daemon's configured one, else the default. */
static const char *default_db(char *dst, size_t cap)
{
	snprintf(dst, cap, "%s", CONFIG_DEFAULT_DB);
	if (access(CONFIG_DEFAULT_FILE, R_OK) != 0)
		return dst;
	struct serve_config c;
	char err[256];
	if (config_defaults(&c) < 0)
		return dst;
	if (config_load_file(&c, CONFIG_DEFAULT_FILE, err, sizeof(err)) == 0)
		snprintf(dst, cap, "%s", c.db_path);
	config_free(&c);
	return dst;
}

static int open_db(const char *cmd, const char *db, struct store **st)
{
	char dflt[4096];
	bool given = db != NULL;
	if (!db)
		db = default_db(dflt, sizeof(dflt));
	struct stat sb;
	if (stat(db, &sb) < 0) {
		if (given)
			fprintf(stderr, "vantage %s: --db '%s': %s\n", cmd, db, strerror(errno));
		else
			fprintf(stderr,
			        "vantage %s: no store at %s (is 'vantage serve' running? "
			        "Name another one with --db PATH)\n",
			        cmd, db);
		return EXIT_USAGE;
	}
	int r = store_open(db, STORE_RO, st);
	if (r < 0) {
		fprintf(stderr, "vantage %s: %s\n", cmd, store_errmsg(NULL));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static void print_json_text(const struct buf *b)
{
	fwrite(buf_str(b), 1, b->len, stdout);
	if (!b->len || b->data[b->len - 1] != '\n')
		putchar('\n');
}

static const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* Text from the store (systems name themselves) without control characters. */
static void put_safe(const char *s)
{
	for (; s && *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

/* The code unit of a \uXXXX escape at p (end bounds it), or -1. */
static int u_escape(const char *p, const char *end)
{
	if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
		return -1;
	int v = 0;
	for (int i = 2; i < 6; i++) {
		int h = hex_digit(p[i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/*
 * Parse the store's JSON for display.  Bytes that were not valid UTF-8 in
 * the observed system are written as lone surrogate escapes (\udcXX, see
 * util/json.h), which jansson refuses; for tables each becomes the text
 * \xXX (any other lone surrogate: '?'), and a NUL (\u0000) the text \0.
 * Valid surrogate pairs are kept.
 */
static json_t *load_display(const char *text, size_t len, json_error_t *e)
{
	struct buf b = BUF_INIT;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *bs = memchr(p, '\\', (size_t)(end - p));
		if (!bs) {
			buf_add(&b, p, (size_t)(end - p));
			break;
		}
		buf_add(&b, p, (size_t)(bs - p));
		int u = u_escape(bs, end);
		if (u >= 0xd800 && u <= 0xdbff) {
			int lo = u_escape(bs + 6, end);
			if (lo >= 0xdc00 && lo <= 0xdfff) { /* a valid pair */
				buf_add(&b, bs, 12);
				p = bs + 12;
				continue;
			}
		}
		if (u == 0) { /* NUL: shown as \0 (C strings end there) */
			buf_add(&b, "\\\\0", 3);
			p = bs + 6;
			continue;
		}
		if (u >= 0xd800 && u <= 0xdfff) {
			if (u >= 0xdc80 && u <= 0xdcff)
				buf_printf(&b, "\\\\x%02X", u & 0xff);
			else
				buf_addc(&b, '?');
			p = bs + 6;
			continue;
		}
		size_t n = end - bs >= 2 ? 2 : 1; /* any other escape: copied whole */
		buf_add(&b, bs, n);
		p = bs + n;
	}
	json_t *doc = json_loadb(buf_str(&b), b.len, 0, e);
	buf_free(&b);
	return doc;
}

/* A number as people read it: integers whole, others with up to 3 decimals. */
static void format_number(double v, char *dst, size_t cap)
{
	if (v == (double)(long long)v && v > -1e15 && v < 1e15) {
		snprintf(dst, cap, "%lld", (long long)v);
		return;
	}
	snprintf(dst, cap, "%.3f", v);
	char *dot = strchr(dst, '.');
	if (dot) {
		char *e = dst + strlen(dst) - 1;
		while (e > dot && *e == '0')
			*e-- = 0;
		if (e == dot)
			*e = 0;
	}
}

/* A JSON value as a cell: strings bare, numbers readable, the rest compact. */
static char *value_text(const json_t *v)
{
	char num[64];
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		return strdup(num);
	}
	if (json_is_real(v)) {
		format_number(json_real_value(v), num, sizeof(num));
		return strdup(num);
	}
	if (json_is_null(v))
		return strdup("-");
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	return s ? s : strdup("?");
}

/* "5s ago", "3m ago", "2h ago", "4d ago" for an ISO time of the store. */
static void age_of(const char *iso, int64_t now_ms, char *dst, size_t cap)
{
	int64_t t;
	if (!iso || server_parse_time(iso, now_ms, &t) < 0 || !strchr(iso, 'T')) {
		snprintf(dst, cap, "%s", iso && *iso ? iso : "-");
		return;
	}
	int64_t s = (now_ms - t) / 1000;
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(dst, cap, "%llds ago", (long long)s);
	else if (s < 7200)
		snprintf(dst, cap, "%lldm ago", (long long)(s / 60));
	else if (s < 2 * 86400)
		snprintf(dst, cap, "%lldh ago", (long long)(s / 3600));
	else
		snprintf(dst, cap, "%lldd ago", (long long)(s / 86400));
}

/* The part of an id after its last ':' (container id, machine id). */
static const char *id_tail(const char *id)
{
	const char *c = strrchr(id, ':');
	return c ? c + 1 : id;
}

/* A long hex id (container id, machine id): shown by its first 12 digits,
 * like `vantage ls` and container runtimes do. */
static bool is_hex_id(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return n >= 32 && !s[n];
}

/* ---- resolving SYSTEM ------------------------------------------------------- */

static json_t *load_systems(struct store *st, const struct store_system_filter *f, const char *cmd)
{
	struct buf b = BUF_INIT;
	int r = store_systems_json(st, f, &b);
	if (r < 0) {
		fprintf(stderr, "vantage %s: cannot list the systems of the store: %s\n", cmd,
		        store_errmsg(st));
		buf_free(&b);
		return NULL;
	}
	json_error_t e;
	json_t *arr = load_display(buf_str(&b), b.len, &e);
	buf_free(&b);
	if (!json_is_array(arr)) {
		fprintf(stderr,
		        "vantage %s: the store gave a list of systems that is not JSON: %s\n", cmd,
		        e.text);
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/*
 * Find SYSTEM; *id gets the full id (caller frees).  Returns EXIT_OK, or
 * EXIT_USAGE after saying what did not match (or what matched too much).
 */
static int resolve_system(struct store *st, const char *cmd, const char *want, char **id)
{
	struct store_system_filter all = {.gone = -1};
	json_t *arr = load_systems(st, &all, cmd);
	if (!arr)
		return EXIT_FAIL;
	size_t n = json_array_size(arr), i;
	json_t *s, *hit = NULL;
	int nhit = 0;
	/* 1. a full id */
	json_array_foreach(arr, i, s) if (strcmp(jstr(s, "id"), want) == 0) hit = s, nhit = 1;
	/* 2. a name: present systems first */
	for (int pass = 0; pass < 2 && !nhit; pass++) {
		json_array_foreach(arr, i, s)
		{
			bool gone = json_is_true(json_object_get(s, "gone"));
			if (gone == (pass == 1) && strcmp(jstr(s, "name"), want) == 0) {
				if (!hit)
					hit = s;
				nhit++;
			}
		}
		if (nhit > 1)
			break;
	}
	/* 3. a prefix of the id or of its last part */
	if (!nhit) {
		size_t wl = strlen(want);
		json_array_foreach(arr, i, s)
		{
			const char *sid = jstr(s, "id");
			if (strncmp(sid, want, wl) == 0 || strncmp(id_tail(sid), want, wl) == 0) {
				if (!hit)
					hit = s;
				nhit++;
			}
		}
	}
	int status = EXIT_OK;
	if (nhit == 1) {
		*id = strdup(jstr(hit, "id"));
		if (!*id)
			status = EXIT_FAIL;
	} else if (nhit == 0) {
		fprintf(stderr,
		        "vantage %s: no system '%s' in the store (%zu system%s; see 'vantage "
		        "systems --all')\n",
		        cmd, want, n, n == 1 ? "" : "s");
		status = EXIT_USAGE;
	} else {
		fprintf(stderr, "vantage %s: '%s' fits %d systems; give more of the id:\n", cmd,
		        want, nhit);
		size_t wl = strlen(want);
		json_array_foreach(arr, i, s)
		{
			const char *sid = jstr(s, "id");
			if (strcmp(jstr(s, "name"), want) == 0 || strncmp(sid, want, wl) == 0 ||
			    strncmp(id_tail(sid), want, wl) == 0)
				fprintf(stderr, "  %s  %s%s\n", sid, jstr(s, "name"),
				        json_is_true(json_object_get(s, "gone")) ? "  (gone)" : "");
		}
		status = EXIT_USAGE;
	}
	json_decref(arr);
	return status;
}

/* ---- vantage systems ------------------------------------------------------------ */

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
	        "NAME, KIND, RUNTIME, IMAGE, LAST SEEN, STATE (present or gone).\n"
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
		table_set(&t, C_STATE,
		          json_is_true(json_object_get(s, "gone")) ? "gone" : "present", true);
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
	int status = open_db("systems", db, &st);
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
		json_t *arr = load_systems(st, &f, "systems");
		if (arr)
			systems_table(arr, trunc, now_ns() / 1000000);
		else
			status = EXIT_FAIL;
		json_decref(arr);
	}
	store_close(st);
	return status;
}

/* ---- vantage show ----------------------------------------------------------------- */

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
		g->recs = realloc(g->recs, g->cap * sizeof(*g->recs));
		if (!g->recs)
			abort();
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
	if (at && server_parse_time(at, now_ms, &at_ms) < 0) {
		fprintf(stderr,
		        "vantage show: --at '%s' is not a time (2026-11-22T10:00:00Z, epoch "
		        "seconds) or a duration ago (10m, 1h)\n",
		        at);
		return EXIT_USAGE;
	}
	struct store *st;
	int status = open_db("show", db, &st);
	if (status != EXIT_OK)
		return status;
	char *id = NULL;
	status = resolve_system(st, "show", want, &id);
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

/* ---- vantage metrics ------------------------------------------------------------- */

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
	if (server_parse_time(since, now_ms, &from) < 0) {
		fprintf(stderr,
		        "vantage metrics: --since '%s' is not a time or a duration ago (1h, "
		        "30m, 2026-11-22T10:00:00Z, epoch seconds)\n",
		        since);
		return EXIT_USAGE;
	}
	if (until && server_parse_time(until, now_ms, &to) < 0) {
		fprintf(stderr,
		        "vantage metrics: --until '%s' is not a time or a duration ago (10m, "
		        "2026-11-22T10:00:00Z, epoch seconds, now)\n",
		        until);
		return EXIT_USAGE;
	}
	if (server_parse_duration(step, &step_ms) < 0 || step_ms < 1000) {
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
	int status = open_db("metrics", db, &st);
	if (status != EXIT_OK)
		return status;
	char *id = NULL;
	status = resolve_system(st, "metrics", want, &id);
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
