/* test_bpe_train.c — the byte-level BPE trainer: its vocabulary, stored as
 * a GGUF tokenizer and loaded back, gives the training text back exactly
 * in fewer tokens; its first merge is the text's most frequent pair; it
 * is deterministic, stops when the text runs out of pairs, and refuses
 * bad input with messages that say why. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "testutil.h"
#include "train/bpe_train.h"

/* The vocabulary as heed loads it from a GGUF file made by the writer. */
static heed_vocab *load(const heed_bpe_vocab *bv)
{
    heed_gguf_writer *w = NULL;
    cr_assert_eq(heed_gguf_writer_new(&w), HEED_OK);
    cr_assert_not_null(w);
    cr_assert_eq(heed_bpe_vocab_write(bv, w), HEED_OK, "%s", heed_last_error());
    void *buf;
    size_t size;
    cr_assert_eq(heed_gguf_writer_write_memory(w, &buf, &size), HEED_OK, "%s", heed_last_error());
    heed_gguf_writer_free(w);
    heed_gguf *g;
    cr_assert_eq(heed_gguf_open_memory(buf, size, "trained", &g), HEED_OK, "%s",
                 heed_last_error());
    heed_vocab *v;
    cr_assert_eq(heed_vocab_load(g, &v), HEED_OK, "%s", heed_last_error());
    heed_gguf_close(g);
    free(buf);
    return v;
}

/* Tokenizes text and checks that the ids decode to it byte for byte
 * (the texts here hold no " ," or " 's" that the gpt-2 clean-up would
 * change); returns the token count. */
static size_t round_trip(const heed_vocab *v, const char *text, size_t len)
{
    int32_t *ids;
    size_t n;
    cr_assert_eq(heed_tokenize(v, text, len, false, false, &ids, &n), HEED_OK, "%s",
                 heed_last_error());
    char *back;
    size_t back_len;
    cr_assert_eq(heed_detokenize(v, ids, n, false, false, &back, &back_len), HEED_OK);
    cr_expect(back_len == len && !memcmp(back, text, len), "round trip changed the text:\n%s",
              back);
    free(back);
    free(ids);
    return n;
}

/* The gpt-2 pre-tokenizer's split of ASCII text, written out by hand:
 * length of the word at t[i]. */
