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
 * Row-major, tap j of that kernel is an [in, filters] matrix W_j, used in
 * place by the per-tap GEMMs below.
 *
 * Computation: one GEMM per tap over shifted views, no im2col. The input is
 * copied once into a padded, batch-flattened buffer xp (see conv_run below;
 * a 'valid' stride-1 input is used in place), where output step t of
 * sample b is GEMM row q = b*Q + t and tap j reads row q*s + j*d of xp:
 * a plain matrix with row stride s*F. So for every tap j
 *   Y  += xp[j*d ::s] W_j            [M, F] x [F, filters]
 *   dW_j = xp[j*d ::s]^T dZ          [F, M] x [M, filters]
 *   dxp[j*d ::s] += dZ W_j^T         [M, filters] x [filters, F]
 * with W_j = kernel[j], an [F, filters] block of the Keras layout. CBLAS
 * cannot take overlapping rows (lda < K), which is what a single GEMM over
 * the k-wide windows would need; k GEMMs with K = F measure as fast as the
 * one im2col GEMM with K = k*F on OpenBLAS (the packing of the big operand
 * is the same work either way), and they drop the k-times-larger column
 * matrix, its copy, the zeroing of dcols and the col2im scatter. Strides and
 * dilation are the row stride and the row offset of the views.
 *
 * Masks: refused (SN_MASK_REFUSE: a masked input is a SEQNET_ESHAPE error at
 * build time naming the layer). Keras 2's Conv1D does not support masking
 * either (it raises when given a mask); Keras 3 drops the mask silently,
 * which lets padding steps leak into real ones through the kernel's
 * receptive field -- exactly the silent misapplication we will not do.
 * Build the Embedding without mask_zero, or pool the sequence first.
 *
 * Scratch: see scratch_floats(). The padded input is kept from forward to
 * backward (dW reads it), so each backward needs its own forward (the
 * executor always runs them in pairs).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/blas.h"
#include "layers/activation.h"
#include "layers/conv_common.h"
#include "layers/conv_winograd.h"
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
    /* The window span d*(k-1)+1 is at most 2^20 steps: 'same' and 'causal'
     * padding copy the input into span - 1 + T rows per sample, so a span
     * of hundreds of millions (a legal Keras value) would make every run
     * ask for gigabytes. */
    if ((int64_t)c->dilation * (c->kernel_size - 1) + 1 > (int64_t)1 << 20)
        return sn_error(err, SEQNET_EINVAL,
                        "layer '%s': dilation_rate * (kernel_size - 1) + 1 is above 1048576",
                        L->name);
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

/*
 * Geometry of one run. Every sample is laid out in a padded copy of Tp =
 * Q * s rows (pad_left zeros, its T rows, zeros after), the samples one
 * after another, so that output step t of sample b is GEMM row q = b*Q + t
 * and its tap j reads padded row q*s + j*d: one row stride (s*F floats) for
 * the whole batch. Q = T_out - 1 + ceil(span / s) leaves room for the last
 * window of a sample inside its own rows; the Q - T_out rows q with t >=
 * T_out are "gaps" whose windows straddle two samples: their outputs are
 * computed and dropped, their gradients are zero. The last sample's gaps
 * are not computed at all: M = (B - 1) * Q + T_out GEMM rows.
 */
typedef struct conv_run {
    size_t batch, in_time, out_time, features, filters, k, s, d;
    size_t q;       /* GEMM rows per sample (out_time + gap) */
    size_t tp;      /* padded rows per sample = q * s */
    size_t m;       /* GEMM rows of a run */
    size_t out_rows; /* batch * out_time */
    size_t pad_left;
    int direct_x;   /* the input is its own padded copy (no padding, tp == T) */
    int direct_y;   /* no gaps: GEMM rows are the output rows */
    size_t tiles;   /* minimal-filtering tiles of wino_m rows (0: taps only) */
    size_t wino_m;  /* GEMM rows per tile */
    size_t chunk;   /* tiles per chunk */
} conv_run;

