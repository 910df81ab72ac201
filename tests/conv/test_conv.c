/*
 * tests/conv/test_conv.c -- white-box and public-API tests of the
 * convolution room: Conv1D, MaxPooling1D / AveragePooling1D, the merges
 * (Concatenate, Add, Subtract, Multiply, Average), Highway,
 * BatchNormalization and LayerNormalization.
 *
 * Expected values come from independent double-precision loops written
 * here, from PyTorch (tests/golden/conv_torch.txt, made by
 * gen_torch_conv_golden.py; CI has no torch) and from Keras's parameter
 * counts. Gradients are checked against finite differences with the
 * layers room's helper (tests/layers/gradcheck.c, reused unchanged).
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
#include "layers/batchnorm.h"
#include "layers/conv_common.h"
#include "layers/conv_winograd.h"
#include "seqnet/seqnet.h"

extern const sn_layer_ops sn_conv1d_ops;
extern const sn_layer_ops sn_max_pooling1d_ops;
extern const sn_layer_ops sn_average_pooling1d_ops;
extern const sn_layer_ops sn_concatenate_ops;
extern const sn_layer_ops sn_add_ops;
extern const sn_layer_ops sn_subtract_ops;
extern const sn_layer_ops sn_multiply_ops;
extern const sn_layer_ops sn_average_ops;
extern const sn_layer_ops sn_highway_ops;
extern const sn_layer_ops sn_batch_normalization_ops;
extern const sn_layer_ops sn_layer_normalization_ops;

#ifndef CONV_GOLDEN_PATH
#define CONV_GOLDEN_PATH "tests/golden/conv_torch.txt"
#endif

static const char *const PADDING_NAMES[] = {"valid", "same", "causal"};

/* ---- helpers ------------------------------------------------------------ */

static void build_ok(gc_harness *h, const sn_layer_ops *ops, const sn_opts *o,
                     const gc_input *in, int32_t n_in, int32_t batch, int training)
{
    int st = gc_build(h, ops, o, in, n_in, batch, training, 4321);
    ck_assert_msg(st == SEQNET_OK, "build failed (%d): %s", st, h->err.errmsg);
}

static void assert_gradcheck(gc_harness *h, const gc_options *o, const char *label)
{
    gc_result r;
    int ok = gc_check(h, o, &r);
    ck_assert_msg(ok, "%s: %s", label, r.message);
}

static void fill_uniform(float *x, size_t n, float scale, uint64_t seed)
{
    sn_rng r;
    size_t k;
    sn_rng_seed(&r, seed);
    for (k = 0; k < n; k++)
        x[k] = (2.0f * sn_rng_uniform(&r) - 1.0f) * scale;
}

static double act_ref(int act, double z)
{
    switch (act) {
    case SN_ACT_RELU: return z > 0 ? z : 0;
    case SN_ACT_SIGMOID: return 1.0 / (1.0 + exp(-z));
    case SN_ACT_TANH: return tanh(z);
    case SN_ACT_GELU: return 0.5 * z * (1.0 + erf(z / sqrt(2.0)));
    default: return z;
    }
}

static void assert_close(const float *got, const double *want, size_t n, double atol, double rtol,
                         const char *what)
{
    size_t k;
    for (k = 0; k < n; k++)
        ck_assert_msg(fabs(got[k] - want[k]) <= atol + rtol * fabs(want[k]),
                      "%s[%zu] = %.8g, expected %.8g", what, k, (double)got[k], want[k]);
}

/* ---- Conv1D: geometry --------------------------------------------------- */

/* Keras's output length, written from the formulas of the Keras docs. */
static int32_t keras_conv_length(int32_t t, int32_t k, int32_t s, int32_t d, int pad)
{
    int32_t span = d * (k - 1) + 1;
    if (pad == SN_PAD_VALID)
        return t < span ? -1 : (t - span) / s + 1;
    if (pad == SN_PAD_CAUSAL)
        return (t + span - 1 - span) / s + 1;
    return (t + s - 1) / s;
}

static void conv_opts(sn_opts *o, int32_t filters, int32_t k, int32_t s, int pad, int32_t d,
                      int use_bias, const char *act)
{
    gc_opts_init(o);
    gc_opts_int(o, SEQNET_OPT_FILTERS, filters);
    gc_opts_int(o, SEQNET_OPT_KERNEL_SIZE, k);
    gc_opts_int(o, SEQNET_OPT_STRIDES, s);
    gc_opts_string(o, SEQNET_OPT_PADDING, PADDING_NAMES[pad]);
    gc_opts_int(o, SEQNET_OPT_DILATION_RATE, d);
    gc_opts_int(o, SEQNET_OPT_USE_BIAS, use_bias);
    gc_opts_string(o, SEQNET_OPT_ACTIVATION, act);
}

START_TEST(conv1d_output_length_matches_keras_for_every_padding)
{
    int32_t t, k, s, d;
    int pad;
    for (pad = 0; pad < 3; pad++)
        for (t = 1; t <= 12; t++)
            for (k = 1; k <= 5; k += 2)
                for (s = 1; s <= 3; s++)
                    for (d = 1; d <= 4; d *= 2) {
                        sn_opts o;
                        gc_harness h;
                        gc_input in = {gc_sequence(t, 2), t, NULL, NULL, NULL};
                        int32_t want = keras_conv_length(t, k, s, d, pad);
                        int st;
                        conv_opts(&o, 3, k, s, pad, d, 1, "linear");
                        st = gc_build(&h, &sn_conv1d_ops, &o, &in, 1, 1, 0, 1);
                        if (want < 0) {
                            ck_assert_int_eq(st, SEQNET_ESHAPE);
                            ck_assert_msg(strstr(h.err.errmsg, "conv1d_under_test") != NULL,
                                          "message does not name the layer: %s",
                                          h.err.errmsg);
                        } else {
                            ck_assert_msg(st == SEQNET_OK, "%s", h.err.errmsg);
                            ck_assert_int_eq(h.out_shape.time, want);
                            ck_assert_int_eq(h.out_shape.features, 3);
                        }
                        gc_free(&h);
                    }
}
END_TEST

START_TEST(conv1d_same_padding_puts_the_odd_step_on_the_right)
{
    int32_t out_time, pad_left;
    /* T=7, k=4: pad_total 3, TensorFlow puts 1 left and 2 right. */
    ck_assert_int_eq(sn_cc_window(7, 4, 1, SN_PAD_SAME, &out_time, &pad_left), 0);
    ck_assert_int_eq(out_time, 7);
    ck_assert_int_eq(pad_left, 1);
    /* T=10, k=3, s=2: out 5, pad_total 1 -> left 0. */
    ck_assert_int_eq(sn_cc_window(10, 3, 2, SN_PAD_SAME, &out_time, &pad_left), 0);
    ck_assert_int_eq(out_time, 5);
    ck_assert_int_eq(pad_left, 0);
    /* Causal, d=8 k=5: 32 steps of left padding. */
    ck_assert_int_eq(sn_cc_window(6, 33, 1, SN_PAD_CAUSAL, &out_time, &pad_left), 0);
    ck_assert_int_eq(out_time, 6);
    ck_assert_int_eq(pad_left, 32);
    /* Variable time stays variable. */
    ck_assert_int_eq(sn_cc_window(0, 3, 2, SN_PAD_VALID, &out_time, &pad_left), 0);
    ck_assert_int_eq(out_time, 0);
}
END_TEST

START_TEST(conv1d_rejects_bad_options_naming_the_layer)
{
    static const struct {
        int key;
        int64_t value;
    } bad[] = {{SEQNET_OPT_FILTERS, 0}, {SEQNET_OPT_KERNEL_SIZE, 0}, {SEQNET_OPT_STRIDES, 0},
               {SEQNET_OPT_DILATION_RATE, -1}, {SEQNET_OPT_USE_BIAS, 2},
               /* kernel 2: a span of 2^20 + 1 steps, one above the limit */
               {SEQNET_OPT_DILATION_RATE, (int64_t)1 << 20}};
    size_t i;
    gc_input in = {gc_sequence(8, 2), 8, NULL, NULL, NULL};
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sn_opts o;
        gc_harness h;
        conv_opts(&o, 3, 2, 1, SN_PAD_VALID, 1, 1, "linear");
        gc_opts_int(&o, bad[i].key, bad[i].value);
        ck_assert_int_eq(gc_build(&h, &sn_conv1d_ops, &o, &in, 1, 1, 0, 1), SEQNET_EINVAL);
        ck_assert_msg(strstr(h.err.errmsg, "conv1d_under_test") != NULL, "%s", h.err.errmsg);
        gc_free(&h);
    }
    {
        sn_opts o;
        gc_harness h;
        conv_opts(&o, 3, 2, 1, SN_PAD_VALID, 1, 1, "linear");
        gc_opts_string(&o, SEQNET_OPT_PADDING, "full");
        ck_assert_int_eq(gc_build(&h, &sn_conv1d_ops, &o, &in, 1, 1, 0, 1), SEQNET_EINVAL);
        ck_assert_msg(strstr(h.err.errmsg, "padding") != NULL, "%s", h.err.errmsg);
        gc_free(&h);
        /* The largest span allowed, 2^20 steps, builds ('same' on 8 steps). */
        conv_opts(&o, 3, 2, 1, SN_PAD_SAME, ((int32_t)1 << 20) - 1, 1, "linear");
        ck_assert_int_eq(gc_build(&h, &sn_conv1d_ops, &o, &in, 1, 1, 0, 1), SEQNET_OK);
        gc_free(&h);
        /* Vectors have no time axis to convolve. */
        conv_opts(&o, 3, 2, 1, SN_PAD_VALID, 1, 1, "linear");
        in.shape = gc_vector(4);
        ck_assert_int_eq(gc_build(&h, &sn_conv1d_ops, &o, &in, 1, 1, 0, 1), SEQNET_ESHAPE);
        gc_free(&h);
    }
}
END_TEST

/* Reference Conv1D in double, straight from the definition. */
static void conv_reference(const float *x, const float *w, const float *b, int32_t batch,
                           int32_t time, int32_t feat, int32_t filters, int32_t k, int32_t s,
                           int pad, int32_t d, int act, int32_t out_time, double *y)
{
    int32_t span = d * (k - 1) + 1, left = 0, bb, t, j, f, o;
    if (pad == SN_PAD_CAUSAL)
        left = span - 1;
    else if (pad == SN_PAD_SAME) {
        int32_t total = (out_time - 1) * s + span - time;
        left = total > 0 ? total / 2 : 0;
    }
    for (bb = 0; bb < batch; bb++)
        for (t = 0; t < out_time; t++)
            for (o = 0; o < filters; o++) {
                double z = b != NULL ? b[o] : 0.0;
                for (j = 0; j < k; j++) {
                    int32_t src = t * s + j * d - left;
                    if (src < 0 || src >= time)
                        continue;
                    for (f = 0; f < feat; f++)
                        z += (double)x[((size_t)bb * time + src) * feat + f] *
                             w[((size_t)j * feat + f) * filters + o];
                }
                y[((size_t)bb * out_time + t) * filters + o] = act_ref(act, z);
            }
}

typedef struct conv_case {
    int32_t time, feat, filters, k, s, d;
    int pad, use_bias;
    const char *act;
} conv_case;

