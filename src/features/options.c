/*
 * options.c - the options features declare (struct feature_option in
 * feature.h), read into each feature's own settings struct.
 *
 * One parser per type serves the defaults (declared as text), the config
 * file of `vantage serve` and the flags of `vantage crawl` and `vantage
 * serve`, so the three never disagree.  The help of both commands, the
 * option table of docs/configuration.md (`vantage features --options
 * --markdown`) and the [crawl] keys of the config file all come from the
 * declarations.
 *
 * Also here: the size parser, and the duration and size formatters.
 * Durations are parsed by util/timefmt.c (feature_parse_duration() wraps
 * parse_duration_sec), so the config file, the CLI and the API take the
 * same syntax.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../util/timefmt.h"
#include "../util/util.h"
#include "feature.h"

/* ---- values ------------------------------------------------------------------ */

/* The API's syntax, from the time module: config file, flags and API agree. */
int feature_parse_duration(const char *s, double *out)
{
	return parse_duration_sec(s, out);
}

int feature_parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	uint64_t mul = 1;
	switch (*end) {
	case 'k':
	case 'K':
		mul = 1024;
		end++;
		break;
	case 'm':
	case 'M':
		mul = 1024 * 1024;
		end++;
		break;
	case 'g':
	case 'G':
		mul = 1024ull * 1024 * 1024;
		end++;
		break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v > UINT64_MAX / mul)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

void feature_format_duration(double s, char *dst, size_t cap)
{
	long long whole = (long long)s;
	if (s <= 0)
		snprintf(dst, cap, "off");
	else if ((double)whole != s && s < 1 && s * 1000 == (double)(long long)(s * 1000))
		snprintf(dst, cap, "%gms", s * 1000);
	else if ((double)whole != s)
		snprintf(dst, cap, "%gs", s);
	else if (whole % (7 * 86400) == 0)
		snprintf(dst, cap, "%lldw", whole / (7 * 86400));
	else if (whole % 86400 == 0)
		snprintf(dst, cap, "%lldd", whole / 86400);
	else if (whole % 3600 == 0)
		snprintf(dst, cap, "%lldh", whole / 3600);
	else if (whole % 60 == 0)
		snprintf(dst, cap, "%lldm", whole / 60);
	else
		snprintf(dst, cap, "%llds", whole);
}

void feature_format_size(uint64_t v, char *dst, size_t cap)
{
	if (v && v % (1024ull * 1024 * 1024) == 0)
		snprintf(dst, cap, "%lluG", (unsigned long long)(v >> 30));
	else if (v && v % (1024 * 1024) == 0)
		snprintf(dst, cap, "%lluM", (unsigned long long)(v >> 20));
	else if (v && v % 1024 == 0)
		snprintf(dst, cap, "%lluK", (unsigned long long)(v >> 10));
	else
		snprintf(dst, cap, "%llu", (unsigned long long)v);
}

int feature_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no",
	                                                                            "off", "0"};
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return *out = true, 0;
		if (strcasecmp(s, no[i]) == 0)
			return *out = false, 0;
	}
	return -EINVAL;
}

/* ---- the settings ---------------------------------------------------------------- */

static int nfeatures(void)
{
	return feature_count < FEATURE_MAX ? (int)feature_count : FEATURE_MAX;
}

static void list_clear(struct feature_list *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
}

/* Free what the settings struct `s` of `f` owns (not s). */
static void settings_clear(const struct feature *f, void *s)
{
	for (const struct feature_option *o = f->options; o && o->flag; o++) {
		void *slot = (char *)s + o->offset;
		if (o->type == FOPT_STRING) {
			free(*(char **)slot);
			*(char **)slot = NULL;
		} else if (o->type == FOPT_LIST) {
			list_clear(slot);
		}
	}
}

static void update_wait(struct crawl_opts *o)
{
	o->sample_interval = 0;
	for (int i = 0; i < nfeatures(); i++) {
		const struct feature *f = feature_table[i];
		if (f->prime && f->prime_wait && o->settings[i]) {
			double w = f->prime_wait(o->settings[i]);
			if (w > o->sample_interval)
				o->sample_interval = w;
		}
	}
}

void crawl_opts_free(struct crawl_opts *o)
{
	for (int i = 0; i < nfeatures(); i++) {
		if (o->settings[i])
			settings_clear(feature_table[i], o->settings[i]);
		free(o->settings[i]);
	}
	memset(o, 0, sizeof(*o));
}

