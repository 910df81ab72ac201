/*
 * tests/reliability/test_threads.c -- eight threads share one model, each
 * with its own session, and classify thousands of sequences of varying
 * lengths in batches of 1 and 32; every output must be bit-identical to a
 * single-threaded reference computed first (issue 8, "Threads").
 *
 * Models: Embedding(mask_zero) -> GlobalAveragePooling1D -> Dense -> Dense,
 * and a wide variant (Dense 256 -> 128, so that OpenBLAS threads its batch
 * products when it has threads) always; Embedding(mask_zero) -> LSTM ->
 * Dense(softmax) and Embedding -> Conv1D -> GlobalMaxPooling1D ->
 * Dense(softmax) when this build has those layers (seqnet_graph_add says
 * SEQNET_EUNSUPPORTED otherwise, and the case is skipped with a note on
 * stdout).
 *
 * Each thread walks every (model, batch size, batch) item in its own
 * shuffled order through one session per model, so its sessions see batch
 * sizes and lengths interleaved (buffers grow and are reused while other
 * threads run). Every 97th item it first runs a copy of the batch with one
 * token id out of range: that run must fail with SEQNET_ERANGE on the
 * session, and the next run must still be exact. The threads start
 * together at a barrier and create their sessions concurrently.
 *
 * Size: SEQNET_THREADS_SEQS sequences (default 4000; 100 under valgrind)
 * with the BLAS single-threaded, as docs/DESIGN.md recommends for this
 * deployment; SEQNET_THREADS_BLAS_SEQS (default 64) for the second test,
 * over a multi-threaded OpenBLAS.
 *
 * Step by step: for the recurrent model, each thread also feeds every batch
 * one step at a time through a stateful session (seqnet_session_set_stateful,
 * one token per sequence per run, seqnet_session_reset_states between
 * batches); the output after the last step must be bit-identical to the
 * single-threaded step-by-step reference. model.h says the output after
 * each step "equals the whole-sequence prediction over the tokens fed so
 * far": before the threads start, that is checked bit for bit for every
 * prefix of 40 sequences.
 */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rel_util.h"

#define N_THREADS 8
#define VOCAB 400
#define MAX_LEN 40
#define BIG_BATCH 32
#define MAX_CASES 4
#define N_PLANS 2
#define BAD_EVERY 97

/* One batch size over all sequences: run r covers sequences first[r] ..
 * first[r] + rows[r] - 1, padded (post, with 0) to time[r] steps. */
typedef struct plan {
    int32_t batch;
    int32_t n_runs;
    int32_t *first, *rows, *time;
    int32_t **ids;
} plan;

typedef struct model_case {
    const char *name;
    seqnet_model *model;
    int32_t width;   /* output features */
    int softmax;     /* 1: rows sum to 1; 0: a sigmoid in [0, 1] */
    int recurrent;   /* also run step by step */
    float *ref[N_PLANS];
    float *step_ref[N_PLANS]; /* recurrent: the same batches, step by step */
} model_case;

static struct {
    seqnet_context *ctx;
    int32_t n_seqs;
    int32_t *len;
    int32_t **seq;
    plan plans[N_PLANS];
    model_case cases[MAX_CASES];
    int n_cases;
    pthread_barrier_t barrier;
} W;

typedef struct thread_result {
    int index;
    long runs, step_runs, bad_runs_checked, mismatches, failures;
    char first_problem[256];
} thread_result;

/* ---- data ---- */

static void make_sequences(int32_t n)
{
    rel_rng r = {0x5EEDull};
    int32_t i, t;
    W.n_seqs = n;
    W.len = malloc(sizeof *W.len * (size_t)n);
    W.seq = malloc(sizeof *W.seq * (size_t)n);
    ck_assert(W.len != NULL && W.seq != NULL);
    for (i = 0; i < n; i++) {
        /* Mostly short, some long: lengths 1..MAX_LEN. */
        W.len[i] = 1 + (int32_t)(rel_below(&r, 4) == 0 ? rel_below(&r, MAX_LEN)
                                                        : rel_below(&r, MAX_LEN / 4));
        W.seq[i] = malloc(sizeof **W.seq * (size_t)W.len[i]);
        ck_assert(W.seq[i] != NULL);
        for (t = 0; t < W.len[i]; t++)
            W.seq[i][t] = 1 + (int32_t)rel_below(&r, VOCAB - 1);
    }
}

