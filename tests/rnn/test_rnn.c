/*
 * tests/rnn/test_rnn.c -- SimpleRNN, LSTM, GRU and Bidirectional: the
 * course's worked example, Keras parameter counts through the public API,
 * forward values against an independent double-precision reference (masks,
 * go_backwards, dropout), finite-difference gradient checks for every option
 * (tests/layers/gradcheck.c), and agreement with PyTorch's forward and
 * backward (tests/golden/rnn_torch.txt, from gen_torch_rnn_golden.py).
 *
 * Runs with or without CK_FORK (valgrind: CK_FORK=no).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "layers/rnn_common.h"
#include "seqnet/seqnet.h"

#ifndef SEQNET_RNN_GOLDEN
#define SEQNET_RNN_GOLDEN "tests/golden/rnn_torch.txt"
#endif

extern const sn_layer_ops sn_simple_rnn_ops;
extern const sn_layer_ops sn_lstm_ops;
extern const sn_layer_ops sn_gru_ops;
extern const sn_layer_ops sn_bidirectional_ops;

/* ---- helpers ----------------------------------------------------------------- */

static const sn_layer_ops *ops_for(int kind)
{
    switch (kind) {
    case SEQNET_LAYER_LSTM: return &sn_lstm_ops;
    case SEQNET_LAYER_GRU: return &sn_gru_ops;
    case SEQNET_LAYER_BIDIRECTIONAL: return &sn_bidirectional_ops;
    default: return &sn_simple_rnn_ops;
    }
}

static void build_ok(gc_harness *h, const sn_layer_ops *ops, const sn_opts *o,
                     const gc_input *in, int32_t batch, int training)
{
    int st = gc_build(h, ops, o, in, 1, batch, training, 4321);
    ck_assert_msg(st == SEQNET_OK, "build failed (%d): %s", st, h->err.errmsg);
}

/* Post-padding (lengths > 0) or pre-padding (lengths < 0) mask. */
static void make_mask(uint8_t *mask, const int32_t *lengths, int32_t batch, int32_t time)
{
    int32_t b, t;
    for (b = 0; b < batch; b++) {
        int pre = lengths[b] < 0;
        int32_t len = pre ? -lengths[b] : lengths[b];
        for (t = 0; t < time; t++)
            mask[b * time + t] = (uint8_t)(pre ? t >= time - len : t < len);
    }
}

/* ---- an independent reference (double precision, one direction) ----------------- */

typedef struct ref_cfg {
    int kind;          /* SEQNET_LAYER_SIMPLE_RNN / LSTM / GRU */
    int units;
    int reset_after;
    int go_backwards;
    int hard_sigmoid;  /* recurrent activation */
    int zero_output;   /* masked outputs are 0 (Bidirectional) */
} ref_cfg;

static double ref_sig(const ref_cfg *c, double x)
{
    if (c->hard_sigmoid)
        return fmin(fmax(0.2 * x + 0.5, 0.0), 1.0);
    return 1.0 / (1.0 + exp(-x));
}

/*
 * out_seq [B, T, H] in processing order (may be NULL), out_last [B, H].
 * Straight from the equations in Keras's cells: z = x W + h U + b per step.
 */
static void ref_forward(const ref_cfg *c, const float *x, const uint8_t *mask,
                        const float *W, const float *U, const float *bias, int B, int T, int I,
                        double *out_seq, double *out_last)
{
    int H = c->units, G = c->kind == SEQNET_LAYER_LSTM ? 4 : (c->kind == SEQNET_LAYER_GRU ? 3 : 1);
    int b, s, j, k;
    double *h = calloc((size_t)H, sizeof *h), *cs = calloc((size_t)H, sizeof *cs);
    double *zx = calloc((size_t)(G * H), sizeof *zx), *zh = calloc((size_t)(G * H), sizeof *zh);
    double *hn = calloc((size_t)H, sizeof *hn);
    for (b = 0; b < B; b++) {
        memset(h, 0, (size_t)H * sizeof *h);
        memset(cs, 0, (size_t)H * sizeof *cs);
        for (s = 0; s < T; s++) {
            int t = c->go_backwards ? T - 1 - s : s;
            int real = mask == NULL || mask[b * T + t];
            if (real) {
                for (j = 0; j < G * H; j++) {
                    zx[j] = bias != NULL ? bias[j] : 0.0;
                    zh[j] = (bias != NULL && c->kind == SEQNET_LAYER_GRU && c->reset_after)
                                ? bias[G * H + j]
                                : 0.0;
                    for (k = 0; k < I; k++)
                        zx[j] += (double)x[(b * T + t) * I + k] * W[k * G * H + j];
                    for (k = 0; k < H; k++)
                        zh[j] += h[k] * U[k * G * H + j];
                }
                for (j = 0; j < H; j++) {
                    if (c->kind == SEQNET_LAYER_SIMPLE_RNN) {
                        hn[j] = tanh(zx[j] + zh[j]);
                    } else if (c->kind == SEQNET_LAYER_LSTM) {
                        double i_g = ref_sig(c, zx[j] + zh[j]);
                        double f_g = ref_sig(c, zx[H + j] + zh[H + j]);
                        double g_g = tanh(zx[2 * H + j] + zh[2 * H + j]);
                        double o_g = ref_sig(c, zx[3 * H + j] + zh[3 * H + j]);
                        cs[j] = f_g * cs[j] + i_g * g_g;
                        hn[j] = o_g * tanh(cs[j]);
                    } else {
                        double z = ref_sig(c, zx[j] + zh[j]), r = ref_sig(c, zx[H + j] + zh[H + j]);
                        double cand;
                        if (c->reset_after) {
                            cand = tanh(zx[2 * H + j] + r * zh[2 * H + j]);
                        } else {
                            double acc = zx[2 * H + j];
                            for (k = 0; k < H; k++)
                                acc += ref_sig(c, zx[H + k] + zh[H + k]) * h[k] *
                                       U[k * G * H + 2 * H + j];
                            cand = tanh(acc);
                        }
                        hn[j] = z * h[j] + (1.0 - z) * cand;
                    }
                }
                memcpy(h, hn, (size_t)H * sizeof *h);
            }
            if (out_seq != NULL)
                for (j = 0; j < H; j++)
                    out_seq[((size_t)b * T + s) * H + j] = (!real && c->zero_output) ? 0.0 : h[j];
        }
        for (j = 0; j < H; j++)
            out_last[b * H + j] = h[j];
    }
    free(h);
    free(cs);
    free(zx);
    free(zh);
    free(hn);
}

