/*
 * lib/text/tokenizer_io.c -- tokenizer payload for the text record format.
 *
 * Payload v1 (little-endian; str = u64 length + bytes):
 *   u8 lower, u8 char_level, u8 utf8_strict, u8 strict_ids, i64 num_words,
 *   str filters, str split, u8 has_oov, str oov,
 *   i64 document_count, u8 has_fit_oov, str fit_oov,
 *   u64 n_words, n_words x (str word, i64 count, i64 docs)   [first-appearance order]
 *   u64 n_index_docs, n x (u32 index, i64 docs)
 * The ranking (word_index) is not stored: it is a pure function of the
 * counts and the order, recomputed on load, so a file cannot hold an index
 * that disagrees with its counts.
 */
#include "text/text_io.h"
#include "text/tokenizer_impl.h"

int sn_tokenizer_write_payload(const seqnet_tokenizer *tok, sn_sink *sink)
{
    size_t i;
    sn_sink_u8(sink, (uint8_t)tok->lower);
    sn_sink_u8(sink, (uint8_t)tok->char_level);
    sn_sink_u8(sink, (uint8_t)tok->strict);
    sn_sink_u8(sink, (uint8_t)tok->strict_ids);
    sn_sink_i64(sink, tok->num_words);
    sn_sink_str(sink, tok->filters, tok->filters_len);
    sn_sink_str(sink, tok->split, tok->split_len);
    sn_sink_u8(sink, tok->oov != NULL);
    sn_sink_str(sink, tok->oov != NULL ? tok->oov : "", tok->oov_len);
    sn_sink_i64(sink, tok->document_count);
    sn_sink_u8(sink, (uint8_t)tok->has_fit_oov);
    sn_sink_str(sink, tok->has_fit_oov ? tok->fit_oov : "", tok->fit_oov_len);
    sn_sink_u64(sink, tok->words.n);
    for (i = 0; i < tok->words.n; i++) {
        sn_sink_str(sink, sn_strtab_str(&tok->words, (uint32_t)i), tok->words.len[i]);
        sn_sink_i64(sink, tok->counts[i]);
        sn_sink_i64(sink, tok->docs[i]);
    }
    sn_sink_u64(sink, tok->idocs.n);
    if (tok->idocs.keys != NULL)
        for (i = 0; i <= tok->idocs.mask; i++)
            if (tok->idocs.keys[i] >= 0) {
                sn_sink_u32(sink, (uint32_t)tok->idocs.keys[i]);
                sn_sink_i64(sink, tok->idocs.vals[i]);
            }
    return sink->err;
}

static int bad(seqnet_context *ctx, const char *what)
{
    return sn_error(&ctx->obj, SEQNET_EFORMAT, "malformed tokenizer data: %s", what);
}

/* A setter's EINVAL means the stored value is impossible: EFORMAT. */
static int as_format(seqnet_context *ctx, int rc, const char *what)
{
    if (rc == SEQNET_EINVAL || rc == SEQNET_EUTF8)
        return bad(ctx, what);
    return rc;
}

