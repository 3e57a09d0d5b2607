/* store.c - placeholder until the store sink lands. */
#include <errno.h>
#include "sink.h"
int sink_store_open(struct store *st, struct sink **out) { return -ENOTSUP; }
int sink_store_pending(struct sink *s) { return 0; }
