/*
 * vm_iface.c - the net devices of the VM view (vm_interfaces), read from
 * guest RAM through vmi_*().
 *
 * Interfaces (vm_interfaces): init_net.dev_base_head, a list of net_device
 * through dev_list.  Flags are computed as dev_get_flags() does (RUNNING,
 * LOWER_UP, DORMANT from the device state bits and operstate).  Counters
 * follow dev_get_stats(): the loopback (netdev_ops == loopback_ops) sums
 * its per-CPU pcpu_lstats into rx and tx, the dummy driver's are its tx;
 * drivers using dev_get_tstats64 add their per-CPU pcpu_sw_netstats to
 * dev->stats; drivers with no ndo_get_stats64 use dev->stats; the per-CPU
 * core drop counters are added to all.  A driver that keeps its counters
 * elsewhere (virtio_net, e1000...) is reported once per device, with what
 * dev->stats holds.  Addresses: IPv4 from in_device.ifa_list, IPv6 from
 * inet6_dev.addr_list.
 *
 * Guest memory is hostile: every pointer passes vmi_kptr() before use,
 * every list is bounded (VMI_MAX_LIST) and checked for loops (struct
 * cyc), and per-CPU reads are bounded per call (MAX_PERCPU_READS).  A
 * field the guest's BTF lacks disables what needs it, reported once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../linux/sockdiag_parse.h"
#include "../vmi/btf.h"
#include "vm_obj.h"

#define MAX_ADDRS 64
#define MAX_CPUS 8192
#define MAX_PERCPU_READS (1u << 18) /* per call, over all devices */
#define IFF_PROMISC_ 0x100u
#define IFF_ALLMULTI_ 0x200u
#define IFF_RUNNING_ 0x40u
#define IFF_LOWER_UP_ 0x10000u
#define IFF_DORMANT_ 0x20000u
#define IF_OPER_UNKNOWN_ 0
#define IF_OPER_UP_ 6

/* ---- interfaces ----------------------------------------------------------- */

struct cpus {
	uint64_t off[MAX_CPUS];
	int n;
	uint32_t reads; /* per-CPU reads left for this call */
};

/* __per_cpu_offset[0..nr_cpu_ids). */
static int read_cpus(const struct vmi *v, struct cpus *c)
{
	uint64_t pco = vmi_sym(v, S___per_cpu_offset), nr = vmi_sym(v, S_nr_cpu_ids);
	uint32_t n = 0;

	c->n = 0;
	c->reads = MAX_PERCPU_READS;
	if (!pco || !nr || vmi_u32(v, nr, &n) || n == 0)
		return -ENOENT;
	if (n > MAX_CPUS)
		n = MAX_CPUS;
	for (uint32_t i = 0; i < n; i++) {
		if (vmi_u64(v, pco + 8ull * i, &c->off[i]))
			break;
		c->n = (int)i + 1;
	}
	return c->n ? 0 : -EFAULT;
}

/* Sum fields f[0..n) of a per-CPU object at ptr over all CPUs. */
static int percpu_sum(const struct vmi *v, struct cpus *c, uint64_t ptr, const enum vmi_field *f,
                      size_t n, uint64_t *sum)
{
	struct span s = vm_span_of(v, f, n);
	struct obj o;
	int bad = 0;

	memset(sum, 0, n * sizeof(*sum));
	if (!c->n)
		return -ENOENT;
	if (c->reads < (uint32_t)c->n)
		return -E2BIG;
	c->reads -= (uint32_t)c->n;
	for (int cpu = 0; cpu < c->n; cpu++) {
		uint64_t a = ptr + c->off[cpu];
		if (!vmi_kptr(v, a) || vm_obj_read(&o, v, a, s)) {
			bad = -EFAULT;
			continue;
		}
		for (size_t i = 0; i < n; i++)
			sum[i] += vm_obj_u(&o, f[i]);
	}
	return bad;
}

