/*
 * prometheus.h - the /metrics handler (prometheus.c); the naming and
 * value pieces it is made of are analytics/promql_names.h's.
 */
#ifndef VANTAGE_SERVER_PROMETHEUS_H
#define VANTAGE_SERVER_PROMETHEUS_H

#include <stdbool.h>
#include <stddef.h>

#include "../analytics/promql_names.h"
#include "../util/buf.h"
#include "request.h"

/* GET /metrics */
void prom_metrics(struct request *r);

#endif
