/*
 * tests/layers/test_layers.c -- white-box tests of the foundation layers:
 * activations, Dense, Activation, Dropout, Embedding, Flatten and the two
 * global poolings. Expected values are computed independently here (double
 * precision loops), and every layer's backward is checked against finite
 * differences with tests/layers/gradcheck.c.
 *
 * Runs with or without CK_FORK (valgrind: CK_FORK=no).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "layers/activation.h"

extern const sn_layer_ops sn_dense_ops;
extern const sn_layer_ops sn_activation_ops;
extern const sn_layer_ops sn_dropout_ops;
extern const sn_layer_ops sn_embedding_ops;
extern const sn_layer_ops sn_flatten_ops;
extern const sn_layer_ops sn_global_average_pooling1d_ops;
extern const sn_layer_ops sn_global_max_pooling1d_ops;

#define N_ACTS 10
#define SELU_ALPHA 1.6732632423543772848170429916717
#define SELU_SCALE 1.0507009873554804934193349852946

/* ---- helpers ------------------------------------------------------------ */

static void build_ok(gc_harness *h, const sn_layer_ops *ops, const sn_opts *o,
                     const gc_input *in, int32_t n_in, int32_t batch, int training)
{
    int st = gc_build(h, ops, o, in, n_in, batch, training, 1234);
    ck_assert_msg(st == SEQNET_OK, "build failed (%d): %s", st, h->err.errmsg);
}

static void assert_gradcheck(gc_harness *h, const gc_options *o, const char *label)
{
    gc_result r;
    int ok = gc_check(h, o, &r);
    ck_assert_msg(ok, "%s: %s", label, r.message);
}

/* Build expecting a failure; returns the code and frees the harness. */
static int build_error(const sn_layer_ops *ops, const sn_opts *o, const gc_input *in,
                       char *msg, size_t msg_size)
{
    gc_harness h;
    int st = gc_build(&h, ops, o, in, 1, 2, 1, 1);
    if (msg != NULL)
        snprintf(msg, msg_size, "%s", h.err.errmsg);
    gc_free(&h);
    return st;
}

static double act_reference(int act, double x)
{
    switch (act) {
    case SN_ACT_RELU: return x > 0 ? x : 0;
    case SN_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case SN_ACT_TANH: return tanh(x);
    case SN_ACT_HARD_SIGMOID: return fmin(fmax(0.2 * x + 0.5, 0.0), 1.0);
    case SN_ACT_ELU: return x > 0 ? x : exp(x) - 1.0;
    case SN_ACT_SELU: return SELU_SCALE * (x > 0 ? x : SELU_ALPHA * (exp(x) - 1.0));
    case SN_ACT_SOFTPLUS: return log1p(exp(x));
    case SN_ACT_GELU: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    default: return x;
    }
}

/* ---- activations -------------------------------------------------------- */

START_TEST(act_names_round_trip)
{
    int a;
    for (a = 0; a < N_ACTS; a++)
        ck_assert_int_eq(sn_act_from_name(sn_act_name(a)), a);
    ck_assert_int_eq(sn_act_from_name("swish"), -1);
    ck_assert_int_eq(sn_act_from_name(NULL), -1);
    ck_assert_str_eq(sn_act_name(99), "linear");
    ck_assert_str_eq(sn_act_name(SN_ACT_HARD_SIGMOID), "hard_sigmoid");
    for (a = 0; a < N_ACTS; a++)
        ck_assert_int_eq(sn_act_needs_input(a), a == SN_ACT_GELU);
}
END_TEST

START_TEST(act_forward_matches_reference_formulas)
{
    float x[41], y[41];
    int a, k;
    for (k = 0; k < 41; k++)
        x[k] = -6.0f + 0.3f * (float)k;
    for (a = 0; a < N_ACTS; a++) {
        if (a == SN_ACT_SOFTMAX)
            continue;
        sn_act_forward(a, x, y, 1, 41);
        for (k = 0; k < 41; k++) {
            double want = act_reference(a, x[k]);
            ck_assert_msg(fabs(y[k] - want) <= 1e-6 + 2e-6 * fabs(want),
                          "%s(%g) = %.9g, expected %.9g", sn_act_name(a), (double)x[k],
                          (double)y[k], want);
        }
    }
}
END_TEST

START_TEST(act_forward_in_place_equals_out_of_place)
{
    float x[30], y[30], z[30];
    int a;
    gc_fill_uniform(x, 30, 4.0f, 7);
    for (a = 0; a < N_ACTS; a++) {
        memcpy(z, x, sizeof x);
        sn_act_forward(a, x, y, 5, 6);
        sn_act_forward(a, z, z, 5, 6);
        ck_assert_msg(memcmp(y, z, sizeof y) == 0, "%s differs in place", sn_act_name(a));
    }
}
END_TEST

START_TEST(softmax_rows_sum_to_one_and_match_exp_ratio)
{
    float x[4 * 5], y[4 * 5];
    int r, j;
    gc_fill_uniform(x, 20, 5.0f, 11);
    sn_act_forward(SN_ACT_SOFTMAX, x, y, 4, 5);
    for (r = 0; r < 4; r++) {
        double sum = 0, denom = 0;
        for (j = 0; j < 5; j++)
            denom += exp(x[r * 5 + j]);
        for (j = 0; j < 5; j++) {
            ck_assert_double_eq_tol(y[r * 5 + j], exp(x[r * 5 + j]) / denom, 1e-6);
            sum += y[r * 5 + j];
        }
        ck_assert_double_eq_tol(sum, 1.0, 1e-6);
    }
}
END_TEST