static const conv_case CONV_CASES[] = {
    {9, 3, 4, 3, 1, 1, SN_PAD_VALID, 1, "linear"},
    {9, 3, 4, 3, 2, 1, SN_PAD_VALID, 1, "relu"},
    {11, 2, 3, 3, 1, 2, SN_PAD_VALID, 0, "tanh"},
    {13, 2, 3, 2, 1, 4, SN_PAD_VALID, 1, "sigmoid"},
    {7, 3, 4, 4, 1, 1, SN_PAD_SAME, 1, "linear"},
    {10, 3, 4, 3, 2, 1, SN_PAD_SAME, 0, "relu"},
    {8, 2, 3, 3, 1, 2, SN_PAD_SAME, 1, "tanh"},
    {9, 2, 2, 2, 1, 4, SN_PAD_SAME, 1, "gelu"},
    {9, 2, 3, 5, 1, 1, SN_PAD_CAUSAL, 1, "linear"},
    {9, 3, 3, 3, 1, 2, SN_PAD_CAUSAL, 0, "tanh"},
    {10, 2, 4, 2, 1, 4, SN_PAD_CAUSAL, 1, "relu"},
    {9, 2, 3, 3, 2, 1, SN_PAD_CAUSAL, 1, "sigmoid"},
    {11, 2, 2, 3, 2, 2, SN_PAD_CAUSAL, 1, "elu"},
    {6, 4, 3, 1, 1, 1, SN_PAD_VALID, 1, "linear"}, /* pointwise: no im2col */
    {6, 4, 3, 1, 1, 1, SN_PAD_SAME, 0, "softplus"},
    {7, 3, 2, 1, 2, 1, SN_PAD_SAME, 1, "linear"},
};
#define N_CONV_CASES ((int)(sizeof CONV_CASES / sizeof CONV_CASES[0]))

static void conv_label(const conv_case *c, char *buf, size_t size)
{
    snprintf(buf, size, "Conv1D(T=%d k=%d s=%d d=%d %s bias=%d %s)", (int)c->time, (int)c->k,
             (int)c->s, (int)c->d, PADDING_NAMES[c->pad], c->use_bias, c->act);
}

START_TEST(conv1d_forward_matches_direct_definition)
{
    const conv_case *c = &CONV_CASES[_i];
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_sequence(c->time, c->feat), c->time, NULL, NULL, NULL};
    double *want;
    char label[128];
    size_t n;

    conv_label(c, label, sizeof label);
    conv_opts(&o, c->filters, c->k, c->s, c->pad, c->d, c->use_bias, c->act);
    build_ok(&h, &sn_conv1d_ops, &o, &in, 1, 3, _i % 2);
    n = gc_out_size(&h);
    want = malloc(n * sizeof *want);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    if (sn_act_from_name(c->act) <= SN_ACT_TANH) {
        conv_reference(h.in_x[0], gc_param(&h, 0), c->use_bias ? gc_param(&h, 1) : NULL, 3,
                       c->time, c->feat, c->filters, c->k, c->s, c->pad, c->d,
                       sn_act_from_name(c->act), h.out.time, want);
        assert_close(h.out.x, want, n, 1e-5, 1e-5, label);
    }
    free(want);
    gc_free(&h);
}
END_TEST

START_TEST(conv1d_gradcheck_strides_dilations_paddings_activations)
{
    const conv_case *c = &CONV_CASES[_i];
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_sequence(c->time, c->feat), c->time, NULL, NULL, NULL};
    char label[128];

    conv_label(c, label, sizeof label);
    conv_opts(&o, c->filters, c->k, c->s, c->pad, c->d, c->use_bias, c->act);
    build_ok(&h, &sn_conv1d_ops, &o, &in, 1, 2, 1);
    assert_gradcheck(&h, NULL, label);
    gc_free(&h);
}
END_TEST

START_TEST(conv1d_kernel_has_keras_layout_and_count)
{
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_sequence(0, 30), 20, NULL, NULL, NULL};
    conv_opts(&o, 50, 7, 1, SN_PAD_SAME, 1, 1, "relu");
    build_ok(&h, &sn_conv1d_ops, &o, &in, 1, 1, 0);
    ck_assert_int_eq(h.layer.n_params, 2);
    ck_assert_str_eq(h.layer.params[0].name, "kernel");
    ck_assert_int_eq(h.layer.params[0].rank, 3);
    ck_assert_int_eq(h.layer.params[0].dims[0], 7);
    ck_assert_int_eq(h.layer.params[0].dims[1], 30);
    ck_assert_int_eq(h.layer.params[0].dims[2], 50);
    ck_assert_int_eq(h.layer.params[0].init, SN_INIT_GLOROT_UNIFORM);
    ck_assert_str_eq(h.layer.params[1].name, "bias");
    ck_assert_int_eq(h.layer.params[1].init, SN_INIT_ZEROS);
    ck_assert_int_eq(gc_param_count(&h), 7 * 30 * 50 + 50);
    ck_assert_int_eq(h.layer.out_shape.time, 0); /* variable in, variable out */
    ck_assert_int_eq(h.out_shape.time, 20);
    gc_free(&h);
}
END_TEST

/* ---- golden values from PyTorch ----------------------------------------- */

#define GOLDEN_MAX_TENSORS 16

typedef struct golden_case {
    char kind[64];
    char name[64];
    double hdr[12];
    char tensor_names[GOLDEN_MAX_TENSORS][32];
    float *tensor[GOLDEN_MAX_TENSORS];
    double *tensor64[GOLDEN_MAX_TENSORS];
    long count[GOLDEN_MAX_TENSORS];
    int n_tensors;
} golden_case;

static void golden_free(golden_case *g)
{
    int i;
    for (i = 0; i < g->n_tensors; i++) {
        free(g->tensor[i]);
        free(g->tensor64[i]);
    }
    memset(g, 0, sizeof *g);
}

static int golden_find(const golden_case *g, const char *name)
{
    int i;
    for (i = 0; i < g->n_tensors; i++)
        if (strcmp(g->tensor_names[i], name) == 0)
            return i;
    return -1;
}

static const float *gt(const golden_case *g, const char *name, long want_count)
{
    int i = golden_find(g, name);
    ck_assert_msg(i >= 0, "%s: golden tensor %s missing", g->name, name);
    ck_assert_msg(want_count < 0 || g->count[i] == want_count, "%s: %s has %ld values, want %ld",
                  g->name, name, g->count[i], want_count);
    return g->tensor[i];
}

static const double *gt64(const golden_case *g, const char *name, long want_count)
{
    (void)gt(g, name, want_count);
    return g->tensor64[golden_find(g, name)];
}

/* Read the next case of the golden file; 0 at the end. The act name of a
 * conv record lands in act. */
static int golden_next(FILE *fp, golden_case *g, char *act, size_t act_size)
{
    char word[64];
    int n_hdr, i;
    memset(g, 0, sizeof *g);
    for (;;) {
        if (fscanf(fp, "%63s", word) != 1)
            return 0;
        if (word[0] == '#') {
            int ch;
            while ((ch = fgetc(fp)) != EOF && ch != '\n')
                ;
            continue;
        }
        break;
    }
    snprintf(g->kind, sizeof g->kind, "%s", word);
    ck_assert_int_eq(fscanf(fp, "%63s", g->name), 1);
    n_hdr = strcmp(g->kind, "conv") == 0 ? 9 : strcmp(g->kind, "bn") == 0 ? 6 : 4;
    for (i = 0; i < n_hdr; i++)
        ck_assert_int_eq(fscanf(fp, "%lf", &g->hdr[i]), 1);
    if (strcmp(g->kind, "conv") == 0) {
        char fmt[16];
        snprintf(fmt, sizeof fmt, "%%%zus", act_size - 1);
        ck_assert_int_eq(fscanf(fp, fmt, act), 1);
    }
    for (;;) {
        long count, k;
        ck_assert_int_eq(fscanf(fp, "%63s", word), 1);
        if (strcmp(word, "end") == 0)
            return 1;
        ck_assert_str_eq(word, "tensor");
        ck_assert_int_lt(g->n_tensors, GOLDEN_MAX_TENSORS);
        i = g->n_tensors++;
        ck_assert_int_eq(fscanf(fp, "%31s %ld", g->tensor_names[i], &count), 2);
        g->count[i] = count;
        g->tensor[i] = malloc((size_t)(count > 0 ? count : 1) * sizeof(float));
        g->tensor64[i] = malloc((size_t)(count > 0 ? count : 1) * sizeof(double));
        for (k = 0; k < count; k++) {
            ck_assert_int_eq(fscanf(fp, "%lf", &g->tensor64[i][k]), 1);
            g->tensor[i][k] = (float)g->tensor64[i][k];
        }
    }
}

static FILE *golden_open(void)
{
    FILE *fp = fopen(CONV_GOLDEN_PATH, "r");
    ck_assert_msg(fp != NULL, "cannot open %s", CONV_GOLDEN_PATH);
    return fp;
}

static void golden_conv(const golden_case *g, const char *act)
{
    int32_t batch = (int32_t)g->hdr[0], time = (int32_t)g->hdr[1], feat = (int32_t)g->hdr[2];
    int32_t filters = (int32_t)g->hdr[3], k = (int32_t)g->hdr[4], s = (int32_t)g->hdr[5];
    int pad = (int)g->hdr[6], use_bias = (int)g->hdr[8];
    int32_t d = (int32_t)g->hdr[7];
    long n_x = (long)batch * time * feat;
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_sequence(time, feat), time, NULL, NULL, NULL};
    long n_y;

    in.x = gt(g, "x", n_x);
    conv_opts(&o, filters, k, s, pad, d, use_bias, act);
    build_ok(&h, &sn_conv1d_ops, &o, &in, 1, batch, 1);
    memcpy(gc_param(&h, 0), gt(g, "kernel", (long)k * feat * filters),
           (size_t)k * feat * filters * sizeof(float));
    if (use_bias)
        memcpy(gc_param(&h, 1), gt(g, "bias", filters), (size_t)filters * sizeof(float));
    n_y = (long)gc_out_size(&h);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    assert_close(h.out.x, gt64(g, "y", n_y), (size_t)n_y, 2e-6, 1e-5, g->name);
    ck_assert_int_eq(gc_backward(&h, gt(g, "gy", n_y), 0), SEQNET_OK);
    assert_close(h.grad_in[0], gt64(g, "dx", n_x), (size_t)n_x, 2e-6, 1e-5, "dx");
    assert_close(gc_param_grad(&h, 0), gt64(g, "dkernel", (long)k * feat * filters),
                 (size_t)k * feat * filters, 2e-6, 1e-5, "dkernel");
    if (use_bias)
        assert_close(gc_param_grad(&h, 1), gt64(g, "dbias", filters), (size_t)filters, 2e-6,
                     1e-5, "dbias");
    gc_free(&h);
}

