/*
 * frame.c - records of one snapshot, spooled, then delivered to a sink as
 * begin_frame, header + records, end_frame(summary), flush (see frame.h
 * and sink.h).
 *
 * Invariants:
 *  - at most one record is open (f->open); its value is built in f->val
 *    and moved to the spool by rec_end() as one complete line;
 *  - the spool is f->mem (in memory) after the first f->spool_len bytes
 *    that live in the temporary file f->spool_fd (-1 until the memory part
 *    first exceeds FRAME_SPOOL_MEM), so line order is file then memory;
 *    if the temporary file cannot be written, records stay in memory
 *    (nothing collected is dropped) and the header says so;
 *  - per-feature counters live in f->feat[], indexed like the feature list
 *    given to frame_begin(); f->cur is the running feature or -1.
 */
#include "frame.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "../util/timefmt.h"
#include "../util/util.h"

struct feat_stat {
	char name[32];
	uint64_t records, errors, skipped;
	char source[16]; /* "" unless frame_source() */
	int64_t start_ns, dur_ns;
	int nmsg;
	char *msg[FRAME_MAX_ERRMSG];
};

struct frame {
	struct sink *sink;
	struct system_id sys;
	enum frame_format fmt;
	int64_t time_ns, start_mono;
	char time_str[40];
	struct feat_stat *feat;
	int nfeat, cur;
	/* for the sink (nfeat + 1 entries each, made at frame_begin) */
	const char **names;
	struct frame_feature_summary *fsum;
	struct buf prefix; /* JSON: {"system":...,"time":...,"feature":" */
	struct buf mem;    /* spooled lines in memory */
	int spool_fd;
	size_t spool_len;
	int spool_err;
	/* the open record */
	bool open;
	struct buf key, cfeat, ckey, val;
	struct json j;
	uint64_t records;
};

struct frame *frame_begin(struct sink *sink, const struct system_id *sys,
                          const char *const *features, int nfeatures, enum frame_format fmt)
{
	struct frame *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->sink = sink;
	f->sys = *sys;
	f->fmt = fmt;
	f->time_ns = now_ns();
	f->start_mono = mono_ns();
	format_time_utc(f->time_ns, f->time_str, sizeof(f->time_str));
	/* one more slot, after the features: errors of the system as a whole */
	size_t n = (size_t)(nfeatures > 0 ? nfeatures : 0) + 1;
	f->feat = calloc(n, sizeof(*f->feat));
	f->names = calloc(n, sizeof(*f->names));
	f->fsum = calloc(n, sizeof(*f->fsum));
	if (!f->feat || !f->names || !f->fsum) {
		free(f->feat);
		free(f->names);
		free(f->fsum);
		free(f);
		return NULL;
	}
	f->nfeat = nfeatures;
	for (int i = 0; i < nfeatures; i++) {
		copy_str(f->feat[i].name, sizeof(f->feat[i].name), features[i],
		         strlen(features[i]));
		f->names[i] = f->feat[i].name;
	}
	copy_str(f->feat[nfeatures].name, sizeof(f->feat[0].name), "frame", 5);
	f->cur = -1;
	f->spool_fd = -1;
	buf_adds(&f->prefix, "{\"system\":");
	jw_escape(&f->prefix, f->sys.id, strlen(f->sys.id));
	buf_printf(&f->prefix, ",\"time\":\"%s\",\"feature\":\"", f->time_str);
	return f;
}

enum frame_format frame_format(const struct frame *f)
{
	return f->fmt;
}

void frame_feature_start(struct frame *f, const char *feature)
{
	f->cur = -1;
	for (int i = 0; i < f->nfeat; i++)
		if (strcmp(f->feat[i].name, feature) == 0)
			f->cur = i;
	if (f->cur >= 0)
		f->feat[f->cur].start_ns = mono_ns();
}

void frame_feature_end(struct frame *f)
{
	if (f->cur >= 0)
		f->feat[f->cur].dur_ns += mono_ns() - f->feat[f->cur].start_ns;
	f->cur = -1;
}

