/*
 * drift_probe.c - a search query over one system's state (drift_probe.h):
 * the state's records go into a search index of one system.
 */
#include "drift_probe.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../util/buf.h"
#include "../util/jscan.h"
#include "search.h"
#include "search_index.h"
#include "search_parse.h"

int drift_probe(const struct drift_state *s, const char *query, bool *match, char *err,
                size_t errlen)
{
	*match = false;
	struct search_index *ix = search_index_new();
	struct buf id = BUF_INIT, name = BUF_INIT, key = BUF_INIT, val = BUF_INIT;
	js_escape_raw(&id, s->system ? s->system : "", strlen(s->system ? s->system : ""));
	js_escape_raw(&name, s->name ? s->name : "", strlen(s->name ? s->name : ""));
	int r = search_index_add_system(ix, 0, buf_str(&id), buf_str(&name), "", "", s->image, "",
	                                NULL);
	const uint32_t sys0 = 0;
	for (size_t i = 0; r == 0 && i < s->n; i++) {
		const struct drift_rec *rec = &s->recs[i];
		buf_reset(&key);
		js_escape_raw(&key, rec->key, strlen(rec->key));
		buf_reset(&val);
		buf_add(&val, rec->text, rec->len);
		buf_addc(&val, '\0');
		r = search_index_add_record(ix, rec->feature, buf_str(&key), key.len, val.data,
		                            rec->len, &sys0, 1, 0);
		if (r == -EINVAL)
			r = 0; /* a value that is not JSON: not searchable */
	}
	if (r == 0)
		r = search_index_finish(ix);
	if (r < 0)
		snprintf(err, errlen, "cannot index the frame: %s", strerror(-r));
	struct sq_error qe = {0};
	struct sq_node *q = r == 0 ? search_parse(ix, query, &qe) : NULL;
	if (r == 0 && !q) {
		struct buf shown = BUF_INIT;
		sq_error_show(query, &qe, &shown);
		snprintf(err, errlen, "bad query at column %d: %s\n%s", qe.col, qe.msg,
		         buf_str(&shown));
		buf_free(&shown);
		r = -EINVAL;
	}
	if (q) {
		struct search_result res = {0};
		search_eval(ix, q, 1, &res);
		*match = res.total > 0;
		search_result_free(&res);
		sq_free(q);
	}
	search_index_free(ix);
	buf_free(&id);
	buf_free(&name);
	buf_free(&key);
	buf_free(&val);
	return r;
}
