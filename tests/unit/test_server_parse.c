/*
 * Unit tests: the pure parts of the HTTP surface (src/server/): listen
 * addresses, the request target splitter (times and durations: test_timefmt.c),
 * Prometheus names, label values, values and the flat JSON reader.  Good,
 * malformed and truncated input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "server/prometheus.h"
#include "server/request.h"
#include "server/router.h"
#include "server/server.h"

/* ---- listen addresses ---------------------------------------------------------- */

static int listen_ok(const char *s, char *ip, unsigned *port, bool *lo)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256];
	int rc = server_parse_listen(s, &ss, &len, lo, err, sizeof(err));
	if (rc < 0)
		return rc;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &in->sin_addr, ip, 64);
		*port = ntohs(in->sin_port);
	} else {
		struct sockaddr_in6 *in = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &in->sin6_addr, ip, 64);
		*port = ntohs(in->sin6_port);
	}
	return 0;
}

static void test_listen(void **state)
{
	char ip[64];
	unsigned port;
	bool lo;
	assert_int_equal(listen_ok("127.0.0.1:8080", ip, &port, &lo), 0);
	assert_string_equal(ip, "127.0.0.1");
	assert_int_equal(port, 8080);
	assert_true(lo);
	assert_int_equal(listen_ok(NULL, ip, &port, &lo), 0); /* default */
	assert_string_equal(ip, "127.0.0.1");
	assert_true(lo);
	assert_int_equal(listen_ok("[::1]:9000", ip, &port, &lo), 0);
	assert_string_equal(ip, "::1");
	assert_int_equal(port, 9000);
	assert_true(lo);
	assert_int_equal(listen_ok("0.0.0.0:80", ip, &port, &lo), 0);
	assert_false(lo);
	assert_int_equal(listen_ok("[::]:80", ip, &port, &lo), 0);
	assert_false(lo);
	assert_int_equal(listen_ok(":8080", ip, &port, &lo), 0);
	assert_string_equal(ip, "0.0.0.0");
	assert_false(lo);
	assert_int_equal(listen_ok("8081", ip, &port, &lo), 0);
	assert_string_equal(ip, "127.0.0.1");
	assert_int_equal(port, 8081);
	assert_true(lo);
	assert_int_equal(listen_ok("localhost:0", ip, &port, &lo), 0);
	assert_int_equal(port, 0);
	assert_true(lo);
	assert_int_equal(listen_ok("127.9.9.9:1", ip, &port, &lo), 0);
	assert_true(lo);
	assert_int_equal(listen_ok("[::ffff:127.0.0.1]:1", ip, &port, &lo), 0);
	assert_true(lo);
	assert_int_equal(listen_ok("10.1.2.3:8080", ip, &port, &lo), 0);
	assert_false(lo);

	const char *bad[] = {"127.0.0.1",       "127.0.0.1:",
	                     "127.0.0.1:65536", "::1:8080",
	                     "[::1]",           "[::1]8080",
	                     "[::1:8080",       "example.com:80",
	                     "1.2.3:80",        "127.0.0.1:-1",
	                     "127.0.0.1:8o",    "[]:80",
	                     "[zz]:80",         "127.0.0.1:99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (listen_ok(bad[i], ip, &port, &lo) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	}
	/* the message names the address */
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256];
	assert_int_equal(server_parse_listen("nope:1", &ss, &len, &lo, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "nope:1"));
}

/* ---- request targets --------------------------------------------------------------- */

static int target(const char *uri, struct request *r, char **arena)
{
	memset(r, 0, sizeof(*r));
	*arena = malloc(2 * strlen(uri) + 2);
	return req_parse_target(r, uri, *arena);
}