struct ifwalk {
	const struct vmi *v;
	const struct view_iter *it;
	struct cpus *cpus;
	char text[MAX_ADDRS][48];
	const char *ptrs[MAX_ADDRS + 1];
	int na;
};

/* dev_get_flags(): RUNNING, LOWER_UP, DORMANT come from the state. */
static unsigned dev_flags(const struct vmi *v, uint64_t dev)
{
	uint64_t flags = 0, gflags = 0, state = 0, oper = 0;
	unsigned f;

	vmi_field(v, dev, F_nd_flags, &flags);
	vmi_field(v, dev, F_nd_gflags, &gflags);
	f = ((unsigned)flags &
	     ~(IFF_PROMISC_ | IFF_ALLMULTI_ | IFF_RUNNING_ | IFF_LOWER_UP_ | IFF_DORMANT_)) |
	    ((unsigned)gflags & (IFF_PROMISC_ | IFF_ALLMULTI_));
	if (!v->p.enum_ok[E___LINK_STATE_START] || vmi_field(v, dev, F_nd_state, &state))
		return (unsigned)flags; /* can't tell: as stored */
	int64_t st = v->p.enumv[E___LINK_STATE_START];
	if (st < 0 || st > 63 || !(state & (1ull << st)))
		return f;
	if (!vmi_field(v, dev, F_nd_operstate, &oper) &&
	    (oper == IF_OPER_UP_ || oper == IF_OPER_UNKNOWN_))
		f |= IFF_LOWER_UP_;
	int64_t nc =
	    v->p.enum_ok[E___LINK_STATE_NOCARRIER] ? v->p.enumv[E___LINK_STATE_NOCARRIER] : -1;
	if (nc >= 0 && nc < 64 && !(state & (1ull << nc)))
		f |= IFF_RUNNING_;
	int64_t dm = v->p.enum_ok[E___LINK_STATE_DORMANT] ? v->p.enumv[E___LINK_STATE_DORMANT] : -1;
	if (dm >= 0 && dm < 64 && (state & (1ull << dm)))
		f |= IFF_DORMANT_;
	return f;
}

static void dev_mac(const struct vmi *v, uint64_t dev, char *mac, size_t cap)
{
	uint64_t len = 0, p = 0;
	unsigned char hw[32];

	mac[0] = 0;
	if (vmi_field(v, dev, F_nd_addr_len, &len) || len == 0)
		return;
	if (len > sizeof(hw))
		len = sizeof(hw);
	if (v->p.fsize[F_nd_dev_addr] == 8) { /* a pointer (always, so far) */
		if (vmi_field(v, dev, F_nd_dev_addr, &p) || !vmi_kptr(v, p) ||
		    vmi_read(v, p, hw, len))
			return;
	} else if (!vmi_has(v, F_nd_dev_addr) || v->p.fsize[F_nd_dev_addr] < len ||
	           vmi_read(v, dev + vmi_off(v, F_nd_dev_addr), hw, len)) {
		return;
	}
	format_hwaddr(hw, len, mac, cap);
}

static void add_addr(struct ifwalk *w, int family, const void *a, unsigned prefix)
{
	char ip[INET6_ADDRSTRLEN];

	if (w->na >= MAX_ADDRS || !inet_ntop(family, a, ip, sizeof(ip)))
		return;
	snprintf(w->text[w->na], sizeof(w->text[0]), "%s/%u", ip, prefix);
	w->ptrs[w->na] = w->text[w->na];
	w->na++;
}

