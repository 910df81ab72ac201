/*
 * lib/text/tokenizer_ops.c -- Keras Tokenizer transforms and queries:
 * texts_to_sequences, sequences_to_texts, sequences/texts_to_matrix,
 * fit_on_sequences, and the attribute exports the bindings need.
 *
 * Results of unknown size are built in internal growable buffers and copied
 * once into seqnet_free() blocks at the end, so a failure half-way leaks
 * nothing and the caller never sees a partial result.
 */
#include <math.h>
#include <stdlib.h>

#include "text/tokenizer_impl.h"

/* Copy `n` elements of `size` bytes into a fresh seqnet_free() block (a
 * block exists even for n 0, so callers can always free it). */
static void *export_copy(const sn_alloc *a, const void *src, size_t n, size_t size)
{
    size_t bytes;
    void *p;
    if (sn_mul_size(n, size, &bytes) != 0)
        return NULL;
    p = sn_export_malloc(a, bytes > 0 ? bytes : 1);
    if (p != NULL && bytes > 0)
        memcpy(p, src, bytes);
    return p;
}

/* The OOV index as Keras computes it for transforms: word_index.get(oov). */
static int32_t oov_index(const seqnet_tokenizer *tok)
{
    if (tok->oov == NULL)
        return 0;
    return sn_tokenizer_index_of(tok, (const uint8_t *)tok->oov, tok->oov_len);
}

static int oov_missing(seqnet_tokenizer *tok)
{
    return sn_error(&tok->obj, SEQNET_ESTATE,
                    "oov_token is set but has no index (fit the tokenizer after setting it)");
}

/* texts -> ragged ids in internal buffers (*ids, *offs with n_texts + 1). */
static int to_sequences(seqnet_tokenizer *tok, const char *const *texts, const size_t *lengths,
                        size_t n_texts, int32_t **ids_io, size_t *ids_cap, size_t *offs)
{
    sn_scratch sc;
    size_t t, i, n_ids = 0, cap_word = 0;
    uint32_t *word = NULL; /* per token of a text: its id, UINT32_MAX when absent */
    int32_t oov = oov_index(tok);
    int64_t limit = tok->num_words;
    int rc = SEQNET_OK;

    sn_scratch_init(&sc, &tok->obj.alloc);
    for (t = 0; t < n_texts && rc == SEQNET_OK; t++) {
        size_t len;
        const uint8_t *text = sn_text_at(texts, lengths, t, &len), *base = NULL;
        offs[t] = n_ids;
        rc = sn_tokenizer_tokens(tok, &sc, text, len, &base);
        if (rc == SEQNET_EUTF8) {
            tok->have_bad = 1;
            rc = sn_text_utf8_error(&tok->obj, t, sc.bad_offset, &tok->bad_text, &tok->bad_offset);
        }
        if (rc == SEQNET_OK)
            rc = sn_grow(&tok->obj.alloc, (void **)ids_io, ids_cap, n_ids + sc.n_spans + 1, sizeof(int32_t));
        if (rc == SEQNET_OK)
            rc = sn_hash_spans(&sc, base, &tok->words);
        if (rc == SEQNET_OK)
            rc = sn_grow(&tok->obj.alloc, (void **)&word, &cap_word, sc.n_spans + 1, sizeof *word);
        /* Find every word first, prefetching its index entry, so the
         * misses of one document overlap; absent words are looked up again
         * below through the full rule (OOV string included). */
        for (i = 0; i < sc.n_spans && rc == SEQNET_OK; i++) {
            uint32_t id;
            if (sn_strtab_find_at(&tok->words, base + sc.spans[i].off, sc.spans[i].len, sc.hashes[i], sc.padded,
                                  &id)) {
                word[i] = id;
#if defined(__GNUC__)
                __builtin_prefetch(&tok->index[id]);
#endif
            } else {
                word[i] = UINT32_MAX;
            }
        }
        for (i = 0; i < sc.n_spans && rc == SEQNET_OK; i++) {
            int32_t idx;
            int use_oov = 0;
            idx = word[i] != UINT32_MAX ? tok->index[word[i]]
                                        : sn_tokenizer_index_hashed(tok, base + sc.spans[i].off, sc.spans[i].len,
                                                                    sc.hashes[i]);
            if (idx != 0) {
                if (limit != 0 && idx >= limit) {
                    if (tok->oov == NULL)
                        continue;
                    use_oov = 1;
                }
            } else if (tok->oov != NULL) {
                use_oov = 1;
            } else {
                continue;
            }
            if (use_oov) {
                if (oov == 0) {
                    rc = oov_missing(tok);
                    break;
                }
                idx = oov;
            }
            (*ids_io)[n_ids++] = idx;
        }
    }
    offs[n_texts] = n_ids;
    sn_free(&tok->obj.alloc, word);
    sn_scratch_free(&sc);
    return rc;
}

