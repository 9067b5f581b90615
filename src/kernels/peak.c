/*
 * peak.c — the machine's measured peak f32 rate: independent chains of
 * fused multiply-adds at the widest vector width heed uses, on every
 * thread of a pool at once. The denominator of training's MFU.
 */
#include "kernels/peak.h"

#include "heed.h"
#include "util/clock.h"

/* 12 independent accumulators cover FMA latency × ports on current cores. */
#define CHAINS 12

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f"))) static void fma512(int64_t iters, float *sink)
{
    __m512 acc[CHAINS];
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++)
        acc[i] = _mm512_set1_ps((float)i);
    for (int64_t it = 0; it < iters; it++)
        for (int i = 0; i < CHAINS; i++)
            acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    for (int i = 1; i < CHAINS; i++)
        acc[0] = _mm512_add_ps(acc[0], acc[i]);
    *sink = _mm512_reduce_add_ps(acc[0]);
}

__attribute__((target("avx2,fma"))) static void fma256(int64_t iters, float *sink)
{
    __m256 acc[CHAINS];
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++)
        acc[i] = _mm256_set1_ps((float)i);
    for (int64_t it = 0; it < iters; it++)
        for (int i = 0; i < CHAINS; i++)
            acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    float out[8];
    for (int i = 1; i < CHAINS; i++)
        acc[0] = _mm256_add_ps(acc[0], acc[i]);
    _mm256_storeu_ps(out, acc[0]);
    *sink = out[0];
}
#endif

static void mul_add(int64_t iters, float *sink)
{
    float acc[4 * 4] = {0};
    for (int64_t it = 0; it < iters; it++)
        for (int i = 0; i < 16; i++)
            acc[i] = acc[i] * 0.999999f + 1e-7f;
    *sink = acc[0] + acc[15];
}

typedef struct peak_job {
    int64_t iters;
    int lanes; /* floats per instruction */
    float sink[256];
} peak_job;

static void peak_thread(void *arg, int ith, int nth)
{
    (void)nth;
    peak_job *j = arg;
    float *sink = &j->sink[(ith % 16) * 16]; /* apart, not to share a line */
#if defined(__x86_64__)
    if (j->lanes == 16)
        fma512(j->iters, sink);
    else if (j->lanes == 8)
        fma256(j->iters, sink);
    else
#endif
        mul_add(j->iters, sink);
}

double heed_peak_flops(heed_pool *pool)
{
    peak_job j = {.iters = 1 << 16, .lanes = 1};
    const char *isa = heed_cpu_isa();
    if (isa[0] == 'a')
        j.lanes = isa[3] == '5' ? 16 : 8;
    const double per_iter = j.lanes == 1 ? 16.0 * 2 : CHAINS * j.lanes * 2.0;
    /* grow the run until it lasts 50 ms, then take the best of three */
    double best = 0.0;
    for (int rep = 0; rep < 3; rep++) {
        for (;;) {
            const double t0 = heed_seconds();
            heed_pool_run(pool, peak_thread, &j);
            const double dt = heed_seconds() - t0;
            if (dt < 0.05 && j.iters < ((int64_t)1 << 40)) {
                j.iters *= 2;
                continue;
            }
            const double rate = per_iter * (double)j.iters * heed_pool_size(pool) / dt;
            best = rate > best ? rate : best;
            break;
        }
    }
    return best;
}
