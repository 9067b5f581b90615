/* cmd_serve.c — `heed serve MODEL [--host 127.0.0.1] [--port 8080] [--slots N]
 * [--api-key KEY] [-c CTX] [--control-vector FILE] ...`: the OpenAI-compatible
 * HTTP server (see serve.h). Ctrl-C stops it. */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "serve.h"

static atomic_int stop_requested; /* lock-free: safe in a handler, read by other threads */

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* The chat template: --chat-template NAME (a built-in format),
 * --chat-template-file F, else the model's own (both Jinja, rendered as
 * HF renders them), else, for a model with none, chatml, as llama-server
 * falls back (said once) — but nothing for an encoder-decoder, which was
 * not trained on chat markup: its messages, joined, are the source. */
static int pick_template(server *s, const char *name, const char *file)
{
    if (name && file)
        return cli_usage_error("serve", USAGE_SERVE,
                               "--chat-template and --chat-template-file exclude each other");
    if (name) {
        s->chat_template = heed_chat_template_detect(name);
        if (!s->chat_template) {
            fprintf(stderr, "heed serve: unknown chat template '%s' (known: %s)\n", name,
                    heed_chat_template_names());
            return EXIT_BAD_INPUT;
        }
        return EXIT_OK;
    }
    if (file) {
        size_t len;
        return (s->chat_jinja = cli_read_file("serve", file, &len)) ? EXIT_OK : EXIT_BAD_INPUT;
    }
    heed_gguf_str t;
    if (heed_model_gguf(s->model) &&
        !heed_gguf_get_str(heed_model_gguf(s->model), "tokenizer.chat_template", &t)) {
        if (!(s->chat_jinja = malloc(t.len + 1)))
            return cli_fail("serve", HEED_ERR_NOMEM);
        memcpy(s->chat_jinja, t.ptr, t.len);
        s->chat_jinja[t.len] = 0;
        return EXIT_OK;
    }
    if (heed_model_decoder_start(s->model) >= 0) {
        fprintf(stderr, "heed serve: an encoder-decoder with no chat template: a chat's "
                        "messages, joined by newlines, are the source (--chat-template NAME "
                        "renders them instead)\n");
        return EXIT_OK;
    }
    /* llama.cpp's fallback, as Jinja: so tools are described, calls and
     * results written, as for any template that shows none */
    static const char chatml[] =
        "{%- for message in messages -%}\n"
        "  {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}\n"
        "{%- endfor -%}\n"
        "{%- if add_generation_prompt -%}\n"
        "  {{- '<|im_start|>assistant\\n' -}}\n"
        "{%- endif -%}";
    if (!(s->chat_jinja = strdup(chatml)))
        return cli_fail("serve", HEED_ERR_NOMEM);
    s->chat_template = "chatml";
    fprintf(stderr, "heed serve: the model has no chat template: chat requests use chatml "
                    "(--chat-template NAME or --chat-template-file F picks another)\n");
    return EXIT_OK;
}

/* The control vectors of the command line, by name (the file's name
 * without its directory and extension), each read once at scale 1, and
 * their sum at the given scales: what requests that name none get, as
 * llama-server applies its control vectors to every request. */
static int load_cvecs(server *s, const char *const *paths, const float *scales, int n)
{
    const int L = heed_model_n_layer(s->model), E = heed_model_n_embd(s->model);
    const size_t count = (size_t)L * (size_t)E;
    if (n && !(s->cvecs = calloc((size_t)n, sizeof *s->cvecs)))
        return cli_fail("serve", HEED_ERR_NOMEM);
    for (int i = 0; i < n; i++) {
        serve_cvec *v = &s->cvecs[s->n_cvecs];
        const char *base = strrchr(paths[i], '/');
        snprintf(v->name, sizeof v->name, "%s", base ? base + 1 : paths[i]);
        char *dot = strrchr(v->name, '.');
        if (dot && dot != v->name)
            *dot = 0;
        for (int k = 0; k < s->n_cvecs; k++)
            if (!strcmp(s->cvecs[k].name, v->name)) {
                fprintf(stderr, "heed serve: two control vectors are named '%s' (%s and another "
                        "file); requests name them by their file's name\n", v->name, paths[i]);
                return EXIT_BAD_INPUT;
            }
        v->scale = scales[i];
        if (!(v->dir = calloc(count, sizeof *v->dir)))
            return cli_fail("serve", HEED_ERR_NOMEM);
        s->n_cvecs++;
        heed_status st = heed_control_vector_add(paths[i], 1.0f, E, L, v->dir);
        if (st)
            return cli_fail("serve", st);
        if (v->scale == 0)
            continue;
        if (!s->steer_default && !(s->steer_default = calloc(count, sizeof *s->steer_default)))
            return cli_fail("serve", HEED_ERR_NOMEM);
        for (size_t j = 0; j < count; j++)
            s->steer_default[j] += v->dir[j] * v->scale;
    }
    return EXIT_OK;
}