START_TEST(act_extreme_inputs_stay_finite)
{
    const float x[] = {-1e4f, -100.0f, -20.0f, 0.0f, 20.0f, 100.0f, 1e4f};
    const int n = (int)(sizeof x / sizeof x[0]);
    float y[7], g[7], big[3] = {1000.0f, 1000.0f, -1000.0f}, sm[3];
    int a, k;
    for (a = 0; a < N_ACTS; a++) {
        sn_act_forward(a, x, y, 1, (size_t)n);
        for (k = 0; k < n; k++)
            g[k] = 1.0f;
        sn_act_backward(a, x, y, g, 1, (size_t)n);
        for (k = 0; k < n; k++) {
            ck_assert_msg(isfinite(y[k]), "%s(%g) not finite", sn_act_name(a), (double)x[k]);
            ck_assert_msg(isfinite(g[k]), "%s'(%g) not finite", sn_act_name(a), (double)x[k]);
        }
    }
    sn_act_forward(SN_ACT_SIGMOID, x, y, 1, 7);
    ck_assert(y[0] == 0.0f && y[1] > 0.0f && y[1] < 1e-40f && y[6] == 1.0f);
    sn_act_forward(SN_ACT_SOFTPLUS, x, y, 1, 7);
    ck_assert(y[0] == 0.0f && y[6] == 1e4f && y[5] == 100.0f);
    sn_act_forward(SN_ACT_ELU, x, y, 1, 7);
    ck_assert_float_eq(y[0], -1.0f);
    sn_act_forward(SN_ACT_SELU, x, y, 1, 7);
    ck_assert_double_eq_tol(y[0], -SELU_SCALE * SELU_ALPHA, 1e-6);
    sn_act_forward(SN_ACT_SOFTMAX, big, sm, 1, 3);
    ck_assert_double_eq_tol(sm[0], 0.5, 1e-7);
    ck_assert_double_eq_tol(sm[1], 0.5, 1e-7);
    ck_assert_float_eq(sm[2], 0.0f);
}
END_TEST

/* Gradient of every activation, through the Activation layer, on a
 * sequence (inputs spread over (-3, 3) to reach the clipped and negative
 * regions) and on a vector batch. */
START_TEST(activation_layer_gradcheck_each_activation)
{
    int act = _i;
    float x[3 * 4 * 5];
    sn_opts o;
    gc_harness h;
    gc_input seq = {gc_sequence(4, 5), 4, x, NULL, NULL};
    gc_input vec = {gc_vector(6), 0, NULL, NULL, NULL};

    gc_fill_uniform(x, 60, 3.0f, 100 + (uint64_t)act);
    gc_opts_init(&o);
    gc_opts_string(&o, SEQNET_OPT_ACTIVATION, sn_act_name(act));
    build_ok(&h, &sn_activation_ops, &o, &seq, 1, 3, 1);
    assert_gradcheck(&h, NULL, sn_act_name(act));
    gc_free(&h);
    build_ok(&h, &sn_activation_ops, &o, &vec, 1, 4, 1);
    assert_gradcheck(&h, NULL, sn_act_name(act));
    gc_free(&h);
}
END_TEST

START_TEST(activation_layer_needs_an_activation)
{
    sn_opts o;
    gc_input in = {gc_vector(3), 0, NULL, NULL, NULL};
    gc_opts_init(&o);
    ck_assert_int_eq(build_error(&sn_activation_ops, &o, &in, NULL, 0), SEQNET_EINVAL);
    gc_opts_string(&o, SEQNET_OPT_ACTIVATION, "swish");
    ck_assert_int_eq(build_error(&sn_activation_ops, &o, &in, NULL, 0), SEQNET_EINVAL);
}
END_TEST

START_TEST(activation_layer_forward_and_mask_pass_through)
{
    uint8_t mask[2 * 3] = {1, 1, 0, 1, 0, 0};
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_sequence(3, 4), 3, NULL, NULL, mask};
    size_t k;
    in.shape.masked = 1;
    gc_opts_init(&o);
    gc_opts_string(&o, SEQNET_OPT_ACTIVATION, "tanh");
    build_ok(&h, &sn_activation_ops, &o, &in, 1, 2, 0);
    ck_assert_int_eq(sn_activation_ops.mask_mode, SN_MASK_PASS);
    ck_assert_int_eq(h.layer.out_shape.masked, 1);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    for (k = 0; k < gc_out_size(&h); k++)
        ck_assert_double_eq_tol(h.out.x[k], tanh(h.in_x[0][k]), 1e-6);
    gc_free(&h);
}
END_TEST

/* ---- Dense -------------------------------------------------------------- */

static void dense_opts(sn_opts *o, int units, const char *act, int use_bias)
{
    gc_opts_init(o);
    gc_opts_int(o, SEQNET_OPT_UNITS, units);
    if (act != NULL)
        gc_opts_string(o, SEQNET_OPT_ACTIVATION, act);
    if (use_bias >= 0)
        gc_opts_int(o, SEQNET_OPT_USE_BIAS, use_bias);
}

