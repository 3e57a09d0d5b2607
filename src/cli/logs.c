/*
 * logs.c - `vantage logs [SYSTEM]`: log lines from the store (docs/logs.md),
 * the last ones, a time range, or followed as they arrive (--follow),
 * filtered by system, source, level, full-text words (--search) and a
 * POSIX extended regular expression (--grep); as text or one JSON object
 * per line (--json).
 *
 * --grep is applied to each line here; the words of the expression that
 * every matching line must hold as whole words (literal runs of letters
 * and digits between spaces, ^, $, \<, \> or \b, in an expression without
 * alternation) are also given to the store's full-text index, so that
 * only the lines holding them are read.
 *
 * Reading pages through the lines in (time, id) order: the next page starts
 * at the last time seen and skips the ids already given at that time.
 * --follow first notes the newest id, shows the lines up to it, then polls
 * for lines after it in id order (store_log_query.by_id): none is missed
 * or shown twice.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <regex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../store/logs_json.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "../util/json.h"
#include "../util/logsev.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "cli.h"
#include "display.h"
#include "sysref.h"

static void logs_usage(FILE *out)
{
	fprintf(out, "Usage: vantage logs [SYSTEM] [OPTIONS]\n"
	             "\n"
	             "Log lines collected from the systems (container output, log files,\n"
	             "the journal, VM kernel logs), from the store: by default the last 100\n"
	             "lines of every system, or of SYSTEM (an id, a name or an id prefix).\n"
	             "\n"
	             "Options:\n"
	             "  -f, --follow         show new lines as they are stored (Ctrl-C stops)\n"
	             "  -g, --grep RE        only lines matching the POSIX extended regular\n"
	             "                       expression RE (case-sensitive; -i: ignore case)\n"
	             "  -i, --ignore-case    --grep ignores case\n"
	             "  -s, --search WORDS   only lines holding all these words (the full-text\n"
	             "                       index: whole words, any case; \"a phrase\", OR)\n"
	             "      --since TIME     from TIME: a duration ago (10m, 2h), an ISO-8601\n"
	             "                       time or epoch seconds; then every line from there\n"
	             "      --until TIME     up to TIME (same forms)\n"
	             "  -l, --level LEVEL    lines of LEVEL or more severe: emerg, alert, crit,\n"
	             "                       err, warning, notice, info, debug (or 0-7); lines\n"
	             "                       of unknown level are then left out\n"
	             "      --source SOURCE  one source: stdout, stderr, file:/var/log/syslog,\n"
	             "                       journal, kmsg, console\n"
	             "  -n, --lines N        at most N lines (default 100 without --since)\n"
	             "  -j, --json           one JSON object per line: {id, system, name,\n"
	             "                       source, time, level, line}\n"
	             "      --db PATH        the store (see 'vantage systems --help')\n"
	             "  -h, --help           show this help\n"
	             "\n"
	             "Lines are kept [logs] retention (7 days by default; per source:\n"
	             "retention_per_source).  Exit status: 0 shown, 1 the store could not be\n"
	             "read, 2 bad usage or an unknown system.\n");
}

/* ---- words of a regular expression for the full-text index ----------------- */

static bool word_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/*
 * The words every line matching the ERE `re` holds whole, as an FTS query
 * of quoted words ("a" "b"), or "" when none is sure.  The expression is
 * read as atoms: a literal character (escaped or not), or something else
 * (., [...], groups, anchors).  A run of literal word characters not
 * quantified counts when both its ends are boundaries: a literal space or
 * tab, ^ or $, \<, \> or \b.  Any alternation gives up.
 */
