/*
 * router.c - matching a request's path against the route table
 * (endpoints.c) and calling the handler of the first match.
 *
 * Order of checks (after auth and the request target, in http.c): route
 * (404), method (405: the row has no handler for it), write rights (403:
 * PUT, DELETE, and POST unless the row says it only reads), then the
 * handler.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "router.h"

struct pat {
	const char *s[REQ_MAX_SEGS];
	size_t n[REQ_MAX_SEGS];
	int count;
	int multi; /* index of the "{name+}" segment, or -1 */
};

static bool is_var(const char *s, size_t n)
{
	return n >= 2 && s[0] == '{' && s[n - 1] == '}';
}

static void split(const char *path, struct pat *p)
{
	p->count = 0;
	p->multi = -1;
	for (const char *s = path; *s && p->count < REQ_MAX_SEGS;) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		size_t n = strcspn(s, "/");
		if (is_var(s, n) && s[n - 2] == '+')
			p->multi = p->count;
		p->s[p->count] = s;
		p->n[p->count++] = n;
		s += n;
	}
}

/* Whether the route's pattern fits r->seg; sets r->var when it does. */
static bool match(const char *path, struct request *r)
{
	struct pat p;
	split(path, &p);
	int extra = r->nseg - p.count; /* segments the "+" variable takes beyond one */
	if (p.multi < 0 ? extra != 0 : extra < 0)
		return false;
	for (int k = 0; k < p.count; k++) {
		int i = k <= p.multi || p.multi < 0 ? k : k + extra;
		if (is_var(p.s[k], p.n[k]))
			continue;
		if (strlen(r->seg[i]) != p.n[k] || memcmp(r->seg[i], p.s[k], p.n[k]) != 0)
			return false;
	}
	/* the "+" variable's segments must lie one after the other */
	for (int i = p.multi; i >= 0 && i < p.multi + extra; i++)
		if (r->seg[i] + strlen(r->seg[i]) + 1 != r->seg[i + 1])
			return false;
	r->nvar = 0;
	for (int k = 0; k < p.count && r->nvar < REQ_MAX_VARS; k++) {
		if (!is_var(p.s[k], p.n[k]))
			continue;
		int i = k <= p.multi || p.multi < 0 ? k : k + extra;
		struct req_var *v = &r->var[r->nvar++];
		v->name = p.s[k] + 1;
		v->name_len = p.n[k] - 2 - (k == p.multi);
		v->val = r->seg[i];
		if (k == p.multi) /* "a" "b" -> "a/b": the NULs become '/' */
			for (int j = i; j < i + extra; j++)
				r->seg[j][strlen(r->seg[j])] = '/';
	}
	return true;
}

const struct route *route_match(struct request *r)
{
	for (size_t i = 0; i < route_count; i++)
		if (match(routes[i].path, r))
			return &routes[i];
	return NULL;
}

bool route_method_has_body(const char *m)
{
	return strcmp(m, "PUT") == 0 || strcmp(m, "DELETE") == 0 || strcmp(m, "POST") == 0;
}

/* The handler of rt for method m, or NULL. */
static void (*handler_of(const struct route *rt, const char *m))(struct request *)
{
	if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0)
		return rt->handler;
	if (strcmp(m, "PUT") == 0)
		return rt->put;
	if (strcmp(m, "DELETE") == 0)
		return rt->del;
	if (strcmp(m, "POST") == 0)
		return rt->post;
	return NULL;
}

/* "GET, HEAD, PUT" : the methods rt answers, into r->allow. */
static void set_allow(struct request *r, const struct route *rt)
{
	struct {
		bool on;
		const char *names;
	} m[] = {{rt->handler != NULL, "GET, HEAD"},
	         {rt->put != NULL, "PUT"},
	         {rt->del != NULL, "DELETE"},
	         {rt->post != NULL, "POST"}};
	r->allow[0] = 0;
	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (m[i].on) {
			if (r->allow[0])
				strcat(r->allow, ", ");
			strcat(r->allow, m[i].names);
		}
}

int route_prepare(struct request *r)
{
	const struct route *rt = route_match(r);
	r->route = NULL;
	if (!rt) {
		req_error(r, 404, NULL,
		          "no such endpoint (see docs/api.md: /api/v1/health, /api/v1/systems, "
		          "/metrics)");
		return -1;
	}
	if (!rt->handler && !rt->put && !rt->del && !rt->post) {
		req_error(r, 404, NULL, "%s", rt->hint);
		return -1;
	}
	if (!handler_of(rt, r->method)) {
		set_allow(r, rt);
		req_error(r, 405, NULL, "method %s not allowed here (%s)", r->method, r->allow);
		return -1;
	}
	bool write = route_method_has_body(r->method) &&
	             !(strcmp(r->method, "POST") == 0 && (rt->flags & ROUTE_POST_READS));
	if (write && !r->may_write) {
		req_error(r, 403, NULL,
		          "%s needs write rights: a server without a bearer token takes writes "
		          "from loopback clients only (docs/security.md)",
		          r->method);
		return -1;
	}
	r->route = rt;
	return 0;
}

void route_run(struct request *r)
{
	/* a reading POST carries its parameters as a form: read like a query's */
	if (strcmp(r->method, "POST") == 0 && (r->route->flags & ROUTE_POST_READS) &&
	    req_form_params(r) < 0)
		return;
	handler_of(r->route, r->method)(r);
}

void route_request(struct request *r)
{
	if (route_prepare(r) == 0)
		route_run(r);
}
