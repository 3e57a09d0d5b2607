/*
 * vmi.h - a Linux guest kernel understood from its RAM alone.
 *
 * vmi_open() finds the kernel in guest memory with no input from the
 * user: the kallsyms tables (kallsyms.c) give every symbol's run-time
 * address and, with where they sit physically, the physical and virtual
 * KASLR shifts; the kernel's own BTF (between __start_BTF and __stop_BTF)
 * gives every structure offset the view needs (btf.c).  What was learned
 * is a "profile" (struct vmi_prof): symbol positions relative to the
 * kernel base, field offsets, enum values.  It is cached per kernel build
 * (keyed by the banner) so the next open of a guest running the same
 * kernel only has to find the base, a few probes.
 *
 * Addresses: kernel-image addresses translate by the image's offset,
 * direct-map addresses by page_offset_base, everything else (modules,
 * vmalloc, user space) by walking page tables (4- or 5-level).
 *
 * Everything read from the guest is hostile: every read is bounded and
 * checked; list walks stop at a bound or at a bad pointer and say so.
 */
#ifndef VANTAGE_VMI_H
#define VANTAGE_VMI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mem.h"

/* Symbols the view reads.  Missing optional ones disable a field. */
/* clang-format off */
#define VMI_SYMS(X)                                                                      \
	X(init_task) X(init_top_pgt) X(page_offset_base) X(vmalloc_base) X(vmemmap_base)  \
	X(__pgtable_l5_enabled) X(linux_banner) X(__start_BTF) X(__stop_BTF) X(max_pfn)   \
	X(init_uts_ns) X(modules) X(tcp_hashinfo) X(udp_table) X(init_net) X(avenrun)    \
	X(_totalram_pages) X(vm_zone_stat) X(vm_node_stat) X(totalreserve_pages)          \
	X(node_data) X(nr_node_ids) X(kernel_cpustat) X(__per_cpu_offset) X(nr_cpu_ids)  \
	X(__cpu_online_mask) X(tk_core) X(socket_file_ops) X(tick_cpu_sched)              \
	X(nr_threads) X(total_forks) X(loopback_ops) X(_end) X(runqueues)     \
	X(dev_get_tstats64)                                                               \
	X(prb) X(log_buf) X(log_buf_len) X(log_first_idx) X(log_next_idx)                \
	X(log_first_seq) X(log_next_seq)
/* clang-format on */

/* Structure members: id, struct, member path (dots descend into named
 * members; anonymous unions/structs are searched automatically). */
