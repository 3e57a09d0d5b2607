/*
 * spool.c - the bounded on-disk spool of a sink: segments of checksummed
 * records, a cursor, drop-oldest bounds, recovery and replay with backoff
 * (spool.h has the format and the policy).
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../util/log.h"
#include "../util/util.h"
#include "../util/xalloc.h"

#define REC_MAGIC 0x31505356u /* "VSP1" */
#define CUR_MAGIC 0x43505356u /* "VSPC" */
#define BACKOFF_MIN_NS 1000000000LL
#define BACKOFF_MAX_NS (300LL * 1000000000LL)
#define MAX_SPOOLS 64

/* ---- CRC-32C (Castagnoli) ----------------------------------------------------- */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32c(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *b = p;
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- the registry of counters ------------------------------------------------ */

static struct spool_counters *registry[MAX_SPOOLS];
static int nregistry;
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;

/* The counters named `name`, made on first use; NULL when the registry is
 * full (the spool then counts into a block of its own, not on /metrics). */
static struct spool_counters *counters_for(const char *name)
{
	struct spool_counters *c = NULL;
	pthread_mutex_lock(&registry_lock);
	for (int i = 0; i < nregistry && !c; i++)
		if (strcmp(registry[i]->name, name) == 0)
			c = registry[i];
	if (!c && nregistry < MAX_SPOOLS) {
		c = xcalloc(1, sizeof(*c));
		copy_str(c->name, sizeof(c->name), name, strlen(name));
		registry[nregistry++] = c;
	}
	pthread_mutex_unlock(&registry_lock);
	return c;
}

void spool_registry_foreach(void (*fn)(void *ctx, const struct spool_counters *c), void *ctx)
{
	pthread_mutex_lock(&registry_lock);
	int n = nregistry;
	pthread_mutex_unlock(&registry_lock);
	for (int i = 0; i < n; i++)
		fn(ctx, registry[i]); /* entries are never freed nor moved */
}

static void label(struct buf *out, const char *s)
{
	buf_addc(out, '"');
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			buf_addc(out, '\\');
		if (*s == '\n')
			buf_adds(out, "\\n");
		else
			buf_addc(out, *s);
	}
	buf_addc(out, '"');
}

struct metrics_ctx {
	struct buf *out;
	int family; /* which family is being written */
};

static const char *const fam_names[] = {
    "vantage_sink_spool_frames_total", "vantage_sink_spool_records_total",
    "vantage_sink_spool_bytes_total",  "vantage_sink_spool_torn_bytes_total",
    "vantage_sink_spool_frames",       "vantage_sink_spool_size_bytes",
};
static const char *const fam_help[] = {
    "Frames a sink spooled, replayed, dropped or saw rejected (docs/sinks.md).",
    "Records of those frames.",
    "Bytes of those frames.",
    "Bytes of torn or corrupt spool records skipped at recovery.",
    "Frames waiting in a sink's spool.",
    "Bytes waiting in a sink's spool.",
};

static void metric_line(struct buf *out, const char *fam, const struct spool_counters *c,
                        const char *event, uint64_t v)
{
	buf_adds(out, fam);
	buf_adds(out, "{sink=");
	label(out, c->name);
	if (event) {
		buf_adds(out, ",event=\"");
		buf_adds(out, event);
		buf_addc(out, '"');
	}
	buf_printf(out, "} %llu\n", (unsigned long long)v);
}

