/*
 * lib/layers/lstm.c -- LSTM(units, activation='tanh',
 * recurrent_activation='sigmoid', use_bias, unit_forget_bias,
 * return_sequences, go_backwards, dropout, recurrent_dropout).
 *
 * Keras's gate order i, f, c, o in every weight: kernel (input_dim,
 * 4*units), recurrent_kernel (units, 4*units), bias (4*units,):
 *
 *   z = x_t W + h~_{t-1} U + b        (one [B, 4H] row per step)
 *   i = ra(z_i)  f = ra(z_f)  g = a(z_c)  o = ra(z_o)
 *   c_t = f * c_{t-1} + i * g
 *   h_t = o * a(c_t)
 *
 * (a = activation, ra = recurrent_activation.) PyTorch's weight_ih is the
 * transpose of the kernel in the same gate order (i, f, g, o).
 *
 * The forward pass leaves i, f, g, o in the step's projection row and c_t in
 * the cell store; backward recomputes a(c_t) instead of storing it.
 */
#include <string.h>

#include "layers/rnn_common.h"

/* Each real row is a few passes over contiguous arrays (gate pre-activations,
 * then each gate's activation, then the cell), which vectorize; element by
 * element they are the formulas above. */
SN_RNN_CLONES void sn_lstm_step_forward(const sn_rnn_run *r, const sn_rnn_step *st)
{
    size_t H = (size_t)r->units, j;
    int act = r->c->act, ract = r->c->rec_act;
    int32_t b;
    /* Masked rows get the product too; their gate values are never read. */
    int added = sn_rnn_recurrent_accumulate(r, st->h_rec, st->ld_rec, st->t);
    if (!added)
        sn_rnn_recurrent_product(r, st->h_rec, st->ld_rec, 0, 4 * r->units, r->rec, 4 * H);
    for (b = 0; b < r->batch; b++) {
        float *g = sn_rnn_gate_row(r, b, st->t);
        const float *rec = r->rec + (size_t)b * 4 * H, *c_prev = st->c_prev + (size_t)b * H;
        float *h = st->h_out + (size_t)b * H, *c = st->c_out + (size_t)b * H;
        if (!sn_rnn_real(r, b, st->t)) {
            memcpy(h, st->h_prev + (size_t)b * H, H * sizeof *h);
            memcpy(c, c_prev, H * sizeof *c);
            continue;
        }
        if (!added)
            for (j = 0; j < 4 * H; j++)
                g[j] += rec[j];
        sn_rnn_act_row(ract, g, 2 * H);         /* i, f */
        sn_rnn_act_row(act, g + 2 * H, H);      /* candidate */
        sn_rnn_act_row(ract, g + 3 * H, H);     /* o */
        for (j = 0; j < H; j++)
            c[j] = g[H + j] * c_prev[j] + g[j] * g[2 * H + j];
        sn_rnn_act_row_into(act, c, h, H);
        for (j = 0; j < H; j++)
            h[j] = g[3 * H + j] * h[j];
    }
}

/* Backward of one real row with Keras's default activations (tanh,
 * sigmoid): the derivatives written out, so the loop vectorizes; the same
 * arithmetic, in the same order, as the general loop below. */
SN_RNN_CLONES static void row_backward_tanh_sigmoid(size_t H, float *restrict g,
                                                    const float *restrict a_c,
                                                    const float *restrict c_prev,
                                                    const float *restrict dh,
                                                    float *restrict dc)
{
    size_t j;
    for (j = 0; j < H; j++) {
        float i_g = g[j], f_g = g[H + j], c_g = g[2 * H + j], o_g = g[3 * H + j];
        float d_c = dc[j] + dh[j] * o_g * (1.0f - a_c[j] * a_c[j]);
        g[j] = d_c * c_g * (i_g * (1.0f - i_g));
        g[H + j] = d_c * c_prev[j] * (f_g * (1.0f - f_g));
        g[2 * H + j] = d_c * i_g * (1.0f - c_g * c_g);
        g[3 * H + j] = dh[j] * a_c[j] * (o_g * (1.0f - o_g));
        dc[j] = d_c * f_g;
    }
}

