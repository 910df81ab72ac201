/*
 * lib/layers/activation_layer.c -- Activation(activation): y = f(x).
 *
 * The element-wise work is the same code Dense uses (activation.c); this
 * file only wires it to the layer interface. Vectors and sequences alike;
 * the mask passes through, masked steps are computed (Keras does too).
 *
 * Scratch (training, non-linear activation): a [rows, features] buffer for
 * the gradient when backward must add into an existing grad_in. Backward
 * reads e->in[0]->x (gelu) and e->out->x, kept alive by the executor.
 */
#include <string.h>

#include "layers/activation.h"
#include "layers/layer.h"

typedef struct activation_config {
    int32_t act;
} activation_config;

static const int32_t activation_allowed[] = {SEQNET_OPT_ACTIVATION, 0};

static int activation_configure(sn_layer *L, sn_object *err)
{
    activation_config *c = L->config;
    const char *name = NULL;
    int got = sn_opts_string(&L->opts, SEQNET_OPT_ACTIVATION, &name);
    if (got == 0)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': Activation needs an activation",
                        L->name);
    if (got < 0 || sn_act_from_name(name) < 0)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': unknown activation", L->name);
    c->act = sn_act_from_name(name);
    return SEQNET_OK;
}

static int activation_infer(const sn_layer *L, const sn_shape *in, int32_t n_in, sn_shape *out,
                            sn_object *err)
{
    (void)n_in;
    if (in[0].is_tokens)
        return sn_layer_shape_error(L, err, "Activation expects float input, not token ids");
    *out = in[0];
    return SEQNET_OK;
}

static size_t activation_scratch(const sn_layer *L, int32_t batch, const sn_shape *in,
                                 int training)
{
    const activation_config *c = L->config;
    size_t steps = (size_t)(in[0].time >= 1 ? in[0].time : 1);
    if (!training || c->act == SN_ACT_LINEAR)
        return 0;
    return (size_t)batch * steps * (size_t)in[0].features * sizeof(float);
}

static int activation_forward(sn_exec *e)
{
    const activation_config *c = e->layer->config;
    const sn_tensor *in = e->in[0];
    sn_act_forward(c->act, in->x, e->out->x, (size_t)in->batch * (size_t)in->time,
                   (size_t)in->features);
    return SEQNET_OK;
}

static int activation_backward(sn_exec *e)
{
    const activation_config *c = e->layer->config;
    const sn_tensor *in = e->in[0];
    size_t rows = (size_t)in->batch * (size_t)in->time, n = sn_tensor_size(in);
    float *grad_in = e->grad_in[0], *buf;

    if (grad_in == NULL)
        return SEQNET_OK;
    if (c->act == SN_ACT_LINEAR) {
        sn_grad_store(grad_in, e->grad_out, n, e->grad_in_accumulate[0]);
        return SEQNET_OK;
    }
    if (e->grad_in_accumulate[0] && e->scratch == NULL)
        return sn_error(e->err, SEQNET_ESTATE,
                        "layer '%s': backward needs a training forward pass first",
                        e->layer->name);
    /* Overwriting: work in grad_in itself; accumulating: in scratch, then add. */
    buf = e->grad_in_accumulate[0] ? e->scratch : grad_in;
    memcpy(buf, e->grad_out, n * sizeof *buf);
    sn_act_backward(c->act, in->x, e->out->x, buf, rows, (size_t)in->features);
    if (buf != grad_in)
        sn_grad_store(grad_in, buf, n, 1);
    return SEQNET_OK;
}

const sn_layer_ops sn_activation_ops = {
    .kind = SEQNET_LAYER_ACTIVATION,
    .class_name = "Activation",
    .auto_name = "activation",
    .min_inputs = 1,
    .max_inputs = 1,
    .mask_mode = SN_MASK_PASS,
    .config_size = sizeof(activation_config),
    .allowed_opts = activation_allowed,
    .configure = activation_configure,
    .infer = activation_infer,
    .declare_params = NULL,
    .scratch_size = activation_scratch,
    .forward = activation_forward,
    .backward = activation_backward,
};
