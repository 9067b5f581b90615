/* error.h — the per-thread failure message behind heed_last_error(). */
#ifndef HEED_UTIL_ERROR_H
#define HEED_UTIL_ERROR_H

#include "heed.h"

#if defined(__GNUC__)
#define HEED_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define HEED_PRINTF(a, b)
#endif

/* Sets this thread's message from fmt and returns st, so a failing path
 * reads `return heed_fail(HEED_ERR_FORMAT, "%s: offset %llu: ...", ...)`. */
heed_status heed_fail(heed_status st, const char *fmt, ...) HEED_PRINTF(2, 3);

/* Prefixes this thread's message with "prefix: " (for adding context, e.g.
 * a file name, while an error travels up). Returns st. */
heed_status heed_fail_prefix(heed_status st, const char *fmt, ...) HEED_PRINTF(2, 3);

void heed_clear_error(void);

#endif
