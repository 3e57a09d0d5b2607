/* serve.c - placeholder until the daemon lands. */
#include <stdio.h>
#include "cli.h"
int cmd_serve(int argc, char **argv) { (void)argc; (void)argv; fprintf(stderr, "vantage serve: not built yet\n"); return EXIT_FAIL; }