static void golden_bn(const golden_case *g)
{
    int32_t batch = (int32_t)g->hdr[0], time = (int32_t)g->hdr[1], feat = (int32_t)g->hdr[2];
    double momentum = g->hdr[3], epsilon = g->hdr[4];
    int training = (int)g->hdr[5];
    long rows = (long)batch * (time > 0 ? time : 1), n = rows * feat, j;
    sn_opts o;
    gc_harness h;
    gc_input in = {time > 0 ? gc_sequence(time, feat) : gc_vector(feat), time, NULL, NULL, NULL};
    double *want_mv = malloc((size_t)feat * sizeof *want_mv);
    const double *mv0, *torch_rv;

    in.x = gt(g, "x", n);
    gc_opts_init(&o);
    gc_opts_float(&o, SEQNET_OPT_MOMENTUM, momentum);
    gc_opts_float(&o, SEQNET_OPT_EPSILON, epsilon);
    build_ok(&h, &sn_batch_normalization_ops, &o, &in, 1, batch, training);
    memcpy(gc_param(&h, 0), gt(g, "gamma", feat), (size_t)feat * sizeof(float));
    memcpy(gc_param(&h, 1), gt(g, "beta", feat), (size_t)feat * sizeof(float));
    memcpy(gc_param(&h, 2), gt(g, "moving_mean", feat), (size_t)feat * sizeof(float));
    memcpy(gc_param(&h, 3), gt(g, "moving_variance", feat), (size_t)feat * sizeof(float));
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    assert_close(h.out.x, gt64(g, "y", n), (size_t)n, 1e-5, 1e-5, g->name);
    ck_assert_int_eq(gc_backward(&h, gt(g, "gy", n), 0), SEQNET_OK);
    assert_close(h.grad_in[0], gt64(g, "dx", n), (size_t)n, 1e-5, 1e-4, "bn dx");
    assert_close(gc_param_grad(&h, 0), gt64(g, "dgamma", feat), (size_t)feat, 1e-5, 1e-5,
                 "dgamma");
    assert_close(gc_param_grad(&h, 1), gt64(g, "dbeta", feat), (size_t)feat, 1e-5, 1e-5,
                 "dbeta");

    /* Moving statistics: torch's running_mean update is Keras's; torch's
     * running_var mixes in the unbiased variance, Keras the biased one:
     *   keras = m * v0 + (torch - m * v0) * (n - 1) / n. */
    sn_batchnorm_update_moving(&h.layer, h.params, h.scratch);
    mv0 = gt64(g, "moving_variance", feat);
    torch_rv = gt64(g, "torch_running_var", feat);
    for (j = 0; j < feat; j++)
        want_mv[j] = training ? momentum * mv0[j] +
                                    (torch_rv[j] - momentum * mv0[j]) * (double)(rows - 1) /
                                        (double)rows
                              : mv0[j];
    assert_close(gc_param(&h, 2), gt64(g, "torch_running_mean", feat), (size_t)feat, 1e-6,
                 1e-5, "moving_mean");
    assert_close(gc_param(&h, 3), want_mv, (size_t)feat, 1e-6, 1e-5, "moving_variance");
    free(want_mv);
    gc_free(&h);
}

static void golden_ln(const golden_case *g)
{
    int32_t batch = (int32_t)g->hdr[0], time = (int32_t)g->hdr[1], feat = (int32_t)g->hdr[2];
    long n = (long)batch * (time > 0 ? time : 1) * feat;
    sn_opts o;
    gc_harness h;
    gc_input in = {time > 0 ? gc_sequence(time, feat) : gc_vector(feat), time, NULL, NULL, NULL};

    in.x = gt(g, "x", n);
    gc_opts_init(&o);
    gc_opts_float(&o, SEQNET_OPT_EPSILON, g->hdr[3]);
    build_ok(&h, &sn_layer_normalization_ops, &o, &in, 1, batch, 1);
    memcpy(gc_param(&h, 0), gt(g, "gamma", feat), (size_t)feat * sizeof(float));
    memcpy(gc_param(&h, 1), gt(g, "beta", feat), (size_t)feat * sizeof(float));
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    assert_close(h.out.x, gt64(g, "y", n), (size_t)n, 1e-5, 1e-5, g->name);
    ck_assert_int_eq(gc_backward(&h, gt(g, "gy", n), 0), SEQNET_OK);
    assert_close(h.grad_in[0], gt64(g, "dx", n), (size_t)n, 1e-5, 1e-4, "ln dx");
    assert_close(gc_param_grad(&h, 0), gt64(g, "dgamma", feat), (size_t)feat, 1e-5, 1e-5,
                 "ln dgamma");
    assert_close(gc_param_grad(&h, 1), gt64(g, "dbeta", feat), (size_t)feat, 1e-5, 1e-5,
                 "ln dbeta");
    gc_free(&h);
}

START_TEST(golden_torch_conv1d_batchnorm_layernorm)
{
    FILE *fp = golden_open();
    golden_case g;
    char act[32];
    int n_conv = 0, n_bn = 0, n_ln = 0;
    int paddings_seen[3] = {0, 0, 0}, dilated = 0, strided = 0, bn_train = 0, bn_eval = 0;

    while (golden_next(fp, &g, act, sizeof act)) {
        if (strcmp(g.kind, "conv") == 0) {
            golden_conv(&g, act);
            paddings_seen[(int)g.hdr[6]]++;
            dilated += g.hdr[7] > 1;
            strided += g.hdr[5] > 1;
            n_conv++;
        } else if (strcmp(g.kind, "bn") == 0) {
            golden_bn(&g);
            bn_train += g.hdr[5] != 0;
            bn_eval += g.hdr[5] == 0;
            n_bn++;
        } else {
            ck_assert_str_eq(g.kind, "ln");
            golden_ln(&g);
            n_ln++;
        }
        golden_free(&g);
    }
    fclose(fp);
    /* The file covers what the issue asks for. */
    ck_assert_int_ge(n_conv, 15);
    ck_assert(paddings_seen[0] > 0 && paddings_seen[1] > 0 && paddings_seen[2] > 0);
    ck_assert(dilated >= 4 && strided >= 4);
    ck_assert(bn_train >= 2 && bn_eval >= 1 && n_bn == bn_train + bn_eval);
    ck_assert_int_ge(n_ln, 2);
}
END_TEST

/* ---- window pooling ----------------------------------------------------- */

static void pool_opts(sn_opts *o, int32_t pool, int32_t strides, int pad)
{
    gc_opts_init(o);
    gc_opts_int(o, SEQNET_OPT_POOL_SIZE, pool);
    if (strides > 0)
        gc_opts_int(o, SEQNET_OPT_STRIDES, strides);
    gc_opts_string(o, SEQNET_OPT_PADDING, PADDING_NAMES[pad]);
}

START_TEST(average_pooling_same_excludes_padding_from_the_count)
{
    const float x[5] = {1, 2, 3, 4, 5};
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_sequence(5, 1), 5, x, NULL, NULL};
    /* T=5, pool 2, stride 2, same: out 3, pad_total 1 on the right. */
    pool_opts(&o, 2, 0, SN_PAD_SAME);
    build_ok(&h, &sn_average_pooling1d_ops, &o, &in, 1, 1, 0);
    ck_assert_int_eq(h.out.time, 3);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    ck_assert_float_eq(h.out.x[0], 1.5f);
    ck_assert_float_eq(h.out.x[1], 3.5f);
    ck_assert_float_eq(h.out.x[2], 5.0f); /* 5 / 1, not 5 / 2 */
    gc_free(&h);
    /* Max over the same windows; strides default to pool_size. */
    build_ok(&h, &sn_max_pooling1d_ops, &o, &in, 1, 1, 0);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    ck_assert_float_eq(h.out.x[0], 2.0f);
    ck_assert_float_eq(h.out.x[1], 4.0f);
    ck_assert_float_eq(h.out.x[2], 5.0f);
    gc_free(&h);
    /* Valid drops the incomplete window. */
    pool_opts(&o, 2, 0, SN_PAD_VALID);
    build_ok(&h, &sn_max_pooling1d_ops, &o, &in, 1, 1, 0);
    ck_assert_int_eq(h.out.time, 2);
    gc_free(&h);
}
END_TEST

/* Reference window pooling in double. */
static void pool_reference(const float *x, int32_t batch, int32_t time, int32_t feat,
                           int32_t pool, int32_t s, int pad, int is_max, int32_t out_time,
                           double *y)
{
    int32_t left = 0, b, t, f, p;
    if (pad == SN_PAD_SAME) {
        int32_t total = (out_time - 1) * s + pool - time;
        left = total > 0 ? total / 2 : 0;
    }
    for (b = 0; b < batch; b++)
        for (t = 0; t < out_time; t++)
            for (f = 0; f < feat; f++) {
                double acc = is_max ? -INFINITY : 0.0;
                int n = 0;
                for (p = 0; p < pool; p++) {
                    int32_t src = t * s + p - left;
                    double v;
                    if (src < 0 || src >= time)
                        continue;
                    v = x[((size_t)b * time + src) * feat + f];
                    acc = is_max ? fmax(acc, v) : acc + v;
                    n++;
                }
                y[((size_t)b * out_time + t) * feat + f] = is_max ? acc : acc / n;
            }
}

START_TEST(window_pooling_matches_reference_and_gradcheck)
{
    /* _i: bit 0 max/avg, bit 1 valid/same, bits 2-3 the geometry. */
    static const int32_t geo[4][3] = {{2, 0, 9}, {3, 1, 8}, {3, 2, 10}, {4, 3, 11}};
    int is_max = _i & 1, pad = (_i >> 1) & 1;
    const int32_t *gm = geo[_i >> 2];
    int32_t time = gm[2], feat = 3, batch = 2;
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_sequence(time, feat), time, NULL, NULL, NULL};
    double *want;
    char label[96];

    snprintf(label, sizeof label, "%s pool=%d strides=%d %s T=%d", is_max ? "max" : "avg",
             (int)gm[0], (int)gm[1], PADDING_NAMES[pad], (int)time);
    pool_opts(&o, gm[0], gm[1], pad);
    build_ok(&h, is_max ? &sn_max_pooling1d_ops : &sn_average_pooling1d_ops, &o, &in, 1, batch,
             1);
    want = malloc(gc_out_size(&h) * sizeof *want);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    pool_reference(h.in_x[0], batch, time, feat, gm[0], gm[1] > 0 ? gm[1] : gm[0], pad, is_max,
                   h.out.time, want);
    assert_close(h.out.x, want, gc_out_size(&h), 1e-6, 1e-6, label);
    assert_gradcheck(&h, NULL, label);
    free(want);
    gc_free(&h);
}
END_TEST

/* ---- merges --------------------------------------------------------------- */

static const sn_layer_ops *merge_ops(int which)
{
    switch (which) {
    case 0: return &sn_concatenate_ops;
    case 1: return &sn_add_ops;
    case 2: return &sn_subtract_ops;
    case 3: return &sn_multiply_ops;
    default: return &sn_average_ops;
    }
}

START_TEST(merge_forward_and_gradcheck_each_layer)
{
    int which = _i % 5, vector = _i >= 5;
    int32_t n_in = which == 2 ? 2 : 3, i, batch = 2, time = 4;
    int32_t widths[3] = {3, which == 0 ? 2 : 3, which == 0 ? 4 : 3};
    gc_input in[3];
    sn_opts o;
    gc_harness h;
    size_t k, rows = (size_t)batch * (vector ? 1 : (size_t)time);
    double *want;

    for (i = 0; i < n_in; i++) {
        in[i].shape = vector ? gc_vector(widths[i]) : gc_sequence(time, widths[i]);
        in[i].time = time;
        in[i].x = NULL;
        in[i].ids = NULL;
        in[i].mask = NULL;
    }
    gc_opts_init(&o);
    build_ok(&h, merge_ops(which), &o, in, n_in, batch, 1);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    want = malloc(gc_out_size(&h) * sizeof *want);
    for (k = 0; k < rows; k++) {
        size_t width = (size_t)h.out.features, col = 0, f;
        if (which == 0) {
            for (i = 0; i < n_in; i++)
                for (f = 0; f < (size_t)widths[i]; f++)
                    want[k * width + col++] = h.in_x[i][k * (size_t)widths[i] + f];
            continue;
        }
        for (f = 0; f < width; f++) {
            double v = h.in_x[0][k * width + f];
            for (i = 1; i < n_in; i++) {
                double x = h.in_x[i][k * width + f];
                v = which == 2 ? v - x : which == 3 ? v * x : v + x;
            }
            want[k * width + f] = which == 4 ? v / n_in : v;
        }
    }
    assert_close(h.out.x, want, gc_out_size(&h), 1e-6, 1e-6, merge_ops(which)->class_name);
    assert_gradcheck(&h, NULL, merge_ops(which)->class_name);
    free(want);
    gc_free(&h);
}
END_TEST

