/*
 * lib/text/vectorizer_io.c -- vectorizer payload for the text record format.
 *
 * Payload v1 (little-endian; str = u64 length + bytes; strs = u64 count +
 * that many str):
 *   u32 kind; u8 lowercase, utf8_strict, binary, stop_words_english,
 *   use_idf, smooth_idf, sublinear_tf, alternate_sign; u32 norm;
 *   i64 ngram_min, ngram_max, max_features, n_features;
 *   u8 max_df_is_fraction, f64 max_df_fraction, i64 max_df_count; same for min_df;
 *   strs custom_stop_words; u8 fixed_vocabulary;
 *   u8 fitted, u64 n_docs_fitted; strs vocabulary (column order);
 *   u8 has_idf, n_vocabulary x f64 idf; strs pruned_terms.
 * Settings are re-applied through the public setters, so a stored value
 * the setters would refuse is refused here too (SEQNET_EFORMAT).
 */
#include <math.h>

#include "text/text_io.h"
#include "text/vectorizer_impl.h"

static void write_strs(sn_sink *sink, const sn_strtab *t)
{
    size_t i;
    sn_sink_u64(sink, t->n);
    for (i = 0; i < t->n; i++)
        sn_sink_str(sink, sn_strtab_str(t, (uint32_t)i), t->len[i]);
}

static void write_bound(sn_sink *sink, const sn_df_bound *b)
{
    sn_sink_u8(sink, (uint8_t)b->is_fraction);
    sn_sink_f64(sink, b->fraction);
    sn_sink_i64(sink, b->count);
}

int sn_vectorizer_write_payload(const seqnet_vectorizer *vec, sn_sink *sink)
{
    size_t i;
    sn_sink_u32(sink, (uint32_t)vec->kind);
    sn_sink_u8(sink, (uint8_t)vec->lower);
    sn_sink_u8(sink, (uint8_t)vec->strict);
    sn_sink_u8(sink, (uint8_t)vec->binary);
    sn_sink_u8(sink, (uint8_t)vec->stop_english);
    sn_sink_u8(sink, (uint8_t)vec->use_idf);
    sn_sink_u8(sink, (uint8_t)vec->smooth_idf);
    sn_sink_u8(sink, (uint8_t)vec->sublinear);
    sn_sink_u8(sink, (uint8_t)vec->alternate_sign);
    sn_sink_u32(sink, (uint32_t)vec->norm);
    sn_sink_i64(sink, vec->ngram_min);
    sn_sink_i64(sink, vec->ngram_max);
    sn_sink_i64(sink, vec->max_features);
    sn_sink_i64(sink, vec->n_features);
    write_bound(sink, &vec->max_df);
    write_bound(sink, &vec->min_df);
    write_strs(sink, &vec->custom_stop);
    sn_sink_u8(sink, (uint8_t)vec->fixed);
    sn_sink_u8(sink, (uint8_t)vec->fitted);
    sn_sink_u64(sink, vec->n_docs_fitted);
    write_strs(sink, &vec->vocab);
    sn_sink_u8(sink, vec->idf != NULL);
    if (vec->idf != NULL)
        for (i = 0; i < vec->vocab.n; i++)
            sn_sink_f64(sink, vec->idf[i]);
    write_strs(sink, &vec->pruned);
    return sink->err;
}

static int bad(seqnet_context *ctx, const char *what)
{
    return sn_error(&ctx->obj, SEQNET_EFORMAT, "malformed vectorizer data: %s", what);
}

/* Read a list of distinct strings into a fresh table: indexed (a
 * vocabulary that is looked up), or, for the pruned terms, which are only
 * handed back, a plain list (no index to build on load) that must be in
 * strictly increasing code point order, as fit writes it: that order is
 * their documented order, and it proves them distinct. */
static int read_strs(seqnet_context *ctx, sn_source *src, sn_strtab *t, int indexed)
{
    size_t n, i;
    int rc;
    if (sn_source_count(src, 8, &n) != SEQNET_OK)
        return src->err;
    if (n > (size_t)INT32_MAX)
        return bad(ctx, "list too long");
    if (indexed && (rc = sn_strtab_reserve(t, n, 1)) != SEQNET_OK)
        return rc;
    for (i = 0; i < n; i++) {
        const uint8_t *p;
        size_t len;
        uint32_t id;
        int inserted = 1;
        if (sn_source_str(src, &p, &len) != SEQNET_OK)
            return src->err;
        rc = indexed ? sn_strtab_intern(t, p, len, sn_hash_bytes(p, len), &id, &inserted)
                     : sn_strtab_append(t, p, len);
        if (rc != SEQNET_OK)
            return rc;
        if (!inserted)
            return bad(ctx, "duplicate string in a list");
    }
    for (i = 1; !indexed && i < t->n; i++)
        if (sn_bytes_cmp(sn_strtab_str(t, (uint32_t)(i - 1)), t->len[i - 1], sn_strtab_str(t, (uint32_t)i),
                         t->len[i]) >= 0)
            return bad(ctx, "pruned terms out of order or repeated");
    return SEQNET_OK;
}

static int read_bound(sn_source *src, seqnet_vectorizer *vec, int32_t option)
{
    int is_fraction = sn_source_flag(src);
    double fraction = sn_source_f64(src);
    int64_t count = sn_source_i64(src);
    if (src->err != SEQNET_OK)
        return src->err;
    if (is_fraction)
        return seqnet_vectorizer_set_double(vec, option, fraction);
    return seqnet_vectorizer_set_int(vec, option, count);
}

