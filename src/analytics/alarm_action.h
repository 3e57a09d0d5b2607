/*
 * alarm_action.h - what happens on an alarm's state change: an HTTP
 * webhook (the JSON body Alertmanager's webhook receivers accept, version
 * "4"), a push to an Alertmanager's /api/v2/alerts, a command run with the
 * alarm as JSON on its stdin, and the log.  Deliveries run on the actions'
 * own thread (libcurl), with retries and exponential backoff; each attempt's
 * outcome goes to a callback (the engine writes it to the history: the
 * notification log).  alarm_actions_send() never blocks on the network.
 */
#ifndef VANTAGE_ALARM_ACTION_H
#define VANTAGE_ALARM_ACTION_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/buf.h"
#include "alarm.h"

/* One state change to announce (copied by alarm_actions_send). */
struct alarm_notice {
	const struct alarm_def *d;
	const char *system_id, *system_name;
	const char *labels; /* the series' labels, JSON object */
	enum alarm_state from, to;
	const char *reason;
	const char *data; /* JSON (alarm_result.data) */
	int64_t time_ms;  /* of the change */
	int64_t since_ms; /* when the current ALARM began (startsAt) */
};

/* One delivery attempt. */
struct alarm_outcome {
	const char *alarm, *system_id;
	const char *action; /* "webhook", "alertmanager", "command" */
	const char *target; /* URL or command */
	int attempt;        /* 1, 2, ... */
	bool ok;
	bool final;        /* no more attempts for this notice */
	long status;       /* HTTP status, or the command's exit status; 0 when none */
	const char *error; /* what failed, or NULL */
	int64_t time_ms;
};

struct alarm_actions;

int alarm_actions_start(struct alarm_actions **out,
                        void (*outcome)(void *ctx, const struct alarm_outcome *o), void *ctx);
/* Stop: waits at most a few seconds for deliveries in flight. */
void alarm_actions_stop(struct alarm_actions *a);
/* Queue every action of n->d for n (bounded queue: when full the oldest
 * waiting delivery is dropped and reported as a failed final outcome). */
void alarm_actions_send(struct alarm_actions *a, const struct alarm_notice *n);

/* The bodies (pure; unit-tested): Alertmanager webhook v4, and the
 * /api/v2/alerts array. */
void alarm_webhook_body(const struct alarm_notice *n, struct buf *out);
void alarm_alertmanager_body(const struct alarm_notice *n, struct buf *out);

#endif
