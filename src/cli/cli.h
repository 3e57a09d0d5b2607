/*
 * cli.h - subcommands of the `vantage` command line.  Each returns the
 * process exit status: 0 success, 1 runtime failure, 2 bad usage.
 */
#ifndef VANTAGE_CLI_H
#define VANTAGE_CLI_H

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

int cmd_crawl(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_serve(int argc, char **argv);  /* serve.c: the daemon */
int cmd_api(int argc, char **argv);    /* api_cmd.c: the REST API over a store file */
int cmd_ingest(int argc, char **argv); /* ingest.c: frames from Kafka into a store */
/* Queries of the store, without the daemon. */
int cmd_systems(int argc, char **argv);  /* systems.c */
int cmd_show(int argc, char **argv);     /* show.c */
int cmd_metrics(int argc, char **argv);  /* metrics.c */
int cmd_diff(int argc, char **argv);     /* diff.c */
int cmd_changes(int argc, char **argv);  /* diff.c */
int cmd_search(int argc, char **argv);   /* search.c */
int cmd_topology(int argc, char **argv); /* topology.c */
int cmd_ls(int argc, char **argv);
int cmd_alarms(int argc, char **argv); /* alarms.c */
int cmd_flows(int argc, char **argv);  /* flows.c: top talkers of the sampled flows */
int cmd_logs(int argc, char **argv);   /* logs.c */
int cmd_db(int argc, char **argv);     /* db.c: db check */

#endif