static size_t ascii_word(const char *t, size_t n, size_t i)
{
    static const char *const contractions[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
    for (int k = 0; k < 7; k++) {
        size_t cl = strlen(contractions[k]);
        if (i + cl <= n && !memcmp(t + i, contractions[k], cl))
            return cl;
    }
    size_t j = i + (t[i] == ' ' && i + 1 < n && !isspace((unsigned char)t[i + 1]));
    if (isalpha((unsigned char)t[j]) || isdigit((unsigned char)t[j])) {
        int (*same)(int) = isalpha((unsigned char)t[j]) ? isalpha : isdigit;
        while (j < n && same((unsigned char)t[j]))
            j++;
        return j - i;
    }
    if (!isspace((unsigned char)t[j])) {
        while (j < n && !isspace((unsigned char)t[j]) && !isalnum((unsigned char)t[j]))
            j++;
        return j - i;
    }
    while (j < n && isspace((unsigned char)t[j]))
        j++;
    /* whitespace before a word keeps its last character for that word */
    return j == n || j - i == 1 ? j - i : j - i - 1;
}

/* GPT-2's printable form of an ASCII byte. */
static void show_byte(unsigned char b, char *out)
{
    if (b == ' ')
        strcpy(out, "\xC4\xA0");
    else if (b == '\n')
        strcpy(out, "\xC4\x8A");
    else
        out[0] = (char)b, out[1] = 0;
}

Test(bpe_train, learns_a_vocabulary_that_round_trips_and_compresses)
{
    size_t len;
    char *text = test_read_file(HEED_SOURCE_DIR "/tests/data/perplexity.txt", &len);
    cr_assert_not_null(text);
    heed_bpe_vocab bv;
    cr_assert_eq(heed_bpe_train(text, len, 300, &bv), HEED_OK, "%s", heed_last_error());
    cr_expect_eq(bv.n_tokens, 300);
    cr_expect_eq(bv.n_merges, 300 - 257);
    cr_expect_eq(bv.eos, 299);
    cr_expect_str_eq(bv.tokens[bv.eos], "<|endoftext|>");
    cr_expect_eq(bv.types[bv.eos], 3);
    cr_expect_eq(bv.types[0], 1);
    cr_expect_str_eq(bv.tokens['a'], "a");
    cr_expect_str_eq(bv.tokens[' '], "\xC4\xA0");

    /* the most frequent pair inside words, ties to the smallest bytes */
    static long counts[256][256];
    memset(counts, 0, sizeof counts);
    for (size_t i = 0; i < len;) {
        size_t wl = ascii_word(text, len, i);
        for (size_t j = i + 1; j < i + wl; j++)
            counts[(unsigned char)text[j - 1]][(unsigned char)text[j]]++;
        i += wl;
    }
    int bl = 0, br = 0;
    for (int l = 0; l < 256; l++)
        for (int r = 0; r < 256; r++)
            if (counts[l][r] > counts[bl][br])
                bl = l, br = r;
    char first[16], right[4];
    show_byte((unsigned char)bl, first);
    show_byte((unsigned char)br, right);
    strcat(strcat(first, " "), right);
    cr_expect_str_eq(bv.merges[0], first);

    heed_vocab *v = load(&bv);
    cr_expect_str_eq(heed_vocab_model(v), "gpt2");
    cr_expect_str_eq(heed_vocab_pre(v), "gpt-2");
    cr_expect_eq(heed_vocab_n_tokens(v), 300);
    cr_expect_eq(heed_vocab_eos(v), 299);
    cr_expect_eq(heed_vocab_bos(v), 299);
    cr_expect_not(heed_vocab_add_bos(v));
    cr_expect(heed_vocab_is_control(v, 299) && heed_vocab_is_eog(v, 299));
    size_t n = round_trip(v, text, len);
    cr_expect(n < len * 7 / 10, "%zu tokens for %zu bytes", n, len);
    const char *other = "Attention is what a model pays, 42 times over.\n";
    round_trip(v, other, strlen(other));
    heed_vocab_free(v);
    heed_bpe_vocab_free(&bv);
    heed_bpe_vocab_free(&bv); /* zeroed: a second free does nothing */
    free(text);
}

Test(bpe_train, is_deterministic)
{
    size_t len;
    char *text = test_read_file(HEED_SOURCE_DIR "/tests/data/perplexity.txt", &len);
    cr_assert_not_null(text);
    heed_bpe_vocab a, b;
    cr_assert_eq(heed_bpe_train(text, len, 400, &a), HEED_OK, "%s", heed_last_error());
    cr_assert_eq(heed_bpe_train(text, len, 400, &b), HEED_OK, "%s", heed_last_error());
    cr_assert_eq(a.n_tokens, b.n_tokens);
    cr_assert_eq(a.n_merges, b.n_merges);
    cr_expect_eq(a.eos, b.eos);
    for (int32_t i = 0; i < a.n_tokens; i++) {
        cr_expect_str_eq(a.tokens[i], b.tokens[i], "token %d", i);
        cr_expect_eq(a.types[i], b.types[i], "token %d", i);
    }
    for (int32_t i = 0; i < a.n_merges; i++)
        cr_expect_str_eq(a.merges[i], b.merges[i], "merge %d", i);
    heed_bpe_vocab_free(&a);
    heed_bpe_vocab_free(&b);
    free(text);
}

Test(bpe_train, round_trips_non_ascii_text)
{
    char text[8192];
    size_t len = 0;
    for (int i = 0; i < 40; i++)
        len += (size_t)snprintf(text + len, sizeof text - len,
                                "naïve café — 日本 %d: señor Müller’s crème brûlée\n", i);
    heed_bpe_vocab bv;
    cr_assert_eq(heed_bpe_train(text, len, 300, &bv), HEED_OK, "%s", heed_last_error());
    bool e_acute = false; /* é (C3 A9) became one token: "Ã©" */
    for (int32_t i = 256; i < bv.eos; i++)
        e_acute |= !strcmp(bv.tokens[i], "\xC3\x83\xC2\xA9");
    cr_expect(e_acute, "no token for é");
    heed_vocab *v = load(&bv);
    size_t n = round_trip(v, text, len);
    cr_expect(n < len / 2, "%zu tokens for %zu bytes", n, len);
    const char *unseen = "Ελληνικά 😀 ñ\t\r\n  日本語のテキスト\x01";
    round_trip(v, unseen, strlen(unseen));
    heed_vocab_free(v);
    heed_bpe_vocab_free(&bv);
}

/* A text with few pairs runs out of them before the asked size. */
Test(bpe_train, stops_when_the_text_has_no_pairs_left)
{
    const char *text = "ab ab ab ab";
    heed_bpe_vocab bv;
    cr_assert_eq(heed_bpe_train(text, strlen(text), 1 << 20, &bv), HEED_OK, "%s",
                 heed_last_error());
    cr_assert_eq(bv.n_tokens, 259);
    cr_assert_eq(bv.n_merges, 2);
    cr_expect_str_eq(bv.merges[0], "a b");
    cr_expect_str_eq(bv.merges[1], "\xC4\xA0 ab");
    cr_expect_str_eq(bv.tokens[257], "\xC4\xA0" "ab");
    cr_expect_eq(bv.eos, 258);
    heed_vocab *v = load(&bv);
    int32_t *ids;
    size_t n;
    cr_assert_eq(heed_tokenize(v, text, strlen(text), false, false, &ids, &n), HEED_OK);
    cr_assert_eq(n, 4);
    cr_expect(ids[0] == 256 && ids[1] == 257 && ids[2] == 257 && ids[3] == 257);
    free(ids);
    heed_vocab_free(v);
    heed_bpe_vocab_free(&bv);
}

Test(bpe_train, refuses_bad_input_and_says_why)
{
    heed_bpe_vocab bv = {.n_tokens = 7};
    cr_expect_eq(heed_bpe_train("", 0, 300, &bv), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "at least 2"), "%s", heed_last_error());
    cr_expect(bv.n_tokens == 0 && !bv.tokens, "out is zeroed on failure");
    cr_expect_eq(heed_bpe_train("a", 1, 300, &bv), HEED_ERR_ARG);
    cr_expect_eq(heed_bpe_train(NULL, 10, 300, &bv), HEED_ERR_ARG);
    cr_expect_eq(heed_bpe_train("ab", 2, 300, NULL), HEED_ERR_ARG);
    cr_expect_eq(heed_bpe_train("abab", 4, 257, &bv), HEED_ERR_ARG);
    cr_expect(strstr(heed_last_error(), "257") && strstr(heed_last_error(), "258"), "%s",
              heed_last_error());
    cr_expect_eq(heed_bpe_train("abab", 4, (1 << 20) + 1, &bv), HEED_ERR_ARG);
    cr_expect_eq(heed_bpe_train("abab", 4, -5, &bv), HEED_ERR_ARG);

    static const struct { const char *text; size_t offset; } bad[] = {
        {"hello \xFF world", 6},
        {"ab\xC0\xAF", 2},             /* overlong '/' */
        {"abc\xED\xA0\x80", 3},        /* a surrogate */
        {"\xF4\x90\x80\x80", 0},       /* past U+10FFFF */
        {"caf\xC3\xA9 \x80", 6},       /* a stray continuation byte */
        {"abcd\xE6\x97", 4},           /* cut short at the end */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_expect_eq(heed_bpe_train(bad[i].text, strlen(bad[i].text), 300, &bv),
                     HEED_ERR_FORMAT, "case %zu", i);
        char want[32];
        snprintf(want, sizeof want, "offset %zu", bad[i].offset);
        cr_expect(strstr(heed_last_error(), "UTF-8") && strstr(heed_last_error(), want),
                  "case %zu: %s", i, heed_last_error());
    }
    heed_gguf_writer *w = NULL;
    cr_assert_eq(heed_gguf_writer_new(&w), HEED_OK);
    cr_expect_eq(heed_bpe_vocab_write(NULL, w), HEED_ERR_ARG);
    cr_expect_eq(heed_bpe_vocab_write(&bv, w), HEED_ERR_ARG, "an empty vocabulary");
    heed_gguf_writer_free(w);
    heed_bpe_vocab_free(NULL);
}
