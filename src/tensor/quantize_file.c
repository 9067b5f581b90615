/*
 * quantize_file.c — converts a whole GGUF model to another tensor type, as
 * `llama-quantize --pure` does: every tensor with two or more dimensions
 * becomes the target type, 1-D tensors (norms, biases) keep theirs, and the
 * metadata is copied with general.file_type and general.quantization_version
 * updated. Rows the target's block size does not divide fall back to a
 * 32-element type as llama.cpp does (q4_K→q5_0, q5_K→q5_1, q6_K→q8_0,
 * q2_K/q3_K→q4_0 where llama.cpp uses iq4_nl, which heed cannot write),
 * and to f16 when even that does not divide.
 */
#include "heed.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/error.h"

/* llama.cpp's llama_ftype for a file whose matrices all have type t. */
static int file_type_of(int t)
{
    switch (t) {
    case HEED_TYPE_F32: return 0;
    case HEED_TYPE_F16: return 1;
    case HEED_TYPE_Q4_0: return 2;
    case HEED_TYPE_Q4_1: return 3;
    case HEED_TYPE_Q8_0: return 7;
    case HEED_TYPE_Q5_0: return 8;
    case HEED_TYPE_Q5_1: return 9;
    case HEED_TYPE_Q2_K: return 10;
    case HEED_TYPE_Q3_K: return 12; /* "Q3_K" is llama-quantize's Q3_K_M */
    case HEED_TYPE_Q4_K: return 15; /* Q4_K_M */
    case HEED_TYPE_Q5_K: return 17; /* Q5_K_M */
    case HEED_TYPE_Q6_K: return 18;
    case HEED_TYPE_BF16: return 32;
    default: return -1;
    }
}

/* The type a tensor with rows of ne0 elements gets when type is asked. */
static int target_type(int type, int64_t ne0)
{
    if (ne0 % heed_type_get(type)->block_size == 0)
        return type;
    switch (type) {
    case HEED_TYPE_Q4_K: type = HEED_TYPE_Q5_0; break;
    case HEED_TYPE_Q5_K: type = HEED_TYPE_Q5_1; break;
    case HEED_TYPE_Q6_K: type = HEED_TYPE_Q8_0; break;
    default: type = HEED_TYPE_Q4_0; break;
    }
    return ne0 % heed_type_get(type)->block_size == 0 ? type : HEED_TYPE_F16;
}

/* One tensor's conversion, split by rows across threads. */
typedef struct job {
    const heed_gguf_tensor *src;
    int dst_type;
    void *dst;
    int64_t rows;
    int n_threads;
    int index;
} job;

static void *convert_rows(void *arg)
{
    const job *j = arg;
    const heed_type_traits *from = heed_type_get(j->src->type);
    const heed_type_traits *to = heed_type_get(j->dst_type);
    int64_t ne0 = j->src->ne[0];
    size_t in_row = heed_type_row_size(j->src->type, ne0);
    size_t out_row = heed_type_row_size(j->dst_type, ne0);
    float *row = malloc(sizeof *row * (size_t)ne0);
    if (!row)
        return arg; /* non-NULL: failed */
    int64_t per = (j->rows + j->n_threads - 1) / j->n_threads;
    int64_t r0 = per * j->index, r1 = r0 + per < j->rows ? r0 + per : j->rows;
    for (int64_t r = r0; r < r1; r++) {
        from->to_float((const char *)j->src->data + in_row * r, row, ne0);
        to->from_float(row, (char *)j->dst + out_row * r, ne0);
    }
    free(row);
    return NULL;
}

enum { MAX_THREADS = 64 };

static heed_status convert_tensor(const heed_gguf_tensor *t, int dst_type, void *dst,
                                  int n_threads)
{
    int64_t rows = t->ne[1] * t->ne[2] * t->ne[3];
    if (n_threads > MAX_THREADS)
        n_threads = MAX_THREADS;
    if (n_threads > rows)
        n_threads = rows > 0 ? (int)rows : 1;
    job jobs[MAX_THREADS];
    pthread_t ids[MAX_THREADS];
    bool started[MAX_THREADS] = {false}, failed = false;
    for (int i = 0; i < n_threads; i++)
        jobs[i] = (job){t, dst_type, dst, rows, n_threads, i};
    for (int i = 1; i < n_threads; i++)
        started[i] = pthread_create(&ids[i], NULL, convert_rows, &jobs[i]) == 0;
    /* This thread does share 0 and any share whose thread did not start. */
    for (int i = 0; i < n_threads; i++)
        if (!started[i])
            failed |= convert_rows(&jobs[i]) != NULL;
    for (int i = 1; i < n_threads; i++) {
        void *ret = NULL;
        if (started[i] && pthread_join(ids[i], &ret) == 0)
            failed |= ret != NULL;
    }
    if (failed)
        return heed_fail(HEED_ERR_NOMEM, "out of memory converting tensor '%s'", t->name);
    return HEED_OK;
}

heed_status heed_quantize_file(const char *in_path, const char *out_path, int type,
                               int n_threads)
{
    const heed_type_traits *tt = heed_type_get(type);
    if (!tt || !tt->from_float || file_type_of(type) < 0)
        return heed_fail(HEED_ERR_UNSUPPORTED, "cannot convert a model to type %s "
                         "(heed writes f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, "
                         "q2_K, q3_K, q4_K, q5_K, q6_K)", heed_type_name(type));
    if (n_threads <= 0)
        n_threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    heed_gguf *in = NULL;
    heed_status st = heed_gguf_open(in_path, &in);
    if (st)
        return st;
    int64_t n = heed_gguf_n_tensors(in);
    void **buffers = calloc((size_t)(n ? n : 1), sizeof *buffers);
    heed_gguf_writer *w = heed_gguf_writer_new();
    if (!buffers || !w) {
        st = heed_fail(HEED_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int64_t i = 0; i < heed_gguf_n_kv(in) && !st; i++)
        st = heed_gguf_writer_set(w, heed_gguf_kv_key(in, i), heed_gguf_kv_value(in, i));
    if (!st)
        st = heed_gguf_writer_set_u32(w, "general.quantization_version", 2);
    if (!st)
        st = heed_gguf_writer_set_u32(w, "general.file_type", (uint32_t)file_type_of(type));
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
            dst_type = target_type(type, t->ne[0]);
        }
        const void *data = t->data;
        if (dst_type != t->type) {
            size_t bytes = heed_type_row_size(dst_type, t->ne[0]) *
                           (size_t)(t->ne[1] * t->ne[2] * t->ne[3]);
            if (!(buffers[i] = malloc(bytes ? bytes : 1))) {
                st = heed_fail(HEED_ERR_NOMEM, "out of memory for tensor '%s'", t->name);
                break;
            }
            if ((st = convert_tensor(t, dst_type, buffers[i], n_threads)))
                break;
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
