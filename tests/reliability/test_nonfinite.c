/*
 * tests/reliability/test_nonfinite.c -- bad numbers (issue 8): NaN and
 * infinity in inputs, weights, model files, gradients, targets and sample
 * weights are detected where they would otherwise spread, with the codes
 * docs/DESIGN.md ("Non-finite values") and the headers document:
 *
 *   fed input (float sequence or vector)    seqnet_session_run: SEQNET_ENONFINITE,
 *                                            the message names the input
 *   seqnet_model_set_weight                 SEQNET_ENONFINITE, weight unchanged
 *   model file with a non-finite weight     seqnet_loader_read_*: SEQNET_ENONFINITE
 *                                            (docs/FORMAT.md section 11, check 20)
 *   loss or gradient not finite in training fit / train_batch: SEQNET_ENONFINITE,
 *                                            weights unchanged
 *   NaN / inf targets, NaN sample weights   SEQNET_ENONFINITE (sparse class
 *                                            targets that are not a class: SEQNET_ERANGE)
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rel_util.h"

static seqnet_context *ctx_new(uint64_t seed)
{
    seqnet_context *ctx = NULL;
    ck_assert_int_eq(seqnet_context_new(&ctx), SEQNET_OK);
    ck_assert_int_eq(seqnet_context_set_seed(ctx, seed), SEQNET_OK);
    return ctx;
}

static const float bad_values[3] = {NAN, INFINITY, -INFINITY};

/* signal [time, 3] -> GlobalAveragePooling1D -> Dense(2, softmax) (output 0);
 * features [4] -> Dense(1) (output 1). */
static seqnet_model *two_input_model(seqnet_context *ctx)
{
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    int32_t sig, feat, x, ins[2], outs[2];
    ck_assert_int_eq(seqnet_graph_new(ctx, &g), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_new(ctx, &o), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_sequence(g, 0, 3, "signal", &sig), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_vector(g, 4, "features", &feat), SEQNET_OK);
    ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, sig, NULL, &x),
                     SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 2), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "softmax"), SEQNET_OK);
    ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_DENSE, x, "head", &outs[0]), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1), SEQNET_OK);
    ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_DENSE, feat, "linear", &outs[1]), SEQNET_OK);
    ins[0] = sig;
    ins[1] = feat;
    ck_assert_int_eq(seqnet_graph_compile(g, ins, 2, outs, 2, &m), SEQNET_OK);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    return m;
}

static void fill(float *x, size_t n, float scale, uint64_t seed)
{
    rel_rng r = {seed};
    size_t i;
    for (i = 0; i < n; i++)
        x[i] = scale * (float)((double)(rel_next(&r) >> 11) / 9007199254740992.0 - 0.5);
}

/* ---- inputs ---- */

