/* Unit tests: the generic depth-first walk (views/dirwalk.c) over a fake
 * in-memory file system: paths, dot-skip, VT_WALK_SKIP, stop values,
 * errors reported and walked past, the depth limit (VT_WALK_TOO_DEEP). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "views/dirwalk.h"

/* The tree: node i has children[i] (indexes, -1 ended); names[i]. */
struct node {
	const char *name;
	enum vt_ftype type;
	int kids[6];
};

/* 0 "/", 1 a/, 2 a/x, 3 b -> a, 4 ., 5 .., 6 bad (stat fails), 7 deep/ */
static const struct node tree[] = {
    {"/", VF_DIR, {1, 3, 4, 5, 6, 7}},
    {"a", VF_DIR, {2, -1}},
    {"x", VF_REG, {-1}},
    {"b", VF_LNK, {-1}},
    {".", VF_DIR, {-1}},
    {"..", VF_DIR, {-1}},
    {"bad", VF_REG, {-1}},
    {"deep", VF_DIR, {7, -1}}, /* contains itself: only the depth limit stops it */
};

struct level {
	int node, next;
};

struct fake {
	int last; /* node handed out by next_entry or start */
};

static int f_start(void *fs, const char *path, size_t len, void **parent, const char **name)
{
	struct fake *f = fs;
	*parent = NULL;
	*name = path;
	if (len == 1) {
		f->last = 0;
		return 0;
	}
	if (!strcmp(path, "/a")) {
		f->last = 1;
		*name = path + 1;
		return 0;
	}
	return -ENOENT;
}

static int f_next(void *fs, void *l, const char **name, size_t *n)
{
	struct fake *f = fs;
	struct level *lv = l;
	if (lv->next >= 6)
		return 0;
	int k = tree[lv->node].kids[lv->next++];
	if (k < 0)
		return 0;
	f->last = k;
	*name = tree[k].name;
	*n = strlen(tree[k].name);
	return 1;
}

static int f_stat(void *fs, void *parent, const char *name, struct vt_stat *st, void **priv)
{
	struct fake *f = fs;
	if (f->last == 6)
		return -EIO;
	memset(st, 0, sizeof(*st));
	st->type = tree[f->last].type;
	*priv = (void *)&tree[f->last];
	return 0;
}

static ssize_t f_readlink(void *fs, void *parent, const char *name, char *dst, size_t cap)
{
	snprintf(dst, cap, "a");
	return 1;
}

static int f_enter(void *fs, void *parent, const char *name, void *l, int depth)
{
	struct fake *f = fs;
	struct level *lv = l;
	lv->node = f->last;
	lv->next = 0;
	return 0;
}

static void f_leave(void *fs, void *l) {}

static const struct dirwalk_ops fake_ops = {
    .level_size = sizeof(struct level),
    .start = f_start,
    .next_entry = f_next,
    .stat = f_stat,
    .readlink = f_readlink,
    .enter = f_enter,
    .leave = f_leave,
};

struct seen {
	char text[4096];
	int errors, eloop, stop_at;
	int n;
};

static int on_entry(void *ctx, const struct vt_walk_entry *e)
{
	struct seen *s = ctx;
	char one[300];
	snprintf(one, sizeof(one), "%s%s%s@%d;", e->path, e->link ? "->" : "",
	         e->link ? e->link : "", e->depth);
	if (strlen(s->text) + strlen(one) < sizeof(s->text) && e->depth < 3)
		strcat(s->text, one);
	s->n++;
	if (s->stop_at && s->n == s->stop_at)
		return 7;
	return 0;
}

static void on_error(void *ctx, const char *path, int err)
{
	struct seen *s = ctx;
	s->errors++;
	if (err == VT_WALK_TOO_DEEP)
		s->eloop++;
	else
		assert_string_equal(path, "/bad");
}

static const struct vt_walk_ops wops = {.entry = on_entry, .error = on_error};

static void whole_tree(void **state)
{
	struct fake f = {0};
	struct seen s = {0};
	assert_int_equal(dirwalk(&fake_ops, &f, 5, "/", &wops, &s), 0);
	assert_string_equal(s.text, "/@0;/a@1;/a/x@2;/b->a@1;/deep@1;/deep/deep@2;");
	assert_int_equal(s.eloop, 1); /* /deep/deep/deep/deep/deep not entered */
	assert_int_equal(s.errors, 2);
	assert_int_equal(s.n, 9);
}

static void sub_root_and_stop(void **state)
{
	struct fake f = {0};
	struct seen s = {0};
	assert_int_equal(dirwalk(&fake_ops, &f, 5, "//a/", &wops, &s), 0);
	assert_string_equal(s.text, "/a@0;/a/x@1;");
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	assert_int_equal(dirwalk(&fake_ops, &f, 5, "/", &wops, &s), 7);
	assert_int_equal(s.n, 2);
	memset(&s, 0, sizeof(s));
	assert_int_equal(dirwalk(&fake_ops, &f, 5, "/nope", &wops, &s), -ENOENT);
	assert_int_equal(dirwalk(&fake_ops, &f, 5, NULL, &wops, &s), -EINVAL);
}

static int skip_dirs(void *ctx, const struct vt_walk_entry *e)
{
	on_entry(ctx, e);
	return e->st.type == VF_DIR && e->depth == 1 ? VT_WALK_SKIP : 0;
}

static void skip_subtree(void **state)
{
	struct fake f = {0};
	struct seen s = {0};
	struct vt_walk_ops o = {.entry = skip_dirs, .error = on_error};
	assert_int_equal(dirwalk(&fake_ops, &f, 5, "/", &o, &s), 0);
	assert_string_equal(s.text, "/@0;/a@1;/b->a@1;/deep@1;");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(whole_tree),
	    cmocka_unit_test(sub_root_and_stop),
	    cmocka_unit_test(skip_subtree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
