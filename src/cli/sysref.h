/*
 * sysref.h - the store file and the SYSTEM argument of the store queries
 * (`vantage systems`, `show`, `metrics`); see sysref.c.  `cmd` names the
 * command in messages ("show").
 */
#ifndef VANTAGE_CLI_SYSREF_H
#define VANTAGE_CLI_SYSREF_H

#include <jansson.h>

struct store;
struct store_system_filter;

/* Open the store `db` (NULL: the default one) read-only into *st.
 * EXIT_OK, or EXIT_USAGE / EXIT_FAIL after a message. */
int sysref_open_db(const char *cmd, const char *db, struct store **st);
/* The systems passing f, parsed for display; NULL after a message. */
json_t *sysref_systems(struct store *st, const struct store_system_filter *f, const char *cmd);
/* Find SYSTEM `want`; *id gets the full id (caller frees).  EXIT_OK, or
 * EXIT_USAGE after saying what did not match (or what matched too much),
 * EXIT_FAIL when the store cannot be read. */
int sysref_resolve(struct store *st, const char *cmd, const char *want, char **id);

#endif
