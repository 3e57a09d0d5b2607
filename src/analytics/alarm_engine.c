/*
 * alarm_engine.c - the daemon's alarms (alarm_engine.h): definitions, one
 * state per (alarm, system, series labels), evaluation when a period
 * closes, actions, history, silences and acknowledgements.
 *
 * Threads: the engine's own thread evaluates; the API's threads and the
 * daemon call the functions below.  One mutex (lock) guards everything,
 * the store handle included (the engine's own, read-write): the API's
 * writes (put, delete, silence) go through it too.  Action outcomes come
 * from the actions' thread through a queue of their own (olock), which
 * the engine's thread writes to the history: an outcome may be reported
 * while alarm_actions_send() runs under lock.
 *
 * When: each alarm's period ends at multiples of its period_ms.  A
 * period ending at T is evaluated at the first alarm_engine_notify() at
 * or after T (the daemon's tick stored data up to then) or, when no tick
 * comes, at T + GRACE_MS by the thread's timer.
 *
 * Store objects (what `vantage alarms` and `vantage api` read):
 *   alarm         NAME: {"source":"api"|"file","definition":{...}}
 *   alarm_state   ALARM/SYSTEM/LABELS: {"alarm","system","system_name",
 *                 "labels","state","since","reason","gone","warming",
 *                 "baseline"} written on every change of state or gone
 *   alarm_silence ALARM/SYSTEM/KIND (SYSTEM "*": all): {"alarm","system",
 *                 "kind":"silence"|"ack","until","comment"}
 * Events (kind "alarm", subject the alarm): "config" (created, updated,
 * deleted, silenced, acknowledged), "state" (summary: the reason; data:
 * from, to and the evaluated points), "action" (one per delivery attempt).
 */
#include "alarm_engine.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../engine/gone.h"
#include "../util/json.h"
#include "../util/log.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "alarm_action.h"
#include "alarm_run.h"
#include "alarm_window.h"

#define GRACE_MS 1000
/* how long the reason of a system gone is read again: the lane looks for
 * its exit code GONE_PENDING_S */
#define GONE_RECHECK_MS ((GONE_PENDING_S + 30) * 1000LL)
#define MAX_WAIT_MS 500
#define INITIAL_REASON "Unchecked: Initial alarm creation"

struct eng_alarm {
	struct alarm_def d;
	bool file;        /* from the config file */
	int64_t last_end; /* the last period end evaluated */
	uint64_t cycle;   /* the cycle it was last evaluated in */
};

struct eng_state {
	char *alarm, *system, *system_name, *labels, *key;
	struct eng_alarm *a; /* NULL: its alarm is not (yet) defined */
	enum alarm_state st;
	int64_t since_ms, alarm_since_ms, baseline_ms;
	int64_t checked_ms; /* drift: the latest non-metric frame compared (0: none) */
	int64_t gone_ms;    /* when the engine saw it gone (0: not since it started) */
	bool gone, warming, evaluated;
	bool listed; /* in the store (alarm_state): `vantage alarms` shows it */
	uint64_t seen;
	char reason[1024];
};

struct mute {
	char *alarm, *system; /* system NULL: every system */
	bool ack;
	int64_t until_ms;
};

struct outcome {
	char *alarm, *system, *action, *target, *error;
	int attempt;
	bool ok, final;
	long status;
	int64_t time_ms;
};

struct alarm_engine {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	pthread_t th;
	bool started, stop;
	struct store *st;
	struct alarm_window *win; /* recent points of the metric alarms */
	struct alarm_actions *act;
	int64_t notified_ms;
	uint64_t cycle;

	struct eng_alarm **alarms;
	size_t nalarms, calarms;
	struct eng_state **states;
	size_t nstates, cstates;
	struct eng_state **tab; /* open addressing over states, by key */
	size_t tcap;
	struct mute *mutes;
	size_t nmutes, cmutes;

	pthread_mutex_t olock;
	struct outcome *out;
	size_t nout, cout;
};

static int64_t wall_ms(void)
{
	return now_ns() / 1000000;
}

static void iso(int64_t ms, char *dst, size_t cap)
{
	format_time_utc(ms * 1000000, dst, cap);
}

/* ---- the state table ------------------------------------------------------------ */

static char *state_key(const char *alarm, const char *system, const char *labels)
{
	size_t n = strlen(alarm) + strlen(system) + strlen(labels) + 3;
	char *k = xmalloc(n);
	snprintf(k, n, "%s/%s/%s", alarm, system, labels);
	return k;
}

static size_t key_hash(const char *k)
{
	return (size_t)fnv1a(0xcbf29ce484222325ULL, k, strlen(k));
}

static void tab_insert(struct alarm_engine *e, struct eng_state *s)
{
	size_t m = e->tcap - 1, i = key_hash(s->key) & m;
	while (e->tab[i])
		i = (i + 1) & m;
	e->tab[i] = s;
}

static void tab_rebuild(struct alarm_engine *e)
{
	size_t cap = 64;
	while (cap < e->nstates * 2 + 2)
		cap *= 2;
	free(e->tab);
	e->tab = xcalloc(cap, sizeof(struct eng_state *));
	e->tcap = cap;
	for (size_t i = 0; i < e->nstates; i++)
		tab_insert(e, e->states[i]);
}

static struct eng_state *state_find(struct alarm_engine *e, const char *alarm, const char *system,
                                    const char *labels)
{
	if (!e->tcap)
		return NULL;
	size_t la = strlen(alarm), ls = strlen(system);
	/* hash without building the key */
	uint64_t h = fnv1a(0xcbf29ce484222325ULL, alarm, la);
	h = fnv1a(h, "/", 1);
	h = fnv1a(h, system, ls);
	h = fnv1a(h, "/", 1);
	h = fnv1a(h, labels, strlen(labels));
	size_t m = e->tcap - 1, i = (size_t)h & m;
	for (; e->tab[i]; i = (i + 1) & m) {
		const char *k = e->tab[i]->key;
		if (strncmp(k, alarm, la) == 0 && k[la] == '/' &&
		    strncmp(k + la + 1, system, ls) == 0 && k[la + 1 + ls] == '/' &&
		    strcmp(k + la + ls + 2, labels) == 0)
			return e->tab[i];
	}
	return NULL;
}

static struct eng_alarm *alarm_find(struct alarm_engine *e, const char *name)
{
	for (size_t i = 0; i < e->nalarms; i++)
		if (strcmp(e->alarms[i]->d.name, name) == 0)
			return e->alarms[i];
	return NULL;
}