START_TEST(merge_masks_are_anded_missing_masks_count_as_real)
{
    const uint8_t m0[2 * 4] = {1, 1, 1, 0, 1, 1, 0, 0};
    const uint8_t m2[2 * 4] = {0, 1, 1, 1, 1, 0, 1, 0};
    const uint8_t want[2 * 4] = {0, 1, 1, 0, 1, 0, 0, 0};
    int which;
    for (which = 0; which < 5; which++) {
        gc_input in[3] = {{gc_sequence(4, 2), 4, NULL, NULL, m0},
                          {gc_sequence(4, 2), 4, NULL, NULL, NULL},
                          {gc_sequence(4, 2), 4, NULL, NULL, m2}};
        int32_t n_in = which == 2 ? 2 : 3;
        gc_harness h;
        build_ok(&h, merge_ops(which), NULL, in, n_in, 2, 1);
        ck_assert_int_eq(h.out_shape.masked, 1);
        ck_assert_ptr_nonnull(h.out.mask);
        ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
        if (n_in == 3)
            ck_assert_mem_eq(h.out.mask, want, sizeof want);
        else
            ck_assert_mem_eq(h.out.mask, m0, sizeof m0);
        /* The loss ignores masked output steps; gradients still check. */
        assert_gradcheck(&h, NULL, merge_ops(which)->class_name);
        gc_free(&h);
    }
    {
        /* No masked input: no mask. */
        gc_input in[2] = {{gc_sequence(4, 2), 4, NULL, NULL, NULL},
                          {gc_sequence(4, 2), 4, NULL, NULL, NULL}};
        gc_harness h;
        build_ok(&h, &sn_add_ops, NULL, in, 2, 2, 0);
        ck_assert_int_eq(h.out_shape.masked, 0);
        ck_assert_ptr_null(h.out.mask);
        gc_free(&h);
    }
}
END_TEST

START_TEST(merge_shape_errors_name_the_layer)
{
    gc_harness h;
    gc_input a = {gc_sequence(4, 3), 4, NULL, NULL, NULL};
    gc_input in[3];
    sn_opts o;

    /* Element-wise merges need equal features. */
    in[0] = a;
    in[1] = a;
    in[1].shape = gc_sequence(4, 2);
    ck_assert_int_eq(gc_build(&h, &sn_add_ops, NULL, in, 2, 2, 0, 1), SEQNET_ESHAPE);
    ck_assert_msg(strstr(h.err.errmsg, "add_under_test") != NULL, "%s", h.err.errmsg);
    gc_free(&h);
    /* Concatenate needs equal times. */
    in[1].shape = gc_sequence(5, 2);
    in[1].time = 5;
    ck_assert_int_eq(gc_build(&h, &sn_concatenate_ops, NULL, in, 2, 2, 0, 1), SEQNET_ESHAPE);
    ck_assert_msg(strstr(h.err.errmsg, "concatenate_under_test") != NULL, "%s", h.err.errmsg);
    gc_free(&h);
    /* Vector and sequence do not mix. */
    in[1].shape = gc_vector(3);
    ck_assert_int_eq(gc_build(&h, &sn_multiply_ops, NULL, in, 2, 2, 0, 1), SEQNET_ESHAPE);
    gc_free(&h);
    /* Subtract takes exactly two inputs. */
    in[1] = a;
    in[2] = a;
    ck_assert_int_ne(gc_build(&h, &sn_subtract_ops, NULL, in, 3, 2, 0, 1), SEQNET_OK);
    gc_free(&h);
    /* Concatenate: the time axis is refused, the feature axis in both spellings works. */
    gc_opts_init(&o);
    gc_opts_int(&o, SEQNET_OPT_AXIS, 1);
    ck_assert_int_eq(gc_build(&h, &sn_concatenate_ops, &o, in, 2, 2, 0, 1), SEQNET_EINVAL);
    gc_free(&h);
    gc_opts_int(&o, SEQNET_OPT_AXIS, 2);
    ck_assert_int_eq(gc_build(&h, &sn_concatenate_ops, &o, in, 2, 2, 0, 1), SEQNET_OK);
    ck_assert_int_eq(h.out_shape.features, 6);
    gc_free(&h);
}
END_TEST

/* Add()([x, x]): the executor hands one buffer twice with accumulate 0. */
START_TEST(merge_same_node_twice_accumulates_its_gradient)
{
    int which;
    for (which = 0; which < 5; which++) {
        gc_input in[2] = {{gc_sequence(3, 2), 3, NULL, NULL, NULL},
                          {gc_sequence(3, 2), 3, NULL, NULL, NULL}};
        gc_harness h;
        sn_exec e;
        float dx[2 * 3 * 2], g[2 * 3 * 4];
        size_t k, n = 12;
        build_ok(&h, merge_ops(which), NULL, in, 2, 2, 1);
        memcpy(h.in_x[1], h.in_x[0], n * sizeof(float));
        ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
        fill_uniform(g, gc_out_size(&h), 1.0f, 5);
        memset(&e, 0, sizeof e);
        e.layer = &h.layer;
        e.n_inputs = 2;
        e.in[0] = &h.in[0];
        e.in[1] = &h.in[0]; /* the same tensor twice */
        e.out = &h.out;
        e.grad_out = g;
        e.grad_in[0] = dx;
        e.grad_in[1] = dx;
        e.err = &h.err;
        e.training = 1;
        fill_uniform(dx, n, 9.0f, 6); /* garbage: must be overwritten, then added */
        ck_assert_int_eq(h.layer.ops->backward(&e), SEQNET_OK);
        for (k = 0; k < n; k++) {
            double want, x = h.in_x[0][k];
            size_t r = k / 2, f = k % 2;
            switch (which) {
            case 0: want = g[r * 4 + f] + g[r * 4 + 2 + f]; break;
            case 1: want = 2.0 * g[k]; break;
            case 2: want = 0.0; break;
            case 3: want = 2.0 * g[k] * x; break;
            default: want = g[k]; break;
            }
            ck_assert_msg(fabs(dx[k] - want) <= 1e-6, "%s: dx[%zu] = %g, want %g",
                          merge_ops(which)->class_name, k, (double)dx[k], want);
        }
        gc_free(&h);
    }
}
END_TEST

/* ---- Highway ------------------------------------------------------------ */

START_TEST(highway_gradcheck_vectors_and_sequences)
{
    static const char *const acts[] = {"linear", "relu", "tanh", "gelu"};
    const char *act = acts[_i % 4];
    int vector = (_i / 4) % 2, use_bias = _i < 8;
    sn_opts o;
    gc_harness h;
    gc_input in = {vector ? gc_vector(5) : gc_sequence(4, 5), 4, NULL, NULL, NULL};
    char label[64];

    snprintf(label, sizeof label, "Highway(%s, %s, bias=%d)", act, vector ? "vector" : "sequence",
             use_bias);
    gc_opts_init(&o);
    gc_opts_string(&o, SEQNET_OPT_ACTIVATION, act);
    gc_opts_int(&o, SEQNET_OPT_USE_BIAS, use_bias);
    build_ok(&h, &sn_highway_ops, &o, &in, 1, 3, 1);
    ck_assert_int_eq(h.layer.n_params, use_bias ? 4 : 2);
    assert_gradcheck(&h, NULL, label);
    gc_free(&h);
}
END_TEST

START_TEST(highway_forward_is_gated_mix_and_gate_bias_defaults_to_minus_two)
{
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_sequence(3, 4), 3, NULL, NULL, NULL};
    double want[2 * 3 * 4];
    size_t r, j, i;
    const float *w, *b, *wt, *bt;

    gc_opts_init(&o);
    gc_opts_string(&o, SEQNET_OPT_ACTIVATION, "tanh");
    build_ok(&h, &sn_highway_ops, &o, &in, 1, 2, 0);
    ck_assert_str_eq(h.layer.params[0].name, "kernel");
    ck_assert_str_eq(h.layer.params[1].name, "bias");
    ck_assert_str_eq(h.layer.params[2].name, "transform_kernel");
    ck_assert_str_eq(h.layer.params[3].name, "transform_bias");
    ck_assert_int_eq(h.layer.params[3].init, SN_INIT_CONSTANT);
    ck_assert_float_eq(h.layer.params[3].init_value, -2.0f);
    ck_assert_int_eq(gc_param_count(&h), 2 * (16 + 4));
    w = gc_param(&h, 0);
    b = gc_param(&h, 1);
    wt = gc_param(&h, 2);
    bt = gc_param(&h, 3);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    for (r = 0; r < 6; r++)
        for (j = 0; j < 4; j++) {
            double zh = b[j], zt = bt[j], t, x = h.in_x[0][r * 4 + j];
            for (i = 0; i < 4; i++) {
                zh += (double)h.in_x[0][r * 4 + i] * w[i * 4 + j];
                zt += (double)h.in_x[0][r * 4 + i] * wt[i * 4 + j];
            }
            t = 1.0 / (1.0 + exp(-zt));
            want[r * 4 + j] = tanh(zh) * t + x * (1.0 - t);
        }
    assert_close(h.out.x, want, 24, 1e-6, 1e-5, "highway");
    gc_free(&h);

    gc_opts_float(&o, SEQNET_OPT_GATE_BIAS, -3.5);
    build_ok(&h, &sn_highway_ops, &o, &in, 1, 2, 0);
    ck_assert_float_eq(h.layer.params[3].init_value, -3.5f);
    gc_free(&h);
}
END_TEST

/* ---- BatchNormalization ------------------------------------------------- */

/* Moving variances must be positive (the harness fills (-0.5, 0.5)). */
static void bn_positive_moving_variance(gc_harness *h)
{
    float *mv = gc_param(h, h->layer.n_params - 1);
    int64_t j;
    for (j = 0; j < h->layer.params[h->layer.n_params - 1].count; j++)
        mv[j] = 0.3f + fabsf(mv[j]);
}

START_TEST(batchnorm_gradcheck_training_through_batch_statistics)
{
    /* _i: 0 sequence, 1 vector, 2 masked sequence, 3 no center/scale. */
    static const uint8_t mask[3 * 4] = {1, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1};
    sn_opts o;
    gc_harness h;
    gc_input in = {_i == 1 ? gc_vector(3) : gc_sequence(4, 3), 4, NULL, NULL,
                   _i == 2 ? mask : NULL};
    gc_options go;

    gc_opts_init(&o);
    if (_i == 3) {
        gc_opts_int(&o, SEQNET_OPT_CENTER, 0);
        gc_opts_int(&o, SEQNET_OPT_SCALE, 0);
    }
    build_ok(&h, &sn_batch_normalization_ops, &o, &in, 1, _i == 1 ? 6 : 3, 1);
    bn_positive_moving_variance(&h);
    gc_default_options(&go);
    go.rtol = 2e-2;
    assert_gradcheck(&h, &go, "BatchNormalization training");
    gc_free(&h);
}
END_TEST

START_TEST(batchnorm_inference_uses_moving_statistics_and_gradchecks)
{
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_sequence(3, 4), 3, NULL, NULL, NULL};
    double want[2 * 3 * 4];
    size_t r, j;
    const float *gamma, *beta, *mm, *mv;

    gc_opts_init(&o);
    gc_opts_float(&o, SEQNET_OPT_EPSILON, 0.01);
    build_ok(&h, &sn_batch_normalization_ops, &o, &in, 1, 2, 0);
    bn_positive_moving_variance(&h);
    gamma = gc_param(&h, 0);
    beta = gc_param(&h, 1);
    mm = gc_param(&h, 2);
    mv = gc_param(&h, 3);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    for (r = 0; r < 6; r++)
        for (j = 0; j < 4; j++)
            want[r * 4 + j] =
                gamma[j] * (h.in_x[0][r * 4 + j] - mm[j]) / sqrt(mv[j] + 0.01) + beta[j];
    assert_close(h.out.x, want, 24, 1e-6, 1e-5, "batchnorm inference");
    assert_gradcheck(&h, NULL, "BatchNormalization inference");
    /* An inference pass leaves the moving statistics alone. */
    {
        float before[8];
        memcpy(before, mm, 8 * sizeof(float));
        sn_batchnorm_update_moving(&h.layer, h.params, h.scratch);
        ck_assert_mem_eq(before, mm, 8 * sizeof(float));
    }
    gc_free(&h);
}
END_TEST

