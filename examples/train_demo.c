/*
 * train_demo.c -- a complete seqnet program: build, train, evaluate, predict.
 *
 * Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
 *
 * The task is a synthetic "sentiment" problem. A review is a sequence of
 * word ids of variable length (8 to 40 words, padded with 0 at the end):
 * ids 2..21 are "positive" words, ids 22..41 are "negative" words, the
 * rest (42..199) are neutral. The label is 1 when positive words outnumber
 * negative ones, else 0. The model is the course's pooled-embedding model:
 *
 *   tokens -> Embedding(200, 16, mask_zero) -> GlobalAveragePooling1D
 *          -> Dense(16, relu) -> Dropout(0.2) -> Dense(1, sigmoid)
 *
 * It is trained with Adam on binary cross-entropy, validated after each
 * epoch, evaluated on a held-out test set, and used through a session to
 * predict a few new reviews. Every status is checked; on failure the
 * program prints the code's text and the handle's detailed message and
 * exits 1. It exits 0 only when the held-out accuracy is at least 0.9, so
 * meson runs it as a test (`meson test -C build --suite examples`).
 *
 * Walk-through: docs/GUIDE.md.
 */
#include <seqnet/seqnet.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VOCAB 200      /* ids 0..199; 0 is padding */
#define MAXLEN 40      /* longest review; shorter ones are post-padded */
#define MINLEN 8
#define N_TRAIN 2000
#define N_VAL 500
#define N_TEST 1000
#define EPOCHS 10
#define MIN_ACCURACY 0.9

/* ---- error handling ---------------------------------------------------- */

/* Report a failed call and leave. `handle` is the object the call was made
 * on: seqnet keeps the detailed message of its last failure there. */
static void die(const char *what, int status, const void *handle)
{
    const char *detail = seqnet_errmsg(handle);
    fprintf(stderr, "train_demo: %s failed: %s%s%s\n", what, seqnet_strerror(status),
            detail[0] ? ": " : "", detail);
    exit(1);
}

/* CHECK(call, handle): evaluate a seqnet call, die on a negative status. */
#define CHECK(call, handle)                                 \
    do {                                                    \
        int check_status_ = (call);                         \
        if (check_status_ != SEQNET_OK)                     \
            die(#call, check_status_, (handle));            \
    } while (0)

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL) {
        fprintf(stderr, "train_demo: out of memory\n");
        exit(1);
    }
    return p;
}

/* ---- synthetic data ---------------------------------------------------- */

/* A small deterministic generator (xorshift64*), so every run sees the
 * same data on every platform. */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint32_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Du) >> 32);
}

static int rng_below(int n) { return (int)(rng_next() % (uint32_t)n); }

enum { POS_FIRST = 2, NEG_FIRST = 22, NEUTRAL_FIRST = 42, N_SENTIMENT_WORDS = 20 };

/* Write one review of `len` words into row[0..MAXLEN) (zeros after len)
 * and return its label. Ties are re-drawn so every label is clear-cut. */
static int make_review(int32_t *row, int len)
{
    for (;;) {
        int pos = 0, neg = 0;
        for (int t = 0; t < MAXLEN; t++) {
            int32_t id = 0;
            if (t < len) {
                int r = rng_below(100);
                if (r < 18) {
                    id = POS_FIRST + rng_below(N_SENTIMENT_WORDS);
                    pos++;
                } else if (r < 36) {
                    id = NEG_FIRST + rng_below(N_SENTIMENT_WORDS);
                    neg++;
                } else {
                    id = NEUTRAL_FIRST + rng_below(VOCAB - NEUTRAL_FIRST);
                }
            }
            row[t] = id;
        }
        if (pos != neg)
            return pos > neg;
    }
}

/* Fill ids [n, MAXLEN] and labels [n] (floats, as the trainer wants). */
static void make_set(int32_t *ids, float *labels, int n)
{
    for (int i = 0; i < n; i++) {
        int len = MINLEN + rng_below(MAXLEN - MINLEN + 1);
        labels[i] = (float)make_review(ids + (size_t)i * MAXLEN, len);
    }
}

/* ---- the training callback -------------------------------------------- */

/* Prints one line per epoch: "epoch  3/12  loss 0.4121  binary_accuracy
 * 0.8610  val_loss ...". The library never prints; the host owns the
 * terminal. Returning 0 lets training go on. */
