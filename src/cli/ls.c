/*
 * ls.c - `vantage ls`: the systems on this host, as a table or JSON Lines.
 *
 * The first row is the host itself (its processes not in any container),
 * then one row per container found by containers_discover(), in its
 * order (runtime, name, id), then one row per QEMU guest found by
 * vms_discover() (kind "vm", runtime "qemu" or "libvirt", by name).  The
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

#include "../targets/containers.h"
#include "../targets/vms.h"
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

static void host_row(const struct system_id *h, int procs, struct row *r, bool trunc)
{
	const char *mid = strchr(h->id, ':');
	mid = mid ? mid + 1 : h->id;
	char sid[16];
	copy_str(sid, sizeof(sid), mid, trunc ? 12 : strlen(mid));
	cell(r, COL_ID, trunc ? sid : mid, false);
	cell(r, COL_KIND, h->kind, trunc);
	cell(r, COL_RUNTIME, "", trunc);
	cell(r, COL_NAME, h->name, trunc);
	cell(r, COL_IMAGE, "", trunc);
	snprintf(r->cell[COL_PROCS], sizeof(r->cell[COL_PROCS]), "%d", procs);
	cell(r, COL_STATE, "running", trunc);
}

static void container_row(const struct container *c, struct row *r, bool trunc)
{
	char sid[130];
	if (trunc)
		container_short_id(c, sid, sizeof(sid));
	else
		copy_str(sid, sizeof(sid), c->cid, strlen(c->cid));
	cell(r, COL_ID, sid, false);
	cell(r, COL_KIND, c->sys.kind, trunc);
	cell(r, COL_RUNTIME, c->sys.runtime, trunc);
	cell(r, COL_NAME, c->sys.name, trunc);
	cell(r, COL_IMAGE, c->sys.image, trunc);
	snprintf(r->cell[COL_PROCS], sizeof(r->cell[COL_PROCS]), "%d", c->npids);
	cell(r, COL_STATE, c->state, trunc);
}

static void vm_row(const struct vm_target *v, struct row *r, bool trunc)
{
	struct system_id id;
	vm_identity(v, &id);
	const char *full = id.id + 3; /* after "vm:" */
	char sid[16];
	copy_str(sid, sizeof(sid), full, 12);
	cell(r, COL_ID, trunc ? sid : full, false);
	cell(r, COL_KIND, id.kind, trunc);
	cell(r, COL_RUNTIME, id.runtime, trunc);
	cell(r, COL_NAME, id.name, trunc);
	cell(r, COL_IMAGE, "", trunc);
	cell(r, COL_PROCS, "", trunc);
	cell(r, COL_STATE, v->state, trunc);
}

static void print_table(const struct system_id *host, const struct container_list *l,
                        const struct vm_target *vms, size_t nvms, bool trunc)
{
	int nrows = l->n + 1 + (int)nvms;
	struct row *rows = calloc((size_t)nrows, sizeof(*rows));
	size_t w[NCOL];
	if (!rows)
		abort();
	host_row(host, l->host_procs, &rows[0], trunc);
	for (int i = 0; i < l->n; i++)
		container_row(&l->v[i], &rows[i + 1], trunc);
	for (size_t i = 0; i < nvms; i++)
		vm_row(&vms[i], &rows[l->n + 1 + (int)i], trunc);
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
}

static void json_common(struct json *j, const struct system_id *s, const char *short_id,
                        const char *state, int procs)
{
	json_str(j, "id", s->id);
	json_str(j, "short_id", short_id);
	json_str(j, "kind", s->kind);
	json_str(j, "runtime", s->runtime);
	json_str(j, "name", s->name);
	json_str(j, "image", s->image);
	json_int(j, "procs", procs);
	json_str(j, "state", state);
	json_str(j, "host", s->host);
	const char *labels = s->labels_json ? s->labels_json : "{}";
	json_raw(j, "labels", labels, strlen(labels));
}

