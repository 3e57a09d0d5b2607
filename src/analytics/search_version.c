/*
 * search_version.c - version ordering of dpkg, rpm and apk (see
 * search_version.h).  The algorithms follow dpkg's lib/dpkg/version.c
 * (verrevcmp), rpm's rpmio/rpmvercmp.c and apk-tools' src/version.c; they
 * never read past the strings' ends and take any bytes.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "search_version.h"

static int sign(long long v)
{
	return v < 0 ? -1 : v > 0;
}

/* ---- dpkg ---- */

static int dpkg_order(int c)
{
	if (isdigit(c))
		return 0;
	if (isalpha(c))
		return c;
	if (c == '~')
		return -1;
	if (c)
		return c + 256;
	return 0;
}

/* dpkg's verrevcmp over [a, ae) and [b, be). */
static int verrevcmp(const char *a, const char *ae, const char *b, const char *be)
{
	while (a < ae || b < be) {
		int first_diff = 0;
		while ((a < ae && !isdigit((unsigned char)*a)) ||
		       (b < be && !isdigit((unsigned char)*b))) {
			int ac = a < ae ? dpkg_order((unsigned char)*a) : 0;
			int bc = b < be ? dpkg_order((unsigned char)*b) : 0;
			if (ac != bc)
				return sign(ac - bc);
			if (a < ae)
				a++;
			if (b < be)
				b++;
		}
		while (a < ae && *a == '0')
			a++;
		while (b < be && *b == '0')
			b++;
		while (a < ae && isdigit((unsigned char)*a) && b < be &&
		       isdigit((unsigned char)*b)) {
			if (!first_diff)
				first_diff = *a - *b;
			a++;
			b++;
		}
		if (a < ae && isdigit((unsigned char)*a))
			return 1;
		if (b < be && isdigit((unsigned char)*b))
			return -1;
		if (first_diff)
			return sign(first_diff);
	}
	return 0;
}

/* An epoch "N:" at the start: its value (0 when none) and where the rest
 * starts. */
static unsigned long long epoch_of(const char *v, const char **rest)
{
	const char *c = strchr(v, ':');
	*rest = v;
	if (!c || c == v)
		return 0;
	unsigned long long e = 0;
	for (const char *p = v; p < c; p++) {
		if (!isdigit((unsigned char)*p))
			return 0;
		e = e > 1000000000000ULL ? e : e * 10 + (unsigned)(*p - '0');
	}
	*rest = c + 1;
	return e;
}

int vercmp_dpkg(const char *a, const char *b)
{
	const char *ra, *rb;
	unsigned long long ea = epoch_of(a, &ra), eb = epoch_of(b, &rb);
	if (ea != eb)
		return ea < eb ? -1 : 1;
	const char *da = strrchr(ra, '-'), *db = strrchr(rb, '-');
	const char *ua_end = da ? da : ra + strlen(ra), *ub_end = db ? db : rb + strlen(rb);
	int r = verrevcmp(ra, ua_end, rb, ub_end);
	if (r)
		return r;
	const char *va = da ? da + 1 : "", *vb = db ? db + 1 : "";
	return verrevcmp(va, va + strlen(va), vb, vb + strlen(vb));
}

/* ---- rpm ---- */

/* rpmvercmp over [a, ae) and [b, be). */
static int rpmvercmp(const char *one, const char *oe, const char *two, const char *te)
{
	if (oe - one == te - two && memcmp(one, two, (size_t)(oe - one)) == 0)
		return 0;
	while (one < oe || two < te) {
		while (one < oe && !isalnum((unsigned char)*one) && *one != '~' && *one != '^')
			one++;
		while (two < te && !isalnum((unsigned char)*two) && *two != '~' && *two != '^')
			two++;
		bool o = one < oe, t = two < te;
		if ((o && *one == '~') || (t && *two == '~')) {
			if (!o || *one != '~')
				return 1;
			if (!t || *two != '~')
				return -1;
			one++;
			two++;
			continue;
		}
		if ((o && *one == '^') || (t && *two == '^')) {
			if (!o)
				return -1;
			if (!t)
				return 1;
			if (*one != '^')
				return 1;
			if (*two != '^')
				return -1;
			one++;
			two++;
			continue;
		}
		if (!o || !t)
			break;
		const char *s1 = one, *s2 = two;
		bool isnum = isdigit((unsigned char)*s1);
		if (isnum) {
			while (s1 < oe && isdigit((unsigned char)*s1))
				s1++;
			while (s2 < te && isdigit((unsigned char)*s2))
				s2++;
		} else {
			while (s1 < oe && isalpha((unsigned char)*s1))
				s1++;
			while (s2 < te && isalpha((unsigned char)*s2))
				s2++;
		}
		if (s2 == two)
			return isnum ? 1 : -1;
		if (isnum) {
			while (one < s1 && *one == '0')
				one++;
			while (two < s2 && *two == '0')
				two++;
			if (s1 - one > s2 - two)
				return 1;
			if (s2 - two > s1 - one)
				return -1;
		}
		size_t l1 = (size_t)(s1 - one), l2 = (size_t)(s2 - two);
		int rc = memcmp(one, two, l1 < l2 ? l1 : l2);
		if (rc)
			return rc < 0 ? -1 : 1;
		if (l1 != l2)
			return l1 < l2 ? -1 : 1;
		one = s1;
		two = s2;
	}
	if (one >= oe && two >= te)
		return 0;
	return one >= oe ? -1 : 1;
}

