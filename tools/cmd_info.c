/*
 * cmd_info.c — `heed info MODEL [--json]`: what a GGUF file holds. The
 * architecture's hyperparameters are its `<arch>.*` keys, printed as they
 * are, so a new architecture needs no change here.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Arrays longer than this are summarised (type and count) in the output. */
enum { ARRAY_SHOWN = 8, JSON_ARRAY_MAX = 64 };

static double scalar_number(const heed_gguf_value *v)
{
    switch (v->type) {
    case HEED_GGUF_INT8: case HEED_GGUF_INT16: case HEED_GGUF_INT32: case HEED_GGUF_INT64:
        return (double)v->v.i;
    case HEED_GGUF_FLOAT32: case HEED_GGUF_FLOAT64:
        return v->v.f;
    default:
        return (double)v->v.u;
    }
}

/* Writes s to f with control bytes escaped, at most max bytes of it. */
static void print_str(FILE *f, heed_gguf_str s, uint64_t max)
{
    fputc('"', f);
    for (uint64_t i = 0; i < s.len && i < max; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            fprintf(f, "\\x%02x", ch);
        else
            fputc(ch, f);
    }
    fputs(s.len > max ? "\"…" : "\"", f);
}

static void print_value(FILE *f, const heed_gguf_value *v)
{
    switch (v->type) {
    case HEED_GGUF_STRING:
        print_str(f, v->v.str, 80);
        break;
    case HEED_GGUF_BOOL:
        fputs(v->v.b ? "true" : "false", f);
        break;
    case HEED_GGUF_FLOAT32: case HEED_GGUF_FLOAT64:
        fprintf(f, "%g", v->v.f);
        break;
    case HEED_GGUF_INT8: case HEED_GGUF_INT16: case HEED_GGUF_INT32: case HEED_GGUF_INT64:
        fprintf(f, "%lld", (long long)v->v.i);
        break;
    case HEED_GGUF_ARRAY:
        fprintf(f, "[%llu × %s]", (unsigned long long)v->v.arr.n,
                heed_gguf_type_name(v->v.arr.type));
        for (uint64_t i = 0; i < v->v.arr.n && i < ARRAY_SHOWN; i++) {
            heed_gguf_value e = heed_gguf_arr_get(v, i);
            fputs(i ? ", " : " ", f);
            if (e.type == HEED_GGUF_STRING)
                print_str(f, e.v.str, 24);
            else
                print_value(f, &e);
        }
        if (v->v.arr.n > ARRAY_SHOWN)
            fputs(", …", f);
        break;
    default:
        fprintf(f, "%llu", (unsigned long long)v->v.u);
    }
}

static cJSON *json_str(heed_gguf_str s)
{
    char *c = strndup(s.ptr, s.len); /* stops at a NUL, which keys cannot hold */
    cJSON *j = cJSON_CreateString(c ? c : "");
    free(c);
    return j;
}

static cJSON *json_value(const heed_gguf_value *v)
{
    switch (v->type) {
    case HEED_GGUF_STRING:
        return json_str(v->v.str);
    case HEED_GGUF_BOOL:
        return cJSON_CreateBool(v->v.b);
    case HEED_GGUF_ARRAY: {
        if (v->v.arr.n > JSON_ARRAY_MAX) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "array_of", heed_gguf_type_name(v->v.arr.type));
            cJSON_AddNumberToObject(o, "count", (double)v->v.arr.n);
            return o;
        }
        cJSON *a = cJSON_CreateArray();
        for (uint64_t i = 0; i < v->v.arr.n; i++) {
            heed_gguf_value e = heed_gguf_arr_get(v, i);
            cJSON_AddItemToArray(a, json_value(&e));
        }
        return a;
    }
    default:
        return cJSON_CreateNumber(scalar_number(v));
    }
}

/* What a reader wants to know about the tokenizer, from tokenizer.ggml.*. */
typedef struct tokenizer_summary {
    heed_gguf_str model, pre;
    int64_t n_vocab, n_merges;
    struct { const char *name; int64_t id; } special[6];
} tokenizer_summary;

