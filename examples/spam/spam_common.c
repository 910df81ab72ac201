/*
 * spam_common.c -- see spam_common.h.
 *
 * Copyright (c) 2026 the seqnet developers. MIT licensed, see COPYING.
 */
#include "spam_common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int spam_read_file(const char *path, size_t max, char **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 64 * 1024, len = 0;
    char *buf = malloc(cap + 1);
    if (buf == NULL) {
        fclose(f);
        fprintf(stderr, "%s: out of memory\n", path);
        return -1;
    }
    for (;;) {
        if (len == cap) {
            if (cap >= max)
                break;
            size_t ncap = cap * 2 > max ? max : cap * 2;
            char *nb = realloc(buf, ncap + 1);
            if (nb == NULL) {
                free(buf);
                fclose(f);
                fprintf(stderr, "%s: out of memory\n", path);
                return -1;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                fprintf(stderr, "%s: read error: %s\n", path, strerror(errno));
                free(buf);
                fclose(f);
                return -1;
            }
            break;
        }
    }
    fclose(f);
    buf[len] = '\0';
    *data = buf;
    *size = len;
    return 0;
}

void spam_report(const char *prog, const char *what, int status, const void *handle)
{
    const char *detail = handle ? seqnet_errmsg(handle) : "";
    fprintf(stderr, "%s: %s failed: %s%s%s\n", prog, what, seqnet_strerror(status),
            detail[0] ? ": " : "", detail);
}

double spam_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- opening a model file ----------------------------------------------- */

/* Parse a non-negative decimal metadata value; -1 when absent or invalid. */
static long long meta_int(const seqnet_loader *loader, const char *key)
{
    const char *v = seqnet_loader_get_meta(loader, key);
    if (v == NULL || *v == '\0')
        return -1;
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno != 0 || *end != '\0' || x < 0)
        return -1;
    return x;
}

