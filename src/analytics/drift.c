/*
 * drift.c - compare two states and rank the changes (drift.h).
 */
#include "drift.h"

#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/buf.h"
#include "../util/timefmt.h"
#include "../util/xalloc.h"
#include "../util/jscan.h"
#include "drift_text.h"

#define RELEVANT_NOT 0.8 /* factor of a change no running process uses */

/* Walk two sorted states together: cb(ra, rb) with ra or rb NULL for a
 * record only one side has. */
static void
merge_walk(const struct drift_state *a, const struct drift_state *b,
           void (*cb)(void *ctx, const struct drift_rec *ra, const struct drift_rec *rb), void *ctx)
{
	size_t i = 0, j = 0;
	while (i < a->n || j < b->n) {
		int c;
		if (i == a->n)
			c = 1;
		else if (j == b->n)
			c = -1;
		else {
			c = strcmp(a->recs[i].feature, b->recs[j].feature);
			if (!c)
				c = strcmp(a->recs[i].match, b->recs[j].match);
		}
		if (c < 0)
			cb(ctx, &a->recs[i++], NULL);
		else if (c > 0)
			cb(ctx, NULL, &b->recs[j++]);
		else {
			cb(ctx, &a->recs[i], &b->recs[j]);
			i++, j++;
		}
	}
}

/* Do two records hold the same text?  Equal text is an equal value (the
 * crawler writes canonical JSON); other text is looked at member by member
 * (changed_names) and parsed only when that cannot tell. */
static bool same_text(const struct drift_rec *a, const struct drift_rec *b)
{
	return a->hash == b->hash && a->len == b->len && !memcmp(a->text, b->text, a->len);
}

/* The fields whose values differ: {"field": [before, after]} (a field one
 * side lacks is null there).  A value that is not an object is the field
 * "value". */
static json_t *changed_fields(const json_t *va, const json_t *vb)
{
	json_t *d = json_object();
	if (!json_is_object(va) || !json_is_object(vb)) {
		if (!json_equal(va, vb))
			json_object_set_new(d, "value", json_pack("[OO]", va, vb));
		return d;
	}
	const char *k;
	json_t *x;
	json_object_foreach((json_t *)va, k, x)
	{
		json_t *y = json_object_get(vb, k);
		if (!y || !json_equal(x, y))
			json_object_set_new(d, k, json_pack("[OO]", x, y ? y : json_null()));
	}
	json_object_foreach((json_t *)vb, k, x)
	{
		if (!json_object_get(va, k))
			json_object_set_new(d, k, json_pack("[oO]", json_null(), x));
	}
	return d;
}

/* ---- history --------------------------------------------------------------- */

static void history_key(struct buf *b, const struct drift_rec *r, const char *field)
{
	buf_reset(b);
	buf_printf(b, "%s\t%s\t%s", r->feature, r->match, field);
	buf_addc(b, '\0');
}

static void count(json_t *counts, const char *k)
{
	json_t *c = json_object_get(counts, k);
	json_object_set_new(counts, k, json_integer(c ? json_integer_value(c) + 1 : 1));
}

static json_t *changed_names(const struct drift_rec *ra, const struct drift_rec *rb);

static void history_pair(void *ctx, const struct drift_rec *ra, const struct drift_rec *rb)
{
	struct drift_history *h = ctx;
	struct buf b = BUF_INIT;
	if (!ra || !rb) {
		history_key(&b, ra ? ra : rb, "*");
		count(h->counts, b.data);
	} else if (!same_text(ra, rb)) {
		json_t *d = changed_names(ra, rb);
		if (!d)
			d = changed_fields(drift_value(ra), drift_value(rb));
		const char *f;
		json_t *v;
		json_object_foreach(d, f, v)
		{
			history_key(&b, ra, f);
			count(h->counts, b.data);
		}
		json_decref(d);
	}
	buf_free(&b);
}

void drift_history_add(struct drift_history *h, const struct drift_state *a,
                       const struct drift_state *b)
{
	if (!h->counts)
		h->counts = json_object();
	merge_walk(a, b, history_pair, h);
	h->pairs++;
}

/* ---- relevance: does a running process use what changed? ------------------ */

