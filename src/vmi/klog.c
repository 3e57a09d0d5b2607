/*
 * klog.c - a Linux guest's kernel log read from its RAM (see klog.h).
 *
 * Kernels 5.10 and later: `prb` points at a struct printk_ringbuffer:
 *   desc_ring       2^count_bits descriptors (state_var: the record's id
 *                   in the low 62 bits, its state in the top 2: reserved,
 *                   committed, finalized, reusable; text_blk_lpos: where
 *                   its text is in the data ring) and as many printk_info
 *                   (seq, ts_nsec, text_len, facility, flags:5 level:3),
 *                   both indexed by seq & (2^count_bits - 1);
 *   text_data_ring  2^size_bits bytes of blocks, each the descriptor's id
 *                   (8 bytes) then the text; logical positions (lpos) grow
 *                   forever, lpos >> size_bits counts the wraps; a block
 *                   that would cross the end is stored at offset 0 instead
 *                   (its begin one wrap behind its next).
 * Offsets come from the guest's BTF (vmi.h fields); when its BTF lacks the
 * printk types, from the layout every 5.10-6.x x86_64 kernel has, accepted
 * only when it reads as a ring (pointers in the kernel half, the text ring
 * 2^5 times the number of descriptors, as the kernel sizes it).
 *
 * Older kernels: `log_buf` holds struct printk_log records (header, then
 * text) from log_first_idx to log_next_idx, a zero length meaning "wrap to
 * the start", numbered from log_first_seq.
 *
 * The reader follows the kernel's own (prb_read_valid): for each seq from
 * the oldest wanted, the descriptor and info at seq's index must carry
 * that seq and a finalized state; a reusable or failed record is skipped
 * as lost; a reserved or committed one at the head ends the read (it is
 * still being written: read next time).  Everything is checked: indices
 * masked, the block's bounds against the ring (the kernel's get_data
 * rules), its id against the descriptor's, text_len against the block;
 * after the text is copied the descriptor is read again and the record
 * dropped if it changed (overwritten while being read).  Every loop is
 * bounded by the ring's size and KLOG_MAX_RECORDS, and a read ends at
 * KLOG_MAX_FAULTS descriptors in a row that are not in guest memory (the
 * next read starts there again).
 *
 * *next_seq below from_seq says the log restarted (the guest rebooted, or
 * the ring was reset): the caller reads again from *next_seq.  cb's
 * non-zero return stops the read; *next_seq is then the refused record's
 * seq (not consumed).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "klog.h"

#define KLOG_TEXT_MAX 65536u        /* text_len is a u16 */
#define KLOG_MAX_RECORDS (1u << 22) /* bound on one call */
#define KLOG_MAX_COUNT_BITS 26      /* 64 Mi descriptors: log_buf_len=2G */
#define KLOG_MAX_SIZE_BITS 31       /* 2 GiB of text */
#define SV_SHIFT 62                 /* state in the top 2 bits of state_var */
#define ID_MASK ((1ull << SV_SHIFT) - 1)
#define FAILED_LPOS 0x1ull
#define NO_LPOS 0x3ull
#define AVGBITS 5          /* the kernel's text ring: 2^5 bytes per descriptor */
#define KLOG_MAX_FAULTS 64 /* unreadable descriptors in a row that end a read */

enum { ST_RESERVED = 0, ST_COMMITTED = 1, ST_FINALIZED = 2, ST_REUSABLE = 3 };

struct prb_lay {
	uint32_t desc_ring, text_ring;                       /* in printk_ringbuffer */
	uint32_t count_bits, descs, infos, head_id, tail_id; /* in prb_desc_ring */
	uint32_t size_bits, data;                            /* in prb_data_ring */
	uint32_t d_state, d_begin, d_next, d_size;           /* prb_desc */
	uint32_t i_seq, i_ts, i_text_len, i_flags, i_size;   /* printk_info */
};

struct prb {
	const struct vmi *v;
	struct prb_lay l;
	uint64_t rb; /* the struct printk_ringbuffer */
	uint32_t count_bits, size_bits;
	uint64_t descs, infos, data, mask, dsize;
};

