/*
 * cmd_run.c — `heed run MODEL (-p TEXT | --ids 1,2,3) [-n N] [sampling
 * options] [a grammar]`: evaluates the prompt in one batch, then generates
 * one token per step with the KV cache, streaming the text (or, with
 * --print-ids, the ids on one line) to stdout and the speed at the end to
 * stderr.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_error.h"
#include "clock.h"

/* Resident memory of this process in MiB (0 if unknown). */
static double resident_mib(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return (double)rss * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

typedef struct run_options {
    const char *model, *ids, *prompt, *tokenizer, *stop;
    /* a grammar, as llama-cli's options: GBNF text or file, JSON schema
     * text or file (at most one) */
    const char *grammar, *grammar_file, *json_schema, *json_schema_file;
    long n_predict, threads, n_ctx;
    bool print_ids, verbose, ignore_eos;
    long lookup; /* draft tokens per step from prompt lookup (0: off) */
    /* control vectors, as llama.cpp's options: files and scales, and the
     * blocks they steer (0: its defaults, 1 and n_layer) */
    cli_cvecs cvecs;
    heed_logit_bias bias[64]; /* --logit-bias TOKEN_ID(+|-)BIAS, as llama-cli's */
    int n_bias;
    heed_sampler_params sp;
    heed_context_params cp; /* the KV cache types; n_ctx and threads above */
} run_options;

/* Parses argv into o; returns -1 when fine, else the exit code. */
static int parse(int argc, char **argv, run_options *o)
{
    o->n_predict = 128;
    o->sp = heed_sampler_default_params();
    o->cp = heed_context_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long l;
        double d;
        int kv = cli_cache_type("run", argc, argv, &i, &o->cp);
        if (kv < 0)
            return EXIT_BAD_INPUT;
        if (kv)
            continue;
#define INT_OPT(name, lo, hi, dst) \
    else if (!strcmp(a, name)) { if (!cli_parse_int("run", name, v, lo, hi, &l)) return EXIT_BAD_INPUT; dst = l; i++; }
#define FLOAT_OPT(name, lo, hi, dst) \
    else if (!strcmp(a, name)) { if (!cli_parse_float("run", name, v, lo, hi, &d)) return EXIT_BAD_INPUT; dst = (float)d; i++; }
        if (!strcmp(a, "--ids") && v)
            o->ids = argv[++i];
        else if (!strcmp(a, "-p") && v)
            o->prompt = argv[++i];
        else if (!strcmp(a, "-z") && v)
            o->tokenizer = argv[++i];
        else if (!strcmp(a, "--stop") && v && *v)
            o->stop = argv[++i];
        else if (!strcmp(a, "--grammar") && v)
            o->grammar = argv[++i];
        else if (!strcmp(a, "--grammar-file") && v)
            o->grammar_file = argv[++i];
        else if ((!strcmp(a, "-j") || !strcmp(a, "--json-schema")) && v)
            o->json_schema = argv[++i];
        else if ((!strcmp(a, "-jf") || !strcmp(a, "--json-schema-file")) && v)
            o->json_schema_file = argv[++i];
        else if (!strcmp(a, "--print-ids"))
            o->print_ids = true;
        else if (!strcmp(a, "--verbose"))
            o->verbose = true;
        else if (!strcmp(a, "--ignore-eos"))
            o->ignore_eos = true;
        else if (!strcmp(a, "--logit-bias") && v) {
            char *end;
            const long t = strtol(v, &end, 10);
            const float b = (*end == '+' || *end == '-') ? strtof(end, &end) : NAN;
            if (o->n_bias == 64 || t < 0 || t > INT32_MAX || isnan(b) || *end)
                return cli_usage_error("run", USAGE_RUN, "--logit-bias wants TOKEN_ID+BIAS or "
                                       "TOKEN_ID-BIAS (-inf bans it), at most 64");
            o->bias[o->n_bias++] = (heed_logit_bias){(int32_t)t, b};
            i++;
        }
        else if ((kv = cli_cvec_option("run", argc, argv, &i, &o->cvecs)) != 0) {
            if (kv < 0)
                return EXIT_BAD_INPUT;
        }
        INT_OPT("-n", 0, 1L << 30, o->n_predict)
        INT_OPT("-t", 1, 1024, o->threads)
        INT_OPT("-c", 1, 1L << 24, o->n_ctx)
        INT_OPT("--lookup", 0, 64, o->lookup)
        INT_OPT("--top-k", 0, 1L << 30, o->sp.top_k)
        INT_OPT("--repeat-last-n", -1, 1L << 30, o->sp.repeat_last_n)
        FLOAT_OPT("--temp", 0, 1e6, o->sp.temp)
        FLOAT_OPT("--top-p", 0, 1, o->sp.top_p)
        FLOAT_OPT("--min-p", 0, 1, o->sp.min_p)
        FLOAT_OPT("--repeat-penalty", 1e-6, 1e6, o->sp.repeat_penalty)
        FLOAT_OPT("--frequency-penalty", -1e6, 1e6, o->sp.frequency_penalty)
        FLOAT_OPT("--presence-penalty", -1e6, 1e6, o->sp.presence_penalty)
        else if (!strcmp(a, "--seed")) {
            if (!cli_parse_int("run", "--seed", v, 0, __LONG_MAX__, &l))
                return EXIT_BAD_INPUT;
            o->sp.seed = (uint64_t)l;
            i++;
        } else if (a[0] == '-' || o->model)
            return cli_usage_error("run", USAGE_RUN, "unknown or incomplete option");
        else
            o->model = a;
#undef INT_OPT
#undef FLOAT_OPT
    }
    if (!o->model || !o->ids == !o->prompt)
        return cli_usage_error("run", USAGE_RUN, "needs MODEL and either -p TEXT or --ids");
    if (!!o->grammar + !!o->grammar_file + !!o->json_schema + !!o->json_schema_file > 1)
        return cli_usage_error("run", USAGE_RUN, "give one of --grammar, --grammar-file, "
                               "--json-schema and --json-schema-file");
    return -1;
}

