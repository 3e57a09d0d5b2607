/*
 * busmsg.h - one message of frames on a bus (Kafka): an envelope line, then
 * a part of a frame's body.  Shared by the Kafka sink (which writes them)
 * and `vantage ingest` (which reads them); docs/scale.md shows the wire.
 *
 * A message is
 *     {"vantage":1,"type":"full"|"delta","fmt":"jsonl"|"crawler",
 *      "system":ID,"chain":FEATURES,"seq":N,"part":I,"parts":P,"len":L,
 *      "hash":H[,"base":B]}\n
 *     bytes of the body
 * A body (a full frame's text, or a delta body, delta.h) larger than a
 * message allows is cut into P parts sent in order with the same key (the
 * system id), part I of P (from 1); L is the whole body's length, so the
 * consumer knows when a frame is whole and that nothing is missing.  The
 * chain names the frames deltas are taken between: a system's frames with
 * the same features (the daemon sends metric frames and state frames of a
 * system; each is its own chain).  seq counts the producer's frames of a
 * chain; hash is the record set of the frame (delta.h), base that of the
 * frame a delta applies to.  "vantage" is the format's version: a reader
 * refuses a version above its own (BUSMSG_VERSION).
 */
#ifndef VANTAGE_FRAME_BUSMSG_H
#define VANTAGE_FRAME_BUSMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/buf.h"
#include "delta.h"
#include "sink.h"

#define BUSMSG_VERSION 1
#define BUSMSG_MAX_ID 512     /* bytes of a system id at most */
#define BUSMSG_MAX_CHAIN 1024 /* bytes of a chain name at most */
#define BUSMSG_MAX_PARTS 100000

struct busmsg {
	int version;
	bool delta;
	enum frame_format fmt;
	char system[BUSMSG_MAX_ID];
	char chain[BUSMSG_MAX_CHAIN];
	uint64_t seq;
	uint32_t part, parts;
	uint64_t len;
	char hash[DELTA_HASH_LEN + 1];
	char base[DELTA_HASH_LEN + 1]; /* empty for a full frame */
};

/* Append the envelope line (with its newline). */
void busmsg_write(struct buf *out, const struct busmsg *m);

/*
 * Read the envelope at the start of the message [p, p+len): 0, *m and
 * *body (the offset of the body part); -EINVAL with err set for a message
 * that is not one (no line, not JSON, a field missing or out of range);
 * -EPROTONOSUPPORT for a version above BUSMSG_VERSION (m->version set).
 */
int busmsg_parse(const char *p, size_t len, struct busmsg *m, size_t *body, char *err,
                 size_t errlen);

#endif
