/*
 * mhd.h - libmicrohttpd, loaded only when a server starts.
 *
 * `vantage crawl` must stay small: linking libmicrohttpd would map it and
 * GnuTLS (with its start-up constructors) into every crawl, ~3 MB of
 * resident memory for nothing.  So the HTTP library is dlopen()ed by
 * mhd_load() the first time a server starts, and the server calls it
 * through the `mhd` table.  The declarations (types, constants) come from
 * <microhttpd.h> as usual.
 */
#ifndef VANTAGE_MHD_H
#define VANTAGE_MHD_H

#include <stddef.h>
#include <microhttpd.h>

struct mhd_api {
	__typeof__(&MHD_start_daemon) start_daemon;
	__typeof__(&MHD_stop_daemon) stop_daemon;
	__typeof__(&MHD_add_response_header) add_response_header;
	__typeof__(&MHD_create_response_from_buffer_with_free_callback)
	    create_response_from_buffer_with_free_callback;
	__typeof__(&MHD_destroy_response) destroy_response;
	__typeof__(&MHD_lookup_connection_value) lookup_connection_value;
	__typeof__(&MHD_queue_response) queue_response;
	__typeof__(&MHD_get_connection_info) get_connection_info;
	/* streamed answers (api_logs.c's live tail) */
	__typeof__(&MHD_create_response_from_callback) create_response_from_callback;
	__typeof__(&MHD_suspend_connection) suspend_connection;
	__typeof__(&MHD_resume_connection) resume_connection;
	__typeof__(&MHD_is_feature_supported) is_feature_supported;
};

extern struct mhd_api mhd;

/* Load the library once (thread-safe).  Returns 0, or -ENOENT with a
 * message naming the library and the package to install. */
int mhd_load(char *err, size_t errlen);

#endif