/*
 * Minimal filtering (conv_winograd.h) replaces the tap GEMMs over the first
 * tiles * wino_m GEMM rows when the stride and dilation are 1, the kernel
 * has 2 to 7 taps, and the products are big enough for the transforms to
 * pay: at least SN_WINO_MIN_WIDTH input features and filters, and
 * SN_WINO_MIN_TILES tiles. The rows after the last whole tile go through
 * the tap GEMMs. Chunks of SN_WINO_CHUNK tiles keep a chunk's transformed
 * rows in the core's cache.
 */
#ifndef SN_WINO_MIN_WIDTH
#define SN_WINO_MIN_WIDTH 8
#endif
#ifndef SN_WINO_MIN_TILES
#define SN_WINO_MIN_TILES 32
#endif
#ifndef SN_WINO_CHUNK
#define SN_WINO_CHUNK 256
#endif

static void run_geometry(const conv1d_config *c, int32_t batch, int32_t in_time,
                         int32_t features, conv_run *g)
{
    int32_t out_time = 0, pad_left = 0;
    size_t span = (size_t)span_of(c);
    (void)sn_cc_window(in_time, span_of(c), c->strides, c->padding, &out_time, &pad_left);
    g->batch = (size_t)batch;
    g->in_time = (size_t)in_time;
    g->out_time = (size_t)(out_time > 0 ? out_time : 0);
    g->features = (size_t)features;
    g->filters = (size_t)c->filters;
    g->k = (size_t)c->kernel_size;
    g->s = (size_t)c->strides;
    g->d = (size_t)c->dilation;
    g->q = g->out_time + (span + g->s - 1) / g->s - 1;
    g->tp = g->q * g->s;
    g->out_rows = g->batch * g->out_time;
    g->m = g->out_rows == 0 ? 0 : (g->batch - 1) * g->q + g->out_time;
    g->pad_left = (size_t)pad_left;
    g->direct_x = pad_left == 0 && g->tp == g->in_time;
    g->direct_y = g->q == g->out_time;
    g->tiles = 0;
    g->wino_m = 0;
    g->chunk = 0;
    if (g->s == 1 && g->d == 1 && g->k >= 2 && g->k <= SN_WINO_MAX_R &&
        g->features >= SN_WINO_MIN_WIDTH && g->filters >= SN_WINO_MIN_WIDTH) {
        size_t m = (size_t)sn_wino_points((int)g->k) + 1 - g->k, tiles = g->m / m;
        if (tiles >= SN_WINO_MIN_TILES) {
            g->wino_m = m;
            g->tiles = tiles;
            g->chunk = tiles < SN_WINO_CHUNK ? tiles : SN_WINO_CHUNK;
        }
    }
}

/* Scratch layout, in floats:
 *   xp  [B*Tp, F]       the padded input, unless direct_x (kept for backward)
 *   yq  [B*Q, filters]  forward: GEMM output with gaps, unless direct_y;
 *                       backward: dZ in GEMM rows (gaps zero), unless
 *                       direct_y with a linear activation (then dZ is
 *                       grad_out itself)
 *   z   [B*T_out, filters]  pre-activations, training with gelu-like
 *                       activations only
 *   dxp [B*Tp, F]       backward: gradient of xp, training unless direct_x
 * and with minimal filtering (g->tiles > 0):
 *   wv  the transformed kernel; wvt its transpose and wdv its gradient
 *       (training); wu a chunk's transformed input, wdu its gradient
 *       (training); wmo a chunk's products (backward: their gradient);
 *       wy a chunk's GEMM rows (backward: their dZ), chunk * m rows;
 *       wedge the edge slots of a chunk's tiles (see x_tile_rows), and as
 *       many for dX when training. Sizes from sn_wino_sizes. No xp, yq or
 *       dxp: the path reads the input in place, chunk by chunk. */
typedef struct conv_scratch {
    float *xp, *yq, *z, *dxp;
    float *wv, *wvt, *wdv, *wu, *wmo, *wdu, *wy, *wedge;
} conv_scratch;

