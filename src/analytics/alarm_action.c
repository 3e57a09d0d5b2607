/*
 * alarm_action.c - the actions of an alarm's state change (alarm_action.h):
 * the webhook (Alertmanager's webhook body, version "4"), the push to an
 * Alertmanager (POST URL/api/v2/alerts), the command (the notice as JSON
 * on its stdin) and the log line.
 *
 * alarm_actions_send() writes the log line, copies the notice and queues
 * one delivery per action; it never waits on the network.  One thread
 * delivers, earliest due first: a failed attempt (a connection error, a
 * timeout or a 5xx; a 4xx is final) is queued again after 1 s, 2 s, 4 s,
 * 8 s (5 attempts), so other deliveries go on meanwhile.  Each attempt is
 * reported to the outcome callback, on the delivery thread.
 *
 * Alertmanager: an alert is firing until its endsAt, so as Prometheus does
 * (rules/alerting.go) a firing alert is pushed with endsAt = now + 4 x
 * max(period, 60 s) and pushed again every 60 s while the alarm stays in
 * ALARM (only failed re-pushes are reported); leaving ALARM pushes it with
 * endsAt = the change's time, which resolves it.  Changes between OK and
 * INSUFFICIENT_DATA are not pushed (nothing fires in Alertmanager); the
 * webhook and the command get every change (status "resolved" unless the
 * new state is ALARM, the states in the annotations).
 *
 * Labels: alertname (the alarm), system, system_name, severity (when set)
 * and the series' labels (their names made valid Prometheus label names:
 * other characters become '_'; the fixed ones win a clash).  The
 * fingerprint is Alertmanager's own (FNV-1a 64 over the sorted names and
 * values, each followed by 0xff), so it matches what Alertmanager lists.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "../util/jload.h"
#include "../util/json.h"
#include "../util/log.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "alarm_action.h"

#define QUEUE_MAX 256   /* deliveries waiting */
#define FIRING_MAX 1024 /* alerts kept firing in Alertmanagers */
#define ATTEMPTS 5      /* per delivery */
#define CONNECT_TIMEOUT_MS 2000
#define TOTAL_TIMEOUT_MS 10000
#define COMMAND_TIMEOUT_MS 10000
#define RESEND_MS 60000 /* Prometheus' --rules.alert.resend-delay */
#define STOP_GRACE_NS 3000000000LL
#define MAX_LABELS 64
#define ZERO_TIME "0001-01-01T00:00:00Z"

/* ---- the notice, copied -------------------------------------------------------- */

struct copy {
	int refs;           /* under a->lock */
	struct alarm_def d; /* name, description, severity, period_ms, actions */
	struct alarm_notice n;
};

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static struct copy *copy_notice(const struct alarm_notice *n)
{
	struct copy *c = xcalloc(1, sizeof(*c));
	c->d.name = xstrdup(n->d->name ? n->d->name : "");
	c->d.description = dup_or_null(n->d->description);
	c->d.severity = dup_or_null(n->d->severity);
	c->d.period_ms = n->d->period_ms;
	c->d.webhook = dup_or_null(n->d->webhook);
	c->d.alertmanager = dup_or_null(n->d->alertmanager);
	c->d.command = dup_or_null(n->d->command);
	c->n = *n;
	c->n.d = &c->d;
	c->n.system_id = xstrdup(n->system_id ? n->system_id : "");
	c->n.system_name = xstrdup(n->system_name ? n->system_name : "");
	c->n.labels = dup_or_null(n->labels);
	c->n.reason = xstrdup(n->reason ? n->reason : "");
	c->n.data = dup_or_null(n->data);
	c->refs = 1;
	return c;
}

static void free_copy(struct copy *c)
{
	free(c->d.name);
	free(c->d.description);
	free(c->d.severity);
	free(c->d.webhook);
	free(c->d.alertmanager);
	free(c->d.command);
	free((char *)c->n.system_id);
	free((char *)c->n.system_name);
	free((char *)c->n.labels);
	free((char *)c->n.reason);
	free((char *)c->n.data);
	free(c);
}

