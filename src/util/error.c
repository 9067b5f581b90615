/* error.c — per-thread failure messages (see error.h). */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Long enough for a path, an offset and an explanation. */
static _Thread_local char message[1024];

heed_status heed_fail(heed_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    return st;
}

heed_status heed_fail_prefix(heed_status st, const char *fmt, ...)
{
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix - 2, fmt, ap);
    va_end(ap);
    size_t plen = n < 0 ? 0 : (size_t)n < sizeof prefix - 2 ? (size_t)n : sizeof prefix - 3;
    memcpy(prefix + plen, ": ", 2);
    plen += 2;
    /* The old message moves right; its end is cut if it no longer fits. */
    size_t mlen = strnlen(message, sizeof message - 1);
    if (plen + mlen > sizeof message - 1)
        mlen = sizeof message - 1 - plen;
    memmove(message + plen, message, mlen);
    memcpy(message, prefix, plen);
    message[plen + mlen] = '\0';
    return st;
}

void heed_clear_error(void) { message[0] = '\0'; }

const char *heed_last_error(void) { return message; }

const char *heed_status_name(heed_status st)
{
    switch (st) {
    case HEED_OK: return "ok";
    case HEED_ERR_IO: return "i/o error";
    case HEED_ERR_FORMAT: return "format error";
    case HEED_ERR_NOMEM: return "out of memory";
    case HEED_ERR_ARG: return "invalid argument";
    case HEED_ERR_UNSUPPORTED: return "unsupported";
    case HEED_ERR_NOT_FOUND: return "not found";
    case HEED_ERR_TYPE: return "wrong type";
    }
    return "unknown status";
}