/* The next n floats of the workspace at base (NULL while only sizing). */
static float *carve(float *base, size_t *off, size_t n)
{
    float *p = base != NULL ? base + *off : NULL;
    *off += n;
    return p;
}

static size_t scratch_floats(const conv1d_config *c, const conv_run *g, int training,
                             conv_scratch *p, float *base)
{
    size_t off = 0, padded = g->batch * g->tp * g->features;
    int need_yq = g->tiles == 0 && (!g->direct_y || (training && c->act != SN_ACT_LINEAR));
    memset(p, 0, sizeof *p);
    if (!g->direct_x && g->tiles == 0)
        p->xp = carve(base, &off, padded);
    if (need_yq)
        p->yq = carve(base, &off, g->batch * g->q * g->filters);
    if (training && sn_act_needs_input(c->act))
        p->z = carve(base, &off, g->out_rows * g->filters);
    if (training && !g->direct_x && g->tiles == 0)
        p->dxp = carve(base, &off, padded);
    if (g->tiles > 0) {
        sn_wino w;
        size_t v_floats, u_floats, mo_floats;
        (void)sn_wino_init(&w, (int)g->k, g->features, g->filters, g->chunk);
        sn_wino_sizes(&w, &v_floats, &u_floats, &mo_floats);
        p->wv = carve(base, &off, v_floats);
        p->wu = carve(base, &off, u_floats);
        p->wmo = carve(base, &off, mo_floats);
        p->wy = carve(base, &off, g->chunk * g->wino_m * g->filters);
        /* edge slots: one per tile of a chunk (every tile of a chunk may
         * be an edge one when samples are short), twice when training */
        p->wedge = carve(base, &off, (training ? 2 : 1) * g->chunk * (size_t)w.nn * g->features);
        if (training) {
            p->wvt = carve(base, &off, v_floats);
            p->wdv = carve(base, &off, v_floats);
            p->wdu = carve(base, &off, u_floats);
        }
    }
    return off;
}

static size_t conv1d_scratch(const sn_layer *L, int32_t batch, const sn_shape *in, int training)
{
    const conv1d_config *c = L->config;
    conv_run g;
    conv_scratch p;
    run_geometry(c, batch, in[0].time, in[0].features, &g);
    return scratch_floats(c, &g, training, &p, NULL) * sizeof(float);
}

/* xp[b*Tp + pad_left + i] = x[b, i] for the rows any window reads; zeros
 * elsewhere. */
static void pad_input(const conv_run *g, const float *x, float *xp)
{
    size_t b, f = g->features;
    size_t copy = g->in_time;
    if (g->pad_left + copy > g->tp)
        copy = g->tp > g->pad_left ? g->tp - g->pad_left : 0;
    for (b = 0; b < g->batch; b++) {
        float *dst = xp + b * g->tp * f;
        memset(dst, 0, g->pad_left * f * sizeof *dst);
        memcpy(dst + g->pad_left * f, x + b * g->in_time * f, copy * f * sizeof *dst);
        memset(dst + (g->pad_left + copy) * f, 0, (g->tp - g->pad_left - copy) * f * sizeof *dst);
    }
}

/*
 * Y[q] = sum_j xp[q*s + j*d] W_j over the M GEMM rows: one GEMM per tap,
 * [M, F] x [F, filters] accumulated into Y (beta 1 after the first tap
 * unless `accumulate`, which keeps what Y holds). The A operand of tap j is
 * xp itself from row j*d with a row stride of s*F: no im2col copy.
 */
static void taps_forward(const conv_run *g, const float *xp, const float *kernel, float *y,
                         int accumulate)
{
    size_t j, f = g->features, n = g->filters;
    for (j = 0; j < g->k; j++)
        sn_gemm(0, 0, g->m, n, f, 1.0f, xp + j * g->d * f, g->s * f, kernel + j * f * n, n,
                (accumulate || j > 0) ? 1.0f : 0.0f, y, n);
}

