/*
 * crawl.c - `vantage crawl`: frames of this host, its containers, its QEMU
 * guests, a mounted root, or a raw disk image (one frame per system).
 *
 * Parses and validates everything the user gave before any work starts
 * (feature names, the root, the image, the guests, the sinks of --output
 * and --sink, opened by URL through sinks/sinks.h), then hands the
 * systems, found and opened through their kind (engine/target.h), to the
 * crawl pool (engine/crawl_run.h), which runs each feature in registry
 * order into one frame per system and writes it to the sinks.  A
 * feature that fails as a whole is recorded in the frame header and the
 * crawl goes on with the next one.
 *
 * The features' own options (--interval, --config-path, --hash...) are
 * not listed here: they come from the features' declarations (struct
 * feature_option), for the flags, their parsing and the help alike.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>

#include "../engine/crawl_run.h"
#include "../engine/target.h"
#include "../engine/vm_crawl.h"
#include "../features/feature.h"
#include "../sinks/sinks.h"
#include "../sinks/spool.h"
#include "../util/log.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "../views/view.h"
#include "cli.h"

#define MAX_LIST 64

static void crawl_usage(FILE *out)
{
	fprintf(out,
	        "Usage: vantage crawl [OPTIONS]\n"
	        "\n"
	        "Crawl this host (default), its containers, its VMs, a mounted root file\n"
	        "system, or a raw disk image: one frame per system.\n"
	        "\n"
	        "Options:\n"
	        "  -f, --features LIST     comma-separated features (default: every feature\n"
	        "                          but the opt-in ones, file and library; with\n"
	        "                          --root or --image: os,package,config; with\n"
	        "                          --vm/--vms: os,process,\n"
	        "                          connection,module,metric,interface)\n"
	        "                          'all' selects every feature; see 'vantage features'\n"
	        "  -F, --format FMT        json (JSON Lines, default) or crawler (the reference\n"
	        "                          crawler's tab-separated layout)\n"
	        "  -o, --output FILE       write the frames to FILE instead of stdout (or to a\n"
	        "                          sink URL: see --sink)\n"
	        "      --sink URL          write the frames to this sink too (repeatable;\n"
	        "                          without --output, only to the sinks): -, PATH,\n"
	        "                          file:PATH, sqlite:PATH (a store), http(s)://HOST/PATH;\n"
	        "                          see docs/sinks.md\n"
	        "      --spool-dir DIR     where sinks that can wait (http) keep the frames\n"
	        "                          their far end did not take, for the next run\n"
	        "                          (default /var/lib/vantage/spool, or\n"
	        "                          ~/.local/state/vantage/spool when not root)\n"
	        "  -r, --root DIR          crawl the root file system mounted at DIR (kind\n"
	        "                          'image'; features os, package, config, file)\n"
	        "      --image PATH        crawl the raw disk image (or block device) PATH\n"
	        "                          without mounting it: an ext2/3/4 file system, whole\n"
	        "                          or in an MBR/GPT partition; read-only (kind 'image';\n"
	        "                          features os, package, config, file)\n"
	        "      --partition N       with --image: crawl partition N (1-based; default: the\n"
	        "                          only ext2/3/4 one, or the one holding /etc/os-release)\n"
	        "      --vm SPEC           crawl a Linux guest from its RAM, with nothing in\n"
	        "                          the guest (repeatable).  SPEC: ram=PATH (a RAM\n"
	        "                          file or a dump-guest-memory ELF core, optionally\n"
	        "                          ,system-map=PATH), or a running QEMU guest's name,\n"
	        "                          uuid or pid (see 'vantage ls'); features os,\n"
	        "                          process, connection, module, metric, interface\n"
	        "      --vms               crawl every running QEMU guest\n"
	        "      --pause             with --vm/--vms: stop each guest through QMP while\n"
	        "                          it is read (always resumed; time in the frame)\n"
	        "      --containers        crawl every container on this host (found from\n"
	        "                          /proc and cgroups; no daemon is asked)\n"
	        "  -c, --container ID      crawl this container (id, id prefix or name;\n"
	        "                          repeatable)\n"
	        "      --host              crawl the host as well (the default when no\n"
	        "                          container is named)\n"
	        "  -w, --workers N         systems crawled in parallel (default: CPUs)\n"
	        "  -t, --timeout SEC       time limit per system, 1s to 1d (default 30)\n"
	        "      --progress          show progress of long walks on stderr (default:\n"
	        "      --no-progress       when stderr is a terminal)\n"
	        "      --log-level LEVEL   debug, info, warn (default), error, off\n"
	        "  -h, --help              show this help\n"
	        "\n"
	        "Options of the features (SEC: a number of seconds or a duration such as\n"
	        "250ms, 2s; N, SIZE: bytes with an optional K, M or G):\n");
	feature_options_help(out, FEATURE_HELP_CRAWL);
	fprintf(out,
	        "\n"
	        "Output: JSON Lines, one record per line with keys system, time, feature, key,\n"
	        "value; the first line is the frame header (feature \"frame\") with the system's\n"
	        "identity, the features, the duration and per-feature error counts.\n"
	        "Exit status: 0 crawled (item errors are counted in the header), 1 the frame\n"
	        "could not be written, 2 bad usage.\n");
}

/* Split a comma list into feature pointers; report the first unknown.
 * "all" (alone or anywhere in the list) names every feature. */
