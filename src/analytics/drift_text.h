/*
 * drift_text.h - what changed inside a text file: the changed lines, and
 * for key=value, "key value" and INI files the changed keys.
 *
 * Lines are compared by a longest common subsequence (files up to
 * DRIFT_TEXT_MAX_LINES lines a side; longer ones by the lines each side
 * lacks).  Keys: a line "key = value", "key: value" or "key value"
 * (comments '#' and ';' and blank lines skipped) under an INI "[section]"
 * is the key "section.key".  A key whose lines repeat keeps its last
 * value, as most parsers of such files do.
 */
#ifndef VANTAGE_DRIFT_TEXT_H
#define VANTAGE_DRIFT_TEXT_H

#include <jansson.h>

#define DRIFT_TEXT_MAX_LINES 4000

/*
 * Compare two texts.  *lines gets ["-old line", "+new line", ...] in file
 * order (at most `max_lines` entries, then "... N more"); *keys gets
 * {"key": [before, after]} (null for a key one side lacks), or NULL when
 * neither text looks like key/value lines.  Both new references.
 */
void drift_text_diff(const char *a, size_t alen, const char *b, size_t blen, size_t max_lines,
                     json_t **lines, json_t **keys);

#endif
