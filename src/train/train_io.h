/*
 * train_io.h — a model in training to and from GGUF: the model file
 * (matrices in any type heed writes) and the checkpoint (f32 weights and
 * the AdamW moments, plus where the run stands; itself a loadable model).
 * Both carry the tokenizer and the training.* metadata.
 */
#ifndef HEED_TRAIN_TRAIN_IO_H
#define HEED_TRAIN_TRAIN_IO_H

#include "heed.h"
#include "train/train_model.h"

/* Where a run stands, as stored in training.* keys. */
typedef struct train_info {
    const char *corpus;         /* file name, no directories */
    int64_t corpus_bytes, corpus_tokens;
    int64_t step, n_steps, tokens_seen;
    double train_loss, val_loss, seconds;
} train_info;

/* Writes the model (mom == NULL: matrices in type) or a checkpoint (mom
 * and vel given: everything f32) to path atomically. The tokenizer.*
 * keys are copied from tok. */
heed_status train_save(const train_model *m, const heed_gguf *tok, const heed_train_params *p,
                       const train_info *info, const float *mom, const float *vel, int type,
                       const char *path);

/* Reads a checkpoint's model sizes. */
heed_status train_checkpoint_config(const heed_gguf *g, train_config *cfg);
/* Loads a checkpoint's weights and moments into m (whose sizes must
 * match) and its progress into *step, *tokens_seen, *seconds. */
heed_status train_checkpoint_load(const heed_gguf *g, train_model *m, float *mom, float *vel,
                                  int64_t *step, int64_t *tokens_seen, double *seconds);

#endif