struct desc {
	uint64_t sv, id, begin, next;
	int state;
};

struct info {
	uint64_t seq, ts;
	uint32_t text_len;
	int level;
};

static uint64_t rd64(const unsigned char *b, uint32_t off)
{
	uint64_t x;
	memcpy(&x, b + off, 8);
	return x;
}

/* ---- the ring's layout ------------------------------------------------------ */

/* From BTF: every field the reader uses, with the sizes it reads. */
static bool lay_btf(const struct vmi *v, struct prb_lay *l)
{
	static const enum vmi_field need[] = {
	    F_prb_desc_ring, F_prb_text_ring,   F_pdr_count_bits, F_pdr_descs,
	    F_pdr_infos,     F_pdr_head_id,     F_pdr_tail_id,    F_pdata_size_bits,
	    F_pdata_data,    F_pdesc_state_var, F_pdesc_begin,    F_pdesc_next,
	    F_pinfo_seq,     F_pinfo_ts_nsec,   F_pinfo_text_len, F_pinfo_flags};
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (!vmi_has(v, need[i]))
			return false;
	const struct vmi_prof *p = &v->p;
	if (p->tsize[Z_prb_desc] == VMI_NONE || p->tsize[Z_printk_info] == VMI_NONE ||
	    p->fsize[F_pdr_count_bits] != 4 || p->fsize[F_pdata_size_bits] != 4 ||
	    p->fsize[F_pdesc_state_var] != 8 || p->fsize[F_pinfo_seq] != 8 ||
	    p->fsize[F_pinfo_text_len] != 2 || p->fsize[F_pinfo_flags] != 1)
		return false;
	*l = (struct prb_lay){
	    .desc_ring = p->off[F_prb_desc_ring],
	    .text_ring = p->off[F_prb_text_ring],
	    .count_bits = p->off[F_pdr_count_bits],
	    .descs = p->off[F_pdr_descs],
	    .infos = p->off[F_pdr_infos],
	    .head_id = p->off[F_pdr_head_id],
	    .tail_id = p->off[F_pdr_tail_id],
	    .size_bits = p->off[F_pdata_size_bits],
	    .data = p->off[F_pdata_data],
	    .d_state = p->off[F_pdesc_state_var],
	    .d_begin = p->off[F_pdesc_begin],
	    .d_next = p->off[F_pdesc_next],
	    .d_size = p->tsize[Z_prb_desc],
	    .i_seq = p->off[F_pinfo_seq],
	    .i_ts = p->off[F_pinfo_ts_nsec],
	    .i_text_len = p->off[F_pinfo_text_len],
	    .i_flags = p->off[F_pinfo_flags],
	    .i_size = p->tsize[Z_printk_info],
	};
	return true;
}

/* The layout of 5.10-6.x on x86_64; the text ring follows a desc_ring of
 * 40 bytes (to 5.18) or 48 (last_finalized_id / _seq after). */
static void lay_known(struct prb_lay *l, uint32_t text_ring)
{
	*l = (struct prb_lay){.desc_ring = 0,
	                      .text_ring = text_ring,
	                      .count_bits = 0,
	                      .descs = 8,
	                      .infos = 16,
	                      .head_id = 24,
	                      .tail_id = 32,
	                      .size_bits = 0,
	                      .data = 8,
	                      .d_state = 0,
	                      .d_begin = 8,
	                      .d_next = 16,
	                      .d_size = 24,
	                      .i_seq = 0,
	                      .i_ts = 8,
	                      .i_text_len = 16,
	                      .i_flags = 19,
	                      .i_size = 88};
}

/* Read the ring's header under layout l; `strict`: the known layout's
 * extra check (text ring sized as the kernel sizes it). */