static struct eng_state *state_add(struct alarm_engine *e, const char *alarm, const char *system,
                                   const char *system_name, const char *labels)
{
	struct eng_state *s = xcalloc(1, sizeof(*s));
	s->alarm = xstrdup(alarm);
	s->system = xstrdup(system);
	s->system_name = xstrdup(system_name ? system_name : system);
	s->labels = xstrdup(labels);
	s->key = state_key(alarm, system, labels);
	s->st = ALARM_STATE_INSUFFICIENT;
	snprintf(s->reason, sizeof(s->reason), "%s", INITIAL_REASON);
	s->a = alarm_find(e, alarm);
	if (grow_array((void **)&e->states, &e->cstates, e->nstates + 1,
	               sizeof(struct eng_state *)) < 0)
		xalloc_die(sizeof(struct eng_state *));
	e->states[e->nstates++] = s;
	if (e->nstates * 2 >= e->tcap)
		tab_rebuild(e);
	else
		tab_insert(e, s);
	return s;
}

static void state_free(struct eng_state *s)
{
	free(s->alarm);
	free(s->system);
	free(s->system_name);
	free(s->labels);
	free(s->key);
	free(s);
}

/* ---- the store mirror and history ------------------------------------------------ */

static void mirror_state(struct alarm_engine *e, struct eng_state *s, int64_t now)
{
	s->listed = true;
	struct buf b = BUF_INIT;
	struct json j;
	char t[40];
	jw_init(&j, &b);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "alarm", s->alarm);
	jw_str(&j, "system", s->system);
	jw_str(&j, "system_name", s->system_name);
	jw_raw(&j, "labels", s->labels, strlen(s->labels));
	jw_str(&j, "state", alarm_state_name(s->st));
	iso(s->since_ms, t, sizeof(t));
	jw_str(&j, "since", t);
	jw_int(&j, "since_ms", s->since_ms);
	jw_str(&j, "reason", s->reason);
	jw_bool(&j, "gone", s->gone);
	jw_bool(&j, "warming", s->warming);
	jw_int(&j, "baseline_ms", s->baseline_ms);
	jw_int(&j, "alarm_since_ms", s->alarm_since_ms);
	jw_obj_end(&j);
	int r = store_object_put(e->st, "alarm_state", s->key, buf_str(&b), now);
	if (r < 0)
		log_warn("alarms: cannot keep the state of %s: %s", s->key, strerror(-r));
	buf_free(&b);
}

static void event(struct alarm_engine *e, int64_t t, const char *alarm, const char *system,
                  const char *type, const char *summary, const char *data)
{
	struct store_event ev = {.time_ms = t,
	                         .kind = "alarm",
	                         .subject = alarm,
	                         .system = system,
	                         .type = type,
	                         .summary = summary,
	                         .data = data};
	int64_t id;
	int r = store_event_put(e->st, &ev, &id);
	if (r < 0)
		log_warn("alarms: cannot write the history of %s: %s", alarm, strerror(-r));
}

/* The definition as member "definition" of j. */
static void def_member(struct json *j, const struct alarm_def *d)
{
	struct buf b = BUF_INIT;
	struct json dj;
	jw_init(&dj, &b);
	alarm_def_json(d, &dj);
	jw_raw(j, "definition", buf_str(&b), b.len);
	buf_free(&b);
}

static void config_event(struct alarm_engine *e, const struct alarm_def *d, const char *what,
                         const char *source)
{
	struct buf b = BUF_INIT, sum = BUF_INIT;
	struct json j;
	jw_init(&j, &b);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "source", source);
	jw_str(&j, "change", what);
	if (d)
		def_member(&j, d);
	jw_obj_end(&j);
	buf_printf(&sum, "%s (%s)", what, source);
	event(e, wall_ms(), d ? d->name : "", NULL, "config", buf_str(&sum), buf_str(&b));
	buf_free(&b);
	buf_free(&sum);
}

static void mirror_def(struct alarm_engine *e, const struct eng_alarm *a)
{
	struct buf b = BUF_INIT;
	struct json j;
	jw_init(&j, &b);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "source", a->file ? "file" : "api");
	def_member(&j, &a->d);
	jw_obj_end(&j);
	int r = store_object_put(e->st, "alarm", a->d.name, buf_str(&b), wall_ms());
	if (r < 0)
		log_warn("alarms: cannot keep alarm %s: %s", a->d.name, strerror(-r));
	buf_free(&b);
}

/* ---- silences and acknowledgements ------------------------------------------------- */

static bool muted(struct alarm_engine *e, const struct eng_state *s, int64_t now)
{
	for (size_t i = 0; i < e->nmutes; i++) {
		const struct mute *m = &e->mutes[i];
		if (m->until_ms <= now || strcmp(m->alarm, s->alarm) != 0)
			continue;
		if (m->system && strcmp(m->system, s->system) != 0 &&
		    strcmp(m->system, s->system_name) != 0)
			continue;
		return true;
	}
	return false;
}

/* Which mutes a removal takes. */
struct mute_pick {
	const char *alarm;           /* NULL: any */
	const struct eng_state *ack; /* the acks of this state */
	int64_t expired_at;          /* > 0: those ending before */
	bool forget_only;            /* leave the store alone (replaced) */
	const char *system;          /* with forget_only: this system ("*": all) */
	bool is_ack;
};

static bool mute_picked(const struct mute *m, const struct mute_pick *p)
{
	if (p->expired_at > 0)
		return m->until_ms <= p->expired_at;
	if (p->ack)
		return m->ack && strcmp(m->alarm, p->ack->alarm) == 0 &&
		       (!m->system || strcmp(m->system, p->ack->system) == 0 ||
		        strcmp(m->system, p->ack->system_name) == 0);
	if (p->forget_only)
		return m->ack == p->is_ack && strcmp(m->alarm, p->alarm) == 0 &&
		       strcmp(m->system ? m->system : "*", p->system) == 0;
	return strcmp(m->alarm, p->alarm) == 0;
}

/* Remove the mutes p picks (from the store too, unless forget_only),
 * keeping the others in order. */
static void mutes_remove(struct alarm_engine *e, const struct mute_pick *p)
{
	size_t k = 0;
	for (size_t i = 0; i < e->nmutes; i++) {
		struct mute m = e->mutes[i];
		if (!mute_picked(&m, p)) {
			e->mutes[k++] = m;
			continue;
		}
		if (!p->forget_only) {
			char name[ALARM_NAME_MAX + 300];
			snprintf(name, sizeof(name), "%s/%s/%s", m.alarm, m.system ? m.system : "*",
			         m.ack ? "ack" : "silence");
			store_object_delete(e->st, "alarm_silence", name);
		}
		free(m.alarm);
		free(m.system);
	}
	e->nmutes = k;
}