START_TEST(non_finite_inputs_fail_the_run_and_name_the_input)
{
    seqnet_context *ctx = ctx_new(3);
    seqnet_model *m = two_input_model(ctx);
    seqnet_session *s = NULL, *fresh = NULL;
    float sig[4 * 6 * 3], feat[4 * 4], good0[8], good1[4], out0[8], out1[4];
    int32_t lengths[4] = {6, 2, 6, 3};
    int k;
    fill(sig, 72, 2.0f, 1);
    fill(feat, 16, 2.0f, 2);
    ck_assert_int_eq(seqnet_session_new(m, &s), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_new(m, &fresh), SEQNET_OK);
    /* Reference outputs from a session that never saw a bad value. */
    ck_assert_int_eq(seqnet_session_set_input_floats(fresh, 0, sig, 4, 6, 3), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_set_input_floats(fresh, 1, feat, 4, 0, 4), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_run(fresh), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_get_output(fresh, 0, good0, 8), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_get_output(fresh, 1, good1, 4), SEQNET_OK);

    for (k = 0; k < 3; k++) {
        /* In the sequence input: sample 2, step 3, feature 1. */
        float saved = sig[2 * 18 + 3 * 3 + 1];
        sig[2 * 18 + 3 * 3 + 1] = bad_values[k];
        ck_assert_int_eq(seqnet_session_set_input_floats(s, 0, sig, 4, 6, 3), SEQNET_OK);
        ck_assert_int_eq(seqnet_session_set_input_floats(s, 1, feat, 4, 0, 4), SEQNET_OK);
        ck_assert_int_eq(seqnet_session_run(s), SEQNET_ENONFINITE);
        ck_assert_ptr_nonnull(strstr(seqnet_errmsg(s), "'signal'"));
        ck_assert_ptr_nonnull(strstr(seqnet_errmsg(s), "sample 2"));
        ck_assert_ptr_null(strstr(seqnet_errmsg(s), "features"));
        sig[2 * 18 + 3 * 3 + 1] = saved;
        /* In the vector input: sample 3, feature 0. */
        saved = feat[3 * 4];
        feat[3 * 4] = bad_values[k];
        ck_assert_int_eq(seqnet_session_run(s), SEQNET_ENONFINITE);
        ck_assert_ptr_nonnull(strstr(seqnet_errmsg(s), "'features'"));
        ck_assert_ptr_nonnull(strstr(seqnet_errmsg(s), "sample 3"));
        feat[3 * 4] = saved;
        /* A bad value in a step masked out by explicit lengths is still
         * refused: the check is on everything fed (docs/DESIGN.md). */
        ck_assert_int_eq(seqnet_session_set_input_lengths(s, 0, lengths, 4), SEQNET_OK);
        saved = sig[1 * 18 + 5 * 3 + 2]; /* sample 1 has 2 real steps; step 5 is padding */
        sig[1 * 18 + 5 * 3 + 2] = bad_values[k];
        ck_assert_int_eq(seqnet_session_run(s), SEQNET_ENONFINITE);
        sig[1 * 18 + 5 * 3 + 2] = saved;
        ck_assert_int_eq(seqnet_session_set_input_lengths(s, 0, NULL, 4), SEQNET_OK);
        /* The session is not poisoned: the next run is exact. */
        ck_assert_int_eq(seqnet_session_run(s), SEQNET_OK);
        ck_assert_str_eq(seqnet_errmsg(s), "");
        ck_assert_int_eq(seqnet_session_get_output(s, 0, out0, 8), SEQNET_OK);
        ck_assert_int_eq(seqnet_session_get_output(s, 1, out1, 4), SEQNET_OK);
        ck_assert_int_eq(memcmp(out0, good0, sizeof out0), 0);
        ck_assert_int_eq(memcmp(out1, good1, sizeof out1), 0);
    }
    seqnet_session_free(fresh);
    seqnet_session_free(s);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

/* ---- weights ---- */

START_TEST(set_weight_refuses_non_finite_values_and_keeps_the_old_ones)
{
    seqnet_context *ctx = ctx_new(4);
    seqnet_model *m = two_input_model(ctx);
    int32_t head = seqnet_model_find_layer(m, "head");
    float before[6], attempt[6], after[6], bias_before[2], bias_after[2];
    int k, i;
    ck_assert_int_ge(head, 0);
    ck_assert_int_eq(seqnet_model_get_weight(m, head, 0, before, 6), SEQNET_OK);
    ck_assert_int_eq(seqnet_model_get_weight(m, head, 1, bias_before, 2), SEQNET_OK);
    for (k = 0; k < 3; k++) {
        for (i = 0; i < 6; i++) {
            memcpy(attempt, before, sizeof attempt);
            attempt[i] = bad_values[k];
            ck_assert_int_eq(seqnet_model_set_weight(m, head, 0, attempt, 6), SEQNET_ENONFINITE);
            ck_assert_ptr_nonnull(strstr(seqnet_errmsg(m), "head"));
            ck_assert_int_eq(seqnet_model_get_weight(m, head, 0, after, 6), SEQNET_OK);
            ck_assert_int_eq(memcmp(after, before, sizeof after), 0);
        }
        bias_after[0] = 1.0f;
        bias_after[1] = bad_values[k];
        ck_assert_int_eq(seqnet_model_set_weight(m, head, 1, bias_after, 2), SEQNET_ENONFINITE);
        ck_assert_int_eq(seqnet_model_get_weight(m, head, 1, bias_after, 2), SEQNET_OK);
        ck_assert_int_eq(memcmp(bias_after, bias_before, sizeof bias_after), 0);
    }
    /* The largest finite values are accepted. */
    for (i = 0; i < 6; i++)
        attempt[i] = i % 2 ? -3.4e38f : 3.4e38f;
    ck_assert_int_eq(seqnet_model_set_weight(m, head, 0, attempt, 6), SEQNET_OK);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

/* ---- model files ---- */

/* CRC-32C, bitwise, exactly as docs/FORMAT.md section 1 gives it. */
static uint32_t crc32c(const unsigned char *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    int b;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (b = 0; b < 8; b++)
            crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
    }
    return crc ^ 0xFFFFFFFFu;
}

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

/* Store `value` (little-endian) as float number `index` of the WEIGHTS
 * section; with `fix`, recompute the section's CRC, the table CRC and the
 * header CRC so that the file is consistent again. */
static void patch_weight(unsigned char *file, size_t size, size_t index, float value, int fix)
{
    uint32_t n = rd32(file + 12), i, bits;
    unsigned char *entry = NULL;
    uint64_t off, len;
    ck_assert(size >= 64 + 32 * (size_t)n);
    for (i = 0; i < n; i++)
        if (rd32(file + 64 + 32 * i) == 2u) /* WEIGHTS */
            entry = file + 64 + 32 * i;
    ck_assert_ptr_nonnull(entry);
    off = rd64(entry + 8);
    len = rd64(entry + 16);
    ck_assert(off % 64 == 0 && off + len <= size && 4 * (uint64_t)index + 4 <= len);
    memcpy(&bits, &value, sizeof bits);
    wr32(file + off + 4 * index, bits);
    if (!fix)
        return;
    wr32(entry + 24, crc32c(file + off, (size_t)len));
    wr32(file + 24, crc32c(file + 64, 32 * (size_t)n));
    wr32(file + 28, crc32c(file, 28));
}

typedef struct reader {
    const unsigned char *p;
    size_t left;
} reader;

static int read_cb(void *user, void *data, size_t size)
{
    reader *r = user;
    if (size > r->left)
        return 1;
    memcpy(data, r->p, size);
    r->p += size;
    r->left -= size;
    return 0;
}

static int load(seqnet_context *ctx, const unsigned char *file, size_t size, unsigned flags,
                int via_callback, seqnet_model **out, char *msg, size_t msg_len)
{
    seqnet_loader *l = NULL;
    int st;
    ck_assert_int_eq(seqnet_loader_new(ctx, &l), SEQNET_OK);
    if (via_callback) {
        reader r;
        r.p = file;
        r.left = size;
        st = seqnet_loader_read_callback(l, read_cb, &r, size);
    } else {
        st = seqnet_loader_read_buffer(l, file, size, flags);
    }
    if (msg != NULL)
        snprintf(msg, msg_len, "%s", seqnet_errmsg(l));
    if (st == SEQNET_OK && out != NULL)
        ck_assert_int_eq(seqnet_loader_take_model(l, out), SEQNET_OK);
    seqnet_loader_free(l);
    return st;
}

START_TEST(a_model_file_with_non_finite_weights_is_refused)
{
    static const unsigned char check[9] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
    seqnet_context *ctx = ctx_new(5);
    seqnet_model *m = two_input_model(ctx), *loaded = NULL;
    seqnet_saver *sv = NULL;
    void *saved = NULL;
    unsigned char *file;
    size_t size, k, n_floats = 0;
    int32_t layer, w;
    char msg[256];
    int v, via;

    /* The CRC is the one the format uses. */
    ck_assert_uint_eq(crc32c(check, 9), 0xE3069283u);
    for (layer = 0; layer < seqnet_model_n_layers(m); layer++)
        for (w = 0; w < seqnet_model_layer_n_weights(m, layer); w++) {
            int64_t count;
            ck_assert_int_eq(seqnet_model_weight_info(m, layer, w, NULL, NULL, NULL, &count),
                             SEQNET_OK);
            n_floats += (size_t)count;
        }
    ck_assert_uint_eq(n_floats, 3 * 2 + 2 + 4 + 1);
    ck_assert_int_eq(seqnet_saver_new(ctx, &sv), SEQNET_OK);
    ck_assert_int_eq(seqnet_saver_set_model(sv, m), SEQNET_OK);
    ck_assert_int_eq(seqnet_saver_write_alloc(sv, &saved, &size), SEQNET_OK);
    file = malloc(size); /* malloc: aligned enough for SEQNET_LOAD_BORROW */
    ck_assert_ptr_nonnull(file);

    for (k = 0; k < n_floats; k += 4) {
        float got[6];
        /* Control: a finite patch with fixed checksums loads, and the
         * loaded model holds the patched value (so the patching is right
         * and, below, only the NaN check can refuse the file). */
        memcpy(file, saved, size);
        patch_weight(file, size, k, 0.625f, 1);
        ck_assert_int_eq(load(ctx, file, size, 0, 0, &loaded, NULL, 0), SEQNET_OK);
        if (k < 6) {
            int32_t head = seqnet_model_find_layer(loaded, "head");
            ck_assert_int_eq(seqnet_model_get_weight(loaded, head, 0, got, 6), SEQNET_OK);
            ck_assert(got[k] == 0.625f);
        }
        seqnet_model_free(loaded);
        loaded = NULL;
        for (v = 0; v < 3; v++) {
            /* Without fixing the checksums, the CRC catches it first. */
            memcpy(file, saved, size);
            patch_weight(file, size, k, bad_values[v], 0);
            ck_assert_int_eq(load(ctx, file, size, 0, 0, NULL, NULL, 0), SEQNET_ECHECKSUM);
            /* With consistent checksums, the finiteness check refuses it:
             * from a copied buffer, a borrowed one and a callback. */
            patch_weight(file, size, k, bad_values[v], 1);
            for (via = 0; via < 3; via++) {
                msg[0] = '\0';
                ck_assert_int_eq(load(ctx, file, size, via == 1 ? SEQNET_LOAD_BORROW : 0,
                                      via == 2, &loaded, msg, sizeof msg),
                                 SEQNET_ENONFINITE);
                ck_assert_ptr_null(loaded);
                ck_assert_msg(strstr(msg, "finite") != NULL, "message: %s", msg);
            }
        }
    }
    /* The untouched file still loads. */
    ck_assert_int_eq(load(ctx, saved, size, 0, 0, &loaded, NULL, 0), SEQNET_OK);
    seqnet_model_free(loaded);
    free(file);
    seqnet_free(saved);
    seqnet_saver_free(sv);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

/* ---- training ---- */

/* features [4] -> Dense(1, linear, no bias). */
static seqnet_model *linear_model(seqnet_context *ctx, int use_bias)
{
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    int32_t in, out;
    ck_assert_int_eq(seqnet_graph_new(ctx, &g), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_new(ctx, &o), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_vector(g, 4, "features", &in), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_USE_BIAS, use_bias), SEQNET_OK);
    ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_DENSE, in, "linear", &out), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_compile(g, &in, 1, &out, 1, &m), SEQNET_OK);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    return m;
}

