/*
 * lib/layers/batchnorm.c -- BatchNormalization(axis=-1, momentum=0.99,
 * epsilon=0.001, center=True, scale=True), Keras's defaults.
 *
 *   y = gamma * (x - mean) / sqrt(var + epsilon) + beta      per feature
 *
 * Training (a training forward on a trainable layer): mean and var are the
 * batch statistics over every row (B rows for vectors, B*T for sequences),
 * var biased (divided by the row count), as Keras normalizes. With a
 * padding mask only the real steps count (Keras 2.9+ and 3 take the mask
 * into the moments the same way); masked steps are still normalized with
 * those statistics, so their values stay finite, and their outputs carry
 * the mask on (SN_MASK_PASS). A batch whose every step is masked has no
 * statistics: it is normalized with mean 0 and variance 0 and leaves the
 * moving averages alone.
 *
 * Inference, and a frozen layer (trainable = 0) even in training -- Keras 2
 * and 3 run a non-trainable BatchNormalization in inference mode: mean and
 * var are moving_mean and moving_variance.
 *
 * Moving averages: forward sees the parameters read-only, so it leaves the
 * batch statistics in scratch and the trainer applies the update through
 * sn_batchnorm_update_moving (batchnorm.h), with the biased batch variance
 * as Keras does.
 *
 * Weights, Keras's get_weights order: gamma (ones, when scale), beta (zeros,
 * when center), moving_mean (zeros), moving_variance (ones); the last two
 * are non-trainable and counted by count_params as Keras counts them.
 *
 * Backward through the batch statistics (training mode), per feature, with
 * N real rows, xhat = (x - mean) * inv, dxhat = dy * gamma:
 *   dx = inv * (dxhat - [real] * (sum(dxhat) + xhat * sum(dxhat * xhat)) / N)
 * sums over all rows (masked rows' outputs depend on the statistics too;
 * their own x does not feed them, hence [real]). In inference mode it is
 * just inv * dxhat. The moving statistics get a zero gradient.
 *
 * Scratch (both modes): a small header (which statistics forward used and
 * the real-row count), two double accumulators per feature, then mean, the
 * biased variance and inv = 1 / sqrt(var + epsilon) per feature.
 */
#include <math.h>
#include <string.h>

#include "layers/batchnorm.h"
#include "layers/conv_common.h"
#include "layers/layer.h"

typedef struct batchnorm_config {
    float momentum;
    float epsilon;
    int32_t center;
    int32_t scale;
} batchnorm_config;

static const int32_t batchnorm_allowed[] = {SEQNET_OPT_AXIS,   SEQNET_OPT_MOMENTUM,
                                            SEQNET_OPT_EPSILON, SEQNET_OPT_CENTER,
                                            SEQNET_OPT_SCALE,  SEQNET_OPT_TRAINABLE, 0};

/* Parameter indices (gamma and beta are optional). */
typedef struct bn_params {
    int gamma, beta, moving_mean, moving_var;
} bn_params;

static bn_params param_index(const batchnorm_config *c)
{
    bn_params p;
    int next = 0;
    p.gamma = c->scale ? next++ : -1;
    p.beta = c->center ? next++ : -1;
    p.moving_mean = next++;
    p.moving_var = next;
    return p;
}

static int batchnorm_configure(sn_layer *L, sn_object *err)
{
    batchnorm_config *c = L->config;
    double momentum = 0.99, epsilon = 0.001;
    int rc;
    if ((rc = sn_cc_feature_axis(L, err)) ||
        (rc = sn_cc_float(L, err, SEQNET_OPT_MOMENTUM, "momentum", 0.99, 0.0, 1, 1.0, 1,
                          &momentum)) ||
        (rc = sn_cc_float(L, err, SEQNET_OPT_EPSILON, "epsilon", 0.001, 0.0, 0, 1e10, 1,
                          &epsilon)) ||
        (rc = sn_cc_flag(L, err, SEQNET_OPT_CENTER, "center", 1, &c->center)) ||
        (rc = sn_cc_flag(L, err, SEQNET_OPT_SCALE, "scale", 1, &c->scale)) ||
        (rc = sn_cc_trainable(L, err)))
        return rc;
    c->momentum = (float)momentum;
    c->epsilon = (float)epsilon;
    return SEQNET_OK;
}

static int batchnorm_declare(sn_layer *L, sn_object *err)
{
    const batchnorm_config *c = L->config;
    bn_params p = param_index(c);
    int64_t f = L->in_shapes[0].features;
    (void)err;
    if (c->scale)
        sn_cc_param(&L->params[p.gamma], "gamma", 1, f, 0, 0, SN_INIT_ONES, 0.0f, L->trainable);
    if (c->center)
        sn_cc_param(&L->params[p.beta], "beta", 1, f, 0, 0, SN_INIT_ZEROS, 0.0f, L->trainable);
    sn_cc_param(&L->params[p.moving_mean], "moving_mean", 1, f, 0, 0, SN_INIT_ZEROS, 0.0f, 0);
    sn_cc_param(&L->params[p.moving_var], "moving_variance", 1, f, 0, 0, SN_INIT_ONES, 0.0f, 0);
    L->n_params = p.moving_var + 1;
    return SEQNET_OK;
}

