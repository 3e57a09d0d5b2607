/*
 * vm_klog.c - the VMs' kernel logs into the store (see vm_klog.h).
 *
 * Per VM: where its log was read up to (the cursor, loaded from the store
 * once), whether the store keeps logs at all.  A poll reads from the
 * record before the cursor (the one last stored: its timestamp tells a
 * rebooted guest from the same boot), collects the new records as lines
 * into one buffer (offsets first: the buffer moves as it grows), and
 * stores lines and cursor in one call under the store's lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store.h"
#include "../util/buf.h"
#include "../util/log.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "../views/vm.h"
#include "../vmi/klog.h"
#include "target.h"
#include "vm_klog.h"

#define SOURCE "kmsg"
#define MAX_BYTES (8u << 20)          /* of lines per poll */
#define IDLE_NS (3600LL * 1000000000) /* a VM not polled for this long is forgotten */
#define MAX_TS_NS (100ull * 365 * 86400 * 1000000000ull) /* a plausible uptime */

struct kstate {
	char *id;
	uint64_t next_seq; /* the next record to store */
	uint64_t last_ts;  /* ts_nsec of the record before it */
	bool have_last;    /* last_ts is known */
	bool loaded;       /* the cursor was looked for in the store */
	bool failing;      /* in an episode of errors (logged once) */
	int fails;         /* reads failed in a row */
	int64_t boot_ms;   /* the guest's boot time as last taken, -1 unknown */
	int64_t polled;    /* mono ns */
};

struct vm_klog {
	struct kstate *v;
	int n, cap;
	bool off; /* the store keeps no logs */
};

struct vm_klog *vm_klog_new(void)
{
	return xcalloc(1, sizeof(struct vm_klog));
}

void vm_klog_free(struct vm_klog *k)
{
	if (!k)
		return;
	for (int i = 0; i < k->n; i++)
		free(k->v[i].id);
	free(k->v);
	free(k);
}

static struct kstate *state_of(struct vm_klog *k, const char *id)
{
	for (int i = 0; i < k->n; i++)
		if (!strcmp(k->v[i].id, id))
			return &k->v[i];
	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 8;
		k->v = xreallocarray(k->v, (size_t)k->cap, sizeof(*k->v));
	}
	struct kstate *s = &k->v[k->n++];
	memset(s, 0, sizeof(*s));
	s->id = xstrdup(id);
	s->boot_ms = -1;
	return s;
}

/* Forget the VMs not polled for IDLE_NS (gone, or no longer watched). */
static void prune(struct vm_klog *k, int64_t now)
{
	int j = 0;
	for (int i = 0; i < k->n; i++) {
		if (now - k->v[i].polled > IDLE_NS) {
			free(k->v[i].id);
			continue;
		}
		k->v[j++] = k->v[i];
	}
	k->n = j;
}

/* ---- the cursor ------------------------------------------------------------- */

struct find {
	const char *id;
	struct kstate *s;
};

static int find_cursor(void *ctx, const struct store_log_cursor *c)
{
	struct find *f = ctx;
	unsigned long long seq, ts;
	char extra;
	if (strcmp(c->system_id, f->id) != 0 || strcmp(c->source, SOURCE) != 0)
		return 0;
	if (sscanf(c->pos, "%llu %llu%c", &seq, &ts, &extra) == 2) {
		f->s->next_seq = seq;
		f->s->last_ts = ts;
		f->s->have_last = seq > 0;
	}
	return 1;
}

/* ---- escaping --------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t min, cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, min = 0x80, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, min = 0x800, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Append s escaped, at most max bytes of output, then a mark of what was
 * cut. */
static void escape(struct buf *b, const char *text, size_t n, size_t max)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t out = 0, i = 0;
	while (i < n) {
		size_t l = utf8_len(s + i, n - i);
		bool plain = l > 1 || (l == 1 && (s[i] >= 0x20 || s[i] == '\t') && s[i] != 0x7f);
		size_t need = plain ? l : 4;
		if (out + need > max)
			break;
		if (plain) {
			buf_add(b, s + i, l);
			i += l;
		} else {
			buf_printf(b, "\\x%02x", s[i]);
			i++;
		}
		out += need;
	}
	if (i < n)
		buf_printf(b, " [cut: %zu bytes more]", n - i);
}

/* ---- a poll ------------------------------------------------------------------- */

