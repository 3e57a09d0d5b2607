/*
 * logs_json.c - a stored log line as JSON (logs_json.h).
 */
#include "logs_json.h"

#include "../util/logsev.h"
#include "../util/timefmt.h"

void logs_json_line(struct json *j, int64_t id, const struct store_log *l, const char *name)
{
	char t[40];
	format_time_utc(l->time_ms * 1000000, t, sizeof(t));
	jw_obj_begin(j, NULL);
	jw_int(j, "id", id);
	jw_str(j, "system", l->system_id);
	if (name)
		jw_str(j, "name", name);
	jw_str(j, "source", l->source);
	jw_str(j, "time", t);
	jw_str(j, "level", logsev_name(l->level));
	jw_strn(j, "line", l->line, l->len);
	jw_obj_end(j);
}
