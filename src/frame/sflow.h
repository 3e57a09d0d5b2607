/*
 * sflow.h - sFlow version 5 datagrams: the structures Vantage sends and
 * receives, and the encoder and decoder between them and the wire
 * (docs/sflow.md).
 *
 * sFlow is XDR: big-endian, every field 4-byte aligned, strings and
 * opaques a u32 length then the bytes padded to 4.  A datagram is a
 * header (version 5, agent address, sub-agent id, sequence, uptime,
 * sample count) then samples, each `tag` (enterprise << 12 | format) and
 * `length` then its data.  Counter samples (0:2, expanded 0:4) hold
 * counter records, flow samples (0:1, expanded 0:3) hold flow records;
 * every record is again tag, length, data.  The structures below are the
 * Host sFlow ones (sflow.org "sFlow Host Structures", the host-sflow
 * agent's sflow.h): the figures name the record formats.
 *
 * Three files implement this header, each its own concern:
 *   sflow_encode.c  struct sflow_dgram: building datagrams of counter
 *                   samples within an MTU (the sFlow sink)
 *   sflow_decode.c  sflow_decode(): a datagram to callbacks, each record by
 *                   its stated length, unknown ones skipped (the collector)
 *   sflow_flow.c    flow samples: sampled header, extended socket, both ways
 * The decoder never trusts a length: a record or sample whose length runs
 * past its container is an error counted by kind (struct sflow_stats),
 * never a read out of bounds.
 */
#ifndef VANTAGE_SFLOW_H
#define VANTAGE_SFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SFLOW_VERSION 5
#define SFLOW_PORT 6343
#define SFLOW_MTU_DEFAULT 1400 /* payload bytes, hsflowd's default */
#define SFLOW_DGRAM_MAX 65507  /* largest UDP payload */

#define SFLOW_TAG(ent, fmt) (((uint32_t)(ent) << 12) | (uint32_t)(fmt))

/* sample formats (enterprise 0) */
enum {
	SFLOW_FLOW_SAMPLE = 1,
	SFLOW_COUNTER_SAMPLE = 2,
	SFLOW_FLOW_SAMPLE_EXP = 3,
	SFLOW_COUNTER_SAMPLE_EXP = 4,
};

/* counter record formats (enterprise 0) */
enum {
	SFLOW_CTR_GENERIC_IF = 1,
	SFLOW_CTR_HOST_DESCR = 2000,
	SFLOW_CTR_HOST_ADAPTERS = 2001,
	SFLOW_CTR_HOST_PARENT = 2002,
	SFLOW_CTR_HOST_CPU = 2003,
	SFLOW_CTR_HOST_MEMORY = 2004,
	SFLOW_CTR_HOST_DISK_IO = 2005,
	SFLOW_CTR_HOST_NET_IO = 2006,
	SFLOW_CTR_VIRT_NODE = 2100,
	SFLOW_CTR_VIRT_CPU = 2101,
	SFLOW_CTR_VIRT_MEMORY = 2102,
	SFLOW_CTR_VIRT_DISK_IO = 2103,
	SFLOW_CTR_VIRT_NET_IO = 2104,
};

/* flow record formats (enterprise 0; 2100/2101 overlap the counter
 * formats: the sample type says which) */
enum {
	SFLOW_FLOW_HEADER = 1,
	SFLOW_FLOW_IPV4 = 3,
	SFLOW_FLOW_IPV6 = 4,
	SFLOW_FLOW_EX_SOCKET4 = 2100,
	SFLOW_FLOW_EX_SOCKET6 = 2101,
};

/* data source classes (source_id >> 24) */
enum { SFLOW_DS_IFINDEX = 0, SFLOW_DS_VLAN = 1, SFLOW_DS_PHYSICAL = 2, SFLOW_DS_LOGICAL = 3 };

/* host_descr machine_type and os_name values used here */
enum { SFLOW_MT_UNKNOWN = 0, SFLOW_MT_X86 = 2, SFLOW_MT_X86_64 = 3, SFLOW_MT_ARM = 10 };
enum { SFLOW_OS_UNKNOWN = 0, SFLOW_OS_LINUX = 2 };

/* An agent address: IPv4 (af 1) or IPv6 (af 2). */
struct sflow_addr {
	uint32_t af; /* 1 IPv4, 2 IPv6 */
	uint8_t a[16];
};

/* The datagram header. */
struct sflow_header {
	struct sflow_addr agent;
	uint32_t sub_agent;
	uint32_t seq;       /* per agent and sub-agent: +1 per datagram */
	uint32_t uptime_ms; /* since the agent started */
	uint32_t nsamples;
};

/* 2000 host_descr */
struct sflow_host_descr {
	char hostname[65]; /* at most 64 on the wire */
	uint8_t uuid[16];
	uint32_t machine_type, os_name;
	char os_release[33]; /* at most 32 on the wire */
};