int spam_model_open(seqnet_context *ctx, const char *prog, const char *path, int want_kind,
                    spam_model *m)
{
    memset(m, 0, sizeof *m);
    char *bytes = NULL;
    size_t size = 0;
    int st;
    if (spam_read_file(path, SPAM_MAX_MODEL_FILE, &bytes, &size) != 0)
        return -1;
    if ((st = seqnet_loader_new(ctx, &m->loader)) != SEQNET_OK) {
        spam_report(prog, "seqnet_loader_new", st, ctx);
        goto fail;
    }
    if ((st = seqnet_loader_read_buffer(m->loader, bytes, size, 0)) != SEQNET_OK) {
        fprintf(stderr, "%s: %s is not a readable seqnet model file: %s: %s\n", prog, path,
                seqnet_strerror(st), seqnet_errmsg(m->loader));
        goto fail;
    }
    free(bytes);
    bytes = NULL;
    if ((st = seqnet_loader_take_model(m->loader, &m->model)) != SEQNET_OK) {
        spam_report(prog, "seqnet_loader_take_model", st, m->loader);
        goto fail;
    }

    /* the schema */
    const char *schema = seqnet_loader_get_meta(m->loader, "spam.schema");
    const char *kind = seqnet_loader_get_meta(m->loader, "spam.model");
    const char *features = seqnet_loader_get_meta(m->loader, "spam.features");
    const char *extract = seqnet_loader_get_meta(m->loader, "spam.extract");
    const char *threshold = seqnet_loader_get_meta(m->loader, "spam.threshold");
    if (schema == NULL || strcmp(schema, SPAM_SCHEMA) != 0) {
        fprintf(stderr, "%s: %s: not a spam filter model (metadata spam.schema is %s%s%s, "
                        "expected \"%s\")\n",
                prog, path, schema ? "\"" : "", schema ? schema : "missing", schema ? "\"" : "",
                SPAM_SCHEMA);
        goto fail;
    }
    if (extract == NULL || strcmp(extract, SPAM_EXTRACT_VERSION) != 0) {
        fprintf(stderr, "%s: %s: the model was trained on text extracted by \"%s\", this "
                        "program extracts \"%s\"\n",
                prog, path, extract ? extract : "(unknown)", SPAM_EXTRACT_VERSION);
        goto fail;
    }
    if (kind != NULL && strcmp(kind, "bow") == 0)
        m->kind = SPAM_BOW;
    else if (kind != NULL && strcmp(kind, "seq") == 0)
        m->kind = SPAM_SEQ;
    else {
        fprintf(stderr, "%s: %s: unknown model kind spam.model=\"%s\"\n", prog, path,
                kind ? kind : "(missing)");
        goto fail;
    }
    if (want_kind != 0 && want_kind != m->kind) {
        fprintf(stderr, "%s: %s holds a \"%s\" model, not the \"%s\" model asked for\n", prog,
                path, kind, want_kind == SPAM_BOW ? "bow" : "seq");
        goto fail;
    }
    snprintf(m->features, sizeof m->features, "%s", features ? features : "");
    char *end = NULL;
    m->threshold = threshold ? strtod(threshold, &end) : -1.0;
    if (threshold == NULL || *end != '\0' || !(m->threshold > 0.0 && m->threshold < 1.0)) {
        fprintf(stderr, "%s: %s: missing or invalid spam.threshold\n", prog, path);
        goto fail;
    }

    /* the model's own input */
    int32_t time = 0, width = 0;
    int is_tokens = 0;
    if (seqnet_model_n_inputs(m->model) != 1 || seqnet_model_n_outputs(m->model) != 1) {
        fprintf(stderr, "%s: %s: the model must have one input and one output\n", prog, path);
        goto fail;
    }
    if ((st = seqnet_model_input_shape(m->model, 0, &time, &width, &is_tokens)) != SEQNET_OK) {
        spam_report(prog, "seqnet_model_input_shape", st, m->model);
        goto fail;
    }
    int32_t out_time = 0, out_width = 0;
    if ((st = seqnet_model_output_shape(m->model, 0, &out_time, &out_width)) != SEQNET_OK) {
        spam_report(prog, "seqnet_model_output_shape", st, m->model);
        goto fail;
    }
    if (out_time != -1 || out_width != 1) {
        fprintf(stderr, "%s: %s: the model's output is not one score per message\n", prog, path);
        goto fail;
    }

    /* the text object, found by name */
    int32_t n_texts = seqnet_loader_n_texts(m->loader);
    int32_t text_index = -1;
    const char *want_name = m->kind == SPAM_BOW ? SPAM_VECTORIZER_NAME : SPAM_TOKENIZER_NAME;
    for (int32_t i = 0; i < n_texts; i++) {
        const char *name = NULL;
        int tkind = 0;
        if (seqnet_loader_text_info(m->loader, i, &name, &tkind) == SEQNET_OK && name != NULL &&
            strcmp(name, want_name) == 0 && tkind == (m->kind == SPAM_BOW ? 2 : 1))
            text_index = i;
    }
    if (text_index < 0) {
        fprintf(stderr, "%s: %s: the file carries no %s \"%s\"\n", prog, path,
                m->kind == SPAM_BOW ? "vectorizer" : "tokenizer", want_name);
        goto fail;
    }

    if (m->kind == SPAM_BOW) {
        long long nf = meta_int(m->loader, "spam.n_features");
        size_t vec_width = 0;
        if ((st = seqnet_loader_take_vectorizer(m->loader, text_index, &m->vec)) != SEQNET_OK) {
            spam_report(prog, "seqnet_loader_take_vectorizer", st, m->loader);
            goto fail;
        }
        if ((st = seqnet_vectorizer_n_features(m->vec, &vec_width)) != SEQNET_OK) {
            spam_report(prog, "seqnet_vectorizer_n_features", st, m->vec);
            goto fail;
        }
        if (nf <= 0 || time != -1 || is_tokens || (long long)width != nf ||
            (long long)vec_width != nf) {
            fprintf(stderr,
                    "%s: %s: input schema mismatch: metadata says %lld features, the "
                    "vectorizer makes %zu, the model reads %s of %d\n",
                    prog, path, nf, vec_width, time == -1 && !is_tokens ? "vectors" : "sequences",
                    (int)width);
            goto fail;
        }
        m->n_features = (int32_t)nf;
    } else {
        long long vocab = meta_int(m->loader, "spam.vocab_size");
        long long len = meta_int(m->loader, "spam.seq_len");
        int64_t num_words = 0;
        if ((st = seqnet_loader_take_tokenizer(m->loader, text_index, &m->tok)) != SEQNET_OK) {
            spam_report(prog, "seqnet_loader_take_tokenizer", st, m->loader);
            goto fail;
        }
        if ((st = seqnet_tokenizer_get_int(m->tok, SEQNET_TOKENIZER_NUM_WORDS, &num_words)) !=
            SEQNET_OK) {
            spam_report(prog, "seqnet_tokenizer_get_int", st, m->tok);
            goto fail;
        }
        /* the Embedding reading the ids: its table is [input_dim, output_dim] */
        int64_t emb_dim = -1;
        int32_t n_layers = seqnet_model_n_layers(m->model);
        for (int32_t l = 0; l < n_layers && emb_dim < 0; l++) {
            int32_t rank = 0;
            int64_t dims[4] = {0};
            if (seqnet_model_layer_kind(m->model, l) == SEQNET_LAYER_EMBEDDING &&
                seqnet_model_weight_info(m->model, l, 0, NULL, &rank, dims, NULL) == SEQNET_OK &&
                rank == 2)
                emb_dim = dims[0];
        }
        if (vocab <= 0 || len <= 0 || !is_tokens || (long long)time != len ||
            (long long)num_words != vocab || emb_dim != vocab) {
            fprintf(stderr,
                    "%s: %s: input schema mismatch: metadata says %lld words x %lld steps, "
                    "the tokenizer keeps %lld words, the model reads %s of %d steps with an "
                    "Embedding of %lld ids\n",
                    prog, path, vocab, len, (long long)num_words,
                    is_tokens ? "token ids" : "floats", (int)time, (long long)emb_dim);
            goto fail;
        }
        m->vocab_size = (int32_t)vocab;
        m->seq_len = (int32_t)len;
    }
    return 0;

fail:
    free(bytes);
    spam_model_close(m);
    return -1;
}

