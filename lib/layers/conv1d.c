/*
 * lib/layers/conv1d.c -- Conv1D(filters, kernel_size, strides, padding,
 * dilation_rate, activation, use_bias) over sequences [B, T, F].
 *
 * Keras semantics, step for step (see sn_cc_window for the arithmetic):
 *   y[b, t, :] = f(b + sum_j x[b, t*s + j*d - pad_left, :] W[j])
 * where rows outside [0, T) are zeros. 'same' pads like TensorFlow (the odd
 * step goes to the right), 'causal' pads d*(k-1) steps on the left so step t
 * sees only steps <= t*s. Strides and dilation may be combined (TensorFlow
 * refuses that; the arithmetic is well defined and PyTorch agrees with us).
 *
 * Weights, Keras layout and initializers: kernel (kernel_size, in, filters)
 * glorot_uniform with fans in*k and filters*k, then bias (filters) zeros.
 * Row-major, that kernel is exactly a [k*in, filters] matrix, which is what
 * makes the im2col formulation below a single GEMM with no repacking.
 *
 * Computation: im2col. The receptive fields of all B*T_out output steps are
 * copied into a [B*T_out, k*F] matrix in scratch (zeros where the window
 * falls into padding), then one GEMM [B*T_out, k*F] x [k*F, filters] gives
 * every output. Backward reuses the same matrix: dW = cols^T dZ (one GEMM),
 * dcols = dZ W^T (one GEMM, written over cols, which backward no longer
 * needs) and a scatter-add back to the input rows (col2im). One large GEMM
 * beats k small per-tap ones (K = k*F instead of F) and the copy is a
 * memory-bound pass of the same size as the GEMM's input. A 1-wide kernel
 * with stride 1 needs no copy at all: the input rows are the columns.
 *
 * Masks: refused (SN_MASK_REFUSE: a masked input is a SEQNET_ESHAPE error at
 * build time naming the layer). Keras 2's Conv1D does not support masking
 * either (it raises when given a mask); Keras 3 drops the mask silently,
 * which lets padding steps leak into real ones through the kernel's
 * receptive field -- exactly the silent misapplication we will not do.
 * Build the Embedding without mask_zero, or pool the sequence first.
 *
 * Scratch (inference and training): cols [B*T_out, k*F] (absent for the
 * 1-wide case); training adds Z [B*T_out, filters] when the activation's
 * derivative needs its input (gelu) and dZ when the activation is not
 * linear. Backward overwrites cols, so each backward needs its own forward
 * (the executor always runs them in pairs).
 */
#include <stdio.h>
#include <string.h>

#include "core/blas.h"
#include "layers/activation.h"
#include "layers/conv_common.h"
#include "layers/layer.h"

typedef struct conv1d_config {
    int32_t filters;
    int32_t kernel_size;
    int32_t strides;
    int32_t padding; /* enum sn_padding */
    int32_t dilation;
    int32_t act;
    int32_t use_bias;
} conv1d_config;

enum { P_KERNEL = 0, P_BIAS = 1 };

static const int32_t conv1d_allowed[] = {
    SEQNET_OPT_FILTERS,    SEQNET_OPT_KERNEL_SIZE, SEQNET_OPT_STRIDES,   SEQNET_OPT_PADDING,
    SEQNET_OPT_DILATION_RATE, SEQNET_OPT_ACTIVATION, SEQNET_OPT_USE_BIAS, SEQNET_OPT_TRAINABLE,
    0};

