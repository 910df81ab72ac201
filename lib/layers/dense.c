/*
 * lib/layers/dense.c -- Dense(units, activation, use_bias): y = f(x W + b).
 *
 * Like Keras, Dense applies to the last axis: a vector batch [B, F] is B rows,
 * a sequence batch [B, T, F] is B*T rows, and both are one matrix product
 * [rows, F] x [F, units] (a single GEMV when there is one row, the latency
 * path of one-message inference).
 *
 * Masks pass through unchanged. The outputs of masked (padding) steps are
 * computed like any other step, exactly as Keras computes them; downstream
 * mask-aware layers and losses ignore them, so the gradient that flows back
 * into those rows is zero and they do not affect the weights.
 *
 * Scratch (training only): the pre-activation Z when the activation's
 * derivative needs it (gelu), then dZ for backward (any non-linear
 * activation). Backward reads the forward input e->in[0]->x and output
 * e->out->x, which the executor keeps alive for training.
 */
#include <string.h>

#include "core/blas.h"
#include "layers/activation.h"
#include "layers/layer.h"

typedef struct dense_config {
    int32_t units;
    int32_t act;
    int32_t use_bias;
} dense_config;

enum { P_KERNEL = 0, P_BIAS = 1 };

static const int32_t dense_allowed[] = {SEQNET_OPT_UNITS, SEQNET_OPT_ACTIVATION,
                                        SEQNET_OPT_USE_BIAS, SEQNET_OPT_TRAINABLE, 0};

/* Read a 0/1 flag with a default; EINVAL for another value or type. */
static int read_flag(const sn_layer *L, sn_object *err, int key, const char *what, int dflt,
                     int *out)
{
    int64_t v = dflt;
    int got = sn_opts_int(&L->opts, key, &v);
    if (got < 0 || v < 0 || v > 1)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': %s must be 0 or 1", L->name, what);
    *out = (int)v;
    return SEQNET_OK;
}

static int dense_configure(sn_layer *L, sn_object *err)
{
    dense_config *c = L->config;
    const char *act_name = "linear";
    int64_t units = 0;
    int got, use_bias = 1, trainable = 1, rc;

    got = sn_opts_int(&L->opts, SEQNET_OPT_UNITS, &units);
    if (got == 0)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': Dense needs units", L->name);
    if (got < 0 || units < 1 || units > INT32_MAX)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': units must be an integer >= 1",
                        L->name);
    if (sn_opts_string(&L->opts, SEQNET_OPT_ACTIVATION, &act_name) < 0 ||
        sn_act_from_name(act_name) < 0)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': unknown activation", L->name);
    if ((rc = read_flag(L, err, SEQNET_OPT_USE_BIAS, "use_bias", 1, &use_bias)) != SEQNET_OK)
        return rc;
    if ((rc = read_flag(L, err, SEQNET_OPT_TRAINABLE, "trainable", 1, &trainable)) != SEQNET_OK)
        return rc;
    c->units = (int32_t)units;
    c->act = sn_act_from_name(act_name);
    c->use_bias = use_bias;
    L->trainable = (int8_t)trainable;
    return SEQNET_OK;
}

static int dense_infer(const sn_layer *L, const sn_shape *in, int32_t n_in, sn_shape *out,
                       sn_object *err)
{
    const dense_config *c = L->config;
    (void)n_in;
    if (in[0].is_tokens)
        return sn_layer_shape_error(L, err, "Dense expects float input, not token ids "
                                            "(add an Embedding first)");
    if (in[0].features < 1)
        return sn_layer_shape_error(L, err, "Dense input has no features");
    *out = in[0];
    out->features = c->units;
    return SEQNET_OK;
}

static void set_param(sn_param *p, const char *name, int32_t rank, int64_t d0, int64_t d1,
                      int32_t init, int8_t trainable)
{
    memset(p, 0, sizeof *p);
    strncpy(p->name, name, sizeof p->name - 1);
    p->rank = rank;
    p->dims[0] = d0;
    p->dims[1] = rank > 1 ? d1 : 0;
    p->count = rank > 1 ? d0 * d1 : d0;
    p->init = init;
    p->trainable = trainable;
}

static int dense_declare(sn_layer *L, sn_object *err)
{
    const dense_config *c = L->config;
    (void)err;
    /* Keras order: kernel [in, units], then bias [units]. */
    set_param(&L->params[P_KERNEL], "kernel", 2, L->in_shapes[0].features, c->units,
              SN_INIT_GLOROT_UNIFORM, L->trainable);
    L->n_params = 1;
    if (c->use_bias) {
        set_param(&L->params[P_BIAS], "bias", 1, c->units, 0, SN_INIT_ZEROS, L->trainable);
        L->n_params = 2;
    }
    return SEQNET_OK;
}