static int parse_features(const char *list, const struct feature **out, int *n)
{
	*n = 0;
	char *dup = strdup(list);
	if (!dup)
		return -1;
	int rc = 0;
	char *save = NULL;
	for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (!*tok)
			continue;
		if (strcmp(tok, "all") == 0) {
			for (size_t i = 0; i < feature_count; i++) {
				bool seen = false;
				for (int k = 0; k < *n; k++)
					seen |= out[k] == feature_table[i];
				if (!seen && *n < MAX_LIST)
					out[(*n)++] = feature_table[i];
			}
			continue;
		}
		const struct feature *f = feature_find(tok);
		if (!f) {
			fprintf(stderr, "vantage crawl: unknown feature '%s' in --features '%s'\n",
			        tok, list);
			fprintf(stderr, "known features:");
			for (size_t i = 0; i < feature_count; i++)
				fprintf(stderr, " %s", feature_table[i]->name);
			fprintf(stderr, "\n");
			rc = -1;
			break;
		}
		bool dup_f = false;
		for (int i = 0; i < *n; i++)
			dup_f |= out[i] == f;
		if (!dup_f && *n < MAX_LIST)
			out[(*n)++] = f;
	}
	free(dup);
	if (rc == 0 && *n == 0) {
		fprintf(stderr, "vantage crawl: --features '%s' names no feature\n", list);
		rc = -1;
	}
	return rc;
}

/* Every feature can run on files alone, else a message naming the first. */
static bool files_only(const struct feature **feats, int nfeats, const char *opt, const char *arg,
                       const char *what)
{
	for (int i = 0; i < nfeats; i++)
		if (!feats[i]->on_files_only) {
			fprintf(
			    stderr,
			    "vantage crawl: feature '%s' needs a running system; %s '%s' has only "
			    "files (features for %s: os, package, config, file)\n",
			    feats[i]->name, opt, arg, what);
			return false;
		}
	return true;
}

/* An engine message, as this command's. */
static void report(void *arg, const char *msg)
{
	fprintf(stderr, "vantage crawl: %s\n", msg);
}

/* Extra destinations of the frames (--sink URL, repeatable), and where
 * their spools are (--spool-dir). */
static const char *extra_sinks[MAX_LIST];
static int nextra_sinks;
static const char *spool_base;

/* After the sinks are closed: frames a sink's spool still holds (the far
 * end was down: the next run delivers them first), or lost (exit 1). */
static void report_spool(void *ctx, const struct spool_counters *c)
{
	int *status = ctx;
	unsigned long long frames = atomic_load(&c->frames),
	                   dropped = atomic_load(&c->dropped_frames),
	                   replayed = atomic_load(&c->replayed_frames);
	if (replayed)
		fprintf(stderr, "vantage crawl: sink %s: %llu frames of an earlier run delivered\n",
		        c->name, replayed);
	if (frames)
		fprintf(stderr,
		        "vantage crawl: sink %s: not reachable; %llu frames wait in the spool %s "
		        "and go first on the next run with this sink\n",
		        c->name, frames, c->dir);
	unsigned long long rejected = atomic_load(&c->rejected_frames);
	if (rejected) {
		fprintf(stderr, "vantage crawl: sink %s: %llu frames refused by the far end\n",
		        c->name, rejected);
		*status = EXIT_FAIL;
	}
	if (dropped) {
		fprintf(
		    stderr,
		    "vantage crawl: sink %s: %llu frames lost (the spool was full, the frames too "
		    "old, or the spool could not be written)\n",
		    c->name, dropped);
		*status = EXIT_FAIL;
	}
}