/* The counters errors go to: the running feature's, else the frame's. */
static struct feat_stat *cur_stat(struct frame *f)
{
	return &f->feat[f->cur >= 0 ? f->cur : f->nfeat];
}

static const char *cur_name(const struct frame *f)
{
	return f->cur >= 0 ? f->feat[f->cur].name : "frame";
}

/* ---- spool ---------------------------------------------------------------- */

static int spool_file(struct frame *f)
{
	const char *dir = getenv("TMPDIR");
	if (!dir || !*dir)
		dir = "/tmp";
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		char tmpl[4096];
		snprintf(tmpl, sizeof(tmpl), "%s/vantage-spool.XXXXXX", dir);
		fd = mkostemp(tmpl, O_CLOEXEC);
		if (fd < 0)
			return -errno;
		unlink(tmpl);
	}
	f->spool_fd = fd;
	return 0;
}

static int spool_flush_mem(struct frame *f)
{
	if (f->spool_fd < 0) {
		int r = spool_file(f);
		if (r < 0)
			return r;
	}
	size_t off = 0;
	while (off < f->mem.len) {
		ssize_t n = write(f->spool_fd, f->mem.data + off, f->mem.len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)n;
	}
	f->spool_len += f->mem.len;
	buf_reset(&f->mem);
	return 0;
}

/* ---- records -------------------------------------------------------------- */

struct json *rec_begin(struct frame *f, const char *key)
{
	buf_reset(&f->key);
	buf_adds(&f->key, key ? key : "");
	buf_reset(&f->cfeat);
	buf_reset(&f->ckey);
	buf_reset(&f->val);
	jw_init(&f->j, &f->val);
	jw_obj_begin(&f->j, NULL);
	f->open = true;
	return &f->j;
}

struct json *rec_beginf(struct frame *f, const char *fmt, ...)
{
	va_list ap;
	rec_begin(f, NULL);
	buf_reset(&f->key);
	va_start(ap, fmt);
	buf_vprintf(&f->key, fmt, ap);
	va_end(ap);
	return &f->j;
}

void rec_crawler(struct frame *f, const char *cfeature, const char *ckey)
{
	if (f->fmt != FRAME_CRAWLER)
		return;
	buf_reset(&f->cfeat);
	buf_adds(&f->cfeat, cfeature);
	buf_reset(&f->ckey);
	buf_adds(&f->ckey, ckey);
}

const char *rec_name(const struct frame *f, const char *ours, const char *crawler)
{
	return f->fmt == FRAME_CRAWLER && crawler ? crawler : ours;
}

int rec_end(struct frame *f)
{
	if (!f->open)
		return -EINVAL;
	f->open = false;
	while (f->j.depth > 0)
		jw_obj_end(&f->j); /* close anything a feature left open */
	struct buf *m = &f->mem;
	const char *feat = cur_name(f);
	if (f->fmt == FRAME_JSON) {
		buf_add(m, f->prefix.data, f->prefix.len);
		buf_adds(m, feat);
		buf_add(m, "\",\"key\":", 8);
		jw_escape(m, f->key.data ? f->key.data : "", f->key.len);
		buf_add(m, ",\"value\":", 9);
		buf_add(m, f->val.data, f->val.len);
		buf_add(m, "}\n", 2);
	} else {
		const struct buf *k = f->ckey.len ? &f->ckey : &f->key;
		buf_adds(m, f->cfeat.len ? f->cfeat.data : feat);
		buf_addc(m, '\t');
		jw_escape(m, k->data ? k->data : "", k->len);
		buf_addc(m, '\t');
		buf_add(m, f->val.data, f->val.len);
		buf_addc(m, '\n');
	}
	f->records++;
	if (f->cur >= 0)
		f->feat[f->cur].records++;
	if (m->len >= FRAME_SPOOL_MEM && !f->spool_err) {
		int r = spool_flush_mem(f);
		if (r < 0)
			f->spool_err = r; /* keep in memory; report at the end */
	}
	return 0;
}

