/*
 * main.c - `vantage`: dispatch to a subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "../util/version.h"
#include "cli.h"

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: vantage COMMAND [OPTIONS]\n"
	    "\n"
	    "Vantage observes Linux hosts, containers and VMs from the outside and\n"
	    "writes what it sees as frames: one snapshot of one system.\n"
	    "\n"
	    "Commands:\n"
	    "  crawl       crawl this host, its containers, its VMs, a mounted root or a disk\n"
	    "              image into frames\n"
	    "  ls          list the systems on this host: the host, its containers and VMs\n"
	    "  serve       watch the host, its containers and VMs into the store; serve the API\n"
	    "  api         serve the REST API and /metrics over an existing store file\n"
	    "  ingest      consume frames from Kafka (the kafka:// sink) into a store\n"
	    "  systems     list the systems in the store\n"
	    "  show        a system's latest frame (or at a time) from the store\n"
	    "  metrics     a metric series of a system from the store\n"
	    "  diff        what changed between two frames, the likely cause first\n"
	    "  changes     the timeline of a system's changes in the store\n"
	    "  search      find records across every system in the store\n"
	    "  topology    who talks to whom: systems joined by their connections, with traffic\n"
	    "  alarms      the alarms' states, their history, and backtests of an alarm\n"
	    "  flows       top talkers: sampled network flows, bytes/s by system pair\n"
	    "  logs        log lines of the systems: search, filter, follow\n"
	    "  db          the store itself: 'db check' checks its consistency\n"
	    "  features    list the features a crawl can collect\n"
	    "  help        show this help\n"
	    "  version     print the version\n"
	    "\n"
	    "Run 'vantage COMMAND --help' for the options of a command.\n"
	    "Documentation: docs/ in the source tree, and man vantage.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "crawl") == 0)
		return cmd_crawl(argc - 1, argv + 1);
	if (strcmp(cmd, "ingest") == 0)
		return cmd_ingest(argc - 1, argv + 1);
	if (strcmp(cmd, "features") == 0)
		return cmd_features(argc - 1, argv + 1);
	if (strcmp(cmd, "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(cmd, "api") == 0)
		return cmd_api(argc - 1, argv + 1);
	if (strcmp(cmd, "systems") == 0)
		return cmd_systems(argc - 1, argv + 1);
	if (strcmp(cmd, "show") == 0)
		return cmd_show(argc - 1, argv + 1);
	if (strcmp(cmd, "metrics") == 0)
		return cmd_metrics(argc - 1, argv + 1);
	if (strcmp(cmd, "diff") == 0)
		return cmd_diff(argc - 1, argv + 1);
	if (strcmp(cmd, "changes") == 0)
		return cmd_changes(argc - 1, argv + 1);
	if (strcmp(cmd, "search") == 0)
		return cmd_search(argc - 1, argv + 1);
	if (strcmp(cmd, "topology") == 0)
		return cmd_topology(argc - 1, argv + 1);
	if (strcmp(cmd, "alarms") == 0)
		return cmd_alarms(argc - 1, argv + 1);
	if (strcmp(cmd, "flows") == 0)
		return cmd_flows(argc - 1, argv + 1);
	if (strcmp(cmd, "logs") == 0)
		return cmd_logs(argc - 1, argv + 1);
	if (strcmp(cmd, "db") == 0)
		return cmd_db(argc - 1, argv + 1);
	if (strcmp(cmd, "ls") == 0)
		return cmd_ls(argc - 1, argv + 1);
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("vantage %s\n", VANTAGE_VERSION);
		return EXIT_OK;
	}
	fprintf(stderr, "vantage: unknown command '%s'\n", cmd);
	usage(stderr);
	return EXIT_USAGE;
}
