/*
 * lib/layers/rnn_common.c -- options, weights, scratch and the BPTT driver
 * shared by the recurrent layers (see rnn_common.h for the algorithm).
 *
 * Keras semantics kept here:
 *  - weights: kernel (I, G*H), recurrent_kernel (H, G*H), bias (G*H) or,
 *    for GRU with reset_after, (2, G*H) = (input bias, recurrent bias);
 *    glorot_uniform, orthogonal, zeros;
 *  - masked steps carry state and output through (RNN's default
 *    zero_output_for_mask=False), and the last output is the state after the
 *    last real step;
 *  - go_backwards reads the sequence from its end and returns the outputs
 *    in processing order (not re-reversed); the output mask is the input's,
 *    unchanged, as Keras's RNN.compute_mask returns it;
 *  - dropout / recurrent_dropout: one mask per sequence (per batch row) for
 *    the inputs and one for the state, drawn at the start of each training
 *    call; inference ignores them.
 */
#include <string.h>

#include "core/blas.h"
#include "layers/rnn_common.h"

/* ---- options -------------------------------------------------------------- */

static int read_flag(const sn_layer *L, sn_object *err, int key, const char *what, int dflt,
                     int32_t *out)
{
    int64_t v = dflt;
    int got = sn_opts_int(&L->opts, key, &v);
    if (got < 0 || v < 0 || v > 1)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': %s must be 0 or 1", L->name, what);
    *out = (int32_t)v;
    return SEQNET_OK;
}

static int read_rate(const sn_layer *L, sn_object *err, int key, const char *what, float *out)
{
    double v = 0.0;
    int got = sn_opts_float(&L->opts, key, &v);
    if (got < 0 || !(v >= 0.0 && v < 1.0))
        return sn_error(err, SEQNET_EINVAL, "layer '%s': %s must be in [0, 1)", L->name, what);
    *out = (float)v;
    return SEQNET_OK;
}

static int read_act(const sn_layer *L, sn_object *err, int key, const char *what,
                    const char *dflt, int32_t *out)
{
    const char *name = dflt;
    int act;
    if (sn_opts_string(&L->opts, key, &name) < 0 || (act = sn_act_from_name(name)) < 0)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': unknown %s", L->name, what);
    if (!sn_rnn_act_supported(act))
        return sn_error(err, SEQNET_EINVAL,
                        "layer '%s': %s '%s' is not supported in recurrent layers (use tanh, "
                        "sigmoid, hard_sigmoid, relu or linear)",
                        L->name, what, name);
    *out = act;
    return SEQNET_OK;
}

int sn_rnn_act_supported(int act)
{
    return act == SN_ACT_LINEAR || act == SN_ACT_RELU || act == SN_ACT_SIGMOID ||
           act == SN_ACT_TANH || act == SN_ACT_HARD_SIGMOID;
}

int sn_rnn_parse(const sn_layer *L, int32_t cell, sn_rnn_config *c, sn_object *err)
{
    int64_t units = 0;
    int got, rc;

    memset(c, 0, sizeof *c);
    c->cell = cell;
    c->gates = cell == SN_CELL_LSTM ? 4 : (cell == SN_CELL_GRU ? 3 : 1);
    got = sn_opts_int(&L->opts, SEQNET_OPT_UNITS, &units);
    if (got == 0)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': a recurrent layer needs units",
                        L->name);
    if (got < 0 || units < 1 || units > INT32_MAX / 4)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': units must be an integer >= 1",
                        L->name);
    c->units = (int32_t)units;
    if ((rc = read_act(L, err, SEQNET_OPT_ACTIVATION, "activation", "tanh", &c->act)) !=
            SEQNET_OK ||
        (rc = read_act(L, err, SEQNET_OPT_RECURRENT_ACTIVATION, "recurrent_activation",
                       "sigmoid", &c->rec_act)) != SEQNET_OK ||
        (rc = read_flag(L, err, SEQNET_OPT_USE_BIAS, "use_bias", 1, &c->use_bias)) !=
            SEQNET_OK ||
        (rc = read_flag(L, err, SEQNET_OPT_UNIT_FORGET_BIAS, "unit_forget_bias", 1,
                        &c->unit_forget_bias)) != SEQNET_OK ||
        (rc = read_flag(L, err, SEQNET_OPT_RESET_AFTER, "reset_after", 1, &c->reset_after)) !=
            SEQNET_OK ||
        (rc = read_flag(L, err, SEQNET_OPT_RETURN_SEQUENCES, "return_sequences", 0,
                        &c->return_sequences)) != SEQNET_OK ||
        (rc = read_flag(L, err, SEQNET_OPT_GO_BACKWARDS, "go_backwards", 0,
                        &c->go_backwards)) != SEQNET_OK ||
        (rc = read_flag(L, err, SEQNET_OPT_RETURN_STATE, "return_state", 0,
                        &c->return_state)) != SEQNET_OK ||
        (rc = read_rate(L, err, SEQNET_OPT_DROPOUT, "dropout", &c->dropout)) != SEQNET_OK ||
        (rc = read_rate(L, err, SEQNET_OPT_RECURRENT_DROPOUT, "recurrent_dropout",
                        &c->recurrent_dropout)) != SEQNET_OK)
        return rc;
    if (cell != SN_CELL_LSTM)
        c->unit_forget_bias = 0;
    if (cell != SN_CELL_GRU)
        c->reset_after = 0;
    return SEQNET_OK;
}

int sn_rnn_infer_shape(const sn_layer *L, const sn_rnn_config *c, int32_t width,
                       const sn_shape *in, sn_shape *out, sn_object *err)
{
    if (in[0].is_tokens)
        return sn_layer_shape_error(L, err, "a recurrent layer expects float sequences, not "
                                            "token ids (add an Embedding first)");
    if (in[0].time == SN_TIME_VECTOR)
        return sn_layer_shape_error(L, err, "a recurrent layer expects a sequence [time, "
                                            "features], got a vector");
    if (in[0].features < 1)
        return sn_layer_shape_error(L, err, "input has no features");
    memset(out, 0, sizeof *out);
    out->features = width;
    if (c->return_sequences) {
        out->time = in[0].time;
        out->masked = in[0].masked;
    } else {
        out->time = SN_TIME_VECTOR;
    }
    return SEQNET_OK;
}