/* ---- labels ---------------------------------------------------------------------- */

struct label {
	char *k, *v;
};

struct labels {
	struct label l[MAX_LABELS];
	int n;
};

static void labels_put(struct labels *ls, const char *k, const char *v, bool replace)
{
	for (int i = 0; i < ls->n; i++)
		if (strcmp(ls->l[i].k, k) == 0) {
			if (replace) {
				free(ls->l[i].v);
				ls->l[i].v = xstrdup(v);
			}
			return;
		}
	if (ls->n < MAX_LABELS) {
		ls->l[ls->n].k = xstrdup(k);
		ls->l[ls->n++].v = xstrdup(v);
	}
}

/* A valid Prometheus label name from any text: [a-zA-Z_][a-zA-Z0-9_]*. */
static char *label_name(const char *s)
{
	size_t n = strlen(s);
	char *o = xmalloc(n + 2), *p = o;
	if (*s >= '0' && *s <= '9')
		*p++ = '_';
	for (; *s; s++) {
		char c = *s;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '_';
		*p++ = ok ? c : '_';
	}
	*p = 0;
	return o;
}

static int cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->k, ((const struct label *)b)->k);
}

static void labels_of(const struct alarm_notice *n, struct labels *ls)
{
	ls->n = 0;
	labels_put(ls, "alertname", n->d->name ? n->d->name : "", true);
	labels_put(ls, "system", n->system_id ? n->system_id : "", true);
	labels_put(ls, "system_name", n->system_name ? n->system_name : "", true);
	if (n->d->severity && *n->d->severity)
		labels_put(ls, "severity", n->d->severity, true);
	json_t *o = n->labels ? jload_lenient(n->labels, strlen(n->labels), NULL) : NULL;
	if (json_is_object(o)) {
		const char *k;
		json_t *v;
		json_object_foreach(o, k, v)
		{
			char *name = label_name(k);
			char *text = json_is_string(v)
			                 ? xstrdup(json_string_value(v))
			                 : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
			if (*name && text)
				labels_put(ls, name, text, false);
			free(text);
			free(name);
		}
	}
	json_decref(o);
	qsort(ls->l, (size_t)ls->n, sizeof(ls->l[0]), cmp_label);
}

static void labels_free(struct labels *ls)
{
	for (int i = 0; i < ls->n; i++) {
		free(ls->l[i].k);
		free(ls->l[i].v);
	}
	ls->n = 0;
}

/* Alertmanager's fingerprint of a label set (prometheus/common model). */
static uint64_t fingerprint(const struct labels *ls)
{
	uint64_t h = 14695981039346656037ull;
	const unsigned char sep = 0xff;
	for (int i = 0; i < ls->n; i++) {
		h = fnv1a(h, ls->l[i].k, strlen(ls->l[i].k));
		h = fnv1a(h, &sep, 1);
		h = fnv1a(h, ls->l[i].v, strlen(ls->l[i].v));
		h = fnv1a(h, &sep, 1);
	}
	return h;
}

static void labels_json(struct json *j, const char *name, const struct labels *ls)
{
	jw_obj_begin(j, name);
	for (int i = 0; i < ls->n; i++)
		jw_str(j, ls->l[i].k, ls->l[i].v);
	jw_obj_end(j);
}

/* ---- the bodies -------------------------------------------------------------------- */

static const char *state_name(enum alarm_state s)
{
	return s == ALARM_STATE_ALARM ? "ALARM" : s == ALARM_STATE_OK ? "OK" : "INSUFFICIENT_DATA";
}

static void time_text(int64_t ms, char *dst, size_t cap)
{
	format_time_utc(ms * 1000000, dst, cap);
}

