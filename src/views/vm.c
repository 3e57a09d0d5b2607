/*
 * vm.c - the VM view: a Linux guest's processes, kernel facts, modules,
 * memory, load and CPU times, read from its RAM through src/vmi/.
 *
 * Every structure is read at the offsets the guest's BTF gave (the
 * profile); a field the profile lacks is left out of the record (its
 * `have` bit off), never guessed.  Task records are read in one span per
 * task (the smallest range covering the fields we use) to keep a crawl
 * to a few page reads per process.  Lists are bounded; a pointer that
 * does not translate ends that walk with an error through the view_iter
 * hook, and what was read before it stands.
 *
 * The guest is never written to and nothing runs inside it.  Files are
 * not part of this view (no file_* ops): the guest's disks are crawled
 * offline with --image.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/u64set.h"
#include "../util/util.h"
#include "vm.h"

#define PF_KTHREAD 0x00200000u
#define CMDLINE_MAX 4096
#define TASK_SPAN_MAX 16384

static struct vm_view *VV(struct view *v)
{
	return (struct vm_view *)v;
}

struct vmi *view_vm_vmi(struct view *v)
{
	return &VV(v)->vmi;
}

static void iter_err(const struct view_iter *it, const char *what, int err)
{
	if (it && it->error)
		it->error(it->ctx, what, err);
}

/* ---- the task list --------------------------------------------------------- */

/* The addresses seen by a walk (a u64set) stop it at a loop that does not
 * pass through the list head (a guest can link its list into a circle).
 * False when `a` was seen before; when memory runs out the walk goes on
 * unguarded (its bound still holds). */
static bool seen_add(struct u64set *s, uint64_t a)
{
	return u64set_add(s, a) != 0;
}

int vm_each_task(struct vm_view *vv, const struct view_iter *it,
                 int (*cb)(void *ctx, uint64_t task), void *ctx)
{
	struct vmi *v = &vv->vmi;
	uint32_t off = vmi_off(v, F_task_tasks);
	uint64_t head = vmi_sym(v, S_init_task) + off, next;
	if (vmi_u64(v, head, &next)) {
		iter_err(it, "task list: init_task unreadable", EFAULT);
		return 0;
	}
	struct u64set seen;
	u64set_init(&seen);
	int r = 0;
	for (int n = 0; next != head; n++) {
		if (n >= VMI_MAX_LIST) {
			iter_err(it, "task list: longer than the bound, walk stopped", E2BIG);
			break;
		}
		if (!seen_add(&seen, next)) {
			iter_err(it, "task list: loops without reaching its head, walk stopped",
			         ELOOP);
			break;
		}
		if (!vmi_kptr(v, next) || next < off) {
			char w[80];
			snprintf(w, sizeof(w), "task list: bad pointer %#llx, walk stopped",
			         (unsigned long long)next);
			iter_err(it, w, EFAULT);
			break;
		}
		uint64_t task = next - off;
		if ((r = cb(ctx, task)) != 0)
			break;
		if (vmi_u64(v, next, &next)) {
			iter_err(it, "task list: unreadable link, walk stopped", EFAULT);
			break;
		}
	}
	u64set_free(&seen);
	return r;
}

/* ---- processes --------------------------------------------------------------- */

static const enum vmi_field task_fields[] = {
    F_task_pid,        F_task_tgid,      F_task_comm,           F_task_real_parent,
    F_task_mm,         F_task_real_cred, F_task_state,          F_task_state_old,
    F_task_exit_state, F_task_flags,     F_task_start_boottime, F_task_utime,
    F_task_stime,      F_task_signal,
};

struct task_span {
	uint32_t lo, len;
};

static void task_span(const struct vmi *v, struct task_span *s)
{
	uint32_t lo = UINT32_MAX, hi = 0;
	for (size_t i = 0; i < ARRAY_SIZE(task_fields); i++) {
		enum vmi_field f = task_fields[i];
		if (!vmi_has(v, f))
			continue;
		if (v->p.off[f] < lo)
			lo = v->p.off[f];
		if (v->p.off[f] + v->p.fsize[f] > hi)
			hi = v->p.off[f] + v->p.fsize[f];
	}
	s->lo = lo;
	s->len = hi > lo && hi - lo <= TASK_SPAN_MAX ? hi - lo : 0;
}