/* IPv4: in_device.ifa_list, a NULL-terminated chain of in_ifaddr. */
static void addrs4(struct ifwalk *w, uint64_t dev, const char *name)
{
	const struct vmi *v = w->v;
	uint64_t ind, ifa, pfx = 0;
	uint32_t local;

	if (vmi_field(v, dev, F_nd_ip_ptr, &ind) || !ind || !vmi_kptr(v, ind) ||
	    vmi_field(v, ind, F_indev_ifa_list, &ifa))
		return;
	struct cyc cy = CYC_INIT;

	for (int n = 0; ifa && n < MAX_ADDRS && !vm_cyc_loops(&cy, ifa); n++) {
		uint64_t l = 0;
		if (!vmi_kptr(v, ifa) || vmi_field(v, ifa, F_ifa_local, &l) ||
		    vmi_field(v, ifa, F_ifa_prefixlen, &pfx)) {
			vm_report(w->it, EFAULT, "interface %s: IPv4 address list: bad pointer",
			          name);
			return;
		}
		local = (uint32_t)l;
		add_addr(w, AF_INET, &local, (unsigned)pfx);
		if (vmi_field(v, ifa, F_ifa_next, &ifa))
			return;
	}
}

/* IPv6: inet6_dev.addr_list, a list_head of inet6_ifaddr.if_list. */
static void addrs6(struct ifwalk *w, uint64_t dev, const char *name)
{
	const struct vmi *v = w->v;
	uint64_t idev, head, node, pfx = 0;
	unsigned char a[16];

	if (vmi_field(v, dev, F_nd_ip6_ptr, &idev) || !idev || !vmi_kptr(v, idev))
		return;
	head = idev + vmi_off(v, F_in6dev_addr_list);
	if (vmi_u64(v, head, &node))
		return;
	struct cyc cy = CYC_INIT;

	for (int n = 0; node != head && n < MAX_ADDRS && !vm_cyc_loops(&cy, node); n++) {
		uint64_t ifa = node - vmi_off(v, F_in6ifa_if_list);
		if (!vmi_kptr(v, node) || vmi_read(v, ifa + vmi_off(v, F_in6ifa_addr), a, 16) ||
		    vmi_field(v, ifa, F_in6ifa_prefix_len, &pfx)) {
			vm_report(w->it, EFAULT, "interface %s: IPv6 address list: bad pointer",
			          name);
			return;
		}
		add_addr(w, AF_INET6, a, (unsigned)pfx);
		if (vmi_u64(v, node, &node))
			return;
	}
}

static void dev_addrs(struct ifwalk *w, uint64_t dev, const char *name)
{
	static const enum vmi_field f4[] = {F_nd_ip_ptr, F_indev_ifa_list, F_ifa_next, F_ifa_local,
	                                    F_ifa_prefixlen};
	static const enum vmi_field f6[] = {F_nd_ip6_ptr, F_in6dev_addr_list, F_in6ifa_if_list,
	                                    F_in6ifa_addr, F_in6ifa_prefix_len};
	const struct vmi *v = w->v;
	bool ok4 = true, ok6 = true;

	w->na = 0;
	for (size_t i = 0; i < 5; i++) {
		ok4 = ok4 && vmi_has(v, f4[i]);
		ok6 = ok6 && vmi_has(v, f6[i]);
	}
	if (ok4)
		addrs4(w, dev, name);
	if (ok6 && v->p.fsize[F_in6ifa_addr] == 16)
		addrs6(w, dev, name);
	w->ptrs[w->na] = NULL;
}

/* The kind of an rtnl_link_ops device ("dummy"), "" if none. */
static void dev_kind(const struct vmi *v, uint64_t dev, char *kind, size_t cap)
{
	uint64_t ops = 0, p = 0;

	kind[0] = 0;
	if (vmi_field(v, dev, F_nd_rtnl_link_ops, &ops) || !ops || !vmi_kptr(v, ops) ||
	    vmi_field(v, ops, F_rlo_kind, &p) || !vmi_kptr(v, p) || vmi_read(v, p, kind, cap - 1))
		kind[0] = 0;
	kind[cap - 1] = 0;
}

/* Sum a per-CPU stats pointer member of the device. */
static int dev_percpu(struct ifwalk *w, uint64_t dev, enum vmi_field ptr_f, const enum vmi_field *f,
                      size_t n, uint64_t *sum)
{
	uint64_t p = 0;

	memset(sum, 0, n * sizeof(*sum));
	if (vmi_field(w->v, dev, ptr_f, &p) || !p)
		return -EFAULT;
	return percpu_sum(w->v, w->cpus, p, f, n, sum);
}