int crawl_opts_init(struct crawl_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 0; i < nfeatures(); i++) {
		const struct feature *f = feature_table[i];
		if (!f->settings_size)
			continue;
		o->settings[i] = calloc(1, f->settings_size);
		if (!o->settings[i])
			goto nomem;
		for (const struct feature_option *opt = f->options; opt && opt->flag; opt++) {
			char err[256];
			if (!opt->dflt)
				continue;
			int r = crawl_opts_set(o, f, opt, opt->dflt, true, false, err, sizeof(err));
			if (r == -ENOMEM)
				goto nomem;
			if (r < 0) { /* a bad declaration: the unit tests catch it */
				fprintf(stderr, "vantage: feature %s: default of --%s: %s\n",
				        f->name, opt->flag, err);
				crawl_opts_free(o);
				return -EINVAL;
			}
		}
	}
	update_wait(o);
	return 0;
nomem:
	crawl_opts_free(o);
	return -ENOMEM;
}

static int dup_str(char **slot)
{
	if (*slot && !(*slot = strdup(*slot)))
		return -ENOMEM;
	return 0;
}

int crawl_opts_copy(struct crawl_opts *dst, const struct crawl_opts *src)
{
	*dst = *src;
	memset(dst->settings, 0, sizeof(dst->settings));
	for (int i = 0; i < nfeatures(); i++) {
		const struct feature *f = feature_table[i];
		if (!src->settings[i])
			continue;
		dst->settings[i] = malloc(f->settings_size);
		if (!dst->settings[i])
			goto nomem;
		memcpy(dst->settings[i], src->settings[i], f->settings_size);
		int r = 0;
		for (const struct feature_option *o = f->options; o && o->flag; o++) {
			void *slot = (char *)dst->settings[i] + o->offset;
			if (o->type == FOPT_STRING) {
				r |= dup_str(slot);
			} else if (o->type == FOPT_LIST) {
				struct feature_list *l = slot;
				for (int k = 0; k < l->n; k++)
					if (dup_str(&l->v[k]) < 0) {
						l->n = k; /* the rest are src's */
						r = -ENOMEM;
						break;
					}
			}
		}
		if (r)
			goto nomem;
	}
	return 0;
nomem:
	crawl_opts_free(dst);
	return -ENOMEM;
}

const void *crawl_opts_settings(const struct crawl_opts *o, const struct feature *f)
{
	int i = feature_index(f);
	return o && i >= 0 && i < FEATURE_MAX ? o->settings[i] : NULL;
}

void crawl_opts_fit(struct crawl_opts *o, const double *interval)
{
	for (int i = 0; i < nfeatures(); i++)
		if (feature_table[i]->fit_interval && o->settings[i])
			feature_table[i]->fit_interval(o->settings[i], interval[i]);
	update_wait(o);
}

/* ---- finding and setting one option -------------------------------------------- */

const struct feature_option *feature_option_by_key(const char *key, const struct feature **f)
{
	for (int i = 0; i < nfeatures(); i++)
		for (const struct feature_option *o = feature_table[i]->options; o && o->flag; o++)
			if (o->key && strcmp(o->key, key) == 0) {
				*f = feature_table[i];
				return o;
			}
	return NULL;
}

const struct feature_option *feature_option_by_flag(const char *flag, bool crawl_only,
                                                    const struct feature **f, bool *negated)
{
	for (int i = 0; i < nfeatures(); i++) {
		for (const struct feature_option *o = feature_table[i]->options; o && o->flag;
		     o++) {
			if (!o->key && !crawl_only)
				continue;
			*negated = o->type == FOPT_BOOL && strncmp(flag, "no-", 3) == 0 &&
			           strcmp(flag + 3, o->flag) == 0;
			if (*negated || strcmp(flag, o->flag) == 0) {
				*f = feature_table[i];
				return o;
			}
		}
	}
	*negated = false;
	return NULL;
}

static int list_add(struct feature_list *l, const char *s, size_t n)
{
	if (l->n == FEATURE_LIST_MAX)
		return -E2BIG;
	char *d = strndup(s, n);
	if (!d)
		return -ENOMEM;
	l->v[l->n++] = d;
	return 0;
}

/* A flag adds one entry as given; the file's (and a default's) value is a
 * comma list. */
static int set_list(struct feature_list *l, const char *value, bool replace, bool as_flag)
{
	if (replace)
		list_clear(l);
	if (as_flag)
		return *value ? list_add(l, value, strlen(value)) : 0;
	const char *p = value;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		const char *s = p;
		trim(&s, &n);
		if (n) {
			int r = list_add(l, s, n);
			if (r < 0)
				return r;
		}
		if (!comma)
			break;
		p = comma + 1;
	}
	return 0;
}