SEQNET_API int seqnet_tokenizer_texts_to_sequences(seqnet_tokenizer *tok, const char *const *texts,
                                                   const size_t *lengths, size_t n_texts, int32_t **ids_out,
                                                   size_t **offsets_out)
{
    const sn_alloc *a;
    int32_t *ids = NULL;
    size_t *offs = NULL, cap = 0;
    int rc;
    if (ids_out != NULL)
        *ids_out = NULL;
    if (offsets_out != NULL)
        *offsets_out = NULL;
    if (tok == NULL || ids_out == NULL || offsets_out == NULL)
        return SEQNET_EINVAL;
    a = &tok->obj.alloc;
    if ((rc = sn_check_texts(&tok->obj, texts, lengths, n_texts)) != SEQNET_OK)
        return rc;
    if (n_texts >= SIZE_MAX / sizeof *offs)
        return SEQNET_ETOOBIG;
    offs = sn_export_malloc(a, (n_texts + 1) * sizeof *offs);
    if (offs == NULL)
        return SEQNET_ENOMEM;
    rc = to_sequences(tok, texts, lengths, n_texts, &ids, &cap, offs);
    if (rc == SEQNET_OK) {
        *ids_out = export_copy(a, ids, offs[n_texts], sizeof *ids);
        if (*ids_out == NULL)
            rc = SEQNET_ENOMEM;
    }
    sn_free(a, ids);
    if (rc != SEQNET_OK) {
        seqnet_free(offs);
        return rc;
    }
    *offsets_out = offs;
    return SEQNET_OK;
}

SEQNET_API int seqnet_tokenizer_sequences_to_texts(seqnet_tokenizer *tok, const int32_t *ids,
                                                   const size_t *offsets, size_t n_seqs, char **text_out,
                                                   size_t **offsets_out)
{
    const sn_alloc *a;
    char *buf = NULL;
    size_t cap = 0, len = 0, s, k, *offs;
    int32_t oov;
    int rc = SEQNET_OK;

    if (text_out != NULL)
        *text_out = NULL;
    if (offsets_out != NULL)
        *offsets_out = NULL;
    if (tok == NULL || text_out == NULL || offsets_out == NULL)
        return SEQNET_EINVAL;
    a = &tok->obj.alloc;
    if ((rc = sn_check_offsets(&tok->obj, ids, offsets, n_seqs)) != SEQNET_OK)
        return rc;
    if (n_seqs >= SIZE_MAX / sizeof *offs)
        return SEQNET_ETOOBIG;
    offs = sn_export_malloc(a, (n_seqs + 1) * sizeof *offs);
    if (offs == NULL)
        return SEQNET_ENOMEM;
    oov = oov_index(tok);
    for (s = 0; s < n_seqs && rc == SEQNET_OK; s++) {
        int first = 1;
        offs[s] = len;
        for (k = offsets[s]; k < offsets[s + 1] && rc == SEQNET_OK; k++) {
            int32_t num = ids[k];
            const char *w;
            size_t wl;
            int use_oov = 0;
            if (seqnet_tokenizer_index_word(tok, num, &w, &wl) == SEQNET_OK) {
                if (tok->num_words != 0 && num >= tok->num_words) {
                    if (oov == 0)
                        continue;
                    use_oov = 1;
                }
            } else if (tok->oov != NULL) {
                use_oov = 1;
            } else {
                continue;
            }
            if (use_oov && (oov == 0 || seqnet_tokenizer_index_word(tok, oov, &w, &wl) != SEQNET_OK)) {
                rc = oov_missing(tok);
                break;
            }
            rc = sn_grow(a, (void **)&buf, &cap, len + wl + 2, 1);
            if (rc != SEQNET_OK)
                break;
            if (!first)
                buf[len++] = ' ';
            memcpy(buf + len, w, wl);
            len += wl;
            first = 0;
        }
    }
    offs[n_seqs] = len;
    if (rc == SEQNET_OK) {
        *text_out = sn_export_malloc(a, len + 1);
        if (*text_out == NULL) {
            rc = SEQNET_ENOMEM;
        } else {
            if (len > 0)
                memcpy(*text_out, buf, len);
            (*text_out)[len] = '\0';
        }
    }
    sn_free(a, buf);
    if (rc != SEQNET_OK) {
        seqnet_free(offs);
        return rc;
    }
    *offsets_out = offs;
    return SEQNET_OK;
}

