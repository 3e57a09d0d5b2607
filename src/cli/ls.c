/*
 * ls.c - `vantage ls`: the systems on this host, as a table or JSON Lines.
 *
 * One row per system of every kind that can be discovered, in the order
 * of the kinds table (engine/kinds.c): the host itself (its processes not
 * in any container), then the containers in discovery order (runtime,
 * name, id), then the QEMU guests (kind "vm", runtime "qemu" or
 * "libvirt", by name).  Each kind says its ids and extra JSON fields.  The
 * table's columns are sized to their content; long names and images are
 * cut with "..." unless --no-trunc.  --json prints one object per system
 * and line with the full identity (ids, namespaces, cgroup, labels, pids;
 * for VMs the QEMU pid, uuid, memory, RAM location and QMP socket) for
 * scripts and tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../engine/target.h"
#include "../util/json.h"
#include "../util/util.h"
#include "cli.h"

#define COL_MAX 40 /* widest NAME / IMAGE column unless --no-trunc */

enum { COL_ID, COL_KIND, COL_RUNTIME, COL_NAME, COL_IMAGE, COL_PROCS, COL_STATE, NCOL };

static const char *const col_title[NCOL] = {"ID",    "KIND",  "RUNTIME", "NAME",
                                            "IMAGE", "PROCS", "STATE"};

struct row {
	char cell[NCOL][300];
};

static void ls_usage(FILE *out)
{
	fprintf(out,
	        "Usage: vantage ls [OPTIONS]\n"
	        "\n"
	        "List the systems on this host: the host itself, then every container,\n"
	        "found from /proc and cgroups without asking any container daemon\n"
	        "(podman, docker, containerd, CRI-O/Kubernetes, LXC, systemd-nspawn, and\n"
	        "plain PID namespaces, runtime 'none'), then every QEMU virtual machine,\n"
	        "found from the QEMU processes' command lines and memory maps and from\n"
	        "libvirt's status files (kind 'vm', runtime 'qemu' or 'libvirt').\n"
	        "\n"
	        "Options:\n"
	        "  -j, --json       one JSON object per system and line: id, short_id, kind,\n"
	        "                   runtime, name, image, procs, state, host, labels; for\n"
	        "                   containers also cid, init_pid, pidns, mntns, netns, utsns,\n"
	        "                   cgroup, created, pids; for VMs also uuid, pid (of QEMU),\n"
	        "                   machine, mem_bytes, backend, ram_path, ram_addr, ram_len,\n"
	        "                   ram_how, qmp, kernel (procs is null)\n"
	        "      --no-trunc   do not shorten ids, names and images in the table\n"
	        "  -h, --help       show this help\n"
	        "\n"
	        "Columns: ID (short id), KIND, RUNTIME, NAME, IMAGE, PROCS (process count),\n"
	        "STATE.  A VM's ID is its uuid (else its name); its PROCS is '-'.\n"
	        "Exit status: 0 listed, 1 /proc could not be read, 2 bad usage.\n");
}

/* A table cell: "-" when empty, cut when long, and control characters
 * (a container chooses its names and hostname) shown as '?' so nothing
 * reaches the terminal as an escape sequence. */
static void cell(struct row *r, int col, const char *s, bool trunc)
{
	char *d = r->cell[col];
	size_t n = strlen(s);
	if (!n)
		s = "-", n = 1;
	if (trunc && n > COL_MAX)
		snprintf(d, sizeof(r->cell[col]), "%.*s...", COL_MAX - 3, s);
	else
		copy_str(d, sizeof(r->cell[col]), s, n);
	for (; *d; d++)
		if ((unsigned char)*d < 0x20 || *d == 0x7f)
			*d = '?';
}

static void target_row(const struct target *t, struct row *r, bool trunc)
{
	struct target_info in = {0};
	t->kind->describe(t, &in);
	cell(r, COL_ID, trunc ? in.short_id : in.long_id, false);
	cell(r, COL_KIND, t->sys.kind, trunc);
	cell(r, COL_RUNTIME, t->sys.runtime, trunc);
	cell(r, COL_NAME, t->sys.name, trunc);
	cell(r, COL_IMAGE, t->sys.image, trunc);
	if (t->procs >= 0)
		snprintf(r->cell[COL_PROCS], sizeof(r->cell[COL_PROCS]), "%d", t->procs);
	else
		cell(r, COL_PROCS, "", trunc);
	cell(r, COL_STATE, t->state, trunc);
}

