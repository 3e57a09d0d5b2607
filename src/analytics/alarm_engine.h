/*
 * alarm_engine.h - the daemon's alarms: their definitions (the config
 * file's [alarm NAME] sections and those made through the API, kept in the
 * store as objects of kind "alarm"), one state per alarm and system,
 * evaluation when a period closes, actions on every state change
 * (alarm_action.h), history in the store's event log, silences and
 * acknowledgements with an expiry.
 *
 * The engine runs its own thread with its own store handle; every call
 * below is thread-safe (the API's threads call them).  Current states are
 * mirrored into the store (objects of kind "alarm_state", one per alarm
 * and system) so that `vantage alarms` and `vantage api` read them without
 * the daemon.
 */
#ifndef VANTAGE_ALARM_ENGINE_H
#define VANTAGE_ALARM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "../store/store.h"
#include "../util/buf.h"
#include "alarm.h"

struct alarm_engine;

/* Start the engine's thread on the store at store_url.  0 or a negative
 * errno with err. */
int alarm_engine_start(const char *store_url, struct alarm_engine **out, char *err, size_t errlen);
void alarm_engine_stop(struct alarm_engine *e);

/* The config file's alarms (at start and on SIGHUP): replaces the previous
 * file set; a change of a definition is a "config" history event. */
int alarm_engine_set_file_alarms(struct alarm_engine *e, const struct alarm_def *defs, size_t n);

/* The daemon stored a tick's frames (data up to now_ms is in the store):
 * alarms whose period closed are evaluated without waiting for a timer. */
void alarm_engine_notify(struct alarm_engine *e, int64_t now_ms);

/* The API: create or replace (-EPERM when the name is a config file's
 * alarm), delete (-ENOENT), list definitions with their states as JSON. */
int alarm_engine_put(struct alarm_engine *e, const struct alarm_def *d, char *err, size_t errlen);
int alarm_engine_delete(struct alarm_engine *e, const char *name);
int alarm_engine_json(struct alarm_engine *e, const char *name, struct buf *out); /* NULL: all */

/* Silence an alarm's actions (name; system NULL: every system) until
 * until_ms; acknowledge a state (a drift alarm returns to OK; a metric
 * alarm's actions are muted until it leaves ALARM or until_ms). */
int alarm_engine_silence(struct alarm_engine *e, const char *name, const char *system,
                         int64_t until_ms, const char *comment, char *err, size_t errlen);
int alarm_engine_ack(struct alarm_engine *e, const char *name, const char *system, int64_t until_ms,
                     const char *comment, char *err, size_t errlen);

/* For /metrics: one call per alarm and system with its current state. */
void alarm_engine_states(struct alarm_engine *e,
                         void (*cb)(void *ctx, const char *alarm, const char *system_id,
                                    const char *system_name, enum alarm_state st),
                         void *ctx);

/* ---- without an engine: what the daemon keeps in the store ---------------------- */

/* The alarms (name NULL: all; -ENOENT for an unknown name) with their
 * states and silences as the daemon last mirrored them, the same JSON as
 * alarm_engine_json(): [{"name","source","definition":{...},"states":[
 * {"system","system_name","labels","state","since","reason","gone",
 * "warming"}...],"silences":[{"kind","system","until","comment"}...]}...] */
int alarm_store_json(struct store *s, const char *name, struct buf *out);

/* A saved definition (made through the API or read from the daemon's
 * config file), as the daemon keeps it.  0, -ENOENT, or another negative
 * errno with err.  *d is set in every case (the defaults on an error;
 * alarm_def_free() it), whatever it held before is not freed. */
int alarm_store_def(struct store *s, const char *name, struct alarm_def *d, char *err,
                    size_t errlen);

/* The history (store_events of kind "alarm") as a JSON array, newest
 * first: [{"id","time","alarm","system","type","summary","data"}...]. */
int alarm_history_json(struct store *s, const struct store_event_filter *f, struct buf *out);

#endif
