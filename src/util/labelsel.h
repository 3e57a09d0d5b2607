/*
 * labelsel.h - a series name with label matchers, as metric references
 * are written everywhere (the store's series queries, alarms' metrics):
 *
 *     disk.used_pct                    the name alone
 *     disk.used_pct{mountpoint="/"}    and labels equal to these values
 *     net.rx_bytes{iface=eth0,dir=in}  (quotes optional without , or })
 *
 * Keys and values are kept JSON-escaped, ready to compare with the label
 * objects the store keeps ({"mountpoint":"/"}).
 */
#ifndef VANTAGE_LABELSEL_H
#define VANTAGE_LABELSEL_H

#include <stdbool.h>

#include "buf.h"

#define LABEL_SEL_MAX 8

struct label_sel {
	char name[128];
	int n; /* matchers */
	struct buf k[LABEL_SEL_MAX], v[LABEL_SEL_MAX];
};

/* Parse `text` into *sel.  0, or -EINVAL for an empty or too long name or
 * a bad matcher list (the name alone is then kept when it fits).  Free
 * with label_sel_free() either way. */
int label_sel_parse(const char *text, struct label_sel *sel);
void label_sel_free(struct label_sel *sel);
/* Does the labels object (JSON) hold every matcher's value? */
bool label_sel_match(const struct label_sel *sel, const char *labels);

#endif
