/* RUNNING_ON_VALGRIND: non-zero in a test run under valgrind (make
 * valgrind), for the few checks of the environment valgrind changes
 * (timing, /proc/PID/exe).  0 where valgrind's header is not installed. */
#ifndef VANTAGE_TEST_UNDER_VALGRIND_H
#define VANTAGE_TEST_UNDER_VALGRIND_H
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif
#endif
