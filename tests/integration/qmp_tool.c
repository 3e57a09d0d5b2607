/*
 * qmp_tool - drive src/vmi/qmp.c from integration tests.
 *
 *   qmp_tool SOCKET status          print the run state (query-status)
 *   qmp_tool SOCKET CMD [ARGS_JSON] run CMD, print its "return" as JSON
 *
 * Exit status 0 on success; 1 with "ERRNO-NAME: message" on stderr.
 * Built by `make unit` as build/tests/qmp_tool (Makefile: testbin).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmi/qmp.h"

int main(int argc, char **argv)
{
	struct qmp *q;
	int r;

	if (argc < 3) {
		fprintf(stderr, "usage: qmp_tool SOCKET status|CMD [ARGS_JSON]\n");
		return 2;
	}
	r = qmp_open(argv[1], 10000, &q);
	if (r < 0) {
		fprintf(stderr, "qmp_open: %s\n", strerror(-r));
		return 1;
	}
	if (!strcmp(argv[2], "status")) {
		char st[64];
		r = qmp_status(q, st, sizeof(st));
		if (!r)
			printf("%s\n", st);
	} else {
		char *ret = NULL;
		r = qmp_command(q, argv[2], argc > 3 ? argv[3] : NULL, &ret);
		if (!r)
			printf("%s\n", ret);
		free(ret);
	}
	if (r < 0)
		fprintf(stderr, "%s: %s\n", strerror(-r), qmp_error(q));
	qmp_close(q);
	return r < 0;
}