/* Options for a plain recurrent layer. */
static void rnn_opts(sn_opts *o, int units, int return_sequences)
{
    gc_opts_init(o);
    gc_opts_int(o, SEQNET_OPT_UNITS, units);
    gc_opts_int(o, SEQNET_OPT_RETURN_SEQUENCES, return_sequences);
}

/* ---- the course's worked example ------------------------------------------------- */

/* W rows for [h, x]: recurrent_kernel = rows 0-1, kernel = rows 2-3. */
static const float course_rkernel[4] = {1.5f, -2.0f, 0.0f, 1.0f};
static const float course_kernel[4] = {-1.0f, 0.5f, 2.0f, 0.0f};

START_TEST(course_cell_step_from_h_0_1)
{
    static const float x[2] = {1.0f, 0.0f};
    static const float h_prev[2] = {0.0f, 1.0f};
    gc_harness h;
    sn_opts o;
    gc_input in = {gc_sequence(1, 2), 1, x, NULL, NULL};
    sn_rnn_run r;
    sn_rnn_step st;
    float h_out[2];

    rnn_opts(&o, 2, 0);
    build_ok(&h, &sn_simple_rnn_ops, &o, &in, 1, 0);
    memcpy(gc_param(&h, 0), course_kernel, sizeof course_kernel);
    memcpy(gc_param(&h, 1), course_rkernel, sizeof course_rkernel);
    memset(gc_param(&h, 2), 0, 2 * sizeof(float));
    /* White box: the projection of x by one forward, then the cell's step
     * from the state (0, 1), which the layer API cannot start from. */
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    sn_rnn_bind(&r, h.layer.config, (char *)h.scratch + SN_RNN_STAMP_BYTES, 1, 1, 2, 0);
    r.kernel = gc_param(&h, 0);
    r.rkernel = gc_param(&h, 1);
    r.bias = gc_param(&h, 2);
    r.x = h.in_x[0];
    r.mask = NULL;
    memset(&st, 0, sizeof st);
    st.h_prev = h_prev;
    st.h_rec = h_prev;
    st.ld_rec = 2;
    st.h_out = h_out;
    sn_simple_rnn_step_forward(&r, &st);
    ck_assert_msg(fabs(h_out[0] - -0.7616) < 1e-4 && fabs(h_out[1] - 0.9051) < 1e-4,
                  "h(t) = (%g, %g)", h_out[0], h_out[1]);
    ck_assert_msg(fabs(h_out[0] - tanh(-1.0)) < 1e-6 && fabs(h_out[1] - tanh(1.5)) < 1e-6,
                  "h(t) != tanh((-1, 1.5))");
    gc_free(&h);
}
END_TEST

START_TEST(course_weights_from_zero_state_over_two_steps)
{
    static const float x[4] = {0.5f, -1.0f, 1.0f, 0.0f};
    gc_harness h;
    sn_opts o;
    gc_input in = {gc_sequence(2, 2), 2, x, NULL, NULL};
    double h1[2], h2[2];
    int j;

    rnn_opts(&o, 2, 1);
    build_ok(&h, &sn_simple_rnn_ops, &o, &in, 1, 0);
    memcpy(gc_param(&h, 0), course_kernel, sizeof course_kernel);
    memcpy(gc_param(&h, 1), course_rkernel, sizeof course_rkernel);
    memset(gc_param(&h, 2), 0, 2 * sizeof(float));
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    /* By hand: h1 = tanh(x1 Wx); h2 = tanh(h1 Wh + x2 Wx). */
    for (j = 0; j < 2; j++)
        h1[j] = tanh(0.5 * course_kernel[j] - 1.0 * course_kernel[2 + j]);
    for (j = 0; j < 2; j++)
        h2[j] = tanh(h1[0] * course_rkernel[j] + h1[1] * course_rkernel[2 + j] +
                     1.0 * course_kernel[j]);
    for (j = 0; j < 2; j++) {
        ck_assert_msg(fabs(h.out.x[j] - h1[j]) < 1e-6, "h1[%d] %g vs %g", j, h.out.x[j], h1[j]);
        ck_assert_msg(fabs(h.out.x[2 + j] - h2[j]) < 1e-6, "h2[%d]", j);
    }
    gc_free(&h);
}
END_TEST

/* ---- parameter counts through the public graph API -------------------------------- */

static int64_t count_params(int kind, int units, int return_sequences, int dense_units,
                            int32_t time, int32_t features)
{
    seqnet_context *ctx = NULL;
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    int32_t in, rnn, out;
    int64_t total = -1;
    if (seqnet_context_new(&ctx) != SEQNET_OK || seqnet_graph_new(ctx, &g) != SEQNET_OK ||
        seqnet_options_new(ctx, &o) != SEQNET_OK)
        goto done;
    if (seqnet_graph_input_sequence(g, time, features, NULL, &in) != SEQNET_OK)
        goto done;
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, units);
    seqnet_options_set_int(o, SEQNET_OPT_RETURN_SEQUENCES, return_sequences);
    if (seqnet_graph_add(g, kind, o, &in, 1, NULL, &rnn) != SEQNET_OK)
        goto done;
    seqnet_options_clear(o);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, dense_units);
    if (seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &rnn, 1, NULL, &out) != SEQNET_OK ||
        seqnet_graph_compile(g, &in, 1, &out, 1, &m) != SEQNET_OK)
        goto done;
    total = seqnet_model_count_params(m, NULL, NULL);
done:
    seqnet_model_free(m);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    seqnet_context_free(ctx);
    return total;
}

START_TEST(keras_parameter_counts)
{
    ck_assert_int_eq(count_params(SEQNET_LAYER_SIMPLE_RNN, 12, 1, 1, 128, 1), 181);
    ck_assert_int_eq(count_params(SEQNET_LAYER_LSTM, 12, 1, 1, 128, 1), 685);
    ck_assert_int_eq(count_params(SEQNET_LAYER_SIMPLE_RNN, 4, 0, 2, 2, 3), 42);
    /* GRU: 3 * (H (I + H) + 2H) with reset_after; (8*3 + 8*8 + 2*8) * 3 = 312. */
    ck_assert_int_eq(count_params(SEQNET_LAYER_GRU, 8, 0, 1, 0, 3), 312 + 9);
}
END_TEST