static void make_plan(plan *p, int32_t batch)
{
    int32_t r, i, t;
    p->batch = batch;
    p->n_runs = (W.n_seqs + batch - 1) / batch;
    p->first = malloc(sizeof *p->first * (size_t)p->n_runs);
    p->rows = malloc(sizeof *p->rows * (size_t)p->n_runs);
    p->time = malloc(sizeof *p->time * (size_t)p->n_runs);
    p->ids = malloc(sizeof *p->ids * (size_t)p->n_runs);
    ck_assert(p->first && p->rows && p->time && p->ids);
    for (r = 0; r < p->n_runs; r++) {
        int32_t first = r * batch, rows = W.n_seqs - first < batch ? W.n_seqs - first : batch;
        int32_t time = 1;
        for (i = 0; i < rows; i++)
            if (W.len[first + i] > time)
                time = W.len[first + i];
        p->first[r] = first;
        p->rows[r] = rows;
        p->time[r] = time;
        p->ids[r] = calloc((size_t)rows * (size_t)time, sizeof **p->ids);
        ck_assert(p->ids[r] != NULL);
        for (i = 0; i < rows; i++)
            for (t = 0; t < W.len[first + i]; t++)
                p->ids[r][(size_t)i * (size_t)time + (size_t)t] = W.seq[first + i][t];
    }
}

/* ---- models ---- */

/* Replace every weight by uniform(-0.5, 0.5) values, so that outputs vary
 * visibly between sequences (the default embedding init is +-0.05). */
static void randomize_weights(seqnet_model *m, uint64_t seed)
{
    rel_rng r = {seed};
    int32_t layer, w;
    for (layer = 0; layer < seqnet_model_n_layers(m); layer++) {
        for (w = 0; w < seqnet_model_layer_n_weights(m, layer); w++) {
            int64_t count, i;
            float *v;
            ck_assert_int_eq(seqnet_model_weight_info(m, layer, w, NULL, NULL, NULL, &count),
                             SEQNET_OK);
            v = malloc(sizeof *v * (size_t)count);
            ck_assert_ptr_nonnull(v);
            for (i = 0; i < count; i++)
                v[i] = (float)((double)(rel_next(&r) >> 11) / 9007199254740992.0 - 0.5);
            ck_assert_int_eq(seqnet_model_set_weight(m, layer, w, v, count), SEQNET_OK);
            free(v);
        }
    }
}

/* Build one of the three models; 0 when this build lacks the layer. */
static int build_case(model_case *c, int which)
{
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    int32_t in, x;
    int st;
    ck_assert_int_eq(seqnet_graph_new(W.ctx, &g), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_new(W.ctx, &o), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_tokens(g, 0, "ids", &in), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, VOCAB), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, which == 3 ? 64 : 16),
                     SEQNET_OK);
    ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_MASK_ZERO, which != 2), SEQNET_OK);
    ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_EMBEDDING, in, "emb", &x), SEQNET_OK);
    if (which == 0) {
        c->name = "pooled";
        c->width = 1;
        c->softmax = 0;
        ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, x, NULL, &x),
                         SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 12), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "relu"), SEQNET_OK);
        ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_DENSE, x, NULL, &x), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "sigmoid"),
                         SEQNET_OK);
    } else if (which == 1) {
        c->name = "lstm";
        c->width = 3;
        c->softmax = 1;
        c->recurrent = 1;
        ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 24), SEQNET_OK);
        st = rel_add(g, o, SEQNET_LAYER_LSTM, x, NULL, &x);
        if (st == SEQNET_EUNSUPPORTED)
            goto unsupported;
        ck_assert_msg(st == SEQNET_OK, "LSTM: %d %s", st, seqnet_errmsg(g));
        ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 3), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "softmax"),
                         SEQNET_OK);
    } else if (which == 3) {
        /* Wide enough that OpenBLAS splits the batch-32 products over its
         * threads (when it has more than one): concurrent callers of a
         * threaded BLAS must still get the single-threaded answer. */
        c->name = "wide";
        c->width = 1;
        c->softmax = 0;
        ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, x, NULL, &x),
                         SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 256), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "tanh"), SEQNET_OK);
        ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_DENSE, x, NULL, &x), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 128), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "tanh"), SEQNET_OK);
        ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_DENSE, x, NULL, &x), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "sigmoid"),
                         SEQNET_OK);
    } else {
        c->name = "conv1d";
        c->width = 2;
        c->softmax = 1;
        ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_FILTERS, 16), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_KERNEL_SIZE, 3), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_string(o, SEQNET_OPT_PADDING, "same"), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "relu"), SEQNET_OK);
        st = rel_add(g, o, SEQNET_LAYER_CONV1D, x, NULL, &x);
        if (st == SEQNET_EUNSUPPORTED)
            goto unsupported;
        ck_assert_msg(st == SEQNET_OK, "Conv1D: %d %s", st, seqnet_errmsg(g));
        ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_GLOBAL_MAX_POOLING1D, x, NULL, &x),
                         SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_int(o, SEQNET_OPT_UNITS, 2), SEQNET_OK);
        ck_assert_int_eq(seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "softmax"),
                         SEQNET_OK);
    }
    ck_assert_int_eq(rel_add(g, o, SEQNET_LAYER_DENSE, x, NULL, &x), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_compile(g, &in, 1, &x, 1, &c->model), SEQNET_OK);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    randomize_weights(c->model, 1000 + (uint64_t)which);
    return 1;