static void set_param(sn_param *p, const char *prefix, const char *name, int32_t rank,
                      int64_t d0, int64_t d1, int32_t init, int8_t trainable)
{
    memset(p, 0, sizeof *p);
    strncpy(p->name, prefix, sizeof p->name - 1);
    strncat(p->name, name, sizeof p->name - 1 - strlen(p->name));
    p->rank = rank;
    p->dims[0] = d0;
    p->dims[1] = rank > 1 ? d1 : 0;
    p->count = rank > 1 ? d0 * d1 : d0;
    p->init = init;
    p->trainable = trainable;
}

int32_t sn_rnn_declare(sn_layer *L, const sn_rnn_config *c, int32_t in_features, int32_t first,
                       const char *prefix)
{
    int64_t gh = (int64_t)c->gates * c->units;
    set_param(&L->params[first], prefix, "kernel", 2, in_features, gh, SN_INIT_GLOROT_UNIFORM,
              L->trainable);
    set_param(&L->params[first + 1], prefix, "recurrent_kernel", 2, c->units, gh,
              SN_INIT_ORTHOGONAL, L->trainable);
    if (!c->use_bias)
        return 2;
    /* The forget-gate ones of unit_forget_bias come from sn_lstm_init_forget_bias. */
    if (c->cell == SN_CELL_GRU && c->reset_after)
        set_param(&L->params[first + 2], prefix, "bias", 2, 2, gh, SN_INIT_ZEROS, L->trainable);
    else
        set_param(&L->params[first + 2], prefix, "bias", 1, gh, 0, SN_INIT_ZEROS, L->trainable);
    return 3;
}

/* ---- scratch ---------------------------------------------------------------- */

/* Regions start on 64-byte boundaries (16 floats). */
static size_t round16(size_t n)
{
    return (n + 15u) & ~(size_t)15u;
}

/* Whether products of n columns take small_product (see sn_rnn_recurrent_product):
 * one row, or at most 16384 multiply-adds with at most 1024 weights. */
static int small_for(int32_t units, int32_t n, int32_t batch)
{
    size_t weights = (size_t)units * (size_t)n;
    return batch == 1 || (weights <= 1024u && weights * (size_t)batch <= 16384u);
}

/* LSTM training whose recurrent products go through GEMMs: each step's
 * gates come from one product of [x~_t | h~_{t-1}] with W stacked over U
 * (K = I + H) rather than a whole-sequence input GEMM plus a per-step
 * K = H one; the backward and the weight gradients likewise (W3: about 6%
 * of a step, OpenBLAS being faster on the deeper product). */
static int stacked(const sn_rnn_config *c, int32_t batch, int training)
{
    return training && c->cell == SN_CELL_LSTM && !small_for(c->units, c->gates * c->units, batch);
}

/* Lay out (base != NULL) or measure (base == NULL) one direction's scratch.
 * Returns the float count. */
static size_t layout(sn_rnn_run *r, const sn_rnn_config *c, float *base, int32_t batch,
                     int32_t time, int32_t in_features, int training)
{
    size_t B = (size_t)batch, T = (size_t)time, I = (size_t)in_features, H = (size_t)c->units;
    size_t GH = (size_t)c->gates * H, at = 0;
    int dropout = training && c->dropout > 0.0f;
    int rec_dropout = training && c->recurrent_dropout > 0.0f;
    int st = stacked(c, batch, training);
#define SN_REGION(field, count)                                                               \
    do {                                                                                      \
        size_t n_ = (count);                                                                  \
        if (r != NULL)                                                                        \
            r->field = n_ > 0 ? base + at : NULL;                                             \
        at += round16(n_);                                                                    \
    } while (0)
    SN_REGION(proj, T * B * GH);
    SN_REGION(states, T * B * H);
    SN_REGION(cells, c->cell == SN_CELL_LSTM ? T * B * H : 0);
    /* h~ of every step, unless the states hold it (sn_rnn_hrec_in_states) */
    SN_REGION(hrec, training && !st && (rec_dropout || c->go_backwards) ? T * B * H : B * H);
    SN_REGION(aux, c->cell == SN_CELL_GRU ? (training ? T * B * H : B * H) : 0);
    SN_REGION(rec, B * GH);
    SN_REGION(zeros, B * H);
    SN_REGION(xdrop, training && !st ? T * B * I : 0);
    SN_REGION(xh, st ? T * B * (I + H) : 0);
    SN_REGION(wu, st ? (I + H) * GH : 0);
    SN_REGION(dxh, st ? B * (I + H) : 0);
    SN_REGION(in_keep, dropout ? B * I : 0);
    SN_REGION(rec_keep, rec_dropout ? B * H : 0);
    SN_REGION(dh, training ? B * H : 0);
    SN_REGION(dh_prev, training ? B * H : 0);
    SN_REGION(dc, training ? B * H : 0);
    SN_REGION(tmp, training ? B * H : 0);
#undef SN_REGION
    return at;
}

size_t sn_rnn_scratch_bytes(const sn_rnn_config *c, int32_t batch, int32_t time,
                            int32_t in_features, int training)
{
    return layout(NULL, c, NULL, batch, time, in_features, training) * sizeof(float);
}

