/*
 * jload.h - parse JSON that Vantage wrote (frames, the store's answers)
 * into jansson values, although it holds lone surrogate escapes (\udcXX:
 * a byte that was not UTF-8 in the observed system, util/json.h) that
 * jansson refuses: each becomes the text \xXX (another lone surrogate
 * '?'), a NUL the text \0.  Valid surrogate pairs are kept.  NULL with *e
 * set (e may be NULL) when it is not JSON.
 */
#ifndef VANTAGE_UTIL_JLOAD_H
#define VANTAGE_UTIL_JLOAD_H

#include <jansson.h>
#include <stddef.h>

json_t *jload_lenient(const char *text, size_t len, json_error_t *e);

#endif