static void print_line(struct buf *b)
{
	buf_addc(b, '\n');
	fwrite(b->data, 1, b->len, stdout);
	buf_reset(b);
}

static void print_vm_json(const struct vm_target *v, struct buf *b)
{
	struct system_id id;
	struct json j;
	char sid[16];

	vm_identity(v, &id);
	copy_str(sid, sizeof(sid), id.id + 3, 12);
	json_init(&j, b);
	json_obj_begin(&j, NULL);
	json_str(&j, "id", id.id);
	json_str(&j, "short_id", sid);
	json_str(&j, "kind", id.kind);
	json_str(&j, "runtime", id.runtime);
	json_str(&j, "name", id.name);
	json_str(&j, "image", "");
	json_null(&j, "procs");
	json_str(&j, "state", v->state);
	json_str(&j, "host", id.host);
	json_raw(&j, "labels", "{}", 2);
	json_str(&j, "uuid", v->uuid);
	json_int(&j, "pid", v->pid);
	json_str(&j, "machine", v->machine);
	json_uint(&j, "mem_bytes", v->mem_bytes);
	json_str(&j, "backend", v->backend);
	json_str(&j, "ram_path", v->ram_path);
	json_uint(&j, "ram_addr", v->ram_addr);
	json_uint(&j, "ram_len", v->ram_len);
	json_str(&j, "ram_how", v->ram_how);
	json_str(&j, "qmp", v->qmp_path);
	json_str(&j, "kernel", v->kernel);
	json_obj_end(&j);
	print_line(b);
}

static void print_json(const struct system_id *host, const struct container_list *l,
                       const struct vm_target *vms, size_t nvms)
{
	struct buf b = BUF_INIT;
	struct json j;
	char sid[130];

	const char *mid = strchr(host->id, ':');
	copy_str(sid, sizeof(sid), mid ? mid + 1 : host->id, 12);
	json_init(&j, &b);
	json_obj_begin(&j, NULL);
	json_common(&j, host, sid, "running", l->host_procs);
	json_obj_end(&j);
	print_line(&b);
	for (int i = 0; i < l->n; i++) {
		const struct container *c = &l->v[i];
		container_short_id(c, sid, sizeof(sid));
		json_init(&j, &b);
		json_obj_begin(&j, NULL);
		json_common(&j, &c->sys, sid, c->state, c->npids);
		json_str(&j, "cid", c->cid);
		json_int(&j, "init_pid", c->init_pid);
		json_uint(&j, "pidns", c->pidns);
		json_uint(&j, "mntns", c->mntns);
		json_uint(&j, "netns", c->netns);
		json_uint(&j, "utsns", c->utsns);
		json_str(&j, "cgroup", c->cgroup);
		json_int(&j, "created", c->created);
		if (c->pod_uid[0])
			json_str(&j, "pod_uid", c->pod_uid);
		json_arr_begin(&j, "pids");
		for (int k = 0; k < c->npids; k++)
			json_int(&j, NULL, c->pids[k]);
		json_arr_end(&j);
		json_obj_end(&j);
		print_line(&b);
	}
	for (size_t i = 0; i < nvms; i++)
		print_vm_json(&vms[i], &b);
	buf_free(&b);
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
	struct container_list l;
	struct vm_target *vms = NULL;
	size_t nvms = 0;
	int r = containers_discover(proc_fd, &l);
	if (r >= 0 && (r = vms_discover(proc_fd, &vms, &nvms)) < 0)
		container_list_free(&l);
	close(proc_fd);
	if (r < 0) {
		fprintf(stderr, "vantage ls: cannot list processes in /proc: %s\n", strerror(-r));
		return EXIT_FAIL;
	}
	struct system_id host;
	system_host_identity(&host);
	if (json)
		print_json(&host, &l, vms, nvms);
	else
		print_table(&host, &l, vms, nvms, trunc);
	container_list_free(&l);
	free(vms);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "vantage ls: cannot write the output: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