void sn_rnn_bind(sn_rnn_run *r, const sn_rnn_config *c, void *scratch, int32_t batch,
                 int32_t time, int32_t in_features, int training)
{
    r->c = c;
    r->batch = batch;
    r->time = time;
    r->in_features = in_features;
    r->units = c->units;
    r->gates = c->gates;
    r->training = training;
    r->h0 = NULL; /* zero initial state unless the caller gives one */
    r->c0 = NULL;
    r->d_hT = NULL;
    r->d_cT = NULL;
    layout(r, c, scratch, batch, time, in_features, training);
}

/* ---- products ------------------------------------------------------------------ */

typedef float sn_v8 __attribute__((vector_size(32)));
/* Padded blocks of U that small_product keeps on the stack (4 KiB). */
#define SN_SMALL_PAD 128

/* The narrow path of small_product below: U padded to whole blocks of 8
 * columns, on the stack. */
static int small_narrow(size_t H, size_t n)
{
    return n <= 16 && H * ((n + 7) / 8) <= SN_SMALL_PAD;
}

/* dst rows = h rows [rows, H] times u [H, n] (row stride ldu), or with
 * trans_u (narrow products only) times the transpose of u [n, H]. For products
 * too small for a BLAS call to pay: one sequence at a time (the server's
 * latency path: OpenBLAS's GEMV costs as much here, and its thread pool
 * only adds overhead on one row) and tiny layers (the course's
 * SimpleRNN(6)), where the call itself is most of the cost. */
SN_RNN_CLONES static void small_product_t(const float *restrict h, size_t ld, size_t rows,
                                          size_t H, const float *restrict u, size_t ldu,
                                          size_t n, float *restrict dst, size_t ld_dst,
                                          int trans_u)
{
    /* Each output starts at 0 and adds h[k] * u[k][c] for k = 0, 1, ...;
     * the sums are the same on every path below. */
    size_t b, k, c;
    if (small_narrow(H, n)) {
        /* A narrow row (SimpleRNN(6)): U padded with zeros to whole blocks
         * of 8 columns, once per call, so that each row is one or two
         * register sums of H vector terms, and the rows overlap in the
         * pipeline. Adding into dst itself, as the wide path does, waited
         * on a store and a reload of the same few floats at every k. */
        sn_v8 pad[SN_SMALL_PAD];
        size_t nb = (n + 7) / 8, q;
        for (k = 0; k < H; k++)
            for (q = 0; q < nb; q++) {
                float col[8];
                for (c = 0; c < 8; c++)
                    col[c] = q * 8 + c >= n ? 0.0f
                             : trans_u      ? u[(q * 8 + c) * ldu + k]
                                            : u[k * ldu + q * 8 + c];
                memcpy(&pad[k * nb + q], col, sizeof col);
            }
        for (b = 0; b < rows; b += 4) {
            /* Four rows at a time: each sum is a chain of H dependent
             * adds, and four independent chains keep the adder busy. */
            sn_v8 acc[4][2];
            size_t m = rows - b < 4 ? rows - b : 4, j;
            for (j = 0; j < 4; j++)
                for (q = 0; q < 2; q++)
                    acc[j][q] = (sn_v8){0, 0, 0, 0, 0, 0, 0, 0};
            if (m == 4 && nb == 1) {
                const float *h0 = h + b * ld, *h1 = h0 + ld, *h2 = h1 + ld, *h3 = h2 + ld;
                for (k = 0; k < H; k++) {
                    acc[0][0] += h0[k] * pad[k];
                    acc[1][0] += h1[k] * pad[k];
                    acc[2][0] += h2[k] * pad[k];
                    acc[3][0] += h3[k] * pad[k];
                }
            } else {
                for (j = 0; j < m; j++)
                    for (q = 0; q < nb; q++)
                        for (k = 0; k < H; k++)
                            acc[j][q] += h[(b + j) * ld + k] * pad[k * nb + q];
            }
            for (j = 0; j < m; j++) {
                float *d = dst + (b + j) * ld_dst;
                for (q = 0; q < nb; q++) {
                    float out[8];
                    /* A whole block, or a partial one of packed rows
                     * (ld_dst == n) whose spill lands on rows written after
                     * it: one 8-float store. Else only the columns below n. */
                    if (q * 8 + 8 <= n ||
                        (ld_dst == n && (b + j) * n + q * 8 + 8 <= rows * n)) {
                        memcpy(d + q * 8, &acc[j][q], sizeof acc[j][q]);
                        continue;
                    }
                    memcpy(out, &acc[j][q], sizeof out);
                    for (c = q * 8; c < n; c++)
                        d[c] = out[c - q * 8];
                }
            }
        }
        return;
    }
    /* A wide row (the batch-1 LSTM, 512 columns) walks U row by row,
     * adding into dst, which L1 holds. */
    for (b = 0; b < rows; b++) {
        const float *hb = h + b * ld;
        float *d = dst + b * ld_dst;
        for (c = 0; c < n; c++)
            d[c] = 0.0f;
        for (k = 0; k < H; k++) {
            const float a = hb[k], *uk = u + k * ldu;
            for (c = 0; c < n; c++)
                d[c] += a * uk[c];
        }
    }
}

static void small_product(const float *h, size_t ld, size_t rows, size_t H, const float *u,
                          size_t ldu, size_t n, float *dst, size_t ld_dst)
{
    small_product_t(h, ld, rows, H, u, ldu, n, dst, ld_dst, 0);
}

/* Whether a recurrent product takes small_product (see there): one row, or
 * a product of at most 16384 multiply-adds with at most 1024 weights. */
static int small_enough(const sn_rnn_run *r, int32_t n)
{
    return small_for(r->units, n, r->batch);
}

/* Whether inference takes small_product for the input projection: one
 * sequence, or a product of at most 16384 multiply-adds per step with at
 * most 1024 weights. It depends only on the batch and the layer, never on
 * the number of steps, so a sequence fed whole or step by step takes the
 * same path (and gets the same bits). */
static int small_input(const sn_rnn_run *r)
{
    size_t weights = (size_t)r->in_features * (size_t)(r->gates * r->units);
    return r->batch == 1 || (weights <= 1024u && weights * (size_t)r->batch <= 16384u);
}

