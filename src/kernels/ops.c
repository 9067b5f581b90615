/* ops.c — per-row and element-wise operations (see ops.h). */
#include "kernels/ops.h"

#include <math.h>
#include <pthread.h>

#include "heed.h"

void heed_rms_norm(float *y, const float *x, const float *w, int64_t n, float eps)
{
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)(x[i] * x[i]);
    const float mean = (float)(sum / (double)n);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int64_t i = 0; i < n; i++)
        y[i] = w ? (x[i] * scale) * w[i] : x[i] * scale;
}

void heed_layer_norm(float *y, const float *x, const float *w, const float *b,
                     int64_t n, float eps)
{
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)x[i];
    const float mean = (float)(sum / (double)n);
    double var = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float d = x[i] - mean;
        y[i] = d;
        var += (double)(d * d);
    }
    const float scale = 1.0f / sqrtf((float)(var / (double)n) + eps);
    for (int64_t i = 0; i < n; i++) {
        float v = y[i] * scale;
        if (w)
            v *= w[i];
        if (b)
            v += b[i];
        y[i] = v;
    }
}

void heed_rope_yarn_dims(int n_rot, int n_ctx_orig, float base, float beta_fast,
                         float beta_slow, float dims[2])
{
    /* the dim whose wavelength makes `rotations` turns over n_ctx_orig */
    const float pi = 3.14159265358979323846f;
#define CORR_DIM(rotations) \
    ((float)n_rot * logf((float)n_ctx_orig / ((rotations) * 2 * pi)) / (2 * logf(base)))
    const float start = floorf(CORR_DIM(beta_fast)), end = ceilf(CORR_DIM(beta_slow));
#undef CORR_DIM
    dims[0] = start > 0 ? start : 0;
    dims[1] = end < (float)(n_rot - 1) ? end : (float)(n_rot - 1);
}

void heed_rope_angles(float *cs, int64_t pos, int n_rot, const heed_rope *r)
{
    const float theta_scale = powf(r->base, -2.0f / (float)n_rot);
    float mscale = r->mscale;
    if (r->ext_factor != 0.0f)
        mscale *= 1.0f + 0.1f * logf(1.0f / r->freq_scale);
    float theta = (float)pos;
    for (int i = 0; i < n_rot / 2; i++) {
        const float extrap = r->ff ? theta / r->ff[i] : theta;
        float t = r->freq_scale * extrap;
        if (r->ext_factor != 0.0f) { /* YaRN's ramp: 1 below dims[0], 0 above dims[1] */
            const float lo = r->corr_dims[0], hi = r->corr_dims[1];
            const float y = ((float)i - lo) / (hi - lo > 0.001f ? hi - lo : 0.001f);
            const float mix = (1 - (y < 0 ? 0 : y > 1 ? 1 : y)) * r->ext_factor;
            t = t * (1 - mix) + extrap * mix;
        }
        cs[2 * i] = cosf(t) * mscale;
        cs[2 * i + 1] = sinf(t) * mscale;
        theta *= theta_scale;
    }
}

void heed_rope_apply(float *x, int n_heads, int head_dim, int n_rot, const float *cs, int neox)
{
    const int half = n_rot / 2;
    for (int h = 0; h < n_heads; h++) {
        float *v = x + (int64_t)h * head_dim;
        for (int i = 0; i < half; i++) {
            const int a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
            const float c = cs[2 * i], s = cs[2 * i + 1];
            const float x0 = v[a], x1 = v[b];
            v[a] = x0 * c - x1 * s;
            v[b] = x0 * s + x1 * c;
        }
    }
}

float heed_silu(float x) { return x / (1.0f + expf(-x)); }

static float gelu_tanh(float x)
{
    const float sqrt_2_over_pi = 0.79788456080286535587989211986876f;
    return 0.5f * x * (1.0f + tanhf(sqrt_2_over_pi * x * (1.0f + 0.044715f * x * x)));
}

/* f16(gelu(f16 h)) for every half float h: llama.cpp's table, so a GELU
 * is a lookup, not a tanh (65536 entries, made once). */
static uint16_t gelu_table[65536];
static pthread_once_t gelu_once = PTHREAD_ONCE_INIT;

static void gelu_table_init(void)
{
    for (uint32_t h = 0; h < 65536; h++)
        gelu_table[h] = heed_f32_to_f16(gelu_tanh(heed_f16_to_f32((uint16_t)h)));
}

/* The table's GELU, once the table is made. */
static inline float gelu_lookup(float x)
{
    if (x <= -10.0f)
        return 0.0f;
    if (x >= 10.0f)
        return x;
    return heed_f16_to_f32(gelu_table[heed_f32_to_f16(x)]);
}

void heed_relu_all(float *x, int64_t n)
{
    /* written as runs of 16 so compilers vectorise it: a compare and a
     * mask, no branch on what is a coin flip's sign (NaN gives 0) */
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int k = 0; k < 16; k++)
            x[i + k] = x[i + k] > 0.0f ? x[i + k] : 0.0f;
    for (; i < n; i++)
        x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void heed_gelu_all(float *x, int64_t n)
{
    pthread_once(&gelu_once, gelu_table_init);
    for (int64_t i = 0; i < n; i++)
        x[i] = gelu_lookup(x[i]);
}

void heed_silu_mul(float *x, const float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = heed_silu(x[i]) * y[i];
}

void heed_gelu_mul(float *x, const float *y, int64_t n)
{
    pthread_once(&gelu_once, gelu_table_init);
    for (int64_t i = 0; i < n; i++)
        x[i] = gelu_lookup(x[i]) * y[i];
}

void heed_swiglu_oai_mul(float *x, const float *y, int64_t n)
{
    const float alpha = 1.702f, limit = 7.0f;
    for (int64_t i = 0; i < n; i++) {
        const float g = x[i] < limit ? x[i] : limit;
        const float u = y[i] < -limit ? -limit : y[i] > limit ? limit : y[i];
        x[i] = g / (1.0f + expf(alpha * -g)) * (u + 1.0f);
    }
}

void heed_softmax(float *x, int64_t n)
{
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        if (x[i] > max)
            max = x[i];
    double sum = 0.0;
    for (int64_t i = 0; i < n; i++) {
        const float e = x[i] == -INFINITY ? 0.0f : expf(x[i] - max);
        x[i] = e;
        sum += (double)e;
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++)
        x[i] *= inv;
}
