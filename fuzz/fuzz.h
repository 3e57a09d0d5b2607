/*
 * fuzz.h - what every harness of fuzz/ shares.
 *
 * A harness is fuzz/fuzz_NAME.c defining LLVMFuzzerTestOneInput() (and,
 * optionally, LLVMFuzzerInitialize()).  It is built twice:
 *
 *   build/fuzz/fuzz_NAME     clang, libFuzzer, ASan+UBSan (`make fuzz`,
 *                            scripts/fuzz): explores for a set time
 *   build/fuzzreg/fuzz_NAME  gcc, ASan+UBSan, fuzz/driver.c as main
 *                            (`make unit`, run by tests/run): replays the
 *                            seed corpus fuzz/corpus/NAME/ and every input
 *                            that once failed, fuzz/regress/NAME/
 *
 * A harness must not keep state between inputs (beyond caches set up once),
 * must free what it allocates (leaks are findings), must not write outside
 * the temporary directory fuzz_tmpdir() gives, and must finish an input in
 * well under a second.
 *
 * Several parsers of one family may share a harness: fuzz_pick() takes the
 * input's first byte to choose one, so a seed file starts with the byte of
 * its parser (the corpus README of each harness lists them).
 */
#ifndef VANTAGE_FUZZ_H
#define VANTAGE_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "frame/sink.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* The first byte of the input modulo `n` (0 for an empty input); *data and
 * *size are advanced past it. */
static inline unsigned fuzz_pick(const uint8_t **data, size_t *size, unsigned n)
{
	unsigned k = 0;
	if (*size > 0) {
		k = (*data)[0] % n;
		(*data)++;
		(*size)--;
	}
	return k;
}

/* An exact-size heap copy of the input, so that a read past its end is an
 * ASan report (free() it; an empty input gets one byte, set to 0). */
void *fuzz_copy(const uint8_t *data, size_t size);

/* A sink that keeps what is written to it in `b` (buf_free() it):
 *	struct fuzz_sink s = FUZZ_SINK_INIT;  ... use &s.base ... */
struct fuzz_sink {
	struct sink base;
	struct buf b;
};
extern const struct sink_ops fuzz_sink_ops;
#define FUZZ_SINK_INIT                                                                             \
	{                                                                                          \
		.base = {.ops = &fuzz_sink_ops, .desc = "memory"}, .b = BUF_INIT                   \
	}

/* A NUL-terminated heap copy of the input (free() it). */
char *fuzz_strdup(const uint8_t *data, size_t size);

/* A private temporary directory, made once per process and removed at exit
 * (the harness may write files into it). */
const char *fuzz_tmpdir(void);

/* Writes `size` bytes to fuzz_tmpdir()/NAME (truncating it) and returns the
 * full path in a static buffer, or NULL on a write error. */
const char *fuzz_file(const char *name, const uint8_t *data, size_t size);

#endif
