/*
 * tests/reliability/test_train_threads.c -- training on several threads
 * (SEQNET_TRAIN_THREADS): a step split into slices of rows computes the
 * same update as one thread, up to rounding, for every kind of gradient the
 * merge handles (dense weights, row-sparse embedding rows through both
 * embedding backwards, per-step losses with masks and ignored labels where
 * the slices' shares of the denominator differ from their row counts, sample
 * weights, the SUM_OVER_STEPS reduction); a threaded fit is deterministic
 * and learns; models that cannot be split train exactly as on one thread;
 * an error in a worker's slice comes back as the trainer's error and
 * leaves nothing behind; the parameter is validated.
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rel_util.h"

#define MAX_W 4096
#define VOCAB 40
#define TIME 9

enum { M_POOLED, M_FLATTEN, M_SEQ_LABELS, M_LSTM_SUM, M_BATCHNORM };

typedef struct weights {
    float w[MAX_W];
    size_t n;
} weights;

static void get_weights(const seqnet_model *m, weights *out)
{
    int32_t l, w;
    out->n = 0;
    for (l = 0; l < seqnet_model_n_layers(m); l++)
        for (w = 0; w < seqnet_model_layer_n_weights(m, l); w++) {
            int64_t count;
            ck_assert_int_eq(seqnet_model_weight_info(m, l, w, NULL, NULL, NULL, &count),
                             SEQNET_OK);
            ck_assert(out->n + (size_t)count <= MAX_W);
            ck_assert_int_eq(seqnet_model_get_weight(m, l, w, out->w + out->n, count),
                             SEQNET_OK);
            out->n += (size_t)count;
        }
}

static int32_t add(seqnet_graph *g, seqnet_options *o, int kind, int32_t in)
{
    int32_t out = -1;
    int st = rel_add(g, o, kind, in, NULL, &out);
    ck_assert_msg(st == SEQNET_OK, "layer %d: %d %s", kind, st, seqnet_errmsg(g));
    return out;
}

/* A graph under construction, its context and options. */
typedef struct kit {
    seqnet_context *ctx;
    seqnet_graph *g;
    seqnet_options *o;
} kit;

static void kit_begin(kit *k, uint64_t seed)
{
    memset(k, 0, sizeof *k);
    ck_assert_int_eq(seqnet_context_new(&k->ctx), SEQNET_OK);
    ck_assert_int_eq(seqnet_context_set_seed(k->ctx, seed), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_new(k->ctx, &k->g), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_new(k->ctx, &k->o), SEQNET_OK);
}

/* Compile in -> x and free the kit. */
static seqnet_model *kit_end(kit *k, int32_t in, int32_t x)
{
    seqnet_model *m = NULL;
    ck_assert_int_eq(seqnet_graph_compile(k->g, &in, 1, &x, 1, &m), SEQNET_OK);
    seqnet_options_free(k->o);
    seqnet_graph_free(k->g);
    seqnet_context_free(k->ctx);
    return m;
}

/* A model; dropout > 0 adds a Dropout layer to the pooled kinds. */
static seqnet_model *build(int which, double dropout)
{
    kit k;
    seqnet_graph *g;
    seqnet_options *o;
    int32_t in, x;
    kit_begin(&k, 77);
    g = k.g;
    o = k.o;
    if (which == M_LSTM_SUM) {
        ck_assert_int_eq(seqnet_graph_input_sequence(g, TIME, 3, "x", &in), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 5), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_RETURN_SEQUENCES, 1), SEQNET_OK);
        x = add(g, o, SEQNET_LAYER_LSTM, in);
        ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 2), SEQNET_OK);
        x = add(g, o, SEQNET_LAYER_DENSE, x);
    } else {
        ck_assert_int_eq(seqnet_graph_input_tokens(g, TIME, "ids", &in), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, VOCAB), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, 6), SEQNET_OK);
        if (which != M_FLATTEN)
            ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_MASK_ZERO, 1), SEQNET_OK);
        x = add(g, o, SEQNET_LAYER_EMBEDDING, in);
        if (which == M_SEQ_LABELS) {
            ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 5), SEQNET_OK);
            ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_RETURN_SEQUENCES, 1),
                             SEQNET_OK);
            x = add(g, o, SEQNET_LAYER_SIMPLE_RNN, x);
            ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 3), SEQNET_OK);
            ck_assert_int_eq(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "softmax"),
                             SEQNET_OK);
            x = add(g, o, SEQNET_LAYER_DENSE, x);
        } else {
            /* Pooled: the fused embedding + average pooling backward;
             * flatten: the plain embedding backward. */
            x = add(g, o, which == M_FLATTEN ? SEQNET_LAYER_FLATTEN
                                             : SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, x);
            if (dropout > 0) {
                ck_assert_int_eq(seqnet_options_set_float(o, SEQNET_OPT_RATE, dropout),
                                 SEQNET_OK);
                x = add(g, o, SEQNET_LAYER_DROPOUT, x);
            }
            ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 8), SEQNET_OK);
            ck_assert_int_eq(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "relu"),
                             SEQNET_OK);
            x = add(g, o, SEQNET_LAYER_DENSE, x);
            if (which == M_BATCHNORM)
                x = add(g, o, SEQNET_LAYER_BATCH_NORMALIZATION, x);
            ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1), SEQNET_OK);
            ck_assert_int_eq(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "sigmoid"),
                             SEQNET_OK);
            x = add(g, o, SEQNET_LAYER_DENSE, x);
        }
    }
    return kit_end(&k, in, x);
}

/* Data for a model: n rows. Token rows are post-padded to random lengths;
 * the per-step labels of M_SEQ_LABELS ignore some steps (-1), so that the
 * slices' counted elements are not proportional to their rows. */