static int prb_load(struct prb *r, bool strict, char *err, size_t errlen)
{
	const struct vmi *v = r->v;
	const struct prb_lay *l = &r->l;
	uint32_t cb = 0, sb = 0;
	uint64_t dr = r->rb + l->desc_ring, tr = r->rb + l->text_ring;
	if (vmi_u32(v, dr + l->count_bits, &cb) || vmi_u64(v, dr + l->descs, &r->descs) ||
	    vmi_u64(v, dr + l->infos, &r->infos) || vmi_u32(v, tr + l->size_bits, &sb) ||
	    vmi_u64(v, tr + l->data, &r->data)) {
		snprintf(err, errlen, "cannot read the printk ring buffer at %#llx",
		         (unsigned long long)r->rb);
		return -EFAULT;
	}
	if (cb < 1 || cb > KLOG_MAX_COUNT_BITS || sb < 6 || sb > KLOG_MAX_SIZE_BITS ||
	    !vmi_kptr(v, r->descs) || !vmi_kptr(v, r->infos) || !vmi_kptr(v, r->data) ||
	    l->d_size < 24 || l->d_size > 256 || l->i_size < 20 || l->i_size > 1024 ||
	    (strict && sb != cb + AVGBITS)) {
		snprintf(err, errlen,
		         "the printk ring buffer at %#llx does not look like one "
		         "(count_bits %u, size_bits %u)",
		         (unsigned long long)r->rb, cb, sb);
		return -EINVAL;
	}
	r->count_bits = cb;
	r->size_bits = sb;
	r->mask = (1ull << cb) - 1;
	r->dsize = 1ull << sb;
	return 0;
}

static int prb_open(const struct vmi *v, struct prb *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	r->v = v;
	if (vmi_u64(v, vmi_sym(v, S_prb), &r->rb) || !vmi_kptr(v, r->rb)) {
		snprintf(err, errlen, "the guest's 'prb' does not point at a printk ring buffer");
		return -EFAULT;
	}
	if (lay_btf(v, &r->l))
		return prb_load(r, false, err, errlen);
	/* no BTF for it: the known layout, if the ring reads as one */
	static const uint32_t text_ring[] = {48, 40};
	int ret = -EINVAL;
	for (size_t i = 0; i < sizeof(text_ring) / sizeof(text_ring[0]); i++) {
		lay_known(&r->l, text_ring[i]);
		ret = prb_load(r, true, err, errlen);
		if (!ret)
			return 0;
	}
	if (ret == -EINVAL)
		snprintf(err, errlen,
		         "the guest's BTF has no printk ring buffer types and the ring does "
		         "not match the known 5.10-6.x layout");
	return ret;
}

static int read_desc(const struct prb *r, uint64_t idx, struct desc *d)
{
	unsigned char b[256];
	const struct prb_lay *l = &r->l;
	uint32_t need = l->d_state + 8;
	if (l->d_begin + 8 > need)
		need = l->d_begin + 8;
	if (l->d_next + 8 > need)
		need = l->d_next + 8;
	if (need > sizeof(b) || vmi_read(r->v, r->descs + (idx & r->mask) * l->d_size, b, need))
		return -EFAULT;
	d->sv = rd64(b, l->d_state);
	d->id = d->sv & ID_MASK;
	d->state = (int)(d->sv >> SV_SHIFT);
	d->begin = rd64(b, l->d_begin);
	d->next = rd64(b, l->d_next);
	return 0;
}

static int read_info(const struct prb *r, uint64_t idx, struct info *in)
{
	unsigned char b[256];
	const struct prb_lay *l = &r->l;
	uint32_t need = l->i_seq + 8;
	if (l->i_ts + 8 > need)
		need = l->i_ts + 8;
	if (l->i_text_len + 2 > need)
		need = l->i_text_len + 2;
	if (l->i_flags + 1 > need)
		need = l->i_flags + 1;
	if (need > sizeof(b) || vmi_read(r->v, r->infos + (idx & r->mask) * l->i_size, b, need))
		return -EFAULT;
	uint16_t tl;
	memcpy(&tl, b + l->i_text_len, 2);
	in->seq = rd64(b, l->i_seq);
	in->ts = rd64(b, l->i_ts);
	in->text_len = tl;
	in->level = b[l->i_flags] >> 5; /* u8 flags:5, level:3 */
	return 0;
}