/* Dense output against a naive double loop: y = f(x W + b). */
static void check_dense_forward(gc_harness *h, int act, int use_bias)
{
    const float *kernel = gc_param(h, 0);
    const float *bias = use_bias ? gc_param(h, 1) : NULL;
    size_t rows = (size_t)h->in[0].batch * (size_t)h->in[0].time;
    size_t n_in = (size_t)h->in[0].features, units = (size_t)h->out.features, r, u, f;
    for (r = 0; r < rows; r++)
        for (u = 0; u < units; u++) {
            double z = bias != NULL ? bias[u] : 0.0, want;
            for (f = 0; f < n_in; f++)
                z += (double)h->in_x[0][r * n_in + f] * kernel[f * units + u];
            want = act_reference(act, z);
            ck_assert_msg(fabs(h->out.x[r * units + u] - want) <= 1e-5,
                          "row %zu unit %zu: %g vs %g", r, u, (double)h->out.x[r * units + u],
                          want);
        }
}

START_TEST(dense_forward_matches_naive_loop_on_sequences)
{
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_sequence(4, 5), 4, NULL, NULL, NULL};
    dense_opts(&o, 3, "tanh", -1);
    build_ok(&h, &sn_dense_ops, &o, &in, 1, 3, 0);
    ck_assert_int_eq(h.layer.out_shape.time, 4);
    ck_assert_int_eq(h.layer.out_shape.features, 3);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    check_dense_forward(&h, SN_ACT_TANH, 1);
    gc_free(&h);
}
END_TEST

START_TEST(dense_forward_matches_naive_loop_on_one_vector)
{
    /* batch 1, vector input: the GEMV path */
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_vector(7), 0, NULL, NULL, NULL};
    dense_opts(&o, 4, NULL, 1);
    build_ok(&h, &sn_dense_ops, &o, &in, 1, 1, 0);
    ck_assert_int_eq(h.layer.out_shape.time, SN_TIME_VECTOR);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    check_dense_forward(&h, SN_ACT_LINEAR, 1);
    gc_free(&h);
    dense_opts(&o, 4, "relu", 0);
    build_ok(&h, &sn_dense_ops, &o, &in, 1, 5, 0);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    check_dense_forward(&h, SN_ACT_RELU, 0);
    gc_free(&h);
}
END_TEST

START_TEST(dense_computes_masked_steps_and_passes_the_mask)
{
    uint8_t mask[2 * 3] = {1, 0, 0, 1, 1, 0};
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_sequence(3, 4), 3, NULL, NULL, mask};
    in.shape.masked = 1;
    dense_opts(&o, 2, "sigmoid", 1);
    build_ok(&h, &sn_dense_ops, &o, &in, 1, 2, 1);
    ck_assert_int_eq(sn_dense_ops.mask_mode, SN_MASK_PASS);
    ck_assert_int_eq(h.layer.out_shape.masked, 1);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    check_dense_forward(&h, SN_ACT_SIGMOID, 1); /* masked steps too, as Keras */
    assert_gradcheck(&h, NULL, "masked sequence");
    gc_free(&h);
}
END_TEST

START_TEST(dense_gradcheck_each_activation_bias_and_rank)
{
    int act = _i % N_ACTS, use_bias = (_i / N_ACTS) % 2, sequence = _i / (2 * N_ACTS);
    char label[64];
    sn_opts o;
    gc_harness h;
    gc_input in = {sequence ? gc_sequence(4, 5) : gc_vector(5), 4, NULL, NULL, NULL};
    dense_opts(&o, 4, sn_act_name(act), use_bias);
    build_ok(&h, &sn_dense_ops, &o, &in, 1, 3, 1);
    ck_assert_int_eq(h.layer.n_params, use_bias ? 2 : 1);
    snprintf(label, sizeof label, "%s bias=%d %s", sn_act_name(act), use_bias,
             sequence ? "sequence" : "vector");
    assert_gradcheck(&h, NULL, label);
    gc_free(&h);
}
END_TEST

START_TEST(dense_keras_parameter_counts_and_layout)
{
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_vector(30), 0, NULL, NULL, NULL};
    dense_opts(&o, 20, "relu", -1);
    build_ok(&h, &sn_dense_ops, &o, &in, 1, 2, 0);
    ck_assert_int_eq(gc_param_count(&h), 620);
    ck_assert_str_eq(h.layer.params[0].name, "kernel");
    ck_assert_int_eq(h.layer.params[0].rank, 2);
    ck_assert_int_eq(h.layer.params[0].dims[0], 30);
    ck_assert_int_eq(h.layer.params[0].dims[1], 20);
    ck_assert_int_eq(h.layer.params[0].init, SN_INIT_GLOROT_UNIFORM);
    ck_assert_str_eq(h.layer.params[1].name, "bias");
    ck_assert_int_eq(h.layer.params[1].dims[0], 20);
    ck_assert_int_eq(h.layer.params[1].init, SN_INIT_ZEROS);
    gc_free(&h);
    dense_opts(&o, 20, NULL, 0);
    build_ok(&h, &sn_dense_ops, &o, &in, 1, 2, 0);
    ck_assert_int_eq(gc_param_count(&h), 600);
    gc_free(&h);
    dense_opts(&o, 20, NULL, -1);
    gc_opts_int(&o, SEQNET_OPT_TRAINABLE, 0);
    build_ok(&h, &sn_dense_ops, &o, &in, 1, 2, 0);
    ck_assert_int_eq(h.layer.params[0].trainable, 0);
    ck_assert_int_eq(h.layer.params[1].trainable, 0);
    gc_free(&h);
}
END_TEST

