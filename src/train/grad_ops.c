/* grad_ops.c — decoder operations and their gradients (see grad_ops.h). */
#include "train/grad_ops.h"

#include <math.h>
#include <string.h>

#include "heed.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"


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

void grad_rope_back_angles(float *back, const float *cs, int n_rot)
{
    for (int i = 0; i < n_rot / 2; i++) {
        back[2 * i] = cs[2 * i];
        back[2 * i + 1] = -cs[2 * i + 1];
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

/* dst[r·dst_stride + c] = src[r·src_stride + c], rows × cols */
static void copy_rows(float *dst, int64_t dst_stride, const float *src, int64_t src_stride,
                      int rows, int cols)
{
    for (int r = 0; r < rows; r++)
        memcpy(dst + r * dst_stride, src + r * src_stride, sizeof(float) * (size_t)cols);
}

/* dst[c·rows + r] = src[r·stride + c]: rows × cols into cols × rows */
static void transpose(float *dst, const float *src, int64_t stride, int rows, int cols)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            dst[(int64_t)c * rows + r] = src[r * stride + c];
}

/* C[n][m] = A[m]·B[n] for m < M, n < N, rows of K floats: heed's f32 matrix
 * kernel, whose register tiles make these small products fast. */
static void gemm_abt(float *C, const float *A, int M, const float *B, int N, int K)
{
    heed_matmul_rows(HEED_TYPE_F32, A, K, 0, M, B, N, C, M);
}

void grad_attn_fwd(float *o, float *P, float *tmp, const float *q, const float *k, const float *v,
                   int T, int64_t stride, int64_t ostride, int D, float scale)
{
    float *qc = tmp, *kc = qc + T * D, *vt = kc + T * D, *oc = vt + T * D;
    copy_rows(qc, D, q, stride, T, D);
    copy_rows(kc, D, k, stride, T, D);
    transpose(vt, v, stride, T, D);
    gemm_abt(P, kc, T, qc, T, D); /* P[t][j] = q_t·k_j, the whole square */
    for (int t = 0; t < T; t++) {
        float *p = P + (int64_t)t * T;
        float max = -INFINITY;
        for (int j = 0; j <= t; j++) {
            p[j] *= scale;
            max = p[j] > max ? p[j] : max;
        }
        float sum = 0.0f;
        for (int j = 0; j <= t; j++)
            sum += (p[j] = expf(p[j] - max));
        const float inv = 1.0f / sum;
        for (int j = 0; j <= t; j++)
            p[j] *= inv;
        for (int j = t + 1; j < T; j++)
            p[j] = 0.0f; /* the mask */
    }
    gemm_abt(oc, vt, D, P, T, T); /* o_t = Σ_j P[t][j] v_j */
    copy_rows(o, ostride, oc, D, T, D);
}

void grad_attn_bwd(float *dq, float *dk, float *dv, float *tmp, const float *dO, const float *P,
                   const float *q, const float *k, const float *v, int T, int64_t stride,
                   int64_t ostride, int D, float scale)
{
    const int64_t TD = (int64_t)T * D;
    float *doc = tmp, *dot = doc + TD, *vc = dot + TD, *kt = vc + TD, *qt = kt + TD;
    float *dc = qt + TD, *ds = dc + TD, *sq = ds + (int64_t)T * T;
    copy_rows(doc, D, dO, ostride, T, D);
    transpose(dot, dO, ostride, T, D);
    copy_rows(vc, D, v, stride, T, D);
    transpose(kt, k, stride, T, D);
    transpose(qt, q, stride, T, D);
    /* dv_j = Σ_t P[t][j] dO_t, from Pᵀ */
    transpose(sq, P, T, T, T);
    gemm_abt(dc, dot, D, sq, T, T);
    copy_rows(dv, stride, dc, D, T, D);
    /* dP[t][j] = dO_t·v_j; dS = P ⊙ (dP − Σ_j P dP) · scale */
    gemm_abt(ds, vc, T, doc, T, D);
    for (int t = 0; t < T; t++) {
        const float *p = P + (int64_t)t * T;
        float *d = ds + (int64_t)t * T, sum = 0.0f;
        for (int j = 0; j <= t; j++)
            sum += p[j] * d[j];
        for (int j = 0; j <= t; j++)
            d[j] = p[j] * (d[j] - sum) * scale;
        for (int j = t + 1; j < T; j++)
            d[j] = 0.0f;
    }
    gemm_abt(dc, kt, D, ds, T, T); /* dq_t = Σ_j dS[t][j] k_j */
    copy_rows(dq, stride, dc, D, T, D);
    transpose(sq, ds, T, T, T);
    gemm_abt(dc, qt, D, sq, T, T); /* dk_j = Σ_t dS[t][j] q_t */
    copy_rows(dk, stride, dc, D, T, D);
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
