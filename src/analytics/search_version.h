/*
 * search_version.h - version strings compared the way each package
 * manager orders them, for the search operators < <= > >= on a package's
 * version (docs/search.md).
 *
 *   dpkg  [epoch:]upstream[-revision] (deb-version(7)): the epoch as a
 *         number, then upstream and revision each by dpkg's verrevcmp:
 *         runs of non-digits compared character by character with '~'
 *         before everything (even the end), letters before other signs,
 *         then runs of digits as numbers.  1:1.0 > 2.0, 1.0~rc1 < 1.0.
 *   rpm   [epoch:]version[-release]: the epoch as a number, then version
 *         and release each by rpmvercmp (alphanumeric segments, numbers
 *         beat letters, '~' sorts before and '^' after the end).
 *         1.1.1k < 1.1.1l.
 *   apk   numbers separated by '.', an optional letter, suffixes
 *         (_alpha < _beta < _pre < _rc < none < _cvs < _svn < _git < _hg
 *         < _p, each with an optional number) and -rN (apk-tools'
 *         order).  1.2_rc1 < 1.2 < 1.2-r1 < 1.2_p1.
 * Any other manager (or none): dpkg's verrevcmp over the whole string.
 *
 * Each returns <0, 0 or >0 like strcmp; pure functions of their input.
 */
#ifndef VANTAGE_SEARCH_VERSION_H
#define VANTAGE_SEARCH_VERSION_H

int vercmp_dpkg(const char *a, const char *b);
int vercmp_rpm(const char *a, const char *b);
int vercmp_apk(const char *a, const char *b);
/* By manager name ("dpkg", "rpm", "apk"; NULL or other: dpkg's
 * verrevcmp on the whole strings). */
int vercmp(const char *manager, const char *a, const char *b);

#endif
