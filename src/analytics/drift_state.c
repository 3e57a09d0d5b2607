/*
 * drift_state.c - load one side of a drift comparison (drift_state.h):
 * from the store (store_frame_json: each feature's latest records at a
 * time) or from a crawl file, then give each record its match key and sort.
 *
 * Records are scanned, not parsed (util/jscan: spans into the text, no
 * allocation): a diff of 20k records where 1 % changed parses the 1 %.
 * Only the header and the fields of the match keys are decoded.
 */
#include "drift_state.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../store/store.h"
#include "../util/jload.h"
#include "../util/jscan.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "../util/xalloc.h"

#define EPHEMERAL_MIN 32768u        /* net.ipv4.ip_local_port_range starts there */
#define DRIFT_FILE_MAX (4ull << 30) /* a crawl file read whole */

json_t *drift_value(const struct drift_rec *r)
{
	struct drift_rec *m = (struct drift_rec *)r; /* a cache, not a change */
	if (!m->value) {
		m->value = jload_lenient(r->text, r->len, NULL);
		if (!m->value)
			m->value = json_null();
	}
	return m->value;
}

static const char *str_of(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

/* ---- fields of a value without parsing it ------------------------------------ */

/* The members of a value that the match keys need. */
enum { F_USER, F_CMDLINE, F_COMM, F_PROTO, F_STATE, F_LADDR, F_RADDR, F_NSTR };
static const char *const str_fields[F_NSTR] = {"user",  "cmdline",    "comm",       "proto",
                                               "state", "local_addr", "remote_addr"};
struct fields {
	struct buf s[F_NSTR]; /* each NUL-terminated ("" when absent) */
	long long pid, nspid, lport, rport;
};

static void fields_reset(struct fields *f)
{
	for (int i = 0; i < F_NSTR; i++) {
		buf_reset(&f->s[i]);
		buf_addc(&f->s[i], '\0');
	}
	f->pid = f->nspid = f->lport = f->rport = 0;
}

static void fields_free(struct fields *f)
{
	for (int i = 0; i < F_NSTR; i++)
		buf_free(&f->s[i]);
}

static void take_str(struct buf *dst, struct js_span v)
{
	struct js_span c;
	if (!js_str(v, &c))
		return;
	buf_reset(dst);
	js_unescape(dst, c.p, c.n);
}

static long long take_int(struct js_span v)
{
	char tmp[24];
	if (v.n == 0 || v.n >= sizeof(tmp))
		return 0;
	memcpy(tmp, v.p, v.n);
	tmp[v.n] = '\0';
	return strtoll(tmp, NULL, 10);
}

static void scan_fields(const char *text, size_t len, struct fields *f)
{
	fields_reset(f);
	struct js_iter it; /* values were validated when the state was read */
	if (js_iter_begin(&it, (struct js_span){text, len}, JS_TRUSTED) < 0)
		return;
	struct js_span name, val;
	while (js_obj_next(&it, &name, &val) == 1) {
		int i = 0;
		while (i < F_NSTR && !js_eq(name, str_fields[i]))
			i++;
		if (i < F_NSTR)
			take_str(&f->s[i], val);
		else if (js_eq(name, "pid"))
			f->pid = take_int(val);
		else if (js_eq(name, "nspid"))
			f->nspid = take_int(val);
		else if (js_eq(name, "local_port"))
			f->lport = take_int(val);
		else if (js_eq(name, "remote_port"))
			f->rport = take_int(val);
	}
}

/* ---- match keys ---------------------------------------------------------------- */

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

/* A process: user and command line (comm when it has none, as kernel
 * threads). */
static void process_match(const struct fields *f, struct buf *b)
{
	buf_printf(b, "%s %s", f->s[F_USER].data,
	           f->s[F_CMDLINE].data[0] ? f->s[F_CMDLINE].data : f->s[F_COMM].data);
}

/* A connection: listening sockets by their address; an established one by
 * the side that listens (the local side when its port is one of the
 * system's listening ports, or when only the remote port is in the
 * kernel's default ephemeral range: the listener may be gone in one of the
 * two states) and the other side's address only. */
static void connection_match(const struct fields *f, const struct u_ports *lp, struct buf *b)
{
	const char *proto = f->s[F_PROTO].data, *state = f->s[F_STATE].data;
	unsigned lport = (unsigned)f->lport, rport = (unsigned)f->rport;
	if (!strcmp(state, "LISTEN") || (!strcmp(proto, "udp") && rport == 0) ||
	    !strcmp(proto, "udp6"))
		buf_printf(b, "%s %s:%u %s", proto, f->s[F_LADDR].data, lport, state);
	else if (listens_on(lp, lport) || (lport < EPHEMERAL_MIN && rport >= EPHEMERAL_MIN))
		buf_printf(b, "%s %s:%u <- %s", proto, f->s[F_LADDR].data, lport,
		           f->s[F_RADDR].data);
	else
		buf_printf(b, "%s %s -> %s:%u", proto, f->s[F_LADDR].data, f->s[F_RADDR].data,
		           rport);
}

static int rec_cmp(const void *x, const void *y)
{
	const struct drift_rec *a = x, *b = y;
	int c = a->feature == b->feature ? 0 : strcmp(a->feature, b->feature);
	if (c)
		return c;
	c = strcmp(a->match, b->match);
	if (c)
		return c;
	/* equal match keys: in the order of their pids (then keys) */
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return strcmp(a->key, b->key);
}

/* Give every record its match key, sort, and number repeated keys. */
static void finish(struct drift_state *s)
{
	struct fields f = {0};
	struct u_ports lp = {0};
	for (size_t i = 0; i < s->n; i++) {
		struct drift_rec *r = &s->recs[i];
		if (strcmp(r->feature, "connection") != 0 || !memmem(r->text, r->len, "LISTEN", 6))
			continue;
		scan_fields(r->text, r->len, &f);
		if (!strcmp(f.s[F_STATE].data, "LISTEN")) {
			lp.port = xreallocarray(lp.port, lp.n + 1, sizeof(*lp.port));
			lp.port[lp.n++] = (unsigned)f.lport;
		}
	}
	struct buf b = BUF_INIT;
	for (size_t i = 0; i < s->n; i++) {
		struct drift_rec *r = &s->recs[i];
		bool proc = !strcmp(r->feature, "process"),
		     conn = !strcmp(r->feature, "connection");
		if (!proc && !conn) {
			r->match = xstrndup(r->key, strlen(r->key));
			continue;
		}
		scan_fields(r->text, r->len, &f);
		buf_reset(&b);
		if (proc) {
			process_match(&f, &b);
			r->pid = f.pid;
			r->nspid = f.nspid;
			r->cmdline = xstrndup(f.s[F_CMDLINE].data, strlen(f.s[F_CMDLINE].data));
		} else {
			connection_match(&f, &lp, &b);
		}
		r->match = xstrndup(b.data ? b.data : "", b.len);
	}
	fields_free(&f);
	free(lp.port);
	if (s->n)
		qsort(s->recs, s->n, sizeof(*s->recs), rec_cmp);
	/* "#2", "#3" on repeated match keys */
	size_t *rep = xcalloc(s->n ? s->n : 1, sizeof(*rep));
	for (size_t i = 0; i < s->n; i++)
		rep[i] = i > 0 && s->recs[i - 1].feature == s->recs[i].feature &&
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

/* ---- adding records -------------------------------------------------------------- */

static const char *intern(struct drift_state *s, const char *p, size_t n)
{
	for (size_t i = 0; i < s->nfeatures; i++)
		if (strlen(s->features[i]) == n && !memcmp(s->features[i], p, n))
			return s->features[i];
	s->features = xreallocarray(s->features, s->nfeatures + 1, sizeof(*s->features));
	s->features[s->nfeatures] = xstrndup(p, n);
	return s->features[s->nfeatures++];
}

/* One record; value points into s->text, which no longer moves. */
static void add_rec(struct drift_state *s, size_t *cap, struct js_span feature, struct js_span key,
                    struct js_span value, struct buf *tmp)
{
	if (s->n == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		s->recs = xreallocarray(s->recs, *cap, sizeof(*s->recs));
	}
	buf_reset(tmp);
	js_unescape(tmp, key.p, key.n);
	s->recs[s->n++] = (struct drift_rec){
	    .feature = intern(s, feature.p, feature.n),
	    .key = xstrndup(tmp->data, strlen(tmp->data)),
	    .text = value.p,
	    .len = value.n,
	    .hash = fnv1a(FNV1A_BASIS, value.p, value.n),
	};
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

/* The members feature, key (raw string contents), value and system of one
 * record object (each member validated as it is passed; *close, when
 * given, gets the object's closing brace).  False when one is missing or
 * the object is malformed. */
static bool record_parts(struct js_span obj, struct js_span *feature, struct js_span *key,
                         struct js_span *value, struct js_span *system, const char **close,
                         int flags)
{
	struct js_iter it;
	if (js_iter_begin(&it, obj, flags) < 0 || obj.p[0] != '{')
		return false;
	struct js_span name, val;
	bool f = false, k = false, v = false;
	system->p = NULL;
	system->n = 0;
	int r;
	while ((r = js_obj_next(&it, &name, &val)) == 1) {
		if (js_eq(name, "feature"))
			f = js_str(val, feature);
		else if (js_eq(name, "key"))
			k = js_str(val, key);
		else if (js_eq(name, "value"))
			*value = val, v = true;
		else if (js_eq(name, "system"))
			js_str(val, system);
	}
	if (close)
		*close = it.p;
	return r == 0 && f && k && v;
}

/* The header and records of one store answer {"frame": ..., "records":
 * [...]} (a span of out->text, which no longer moves): the records are
 * added; the header is returned (NULL: not a frame). */
static json_t *add_answer(struct drift_state *out, struct js_span doc, size_t *cap, struct buf *tmp)
{
	struct js_span name, val, recs = {0}, hdr = {0};
	struct js_iter it;
	if (js_iter_begin(&it, doc, 0) == 0) {
		while (js_obj_next(&it, &name, &val) == 1) {
			if (js_eq(name, "frame"))
				hdr = val;
			else if (js_eq(name, "records"))
				recs = val;
		}
	}
	json_t *h = hdr.p ? jload_lenient(hdr.p, hdr.n, NULL) : NULL;
	if (!json_is_object(h) || !recs.p || js_iter_begin(&it, recs, JS_TRUSTED) < 0) {
		json_decref(h);
		return NULL;
	}
	struct js_span r, f, k, v, sys;
	while (js_arr_next(&it, &r) == 1) {
		if (!record_parts(r, &f, &k, &v, &sys, NULL, JS_TRUSTED))
			continue;
		add_rec(out, cap, f, k, v, tmp);
	}
	return h;
}

int drift_state_from_text(const char *text, size_t len, struct drift_state *out, char *err,
                          size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->where = "store";
	buf_add(&out->text, text, len);
	size_t cap = 0;
	struct buf tmp = BUF_INIT;
	json_t *h = add_answer(out, (struct js_span){out->text.data, out->text.len}, &cap, &tmp);
	buf_free(&tmp);
	if (!h) {
		snprintf(err, errlen, "not a frame: no \"frame\" header or no \"records\"");
		drift_state_free(out);
		return -EINVAL;
	}
	take_header(out, h);
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
	r = drift_state_from_text(b.data, b.len, out, err, errlen);
	buf_free(&b);
	return r;
}

/* Has the system a frame at or before at_ms (0: any)?  1, 0 or -errno. */
static int has_frame(struct store *st, const char *system_id, int64_t at_ms)
{
	int64_t *t = NULL;
	size_t n = 0;
	int r = store_frame_times(st, system_id, 0, at_ms ? at_ms : INT64_MAX, NULL, 1, &t, &n);
	free(t);
	return r < 0 ? r : n > 0;
}

int drift_state_from_store_features(struct store *st, const char *system_id, int64_t at_ms,
                                    const char *const *features, size_t nfeatures,
                                    struct drift_state *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->where = "store";
	/* every answer first: the records point into the text, which must not
	 * move once they are added */
	size_t *start = xcalloc(nfeatures + 1, sizeof(*start));
	bool *got = xcalloc(nfeatures + 1, sizeof(*got));
	int r = 0;
	for (size_t i = 0; i < nfeatures && r == 0; i++) {
		start[i] = out->text.len;
		int e = store_frame_json(st, system_id, at_ms, features[i], &out->text);
		if (e == 0) {
			got[i] = true;
		} else if (e == -ENOENT) { /* no frame held it then: no records */
			out->text.len = start[i];
		} else {
			snprintf(err, errlen, "cannot read %s: %s", system_id, store_errmsg(st));
			r = e;
		}
	}
	start[nfeatures] = out->text.len;
	size_t cap = 0;
	struct buf tmp = BUF_INIT;
	for (size_t i = 0; i < nfeatures && r == 0; i++) {
		if (!got[i])
			continue;
		struct js_span doc = {out->text.data + start[i], start[i + 1] - start[i]};
		json_t *h = add_answer(out, doc, &cap, &tmp);
		if (!h) {
			snprintf(err, errlen,
			         "%s: not a frame: no \"frame\" header or no \"records\"",
			         system_id);
			r = -EINVAL;
		} else if (!out->header) {
			take_header(out, h);
		} else { /* the latest of the frames the features came from */
			int64_t before = out->time_ms;
			json_t *old = out->header;
			take_header(out, h);
			if (out->time_ms < before) {
				take_header(out, old);
				json_decref(h);
			} else {
				json_decref(old);
			}
		}
	}
	buf_free(&tmp);
	if (r == 0 && !out->header) { /* none of them: a frame at all? */
		int e = has_frame(st, system_id, at_ms);
		if (e <= 0) {
			if (e == 0 || e == -ENOENT)
				snprintf(err, errlen, "%s has no frame %s", system_id,
				         at_ms ? "at or before that time" : "in the store");
			else
				snprintf(err, errlen, "cannot read %s: %s", system_id,
				         store_errmsg(st));
			r = e == 0 ? -ENOENT : e;
		} else {
			take_header(out, json_pack("{s:s}", "id", system_id));
			out->time_ms = at_ms;
		}
	}
	free(start);
	free(got);
	if (r < 0) {
		drift_state_free(out);
		return r;
	}
	finish(out);
	return 0;
}

void drift_state_keep(struct drift_state *s, bool (*keep)(void *ctx, const struct drift_rec *r),
                      void *ctx)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct drift_rec *r = &s->recs[i];
		if (keep(ctx, r)) {
			s->recs[n++] = *r;
			continue;
		}
		free(r->key);
		free(r->match);
		free(r->cmdline);
		json_decref(r->value);
	}
	s->n = n;
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

/* Read a whole regular file into b. */
static int read_whole(const char *path, struct buf *b, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "%s", strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode) || (unsigned long long)st.st_size > DRIFT_FILE_MAX) {
		snprintf(err, errlen, "%s",
		         S_ISREG(st.st_mode) ? "larger than 4 GiB" : "not a regular file");
		close(fd);
		return -EINVAL;
	}
	buf_reserve(b, (size_t)st.st_size + 1);
	ssize_t n;
	while ((n = read(fd, b->data + b->len, b->cap - b->len)) > 0) {
		b->len += (size_t)n;
		buf_reserve(b, 65536);
	}
	int e = n < 0 ? errno : 0;
	close(fd);
	if (e)
		snprintf(err, errlen, "%s", strerror(e));
	return -e;
}

