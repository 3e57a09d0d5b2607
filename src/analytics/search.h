/*
 * search.h - search across every record of every system: a query
 * (search_parse.h) evaluated over the index (search_index.h), answered
 * grouped by system (docs/search.md).
 *
 * Semantics.  A selector ("package name=openssl version<3.0.14") matches
 * records: of its feature (any feature when it names none), meeting every
 * condition.  At the level of systems a selector is "the system holds a
 * matching record" ("has" says so explicitly); and, or, not and
 * parentheses combine those.  The answer is the systems that pass, each
 * with the records its selectors matched (selectors under a "not" name
 * none; a system that passes only through "not" is named with no record).
 *
 * Conditions on a field test its leaves (an array's elements each):
 *   =  !=        equal text (numbers: equal value; a value "3306" equals
 *                3306); != needs the field and no leaf equal
 *   ~  !~        contains the text, any case; a value /re/ (or /re/i) is a
 *                POSIX extended regex instead; !~ needs the field
 *   < <= > >=    a package's "version" by its manager's ordering
 *                (search_version.h); numbers by value; other text by bytes
 *                (ISO times order so)
 *   in (a,b)     equal to one of the values
 * The pseudo-field "key" is the record's key.  A bare word is a
 * case-insensitive substring of the record's key or one of its values.
 *
 * Bounded: at most `limit` results (SEARCH_LIMIT_MAX at most), in system
 * order then feature and key; "total" counts them all.
 */
#ifndef VANTAGE_SEARCH_H
#define VANTAGE_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"
#include "search_index.h"
#include "search_parse.h"

#define SEARCH_LIMIT_DEFAULT 1000
#define SEARCH_LIMIT_MAX 100000

#define SEARCH_NO_RECORD UINT32_MAX

struct search_hit {
	uint32_t sys; /* system number */
	uint32_t rec; /* record, or SEARCH_NO_RECORD */
};

struct search_result {
	struct search_hit *hits; /* at most the limit, in order */
	size_t nhits;
	size_t total;   /* every (system, record) answer */
	size_t systems; /* systems that pass */
	bool truncated;
};

/* Parse `text` against the index's features (and every feature Vantage
 * has, and "system").  NULL with *err set. */
struct sq_node *search_parse(const struct search_index *ix, const char *text, struct sq_error *err);

/* Evaluate q over the index.  0 (allocation failures abort). */
int search_eval(const struct search_index *ix, const struct sq_node *q, size_t limit,
                struct search_result *r);
void search_result_free(struct search_result *r);

/* {"query":..., "results":[{"system","name","feature","key","value"}...],
 *  "systems":N, "total":N, "truncated":bool, "limit":N,
 *  "index":{"systems","records","pairs","postings","bytes","per_frame_bytes"}}
 * (at_ms > 0: also "at"). */
void search_result_json(const struct search_index *ix, const struct search_result *r,
                        const char *query, size_t limit, struct buf *out);

#endif