/* An acknowledgement of a metric alarm ends when its state leaves ALARM. */
static void acks_end(struct alarm_engine *e, const struct eng_state *s)
{
	struct mute_pick p = {.ack = s};
	mutes_remove(e, &p);
}

static void mutes_expire(struct alarm_engine *e, int64_t now)
{
	struct mute_pick p = {.expired_at = now};
	mutes_remove(e, &p);
}

/* ---- evaluation --------------------------------------------------------------------- */

struct eval_ctx {
	struct alarm_engine *e;
	struct eng_alarm *a;
	int64_t end;
	/* the state the last lookup found (NULL: none), for the item that follows */
	const char *last_system, *last_labels;
	struct eng_state *last;
};

static struct eng_state *lookup(struct eval_ctx *c, const char *system, const char *labels)
{
	if (c->last_system && strcmp(c->last_system, system) == 0 &&
	    strcmp(c->last_labels, labels) == 0)
		return c->last;
	c->last = state_find(c->e, c->a->d.name, system, labels);
	c->last_system = c->last ? c->last->system : NULL;
	c->last_labels = c->last ? c->last->labels : NULL;
	return c->last;
}

static enum alarm_state cur_state(void *ctx, const char *system, const char *labels)
{
	struct eng_state *s = lookup(ctx, system, labels);
	return s ? s->st : ALARM_STATE_INSUFFICIENT;
}

static void prev_state(void *ctx, const char *system, const char *labels, struct alarm_prev *out)
{
	struct eng_state *s = lookup(ctx, system, labels);
	out->st = s ? s->st : ALARM_STATE_INSUFFICIENT;
	out->gone = s && s->gone;
	out->warming = s && s->warming;
	/* the reason of a system gone lately may still gain detail */
	out->gone_recheck = out->gone && s->gone_ms > 0 &&
	                    ((struct eval_ctx *)ctx)->end - s->gone_ms <= GONE_RECHECK_MS;
}

static int64_t cur_baseline(void *ctx, const char *system, int64_t *checked_ms)
{
	struct eval_ctx *c = ctx;
	struct eng_state *s = state_find(c->e, c->a->d.name, system, "{}");
	*checked_ms = s ? s->checked_ms : 0;
	return s ? s->baseline_ms : 0;
}

/* Apply one outcome of an evaluation to state s. */
static void apply(struct alarm_engine *e, struct eng_alarm *a, struct eng_state *s,
                  const struct alarm_run_item *it, int64_t end)
{
	const struct alarm_def *d = &a->d;
	s->seen = e->cycle;
	if (it->frame_ms > s->checked_ms)
		s->checked_ms = it->frame_ms;
	/* armed at the time of the system's latest frame holding the rule's
	 * features (not yet while none holds them: INSUFFICIENT_DATA) */
	if (d->type == ALARM_DRIFT && s->baseline_ms == 0 && it->baseline_ms > 0 && !it->gone) {
		s->baseline_ms = it->baseline_ms;
		s->evaluated = true;
		s->st = ALARM_STATE_OK;
		s->since_ms = end;
		snprintf(s->reason, sizeof(s->reason), "%s", it->r.reason);
		mirror_state(e, s, end);
		return;
	}
	if (it->gone) {
		if (!s->gone) {
			s->gone = true;
			s->gone_ms = end;
			snprintf(s->reason, sizeof(s->reason), "%s", it->r.reason);
			event(e, end, d->name, s->system, "state", s->reason, it->r.data);
			mirror_state(e, s, end);
		} else if (it->r.reason[0] && strcmp(s->reason, it->r.reason) != 0) {
			/* the reason gained detail (the lane stores the exit code, the
			 * OOM kill, after it marked the system gone): in the history too */
			snprintf(s->reason, sizeof(s->reason), "%s", it->r.reason);
			event(e, end, d->name, s->system, "state", s->reason, it->r.data);
			mirror_state(e, s, end);
		}
		return;
	}
	bool was_gone = s->gone;
	s->gone = false;
	bool warm_change = s->warming != it->warming;
	s->warming = it->warming;
	enum alarm_state from = s->st, to = it->state;
	if (from == to) {
		/* a state alarm's reason names its drift entries: listed when they
		 * change (the state "armed" -> "no listen drift since ...", a
		 * second port opened while in ALARM); a metric alarm's changes
		 * every period, listed only with its state */
		bool drift_text = d->type == ALARM_DRIFT && it->r.reason[0] &&
		                  strcmp(s->reason, it->r.reason) != 0;
		if (it->r.reason[0]) /* written when something changed */
			snprintf(s->reason, sizeof(s->reason), "%s", it->r.reason);
		if (warm_change && it->warming) { /* a new system's warm-up, in the history */
			event(e, end, d->name, s->system, "state", s->reason,
			      "{\"from\":\"INSUFFICIENT_DATA\",\"to\":\"INSUFFICIENT_DATA\","
			      "\"warming\":true}");
			if (d->webhook || d->alertmanager || d->command)
				event(e, end, d->name, s->system, "action", "no action: warming up",
				      NULL);
		}
		/* a new state is listed from its first outcome on (a warm-up,
		 * "not armed yet"), not only from its first change */
		if (was_gone || warm_change || !s->listed || drift_text)
			mirror_state(e, s, end);
		s->evaluated |= !it->warming;
		return;
	}
	bool initial = !s->evaluated && from == ALARM_STATE_INSUFFICIENT;
	s->st = to;
	s->since_ms = end;
	if (to == ALARM_STATE_ALARM)
		s->alarm_since_ms = end;
	snprintf(s->reason, sizeof(s->reason), "%s", it->r.reason);
	s->evaluated |= !it->warming;
	/* history: the change with the points evaluated */
	struct buf data = BUF_INIT;
	struct json j;
	jw_init(&j, &data);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "from", alarm_state_name(from));
	jw_str(&j, "to", alarm_state_name(to));
	jw_str(&j, "system_name", s->system_name);
	jw_raw(&j, "labels", s->labels, strlen(s->labels));
	if (it->r.data[0])
		jw_raw(&j, "evaluation", it->r.data, strlen(it->r.data));
	jw_obj_end(&j);
	if (!jw_ok(&j)) {
		buf_reset(&data);
		buf_printf(&data, "{\"from\":\"%s\",\"to\":\"%s\"}", alarm_state_name(from),
		           alarm_state_name(to));
	}
	event(e, end, d->name, s->system, "state", s->reason, buf_str(&data));
	mirror_state(e, s, end);
	int64_t now = wall_ms();
	bool quiet = it->warming || (initial && to == ALARM_STATE_OK) ||
	             (initial && to == ALARM_STATE_INSUFFICIENT) || muted(e, s, now);
	if (from == ALARM_STATE_ALARM)
		acks_end(e, s);
	if (!quiet && e->act && (d->webhook || d->alertmanager || d->command)) {
		struct alarm_notice n = {.d = d,
		                         .system_id = s->system,
		                         .system_name = s->system_name,
		                         .labels = s->labels,
		                         .from = from,
		                         .to = to,
		                         .reason = s->reason,
		                         .data = it->r.data,
		                         .time_ms = end,
		                         .since_ms = s->alarm_since_ms ? s->alarm_since_ms : end};
		alarm_actions_send(e->act, &n);
	} else if (quiet && (d->webhook || d->alertmanager || d->command)) {
		const char *why = it->warming ? "warming up"
		                  : initial   ? "first evaluation after the alarm's creation"
		                              : "silenced or acknowledged";
		char sum[256];
		snprintf(sum, sizeof(sum), "no action: %s", why);
		event(e, end, d->name, s->system, "action", sum, NULL);
	}
	buf_free(&data);
}

