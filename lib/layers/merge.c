/*
 * lib/layers/merge.c -- the merge layers: Concatenate (feature axis), Add,
 * Subtract (exactly two inputs), Multiply and Average (two or more).
 *
 * Shapes (Keras): every input is a float tensor with the same time axis
 * (all vectors, or all sequences of one length; a variable length matches
 * any length and the run-time lengths must then agree). Concatenate joins
 * the feature axis (axis -1, or its positive index: 1 for vectors, 2 for
 * sequences); the time axis is not supported. The element-wise merges need
 * equal feature counts; no broadcasting.
 *
 * Masks (Keras's _Merge.compute_mask and Concatenate.compute_mask): the
 * output step is real only when every masked input says so, an input
 * without a mask counting as all real. The executor only aliases input 0's
 * mask for SN_MASK_PASS, which would drop the other inputs' masks, so the
 * merges are SN_MASK_PRODUCE and write the AND themselves whenever any
 * input is masked. Values of masked steps are merged like any other
 * (Keras does the same); downstream mask-aware layers ignore them.
 *
 * Backward: the same node may feed several inputs (Add()([x, x])); the
 * executor then hands the same gradient buffer twice with the same
 * accumulate flag, so an input whose buffer already received a gradient in
 * this call is accumulated, never overwritten.
 */
#include <stdio.h>
#include <string.h>

#include "layers/conv_common.h"
#include "layers/layer.h"

enum merge_op { OP_CONCAT, OP_ADD, OP_SUBTRACT, OP_MULTIPLY, OP_AVERAGE };

typedef struct merge_config {
    int32_t op;
} merge_config;

static const int32_t concat_allowed[] = {SEQNET_OPT_AXIS, 0};
static const int32_t no_options[] = {0};

static int32_t op_of_kind(int32_t kind)
{
    switch (kind) {
    case SEQNET_LAYER_ADD: return OP_ADD;
    case SEQNET_LAYER_SUBTRACT: return OP_SUBTRACT;
    case SEQNET_LAYER_MULTIPLY: return OP_MULTIPLY;
    case SEQNET_LAYER_AVERAGE: return OP_AVERAGE;
    default: return OP_CONCAT;
    }
}

static int merge_configure(sn_layer *L, sn_object *err)
{
    merge_config *c = L->config;
    c->op = op_of_kind(L->ops->kind);
    if (c->op == OP_CONCAT)
        return sn_cc_feature_axis(L, err);
    return SEQNET_OK;
}

static int merge_infer(const sn_layer *L, const sn_shape *in, int32_t n_in, sn_shape *out,
                       sn_object *err)
{
    const merge_config *c = L->config;
    int32_t i, time = in[0].time;
    int64_t features = 0;
    int masked = 0;
    char what[192];

    for (i = 0; i < n_in; i++) {
        if (in[i].is_tokens)
            return sn_layer_shape_error(L, err, "merge layers take float tensors, not token ids");
        if ((in[i].time == SN_TIME_VECTOR) != (time == SN_TIME_VECTOR)) {
            snprintf(what, sizeof what, "input %d is a %s but input 0 is a %s", (int)i,
                     in[i].time == SN_TIME_VECTOR ? "vector" : "sequence",
                     time == SN_TIME_VECTOR ? "vector" : "sequence");
            return sn_layer_shape_error(L, err, what);
        }
        if (in[i].time != time && in[i].time != SN_TIME_VARIABLE && time != SN_TIME_VARIABLE) {
            snprintf(what, sizeof what, "input %d has %d steps but input 0 has %d", (int)i,
                     (int)in[i].time, (int)in[0].time);
            return sn_layer_shape_error(L, err, what);
        }
        if (time == SN_TIME_VARIABLE)
            time = in[i].time; /* a fixed length wins over a variable one */
        if (c->op != OP_CONCAT && in[i].features != in[0].features) {
            snprintf(what, sizeof what,
                     "input %d has %d features but input 0 has %d (the inputs of an "
                     "element-wise merge must have equal shapes)",
                     (int)i, (int)in[i].features, (int)in[0].features);
            return sn_layer_shape_error(L, err, what);
        }
        features += in[i].features;
        masked |= in[i].masked;
    }
    if (features > INT32_MAX)
        return sn_layer_shape_error(L, err, "too many concatenated features");
    out->time = time;
    out->features = c->op == OP_CONCAT ? (int32_t)features : in[0].features;
    out->is_tokens = 0;
    out->masked = (int8_t)(masked && time != SN_TIME_VECTOR);
    return SEQNET_OK;
}

/* out->mask = AND of the inputs' masks (missing masks are all real). */
static void merge_masks(sn_exec *e)
{
    size_t steps = (size_t)e->out->batch * (size_t)e->out->time, s;
    int32_t i;
    if (e->out->mask == NULL)
        return;
    memset(e->out->mask, 1, steps);
    for (i = 0; i < e->n_inputs; i++) {
        const uint8_t *m = e->in[i]->mask;
        if (m == NULL || m == e->out->mask)
            continue;
        for (s = 0; s < steps; s++)
            e->out->mask[s] = (uint8_t)(e->out->mask[s] && m[s]);
    }
}

