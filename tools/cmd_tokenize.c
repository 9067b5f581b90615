/* cmd_tokenize.c — `heed tokenize MODEL TEXT`: the ids (and pieces) of a
 * text; `--inp FILE.inp` tokenizes each text of a llama.cpp vocab test file
 * and prints its .out line (" id id ..."), so diff against the .out is the
 * test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#include "cli_error.h"

/* Prints the .out line of each text of an .inp file: texts are separated
 * by "\n__ggml_vocab_test__\n", as llama.cpp's test-tokenizer-0 reads them
 * (no special tokens added or parsed). */
static int tokenize_inp(const heed_vocab *v, const char *path)
{
    size_t len;
    char *raw = cli_read_file("tokenize", path, &len);
    if (!raw)
        return EXIT_BAD_INPUT;
    static const char sep[] = "\n__ggml_vocab_test__\n";
    const size_t sl = sizeof sep - 1;
    size_t pos = 0;
    while (pos < len) {
        const char *m = memmem(raw + pos, len - pos, sep, sl);
        size_t end = m ? (size_t)(m - raw) : len;
        int32_t *ids;
        size_t n;
        heed_status st = heed_tokenize(v, raw + pos, end - pos, false, false, &ids, &n);
        if (st) {
            free(raw);
            return cli_fail("tokenize", st);
        }
        for (size_t i = 0; i < n; i++)
            printf(" %d", ids[i]);
        putchar('\n');
        free(ids);
        if (!m)
            break;
        pos = end + sl;
    }
    free(raw);
    return EXIT_OK;
}

int cmd_tokenize(int argc, char **argv)
{
    const char *model = NULL, *text = NULL, *inp = NULL;
    bool ids_only = false, special = false, no_add = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--ids-only"))
            ids_only = true;
        else if (!strcmp(a, "--special"))
            special = true;
        else if (!strcmp(a, "--no-add-special"))
            no_add = true;
        else if (!strcmp(a, "--inp") && i + 1 < argc)
            inp = argv[++i];
        else if (a[0] == '-' && a[1])
            return cli_usage_error("tokenize", USAGE_TOKENIZE, "unknown or incomplete option");
        else if (!model)
            model = a;
        else if (!text)
            text = a;
        else
            return cli_usage_error("tokenize", USAGE_TOKENIZE, "too many arguments");
    }
    if (!model || (!text == !inp))
        return cli_usage_error("tokenize", USAGE_TOKENIZE, "needs MODEL and either TEXT or --inp");
    heed_vocab *v;
    heed_status st = heed_vocab_load_file(model, &v);
    if (st)
        return cli_fail("tokenize", st);
    int rc = EXIT_OK;
    if (inp) {
        rc = tokenize_inp(v, inp);
    } else {
        int32_t *ids;
        size_t n;
        st = heed_tokenize(v, text, strlen(text), !no_add, special, &ids, &n);
        if (st) {
            rc = cli_fail("tokenize", st);
        } else if (ids_only) {
            putchar('[');
            for (size_t i = 0; i < n; i++)
                printf("%s%d", i ? ", " : "", ids[i]);
            puts("]");
        } else {
            for (size_t i = 0; i < n; i++) {
                size_t pl;
                const char *p = heed_token_to_piece(v, ids[i], true, &pl);
                printf("%6d -> '%.*s'\n", ids[i], (int)pl, p);
            }
        }
        free(ids);
    }
    heed_vocab_free(v);
    return rc;
}