void sn_rnn_recurrent_product(const sn_rnn_run *r, const float *h_rec, size_t ld, int32_t col,
                              int32_t n, float *dst, size_t ld_dst)
{
    size_t H = (size_t)r->units, GH = (size_t)(r->gates * r->units);
    if (small_enough(r, n))
        small_product(h_rec, ld, (size_t)r->batch, H, r->rkernel + col, GH, (size_t)n, dst,
                      ld_dst);
    else
        sn_gemm(0, 0, (size_t)r->batch, (size_t)n, H, 1.0f, h_rec, ld, r->rkernel + col, GH,
                0.0f, dst, ld_dst);
}

int sn_rnn_recurrent_accumulate(const sn_rnn_run *r, const float *h_rec, size_t ld, int32_t t)
{
    size_t H = (size_t)r->units, GH = (size_t)(r->gates * r->units);
    if (r->xh != NULL) {
        /* [x~_t | h~] [W; U] onto the bias (or onto nothing). */
        size_t K = (size_t)r->in_features + H, B = (size_t)r->batch;
        sn_gemm(0, 0, B, GH, K, 1.0f, r->xh + (size_t)t * B * K, K, r->wu, GH,
                r->bias != NULL ? 1.0f : 0.0f, sn_rnn_gate_row(r, 0, t), GH);
        return 1;
    }
    if (small_enough(r, r->gates * r->units))
        return 0;
    sn_gemm(0, 0, (size_t)r->batch, GH, H, 1.0f, h_rec, ld, r->rkernel, GH, 1.0f,
            sn_rnn_gate_row(r, 0, t), GH);
    return 1;
}

void sn_rnn_recurrent_back(const sn_rnn_run *r, const float *src, size_t ld_src, int32_t col,
                           int32_t n, float *dst, int accumulate)
{
    size_t H = (size_t)r->units, GH = (size_t)(r->gates * r->units);
    float beta = accumulate ? 1.0f : 0.0f;
    if (r->batch > 1 && small_enough(r, n) && !accumulate && small_narrow((size_t)n, H)) {
        /* Tiny layers (SimpleRNN(6)): the register product over U's
         * transpose; each sum in the same order as the dot products below. */
        small_product_t(src, ld_src, (size_t)r->batch, (size_t)n, r->rkernel + col, GH, H, dst,
                        H, 1);
    } else if (r->batch > 1 && small_enough(r, n)) {
        /* Tiny layers: dot products, cheaper than the BLAS call. */
        size_t b, k, c;
        for (b = 0; b < (size_t)r->batch; b++)
            for (k = 0; k < H; k++) {
                const float *sb = src + b * ld_src, *uk = r->rkernel + k * GH + col;
                float acc = 0.0f;
                for (c = 0; c < (size_t)n; c++)
                    acc += sb[c] * uk[c];
                dst[b * H + k] = accumulate ? dst[b * H + k] + acc : acc;
            }
    } else if (r->batch == 1) {
        sn_gemv(0, H, (size_t)n, 1.0f, r->rkernel + col, GH, src, beta, dst);
    } else {
        sn_gemm(0, 1, (size_t)r->batch, H, (size_t)n, 1.0f, src, ld_src, r->rkernel + col, GH,
                beta, dst, H);
    }
}

/* ---- row operations of the fused passes ------------------------------------ */

SN_RNN_CLONES void sn_rnn_act_into(int act, const float *restrict x, float *restrict y, size_t n)
{
    sn_rnn_act_row_into(act, x, y, n);
}

SN_RNN_CLONES void sn_rnn_mul_act_grad(int act, const float *restrict a, float *restrict y,
                                       size_t n)
{
    size_t j;
    switch (act) {
    case SN_ACT_TANH:
        for (j = 0; j < n; j++)
            y[j] *= 1.0f - a[j] * a[j];
        break;
    case SN_ACT_SIGMOID:
        for (j = 0; j < n; j++)
            y[j] *= a[j] * (1.0f - a[j]);
        break;
    default:
        for (j = 0; j < n; j++)
            y[j] *= sn_rnn_act_grad(act, a[j]);
        break;
    }
}

void sn_rnn_finish_dh_prev(sn_rnn_run *r, const sn_rnn_step *st, const float *direct)
{
    size_t H = (size_t)r->units, j;
    int32_t b;
    for (b = 0; b < r->batch; b++) {
        float *dp = r->dh_prev + (size_t)b * H;
        const float *keep = r->rec_keep != NULL ? r->rec_keep + (size_t)b * H : NULL;
        if (!sn_rnn_real(r, b, st->t)) {
            sn_copy_floats(dp, r->dh + (size_t)b * H, H);
            continue;
        }
        if (direct != NULL)
            for (j = 0; j < H; j++)
                dp[j] += direct[(size_t)b * H + j];
        if (keep != NULL)
            for (j = 0; j < H; j++)
                dp[j] *= keep[j];
    }
}

/* ---- forward ------------------------------------------------------------------- */

/* A per-row keep-mask: 0 with probability rate, else 1/(1-rate). */
static void draw_keep(float *keep, size_t n, float rate, sn_rng *rng)
{
    float scale = 1.0f / (1.0f - rate);
    size_t k;
    for (k = 0; k < n; k++)
        keep[k] = sn_rng_uniform(rng) < rate ? 0.0f : scale;
}