static void annotations_json(struct json *j, const char *name, const struct alarm_notice *n)
{
	char summary[512];
	snprintf(summary, sizeof(summary), "alarm %s is %s on %s (was %s)", n->d->name,
	         state_name(n->to),
	         n->system_name && *n->system_name ? n->system_name : n->system_id,
	         state_name(n->from));
	jw_obj_begin(j, name);
	jw_str(j, "description", n->reason ? n->reason : "");
	if (n->d->description && *n->d->description)
		jw_str(j, "alarm_description", n->d->description);
	jw_str(j, "previous_state", state_name(n->from));
	jw_str(j, "state", state_name(n->to));
	jw_str(j, "summary", summary);
	jw_obj_end(j);
}

/* "/api/v1/alarms/NAME": where the alarm is described (relative to the
 * Vantage API: the actions do not know the address clients use). */
static void generator_url(const struct alarm_notice *n, char *dst, size_t cap)
{
	size_t o = (size_t)snprintf(dst, cap, "/api/v1/alarms/");
	for (const unsigned char *s = (const unsigned char *)n->d->name; *s && o + 4 < cap; s++) {
		bool plain = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		             (*s >= '0' && *s <= '9') || strchr("-._~", *s);
		if (plain)
			dst[o++] = (char)*s;
		else
			o += (size_t)snprintf(dst + o, cap - o, "%%%02X", *s);
	}
	dst[o < cap ? o : cap - 1] = 0;
}

/* {alertname="X", system="Y"}: Alertmanager's LabelSet.String(). */
static void group_key(const struct alarm_notice *n, struct buf *out)
{
	buf_adds(out, "{}:{alertname=");
	jw_escape(out, n->d->name, strlen(n->d->name));
	buf_adds(out, ", system=");
	jw_escape(out, n->system_id ? n->system_id : "", n->system_id ? strlen(n->system_id) : 0);
	buf_adds(out, "}");
}

void alarm_webhook_body(const struct alarm_notice *n, struct buf *out)
{
	struct labels ls;
	labels_of(n, &ls);
	bool firing = n->to == ALARM_STATE_ALARM;
	const char *status = firing ? "firing" : "resolved";
	char starts[32], ends[32], gen[512], fp[17];
	time_text(n->since_ms ? n->since_ms : n->time_ms, starts, sizeof(starts));
	if (firing)
		snprintf(ends, sizeof(ends), "%s", ZERO_TIME);
	else
		time_text(n->time_ms, ends, sizeof(ends));
	generator_url(n, gen, sizeof(gen));
	snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)fingerprint(&ls));
	struct buf gk = BUF_INIT;
	group_key(n, &gk);

	struct json j;
	jw_init(&j, out);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "version", "4");
	jw_str(&j, "groupKey", buf_str(&gk));
	jw_int(&j, "truncatedAlerts", 0);
	jw_str(&j, "status", status);
	jw_str(&j, "receiver", "vantage");
	jw_obj_begin(&j, "groupLabels");
	jw_str(&j, "alertname", n->d->name);
	jw_str(&j, "system", n->system_id ? n->system_id : "");
	jw_obj_end(&j);
	labels_json(&j, "commonLabels", &ls);
	annotations_json(&j, "commonAnnotations", n); /* a group of one alert */
	jw_str(&j, "externalURL", "");
	jw_arr_begin(&j, "alerts");
	jw_obj_begin(&j, NULL);
	jw_str(&j, "status", status);
	labels_json(&j, "labels", &ls);
	annotations_json(&j, "annotations", n);
	jw_str(&j, "startsAt", starts);
	jw_str(&j, "endsAt", ends);
	jw_str(&j, "generatorURL", gen);
	jw_str(&j, "fingerprint", fp);
	jw_obj_end(&j);
	jw_arr_end(&j);
	jw_obj_end(&j);
	buf_free(&gk);
	labels_free(&ls);
}

/* How long a pushed firing alert lasts without a re-push: Prometheus'
 * 4 x max(evaluation interval, resend delay). */
static int64_t valid_for_ms(const struct alarm_notice *n)
{
	int64_t p = n->d->period_ms > RESEND_MS ? n->d->period_ms : RESEND_MS;
	return 4 * p;
}

