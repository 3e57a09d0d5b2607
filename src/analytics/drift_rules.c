/*
 * drift_rules.c - the rules file of drift priors (drift_rules.h): the
 * built-in rules, the parser, and the lookup (last match wins).
 */
#include "drift_rules.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/buf.h"
#include "../util/jscan.h"
#include "../util/xalloc.h"

#define RULES_FILE_MAX (1u << 20)
#define RULE_TOKENS 10

/* Keep docs/drift.md's table of the built-in rules in step with this. */
const char drift_default_rules[] =
    "# FEATURE   FIELD            CHANGE   WEIGHT    [key GLOB] [when FIELD OP VALUE]\n"
    "*           *                *        0.5\n"
    "frame       *                *        drop\n"
    "# processes: one that died matters; run-time counters never do\n"
    "process     *                removed  0.9\n"
    "process     *                added    0.4\n"
    "process     pid              changed  volatile\n"
    "process     ppid             changed  volatile\n"
    "process     nspid            changed  volatile\n"
    "process     start_time       changed  volatile\n"
    "process     cpu_user_s       changed  volatile\n"
    "process     cpu_system_s     changed  volatile\n"
    "process     rss_kb           changed  volatile\n"
    "process     vsz_kb           changed  volatile\n"
    "process     fds              changed  volatile\n"
    "process     state            changed  volatile\n"
    "process     threads          changed  volatile\n"
    "process     error            *        volatile\n"
    "process     cgroup           changed  0.3\n"
    "process     *                *        volatile when ppid = 2\n"
    "process     *                *        volatile when pid = 2\n"
    "# listening ports rank high; client connections come and go\n"
    "connection  *                removed  0.6\n"
    "connection  *                added    0.3\n"
    "connection  *                removed  0.95     when state = LISTEN\n"
    "connection  *                added    0.8      when state = LISTEN\n"
    "connection  *                changed  volatile\n"
    "connection  state            changed  0.5\n"
    "connection  bytes_acked      changed  volatile\n"
    "connection  bytes_received   changed  volatile\n"
    "connection  rtt_us           changed  volatile\n"
    "connection  retrans          changed  volatile\n"
    "# packages and their versions\n"
    "package     *                added    0.6\n"
    "package     *                removed  0.85\n"
    "package     version          changed  0.85\n"
    "package     status           changed  0.8\n"
    "package     size_kb          changed  volatile\n"
    "package     installed        changed  volatile\n"
    "package     conffiles        changed  0.3\n"
    "# configuration files: content first\n"
    "config      *                removed  0.95\n"
    "config      *                added    0.6\n"
    "config      content          changed  1.0\n"
    "config      sha256           changed  0.9\n"
    "config      link             changed  0.9\n"
    "config      mode             changed  0.7\n"
    "config      uid              changed  0.7\n"
    "config      gid              changed  0.7\n"
    "config      size             changed  volatile\n"
    "config      mtime            changed  volatile\n"
    "config      truncated        changed  volatile\n"
    "# libraries: a mapped library gone or deleted under its processes\n"
    "library     *                removed  0.9\n"
    "library     *                added    0.4\n"
    "library     *                changed  volatile\n"
    "library     deleted          changed  0.9      when deleted = true\n"
    "library     inode            changed  0.6\n"
    "library     *                added    0.6      when deleted = true\n"
    "# files: missing ones rank high, logs sink\n"
    "file        *                removed  0.85\n"
    "file        *                added    0.4\n"
    "file        mtime            changed  volatile\n"
    "file        ctime            changed  volatile\n"
    "file        atime            changed  volatile\n"
    "file        inode            changed  0.3\n"
    "file        nlink            changed  volatile\n"
    "file        *                changed  volatile key /var/log/*\n"
    "file        *                changed  volatile key /proc/*\n"
    "file        *                changed  volatile key /tmp/*\n"
    "# metrics are volatile; a full disk or memory is not\n"
    "metric      *                *        volatile\n"
    "metric      used_pct         changed  0.95     when used_pct >= 90\n"
    "metric      inodes_used_pct  changed  0.95     when inodes_used_pct >= 90\n"
    "metric      mem_limit_bytes  changed  0.7\n"
    "metric      *                added    0.5      key disk:*\n"
    "metric      *                removed  0.7      key disk:*\n"
    "# the operating system and kernel\n"
    "os          *                changed  0.6\n"
    "os          uptime_s         changed  volatile\n"
    "os          boot_time        changed  0.2\n"
    "os          kernel_release   changed  0.8\n"
    "os          kernel_version   changed  0.6\n"
    "module      *                removed  0.7\n"
    "module      *                added    0.5\n"
    "module      *                changed  volatile\n"
    "module      state            changed  0.6\n"
    "interface   *                changed  volatile\n"
    "interface   *                removed  0.8\n"
    "interface   *                added    0.5\n"
    "interface   flags            changed  0.8\n"
    "interface   mtu              changed  0.7\n"
    "interface   addresses        changed  0.8\n"
    "interface   mac              changed  0.4\n";

