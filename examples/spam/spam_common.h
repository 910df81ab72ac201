/*
 * spam_common.h -- what spam_train and spam_classify share: file reading,
 * the model file's input schema, and turning extracted text into model
 * input exactly the same way in both programs.
 *
 * Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
 *
 * THE MODEL FILE (one seqnet model file, io.h) holds:
 *   - the model and, when written by spam_train, its Adam state (so
 *     `spam_train --continue` resumes training where it stopped);
 *   - one text object: the vectorizer "spam.vectorizer" (bow) or the
 *     tokenizer "spam.tokenizer" (seq);
 *   - metadata strings, the input schema (seqnet_saver_set_meta):
 *       spam.schema     "seqnet-spam/1"
 *       spam.model      "bow" or "seq"
 *       spam.features   the feature kind, e.g. "tfidf-words-1-2gram-sublinear-l2"
 *                       or "tokenizer-ids-post-truncated"
 *       spam.extract    the text extraction version, "gmime-subject-body/1"
 *       spam.n_features bow: the vector width (vectorizer columns = model input)
 *       spam.vocab_size seq: the tokenizer's num_words (= Embedding input_dim)
 *       spam.seq_len    seq: the sequence length the model reads
 *       spam.threshold  the decision threshold on the score
 *     plus training notes (seed, split, test metrics).
 *   spam_model_open() checks every one of these against the model's own
 *   input shape and the text object, and refuses a file where they differ.
 */
#ifndef SPAM_COMMON_H
#define SPAM_COMMON_H

#include <seqnet/seqnet.h>

#include <stddef.h>
#include <stdint.h>

/** Messages larger than this are read only up to this many bytes. */
#define SPAM_MAX_MESSAGE ((size_t)4 << 20)
/** Model files larger than this are refused. */
#define SPAM_MAX_MODEL_FILE ((size_t)1 << 30)

#define SPAM_SCHEMA "seqnet-spam/1"
#define SPAM_EXTRACT_VERSION "gmime-subject-body/1"
#define SPAM_VECTORIZER_NAME "spam.vectorizer"
#define SPAM_TOKENIZER_NAME "spam.tokenizer"

enum spam_kind { SPAM_BOW = 1, SPAM_SEQ = 2 };

/**
 * Read a whole file (at most `max` bytes; a longer file is truncated) into
 * a malloc()ed buffer with a NUL after the last byte. Prints the reason to
 * stderr on failure. @return 0 or -1.
 */
int spam_read_file(const char *path, size_t max, char **data, size_t *size);

/** Print "PROG: WHAT failed: strerror: detail" to stderr. */
void spam_report(const char *prog, const char *what, int status, const void *handle);

/** A model file opened for classification or further training. */
typedef struct {
    seqnet_loader *loader;       /* kept open: metadata and the optimizer state live here */
    seqnet_model *model;         /* taken from the loader; owned */
    seqnet_vectorizer *vec;      /* bow; owned */
    seqnet_tokenizer *tok;       /* seq; owned */
    int kind;                    /* SPAM_BOW or SPAM_SEQ */
    int32_t n_features;          /* bow: input width */
    int32_t seq_len;             /* seq: input length */
    int32_t vocab_size;          /* seq: num_words */
    double threshold;
    char features[128];
} spam_model;

/**
 * Load a model file and check its schema: the metadata must be present and
 * agree with the model's input (vector width, or token input of seq_len
 * steps read by an Embedding of vocab_size ids) and with the text object
 * (vectorizer columns, tokenizer num_words). Prints a clear message naming
 * the mismatch and returns -1 when anything disagrees.
 * @param want_kind  0 for any, or SPAM_BOW / SPAM_SEQ to require one.
 */
int spam_model_open(seqnet_context *ctx, const char *prog, const char *path, int want_kind,
                    spam_model *out);
void spam_model_close(spam_model *m);

/** Per-thread scratch for turning texts into model input. */
typedef struct {
    float *x;       /* bow: [cap, n_features] */
    int32_t *ids;   /* seq: [cap, seq_len] */
    int32_t cap;    /* rows */
} spam_scratch;

int spam_scratch_init(spam_scratch *s, const spam_model *m, int32_t rows);
void spam_scratch_free(spam_scratch *s);

/**
 * Featurize `n` texts (n <= scratch rows) into the scratch and feed them to
 * the session as input 0. Uses only return codes of the shared text object
 * (text.h: a fitted object may be shared read-only by threads that do not
 * read its message). @return SEQNET_OK or the failing status.
 */
int spam_feed(const spam_model *m, spam_scratch *s, seqnet_session *session,
              const char *const *texts, const size_t *lengths, int32_t n);

/**
 * Bag of words: scatter CSR rows [row0, row0+n) into a dense float matrix
 * [n, n_features] (zeroing it first).
 */
void spam_densify(const size_t *indptr, const int32_t *indices, const double *data, size_t row0,
                  int32_t n, int32_t n_features, float *x);

/**
 * Sequences: copy ragged ids of rows [row0, row0+n) into [n, seq_len]: the
 * first seq_len ids of each row (post-truncation), post-padded with 0.
 */
void spam_pad(const int32_t *ids, const size_t *offsets, size_t row0, int32_t n, int32_t seq_len,
              int32_t *out);

/** Monotonic clock in seconds. */
double spam_now(void);

#endif /* SPAM_COMMON_H */
