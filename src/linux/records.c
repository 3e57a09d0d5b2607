/*
 * records.c - names of the enumerations in records.h, as they appear in
 * frames ("ESTABLISHED", "symlink").
 */
#include <netinet/tcp.h>

#include "../util/util.h"
#include "records.h"

const char *vt_tcp_state_name(int state)
{
	static const char *const names[] = {
	    [TCP_ESTABLISHED] = "ESTABLISHED",
	    [TCP_SYN_SENT] = "SYN_SENT",
	    [TCP_SYN_RECV] = "SYN_RECV",
	    [TCP_FIN_WAIT1] = "FIN_WAIT1",
	    [TCP_FIN_WAIT2] = "FIN_WAIT2",
	    [TCP_TIME_WAIT] = "TIME_WAIT",
	    [TCP_CLOSE] = "CLOSE",
	    [TCP_CLOSE_WAIT] = "CLOSE_WAIT",
	    [TCP_LAST_ACK] = "LAST_ACK",
	    [TCP_LISTEN] = "LISTEN",
	    [TCP_CLOSING] = "CLOSING",
	};
	if (state > 0 && (size_t)state < ARRAY_SIZE(names) && names[state])
		return names[state];
	return "UNKNOWN";
}

const char *vt_ftype_name(enum vt_ftype t)
{
	static const char *const names[] = {"file",     "dir",  "symlink", "chardev",
	                                    "blockdev", "fifo", "socket",  "unknown"};
	return (unsigned)t < ARRAY_SIZE(names) ? names[t] : "unknown";
}