/* Crawl the systems into the sink, then close it; the exit status. */
static int run_into(struct crawl_target *t, int n, const struct feature **feats, int nfeats,
                    const struct crawl_opts *opts, enum frame_format fmt, struct sink *sink,
                    int proc_fd, int workers, double timeout)
{
	struct crawl_run run = {
	    .targets = t,
	    .ntargets = n,
	    .feats = feats,
	    .nfeats = nfeats,
	    .opts = opts,
	    .fmt = fmt,
	    .sink = sink,
	    .proc_fd = proc_fd,
	    .workers = workers,
	    .timeout = timeout,
	};
	int r = crawl_run(&run);
	int status = EXIT_OK;
	if (r < 0) {
		fprintf(stderr, "vantage crawl: writing %s to %s failed: %s\n",
		        n == 1 && proc_fd < 0 ? "the frame" : "frames", sink->desc, strerror(-r));
		status = EXIT_FAIL;
	}
	sink_close(sink);
	spool_registry_foreach(report_spool, &status);
	return status;
}

/*
 * Where the frames go, opened before any work: --output (a file, "-" or a
 * sink URL; stdout when neither it nor --sink is given) and every --sink
 * URL, through a tee when there is more than one.  Prints why on failure
 * and returns a negative errno.
 */
static int open_output(const char *output, struct sink **out)
{
	const char *urls[MAX_LIST + 1];
	const char *flag[MAX_LIST + 1];
	int n = 0;
	if (output || !nextra_sinks) {
		urls[n] = output ? output : "-";
		flag[n++] = "--output";
	}
	for (int i = 0; i < nextra_sinks; i++) {
		urls[n] = extra_sinks[i];
		flag[n++] = "--sink";
	}
	struct sink *tee = NULL;
	if (n > 1) {
		int r = sink_tee_open(0, NULL, NULL, &tee);
		if (r < 0) {
			fprintf(stderr, "vantage crawl: %s\n", strerror(-r));
			return r;
		}
	}
	for (int i = 0; i < n; i++) {
		char err[512];
		struct sink *s;
		struct sink_env env = {.spool_dir = spool_base};
		int r = sink_open(urls[i], &env, &s, err, sizeof(err));
		if (r == -EINVAL || r == -ENOTSUP)
			fprintf(stderr, "vantage crawl: %s: %s\n", flag[i], err);
		else if (r < 0)
			fprintf(stderr, "vantage crawl: cannot write %s '%s': %s\n", flag[i],
			        urls[i], strerror(-r));
		if (r < 0) {
			if (tee)
				sink_close(tee);
			return r;
		}
		if (!tee) {
			*out = s;
			return 0;
		}
		sink_tee_add(tee, s, 0);
	}
	*out = tee;
	return 0;
}

/* A mounted root or a disk image (kind_root, kind_image): one system, one
 * frame.  Its view is opened before the output is created: a bad one
 * leaves no file. */
static int crawl_path(const struct target_kind *kind, const char *opt, const char *path,
                      unsigned partition, const struct feature **feats, int nfeats,
                      const struct crawl_opts *opts, enum frame_format fmt, const char *output)
{
	struct path_target p = {.path = path, .partition = partition};
	struct view *view;
	char why[1024];
	int r = kind->open(&p, -1, &view, why, sizeof(why));
	if (r < 0) {
		if (kind == &kind_root) /* the message it always had */
			fprintf(stderr, "vantage crawl: cannot open %s '%s': %s\n", opt, path,
			        strerror(-r));
		else
			fprintf(stderr, "vantage crawl: %s '%s': %s\n", opt, path,
			        why[0] ? why : strerror(-r));
		return EXIT_USAGE;
	}
	struct target_set set;
	target_set_init(&set, -1);
	const struct target *t = target_add(&set, kind, &p); /* identity after open */
	struct sink *sink;
	r = t ? open_output(output, &sink) : -ENOMEM;
	if (r < 0) {
		if (!t)
			fprintf(stderr, "vantage crawl: %s\n", strerror(-r));
		view_destroy(view);
		target_set_free(&set);
		return EXIT_USAGE;
	}
	struct crawl_target ct = {.target = t, .sys = t->sys, .view = view};
	int status = run_into(&ct, 1, feats, nfeats, opts, fmt, sink, -1, 1, 86400);
	view_destroy(view);
	target_set_free(&set);
	return status;
}