static void grep_words(const char *re, struct buf *out)
{
	buf_reset(out);
	if (strchr(re, '|'))
		return;
	enum { A_WORD, A_BOUND, A_OTHER };
	size_t n = strlen(re);
	int *kind = xcalloc(n + 2, sizeof(int));
	char *ch = xcalloc(n + 2, 1);
	size_t na = 0;
	kind[na++] = A_OTHER; /* the start of the expression: not a boundary */
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)re[i];
		int k = A_OTHER;
		char lit = 0;
		size_t len = 1;
		if (c == '\\' && i + 1 < n) {
			unsigned char e = (unsigned char)re[i + 1];
			len = 2;
			if (e == '<' || e == '>' || e == 'b')
				k = A_BOUND;
			else if (!word_char(e) && e >= 0x20 && e < 0x7f)
				k = e == ' ' ? A_BOUND : A_OTHER; /* an escaped punctuation */
		} else if (c == '[') {
			/* a bracket expression: to its closing ] ("[]...]" and "[^]...]" hold
			 * a literal ] first) */
			size_t j = i + 1;
			if (j < n && re[j] == '^')
				j++;
			if (j < n && re[j] == ']')
				j++;
			while (j < n && re[j] != ']')
				j++;
			len = j < n ? j - i + 1 : n - i;
		} else if (c == '^' || c == '$' || c == ' ' || c == '\t') {
			k = A_BOUND;
		} else if (word_char(c)) {
			k = A_WORD;
			lit = (char)c;
		}
		i += len;
		/* a quantifier makes the atom optional or repeated: not literal */
		if (i < n && (re[i] == '*' || re[i] == '+' || re[i] == '?' || re[i] == '{')) {
			k = A_OTHER;
			if (re[i] == '{')
				while (i < n && re[i] != '}')
					i++;
			i++;
		}
		kind[na] = k;
		ch[na++] = lit;
	}
	kind[na++] = A_OTHER;
	for (size_t a = 1; a < na;) {
		if (kind[a] != A_WORD) {
			a++;
			continue;
		}
		size_t b = a;
		while (b < na && kind[b] == A_WORD)
			b++;
		if (kind[a - 1] == A_BOUND && kind[b] == A_BOUND) {
			buf_adds(out, out->len ? " \"" : "\"");
			buf_add(out, ch + a, b - a);
			buf_addc(out, '"');
		}
		a = b;
	}
	free(kind);
	free(ch);
}

/* ---- output ------------------------------------------------------------------ */

struct out {
	bool json;
	regex_t re;
	bool grep;
	json_t *systems; /* for names */
	const char *last_sys, *last_name;
	char *names_of; /* the id last_name is for (a copy) */
	size_t shown;
	bool broken; /* stdout is gone */
};

static const char *name_of(struct out *o, const char *sid)
{
	if (o->names_of && strcmp(o->names_of, sid) == 0)
		return o->last_name;
	free(o->names_of);
	o->names_of = xstrdup(sid);
	o->last_name = NULL;
	size_t i;
	json_t *s;
	json_array_foreach(o->systems, i, s)
	{
		if (strcmp(jstr(s, "id"), sid) == 0) {
			const char *n = jstr(s, "name");
			o->last_name = *n ? n : NULL;
			break;
		}
	}
	return o->last_name;
}

static bool wanted(struct out *o, const struct store_log *l)
{
	if (!o->grep)
		return true;
	/* regexec needs a C string; lines hold no NUL (the collector escapes) */
	char small[1024];
	char *s = l->len < sizeof(small) ? small : malloc(l->len + 1);
	if (!s)
		return false;
	memcpy(s, l->line, l->len);
	s[l->len] = 0;
	bool m = regexec(&o->re, s, 0, NULL, 0) == 0;
	if (s != small)
		free(s);
	return m;
}

static void show(struct out *o, int64_t id, const struct store_log *l)
{
	const char *name = name_of(o, l->system_id);
	if (o->json) {
		struct buf b = BUF_INIT;
		struct json j;
		jw_init(&j, &b);
		logs_json_line(&j, id, l, name);
		buf_addc(&b, '\n');
		fwrite(b.data, 1, b.len, stdout);
		buf_free(&b);
	} else {
		char t[40];
		format_time_utc(l->time_ms * 1000000, t, sizeof(t));
		const char *lv = logsev_name(l->level);
		printf("%s  ", t);
		put_safe(name ? name : l->system_id);
		printf("  ");
		put_safe(l->source);
		printf("  %-7s  ", lv ? lv : "-");
		/* the line: its bytes, control characters shown as ? */
		for (size_t i = 0; i < l->len; i++) {
			unsigned char c = (unsigned char)l->line[i];
			putchar(c < 0x20 || c == 0x7f ? '?' : c);
		}
		putchar('\n');
	}
	o->shown++;
	if (ferror(stdout))
		o->broken = true;
}

