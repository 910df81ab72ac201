/*
 * lib/layers/simple_rnn.c -- SimpleRNN(units, activation='tanh', use_bias,
 * return_sequences, go_backwards, dropout, recurrent_dropout).
 *
 *   h_t = activation(x_t W + h~_{t-1} U + b),   h~ = h * recurrent keep-mask
 *
 * Weights as Keras stores them: kernel (input_dim, units), recurrent_kernel
 * (units, units), bias (units,). The time loop, masks and the big GEMMs are
 * in rnn_common.c; this file is the cell's fused element-wise pass.
 */
#include <string.h>

#include "layers/rnn_common.h"

SN_RNN_CLONES void sn_simple_rnn_step_forward(const sn_rnn_run *r, const sn_rnn_step *st)
{
    size_t H = (size_t)r->units, j;
    int32_t b;
    sn_rnn_recurrent_product(r, st->h_rec, st->ld_rec, 0, r->units, r->rec, H);
    if (r->mask == NULL) {
        /* Every row is real, and the step's gate rows are one block
         * (time-major): one fused pass over [B, H]. */
        size_t n = (size_t)r->batch * H;
        const float *pre = sn_rnn_gate_row(r, 0, st->t);
        float *h = st->h_out;
        for (j = 0; j < n; j++)
            h[j] = pre[j] + r->rec[j];
        sn_rnn_act_row(r->c->act, h, n);
        return;
    }
    for (b = 0; b < r->batch; b++) {
        const float *pre = sn_rnn_gate_row(r, b, st->t), *rec = r->rec + (size_t)b * H;
        float *h = st->h_out + (size_t)b * H;
        if (!sn_rnn_real(r, b, st->t)) {
            memcpy(h, st->h_prev + (size_t)b * H, H * sizeof *h);
            continue;
        }
        for (j = 0; j < H; j++)
            h[j] = pre[j] + rec[j];
        sn_rnn_act_row(r->c->act, h, H);
    }
}

void sn_simple_rnn_step_backward(sn_rnn_run *r, const sn_rnn_step *st)
{
    size_t H = (size_t)r->units;
    int32_t b = 0;
    if (r->mask == NULL) {
        /* One pass over the step's block of gate rows. */
        size_t n = (size_t)r->batch * H;
        float *dz = sn_rnn_gate_row(r, 0, st->t);
        memcpy(dz, r->dh, n * sizeof *dz);
        sn_rnn_mul_act_grad(r->c->act, st->h_out, dz, n);
        b = r->batch;
    }
    for (; b < r->batch; b++) {
        float *dz = sn_rnn_gate_row(r, b, st->t);
        const float *h = st->h_out + (size_t)b * H, *dh = r->dh + (size_t)b * H;
        if (!sn_rnn_real(r, b, st->t)) {
            memset(dz, 0, H * sizeof *dz);
            continue;
        }
        memcpy(dz, dh, H * sizeof *dz);
        sn_rnn_mul_act_grad(r->c->act, h, dz, H);
    }
    sn_rnn_recurrent_back(r, sn_rnn_gate_row(r, 0, st->t), H, 0, r->units, r->dh_prev, 0);
    sn_rnn_finish_dh_prev(r, st, NULL);
}

static const int32_t simple_rnn_allowed[] = {
    SEQNET_OPT_UNITS,       SEQNET_OPT_ACTIVATION,   SEQNET_OPT_USE_BIAS,
    SEQNET_OPT_RETURN_SEQUENCES, SEQNET_OPT_GO_BACKWARDS, SEQNET_OPT_STATEFUL, SEQNET_OPT_RETURN_STATE, SEQNET_OPT_DROPOUT,
    SEQNET_OPT_RECURRENT_DROPOUT, SEQNET_OPT_TRAINABLE, 0};

const sn_layer_ops sn_simple_rnn_ops = {
    .kind = SEQNET_LAYER_SIMPLE_RNN,
    .class_name = "SimpleRNN",
    .auto_name = "simple_rnn",
    .min_inputs = 1,
    .max_inputs = 2, /* + initial_state */
    .mask_mode = SN_MASK_PRODUCE, /* the input's mask when returning sequences, else none */
    .config_size = sizeof(sn_rnn_config),
    .allowed_opts = simple_rnn_allowed,
    .configure = sn_rnn_layer_configure,
    .infer = sn_rnn_layer_infer,
    .declare_params = sn_rnn_layer_declare,
    .scratch_size = sn_rnn_layer_scratch,
    .forward = sn_rnn_layer_forward,
    .backward = sn_rnn_layer_backward,
    .state_size = sn_rnn_layer_state_size,
};
