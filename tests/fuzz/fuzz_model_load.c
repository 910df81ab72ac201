/*
 * tests/fuzz/fuzz_model_load.c -- libFuzzer target for the model file loader.
 *
 * The input is a candidate model file. It is loaded three ways: copied,
 * borrowed (from an 8-aligned copy, as SEQNET_LOAD_BORROW requires) and
 * through a host read callback. Each load must either fail with a status or
 * give a model; a model then runs a prediction on a small input for every
 * model input (token ids 0 and 1, which an Embedding may refuse with
 * SEQNET_ERANGE), and is saved and loaded again, which must succeed.
 *
 * Random mutations almost never keep the CRC-32Cs right, so a fourth load
 * first rewrites every checksum the bytes allow (header, table, each
 * section inside the buffer): the fuzzer then reaches the section parsers
 * and the graph rebuild, not only the checksum checks.
 * Sanitizers (ASan, UBSan) catch everything else.
 *
 *   scripts/fuzz.sh 60      (configures build-fuzz with clang and runs every target)
 *   build-fuzz/tests/fuzz/fuzz_model_load WORKDIR tests/fuzz/corpus_model -max_total_time=60
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seqnet/seqnet.h"
#include "text/text_io.h" /* sn_crc32c */

#include "fuzz_alloc.h"

/* Inputs larger than this are not exercised with a prediction: the shapes a
 * file declares are bounded by the library, but keeping runs small keeps the
 * fuzzer fast. */
#define MAX_RUN_TIME 64
#define MAX_RUN_FEATURES 4096
#define BATCH 2

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond)
{
    if (!cond)
        abort(); /* a broken invariant: let the fuzzer report it */
}

static int is_load_error(int st)
{
    return st == SEQNET_ETRUNCATED || st == SEQNET_ECHECKSUM || st == SEQNET_EFORMAT ||
           st == SEQNET_EVERSION || st == SEQNET_EWRONGTYPE || st == SEQNET_ETOOBIG ||
           st == SEQNET_ENONFINITE || st == SEQNET_EUNSUPPORTED || st == SEQNET_EINVAL ||
           st == SEQNET_ESHAPE || st == SEQNET_ENOMEM;
}

/* Feed every input a small batch and run; any clean status is fine. */
static void exercise(const seqnet_model *m)
{
    static const int32_t ids[BATCH * MAX_RUN_TIME] = {0, 1, 1, 0, 1, 1, 0, 0, 1};
    static float x[BATCH * MAX_RUN_FEATURES * 4];
    seqnet_session *s = NULL;
    int32_t i, n_in = seqnet_model_n_inputs(m), n_out = seqnet_model_n_outputs(m);
    int st;
    if (seqnet_session_new(m, &s) != SEQNET_OK)
        return;
    for (i = 0; i < n_in; i++) {
        int32_t time = 0, features = 0, steps;
        int tokens = 0;
        must(seqnet_model_input_shape(m, i, &time, &features, &tokens) == SEQNET_OK);
        steps = time == 0 ? 3 : time;
        if (time > MAX_RUN_TIME || features > MAX_RUN_FEATURES ||
            (time != -1 && (int64_t)steps * features > MAX_RUN_FEATURES * 4))
            goto done;
        if (tokens)
            st = seqnet_session_set_input_tokens(s, i, ids, BATCH, steps);
        else if (time == -1)
            st = seqnet_session_set_input_floats(s, i, x, BATCH, 0, features);
        else
            st = seqnet_session_set_input_floats(s, i, x, BATCH, steps, features);
        if (st != SEQNET_OK)
            goto done;
    }
    st = seqnet_session_run(s);
    if (st == SEQNET_OK) {
        for (i = 0; i < n_out; i++) {
            int32_t b = 0, t = 0, f = 0;
            int64_t count;
            float *out;
            must(seqnet_session_output_shape(s, i, &b, &t, &f) == SEQNET_OK);
            count = (int64_t)b * (t > 0 ? t : 1) * f;
            must(count > 0);
            out = malloc((size_t)count * sizeof *out);
            if (out == NULL)
                continue;
            must(seqnet_session_get_output(s, i, out, count) == SEQNET_OK);
            must(seqnet_session_output(s, i) != NULL);
            free(out);
        }
    }
done:
    seqnet_session_free(s);
}

