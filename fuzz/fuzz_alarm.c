/*
 * fuzz_alarm.c - alarm definitions and metric math (src/analytics/
 * alarm_def.c, alarm_math.c, alarm_eval.c, src/util/labelsel.c).  The
 * first byte picks:
 *
 *   0  an [alarm NAME] section's "key = value" lines through
 *      alarm_def_set(), then alarm_def_check(); a definition that passes
 *      is written as JSON (what the daemon stores) and read back with
 *      alarm_def_from_json() (what it does at start): it must load and
 *      write the same JSON again; then evaluated over a range of points
 *      made from the input: alarm_evaluate() and alarm_evaluate_state()
 *      must agree
 *   1  alarm_def_from_json()   a body of PUT /api/v1/alarms/NAME, with the
 *      same round trip
 *   2  math_parse()            an `expr`; its refs listed and the
 *      expression evaluated over 8 slots with NaNs and zeros
 *   3  label_sel_parse()       a metric reference with label matchers (the
 *      first line), matched against the labels object of the rest
 *
 * Seeds (fuzz/corpus/alarm/, README there): the alarms of
 * docs/alarms.md and docs/configuration.md, the API bodies of
 * docs/api.md and docs/alarms.md, the expressions and metric references
 * those documents give.
 */
#include "fuzz.h"

#include "analytics/alarm.h"
#include "analytics/alarm_math.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/labelsel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void to_json(const struct alarm_def *d, struct buf *b)
{
	struct json j;
	buf_reset(b);
	jw_init(&j, b);
	alarm_def_json(d, &j);
	if (!jw_ok(&j))
		__builtin_trap();
}

/* Written, read back, written again: the same text. */
static void round_trip(const struct alarm_def *d)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	struct alarm_def e;
	char err[512];
	to_json(d, &a);
	if (alarm_def_from_json(&e, d->name, a.data, a.len, err, sizeof err) != 0) {
		fprintf(stderr, "stored alarm does not load: %s\n%.*s\n", err, (int)a.len, a.data);
		__builtin_trap();
	}
	to_json(&e, &b);
	if (a.len != b.len || memcmp(a.data, b.data, a.len)) {
		fprintf(stderr, "round trip changed:\n%.*s\n%.*s\n", (int)a.len, a.data, (int)b.len,
		        b.data);
		__builtin_trap();
	}
	struct alarm_def c;
	if (alarm_def_copy(&c, d) == 0)
		alarm_def_free(&c);
	alarm_def_free(&e);
	buf_free(&a);
	buf_free(&b);
}

/* The two evaluations over a range whose values come from `seed`. */
static void evaluate(const struct alarm_def *d, const uint8_t *seed, size_t n)
{
	if (d->type != ALARM_METRIC)
		return;
	int np = alarm_range_periods(d);
	if (np < 1 || np > 20000)
		return;
	struct alarm_point *r = calloc((size_t)np, sizeof(*r));
	for (int i = 0; i < np; i++) {
		uint8_t s = n ? seed[(size_t)i % n] : (uint8_t)i;
		r[i].t = (int64_t)i * d->period_ms;
		r[i].present = s % 5 != 0;
		r[i].v = s % 7 == 0 ? d->threshold : (double)s - 128 + d->threshold;
	}
	for (int cur = 0; cur < 3; cur++) {
		struct alarm_result *full = malloc(sizeof(*full)), *st = malloc(sizeof(*st));
		alarm_evaluate(d, r, (size_t)np, (enum alarm_state)cur, full);
		alarm_evaluate_state(d, r, (size_t)np, (enum alarm_state)cur, st);
		if (full->state != st->state || full->kept != st->kept ||
		    full->breaching != st->breaching || full->evaluated != st->evaluated ||
		    full->filled != st->filled)
			__builtin_trap();
		if (!memchr(full->reason, 0, sizeof full->reason) ||
		    !memchr(full->data, 0, sizeof full->data))
			__builtin_trap();
		free(full);
		free(st);
	}
	free(r);
}

static void one_section(const uint8_t *data, size_t size)
{
	char *text = fuzz_strdup(data, size);
	struct alarm_def d;
	char err[512];
	/* the name: the first line */
	char *line = text, *nl = strchr(line, '\n');
	if (nl)
		*nl = '\0';
	alarm_def_init(&d, line);
	bool ok = true;
	while (nl) {
		line = nl + 1;
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		char *k = line, *v = eq + 1, *ke = eq;
		*eq = '\0';
		while (*k == ' ')
			k++;
		while (ke > k && ke[-1] == ' ')
			*--ke = '\0';
		while (*v == ' ')
			v++;
		err[0] = '\0';
		if (alarm_def_set(&d, k, v, err, sizeof err) != 0) {
			if (!err[0])
				__builtin_trap(); /* an error says why */
			ok = false;
		}
	}
	if (ok && alarm_def_check(&d, err, sizeof err) == 0) {
		round_trip(&d);
		evaluate(&d, data, size);
	}
	alarm_def_free(&d);
	free(text);
}

static void one_json(const uint8_t *data, size_t size)
{
	char *text = fuzz_strdup(data, size);
	struct alarm_def d;
	char err[512] = "";
	if (alarm_def_from_json(&d, "fuzz", text, size, err, sizeof err) == 0) {
		round_trip(&d);
		evaluate(&d, data, size);
		alarm_def_free(&d);
	} else if (!err[0]) {
		__builtin_trap();
	}
	free(text);
}

static void one_math(const uint8_t *data, size_t size)
{
	char *text = fuzz_strdup(data, size);
	struct math_expr *e = NULL;
	char err[512] = "";
	if (math_parse(text, &e, err, sizeof err) == 0) {
		const struct math_ref *refs;
		size_t nr = math_refs(e, &refs);
		enum { SLOTS = 8 };
		static const double vals[SLOTS] = {1, 0, NAN, -2.5, 1e308, 0, 3, NAN};
		struct math_input *in = calloc(nr ? nr : 1, sizeof(*in));
		const double *three[3] = {vals, vals + 1, vals};
		static double shifted[SLOTS + 1];
		for (size_t i = 0; i < SLOTS; i++)
			shifted[i] = vals[(i + 3) % SLOTS];
		three[1] = shifted;
		for (size_t i = 0; i < nr; i++) {
			if (!refs[i].metric)
				__builtin_trap();
			in[i].series = three;
			in[i].nseries = refs[i].across ? 3 : 1;
		}
		double out[SLOTS];
		math_eval(e, in, SLOTS, 60000, out, err, sizeof err);
		if (!memchr(err, 0, sizeof err))
			__builtin_trap();
		free(in);
		math_free(e);
	} else {
		if (!err[0])
			__builtin_trap();
		math_free(e);
	}
	free(text);
}

static void one_labelsel(const uint8_t *data, size_t size)
{
	char *text = fuzz_strdup(data, size);
	char *nl = strchr(text, '\n');
	const char *labels = "{}";
	if (nl) {
		*nl = '\0';
		labels = nl + 1;
	}
	struct label_sel sel;
	if (label_sel_parse(text, &sel) == 0) {
		if (!sel.name[0] || !memchr(sel.name, 0, sizeof sel.name) || sel.n < 0 ||
		    sel.n > LABEL_SEL_MAX)
			__builtin_trap();
		label_sel_match(&sel, labels);
	}
	label_sel_free(&sel);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	switch (fuzz_pick(&data, &size, 4)) {
	case 0:
		one_section(data, size);
		break;
	case 1:
		one_json(data, size);
		break;
	case 2:
		one_math(data, size);
		break;
	case 3:
		one_labelsel(data, size);
		break;
	}
	return 0;
}
