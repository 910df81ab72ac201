/*
 * lib/layers/pool1d_window.c -- MaxPooling1D and AveragePooling1D
 * (pool_size = 2, strides = pool_size, padding 'valid' | 'same').
 *
 * Both slide a window of pool_size steps along time with the given stride,
 * per feature, over sequences [B, T, F]; the geometry is Keras/TensorFlow's
 * (sn_cc_window): 'same' gives ceil(T / strides) steps with the odd padding
 * step on the right.
 *
 *   max      the largest real value in the window (padding never wins: it
 *            is skipped, as TensorFlow pads with -inf); the first maximum
 *            wins ties and alone receives the gradient.
 *   average  the mean of the real steps in the window: with 'same' the
 *            padded steps are not counted (TensorFlow's avg_pool, and so
 *            Keras, divides by the number of real steps; PyTorch's
 *            count_include_pad=True default would not).
 *
 * Every window holds at least one real step in both modes ('same' pads
 * less than a window on the left and starts every window before T), so no
 * output is undefined.
 *
 * Masks: refused (SN_MASK_REFUSE). Keras 2's pooling layers do not support
 * masking; a window mixing real and padding steps has no meaning we could
 * give without changing the numbers for unmasked data.
 *
 * Scratch (max, training only): the winning input step of each output
 * element, int32 [B, T_out, F]. Average needs none.
 */
#include <stdio.h>
#include <string.h>

#include "layers/conv_common.h"
#include "layers/layer.h"

typedef struct window_config {
    int32_t pool_size;
    int32_t strides;
    int32_t padding; /* SN_PAD_VALID or SN_PAD_SAME */
} window_config;

static const int32_t window_allowed[] = {SEQNET_OPT_POOL_SIZE, SEQNET_OPT_STRIDES,
                                         SEQNET_OPT_PADDING, 0};

static int window_configure(sn_layer *L, sn_object *err)
{
    window_config *c = L->config;
    int rc;
    if ((rc = sn_cc_int(L, err, SEQNET_OPT_POOL_SIZE, "pool_size", 0, 2, 1, &c->pool_size)) ||
        (rc = sn_cc_padding(L, err, 0, &c->padding)))
        return rc;
    /* Keras: strides=None means pool_size. */
    return sn_cc_int(L, err, SEQNET_OPT_STRIDES, "strides", 0, c->pool_size, 1, &c->strides);
}

static int window_infer(const sn_layer *L, const sn_shape *in, int32_t n_in, sn_shape *out,
                        sn_object *err)
{
    const window_config *c = L->config;
    int32_t out_time, pad_left;
    (void)n_in;
    if (in[0].is_tokens)
        return sn_layer_shape_error(L, err, "pooling expects float sequences, not token ids "
                                            "(add an Embedding first)");
    if (in[0].time == SN_TIME_VECTOR)
        return sn_layer_shape_error(L, err, "pooling needs a sequence input [time, features], "
                                            "got a vector");
    if (sn_cc_window(in[0].time, c->pool_size, c->strides, c->padding, &out_time, &pad_left) !=
        0) {
        char what[128];
        snprintf(what, sizeof what,
                 "the input has %d steps, fewer than pool_size %d with padding 'valid'",
                 (int)in[0].time, (int)c->pool_size);
        return sn_layer_shape_error(L, err, what);
    }
    out->time = out_time;
    out->features = in[0].features;
    out->is_tokens = 0;
    out->masked = 0;
    return SEQNET_OK;
}

/* One run's geometry. */
typedef struct window_run {
    size_t batch, in_time, out_time, features;
    int32_t pad_left;
} window_run;

static void run_geometry(const window_config *c, const sn_tensor *in, window_run *g)
{
    int32_t out_time = 0, pad_left = 0;
    (void)sn_cc_window(in->time, c->pool_size, c->strides, c->padding, &out_time, &pad_left);
    g->batch = (size_t)in->batch;
    g->in_time = (size_t)in->time;
    g->out_time = (size_t)(out_time > 0 ? out_time : 0);
    g->features = (size_t)in->features;
    g->pad_left = pad_left;
}

/* The real input steps [*first, *last) of output step t's window. */
static void window_steps(const window_config *c, const window_run *g, size_t t, size_t *first,
                         size_t *last)
{
    long start = (long)(t * (size_t)c->strides) - (long)g->pad_left;
    long end = start + c->pool_size;
    if (start < 0)
        start = 0;
    if (end > (long)g->in_time)
        end = (long)g->in_time;
    *first = (size_t)start;
    *last = (size_t)(end > start ? end : start);
}

/* ---- max ------------------------------------------------------------------ */

static size_t max_scratch(const sn_layer *L, int32_t batch, const sn_shape *in, int training)
{
    const window_config *c = L->config;
    int32_t out_time = 0, pad_left = 0;
    if (!training)
        return 0;
    (void)sn_cc_window(in[0].time, c->pool_size, c->strides, c->padding, &out_time, &pad_left);
    return (size_t)batch * (size_t)(out_time > 0 ? out_time : 0) * (size_t)in[0].features *
           sizeof(int32_t);
}

