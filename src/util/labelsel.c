/*
 * labelsel.c - a series name with label matchers, parsed and matched
 * against a label object (labelsel.h).
 */
#include "labelsel.h"

#include <errno.h>
#include <string.h>

#include "jscan.h"

int label_sel_parse(const char *m, struct label_sel *sel)
{
	memset(sel, 0, sizeof(*sel));
	const char *brace = strchr(m, '{');
	size_t nl = brace ? (size_t)(brace - m) : strlen(m);
	if (nl == 0 || nl >= sizeof(sel->name))
		return -EINVAL;
	memcpy(sel->name, m, nl);
	if (!brace)
		return 0;
	const char *p = brace + 1;
	struct buf tmp = BUF_INIT;
	while (*p && *p != '}') {
		if (sel->n >= LABEL_SEL_MAX)
			goto bad;
		const char *k = p;
		while (*p && *p != '=' && *p != ',' && *p != '}')
			p++;
		if (*p != '=' || p == k)
			goto bad;
		js_escape_raw(&sel->k[sel->n], k, (size_t)(p - k));
		p++;
		buf_reset(&tmp);
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				buf_addc(&tmp, *p);
			}
			if (*p != '"')
				goto bad;
			p++;
		} else {
			while (*p && *p != ',' && *p != '}')
				buf_addc(&tmp, *p++);
		}
		js_escape_raw(&sel->v[sel->n], tmp.data ? tmp.data : "", tmp.len);
		sel->n++;
		if (*p == ',')
			p++;
	}
	buf_free(&tmp);
	if (*p != '}' || p[1])
		return -EINVAL;
	return 0;
bad:
	buf_free(&tmp);
	return -EINVAL;
}

void label_sel_free(struct label_sel *sel)
{
	for (int i = 0; i < LABEL_SEL_MAX; i++) {
		buf_free(&sel->k[i]);
		buf_free(&sel->v[i]);
	}
}

bool label_sel_match(const struct label_sel *sel, const char *labels)
{
	for (int i = 0; i < sel->n; i++) {
		struct js_iter it;
		struct js_span n, v, c, all = {labels, strlen(labels)};
		bool hit = false;
		if (js_iter_begin(&it, all, 0) == 0)
			while (!hit && js_obj_next(&it, &n, &v) == 1)
				hit = n.n == sel->k[i].len &&
				      memcmp(n.p, sel->k[i].data, n.n) == 0 && js_str(v, &c) &&
				      c.n == sel->v[i].len && memcmp(c.p, sel->v[i].data, c.n) == 0;
		if (!hit)
			return false;
	}
	return true;
}
