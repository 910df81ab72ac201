/*
 * lib/layers/layernorm.c -- LayerNormalization(axis=-1, epsilon=0.001,
 * center=True, scale=True), Keras's defaults.
 *
 * Each row (a vector, or one step of a sequence) is normalized over its
 * features with its own mean and biased variance:
 *   y = gamma * (x - mean_row) / sqrt(var_row + epsilon) + beta
 * so training and inference compute the same thing and no statistics are
 * kept. Only the feature axis is supported (axis -1, or its positive
 * index); Keras's other axes are not.
 *
 * Weights, Keras's order: gamma [F] ones (when scale), beta [F] zeros (when
 * center).
 *
 * Masks pass through unchanged: every step is normalized on its own, so a
 * padding step cannot affect a real one.
 *
 * Backward per row, xhat = (x - mean) * inv, dxhat = dy * gamma:
 *   dx = inv * (dxhat - (sum(dxhat) + xhat * sum(dxhat * xhat)) / F)
 *
 * Scratch (training only): mean and inv per row, so backward does not
 * recompute the statistics.
 */
#include <math.h>
#include <string.h>

#include "layers/conv_common.h"
#include "layers/layer.h"

typedef struct layernorm_config {
    float epsilon;
    int32_t center;
    int32_t scale;
} layernorm_config;

static const int32_t layernorm_allowed[] = {SEQNET_OPT_AXIS, SEQNET_OPT_EPSILON,
                                            SEQNET_OPT_CENTER, SEQNET_OPT_SCALE,
                                            SEQNET_OPT_TRAINABLE, 0};

static int layernorm_configure(sn_layer *L, sn_object *err)
{
    layernorm_config *c = L->config;
    double epsilon = 0.001;
    int rc;
    if ((rc = sn_cc_feature_axis(L, err)) ||
        (rc = sn_cc_float(L, err, SEQNET_OPT_EPSILON, "epsilon", 0.001, 0.0, 0, 1e10, 1,
                          &epsilon)) ||
        (rc = sn_cc_flag(L, err, SEQNET_OPT_CENTER, "center", 1, &c->center)) ||
        (rc = sn_cc_flag(L, err, SEQNET_OPT_SCALE, "scale", 1, &c->scale)) ||
        (rc = sn_cc_trainable(L, err)))
        return rc;
    c->epsilon = (float)epsilon;
    return SEQNET_OK;
}

static int layernorm_declare(sn_layer *L, sn_object *err)
{
    const layernorm_config *c = L->config;
    int64_t f = L->in_shapes[0].features;
    int n = 0;
    (void)err;
    if (c->scale)
        sn_cc_param(&L->params[n++], "gamma", 1, f, 0, 0, SN_INIT_ONES, 0.0f, L->trainable);
    if (c->center)
        sn_cc_param(&L->params[n++], "beta", 1, f, 0, 0, SN_INIT_ZEROS, 0.0f, L->trainable);
    L->n_params = n;
    return SEQNET_OK;
}

static size_t layernorm_scratch(const sn_layer *L, int32_t batch, const sn_shape *in,
                                int training)
{
    (void)L;
    return training ? 2 * sn_cc_rows(batch, &in[0]) * sizeof(float) : 0;
}

static const float *gamma_of(const sn_exec *e)
{
    const layernorm_config *c = e->layer->config;
    return c->scale ? e->params + e->layer->params[0].offset : NULL;
}

static const float *beta_of(const sn_exec *e)
{
    const layernorm_config *c = e->layer->config;
    return c->center ? e->params + e->layer->params[c->scale ? 1 : 0].offset : NULL;
}

/* Mean and 1 / sqrt(biased variance + epsilon) of one row, in double. */
static void row_statistics(const float *x, size_t f, float epsilon, float *mean, float *inv)
{
    double sum = 0.0, sq = 0.0, m;
    size_t j;
    for (j = 0; j < f; j++)
        sum += x[j];
    m = sum / (double)f;
    for (j = 0; j < f; j++) {
        double d = (double)x[j] - m;
        sq += d * d;
    }
    *mean = (float)m;
    *inv = (float)(1.0 / sqrt(sq / (double)f + (double)epsilon));
}

