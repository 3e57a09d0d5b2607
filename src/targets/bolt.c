/*
 * bolt.c - read-only BoltDB reader (see bolt.h for the format).
 *
 * How: bolt_open() validates the two meta pages and keeps the root bucket
 * page of the newer valid one.  A bucket is either a page id or an inline
 * page; both are turned into a `struct pg` (a bounds-checked view of one
 * page image) before any element is read.  Lookups descend branch pages
 * (keys are sorted; the child of the last element whose key is <= the
 * wanted key), iteration visits every leaf in order.  Depth is bounded by
 * MAX_DEPTH and every walk by a page budget (the number of pages in the
 * file), so a page pointing to itself ends a walk instead of looping.
 */
#include "bolt.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "../util/util.h"

#define PAGE_HDR 16
#define ELEM_SZ 16
#define F_BRANCH 0x01
#define F_LEAF 0x02
#define F_META 0x04
#define BUCKET_FLAG 0x01
#define MAGIC 0xED0CDAEDu
#define MAX_DEPTH 32

static uint16_t rd16(const unsigned char *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return le16toh(v);
}

static uint32_t rd32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return le32toh(v);
}

static uint64_t rd64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return le64toh(v);
}

/* A bounds-checked page image. */
struct pg {
	const unsigned char *p;
	size_t len;
	uint16_t flags, count;
};

static int page_init(const unsigned char *p, size_t len, struct pg *g)
{
	if (len < PAGE_HDR)
		return -EINVAL;
	g->p = p;
	g->len = len;
	g->flags = rd16(p + 8);
	g->count = rd16(p + 10);
	if (!(g->flags & (F_BRANCH | F_LEAF)))
		return -EINVAL;
	if (PAGE_HDR + (size_t)g->count * ELEM_SZ > len)
		return -EINVAL;
	return 0;
}

static int page_at(const struct bolt *b, uint64_t id, struct pg *g)
{
	uint64_t npages = b->len / b->page_size;
	if (id < 2 || id >= npages)
		return -EINVAL;
	size_t off = (size_t)id * b->page_size;
	const unsigned char *p = b->db + off;
	uint64_t ovf = rd32(p + 12);
	if (ovf >= npages - id || rd64(p) != id)
		return -EINVAL;
	return page_init(p, (size_t)(ovf + 1) * b->page_size, g);
}

static int bucket_page(const struct bolt *b, const struct bolt_bucket *bk, struct pg *g)
{
	if (bk->inl)
		return page_init(bk->inl, bk->inl_len, g);
	return page_at(b, bk->root, g);
}

/* Element i of a leaf page. */
static int leaf_elem(const struct pg *g, unsigned i, const unsigned char **k, size_t *kl,
                     const unsigned char **v, size_t *vl, bool *is_bucket)
{
	size_t eoff = PAGE_HDR + (size_t)i * ELEM_SZ;
	const unsigned char *e = g->p + eoff;
	uint32_t fl = rd32(e), pos = rd32(e + 4), ks = rd32(e + 8), vs = rd32(e + 12);
	if ((uint64_t)eoff + pos + ks + vs > g->len)
		return -EINVAL;
	*k = e + pos;
	*kl = ks;
	*v = e + pos + ks;
	*vl = vs;
	*is_bucket = fl & BUCKET_FLAG;
	return 0;
}

/* Element i of a branch page. */
static int branch_elem(const struct pg *g, unsigned i, const unsigned char **k, size_t *kl,
                       uint64_t *child)
{
	size_t eoff = PAGE_HDR + (size_t)i * ELEM_SZ;
	const unsigned char *e = g->p + eoff;
	uint32_t pos = rd32(e), ks = rd32(e + 4);
	if ((uint64_t)eoff + pos + ks > g->len)
		return -EINVAL;
	*k = e + pos;
	*kl = ks;
	*child = rd64(e + 8);
	return 0;
}

static int keycmp(const unsigned char *a, size_t al, const unsigned char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	if (c)
		return c;
	return al < bl ? -1 : al > bl;
}

/* Validate the meta page at `off`; fills page size, root and txid. */
static bool meta_ok(const unsigned char *db, size_t len, size_t off, uint32_t *ps, uint64_t *root,
                    uint64_t *txid)
{
	if (off > len || len - off < PAGE_HDR + 64)
		return false;
	const unsigned char *p = db + off, *m = p + PAGE_HDR;
	if (!(rd16(p + 8) & F_META) || rd32(m) != MAGIC || rd32(m + 4) != 2)
		return false;
	if (fnv1a(FNV1A_BASIS, m, 56) != rd64(m + 56))
		return false;
	uint32_t s = rd32(m + 8);
	if (s < 512 || s > (1u << 20) || (s & (s - 1)))
		return false;
	*ps = s;
	*root = rd64(m + 16);
	*txid = rd64(m + 48);
	return true;
}

