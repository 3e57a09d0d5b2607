/*
 * display.c - the store's JSON made readable: parsed for display (jansson,
 * with the store's escapes of bytes that were not UTF-8 turned into text),
 * values as table cells, numbers and ages as people read them, and text
 * from observed systems printed without control characters.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/buf.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "display.h"

#include "../util/jload.h"

void print_json_text(const struct buf *b)
{
	fwrite(buf_str(b), 1, b->len, stdout);
	if (!b->len || b->data[b->len - 1] != '\n')
		putchar('\n');
}

const char *jstr(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* Text from the store (systems name themselves) without control characters. */
void put_safe(const char *s)
{
	for (; s && *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

json_t *load_display(const char *text, size_t len, json_error_t *e)
{
	return jload_lenient(text, len, e);
}

/* A number as people read it: integers whole, others with up to 3 decimals. */
void format_number(double v, char *dst, size_t cap)
{
	if (v == (double)(long long)v && v > -1e15 && v < 1e15) {
		snprintf(dst, cap, "%lld", (long long)v);
		return;
	}
	snprintf(dst, cap, "%.3f", v);
	char *dot = strchr(dst, '.');
	if (dot) {
		char *e = dst + strlen(dst) - 1;
		while (e > dot && *e == '0')
			*e-- = 0;
		if (e == dot)
			*e = 0;
	}
}

/* A JSON value as a cell: strings bare, numbers readable, the rest compact. */
char *value_text(const json_t *v)
{
	char num[64];
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		return strdup(num);
	}
	if (json_is_real(v)) {
		format_number(json_real_value(v), num, sizeof(num));
		return strdup(num);
	}
	if (json_is_null(v))
		return strdup("-");
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	return s ? s : strdup("?");
}

/* "5s ago", "3m ago", "2h ago", "4d ago" for an ISO time of the store. */
void age_of(const char *iso, int64_t now_ms, char *dst, size_t cap)
{
	int64_t t;
	if (!iso || parse_time_iso(iso, strlen(iso), &t) < 0 || !strchr(iso, 'T')) {
		snprintf(dst, cap, "%s", iso && *iso ? iso : "-");
		return;
	}
	int64_t s = (now_ms - t) / 1000;
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(dst, cap, "%llds ago", (long long)s);
	else if (s < 7200)
		snprintf(dst, cap, "%lldm ago", (long long)(s / 60));
	else if (s < 2 * 86400)
		snprintf(dst, cap, "%lldh ago", (long long)(s / 3600));
	else
		snprintf(dst, cap, "%lldd ago", (long long)(s / 86400));
}

/* The part of an id after its last ':' (container id, machine id). */
const char *id_tail(const char *id)
{
	const char *c = strrchr(id, ':');
	return c ? c + 1 : id;
}

/* A long hex id (container id, machine id): shown by its first 12 digits,
 * like `vantage ls` and container runtimes do. */
bool is_hex_id(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");
	return n >= 32 && !s[n];
}
