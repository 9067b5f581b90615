/*
 * grad_ops.h — the operations of a Llama-style decoder with their
 * gradients, one row (or one attention head) at a time, for training.
 *
 * Forward passes compute exactly what heed's inference forward computes
 * (kernels/ops.c), so a trained model's logits in the trainer equal those
 * of its saved GGUF. Backward passes take dL/d(output) and ADD dL/d(input)
 * into their gradient arguments unless a comment says "set", so a value
 * used twice (the residual stream) gathers both gradients.
 */
#ifndef HEED_TRAIN_GRAD_OPS_H
#define HEED_TRAIN_GRAD_OPS_H

#include <stdint.h>

/* y = x · rstd · w, rstd = 1/sqrt(mean(x²) + eps); returns rstd. */
float grad_rmsnorm_fwd(float *y, const float *x, const float *w, int n, float eps);
/* dx += dL/dx; dw (may be NULL) += dL/dw, for one row. */
void grad_rmsnorm_bwd(float *dx, float *dw, const float *dy, const float *x, const float *w,
                      float rstd, int n);

/* The angles that undo heed_rope_apply(…, cs, …) (n_rot / 2 pairs in
 * heed_rope_angles' layout): the sines negated. A rotation's transpose is
 * its inverse, so applying these is RoPE's backward pass. */
void grad_rope_back_angles(float *back, const float *cs, int n_rot);

/* a = silu(g) · u, and its backward (dg, du set). */
void grad_swiglu_fwd(float *a, const float *g, const float *u, int n);
void grad_swiglu_bwd(float *dg, float *du, const float *da, const float *g, const float *u, int n);

/*
 * Causal attention of one head over T tokens: row t of q, k, v (and of
 * dq, dk, dv) starts at t·stride, row t of o (and dO) at t·ostride. P
 * (T×T, row-major) receives the softmax weights, row t over keys 0..t.
 * Backward sets dq, dk, dv. tmp holds GRAD_ATTN_TMP(T, D) floats.
 */
#define GRAD_ATTN_TMP(T, D) ((int64_t)(T) * (6 * (D) + 2 * (T)))
void grad_attn_fwd(float *o, float *P, float *tmp, const float *q, const float *k, const float *v,
                   int T, int64_t stride, int64_t ostride, int D, float scale);
void grad_attn_bwd(float *dq, float *dk, float *dv, float *tmp, const float *dO, const float *P,
                   const float *q, const float *k, const float *v, int T, int64_t stride,
                   int64_t ostride, int D, float scale);

/* Cross-entropy of one row of n logits against target: returns
 * -log softmax(logits)[target] and sets dlogits = scale · (softmax − onehot)
 * (dlogits may be logits). */
float grad_xent(float *dlogits, const float *logits, int n, int target, float scale);

#endif
