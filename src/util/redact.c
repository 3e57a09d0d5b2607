/*
 * redact.c - secrets out of text (see redact.h).  A line at a time, no
 * regular expressions: a config crawl passes every file of /etc through it.
 */
#include "redact.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_tokc(char c)
{
	return is_alnum(c) || c == '_' || c == '-';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* does s[0..n) contain `pat` (ASCII, any case)? */
static const char *find_ci(const char *s, size_t n, const char *pat)
{
	size_t m = strlen(pat);
	for (size_t i = 0; i + m <= n; i++) {
		size_t k = 0;
		while (k < m && lower(s[i + k]) == pat[k])
			k++;
		if (k == m)
			return s + i;
	}
	return NULL;
}

/* The key k[0..n) names a secret: its last word is one of the words. */
static bool secret_key(const char *k, size_t n)
{
	static const char *const words[] = {
	    "password",  "passwd",    "passphrase", "pwd",         "secret",     "token",
	    "apikey",    "api_key",   "api-key",    "access_key",  "secret_key", "private_key",
	    "accesskey", "secretkey", "privatekey", "credentials", "psk",        "client_secret",
	};
	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t m = strlen(words[i]);
		if (m > n)
			continue;
		size_t at = n - m;
		size_t j = 0;
		while (j < m && lower(k[at + j]) == words[i][j])
			j++;
		if (j < m)
			continue;
		/* a word boundary before it: start, a separator, or a capital
		 * (dbPassword) */
		if (at == 0 || k[at - 1] == '_' || k[at - 1] == '-' || k[at - 1] == '.' ||
		    (k[at] >= 'A' && k[at] <= 'Z' && k[at - 1] >= 'a' && k[at - 1] <= 'z'))
			return true;
	}
	return false;
}

/*
 * The value of an assignment whose key is a secret word, in line l[0..n):
 * sets [*vs, *ve) to the value (inside its quotes) and returns true.
 */
static bool assignment(const char *l, size_t n, size_t *vs, size_t *ve)
{
	size_t i = 0;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	if (i < n && (l[i] == '#' || l[i] == ';'))
		return false; /* a comment */
	if (n - i > 7 && memcmp(l + i, "export ", 7) == 0)
		i += 7;
	if (i < n && l[i] == '-' && i + 1 < n && l[i + 1] == ' ')
		i += 2; /* a YAML list item "- password: x" */
	bool quoted = i < n && (l[i] == '"' || l[i] == '\'');
	if (quoted)
		i++;
	size_t ks = i;
	while (i < n && (is_tokc(l[i]) || l[i] == '.'))
		i++;
	size_t ke = i;
	if (quoted && i < n && (l[i] == '"' || l[i] == '\''))
		i++;
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	if (i >= n || (l[i] != '=' && l[i] != ':') || !secret_key(l + ks, ke - ks))
		return false;
	char sep = l[i++];
	if (sep == ':' && i < n && l[i] != ' ' && l[i] != '\t' && l[i] != '"' && l[i] != '\'')
		return false; /* "key:value" without a blank: a URL or a time, not YAML */
	while (i < n && (l[i] == ' ' || l[i] == '\t'))
		i++;
	size_t e = n;
	while (e > i && (l[e - 1] == ' ' || l[e - 1] == '\t' || l[e - 1] == '\r'))
		e--;
	if (e > i && l[e - 1] == ',') /* JSON: "password": "x", */
		e--;
	if (e > i + 1 && (l[i] == '"' || l[i] == '\'') && l[e - 1] == l[i]) {
		i++;
		e--;
	}
	if (e <= i)
		return false; /* empty: nothing to hide */
	*vs = i;
	*ve = e;
	return true;
}

/* A token of a known shape starting at l[i] (with l[0..n)): its length. */
static size_t token_at(const char *l, size_t n, size_t i)
{
	static const char *const prefixes[] = {"ghp_",        "gho_",   "ghu_",  "ghs_",  "ghr_",
	                                       "github_pat_", "glpat-", "xoxb-", "xoxp-", "xoxa-",
	                                       "xoxr-",       "xoxs-",  "AIza"};
	if (i > 0 && is_tokc(l[i - 1]))
		return 0; /* only at the start of a word */
	for (size_t p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++) {
		size_t m = strlen(prefixes[p]);
		if (i + m > n || memcmp(l + i, prefixes[p], m) != 0)
			continue;
		size_t e = i + m;
		while (e < n && is_tokc(l[e]))
			e++;
		if (e - i - m >= 16)
			return e - i;
	}
	/* a JSON Web Token: eyJ<b64url>.eyJ<b64url>.<b64url> */
	if (i + 3 < n && memcmp(l + i, "eyJ", 3) == 0) {
		size_t e = i, dots = 0;
		while (e < n && (is_tokc(l[e]) || l[e] == '.')) {
			dots += l[e] == '.';
			e++;
		}
		if (dots == 2 && e - i >= 24)
			return e - i;
	}
	/* crypt(3): $1$ $5$ $6$ $y$ $2a$ $2b$ $2y$ $argon2id$ then salt$hash */
	if (l[i] == '$' && i + 3 < n) {
		size_t e = i + 1;
		while (e < n && e - i < 12 && (is_alnum(l[e])))
			e++;
		if (e < n && l[e] == '$' && e > i + 1) {
			size_t dollars = 2, s = e + 1;
			while (s < n && (is_alnum(l[s]) || l[s] == '.' || l[s] == '/' ||
			                 l[s] == '$' || l[s] == '=' || l[s] == ',')) {
				dollars += l[s] == '$';
				s++;
			}
			if (dollars >= 3 && s - i >= 20)
				return s - i;
		}
	}
	return 0;
}

