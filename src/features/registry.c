/*
 * registry.c - the table of features.  Adding a feature: write
 * features/<name>.c ending in `const struct feature feature_<name>` (with
 * its interval, lane and options: see feature.h), and list it here.  The
 * order is the order of a crawl (and of `--help`).
 */
#include <string.h>

#include "feature.h"

extern const struct feature feature_os, feature_process, feature_connection, feature_module,
    feature_package, feature_config, feature_file, feature_metric, feature_interface,
    feature_library;

const struct feature *const feature_table[] = {
    &feature_os,     &feature_process, &feature_connection, &feature_module,    &feature_package,
    &feature_config, &feature_file,    &feature_metric,     &feature_interface, &feature_library,
};
const size_t feature_count = sizeof(feature_table) / sizeof(feature_table[0]);

const struct feature *feature_find(const char *name)
{
	for (size_t i = 0; i < feature_count; i++)
		if (strcmp(feature_table[i]->name, name) == 0)
			return feature_table[i];
	return NULL;
}

static void iter_error(void *ctx, const char *what, int err)
{
	struct crawl_ctx *c = ctx;
	frame_error(c->frame, err, "%s", what);
}

static void iter_source(void *ctx, const char *source)
{
	struct crawl_ctx *c = ctx;
	frame_source(c->frame, source);
}

struct view_iter feature_iter(struct crawl_ctx *c)
{
	return (struct view_iter){.ctx = c, .error = iter_error, .source = iter_source};
}

int feature_index(const struct feature *f)
{
	for (size_t i = 0; i < feature_count; i++)
		if (feature_table[i] == f)
			return (int)i;
	return -1;
}
