/* alarm_math.c - metric math (alarm_math.h); placeholder until the parser lands. */
#include "alarm_math.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct math_expr {
	int unused;
};

int math_parse(const char *text, struct math_expr **out, char *err, size_t errlen)
{
	if (!text || !*text) {
		snprintf(err, errlen, "position 1: empty expression");
		return -EINVAL;
	}
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void math_free(struct math_expr *e)
{
	free(e);
}

size_t math_refs(const struct math_expr *e, const struct math_ref **refs)
{
	*refs = NULL;
	return 0;
}

int math_eval(const struct math_expr *e, const struct math_input *in, size_t nslots,
              int64_t step_ms, double *out, char *err, size_t errlen)
{
	snprintf(err, errlen, "metric math is not implemented yet");
	return -EINVAL;
}
