/*
 * sflow_flow.c - sFlow flow samples both ways (sflow.h): a sampled packet
 * and its socket into a flow sample (0:1) of a datagram, the data of a flow
 * sample (0:1 or expanded 0:3) back into struct sflow_flow, and the parse
 * of a sampled Ethernet header down to addresses and ports.
 *
 * Encoding: the sample is tag 0:1, length, then seq, source_id
 * (ds_class << 24 | ds_index), sampling_rate, sample_pool, drops, input,
 * output, the record count and the records: sampled_header 0:1
 * (header_protocol, frame_length, stripped, header_length, the header
 * padded to 4) when has_header, extended_socket_ipv4/6 0:2100/2101 when
 * has_socket.
 *
 * Decoding trusts no length: every record is read by its stated length,
 * which must lie within the sample (else -EBADMSG, st->bad_length); a
 * known record shorter than its fields is refused the same way; unknown
 * records are skipped (st->unknown_record).  The caller (sflow_decode)
 * counts the flow sample itself.
 */
#include <errno.h>
#include <string.h>

#include "sflow.h"

/* ---------------------------------------------------------------- XDR */

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* ---------------------------------------------------------------- encode */

#define FLOW_SAMPLE_FIXED 32 /* seq .. n_records */
#define REC_HDR 8            /* a record's tag and length */

static size_t header_rec_len(const struct sflow_flow *f)
{
	size_t hl = f->header_len > SFLOW_HEADER_MAX ? SFLOW_HEADER_MAX : f->header_len;
	return 16 + pad4(hl);
}

static size_t socket_rec_len(const struct sflow_flow *f)
{
	return f->sock_af == 2 ? 44 : 20;
}

int sflow_dgram_add_flow(struct sflow_dgram *d, const struct sflow_flow *f)
{
	size_t body = FLOW_SAMPLE_FIXED;
	uint32_t nrec = 0;
	if (f->has_header) {
		body += REC_HDR + header_rec_len(f);
		nrec++;
	}
	if (f->has_socket) {
		body += REC_HDR + socket_rec_len(f);
		nrec++;
	}
	size_t need = 8 + body;
	size_t hdr = d->agent.af == 2 ? 40 : 28;
	size_t cap = d->mtu && d->mtu < SFLOW_DGRAM_MAX ? d->mtu : SFLOW_DGRAM_MAX;
	if (hdr + need > cap)
		return -E2BIG;
	if (d->len + need > cap)
		return -EMSGSIZE;

	uint8_t *p = d->buf + d->len;
	put32(p, SFLOW_TAG(0, SFLOW_FLOW_SAMPLE));
	put32(p + 4, (uint32_t)body);
	p += 8;
	put32(p, f->seq);
	put32(p + 4, (f->ds_class & 0xFF) << 24 | (f->ds_index & 0xFFFFFF));
	put32(p + 8, f->sampling_rate);
	put32(p + 12, f->sample_pool);
	put32(p + 16, f->drops);
	put32(p + 20, f->input);
	put32(p + 24, f->output);
	put32(p + 28, nrec);
	p += FLOW_SAMPLE_FIXED;
	if (f->has_header) {
		uint32_t hl = f->header_len > SFLOW_HEADER_MAX ? SFLOW_HEADER_MAX : f->header_len;
		size_t rl = header_rec_len(f);
		put32(p, SFLOW_TAG(0, SFLOW_FLOW_HEADER));
		put32(p + 4, (uint32_t)rl);
		put32(p + 8, f->header_protocol ? f->header_protocol : 1);
		put32(p + 12, f->frame_length);
		put32(p + 16, f->stripped);
		put32(p + 20, hl);
		memcpy(p + 24, f->header, hl);
		memset(p + 24 + hl, 0, pad4(hl) - hl);
		p += REC_HDR + rl;
	}
	if (f->has_socket) {
		bool v6 = f->sock_af == 2;
		size_t al = v6 ? 16 : 4;
		put32(p, SFLOW_TAG(0, v6 ? SFLOW_FLOW_EX_SOCKET6 : SFLOW_FLOW_EX_SOCKET4));
		put32(p + 4, (uint32_t)socket_rec_len(f));
		p += REC_HDR;
		put32(p, f->sock_proto);
		memcpy(p + 4, f->local, al);
		memcpy(p + 4 + al, f->remote, al);
		put32(p + 4 + 2 * al, f->local_port);
		put32(p + 8 + 2 * al, f->remote_port);
	}
	d->len += need;
	d->nsamples++;
	return 0;
}

