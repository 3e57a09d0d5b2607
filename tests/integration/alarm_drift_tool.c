/*
 * alarm_drift_tool.c - one state alarm evaluated over a store, for
 * tests/integration/alarm_drift.sh (built by `make unit`; not part of
 * vantage).
 *
 *   alarm_drift_tool DB SYSTEM RULE PATTERN BASELINE_MS [NOW_MS [REPEAT]]
 *
 * SYSTEM is an id or a name (as `vantage systems` shows them); PATTERN "-"
 * means none; NOW_MS 0 is the latest.  Prints one JSON line:
 * {"rc", "hits", "summary", "entries", "err", "us"}, us being the mean
 * time of one evaluation over REPEAT of them (default 1).  Exit 0 when
 * the evaluation returned 0.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analytics/alarm_drift.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/util.h"

/* The id of the system named `want` (or `want` itself). */
static char *resolve(struct store *s, const char *want)
{
	struct buf b = BUF_INIT;
	struct store_system_filter f = {.gone = -1};
	char *id = NULL;
	if (store_systems_json(s, &f, &b) == 0) {
		json_t *arr = json_loadb(b.data ? b.data : "", b.len, 0, NULL);
		size_t i;
		json_t *y;
		json_array_foreach(arr, i, y)
		{
			const char *sid = json_string_value(json_object_get(y, "id"));
			const char *name = json_string_value(json_object_get(y, "name"));
			if (!id && sid && ((name && !strcmp(name, want)) || !strcmp(sid, want)))
				id = strdup(sid);
		}
		json_decref(arr);
	}
	buf_free(&b);
	return id ? id : strdup(want);
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: alarm_drift_tool DB SYSTEM RULE PATTERN BASELINE_MS "
		                "[NOW_MS [REPEAT]]\n");
		return 2;
	}
	struct store *s = NULL;
	if (store_open(argv[1], STORE_RO, &s) < 0) {
		fprintf(stderr, "alarm_drift_tool: %s: %s\n", argv[1], store_errmsg(NULL));
		return 1;
	}
	char *sys = resolve(s, argv[2]);
	struct alarm_def d = {.name = "tool", .type = ALARM_DRIFT};
	d.rule = argv[3];
	d.pattern = strcmp(argv[4], "-") != 0 ? argv[4] : NULL;
	int64_t base = strtoll(argv[5], NULL, 10);
	int64_t now = argc > 6 ? strtoll(argv[6], NULL, 10) : 0;
	long repeat = argc > 7 ? strtol(argv[7], NULL, 10) : 1;
	if (repeat < 1)
		repeat = 1;
	struct buf entries = BUF_INIT, summary = BUF_INIT;
	char err[512] = "";
	int hits = 0, rc = 0;
	int64_t t0 = mono_ns();
	for (long i = 0; i < repeat; i++) {
		buf_reset(&entries);
		buf_reset(&summary);
		rc = alarm_drift_eval(s, &d, sys, base, now, &hits, &entries, &summary, err,
		                      sizeof(err));
	}
	double us = (double)(mono_ns() - t0) / 1e3 / (double)repeat;
	json_t *e =
	    json_loadb(entries.data ? entries.data : "[]", entries.len ? entries.len : 2, 0, NULL);
	json_t *out = json_pack("{s:i,s:i,s:s,s:o,s:s,s:f,s:s}", "rc", rc, "hits", hits, "summary",
	                        buf_str(&summary), "entries", e ? e : json_null(), "err", err, "us",
	                        us, "system", sys);
	char *text = json_dumps(out, JSON_COMPACT);
	printf("%s\n", text ? text : "null");
	free(text);
	json_decref(out);
	buf_free(&entries);
	buf_free(&summary);
	free(sys);
	store_close(s);
	return rc == 0 ? 0 : 1;
}