/* ---- matrices ------------------------------------------------------------ */

static size_t index_size(const seqnet_tokenizer *tok)
{
    size_t n = tok->words.n;
    if (tok->has_fit_oov) {
        uint32_t id;
        const uint8_t *o = (const uint8_t *)tok->fit_oov;
        if (!sn_strtab_find(&tok->words, o, tok->fit_oov_len, sn_hash_bytes(o, tok->fit_oov_len), &id))
            n++;
    }
    return n;
}

SEQNET_API int seqnet_tokenizer_matrix_width(const seqnet_tokenizer *tok, size_t *width)
{
    size_t n;
    if (tok == NULL || width == NULL)
        return SEQNET_EINVAL;
    if (tok->num_words != 0) {
        *width = (size_t)tok->num_words;
        return SEQNET_OK;
    }
    n = index_size(tok);
    if (n == 0)
        return sn_error((sn_object *)&tok->obj, SEQNET_ESTATE,
                        "Specify a dimension (num_words), or fit on some text data first");
    *width = n + 1;
    return SEQNET_OK;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return x < y ? -1 : x > y;
}

static int fill_matrix(seqnet_tokenizer *tok, const int32_t *ids, const size_t *offsets, size_t n_seqs,
                       int32_t mode, double *out, size_t out_len)
{
    size_t width, s, k, total, max_len = 0;
    int32_t *tmp = NULL;
    int rc;
    double n_docs = (double)tok->document_count;

    if ((rc = seqnet_tokenizer_matrix_width(tok, &width)) != SEQNET_OK)
        return rc;
    if (mode == SEQNET_MODE_TFIDF && tok->document_count == 0)
        return sn_error(&tok->obj, SEQNET_ESTATE, "Fit the Tokenizer on some data before using tfidf mode");
    if (sn_mul_size(n_seqs, width, &total) != 0)
        return sn_error(&tok->obj, SEQNET_ETOOBIG, "matrix of %zu x %zu is too large", n_seqs, width);
    if (out_len < total || (out == NULL && total > 0))
        return sn_error(&tok->obj, SEQNET_EBUFFER, "the matrix needs %zu doubles (%zu x %zu), got %zu", total,
                        n_seqs, width, out_len);
    for (s = 0; s < n_seqs; s++)
        if (offsets[s + 1] - offsets[s] > max_len)
            max_len = offsets[s + 1] - offsets[s];
    if (max_len > 0 && (tmp = sn_malloc(&tok->obj.alloc, max_len * sizeof *tmp)) == NULL)
        return SEQNET_ENOMEM;
    if (total > 0)
        memset(out, 0, total * sizeof *out);
    for (s = 0; s < n_seqs && rc == SEQNET_OK; s++) {
        size_t len = offsets[s + 1] - offsets[s], n_kept = 0, i;
        double *row = out + s * width;
        for (k = 0; k < len; k++) {
            int32_t j = ids[offsets[s] + k];
            if (j < 0) {
                rc = sn_error(&tok->obj, SEQNET_ERANGE, "negative id %d in sequence %zu", (int)j, s);
                break;
            }
            if ((size_t)j >= width) {
                if (tok->strict_ids) {
                    rc = sn_error(&tok->obj, SEQNET_ERANGE, "id %d in sequence %zu is >= the width %zu",
                                  (int)j, s, width);
                    break;
                }
                continue; /* Keras drops it but still counts it in len */
            }
            tmp[n_kept++] = j;
        }
        if (rc != SEQNET_OK)
            break;
        /* Sorting groups equal ids: each run is one (id, count) pair. */
        if (n_kept > 1)
            qsort(tmp, n_kept, sizeof *tmp, cmp_i32);
        for (i = 0; i < n_kept;) {
            size_t r = i;
            double c, v;
            int32_t j = tmp[i];
            while (r < n_kept && tmp[r] == j)
                r++;
            c = (double)(r - i);
            switch (mode) {
            case SEQNET_MODE_COUNT: v = c; break;
            case SEQNET_MODE_FREQ: v = c / (double)len; break;
            case SEQNET_MODE_BINARY: v = 1.0; break;
            case SEQNET_MODE_TFIDF:
                v = (1.0 + log(c)) * log(1.0 + n_docs / (1.0 + (double)sn_intmap_get(&tok->idocs, j)));
                break;
            default:
                rc = sn_error(&tok->obj, SEQNET_EUNSUPPORTED, "unknown matrix mode %d", (int)mode);
                v = 0.0;
                break;
            }
            if (rc != SEQNET_OK)
                break;
            row[j] = v;
            i = r;
        }
    }
    sn_free(&tok->obj.alloc, tmp);
    return rc;
}

