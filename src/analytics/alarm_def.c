/*
 * alarm_def.c - an alarm's definition (alarm.h): defaults, one key at a
 * time from the config file's text, the same names from the API's JSON,
 * the consistency check, and the definition written back as JSON.
 *
 * Every error names the key (or JSON member) and what is wrong with it,
 * e.g. "comparison: '=>' is not one of >, >=, <, <=".  Unset M
 * (datapoints) and warm-up are 0 and -1 here and mean "N" and "N
 * periods": alarm_def_datapoints() and alarm_def_warmup_ms() resolve them.
 */
#include "alarm.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/timefmt.h"
#include "../util/xalloc.h"
#include "alarm_math.h"

#define WEEK_MS (7LL * 86400 * 1000)

static const char *const rules[] = {"listen", "package", "config", "process_gone"};

static const struct {
	const char *name;
	enum alarm_cmp cmp;
} cmps[] = {
    {">", ALARM_GT},
    {">=", ALARM_GE},
    {"<", ALARM_LT},
    {"<=", ALARM_LE},
    {"GreaterThanThreshold", ALARM_GT},
    {"GreaterThanOrEqualToThreshold", ALARM_GE},
    {"LessThanThreshold", ALARM_LT},
    {"LessThanOrEqualToThreshold", ALARM_LE},
};

static const char *const missing_names[] = {"missing", "notBreaching", "breaching", "ignore"};

void alarm_def_init(struct alarm_def *d, const char *name)
{
	memset(d, 0, sizeof(*d));
	d->name = xstrdup(name ? name : "");
	d->type = ALARM_METRIC;
	d->stat = xstrdup("avg");
	d->period_ms = 60000;
	d->datapoints = 0; /* N */
	d->evaluation_periods = 1;
	d->cmp = ALARM_GT;
	d->threshold = 0;
	d->missing = MISSING_MISSING;
	d->warmup_ms = -1; /* N periods */
}

/* The owned strings of a definition, as offsets. */
static const size_t str_off[] = {
    offsetof(struct alarm_def, name),         offsetof(struct alarm_def, description),
    offsetof(struct alarm_def, system),       offsetof(struct alarm_def, selector),
    offsetof(struct alarm_def, metric),       offsetof(struct alarm_def, expr),
    offsetof(struct alarm_def, stat),         offsetof(struct alarm_def, rule),
    offsetof(struct alarm_def, pattern),      offsetof(struct alarm_def, webhook),
    offsetof(struct alarm_def, alertmanager), offsetof(struct alarm_def, command),
    offsetof(struct alarm_def, severity),
};
#define NSTR (sizeof(str_off) / sizeof(str_off[0]))

void alarm_def_free(struct alarm_def *d)
{
	for (size_t i = 0; i < NSTR; i++) {
		char **s = (char **)((char *)d + str_off[i]);
		free(*s);
		*s = NULL;
	}
}

int alarm_def_copy(struct alarm_def *dst, const struct alarm_def *src)
{
	*dst = *src;
	for (size_t i = 0; i < NSTR; i++) {
		char **s = (char **)((char *)dst + str_off[i]);
		if (*s)
			*s = xstrdup(*s);
	}
	return 0;
}

int alarm_def_datapoints(const struct alarm_def *d)
{
	return d->datapoints > 0 ? d->datapoints : d->evaluation_periods;
}

int64_t alarm_def_warmup_ms(const struct alarm_def *d)
{
	return d->warmup_ms >= 0 ? d->warmup_ms : d->period_ms * d->evaluation_periods;
}

const char *alarm_state_name(enum alarm_state s)
{
	switch (s) {
	case ALARM_STATE_OK:
		return "OK";
	case ALARM_STATE_ALARM:
		return "ALARM";
	default:
		return "INSUFFICIENT_DATA";
	}
}

const char *alarm_cmp_name(enum alarm_cmp c)
{
	switch (c) {
	case ALARM_GT:
		return ">";
	case ALARM_GE:
		return ">=";
	case ALARM_LT:
		return "<";
	default:
		return "<=";
	}
}