typedef struct dataset {
    int32_t ids[64 * TIME];
    float x[64 * TIME * 3];
    float y[64 * TIME * 2];
    float sw[64];
    int32_t n;
    seqnet_data *d;
    seqnet_context *ctx;
} dataset;

static void make_data(dataset *ds, int which, int32_t n, uint64_t seed, int with_weights)
{
    rel_rng r = {seed};
    int32_t i, t, f;
    ck_assert(n <= 64);
    memset(ds->ids, 0, sizeof ds->ids);
    ds->n = n;
    for (i = 0; i < n; i++) {
        int32_t len = 1 + (int32_t)rel_below(&r, TIME);
        int score = 0;
        for (t = 0; t < TIME; t++) {
            int32_t id = t < len ? 1 + (int32_t)rel_below(&r, VOCAB - 1) : 0;
            ds->ids[i * TIME + t] = id;
            score += id > 0 && id < VOCAB / 2;
            if (which == M_SEQ_LABELS)
                ds->y[i * TIME + t] = rel_below(&r, 4) == 0 ? -1.0f
                                                             : (float)(id % 3);
            for (f = 0; f < 3; f++)
                ds->x[(i * TIME + t) * 3 + f] = (float)rel_below(&r, 1000) / 500.0f - 1.0f;
            if (which == M_LSTM_SUM) {
                ds->y[(i * TIME + t) * 2] = ds->x[(i * TIME + t) * 3] * 0.5f;
                ds->y[(i * TIME + t) * 2 + 1] = (float)t / TIME;
            }
        }
        if (which != M_SEQ_LABELS && which != M_LSTM_SUM)
            ds->y[i] = score * 2 > len ? 1.0f : 0.0f;
        ds->sw[i] = 0.25f + (float)rel_below(&r, 8) / 4.0f;
    }
    ck_assert_int_eq(seqnet_context_new(&ds->ctx), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_new(ds->ctx, &ds->d), SEQNET_OK);
    if (which == M_LSTM_SUM) {
        ck_assert_int_eq(seqnet_data_set_floats(ds->d, 0, ds->x, n, TIME, 3), SEQNET_OK);
        ck_assert_int_eq(seqnet_data_set_targets(ds->d, 0, ds->y, n, TIME, 2), SEQNET_OK);
    } else {
        ck_assert_int_eq(seqnet_data_set_tokens(ds->d, 0, ds->ids, n, TIME), SEQNET_OK);
        ck_assert_int_eq(seqnet_data_set_targets(ds->d, 0, ds->y, n,
                                                 which == M_SEQ_LABELS ? TIME : 0, 1),
                         SEQNET_OK);
    }
    if (with_weights)
        ck_assert_int_eq(seqnet_data_set_sample_weights(ds->d, ds->sw, n), SEQNET_OK);
}

static void free_dataset(dataset *ds)
{
    seqnet_data_free(ds->d);
    seqnet_context_free(ds->ctx);
    free(ds);
}

/* Everything a one-thread / several-threads comparison made. */
static void free_pair(dataset *ds, weights *w0, weights *w1, weights *w2, seqnet_trainer *t1,
                      seqnet_trainer *t2, seqnet_model *m1, seqnet_model *m2)
{
    free(w0);
    free(w1);
    free(w2);
    free_dataset(ds);
    seqnet_trainer_free(t1);
    seqnet_trainer_free(t2);
    seqnet_model_free(m1);
    seqnet_model_free(m2);
}

static seqnet_trainer *make_trainer(seqnet_model *m, int which, int threads, int optimizer)
{
    seqnet_trainer *t = NULL;
    int loss = which == M_SEQ_LABELS   ? SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY
               : which == M_LSTM_SUM ? SEQNET_LOSS_MEAN_SQUARED_ERROR
                                     : SEQNET_LOSS_BINARY_CROSSENTROPY;
    ck_assert_int_eq(seqnet_trainer_new(m, &t), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_loss(t, 0, loss), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_optimizer(t, optimizer), SEQNET_OK);
    if (optimizer == SEQNET_OPTIMIZER_SGD)
        ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_LEARNING_RATE,
                                                  which == M_LSTM_SUM ? 0.05 : 0.5),
                         SEQNET_OK);
    if (which == M_LSTM_SUM)
        ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_LOSS_REDUCTION,
                                                  SEQNET_REDUCTION_SUM_OVER_STEPS),
                         SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_THREADS, threads), SEQNET_OK);
    return t;
}

/* Largest |a - b| relative to max(|b|, 1e-3)... and the largest move. */
static double max_rel_diff(const weights *a, const weights *b)
{
    double worst = 0.0;
    size_t i;
    ck_assert_uint_eq(a->n, b->n);
    for (i = 0; i < a->n; i++) {
        double d = fabs((double)a->w[i] - (double)b->w[i]) / fmax(fabs((double)b->w[i]), 1e-2);
        if (d > worst)
            worst = d;
    }
    return worst;
}

static double max_abs_move(const weights *a, const weights *b)
{
    double worst = 0.0;
    size_t i;
    for (i = 0; i < a->n; i++)
        worst = fmax(worst, fabs((double)a->w[i] - (double)b->w[i]));
    return worst;
}

/* Two SGD steps on one batch with `threads`, against one thread, from the
 * same initial weights (no dropout: its draws differ by design). */
