/*
 * llama2c_vocab.c — reads llama2.c's tokenizer.bin as a SentencePiece
 * (`llama`) vocabulary.
 *
 * Layout: uint32 max_token_length, then for each of the model's n_vocab
 * tokens a float32 score, a uint32 length and that many bytes. llama2.c's
 * exporter wrote SentencePiece pieces with "▁" turned back into " " and
 * BOS / EOS as "\n<s>\n" / "\n</s>\n"; byte pieces stay "<0xNN>". The file
 * does not store the token count: it comes from the model.
 *
 * The pieces are restored to SentencePiece form and handed to the GGUF
 * vocabulary loader as tokenizer.* metadata, so tokenizing and decoding are
 * exactly those of a GGUF `llama` vocabulary.
 */
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "util/error.h"
#include "util/file_map.h"

enum { TYPE_NORMAL = 1, TYPE_UNKNOWN = 2, TYPE_CONTROL = 3, TYPE_BYTE = 6 };

/* piece with every ' ' replaced by "▁" (malloc'd, NUL-terminated). */
static char *to_spm(const char *p, uint32_t len)
{
    size_t spaces = 0;
    for (uint32_t i = 0; i < len; i++)
        spaces += p[i] == ' ';
    char *s = malloc(len + 2 * spaces + 1), *o = s;
    if (!s)
        return NULL;
    for (uint32_t i = 0; i < len; i++) {
        if (p[i] == ' ') {
            memcpy(o, "\xe2\x96\x81", 3);
            o += 3;
        } else {
            *o++ = p[i];
        }
    }
    *o = '\0';
    return s;
}

static int token_type(const char *t, int32_t id)
{
    if (id == 0 && !strcmp(t, "<unk>"))
        return TYPE_UNKNOWN;
    if (!strcmp(t, "\n<s>\n") || !strcmp(t, "\n</s>\n"))
        return TYPE_CONTROL;
    if (strlen(t) == 6 && !strncmp(t, "<0x", 3) && t[5] == '>')
        return TYPE_BYTE;
    return TYPE_NORMAL;
}

/* Builds the tokenizer.* metadata of the n tokens in w. */
static heed_status build(heed_gguf_writer *w, char **tokens, const float *scores,
                         const int32_t *types, int32_t n)
{
    heed_status st;
    if ((st = heed_gguf_writer_set_str(w, "tokenizer.ggml.model", "llama")) ||
        (st = heed_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens",
                                           (const char *const *)tokens, (uint64_t)n)) ||
        (st = heed_gguf_writer_set_arr(w, "tokenizer.ggml.scores", HEED_GGUF_FLOAT32, scores,
                                       (uint64_t)n)) ||
        (st = heed_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", HEED_GGUF_INT32, types,
                                       (uint64_t)n)) ||
        (st = heed_gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0)) ||
        (st = heed_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1)) ||
        (st = heed_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2)) ||
        (st = heed_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", true)))
        return st;
    return HEED_OK;
}

heed_status heed_vocab_load_llama2c(const char *path, int32_t n_vocab, heed_vocab **out)
{
    *out = NULL;
    if (n_vocab < 3)
        return heed_fail(HEED_ERR_ARG, "%s: a llama2.c vocabulary needs at least 3 tokens",
                         path);
    const void *map;
    uint64_t size;
    heed_status st = heed_file_map(path, &map, &size);
    if (st)
        return st;
    char **tokens = calloc((size_t)n_vocab, sizeof *tokens);
    float *scores = malloc(sizeof *scores * (size_t)n_vocab);
    int32_t *types = malloc(sizeof *types * (size_t)n_vocab);
    heed_gguf_writer *w = NULL;
    void *gguf_bytes = NULL;
    size_t gguf_size = 0;
    heed_gguf *g = NULL;
    if (!tokens || !scores || !types) {
        st = heed_fail(HEED_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((st = heed_gguf_writer_new(&w)))
        goto done;
    const uint8_t *p = map;
    uint64_t pos = 4; /* max_token_length: not needed */
    for (int32_t i = 0; i < n_vocab && !st; i++) {
        uint32_t len;
        if (size < pos + 8) {
            st = heed_fail(HEED_ERR_FORMAT, "%s: offset %llu: file ends in token %d of %d",
                           path, (unsigned long long)pos, i, n_vocab);
            break;
        }
        memcpy(&scores[i], p + pos, 4);
        memcpy(&len, p + pos + 4, 4);
        pos += 8;
        if (len > size - pos) {
            st = heed_fail(HEED_ERR_FORMAT, "%s: offset %llu: token %d is %u bytes long, "
                           "beyond the end of the file", path, (unsigned long long)(pos - 4),
                           i, len);
            break;
        }
        if (!(tokens[i] = to_spm((const char *)p + pos, len)))
            st = heed_fail(HEED_ERR_NOMEM, "out of memory");
        else
            types[i] = token_type(tokens[i], i);
        pos += len;
    }
    if (!st)
        st = build(w, tokens, scores, types, n_vocab);
    if (!st)
        st = heed_gguf_writer_write_memory(w, &gguf_bytes, &gguf_size);
    if (!st)
        st = heed_gguf_open_memory(gguf_bytes, gguf_size, path, &g);
    if (!st)
        st = heed_vocab_load(g, out); /* copies what it needs */
done:
    heed_gguf_close(g);
    free(gguf_bytes);
    heed_gguf_writer_free(w);
    for (int32_t i = 0; tokens && i < n_vocab; i++)
        free(tokens[i]);
    free(tokens);
    free(scores);
    free(types);
    heed_file_unmap(map, size);
    return st;
}