START_TEST(batchnorm_weights_in_keras_order_with_moving_stats_frozen)
{
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_sequence(0, 5), 3, NULL, NULL, NULL};
    static const char *const names[] = {"gamma", "beta", "moving_mean", "moving_variance"};
    static const int inits[] = {SN_INIT_ONES, SN_INIT_ZEROS, SN_INIT_ZEROS, SN_INIT_ONES};
    int p;

    build_ok(&h, &sn_batch_normalization_ops, NULL, &in, 1, 2, 1);
    ck_assert_int_eq(h.layer.n_params, 4);
    for (p = 0; p < 4; p++) {
        ck_assert_str_eq(h.layer.params[p].name, names[p]);
        ck_assert_int_eq(h.layer.params[p].init, inits[p]);
        ck_assert_int_eq(h.layer.params[p].trainable, p < 2);
        ck_assert_int_eq(h.layer.params[p].dims[0], 5);
    }
    gc_free(&h);
    gc_opts_init(&o);
    gc_opts_int(&o, SEQNET_OPT_CENTER, 0);
    build_ok(&h, &sn_batch_normalization_ops, &o, &in, 1, 2, 1);
    ck_assert_int_eq(h.layer.n_params, 3);
    ck_assert_str_eq(h.layer.params[0].name, "gamma");
    ck_assert_str_eq(h.layer.params[1].name, "moving_mean");
    gc_free(&h);
    /* Only the feature axis. */
    gc_opts_init(&o);
    gc_opts_int(&o, SEQNET_OPT_AXIS, 1);
    ck_assert_int_eq(gc_build(&h, &sn_batch_normalization_ops, &o, &in, 1, 2, 1, 1),
                     SEQNET_EINVAL);
    ck_assert_msg(strstr(h.err.errmsg, "batch_normalization_under_test") != NULL, "%s",
                  h.err.errmsg);
    gc_free(&h);
    gc_opts_init(&o);
    gc_opts_float(&o, SEQNET_OPT_MOMENTUM, 1.5);
    ck_assert_int_eq(gc_build(&h, &sn_batch_normalization_ops, &o, &in, 1, 2, 1, 1),
                     SEQNET_EINVAL);
    gc_free(&h);
}
END_TEST

START_TEST(batchnorm_masked_statistics_use_real_steps_only)
{
    /* One feature; masked steps hold huge values that must not count. */
    const float x[2 * 3] = {1.0f, 3.0f, 1000.0f, 5.0f, -1000.0f, 7.0f};
    const uint8_t mask[2 * 3] = {1, 1, 0, 1, 0, 1};
    gc_input in = {gc_sequence(3, 1), 3, x, NULL, mask};
    gc_harness h;
    sn_opts o;
    float mm, mv;

    gc_opts_init(&o);
    gc_opts_float(&o, SEQNET_OPT_MOMENTUM, 0.5);
    build_ok(&h, &sn_batch_normalization_ops, &o, &in, 1, 2, 1);
    gc_param(&h, 0)[0] = 1.0f; /* gamma */
    gc_param(&h, 1)[0] = 0.0f; /* beta */
    gc_param(&h, 2)[0] = 0.0f; /* moving mean */
    gc_param(&h, 3)[0] = 1.0f; /* moving variance */
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    /* Real values 1, 3, 5, 7: mean 4, biased variance 5. */
    ck_assert_double_eq_tol(h.out.x[0], (1.0 - 4.0) / sqrt(5.001), 1e-6);
    ck_assert_double_eq_tol(h.out.x[5], (7.0 - 4.0) / sqrt(5.001), 1e-6);
    sn_batchnorm_update_moving(&h.layer, h.params, h.scratch);
    mm = gc_param(&h, 2)[0];
    mv = gc_param(&h, 3)[0];
    ck_assert_double_eq_tol(mm, 0.5 * 0.0 + 0.5 * 4.0, 1e-6);
    ck_assert_double_eq_tol(mv, 0.5 * 1.0 + 0.5 * 5.0, 1e-6);
    gc_free(&h);
}
END_TEST

START_TEST(batchnorm_frozen_layer_runs_in_inference_mode)
{
    gc_input in = {gc_sequence(3, 2), 3, NULL, NULL, NULL};
    gc_harness h;
    float before[4], y_inference[12];
    build_ok(&h, &sn_batch_normalization_ops, NULL, &in, 1, 2, 0);
    bn_positive_moving_variance(&h);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    memcpy(y_inference, h.out.x, sizeof y_inference);
    h.training = 1;
    h.layer.trainable = 0; /* Keras 2/3: a frozen BatchNormalization uses moving stats */
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    ck_assert_mem_eq(y_inference, h.out.x, sizeof y_inference);
    memcpy(before, gc_param(&h, 2), sizeof before);
    sn_batchnorm_update_moving(&h.layer, h.params, h.scratch);
    ck_assert_mem_eq(before, gc_param(&h, 2), sizeof before);
    gc_free(&h);
}
END_TEST

/* ---- LayerNormalization ------------------------------------------------- */

START_TEST(layernorm_gradcheck_and_reference)
{
    /* _i: 0 sequence, 1 vector, 2 no center, 3 no scale, 4 masked sequence. */
    static const uint8_t mask[2 * 3] = {1, 0, 1, 1, 1, 0};
    sn_opts o;
    gc_harness h;
    gc_input in = {_i == 1 ? gc_vector(6) : gc_sequence(3, 6), 3, NULL, NULL,
                   _i == 4 ? mask : NULL};
    double want[2 * 3 * 6];
    size_t rows = _i == 1 ? 2 : 6, r, j;

    gc_opts_init(&o);
    if (_i == 2)
        gc_opts_int(&o, SEQNET_OPT_CENTER, 0);
    if (_i == 3)
        gc_opts_int(&o, SEQNET_OPT_SCALE, 0);
    build_ok(&h, &sn_layer_normalization_ops, &o, &in, 1, 2, 1);
    ck_assert_int_eq(h.layer.n_params, _i == 2 || _i == 3 ? 1 : 2);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    for (r = 0; r < rows; r++) {
        const float *x = h.in_x[0] + r * 6;
        double mean = 0, var = 0;
        for (j = 0; j < 6; j++)
            mean += x[j] / 6.0;
        for (j = 0; j < 6; j++)
            var += (x[j] - mean) * (x[j] - mean) / 6.0;
        for (j = 0; j < 6; j++) {
            double v = (x[j] - mean) / sqrt(var + 0.001);
            if (_i != 3)
                v *= gc_param(&h, 0)[j];
            if (_i != 2)
                v += gc_param(&h, _i == 3 ? 0 : 1)[j];
            want[r * 6 + j] = v;
        }
    }
    assert_close(h.out.x, want, rows * 6, 1e-5, 1e-5, "layernorm");
    assert_gradcheck(&h, NULL, "LayerNormalization");
    gc_free(&h);
}
END_TEST

/* ---- public API: counts, layouts, masks, the executor ---------------------- */

typedef struct api {
    seqnet_context *ctx;
    seqnet_graph *g;
    seqnet_options *o;
} api;

static void api_open(api *a)
{
    ck_assert_int_eq(seqnet_context_new(&a->ctx), SEQNET_OK);
    seqnet_context_set_seed(a->ctx, 7);
    ck_assert_int_eq(seqnet_graph_new(a->ctx, &a->g), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_new(a->ctx, &a->o), SEQNET_OK);
}

static void api_close(api *a)
{
    seqnet_options_free(a->o);
    seqnet_graph_free(a->g);
    seqnet_context_free(a->ctx);
}

static int32_t add(api *a, int kind, const int32_t *inputs, int32_t n)
{
    int32_t node = -1;
    int st = seqnet_graph_add(a->g, kind, a->o, inputs, n, NULL, &node);
    ck_assert_msg(st == SEQNET_OK, "add kind %d: %s", kind, seqnet_errmsg(a->g));
    seqnet_options_clear(a->o);
    return node;
}

static int32_t add1(api *a, int kind, int32_t input)
{
    return add(a, kind, &input, 1);
}

static int32_t conv(api *a, int32_t input, int32_t filters, int32_t k, const char *padding,
                    int32_t dilation, const char *act)
{
    seqnet_options_set_int(a->o, SEQNET_OPT_FILTERS, filters);
    seqnet_options_set_int(a->o, SEQNET_OPT_KERNEL_SIZE, k);
    seqnet_options_set_string(a->o, SEQNET_OPT_PADDING, padding);
    seqnet_options_set_int(a->o, SEQNET_OPT_DILATION_RATE, dilation);
    if (act != NULL)
        seqnet_options_set_string(a->o, SEQNET_OPT_ACTIVATION, act);
    return add1(a, SEQNET_LAYER_CONV1D, input);
}

static int32_t dense(api *a, int32_t input, int32_t units, const char *act)
{
    seqnet_options_set_int(a->o, SEQNET_OPT_UNITS, units);
    seqnet_options_set_string(a->o, SEQNET_OPT_ACTIVATION, act);
    return add1(a, SEQNET_LAYER_DENSE, input);
}

/* The course's inception model; returns its output node. */
static int32_t build_inception(api *a, int32_t time, int32_t vocab, int32_t *input)
{
    int32_t emb, branches[3], cat, x;
    int i;
    const int32_t kernels[3] = {3, 5, 7};
    ck_assert_int_eq(seqnet_graph_input_tokens(a->g, time, NULL, input), SEQNET_OK);
    seqnet_options_set_int(a->o, SEQNET_OPT_INPUT_DIM, vocab);
    seqnet_options_set_int(a->o, SEQNET_OPT_OUTPUT_DIM, 30);
    emb = add1(a, SEQNET_LAYER_EMBEDDING, *input);
    for (i = 0; i < 3; i++)
        branches[i] = add1(a, SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D,
                           conv(a, emb, 50, kernels[i], "same", 1, "relu"));
    cat = add(a, SEQNET_LAYER_CONCATENATE, branches, 3);
    seqnet_options_set_float(a->o, SEQNET_OPT_RATE, 0.3);
    x = add1(a, SEQNET_LAYER_DROPOUT, cat);
    x = dense(a, x, 50, "relu");
    seqnet_options_set_float(a->o, SEQNET_OPT_RATE, 0.3);
    x = add1(a, SEQNET_LAYER_DROPOUT, x);
    return dense(a, x, 1, "sigmoid");
}

START_TEST(inception_model_has_1899161_params_and_keras_kernel_layout)
{
    api a;
    int32_t in, out, layer, rank;
    int64_t trainable, frozen, dims[4], count;
    const char *name;
    seqnet_model *m;

    api_open(&a);
    out = build_inception(&a, 500, 62297, &in);
    ck_assert_int_eq(seqnet_graph_compile(a.g, &in, 1, &out, 1, &m), SEQNET_OK);
    ck_assert_int_eq(seqnet_model_count_params(m, &trainable, &frozen), 1899161);
    ck_assert_int_eq(trainable, 1899161);
    ck_assert_int_eq(frozen, 0);
    layer = seqnet_model_find_layer(m, "conv1d_2");
    ck_assert_int_ge(layer, 0);
    ck_assert_int_eq(seqnet_model_weight_info(m, layer, 0, &name, &rank, dims, &count),
                     SEQNET_OK);
    ck_assert_str_eq(name, "kernel");
    ck_assert_int_eq(rank, 3);
    ck_assert(dims[0] == 7 && dims[1] == 30 && dims[2] == 50 && count == 10500);
    seqnet_model_free(m);
    api_close(&a);
}
END_TEST