/* A process of either state whose command line names `path`. */
/* The first record of `feature` (records are sorted by feature), or s->n. */
static size_t feature_start(const struct drift_state *s, const char *feature)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(s->recs[mid].feature, feature) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const json_t *argv_names(const struct drift_state *s, const char *path)
{
	if (path[0] != '/' || strlen(path) < 4)
		return NULL;
	for (size_t i = feature_start(s, "process");
	     i < s->n && !strcmp(s->recs[i].feature, "process"); i++) {
		const char *cmd = s->recs[i].cmdline;
		if (cmd && strstr(cmd, path))
			return drift_value(&s->recs[i]);
	}
	return NULL;
}

/* A description of the process using the thing, or NULL. */
static json_t *used_by(const struct drift_state *a, const struct drift_state *b,
                       const struct drift_rec *r)
{
	const char *f = r->feature;
	const json_t *v = drift_value(r);
	if (!strcmp(f, "process"))
		return json_sprintf("the process itself (%s)",
		                    json_string_value(json_object_get(v, "comm")) ?: "?");
	if (!strcmp(f, "connection")) {
		const char *comm = json_string_value(json_object_get(v, "comm"));
		if (comm)
			return json_sprintf(
			    "%s (pid %lld) holds the socket", comm,
			    (long long)json_integer_value(json_object_get(v, "pid")));
		return NULL;
	}
	if (!strcmp(f, "metric"))
		return json_string("the system's own resource");
	if (!strcmp(f, "library")) {
		const struct drift_rec *m = drift_state_find(a, "library", r->key);
		json_int_t n =
		    m ? json_integer_value(json_object_get(drift_value(m), "processes")) : 0;
		if (n > 0)
			return json_sprintf("mapped by %lld process(es)", (long long)n);
	}
	if (!strcmp(f, "config") || !strcmp(f, "file") || !strcmp(f, "library")) {
		const json_t *p = argv_names(b, r->key);
		if (!p)
			p = argv_names(a, r->key);
		if (p)
			return json_sprintf(
			    "the command line of %s (pid %lld) names it",
			    json_string_value(json_object_get(p, "comm")) ?: "?",
			    (long long)json_integer_value(json_object_get(p, "pid")));
	}
	return NULL;
}

/* ---- peers: how rare is B's value among systems of the same image? --------- */

const struct drift_rec *drift_state_find(const struct drift_state *s, const char *feature,
                                         const char *match)
{
	size_t lo = 0, hi = s->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->recs[mid].feature, feature);
		if (!c)
			c = strcmp(s->recs[mid].match, match);
		if (!c)
			return &s->recs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The factor and its evidence: m of N peers share B's side of the change. */
static double peer_factor(const struct drift_opts *o, const struct drift_rec *r, const char *field,
                          enum drift_change ch, json_t *why)
{
	size_t n = 0, m = 0;
	for (size_t i = 0; i < o->npeers; i++) {
		const struct drift_rec *p = drift_state_find(&o->peers[i], r->feature, r->match);
		if (ch != DRIFT_CHANGED) { /* presence: B has it (added) or lacks it */
			n++;
			m += (p != NULL) == (ch == DRIFT_ADDED);
			continue;
		}
		if (!p)
			continue;
		n++;
		const json_t *want = json_object_get(drift_value(r), field);
		const json_t *have = json_object_get(drift_value(p), field);
		m += want && have && json_equal(want, have);
	}
	if (n == 0)
		return 1.0;
	double f = 0.5 + 0.5 * (1.0 - (double)m / (double)n);
	json_object_set_new(why, "peers",
	                    json_pack("{s:I,s:I,s:f}", "same", (json_int_t)m, "of", (json_int_t)n,
	                              "factor", round(f * 1000) / 1000));
	return f;
}

/* ---- the diff --------------------------------------------------------------- */

struct entry {
	json_t *j;
	double score;
	const char *feature, *key;
};

struct diff_ctx {
	const struct drift_state *a, *b;
	const struct drift_rules *rules;
	const struct drift_opts *o;
	struct entry *e;
	size_t n, cap;
	size_t sunk;
	json_t *volatile_fields; /* {"feature.field": true} */
	json_t *exited;          /* {"pid": true}: pids and nspids of removed processes */
	json_t *upgraded;        /* {"/etc/x": {package, from, to, md5}}: conffiles of
	                          * packages whose version changed */
	json_t *explains;        /* {"package": ["/etc/x", ...]}: what each explained */
};

