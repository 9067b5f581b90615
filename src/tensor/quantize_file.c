/*
 * quantize_file.c — converts a whole GGUF model to another tensor type, as
 * `llama-quantize --pure` does: every tensor with two or more dimensions
 * becomes the target type, 1-D tensors (norms, biases) keep theirs, and the
 * metadata is copied with general.file_type and general.quantization_version
 * updated. Rows the target's block size does not divide fall back to a
 * 32-element type as llama.cpp does (q4_K→q5_0, q5_K→q5_1, q6_K→q8_0,
 * q2_K/q3_K/iq4_xs→iq4_nl), and to f16 when even that does not divide.
 */
#include "heed.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tensor/convert.h"
#include "util/error.h"

/* Row `row` of a tensor, dequantized. */
static void tensor_row(const void *ctx, int64_t row, float *out, int64_t ne0)
{
    const heed_gguf_tensor *t = ctx;
    heed_type_get(t->type)->to_float(
        (const char *)t->data + heed_type_row_size(t->type, ne0) * (size_t)row, out, ne0);
}

heed_status heed_quantize_file(const char *in_path, const char *out_path, heed_type type,
                               int n_threads)
{
    const heed_type_traits *tt = heed_type_get(type);
    if (!tt || !tt->from_float || heed_file_type_of(type) < 0)
        return heed_fail(HEED_ERR_UNSUPPORTED, "cannot convert a model to type %s "
                         "(heed writes f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, "
                         "q2_K, q3_K, q4_K, q5_K, q6_K, iq4_nl, iq4_xs)", heed_type_name(type));
    if (n_threads <= 0)
        n_threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    heed_gguf *in = NULL;
    heed_status st = heed_gguf_open(in_path, &in);
    if (st)
        return st;
    int64_t n = heed_gguf_n_tensors(in);
    void **buffers = calloc((size_t)(n ? n : 1), sizeof *buffers);
    heed_gguf_writer *w = NULL;
    if (!buffers) {
        st = heed_fail(HEED_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((st = heed_gguf_writer_new(&w)))
        goto done;
    for (int64_t i = 0; i < heed_gguf_n_kv(in) && !st; i++)
        st = heed_gguf_writer_set(w, heed_gguf_kv_key(in, i), heed_gguf_kv_value(in, i));
    if (!st)
        st = heed_gguf_writer_set_u32(w, "general.quantization_version", 2);
    if (!st)
        st = heed_gguf_writer_set_u32(w, "general.file_type", (uint32_t)heed_file_type_of(type));
    for (int64_t i = 0; i < n && !st; i++) {
        const heed_gguf_tensor *t = heed_gguf_tensor_at(in, i);
        int dst_type = t->type;
        if (t->n_dims >= 2 && t->type != type) {
            if (!heed_type_get(t->type)->to_float) {
                st = heed_fail(HEED_ERR_UNSUPPORTED, "%s: tensor '%s' has type %s, which "
                               "heed cannot dequantize", in_path, t->name,
                               heed_type_name(t->type));
                break;
            }
            dst_type = heed_type_for_rows(type, t->ne[0]);
        }
        const void *data = t->data;
        if (dst_type != t->type) {
            size_t bytes = heed_type_row_size(dst_type, t->ne[0]) *
                           (size_t)(t->ne[1] * t->ne[2] * t->ne[3]);
            if (!(buffers[i] = malloc(bytes ? bytes : 1))) {
                st = heed_fail(HEED_ERR_NOMEM, "out of memory for tensor '%s'", t->name);
                break;
            }
            st = heed_convert_rows(tensor_row, t, t->ne[1] * t->ne[2] * t->ne[3], t->ne[0],
                                   dst_type, buffers[i], n_threads);
            if (st) {
                heed_fail_prefix(st, "tensor '%s'", t->name);
                break;
            }
            data = buffers[i];
        }
        st = heed_gguf_writer_add_tensor(w, t->name, dst_type, t->n_dims, t->ne, data);
    }
    if (!st)
        st = heed_gguf_writer_write(w, out_path);
done:
    for (int64_t i = 0; buffers && i < n; i++)
        free(buffers[i]);
    free(buffers);
    heed_gguf_writer_free(w);
    heed_gguf_close(in);
    return st;
}