unsupported:
    printf("threads: %s model skipped: this build lacks the layer (%s)\n", c->name,
           seqnet_errmsg(g));
    seqnet_options_free(o);
    seqnet_graph_free(g);
    return 0;
}

/* Feed run r of a plan one step at a time through a stateful session: one
 * token per sequence per run (`col` holds the step's column). *out gets the
 * output after the last step. */
static int run_steps(seqnet_session *s, const plan *pl, int32_t r, int32_t *col,
                     const float **out)
{
    int32_t t, i, rows = pl->rows[r], time = pl->time[r];
    int st = seqnet_session_reset_states(s);
    *out = NULL;
    for (t = 0; t < time && st == SEQNET_OK; t++) {
        for (i = 0; i < rows; i++)
            col[i] = pl->ids[r][(size_t)i * (size_t)time + (size_t)t];
        st = seqnet_session_set_input_tokens(s, 0, col, rows, 1);
        if (st == SEQNET_OK)
            st = seqnet_session_run(s);
    }
    if (st == SEQNET_OK)
        *out = seqnet_session_output(s, 0);
    return st;
}

/* model.h's promise for stateful sessions, single-threaded: after each
 * step, the output equals the whole-sequence prediction over the tokens
 * fed so far. Checked bit for bit for every prefix of the first sequences. */
static void check_steps_match_prefixes(const model_case *c)
{
    seqnet_session *whole = NULL, *step = NULL;
    int32_t i, t, j, n = W.n_seqs < 40 ? W.n_seqs : 40, checked = 0, inexact = 0;
    double max_diff = 0.0;
    int strict = 1;
    ck_assert_int_eq(seqnet_session_new(c->model, &whole), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_new(c->model, &step), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_set_stateful(step, 1), SEQNET_OK);
    for (i = 0; i < n; i++) {
        ck_assert_int_eq(seqnet_session_reset_states(step), SEQNET_OK);
        for (t = 0; t < W.len[i]; t++) {
            const float *a, *b;
            ck_assert_int_eq(seqnet_session_set_input_tokens(step, 0, &W.seq[i][t], 1, 1),
                             SEQNET_OK);
            ck_assert_int_eq(seqnet_session_run(step), SEQNET_OK);
            ck_assert_int_eq(seqnet_session_set_input_tokens(whole, 0, W.seq[i], 1, t + 1),
                             SEQNET_OK);
            ck_assert_int_eq(seqnet_session_run(whole), SEQNET_OK);
            a = seqnet_session_output(step, 0);
            b = seqnet_session_output(whole, 0);
            if (memcmp(a, b, sizeof *a * (size_t)c->width) != 0)
                inexact++;
            for (j = 0; j < c->width; j++)
                if (fabs((double)a[j] - (double)b[j]) > max_diff)
                    max_diff = fabs((double)a[j] - (double)b[j]);
            ck_assert_msg(!strict || memcmp(a, b, sizeof *a * (size_t)c->width) == 0,
                          "%s: sequence %d, step %d: step-by-step output %.9g differs from the "
                          "whole-prefix prediction %.9g",
                          c->name, (int)i, (int)t, (double)a[0], (double)b[0]);
            checked++;
        }
    }
    ck_assert_msg(max_diff <= 1e-6, "%s: step-by-step outputs differ from whole-prefix "
                  "predictions by up to %g", c->name, max_diff);
    ck_assert_int_gt(checked, n);
    printf("threads: %s step by step vs whole prefix, single-threaded: %d steps, %d not "
           "bit-identical (largest difference %.3g)\n",
           c->name, (int)checked, (int)inexact, max_diff);
    seqnet_session_free(step);
    seqnet_session_free(whole);
}

