/*
 * lib/layers/pool1d.c -- GlobalAveragePooling1D and GlobalMaxPooling1D.
 *
 * Both reduce a sequence [B, T, F] over time to a vector [B, F] and consume
 * the padding mask: only real (unmasked) steps take part.
 *
 *   average  sum over real steps / number of real steps (Keras:
 *            sum(x * mask) / sum(mask)). A row whose every step is masked
 *            gives 0 (Keras would divide 0 by 0 and give NaN); its input
 *            gradient is 0.
 *   max      maximum over real steps, the first one on ties; the gradient
 *            goes to that step only. A row whose every step is masked gives
 *            0 and no gradient. Keras 3 fills masked steps with the most
 *            negative float before the max, so an all-masked row would come
 *            out as about -3.4e38 (or -inf), which poisons whatever follows
 *            (a Dense kernel times -3.4e38 overflows, 0 * -inf is NaN);
 *            0 is the neutral "no evidence" value, the same the average
 *            gives, and it keeps training finite.
 *
 * Scratch (max, training only): the winning step per (batch, feature) as
 * int32 [B, F], -1 when there is none.
 */
#include <string.h>

#include "layers/layer.h"

static const int32_t no_options[] = {0};

static int pool_configure(sn_layer *L, sn_object *err)
{
    (void)L;
    (void)err;
    return SEQNET_OK;
}

static int pool_infer(const sn_layer *L, const sn_shape *in, int32_t n_in, sn_shape *out,
                      sn_object *err)
{
    (void)n_in;
    if (in[0].is_tokens)
        return sn_layer_shape_error(L, err, "global pooling expects float sequences, not "
                                            "token ids (add an Embedding first)");
    if (in[0].time == SN_TIME_VECTOR)
        return sn_layer_shape_error(L, err, "global pooling over time needs a sequence "
                                            "input [time, features], got a vector");
    out->time = SN_TIME_VECTOR;
    out->features = in[0].features;
    out->is_tokens = 0;
    out->masked = 0;
    return SEQNET_OK;
}

/* Whether step t of batch row b is real. */
static inline int step_is_real(const sn_tensor *in, size_t b, size_t t)
{
    return in->mask == NULL || in->mask[b * (size_t)in->time + t] != 0;
}

/* Number of real steps of batch row b. */
static size_t real_steps(const sn_tensor *in, size_t b)
{
    size_t t, n = 0;
    if (in->mask == NULL)
        return (size_t)in->time;
    for (t = 0; t < (size_t)in->time; t++)
        n += in->mask[b * (size_t)in->time + t] != 0;
    return n;
}

/* ---- average ------------------------------------------------------------ */

static int avg_forward(sn_exec *e)
{
    const sn_tensor *in = e->in[0];
    size_t steps = (size_t)in->time, width = (size_t)in->features, b, t, f;
    for (b = 0; b < (size_t)in->batch; b++) {
        float *o = e->out->x + b * width;
        size_t n = real_steps(in, b);
        float inv = n > 0 ? 1.0f / (float)n : 0.0f;
        memset(o, 0, width * sizeof *o);
        for (t = 0; t < steps; t++) {
            const float *row = in->x + (b * steps + t) * width;
            if (!step_is_real(in, b, t))
                continue;
            for (f = 0; f < width; f++)
                o[f] += row[f];
        }
        for (f = 0; f < width; f++)
            o[f] *= inv;
    }
    return SEQNET_OK;
}

static int avg_backward(sn_exec *e)
{
    const sn_tensor *in = e->in[0];
    size_t steps = (size_t)in->time, width = (size_t)in->features, b, t, f;
    float *grad_in = e->grad_in[0];
    int accumulate = e->grad_in_accumulate[0];

    if (grad_in == NULL)
        return SEQNET_OK;
    for (b = 0; b < (size_t)in->batch; b++) {
        const float *g = e->grad_out + b * width;
        size_t n = real_steps(in, b);
        float inv = n > 0 ? 1.0f / (float)n : 0.0f;
        for (t = 0; t < steps; t++) {
            float *gi = grad_in + (b * steps + t) * width;
            float w = step_is_real(in, b, t) ? inv : 0.0f;
            if (accumulate)
                for (f = 0; f < width; f++)
                    gi[f] += w * g[f];
            else
                for (f = 0; f < width; f++)
                    gi[f] = w * g[f];
        }
    }
    return SEQNET_OK;
}

