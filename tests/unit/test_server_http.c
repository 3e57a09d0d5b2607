/*
 * Unit tests: the HTTP server (src/server/) end to end in one process,
 * under ASan/UBSan: a real store file with synthetic frames (a hostile
 * mount point label among them), server_start() on a free loopback port
 * with a token and daemon stats, plain-socket HTTP requests from several
 * threads, server_stop() (every worker's store handle closed: the leak
 * checker sees the rest, such as a series request's selector on a bad
 * label).  A token replaced while serving (server_set_token).  Also the
 * refusals of server_start().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/server.h"
#include "store/store.h"
#include "util/buf.h"

#define TOKEN "unit-test-token-0123456789abcdef"

static char dir[64], db[128];

static const char frame1[] =
    "{\"system\":\"host:t\",\"time\":\"2026-11-22T10:00:00.000Z\",\"feature\":\"frame\",\"key\":"
    "\"host:t\","
    "\"value\":{\"id\":\"host:t\",\"name\":\"t\",\"kind\":\"host\",\"host\":\"t\","
    "\"time\":\"2026-11-22T10:00:00.000Z\",\"features\":[\"metric\"]}}\n"
    "{\"system\":\"host:t\",\"time\":\"2026-11-22T10:00:00.000Z\",\"feature\":\"metric\",\"key\":"
    "\"memory\","
    "\"value\":{\"used_pct\":12.5,\"total_kb\":1000}}\n"
    "{\"system\":\"host:t\",\"time\":\"2026-11-22T10:00:00.000Z\",\"feature\":\"metric\","
    "\"key\":\"disk:/mnt/\\\"q\\\"\\udc80\",\"value\":{\"used_pct\":50}}\n";

static const char frame2[] =
    "{\"system\":\"image:/mnt/x\",\"time\":\"2026-11-22T10:00:01.000Z\",\"feature\":\"frame\","
    "\"key\":\"image:/mnt/x\",\"value\":{\"id\":\"image:/mnt/x\",\"name\":\"x\",\"kind\":\"image\","
    "\"host\":\"t\",\"time\":\"2026-11-22T10:00:01.000Z\",\"features\":[\"os\"]}}\n"
    "{\"system\":\"image:/mnt/"
    "x\",\"time\":\"2026-11-22T10:00:01.000Z\",\"feature\":\"os\",\"key\":\"linux\","
    "\"value\":{\"id\":\"x\"}}\n";

static int setup(void **state)
{
	strcpy(dir, "/tmp/vantage-unit-http.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/store.db", dir);
	struct store *s;
	assert_int_equal(store_open(db, STORE_RW, &s), 0);
	int64_t id;
	assert_int_equal(store_put_frame(s, frame1, strlen(frame1), &id), 0);
	assert_int_equal(store_put_frame(s, frame2, strlen(frame2), &id), 0);
	store_close(s);
	return 0;
}

static int teardown(void **state)
{
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* GET `path` from 127.0.0.1:port; returns the status, body in *out. */
static int get(int port, const char *path, const char *token, struct buf *out)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	char req[1024];
	int n = snprintf(
	    req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n%s%s%s\r\n", path,
	    token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "");
	if (write(fd, req, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	struct buf all = BUF_INIT;
	char chunk[4096];
	ssize_t r;
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(&all, chunk, (size_t)r);
	close(fd);
	int status = -1;
	const char *s = buf_str(&all);
	if (sscanf(s, "HTTP/1.1 %d", &status) != 1)
		status = -1;
	const char *body = strstr(s, "\r\n\r\n");
	buf_reset(out);
	buf_adds(out, body ? body + 4 : "");
	buf_free(&all);
	return status;
}

static int port_of(struct server *srv)
{
	const char *a = strrchr(server_address(srv), ':');
	return a ? atoi(a + 1) : -1;
}

static void test_refusals(void **state)
{
	char err[256];
	struct server *srv = (void *)1;
	struct server_opts o = {.listen = "0.0.0.0:0", .store_path = db};
	assert_int_equal(server_start(&o, &srv, err, sizeof(err)), -EINVAL);
	assert_null(srv);
	assert_non_null(strstr(err, "without a bearer token"));
	o.listen = "127.0.0.1:x";
	assert_int_equal(server_start(&o, &srv, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "127.0.0.1:x"));
	o.listen = "127.0.0.1:0";
	o.token = "bad token";
	assert_int_equal(server_start(&o, &srv, err, sizeof(err)), -EINVAL);
	o.token = NULL;
	char missing[160];
	snprintf(missing, sizeof(missing), "%s/missing.db", dir);
	o.store_path = missing;
	assert_true(server_start(&o, &srv, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "missing.db"));

	/* a port in use */
	o.store_path = db;
	struct server *a;
	assert_int_equal(server_start(&o, &a, err, sizeof(err)), 0);
	char addr[80];
	snprintf(addr, sizeof(addr), "%s", server_address(a));
	o.listen = addr;
	assert_int_equal(server_start(&o, &srv, err, sizeof(err)), -EADDRINUSE);
	assert_non_null(strstr(err, addr));
	server_stop(a);
	server_stop(NULL);
}

struct hammer {
	int port, ok;
};

static void *hammer(void *p)
{
	struct hammer *h = p;
	struct buf b = BUF_INIT;
	for (int i = 0; i < 25; i++) {
		const char *path = i % 3 == 0 ? "/api/v1/systems/host%3At/frame"
		                   : i % 3 == 1
		                       ? "/metrics"
		                       : "/api/v1/systems/image%3A%2Fmnt%2Fx/frame?feature=os";
		if (get(h->port, path, TOKEN, &b) == 200)
			h->ok++;
	}
	buf_free(&b);
	return NULL;
}

static void test_serve(void **state)
{
	struct server_stats st;
	server_stats_init(&st);
	atomic_store(&st.frames_stored, 7);
	struct server_opts o = {
	    .listen = "127.0.0.1:0", .token = TOKEN, .store_path = db, .threads = 3, .stats = &st};
	char err[256];
	struct server *srv;
	assert_int_equal(server_start(&o, &srv, err, sizeof(err)), 0);
	int port = port_of(srv);
	assert_true(port > 0);
	struct buf b = BUF_INIT;

	assert_int_equal(get(port, "/api/v1/health", NULL, &b), 401);
	assert_int_equal(get(port, "/api/v1/health", "wrong", &b), 401);
	assert_int_equal(get(port, "/api/v1/health", TOKEN, &b), 200);
	assert_non_null(strstr(buf_str(&b), "\"status\":\"ok\""));
	assert_non_null(strstr(buf_str(&b), "\"mode\":\"serve\""));
	assert_non_null(strstr(buf_str(&b), "\"frames_stored\":7"));

	/* the daemon's error shows, and makes the status "degraded" */
	server_stats_set_error(&st, "store %s: disk full", "x.db");
	atomic_store(&st.pending_frames, 3);
	assert_int_equal(get(port, "/api/v1/health", TOKEN, &b), 200);
	assert_non_null(strstr(buf_str(&b), "\"status\":\"degraded\""));
	assert_non_null(strstr(buf_str(&b), "\"last_error\":\"store x.db: disk full\""));
	assert_non_null(strstr(buf_str(&b), "\"pending_frames\":3"));
	server_stats_set_error(&st, NULL);
	atomic_store(&st.pending_frames, 0);
	assert_int_equal(get(port, "/api/v1/health", TOKEN, &b), 200);
	assert_non_null(strstr(buf_str(&b), "\"last_error\":null"));

	assert_int_equal(get(port, "/metrics", TOKEN, &b), 200);
	const char *m = buf_str(&b);
	assert_non_null(strstr(
	    m, "vantage_memory_used_pct{system=\"host:t\",name=\"t\",kind=\"host\"} 12.5\n"));
	assert_non_null(strstr(
	    m, "vantage_memory_total_bytes{system=\"host:t\",name=\"t\",kind=\"host\"} 1024000\n"));
	/* a hostile mount point: quotes escaped, the invalid byte as U+FFFD */
	assert_non_null(strstr(m, "mountpoint=\"/mnt/\\\"q\\\"\xef\xbf\xbd\"} 50\n"));
	assert_non_null(strstr(m, "vantage_frames_stored_total 7\n"));
	assert_non_null(strstr(m, "vantage_up 1\n"));
	assert_non_null(strstr(m, "# TYPE vantage_memory_used_pct gauge\n"));

	assert_int_equal(get(port, "/api/v1/systems/image%3A%2Fmnt%2Fx/frame", TOKEN, &b), 200);
	assert_non_null(strstr(buf_str(&b), "\"id\":\"image:/mnt/x\""));
	assert_int_equal(get(port, "/api/v1/systems/image:/mnt/x/frame", TOKEN, &b), 200);
	assert_int_equal(
	    get(port, "/api/v1/systems/host:t/frame?at=2026-11-22T09:00:00Z", TOKEN, &b), 404);
	assert_int_equal(
	    get(port,
	        "/api/v1/systems/host:t/metrics/memory.used_pct"
	        "?since=2026-11-22T09:59:00Z&until=2026-11-22T10:01:00Z&step=1m&stat=max",
	        TOKEN, &b),
	    200);
	assert_non_null(strstr(buf_str(&b), "[\"2026-11-22T10:00:00.000Z\",12.5]"));
	assert_int_equal(
	    get(port,
	        "/api/v1/systems/host:t/metrics/disk.used_pct"
	        "?since=2026-11-22T09:59:00Z&until=2026-11-22T10:01:00Z&label=mountpoint=x",
	        TOKEN, &b),
	    404);
	assert_int_equal(
	    get(port, "/api/v1/systems/host:t/metrics/memory.used_pct?step=-1s", TOKEN, &b), 400);
	assert_non_null(strstr(buf_str(&b), "\"parameter\":\"step\""));
	assert_int_equal(get(port, "/api/v1/nothing", TOKEN, &b), 404);
	/* a bad label after a long name: 400, and the selector is freed (the
	 * leak checker sees it otherwise) */
	char path[700];
	snprintf(path, sizeof(path), "/api/v1/systems/host:t/metrics/%0500d?label=bad", 0);
	assert_int_equal(get(port, path, TOKEN, &b), 400);
	assert_non_null(strstr(buf_str(&b), "\"parameter\":\"label\""));
	snprintf(path, sizeof(path),
	         "/api/v1/systems/host:t/metrics/m%0400d?label=a=1&label=b=2&label=c=3&label=d=4"
	         "&label=e=5&label=f=6&label=g=7&label=h=8&label=i=9",
	         0);
	assert_int_equal(get(port, path, TOKEN, &b), 400);

	/* several clients at once: each worker thread has its own store handle */
	pthread_t t[6];
	struct hammer h[6];
	for (int i = 0; i < 6; i++) {
		h[i] = (struct hammer){.port = port};
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &h[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(h[i].ok, 25);
	}

	/* a new token from now on: the old one refused */
	const char *t2 = "second-token-0123456789abcdef";
	assert_int_equal(server_set_token(srv, "bad token", err, sizeof(err)), -EINVAL);
	assert_int_equal(get(port, "/api/v1/health", TOKEN, &b), 200);
	assert_int_equal(server_set_token(srv, t2, err, sizeof(err)), 0);
	assert_int_equal(get(port, "/api/v1/health", TOKEN, &b), 401);
	assert_int_equal(get(port, "/api/v1/health", t2, &b), 200);
	/* none, on loopback: every request let in */
	assert_int_equal(server_set_token(srv, NULL, err, sizeof(err)), 0);
	assert_int_equal(get(port, "/api/v1/health", NULL, &b), 200);
	buf_free(&b);
	server_stop(srv);
	server_stats_destroy(&st);

	/* no token on an address other hosts reach: refused, the token kept */
	o = (struct server_opts){.listen = "0.0.0.0:0", .token = TOKEN, .store_path = db};
	assert_int_equal(server_start(&o, &srv, err, sizeof(err)), 0);
	assert_int_equal(server_set_token(srv, "", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "reachable from other hosts"));
	assert_int_equal(get(port_of(srv), "/api/v1/health", NULL, &b), 401);
	assert_int_equal(get(port_of(srv), "/api/v1/health", TOKEN, &b), 200);
	buf_free(&b);
	server_stop(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_serve),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
