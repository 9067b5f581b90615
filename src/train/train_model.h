/*
 * train_model.h — a Llama-style decoder being trained: its parameters,
 * gradients and saved activations, and the forward and backward passes
 * over a batch of token sequences, on a thread pool.
 *
 * Parameters live in one float array (so the optimiser, clipping and
 * checkpoints see one vector), as these tensors:
 *   token_embd [V][E] (also the output matrix: tied)
 *   per layer: attn_norm [E], qkv [3E][E] (q, k, v rows), attn_output [E][E],
 *              ffn_norm [E], gate_up [2F][E] (gate, up rows), ffn_down [E][F]
 *   output_norm [E]
 * q, k, v and gate, up are stacked so that one matrix product computes
 * them and one computes their input's gradient.
 */
#ifndef HEED_TRAIN_TRAIN_MODEL_H
#define HEED_TRAIN_TRAIN_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "heed.h"
#include "kernels/pool.h"

typedef struct train_config {
    int n_vocab, n_ctx, n_embd, n_layer, n_head, n_ff;
    float rope_base, norm_eps;
} train_config;

/* One parameter tensor: rows × cols floats at offset in the vector. */
typedef struct train_tensor {
    char name[48];
    int64_t offset, rows, cols; /* cols = ne0; rows = 1 for vectors */
    bool decay;                 /* matrices get weight decay, norms do not */
} train_tensor;

typedef struct train_model {
    train_config cfg;
    int64_t n_params;
    int n_tensors;
    train_tensor *tensors;
    float *params, *grads;
    /* batch geometry the activations were sized for */
    int batch, seq;
    heed_pool *pool;
    struct train_acts *acts;
} train_model;

/* Checks a configuration: sizes positive, heads divide the width into
 * even head sizes, and so on. */
heed_status train_config_check(const train_config *cfg);
/* Parameter count and the bytes train_model_new will hold for a batch. */
int64_t train_config_params(const train_config *cfg);
int64_t train_model_bytes(const train_config *cfg, int batch, int seq);

/* A model with random initial weights (seeded), able to run batches of
 * `batch` sequences of `seq` ≤ n_ctx tokens, on n_threads. */
heed_status train_model_new(const train_config *cfg, int batch, int seq, uint64_t seed,
                            int n_threads, train_model **out);
void train_model_free(train_model *m);

/*
 * Forward pass over batch × seq tokens (row b·seq + t is token t of
 * sequence b; n_seqs ≤ batch sequences are used) that keeps what the
 * backward pass needs. With targets, returns the summed cross-entropy in
 * *loss and, if backward, adds d(loss · grad_scale)/dθ into m->grads.
 * logits (may be NULL) receives [n_seqs·seq][V] logits (forward only).
 */
heed_status train_model_step(train_model *m, const int32_t *tokens, const int32_t *targets,
                             int n_seqs, bool backward, float grad_scale, double *loss,
                             float *logits);

void train_model_zero_grads(train_model *m);

#endif