/* Every weight of a model, concatenated (at most 64 floats). */
static size_t all_weights(const seqnet_model *m, float *dst)
{
    size_t n = 0;
    int32_t layer, w;
    for (layer = 0; layer < seqnet_model_n_layers(m); layer++)
        for (w = 0; w < seqnet_model_layer_n_weights(m, layer); w++) {
            int64_t count;
            ck_assert_int_eq(seqnet_model_weight_info(m, layer, w, NULL, NULL, NULL, &count),
                             SEQNET_OK);
            ck_assert(n + (size_t)count <= 64);
            ck_assert_int_eq(seqnet_model_get_weight(m, layer, w, dst + n, count), SEQNET_OK);
            n += (size_t)count;
        }
    return n;
}

/* Train (fit, or train_batch when `batch`), expect `want`, check that no
 * weight moved and that the trainer's message contains `words`. */
static void expect_refused(seqnet_trainer *t, seqnet_model *m, seqnet_data *d, int batch,
                           int want, const char *words)
{
    float before[64], after[64];
    size_t n = all_weights(m, before);
    int st = batch ? seqnet_trainer_train_batch(t, d, NULL) : seqnet_trainer_fit(t, d, NULL);
    ck_assert_msg(st == want, "%s: got %d (%s), want %d", batch ? "train_batch" : "fit", st,
                  seqnet_errmsg(t), want);
    ck_assert_msg(strstr(seqnet_errmsg(t), words) != NULL, "message '%s' lacks '%s'",
                  seqnet_errmsg(t), words);
    ck_assert_uint_eq(all_weights(m, after), n);
    ck_assert_int_eq(memcmp(before, after, n * sizeof *before), 0);
}