static void test_target(void **state)
{
	struct request r;
	char *a;
	assert_int_equal(
	    target("/api/v1/systems/container%3Apodman%3A3f2a/frame?at=1h&feature=process", &r, &a),
	    0);
	assert_int_equal(r.nseg, 5);
	assert_string_equal(r.seg[3], "container:podman:3f2a");
	assert_string_equal(r.seg[4], "frame");
	assert_int_equal(r.nparam, 2);
	assert_string_equal(req_param(&r, "at"), "1h");
	assert_string_equal(req_param(&r, "feature"), "process");
	assert_null(req_param(&r, "nope"));
	free(a);

	/* %2F keeps a '/' inside one segment; '+' is a space only in the query */
	assert_int_equal(target("/a/image%3A%2Fmnt%2Fx/b+c?x", &r, &a), 0);
	assert_int_equal(r.nseg, 3);
	assert_string_equal(r.seg[1], "image:/mnt/x");
	assert_string_equal(r.seg[2], "b+c");
	assert_int_equal(r.status, 0);
	free(a);
	assert_int_equal(target("/a?label=app%3Dweb+1&x&y=", &r, &a), 0);
	assert_string_equal(req_param(&r, "label"), "app=web 1");
	assert_string_equal(req_param(&r, "x"), "");
	assert_string_equal(req_param(&r, "y"), "");
	free(a);

	/* empty segments and a trailing slash are ignored; a fragment too */
	assert_int_equal(target("//api///v1/health/#frag", &r, &a), 0);
	assert_int_equal(r.nseg, 3);
	assert_string_equal(r.seg[2], "health");
	free(a);
	assert_int_equal(target("http://example/metrics?x=1", &r, &a), 0);
	assert_int_equal(r.nseg, 1);
	assert_string_equal(r.seg[0], "metrics");
	free(a);
	assert_int_equal(target("/", &r, &a), 0);
	assert_int_equal(r.nseg, 0);
	free(a);

	const char *bad[] = {"/a%",     "/a%2",     "/a%zz", "/a%00b", "/a?x=%",
	                     "/a?x=%0", "/a?%00=1", "/a?=1", "*",      "relative/path"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (target(bad[i], &r, &a) != -EINVAL || r.status != 400)
			fail_msg("accepted target '%s'", bad[i]);
		assert_non_null(strstr(buf_str(&r.body), "\"error\""));
		buf_free(&r.body);
		free(a);
	}
	/* too many parameters, too many segments */
	char big[4096] = "/x?";
	for (int i = 0; i < REQ_MAX_PARAMS + 1; i++)
		strcat(big, "a=1&");
	assert_int_equal(target(big, &r, &a), -EINVAL);
	buf_free(&r.body);
	free(a);
	strcpy(big, "");
	for (int i = 0; i < REQ_MAX_SEGS + 1; i++)
		strcat(big, "/s");
	assert_int_equal(target(big, &r, &a), -EINVAL);
	buf_free(&r.body);
	free(a);
}

static void test_check_params(void **state)
{
	static const char *const allowed[] = {"since", "step", NULL};
	struct request r;
	char *a;
	assert_int_equal(target("/x?since=1h&step=1m", &r, &a), 0);
	assert_int_equal(req_check_params(&r, allowed), 0);
	free(a);
	assert_int_equal(target("/x?since=1h&stpe=1m", &r, &a), 0);
	assert_int_equal(req_check_params(&r, allowed), -EINVAL);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(buf_str(&r.body), "\"parameter\":\"stpe\""));
	buf_free(&r.body);
	free(a);
	assert_int_equal(target("/x?step=1m&step=2m", &r, &a), 0);
	assert_int_equal(req_check_params(&r, allowed), -EINVAL);
	assert_non_null(strstr(buf_str(&r.body), "more than once"));
	buf_free(&r.body);
	free(a);
	/* "+label" may repeat */
	static const char *const rep[] = {"step", "+label", NULL};
	assert_int_equal(target("/x?label=a%3D1&label=b=2&step=1m", &r, &a), 0);
	assert_int_equal(req_check_params(&r, rep), 0);
	free(a);
	assert_int_equal(target("/x?lbl=1", &r, &a), 0);
	assert_int_equal(req_check_params(&r, rep), -EINVAL);
	assert_non_null(strstr(buf_str(&r.body), "takes: step, label"));
	buf_free(&r.body);
	free(a);
}

/* ---- routing ---------------------------------------------------------------------- */

/* A concrete path for a route's pattern: each "{x}" becomes "v"; a "{x+}"
 * becomes `multi` (which may hold '/'). */
static void concrete(const char *pattern, const char *multi, char *dst, size_t cap)
{
	dst[0] = 0;
	for (const char *p = pattern; *p;) {
		if (*p == '{') {
			const char *close = strchr(p, '}');
			assert_non_null(close);
			strncat(dst, close[-1] == '+' ? multi : "v", cap - strlen(dst) - 1);
			p = close + 1;
		} else {
			strncat(dst, p, 1);
			p++;
		}
	}
}