START_TEST(dense_rejects_bad_options_and_token_input)
{
    sn_opts o;
    char msg[SN_ERRMSG_SIZE];
    gc_input vec = {gc_vector(3), 0, NULL, NULL, NULL};
    gc_input tok = {gc_tokens(4), 4, NULL, NULL, NULL};
    gc_opts_init(&o);
    ck_assert_int_eq(build_error(&sn_dense_ops, &o, &vec, NULL, 0), SEQNET_EINVAL);
    dense_opts(&o, 0, NULL, -1);
    ck_assert_int_eq(build_error(&sn_dense_ops, &o, &vec, NULL, 0), SEQNET_EINVAL);
    dense_opts(&o, 2, "swish", -1);
    ck_assert_int_eq(build_error(&sn_dense_ops, &o, &vec, NULL, 0), SEQNET_EINVAL);
    dense_opts(&o, 2, NULL, 2);
    ck_assert_int_eq(build_error(&sn_dense_ops, &o, &vec, NULL, 0), SEQNET_EINVAL);
    gc_opts_init(&o);
    gc_opts_string(&o, SEQNET_OPT_UNITS, "8");
    ck_assert_int_eq(build_error(&sn_dense_ops, &o, &vec, NULL, 0), SEQNET_EINVAL);
    dense_opts(&o, 2, NULL, -1);
    ck_assert_int_eq(build_error(&sn_dense_ops, &o, &tok, msg, sizeof msg), SEQNET_ESHAPE);
    ck_assert_ptr_nonnull(strstr(msg, "dense_under_test"));
}
END_TEST

/* ---- Dropout ------------------------------------------------------------ */

static void dropout_opts(sn_opts *o, double rate)
{
    gc_opts_init(o);
    gc_opts_float(o, SEQNET_OPT_RATE, rate);
}

START_TEST(dropout_is_identity_in_inference)
{
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_sequence(5, 4), 5, NULL, NULL, NULL};
    size_t k;
    dropout_opts(&o, 0.5);
    build_ok(&h, &sn_dropout_ops, &o, &in, 1, 3, 0);
    ck_assert_uint_eq(h.scratch_bytes, 0);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    ck_assert_mem_eq(h.out.x, h.in_x[0], gc_out_size(&h) * sizeof(float));
    gc_fill_uniform(h.grad_out, gc_out_size(&h), 1.0f, 3);
    ck_assert_int_eq(gc_backward(&h, NULL, 0), SEQNET_OK);
    for (k = 0; k < gc_out_size(&h); k++)
        ck_assert_float_eq(h.grad_in[0][k], h.grad_out[k]);
    gc_free(&h);
}
END_TEST

START_TEST(dropout_training_scales_kept_and_zeroes_dropped)
{
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_sequence(25, 20), 25, NULL, NULL, NULL};
    const float scale = 1.0f / 0.75f;
    size_t k, n, kept = 0;
    dropout_opts(&o, 0.25);
    build_ok(&h, &sn_dropout_ops, &o, &in, 1, 8, 1);
    n = gc_out_size(&h);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    gc_fill_uniform(h.grad_out, n, 1.0f, 5);
    ck_assert_int_eq(gc_backward(&h, NULL, 0), SEQNET_OK);
    for (k = 0; k < n; k++) {
        int is_kept = h.out.x[k] != 0.0f;
        kept += (size_t)is_kept;
        ck_assert_float_eq(h.out.x[k], is_kept ? h.in_x[0][k] * scale : 0.0f);
        ck_assert_float_eq(h.grad_in[0][k], is_kept ? h.grad_out[k] * scale : 0.0f);
    }
    /* 4000 draws: the kept fraction is 0.75 within 4 standard deviations */
    ck_assert_msg(fabs((double)kept / (double)n - 0.75) < 0.03, "kept %zu of %zu", kept, n);
    gc_free(&h);
}
END_TEST

START_TEST(dropout_gradcheck_with_a_fixed_mask)
{
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_sequence(4, 5), 4, NULL, NULL, NULL};
    dropout_opts(&o, 0.4);
    build_ok(&h, &sn_dropout_ops, &o, &in, 1, 3, 1);
    assert_gradcheck(&h, NULL, "dropout");
    gc_free(&h);
}
END_TEST

START_TEST(dropout_mask_follows_the_stream)
{
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_vector(64), 0, NULL, NULL, NULL};
    float first[4 * 64];
    dropout_opts(&o, 0.5);
    build_ok(&h, &sn_dropout_ops, &o, &in, 1, 4, 1);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    memcpy(first, h.out.x, sizeof first);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    ck_assert_mem_eq(first, h.out.x, sizeof first); /* same stream, same mask */
    h.rng_seed ^= 0x9e3779b97f4a7c15u;
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    ck_assert(memcmp(first, h.out.x, sizeof first) != 0);
    gc_free(&h);
}
END_TEST