START_TEST(keras_weight_layouts)
{
    gc_harness h;
    sn_opts o;
    gc_input in = {gc_sequence(0, 5), 3, NULL, NULL, NULL};
    rnn_opts(&o, 7, 0);
    build_ok(&h, &sn_lstm_ops, &o, &in, 2, 1);
    ck_assert_int_eq(h.layer.n_params, 3);
    ck_assert_str_eq(h.layer.params[0].name, "kernel");
    ck_assert_int_eq(h.layer.params[0].dims[0], 5);
    ck_assert_int_eq(h.layer.params[0].dims[1], 28);
    ck_assert_int_eq(h.layer.params[0].init, SN_INIT_GLOROT_UNIFORM);
    ck_assert_str_eq(h.layer.params[1].name, "recurrent_kernel");
    ck_assert_int_eq(h.layer.params[1].dims[0], 7);
    ck_assert_int_eq(h.layer.params[1].dims[1], 28);
    ck_assert_int_eq(h.layer.params[1].init, SN_INIT_ORTHOGONAL);
    ck_assert_str_eq(h.layer.params[2].name, "bias");
    ck_assert_int_eq(h.layer.params[2].rank, 1);
    ck_assert_int_eq(h.layer.params[2].dims[0], 28);
    ck_assert_int_eq(h.out_shape.time, SN_TIME_VECTOR);
    gc_free(&h);

    rnn_opts(&o, 7, 1);
    build_ok(&h, &sn_gru_ops, &o, &in, 2, 1);
    ck_assert_int_eq(h.layer.params[2].rank, 2);
    ck_assert_int_eq(h.layer.params[2].dims[0], 2);
    ck_assert_int_eq(h.layer.params[2].dims[1], 21);
    ck_assert_int_eq(h.out_shape.time, 3);
    gc_free(&h);

    gc_opts_int(&o, SEQNET_OPT_RESET_AFTER, 0);
    build_ok(&h, &sn_gru_ops, &o, &in, 2, 1);
    ck_assert_int_eq(h.layer.params[2].rank, 1);
    ck_assert_int_eq(h.layer.params[2].dims[0], 21);
    gc_free(&h);

    gc_opts_int(&o, SEQNET_OPT_USE_BIAS, 0);
    build_ok(&h, &sn_gru_ops, &o, &in, 2, 1);
    ck_assert_int_eq(h.layer.n_params, 2);
    gc_free(&h);
}
END_TEST

START_TEST(lstm_unit_forget_bias_sets_the_forget_slice)
{
    gc_harness h;
    sn_opts o;
    gc_input in = {gc_sequence(0, 2), 3, NULL, NULL, NULL};
    float *bias;
    int j;
    rnn_opts(&o, 3, 0);
    build_ok(&h, &sn_lstm_ops, &o, &in, 1, 0);
    bias = gc_param(&h, 2);
    memset(bias, 0, 12 * sizeof *bias);
    sn_lstm_init_forget_bias(&h.layer, h.params);
    for (j = 0; j < 12; j++)
        ck_assert_msg(bias[j] == ((j >= 3 && j < 6) ? 1.0f : 0.0f), "bias[%d] = %g", j, bias[j]);
    gc_free(&h);

    gc_opts_int(&o, SEQNET_OPT_UNIT_FORGET_BIAS, 0);
    build_ok(&h, &sn_lstm_ops, &o, &in, 1, 0);
    memset(gc_param(&h, 2), 0, 12 * sizeof(float));
    sn_lstm_init_forget_bias(&h.layer, h.params);
    for (j = 0; j < 12; j++)
        ck_assert(gc_param(&h, 2)[j] == 0.0f);
    gc_free(&h);

    /* Bidirectional(LSTM): both directions' biases. */
    gc_opts_init(&o);
    gc_opts_int(&o, SEQNET_OPT_UNITS, 3);
    gc_opts_string(&o, SEQNET_OPT_LAYER, "LSTM");
    build_ok(&h, &sn_bidirectional_ops, &o, &in, 1, 0);
    memset(h.params, 0, h.n_param_floats * sizeof(float));
    sn_lstm_init_forget_bias(&h.layer, h.params);
    for (j = 0; j < 12; j++) {
        ck_assert(gc_param(&h, 2)[j] == ((j >= 3 && j < 6) ? 1.0f : 0.0f));
        ck_assert(gc_param(&h, 5)[j] == ((j >= 3 && j < 6) ? 1.0f : 0.0f));
    }
    gc_free(&h);
}
END_TEST

/* ---- forward against the reference -------------------------------------------------- */

typedef struct fwd_case {
    int kind;
    int reset_after;
    int go_backwards;
    int hard_sigmoid;
    int masked;   /* 0 none, 1 post-padding, 2 pre-padding */
    int batch;
} fwd_case;

static const fwd_case fwd_cases[] = {
    {SEQNET_LAYER_SIMPLE_RNN, 0, 0, 0, 0, 3}, {SEQNET_LAYER_SIMPLE_RNN, 0, 1, 0, 1, 3},
    {SEQNET_LAYER_LSTM, 0, 0, 0, 0, 3},       {SEQNET_LAYER_LSTM, 0, 1, 1, 2, 3},
    {SEQNET_LAYER_LSTM, 0, 0, 0, 1, 1},       {SEQNET_LAYER_GRU, 1, 0, 0, 1, 3},
    {SEQNET_LAYER_GRU, 0, 0, 0, 2, 3},        {SEQNET_LAYER_GRU, 0, 1, 1, 0, 1},
};