void alarm_alertmanager_body(const struct alarm_notice *n, struct buf *out)
{
	struct labels ls;
	labels_of(n, &ls);
	char starts[32], ends[32], gen[512];
	time_text(n->since_ms ? n->since_ms : n->time_ms, starts, sizeof(starts));
	int64_t end = n->to == ALARM_STATE_ALARM ? n->time_ms + valid_for_ms(n) : n->time_ms;
	time_text(end, ends, sizeof(ends));
	generator_url(n, gen, sizeof(gen));
	struct json j;
	jw_init(&j, out);
	jw_arr_begin(&j, NULL);
	jw_obj_begin(&j, NULL);
	labels_json(&j, "labels", &ls);
	annotations_json(&j, "annotations", n);
	jw_str(&j, "startsAt", starts);
	jw_str(&j, "endsAt", ends);
	jw_str(&j, "generatorURL", gen);
	jw_obj_end(&j);
	jw_arr_end(&j);
	labels_free(&ls);
}

/* The command's stdin: the notice itself. */
static void command_body(const struct alarm_notice *n, struct buf *out)
{
	struct labels ls;
	labels_of(n, &ls);
	char t[32];
	struct json j;
	jw_init(&j, out);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "alarm", n->d->name);
	jw_str(&j, "system", n->system_id);
	jw_str(&j, "system_name", n->system_name);
	jw_str(&j, "from", state_name(n->from));
	jw_str(&j, "state", state_name(n->to));
	jw_str(&j, "reason", n->reason);
	time_text(n->time_ms, t, sizeof(t));
	jw_str(&j, "time", t);
	if (n->since_ms) {
		time_text(n->since_ms, t, sizeof(t));
		jw_str(&j, "since", t);
	}
	if (n->d->severity)
		jw_str(&j, "severity", n->d->severity);
	if (n->d->description)
		jw_str(&j, "description", n->d->description);
	labels_json(&j, "labels", &ls);
	if (n->data && *n->data)
		jw_raw(&j, "data", n->data, strlen(n->data));
	jw_obj_end(&j);
	buf_addc(out, '\n');
	labels_free(&ls);
}

/* ---- the queue ---------------------------------------------------------------------- */

enum kind { WEBHOOK, ALERTMANAGER, COMMAND };
static const char *const kind_name[] = {"webhook", "alertmanager", "command"};

struct job {
	struct copy *c;
	enum kind kind;
	int attempt;    /* attempts made */
	int64_t due_ns; /* mono_ns() */
	bool resend;    /* an Alertmanager re-push of a firing alert */
};

/* An alert firing in an Alertmanager, re-pushed every RESEND_MS. */
struct firing {
	struct copy *c;
	int64_t next_ns;
};

struct alarm_actions {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool stopping;
	int64_t stop_ns; /* mono_ns() of the stop */
	struct job q[QUEUE_MAX];
	int nq;
	struct firing f[FIRING_MAX];
	int nf;
	void (*outcome)(void *ctx, const struct alarm_outcome *o);
	void *ctx;
};

static void unref(struct alarm_actions *a, struct copy *c)
{
	pthread_mutex_lock(&a->lock);
	bool last = --c->refs == 0;
	pthread_mutex_unlock(&a->lock);
	if (last)
		free_copy(c);
}

static const char *target_of(const struct job *jb)
{
	const struct alarm_def *d = &jb->c->d;
	return jb->kind == WEBHOOK        ? d->webhook
	       : jb->kind == ALERTMANAGER ? d->alertmanager
	                                  : d->command;
}

static void report(struct alarm_actions *a, const struct job *jb, bool ok, bool final, long status,
                   const char *error)
{
	if (jb->resend && ok && jb->attempt == 1)
		return; /* a routine re-push: only failures are news */
	struct alarm_outcome o = {
	    .alarm = jb->c->d.name,
	    .system_id = jb->c->n.system_id,
	    .action = kind_name[jb->kind],
	    .target = target_of(jb),
	    .attempt = jb->attempt,
	    .ok = ok,
	    .final = final,
	    .status = status,
	    .error = error,
	    .time_ms = now_ns() / 1000000,
	};
	if (!ok)
		log_warn("alarm %s (%s): %s %s attempt %d failed%s: %s", o.alarm, o.system_id,
		         o.action, o.target, o.attempt, final ? " (giving up)" : "",
		         error ? error : "?");
	if (a->outcome)
		a->outcome(a->ctx, &o);
}