static int item_cb(void *ctx, const struct alarm_run_item *it)
{
	struct eval_ctx *c = ctx;
	struct eng_state *s = lookup(c, it->system_id, it->series_labels);
	if (!s) {
		s = state_add(c->e, c->a->d.name, it->system_id, it->system_name,
		              it->series_labels);
		c->last_system = NULL;
	} else if (it->system_name && strcmp(s->system_name, it->system_name) != 0) {
		free(s->system_name);
		s->system_name = xstrdup(it->system_name);
	}
	apply(c->e, c->a, s, it, c->end);
	return 0;
}

static void evaluate_alarm(struct alarm_engine *e, struct eng_alarm *a, int64_t end)
{
	struct eval_ctx c = {.e = e, .a = a, .end = end};
	char err[512];
	a->cycle = e->cycle;
	a->last_end = end;
	int r = alarm_window_fits(&a->d)
	            ? alarm_window_run(e->win, e->st, &a->d, end, 0, prev_state, item_cb, &c, err,
	                               sizeof(err))
	            : alarm_run(e->st, &a->d, end, cur_state, cur_baseline, item_cb, &c, err,
	                        sizeof(err));
	if (r < 0)
		log_warn("alarms: %s", err);
}

/* States of the alarms evaluated in this cycle that the run did not see
 * (their series stopped): every slot of their range is missing. */
static void evaluate_unseen(struct alarm_engine *e)
{
	for (size_t i = 0; i < e->nstates; i++) {
		struct eng_state *s = e->states[i];
		struct eng_alarm *a = s->a;
		if (!a || a->cycle != e->cycle || s->seen == e->cycle || s->gone ||
		    a->d.type == ALARM_DRIFT)
			continue;
		int n = alarm_range_periods(&a->d);
		if (n <= 0)
			continue;
		struct alarm_point *pts = xcalloc((size_t)n, sizeof(*pts));
		for (int k = 0; k < n; k++)
			pts[k].t = a->last_end - (int64_t)(n - k) * a->d.period_ms;
		struct alarm_run_item it = {.system_id = s->system,
		                            .system_name = s->system_name,
		                            .series_labels = s->labels};
		alarm_evaluate(&a->d, pts, (size_t)n, s->st, &it.r);
		it.state = it.r.state;
		free(pts);
		apply(e, a, s, &it, a->last_end);
	}
}

static int64_t period_end(const struct alarm_def *d, int64_t t)
{
	int64_t p = d->period_ms > 0 ? d->period_ms : 60000;
	return t - ((t % p) + p) % p;
}

/* The window up to now, for every metric alarm it serves (those not due
 * in this cycle too: their points stay). */
static void update_window(struct alarm_engine *e, int64_t now)
{
	const struct alarm_def **defs = xcalloc(e->nalarms + 1, sizeof(const struct alarm_def *));
	for (size_t i = 0; i < e->nalarms; i++)
		defs[i] = &e->alarms[i]->d;
	char err[512];
	if (alarm_window_update(e->win, e->st, defs, e->nalarms, now, err, sizeof(err)) < 0)
		log_warn("%s", err);
	free(defs);
}

/* Evaluate what is due at `now`: alarms whose period end is covered by a
 * notify, or GRACE_MS old.  Under lock. */
static void cycle(struct alarm_engine *e, int64_t now)
{
	bool any = false;
	e->cycle++;
	for (size_t i = 0; i < e->nalarms; i++) {
		struct eng_alarm *a = e->alarms[i];
		int64_t end = period_end(&a->d, now);
		/* a drift alarm: at each notify (a crawl stored), not only when a period closes */
		if (a->d.type == ALARM_DRIFT && e->notified_ms > a->last_end)
			end = e->notified_ms < now ? e->notified_ms : now;
		if (end <= a->last_end)
			continue;
		if (e->notified_ms < end && now < end + GRACE_MS)
			continue;
		if (!any) {
			store_read_begin(e->st);
			update_window(e, now);
		}
		any = true;
		evaluate_alarm(e, a, end);
	}
	if (any) {
		store_read_end(e->st);
		evaluate_unseen(e);
	}
}

/* The next moment something is due (wall ms). */
static int64_t next_due(const struct alarm_engine *e, int64_t now)
{
	int64_t next = now + MAX_WAIT_MS;
	for (size_t i = 0; i < e->nalarms; i++) {
		const struct alarm_def *d = &e->alarms[i]->d;
		int64_t end = period_end(d, now);
		int64_t due =
		    end > e->alarms[i]->last_end ? end + GRACE_MS : end + d->period_ms + GRACE_MS;
		if (due < next)
			next = due;
	}
	return next;
}

