/* test_attn_rows.c — the tiled attention operator's inner loops (a block
 * of scores, the maximum, exp and sum, probabilities × values): every
 * variant against the scalar reference on awkward lengths, head sizes and
 * row counts; and a score the same bits whatever the rows and keys it is
 * computed with (the capture recomputes rows one at a time). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "testutil.h"

static const heed_isa isas[] = {HEED_ISA_AVX2, HEED_ISA_AVX512};

Test(attn_rows, variants_match_reference)
{
    static const int lengths[] = {1, 7, 16, 17, 64};
    static const int dims[] = {8, 24, 64, 80, 128};
    const heed_attn_rows *ref = heed_attn_rows_variant(HEED_ISA_SCALAR);
    uint64_t seed = 5;
    int checked = 0;
    enum { ROWS = 3, MAXN = 64, MAXD = 128 };
    enum { KN = (MAXN + 1) * (MAXD + 3) }; /* rows with a gap of 3 */
    float q[ROWS * MAXD], k[KN], v[MAXN * MAXD], want[ROWS * MAXN], got[ROWS * MAXN];
    float p[ROWS * MAXN], o_want[ROWS * MAXD], o_got[ROWS * MAXD], one[MAXN];
    static float tmp[HEED_ATTN_BK * MAXD] __attribute__((aligned(64)));
    for (int i = 0; i < KN; i++)
        k[i] = test_unif(&seed);
    for (int i = 0; i < MAXN * MAXD; i++)
        v[i] = test_unif(&seed);
    for (size_t v_i = 0; v_i < 2; v_i++) {
        const heed_attn_rows *fast = heed_attn_rows_variant(isas[v_i]);
        if (!fast)
            continue;
        for (size_t a = 0; a < 5; a++)
            for (size_t b = 0; b < 5; b++) {
                const int n = lengths[a], d = dims[b];
                for (int i = 0; i < ROWS * d; i++)
                    q[i] = 3 * test_unif(&seed);
                ref->qk(q, ROWS, k, d + 3, n, d, 0.125f, want, MAXN, tmp); /* a row gap */
                fast->qk(q, ROWS, k, d + 3, n, d, 0.125f, got, MAXN, tmp);
                for (int r = 0; r < ROWS; r++) {
                    for (int j = 0; j < n; j++)
                        cr_expect_float_eq(got[r * MAXN + j], want[r * MAXN + j],
                                           1e-5f * (1 + fabsf(want[r * MAXN + j])),
                                           "%s scores n %d d %d", heed_isa_name(isas[v_i]), n, d);
                    /* one row, and its keys from 1 on, give the same bits */
                    fast->qk(q + r * d, 1, k + d + 3, d + 3, n - 1, d, 0.125f, one, MAXN, tmp);
                    cr_expect(!memcmp(one, got + r * MAXN + 1, sizeof(float) * (size_t)(n - 1)),
                              "%s scores of row %d alone n %d d %d", heed_isa_name(isas[v_i]), r, n, d);
                }
                const float max = fast->max(got, n);
                cr_expect_eq(max, ref->max(got, n), "%s max n %d", heed_isa_name(isas[v_i]), n);
                want[n - 1] = got[n - 1] = -INFINITY; /* a hidden key */
                memcpy(got, want, sizeof(float) * (size_t)n);
                const float sw = ref->exp_sum(want, n, max), sg = fast->exp_sum(got, n, max);
                cr_expect_float_eq(sg, sw, 1e-6f * sw, "%s exp_sum n %d", heed_isa_name(isas[v_i]), n);
                for (int j = 0; j < n; j++)
                    cr_expect_float_eq(got[j], want[j], 2.5e-7f, "%s exp n %d j %d: %g vs %g",
                                       heed_isa_name(isas[v_i]), n, j, got[j], want[j]);
                cr_expect_eq(got[n - 1], 0.0f);
                for (int i = 0; i < ROWS * n; i++)
                    p[i] = (i % 5 == 0) ? 0.0f : fabsf(test_unif(&seed));
                for (int i = 0; i < ROWS * d; i++)
                    o_want[i] = o_got[i] = test_unif(&seed);
                ref->pv(o_want, d, p, n, ROWS, v, d, n, d);
                fast->pv(o_got, d, p, n, ROWS, v, d, n, d);
                for (int i = 0; i < ROWS * d; i++)
                    cr_expect_float_eq(o_got[i], o_want[i], 1e-5f * (1 + fabsf(o_want[i])),
                                       "%s pv n %d d %d", heed_isa_name(isas[v_i]), n, d);
                checked++;
            }
    }
    cr_log_info("attention row kernels: %d cases", checked);
}
