/* test_llama2c_vocab.c — llama2.c's tokenizer.bin. The file is made here
 * from the llama-spm fixture vocabulary the way llama2.c's exporter writes
 * one ("▁" back to " ", BOS/EOS as "\n<s>\n" / "\n</s>\n"); read back, it
 * must tokenize and decode exactly as the GGUF vocabulary does. */
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"

/* Writes tokenizer.bin for the tokens of v; returns its path. */
static const char *export_llama2c(const heed_gguf *g)
{
    const heed_gguf_value *tokens, *scores;
    cr_assert_eq(heed_gguf_get_arr(g, "tokenizer.ggml.tokens", HEED_GGUF_STRING, &tokens), HEED_OK);
    cr_assert_eq(heed_gguf_get_arr(g, "tokenizer.ggml.scores", HEED_GGUF_FLOAT32, &scores), HEED_OK);
    const char *path = test_tmp_path("tokenizer.bin");
    FILE *f = fopen(path, "wb");
    uint32_t max_len = 0;
    fwrite(&max_len, 4, 1, f);
    for (uint64_t i = 0; i < tokens->v.arr.n; i++) {
        heed_gguf_value t = heed_gguf_arr_get(tokens, i);
        float score = (float)heed_gguf_arr_get(scores, i).v.f;
        char buf[512];
        size_t n = 0;
        if (i == 1 || i == 2) {
            n = (size_t)snprintf(buf, sizeof buf, i == 1 ? "\n<s>\n" : "\n</s>\n");
        } else {
            for (uint64_t k = 0; k < t.v.str.len && n < sizeof buf; k++) {
                if (k + 2 < t.v.str.len && !memcmp(t.v.str.ptr + k, "\xe2\x96\x81", 3)) {
                    buf[n++] = ' ';
                    k += 2;
                } else {
                    buf[n++] = t.v.str.ptr[k];
                }
            }
        }
        uint32_t len = (uint32_t)n;
        fwrite(&score, 4, 1, f);
        fwrite(&len, 4, 1, f);
        fwrite(buf, 1, n, f);
    }
    fclose(f);
    return path;
}

Test(llama2c_vocab, tokenizes_as_the_gguf_vocabulary)
{
    char path[4096];
    FIXTURE_PATH(path, "vocab/ggml-vocab-llama-spm.gguf");
    heed_gguf *g;
    cr_assert_eq(heed_gguf_open(path, &g), HEED_OK, "%s", heed_last_error());
    heed_vocab *ref, *bin;
    cr_assert_eq(heed_vocab_load(g, &ref), HEED_OK, "%s", heed_last_error());
    const char *bin_path = export_llama2c(g);
    cr_assert_eq(heed_vocab_load_llama2c(bin_path, 32000, &bin), HEED_OK, "%s",
                 heed_last_error());
    const char *texts[] = {"Once upon a time, there was a little girl named Lily.",
                           " Hello  world\n\ttabs", "Führer 🦙 ½ months", "", "<s> text </s>"};
    for (size_t k = 0; k < sizeof texts / sizeof *texts; k++) {
        int32_t *a, *b;
        size_t na, nb;
        cr_assert_eq(heed_tokenize(ref, texts[k], strlen(texts[k]), true, false, &a, &na), HEED_OK);
        cr_assert_eq(heed_tokenize(bin, texts[k], strlen(texts[k]), true, false, &b, &nb), HEED_OK);
        cr_expect_eq(na, nb, "'%s'", texts[k]);
        cr_expect(na == nb && (na == 0 || !memcmp(a, b, na * sizeof *a)), "'%s'", texts[k]);
        char *ta, *tb;
        size_t la, lb;
        cr_assert_eq(heed_detokenize(ref, a, na, true, false, &ta, &la), HEED_OK);
        cr_assert_eq(heed_detokenize(bin, b, nb, true, false, &tb, &lb), HEED_OK);
        cr_expect(la == lb && !memcmp(ta, tb, la), "'%s'", texts[k]);
        free(a);
        free(b);
        free(ta);
        free(tb);
    }
    cr_expect_eq(heed_vocab_bos(bin), 1);
    cr_expect(heed_vocab_is_eog(bin, 2));

    heed_vocab *none = (heed_vocab *)1;
    cr_expect_eq(heed_vocab_load_llama2c(bin_path, 32001, &none), HEED_ERR_FORMAT);
    cr_expect(strstr(heed_last_error(), "file ends in token 32000 of 32001"), "%s",
              heed_last_error());
    cr_expect_null(none);
    heed_vocab_free(ref);
    heed_vocab_free(bin);
    heed_gguf_close(g);
}

/* `heed run MODEL.bin -z tokenizer.bin -p TEXT` reads and writes text. */
Test(llama2c_vocab, run_with_z)
{
    char path[4096], model[4096], args[9000], *out = NULL;
    FIXTURE_PATH(path, "vocab/ggml-vocab-llama-spm.gguf");
    FIXTURE_PATH(model, "stories260K.bin");
    heed_gguf *g;
    cr_assert_eq(heed_gguf_open(path, &g), HEED_OK, "%s", heed_last_error());
    char bin[512];
    snprintf(bin, sizeof bin, "%s", export_llama2c(g));
    heed_gguf_close(g);
    snprintf(args, sizeof args, "run '%s' -z '%s' -p 'Once upon' -n 4 --temp 0", model, bin);
    cr_assert_eq(test_run_cli(args, &out), 0, "%s", args);
    cr_expect(strncmp(out, "Once upon", 9) == 0 && strlen(out) > 10, "%s", out);
    free(out);
}
