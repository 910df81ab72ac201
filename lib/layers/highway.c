/*
 * lib/layers/highway.c -- Highway(activation='linear', use_bias=True,
 * gate_bias=-2.0): y = H(x) * T(x) + x * (1 - T(x)).
 *
 *   H(x) = act(x W_H + b_H)        the transform, square [F, F] kernel
 *   T(x) = sigmoid(x W_T + b_T)    the gate, b_T initialized to gate_bias
 *
 * Srivastava, Greff and Schmidhuber ("Training Very Deep Networks", 2015)
 * start the gate bias negative (-1 to -3 depending on depth) so every layer
 * begins by mostly carrying its input through: the gradient reaches the
 * bottom of a deep stack unattenuated, and layers learn to open their gates
 * as training finds use for them. Our default is -2.0, the value Keras 1's
 * Highway layer used (transform_bias=-2); choose it with
 * SEQNET_OPT_GATE_BIAS. The default activation is 'linear', again Keras 1's
 * default; deep highway stacks usually want 'relu' or 'tanh' (the paper's
 * experiments), given with SEQNET_OPT_ACTIVATION.
 *
 * Weights, in Keras 1's order (W, b, W_carry, b_carry): kernel [F, F]
 * glorot_uniform, bias [F] zeros, transform_kernel [F, F] glorot_uniform,
 * transform_bias [F] = gate_bias. With use_bias=0 both biases are absent
 * (and the gate starts half open, as in Keras 1).
 *
 * Works on vectors and on sequences (per step: B*T rows, two GEMMs each
 * way). Masks pass through unchanged, like Dense: masked steps are
 * computed and get no gradient from mask-aware consumers.
 *
 * Scratch: T (inference and training, the gate), then in training H, the
 * pre-activation Z_H when the activation's derivative needs it (gelu), and
 * dZ_H, dZ_T for backward.
 */
#include <string.h>

#include "core/blas.h"
#include "layers/activation.h"
#include "layers/conv_common.h"
#include "layers/layer.h"

#define HIGHWAY_DEFAULT_GATE_BIAS (-2.0)

typedef struct highway_config {
    int32_t act;
    int32_t use_bias;
    float gate_bias;
} highway_config;

static const int32_t highway_allowed[] = {SEQNET_OPT_ACTIVATION, SEQNET_OPT_USE_BIAS,
                                          SEQNET_OPT_GATE_BIAS, SEQNET_OPT_TRAINABLE, 0};

static int highway_configure(sn_layer *L, sn_object *err)
{
    highway_config *c = L->config;
    double gate_bias = HIGHWAY_DEFAULT_GATE_BIAS;
    int rc;
    if ((rc = sn_cc_activation(L, err, &c->act)) ||
        (rc = sn_cc_flag(L, err, SEQNET_OPT_USE_BIAS, "use_bias", 1, &c->use_bias)) ||
        (rc = sn_cc_float(L, err, SEQNET_OPT_GATE_BIAS, "gate_bias", HIGHWAY_DEFAULT_GATE_BIAS,
                          -1e4, 1, 1e4, 1, &gate_bias)) ||
        (rc = sn_cc_trainable(L, err)))
        return rc;
    c->gate_bias = (float)gate_bias;
    return SEQNET_OK;
}

/* Parameter indices depend on use_bias. */
typedef struct highway_params {
    int kernel, bias, gate_kernel, gate_bias;
} highway_params;

static highway_params param_index(const highway_config *c)
{
    highway_params p;
    p.kernel = 0;
    p.bias = c->use_bias ? 1 : -1;
    p.gate_kernel = c->use_bias ? 2 : 1;
    p.gate_bias = c->use_bias ? 3 : -1;
    return p;
}

static int highway_declare(sn_layer *L, sn_object *err)
{
    const highway_config *c = L->config;
    highway_params p = param_index(c);
    int64_t f = L->in_shapes[0].features;
    (void)err;
    sn_cc_param(&L->params[p.kernel], "kernel", 2, f, f, 0, SN_INIT_GLOROT_UNIFORM, 0.0f,
                L->trainable);
    sn_cc_param(&L->params[p.gate_kernel], "transform_kernel", 2, f, f, 0,
                SN_INIT_GLOROT_UNIFORM, 0.0f, L->trainable);
    if (c->use_bias) {
        sn_cc_param(&L->params[p.bias], "bias", 1, f, 0, 0, SN_INIT_ZEROS, 0.0f, L->trainable);
        sn_cc_param(&L->params[p.gate_bias], "transform_bias", 1, f, 0, 0, SN_INIT_CONSTANT,
                    c->gate_bias, L->trainable);
    }
    L->n_params = c->use_bias ? 4 : 2;
    return SEQNET_OK;
}

static size_t highway_scratch(const sn_layer *L, int32_t batch, const sn_shape *in, int training)
{
    const highway_config *c = L->config;
    size_t n = sn_cc_rows(batch, &in[0]) * (size_t)in[0].features;
    size_t buffers = 1; /* T */
    if (training)
        buffers += 3 + (sn_act_needs_input(c->act) ? 1u : 0u); /* H, dZ_H, dZ_T, Z_H */
    return buffers * n * sizeof(float);
}

/* Scratch views for n = rows * features floats each. */
typedef struct highway_scratch_view {
    float *gate, *h, *dz_h, *dz_t, *z_h;
} highway_scratch_view;