/* The views of step s (state before / after, the h~ and aux rows). */
static void step_views(const sn_rnn_run *r, int32_t s, sn_rnn_step *st)
{
    size_t BH = (size_t)r->batch * (size_t)r->units, H = (size_t)r->units;
    st->s = s;
    st->t = sn_rnn_step_time(r, s);
    st->h_prev = s > 0 ? r->states + (size_t)(s - 1) * BH : (r->h0 != NULL ? r->h0 : r->zeros);
    st->h_out = r->states + (size_t)s * BH;
    st->c_prev = NULL;
    st->c_out = NULL;
    if (r->cells != NULL) {
        st->c_prev = s > 0 ? r->cells + (size_t)(s - 1) * BH : (r->c0 != NULL ? r->c0 : r->zeros);
        st->c_out = r->cells + (size_t)s * BH;
    }
    if (r->training) {
        if (r->xh != NULL) {
            size_t K = (size_t)r->in_features + H;
            st->h_rec = r->xh + (size_t)st->t * (size_t)r->batch * K + r->in_features;
            st->ld_rec = K;
        } else {
            st->h_rec = sn_rnn_hrec_in_states(r) && st->t > 0
                            ? r->states + (size_t)(st->t - 1) * BH
                            : r->hrec + (size_t)st->t * BH;
            st->ld_rec = H;
        }
        st->aux = r->aux != NULL ? r->aux + (size_t)st->t * BH : NULL;
        st->ld_aux = H;
    } else {
        st->h_rec = st->h_prev;
        st->ld_rec = H;
        st->aux = r->aux;
        st->ld_aux = H;
    }
}

void sn_rnn_forward(sn_rnn_run *r, sn_rng *rng)
{
    const sn_rnn_config *c = r->c;
    size_t B = (size_t)r->batch, T = (size_t)r->time, I = (size_t)r->in_features;
    size_t H = (size_t)r->units, GH = (size_t)(r->gates * r->units), rows = B * T, b, k;
    const float *xin = r->x;
    float beta = 0.0f;
    int32_t s;

    /* Training: the input in time-major order (dropped, with dropout), so
     * that every step's gate rows, h~ rows and aux rows are contiguous
     * blocks and the input GEMM (or, stacked, each step's) writes them in
     * that order. */
    if (r->training) {
        /* With the stacked operand, x~ goes into the left part of each
         * [x~ | h~] row, and W over U into one block. */
        size_t t, ldx = r->xh != NULL ? I + H : I;
        float *xt = r->xh != NULL ? r->xh : r->xdrop;
        if (r->in_keep != NULL)
            draw_keep(r->in_keep, B * I, c->dropout, rng);
        if (r->wu != NULL) {
            memcpy(r->wu, r->kernel, I * GH * sizeof *r->wu);
            memcpy(r->wu + I * GH, r->rkernel, H * GH * sizeof *r->wu);
        }
        for (t = 0; t < T; t++)
            for (b = 0; b < B; b++) {
                const float *src = r->x + (b * T + t) * I;
                float *d = xt + (t * B + b) * ldx;
                if (r->in_keep != NULL)
                    for (k = 0; k < I; k++)
                        d[k] = src[k] * r->in_keep[b * I + k];
                else
                    sn_copy_floats(d, src, I);
            }
        xin = r->xdrop;
    }
    if (r->rec_keep != NULL)
        draw_keep(r->rec_keep, B * H, c->recurrent_dropout, rng);

    /* The input projection, the input bias preloaded. Training: every step
     * in one GEMM. Inference: one GEMM per step over the batch rows, so a
     * step's result does not depend on how many steps came in the same call
     * (BLAS rounds a 1-row and a 200-row product differently): feeding a
     * message token by token (stateful sessions) gives exactly what the
     * whole sequence gives. */
    if (r->bias != NULL) {
        if (r->training)
            sn_fill_rows(r->proj, r->bias, rows, GH);
        beta = 1.0f;
    }
    if (r->training) {
        if (r->xh == NULL) /* else a step at a time, with h~ */
            sn_gemm(0, 0, rows, GH, I, 1.0f, xin, I, r->kernel, GH, beta, r->proj, GH);
    } else if (small_input(r)) {
        /* One sequence (the latency path) or a tiny layer: the built-in
         * product rounds each row the same way however many rows come in a
         * call, so a call per step over the batch (time-major rows); a BLAS
         * call per step of one row cost more in packing than in arithmetic. */
        size_t t;
        for (t = 0; t < T; t++)
            small_product(xin + t * I, T * I, B, I, r->kernel, GH, GH, r->proj + t * B * GH, GH);
        if (r->bias != NULL)
            for (k = 0; k < rows; k++) {
                float *d = r->proj + k * GH;
                size_t j;
                for (j = 0; j < GH; j++)
                    d[j] += r->bias[j];
            }
    } else {
        size_t t;
        if (r->bias != NULL)
            sn_fill_rows(r->proj, r->bias, rows, GH);
        for (t = 0; t < T; t++)
            sn_gemm(0, 0, B, GH, I, 1.0f, xin + t * I, T * I, r->kernel, GH, beta,
                    r->proj + t * B * GH, GH);
    }
    memset(r->zeros, 0, B * H * sizeof(float));

    for (s = 0; s < r->time; s++) {
        sn_rnn_step st;
        step_views(r, s, &st);
        if (r->xh != NULL) {
            /* h~ into the right part of the step's [x~ | h~] rows. */
            size_t K = I + H;
            float *dst = r->xh + (size_t)st.t * B * K + I;
            for (b = 0; b < B; b++)
                if (r->rec_keep != NULL)
                    for (k = 0; k < H; k++)
                        dst[b * K + k] = st.h_prev[b * H + k] * r->rec_keep[b * H + k];
                else
                    sn_copy_floats(dst + b * K, st.h_prev + b * H, H);
        } else if (r->training && !(sn_rnn_hrec_in_states(r) && st.t > 0)) {
            /* Keep h~ in (t, b) order for the dU GEMM of backward. */
            float *dst = r->hrec + (size_t)st.t * B * H;
            if (r->rec_keep != NULL)
                for (k = 0; k < B * H; k++)
                    dst[k] = st.h_prev[k] * r->rec_keep[k];
            else
                memcpy(dst, st.h_prev, B * H * sizeof *dst);
        }
        switch (c->cell) {
        case SN_CELL_LSTM: sn_lstm_step_forward(r, &st); break;
        case SN_CELL_GRU: sn_gru_step_forward(r, &st); break;
        default: sn_simple_rnn_step_forward(r, &st); break;
        }
    }
}