static void test_routes_resolve(void **state)
{
	struct request r;
	char *a, path[512];
	assert_true(route_count > 0);
	for (size_t i = 0; i < route_count; i++) {
		assert_int_equal(routes[i].path[0], '/');
		assert_true(routes[i].handler || routes[i].put || routes[i].del || routes[i].post ||
		            routes[i].hint);
		/* a one-segment id, and an id whose '/' was sent unencoded */
		const char *ids[] = {"host%3At", "image:/mnt/x"};
		for (size_t k = 0; k < 2; k++) {
			concrete(routes[i].path, ids[k], path, sizeof(path));
			assert_int_equal(target(path, &r, &a), 0);
			const struct route *got = route_match(&r);
			if (got != &routes[i])
				fail_msg("'%s' resolves to %s, not %s", path,
				         got ? got->path : "none", routes[i].path);
			if (strstr(routes[i].path, "{id+}")) {
				const char *want = k ? "image:/mnt/x" : "host:t";
				assert_string_equal(req_var(&r, "id"), want);
			}
			if (strstr(routes[i].path, "{name}"))
				assert_string_equal(req_var(&r, "name"), "v");
			free(a);
		}
	}
	/* the id takes every segment between "systems" and the endpoint's own */
	assert_int_equal(target("/api/v1/systems/a/metrics/b/metrics", &r, &a), 0);
	const struct route *rt = route_match(&r);
	assert_non_null(rt);
	assert_string_equal(rt->path, "/api/v1/systems/{id+}/metrics");
	assert_string_equal(req_var(&r, "id"), "a/metrics/b");
	free(a);
	assert_int_equal(target("/api/v1/systems/a/b/metrics/memory.used_pct", &r, &a), 0);
	rt = route_match(&r);
	assert_non_null(rt);
	assert_string_equal(rt->path, "/api/v1/systems/{id+}/metrics/{name}");
	assert_string_equal(req_var(&r, "id"), "a/b");
	assert_string_equal(req_var(&r, "name"), "memory.used_pct");
	assert_null(req_var(&r, "nope"));
	free(a);
}

/* Answers that need no store: 404 with a JSON error, 405. */
static void routed(const char *path, const char *method, int status, const char *text)
{
	struct request r;
	char *a;
	assert_int_equal(target(path, &r, &a), 0);
	r.method = method;
	route_request(&r);
	if (r.status != status)
		fail_msg("%s %s: status %d, not %d", method, path, r.status, status);
	const char *body = buf_str(&r.body);
	assert_int_equal(body[0], '{');
	assert_non_null(strstr(body, "\"error\":"));
	assert_non_null(strstr(body, text));
	buf_free(&r.body);
	free(a);
}

static void test_routes_unknown(void **state)
{
	routed("/ui", "GET", 404, "no such endpoint (see docs/api.md"); /* "/": the dashboard */
	routed("/nope", "GET", 404, "no such endpoint (see docs/api.md");
	routed("/metrics/x", "GET", 404, "no such endpoint (see docs/api.md");
	routed("/api/v1", "GET", 404, "no such endpoint (see docs/api.md");
	routed("/api/v2/health", "GET", 404, "no such endpoint (see docs/api.md");
	routed("/api/v1/systems/x", "GET", 404, "a system's endpoints are");
	routed("/api/v1/systems/x/frame/y", "GET", 404, "a system's endpoints are");
	routed("/api/v1/systems/x/y/z/w", "GET", 404, "a system's endpoints are");
	routed("/metrics", "POST", 405, "method POST not allowed");
	routed("/api/v1/systems/x/frame", "DELETE", 405, "method DELETE not allowed");
}

/* ---- Prometheus ------------------------------------------------------------------- */

static void family(const char *metric, const char *want, double want_scale)
{
	struct buf b = BUF_INIT;
	double scale = 0;
	prom_family_name(metric, &b, &scale);
	if (strcmp(buf_str(&b), want) != 0)
		fail_msg("%s -> %s, want %s", metric, buf_str(&b), want);
	assert_true(scale == want_scale);
	buf_free(&b);
}

static void test_family_names(void **state)
{
	family("memory.used_pct", "vantage_memory_used_pct", 1);
	family("memory.total_kb", "vantage_memory_total_bytes", 1024);
	family("cgroup.mem_usage_bytes", "vantage_cgroup_mem_usage_bytes", 1);
	family("cgroup.cpu_usage_ns", "vantage_cgroup_cpu_usage_seconds", 1e-9);
	family("diskio.read_ms", "vantage_diskio_read_seconds", 1e-3);
	family("net.rx_bytes_per_s", "vantage_net_rx_bytes_per_second", 1);
	family("cpu.interval_s", "vantage_cpu_interval_seconds", 1);
	family("disk:/.used_pct", "vantage_disk_used_pct", 1);
	family("a..b--c__", "vantage_a_b_c", 1);
	family("x.requests_total", "vantage_x_requests_total_value", 1);
	family("load.load1", "vantage_load_load1", 1);
	family("", "vantage_", 1);
	family("s", "vantage_s", 1);
	family("\xff\xfe.\"x\"", "vantage_x", 1);
}