static double round3(double x)
{
	return round(x * 1000) / 1000;
}

static void push(struct diff_ctx *c, json_t *j, double score, const struct drift_rec *r)
{
	if (score < DRIFT_NOISE) {
		c->sunk++;
		if (!c->o->all) {
			json_decref(j);
			return;
		}
		json_object_set_new(j, "sunk", json_true());
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->e = xreallocarray(c->e, c->cap, sizeof(*c->e));
	}
	c->e[c->n++] =
	    (struct entry){.j = j, .score = score, .feature = r->feature, .key = r->match};
}

/* Score an entry: prior x used_by x history, each under "why". */
static double score_entry(struct diff_ctx *c, const struct drift_rec *r, const char *field,
                          enum drift_change ch, double prior, const char *rule, json_t *why)
{
	json_object_set_new(why, "prior", json_real(prior));
	json_object_set_new(why, "rule", json_string(rule));
	if (strcmp(field, "*") != 0)
		json_object_set_new(why, "field", json_string(field));
	double s = prior;
	/* below the noise line already: not worth the search */
	json_t *u = prior >= DRIFT_NOISE ? used_by(c->a, c->b, r) : NULL;
	if (u)
		json_object_set_new(why, "used_by", u);
	else
		s *= RELEVANT_NOT;
	json_object_set_new(why, "relevance", json_real(u ? 1.0 : RELEVANT_NOT));
	if (c->o->history && c->o->history->counts) {
		struct buf b = BUF_INIT;
		history_key(&b, r, field);
		json_int_t n = json_integer_value(json_object_get(c->o->history->counts, b.data));
		buf_free(&b);
		double f = 1.0 / (1.0 + (double)n);
		s *= f;
		json_object_set_new(why, "history",
		                    json_pack("{s:I,s:i,s:f}", "changes", (json_int_t)n, "pairs",
		                              c->o->history->pairs, "factor", round3(f)));
	}
	if (c->o->npeers)
		s *= peer_factor(c->o, r, field, ch, why);
	return round3(s);
}

/* Pre-pass: the pids of the processes A has and B lacks. */
static void exited_pair(void *ctx, const struct drift_rec *ra, const struct drift_rec *rb)
{
	struct diff_ctx *c = ctx;
	if (rb || !ra || strcmp(ra->feature, "process") != 0)
		return;
	const long long ids[] = {ra->pid, ra->nspid};
	for (size_t i = 0; i < 2; i++) {
		if (ids[i] <= 0)
			continue;
		char k[32];
		snprintf(k, sizeof(k), "%lld", ids[i]);
		json_object_set_new(c->exited, k, json_true());
	}
}

/* A library removed because every process that mapped it exited: the
 * process's removal explains it. */
static bool explained_by_exit(const struct diff_ctx *c, const struct drift_rec *r)
{
	if (strcmp(r->feature, "library") != 0 || !json_object_size(c->exited))
		return false;
	const json_t *pids = json_object_get(drift_value(r), "pids");
	if (strcmp(r->feature, "library") != 0 || !json_array_size(pids) ||
	    !json_object_size(c->exited))
		return false;
	size_t i;
	const json_t *p;
	json_array_foreach(pids, i, p)
	{
		char k[32];
		snprintf(k, sizeof(k), "%lld", (long long)json_integer_value(p));
		if (!json_object_get(c->exited, k))
			return false;
	}
	return true;
}

static json_t *new_entry(const struct drift_rec *r, enum drift_change ch)
{
	json_t *e = json_pack("{s:s,s:s,s:s}", "feature", r->feature, "key", r->match, "change",
	                      drift_change_name(ch));
	if (strcmp(r->match, r->key) != 0)
		json_object_set_new(e, "record_key", json_string(r->key));
	return e;
}

static bool fold_explained(struct diff_ctx *c, const struct drift_rec *r, enum drift_change ch);