START_TEST(training_that_overflows_stops_with_enonfinite_and_keeps_the_weights)
{
    seqnet_context *ctx = ctx_new(6);
    seqnet_model *m = linear_model(ctx, 1);
    seqnet_trainer *t = NULL;
    seqnet_data *d = NULL;
    seqnet_session *s = NULL;
    float x[8 * 4], y[8], k[4] = {1e-20f, 0.5f, -0.25f, 0.125f}, bias = 0.0f;
    float probe[4] = {1, 2, 3, 4}, out_before, out_after;
    int i, opt;
    ck_assert_int_eq(seqnet_model_set_weight(m, 1, 0, k, 4), SEQNET_OK);
    ck_assert_int_eq(seqnet_model_set_weight(m, 1, 1, &bias, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_new(m, &s), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_set_input_floats(s, 0, probe, 1, 0, 4), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_run(s), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_get_output(s, 0, &out_before, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_new(ctx, &d), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_new(m, &t), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_loss(t, 0, SEQNET_LOSS_MEAN_SQUARED_ERROR), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_BATCH_SIZE, 8), SEQNET_OK);

    for (opt = SEQNET_OPTIMIZER_SGD; opt <= SEQNET_OPTIMIZER_ADAGRAD; opt++) {
        ck_assert_int_eq(seqnet_trainer_set_optimizer(t, opt), SEQNET_OK);
        /* 1. The forward pass overflows: 4 x 3e38 does not fit a float. */
        for (i = 0; i < 8 * 4; i++)
            x[i] = 3e38f;
        for (i = 0; i < 8; i++)
            y[i] = 1.0f;
        ck_assert_int_eq(seqnet_model_set_weight(m, 1, 0, (const float[4]){1, 1, 1, 1}, 4),
                         SEQNET_OK);
        ck_assert_int_eq(seqnet_data_set_floats(d, 0, x, 8, 0, 4), SEQNET_OK);
        ck_assert_int_eq(seqnet_data_set_targets(d, 0, y, 8, 0, 1), SEQNET_OK);
        expect_refused(t, m, d, 0, SEQNET_ENONFINITE, "non-finite");
        expect_refused(t, m, d, 1, SEQNET_ENONFINITE, "non-finite");
        /* 2. A finite loss whose gradient overflows: prediction 1e10 (so
         * the squared error 1e20 is finite), but d loss / d kernel[0] =
         * 2 * 1e10 * 1e30 / batch does not fit a float. */
        ck_assert_int_eq(seqnet_model_set_weight(m, 1, 0, k, 4), SEQNET_OK);
        memset(x, 0, sizeof x);
        for (i = 0; i < 8; i++) {
            x[i * 4] = 1e30f;
            y[i] = 0.0f;
        }
        expect_refused(t, m, d, 0, SEQNET_ENONFINITE, "gradient");
        expect_refused(t, m, d, 1, SEQNET_ENONFINITE, "gradient");
        ck_assert_ptr_nonnull(strstr(seqnet_errmsg(t), "linear"));
        ck_assert_ptr_nonnull(strstr(seqnet_errmsg(t), "not updated"));
    }
    ck_assert_int_eq(seqnet_trainer_history_len(t), 0);
    /* The model still answers exactly as before. */
    ck_assert_int_eq(seqnet_session_run(s), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_get_output(s, 0, &out_after, 1), SEQNET_OK);
    ck_assert(out_after == out_before);
    /* And it still trains on sane data. */
    for (i = 0; i < 8 * 4; i++)
        x[i] = (float)(i % 5) * 0.25f;
    for (i = 0; i < 8; i++)
        y[i] = (float)(i % 2);
    ck_assert_int_eq(seqnet_trainer_fit(t, d, NULL), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_history_len(t), 1);
    seqnet_session_free(s);
    seqnet_data_free(d);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

/* tokens [3] -> Embedding(5, 2) -> GlobalAveragePooling1D (pooled) or
 * Flatten -> Dense(1, linear, no bias). Layer 1 is the embedding, whose
 * gradient is row-sparse, and layer 3 the dense layer. The pooled shape
 * runs the fused embedding-pooling backward, Flatten the plain one. */
static seqnet_model *embedding_model(seqnet_context *ctx, int pooled)
{
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    int32_t in, x;
    ck_assert_int_eq(seqnet_graph_new(ctx, &g), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_new(ctx, &o), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_tokens(g, 3, "tokens", &in), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, 5), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, 2), SEQNET_OK);
    ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_EMBEDDING, in, "emb", &x), SEQNET_OK);
    ck_assert_int_eq(rel_add(g, o, pooled ? SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D
                                          : SEQNET_LAYER_FLATTEN, x, NULL, &x),
                     SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_USE_BIAS, 0), SEQNET_OK);
    ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_DENSE, x, "out", &x), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_compile(g, &in, 1, &x, 1, &m), SEQNET_OK);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    return m;
}