/* QEMU guests from their RAM (engine/vm_crawl.h). */
static int crawl_vms(const struct vm_crawl_args *a, const struct feature **feats, int nfeats,
                     const struct crawl_opts *opts, enum frame_format fmt, const char *output,
                     int workers, double timeout)
{
	for (int i = 0; i < nfeats; i++)
		if (!target_takes(&kind_vm, feats[i])) {
			fprintf(stderr,
			        "vantage crawl: feature '%s' reads files; a VM's files are "
			        "crawled offline from its disk with --image (features for a VM: "
			        "os, process, connection, module, metric, interface)\n",
			        feats[i]->name);
			return EXIT_USAGE;
		}
	struct vm_crawl c;
	int r = vm_crawl_open(&c, a, report, NULL);
	int status = r == -EINVAL ? EXIT_USAGE : r < 0 ? EXIT_FAIL : EXIT_OK;
	if (status == EXIT_OK && !c.n) {
		if (!c.partial)
			fprintf(stderr, "vantage crawl: no running VM found\n");
		status = EXIT_FAIL;
	}
	struct sink *sink;
	if (status == EXIT_OK && open_output(output, &sink) < 0) {
		status = EXIT_USAGE;
	}
	if (status == EXIT_OK) {
		status =
		    run_into(c.targets, c.n, feats, nfeats, opts, fmt, sink, -1, workers, timeout);
		if (status == EXIT_OK && c.partial)
			status = EXIT_FAIL;
	}
	vm_crawl_close(&c);
	return status;
}

/* The host and/or its containers, in parallel. */
static int crawl_live(const struct feature **feats, int nfeats, const struct crawl_opts *opts,
                      enum frame_format fmt, struct sink *sink, bool all_containers,
                      const char *const *named, int nnamed, bool want_host, int workers,
                      double timeout)
{
	crawl_raise_nofile();
	int proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (proc_fd < 0) {
		fprintf(stderr, "vantage crawl: cannot open /proc: %s\n", strerror(errno));
		sink_close(sink);
		return EXIT_FAIL;
	}
	struct target_set set;
	target_set_init(&set, proc_fd);
	int r = want_host ? target_discover(&set, &kind_host) : 0;
	if (r == 0 && (all_containers || nnamed))
		r = target_discover(&set, &kind_container);
	if (r < 0) {
		fprintf(stderr, "vantage crawl: cannot list containers: %s\n", strerror(-r));
		target_set_free(&set);
		close(proc_fd);
		sink_close(sink);
		return EXIT_FAIL;
	}
	/* every named container must exist: say which one does not */
	const struct target *chosen[MAX_LIST];
	for (int i = 0; i < nnamed; i++) {
		chosen[i] = kind_container.find(&set, named[i]);
		if (!chosen[i]) {
			fprintf(stderr,
			        "vantage crawl: no running container '%s' (see 'vantage ls')\n",
			        named[i]);
			target_set_free(&set);
			close(proc_fd);
			sink_close(sink);
			return EXIT_USAGE;
		}
	}
	struct crawl_target *targets = calloc((size_t)set.n + 1, sizeof(*targets));
	if (!targets) {
		target_set_free(&set);
		close(proc_fd);
		sink_close(sink);
		return EXIT_FAIL;
	}
	int n = 0, ncontainers = 0;
	for (int i = 0; i < set.n; i++) {
		const struct target *t = &set.v[i];
		bool take = t->kind != &kind_container || all_containers;
		for (int k = 0; k < nnamed && !take; k++)
			take = chosen[k] == t;
		if (take)
			targets[n++] = (struct crawl_target){.target = t, .sys = t->sys};
		ncontainers += t->kind == &kind_container;
	}
	int status =
	    run_into(targets, n, feats, nfeats, opts, fmt, sink, proc_fd, workers, timeout);
	if (all_containers && ncontainers == 0)
		log_info("no containers found");
	free(targets);
	target_set_free(&set);
	close(proc_fd);
	return status;
}

