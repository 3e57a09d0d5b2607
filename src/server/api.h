/*
 * api.h - the handlers of the REST endpoints under /api/v1 (api.c; the
 * route table in endpoints.c maps paths to them).  Path variables come
 * from req_var(): "id" the system id, "name" the metric.
 */
#ifndef VANTAGE_SERVER_API_H
#define VANTAGE_SERVER_API_H

#include "request.h"

void api_health(struct request *r);       /* /api/v1/health */
void api_systems(struct request *r);      /* /api/v1/systems */
void api_frame(struct request *r);        /* /api/v1/systems/{id}/frame */
void api_metric_names(struct request *r); /* /api/v1/systems/{id}/metrics */
void api_series(struct request *r);       /* /api/v1/systems/{id}/metrics/{name} */
void api_diff(struct request *r);         /* /api/v1/diff (api_diff.c) */
void api_search(struct request *r);       /* /api/v1/search (api_search.c) */
void api_search_end(void);                /* waits for a background index build (server_stop) */
void api_topology(struct request *r);     /* /api/v1/topology (api_topology.c) */
void api_topology_end(void);              /* waits for background graph builds (server_stop) */
void api_chart(struct request *r);        /* /api/v1/chart (api_chart.c) */
void api_flows(struct request *r);        /* /api/v1/flows (api_flows.c) */

#endif