/*
 * An embedding's gradient is refused when a row's sum is not finite, with
 * and without clipping (two code paths), through the fused and the plain
 * backward, in two ways:
 *  - a term overflows: embeddings 1e-20 and a kernel of 1e30 give
 *    predictions near 1e10 (a finite squared error), but the gradient
 *    reaching the embedding, about 1e10 * 1e30, does not fit a float;
 *  - every term is finite, but a row used everywhere sums past FLT_MAX: a
 *    bound on the terms cannot vouch for it, so the rows must be checked.
 * Nothing may move. Then, with a sane kernel, the same batches train.
 */
START_TEST(a_non_finite_embedding_gradient_is_refused_before_any_update)
{
    /* per case: embedding value, kernel value (pooled, flatten), ids */
    static const struct {
        float table, kernel[2];
        int32_t ids[4 * 3];
    } cases[2] = {
        {1e-20f, {1e30f, 1e30f}, {1, 2, 3, 4, 1, 1, 0, 2, 4, 3, 3, 3}},
        /* pooled: y = 2 * 1.1e-19 * 3e28 = 6.6e9, dL/dy = 2y/4 = 3.3e9, each
         * sample adds 3.3e9 * 3e28 ~ 1e38 to row 1: 4e38 in all. Flatten:
         * y = 6 * 1.1e-19 * 1e28, 12 terms of 3.3e37 each. */
        {1.1e-19f, {3e28f, 1e28f}, {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
    };
    seqnet_context *ctx = ctx_new(7);
    int pooled, c, i, opt, clip;
    for (pooled = 0; pooled < 2; pooled++)
        for (c = 0; c < 2; c++) {
            seqnet_model *m = embedding_model(ctx, pooled);
            seqnet_trainer *t = NULL;
            seqnet_data *d = NULL;
            float table[10], kernel[6], y[4] = {0, 0, 0, 0}, after[10];
            int32_t n_kernel = pooled ? 2 : 6;
            for (i = 0; i < 10; i++)
                table[i] = cases[c].table;
            for (i = 0; i < n_kernel; i++)
                kernel[i] = cases[c].kernel[pooled ? 0 : 1];
            ck_assert_int_eq(seqnet_model_set_weight(m, 1, 0, table, 10), SEQNET_OK);
            ck_assert_int_eq(seqnet_model_set_weight(m, 3, 0, kernel, n_kernel), SEQNET_OK);
            ck_assert_int_eq(seqnet_data_new(ctx, &d), SEQNET_OK);
            ck_assert_int_eq(seqnet_data_set_tokens(d, 0, cases[c].ids, 4, 3), SEQNET_OK);
            ck_assert_int_eq(seqnet_data_set_targets(d, 0, y, 4, 0, 1), SEQNET_OK);
            ck_assert_int_eq(seqnet_trainer_new(m, &t), SEQNET_OK);
            ck_assert_int_eq(seqnet_trainer_set_loss(t, 0, SEQNET_LOSS_MEAN_SQUARED_ERROR),
                             SEQNET_OK);
            ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_BATCH_SIZE, 4), SEQNET_OK);
            for (clip = 0; clip < 2; clip++) {
                ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_CLIPNORM,
                                                          clip ? 1.0 : 0.0),
                                 SEQNET_OK);
                for (opt = SEQNET_OPTIMIZER_SGD; opt <= SEQNET_OPTIMIZER_ADAGRAD; opt++) {
                    ck_assert_int_eq(seqnet_trainer_set_optimizer(t, opt), SEQNET_OK);
                    expect_refused(t, m, d, 0, SEQNET_ENONFINITE, "gradient");
                    ck_assert_msg(strstr(seqnet_errmsg(t), "'emb'") != NULL,
                                  "pooled %d case %d: %s", pooled, c, seqnet_errmsg(t));
                    expect_refused(t, m, d, 1, SEQNET_ENONFINITE, "not updated");
                }
            }
            /* With a sane kernel the same batch trains, and the used rows move. */
            for (i = 0; i < n_kernel; i++)
                kernel[i] = 0.5f;
            ck_assert_int_eq(seqnet_model_set_weight(m, 3, 0, kernel, n_kernel), SEQNET_OK);
            ck_assert_int_eq(seqnet_trainer_fit(t, d, NULL), SEQNET_OK);
            ck_assert_int_eq(seqnet_model_get_weight(m, 1, 0, after, 10), SEQNET_OK);
            for (i = 0; i < 10; i++)
                ck_assert(isfinite(after[i]));
            ck_assert(after[2] != table[2] && after[3] != table[3]); /* row 1 */
            seqnet_data_free(d);
            seqnet_trainer_free(t);
            seqnet_model_free(m);
        }
    seqnet_context_free(ctx);
}
END_TEST

/* The linear model with zero weights, one sample (x: 4 features, y: 1
 * target) in *d, and a trainer with the given loss and optimizer. */