enum op { OP_NONE, OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

struct drift_rule {
	char *feature, *field, *glob, *cond_field, *cond_value;
	int change; /* enum drift_change, or -1 for any */
	enum op op;
	double weight;
	char *text; /* the line, trimmed, and where it came from */
};

const char *drift_change_name(enum drift_change c)
{
	return c == DRIFT_ADDED ? "added" : c == DRIFT_REMOVED ? "removed" : "changed";
}

static enum op parse_op(const char *s)
{
	static const struct {
		const char *s;
		enum op op;
	} ops[] = {{"=", OP_EQ},  {"==", OP_EQ}, {"!=", OP_NE}, {"<", OP_LT},
	           {"<=", OP_LE}, {">", OP_GT},  {">=", OP_GE}};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (!strcmp(s, ops[i].s))
			return ops[i].op;
	return OP_NONE;
}

static bool parse_weight(const char *s, double *w)
{
	if (!strcmp(s, "volatile")) {
		*w = DRIFT_VOLATILE;
		return true;
	}
	if (!strcmp(s, "drop")) {
		*w = 0;
		return true;
	}
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !isfinite(v) || v < 0 || v > 1 || strchr(s, 'x') || strchr(s, 'X'))
		return false;
	*w = v;
	return true;
}

static int rule_error(char *err, size_t errlen, const char *what, int line, const char *msg,
                      const char *tok)
{
	snprintf(err, errlen, "%s line %d: %s%s%s%s", what, line, msg, tok ? " '" : "",
	         tok ? tok : "", tok ? "'" : "");
	return -EINVAL;
}

/* One line split into at most RULE_TOKENS blank-separated tokens (in place). */
static int split(char *s, char *tok[RULE_TOKENS])
{
	int n = 0;
	for (char *p = s;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			*p++ = '\0';
		if (!*p)
			return n;
		if (n == RULE_TOKENS)
			return -1;
		tok[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
	}
}

static int parse_line(struct drift_rules *rs, char *line, const char *what, int lineno, char *err,
                      size_t errlen)
{
	char *hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	char *orig = xstrndup(line, strlen(line));
	char *tok[RULE_TOKENS];
	int n = split(line, tok);
	int r = 0;
	if (n == 0)
		goto out;
	if (n < 0) {
		r = rule_error(err, errlen, what, lineno, "too many words", NULL);
		goto out;
	}
	if (n < 4) {
		r = rule_error(
		    err, errlen, what, lineno,
		    "a rule is FEATURE FIELD CHANGE WEIGHT [key GLOB] [when FIELD OP VALUE]", NULL);
		goto out;
	}
	struct drift_rule ru = {.change = -1, .op = OP_NONE};
	if (!strcmp(tok[2], "added"))
		ru.change = DRIFT_ADDED;
	else if (!strcmp(tok[2], "removed"))
		ru.change = DRIFT_REMOVED;
	else if (!strcmp(tok[2], "changed"))
		ru.change = DRIFT_CHANGED;
	else if (strcmp(tok[2], "*") != 0) {
		r = rule_error(err, errlen, what, lineno,
		               "CHANGE must be added, removed, changed or *, not", tok[2]);
		goto out;
	}
	if (!parse_weight(tok[3], &ru.weight)) {
		r = rule_error(err, errlen, what, lineno,
		               "WEIGHT must be a number from 0 to 1, volatile or drop, not",
		               tok[3]);
		goto out;
	}
	int i = 4;
	if (i < n && !strcmp(tok[i], "key")) {
		if (i + 1 >= n) {
			r = rule_error(err, errlen, what, lineno, "'key' needs a pattern", NULL);
			goto out;
		}
		ru.glob = tok[i + 1];
		i += 2;
	}
	if (i < n && !strcmp(tok[i], "when")) {
		if (i + 4 != n) {
			r = rule_error(err, errlen, what, lineno, "'when' needs FIELD OP VALUE",
			               NULL);
			goto out;
		}
		ru.cond_field = tok[i + 1];
		ru.op = parse_op(tok[i + 2]);
		if (ru.op == OP_NONE) {
			r = rule_error(err, errlen, what, lineno,
			               "the operator must be = != < <= > >=, not", tok[i + 2]);
			goto out;
		}
		ru.cond_value = tok[i + 3];
		i += 4;
	}
	if (i != n) {
		r = rule_error(err, errlen, what, lineno, "unexpected word", tok[i]);
		goto out;
	}
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 64;
		rs->r = xreallocarray(rs->r, rs->cap, sizeof(*rs->r));
	}
	struct buf t = BUF_INIT;
	/* the rule's words, one blank apart */
	for (int k = 0; k < n; k++)
		buf_printf(&t, "%s%s", k ? " " : "", tok[k]);
	buf_printf(&t, " (%s line %d)", what, lineno);
	ru.feature = xstrndup(tok[0], strlen(tok[0]));
	ru.field = xstrndup(tok[1], strlen(tok[1]));
	ru.glob = ru.glob ? xstrndup(ru.glob, strlen(ru.glob)) : NULL;
	ru.cond_field = ru.cond_field ? xstrndup(ru.cond_field, strlen(ru.cond_field)) : NULL;
	ru.cond_value = ru.cond_value ? xstrndup(ru.cond_value, strlen(ru.cond_value)) : NULL;
	ru.text = xstrndup(t.data, t.len);
	buf_free(&t);
	rs->r[rs->n++] = ru;
out:
	free(orig);
	return r;
}