/* Writes text[0..len) to stdout now. */
static void emit(const char *text, size_t len)
{
    fwrite(text, 1, len, stdout);
    fflush(stdout);
}

/* The vocabulary, when text is read or written: llama2.c's tokenizer.bin
 * given with -z, else the model file's own. */
static heed_status load_vocab(const run_options *o, const heed_model *m, heed_vocab **v)
{
    *v = NULL;
    if (!o->prompt && o->print_ids && !o->stop && !o->grammar && !o->grammar_file &&
        !o->json_schema && !o->json_schema_file)
        return HEED_OK;
    if (o->tokenizer)
        return heed_vocab_load_llama2c(o->tokenizer, heed_model_n_vocab(m), v);
    if (!heed_model_gguf(m))
        return cli_set_error(HEED_ERR_ARG, "%s: llama2.c checkpoints carry no tokenizer; give "
                             "its tokenizer.bin with -z, or the prompt as --ids with --print-ids",
                             o->model);
    return cli_model_vocab(m, o->model, v);
}

/* The grammar the options give, or none (*g NULL). */
static heed_status load_grammar(const run_options *o, const heed_vocab *v, heed_grammar **g)
{
    *g = NULL;
    const char *path = o->grammar_file ? o->grammar_file : o->json_schema_file;
    const bool schema = o->json_schema || o->json_schema_file;
    size_t len;
    char *file = path ? cli_read_file("run", path, &len) : NULL;
    const char *text = path ? file : o->grammar ? o->grammar : o->json_schema;
    if (path && !file)
        return cli_set_error(HEED_ERR_IO, "%s: cannot read the %s", path,
                             schema ? "JSON schema" : "grammar");
    heed_status st = !text ? HEED_OK
                     : schema ? heed_grammar_from_json_schema(v, text, g)
                              : heed_grammar_new(v, text, "root", g);
    free(file);
    return st;
}

