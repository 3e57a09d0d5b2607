/*
 * serve.h - what serve.c (arguments, start-up, the main loop) and
 * serve_reload.c (the configuration, built and rebuilt on SIGHUP, and the
 * API token) share.
 */
#ifndef VANTAGE_SERVE_H
#define VANTAGE_SERVE_H

#include <stdbool.h>

#include "../analytics/alarm_engine.h"
#include "../engine/engine.h"
#include "../server/server.h"
#include "serve_config.h"

#define MAX_FLAGS 128

struct flag {
	const char *section, *key, *value;
	char name[64]; /* the flag as given, for messages */
	bool replace;  /* first flag of a list option */
};

struct daemon {
	/* start-up configuration: what needs a restart to change */
	struct serve_config cfg;
	const char *config_path; /* NULL: none */
	bool config_given;       /* --config: the file must exist */
	struct flag flags[MAX_FLAGS];
	int nflags;
	const char *config_paths[CONFIG_MAX_LIST], *file_excludes[CONFIG_MAX_LIST];
	struct crawl_opts opts;
	char *token; /* from token or token_file */

	int proc_fd;
	struct engine e; /* the lanes, the store, the schedule */
	bool engine_up;  /* e is set up (and owns the store) */
	struct server *srv;
	struct alarm_engine *alarms;   /* the alarms' engine, or NULL */
	struct sampler *sampler;       /* packet sampling (engine/sampler.h), or NULL */
	struct sflow_collector *sflow; /* [sflow] listen: the collector, or NULL */
	struct flow_recorder *flows;   /* the collector's flow samples (flow_record.h), or NULL */
	struct logtail *logs;          /* the log collector, or NULL ([logs] enabled) */
	struct server_stats stats;
	int epfd, sigfd, tfd; /* main thread only */
};

/* Defaults, then the file, then the flags.  0, or -1 with msg set. */
int build_config(const struct daemon *d, struct serve_config *c, char *msg, size_t len);

/* Take the reloadable settings of c: intervals, limits, log level. */
void apply_config(struct daemon *d, const struct serve_config *c, bool at_start);

/* SIGHUP: rebuild the configuration; apply what can change at once, warn
 * about the rest; a configuration with an error is logged and ignored. */
void reload(struct daemon *d);

/* The token from [api] token or token_file into d->token; 0 or -1 with msg. */
int load_token(struct daemon *d, char *msg, size_t len);

/* Refuse a non-loopback address without a token before anything is made
 * (the server checks it too); 0 or -1 with msg. */
int check_api_address(const struct daemon *d, char *msg, size_t len);

#endif