int vercmp_rpm(const char *a, const char *b)
{
	const char *ra, *rb;
	unsigned long long ea = epoch_of(a, &ra), eb = epoch_of(b, &rb);
	if (ea != eb)
		return ea < eb ? -1 : 1;
	const char *da = strrchr(ra, '-'), *db = strrchr(rb, '-');
	const char *va_end = da ? da : ra + strlen(ra), *vb_end = db ? db : rb + strlen(rb);
	int r = rpmvercmp(ra, va_end, rb, vb_end);
	if (r || !da || !db) /* a missing release matches any (rpm's rule) */
		return r;
	return rpmvercmp(da + 1, da + 1 + strlen(da + 1), db + 1, db + 1 + strlen(db + 1));
}

/* ---- apk ---- */

/* apk's suffixes, in order; "none" sits between the pre- and the
 * post-release ones. */
static const char *const apk_pre[] = {"alpha", "beta", "pre", "rc"};
static const char *const apk_post[] = {"cvs", "svn", "git", "hg", "p"};

/* The rank of the suffix at p (after '_'), its length in *n; unknown
 * suffixes rank after every known one. */
static int apk_suffix(const char *p, size_t *n)
{
	size_t l = 0;
	while (isalpha((unsigned char)p[l]))
		l++;
	*n = l;
	for (int i = 0; i < 4; i++)
		if (strlen(apk_pre[i]) == l && memcmp(apk_pre[i], p, l) == 0)
			return i - 4;
	for (int i = 0; i < 5; i++)
		if (strlen(apk_post[i]) == l && memcmp(apk_post[i], p, l) == 0)
			return i + 1;
	return 6;
}

static unsigned long long apk_num(const char **p)
{
	unsigned long long v = 0;
	while (isdigit((unsigned char)**p)) {
		if (v < 100000000000000000ULL)
			v = v * 10 + (unsigned)(**p - '0');
		(*p)++;
	}
	return v;
}

static int cmp_ull(unsigned long long a, unsigned long long b)
{
	return a < b ? -1 : a > b;
}

int vercmp_apk(const char *a, const char *b)
{
	/* the numbers */
	for (;;) {
		bool da = isdigit((unsigned char)*a), db = isdigit((unsigned char)*b);
		if (!da || !db) {
			if (da != db) /* more numbers is newer: 1.2.1 > 1.2, 1.2.1 > 1.2_rc1 */
				return da ? 1 : -1;
			break;
		}
		int r = cmp_ull(apk_num(&a), apk_num(&b));
		if (r)
			return r;
		bool ma = a[0] == '.' && isdigit((unsigned char)a[1]);
		bool mb = b[0] == '.' && isdigit((unsigned char)b[1]);
		if (ma != mb)
			return ma ? 1 : -1;
		if (!ma)
			break;
		a++;
		b++;
	}
	/* a letter after the numbers */
	int la = isalpha((unsigned char)*a) ? (unsigned char)*a++ : 0;
	int lb = isalpha((unsigned char)*b) ? (unsigned char)*b++ : 0;
	if (la != lb)
		return la < lb ? -1 : 1;
	/* suffixes: _name[N]... */
	while (*a == '_' || *b == '_') {
		size_t na = 0, nb = 0;
		int sa = *a == '_' ? apk_suffix(a + 1, &na) : 0;
		int sb = *b == '_' ? apk_suffix(b + 1, &nb) : 0;
		if (sa != sb)
			return sa < sb ? -1 : 1;
		if (sa == 6) { /* two unknown suffixes: by name */
			int r = strncmp(a + 1, b + 1, na < nb ? na : nb);
			if (r || na != nb)
				return r ? sign(r) : (na < nb ? -1 : 1);
		}
		a += 1 + na;
		b += 1 + nb;
		int r = cmp_ull(apk_num(&a), apk_num(&b));
		if (r)
			return r;
	}
	/* -rN */
	unsigned long long ra = 0, rb = 0;
	if (a[0] == '-' && a[1] == 'r') {
		a += 2;
		ra = apk_num(&a);
	}
	if (b[0] == '-' && b[1] == 'r') {
		b += 2;
		rb = apk_num(&b);
	}
	int r = cmp_ull(ra, rb);
	if (r)
		return r;
	/* whatever is left (not an apk version): byte order */
	return sign(strcmp(a, b));
}

int vercmp(const char *manager, const char *a, const char *b)
{
	if (manager && strcmp(manager, "dpkg") == 0)
		return vercmp_dpkg(a, b);
	if (manager && strcmp(manager, "rpm") == 0)
		return vercmp_rpm(a, b);
	if (manager && strcmp(manager, "apk") == 0)
		return vercmp_apk(a, b);
	return verrevcmp(a, a + strlen(a), b, b + strlen(b));
}
