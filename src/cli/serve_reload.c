/*
 * serve_reload.c - the daemon's configuration: built at start from the
 * defaults, the file and the flags (with the API token and a check of the
 * API address), and rebuilt on SIGHUP.  A reload
 * changes intervals, log level, workers, time limits, the API token
 * (token, or new contents of token_file) and the sinks ([output] sinks:
 * engine_set_sinks() keeps the sinks still named, closes those gone and
 * opens the new ones) at once; the other options are
 * reported as needing a restart; a configuration that does not parse, or
 * whose token cannot be read or used, is logged and the current one kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../engine/memguard.h"
#include "../util/buf.h"
#include "../util/log.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "serve.h"

int build_config(const struct daemon *d, struct serve_config *c, char *msg, size_t len)
{
	char err[600];
	if (config_defaults(c) < 0) {
		snprintf(msg, len, "out of memory");
		return -1;
	}
	if (d->config_path) {
		int r = config_load_file(c, d->config_path, err, sizeof(err));
		if (r < 0 && !(r == -ENOENT && !d->config_given)) {
			snprintf(msg, len, "%s", err);
			config_free(c);
			return -1;
		}
	}
	for (int i = 0; i < d->nflags; i++) {
		const struct flag *f = &d->flags[i];
		if (config_set(c, f->section, f->key, f->value, f->replace, err, sizeof(err)) < 0) {
			snprintf(msg, len, "--%s: %s", f->name, err);
			config_free(c);
			return -1;
		}
	}
	return 0;
}

void apply_config(struct daemon *d, const struct serve_config *c, bool at_start)
{
	int n = (int)feature_count < CONFIG_MAX_FEATURES ? (int)feature_count : CONFIG_MAX_FEATURES;
	schedule_apply(&d->e.sched, c->interval, n, mono_ns(), at_start);
	d->e.workers = c->workers;
	d->e.timeout = c->timeout;
	d->e.file_timeout = c->file_timeout;
	log_threshold = c->log_level;
	memguard_set_soft_limit(d->e.guard, c->memory_limit);
}

/* Options a reload applies at once (lines of config_describe()). */
static bool reloadable(const char *line)
{
	return strncmp(line, "[intervals] ", 12) == 0 || strncmp(line, "[log] level ", 12) == 0 ||
	       strncmp(line, "[crawl] workers ", 16) == 0 ||
	       strncmp(line, "[crawl] timeout ", 16) == 0 ||
	       strncmp(line, "[crawl] file_timeout ", 21) == 0 ||
	       strncmp(line, "[api] token ", 12) == 0 ||
	       strncmp(line, "[output] sinks ", 15) == 0 ||
	       strncmp(line, "[api] token_file ", 17) == 0 ||
	       strncmp(line, "[serve] memory_limit ", 21) == 0;
}

/* Say which options changed that only a restart applies. */
static void warn_restart_needed(const struct serve_config *old, const struct serve_config *neu)
{
	struct buf a = BUF_INIT, b = BUF_INIT;
	config_describe(old, &a);
	config_describe(neu, &b);
	const char *p = buf_str(&a), *q = buf_str(&b);
	while (*p && *q) {
		const char *pe = strchr(p, '\n'), *qe = strchr(q, '\n');
		if (!pe || !qe)
			break;
		if ((pe - p != qe - q || memcmp(p, q, (size_t)(pe - p)) != 0) && !reloadable(p)) {
			const char *eq = memchr(p, '=', (size_t)(pe - p));
			int klen = eq ? (int)(eq - p - 1) : (int)(pe - p);
			log_warn("%.*s changed; restart vantage serve to apply it", klen, p);
		}
		p = pe + 1;
		q = qe + 1;
	}
	buf_free(&a);
	buf_free(&b);
}

/* The token of configuration c, from [api] token or token_file, into
 * *out (NULL: none); 0 or -1 with msg.  A token file that other users
 * can read is warned about. */
