/* connection.c - placeholder until the feature lands. */
#include <errno.h>
#include "feature.h"
static int crawl(struct crawl_ctx *c) { (void)c; return -ENOTSUP; }
const struct feature feature_connection = { .name = "connection", .description = "(not yet)", .crawl = crawl };
