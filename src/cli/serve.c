/*
 * serve.c - `vantage serve`: the daemon.  It watches this host, its
 * containers and its QEMU guests, puts what it sees into the store, and
 * serves the REST API.
 *
 * This file holds the arguments, the start-up and the main loop; the
 * crawling is the engine's (engine/engine.h: lanes, schedule, locked store
 * sinks, kept views), the configuration serve_reload.c's.
 *
 * Threads:
 *   main    an epoll loop over a signalfd (SIGTERM, SIGINT, SIGHUP) and
 *           one timerfd armed at the earliest moment something is due
 *           (engine/schedule.h).  It owns the schedule, never crawls and
 *           never touches the store; it posts what is due to the lanes
 *           (engine_tick()).
 *   lanes   three threads that crawl (fast, slow, file: engine/lane.h).
 *   server  libmicrohttpd's threads (src/server), with their own
 *           read-only store handles.
 *
 * The store: ONE read-write handle shared by the lanes through locked
 * sinks (engine/locked_sink.h), which count frames and records for the
 * server's counters (through report_count() below) and log store errors
 * once per episode.  It is opened STORE_DAEMON: a second daemon on the
 * same store is refused, naming the first's pid (PATH.lock).  The API's
 * address is bound once (and let go) before the store is opened, so a
 * daemon that cannot listen creates no store.
 *
 * Configuration: serve_config.h.  SIGHUP rebuilds it (defaults, file, the
 * flags given at start); intervals, log level, workers and time limits change
 * at once, the others are reported as needing a restart; a config that does
 * not parse is logged and the current one kept (serve_reload.c).
 *
 * Shutdown (SIGTERM, SIGINT): engine_stop(): the fast lane finishes the
 * crawl it is in; the slow lane gets 10 s and the file lane 3 s, then their
 * crawl is left behind (its frame is not stored); frames still pending are
 * retried once, the store is closed; then the server is stopped; exit
 * status 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "../analytics/alarm_engine.h"
#include "../analytics/logfilter.h"
#include "../engine/engine.h"
#include "../engine/flow_record.h"
#include "../engine/sampler.h"
#include "../engine/sflow_collector.h"
#include "../engine/logtail.h"
#include "../engine/memguard.h"
#include "../server/instance.h"
#include "../server/listen.h"
#include "../server/server.h"
#include "../store/store.h"
#include "../util/caps.h"
#include <linux/capability.h>
#include "../util/log.h"
#include "../util/util.h"
#include "../util/xalloc.h"
#include "cli.h"
#include "serve.h"
#include "serve_config.h"

/* ---- the engine's counters, as the server's ----------------------------------- */

static void report_count(void *arg, enum engine_counter c, int64_t v)
{
	struct server_stats *st = arg;
	switch (c) {
	case EC_FRAMES_STORED:
		atomic_fetch_add(&st->frames_stored, (uint64_t)v);
		break;
	case EC_FRAMES_FAILED:
		atomic_fetch_add(&st->frames_failed, (uint64_t)v);
		break;
	case EC_RECORDS_STORED:
		atomic_fetch_add(&st->records_stored, (uint64_t)v);
		break;
	case EC_CRAWLS:
		atomic_fetch_add(&st->crawls, (uint64_t)v);
		break;
	case EC_CRAWL_ERRORS:
		atomic_fetch_add(&st->crawl_errors, (uint64_t)v);
		break;
	case EC_LAST_FRAME_ID:
		atomic_store(&st->last_frame_id, v);
		break;
	case EC_LAST_CRAWL_MS:
		atomic_store(&st->last_crawl_ms, v);
		break;
	case EC_LAST_CRAWL_US:
		atomic_store(&st->last_crawl_us, v);
		break;
	case EC_PENDING:
		atomic_store(&st->pending_frames, v);
		break;
	case EC_SYSTEMS:
		atomic_store(&st->systems, v);
		break;
	case EC_STORE_ERRORS:
		atomic_fetch_add(&st->store_errors, (uint64_t)v);
		break;
	case EC_FRAMES_DROPPED:
		atomic_fetch_add(&st->frames_dropped, (uint64_t)v);
		break;
	case EC_SKIPPED:
		atomic_fetch_add(&st->shed_skipped, (uint64_t)v);
		break;
	case EC_STORE_FULL:
		atomic_store(&st->store_full, v);
		break;
	case EC_SHED_LEVEL:
		atomic_store(&st->shed_level, v);
		break;
	case EC_MEM_USED:
		atomic_store(&st->mem_used, v);
		break;
	case EC_MEM_LIMIT:
		atomic_store(&st->mem_limit, v);
		break;
	}
}