/* ---- reading ------------------------------------------------------------------- */

struct line {
	int64_t id;
	struct store_log l;
	char *sys, *src, *text;
};

struct page {
	struct out *o;
	int64_t max_id;  /* lines above it are not shown (follow shows them) */
	int64_t edge_t;  /* the previous page's last time... */
	int64_t edge_id; /* ...and id: lines at edge_t up to it were seen */
	bool reverse;    /* pages newest first */
	size_t got;      /* lines the page returned */
	int64_t last_t, last_id;
	struct line *keep; /* reverse: lines to show oldest first at the end */
	size_t nkeep, cap, want;
	bool direct; /* forward: shown at once */
};

static void line_free(struct line *x)
{
	free(x->sys);
	free(x->src);
	free(x->text);
}

static int on_page(void *ctx, int64_t id, const struct store_log *l)
{
	struct page *p = ctx;
	p->got++;
	p->last_t = l->time_ms;
	p->last_id = id;
	if (p->edge_id && l->time_ms == p->edge_t &&
	    (p->reverse ? id >= p->edge_id : id <= p->edge_id))
		return 0; /* seen on the page before */
	if (p->max_id && id > p->max_id)
		return 0;
	if (!wanted(p->o, l))
		return 0;
	if (p->direct) {
		show(p->o, id, l);
		if (p->o->broken)
			return -EPIPE;
		return p->want && p->o->shown >= p->want ? 1 : 0;
	}
	if (p->nkeep == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 256;
		p->keep = xreallocarray(p->keep, p->cap, sizeof(*p->keep));
	}
	struct line *x = &p->keep[p->nkeep++];
	x->id = id;
	x->l = *l;
	x->sys = xstrdup(l->system_id);
	x->src = xstrdup(l->source);
	x->text = xstrndup(l->line, l->len);
	x->l.system_id = x->sys;
	x->l.source = x->src;
	x->l.line = x->text;
	return 0;
}

/* The lines of q (its from/to, filters), paged; forward: shown as read,
 * up to `want` (0: all); reverse: the last `want`, shown oldest first. */
static int read_lines(struct store *st, struct store_log_query q, struct out *o, int64_t max_id,
                      size_t want, bool reverse)
{
	struct page p = {
	    .o = o, .max_id = max_id, .reverse = reverse, .direct = !reverse, .want = want};
	size_t page = 1000;
	q.reverse = reverse;
	int r = 0;
	for (;;) {
		q.limit = page;
		p.got = 0;
		r = store_logs(st, &q, on_page, &p);
		if (r > 0) { /* enough lines */
			r = 0;
			break;
		}
		if (r < 0 || o->broken)
			break;
		if ((want && (reverse ? p.nkeep : o->shown) >= want) || p.got < page)
			break;
		if (p.last_t == p.edge_t && p.last_id == p.edge_id) {
			page *= 2; /* a whole page at one time, seen: a larger one */
			continue;
		}
		/* the next page from the last line's time, skipping the lines
		 * up to it at that time (ids ascend within a time) */
		p.edge_t = p.last_t;
		p.edge_id = p.last_id;
		if (reverse)
			q.to_ms = p.edge_t;
		else
			q.from_ms = p.edge_t;
	}
	if (reverse) {
		size_t n = want && p.nkeep > want ? want : p.nkeep;
		for (size_t i = n; i-- > 0 && !o->broken;)
			show(o, p.keep[i].id, &p.keep[i].l);
		for (size_t i = 0; i < p.nkeep; i++)
			line_free(&p.keep[i]);
		free(p.keep);
	}
	fflush(stdout);
	return r;
}