static seqnet_trainer *zero_linear_trainer(seqnet_context *ctx, seqnet_model *m, const float *x,
                                           const float *y, int loss, int optimizer,
                                           seqnet_data **d)
{
    static const float zero[4] = {0, 0, 0, 0};
    seqnet_trainer *t = NULL;
    ck_assert_int_eq(seqnet_model_set_weight(m, 1, 0, zero, 4), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_new(ctx, d), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_floats(*d, 0, x, 1, 0, 4), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_targets(*d, 0, y, 1, 0, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_new(m, &t), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_loss(t, 0, loss), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_optimizer(t, optimizer), SEQNET_OK);
    return t;
}

/* A finite gradient whose square overflows Adam's second moment (|g| =
 * 1e21: g * g = 1e42 > FLT_MAX) leaves the weights finite but the state
 * infinite, which would freeze the weights silently from then on. The
 * step must be refused with SEQNET_ENONFINITE: for a dense weight (and
 * undone, optimizer state and step count included), and for the rows of
 * an embedding (the row-sparse update). */
START_TEST(a_gradient_that_overflows_the_optimizer_state_is_an_error)
{
    seqnet_context *ctx = ctx_new(12);
    seqnet_model *m = linear_model(ctx, 0);
    seqnet_data *d = NULL;
    float x[4] = {1e21f, 1e21f, 1e21f, 1e21f}, y = 1.0f, zero[4] = {0, 0, 0, 0};
    /* mean absolute error: loss |0 - 1| = 1 and gradient -x, both finite */
    seqnet_trainer *t = zero_linear_trainer(ctx, m, x, &y, SEQNET_LOSS_MEAN_ABSOLUTE_ERROR,
                                            SEQNET_OPTIMIZER_ADAM, &d);
    double logs[1];
    int st;
    st = seqnet_trainer_train_batch(t, d, logs);
    ck_assert_int_eq(st, SEQNET_ENONFINITE);
    ck_assert_ptr_nonnull(strstr(seqnet_errmsg(t), "linear"));
    {
        /* The step was undone as a whole, optimizer state and step count
         * included: the next step equals a fresh trainer's first step. */
        float x2[4] = {1, 2, 3, 4}, y2 = 3.0f, after[4], fresh[4];
        seqnet_model *m2 = linear_model(ctx, 0);
        seqnet_data *d2 = NULL;
        seqnet_trainer *t2 = zero_linear_trainer(ctx, m2, x2, &y2, SEQNET_LOSS_MEAN_ABSOLUTE_ERROR,
                                                 SEQNET_OPTIMIZER_ADAM, &d2);
        ck_assert_int_eq(seqnet_model_get_weight(m, 1, 0, after, 4), SEQNET_OK);
        ck_assert_mem_eq(after, zero, sizeof zero);
        ck_assert_int_eq(seqnet_data_set_floats(d, 0, x2, 1, 0, 4), SEQNET_OK);
        ck_assert_int_eq(seqnet_data_set_targets(d, 0, &y2, 1, 0, 1), SEQNET_OK);
        ck_assert_int_eq(seqnet_trainer_train_batch(t, d, logs), SEQNET_OK);
        ck_assert_int_eq(seqnet_trainer_train_batch(t, d, logs), SEQNET_OK);
        ck_assert_int_eq(seqnet_trainer_train_batch(t2, d2, logs), SEQNET_OK);
        ck_assert_int_eq(seqnet_trainer_train_batch(t2, d2, logs), SEQNET_OK);
        ck_assert_int_eq(seqnet_model_get_weight(m, 1, 0, after, 4), SEQNET_OK);
        ck_assert_int_eq(seqnet_model_get_weight(m2, 1, 0, fresh, 4), SEQNET_OK);
        ck_assert_mem_eq(after, fresh, sizeof fresh);
        ck_assert(after[0] != 0.0f);
        seqnet_data_free(d2);
        seqnet_trainer_free(t2);
        seqnet_model_free(m2);
    }
    seqnet_data_free(d);
    seqnet_trainer_free(t);
    seqnet_model_free(m);

    { /* Embedding(10, 4) -> GlobalAveragePooling1D -> Dense(1) with a 1e21 kernel */
        seqnet_graph *g = NULL;
        seqnet_options *o = NULL;
        int32_t in, e, pool, out, ids[3] = {1, 2, 3};
        float kernel[4] = {1e21f, 1e21f, 1e21f, 1e21f};
        ck_assert_int_eq(seqnet_graph_new(ctx, &g), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_new(ctx, &o), SEQNET_OK);
        ck_assert_int_eq(seqnet_graph_input_tokens(g, 3, "ids", &in), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, 10), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, 4), SEQNET_OK);
        ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_EMBEDDING, in, "emb", &e), SEQNET_OK);
        ck_assert_int_eq(rel_add(g, NULL, SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, e, "pool", &pool),
                         SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_USE_BIAS, 0), SEQNET_OK);
        ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_DENSE, pool, "out", &out), SEQNET_OK);
        ck_assert_int_eq(seqnet_graph_compile(g, &in, 1, &out, 1, &m), SEQNET_OK);
        seqnet_options_free(o);
        seqnet_graph_free(g);
        ck_assert_int_eq(seqnet_model_set_weight(m, 3, 0, kernel, 4), SEQNET_OK);
        ck_assert_int_eq(seqnet_data_new(ctx, &d), SEQNET_OK);
        ck_assert_int_eq(seqnet_data_set_tokens(d, 0, ids, 1, 3), SEQNET_OK);
        y = 1e30f; /* far above any output: loss finite, gradient -1 per output */
        ck_assert_int_eq(seqnet_data_set_targets(d, 0, &y, 1, 0, 1), SEQNET_OK);
        ck_assert_int_eq(seqnet_trainer_new(m, &t), SEQNET_OK);
        ck_assert_int_eq(seqnet_trainer_set_loss(t, 0, SEQNET_LOSS_MEAN_ABSOLUTE_ERROR),
                         SEQNET_OK);
        ck_assert_int_eq(seqnet_trainer_set_optimizer(t, SEQNET_OPTIMIZER_ADAM), SEQNET_OK);
        /* Row-sparse updates are checked, not logged (docs/RELIABILITY.md):
         * the error says the weights are no longer usable. */
        st = seqnet_trainer_train_batch(t, d, logs);
        ck_assert_int_eq(st, SEQNET_ENONFINITE);
        ck_assert_ptr_nonnull(strstr(seqnet_errmsg(t), "'emb'"));
        ck_assert_ptr_nonnull(strstr(seqnet_errmsg(t), "no longer usable"));
        seqnet_data_free(d);
        seqnet_trainer_free(t);
        seqnet_model_free(m);
    }
    seqnet_context_free(ctx);
}
END_TEST

