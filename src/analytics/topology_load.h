/*
 * topology_load.h - where the topology's input comes from: the store (the
 * state of every system at a time) or frames `vantage crawl` wrote (the
 * live mode crawls twice and loads both).  See topology_load.c.
 */
#ifndef VANTAGE_TOPOLOGY_LOAD_H
#define VANTAGE_TOPOLOGY_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "topology.h"

struct store;

/* A system marked gone whose last connection frame is older than this
 * before the time asked is not in the graph at that time. */
#define TOPO_STALE_MS (15 * 60 * 1000)

/* Every system with connection records at at_ms (0: the present systems,
 * latest frames) into `in`.  0, or a negative errno with `err` set. */
int topo_load_store(struct store *st, int64_t at_ms, struct topo_input *in, char *err,
                    size_t errlen);

/* The frames of a JSON Lines text (several systems; a later frame of a
 * system replaces its sockets) into `in`.  0, or -EINVAL naming the line
 * that is not a record. */
int topo_load_frames(const char *text, size_t n, struct topo_input *in, char *err, size_t errlen);

/* The rates of cur's sockets against prev's systems of the same ids. */
void topo_set_prev_input(struct topo_input *cur, const struct topo_input *prev);

#endif