int drift_state_from_file(const char *path, const char *want, struct drift_state *out, char *err,
                          size_t errlen)
{
	memset(out, 0, sizeof(*out));
	char why[256];
	int r = read_whole(path, &out->text, why, sizeof(why));
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		drift_state_free(out);
		return r;
	}
	const char *p = out->text.data, *end = p + out->text.len;
	long lineno = 0;
	size_t cap = 0;
	bool skipping = false; /* in the frame of another system than `want` */
	struct buf tmp = BUF_INIT, system = BUF_INIT;
	while (p < end && r == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		lineno++;
		struct js_span line = {p, (size_t)(le - p)}, f, k, v, sys;
		p = nl ? nl + 1 : end;
		const char *q = js_ws(line.p, le);
		if (q == le)
			continue;
		const char *close = NULL;
		bool ok = record_parts((struct js_span){q, (size_t)(le - q)}, &f, &k, &v, &sys,
		                       &close, 0);
		if (!ok || !sys.p || !close || *close != '}' || js_ws(close + 1, le) != le) {
			snprintf(err, errlen,
			         "%s line %ld: not a record of `vantage crawl` (a JSON object with "
			         "system, feature, key and value)",
			         path, lineno);
			r = -EINVAL;
			break;
		}
		if (js_eq(f, "frame")) {
			json_t *h = jload_lenient(v.p, v.n, NULL);
			skipping = want && !is_wanted(h, want);
			if (skipping) {
				json_decref(h);
				continue;
			}
			if (out->header) {
				buf_reset(&tmp);
				js_unescape(&tmp, sys.p, sys.n);
				snprintf(err, errlen, "%s line %ld: a second frame (%s): %s", path,
				         lineno, tmp.data,
				         want ? "the name or id fits two systems' frames"
				              : "name the system's frame as FILE@SYSTEM");
				json_decref(h);
				r = -EINVAL;
				break;
			}
			if (!json_is_object(h)) {
				snprintf(err, errlen,
				         "%s line %ld: a frame header that is not an object", path,
				         lineno);
				json_decref(h);
				r = -EINVAL;
				break;
			}
			take_header(out, h);
			buf_reset(&system);
			buf_add(&system, sys.p, sys.n);
			continue;
		}
		if (skipping)
			continue;
		if (!out->header || sys.n != system.len ||
		    memcmp(sys.p, buf_str(&system), sys.n) != 0) {
			buf_reset(&tmp);
			js_unescape(&tmp, sys.p, sys.n);
			snprintf(err, errlen, "%s line %ld: a record of %s outside its frame", path,
			         lineno, tmp.data);
			r = -EINVAL;
			break;
		}
		add_rec(out, &cap, f, k, v, &tmp);
	}
	buf_free(&tmp);
	buf_free(&system);
	if (r == 0 && !out->header) {
		if (want)
			snprintf(err, errlen, "%s: no frame of a system '%s'", path, want);
		else
			snprintf(err, errlen, "%s: no frame (no record of feature \"frame\")",
			         path);
		r = -EINVAL;
	}
	if (r < 0) {
		drift_state_free(out);
		return r;
	}
	finish(out);
	out->where = path;
	return 0;
}

void drift_state_free(struct drift_state *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->recs[i].key);
		free(s->recs[i].match);
		free(s->recs[i].cmdline);
		json_decref(s->recs[i].value);
	}
	free(s->recs);
	for (size_t i = 0; i < s->nfeatures; i++)
		free(s->features[i]);
	free(s->features);
	json_decref(s->header);
	buf_free(&s->text);
	memset(s, 0, sizeof(*s));
}
