/*
 * moe.c — a mixture-of-experts FFN, as llama.cpp computes it: each token's
 * router logits, softmax over every expert, the n_used most probable
 * chosen (their probabilities renormalised to sum 1 where the
 * architecture says; gpt-oss: the largest logits chosen, their weights a
 * softmax over those alone), each chosen expert's gated FFN, and the outputs
 * summed in choice order, each scaled by its weight; then a shared expert
 * (qwen2moe) every token takes, scaled by a sigmoid gate of its own.
 *
 * Tokens are grouped by expert, so each expert multiplies all of its
 * tokens at once and an expert no token chose is never read: one decode
 * step reads n_used experts' matrices of n_expert.
 */
#include <math.h>
#include <string.h>

#include "attn/capture.h"
#include "kernels/ops.h"
#include "model/context.h"

/* The n_used largest of p[0..n) (ties to the lower index), largest
 * first; should NaNs leave fewer, the lowest indices not chosen follow. */
static void top_experts(const float *p, int n, int n_used, int32_t *chosen)
{
    int k = heed_top_k(p, n, n_used, chosen);
    for (int e = 0; k < n_used && e < n; e++) {
        bool taken = false;
        for (int j = 0; j < k && !taken; j++)
            taken = chosen[j] == e;
        if (!taken)
            chosen[k++] = e;
    }
}

void heed_moe_ffn(heed_context *c, int il, int n)
{
    const heed_model *m = c->m;
    const heed_layer *L = &m->layers[il];
    const int64_t E = m->hp.n_embd;
    const int NE = m->hp.n_expert, NU = m->hp.n_expert_used;

    /* route: the choices of token t are moe_gate[t*NU + k] of expert chosen[k] */
    heed_forward_matmul(c, &L->router, c->h, n, c->moe_logits);
    const bool chosen_softmax = m->arch->moe_softmax_chosen;
    int32_t *counts = c->moe_count;
    memset(counts, 0, sizeof *counts * (size_t)(NE + 1));
    for (int t = 0; t < n; t++) {
        float *p = c->moe_logits + (int64_t)t * NE, *w = c->moe_gate + (int64_t)t * NU;
        int32_t *chosen = c->moe_slot + (int64_t)t * NU; /* the experts, for now */
        for (int e = 0; L->router_b && e < NE; e++)
            p[e] += L->router_b[e];
        if (!chosen_softmax)
            heed_softmax(p, NE);
        top_experts(p, NE, NU, chosen);
        double sum = 0;
        for (int k = 0; k < NU; k++) {
            w[k] = p[chosen[k]];
            sum += w[k];
        }
        if (chosen_softmax)
            heed_softmax(w, NU);
        for (int k = 0; k < NU && m->arch->moe_renorm; k++)
            w[k] /= (float)sum;
        if (c->capture)
            heed_capture_store_route(c->capture, il, (int64_t)c->n_past + t, chosen, w);
        for (int k = 0; k < NU; k++)
            counts[chosen[k] + 1]++;
    }
    /* rows of moe_y by expert: expert e's from counts[e] on */
    for (int e = 0; e < NE; e++)
        counts[e + 1] += counts[e];
    for (int t = 0; t < n; t++)
        for (int k = 0; k < NU; k++) {
            const int row = counts[c->moe_slot[t * NU + k]]++;
            c->moe_slot[t * NU + k] = row;
            c->moe_token[row] = t;
        }
    /* counts[e] is now where expert e's rows end */
    for (int e = 0, begin = 0; e < NE; begin = counts[e++]) {
        const int rows = counts[e] - begin;
        if (!rows)
            continue;
        for (int r = 0; r < rows; r++)
            memcpy(c->moe_in + r * E, c->h + c->moe_token[begin + r] * E, sizeof(float) * (size_t)E);
        const heed_weight *x = L->experts + 3 * e;
        const int64_t FE = x->n_out;
        const heed_ffn f = {x, x + 1, x + 2, m->arch->ffn,
                            L->exp_gate_b ? L->exp_gate_b + e * FE : NULL,
                            L->exp_up_b ? L->exp_up_b + e * FE : NULL,
                            L->exp_down_b ? L->exp_down_b + e * E : NULL};
        heed_forward_gated_ffn(c, &f, c->moe_in, rows, c->moe_y + begin * E);
    }

    /* the shared expert's gates before h is overwritten, its outputs in moe_in */
    float *sh_gate = c->moe_logits; /* the probabilities are no longer needed */
    if (L->sh_gate_inp) {
        for (int t = 0; t < n; t++) {
            float dot = 0;
            for (int64_t i = 0; i < E; i++)
                dot += L->sh_gate_inp[i] * c->h[t * E + i];
            sh_gate[t] = 1.0f / (1.0f + expf(-dot));
        }
        const heed_ffn f = {.gate = &L->sh_gate, .up = &L->sh_up, .down = &L->sh_down,
                            .act = m->arch->ffn};
        heed_forward_gated_ffn(c, &f, c->h, n, c->moe_in);
    }
    for (int t = 0; t < n; t++) {
        float *out = c->h + t * E;
        for (int k = 0; k < NU; k++) {
            const float w = c->moe_gate[t * NU + k], *y = c->moe_y + c->moe_slot[t * NU + k] * E;
            for (int64_t i = 0; i < E; i++)
                out[i] = k ? out[i] + y[i] * w : y[i] * w;
        }
        for (int64_t i = 0; L->sh_gate_inp && i < E; i++)
            out[i] += c->moe_in[t * E + i] * sh_gate[t];
    }
}