/* A single optimizer step whose gradient and loss are finite but whose
 * update overflows (learning rate x gradient beyond FLT_MAX) is refused
 * with SEQNET_ENONFINITE and undone: the weights are those before it. */
START_TEST(an_update_that_overflows_keeps_the_last_finite_weights)
{
    seqnet_context *ctx = ctx_new(7);
    seqnet_model *m = linear_model(ctx, 0);
    seqnet_data *d = NULL;
    float x[4] = {1, 2, 3, 4}, y = 1e6f, zero[4] = {0, 0, 0, 0}, after[4];
    seqnet_trainer *t = zero_linear_trainer(ctx, m, x, &y, SEQNET_LOSS_MEAN_SQUARED_ERROR,
                                            SEQNET_OPTIMIZER_SGD, &d);
    int st, i;
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_LEARNING_RATE, 1e35), SEQNET_OK);
    st = seqnet_trainer_train_batch(t, d, NULL);
    ck_assert_int_eq(seqnet_model_get_weight(m, 1, 0, after, 4), SEQNET_OK);
    for (i = 0; i < 4; i++)
        ck_assert_msg(isfinite(after[i]), "status %d, weight %d is %g", st, i, (double)after[i]);
    ck_assert_int_eq(st, SEQNET_ENONFINITE);
    ck_assert_mem_eq(after, zero, sizeof zero);
    seqnet_data_free(d);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

/* Finite inputs whose activations overflow must not hand NaN outputs to
 * the host with SEQNET_OK: SEQNET_ENONFINITE naming the layer or output, or
 * finite outputs. */