START_TEST(forward_matches_reference_with_masks_and_go_backwards)
{
    const fwd_case *fc = &fwd_cases[_i];
    const int T = 6, I = 3, H = 4, B = fc->batch;
    static const int32_t lengths_post[3] = {6, 3, 1}, lengths_pre[3] = {-6, -4, -2};
    uint8_t mask[18];
    gc_harness h;
    sn_opts o;
    gc_input in = {gc_sequence(0, I), T, NULL, NULL, NULL};
    double seq[3 * 6 * 4], last[3 * 4];
    ref_cfg rc = {fc->kind, H, fc->reset_after, fc->go_backwards, fc->hard_sigmoid, 0};
    int k, rs;

    if (fc->masked) {
        make_mask(mask, fc->masked == 1 ? lengths_post : lengths_pre, B, T);
        in.mask = mask;
    }
    for (rs = 0; rs < 2; rs++) {
        rnn_opts(&o, H, rs);
        gc_opts_int(&o, SEQNET_OPT_GO_BACKWARDS, fc->go_backwards);
        if (fc->kind == SEQNET_LAYER_GRU)
            gc_opts_int(&o, SEQNET_OPT_RESET_AFTER, fc->reset_after);
        if (fc->hard_sigmoid)
            gc_opts_string(&o, SEQNET_OPT_RECURRENT_ACTIVATION, "hard_sigmoid");
        build_ok(&h, ops_for(fc->kind), &o, &in, B, 0);
        ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
        ref_forward(&rc, h.in_x[0], in.mask, gc_param(&h, 0), gc_param(&h, 1), gc_param(&h, 2),
                    B, T, I, seq, last);
        for (k = 0; k < (rs ? B * T * H : B * H); k++) {
            double want = rs ? seq[k] : last[k];
            ck_assert_msg(fabs(h.out.x[k] - want) < 2e-6, "case %d rs %d: out[%d] %g vs %g", _i,
                          rs, k, h.out.x[k], want);
        }
        if (rs && fc->masked) { /* the mask travels with the sequence output */
            ck_assert_int_eq(h.out_shape.masked, 1);
            ck_assert(memcmp(h.out.mask, mask, (size_t)(B * T)) == 0);
        }
        gc_free(&h);
    }
}
END_TEST

START_TEST(masked_steps_carry_state_and_output)
{
    /* Post-padding: outputs after the last real step repeat it, and the
     * final output is the last real step's state. */
    static const int32_t lengths[2] = {2, 4};
    uint8_t mask[10];
    gc_harness h;
    sn_opts o;
    gc_input in = {gc_sequence(5, 2), 5, NULL, NULL, mask};
    int k;
    make_mask(mask, lengths, 2, 5);
    rnn_opts(&o, 3, 1);
    build_ok(&h, &sn_lstm_ops, &o, &in, 2, 0);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    for (k = 0; k < 3; k++) {
        ck_assert(h.out.x[(0 * 5 + 2) * 3 + k] == h.out.x[(0 * 5 + 1) * 3 + k]);
        ck_assert(h.out.x[(0 * 5 + 4) * 3 + k] == h.out.x[(0 * 5 + 1) * 3 + k]);
        ck_assert(h.out.x[(1 * 5 + 4) * 3 + k] == h.out.x[(1 * 5 + 3) * 3 + k]);
    }
    gc_free(&h);
    /* Pre-padding: the leading masked steps output the zero initial state. */
    {
        static const int32_t pre[2] = {-2, -5};
        make_mask(mask, pre, 2, 5);
        build_ok(&h, &sn_gru_ops, &o, &in, 2, 0);
        ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
        for (k = 0; k < 3 * 3; k++)
            ck_assert(h.out.x[k] == 0.0f);
        ck_assert(h.out.x[3 * 3] != 0.0f);
        gc_free(&h);
    }
}
END_TEST

START_TEST(masked_steps_get_zero_input_gradient)
{
    static const int32_t lengths[3] = {-3, 5, 1};
    uint8_t mask[15];
    gc_harness h;
    sn_opts o;
    gc_input in = {gc_sequence(0, 2), 5, NULL, NULL, mask};
    int kind, b, t, k;
    make_mask(mask, lengths, 3, 5);
    for (kind = SEQNET_LAYER_SIMPLE_RNN; kind <= SEQNET_LAYER_GRU; kind++) {
        rnn_opts(&o, 3, 1);
        build_ok(&h, ops_for(kind), &o, &in, 3, 1);
        ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
        for (k = 0; k < (int)gc_out_size(&h); k++)
            h.grad_out[k] = 1.0f; /* masked outputs too: their gradient flows to the carried state */
        ck_assert_int_eq(gc_backward(&h, NULL, 0), SEQNET_OK);
        for (b = 0; b < 3; b++)
            for (t = 0; t < 5; t++)
                for (k = 0; k < 2; k++) {
                    float g = h.grad_in[0][(b * 5 + t) * 2 + k];
                    if (!mask[b * 5 + t])
                        ck_assert_msg(g == 0.0f, "kind %d b %d t %d: %g", kind, b, t, g);
                    else
                        ck_assert(isfinite(g));
                }
        gc_free(&h);
    }
}
END_TEST

START_TEST(inference_and_training_forward_agree)
{
    gc_harness a, b;
    sn_opts o;
    gc_input in = {gc_sequence(0, 3), 7, NULL, NULL, NULL};
    int kind;
    size_t k;
    for (kind = SEQNET_LAYER_SIMPLE_RNN; kind <= SEQNET_LAYER_GRU; kind++) {
        rnn_opts(&o, 5, 1);
        build_ok(&a, ops_for(kind), &o, &in, 4, 0);
        build_ok(&b, ops_for(kind), &o, &in, 4, 1);
        ck_assert_int_eq(gc_forward(&a), SEQNET_OK);
        ck_assert_int_eq(gc_forward(&b), SEQNET_OK);
        for (k = 0; k < gc_out_size(&a); k++)
            ck_assert_msg(fabsf(a.out.x[k] - b.out.x[k]) <= 1e-6f, "kind %d [%zu]", kind, k);
        gc_free(&a);
        gc_free(&b);
    }
}
END_TEST

START_TEST(backward_needs_a_training_forward)
{
    gc_harness h;
    sn_opts o;
    gc_input in = {gc_sequence(0, 3), 4, NULL, NULL, NULL};
    rnn_opts(&o, 2, 0);
    build_ok(&h, &sn_lstm_ops, &o, &in, 2, 1);
    ck_assert_int_eq(gc_backward(&h, NULL, 0), SEQNET_ESTATE);
    h.training = 0;
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    ck_assert_int_eq(gc_backward(&h, NULL, 0), SEQNET_ESTATE);
    h.training = 1;
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    ck_assert_int_eq(gc_backward(&h, NULL, 0), SEQNET_OK);
    gc_free(&h);
}
END_TEST

/* ---- dropout ---------------------------------------------------------------------- */

