/* cmd_template.c — `heed template (MODEL | --template-file F) --messages
 * M.json [--tools T.json] [--no-generation-prompt] [--bos S] [--eos S]
 * [--context K=JSON ...]`: a chat rendered with a Jinja chat template (the
 * model's own, or a file's) exactly as the model would see it, with no
 * newline added. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_error.h"

/* Appends `"key": value` to the object text in *obj (malloc'd; NULL at
 * first); value is JSON text, or a string to quote when quote is set. */
static bool add_member(char **obj, const char *key, size_t key_len, const char *value, bool quote)
{
    char *k = malloc(key_len + 1);
    if (!k)
        return false;
    memcpy(k, key, key_len);
    k[key_len] = 0;
    cJSON *ks = cJSON_CreateString(k), *vs = quote ? cJSON_CreateString(value) : NULL;
    char *kt = ks ? cJSON_PrintUnformatted(ks) : NULL;
    char *vt = vs ? cJSON_PrintUnformatted(vs) : NULL;
    const char *v = quote ? vt : value;
    char *next = NULL;
    if (kt && v) {
        const size_t n = (*obj ? strlen(*obj) : 1) + strlen(kt) + strlen(v) + 8;
        if ((next = malloc(n)))
            snprintf(next, n, "%.*s%s%s: %s}", *obj ? (int)strlen(*obj) - 1 : 1, *obj ? *obj : "{",
                     *obj ? ", " : "", kt, v);
    }
    free(k);
    cJSON_Delete(ks);
    cJSON_Delete(vs);
    cJSON_free(kt);
    cJSON_free(vt);
    free(*obj);
    *obj = next;
    return next != NULL;
}

/* The chat template of the GGUF at path, malloc'd. */
static heed_status model_template(const char *path, char **out)
{
    heed_gguf *g;
    heed_gguf_str t;
    heed_status st = heed_gguf_open(path, &g);
    if (st)
        return st;
    if (heed_gguf_get_str(g, "tokenizer.chat_template", &t)) {
        heed_gguf_close(g);
        return cli_set_error(HEED_ERR_NOT_FOUND, "%s has no chat template "
                             "(tokenizer.chat_template); give one with --template-file", path);
    }
    *out = malloc(t.len + 1);
    if (*out) {
        memcpy(*out, t.ptr, t.len);
        (*out)[t.len] = 0;
    }
    heed_gguf_close(g);
    return *out ? HEED_OK : HEED_ERR_NOMEM;
}

int cmd_template(int argc, char **argv)
{
    const char *model = NULL, *tfile = NULL, *mfile = NULL, *toolfile = NULL, *bos = NULL,
               *eos = NULL;
    bool gen_prompt = true;
    char *extra = NULL;
    int rc = EXIT_OK;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const cli_string_opt opts[] = {{"--template-file", &tfile}, {"--messages", &mfile},
                                       {"--tools", &toolfile}, {"--bos", &bos}, {"--eos", &eos}};
        if (cli_take_string(opts, sizeof opts / sizeof *opts, a, v)) {
            i++;
        } else if (!strcmp(a, "--no-generation-prompt")) {
            gen_prompt = false;
        } else if (!strcmp(a, "--context") && v) {
            const char *eq = strchr(v, '=');
            if (!eq || eq == v) {
                free(extra);
                return cli_usage_error("template", USAGE_TEMPLATE, "--context wants KEY=JSON");
            }
            if (!add_member(&extra, v, (size_t)(eq - v), eq + 1, false)) {
                free(extra);
                return cli_fail("template", HEED_ERR_NOMEM);
            }
            i++;
        } else if (a[0] == '-' || model) {
            free(extra);
            return cli_usage_error("template", USAGE_TEMPLATE, "unknown or incomplete option");
        } else {
            model = a;
        }
    }
    if (!model == !tfile || !mfile) {
        free(extra);
        return cli_usage_error("template", USAGE_TEMPLATE,
                               "needs MODEL or --template-file, and --messages");
    }
    /* --bos and --eos win over the model's, as the extra variables do */
    if ((bos && !add_member(&extra, "bos_token", 9, bos, true)) ||
        (eos && !add_member(&extra, "eos_token", 9, eos, true))) {
        free(extra);
        return cli_fail("template", HEED_ERR_NOMEM);
    }
    char *tmpl = NULL, *messages = NULL, *tools = NULL, *context = NULL, *out = NULL;
    heed_vocab *vocab = NULL;
    size_t len = 0;
    heed_status st = HEED_OK;
    if (!(messages = cli_read_file("template", mfile, &len)) ||
        (toolfile && !(tools = cli_read_file("template", toolfile, &len))) ||
        (tfile && !(tmpl = cli_read_file("template", tfile, &len)))) {
        rc = EXIT_BAD_INPUT;
        goto done;
    }
    if (model && ((st = model_template(model, &tmpl)) || (st = heed_vocab_load_file(model, &vocab))))
        goto done;
    if ((st = heed_chat_context(vocab, messages, tools, gen_prompt, extra, &context)) ||
        (st = heed_template_render(tmpl, context, &out, &len)))
        goto done;
    fwrite(out, 1, len, stdout);
done:
    if (st)
        rc = cli_fail("template", st);
    free(out);
    free(context);
    heed_vocab_free(vocab);
    free(tools);
    free(messages);
    free(tmpl);
    free(extra);
    return rc;
}
