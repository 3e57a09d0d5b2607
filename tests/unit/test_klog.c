/*
 * Unit tests: a guest's kernel log (src/vmi/klog.c) over a synthetic printk
 * ring written into a fake guest memory.
 *
 * The "guest" is 1 MiB: kernel-image symbols at KBASE + pa, the direct map
 * at PO + pa, so every address is a plain offset in the buffer.  A small
 * writer does what the kernel's prb_reserve()/prb_final_commit() do to a
 * ring of 64 descriptors and 2 KiB of text (the 5.10-6.x x86_64 layout):
 * ids congruent to seqs, blocks id-prefixed, a block that would cross the
 * end stored at offset 0, the oldest records made reusable when their text
 * is overwritten.  Checked:
 *   - every record in order with its level, time and text, from any seq;
 *     after the ring wrapped many times, exactly the records still there;
 *     a later read gives only what is new; a from_seq past the end says
 *     the log restarted;
 *   - the offsets from BTF (the profile) or, without them, the known
 *     layout (and a header that does not fit it is refused);
 *   - a record still being written ends the read; an empty record;
 *   - lies: text_len beyond the block, a block id that is not the
 *     descriptor's, a misaligned or impossible lpos, a seq that does not
 *     match: each record skipped, the others delivered; a header with
 *     absurd sizes refused; random bytes over the descriptors, infos,
 *     text and header: never a crash, seqs ascending, bounded output;
 *   - the callback's non-zero value stops the read;
 *   - before 5.10: printk_log records in log_buf, wrapping, and garbage;
 *   - vm_klog (engine/vm_klog.c) into a SQLite store: lines with level,
 *     time (the guest's boot time + the record's) and escaped text, empty
 *     records left out; nothing twice across polls and across a restart
 *     (the cursor read back from the store); a rebooted guest (more or
 *     fewer records than the cursor) read from its start; a ring that does
 *     not read is an error, and reading goes on once it reads again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "engine/vm_klog.h"
#include "store/store.h"
#include "views/vm.h"
#include "vmi/klog.h"

#define MEM (1u << 20)
#define PO 0xffff888000000000ull
#define KBASE 0xffffffff81000000ull
#define DM(pa) (PO + (pa))

#define CB 6
#define COUNT (1u << CB)
#define SB (CB + 5)
#define DSIZE (1u << SB)
#define MAXREC 4096

/* where things are (physical) */
#define A_PRB 0x1000 /* the `prb` pointer */
#define A_RB 0x2000  /* struct printk_ringbuffer */
#define A_DESCS 0x10000
#define A_INFOS 0x20000
#define A_DATA 0x30000
#define A_LOGVARS 0x3000 /* old kernels: log_buf & co, 0x10 apart */
#define A_LOGBUF 0x40000

/* the known layout */
#define TEXT_RING 48
#define D_SIZE 24
#define I_SIZE 88

static unsigned char *mem;
static struct vm_view vv;

static struct writer {
	uint64_t seq;        /* next seq */
	uint64_t head, tail; /* data ring lpos */
	uint64_t dseq;       /* oldest record whose text is intact */
	uint64_t begin[MAXREC], next[MAXREC];
	int wrapped, exact; /* blocks stored at 0; blocks ending at the end */
} W;

static void w8(uint64_t pa, uint8_t x)
{
	mem[pa] = x;
}
static void w16(uint64_t pa, uint16_t x)
{
	memcpy(mem + pa, &x, 2);
}
static void w32(uint64_t pa, uint32_t x)
{
	memcpy(mem + pa, &x, 4);
}
static void w64(uint64_t pa, uint64_t x)
{
	memcpy(mem + pa, &x, 8);
}
static uint64_t r64(uint64_t pa)
{
	uint64_t x;
	memcpy(&x, mem + pa, 8);
	return x;
}

#define BOOT_S 1700000000.0 /* the guest's boot time, as its clock says */

static int fake_kernel(struct view *v, struct vt_kernel *k)
{
	memset(k, 0, sizeof(*k));
	k->boot_time = BOOT_S;
	k->have = VK_BOOT;
	return 0;
}

static const struct view_ops fake_ops = {.kernel = fake_kernel};