static void added_removed(struct diff_ctx *c, const struct drift_rec *r, enum drift_change ch)
{
	if (ch == DRIFT_ADDED && fold_explained(c, r, ch)) /* a conffile a new version ships */
		return;
	const char *rule;
	double w =
	    drift_rules_weight(c->rules, r->feature, r->key, "*", ch, r->text, r->len, &rule);
	if (w <= 0)
		return;
	bool folded = ch == DRIFT_REMOVED && explained_by_exit(c, r);
	if (folded) {
		w = DRIFT_VOLATILE;
		rule = "folded: every process that mapped it exited";
	}
	if (w < DRIFT_NOISE && !c->o->all) { /* every factor is at most 1: sunk */
		c->sunk++;
		return;
	}
	json_t *e = new_entry(r, ch), *why = json_object();
	if (folded)
		json_object_set_new(why, "folded", json_string("its processes exited"));
	json_object_set(e, "value", drift_value(r));
	double s = score_entry(c, r, "*", ch, w, rule, why);
	json_object_set_new(e, "score", json_real(s));
	json_object_set_new(e, "why", why);
	push(c, e, s, r);
}

/* A changed config file: its lines and keys instead of its content. */
static void text_detail(struct diff_ctx *c, json_t *e, json_t *fields)
{
	json_t *ct = json_object_get(fields, "content");
	const char *x = json_string_value(json_array_get(ct, 0));
	const char *y = json_string_value(json_array_get(ct, 1));
	if (!x || !y)
		return;
	json_t *lines, *keys;
	drift_text_diff(x, json_string_length(json_array_get(ct, 0)), y,
	                json_string_length(json_array_get(ct, 1)),
	                c->o->max_lines ? c->o->max_lines : 20, &lines, &keys);
	json_object_set_new(e, "lines", lines);
	if (keys)
		json_object_set_new(e, "keys", keys);
	json_object_del(fields, "content");
}

/* The weight of the most important changed field (its rule and name in
 * *rule, *field; the names point into `fields`), volatile fields noted. */
static double best_field(struct diff_ctx *c, const struct drift_rec *rb, json_t *fields,
                         const char **rule, const char **field, json_t *volatile_names)
{
	double best = -1;
	*rule = "";
	*field = "*";
	const char *f;
	json_t *v;
	json_object_foreach(fields, f, v)
	{
		const char *ru;
		double w = drift_rules_weight(c->rules, rb->feature, rb->key, f, DRIFT_CHANGED,
		                              rb->text, rb->len, &ru);
		if (w <= DRIFT_VOLATILE) {
			char k[256];
			snprintf(k, sizeof(k), "%s.%s", rb->feature, f);
			json_object_set_new(c->volatile_fields, k, json_true());
			if (volatile_names)
				json_array_append_new(volatile_names, json_string(f));
		}
		if (w > best)
			best = w, *rule = ru, *field = f;
	}
	return best;
}

/* The names of the members whose text differs, as {"name": true}, read
 * from the two values' text without parsing them; NULL when they are not
 * objects of at most MEMBERS_MAX members (then the parsed values are
 * compared). */
#define MEMBERS_MAX 64

/* The members of a record's value: names and values, at most MEMBERS_MAX;
 * false for anything else (not an object, more members). */
static bool members(const struct drift_rec *r, struct js_span name[MEMBERS_MAX],
                    struct js_span val[MEMBERS_MAX], size_t *n)
{
	struct js_iter it;
	struct js_span nm, v;
	*n = 0;
	if (js_iter_begin(&it, (struct js_span){r->text, r->len}, JS_TRUSTED) < 0 ||
	    r->text[0] != '{')
		return false;
	int rc;
	while ((rc = js_obj_next(&it, &nm, &v)) == 1) {
		if (*n == MEMBERS_MAX)
			return false;
		name[*n] = nm;
		val[(*n)++] = v;
	}
	return rc == 0;
}

static json_t *changed_names(const struct drift_rec *ra, const struct drift_rec *rb)
{
	struct js_span an[MEMBERS_MAX], av[MEMBERS_MAX], bn[MEMBERS_MAX], bv[MEMBERS_MAX];
	size_t na, nb;
	if (!members(ra, an, av, &na) || !members(rb, bn, bv, &nb))
		return NULL;
	json_t *d = json_object();
	struct buf name = BUF_INIT;
	bool seen[MEMBERS_MAX] = {false};
	for (size_t i = 0; i < na; i++) {
		size_t j =
		    i < nb && an[i].n == bn[i].n && !memcmp(an[i].p, bn[i].p, an[i].n) ? i : nb;
		for (size_t k = 0; j == nb && k < nb; k++)
			if (an[i].n == bn[k].n && !memcmp(an[i].p, bn[k].p, an[i].n))
				j = k;
		if (j < nb)
			seen[j] = true;
		if (j < nb && av[i].n == bv[j].n && !memcmp(av[i].p, bv[j].p, av[i].n))
			continue;
		buf_reset(&name);
		js_unescape(&name, an[i].p, an[i].n);
		json_object_set_new(d, name.data, json_true());
	}
	for (size_t j = 0; j < nb; j++) {
		if (seen[j])
			continue;
		buf_reset(&name);
		js_unescape(&name, bn[j].p, bn[j].n);
		json_object_set_new(d, name.data, json_true());
	}
	buf_free(&name);
	return d;
}

