/*
 * ui_files.c - serving the dashboard's files (ui_files.h): the UI
 * directory found and opened at start, each file opened beneath it,
 * Content-Type by extension, caching headers (vendor libraries: a week;
 * the app's files: revalidated every time with ETag / Last-Modified, a
 * 304 when unchanged), and the page shown when the UI is not installed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/util.h"
#include "instance.h"
#include "ui_files.h"

#define FILE_MAX (32 * 1024 * 1024) /* bytes of one served file */
#define VENDOR_CACHE "public, max-age=604800"
#define APP_CACHE "no-cache"

/* /ui/vendor/NAME -> the file npm installs (or vendor/NAME once installed) */
static const struct {
	const char *name, *path;
} vendor[] = {
    {"uPlot.iife.min.js", "node_modules/uplot/dist/uPlot.iife.min.js"},
    {"uPlot.min.css", "node_modules/uplot/dist/uPlot.min.css"},
    {"cytoscape.min.js", "node_modules/cytoscape/dist/cytoscape.min.js"},
};

static const struct {
	const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
};

static int open_beneath(int dirfd, const char *rel);

/* Whether vendor library i is installed (vendor/NAME or under node_modules). */
static bool vendor_present(int dirfd, size_t i)
{
	char v[64];
	snprintf(v, sizeof(v), "vendor/%s", vendor[i].name);
	int fd = open_beneath(dirfd, v);
	if (fd < 0)
		fd = open_beneath(dirfd, vendor[i].path);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* ---- finding the directory ------------------------------------------------------ */

static bool has_index(const char *dir)
{
	char p[PATH_MAX];
	struct stat st;
	return snprintf(p, sizeof(p), "%s/index.html", dir) < (int)sizeof(p) && stat(p, &st) == 0 &&
	       S_ISREG(st.st_mode);
}

bool ui_files_find(const char *dir, char *dst, size_t cap)
{
	if (dir && *dir) {
		snprintf(dst, cap, "%s", dir);
		return has_index(dir);
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0) {
		snprintf(dst, cap, "(/proc/self/exe unreadable)");
		return false;
	}
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	static const char *const rel[] = {"../share/vantage/ui", "../ui"};
	for (size_t i = 0; i < ARRAY_SIZE(rel); i++) {
		char p[PATH_MAX];
		if (snprintf(p, sizeof(p), "%s/%s", exe, rel[i]) >= (int)sizeof(p))
			continue;
		char *real = realpath(p, NULL);
		bool ok = real && has_index(real);
		if (ok)
			snprintf(dst, cap, "%s", real);
		free(real);
		if (ok)
			return true;
	}
	snprintf(dst, cap, "%s/../share/vantage/ui or %s/../ui", exe, exe);
	return false;
}

int ui_files_open(struct server *srv, const char *dir)
{
	char p[PATH_MAX];
	srv->ui_fd = -1;
	srv->ui_dir = NULL;
	if (!ui_files_find(dir, p, sizeof(p))) {
		log_warn("dashboard: no UI directory (no index.html in %s): GET / says how to "
		         "install it (docs/dashboard.md)",
		         p);
		srv->ui_dir = strdup(p); /* where it looked, for that page */
		return srv->ui_dir ? 0 : -ENOMEM;
	}
	int fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		log_warn("dashboard: cannot open the UI directory %s: %s", p, strerror(errno));
		srv->ui_dir = strdup(p);
		return srv->ui_dir ? 0 : -ENOMEM;
	}
	if (!(srv->ui_dir = strdup(p))) {
		close(fd);
		return -ENOMEM;
	}
	srv->ui_fd = fd;
	for (size_t i = 0; i < ARRAY_SIZE(vendor); i++) {
		if (!vendor_present(fd, i))
			log_warn("dashboard: %s/%s is missing: run `npm ci --prefix %s` "
			         "(scripts/setup.sh does)",
			         p, vendor[i].path, p);
	}
	log_info("dashboard: serving the UI from %s", p);
	return 0;
}

