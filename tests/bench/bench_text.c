/*
 * tests/bench/bench_text.c -- text room throughput on a corpus file.
 *
 *   bench_text PHASE FILE
 * FILE: u32 count, then count x (u32 length, bytes), little-endian (made by
 * bench_text.sh from the IMDB reviews). PHASE: tokenizer (fit +
 * texts_to_sequences), count (CountVectorizer fit_transform), tfidf
 * (TfidfVectorizer fit_transform), hashing (HashingVectorizer transform).
 * Prints one JSON line: phase, wall seconds, CPU seconds (user + sys of the
 * process over the phase: what counts on a loaded machine), MB/s over the
 * text bytes by both clocks, peak RSS, and result sizes (so runs can be
 * compared with scikit-learn's). Loading the file is outside the timings.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "seqnet/text.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static int fail(const char *what, int rc, const void *handle)
{
    fprintf(stderr, "%s failed: %s: %s\n", what, seqnet_strerror(rc), handle ? seqnet_errmsg(handle) : "");
    return 1;
}

int main(int argc, char **argv)
{
    FILE *f;
    unsigned char hdr[4];
    uint32_t n, i;
    char **texts;
    size_t *lens, total = 0, vocab = 0, nnz = 0;
    seqnet_context *ctx;
    double t0, t1, c0, c1 = 0.0;
    int rc;
    if (argc != 3) {
        fprintf(stderr, "usage: %s tokenizer|count|tfidf|hashing FILE\n", argv[0]);
        return 2;
    }
    f = fopen(argv[2], "rb");
    if (f == NULL || fread(hdr, 1, 4, f) != 4) {
        fprintf(stderr, "cannot read %s\n", argv[2]);
        return 2;
    }
    n = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 24;
    texts = malloc(n * sizeof *texts);
    lens = malloc(n * sizeof *lens);
    for (i = 0; i < n; i++) {
        uint32_t len;
        if (fread(hdr, 1, 4, f) != 4)
            return 2;
        len = (uint32_t)hdr[0] | (uint32_t)hdr[1] << 8 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 24;
        texts[i] = malloc(len + 1);
        if (fread(texts[i], 1, len, f) != len)
            return 2;
        lens[i] = len;
        total += len;
    }
    fclose(f);
    if (seqnet_context_new(&ctx) != SEQNET_OK)
        return 1;
    c0 = cpu_now();
    t0 = now();
    if (strcmp(argv[1], "tokenizer") == 0) {
        seqnet_tokenizer *tok;
        int32_t *ids;
        size_t *offs;
        if ((rc = seqnet_tokenizer_new(ctx, &tok)) != SEQNET_OK)
            return fail("new", rc, NULL);
        if ((rc = seqnet_tokenizer_fit(tok, (const char *const *)texts, lens, n)) != SEQNET_OK)
            return fail("fit", rc, tok);
        if ((rc = seqnet_tokenizer_texts_to_sequences(tok, (const char *const *)texts, lens, n, &ids, &offs)) !=
            SEQNET_OK)
            return fail("texts_to_sequences", rc, tok);
        t1 = now();
        c1 = cpu_now();
        seqnet_tokenizer_word_count(tok, &vocab);
        nnz = offs[n];
        seqnet_free(ids);
        seqnet_free(offs);
        seqnet_tokenizer_free(tok);
    } else {
        int32_t kind = strcmp(argv[1], "count") == 0 ? SEQNET_VECTORIZER_COUNT
                       : strcmp(argv[1], "tfidf") == 0 ? SEQNET_VECTORIZER_TFIDF
                                                        : SEQNET_VECTORIZER_HASHING;
        seqnet_vectorizer *vec;
        size_t *indptr;
        int32_t *indices;
        double *data;
        if ((rc = seqnet_vectorizer_new(ctx, kind, &vec)) != SEQNET_OK)
            return fail("new", rc, NULL);
        rc = kind == SEQNET_VECTORIZER_HASHING
                 ? seqnet_vectorizer_transform(vec, (const char *const *)texts, lens, n, &indptr, &indices, &data)
                 : seqnet_vectorizer_fit_transform(vec, (const char *const *)texts, lens, n, &indptr, &indices,
                                                   &data);
        if (rc != SEQNET_OK)
            return fail("fit_transform", rc, vec);
        t1 = now();
        c1 = cpu_now();
        seqnet_vectorizer_n_features(vec, &vocab);
        nnz = indptr[n];
        seqnet_free(indptr);
        seqnet_free(indices);
        seqnet_free(data);
        seqnet_vectorizer_free(vec);
    }
    printf("{\"impl\": \"seqnet\", \"phase\": \"%s\", \"docs\": %u, \"mb\": %.1f, \"seconds\": %.3f, "
           "\"cpu_seconds\": %.3f, \"mb_per_s\": %.1f, \"cpu_mb_per_s\": %.1f, \"peak_rss_mb\": %.1f, "
           "\"vocab\": %zu, \"nnz_or_ids\": %zu}\n",
           argv[1], n, (double)total / 1e6, t1 - t0, c1 - c0, (double)total / 1e6 / (t1 - t0),
           (double)total / 1e6 / (c1 - c0 > 1e-9 ? c1 - c0 : 1e-9), (double)peak_rss_kb() / 1024.0, vocab, nnz);
    seqnet_context_free(ctx);
    for (i = 0; i < n; i++)
        free(texts[i]);
    free(texts);
    free(lens);
    return 0;
}