/* clang-format off */
#define VMI_FIELDS(X)                                                                    \
	X(task_tasks, "task_struct", "tasks")                                             \
	X(task_pid, "task_struct", "pid")                                                 \
	X(task_tgid, "task_struct", "tgid")                                               \
	X(task_comm, "task_struct", "comm")                                               \
	X(task_real_parent, "task_struct", "real_parent")                                 \
	X(task_mm, "task_struct", "mm")                                                   \
	X(task_real_cred, "task_struct", "real_cred")                                     \
	X(task_state, "task_struct", "__state")                                           \
	X(task_state_old, "task_struct", "state")                                         \
	X(task_exit_state, "task_struct", "exit_state")                                   \
	X(task_flags, "task_struct", "flags")                                             \
	X(task_start_boottime, "task_struct", "start_boottime")                           \
	X(task_utime, "task_struct", "utime")                                             \
	X(task_stime, "task_struct", "stime")                                             \
	X(task_signal, "task_struct", "signal")                                           \
	X(task_files, "task_struct", "files")                                             \
	X(signal_nr_threads, "signal_struct", "nr_threads")                               \
	X(cred_uid, "cred", "uid")                                                        \
	X(mm_pgd, "mm_struct", "pgd")                                                     \
	X(mm_arg_start, "mm_struct", "arg_start")                                         \
	X(mm_arg_end, "mm_struct", "arg_end")                                             \
	X(mm_rss_stat, "mm_struct", "rss_stat")                                           \
	X(mm_total_vm, "mm_struct", "total_vm")                                           \
	X(pcpu_counter_count, "percpu_counter", "count")                                  \
	X(uts_name, "uts_namespace", "name")                                              \
	X(utsname_sysname, "new_utsname", "sysname")                                      \
	X(utsname_nodename, "new_utsname", "nodename")                                    \
	X(utsname_release, "new_utsname", "release")                                      \
	X(utsname_version, "new_utsname", "version")                                      \
	X(utsname_machine, "new_utsname", "machine")                                      \
	X(utsname_domainname, "new_utsname", "domainname")                                \
	X(files_fdt, "files_struct", "fdt")                                               \
	X(fdt_max_fds, "fdtable", "max_fds")                                              \
	X(fdt_fd, "fdtable", "fd")                                                        \
	X(file_f_op, "file", "f_op")                                                      \
	X(file_private_data, "file", "private_data")                                      \
	X(socket_sk, "socket", "sk")                                                      \
	X(socket_alloc_inode, "socket_alloc", "vfs_inode")                                \
	X(inode_ino, "inode", "i_ino")                                                    \
	X(module_list, "module", "list")                                                  \
	X(module_name, "module", "name")                                                  \
	X(module_state, "module", "state")                                                \
	X(module_refcnt, "module", "refcnt")                                              \
	X(module_core_layout, "module", "core_layout")                                    \
	X(module_init_layout, "module", "init_layout")                                    \
	X(module_layout_size, "module_layout", "size")                                    \
	X(module_mem, "module", "mem")                                                    \
	X(module_memory_size, "module_memory", "size")                                    \
	X(hinfo_ehash, "inet_hashinfo", "ehash")                                          \
	X(hinfo_ehash_mask, "inet_hashinfo", "ehash_mask")                                \
	X(hinfo_lhash2, "inet_hashinfo", "lhash2")                                        \
	X(hinfo_lhash2_mask, "inet_hashinfo", "lhash2_mask")                              \
	X(ehb_chain, "inet_ehash_bucket", "chain")                                        \
	X(lhb_nulls_head, "inet_listen_hashbucket", "nulls_head")                         \
	X(lhb_head, "inet_listen_hashbucket", "head")                                     \
	X(skc_daddr, "sock_common", "skc_daddr")                                          \
	X(skc_rcv_saddr, "sock_common", "skc_rcv_saddr")                                  \
	X(skc_dport, "sock_common", "skc_dport")                                          \
	X(skc_num, "sock_common", "skc_num")                                              \
	X(skc_family, "sock_common", "skc_family")                                        \
	X(skc_state, "sock_common", "skc_state")                                          \
	X(skc_node, "sock_common", "skc_node")                                            \
	X(skc_nulls_node, "sock_common", "skc_nulls_node")                                \
	X(skc_v6_daddr, "sock_common", "skc_v6_daddr")                                    \
	X(skc_v6_rcv_saddr, "sock_common", "skc_v6_rcv_saddr")                            \
	X(skc_net, "sock_common", "skc_net")                                              \
	X(icsk_listen_node, "inet_connection_sock", "icsk_listen_portaddr_node")          \
	X(sk_socket, "sock", "sk_socket")                                                 \
	X(sk_uid, "sock", "sk_uid")                                                       \
	X(sk_protocol, "sock", "sk_protocol")                                             \
	X(udpt_hash, "udp_table", "hash")                                                 \
	X(udpt_mask, "udp_table", "mask")                                                 \
	X(udph_head, "udp_hslot", "head")                                                 \
	X(net_dev_base_head, "net", "dev_base_head")                                      \
	X(nd_dev_list, "net_device", "dev_list")                                          \
	X(nd_name, "net_device", "name")                                                  \
	X(nd_ifindex, "net_device", "ifindex")                                            \
	X(nd_mtu, "net_device", "mtu")                                                    \
	X(nd_flags, "net_device", "flags")                                                \
	X(nd_dev_addr, "net_device", "dev_addr")                                          \
	X(nd_addr_len, "net_device", "addr_len")                                          \
	X(nd_stats, "net_device", "stats")                                                \
	X(nd_lstats, "net_device", "lstats")                                              \
	X(nd_netdev_ops, "net_device", "netdev_ops")                                      \
	X(nds_rx_packets, "net_device_stats", "rx_packets")                               \
	X(nds_tx_packets, "net_device_stats", "tx_packets")                               \
	X(nds_rx_bytes, "net_device_stats", "rx_bytes")                                   \
	X(nds_tx_bytes, "net_device_stats", "tx_bytes")                                   \
	X(nds_rx_errors, "net_device_stats", "rx_errors")                                 \
	X(nds_tx_errors, "net_device_stats", "tx_errors")                                 \
	X(nds_rx_dropped, "net_device_stats", "rx_dropped")                               \
	X(nds_tx_dropped, "net_device_stats", "tx_dropped")                               \
	X(lstats_packets, "pcpu_lstats", "packets")                                       \
	X(lstats_bytes, "pcpu_lstats", "bytes")                                           \
	X(pgdat_node_zones, "pglist_data", "node_zones")                                  \
	X(zone_watermark, "zone", "_watermark")                                           \
	X(zone_watermark_boost, "zone", "watermark_boost")                                \
	X(zone_managed_pages, "zone", "managed_pages")                                    \
	X(tk_xtime_sec, "timekeeper", "xtime_sec")                                        \
	X(tk_ktime_sec, "timekeeper", "ktime_sec")                                        \
	X(tk_offs_boot, "timekeeper", "offs_boot")                                        \
	X(kcs_cpustat, "kernel_cpustat", "cpustat")                                       \
	X(ts_idle_sleeptime, "tick_sched", "idle_sleeptime")                              \
	X(ts_iowait_sleeptime, "tick_sched", "iowait_sleeptime")                          \
	X(module_source_list, "module", "source_list")                                    \
	X(muse_source_list, "module_use", "source_list")                                  \
	X(muse_source, "module_use", "source")                                            \
	X(rq_nr_running, "rq", "nr_running")                                              \
	X(signal_thread_head, "signal_struct", "thread_head")                             \
	X(task_group_leader, "task_struct", "group_leader")                             \
	X(socket_alloc_socket, "socket_alloc", "socket")                                  \
	X(inode_uid, "inode", "i_uid")                                                    \
	X(nd_state, "net_device", "state")                                                \
	X(nd_gflags, "net_device", "gflags")                                              \
	X(nd_operstate, "net_device", "operstate")                                        \
	X(nd_rtnl_link_ops, "net_device", "rtnl_link_ops")                                \
	X(rlo_kind, "rtnl_link_ops", "kind")                                              \
	X(nd_tstats, "net_device", "tstats")                                              \
	X(tstats_rx_packets, "pcpu_sw_netstats", "rx_packets")                            \
	X(tstats_rx_bytes, "pcpu_sw_netstats", "rx_bytes")                                \
	X(tstats_tx_packets, "pcpu_sw_netstats", "tx_packets")                            \
	X(tstats_tx_bytes, "pcpu_sw_netstats", "tx_bytes")                                \
	X(ndo_get_stats64, "net_device_ops", "ndo_get_stats64")                           \
	X(ndo_get_stats, "net_device_ops", "ndo_get_stats")                               \
	X(nd_core_stats, "net_device", "core_stats")                                      \
	X(ncs_rx_dropped, "net_device_core_stats", "rx_dropped")                          \
	X(ncs_tx_dropped, "net_device_core_stats", "tx_dropped")                          \
	X(nd_rx_dropped, "net_device", "rx_dropped")                                      \
	X(nd_tx_dropped, "net_device", "tx_dropped")                                      \
	X(nd_ip_ptr, "net_device", "ip_ptr")                                              \
	X(indev_ifa_list, "in_device", "ifa_list")                                        \
	X(ifa_next, "in_ifaddr", "ifa_next")                                              \
	X(ifa_local, "in_ifaddr", "ifa_local")                                            \
	X(ifa_prefixlen, "in_ifaddr", "ifa_prefixlen")                                    \
	X(nd_ip6_ptr, "net_device", "ip6_ptr")                                            \
	X(in6dev_addr_list, "inet6_dev", "addr_list")                                     \
	X(in6ifa_if_list, "inet6_ifaddr", "if_list")                                      \
	X(in6ifa_addr, "inet6_ifaddr", "addr")                                            \
	X(in6ifa_prefix_len, "inet6_ifaddr", "prefix_len")                                \
	X(prb_desc_ring, "printk_ringbuffer", "desc_ring")                                \
	X(prb_text_ring, "printk_ringbuffer", "text_data_ring")                           \
	X(pdr_count_bits, "prb_desc_ring", "count_bits")                                  \
	X(pdr_descs, "prb_desc_ring", "descs")                                            \
	X(pdr_infos, "prb_desc_ring", "infos")                                            \
	X(pdr_head_id, "prb_desc_ring", "head_id")                                        \
	X(pdr_tail_id, "prb_desc_ring", "tail_id")                                        \
	X(pdata_size_bits, "prb_data_ring", "size_bits")                                  \
	X(pdata_data, "prb_data_ring", "data")                                            \
	X(pdesc_state_var, "prb_desc", "state_var")                                       \
	X(pdesc_begin, "prb_desc", "text_blk_lpos.begin")                                 \
	X(pdesc_next, "prb_desc", "text_blk_lpos.next")                                   \
	X(pinfo_seq, "printk_info", "seq")                                                \
	X(pinfo_ts_nsec, "printk_info", "ts_nsec")                                        \
	X(pinfo_text_len, "printk_info", "text_len")                                      \
	X(pinfo_flags, "printk_info", "flags")                                            \
	X(plog_ts_nsec, "printk_log", "ts_nsec")                                          \
	X(plog_len, "printk_log", "len")                                                  \
	X(plog_text_len, "printk_log", "text_len")                                        \
	X(plog_flags, "printk_log", "flags")