static int print_table(const struct target_set *set, bool trunc)
{
	int nrows = set->n;
	struct row *rows = calloc((size_t)nrows + 1, sizeof(*rows));
	size_t w[NCOL];
	if (!rows)
		return -ENOMEM;
	for (int i = 0; i < nrows; i++)
		target_row(&set->v[i], &rows[i], trunc);
	for (int c = 0; c < NCOL; c++) {
		w[c] = strlen(col_title[c]);
		for (int i = 0; i < nrows; i++)
			if (strlen(rows[i].cell[c]) > w[c])
				w[c] = strlen(rows[i].cell[c]);
	}
	for (int i = -1; i < nrows; i++) {
		for (int c = 0; c < NCOL; c++) {
			const char *s = i < 0 ? col_title[c] : rows[i].cell[c];
			if (c == NCOL - 1)
				printf("%s\n", s);
			else if (c == COL_PROCS)
				printf("%*s  ", (int)w[c], s);
			else
				printf("%-*s  ", (int)w[c], s);
		}
	}
	free(rows);
	return 0;
}

/* One system: the fields every kind has, then its kind's own. */
static void print_target_json(const struct target *t, struct buf *b)
{
	const struct system_id *s = &t->sys;
	struct target_info in = {0};
	struct json j;
	t->kind->describe(t, &in);
	jw_init(&j, b);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "id", s->id);
	jw_str(&j, "short_id", in.short_id);
	jw_str(&j, "kind", s->kind);
	jw_str(&j, "runtime", s->runtime);
	jw_str(&j, "name", s->name);
	jw_str(&j, "image", s->image);
	if (t->procs >= 0)
		jw_int(&j, "procs", t->procs);
	else
		jw_null(&j, "procs");
	jw_str(&j, "state", t->state);
	jw_str(&j, "host", s->host);
	const char *labels = s->labels_json ? s->labels_json : "{}";
	jw_raw(&j, "labels", labels, strlen(labels));
	if (t->kind->json)
		t->kind->json(t, &j);
	jw_obj_end(&j);
	buf_addc(b, '\n');
	fwrite(b->data, 1, b->len, stdout);
	buf_reset(b);
}

int cmd_ls(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, 0, 'j'},
	    {"no-trunc", no_argument, 0, 'T'},
	    {"help", no_argument, 0, 'h'},
	    {0, 0, 0, 0},
	};
	bool json = false, trunc = true;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'T':
			trunc = false;
			break;
		case 'h':
			ls_usage(stdout);
			return EXIT_OK;
		default:
			ls_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vantage ls: unexpected argument '%s'\n", argv[optind]);
		ls_usage(stderr);
		return EXIT_USAGE;
	}
	int proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (proc_fd < 0) {
		fprintf(stderr, "vantage ls: cannot open /proc: %s (is procfs mounted?)\n",
		        strerror(errno));
		return EXIT_FAIL;
	}
	/* every kind this host can list, in the table's order */
	struct target_set set;
	target_set_init(&set, proc_fd);
	int r = 0;
	for (int i = 0; i < target_nkinds && r >= 0; i++)
		r = target_discover(&set, target_kinds[i]);
	close(proc_fd);
	if (r < 0) {
		target_set_free(&set);
		fprintf(stderr, "vantage ls: cannot list processes in /proc: %s\n", strerror(-r));
		return EXIT_FAIL;
	}
	if (json) {
		struct buf b = BUF_INIT;
		for (int i = 0; i < set.n; i++)
			print_target_json(&set.v[i], &b);
		buf_free(&b);
	} else if (print_table(&set, trunc) < 0) {
		target_set_free(&set);
		fprintf(stderr, "vantage ls: out of memory\n");
		return EXIT_FAIL;
	}
	target_set_free(&set);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "vantage ls: cannot write the output: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