SEQNET_API int seqnet_tokenizer_sequences_to_matrix(seqnet_tokenizer *tok, const int32_t *ids,
                                                    const size_t *offsets, size_t n_seqs, int32_t mode,
                                                    double *out, size_t out_len)
{
    int rc;
    if (tok == NULL)
        return SEQNET_EINVAL;
    if ((rc = sn_check_offsets(&tok->obj, ids, offsets, n_seqs)) != SEQNET_OK)
        return rc;
    return fill_matrix(tok, ids, offsets, n_seqs, mode, out, out_len);
}

SEQNET_API int seqnet_tokenizer_texts_to_matrix(seqnet_tokenizer *tok, const char *const *texts,
                                                const size_t *lengths, size_t n_texts, int32_t mode,
                                                double *out, size_t out_len)
{
    int32_t *ids = NULL;
    size_t *offs, cap = 0;
    int rc;
    if (tok == NULL)
        return SEQNET_EINVAL;
    if ((rc = sn_check_texts(&tok->obj, texts, lengths, n_texts)) != SEQNET_OK)
        return rc;
    if (n_texts >= SIZE_MAX / sizeof *offs)
        return SEQNET_ETOOBIG;
    offs = sn_malloc(&tok->obj.alloc, (n_texts + 1) * sizeof *offs);
    if (offs == NULL)
        return SEQNET_ENOMEM;
    rc = to_sequences(tok, texts, lengths, n_texts, &ids, &cap, offs);
    if (rc == SEQNET_OK)
        rc = fill_matrix(tok, ids, offs, n_texts, mode, out, out_len);
    sn_free(&tok->obj.alloc, ids);
    sn_free(&tok->obj.alloc, offs);
    return rc;
}

/* ---- fit_on_sequences ------------------------------------------------------ */