START_TEST(dropout_masks_are_per_sequence_and_scaled)
{
    gc_harness h;
    sn_opts o;
    gc_input in = {gc_sequence(0, 6), 5, NULL, NULL, NULL};
    sn_rnn_run r;
    int b, t, i, kept = 0, dropped = 0;
    rnn_opts(&o, 4, 1);
    gc_opts_float(&o, SEQNET_OPT_DROPOUT, 0.5);
    gc_opts_float(&o, SEQNET_OPT_RECURRENT_DROPOUT, 0.25);
    build_ok(&h, &sn_gru_ops, &o, &in, 8, 1);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    sn_rnn_bind(&r, h.layer.config, (char *)h.scratch + SN_RNN_STAMP_BYTES, 8, 5, 6, 1);
    ck_assert_ptr_nonnull(r.xdrop);
    ck_assert_ptr_nonnull(r.rec_keep);
    for (b = 0; b < 8; b++)
        for (i = 0; i < 6; i++) {
            /* xdrop is time-major: row (t, b) at (t * 8 + b) * 6 */
            double ratio0 = r.xdrop[b * 6 + i] / h.in_x[0][(b * 5) * 6 + i];
            ck_assert_msg(fabs(ratio0) < 1e-6 || fabs(ratio0 - 2.0) < 1e-5, "ratio %g", ratio0);
            ratio0 < 1.0 ? dropped++ : kept++;
            for (t = 1; t < 5; t++) {
                double ratio = r.xdrop[(t * 8 + b) * 6 + i] / h.in_x[0][(b * 5 + t) * 6 + i];
                ck_assert_msg(fabs(ratio - ratio0) < 1e-5, "mask changes over time");
            }
        }
    ck_assert(kept > 5 && dropped > 5);
    for (i = 0; i < 8 * 4; i++)
        ck_assert(r.rec_keep[i] == 0.0f || fabsf(r.rec_keep[i] - 1.0f / 0.75f) < 1e-6f);
    gc_free(&h);

    /* Inference ignores dropout. */
    build_ok(&h, &sn_gru_ops, &o, &in, 8, 0);
    {
        gc_harness plain;
        sn_opts p;
        size_t k;
        rnn_opts(&p, 4, 1);
        build_ok(&plain, &sn_gru_ops, &p, &in, 8, 0);
        ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
        ck_assert_int_eq(gc_forward(&plain), SEQNET_OK);
        for (k = 0; k < gc_out_size(&h); k++)
            ck_assert(h.out.x[k] == plain.out.x[k]);
        gc_free(&plain);
    }
    gc_free(&h);
}
END_TEST

/* ---- gradient checks -------------------------------------------------------------- */

typedef struct grad_case {
    const char *label;
    int kind;
    int return_sequences;
    int go_backwards;
    int use_bias;
    int reset_after;
    const char *rec_act;   /* NULL: default */
    const char *act;       /* NULL: default */
    int masked;            /* 0, 1 post, 2 pre */
    double dropout, rec_dropout;
    int batch;
    const char *inner;     /* Bidirectional: wrapped class */
    const char *merge;
    int skip_masked;       /* loss ignores masked output steps */
    int units;             /* 0: 3. Wide enough (units x gates x units > 1024) for the
                            * GEMM paths, and for LSTM training's stacked [x | h] product */
} grad_case;

static const grad_case grad_cases[] = {
    {"rnn seq", SEQNET_LAYER_SIMPLE_RNN, 1, 0, 1, 0, NULL, NULL, 0, 0, 0, 3, NULL, NULL, 1, 0},
    {"rnn last", SEQNET_LAYER_SIMPLE_RNN, 0, 0, 1, 0, NULL, NULL, 0, 0, 0, 3, NULL, NULL, 1, 0},
    {"rnn backwards post", SEQNET_LAYER_SIMPLE_RNN, 1, 1, 1, 0, NULL, NULL, 1, 0, 0, 3, NULL,
     NULL, 0, 0},
    {"rnn nobias relu b1", SEQNET_LAYER_SIMPLE_RNN, 0, 0, 0, 0, NULL, "relu", 0, 0, 0, 1, NULL,
     NULL, 1, 0},
    {"rnn dropout", SEQNET_LAYER_SIMPLE_RNN, 1, 0, 1, 0, NULL, NULL, 0, 0.3, 0.3, 3, NULL, NULL,
     1, 0},
    {"lstm seq", SEQNET_LAYER_LSTM, 1, 0, 1, 0, NULL, NULL, 0, 0, 0, 3, NULL, NULL, 1, 0},
    {"lstm last", SEQNET_LAYER_LSTM, 0, 0, 1, 0, NULL, NULL, 0, 0, 0, 3, NULL, NULL, 1, 0},
    {"lstm backwards", SEQNET_LAYER_LSTM, 0, 1, 1, 0, NULL, NULL, 0, 0, 0, 3, NULL, NULL, 1, 0},
    {"lstm post mask seq", SEQNET_LAYER_LSTM, 1, 0, 1, 0, NULL, NULL, 1, 0, 0, 3, NULL, NULL, 0, 0},
    {"lstm pre mask last", SEQNET_LAYER_LSTM, 0, 0, 1, 0, NULL, NULL, 2, 0, 0, 3, NULL, NULL, 1, 0},
    {"lstm hard_sigmoid nobias", SEQNET_LAYER_LSTM, 1, 0, 0, 0, "hard_sigmoid", NULL, 0, 0, 0,
     3, NULL, NULL, 1, 0},
    {"lstm dropout b1", SEQNET_LAYER_LSTM, 1, 0, 1, 0, NULL, NULL, 0, 0.25, 0.4, 1, NULL, NULL,
     1, 0},
    {"gru after seq", SEQNET_LAYER_GRU, 1, 0, 1, 1, NULL, NULL, 0, 0, 0, 3, NULL, NULL, 1, 0},
    {"gru before seq", SEQNET_LAYER_GRU, 1, 0, 1, 0, NULL, NULL, 0, 0, 0, 3, NULL, NULL, 1, 0},
    {"gru after last post mask", SEQNET_LAYER_GRU, 0, 0, 1, 1, NULL, NULL, 1, 0, 0, 3, NULL,
     NULL, 1, 0},
    {"gru before backwards pre mask", SEQNET_LAYER_GRU, 1, 1, 1, 0, NULL, NULL, 2, 0, 0, 3,
     NULL, NULL, 0, 0},
    {"gru after hard_sigmoid nobias", SEQNET_LAYER_GRU, 0, 0, 0, 1, "hard_sigmoid", NULL, 0, 0,
     0, 3, NULL, NULL, 1, 0},
    {"gru before dropout", SEQNET_LAYER_GRU, 1, 0, 1, 0, NULL, NULL, 0, 0.3, 0.3, 3, NULL, NULL,
     1, 0},
    {"gru after dropout b1", SEQNET_LAYER_GRU, 1, 0, 1, 1, NULL, NULL, 0, 0.3, 0.3, 1, NULL,
     NULL, 1, 0},
    {"bidi lstm concat", SEQNET_LAYER_BIDIRECTIONAL, 1, 0, 1, 0, NULL, NULL, 0, 0, 0, 3, "LSTM",
     "concat", 1, 0},
    {"bidi gru sum last", SEQNET_LAYER_BIDIRECTIONAL, 0, 0, 1, 1, NULL, NULL, 0, 0, 0, 3, "GRU",
     "sum", 1, 0},
    {"bidi rnn mul post mask", SEQNET_LAYER_BIDIRECTIONAL, 1, 0, 1, 0, NULL, NULL, 1, 0, 0, 3,
     "SimpleRNN", "mul", 0, 0},
    {"bidi lstm ave pre mask last", SEQNET_LAYER_BIDIRECTIONAL, 0, 0, 1, 0, NULL, NULL, 2, 0, 0,
     3, "LSTM", "ave", 1, 0},
    {"bidi gru concat backwards dropout", SEQNET_LAYER_BIDIRECTIONAL, 1, 1, 1, 0, NULL, NULL, 0,
     0.2, 0.2, 2, "GRU", "concat", 1, 0},
    {"lstm gemm seq post mask dropout", SEQNET_LAYER_LSTM, 1, 0, 1, 0, NULL, NULL, 1, 0.25, 0.3,
     3, NULL, NULL, 0, 20},
    {"lstm gemm backwards last", SEQNET_LAYER_LSTM, 0, 1, 1, 0, NULL, NULL, 0, 0, 0, 3, NULL,
     NULL, 1, 20},
    {"lstm gemm pre mask nobias", SEQNET_LAYER_LSTM, 1, 0, 0, 0, NULL, NULL, 2, 0, 0, 2, NULL,
     NULL, 0, 18},
    {"bidi lstm gemm concat post mask", SEQNET_LAYER_BIDIRECTIONAL, 1, 0, 1, 0, NULL, NULL, 1, 0,
     0, 3, "LSTM", "concat", 0, 20},
};

