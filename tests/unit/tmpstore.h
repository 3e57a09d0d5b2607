/*
 * tmpstore.h - what the store-backed unit tests share: a temporary
 * directory `dir` made by tmpstore_setup() and removed by
 * tmpstore_teardown() (cmocka group or test fixtures), a store file
 * `path` in it, opening it read-write, and a container's metric frame.
 */
#ifndef VANTAGE_TEST_TMPSTORE_H
#define VANTAGE_TEST_TMPSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

extern char dir[64];   /* the temporary directory */
extern char path[128]; /* dir/v.db */

int tmpstore_setup(void **state);
int tmpstore_teardown(void **state);
/* The store URL of a test in url: VANTAGE_TEST_STORE_URL with its "%s"
 * replaced (by a fresh PostgreSQL schema name made from dir, or by dir for
 * a file), else "sqlite:DIR/db".  Call after tmpstore_setup(). */
void tmpstore_url(char *url, size_t cap);
/* store_open(path, mode), asserted to succeed. */
struct store *tmpstore_open(enum store_mode mode);
/* A metric frame of container `sid` (its name is sid + 10) of `image` at
 * t (ms) with memory.used_pct = mem and cpu.used_pct = cpu, labels
 * {"app":"web"}, host "box", runtime podman. */
void tmpstore_put_metrics(struct store *s, const char *sid, const char *image, int64_t t,
                          double mem, double cpu);

#endif
