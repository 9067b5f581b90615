/* adamw.c — AdamW, clipping and the learning-rate schedule (see adamw.h). */
#include "train/adamw.h"

#include <math.h>

double train_lr_at(int64_t step, int64_t n_steps, int warmup, double lr, double min_lr)
{
    if (step < warmup)
        return lr * (double)(step + 1) / warmup;
    if (n_steps <= warmup + 1)
        return lr;
    const double progress = (double)(step - warmup) / (double)(n_steps - 1 - warmup);
    return min_lr + 0.5 * (lr - min_lr) * (1.0 + cos(M_PI * (progress > 1 ? 1 : progress)));
}

double train_grad_norm(const train_model *m)
{
    double s = 0.0;
    for (int64_t i = 0; i < m->n_params; i++)
        s += (double)m->grads[i] * m->grads[i];
    return sqrt(s);
}

void adamw_update(train_model *m, float *mom, float *vel, int64_t t, const adamw_params *p,
                  float grad_scale)
{
    const float b1 = p->beta1, b2 = p->beta2;
    const float c1 = 1.0f / (1.0f - powf(b1, (float)t)), c2 = 1.0f / (1.0f - powf(b2, (float)t));
    for (int i = 0; i < m->n_tensors; i++) {
        const train_tensor *tt = &m->tensors[i];
        const float decay = tt->decay ? p->lr * p->weight_decay : 0.0f;
        float *w = m->params + tt->offset, *g = m->grads + tt->offset;
        float *mt = mom + tt->offset, *vt = vel + tt->offset;
        const int64_t n = tt->rows * tt->cols;
        for (int64_t j = 0; j < n; j++) {
            const float gj = g[j] * grad_scale;
            mt[j] = b1 * mt[j] + (1.0f - b1) * gj;
            vt[j] = b2 * vt[j] + (1.0f - b2) * gj * gj;
            w[j] -= p->lr * (mt[j] * c1) / (sqrtf(vt[j] * c2) + p->eps) + decay * w[j];
        }
    }
}