int sn_vectorizer_read_payload(seqnet_context *ctx, sn_source *src, seqnet_vectorizer **out)
{
    static const int32_t flag_ids[8] = {
        SEQNET_VECTORIZER_LOWERCASE,  SEQNET_VECTORIZER_UTF8_STRICT,  SEQNET_VECTORIZER_BINARY,
        SEQNET_VECTORIZER_STOP_WORDS_ENGLISH, SEQNET_VECTORIZER_USE_IDF, SEQNET_VECTORIZER_SMOOTH_IDF,
        SEQNET_VECTORIZER_SUBLINEAR_TF, SEQNET_VECTORIZER_ALTERNATE_SIGN};
    static const int32_t int_ids[5] = {SEQNET_VECTORIZER_NORM, SEQNET_VECTORIZER_NGRAM_MIN,
                                       SEQNET_VECTORIZER_NGRAM_MAX, SEQNET_VECTORIZER_MAX_FEATURES,
                                       SEQNET_VECTORIZER_N_FEATURES};
    seqnet_vectorizer *vec = NULL;
    int64_t ints[5];
    int flags[8], fixed, fitted, has_idf, i, rc;
    uint32_t kind = sn_source_u32(src);
    uint64_t n_docs;
    size_t j;

    for (i = 0; i < 8; i++)
        flags[i] = sn_source_flag(src);
    ints[0] = (int64_t)sn_source_u32(src);
    for (i = 1; i < 5; i++)
        ints[i] = sn_source_i64(src);
    if (src->err != SEQNET_OK)
        goto source_error;
    if ((rc = sn_vectorizer_create(&ctx->obj.alloc, (int32_t)kind, &vec)) != SEQNET_OK)
        return rc == SEQNET_EUNSUPPORTED ? bad(ctx, "unknown vectorizer kind") : rc;
    for (i = 0; i < 8 && rc == SEQNET_OK; i++)
        rc = seqnet_vectorizer_set_int(vec, flag_ids[i], flags[i]);
    for (i = 0; i < 5 && rc == SEQNET_OK; i++)
        rc = seqnet_vectorizer_set_int(vec, int_ids[i], ints[i]);
    if (rc == SEQNET_OK)
        rc = read_bound(src, vec, SEQNET_VECTORIZER_MAX_DF);
    if (rc == SEQNET_OK)
        rc = read_bound(src, vec, SEQNET_VECTORIZER_MIN_DF);
    if (rc == SEQNET_OK)
        rc = read_strs(ctx, src, &vec->custom_stop, 1);
    if (rc == SEQNET_OK)
        rc = sn_vectorizer_rebuild_stop(vec);
    fixed = sn_source_flag(src);
    fitted = sn_source_flag(src);
    n_docs = sn_source_u64(src);
    if (rc == SEQNET_OK)
        rc = read_strs(ctx, src, &vec->vocab, 1);
    has_idf = sn_source_flag(src);
    if (src->err != SEQNET_OK && (rc == SEQNET_OK || rc == src->err))
        goto source_error;
    if (rc == SEQNET_EINVAL)
        rc = bad(ctx, "a setting is out of range");
    if (rc != SEQNET_OK)
        goto fail;
    if ((fixed && vec->vocab.n == 0) || (fitted && vec->kind != SEQNET_VECTORIZER_HASHING && vec->vocab.n == 0) ||
        (vec->kind == SEQNET_VECTORIZER_HASHING && vec->vocab.n != 0) ||
        (has_idf && (vec->kind != SEQNET_VECTORIZER_TFIDF || !fitted)) ||
        (fitted && vec->kind == SEQNET_VECTORIZER_TFIDF && !has_idf)) {
        rc = bad(ctx, "inconsistent state");
        goto fail;
    }
    vec->fixed = fixed;
    vec->fitted = fitted;
    vec->n_docs_fitted = n_docs;
    if (has_idf) {
        if (sn_source_left(src) / 8 < vec->vocab.n) {
            src->err = SEQNET_ETRUNCATED;
            goto source_error;
        }
        if ((vec->idf = sn_malloc(&ctx->obj.alloc, (vec->vocab.n > 0 ? vec->vocab.n : 1) * sizeof *vec->idf)) == NULL) {
            rc = SEQNET_ENOMEM;
            goto fail;
        }
        for (j = 0; j < vec->vocab.n; j++) {
            vec->idf[j] = sn_source_f64(src);
            if (isnan(vec->idf[j]) || vec->idf[j] < 1.0) {
                rc = bad(ctx, "idf value out of range");
                goto fail;
            }
        }
    }
    if ((rc = read_strs(ctx, src, &vec->pruned, 0)) != SEQNET_OK) {
        if (rc == src->err)
            goto source_error;
        goto fail;
    }
    *out = vec;
    return SEQNET_OK;

source_error:
    rc = src->err == SEQNET_ETRUNCATED
             ? sn_error(&ctx->obj, SEQNET_ETRUNCATED, "vectorizer data ends too early (at payload byte %zu)", src->pos)
             : bad(ctx, "invalid flag or field");
fail:
    seqnet_vectorizer_free(vec);
    return rc;
}