/*
 * The minimal-filtering path runs chunk by chunk from end to end, so that a
 * chunk's rows are still in cache when they are finished: GEMM rows
 * [r0, r0 + nr) are computed into the small buffer wy, then each run of
 * them that is an output row (not a gap) gets its bias and activation on
 * its way to Y. Backward builds dZ for a chunk's rows the same way (gap
 * rows zero), adds them to the bias gradient and hands them to the
 * transforms. The rows after the last whole tile take the tap GEMMs
 * through the same buffer.
 */

/* Visit the output runs of GEMM rows [r0, r0 + nr): rows q with
 * t = q mod Q < T_out, as (offset of q from r0, output row b*T_out + t,
 * run length). */
typedef struct row_run {
    size_t from, out_row, len;
} row_run;

static size_t next_run(const conv_run *g, size_t *q, size_t end, size_t r0, row_run *run)
{
    while (*q < end) {
        size_t b = *q / g->q, t = *q % g->q, len;
        if (t >= g->out_time) { /* a gap: skip to the next sample */
            *q += g->q - t < end - *q ? g->q - t : end - *q;
            continue;
        }
        len = g->out_time - t < end - *q ? g->out_time - t : end - *q;
        run->from = *q - r0;
        run->out_row = b * g->out_time + t;
        run->len = len;
        *q += len;
        return 1;
    }
    return 0;
}

/* Rows [r0, r0 + nr) of the GEMM output, in src, to Y: bias, the
 * pre-activation copy z when kept, the activation. */
static void finish_rows(const conv1d_config *c, const conv_run *g, size_t r0, size_t nr,
                        const float *src, const float *bias, float *y, float *z)
{
    size_t n = g->filters, q = r0, i, k;
    row_run run;
    while (next_run(g, &q, r0 + nr, r0, &run)) {
        const float *from = src + run.from * n;
        float *dst = y + run.out_row * n;
        if (bias != NULL)
            for (i = 0; i < run.len; i++)
                for (k = 0; k < n; k++)
                    dst[i * n + k] = from[i * n + k] + bias[k];
        else
            memcpy(dst, from, run.len * n * sizeof *dst);
        if (z != NULL)
            memcpy(z + run.out_row * n, dst, run.len * n * sizeof *dst);
        sn_act_forward(c->act, dst, dst, run.len, n);
    }
}

/* sums[k] += x[i][k] over rows x width (the bias gradient, a chunk at a
 * time). */
static void add_column_sums(const float *x, size_t rows, size_t width, float *sums)
{
    size_t i, k;
    for (i = 0; i < rows; i++)
        for (k = 0; k < width; k++)
            sums[k] += x[i * width + k];
}

/* dZ of rows [r0, r0 + nr) into dst: grad_out through the activation on
 * output rows, zeros on gaps; added to db when not NULL. */
static void build_dz(const conv1d_config *c, const conv_run *g, size_t r0, size_t nr,
                     const float *grad_out, const float *out, const float *z, float *dst,
                     float *db)
{
    size_t n = g->filters, q = r0, done = 0;
    row_run run;
    while (next_run(g, &q, r0 + nr, r0, &run)) {
        float *d = dst + run.from * n;
        if (run.from > done)
            memset(dst + done * n, 0, (run.from - done) * n * sizeof *dst);
        memcpy(d, grad_out + run.out_row * n, run.len * n * sizeof *d);
        sn_act_backward(c->act, z != NULL ? z + run.out_row * n : NULL, out + run.out_row * n,
                        d, run.len, n);
        done = run.from + run.len;
    }
    if (nr > done)
        memset(dst + done * n, 0, (nr - done) * n * sizeof *dst);
    if (db != NULL)
        add_column_sums(dst, nr, n, db);
}

/*
 * The minimal-filtering path reads the layer's input in place: a tile whose
 * nn padded rows are all rows of one sample's input takes them where they
 * are; a tile that reaches into the padding (or across two samples) gets a
 * zero-padded copy of its rows in the edge buffer, one slot of nn rows per
 * tile. Backward mirrors it: interior tiles add to dX in place, edge tiles
 * to their slot, which is then added to dX. So neither the padded copy of
 * the input nor that of its gradient exists on this path.
 */