START_TEST(dropout_rate_zero_is_identity_in_training)
{
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_vector(9), 0, NULL, NULL, NULL};
    dropout_opts(&o, 0.0);
    build_ok(&h, &sn_dropout_ops, &o, &in, 1, 3, 1);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    ck_assert_mem_eq(h.out.x, h.in_x[0], gc_out_size(&h) * sizeof(float));
    assert_gradcheck(&h, NULL, "rate 0");
    gc_free(&h);
}
END_TEST

START_TEST(dropout_validates_rate_and_takes_seed)
{
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_vector(3), 0, NULL, NULL, NULL};
    gc_opts_init(&o);
    ck_assert_int_eq(build_error(&sn_dropout_ops, &o, &in, NULL, 0), SEQNET_EINVAL);
    dropout_opts(&o, 1.0);
    ck_assert_int_eq(build_error(&sn_dropout_ops, &o, &in, NULL, 0), SEQNET_EINVAL);
    dropout_opts(&o, -0.1);
    ck_assert_int_eq(build_error(&sn_dropout_ops, &o, &in, NULL, 0), SEQNET_EINVAL);
    dropout_opts(&o, 0.3);
    gc_opts_string(&o, SEQNET_OPT_SEED, "x");
    ck_assert_int_eq(build_error(&sn_dropout_ops, &o, &in, NULL, 0), SEQNET_EINVAL);
    dropout_opts(&o, 0.3);
    gc_opts_int(&o, SEQNET_OPT_SEED, 42);
    build_ok(&h, &sn_dropout_ops, &o, &in, 1, 2, 1);
    ck_assert_uint_eq(h.layer.seed, 42);
    gc_free(&h);
}
END_TEST

/* ---- Embedding ---------------------------------------------------------- */

static void embedding_opts(sn_opts *o, int input_dim, int output_dim, int mask_zero)
{
    gc_opts_init(o);
    gc_opts_int(o, SEQNET_OPT_INPUT_DIM, input_dim);
    gc_opts_int(o, SEQNET_OPT_OUTPUT_DIM, output_dim);
    if (mask_zero >= 0)
        gc_opts_int(o, SEQNET_OPT_MASK_ZERO, mask_zero);
}

START_TEST(embedding_gathers_rows_and_masks_zero_ids)
{
    const int32_t ids[2 * 4] = {1, 0, 3, 6, 0, 0, 2, 5};
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_tokens(0), 4, NULL, ids, NULL};
    const float *table;
    size_t i, j;
    embedding_opts(&o, 7, 3, 1);
    build_ok(&h, &sn_embedding_ops, &o, &in, 1, 2, 0);
    ck_assert_int_eq(sn_embedding_ops.mask_mode, SN_MASK_PRODUCE);
    ck_assert_int_eq(h.layer.out_shape.masked, 1);
    ck_assert_int_eq(h.layer.out_shape.time, SN_TIME_VARIABLE);
    ck_assert_int_eq(h.layer.out_shape.features, 3);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    table = gc_param(&h, 0);
    for (i = 0; i < 8; i++) {
        for (j = 0; j < 3; j++)
            ck_assert_float_eq(h.out.x[i * 3 + j], table[(size_t)ids[i] * 3 + j]);
        ck_assert_int_eq(h.out.mask[i], ids[i] != 0);
    }
    gc_free(&h);
    embedding_opts(&o, 7, 3, -1);
    build_ok(&h, &sn_embedding_ops, &o, &in, 1, 2, 0);
    ck_assert_int_eq(h.layer.out_shape.masked, 0);
    gc_free(&h);
}
END_TEST

START_TEST(embedding_combines_an_incoming_mask_with_mask_zero)
{
    const int32_t ids[2 * 3] = {4, 0, 2, 1, 2, 3};
    uint8_t mask[2 * 3] = {1, 1, 1, 1, 1, 0};
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_tokens(3), 3, NULL, ids, mask};
    const uint8_t want[6] = {1, 0, 1, 1, 1, 0};
    in.shape.masked = 1;
    embedding_opts(&o, 5, 2, 1);
    build_ok(&h, &sn_embedding_ops, &o, &in, 1, 2, 0);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    ck_assert_mem_eq(h.out.mask, want, 6);
    gc_free(&h);
}
END_TEST

START_TEST(embedding_gradient_sums_repeated_ids_and_touches_only_used_rows)
{
    const int32_t ids[2 * 4] = {3, 1, 3, 0, 1, 1, 6, 3};
    const int32_t first_seen[4] = {3, 1, 0, 6};
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_tokens(4), 4, NULL, ids, NULL};
    float *d_table;
    size_t i, j, r;
    embedding_opts(&o, 8, 3, -1);
    build_ok(&h, &sn_embedding_ops, &o, &in, 1, 2, 1);
    ck_assert_int_eq(h.layer.params[0].sparse_rows, 1);
    ck_assert_int_eq(h.layer.params[0].init, SN_INIT_UNIFORM_005);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    gc_fill_uniform(h.grad_out, gc_out_size(&h), 1.0f, 9);
    d_table = gc_param_grad(&h, 0);
    for (i = 0; i < 24; i++)
        d_table[i] = 7.0f; /* untouched rows must keep this */
    ck_assert_int_eq(gc_backward(&h, NULL, 0), SEQNET_OK);
    ck_assert_int_eq(h.n_touched, 4);
    ck_assert_mem_eq(h.touched_rows, first_seen, sizeof first_seen);
    for (r = 0; r < 8; r++) {
        int used = r == 0 || r == 1 || r == 3 || r == 6;
        ck_assert_int_eq(h.row_flags[r], used);
        for (j = 0; j < 3; j++) {
            double want = 0;
            if (!used) {
                ck_assert_float_eq(d_table[r * 3 + j], 7.0f);
                continue;
            }
            for (i = 0; i < 8; i++)
                if ((size_t)ids[i] == r)
                    want += h.grad_out[i * 3 + j];
            ck_assert_double_eq_tol(d_table[r * 3 + j], want, 1e-6);
        }
    }
    gc_free(&h);
}
END_TEST