/* Single-threaded reference: one fresh session per model, runs in order. */
static void compute_reference(model_case *c)
{
    seqnet_session *s = NULL;
    int p;
    int32_t r, i, j;
    ck_assert_int_eq(seqnet_session_new(c->model, &s), SEQNET_OK);
    for (p = 0; p < N_PLANS; p++) {
        const plan *pl = &W.plans[p];
        double sum_all = 0.0;
        int distinct = 0;
        c->ref[p] = malloc(sizeof *c->ref[p] * (size_t)W.n_seqs * (size_t)c->width);
        ck_assert_ptr_nonnull(c->ref[p]);
        for (r = 0; r < pl->n_runs; r++) {
            float *dst = c->ref[p] + (size_t)pl->first[r] * (size_t)c->width;
            ck_assert_int_eq(seqnet_session_set_input_tokens(s, 0, pl->ids[r], pl->rows[r],
                                                             pl->time[r]),
                             SEQNET_OK);
            ck_assert_int_eq(seqnet_session_run(s), SEQNET_OK);
            ck_assert_int_eq(seqnet_session_get_output(s, 0, dst,
                                                       (int64_t)pl->rows[r] * c->width),
                             SEQNET_OK);
        }
        /* The reference is a real classification, not a constant. */
        for (i = 0; i < W.n_seqs; i++) {
            const float *row = c->ref[p] + (size_t)i * (size_t)c->width;
            double sum = 0.0;
            for (j = 0; j < c->width; j++) {
                ck_assert_msg(row[j] >= 0.0f && row[j] <= 1.0f, "%s: output %g", c->name,
                              (double)row[j]);
                sum += row[j];
            }
            if (c->softmax)
                ck_assert_msg(fabs(sum - 1.0) < 1e-5, "%s: softmax row sums to %g", c->name,
                              sum);
            sum_all += row[0];
            if (i > 0 && memcmp(row, row - c->width, sizeof *row * (size_t)c->width) != 0)
                distinct++;
        }
        ck_assert_msg(distinct > W.n_seqs / 2, "%s: outputs barely vary (%d changes)", c->name,
                      distinct);
        (void)sum_all;
    }
    seqnet_session_free(s);
    if (c->recurrent) {
        int32_t col[BIG_BATCH];
        ck_assert_int_eq(seqnet_session_new(c->model, &s), SEQNET_OK);
        ck_assert_int_eq(seqnet_session_set_stateful(s, 1), SEQNET_OK);
        for (p = 0; p < N_PLANS; p++) {
            const plan *pl = &W.plans[p];
            c->step_ref[p] = malloc(sizeof *c->step_ref[p] * (size_t)W.n_seqs * (size_t)c->width);
            ck_assert_ptr_nonnull(c->step_ref[p]);
            for (r = 0; r < pl->n_runs; r++) {
                const float *out = NULL;
                ck_assert_int_eq(run_steps(s, pl, r, col, &out), SEQNET_OK);
                memcpy(c->step_ref[p] + (size_t)pl->first[r] * (size_t)c->width, out,
                       sizeof *out * (size_t)pl->rows[r] * (size_t)c->width);
            }
            /* Step by step and whole sequences agree closely. */
            for (i = 0; i < W.n_seqs * c->width; i++)
                ck_assert(fabs((double)c->step_ref[p][i] - (double)c->ref[p][i]) <= 1e-6);
        }
        seqnet_session_free(s);
    }
}