const char *alarm_missing_name(enum alarm_missing m)
{
	return (unsigned)m < 4 ? missing_names[m] : "missing";
}

static void replace(char **field, const char *value)
{
	free(*field);
	*field = value ? xstrdup(value) : NULL;
}

static int bad(char *err, size_t errlen, const char *key, const char *value, const char *why)
{
	snprintf(err, errlen, "%s: '%s' %s", key, value, why);
	return -EINVAL;
}

/* A whole number in [lo, hi]. */
static int parse_int(const char *key, const char *v, int lo, int hi, int *out, char *err,
                     size_t errlen)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (!*v || *end || errno)
		return bad(err, errlen, key, v, "is not a whole number");
	if (x < lo || x > hi) {
		snprintf(err, errlen, "%s: '%s' is not in %d..%d", key, v, lo, hi);
		return -EINVAL;
	}
	*out = (int)x;
	return 0;
}

static bool is_url(const char *v)
{
	const char *h = NULL;
	if (strncmp(v, "http://", 7) == 0)
		h = v + 7;
	else if (strncmp(v, "https://", 8) == 0)
		h = v + 8;
	if (!h || !*h || *h == '/')
		return false;
	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return false;
	return true;
}

/* "avg", "min", "max", "sum", "count", "pNN" (1..99); CloudWatch's names
 * (Average, Minimum, Maximum, Sum, SampleCount) become ours. */
static const char *stat_name(const char *v)
{
	static const char *const map[][2] = {
	    {"avg", "avg"},     {"min", "min"},           {"max", "max"},     {"sum", "sum"},
	    {"count", "count"}, {"Average", "avg"},       {"Minimum", "min"}, {"Maximum", "max"},
	    {"Sum", "sum"},     {"SampleCount", "count"},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(v, map[i][0]) == 0)
			return map[i][1];
	return NULL;
}

static bool is_percentile(const char *v)
{
	if (v[0] != 'p' || v[1] < '1' || v[1] > '9')
		return false;
	if (!v[2])
		return true;
	return v[2] >= '0' && v[2] <= '9' && !v[3];
}

/* A series name with optional label matchers: name{k="v",...}. */
static bool is_metric(const char *v)
{
	const char *p = v;
	while (*p && *p != '{') {
		unsigned char c = (unsigned char)*p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == ':' || c == '-'))
			return false;
		p++;
	}
	if (p == v)
		return false;
	if (!*p)
		return true;
	size_t n = strlen(p);
	return n >= 2 && p[n - 1] == '}';
}

static int set_duration(const char *key, const char *v, int64_t *out, char *err, size_t errlen)
{
	int64_t ms;
	if (parse_duration_ms(v, &ms) < 0)
		return bad(err, errlen, key, v, "is not a duration (90, 90s, 5m, 1h, 1d)");
	*out = ms;
	return 0;
}