void ui_files_close(struct server *srv)
{
	if (srv->ui_fd >= 0)
		close(srv->ui_fd);
	srv->ui_fd = -1;
	free(srv->ui_dir);
	srv->ui_dir = NULL;
}

bool ui_files_public(const char *method, const char *uri)
{
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return false;
	if (strncasecmp(uri, "http://", 7) == 0 || strncasecmp(uri, "https://", 8) == 0) {
		const char *p = strchr(strstr(uri, "//") + 2, '/');
		uri = p ? p : "/";
	}
	size_t n = strcspn(uri, "?#");
	return (n == 1 && uri[0] == '/') || strncmp(uri, "/ui/", 4) == 0 ||
	       (n == 12 && strncmp(uri, "/favicon.ico", 12) == 0);
}

/* ---- answering ------------------------------------------------------------------ */

/* Open `rel` beneath the UI directory: no "..", no symlink out, no magic
 * links; -errno. */
static int open_beneath(int dirfd, const char *rel)
{
	struct open_how how = {
	    .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (fd >= 0)
		return (int)fd;
	if (errno != ENOSYS)
		return -errno;
	/* before Linux 5.6: the path was checked (no "..", no dot files);
	 * refuse a symlink as its last component */
	fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
	return fd >= 0 ? (int)fd : -errno;
}

/* A relative path of plain names: no empty, ".", ".." or dot-file parts. */
static bool clean_path(const char *p)
{
	if (!*p || strlen(p) > 512)
		return false;
	for (const char *s = p;;) {
		size_t n = strcspn(s, "/");
		if (n == 0 || s[0] == '.' || memchr(s, '\\', n))
			return false;
		if (!s[n])
			return true;
		s += n + 1;
	}
}

static const char *type_of(const char *path)
{
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot && i < ARRAY_SIZE(types); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/* Whether the client's validators match the file's (a 304). */
static bool not_modified(const struct request *r, const struct stat *st)
{
	if (r->if_none_match) {
		const char *m = r->if_none_match;
		return strcmp(m, "*") == 0 || strstr(m, r->etag) != NULL;
	}
	if (r->if_modified_since) {
		struct tm tm = {0};
		const char *end = strptime(r->if_modified_since, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		return end && !*end && timegm(&tm) >= st->st_mtim.tv_sec;
	}
	return false;
}

/* Answer the file `rel` of the UI directory; -errno when it cannot be
 * opened (nothing answered), 0 when answered. */
static int send_file(struct request *r, const char *rel, const char *cache)
{
	int dirfd = r->srv->ui_fd;
	if (dirfd < 0)
		return -ENOENT;
	int fd = open_beneath(dirfd, rel);
	if (fd < 0)
		return fd;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -ENOENT;
	}
	if (st.st_size > FILE_MAX) {
		close(fd);
		req_error(r, 500, NULL, "%s: larger than %d bytes", rel, FILE_MAX);
		return 0;
	}
	snprintf(r->etag, sizeof(r->etag), "\"%llx-%llx\"", (unsigned long long)st.st_size,
	         (unsigned long long)st.st_mtim.tv_sec * 1000000000ull +
	             (unsigned long long)st.st_mtim.tv_nsec);
	struct tm tm;
	gmtime_r(&st.st_mtim.tv_sec, &tm);
	strftime(r->last_modified, sizeof(r->last_modified), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	r->cache_control = cache;
	r->content_type = type_of(rel);
	r->csp = strcmp(r->content_type, types[0].type) == 0;
	buf_reset(&r->body);
	if (not_modified(r, &st)) {
		close(fd);
		r->status = 304;
		return 0;
	}
	size_t size = (size_t)st.st_size, got = 0;
	char *data = malloc(size + 1);
	if (!data) {
		close(fd);
		req_error(r, 500, NULL, "%s: out of memory", rel);
		return 0;
	}
	while (got < size) {
		ssize_t n = read(fd, data + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	data[got] = 0;
	buf_free(&r->body);
	r->body = (struct buf){.data = data, .len = got, .cap = size + 1};
	r->status = 200;
	return 0;
}

/* The page GET / answers without a usable UI directory. */
static void not_installed(struct request *r, const char *missing)
{
	char where[PATH_MAX];
	if (r->srv->ui_dir)
		snprintf(where, sizeof(where), "%s", r->srv->ui_dir);
	else
		ui_files_find(NULL, where, sizeof(where));
	buf_reset(&r->body);
	buf_adds(&r->body, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
	                   "<title>Vantage: dashboard not installed</title></head><body>\n"
	                   "<main><h1>The dashboard is not installed</h1>\n<p>");
	if (missing)
		buf_printf(&r->body,
		           "The UI directory lacks <code>%s</code>: its libraries come "
		           "from npm.",
		           missing);
	else
		buf_adds(&r->body, "No UI directory was found.");
	buf_adds(&r->body,
	         "</p>\n<p>From a checkout: run <code>scripts/setup.sh</code> (it runs "
	         "<code>npm ci --prefix ui</code>), or <code>make install</code> to install "
	         "the UI to <code>PREFIX/share/vantage/ui</code>; or set <code>[api] ui_dir</code> "
	         "(<code>--ui-dir DIR</code>) to a directory holding <code>index.html</code>.</p>\n"
	         "<p>Looked in: <code>");
	for (const char *p = where; *p; p++) { /* a path: escape what HTML needs */
		if (*p == '<')
			buf_adds(&r->body, "&lt;");
		else if (*p == '&')
			buf_adds(&r->body, "&amp;");
		else
			buf_addc(&r->body, *p);
	}
	buf_adds(&r->body, "</code>. The API works without it: <a href=\"/api/v1/health\">"
	                   "/api/v1/health</a> (docs/api.md).</p></main>\n</body></html>\n");
	r->status = 404;
	r->content_type = types[0].type;
	r->csp = true;
}

void ui_index(struct request *r)
{
	if (r->srv->ui_fd < 0) {
		not_installed(r, NULL);
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(vendor); i++) {
		if (!vendor_present(r->srv->ui_fd, i)) {
			not_installed(r, vendor[i].path);
			return;
		}
	}
	if (send_file(r, "index.html", APP_CACHE) < 0)
		not_installed(r, "index.html");
}

void ui_file(struct request *r)
{
	const char *path = req_var(r, "path");
	if (strncmp(path, "vendor/", 7) == 0) {
		for (size_t i = 0; i < ARRAY_SIZE(vendor); i++) {
			if (strcmp(path + 7, vendor[i].name) != 0)
				continue;
			if (send_file(r, path, VENDOR_CACHE) == -ENOENT &&
			    send_file(r, vendor[i].path, VENDOR_CACHE) < 0)
				req_error(r, 404, NULL,
				          "%s is not installed: run `npm ci --prefix ui` "
				          "(scripts/setup.sh)",
				          vendor[i].path);
			return;
		}
		req_error(r, 404, NULL,
		          "no such library: /ui/vendor/ serves uPlot.iife.min.js, uPlot.min.css "
		          "and cytoscape.min.js");
		return;
	}
	if (strncmp(path, "app/", 4) != 0 || !clean_path(path)) {
		req_error(r, 404, NULL, "no such file: the dashboard's files are under /ui/app/");
		return;
	}
	int rc = send_file(r, path, APP_CACHE);
	if (rc == -ENOENT || rc == -ENOTDIR || rc == -ELOOP || rc == -EXDEV)
		req_error(r, 404, NULL, "no such file: /ui/%s", path);
	else if (rc < 0)
		req_error(r, rc == -EACCES ? 403 : 500, NULL, "/ui/%s: %s", path, strerror(-rc));
}

void ui_favicon(struct request *r)
{
	if (send_file(r, "app/favicon.svg", APP_CACHE) == 0)
		return;
	buf_reset(&r->body);
	r->status = 204;
	r->cache_control = VENDOR_CACHE;
}