static int on_max(void *ctx, int64_t id, const struct store_log *l)
{
	*(int64_t *)ctx = id;
	return 0;
}

struct follow {
	struct out *o;
	int64_t after;
	size_t got;
};

static int on_follow(void *ctx, int64_t id, const struct store_log *l)
{
	struct follow *f = ctx;
	f->after = id;
	f->got++;
	if (wanted(f->o, l))
		show(f->o, id, l);
	return f->o->broken ? -EPIPE : 0;
}

static int follow(struct store *st, struct store_log_query q, struct out *o, int64_t after)
{
	struct follow f = {.o = o, .after = after};
	q.by_id = true;
	q.reverse = false;
	q.from_ms = 0;
	q.to_ms = 0;
	q.limit = 10000;
	for (;;) {
		q.after_id = f.after;
		f.got = 0;
		int r = store_logs(st, &q, on_follow, &f);
		fflush(stdout);
		if (r == -EPIPE || o->broken || ferror(stdout))
			return 0;
		if (r < 0)
			return r;
		if (f.got < q.limit) {
			struct timespec ts = {0, 500 * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
}

/* Does the store hold lines of exactly this system id? */
static int has_logs_of(struct store *st, const char *sid)
{
	int64_t id = 0;
	const char *ids[] = {sid};
	struct store_log_query q = {
	    .system_ids = ids, .nsystems = 1, .max_level = 7, .limit = 1, .by_id = true};
	int r = store_logs(st, &q, on_max, &id);
	return r < 0 ? r : id > 0;
}

int cmd_logs(int argc, char **argv)
{
	enum { O_SINCE = 256, O_UNTIL, O_SOURCE, O_DB };
	static const struct option longopts[] = {
	    {"follow", no_argument, 0, 'f'},
	    {"grep", required_argument, 0, 'g'},
	    {"ignore-case", no_argument, 0, 'i'},
	    {"search", required_argument, 0, 's'},
	    {"since", required_argument, 0, O_SINCE},
	    {"until", required_argument, 0, O_UNTIL},
	    {"level", required_argument, 0, 'l'},
	    {"source", required_argument, 0, O_SOURCE},
	    {"lines", required_argument, 0, 'n'},
	    {"json", no_argument, 0, 'j'},
	    {"db", required_argument, 0, O_DB},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	const char *grep = NULL, *search = NULL, *since = NULL, *until = NULL, *level = NULL;
	const char *source = NULL, *db = NULL, *lines = NULL;
	bool follow_on = false, icase = false, json = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "fg:is:l:n:jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			follow_on = true;
			break;
		case 'g':
			grep = optarg;
			break;
		case 'i':
			icase = true;
			break;
		case 's':
			search = optarg;
			break;
		case O_SINCE:
			since = optarg;
			break;
		case O_UNTIL:
			until = optarg;
			break;
		case 'l':
			level = optarg;
			break;
		case O_SOURCE:
			source = optarg;
			break;
		case 'n':
			lines = optarg;
			break;
		case 'j':
			json = true;
			break;
		case O_DB:
			db = optarg;
			break;
		case 'h':
			logs_usage(stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "Try 'vantage logs --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (optind + 1 < argc) {
		fprintf(stderr, "vantage logs: unexpected argument '%s'\n", argv[optind + 1]);
		return EXIT_USAGE;
	}
	const char *want = optind < argc ? argv[optind] : NULL;
	struct store_log_query q = {.max_level = 7};
	int64_t now_ms = now_ns() / 1000000;
	if (since && parse_time(since, now_ms, &q.from_ms) < 0) {
		fprintf(stderr,
		        "vantage logs: --since '%s' is not a time or a duration ago (10m, 2h, "
		        "2026-11-22T10:00:00Z, epoch seconds)\n",
		        since);
		return EXIT_USAGE;
	}
	if (until && parse_time(until, now_ms, &q.to_ms) < 0) {
		fprintf(stderr,
		        "vantage logs: --until '%s' is not a time or a duration ago (10m, "
		        "2026-11-22T10:00:00Z, epoch seconds, now)\n",
		        until);
		return EXIT_USAGE;
	}
	if (since && until && q.from_ms > q.to_ms) {
		fprintf(stderr, "vantage logs: --since '%s' is after --until '%s'\n", since, until);
		return EXIT_USAGE;
	}
	if (level) {
		q.max_level = logsev_parse(level);
		if (q.max_level < 0) {
			fprintf(
			    stderr,
			    "vantage logs: --level '%s' is not a level (emerg, alert, crit, err, "
			    "warning, notice, info, debug, or 0-7)\n",
			    level);
			return EXIT_USAGE;
		}
		q.exclude_unknown = true;
	}
	size_t nlines = since ? 0 : 100;
	if (lines) {
		char *end;
		long long v = strtoll(lines, &end, 10);
		if (*end || end == lines || v <= 0 || v > 100000000) {
			fprintf(stderr, "vantage logs: --lines '%s' is not a count of lines\n",
			        lines);
			return EXIT_USAGE;
		}
		nlines = (size_t)v;
	}
	struct out o = {.json = json};
	if (grep) {
		int rc = regcomp(&o.re, grep, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));
		if (rc) {
			char m[200];
			regerror(rc, &o.re, m, sizeof(m));
			fprintf(stderr, "vantage logs: --grep '%s': %s\n", grep, m);
			return EXIT_USAGE;
		}
		o.grep = true;
	}
	struct buf words = BUF_INIT;
	if (grep)
		grep_words(grep, &words);
	if (search && words.len) {
		struct buf both = BUF_INIT;
		buf_printf(&both, "(%s) %s", search, words.data);
		buf_free(&words);
		words = both;
	} else if (search) {
		buf_adds(&words, search);
	}
	q.match = words.len ? words.data : NULL;
	q.source = source;

	struct store *st = NULL;
	char *id = NULL;
	int status = sysref_open_db("logs", db, &st);
	if (status == EXIT_OK) {
		struct store_system_filter all = {.gone = -1};
		o.systems = sysref_systems(st, &all, "logs");
		if (!o.systems)
			status = EXIT_FAIL;
	}
	if (status == EXIT_OK && want) {
		/* an exact system id with lines first (lines may come before
		 * the system's first frame), else as other commands do */
		int h = has_logs_of(st, want);
		if (h > 0)
			id = xstrdup(want);
		else
			status = sysref_resolve(st, "logs", want, &id);
	}
	const char *ids[1] = {id};
	if (id) {
		q.system_ids = ids;
		q.nsystems = 1;
	}
	int r = 0;
	if (status == EXIT_OK) {
		signal(SIGPIPE, SIG_IGN);
		int64_t max_id = 0;
		struct store_log_query mq = {
		    .max_level = 7, .by_id = true, .reverse = true, .limit = 1};
		if (follow_on)
			r = store_logs(st, &mq, on_max, &max_id);
		/* with --follow: the lines up to the newest id first (the last
		 * ones, as tail -f), then those after it */
		if (r == 0)
			r = read_lines(st, q, &o, follow_on ? max_id : 0, nlines, !since);
		if (r == 0 && follow_on && !o.broken)
			r = follow(st, q, &o, max_id);
		if (r == -EINVAL) {
			fprintf(stderr, "vantage logs: %s\n", store_errmsg(st));
			status = EXIT_USAGE;
		} else if (r < 0 && r != -EPIPE) {
			fprintf(stderr, "vantage logs: %s\n", store_errmsg(st));
			status = EXIT_FAIL;
		}
	}
	if (grep)
		regfree(&o.re);
	free(o.names_of);
	json_decref(o.systems);
	buf_free(&words);
	free(id);
	if (st)
		store_close(st);
	return status;
}