/* The features' options as getopt entries after `fixed` (ending with a
 * zero entry), values O_FEATURE + k (O_FEATURE_NO + k for --no-FLAG) for
 * the k-th option in `fopts`; their short flags appended to `shorts`. */
enum { O_FEATURE = 1000, O_FEATURE_NO = 2000, MAX_FOPTS = 128 };
struct fopt {
	const struct feature *f;
	const struct feature_option *o;
};

static int feature_longopts(const struct option *fixed, struct option *out, size_t cap,
                            struct fopt *fopts, char *shorts, size_t scap)
{
	size_t n = 0, k = 0;
	while (n < cap && fixed[n].name)
		out[n] = fixed[n], n++;
	for (size_t i = 0; i < feature_count; i++) {
		for (const struct feature_option *o = feature_table[i]->options; o && o->flag;
		     o++) {
			if (k == MAX_FOPTS || n + 3 > cap)
				return -1;
			bool is_bool = o->type == FOPT_BOOL;
			fopts[k] = (struct fopt){feature_table[i], o};
			out[n++] =
			    (struct option){o->flag, is_bool ? no_argument : required_argument, 0,
			                    O_FEATURE + (int)k};
			if (is_bool) {
				static char no[MAX_FOPTS][64];
				snprintf(no[k], sizeof(no[k]), "no-%s", o->flag);
				out[n++] =
				    (struct option){no[k], no_argument, 0, O_FEATURE_NO + (int)k};
			}
			if (o->short_flag) {
				size_t l = strlen(shorts);
				if (l + 3 < scap)
					snprintf(shorts + l, scap - l, "%c%s", o->short_flag,
					         is_bool ? "" : ":");
			}
			k++;
		}
	}
	out[n] = (struct option){0, 0, 0, 0};
	return (int)k;
}

/* Set a feature's option from a flag; false (said on stderr) if bad. */
static bool set_feature_flag(struct crawl_opts *opts, const struct fopt *fo, int nf, int c,
                             const char *arg)
{
	static bool seen[MAX_FOPTS]; /* a list's first flag replaces the default */
	int k = -1;
	const char *value = arg;
	if (c >= O_FEATURE_NO && c < O_FEATURE_NO + nf) {
		k = c - O_FEATURE_NO;
		value = "false";
	} else if (c >= O_FEATURE && c < O_FEATURE + nf) {
		k = c - O_FEATURE;
	} else {
		for (int i = 0; i < nf; i++)
			if (fo[i].o->short_flag && fo[i].o->short_flag == c)
				k = i;
	}
	if (k < 0)
		return false;
	if (fo[k].o->type == FOPT_BOOL && value == arg)
		value = "true";
	char err[512];
	if (crawl_opts_set(opts, fo[k].f, fo[k].o, value, !seen[k], true, err, sizeof(err)) < 0) {
		fprintf(stderr, "vantage crawl: %s\n", err);
		return false;
	}
	seen[k] = true;
	return true;
}

static int crawl_main(int argc, char **argv, const struct crawl_opts *given);

int cmd_crawl(int argc, char **argv)
{
	struct crawl_opts opts;
	if (crawl_opts_init(&opts) < 0) {
		fprintf(stderr, "vantage crawl: out of memory\n");
		return EXIT_FAIL;
	}
	int r = crawl_main(argc, argv, &opts);
	crawl_opts_free(&opts);
	return r;
}

/* What the command line asked for (crawl_parse fills it). */
struct crawl_args {
	const char *features, *output, *root, *image;
	const char *vm_specs[MAX_LIST];
	int nvm;
	bool all_vms, pause_vms;
	unsigned partition;
	enum frame_format fmt;
	int progress; /* -1: when stderr is a terminal */
	const char *named[MAX_LIST];
	int nnamed, workers;
	bool all_containers, want_host;
	double timeout;
};

