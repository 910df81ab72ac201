/*
 * tests/fuzz/fuzz_predict.c -- libFuzzer target for sessions: arbitrary
 * token ids, batch sizes, lengths and float values fed to fixed small
 * models, through one session per model that lives across inputs (so its
 * buffers grow and are reused with every shape the fuzzer tries).
 *
 * Input: byte 0 picks the model and options, byte 1 the batch (1..8),
 * byte 2 the time (1..16); the rest are int32 ids (or floats, or lengths).
 * Invariants: ids outside [0, vocab) give SEQNET_ERANGE and every id in
 * range gives SEQNET_OK; never a read out of bounds (ASan); outputs of a
 * successful run are finite probabilities.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seqnet/seqnet.h"

#include "fuzz_alloc.h"

#define VOCAB 13
#define MAX_BATCH 8
#define MAX_TIME 16
#define FIXED_TIME 6

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond)
{
    if (!cond)
        abort();
}

static seqnet_context *ctx;
static seqnet_model *pooled, *flat, *dense;
static seqnet_session *s_pooled, *s_flat, *s_dense;

/* Embedding(VOCAB, 4, mask_zero) -> pooling -> Dense(3, softmax): variable time. */
static seqnet_model *build_pooled(int max_pool)
{
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    int32_t in, x;
    must(seqnet_graph_new(ctx, &g) == SEQNET_OK && seqnet_options_new(ctx, &o) == SEQNET_OK);
    must(seqnet_graph_input_tokens(g, 0, NULL, &in) == SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, VOCAB);
    seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, 4);
    seqnet_options_set_int(o, SEQNET_OPT_MASK_ZERO, 1);
    must(seqnet_graph_add(g, SEQNET_LAYER_EMBEDDING, o, &in, 1, NULL, &x) == SEQNET_OK);
    seqnet_options_clear(o);
    must(seqnet_graph_add(g, max_pool ? SEQNET_LAYER_GLOBAL_MAX_POOLING1D
                                      : SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D,
                          o, &x, 1, NULL, &x) == SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 3);
    seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "softmax");
    must(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &x, 1, NULL, &x) == SEQNET_OK);
    must(seqnet_graph_compile(g, &in, 1, &x, 1, &m) == SEQNET_OK);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    return m;
}

/* Embedding(VOCAB, 3) on a fixed time -> Flatten -> Dense(2, softmax). */
static seqnet_model *build_flat(void)
{
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    int32_t in, x;
    must(seqnet_graph_new(ctx, &g) == SEQNET_OK && seqnet_options_new(ctx, &o) == SEQNET_OK);
    must(seqnet_graph_input_tokens(g, FIXED_TIME, NULL, &in) == SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, VOCAB);
    seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, 3);
    must(seqnet_graph_add(g, SEQNET_LAYER_EMBEDDING, o, &in, 1, NULL, &x) == SEQNET_OK);
    seqnet_options_clear(o);
    must(seqnet_graph_add(g, SEQNET_LAYER_FLATTEN, o, &x, 1, NULL, &x) == SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 2);
    seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "softmax");
    must(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &x, 1, NULL, &x) == SEQNET_OK);
    must(seqnet_graph_compile(g, &in, 1, &x, 1, &m) == SEQNET_OK);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    return m;
}

/* Vector input [5] -> Dense(4, tanh) -> Dense(1, sigmoid). */
static seqnet_model *build_dense(void)
{
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    int32_t in, x;
    must(seqnet_graph_new(ctx, &g) == SEQNET_OK && seqnet_options_new(ctx, &o) == SEQNET_OK);
    must(seqnet_graph_input_vector(g, 5, NULL, &in) == SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 4);
    seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "tanh");
    must(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &in, 1, NULL, &x) == SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1);
    seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "sigmoid");
    must(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &x, 1, NULL, &x) == SEQNET_OK);
    must(seqnet_graph_compile(g, &in, 1, &x, 1, &m) == SEQNET_OK);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    return m;
}

