/*
 * interface.c - the `interface` feature: one record per network interface
 * of the system.
 *
 * Key: the interface name ("eth0"), stable while the interface exists.
 * Value: name, index, mac ("aa:bb:cc:dd:ee:ff", null for interfaces
 * without a hardware address), mtu, flags (array of lower-case IFF_* names:
 * "up", "broadcast", "loopback", "running", "multicast", "lower_up"...),
 * addresses (array of "addr/prefix", IPv4 and IPv6), and the cumulative
 * counters rx_bytes, rx_packets, rx_errors, rx_dropped, tx_bytes,
 * tx_packets, tx_errors, tx_dropped.
 *
 * Reference crawler layout: feature "interface", key "interface-<name>";
 * the same fields (that crawler's rates are not derived here).
 */
#include <stdio.h>

#include "../util/util.h"
#include "feature.h"

/* IFF_* bits of linux/if.h (16-18 are not in glibc's net/if.h). */
static const char *const flag_names[] = {
    "up",        "broadcast", "debug",    "loopback", "pointopoint", "notrailers", "running",
    "noarp",     "promisc",   "allmulti", "master",   "slave",       "multicast",  "portsel",
    "automedia", "dynamic",   "lower_up", "dormant",  "echo",
};

static void put_flags(struct json *j, unsigned flags)
{
	size_t b;

	jw_arr_begin(j, "flags");
	for (b = 0; b < ARRAY_SIZE(flag_names); b++)
		if (flags & (1u << b))
			jw_str(j, NULL, flag_names[b]);
	jw_arr_end(j);
}

static int emit(void *ctx, const struct vt_iface *i)
{
	struct crawl_ctx *c = ctx;
	struct frame *f = c->frame;
	const char *name = i->name ? i->name : "";
	const struct vt_netio *n = &i->counters;
	struct json *j = rec_begin(f, name);
	char ckey[96];
	const char *const *a;

	if (frame_format(f) == FRAME_CRAWLER) {
		snprintf(ckey, sizeof(ckey), "interface-%s", name);
		rec_crawler(f, "interface", ckey);
	}
	jw_str(j, "name", name);
	jw_int(j, "index", i->index);
	jw_str(j, "mac", i->mac[0] ? i->mac : NULL);
	jw_uint(j, "mtu", i->mtu);
	put_flags(j, i->flags);
	jw_arr_begin(j, "addresses");
	for (a = i->addrs; a && *a; a++)
		jw_str(j, NULL, *a);
	jw_arr_end(j);
	jw_uint(j, "rx_bytes", n->rx_bytes);
	jw_uint(j, "rx_packets", n->rx_packets);
	jw_uint(j, "rx_errors", n->rx_errors);
	jw_uint(j, "rx_dropped", n->rx_dropped);
	jw_uint(j, "tx_bytes", n->tx_bytes);
	jw_uint(j, "tx_packets", n->tx_packets);
	jw_uint(j, "tx_errors", n->tx_errors);
	jw_uint(j, "tx_dropped", n->tx_dropped);
	return rec_end(f);
}

static int crawl(struct crawl_ctx *c)
{
	struct view_iter it = feature_iter(c);
	int r = view_interfaces(c->view, &it, emit);

	return r < 0 ? r : 0;
}

const struct feature feature_interface = {
    .name = "interface",
    .description = "network interfaces: MAC, MTU, flags, addresses, counters",
    .crawl = crawl,
    .default_interval = 300,
};