/* ---- max ------------------------------------------------------------------ */

static size_t max_scratch(const sn_layer *L, int32_t batch, const sn_shape *in, int training)
{
    (void)L;
    return training ? (size_t)batch * (size_t)in[0].features * sizeof(int32_t) : 0;
}

static int max_forward(sn_exec *e)
{
    const sn_tensor *in = e->in[0];
    size_t steps = (size_t)in->time, width = (size_t)in->features, b, t, f;
    int32_t *argmax_all = e->training ? e->scratch : NULL;

    for (b = 0; b < (size_t)in->batch; b++) {
        float *o = e->out->x + b * width;
        int32_t *arg = argmax_all != NULL ? argmax_all + b * width : NULL;
        int started = 0;
        for (t = 0; t < steps; t++) {
            const float *row = in->x + (b * steps + t) * width;
            if (!step_is_real(in, b, t))
                continue;
            if (!started) {
                memcpy(o, row, width * sizeof *o);
                if (arg != NULL)
                    for (f = 0; f < width; f++)
                        arg[f] = (int32_t)t;
                started = 1;
                continue;
            }
            /* Strictly greater: the first maximum wins ties. */
            if (arg != NULL)
                for (f = 0; f < width; f++) {
                    int better = row[f] > o[f];
                    o[f] = better ? row[f] : o[f];
                    arg[f] = better ? (int32_t)t : arg[f];
                }
            else
                for (f = 0; f < width; f++)
                    o[f] = row[f] > o[f] ? row[f] : o[f];
        }
        if (!started) {
            memset(o, 0, width * sizeof *o);
            if (arg != NULL)
                for (f = 0; f < width; f++)
                    arg[f] = -1;
        }
    }
    return SEQNET_OK;
}

static int max_backward(sn_exec *e)
{
    const sn_tensor *in = e->in[0];
    size_t steps = (size_t)in->time, width = (size_t)in->features, b, f;
    const int32_t *argmax_all = e->scratch;
    float *grad_in = e->grad_in[0];

    if (grad_in == NULL)
        return SEQNET_OK;
    if (argmax_all == NULL)
        return sn_error(e->err, SEQNET_ESTATE,
                        "layer '%s': backward needs a training forward pass first",
                        e->layer->name);
    if (!e->grad_in_accumulate[0])
        memset(grad_in, 0, sn_tensor_size(in) * sizeof *grad_in);
    for (b = 0; b < (size_t)in->batch; b++) {
        const float *g = e->grad_out + b * width;
        const int32_t *arg = argmax_all + b * width;
        for (f = 0; f < width; f++)
            if (arg[f] >= 0)
                grad_in[(b * steps + (size_t)arg[f]) * width + f] += g[f];
    }
    return SEQNET_OK;
}

const sn_layer_ops sn_global_average_pooling1d_ops = {
    .kind = SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D,
    .class_name = "GlobalAveragePooling1D",
    .auto_name = "global_average_pooling1d",
    .min_inputs = 1,
    .max_inputs = 1,
    .mask_mode = SN_MASK_CONSUME,
    .config_size = 0,
    .allowed_opts = no_options,
    .configure = pool_configure,
    .infer = pool_infer,
    .declare_params = NULL,
    .scratch_size = NULL,
    .forward = avg_forward,
    .backward = avg_backward,
};

const sn_layer_ops sn_global_max_pooling1d_ops = {
    .kind = SEQNET_LAYER_GLOBAL_MAX_POOLING1D,
    .class_name = "GlobalMaxPooling1D",
    .auto_name = "global_max_pooling1d",
    .min_inputs = 1,
    .max_inputs = 1,
    .mask_mode = SN_MASK_CONSUME,
    .config_size = 0,
    .allowed_opts = no_options,
    .configure = pool_configure,
    .infer = pool_infer,
    .declare_params = NULL,
    .scratch_size = max_scratch,
    .forward = max_forward,
    .backward = max_backward,
};