/* ---- scratch ------------------------------------------------------------ */

typedef struct bn_header {
    int32_t batch_stats; /* 1: forward used (and left) batch statistics */
    int32_t unused;
    int64_t n_real;      /* real rows the statistics cover */
} bn_header;

typedef struct bn_view {
    bn_header *hdr;
    double *acc1, *acc2;
    float *mean, *var, *inv;
} bn_view;

static size_t scratch_bytes(size_t features)
{
    return sizeof(bn_header) + 2 * features * sizeof(double) + 3 * features * sizeof(float);
}

static bn_view scratch_view(void *scratch, size_t features)
{
    bn_view v;
    char *s = scratch;
    v.hdr = (bn_header *)(void *)s;
    v.acc1 = (double *)(void *)(s + sizeof(bn_header));
    v.acc2 = v.acc1 + features;
    v.mean = (float *)(void *)(v.acc2 + features);
    v.var = v.mean + features;
    v.inv = v.var + features;
    return v;
}

static size_t batchnorm_scratch(const sn_layer *L, int32_t batch, const sn_shape *in,
                                int training)
{
    (void)L;
    (void)batch;
    (void)training;
    return scratch_bytes((size_t)in[0].features);
}

/* ---- forward ------------------------------------------------------------ */

static inline int row_is_real(const sn_tensor *in, size_t row)
{
    return in->mask == NULL || in->mask[row] != 0;
}

/* Mean and biased variance over the real rows, two passes in double. */
static void batch_statistics(const sn_tensor *in, bn_view *v, size_t rows, size_t f)
{
    size_t r, j;
    int64_t n = 0;
    memset(v->acc1, 0, f * sizeof *v->acc1);
    memset(v->acc2, 0, f * sizeof *v->acc2);
    for (r = 0; r < rows; r++) {
        const float *x = in->x + r * f;
        if (!row_is_real(in, r))
            continue;
        n++;
        for (j = 0; j < f; j++)
            v->acc1[j] += x[j];
    }
    for (j = 0; j < f; j++)
        v->mean[j] = n > 0 ? (float)(v->acc1[j] / (double)n) : 0.0f;
    for (r = 0; r < rows; r++) {
        const float *x = in->x + r * f;
        if (!row_is_real(in, r))
            continue;
        for (j = 0; j < f; j++) {
            double d = (double)x[j] - (double)v->mean[j];
            v->acc2[j] += d * d;
        }
    }
    for (j = 0; j < f; j++)
        v->var[j] = n > 0 ? (float)(v->acc2[j] / (double)n) : 0.0f;
    v->hdr->n_real = n;
}

static int batchnorm_forward(sn_exec *e)
{
    const sn_layer *L = e->layer;
    const batchnorm_config *c = L->config;
    bn_params p = param_index(c);
    const sn_tensor *in = e->in[0];
    size_t rows = (size_t)in->batch * (size_t)in->time, f = (size_t)in->features, r, j;
    const float *gamma = c->scale ? e->params + L->params[p.gamma].offset : NULL;
    const float *beta = c->center ? e->params + L->params[p.beta].offset : NULL;
    bn_view v;

    if (e->scratch == NULL)
        return sn_error(e->err, SEQNET_ESTATE, "layer '%s': no workspace", L->name);
    v = scratch_view(e->scratch, f);
    v.hdr->batch_stats = e->training && L->trainable;
    if (v.hdr->batch_stats) {
        batch_statistics(in, &v, rows, f);
    } else {
        memcpy(v.mean, e->params + L->params[p.moving_mean].offset, f * sizeof *v.mean);
        memcpy(v.var, e->params + L->params[p.moving_var].offset, f * sizeof *v.var);
        v.hdr->n_real = 0;
    }
    for (j = 0; j < f; j++)
        v.inv[j] = (float)(1.0 / sqrt((double)v.var[j] + (double)c->epsilon));
    /* Fold gamma into the scale once: y = x * a + b per feature. */
    for (j = 0; j < f; j++) {
        float a = v.inv[j] * (gamma != NULL ? gamma[j] : 1.0f);
        v.acc1[j] = a;
        v.acc2[j] = (beta != NULL ? beta[j] : 0.0f) - v.mean[j] * a;
    }
    for (r = 0; r < rows; r++) {
        const float *x = in->x + r * f;
        float *y = e->out->x + r * f;
        for (j = 0; j < f; j++)
            y[j] = (float)(x[j] * v.acc1[j] + v.acc2[j]);
    }
    return SEQNET_OK;
}

/* ---- backward ----------------------------------------------------------- */