enum {
	O_CONTAINERS = 300,
	O_HOST,
	O_PROGRESS = 256,
	O_NO_PROGRESS,
	O_LOG_LEVEL,
	O_IMAGE = 320,
	O_PARTITION,
	O_VM = 330,
	O_VMS,
	O_PAUSE,
	O_SINK = 340,
	O_SPOOL_DIR = 341
};

/* A list flag's next value into v[*n] (at most MAX_LIST); false when full. */
static bool add_arg(const char **v, int *n, const char *flag, const char *value)
{
	if (*n == MAX_LIST) {
		fprintf(stderr, "vantage crawl: at most %d %s\n", MAX_LIST, flag);
		return false;
	}
	v[(*n)++] = value;
	return true;
}

/*
 * One option of the command line (getopt's c and optarg) into a or opts.
 * Returns -1 to go on, else the exit status (help printed, bad usage).
 */
static int crawl_option(int c, const char *arg, struct crawl_args *a, struct crawl_opts *opts,
                        const struct fopt *fopts, int nfopts)
{
	switch (c) {
	case 'f':
		a->features = arg;
		return -1;
	case 'F':
		if (strcmp(arg, "json") == 0)
			a->fmt = FRAME_JSON;
		else if (strcmp(arg, "crawler") == 0)
			a->fmt = FRAME_CRAWLER;
		else {
			fprintf(stderr,
			        "vantage crawl: unknown --format '%s' (use json or crawler)\n",
			        arg);
			return EXIT_USAGE;
		}
		return -1;
	case 'o':
		a->output = arg;
		return -1;
	case O_SINK:
		return add_arg(extra_sinks, &nextra_sinks, "--sink", arg) ? -1 : EXIT_USAGE;
	case O_SPOOL_DIR:
		spool_base = arg;
		return -1;
	case 'r':
		a->root = arg;
		return -1;
	case O_IMAGE:
		a->image = arg;
		return -1;
	case O_VM:
		return add_arg(a->vm_specs, &a->nvm, "--vm", arg) ? -1 : EXIT_USAGE;
	case O_VMS:
		a->all_vms = true;
		return -1;
	case O_PAUSE:
		a->pause_vms = true;
		return -1;
	case O_PARTITION: {
		char *end;
		errno = 0;
		unsigned long n = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || arg[0] == '-' || n < 1 || n > 4096) {
			fprintf(stderr,
			        "vantage crawl: --partition '%s' is not a partition number "
			        "(1, 2, ...)\n",
			        arg);
			return EXIT_USAGE;
		}
		a->partition = (unsigned)n;
		return -1;
	}
	case O_CONTAINERS:
		a->all_containers = true;
		return -1;
	case O_HOST:
		a->want_host = true;
		return -1;
	case 'c':
		return add_arg(a->named, &a->nnamed, "--container", arg) ? -1 : EXIT_USAGE;
	case 'w': {
		char *end;
		long w = strtol(arg, &end, 10);
		if (*end || end == arg || w < 1 || w > 64) {
			fprintf(stderr,
			        "vantage crawl: --workers '%s' is not a number from 1 to 64\n",
			        arg);
			return EXIT_USAGE;
		}
		a->workers = (int)w;
		return -1;
	}
	case 't': {
		double d;
		if (parse_duration_sec(arg, &d) < 0 || !(d >= 1 && d <= 86400)) {
			fprintf(stderr,
			        "vantage crawl: --timeout '%s' is not a duration from 1s to 1d "
			        "(e.g. 30, 30s, 5m)\n",
			        arg);
			return EXIT_USAGE;
		}
		a->timeout = d;
		return -1;
	}
	case O_PROGRESS:
		a->progress = 1;
		return -1;
	case O_NO_PROGRESS:
		a->progress = 0;
		return -1;
	case O_LOG_LEVEL: {
		int l = log_level_parse(arg);
		if (l < 0) {
			fprintf(
			    stderr,
			    "vantage crawl: unknown --log-level '%s' (debug, info, warn, error, "
			    "off)\n",
			    arg);
			return EXIT_USAGE;
		}
		log_threshold = (enum log_level)l;
		return -1;
	}
	case 'h':
		crawl_usage(stdout);
		return EXIT_OK;
	default:
		if (c != '?' && set_feature_flag(opts, fopts, nfopts, c, arg))
			return -1;
		if (c == '?')
			fprintf(stderr, "Try 'vantage crawl --help'.\n");
		return EXIT_USAGE;
	}
}