START_TEST(causal_dilated_stack_has_15681_params)
{
    api a;
    int32_t in, x, out, time, features;
    int d;
    seqnet_model *m;

    api_open(&a);
    ck_assert_int_eq(seqnet_graph_input_sequence(a.g, 128, 1, NULL, &in), SEQNET_OK);
    x = in;
    for (d = 1; d <= 8; d *= 2)
        x = conv(&a, x, 32, 5, "causal", d, "relu");
    out = dense(&a, x, 1, "linear"); /* per step, on the 32 features */
    ck_assert_int_eq(seqnet_graph_node_shape(a.g, out, &time, &features, NULL, NULL), SEQNET_OK);
    ck_assert_int_eq(time, 128);
    ck_assert_int_eq(features, 1);
    ck_assert_int_eq(seqnet_graph_compile(a.g, &in, 1, &out, 1, &m), SEQNET_OK);
    ck_assert_int_eq(seqnet_model_count_params(m, NULL, NULL), 15681);
    seqnet_model_free(m);
    api_close(&a);
}
END_TEST

START_TEST(masked_embedding_into_conv1d_or_pooling_is_refused_naming_the_layer)
{
    static const int kinds[] = {SEQNET_LAYER_CONV1D, SEQNET_LAYER_MAX_POOLING1D,
                                SEQNET_LAYER_AVERAGE_POOLING1D};
    size_t i;
    for (i = 0; i < 3; i++) {
        api a;
        int32_t in, emb, node = -1;
        int st;
        api_open(&a);
        ck_assert_int_eq(seqnet_graph_input_tokens(a.g, 0, NULL, &in), SEQNET_OK);
        seqnet_options_set_int(a.o, SEQNET_OPT_INPUT_DIM, 100);
        seqnet_options_set_int(a.o, SEQNET_OPT_OUTPUT_DIM, 8);
        seqnet_options_set_int(a.o, SEQNET_OPT_MASK_ZERO, 1);
        emb = add1(&a, SEQNET_LAYER_EMBEDDING, in);
        if (kinds[i] == SEQNET_LAYER_CONV1D) {
            seqnet_options_set_int(a.o, SEQNET_OPT_FILTERS, 4);
            seqnet_options_set_int(a.o, SEQNET_OPT_KERNEL_SIZE, 3);
        }
        st = seqnet_graph_add(a.g, kinds[i], a.o, &emb, 1, "refuses_masks", &node);
        ck_assert_int_eq(st, SEQNET_ESHAPE);
        ck_assert_msg(strstr(seqnet_errmsg(a.g), "refuses_masks") != NULL &&
                          strstr(seqnet_errmsg(a.g), "mask") != NULL,
                      "%s", seqnet_errmsg(a.g));
        api_close(&a);
    }
}
END_TEST

START_TEST(masks_flow_through_merges_highway_and_normalizations)
{
    api a;
    int32_t in, emb, plain, cat, x;
    int masked = 0;
    api_open(&a);
    ck_assert_int_eq(seqnet_graph_input_tokens(a.g, 0, NULL, &in), SEQNET_OK);
    seqnet_options_set_int(a.o, SEQNET_OPT_INPUT_DIM, 100);
    seqnet_options_set_int(a.o, SEQNET_OPT_OUTPUT_DIM, 8);
    seqnet_options_set_int(a.o, SEQNET_OPT_MASK_ZERO, 1);
    emb = add1(&a, SEQNET_LAYER_EMBEDDING, in);
    seqnet_options_set_int(a.o, SEQNET_OPT_INPUT_DIM, 100);
    seqnet_options_set_int(a.o, SEQNET_OPT_OUTPUT_DIM, 8);
    plain = add1(&a, SEQNET_LAYER_EMBEDDING, in);
    {
        int32_t pair[2] = {plain, emb}; /* the mask is on input 1 */
        cat = add(&a, SEQNET_LAYER_CONCATENATE, pair, 2);
    }
    ck_assert_int_eq(seqnet_graph_node_shape(a.g, cat, NULL, NULL, NULL, &masked), SEQNET_OK);
    ck_assert_int_eq(masked, 1);
    x = add1(&a, SEQNET_LAYER_HIGHWAY, cat);
    x = add1(&a, SEQNET_LAYER_BATCH_NORMALIZATION, x);
    x = add1(&a, SEQNET_LAYER_LAYER_NORMALIZATION, x);
    ck_assert_int_eq(seqnet_graph_node_shape(a.g, x, NULL, NULL, NULL, &masked), SEQNET_OK);
    ck_assert_int_eq(masked, 1);
    api_close(&a);
}
END_TEST

/* Kernel of the l-th Conv1D ("conv1d", "conv1d_1", ...) into dst; its count. */
static int64_t read_kernel(seqnet_model *m, int l, float *dst)
{
    char name[16];
    int64_t count = 0;
    int32_t layer;
    snprintf(name, sizeof name, l == 0 ? "conv1d" : "conv1d_%d", l);
    layer = seqnet_model_find_layer(m, name);
    ck_assert_int_ge(layer, 0);
    ck_assert_int_eq(seqnet_model_weight_info(m, layer, 0, NULL, NULL, NULL, &count), SEQNET_OK);
    ck_assert_int_le(count, 10500);
    ck_assert_int_eq(seqnet_model_get_weight(m, layer, 0, dst, count), SEQNET_OK);
    return count;
}

/* The executor runs the new layers end to end: the inception model (small
 * vocabulary) predicts, and one training step changes every conv kernel. */
