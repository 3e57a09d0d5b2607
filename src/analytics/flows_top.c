/*
 * flows_top.c - the top talkers' JSON answer (flows_top.h): the store's
 * grouped sums, with the names of the systems named by id.
 */
#include "flows_top.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../store/store.h"
#include "../util/json.h"
#include "../util/timefmt.h"

struct top_ctx {
	struct json *j;
	json_t *names; /* system id -> name */
	char group[FLOWS_GROUP_MAX][16];
	int ngroup;
};

static int one(void *arg, const struct store_flow_top *t)
{
	struct top_ctx *c = arg;
	jw_obj_begin(c->j, NULL);
	for (int i = 0; i < t->nkey && i < c->ngroup; i++) {
		const char *g = c->group[i];
		if (!strcmp(g, "sport") || !strcmp(g, "dport") || !strcmp(g, "proto")) {
			if (t->key[i])
				jw_raw(c->j, g, t->key[i], strlen(t->key[i])); /* digits */
			else
				jw_null(c->j, g);
			continue;
		}
		jw_str(c->j, g, t->key[i]);
		if (strstr(g, "_system")) {
			char nk[32];
			snprintf(nk, sizeof(nk), "%s_name", g);
			const char *name =
			    t->key[i] ? json_string_value(json_object_get(c->names, t->key[i]))
			              : NULL;
			jw_str(c->j, nk, name);
		}
	}
	jw_double(c->j, "bytes_per_s", t->bytes_per_s, 1);
	jw_double(c->j, "bits_per_s", t->bytes_per_s * 8, 1);
	jw_double(c->j, "packets_per_s", t->packets_per_s, 2);
	jw_uint(c->j, "samples", t->samples);
	jw_obj_end(c->j);
	return 0;
}

/* id -> name of every system (a name is only a help: failures leave it
 * empty) */
static json_t *system_names(struct store *st)
{
	json_t *names = json_object();
	struct store_system_filter f = {.gone = -1};
	struct buf b = {0};
	if (store_systems_json(st, &f, &b) == 0) {
		json_t *list = json_loadb(b.data, b.len, 0, NULL);
		size_t i;
		json_t *o;
		json_array_foreach(list, i, o)
		{
			const char *id = json_string_value(json_object_get(o, "id"));
			json_t *name = json_object_get(o, "name");
			if (id && json_is_string(name))
				json_object_set(names, id, name);
		}
		json_decref(list);
	}
	buf_free(&b);
	return names;
}

int flows_top_json(struct store *st, int64_t from_ms, int64_t to_ms, const char *group,
                   size_t limit, struct buf *out, char *err, size_t errlen)
{
	struct top_ctx c = {0};
	const char *p = group ? group : "";
	while (*p && c.ngroup < FLOWS_GROUP_MAX) {
		size_t n = strcspn(p, ",");
		snprintf(c.group[c.ngroup++], sizeof(c.group[0]), "%.*s", (int)n, p);
		p += n + (p[n] == ',');
	}
	c.names = system_names(st);
	struct json j;
	char iso[40];
	jw_init(&j, out);
	c.j = &j;
	jw_obj_begin(&j, NULL);
	format_time_utc(from_ms * 1000000, iso, sizeof(iso));
	jw_str(&j, "from", iso);
	format_time_utc(to_ms * 1000000, iso, sizeof(iso));
	jw_str(&j, "to", iso);
	jw_double(&j, "window_s", (double)(to_ms - from_ms) / 1000.0, 3);
	jw_arr_begin(&j, "group");
	for (int i = 0; i < c.ngroup; i++)
		jw_str(&j, NULL, c.group[i]);
	jw_arr_end(&j);
	jw_arr_begin(&j, "flows");
	int r = store_flows_top(st, from_ms, to_ms, group, limit, one, &c);
	jw_arr_end(&j);
	jw_obj_end(&j);
	json_decref(c.names);
	if (r < 0) {
		snprintf(err, errlen, "%s", store_errmsg(st));
		return r;
	}
	return 0;
}
