/*
 * serve_reload.c - the daemon's configuration: built at start from the
 * defaults, the file and the flags (with the API token and a check of the
 * API address), and rebuilt on SIGHUP.  A reload
 * changes intervals, log level, workers and time limits at once; the other
 * options are reported as needing a restart; a configuration that does
 * not parse is logged and the current one kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../util/buf.h"
#include "../util/log.h"
#include "../util/util.h"
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
}

/* Options a reload applies at once (lines of config_describe()). */
static bool reloadable(const char *line)
{
	return strncmp(line, "[intervals] ", 12) == 0 || strncmp(line, "[log] level ", 12) == 0 ||
	       strncmp(line, "[crawl] workers ", 16) == 0 ||
	       strncmp(line, "[crawl] timeout ", 16) == 0 ||
	       strncmp(line, "[crawl] file_timeout ", 21) == 0;
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
	log_threshold = c.log_level;
	log_info("reloading the configuration from %s", what);
	warn_restart_needed(&d->cfg, &c);
	apply_config(d, &c, false);
	config_free(&c);
	engine_tick(&d->e, mono_ns());
	schedule_arm(&d->e.sched, d->tfd);
}

/* The token from [api] token or token_file; 0 or -1 with msg. */
int load_token(struct daemon *d, char *msg, size_t len)
{
	if (d->cfg.token && d->cfg.token_file) {
		snprintf(msg, len, "give [api] token or token_file, not both");
		return -1;
	}
	if (d->cfg.token) {
		d->token = strdup(d->cfg.token);
		return d->token ? 0 : -1;
	}
	if (!d->cfg.token_file)
		return 0;
	struct buf b = BUF_INIT;
	ssize_t n = read_file_at(AT_FDCWD, d->cfg.token_file, &b, 4096);
	if (n < 0) {
		snprintf(msg, len, "cannot read token_file %s: %s", d->cfg.token_file,
		         strerror((int)-n));
		buf_free(&b);
		return -1;
	}
	const char *s = buf_str(&b);
	size_t l = strcspn(s, "\r\n");
	trim(&s, &l);
	if (!l) {
		snprintf(msg, len, "token_file %s is empty", d->cfg.token_file);
		buf_free(&b);
		return -1;
	}
	d->token = strndup(s, l);
	buf_free(&b);
	return d->token ? 0 : -1;
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
