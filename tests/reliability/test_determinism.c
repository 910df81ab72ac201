/*
 * tests/reliability/test_determinism.c -- determinism (issue 8): on one
 * thread, the same seed and data give bit-identical weights after full
 * fits with dropout, shuffling and a validation split; a different seed
 * gives different weights; nothing outside the trainer and its context (no
 * hidden global state) influences a fit. And a measurement of what changes
 * with more BLAS threads, reported on stdout and in docs/RELIABILITY.md.
 *
 * Models: Embedding(mask_zero) -> GlobalAveragePooling1D -> Dropout ->
 * Dense(relu) -> Dropout -> Dense(sigmoid), and, when this build has LSTM,
 * Embedding(mask_zero) -> LSTM(dropout, recurrent_dropout) -> Dense(sigmoid).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rel_util.h"

/* OpenBLAS's thread controls, if the BLAS linked in is OpenBLAS (weak: the
 * reference BLAS has neither, and then the measurement is skipped). */
extern void openblas_set_num_threads(int n) __attribute__((weak));
extern int openblas_get_num_threads(void) __attribute__((weak));

#define N_SAMPLES 160
#define TIME 12
#define VOCAB 60
#define EPOCHS 3
#define MAX_WEIGHTS 8192

typedef struct run_result {
    float w[MAX_WEIGHTS];
    size_t n;
    double history[EPOCHS * 4];
    int32_t epochs;
} run_result;

static int32_t ids[N_SAMPLES * TIME];
static float labels[N_SAMPLES];

static void make_data(void)
{
    rel_rng r = {1234};
    int i, t;
    for (i = 0; i < N_SAMPLES; i++) {
        int len = 2 + (int)rel_below(&r, TIME - 1), score = 0;
        for (t = 0; t < TIME; t++) {
            int32_t id = t < len ? 1 + (int32_t)rel_below(&r, VOCAB - 1) : 0;
            ids[i * TIME + t] = id;
            score += id > 0 && id < VOCAB / 3;
        }
        labels[i] = score * 3 > len ? 1.0f : 0.0f;
    }
}

/* Build one of the models; NULL when this build lacks the layer. */
static seqnet_model *build(seqnet_context *ctx, int lstm)
{
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    int32_t in, x;
    int st;
    ck_assert_int_eq(seqnet_graph_new(ctx, &g), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_new(ctx, &o), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_tokens(g, TIME, "ids", &in), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, VOCAB), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, 8), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_MASK_ZERO, 1), SEQNET_OK);
    ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_EMBEDDING, in, NULL, &x), SEQNET_OK);
    if (lstm) {
        ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 6), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_float(o, SEQNET_OPT_DROPOUT, 0.2), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_float(o, SEQNET_OPT_RECURRENT_DROPOUT, 0.2),
                         SEQNET_OK);
        st = rel_add(g, o, SEQNET_LAYER_LSTM, x, NULL, &x);
        if (st == SEQNET_EUNSUPPORTED) {
            printf("determinism: LSTM model skipped: %s\n", seqnet_errmsg(g));
            seqnet_options_free(o);
            seqnet_graph_free(g);
            return NULL;
        }
        ck_assert_msg(st == SEQNET_OK, "LSTM: %d %s", st, seqnet_errmsg(g));
    } else {
        ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, x, NULL, &x),
                         SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_float(o, SEQNET_OPT_RATE, 0.3), SEQNET_OK);
        ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_DROPOUT, x, NULL, &x), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 16), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "relu"), SEQNET_OK);
        ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_DENSE, x, NULL, &x), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_float(o, SEQNET_OPT_RATE, 0.3), SEQNET_OK);
        ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_DROPOUT, x, NULL, &x), SEQNET_OK);
    }
    ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "sigmoid"), SEQNET_OK);
    ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_DENSE, x, NULL, &x), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_compile(g, &in, 1, &x, 1, &m), SEQNET_OK);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    return m;
}