static int on_train_event(void *user, int event, int32_t epoch, int32_t batch,
                          int32_t n_batches, const double *logs, int32_t n_logs)
{
    const seqnet_trainer *trainer = user;
    (void)batch;
    (void)n_batches;
    if (event != SEQNET_EVENT_EPOCH_END)
        return 0;
    int32_t n_train_logs = seqnet_trainer_n_logs(trainer);
    printf("epoch %2d/%d", (int)epoch + 1, EPOCHS);
    for (int32_t i = 0; i < n_logs; i++) {
        int validation = i >= n_train_logs;
        const char *name =
            seqnet_trainer_log_name(trainer, validation ? i - n_train_logs : i, validation);
        printf("  %s %.4f", name ? name : "?", logs[i]);
    }
    printf("\n");
    fflush(stdout);
    return 0;
}

/* ---- main -------------------------------------------------------------- */

int main(void)
{
    seqnet_context *ctx = NULL;
    seqnet_options *opts = NULL;
    seqnet_graph *graph = NULL;
    seqnet_model *model = NULL;
    seqnet_trainer *trainer = NULL;
    seqnet_data *train = NULL, *val = NULL, *test = NULL;
    seqnet_session *session = NULL;
    char *summary = NULL;

    printf("seqnet %s: synthetic sentiment demo\n", seqnet_version_string());

    /* 1. Data: three independent sets from one seeded generator. */
    int32_t *train_ids = xcalloc((size_t)N_TRAIN * MAXLEN, sizeof *train_ids);
    int32_t *val_ids = xcalloc((size_t)N_VAL * MAXLEN, sizeof *val_ids);
    int32_t *test_ids = xcalloc((size_t)N_TEST * MAXLEN, sizeof *test_ids);
    float *train_y = xcalloc(N_TRAIN, sizeof *train_y);
    float *val_y = xcalloc(N_VAL, sizeof *val_y);
    float *test_y = xcalloc(N_TEST, sizeof *test_y);
    make_set(train_ids, train_y, N_TRAIN);
    make_set(val_ids, val_y, N_VAL);
    make_set(test_ids, test_y, N_TEST);

    /* 2. A context: allocator, seed (same seed -> same weights and run). */
    CHECK(seqnet_context_new(&ctx), NULL);
    CHECK(seqnet_context_set_seed(ctx, 42), ctx);

    /* 3. The graph: one node per call; each layer names its input node. */
    CHECK(seqnet_graph_new(ctx, &graph), ctx);
    CHECK(seqnet_options_new(ctx, &opts), ctx);

    int32_t input, emb, pool, hidden, drop, output;
    CHECK(seqnet_graph_input_tokens(graph, 0 /* variable length */, "tokens", &input), graph);

    CHECK(seqnet_options_set_int(opts, SEQNET_OPT_INPUT_DIM, VOCAB), opts);
    CHECK(seqnet_options_set_int(opts, SEQNET_OPT_OUTPUT_DIM, 16), opts);
    CHECK(seqnet_options_set_int(opts, SEQNET_OPT_MASK_ZERO, 1), opts);
    CHECK(seqnet_graph_add(graph, SEQNET_LAYER_EMBEDDING, opts, &input, 1, NULL, &emb), graph);

    CHECK(seqnet_graph_add(graph, SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, NULL, &emb, 1, NULL,
                           &pool),
          graph);

    CHECK(seqnet_options_clear(opts), opts);
    CHECK(seqnet_options_set_int(opts, SEQNET_OPT_UNITS, 16), opts);
    CHECK(seqnet_options_set_string(opts, SEQNET_OPT_ACTIVATION, "relu"), opts);
    CHECK(seqnet_graph_add(graph, SEQNET_LAYER_DENSE, opts, &pool, 1, NULL, &hidden), graph);

    CHECK(seqnet_options_clear(opts), opts);
    CHECK(seqnet_options_set_float(opts, SEQNET_OPT_RATE, 0.2), opts);
    CHECK(seqnet_graph_add(graph, SEQNET_LAYER_DROPOUT, opts, &hidden, 1, NULL, &drop), graph);

    CHECK(seqnet_options_clear(opts), opts);
    CHECK(seqnet_options_set_int(opts, SEQNET_OPT_UNITS, 1), opts);
    CHECK(seqnet_options_set_string(opts, SEQNET_OPT_ACTIVATION, "sigmoid"), opts);
    CHECK(seqnet_graph_add(graph, SEQNET_LAYER_DENSE, opts, &drop, 1, "score", &output), graph);

    /* 4. Compile: the model copies what it needs, so the builder can go. */
    CHECK(seqnet_graph_compile(graph, &input, 1, &output, 1, &model), graph);
    seqnet_graph_free(graph);
    graph = NULL;
    seqnet_options_free(opts);
    opts = NULL;

    CHECK(seqnet_model_summary(model, &summary), model);
    printf("%s\n", summary);
    seqnet_free(summary); /* transferred to us: freed with seqnet_free */
    summary = NULL;

    /* 5. The trainer: loss, metric, optimizer, batch size, epochs. */
    CHECK(seqnet_trainer_new(model, &trainer), model);
    CHECK(seqnet_trainer_set_loss(trainer, 0, SEQNET_LOSS_BINARY_CROSSENTROPY), trainer);
    CHECK(seqnet_trainer_add_metric(trainer, 0, SEQNET_METRIC_BINARY_ACCURACY), trainer);
    CHECK(seqnet_trainer_set_optimizer(trainer, SEQNET_OPTIMIZER_ADAM), trainer);
    CHECK(seqnet_trainer_set_param(trainer, SEQNET_TRAIN_LEARNING_RATE, 0.005), trainer);
    CHECK(seqnet_trainer_set_param(trainer, SEQNET_TRAIN_BATCH_SIZE, 32), trainer);
    CHECK(seqnet_trainer_set_param(trainer, SEQNET_TRAIN_EPOCHS, EPOCHS), trainer);
    CHECK(seqnet_trainer_set_callback(trainer, on_train_event, trainer), trainer);

    /* 6. Data sets borrow the host arrays (they must outlive the sets). */
    CHECK(seqnet_data_new(ctx, &train), ctx);
    CHECK(seqnet_data_set_tokens(train, 0, train_ids, N_TRAIN, MAXLEN), train);
    CHECK(seqnet_data_set_targets(train, 0, train_y, N_TRAIN, 0, 1), train);
    CHECK(seqnet_data_new(ctx, &val), ctx);
    CHECK(seqnet_data_set_tokens(val, 0, val_ids, N_VAL, MAXLEN), val);
    CHECK(seqnet_data_set_targets(val, 0, val_y, N_VAL, 0, 1), val);
    CHECK(seqnet_data_new(ctx, &test), ctx);
    CHECK(seqnet_data_set_tokens(test, 0, test_ids, N_TEST, MAXLEN), test);
    CHECK(seqnet_data_set_targets(test, 0, test_y, N_TEST, 0, 1), test);

    /* 7. Fit, validating after each epoch. */
    CHECK(seqnet_trainer_fit(trainer, train, val), trainer);

    /* 8. Evaluate on the held-out test set: logs = loss, binary_accuracy. */
    double logs[2] = {0.0, 0.0};
    CHECK(seqnet_trainer_evaluate(trainer, test, logs, 2), trainer);
    printf("test: loss %.4f  accuracy %.4f (%d reviews)\n", logs[0], logs[1], N_TEST);

    /* 9. Predict with a session (one per thread; the model is shared).
     * The input has a variable length, so each review is fed unpadded. */
    CHECK(seqnet_session_new(model, &session), model);
    printf("predictions on new reviews:\n");
    for (int i = 0; i < 5; i++) {
        int32_t row[MAXLEN];
        int len = MINLEN + rng_below(MAXLEN - MINLEN + 1);
        int label = make_review(row, len);
        int pos = 0, neg = 0;
        for (int t = 0; t < len; t++) {
            pos += row[t] >= POS_FIRST && row[t] < NEG_FIRST;
            neg += row[t] >= NEG_FIRST && row[t] < NEUTRAL_FIRST;
        }
        CHECK(seqnet_session_set_input_tokens(session, 0, row, 1, len), session);
        CHECK(seqnet_session_run(session), session);
        float p = 0.0f;
        CHECK(seqnet_session_get_output(session, 0, &p, 1), session);
        printf("  %2d words, %2d positive, %2d negative: p(positive) = %.3f -> %s (truth %s)\n",
               len, pos, neg, (double)p, p > 0.5f ? "positive" : "negative",
               label ? "positive" : "negative");
    }

    /* 10. Free in reverse order of creation: sessions, trainers and data
     * sets before their model, everything before the context. */
    int passed = logs[1] >= MIN_ACCURACY;
    seqnet_session_free(session);
    seqnet_data_free(test);
    seqnet_data_free(val);
    seqnet_data_free(train);
    seqnet_trainer_free(trainer);
    seqnet_model_free(model);
    seqnet_context_free(ctx);
    free(train_ids);
    free(val_ids);
    free(test_ids);
    free(train_y);
    free(val_y);
    free(test_y);

    if (!passed) {
        fprintf(stderr, "train_demo: test accuracy %.4f is below %.2f\n", logs[1], MIN_ACCURACY);
        return 1;
    }
    printf("ok: test accuracy %.4f >= %.2f\n", logs[1], MIN_ACCURACY);
    return 0;
}