static void split_step_matches(int which, int32_t n, int threads, int with_weights)
{
    seqnet_model *m1 = build(which, 0), *m2 = build(which, 0);
    seqnet_trainer *t1 = make_trainer(m1, which, 1, SEQNET_OPTIMIZER_SGD);
    seqnet_trainer *t2 = make_trainer(m2, which, threads, SEQNET_OPTIMIZER_SGD);
    dataset *ds = calloc(1, sizeof *ds);
    weights *w0 = malloc(sizeof *w0), *w1 = malloc(sizeof *w1), *w2 = malloc(sizeof *w2);
    double l1 = 0, l2 = 0, rel, move;
    int step;
    ck_assert(ds != NULL && w0 != NULL && w1 != NULL && w2 != NULL);
    make_data(ds, which, n, 1000u + (uint64_t)which, with_weights);
    get_weights(m1, w0);
    for (step = 0; step < 2; step++) {
        ck_assert_int_eq(seqnet_trainer_train_batch(t1, ds->d, &l1), SEQNET_OK);
        ck_assert_msg(seqnet_trainer_train_batch(t2, ds->d, &l2) == SEQNET_OK, "%s",
                      seqnet_errmsg(t2));
        ck_assert_msg(fabs(l1 - l2) <= 1e-5 * fmax(fabs(l1), 1.0),
                      "model %d, %d threads, step %d: loss %.9g vs %.9g on one thread", which,
                      threads, step, l2, l1);
    }
    get_weights(m1, w1);
    get_weights(m2, w2);
    rel = max_rel_diff(w2, w1);
    move = max_abs_move(w1, w0);
    printf("model %d, batch %d, %d threads: largest weight move %.3g, largest relative "
           "difference from one thread %.3g\n",
           which, (int)n, threads, move, rel);
    ck_assert_msg(move > 1e-2, "the steps hardly moved the weights (%.3g): a weak test", move);
    ck_assert_msg(rel < 2e-4, "model %d, %d threads: weights differ from one thread by %.3g",
                  which, threads, rel);
    free_pair(ds, w0, w1, w2, t1, t2, m1, m2);
}

START_TEST(split_step_matches_one_thread_seq_labels)
{
    split_step_matches(M_SEQ_LABELS, 10, 3, 0);
    split_step_matches(M_SEQ_LABELS, 16, 2, 1);
    split_step_matches(M_SEQ_LABELS, 7, 4, 1);
}
END_TEST

START_TEST(split_step_matches_one_thread_lstm_sum_over_steps)
{
    split_step_matches(M_LSTM_SUM, 12, 2, 1);
    split_step_matches(M_LSTM_SUM, 5, 3, 0);
}
END_TEST

START_TEST(split_step_matches_one_thread_embeddings)
{
    /* Row-sparse gradients: rows touched by one slice, by several, and
     * the fused (pooled) and plain (flatten) embedding backwards. */
    split_step_matches(M_POOLED, 16, 2, 0);
    split_step_matches(M_POOLED, 13, 3, 1);
    split_step_matches(M_FLATTEN, 16, 2, 1);
    split_step_matches(M_FLATTEN, 2, 8, 0);
}
END_TEST

/* A whole fit with dropout and shuffling on `threads` threads. */
/* evaluate (and so fit's validation) split over `threads` gives the loss
 * of one thread to rounding and the same metric, on batches that do not
 * divide evenly, after a few steps of training (the same weights on both
 * sides: the models start equal and are trained on one thread). */
static void split_evaluate_matches(int which, int32_t n, int32_t batch, int threads, int with_weights)
{
    seqnet_model *m = build(which, 0);
    seqnet_trainer *t1 = make_trainer(m, which, 1, SEQNET_OPTIMIZER_SGD);
    seqnet_trainer *t2 = make_trainer(m, which, threads, SEQNET_OPTIMIZER_SGD);
    dataset *ds = calloc(1, sizeof *ds);
    int metric = which == M_SEQ_LABELS ? SEQNET_METRIC_SPARSE_CATEGORICAL_ACCURACY
                 : which == M_LSTM_SUM ? SEQNET_METRIC_MEAN_ABSOLUTE_ERROR
                                       : SEQNET_METRIC_BINARY_ACCURACY;
    double l, a[2] = {0, 0}, b[2] = {0, 0};
    int step;
    ck_assert(ds != NULL);
    make_data(ds, which, n, 77u + (uint64_t)which, with_weights);
    ck_assert_int_eq(seqnet_trainer_add_metric(t1, 0, metric), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_add_metric(t2, 0, metric), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t1, SEQNET_TRAIN_BATCH_SIZE, batch), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t2, SEQNET_TRAIN_BATCH_SIZE, batch), SEQNET_OK);
    for (step = 0; step < 3; step++)
        ck_assert_int_eq(seqnet_trainer_train_batch(t1, ds->d, &l), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_evaluate(t1, ds->d, a, 2), SEQNET_OK);
    ck_assert_msg(seqnet_trainer_evaluate(t2, ds->d, b, 2) == SEQNET_OK, "%s", seqnet_errmsg(t2));
    printf("model %d, %d rows in batches of %d, %d threads: evaluate loss %.9g / %.9g, metric "
           "%.9g / %.9g\n", which, (int)n, (int)batch, threads, b[0], a[0], b[1], a[1]);
    ck_assert_msg(fabs(a[0] - b[0]) <= 1e-6 * fmax(fabs(a[0]), 1e-3),
                  "model %d, %d threads: loss %.9g vs %.9g on one thread", which, threads, b[0], a[0]);
    if (metric == SEQNET_METRIC_MEAN_ABSOLUTE_ERROR)
        ck_assert(fabs(a[1] - b[1]) <= 1e-6 * fmax(fabs(a[1]), 1e-3));
    else
        ck_assert_msg(a[1] == b[1], "accuracy %.9g vs %.9g on one thread", b[1], a[1]);
    free_dataset(ds);
    seqnet_trainer_free(t1);
    seqnet_trainer_free(t2);
    seqnet_model_free(m);
}

START_TEST(split_evaluate_matches_one_thread)
{
    split_evaluate_matches(M_POOLED, 29, 8, 2, 0);
    split_evaluate_matches(M_POOLED, 29, 16, 3, 1);
    split_evaluate_matches(M_SEQ_LABELS, 21, 10, 4, 1);
    split_evaluate_matches(M_LSTM_SUM, 13, 7, 2, 1);
    split_evaluate_matches(M_FLATTEN, 9, 64, 8, 0);
}
END_TEST