/* The command line into a and opts; -1 to go on, else the exit status. */
static int crawl_parse(int argc, char **argv, struct crawl_args *a, struct crawl_opts *opts)
{
	static const struct option fixed[] = {
	    {"features", required_argument, 0, 'f'},
	    {"format", required_argument, 0, 'F'},
	    {"output", required_argument, 0, 'o'},
	    {"sink", required_argument, 0, O_SINK},
	    {"spool-dir", required_argument, 0, O_SPOOL_DIR},
	    {"root", required_argument, 0, 'r'},
	    {"image", required_argument, 0, O_IMAGE},
	    {"vm", required_argument, 0, O_VM},
	    {"vms", no_argument, 0, O_VMS},
	    {"pause", no_argument, 0, O_PAUSE},
	    {"partition", required_argument, 0, O_PARTITION},
	    {"containers", no_argument, 0, O_CONTAINERS},
	    {"container", required_argument, 0, 'c'},
	    {"host", no_argument, 0, O_HOST},
	    {"workers", required_argument, 0, 'w'},
	    {"timeout", required_argument, 0, 't'},
	    {"progress", no_argument, 0, O_PROGRESS},
	    {"no-progress", no_argument, 0, O_NO_PROGRESS},
	    {"log-level", required_argument, 0, O_LOG_LEVEL},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	struct option longopts[ARRAY_SIZE(fixed) + 3 * MAX_FOPTS];
	struct fopt fopts[MAX_FOPTS];
	char shorts[64] = "f:F:o:r:c:w:t:h";
	int nfopts =
	    feature_longopts(fixed, longopts, ARRAY_SIZE(longopts), fopts, shorts, sizeof(shorts));
	if (nfopts < 0) {
		fprintf(stderr, "vantage crawl: too many feature options\n");
		return EXIT_FAIL;
	}
	*a = (struct crawl_args){.fmt = FRAME_JSON,
	                         .progress = -1,
	                         .workers = (int)sysconf(_SC_NPROCESSORS_ONLN),
	                         .timeout = 30};
	int c, r;
	optind = 1;
	nextra_sinks = 0;
	spool_base = NULL;
	while ((c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1)
		if ((r = crawl_option(c, optarg, a, opts, fopts, nfopts)) >= 0)
			return r;
	if (optind < argc) {
		fprintf(stderr,
		        "vantage crawl: unexpected argument '%s'\nTry 'vantage crawl --help'.\n",
		        argv[optind]);
		return EXIT_USAGE;
	}
	return -1;
}

/* Flags that cannot go together; true when the combination is fine. */
static bool crawl_check(const struct crawl_args *a, const struct feature **feats, int nfeats)
{
	bool vms = a->nvm || a->all_vms, others = a->all_containers || a->nnamed || a->want_host;
	if (a->pause_vms && !vms) {
		fprintf(stderr, "vantage crawl: --pause goes with --vm or --vms\n");
		return false;
	}
	if (vms && (a->root || a->image || others)) {
		fprintf(stderr,
		        "vantage crawl: --vm/--vms crawl guests from their RAM; they cannot be "
		        "combined with --root, --image, --containers, --container or --host\n");
		return false;
	}
	if (vms)
		return true;
	if (a->root && others) {
		fprintf(stderr,
		        "vantage crawl: --root crawls a file system; it cannot be combined with "
		        "--containers, --container or --host\n");
		return false;
	}
	if (a->image && (a->root || others)) {
		fprintf(stderr,
		        "vantage crawl: --image crawls a disk image; it cannot be combined with "
		        "--root, --containers, --container or --host\n");
		return false;
	}
	if (a->partition && !a->image) {
		fprintf(stderr, "vantage crawl: --partition goes with --image\n");
		return false;
	}
	if (a->image && !files_only(feats, nfeats, "--image", a->image, "an image"))
		return false;
	if (a->root) {
		if (!files_only(feats, nfeats, "--root", a->root, "a root"))
			return false;
		struct stat st;
		if (stat(a->root, &st) < 0) {
			fprintf(stderr, "vantage crawl: --root '%s': %s\n", a->root,
			        strerror(errno));
			return false;
		}
		if (!S_ISDIR(st.st_mode)) {
			fprintf(stderr, "vantage crawl: --root '%s' is not a directory\n", a->root);
			return false;
		}
	}
	return true;
}

static int crawl_main(int argc, char **argv, const struct crawl_opts *given)
{
	struct crawl_args a;
	struct crawl_opts opts = *given; /* the settings are given's: set, not freed here */
	int r = crawl_parse(argc, argv, &a, &opts);
	if (r >= 0)
		return r;

	/* features: those named, else the defaults of the kind crawled */
	bool vms = a.nvm || a.all_vms;
	const struct target_kind *kind = vms       ? &kind_vm
	                                 : a.image ? &kind_image
	                                 : a.root  ? &kind_root
	                                           : &kind_host;
	const struct feature *feats[MAX_LIST];
	int nfeats = 0;
	if (a.features) {
		if (parse_features(a.features, feats, &nfeats) < 0)
			return EXIT_USAGE;
	} else {
		for (size_t i = 0; i < feature_count && nfeats < MAX_LIST; i++)
			if (target_default_feature(kind, feature_table[i]))
				feats[nfeats++] = feature_table[i];
	}
	if (!crawl_check(&a, feats, nfeats))
		return EXIT_USAGE;
	if (vms) {
		struct vm_crawl_args va = {
		    .specs = a.vm_specs, .nspecs = a.nvm, .all = a.all_vms, .pause = a.pause_vms};
		return crawl_vms(&va, feats, nfeats, &opts, a.fmt, a.output,
		                 a.workers > 0 ? a.workers : 1, a.timeout > 0 ? a.timeout : 30);
	}
	opts.progress = a.progress >= 0 ? a.progress : isatty(STDERR_FILENO);
	if (a.image)
		return crawl_path(&kind_image, "--image", a.image, a.partition, feats, nfeats,
		                  &opts, a.fmt, a.output);
	if (a.root)
		return crawl_path(&kind_root, "--root", a.root, 0, feats, nfeats, &opts, a.fmt,
		                  a.output);

	/* the output, before any work */
	struct sink *sink;
	if (open_output(a.output, &sink) < 0)
		return EXIT_USAGE;
	return crawl_live(feats, nfeats, &opts, a.fmt, sink, a.all_containers, a.named, a.nnamed,
	                  a.want_host || (!a.all_containers && !a.nnamed), a.workers, a.timeout);
}

int cmd_features(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("Usage: vantage features [--options [--markdown]]\n\n"
		       "List the features a crawl can collect; with --options, the options\n"
		       "they declare (flags of crawl and serve, keys of the config file);\n"
		       "--markdown: as the rows of the table in docs/configuration.md.\n");
		return EXIT_OK;
	}
	if (argc > 1 && strcmp(argv[1], "--options") == 0) {
		if (argc > 2 && strcmp(argv[2], "--markdown") == 0) {
			feature_options_help(stdout, FEATURE_HELP_MARKDOWN);
			return EXIT_OK;
		}
		if (argc > 2) {
			fprintf(stderr, "vantage features: unexpected argument '%s'\n", argv[2]);
			return EXIT_USAGE;
		}
		printf("vantage crawl:\n");
		feature_options_help(stdout, FEATURE_HELP_CRAWL);
		printf("\nvantage serve, [crawl] section of the config file:\n");
		feature_options_help(stdout, FEATURE_HELP_SERVE);
		return EXIT_OK;
	}
	if (argc > 1) {
		fprintf(stderr,
		        "vantage features: unexpected argument '%s'\n"
		        "Try 'vantage features --help'.\n",
		        argv[1]);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < feature_count; i++)
		printf("%-12s %s%s%s\n", feature_table[i]->name, feature_table[i]->description,
		       feature_table[i]->on_files_only ? " [also on --root]" : "",
		       feature_table[i]->opt_in ? " [opt-in: named with --features]" : "");
	return EXIT_OK;
}
