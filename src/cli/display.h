/*
 * display.h - helpers the store queries (systems.c, show.c, metrics.c)
 * share to print the store's JSON for people: see display.c.
 */
#ifndef VANTAGE_CLI_DISPLAY_H
#define VANTAGE_CLI_DISPLAY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"

/* The store's JSON text as it is, ending with a newline (--json). */
void print_json_text(const struct buf *b);
/* The string member `key` of o, "" when absent or not a string. */
const char *jstr(const json_t *o, const char *key);
/* Text from the store (systems name themselves) without control characters. */
void put_safe(const char *s);
/* Parse the store's JSON for display: a byte that was not UTF-8 (\udcXX)
 * becomes the text \xXX, a NUL the text \0.  NULL with *e set (e may be
 * NULL) when it is not JSON. */
json_t *load_display(const char *text, size_t len, json_error_t *e);
/* A number as people read it: integers whole, others with up to 3 decimals. */
void format_number(double v, char *dst, size_t cap);
/* A JSON value as a cell (caller frees): strings bare, numbers readable,
 * null "-", the rest compact JSON. */
char *value_text(const json_t *v);
/* "5s ago", "3m ago", "2h ago", "4d ago" for an ISO time of the store. */
void age_of(const char *iso, int64_t now_ms, char *dst, size_t cap);
/* The part of an id after its last ':' (container id, machine id). */
const char *id_tail(const char *id);
/* A long hex id (32 digits or more): shown by its first 12 digits. */
bool is_hex_id(const char *s);

#endif