SEQNET_API int seqnet_tokenizer_fit_sequences(seqnet_tokenizer *tok, const int32_t *ids,
                                              const size_t *offsets, size_t n_seqs)
{
    size_t s, k, max_len = 0;
    int32_t *tmp = NULL;
    int rc;
    if (tok == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&tok->obj);
    if ((rc = sn_check_offsets(&tok->obj, ids, offsets, n_seqs)) != SEQNET_OK)
        return rc;
    for (s = 0; s < n_seqs; s++) {
        if (offsets[s + 1] - offsets[s] > max_len)
            max_len = offsets[s + 1] - offsets[s];
        for (k = offsets[s]; k < offsets[s + 1]; k++)
            if (ids[k] < 0)
                return sn_error(&tok->obj, SEQNET_ERANGE, "negative id %d in sequence %zu", (int)ids[k], s);
    }
    /* Reserve room for every id possibly being new, so the update below
     * cannot fail half-way. */
    if (n_seqs > 0 && offsets[n_seqs] - offsets[0] > 0)
        rc = sn_intmap_reserve(&tok->obj.alloc, &tok->idocs, tok->idocs.n + (offsets[n_seqs] - offsets[0]));
    if (rc == SEQNET_OK && max_len > 0 && (tmp = sn_malloc(&tok->obj.alloc, max_len * sizeof *tmp)) == NULL)
        rc = SEQNET_ENOMEM;
    if (rc != SEQNET_OK)
        return rc;
    for (s = 0; s < n_seqs; s++) {
        size_t len = offsets[s + 1] - offsets[s], i;
        if (len == 0)
            continue;
        memcpy(tmp, ids + offsets[s], len * sizeof *tmp);
        qsort(tmp, len, sizeof *tmp, cmp_i32);
        for (i = 0; i < len; i++)
            if (i == 0 || tmp[i] != tmp[i - 1])
                (*sn_intmap_slot(&tok->idocs, tmp[i]))++;
    }
    tok->document_count += (int64_t)n_seqs;
    sn_free(&tok->obj.alloc, tmp);
    return SEQNET_OK;
}

/* ---- queries ----------------------------------------------------------------- */

SEQNET_API int seqnet_tokenizer_document_count(const seqnet_tokenizer *tok, int64_t *count)
{
    if (tok == NULL || count == NULL)
        return SEQNET_EINVAL;
    *count = tok->document_count;
    return SEQNET_OK;
}

SEQNET_API int seqnet_tokenizer_word_count(const seqnet_tokenizer *tok, size_t *n_words)
{
    if (tok == NULL || n_words == NULL)
        return SEQNET_EINVAL;
    *n_words = tok->words.n;
    return SEQNET_OK;
}

SEQNET_API int seqnet_tokenizer_index_size(const seqnet_tokenizer *tok, size_t *n_entries)
{
    if (tok == NULL || n_entries == NULL)
        return SEQNET_EINVAL;
    *n_entries = index_size(tok);
    return SEQNET_OK;
}

SEQNET_API int seqnet_tokenizer_lookup(const seqnet_tokenizer *tok, const char *word, size_t len,
                                       int32_t *index)
{
    if (tok == NULL || index == NULL || (word == NULL && len != 0))
        return SEQNET_EINVAL;
    *index = sn_tokenizer_index_of(tok, (const uint8_t *)(word != NULL ? word : ""), len);
    return SEQNET_OK;
}

SEQNET_API int seqnet_tokenizer_index_word(const seqnet_tokenizer *tok, int32_t index, const char **word,
                                           size_t *len)
{
    int64_t pos;
    if (tok == NULL || word == NULL)
        return SEQNET_EINVAL;
    *word = NULL;
    if (len != NULL)
        *len = 0;
    if (tok->has_fit_oov && index == 1 && index_size(tok) > tok->words.n) {
        *word = tok->fit_oov;
        if (len != NULL)
            *len = tok->fit_oov_len;
        return SEQNET_OK;
    }
    pos = (int64_t)index - (tok->has_fit_oov ? 2 : 1);
    if (index < 1 || pos < 0 || (uint64_t)pos >= tok->words.n)
        return SEQNET_ERANGE;
    *word = sn_strtab_str(&tok->words, tok->by_rank[pos]);
    if (len != NULL)
        *len = tok->words.len[tok->by_rank[pos]];
    return SEQNET_OK;
}

