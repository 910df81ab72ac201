/*
 * lib/layers/flatten.c -- Flatten(): [B, T, F] -> [B, T*F]; vectors pass.
 *
 * Row-major storage makes this a copy (or nothing, if the executor aliases
 * the buffers). T must be fixed at build time, since the output width
 * decides the next layer's weights. Keras 2's Flatten does not support
 * masking, so a masked input is refused (SN_MASK_REFUSE; infer refuses it
 * too, with the layer's name, in case it is reached another way).
 */
#include <string.h>

#include "layers/layer.h"

/* No options; present so the builder can call every layer's configure. */
static int flatten_configure(sn_layer *L, sn_object *err)
{
    (void)L;
    (void)err;
    return SEQNET_OK;
}

static int flatten_infer(const sn_layer *L, const sn_shape *in, int32_t n_in, sn_shape *out,
                         sn_object *err)
{
    (void)n_in;
    if (in[0].is_tokens)
        return sn_layer_shape_error(L, err, "Flatten expects float input, not token ids");
    if (in[0].masked)
        return sn_layer_shape_error(L, err, "Flatten does not support masking (as in Keras "
                                            "2); pool the sequence or drop mask_zero");
    *out = in[0];
    if (in[0].time == SN_TIME_VECTOR)
        return SEQNET_OK;
    if (in[0].time == SN_TIME_VARIABLE)
        return sn_layer_shape_error(L, err, "Flatten needs a fixed sequence length, got a "
                                            "variable one (give the input a time length)");
    if ((int64_t)in[0].time * in[0].features > INT32_MAX)
        return sn_layer_shape_error(L, err, "Flatten output would be too wide");
    out->time = SN_TIME_VECTOR;
    out->features = in[0].time * in[0].features;
    return SEQNET_OK;
}

static int flatten_forward(sn_exec *e)
{
    const sn_tensor *in = e->in[0];
    if (e->out->x != in->x)
        memcpy(e->out->x, in->x, sn_tensor_size(in) * sizeof *in->x);
    return SEQNET_OK;
}

static int flatten_backward(sn_exec *e)
{
    if (e->grad_in[0] != NULL)
        sn_grad_store(e->grad_in[0], e->grad_out, sn_tensor_size(e->in[0]),
                      e->grad_in_accumulate[0]);
    return SEQNET_OK;
}

static const int32_t no_options[] = {0};

const sn_layer_ops sn_flatten_ops = {
    .kind = SEQNET_LAYER_FLATTEN,
    .class_name = "Flatten",
    .auto_name = "flatten",
    .min_inputs = 1,
    .max_inputs = 1,
    .mask_mode = SN_MASK_REFUSE,
    .config_size = 0,
    .allowed_opts = no_options,
    .configure = flatten_configure,
    .infer = flatten_infer,
    .declare_params = NULL,
    .scratch_size = NULL,
    .forward = flatten_forward,
    .backward = flatten_backward,
};
