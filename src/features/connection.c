/*
 * connection.c - the `connection` feature: one record per TCP or UDP
 * socket (IPv4 and IPv6) of the system, with the process that owns it.
 *
 * The view dumps sockets (sock_diag on the host) and resolves owners; this
 * file only formats.  Records stream one socket at a time.
 *
 * Key, stable across snapshots while the socket is the same:
 *   not connected (remote port 0: listening TCP, unconnected UDP, a bound
 *   TCP socket)            "<p>/<local_addr>/<local_port>"
 *   connected              "<p>/<local_addr>/<local_port>/<remote_addr>/<remote_port>"
 * where <p> is the protocol plus family: "tcp", "tcp6", "udp" or "udp6".
 * Addresses are numeric (inet_ntop; a v4-mapped IPv6 address stays
 * "::ffff:a.b.c.d").  Sockets sharing an address and port (SO_REUSEPORT
 * groups, the accepted side of a listener is distinct by its remote end)
 * share a key.
 *
 * Value: proto ("tcp"/"udp"), family ("ipv4"/"ipv6"), local_addr,
 * local_port, remote_addr, remote_port, state, inode, uid, pid, comm, and
 * for TCP sockets other than listeners, when the view reads the kernel's
 * tcp_info (the host view): bytes_acked, bytes_received (counters since
 * the connection opened), rtt_us, retrans (total retransmitted segments).
 * Rates are deltas of those between two frames (analytics/topology).
 * state is the TCP state name ("LISTEN", "ESTABLISHED", ...); a UDP socket
 * is "UNCONN" when not connected (kernel state CLOSE) and "ESTABLISHED"
 * when connected.  pid and comm are null when no process holding the
 * socket was found: that is normal (TIME_WAIT sockets, sockets of
 * processes outside the view's PID namespace) and not counted as an error.
 *
 * Reference crawler layout: feature "connection", key
 * "<pid>/<local_addr>/<local_port>" ("-" for an unknown pid), fields
 * localipaddr, localport, remoteipaddr, remoteport, connstatus, pid, pname.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

#include "feature.h"

/* TCP_CLOSE and TCP_ESTABLISHED of the kernel's state numbering. */
enum { ST_ESTABLISHED = 1, ST_CLOSE = 7 };

static const char *state_name(const struct vt_sock *s)
{
	if (s->proto == IPPROTO_UDP) {
		if (s->state == ST_CLOSE)
			return "UNCONN";
		if (s->state == ST_ESTABLISHED)
			return "ESTABLISHED";
	}
	return vt_tcp_state_name(s->state);
}

static const char *proto_key(const struct vt_sock *s)
{
	bool v6 = s->family == AF_INET6;

	if (s->proto == IPPROTO_UDP)
		return v6 ? "udp6" : "udp";
	return v6 ? "tcp6" : "tcp";
}

static void put_crawler_key(struct frame *f, const struct vt_sock *s)
{
	char key[160], pid[16] = "-";

	if (s->have & VS_OWNER)
		snprintf(pid, sizeof(pid), "%d", s->pid);
	snprintf(key, sizeof(key), "%s/%s/%u", pid, s->local_addr, (unsigned)s->local_port);
	rec_crawler(f, "connection", key);
}

static int emit(void *ctx, const struct vt_sock *s)
{
	struct crawl_ctx *c = ctx;
	struct frame *f = c->frame;
	struct json *j;

	if (s->remote_port == 0)
		j = rec_beginf(f, "%s/%s/%u", proto_key(s), s->local_addr, (unsigned)s->local_port);
	else
		j = rec_beginf(f, "%s/%s/%u/%s/%u", proto_key(s), s->local_addr,
		               (unsigned)s->local_port, s->remote_addr, (unsigned)s->remote_port);
	if (frame_format(f) == FRAME_CRAWLER)
		put_crawler_key(f, s);

	jw_str(j, "proto", s->proto == IPPROTO_UDP ? "udp" : "tcp");
	jw_str(j, "family", s->family == AF_INET6 ? "ipv6" : "ipv4");
	jw_str(j, rec_name(f, "local_addr", "localipaddr"), s->local_addr);
	jw_uint(j, rec_name(f, "local_port", "localport"), s->local_port);
	jw_str(j, rec_name(f, "remote_addr", "remoteipaddr"), s->remote_addr);
	jw_uint(j, rec_name(f, "remote_port", "remoteport"), s->remote_port);
	jw_str(j, rec_name(f, "state", "connstatus"), state_name(s));
	if (s->have & VS_INODE)
		jw_uint(j, "inode", s->inode);
	else
		jw_null(j, "inode");
	if (s->have & VS_UID)
		jw_uint(j, "uid", s->uid);
	if (s->have & VS_OWNER) {
		jw_int(j, "pid", s->pid);
		jw_str(j, rec_name(f, "comm", "pname"), s->comm);
	} else {
		jw_null(j, "pid");
		jw_null(j, rec_name(f, "comm", "pname"));
	}
	if ((s->have & VS_TCPINFO) && s->proto == IPPROTO_TCP && s->remote_port != 0) {
		jw_uint(j, "bytes_acked", s->bytes_acked);
		jw_uint(j, "bytes_received", s->bytes_received);
		jw_uint(j, "rtt_us", s->rtt_us);
		jw_uint(j, "retrans", s->retrans);
	}
	return rec_end(f);
}

static int crawl(struct crawl_ctx *c)
{
	struct view_iter it = feature_iter(c);
	int r = view_sockets(c->view, &it, emit);

	return r < 0 ? r : 0;
}

const struct feature feature_connection = {
    .name = "connection",
    .description = "TCP and UDP sockets (IPv4, IPv6) with their owning process",
    .crawl = crawl,
    .default_interval = 60,
};
