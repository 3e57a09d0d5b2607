/*
 * endpoints.c - the route table: every endpoint of the server and its
 * handler (docs/api.md documents each).  Order matters: the first row
 * that matches wins (see router.h for the pattern syntax).
 */
#include "api.h"
#include "api_alarms.h"
#include "api_logs.h"
#include "api_prom.h"
#include "prometheus.h"
#include "router.h"
#include "ui_files.h"

/* A row names the fields it uses: a GET-only row stops after its hint
 * (router.h: put, del, post, flags). */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

const struct route routes[] = {
    {"/metrics", prom_metrics, NULL},
    {"/api/v1/health", api_health, NULL},
    {"/api/v1/systems", api_systems, NULL},
    {"/api/v1/diff", api_diff, NULL},
    {"/api/v1/search", api_search, NULL, NULL, NULL, api_search, ROUTE_POST_READS},
    {"/api/v1/topology", api_topology, NULL},
    {"/api/v1/flows", api_flows, NULL},
    {"/api/v1/alarms", api_alarms, NULL},
    {"/api/v1/alarms/history", api_alarm_history, NULL},
    {"/api/v1/alarms/{name}", api_alarm_get, NULL, api_alarm_put, api_alarm_delete},
    {"/api/v1/alarms/{name}/test", NULL, NULL, NULL, NULL, api_alarm_test},
    {"/api/v1/alarms/{name}/silence", NULL, NULL, NULL, NULL, api_alarm_silence},
    {"/api/v1/alarms/{name}/ack", NULL, NULL, NULL, NULL, api_alarm_ack},
    {"/api/v1/systems/{id+}/frame", api_frame, NULL},
    {"/api/v1/systems/{id+}/metrics", api_metric_names, NULL},
    {"/api/v1/systems/{id+}/metrics/{name}", api_series, NULL},
    {"/prometheus/api/v1/query", prom_api_query, NULL, NULL, NULL, prom_api_query,
     ROUTE_POST_READS},
    {"/prometheus/api/v1/query_range", prom_api_query_range, NULL, NULL, NULL, prom_api_query_range,
     ROUTE_POST_READS},
    {"/prometheus/api/v1/series", prom_api_series, NULL, NULL, NULL, prom_api_series,
     ROUTE_POST_READS},
    {"/prometheus/api/v1/labels", prom_api_labels, NULL, NULL, NULL, prom_api_labels,
     ROUTE_POST_READS},
    {"/prometheus/api/v1/label/{name}/values", prom_api_label_values, NULL, NULL, NULL,
     prom_api_label_values, ROUTE_POST_READS},
    {"/prometheus/api/v1/status/buildinfo", prom_api_buildinfo, NULL},
    {"/prometheus/api/v1/metadata", prom_api_metadata, NULL},
    {"/prometheus/api/v1/query_exemplars", prom_api_empty_list, NULL},
    {"/api/v1/chart", api_chart, NULL},
    {"/api/v1/logs", api_logs, NULL},
    {"/api/v1/logs/tail", api_logs_tail, NULL},
    {"/", ui_index, NULL},
    {"/favicon.ico", ui_favicon, NULL},
    {"/ui/{path+}", ui_file, NULL},
    {"/api/v1/systems/{id+}", NULL,
     "no such endpoint; a system's endpoints are /api/v1/systems/{id}/frame, /metrics and "
     "/metrics/{name}"},
};

const size_t route_count = sizeof(routes) / sizeof(routes[0]);
