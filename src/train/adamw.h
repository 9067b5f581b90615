/* adamw.h — the optimiser: AdamW with decoupled weight decay, global
 * gradient-norm clipping, and the warmup + cosine learning-rate schedule. */
#ifndef HEED_TRAIN_ADAMW_H
#define HEED_TRAIN_ADAMW_H

#include <stdint.h>

#include "train/train_model.h"

typedef struct adamw_params {
    float lr, beta1, beta2, eps, weight_decay;
} adamw_params;

/* The learning rate of step (0-based) of n_steps: linear warmup from
 * lr/warmup to lr, then a cosine from lr down to min_lr at the end. */
double train_lr_at(int64_t step, int64_t n_steps, int warmup, double lr, double min_lr);

/* The L2 norm of the gradient vector. */
double train_grad_norm(const train_model *m);

/*
 * One AdamW update of m->params from m->grads, first scaled by
 * grad_scale (clipping); m and v are the moment vectors (n_params each),
 * t the 1-based count of updates for the bias correction. Weight decay
 * applies to the tensors marked decay.
 */
void adamw_update(train_model *m, float *mom, float *vel, int64_t t, const adamw_params *p,
                  float grad_scale);

#endif