/* Queue a job; the lock is held.  When full, the oldest waiting one is
 * dropped (returned in *dropped for the caller to report, unlocked). */
static void enqueue(struct alarm_actions *a, const struct job *jb, struct job *dropped,
                    bool *was_dropped)
{
	*was_dropped = false;
	if (a->nq == QUEUE_MAX) {
		int oldest = 0;
		for (int i = 1; i < a->nq; i++)
			if (a->q[i].due_ns < a->q[oldest].due_ns)
				oldest = i;
		*dropped = a->q[oldest];
		*was_dropped = true;
		a->q[oldest] = a->q[--a->nq];
	}
	a->q[a->nq++] = *jb;
	pthread_cond_signal(&a->cond);
}

static void queue_job(struct alarm_actions *a, struct job *jb)
{
	struct job dropped;
	bool was;
	pthread_mutex_lock(&a->lock);
	enqueue(a, jb, &dropped, &was);
	pthread_mutex_unlock(&a->lock);
	if (was) {
		report(a, &dropped, false, true, 0, "dropped: the delivery queue is full");
		unref(a, dropped.c);
	}
}

/* Keep (or forget) a firing alert for the re-pushes; lock held. */
static void track_firing(struct alarm_actions *a, struct copy *c)
{
	for (int i = 0; i < a->nf; i++) {
		struct firing *f = &a->f[i];
		if (strcmp(f->c->d.name, c->d.name) == 0 &&
		    strcmp(f->c->n.system_id, c->n.system_id) == 0 &&
		    strcmp(f->c->d.alertmanager, c->d.alertmanager) == 0) {
			if (--f->c->refs == 0)
				free_copy(f->c);
			a->f[i] = a->f[--a->nf];
			break;
		}
	}
	if (c->n.to == ALARM_STATE_ALARM && a->nf < FIRING_MAX) {
		c->refs++;
		a->f[a->nf].c = c;
		a->f[a->nf++].next_ns = mono_ns() + (int64_t)RESEND_MS * 1000000;
	}
}

void alarm_actions_send(struct alarm_actions *a, const struct alarm_notice *n)
{
	log_info("alarm %s: %s -> %s on %s (%s): %s", n->d->name, state_name(n->from),
	         state_name(n->to), n->system_name ? n->system_name : "?",
	         n->system_id ? n->system_id : "?", n->reason ? n->reason : "");
	if (!a)
		return;
	bool am = n->d->alertmanager && *n->d->alertmanager &&
	          (n->to == ALARM_STATE_ALARM || n->from == ALARM_STATE_ALARM);
	bool hook = n->d->webhook && *n->d->webhook;
	bool cmd = n->d->command && *n->d->command;
	if (!am && !hook && !cmd)
		return;
	struct copy *c = copy_notice(n);
	int64_t now = mono_ns();
	enum kind kinds[3];
	int nk = 0;
	if (hook)
		kinds[nk++] = WEBHOOK;
	if (am)
		kinds[nk++] = ALERTMANAGER;
	if (cmd)
		kinds[nk++] = COMMAND;
	pthread_mutex_lock(&a->lock);
	c->refs = nk;
	if (am)
		track_firing(a, c);
	pthread_mutex_unlock(&a->lock);
	for (int i = 0; i < nk; i++) {
		struct job jb = {.c = c, .kind = kinds[i], .due_ns = now};
		queue_job(a, &jb);
	}
}

/* ---- delivery: HTTP ---------------------------------------------------------------- */

struct http_ctx {
	struct alarm_actions *a;
	char reply[256]; /* the start of the answer, for the error text */
	size_t nreply;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct http_ctx *h = arg;
	size_t len = size * n, room = sizeof(h->reply) - 1 - h->nreply;
	size_t take = len < room ? len : room;
	memcpy(h->reply + h->nreply, p, take);
	h->nreply += take;
	h->reply[h->nreply] = 0;
	return len;
}