static void setup(void)
{
    if (ctx != NULL)
        return;
    must(fuzz_context_new(&ctx) == SEQNET_OK);
    seqnet_context_set_seed(ctx, 7);
    pooled = build_pooled(0);
    flat = build_flat();
    dense = build_dense();
    must(seqnet_session_new(pooled, &s_pooled) == SEQNET_OK);
    must(seqnet_session_new(flat, &s_flat) == SEQNET_OK);
    must(seqnet_session_new(dense, &s_dense) == SEQNET_OK);
}

/* A successful run's outputs: batch x units, each finite in [0, 1]. */
static void check_outputs(const seqnet_session *s, int32_t batch, int32_t units)
{
    float out[MAX_BATCH * 4];
    int32_t b = 0, t = -1, f = 0, i;
    must(seqnet_session_output_shape(s, 0, &b, &t, &f) == SEQNET_OK);
    must(b == batch && t == 0 && f == units);
    must(seqnet_session_get_output(s, 0, out, (int64_t)b * f) == SEQNET_OK);
    for (i = 0; i < b * f; i++)
        must(isfinite(out[i]) && out[i] >= 0.0f && out[i] <= 1.0f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int32_t ids[MAX_BATCH * MAX_TIME], lengths[MAX_BATCH];
    float x[MAX_BATCH * 5];
    int32_t batch, time, i, n;
    int mode, in_range = 1, st;
    setup();
    if (size < 3)
        return 0;
    mode = data[0] % 4;
    batch = 1 + data[1] % MAX_BATCH;
    time = mode == 1 ? FIXED_TIME : 1 + data[2] % MAX_TIME;
    data += 3;
    size -= 3;
    n = batch * time;
    for (i = 0; i < n; i++) {
        uint32_t v = 0;
        if ((size_t)(i * 4 + 4) <= size)
            memcpy(&v, data + i * 4, 4);
        ids[i] = (int32_t)v;
        in_range &= ids[i] >= 0 && ids[i] < VOCAB;
    }
    if (mode == 0 || mode == 3) {
        /* Pooled model; mode 3 also feeds explicit lengths (any values). */
        must(seqnet_session_set_input_tokens(s_pooled, 0, ids, batch, time) == SEQNET_OK);
        if (mode == 3) {
            for (i = 0; i < batch; i++)
                lengths[i] = (int32_t)(int8_t)(size > (size_t)i ? data[size - 1 - i] : 0);
            st = seqnet_session_set_input_lengths(s_pooled, 0, lengths, batch);
            if (st != SEQNET_OK)
                must(st == SEQNET_EINVAL || st == SEQNET_ERANGE || st == SEQNET_ESHAPE);
        } else {
            must(seqnet_session_set_input_lengths(s_pooled, 0, NULL, batch) == SEQNET_OK);
        }
        st = seqnet_session_run(s_pooled);
        if (!in_range)
            must(st == SEQNET_ERANGE);
        else if (st == SEQNET_OK)
            check_outputs(s_pooled, batch, 3);
        else
            must(mode == 3 && (st == SEQNET_EINVAL || st == SEQNET_ERANGE));
    } else if (mode == 1) {
        must(seqnet_session_set_input_tokens(s_flat, 0, ids, batch, time) == SEQNET_OK);
        st = seqnet_session_run(s_flat);
        must(in_range ? st == SEQNET_OK : st == SEQNET_ERANGE);
        if (st == SEQNET_OK)
            check_outputs(s_flat, batch, 2);
        /* The wrong time for a fixed-time input is refused up front. */
        must(seqnet_session_set_input_tokens(s_flat, 0, ids, 1, FIXED_TIME + 1) == SEQNET_ESHAPE);
    } else {
        int finite = 1;
        for (i = 0; i < batch * 5; i++) {
            uint32_t v = 0;
            if ((size_t)(i * 4 + 4) <= size)
                memcpy(&v, data + i * 4, 4);
            memcpy(&x[i], &v, sizeof(float));
            finite &= isfinite(x[i]) != 0;
        }
        must(seqnet_session_set_input_floats(s_dense, 0, x, batch, 0, 5) == SEQNET_OK);
        st = seqnet_session_run(s_dense);
        must(finite ? st == SEQNET_OK : st == SEQNET_ENONFINITE);
        if (st == SEQNET_OK)
            check_outputs(s_dense, batch, 1);
    }
    return 0;
}
