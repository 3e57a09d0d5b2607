/*
 * tmpstore.c - a temporary directory with a store in it, and metric
 * frames to fill it, for the unit tests of the store and of the alarms
 * that read it (tmpstore.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "tmpstore.h"
#include "util/buf.h"
#include "util/timefmt.h"

char dir[64];
char path[128];

int tmpstore_setup(void **state)
{
	strcpy(dir, "/tmp/vantage-unit.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/v.db", dir);
	return 0;
}

int tmpstore_teardown(void **state)
{
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

void tmpstore_url(char *url, size_t cap)
{
	const char *tmpl = getenv("VANTAGE_TEST_STORE_URL");
	if (!tmpl || !*tmpl)
		tmpl = "sqlite:%s/db";
	const char *pct = strstr(tmpl, "%s");
	char schema[64] = "";
	if (strstr(tmpl, "://") && strncmp(tmpl, "sqlite:", 7) != 0) {
		static unsigned seq;
		snprintf(schema, sizeof(schema), "t_%s_%u_%d", strrchr(dir, '.') + 1, seq++,
		         (int)getpid());
		for (char *c = schema; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
			else if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
				*c = '_';
	}
	if (pct)
		snprintf(url, cap, "%.*s%s%s", (int)(pct - tmpl), tmpl, *schema ? schema : dir,
		         pct + 2);
	else
		snprintf(url, cap, "%s", tmpl);
}

struct store *tmpstore_open(enum store_mode mode)
{
	struct store *s = NULL;
	int r = store_open(path, mode, &s);
	if (r < 0)
		fprintf(stderr, "open: %s\n", store_errmsg(NULL));
	assert_int_equal(r, 0);
	return s;
}

void tmpstore_put_metrics(struct store *s, const char *sid, const char *image, int64_t t,
                          double mem, double cpu)
{
	char iso[40];
	struct buf b = BUF_INIT;
	format_time_utc(t * 1000000, iso, sizeof(iso));
	buf_printf(&b,
	           "{\"system\":\"%s\",\"time\":\"%s\",\"feature\":\"frame\",\"key\":\"%s\","
	           "\"value\":{\"id\":\"%s\",\"name\":\"%s\",\"kind\":\"container\",\"runtime\":"
	           "\"podman\",\"image\":\"%s\",\"labels\":{\"app\":\"web\"},\"host\":\"box\","
	           "\"time\":\"%s\",\"features\":[\"metric\"],\"duration_ms\":1,\"records\":2,"
	           "\"errors\":{},\"feature_ms\":{\"metric\":1}}}\n",
	           sid, iso, sid, sid, sid + 10, image, iso);
	buf_printf(&b,
	           "{\"system\":\"%s\",\"time\":\"%s\",\"feature\":\"metric\",\"key\":\"memory\","
	           "\"value\":{\"used_pct\":%g}}\n",
	           sid, iso, mem);
	buf_printf(&b,
	           "{\"system\":\"%s\",\"time\":\"%s\",\"feature\":\"metric\",\"key\":\"cpu\","
	           "\"value\":{\"used_pct\":%g}}\n",
	           sid, iso, cpu);
	int64_t id;
	int r = store_put_frame(s, b.data, b.len, &id);
	if (r < 0)
		fprintf(stderr, "put_frame: %s\n", store_errmsg(s));
	assert_int_equal(r, 0);
	buf_free(&b);
}
