/*
 * lib/layers/gru.c -- GRU(units, activation='tanh',
 * recurrent_activation='sigmoid', use_bias, reset_after=True,
 * return_sequences, go_backwards, dropout, recurrent_dropout).
 *
 * Keras's gate order z, r, h in every weight: kernel (input_dim, 3*units),
 * recurrent_kernel (units, 3*units). With x_* = x_t W_* + b_in_*:
 *
 *   reset_after=True (Keras 2.x/3 default, cuDNN and PyTorch's form),
 *   bias (2, 3*units) = (input bias, recurrent bias):
 *     z = ra(x_z + h~ U_z + b_rec_z)    r = ra(x_r + h~ U_r + b_rec_r)
 *     g = a(x_h + r * (h~ U_h + b_rec_h))
 *   reset_after=False (Keras 1 / early 2), bias (3*units,):
 *     z = ra(x_z + h~ U_z)   r = ra(x_r + h~ U_r)   g = a(x_h + (r * h~) U_h)
 *   both:
 *     h_t = z * h~ + (1 - z) * g
 *
 * h~ is h_{t-1} times the recurrent dropout mask; Keras mixes the dropped
 * state into h_t too (both Keras 2's implementation 2 and Keras 3), and so
 * do we. PyTorch's GRU is reset_after=True with gate order r, z, n.
 *
 * Per step the aux row keeps h~ U_h + b_rec_h (reset_after) or r * h~
 * (reset before): what backward needs for dr and for dU_h.
 */
#include <string.h>

#include "layers/rnn_common.h"

/* Each real row is a few passes over contiguous arrays, which vectorize;
 * element by element they are the formulas above. */
SN_RNN_CLONES void sn_gru_step_forward(const sn_rnn_run *r, const sn_rnn_step *st)
{
    const sn_rnn_config *c = r->c;
    size_t H = (size_t)r->units, GH = 3 * H, j;
    const float *b_rec = (c->reset_after && r->bias != NULL) ? r->bias + GH : NULL;
    int act = c->act, ract = c->rec_act;
    int32_t b;

    /* reset_after: one product for all three gates; else z, r first. */
    sn_rnn_recurrent_product(r, st->h_rec, st->ld_rec, 0, c->reset_after ? 3 * r->units
                                                                         : 2 * r->units,
                             r->rec, GH);
    for (b = 0; b < r->batch; b++) {
        float *g = sn_rnn_gate_row(r, b, st->t), *aux = st->aux + (size_t)b * st->ld_aux;
        const float *rec = r->rec + (size_t)b * GH, *hr = st->h_rec + (size_t)b * st->ld_rec;
        float *h = st->h_out + (size_t)b * H;
        if (!sn_rnn_real(r, b, st->t)) {
            memcpy(h, st->h_prev + (size_t)b * H, H * sizeof *h);
            memset(aux, 0, H * sizeof *aux);
            continue;
        }
        /* z and r */
        if (b_rec != NULL)
            for (j = 0; j < 2 * H; j++)
                g[j] = g[j] + rec[j] + b_rec[j];
        else
            for (j = 0; j < 2 * H; j++)
                g[j] = g[j] + rec[j];
        sn_rnn_act_row(ract, g, 2 * H);
        if (!c->reset_after) {
            for (j = 0; j < H; j++)
                aux[j] = g[H + j] * hr[j];
            continue;
        }
        /* the candidate: a(x_h + r * (h~ U_h + b_rec_h)) */
        if (b_rec != NULL)
            for (j = 0; j < H; j++)
                aux[j] = rec[2 * H + j] + b_rec[2 * H + j];
        else
            for (j = 0; j < H; j++)
                aux[j] = rec[2 * H + j];
        for (j = 0; j < H; j++)
            g[2 * H + j] = g[2 * H + j] + g[H + j] * aux[j];
        sn_rnn_act_row(act, g + 2 * H, H);
        for (j = 0; j < H; j++)
            h[j] = g[j] * hr[j] + (1.0f - g[j]) * g[2 * H + j];
    }
    if (c->reset_after)
        return;
    /* The candidate's recurrent product sees r * h~. */
    sn_rnn_recurrent_product(r, st->aux, st->ld_aux, 2 * r->units, r->units, r->rec + 2 * H,
                             GH);
    for (b = 0; b < r->batch; b++) {
        float *g = sn_rnn_gate_row(r, b, st->t);
        const float *rec = r->rec + (size_t)b * GH, *hr = st->h_rec + (size_t)b * st->ld_rec;
        float *h = st->h_out + (size_t)b * H;
        if (!sn_rnn_real(r, b, st->t))
            continue;
        for (j = 0; j < H; j++)
            g[2 * H + j] = g[2 * H + j] + rec[2 * H + j];
        sn_rnn_act_row(act, g + 2 * H, H);
        for (j = 0; j < H; j++)
            h[j] = g[j] * hr[j] + (1.0f - g[j]) * g[2 * H + j];
    }
}

/* The first backward pass over one real row with Keras's default
 * activations (tanh, sigmoid): the derivatives written out, so the loop
 * vectorizes; the same arithmetic, in the same order, as the general loop. */
