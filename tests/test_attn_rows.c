/* test_attn_rows.c — the tiled attention operator's inner loops (scores,
 * exp and sum, probabilities × values): every variant against the scalar
 * reference on awkward lengths and head sizes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "testutil.h"

static const char *const isas[] = {"avx2", "avx512"};

static float unif(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return (float)((double)(*s >> 11) * 0x1p-53 * 2.0 - 1.0);
}

Test(attn_rows, variants_match_reference)
{
    static const int lengths[] = {1, 7, 16, 17, 64};
    static const int dims[] = {8, 24, 64, 80, 128};
    const heed_attn_rows *ref = heed_attn_rows_variant("scalar");
    uint64_t seed = 5;
    int checked = 0;
    enum { ROWS = 3, MAXN = 64, MAXD = 128 };
    float q[MAXD], k[MAXN * MAXD], v[MAXN * MAXD], want[MAXN], got[MAXN];
    float p[ROWS * MAXN], o_want[ROWS * MAXD], o_got[ROWS * MAXD];
    for (int i = 0; i < MAXN * MAXD; i++) {
        k[i] = unif(&seed);
        v[i] = unif(&seed);
    }
    for (size_t v_i = 0; v_i < 2; v_i++) {
        const heed_attn_rows *fast = heed_attn_rows_variant(isas[v_i]);
        if (!fast)
            continue;
        for (size_t a = 0; a < 5; a++)
            for (size_t b = 0; b < 5; b++) {
                const int n = lengths[a], d = dims[b];
                for (int i = 0; i < d; i++)
                    q[i] = 3 * unif(&seed);
                ref->scores(q, k, d, n, d, 0.125f, want);
                fast->scores(q, k, d, n, d, 0.125f, got);
                float max = -INFINITY;
                for (int j = 0; j < n; j++) {
                    cr_expect_float_eq(got[j], want[j], 1e-5f * (1 + fabsf(want[j])),
                                       "%s scores n %d d %d", isas[v_i], n, d);
                    max = fmaxf(max, want[j]);
                }
                want[n - 1] = got[n - 1] = -INFINITY; /* a hidden key */
                memcpy(got, want, sizeof(float) * (size_t)n);
                const float sw = ref->exp_sum(want, n, max), sg = fast->exp_sum(got, n, max);
                cr_expect_float_eq(sg, sw, 1e-6f * sw, "%s exp_sum n %d", isas[v_i], n);
                for (int j = 0; j < n; j++)
                    cr_expect_float_eq(got[j], want[j], 2.5e-7f, "%s exp n %d j %d: %g vs %g",
                                       isas[v_i], n, j, got[j], want[j]);
                cr_expect_eq(got[n - 1], 0.0f);
                for (int i = 0; i < ROWS * n; i++)
                    p[i] = (i % 5 == 0) ? 0.0f : fabsf(unif(&seed));
                for (int i = 0; i < ROWS * d; i++)
                    o_want[i] = o_got[i] = unif(&seed);
                ref->pv(o_want, d, p, n, ROWS, v, d, n, d);
                fast->pv(o_got, d, p, n, ROWS, v, d, n, d);
                for (int i = 0; i < ROWS * d; i++)
                    cr_expect_float_eq(o_got[i], o_want[i], 1e-5f * (1 + fabsf(o_want[i])),
                                       "%s pv n %d d %d", isas[v_i], n, d);
                checked++;
            }
    }
    cr_log_info("attention row kernels: %d cases", checked);
}
