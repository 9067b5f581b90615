/* test_kernels.c — every fast kernel against the scalar reference, on
 * random inputs of awkward sizes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heed.h"
#include "kernels/kernels.h"
#include "kernels/ops.h"
#include "testutil.h"

static const heed_isa isas[] = {HEED_ISA_AVX2, HEED_ISA_AVX512};
static const int64_t sizes[] = {0, 1, 7, 8, 15, 16, 17, 31, 33, 63, 64, 100, 255, 1000, 4099};

Test(kernels, dot_f32_matches_reference)
{
    heed_dot_f32_fn ref = heed_dot_f32_variant(HEED_ISA_SCALAR);
    uint64_t seed = 1;
    float *x = malloc(4099 * sizeof *x), *y = malloc(4099 * sizeof *y);
    for (int i = 0; i < 4099; i++) {
        x[i] = test_unif(&seed);
        y[i] = test_unif(&seed);
    }
    for (size_t k = 0; k < sizeof isas / sizeof *isas; k++) {
        heed_dot_f32_fn fn = heed_dot_f32_variant(isas[k]);
        if (!fn)
            continue; /* this CPU lacks it */
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            int64_t n = sizes[s];
            double exact = 0, abs_sum = 0;
            for (int64_t i = 0; i < n; i++) {
                exact += (double)x[i] * y[i];
                abs_sum += fabs((double)x[i] * y[i]);
            }
            /* Summation order differs; both stay within n·eps·Σ|xy| of the
             * exact sum (the standard bound for float summation). */
            double bound = (double)n * 6e-8 * abs_sum + 1e-30;
            cr_expect_leq(fabs(fn(x, y, n) - exact), bound, "%s n=%lld", heed_isa_name(isas[k]), (long long)n);
            cr_expect_leq(fabs(ref(x, y, n) - exact), bound, "scalar n=%lld", (long long)n);
        }
    }
    free(x);
    free(y);
}

Test(kernels, f16_row_matches_reference_bit_for_bit)
{
    heed_f16_row_fn ref = heed_f16_to_f32_row_variant(HEED_ISA_SCALAR);
    uint16_t *h = malloc(65536 * sizeof *h);
    float *a = malloc(65536 * sizeof *a), *b = malloc(65536 * sizeof *b);
    for (int i = 0; i < 65536; i++)
        h[i] = (uint16_t)i; /* every half float, NaNs and subnormals included */
    for (size_t k = 0; k < sizeof isas / sizeof *isas; k++) {
        heed_f16_row_fn fn = heed_f16_to_f32_row_variant(isas[k]);
        if (!fn)
            continue;
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            fn(h + 3, a, sizes[s]);
            ref(h + 3, b, sizes[s]);
            cr_expect_arr_eq(a, b, (size_t)sizes[s] * sizeof *a, "%s n=%lld", heed_isa_name(isas[k]),
                             (long long)sizes[s]);
        }
        fn(h, a, 65536);
        ref(h, b, 65536);
        cr_expect_arr_eq(a, b, sizeof *a * 65536, "%s all halves", heed_isa_name(isas[k]));
    }
    free(h);
    free(a);
    free(b);
}

/* ReLU in runs of 16 and a tail: x where x > 0, else +0 (from -0, a
 * negative, -inf and NaN alike), bit for bit. */
Test(kernels, relu_in_runs_and_tail)
{
    static const float special[] = {-0.0f, 0.0f, NAN, -NAN, INFINITY, -INFINITY, 1e-45f, -1e-45f};
    uint64_t seed = 3;
    float *x = malloc(4099 * sizeof *x), *want = malloc(4099 * sizeof *want);
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        const int64_t n = sizes[s];
        for (int64_t i = 0; i < n; i++) {
            x[i] = i % 5 ? test_unif(&seed) : special[(i / 5) % 8];
            want[i] = x[i] > 0.0f ? x[i] : 0.0f;
        }
        heed_relu_all(x, n);
        cr_expect_arr_eq(x, want, (size_t)n * sizeof *x, "n=%lld", (long long)n);
    }
    free(x);
    free(want);
}

Test(kernels, isa_override_lowers_choice)
{
    const char *isa = heed_cpu_isa();
    cr_expect(strcmp(isa, "scalar") == 0 || strcmp(isa, "avx2") == 0 ||
              strcmp(isa, "avx512") == 0);
    const heed_cpu *cpu = heed_cpu_get();
    if (strcmp(isa, "avx512") == 0)
        cr_expect(cpu->avx512f && cpu->avx2);
    if (strcmp(isa, "avx2") == 0)
        cr_expect(cpu->avx2 && cpu->fma);
}
