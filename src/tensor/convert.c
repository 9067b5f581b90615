/* convert.c — filling tensors row by row on threads (see convert.h). */
#include "tensor/convert.h"

#include <pthread.h>
#include <stdlib.h>

#include "util/error.h"

int heed_file_type_of(int t)
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
    case HEED_TYPE_IQ4_NL: return 25;
    case HEED_TYPE_IQ4_XS: return 30;
    case HEED_TYPE_BF16: return 32;
    default: return -1;
    }
}

int heed_type_for_rows(int type, int64_t ne0)
{
    if (ne0 % heed_type_get(type)->block_size == 0)
        return type;
    switch (type) {
    case HEED_TYPE_Q4_K: type = HEED_TYPE_Q5_0; break;
    case HEED_TYPE_Q5_K: type = HEED_TYPE_Q5_1; break;
    case HEED_TYPE_Q6_K: type = HEED_TYPE_Q8_0; break;
    case HEED_TYPE_Q2_K:
    case HEED_TYPE_Q3_K:
    case HEED_TYPE_IQ4_XS: type = HEED_TYPE_IQ4_NL; break;
    default: type = HEED_TYPE_Q4_0; break;
    }
    return ne0 % heed_type_get(type)->block_size == 0 ? type : HEED_TYPE_F16;
}

/* One thread's share of a conversion. */
typedef struct job {
    heed_row_source source;
    const void *ctx;
    int64_t rows, ne0;
    int dst_type;
    void *dst;
    int n_threads;
    int index;
} job;

static void *convert_rows(void *arg)
{
    const job *j = arg;
    const heed_type_traits *to = heed_type_get(j->dst_type);
    const int64_t ne0 = j->ne0;
    const size_t out_row = heed_type_row_size(j->dst_type, ne0);
    float *row = malloc(sizeof *row * (size_t)ne0);
    if (!row)
        return arg; /* non-NULL: failed */
    int64_t per = (j->rows + j->n_threads - 1) / j->n_threads;
    int64_t r0 = per * j->index, r1 = r0 + per < j->rows ? r0 + per : j->rows;
    for (int64_t r = r0; r < r1; r++) {
        j->source(j->ctx, r, row, ne0);
        to->from_float(row, (char *)j->dst + out_row * r, ne0);
    }
    free(row);
    return NULL;
}

enum { MAX_THREADS = 64 };

heed_status heed_convert_rows(heed_row_source source, const void *ctx, int64_t rows,
                              int64_t ne0, int dst_type, void *dst, int n_threads)
{
    if (n_threads > MAX_THREADS)
        n_threads = MAX_THREADS;
    if (n_threads > rows)
        n_threads = rows > 0 ? (int)rows : 1;
    job jobs[MAX_THREADS];
    pthread_t ids[MAX_THREADS];
    bool started[MAX_THREADS] = {false}, failed = false;
    for (int i = 0; i < n_threads; i++)
        jobs[i] = (job){source, ctx, rows, ne0, dst_type, dst, n_threads, i};
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
        return heed_fail(HEED_ERR_NOMEM, "out of memory converting %lld rows to %s",
                         (long long)rows, heed_type_name(dst_type));
    return HEED_OK;
}

