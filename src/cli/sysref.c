/*
 * sysref.c - what a store query names: the store file and the SYSTEM.
 *
 * The store file: --db PATH, else [store] path of the daemon's
 * configuration file /etc/vantage/vantage.ini when it exists, else
 * /var/lib/vantage/vantage.db.  It is opened read-only (SQLite WAL: it
 * never blocks the daemon writing).
 *
 * SYSTEM arguments are resolved against the list of systems: a full id, a
 * name (a present system before a gone one), a prefix of an id or of its
 * last part (the container id or machine id, as `vantage systems` shows
 * it).  A name or prefix that fits several systems is an error that lists
 * them.  Errors name the bad argument; exit 2.
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../store/store.h"
#include "../util/buf.h"
#include "cli.h"
#include "display.h"
#include "serve_config.h"
#include "sysref.h"

/* The default store file: the daemon's configured one, else the default. */
static const char *default_db(char *dst, size_t cap)
{
	snprintf(dst, cap, "%s", CONFIG_DEFAULT_DB);
	if (access(CONFIG_DEFAULT_FILE, R_OK) != 0)
		return dst;
	struct serve_config c;
	char err[256];
	if (config_defaults(&c) < 0)
		return dst;
	if (config_load_file(&c, CONFIG_DEFAULT_FILE, err, sizeof(err)) == 0)
		snprintf(dst, cap, "%s", c.db_path);
	config_free(&c);
	return dst;
}

int sysref_open_db(const char *cmd, const char *db, struct store **st)
{
	char dflt[4096];
	bool given = db != NULL;
	if (!db)
		db = default_db(dflt, sizeof(dflt));
	int r = store_open(db, STORE_RO, st);
	char safe[1024];
	db = store_url_safe(db, safe, sizeof(safe)); /* no password in messages */
	if (r == -ENOENT || r == -ENOTDIR) {
		if (given)
			fprintf(stderr, "vantage %s: --db '%s': %s\n", cmd, db, strerror(-r));
		else
			fprintf(stderr,
			        "vantage %s: no store at %s (is 'vantage serve' running? "
			        "Name another one with --db PATH)\n",
			        cmd, db);
		return EXIT_USAGE;
	}
	if (r < 0) {
		fprintf(stderr, "vantage %s: %s\n", cmd, store_errmsg(NULL));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

json_t *sysref_systems(struct store *st, const struct store_system_filter *f, const char *cmd)
{
	struct buf b = BUF_INIT;
	int r = store_systems_json(st, f, &b);
	if (r < 0) {
		fprintf(stderr, "vantage %s: cannot list the systems of the store: %s\n", cmd,
		        store_errmsg(st));
		buf_free(&b);
		return NULL;
	}
	json_error_t e;
	json_t *arr = load_display(buf_str(&b), b.len, &e);
	buf_free(&b);
	if (!json_is_array(arr)) {
		fprintf(stderr,
		        "vantage %s: the store gave a list of systems that is not JSON: %s\n", cmd,
		        e.text);
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/*
 * Find SYSTEM; *id gets the full id (caller frees).  Returns EXIT_OK, or
 * EXIT_USAGE after saying what did not match (or what matched too much).
 */
int sysref_resolve(struct store *st, const char *cmd, const char *want, char **id)
{
	struct store_system_filter all = {.gone = -1};
	json_t *arr = sysref_systems(st, &all, cmd);
	if (!arr)
		return EXIT_FAIL;
	size_t n = json_array_size(arr), i;
	json_t *s, *hit = NULL;
	int nhit = 0;
	/* 1. a full id */
	json_array_foreach(arr, i, s) if (strcmp(jstr(s, "id"), want) == 0) hit = s, nhit = 1;
	/* 2. a name: present systems first */
	for (int pass = 0; pass < 2 && !nhit; pass++) {
		json_array_foreach(arr, i, s)
		{
			bool gone = json_is_true(json_object_get(s, "gone"));
			if (gone == (pass == 1) && strcmp(jstr(s, "name"), want) == 0) {
				if (!hit)
					hit = s;
				nhit++;
			}
		}
		if (nhit > 1)
			break;
	}
	/* 3. a prefix of the id or of its last part */
	if (!nhit) {
		size_t wl = strlen(want);
		json_array_foreach(arr, i, s)
		{
			const char *sid = jstr(s, "id");
			if (strncmp(sid, want, wl) == 0 || strncmp(id_tail(sid), want, wl) == 0) {
				if (!hit)
					hit = s;
				nhit++;
			}
		}
	}
	int status = EXIT_OK;
	if (nhit == 1) {
		*id = strdup(jstr(hit, "id"));
		if (!*id)
			status = EXIT_FAIL;
	} else if (nhit == 0) {
		fprintf(stderr,
		        "vantage %s: no system '%s' in the store (%zu system%s; see 'vantage "
		        "systems --all')\n",
		        cmd, want, n, n == 1 ? "" : "s");
		status = EXIT_USAGE;
	} else {
		fprintf(stderr, "vantage %s: '%s' fits %d systems; give more of the id:\n", cmd,
		        want, nhit);
		size_t wl = strlen(want);
		json_array_foreach(arr, i, s)
		{
			const char *sid = jstr(s, "id");
			if (strcmp(jstr(s, "name"), want) == 0 || strncmp(sid, want, wl) == 0 ||
			    strncmp(id_tail(sid), want, wl) == 0)
				fprintf(stderr, "  %s  %s%s\n", sid, jstr(s, "name"),
				        json_is_true(json_object_get(s, "gone")) ? "  (gone)" : "");
		}
		status = EXIT_USAGE;
	}
	json_decref(arr);
	return status;
}
