/*
 * tests/reliability/test_alloc_sweep.c -- memory exhaustion (issue 8): fail
 * the Nth allocation, for every N, over a scenario that covers the whole
 * life of a text classifier:
 *
 *   context -> tokenizer (oov token, fit, texts_to_sequences) ->
 *   pad_sequences -> TF-IDF vectorizer (fit_transform, bigrams) -> graph
 *   (two inputs: token ids and the TF-IDF vector; two outputs) -> compile ->
 *   trainer (Adam, metric, validation split, shuffling, dropout) -> fit ->
 *   saver (model, trainer state, tokenizer, vectorizer, metadata) ->
 *   write_alloc -> loader (read, take model, tokenizer, vectorizer, restore
 *   a trainer) -> transform new texts with the loaded text objects ->
 *   session -> run -> outputs.
 *
 * Three sweeps, each over every N from 1 to the number of allocations
 * (allocs and reallocs) a clean run makes:
 *
 *   once     the Nth allocation fails, the others succeed. The scenario
 *            must stop with SEQNET_ENOMEM from the call that met the
 *            failure, and after freeing everything no block may be live.
 *   sticky   the Nth and every later allocation fail (memory stays
 *            exhausted, so error paths that allocate are caught too). Same
 *            checks.
 *   retry    the Nth allocation fails once; the failing call is then
 *            retried with memory available, must succeed, and the scenario
 *            goes on to the end: the objects that met the failure stayed
 *            usable. The final predictions must be bit-identical to the
 *            clean run's, except when the failure hit fit itself (fit may
 *            have taken some steps before it failed, and the retry trains
 *            again from there): then they must be valid probabilities.
 *
 * Under valgrind the sweeps take every SEQNET_SWEEP_STRIDE-th N (default
 * 1 natively, 3 under valgrind, always including N = 1 and the last);
 * set SEQNET_SWEEP_STRIDE=1 to sweep everything there too.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rel_util.h"

#define N_TRAIN 24
#define N_NEW 5
#define MAXLEN 10

/* ---- the failing allocator ---- */

typedef struct fail_alloc {
    long count;   /* allocations made (alloc + realloc) */
    long fail_at; /* 0: never fail */
    int sticky;   /* fail every allocation from fail_at on */
    int failed;   /* an allocation was refused */
    long live;    /* blocks alive */
} fail_alloc;

static int fa_refuse(fail_alloc *f)
{
    ++f->count;
    if (f->fail_at > 0 && (f->count == f->fail_at || (f->sticky && f->count > f->fail_at))) {
        f->failed = 1;
        return 1;
    }
    return 0;
}

static void *fa_alloc(void *user, size_t size)
{
    fail_alloc *f = user;
    void *p;
    if (fa_refuse(f))
        return NULL;
    p = malloc(size);
    if (p != NULL)
        f->live++;
    return p;
}

static void *fa_realloc(void *user, void *ptr, size_t old_size, size_t new_size)
{
    fail_alloc *f = user;
    (void)old_size;
    if (fa_refuse(f))
        return NULL;
    return realloc(ptr, new_size);
}

static void fa_free(void *user, void *ptr, size_t size)
{
    fail_alloc *f = user;
    (void)size;
    f->live--;
    free(ptr);
}

/* ---- the data ---- */

static const char *const train_texts[N_TRAIN] = {
    "win a free prize now", "meeting moved to monday", "free entry to win cash",
    "lunch tomorrow with the team", "claim your free cash prize", "the report is attached",
    "urgent: your account wins a prize", "see you at the meeting", "cheap pills free shipping",
    "can you review my draft", "you are a winner, claim now", "notes from monday's meeting",
    "free free free, click now", "dinner at eight?", "limited offer: win big now",
    "the build is green again", "exclusive deal, claim your cash", "call me when you land",
    "winner! free prize inside", "thanks for the review", "act now to claim the prize",
    "team lunch moved to friday", "cash prize waiting, click", "draft attached, comments welcome",
};
static const float train_labels[N_TRAIN] = {1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0,
                                             1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0};
static const char *const new_texts[N_NEW] = {
    "free cash prize, claim now", "monday meeting notes attached", "an unseen word entirely",
    "", "win win win the team lunch",
};

/* ---- the scenario ---- */