/* Row of the layer's input under padded row p (GEMM row space), as an index
 * into [B*T) rows, or -1 for a padding row. */
static ptrdiff_t input_row(const conv_run *g, size_t p)
{
    size_t b = p / g->tp, t = p % g->tp;
    if (t < g->pad_left || t - g->pad_left >= g->in_time)
        return -1;
    return (ptrdiff_t)(b * g->in_time + t - g->pad_left);
}

/* Whether the nn padded rows of the tile starting at padded row p0 are all
 * input rows of one sample (they can then be used in place). */
static int tile_inside(const conv_run *g, size_t p0, size_t nn)
{
    size_t t = p0 % g->tp;
    return t >= g->pad_left && t - g->pad_left + nn <= g->in_time;
}

/* Padded rows [p, p + count) of x into dst (zeros for padding rows). */
static void copy_padded(const conv_run *g, const float *x, size_t p, size_t count, float *dst)
{
    size_t f = g->features, i;
    for (i = 0; i < count; i++) {
        ptrdiff_t r = input_row(g, p + i);
        if (r >= 0)
            memcpy(dst + i * f, x + (size_t)r * f, f * sizeof *dst);
        else
            memset(dst + i * f, 0, f * sizeof *dst);
    }
}

/* Input rows of tiles [c0, c0 + nc): in place in x, or a slot of the edge
 * buffer holding the tile's rows (zeros for padding). */
static void x_tile_rows(const conv_run *g, const float *x, size_t c0, size_t nc, size_t nn,
                        float *edge, const float **rows)
{
    size_t f = g->features, c, slots = 0;
    for (c = 0; c < nc; c++) {
        size_t p0 = (c0 + c) * g->wino_m;
        float *slot;
        if (tile_inside(g, p0, nn)) {
            rows[c] = x + (size_t)input_row(g, p0) * f;
            continue;
        }
        slot = edge + slots++ * nn * f;
        copy_padded(g, x, p0, nn, slot);
        rows[c] = slot;
    }
}

/* Input-gradient rows of the same tiles: in place in dx, or a zeroed slot
 * that add_edges later adds to dx. */
static void dx_tile_rows(const conv_run *g, float *dx, size_t c0, size_t nc, size_t nn,
                         float *edge, float **rows)
{
    size_t f = g->features, c, slots = 0;
    for (c = 0; c < nc; c++) {
        size_t p0 = (c0 + c) * g->wino_m;
        if (tile_inside(g, p0, nn)) {
            rows[c] = dx + (size_t)input_row(g, p0) * f;
        } else {
            rows[c] = edge + slots++ * nn * f;
            memset(rows[c], 0, nn * f * sizeof *dx);
        }
    }
}

/* Add the edge slots of tiles [c0, c0 + nc) to dX's rows. */
static void add_edges(const conv_run *g, size_t c0, size_t nc, size_t nn,
                      float *const *rows, float *dx)
{
    size_t f = g->features, c, i, k;
    for (c = 0; c < nc; c++) {
        size_t p0 = (c0 + c) * g->wino_m;
        if (tile_inside(g, p0, nn))
            continue;
        for (i = 0; i < nn; i++) {
            ptrdiff_t r = input_row(g, p0 + i);
            if (r >= 0) {
                float *dst = dx + (size_t)r * f;
                const float *from = rows[c] + i * f;
                for (k = 0; k < f; k++)
                    dst[k] += from[k];
            }
        }
    }
}

/* The rows after the last tile: their padded input rows (from r0 on, up to
 * nn of them) copied into the edge buffer. */
static size_t tail_rows(const conv_run *g, const float *x, size_t r0, float *edge)
{
    size_t rows = g->m - r0 + g->k - 1;
    copy_padded(g, x, r0, rows, edge);
    return rows;
}