/* A field of size <= 8 out of a span read. */
static uint64_t span_get(const struct vmi *v, const unsigned char *buf, const struct task_span *s,
                         enum vmi_field f, bool *ok)
{
	uint64_t x = 0;
	uint32_t sz = v->p.fsize[f];
	*ok = vmi_has(v, f) && sz && v->p.off[f] >= s->lo && v->p.off[f] + sz <= s->lo + s->len;
	if (*ok)
		memcpy(&x, buf + v->p.off[f] - s->lo, sz > 8 ? 8 : sz);
	return x;
}

static char state_char(uint64_t state, uint64_t exit_state)
{
	if (state == 0x402) /* TASK_IDLE: uninterruptible, no load */
		return 'I';
	unsigned s = (unsigned)((state | exit_state) & 0x7f);
	static const char map[] = "RSDTtXZP";
	int i = 0;
	while (s) { /* fls */
		i++;
		s >>= 1;
	}
	return map[i];
}

struct proc_walk {
	struct vm_view *vv;
	const struct view_iter *it;
	int (*cb)(void *ctx, const struct vt_proc *p);
	void *ctx;
	struct task_span span;
	unsigned char *buf;
	char cmd[CMDLINE_MAX + 1];
};

static int read_cmdline(struct vmi *v, uint64_t mm, char *dst, size_t *len, bool *cut)
{
	uint64_t pgd, start, end, pa;
	if (vmi_field(v, mm, F_mm_pgd, &pgd) || vmi_field(v, mm, F_mm_arg_start, &start) ||
	    vmi_field(v, mm, F_mm_arg_end, &end))
		return -EFAULT;
	if (end < start || !vmi_kptr(v, pgd) || vmi_vtop(v, pgd, &pa))
		return -EFAULT;
	size_t n = end - start > CMDLINE_MAX ? CMDLINE_MAX : end - start;
	if (n && vmi_read_pgd(v, pa, start, dst, n))
		return -EFAULT;
	*cut = end - start > CMDLINE_MAX;
	while (n && dst[n - 1] == 0)
		n--;
	for (size_t i = 0; i < n; i++)
		if (dst[i] == 0)
			dst[i] = ' ';
	dst[n] = 0;
	*len = n;
	return 0;
}

static uint64_t mm_rss_pages(struct vmi *v, uint64_t mm, bool *ok)
{
	const struct vmi_prof *p = &v->p;
	*ok = false;
	if (!vmi_has(v, F_mm_rss_stat) || !p->enum_ok[E_MM_FILEPAGES] ||
	    !p->enum_ok[E_MM_ANONPAGES] || !p->enum_ok[E_MM_SHMEMPAGES])
		return 0;
	int idx[3] = {(int)p->enumv[E_MM_FILEPAGES], (int)p->enumv[E_MM_ANONPAGES],
	              (int)p->enumv[E_MM_SHMEMPAGES]};
	uint64_t sum = 0;
	for (int i = 0; i < 3; i++) {
		int64_t c;
		uint64_t a = mm + p->off[F_mm_rss_stat];
		if (idx[i] < 0 || idx[i] > 16)
			return 0;
		if (p->rss_percpu) {
			if (!vmi_has(v, F_pcpu_counter_count))
				return 0;
			a += (uint64_t)idx[i] * p->tsize[Z_percpu_counter] +
			     p->off[F_pcpu_counter_count];
		} else {
			a += (uint64_t)idx[i] * 8;
		}
		if (vmi_read(v, a, &c, 8))
			return 0;
		if (c > 0)
			sum += (uint64_t)c;
	}
	*ok = true;
	return sum;
}