static bool past_grace(struct alarm_actions *a)
{
	pthread_mutex_lock(&a->lock);
	bool past = a->stopping && mono_ns() - a->stop_ns > STOP_GRACE_NS;
	pthread_mutex_unlock(&a->lock);
	return past;
}

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct http_ctx *h = arg;
	return past_grace(h->a) ? 1 : 0;
}

/* One POST; *status the HTTP status (0: none), err the failure.  0: 2xx;
 * -EAGAIN: worth retrying; -EINVAL: not. */
static int http_post(struct alarm_actions *a, const char *url, const struct buf *body, long *status,
                     char *err, size_t errlen)
{
	*status = 0;
	CURL *cu = curl_easy_init();
	if (!cu) {
		snprintf(err, errlen, "cannot start libcurl");
		return -EAGAIN;
	}
	struct http_ctx h = {.a = a};
	char cerr[CURL_ERROR_SIZE] = "";
	struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
	hd = curl_slist_append(hd, "Expect:");
	curl_easy_setopt(cu, CURLOPT_URL, url);
	curl_easy_setopt(cu, CURLOPT_POST, 1L);
	curl_easy_setopt(cu, CURLOPT_POSTFIELDS, buf_str(body));
	curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body->len);
	curl_easy_setopt(cu, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(cu, CURLOPT_USERAGENT, "vantage-alarms");
	curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	curl_easy_setopt(cu, CURLOPT_TIMEOUT_MS, (long)TOTAL_TIMEOUT_MS);
	curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cu, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(cu, CURLOPT_WRITEDATA, &h);
	curl_easy_setopt(cu, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(cu, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(cu, CURLOPT_XFERINFODATA, &h);
	curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
	CURLcode rc = curl_easy_perform(cu);
	int ret;
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s", *cerr ? cerr : curl_easy_strerror(rc));
		ret = rc == CURLE_ABORTED_BY_CALLBACK || rc == CURLE_UNSUPPORTED_PROTOCOL ||
		              rc == CURLE_URL_MALFORMAT
		          ? -EINVAL
		          : -EAGAIN;
	} else {
		curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, status);
		for (size_t i = 0; i < h.nreply; i++) /* one line for the log */
			if ((unsigned char)h.reply[i] < ' ')
				h.reply[i] = ' ';
		if (*status >= 200 && *status < 300) {
			ret = 0;
		} else {
			snprintf(err, errlen, "HTTP %ld%s%s", *status, h.nreply ? ": " : "",
			         h.reply);
			ret = *status >= 500 ? -EAGAIN : -EINVAL;
		}
	}
	curl_slist_free_all(hd);
	curl_easy_cleanup(cu);
	return ret;
}

/* URL/api/v2/alerts (unless the URL already ends so). */
static void alerts_url(const char *base, struct buf *out)
{
	size_t n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	buf_add(out, base, n);
	const char *tail = "/api/v2/alerts";
	if (n < strlen(tail) || strcmp(buf_str(out) + n - strlen(tail), tail) != 0)
		buf_adds(out, tail);
}

/* ---- delivery: the command -------------------------------------------------------- */

/* Log the complete lines of `b` (the command's output) and keep the rest. */
static void log_lines(const struct job *jb, struct buf *b, bool all)
{
	char *s = b->data;
	size_t used = 0;
	while (s && used < b->len) {
		char *nl = memchr(s + used, '\n', b->len - used);
		if (!nl && !all)
			break;
		size_t n = nl ? (size_t)(nl - (s + used)) : b->len - used;
		log_info("alarm %s: command: %.*s", jb->c->d.name, (int)n, s + used);
		used += n + (nl ? 1 : 0);
	}
	if (used) {
		memmove(b->data, b->data + used, b->len - used);
		b->len -= used;
		b->data[b->len] = 0;
	}
}

