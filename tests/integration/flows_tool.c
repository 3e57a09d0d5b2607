/*
 * flows_tool - the flows path without the daemon, for tests/integration/
 * flows.sh and bench/sflow_sampling.sh:
 *
 *   flows_tool sample IFACE RATE SECONDS [DB]
 *
 * samples 1 packet in RATE on IFACE (views/host/pktsample.c) for SECONDS,
 * parses each sampled header (frame/sflow_flow.c) and, with DB, records it
 * through the flow recorder (engine/flow_record.c) into the store DB
 * (attributed by the store's systems' addresses).  Prints one JSON line:
 * {"samples", "ip", "pool", "drops", "cpu_s", "wall_s"}; cpu_s is this
 * process's user + system time.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "engine/flow_record.h"
#include "frame/sflow.h"
#include "store/store.h"
#include "views/host/pktsample.h"

struct ctx {
	struct flow_recorder *rec;
	uint32_t rate;
	uint64_t samples, ip;
	int64_t now_ms;
};

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int take(void *arg, const struct pkt_sample *p)
{
	struct ctx *c = arg;
	struct sflow_flow f = {0};
	c->samples++;
	f.sampling_rate = c->rate;
	f.has_header = true;
	f.header_protocol = 1;
	f.frame_length = p->origlen;
	f.header_len = p->caplen;
	memcpy(f.header, p->data, p->caplen);
	if (sflow_parse_header(&f))
		c->ip++;
	if (c->rec) {
		struct sflow_header h = {.agent = {.af = 1, .a = {127, 0, 0, 1}}};
		flow_recorder_add(c->rec, &h, &f, c->now_ms);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 5 || strcmp(argv[1], "sample") != 0) {
		fprintf(stderr, "usage: flows_tool sample IFACE RATE SECONDS [DB]\n");
		return 2;
	}
	struct ctx c = {.rate = (uint32_t)atoi(argv[3])};
	double secs = atof(argv[4]);
	struct store *st = NULL;
	if (argc > 5) {
		if (store_open(argv[5], STORE_RW, &st) < 0) {
			fprintf(stderr, "flows_tool: %s\n", store_errmsg(NULL));
			return 1;
		}
		c.rec = flow_recorder_new(st);
	}
	char err[256];
	struct pktsample *ps;
	if (pktsample_open(argv[2], c.rate, &ps, err, sizeof(err)) < 0) {
		fprintf(stderr, "flows_tool: %s\n", err);
		return 1;
	}
	int64_t t0 = wall_ms(), end = t0 + (int64_t)(secs * 1000);
	for (;;) {
		int64_t now = wall_ms();
		if (now >= end)
			break;
		struct pollfd pf = {.fd = pktsample_fd(ps), .events = POLLIN};
		int left = (int)(end - now);
		if (poll(&pf, 1, left > 1000 ? 1000 : left) > 0) {
			c.now_ms = wall_ms();
			if (pktsample_read(ps, take, &c) < 0)
				break;
		}
		if (c.rec)
			flow_recorder_flush(c.rec, wall_ms()); /* once a second, as the collector */
	}
	uint64_t pool, drops;
	pktsample_counts(ps, &pool, &drops);
	pktsample_close(ps);
	int r = 0;
	if (c.rec) {
		r = flow_recorder_flush(c.rec, wall_ms());
		flow_recorder_free(c.rec);
		store_close(st);
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	             (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("{\"samples\":%llu,\"ip\":%llu,\"pool\":%llu,\"drops\":%llu,\"cpu_s\":%.4f,"
	       "\"wall_s\":%.3f}\n",
	       (unsigned long long)c.samples, (unsigned long long)c.ip, (unsigned long long)pool,
	       (unsigned long long)drops, cpu, (double)(wall_ms() - t0) / 1000.0);
	return r < 0 ? 1 : 0;
}