/* A pooled embedding over a large vocabulary, for the row-sparse update
 * split over the trainer's threads (it takes that path from 2048 touched
 * rows). */
#define BIG_VOCAB 6000
#define BIG_TIME 2600

/* pooling: SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D (fused with the
 * embedding: its steps share their work on the threads), or _MAX or
 * FLATTEN (their steps are split); dropout > 0 adds a Dropout after the pooling, mask_zero makes
 * id 0 padding. */
static seqnet_model *build_big_with(int pooling, double dropout, int mask_zero)
{
    kit k;
    int32_t in, x;
    kit_begin(&k, 5);
    ck_assert_int_eq(seqnet_graph_input_tokens(k.g, BIG_TIME, "ids", &in), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_int(k.o, SEQNET_OPT_INPUT_DIM, BIG_VOCAB), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_int(k.o, SEQNET_OPT_OUTPUT_DIM, 4), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_int(k.o, SEQNET_OPT_MASK_ZERO, mask_zero), SEQNET_OK);
    x = add(k.g, k.o, SEQNET_LAYER_EMBEDDING, in);
    seqnet_options_clear(k.o);
    x = add(k.g, k.o, pooling, x);
    if (dropout > 0) {
        ck_assert_int_eq(seqnet_options_set_float(k.o, SEQNET_OPT_RATE, dropout), SEQNET_OK);
        x = add(k.g, k.o, SEQNET_LAYER_DROPOUT, x);
        seqnet_options_clear(k.o);
        ck_assert_int_eq(seqnet_options_set_int(k.o, SEQNET_OPT_UNITS, 3), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_string(k.o, SEQNET_OPT_ACTIVATION, "tanh"), SEQNET_OK);
        x = add(k.g, k.o, SEQNET_LAYER_DENSE, x);
    }
    ck_assert_int_eq(seqnet_options_set_int(k.o, SEQNET_OPT_UNITS, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_string(k.o, SEQNET_OPT_ACTIVATION, "sigmoid"), SEQNET_OK);
    x = add(k.g, k.o, SEQNET_LAYER_DENSE, x);
    return kit_end(&k, in, x);
}

/* Three Adam steps on the big table with `threads`, batches of `rows` rows
 * (ids[step]: rows x BIG_TIME); the table before (when start is not NULL)
 * and after. */
static void train_big_with(int pooling, int threads, int32_t rows, const int32_t *ids,
                           const float *y, float *start, float *table)
{
    seqnet_model *m = build_big_with(pooling, 0, 0);
    seqnet_trainer *t = make_trainer(m, M_POOLED, threads, SEQNET_OPTIMIZER_ADAM);
    seqnet_context *ctx = NULL;
    seqnet_data *d = NULL;
    double loss;
    int step;
    ck_assert_int_eq(seqnet_context_new(&ctx), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_new(ctx, &d), SEQNET_OK);
    if (start != NULL)
        ck_assert_int_eq(seqnet_model_get_weight(m, 1, 0, start, BIG_VOCAB * 4), SEQNET_OK);
    for (step = 0; step < 3; step++) {
        ck_assert_int_eq(seqnet_data_set_tokens(d, 0, ids + (size_t)step * rows * BIG_TIME, rows, BIG_TIME),
                         SEQNET_OK);
        ck_assert_int_eq(seqnet_data_set_targets(d, 0, y, rows, 0, 1), SEQNET_OK);
        ck_assert_msg(seqnet_trainer_train_batch(t, d, &loss) == SEQNET_OK, "%s", seqnet_errmsg(t));
    }
    ck_assert_int_eq(seqnet_model_get_weight(m, 1, 0, table, BIG_VOCAB * 4), SEQNET_OK);
    seqnet_data_free(d);
    seqnet_context_free(ctx);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
}

static void train_big(int threads, int32_t rows, const int32_t *ids, const float *y, float *start,
                      float *table)
{
    train_big_with(SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, threads, rows, ids, y, start, table);
}

static void random_ids(int32_t *ids, size_t n, uint64_t seed)
{
    rel_rng r = {seed};
    size_t i;
    for (i = 0; i < n; i++)
        ids[i] = (int32_t)rel_below(&r, BIG_VOCAB);
}

/* Batches of one row are not split, so both trainers compute the same
 * gradients; the 2- and 3-thread ones then update the ~2,300 touched rows
 * of each step on their threads, with Adam replaying the steps rows
 * missed. The tables must come out bit for bit equal. */
START_TEST(threaded_row_update_is_bit_identical)
{
    static int32_t ids[3 * BIG_TIME];
    static float table[3][BIG_VOCAB * 4], start[BIG_VOCAB * 4];
    float y = 1.0f;
    int threads, i, moved = 0;
    random_ids(ids, 3 * BIG_TIME, 4242);
    for (threads = 1; threads <= 3; threads++) {
        train_big(threads, 1, ids, &y, threads == 1 ? start : NULL, table[threads - 1]);
        if (threads > 1)
            ck_assert_msg(memcmp(table[threads - 1], table[0], sizeof table[0]) == 0,
                          "%d threads: the embedding differs from one thread's", threads);
    }
    /* and the steps did move the table (most rows were touched by a step) */
    for (i = 0; i < BIG_VOCAB; i++)
        moved += memcmp(table[0] + 4 * i, start + 4 * i, 4 * sizeof(float)) != 0;
    printf("row-sparse update on threads: %d of %d rows moved; 2 and 3 threads bit-identical to one\n",
           moved, BIG_VOCAB);
    ck_assert_int_gt(moved, BIG_VOCAB * 2 / 3);
}
END_TEST

/* Batches of two rows over the same table are split (one row per slice):
 * the slices' row gradients are merged on the threads (from 2048 rows),
 * then updated there. Against one thread: equal to rounding, every row
 * moved the same; two runs with 2 threads: bit-identical. Flatten: an
 * average pooling would share each step's work instead of splitting it. */
START_TEST(threaded_row_merge_matches_one_thread)
{
    static int32_t ids[3 * 2 * BIG_TIME];
    static float table[4][BIG_VOCAB * 4], start[BIG_VOCAB * 4];
    float y[2] = {1.0f, 0.0f};
    int run, i;
    double worst = 0.0;
    random_ids(ids, 3 * 2 * BIG_TIME, 99);
    for (run = 0; run < 4; run++) /* threads 1, 2, 2, 3 */
        train_big_with(SEQNET_LAYER_FLATTEN, run == 0 ? 1 : run == 3 ? 3 : 2, 2, ids,
                       y, run == 0 ? start : NULL, table[run]);
    ck_assert_msg(memcmp(table[1], table[2], sizeof table[1]) == 0, "two 2-thread runs differ");
    for (run = 1; run < 4; run++)
        for (i = 0; i < BIG_VOCAB * 4; i++) {
            double moved0 = fabs((double)table[0][i] - start[i]);
            double moved = fabs((double)table[run][i] - start[i]);
            worst = fmax(worst, fabs((double)table[run][i] - table[0][i]));
            /* a row the merge lost would not move at all */
            ck_assert_msg((moved0 == 0.0) == (moved == 0.0), "run %d: weight %d moved %g against %g", run,
                          i, moved, moved0);
        }
    printf("row-sparse merge on threads: largest difference from one thread %.3g\n", worst);
    ck_assert(worst < 1e-6);
}
END_TEST

/* All of a model's weights, in a block of its own (free it). */
static float *all_weights(const seqnet_model *m, size_t *n)
{
    int32_t l, w;
    size_t total = 0, at = 0;
    float *out;
    for (l = 0; l < seqnet_model_n_layers(m); l++)
        for (w = 0; w < seqnet_model_layer_n_weights(m, l); w++) {
            int64_t count;
            ck_assert_int_eq(seqnet_model_weight_info(m, l, w, NULL, NULL, NULL, &count),
                             SEQNET_OK);
            total += (size_t)count;
        }
    out = malloc(total * sizeof *out);
    ck_assert(out != NULL);
    for (l = 0; l < seqnet_model_n_layers(m); l++)
        for (w = 0; w < seqnet_model_layer_n_weights(m, l); w++) {
            int64_t count;
            ck_assert_int_eq(seqnet_model_weight_info(m, l, w, NULL, NULL, NULL, &count),
                             SEQNET_OK);
            ck_assert_int_eq(seqnet_model_get_weight(m, l, w, out + at, count), SEQNET_OK);
            at += (size_t)count;
        }
    *n = total;
    return out;
}

#define SHARED_ROWS 5
#define SHARED_STEPS 3

/* What a run of shared_run saw: each step's loss, evaluate's loss and
 * accuracy, and the weights. */
typedef struct shared_result {
    double loss[SHARED_STEPS], eval[2];
    float *w;
    size_t n;
} shared_result;

/* Adam steps with dropout on post-padded rows (one row all padding), then
 * an evaluate, on `threads` threads. When bad_id is set, the last step's
 * batch has an id out of range in its last row first: that step must fail
 * with SEQNET_ERANGE and change nothing, and is then retried with the good
 * batch. */
static void shared_run(int pooling, int threads, int bad_id, shared_result *r)
{
    static int32_t ids[SHARED_STEPS][SHARED_ROWS * BIG_TIME];
    static const int32_t lengths[SHARED_ROWS] = {BIG_TIME, 1900, 0, 777, 2401};
    float y[SHARED_ROWS] = {1, 0, 1, 1, 0};
    seqnet_model *m = build_big_with(pooling, 0.3, 1);
    seqnet_trainer *t = make_trainer(m, M_POOLED, threads, SEQNET_OPTIMIZER_ADAM);
    seqnet_context *ctx = NULL;
    seqnet_data *d = NULL;
    rel_rng rng = {321};
    int step, row, i;
    ck_assert_int_eq(seqnet_context_new(&ctx), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_new(ctx, &d), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_add_metric(t, 0, SEQNET_METRIC_BINARY_ACCURACY), SEQNET_OK);
    for (step = 0; step < SHARED_STEPS; step++)
        for (row = 0; row < SHARED_ROWS; row++)
            for (i = 0; i < BIG_TIME; i++)
                ids[step][row * BIG_TIME + i] =
                    i < lengths[row] ? 1 + (int32_t)rel_below(&rng, BIG_VOCAB - 1) : 0;
    for (step = 0; step < SHARED_STEPS; step++) {
        ck_assert_int_eq(seqnet_data_set_tokens(d, 0, ids[step], SHARED_ROWS, BIG_TIME), SEQNET_OK);
        ck_assert_int_eq(seqnet_data_set_targets(d, 0, y, SHARED_ROWS, 0, 1), SEQNET_OK);
        if (bad_id && step == SHARED_STEPS - 1) {
            size_t n0, n1;
            float *before = all_weights(m, &n0), *after;
            int32_t keep = ids[step][SHARED_ROWS * BIG_TIME - 7];
            double loss = 0;
            ids[step][SHARED_ROWS * BIG_TIME - 7] = BIG_VOCAB + 11;
            ck_assert_int_eq(seqnet_trainer_train_batch(t, d, &loss), SEQNET_ERANGE);
            ck_assert_msg(strstr(seqnet_errmsg(t), "6011") != NULL, "message: %s",
                          seqnet_errmsg(t));
            after = all_weights(m, &n1);
            ck_assert(n0 == n1 && memcmp(before, after, n0 * sizeof *before) == 0);
            free(before);
            free(after);
            ids[step][SHARED_ROWS * BIG_TIME - 7] = keep;
        }
        ck_assert_msg(seqnet_trainer_train_batch(t, d, &r->loss[step]) == SEQNET_OK, "%s",
                      seqnet_errmsg(t));
    }
    ck_assert_int_eq(seqnet_trainer_evaluate(t, d, r->eval, 2), SEQNET_OK);
    r->w = all_weights(m, &r->n);
    seqnet_data_free(d);
    seqnet_context_free(ctx);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
}

/* The pooled embedding over long rows (Embedding -> GlobalAveragePooling1D
 * fused, the rest small): the trainer's threads share the work of each
 * step, the forward by samples and the backward by table rows, instead of
 * splitting the batch. Every step's loss, evaluate and every weight are one
 * thread's bit for bit, with dropout (a split step would draw a second
 * slice's dropout from its own stream, and could not be), with padding and
 * a row of padding only, and after a bad id that was refused. The same
 * model with max pooling is split (and so differs). */
START_TEST(shared_step_is_bit_identical_to_one_thread)
{
    shared_result one, many, split1, split2;
    int threads, step;
    shared_run(SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, 1, 0, &one);
    for (threads = 2; threads <= 3; threads++) {
        shared_run(SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, threads, threads == 3, &many);
        for (step = 0; step < SHARED_STEPS; step++)
            ck_assert_msg(many.loss[step] == one.loss[step], "%d threads, step %d: loss %.17g vs %.17g",
                          threads, step, many.loss[step], one.loss[step]);
        ck_assert(many.eval[0] == one.eval[0] && many.eval[1] == one.eval[1]);
        ck_assert_uint_eq(many.n, one.n);
        ck_assert_msg(memcmp(many.w, one.w, one.n * sizeof *one.w) == 0,
                      "%d threads: the weights differ from one thread's", threads);
        free(many.w);
    }
    printf("shared steps: losses %.6f %.6f %.6f on 1, 2 and 3 threads, bit for bit\n", one.loss[0],
           one.loss[1], one.loss[2]);
    shared_run(SEQNET_LAYER_GLOBAL_MAX_POOLING1D, 1, 0, &split1);
    shared_run(SEQNET_LAYER_GLOBAL_MAX_POOLING1D, 2, 0, &split2);
    ck_assert_msg(memcmp(split1.w, split2.w, split1.n * sizeof *split1.w) != 0,
                  "max pooling on 2 threads gave one thread's weights: the steps were not split");
    free(one.w);
    free(split1.w);
    free(split2.w);
}
END_TEST

static void fit_model(int which, int threads, weights *w, double *first_loss, double *last_loss)
{
    seqnet_model *m = build(which, 0.25);
    seqnet_trainer *t = make_trainer(m, which, threads, SEQNET_OPTIMIZER_ADAM);
    dataset *ds = calloc(1, sizeof *ds);
    double v;
    int32_t epochs;
    ck_assert(ds != NULL);
    make_data(ds, which, 64, 4242u, 0);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_LEARNING_RATE, 0.01), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_BATCH_SIZE, 16), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_EPOCHS, 30), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_SEED, 5), SEQNET_OK);
    ck_assert_msg(seqnet_trainer_fit(t, ds->d, NULL) == SEQNET_OK, "%s", seqnet_errmsg(t));
    epochs = seqnet_trainer_history_len(t);
    ck_assert_int_eq(epochs, 30);
    ck_assert_int_eq(seqnet_trainer_history_value(t, 0, 0, 0, &v), SEQNET_OK);
    *first_loss = v;
    ck_assert_int_eq(seqnet_trainer_history_value(t, epochs - 1, 0, 0, &v), SEQNET_OK);
    *last_loss = v;
    get_weights(m, w);
    free_dataset(ds);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
}