/* clang-format on */

/* Sizes of structures. */
/* clang-format off */
#define VMI_SIZES(X)                                                                     \
	X(zone) X(udp_hslot) X(inet_ehash_bucket) X(inet_listen_hashbucket) X(module_memory) \
	X(percpu_counter) X(module_layout) X(prb_desc) X(printk_info) X(printk_log)
/* clang-format on */

/* Enumerators. */
/* clang-format off */
#define VMI_ENUMS(X)                                                                     \
	X(NR_FREE_PAGES) X(NR_ACTIVE_FILE) X(NR_INACTIVE_FILE) X(NR_SLAB_RECLAIMABLE_B)   \
	X(NR_KERNEL_MISC_RECLAIMABLE) X(NR_FILE_PAGES) X(NR_SHMEM) X(WMARK_LOW)           \
	X(CPUTIME_USER) X(CPUTIME_NICE) X(CPUTIME_SYSTEM) X(CPUTIME_SOFTIRQ) X(CPUTIME_IRQ) \
	X(CPUTIME_IDLE) X(CPUTIME_IOWAIT) X(CPUTIME_STEAL) X(MM_FILEPAGES) X(MM_ANONPAGES) \
	X(MM_SHMEMPAGES) X(NR_MM_COUNTERS) X(MODULE_STATE_LIVE) X(MODULE_STATE_COMING)    \
	X(MODULE_STATE_GOING) X(MOD_TEXT) X(MOD_DATA) X(MOD_RODATA) X(MOD_RO_AFTER_INIT)  \
	X(MOD_INIT_TEXT) X(MOD_INIT_DATA) X(MOD_INIT_RODATA) X(MOD_MEM_NUM_TYPES) \
	X(__LINK_STATE_START) X(__LINK_STATE_NOCARRIER) X(__LINK_STATE_DORMANT)