static void fld(enum vmi_field f, uint32_t off, uint32_t size)
{
	vv.vmi.p.off[f] = off;
	vv.vmi.p.fsize[f] = size;
}

static void sym(enum vmi_sym s, uint64_t pa)
{
	vv.vmi.p.sym_ok[s] = 1;
	vv.vmi.p.sym[s] = pa;
}

/* The profile BTF would give for the known layout. */
static void btf_profile(void)
{
	fld(F_prb_desc_ring, 0, 48);
	fld(F_prb_text_ring, TEXT_RING, 32);
	fld(F_pdr_count_bits, 0, 4);
	fld(F_pdr_descs, 8, 8);
	fld(F_pdr_infos, 16, 8);
	fld(F_pdr_head_id, 24, 8);
	fld(F_pdr_tail_id, 32, 8);
	fld(F_pdata_size_bits, 0, 4);
	fld(F_pdata_data, 8, 8);
	fld(F_pdesc_state_var, 0, 8);
	fld(F_pdesc_begin, 8, 8);
	fld(F_pdesc_next, 16, 8);
	fld(F_pinfo_seq, 0, 8);
	fld(F_pinfo_ts_nsec, 8, 8);
	fld(F_pinfo_text_len, 16, 2);
	fld(F_pinfo_flags, 19, 1);
	vv.vmi.p.tsize[Z_prb_desc] = D_SIZE;
	vv.vmi.p.tsize[Z_printk_info] = I_SIZE;
}

static void no_btf(void)
{
	for (int f = 0; f < VMI_NFIELD; f++) {
		vv.vmi.p.off[f] = VMI_NONE;
		vv.vmi.p.fsize[f] = 0;
	}
	for (int z = 0; z < VMI_NSIZE; z++)
		vv.vmi.p.tsize[z] = VMI_NONE;
}

static uint64_t id_of(uint64_t seq)
{
	return seq + 5 * COUNT; /* any id congruent to seq */
}

static void set_ids(void)
{
	uint64_t newest = W.seq - 1, oldest = W.seq > COUNT ? W.seq - COUNT : 0;
	w64(A_RB + 24, id_of(newest));
	w64(A_RB + 32, id_of(oldest));
}

static void set_state(uint64_t seq, int state)
{
	uint64_t pa = A_DESCS + (seq & (COUNT - 1)) * D_SIZE;
	w64(pa, id_of(seq) | (uint64_t)state << 62);
}

/* An empty ring, the header pointing at it. */
static void build(void)
{
	memset(mem, 0, MEM);
	memset(&vv, 0, sizeof(vv));
	vv.base.ops = &fake_ops;
	memset(&W, 0, sizeof(W));
	gmem_open_buf(&vv.vmi.mem, mem, MEM);
	vv.vmi.levels = 4;
	vv.vmi.page_offset = PO;
	vv.vmi.max_pa = MEM;
	vv.vmi.base = KBASE;
	no_btf();
	btf_profile();
	sym(S_prb, A_PRB);
	w64(A_PRB, DM(A_RB));
	w32(A_RB + 0, CB);
	w64(A_RB + 8, DM(A_DESCS));
	w64(A_RB + 16, DM(A_INFOS));
	w32(A_RB + TEXT_RING, SB);
	w64(A_RB + TEXT_RING + 8, DM(A_DATA));
	/* as _DEFINE_PRINTKRB: the last descriptor reusable, seq 0 */
	w64(A_RB + 24, id_of(COUNT - 1) - COUNT);
	w64(A_RB + 32, id_of(COUNT - 1) - COUNT);
	w64(A_DESCS + (COUNT - 1) * D_SIZE, (id_of(COUNT - 1) - COUNT) | 3ull << 62);
	w64(A_INFOS, -(uint64_t)COUNT);
}