static int layernorm_forward(sn_exec *e)
{
    const layernorm_config *c = e->layer->config;
    const sn_tensor *in = e->in[0];
    size_t rows = (size_t)in->batch * (size_t)in->time, f = (size_t)in->features, r, j;
    const float *gamma = gamma_of(e), *beta = beta_of(e);
    float *saved = e->training ? e->scratch : NULL;

    if (e->training && saved == NULL)
        return sn_error(e->err, SEQNET_ESTATE, "layer '%s': no workspace", e->layer->name);
    for (r = 0; r < rows; r++) {
        const float *x = in->x + r * f;
        float *y = e->out->x + r * f, mean, inv;
        row_statistics(x, f, c->epsilon, &mean, &inv);
        if (saved != NULL) {
            saved[2 * r] = mean;
            saved[2 * r + 1] = inv;
        }
        for (j = 0; j < f; j++) {
            float v = (x[j] - mean) * inv;
            if (gamma != NULL)
                v *= gamma[j];
            y[j] = beta != NULL ? v + beta[j] : v;
        }
    }
    return SEQNET_OK;
}

static int layernorm_backward(sn_exec *e)
{
    const layernorm_config *c = e->layer->config;
    const sn_tensor *in = e->in[0];
    size_t rows = (size_t)in->batch * (size_t)in->time, f = (size_t)in->features, r, j;
    const float *gamma = gamma_of(e), *saved = e->scratch;
    float *d_gamma = NULL, *d_beta = NULL, *dx = e->grad_in[0];
    int accumulate = e->grad_in_accumulate[0];

    if (saved == NULL)
        return sn_error(e->err, SEQNET_ESTATE,
                        "layer '%s': backward needs a training forward pass first",
                        e->layer->name);
    if (e->grads != NULL) {
        if (c->scale)
            d_gamma = e->grads + e->layer->params[0].offset;
        if (c->center)
            d_beta = e->grads + e->layer->params[c->scale ? 1 : 0].offset;
        if (d_gamma != NULL)
            memset(d_gamma, 0, f * sizeof *d_gamma);
        if (d_beta != NULL)
            sn_cc_column_sums(e->grad_out, rows, f, d_beta);
    }
    for (r = 0; r < rows; r++) {
        const float *x = in->x + r * f, *g = e->grad_out + r * f;
        float mean = saved[2 * r], inv = saved[2 * r + 1];
        double sum_dxhat = 0.0, sum_dxhat_xhat = 0.0, inv_f = 1.0 / (double)f;
        for (j = 0; j < f; j++) {
            float xhat = (x[j] - mean) * inv;
            float dxhat = gamma != NULL ? g[j] * gamma[j] : g[j];
            sum_dxhat += dxhat;
            sum_dxhat_xhat += (double)dxhat * xhat;
            if (d_gamma != NULL)
                d_gamma[j] += g[j] * xhat;
        }
        if (dx == NULL)
            continue;
        for (j = 0; j < f; j++) {
            double xhat = ((double)x[j] - mean) * inv;
            double dxhat = gamma != NULL ? (double)g[j] * gamma[j] : g[j];
            float val = (float)(inv * (dxhat - (sum_dxhat + xhat * sum_dxhat_xhat) * inv_f));
            float *d = dx + r * f + j;
            *d = accumulate ? *d + val : val;
        }
    }
    return SEQNET_OK;
}

const sn_layer_ops sn_layer_normalization_ops = {
    .kind = SEQNET_LAYER_LAYER_NORMALIZATION,
    .class_name = "LayerNormalization",
    .auto_name = "layer_normalization",
    .min_inputs = 1,
    .max_inputs = 1,
    .mask_mode = SN_MASK_PASS,
    .config_size = sizeof(layernorm_config),
    .allowed_opts = layernorm_allowed,
    .configure = layernorm_configure,
    .infer = sn_cc_infer_same,
    .declare_params = layernorm_declare,
    .scratch_size = layernorm_scratch,
    .forward = layernorm_forward,
    .backward = layernorm_backward,
};