START_TEST(threaded_fit_is_deterministic_and_learns)
{
    static const int kinds[] = {M_POOLED, M_SEQ_LABELS};
    weights *a = malloc(sizeof *a), *b = malloc(sizeof *b), *one = malloc(sizeof *one);
    size_t i;
    ck_assert(a != NULL && b != NULL && one != NULL);
    for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        double fa, la, fb, lb, f1, l1;
        fit_model(kinds[i], 2, a, &fa, &la);
        fit_model(kinds[i], 2, b, &fb, &lb);
        fit_model(kinds[i], 1, one, &f1, &l1);
        printf("fit of model %d: loss %.4f -> %.4f on 2 threads, %.4f -> %.4f on one\n",
               kinds[i], fa, la, f1, l1);
        ck_assert_uint_eq(a->n, b->n);
        ck_assert_msg(memcmp(a->w, b->w, a->n * sizeof a->w[0]) == 0,
                      "two fits on 2 threads differ");
        ck_assert(fa == fb && la == lb);
        /* Both learn, and about as well (dropout draws differ). */
        ck_assert_msg(la < 0.8 * fa, "2 threads: loss %.4f -> %.4f", fa, la);
        ck_assert_msg(l1 < 0.8 * f1, "1 thread: loss %.4f -> %.4f", f1, l1);
        ck_assert_msg(fabs(la - l1) < 0.25 * l1 + 0.02, "final loss %.4f vs %.4f", la, l1);
        /* The pooled model has dropout: its second slice draws from a
         * stream of its own, so a fit that really split its steps cannot
         * end on one thread's weights. */
        if (kinds[i] == M_POOLED)
            ck_assert_msg(memcmp(a->w, one->w, a->n * sizeof a->w[0]) != 0,
                          "2 threads gave one thread's weights: the steps were not split");
    }
    free(a);
    free(b);
    free(one);
}
END_TEST

