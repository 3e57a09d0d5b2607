/*
 * api_alarms.h - the handlers of the alarm endpoints (api_alarms.c;
 * docs/api.md "Alarms"):
 *
 *   GET    /api/v1/alarms                     every alarm with its states
 *   GET    /api/v1/alarms/history             ?alarm=&system=&type=&since=&until=&limit=
 *   GET    /api/v1/alarms/{name}              one alarm
 *   PUT    /api/v1/alarms/{name}              create or replace (body: a definition)
 *   DELETE /api/v1/alarms/{name}
 *   POST   /api/v1/alarms/{name}/test         ?since=24h&until= a backtest (body: a
 *                                             definition, or none: the saved one)
 *   POST   /api/v1/alarms/{name}/silence      {system, until | for, comment}
 *   POST   /api/v1/alarms/{name}/ack          the same
 */
#ifndef VANTAGE_SERVER_API_ALARMS_H
#define VANTAGE_SERVER_API_ALARMS_H

#include "request.h"

void api_alarms(struct request *r);
void api_alarm_history(struct request *r);
void api_alarm_get(struct request *r);
void api_alarm_put(struct request *r);
void api_alarm_delete(struct request *r);
void api_alarm_test(struct request *r);
void api_alarm_silence(struct request *r);
void api_alarm_ack(struct request *r);

#endif