static size_t rows_of(int32_t batch, const sn_shape *s)
{
    return (size_t)batch * (size_t)(s->time >= 1 ? s->time : 1);
}

static size_t dense_scratch(const sn_layer *L, int32_t batch, const sn_shape *in, int training)
{
    const dense_config *c = L->config;
    size_t per_buffer = rows_of(batch, &in[0]) * (size_t)c->units * sizeof(float);
    size_t n_buffers = 0;
    if (!training)
        return 0;
    n_buffers += sn_act_needs_input(c->act) ? 1u : 0u; /* Z */
    n_buffers += c->act != SN_ACT_LINEAR ? 1u : 0u;   /* dZ */
    return n_buffers * per_buffer;
}

/* Scratch layout: [Z if needed][dZ if needed]. */
static float *scratch_z(const dense_config *c, void *scratch)
{
    return sn_act_needs_input(c->act) ? scratch : NULL;
}

static float *scratch_dz(const dense_config *c, void *scratch, size_t n)
{
    return (float *)scratch + (sn_act_needs_input(c->act) ? n : 0);
}

static int dense_forward(sn_exec *e)
{
    const sn_layer *L = e->layer;
    const dense_config *c = L->config;
    const sn_tensor *in = e->in[0];
    size_t rows = (size_t)in->batch * (size_t)in->time;
    size_t n_in = (size_t)in->features, units = (size_t)c->units;
    const float *kernel = e->params + L->params[P_KERNEL].offset;
    float *y = e->out->x;
    float beta = 0.0f;

    if (c->use_bias) {
        const float *bias = e->params + L->params[P_BIAS].offset;
        sn_fill_rows(y, bias, rows, units);
        beta = 1.0f;
    }
    if (rows == 1)
        sn_gemv(1, n_in, units, 1.0f, kernel, units, in->x, beta, y);
    else
        sn_gemm(0, 0, rows, units, n_in, 1.0f, in->x, n_in, kernel, units, beta, y, units);

    if (e->training && sn_act_needs_input(c->act))
        memcpy(scratch_z(c, e->scratch), y, rows * units * sizeof *y);
    sn_act_forward(c->act, y, y, rows, units);
    return SEQNET_OK;
}

static int dense_backward(sn_exec *e)
{
    const sn_layer *L = e->layer;
    const dense_config *c = L->config;
    const sn_tensor *in = e->in[0];
    size_t rows = (size_t)in->batch * (size_t)in->time, r, u;
    size_t n_in = (size_t)in->features, units = (size_t)c->units;
    const float *dz = e->grad_out;

    if (c->act != SN_ACT_LINEAR) {
        float *buf;
        if (e->scratch == NULL)
            return sn_error(e->err, SEQNET_ESTATE,
                            "layer '%s': backward needs a training forward pass first", L->name);
        buf = scratch_dz(c, e->scratch, rows * units);
        memcpy(buf, e->grad_out, rows * units * sizeof *buf);
        sn_act_backward(c->act, scratch_z(c, e->scratch), e->out->x, buf, rows, units);
        dz = buf;
    }
    if (e->grads != NULL) {
        float *d_kernel = e->grads + L->params[P_KERNEL].offset;
        sn_gemm(1, 0, n_in, units, rows, 1.0f, in->x, n_in, dz, units, 0.0f, d_kernel, units);
        if (c->use_bias) {
            float *d_bias = e->grads + L->params[P_BIAS].offset;
            memset(d_bias, 0, units * sizeof *d_bias);
            for (r = 0; r < rows; r++)
                for (u = 0; u < units; u++)
                    d_bias[u] += dz[r * units + u];
        }
    }
    if (e->grad_in[0] != NULL) {
        const float *kernel = e->params + L->params[P_KERNEL].offset;
        sn_gemm(0, 1, rows, n_in, units, 1.0f, dz, units, kernel, units,
                e->grad_in_accumulate[0] ? 1.0f : 0.0f, e->grad_in[0], n_in);
    }
    return SEQNET_OK;
}

const sn_layer_ops sn_dense_ops = {
    .kind = SEQNET_LAYER_DENSE,
    .class_name = "Dense",
    .auto_name = "dense",
    .min_inputs = 1,
    .max_inputs = 1,
    .mask_mode = SN_MASK_PASS,
    .config_size = sizeof(dense_config),
    .allowed_opts = dense_allowed,
    .configure = dense_configure,
    .infer = dense_infer,
    .declare_params = dense_declare,
    .scratch_size = dense_scratch,
    .forward = dense_forward,
    .backward = dense_backward,
};
