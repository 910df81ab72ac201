/*
 * tests/io/test_io.c -- model files: round trips, resuming training
 * bit-identically, borrowed buffers, callbacks, text objects, committed
 * fixtures from earlier versions, and hostile bytes (every byte flipped,
 * every truncation).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <seqnet/seqnet.h>

#ifndef FIXTURE_DIR
#define FIXTURE_DIR "."
#endif

static seqnet_context *ctx_new(uint64_t seed)
{
    seqnet_context *ctx = NULL;
    ck_assert_int_eq(seqnet_context_new(&ctx), SEQNET_OK);
    seqnet_context_set_seed(ctx, seed);
    return ctx;
}

/* Embedding(mask_zero) -> GlobalAveragePooling1D -> Dropout -> Dense(8, relu) -> Dense(1, sigmoid) */
static seqnet_model *small_model(seqnet_context *ctx, int32_t vocab)
{
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    int32_t in, x;
    ck_assert_int_eq(seqnet_graph_new(ctx, &g), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_new(ctx, &o), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_tokens(g, 0, "tokens", &in), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, vocab);
    seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, 6);
    seqnet_options_set_int(o, SEQNET_OPT_MASK_ZERO, 1);
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_EMBEDDING, o, &in, 1, NULL, &x), SEQNET_OK);
    seqnet_options_clear(o);
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D, o, &x, 1, NULL, &x),
                     SEQNET_OK);
    seqnet_options_set_float(o, SEQNET_OPT_RATE, 0.25);
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_DROPOUT, o, &x, 1, NULL, &x), SEQNET_OK);
    seqnet_options_clear(o);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 8);
    seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "relu");
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &x, 1, "hidden", &x), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 1);
    seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "sigmoid");
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &x, 1, NULL, &x), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_compile(g, &in, 1, &x, 1, &m), SEQNET_OK);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    return m;
}

#define N_SAMPLES 48
#define T_STEPS 7
static int32_t ids[N_SAMPLES * T_STEPS];
static float labels[N_SAMPLES];

static void make_data(void)
{
    int i, t;
    for (i = 0; i < N_SAMPLES; i++) {
        int len = 2 + i % (T_STEPS - 1), pos = 0;
        for (t = 0; t < T_STEPS; t++) {
            int id = t < len ? 1 + (i * 13 + t * 7) % 29 : 0;
            ids[i * T_STEPS + t] = id;
            pos += id > 15;
        }
        labels[i] = pos * 2 > len ? 1.0f : 0.0f;
    }
}

static seqnet_data *data_new(seqnet_context *ctx)
{
    seqnet_data *d = NULL;
    ck_assert_int_eq(seqnet_data_new(ctx, &d), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_tokens(d, 0, ids, N_SAMPLES, T_STEPS), SEQNET_OK);
    ck_assert_int_eq(seqnet_data_set_targets(d, 0, labels, N_SAMPLES, 0, 1), SEQNET_OK);
    return d;
}

static seqnet_trainer *trainer_new(seqnet_model *m, int epochs)
{
    seqnet_trainer *t = NULL;
    ck_assert_int_eq(seqnet_trainer_new(m, &t), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_loss(t, 0, SEQNET_LOSS_BINARY_CROSSENTROPY), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_add_metric(t, 0, SEQNET_METRIC_BINARY_ACCURACY), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_BATCH_SIZE, 10), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_EPOCHS, epochs), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_set_param(t, SEQNET_TRAIN_LEARNING_RATE, 0.01), SEQNET_OK);
    return t;
}

static void predict_all(const seqnet_model *m, float *out)
{
    seqnet_session *s = NULL;
    ck_assert_int_eq(seqnet_session_new(m, &s), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_set_input_tokens(s, 0, ids, N_SAMPLES, T_STEPS), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_run(s), SEQNET_OK);
    ck_assert_int_eq(seqnet_session_get_output(s, 0, out, N_SAMPLES), SEQNET_OK);
    seqnet_session_free(s);
}

