/*
 * file_sink.h - the file sink's constructor, used by its own scheme and by
 * tests; everything else opens sinks by URL (sink_open("-" or a path),
 * sinks.h).
 */
#ifndef VANTAGE_FILE_SINK_H
#define VANTAGE_FILE_SINK_H

#include "../frame/sink.h"

/*
 * The file sink: `path` NULL or "-" means stdout.  The file is created (or
 * truncated) at open time so an unwritable path fails before any work.
 * Returns 0 or a negative errno.
 */
int sink_file_open(const char *path, struct sink **out);

#endif
