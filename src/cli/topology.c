/*
 * topology.c - `vantage topology`: who talks to whom, systems joined by
 * their TCP connections with traffic on the edges (analytics/topology_graph.c;
 * docs/topology.md).  From the store (the latest frames, or the frames at
 * --at TIME), or --live: this host and its containers crawled twice now
 * (os, connection), LIVE_GAP_MS apart for the rates, with the host's
 * conntrack table when it is readable; no daemon, no store.  This file
 * parses the arguments, runs the crawls and prints.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../analytics/topology.h"
#include "../analytics/topology_load.h"
#include "../engine/crawl_run.h"
#include "../engine/target.h"
#include "../frame/sink.h"
#include "../linux/conntrack_parse.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "../util/timefmt.h"
#include "../util/util.h"
#include "cli.h"
#include "sysref.h"

#define LIVE_GAP_MS 1000          /* between the two live crawls */
#define LIVE_TIMEOUT_S 20.0       /* per system */
#define CONNTRACK_MAX (64u << 20) /* bytes of /proc/net/nf_conntrack read */

static void topology_usage(FILE *out)
{
	fprintf(out,
	        "Usage: vantage topology [OPTIONS]\n"
	        "\n"
	        "Who talks to whom: the systems (hosts, containers, VMs) with their listening\n"
	        "services, joined by their established TCP connections.  The server end of an\n"
	        "edge is the side with the listening socket; remote ends that are no known\n"
	        "system become external nodes (by /24 or /64).  Edges carry the number of\n"
	        "connections and, from the kernel's per-socket TCP counters compared between\n"
	        "two frames, bytes/s each way, the RTT and the retransmits.\n"
	        "\n"
	        "Options:\n"
	        "  -j, --json           the graph as JSON: {\"nodes\":[...], \"edges\":[...]}\n"
	        "      --dot            the graph in Graphviz DOT\n"
	        "      --at TIME        the graph at TIME (ISO-8601, epoch seconds or -1h):\n"
	        "                       each system's frames at or before it\n"
	        "      --live           crawl this host and its containers now (twice, 1 s\n"
	        "                       apart, for the rates) instead of reading the store\n"
	        "  -g, --group-by WHAT  host, image or none (default: none): systems of one\n"
	        "                       host or one image as one node\n"
	        "      --db PATH        the store file (see 'vantage systems --help')\n"
	        "  -h, --help           show this help\n"
	        "\n"
	        "Exit status: 0 success, 1 the store or a crawl failed, 2 bad usage.\n");
}

/* ---- --live ---------------------------------------------------------------- */

/* A sink keeping the frames in memory. */
struct memsink {
	struct sink base;
	struct buf *out;
};

static int mem_write(struct sink *s, const void *data, size_t len)
{
	buf_add(((struct memsink *)s)->out, data, len);
	return 0;
}

static void mem_close(struct sink *s)
{
	free(s);
}

static const struct sink_ops mem_ops = {.name = "memory", .write = mem_write, .close = mem_close};

/* One crawl of the host and every container (os, connection) into out. */
static int crawl_once(struct crawl_target *t, int n, int proc_fd, const struct crawl_opts *opts,
                      struct buf *out)
{
	static const struct feature *feats[2];
	struct memsink *ms = calloc(1, sizeof(*ms));
	if (!ms)
		return -ENOMEM;
	feats[0] = feature_find("os");
	feats[1] = feature_find("connection");
	ms->base.ops = &mem_ops;
	snprintf(ms->base.desc, sizeof(ms->base.desc), "memory");
	ms->out = out;
	struct crawl_run run = {
	    .targets = t,
	    .ntargets = n,
	    .feats = feats,
	    .nfeats = 2,
	    .opts = opts,
	    .fmt = FRAME_JSON,
	    .sink = &ms->base,
	    .proc_fd = proc_fd,
	    .workers = 4,
	    .timeout = LIVE_TIMEOUT_S,
	};
	int r = crawl_run(&run);
	sink_close(&ms->base);
	return r;
}

static int add_ct(void *ctx, const struct ct_entry *e)
{
	topo_add_ct(ctx, e);
	return 0;
}

/* The host's conntrack table, when it is there and readable (optional:
 * without it, published ports resolve only when the server sees the
 * client's own address). */