static void save_alloc(seqnet_context *ctx, const seqnet_model *m, const seqnet_trainer *t,
                       const seqnet_tokenizer *tok, void **buf, size_t *size)
{
    seqnet_saver *sv = NULL;
    size_t predicted = 0;
    ck_assert_int_eq(seqnet_saver_new(ctx, &sv), SEQNET_OK);
    ck_assert_int_eq(seqnet_saver_set_model(sv, m), SEQNET_OK);
    if (t != NULL)
        ck_assert_int_eq(seqnet_saver_set_trainer(sv, t), SEQNET_OK);
    if (tok != NULL)
        ck_assert_int_eq(seqnet_saver_add_tokenizer(sv, "tokenizer", tok), SEQNET_OK);
    if (tok != NULL) {
        ck_assert_int_eq(seqnet_saver_set_meta(sv, "schema", "tokens;vocab=30"), SEQNET_OK);
        ck_assert_int_eq(seqnet_saver_set_meta(sv, "note", "first"), SEQNET_OK);
        ck_assert_int_eq(seqnet_saver_set_meta(sv, "note", "second"), SEQNET_OK);
        ck_assert_int_eq(seqnet_saver_set_meta(sv, "", "x"), SEQNET_EINVAL);
    }
    ck_assert_int_eq(seqnet_saver_size(sv, &predicted), SEQNET_OK);
    ck_assert_int_eq(seqnet_saver_write_alloc(sv, buf, size), SEQNET_OK);
    ck_assert_uint_eq(predicted, *size);
    seqnet_saver_free(sv);
}

static int load(seqnet_context *ctx, const void *buf, size_t size, unsigned flags,
                seqnet_model **m, seqnet_loader **keep)
{
    seqnet_loader *l = NULL;
    int st;
    ck_assert_int_eq(seqnet_loader_new(ctx, &l), SEQNET_OK);
    st = seqnet_loader_read_buffer(l, buf, size, flags);
    if (st == SEQNET_OK && m != NULL)
        ck_assert_int_eq(seqnet_loader_take_model(l, m), SEQNET_OK);
    if (keep != NULL)
        *keep = l;
    else
        seqnet_loader_free(l);
    return st;
}