static void summarise_tokenizer(const heed_gguf *g, tokenizer_summary *t)
{
    static const char *const names[6] = {"bos", "eos", "unk", "sep", "pad", "eot"};
    const heed_gguf_value *a;
    char key[64];
    memset(t, 0, sizeof *t);
    t->n_vocab = t->n_merges = -1;
    heed_gguf_get_str(g, "tokenizer.ggml.model", &t->model);
    heed_gguf_get_str(g, "tokenizer.ggml.pre", &t->pre);
    if (!heed_gguf_get_arr(g, "tokenizer.ggml.tokens", HEED_GGUF_STRING, &a))
        t->n_vocab = (int64_t)a->v.arr.n;
    if (!heed_gguf_get_arr(g, "tokenizer.ggml.merges", HEED_GGUF_STRING, &a))
        t->n_merges = (int64_t)a->v.arr.n;
    for (int i = 0; i < 6; i++) {
        t->special[i].name = names[i];
        snprintf(key, sizeof key, "tokenizer.ggml.%s_token_id", names[i]);
        if (heed_gguf_get_int(g, key, &t->special[i].id))
            t->special[i].id = -1;
    }
}

static int64_t n_elements(const heed_gguf_tensor *t)
{
    return t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
}

static void shape_text(const heed_gguf_tensor *t, char *buf, size_t size)
{
    int n = snprintf(buf, size, "%lld", (long long)t->ne[0]);
    for (int d = 1; d < t->n_dims && n > 0 && (size_t)n < size; d++)
        n += snprintf(buf + n, size - (size_t)n, " x %lld", (long long)t->ne[d]);
}

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void print_kv_group(const heed_gguf *g, const char *title, const char *prefix,
                           bool (*other)(const char *key, const char *arch),
                           const char *arch)
{
    bool any = false;
    for (int64_t i = 0; i < heed_gguf_n_kv(g); i++) {
        const char *key = heed_gguf_kv_key(g, i);
        if (prefix ? !has_prefix(key, prefix) : !other(key, arch))
            continue;
        if (!any)
            printf("\n%s\n", title);
        any = true;
        printf("  %-44s ", key);
        print_value(stdout, heed_gguf_kv_value(g, i));
        putchar('\n');
    }
}

/* Keys outside general.*, <arch>.* and tokenizer.*. */
static bool is_other_key(const char *key, const char *arch_prefix)
{
    return !has_prefix(key, "general.") && !has_prefix(key, "tokenizer.") &&
           !(arch_prefix[0] && has_prefix(key, arch_prefix));
}

static void print_text(const heed_gguf *g, const char *arch, uint64_t params)
{
    char arch_prefix[128] = "";
    if (arch[0])
        snprintf(arch_prefix, sizeof arch_prefix, "%s.", arch);
    printf("file          %s\n", heed_gguf_path(g));
    printf("size          %llu bytes (%.2f MiB), GGUF v%u, alignment %llu\n",
           (unsigned long long)heed_gguf_file_size(g),
           (double)heed_gguf_file_size(g) / (1024.0 * 1024.0), heed_gguf_version(g),
           (unsigned long long)heed_gguf_alignment(g));
    printf("architecture  %s\n", arch[0] ? arch : "(none: no general.architecture)");
    printf("parameters    %llu (%.2f M)\n", (unsigned long long)params, (double)params / 1e6);
    print_kv_group(g, "general", "general.", NULL, NULL);
    if (arch_prefix[0])
        print_kv_group(g, "hyperparameters", arch_prefix, NULL, NULL);

    tokenizer_summary t;
    summarise_tokenizer(g, &t);
    if (t.model.ptr || t.n_vocab >= 0) {
        printf("\ntokenizer\n  model %.*s", (int)t.model.len, t.model.ptr ? t.model.ptr : "");
        if (t.pre.ptr)
            printf(" (pre: %.*s)", (int)t.pre.len, t.pre.ptr);
        printf(", %lld tokens", (long long)t.n_vocab);
        if (t.n_merges >= 0)
            printf(", %lld merges", (long long)t.n_merges);
        putchar('\n');
        printf("  special ids");
        for (int i = 0; i < 6; i++)
            if (t.special[i].id >= 0)
                printf(" %s %lld", t.special[i].name, (long long)t.special[i].id);
        putchar('\n');
        for (int64_t i = 0; i < heed_gguf_n_kv(g); i++) {
            const char *key = heed_gguf_kv_key(g, i);
            const heed_gguf_value *v = heed_gguf_kv_value(g, i);
            if (has_prefix(key, "tokenizer.") && v->type != HEED_GGUF_ARRAY &&
                !strstr(key, "_token_id") && strcmp(key, "tokenizer.ggml.model") &&
                strcmp(key, "tokenizer.ggml.pre")) {
                printf("  %-44s ", key);
                print_value(stdout, v);
                putchar('\n');
            }
        }
    }
    print_kv_group(g, "other metadata", NULL, is_other_key, arch_prefix);

    printf("\ntensors (%lld)\n  %-40s %-8s %-24s %12s\n", (long long)heed_gguf_n_tensors(g),
           "name", "type", "shape", "bytes");
    for (int64_t i = 0; i < heed_gguf_n_tensors(g); i++) {
        const heed_gguf_tensor *tn = heed_gguf_tensor_at(g, i);
        char shape[96];
        shape_text(tn, shape, sizeof shape);
        printf("  %-40s %-8s %-24s %12llu\n", tn->name, heed_type_name(tn->type), shape,
               (unsigned long long)tn->nbytes);
    }
}