/* Append a record as the kernel would; state 2 finalized, 1 committed. */
static void put(const char *text, int level, uint64_t ts, int state)
{
	uint64_t seq = W.seq++;
	size_t len = strlen(text);
	uint64_t begin = 3, next = 3; /* NO_LPOS: an empty record */
	assert_true(seq < MAXREC);
	if (len) {
		uint64_t size = (8 + len + 7) & ~7ull, off;
		begin = W.head;
		if ((begin >> SB) == ((begin + size - 1) >> SB)) {
			off = begin & (DSIZE - 1);
			next = begin + size;
			W.exact += (next & (DSIZE - 1)) == 0;
		} else {
			W.wrapped++; /* wraps: stored at the start, the id also at begin */
			off = 0;
			next = (((begin >> SB) + 1) << SB) + size;
			w64(A_DATA + (begin & (DSIZE - 1)), id_of(seq));
		}
		/* the oldest texts make room */
		while (next - W.tail > DSIZE && W.dseq < seq) {
			if (W.dseq + COUNT > seq)
				set_state(W.dseq, 3);
			if (W.next[W.dseq] != 3)
				W.tail = W.next[W.dseq];
			W.dseq++;
		}
		w64(A_DATA + off, id_of(seq));
		memcpy(mem + A_DATA + off + 8, text, len);
		W.head = next;
	}
	if (W.dseq + COUNT <= seq)
		W.dseq = seq - COUNT + 1;
	W.begin[seq] = begin;
	W.next[seq] = next;
	uint64_t d = A_DESCS + (seq & (COUNT - 1)) * D_SIZE;
	uint64_t i = A_INFOS + (seq & (COUNT - 1)) * I_SIZE;
	w64(d + 8, begin);
	w64(d + 16, next);
	w64(i + 0, seq);
	w64(i + 8, ts);
	w16(i + 16, (uint16_t)len);
	w8(i + 18, 0);
	w8(i + 19, (uint8_t)(level << 5 | 2));
	set_state(seq, state);
	set_ids();
}

/* The text the tests give record seq. */
static const char *text_of(uint64_t seq, char *buf, size_t cap)
{
	int pad = (int)(seq * 37 % 97);
	snprintf(buf, cap, "record %llu %.*s.", (unsigned long long)seq, pad,
	         "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz"
	         "0123456789abcdefghijklmnopqrstuvwxyz");
	return buf;
}

static void put_n(int n)
{
	char b[200];
	for (int k = 0; k < n; k++) {
		uint64_t s = W.seq;
		put(text_of(s, b, sizeof(b)), (int)(s % 8), 1000 * s + 7, 2);
	}
}

/* What the reads collected. */
static struct got {
	int n;
	uint64_t seq[MAXREC];
	int level[MAXREC];
	uint64_t ts[MAXREC];
	char text[MAXREC][200];
	size_t len[MAXREC];
	int stop_at; /* return 7 at this record (1-based), 0 never */
	bool ascending;
} G;

static int collect(void *ctx, const struct klog_rec *r)
{
	(void)ctx;
	if (G.n && r->seq <= G.seq[G.n - 1])
		G.ascending = false;
	if (G.stop_at && G.n + 1 == G.stop_at)
		return 7;
	if (G.n < MAXREC) {
		G.seq[G.n] = r->seq;
		G.level[G.n] = r->level;
		G.ts[G.n] = r->ts_nsec;
		G.len[G.n] = r->len;
		memcpy(G.text[G.n], r->text, r->len < 199 ? r->len : 199);
		G.text[G.n][r->len < 199 ? r->len : 199] = 0;
	}
	G.n++;
	return 0;
}

static int rd(uint64_t from, uint64_t *next)
{
	char err[256];
	memset(&G, 0, offsetof(struct got, stop_at));
	G.ascending = true;
	return klog_read(&vv.vmi, from, collect, NULL, next, err, sizeof(err));
}

/* Every record delivered is the one written under its seq. */
static void check_texts(void)
{
	char b[200];
	for (int k = 0; k < G.n && k < MAXREC; k++) {
		assert_string_equal(G.text[k], text_of(G.seq[k], b, sizeof(b)));
		assert_int_equal(G.level[k], (int)(G.seq[k] % 8));
		assert_int_equal(G.ts[k], 1000 * G.seq[k] + 7);
	}
}

static int setup(void **s)
{
	mem = calloc(1, MEM);
	return mem ? 0 : -1;
}

static int teardown(void **s)
{
	free(mem);
	return 0;
}