START_TEST(embedding_gradcheck_with_repeated_ids)
{
    const int32_t ids[3 * 4] = {1, 2, 1, 0, 4, 4, 4, 3, 0, 0, 2, 1};
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_tokens(4), 4, NULL, ids, NULL};
    embedding_opts(&o, 6, 4, 1);
    build_ok(&h, &sn_embedding_ops, &o, &in, 1, 3, 1);
    assert_gradcheck(&h, NULL, "embedding");
    gc_free(&h);
}
END_TEST

START_TEST(embedding_rejects_ids_out_of_range_before_writing)
{
    int32_t ids[2 * 3] = {1, 2, 0, 4, 2, 7};
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_tokens(3), 3, NULL, ids, NULL};
    size_t k;
    embedding_opts(&o, 7, 2, 0);
    build_ok(&h, &sn_embedding_ops, &o, &in, 1, 2, 0);
    for (k = 0; k < gc_out_size(&h); k++)
        h.out.x[k] = -9.0f;
    ck_assert_int_eq(gc_forward(&h), SEQNET_ERANGE);
    ck_assert_str_eq(h.err.errmsg,
                     "layer 'embedding_under_test': token id 7 at batch 1 step 2 is outside "
                     "[0, 7)");
    for (k = 0; k < gc_out_size(&h); k++)
        ck_assert_float_eq(h.out.x[k], -9.0f);
    h.in_ids[0][5] = 6;
    h.in_ids[0][1] = -1;
    ck_assert_int_eq(gc_forward(&h), SEQNET_ERANGE);
    ck_assert_ptr_nonnull(strstr(h.err.errmsg, "token id -1 at batch 0 step 1"));
    h.in_ids[0][1] = 6;
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    gc_free(&h);
}
END_TEST

START_TEST(embedding_rejects_float_input_and_bad_options)
{
    sn_opts o;
    char msg[SN_ERRMSG_SIZE];
    gc_input flt = {gc_sequence(3, 2), 3, NULL, NULL, NULL};
    gc_input tok = {gc_tokens(3), 3, NULL, NULL, NULL};
    embedding_opts(&o, 5, 2, 0);
    ck_assert_int_eq(build_error(&sn_embedding_ops, &o, &flt, msg, sizeof msg), SEQNET_ESHAPE);
    ck_assert_ptr_nonnull(strstr(msg, "embedding_under_test"));
    gc_opts_init(&o);
    gc_opts_int(&o, SEQNET_OPT_OUTPUT_DIM, 4);
    ck_assert_int_eq(build_error(&sn_embedding_ops, &o, &tok, NULL, 0), SEQNET_EINVAL);
    embedding_opts(&o, 0, 4, 0);
    ck_assert_int_eq(build_error(&sn_embedding_ops, &o, &tok, NULL, 0), SEQNET_EINVAL);
    embedding_opts(&o, 5, 4, 3);
    ck_assert_int_eq(build_error(&sn_embedding_ops, &o, &tok, NULL, 0), SEQNET_EINVAL);
}
END_TEST

/* The course's model: Embedding(62297, 30) -> GlobalAveragePooling1D ->
 * Dropout(0.5) -> Dense(20, relu) -> Dropout(0.5) -> Dense(1, sigmoid):
 * Keras reports 1,869,551 parameters. */
START_TEST(course_model_has_keras_parameter_count)
{
    sn_opts o;
    gc_harness h;
    gc_input tok = {gc_tokens(0), 1, NULL, NULL, NULL};
    gc_input v30 = {gc_vector(30), 0, NULL, NULL, NULL};
    gc_input v20 = {gc_vector(20), 0, NULL, NULL, NULL};
    int64_t total = 0;
    embedding_opts(&o, 62297, 30, -1);
    build_ok(&h, &sn_embedding_ops, &o, &tok, 1, 1, 0);
    total += gc_param_count(&h);
    gc_free(&h);
    dense_opts(&o, 20, "relu", -1);
    build_ok(&h, &sn_dense_ops, &o, &v30, 1, 1, 0);
    total += gc_param_count(&h);
    gc_free(&h);
    dense_opts(&o, 1, "sigmoid", -1);
    build_ok(&h, &sn_dense_ops, &o, &v20, 1, 1, 0);
    total += gc_param_count(&h);
    gc_free(&h);
    ck_assert_int_eq(total, 1869551);
}
END_TEST

/* ---- Flatten ------------------------------------------------------------ */

