/*
 * mhd.c - dlopen() of libmicrohttpd (see mhd.h).
 */
#include "mhd.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

struct mhd_api mhd;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int load_rc;
static char load_err[256];

#define SYM(field, name)                                                                           \
	do {                                                                                       \
		*(void **)&mhd.field = dlsym(h, #name);                                            \
		if (!mhd.field) {                                                                  \
			snprintf(load_err, sizeof(load_err), "%s: no symbol %s", LIB, #name);      \
			load_rc = -ENOENT;                                                         \
			return;                                                                    \
		}                                                                                  \
	} while (0)

#define LIB "libmicrohttpd.so.12"

static void load(void)
{
	void *h = dlopen(LIB, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(load_err, sizeof(load_err),
		         "cannot load %s (install Debian's libmicrohttpd12): %s", LIB, dlerror());
		load_rc = -ENOENT;
		return;
	}
	SYM(start_daemon, MHD_start_daemon);
	SYM(stop_daemon, MHD_stop_daemon);
	SYM(add_response_header, MHD_add_response_header);
	SYM(create_response_from_buffer_with_free_callback,
	    MHD_create_response_from_buffer_with_free_callback);
	SYM(destroy_response, MHD_destroy_response);
	SYM(lookup_connection_value, MHD_lookup_connection_value);
	SYM(queue_response, MHD_queue_response);
	SYM(get_connection_info, MHD_get_connection_info);
	SYM(create_response_from_callback, MHD_create_response_from_callback);
	SYM(suspend_connection, MHD_suspend_connection);
	SYM(resume_connection, MHD_resume_connection);
	SYM(is_feature_supported, MHD_is_feature_supported);
}

int mhd_load(char *err, size_t errlen)
{
	pthread_once(&once, load);
	if (load_rc < 0 && err)
		snprintf(err, errlen, "%s", load_err);
	return load_rc;
}