static int conv1d_configure(sn_layer *L, sn_object *err)
{
    conv1d_config *c = L->config;
    int rc;
    if ((rc = sn_cc_int(L, err, SEQNET_OPT_FILTERS, "filters", 1, 0, 1, &c->filters)) ||
        (rc = sn_cc_int(L, err, SEQNET_OPT_KERNEL_SIZE, "kernel_size", 1, 0, 1,
                        &c->kernel_size)) ||
        (rc = sn_cc_int(L, err, SEQNET_OPT_STRIDES, "strides", 0, 1, 1, &c->strides)) ||
        (rc = sn_cc_int(L, err, SEQNET_OPT_DILATION_RATE, "dilation_rate", 0, 1, 1,
                        &c->dilation)) ||
        (rc = sn_cc_padding(L, err, 1, &c->padding)) ||
        (rc = sn_cc_activation(L, err, &c->act)) ||
        (rc = sn_cc_flag(L, err, SEQNET_OPT_USE_BIAS, "use_bias", 1, &c->use_bias)) ||
        (rc = sn_cc_trainable(L, err)))
        return rc;
    /* The window span d*(k-1)+1 must stay a sane int32. */
    if ((int64_t)c->dilation * (c->kernel_size - 1) + 1 > (int64_t)1 << 28)
        return sn_error(err, SEQNET_EINVAL,
                        "layer '%s': dilation_rate * (kernel_size - 1) is too large", L->name);
    return SEQNET_OK;
}

static int32_t span_of(const conv1d_config *c)
{
    return c->dilation * (c->kernel_size - 1) + 1;
}

static int conv1d_infer(const sn_layer *L, const sn_shape *in, int32_t n_in, sn_shape *out,
                        sn_object *err)
{
    const conv1d_config *c = L->config;
    int32_t out_time, pad_left;
    (void)n_in;
    if (in[0].is_tokens)
        return sn_layer_shape_error(L, err, "Conv1D expects float sequences, not token ids "
                                            "(add an Embedding first)");
    if (in[0].time == SN_TIME_VECTOR)
        return sn_layer_shape_error(L, err, "Conv1D needs a sequence input [time, features], "
                                            "got a vector");
    if (sn_cc_window(in[0].time, span_of(c), c->strides, c->padding, &out_time, &pad_left) != 0) {
        char what[160];
        snprintf(what, sizeof what,
                 "the input has %d steps, fewer than the %d the kernel spans "
                 "(dilation_rate * (kernel_size - 1) + 1) with padding 'valid'",
                 (int)in[0].time, (int)span_of(c));
        return sn_layer_shape_error(L, err, what);
    }
    out->time = out_time;
    out->features = c->filters;
    out->is_tokens = 0;
    out->masked = 0;
    return SEQNET_OK;
}

static int conv1d_declare(sn_layer *L, sn_object *err)
{
    const conv1d_config *c = L->config;
    (void)err;
    sn_cc_param(&L->params[P_KERNEL], "kernel", 3, c->kernel_size, L->in_shapes[0].features,
                c->filters, SN_INIT_GLOROT_UNIFORM, 0.0f, L->trainable);
    L->n_params = 1;
    if (c->use_bias) {
        sn_cc_param(&L->params[P_BIAS], "bias", 1, c->filters, 0, 0, SN_INIT_ZEROS, 0.0f,
                    L->trainable);
        L->n_params = 2;
    }
    return SEQNET_OK;
}

/* Whether the input rows themselves are the im2col matrix. */
static int pointwise(const conv1d_config *c)
{
    return c->kernel_size == 1 && c->strides == 1;
}

/* Geometry of one run: rows of the output and of the column matrix. */
typedef struct conv_run {
    size_t batch, in_time, out_time, features, width; /* width = k * features */
    size_t out_rows;
    int32_t pad_left;
} conv_run;

static void run_geometry(const conv1d_config *c, int32_t batch, int32_t in_time,
                         int32_t features, conv_run *g)
{
    int32_t out_time = 0, pad_left = 0;
    (void)sn_cc_window(in_time, span_of(c), c->strides, c->padding, &out_time, &pad_left);
    g->batch = (size_t)batch;
    g->in_time = (size_t)in_time;
    g->out_time = (size_t)(out_time > 0 ? out_time : 0);
    g->features = (size_t)features;
    g->width = (size_t)c->kernel_size * g->features;
    g->out_rows = g->batch * g->out_time;
    g->pad_left = pad_left;
}