static void report_error(void *arg, const char *msg)
{
	if (msg)
		server_stats_set_error(arg, "%s", msg);
	else
		server_stats_set_error(arg, NULL);
}

/* A lane stored a tick: alarms whose period closed are evaluated now. */
static void tick_stored(void *arg, int64_t now_ms)
{
	alarm_engine_notify(arg, now_ms);
}

/* The alarms' engine on the store, with the config file's alarms; its
 * failure is logged and the daemon goes on without alarms. */
static void start_alarms(struct daemon *d)
{
	char err[512];
	if (alarm_engine_start(d->cfg.db_path, &d->alarms, err, sizeof(err)) < 0) {
		log_error("%s; running without alarms", err);
		d->alarms = NULL;
		return;
	}
	alarm_engine_set_file_alarms(d->alarms, d->cfg.alarms, (size_t)d->cfg.nalarms);
	d->e.stored = tick_stored;
	d->e.stored_arg = d->alarms;
	if (d->srv)
		atomic_store(&d->srv->alarms, d->alarms);
	if (d->cfg.nalarms)
		log_info("%d alarm%s from the configuration", d->cfg.nalarms,
		         d->cfg.nalarms == 1 ? "" : "s");
}

/* The collector's flow hooks: the flow recorder's calls. */
static void flow_source(void *ctx, const struct sflow_header *h, uint32_t ds_index,
                        const char *system_id, int64_t now_ms)
{
	flow_recorder_source(ctx, h, ds_index, system_id, now_ms);
}

static int flow_add(void *ctx, const struct sflow_header *h, const struct sflow_flow *f,
                    int64_t now_ms)
{
	return flow_recorder_add(ctx, h, f, now_ms);
}

static int flow_flush(void *ctx, int64_t now_ms)
{
	return flow_recorder_flush(ctx, now_ms);
}

/* The sFlow collector ([sflow] listen) on the engine's store share; its
 * counters go to /metrics.  0, or -1 with the error said. */
static int start_sflow(struct daemon *d)
{
	if (!d->cfg.sflow_listen)
		return 0;
	char err[512];
	/* flow samples to the flow recorder (engine/flow_record.h, docs/flows.md) */
	d->flows = flow_recorder_new_shared(&d->e.store);
	const struct sflow_flow_hooks hooks = {
	    .ctx = d->flows, .source = flow_source, .flow = flow_add, .flush = flow_flush};
	struct sflow_collector_opts o = {.listen = d->cfg.sflow_listen,
	                                 .store = &d->e.store,
	                                 .slot = SFLOW_COLLECTOR_SLOT,
	                                 .max_rate = (uint32_t)d->cfg.sflow_max_rate,
	                                 .flows = &hooks};
	if (sflow_collector_start(&o, &d->sflow, err, sizeof(err)) < 0) {
		log_error("%s", err);
		return -1;
	}
	atomic_store(&d->stats.sflow, d->sflow);
	log_info("sFlow collector on udp://%s", sflow_collector_address(d->sflow));
	return 0;
}

/* The metric filters over the logs ([logfilter NAME]; a restart changes
 * them): their points wake the alarms as a lane's tick does. */
static struct logfilter_runner *logfilters;
static void start_logfilters(struct daemon *d)
{
	char err[512];
	if (!d->cfg.logfilters.n)
		return;
	if (logfilter_start(d->cfg.db_path, &d->cfg.logfilters, d->alarms ? tick_stored : NULL,
	                    d->alarms, &logfilters, err, sizeof(err)) < 0)
		log_error("%s; running without log filters", err);
	else
		log_info("%d log filter%s from the configuration", d->cfg.logfilters.n,
		         d->cfg.logfilters.n == 1 ? "" : "s");
}

/* ---- start-up -------------------------------------------------------------------- */

