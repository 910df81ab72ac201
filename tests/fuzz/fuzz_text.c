/*
 * tests/fuzz/fuzz_text.c -- libFuzzer target for the text room.
 *
 * One input drives everything: byte 0 picks settings, the rest is split at
 * NUL bytes into up to 32 texts (arbitrary bytes: invalid UTF-8 included).
 * It fits and transforms a tokenizer and the three vectorizers, pads the
 * sequences, round-trips both objects through save/load (which must
 * succeed), and feeds the raw input to both loaders (which must fail
 * cleanly or succeed). Sanitizers catch the rest.
 *
 *   CC=clang meson setup build-fuzz -Dfuzzing=true -Db_sanitize=address,undefined \
 *       -Dc_args=-fsanitize=fuzzer-no-link -Db_lundef=false
 *   ninja -C build-fuzz && mkdir -p /tmp/fz && build-fuzz/tests/fuzz/fuzz_text /tmp/fz tests/fuzz/corpus_text -max_total_time=60
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seqnet/text.h"

#include "fuzz_alloc.h"

#define MAX_TEXTS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int cond)
{
    if (!cond)
        abort(); /* a broken invariant: let the fuzzer report it */
}

static void run_tokenizer(seqnet_context *ctx, uint8_t mode, const char *const *texts, const size_t *lens,
                          size_t n)
{
    seqnet_tokenizer *tok = NULL, *tok2 = NULL;
    int32_t *ids = NULL, *padded;
    size_t *offs = NULL, width, cols, size;
    char *back = NULL;
    size_t *back_offs = NULL;
    void *blob = NULL;
    if (seqnet_tokenizer_new(ctx, &tok) != SEQNET_OK)
        return;
    (void)seqnet_tokenizer_set_int(tok, SEQNET_TOKENIZER_LOWER, mode & 1);
    (void)seqnet_tokenizer_set_int(tok, SEQNET_TOKENIZER_CHAR_LEVEL, (mode >> 1) & 1);
    (void)seqnet_tokenizer_set_int(tok, SEQNET_TOKENIZER_UTF8_STRICT, (mode >> 2) & 1);
    (void)seqnet_tokenizer_set_int(tok, SEQNET_TOKENIZER_NUM_WORDS, (mode >> 3) & 7);
    if (mode & 0x40)
        (void)seqnet_tokenizer_set_string(tok, SEQNET_TOKENIZER_OOV_TOKEN, "<OOV>", 5);
    if (mode & 0x80 && n > 0)
        (void)seqnet_tokenizer_set_string(tok, SEQNET_TOKENIZER_SPLIT, texts[0], lens[0] % 4);
    if (seqnet_tokenizer_fit(tok, texts, lens, n) == SEQNET_OK &&
        seqnet_tokenizer_texts_to_sequences(tok, texts, lens, n, &ids, &offs) == SEQNET_OK) {
        (void)seqnet_tokenizer_sequences_to_texts(tok, ids, offs, n, &back, &back_offs);
        (void)seqnet_tokenizer_fit_sequences(tok, ids, offs, n);
        if (seqnet_tokenizer_matrix_width(tok, &width) == SEQNET_OK && width * n < 100000) {
            double *m = malloc((width * n + 1) * sizeof *m);
            if (m != NULL) {
                (void)seqnet_tokenizer_sequences_to_matrix(tok, ids, offs, n, mode & 3, m, width * n);
                free(m);
            }
        }
        if (seqnet_pad_sequences(ids, offs, n, (mode & 8) ? 5 : -1, mode & 1, (mode >> 1) & 1, -1, NULL, 0,
                                 &cols) == SEQNET_OK && cols * n < 1000000) {
            padded = malloc((cols * n + 1) * sizeof *padded);
            if (padded != NULL) {
                must(seqnet_pad_sequences(ids, offs, n, (mode & 8) ? 5 : -1, mode & 1, (mode >> 1) & 1, -1,
                                          padded, cols * n, &cols) == SEQNET_OK);
                free(padded);
            }
        }
    }
    if (seqnet_tokenizer_save(tok, &blob, &size) == SEQNET_OK) {
        must(seqnet_tokenizer_load(ctx, blob, size, &tok2) == SEQNET_OK);
        seqnet_tokenizer_free(tok2);
    }
    seqnet_free(blob);
    seqnet_free(ids);
    seqnet_free(offs);
    seqnet_free(back);
    seqnet_free(back_offs);
    seqnet_tokenizer_free(tok);
}