static int one_task(void *ctx, uint64_t task)
{
	struct proc_walk *w = ctx;
	struct vmi *v = &w->vv->vmi;
	struct vt_proc p = {0};
	bool ok;
	if (vmi_read(v, task + w->span.lo, w->buf, w->span.len)) {
		char what[64];
		snprintf(what, sizeof(what), "task at %#llx", (unsigned long long)task);
		iter_err(w->it, what, EFAULT);
		return 0;
	}
	p.pid = (int)span_get(v, w->buf, &w->span, F_task_tgid, &ok);
	int tid = (int)span_get(v, w->buf, &w->span, F_task_pid, &ok);
	if (!p.pid)
		p.pid = tid;
	p.nspid = p.pid;
	p.have |= VP_NSPID;
	if (vmi_has(v, F_task_comm)) {
		size_t n = v->p.fsize[F_task_comm] < sizeof(p.comm) ? v->p.fsize[F_task_comm]
		                                                    : sizeof(p.comm) - 1;
		memcpy(p.comm, w->buf + v->p.off[F_task_comm] - w->span.lo, n);
		p.comm[n] = 0;
		p.comm[strnlen(p.comm, n)] = 0;
		p.have |= VP_COMM;
	}
	uint64_t parent = span_get(v, w->buf, &w->span, F_task_real_parent, &ok), ptgid;
	if (ok && vmi_kptr(v, parent) && !vmi_field(v, parent, F_task_tgid, &ptgid)) {
		p.ppid = parent == task ? 0 : (int)(uint32_t)ptgid;
		p.have |= VP_PPID;
	}
	uint64_t cred = span_get(v, w->buf, &w->span, F_task_real_cred, &ok), uid;
	if (ok && vmi_kptr(v, cred) && !vmi_field(v, cred, F_cred_uid, &uid)) {
		p.uid = (uint32_t)uid;
		p.have |= VP_UID;
	}
	bool ok2;
	uint64_t st = span_get(v, w->buf, &w->span, F_task_state, &ok);
	if (!ok)
		st = span_get(v, w->buf, &w->span, F_task_state_old, &ok);
	uint64_t est = span_get(v, w->buf, &w->span, F_task_exit_state, &ok2);
	if (ok) {
		p.state = state_char(st, ok2 ? est : 0);
		p.have |= VP_STATE;
	}
	uint64_t start = span_get(v, w->buf, &w->span, F_task_start_boottime, &ok);
	/* a start after ~300 years of uptime is garbage, not a time */
	if (ok && w->vv->boot_time_ns > 0 && start < (uint64_t)1e19 / 1000) {
		p.start_time = (w->vv->boot_time_ns + (int64_t)start) / 1000000000;
		p.have |= VP_START;
	}
	uint64_t ut = span_get(v, w->buf, &w->span, F_task_utime, &ok);
	uint64_t stt = span_get(v, w->buf, &w->span, F_task_stime, &ok2);
	if (ok && ok2) {
		p.cpu_user_s = ut / 1e9;
		p.cpu_system_s = stt / 1e9;
		p.have |= VP_CPU;
	}
	uint64_t sig = span_get(v, w->buf, &w->span, F_task_signal, &ok), nthr;
	if (ok && vmi_kptr(v, sig) && !vmi_field(v, sig, F_signal_nr_threads, &nthr) &&
	    (uint32_t)nthr < 1u << 22) {
		p.threads = (uint32_t)nthr;
		p.have |= VP_THREADS;
	}
	uint64_t flags = span_get(v, w->buf, &w->span, F_task_flags, &ok);
	uint64_t mm = span_get(v, w->buf, &w->span, F_task_mm, &ok2);
	if (ok2 && mm && !(ok && (flags & PF_KTHREAD))) {
		if (!vmi_kptr(v, mm)) {
			p.err = EFAULT;
		} else {
			size_t n = 0;
			if (!read_cmdline(v, mm, w->cmd, &n, &p.cmdline_cut)) {
				p.cmdline = w->cmd;
				p.cmdline_len = n;
				p.have |= VP_CMDLINE;
			} else {
				p.err = EFAULT;
			}
			uint64_t rss = mm_rss_pages(v, mm, &ok), vm;
			if (ok) {
				p.rss_kb = rss * 4;
				p.have |= VP_RSS;
			}
			if (!vmi_field(v, mm, F_mm_total_vm, &vm)) {
				p.vsz_kb = vm * 4;
				p.have |= VP_VSZ;
			}
		}
	} else if (ok2 && ok && (flags & PF_KTHREAD)) {
		p.rss_kb = 0;
		p.have |= VP_RSS;
	}
	if (p.pid <= 0)
		return 0;
	return w->cb(w->ctx, &p);
}