static void serve_usage(FILE *out)
{
	fprintf(out,
	        "Usage: vantage serve [OPTIONS]\n"
	        "\n"
	        "Watch this host, its containers and its QEMU guests (from their RAM): crawl\n"
	        "each feature on its own interval into the store, notice new containers and\n"
	        "VMs within one metric interval and mark stopped ones gone, and serve the\n"
	        "REST API and /metrics.  Logs go to stderr.\n"
	        "Signals: SIGTERM/SIGINT finish the crawl in progress, close the store and\n"
	        "exit 0; SIGHUP reloads the configuration file (intervals, log level,\n"
	        "workers, time limits, the API token, the [alarm NAME] sections) and keeps\n"
	        "the current one if the file has an error.\n"
	        "Alarms: [alarm NAME] sections of the file and those made through the API\n"
	        "(docs/alarms.md); 'vantage alarms' lists their states.\n"
	        "\n"
	        "Every option can be set in the configuration file (INI) or as a flag; flags\n"
	        "win.  Shown below: the flag, what it does, and its key in the file with\n"
	        "the default.\n"
	        "\n"
	        "  --config FILE                 the configuration file (default\n"
	        "                                %s when it exists)\n"
	        "  -h, --help                    show this help\n",
	        CONFIG_DEFAULT_FILE);
	config_print_help(out);
	fprintf(out, "\n"
	             "Flags take their value as --flag VALUE or --flag=VALUE.  See\n"
	             "docs/configuration.md and docs/running.md.\n"
	             "Exit status: 0 stopped by a signal, 1 runtime failure (the store or the\n"
	             "address cannot be opened), 2 bad usage or configuration.\n");
}

/* argv -> d->flags and the config file; EXIT_OK to go on, else a status. */
static int parse_args(struct daemon *d, int argc, char **argv, bool *help)
{
	bool list_seen[64] = {0};
	const char *list_keys[64];
	int nlist = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			*help = true;
			return EXIT_OK;
		}
		if (strncmp(a, "--", 2) != 0 || !a[2]) {
			fprintf(stderr,
			        "vantage serve: unexpected argument '%s'\n"
			        "Try 'vantage serve --help'.\n",
			        a);
			return EXIT_USAGE;
		}
		char name[64];
		const char *eq = strchr(a + 2, '=');
		size_t nlen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		if (nlen >= sizeof(name)) {
			fprintf(stderr, "vantage serve: unknown option '%s'\n", a);
			return EXIT_USAGE;
		}
		memcpy(name, a + 2, nlen);
		name[nlen] = 0;
		const char *value = eq ? eq + 1 : NULL;
		if (strcmp(name, "config") == 0) {
			if (!value && i + 1 < argc)
				value = argv[++i];
			if (!value || !*value) {
				fprintf(stderr, "vantage serve: --config needs a file\n");
				return EXIT_USAGE;
			}
			d->config_path = value;
			d->config_given = true;
			continue;
		}
		const char *section, *key, *fixed;
		bool has_arg;
		if (!config_flag_find(name, &section, &key, &has_arg, &fixed)) {
			fprintf(stderr,
			        "vantage serve: unknown option '--%s'\n"
			        "Try 'vantage serve --help'.\n",
			        name);
			return EXIT_USAGE;
		}
		if (has_arg && !value) {
			if (i + 1 >= argc) {
				fprintf(stderr, "vantage serve: --%s needs a value\n", name);
				return EXIT_USAGE;
			}
			value = argv[++i];
		} else if (!has_arg) {
			if (value) {
				fprintf(stderr, "vantage serve: --%s takes no value\n", name);
				return EXIT_USAGE;
			}
			value = fixed;
		}
		if (d->nflags == MAX_FLAGS) {
			fprintf(stderr, "vantage serve: too many options\n");
			return EXIT_USAGE;
		}
		/* the first flag of a list replaces the file's list; later ones add */
		bool replace = true;
		for (int k = 0; k < nlist; k++)
			if (strcmp(list_keys[k], key) == 0)
				replace = !list_seen[k];
		if (replace && nlist < 64) {
			list_keys[nlist] = key;
			list_seen[nlist++] = true;
		}
		struct flag *f = &d->flags[d->nflags++];
		*f = (struct flag){
		    .section = section, .key = key, .value = value, .replace = replace};
		snprintf(f->name, sizeof(f->name), "%s", name);
	}
	return EXIT_OK;
}

static int setup_fds(struct daemon *d)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	d->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	d->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sigfd < 0 || d->tfd < 0 || d->epfd < 0)
		return -errno;
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = d->sigfd};
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->sigfd, &ev) < 0)
		return -errno;
	ev.data.fd = d->tfd;
	if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->tfd, &ev) < 0)
		return -errno;
	return 0;
}

