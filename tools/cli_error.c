/* cli_error.c — the CLI's own failure messages (see cli_error.h). */
#include "cli_error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

/* As long as the library's: a path, an option and an explanation. */
static _Thread_local char message[1024];
static _Thread_local bool pending;

heed_status cli_set_error(heed_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    pending = true;
    return st;
}

const char *cli_error_message(void)
{
    if (!pending)
        return heed_last_error();
    pending = false;
    return message;
}
