/*
 * alarm_run_int.h - what alarm_run.c (series read from the store) and
 * alarm_window.c (series held in memory by the daemon) share, so that
 * both evaluate in one way: selectors, metric references with label
 * matchers, the slot layout of an evaluation, and the emission of the
 * items (gone, warm-up, alarm_evaluate(), metric math).  Internal to
 * those two files.
 */
#ifndef VANTAGE_ALARM_RUN_INT_H
#define VANTAGE_ALARM_RUN_INT_H

#include "../util/buf.h"
#include "../util/labelsel.h"
#include "alarm_math.h"
#include "alarm_run.h"
#include "alarm_window.h"

#define SEL_MAX_TERMS 16

/* ---- selectors ---- */
enum sel_key { SK_ID, SK_NAME, SK_KIND, SK_IMAGE, SK_RUNTIME, SK_HOST, SK_LABEL };

struct sel_term {
	enum sel_key key;
	char *label; /* SK_LABEL: the label's name */
	char *glob;
	bool neg; /* key!=glob */
};

struct selector {
	struct sel_term t[SEL_MAX_TERMS];
	int n;
	bool labels; /* a term reads the system's labels */
};

struct identity {
	const char *id, *name, *kind, *image, *runtime, *host, *labels;
};

int sel_parse(const char *text, struct selector *s, char *err, size_t errlen);
void sel_free(struct selector *s);
bool sel_match(const struct selector *s, const struct identity *y);

/* ---- a metric reference: "disk.used_pct{mountpoint=\"/\"}" is a struct
 * label_sel (util/labelsel.h) ---- */

/* ---- series as period slots ---- */
struct run_series {
	char *system_id, *system_name, *labels;
	bool gone;
	int64_t first_t, last_t; /* first and last bucket read; INT64_MAX/MIN: none */
	double *v;               /* nslots, NaN: no point */
};

struct run_data {
	const struct alarm_def *d;
	const struct selector *sel;  /* NULL: d->system */
	const struct label_sel *ref; /* label matchers of the read */
	const char *system;          /* match by id or name (the first read asks by id) */
	int64_t from, step;          /* slot k starts at from + k * step */
	size_t nslots;
	struct run_series *s;
	size_t n, cap;
	bool borrowed; /* strings and values belong to someone else (the window) */
};
void data_free(struct run_data *rd);

/* The slot layout of an evaluation at now_ms: nr slots ending at *end; the
 * read goes back nread >= nr slots (warm-up). */
void run_layout(const struct alarm_def *d, int64_t now_ms, int64_t *end, size_t *nr, size_t *nread);

/* ---- emission ---- */
struct run_ctx {
	struct store *s;
	char *gone_id; /* the last gone_text() asked, cached (backtests) */
	struct buf gone_why, gone_data;
	const struct alarm_def *d;
	enum alarm_state (*current)(void *ctx, const char *system_id, const char *labels);
	/* instead of current: the state with its flags; the text of an item is
	 * then written only when something changes (or when text is set) */
	void (*prev)(void *ctx, const char *system_id, const char *labels, struct alarm_prev *out);
	bool text; /* always write reason and data */
	int64_t (*baseline)(void *ctx, const char *system_id, int64_t *checked_ms);
	int (*cb)(void *ctx, const struct alarm_run_item *it);
	void *ctx;
};
void run_ctx_free(struct run_ctx *c);

/* A metric alarm at `end` over the data in rd (its last nr slots). */
int emit_metric(struct run_ctx *c, struct run_data *rd, int64_t end, size_t nr);

struct math_run {
	struct math_expr *e;
	const struct math_ref *refs;
	size_t nrefs;
	struct run_data *rd; /* one per ref */
};
void math_run_free(struct math_run *m);
/* The expression of c->d computed over slots [0, nslots) of m's data; its
 * last nr slots evaluated at `end`. */
int math_emit(struct run_ctx *c, struct math_run *m, int64_t end, size_t nr, size_t nslots,
              int64_t from, int64_t step, char *err, size_t errlen);

/* check_def of alarm_run.c: a selector parsed when d has one. */
int run_check_def(const struct alarm_def *d, struct selector *sel, bool *have_sel, char *err,
                  size_t errlen);

#endif