/* ---- the threads ---- */

static void note(thread_result *res, const char *what, int c, int p, int32_t r, int st)
{
    if (res->first_problem[0] == '\0')
        snprintf(res->first_problem, sizeof res->first_problem,
                 "thread %d: %s (model %s, batch %d, run %d, status %d)", res->index, what,
                 W.cases[c].name, (int)W.plans[p].batch, (int)r, st);
}

static void *thread_main(void *arg)
{
    thread_result *res = arg;
    seqnet_session *s[MAX_CASES] = {NULL, NULL, NULL, NULL};
    seqnet_session *ss[MAX_CASES] = {NULL, NULL, NULL, NULL}; /* stateful */
    int32_t col[BIG_BATCH];
    rel_rng rng = {0x9E3779B97F4A7C15ull * (uint64_t)(res->index + 1)};
    uint32_t *items, n_items = 0, i;
    int32_t bad_ids[BIG_BATCH * MAX_LEN];
    int c, p;

    for (c = 0; c < W.n_cases; c++)
        for (p = 0; p < N_PLANS; p++)
            n_items += (uint32_t)W.plans[p].n_runs * (W.cases[c].recurrent ? 2u : 1u);
    items = malloc(sizeof *items * n_items);
    if (items == NULL) {
        res->failures++;
        pthread_barrier_wait(&W.barrier);
        return NULL;
    }
    n_items = 0;
    for (c = 0; c < W.n_cases; c++)
        for (p = 0; p < N_PLANS; p++)
            for (i = 0; i < (uint32_t)W.plans[p].n_runs; i++) {
                items[n_items++] = ((uint32_t)c << 28) | ((uint32_t)p << 24) | i;
                if (W.cases[c].recurrent) /* the same batch, step by step */
                    items[n_items++] = ((uint32_t)c << 28) | ((uint32_t)p << 24) | 1u << 23 | i;
            }
    for (i = n_items - 1; i > 0; i--) { /* Fisher-Yates with the thread's seed */
        uint32_t j = rel_below(&rng, i + 1), tmp = items[i];
        items[i] = items[j];
        items[j] = tmp;
    }

    pthread_barrier_wait(&W.barrier);
    for (c = 0; c < W.n_cases; c++) {
        int st = seqnet_session_new(W.cases[c].model, &s[c]);
        if (st == SEQNET_OK && W.cases[c].recurrent) {
            st = seqnet_session_new(W.cases[c].model, &ss[c]);
            if (st == SEQNET_OK)
                st = seqnet_session_set_stateful(ss[c], 1);
        }
        if (st != SEQNET_OK) {
            note(res, "session_new failed", c, 0, -1, st);
            res->failures++;
            goto done;
        }
    }
    for (i = 0; i < n_items; i++) {
        const model_case *mc;
        const plan *pl;
        int32_t r, b, t, f;
        const float *out;
        int st;
        c = (int)(items[i] >> 28);
        p = (int)((items[i] >> 24) & 0xF);
        r = (int32_t)(items[i] & 0x7FFFFF);
        mc = &W.cases[c];
        pl = &W.plans[p];
        if ((items[i] & (1u << 23)) != 0) {
            st = run_steps(ss[c], pl, r, col, &out);
            if (st != SEQNET_OK) {
                note(res, "step-by-step run failed", c, p, r, st);
                res->failures++;
            } else if (memcmp(out, mc->step_ref[p] + (size_t)pl->first[r] * (size_t)mc->width,
                              sizeof *out * (size_t)pl->rows[r] * (size_t)mc->width) != 0) {
                note(res, "step-by-step output differs from the step-by-step reference", c, p,
                     r, st);
                res->mismatches++;
            }
            res->runs++;
            res->step_runs++;
            continue;
        }
        if (i % BAD_EVERY == 0) {
            /* An out-of-range id fails this session's run, nobody else's. */
            size_t n = (size_t)pl->rows[r] * (size_t)pl->time[r];
            memcpy(bad_ids, pl->ids[r], n * sizeof *bad_ids);
            bad_ids[n / 2] = VOCAB + res->index;
            st = seqnet_session_set_input_tokens(s[c], 0, bad_ids, pl->rows[r], pl->time[r]);
            if (st == SEQNET_OK)
                st = seqnet_session_run(s[c]);
            if (st != SEQNET_ERANGE) {
                note(res, "out-of-range id not refused with SEQNET_ERANGE", c, p, r, st);
                res->failures++;
            } else {
                char want[16];
                snprintf(want, sizeof want, "%d", VOCAB + res->index);
                if (strstr(seqnet_errmsg(s[c]), want) == NULL) {
                    note(res, "error message does not name the bad id", c, p, r, st);
                    res->failures++;
                }
            }
            res->bad_runs_checked++;
        }
        st = seqnet_session_set_input_tokens(s[c], 0, pl->ids[r], pl->rows[r], pl->time[r]);
        if (st == SEQNET_OK)
            st = seqnet_session_run(s[c]);
        if (st == SEQNET_OK)
            st = seqnet_session_output_shape(s[c], 0, &b, &t, &f);
        if (st != SEQNET_OK || b != pl->rows[r] || t != 0 || f != mc->width) {
            note(res, "run failed or output shape is wrong", c, p, r, st);
            res->failures++;
            continue;
        }
        out = seqnet_session_output(s[c], 0);
        if (out == NULL ||
            memcmp(out, mc->ref[p] + (size_t)pl->first[r] * (size_t)mc->width,
                   sizeof *out * (size_t)pl->rows[r] * (size_t)mc->width) != 0) {
            note(res, "output differs from the single-threaded reference", c, p, r, st);
            res->mismatches++;
        }
        res->runs++;
    }
done:
    for (c = 0; c < W.n_cases; c++) {
        seqnet_session_free(s[c]);
        seqnet_session_free(ss[c]);
    }
    free(items);
    return NULL;
}