typedef struct world {
    fail_alloc fa;
    int retry;                 /* retry the first failing call once */
    int first_status;          /* status of the first failing call (0: none) */
    int first_line;            /* its line, for messages */
    const char *first_call;    /* its text */
    int first_had_failure;     /* the allocator had refused something by then */
    int retry_status;          /* status of the retry (or of a second failure) */
    const char *retry_call;
    int in_fit;                /* the first failure was in seqnet_trainer_fit */

    size_t lens[N_TRAIN], new_lens[N_NEW];
    seqnet_context *ctx;
    seqnet_tokenizer *tok, *tok2;
    int32_t *seq_ids, *new_ids;
    size_t *seq_off, *new_off;
    int32_t padded[N_TRAIN * MAXLEN], new_padded[N_NEW * MAXLEN];
    seqnet_vectorizer *vec, *vec2;
    size_t *indptr;
    int32_t *indices;
    double *vdata, *new_dense;
    size_t n_features;
    float *tfidf, *new_tfidf;
    seqnet_graph *g;
    seqnet_options *o;
    seqnet_model *m, *m2;
    seqnet_trainer *t, *t2;
    seqnet_data *d;
    seqnet_saver *saver;
    void *file;
    size_t file_size;
    seqnet_loader *loader;
    seqnet_session *s;
    float out0[N_NEW], out1[N_NEW];
    double history_loss;
} world;

/* The first failing call: remember it; 1 = retry it now (retry mode). */
static int on_failure(world *w, int st, const char *call, int line)
{
    if (w->first_status != 0) { /* a second failure: never expected */
        w->retry_status = st;
        w->retry_call = call;
        return 0;
    }
    w->first_status = st;
    w->first_call = call;
    w->first_line = line;
    w->first_had_failure = w->fa.failed;
    w->in_fit = strstr(call, "seqnet_trainer_fit") != NULL;
    if (!w->retry)
        return 0;
    w->fa.fail_at = 0; /* memory is back */
    return 1;
}