START_TEST(flatten_turns_a_fixed_sequence_into_a_vector)
{
    gc_harness h;
    gc_input in = {gc_sequence(5, 3), 5, NULL, NULL, NULL};
    build_ok(&h, &sn_flatten_ops, NULL, &in, 1, 2, 1);
    ck_assert_int_eq(h.layer.out_shape.time, SN_TIME_VECTOR);
    ck_assert_int_eq(h.layer.out_shape.features, 15);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    ck_assert_mem_eq(h.out.x, h.in_x[0], 30 * sizeof(float));
    assert_gradcheck(&h, NULL, "flatten");
    gc_free(&h);
}
END_TEST

START_TEST(flatten_passes_vectors_through)
{
    gc_harness h;
    gc_input in = {gc_vector(6), 0, NULL, NULL, NULL};
    build_ok(&h, &sn_flatten_ops, NULL, &in, 1, 3, 1);
    ck_assert_int_eq(h.layer.out_shape.time, SN_TIME_VECTOR);
    ck_assert_int_eq(h.layer.out_shape.features, 6);
    assert_gradcheck(&h, NULL, "flatten vector");
    gc_free(&h);
}
END_TEST

START_TEST(flatten_refuses_variable_time_and_masks)
{
    char msg[SN_ERRMSG_SIZE];
    gc_input var = {gc_sequence(SN_TIME_VARIABLE, 3), 4, NULL, NULL, NULL};
    gc_input masked = {gc_sequence(4, 3), 4, NULL, NULL, NULL};
    ck_assert_int_eq(build_error(&sn_flatten_ops, NULL, &var, msg, sizeof msg), SEQNET_ESHAPE);
    ck_assert_ptr_nonnull(strstr(msg, "flatten_under_test"));
    ck_assert_ptr_nonnull(strstr(msg, "fixed"));
    masked.shape.masked = 1;
    ck_assert_int_eq(sn_flatten_ops.mask_mode, SN_MASK_REFUSE);
    ck_assert_int_eq(build_error(&sn_flatten_ops, NULL, &masked, msg, sizeof msg),
                     SEQNET_ESHAPE);
    ck_assert_ptr_nonnull(strstr(msg, "mask"));
}
END_TEST

/* ---- global pooling ----------------------------------------------------- */

/* batch 3, time 4, features 2; row 1 half masked, row 2 fully masked */
static const uint8_t pool_mask[3 * 4] = {1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0};

static void pool_expected(const float *x, const uint8_t *mask, int is_max, float *out)
{
    int b, t, f;
    for (b = 0; b < 3; b++)
        for (f = 0; f < 2; f++) {
            double acc = is_max ? -INFINITY : 0.0;
            int n = 0;
            for (t = 0; t < 4; t++) {
                double v = x[(b * 4 + t) * 2 + f];
                if (mask != NULL && !mask[b * 4 + t])
                    continue;
                acc = is_max ? fmax(acc, v) : acc + v;
                n++;
            }
            out[b * 2 + f] = n == 0 ? 0.0f : (float)(is_max ? acc : acc / n);
        }
}

static void check_pool(const sn_layer_ops *ops, int is_max, int masked)
{
    gc_harness h;
    gc_input in = {gc_sequence(0, 2), 4, NULL, NULL, masked ? pool_mask : NULL};
    float want[6];
    int k;
    in.shape.masked = (int8_t)masked;
    build_ok(&h, ops, NULL, &in, 1, 3, 1);
    ck_assert_int_eq(ops->mask_mode, SN_MASK_CONSUME);
    ck_assert_int_eq(h.layer.out_shape.time, SN_TIME_VECTOR);
    ck_assert_int_eq(h.layer.out_shape.features, 2);
    ck_assert_int_eq(h.layer.out_shape.masked, 0);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    pool_expected(h.in_x[0], in.mask, is_max, want);
    for (k = 0; k < 6; k++)
        ck_assert_double_eq_tol(h.out.x[k], want[k], 1e-6);
    assert_gradcheck(&h, NULL, masked ? "masked pooling" : "pooling");
    if (masked) {
        /* masked steps, and every step of the all-masked row, get no gradient */
        gc_fill_uniform(h.grad_out, 6, 1.0f, 4);
        ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
        ck_assert_int_eq(gc_backward(&h, NULL, 0), SEQNET_OK);
        for (k = 0; k < 24; k++)
            if (!pool_mask[k / 2])
                ck_assert_float_eq(h.grad_in[0][k], 0.0f);
    }
    gc_free(&h);
}

START_TEST(global_average_pooling_without_mask)
{
    check_pool(&sn_global_average_pooling1d_ops, 0, 0);
}
END_TEST

START_TEST(global_average_pooling_over_unmasked_steps_and_all_masked_row_is_zero)
{
    check_pool(&sn_global_average_pooling1d_ops, 0, 1);
}
END_TEST

START_TEST(global_max_pooling_without_mask)
{
    check_pool(&sn_global_max_pooling1d_ops, 1, 0);
}
END_TEST

START_TEST(global_max_pooling_over_unmasked_steps_and_all_masked_row_is_zero)
{
    check_pool(&sn_global_max_pooling1d_ops, 1, 1);
}
END_TEST

