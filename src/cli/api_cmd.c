/* api_cmd.c - placeholder until the API server lands. */
#include <stdio.h>
#include "cli.h"
int cmd_api(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "vantage api: not built yet\n"); return EXIT_FAIL; }
