/*
 * schemes.c - the table of sink URL schemes, and sink_open() (sinks.h).
 *
 * A sink is added by writing its file (ending in its sink_ops and a
 * `const struct sink_scheme sink_scheme_<name>`) and adding one row below.
 * Rows with no open() are schemes planned but not built: they are named
 * in messages so a user knows the URL was understood.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../util/util.h"
#include "sinks.h"

extern const struct sink_scheme sink_scheme_file, sink_scheme_sqlite, sink_scheme_store;
extern const struct sink_scheme sink_scheme_kafka;

static const struct sink_scheme planned[] = {
    {.scheme = "http", .usage = "http://HOST/PATH"},
    {.scheme = "https", .usage = "https://HOST/PATH"},
    {.scheme = "graphite", .usage = "graphite://HOST:PORT"},
    {.scheme = "sflow", .usage = "sflow://HOST:PORT"},
};

static const struct sink_scheme *const schemes[] = {
    &sink_scheme_file, &sink_scheme_sqlite, &sink_scheme_store, &sink_scheme_kafka,
    &planned[0],       &planned[1],         &planned[2],        &planned[3],
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