/* The loop; returns when asked to stop. */
static void main_loop(struct daemon *d)
{
	engine_tick(&d->e, mono_ns());
	schedule_arm(&d->e.sched, d->tfd);
	for (;;) {
		struct epoll_event ev[4];
		/* a wake-up a second for the memory guard (memguard.h) */
		int n = epoll_wait(d->epfd, ev, 4, d->e.guard ? 1000 : -1);
		engine_memcheck(&d->e, mono_ns());
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("epoll_wait: %s", strerror(errno));
			return;
		}
		for (int i = 0; i < n; i++) {
			if (ev[i].data.fd == d->tfd) {
				uint64_t x;
				while (read(d->tfd, &x, sizeof(x)) > 0)
					;
				engine_tick(&d->e, mono_ns());
				schedule_arm(&d->e.sched, d->tfd);
			} else if (ev[i].data.fd == d->sigfd) {
				struct signalfd_siginfo si;
				while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						reload(d);
					} else {
						log_info(
						    "SIG%s: finishing the crawl in progress and "
						    "stopping",
						    sigabbrev_np((int)si.ssi_signo));
						return;
					}
				}
			}
		}
	}
}

static void close_fds(struct daemon *d)
{
	if (d->epfd >= 0)
		close(d->epfd);
	if (d->tfd >= 0)
		close(d->tfd);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->proc_fd >= 0)
		close(d->proc_fd);
}

/* The features' options from the configuration. */
static void fill_opts(struct daemon *d)
{
	d->opts = *d->cfg.crawl; /* borrowed: the settings are d->cfg's */
	d->opts.progress = false;
	crawl_opts_fit(&d->opts, d->cfg.interval);
}

/* Can the API's address be bound?  Tried (and let go) before the store is
 * made, so that a daemon that cannot listen leaves no store behind. */