static void drain_outcomes(struct alarm_engine *e)
{
	pthread_mutex_lock(&e->olock);
	struct outcome *v = e->out;
	size_t n = e->nout;
	e->out = NULL;
	e->nout = e->cout = 0;
	pthread_mutex_unlock(&e->olock);
	for (size_t i = 0; i < n; i++) {
		struct outcome *o = &v[i];
		char sum[600];
		if (o->ok)
			snprintf(sum, sizeof(sum), "%s %s: ok%s%ld (attempt %d)", o->action,
			         o->target, o->status ? ", status " : "", o->status, o->attempt);
		else
			snprintf(sum, sizeof(sum), "%s %s: failed%s (attempt %d%s)%s%s", o->action,
			         o->target, o->status ? ", status" : "", o->attempt,
			         o->final ? ", final" : ", will retry", o->error ? ": " : "",
			         o->error ? o->error : "");
		struct buf b = BUF_INIT;
		struct json j;
		jw_init(&j, &b);
		jw_obj_begin(&j, NULL);
		jw_str(&j, "action", o->action);
		jw_str(&j, "target", o->target);
		jw_int(&j, "attempt", o->attempt);
		jw_bool(&j, "ok", o->ok);
		jw_bool(&j, "final", o->final);
		jw_int(&j, "status", o->status);
		jw_str(&j, "error", o->error);
		jw_obj_end(&j);
		event(e, o->time_ms, o->alarm, o->system, "action", sum, buf_str(&b));
		buf_free(&b);
		free(o->alarm);
		free(o->system);
		free(o->action);
		free(o->target);
		free(o->error);
	}
	free(v);
}

static void on_outcome(void *ctx, const struct alarm_outcome *o)
{
	struct alarm_engine *e = ctx;
	pthread_mutex_lock(&e->olock);
	if (grow_array((void **)&e->out, &e->cout, e->nout + 1, sizeof(*e->out)) == 0) {
		e->out[e->nout++] = (struct outcome){
		    .alarm = xstrdup(o->alarm ? o->alarm : ""),
		    .system = o->system_id ? xstrdup(o->system_id) : NULL,
		    .action = xstrdup(o->action ? o->action : "action"),
		    .target = xstrdup(o->target ? o->target : ""),
		    .error = o->error ? xstrdup(o->error) : NULL,
		    .attempt = o->attempt,
		    .ok = o->ok,
		    .final = o->final,
		    .status = o->status,
		    .time_ms = o->time_ms ? o->time_ms : wall_ms(),
		};
	}
	pthread_mutex_unlock(&e->olock);
}

static void *engine_main(void *arg)
{
	struct alarm_engine *e = arg;
	pthread_mutex_lock(&e->lock);
	while (!e->stop) {
		int64_t now = wall_ms();
		drain_outcomes(e);
		cycle(e, now);
		if (now % 60000 < MAX_WAIT_MS)
			mutes_expire(e, now);
		int64_t next = next_due(e, now);
		now = wall_ms();
		if (next > now) {
			/* at most MAX_WAIT_MS on the monotonic clock: a wall clock
			 * set back cannot stretch the wait by the jump */
			int64_t wait_ms = next - now > MAX_WAIT_MS ? MAX_WAIT_MS : next - now;
			struct timespec ts;
			mono_deadline(&ts, wait_ms * 1000000);
			pthread_cond_timedwait(&e->cv, &e->lock, &ts);
		}
	}
	drain_outcomes(e);
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

/* ---- start, stop, loading ------------------------------------------------------------- */

static int load_alarm_obj(void *ctx, const char *name, const char *json, int64_t updated)
{
	struct alarm_engine *e = ctx;
	json_t *doc = json_loads(json, 0, NULL);
	const char *src = json_string_value(json_object_get(doc, "source"));
	json_t *def = json_object_get(doc, "definition");
	if (src && strcmp(src, "api") == 0 && def) {
		char *t = json_dumps(def, JSON_COMPACT);
		struct eng_alarm *a = xcalloc(1, sizeof(*a));
		char err[256];
		if (t && alarm_def_from_json(&a->d, name, t, strlen(t), err, sizeof(err)) == 0) {
			grow_array((void **)&e->alarms, &e->calarms, e->nalarms + 1,
			           sizeof(struct eng_alarm *));
			e->alarms[e->nalarms++] = a;
		} else {
			log_warn("alarms: the stored alarm %s is not valid any more: %s", name,
			         err);
			alarm_def_free(&a->d);
			free(a);
		}
		free(t);
	}
	json_decref(doc);
	return 0;
}

static int load_state_obj(void *ctx, const char *name, const char *json, int64_t updated)
{
	struct alarm_engine *e = ctx;
	json_t *doc = json_loads(json, 0, NULL);
	const char *alarm = json_string_value(json_object_get(doc, "alarm"));
	const char *sys = json_string_value(json_object_get(doc, "system"));
	json_t *lab = json_object_get(doc, "labels");
	char *labels = lab ? json_dumps(lab, JSON_COMPACT) : NULL;
	const char *st = json_string_value(json_object_get(doc, "state"));
	if (alarm && sys && st) {
		struct eng_state *s =
		    state_add(e, alarm, sys, json_string_value(json_object_get(doc, "system_name")),
		              labels ? labels : "{}");
		s->listed = true;
		s->st = strcmp(st, "OK") == 0      ? ALARM_STATE_OK
		        : strcmp(st, "ALARM") == 0 ? ALARM_STATE_ALARM
		                                   : ALARM_STATE_INSUFFICIENT;
		s->since_ms = json_integer_value(json_object_get(doc, "since_ms"));
		s->baseline_ms = json_integer_value(json_object_get(doc, "baseline_ms"));
		s->alarm_since_ms = json_integer_value(json_object_get(doc, "alarm_since_ms"));
		s->gone = json_is_true(json_object_get(doc, "gone"));
		s->warming = json_is_true(json_object_get(doc, "warming"));
		s->evaluated = true;
		const char *why = json_string_value(json_object_get(doc, "reason"));
		snprintf(s->reason, sizeof(s->reason), "%s", why ? why : "");
	}
	free(labels);
	json_decref(doc);
	return 0;
}

static int load_mute_obj(void *ctx, const char *name, const char *json, int64_t updated)
{
	struct alarm_engine *e = ctx;
	json_t *doc = json_loads(json, 0, NULL);
	const char *alarm = json_string_value(json_object_get(doc, "alarm"));
	const char *sys = json_string_value(json_object_get(doc, "system"));
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	if (alarm && kind &&
	    grow_array((void **)&e->mutes, &e->cmutes, e->nmutes + 1, sizeof(*e->mutes)) == 0) {
		e->mutes[e->nmutes++] = (struct mute){
		    .alarm = xstrdup(alarm),
		    .system = sys && strcmp(sys, "*") != 0 ? xstrdup(sys) : NULL,
		    .ack = strcmp(kind, "ack") == 0,
		    .until_ms = json_integer_value(json_object_get(doc, "until_ms")),
		};
	}
	json_decref(doc);
	return 0;
}

int alarm_engine_start(const char *store_url, struct alarm_engine **out, char *err, size_t errlen)
{
	struct alarm_engine *e = xcalloc(1, sizeof(*e));
	*out = NULL;
	int r = store_open(store_url, STORE_RW, &e->st);
	if (r < 0) {
		snprintf(err, errlen, "alarms: %s", store_errmsg(NULL));
		free(e);
		return r;
	}
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->olock, NULL);
	cond_init_mono(&e->cv); /* waits on CLOCK_MONOTONIC: see engine_main */
	tab_rebuild(e);
	e->win = alarm_window_new();
	store_objects(e->st, "alarm", load_alarm_obj, e);
	store_objects(e->st, "alarm_state", load_state_obj, e);
	store_objects(e->st, "alarm_silence", load_mute_obj, e);
	for (size_t i = 0; i < e->nstates; i++)
		e->states[i]->a = alarm_find(e, e->states[i]->alarm);
	/* the last period already evaluated before a restart is not announced again */
	int64_t now = wall_ms();
	for (size_t i = 0; i < e->nalarms; i++)
		e->alarms[i]->last_end =
		    period_end(&e->alarms[i]->d, now) - e->alarms[i]->d.period_ms;
	r = alarm_actions_start(&e->act, on_outcome, e);
	if (r < 0) {
		log_warn("alarms: actions cannot start (%s): state changes are logged only",
		         strerror(-r));
		e->act = NULL;
	}
	r = pthread_create(&e->th, NULL, engine_main, e);
	if (r != 0) {
		snprintf(err, errlen, "alarms: cannot start a thread: %s", strerror(r));
		e->started = false;
		alarm_engine_stop(e);
		return -r;
	}
	e->started = true;
	*out = e;
	return 0;
}