static void dev_stats(const struct vmi *v, uint64_t dev, struct vt_netio *c)
{
	static const enum vmi_field sf[] = {F_nds_rx_packets, F_nds_tx_packets, F_nds_rx_bytes,
	                                    F_nds_tx_bytes,   F_nds_rx_errors,  F_nds_tx_errors,
	                                    F_nds_rx_dropped, F_nds_tx_dropped};
	uint64_t x[8] = {0};

	if (!vmi_has(v, F_nd_stats))
		return;
	uint64_t base = dev + vmi_off(v, F_nd_stats);
	for (size_t i = 0; i < 8; i++)
		vmi_field(v, base, sf[i], &x[i]);
	c->rx_packets = x[0];
	c->tx_packets = x[1];
	c->rx_bytes = x[2];
	c->tx_bytes = x[3];
	c->rx_errors = x[4];
	c->tx_errors = x[5];
	c->rx_dropped = x[6];
	c->tx_dropped = x[7];
}

/* What dev_get_stats() adds for every device: the core drop counters. */
static void core_drops(struct ifwalk *w, uint64_t dev, struct vt_netio *c)
{
	static const enum vmi_field df[] = {F_ncs_rx_dropped, F_ncs_tx_dropped};
	const struct vmi *v = w->v;
	uint64_t s[2] = {0, 0}, p = 0;

	if (vmi_has(v, F_nd_core_stats)) {
		if (vmi_field(v, dev, F_nd_core_stats, &p) || !p)
			return; /* allocated on the first drop */
		if (dev_percpu(w, dev, F_nd_core_stats, df, 2, s) == -ENOENT)
			return;
		c->rx_dropped += s[0];
		c->tx_dropped += s[1];
	} else if (vmi_has(v, F_nd_rx_dropped)) {
		vmi_field(v, dev, F_nd_rx_dropped, &s[0]);
		vmi_field(v, dev, F_nd_tx_dropped, &s[1]);
		c->rx_dropped += s[0];
		c->tx_dropped += s[1];
	}
}

static void pc_check(struct ifwalk *w, const char *name, int r)
{
	if (r == -E2BIG)
		vm_report(w->it, E2BIG, "interface %s: per-CPU counters not summed (over %u reads)",
		          name, MAX_PERCPU_READS);
	else if (r)
		vm_report(w->it, -r, "interface %s: per-CPU counters unreadable", name);
}

/* dev_get_stats(), for the drivers whose counters we know how to find. */
static void dev_counters(struct ifwalk *w, uint64_t dev, const char *name, struct vt_netio *c)
{
	static const enum vmi_field lf[] = {F_lstats_packets, F_lstats_bytes};
	static const enum vmi_field tf[] = {F_tstats_rx_packets, F_tstats_rx_bytes,
	                                    F_tstats_tx_packets, F_tstats_tx_bytes};
	const struct vmi *v = w->v;
	uint64_t ops = 0, get64 = 0, get = 0, s[4];
	char kind[16];

	memset(c, 0, sizeof(*c));
	c->ifname = name;
	if (!vmi_field(v, dev, F_nd_netdev_ops, &ops) && vmi_kptr(v, ops)) {
		vmi_field(v, ops, F_ndo_get_stats64, &get64);
		vmi_field(v, ops, F_ndo_get_stats, &get);
	}
	dev_kind(v, dev, kind, sizeof(kind));
	if (ops && ops == vmi_sym(v, S_loopback_ops)) {
		pc_check(w, name, dev_percpu(w, dev, F_nd_lstats, lf, 2, s));
		c->rx_packets = c->tx_packets = s[0];
		c->rx_bytes = c->tx_bytes = s[1];
	} else if (get64 && !strcmp(kind, "dummy")) {
		pc_check(w, name, dev_percpu(w, dev, F_nd_lstats, lf, 2, s));
		c->tx_packets = s[0];
		c->tx_bytes = s[1];
	} else if (get64 && get64 == vmi_sym(v, S_dev_get_tstats64)) {
		dev_stats(v, dev, c);
		pc_check(w, name, dev_percpu(w, dev, F_nd_tstats, tf, 4, s));
		c->rx_packets += s[0];
		c->rx_bytes += s[1];
		c->tx_packets += s[2];
		c->tx_bytes += s[3];
	} else {
		dev_stats(v, dev, c);
		if (get64 || get)
			vm_report(w->it, ENOTSUP,
			          "interface %s: counters kept by its driver%s%s "
			          "are not read",
			          name, kind[0] ? " " : "", kind);
	}
	core_drops(w, dev, c);
}

