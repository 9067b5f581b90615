/*
 * ops.h — the element-wise and per-row operations of a transformer block,
 * in f32, computed as llama.cpp's CPU backend computes them (the fixture
 * README's "numerical details"), so logits can be compared closely.
 */
#ifndef HEED_KERNELS_OPS_H
#define HEED_KERNELS_OPS_H

#include <stdint.h>

/* y = x / sqrt(mean(x²) + eps) * w over n elements (w may be NULL: no
 * weight). The mean is accumulated in double. y may be x. */
void heed_rms_norm(float *y, const float *x, const float *w, int64_t n, float eps);

/* y = (x - mean) / sqrt(var + eps) * w + b (w, b may be NULL). y may be x. */
void heed_layer_norm(float *y, const float *x, const float *w, const float *b,
                     int64_t n, float eps);

/* How a model rotates: pair i's angle at a position is θ_i = pos ·
 * base^(-2i/n_rot) / ff[i] (ff: frequency factors, Llama 3's or
 * LongRoPE's, may be NULL), interpolated as freq_scale · θ_i; YaRN
 * (ext_factor > 0) mixes the unscaled θ_i back in for the pairs below
 * corr_dims (a ramp between them) and raises mscale by 1 + 0.1 ln
 * (1/freq_scale); cos and sin are multiplied by mscale. */
typedef struct heed_rope {
    float base, freq_scale;
    const float *ff;
    float ext_factor, corr_dims[2], mscale;
} heed_rope;

/* Plain RoPE (no scaling) of base. */
static inline heed_rope heed_rope_plain(float base)
{
    return (heed_rope){.base = base, .freq_scale = 1.0f, .mscale = 1.0f};
}

/* YaRN's correction dims for n_rot rotated dims, a model trained on
 * n_ctx_orig positions, and the beta_fast / beta_slow rotations. */
void heed_rope_yarn_dims(int n_rot, int n_ctx_orig, float base, float beta_fast,
                         float beta_slow, float dims[2]);

/* The rotation angles of one position: cs[2i] = cos θ_i, cs[2i+1] = sin θ_i
 * for i < n_rot/2 (scaled by mscale), formed by repeated multiplication,
 * as llama.cpp does. */
void heed_rope_angles(float *cs, int64_t pos, int n_rot, const heed_rope *r);

/* Rotates the first n_rot elements of each of n_heads heads of head_dim
 * floats at x. neox: pairs (i, i + n_rot/2); else adjacent pairs (2i, 2i+1). */
void heed_rope_apply(float *x, int n_heads, int head_dim, int n_rot, const float *cs, int neox);

/* x/(1+e^-x). */
float heed_silu(float x);

/* In place, an ungated FFN's activation: x[i] = max(x[i], 0)  /  gelu(x[i]),
 * GELU as llama.cpp computes it: the tanh form, through half precision
 * (f16(gelu(f16(x))) for |x| < 10). */
void heed_relu_all(float *x, int64_t n);
void heed_gelu_all(float *x, int64_t n);
/* In place: x[i] = silu(x[i]) * y[i]  /  gelu(x[i]) * y[i]. */
void heed_silu_mul(float *x, const float *y, int64_t n);
void heed_gelu_mul(float *x, const float *y, int64_t n);
/* gpt-oss's clamped SwiGLU, as ggml's swiglu_oai (alpha 1.702, limit 7):
 * g = min(x, 7), u = clamp(y, -7, 7), x = g·σ(1.702 g)·(u + 1). */
void heed_swiglu_oai_mul(float *x, const float *y, int64_t n);

/* In place softmax of n values (max subtracted; sum in double). */
void heed_softmax(float *x, int64_t n);

#endif