static void simple(void **s)
{
	uint64_t next = 99;
	build();
	assert_int_equal(rd(0, &next), 0); /* empty */
	assert_int_equal(next, 0);
	put("Linux version 6.1.0 (test)", 5, 0, 2);
	put("second", 6, 1500, 2);
	put("<an error>", 3, 2500, 2);
	assert_int_equal(rd(0, &next), 3);
	assert_int_equal(next, 3);
	assert_true(G.ascending);
	assert_string_equal(G.text[0], "Linux version 6.1.0 (test)");
	assert_int_equal(G.level[0], 5);
	assert_string_equal(G.text[2], "<an error>");
	assert_int_equal(G.level[2], 3);
	assert_int_equal(G.ts[1], 1500);
	assert_int_equal(G.seq[2], 2);
	/* from the middle, from the end, past the end (the log restarted) */
	assert_int_equal(rd(1, &next), 2);
	assert_int_equal(G.seq[0], 1);
	assert_int_equal(rd(3, &next), 0);
	assert_int_equal(next, 3);
	assert_int_equal(rd(50, &next), 0);
	assert_int_equal(next, 0);
	/* only the new ones next time */
	put("fourth", 4, 3000, 2);
	assert_int_equal(rd(3, &next), 1);
	assert_string_equal(G.text[0], "fourth");
	assert_int_equal(next, 4);
}

static void wrapping(void **s)
{
	uint64_t next;
	build();
	put_n(1000); /* the text ring wraps ~50 times, the descriptors ~15 */
	assert_true(W.dseq > 1000 - COUNT);
	assert_true(W.wrapped > 10 && W.exact > 0);
	assert_int_equal(rd(0, &next), (int)(1000 - W.dseq));
	assert_true(G.ascending);
	assert_int_equal(G.seq[0], W.dseq);
	assert_int_equal(G.seq[G.n - 1], 999);
	assert_int_equal(next, 1000);
	check_texts();
	/* read as a daemon would: a few at a time, never twice, none lost */
	uint64_t cur = next, want = 1000;
	for (int round = 0; round < 50; round++) {
		put_n(round % 7);
		int n = rd(cur, &next);
		assert_true(n >= 0);
		for (int k = 0; k < G.n; k++)
			assert_int_equal(G.seq[k], want++);
		check_texts();
		cur = next;
	}
	assert_int_equal(cur, W.seq);
	/* a reader far behind gets what is left, from the oldest */
	assert_true(rd(5, &next) > 0);
	assert_int_equal(G.seq[0], W.dseq);
}

static void known_layout(void **s)
{
	uint64_t next;
	build();
	put_n(200);
	no_btf(); /* no printk types in the BTF */
	assert_int_equal(rd(0, &next), (int)(200 - W.dseq));
	check_texts();
	/* a text ring not sized as the kernel sizes it is not taken for one */
	w32(A_RB + TEXT_RING, SB + 1);
	char err[256];
	assert_int_equal(klog_read(&vv.vmi, 0, collect, NULL, &next, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "known"));
	/* with the BTF offsets the same header is read */
	btf_profile();
	w32(A_RB + TEXT_RING, SB);
	assert_int_equal(rd(0, &next), (int)(200 - W.dseq));
}

static void in_progress(void **s)
{
	uint64_t next;
	build();
	put_n(5);
	put("partial line", 4, 6000, 1); /* committed: a continuation may come */
	assert_int_equal(rd(0, &next), 5);
	assert_int_equal(next, 5);
	set_state(5, 2); /* finalized */
	assert_int_equal(rd(next, &next), 1);
	assert_string_equal(G.text[0], "partial line");
	put("", 6, 7000, 2); /* an empty line: no data block */
	put("after", 6, 8000, 2);
	assert_int_equal(rd(6, &next), 2);
	assert_int_equal(G.len[0], 0);
	assert_string_equal(G.text[1], "after");
	/* reserved at the head: not yet */
	put("being written", 6, 9000, 0);
	assert_int_equal(rd(8, &next), 0);
	assert_int_equal(next, 8);
}