/* ---- errors --------------------------------------------------------------- */

static void add_msg(struct frame *f, const char *msg)
{
	struct feat_stat *s = cur_stat(f);
	if (s->nmsg < FRAME_MAX_ERRMSG) {
		char *dup = strdup(msg);
		if (dup)
			s->msg[s->nmsg++] = dup;
	}
}

/*
 * A message of at most FRAME_MSG_MAX bytes: what (fmt) and why (reason, may
 * be NULL).  What names an item of the system, often a path, which a
 * hostile system can make as long as it likes (a path 256 directories
 * deep): a long one is cut in its middle, marked "...", so that its start,
 * its end (the file's own name) and the reason always remain.
 */
static void compose(char *msg, const char *reason, const char *fmt, va_list ap)
{
	char small[FRAME_MSG_MAX], *what = small, tail[128];
	va_list aq;
	va_copy(aq, ap);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	size_t len = n < 0 ? 0 : (size_t)n;

	if (n < 0)
		small[0] = 0;
	if (len >= sizeof(small) && (what = malloc(len + 1)) != NULL)
		vsnprintf(what, len + 1, fmt, aq);
	va_end(aq);
	if (!what) { /* no memory for the whole: its start will do */
		what = small;
		len = sizeof(small) - 1;
	}
	snprintf(tail, sizeof(tail), "%s%s", reason ? ": " : "", reason ? reason : "");
	size_t tl = strlen(tail);
	if (len + tl < FRAME_MSG_MAX) {
		memcpy(msg, what, len);
		memcpy(msg + len, tail, tl + 1);
	} else { /* a head, "...", the last 128 bytes of what, the reason */
		size_t room = FRAME_MSG_MAX - 1 - tl - 3, end = 128, head = room - end;
		memmove(msg, what, head);
		msg[head] = msg[head + 1] = msg[head + 2] = '.';
		memcpy(msg + head + 3, what + len - end, end);
		memcpy(msg + head + 3 + end, tail, tl + 1);
	}
	if (what != small)
		free(what);
}

