/*
 * cli_error.h — the CLI's own failure messages. The library's message
 * (heed_last_error) is the library's to set; the CLI's checks of its
 * options and files keep theirs here, and the reporter prints whichever
 * failure happened last.
 */
#ifndef HEED_CLI_ERROR_H
#define HEED_CLI_ERROR_H

#include "heed.h"

#if defined(__GNUC__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_PRINTF(a, b)
#endif

/* Sets this thread's CLI message from fmt and returns st, so a failing
 * path reads `return cli_set_error(HEED_ERR_ARG, "--rows: ...")`. */
heed_status cli_set_error(heed_status st, const char *fmt, ...) CLI_PRINTF(2, 3);

/* The message of the failure being reported: the CLI's, when one was set
 * since the last call and the library has not failed since, else the
 * library's (heed_last_error). A CLI message is given once: reporting it
 * clears it, so that a later library failure is not hidden behind it. */
const char *cli_error_message(void);

#endif
