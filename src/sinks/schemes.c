/*
 * schemes.c - the table of sink URL schemes, and sink_open() (sinks.h).
 *
 * A sink is added by writing its file (ending in its sink_ops and a
 * `const struct sink_scheme sink_scheme_<name>`) and adding one row below.
 * Rows with no open() are schemes planned but not built: they are named
 * in messages so a user knows the URL was understood.
 */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <unistd.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../util/util.h"
#include "sinks.h"
#include "spool.h"

extern const struct sink_scheme sink_scheme_file, sink_scheme_sqlite, sink_scheme_store;
extern const struct sink_scheme sink_scheme_http, sink_scheme_https, sink_scheme_kafka;
extern const struct sink_scheme sink_scheme_sflow;
extern const struct sink_scheme sink_scheme_graphite;

static const struct sink_scheme *const schemes[] = {
    &sink_scheme_file, &sink_scheme_sqlite, &sink_scheme_store,    &sink_scheme_kafka,
    &sink_scheme_http, &sink_scheme_https,  &sink_scheme_graphite, &sink_scheme_sflow,
};

#define NSCHEMES (sizeof(schemes) / sizeof(schemes[0]))

static char list[512];
static pthread_once_t list_once = PTHREAD_ONCE_INIT;

static void make_list(void)
{
	size_t n = (size_t)snprintf(list, sizeof(list), "-, PATH");
	for (size_t i = 0; i < NSCHEMES && n < sizeof(list); i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, ", %s%s", schemes[i]->usage,
		                      schemes[i]->open ? "" : " (not built)");
}

const char *sink_schemes(void)
{
	pthread_once(&list_once, make_list);
	return list;
}

/* Length of the scheme of `url` ("[A-Za-z][A-Za-z0-9+.-]*:"), or 0. */
static size_t scheme_len(const char *url)
{
	size_t i = 0;
	if (!((url[0] >= 'a' && url[0] <= 'z') || (url[0] >= 'A' && url[0] <= 'Z')))
		return 0;
	for (i = 1; url[i] && url[i] != ':'; i++) {
		char c = url[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '.' || c == '-'))
			return 0;
	}
	return url[i] == ':' ? i : 0;
}

int sink_open(const char *url, const struct sink_env *env, struct sink **out, char *err,
              size_t errlen)
{
	*out = NULL;
	if (errlen)
		err[0] = 0;
	if (!url || !*url) {
		snprintf(err, errlen, "sink \"\": empty (sinks: %s)", sink_schemes());
		return -EINVAL;
	}
	size_t n = scheme_len(url);
	if (n) {
		for (size_t i = 0; i < NSCHEMES; i++) {
			const struct sink_scheme *sc = schemes[i];
			if (strlen(sc->scheme) != n || strncasecmp(url, sc->scheme, n) != 0)
				continue;
			if (!sc->open) {
				snprintf(err, errlen,
				         "sink \"%s\": the %s sink is not built into this vantage "
				         "(sinks: %s)",
				         url, sc->scheme, sink_schemes());
				return -ENOTSUP;
			}
			return sc->open(url, url + n + 1, env, out, err, errlen);
		}
		if (strncmp(url + n + 1, "//", 2) == 0) {
			snprintf(err, errlen, "sink \"%s\": unknown scheme \"%.*s\" (sinks: %s)",
			         url, (int)n, url, sink_schemes());
			return -EINVAL;
		}
	}
	/* "-" or a plain path (even one with a ':' in it, "out:1.json") */
	return sink_scheme_file.open(url, url, env, out, err, errlen);
}

/* ---- spools and URL options of the sinks ----------------------------------- */

void sink_spool_base(const struct sink_env *env, char *dst, size_t cap)
{
	if (env && env->spool_dir && *env->spool_dir) {
		snprintf(dst, cap, "%s", env->spool_dir);
	} else if (env && env->store_path && *env->store_path) {
		char tmp[4096];
		snprintf(tmp, sizeof(tmp), "%s", env->store_path);
		snprintf(dst, cap, "%s/spool", dirname(tmp));
	} else if (geteuid() == 0) {
		snprintf(dst, cap, "/var/lib/vantage/spool");
	} else {
		const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
		if (state && *state == '/')
			snprintf(dst, cap, "%s/vantage/spool", state);
		else
			snprintf(dst, cap, "%s/.local/state/vantage/spool", home ? home : "/tmp");
	}
}

int sink_spool_open(const char *url, const char *name, const struct sink_env *env,
                    struct spool **out, char *err, size_t errlen)
{
	char base[2048], dir[4096];
	sink_spool_base(env, base, sizeof(base));
	spool_dir_for(base, url, dir, sizeof(dir));
	struct spool_opts o = {
	    .dir = dir,
	    .name = name,
	    .max_bytes = env ? env->spool_max_bytes : 0,
	    .max_age_s = env ? env->spool_max_age_s : 0,
	};
	return spool_open(&o, out, err, errlen);
}

/* %XX-decode [s, s+n) into dst (cap > n). */
static void url_decode(const char *s, size_t n, char *dst)
{
	size_t j = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hex_digit(s[i + 1]) >= 0 &&
		    hex_digit(s[i + 2]) >= 0) {
			dst[j++] = (char)(hex_digit(s[i + 1]) << 4 | hex_digit(s[i + 2]));
			i += 2;
		} else {
			dst[j++] = s[i];
		}
	}
	dst[j] = 0;
}

int sink_url_options(const char *opts, size_t len,
                     int (*fn)(void *ctx, const char *key, const char *value, char *err,
                               size_t errlen),
                     void *ctx, char *err, size_t errlen)
{
	const char *p = opts, *end = opts + len;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		if (stop == p) {
			p = stop + 1;
			continue;
		}
		if (!eq || eq == p || stop - p >= 4096) {
			snprintf(err, errlen, "option \"%.*s\": not KEY=VALUE", (int)(stop - p), p);
			return -EINVAL;
		}
		char key[4096], val[4096];
		url_decode(p, (size_t)(eq - p), key);
		url_decode(eq + 1, (size_t)(stop - eq - 1), val);
		int r = fn(ctx, key, val, err, errlen);
		if (r < 0)
			return r;
		p = amp ? amp + 1 : end;
	}
	return 0;
}