/* The seq of the record whose descriptor id is `id`, if it is there. */
static bool seq_of(const struct prb *r, uint64_t id, bool any_state, uint64_t *seq)
{
	struct desc d;
	struct info in;
	if (read_desc(r, id, &d) || d.id != id || read_info(r, id, &in) ||
	    (in.seq & r->mask) != (id & r->mask))
		return false;
	if (!any_state && d.state != ST_FINALIZED && d.state != ST_REUSABLE)
		return false;
	*seq = in.seq;
	return true;
}

/* The oldest and newest seq, as far as they can be told. */
static void prb_bounds(const struct prb *r, uint64_t *first, bool *have_first, uint64_t *last,
                       bool *have_last)
{
	const struct prb_lay *l = &r->l;
	uint64_t dr = r->rb + l->desc_ring;
	*have_first = *have_last = false;
	for (int tries = 0; tries < 3 && !(*have_first && *have_last); tries++) {
		uint64_t head = 0, tail = 0, s;
		if (vmi_u64(r->v, dr + l->head_id, &head) || vmi_u64(r->v, dr + l->tail_id, &tail))
			return;
		head &= ID_MASK;
		tail &= ID_MASK;
		*have_first = seq_of(r, tail, false, first);
		/* the head may be reserved with its info not yet renumbered: the
		 * one before it says as much */
		*have_last = false;
		if (seq_of(r, head, true, &s)) {
			*last = s;
			*have_last = true;
		}
		if (seq_of(r, (head - 1) & ID_MASK, false, &s) && (!*have_last || s > *last)) {
			*last = s;
			*have_last = true;
		}
		if (*have_first && *have_last &&
		    (*last < *first || *last - *first > r->mask)) /* moved under us */
			*have_first = *have_last = false;
	}
}

/* The text block of descriptor d: offset in the data ring and length
 * (id included), by the kernel's get_data() rules.  false: invalid. */
static bool blk_bounds(const struct prb *r, const struct desc *d, uint64_t *off, uint64_t *blen)
{
	uint64_t b = d->begin, n = d->next;
	if ((b & 7) || (n & 7))
		return false;
	if ((b >> r->size_bits) == ((n - 1) >> r->size_bits) && b < n) {
		*off = b & (r->dsize - 1);
		*blen = n - b;
	} else if (((b + r->dsize) >> r->size_bits) == ((n - 1) >> r->size_bits)) {
		*off = 0;
		*blen = n & (r->dsize - 1);
	} else {
		return false;
	}
	return *blen > 8 && *blen <= r->dsize && *off + *blen <= r->dsize;
}

enum rec_res { REC_OK, REC_SKIP, REC_STOP, REC_AHEAD, REC_FAULT };

/* Read record seq into rec (text into buf).  REC_AHEAD: the slot holds a
 * newer record (*newer its seq): seq is lost.  REC_FAULT: its descriptor
 * or info does not read (not in guest memory). */
static enum rec_res read_rec(const struct prb *r, uint64_t seq, bool at_head, char *buf,
                             struct klog_rec *rec, uint64_t *newer)
{
	struct desc d, d2;
	struct info in, in2;
	if (read_desc(r, seq, &d) || read_info(r, seq, &in))
		return REC_FAULT;
	if (in.seq != seq) {
		if (in.seq > seq && (in.seq & r->mask) == (seq & r->mask)) {
			*newer = in.seq;
			return REC_AHEAD;
		}
		return at_head ? REC_STOP : REC_SKIP; /* not written yet, or garbage */
	}
	if ((d.id & r->mask) != (seq & r->mask))
		return REC_SKIP;
	if (d.state == ST_RESERVED || d.state == ST_COMMITTED)
		return at_head ? REC_STOP : REC_SKIP; /* still being written */
	if (d.state != ST_FINALIZED)
		return REC_SKIP; /* reusable: its text may be gone */
	rec->seq = seq;
	rec->ts_nsec = in.ts;
	rec->level = in.level;
	rec->text = buf;
	rec->len = 0;
	if (d.begin == NO_LPOS && d.next == NO_LPOS) {
		if (in.text_len)
			return REC_SKIP;
	} else {
		uint64_t off, blen, bid;
		if ((d.begin & 1) || (d.next & 1) || !blk_bounds(r, &d, &off, &blen) ||
		    in.text_len > blen - 8 || vmi_u64(r->v, r->data + off, &bid) || bid != d.id ||
		    (in.text_len && vmi_read(r->v, r->data + off + 8, buf, in.text_len)))
			return REC_SKIP;
		rec->len = in.text_len;
	}
	/* still the same record? (the writer may have recycled it meanwhile) */
	if (read_desc(r, seq, &d2) || read_info(r, seq, &in2) || d2.sv != d.sv || in2.seq != seq)
		return REC_SKIP;
	return REC_OK;
}

