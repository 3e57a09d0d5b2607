/*
 * router.h - which handler answers a request: a table of path patterns
 * (endpoints.c, the only place that names the handlers) and the matching.
 *
 * A pattern is a path of literal segments and variables: "{name}" takes
 * one segment, "{name+}" one or more (joined with '/': a system id whose
 * '/' was sent unencoded).  At most one "+" variable per pattern.  The
 * first row that matches wins.  A row without any handler answers 404
 * with its hint (a path that is almost an endpoint).
 *
 * Methods: `handler` answers GET and HEAD; `put`, `del` and `post` answer
 * PUT, DELETE and POST (their request body is in r->in, read whole before
 * the handler runs, at most REQ_BODY_MAX bytes: request.h).  A method
 * without a handler on a matching row is a 405 with an Allow header.
 * PUT, DELETE and POST are writes and need write rights (r->may_write: the
 * bearer token when the server has one, else a loopback client; 403
 * otherwise), except a POST on a row flagged ROUTE_POST_READS (a query
 * sent as a form because it is too long for a URL: Prometheus' POST
 * /api/v1/query); such a POST's form fields are added to r->param before
 * its handler runs (req_form_params(): 415 for a body that is not a form),
 * so the GET handler serves both.
 *
 * Adding an endpoint: its handlers (functions of one struct request *, in
 * their own file) and one row in endpoints.c.
 */
#ifndef VANTAGE_SERVER_ROUTER_H
#define VANTAGE_SERVER_ROUTER_H

#include <stddef.h>

#include "request.h"

/* route.flags */
#define ROUTE_POST_READS 1u /* POST only reads: no write rights needed */

struct route {
	const char *path;                   /* "/api/v1/systems/{id+}/frame" */
	void (*handler)(struct request *r); /* GET and HEAD; NULL: none */
	const char *hint;                   /* the 404 message of a row without handlers */
	void (*put)(struct request *r);     /* PUT; NULL: none */
	void (*del)(struct request *r);     /* DELETE; NULL: none */
	void (*post)(struct request *r);    /* POST; NULL: none */
	unsigned flags;                     /* ROUTE_* */
};

extern const struct route routes[];
extern const size_t route_count;

/* The first route whose pattern matches r->seg, with r->var set (a "+"
 * variable's segments are joined in place), or NULL. */
const struct route *route_match(struct request *r);
/* Whether the method is one whose request has a body to read (PUT, DELETE,
 * POST). */
bool route_method_has_body(const char *method);
/* Everything before the handler: the route (404), the method (405, with
 * r->allow set), write rights (403).  0 with r->route set, or -1 with the
 * error answer set.  http.c calls it as soon as the headers are in, so a
 * refused request's body is never read. */
int route_prepare(struct request *r);
/* Call the handler of r->route for r->method (after route_prepare). */
void route_run(struct request *r);
/* route_prepare() then route_run(). */
void route_request(struct request *r);

#endif