SN_RNN_CLONES static void row_backward_tanh_sigmoid(size_t H, int reset_after,
                                                    float *restrict g, float *restrict aux,
                                                    const float *restrict hr,
                                                    const float *restrict dh,
                                                    float *restrict direct)
{
    size_t j;
    if (reset_after) {
        for (j = 0; j < H; j++) {
            float z = g[j], rg = g[H + j], cand = g[2 * H + j];
            float d_cand = dh[j] * (1.0f - z) * (1.0f - cand * cand);
            g[j] = dh[j] * (hr[j] - cand) * (z * (1.0f - z));
            g[2 * H + j] = d_cand;
            direct[j] = dh[j] * z;
            g[H + j] = d_cand * aux[j] * (rg * (1.0f - rg));
            aux[j] = d_cand * rg;
        }
        return;
    }
    for (j = 0; j < H; j++) {
        float z = g[j], cand = g[2 * H + j];
        float d_cand = dh[j] * (1.0f - z) * (1.0f - cand * cand);
        g[j] = dh[j] * (hr[j] - cand) * (z * (1.0f - z));
        g[2 * H + j] = d_cand;
        direct[j] = dh[j] * z;
    }
}

void sn_gru_step_backward(sn_rnn_run *r, const sn_rnn_step *st)
{
    const sn_rnn_config *c = r->c;
    size_t H = (size_t)r->units, GH = 3 * H, j;
    int act = c->act, ract = c->rec_act;
    int32_t b;

    /* z and the candidate first; r where its input is known. r->tmp collects
     * the direct paths into h~ (the mix z * h~, and r * dq before reset). */
    for (b = 0; b < r->batch; b++) {
        float *g = sn_rnn_gate_row(r, b, st->t), *aux = st->aux + (size_t)b * st->ld_aux;
        const float *hr = st->h_rec + (size_t)b * st->ld_rec, *dh = r->dh + (size_t)b * H;
        float *direct = r->tmp + (size_t)b * H;
        if (!sn_rnn_real(r, b, st->t)) {
            memset(g, 0, GH * sizeof *g);
            memset(aux, 0, H * sizeof *aux);
            continue;
        }
        if (act == SN_ACT_TANH && ract == SN_ACT_SIGMOID) {
            row_backward_tanh_sigmoid(H, c->reset_after, g, aux, hr, dh, direct);
            continue;
        }
        for (j = 0; j < H; j++) {
            float z = g[j], rg = g[H + j], cand = g[2 * H + j];
            float d_cand = dh[j] * (1.0f - z) * sn_rnn_act_grad(act, cand);
            g[j] = dh[j] * (hr[j] - cand) * sn_rnn_act_grad(ract, z);
            g[2 * H + j] = d_cand;
            direct[j] = dh[j] * z;
            if (c->reset_after) {
                g[H + j] = d_cand * aux[j] * sn_rnn_act_grad(ract, rg);
                aux[j] = d_cand * rg; /* dZ of the candidate's recurrent product */
            }
        }
    }
    if (!c->reset_after) {
        /* dq = dZ_h U_h^T is the gradient of r * h~. */
        float *dq = r->dh_prev;
        sn_rnn_recurrent_back(r, sn_rnn_gate_row(r, 0, st->t) + 2 * H, GH, 2 * r->units,
                              r->units, dq, 0);
        for (b = 0; b < r->batch; b++) {
            float *g = sn_rnn_gate_row(r, b, st->t), *direct = r->tmp + (size_t)b * H;
            const float *hr = st->h_rec + (size_t)b * st->ld_rec, *q = dq + (size_t)b * H;
            if (!sn_rnn_real(r, b, st->t))
                continue;
            for (j = 0; j < H; j++) {
                float rg = g[H + j];
                g[H + j] = q[j] * hr[j] * sn_rnn_act_grad(ract, rg);
                direct[j] += q[j] * rg;
            }
        }
        sn_rnn_recurrent_back(r, sn_rnn_gate_row(r, 0, st->t), GH, 0, 2 * r->units,
                              r->dh_prev, 0);
    } else {
        sn_rnn_recurrent_back(r, sn_rnn_gate_row(r, 0, st->t), GH, 0, 2 * r->units,
                              r->dh_prev, 0);
        sn_rnn_recurrent_back(r, st->aux, st->ld_aux, 2 * r->units, r->units, r->dh_prev, 1);
    }
    sn_rnn_finish_dh_prev(r, st, r->tmp);
}

static const int32_t gru_allowed[] = {SEQNET_OPT_UNITS,
                                      SEQNET_OPT_ACTIVATION,
                                      SEQNET_OPT_RECURRENT_ACTIVATION,
                                      SEQNET_OPT_USE_BIAS,
                                      SEQNET_OPT_RESET_AFTER,
                                      SEQNET_OPT_RETURN_SEQUENCES,
                                      SEQNET_OPT_GO_BACKWARDS, SEQNET_OPT_STATEFUL, SEQNET_OPT_RETURN_STATE,
                                      SEQNET_OPT_DROPOUT,
                                      SEQNET_OPT_RECURRENT_DROPOUT,
                                      SEQNET_OPT_TRAINABLE,
                                      0};

const sn_layer_ops sn_gru_ops = {
    .kind = SEQNET_LAYER_GRU,
    .class_name = "GRU",
    .auto_name = "gru",
    .min_inputs = 1,
    .max_inputs = 2, /* + initial_state */
    .mask_mode = SN_MASK_PRODUCE, /* the input's mask when returning sequences, else none */
    .config_size = sizeof(sn_rnn_config),
    .allowed_opts = gru_allowed,
    .configure = sn_rnn_layer_configure,
    .infer = sn_rnn_layer_infer,
    .declare_params = sn_rnn_layer_declare,
    .scratch_size = sn_rnn_layer_scratch,
    .forward = sn_rnn_layer_forward,
    .backward = sn_rnn_layer_backward,
    .state_size = sn_rnn_layer_state_size,
};
