/* cli.h — what the subcommands of the heed CLI share. */
#ifndef HEED_CLI_H
#define HEED_CLI_H

#include "heed.h"

/* Exit codes: 0 ok, 1 runtime failure, 2 bad input or usage. */
enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_BAD_INPUT = 2 };

/* Prints "heed CMD: <last error>" to stderr; returns the exit code for st. */
int cli_fail(const char *cmd, heed_status st);
/* Prints "heed CMD: msg" and the command's usage line; returns 2. */
int cli_usage_error(const char *cmd, const char *usage, const char *msg);

#define USAGE_INFO "heed info MODEL [--json]"
#define USAGE_QUANTIZE "heed quantize IN.gguf OUT.gguf TYPE [-t THREADS]"

/* Each subcommand gets argv[0] = its name. */
int cmd_info(int argc, char **argv);
int cmd_quantize(int argc, char **argv);

#endif