int cmd_serve(int argc, char **argv)
{
    const char *model = NULL, *host = "127.0.0.1", *key = NULL, *tmpl = NULL, *tfile = NULL;
    long port = 8080, slots = 1, n_ctx = 0, queue = 16, max_tokens = 1024, threads = 0;
    long max_body = 1 << 20, timeout = 600, read_timeout = 10, conns = 4096, per_ip = 64;
    cli_cvecs cvecs = {0};
    heed_context_params cp = heed_context_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const int kv = cli_cache_type("serve", argc, argv, &i, &cp);
        if (kv < 0)
            return EXIT_BAD_INPUT;
        if (kv)
            continue;
        int cv;
        struct { const char *name; long *dst, lo, hi; } ints[] = {
            {"--port", &port, 0, 65535}, {"--slots", &slots, 1, 256}, {"-c", &n_ctx, 0, 1 << 20},
            {"--queue", &queue, 0, 4096}, {"--max-tokens", &max_tokens, 1, 1 << 20},
            {"-t", &threads, 0, 1024}, {"--max-body", &max_body, 1024, 1L << 30},
            {"--timeout", &timeout, 1, 86400}, {"--read-timeout", &read_timeout, 1, 3600},
            {"--max-connections", &conns, 1, 1000000},
            {"--max-connections-per-ip", &per_ip, 0, 1000000},
        };
        bool done = false;
        for (size_t k = 0; k < sizeof ints / sizeof ints[0] && !done; k++)
            if (!strcmp(a, ints[k].name)) {
                if (!cli_parse_int("serve", a, v, ints[k].lo, ints[k].hi, ints[k].dst))
                    return EXIT_BAD_INPUT;
                done = true;
                i++;
            }
        if (done)
            continue;
        if (!strcmp(a, "--host") && v)
            host = argv[++i];
        else if (!strcmp(a, "--api-key") && v)
            key = argv[++i];
        else if (!strcmp(a, "--chat-template") && v)
            tmpl = argv[++i];
        else if (!strcmp(a, "--chat-template-file") && v)
            tfile = argv[++i];
        else if ((cv = cli_cvec_option("serve", argc, argv, &i, &cvecs)) != 0) {
            if (cv < 0)
                return EXIT_BAD_INPUT;
        } else if (a[0] != '-' && !model)
            model = a;
        else
            return cli_usage_error("serve", USAGE_SERVE, "unknown or incomplete option");
    }
    if (!model)
        return cli_usage_error("serve", USAGE_SERVE, "needs a model");
    server s = {.n_slots = (int)slots, .max_queue = (int)queue, .max_tokens = (int)max_tokens,
                .max_body = (size_t)max_body, .timeout_s = (double)timeout,
                .read_timeout_s = (int)read_timeout, .max_conns = (int)conns,
                .max_conns_per_ip = (int)per_ip, .api_key = key,
                .created = (long)time(NULL)};
    heed_status st = cli_load(model, true, &s.model, &s.vocab);
    if (st)
        return cli_fail("serve", st);
    const char *base = strrchr(model, '/');
    snprintf(s.model_id, sizeof s.model_id, "%s", base ? base + 1 : model);
    int rc = pick_template(&s, tmpl, tfile);
    s.chat_format = heed_chat_format_detect(s.chat_jinja);
    if (!rc && s.chat_jinja)
        serve_template_probe(&s);
    for (const char *const *m = heed_chat_format_markers(s.chat_format); m && *m; m++) {
        const int32_t id = heed_vocab_token_id(s.vocab, *m, strlen(*m));
        if (id >= 0 && s.n_chat_markers < HEED_GEN_MAX_PRESERVED)
            s.chat_markers[s.n_chat_markers++] = id;
    }
    if (!rc)
        rc = load_cvecs(&s, cvecs.path, cvecs.scale, cvecs.n);
    /* llama.cpp's default blocks, as heed run's: 1 to n_layer */
    cli_cvec_range(&cvecs, heed_model_n_layer(s.model), &s.steer_first, &s.steer_last);
    s.slots = rc ? NULL : calloc((size_t)slots, sizeof *s.slots);
    if (!rc && !s.slots)
        rc = cli_fail("serve", HEED_ERR_NOMEM);
    /* one thread runs every slot's generation, one pass at a time: each
     * context may use every core */
    cp.n_ctx = (int)n_ctx;
    cp.n_threads = (int)(threads ? threads : heed_cpu_cores());
    for (long i = 0; !rc && i < slots; i++)
        if ((st = heed_context_new(s.model, &cp, &s.slots[i].ctx)) ||
            (st = heed_edits_new(s.model, &s.slots[i].edits)))
            rc = cli_fail("serve", st);
    if (!rc) {
        s.n_ctx = heed_context_n_ctx(s.slots[0].ctx);
        pthread_mutex_init(&s.mu, NULL);
        pthread_cond_init(&s.freed, NULL);
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        signal(SIGPIPE, SIG_IGN);
        fprintf(stderr, "heed serve: %s, context %d, %ld slot%s, chat template %s (tool calls: "
                "%s)\n", s.model_id, s.n_ctx, slots, slots == 1 ? "" : "s",
                tfile ? tfile : s.chat_template ? s.chat_template
                                : s.chat_jinja  ? "the model's own" : "none",
                s.chat_format);
        for (int i = 0; i < s.n_cvecs; i++)
            fprintf(stderr, "heed serve: control vector '%s', scale %g by default\n",
                    s.cvecs[i].name, (double)s.cvecs[i].scale);
        if ((st = serve_batch_start(&s)) || (st = serve_run(&s, host, (int)port, &stop_requested)))
            rc = cli_fail("serve", st);
        serve_batch_stop(&s);
        pthread_mutex_destroy(&s.mu);
        pthread_cond_destroy(&s.freed);
    }
    for (long i = 0; s.slots && i < slots; i++) {
        heed_context_free(s.slots[i].ctx);
        heed_edits_free(s.slots[i].edits);
        free(s.slots[i].cached);
    }
    free(s.slots);
    for (int i = 0; i < s.n_cvecs; i++)
        free(s.cvecs[i].dir);
    free(s.cvecs);
    free(s.steer_default);
    heed_vocab_free(s.vocab);
    free(s.chat_jinja);
    free(s.caps.tool_call_example);
    heed_model_free(s.model);
    return rc;
}