static void wino_forward(const conv1d_config *c, const conv_run *g, const conv_scratch *p,
                         const float *x, const float *kernel, const float *bias, float *y)
{
    size_t f = g->features, n = g->filters, c0, r0, nr, j;
    const float *rows[SN_WINO_CHUNK];
    sn_wino w;
    (void)sn_wino_init(&w, (int)g->k, f, n, g->chunk);
    sn_wino_kernel(&w, kernel, p->wv, NULL);
    for (c0 = 0; c0 < g->tiles; c0 += g->chunk) {
        size_t nc = g->tiles - c0 < g->chunk ? g->tiles - c0 : g->chunk;
        r0 = c0 * g->wino_m;
        nr = nc * g->wino_m;
        x_tile_rows(g, x, c0, nc, (size_t)w.nn, p->wedge, rows);
        sn_wino_forward(&w, rows, p->wv, nc, p->wy, p->wu, p->wmo);
        finish_rows(c, g, r0, nr, p->wy, bias, y, p->z);
    }
    r0 = g->tiles * g->wino_m;
    nr = g->m - r0;
    if (nr == 0)
        return;
    (void)tail_rows(g, x, r0, p->wedge);
    for (j = 0; j < g->k; j++)
        sn_gemm(0, 0, nr, n, f, 1.0f, p->wedge + j * f, f, kernel + j * f * n, n,
                j > 0 ? 1.0f : 0.0f, p->wy, n);
    finish_rows(c, g, r0, nr, p->wy, bias, y, p->z);
}

/* Backward of the minimal-filtering path: dW (when d_kernel), db (when
 * db) and dX (when dx: added) from grad_out. */
static void wino_backward(const conv1d_config *c, const conv_run *g, const conv_scratch *p,
                          const float *x, const float *kernel, const float *grad_out,
                          const float *out, float *d_kernel, float *db, float *dx)
{
    size_t f = g->features, n = g->filters, c0, r0, nr, j, i, k, nn;
    int direct = g->direct_y && c->act == SN_ACT_LINEAR;
    const float *rows[SN_WINO_CHUNK];
    float *drows[SN_WINO_CHUNK];
    float *dedge;
    sn_wino w;
    (void)sn_wino_init(&w, (int)g->k, f, n, g->chunk);
    nn = (size_t)w.nn;
    dedge = p->wedge + g->chunk * nn * f; /* the slots of dX's edges */
    sn_wino_kernel(&w, kernel, p->wv, p->wvt);
    sn_wino_clear_pads(&w, p->wmo);
    if (db != NULL)
        memset(db, 0, n * sizeof *db);
    for (c0 = 0; c0 < g->tiles; c0 += g->chunk) {
        size_t nc = g->tiles - c0 < g->chunk ? g->tiles - c0 : g->chunk;
        const float *dz = p->wy;
        r0 = c0 * g->wino_m;
        nr = nc * g->wino_m;
        if (direct) { /* dZ is grad_out itself */
            dz = grad_out + r0 * n;
            if (db != NULL)
                add_column_sums(dz, nr, n, db);
        } else {
            build_dz(c, g, r0, nr, grad_out, out, p->z, p->wy, db);
        }
        if (d_kernel != NULL)
            x_tile_rows(g, x, c0, nc, nn, p->wedge, rows);
        if (dx != NULL)
            dx_tile_rows(g, dx, c0, nc, nn, dedge, drows);
        sn_wino_backward(&w, rows, p->wvt, dz, nc, d_kernel != NULL ? p->wdv : NULL, c0 > 0,
                         dx != NULL ? drows : NULL, p->wu, p->wmo, p->wdu);
        if (dx != NULL)
            add_edges(g, c0, nc, nn, drows, dx);
    }
    if (d_kernel != NULL)
        sn_wino_kernel_grad(&w, p->wdv, d_kernel);
    r0 = g->tiles * g->wino_m;
    nr = g->m - r0;
    if (nr == 0)
        return;
    build_dz(c, g, r0, nr, grad_out, out, p->z, p->wy, db);
    {
        size_t rows_in = tail_rows(g, x, r0, p->wedge);
        for (j = 0; j < g->k; j++) {
            if (d_kernel != NULL)
                sn_gemm(1, 0, f, n, nr, 1.0f, p->wedge + j * f, f, p->wy, n, 1.0f,
                        d_kernel + j * f * n, n);
            if (dx != NULL) {
                if (j == 0)
                    memset(dedge, 0, rows_in * f * sizeof *dedge);
                sn_gemm(0, 1, nr, f, n, 1.0f, p->wy, n, kernel + j * f * n, n, 1.0f,
                        dedge + j * f, f);
            }
        }
        if (dx != NULL)
            for (i = 0; i < rows_in; i++) {
                ptrdiff_t r = input_row(g, r0 + i);
                if (r >= 0)
                    for (k = 0; k < f; k++)
                        dx[(size_t)r * f + k] += dedge[i * f + k];
            }
    }
}