static int vm_processes(struct view *v, const struct view_iter *it,
                        int (*cb)(void *ctx, const struct vt_proc *p))
{
	struct proc_walk *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->vv = VV(v);
	w->it = it;
	w->cb = cb;
	w->ctx = it ? it->ctx : NULL;
	task_span(&w->vv->vmi, &w->span);
	if (!w->span.len) {
		free(w);
		return -ENOTSUP;
	}
	w->buf = malloc(w->span.len);
	int r = w->buf ? vm_each_task(w->vv, it, one_task, w) : -ENOMEM;
	free(w->buf);
	free(w);
	return r;
}

/* ---- kernel facts ----------------------------------------------------------- */

static int tk_read(struct vmi *v, enum vmi_field f, uint64_t *out)
{
	if (!v->p.sym_ok[S_tk_core] || v->p.tk_timekeeper == VMI_NONE)
		return -ENOENT;
	return vmi_field(v, vmi_sym(v, S_tk_core) + v->p.tk_timekeeper, f, out);
}

/* Guest clock: uptime (boot-based) and wall-clock seconds. */
static int guest_clock(struct vmi *v, double *uptime, int64_t *wall)
{
	uint64_t ksec, offs, xsec;
	if (tk_read(v, F_tk_ktime_sec, &ksec) || tk_read(v, F_tk_xtime_sec, &xsec))
		return -ENOENT;
	if (tk_read(v, F_tk_offs_boot, &offs))
		offs = 0;
	/* hostile values: uptime under ~300 years, wall clock from 1970 to ~5000 */
	if (ksec > 10000000000ull || xsec > 100000000000ull ||
	    (int64_t)offs > INT64_C(10000000000000000) ||
	    (int64_t)offs < -INT64_C(10000000000000000))
		return -EINVAL;
	*uptime = (double)ksec + (double)(int64_t)offs / 1e9;
	*wall = (int64_t)xsec;
	if (*uptime < 0 || *uptime > 1e10)
		return -EINVAL;
	return 0;
}

static void uts_field(struct vmi *v, uint64_t uts, enum vmi_field f, char *dst, size_t cap,
                      unsigned bit, unsigned *have)
{
	if (!vmi_has(v, f))
		return;
	size_t n = v->p.fsize[f] < cap ? v->p.fsize[f] : cap - 1;
	if (vmi_read(v, uts + vmi_off(v, f), dst, n))
		return;
	dst[n] = 0;
	dst[strnlen(dst, n)] = 0;
	*have |= bit;
}

static int vm_kernel(struct view *v, struct vt_kernel *k)
{
	struct vmi *m = &VV(v)->vmi;
	memset(k, 0, sizeof(*k));
	uint64_t uts = vmi_sym(m, S_init_uts_ns) + vmi_off(m, F_uts_name);
	uts_field(m, uts, F_utsname_release, k->release, sizeof(k->release), VK_RELEASE, &k->have);
	uts_field(m, uts, F_utsname_version, k->version, sizeof(k->version), VK_VERSION, &k->have);
	uts_field(m, uts, F_utsname_nodename, k->hostname, sizeof(k->hostname), VK_HOSTNAME,
	          &k->have);
	uts_field(m, uts, F_utsname_domainname, k->domainname, sizeof(k->domainname), VK_DOMAIN,
	          &k->have);
	uts_field(m, uts, F_utsname_machine, k->machine, sizeof(k->machine), VK_MACHINE, &k->have);
	double up;
	int64_t wall;
	if (!guest_clock(m, &up, &wall)) {
		k->uptime = up;
		k->boot_time = (double)wall - up;
		k->have |= VK_UPTIME | VK_BOOT;
	}
	return k->have ? 0 : -EFAULT;
}

/* ---- modules ------------------------------------------------------------------ */