void alarm_engine_stop(struct alarm_engine *e)
{
	if (!e)
		return;
	if (e->started) {
		pthread_mutex_lock(&e->lock);
		e->stop = true;
		pthread_cond_broadcast(&e->cv);
		pthread_mutex_unlock(&e->lock);
		pthread_join(e->th, NULL);
	}
	if (e->act)
		alarm_actions_stop(e->act);
	drain_outcomes(e);
	store_close(e->st);
	alarm_window_free(e->win);
	for (size_t i = 0; i < e->nalarms; i++) {
		alarm_def_free(&e->alarms[i]->d);
		free(e->alarms[i]);
	}
	free(e->alarms);
	for (size_t i = 0; i < e->nstates; i++)
		state_free(e->states[i]);
	free(e->states);
	free(e->tab);
	for (size_t i = 0; i < e->nmutes; i++) {
		free(e->mutes[i].alarm);
		free(e->mutes[i].system);
	}
	free(e->mutes);
	pthread_mutex_destroy(&e->lock);
	pthread_mutex_destroy(&e->olock);
	pthread_cond_destroy(&e->cv);
	free(e);
}

/* ---- definitions ------------------------------------------------------------------------ */

static bool same_def(const struct alarm_def *a, const struct alarm_def *b)
{
	struct buf x = BUF_INIT, y = BUF_INIT;
	struct json j;
	jw_init(&j, &x);
	alarm_def_json(a, &j);
	jw_init(&j, &y);
	alarm_def_json(b, &j);
	bool same = x.len == y.len && memcmp(buf_str(&x), buf_str(&y), x.len) == 0;
	buf_free(&x);
	buf_free(&y);
	return same;
}

/* Forget the states of alarm `name` (memory and store). */
static void drop_states(struct alarm_engine *e, const char *name)
{
	size_t k = 0;
	for (size_t i = 0; i < e->nstates; i++) {
		struct eng_state *s = e->states[i];
		if (strcmp(s->alarm, name) == 0) {
			store_object_delete(e->st, "alarm_state", s->key);
			state_free(s);
		} else {
			e->states[k++] = s;
		}
	}
	e->nstates = k;
	tab_rebuild(e);
}

static void adopt_states(struct alarm_engine *e, struct eng_alarm *a)
{
	for (size_t i = 0; i < e->nstates; i++)
		if (strcmp(e->states[i]->alarm, a->d.name) == 0)
			e->states[i]->a = a;
}

/* Add or replace alarm d (copied); under lock. */
static void install(struct alarm_engine *e, const struct alarm_def *d, bool file)
{
	struct eng_alarm *a = alarm_find(e, d->name);
	bool existed = a != NULL;
	if (a && same_def(&a->d, d) && a->file == file)
		return;
	if (a) {
		/* a changed definition starts its states afresh */
		drop_states(e, d->name);
		alarm_def_free(&a->d);
	} else {
		a = xcalloc(1, sizeof(*a));
		grow_array((void **)&e->alarms, &e->calarms, e->nalarms + 1,
		           sizeof(struct eng_alarm *));
		e->alarms[e->nalarms++] = a;
	}
	alarm_def_copy(&a->d, d);
	a->file = file;
	a->last_end = period_end(&a->d, wall_ms()) - a->d.period_ms;
	adopt_states(e, a);
	mirror_def(e, a);
	config_event(e, d, existed ? "updated" : "created", file ? "config file" : "api");
}

static void remove_alarm(struct alarm_engine *e, struct eng_alarm *a, const char *source)
{
	config_event(e, &a->d, "deleted", source);
	store_object_delete(e->st, "alarm", a->d.name);
	drop_states(e, a->d.name);
	struct mute_pick p = {.alarm = a->d.name};
	mutes_remove(e, &p);
	for (size_t i = 0; i < e->nalarms; i++)
		if (e->alarms[i] == a) {
			e->alarms[i] = e->alarms[--e->nalarms];
			break;
		}
	alarm_def_free(&a->d);
	free(a);
}

/* File alarms the store remembers from the last run: removed when the
 * file no longer has them. */
struct stale_ctx {
	char **names;
	size_t n, cap;
};

static int stale_file_obj(void *ctx, const char *name, const char *json, int64_t updated)
{
	struct stale_ctx *c = ctx;
	if (strstr(json, "\"source\":\"file\"") &&
	    grow_array((void **)&c->names, &c->cap, c->n + 1, sizeof(char *)) == 0)
		c->names[c->n++] = xstrdup(name);
	return 0;
}