static int read_token(const struct serve_config *c, char **out, char *msg, size_t len)
{
	*out = NULL;
	if (c->token && c->token_file) {
		snprintf(msg, len, "give [api] token or token_file, not both");
		return -1;
	}
	if (c->token) {
		*out = xstrdup(c->token);
		return 0;
	}
	if (!c->token_file)
		return 0;
	int fd = open(c->token_file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(msg, len, "cannot read token_file %s: %s", c->token_file, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(msg, len, "token_file %s is a directory, not a file", c->token_file);
		close(fd);
		return -1;
	}
	if (S_ISREG(st.st_mode) && (st.st_mode & 0077))
		log_warn("token file %s is readable by other users (chmod 600 it)", c->token_file);
	struct buf b = BUF_INIT;
	ssize_t n = read_fd_bounded(fd, &b, 4096, NULL);
	close(fd);
	if (n < 0) {
		snprintf(msg, len, "cannot read token_file %s: %s", c->token_file,
		         strerror((int)-n));
		buf_free(&b);
		return -1;
	}
	const char *s = buf_str(&b);
	size_t l = strcspn(s, "\r\n");
	trim(&s, &l);
	if (!l) {
		snprintf(msg, len, "token_file %s is empty", c->token_file);
		buf_free(&b);
		return -1;
	}
	*out = xstrndup(s, l);
	explicit_bzero(b.data, b.len);
	buf_free(&b);
	return 0;
}

/* The token from [api] token or token_file; 0 or -1 with msg. */
int load_token(struct daemon *d, char *msg, size_t len)
{
	return read_token(&d->cfg, &d->token, msg, len);
}

/* Apply the token of the new configuration to the running API.  0, or -1
 * with msg (the current token stays). */
static int reload_token(struct daemon *d, const struct serve_config *c, char *msg, size_t len)
{
	char *token;
	if (read_token(c, &token, msg, len) < 0)
		return -1;
	const char *was = d->token && *d->token ? d->token : NULL;
	const char *now = token && *token ? token : NULL;
	if ((!was && !now) || (was && now && strcmp(was, now) == 0)) {
		free(token);
		return 0;
	}
	char err[512];
	if (d->srv && server_set_token(d->srv, now, err, sizeof(err)) < 0) {
		snprintf(msg, len, "[api] token: %s", err);
		free(token);
		return -1;
	}
	if (!d->srv)
		log_info("reload: the API token changed (the API is off)");
	else if (!now)
		log_warn("reload: the API token was removed; requests need none from now on");
	else
		log_info("reload: %s the API token; the %s", was ? "changed" : "set",
		         was ? "old one is refused from now on" : "API requires it from now on");
	free(d->token);
	d->token = token;
	return 0;
}

void reload(struct daemon *d)
{
	char msg[800];
	struct serve_config c;
	if (!d->config_given) /* the default file may have appeared or gone */
		d->config_path =
		    access(CONFIG_DEFAULT_FILE, F_OK) == 0 ? CONFIG_DEFAULT_FILE : NULL;
	const char *what = d->config_path ? d->config_path : "(no config file)";
	if (build_config(d, &c, msg, sizeof(msg)) < 0) {
		log_error("reload: %s; keeping the current configuration", msg);
		return;
	}
	if (reload_token(d, &c, msg, sizeof(msg)) < 0) {
		log_error("reload: %s; keeping the current configuration", msg);
		config_free(&c);
		return;
	}
	log_threshold = c.log_level;
	log_info("reloading the configuration from %s", what);
	warn_restart_needed(&d->cfg, &c);
	apply_config(d, &c, false);
	if (d->alarms)
		alarm_engine_set_file_alarms(d->alarms, c.alarms, (size_t)c.nalarms);
	int bad = d->engine_up ? engine_set_sinks(&d->e, c.sinks.v, c.sinks.n) : 0;
	if (bad)
		log_error("reload: %d sinks could not be opened (above); their frames are not "
		          "delivered until a reload opens them",
		          bad);
	config_free(&c);
	engine_tick(&d->e, mono_ns());
	schedule_arm(&d->e.sched, d->tfd);
}

/* Refuse a non-loopback address without a token before anything is made
 * (the server checks it too). */
int check_api_address(const struct daemon *d, char *msg, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	bool loopback;
	if (strcmp(d->cfg.listen, "off") == 0)
		return 0;
	if (server_parse_listen(d->cfg.listen, &ss, &sl, &loopback, msg, len) < 0)
		return -1;
	if (!loopback && !(d->token && *d->token)) {
		snprintf(msg, len,
		         "listen address '%s' is reachable from other hosts: set [api] token "
		         "or token_file (--token-file FILE), or listen on 127.0.0.1",
		         d->cfg.listen);
		return -1;
	}
	return 0;
}