static int probe_listen(const struct daemon *d, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	bool loopback;
	if (strcmp(d->cfg.listen, "off") == 0)
		return 0;
	int r = server_parse_listen(d->cfg.listen, &ss, &sl, &loopback, err, errlen);
	if (r < 0)
		return r;
	char a[80];
	listen_format(&ss, a, sizeof(a));
	int fd = listen_bind(&ss, sl, a, err, errlen);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* [logs] retention and retention_per_source into the engine's store
 * handle: its store_maintain() applies them (docs/logs.md). */
static void set_log_retention(struct daemon *d)
{
	const struct config_list *l = &d->cfg.log_retain_src;
	struct store_log_retain r[CONFIG_MAX_LIST];
	char *globs[CONFIG_MAX_LIST];
	int n = 0;
	for (int i = 0; i < l->n; i++) {
		size_t gl;
		double secs;
		if (config_retain_split(l->v[i], &gl, &secs) < 0) /* checked when parsed */
			continue;
		globs[n] = xstrndup(l->v[i], gl);
		r[n] = (struct store_log_retain){.glob = globs[n], .ms = (int64_t)(secs * 1000)};
		n++;
	}
	pthread_mutex_lock(&d->e.store.lock);
	int e = store_log_retention(d->e.store.st, (int64_t)(d->cfg.log_retention * 1000), r,
	                            (size_t)n);
	pthread_mutex_unlock(&d->e.store.lock);
	if (e < 0)
		log_warn("[logs] retention: %s", strerror(-e));
	for (int i = 0; i < n; i++)
		free(globs[i]);
}

/* The log collector over the engine's store, fed by its discovery; its
 * failure is logged and the daemon goes on without logs. */
static void start_logs(struct daemon *d)
{
	if (!d->cfg.logs)
		return;
	struct logtail_config lc = {
	    .globs = d->cfg.log_globs.n ? (const char *const *)d->cfg.log_globs.v : NULL,
	    .nglobs = d->cfg.log_globs.n,
	    .multiline = (const char *const *)d->cfg.log_multiline.v,
	    .nmultiline = d->cfg.log_multiline.n,
	    .max_line = (size_t)d->cfg.log_max_line,
	    .journal = true,
	    .journal_dir = d->cfg.log_journal_dir,
	};
	if (logtail_start(&lc, &d->e.store, d->proc_fd, &d->logs) < 0) {
		log_error("running without log collection");
		return;
	}
	d->e.discovered = logtail_discovered;
	d->e.discovered_arg = d->logs;
	d->stats.extra_metrics = logtail_metrics;
	d->stats.extra_metrics_arg = d->logs;
}

/* A port below 1024 in a listen address ("127.0.0.1:80", ":514", "80"),
 * read as the API reads it (server_parse_listen). */
static bool low_port(const char *listen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	bool loopback;
	char err[256];
	if (!listen || server_parse_listen(listen, &ss, &sl, &loopback, err, sizeof(err)) < 0)
		return false;
	in_port_t port = ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                          : ((struct sockaddr_in *)&ss)->sin_port;
	return ntohs(port) > 0 && ntohs(port) < 1024;
}

/* [security] drop_capabilities: keep what the enabled views need
 * (docs/security.md), in the main thread before any other exists. */
static int drop_capabilities(struct daemon *d)
{
	uint64_t keep = CAP_BIT(CAP_SYS_PTRACE) | CAP_BIT(CAP_DAC_READ_SEARCH);
	if (d->cfg.containers)
		keep |= CAP_BIT(CAP_SYS_ADMIN); /* setns() into their namespaces */
	if (d->cfg.sample_ifaces)
		keep |= CAP_BIT(CAP_NET_RAW); /* AF_PACKET */
	if (d->cfg.sflow_listen)
		keep |= CAP_BIT(CAP_NET_ADMIN); /* the collector's SO_RCVBUFFORCE */
	if ((strcmp(d->cfg.listen, "off") != 0 && low_port(d->cfg.listen)) ||
	    low_port(d->cfg.sflow_listen))
		keep |= CAP_BIT(CAP_NET_BIND_SERVICE);
	uint64_t kept;
	char err[256], names[512];
	if (caps_keep(keep, &kept, err, sizeof(err)) < 0) {
		fprintf(stderr, "vantage serve: --drop-caps: %s\n", err);
		return -1;
	}
	caps_format(kept, names, sizeof(names));
	log_info("capabilities: kept %s, dropped every other", names);
	return 0;
}

/* Open the store (creating its directory; the daemon's claim on it, see
 * store.h STORE_DAEMON), set up the engine over it, and start the API. */
static int open_store_and_api(struct daemon *d)
{
	char err[512];
	int r = probe_listen(d, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "vantage serve: %s\n", err);
		return r == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	struct store *st;
	r = store_open(d->cfg.db_path, STORE_DAEMON, &st); /* makes the directory */
	if (r < 0) {
		fprintf(stderr, "vantage serve: %s\n", store_errmsg(NULL));
		return EXIT_FAIL;
	}
	struct engine_report rep = {.count = report_count, .error = report_error, .arg = &d->stats};
	engine_init(&d->e, d->proc_fd, st, d->cfg.db_path, &rep);
	d->engine_up = true;
	d->e.opts = d->opts;
	d->e.sinks = (const char *const *)d->cfg.sinks.v;
	d->e.nsinks = d->cfg.sinks.n;
	d->e.spool_dir = d->cfg.spool_dir;
	d->e.spool_max_bytes = d->cfg.spool_max_bytes;
	d->e.spool_max_age_s = (int64_t)d->cfg.spool_max_age;
	d->e.guard = memguard_new(d->proc_fd, d->cfg.memory_limit);
	d->e.watch[kind_container.index] = d->cfg.containers;
	d->e.watch[kind_vm.index] = d->cfg.vms;
	set_log_retention(d);
	start_logs(d);
	if (strcmp(d->cfg.listen, "off") == 0)
		return EXIT_OK;
	struct server_opts so = {
	    .listen = d->cfg.listen,
	    .token = d->token,
	    .store_path = d->cfg.db_path,
	    .stats = &d->stats,
	    .ui_dir = d->cfg.ui_dir,
	    .tls_cert = d->cfg.tls_cert,
	    .tls_key = d->cfg.tls_key,
	};
	r = server_start(&so, &d->srv, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "vantage serve: %s\n", err);
		return r == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	fprintf(stderr, "vantage: API on %s://%s\n", server_scheme(d->srv), server_address(d->srv));
	fprintf(stderr, "dashboard: %s://%s/\n", server_scheme(d->srv), server_address(d->srv));
	return EXIT_OK;
}

int cmd_serve(int argc, char **argv)
{
	struct daemon *d = calloc(1, sizeof(*d));
	if (!d)
		return EXIT_FAIL;
	d->epfd = d->tfd = d->sigfd = d->proc_fd = -1;
	server_stats_init(&d->stats);
	int status = EXIT_OK;
	bool help = false;
	char msg[800];

	status = parse_args(d, argc, argv, &help);
	if (status != EXIT_OK || help) {
		if (help)
			serve_usage(stdout);
		goto out_free;
	}
	if (!d->config_path && access(CONFIG_DEFAULT_FILE, F_OK) == 0)
		d->config_path = CONFIG_DEFAULT_FILE;
	if (build_config(d, &d->cfg, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "vantage serve: %s\n", msg);
		status = EXIT_USAGE;
		goto out_free;
	}
	if (load_token(d, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "vantage serve: %s\n", msg);
		status = EXIT_USAGE;
		goto out_cfg;
	}
	if (check_api_address(d, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "vantage serve: %s\n", msg);
		status = EXIT_USAGE;
		goto out_cfg;
	}
	log_threshold = d->cfg.log_level;
	fill_opts(d);

	/* signals go to the signalfd only, in every thread made from here */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	umask(027);
	crawl_raise_nofile();

	d->proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->proc_fd < 0 || setup_fds(d) < 0) {
		fprintf(stderr,
		        "vantage serve: cannot set up /proc, signalfd, timerfd or epoll: %s\n",
		        strerror(errno));
		status = EXIT_FAIL;
		goto out_fds;
	}
	if (d->cfg.drop_caps && drop_capabilities(d) < 0) {
		status = EXIT_FAIL;
		goto out_fds;
	}
	status = open_store_and_api(d);
	if (status != EXIT_OK)
		goto out_store;
	atomic_store(&d->stats.started_ms, now_ns() / 1000000);
	if (d->config_path)
		log_info("configuration from %s", d->config_path);
	int mi = d->e.sched.metric;
	char safe[1024];
	store_url_safe(d->cfg.db_path, safe, sizeof(safe));
	log_info("store %s; metric every %gs", safe,
	         mi >= 0 && mi < CONFIG_MAX_FEATURES ? d->cfg.interval[mi] : 0.0);
	apply_config(d, &d->cfg, true);
	start_alarms(d);
	start_logfilters(d);
	if (engine_start(&d->e) < 0) {
		status = EXIT_FAIL;
		goto out_store;
	}
	if (d->cfg.sample_ifaces && /* packet sampling (docs/flows.md) */
	    sampler_start(&d->e, d->cfg.sample_ifaces, d->cfg.sample_rate, &d->sampler, msg,
	                  sizeof(msg)) < 0) {
		log_error("%s", msg);
		status = EXIT_USAGE;
		goto out_store;
	}
	if (start_sflow(d) == 0)
		main_loop(d);
	else
		status = EXIT_FAIL;
	logtail_stop(d->logs);          /* its last lines, before the store closes */
	sflow_collector_stop(d->sflow); /* before the store closes */
	sampler_stop(d->sampler);
	d->sampler = NULL;
	engine_stop(&d->e);
	d->engine_up = false;
	log_info("stopped; store %s closed", safe);
out_store:
	sampler_stop(d->sampler);
	logtail_stop(d->logs);
	if (d->engine_up) /* the lanes (if any) and the store */
		engine_stop(&d->e);
	server_stop(d->srv);
	logfilter_stop(logfilters);
	logfilters = NULL;
	atomic_store(&d->stats.sflow, NULL);
	sflow_collector_free(d->sflow); /* after the API, which reads its counters */
	flow_recorder_free(d->flows);   /* flushed by the collector's thread at its end */
	if (!d->e.abandoned)            /* after the lanes and the API, which call it */
		logtail_free(d->logs);
	if (!d->e.abandoned) /* after the lanes and the API, which call it */
		alarm_engine_stop(d->alarms);
out_fds:
	if (!d->e.abandoned) {
		memguard_free(d->e.guard);
		d->e.guard = NULL;
	}
	close_fds(d);
	free(d->token);
out_cfg:
	config_free(&d->cfg);
out_free:
	if (!d->e.abandoned) { /* else a lane thread may still look at d until exit */
		server_stats_destroy(&d->stats);
		free(d);
	}
	return status;
}