static int merge_forward(sn_exec *e)
{
    const merge_config *c = e->layer->config;
    size_t n = sn_tensor_size(e->out), k;
    float *y = e->out->x;
    int32_t i;

    merge_masks(e);
    if (c->op == OP_CONCAT) {
        size_t rows = (size_t)e->out->batch * (size_t)e->out->time, r, col = 0;
        size_t width = (size_t)e->out->features;
        for (i = 0; i < e->n_inputs; i++) {
            const sn_tensor *t = e->in[i];
            size_t f = (size_t)t->features;
            for (r = 0; r < rows; r++)
                memcpy(y + r * width + col, t->x + r * f, f * sizeof *y);
            col += f;
        }
        return SEQNET_OK;
    }
    memcpy(y, e->in[0]->x, n * sizeof *y);
    for (i = 1; i < e->n_inputs; i++) {
        const float *x = e->in[i]->x;
        switch (c->op) {
        case OP_SUBTRACT:
            for (k = 0; k < n; k++)
                y[k] -= x[k];
            break;
        case OP_MULTIPLY:
            for (k = 0; k < n; k++)
                y[k] *= x[k];
            break;
        default: /* add, average */
            for (k = 0; k < n; k++)
                y[k] += x[k];
            break;
        }
    }
    if (c->op == OP_AVERAGE) {
        float inv = 1.0f / (float)e->n_inputs;
        for (k = 0; k < n; k++)
            y[k] *= inv;
    }
    return SEQNET_OK;
}

/* Whether input i must add into its gradient buffer. */
static int accumulate_into(const sn_exec *e, int32_t i)
{
    int32_t j;
    if (e->grad_in_accumulate[i])
        return 1;
    for (j = 0; j < i; j++)
        if (e->grad_in[j] == e->grad_in[i])
            return 1;
    return 0;
}

/* grad = scale * g, stored or added. */
static void store_scaled(float *dst, const float *g, size_t n, float scale, int accumulate)
{
    size_t k;
    if (scale == 1.0f) {
        sn_grad_store(dst, g, n, accumulate);
    } else if (accumulate) {
        for (k = 0; k < n; k++)
            dst[k] += scale * g[k];
    } else {
        for (k = 0; k < n; k++)
            dst[k] = scale * g[k];
    }
}

/* d input i = g * product of the other inputs. */
static void multiply_grad(const sn_exec *e, int32_t i, float *dst, size_t n, int accumulate)
{
    size_t k;
    int32_t j;
    for (k = 0; k < n; k++) {
        float v = e->grad_out[k];
        for (j = 0; j < e->n_inputs; j++)
            if (j != i)
                v *= e->in[j]->x[k];
        dst[k] = accumulate ? dst[k] + v : v;
    }
}

static int merge_backward(sn_exec *e)
{
    const merge_config *c = e->layer->config;
    size_t n = sn_tensor_size(e->out), col = 0;
    int32_t i;

    for (i = 0; i < e->n_inputs; i++) {
        float *dst = e->grad_in[i];
        int acc;
        if (dst == NULL) {
            col += (size_t)e->in[i]->features;
            continue;
        }
        acc = accumulate_into(e, i);
        switch (c->op) {
        case OP_CONCAT: {
            size_t rows = (size_t)e->out->batch * (size_t)e->out->time, r;
            size_t f = (size_t)e->in[i]->features, width = (size_t)e->out->features;
            for (r = 0; r < rows; r++)
                sn_grad_store(dst + r * f, e->grad_out + r * width + col, f, acc);
            break;
        }
        case OP_SUBTRACT:
            store_scaled(dst, e->grad_out, n, i == 0 ? 1.0f : -1.0f, acc);
            break;
        case OP_MULTIPLY:
            multiply_grad(e, i, dst, n, acc);
            break;
        case OP_AVERAGE:
            store_scaled(dst, e->grad_out, n, 1.0f / (float)e->n_inputs, acc);
            break;
        default:
            sn_grad_store(dst, e->grad_out, n, acc);
            break;
        }
        col += (size_t)e->in[i]->features;
    }
    return SEQNET_OK;
}

#define MERGE_OPS(var, KIND, cls, stem, lo, hi, allowed)                                         \
    const sn_layer_ops var = {                                                                   \
        .kind = KIND,                                                                            \
        .class_name = cls,                                                                       \
        .auto_name = stem,                                                                       \
        .min_inputs = lo,                                                                        \
        .max_inputs = hi,                                                                        \
        .mask_mode = SN_MASK_PRODUCE,                                                            \
        .config_size = sizeof(merge_config),                                                     \
        .allowed_opts = allowed,                                                                 \
        .configure = merge_configure,                                                            \
        .infer = merge_infer,                                                                    \
        .declare_params = NULL,                                                                  \
        .scratch_size = NULL,                                                                    \
        .forward = merge_forward,                                                                \
        .backward = merge_backward,                                                              \
    }

MERGE_OPS(sn_concatenate_ops, SEQNET_LAYER_CONCATENATE, "Concatenate", "concatenate", 2,
          SN_MAX_INPUTS, concat_allowed);
MERGE_OPS(sn_add_ops, SEQNET_LAYER_ADD, "Add", "add", 2, SN_MAX_INPUTS, no_options);
MERGE_OPS(sn_subtract_ops, SEQNET_LAYER_SUBTRACT, "Subtract", "subtract", 2, 2, no_options);
MERGE_OPS(sn_multiply_ops, SEQNET_LAYER_MULTIPLY, "Multiply", "multiply", 2, SN_MAX_INPUTS,
          no_options);
MERGE_OPS(sn_average_ops, SEQNET_LAYER_AVERAGE, "Average", "average", 2, SN_MAX_INPUTS,
          no_options);