int alarm_engine_set_file_alarms(struct alarm_engine *e, const struct alarm_def *defs, size_t n)
{
	pthread_mutex_lock(&e->lock);
	/* names the file had before (in memory, or in the store from the last run) */
	struct stale_ctx old = {0};
	store_objects(e->st, "alarm", stale_file_obj, &old);
	for (size_t i = 0; i < old.n; i++) {
		bool keep = false;
		for (size_t k = 0; k < n && !keep; k++)
			keep = strcmp(defs[k].name, old.names[i]) == 0;
		struct eng_alarm *a = alarm_find(e, old.names[i]);
		if (!keep && a && a->file) {
			remove_alarm(e, a, "config file");
		} else if (!keep && !a) {
			struct alarm_def d;
			alarm_def_init(&d, old.names[i]);
			config_event(e, &d, "deleted", "config file");
			alarm_def_free(&d);
			store_object_delete(e->st, "alarm", old.names[i]);
			drop_states(e, old.names[i]);
		}
		free(old.names[i]);
	}
	free(old.names);
	for (size_t i = 0; i < e->nalarms;) {
		struct eng_alarm *a = e->alarms[i];
		bool keep = !a->file;
		for (size_t k = 0; k < n && !keep; k++)
			keep = strcmp(defs[k].name, a->d.name) == 0;
		if (!keep)
			remove_alarm(e, a, "config file");
		else
			i++;
	}
	for (size_t k = 0; k < n; k++) {
		/* a config file alarm of the same name replaces one made through the API */
		install(e, &defs[k], true);
	}
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->lock);
	return 0;
}

void alarm_engine_notify(struct alarm_engine *e, int64_t now_ms)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	if (now_ms > e->notified_ms)
		e->notified_ms = now_ms;
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->lock);
}

int alarm_engine_put(struct alarm_engine *e, const struct alarm_def *d, char *err, size_t errlen)
{
	int r = alarm_def_check(d, err, errlen);
	if (r < 0)
		return r;
	pthread_mutex_lock(&e->lock);
	struct eng_alarm *a = alarm_find(e, d->name);
	if (a && a->file) {
		snprintf(err, errlen,
		         "alarm '%s' is defined in the config file: change it there (and reload "
		         "with SIGHUP)",
		         d->name);
		pthread_mutex_unlock(&e->lock);
		return -EPERM;
	}
	install(e, d, false);
	pthread_cond_broadcast(&e->cv);
	pthread_mutex_unlock(&e->lock);
	return 0;
}

int alarm_engine_delete(struct alarm_engine *e, const char *name)
{
	pthread_mutex_lock(&e->lock);
	struct eng_alarm *a = alarm_find(e, name);
	int r = 0;
	if (!a)
		r = -ENOENT;
	else if (a->file)
		r = -EPERM;
	else
		remove_alarm(e, a, "api");
	pthread_mutex_unlock(&e->lock);
	return r;
}

int alarm_engine_json(struct alarm_engine *e, const char *name, struct buf *out)
{
	pthread_mutex_lock(&e->lock);
	int r = alarm_store_json(e->st, name, out);
	pthread_mutex_unlock(&e->lock);
	return r;
}

static int add_mute(struct alarm_engine *e, const char *name, const char *system, int64_t until,
                    const char *comment, bool ack, char *err, size_t errlen)
{
	int64_t now = wall_ms();
	if (until <= now) {
		snprintf(err, errlen, "until: the time is in the past");
		return -EINVAL;
	}
	pthread_mutex_lock(&e->lock);
	struct eng_alarm *a = alarm_find(e, name);
	if (!a) {
		pthread_mutex_unlock(&e->lock);
		snprintf(err, errlen, "no alarm '%s'", name);
		return -ENOENT;
	}
	const char *sys = system && *system ? system : "*";
	char oname[ALARM_NAME_MAX + 300], t[40];
	snprintf(oname, sizeof(oname), "%s/%s/%s", name, sys, ack ? "ack" : "silence");
	struct buf b = BUF_INIT;
	struct json j;
	jw_init(&j, &b);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "alarm", name);
	jw_str(&j, "system", sys);
	jw_str(&j, "kind", ack ? "ack" : "silence");
	iso(until, t, sizeof(t));
	jw_str(&j, "until", t);
	jw_int(&j, "until_ms", until);
	jw_str(&j, "comment", comment ? comment : "");
	jw_obj_end(&j);
	int r = store_object_put(e->st, "alarm_silence", oname, buf_str(&b), now);
	if (r == 0) {
		/* replace one of the same alarm, system and kind */
		struct mute_pick p = {
		    .alarm = name, .forget_only = true, .system = sys, .is_ack = ack};
		mutes_remove(e, &p);
		grow_array((void **)&e->mutes, &e->cmutes, e->nmutes + 1, sizeof(*e->mutes));
		e->mutes[e->nmutes++] =
		    (struct mute){.alarm = xstrdup(name),
		                  .system = strcmp(sys, "*") ? xstrdup(sys) : NULL,
		                  .ack = ack,
		                  .until_ms = until};
		char sum[600];
		snprintf(sum, sizeof(sum), "%s %s until %s%s%s", ack ? "acknowledged" : "silenced",
		         strcmp(sys, "*") ? sys : "every system", t,
		         comment && *comment ? ": " : "", comment ? comment : "");
		event(e, now, name, strcmp(sys, "*") ? sys : NULL, "config", sum, buf_str(&b));
		/* a drift alarm's acknowledgement moves its baseline: OK at the next period */
		if (ack && a->d.type == ALARM_DRIFT) {
			for (size_t i = 0; i < e->nstates; i++) {
				struct eng_state *s = e->states[i];
				if (s->a == a && (!strcmp(sys, "*") || !strcmp(s->system, sys) ||
				                  !strcmp(s->system_name, sys))) {
					s->baseline_ms = now; /* this period's changes too */
					s->checked_ms = 0;    /* compared again at once */
				}
			}
			a->last_end = 0; /* evaluate it at once */
			e->notified_ms = now;
			pthread_cond_broadcast(&e->cv);
		}
	} else {
		snprintf(err, errlen, "cannot keep it: %s", strerror(-r));
	}
	buf_free(&b);
	pthread_mutex_unlock(&e->lock);
	return r;
}

int alarm_engine_silence(struct alarm_engine *e, const char *name, const char *system,
                         int64_t until_ms, const char *comment, char *err, size_t errlen)
{
	return add_mute(e, name, system, until_ms, comment, false, err, errlen);
}

int alarm_engine_ack(struct alarm_engine *e, const char *name, const char *system, int64_t until_ms,
                     const char *comment, char *err, size_t errlen)
{
	return add_mute(e, name, system, until_ms, comment, true, err, errlen);
}