static void read_conntrack(struct topo_input *in)
{
	struct buf b = {0};
	char chunk[65536];
	ssize_t n;
	int fd = open("/proc/net/nf_conntrack", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	while (b.len < CONNTRACK_MAX && (n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(&b, chunk, (size_t)n);
	close(fd);
	ct_parse_table(b.data ? b.data : "", b.len, add_ct, in);
	buf_free(&b);
}

static int load_live(struct topo_input *in)
{
	struct crawl_opts opts;
	struct buf first = {0}, second = {0};
	char err[256] = "";
	int status = EXIT_FAIL;

	if (crawl_opts_init(&opts) < 0)
		return EXIT_FAIL;
	crawl_raise_nofile();
	int proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (proc_fd < 0) {
		fprintf(stderr, "vantage topology: cannot open /proc: %s\n", strerror(errno));
		crawl_opts_free(&opts);
		return EXIT_FAIL;
	}
	struct target_set set;
	target_set_init(&set, proc_fd);
	int r = target_discover(&set, &kind_host);
	if (r == 0)
		r = target_discover(&set, &kind_container);
	if (r < 0) {
		fprintf(stderr, "vantage topology: cannot list the containers: %s\n", strerror(-r));
		goto out;
	}
	struct crawl_target *t = calloc((size_t)set.n + 1, sizeof(*t));
	if (!t)
		goto out;
	for (int i = 0; i < set.n; i++)
		t[i] = (struct crawl_target){.target = &set.v[i], .sys = set.v[i].sys};
	int64_t t0 = mono_ns();
	r = crawl_once(t, set.n, proc_fd, &opts, &first);
	if (r == 0) {
		int64_t left = LIVE_GAP_MS * 1000000LL - (mono_ns() - t0);
		if (left > 0) {
			struct timespec ts = {left / 1000000000LL, left % 1000000000LL};
			nanosleep(&ts, NULL);
		}
		for (int i = 0; i < set.n; i++)
			t[i] = (struct crawl_target){.target = &set.v[i], .sys = set.v[i].sys};
		r = crawl_once(t, set.n, proc_fd, &opts, &second);
	}
	free(t);
	if (r < 0) {
		fprintf(stderr, "vantage topology: crawling failed: %s\n", strerror(-r));
		goto out;
	}
	struct topo_input prev;
	topo_input_init(&prev);
	if (topo_load_frames(first.data ? first.data : "", first.len, &prev, err, sizeof(err)) <
	        0 ||
	    topo_load_frames(second.data ? second.data : "", second.len, in, err, sizeof(err)) <
	        0) {
		fprintf(stderr, "vantage topology: the crawled frames: %s\n", err);
		topo_input_free(&prev);
		goto out;
	}
	topo_set_prev_input(in, &prev);
	topo_input_free(&prev);
	read_conntrack(in);
	status = EXIT_OK;
out:
	target_set_free(&set);
	close(proc_fd);
	crawl_opts_free(&opts);
	buf_free(&first);
	buf_free(&second);
	return status;
}

/* ---- printing -------------------------------------------------------------- */

static void print_text(const struct topo_graph *g)
{
	char addr[64], up[32], down[32], when[64] = "now";

	if (g->at_ms)
		format_time_utc(g->at_ms * 1000000, when, sizeof(when));
	printf("%zu systems, %zu connections (%s, grouped by %s)\n\n", g->nsystems, g->nconns, when,
	       topo_group_name(g->group));
	printf("%-40s %-10s %s\n", "NODE", "KIND", "LISTENING");
	for (size_t i = 0; i < g->nnodes; i++) {
		const struct topo_node *n = &g->nodes[i];
		printf("%-40s %-10s", n->name, n->kind);
		for (size_t k = 0; k < n->nlisten && k < 12; k++) {
			topo_format_addr(n->listen[k].addr, addr, sizeof(addr));
			bool v6 = strchr(addr, ':') != NULL;
			printf(" %s%s%s%s:%u", n->listen[k].udp ? "udp/" : "", v6 ? "[" : "", addr,
			       v6 ? "]" : "", n->listen[k].port);
		}
		if (n->nlisten > 12)
			printf(" (+%zu)", n->nlisten - 12);
		printf("\n");
	}
	printf("\n%-30s    %-30s %6s %5s %11s %11s %8s %7s\n", "FROM", "TO", "PORT", "CONNS",
	       "TO SERVER", "TO CLIENT", "RTT ms", "RETRANS");
	for (size_t i = 0; i < g->nedges; i++) {
		const struct topo_edge *e = &g->edges[i];
		char port[8] = "-", rtt[16] = "-";
		if (e->directed)
			snprintf(port, sizeof(port), "%u", e->port);
		if (e->rtt_n)
			snprintf(rtt, sizeof(rtt), "%.2f", e->rtt_sum_us / e->rtt_n / 1000.0);
		if (e->rated) {
			topo_format_rate(e->to_server_bps, up, sizeof(up));
			topo_format_rate(e->to_client_bps, down, sizeof(down));
		} else {
			snprintf(up, sizeof(up), "-");
			snprintf(down, sizeof(down), "-");
		}
		printf("%-30s %s %-30s %6s %5u %11s %11s %8s %7llu\n", g->nodes[e->from].name,
		       e->directed ? "->" : "--", g->nodes[e->to].name, port, e->conns, up, down,
		       rtt, (unsigned long long)e->retrans);
	}
}

int cmd_topology(int argc, char **argv)
{
	enum { OPT_DB = 256, OPT_AT, OPT_LIVE, OPT_DOT };
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},           {"dot", no_argument, NULL, OPT_DOT},
	    {"at", required_argument, NULL, OPT_AT},    {"live", no_argument, NULL, OPT_LIVE},
	    {"group-by", required_argument, NULL, 'g'}, {"db", required_argument, NULL, OPT_DB},
	    {"help", no_argument, NULL, 'h'},           {0}};
	const char *db = NULL, *at = NULL;
	bool json = false, dot = false, live = false;
	enum topo_group group = TOPO_GROUP_NONE;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jg:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case OPT_DOT:
			dot = true;
			break;
		case OPT_AT:
			at = optarg;
			break;
		case OPT_LIVE:
			live = true;
			break;
		case 'g':
			if (!topo_group_parse(optarg, &group)) {
				fprintf(stderr,
				        "vantage topology: --group-by '%s': host, image or none\n",
				        optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_DB:
			db = optarg;
			break;
		case 'h':
			topology_usage(stdout);
			return EXIT_OK;
		default:
			topology_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vantage topology: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (json && dot) {
		fprintf(stderr, "vantage topology: --json and --dot exclude each other\n");
		return EXIT_USAGE;
	}
	if (live && (at || db)) {
		fprintf(stderr,
		        "vantage topology: --live reads no store: no --at or --db with it\n");
		return EXIT_USAGE;
	}
	int64_t at_ms = 0;
	if (at && (parse_time(at, now_ns() / 1000000, &at_ms) < 0 || at_ms <= 0)) {
		fprintf(stderr,
		        "vantage topology: --at '%s': an ISO-8601 time, epoch seconds or "
		        "-DURATION\n",
		        at);
		return EXIT_USAGE;
	}

	struct topo_input in;
	int status;
	struct store *st = NULL; /* kept open for the flows on the edges */
	topo_input_init(&in);
	if (live) {
		status = load_live(&in);
	} else {
		char err[512] = "";
		status = sysref_open_db("topology", db, &st);
		if (status == EXIT_OK && topo_load_store(st, at_ms, &in, err, sizeof(err)) < 0) {
			fprintf(stderr, "vantage topology: %s\n", err);
			status = EXIT_FAIL;
		}
	}
	if (status != EXIT_OK) {
		store_close(st);
		topo_input_free(&in);
		return status;
	}
	struct topo_graph g;
	if (topo_build(&in, group, &g) < 0) {
		fprintf(stderr, "vantage topology: out of memory\n");
		store_close(st);
		topo_input_free(&in);
		return EXIT_FAIL;
	}
	if (st) /* sampled flows on the edges, when any (docs/flows.md) */
		topo_add_flows(&g, &in, st, at_ms);
	store_close(st);
	if (json || dot) {
		struct buf out = {0};
		if (json)
			topo_json(&g, &out);
		else
			topo_dot(&g, &out);
		fwrite(out.data, 1, out.len, stdout);
		buf_free(&out);
	} else {
		print_text(&g);
	}
	topo_graph_free(&g);
	topo_input_free(&in);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}