static uint64_t module_size(struct vmi *v, uint64_t mod, bool *ok)
{
	const struct vmi_prof *p = &v->p;
	uint64_t total = 0, x;
	*ok = false;
	if (vmi_has(v, F_module_core_layout) && vmi_has(v, F_module_layout_size)) {
		if (vmi_field(v, mod + p->off[F_module_core_layout], F_module_layout_size, &total))
			return 0;
		if (vmi_has(v, F_module_init_layout) &&
		    !vmi_field(v, mod + p->off[F_module_init_layout], F_module_layout_size, &x))
			total += x;
		*ok = true;
	} else if (vmi_has(v, F_module_mem) && vmi_has(v, F_module_memory_size) &&
	           p->tsize[Z_module_memory] != VMI_NONE && p->tsize[Z_module_memory]) {
		uint32_t n = p->fsize[F_module_mem] / p->tsize[Z_module_memory];
		for (uint32_t i = 0; i < n && i < 16; i++) {
			uint64_t a =
			    mod + p->off[F_module_mem] + (uint64_t)i * p->tsize[Z_module_memory];
			if (vmi_field(v, a, F_module_memory_size, &x))
				return 0;
			total += (uint32_t)x;
		}
		*ok = true;
	}
	return total;
}

/* Names of the modules using this one (its source_list), comma-separated. */
static bool module_deps(struct vmi *v, uint64_t mod, char *dst, size_t cap)
{
	dst[0] = 0;
	if (!vmi_has(v, F_module_source_list) || !vmi_has(v, F_muse_source_list) ||
	    !vmi_has(v, F_muse_source))
		return false;
	uint64_t head = mod + vmi_off(v, F_module_source_list), next;
	size_t o = 0;
	if (vmi_u64(v, head, &next))
		return false;
	for (int n = 0; next != head && n < 1024; n++) {
		uint64_t use = next - vmi_off(v, F_muse_source_list), src;
		char name[64];
		if (!vmi_kptr(v, next) || vmi_field(v, use, F_muse_source, &src) ||
		    !vmi_kptr(v, src) || vmi_read(v, src + vmi_off(v, F_module_name), name, 56))
			return false;
		name[56] = 0;
		int w = snprintf(dst + o, cap - o, "%s%s", o ? "," : "", name);
		if (w < 0 || (size_t)w >= cap - o)
			return false;
		o += w;
		if (vmi_u64(v, next, &next))
			return false;
	}
	return true;
}

static int vm_modules(struct view *v, const struct view_iter *it,
                      int (*cb)(void *ctx, const struct vt_module *m))
{
	struct vmi *m = &VV(v)->vmi;
	const struct vmi_prof *p = &m->p;
	if (!m->p.sym_ok[S_modules] || !vmi_has(m, F_module_list) || !vmi_has(m, F_module_name))
		return -ENOTSUP;
	uint64_t head = vmi_sym(m, S_modules), next;
	if (vmi_u64(m, head, &next))
		return -EFAULT;
	struct u64set seen;
	u64set_init(&seen);
	int r = 0;
	for (int n = 0; next != head; n++) {
		if (!seen_add(&seen, next)) {
			iter_err(it, "module list: loops without reaching its head", ELOOP);
			goto out;
		}
		if (n >= 4096 || !vmi_kptr(m, next)) {
			iter_err(it,
			         n >= 4096 ? "module list: longer than the bound"
			                   : "module list: bad pointer, walk stopped",
			         n >= 4096 ? E2BIG : EFAULT);
			goto out;
		}
		uint64_t mod = next - p->off[F_module_list];
		char name[64], deps[1024];
		uint64_t state = 0, ref = 0;
		if (vmi_read(m, mod + p->off[F_module_name], name, 56)) {
			iter_err(it, "module: unreadable", EFAULT);
			goto out;
		}
		name[56] = 0;
		vmi_field(m, mod, F_module_state, &state);
		struct vt_module rec = {.name = name, .refcount = -1};
		const char *sname = NULL;
		if (p->enum_ok[E_MODULE_STATE_LIVE] &&
		    (int64_t)(uint32_t)state == p->enumv[E_MODULE_STATE_LIVE])
			sname = "Live";
		else if (p->enum_ok[E_MODULE_STATE_COMING] &&
		         (int64_t)(uint32_t)state == p->enumv[E_MODULE_STATE_COMING])
			sname = "Loading";
		else if (p->enum_ok[E_MODULE_STATE_GOING] &&
		         (int64_t)(uint32_t)state == p->enumv[E_MODULE_STATE_GOING])
			sname = "Unloading";
		rec.state = sname;
		bool ok;
		rec.size = module_size(m, mod, &ok);
		if (!vmi_field(m, mod, F_module_refcnt, &ref))
			rec.refcount = (int64_t)(int32_t)(uint32_t)ref - 1; /* MODULE_REF_BASE */
		rec.deps = module_deps(m, mod, deps, sizeof(deps)) ? deps : NULL;
		/* a module still being formed is not listed, as in /proc/modules */
		if (sname) {
			r = cb(it ? it->ctx : NULL, &rec);
			if (r)
				goto out;
		}
		if (vmi_u64(m, next, &next)) {
			iter_err(it, "module list: unreadable link", EFAULT);
			goto out;
		}
	}
	r = 0;
out:
	u64set_free(&seen);
	return r;
}