static size_t all_weights(const seqnet_model *m, float *dst, size_t cap)
{
    size_t n = 0;
    int32_t layer, w;
    for (layer = 0; layer < seqnet_model_n_layers(m); layer++)
        for (w = 0; w < seqnet_model_layer_n_weights(m, layer); w++) {
            int64_t count;
            ck_assert_int_eq(seqnet_model_weight_info(m, layer, w, NULL, NULL, NULL, &count),
                             SEQNET_OK);
            ck_assert(n + (size_t)count <= cap);
            ck_assert_int_eq(seqnet_model_get_weight(m, layer, w, dst + n, count), SEQNET_OK);
            n += (size_t)count;
        }
    return n;
}

static seqnet_trainer *make_trainer(seqnet_model *m, double train_seed)
{
    seqnet_trainer *t = NULL;
    ck_assert_int_eq(seqnet_trainer_new(m, &t), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_loss(t, 0, SEQNET_LOSS_BINARY_CROSSENTROPY), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_add_metric(t, 0, SEQNET_METRIC_BINARY_ACCURACY), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_LEARNING_RATE, 0.02), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_EPOCHS, EPOCHS), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_BATCH_SIZE, 16), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_SHUFFLE, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_VALIDATION_SPLIT, 0.2), SEQNET_OK);
    if (train_seed >= 0)
        ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_SEED, train_seed), SEQNET_OK);
    return t;
}

/* Interleaving: a second, unrelated model takes a training step after
 * every batch of the first (through the first one's callback). */
typedef struct other_work {
    seqnet_trainer *t;
    seqnet_data *d;
    int steps;
} other_work;

static int interleave(void *user, int event, int32_t epoch, int32_t batch, int32_t n_batches,
                      const double *logs, int32_t n_logs)
{
    other_work *o = user;
    (void)epoch;
    (void)batch;
    (void)n_batches;
    (void)logs;
    (void)n_logs;
    if (event == SEQNET_EVENT_BATCH_END && o != NULL) {
        if (seqnet_trainer_train_batch(o->t, o->d, NULL) != SEQNET_OK)
            return -1;
        o->steps++;
    }
    return 0;
}

/* One full fit from scratch. ctx_seed seeds the context (initializers and
 * the default training seed); train_seed < 0 leaves SEQNET_TRAIN_SEED
 * alone. With `noise`, another model trains in between every batch. */
static void fit_once(int lstm, uint64_t ctx_seed, double train_seed, int noise, run_result *res,
                     float *initial)
{
    seqnet_context *ctx = NULL, *ctx2 = NULL;
    seqnet_model *m, *m2 = NULL;
    seqnet_trainer *t, *t2 = NULL;
    seqnet_data *d = NULL;
    other_work other;
    int32_t e, i;

    ck_assert_int_eq(seqnet_context_new(&ctx), SEQNET_OK);
    ck_assert_int_eq(seqnet_context_set_seed(ctx, ctx_seed), SEQNET_OK);
    m = build(ctx, lstm);
    ck_assert_ptr_nonnull(m);
    if (initial != NULL)
        (void)all_weights(m, initial, MAX_WEIGHTS);
    t = make_trainer(m, train_seed);
    ck_assert_int_eq(seqnet_data_new(ctx, &d), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_tokens(d, 0, ids, N_SAMPLES, TIME), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_targets(d, 0, labels, N_SAMPLES, 0, 1), SEQNET_OK);
    memset(&other, 0, sizeof other);
    if (noise) {
        ck_assert_int_eq(seqnet_context_new(&ctx2), SEQNET_OK);
        ck_assert_int_eq(seqnet_context_set_seed(ctx2, ctx_seed + 1000), SEQNET_OK);
        m2 = build(ctx2, 0);
        t2 = make_trainer(m2, -1);
        other.t = t2;
        other.d = d;
        ck_assert_int_eq(seqnet_trainer_set_callback(t, interleave, &other), SEQNET_OK);
    }
    ck_assert_int_eq(seqnet_trainer_fit(t, d, NULL), SEQNET_OK);
    if (noise)
        ck_assert_int_gt(other.steps, EPOCHS);
    res->n = all_weights(m, res->w, MAX_WEIGHTS);
    res->epochs = seqnet_trainer_history_len(t);
    ck_assert_int_eq(res->epochs, EPOCHS);
    for (e = 0; e < EPOCHS; e++)
        for (i = 0; i < 4; i++)
            ck_assert_int_eq(seqnet_trainer_history_value(t, e, i % 2, i / 2,
                                                          &res->history[e * 4 + i]),
                             SEQNET_OK);
    for (i = 0; i < 4; i++)
        ck_assert(isfinite(res->history[i]));
    seqnet_data_free(d);
    seqnet_trainer_free(t2);
    seqnet_model_free(m2);
    seqnet_context_free(ctx2);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}