/* 2001 host_adapters: the first SFLOW_MAX_ADAPTERS, each with its first MAC */
#define SFLOW_MAX_ADAPTERS 32
struct sflow_adapter {
	uint32_t ifindex;
	uint32_t nmacs;
	uint8_t mac[6];
};
struct sflow_host_adapters {
	uint32_t n;
	struct sflow_adapter a[SFLOW_MAX_ADAPTERS];
};

/* 2002 host_parent */
struct sflow_host_parent {
	uint32_t ds_class, ds_index;
};

/* 2003 host_cpu (80 bytes; older agents send 68, without the last three) */
struct sflow_host_cpu {
	float load_one, load_five, load_fifteen;
	uint32_t proc_run, proc_total, cpu_num, cpu_speed_mhz, uptime_s;
	uint32_t cpu_user, cpu_nice, cpu_system, cpu_idle, cpu_wio, cpu_intr, cpu_sintr; /* ms */
	uint32_t interrupts, contexts;
	uint32_t cpu_steal, cpu_guest, cpu_guest_nice; /* ms; 0 from a 68-byte record */
	bool has_steal;                                /* the record had them */
};

/* 2004 host_memory (bytes) */
struct sflow_host_memory {
	uint64_t mem_total, mem_free, mem_shared, mem_buffers, mem_cached;
	uint64_t swap_total, swap_free;
	uint32_t page_in, page_out, swap_in, swap_out;
};

/* 2005 host_disk_io */
struct sflow_host_disk_io {
	uint64_t disk_total, disk_free;
	uint32_t part_max_used; /* percent x 100 */
	uint32_t reads;
	uint64_t bytes_read;
	uint32_t read_time; /* ms */
	uint32_t writes;
	uint64_t bytes_written;
	uint32_t write_time; /* ms */
};

/* 2006 host_net_io (2104 virt_net_io has the same fields) */
struct sflow_net_io {
	uint64_t bytes_in;
	uint32_t pkts_in, errs_in, drops_in;
	uint64_t bytes_out;
	uint32_t pkts_out, errs_out, drops_out;
};

/* 2100 virt_node */
struct sflow_virt_node {
	uint32_t mhz, cpus;
	uint64_t memory, memory_free; /* bytes */
	uint32_t num_domains;
};

/* 2101 virt_cpu */
struct sflow_virt_cpu {
	uint32_t state; /* 1 running ... (libvirt's virDomainState) */
	uint32_t cpu_time_ms;
	uint32_t nr_virt_cpu;
};

/* 2102 virt_memory (bytes) */
struct sflow_virt_memory {
	uint64_t memory, max_memory;
};

/* 2103 virt_disk_io */
struct sflow_virt_disk_io {
	uint64_t capacity, allocation, available;
	uint32_t rd_req;
	uint64_t rd_bytes;
	uint32_t wr_req;
	uint64_t wr_bytes;
	uint32_t errs;
};

/*
 * One counter sample, decoded or to encode: the data source and whichever
 * records it holds (has_* says which).  A host's sample has host_descr,
 * host_adapters, cpu, memory, disk, net; a container's or VM's has
 * host_descr (its name and uuid), host_parent (the host's data source),
 * virt_cpu, virt_memory, virt_disk_io, virt_net_io.
 */
struct sflow_counters {
	uint32_t seq; /* per data source: +1 per sample */
	uint32_t ds_class, ds_index;
	bool has_descr, has_adapters, has_parent, has_cpu, has_mem, has_disk, has_net;
	bool has_vnode, has_vcpu, has_vmem, has_vdisk, has_vnet;
	struct sflow_host_descr descr;
	struct sflow_host_adapters adapters;
	struct sflow_host_parent parent;
	struct sflow_host_cpu cpu;
	struct sflow_host_memory mem;
	struct sflow_host_disk_io disk;
	struct sflow_net_io net;
	struct sflow_virt_node vnode;
	struct sflow_virt_cpu vcpu;
	struct sflow_virt_memory vmem;
	struct sflow_virt_disk_io vdisk;
	struct sflow_net_io vnet;
};

/*
 * One flow sample: a sampled packet and what is known of its sockets.
 * header[] holds the first header_len bytes of the frame (Ethernet);
 * the decoder also fills the parsed addresses/ports when the header (or a
 * sampled_ipv4/6 record) holds them.
 */