/* clang-format on */

#define VMI_ENUM_ID(n) S_##n,
enum vmi_sym { VMI_SYMS(VMI_ENUM_ID) VMI_NSYM };
#undef VMI_ENUM_ID
#define VMI_ENUM_ID(n, s, m) F_##n,
enum vmi_field { VMI_FIELDS(VMI_ENUM_ID) VMI_NFIELD };
#undef VMI_ENUM_ID
#define VMI_ENUM_ID(n) Z_##n,
enum vmi_size { VMI_SIZES(VMI_ENUM_ID) VMI_NSIZE };
#undef VMI_ENUM_ID
#define VMI_ENUM_ID(n) E_##n,
enum vmi_enum { VMI_ENUMS(VMI_ENUM_ID) VMI_NENUM };
#undef VMI_ENUM_ID

#define VMI_NONE UINT32_MAX        /* field/size absent in this kernel */
#define VMI_PROF_MAGIC 0x56504631u /* "VPF1" */
#define VMI_PROF_VERSION 6

/* What is known about one kernel build; cached on disk (host-endian). */
struct vmi_prof {
	uint32_t magic, version, size, sum;
	char banner[256];     /* linux_banner, NUL-terminated */
	uint64_t banner_rel;  /* linux_banner - base */
	uint64_t relbase_rel; /* &kallsyms_relative_base - base */
	uint64_t tt_rel;      /* kallsyms token table - base */
	uint64_t btf_size;
	uint8_t sym_ok[VMI_NSYM];
	uint8_t sym_percpu[VMI_NSYM];
	uint64_t sym[VMI_NSYM];     /* image symbols: address - base; per-CPU: offset */
	uint32_t off[VMI_NFIELD];   /* byte offset, or VMI_NONE */
	uint32_t fsize[VMI_NFIELD]; /* byte size of the member's type */
	uint32_t tsize[VMI_NSIZE];
	int64_t enumv[VMI_NENUM];
	uint8_t enum_ok[VMI_NENUM];
	uint32_t tk_timekeeper; /* offset of timekeeper in tk_core, or VMI_NONE */
	uint32_t rss_percpu;    /* mm rss_stat is percpu_counter[] (6.2+) */
	uint32_t nr_syms;
};