/* Run one API call; on failure record it and (retry mode) run it again. */
#define CALL(w, expr)                                                       \
    do {                                                                    \
        int st_ = (expr);                                                   \
        if (st_ != SEQNET_OK) {                                             \
            if (!on_failure((w), st_, #expr, __LINE__))                     \
                return st_;                                                 \
            st_ = (expr);                                                   \
            if (st_ != SEQNET_OK) {                                         \
                (w)->retry_status = st_;                                    \
                (w)->retry_call = #expr;                                    \
                return st_;                                                 \
            }                                                               \
        }                                                                   \
    } while (0)

static int find_text(seqnet_loader *l, const char *name, int kind)
{
    int32_t i;
    for (i = 0; i < seqnet_loader_n_texts(l); i++) {
        const char *n = NULL;
        int k = 0;
        if (seqnet_loader_text_info(l, i, &n, &k) == SEQNET_OK && strcmp(n, name) == 0 &&
            k == kind)
            return (int)i;
    }
    return -1;
}

/* CSR (double) -> dense float rows, in host memory. */
static float *densify(const size_t *indptr, const int32_t *indices, const double *data,
                      size_t rows, size_t cols)
{
    float *x = calloc(rows * cols, sizeof *x);
    size_t r, k;
    if (x == NULL)
        return NULL;
    for (r = 0; r < rows; r++)
        for (k = indptr[r]; k < indptr[r + 1]; k++)
            x[r * cols + (size_t)indices[k]] = (float)data[k];
    return x;
}

static int scenario(world *w)
{
    int32_t in_ids, in_vec, x, y, outs[2], ins[2], vocab;
    size_t cols, n_index, i;
    int idx;
    float y2[N_TRAIN];

    for (i = 0; i < N_TRAIN; i++)
        w->lens[i] = strlen(train_texts[i]);
    for (i = 0; i < N_NEW; i++)
        w->new_lens[i] = strlen(new_texts[i]);
    for (i = 0; i < N_TRAIN; i++)
        y2[i] = train_labels[i];

    CALL(w, seqnet_context_new_with_allocator(fa_alloc, fa_realloc, fa_free, &w->fa, &w->ctx));
    CALL(w, seqnet_context_set_seed(w->ctx, 77));

    /* Tokenizer: fit, texts_to_sequences, pad. */
    CALL(w, seqnet_tokenizer_new(w->ctx, &w->tok));
    CALL(w, seqnet_tokenizer_set_string(w->tok, SEQNET_TOKENIZER_OOV_TOKEN, "<oov>", 5));
    CALL(w, seqnet_tokenizer_fit(w->tok, train_texts, w->lens, N_TRAIN));
    CALL(w, seqnet_tokenizer_texts_to_sequences(w->tok, train_texts, w->lens, N_TRAIN,
                                                &w->seq_ids, &w->seq_off));
    CALL(w, seqnet_pad_sequences(w->seq_ids, w->seq_off, N_TRAIN, MAXLEN, SEQNET_PAD_PRE,
                                 SEQNET_PAD_POST, 0, w->padded, N_TRAIN * MAXLEN, &cols));
    CALL(w, seqnet_tokenizer_index_size(w->tok, &n_index));
    vocab = (int32_t)n_index + 1;

    /* Vectorizer: TF-IDF with bigrams, fit_transform. */
    CALL(w, seqnet_vectorizer_new(w->ctx, SEQNET_VECTORIZER_TFIDF, &w->vec));
    CALL(w, seqnet_vectorizer_set_int(w->vec, SEQNET_VECTORIZER_NGRAM_MAX, 2));
    CALL(w, seqnet_vectorizer_fit_transform(w->vec, train_texts, w->lens, N_TRAIN, &w->indptr,
                                            &w->indices, &w->vdata));
    CALL(w, seqnet_vectorizer_n_features(w->vec, &w->n_features));
    w->tfidf = densify(w->indptr, w->indices, w->vdata, N_TRAIN, w->n_features);
    if (w->tfidf == NULL)
        return SEQNET_ENOMEM; /* the host's own malloc: not part of the sweep */

    /* Graph: ids -> Embedding(mask_zero) -> mean -> Dropout -> Dense(sigmoid);
     * tfidf -> Dense(relu) -> Dense(sigmoid). */
    CALL(w, seqnet_graph_new(w->ctx, &w->g));
    CALL(w, seqnet_options_new(w->ctx, &w->o));
    CALL(w, seqnet_graph_input_tokens(w->g, MAXLEN, "ids", &in_ids));
    CALL(w, seqnet_graph_input_vector(w->g, (int32_t)w->n_features, "tfidf", &in_vec));
    CALL(w, seqnet_options_set_int(w->o, SEQNET_OPT_INPUT_DIM, vocab));
    CALL(w, seqnet_options_set_int(w->o, SEQNET_OPT_OUTPUT_DIM, 6));
    CALL(w, seqnet_options_set_int(w->o, SEQNET_OPT_MASK_ZERO, 1));
    CALL(w, seqnet_graph_add(w->g, SEQNET_LAYER_EMBEDDING, w->o, &in_ids, 1, "emb", &x));
    CALL(w, seqnet_options_clear(w->o));
    CALL(w, seqnet_graph_add(w->g, SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, w->o, &x, 1, "mean",
                             &x));
    CALL(w, seqnet_options_set_float(w->o, SEQNET_OPT_RATE, 0.25));
    CALL(w, seqnet_graph_add(w->g, SEQNET_LAYER_DROPOUT, w->o, &x, 1, "drop", &x));
    CALL(w, seqnet_options_clear(w->o));
    CALL(w, seqnet_options_set_int(w->o, SEQNET_OPT_UNITS, 1));
    CALL(w, seqnet_options_set_string(w->o, SEQNET_OPT_ACTIVATION, "sigmoid"));
    CALL(w, seqnet_graph_add(w->g, SEQNET_LAYER_DENSE, w->o, &x, 1, "from_words", &outs[0]));
    CALL(w, seqnet_options_clear(w->o));
    CALL(w, seqnet_options_set_int(w->o, SEQNET_OPT_UNITS, 4));
    CALL(w, seqnet_options_set_string(w->o, SEQNET_OPT_ACTIVATION, "relu"));
    CALL(w, seqnet_graph_add(w->g, SEQNET_LAYER_DENSE, w->o, &in_vec, 1, "hidden", &y));
    CALL(w, seqnet_options_set_int(w->o, SEQNET_OPT_UNITS, 1));
    CALL(w, seqnet_options_set_string(w->o, SEQNET_OPT_ACTIVATION, "sigmoid"));
    CALL(w, seqnet_graph_add(w->g, SEQNET_LAYER_DENSE, w->o, &y, 1, "from_tfidf", &outs[1]));
    ins[0] = in_ids;
    ins[1] = in_vec;
    CALL(w, seqnet_graph_compile(w->g, ins, 2, outs, 2, &w->m));

    /* Training: two epochs, batches of 4, a quarter held out. */
    CALL(w, seqnet_trainer_new(w->m, &w->t));
    CALL(w, seqnet_trainer_set_loss(w->t, 0, SEQNET_LOSS_BINARY_CROSSENTROPY));
    CALL(w, seqnet_trainer_set_loss(w->t, 1, SEQNET_LOSS_BINARY_CROSSENTROPY));
    CALL(w, seqnet_trainer_add_metric(w->t, 0, SEQNET_METRIC_BINARY_ACCURACY));
    CALL(w, seqnet_trainer_set_param(w->t, SEQNET_TRAIN_LEARNING_RATE, 0.05));
    CALL(w, seqnet_trainer_set_param(w->t, SEQNET_TRAIN_EPOCHS, 2));
    CALL(w, seqnet_trainer_set_param(w->t, SEQNET_TRAIN_BATCH_SIZE, 4));
    CALL(w, seqnet_trainer_set_param(w->t, SEQNET_TRAIN_VALIDATION_SPLIT, 0.25));
    CALL(w, seqnet_data_new(w->ctx, &w->d));
    CALL(w, seqnet_data_set_tokens(w->d, 0, w->padded, N_TRAIN, MAXLEN));
    CALL(w, seqnet_data_set_floats(w->d, 1, w->tfidf, N_TRAIN, 0, (int32_t)w->n_features));
    CALL(w, seqnet_data_set_targets(w->d, 0, train_labels, N_TRAIN, 0, 1));
    CALL(w, seqnet_data_set_targets(w->d, 1, y2, N_TRAIN, 0, 1));
    CALL(w, seqnet_trainer_fit(w->t, w->d, NULL));
    CALL(w, seqnet_trainer_history_value(w->t, 0, 0, 0, &w->history_loss));

    /* Save everything into one file. */
    CALL(w, seqnet_saver_new(w->ctx, &w->saver));
    CALL(w, seqnet_saver_set_model(w->saver, w->m));
    CALL(w, seqnet_saver_set_trainer(w->saver, w->t));
    CALL(w, seqnet_saver_add_tokenizer(w->saver, "words", w->tok));
    CALL(w, seqnet_saver_add_vectorizer(w->saver, "tfidf", w->vec));
    CALL(w, seqnet_saver_set_meta(w->saver, "note", "allocation sweep"));
    CALL(w, seqnet_saver_write_alloc(w->saver, &w->file, &w->file_size));

    /* Load it back and take everything. */
    CALL(w, seqnet_loader_new(w->ctx, &w->loader));
    CALL(w, seqnet_loader_read_buffer(w->loader, w->file, w->file_size, 0));
    CALL(w, seqnet_loader_take_model(w->loader, &w->m2));
    idx = find_text(w->loader, "words", 1);
    if (idx < 0)
        return SEQNET_EFORMAT;
    CALL(w, seqnet_loader_take_tokenizer(w->loader, idx, &w->tok2));
    idx = find_text(w->loader, "tfidf", 2);
    if (idx < 0)
        return SEQNET_EFORMAT;
    CALL(w, seqnet_loader_take_vectorizer(w->loader, idx, &w->vec2));
    CALL(w, seqnet_trainer_new(w->m2, &w->t2));
    CALL(w, seqnet_loader_restore_trainer(w->loader, w->t2));

    /* Predict new texts through the loaded objects. */
    CALL(w, seqnet_tokenizer_texts_to_sequences(w->tok2, new_texts, w->new_lens, N_NEW,
                                                &w->new_ids, &w->new_off));
    CALL(w, seqnet_pad_sequences(w->new_ids, w->new_off, N_NEW, MAXLEN, SEQNET_PAD_PRE,
                                 SEQNET_PAD_POST, 0, w->new_padded, N_NEW * MAXLEN, &cols));
    w->new_dense = malloc(sizeof *w->new_dense * N_NEW * w->n_features);
    w->new_tfidf = malloc(sizeof *w->new_tfidf * N_NEW * w->n_features);
    if (w->new_dense == NULL || w->new_tfidf == NULL)
        return SEQNET_ENOMEM;
    CALL(w, seqnet_vectorizer_transform_dense(w->vec2, new_texts, w->new_lens, N_NEW,
                                              w->new_dense, N_NEW * w->n_features));
    for (i = 0; i < N_NEW * w->n_features; i++)
        w->new_tfidf[i] = (float)w->new_dense[i];
    CALL(w, seqnet_session_new(w->m2, &w->s));
    CALL(w, seqnet_session_set_input_tokens(w->s, 0, w->new_padded, N_NEW, MAXLEN));
    CALL(w, seqnet_session_set_input_floats(w->s, 1, w->new_tfidf, N_NEW, 0,
                                            (int32_t)w->n_features));
    CALL(w, seqnet_session_run(w->s));
    CALL(w, seqnet_session_get_output(w->s, 0, w->out0, N_NEW));
    CALL(w, seqnet_session_get_output(w->s, 1, w->out1, N_NEW));
    return SEQNET_OK;
}

/* Free everything, in an order that respects borrowing. */
static void world_free(world *w)
{
    seqnet_session_free(w->s);
    seqnet_trainer_free(w->t2);
    seqnet_loader_free(w->loader);
    seqnet_model_free(w->m2);
    seqnet_tokenizer_free(w->tok2);
    seqnet_vectorizer_free(w->vec2);
    seqnet_free(w->file);
    seqnet_saver_free(w->saver);
    seqnet_data_free(w->d);
    seqnet_trainer_free(w->t);
    seqnet_model_free(w->m);
    seqnet_options_free(w->o);
    seqnet_graph_free(w->g);
    seqnet_free(w->indptr);
    seqnet_free(w->indices);
    seqnet_free(w->vdata);
    seqnet_vectorizer_free(w->vec);
    seqnet_free(w->new_ids);
    seqnet_free(w->new_off);
    seqnet_free(w->seq_ids);
    seqnet_free(w->seq_off);
    seqnet_tokenizer_free(w->tok);
    seqnet_context_free(w->ctx);
    free(w->tfidf);
    free(w->new_tfidf);
    free(w->new_dense);
}

static world *world_new(long fail_at, int sticky, int retry)
{
    world *w = calloc(1, sizeof *w);
    ck_assert_ptr_nonnull(w);
    w->fa.fail_at = fail_at;
    w->fa.sticky = sticky;
    w->retry = retry;
    return w;
}

/* ---- the clean run ---- */

static struct {
    long total;   /* allocations of a clean run */
    float out0[N_NEW], out1[N_NEW];
} REF;

static void clean_run(void)
{
    world *w = world_new(0, 0, 0);
    int i, st = scenario(w);
    ck_assert_msg(st == SEQNET_OK, "clean run failed: %d at line %d (%s)", st, w->first_line,
                  w->first_call ? w->first_call : "?");
    REF.total = w->fa.count;
    memcpy(REF.out0, w->out0, sizeof REF.out0);
    memcpy(REF.out1, w->out1, sizeof REF.out1);
    /* The scenario really classifies: probabilities, not all equal. */
    for (i = 0; i < N_NEW; i++) {
        ck_assert(REF.out0[i] > 0.0f && REF.out0[i] < 1.0f);
        ck_assert(REF.out1[i] > 0.0f && REF.out1[i] < 1.0f);
    }
    ck_assert(REF.out0[0] != REF.out0[1] && REF.out1[0] != REF.out1[1]);
    ck_assert(w->file_size > 0 && w->n_features > 10);
    world_free(w);
    ck_assert_int_eq(w->fa.live, 0);
    free(w);
    ck_assert_int_gt(REF.total, 100);
}

/* Which N to try: all of them natively; a stride under valgrind. */
static long sweep_stride(void)
{
    return rel_env_long("SEQNET_SWEEP_STRIDE", REL_UNDER_VALGRIND() ? 3 : 1);
}

/* The next N after n: n + stride, but never skipping the last one. */
static long advance(long n, long stride, long total)
{
    if (n < total && n + stride > total)
        return total;
    return n + stride;
}

/* ---- the sweeps ---- */

static void sweep(int sticky)
{
    long n, stride = sweep_stride(), tried = 0;
    clean_run();
    for (n = 1; n <= REF.total; n = advance(n, stride, REF.total)) {
        world *w = world_new(n, sticky, 0);
        int st = scenario(w);
        ck_assert_msg(w->fa.failed, "N=%ld: the allocation was never made", n);
        ck_assert_msg(st == SEQNET_ENOMEM,
                      "N=%ld%s: scenario returned %d (%s), not SEQNET_ENOMEM; failing call at "
                      "line %d: %s",
                      n, sticky ? " (sticky)" : "", st, seqnet_strerror(st), w->first_line,
                      w->first_call ? w->first_call : "?");
        ck_assert_msg(w->first_had_failure, "N=%ld: line %d failed before any allocation failed",
                      n, w->first_line);
        if (getenv("SEQNET_SWEEP_VERBOSE") != NULL)
            printf("N=%ld%s: line %d %s\n", n, sticky ? " sticky" : "", w->first_line,
                   w->first_call);
        world_free(w);
        ck_assert_msg(w->fa.live == 0, "N=%ld%s: %ld blocks leaked (failing call at line %d: %s)",
                      n, sticky ? " (sticky)" : "", w->fa.live, w->first_line, w->first_call);
        free(w);
        tried++;
    }
    printf("alloc sweep (%s): %ld allocations in a clean run, %ld failure points tried, all "
           "SEQNET_ENOMEM without leaks\n",
           sticky ? "sticky" : "once", REF.total, tried);
}

START_TEST(failing_the_nth_allocation_reports_enomem_without_leaks)
{
    sweep(0);
}
END_TEST

START_TEST(exhausted_memory_from_the_nth_allocation_on_reports_enomem_without_leaks)
{
    sweep(1);
}
END_TEST

START_TEST(a_call_that_met_an_allocation_failure_succeeds_when_retried)
{
    long n, stride = sweep_stride(), tried = 0, in_fit = 0;
    int i;
    clean_run();
    for (n = 1; n <= REF.total; n = advance(n, stride, REF.total)) {
        world *w = world_new(n, 0, 1);
        int st = scenario(w);
        ck_assert_msg(w->first_status == SEQNET_ENOMEM,
                      "N=%ld: first failure %d at line %d: %s", n, w->first_status,
                      w->first_line, w->first_call ? w->first_call : "?");
        ck_assert_msg(st == SEQNET_OK,
                      "N=%ld: after %s failed with SEQNET_ENOMEM (line %d), retrying gave %d "
                      "(%s): %s",
                      n, w->first_call, w->first_line, st, seqnet_strerror(st),
                      w->retry_call ? w->retry_call : "?");
        if (w->in_fit) {
            in_fit++;
            if (getenv("SEQNET_SWEEP_VERBOSE") != NULL)
                printf("N=%ld: fit failed; retried predictions %s the clean run's\n", n,
                       memcmp(w->out0, REF.out0, sizeof REF.out0) == 0 ? "equal" : "differ from");
            for (i = 0; i < N_NEW; i++) {
                ck_assert(w->out0[i] > 0.0f && w->out0[i] < 1.0f);
                ck_assert(w->out1[i] > 0.0f && w->out1[i] < 1.0f);
            }
        } else {
            ck_assert_msg(memcmp(w->out0, REF.out0, sizeof REF.out0) == 0 &&
                              memcmp(w->out1, REF.out1, sizeof REF.out1) == 0,
                          "N=%ld: after retrying %s (line %d) the predictions differ from the "
                          "clean run",
                          n, w->first_call, w->first_line);
        }
        world_free(w);
        ck_assert_msg(w->fa.live == 0, "N=%ld (retry): %ld blocks leaked", n, w->fa.live);
        free(w);
        tried++;
    }
    printf("alloc sweep (retry): %ld failure points retried (%ld inside fit), every call "
           "succeeded on retry\n",
           tried, in_fit);
}
END_TEST

static Suite *alloc_suite(void)
{
    Suite *s = suite_create("alloc_sweep");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 1200);
    tcase_add_test(tc, failing_the_nth_allocation_reports_enomem_without_leaks);
    tcase_add_test(tc, exhausted_memory_from_the_nth_allocation_on_reports_enomem_without_leaks);
    tcase_add_test(tc, a_call_that_met_an_allocation_failure_succeeds_when_retried);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(alloc_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