SEQNET_API int seqnet_tokenizer_export_words(const seqnet_tokenizer *tok, char **words, size_t **word_offsets,
                                             int64_t **counts, int64_t **docs, int32_t **indices,
                                             size_t *n_words)
{
    const sn_alloc *a;
    size_t n;
    int rc = SEQNET_OK;
    if (words != NULL) *words = NULL;
    if (word_offsets != NULL) *word_offsets = NULL;
    if (counts != NULL) *counts = NULL;
    if (docs != NULL) *docs = NULL;
    if (indices != NULL) *indices = NULL;
    if (tok == NULL || n_words == NULL || (words == NULL) != (word_offsets == NULL))
        return SEQNET_EINVAL;
    a = &tok->obj.alloc;
    n = tok->words.n;
    *n_words = n;
    if (words != NULL)
        rc = sn_strtab_export(&tok->words, NULL, n, words, word_offsets);
    if (rc == SEQNET_OK && counts != NULL && (*counts = export_copy(a, tok->counts, n, sizeof **counts)) == NULL)
        rc = SEQNET_ENOMEM;
    if (rc == SEQNET_OK && docs != NULL && (*docs = export_copy(a, tok->docs, n, sizeof **docs)) == NULL)
        rc = SEQNET_ENOMEM;
    if (rc == SEQNET_OK && indices != NULL &&
        (*indices = export_copy(a, tok->index, n, sizeof **indices)) == NULL)
        rc = SEQNET_ENOMEM;
    if (rc != SEQNET_OK) {
        if (words != NULL) { seqnet_free(*words); *words = NULL; seqnet_free(*word_offsets); *word_offsets = NULL; }
        if (counts != NULL) { seqnet_free(*counts); *counts = NULL; }
        if (docs != NULL) { seqnet_free(*docs); *docs = NULL; }
        if (indices != NULL) { seqnet_free(*indices); *indices = NULL; }
    }
    return rc;
}

SEQNET_API int seqnet_tokenizer_export_index_docs(const seqnet_tokenizer *tok, int32_t **indices,
                                                  int64_t **docs, size_t *n)
{
    const sn_alloc *a;
    size_t i, k = 0, m;
    int32_t *ix;
    int64_t *dv;
    if (indices != NULL) *indices = NULL;
    if (docs != NULL) *docs = NULL;
    if (tok == NULL || indices == NULL || docs == NULL || n == NULL)
        return SEQNET_EINVAL;
    a = &tok->obj.alloc;
    m = tok->idocs.n;
    ix = sn_export_malloc(a, (m > 0 ? m : 1) * sizeof *ix);
    dv = sn_export_malloc(a, (m > 0 ? m : 1) * sizeof *dv);
    if (ix == NULL || dv == NULL) {
        seqnet_free(ix);
        seqnet_free(dv);
        return SEQNET_ENOMEM;
    }
    if (tok->idocs.keys != NULL)
        for (i = 0; i <= tok->idocs.mask; i++)
            if (tok->idocs.keys[i] >= 0)
                ix[k++] = tok->idocs.keys[i];
    qsort(ix, k, sizeof *ix, cmp_i32);
    for (i = 0; i < k; i++)
        dv[i] = sn_intmap_get(&tok->idocs, ix[i]);
    *indices = ix;
    *docs = dv;
    *n = k;
    return SEQNET_OK;
}

SEQNET_API int seqnet_tokenizer_error_offset(const seqnet_tokenizer *tok, size_t *text, size_t *offset)
{
    if (tok == NULL)
        return SEQNET_EINVAL;
    if (!tok->have_bad)
        return SEQNET_ESTATE;
    if (text != NULL)
        *text = tok->bad_text;
    if (offset != NULL)
        *offset = tok->bad_offset;
    return SEQNET_OK;
}