static int emit_dev(struct ifwalk *w, uint64_t dev, int (*cb)(void *, const struct vt_iface *),
                    void *ctx)
{
	const struct vmi *v = w->v;
	struct vt_iface i;
	char name[17] = "";
	uint64_t x = 0;

	if (vmi_read(v, dev + vmi_off(v, F_nd_name), name, 16))
		return -EFAULT;
	name[16] = 0;
	for (char *p = name; *p; p++) /* no control characters in messages */
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	memset(&i, 0, sizeof(i));
	i.name = name;
	if (!vmi_field(v, dev, F_nd_ifindex, &x))
		i.index = (int)x;
	if (!vmi_field(v, dev, F_nd_mtu, &x))
		i.mtu = (unsigned)x;
	i.flags = dev_flags(v, dev);
	dev_mac(v, dev, i.mac, sizeof(i.mac));
	dev_addrs(w, dev, name);
	i.addrs = w->ptrs;
	dev_counters(w, dev, name, &i.counters);
	return cb(ctx, &i);
}

int vm_interfaces(struct view *view, const struct view_iter *it,
                  int (*cb)(void *ctx, const struct vt_iface *i))
{
	static const enum vmi_field nf[] = {F_net_dev_base_head, F_nd_dev_list, F_nd_name};
	struct vm_view *vv = (struct vm_view *)view;
	const struct vmi *v = &vv->vmi;
	uint64_t net = vmi_sym(v, S_init_net), head, node;
	struct ifwalk *w;
	int r = 0;

	if (!net) {
		vm_report(it, ENOTSUP, "interfaces: no init_net symbol");
		return -ENOTSUP;
	}
	if (!vm_need(v, it, "interfaces", nf, 3))
		return -ENOTSUP;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->cpus = calloc(1, sizeof(*w->cpus));
	if (!w->cpus) {
		free(w);
		return -ENOMEM;
	}
	w->v = v;
	w->it = it;
	read_cpus(v, w->cpus);
	head = net + vmi_off(v, F_net_dev_base_head);
	if (vmi_u64(v, head, &node)) {
		vm_report(it, EFAULT, "interfaces: init_net device list unreadable");
		r = -EFAULT;
		goto out;
	}
	struct cyc cy = CYC_INIT;

	for (unsigned n = 0; node != head; n++) {
		if (n >= VMI_MAX_LIST) {
			vm_report(it, ELOOP, "interfaces: more than %u devices", VMI_MAX_LIST);
			break;
		}
		if (vm_cyc_loops(&cy, node)) {
			vm_report(it, ELOOP, "interfaces: the device list loops");
			break;
		}
		uint64_t dev = node - vmi_off(v, F_nd_dev_list), next;
		if (!vmi_kptr(v, node) || vmi_u64(v, node, &next)) {
			vm_report(it, EFAULT, "interfaces: bad pointer 0x%llx",
			          (unsigned long long)node);
			break;
		}
		r = emit_dev(w, dev, cb, it ? it->ctx : NULL);
		if (r == -EFAULT) {
			vm_report(it, EFAULT, "interfaces: device at 0x%llx unreadable",
			          (unsigned long long)dev);
			r = 0;
			break;
		}
		if (r)
			break;
		node = next;
	}
out:
	free(w->cpus);
	free(w);
	return r;
}