static void lies(void **s)
{
	uint64_t next;
	char err[256];
	build();
	put_n(20);
	/* text_len beyond its block */
	w16(A_INFOS + 3 * I_SIZE + 16, 60000);
	/* a block whose id is not the descriptor's */
	w64(A_DATA + (W.begin[5] & (DSIZE - 1)), 12345);
	/* a misaligned begin, an impossible lpos pair */
	w64(A_DESCS + 7 * D_SIZE + 8, W.begin[7] + 4);
	w64(A_DESCS + 8 * D_SIZE + 8, W.begin[8] + 3 * DSIZE);
	/* a seq that does not match its slot */
	w64(A_INFOS + 10 * I_SIZE, 10 + 7 * COUNT + 1);
	/* a failed record (FAILED_LPOS), a reusable one */
	w64(A_DESCS + 12 * D_SIZE + 8, 1);
	w64(A_DESCS + 12 * D_SIZE + 16, 1);
	set_state(13, 3);
	assert_int_equal(rd(0, &next), 20 - 7);
	assert_true(G.ascending);
	check_texts();
	for (int k = 0; k < G.n; k++)
		assert_true(G.seq[k] != 3 && G.seq[k] != 5 && G.seq[k] != 7 && G.seq[k] != 8 &&
		            G.seq[k] != 10 && G.seq[k] != 12 && G.seq[k] != 13);
	assert_int_equal(next, 20);

	/* absurd sizes in the header */
	w32(A_RB + 0, 60);
	assert_int_equal(klog_read(&vv.vmi, 0, collect, NULL, &next, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "does not look like"));
	w32(A_RB + 0, CB);
	w64(A_RB + 8, 0x1234);
	assert_int_equal(klog_read(&vv.vmi, 0, collect, NULL, &next, err, sizeof(err)), -EINVAL);
	/* prb pointing outside RAM */
	w64(A_PRB, DM(MEM + 4096));
	assert_int_equal(klog_read(&vv.vmi, 0, collect, NULL, &next, err, sizeof(err)), -EFAULT);
	/* no log at all */
	vv.vmi.p.sym_ok[S_prb] = 0;
	assert_int_equal(klog_read(&vv.vmi, 0, collect, NULL, &next, err, sizeof(err)), -ENOTSUP);
	assert_non_null(strstr(err, "not found"));
}

