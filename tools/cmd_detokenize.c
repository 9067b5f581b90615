/* cmd_detokenize.c — `heed detokenize MODEL --ids 1,2,3`: the text of
 * token ids, as llama.cpp's detokenizer gives it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"


int cmd_detokenize(int argc, char **argv)
{
    const char *model = NULL, *ids_text = NULL;
    bool no_special = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--ids") && i + 1 < argc)
            ids_text = argv[++i];
        else if (!strcmp(a, "--no-special"))
            no_special = true;
        else if (a[0] == '-' || model)
            return cli_usage_error("detokenize", USAGE_DETOKENIZE, "unknown or incomplete option");
        else
            model = a;
    }
    if (!model || !ids_text)
        return cli_usage_error("detokenize", USAGE_DETOKENIZE, "needs MODEL and --ids");
    int n;
    int32_t *ids = cli_parse_ids("detokenize", ids_text, &n);
    if (!ids)
        return EXIT_BAD_INPUT;
    heed_vocab *v;
    heed_status st = heed_vocab_load_file(model, &v);
    char *text = NULL;
    size_t len = 0;
    if (!st)
        st = heed_detokenize(v, ids, (size_t)n, false, !no_special, &text, &len);
    int rc = st ? cli_fail("detokenize", st) : EXIT_OK;
    if (!st) {
        fwrite(text, 1, len, stdout);
        putchar('\n');
    }
    free(text);
    free(ids);
    heed_vocab_free(v);
    return rc;
}
