/*
 * router.h - which handler answers a request: a table of path patterns
 * (endpoints.c, the only place that names the handlers) and the matching.
 *
 * A pattern is a path of literal segments and variables: "{name}" takes
 * one segment, "{name+}" one or more (joined with '/': a system id whose
 * '/' was sent unencoded).  At most one "+" variable per pattern.  The
 * first row that matches wins.  A row without a handler answers 404 with
 * its hint (a path that is almost an endpoint).
 *
 * Adding an endpoint: its handler (a function of one struct request *, in
 * its own file) and one row in endpoints.c.
 */
#ifndef VANTAGE_SERVER_ROUTER_H
#define VANTAGE_SERVER_ROUTER_H

#include <stddef.h>

#include "request.h"

struct route {
	const char *path;                   /* "/api/v1/systems/{id+}/frame" */
	void (*handler)(struct request *r); /* GET and HEAD; NULL: 404 */
	const char *hint;                   /* the 404 message of a NULL handler */
};

extern const struct route routes[];
extern const size_t route_count;

/* The first route whose pattern matches r->seg, with r->var set (a "+"
 * variable's segments are joined in place), or NULL. */
const struct route *route_match(struct request *r);
/* Answer the request: 404 (JSON error) when no route matches, 405 for a
 * method other than GET and HEAD, else the route's handler. */
void route_request(struct request *r);

#endif