void sn_lstm_step_backward(sn_rnn_run *r, const sn_rnn_step *st)
{
    size_t H = (size_t)r->units, j;
    int act = r->c->act, ract = r->c->rec_act;
    int fast = act == SN_ACT_TANH && ract == SN_ACT_SIGMOID;
    int32_t b;
    for (b = 0; b < r->batch; b++) {
        float *g = sn_rnn_gate_row(r, b, st->t);
        const float *c = st->c_out + (size_t)b * H, *c_prev = st->c_prev + (size_t)b * H;
        const float *dh = r->dh + (size_t)b * H;
        float *dc = r->dc + (size_t)b * H; /* in: dL/dc_t; out: dL/dc_{t-1} */
        float *a_c = r->tmp + (size_t)b * H;
        if (!sn_rnn_real(r, b, st->t)) {
            memset(g, 0, 4 * H * sizeof *g); /* dc carries through unchanged */
            continue;
        }
        sn_rnn_act_into(act, c, a_c, H); /* a(c_t): recomputed, not stored */
        if (fast) {
            row_backward_tanh_sigmoid(H, g, a_c, c_prev, dh, dc);
            continue;
        }
        for (j = 0; j < H; j++) {
            float i_g = g[j], f_g = g[H + j], c_g = g[2 * H + j], o_g = g[3 * H + j];
            float d_c = dc[j] + dh[j] * o_g * sn_rnn_act_grad(act, a_c[j]);
            g[j] = d_c * c_g * sn_rnn_act_grad(ract, i_g);
            g[H + j] = d_c * c_prev[j] * sn_rnn_act_grad(ract, f_g);
            g[2 * H + j] = d_c * i_g * sn_rnn_act_grad(act, c_g);
            g[3 * H + j] = dh[j] * a_c[j] * sn_rnn_act_grad(ract, o_g);
            dc[j] = d_c * f_g;
        }
    }
    if (r->xh != NULL)
        sn_rnn_stacked_back(r, st);
    else
        sn_rnn_recurrent_back(r, sn_rnn_gate_row(r, 0, st->t), 4 * H, 0, 4 * r->units,
                              r->dh_prev, 0);
    sn_rnn_finish_dh_prev(r, st, NULL);
}

static const int32_t lstm_allowed[] = {SEQNET_OPT_UNITS,
                                       SEQNET_OPT_ACTIVATION,
                                       SEQNET_OPT_RECURRENT_ACTIVATION,
                                       SEQNET_OPT_USE_BIAS,
                                       SEQNET_OPT_UNIT_FORGET_BIAS,
                                       SEQNET_OPT_RETURN_SEQUENCES,
                                       SEQNET_OPT_GO_BACKWARDS, SEQNET_OPT_STATEFUL, SEQNET_OPT_RETURN_STATE,
                                       SEQNET_OPT_DROPOUT,
                                       SEQNET_OPT_RECURRENT_DROPOUT,
                                       SEQNET_OPT_TRAINABLE,
                                       0};

const sn_layer_ops sn_lstm_ops = {
    .kind = SEQNET_LAYER_LSTM,
    .class_name = "LSTM",
    .auto_name = "lstm",
    .min_inputs = 1,
    .max_inputs = 3, /* + initial_state */
    .mask_mode = SN_MASK_PRODUCE, /* the input's mask when returning sequences, else none */
    .config_size = sizeof(sn_rnn_config),
    .allowed_opts = lstm_allowed,
    .configure = sn_rnn_layer_configure,
    .infer = sn_rnn_layer_infer,
    .declare_params = sn_rnn_layer_declare,
    .scratch_size = sn_rnn_layer_scratch,
    .forward = sn_rnn_layer_forward,
    .backward = sn_rnn_layer_backward,
    .post_init = sn_lstm_init_forget_bias,
    .state_size = sn_rnn_layer_state_size,
};