struct vmi_stats {
	double locate_ms, kallsyms_ms, btf_ms;
	int cached; /* the profile came from the cache */
	uint64_t pages_read;
};

struct vmi {
	struct gmem mem;
	struct vmi_prof p;
	uint64_t base;    /* run-time kallsyms_relative_base (usually _text) */
	uint64_t pa_base; /* its physical address */
	uint64_t page_offset, vmalloc_base, vmemmap_base;
	uint64_t top_pgt_pa; /* init_top_pgt */
	int levels;          /* 4 or 5 */
	uint64_t max_pa;     /* end of RAM known to the guest */
	struct vmi_stats st;
	char cache_dir[256]; /* "" = no cache */
};

struct vmi_opts {
	const char *system_map; /* optional System.map */
	const char *cache_dir;  /* NULL: default; "" none */
};

/* Find the kernel in `mem` (taken over: closed by vmi_close).  0, or a
 * negative errno with a message naming the problem in err. */
int vmi_open(struct vmi *v, struct gmem *mem, const struct vmi_opts *o, char *err, size_t errlen);
void vmi_close(struct vmi *v);

/* Default cache directory: $VANTAGE_CACHE_DIR, else /var/cache/vantage/vmi
 * (root) or $XDG_CACHE_HOME|~/.cache/vantage/vmi. */
void vmi_default_cache_dir(char *dst, size_t cap);

/* Address of symbol s (image symbols), 0 if unknown. */
uint64_t vmi_sym(const struct vmi *v, enum vmi_sym s);
static inline bool vmi_has(const struct vmi *v, enum vmi_field f)
{
	return v->p.off[f] != VMI_NONE;
}
static inline uint32_t vmi_off(const struct vmi *v, enum vmi_field f)
{
	return v->p.off[f];
}

/* Kernel virtual address -> physical; 0 or -EFAULT. */
int vmi_vtop(const struct vmi *v, uint64_t va, uint64_t *pa);
/* Walk the page tables at pgd_pa (a process's) for va. */
int vmi_vtop_pgd(const struct vmi *v, uint64_t pgd_pa, uint64_t va, uint64_t *pa);
/* Read kernel virtual memory; crosses pages. 0 or -EFAULT. */
int vmi_read(const struct vmi *v, uint64_t va, void *dst, size_t len);
int vmi_read_pgd(const struct vmi *v, uint64_t pgd_pa, uint64_t va, void *dst, size_t len);
int vmi_u64(const struct vmi *v, uint64_t va, uint64_t *out);
int vmi_u32(const struct vmi *v, uint64_t va, uint32_t *out);
/* Read a field of size <= 8 at base + offset of f, zero-extended. */
int vmi_field(const struct vmi *v, uint64_t base, enum vmi_field f, uint64_t *out);
/* Per-CPU address of a per-CPU symbol for cpu. */
int vmi_percpu(const struct vmi *v, enum vmi_sym s, int cpu, uint64_t *va);
/* A plausible kernel pointer (canonical, in the kernel half). */
bool vmi_kptr(const struct vmi *v, uint64_t va);

/* Bound on every list walk. */
#define VMI_MAX_LIST 65536

#endif