static int batchnorm_backward(sn_exec *e)
{
    const sn_layer *L = e->layer;
    const batchnorm_config *c = L->config;
    bn_params p = param_index(c);
    const sn_tensor *in = e->in[0];
    size_t rows = (size_t)in->batch * (size_t)in->time, f = (size_t)in->features, r, j;
    const float *gamma = c->scale ? e->params + L->params[p.gamma].offset : NULL;
    float *d_gamma = NULL, *d_beta = NULL, *dx = e->grad_in[0];
    double *sum_dxhat, *sum_dxhat_xhat;
    bn_view v;

    if (e->scratch == NULL)
        return sn_error(e->err, SEQNET_ESTATE,
                        "layer '%s': backward needs a training forward pass first", L->name);
    v = scratch_view(e->scratch, f);
    sum_dxhat = v.acc1;
    sum_dxhat_xhat = v.acc2;
    memset(sum_dxhat, 0, f * sizeof *sum_dxhat);
    memset(sum_dxhat_xhat, 0, f * sizeof *sum_dxhat_xhat);

    /* One pass: sums for the statistics' gradient, gamma and beta. */
    for (r = 0; r < rows; r++) {
        const float *x = in->x + r * f, *g = e->grad_out + r * f;
        for (j = 0; j < f; j++) {
            double xhat = ((double)x[j] - v.mean[j]) * v.inv[j];
            double dxhat = (double)g[j] * (gamma != NULL ? gamma[j] : 1.0f);
            sum_dxhat[j] += dxhat;
            sum_dxhat_xhat[j] += dxhat * xhat;
        }
    }
    if (e->grads != NULL) {
        if (c->scale)
            d_gamma = e->grads + L->params[p.gamma].offset;
        if (c->center)
            d_beta = e->grads + L->params[p.beta].offset;
        /* sum(g * xhat) = sum(dxhat * xhat) / gamma would divide by zero
         * for a zero gamma; recompute instead. */
        if (d_gamma != NULL) {
            memset(d_gamma, 0, f * sizeof *d_gamma);
            for (r = 0; r < rows; r++) {
                const float *x = in->x + r * f, *g = e->grad_out + r * f;
                for (j = 0; j < f; j++)
                    d_gamma[j] += g[j] * (x[j] - v.mean[j]) * v.inv[j];
            }
        }
        if (d_beta != NULL)
            sn_cc_column_sums(e->grad_out, rows, f, d_beta);
        memset(e->grads + L->params[p.moving_mean].offset, 0, f * sizeof(float));
        memset(e->grads + L->params[p.moving_var].offset, 0, f * sizeof(float));
    }
    if (dx == NULL)
        return SEQNET_OK;
    for (r = 0; r < rows; r++) {
        const float *x = in->x + r * f, *g = e->grad_out + r * f;
        float *d = dx + r * f;
        int through_stats = v.hdr->batch_stats && row_is_real(in, r) && v.hdr->n_real > 0;
        double inv_n = through_stats ? 1.0 / (double)v.hdr->n_real : 0.0;
        for (j = 0; j < f; j++) {
            double xhat = ((double)x[j] - v.mean[j]) * v.inv[j];
            double dxhat = (double)g[j] * (gamma != NULL ? gamma[j] : 1.0f);
            double val = v.inv[j] * (dxhat - (sum_dxhat[j] + xhat * sum_dxhat_xhat[j]) * inv_n);
            d[j] = e->grad_in_accumulate[0] ? d[j] + (float)val : (float)val;
        }
    }
    return SEQNET_OK;
}

/* ---- the moving averages (called by the trainer) -------------------------- */

void sn_batchnorm_update_moving(const sn_layer *L, float *params, const void *scratch)
{
    const batchnorm_config *c;
    bn_params p;
    size_t f, j;
    bn_view v;
    float *moving_mean, *moving_var, keep, take;

    if (L == NULL || params == NULL || scratch == NULL ||
        L->kind != SEQNET_LAYER_BATCH_NORMALIZATION || L->config == NULL)
        return;
    c = L->config;
    p = param_index(c);
    f = (size_t)L->in_shapes[0].features;
    v = scratch_view((void *)(uintptr_t)scratch, f); /* read only below */
    if (!v.hdr->batch_stats || v.hdr->n_real <= 0)
        return;
    moving_mean = params + L->params[p.moving_mean].offset;
    moving_var = params + L->params[p.moving_var].offset;
    keep = c->momentum;
    take = 1.0f - c->momentum;
    for (j = 0; j < f; j++) {
        moving_mean[j] = moving_mean[j] * keep + v.mean[j] * take;
        moving_var[j] = moving_var[j] * keep + v.var[j] * take;
    }
}

const sn_layer_ops sn_batch_normalization_ops = {
    .kind = SEQNET_LAYER_BATCH_NORMALIZATION,
    .class_name = "BatchNormalization",
    .auto_name = "batch_normalization",
    .min_inputs = 1,
    .max_inputs = 1,
    .mask_mode = SN_MASK_PASS,
    .config_size = sizeof(batchnorm_config),
    .allowed_opts = batchnorm_allowed,
    .configure = batchnorm_configure,
    .infer = sn_cc_infer_same,
    .declare_params = batchnorm_declare,
    .scratch_size = batchnorm_scratch,
    .forward = batchnorm_forward,
    .backward = batchnorm_backward,
    .after_step = sn_batchnorm_update_moving,
};