void redact_query(const char *target, char *out, size_t outlen)
{
	static const char *const extra[] = {"key", "auth", "sig", "signature"};
	size_t o = 0;
	if (!outlen)
		return;
#define PUT(c)                                                                                     \
	do {                                                                                       \
		if (o + 1 < outlen)                                                                \
			out[o++] = (c);                                                            \
	} while (0)
	const char *q = strchr(target, '?');
	size_t head = q ? (size_t)(q - target) + 1 : strlen(target);
	for (size_t i = 0; i < head; i++)
		PUT(target[i]);
	const char *p = q ? q + 1 : target + head;
	while (q && *p) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		size_t kn = eq ? (size_t)(eq - p) : n;
		bool secret = eq && secret_key(p, kn);
		for (size_t i = 0; !secret && eq && i < sizeof(extra) / sizeof(extra[0]); i++)
			secret = strlen(extra[i]) == kn && strncasecmp(p, extra[i], kn) == 0;
		size_t upto = secret ? kn + 1 : n;
		for (size_t i = 0; i < upto; i++)
			PUT(p[i]);
		if (secret)
			for (const char *r = REDACTED; *r; r++)
				PUT(*r);
		if (!amp)
			break;
		PUT('&');
		p = amp + 1;
	}
#undef PUT
	out[o] = '\0';
}

/* A JSON member "KEY": "VALUE" at l[i] whose key is a secret word: the
 * value's bounds (inside its quotes). */
static bool json_member(const char *l, size_t n, size_t i, size_t *vs, size_t *ve)
{
	if (l[i] != '"')
		return false;
	size_t ks = i + 1, k = ks;
	while (k < n && (is_tokc(l[k]) || l[k] == '.'))
		k++;
	if (k >= n || l[k] != '"' || !secret_key(l + ks, k - ks))
		return false;
	k++;
	while (k < n && l[k] == ' ')
		k++;
	if (k >= n || l[k] != ':')
		return false;
	k++;
	while (k < n && l[k] == ' ')
		k++;
	if (k >= n || l[k] != '"')
		return false;
	size_t s = ++k;
	while (k < n && l[k] != '"')
		k += l[k] == '\\' && k + 1 < n ? 2 : 1;
	if (k >= n || k == s)
		return false;
	*vs = s;
	*ve = k;
	return true;
}

/* One line (without its newline) into out, its secrets replaced. */
static size_t redact_line(const char *l, size_t n, struct buf *out)
{
	size_t count = 0, vs, ve;
	if (assignment(l, n, &vs, &ve)) {
		buf_add(out, l, vs);
		buf_adds(out, REDACTED);
		buf_add(out, l + ve, n - ve);
		return 1;
	}
	const char *auth = find_ci(l, n, "authorization:");
	size_t from = 0;
	for (size_t i = 0; i < n; i++) {
		size_t t;
		if (auth && l + i == auth) { /* Authorization: Bearer XXX */
			size_t j = i + 14;
			while (j < n && l[j] == ' ')
				j++;
			while (j < n && is_alnum(l[j])) /* the scheme */
				j++;
			while (j < n && l[j] == ' ')
				j++;
			size_t e = j;
			while (e < n && l[e] != ' ' && l[e] != '"' && l[e] != '\'' && l[e] != '\r')
				e++;
			if (e > j) {
				buf_add(out, l + from, j - from);
				buf_adds(out, REDACTED);
				count++;
				from = e;
				i = e - 1;
				continue;
			}
		}
		/* scheme://user:PASSWORD@host */
		if (l[i] == ':' && i + 2 < n && l[i + 1] == '/' && l[i + 2] == '/') {
			size_t u = i + 3, c = 0, at = 0;
			for (size_t j = u; j < n && l[j] != '/' && l[j] != ' ' && l[j] != '"' &&
			                   l[j] != '\'' && l[j] != '\t';
			     j++) {
				if (l[j] == ':' && !c)
					c = j;
				if (l[j] == '@')
					at = j;
			}
			if (c && at > c + 1) {
				buf_add(out, l + from, c + 1 - from);
				buf_adds(out, REDACTED);
				count++;
				from = at;
				i = at;
				continue;
			}
		}
		if (json_member(l, n, i, &vs, &ve)) {
			buf_add(out, l + from, vs - from);
			buf_adds(out, REDACTED);
			count++;
			from = ve;
			i = ve - 1;
			continue;
		}
		if ((t = token_at(l, n, i)) > 0) {
			buf_add(out, l + from, i - from);
			buf_adds(out, REDACTED);
			count++;
			from = i + t;
			i += t - 1;
		}
	}
	buf_add(out, l + from, n - from);
	return count;
}

size_t redact_text(const char *in, size_t len, struct buf *out)
{
	size_t count = 0, i = 0;
	bool in_key = false;
	while (i < len) {
		const char *l = in + i;
		const char *nl = memchr(l, '\n', len - i);
		size_t n = nl ? (size_t)(nl - l) : len - i;
		if (in_key) { /* a key's lines are dropped: one REDACTED line stands for them */
			if (find_ci(l, n, "-----end ")) {
				in_key = false;
				buf_add(out, l, n);
				if (nl)
					buf_addc(out, '\n');
			}
		} else if (find_ci(l, n, "-----begin ") && find_ci(l, n, "private key") &&
		           !find_ci(l, n, "-----end ")) {
			buf_add(out, l, n);
			buf_adds(out, "\n" REDACTED "\n");
			count++;
			in_key = true;
		} else {
			count += redact_line(l, n, out);
			if (nl)
				buf_addc(out, '\n');
		}
		if (!nl)
			break;
		i += n + 1;
	}
	return count;
}