START_TEST(gradcheck_every_layer_and_option)
{
    const grad_case *gcase = &grad_cases[_i];
    static const int32_t post[3] = {5, 2, 4}, pre[3] = {-5, -3, -1};
    uint8_t mask[15];
    gc_harness h;
    sn_opts o;
    gc_options go;
    gc_result res;
    gc_input in = {gc_sequence(0, 3), 5, NULL, NULL, NULL};
    int ok;

    rnn_opts(&o, gcase->units > 0 ? gcase->units : 3, gcase->return_sequences);
    if (gcase->go_backwards)
        gc_opts_int(&o, SEQNET_OPT_GO_BACKWARDS, 1);
    if (!gcase->use_bias)
        gc_opts_int(&o, SEQNET_OPT_USE_BIAS, 0);
    if (gcase->kind == SEQNET_LAYER_GRU || (gcase->inner && strcmp(gcase->inner, "GRU") == 0))
        gc_opts_int(&o, SEQNET_OPT_RESET_AFTER, gcase->reset_after);
    if (gcase->rec_act != NULL)
        gc_opts_string(&o, SEQNET_OPT_RECURRENT_ACTIVATION, gcase->rec_act);
    if (gcase->act != NULL)
        gc_opts_string(&o, SEQNET_OPT_ACTIVATION, gcase->act);
    if (gcase->dropout > 0)
        gc_opts_float(&o, SEQNET_OPT_DROPOUT, gcase->dropout);
    if (gcase->rec_dropout > 0)
        gc_opts_float(&o, SEQNET_OPT_RECURRENT_DROPOUT, gcase->rec_dropout);
    if (gcase->inner != NULL) {
        gc_opts_string(&o, SEQNET_OPT_LAYER, gcase->inner);
        gc_opts_string(&o, SEQNET_OPT_MERGE_MODE, gcase->merge);
    }
    if (gcase->masked) {
        make_mask(mask, gcase->masked == 1 ? post : pre, gcase->batch, 5);
        in.mask = mask;
    }
    build_ok(&h, ops_for(gcase->kind), &o, &in, gcase->batch, 1);
    gc_default_options(&go);
    go.skip_masked_outputs = gcase->skip_masked;
    ok = gc_check(&h, &go, &res);
    ck_assert_msg(ok, "%s: %s", gcase->label, res.message);
    gc_free(&h);
}
END_TEST

/* ---- Bidirectional ------------------------------------------------------------------ */

START_TEST(bidirectional_is_forward_and_reversed_backward_layers)
{
    static const char *const merges[4] = {"concat", "sum", "mul", "ave"};
    static const int32_t post[2] = {6, 3};
    const int B = 2, T = 6, I = 3, H = 4;
    uint8_t mask[12];
    gc_harness h;
    sn_opts o;
    gc_input in = {gc_sequence(0, I), T, NULL, NULL, mask};
    double fs[2 * 6 * 4], fl[2 * 4], bs[2 * 6 * 4], bl[2 * 4];
    int m, rs, b, pos, j;
    make_mask(mask, post, B, T);
    for (m = 0; m < 4; m++)
        for (rs = 0; rs < 2; rs++) {
            ref_cfg fwd = {SEQNET_LAYER_GRU, H, 1, 0, 0, rs};
            ref_cfg bwd = {SEQNET_LAYER_GRU, H, 1, 1, 0, rs};
            gc_opts_init(&o);
            gc_opts_int(&o, SEQNET_OPT_UNITS, H);
            gc_opts_int(&o, SEQNET_OPT_RETURN_SEQUENCES, rs);
            gc_opts_string(&o, SEQNET_OPT_LAYER, "GRU");
            gc_opts_string(&o, SEQNET_OPT_MERGE_MODE, merges[m]);
            build_ok(&h, &sn_bidirectional_ops, &o, &in, B, 0);
            ck_assert_int_eq(h.layer.n_params, 6);
            ck_assert_str_eq(h.layer.params[3].name, "backward_kernel");
            ck_assert_int_eq(h.out_shape.features, m == 0 ? 2 * H : H);
            ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
            ref_forward(&fwd, h.in_x[0], mask, gc_param(&h, 0), gc_param(&h, 1), gc_param(&h, 2),
                        B, T, I, fs, fl);
            ref_forward(&bwd, h.in_x[0], mask, gc_param(&h, 3), gc_param(&h, 4), gc_param(&h, 5),
                        B, T, I, bs, bl);
            for (b = 0; b < B; b++)
                for (pos = 0; pos < (rs ? T : 1); pos++)
                    for (j = 0; j < H; j++) {
                        /* The backward layer's sequence is flipped into time order. */
                        double yf = rs ? fs[(b * T + pos) * H + j] : fl[b * H + j];
                        double yb = rs ? bs[(b * T + (T - 1 - pos)) * H + j] : bl[b * H + j];
                        size_t row = (size_t)(b * (rs ? T : 1) + pos);
                        const float *y = h.out.x + row * (size_t)h.out.features;
                        double want0 = m == 0 ? yf : (m == 1 ? yf + yb : (m == 2 ? yf * yb : 0.5 * (yf + yb)));
                        ck_assert_msg(fabs(y[j] - want0) < 2e-6, "%s rs %d", merges[m], rs);
                        if (m == 0)
                            ck_assert(fabs(y[H + j] - yb) < 2e-6);
                    }
            gc_free(&h);
        }
}
END_TEST

