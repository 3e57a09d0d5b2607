/*
 * ui_files.h - the dashboard's files (docs/dashboard.md): GET / answers
 * the UI directory's index.html, GET /ui/app/... its ES modules and
 * styles, GET /ui/vendor/NAME the three libraries installed by npm
 * (a fixed table mapping each NAME to its file under node_modules, or
 * vendor/NAME in an installed UI directory).
 *
 * The UI directory: [api] ui_dir / --ui-dir, or by default the first of
 * BIN/../share/vantage/ui (make install) and BIN/../ui (build/vantage in
 * a checkout) that holds index.html, BIN being the directory of
 * /proc/self/exe.  It is opened once when the server starts; every file
 * is opened beneath it (openat2 RESOLVE_BENEATH: no "..", no symlink
 * leading out), regular files only.  Without a UI directory, GET /
 * answers a short page saying how to install it.
 *
 * The files hold no data: they are served without the bearer token (the
 * API calls the pages make need it as any client does).
 */
#ifndef VANTAGE_SERVER_UI_FILES_H
#define VANTAGE_SERVER_UI_FILES_H

#include <stdbool.h>
#include <stddef.h>

#include "request.h"

struct server;

/* The Content-Security-Policy of the dashboard's page: scripts, styles and
 * API calls from the daemon only (styles set by the libraries inline). */
#define UI_CSP                                                                                     \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "    \
	"font-src 'self'; connect-src 'self'; manifest-src 'self'; object-src 'none'; "            \
	"base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

/* Find and open the UI directory (`dir`, or NULL for the default) into
 * srv->ui_fd and srv->ui_dir (ui_fd -1 when there is none, ui_dir then
 * where it looked: logged as a warning, never an error: the API works
 * without it).  0, or -ENOMEM. */
int ui_files_open(struct server *srv, const char *dir);
void ui_files_close(struct server *srv);
/* The UI directory a server would use for `dir` (NULL: the default),
 * into dst; false when none is found (dst then says where it looked). */
bool ui_files_find(const char *dir, char *dst, size_t cap);
/* Whether a request is for a dashboard file (GET or HEAD of "/",
 * "/ui/...", "/favicon.ico", by its raw target): served without a token. */
bool ui_files_public(const char *method, const char *uri);

void ui_index(struct request *r);   /* GET / */
void ui_file(struct request *r);    /* GET /ui/{path+} */
void ui_favicon(struct request *r); /* GET /favicon.ico: 204 unless the UI has one */

#endif