START_TEST(unsplittable_model_trains_as_on_one_thread)
{
    /* BatchNormalization needs the whole batch's statistics: the step
     * stays on one thread, bit for bit. */
    weights *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    double fa, la, fb, lb;
    ck_assert(a != NULL && b != NULL);
    fit_model(M_BATCHNORM, 2, a, &fa, &la);
    fit_model(M_BATCHNORM, 1, b, &fb, &lb);
    ck_assert_uint_eq(a->n, b->n);
    ck_assert(memcmp(a->w, b->w, a->n * sizeof a->w[0]) == 0);
    ck_assert(la == lb);
    free(a);
    free(b);
}
END_TEST

START_TEST(error_in_a_slice_is_reported_and_leaves_nothing_behind)
{
    seqnet_model *m1 = build(M_FLATTEN, 0), *m2 = build(M_FLATTEN, 0);
    seqnet_trainer *t1 = make_trainer(m1, M_FLATTEN, 1, SEQNET_OPTIMIZER_SGD);
    seqnet_trainer *t2 = make_trainer(m2, M_FLATTEN, 2, SEQNET_OPTIMIZER_SGD);
    dataset *ds = calloc(1, sizeof *ds);
    weights *w0 = malloc(sizeof *w0), *w1 = malloc(sizeof *w1), *w2 = malloc(sizeof *w2);
    double l1, l2;
    int st;
    ck_assert(ds != NULL && w0 != NULL && w1 != NULL && w2 != NULL);
    make_data(ds, M_FLATTEN, 16, 99u, 0);
    /* A good step first: the second slice's row bookkeeping is in use. */
    ck_assert_int_eq(seqnet_trainer_train_batch(t1, ds->d, &l1), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_train_batch(t2, ds->d, &l2), SEQNET_OK);
    get_weights(m2, w0);
    /* An id out of range in the last row: the second slice's. */
    ds->ids[15 * TIME + 2] = VOCAB + 5;
    st = seqnet_trainer_train_batch(t2, ds->d, &l2);
    ck_assert_int_eq(st, SEQNET_ERANGE);
    ck_assert_msg(strstr(seqnet_errmsg(t2), "45") != NULL, "message: %s", seqnet_errmsg(t2));
    get_weights(m2, w2);
    ck_assert(memcmp(w0->w, w2->w, w0->n * sizeof w0->w[0]) == 0);
    ck_assert_int_eq(seqnet_trainer_train_batch(t1, ds->d, &l1), SEQNET_ERANGE);
    /* Then the same good batch again on both: still in agreement. */
    ds->ids[15 * TIME + 2] = 3;
    ck_assert_int_eq(seqnet_trainer_train_batch(t1, ds->d, &l1), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_train_batch(t2, ds->d, &l2), SEQNET_OK);
    get_weights(m1, w1);
    get_weights(m2, w2);
    ck_assert_msg(max_rel_diff(w2, w1) < 2e-4, "after an error: %.3g", max_rel_diff(w2, w1));
    free_pair(ds, w0, w1, w2, t1, t2, m1, m2);
}
END_TEST