static int run_command(struct alarm_actions *a, const struct job *jb, long *status, char *err,
                       size_t errlen)
{
	*status = 0;
	struct buf in = BUF_INIT, out = BUF_INIT;
	command_body(&jb->c->n, &in);
	int pin[2], pout[2];
	if (pipe2(pin, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		buf_free(&in);
		return -EAGAIN;
	}
	if (pipe2(pout, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		close(pin[0]);
		close(pin[1]);
		buf_free(&in);
		return -EAGAIN;
	}
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0); /* its own group: a timeout kills what it started too */
		dup2(pin[0], 0);
		dup2(pout[1], 1);
		dup2(pout[1], 2);
		signal(SIGPIPE, SIG_DFL);
		execl("/bin/sh", "sh", "-c", jb->c->d.command, (char *)NULL);
		_exit(127);
	}
	close(pin[0]);
	close(pout[1]);
	if (pid < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(pin[1]);
		close(pout[0]);
		buf_free(&in);
		return -EAGAIN;
	}
	fcntl(pin[1], F_SETFL, O_NONBLOCK);
	size_t sent = 0;
	int64_t deadline = mono_ns() + (int64_t)COMMAND_TIMEOUT_MS * 1000000;
	bool killed = false;
	int wfd = pin[1], rfd = pout[0];
	while (rfd >= 0) {
		struct pollfd p[2] = {{.fd = rfd, .events = POLLIN},
		                      {.fd = wfd, .events = POLLOUT}};
		int64_t left = (deadline - mono_ns()) / 1000000;
		if (left <= 0 || past_grace(a)) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			killed = true;
			break;
		}
		int nfds = wfd >= 0 ? 2 : 1;
		if (poll(p, (nfds_t)nfds, (int)(left < 100 ? left : 100)) < 0 && errno != EINTR)
			break;
		if (wfd >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
			ssize_t w = write(wfd, in.data + sent, in.len - sent);
			if (w > 0)
				sent += (size_t)w;
			if (w < 0 && errno != EAGAIN && errno != EINTR)
				sent = in.len; /* it does not read its stdin */
			if (sent == in.len) {
				close(wfd);
				wfd = -1;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			char chunk[4096];
			ssize_t r = read(rfd, chunk, sizeof(chunk));
			if (r > 0) {
				if (out.len < 65536)
					buf_add(&out, chunk, (size_t)r);
				log_lines(jb, &out, false);
			} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				close(rfd);
				rfd = -1;
			}
		}
	}
	log_lines(jb, &out, true);
	if (wfd >= 0)
		close(wfd);
	if (rfd >= 0)
		close(rfd);
	buf_free(&in);
	buf_free(&out);
	int st = 0;
	/* its output is closed: it has exited or is about to (or was killed) */
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (killed) {
		snprintf(err, errlen, "killed after %d s (SIGKILL)", COMMAND_TIMEOUT_MS / 1000);
		*status = -SIGKILL;
		return -EINVAL;
	}
	if (WIFEXITED(st)) {
		*status = WEXITSTATUS(st);
		if (*status == 0)
			return 0;
		snprintf(err, errlen, "exit status %ld", *status);
		return -EINVAL;
	}
	*status = WIFSIGNALED(st) ? -WTERMSIG(st) : -1;
	snprintf(err, errlen, "killed by signal %d", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	return -EINVAL;
}

/* ---- the delivery thread ------------------------------------------------------------- */

