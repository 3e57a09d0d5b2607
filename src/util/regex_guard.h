/*
 * regex_guard.h - a bound on what a POSIX extended regular expression from
 * a client costs to compile, checked before regcomp() (PromQL matchers,
 * the search language's /re/).
 *
 * glibc's regcomp() builds a tree in which every repetition copies what it
 * repeats: a{1000}{1000} is a million nodes (about a second), and stacked
 * operators grow exponentially (v followed by 22 '+' takes 17 s).  So a
 * pattern is refused, before it is compiled, when
 *   - a '*', '+' or '{' follows another repetition operator ("a++",
 *     "a*{2}": RE2, which Prometheus uses, refuses them too; a '?' after
 *     one is allowed: "a*?", RE2's lazy form, compiles as "(a*)?")
 *   - a bound {m,n} passes REGEX_GUARD_MAX_REPEAT (RE2's limit)
 *   - the tree it stands for, every repetition counted as the copies it
 *     makes, passes REGEX_GUARD_MAX_NODES
 * Anything else is left to regcomp() (syntax errors included).
 */
#ifndef VANTAGE_UTIL_REGEX_GUARD_H
#define VANTAGE_UTIL_REGEX_GUARD_H

#include <stddef.h>

#define REGEX_GUARD_MAX_REPEAT 1000
#define REGEX_GUARD_MAX_NODES 100000

/* 0, or -EINVAL with err saying what is refused. */
int regex_guard(const char *pat, char *err, size_t errlen);

#endif