/* ---- options that are refused ------------------------------------------------------- */

static int build_status(const sn_layer_ops *ops, const sn_opts *o, sn_shape shape)
{
    gc_harness h;
    gc_input in = {shape, 3, NULL, NULL, NULL};
    int st = gc_build(&h, ops, o, &in, 1, 2, 1, 1);
    gc_free(&h);
    return st;
}

START_TEST(bad_options_and_inputs_are_refused)
{
    sn_opts o;
    gc_opts_init(&o);
    ck_assert_int_eq(build_status(&sn_lstm_ops, &o, gc_sequence(0, 2)), SEQNET_EINVAL);
    rnn_opts(&o, 0, 0);
    ck_assert_int_eq(build_status(&sn_lstm_ops, &o, gc_sequence(0, 2)), SEQNET_EINVAL);
    rnn_opts(&o, 3, 2);
    ck_assert_int_eq(build_status(&sn_gru_ops, &o, gc_sequence(0, 2)), SEQNET_EINVAL);
    rnn_opts(&o, 3, 0);
    gc_opts_string(&o, SEQNET_OPT_ACTIVATION, "softmax");
    ck_assert_int_eq(build_status(&sn_simple_rnn_ops, &o, gc_sequence(0, 2)), SEQNET_EINVAL);
    rnn_opts(&o, 3, 0);
    gc_opts_float(&o, SEQNET_OPT_DROPOUT, 1.0);
    ck_assert_int_eq(build_status(&sn_lstm_ops, &o, gc_sequence(0, 2)), SEQNET_EINVAL);
    rnn_opts(&o, 3, 0);
    ck_assert_int_eq(build_status(&sn_lstm_ops, &o, gc_tokens(0)), SEQNET_ESHAPE);
    ck_assert_int_eq(build_status(&sn_lstm_ops, &o, gc_vector(4)), SEQNET_ESHAPE);
    /* Options a class does not take. */
    gc_opts_int(&o, SEQNET_OPT_RESET_AFTER, 1);
    ck_assert_int_eq(build_status(&sn_lstm_ops, &o, gc_sequence(0, 2)), SEQNET_EUNSUPPORTED);
    rnn_opts(&o, 3, 0);
    gc_opts_int(&o, SEQNET_OPT_STATEFUL, 1);
    ck_assert_int_eq(build_status(&sn_gru_ops, &o, gc_sequence(0, 2)), SEQNET_OK);
    /* Bidirectional carries no state of its own. */
    gc_opts_string(&o, SEQNET_OPT_LAYER, "GRU");
    ck_assert_int_eq(build_status(&sn_bidirectional_ops, &o, gc_sequence(0, 2)),
                     SEQNET_EUNSUPPORTED);
    /* Bidirectional: needs a known class and merge mode; refuses other classes' options. */
    rnn_opts(&o, 3, 0);
    ck_assert_int_eq(build_status(&sn_bidirectional_ops, &o, gc_sequence(0, 2)), SEQNET_EINVAL);
    gc_opts_string(&o, SEQNET_OPT_LAYER, "Dense");
    ck_assert_int_eq(build_status(&sn_bidirectional_ops, &o, gc_sequence(0, 2)), SEQNET_EINVAL);
    gc_opts_string(&o, SEQNET_OPT_LAYER, "LSTM");
    gc_opts_string(&o, SEQNET_OPT_MERGE_MODE, "max");
    ck_assert_int_eq(build_status(&sn_bidirectional_ops, &o, gc_sequence(0, 2)), SEQNET_EINVAL);
    gc_opts_string(&o, SEQNET_OPT_MERGE_MODE, "sum");
    gc_opts_int(&o, SEQNET_OPT_RESET_AFTER, 0);
    ck_assert_int_eq(build_status(&sn_bidirectional_ops, &o, gc_sequence(0, 2)), SEQNET_EINVAL);
}
END_TEST

/* ---- PyTorch golden values ------------------------------------------------------------- */

typedef struct golden_array {
    char name[64];
    int n;
    double *v;
} golden_array;

typedef struct golden_case {
    char name[64], cell[16];
    int batch, time, in, units, return_sequences, has_lengths;
    int n_arrays;
    golden_array arrays[12];
} golden_case;

static void golden_free(golden_case *c)
{
    int i;
    for (i = 0; i < c->n_arrays; i++)
        free(c->arrays[i].v);
    c->n_arrays = 0;
}

/* Read the next case; 1 on success, 0 at the end of the file, -1 on a bad file. */
static int golden_next(FILE *f, golden_case *c)
{
    char word[64];
    memset(c, 0, sizeof *c);
    for (;;) {
        if (fscanf(f, "%63s", word) != 1)
            return 0;
        if (word[0] == '#') {
            int ch;
            while ((ch = fgetc(f)) != EOF && ch != '\n')
                ;
            continue;
        }
        if (strcmp(word, "case") != 0)
            return -1;
        break;
    }
    if (fscanf(f, "%63s %15s %d %d %d %d %d %d", c->name, c->cell, &c->batch, &c->time, &c->in,
               &c->units, &c->return_sequences, &c->has_lengths) != 8)
        return -1;
    for (;;) {
        golden_array *a;
        int k;
        if (fscanf(f, "%63s", word) != 1)
            return -1;
        if (strcmp(word, "end") == 0)
            return 1;
        if (c->n_arrays == 12)
            return -1;
        a = &c->arrays[c->n_arrays++];
        snprintf(a->name, sizeof a->name, "%s", word);
        if (fscanf(f, "%d", &a->n) != 1 || a->n < 0 || a->n > 100000)
            return -1;
        a->v = calloc((size_t)(a->n > 0 ? a->n : 1), sizeof *a->v);
        if (a->v == NULL)
            return -1;
        for (k = 0; k < a->n; k++)
            if (fscanf(f, "%lf", &a->v[k]) != 1)
                return -1;
    }
}