static int read_prb(const struct vmi *v, uint64_t from_seq,
                    int (*cb)(void *ctx, const struct klog_rec *r), void *ctx, uint64_t *next_seq,
                    char *err, size_t errlen)
{
	struct prb r;
	int ret = prb_open(v, &r, err, errlen);
	if (ret)
		return ret;
	uint64_t first = 0, last = 0;
	bool have_first, have_last;
	prb_bounds(&r, &first, &have_first, &last, &have_last);
	if (!have_first)
		first = have_last && last > r.mask ? last - r.mask : 0;
	if (have_last && from_seq > last + 1) { /* the log started over */
		*next_seq = first;
		return 0;
	}
	char *buf = malloc(KLOG_TEXT_MAX);
	if (!buf) {
		snprintf(err, errlen, "out of memory for a kernel log record");
		return -ENOMEM;
	}
	uint64_t seq = from_seq > first ? from_seq : first;
	uint64_t bound = r.mask + 1 < KLOG_MAX_RECORDS ? r.mask + 1 : KLOG_MAX_RECORDS;
	int n = 0, faults = 0;
	for (uint64_t it = 0; it < bound; it++) {
		if (have_last && seq > last)
			break;
		struct klog_rec rec;
		uint64_t newer = 0;
		bool at_head = !have_last || seq + 1 >= last;
		enum rec_res res = read_rec(&r, seq, at_head, buf, &rec, &newer);
		if (res == REC_STOP)
			break;
		if (res == REC_FAULT) {
			/* a real ring's descriptors all read: a run that does not
			 * is a broken ring, not 4 Mi records to try one by one */
			if (++faults >= KLOG_MAX_FAULTS)
				break;
			seq++;
			continue;
		}
		faults = 0;
		if (res == REC_AHEAD) { /* overwritten: on to the oldest still there */
			if (!have_last || newer > last) {
				if (at_head)
					break;
				seq++;
				continue;
			}
			uint64_t oldest = newer > r.mask ? newer - r.mask : 0;
			seq = oldest > seq ? oldest : seq + 1;
			continue;
		}
		if (res == REC_OK) {
			int c = cb(ctx, &rec);
			if (c) {
				*next_seq = seq;
				free(buf);
				return c;
			}
			n++;
		}
		seq++;
	}
	free(buf);
	*next_seq = seq;
	return n;
}

/* ---- before 5.10: struct printk_log records in log_buf ------------------------ */

