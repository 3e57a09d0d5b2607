/* query.c - placeholder until the store queries land. */
#include <stdio.h>
#include "cli.h"
int cmd_systems(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "vantage systems: not built yet\n"); return EXIT_FAIL; }
int cmd_show(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "vantage show: not built yet\n"); return EXIT_FAIL; }
int cmd_metrics(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "vantage metrics: not built yet\n"); return EXIT_FAIL; }