static void metrics_one(void *ctx, const struct spool_counters *c)
{
	struct metrics_ctx *m = ctx;
	const char *fam = fam_names[m->family];
	switch (m->family) {
	case 0:
		metric_line(m->out, fam, c, "spooled", atomic_load(&c->spooled_frames));
		metric_line(m->out, fam, c, "replayed", atomic_load(&c->replayed_frames));
		metric_line(m->out, fam, c, "dropped", atomic_load(&c->dropped_frames));
		metric_line(m->out, fam, c, "rejected", atomic_load(&c->rejected_frames));
		break;
	case 1:
		metric_line(m->out, fam, c, "spooled", atomic_load(&c->spooled_records));
		metric_line(m->out, fam, c, "replayed", atomic_load(&c->replayed_records));
		metric_line(m->out, fam, c, "dropped", atomic_load(&c->dropped_records));
		metric_line(m->out, fam, c, "rejected", atomic_load(&c->rejected_records));
		break;
	case 2:
		metric_line(m->out, fam, c, "spooled", atomic_load(&c->spooled_bytes));
		metric_line(m->out, fam, c, "replayed", atomic_load(&c->replayed_bytes));
		metric_line(m->out, fam, c, "dropped", atomic_load(&c->dropped_bytes));
		metric_line(m->out, fam, c, "rejected", atomic_load(&c->rejected_bytes));
		break;
	case 3:
		metric_line(m->out, fam, c, NULL, atomic_load(&c->torn_bytes));
		break;
	case 4:
		metric_line(m->out, fam, c, NULL, atomic_load(&c->frames));
		break;
	default:
		metric_line(m->out, fam, c, NULL, atomic_load(&c->bytes));
		break;
	}
}

void spool_metrics(struct buf *out)
{
	pthread_mutex_lock(&registry_lock);
	int n = nregistry;
	pthread_mutex_unlock(&registry_lock);
	if (!n)
		return;
	struct metrics_ctx m = {.out = out};
	for (m.family = 0; m.family < 6; m.family++) {
		const char *fam = fam_names[m.family];
		buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", fam, fam_help[m.family], fam,
		           m.family < 4 ? "counter" : "gauge");
		spool_registry_foreach(metrics_one, &m);
	}
}

/* ---- the spool ------------------------------------------------------------------ */

struct segment {
	uint64_t seq;
	uint64_t size;            /* valid bytes (the file may hold more: corrupt) */
	uint64_t frames, records; /* not yet replayed */
	uint64_t bytes;           /* of those frames, headers included */
	int64_t last_time;        /* the newest record's spool time */
};

struct spool {
	pthread_mutex_t lock;
	char *dir;
	int dirfd;
	uint64_t max_bytes, segment_bytes;
	int64_t max_age_ns;
	int64_t (*clock)(void);
	struct segment *seg; /* oldest first */
	size_t nseg, capseg;
	uint64_t head_off; /* replay position in seg[0] */
	int head_fd;       /* seg[0] open for reading, or -1 */
	uint64_t head_fd_seq;
	int tail_fd; /* the last segment, open for appending, or -1 */
	uint64_t tail_fd_seq;
	uint64_t next_seq;
	int64_t retry_at;    /* mono ns; 0: due */
	int64_t backoff;     /* ns, the last delay */
	int64_t drop_logged; /* mono ns of the last "full" warning */
	uint64_t lost;       /* frames lost to write errors since the last append that worked */
	unsigned rand_state;
	struct spool_counters *c;
	struct spool_counters own; /* when the registry is full */
	struct buf batch;
};

struct rec_header {
	uint32_t magic, len;
	uint64_t records;
	int64_t time_ns;
	uint32_t crc, zero;
};
_Static_assert(sizeof(struct rec_header) == SPOOL_RECORD_HEADER, "record header");

struct cursor_file {
	uint32_t magic, crc;
	uint64_t seq, off;
};

static void seg_name(char *dst, size_t cap, uint64_t seq)
{
	snprintf(dst, cap, "%016llx.seg", (unsigned long long)seq);
}

static int64_t spool_now(const struct spool *sp)
{
	return sp->clock ? sp->clock() : now_ns();
}

static void count_add(atomic_uint_fast64_t *a, uint64_t v)
{
	atomic_fetch_add(a, v);
}

static void count_sub(atomic_uint_fast64_t *a, uint64_t v)
{
	atomic_fetch_sub(a, v);
}