int cmd_run(int argc, char **argv)
{
    run_options o = {0};
    int rc = parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    heed_vocab *v = NULL;
    int32_t *ids = NULL;
    int n_prompt = 0;
    heed_model *m = NULL;
    heed_context *c = NULL;
    heed_generator *g = NULL;
    heed_grammar *grammar = NULL;
    heed_context_params cp = o.cp;
    cp.n_ctx = (int)o.n_ctx;
    cp.n_threads = (int)o.threads;
    heed_generate_params gp = heed_generate_default_params();
    gp.sampler = o.sp;
    gp.max_tokens = (int)o.n_predict;
    gp.stops = &o.stop;
    gp.n_stops = o.stop ? 1 : 0;
    gp.lookup = (int)o.lookup;
    gp.ignore_eos = o.ignore_eos;
    gp.logit_bias = o.bias;
    gp.n_logit_bias = o.n_bias;
    rc = EXIT_OK;
    double t0 = cli_seconds(), t1 = t0, t2;
    heed_status st = heed_model_load(o.model, &m);
    if (!st)
        st = load_vocab(&o, m, &v);
    if (!st)
        st = load_grammar(&o, v, &grammar);
    gp.grammar = grammar;
    /* Control tokens written in the prompt count, as in llama-cli. */
    if (!st)
        st = cli_prompt("run", v, o.prompt, o.ids, true, &ids, &n_prompt);
    if (!st)
        st = heed_context_new(m, &cp, &c);
    if (!st)
        st = cli_cvec_apply(&o.cvecs, c);
    if (!st) {
        t0 = cli_seconds();
        st = cli_fits(c, n_prompt); /* the CLI's message names -c */
        if (!st)
            st = heed_generator_new(c, v, ids, n_prompt, &gp, &g);
        t1 = cli_seconds();
    }
    if (!st && o.prompt && !o.print_ids)
        emit(o.prompt, strlen(o.prompt));
    int n_gen = 0;
    for (bool more = !st && o.n_predict > 0; more;) {
        const char *text;
        size_t len;
        heed_gen_token tok;
        more = heed_generator_step(g, &text, &len, &tok);
        if (heed_generator_n_tokens(g) > n_gen && o.print_ids) {
            printf(n_gen ? " %d" : "%d", tok.id);
            fflush(stdout);
        } else if (!o.print_ids) {
            emit(text, len);
        }
        n_gen = heed_generator_n_tokens(g);
    }
    t2 = cli_seconds();
    if (g && heed_generator_finish(g) == HEED_GEN_ERROR)
        st = heed_generator_status(g);
    if (n_gen || (!st && !o.print_ids)) {
        putchar('\n');
        fflush(stdout);
    }
    if (g && heed_generator_finish(g) == HEED_GEN_CONTEXT_FULL)
        fprintf(stderr, "heed run: the context is full (%d positions); stopped after %d "
                "tokens (raise it with -c)\n", heed_context_n_ctx(c), n_gen);
    if (st)
        rc = cli_fail("run", st);
    else
        fprintf(stderr, "heed run: prompt %d tokens, %.1f tokens/s; generated %d tokens, %.1f "
                "tokens/s\n", n_prompt, n_prompt / (t1 - t0), n_gen,
                n_gen > 1 ? (n_gen - 1) / (t2 - t1) : 0.0);
    if (!st && o.verbose)
        fprintf(stderr, "heed run: %s, %d layers, context %d; resident memory %.1f MiB\n",
                heed_model_arch(m), heed_model_n_layer(m), heed_context_n_ctx(c),
                resident_mib());
    free(ids);
    heed_generator_free(g);
    heed_grammar_free(grammar);
    heed_context_free(c);
    heed_model_free(m);
    heed_vocab_free(v);
    return rc;
}
