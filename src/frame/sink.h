/*
 * sink.h - the interface frames are written to (implementations: src/sinks/,
 * opened by URL through sinks/sinks.h).
 *
 * A sink receives whole frames.  frame_end() (frame.c) delivers one frame
 * as one uninterrupted sequence of calls on one thread:
 *
 *     begin_frame(info)        the frame starts: who, when, which format
 *     write / write_fd ...     its bytes: the header line, then the records
 *     end_frame(summary)       the frame is complete: its counts
 *     flush                    make what was delivered durable
 *
 * so a sink never has to parse the bytes to find where a frame ends or what
 * it holds: the summary carries the system, the time, the format, the
 * number of records and the errors (in total and per feature).  Once
 * begin_frame succeeded, end_frame is always called, even when a write
 * failed (summary->write_err says so: the sink drops the partial frame).
 * When begin_frame fails, nothing more of that frame reaches the sink.
 * Frames of one sink never interleave: callers that share a sink between
 * threads serialize frame_end() (or use a locked tee, sinks/sinks.h).
 *
 * Each sink is one file ending in a `const struct sink_ops`; the core only
 * calls through the ops.  begin_frame, end_frame, write_fd and flush are
 * optional (NULL: nothing to do; write_fd falls back to write()).
 * Errors are negative errno values.
 */
#ifndef VANTAGE_SINK_H
#define VANTAGE_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "../targets/system.h"

/* The wire format of a frame (frame.h describes both). */
enum frame_format { FRAME_JSON, FRAME_CRAWLER };

struct sink;
struct sflow_flow;

/* What is known when a frame starts. */
struct frame_info {
	const struct system_id *sys;
	int64_t time_ns;  /* the frame's time, ns since the epoch */
	const char *time; /* the same as written in the frame (UTC, ISO 8601) */
	enum frame_format fmt;
	int nfeatures; /* the features that ran, in order */
	const char *const *features;
};

/* The counts of one feature in a frame. */
struct frame_feature_summary {
	const char *name; /* a feature, or "frame": the system as a whole */
	uint64_t records, errors, skipped;
	double ms;              /* time the feature took */
	const char *const *msg; /* its error and skip messages (the header's), in order */
	int nmsg;
};

/* What a frame held, given at its end. */
struct frame_summary {
	const struct system_id *sys; /* sys->id is the system id */
	int64_t time_ns;
	const char *time;
	enum frame_format fmt;
	uint64_t records; /* records in the frame, the header not counted */
	uint64_t errors;  /* errors of all features (the header's "errors") */
	uint64_t skipped; /* items skipped, all features */
	double duration_ms;
	size_t bytes;  /* bytes of the frame written to the sink */
	int nfeatures; /* entries of feature[]: each feature of the frame,
	                * then "frame" if errors counted outside any feature */
	const struct frame_feature_summary *feature;
	int write_err; /* 0, or this sink's first failed write (the frame
	                * is incomplete: drop it) */
	int spool_err; /* 0, or the error that kept records in memory */
};

struct sink_ops {
	const char *name;
	/* A frame starts.  Optional. */
	int (*begin_frame)(struct sink *s, const struct frame_info *info);
	/* Write all of [data, data+len). Returns 0 or a negative errno. */
	int (*write)(struct sink *s, const void *data, size_t len);
	/* Copy `len` bytes from file descriptor `fd` at offset 0.  Optional. */
	int (*write_fd)(struct sink *s, int fd, size_t len);
	/* The frame begun last is complete (or, with write_err, broken).  A
	 * sink that delivers frames whole delivers it here and returns the
	 * result.  Optional. */
	int (*end_frame)(struct sink *s, const struct frame_summary *sum);
	/* Sampled packets (struct sflow_flow of sflow.h), for the sinks that
	 * carry them (sFlow).  Optional: NULL ignores them.  Called between
	 * frames, never inside one. */
	int (*flows)(struct sink *s, const struct sflow_flow *f, size_t n);
	/* Make what was delivered durable.  Optional. */
	int (*flush)(struct sink *s);
	void (*close)(struct sink *s);
};

struct sink {
	const struct sink_ops *ops;
	char desc[256]; /* for messages: "stdout", the path ... */
};

int sink_begin_frame(struct sink *s, const struct frame_info *info);
int sink_write(struct sink *s, const void *data, size_t len);
int sink_write_fd(struct sink *s, int fd, size_t len);
/* Write bytes [from, len) of `fd` through the sink's write() (pread, so
 * the fd's offset is untouched): the generic way, and any write_fd's fallback. */
int sink_copy_fd(struct sink *s, int fd, size_t from, size_t len);
int sink_end_frame(struct sink *s, const struct frame_summary *sum);
int sink_flush(struct sink *s);
/* Hand sampled packets to the sink (0 when it takes none). */
int sink_flows(struct sink *s, const struct sflow_flow *f, size_t n);
/* Close and free the sink; NULL is allowed. */
void sink_close(struct sink *s);

#endif