/* ---- memory, load, CPU ----------------------------------------------------------- */

static int atomic_at(struct vmi *v, enum vmi_sym s, int64_t idx, int64_t *out)
{
	if (!v->p.sym_ok[s] || idx < 0 || idx > 256)
		return -ENOENT;
	return vmi_read(v, vmi_sym(v, s) + 8 * (uint64_t)idx, out, 8);
}

/* Sum of the low watermarks of every zone (si_mem_available's wmark_low). */
static int wmark_low(struct vmi *v, uint64_t *out)
{
	const struct vmi_prof *p = &v->p;
	uint64_t nodes = 0;
	if (!p->sym_ok[S_node_data] || !vmi_has(v, F_pgdat_node_zones) ||
	    !vmi_has(v, F_zone_watermark) || p->tsize[Z_zone] == VMI_NONE || !p->tsize[Z_zone] ||
	    !p->enum_ok[E_WMARK_LOW])
		return -ENOENT;
	uint32_t nr_nodes = 1;
	if (p->sym_ok[S_nr_node_ids])
		vmi_u32(v, vmi_sym(v, S_nr_node_ids), &nr_nodes);
	if (nr_nodes > 1024)
		return -EINVAL;
	uint32_t nzones = p->fsize[F_pgdat_node_zones] / p->tsize[Z_zone];
	*out = 0;
	for (uint32_t n = 0; n < nr_nodes; n++) {
		uint64_t pgdat;
		if (vmi_u64(v, vmi_sym(v, S_node_data) + 8 * n, &pgdat))
			return -EFAULT;
		if (!pgdat)
			continue;
		if (!vmi_kptr(v, pgdat))
			return -EFAULT;
		nodes++;
		for (uint32_t z = 0; z < nzones && z < 8; z++) {
			uint64_t zone =
			    pgdat + p->off[F_pgdat_node_zones] + (uint64_t)z * p->tsize[Z_zone];
			uint64_t wm, boost = 0;
			if (vmi_u64(v,
			            zone + p->off[F_zone_watermark] +
			                8 * (uint64_t)p->enumv[E_WMARK_LOW],
			            &wm))
				return -EFAULT;
			vmi_field(v, zone, F_zone_watermark_boost, &boost);
			*out += wm + boost;
		}
	}
	return nodes ? 0 : -ENOENT;
}