static int print_json(const heed_gguf *g, const char *arch, uint64_t params)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "file", heed_gguf_path(g));
    cJSON_AddNumberToObject(root, "file_size", (double)heed_gguf_file_size(g));
    cJSON_AddNumberToObject(root, "gguf_version", heed_gguf_version(g));
    cJSON_AddNumberToObject(root, "alignment", (double)heed_gguf_alignment(g));
    cJSON_AddNumberToObject(root, "data_offset", (double)heed_gguf_data_offset(g));
    if (arch[0])
        cJSON_AddStringToObject(root, "architecture", arch);
    else
        cJSON_AddNullToObject(root, "architecture");
    cJSON_AddNumberToObject(root, "n_params", (double)params);

    tokenizer_summary t;
    summarise_tokenizer(g, &t);
    cJSON *tok = cJSON_AddObjectToObject(root, "tokenizer");
    cJSON_AddItemToObject(tok, "model", t.model.ptr ? json_str(t.model) : cJSON_CreateNull());
    cJSON_AddItemToObject(tok, "pre", t.pre.ptr ? json_str(t.pre) : cJSON_CreateNull());
    cJSON_AddNumberToObject(tok, "n_vocab", (double)t.n_vocab);
    cJSON_AddNumberToObject(tok, "n_merges", (double)t.n_merges);
    for (int i = 0; i < 6; i++) {
        char key[16];
        snprintf(key, sizeof key, "%s_id", t.special[i].name);
        cJSON_AddNumberToObject(tok, key, (double)t.special[i].id);
    }

    cJSON *meta = cJSON_AddObjectToObject(root, "metadata");
    for (int64_t i = 0; i < heed_gguf_n_kv(g); i++)
        cJSON_AddItemToObject(meta, heed_gguf_kv_key(g, i), json_value(heed_gguf_kv_value(g, i)));

    cJSON *tensors = cJSON_AddArrayToObject(root, "tensors");
    for (int64_t i = 0; i < heed_gguf_n_tensors(g); i++) {
        const heed_gguf_tensor *tn = heed_gguf_tensor_at(g, i);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", tn->name);
        cJSON_AddStringToObject(o, "type", heed_type_name(tn->type));
        cJSON *shape = cJSON_AddArrayToObject(o, "shape");
        for (int d = 0; d < tn->n_dims; d++)
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)tn->ne[d]));
        cJSON_AddNumberToObject(o, "n_elements", (double)n_elements(tn));
        cJSON_AddNumberToObject(o, "bytes", (double)tn->nbytes);
        cJSON_AddNumberToObject(o, "offset", (double)tn->offset);
        cJSON_AddItemToArray(tensors, o);
    }
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) {
        fprintf(stderr, "heed info: out of memory\n");
        return EXIT_RUNTIME;
    }
    puts(text);
    free(text);
    return EXIT_OK;
}

int cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (argv[i][0] == '-' && argv[i][1])
            return cli_usage_error("info", USAGE_INFO, "unknown option");
        else if (!path)
            path = argv[i];
        else
            return cli_usage_error("info", USAGE_INFO, "one MODEL only");
    }
    if (!path)
        return cli_usage_error("info", USAGE_INFO, "needs MODEL");
    heed_gguf *g;
    heed_status st = heed_gguf_open(path, &g);
    if (st)
        return cli_fail("info", st);
    char arch[128] = "";
    heed_gguf_str s;
    if (!heed_gguf_get_str(g, "general.architecture", &s))
        snprintf(arch, sizeof arch, "%.*s", (int)(s.len < 100 ? s.len : 100), s.ptr);
    uint64_t params = 0;
    for (int64_t i = 0; i < heed_gguf_n_tensors(g); i++)
        params += (uint64_t)n_elements(heed_gguf_tensor_at(g, i));
    int rc = EXIT_OK;
    if (json)
        rc = print_json(g, arch, params);
    else
        print_text(g, arch, params);
    heed_gguf_close(g);
    return rc;
}
