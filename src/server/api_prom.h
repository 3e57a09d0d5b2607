/*
 * api_prom.h - the handlers of the Prometheus query API under /prometheus
 * (api_prom.c; rows in endpoints.c).  "name" is the label of
 * /prometheus/api/v1/label/{name}/values.
 */
#ifndef VANTAGE_SERVER_API_PROM_H
#define VANTAGE_SERVER_API_PROM_H

#include "request.h"

void prom_api_query(struct request *r);        /* /prometheus/api/v1/query */
void prom_api_query_range(struct request *r);  /* /prometheus/api/v1/query_range */
void prom_api_series(struct request *r);       /* /prometheus/api/v1/series */
void prom_api_labels(struct request *r);       /* /prometheus/api/v1/labels */
void prom_api_label_values(struct request *r); /* /prometheus/api/v1/label/{name}/values */
void prom_api_buildinfo(struct request *r);    /* /prometheus/api/v1/status/buildinfo */
void prom_api_metadata(struct request *r);     /* /prometheus/api/v1/metadata */
void prom_api_empty_list(struct request *r);   /* query_exemplars: none */

#endif
