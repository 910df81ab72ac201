/*
 * lib/layers/dropout.c -- Dropout(rate, seed): inverted dropout.
 *
 * Training: each element is kept with probability 1 - rate and scaled by
 * 1 / (1 - rate), so inference is the identity (as in Keras). The keep
 * decisions come from e->rng, the layer's own stream for this call, and are
 * kept in scratch (one byte per element) for backward.
 *
 * A draw is one 32-bit half of a 64-bit xoshiro output compared with
 * rate * 2^32, so a 64-bit draw serves two elements and rate is honoured to
 * 2^-32. The mask passes through; masked steps are dropped like the others
 * (they are ignored downstream anyway).
 */
#include <math.h>
#include <string.h>

#include "layers/layer.h"

typedef struct dropout_config {
    double rate;
} dropout_config;

static const int32_t dropout_allowed[] = {SEQNET_OPT_RATE, SEQNET_OPT_SEED, 0};

static int dropout_configure(sn_layer *L, sn_object *err)
{
    dropout_config *c = L->config;
    double rate = 0.0;
    int64_t seed = 0;
    int got = sn_opts_float(&L->opts, SEQNET_OPT_RATE, &rate);
    if (got == 0)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': Dropout needs a rate", L->name);
    if (got < 0 || !(rate >= 0.0 && rate < 1.0))
        return sn_error(err, SEQNET_EINVAL, "layer '%s': rate must be in [0, 1)", L->name);
    got = sn_opts_int(&L->opts, SEQNET_OPT_SEED, &seed);
    if (got < 0)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': seed must be an integer", L->name);
    /* An explicit seed fixes the layer's stream; otherwise the builder
     * derives L->seed from the context seed. */
    if (got > 0)
        L->seed = (uint64_t)seed;
    c->rate = rate;
    return SEQNET_OK;
}

static int dropout_infer(const sn_layer *L, const sn_shape *in, int32_t n_in, sn_shape *out,
                         sn_object *err)
{
    (void)n_in;
    if (in[0].is_tokens)
        return sn_layer_shape_error(L, err, "Dropout expects float input, not token ids");
    *out = in[0];
    return SEQNET_OK;
}

static size_t dropout_scratch(const sn_layer *L, int32_t batch, const sn_shape *in,
                              int training)
{
    const dropout_config *c = L->config;
    size_t steps = (size_t)(in[0].time >= 1 ? in[0].time : 1);
    if (!training || c->rate == 0.0)
        return 0;
    return (size_t)batch * steps * (size_t)in[0].features; /* one byte per element */
}

/* Dropout is active only in training and with a positive rate. */
static int dropout_active(const sn_exec *e)
{
    const dropout_config *c = e->layer->config;
    return e->training && c->rate > 0.0;
}

static int dropout_forward(sn_exec *e)
{
    const dropout_config *c = e->layer->config;
    const sn_tensor *in = e->in[0];
    size_t n = sn_tensor_size(in), i;
    uint8_t *keep = e->scratch;
    float scale;
    uint32_t threshold;

    if (!dropout_active(e)) {
        if (e->out->x != in->x)
            memcpy(e->out->x, in->x, n * sizeof *in->x);
        return SEQNET_OK;
    }
    /* rate < 1 so rate * 2^32 < 2^32; keep when the draw is >= threshold. */
    threshold = (uint32_t)ldexp(c->rate, 32);
    for (i = 0; i + 1 < n; i += 2) {
        uint64_t bits = sn_rng_next(e->rng);
        keep[i] = (uint32_t)bits >= threshold;
        keep[i + 1] = (uint32_t)(bits >> 32) >= threshold;
    }
    if (i < n)
        keep[i] = (uint32_t)sn_rng_next(e->rng) >= threshold;

    scale = (float)(1.0 / (1.0 - c->rate));
    for (i = 0; i < n; i++)
        e->out->x[i] = in->x[i] * (keep[i] ? scale : 0.0f);
    return SEQNET_OK;
}

static int dropout_backward(sn_exec *e)
{
    const dropout_config *c = e->layer->config;
    size_t n = sn_tensor_size(e->in[0]), i;
    const uint8_t *keep = e->scratch;
    const float *g = e->grad_out;
    float *grad_in = e->grad_in[0], scale;

    if (grad_in == NULL)
        return SEQNET_OK;
    /* No keep-mask (the forward ran in inference mode): dropout was the identity. */
    if (!dropout_active(e) || keep == NULL) {
        sn_grad_store(grad_in, g, n, e->grad_in_accumulate[0]);
        return SEQNET_OK;
    }
    scale = (float)(1.0 / (1.0 - c->rate));
    if (e->grad_in_accumulate[0])
        for (i = 0; i < n; i++)
            grad_in[i] += g[i] * (keep[i] ? scale : 0.0f);
    else
        for (i = 0; i < n; i++)
            grad_in[i] = g[i] * (keep[i] ? scale : 0.0f);
    return SEQNET_OK;
}

const sn_layer_ops sn_dropout_ops = {
    .kind = SEQNET_LAYER_DROPOUT,
    .class_name = "Dropout",
    .auto_name = "dropout",
    .min_inputs = 1,
    .max_inputs = 1,
    .mask_mode = SN_MASK_PASS,
    .config_size = sizeof(dropout_config),
    .allowed_opts = dropout_allowed,
    .configure = dropout_configure,
    .infer = dropout_infer,
    .declare_params = NULL,
    .scratch_size = dropout_scratch,
    .forward = dropout_forward,
    .backward = dropout_backward,
};