int drift_rules_parse(struct drift_rules *rs, const char *text, size_t len, const char *what,
                      char *err, size_t errlen)
{
	int lineno = 0;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && text[j] != '\n')
			j++;
		lineno++;
		if (memchr(text + i, '\0', j - i))
			return rule_error(err, errlen, what, lineno, "a NUL byte", NULL);
		char *line = xstrndup(text + i, j - i);
		int r = parse_line(rs, line, what, lineno, err, errlen);
		free(line);
		if (r < 0)
			return r;
		i = j + 1;
	}
	return 0;
}

int drift_rules_load(struct drift_rules *rs, const char *path, char *err, size_t errlen)
{
	int r = drift_rules_parse(rs, drift_default_rules, sizeof(drift_default_rules) - 1,
	                          "built-in rules", err, errlen);
	if (r < 0 || !path)
		return r;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "--rules %s: %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)RULES_FILE_MAX) {
		snprintf(err, errlen, "--rules %s: %s", path,
		         S_ISREG(st.st_mode) ? "larger than 1 MiB" : "not a regular file");
		close(fd);
		return -EINVAL;
	}
	struct buf b = BUF_INIT;
	buf_reserve(&b, (size_t)st.st_size + 1);
	ssize_t n;
	while ((n = read(fd, b.data + b.len, b.cap - b.len)) > 0 && b.len < RULES_FILE_MAX) {
		b.len += (size_t)n;
		buf_reserve(&b, 4096);
	}
	close(fd);
	char what[4200];
	snprintf(what, sizeof(what), "%s", path);
	r = n < 0 ? -EIO : drift_rules_parse(rs, b.data, b.len, what, err, errlen);
	if (n < 0)
		snprintf(err, errlen, "--rules %s: cannot read", path);
	buf_free(&b);
	return r;
}

void drift_rules_free(struct drift_rules *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		struct drift_rule *r = &rs->r[i];
		free(r->feature);
		free(r->field);
		free(r->glob);
		free(r->cond_field);
		free(r->cond_value);
		free(r->text);
	}
	free(rs->r);
	memset(rs, 0, sizeof(*rs));
}

/* Does the value's field (found in its text, not parsed) compare with the
 * rule's? */
static bool cond_holds(const struct drift_rule *r, const char *text, size_t len)
{
	struct js_iter it;
	struct js_span name, val, content;
	if (!text || js_iter_begin(&it, (struct js_span){text, len}, JS_TRUSTED) < 0)
		return false;
	bool found = false;
	while (!found && js_obj_next(&it, &name, &val) == 1)
		found = js_eq(name, r->cond_field);
	if (!found)
		return false;
	char *end;
	double want = strtod(r->cond_value, &end);
	bool isnum = val.n && (val.p[0] == '-' || (val.p[0] >= '0' && val.p[0] <= '9'));
	struct buf have = BUF_INIT;
	if (js_str(val, &content))
		js_unescape(&have, content.p, content.n);
	else {
		buf_add(&have, val.p, val.n); /* a number, true, false or null as written */
		buf_addc(&have, '\0');
	}
	int c;
	if (isnum && end != r->cond_value && !*end) {
		double v = strtod(have.data, NULL);
		c = v < want ? -1 : v > want ? 1 : 0;
	} else {
		c = strcmp(have.data, r->cond_value);
	}
	buf_free(&have);
	switch (r->op) {
	case OP_EQ:
		return c == 0;
	case OP_NE:
		return c != 0;
	case OP_LT:
		return c < 0;
	case OP_LE:
		return c <= 0;
	case OP_GT:
		return c > 0;
	case OP_GE:
		return c >= 0;
	case OP_NONE:
		break;
	}
	return false;
}

double drift_rules_weight(const struct drift_rules *rs, const char *feature, const char *key,
                          const char *field, enum drift_change change, const char *text, size_t len,
                          const char **why)
{
	*why = "no rule (0.5)";
	double w = 0.5;
	for (size_t i = 0; i < rs->n; i++) {
		const struct drift_rule *r = &rs->r[i];
		if (strcmp(r->feature, "*") != 0 && strcmp(r->feature, feature) != 0)
			continue;
		if (strcmp(r->field, "*") != 0 && strcmp(r->field, field) != 0)
			continue;
		if (r->change >= 0 && r->change != (int)change)
			continue;
		if (r->glob && fnmatch(r->glob, key, 0) != 0)
			continue;
		if (r->cond_field && !cond_holds(r, text, len))
			continue;
		w = r->weight;
		*why = r->text;
	}
	return w;
}
