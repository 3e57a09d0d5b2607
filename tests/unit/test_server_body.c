/*
 * Unit tests: request bodies in the router and the request helpers
 * (src/server/): 405 with the Allow header's methods, 403 for a write
 * without write rights, a reading POST's form read like a query, the JSON
 * body's Content-Type check.  No server: the request is built by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/request.h"
#include "server/router.h"

static char *arena;

static void make(struct request *r, const char *method, const char *uri, const char *type,
                 const char *body, bool may_write)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->status = 200;
	r->may_write = may_write;
	r->in.type = type;
	r->in.data = body;
	r->in.len = body ? strlen(body) : 0;
	arena = malloc(2 * strlen(uri) + 2);
	assert_int_equal(req_parse_target(r, uri, arena), 0);
}

static void done(struct request *r)
{
	buf_free(&r->body);
	free(r->form_arena);
	free(arena);
}

static void test_methods(void **state)
{
	struct request r;
	make(&r, "PUT", "/api/v1/search", NULL, "x", true);
	assert_int_equal(route_prepare(&r), -1);
	assert_int_equal(r.status, 405);
	assert_string_equal(r.allow, "GET, HEAD, POST");
	done(&r);
	make(&r, "DELETE", "/api/v1/health", NULL, NULL, true);
	assert_int_equal(route_prepare(&r), -1);
	assert_int_equal(r.status, 405);
	assert_string_equal(r.allow, "GET, HEAD");
	done(&r);
	assert_true(route_method_has_body("PUT"));
	assert_true(route_method_has_body("DELETE"));
	assert_true(route_method_has_body("POST"));
	assert_false(route_method_has_body("GET"));
}

static void test_reading_post(void **state)
{
	struct request r;
	/* a reading POST needs no write rights; its form joins the query */
	make(&r, "POST", "/api/v1/search?limit=5", "application/x-www-form-urlencoded",
	     "q=a+b%2Fc&x=", false);
	assert_int_equal(route_prepare(&r), 0);
	assert_int_equal(req_form_params(&r), 0);
	assert_string_equal(req_param(&r, "limit"), "5");
	assert_string_equal(req_param(&r, "q"), "a b/c");
	assert_string_equal(req_param(&r, "x"), "");
	assert_int_equal(r.nparam, 3);
	done(&r);
	/* not a form */
	make(&r, "POST", "/api/v1/search", "application/json", "{}", false);
	assert_int_equal(req_form_params(&r), -EINVAL);
	assert_int_equal(r.status, 415);
	done(&r);
	make(&r, "POST", "/api/v1/search", "application/x-www-form-urlencoded; charset=utf-8",
	     "q=%4", false);
	assert_int_equal(req_form_params(&r), -EINVAL);
	assert_int_equal(r.status, 400);
	done(&r);
	/* no body: nothing to add */
	make(&r, "POST", "/api/v1/search", NULL, NULL, false);
	assert_int_equal(req_form_params(&r), 0);
	assert_int_equal(r.nparam, 0);
	done(&r);
}

static void test_json_body(void **state)
{
	struct request r;
	const char *j;
	size_t n;
	make(&r, "PUT", "/x", "application/json; charset=utf-8", "{\"a\":1}", true);
	assert_int_equal(req_body_json(&r, &j, &n), 0);
	assert_int_equal(n, 7);
	assert_string_equal(j, "{\"a\":1}");
	done(&r);
	make(&r, "PUT", "/x", "text/plain", "{}", true);
	assert_int_equal(req_body_json(&r, &j, &n), -EINVAL);
	assert_int_equal(r.status, 415);
	done(&r);
	make(&r, "PUT", "/x", NULL, "{}", true);
	assert_int_equal(req_body_json(&r, &j, &n), -EINVAL);
	assert_int_equal(r.status, 415);
	done(&r);
	make(&r, "PUT", "/x", "Application/JSON", NULL, true);
	assert_int_equal(req_body_json(&r, &j, &n), -EINVAL);
	assert_int_equal(r.status, 400);
	done(&r);
	assert_true(req_type_is(" application/json ;x=y", "application/json"));
	assert_false(req_type_is("application/jsonx", "application/json"));
	assert_false(req_type_is(NULL, "application/json"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_methods),
	    cmocka_unit_test(test_reading_post),
	    cmocka_unit_test(test_json_body),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