const float *sn_rnn_output_row(const sn_rnn_run *r, int32_t b, int32_t s)
{
    if (r->zero_output_mask && !sn_rnn_real(r, b, sn_rnn_step_time(r, s)))
        return r->zeros + (size_t)b * (size_t)r->units;
    return r->states + ((size_t)s * (size_t)r->batch + (size_t)b) * (size_t)r->units;
}

/* Output position of step s: processing order, or flipped (Keras's
 * Bidirectional flips its backward layer's sequence whatever go_backwards). */
static size_t out_pos(const sn_rnn_run *r, int32_t s, int reverse)
{
    return (size_t)(reverse ? r->time - 1 - s : s);
}

void sn_rnn_write_output(const sn_rnn_run *r, float *out, size_t ld, int sequences, int reverse)
{
    size_t H = (size_t)r->units, T = (size_t)r->time;
    int32_t b, s;
    for (b = 0; b < r->batch; b++) {
        if (!sequences) {
            /* The final state (zero_output_mask concerns sequences only). */
            sn_copy_floats(out + (size_t)b * ld,
                           r->states + ((T - 1) * (size_t)r->batch + (size_t)b) * H, H);
            continue;
        }
        for (s = 0; s < r->time; s++)
            sn_copy_floats(out + ((size_t)b * T + out_pos(r, s, reverse)) * ld,
                           sn_rnn_output_row(r, b, s), H);
    }
}

/* ---- backward ------------------------------------------------------------------ */

/* dst [H, n] = h~^T dZ over every (t, b) row, dZ from src (row stride
 * ld): one GEMM over r->hrec, or with sn_rnn_hrec_in_states two (step 0
 * from r->hrec, steps 1.. from the states of steps 0..T-2). */
static void hrec_product(const sn_rnn_run *r, const float *src, size_t ld, size_t n, float *dst,
                         size_t ld_dst)
{
    size_t B = (size_t)r->batch, T = (size_t)r->time, H = (size_t)r->units;
    if (!sn_rnn_hrec_in_states(r) || T < 2) {
        sn_gemm(1, 0, H, n, B * T, 1.0f, r->hrec, H, src, ld, 0.0f, dst, ld_dst);
        return;
    }
    sn_gemm(1, 0, H, n, B, 1.0f, r->hrec, H, src, ld, 0.0f, dst, ld_dst);
    sn_gemm(1, 0, H, n, B * (T - 1), 1.0f, r->states, H, src + B * ld, ld, 1.0f, dst, ld_dst);
}

/* dst[n] = sum over rows of src[rows, ld] (columns 0..n-1). */
static void column_sums(const float *src, size_t rows, size_t ld, size_t n, float *dst)
{
    size_t i, j;
    memset(dst, 0, n * sizeof *dst);
    for (i = 0; i < rows; i++)
        for (j = 0; j < n; j++)
            dst[j] += src[i * ld + j];
}

void sn_rnn_backward(sn_rnn_run *r, const float *d_out, size_t ld, int sequences, int reverse,
                     float *d_kernel, float *d_rkernel, float *d_bias, float *grad_in,
                     int accumulate)
{
    const sn_rnn_config *c = r->c;
    size_t B = (size_t)r->batch, T = (size_t)r->time, I = (size_t)r->in_features;
    size_t H = (size_t)r->units, GH = (size_t)(r->gates * r->units), rows = B * T, b, j;
    const float *xin = r->xdrop; /* training: time-major, dropped */
    int32_t s;

    r->grad_in = grad_in;
    r->grad_in_accumulate = accumulate;
    memset(r->dh, 0, B * H * sizeof(float));
    memset(r->dc, 0, B * H * sizeof(float));
    /* Gradients of the returned final state (return_state): the final state
     * is the state after the last step, so they start the backward walk. */
    if (r->d_hT != NULL)
        memcpy(r->dh, r->d_hT, B * H * sizeof(float));
    if (r->d_cT != NULL)
        memcpy(r->dc, r->d_cT, B * H * sizeof(float));
    if (!sequences)
        for (b = 0; b < B; b++)
            for (j = 0; j < H; j++)
                r->dh[b * H + j] += d_out[b * ld + j];

    for (s = r->time - 1; s >= 0; s--) {
        sn_rnn_step st;
        float *swap;
        step_views(r, s, &st);
        if (sequences) {
            size_t pos = out_pos(r, s, reverse);
            for (b = 0; b < B; b++) {
                const float *g = d_out + (b * T + pos) * ld;
                float *dh = r->dh + b * H;
                if (r->zero_output_mask && !sn_rnn_real(r, (int32_t)b, st.t))
                    continue;
                for (j = 0; j < H; j++)
                    dh[j] += g[j];
            }
        }
        switch (c->cell) {
        case SN_CELL_LSTM: sn_lstm_step_backward(r, &st); break;
        case SN_CELL_GRU: sn_gru_step_backward(r, &st); break;
        default: sn_simple_rnn_step_backward(r, &st); break;
        }
        swap = r->dh;
        r->dh = r->dh_prev;
        r->dh_prev = swap;
    }

    /* r->proj now holds dZ for every (b, t); masked rows are 0. */
    if (r->xh != NULL) {
        /* d[W; U] = [X~ | H~]^T dZ in one product (W over U is no longer
         * needed: its block takes the result); dX was written a step at a
         * time. */
        size_t K = I + H;
        if (d_kernel != NULL || d_rkernel != NULL)
            sn_gemm(1, 0, K, GH, rows, 1.0f, r->xh, K, r->proj, GH, 0.0f, r->wu, GH);
        if (d_kernel != NULL)
            memcpy(d_kernel, r->wu, I * GH * sizeof *d_kernel);
        if (d_rkernel != NULL)
            memcpy(d_rkernel, r->wu + I * GH, H * GH * sizeof *d_rkernel);
        if (d_bias != NULL)
            column_sums(r->proj, rows, GH, GH, d_bias);
        return;
    }
    if (d_kernel != NULL)
        sn_gemm(1, 0, I, GH, rows, 1.0f, xin, I, r->proj, GH, 0.0f, d_kernel, GH);
    if (d_rkernel != NULL) {
        if (c->cell != SN_CELL_GRU) {
            hrec_product(r, r->proj, GH, GH, d_rkernel, GH);
        } else {
            /* z and r see h~; the candidate sees h~ against dZ_h * r
             * (reset_after) or r * h~ against dZ_h (reset before). */
            hrec_product(r, r->proj, GH, 2 * H, d_rkernel, GH);
            if (c->reset_after)
                hrec_product(r, r->aux, H, H, d_rkernel + 2 * H, GH);
            else
                sn_gemm(1, 0, H, H, rows, 1.0f, r->aux, H, r->proj + 2 * H, GH, 0.0f,
                        d_rkernel + 2 * H, GH);
        }
    }
    if (d_bias != NULL) {
        column_sums(r->proj, rows, GH, GH, d_bias);
        if (c->cell == SN_CELL_GRU && c->reset_after) {
            column_sums(r->proj, rows, GH, 2 * H, d_bias + GH);
            column_sums(r->aux, rows, H, H, d_bias + GH + 2 * H);
        }
    }
    if (grad_in != NULL) {
        /* X~ is no longer needed: reuse it for dX~ (time-major), then put
         * it back in (b, t) order, through the dropout mask if any. */
        float *dx = r->xdrop;
        size_t t;
        sn_gemm(0, 1, rows, I, GH, 1.0f, r->proj, GH, r->kernel, GH, 0.0f, dx, I);
        for (t = 0; t < T; t++)
            for (b = 0; b < B; b++) {
                const float *src = dx + (t * B + b) * I;
                float *d = grad_in + (b * T + t) * I;
                const float *keep = r->in_keep != NULL ? r->in_keep + b * I : NULL;
                for (j = 0; j < I; j++) {
                    float g = keep != NULL ? src[j] * keep[j] : src[j];
                    d[j] = accumulate ? d[j] + g : g;
                }
            }
    }
}

