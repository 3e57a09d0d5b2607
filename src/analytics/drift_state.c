/*
 * drift_state.c - load one side of a drift comparison (drift_state.h):
 * from the store (store_frame_json: each feature's latest records at a
 * time) or from a crawl file, then give each record its match key and sort.
 */
#include "drift_state.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store.h"
#include "../util/buf.h"
#include "../util/jload.h"
#include "../util/timefmt.h"
#include "../util/xalloc.h"

#define EPHEMERAL_MIN 32768u       /* net.ipv4.ip_local_port_range starts there */
#define DRIFT_LINE_MAX (64u << 20) /* one record of a crawl file */

static const char *str_of(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* The match key of a process: user and command line (comm when it has no
 * command line, as kernel threads). */
static void process_match(const json_t *v, struct buf *b)
{
	const char *cmd = str_of(v, "cmdline");
	buf_printf(b, "%s %s", str_of(v, "user"), *cmd ? cmd : str_of(v, "comm"));
}

struct u_ports {
	size_t n;
	unsigned *port;
};

static bool listens_on(const struct u_ports *lp, unsigned port)
{
	for (size_t i = 0; i < lp->n; i++)
		if (lp->port[i] == port)
			return true;
	return false;
}

/* The match key of a connection: listening sockets by their address; an
 * established one by the side that listens (the local side when its port
 * is one of the system's listening ports, or when only the remote port is
 * in the kernel's default ephemeral range: the listener may be gone in
 * one of the two states) and the other side's address only. */
static void connection_match(const json_t *v, const struct u_ports *lp, struct buf *b)
{
	const char *proto = str_of(v, "proto"), *state = str_of(v, "state");
	unsigned lport = (unsigned)json_integer_value(json_object_get(v, "local_port"));
	unsigned rport = (unsigned)json_integer_value(json_object_get(v, "remote_port"));
	const char *laddr = str_of(v, "local_addr"), *raddr = str_of(v, "remote_addr");
	if (!strcmp(state, "LISTEN") || (!strcmp(proto, "udp") && rport == 0) ||
	    !strcmp(proto, "udp6"))
		buf_printf(b, "%s %s:%u %s", proto, laddr, lport, state);
	else if (listens_on(lp, lport) || (lport < EPHEMERAL_MIN && rport >= EPHEMERAL_MIN))
		buf_printf(b, "%s %s:%u <- %s", proto, laddr, lport, raddr);
	else
		buf_printf(b, "%s %s -> %s:%u", proto, laddr, raddr, rport);
}

static int rec_cmp(const void *x, const void *y)
{
	const struct drift_rec *a = x, *b = y;
	int c = strcmp(a->feature, b->feature);
	if (c)
		return c;
	c = strcmp(a->match, b->match);
	if (c)
		return c;
	/* equal match keys: in the order of their pids (then keys) */
	json_int_t pa = json_integer_value(json_object_get(a->value, "pid"));
	json_int_t pb = json_integer_value(json_object_get(b->value, "pid"));
	if (pa != pb)
		return pa < pb ? -1 : 1;
	return strcmp(a->key, b->key);
}

/* Give every record its match key, sort, and number repeated keys. */
static void finish(struct drift_state *s)
{
	struct u_ports lp = {0};
	for (size_t i = 0; i < s->n; i++) {
		const json_t *v = s->recs[i].value;
		if (!strcmp(s->recs[i].feature, "connection") &&
		    !strcmp(str_of(v, "state"), "LISTEN")) {
			lp.port = xrealloc(lp.port, (lp.n + 1) * sizeof(*lp.port));
			lp.port[lp.n++] =
			    (unsigned)json_integer_value(json_object_get(v, "local_port"));
		}
	}
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < s->n; i++) {
		struct drift_rec *r = &s->recs[i];
		buf_reset(&b);
		if (!strcmp(r->feature, "process"))
			process_match(r->value, &b);
		else if (!strcmp(r->feature, "connection"))
			connection_match(r->value, &lp, &b);
		else
			buf_adds(&b, r->key);
		r->match = xstrndup(b.data ? b.data : "", b.len);
	}
	free(lp.port);
	if (s->n)
		qsort(s->recs, s->n, sizeof(*s->recs), rec_cmp);
	/* "#2", "#3" on repeated match keys */
	size_t *rep = xcalloc(s->n ? s->n : 1, sizeof(*rep));
	for (size_t i = 0; i < s->n; i++)
		rep[i] = i > 0 && !strcmp(s->recs[i - 1].feature, s->recs[i].feature) &&
		                 !strcmp(s->recs[i - 1].match, s->recs[i].match)
		             ? rep[i - 1] + 1
		             : 1;
	for (size_t i = 0; i < s->n; i++) {
		if (rep[i] < 2)
			continue;
		buf_reset(&b);
		buf_printf(&b, "%s#%zu", s->recs[i].match, rep[i]);
		free(s->recs[i].match);
		s->recs[i].match = xstrndup(b.data, b.len);
	}
	free(rep);
	buf_free(&b);
}

static void add_rec(struct drift_state *s, size_t *cap, const char *feature, const char *key,
                    json_t *value)
{
	if (s->n == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		s->recs = xrealloc(s->recs, *cap * sizeof(*s->recs));
	}
	s->recs[s->n++] = (struct drift_rec){.feature = feature, .key = key, .value = value};
}

static void take_header(struct drift_state *s, json_t *h)
{
	s->header = h;
	s->system = str_of(h, "id");
	s->name = str_of(h, "name");
	s->image = str_of(h, "image");
	const char *t = str_of(h, "time");
	int64_t ms = 0;
	if (*t && parse_time_iso(t, strlen(t), &ms) == 0)
		s->time_ms = ms;
}