static void test_label_value(void **state)
{
	struct buf b = BUF_INIT;
	prom_label_value(&b, "a\"b\\c\nd", 7);
	assert_string_equal(buf_str(&b), "\"a\\\"b\\\\c\\nd\"");
	buf_reset(&b);
	prom_label_value(&b, "caf\xc3\xa9", 5); /* valid UTF-8 kept */
	assert_string_equal(buf_str(&b), "\"caf\xc3\xa9\"");
	buf_reset(&b);
	prom_label_value(&b, "x\xff\xc3", 3); /* invalid and truncated bytes */
	assert_string_equal(buf_str(&b), "\"x\xef\xbf\xbd\xef\xbf\xbd\"");
	buf_reset(&b);
	prom_label_value(&b, "\xed\xa0\x80\xc0\xaf", 5); /* surrogate, overlong */
	assert_string_equal(buf_str(&b),
	                    "\""
	                    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	                    "\"");
	buf_free(&b);
}

static void test_values(void **state)
{
	char v[40];
	prom_format_value(0.1, v, sizeof(v));
	assert_string_equal(v, "0.1");
	prom_format_value(2.67, v, sizeof(v));
	assert_string_equal(v, "2.67");
	prom_format_value(499666944, v, sizeof(v));
	assert_string_equal(v, "499666944");
	prom_format_value(1.0 / 3, v, sizeof(v));
	assert_true(strtod(v, NULL) == 1.0 / 3);
	prom_format_value(NAN, v, sizeof(v));
	assert_string_equal(v, "NaN");
	prom_format_value(-INFINITY, v, sizeof(v));
	assert_string_equal(v, "-Inf");
	prom_format_value(INFINITY, v, sizeof(v));
	assert_string_equal(v, "+Inf");
}

static void collect_kv(void *ctx, const char *k, const char *v, bool str)
{
	struct buf *b = ctx;
	buf_printf(b, "%s=%s%s;", k, v, str ? "" : "#");
}

static void test_flat_object(void **state)
{
	struct buf b = BUF_INIT;
	const char *j =
	    "{\"mountpoint\": \"/\", \"n\":12.5,\"ok\":true,\"nested\":{\"a\":[1,\"}\"]},"
	    "\"nul\":null,\"esc\":\"a\\\"b\\u00e9\\ud83d\\ude00\\udc80\"}";
	assert_int_equal(prom_flat_object(j, strlen(j), collect_kv, &b), 0);
	assert_string_equal(
	    buf_str(&b),
	    "mountpoint=/;n=12.5#;ok=true#;esc=a\"b\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbd;");
	buf_reset(&b);
	assert_int_equal(prom_flat_object("{}", 2, collect_kv, &b), 0);
	assert_int_equal(prom_flat_object(" { } ", 5, collect_kv, &b), 0);
	assert_string_equal(buf_str(&b), "");
	const char *bad[] = {"",
	                     "[]",
	                     "{",
	                     "{\"a\"",
	                     "{\"a\":",
	                     "{\"a\":\"x",
	                     "{\"a\":1,",
	                     "{\"a\" 1}",
	                     "{a:1}",
	                     "{\"a\":\"\\u12\"}",
	                     "{\"a\":{\"b\":1}",
	                     "{\"a\":\"\\"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (prom_flat_object(bad[i], strlen(bad[i]), collect_kv, &b) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	/* truncations of a good object never read past the end */
	for (size_t n = 0; n < strlen(j); n++) {
		char *t = malloc(n ? n : 1);
		memcpy(t, j, n);
		assert_int_equal(prom_flat_object(t, n, collect_kv, &b), -EINVAL);
		free(t);
	}
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_listen),         cmocka_unit_test(test_target),
	    cmocka_unit_test(test_check_params),   cmocka_unit_test(test_routes_resolve),
	    cmocka_unit_test(test_routes_unknown), cmocka_unit_test(test_family_names),
	    cmocka_unit_test(test_label_value),    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_flat_object),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