static void changed(struct diff_ctx *c, const struct drift_rec *ra, const struct drift_rec *rb)
{
	if (fold_explained(c, rb, DRIFT_CHANGED))
		return;
	const char *best_rule, *best_f;
	/* first from the text: most changes are volatile and sink unparsed */
	json_t *names = changed_names(ra, rb);
	if (names) {
		size_t n = json_object_size(names);
		double w = n ? best_field(c, rb, names, &best_rule, &best_f, NULL) : 0;
		json_decref(names);
		if (w <= 0) /* the same members (n == 0), or only dropped ones */
			return;
		if (w < DRIFT_NOISE && !c->o->all) {
			c->sunk++;
			return;
		}
	}
	json_t *fields = changed_fields(drift_value(ra), drift_value(rb));
	if (!json_object_size(fields)) { /* other text, equal values */
		json_decref(fields);
		return;
	}
	json_t *vol = json_array();
	double best = best_field(c, rb, fields, &best_rule, &best_f, vol);
	if (best <= 0) { /* every changed field is dropped */
		json_decref(fields);
		json_decref(vol);
		return;
	}
	json_t *e = new_entry(rb, DRIFT_CHANGED), *why = json_object();
	if (json_object_get(fields, "pid") && json_object_get(fields, "start_time"))
		json_object_set_new(why, "folded",
		                    json_string("restarted: a new pid and start time"));
	/* best_f points into fields: score before the content goes */
	double s = score_entry(c, rb, best_f, DRIFT_CHANGED, best, best_rule, why);
	if (!strcmp(rb->feature, "config"))
		text_detail(c, e, fields);
	json_t *expl = json_object_get(c->explains, rb->match);
	if (expl && !strcmp(rb->feature, "package"))
		json_object_set(e, "explains", expl);
	json_object_set_new(e, "fields", fields);
	if (json_array_size(vol))
		json_object_set_new(e, "volatile_fields", vol);
	else
		json_decref(vol);
	json_object_set_new(e, "score", json_real(s));
	json_object_set_new(e, "why", why);
	push(c, e, s, rb);
}

/* ---- explained by a package's upgrade ------------------------------------- */

/* Pre-pass: the conffiles (path, MD5 the package ships) of every package
 * whose version changed. */
static void upgraded_pair(void *ctx, const struct drift_rec *ra, const struct drift_rec *rb)
{
	struct diff_ctx *c = ctx;
	if (!ra || !rb || strcmp(rb->feature, "package") != 0 || same_text(ra, rb))
		return;
	const json_t *va = drift_value(ra), *vb = drift_value(rb);
	const char *v1 = json_string_value(json_object_get(va, "version"));
	const char *v2 = json_string_value(json_object_get(vb, "version"));
	if (!v1 || !v2 || !strcmp(v1, v2))
		return;
	const char *path;
	json_t *md5;
	json_object_foreach(json_object_get(vb, "conffiles"), path, md5)
	{
		if (json_string_length(md5) == 32)
			json_object_set_new(c->upgraded, path,
			                    json_pack("{s:s,s:s,s:s,s:O}", "package", rb->match,
			                              "from", v1, "to", v2, "md5", md5));
	}
}

/* The upgrade that explains a config record: its path is a conffile of an
 * upgraded package and its content's MD5 is the one the package ships. */