static int vm_memory(struct view *v, struct vt_mem *out)
{
	struct vmi *m = &VV(v)->vmi;
	const struct vmi_prof *p = &m->p;
	memset(out, 0, sizeof(*out));
	int64_t total, freep;
	if (!p->sym_ok[S__totalram_pages] ||
	    vmi_read(m, vmi_sym(m, S__totalram_pages), &total, 8) || !p->enum_ok[E_NR_FREE_PAGES] ||
	    atomic_at(m, S_vm_zone_stat, p->enumv[E_NR_FREE_PAGES], &freep) || total <= 0)
		return -ENOTSUP;
	/* guest counters are hostile: each is clamped to [0, total] so the
	 * arithmetic below cannot overflow */
	if (total > (INT64_C(1) << 50))
		return -EINVAL;
#define CLAMP(x) ((x) = (x) < 0 ? 0 : (x) > total ? total : (x))
	CLAMP(freep);
	out->total_kb = (uint64_t)total * 4;
	out->free_kb = (uint64_t)freep * 4;
	/* MemAvailable as the guest kernel computes it (si_mem_available). */
	int64_t af, inf, slab, misc = 0, reserve;
	uint64_t wl;
	if (p->enum_ok[E_NR_ACTIVE_FILE] && p->enum_ok[E_NR_INACTIVE_FILE] &&
	    p->enum_ok[E_NR_SLAB_RECLAIMABLE_B] && p->sym_ok[S_totalreserve_pages] &&
	    !atomic_at(m, S_vm_node_stat, p->enumv[E_NR_ACTIVE_FILE], &af) &&
	    !atomic_at(m, S_vm_node_stat, p->enumv[E_NR_INACTIVE_FILE], &inf) &&
	    !atomic_at(m, S_vm_node_stat, p->enumv[E_NR_SLAB_RECLAIMABLE_B], &slab) &&
	    !vmi_read(m, vmi_sym(m, S_totalreserve_pages), &reserve, 8) && !wmark_low(m, &wl)) {
		if (p->enum_ok[E_NR_KERNEL_MISC_RECLAIMABLE])
			atomic_at(m, S_vm_node_stat, p->enumv[E_NR_KERNEL_MISC_RECLAIMABLE], &misc);
		CLAMP(af);
		CLAMP(inf);
		CLAMP(slab);
		CLAMP(misc);
		CLAMP(reserve);
		if (wl > (uint64_t)total)
			wl = (uint64_t)total;
		int64_t avail = freep - reserve;
		int64_t pagecache = (af > 0 ? af : 0) + (inf > 0 ? inf : 0);
		pagecache -= pagecache / 2 < (int64_t)wl ? pagecache / 2 : (int64_t)wl;
		avail += pagecache;
		int64_t recl = (slab > 0 ? slab : 0) + (misc > 0 ? misc : 0);
		avail += recl - (recl / 2 < (int64_t)wl ? recl / 2 : (int64_t)wl);
		out->available_kb = avail > 0 ? (uint64_t)avail * 4 : 0;
		out->have |= VM_AVAILABLE;
	}
#undef CLAMP
	return 0;
}

static int vm_load(struct view *v, struct vt_load *out)
{
	struct vmi *m = &VV(v)->vmi;
	uint64_t a[3];
	memset(out, 0, sizeof(*out));
	if (!m->p.sym_ok[S_avenrun] || vmi_read(m, vmi_sym(m, S_avenrun), a, sizeof(a)))
		return -ENOTSUP;
	out->load1 = a[0] / 2048.0; /* FIXED_1 = 1 << FSHIFT(11) */
	out->load5 = a[1] / 2048.0;
	out->load15 = a[2] / 2048.0;
	uint32_t nthr;
	if (m->p.sym_ok[S_nr_threads] && !vmi_u32(m, vmi_sym(m, S_nr_threads), &nthr))
		out->total = nthr;
	uint32_t ncpu = 1;
	if (m->p.sym_ok[S_nr_cpu_ids])
		vmi_u32(m, vmi_sym(m, S_nr_cpu_ids), &ncpu);
	for (uint32_t c = 0; c < ncpu && c < 8192 && vmi_has(m, F_rq_nr_running); c++) {
		uint64_t rq, nr;
		if (vmi_percpu(m, S_runqueues, (int)c, &rq) ||
		    vmi_field(m, rq, F_rq_nr_running, &nr))
			break;
		out->running += (uint32_t)nr;
	}
	return 0;
}

static bool cpu_online(struct vmi *m, uint32_t c)
{
	uint64_t word;
	if (!m->p.sym_ok[S___cpu_online_mask])
		return true;
	if (vmi_u64(m, vmi_sym(m, S___cpu_online_mask) + 8 * (c / 64), &word))
		return false;
	return word >> (c % 64) & 1;
}