START_TEST(inference_that_overflows_does_not_return_nan_silently)
{
    seqnet_context *ctx = ctx_new(10);
    seqnet_model *m = two_input_model(ctx);
    seqnet_session *s = NULL;
    float sig[1 * 2 * 3] = {3e38f, 3e38f, 3e38f, 3e38f, 3e38f, 3e38f}, feat[4] = {1, 2, 3, 4};
    const float *out;
    int st;
    ck_assert_int_eq(seqnet_session_new(m, &s), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_set_input_floats(s, 0, sig, 1, 2, 3), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_set_input_floats(s, 1, feat, 1, 0, 4), SEQNET_OK);
    st = seqnet_session_run(s);
    out = seqnet_session_output(s, 0);
    ck_assert_msg(st == SEQNET_ENONFINITE ||
                      (st == SEQNET_OK && isfinite(out[0]) && isfinite(out[1])),
                  "run gave %d with outputs %g %g", st, (double)out[0], (double)out[1]);
    seqnet_session_free(s);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

/* A sparse class target of -inf (or any negative value; -1 means "ignore
 * this step" only on sequence outputs) on a vector output is SEQNET_ERANGE,
 * as for NaN and +inf, not silently skipped. */
START_TEST(negative_sparse_targets_on_vector_outputs_are_range_errors)
{
    seqnet_context *ctx = ctx_new(11);
    seqnet_model *m = two_input_model(ctx);
    seqnet_trainer *t = NULL;
    seqnet_data *d = NULL;
    float sig[4 * 2 * 3], feat[4 * 4], y0[4] = {0, 1, -INFINITY, 1}, y1[4] = {0, 0, 0, 0};
    fill(sig, sizeof sig / sizeof *sig, 1.0f, 31);
    fill(feat, sizeof feat / sizeof *feat, 1.0f, 32);
    ck_assert_int_eq(seqnet_trainer_new(m, &t), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_loss(t, 0, SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY),
                     SEQNET_OK);
    ck_assert_int_eq(seqnet_data_new(ctx, &d), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_floats(d, 0, sig, 4, 2, 3), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_floats(d, 1, feat, 4, 0, 4), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_targets(d, 0, y0, 4, 0, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_targets(d, 1, y1, 4, 0, 1), SEQNET_OK);
    expect_refused(t, m, d, 0, SEQNET_ERANGE, "not a class index");
    seqnet_data_free(d);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

/* ---- targets and sample weights ---- */

START_TEST(non_finite_targets_and_sample_weights_are_errors)
{
    seqnet_context *ctx = ctx_new(8);
    seqnet_model *m = two_input_model(ctx);
    seqnet_trainer *t = NULL;
    seqnet_data *d = NULL;
    float sig[16 * 5 * 3], feat[16 * 4], y0[16 * 2], y1[16], sw[16];
    double logs[1];
    int i, k;
    fill(sig, sizeof sig / sizeof *sig, 1.0f, 11);
    fill(feat, sizeof feat / sizeof *feat, 1.0f, 12);
    for (i = 0; i < 16; i++) {
        y0[2 * i] = (float)(i % 2);
        y0[2 * i + 1] = 1.0f - y0[2 * i];
        y1[i] = 0.5f * (float)i;
        sw[i] = 1.0f;
    }
    ck_assert_int_eq(seqnet_trainer_new(m, &t), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_loss(t, 0, SEQNET_LOSS_CATEGORICAL_CROSSENTROPY),
                     SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_loss(t, 1, SEQNET_LOSS_MEAN_SQUARED_ERROR), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_new(ctx, &d), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_floats(d, 0, sig, 16, 5, 3), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_floats(d, 1, feat, 16, 0, 4), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_targets(d, 0, y0, 16, 0, 2), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_targets(d, 1, y1, 16, 0, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_sample_weights(d, sw, 16), SEQNET_OK);
    for (k = 0; k < 3; k++) {
        y0[7] = bad_values[k]; /* sample 3's one-hot target */
        expect_refused(t, m, d, 0, SEQNET_ENONFINITE, "target");
        expect_refused(t, m, d, 1, SEQNET_ENONFINITE, "target");
        ck_assert_int_eq(seqnet_trainer_evaluate(t, d, logs, 1), SEQNET_ENONFINITE);
        y0[7] = 0.0f;
        y1[12] = bad_values[k]; /* the regression target */
        expect_refused(t, m, d, 0, SEQNET_ENONFINITE, "target");
        ck_assert_int_eq(seqnet_trainer_evaluate(t, d, logs, 1), SEQNET_ENONFINITE);
        y1[12] = 6.0f;
        sw[5] = bad_values[k]; /* a sample weight */
        expect_refused(t, m, d, 0, SEQNET_ENONFINITE, "finite");
        sw[5] = 1.0f;
    }
    ck_assert_int_eq(seqnet_trainer_history_len(t), 0);
    ck_assert_int_eq(seqnet_trainer_fit(t, d, NULL), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_history_len(t), 1);
    seqnet_data_free(d);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

START_TEST(sparse_class_targets_that_are_not_classes_are_range_errors)
{
    seqnet_context *ctx = ctx_new(9);
    seqnet_model *m = two_input_model(ctx);
    seqnet_trainer *t = NULL;
    seqnet_data *d = NULL;
    float sig[8 * 2 * 3], feat[8 * 4], y0[8], y1[8];
    int i, k;
    fill(sig, sizeof sig / sizeof *sig, 1.0f, 21);
    fill(feat, sizeof feat / sizeof *feat, 1.0f, 22);
    for (i = 0; i < 8; i++) {
        y0[i] = (float)(i % 2);
        y1[i] = 1.0f;
    }
    ck_assert_int_eq(seqnet_trainer_new(m, &t), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_loss(t, 0, SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY),
                     SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_loss(t, 1, SEQNET_LOSS_MEAN_ABSOLUTE_ERROR), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_new(ctx, &d), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_floats(d, 0, sig, 8, 2, 3), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_floats(d, 1, feat, 8, 0, 4), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_targets(d, 0, y0, 8, 0, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_targets(d, 1, y1, 8, 0, 1), SEQNET_OK);
    for (k = 0; k < 2; k++) { /* NaN, +inf; -inf is tested below */
        y0[4] = bad_values[k];
        expect_refused(t, m, d, 0, SEQNET_ERANGE, "not a class index");
    }
    y0[4] = 2.0f; /* 2 classes: 0 and 1 */
    expect_refused(t, m, d, 0, SEQNET_ERANGE, "not a class index");
    y0[4] = 0.5f;
    expect_refused(t, m, d, 0, SEQNET_ERANGE, "not a class index");
    y0[4] = 1.0f;
    ck_assert_int_eq(seqnet_trainer_fit(t, d, NULL), SEQNET_OK);
    seqnet_data_free(d);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

static Suite *nonfinite_suite(void)
{
    Suite *s = suite_create("nonfinite");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, non_finite_inputs_fail_the_run_and_name_the_input);
    tcase_add_test(tc, set_weight_refuses_non_finite_values_and_keeps_the_old_ones);
    tcase_add_test(tc, a_model_file_with_non_finite_weights_is_refused);
    tcase_add_test(tc, training_that_overflows_stops_with_enonfinite_and_keeps_the_weights);
    tcase_add_test(tc, a_non_finite_embedding_gradient_is_refused_before_any_update);
    tcase_add_test(tc, non_finite_targets_and_sample_weights_are_errors);
    tcase_add_test(tc, sparse_class_targets_that_are_not_classes_are_range_errors);
    tcase_add_test(tc, inference_that_overflows_does_not_return_nan_silently);
    tcase_add_test(tc, negative_sparse_targets_on_vector_outputs_are_range_errors);
    tcase_add_test(tc, a_gradient_that_overflows_the_optimizer_state_is_an_error);
    /* Known gap (docs/RELIABILITY.md): an optimizer step that overflows with
     * a finite gradient is detected (SEQNET_ENONFINITE) but the weights are
     * not restored; enable this once they are. */
    tcase_add_test(tc, an_update_that_overflows_keeps_the_last_finite_weights);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(nonfinite_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