int alarm_def_set(struct alarm_def *d, const char *key, const char *value, char *err, size_t errlen)
{
	const char *v = value ? value : "";
	/* what is stored is read back with jansson (alarm_engine.c, PUT of
	 * what GET gave): text that is not UTF-8 could not be */
	if (!jw_utf8_valid(v, strlen(v)))
		return bad(err, errlen, key, v, "is not valid UTF-8");
	if (errlen)
		err[0] = 0;
	if (strcmp(key, "metric") == 0) {
		if (!is_metric(v))
			return bad(err, errlen, key, v,
			           "is not a series name (disk.used_pct{mountpoint=\"/\"})");
		replace(&d->metric, v);
		d->type = ALARM_METRIC;
	} else if (strcmp(key, "expr") == 0) {
		struct math_expr *e;
		char why[200];
		if (math_parse(v, &e, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "expr: %s", why);
			return -EINVAL;
		}
		math_free(e);
		replace(&d->expr, v);
		d->type = ALARM_METRIC;
	} else if (strcmp(key, "system") == 0 || strcmp(key, "selector") == 0) {
		if (!*v)
			return bad(err, errlen, key, v, "is empty");
		replace(key[1] == 'y' ? &d->system : &d->selector, v);
	} else if (strcmp(key, "stat") == 0) {
		const char *s = stat_name(v);
		if (!s && !is_percentile(v))
			return bad(err, errlen, key, v,
			           "is not one of avg, min, max, sum, count, p1..p99");
		replace(&d->stat, s ? s : v);
	} else if (strcmp(key, "period") == 0) {
		int64_t ms;
		int r = set_duration(key, v, &ms, err, errlen);
		if (r < 0)
			return r;
		if (ms < 1000)
			return bad(err, errlen, key, v, "is shorter than 1 s");
		if (ms % 1000)
			return bad(err, errlen, key, v, "is not a whole number of seconds");
		d->period_ms = ms;
	} else if (strcmp(key, "datapoints") == 0) {
		return parse_int(key, v, 1, 1000000, &d->datapoints, err, errlen);
	} else if (strcmp(key, "evaluation_periods") == 0) {
		return parse_int(key, v, 1, 1000000, &d->evaluation_periods, err, errlen);
	} else if (strcmp(key, "comparison") == 0) {
		size_t i;
		for (i = 0; i < sizeof(cmps) / sizeof(cmps[0]); i++)
			if (strcmp(v, cmps[i].name) == 0)
				break;
		if (i == sizeof(cmps) / sizeof(cmps[0]))
			return bad(err, errlen, key, v,
			           "is not one of >, >=, <, <= (or GreaterThanThreshold, "
			           "GreaterThanOrEqualToThreshold, LessThanThreshold, "
			           "LessThanOrEqualToThreshold)");
		d->cmp = cmps[i].cmp;
	} else if (strcmp(key, "threshold") == 0) {
		char *end;
		double x = strtod(v, &end);
		if (!*v || *end || !isfinite(x))
			return bad(err, errlen, key, v, "is not a number");
		d->threshold = x;
	} else if (strcmp(key, "missing") == 0) {
		size_t i;
		for (i = 0; i < 4; i++)
			if (strcmp(v, missing_names[i]) == 0)
				break;
		if (i == 4)
			return bad(err, errlen, key, v,
			           "is not one of missing, notBreaching, breaching, ignore");
		d->missing = (enum alarm_missing)i;
	} else if (strcmp(key, "warmup") == 0) {
		return set_duration(key, v, &d->warmup_ms, err, errlen);
	} else if (strcmp(key, "rule") == 0) {
		size_t i;
		for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
			if (strcmp(v, rules[i]) == 0)
				break;
		if (i == sizeof(rules) / sizeof(rules[0]))
			return bad(err, errlen, key, v,
			           "is not one of listen, package, config, process_gone");
		replace(&d->rule, v);
		d->type = ALARM_DRIFT;
	} else if (strcmp(key, "pattern") == 0) {
		if (!*v)
			return bad(err, errlen, key, v, "is empty");
		replace(&d->pattern, v);
	} else if (strcmp(key, "webhook") == 0 || strcmp(key, "alertmanager") == 0) {
		if (!is_url(v))
			return bad(err, errlen, key, v, "is not an http:// or https:// URL");
		replace(key[0] == 'w' ? &d->webhook : &d->alertmanager, v);
	} else if (strcmp(key, "command") == 0 || strcmp(key, "severity") == 0) {
		if (!*v)
			return bad(err, errlen, key, v, "is empty");
		replace(key[0] == 'c' ? &d->command : &d->severity, v);
	} else if (strcmp(key, "description") == 0) {
		replace(&d->description, *v ? v : NULL);
	} else {
		snprintf(
		    err, errlen,
		    "%s: unknown key (metric, expr, system, selector, stat, period, datapoints, "
		    "evaluation_periods, comparison, threshold, missing, warmup, rule, pattern, "
		    "webhook, alertmanager, command, severity, description)",
		    key);
		return -ENOENT;
	}
	return 0;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int alarm_def_check(const struct alarm_def *d, char *err, size_t errlen)
{
	const char *nm = d->name ? d->name : "";
	if (errlen)
		err[0] = 0;
	if (!*nm || strlen(nm) >= ALARM_NAME_MAX)
		return fail(err, errlen, "name: '%s' is empty or longer than 127 bytes", nm);
	for (const char *p = nm; *p; p++)
		if ((unsigned char)*p < ' ' || *p == '/' || *p == 0x7f)
			return fail(err, errlen, "name: '%s' holds '/' or a control character", nm);
	if (!jw_utf8_valid(nm, strlen(nm)))
		return fail(err, errlen, "name: is not valid UTF-8");
	int what = !!d->metric + !!d->expr + !!d->rule;
	if (what != 1)
		return fail(err, errlen, "%s: an alarm needs exactly one of metric, expr, rule",
		            what ? "metric/expr/rule" : "metric");
	if (!!d->system + !!d->selector != 1)
		return fail(err, errlen, "%s: an alarm needs exactly one of system, selector",
		            d->system ? "system/selector" : "system");
	if (d->type != (d->rule ? ALARM_DRIFT : ALARM_METRIC))
		return fail(err, errlen,
		            "type: '%s' does not match the keys (rule: drift; metric or "
		            "expr: metric)",
		            d->type == ALARM_DRIFT ? "drift" : "metric");
	if (d->rule) {
		if (strcmp(d->rule, "process_gone") == 0 && !d->pattern)
			return fail(err, errlen, "pattern: rule '%s' needs a pattern (the command)",
			            d->rule);
		return 0;
	}
	if (d->pattern)
		return fail(err, errlen, "pattern: '%s' is only for rule alarms", d->pattern);
	char num[64];
	int n = d->evaluation_periods, m = alarm_def_datapoints(d);
	if (n < 1) {
		snprintf(num, sizeof(num), "%d", n);
		return fail(err, errlen, "evaluation_periods: '%s' is less than 1", num);
	}
	if (m < 1 || m > n) {
		snprintf(num, sizeof(num), "%d", m);
		snprintf(err, errlen, "datapoints: '%s' is not in 1..%d (evaluation_periods)", num,
		         n);
		return -EINVAL;
	}
	if (d->period_ms < 1000 || d->period_ms % 1000) {
		snprintf(num, sizeof(num), "%lldms", (long long)d->period_ms);
		return fail(err, errlen, "period: '%s' is not a whole number of seconds >= 1 s",
		            num);
	}
	if (d->period_ms * n > WEEK_MS) {
		snprintf(err, errlen,
		         "evaluation_periods: %d periods of %llds are more than 7 days (604800 s)",
		         n, (long long)(d->period_ms / 1000));
		return -EINVAL;
	}
	if (!d->stat || (!stat_name(d->stat) && !is_percentile(d->stat)))
		return fail(err, errlen,
		            "stat: '%s' is not one of avg, min, max, sum, count, p1..p99",
		            d->stat ? d->stat : "");
	if (!isfinite(d->threshold))
		return fail(err, errlen, "threshold: %s is not a finite number", "the value");
	if (d->webhook && !is_url(d->webhook))
		return fail(err, errlen, "webhook: '%s' is not an http:// or https:// URL",
		            d->webhook);
	if (d->alertmanager && !is_url(d->alertmanager))
		return fail(err, errlen, "alertmanager: '%s' is not an http:// or https:// URL",
		            d->alertmanager);
	return 0;
}

/* A JSON member's value as the text alarm_def_set() takes. */
static int member_text(const char *key, json_t *v, char *buf, size_t cap, const char **out,
                       char *err, size_t errlen)
{
	if (json_is_string(v)) {
		*out = json_string_value(v);
		if (strlen(*out) != json_string_length(v))
			return fail(err, errlen, "%s: holds a NUL byte", key);
	} else if (json_is_integer(v)) {
		snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
		*out = buf;
	} else if (json_is_real(v)) {
		snprintf(buf, cap, "%.17g", json_real_value(v));
		*out = buf;
	} else {
		return fail(err, errlen, "%s: is not a string or a number", key);
	}
	return 0;
}

int alarm_def_from_json(struct alarm_def *d, const char *name, const char *json, size_t len,
                        char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	const char *type = NULL;
	int r = 0;
	alarm_def_init(d, name);
	if (!root || !json_is_object(root))
		alarm_def_free(d); /* nothing to fill */
	if (!root) {
		snprintf(err, errlen, "not JSON: %s at byte %d", je.text, je.position);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		snprintf(err, errlen, "not a JSON object");
		return -EINVAL;
	}
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v)
	{
		char num[64];
		const char *text = NULL;
		if (json_is_null(v))
			continue; /* not given: the default */
		if (strcmp(key, "name") == 0) {
			if (!json_is_string(v)) {
				r = fail(err, errlen, "%s: is not a string", key);
				break;
			}
			if (!name) {
				replace(&d->name, json_string_value(v));
			} else if (strcmp(json_string_value(v), name) != 0) {
				snprintf(err, errlen, "name: '%s' is not the alarm's name '%s'",
				         json_string_value(v), name);
				r = -EINVAL;
				break;
			}
			continue;
		}
		if (strcmp(key, "type") == 0) {
			type = json_string_value(v);
			if (!type || (strcmp(type, "metric") != 0 && strcmp(type, "drift") != 0)) {
				r = fail(err, errlen, "type: '%s' is not one of metric, drift",
				         type ? type : "(not a string)");
				break;
			}
			continue;
		}
		r = member_text(key, v, num, sizeof(num), &text, err, errlen);
		if (r < 0)
			break;
		r = alarm_def_set(d, key, text, err, errlen);
		if (r == -ENOENT) {
			snprintf(err, errlen, "%s: unknown member", key);
			r = -EINVAL;
		}
		if (r < 0)
			break;
	}
	if (r == 0 && type && strcmp(type, d->rule ? "drift" : "metric") != 0) {
		snprintf(err, errlen, "type: '%s' does not match the members (%s)", type,
		         d->rule ? "rule: drift" : "metric or expr: metric");
		r = -EINVAL;
	}
	json_decref(root); /* type pointed into it */
	if (r == 0)
		r = alarm_def_check(d, err, errlen);
	if (r < 0) {
		alarm_def_free(d);
		return r;
	}
	return 0;
}