static void run_vectorizer(seqnet_context *ctx, int32_t kind, uint8_t mode, const char *const *texts,
                           const size_t *lens, size_t n)
{
    seqnet_vectorizer *vec = NULL, *vec2 = NULL;
    size_t *indptr = NULL, size;
    int32_t *indices = NULL;
    double *values = NULL;
    void *blob = NULL;
    if (seqnet_vectorizer_new(ctx, kind, &vec) != SEQNET_OK)
        return;
    (void)seqnet_vectorizer_set_int(vec, SEQNET_VECTORIZER_NGRAM_MAX, 1 + (mode & 3));
    (void)seqnet_vectorizer_set_int(vec, SEQNET_VECTORIZER_STOP_WORDS_ENGLISH, (mode >> 2) & 1);
    (void)seqnet_vectorizer_set_int(vec, SEQNET_VECTORIZER_BINARY, (mode >> 3) & 1);
    (void)seqnet_vectorizer_set_int(vec, SEQNET_VECTORIZER_SUBLINEAR_TF, (mode >> 4) & 1);
    (void)seqnet_vectorizer_set_int(vec, SEQNET_VECTORIZER_NORM, (mode >> 5) % 3);
    (void)seqnet_vectorizer_set_int(vec, SEQNET_VECTORIZER_N_FEATURES, 1 + mode);
    if (mode & 0x80)
        (void)seqnet_vectorizer_set_double(vec, SEQNET_VECTORIZER_MAX_DF, 0.7);
    if (mode & 0x40)
        (void)seqnet_vectorizer_set_int(vec, SEQNET_VECTORIZER_MAX_FEATURES, 3);
    if (seqnet_vectorizer_fit_transform(vec, texts, lens, n, &indptr, &indices, &values) == SEQNET_OK) {
        seqnet_free(indptr);
        seqnet_free(indices);
        seqnet_free(values);
        must(seqnet_vectorizer_transform(vec, texts, lens, n, &indptr, &indices, &values) == SEQNET_OK);
    }
    if (seqnet_vectorizer_save(vec, &blob, &size) == SEQNET_OK) {
        must(seqnet_vectorizer_load(ctx, blob, size, &vec2) == SEQNET_OK);
        seqnet_vectorizer_free(vec2);
    }
    seqnet_free(blob);
    seqnet_free(indptr);
    seqnet_free(indices);
    seqnet_free(values);
    seqnet_vectorizer_free(vec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seqnet_context *ctx;
    const char *texts[MAX_TEXTS];
    size_t lens[MAX_TEXTS], n = 0, start = 1, i;
    seqnet_tokenizer *tok = NULL;
    seqnet_vectorizer *vec = NULL;
    uint8_t mode;
    if (size == 0 || fuzz_context_new(&ctx) != SEQNET_OK)
        return 0;
    mode = data[0];
    for (i = 1; i <= size && n < MAX_TEXTS; i++) {
        if (i == size || data[i] == 0) {
            texts[n] = (const char *)data + start;
            lens[n] = i - start;
            n++;
            start = i + 1;
        }
    }
    run_tokenizer(ctx, mode, texts, lens, n);
    run_vectorizer(ctx, SEQNET_VECTORIZER_COUNT, mode, texts, lens, n);
    run_vectorizer(ctx, SEQNET_VECTORIZER_TFIDF, (uint8_t)(mode * 7), texts, lens, n);
    run_vectorizer(ctx, SEQNET_VECTORIZER_HASHING, mode, texts, lens, n);
    /* Hostile bytes straight into the loaders. */
    if (seqnet_tokenizer_load(ctx, data + 1, size - 1, &tok) == SEQNET_OK)
        seqnet_tokenizer_free(tok);
    if (seqnet_vectorizer_load(ctx, data + 1, size - 1, &vec) == SEQNET_OK)
        seqnet_vectorizer_free(vec);
    seqnet_context_free(ctx);
    return 0;
}