static int vm_cpu_times(struct view *v, const struct view_iter *it,
                        int (*cb)(void *ctx, const struct vt_cpu *c))
{
	struct vmi *m = &VV(v)->vmi;
	const struct vmi_prof *p = &m->p;
	if (!p->sym_ok[S_kernel_cpustat] || !vmi_has(m, F_kcs_cpustat) ||
	    !p->enum_ok[E_CPUTIME_USER] || !p->enum_ok[E_CPUTIME_IDLE])
		return -ENOTSUP;
	uint32_t ncpu = 1;
	if (p->sym_ok[S_nr_cpu_ids])
		vmi_u32(m, vmi_sym(m, S_nr_cpu_ids), &ncpu);
	if (ncpu > 8192)
		return -EINVAL;
	static const enum vmi_enum idx[] = {E_CPUTIME_USER,    E_CPUTIME_NICE,   E_CPUTIME_SYSTEM,
	                                    E_CPUTIME_IDLE,    E_CPUTIME_IOWAIT, E_CPUTIME_IRQ,
	                                    E_CPUTIME_SOFTIRQ, E_CPUTIME_STEAL};
	struct vt_cpu total = {.cpu = -1};
	int seen = 0;
	for (uint32_t c = 0; c < ncpu; c++) {
		if (!cpu_online(m, c))
			continue;
		uint64_t kcs, st[16] = {0};
		if (vmi_percpu(m, S_kernel_cpustat, (int)c, &kcs) ||
		    vmi_read(m, kcs + vmi_off(m, F_kcs_cpustat), st,
		             p->fsize[F_kcs_cpustat] < sizeof(st) ? p->fsize[F_kcs_cpustat]
		                                                  : sizeof(st))) {
			iter_err(it, "kernel_cpustat", EFAULT);
			continue;
		}
		double val[8];
		for (int i = 0; i < 8; i++) {
			int64_t e = p->enum_ok[idx[i]] ? p->enumv[idx[i]] : -1;
			val[i] = e >= 0 && e < 16 ? st[e] / 1e9 : 0;
		}
		/* with NO_HZ the idle time lives in tick_sched, as /proc/stat reads it */
		uint64_t ts, idle_ns, iow_ns;
		if (!vmi_percpu(m, S_tick_cpu_sched, (int)c, &ts) &&
		    !vmi_field(m, ts, F_ts_idle_sleeptime, &idle_ns) && idle_ns) {
			val[3] = idle_ns / 1e9;
			if (!vmi_field(m, ts, F_ts_iowait_sleeptime, &iow_ns))
				val[4] = iow_ns / 1e9;
		}
		struct vt_cpu rec = {
		    .cpu = (int)c, val[0], val[1], val[2], val[3], val[4], val[5], val[6], val[7]};
		total.user += rec.user;
		total.nice += rec.nice;
		total.system += rec.system;
		total.idle += rec.idle;
		total.iowait += rec.iowait;
		total.irq += rec.irq;
		total.softirq += rec.softirq;
		total.steal += rec.steal;
		seen++;
		int r = cb(it ? it->ctx : NULL, &rec);
		if (r)
			return r;
	}
	if (!seen)
		return -EFAULT;
	return cb(it ? it->ctx : NULL, &total);
}

/* ---- open ------------------------------------------------------------------------ */

static void vm_destroy(struct view *v)
{
	vmi_close(&VV(v)->vmi);
	free(v);
}

/* The guest's boot time from its clocks; 0 (unknown) when the clocks put it
 * before 1970 or past what int64 nanoseconds hold (hostile values). */
static void set_boot_time(struct vm_view *vv)
{
	double up, boot;
	int64_t wall;
	vv->boot_time_ns = 0;
	if (guest_clock(&vv->vmi, &up, &wall))
		return;
	boot = ((double)wall - up) * 1e9;
	if (boot > 0 && boot < 9e18)
		vv->boot_time_ns = (int64_t)boot;
}

static const struct view_ops vm_ops = {
    .name = "vm",
    .processes = vm_processes,
    .sockets = vm_sockets,
    .kernel = vm_kernel,
    .modules = vm_modules,
    .cpu_times = vm_cpu_times,
    .memory = vm_memory,
    .load = vm_load,
    .interfaces = vm_interfaces,
    .destroy = vm_destroy,
};

int view_vm_open(struct gmem *mem, const struct vmi_opts *o, struct view **out, char *err,
                 size_t errlen)
{
	struct vm_view *vv = calloc(1, sizeof(*vv));
	if (!vv) {
		gmem_close(mem);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int r = vmi_open(&vv->vmi, mem, o, err, errlen);
	if (r) {
		free(vv);
		return r;
	}
	vv->base.ops = &vm_ops;
	set_boot_time(vv);
	*out = &vv->base;
	return 0;
}

int view_vm_located(const struct vmi *located, struct view **out)
{
	struct vm_view *vv = calloc(1, sizeof(*vv));
	if (!vv)
		return -ENOMEM;
	vv->vmi = *located;
	vv->base.ops = &vm_ops;
	set_boot_time(vv);
	*out = &vv->base;
	return 0;
}
