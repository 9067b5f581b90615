/* cli.h — what the subcommands of the heed CLI share. */
#ifndef HEED_CLI_H
#define HEED_CLI_H

#include <stddef.h>
#include <stdio.h>

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
    "[--frequency-penalty F] [--presence-penalty P] [--seed S] [--ignore-eos] " \
    "[--logit-bias TOKEN_ID(+|-)BIAS] [--grammar GBNF | --grammar-file FILE | " \
    "-j/--json-schema SCHEMA | -jf/--json-schema-file FILE] [-t THREADS] " \
    "[-c CTX] " USAGE_CACHE " [--lookup N] " USAGE_CVEC " [--verbose]"
#define USAGE_LOGITS "heed logits MODEL --ids 1,2,3 -o FILE [-t THREADS] [-c CTX] " USAGE_CACHE
#define USAGE_TOKENIZE "heed tokenize MODEL (TEXT | --inp FILE.inp) [--ids-only] [--special] " \
    "[--no-add-special]"
#define USAGE_DETOKENIZE "heed detokenize MODEL --ids 1,2,3 [--no-special]"
#define USAGE_TEMPLATE "heed template (MODEL | --template-file F) --messages M.json " \
    "[--tools T.json] [--no-generation-prompt] [--bos S] [--eos S] [--context KEY=JSON]"
#define USAGE_PERPLEXITY "heed perplexity MODEL -f FILE [-c CTX] [-t THREADS] " USAGE_CACHE
#define USAGE_EMBED "heed embed MODEL (-p TEXT | --ids 1,2,3) [-o FILE] [--all] " \
    "[--pooling none|mean|cls|last] [--no-normalize]"
#define USAGE_SIMILARITY "heed similarity MODEL TEXT1 TEXT2 ..."
#define USAGE_ATTEND "heed attend MODEL (-p TEXT | --ids 1,2,3) [--token I | --word W] " \
    "[--layer L] [--head H] [-k K] [-n N] [--rows A:B] [--top-keys K] [--max-mib M] " \
    "[--json FILE] [--html FILE] [--svg FILE] [--npy FILE] [--residual FILE] [-t THREADS] " \
    "[--cross | --encoder] (T5)"
#define USAGE_NEXT "heed next MODEL (-p TEXT | --ids 1,2,3) [-k 10] [--temp T] [--lens]"
#define USAGE_ATTRIBUTE "heed attribute MODEL (-p TEXT | --ids 1,2,3) [--token T] [--foil T] " \
    "[-k 20] [--json FILE] [--svg FILE] [-t THREADS]"
#define USAGE_ABLATE "heed ablate MODEL (-p TEXT | --ids 1,2,3) --heads L.H,... " \
    "[--mean-over FILE] [-k 10] [-t THREADS]"
#define USAGE_PATCH "heed patch MODEL --clean TEXT --corrupt TEXT --answer TOKEN [--foil TOKEN] " \
    "[--what resid|resid_pre|resid_mid|attn|mlp|heads] [--json FILE] [--svg FILE] " \
    "[--html FILE] [-t THREADS]"
#define USAGE_EXPERTS "heed experts MODEL (-p TEXT | --ids 1,2,3) [--layer L] [--json F]"
#define USAGE_HEADS "heed heads MODEL [-p TEXT | --ids 1,2,3] " \
    "[--sort entropy|prev|sink|self|induction]"
#define USAGE_BENCH "heed bench MODEL [-p 512] [-n 128] [-t THREADS] [-r REPS] [-d DEPTH] [-np N] " \
    USAGE_CACHE " [--capture] " USAGE_CVEC " | heed bench --membw [-t THREADS]"
#define USAGE_SYNTH "heed synth --shape NAME --type TYPE -o FILE [--seed S] [-t THREADS]"
#define USAGE_TRAIN "heed train CORPUS.txt -o OUT.gguf [--preset tiny|small|base] [--vocab N] " \
    "[--ctx N] [--embd N] [--layers N] [--heads N] [--ff N] [--steps N] [--batch B] [--accum A] " \
    "[--lr LR] [--min-lr LR] [--warmup N] [--wd W] [--clip C] [--val-fraction F] " \
    "[--val-every N] [--val-batches N] [--ckpt FILE] [--ckpt-every N] [--resume CKPT] " \
    "[--seed S] [--type TYPE] [--name NAME] [-t THREADS] [--quiet]"
#define USAGE_SERVE "heed serve MODEL [--host 127.0.0.1] [--port 8080] [--slots N] " \
    "[--api-key KEY] [-c CTX] [--chat-template NAME | --chat-template-file F] [--queue N] " \
    "[--max-tokens N] " \
    "[--max-body BYTES] [--timeout S] [--read-timeout S] [--max-connections N] " \
    "[--max-connections-per-ip N] [-t THREADS] " USAGE_CVEC " " USAGE_CACHE
#define USAGE_QUANTIZE "heed quantize IN.gguf OUT.gguf TYPE [-t THREADS]"
#define USAGE_CVECTOR "heed cvector MODEL --positive FILE --negative FILE -o OUT.gguf " \
    "[--method pca|mean] [--layers A:B] [--pca-iter N] [--seed S] [-t THREADS] " USAGE_CACHE

/* Parses "1,2,3" into a malloc'd array (*n entries); on a malformed list
 * prints why and returns NULL. */
int32_t *cli_parse_ids(const char *cmd, const char *text, int *n);
/* Parses a whole integer / float option value within [lo, hi]; on failure
 * prints "heed CMD: OPTION wants ..." and returns false. */