void alarm_engine_states(struct alarm_engine *e,
                         void (*cb)(void *ctx, const char *alarm, const char *system_id,
                                    const char *system_name, enum alarm_state st),
                         void *ctx)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < e->nstates; i++) {
		const struct eng_state *s = e->states[i];
		if (s->a)
			cb(ctx, s->alarm, s->system, s->system_name, s->st);
	}
	pthread_mutex_unlock(&e->lock);
}

/* ---- from the store alone ------------------------------------------------------------------ */

struct obj {
	char *name, *json;
};
struct objs {
	struct obj *v;
	size_t n, cap;
	const char *prefix; /* NULL: all */
};

static int collect_obj(void *ctx, const char *name, const char *json, int64_t updated)
{
	struct objs *o = ctx;
	if (o->prefix) {
		size_t l = strlen(o->prefix);
		if (strncmp(name, o->prefix, l) != 0 || (name[l] && name[l] != '/'))
			return 0;
	}
	if (grow_array((void **)&o->v, &o->cap, o->n + 1, sizeof(*o->v)) < 0)
		return -ENOMEM;
	o->v[o->n].name = xstrdup(name);
	o->v[o->n].json = xstrdup(json);
	o->n++;
	return 0;
}

static void objs_free(struct objs *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->v[i].name);
		free(o->v[i].json);
	}
	free(o->v);
}

int alarm_store_json(struct store *s, const char *name, struct buf *out)
{
	struct objs al = {.prefix = name}, st = {0}, mu = {0};
	int r = store_objects(s, "alarm", collect_obj, &al);
	if (r == 0)
		r = store_objects(s, "alarm_state", collect_obj, &st);
	if (r == 0)
		r = store_objects(s, "alarm_silence", collect_obj, &mu);
	if (r == 0 && name) {
		bool found = false;
		for (size_t i = 0; i < al.n && !found; i++)
			found = strcmp(al.v[i].name, name) == 0;
		if (!found)
			r = -ENOENT;
	}
	if (r < 0)
		goto out;
	int64_t now = wall_ms();
	if (!name)
		buf_addc(out, '[');
	bool first = true;
	for (size_t i = 0; i < al.n; i++) {
		if (name && strcmp(al.v[i].name, name) != 0)
			continue;
		json_t *doc = json_loads(al.v[i].json, 0, NULL);
		if (!doc)
			continue;
		size_t nl = strlen(al.v[i].name);
		json_t *states = json_array(), *mutes = json_array();
		for (size_t k = 0; k < st.n; k++) {
			if (strncmp(st.v[k].name, al.v[i].name, nl) != 0 || st.v[k].name[nl] != '/')
				continue;
			json_t *x = json_loads(st.v[k].json, 0, NULL);
			if (!x)
				continue;
			json_object_del(x, "alarm");
			json_object_del(x, "since_ms");
			json_object_del(x, "baseline_ms");
			json_object_del(x, "alarm_since_ms");
			json_array_append_new(states, x);
		}
		for (size_t k = 0; k < mu.n; k++) {
			if (strncmp(mu.v[k].name, al.v[i].name, nl) != 0 || mu.v[k].name[nl] != '/')
				continue;
			json_t *x = json_loads(mu.v[k].json, 0, NULL);
			if (!x)
				continue;
			if (json_integer_value(json_object_get(x, "until_ms")) <= now) {
				json_decref(x);
				continue;
			}
			json_object_del(x, "alarm");
			json_object_del(x, "until_ms");
			json_array_append_new(mutes, x);
		}
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(al.v[i].name));
		json_object_set(o, "source", json_object_get(doc, "source"));
		json_object_set(o, "definition", json_object_get(doc, "definition"));
		json_object_set_new(o, "states", states);
		json_object_set_new(o, "silences", mutes);
		char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (t) {
			if (!first)
				buf_addc(out, ',');
			buf_adds(out, t);
			first = false;
		}
		free(t);
		json_decref(o);
		json_decref(doc);
	}
	if (!name)
		buf_addc(out, ']');
out:
	objs_free(&al);
	objs_free(&st);
	objs_free(&mu);
	return r;
}

int alarm_store_def(struct store *s, const char *name, struct alarm_def *d, char *err,
                    size_t errlen)
{
	struct objs al = {.prefix = name};
	int r = store_objects(s, "alarm", collect_obj, &al);
	const char *json = NULL;
	alarm_def_init(d, name); /* the defaults, whatever the answer */
	for (size_t i = 0; r == 0 && i < al.n && !json; i++)
		if (strcmp(al.v[i].name, name) == 0)
			json = al.v[i].json;
	if (r < 0) {
		snprintf(err, errlen, "cannot read the alarms: %s", strerror(-r));
	} else if (!json) {
		snprintf(err, errlen, "no alarm '%s' in the store", name);
		r = -ENOENT;
	} else {
		json_t *doc = json_loads(json, 0, NULL);
		char *t = json_dumps(json_object_get(doc, "definition"), JSON_COMPACT);
		if (t)
			alarm_def_free(d); /* alarm_def_from_json() sets it anew */
		r = t ? alarm_def_from_json(d, name, t, strlen(t), err, errlen) : -EINVAL;
		if (!t)
			snprintf(err, errlen, "the stored alarm '%s' is not valid", name);
		free(t);
		json_decref(doc);
	}
	objs_free(&al);
	return r;
}

struct hist_ctx {
	struct json j;
};

static int hist_cb(void *ctx, int64_t id, const struct store_event *ev)
{
	struct hist_ctx *h = ctx;
	char t[40];
	iso(ev->time_ms, t, sizeof(t));
	jw_obj_begin(&h->j, NULL);
	jw_int(&h->j, "id", id);
	jw_str(&h->j, "time", t);
	jw_str(&h->j, "alarm", ev->subject);
	jw_str(&h->j, "system", ev->system);
	jw_str(&h->j, "type", ev->type);
	jw_str(&h->j, "summary", ev->summary);
	if (ev->data && *ev->data)
		jw_raw(&h->j, "data", ev->data, strlen(ev->data));
	else
		jw_null(&h->j, "data");
	jw_obj_end(&h->j);
	return 0;
}

int alarm_history_json(struct store *s, const struct store_event_filter *f, struct buf *out)
{
	struct store_event_filter g = *f;
	g.kind = "alarm";
	struct hist_ctx h;
	jw_init(&h.j, out);
	jw_arr_begin(&h.j, NULL);
	int r = store_events(s, &g, hist_cb, &h);
	jw_arr_end(&h.j);
	return r;
}