/* A loaded model saves, and what it saves loads. */
static void round_trip(seqnet_context *ctx, const seqnet_model *m)
{
    seqnet_saver *sv = NULL;
    seqnet_loader *l = NULL;
    seqnet_model *again = NULL;
    void *buf = NULL;
    size_t n = 0;
    if (seqnet_saver_new(ctx, &sv) != SEQNET_OK)
        return;
    must(seqnet_saver_set_model(sv, m) == SEQNET_OK);
    if (seqnet_saver_write_alloc(sv, &buf, &n) == SEQNET_OK) {
        must(seqnet_loader_new(ctx, &l) == SEQNET_OK);
        must(seqnet_loader_read_buffer(l, buf, n, 0) == SEQNET_OK);
        must(seqnet_loader_take_model(l, &again) == SEQNET_OK);
        must(seqnet_model_n_layers(again) == seqnet_model_n_layers(m));
        must(seqnet_model_count_params(again, NULL, NULL) == seqnet_model_count_params(m, NULL, NULL));
        seqnet_model_free(again);
        seqnet_loader_free(l);
        seqnet_free(buf);
    }
    seqnet_saver_free(sv);
}

static void load_and_use(seqnet_context *ctx, const void *bytes, size_t size, unsigned flags)
{
    seqnet_loader *l = NULL;
    seqnet_model *m = NULL;
    int st;
    must(seqnet_loader_new(ctx, &l) == SEQNET_OK);
    st = seqnet_loader_read_buffer(l, bytes, size, flags);
    if (st != SEQNET_OK) {
        must(is_load_error(st));
        must(seqnet_loader_take_model(l, &m) == SEQNET_ESTATE && m == NULL);
    } else {
        int32_t k, n_texts = seqnet_loader_n_texts(l);
        must(seqnet_loader_take_model(l, &m) == SEQNET_OK && m != NULL);
        for (k = 0; k < n_texts; k++) {
            const char *name = NULL;
            int kind = 0;
            must(seqnet_loader_text_info(l, k, &name, &kind) == SEQNET_OK && name != NULL);
        }
        if (seqnet_loader_has_optimizer(l)) {
            seqnet_trainer *t = NULL;
            if (!(flags & SEQNET_LOAD_BORROW) && seqnet_trainer_new(m, &t) == SEQNET_OK) {
                (void)seqnet_loader_restore_trainer(l, t);
                seqnet_trainer_free(t);
            }
        }
        exercise(m);
        round_trip(ctx, m);
    }
    seqnet_loader_free(l);
    seqnet_model_free(m);
}

typedef struct reader {
    const uint8_t *p;
    size_t left;
} reader;

static int read_cb(void *user, void *dst, size_t n)
{
    reader *r = user;
    if (n > r->left)
        return 1;
    memcpy(dst, r->p, n);
    r->p += n;
    r->left -= n;
    return 0;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put32(uint8_t *p, uint32_t v)
{
    int i;
    for (i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Make every checksum of a (mutated) model file right, per docs/FORMAT.md. */
static void fix_checksums(uint8_t *p, size_t size)
{
    uint64_t n, i;
    if (size < 64 || memcmp(p, "SEQNMODL", 8) != 0)
        return;
    n = le32(p + 12);
    if (n > 1024 || 64 + n * 32 > size)
        return;
    for (i = 0; i < n; i++) {
        uint8_t *e = p + 64 + i * 32;
        uint64_t off = le64(e + 8), len = le64(e + 16);
        if (off <= size && len <= size - off)
            put32(e + 24, sn_crc32c(0, p + off, (size_t)len));
    }
    put32(p + 24, sn_crc32c(0, p + 64, (size_t)n * 32));
    put32(p + 28, sn_crc32c(0, p, 28));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seqnet_context *ctx = NULL;
    seqnet_loader *l = NULL;
    reader r;
    void *copy;
    int st;
    if (fuzz_context_new(&ctx) != SEQNET_OK)
        return 0;
    /* 64-byte aligned like a real file mapping, and at least one byte. */
    copy = aligned_alloc(64, (size + 64) / 64 * 64);
    if (copy != NULL) {
        memcpy(copy, data, size);
        load_and_use(ctx, copy, size, 0);
        load_and_use(ctx, copy, size, SEQNET_LOAD_BORROW);
        fix_checksums(copy, size);
        load_and_use(ctx, copy, size, SEQNET_LOAD_BORROW);
        free(copy);
    }
    r.p = data;
    r.left = size;
    must(seqnet_loader_new(ctx, &l) == SEQNET_OK);
    st = seqnet_loader_read_callback(l, read_cb, &r, size);
    must(st == SEQNET_OK || is_load_error(st));
    seqnet_loader_free(l);
    seqnet_context_free(ctx);
    return 0;
}
