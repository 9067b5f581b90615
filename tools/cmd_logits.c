/* cmd_logits.c — `heed logits MODEL --ids 1,2,3 -o FILE`: the logits of
 * every position of one batch, float32 little-endian, [n_ids][n_vocab]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_error.h"

int cmd_logits(int argc, char **argv)
{
    const char *model = NULL, *ids_text = NULL, *out_path = NULL;
    long threads = 0, n_ctx = 0;
    heed_context_params cp = heed_context_default_params();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        const int kv = cli_cache_type("logits", argc, argv, &i, &cp);
        if (kv < 0)
            return EXIT_BAD_INPUT;
        if (kv)
            continue;
        if (!strcmp(a, "--ids") && v)
            ids_text = argv[++i];
        else if (!strcmp(a, "-o") && v)
            out_path = argv[++i];
        else if (!strcmp(a, "-t")) {
            if (!cli_parse_int("logits", "-t", v, 1, 1024, &threads))
                return EXIT_BAD_INPUT;
            i++;
        } else if (!strcmp(a, "-c")) {
            if (!cli_parse_int("logits", "-c", v, 1, 1 << 24, &n_ctx))
                return EXIT_BAD_INPUT;
            i++;
        } else if (a[0] == '-' || model)
            return cli_usage_error("logits", USAGE_LOGITS, "unknown or incomplete option");
        else
            model = a;
    }
    if (!model || !ids_text || !out_path)
        return cli_usage_error("logits", USAGE_LOGITS, "needs MODEL, --ids and -o");
    int n;
    int32_t *ids = cli_parse_ids("logits", ids_text, &n);
    if (!ids)
        return EXIT_BAD_INPUT;
    heed_model *m = NULL;
    heed_context *c = NULL;
    float *logits = NULL;
    cp.n_threads = (int)threads;
    cp.n_ctx = n_ctx ? (int)n_ctx : n;
    int rc = EXIT_OK;
    heed_status st = heed_model_load(model, &m);
    if (!st)
        st = heed_context_new(m, &cp, &c);
    if (!st) {
        const size_t count = (size_t)n * (size_t)heed_model_n_vocab(m);
        if (!(logits = malloc(sizeof *logits * count)))
            st = cli_set_error(HEED_ERR_NOMEM, "out of memory for the logits");
        else if (!(st = cli_fits(c, n)) && !(st = heed_context_eval(c, ids, n, logits, true))) {
            FILE *f = fopen(out_path, "wb");
            if (!f || fwrite(logits, sizeof *logits, count, f) != count) {
                fprintf(stderr, "heed logits: cannot write %s\n", out_path);
                rc = EXIT_RUNTIME;
            }
            if (f && fclose(f) && rc == EXIT_OK) {
                fprintf(stderr, "heed logits: cannot write %s\n", out_path);
                rc = EXIT_RUNTIME;
            }
        }
    }
    if (st)
        rc = cli_fail("logits", st);
    free(logits);
    free(ids);
    heed_context_free(c);
    heed_model_free(m);
    return rc;
}