static int max_forward(sn_exec *e)
{
    const window_config *c = e->layer->config;
    const sn_tensor *in = e->in[0];
    int32_t *arg_all = e->training ? e->scratch : NULL;
    size_t b, t, s, f, first, last;
    window_run g;

    run_geometry(c, in, &g);
    for (b = 0; b < g.batch; b++) {
        const float *xb = in->x + b * g.in_time * g.features;
        for (t = 0; t < g.out_time; t++) {
            size_t row = b * g.out_time + t;
            float *o = e->out->x + row * g.features;
            int32_t *arg = arg_all != NULL ? arg_all + row * g.features : NULL;
            window_steps(c, &g, t, &first, &last);
            memcpy(o, xb + first * g.features, g.features * sizeof *o);
            if (arg != NULL)
                for (f = 0; f < g.features; f++)
                    arg[f] = (int32_t)first;
            for (s = first + 1; s < last; s++) {
                const float *x = xb + s * g.features;
                if (arg != NULL) {
                    for (f = 0; f < g.features; f++) {
                        int better = x[f] > o[f]; /* strictly: the first maximum wins */
                        o[f] = better ? x[f] : o[f];
                        arg[f] = better ? (int32_t)s : arg[f];
                    }
                } else {
                    for (f = 0; f < g.features; f++)
                        o[f] = x[f] > o[f] ? x[f] : o[f];
                }
            }
        }
    }
    return SEQNET_OK;
}

static int max_backward(sn_exec *e)
{
    const window_config *c = e->layer->config;
    const sn_tensor *in = e->in[0];
    const int32_t *arg_all = e->scratch;
    float *dx = e->grad_in[0];
    size_t b, t, f;
    window_run g;

    if (dx == NULL)
        return SEQNET_OK;
    run_geometry(c, in, &g);
    if (arg_all == NULL && g.out_time > 0)
        return sn_error(e->err, SEQNET_ESTATE,
                        "layer '%s': backward needs a training forward pass first",
                        e->layer->name);
    if (!e->grad_in_accumulate[0])
        memset(dx, 0, sn_tensor_size(in) * sizeof *dx);
    for (b = 0; b < g.batch; b++) {
        float *dxb = dx + b * g.in_time * g.features;
        for (t = 0; t < g.out_time; t++) {
            size_t row = b * g.out_time + t;
            const float *go = e->grad_out + row * g.features;
            const int32_t *arg = arg_all + row * g.features;
            for (f = 0; f < g.features; f++)
                dxb[(size_t)arg[f] * g.features + f] += go[f];
        }
    }
    return SEQNET_OK;
}

/* ---- average ------------------------------------------------------------ */

static int avg_forward(sn_exec *e)
{
    const window_config *c = e->layer->config;
    const sn_tensor *in = e->in[0];
    size_t b, t, s, f, first, last;
    window_run g;

    run_geometry(c, in, &g);
    for (b = 0; b < g.batch; b++) {
        const float *xb = in->x + b * g.in_time * g.features;
        for (t = 0; t < g.out_time; t++) {
            float *o = e->out->x + (b * g.out_time + t) * g.features;
            float inv;
            window_steps(c, &g, t, &first, &last);
            inv = 1.0f / (float)(last - first);
            memset(o, 0, g.features * sizeof *o);
            for (s = first; s < last; s++) {
                const float *x = xb + s * g.features;
                for (f = 0; f < g.features; f++)
                    o[f] += x[f];
            }
            for (f = 0; f < g.features; f++)
                o[f] *= inv;
        }
    }
    return SEQNET_OK;
}

static int avg_backward(sn_exec *e)
{
    const window_config *c = e->layer->config;
    const sn_tensor *in = e->in[0];
    float *dx = e->grad_in[0];
    size_t b, t, s, f, first, last;
    window_run g;

    if (dx == NULL)
        return SEQNET_OK;
    run_geometry(c, in, &g);
    if (!e->grad_in_accumulate[0])
        memset(dx, 0, sn_tensor_size(in) * sizeof *dx);
    for (b = 0; b < g.batch; b++) {
        float *dxb = dx + b * g.in_time * g.features;
        for (t = 0; t < g.out_time; t++) {
            const float *go = e->grad_out + (b * g.out_time + t) * g.features;
            float inv;
            window_steps(c, &g, t, &first, &last);
            inv = 1.0f / (float)(last - first);
            for (s = first; s < last; s++) {
                float *d = dxb + s * g.features;
                for (f = 0; f < g.features; f++)
                    d[f] += inv * go[f];
            }
        }
    }
    return SEQNET_OK;
}

const sn_layer_ops sn_max_pooling1d_ops = {
    .kind = SEQNET_LAYER_MAX_POOLING1D,
    .class_name = "MaxPooling1D",
    .auto_name = "max_pooling1d",
    .min_inputs = 1,
    .max_inputs = 1,
    .mask_mode = SN_MASK_REFUSE,
    .config_size = sizeof(window_config),
    .allowed_opts = window_allowed,
    .configure = window_configure,
    .infer = window_infer,
    .declare_params = NULL,
    .scratch_size = max_scratch,
    .forward = max_forward,
    .backward = max_backward,
};

const sn_layer_ops sn_average_pooling1d_ops = {
    .kind = SEQNET_LAYER_AVERAGE_POOLING1D,
    .class_name = "AveragePooling1D",
    .auto_name = "average_pooling1d",
    .min_inputs = 1,
    .max_inputs = 1,
    .mask_mode = SN_MASK_REFUSE,
    .config_size = sizeof(window_config),
    .allowed_opts = window_allowed,
    .configure = window_configure,
    .infer = window_infer,
    .declare_params = NULL,
    .scratch_size = NULL,
    .forward = avg_forward,
    .backward = avg_backward,
};