void spam_model_close(spam_model *m)
{
    seqnet_vectorizer_free(m->vec);
    seqnet_tokenizer_free(m->tok);
    seqnet_model_free(m->model);
    seqnet_loader_free(m->loader);
    memset(m, 0, sizeof *m);
}

/* ---- features ----------------------------------------------------------- */

int spam_scratch_init(spam_scratch *s, const spam_model *m, int32_t rows)
{
    memset(s, 0, sizeof *s);
    s->cap = rows;
    if (m->kind == SPAM_BOW)
        s->x = calloc((size_t)rows * (size_t)m->n_features, sizeof *s->x);
    else
        s->ids = calloc((size_t)rows * (size_t)m->seq_len, sizeof *s->ids);
    return (s->x != NULL || s->ids != NULL) ? 0 : -1;
}

void spam_scratch_free(spam_scratch *s)
{
    free(s->x);
    free(s->ids);
    memset(s, 0, sizeof *s);
}

void spam_densify(const size_t *indptr, const int32_t *indices, const double *data, size_t row0,
                  int32_t n, int32_t n_features, float *x)
{
    memset(x, 0, (size_t)n * (size_t)n_features * sizeof *x);
    for (int32_t r = 0; r < n; r++) {
        float *row = x + (size_t)r * (size_t)n_features;
        for (size_t k = indptr[row0 + (size_t)r]; k < indptr[row0 + (size_t)r + 1]; k++)
            row[indices[k]] = (float)data[k];
    }
}

void spam_pad(const int32_t *ids, const size_t *offsets, size_t row0, int32_t n, int32_t seq_len,
              int32_t *out)
{
    for (int32_t r = 0; r < n; r++) {
        size_t a = offsets[row0 + (size_t)r], b = offsets[row0 + (size_t)r + 1];
        size_t len = b - a < (size_t)seq_len ? b - a : (size_t)seq_len;
        int32_t *row = out + (size_t)r * (size_t)seq_len;
        memcpy(row, ids + a, len * sizeof *row);
        memset(row + len, 0, ((size_t)seq_len - len) * sizeof *row);
    }
}

int spam_feed(const spam_model *m, spam_scratch *s, seqnet_session *session,
              const char *const *texts, const size_t *lengths, int32_t n)
{
    int st;
    if (n > s->cap)
        return SEQNET_EBUFFER;
    if (m->kind == SPAM_BOW) {
        size_t *indptr = NULL;
        int32_t *indices = NULL;
        double *data = NULL;
        st = seqnet_vectorizer_transform(m->vec, texts, lengths, (size_t)n, &indptr, &indices,
                                         &data);
        if (st != SEQNET_OK)
            return st;
        spam_densify(indptr, indices, data, 0, n, m->n_features, s->x);
        seqnet_free(indptr);
        seqnet_free(indices);
        seqnet_free(data);
        return seqnet_session_set_input_floats(session, 0, s->x, n, 0, m->n_features);
    }
    int32_t *ids = NULL;
    size_t *offsets = NULL;
    st = seqnet_tokenizer_texts_to_sequences(m->tok, texts, lengths, (size_t)n, &ids, &offsets);
    if (st != SEQNET_OK)
        return st;
    spam_pad(ids, offsets, 0, n, m->seq_len, s->ids);
    seqnet_free(ids);
    seqnet_free(offsets);
    return seqnet_session_set_input_tokens(session, 0, s->ids, n, m->seq_len);
}