static int conv1d_forward(sn_exec *e)
{
    const sn_layer *L = e->layer;
    const conv1d_config *c = L->config;
    const sn_tensor *in = e->in[0];
    const float *kernel = e->params + L->params[P_KERNEL].offset;
    const float *bias = c->use_bias ? e->params + L->params[P_BIAS].offset : NULL;
    float *y = e->out->x;
    const float *xp;
    conv_scratch p;
    conv_run g;
    size_t b, t, r, n;

    run_geometry(c, in->batch, in->time, in->features, &g);
    if (g.out_rows == 0)
        return SEQNET_OK;
    n = g.filters;
    if (scratch_floats(c, &g, e->training, &p, NULL) > 0 && e->scratch == NULL)
        return sn_error(e->err, SEQNET_ESTATE, "layer '%s': no workspace", L->name);
    (void)scratch_floats(c, &g, e->training, &p, e->scratch);
    if (g.tiles > 0) {
        wino_forward(c, &g, &p, in->x, kernel, bias, y);
        return SEQNET_OK;
    }
    if (g.direct_x) {
        xp = in->x;
    } else {
        pad_input(&g, in->x, p.xp);
        xp = p.xp;
    }
    if (g.direct_y) {
        /* GEMM rows are output rows: start from the bias. */
        if (bias != NULL)
            for (r = 0; r < g.out_rows; r++)
                memcpy(y + r * n, bias, n * sizeof *y);
        taps_forward(&g, xp, kernel, y, bias != NULL);
    } else {
        taps_forward(&g, xp, kernel, p.yq, 0);
        /* Drop the gaps, add the bias. */
        for (b = 0; b < g.batch; b++)
            for (t = 0; t < g.out_time; t++) {
                const float *src = p.yq + (b * g.q + t) * n;
                float *dst = y + (b * g.out_time + t) * n;
                if (bias != NULL)
                    for (r = 0; r < n; r++)
                        dst[r] = src[r] + bias[r];
                else
                    memcpy(dst, src, n * sizeof *dst);
            }
    }
    if (p.z != NULL)
        memcpy(p.z, y, g.out_rows * n * sizeof *y);
    sn_act_forward(c->act, y, y, g.out_rows, n);
    return SEQNET_OK;
}

/*
 * Backward, with D = dZ laid out in GEMM rows (gaps zero):
 *   dW_j = xp[q*s + j*d]^T D        one GEMM per tap, [F, M] x [M, filters]
 *   dxp[q*s + j*d] += D W_j^T       one GEMM per tap, [M, filters] x [filters, F]
 * then dX is dxp without its padding rows. Both read the same strided views
 * of xp / dxp as the forward pass.
 */
