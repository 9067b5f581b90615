/*
 * peer_dequant.c — the oracle side of the dequantisation tests: a peer's
 * (llama.cpp's) to_float of every tensor of a GGUF file, reduced to a
 * 64-bit FNV-1a hash of the float32 bytes, so a test can demand heed's
 * values bit for bit without committing them.
 *
 *   peer_dequant MODEL.gguf      prints "NAME TYPE N_ELEMENTS HASH" per tensor
 *
 * Built by `build.sh LLAMA_SRC OUT peer_dequant` against llama.cpp's
 * ggml (ik_llama.cpp's older gguf API differs); not part of heed's build.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "ggml.h"
#include "gguf.h"

static uint64_t fnv1a64(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: peer_dequant MODEL.gguf\n");
        return 2;
    }
    struct ggml_context *meta = NULL;
    struct gguf_init_params params = {.no_alloc = false, .ctx = &meta};
    struct gguf_context *g = gguf_init_from_file(argv[1], params);
    if (!g) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    for (int64_t i = 0; i < gguf_get_n_tensors(g); i++) {
        const char *name = gguf_get_tensor_name(g, i);
        struct ggml_tensor *t = ggml_get_tensor(meta, name);
        const int64_t n = ggml_nelements(t);
        float *f = malloc(sizeof *f * (size_t)n);
        const struct ggml_type_traits *tt = ggml_get_type_traits(t->type);
        if (t->type == GGML_TYPE_F32)
            for (int64_t j = 0; j < n; j++)
                f[j] = ((const float *)t->data)[j];
        else
            tt->to_float(t->data, f, n);
        printf("%s %s %" PRId64 " %016" PRIx64 "\n", name, tt->type_name, n,
               fnv1a64(f, sizeof *f * (size_t)n));
        free(f);
    }
    gguf_free(g);
    ggml_free(meta);
    return 0;
}