static int read_old(const struct vmi *v, uint64_t from_seq,
                    int (*cb)(void *ctx, const struct klog_rec *r), void *ctx, uint64_t *next_seq,
                    char *err, size_t errlen)
{
	const struct vmi_prof *p = &v->p;
	uint32_t o_ts = 0, o_len = 8, o_tlen = 10, o_flags = 15, hdr = 16;
	if (vmi_has(v, F_plog_ts_nsec) && vmi_has(v, F_plog_len) && vmi_has(v, F_plog_text_len) &&
	    vmi_has(v, F_plog_flags) && p->tsize[Z_printk_log] != VMI_NONE) {
		o_ts = p->off[F_plog_ts_nsec];
		o_len = p->off[F_plog_len];
		o_tlen = p->off[F_plog_text_len];
		o_flags = p->off[F_plog_flags];
		hdr = p->tsize[Z_printk_log];
	}
	uint64_t buf_va = 0, fseq = 0, nseq = 0;
	uint32_t blen = 0, fidx = 0, nidx = 0;
	if (vmi_u64(v, vmi_sym(v, S_log_buf), &buf_va) ||
	    vmi_u32(v, vmi_sym(v, S_log_buf_len), &blen) ||
	    vmi_u32(v, vmi_sym(v, S_log_first_idx), &fidx) ||
	    vmi_u32(v, vmi_sym(v, S_log_next_idx), &nidx) ||
	    vmi_u64(v, vmi_sym(v, S_log_first_seq), &fseq) ||
	    vmi_u64(v, vmi_sym(v, S_log_next_seq), &nseq)) {
		snprintf(err, errlen, "cannot read the guest's log_buf variables");
		return -EFAULT;
	}
	if (!vmi_kptr(v, buf_va) || blen < 64 || blen > (1u << 31) || fidx >= blen ||
	    nidx >= blen || nseq < fseq || hdr < 16 || hdr > 64 || o_ts + 8 > hdr ||
	    o_len + 2 > hdr || o_tlen + 2 > hdr || o_flags + 1 > hdr) {
		snprintf(err, errlen, "the guest's log_buf does not look like one (%u bytes)",
		         blen);
		return -EINVAL;
	}
	if (from_seq > nseq) {
		*next_seq = fseq;
		return 0;
	}
	char *text = malloc(KLOG_TEXT_MAX);
	if (!text) {
		snprintf(err, errlen, "out of memory for a kernel log record");
		return -ENOMEM;
	}
	uint64_t seq = fseq;
	uint32_t idx = fidx;
	int n = 0, wraps = 0;
	for (uint64_t it = 0; it < KLOG_MAX_RECORDS && seq < nseq; it++) {
		unsigned char h[64];
		if (idx + hdr > blen || vmi_read(v, buf_va + idx, h, hdr))
			break;
		uint16_t len, tlen;
		memcpy(&len, h + o_len, 2);
		memcpy(&tlen, h + o_tlen, 2);
		if (len == 0) { /* wrap to the start of the buffer */
			if (idx == 0 || ++wraps > 1)
				break;
			idx = 0;
			continue;
		}
		if (len < hdr || idx + len > blen || tlen > len - hdr)
			break; /* garbage: no way to find the next record */
		if (seq >= from_seq) {
			struct klog_rec rec = {.seq = seq,
			                       .ts_nsec = rd64(h, o_ts),
			                       .level = h[o_flags] >> 5,
			                       .text = text,
			                       .len = tlen};
			if (!tlen || !vmi_read(v, buf_va + idx + hdr, text, tlen)) {
				int c = cb(ctx, &rec);
				if (c) {
					*next_seq = seq;
					free(text);
					return c;
				}
				n++;
			}
		}
		idx += len;
		seq++;
		if (idx == nidx)
			break;
	}
	free(text);
	*next_seq = seq > from_seq ? seq : from_seq;
	return n;
}

int klog_read(const struct vmi *v, uint64_t from_seq,
              int (*cb)(void *ctx, const struct klog_rec *r), void *ctx, uint64_t *next_seq,
              char *err, size_t errlen)
{
	uint64_t ns = from_seq;
	int r;
	err[0] = 0;
	if (v->p.sym_ok[S_prb] && !v->p.sym_percpu[S_prb])
		r = read_prb(v, from_seq, cb, ctx, &ns, err, errlen);
	else if (v->p.sym_ok[S_log_buf] && v->p.sym_ok[S_log_buf_len] &&
	         v->p.sym_ok[S_log_first_idx] && v->p.sym_ok[S_log_next_idx] &&
	         v->p.sym_ok[S_log_first_seq] && v->p.sym_ok[S_log_next_seq])
		r = read_old(v, from_seq, cb, ctx, &ns, err, errlen);
	else {
		snprintf(err, errlen,
		         "the guest kernel's log was not found (no 'prb' nor 'log_buf' in its "
		         "symbols: a kernel without CONFIG_PRINTK or CONFIG_KALLSYMS_ALL)");
		return -ENOTSUP;
	}
	if (next_seq)
		*next_seq = ns;
	return r;
}