static int conv1d_backward(sn_exec *e)
{
    const sn_layer *L = e->layer;
    const conv1d_config *c = L->config;
    const sn_tensor *in = e->in[0];
    const float *kernel = e->params + L->params[P_KERNEL].offset;
    const float *xp, *dz;
    float *dx;
    conv_scratch p;
    conv_run g;
    size_t b, t, j, i, f, n;

    run_geometry(c, in->batch, in->time, in->features, &g);
    f = g.features;
    n = g.filters;
    if (scratch_floats(c, &g, 1, &p, NULL) > 0 && e->scratch == NULL)
        return sn_error(e->err, SEQNET_ESTATE,
                        "layer '%s': backward needs a training forward pass first", L->name);
    (void)scratch_floats(c, &g, 1, &p, e->scratch);
    xp = g.direct_x || g.tiles > 0 ? in->x : p.xp;

    if (e->grad_in[0] != NULL) {
        if (g.direct_x || g.tiles > 0) {
            dx = e->grad_in[0];
            if (!e->grad_in_accumulate[0])
                memset(dx, 0, sn_tensor_size(in) * sizeof *dx);
        } else {
            dx = p.dxp;
            memset(dx, 0, g.batch * g.tp * f * sizeof *dx);
        }
    } else {
        dx = NULL;
    }

    if (g.tiles > 0) {
        wino_backward(c, &g, &p, in->x, kernel, e->grad_out, e->out->x,
                      e->grads != NULL ? e->grads + L->params[P_KERNEL].offset : NULL,
                      e->grads != NULL && c->use_bias ? e->grads + L->params[P_BIAS].offset
                                                      : NULL,
                      dx);
        return SEQNET_OK;
    } else {
        /* D: grad_out through the activation, in GEMM rows. */
        if (g.direct_y && c->act == SN_ACT_LINEAR) {
            dz = e->grad_out;
        } else {
            for (b = 0; b < g.batch && g.out_rows > 0; b++) {
                float *dst = p.yq + b * g.q * n;
                size_t rows = g.out_time * n, gap = (g.q - g.out_time) * n;
                memcpy(dst, e->grad_out + b * rows, rows * sizeof *dst);
                sn_act_backward(c->act, p.z != NULL ? p.z + b * rows : NULL,
                                e->out->x + b * rows, dst, g.out_time, n);
                if (b + 1 < g.batch && gap > 0)
                    memset(dst + rows, 0, gap * sizeof *dst);
            }
            dz = p.yq;
        }
        if (e->grads != NULL) {
            float *d_kernel = e->grads + L->params[P_KERNEL].offset;
            if (g.m > 0)
                for (j = 0; j < g.k; j++)
                    sn_gemm(1, 0, f, n, g.m, 1.0f, xp + j * g.d * f, g.s * f, dz, n, 0.0f,
                            d_kernel + j * f * n, n);
            else
                memset(d_kernel, 0, g.k * f * n * sizeof *d_kernel);
            if (c->use_bias)
                sn_cc_column_sums(dz, g.m, n, e->grads + L->params[P_BIAS].offset);
        }
        if (dx != NULL && g.m > 0)
            for (j = 0; j < g.k; j++)
                sn_gemm(0, 1, g.m, f, n, 1.0f, dz, n, kernel + j * f * n, n, 1.0f,
                        dx + j * g.d * f, g.s * f);
    }
    if (dx == NULL)
        return SEQNET_OK;
    if (g.direct_x)
        return SEQNET_OK;
    /* dX[b, i] = dxp[b*Tp + pad_left + i]; rows past the padded copy were
     * read by no window: zero gradient. */
    for (b = 0; b < g.batch; b++) {
        float *dst = e->grad_in[0] + b * g.in_time * f;
        for (t = 0; t < g.in_time; t++, dst += f) {
            size_t row = g.pad_left + t;
            const float *src = dx + (b * g.tp + row) * f;
            if (row >= g.tp) {
                if (!e->grad_in_accumulate[0])
                    memset(dst, 0, f * sizeof *dst);
                continue;
            }
            if (e->grad_in_accumulate[0])
                for (i = 0; i < f; i++)
                    dst[i] += src[i];
            else
                memcpy(dst, src, f * sizeof *dst);
        }
    }
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

size_t sn_conv1d_wino_rows(const sn_layer *L, int32_t batch, int32_t in_time, int32_t features)
{
    conv_run g;
    run_geometry(L->config, batch, in_time, features, &g);
    return g.tiles * g.wino_m;
}