static size_t conv1d_scratch(const sn_layer *L, int32_t batch, const sn_shape *in, int training)
{
    const conv1d_config *c = L->config;
    conv_run g;
    size_t floats = 0;
    run_geometry(c, batch, in[0].time, in[0].features, &g);
    if (!pointwise(c))
        floats += g.out_rows * g.width;
    if (training) {
        size_t out = g.out_rows * (size_t)c->filters;
        floats += sn_act_needs_input(c->act) ? out : 0; /* Z */
        floats += c->act != SN_ACT_LINEAR ? out : 0;    /* dZ */
    }
    return floats * sizeof(float);
}

/* Scratch layout: [cols unless pointwise][Z if needed][dZ if needed]. */
static float *scratch_cols(const conv1d_config *c, const conv_run *g, void *scratch)
{
    (void)g;
    return pointwise(c) ? NULL : scratch;
}

static float *scratch_z(const conv1d_config *c, const conv_run *g, void *scratch)
{
    float *base = (float *)scratch + (pointwise(c) ? 0 : g->out_rows * g->width);
    return sn_act_needs_input(c->act) ? base : NULL;
}

static float *scratch_dz(const conv1d_config *c, const conv_run *g, void *scratch)
{
    float *base = (float *)scratch + (pointwise(c) ? 0 : g->out_rows * g->width);
    return base + (sn_act_needs_input(c->act) ? g->out_rows * (size_t)c->filters : 0);
}

/* Input row feeding tap j of output step t, or -1 when it is padding. */
static inline long source_step(const conv1d_config *c, const conv_run *g, size_t t, size_t j)
{
    long src = (long)(t * (size_t)c->strides + j * (size_t)c->dilation) - (long)g->pad_left;
    return src >= 0 && (size_t)src < g->in_time ? src : -1;
}

/* cols[(b, t), j*F .. j*F+F) = x[b, source_step(t, j), :] or zeros. */
static void im2col(const conv1d_config *c, const conv_run *g, const float *x, float *cols)
{
    size_t b, t, j, row_bytes = g->features * sizeof *x;
    for (b = 0; b < g->batch; b++) {
        const float *xb = x + b * g->in_time * g->features;
        for (t = 0; t < g->out_time; t++) {
            float *dst = cols + (b * g->out_time + t) * g->width;
            for (j = 0; j < (size_t)c->kernel_size; j++) {
                long src = source_step(c, g, t, j);
                if (src >= 0)
                    memcpy(dst + j * g->features, xb + (size_t)src * g->features, row_bytes);
                else
                    memset(dst + j * g->features, 0, row_bytes);
            }
        }
    }
}

/* dx[b, source_step(t, j), :] += dcols[(b, t), j*F ..]: the adjoint of im2col. */
static void col2im_add(const conv1d_config *c, const conv_run *g, const float *dcols, float *dx)
{
    size_t b, t, j, f;
    for (b = 0; b < g->batch; b++) {
        float *dxb = dx + b * g->in_time * g->features;
        for (t = 0; t < g->out_time; t++) {
            const float *src_row = dcols + (b * g->out_time + t) * g->width;
            for (j = 0; j < (size_t)c->kernel_size; j++) {
                long src = source_step(c, g, t, j);
                const float *part = src_row + j * g->features;
                float *dst;
                if (src < 0)
                    continue;
                dst = dxb + (size_t)src * g->features;
                for (f = 0; f < g->features; f++)
                    dst[f] += part[f];
            }
        }
    }
}

static int conv1d_forward(sn_exec *e)
{
    const sn_layer *L = e->layer;
    const conv1d_config *c = L->config;
    const sn_tensor *in = e->in[0];
    const float *kernel = e->params + L->params[P_KERNEL].offset;
    size_t filters = (size_t)c->filters, r;
    float *y = e->out->x, beta = 0.0f;
    const float *cols;
    conv_run g;

    run_geometry(c, in->batch, in->time, in->features, &g);
    if (g.out_rows == 0)
        return SEQNET_OK;
    if (pointwise(c)) {
        cols = in->x;
    } else {
        float *buf = scratch_cols(c, &g, e->scratch);
        if (buf == NULL)
            return sn_error(e->err, SEQNET_ESTATE, "layer '%s': no workspace", L->name);
        im2col(c, &g, in->x, buf);
        cols = buf;
    }
    if (c->use_bias) {
        const float *bias = e->params + L->params[P_BIAS].offset;
        for (r = 0; r < g.out_rows; r++)
            memcpy(y + r * filters, bias, filters * sizeof *y);
        beta = 1.0f;
    }
    if (g.out_rows == 1)
        sn_gemv(1, g.width, filters, 1.0f, kernel, filters, cols, beta, y);
    else
        sn_gemm(0, 0, g.out_rows, filters, g.width, 1.0f, cols, g.width, kernel, filters, beta,
                y, filters);
    if (e->training && sn_act_needs_input(c->act))
        memcpy(scratch_z(c, &g, e->scratch), y, g.out_rows * filters * sizeof *y);
    sn_act_forward(c->act, y, y, g.out_rows, filters);
    return SEQNET_OK;
}