/* The shortest text that reads back as the same double. */
static void shortest(double v, char *buf, size_t cap)
{
	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(buf, cap, "%.0f", v);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, cap, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

void alarm_def_json(const struct alarm_def *d, struct json *j)
{
	char num[64];
	jw_obj_begin(j, NULL);
	jw_str(j, "name", d->name);
	jw_str(j, "type", d->type == ALARM_DRIFT ? "drift" : "metric");
	jw_str(j, "description", d->description);
	jw_str(j, "system", d->system);
	jw_str(j, "selector", d->selector);
	if (d->type == ALARM_DRIFT) {
		jw_str(j, "rule", d->rule);
		jw_str(j, "pattern", d->pattern);
	} else {
		jw_str(j, "metric", d->metric);
		jw_str(j, "expr", d->expr);
		jw_str(j, "stat", d->stat);
		jw_int(j, "period", d->period_ms / 1000);
		jw_int(j, "datapoints", alarm_def_datapoints(d));
		jw_int(j, "evaluation_periods", d->evaluation_periods);
		jw_str(j, "comparison", alarm_cmp_name(d->cmp));
		shortest(d->threshold, num, sizeof(num));
		jw_raw(j, "threshold", num, strlen(num));
		jw_str(j, "missing", alarm_missing_name(d->missing));
		jw_double(j, "warmup", (double)alarm_def_warmup_ms(d) / 1000.0, 3);
	}
	jw_str(j, "webhook", d->webhook);
	jw_str(j, "alertmanager", d->alertmanager);
	jw_str(j, "command", d->command);
	jw_str(j, "severity", d->severity);
	jw_obj_end(j);
}