int drift_state_from_json(json_t *root, struct drift_state *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->root = root;
	out->where = "store";
	json_t *h = json_object_get(root, "frame"), *recs = json_object_get(root, "records");
	if (!json_is_object(h) || !json_is_array(recs)) {
		snprintf(err, errlen, "not a frame: no \"frame\" header or no \"records\"");
		drift_state_free(out);
		return -EINVAL;
	}
	take_header(out, h);
	size_t cap = 0, i;
	json_t *r;
	json_array_foreach(recs, i, r)
	{
		const char *f = json_string_value(json_object_get(r, "feature"));
		const char *k = json_string_value(json_object_get(r, "key"));
		json_t *v = json_object_get(r, "value");
		if (!f || !k || !v)
			continue;
		add_rec(out, &cap, f, k, v);
	}
	finish(out);
	return 0;
}

int drift_state_from_store(struct store *st, const char *system_id, int64_t at_ms,
                           struct drift_state *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	struct buf b = BUF_INIT;
	int r = store_frame_json(st, system_id, at_ms, NULL, &b);
	if (r < 0) {
		const char *m = store_errmsg(st);
		if (r == -ENOENT && m && *m)
			snprintf(err, errlen, "%s", m);
		else if (r == -ENOENT)
			snprintf(err, errlen, "%s has no frame %s", system_id,
			         at_ms ? "at or before that time" : "in the store");
		else
			snprintf(err, errlen, "cannot read %s: %s", system_id, store_errmsg(st));
		buf_free(&b);
		return r;
	}
	json_error_t je;
	json_t *root = jload_lenient(b.data, b.len, &je);
	buf_free(&b);
	if (!root) {
		snprintf(err, errlen, "the store's frame of %s does not parse: %s", system_id,
		         je.text);
		return -EINVAL;
	}
	return drift_state_from_json(root, out, err, errlen);
}

/* Does the frame header h belong to the system `want` (its id, an id
 * prefix, the part after the id's last ':' or a prefix of it, or its name)? */
static bool is_wanted(const json_t *h, const char *want)
{
	const char *id = str_of(h, "id"), *tail = strrchr(id, ':');
	size_t n = strlen(want);
	return !strcmp(str_of(h, "name"), want) || !strncmp(id, want, n) ||
	       (tail && !strncmp(tail + 1, want, n));
}

int drift_state_from_file(const char *path, const char *want, struct drift_state *out, char *err,
                          size_t errlen)
{
	memset(out, 0, sizeof(*out));
	FILE *fp = fopen(path, "re");
	if (!fp) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	json_t *root = json_object(), *recs = json_array();
	json_object_set_new(root, "records", recs);
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	int r = 0;
	const char *system = NULL;
	bool skipping = false; /* in the frame of another system than `want` */
	while ((n = getline(&line, &cap, fp)) > 0) {
		lineno++;
		if ((size_t)n > DRIFT_LINE_MAX) {
			snprintf(err, errlen, "%s line %ld: longer than %u bytes", path, lineno,
			         DRIFT_LINE_MAX);
			r = -EINVAL;
			break;
		}
		if (n == 1 && line[0] == '\n')
			continue;
		json_error_t je;
		json_t *rec = jload_lenient(line, (size_t)n, &je);
		const char *f = rec ? json_string_value(json_object_get(rec, "feature")) : NULL;
		const char *sys = rec ? json_string_value(json_object_get(rec, "system")) : NULL;
		if (!f || !sys || !json_is_string(json_object_get(rec, "key")) ||
		    !json_object_get(rec, "value")) {
			snprintf(err, errlen, "%s line %ld: not a record of `vantage crawl` (%s)",
			         path, lineno, rec ? "no feature, system, key or value" : je.text);
			json_decref(rec);
			r = -EINVAL;
			break;
		}
		if (!strcmp(f, "frame")) {
			skipping = want && !is_wanted(json_object_get(rec, "value"), want);
			if (skipping) {
				json_decref(rec);
				continue;
			}
			if (json_object_get(root, "frame")) {
				snprintf(err, errlen, "%s line %ld: a second frame (%s): %s", path,
				         lineno, sys,
				         want ? "the name or id fits two systems' frames"
				              : "name the system's frame as FILE@SYSTEM");
				json_decref(rec);
				r = -EINVAL;
				break;
			}
			json_object_set(root, "frame", json_object_get(rec, "value"));
			system = json_string_value(
			    json_object_get(json_object_get(root, "frame"), "id"));
			json_decref(rec);
			continue;
		}
		if (skipping) {
			json_decref(rec);
			continue;
		}
		if (!system || strcmp(system, sys) != 0) {
			snprintf(err, errlen, "%s line %ld: a record of %s outside its frame", path,
			         lineno, sys);
			json_decref(rec);
			r = -EINVAL;
			break;
		}
		json_array_append_new(recs, rec);
	}
	if (r == 0 && ferror(fp)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		r = -EIO;
	}
	free(line);
	fclose(fp);
	if (r == 0 && !json_object_get(root, "frame")) {
		if (want)
			snprintf(err, errlen, "%s: no frame of a system '%s'", path, want);
		else
			snprintf(err, errlen, "%s: no frame (no record of feature \"frame\")",
			         path);
		r = -EINVAL;
	}
	if (r < 0) {
		json_decref(root);
		return r;
	}
	r = drift_state_from_json(root, out, err, errlen);
	if (r == 0)
		out->where = path;
	return r;
}

void drift_state_free(struct drift_state *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->recs[i].match);
	free(s->recs);
	json_decref(s->root);
	memset(s, 0, sizeof(*s));
}
