/*
 * heads_t5.c — `heed heads` on an encoder-decoder (T5): the prompt is
 * encoded (the source), the decoder runs greedily from its start token
 * for as many tokens as the source has (at most 64: targets to align),
 * and each head of each of its three attentions is measured — the
 * encoder's and the decoder's self-attention as a decoder-only model's
 * (heed_capture_head_stats), cross-attention by its alignment: entropy
 * over the source and monotonicity (heed_capture_cross_stats).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "cli_error.h"

enum { MAX_TARGETS = 64 };

/* Encodes src with enc and cross attached, and decodes n_tgt greedy
 * tokens after the start token into tgt[0..n_tgt) with dec attached. */
static heed_status decode(const heed_model *m, const int32_t *src, int n_src, int32_t *tgt,
                          int n_tgt, heed_capture *caps[3])
{
    heed_context_params cp = heed_context_default_params();
    cp.n_ctx = n_src > n_tgt ? n_src : n_tgt;
    heed_context *c = NULL;
    heed_sampler *greedy = NULL;
    heed_sampler_params sp = heed_sampler_default_params();
    sp.temp = 0;
    const int32_t V = heed_model_n_vocab(m);
    float *logits = malloc(sizeof *logits * (size_t)V);
    heed_status st = logits ? heed_context_new(m, &cp, &c)
                            : cli_set_error(HEED_ERR_NOMEM, "out of memory");
    if (!st)
        st = heed_sampler_new(&sp, V, &greedy);
    for (int k = 0; !st && k < 3; k++)
        heed_context_set_capture(c, caps[k]);
    if (!st)
        st = heed_context_encode(c, src, n_src);
    tgt[0] = heed_model_decoder_start(m);
    for (int t = 0; !st && t < n_tgt; t++) {
        if (t > 0)
            tgt[t] = heed_sampler_sample(greedy, logits);
        st = heed_context_eval(c, tgt + t, 1, logits, false);
    }
    heed_sampler_free(greedy);
    heed_context_free(c);
    free(logits);
    return st;
}

static heed_status print_self(const heed_model *m, const char *what, const heed_capture *cap,
                              const int32_t *ids, int n)
{
    printf("%s self-attention (%d tokens)\nlayer head  entropy    prev    sink    self\n",
           what, n);
    for (int l = 0; l < heed_model_n_layer(m); l++)
        for (int h = 0; h < heed_model_n_head(m); h++) {
            heed_head_stats s;
            heed_status st = heed_capture_head_stats(cap, l, h, ids, n, &s);
            if (st)
                return st;
            printf("%5d %4d  %7.3f  %6.3f  %6.3f  %6.3f\n", l, h, s.entropy, s.prev_token,
                   s.sink, s.self);
        }
    return HEED_OK;
}

heed_status heads_t5(const heed_model *m, const int32_t *src, int n_src)
{
    const int n_tgt = n_src < MAX_TARGETS ? n_src : MAX_TARGETS;
    int32_t tgt[MAX_TARGETS];
    heed_capture *caps[3] = {NULL, NULL, NULL};
    heed_status st = HEED_OK;
    for (int k = 0; !st && k < 3; k++) {
        heed_capture_params p = heed_capture_default_params(k == HEED_ATTN_ENCODER ? n_src
                                                                                   : n_tgt);
        p.kind = (heed_attn_kind)k;
        p.n_keys = k == HEED_ATTN_CROSS ? n_src : 0;
        st = heed_capture_new(m, &p, &caps[k]);
    }
    if (!st)
        st = decode(m, src, n_src, tgt, n_tgt, caps);
    if (!st)
        st = print_self(m, "encoder", caps[HEED_ATTN_ENCODER], src, n_src);
    if (!st)
        st = print_self(m, "\ndecoder", caps[HEED_ATTN_SELF], tgt, n_tgt);
    if (!st)
        printf("\ncross-attention (%d target tokens over %d source tokens)\n"
               "layer head  entropy  monotonicity\n", n_tgt, n_src);
    for (int l = 0; !st && l < heed_model_n_layer(m); l++)
        for (int h = 0; !st && h < heed_model_n_head(m); h++) {
            heed_cross_stats x;
            if (!(st = heed_capture_cross_stats(caps[HEED_ATTN_CROSS], l, h, n_tgt, &x)))
                printf("%5d %4d  %7.3f  %12.3f\n", l, h, x.entropy, x.monotonicity);
        }
    for (int k = 0; k < 3; k++)
        heed_capture_free(caps[k]);
    return st;
}