int bolt_open(struct bolt *b, const void *db, size_t len)
{
	uint32_t ps0 = 0, ps1 = 0;
	uint64_t r0 = 0, r1 = 0, t0 = 0, t1 = 0;
	memset(b, 0, sizeof(*b));
	if (!db)
		return -EINVAL;
	bool ok0 = meta_ok(db, len, 0, &ps0, &r0, &t0);
	bool ok1 = false;
	static const uint32_t guesses[] = {4096, 16384, 65536};
	if (ok0)
		ok1 = meta_ok(db, len, ps0, &ps1, &r1, &t1) && ps1 == ps0;
	for (size_t i = 0; !ok0 && !ok1 && i < sizeof(guesses) / sizeof(guesses[0]); i++)
		ok1 = meta_ok(db, len, guesses[i], &ps1, &r1, &t1) && ps1 == guesses[i];
	if (!ok0 && !ok1)
		return -EINVAL;
	b->db = db;
	b->len = len;
	if (ok1 && (!ok0 || t1 > t0)) {
		b->page_size = ps1;
		b->root = r1;
	} else {
		b->page_size = ps0;
		b->root = r0;
	}
	return 0;
}

void bolt_root(const struct bolt *b, struct bolt_bucket *out)
{
	memset(out, 0, sizeof(*out));
	out->root = b->root;
}

int bolt_get(const struct bolt *b, const struct bolt_bucket *bk, const void *key, size_t klen,
             const unsigned char **val, size_t *vlen, bool *is_bucket)
{
	struct pg g;
	const unsigned char *k;
	size_t kl;

	if (!b->db || bucket_page(b, bk, &g) < 0)
		return -EINVAL;
	for (int depth = 0; depth < MAX_DEPTH; depth++) {
		if (g.flags & F_LEAF) {
			for (unsigned i = 0; i < g.count; i++) {
				if (leaf_elem(&g, i, &k, &kl, val, vlen, is_bucket) < 0)
					return -EINVAL;
				if (keycmp(k, kl, key, klen) == 0)
					return 1;
			}
			return 0;
		}
		uint64_t child = 0, c;
		if (g.count == 0)
			return 0;
		for (unsigned i = 0; i < g.count; i++) {
			if (branch_elem(&g, i, &k, &kl, &c) < 0)
				return -EINVAL;
			if (i > 0 && keycmp(k, kl, key, klen) > 0)
				break;
			child = c;
		}
		if (page_at(b, child, &g) < 0)
			return -EINVAL;
	}
	return -EINVAL;
}

int bolt_bucket_value(const unsigned char *v, size_t vl, struct bolt_bucket *out)
{
	memset(out, 0, sizeof(*out));
	if (vl < 16)
		return -EINVAL;
	out->root = rd64(v);
	if (out->root == 0) {
		out->inl = v + 16;
		out->inl_len = vl - 16;
	}
	return 0;
}

int bolt_bucket(const struct bolt *b, const struct bolt_bucket *parent, const char *name,
                struct bolt_bucket *out)
{
	const unsigned char *v;
	size_t vl;
	bool isb;
	int r = bolt_get(b, parent, name, strlen(name), &v, &vl, &isb);
	if (r <= 0)
		return r;
	if (!isb)
		return 0;
	return bolt_bucket_value(v, vl, out) < 0 ? -EINVAL : 1;
}

int bolt_bucket_path(const struct bolt *b, const char *const *names, struct bolt_bucket *out)
{
	bolt_root(b, out);
	for (; *names; names++) {
		struct bolt_bucket next;
		int r = bolt_bucket(b, out, *names, &next);
		if (r <= 0)
			return r;
		*out = next;
	}
	return 1;
}

struct walk {
	const struct bolt *b;
	bolt_cb cb;
	void *ctx;
	uint64_t budget; /* pages left to visit */
};

static int walk_page(struct walk *w, const struct pg *g, int depth)
{
	const unsigned char *k, *v;
	size_t kl, vl;
	bool isb;

	if (depth >= MAX_DEPTH || w->budget == 0)
		return -EINVAL;
	w->budget--;
	for (unsigned i = 0; i < g->count; i++) {
		int r;
		if (g->flags & F_LEAF) {
			if (leaf_elem(g, i, &k, &kl, &v, &vl, &isb) < 0)
				return -EINVAL;
			r = w->cb(w->ctx, k, kl, v, vl, isb);
		} else {
			uint64_t child;
			struct pg cg;
			if (branch_elem(g, i, &k, &kl, &child) < 0 || page_at(w->b, child, &cg) < 0)
				return -EINVAL;
			r = walk_page(w, &cg, depth + 1);
		}
		if (r)
			return r;
	}
	return 0;
}

int bolt_foreach(const struct bolt *b, const struct bolt_bucket *bk, bolt_cb cb, void *ctx)
{
	struct pg g;
	if (!b->db || bucket_page(b, bk, &g) < 0)
		return -EINVAL;
	struct walk w = {b, cb, ctx, b->len / b->page_size + 1};
	return walk_page(&w, &g, 0);
}