static void range_text(double v, char *dst, size_t cap)
{
	if (v == 0)
		snprintf(dst, cap, "0");
	else
		feature_format_duration(v, dst, cap);
}

int crawl_opts_set(struct crawl_opts *o, const struct feature *f, const struct feature_option *opt,
                   const char *value, bool replace_list, bool as_flag, char *err, size_t errlen)
{
	int i = feature_index(f);
	if (i < 0 || i >= FEATURE_MAX || !o->settings[i]) {
		snprintf(err, errlen, "feature %s has no settings", f->name);
		return -EINVAL;
	}
	void *slot = (char *)o->settings[i] + opt->offset;
	switch (opt->type) {
	case FOPT_BOOL:
		if (feature_parse_bool(value, slot) < 0) {
			if (as_flag)
				snprintf(err, errlen,
				         "--%s '%s' is not a boolean (use true or false)",
				         opt->flag, value);
			else
				snprintf(err, errlen, "not a boolean: '%s' (use true or false)",
				         value);
			return -EINVAL;
		}
		return 0;
	case FOPT_SIZE:
		if (feature_parse_size(value, slot) < 0) {
			if (as_flag)
				snprintf(err, errlen,
				         "--%s '%s' is not a size (e.g. 65536, 64K, 1M)", opt->flag,
				         value);
			else
				snprintf(err, errlen, "not a size: '%s' (use e.g. 65536, 64K, 1M)",
				         value);
			return -EINVAL;
		}
		return 0;
	case FOPT_DURATION: {
		double d;
		if (feature_parse_duration(value, &d) < 0 || d < opt->min || d > opt->max) {
			char lo[32], hi[32];
			range_text(opt->min, lo, sizeof(lo));
			range_text(opt->max, hi, sizeof(hi));
			if (as_flag)
				snprintf(err, errlen,
				         "--%s '%s' is not a number of seconds between %g and %g",
				         opt->flag, value, opt->min, opt->max);
			else
				snprintf(err, errlen,
				         "not a duration from %s to %s: '%s' (use e.g. 250ms, 10s, "
				         "5m)",
				         lo, hi, value);
			return -EINVAL;
		}
		*(double *)slot = d;
		break;
	}
	case FOPT_STRING: {
		if (!*value) {
			if (as_flag)
				snprintf(err, errlen, "--%s must not be empty", opt->flag);
			else
				snprintf(err, errlen, "must not be empty");
			return -EINVAL;
		}
		char *d = strdup(value);
		if (!d)
			return -ENOMEM;
		free(*(char **)slot);
		*(char **)slot = d;
		return 0;
	}
	case FOPT_LIST: {
		int r = set_list(slot, value, replace_list, as_flag);
		if (r == -E2BIG) {
			if (as_flag)
				snprintf(err, errlen, "at most %d --%s", FEATURE_LIST_MAX,
				         opt->flag);
			else
				snprintf(err, errlen, "more than %d entries", FEATURE_LIST_MAX);
			return -EINVAL;
		}
		return r;
	}
	}
	update_wait(o);
	return 0;
}

void crawl_opts_format(const struct crawl_opts *o, const struct feature *f,
                       const struct feature_option *opt, char *dst, size_t cap)
{
	const void *s = crawl_opts_settings(o, f);
	dst[0] = 0;
	if (!s)
		return;
	const void *slot = (const char *)s + opt->offset;
	switch (opt->type) {
	case FOPT_BOOL:
		snprintf(dst, cap, "%s", *(const bool *)slot ? "true" : "false");
		break;
	case FOPT_SIZE:
		feature_format_size(*(const uint64_t *)slot, dst, cap);
		break;
	case FOPT_DURATION: {
		double d = *(const double *)slot;
		if (d == 0)
			snprintf(dst, cap, "0");
		else
			feature_format_duration(d, dst, cap);
		break;
	}
	case FOPT_STRING:
		snprintf(dst, cap, "%s", *(char *const *)slot ? *(char *const *)slot : "");
		break;
	case FOPT_LIST: {
		const struct feature_list *l = slot;
		size_t at = 0;
		for (int i = 0; i < l->n && at < cap; i++)
			at += (size_t)snprintf(dst + at, cap - at, "%s%s", i ? ", " : "", l->v[i]);
		break;
	}
	}
}

/* ---- help ------------------------------------------------------------------------ */

