/* cli_error.c — the CLI's own failure messages (see cli_error.h). */
#include "cli_error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* As long as the library's: a path, an option and an explanation. */
static _Thread_local char message[1024];
static _Thread_local bool pending;
/* The library's message when ours was set: if it has changed since, the
 * library failed later, and its failure is the one being reported. */
static _Thread_local char library_then[1024];

heed_status cli_set_error(heed_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    snprintf(library_then, sizeof library_then, "%s", heed_last_error());
    pending = true;
    return st;
}

const char *cli_error_message(void)
{
    const bool ours = pending && strcmp(heed_last_error(), library_then) == 0;
    pending = false;
    return ours ? message : heed_last_error();
}
