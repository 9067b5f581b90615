/* grad_ops.c — decoder operations and their gradients (see grad_ops.h). */
#include "train/grad_ops.h"

#include <math.h>

#include "kernels/ops.h"

/* The attention loops are written as axpys over contiguous rows, which
 * vectorise without reassociating sums; each is built for AVX-512, AVX2
 * and plain x86-64, picked at load time. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SIMD_CLONES
#endif

float grad_rmsnorm_fwd(float *y, const float *x, const float *w, int n, float eps)
{
    double sum = 0.0; /* as heed_rms_norm: the mean in double, the rest in float */
    for (int i = 0; i < n; i++)
        sum += (double)(x[i] * x[i]);
    const float rstd = 1.0f / sqrtf((float)(sum / (double)n) + eps);
    for (int i = 0; i < n; i++)
        y[i] = (x[i] * rstd) * w[i];
    return rstd;
}

void grad_rmsnorm_bwd(float *dx, float *dw, const float *dy, const float *x, const float *w,
                      float rstd, int n)
{
    /* y_i = x_i r w_i with r = (mean(x²)+eps)^-1/2, dr/dx_j = -r³ x_j / n */
    double dot = 0.0;
    for (int i = 0; i < n; i++)
        dot += (double)dy[i] * w[i] * x[i];
    const float c = (float)(dot * rstd * rstd * rstd / n);
    for (int i = 0; i < n; i++) {
        dx[i] += rstd * w[i] * dy[i] - c * x[i];
        if (dw)
            dw[i] += dy[i] * x[i] * rstd;
    }
}

void grad_rope(float *x, int n_heads, int head_dim, const float *cs, int sign)
{
    for (int h = 0; h < n_heads; h++) {
        float *v = x + (int64_t)h * head_dim;
        for (int i = 0; i < head_dim / 2; i++) {
            const float c = cs[2 * i], s = sign * cs[2 * i + 1];
            const float a = v[2 * i], b = v[2 * i + 1];
            v[2 * i] = a * c - b * s;
            v[2 * i + 1] = a * s + b * c;
        }
    }
}

void grad_swiglu_fwd(float *a, const float *g, const float *u, int n)
{
    for (int i = 0; i < n; i++)
        a[i] = heed_silu(g[i]) * u[i];
}

void grad_swiglu_bwd(float *dg, float *du, const float *da, const float *g, const float *u, int n)
{
    for (int i = 0; i < n; i++) {
        const float sig = 1.0f / (1.0f + expf(-g[i]));
        du[i] = da[i] * g[i] * sig;
        dg[i] = da[i] * u[i] * sig * (1.0f + g[i] * (1.0f - sig));
    }
}

static inline void axpy(float *restrict y, float a, const float *restrict x, int n)
{
    for (int i = 0; i < n; i++)
        y[i] += a * x[i];
}

/* kt[d·T + j] = k[j·stride + d]: keys as columns, so that a query's scores
 * are axpys over keys. */
static inline void transpose_head(float *restrict kt, const float *restrict k, int T, int64_t stride,
                                  int D)
{
    for (int j = 0; j < T; j++)
        for (int d = 0; d < D; d++)
            kt[(int64_t)d * T + j] = k[j * stride + d];
}

/* out[j] = Σ_d x[d]·kt[d·T + j] for j < n */
static inline void scores(float *restrict out, const float *restrict x, const float *restrict kt,
                          int T, int n, int D)
{
    for (int j = 0; j < n; j++)
        out[j] = 0.0f;
    for (int d = 0; d < D; d++)
        axpy(out, x[d], kt + (int64_t)d * T, n);
}

SIMD_CLONES
void grad_attn_fwd(float *o, float *P, float *tmp, const float *q, const float *k, const float *v,
                   int T, int64_t stride, int64_t ostride, int D, float scale)
{
    float *kt = tmp;
    transpose_head(kt, k, T, stride, D);
    for (int t = 0; t < T; t++) {
        float *p = P + (int64_t)t * T;
        scores(p, q + t * stride, kt, T, t + 1, D);
        float max = -INFINITY;
        for (int j = 0; j <= t; j++) {
            p[j] *= scale;
            max = p[j] > max ? p[j] : max;
        }
        float sum = 0.0f;
        for (int j = 0; j <= t; j++)
            sum += (p[j] = expf(p[j] - max));
        const float inv = 1.0f / sum;
        float *ot = o + t * ostride;
        for (int d = 0; d < D; d++)
            ot[d] = 0.0f;
        for (int j = 0; j <= t; j++) {
            p[j] *= inv;
            axpy(ot, p[j], v + j * stride, D);
        }
    }
}

SIMD_CLONES
void grad_attn_bwd(float *dq, float *dk, float *dv, float *tmp, const float *dO, const float *P,
                   const float *q, const float *k, const float *v, int T, int64_t stride,
                   int64_t ostride, int D, float scale)
{
    float *vt = tmp, *ds = tmp + (int64_t)D * T;
    transpose_head(vt, v, T, stride, D);
    for (int t = 0; t < T; t++)
        for (int d = 0; d < D; d++)
            dq[t * stride + d] = dk[t * stride + d] = dv[t * stride + d] = 0.0f;
    for (int t = 0; t < T; t++) {
        const float *p = P + (int64_t)t * T, *dot = dO + t * ostride;
        scores(ds, dot, vt, T, t + 1, D); /* dP_tj = dO_t · v_j */
        float sum = 0.0f; /* Σ_j P_tj dP_tj, the softmax's backward term */
        for (int j = 0; j <= t; j++) {
            sum += p[j] * ds[j];
            axpy(dv + j * stride, p[j], dot, D);
        }
        float *dqt = dq + t * stride;
        const float *qt = q + t * stride;
        for (int j = 0; j <= t; j++) {
            const float g = p[j] * (ds[j] - sum) * scale;
            axpy(dqt, g, k + j * stride, D);
            axpy(dk + j * stride, g, qt, D);
        }
    }
}

float grad_xent(float *dlogits, const float *logits, int n, int target, float scale)
{
    float max = -INFINITY;
    for (int i = 0; i < n; i++)
        max = logits[i] > max ? logits[i] : max;
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += exp((double)(logits[i] - max));
    const double lse = max + log(sum);
    const float loss = (float)(lse - logits[target]);
    for (int i = 0; i < n; i++)
        dlogits[i] = scale * (float)exp((double)logits[i] - lse);
    dlogits[target] -= scale;
    return loss;
}