void feature_help_wrap(FILE *out, const char *text, int col, int at)
{
	const char *p = text;
	while (*p) {
		int room = 79 - at, n = (int)strlen(p);
		if (n > room) {
			n = room;
			while (n > 0 && p[n] != ' ')
				n--;
			if (n == 0)
				n = room;
		}
		fprintf(out, "%.*s\n", n, p);
		p += n;
		while (*p == ' ')
			p++;
		if (*p)
			fprintf(out, "%*s", col, "");
		at = col;
	}
}

/* "  --flag META" (with a short flag "  -i, --flag META") at column 0, the
 * text from column col. */
static void help_left(FILE *out, const char *left, int col)
{
	if ((int)strlen(left) >= col - 1)
		fprintf(out, "%s\n%*s", left, col, "");
	else
		fprintf(out, "%-*s", col, left);
}

static void help_crawl(FILE *out, const struct feature *f, const struct feature_option *o,
                       const char *dflt)
{
	enum { COL = 26 };
	char left[128], text[512];
	if (o->type == FOPT_BOOL)
		snprintf(left, sizeof(left), "      --%s, --no-%s", o->flag, o->flag);
	else if (o->short_flag)
		snprintf(left, sizeof(left), "  -%c, --%s %s", o->short_flag, o->flag, o->metavar);
	else
		snprintf(left, sizeof(left), "      --%s %s", o->flag, o->metavar);
	int n = snprintf(text, sizeof(text), "%s: %s", f->name, o->help);
	if (o->type == FOPT_LIST)
		snprintf(text + n, sizeof(text) - (size_t)n, " (repeatable; default %s)",
		         *dflt ? dflt : "none");
	else if (o->type != FOPT_BOOL && *dflt)
		snprintf(text + n, sizeof(text) - (size_t)n, " (default %s)", dflt);
	help_left(out, left, COL);
	feature_help_wrap(out, text, COL, COL);
}

static void help_serve(FILE *out, const struct feature *f, const struct feature_option *o,
                       const char *dflt)
{
	enum { COL = 32 };
	char left[128], text[512], file[1200];
	if (o->type == FOPT_BOOL)
		snprintf(left, sizeof(left), "  --%s, --no-%s", o->flag, o->flag);
	else
		snprintf(left, sizeof(left), "  --%s %s", o->flag, o->metavar);
	snprintf(text, sizeof(text), "%s feature: %s%s", f->name, o->help,
	         o->type == FOPT_LIST ? " (a comma list in the file; the flag repeats)" : "");
	help_left(out, left, COL);
	feature_help_wrap(out, text, COL, COL);
	if (*dflt)
		snprintf(file, sizeof(file), "(%s = %s)", o->key, dflt);
	else
		snprintf(file, sizeof(file), "(%s: not set by default)", o->key);
	fprintf(out, "%*s", COL, "");
	feature_help_wrap(out, file, COL, COL);
}

static void help_markdown(FILE *out, const struct feature *f, const struct feature_option *o,
                          const char *dflt)
{
	char flag[128];
	if (o->type == FOPT_BOOL)
		snprintf(flag, sizeof(flag), "`--%s`, `--no-%s`", o->flag, o->flag);
	else
		snprintf(flag, sizeof(flag), "`--%s %s`%s", o->flag, o->metavar,
		         o->type == FOPT_LIST ? " (repeat)" : "");
	fprintf(out, "| `[crawl]` | `%s` | %s | %s%s%s | The `%s` feature: %s.%s |\n", o->key, flag,
	        *dflt ? "`" : "", *dflt ? dflt : "not set", *dflt ? "`" : "", f->name, o->help,
	        o->type == FOPT_LIST ? " A comma list in the file." : "");
}

void feature_options_help(FILE *out, enum feature_help style)
{
	struct crawl_opts d;
	if (crawl_opts_init(&d) < 0)
		return;
	char dflt[1024];
	for (int i = 0; i < nfeatures(); i++) {
		const struct feature *f = feature_table[i];
		for (const struct feature_option *o = f->options; o && o->flag; o++) {
			if (style != FEATURE_HELP_CRAWL && !o->key)
				continue;
			if (o->type == FOPT_DURATION || (!o->dflt && o->type != FOPT_BOOL))
				snprintf(dflt, sizeof(dflt), "%s", o->dflt ? o->dflt : "");
			else
				crawl_opts_format(&d, f, o, dflt, sizeof(dflt));
			if (style == FEATURE_HELP_CRAWL)
				help_crawl(out, f, o, dflt);
			else if (style == FEATURE_HELP_SERVE)
				help_serve(out, f, o, dflt);
			else
				help_markdown(out, f, o, dflt);
		}
	}
	crawl_opts_free(&d);
}