static int conv1d_backward(sn_exec *e)
{
    const sn_layer *L = e->layer;
    const conv1d_config *c = L->config;
    const sn_tensor *in = e->in[0];
    const float *kernel = e->params + L->params[P_KERNEL].offset;
    size_t filters = (size_t)c->filters;
    const float *dz = e->grad_out;
    float *cols;
    conv_run g;

    run_geometry(c, in->batch, in->time, in->features, &g);
    if (e->scratch == NULL && (!pointwise(c) || c->act != SN_ACT_LINEAR))
        return sn_error(e->err, SEQNET_ESTATE,
                        "layer '%s': backward needs a training forward pass first", L->name);
    cols = pointwise(c) ? in->x : scratch_cols(c, &g, e->scratch);

    if (c->act != SN_ACT_LINEAR && g.out_rows > 0) {
        float *buf = scratch_dz(c, &g, e->scratch);
        memcpy(buf, e->grad_out, g.out_rows * filters * sizeof *buf);
        sn_act_backward(c->act, scratch_z(c, &g, e->scratch), e->out->x, buf, g.out_rows,
                        filters);
        dz = buf;
    }
    if (e->grads != NULL) {
        float *d_kernel = e->grads + L->params[P_KERNEL].offset;
        if (g.out_rows > 0)
            sn_gemm(1, 0, g.width, filters, g.out_rows, 1.0f, cols, g.width, dz, filters, 0.0f,
                    d_kernel, filters);
        else
            memset(d_kernel, 0, g.width * filters * sizeof *d_kernel);
        if (c->use_bias)
            sn_cc_column_sums(dz, g.out_rows, filters, e->grads + L->params[P_BIAS].offset);
    }
    if (e->grad_in[0] == NULL)
        return SEQNET_OK;
    if (pointwise(c)) {
        /* The input rows are the columns: dX = dZ W^T straight into grad_in. */
        sn_gemm(0, 1, g.out_rows, g.features, filters, 1.0f, dz, filters, kernel, filters,
                e->grad_in_accumulate[0] ? 1.0f : 0.0f, e->grad_in[0], g.features);
        return SEQNET_OK;
    }
    if (!e->grad_in_accumulate[0])
        memset(e->grad_in[0], 0, sn_tensor_size(in) * sizeof(float));
    if (g.out_rows == 0)
        return SEQNET_OK;
    /* dcols = dZ W^T, over cols (dW above was its last reader). */
    sn_gemm(0, 1, g.out_rows, g.width, filters, 1.0f, dz, filters, kernel, filters, 0.0f, cols,
            g.width);
    col2im_add(c, &g, cols, e->grad_in[0]);
    return SEQNET_OK;
}

const sn_layer_ops sn_conv1d_ops = {
    .kind = SEQNET_LAYER_CONV1D,
    .class_name = "Conv1D",
    .auto_name = "conv1d",
    .min_inputs = 1,
    .max_inputs = 1,
    .mask_mode = SN_MASK_REFUSE,
    .config_size = sizeof(conv1d_config),
    .allowed_opts = conv1d_allowed,
    .configure = conv1d_configure,
    .infer = conv1d_infer,
    .declare_params = conv1d_declare,
    .scratch_size = conv1d_scratch,
    .forward = conv1d_forward,
    .backward = conv1d_backward,
};
