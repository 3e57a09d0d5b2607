/*
 * search_tool.c - a fleet made through the real ingest path, and search
 * timed over it (bench/search; tests/integration/search.sh).
 *
 *   search_tool gen DB SYSTEMS RECORDS
 *       store one frame per system (store_put_frame), SYSTEMS containers of
 *       20 images, about RECORDS records each, shared the way a fleet
 *       shares them: each image's packages (a base set per package manager,
 *       dpkg, rpm or apk, plus the image's own), kernel modules, config
 *       files and os record are the same in every container of the image;
 *       processes, connections, interfaces and a few config files are the
 *       container's own.  Prints "frames=N records=N secs=S".
 *   search_tool bench DB RUNS QUERY...
 *       build the index once (timed), then run each query RUNS times and
 *       print per query "query=... ms=MEDIAN max=MAX total=N systems=N",
 *       then "build_ms=... bytes=... per_frame_bytes=... records=...
 *       pairs=... systems=...".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analytics/search.h"
#include "store/store.h"
#include "util/buf.h"

static double mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static const char *const managers[] = {"dpkg", "rpm", "apk"};

static void version(struct buf *b, int mgr, int a, int c)
{
	if (mgr == 0)
		buf_printf(b, "%d.%d.%d-1~deb12u%d", a / 10, a % 10, c, c % 3);
	else if (mgr == 1)
		buf_printf(b, "1:%d.%d.%d-3.el9_%d", a / 10, a % 10, c, c % 4);
	else
		buf_printf(b, "%d.%d.%d-r%d", a / 10, a % 10, c, c % 5);
}

static void rec(struct buf *f, const char *sid, const char *feature, const char *key,
                const char *value)
{
	buf_printf(f,
	           "{\"system\":\"%s\",\"time\":\"2026-11-22T10:00:00.000Z\",\"feature\":\"%s\","
	           "\"key\":\"%s\",\"value\":%s}\n",
	           sid, feature, key, value);
}

static int gen(const char *db, int systems, int records)
{
	struct store *st;
	int r = store_open(db, STORE_RW, &st);
	if (r < 0) {
		fprintf(stderr, "%s\n", store_errmsg(NULL));
		return 1;
	}
	/* shares of a system's records */
	int npkg_base = records * 60 / 100, npkg_img = records * 20 / 100;
	int nmod = records * 2 / 100, ncfg_img = records * 4 / 100, ncfg_sys = records / 200;
	int nproc = records * 7 / 100, nconn = records * 5 / 100, nif = 4;
	struct buf f = BUF_INIT, v = BUF_INIT, k = BUF_INIT;
	double t0 = mono_ms();
	long total = 0;
	for (int s = 0; s < systems; s++) {
		int img = s % 20, mgr = img % 3;
		char sid[64], name[64], image[64];
		snprintf(sid, sizeof(sid), "container:%016x%08x", 0xc0ffee00u + (unsigned)s,
		         (unsigned)s * 2654435761u);
		snprintf(name, sizeof(name), "app%02d-%d", img, s / 20);
		snprintf(image, sizeof(image), "registry.example/app%02d:1.%d", img, img % 4);
		buf_reset(&f);
		buf_printf(&f,
		           "{\"system\":\"%s\",\"time\":\"2026-11-22T10:00:00.000Z\",\"feature\":"
		           "\"frame\",\"key\":\"%s\",\"value\":{\"id\":\"%s\",\"name\":\"%s\","
		           "\"kind\":\"container\",\"runtime\":\"podman\",\"image\":\"%s\","
		           "\"host\":\"node%d\",\"time\":\"2026-11-22T10:00:00.000Z\",\"features\":"
		           "[\"os\",\"package\",\"module\",\"config\",\"process\",\"connection\","
		           "\"interface\"],\"duration_ms\":1.5,\"records\":%d}}\n",
		           sid, sid, sid, name, image, s % 50, records);
		buf_reset(&v);
		buf_printf(&v,
		           "{\"name\":\"%s\",\"id\":\"%s\",\"version_id\":\"%d\",\"hostname\":"
		           "\"%s\",\"architecture\":\"x86_64\"}",
		           mgr == 0   ? "Debian GNU/Linux"
		           : mgr == 1 ? "Rocky Linux"
		                      : "Alpine Linux",
		           mgr == 0   ? "debian"
		           : mgr == 1 ? "rocky"
		                      : "alpine",
		           12 + mgr, image);
		rec(&f, sid, "os", "linux", v.data);
		for (int i = 0; i < npkg_base + npkg_img; i++) {
			bool own = i >= npkg_base;
			buf_reset(&k);
			if (own && i == npkg_base)
				buf_adds(&k, "openssl");
			else if (own && i == npkg_base + 1)
				buf_adds(&k, "curl");
			else if (own)
				buf_printf(&k, "app%02d-lib%d", img, i - npkg_base);
			else if (i == 0)
				buf_adds(&k, "libssl3");
			else
				buf_printf(&k, "%s-base%d", managers[mgr], i);
			buf_reset(&v);
			buf_printf(&v, "{\"name\":\"%s\",\"version\":\"", k.data);
			if (own && i == npkg_base)
				buf_printf(&v,
				           mgr == 1   ? "1:3.0.%d-1.el9"
				           : mgr == 2 ? "3.0.%d-r0"
				                      : "3.0.%d-1",
				           8 + img % 10);
			else
				version(&v, mgr, own ? 10 + img : 10 + i % 30, i % 17);
			buf_printf(
			    &v,
			    "\",\"arch\":\"amd64\",\"size_kb\":%d,\"source\":\"%s\",\"status\":"
			    "\"installed\",\"manager\":\"%s\",\"installed\":null}",
			    100 + i % 977, k.data, managers[mgr]);
			rec(&f, sid, "package", k.data, v.data);
		}
		for (int i = 0; i < nmod; i++) {
			buf_reset(&k);
			buf_printf(&k, "mod%d", i);
			buf_reset(&v);
			buf_printf(
			    &v,
			    "{\"name\":\"mod%d\",\"size\":%d,\"refcount\":%d,\"state\":\"Live\"}",
			    i, 4096 * (i + 1), i % 3);
			rec(&f, sid, "module", k.data, v.data);
		}
		for (int i = 0; i < ncfg_img + ncfg_sys; i++) {
			bool own = i >= ncfg_img;
			buf_reset(&k);
			buf_printf(&k, own ? "/etc/local%d.conf" : "/etc/app%02d/conf%d.conf",
			           own ? i : img, i);
			buf_reset(&v);
			buf_printf(&v,
			           "{\"path\":\"%s\",\"size\":%d,\"mode\":\"0644\",\"content\":\"# "
			           "settings of %s\\nlisten_port=%d\\nworkers=%d\\nname=%s\\n\"}",
			           k.data, 60 + i, k.data, 8000 + i, 1 + img % 8,
			           own ? name : image);
			rec(&f, sid, "config", k.data, v.data);
		}
		for (int i = 0; i < nproc; i++) {
			buf_reset(&k);
			buf_printf(&k, "%d", i + 1);
			const char *comm = i == 0       ? (img % 4 == 0   ? "nginx"
			                                   : img % 4 == 1 ? "mysqld"
			                                   : img % 4 == 2 ? "redis-server"
			                                                  : "java")
			                   : i % 5 == 0 ? "sh"
			                                : "worker";
			buf_reset(&v);
			buf_printf(
			    &v,
			    "{\"pid\":%d,\"ppid\":%d,\"uid\":%d,\"user\":\"%s\",\"comm\":\"%s\","
			    "\"cmdline\":\"%s%s --id %d\",\"state\":\"S\",\"start_time\":"
			    "\"2026-11-22T09:%02d:%02d.000Z\",\"threads\":%d,\"rss_kb\":%d}",
			    i + 1, i ? 1 : 0, i % 3 ? 33 : 0, i % 3 ? "www-data" : "root", comm,
			    comm, i == 0 && img % 4 == 0 ? ": master process" : "", s * 1000 + i,
			    s % 60, i % 60, 1 + i % 7, 1000 + (s * 7 + i) % 90000);
			rec(&f, sid, "process", k.data, v.data);
		}
		for (int i = 0; i < nconn; i++) {
			bool listen = i < 3;
			int port = listen ? (img % 4 == 1 && i == 0 ? 3306 : 8000 + img * 3 + i)
			                  : 30000 + (s * 31 + i) % 30000;
			buf_reset(&k);
			buf_printf(&k, "tcp/10.%d.%d.%d/%d", s / 250, s % 250, 2, port);
			buf_reset(&v);
			buf_printf(
			    &v,
			    "{\"proto\":\"tcp\",\"family\":\"ipv4\",\"local_addr\":\"10.%d.%d.2\","
			    "\"local_port\":%d,\"remote_addr\":\"%s\",\"remote_port\":%d,"
			    "\"state\":\"%s\",\"pid\":%d}",
			    s / 250, s % 250, port, listen ? "0.0.0.0" : "10.0.0.1",
			    listen ? 0 : 5432, listen ? "LISTEN" : "ESTABLISHED", 1 + i % 10);
			rec(&f, sid, "connection", k.data, v.data);
		}
		for (int i = 0; i < nif; i++) {
			buf_reset(&k);
			buf_printf(&k, "eth%d", i);
			buf_reset(&v);
			buf_printf(&v,
			           "{\"name\":\"eth%d\",\"mtu\":1500,\"mac\":\"02:42:%02x:%02x:%"
			           "02x:%02x\","
			           "\"addresses\":[\"10.%d.%d.%d/16\"]}",
			           i, s >> 8 & 255, s & 255, i, img, s / 250, s % 250, 2 + i);
			rec(&f, sid, "interface", k.data, v.data);
		}
		total +=
		    1 + npkg_base + npkg_img + nmod + ncfg_img + ncfg_sys + nproc + nconn + nif;
		int64_t id;
		r = store_put_frame(st, f.data, f.len, &id);
		if (r < 0) {
			fprintf(stderr, "frame %d: %s\n", s, store_errmsg(st));
			return 1;
		}
	}
	printf("frames=%d records=%ld secs=%.2f\n", systems, total, (mono_ms() - t0) / 1e3);
	store_close(st);
	buf_free(&f);
	buf_free(&v);
	buf_free(&k);
	return 0;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int bench(const char *db, int runs, char **queries, int nq)
{
	struct store *st;
	if (store_open(db, STORE_RO, &st) < 0) {
		fprintf(stderr, "%s\n", store_errmsg(NULL));
		return 1;
	}
	struct search_index *ix;
	char err[512];
	double t0 = mono_ms();
	if (search_index_build(st, 0, &ix, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	double build = mono_ms() - t0;
	double *ms = calloc((size_t)runs, sizeof(*ms));
	for (int q = 0; q < nq; q++) {
		struct sq_error e;
		struct sq_node *n = search_parse(ix, queries[q], &e);
		if (!n) {
			fprintf(stderr, "%s: column %d: %s\n", queries[q], e.col, e.msg);
			return 1;
		}
		struct search_result r = {0};
		for (int i = 0; i < runs; i++) {
			search_result_free(&r);
			double t = mono_ms();
			search_eval(ix, n, SEARCH_LIMIT_DEFAULT, &r);
			/* the answer as the API sends it is part of the work */
			struct buf out = BUF_INIT;
			search_result_json(ix, &r, queries[q], SEARCH_LIMIT_DEFAULT, &out);
			ms[i] = mono_ms() - t;
			buf_free(&out);
		}
		qsort(ms, (size_t)runs, sizeof(*ms), cmp_d);
		printf("query=%s ms=%.2f max=%.2f total=%zu systems=%zu shown=%zu\n", queries[q],
		       ms[runs / 2], ms[runs - 1], r.total, r.systems, r.nhits);
		search_result_free(&r);
		sq_free(n);
	}
	struct search_index_stats s;
	search_index_stats(ix, &s);
	printf("build_ms=%.1f bytes=%llu per_frame_bytes=%llu records=%zu pairs=%zu systems=%zu "
	       "postings=%zu\n",
	       build, (unsigned long long)s.bytes, (unsigned long long)s.per_frame_bytes, s.records,
	       s.pairs, s.systems, s.postings);
	free(ms);
	search_index_free(ix);
	store_close(st);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "gen") == 0)
		return gen(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc >= 5 && strcmp(argv[1], "bench") == 0)
		return bench(argv[2], atoi(argv[3]), argv + 4, argc - 4);
	fprintf(stderr, "usage: search_tool gen DB SYSTEMS RECORDS | bench DB RUNS QUERY...\n");
	return 2;
}