void frame_error(struct frame *f, int err, const char *fmt, ...)
{
	char msg[FRAME_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	compose(msg, err ? strerror(err) : NULL, fmt, ap);
	va_end(ap);
	cur_stat(f)->errors++;
	add_msg(f, msg);
}

void frame_skip(struct frame *f, const char *fmt, ...)
{
	char msg[FRAME_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	compose(msg, NULL, fmt, ap);
	va_end(ap);
	cur_stat(f)->skipped++;
	add_msg(f, msg);
}

void frame_source(struct frame *f, const char *source)
{
	struct feat_stat *s = cur_stat(f);
	copy_str(s->source, sizeof(s->source), source, strlen(source));
}

uint64_t frame_errors(const struct frame *f)
{
	uint64_t n = 0;
	for (int i = 0; i <= f->nfeat; i++)
		n += f->feat[i].errors;
	return n;
}

uint64_t frame_records(const struct frame *f)
{
	return f->records;
}

/* ---- header and output ---------------------------------------------------- */

static void header_common(struct frame *f, struct json *j, double dur_ms)
{
	jw_double(j, "duration_ms", dur_ms, 3);
	jw_uint(j, "records", f->records);
	if (f->spool_err)
		jw_str(j, "spool_error", strerror(-f->spool_err));
	/* the system-level slot ("frame") only when something went there */
	const struct feat_stat *sys = &f->feat[f->nfeat];
	int n = f->nfeat + (sys->errors || sys->skipped || sys->nmsg ? 1 : 0);
	jw_obj_begin(j, "errors");
	for (int i = 0; i < n; i++)
		jw_uint(j, f->feat[i].name, f->feat[i].errors);
	jw_obj_end(j);
	jw_obj_begin(j, "skipped");
	for (int i = 0; i < n; i++)
		jw_uint(j, f->feat[i].name, f->feat[i].skipped);
	jw_obj_end(j);
	jw_obj_begin(j, "feature_ms");
	for (int i = 0; i < f->nfeat; i++)
		jw_double(j, f->feat[i].name, (double)f->feat[i].dur_ns / 1e6, 3);
	jw_obj_end(j);
	/* "sources" only when some feature read from another source */
	bool any = false;
	for (int i = 0; i < n; i++) {
		if (!f->feat[i].source[0])
			continue;
		if (!any)
			jw_obj_begin(j, "sources");
		any = true;
		jw_str(j, f->feat[i].name, f->feat[i].source);
	}
	if (any)
		jw_obj_end(j);
	jw_obj_begin(j, "messages");
	for (int i = 0; i < n; i++) {
		if (!f->feat[i].nmsg)
			continue;
		jw_arr_begin(j, f->feat[i].name);
		for (int k = 0; k < f->feat[i].nmsg; k++)
			jw_str(j, NULL, f->feat[i].msg[k]);
		jw_arr_end(j);
	}
	jw_obj_end(j);
}

static void uuid4(char out[37])
{
	unsigned char r[16];
	if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
		uint64_t t = (uint64_t)now_ns() ^ ((uint64_t)getpid() << 32);
		for (int i = 0; i < 16; i++)
			r[i] = (unsigned char)(t >> ((i % 8) * 8)) ^ (unsigned char)(i * 37);
	}
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	char hex[33];
	hex_encode(r, 16, hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static void build_header(struct frame *f, struct buf *h, double dur_ms)
{
	struct buf v = BUF_INIT;
	struct json j;
	jw_init(&j, &v);
	jw_obj_begin(&j, NULL);
	if (f->fmt == FRAME_JSON) {
		jw_str(&j, "id", f->sys.id);
		jw_str(&j, "name", f->sys.name);
		jw_str(&j, "kind", f->sys.kind);
		if (f->sys.runtime[0])
			jw_str(&j, "runtime", f->sys.runtime);
		if (f->sys.image[0])
			jw_str(&j, "image", f->sys.image);
		if (f->sys.labels_json && f->sys.labels_json[0] == '{')
			jw_raw(&j, "labels", f->sys.labels_json, strlen(f->sys.labels_json));
		jw_str(&j, "host", f->sys.host);
		jw_str(&j, "time", f->time_str);
		jw_arr_begin(&j, "features");
		for (int i = 0; i < f->nfeat; i++)
			jw_str(&j, NULL, f->feat[i].name);
		jw_arr_end(&j);
		header_common(f, &j, dur_ms);
		jw_obj_end(&j);
		buf_add(h, f->prefix.data, f->prefix.len);
		buf_adds(h, "frame\",\"key\":");
		jw_escape(h, f->sys.id, strlen(f->sys.id));
		buf_adds(h, ",\"value\":");
		buf_add(h, v.data, v.len);
		buf_add(h, "}\n", 2);
	} else {
		struct buf feats = BUF_INIT;
		for (int i = 0; i < f->nfeat; i++)
			buf_printf(&feats, "%s%s", i ? "," : "", f->feat[i].name);
		char ts[40], uuid[37];
		format_time_local(f->time_ns, ts, sizeof(ts));
		uuid4(uuid);
		jw_str(&j, "features", buf_str(&feats));
		jw_str(&j, "timestamp", ts);
		jw_str(&j, "uuid", uuid);
		bool ct = strcmp(f->sys.kind, "container") == 0;
		if (ct) {
			/* "<host>/<container name>", and the reference's container fields */
			struct buf ns = BUF_INIT;
			buf_printf(&ns, "%s/%s", f->sys.host, f->sys.name);
			jw_str(&j, "namespace", buf_str(&ns));
			buf_free(&ns);
		} else {
			jw_str(&j, "namespace", f->sys.name);
		}
		jw_str(&j, "system_type", f->sys.kind);
		jw_str(&j, "system_id", f->sys.id);
		if (ct) {
			const char *cid = strrchr(f->sys.id, ':');
			cid = cid ? cid + 1 : f->sys.id;
			jw_str(&j, "container_long_id", cid);
			jw_strn(&j, "container_short_id", cid, strnlen(cid, 12));
			jw_str(&j, "container_name", f->sys.name);
			jw_str(&j, "container_image", f->sys.image);
			jw_bool(&j, "emit_shortname", false);
		}
		header_common(f, &j, dur_ms);
		jw_obj_end(&j);
		buf_adds(h, "metadata\t\"metadata\"\t");
		buf_add(h, v.data, v.len);
		buf_addc(h, '\n');
		buf_free(&feats);
	}
	buf_free(&v);
}

static void frame_free(struct frame *f)
{
	for (int i = 0; i <= f->nfeat; i++)
		for (int k = 0; k < f->feat[i].nmsg; k++)
			free(f->feat[i].msg[k]);
	free(f->feat);
	free(f->names);
	free(f->fsum);
	if (f->spool_fd >= 0)
		close(f->spool_fd);
	buf_free(&f->prefix);
	buf_free(&f->mem);
	buf_free(&f->key);
	buf_free(&f->cfeat);
	buf_free(&f->ckey);
	buf_free(&f->val);
	free(f);
}

void frame_abort(struct frame *f)
{
	frame_free(f);
}

/* The frame's counts for the sink's end_frame (sum->feature: `fs`, which
 * has room for every feature and the system slot). */
static void summarize(struct frame *f, double dur_ms, struct frame_feature_summary *fs,
                      struct frame_summary *sum)
{
	memset(sum, 0, sizeof(*sum));
	sum->sys = &f->sys;
	sum->time_ns = f->time_ns;
	sum->time = f->time_str;
	sum->fmt = f->fmt;
	sum->records = f->records;
	sum->duration_ms = dur_ms;
	sum->spool_err = f->spool_err;
	const struct feat_stat *sys = &f->feat[f->nfeat];
	int n = f->nfeat + (sys->errors || sys->skipped || sys->nmsg ? 1 : 0);
	for (int i = 0; i < n; i++) {
		fs[i] = (struct frame_feature_summary){
		    .name = f->feat[i].name,
		    .records = f->feat[i].records,
		    .errors = f->feat[i].errors,
		    .skipped = f->feat[i].skipped,
		    .ms = (double)f->feat[i].dur_ns / 1e6,
		    .msg = (const char *const *)f->feat[i].msg,
		    .nmsg = f->feat[i].nmsg,
		};
		sum->errors += f->feat[i].errors;
		sum->skipped += f->feat[i].skipped;
	}
	sum->nfeatures = n;
	sum->feature = fs;
}

int frame_end(struct frame *f)
{
	if (f->open)
		rec_end(f);
	double dur_ms = (double)(mono_ns() - f->start_mono) / 1e6;
	struct frame_info info = {
	    .sys = &f->sys,
	    .time_ns = f->time_ns,
	    .time = f->time_str,
	    .fmt = f->fmt,
	    .nfeatures = f->nfeat,
	    .features = f->names,
	};
	int r = sink_begin_frame(f->sink, &info);
	if (r == 0) {
		struct buf h = BUF_INIT;
		build_header(f, &h, dur_ms);
		size_t bytes = h.len;
		int w = sink_write(f->sink, h.data, h.len);
		buf_free(&h);
		if (w == 0 && f->spool_fd >= 0 && f->spool_len) {
			w = sink_write_fd(f->sink, f->spool_fd, f->spool_len);
			bytes += f->spool_len;
		}
		if (w == 0 && f->mem.len) {
			w = sink_write(f->sink, f->mem.data, f->mem.len);
			bytes += f->mem.len;
		}
		struct frame_summary sum;
		summarize(f, dur_ms, f->fsum, &sum);
		sum.bytes = w == 0 ? bytes : 0;
		sum.write_err = w;
		int e = sink_end_frame(f->sink, &sum);
		int fl = sink_flush(f->sink);
		r = w ? w : e ? e : fl;
	}
	frame_free(f);
	return r;
}
