/*
 * Unit tests: the sFlow collector's thread and socket
 * (engine/sflow_collector.c) under ASan: a collector on 127.0.0.1 (a free
 * port) over a store share of a temporary SQLite store gets the 63
 * datagrams of a real agent (tests/sflow/hsflowd-host-1s.pcap) and 100 bad
 * ones over UDP; its counters say so, each counter sample that made a
 * frame reached the flow hooks' `source` with the system's id, `flush` ran
 * at stop, and the host is in the store.  Also: listen addresses parsed
 * and refused.  (The waits poll the counters with a generous limit: no
 * timing is asserted.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/locked_sink.h"
#include "engine/sflow_collector.h"
#include "store/store.h"
#include "util/buf.h"

#define FIXTURE "tests/sflow/hsflowd-host-1s.pcap"
#define HOST_ID "host:sflow:192.0.2.2:6571e19b-6571-519b-a571-e19b6571e19b"

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

struct hooks_seen {
	int sources, flushes;
	bool wrong_id;
};

static void on_source(void *ctx, const struct sflow_header *h, uint32_t ds_index,
                      const char *system_id, int64_t now_ms)
{
	struct hooks_seen *s = ctx;
	s->sources++;
	if (strcmp(system_id, HOST_ID) != 0 || ds_index != 1 || h->sub_agent != 100001)
		s->wrong_id = true;
}

static int on_flush(void *ctx, int64_t now_ms)
{
	((struct hooks_seen *)ctx)->flushes++;
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	nanosleep(&t, NULL);
}

static void collector_end_to_end(void **state)
{
	char dir[] = "/tmp/test_sflow_collector.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char db[128];
	snprintf(db, sizeof(db), "%s/store.db", dir);
	struct store *st;
	assert_int_equal(store_open(db, STORE_RW, &st), 0);
	struct store_share sh;
	struct engine_report rep = {0};
	store_share_init(&sh, st, db, &rep);

	struct hooks_seen seen = {0};
	struct sflow_flow_hooks hooks = {.ctx = &seen, .source = on_source, .flush = on_flush};
	struct sflow_collector_opts o = {
	    .listen = "127.0.0.1:0", .store = &sh, .slot = SFLOW_COLLECTOR_SLOT, .flows = &hooks};
	struct sflow_collector *c;
	char err[256];
	assert_int_equal(sflow_collector_start(&o, &c, err, sizeof(err)), 0);
	const char *addr = sflow_collector_address(c);
	assert_true(strncmp(addr, "127.0.0.1:", 10) == 0);
	struct sockaddr_in to = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)atoi(addr + 10)),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	/* the capture's payloads, then bad datagrams */
	FILE *f = fopen(FIXTURE, "rb");
	assert_non_null(f);
	static uint8_t buf[1 << 17];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	int sent = 0;
	for (size_t off = 24; off + 16 <= n;) {
		uint32_t incl = le32(buf + off + 8);
		const uint8_t *udp = buf + off + 16 + 14 + 20;
		size_t len = ((size_t)udp[4] << 8 | udp[5]) - 8;
		assert_true(sendto(fd, udp + 8, len, 0, (struct sockaddr *)&to, sizeof(to)) ==
		            (ssize_t)len);
		sent++;
		off += 16 + incl;
	}
	assert_int_equal(sent, 63);
	uint8_t junk[300];
	for (int i = 0; i < 100; i++) {
		for (size_t k = 0; k < sizeof(junk); k++)
			junk[k] = (uint8_t)(i * 31 + k * 7);
		junk[3] = (uint8_t)(i % 5 == 0 ? 5 : 9); /* some claim version 5 */
		junk[0] = junk[1] = junk[2] = 0;
		assert_true(
		    sendto(fd, junk, 20 + (size_t)i, 0, (struct sockaddr *)&to, sizeof(to)) > 0);
	}
	close(fd);

	struct sflow_collector_stats s = {0};
	for (int i = 0; i < 200 && s.received < 163; i++) {
		sleep_ms(50);
		sflow_collector_stats(c, &s);
	}
	assert_int_equal(s.received, 163);
	assert_int_equal(s.decode.datagrams, 63);
	assert_int_equal(s.rejected, 100);
	assert_int_equal(s.decode.bad_version + s.decode.truncated + s.decode.bad_length, 100);
	/* two of the capture's samples have the same uptime: one frame */
	assert_int_equal(s.systems.frames, 62);
	assert_int_equal(s.systems.coalesced, 1);
	assert_int_equal(s.systems.sources, 1);
	assert_int_equal(s.oversized, 0);
	sflow_collector_stop(c);
	assert_int_equal(seen.sources, 62);
	assert_false(seen.wrong_id);
	assert_true(seen.flushes >= 1);
	sflow_collector_stats(c, &s); /* still readable after stop */
	assert_int_equal(s.received, 163);
	sflow_collector_free(c);

	struct buf out = BUF_INIT;
	struct store_system_filter flt = {.kind = "host", .gone = -1};
	assert_int_equal(store_systems_json(sh.st, &flt, &out), 0);
	assert_non_null(strstr(buf_str(&out), HOST_ID));
	assert_non_null(strstr(buf_str(&out), "\"source\":\"sflow\""));
	buf_free(&out);
	store_share_close(&sh, NULL, NULL, 0);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void listen_addresses(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256];
	assert_int_equal(sflow_listen_parse("6343", &ss, &len, err, sizeof(err)), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 6343);
	assert_int_equal(((struct sockaddr_in *)&ss)->sin_addr.s_addr, htonl(INADDR_ANY));
	assert_int_equal(sflow_listen_parse(":6343", &ss, &len, err, sizeof(err)), 0);
	assert_int_equal(sflow_listen_parse("127.0.0.1:9", &ss, &len, err, sizeof(err)), 0);
	assert_int_equal(((struct sockaddr_in *)&ss)->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
	assert_int_equal(sflow_listen_parse("[::1]:6343", &ss, &len, err, sizeof(err)), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	const char *bad[] = {"", "x", "65536", "-1", "127.0.0.1:", "1.2.3.4:99999", "[::1]:x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(sflow_listen_parse(bad[i], &ss, &len, err, sizeof(err)), -EINVAL);
		assert_true(err[0] != 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(listen_addresses),
	    cmocka_unit_test(collector_end_to_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