struct line {
	uint64_t seq, ts;
	int64_t time_ms;
	int level;
	size_t off, len;
};

enum { WHY_NONE, WHY_REBOOT, WHY_FULL };

struct collect {
	uint64_t check_seq; /* the record last stored, or UINT64_MAX */
	uint64_t check_ts;
	int64_t boot_ms; /* guest boot time (epoch ms), -1 unknown */
	int64_t now_ms;
	struct buf text;
	struct line *l;
	size_t n, cap;
	uint64_t last_ts; /* of the last record taken (or checked) */
	bool have_last;
	int why;
};

static int take(void *ctx, const struct klog_rec *r)
{
	struct collect *c = ctx;
	if (r->seq == c->check_seq) { /* the last one stored: same boot? */
		if (r->ts_nsec != c->check_ts) {
			c->why = WHY_REBOOT;
			return -ECANCELED;
		}
		c->last_ts = r->ts_nsec;
		c->have_last = true;
		return 0;
	}
	if (c->n >= VM_KLOG_MAX_RECS || c->text.len >= MAX_BYTES) {
		c->why = WHY_FULL;
		return -ECANCELED;
	}
	c->last_ts = r->ts_nsec;
	c->have_last = true;
	if (!r->len)
		return 0; /* an empty record: nothing to store */
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 256;
		c->l = xreallocarray(c->l, c->cap, sizeof(*c->l));
	}
	struct line *l = &c->l[c->n++];
	l->seq = r->seq;
	l->ts = r->ts_nsec;
	l->level = r->level >= 0 && r->level <= 7 ? r->level : -1;
	l->time_ms = c->boot_ms >= 0 && r->ts_nsec < MAX_TS_NS
	                 ? c->boot_ms + (int64_t)(r->ts_nsec / 1000000)
	                 : c->now_ms;
	l->off = c->text.len;
	escape(&c->text, r->text, r->len, VM_KLOG_MAX_LINE);
	l->len = c->text.len - l->off;
	return 0;
}

static void collect_reset(struct collect *c)
{
	buf_reset(&c->text);
	c->n = 0;
	c->have_last = false;
	c->why = WHY_NONE;
}

/* The guest's boot time in epoch ms, -1 unknown. */
static int64_t boot_ms(struct view *v, int64_t now_ms)
{
	struct vt_kernel k;
	if (view_kernel(v, &k) || !(k.have & VK_BOOT) || k.boot_time <= 0 ||
	    k.boot_time * 1000 > (double)now_ms + 86400000.0)
		return -1;
	return (int64_t)(k.boot_time * 1000);
}

/* Read the new records into c; *next the cursor after them. */
static int read_new(struct kstate *s, const struct vmi *m, struct collect *c, uint64_t *next,
                    char *err, size_t errlen)
{
	uint64_t from = s->next_seq;
	c->check_seq = UINT64_MAX;
	if (s->have_last && from > 0) { /* from the one last stored, to check it */
		c->check_seq = from - 1;
		c->check_ts = s->last_ts;
		from--;
	}
	for (int pass = 0; pass < 3; pass++) {
		collect_reset(c);
		int r = klog_read(m, from, take, c, next, err, errlen);
		if (r == -ECANCELED && c->why == WHY_REBOOT) {
			from = 0; /* a new boot: all of it */
			c->check_seq = UINT64_MAX;
			continue;
		}
		if (r == -ECANCELED && c->why == WHY_FULL)
			return 0; /* *next: the first record not taken */
		if (r < 0)
			return r;
		if (*next < from) { /* the log started over */
			from = *next;
			c->check_seq = UINT64_MAX;
			continue;
		}
		if (*next == from && c->check_seq != UINT64_MAX)
			*next = s->next_seq; /* nothing new, not even the checked one */
		return 0;
	}
	return 0;
}