bool cli_parse_int(const char *cmd, const char *opt, const char *text, long lo, long hi,
                   long *out);
bool cli_parse_float(const char *cmd, const char *opt, const char *text, double lo,
                     double hi, double *out);

/* A command's options that take a string: name, and where the value goes. */
typedef struct cli_string_opt {
    const char *name;
    const char **dst;
} cli_string_opt;
/* When a is the name of one of opts[0..n) and a value v follows, stores v
 * there and returns true. */
bool cli_take_string(const cli_string_opt *opts, size_t n, const char *a, const char *v);

/* The KV cache options every command that evaluates takes:
 * -ctk/--cache-type-k and -ctv/--cache-type-v TYPE (f32, f16, bf16, q8_0).
 * When argv[*i] is one, stores it in p, steps *i past its value and returns
 * 1; returns 0 for any other argument, -1 (printed why) for a bad value. */
int cli_cache_type(const char *cmd, int argc, char **argv, int *i, heed_context_params *p);
#define USAGE_CACHE "[-ctk TYPE] [-ctv TYPE]"

/* The control-vector options of heed run, serve and bench, as llama.cpp's:
 * --control-vector FILE, --control-vector-scaled FILE SCALE (each
 * repeatable) and --control-vector-layer-range START END. */
enum { CLI_MAX_CVECS = 64 };
typedef struct cli_cvecs {
    const char *path[CLI_MAX_CVECS];
    float scale[CLI_MAX_CVECS];
    int n;
    long first, last; /* 0: the default, blocks 1 .. n_layer */
} cli_cvecs;
/* When argv[*i] is one of them, takes it into cv, steps *i past its values
 * and returns 1; 0 for any other argument; -1 (printed why) for a bad one. */
int cli_cvec_option(const char *cmd, int argc, char **argv, int *i, cli_cvecs *cv);
/* The blocks cv steers for a model of n_layer: [*first, *last]. */
void cli_cvec_range(const cli_cvecs *cv, int n_layer, int *first, int *last);
/* Sets the sum of cv's files, scaled, as c's steering (none: nothing). */
heed_status cli_cvec_apply(const cli_cvecs *cv, heed_context *c);
#define USAGE_CVEC "[--control-vector FILE] [--control-vector-scaled FILE SCALE] " \
    "[--control-vector-layer-range START END]"

/* Reads a whole file into a malloc'd buffer with a NUL after its *len
 * bytes; on failure prints why and returns NULL. */
char *cli_read_file(const char *cmd, const char *path, size_t *len);

/* The vocabulary inside m's own GGUF (read from the open file, not parsed
 * again); an error naming path for a llama2.c checkpoint, which has none. */
heed_status cli_model_vocab(const heed_model *m, const char *path, heed_vocab **v);
/* Loads the model at path and, when need_vocab, its vocabulary. */
heed_status cli_load(const char *path, bool need_vocab, heed_model **m, heed_vocab **v);
/* The prompt's ids (malloc'd): text tokenized (BOS as the vocabulary asks,
 * control tokens written in it matched only with parse_special), or else
 * the --ids list. An empty prompt is an error. */
heed_status cli_prompt(const char *cmd, const heed_vocab *v, const char *text,
                       const char *ids_text, bool parse_special, int32_t **ids, int *n);
/* The one token text is (tokenized alone, no BOS: " light" keeps its
 * space), or the id of "#ID"; else an error naming opt and the pieces. */
heed_status cli_token(const heed_vocab *v, const char *opt, const char *text, int32_t *id);
/* Token id's piece as valid UTF-8, NUL-terminated, into buf (cut to fit;
 * "#ID" without a vocabulary). Returns its length. */
size_t cli_piece_utf8(const heed_vocab *v, int32_t id, char *buf, size_t size);
/* Writes {"id": id, "piece": "..."} to f: the piece as valid UTF-8, JSON-
 * escaped, with <, > and & as \u escapes (the JSON can sit in a page). */
void cli_json_token(FILE *f, const heed_vocab *v, int32_t id);
/* Closes f, written to path: an error naming path if any write failed. */
heed_status cli_close(FILE *f, const char *path);
/* HEED_OK when n more tokens fit in c's cache, else an error that names
 * the -c option, which sizes it. */
heed_status cli_fits(const heed_context *c, int n);
/* Token id's text, quoted, control bytes escaped, into buf ("#ID" without
 * a vocabulary). Returns buf. */
const char *cli_piece(const heed_vocab *v, int32_t id, char *buf, size_t size);
/* Appends s[0..len) to buf at `at` as valid UTF-8 (each byte that does not
 * start a whole, well-formed character becomes U+FFFD; buf has room for
 * 3 × len more bytes). Returns the new length. */
size_t cli_utf8_append(char *buf, size_t at, const char *s, size_t len);
/* Prints a bar of w × 40 cells (w a weight in 0..1). */
void cli_bar(double w);

/* Each subcommand gets argv[0] = its name. */
int cmd_info(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_perplexity(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_attend(int argc, char **argv);
int cmd_next(int argc, char **argv);
int cmd_heads(int argc, char **argv);
int cmd_experts(int argc, char **argv);
int cmd_attribute(int argc, char **argv);
int cmd_ablate(int argc, char **argv);
int cmd_patch(int argc, char **argv);
int cmd_similarity(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);
int cmd_template(int argc, char **argv);
int cmd_cvector(int argc, char **argv);

#endif
