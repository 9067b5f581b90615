/* cli.h — what the subcommands of the heed CLI share. */
#ifndef HEED_CLI_H
#define HEED_CLI_H

#include <stddef.h>

#include "heed.h"

/* Exit codes: 0 ok, 1 runtime failure, 2 bad input or usage. */
enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_BAD_INPUT = 2 };

/* Prints "heed CMD: <last error>" to stderr; returns the exit code for st. */
int cli_fail(const char *cmd, heed_status st);
/* Prints "heed CMD: msg" and the command's usage line; returns 2. */
int cli_usage_error(const char *cmd, const char *usage, const char *msg);

#define USAGE_INFO "heed info MODEL [--json]"
#define USAGE_RUN "heed run MODEL (-p TEXT | --ids 1,2,3) [-z TOKENIZER.bin] [--print-ids] [-n N] " \
    "[--stop TEXT] " \
    "[--temp T] [--top-k K] " \
    "[--top-p P] [--min-p P] [--repeat-penalty R] [--repeat-last-n N] " \
    "[--frequency-penalty F] [--presence-penalty P] [--seed S] [--ignore-eos] [-t THREADS] " \
    "[-c CTX] [--verbose]"
#define USAGE_LOGITS "heed logits MODEL --ids 1,2,3 -o FILE [-t THREADS] [-c CTX]"
#define USAGE_TOKENIZE "heed tokenize MODEL (TEXT | --inp FILE.inp) [--ids-only] [--special] " \
    "[--no-add-special]"
#define USAGE_DETOKENIZE "heed detokenize MODEL --ids 1,2,3 [--no-special]"
#define USAGE_PERPLEXITY "heed perplexity MODEL -f FILE [-c CTX] [-t THREADS]"
#define USAGE_EMBED "heed embed MODEL (-p TEXT | --ids 1,2,3) [-o FILE] [--all] " \
    "[--pooling none|mean|cls|last] [--no-normalize]"
#define USAGE_SIMILARITY "heed similarity MODEL TEXT1 TEXT2 ..."
#define USAGE_ATTEND "heed attend MODEL (-p TEXT | --ids 1,2,3) [--token I | --word W] " \
    "[--layer L] [--head H] [-k K] [--json FILE]"
#define USAGE_NEXT "heed next MODEL (-p TEXT | --ids 1,2,3) [-k 10] [--temp T] [--lens]"
#define USAGE_HEADS "heed heads MODEL [-p TEXT] [--sort entropy|prev|sink|self|induction]"
#define USAGE_QUANTIZE "heed quantize IN.gguf OUT.gguf TYPE [-t THREADS]"

/* Parses "1,2,3" into a malloc'd array (*n entries); on a malformed list
 * prints why and returns NULL. */
int32_t *cli_parse_ids(const char *cmd, const char *text, int *n);
/* Parses a whole integer / float option value within [lo, hi]; on failure
 * prints "heed CMD: OPTION wants ..." and returns false. */
bool cli_parse_int(const char *cmd, const char *opt, const char *text, long lo, long hi,
                   long *out);
bool cli_parse_float(const char *cmd, const char *opt, const char *text, double lo,
                     double hi, double *out);

/* Reads a whole file into a malloc'd buffer with a NUL after its *len
 * bytes; on failure prints why and returns NULL. */
char *cli_read_file(const char *cmd, const char *path, size_t *len);

/* Each subcommand gets argv[0] = its name. */
int cmd_info(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_perplexity(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_attend(int argc, char **argv);
int cmd_next(int argc, char **argv);
int cmd_heads(int argc, char **argv);
int cmd_similarity(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);

#endif