/* Build the sequences, plans and models (those of `case_mask` this build
 * has), compute the references, run the threads, check, free. */
static void stress(int32_t n_seqs, unsigned case_mask, const char *label)
{
    static thread_result res[N_THREADS];
    pthread_t th[N_THREADS];
    long expected_runs = 0, expected_step_runs = 0, classified = 0;
    int i, c, p;
    int32_t r;

    make_sequences(n_seqs);
    make_plan(&W.plans[0], 1);
    make_plan(&W.plans[1], BIG_BATCH);
    ck_assert_int_eq(seqnet_context_new(&W.ctx), SEQNET_OK);
    ck_assert_int_eq(seqnet_context_set_seed(W.ctx, 8), SEQNET_OK);
    W.n_cases = 0;
    memset(W.cases, 0, sizeof W.cases);
    for (i = 0; i < MAX_CASES; i++)
        if ((case_mask & (1u << i)) != 0 && build_case(&W.cases[W.n_cases], i))
            W.n_cases++;
    ck_assert_int_ge(W.n_cases, 1);
    for (c = 0; c < W.n_cases; c++) {
        compute_reference(&W.cases[c]);
        if (W.cases[c].recurrent)
            check_steps_match_prefixes(&W.cases[c]);
        for (p = 0; p < N_PLANS; p++) {
            expected_runs += W.plans[p].n_runs;
            if (W.cases[c].recurrent) {
                expected_runs += W.plans[p].n_runs;
                expected_step_runs += W.plans[p].n_runs;
            }
        }
    }

    ck_assert_int_eq(pthread_barrier_init(&W.barrier, NULL, N_THREADS), 0);
    for (i = 0; i < N_THREADS; i++) {
        memset(&res[i], 0, sizeof res[i]);
        res[i].index = i;
        ck_assert_int_eq(pthread_create(&th[i], NULL, thread_main, &res[i]), 0);
    }
    for (i = 0; i < N_THREADS; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    pthread_barrier_destroy(&W.barrier);

    for (i = 0; i < N_THREADS; i++) {
        ck_assert_msg(res[i].failures == 0 && res[i].mismatches == 0,
                      "%ld failures, %ld mismatches; first: %s", res[i].failures,
                      res[i].mismatches, res[i].first_problem);
        ck_assert_int_eq(res[i].runs, expected_runs);
        ck_assert_int_eq(res[i].step_runs, expected_step_runs);
        ck_assert_int_gt(res[i].bad_runs_checked, 0);
    }
    /* Calls on a shared model never write its message. */
    for (c = 0; c < W.n_cases; c++)
        ck_assert_str_eq(seqnet_errmsg(W.cases[c].model), "");
    classified = (long)N_PLANS * W.n_seqs * W.n_cases;
    for (c = 0; c < W.n_cases; c++)
        classified += W.cases[c].recurrent ? (long)N_PLANS * W.n_seqs : 0;
    printf("threads (%s): %d threads x %ld classifications each (%d sequences, %d models, "
           "batch 1 and %d, %s), all bit-identical to one thread\n",
           label, N_THREADS, classified, (int)W.n_seqs, W.n_cases, BIG_BATCH,
           expected_step_runs > 0 ? "whole and step by step" : "whole sequences");

    for (c = 0; c < W.n_cases; c++) {
        for (p = 0; p < N_PLANS; p++) {
            free(W.cases[c].ref[p]);
            free(W.cases[c].step_ref[p]);
        }
        seqnet_model_free(W.cases[c].model);
    }
    for (p = 0; p < N_PLANS; p++) {
        for (r = 0; r < W.plans[p].n_runs; r++)
            free(W.plans[p].ids[r]);
        free(W.plans[p].ids);
        free(W.plans[p].first);
        free(W.plans[p].rows);
        free(W.plans[p].time);
    }
    for (r = 0; r < W.n_seqs; r++)
        free(W.seq[r]);
    free(W.seq);
    free(W.len);
    seqnet_context_free(W.ctx);
}

/* OpenBLAS's thread controls, if the BLAS is OpenBLAS (weak: absent with
 * the reference BLAS, which is single-threaded anyway). */
extern void openblas_set_num_threads(int n) __attribute__((weak));
extern int openblas_get_num_threads(void) __attribute__((weak));

/* The deployment docs/DESIGN.md recommends for one session per thread:
 * BLAS single-threaded. All models, thousands of sequences. */
START_TEST(eight_threads_sharing_models_match_one_thread_bit_for_bit)
{
    int saved = 0;
    if (openblas_set_num_threads != NULL && openblas_get_num_threads != NULL) {
        saved = openblas_get_num_threads();
        openblas_set_num_threads(1);
    }
    stress((int32_t)rel_env_long("SEQNET_THREADS_SEQS", REL_UNDER_VALGRIND() ? 100 : 4000),
           0xFu, "BLAS single-threaded");
    if (saved > 0)
        openblas_set_num_threads(saved);
}
END_TEST

/* Sessions on eight threads over a multi-threaded OpenBLAS (the wide model
 * is large enough to be split over BLAS threads): still bit-identical, only
 * slow (the two thread pools fight over the cores: with 2 cores, the full
 * workload above takes about 60 times longer this way). Fewer sequences.
 * Runs only when OpenBLAS already has several threads (the environment did
 * not set OPENBLAS_NUM_THREADS=1): under valgrind and ThreadSanitizer it is
 * 1, and TSan cannot see OpenBLAS's internal synchronisation. */
START_TEST(eight_threads_over_a_threaded_blas_match_one_thread_too)
{
    int saved;
    if (openblas_get_num_threads == NULL || openblas_set_num_threads == NULL ||
        openblas_get_num_threads() < 2) {
        printf("threads (BLAS multi-threaded): skipped, the BLAS has one thread\n");
        return;
    }
    /* Two BLAS threads are enough to split the products; more would only
     * make the fight over the cores (and the test) longer on big machines. */
    saved = openblas_get_num_threads();
    openblas_set_num_threads(2);
    stress((int32_t)rel_env_long("SEQNET_THREADS_BLAS_SEQS", 64), 0x9u,
           "BLAS multi-threaded");
    openblas_set_num_threads(saved);
}
END_TEST

static Suite *threads_suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, eight_threads_sharing_models_match_one_thread_bit_for_bit);
    tcase_add_test(tc, eight_threads_over_a_threaded_blas_match_one_thread_too);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(threads_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
