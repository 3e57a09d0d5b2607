/*
 * fake_frame.c - reading back a frame crawled by fake_crawl() (see
 * fake_view.h): JSON Lines parsed with jansson, the header apart, and
 * lookups of records and header counts for the tests' assertions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fake_view.h"

void fake_frame_parse(struct fake_frame *fr)
{
	const char *p = fr->text, *end = fr->text + fr->len;
	fr->recs = json_array();
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_error_t err;
		json_t *rec = json_loadb(p, n, JSON_ALLOW_NUL, &err);
		if (!rec)
			fail_msg("record not JSON (%s): %.*s", err.text, (int)n, p);
		json_t *feat = json_object_get(rec, "feature");
		assert_true(json_is_string(feat));
		if (strcmp(json_string_value(feat), "frame") == 0) {
			assert_null(fr->head);
			fr->head = json_incref(json_object_get(rec, "value"));
			json_decref(rec);
		} else {
			json_array_append_new(fr->recs, rec);
		}
		p += n + 1;
	}
	assert_non_null(fr->head);
}

void fake_frame_free(struct fake_frame *fr)
{
	free(fr->text);
	json_decref(fr->head);
	json_decref(fr->recs);
	memset(fr, 0, sizeof(*fr));
}

json_t *fake_value(const struct fake_frame *fr, const char *key)
{
	size_t i;
	json_t *rec;
	json_array_foreach(fr->recs, i, rec)
	{
		json_t *k = json_object_get(rec, "key");
		if (json_is_string(k) && strcmp(json_string_value(k), key) == 0)
			return json_object_get(rec, "value");
	}
	return NULL;
}

size_t fake_nrecs(const struct fake_frame *fr)
{
	return json_array_size(fr->recs);
}

static uint64_t head_count(const struct fake_frame *fr, const char *what, const char *feature)
{
	json_t *o = json_object_get(fr->head, what);
	assert_true(json_is_object(o));
	json_t *n = json_object_get(o, feature);
	return json_is_integer(n) ? (uint64_t)json_integer_value(n) : 0;
}

uint64_t fake_errors(const struct fake_frame *fr, const char *feature)
{
	return head_count(fr, "errors", feature);
}

uint64_t fake_skipped(const struct fake_frame *fr, const char *feature)
{
	return head_count(fr, "skipped", feature);
}

bool fake_message(const struct fake_frame *fr, const char *feature, const char *part)
{
	json_t *msgs = json_object_get(json_object_get(fr->head, "messages"), feature);
	size_t i;
	json_t *m;
	json_array_foreach(msgs, i, m)
	{
		if (json_is_string(m) && strstr(json_string_value(m), part))
			return true;
	}
	return false;
}

const char *fake_str(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);
	if (!json_is_string(v))
		fail_msg("field %s: not a string", name);
	return json_string_value(v);
}

double fake_num(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);
	if (!json_is_number(v))
		fail_msg("field %s: not a number", name);
	return json_number_value(v);
}

bool fake_has(json_t *obj, const char *name)
{
	return json_object_get(obj, name) != NULL;
}
