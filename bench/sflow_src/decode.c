/*
 * bench/sflow_src/decode.c - sFlow decoding speed on one core (bench/sflow
 * builds and runs it).  The UDP payloads of a classic pcap (Ethernet,
 * IPv4, UDP) are decoded in a loop for about SECONDS seconds:
 *   decode   sflow_decode() with a counters callback that reads a field
 *   frames   the same, each counter sample also made into its system's
 *            frame of metric records (engine/sflow_systems.c) written to
 *            /dev/null: the collector's work short of the store
 * Prints datagrams/s and µs per datagram for each.
 * Usage: decode PCAP [SECONDS]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/sflow_systems.h"
#include "frame/sflow.h"
#include "sinks/sinks.h"

#define MAXD 4096

static uint8_t *dg[MAXD];
static size_t dlen[MAXD];
static int nd;

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int load(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	static uint8_t buf[1 << 24];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	if (n < 24 || le32(buf) != 0xa1b2c3d4u)
		return -1;
	for (size_t off = 24; off + 16 <= n && nd < MAXD;) {
		uint32_t incl = le32(buf + off + 8);
		const uint8_t *pkt = buf + off + 16;
		off += 16 + incl;
		if (off > n || incl < 42)
			break;
		const uint8_t *udp = pkt + 14 + (size_t)(pkt[14] & 15) * 4;
		size_t ulen = (size_t)udp[4] << 8 | udp[5];
		if (ulen < 8 || (size_t)(udp - pkt) + ulen > incl)
			continue;
		dlen[nd] = ulen - 8;
		dg[nd] = malloc(dlen[nd]);
		memcpy(dg[nd], udp + 8, dlen[nd]);
		nd++;
	}
	return nd ? 0 : -1;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static volatile uint64_t sink_hole;

static int on_counters(void *ctx, const struct sflow_header *h, const struct sflow_counters *c)
{
	sink_hole += c->cpu.cpu_user + c->mem.mem_free;
	return 0;
}

struct fctx {
	struct sflow_systems *sys;
};

static int on_frames(void *ctx, const struct sflow_header *h, const struct sflow_counters *c)
{
	struct fctx *f = ctx;
	return sflow_systems_counters(f->sys, h, c, 0);
}

/* Datagram i of round r: the capture's, its sequence numbers and uptime
 * advanced by r rounds so the collector never drops a sample as stale. */
static const uint8_t *round_dgram(int i, uint64_t r, uint8_t *scratch)
{
	memcpy(scratch, dg[i], dlen[i]);
	if (dlen[i] >= 40) {
		uint32_t seq = (uint32_t)(r * (uint64_t)nd + (uint64_t)i + 1);
		uint32_t up = seq * 1000u;
		uint8_t *p = scratch;
		for (int k = 0; k < 4; k++) {
			p[16 + k] = (uint8_t)(seq >> (24 - 8 * k));
			p[20 + k] = (uint8_t)(up >> (24 - 8 * k));
			p[36 + k] = (uint8_t)(seq >> (24 - 8 * k));
		}
	}
	return scratch;
}

int main(int argc, char **argv)
{
	if (argc < 2 || load(argv[1]) < 0) {
		fprintf(stderr,
		        "usage: decode PCAP [SECONDS] (a classic pcap of sFlow datagrams)\n");
		return 2;
	}
	double secs = argc > 2 ? atof(argv[2]) : 2.0;
	static uint8_t scratch[65536];

	struct sflow_stats st = {0};
	struct sflow_decode_cb cb = {.counters = on_counters};
	uint64_t n = 0;
	double t0 = now(), t;
	do {
		for (int r = 0; r < 100; r++)
			for (int i = 0; i < nd; i++, n++)
				sflow_decode(dg[i], dlen[i], &cb, &st);
	} while ((t = now()) - t0 < secs);
	double rate = (double)n / (t - t0);
	printf("decode: %llu datagrams in %.2f s: %.0f datagrams/s on one core (%.2f us each); "
	       "%llu decoded whole, %llu samples\n",
	       (unsigned long long)n, t - t0, rate, 1e6 / rate, (unsigned long long)st.datagrams,
	       (unsigned long long)st.counter_samples);

	char err[256];
	struct sink *sink;
	struct sink_env env = {0};
	if (sink_open("/dev/null", &env, &sink, err, sizeof(err)) < 0) {
		fprintf(stderr, "sink: %s\n", err);
		return 1;
	}
	struct fctx fc = {.sys = sflow_systems_new(sink)};
	struct sflow_decode_cb fcb = {.ctx = &fc, .counters = on_frames};
	memset(&st, 0, sizeof(st));
	n = 0;
	uint64_t rounds = 0;
	t0 = now();
	do {
		for (int i = 0; i < nd; i++, n++)
			sflow_decode(round_dgram(i, rounds, scratch), dlen[i], &fcb, &st);
		rounds++;
	} while ((t = now()) - t0 < secs);
	struct sflow_systems_stats ss;
	sflow_systems_stats(fc.sys, &ss);
	double frate = (double)n / (t - t0);
	printf("frames: %llu datagrams in %.2f s: %.0f datagrams/s on one core (%.2f us each), "
	       "%llu frames of metric records written (to /dev/null)\n",
	       (unsigned long long)n, t - t0, frate, 1e6 / frate, (unsigned long long)ss.frames);
	sflow_systems_free(fc.sys);
	sink_close(sink);
	return 0;
}
