/*
 * udpflood - send one sFlow datagram as fast as one core can, for a time:
 * the flood of bench/sflowflood.
 *
 *   build/bench/udpflood DATAGRAM_FILE HOST:PORT SECONDS
 *
 * DATAGRAM_FILE holds one sFlow v5 datagram (an IPv4 agent, its first
 * sample at offset 28).  Each copy sent gets its own datagram sequence
 * number (offset 16), uptime (offset 20) and first sample's sequence
 * number (offset 36), so the collector sees new datagrams of one agent,
 * not repeats; sendmmsg(2) sends them 64 at a time.  Prints one line of
 * JSON: {"sent": N, "seconds": S, "rate": R, "errors": E} (errors: sends
 * the kernel refused, e.g. ENOBUFS, not retried).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void put32(unsigned char *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: udpflood DATAGRAM_FILE HOST:PORT SECONDS\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		fprintf(stderr, "udpflood: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	unsigned char dg[65536];
	size_t len = fread(dg, 1, sizeof(dg), f);
	fclose(f);
	if (len < 40) {
		fprintf(stderr, "udpflood: %s: %zu bytes: not an sFlow datagram with a sample\n",
		        argv[1], len);
		return 2;
	}
	char host[256];
	const char *colon = strrchr(argv[2], ':');
	if (!colon || (size_t)(colon - argv[2]) >= sizeof(host)) {
		fprintf(stderr, "udpflood: %s: not HOST:PORT\n", argv[2]);
		return 2;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - argv[2]), argv[2]);
	struct sockaddr_in to = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)atoi(colon + 1))};
	if (inet_pton(AF_INET, host, &to.sin_addr) != 1) {
		fprintf(stderr, "udpflood: %s: not an IPv4 address\n", host);
		return 2;
	}
	double secs = atof(argv[3]);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	int sb = 4 << 20;
	setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb));
	if (connect(s, (struct sockaddr *)&to, sizeof(to)) < 0) {
		fprintf(stderr, "udpflood: connect %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	static unsigned char bufs[BATCH][65536];
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		memcpy(bufs[i], dg, len);
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = len;
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	uint64_t sent = 0, errors = 0;
	uint32_t seq = 1000;
	double t0 = now_s(), t = t0;
	while (t - t0 < secs) {
		for (int i = 0; i < BATCH; i++) {
			uint32_t q = seq + (uint32_t)i;
			put32(bufs[i] + 16, q);
			put32(bufs[i] + 20, 100000 + q * 10);
			put32(bufs[i] + 36, q);
		}
		int n = sendmmsg(s, msgs, BATCH, 0);
		if (n < 0) {
			errors += BATCH;
			n = 0;
		} else if (n < BATCH) {
			errors += (uint64_t)(BATCH - n);
		}
		sent += (uint64_t)n;
		seq += BATCH;
		t = now_s();
	}
	printf("{\"sent\": %llu, \"seconds\": %.3f, \"rate\": %.0f, \"errors\": %llu}\n",
	       (unsigned long long)sent, t - t0, sent / (t - t0), (unsigned long long)errors);
	return 0;
}