void sn_rnn_stacked_back(sn_rnn_run *r, const sn_rnn_step *st)
{
    size_t B = (size_t)r->batch, T = (size_t)r->time, I = (size_t)r->in_features;
    size_t H = (size_t)r->units, GH = (size_t)(r->gates * r->units), K = I + H, b, j;
    const float *dz = sn_rnn_gate_row(r, 0, st->t);
    if (r->grad_in == NULL) {
        /* No dX wanted: only U's rows of the stacked block. */
        sn_gemm(0, 1, B, H, GH, 1.0f, dz, GH, r->wu + I * GH, GH, 0.0f, r->dh_prev, H);
        return;
    }
    sn_gemm(0, 1, B, K, GH, 1.0f, dz, GH, r->wu, GH, 0.0f, r->dxh, K);
    for (b = 0; b < B; b++) {
        const float *src = r->dxh + b * K;
        const float *keep = r->in_keep != NULL ? r->in_keep + b * I : NULL;
        float *dx = r->grad_in + (b * T + (size_t)st->t) * I;
        for (j = 0; j < I; j++) {
            float g = keep != NULL ? src[j] * keep[j] : src[j];
            dx[j] = r->grad_in_accumulate ? dx[j] + g : g;
        }
        sn_copy_floats(r->dh_prev + b * H, src + I, H);
    }
}

/* ---- the plain layers' ops glue ------------------------------------------------ */

/* The stamp: which forward filled the scratch. Backward reads a layout that
 * only a training forward of the same batch and length wrote. */
typedef struct rnn_stamp {
    uint32_t magic;
    int32_t training, batch, time;
} rnn_stamp;

#define SN_RNN_STAMP_MAGIC 0x524e4e31u /* "RNN1" */

void sn_rnn_stamp(const sn_exec *e)
{
    rnn_stamp st;
    st.magic = SN_RNN_STAMP_MAGIC;
    st.training = e->training != 0;
    st.batch = e->in[0]->batch;
    st.time = e->in[0]->time;
    memcpy(e->scratch, &st, sizeof st);
}

int sn_rnn_stamp_check(const sn_exec *e)
{
    rnn_stamp st;
    if (e->scratch != NULL)
        memcpy(&st, e->scratch, sizeof st);
    if (e->scratch == NULL || st.magic != SN_RNN_STAMP_MAGIC || !st.training ||
        st.batch != e->in[0]->batch || st.time != e->in[0]->time)
        return sn_error(e->err, SEQNET_ESTATE,
                        "layer '%s': backward needs a training forward pass first",
                        e->layer->name);
    return SEQNET_OK;
}

int sn_rnn_layer_configure(sn_layer *L, sn_object *err)
{
    return sn_rnn_parse(L, L->kind, L->config, err);
}

int sn_rnn_layer_infer(const sn_layer *L, const sn_shape *in, int32_t n_in, sn_shape *out,
                       sn_object *err)
{
    const sn_rnn_config *c = L->config;
    int32_t n_states = c->cell == SN_CELL_LSTM ? 2 : 1, k;
    if (n_in != 1 && n_in != 1 + n_states)
        return sn_layer_shape_error(L, err, c->cell == SN_CELL_LSTM
                                                ? "initial_state takes two inputs, h and c"
                                                : "initial_state takes one input, h");
    for (k = 1; k < n_in; k++)
        if (in[k].is_tokens || in[k].time != SN_TIME_VECTOR || in[k].features != c->units)
            return sn_layer_shape_error(L, err, "an initial state must be a float vector of "
                                                "width units");
    return sn_rnn_infer_shape(L, c, c->units, in, out, err);
}

