/*
 * alarm_action_tool - queue alarm notices through alarm_actions_send() and
 * print every delivery attempt's outcome, one JSON line each, for
 * tests/integration/alarm_actions.sh.
 *
 *   alarm_action_tool [--name N] [--system ID] [--system-name S]
 *       [--labels JSON] [--severity S] [--period-ms MS] [--webhook URL]
 *       [--alertmanager URL] [--command CMD] [--timeout S]
 *       --send FROM:TO [--send FROM:TO ...]
 *
 * Each --send (states OK, ALARM, INSUFFICIENT_DATA) is queued once the
 * previous one's deliveries are all final; exit 0 when every delivery
 * ended, 1 when --timeout (default 60 s) passed first.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analytics/alarm_action.h"
#include "util/json.h"
#include "util/log.h"
#include "util/util.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int finals;

static void on_outcome(void *ctx, const struct alarm_outcome *o)
{
	struct buf b = BUF_INIT;
	struct json j;
	jw_init(&j, &b);
	jw_obj_begin(&j, NULL);
	jw_str(&j, "alarm", o->alarm);
	jw_str(&j, "system", o->system_id);
	jw_str(&j, "action", o->action);
	jw_str(&j, "target", o->target);
	jw_int(&j, "attempt", o->attempt);
	jw_bool(&j, "ok", o->ok);
	jw_bool(&j, "final", o->final);
	jw_int(&j, "status", o->status);
	jw_str(&j, "error", o->error);
	jw_int(&j, "time_ms", o->time_ms);
	jw_int(&j, "mono_ms", mono_ns() / 1000000);
	jw_obj_end(&j);
	pthread_mutex_lock(&lock);
	printf("%s\n", buf_str(&b));
	fflush(stdout);
	finals += o->final;
	pthread_mutex_unlock(&lock);
	buf_free(&b);
}

static int state_of(const char *s, size_t n)
{
	if (n == 2 && strncmp(s, "OK", 2) == 0)
		return ALARM_STATE_OK;
	if (n == 5 && strncmp(s, "ALARM", 5) == 0)
		return ALARM_STATE_ALARM;
	if (n == 17 && strncmp(s, "INSUFFICIENT_DATA", 17) == 0)
		return ALARM_STATE_INSUFFICIENT;
	return -1;
}

int main(int argc, char **argv)
{
	struct alarm_def d;
	memset(&d, 0, sizeof(d));
	d.name = "test-alarm";
	d.period_ms = 10000;
	const char *system = "c1", *sname = "web", *labels = "{}";
	const char *sends[16];
	int nsend = 0;
	double timeout = 60;
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (!strcmp(k, "--name"))
			d.name = (char *)v;
		else if (!strcmp(k, "--system"))
			system = v;
		else if (!strcmp(k, "--system-name"))
			sname = v;
		else if (!strcmp(k, "--labels"))
			labels = v;
		else if (!strcmp(k, "--severity"))
			d.severity = (char *)v;
		else if (!strcmp(k, "--period-ms"))
			d.period_ms = atoll(v);
		else if (!strcmp(k, "--webhook"))
			d.webhook = (char *)v;
		else if (!strcmp(k, "--alertmanager"))
			d.alertmanager = (char *)v;
		else if (!strcmp(k, "--command"))
			d.command = (char *)v;
		else if (!strcmp(k, "--timeout"))
			timeout = atof(v);
		else if (!strcmp(k, "--send") && nsend < 16)
			sends[nsend++] = v;
		else {
			fprintf(stderr, "alarm_action_tool: unknown option %s\n", k);
			return 2;
		}
	}
	log_threshold = LOG_INFO; /* the change's line, the command's output */
	struct alarm_actions *a;
	if (alarm_actions_start(&a, on_outcome, NULL) < 0)
		return 1;
	int64_t deadline = mono_ns() + (int64_t)(timeout * 1e9);
	int want = 0, rc = 0;
	int64_t since = 0;
	for (int s = 0; s < nsend && !rc; s++) {
		const char *colon = strchr(sends[s], ':');
		int from = colon ? state_of(sends[s], (size_t)(colon - sends[s])) : -1;
		int to = colon ? state_of(colon + 1, strlen(colon + 1)) : -1;
		if (from < 0 || to < 0) {
			fprintf(stderr, "alarm_action_tool: --send FROM:TO, not %s\n", sends[s]);
			rc = 2;
			break;
		}
		int64_t now = now_ns() / 1000000;
		if (to == ALARM_STATE_ALARM)
			since = now;
		struct alarm_notice n = {
		    .d = &d,
		    .system_id = system,
		    .system_name = sname,
		    .labels = labels,
		    .from = (enum alarm_state)from,
		    .to = (enum alarm_state)to,
		    .reason = "test: 3 of 3 points > 80 (\"quoted\")",
		    .data = "{\"recentDatapoints\":[81,90,85]}",
		    .time_ms = now,
		    .since_ms = since ? since : now,
		};
		want += (d.webhook != NULL) + (d.command != NULL) +
		        (d.alertmanager && (to == ALARM_STATE_ALARM || from == ALARM_STATE_ALARM));
		alarm_actions_send(a, &n);
		for (;;) {
			pthread_mutex_lock(&lock);
			int got = finals;
			pthread_mutex_unlock(&lock);
			if (got >= want)
				break;
			if (mono_ns() > deadline) {
				fprintf(stderr,
				        "alarm_action_tool: %d of %d deliveries ended in time\n",
				        got, want);
				rc = 1;
				break;
			}
			usleep(20000);
		}
	}
	alarm_actions_stop(a);
	return rc;
}