int vm_klog_poll(struct vm_klog *k, struct store_share *sh, const char *system_id, struct view *v,
                 int pid)
{
	if (k->off)
		return 0;
	struct kstate *s = state_of(k, system_id);
	s->polled = mono_ns();
	int r = 0;
	if (!s->loaded) {
		struct find f = {.id = system_id, .s = s};
		pthread_mutex_lock(&sh->lock);
		r = sh->closed ? -ESHUTDOWN : store_log_cursors(sh->st, find_cursor, &f);
		pthread_mutex_unlock(&sh->lock);
		if (r == -ENOTSUP) {
			k->off = true;
			log_info("store %s keeps no logs: the VMs' kernel logs are not collected",
			         sh->path);
			return 0;
		}
		if (r < 0) {
			log_warn("store %s: cannot read the log cursors: %s", sh->path,
			         strerror(-r));
			return r;
		}
		s->loaded = true;
	}
	struct collect c = {.now_ms = now_ns() / 1000000};
	/* the guest's clock gives its boot time to the second: kept while it
	 * agrees within 2 s, so that the records' times do not jitter */
	int64_t b = boot_ms(v, c.now_ms);
	if (b < 0 || s->boot_ms < 0 || b - s->boot_ms > 2000 || s->boot_ms - b > 2000)
		s->boot_ms = b;
	c.boot_ms = s->boot_ms;
	char err[512] = "";
	uint64_t next = s->next_seq;
	r = read_new(s, view_vm_vmi(v), &c, &next, err, sizeof(err));
	if (r < 0) {
		/* A guest going away (QEMU exiting, unmapping its RAM: still alive,
		 * or a zombie) fails once, and discovery then marks it gone: said
		 * only when the next poll fails too (churn made one warning per
		 * vanished guest). */
		if (++s->fails < 2 || (pid > 0 && kill(pid, 0) < 0 && errno == ESRCH)) {
			log_debug(
			    "vm %s: cannot read its kernel log (once so far, or it is gone): %s",
			    system_id, err[0] ? err : strerror(-r));
			goto out;
		}
		if (!s->failing)
			log_warn("vm %s: cannot read its kernel log: %s", system_id,
			         err[0] ? err : strerror(-r));
		s->failing = true;
		goto out;
	}
	s->fails = 0;
	if (!c.n && next == s->next_seq) {
		s->failing = false;
		goto out; /* nothing new */
	}
	struct store_log *lines = c.n ? calloc(c.n, sizeof(*lines)) : NULL;
	if (c.n && !lines) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < c.n; i++)
		lines[i] = (struct store_log){.system_id = system_id,
		                              .source = SOURCE,
		                              .time_ms = c.l[i].time_ms,
		                              .level = c.l[i].level,
		                              .line = c.text.data + c.l[i].off,
		                              .len = c.l[i].len};
	char pos[64];
	uint64_t last_ts = c.have_last ? c.last_ts : s->last_ts;
	snprintf(pos, sizeof(pos), "%" PRIu64 " %" PRIu64, next, last_ts);
	struct store_log_cursor cur = {.system_id = system_id, .source = SOURCE, .pos = pos};
	pthread_mutex_lock(&sh->lock);
	r = sh->closed ? -ESHUTDOWN : store_put_logs(sh->st, lines, c.n, &cur, 1);
	pthread_mutex_unlock(&sh->lock);
	free(lines);
	if (r == -ENOTSUP) {
		k->off = true;
		log_info("store %s keeps no logs: the VMs' kernel logs are not collected",
		         sh->path);
		r = 0;
		goto out;
	}
	if (r < 0) {
		if (!s->failing)
			log_warn("store %s: cannot store the kernel log of vm %s: %s", sh->path,
			         system_id, strerror(-r));
		s->failing = true;
		goto out;
	}
	if (s->failing)
		log_info("vm %s: its kernel log is read and stored again", system_id);
	s->failing = false;
	s->next_seq = next;
	s->last_ts = last_ts;
	s->have_last = next > 0;
	r = (int)c.n;
out:
	buf_free(&c.text);
	free(c.l);
	return r;
}

void vm_klog_run(struct vm_klog **k, struct store_share *sh, const struct crawl_target *targets,
                 int n)
{
	bool any = false;
	for (int i = 0; i < n && !any; i++)
		any = targets[i].target && targets[i].target->kind == &kind_vm && targets[i].view &&
		      !targets[i].abandoned;
	if (!any)
		return;
	if (!*k)
		*k = vm_klog_new();
	for (int i = 0; i < n; i++) {
		const struct crawl_target *t = &targets[i];
		if (t->target && t->target->kind == &kind_vm && t->view && !t->abandoned)
			vm_klog_poll(*k, sh, t->sys.id, t->view, t->target->gen);
	}
	prune(*k, mono_ns());
}