static int same(const run_result *a, const run_result *b)
{
    return a->n == b->n && memcmp(a->w, b->w, a->n * sizeof *a->w) == 0 &&
           memcmp(a->history, b->history, sizeof a->history) == 0;
}

static long n_differing(const run_result *a, const run_result *b)
{
    long n = 0;
    size_t i;
    for (i = 0; i < a->n; i++)
        n += memcmp(&a->w[i], &b->w[i], sizeof a->w[i]) != 0;
    return n;
}

static void check_model(int lstm)
{
    static run_result a, b, c, d, e;
    static float init_a[MAX_WEIGHTS], init_d[MAX_WEIGHTS];
    seqnet_context *probe = NULL;
    seqnet_model *pm;
    ck_assert_int_eq(seqnet_context_new(&probe), SEQNET_OK);
    pm = build(probe, lstm);
    seqnet_model_free(pm);
    seqnet_context_free(probe);
    if (pm == NULL)
        return; /* this build lacks the layer */
    make_data();
    fit_once(lstm, 42, -1, 0, &a, init_a);
    fit_once(lstm, 42, -1, 0, &b, NULL);
    ck_assert_msg(same(&a, &b), "%s: same seed, %ld of %zu weights differ",
                  lstm ? "lstm" : "pooled", n_differing(&a, &b), a.n);
    /* Another model training in between every batch changes nothing. */
    fit_once(lstm, 42, -1, 1, &e, NULL);
    ck_assert_msg(same(&a, &e), "%s: interleaved training changed %ld weights",
                  lstm ? "lstm" : "pooled", n_differing(&a, &e));
    /* Another context seed: other initial weights, other results. */
    fit_once(lstm, 43, -1, 0, &c, NULL);
    ck_assert_uint_eq(c.n, a.n);
    ck_assert_int_gt(n_differing(&a, &c), (long)a.n / 2);
    /* Same initial weights, another training seed (shuffle and dropout):
     * different results. */
    fit_once(lstm, 42, 7, 0, &d, init_d);
    ck_assert_int_eq(memcmp(init_a, init_d, a.n * sizeof *init_a), 0);
    ck_assert_int_gt(n_differing(&a, &d), (long)a.n / 2);
    ck_assert(memcmp(a.history, d.history, sizeof a.history) != 0);
    printf("determinism (%s): %zu weights bit-identical across two fits; seed 43 changed %ld, "
           "training seed 7 changed %ld\n",
           lstm ? "lstm" : "pooled", a.n, n_differing(&a, &c), n_differing(&a, &d));
}

START_TEST(same_seed_and_data_give_bit_identical_weights_pooled)
{
    check_model(0);
}
END_TEST

START_TEST(same_seed_and_data_give_bit_identical_weights_lstm)
{
    check_model(1);
}
END_TEST

/* ---- BLAS threads: a measurement ---- */

#define BIG_IN 256
#define BIG_HIDDEN 256
#define BIG_N 512
#define BIG_CAP (BIG_IN * BIG_HIDDEN + 4096)