START_TEST(round_trip_keeps_predictions_summary_and_tokenizer)
{
    seqnet_context *ctx = ctx_new(1);
    seqnet_model *m = small_model(ctx, 30), *m2 = NULL;
    seqnet_trainer *t = trainer_new(m, 2);
    seqnet_data *d = data_new(ctx);
    seqnet_tokenizer *tok = NULL, *tok2 = NULL;
    seqnet_loader *l = NULL;
    const char *texts[2] = {"the cat sat", "the dog"};
    size_t lens[2] = {11, 7};
    float a[N_SAMPLES], b[N_SAMPLES];
    char *s1 = NULL, *s2 = NULL;
    void *buf = NULL;
    size_t size = 0;
    const char *name;
    int kind;
    int32_t idx;
    ck_assert_int_eq(seqnet_trainer_fit(t, d, NULL), SEQNET_OK);
    ck_assert_int_eq(seqnet_tokenizer_new(ctx, &tok), SEQNET_OK);
    ck_assert_int_eq(seqnet_tokenizer_fit(tok, texts, lens, 2), SEQNET_OK);
    save_alloc(ctx, m, NULL, tok, &buf, &size);
    ck_assert_int_eq(load(ctx, buf, size, 0, &m2, &l), SEQNET_OK);
    predict_all(m, a);
    predict_all(m2, b);
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
    ck_assert_int_eq(seqnet_model_summary(m, &s1), SEQNET_OK);
    ck_assert_int_eq(seqnet_model_summary(m2, &s2), SEQNET_OK);
    ck_assert_str_eq(s1, s2);
    ck_assert_int_eq(seqnet_loader_has_optimizer(l), 0);
    ck_assert_int_eq(seqnet_loader_n_meta(l), 2);
    ck_assert_str_eq(seqnet_loader_get_meta(l, "schema"), "tokens;vocab=30");
    ck_assert_str_eq(seqnet_loader_get_meta(l, "note"), "second");
    ck_assert_ptr_null(seqnet_loader_get_meta(l, "absent"));
    ck_assert_int_eq(seqnet_loader_n_texts(l), 1);
    ck_assert_int_eq(seqnet_loader_text_info(l, 0, &name, &kind), SEQNET_OK);
    ck_assert_str_eq(name, "tokenizer");
    {
        seqnet_vectorizer *wrong = NULL;
        ck_assert_int_eq(seqnet_loader_take_vectorizer(l, 0, &wrong), SEQNET_EWRONGTYPE);
        ck_assert_ptr_null(wrong);
    }
    ck_assert_int_eq(seqnet_loader_take_tokenizer(l, 0, &tok2), SEQNET_OK);
    ck_assert_int_eq(seqnet_tokenizer_lookup(tok2, "cat", 3, &idx), SEQNET_OK);
    ck_assert_int_eq(idx, 2);
    {
        seqnet_tokenizer *again = NULL;
        ck_assert_int_eq(seqnet_loader_take_tokenizer(l, 0, &again), SEQNET_ESTATE);
        ck_assert_ptr_null(again);
    }
    ck_assert_int_eq(seqnet_model_find_layer(m2, "hidden"), seqnet_model_find_layer(m, "hidden"));
    seqnet_free(s1);
    seqnet_free(s2);
    seqnet_free(buf);
    seqnet_loader_free(l);
    seqnet_tokenizer_free(tok2); /* taken: it belongs to the caller */
    seqnet_tokenizer_free(tok);
    seqnet_data_free(d);
    seqnet_trainer_free(t);
    seqnet_model_free(m2);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

static void weights_of(const seqnet_model *m, float *out, size_t cap)
{
    int32_t l, w;
    size_t at = 0;
    for (l = 0; l < seqnet_model_n_layers(m); l++)
        for (w = 0; w < seqnet_model_layer_n_weights(m, l); w++) {
            int64_t count;
            ck_assert_int_eq(seqnet_model_weight_info(m, l, w, NULL, NULL, NULL, &count), SEQNET_OK);
            ck_assert(at + (size_t)count <= cap);
            ck_assert_int_eq(seqnet_model_get_weight(m, l, w, out + at, count), SEQNET_OK);
            at += (size_t)count;
        }
}

START_TEST(resumed_training_is_bit_identical)
{
    static float straight[4096], resumed[4096];
    seqnet_context *ctx = ctx_new(9);
    seqnet_model *m = small_model(ctx, 30), *m2 = NULL;
    seqnet_trainer *t = trainer_new(m, 4), *t2 = NULL;
    seqnet_data *d = data_new(ctx);
    seqnet_loader *l = NULL;
    void *buf = NULL;
    size_t size;
    double loss_a, loss_b;
    /* Straight: 4 epochs. */
    ck_assert_int_eq(seqnet_trainer_fit(t, d, NULL), SEQNET_OK);
    weights_of(m, straight, 4096);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
    seqnet_context_free(ctx);

    /* Same seed: 2 epochs, save with the optimizer, load, 2 more epochs. */
    ctx = ctx_new(9);
    m = small_model(ctx, 30);
    t = trainer_new(m, 2);
    ck_assert_int_eq(seqnet_trainer_fit(t, d, NULL), SEQNET_OK);
    save_alloc(ctx, m, t, NULL, &buf, &size);
    seqnet_trainer_free(t);
    seqnet_model_free(m);
    ck_assert_int_eq(load(ctx, buf, size, 0, &m2, &l), SEQNET_OK);
    ck_assert_int_eq(seqnet_loader_has_optimizer(l), 1);
    ck_assert_int_eq(seqnet_trainer_new(m2, &t2), SEQNET_OK);
    ck_assert_int_eq(seqnet_loader_restore_trainer(l, t2), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_fit(t2, d, NULL), SEQNET_OK);
    weights_of(m2, resumed, 4096);
    ck_assert_int_eq(memcmp(straight, resumed, sizeof straight), 0);
    /* The restored trainer kept its loss and metric. */
    ck_assert_int_eq(seqnet_trainer_n_logs(t2), 2);
    ck_assert_int_eq(seqnet_trainer_history_value(t2, 1, 0, 0, &loss_b), SEQNET_OK);
    ck_assert_int_eq(seqnet_trainer_history_value(t2, 0, 0, 0, &loss_a), SEQNET_OK);
    ck_assert(loss_b <= loss_a * 1.5);
    seqnet_free(buf);
    seqnet_loader_free(l);
    seqnet_trainer_free(t2);
    seqnet_model_free(m2);
    seqnet_data_free(d);
    seqnet_context_free(ctx);
}
END_TEST

START_TEST(borrowed_buffer_is_used_in_place_and_read_only)
{
    seqnet_context *ctx = ctx_new(2);
    seqnet_model *m = small_model(ctx, 30), *m2 = NULL;
    seqnet_trainer *t = NULL;
    float a[N_SAMPLES], b[N_SAMPLES], w[8];
    void *buf = NULL;
    size_t size;
    save_alloc(ctx, m, NULL, NULL, &buf, &size);
    ck_assert_int_eq(load(ctx, buf, size, SEQNET_LOAD_BORROW, &m2, NULL), SEQNET_OK);
    predict_all(m, a);
    predict_all(m2, b);
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
    ck_assert_int_eq(seqnet_model_get_weight(m2, seqnet_model_find_layer(m2, "hidden"), 1, w, 8),
                     SEQNET_OK);
    ck_assert_int_eq(seqnet_model_set_weight(m2, seqnet_model_find_layer(m2, "hidden"), 1, w, 8),
                     SEQNET_ESTATE);
    ck_assert_int_eq(seqnet_trainer_new(m2, &t), SEQNET_ESTATE);
    seqnet_model_free(m2);
    seqnet_free(buf);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

typedef struct stream {
    unsigned char *buf;
    size_t len, cap, pos;
    int fail_after;
} stream;

static int stream_write(void *user, const void *data, size_t size)
{
    stream *s = user;
    if (s->fail_after >= 0 && s->len + size > (size_t)s->fail_after)
        return -1;
    if (s->len + size > s->cap) {
        size_t cap = (s->len + size) * 2;
        unsigned char *p = realloc(s->buf, cap);
        if (p == NULL)
            return -1;
        s->buf = p;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, size);
    s->len += size;
    return 0;
}

static int stream_read(void *user, void *data, size_t size)
{
    stream *s = user;
    if (size > s->len - s->pos)
        return -1;
    memcpy(data, s->buf + s->pos, size);
    s->pos += size;
    return 0;
}

START_TEST(callbacks_and_caller_buffers)
{
    seqnet_context *ctx = ctx_new(3);
    seqnet_model *m = small_model(ctx, 30), *m2 = NULL;
    seqnet_saver *sv = NULL;
    seqnet_loader *l = NULL;
    stream s;
    size_t size = 0, written = 0;
    unsigned char *small;
    float a[N_SAMPLES], b[N_SAMPLES];
    memset(&s, 0, sizeof s);
    s.fail_after = -1;
    ck_assert_int_eq(seqnet_saver_new(ctx, &sv), SEQNET_OK);
    ck_assert_int_eq(seqnet_saver_write_callback(sv, stream_write, &s), SEQNET_ESTATE);
    ck_assert_int_eq(seqnet_saver_set_model(sv, m), SEQNET_OK);
    ck_assert_int_eq(seqnet_saver_write_callback(sv, stream_write, &s), SEQNET_OK);
    ck_assert_int_eq(seqnet_saver_size(sv, &size), SEQNET_OK);
    ck_assert_uint_eq(size, s.len);
    /* A caller buffer one byte short is refused; the exact size works and
     * gives the same bytes as the callback. */
    small = malloc(size);
    ck_assert_int_eq(seqnet_saver_write_buffer(sv, small, size - 1, &written), SEQNET_EBUFFER);
    ck_assert_int_eq(seqnet_saver_write_buffer(sv, small, size, &written), SEQNET_OK);
    ck_assert_uint_eq(written, size);
    ck_assert_int_eq(memcmp(small, s.buf, size), 0);
    /* A failing host writer gives SEQNET_EIO. */
    {
        stream f;
        memset(&f, 0, sizeof f);
        f.fail_after = 100;
        ck_assert_int_eq(seqnet_saver_write_callback(sv, stream_write, &f), SEQNET_EIO);
        free(f.buf);
    }
    ck_assert_int_eq(seqnet_loader_new(ctx, &l), SEQNET_OK);
    ck_assert_int_eq(seqnet_loader_read_callback(l, stream_read, &s, size - 1), SEQNET_ETOOBIG);
    s.pos = 0;
    ck_assert_int_eq(seqnet_loader_read_callback(l, stream_read, &s, 1 << 20), SEQNET_OK);
    ck_assert_int_eq(seqnet_loader_take_model(l, &m2), SEQNET_OK);
    {
        seqnet_model *again = NULL;
        ck_assert_int_eq(seqnet_loader_take_model(l, &again), SEQNET_ESTATE);
        ck_assert_ptr_null(again);
    }
    predict_all(m, a);
    predict_all(m2, b);
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
    /* A stream that ends early. */
    s.pos = 0;
    s.len = size / 2;
    ck_assert_int_eq(seqnet_loader_read_callback(l, stream_read, &s, 1 << 20), SEQNET_ETRUNCATED);
    free(small);
    free(s.buf);
    seqnet_loader_free(l);
    seqnet_saver_free(sv);
    seqnet_model_free(m2);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

static uint32_t crc32c_ref(const unsigned char *p, size_t n)
{
    uint32_t crc = 0xffffffffu;
    size_t i;
    int k;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
    }
    return crc ^ 0xffffffffu;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

START_TEST(versions_types_and_every_damaged_byte_are_refused)
{
    seqnet_context *ctx = ctx_new(4);
    seqnet_model *m = small_model(ctx, 12), *m2 = NULL;
    seqnet_tokenizer *tok = NULL;
    unsigned char *buf = NULL, *copy;
    void *tbuf = NULL;
    size_t size, tsize, i;
    int bit;
    save_alloc(ctx, m, NULL, NULL, (void **)&buf, &size);
    copy = malloc(size);

    /* The CRC is CRC-32C as docs/FORMAT.md says: recompute the header's. */
    ck_assert_uint_eq(crc32c_ref(buf, 28),
                      (uint32_t)buf[28] | (uint32_t)buf[29] << 8 | (uint32_t)buf[30] << 16 |
                          (uint32_t)buf[31] << 24);
    /* A newer format version. */
    memcpy(copy, buf, size);
    put32(copy + 8, 2);
    put32(copy + 28, crc32c_ref(copy, 28));
    ck_assert_int_eq(load(ctx, copy, size, 0, NULL, NULL), SEQNET_EVERSION);
    /* Another kind of object. */
    ck_assert_int_eq(seqnet_tokenizer_new(ctx, &tok), SEQNET_OK);
    ck_assert_int_eq(seqnet_tokenizer_save(tok, &tbuf, &tsize), SEQNET_OK);
    ck_assert_int_eq(load(ctx, tbuf, tsize, 0, NULL, NULL), SEQNET_EWRONGTYPE);
    /* Not a seqnet file at all. */
    ck_assert_int_eq(load(ctx, "hello world, not a model at all; definitely not one. 0123456789",
                          64, 0, NULL, NULL),
                     SEQNET_EFORMAT);

    /* Every truncation. */
    for (i = 0; i < size; i++)
        ck_assert_msg(load(ctx, buf, i, 0, NULL, NULL) != SEQNET_OK, "truncated to %zu loaded", i);
    /* Every byte, every bit flipped. */
    for (i = 0; i < size; i++) {
        for (bit = 0; bit < 8; bit += 3) {
            int st;
            memcpy(copy, buf, size);
            copy[i] ^= (unsigned char)(1u << bit);
            st = load(ctx, copy, size, 0, &m2, NULL);
            ck_assert_msg(st != SEQNET_OK, "flipping bit %d of byte %zu loaded", bit, i);
            ck_assert_msg(st == SEQNET_ECHECKSUM || st == SEQNET_EFORMAT ||
                              st == SEQNET_ETRUNCATED || st == SEQNET_EVERSION ||
                              st == SEQNET_ETOOBIG,
                          "byte %zu: unexpected status %d", i, st);
        }
    }
    /* The intact file still loads. */
    ck_assert_int_eq(load(ctx, buf, size, 0, &m2, NULL), SEQNET_OK);
    seqnet_model_free(m2);
    seqnet_free(tbuf);
    seqnet_tokenizer_free(tok);
    free(copy);
    seqnet_free(buf);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

/* Files written by earlier versions keep loading and predicting what they
 * predicted then (tests/io/fixtures, made by tests/io/make_fixtures.c). */
/* Found by the loader fuzzer: a well-formed file (checksums right) whose
 * model output is its input of token ids. It loaded, and reading the
 * output of a run then copied from a NULL float buffer. Now refused, as
 * seqnet_graph_compile refuses such a graph. */
START_TEST(a_token_input_as_model_output_is_refused)
{
    char path[512];
    FILE *f;
    unsigned char buf[4096];
    size_t size;
    seqnet_context *ctx = ctx_new(0);
    seqnet_loader *l = NULL;
    seqnet_graph *g = NULL;
    seqnet_model *m = NULL;
    int32_t in;
    snprintf(path, sizeof path, "%s/../refused/token_output.snm", FIXTURE_DIR);
    f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ck_assert_int_gt(size, 64);
    ck_assert_int_eq(load(ctx, buf, size, 0, NULL, &l), SEQNET_EFORMAT);
    ck_assert_ptr_nonnull(strstr(seqnet_errmsg(l), "token ids"));
    seqnet_loader_free(l);
    /* the builder says the same */
    ck_assert_int_eq(seqnet_graph_new(ctx, &g), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_tokens(g, 3, "ids", &in), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_compile(g, &in, 1, &in, 1, &m), SEQNET_EINVAL);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(seqnet_errmsg(g), "token ids"));
    seqnet_graph_free(g);
    seqnet_context_free(ctx);
}
END_TEST

START_TEST(committed_fixtures_keep_loading)
{
    static const char *names[] = {"pooled_v0.1.0", "dense_v0.1.0"};
    size_t k;
    for (k = 0; k < sizeof names / sizeof names[0]; k++) {
        char path[512];
        FILE *f;
        unsigned char *buf;
        long size;
        seqnet_context *ctx = ctx_new(0);
        seqnet_model *m = NULL;
        seqnet_session *s = NULL;
        float expect[64], out[64], x[64];
        int32_t tokens[64];
        int n_in, n_out, is_tok, i, batch, time, feat;
        snprintf(path, sizeof path, "%s/%s.snm", FIXTURE_DIR, names[k]);
        f = fopen(path, "rb");
        ck_assert_msg(f != NULL, "missing fixture %s", path);
        fseek(f, 0, SEEK_END);
        size = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = malloc((size_t)size);
        ck_assert_int_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
        fclose(f);
        ck_assert_int_eq(load(ctx, buf, (size_t)size, 0, &m, NULL), SEQNET_OK);
        snprintf(path, sizeof path, "%s/%s.txt", FIXTURE_DIR, names[k]);
        f = fopen(path, "r");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fscanf(f, "%d %d %d %d %d", &is_tok, &batch, &time, &feat, &n_in), 5);
        for (i = 0; i < n_in; i++) {
            if (is_tok)
                ck_assert_int_eq(fscanf(f, "%d", &tokens[i]), 1);
            else
                ck_assert_int_eq(fscanf(f, "%f", &x[i]), 1);
        }
        ck_assert_int_eq(fscanf(f, "%d", &n_out), 1);
        for (i = 0; i < n_out; i++)
            ck_assert_int_eq(fscanf(f, "%a", &expect[i]), 1);
        fclose(f);
        ck_assert_int_eq(seqnet_session_new(m, &s), SEQNET_OK);
        if (is_tok)
            ck_assert_int_eq(seqnet_session_set_input_tokens(s, 0, tokens, batch, time), SEQNET_OK);
        else
            ck_assert_int_eq(seqnet_session_set_input_floats(s, 0, x, batch, time, feat), SEQNET_OK);
        ck_assert_int_eq(seqnet_session_run(s), SEQNET_OK);
        ck_assert_int_eq(seqnet_session_get_output(s, 0, out, n_out), SEQNET_OK);
        /* The expected outputs were computed with OpenBLAS; another BLAS (the
         * reference one) may round a product's last bit differently, so a
         * relative 1e-6 (a few units in the last place), not bits. */
        for (i = 0; i < n_out; i++)
            ck_assert_msg(fabsf(out[i] - expect[i]) <= 1e-6f * (1.0f + fabsf(expect[i])),
                          "%s output %d: %a != %a", names[k], i, out[i], expect[i]);
        seqnet_session_free(s);
        seqnet_model_free(m);
        free(buf);
        seqnet_context_free(ctx);
    }
}
END_TEST

static Suite *io_suite(void)
{
    Suite *s = suite_create("io");
    TCase *tc = tcase_create("all");
    tcase_set_timeout(tc, 600);
    make_data();
    tcase_add_test(tc, round_trip_keeps_predictions_summary_and_tokenizer);
    tcase_add_test(tc, resumed_training_is_bit_identical);
    tcase_add_test(tc, borrowed_buffer_is_used_in_place_and_read_only);
    tcase_add_test(tc, callbacks_and_caller_buffers);
    tcase_add_test(tc, versions_types_and_every_damaged_byte_are_refused);
    tcase_add_test(tc, committed_fixtures_keep_loading);
    tcase_add_test(tc, a_token_input_as_model_output_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(io_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