#define SFLOW_HEADER_MAX 128
struct sflow_flow {
	/* encoding: the system that owns the sampled address (the sink maps
	 * it to its data source with sflow_ds_index()); NULL: the host.
	 * Decoding: NULL. */
	const char *system_id;
	uint32_t seq;
	uint32_t ds_class, ds_index;
	uint32_t sampling_rate; /* 1 in N */
	uint32_t sample_pool;   /* packets that could have been sampled */
	uint32_t drops;
	uint32_t input, output; /* ifIndex, 0x3FFFFFFF internal */
	/* sampled_header (0:1) */
	bool has_header;
	uint32_t header_protocol; /* 1 Ethernet */
	uint32_t frame_length;    /* the packet's length on the wire */
	uint32_t stripped;
	uint32_t header_len;
	uint8_t header[SFLOW_HEADER_MAX];
	/* parsed from the header or sampled_ipv4/6: */
	bool has_ip;
	uint32_t af; /* 1 IPv4, 2 IPv6 */
	uint8_t src[16], dst[16];
	uint32_t proto; /* IP protocol */
	uint32_t sport, dport;
	/* extended_socket_ipv4/6 (0:2100/2101): the socket that sent or took
	 * it, as the agent annotates it */
	bool has_socket;
	uint32_t sock_af, sock_proto;
	uint8_t local[16], remote[16];
	uint32_t local_port, remote_port;
};

/* ---------------------------------------------------------------- encode */

/*
 * A datagram under construction: header, then samples while they fit in
 * `mtu` bytes.  Usage (sflow_encode.c):
 *
 *     struct sflow_dgram d;
 *     sflow_dgram_init(&d, &agent, sub_agent, mtu);
 *     d.seq = ++seq; d.uptime_ms = ...;
 *     if (sflow_dgram_add_counters(&d, &c) == -EMSGSIZE) { send(d.buf, d.len); reset; add again }
 *
 * sflow_dgram_reset() starts the next datagram (seq to be set again).
 */
struct sflow_dgram {
	struct sflow_addr agent;
	uint32_t sub_agent, seq, uptime_ms;
	size_t mtu;
	uint32_t nsamples;
	size_t len; /* bytes in buf */
	uint8_t buf[SFLOW_DGRAM_MAX];
};

void sflow_dgram_init(struct sflow_dgram *d, const struct sflow_addr *agent, uint32_t sub_agent,
                      size_t mtu);
void sflow_dgram_reset(struct sflow_dgram *d);
/* Append one counter sample (format 0:2); -EMSGSIZE if it does not fit
 * (the datagram is unchanged), -E2BIG if it would not fit even alone. */
int sflow_dgram_add_counters(struct sflow_dgram *d, const struct sflow_counters *c);
/* Append one flow sample (format 0:1) with its sampled_header and, when
 * has_socket, extended_socket records (sflow_flow.c); errors as above. */
int sflow_dgram_add_flow(struct sflow_dgram *d, const struct sflow_flow *f);
/* Write the header's fields (sequence, uptime, count) into buf: call once
 * before sending. */
void sflow_dgram_finish(struct sflow_dgram *d);

/* ---------------------------------------------------------------- decode */

/* What the decoder met, by kind: the collector's counters on /metrics. */
struct sflow_stats {
	uint64_t datagrams;      /* decoded whole */
	uint64_t bad_version;    /* version != 5 */
	uint64_t truncated;      /* shorter than what it states */
	uint64_t bad_length;     /* a sample or record length past its container */
	uint64_t unknown_sample; /* samples skipped: unknown tag or enterprise */
	uint64_t unknown_record; /* records skipped: unknown tag or enterprise */
	uint64_t counter_samples, flow_samples;
};

struct sflow_decode_cb {
	void *ctx;
	/* Each counter sample, with the datagram's header. Return <0 to stop. */
	int (*counters)(void *ctx, const struct sflow_header *h, const struct sflow_counters *c);
	/* Each flow sample.  NULL: flow samples skipped (still counted). */
	int (*flow)(void *ctx, const struct sflow_header *h, const struct sflow_flow *f);
};

/*
 * Decode one datagram of `len` bytes.  Returns 0, or -EPROTO /
 * -EMSGSIZE / -EBADMSG for a datagram rejected as a whole (bad version,
 * truncated header, lying sample count), with the kind counted in *st.
 * Samples before a broken one have been delivered; a broken sample stops
 * the datagram.  A callback's negative return is returned as is.
 */
int sflow_decode(const uint8_t *p, size_t len, const struct sflow_decode_cb *cb,
                 struct sflow_stats *st);

/* Flow sample payloads (sflow_flow.c), for the decoder: the data of one
 * flow sample (after tag and length) into *f; `expanded` for format 0:3. */
int sflow_decode_flow_sample(const uint8_t *p, size_t len, bool expanded, struct sflow_flow *f,
                             struct sflow_stats *st);
/* Parse an Ethernet header (VLAN tags, IPv4/IPv6, TCP/UDP ports) into
 * f->af/src/dst/proto/sport/dport; false when it is no IP packet. */
bool sflow_parse_header(struct sflow_flow *f);

/* The data source index of a system: stable across restarts (a hash of
 * the system id into 1..0xFFFFFF; the host itself is index 1... see
 * sflow_encode.c), the same for its counter and flow samples. */
uint32_t sflow_ds_index(const char *system_id);

/* "10.0.0.1" / "fe80::1" of an address (af 1 or 2) into dst. */
const char *sflow_addr_str(uint32_t af, const uint8_t *a, char *dst, size_t cap);

#endif