START_TEST(global_max_pooling_routes_gradient_to_first_maximum)
{
    /* one row, 4 steps, 1 feature: the maximum 2.0 occurs at steps 1 and 3 */
    const float x[4] = {0.5f, 2.0f, -1.0f, 2.0f};
    gc_harness h;
    gc_input in = {gc_sequence(4, 1), 4, x, NULL, NULL};
    build_ok(&h, &sn_global_max_pooling1d_ops, NULL, &in, 1, 1, 1);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    ck_assert_float_eq(h.out.x[0], 2.0f);
    h.grad_out[0] = 3.0f;
    ck_assert_int_eq(gc_backward(&h, NULL, 0), SEQNET_OK);
    ck_assert_float_eq(h.grad_in[0][0], 0.0f);
    ck_assert_float_eq(h.grad_in[0][1], 3.0f);
    ck_assert_float_eq(h.grad_in[0][2], 0.0f);
    ck_assert_float_eq(h.grad_in[0][3], 0.0f);
    gc_free(&h);
}
END_TEST

START_TEST(global_pooling_needs_a_float_sequence)
{
    gc_input vec = {gc_vector(3), 0, NULL, NULL, NULL};
    gc_input tok = {gc_tokens(3), 3, NULL, NULL, NULL};
    char msg[SN_ERRMSG_SIZE];
    ck_assert_int_eq(build_error(&sn_global_average_pooling1d_ops, NULL, &vec, msg, sizeof msg),
                     SEQNET_ESHAPE);
    ck_assert_ptr_nonnull(strstr(msg, "global_average_pooling1d_under_test"));
    ck_assert_int_eq(build_error(&sn_global_max_pooling1d_ops, NULL, &tok, NULL, 0),
                     SEQNET_ESHAPE);
}
END_TEST

/* ---- the suite ---------------------------------------------------------- */

static Suite *layers_suite(void)
{
    Suite *s = suite_create("layers");
    TCase *tc;

    tc = tcase_create("activations");
    tcase_add_test(tc, act_names_round_trip);
    tcase_add_test(tc, act_forward_matches_reference_formulas);
    tcase_add_test(tc, act_forward_in_place_equals_out_of_place);
    tcase_add_test(tc, softmax_rows_sum_to_one_and_match_exp_ratio);
    tcase_add_test(tc, act_extreme_inputs_stay_finite);
    tcase_add_loop_test(tc, activation_layer_gradcheck_each_activation, 0, N_ACTS);
    tcase_add_test(tc, activation_layer_needs_an_activation);
    tcase_add_test(tc, activation_layer_forward_and_mask_pass_through);
    suite_add_tcase(s, tc);

    tc = tcase_create("dense");
    tcase_add_test(tc, dense_forward_matches_naive_loop_on_sequences);
    tcase_add_test(tc, dense_forward_matches_naive_loop_on_one_vector);
    tcase_add_test(tc, dense_computes_masked_steps_and_passes_the_mask);
    tcase_add_loop_test(tc, dense_gradcheck_each_activation_bias_and_rank, 0, 4 * N_ACTS);
    tcase_add_test(tc, dense_keras_parameter_counts_and_layout);
    tcase_add_test(tc, dense_rejects_bad_options_and_token_input);
    suite_add_tcase(s, tc);

    tc = tcase_create("dropout");
    tcase_add_test(tc, dropout_is_identity_in_inference);
    tcase_add_test(tc, dropout_training_scales_kept_and_zeroes_dropped);
    tcase_add_test(tc, dropout_gradcheck_with_a_fixed_mask);
    tcase_add_test(tc, dropout_mask_follows_the_stream);
    tcase_add_test(tc, dropout_rate_zero_is_identity_in_training);
    tcase_add_test(tc, dropout_validates_rate_and_takes_seed);
    suite_add_tcase(s, tc);

    tc = tcase_create("embedding");
    tcase_add_test(tc, embedding_gathers_rows_and_masks_zero_ids);
    tcase_add_test(tc, embedding_combines_an_incoming_mask_with_mask_zero);
    tcase_add_test(tc, embedding_gradient_sums_repeated_ids_and_touches_only_used_rows);
    tcase_add_test(tc, embedding_gradcheck_with_repeated_ids);
    tcase_add_test(tc, embedding_rejects_ids_out_of_range_before_writing);
    tcase_add_test(tc, embedding_rejects_float_input_and_bad_options);
    tcase_add_test(tc, course_model_has_keras_parameter_count);
    suite_add_tcase(s, tc);

    tc = tcase_create("flatten_and_pooling");
    tcase_add_test(tc, flatten_turns_a_fixed_sequence_into_a_vector);
    tcase_add_test(tc, flatten_passes_vectors_through);
    tcase_add_test(tc, flatten_refuses_variable_time_and_masks);
    tcase_add_test(tc, global_average_pooling_without_mask);
    tcase_add_test(tc, global_average_pooling_over_unmasked_steps_and_all_masked_row_is_zero);
    tcase_add_test(tc, global_max_pooling_without_mask);
    tcase_add_test(tc, global_max_pooling_over_unmasked_steps_and_all_masked_row_is_zero);
    tcase_add_test(tc, global_max_pooling_routes_gradient_to_first_maximum);
    tcase_add_test(tc, global_pooling_needs_a_float_sequence);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *runner = srunner_create(layers_suite());
    int failed;
    srunner_run_all(runner, CK_NORMAL);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
