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

/* The rotation angles of one position: cs[2i] = cos θ_i, cs[2i+1] = sin θ_i
 * for i < n_rot/2, θ_i = pos · freq_scale · base^(-2i/n_rot) / ff[i] (ff,
 * the per-pair frequency factors of Llama 3, may be NULL). θ is formed by
 * repeated multiplication, as llama.cpp does. */
void heed_rope_angles(float *cs, int64_t pos, int n_rot, float base, float freq_scale,
                      const float *ff);

/* Rotates the first n_rot elements of each of n_heads heads of head_dim
 * floats at x. neox: pairs (i, i + n_rot/2); else adjacent pairs (2i, 2i+1). */
void heed_rope_apply(float *x, int n_heads, int head_dim, int n_rot, const float *cs, int neox);

/* x/(1+e^-x), and GELU as llama.cpp computes it: the tanh form, through
 * half precision (f16(gelu(f16(x))) for |x| < 10). */
float heed_silu(float x);
float heed_gelu(float x);

/* In place: x[i] = silu(x[i]) * y[i]  /  gelu(x[i]) * y[i]. */
void heed_silu_mul(float *x, const float *y, int64_t n);
void heed_gelu_mul(float *x, const float *y, int64_t n);

/* In place softmax of n values (max subtracted; sum in double). */
void heed_softmax(float *x, int64_t n);

#endif