START_TEST(inception_model_predicts_and_trains_through_the_executor)
{
    enum { B = 4, T = 12, V = 50 };
    api a;
    int32_t in, out, ids[B * T], k, l;
    float y[B], targets[B] = {0, 1, 0, 1};
    static float before[3][10500], after[10500];
    seqnet_model *m;
    seqnet_session *s;
    seqnet_trainer *t;
    seqnet_data *d;
    double loss = -1;
    sn_rng r;

    api_open(&a);
    out = build_inception(&a, T, V, &in);
    ck_assert_int_eq(seqnet_graph_compile(a.g, &in, 1, &out, 1, &m), SEQNET_OK);
    sn_rng_seed(&r, 3);
    for (k = 0; k < B * T; k++)
        ids[k] = (int32_t)sn_rng_below(&r, V);
    ck_assert_int_eq(seqnet_session_new(m, &s), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_set_input_tokens(s, 0, ids, B, T), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_run(s), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_get_output(s, 0, y, B), SEQNET_OK);
    for (k = 0; k < B; k++)
        ck_assert(y[k] > 0.0f && y[k] < 1.0f);
    seqnet_session_free(s);

    for (l = 0; l < 3; l++)
        read_kernel(m, l, before[l]);
    ck_assert_int_eq(seqnet_trainer_new(m, &t), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_loss(t, 0, SEQNET_LOSS_BINARY_CROSSENTROPY), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_optimizer(t, SEQNET_OPTIMIZER_ADAM), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_new(a.ctx, &d), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_tokens(d, 0, ids, B, T), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_targets(d, 0, targets, B, 0, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_train_batch(t, d, &loss), SEQNET_OK);
    ck_assert(isfinite(loss) && loss > 0);
    for (l = 0; l < 3; l++) {
        int64_t n = read_kernel(m, l, after);
        ck_assert_msg(memcmp(before[l], after, (size_t)n * sizeof(float)) != 0,
                      "conv kernel %d did not train", (int)l);
    }
    seqnet_data_free(d);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
    api_close(&a);
}
END_TEST

/* A residual block with BatchNormalization and LayerNormalization trains
 * through the executor: x -> Conv1D(same) -> BN -> Add([x, .]) -> Highway
 * -> LayerNormalization -> GlobalMaxPooling1D -> Dense. The gradient of x
 * arrives from two consumers; the moving statistics are not touched by the
 * optimizer (non-trainable). */
START_TEST(residual_block_with_normalizations_trains_through_the_executor)
{
    enum { B = 6, T = 8, F = 4 };
    api a;
    int32_t in, x, c, bn, res, out, bn_layer;
    float xs[B * T * F], targets[B], gamma0[F], gamma1[F], mm1[F];
    seqnet_model *m;
    seqnet_trainer *t;
    seqnet_data *d;
    double loss = -1;
    int k;

    api_open(&a);
    ck_assert_int_eq(seqnet_graph_input_sequence(a.g, T, F, NULL, &in), SEQNET_OK);
    c = conv(&a, in, F, 3, "same", 1, "relu");
    bn = add1(&a, SEQNET_LAYER_BATCH_NORMALIZATION, c);
    {
        int32_t pair[2] = {in, bn};
        res = add(&a, SEQNET_LAYER_ADD, pair, 2);
    }
    seqnet_options_set_string(a.o, SEQNET_OPT_ACTIVATION, "tanh");
    x = add1(&a, SEQNET_LAYER_HIGHWAY, res);
    x = add1(&a, SEQNET_LAYER_LAYER_NORMALIZATION, x);
    x = add1(&a, SEQNET_LAYER_GLOBAL_MAX_POOLING1D, x);
    out = dense(&a, x, 1, "sigmoid");
    ck_assert_int_eq(seqnet_graph_compile(a.g, &in, 1, &out, 1, &m), SEQNET_OK);
    ck_assert_int_eq(seqnet_model_count_params(m, NULL, NULL),
                     (3 * F * F + F) + 4 * F + 2 * (F * F + F) + 2 * F + (F + 1));
    fill_uniform(xs, B * T * F, 1.0f, 11);
    for (k = 0; k < B; k++)
        targets[k] = (float)(k % 2);
    bn_layer = seqnet_model_find_layer(m, "batch_normalization");
    ck_assert_int_ge(bn_layer, 0);
    ck_assert_int_eq(seqnet_model_get_weight(m, bn_layer, 0, gamma0, F), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_new(m, &t), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_loss(t, 0, SEQNET_LOSS_BINARY_CROSSENTROPY), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_optimizer(t, SEQNET_OPTIMIZER_ADAM), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_new(a.ctx, &d), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_floats(d, 0, xs, B, T, F), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_targets(d, 0, targets, B, 0, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_train_batch(t, d, &loss), SEQNET_OK);
    ck_assert(isfinite(loss) && loss > 0);
    ck_assert_int_eq(seqnet_model_get_weight(m, bn_layer, 0, gamma1, F), SEQNET_OK);
    ck_assert_int_eq(seqnet_model_get_weight(m, bn_layer, 2, mm1, F), SEQNET_OK);
    ck_assert_msg(memcmp(gamma0, gamma1, sizeof gamma0) != 0, "gamma did not train");
    for (k = 0; k < F; k++)
        ck_assert(isfinite(mm1[k]));
    seqnet_data_free(d);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
    api_close(&a);
}
END_TEST

/* The trainer's moving-average hook (the layer's after_step, called after
 * each optimizer step). Input -> BN(momentum 0.5) -> Dense: after
 * one step moving_mean = 0.5 * 0 + 0.5 * batch mean, moving_variance =
 * 0.5 * 1 + 0.5 * biased batch variance. */
START_TEST(trainer_updates_batchnorm_moving_statistics)
{
    enum { B = 5, F = 3 };
    api a;
    int32_t in, bn, out, layer;
    float xs[B * F], targets[B] = {0, 1, 0, 1, 1}, mm[F], mv[F];
    seqnet_model *m;
    seqnet_trainer *t;
    seqnet_data *d;
    int j, r;

    api_open(&a);
    ck_assert_int_eq(seqnet_graph_input_vector(a.g, F, NULL, &in), SEQNET_OK);
    seqnet_options_set_float(a.o, SEQNET_OPT_MOMENTUM, 0.5);
    bn = add1(&a, SEQNET_LAYER_BATCH_NORMALIZATION, in);
    out = dense(&a, bn, 1, "sigmoid");
    ck_assert_int_eq(seqnet_graph_compile(a.g, &in, 1, &out, 1, &m), SEQNET_OK);
    fill_uniform(xs, B * F, 2.0f, 12);
    ck_assert_int_eq(seqnet_trainer_new(m, &t), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_loss(t, 0, SEQNET_LOSS_BINARY_CROSSENTROPY), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_new(a.ctx, &d), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_floats(d, 0, xs, B, 0, F), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_targets(d, 0, targets, B, 0, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_train_batch(t, d, NULL), SEQNET_OK);
    layer = seqnet_model_find_layer(m, "batch_normalization");
    ck_assert_int_eq(seqnet_model_get_weight(m, layer, 2, mm, F), SEQNET_OK);
    ck_assert_int_eq(seqnet_model_get_weight(m, layer, 3, mv, F), SEQNET_OK);
    for (j = 0; j < F; j++) {
        double mean = 0, var = 0;
        for (r = 0; r < B; r++)
            mean += xs[r * F + j] / (double)B;
        for (r = 0; r < B; r++)
            var += (xs[r * F + j] - mean) * (xs[r * F + j] - mean) / (double)B;
        ck_assert_double_eq_tol(mm[j], 0.5 * mean, 1e-6);
        ck_assert_double_eq_tol(mv[j], 0.5 + 0.5 * var, 1e-6);
    }
    seqnet_data_free(d);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
    api_close(&a);
}
END_TEST

/* ---- Conv1D: minimal filtering (conv_winograd.c) ------------------------- */

/* The float matrices of F(m, r), applied in double, give the correlation
 * y[o] = sum_j d[o + j] w[j] of random tiles; the symmetric form the
 * transforms use is read off the same matrices. */
START_TEST(winograd_matrices_compute_the_correlation)
{
    sn_wino w;
    int r, trial, p;
    ck_assert_int_eq(sn_wino_init(&w, 1, 8, 8, 16), -1);
    ck_assert_int_eq(sn_wino_init(&w, SN_WINO_MAX_R + 1, 8, 8, 16), -1);
    ck_assert_int_eq(sn_wino_init(&w, 3, 7, 8, 16), -1);
    ck_assert_int_eq(sn_wino_init(&w, 3, 8, 7, 16), -1);
    for (r = 2; r <= SN_WINO_MAX_R; r++) {
        int nn = sn_wino_points(r);
        ck_assert_int_eq(sn_wino_init(&w, r, 30, 50, 16), 0);
        ck_assert_int_eq(w.nn, nn);
        ck_assert_int_eq(w.m, nn + 1 - r);
        for (trial = 0; trial < 20; trial++) {
            float d[SN_WINO_MAX_N], g[SN_WINO_MAX_R];
            double gg[SN_WINO_MAX_N], bd[SN_WINO_MAX_N];
            int l, j, o;
            fill_uniform(d, (size_t)nn, 1.0f, 100u + (uint64_t)(r * 50 + trial));
            fill_uniform(g, (size_t)r, 1.0f, 900u + (uint64_t)(r * 50 + trial));
            for (l = 0; l < nn; l++) {
                gg[l] = bd[l] = 0.0;
                for (j = 0; j < r; j++)
                    gg[l] += (double)w.g[l][j] * g[j];
                for (p = 0; p < nn; p++)
                    bd[l] += (double)w.bt[l][p] * d[p];
            }
            for (o = 0; o < w.m; o++) {
                double got = 0.0, want = 0.0;
                for (l = 0; l < nn; l++)
                    got += (double)w.at[o][l] * gg[l] * bd[l];
                for (j = 0; j < r; j++)
                    want += (double)d[o + j] * g[j];
                ck_assert_msg(fabs(got - want) <= 2e-6 * (1.0 + fabs(want)),
                              "F(%d,%d) output %d: %.9g, expected %.9g", w.m, r, o, got, want);
            }
        }
        for (p = 0; p < nn / 2; p++) {
            int k;
            /* exact zeros and equal magnitudes, up to the rounding of
             * the inverse in double */
            ck_assert(fabsf(w.bt[0][2 * p + 1]) < 1e-7f && fabsf(w.bt[nn - 1][2 * p]) < 1e-7f);
            for (k = 0; k < w.pairs; k++) {
                ck_assert(fabsf(w.bt[1 + 2 * k][2 * p] - w.bt[2 + 2 * k][2 * p]) < 1e-7f);
                ck_assert(fabsf(w.bt[1 + 2 * k][2 * p + 1] + w.bt[2 + 2 * k][2 * p + 1]) < 1e-7f);
            }
        }
    }
}
END_TEST

/* The chunk products run in an AVX2/FMA kernel where the CPU has them and
 * through sn_gemm elsewhere: both must agree (forced here on one machine). */
START_TEST(winograd_products_agree_with_and_without_the_fma_kernel)
{
    static const int taps[] = {3, 5, 7};
    const size_t f = 13, n = 21, tiles = 40, chunk = 16;
    size_t t;
    for (t = 0; t < 3; t++) {
        sn_wino w[2];
        size_t vs, us, ms, rows, i, c, k;
        float *x, *kern, *dy, *v, *vt, *u, *mo, *du, *y[2], *dv[2], *dx[2];
        const float **xr;
        float **dxr;
        int which;
        ck_assert_int_eq(sn_wino_init(&w[0], taps[t], f, n, chunk), 0);
        ck_assert_int_eq(sn_wino_init(&w[1], taps[t], f, n, chunk), 0);
        w[1].fast = 0;
        sn_wino_sizes(&w[0], &vs, &us, &ms);
        rows = tiles * (size_t)w[0].m + (size_t)w[0].nn;
        x = malloc(rows * f * sizeof *x);
        kern = malloc((size_t)taps[t] * f * n * sizeof *kern);
        dy = malloc(rows * n * sizeof *dy);
        v = malloc(vs * sizeof *v);
        vt = malloc(vs * sizeof *vt);
        u = malloc(us * sizeof *u);
        du = malloc(us * sizeof *du);
        mo = malloc(ms * sizeof *mo);
        xr = malloc(tiles * sizeof *xr);
        dxr = malloc(tiles * sizeof *dxr);
        fill_uniform(x, rows * f, 1.0f, 5);
        fill_uniform(kern, (size_t)taps[t] * f * n, 0.3f, 6);
        fill_uniform(dy, rows * n, 1.0f, 7);
        for (which = 0; which < 2; which++) {
            y[which] = calloc(rows * n, sizeof(float));
            dv[which] = malloc(vs * sizeof(float));
            dx[which] = calloc(rows * f, sizeof(float));
            for (c = 0; c < tiles; c++) {
                xr[c] = x + c * (size_t)w[which].m * f;
                dxr[c] = dx[which] + c * (size_t)w[which].m * f;
            }
            sn_wino_kernel(&w[which], kern, v, vt);
            for (c = 0; c < tiles; c += chunk) {
                size_t nc = tiles - c < chunk ? tiles - c : chunk;
                sn_wino_forward(&w[which], xr + c, v, nc, y[which] + c * (size_t)w[which].m * n,
                                u, mo);
            }
            sn_wino_clear_pads(&w[which], mo);
            for (c = 0; c < tiles; c += chunk) {
                size_t nc = tiles - c < chunk ? tiles - c : chunk;
                sn_wino_backward(&w[which], xr + c, vt, dy + c * (size_t)w[which].m * n, nc,
                                 dv[which], c > 0, dxr + c, u, mo, du);
            }
        }
        for (i = 0; i < tiles * (size_t)w[0].m * n; i++)
            ck_assert_msg(fabsf(y[0][i] - y[1][i]) <= 1e-5f * (1.0f + fabsf(y[1][i])),
                          "r=%d y[%zu]: %.8g vs %.8g", taps[t], i, (double)y[0][i],
                          (double)y[1][i]);
        for (i = 0; i < rows * f; i++)
            ck_assert_msg(fabsf(dx[0][i] - dx[1][i]) <= 1e-5f * (1.0f + fabsf(dx[1][i])),
                          "r=%d dx[%zu]", taps[t], i);
        for (k = 0; k < (size_t)w[0].nn; k++)
            for (i = 0; i < f; i++)
                for (c = 0; c < n; c++) {
                    float a = dv[0][k * f * w[0].n8 + i * w[0].n8 + c];
                    float b = dv[1][k * f * w[0].n8 + i * w[0].n8 + c];
                    ck_assert_msg(fabsf(a - b) <= 1e-4f * (1.0f + fabsf(b)), "r=%d dv", taps[t]);
                }
        for (which = 0; which < 2; which++) {
            free(y[which]);
            free(dv[which]);
            free(dx[which]);
        }
        free(x);
        free(kern);
        free(dy);
        free(v);
        free(vt);
        free(u);
        free(du);
        free(mo);
        free(xr);
        free(dxr);
    }
}
END_TEST

/* Cases large enough for minimal filtering (at least 8 features and
 * filters, 32 tiles): every kernel size it takes, every padding, widths
 * that are and are not multiples of 8, with and without bias. */
typedef struct wino_case {
    int32_t time, feat, filters, k;
    int pad, use_bias;
    const char *act;
} wino_case;

static const wino_case WINO_CASES[] = {
    {97, 9, 10, 2, SN_PAD_VALID, 1, "linear"},
    {97, 30, 50, 3, SN_PAD_SAME, 1, "relu"},
    {120, 8, 8, 3, SN_PAD_VALID, 0, "linear"},
    {90, 16, 13, 4, SN_PAD_CAUSAL, 1, "tanh"},
    {101, 30, 50, 5, SN_PAD_SAME, 1, "linear"},
    {95, 12, 17, 5, SN_PAD_VALID, 1, "sigmoid"},
    {110, 11, 9, 6, SN_PAD_SAME, 0, "linear"},
    {97, 30, 50, 7, SN_PAD_SAME, 1, "relu"},
    {130, 20, 24, 7, SN_PAD_CAUSAL, 1, "linear"},
    {105, 17, 8, 7, SN_PAD_VALID, 0, "linear"},
    {100, 10, 12, 3, SN_PAD_SAME, 1, "gelu"},
    {99, 9, 16, 7, SN_PAD_CAUSAL, 1, "sigmoid"},
};
#define N_WINO_CASES ((int)(sizeof WINO_CASES / sizeof WINO_CASES[0]))

/* Gradients of Conv1D in double from the definition: dW, db and dX for
 * dy, the gradient of the pre-activations. */
static void conv_backward_reference(const float *x, const float *w, const double *dy,
                                    int32_t batch, int32_t time, int32_t feat, int32_t filters,
                                    int32_t k, int pad, int32_t out_time, double *dw, double *db,
                                    double *dx)
{
    int32_t left = 0, bb, t, j, f, o;
    if (pad == SN_PAD_CAUSAL)
        left = k - 1;
    else if (pad == SN_PAD_SAME) {
        int32_t total = out_time - 1 + k - time;
        left = total > 0 ? total / 2 : 0;
    }
    memset(dw, 0, (size_t)k * feat * filters * sizeof *dw);
    memset(db, 0, (size_t)filters * sizeof *db);
    memset(dx, 0, (size_t)batch * time * feat * sizeof *dx);
    for (bb = 0; bb < batch; bb++)
        for (t = 0; t < out_time; t++)
            for (o = 0; o < filters; o++) {
                double g = dy[((size_t)bb * out_time + t) * filters + o];
                db[o] += g;
                if (g == 0.0)
                    continue;
                for (j = 0; j < k; j++) {
                    int32_t src = t + j - left;
                    if (src < 0 || src >= time)
                        continue;
                    for (f = 0; f < feat; f++) {
                        size_t xi = ((size_t)bb * time + src) * feat + f;
                        size_t wi = ((size_t)j * feat + f) * filters + o;
                        dw[wi] += (double)x[xi] * g;
                        dx[xi] += (double)w[wi] * g;
                    }
                }
            }
}

static double max_abs(const double *x, size_t n)
{
    double m = 0.0;
    size_t k;
    for (k = 0; k < n; k++)
        if (fabs(x[k]) > m)
            m = fabs(x[k]);
    return m;
}

START_TEST(conv1d_minimal_filtering_matches_the_definition)
{
    const wino_case *c = &WINO_CASES[_i];
    const int32_t batch = 3;
    sn_opts o;
    gc_harness h;
    gc_input in = {gc_sequence(c->time, c->feat), c->time, NULL, NULL, NULL};
    int act = sn_act_from_name(c->act);
    double *want, *dw, *db, *dx;
    float *dy, *dx_before;
    size_t n_out, n_in, n_w, rows;
    char label[160];
    int accumulate;

    snprintf(label, sizeof label, "Conv1D(T=%d F=%d filters=%d k=%d %s bias=%d %s)",
             (int)c->time, (int)c->feat, (int)c->filters, (int)c->k, PADDING_NAMES[c->pad],
             c->use_bias, c->act);
    conv_opts(&o, c->filters, c->k, 1, c->pad, 1, c->use_bias, c->act);
    build_ok(&h, &sn_conv1d_ops, &o, &in, 1, batch, 1);
    /* The case really takes the minimal-filtering path for most rows. */
    rows = sn_conv1d_wino_rows(&h.layer, batch, c->time, c->feat);
    ck_assert_msg(rows >= (size_t)batch * h.out.time * 3 / 4, "%s: %zu rows", label, rows);

    n_out = gc_out_size(&h);
    n_in = (size_t)batch * c->time * c->feat;
    n_w = (size_t)c->k * c->feat * c->filters;
    if (c->use_bias)
        fill_uniform(gc_param(&h, 1), (size_t)c->filters, 0.5f, 77);
    want = malloc(n_out * sizeof *want);
    ck_assert_int_eq(gc_forward(&h), SEQNET_OK);
    conv_reference(h.in_x[0], gc_param(&h, 0), c->use_bias ? gc_param(&h, 1) : NULL, batch,
                   c->time, c->feat, c->filters, c->k, 1, c->pad, 1, act, h.out.time, want);
    /* float32 error of the transforms: about 1e-6 of the largest output
     * with 8 points, 5e-6 with 10 (5 taps and more) */
    if (act <= SN_ACT_TANH || act == SN_ACT_GELU)
        assert_close(h.out.x, want, n_out, 1e-5 * (1.0 + max_abs(want, n_out)), 1e-5, label);

    /* Backward against the definition, through the activation's derivative
     * at the pre-activation (relu left out: a pre-activation within
     * rounding of 0 could take either side); the input gradient is checked
     * both written and added to what is there. */
    if (act != SN_ACT_RELU) {
        double *z = malloc(n_out * sizeof *z), *dz = malloc(n_out * sizeof *dz);
        size_t q;
        dy = malloc(n_out * sizeof *dy);
        dx_before = malloc(n_in * sizeof *dx_before);
        dw = malloc(n_w * sizeof *dw);
        db = malloc((size_t)c->filters * sizeof *db);
        dx = malloc(n_in * sizeof *dx);
        fill_uniform(dy, n_out, 1.0f, 4242u + (uint64_t)_i);
        conv_reference(h.in_x[0], gc_param(&h, 0), c->use_bias ? gc_param(&h, 1) : NULL, batch,
                       c->time, c->feat, c->filters, c->k, 1, c->pad, 1, SN_ACT_LINEAR,
                       h.out.time, z);
        for (q = 0; q < n_out; q++) {
            double v = z[q], d = 1.0;
            if (act == SN_ACT_TANH)
                d = 1.0 - tanh(v) * tanh(v);
            else if (act == SN_ACT_SIGMOID)
                d = 1.0 / (1.0 + exp(-v)) * (1.0 - 1.0 / (1.0 + exp(-v)));
            else if (act == SN_ACT_GELU)
                d = 0.5 * (1.0 + erf(v / sqrt(2.0))) + v * exp(-0.5 * v * v) / sqrt(2.0 * 3.14159265358979323846);
            dz[q] = dy[q] * d;
        }
        conv_backward_reference(h.in_x[0], gc_param(&h, 0), dz, batch, c->time, c->feat,
                                c->filters, c->k, c->pad, h.out.time, dw, db, dx);
        for (accumulate = 0; accumulate < 2; accumulate++) {
            fill_uniform(dx_before, n_in, 1.0f, 99);
            memcpy(h.grad_in[0], dx_before, n_in * sizeof *dx_before);
            ck_assert_int_eq(gc_backward(&h, dy, accumulate), SEQNET_OK);
            /* dW sums hundreds of rows through the transforms: its error
             * is a few 1e-6 of its largest entry (the tap GEMMs: about
             * 1e-6) */
            assert_close(gc_param_grad(&h, 0), dw, n_w, 1e-5 * (1.0 + max_abs(dw, n_w)), 1e-5,
                         label);
            if (c->use_bias)
                assert_close(gc_param_grad(&h, 1), db, (size_t)c->filters,
                             1e-5 * (1.0 + max_abs(db, (size_t)c->filters)), 1e-5, label);
            for (q = 0; q < n_in; q++) {
                double expect = dx[q] + (accumulate ? dx_before[q] : 0.0);
                ck_assert_msg(fabs(h.grad_in[0][q] - expect) <=
                                  1e-5 * (1.0 + max_abs(dx, n_in)) + 1e-5 * fabs(expect),
                              "%s: dX[%zu] = %.8g, expected %.8g (accumulate %d)", label, q,
                              (double)h.grad_in[0][q], expect, accumulate);
            }
        }
        free(z);
        free(dz);
        free(dy);
        free(dx_before);
        free(dw);
        free(db);
        free(dx);
    }
    free(want);
    gc_free(&h);
}
END_TEST

/* The same layer below the size threshold keeps the tap GEMMs, and where
 * both paths run they agree to float rounding. */
START_TEST(conv1d_minimal_filtering_and_taps_agree)
{
    sn_opts o;
    gc_harness big, small;
    gc_input in_big = {gc_sequence(200, 30), 200, NULL, NULL, NULL};
    gc_input in_small = {gc_sequence(200, 30), 200, NULL, NULL, NULL};
    size_t n, q;
    conv_opts(&o, 50, 5, 1, SN_PAD_SAME, 1, 1, "linear");
    build_ok(&big, &sn_conv1d_ops, &o, &in_big, 1, 2, 0);
    ck_assert_uint_gt(sn_conv1d_wino_rows(&big.layer, 2, 200, 30), 0);
    /* one sample of the same input: 50 tiles of 4 rows is above the
     * threshold too, so compare with a batch of 1 at 40 steps instead */
    conv_opts(&o, 50, 5, 1, SN_PAD_SAME, 1, 1, "linear");
    in_small.shape = gc_sequence(40, 30);
    in_small.time = 40;
    build_ok(&small, &sn_conv1d_ops, &o, &in_small, 1, 1, 0);
    ck_assert_uint_eq(sn_conv1d_wino_rows(&small.layer, 1, 40, 30), 0);
    /* same weights, and the small input is the first 40 steps of sample 0 */
    memcpy(gc_param(&small, 0), gc_param(&big, 0), 5 * 30 * 50 * sizeof(float));
    memcpy(gc_param(&small, 1), gc_param(&big, 1), 50 * sizeof(float));
    memcpy(small.in_x[0], big.in_x[0], 40 * 30 * sizeof(float));
    /* steps 40.. of sample 0 are zeros in both, so the first 38 outputs
     * (whose windows end before step 40) must agree */
    ck_assert_int_eq(gc_forward(&big), SEQNET_OK);
    ck_assert_int_eq(gc_forward(&small), SEQNET_OK);
    n = 38 * 50;
    {
        float top = 0.0f;
        for (q = 0; q < n; q++)
            top = fabsf(small.out.x[q]) > top ? fabsf(small.out.x[q]) : top;
        for (q = 0; q < n; q++)
            ck_assert_msg(fabsf(big.out.x[q] - small.out.x[q]) <= 1e-5f * (1.0f + top),
                          "output %zu: %.8g (minimal filtering) vs %.8g (taps)", q,
                          (double)big.out.x[q], (double)small.out.x[q]);
    }
    gc_free(&big);
    gc_free(&small);
}
END_TEST

/* ---- the suite ------------------------------------------------------------ */

static Suite *conv_suite(void)
{
    Suite *s = suite_create("conv");
    TCase *tc = tcase_create("conv1d");
    tcase_add_test(tc, conv1d_output_length_matches_keras_for_every_padding);
    tcase_add_test(tc, conv1d_same_padding_puts_the_odd_step_on_the_right);
    tcase_add_test(tc, conv1d_rejects_bad_options_naming_the_layer);
    tcase_add_loop_test(tc, conv1d_forward_matches_direct_definition, 0, N_CONV_CASES);
    tcase_add_loop_test(tc, conv1d_gradcheck_strides_dilations_paddings_activations, 0,
                        N_CONV_CASES);
    tcase_add_test(tc, conv1d_kernel_has_keras_layout_and_count);
    tcase_add_test(tc, golden_torch_conv1d_batchnorm_layernorm);
    tcase_add_test(tc, winograd_matrices_compute_the_correlation);
    tcase_add_test(tc, winograd_products_agree_with_and_without_the_fma_kernel);
    tcase_add_loop_test(tc, conv1d_minimal_filtering_matches_the_definition, 0, N_WINO_CASES);
    tcase_add_test(tc, conv1d_minimal_filtering_and_taps_agree);
    suite_add_tcase(s, tc);

    tc = tcase_create("pooling");
    tcase_add_test(tc, average_pooling_same_excludes_padding_from_the_count);
    tcase_add_loop_test(tc, window_pooling_matches_reference_and_gradcheck, 0, 16);
    suite_add_tcase(s, tc);

    tc = tcase_create("merge");
    tcase_add_loop_test(tc, merge_forward_and_gradcheck_each_layer, 0, 10);
    tcase_add_test(tc, merge_masks_are_anded_missing_masks_count_as_real);
    tcase_add_test(tc, merge_shape_errors_name_the_layer);
    tcase_add_test(tc, merge_same_node_twice_accumulates_its_gradient);
    suite_add_tcase(s, tc);

    tc = tcase_create("highway");
    tcase_add_loop_test(tc, highway_gradcheck_vectors_and_sequences, 0, 16);
    tcase_add_test(tc, highway_forward_is_gated_mix_and_gate_bias_defaults_to_minus_two);
    suite_add_tcase(s, tc);

    tc = tcase_create("normalization");
    tcase_add_loop_test(tc, batchnorm_gradcheck_training_through_batch_statistics, 0, 4);
    tcase_add_test(tc, batchnorm_inference_uses_moving_statistics_and_gradchecks);
    tcase_add_test(tc, batchnorm_weights_in_keras_order_with_moving_stats_frozen);
    tcase_add_test(tc, batchnorm_masked_statistics_use_real_steps_only);
    tcase_add_test(tc, batchnorm_frozen_layer_runs_in_inference_mode);
    tcase_add_loop_test(tc, layernorm_gradcheck_and_reference, 0, 5);
    suite_add_tcase(s, tc);

    tc = tcase_create("api");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, inception_model_has_1899161_params_and_keras_kernel_layout);
    tcase_add_test(tc, causal_dilated_stack_has_15681_params);
    tcase_add_test(tc, masked_embedding_into_conv1d_or_pooling_is_refused_naming_the_layer);
    tcase_add_test(tc, masks_flow_through_merges_highway_and_normalizations);
    tcase_add_test(tc, inception_model_predicts_and_trains_through_the_executor);
    tcase_add_test(tc, residual_block_with_normalizations_trains_through_the_executor);
    tcase_add_test(tc, trainer_updates_batchnorm_moving_statistics);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(conv_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