static void wide_fit(float *weights, size_t *n, double *loss)
{
    static float x[BIG_N * BIG_IN], y[BIG_N * 10];
    seqnet_context *ctx = NULL;
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    seqnet_trainer *t = NULL;
    seqnet_data *d = NULL;
    rel_rng r = {99};
    int32_t in, h, i;
    for (i = 0; i < BIG_N * BIG_IN; i++)
        x[i] = (float)((double)(rel_next(&r) >> 11) / 9007199254740992.0 - 0.5);
    memset(y, 0, sizeof y);
    for (i = 0; i < BIG_N; i++)
        y[i * 10 + (int32_t)rel_below(&r, 10)] = 1.0f;
    ck_assert_int_eq(seqnet_context_new(&ctx), SEQNET_OK);
    ck_assert_int_eq(seqnet_context_set_seed(ctx, 5), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_new(ctx, &g), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_new(ctx, &o), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_vector(g, BIG_IN, NULL, &in), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, BIG_HIDDEN), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "relu"), SEQNET_OK);
    ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_DENSE, in, NULL, &h), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 10), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "softmax"), SEQNET_OK);
    ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_DENSE, h, NULL, &h), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_compile(g, &in, 1, &h, 1, &m), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_new(m, &t), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_loss(t, 0, SEQNET_LOSS_CATEGORICAL_CROSSENTROPY),
                     SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_BATCH_SIZE, 128), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_EPOCHS, 2), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_new(ctx, &d), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_floats(d, 0, x, BIG_N, 0, BIG_IN), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_targets(d, 0, y, BIG_N, 0, 10), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_fit(t, d, NULL), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_history_value(t, 1, 0, 0, loss), SEQNET_OK);
    *n = all_weights(m, weights, BIG_CAP);
    seqnet_data_free(d);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    seqnet_context_free(ctx);
}

START_TEST(blas_threads_measurement)
{
    static float w1a[BIG_CAP], w1b[BIG_CAP], w2a[BIG_CAP], w2b[BIG_CAP];
    size_t n1a, n1b, n2a, n2b, i;
    double l1a, l1b, l2a, l2b, max_rel = 0.0;
    long differ = 0;
    int saved;
    if (openblas_set_num_threads == NULL || openblas_get_num_threads == NULL) {
        printf("blas threads: not OpenBLAS, nothing to measure\n");
        return;
    }
    if (REL_UNDER_VALGRIND()) { /* valgrind runs one thread at a time, slowly */
        printf("blas threads: not measured under valgrind\n");
        return;
    }
    saved = openblas_get_num_threads();
    openblas_set_num_threads(1);
    wide_fit(w1a, &n1a, &l1a);
    wide_fit(w1b, &n1b, &l1b);
    openblas_set_num_threads(2);
    ck_assert_int_eq(openblas_get_num_threads(), 2);
    wide_fit(w2a, &n2a, &l2a);
    wide_fit(w2b, &n2b, &l2b);
    openblas_set_num_threads(saved);
    /* The guarantee: one BLAS thread, bit-identical. */
    ck_assert_uint_eq(n1a, n1b);
    ck_assert_int_eq(memcmp(w1a, w1b, n1a * sizeof *w1a), 0);
    ck_assert(l1a == l1b);
    /* The measurement: two threads against one, reported. */
    ck_assert_uint_eq(n2a, n1a);
    for (i = 0; i < n1a; i++) {
        double den = fabs((double)w1a[i]) > 1e-3 ? fabs((double)w1a[i]) : 1e-3;
        double rel = fabs((double)w2a[i] - (double)w1a[i]) / den;
        if (memcmp(&w1a[i], &w2a[i], sizeof w1a[i]) != 0)
            differ++;
        if (rel > max_rel)
            max_rel = rel;
    }
    printf("blas threads: 1 thread twice: identical; 2 threads twice: %s; 2 vs 1 thread: %ld "
           "of %zu weights differ (max relative difference %.3g), final loss %.17g vs %.17g\n",
           memcmp(w2a, w2b, n2a * sizeof *w2a) == 0 && l2a == l2b ? "identical" : "DIFFERENT",
           differ, n1a, max_rel, l1a, l2a);
    /* Whatever the BLAS does, the results stay close. */
    ck_assert_msg(max_rel < 1e-3, "2 BLAS threads moved a weight by %g (relative)", max_rel);
}
END_TEST

static Suite *determinism_suite(void)
{
    Suite *s = suite_create("determinism");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, same_seed_and_data_give_bit_identical_weights_pooled);
    tcase_add_test(tc, same_seed_and_data_give_bit_identical_weights_lstm);
    tcase_add_test(tc, blas_threads_measurement);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(determinism_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