static const golden_array *golden_get(const golden_case *c, const char *name)
{
    int i;
    for (i = 0; i < c->n_arrays; i++)
        if (strcmp(c->arrays[i].name, name) == 0)
            return &c->arrays[i];
    return NULL;
}

static void golden_compare(const golden_case *c, const char *name, const float *got, size_t n)
{
    const golden_array *a = golden_get(c, name);
    size_t k;
    ck_assert_msg(a != NULL && (size_t)a->n == n, "%s: %s has %d values, want %zu", c->name,
                  name, a != NULL ? a->n : -1, n);
    for (k = 0; k < n; k++)
        ck_assert_msg(fabs(got[k] - a->v[k]) <= 2e-5 + 2e-5 * fabs(a->v[k]),
                      "%s: %s[%zu] = %.7g, PyTorch %.7g", c->name, name, k, got[k], a->v[k]);
}

static void golden_load(const golden_case *c, const char *name, float *dst, size_t n)
{
    const golden_array *a = golden_get(c, name);
    size_t k;
    ck_assert_msg(a != NULL && (size_t)a->n == n, "%s: bad %s", c->name, name);
    for (k = 0; k < n; k++)
        dst[k] = (float)a->v[k];
}

START_TEST(agrees_with_pytorch_forward_and_backward)
{
    FILE *f = fopen(SEQNET_RNN_GOLDEN, "r");
    golden_case c;
    int st, n_cases = 0;
    ck_assert_msg(f != NULL, "cannot open %s", SEQNET_RNN_GOLDEN);
    while ((st = golden_next(f, &c)) == 1) {
        int kind = strcmp(c.cell, "LSTM") == 0  ? SEQNET_LAYER_LSTM
                   : strcmp(c.cell, "GRU") == 0 ? SEQNET_LAYER_GRU
                                                : SEQNET_LAYER_SIMPLE_RNN;
        uint8_t mask[256];
        gc_harness h;
        sn_opts o;
        gc_input in = {gc_sequence(0, c.in), c.time, NULL, NULL, NULL};
        size_t G = kind == SEQNET_LAYER_LSTM ? 4 : (kind == SEQNET_LAYER_GRU ? 3 : 1);
        size_t H = (size_t)c.units, I = (size_t)c.in;
        size_t nb = kind == SEQNET_LAYER_GRU ? 2 * G * H : G * H;
        if (c.has_lengths) {
            const golden_array *len = golden_get(&c, "lengths");
            int32_t lengths[16];
            int b;
            ck_assert(len != NULL && len->n == c.batch && c.batch <= 16 &&
                      c.batch * c.time <= 256);
            for (b = 0; b < c.batch; b++)
                lengths[b] = (int32_t)len->v[b];
            make_mask(mask, lengths, c.batch, c.time);
            in.mask = mask;
        }
        rnn_opts(&o, c.units, c.return_sequences);
        build_ok(&h, ops_for(kind), &o, &in, c.batch, 1);
        golden_load(&c, "x", h.in_x[0], sn_tensor_size(&h.in[0]));
        golden_load(&c, "kernel", gc_param(&h, 0), I * G * H);
        golden_load(&c, "recurrent_kernel", gc_param(&h, 1), H * G * H);
        golden_load(&c, "bias", gc_param(&h, 2), nb);
        ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
        golden_compare(&c, "out", h.out.x, gc_out_size(&h));
        golden_load(&c, "dout", h.grad_out, gc_out_size(&h));
        ck_assert_int_eq(gc_backward(&h, NULL, 0), SEQNET_OK);
        golden_compare(&c, "dx", h.grad_in[0], sn_tensor_size(&h.in[0]));
        golden_compare(&c, "dkernel", gc_param_grad(&h, 0), I * G * H);
        golden_compare(&c, "drecurrent_kernel", gc_param_grad(&h, 1), H * G * H);
        golden_compare(&c, "dbias", gc_param_grad(&h, 2), nb);
        gc_free(&h);
        golden_free(&c);
        n_cases++;
    }
    golden_free(&c);
    fclose(f);
    ck_assert_msg(st == 0, "malformed golden file");
    ck_assert_int_eq(n_cases, 12);
}
END_TEST

/* ---- the suite ----------------------------------------------------------------------- */

static Suite *rnn_suite(void)
{
    Suite *s = suite_create("rnn");
    TCase *tc;

    tc = tcase_create("cells");
    tcase_add_test(tc, course_cell_step_from_h_0_1);
    tcase_add_test(tc, course_weights_from_zero_state_over_two_steps);
    tcase_add_test(tc, keras_parameter_counts);
    tcase_add_test(tc, keras_weight_layouts);
    tcase_add_test(tc, lstm_unit_forget_bias_sets_the_forget_slice);
    tcase_add_loop_test(tc, forward_matches_reference_with_masks_and_go_backwards, 0,
                        (int)(sizeof fwd_cases / sizeof fwd_cases[0]));
    tcase_add_test(tc, masked_steps_carry_state_and_output);
    tcase_add_test(tc, masked_steps_get_zero_input_gradient);
    tcase_add_test(tc, inference_and_training_forward_agree);
    tcase_add_test(tc, backward_needs_a_training_forward);
    tcase_add_test(tc, dropout_masks_are_per_sequence_and_scaled);
    tcase_add_test(tc, bad_options_and_inputs_are_refused);
    suite_add_tcase(s, tc);

    tc = tcase_create("gradients");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, gradcheck_every_layer_and_option, 0,
                        (int)(sizeof grad_cases / sizeof grad_cases[0]));
    suite_add_tcase(s, tc);

    tc = tcase_create("bidirectional");
    tcase_add_test(tc, bidirectional_is_forward_and_reversed_backward_layers);
    suite_add_tcase(s, tc);

    tc = tcase_create("pytorch");
    tcase_add_test(tc, agrees_with_pytorch_forward_and_backward);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(rnn_suite());
    int failed;
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