static highway_scratch_view scratch_view(const highway_config *c, void *scratch, size_t n)
{
    highway_scratch_view v;
    float *s = scratch;
    v.gate = s;
    v.h = s + n;
    v.dz_h = s + 2 * n;
    v.dz_t = s + 3 * n;
    v.z_h = sn_act_needs_input(c->act) ? s + 4 * n : NULL;
    return v;
}

/* z[r, :] = x[r, :] W + b (b may be NULL). */
static void affine(size_t rows, size_t f, const float *x, const float *w, const float *b,
                   float *z)
{
    size_t r;
    if (b != NULL)
        for (r = 0; r < rows; r++)
            memcpy(z + r * f, b, f * sizeof *z);
    if (rows == 1)
        sn_gemv(1, f, f, 1.0f, w, f, x, b != NULL ? 1.0f : 0.0f, z);
    else
        sn_gemm(0, 0, rows, f, f, 1.0f, x, f, w, f, b != NULL ? 1.0f : 0.0f, z, f);
}

static int highway_forward(sn_exec *e)
{
    const sn_layer *L = e->layer;
    const highway_config *c = L->config;
    highway_params p = param_index(c);
    const sn_tensor *in = e->in[0];
    size_t rows = (size_t)in->batch * (size_t)in->time, f = (size_t)in->features;
    size_t n = rows * f, k;
    const float *x = in->x;
    float *y = e->out->x, *h;
    highway_scratch_view v;

    if (e->scratch == NULL)
        return sn_error(e->err, SEQNET_ESTATE, "layer '%s': no workspace", L->name);
    v = scratch_view(c, e->scratch, n);
    /* Gate. */
    affine(rows, f, x, e->params + L->params[p.gate_kernel].offset,
           c->use_bias ? e->params + L->params[p.gate_bias].offset : NULL, v.gate);
    sn_act_forward(SN_ACT_SIGMOID, v.gate, v.gate, rows, f);
    /* Transform: into H (kept for backward) in training, straight into y otherwise. */
    h = e->training ? v.h : y;
    affine(rows, f, x, e->params + L->params[p.kernel].offset,
           c->use_bias ? e->params + L->params[p.bias].offset : NULL, h);
    if (e->training && v.z_h != NULL)
        memcpy(v.z_h, h, n * sizeof *h);
    sn_act_forward(c->act, h, h, rows, f);
    /* y = x + T (H - x): the carry form, one pass. */
    for (k = 0; k < n; k++)
        y[k] = x[k] + v.gate[k] * (h[k] - x[k]);
    return SEQNET_OK;
}

static int highway_backward(sn_exec *e)
{
    const sn_layer *L = e->layer;
    const highway_config *c = L->config;
    highway_params p = param_index(c);
    const sn_tensor *in = e->in[0];
    size_t rows = (size_t)in->batch * (size_t)in->time, f = (size_t)in->features;
    size_t n = rows * f, k;
    const float *x = in->x, *g = e->grad_out;
    highway_scratch_view v;

    if (e->scratch == NULL)
        return sn_error(e->err, SEQNET_ESTATE,
                        "layer '%s': backward needs a training forward pass first", L->name);
    v = scratch_view(c, e->scratch, n);
    for (k = 0; k < n; k++) {
        float t = v.gate[k];
        v.dz_h[k] = g[k] * t;                               /* dL/dH */
        v.dz_t[k] = g[k] * (v.h[k] - x[k]) * t * (1.0f - t); /* through the sigmoid */
    }
    sn_act_backward(c->act, v.z_h, v.h, v.dz_h, rows, f);

    if (e->grads != NULL) {
        sn_gemm(1, 0, f, f, rows, 1.0f, x, f, v.dz_h, f, 0.0f,
                e->grads + L->params[p.kernel].offset, f);
        sn_gemm(1, 0, f, f, rows, 1.0f, x, f, v.dz_t, f, 0.0f,
                e->grads + L->params[p.gate_kernel].offset, f);
        if (c->use_bias) {
            sn_cc_column_sums(v.dz_h, rows, f, e->grads + L->params[p.bias].offset);
            sn_cc_column_sums(v.dz_t, rows, f, e->grads + L->params[p.gate_bias].offset);
        }
    }
    if (e->grad_in[0] != NULL) {
        float *dx = e->grad_in[0];
        /* The carry path g (1 - T), then both matrix paths added by GEMM. */
        if (e->grad_in_accumulate[0])
            for (k = 0; k < n; k++)
                dx[k] += g[k] * (1.0f - v.gate[k]);
        else
            for (k = 0; k < n; k++)
                dx[k] = g[k] * (1.0f - v.gate[k]);
        sn_gemm(0, 1, rows, f, f, 1.0f, v.dz_h, f, e->params + L->params[p.kernel].offset, f,
                1.0f, dx, f);
        sn_gemm(0, 1, rows, f, f, 1.0f, v.dz_t, f, e->params + L->params[p.gate_kernel].offset,
                f, 1.0f, dx, f);
    }
    return SEQNET_OK;
}

const sn_layer_ops sn_highway_ops = {
    .kind = SEQNET_LAYER_HIGHWAY,
    .class_name = "Highway",
    .auto_name = "highway",
    .min_inputs = 1,
    .max_inputs = 1,
    .mask_mode = SN_MASK_PASS,
    .config_size = sizeof(highway_config),
    .allowed_opts = highway_allowed,
    .configure = highway_configure,
    .infer = sn_cc_infer_same,
    .declare_params = highway_declare,
    .scratch_size = highway_scratch,
    .forward = highway_forward,
    .backward = highway_backward,
};