static void write_cursor(struct spool *sp)
{
	struct cursor_file cf = {.magic = CUR_MAGIC};
	if (sp->nseg) {
		cf.seq = sp->seg[0].seq;
		cf.off = sp->head_off;
	} else {
		cf.seq = sp->next_seq;
	}
	cf.crc = crc32c(0, &cf.seq, sizeof(cf.seq) + sizeof(cf.off));
	int fd = openat(sp->dirfd, "cursor", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || pwrite(fd, &cf, sizeof(cf), 0) != (ssize_t)sizeof(cf))
		log_warn("spool %s: cannot write the cursor: %s", sp->dir, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Remove seg[0] (replayed, expired or dropped). */
static void pop_segment(struct spool *sp)
{
	char name[32];
	seg_name(name, sizeof(name), sp->seg[0].seq);
	if (sp->head_fd_seq == sp->seg[0].seq)
		close_fd(&sp->head_fd);
	if (sp->tail_fd_seq == sp->seg[0].seq)
		close_fd(&sp->tail_fd);
	if (unlinkat(sp->dirfd, name, 0) < 0 && errno != ENOENT)
		log_warn("spool %s: cannot remove %s: %s", sp->dir, name, strerror(errno));
	memmove(sp->seg, sp->seg + 1, (sp->nseg - 1) * sizeof(sp->seg[0]));
	sp->nseg--;
	sp->head_off = 0;
}

/* Drop seg[0] whole, counting what it still held as dropped. */
static void drop_oldest(struct spool *sp)
{
	struct segment *s = &sp->seg[0];
	count_add(&sp->c->dropped_frames, s->frames);
	count_add(&sp->c->dropped_records, s->records);
	count_add(&sp->c->dropped_bytes, s->bytes);
	count_sub(&sp->c->frames, s->frames);
	count_sub(&sp->c->bytes, s->bytes);
	pop_segment(sp);
}

/* ---- recovery ------------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Read the header at `off` and check the record's checksum (streaming).
 * Returns 1 for a good record, 0 at a clean end of file, -1 when the
 * record is torn or corrupt. */
static int check_record(int fd, uint64_t off, uint64_t file_size, struct rec_header *h,
                        char *scratch, size_t scratch_len)
{
	if (off == file_size)
		return 0;
	if (file_size - off < sizeof(*h) ||
	    pread(fd, h, sizeof(*h), (off_t)off) != (ssize_t)sizeof(*h))
		return -1;
	if (h->magic != REC_MAGIC || h->zero != 0 || h->len > file_size - off - sizeof(*h))
		return -1;
	uint32_t want = h->crc;
	h->crc = 0;
	uint32_t crc = crc32c(0, h, sizeof(*h));
	h->crc = want;
	uint64_t done = 0;
	while (done < h->len) {
		size_t n = h->len - done < scratch_len ? (size_t)(h->len - done) : scratch_len;
		if (pread(fd, scratch, n, (off_t)(off + sizeof(*h) + done)) != (ssize_t)n)
			return -1;
		crc = crc32c(crc, scratch, n);
		done += n;
	}
	return crc == want ? 1 : -1;
}

/* Scan segment `seq` from `from`; fill *s.  `last`: the newest segment (a
 * bad record there is a torn tail: the file is truncated). */
static int scan_segment(struct spool *sp, uint64_t seq, uint64_t from, bool last, struct segment *s)
{
	char name[32];
	seg_name(name, sizeof(name), seq);
	int fd = openat(sp->dirfd, name, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	memset(s, 0, sizeof(*s));
	s->seq = seq;
	uint64_t size = (uint64_t)st.st_size, off = 0;
	char scratch[65536];
	struct rec_header h;
	int r;
	while ((r = check_record(fd, off, size, &h, scratch, sizeof(scratch))) > 0) {
		if (off >= from) {
			s->frames++;
			s->records += h.records;
			s->bytes += sizeof(h) + h.len;
			if (h.time_ns > s->last_time)
				s->last_time = h.time_ns;
		}
		off += sizeof(h) + h.len;
	}
	s->size = off;
	if (r < 0) {
		uint64_t lost = size - off;
		count_add(&sp->c->torn_bytes, lost);
		count_add(&sp->c->torn_records, 1);
		log_warn("spool %s: %s: %llu bytes of a torn or corrupt record at offset %llu "
		         "skipped",
		         sp->dir, name, (unsigned long long)lost, (unsigned long long)off);
		if (last && ftruncate(fd, (off_t)off) == 0)
			(void)fdatasync(fd);
	}
	close(fd);
	return 0;
}

static bool read_cursor(struct spool *sp, uint64_t *seq, uint64_t *off)
{
	struct cursor_file cf;
	int fd = openat(sp->dirfd, "cursor", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = pread(fd, &cf, sizeof(cf), 0);
	close(fd);
	if (n != (ssize_t)sizeof(cf) || cf.magic != CUR_MAGIC ||
	    cf.crc != crc32c(0, &cf.seq, sizeof(cf.seq) + sizeof(cf.off)))
		return false;
	*seq = cf.seq;
	*off = cf.off;
	return true;
}

static int recover(struct spool *sp)
{
	DIR *d = fdopendir(dup(sp->dirfd));
	if (!d)
		return -errno;
	uint64_t *seqs = NULL;
	size_t n = 0, cap = 0;
	const struct dirent *de;
	while ((de = readdir(d))) {
		const char *p = de->d_name, *end = p + strlen(p);
		uint64_t v = 0;
		if (end - p != 20 || strcmp(p + 16, ".seg") != 0)
			continue;
		bool ok = true;
		for (int i = 0; i < 16; i++) {
			int x = hex_digit(p[i]);
			ok = ok && x >= 0;
			v = v << 4 | (uint64_t)(x < 0 ? 0 : x);
		}
		if (!ok)
			continue;
		if (grow_array((void **)&seqs, &cap, n + 1, sizeof(*seqs)) < 0) {
			closedir(d);
			free(seqs);
			return -ENOMEM;
		}
		seqs[n++] = v;
	}
	closedir(d);
	if (n)
		qsort(seqs, n, sizeof(*seqs), cmp_u64);
	uint64_t cseq = 0, coff = 0;
	bool have_cursor = read_cursor(sp, &cseq, &coff);
	sp->next_seq = n ? seqs[n - 1] + 1 : (have_cursor ? cseq : 1);
	if (sp->next_seq == 0)
		sp->next_seq = 1;
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		char name[32];
		seg_name(name, sizeof(name), seqs[i]);
		if (have_cursor && seqs[i] < cseq) {
			(void)unlinkat(sp->dirfd, name, 0); /* replayed before a crash */
			continue;
		}
		uint64_t from = have_cursor && seqs[i] == cseq ? coff : 0;
		struct segment s;
		r = scan_segment(sp, seqs[i], from, i + 1 == n, &s);
		if (r < 0)
			break;
		if (from > s.size)
			from = s.size;
		if (!s.frames) {
			(void)unlinkat(sp->dirfd, name, 0);
			continue;
		}
		if (grow_array((void **)&sp->seg, &sp->capseg, sp->nseg + 1, sizeof(s)) < 0) {
			r = -ENOMEM;
			break;
		}
		if (!sp->nseg)
			sp->head_off = from;
		sp->seg[sp->nseg++] = s;
		count_add(&sp->c->frames, s.frames);
		count_add(&sp->c->bytes, s.bytes);
	}
	free(seqs);
	return r;
}

/* ---- open, append ---------------------------------------------------------------- */

static int mkdir_p(const char *path)
{
	char tmp[4096];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int spool_open(const struct spool_opts *o, struct spool **out, char *err, size_t errlen)
{
	*out = NULL;
	pthread_once(&crc_once, crc_init);
	int r = mkdir_p(o->dir);
	if (r < 0) {
		snprintf(err, errlen, "spool %s: cannot make the directory: %s", o->dir,
		         strerror(-r));
		return r;
	}
	int dfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = -errno;
		snprintf(err, errlen, "spool %s: %s", o->dir, strerror(-r));
		return r;
	}
	struct spool *sp = xcalloc(1, sizeof(*sp));
	pthread_mutex_init(&sp->lock, NULL);
	sp->dir = xstrdup(o->dir);
	sp->dirfd = dfd;
	sp->head_fd = sp->tail_fd = -1;
	sp->max_bytes = o->max_bytes ? o->max_bytes : SPOOL_DEFAULT_MAX_BYTES;
	sp->max_age_ns = o->max_age_s < 0   ? 0
	                 : o->max_age_s > 0 ? o->max_age_s * 1000000000LL
	                                    : SPOOL_DEFAULT_MAX_AGE_S * 1000000000LL;
	uint64_t segb = o->segment_bytes ? o->segment_bytes : sp->max_bytes / 16;
	sp->segment_bytes = segb < 4096 ? 4096 : segb > (64u << 20) ? (64u << 20) : segb;
	sp->clock = o->clock;
	sp->rand_state = (unsigned)(now_ns() ^ (int64_t)getpid());
	sp->c = counters_for(o->name ? o->name : o->dir);
	if (!sp->c) {
		sp->c = &sp->own;
		copy_str(sp->own.name, sizeof(sp->own.name), o->dir, strlen(o->dir));
	}
	copy_str(sp->c->dir, sizeof(sp->c->dir), o->dir, strlen(o->dir));
	/* a reopened spool recounts what is on disk now */
	atomic_store(&sp->c->frames, 0);
	atomic_store(&sp->c->bytes, 0);
	if ((r = recover(sp)) < 0) {
		snprintf(err, errlen, "spool %s: cannot read it back: %s", o->dir, strerror(-r));
		spool_close(sp);
		return r;
	}
	if (sp->nseg)
		log_info("spool %s: %llu frames (%llu bytes) from a previous run wait for delivery",
		         sp->dir, (unsigned long long)atomic_load(&sp->c->frames),
		         (unsigned long long)atomic_load(&sp->c->bytes));
	*out = sp;
	return 0;
}

/* The segment to append `need` bytes to: the last one, or a new one. */
static int tail_for(struct spool *sp, uint64_t need)
{
	struct segment *t = sp->nseg ? &sp->seg[sp->nseg - 1] : NULL;
	if (t && t->size + need <= sp->segment_bytes) {
		if (sp->tail_fd >= 0 && sp->tail_fd_seq == t->seq)
			return 0;
		close_fd(&sp->tail_fd);
		char name[32];
		seg_name(name, sizeof(name), t->seq);
		sp->tail_fd = openat(sp->dirfd, name, O_WRONLY | O_CLOEXEC);
		if (sp->tail_fd < 0)
			return -errno;
		sp->tail_fd_seq = t->seq;
		return 0;
	}
	if (grow_array((void **)&sp->seg, &sp->capseg, sp->nseg + 1, sizeof(*sp->seg)) < 0)
		return -ENOMEM;
	close_fd(&sp->tail_fd);
	char name[32];
	uint64_t seq = sp->next_seq;
	seg_name(name, sizeof(name), seq);
	int fd = openat(sp->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	(void)fsync(sp->dirfd); /* the new name survives a crash */
	sp->next_seq++;
	sp->tail_fd = fd;
	sp->tail_fd_seq = seq;
	if (!sp->nseg)
		sp->head_off = 0;
	sp->seg[sp->nseg++] = (struct segment){.seq = seq};
	return 0;
}

static void count_dropped(struct spool *sp, uint64_t records, uint64_t bytes)
{
	count_add(&sp->c->dropped_frames, 1);
	count_add(&sp->c->dropped_records, records);
	count_add(&sp->c->dropped_bytes, bytes);
}

int spool_append(struct spool *sp, const void *data, size_t len, uint64_t records)
{
	uint64_t need = SPOOL_RECORD_HEADER + (uint64_t)len;
	pthread_mutex_lock(&sp->lock);
	int r = 0;
	if (need > sp->max_bytes || len > UINT32_MAX) {
		r = -EFBIG;
		goto fail;
	}
	/* full: drop the oldest segments whole until the frame fits */
	while (sp->nseg && atomic_load(&sp->c->bytes) + need > sp->max_bytes) {
		int64_t t = mono_ns();
		if (!sp->drop_logged || t - sp->drop_logged > 60 * 1000000000LL) {
			/* once a minute at most: a full spool drops on every frame */
			log_warn("spool %s: full (max %llu bytes): dropping the oldest frames "
			         "(%llu dropped so far)",
			         sp->dir, (unsigned long long)sp->max_bytes,
			         (unsigned long long)(atomic_load(&sp->c->dropped_frames) +
			                              sp->seg[0].frames));
			sp->drop_logged = t;
		}
		drop_oldest(sp);
		write_cursor(sp);
	}
	if ((r = tail_for(sp, need)) < 0)
		goto fail;
	struct segment *t = &sp->seg[sp->nseg - 1];
	struct rec_header h = {
	    .magic = REC_MAGIC, .len = (uint32_t)len, .records = records, .time_ns = spool_now(sp)};
	h.crc = crc32c(crc32c(0, &h, sizeof(h)), data, len);
	struct iovec iov[2] = {{&h, sizeof(h)}, {(void *)data, len}};
	size_t done = 0;
	while (done < need) {
		ssize_t n;
		if (done < sizeof(h)) {
			struct iovec v[2] = {{(char *)&h + done, sizeof(h) - done}, iov[1]};
			n = pwritev(sp->tail_fd, v, 2, (off_t)(t->size + done));
		} else {
			n = pwrite(sp->tail_fd, (const char *)data + (done - sizeof(h)),
			           need - done, (off_t)(t->size + done));
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			(void)ftruncate(sp->tail_fd, (off_t)t->size);
			goto fail;
		}
		done += (size_t)n;
	}
	if (fdatasync(sp->tail_fd) < 0) {
		r = -errno;
		(void)ftruncate(sp->tail_fd, (off_t)t->size);
		goto fail;
	}
	t->size += need;
	t->frames++;
	t->records += records;
	t->bytes += need;
	if (h.time_ns > t->last_time)
		t->last_time = h.time_ns;
	count_add(&sp->c->spooled_frames, 1);
	count_add(&sp->c->spooled_records, records);
	count_add(&sp->c->spooled_bytes, need);
	count_add(&sp->c->frames, 1);
	count_add(&sp->c->bytes, need);
	if (sp->lost)
		log_warn("spool %s: writing again (%llu frames were lost meanwhile)", sp->dir,
		         (unsigned long long)sp->lost);
	sp->lost = 0;
	pthread_mutex_unlock(&sp->lock);
	return 0;
fail:
	count_dropped(sp, records, need);
	/* once per episode: a full disk fails every append (all counted) */
	if (r == -EFBIG || !sp->lost++)
		log_warn("spool %s: a frame of %zu bytes is lost: %s%s", sp->dir, len, strerror(-r),
		         r == -EFBIG ? ""
		                     : "; frames that cannot be written are dropped (counted as "
		                       "event=\"dropped\") until one is written again");
	/* an empty new segment is removed with the next pop or at open */
	pthread_mutex_unlock(&sp->lock);
	return r;
}

/* ---- replay ------------------------------------------------------------------------ */

/* A descriptor to read segment `seq` (cached: replay reads on in order). */
static int read_fd(struct spool *sp, uint64_t seq)
{
	if (sp->head_fd >= 0 && sp->head_fd_seq == seq)
		return sp->head_fd;
	close_fd(&sp->head_fd);
	char name[32];
	seg_name(name, sizeof(name), seq);
	sp->head_fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (sp->head_fd < 0)
		return -errno;
	sp->head_fd_seq = seq;
	return sp->head_fd;
}

/* Consume the record of `hdr` bytes at the head: replayed or dropped. */
static void consume(struct spool *sp, const struct rec_header *h, bool replayed)
{
	struct segment *s = &sp->seg[0];
	uint64_t n = sizeof(*h) + h->len;
	sp->head_off += n;
	s->frames--;
	s->records -= h->records;
	s->bytes -= n;
	count_sub(&sp->c->frames, 1);
	count_sub(&sp->c->bytes, n);
	if (replayed) {
		count_add(&sp->c->replayed_frames, 1);
		count_add(&sp->c->replayed_records, h->records);
		count_add(&sp->c->replayed_bytes, n);
	} else {
		count_dropped(sp, h->records, n);
	}
	if (sp->head_off >= s->size)
		pop_segment(sp);
}

struct pending {
	struct rec_header h;
	size_t at; /* offset of its bytes in sp->batch */
};

/* Drop expired segments and records at the head. */
static void expire(struct spool *sp, int64_t now)
{
	if (!sp->max_age_ns)
		return;
	int64_t limit = now - sp->max_age_ns;
	bool changed = false;
	while (sp->nseg && sp->seg[0].last_time < limit) {
		drop_oldest(sp);
		changed = true;
	}
	if (changed)
		write_cursor(sp);
}

static void backoff(struct spool *sp)
{
	int64_t d = sp->backoff ? sp->backoff * 2 : BACKOFF_MIN_NS;
	if (d > BACKOFF_MAX_NS)
		d = BACKOFF_MAX_NS;
	sp->backoff = d;
	/* 50-100% of the delay, so that many hosts do not retry in step */
	int64_t j =
	    d / 2 + (int64_t)((double)d * 0.5 * (rand_r(&sp->rand_state) / (double)RAND_MAX));
	sp->retry_at = mono_ns() + j;
}

int spool_replay(struct spool *sp, const struct spool_limits *lim, spool_deliver_fn deliver,
                 void *ctx)
{
	size_t max_items = lim && lim->max_items ? lim->max_items : 1;
	size_t max_bytes = lim && lim->max_bytes ? lim->max_bytes : (16u << 20);
	pthread_mutex_lock(&sp->lock);
	if (sp->retry_at && mono_ns() < sp->retry_at) {
		pthread_mutex_unlock(&sp->lock);
		return -EAGAIN;
	}
	int64_t now = spool_now(sp);
	expire(sp, now);
	while (sp->nseg && !sp->seg[0].frames) /* left by a failed append */
		pop_segment(sp);
	struct pending *pend = xcalloc(max_items < 256 ? max_items : 256, sizeof(*pend));
	size_t cap = max_items < 256 ? max_items : 256, n = 0;
	buf_reset(&sp->batch);
	int r = 0;
	/* gather: the records of the head segment(s), without consuming them */
	size_t si = 0;
	uint64_t off = sp->head_off;
	bool dropped = false;
	while (n < max_items && si < sp->nseg) {
		struct segment *s = &sp->seg[si];
		if (off >= s->size) {
			si++;
			off = 0;
			continue;
		}
		char name[32];
		seg_name(name, sizeof(name), s->seq);
		int fd = read_fd(sp, s->seq);
		if (fd < 0) {
			r = fd;
			break;
		}
		struct rec_header h;
		bool ok = pread(fd, &h, sizeof(h), (off_t)off) == (ssize_t)sizeof(h) &&
		          h.magic == REC_MAGIC && off + sizeof(h) + h.len <= s->size;
		if (ok && n && sp->batch.len + h.len > max_bytes)
			break;
		size_t at = sp->batch.len;
		if (ok) {
			buf_reserve(&sp->batch, h.len + 1);
			ok = pread(fd, sp->batch.data + at, h.len, (off_t)(off + sizeof(h))) ==
			     (ssize_t)h.len;
		}
		uint32_t want = h.crc;
		h.crc = 0;
		ok = ok && crc32c(crc32c(0, &h, sizeof(h)), sp->batch.data + at, h.len) == want;
		h.crc = want;
		if (!ok) {
			/* corrupt since it was scanned: the rest of this segment is lost */
			if (si == 0 && n == 0) {
				count_add(&sp->c->torn_bytes, s->size - off);
				count_add(&sp->c->torn_records, 1);
				count_add(&sp->c->dropped_frames, s->frames);
				count_add(&sp->c->dropped_records, s->records);
				count_add(&sp->c->dropped_bytes, s->bytes);
				count_sub(&sp->c->frames, s->frames);
				count_sub(&sp->c->bytes, s->bytes);
				log_warn(
				    "spool %s: a corrupt record at %s offset %llu: the rest of "
				    "the segment is dropped",
				    sp->dir, name, (unsigned long long)off);
				pop_segment(sp);
				dropped = true;
				off = sp->head_off;
				continue;
			}
			break;
		}
		if (sp->max_age_ns && h.time_ns < now - sp->max_age_ns && n == 0 && si == 0) {
			consume(sp, &h, false); /* expired: counted as dropped */
			dropped = true;
			off = sp->head_off;
			continue;
		}
		sp->batch.len += h.len;
		if (n == cap) {
			cap *= 2;
			pend = xreallocarray(pend, cap, sizeof(*pend));
		}
		pend[n].h = h;
		pend[n].at = at;
		n++;
		off += sizeof(h) + h.len;
	}
	if (r == 0 && n) {
		struct spool_item *items = xcalloc(n, sizeof(*items));
		for (size_t i = 0; i < n; i++)
			items[i] = (struct spool_item){.data = sp->batch.data + pend[i].at,
			                               .len = pend[i].h.len,
			                               .records = pend[i].h.records,
			                               .time_ns = pend[i].h.time_ns};
		r = deliver(ctx, items, n);
		free(items);
		if (r == 0) {
			for (size_t i = 0; i < n; i++)
				consume(sp, &pend[i].h, true);
			sp->backoff = 0;
			sp->retry_at = 0;
			r = (int)n;
		} else {
			if (r > 0)
				r = -EIO;
			backoff(sp);
		}
		write_cursor(sp);
	} else if (dropped) {
		write_cursor(sp);
	}
	free(pend);
	if (buf_str(&sp->batch) && sp->batch.len > (1u << 20))
		buf_free(&sp->batch);
	pthread_mutex_unlock(&sp->lock);
	return r;
}

void spool_count_rejected(struct spool *sp, uint64_t frames, uint64_t records, uint64_t bytes)
{
	count_add(&sp->c->rejected_frames, frames);
	count_add(&sp->c->rejected_records, records);
	count_add(&sp->c->rejected_bytes, bytes);
}

void spool_retry_later(struct spool *sp)
{
	pthread_mutex_lock(&sp->lock);
	if (!sp->retry_at || mono_ns() >= sp->retry_at)
		backoff(sp);
	pthread_mutex_unlock(&sp->lock);
}

bool spool_due(struct spool *sp)
{
	pthread_mutex_lock(&sp->lock);
	bool due = !sp->retry_at || mono_ns() >= sp->retry_at;
	pthread_mutex_unlock(&sp->lock);
	return due;
}

bool spool_empty(struct spool *sp)
{
	pthread_mutex_lock(&sp->lock);
	bool e = true;
	for (size_t i = 0; i < sp->nseg && e; i++)
		e = sp->seg[i].frames == 0;
	pthread_mutex_unlock(&sp->lock);
	return e;
}

const struct spool_counters *spool_counters(const struct spool *sp)
{
	return sp->c;
}

const char *spool_dir(const struct spool *sp)
{
	return sp->dir;
}

void spool_close(struct spool *sp)
{
	if (!sp)
		return;
	close_fd(&sp->head_fd);
	close_fd(&sp->tail_fd);
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	pthread_mutex_destroy(&sp->lock);
	free(sp->seg);
	free(sp->dir);
	buf_free(&sp->batch);
	free(sp);
}

/* ---- naming ------------------------------------------------------------------------ */

void spool_dir_for(const char *base, const char *url, char *dst, size_t cap)
{
	/* the URL without user info, query and fragment */
	char clean[1024];
	size_t n = 0;
	const char *p = url, *at = NULL;
	const char *sep = strstr(url, "://");
	const char *host = sep ? sep + 3 : url;
	for (const char *q = host; *q && *q != '/' && *q != '?' && *q != '#'; q++)
		if (*q == '@')
			at = q;
	size_t pathlen = 0;
	for (; *p && *p != '#' && n + 1 < sizeof(clean); p++) {
		if (at && p >= host && p <= at)
			continue;
		if (*p == '?' && !pathlen)
			pathlen = n;
		clean[n++] = *p;
	}
	clean[n] = 0;
	if (!pathlen)
		pathlen = n; /* the name stops before the query, the hash does not */
	char name[96];
	size_t m = 0;
	for (size_t i = 0; i < pathlen && m < 80; i++) {
		char c = clean[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		          (c >= '0' && c <= '9') || c == '.' || c == '-';
		if (!ok && m && name[m - 1] == '_')
			continue;
		name[m++] = ok ? c : '_';
	}
	name[m] = 0;
	snprintf(dst, cap, "%s/%s-%08x", base, name, (unsigned)(fnv1a(0, clean, n) & 0xffffffffu));
}