static void stop(void **s)
{
	uint64_t next;
	char err[256];
	build();
	put_n(10);
	memset(&G, 0, sizeof(G));
	G.ascending = true;
	G.stop_at = 4;
	assert_int_equal(klog_read(&vv.vmi, 0, collect, NULL, &next, err, sizeof(err)), 7);
	assert_int_equal(G.n, 3);
	assert_int_equal(next, 3); /* the refused record comes again */
	G.stop_at = 0;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Random bytes: never a crash, ascending seqs, bounded output. */
static void random_bytes(void **s)
{
	static const struct {
		uint64_t pa, len;
	} area[] = {
	    {A_DESCS, COUNT * D_SIZE}, {A_INFOS, COUNT * I_SIZE}, {A_DATA, DSIZE}, {A_RB, 96}};
	for (int round = 0; round < 400; round++) {
		uint64_t next;
		char err[256];
		build();
		put_n(100 + (int)(rnd() % 200));
		if (round % 3)
			no_btf();
		int nflip = 1 + (int)(rnd() % 64);
		for (int k = 0; k < nflip; k++) {
			int a = (int)(rnd() % 4);
			if (a == 3 && round % 4)
				a = (int)(rnd() % 3); /* the header less often */
			uint64_t at = area[a].pa + rnd() % area[a].len;
			if (rnd() % 2)
				mem[at] = (unsigned char)rnd();
			else if (at + 8 <= area[a].pa + area[a].len)
				w64(at & ~7ull,
				    rnd() % 4 ? r64(at & ~7ull) + (rnd() % 64) - 32 : rnd());
		}
		if (round % 50 == 0) /* all of it random */
			for (int a = 0; a < 3; a++)
				for (uint64_t k = 0; k < area[a].len; k++)
					mem[area[a].pa + k] = (unsigned char)rnd();
		memset(&G, 0, offsetof(struct got, stop_at));
		G.ascending = true;
		int r = klog_read(&vv.vmi, rnd() % 400, collect, NULL, &next, err, sizeof(err));
		assert_true(r >= 0 || r == -EFAULT || r == -ENOTSUP || r == -EINVAL);
		if (r >= 0) {
			assert_int_equal(r, G.n);
			assert_true(G.ascending);
			assert_true(G.n <= 1 << 22);
			for (int k = 0; k < G.n && k < MAXREC; k++)
				assert_true(G.len[k] <= DSIZE);
		} else {
			assert_true(err[0] != 0);
		}
	}
}

/* ---- before 5.10 ------------------------------------------------------------ */

static void old_rec(uint32_t idx, uint16_t len, const char *text, int level, uint64_t ts)
{
	size_t tl = strlen(text);
	w64(A_LOGBUF + idx, ts);
	w16(A_LOGBUF + idx + 8, len);
	w16(A_LOGBUF + idx + 10, (uint16_t)tl);
	w16(A_LOGBUF + idx + 12, 0);
	w8(A_LOGBUF + idx + 14, 0);
	w8(A_LOGBUF + idx + 15, (uint8_t)(level << 5));
	memcpy(mem + A_LOGBUF + 16 + idx, text, tl);
}

static void old_build(uint32_t first_idx, uint32_t next_idx, uint64_t first_seq, uint64_t next_seq)
{
	sym(S_log_buf, A_LOGVARS);
	sym(S_log_buf_len, A_LOGVARS + 0x10);
	sym(S_log_first_idx, A_LOGVARS + 0x20);
	sym(S_log_next_idx, A_LOGVARS + 0x30);
	sym(S_log_first_seq, A_LOGVARS + 0x40);
	sym(S_log_next_seq, A_LOGVARS + 0x50);
	w64(A_LOGVARS, DM(A_LOGBUF));
	w32(A_LOGVARS + 0x10, 256);
	w32(A_LOGVARS + 0x20, first_idx);
	w32(A_LOGVARS + 0x30, next_idx);
	w64(A_LOGVARS + 0x40, first_seq);
	w64(A_LOGVARS + 0x50, next_seq);
}

static void old_kernel(void **s)
{
	uint64_t next;
	char err[256];
	build();
	vv.vmi.p.sym_ok[S_prb] = 0;
	/* 48-byte records at 96, 144, 192, the wrap marker at 240, one at 0 */
	old_rec(96, 48, "two", 2, 200);
	old_rec(144, 48, "three", 3, 300);
	old_rec(192, 48, "four", 4, 400);
	w16(A_LOGBUF + 240 + 8, 0);
	old_rec(0, 48, "five", 5, 500);
	old_build(96, 48, 2, 6);
	assert_int_equal(rd(0, &next), 4);
	assert_int_equal(next, 6);
	assert_string_equal(G.text[0], "two");
	assert_int_equal(G.seq[0], 2);
	assert_int_equal(G.level[1], 3);
	assert_int_equal(G.ts[2], 400);
	assert_string_equal(G.text[3], "five");
	assert_int_equal(G.seq[3], 5);
	assert_int_equal(rd(4, &next), 2);
	assert_string_equal(G.text[0], "four");
	assert_int_equal(rd(9, &next), 0); /* restarted */
	assert_int_equal(next, 2);
	/* a lying length ends the walk, what came before stands */
	w16(A_LOGBUF + 144 + 8, 4000);
	assert_int_equal(rd(0, &next), 1);
	w16(A_LOGBUF + 144 + 8, 48);
	w16(A_LOGBUF + 144 + 10, 40); /* text beyond the record */
	assert_int_equal(rd(0, &next), 1);
	/* absurd variables */
	w32(A_LOGVARS + 0x20, 1000);
	assert_int_equal(klog_read(&vv.vmi, 0, collect, NULL, &next, err, sizeof(err)), -EINVAL);
	/* random bytes: bounded, no crash */
	w32(A_LOGVARS + 0x20, 96);
	for (int round = 0; round < 300; round++) {
		for (int k = 0; k < 8; k++)
			mem[A_LOGBUF + rnd() % 256] = (unsigned char)rnd();
		int r = rd(0, &next);
		assert_true(r >= 0 && r <= 6);
		assert_true(G.ascending);
	}
}

/* ---- vm_klog: a VM's kernel log into the store ------------------------------- */

struct stored {
	int n;
	char line[64][256];
	int level[64];
	int64_t t[64];
};

static int got_line(void *ctx, int64_t id, const struct store_log *l)
{
	struct stored *st = ctx;
	if (st->n < 64) {
		snprintf(st->line[st->n], sizeof(st->line[0]), "%.*s", (int)l->len, l->line);
		st->level[st->n] = l->level;
		st->t[st->n] = l->time_ms;
	}
	st->n++;
	return 0;
}

static void stored_lines(struct store *db, struct stored *out)
{
	static const char *const ids[] = {"vm:test"};
	struct store_log_query q = {.system_ids = ids,
	                            .nsystems = 1,
	                            .source = "kmsg",
	                            .max_level = 7,
	                            .by_id = true,
	                            .limit = 1000};
	memset(out, 0, sizeof(*out));
	assert_true(store_logs(db, &q, got_line, out) >= 0);
}

static int poll_vm(struct vm_klog *k, struct store_share *sh)
{
	return vm_klog_poll(k, sh, "vm:test", &vv.base, 0);
}

static void into_store(void **s)
{
	char dir[64] = "/tmp/test_klog.XXXXXX", url[128], cmd[160];
	assert_non_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "sqlite:%s/db", dir);
	struct store *db = NULL;
	assert_int_equal(store_open(url, STORE_RW, &db), 0);
	struct store_share sh = {.st = db, .path = url};
	pthread_mutex_init(&sh.lock, NULL);
	struct vm_klog *k = vm_klog_new();
	struct stored st;

	build();
	put("Linux version 6.1.0 (test)", 5, 0, 2);
	put("two\nlines", 6, 1500000000, 2);
	put("", 6, 1600000000, 2); /* empty: nothing to store */
	put("bad \xff byte\x01 \xc3\xa9t\xc3\xa9", 3, 2000000000, 2);
	assert_int_equal(poll_vm(k, &sh), 3);
	stored_lines(db, &st);
	assert_int_equal(st.n, 3);
	assert_string_equal(st.line[0], "Linux version 6.1.0 (test)");
	assert_int_equal(st.level[0], 5);
	assert_int_equal(st.t[0], (int64_t)(BOOT_S * 1000));
	assert_string_equal(st.line[1], "two\\x0alines");
	assert_int_equal(st.t[1], (int64_t)(BOOT_S * 1000) + 1500);
	assert_string_equal(st.line[2], "bad \\xff byte\\x01 \xc3\xa9t\xc3\xa9");
	assert_int_equal(st.level[2], 3);
	/* nothing new: nothing stored; then only the new ones */
	assert_int_equal(poll_vm(k, &sh), 0);
	put("three", 6, 3000000000, 2);
	put("four", 6, 4000000000, 2);
	assert_int_equal(poll_vm(k, &sh), 2);
	/* Vantage restarted: the cursor comes from the store */
	vm_klog_free(k);
	k = vm_klog_new();
	assert_int_equal(poll_vm(k, &sh), 0);
	put("five", 6, 5000000000, 2);
	assert_int_equal(poll_vm(k, &sh), 1);
	stored_lines(db, &st);
	assert_int_equal(st.n, 6);
	assert_string_equal(st.line[5], "five");

	/* the guest rebooted and logged more than before: read from its start */
	build();
	for (int i = 0; i < 10; i++)
		put(i ? "after reboot" : "Linux version again", 6, 100 + (uint64_t)i, 2);
	assert_int_equal(poll_vm(k, &sh), 10);
	/* again, with fewer records than the cursor */
	build();
	put("third boot", 6, 7, 2);
	assert_int_equal(poll_vm(k, &sh), 1);
	stored_lines(db, &st);
	assert_int_equal(st.n, 17);
	assert_string_equal(st.line[6], "Linux version again");
	assert_string_equal(st.line[16], "third boot");

	/* a ring that does not read: an error; once it reads, on from the cursor */
	w32(A_RB, 60);
	assert_true(poll_vm(k, &sh) < 0);
	w32(A_RB, CB);
	put("back", 6, 8, 2);
	assert_int_equal(poll_vm(k, &sh), 1);
	stored_lines(db, &st);
	assert_int_equal(st.n, 18);

	vm_klog_free(k);
	store_close(db);
	pthread_mutex_destroy(&sh.lock);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(simple),       cmocka_unit_test(wrapping),
	    cmocka_unit_test(known_layout), cmocka_unit_test(in_progress),
	    cmocka_unit_test(lies),         cmocka_unit_test(stop),
	    cmocka_unit_test(random_bytes), cmocka_unit_test(old_kernel),
	    cmocka_unit_test(into_store),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