int sn_rnn_layer_declare(sn_layer *L, sn_object *err)
{
    (void)err;
    L->n_params = sn_rnn_declare(L, L->config, L->in_shapes[0].features, 0, "");
    return SEQNET_OK;
}

size_t sn_rnn_layer_scratch(const sn_layer *L, int32_t batch, const sn_shape *in, int training)
{
    return SN_RNN_STAMP_BYTES + sn_rnn_scratch_bytes(L->config, batch, in[0].time >= 1 ? in[0].time : 1,
                                in[0].features, training);
}

/* Point a run at layer L's weights, with the parameter block `params`. */
static void bind_layer(sn_rnn_run *r, const sn_exec *e)
{
    const sn_layer *L = e->layer;
    const sn_rnn_config *c = L->config;
    const sn_tensor *in = e->in[0];
    sn_rnn_bind(r, c, (char *)e->scratch + SN_RNN_STAMP_BYTES, in->batch, in->time, in->features, e->training);
    r->zero_output_mask = 0;
    r->kernel = e->params + L->params[0].offset;
    r->rkernel = e->params + L->params[1].offset;
    r->bias = c->use_bias ? e->params + L->params[2].offset : NULL;
    r->x = in->x;
    r->mask = in->mask;
    if (e->n_inputs > 1) {
        /* Keras's initial_state inputs: h (and c for an LSTM). */
        r->h0 = e->in[1]->x;
        if (c->cell == SN_CELL_LSTM && e->n_inputs > 2)
            r->c0 = e->in[2]->x;
    } else if (e->state_in != NULL) {
        r->h0 = e->state_in;
        if (c->cell == SN_CELL_LSTM)
            r->c0 = e->state_in + (size_t)in->batch * (size_t)c->units;
    }
    if (e->state_grad != NULL) {
        r->d_hT = e->state_grad;
        if (c->cell == SN_CELL_LSTM)
            r->d_cT = e->state_grad + (size_t)in->batch * (size_t)c->units;
    }
}

int32_t sn_rnn_layer_state_size(const sn_layer *L)
{
    const sn_rnn_config *c = L->config;
    return c->cell == SN_CELL_LSTM ? 2 * c->units : c->units;
}

int sn_rnn_layer_forward(sn_exec *e)
{
    const sn_rnn_config *c = e->layer->config;
    sn_tensor *out = e->out;
    sn_rnn_run r;
    if (e->scratch == NULL)
        return sn_error(e->err, SEQNET_ESTATE, "layer '%s': no workspace", e->layer->name);
    bind_layer(&r, e);
    sn_rnn_stamp(e);
    sn_rnn_forward(&r, e->rng);
    sn_rnn_write_output(&r, out->x, (size_t)c->units, c->return_sequences, 0);
    if (e->state_out != NULL && r.time > 0) {
        /* The state after the last step (masked rows carried theirs). */
        size_t bh = (size_t)r.batch * (size_t)r.units;
        memcpy(e->state_out, r.states + (size_t)(r.time - 1) * bh, bh * sizeof(float));
        if (r.cells != NULL)
            memcpy(e->state_out + bh, r.cells + (size_t)(r.time - 1) * bh, bh * sizeof(float));
    }
    if (c->return_sequences && out->mask != NULL && e->in[0]->mask != NULL &&
        out->mask != e->in[0]->mask)
        memcpy(out->mask, e->in[0]->mask, (size_t)out->batch * (size_t)out->time);
    return SEQNET_OK;
}

int sn_rnn_layer_backward(sn_exec *e)
{
    const sn_layer *L = e->layer;
    const sn_rnn_config *c = L->config;
    sn_rnn_run r;
    float *dk = NULL, *du = NULL, *db = NULL;
    int st;
    if ((st = sn_rnn_stamp_check(e)) != SEQNET_OK)
        return st;
    bind_layer(&r, e);
    if (e->grads != NULL) {
        dk = e->grads + L->params[0].offset;
        du = e->grads + L->params[1].offset;
        db = c->use_bias ? e->grads + L->params[2].offset : NULL;
    }
    sn_rnn_backward(&r, e->grad_out, (size_t)c->units, c->return_sequences, 0, dk, du, db,
                    e->grad_in[0], e->grad_in_accumulate[0]);
    /* After the walk r.dh and r.dc hold the gradient of the state before
     * the first step: the initial_state inputs' gradients. */
    if (e->n_inputs > 1) {
        size_t bh = (size_t)r.batch * (size_t)r.units;
        if (e->grad_in[1] != NULL)
            sn_grad_store(e->grad_in[1], r.dh, bh, e->grad_in_accumulate[1]);
        if (e->n_inputs > 2 && e->grad_in[2] != NULL)
            sn_grad_store(e->grad_in[2], r.dc, bh, e->grad_in_accumulate[2]);
    }
    return SEQNET_OK;
}

void sn_lstm_init_forget_bias(const sn_layer *L, float *params)
{
    const sn_rnn_config *c;
    int32_t p;
    int64_t j;
    if (L == NULL || L->config == NULL || params == NULL ||
        (L->kind != SEQNET_LAYER_LSTM && L->kind != SEQNET_LAYER_BIDIRECTIONAL))
        return;
    /* Bidirectional's config starts with its cell's sn_rnn_config. */
    c = L->config;
    if (c->cell != SN_CELL_LSTM || !c->use_bias || !c->unit_forget_bias)
        return;
    for (p = 0; p < L->n_params; p++) {
        const sn_param *P = &L->params[p];
        size_t len = strlen(P->name);
        if (len < 4 || strcmp(P->name + len - 4, "bias") != 0)
            continue;
        for (j = c->units; j < 2 * (int64_t)c->units; j++)
            params[P->offset + j] = 1.0f;
    }
}
