/*
 * search_parse.h - the search language (docs/search.md): a query text
 * parsed into a tree, or an error naming the column of the bad token.
 *
 *   query     := or
 *   or        := and ("or" and)*
 *   and       := unary (["and"] unary)*      juxtaposed terms are "and"
 *   unary     := "not" unary | "has" selector | "(" or ")" | selector
 *   selector  := FEATURE cond* | cond+       one record meets every cond
 *   cond      := FIELD OP value | WORD | "quoted text"
 *   OP        := = != ~ !~ < <= > >= in
 *   value     := WORD | "quoted" | /regex/ | /regex/i (after ~ !~)
 *              | "(" value ("," value)* ")"   (after in)
 *
 * A word is a FEATURE when the caller's is_feature() says so and no
 * operator follows it; a bare word (or quoted text) is full text over the
 * record's key and values.  Keywords (and, or, not, has; also upper case)
 * and feature names are searched as text when quoted.  The tree is pure
 * data; evaluation is search_eval.c's.  Limits: SQ_MAX_TEXT bytes of query,
 * SQ_MAX_NODES selectors and operators, SQ_MAX_DEPTH nesting.
 */
#ifndef VANTAGE_SEARCH_PARSE_H
#define VANTAGE_SEARCH_PARSE_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#define SQ_MAX_TEXT 4096
#define SQ_MAX_NODES 256
#define SQ_MAX_DEPTH 32
#define SQ_MAX_VALUES 256 /* of one `in` list */

enum sq_op { SQ_TEXT, SQ_EQ, SQ_NE, SQ_MATCH, SQ_NMATCH, SQ_LT, SQ_LE, SQ_GT, SQ_GE, SQ_IN };

struct sq_cond {
	enum sq_op op;
	char *field;  /* NULL for SQ_TEXT */
	char **vals;  /* the value(s), unquoted; SQ_TEXT: the word, lower case */
	size_t nvals; /* 1, or the list of `in` */
	regex_t *re;  /* ~ /regex/: compiled (REG_EXTENDED|REG_NOSUB) */
	bool num;     /* vals[0] is a number (num below) */
	double n;
	int col; /* 1-based column of the condition in the query */
};

enum sq_kind { SQ_AND, SQ_OR, SQ_NOT, SQ_SEL };

struct sq_node {
	enum sq_kind kind;
	struct sq_node *a, *b; /* AND, OR: both; NOT: a */
	/* SQ_SEL */
	char *feature; /* NULL: records of any feature */
	struct sq_cond *conds;
	size_t nconds;
	int col;
};

struct sq_error {
	int col;       /* 1-based column of the bad token (0: none) */
	char msg[200]; /* what is wrong */
};

/*
 * Parse `text`.  is_feature(word, ctx) says which words name a feature.
 * Returns the tree (sq_free() it), or NULL with *err filled.
 */
struct sq_node *sq_parse(const char *text, bool (*is_feature)(const char *word, void *ctx),
                         void *ctx, struct sq_error *err);
void sq_free(struct sq_node *n);

/* The error as two lines under a message: the query, then a caret under
 * the column ("  package name=\n               ^"), appended to out. */
struct buf;
void sq_error_show(const char *text, const struct sq_error *err, struct buf *out);

/* The operator's text ("=", "!~", "in"). */
const char *sq_op_name(enum sq_op op);

#endif