/* ---------------------------------------------------------------- parse */

enum { ETH_IPV4 = 0x0800, ETH_IPV6 = 0x86DD, ETH_VLAN = 0x8100, ETH_QINQ = 0x88A8 };

/* TCP (6), UDP (17), SCTP (132) ports from the transport header at l4
 * of `len` bytes. */
static void parse_ports(struct sflow_flow *f, const uint8_t *l4, size_t len)
{
	if ((f->proto == 6 || f->proto == 17 || f->proto == 132) && len >= 4) {
		f->sport = get16(l4);
		f->dport = get16(l4 + 2);
	}
}

static bool parse_ipv4(struct sflow_flow *f, const uint8_t *p, size_t len)
{
	if (len < 20 || p[0] >> 4 != 4)
		return false;
	size_t ihl = (size_t)(p[0] & 0xF) * 4;
	if (ihl < 20)
		return false;
	f->af = 1;
	memset(f->src, 0, sizeof(f->src));
	memset(f->dst, 0, sizeof(f->dst));
	memcpy(f->src, p + 12, 4);
	memcpy(f->dst, p + 16, 4);
	f->proto = p[9];
	f->sport = f->dport = 0;
	uint16_t frag = get16(p + 6);
	if ((frag & 0x1FFF) == 0 && ihl <= len) /* the first fragment holds the ports */
		parse_ports(f, p + ihl, len - ihl);
	return true;
}

static bool ext_header(uint8_t nh)
{
	/* hop-by-hop, routing, destination options (fragment: 44 is separate) */
	return nh == 0 || nh == 43 || nh == 60;
}

static bool parse_ipv6(struct sflow_flow *f, const uint8_t *p, size_t len)
{
	if (len < 40 || p[0] >> 4 != 6)
		return false;
	f->af = 2;
	memcpy(f->src, p + 8, 16);
	memcpy(f->dst, p + 24, 16);
	uint8_t nh = p[6];
	size_t off = 40;
	f->sport = f->dport = 0;
	for (int i = 0; i < 8 && ext_header(nh); i++) {
		if (off + 8 > len) {
			f->proto = nh;
			return true;
		}
		uint8_t next = p[off];
		off += ((size_t)p[off + 1] + 1) * 8;
		nh = next;
	}
	if (nh == 44 && off + 8 <= len) { /* fragment: ports only in the first */
		uint16_t fo = get16(p + off + 2);
		nh = p[off];
		off += 8;
		f->proto = nh;
		if ((fo & 0xFFF8) != 0)
			return true;
	}
	f->proto = nh;
	if (off <= len)
		parse_ports(f, p + off, len - off);
	return true;
}

bool sflow_parse_header(struct sflow_flow *f)
{
	f->has_ip = false;
	if (!f->has_header || (f->header_protocol != 0 && f->header_protocol != 1))
		return false;
	size_t len = f->header_len > SFLOW_HEADER_MAX ? SFLOW_HEADER_MAX : f->header_len;
	const uint8_t *p = f->header;
	if (len < 14)
		return false;
	uint16_t type = get16(p + 12);
	size_t off = 14;
	for (int i = 0; i < 2 && (type == ETH_VLAN || type == ETH_QINQ); i++) {
		if (off + 4 > len)
			return false;
		type = get16(p + off + 2);
		off += 4;
	}
	bool ok;
	if (type == ETH_IPV4)
		ok = parse_ipv4(f, p + off, len - off);
	else if (type == ETH_IPV6)
		ok = parse_ipv6(f, p + off, len - off);
	else
		ok = false;
	f->has_ip = ok;
	return ok;
}

/* ---------------------------------------------------------------- decode */

static int bad(struct sflow_stats *st)
{
	if (st)
		st->bad_length++;
	return -EBADMSG;
}

static int dec_header(const uint8_t *p, size_t len, struct sflow_flow *f, struct sflow_stats *st)
{
	if (len < 16)
		return bad(st);
	uint32_t hl = get32(p + 12);
	if (hl > len - 16)
		return bad(st);
	f->has_header = true;
	f->header_protocol = get32(p);
	f->frame_length = get32(p + 4);
	f->stripped = get32(p + 8);
	f->header_len = hl > SFLOW_HEADER_MAX ? SFLOW_HEADER_MAX : hl;
	memcpy(f->header, p + 16, f->header_len);
	if (f->header_protocol == 1)
		sflow_parse_header(f);
	return 0;
}