static void deliver(struct alarm_actions *a, struct job *jb)
{
	jb->attempt++;
	char err[512] = "";
	long status = 0;
	int rc;
	if (jb->kind == COMMAND) {
		rc = run_command(a, jb, &status, err, sizeof(err));
	} else {
		struct buf body = BUF_INIT, url = BUF_INIT;
		if (jb->kind == WEBHOOK) {
			alarm_webhook_body(&jb->c->n, &body);
			buf_adds(&url, jb->c->d.webhook);
		} else {
			struct alarm_notice n = jb->c->n;
			if (jb->resend) /* a fresh endsAt */
				n.time_ms = now_ns() / 1000000;
			alarm_alertmanager_body(&n, &body);
			alerts_url(jb->c->d.alertmanager, &url);
		}
		rc = http_post(a, buf_str(&url), &body, &status, err, sizeof(err));
		buf_free(&body);
		buf_free(&url);
	}
	bool stopping;
	pthread_mutex_lock(&a->lock);
	stopping = a->stopping;
	pthread_mutex_unlock(&a->lock);
	bool retry = rc == -EAGAIN && jb->attempt < ATTEMPTS && !stopping;
	report(a, jb, rc == 0, !retry, status, rc == 0 ? NULL : err);
	if (retry) {
		jb->due_ns = mono_ns() + (1000000000LL << (jb->attempt - 1)); /* 1, 2, 4, 8 s */
		queue_job(a, jb);
	} else {
		unref(a, jb->c);
	}
}

/* Queue the re-pushes that are due; the lock is held. */
static void resends_due(struct alarm_actions *a, int64_t now)
{
	for (int i = 0; i < a->nf; i++) {
		struct firing *f = &a->f[i];
		if (f->next_ns > now || a->nq == QUEUE_MAX)
			continue;
		f->next_ns = now + (int64_t)RESEND_MS * 1000000;
		f->c->refs++;
		a->q[a->nq++] =
		    (struct job){.c = f->c, .kind = ALERTMANAGER, .due_ns = now, .resend = true};
	}
}

static void *run(void *arg)
{
	struct alarm_actions *a = arg;
	pthread_mutex_lock(&a->lock);
	for (;;) {
		int64_t now = mono_ns();
		if (!a->stopping)
			resends_due(a, now);
		int best = -1;
		for (int i = 0; i < a->nq; i++)
			if (best < 0 || a->q[i].due_ns < a->q[best].due_ns)
				best = i;
		if (a->stopping &&
		    (best < 0 || a->q[best].due_ns > now || now - a->stop_ns > STOP_GRACE_NS))
			break;
		if (best >= 0 && a->q[best].due_ns <= now) {
			struct job jb = a->q[best];
			a->q[best] = a->q[--a->nq];
			pthread_mutex_unlock(&a->lock);
			deliver(a, &jb);
			pthread_mutex_lock(&a->lock);
			continue;
		}
		int64_t wake = now + 1000000000LL; /* at least once a second: the re-pushes */
		if (best >= 0 && a->q[best].due_ns < wake)
			wake = a->q[best].due_ns;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		int64_t abs_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + (wake - now);
		ts.tv_sec = abs_ns / 1000000000;
		ts.tv_nsec = abs_ns % 1000000000;
		pthread_cond_timedwait(&a->cond, &a->lock, &ts);
	}
	/* what is left will not be delivered */
	while (a->nq) {
		struct job jb = a->q[--a->nq];
		pthread_mutex_unlock(&a->lock);
		report(a, &jb, false, true, 0, "not delivered: the server is stopping");
		unref(a, jb.c);
		pthread_mutex_lock(&a->lock);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

int alarm_actions_start(struct alarm_actions **out,
                        void (*outcome)(void *ctx, const struct alarm_outcome *o), void *ctx)
{
	*out = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("alarm actions: cannot initialise libcurl");
		return -ENOMEM;
	}
	struct alarm_actions *a = xcalloc(1, sizeof(*a));
	a->outcome = outcome;
	a->ctx = ctx;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	int rc = pthread_mutex_init(&a->lock, NULL);
	if (rc == 0)
		rc = pthread_cond_init(&a->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (rc == 0)
		rc = pthread_create(&a->thread, NULL, run, a);
	if (rc != 0) {
		log_error("alarm actions: cannot start the delivery thread: %s", strerror(rc));
		free(a);
		curl_global_cleanup();
		return -rc;
	}
	*out = a;
	return 0;
}

void alarm_actions_stop(struct alarm_actions *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	a->stop_ns = mono_ns();
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->thread, NULL);
	for (int i = 0; i < a->nf; i++)
		if (--a->f[i].c->refs == 0)
			free_copy(a->f[i].c);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
	curl_global_cleanup();
}