static const json_t *explained_by_package(const struct diff_ctx *c, const struct drift_rec *r)
{
	if (strcmp(r->feature, "config") != 0 || !json_object_size(c->upgraded))
		return NULL;
	const json_t *u = json_object_get(c->upgraded, r->key);
	if (!u)
		return NULL;
	struct js_iter it;
	struct js_span name, val, content;
	if (js_iter_begin(&it, (struct js_span){r->text, r->len}, JS_TRUSTED) < 0)
		return NULL;
	bool found = false;
	while (!found && js_obj_next(&it, &name, &val) == 1)
		found = js_eq(name, "content") && js_str(val, &content);
	if (!found)
		return NULL;
	struct buf bytes = BUF_INIT;
	js_unescape(&bytes, content.p, content.n); /* the file's bytes, \udcXX as XX */
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char hex[33] = "";
	if (EVP_Digest(bytes.data ? bytes.data : "", bytes.len, md, &mdlen, EVP_md5(), NULL) == 1 &&
	    mdlen == 16)
		for (unsigned i = 0; i < 16; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
	buf_free(&bytes);
	return !strcmp(hex, json_string_value(json_object_get(u, "md5"))) ? u : NULL;
}

/* Note the change as explained; true when it is then left out. */
static bool fold_explained(struct diff_ctx *c, const struct drift_rec *r, enum drift_change ch)
{
	const json_t *u = explained_by_package(c, r);
	if (!u)
		return false;
	const char *pkg = json_string_value(json_object_get(u, "package"));
	json_t *list = json_object_get(c->explains, pkg);
	if (!list) {
		list = json_array();
		json_object_set_new(c->explains, pkg, list);
	}
	json_array_append_new(list, json_string(r->key));
	if (!c->o->all) {
		c->sunk++;
		return true;
	}
	json_t *e = new_entry(r, ch);
	json_object_set_new(e, "score", json_real(DRIFT_VOLATILE));
	json_object_set_new(
	    e, "why",
	    json_pack("{s:f,s:s}", "prior", DRIFT_VOLATILE, "folded",
	              "explained by the upgrade of its package (the content is the one it ships)"));
	json_object_set_new(e, "explained_by", json_deep_copy(u));
	push(c, e, DRIFT_VOLATILE, r); /* under the noise line: counted and marked sunk */
	return true;
}

static void diff_pair(void *ctx, const struct drift_rec *ra, const struct drift_rec *rb)
{
	struct diff_ctx *c = ctx;
	if (!ra && !rb)
		return;
	if (!rb)
		added_removed(c, ra, DRIFT_REMOVED);
	else if (!ra)
		added_removed(c, rb, DRIFT_ADDED);
	else if (!same_text(ra, rb))
		changed(c, ra, rb);
}

static int entry_cmp(const void *x, const void *y)
{
	const struct entry *a = x, *b = y;
	if (a->score != b->score)
		return a->score > b->score ? -1 : 1;
	int r = strcmp(a->feature, b->feature);
	return r ? r : strcmp(a->key, b->key);
}

static json_t *side(const struct drift_state *s)
{
	char t[40] = "";
	if (s->time_ms)
		format_time_utc(s->time_ms * 1000000, t, sizeof(t));
	return json_pack("{s:s,s:s,s:s,s:s?,s:s}", "system", s->system, "name", s->name, "time", t,
	                 "image", *s->image ? s->image : NULL, "where", s->where ? s->where : "");
}

json_t *drift_diff(const struct drift_state *a, const struct drift_state *b,
                   const struct drift_rules *rules, const struct drift_opts *o)
{
	struct diff_ctx c = {.a = a,
	                     .b = b,
	                     .rules = rules,
	                     .o = o,
	                     .volatile_fields = json_object(),
	                     .exited = json_object(),
	                     .upgraded = json_object(),
	                     .explains = json_object()};
	merge_walk(a, b, exited_pair, &c);
	merge_walk(a, b, upgraded_pair, &c);
	merge_walk(a, b, diff_pair, &c);
	json_decref(c.exited);
	json_decref(c.upgraded);
	json_decref(c.explains);
	if (c.n)
		qsort(c.e, c.n, sizeof(*c.e), entry_cmp);
	json_t *entries = json_array();
	for (size_t i = 0; i < c.n; i++)
		json_array_append_new(entries, c.e[i].j);
	free(c.e);
	json_t *vol = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(c.volatile_fields, k, v)
	{
		json_array_append_new(vol, json_string(k));
	}
	json_decref(c.volatile_fields);
	return json_pack("{s:o,s:o,s:o,s:I,s:o,s:[I,I]}", "a", side(a), "b", side(b), "entries",
	                 entries, "sunk", (json_int_t)c.sunk, "volatile", vol, "records",
	                 (json_int_t)a->n, (json_int_t)b->n);
}