/* sampled_ipv4 (0:3, 32 bytes) / sampled_ipv6 (0:4, 56 bytes): used when
 * no sampled header gave the addresses */
static int dec_sampled_ip(const uint8_t *p, size_t len, bool v6, struct sflow_flow *f,
                          struct sflow_stats *st)
{
	size_t al = v6 ? 16 : 4;
	if (len < 8 + 2 * al + 16)
		return bad(st);
	if (f->has_ip)
		return 0;
	if (!f->frame_length)
		f->frame_length = get32(p);
	f->proto = get32(p + 4);
	memset(f->src, 0, sizeof(f->src));
	memset(f->dst, 0, sizeof(f->dst));
	memcpy(f->src, p + 8, al);
	memcpy(f->dst, p + 8 + al, al);
	f->sport = get32(p + 8 + 2 * al);
	f->dport = get32(p + 12 + 2 * al);
	f->af = v6 ? 2 : 1;
	f->has_ip = true;
	return 0;
}

static int dec_socket(const uint8_t *p, size_t len, bool v6, struct sflow_flow *f,
                      struct sflow_stats *st)
{
	size_t al = v6 ? 16 : 4;
	if (len < 12 + 2 * al)
		return bad(st);
	f->has_socket = true;
	f->sock_af = v6 ? 2 : 1;
	f->sock_proto = get32(p);
	memset(f->local, 0, sizeof(f->local));
	memset(f->remote, 0, sizeof(f->remote));
	memcpy(f->local, p + 4, al);
	memcpy(f->remote, p + 4 + al, al);
	f->local_port = get32(p + 4 + 2 * al);
	f->remote_port = get32(p + 8 + 2 * al);
	return 0;
}

int sflow_decode_flow_sample(const uint8_t *p, size_t len, bool expanded, struct sflow_flow *f,
                             struct sflow_stats *st)
{
	memset(f, 0, sizeof(*f));
	size_t fixed = expanded ? 44 : 32;
	if (len < fixed)
		return bad(st);
	f->seq = get32(p);
	if (expanded) {
		f->ds_class = get32(p + 4);
		f->ds_index = get32(p + 8);
		f->sampling_rate = get32(p + 12);
		f->sample_pool = get32(p + 16);
		f->drops = get32(p + 20);
		/* input_format, input, output_format, output */
		f->input = get32(p + 28);
		f->output = get32(p + 36);
	} else {
		uint32_t src = get32(p + 4);
		f->ds_class = src >> 24;
		f->ds_index = src & 0xFFFFFF;
		f->sampling_rate = get32(p + 8);
		f->sample_pool = get32(p + 12);
		f->drops = get32(p + 16);
		f->input = get32(p + 20);
		f->output = get32(p + 24);
	}
	uint32_t nrec = get32(p + fixed - 4);
	size_t off = fixed;
	/* each record takes at least 8 bytes: a count beyond that lies */
	if (nrec > (len - off) / REC_HDR)
		return bad(st);
	for (uint32_t i = 0; i < nrec; i++) {
		if (len - off < REC_HDR)
			return bad(st);
		uint32_t tag = get32(p + off);
		uint32_t rl = get32(p + off + 4);
		off += REC_HDR;
		if (rl > len - off)
			return bad(st);
		const uint8_t *r = p + off;
		int e = 0;
		switch (tag) {
		case SFLOW_TAG(0, SFLOW_FLOW_HEADER):
			e = dec_header(r, rl, f, st);
			break;
		case SFLOW_TAG(0, SFLOW_FLOW_IPV4):
			e = dec_sampled_ip(r, rl, false, f, st);
			break;
		case SFLOW_TAG(0, SFLOW_FLOW_IPV6):
			e = dec_sampled_ip(r, rl, true, f, st);
			break;
		case SFLOW_TAG(0, SFLOW_FLOW_EX_SOCKET4):
			e = dec_socket(r, rl, false, f, st);
			break;
		case SFLOW_TAG(0, SFLOW_FLOW_EX_SOCKET6):
			e = dec_socket(r, rl, true, f, st);
			break;
		default:
			if (st)
				st->unknown_record++;
			break;
		}
		if (e < 0)
			return e;
		/* the stated length, padded: XDR keeps records 4-aligned */
		size_t adv = pad4(rl);
		off += adv <= len - off ? adv : rl;
	}
	return 0;
}
