/*
 * drift_rules.h - the prior of a change: how much a change of one field of
 * one feature's record matters, before any evidence.  Data, not code: a
 * rules file of one rule a line (docs/drift.md), the built-in rules first
 * and a user's file after them; the LAST rule that matches wins.
 *
 *   FEATURE  FIELD  CHANGE  WEIGHT  [key GLOB]  [when FIELD OP VALUE]
 *
 *   FEATURE  a feature name or *
 *   FIELD    a field of the record's value or * (for an added or removed
 *            record the field is "*": only rules with FIELD * match)
 *   CHANGE   added, removed, changed or *
 *   WEIGHT   a number from 0 to 1; "volatile" (0.02: changes that two
 *            healthy moments show, sunk below the noise line) or "drop" (0:
 *            never an entry, not even with --all)
 *   key GLOB the record's key matches the shell pattern (fnmatch)
 *   when     the record's value (the new one; the old one of a removed
 *            record) has FIELD OP VALUE, OP one of = != < <= > >=;
 *            numbers compare as numbers, anything else as text
 *
 * '#' starts a comment; blank lines are skipped.
 */
#ifndef VANTAGE_DRIFT_RULES_H
#define VANTAGE_DRIFT_RULES_H

#include <jansson.h>
#include <stddef.h>

#define DRIFT_VOLATILE 0.02

enum drift_change { DRIFT_ADDED, DRIFT_REMOVED, DRIFT_CHANGED };

struct drift_rule;

struct drift_rules {
	struct drift_rule *r;
	size_t n, cap;
};

/* The built-in rules, as text (what `vantage diff --print-rules` shows). */
extern const char drift_default_rules[];

/* Parse rules text into *rs (appended).  `what` names the source in errors
 * ("FILE line 3: ..."); 0 or -EINVAL with err set. */
int drift_rules_parse(struct drift_rules *rs, const char *text, size_t len, const char *what,
                      char *err, size_t errlen);
/* The built-in rules, then the file `path` when not NULL (read whole,
 * at most 1 MiB). */
int drift_rules_load(struct drift_rules *rs, const char *path, char *err, size_t errlen);
void drift_rules_free(struct drift_rules *rs);

/*
 * The weight of a change to `field` ("*" for an added/removed record) of a
 * record (feature, key, value as its JSON text: `when` conditions read the
 * field from it without parsing the whole value).  *why gets the rule's text and where it
 * came from ("built-in line 12: process pid changed volatile"); a default
 * of 0.5 when nothing matches.
 */
double drift_rules_weight(const struct drift_rules *rs, const char *feature, const char *key,
                          const char *field, enum drift_change change, const char *text, size_t len,
                          const char **why);

const char *drift_change_name(enum drift_change c);

#endif