START_TEST(threads_parameter_is_validated)
{
    seqnet_model *m = build(M_POOLED, 0);
    seqnet_trainer *t = NULL;
    double v = 0;
    ck_assert_int_eq(seqnet_trainer_new(m, &t), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_get_param(t, SEQNET_TRAIN_THREADS, &v), SEQNET_OK);
    ck_assert(v == 1.0);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_THREADS, 0), SEQNET_EINVAL);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_THREADS, 65), SEQNET_EINVAL);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_THREADS, 2.5), SEQNET_EINVAL);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_THREADS, NAN), SEQNET_EINVAL);
    ck_assert(strstr(seqnet_errmsg(t), "not finite") != NULL);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_THREADS, 64), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_get_param(t, SEQNET_TRAIN_THREADS, &v), SEQNET_OK);
    ck_assert(v == 64.0);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
}
END_TEST

/* ---- allocation failures with threads ---- */

/* An allocator that refuses the Nth allocation; the trainer's threads call
 * it too, hence the lock. */
typedef struct fail_alloc {
    pthread_mutex_t mu;
    long count, fail_at, live;
    int failed;
} fail_alloc;

static int refuse(fail_alloc *f)
{
    int no;
    pthread_mutex_lock(&f->mu);
    no = ++f->count == f->fail_at;
    f->failed |= no;
    pthread_mutex_unlock(&f->mu);
    return no;
}

static void *fa_alloc(void *user, size_t size)
{
    fail_alloc *f = user;
    void *p;
    if (refuse(f))
        return NULL;
    p = malloc(size);
    pthread_mutex_lock(&f->mu);
    f->live += p != NULL;
    pthread_mutex_unlock(&f->mu);
    return p;
}

static void *fa_realloc(void *user, void *ptr, size_t old_size, size_t size)
{
    fail_alloc *f = user;
    void *p;
    (void)old_size;
    if (refuse(f))
        return NULL;
    p = realloc(ptr, size);
    if (ptr == NULL && p != NULL) {
        pthread_mutex_lock(&f->mu);
        f->live++;
        pthread_mutex_unlock(&f->mu);
    }
    return p;
}

static void fa_free(void *user, void *ptr, size_t size)
{
    fail_alloc *f = user;
    (void)size;
    if (ptr == NULL)
        return;
    pthread_mutex_lock(&f->mu);
    f->live--;
    pthread_mutex_unlock(&f->mu);
    free(ptr);
}

/* Build a model and a 3-thread trainer through the failing allocator and
 * take three steps; returns the first status that was not OK (or OK), and
 * whether the steps that met a failure trained once retried. */