int sn_tokenizer_read_payload(seqnet_context *ctx, sn_source *src, seqnet_tokenizer **out)
{
    seqnet_tokenizer *tok = NULL;
    const uint8_t *p;
    size_t n, n_words, n_idocs, i;
    int64_t flags[4], num_words, doc_count;
    int has_oov, has_fit_oov, rc, f;

    for (f = 0; f < 4; f++)
        flags[f] = sn_source_flag(src);
    num_words = sn_source_i64(src);
    if (src->err != SEQNET_OK)
        goto source_error;
    if ((rc = sn_tokenizer_create(&ctx->obj.alloc, &tok)) != SEQNET_OK)
        return rc;
    rc = seqnet_tokenizer_set_int(tok, SEQNET_TOKENIZER_LOWER, flags[0]);
    if (rc == SEQNET_OK) rc = seqnet_tokenizer_set_int(tok, SEQNET_TOKENIZER_CHAR_LEVEL, flags[1]);
    if (rc == SEQNET_OK) rc = seqnet_tokenizer_set_int(tok, SEQNET_TOKENIZER_STRICT_IDS, flags[3]);
    if (rc == SEQNET_OK) rc = seqnet_tokenizer_set_int(tok, SEQNET_TOKENIZER_NUM_WORDS, num_words);
    if ((rc = as_format(ctx, rc, "settings")) != SEQNET_OK)
        goto fail;
    sn_source_str(src, &p, &n);
    if (src->err != SEQNET_OK)
        goto source_error;
    if ((rc = as_format(ctx, seqnet_tokenizer_set_string(tok, SEQNET_TOKENIZER_FILTERS, (const char *)p, n),
                        "filters")) != SEQNET_OK)
        goto fail;
    sn_source_str(src, &p, &n);
    if (src->err != SEQNET_OK)
        goto source_error;
    if ((rc = as_format(ctx, seqnet_tokenizer_set_string(tok, SEQNET_TOKENIZER_SPLIT, (const char *)p, n),
                        "split")) != SEQNET_OK)
        goto fail;
    (void)seqnet_tokenizer_set_int(tok, SEQNET_TOKENIZER_UTF8_STRICT, flags[2]);
    has_oov = sn_source_flag(src);
    sn_source_str(src, &p, &n);
    if (src->err != SEQNET_OK)
        goto source_error;
    if (has_oov && (rc = seqnet_tokenizer_set_string(tok, SEQNET_TOKENIZER_OOV_TOKEN, (const char *)p, n)) != SEQNET_OK)
        goto fail;
    doc_count = sn_source_i64(src);
    has_fit_oov = sn_source_flag(src);
    sn_source_str(src, &p, &n);
    if (src->err != SEQNET_OK)
        goto source_error;
    if (doc_count < 0) {
        rc = bad(ctx, "negative document count");
        goto fail;
    }
    tok->document_count = doc_count;
    if (has_fit_oov) {
        /* Set it through the current-oov path, then restore the setting. */
        char *keep = tok->oov;
        size_t keep_len = tok->oov_len;
        tok->oov = (char *)p;
        tok->oov_len = n;
        rc = sn_tokenizer_set_oov_fit(tok);
        tok->oov = keep;
        tok->oov_len = keep_len;
        if (rc != SEQNET_OK)
            goto fail;
    }
    if (sn_source_count(src, 24, &n_words) != SEQNET_OK)
        goto source_error;
    if (n_words > (size_t)INT32_MAX - 2) {
        rc = bad(ctx, "too many words");
        goto fail;
    }
    if ((rc = sn_tokenizer_reserve(tok, n_words)) != SEQNET_OK)
        goto fail;
    for (i = 0; i < n_words; i++) {
        uint32_t id;
        int inserted;
        int64_t count, docs;
        sn_source_str(src, &p, &n);
        count = sn_source_i64(src);
        docs = sn_source_i64(src);
        if (src->err != SEQNET_OK)
            goto source_error;
        if (count < 1 || docs < 1 || docs > count || docs > doc_count) {
            rc = bad(ctx, "impossible word counts");
            goto fail;
        }
        if ((rc = sn_strtab_intern(&tok->words, p, n, sn_hash_bytes(p, n), &id, &inserted)) != SEQNET_OK)
            goto fail;
        if (!inserted) {
            rc = bad(ctx, "duplicate word");
            goto fail;
        }
        tok->counts[id] = count;
        tok->docs[id] = docs;
    }
    sn_tokenizer_rank(tok);
    /* index_docs as stored (it may include fit_on_sequences updates). */
    if (sn_source_count(src, 12, &n_idocs) != SEQNET_OK)
        goto source_error;
    sn_intmap_free(&tok->obj.alloc, &tok->idocs);
    if ((rc = sn_intmap_reserve(&tok->obj.alloc, &tok->idocs, n_idocs)) != SEQNET_OK)
        goto fail;
    for (i = 0; i < n_idocs; i++) {
        uint32_t key = sn_source_u32(src);
        int64_t docs = sn_source_i64(src);
        int64_t *slot;
        if (src->err != SEQNET_OK)
            goto source_error;
        if (key > (uint32_t)INT32_MAX || docs < 1 || docs > doc_count) {
            rc = bad(ctx, "impossible index_docs entry");
            goto fail;
        }
        slot = sn_intmap_slot(&tok->idocs, (int32_t)key);
        if (*slot != 0) {
            rc = bad(ctx, "duplicate index_docs entry");
            goto fail;
        }
        *slot = docs;
    }
    *out = tok;
    return SEQNET_OK;

source_error:
    rc = src->err == SEQNET_ETRUNCATED
             ? sn_error(&ctx->obj, SEQNET_ETRUNCATED, "tokenizer data ends too early (at payload byte %zu)", src->pos)
             : bad(ctx, "invalid flag or field");
fail:
    seqnet_tokenizer_free(tok);
    return rc;
}
