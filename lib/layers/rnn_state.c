/*
 * lib/layers/rnn_state.c -- SEQNET_LAYER_RNN_STATE: the final state of a
 * recurrent layer built with return_state (Keras's
 * `output, h, c = LSTM(units, return_state=True)(x)`).
 *
 * The layer itself only copies: the executor hands it, as its input, a
 * view of the recurrent node's final state (h or c, [batch, units]), and in
 * backward routes its gradient into that node's final-state gradient, from
 * which the recurrent layer starts its backward walk. Which node it reads
 * is checked where it is built (sn_rnn_state_check).
 */
#include <string.h>

#include "layers/layer.h"

static const int32_t rnn_state_allowed[] = {SEQNET_OPT_STATE_INDEX, 0};

static int rnn_state_configure(sn_layer *L, sn_object *err)
{
    int64_t index = 0;
    if (sn_opts_int(&L->opts, SEQNET_OPT_STATE_INDEX, &index) < 0 || index < 0 || index > 1)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': state_index must be 0 (h) or 1 (c)",
                        L->name);
    return SEQNET_OK;
}

static int rnn_state_infer(const sn_layer *L, const sn_shape *in, int32_t n_in, sn_shape *out,
                           sn_object *err)
{
    (void)n_in;
    if (in[0].is_tokens)
        return sn_layer_shape_error(L, err, "reads the state of a recurrent layer");
    memset(out, 0, sizeof *out);
    out->time = SN_TIME_VECTOR;
    out->features = in[0].features;
    return SEQNET_OK;
}

static int rnn_state_forward(sn_exec *e)
{
    memcpy(e->out->x, e->in[0]->x, sn_tensor_size(e->out) * sizeof(float));
    return SEQNET_OK;
}

static int rnn_state_backward(sn_exec *e)
{
    if (e->grad_in[0] != NULL)
        sn_grad_store(e->grad_in[0], e->grad_out, sn_tensor_size(e->out),
                      e->grad_in_accumulate[0]);
    return SEQNET_OK;
}

int sn_rnn_state_index(const sn_layer *L)
{
    int64_t index = 0;
    return sn_opts_int(&L->opts, SEQNET_OPT_STATE_INDEX, &index) == 1 ? (int)index : 0;
}

int sn_rnn_state_check(const sn_layer *producer, const sn_layer *L, sn_object *err)
{
    int64_t flag = 0;
    int index = sn_rnn_state_index(L);
    if (producer->kind != SEQNET_LAYER_SIMPLE_RNN && producer->kind != SEQNET_LAYER_LSTM &&
        producer->kind != SEQNET_LAYER_GRU)
        return sn_layer_shape_error(L, err, "reads the state of a SimpleRNN, LSTM or GRU");
    if (sn_opts_int(&producer->opts, SEQNET_OPT_RETURN_STATE, &flag) != 1 || flag != 1)
        return sn_layer_shape_error(L, err, "its recurrent layer needs return_state = 1");
    if (index == 1 && producer->kind != SEQNET_LAYER_LSTM)
        return sn_layer_shape_error(L, err, "only an LSTM has a cell state (index 1)");
    return SEQNET_OK;
}

const sn_layer_ops sn_rnn_state_ops = {
    .kind = SEQNET_LAYER_RNN_STATE,
    .class_name = "RNNState",
    .auto_name = "rnn_state",
    .min_inputs = 1,
    .max_inputs = 1,
    .mask_mode = SN_MASK_CONSUME,
    .allowed_opts = rnn_state_allowed,
    .configure = rnn_state_configure,
    .infer = rnn_state_infer,
    .forward = rnn_state_forward,
    .backward = rnn_state_backward,
};