/* pooled: Embedding -> GlobalAveragePooling1D -> Dense over rows of
 * LONG_TIME ids (its steps share their work on the threads); otherwise
 * Embedding -> GRU -> Dense over TIME (its steps are split). */
#define LONG_TIME 400
static int alloc_scenario(fail_alloc *f, int *retried_ok, int pooled)
{
    seqnet_context *ctx = NULL;
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    seqnet_trainer *t = NULL;
    seqnet_data *d = NULL;
    static int32_t ids[12 * LONG_TIME];
    static float y[12];
    int32_t in, x, i, time = pooled ? LONG_TIME : TIME;
    int st, step;
    double loss;
    *retried_ok = 1;
    for (i = 0; i < 12 * time; i++)
        ids[i] = (i * 7) % VOCAB;
    for (i = 0; i < 12; i++)
        y[i] = (float)(i & 1);
    st = seqnet_context_new_with_allocator(fa_alloc, fa_realloc, fa_free, f, &ctx);
    if (st != SEQNET_OK)
        return st;
#define TRY(call)                                                                                 \
    do {                                                                                          \
        if ((st = (call)) != SEQNET_OK)                                                           \
            goto done;                                                                            \
    } while (0)
    TRY(seqnet_graph_new(ctx, &g));
    TRY(seqnet_options_new(ctx, &o));
    TRY(seqnet_graph_input_tokens(g, time, "ids", &in));
    TRY(seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, VOCAB));
    TRY(seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, 4));
    TRY(seqnet_options_set_int(o, SEQNET_OPT_MASK_ZERO, 1));
    TRY(rel_add(g, o, SEQNET_LAYER_EMBEDDING, in, NULL, &x));
    if (pooled) {
        TRY(rel_add(g, o, SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, x, NULL, &x));
    } else {
        TRY(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 3));
        TRY(seqnet_options_set_int(o, SEQNET_OPT_RETURN_SEQUENCES, 0));
        TRY(rel_add(g, o, SEQNET_LAYER_GRU, x, NULL, &x));
    }
    TRY(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1));
    TRY(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "sigmoid"));
    TRY(rel_add(g, o, SEQNET_LAYER_DENSE, x, NULL, &x));
    TRY(seqnet_graph_compile(g, &in, 1, &x, 1, &m));
    TRY(seqnet_trainer_new(m, &t));
    TRY(seqnet_trainer_set_loss(t, 0, SEQNET_LOSS_BINARY_CROSSENTROPY));
    TRY(seqnet_trainer_set_param(t, SEQNET_TRAIN_THREADS, 3));
    TRY(seqnet_data_new(ctx, &d));
    TRY(seqnet_data_set_tokens(d, 0, ids, 12, time));
    TRY(seqnet_data_set_targets(d, 0, y, 12, 0, 1));
    for (step = 0; step < 3; step++) {
        st = seqnet_trainer_train_batch(t, d, &loss);
        if (st == SEQNET_OK)
            continue;
        if (st != SEQNET_ENOMEM)
            goto done;
        /* Retry with memory available: the trainer must still work. */
        f->fail_at = 0;
        if (seqnet_trainer_train_batch(t, d, &loss) != SEQNET_OK || !isfinite(loss))
            *retried_ok = 0;
        st = SEQNET_ENOMEM;
        goto done;
    }
    st = SEQNET_OK;
#undef TRY
done:
    seqnet_data_free(d);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    seqnet_context_free(ctx);
    return st;
}

static void alloc_sweep(int pooled)
{
    fail_alloc f;
    long total, n;
    int retried_ok;
    memset(&f, 0, sizeof f);
    pthread_mutex_init(&f.mu, NULL);
    ck_assert_int_eq(alloc_scenario(&f, &retried_ok, pooled), SEQNET_OK);
    ck_assert_int_eq(f.live, 0);
    total = f.count;
    ck_assert(total > 20);
    for (n = 1; n <= total; n++) {
        int st;
        f.count = 0;
        f.fail_at = n;
        f.live = 0;
        f.failed = 0;
        st = alloc_scenario(&f, &retried_ok, pooled);
        ck_assert_msg(f.live == 0, "failing allocation %ld of %ld: %ld blocks leaked", n, total,
                      f.live);
        ck_assert_msg(f.failed ? st == SEQNET_ENOMEM : st == SEQNET_OK,
                      "failing allocation %ld of %ld: status %d", n, total, st);
        ck_assert_msg(retried_ok, "failing allocation %ld: the retried step failed", n);
    }
    printf("allocation failures with 3 training threads (%s): %ld allocations swept\n",
           pooled ? "shared pooled steps" : "split steps", total);
    pthread_mutex_destroy(&f.mu);
}

START_TEST(allocation_failures_with_threads_report_enomem_without_leaks)
{
    alloc_sweep(0);
    alloc_sweep(1);
}
END_TEST

static Suite *train_threads_suite(void)
{
    Suite *s = suite_create("train_threads");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, split_step_matches_one_thread_seq_labels);
    tcase_add_test(tc, split_step_matches_one_thread_lstm_sum_over_steps);
    tcase_add_test(tc, split_step_matches_one_thread_embeddings);
    tcase_add_test(tc, split_evaluate_matches_one_thread);
    tcase_add_test(tc, threaded_row_update_is_bit_identical);
    tcase_add_test(tc, threaded_row_merge_matches_one_thread);
    tcase_add_test(tc, shared_step_is_bit_identical_to_one_thread);
    tcase_add_test(tc, threaded_fit_is_deterministic_and_learns);
    tcase_add_test(tc, unsplittable_model_trains_as_on_one_thread);
    tcase_add_test(tc, error_in_a_slice_is_reported_and_leaves_nothing_behind);
    tcase_add_test(tc, threads_parameter_is_validated);
    tcase_add_test(tc, allocation_failures_with_threads_report_enomem_without_leaks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(train_threads_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
