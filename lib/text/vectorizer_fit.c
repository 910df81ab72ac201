/*
 * lib/text/vectorizer_fit.c -- CountVectorizer / TfidfVectorizer fit and
 * transform, and the public entry points of all three kinds.
 *
 * fit follows scikit-learn 1.2's CountVectorizer._count_vocab,
 * _limit_features and _sort_features, then TfidfTransformer.fit:
 *  1. count every analyzer feature per document (provisional ids in first
 *     appearance order, one hash lookup per feature, no allocation per
 *     token);
 *  2. df bounds (an int is a count, a float a fraction of n, compared
 *     unrounded), then max_features by total count with ties broken by term
 *     (documented: scikit-learn's unstable argsort only agrees for small or
 *     untied cut-offs);
 *  3. columns in code-point order of the terms;
 *  4. idf = ln((n + s) / (df + s)) + 1, s = smooth_idf.
 * fit_transform keeps the provisional rows of step 1 so the texts are
 * analyzed once.
 */
#include <math.h>
#include <stdlib.h>

#include "text/vectorizer_impl.h"

/* ---- CSR under construction ---------------------------------------------- */

void sn_csr_free(const sn_alloc *a, sn_csr *m)
{
    if (m->exported) {
        seqnet_free(m->indptr);
        seqnet_free(m->indices);
        seqnet_free(m->data);
    } else {
        sn_free(a, m->indptr);
        sn_free(a, m->indices);
        sn_free(a, m->data);
    }
    memset(m, 0, sizeof *m);
}

int sn_csr_push(const sn_alloc *a, sn_csr *m, int32_t col, double v)
{
    int rc;
    if (m->nnz == m->cap_nnz_i || m->nnz == m->cap_nnz_d) {
        if ((rc = sn_grow(a, (void **)&m->indices, &m->cap_nnz_i, m->nnz + 1, sizeof *m->indices)) != SEQNET_OK)
            return rc;
        if ((rc = sn_grow(a, (void **)&m->data, &m->cap_nnz_d, m->nnz + 1, sizeof *m->data)) != SEQNET_OK)
            return rc;
    }
    m->indices[m->nnz] = col;
    m->data[m->nnz] = v;
    m->nnz++;
    return SEQNET_OK;
}

int sn_csr_end_row(const sn_alloc *a, sn_csr *m)
{
    int rc;
    if (m->n_rows == 0 && m->cap_rows == 0) {
        if ((rc = sn_grow(a, (void **)&m->indptr, &m->cap_rows, 2, sizeof *m->indptr)) != SEQNET_OK)
            return rc;
        m->indptr[0] = 0;
    }
    if ((rc = sn_grow(a, (void **)&m->indptr, &m->cap_rows, m->n_rows + 2, sizeof *m->indptr)) != SEQNET_OK)
        return rc;
    m->n_rows++;
    m->indptr[m->n_rows] = m->nnz;
    return SEQNET_OK;
}

/* Hand the matrix to the caller as three seqnet_free() blocks. */
static int csr_export(const sn_alloc *a, sn_csr *m, size_t n_rows, size_t **indptr, int32_t **indices,
                      double **data)
{
    size_t nnz = m->nnz, i;
    size_t *p;
    if (m->exported) { /* built in place: hand the blocks over */
        *indptr = m->indptr;
        *indices = m->indices;
        *data = m->data;
        memset(m, 0, sizeof *m);
        return SEQNET_OK;
    }
    p = sn_export_malloc(a, (n_rows + 1) * sizeof *p);
    int32_t *ix = sn_export_malloc(a, (nnz > 0 ? nnz : 1) * sizeof *ix);
    double *d = sn_export_malloc(a, (nnz > 0 ? nnz : 1) * sizeof *d);
    if (p == NULL || ix == NULL || d == NULL) {
        seqnet_free(p);
        seqnet_free(ix);
        seqnet_free(d);
        return SEQNET_ENOMEM;
    }
    for (i = 0; i <= n_rows; i++)
        p[i] = (m->indptr != NULL && i <= m->n_rows) ? m->indptr[i] : 0;
    if (nnz > 0) {
        memcpy(ix, m->indices, nnz * sizeof *ix);
        memcpy(d, m->data, nnz * sizeof *d);
    }
    *indptr = p;
    *indices = ix;
    *data = d;
    return SEQNET_OK;
}

/* ---- transform with a vocabulary -------------------------------------------- */

/* A transform collects each document's vocabulary columns in order, then
 * sorts them (sn_sort_keys) and counts equal neighbours. Nothing is sized
 * by the vocabulary, so classifying one short message costs what the
 * message costs, not what a 30,000-term vocabulary would. */
typedef struct tr_state {
    seqnet_vectorizer *vec;
    uint64_t *keys, *tmp;
    size_t k, cap_keys, cap_tmp;
    int32_t *cols;
    double *vals;
    size_t cap_c, cap_v;
    int rc;
} tr_state;

static int emit_transform(void *user, const uint8_t *s, size_t n, uint64_t h)
{
    tr_state *st = user;
    uint32_t col;
    if (sn_strtab_find(&st->vec->vocab, s, n, h, &col)) {
        if (st->k == st->cap_keys &&
            (st->rc = sn_grow(&st->vec->obj.alloc, (void **)&st->keys, &st->cap_keys, st->k + 1,
                              sizeof *st->keys)) != SEQNET_OK)
            return st->rc;
        st->keys[st->k++] = (uint64_t)col << 32;
    }
    return SEQNET_OK;
}

static int utf8_fail(seqnet_vectorizer *vec, size_t t, const sn_scratch *sc)
{
    vec->have_bad = 1;
    return sn_text_utf8_error(&vec->obj, t, sc->bad_offset, &vec->bad_text, &vec->bad_offset);
}

static int vocab_transform(seqnet_vectorizer *vec, const char *const *texts, const size_t *lengths,
                           size_t n_texts, int finish, sn_csr *m)
{
    const sn_alloc *a = &vec->obj.alloc;
    sn_scratch sc;
    sn_analyzer an;
    tr_state st;
    size_t t, i, k;
    unsigned bits = sn_bits_for(vec->vocab.n > 0 ? vec->vocab.n : 1);
    int rc = SEQNET_OK;

    memset(&st, 0, sizeof st);
    st.vec = vec;
    sn_scratch_init(&sc, a);
    sn_vectorizer_analyzer(vec, &an);
    an.prefetch = &vec->vocab;
    for (t = 0; t < n_texts && rc == SEQNET_OK; t++) {
        size_t len;
        const uint8_t *text = sn_text_at(texts, lengths, t, &len);
        st.k = 0;
        rc = sn_analyze(&an, &sc, text, len, emit_transform, &st);
        if (rc == SEQNET_EUTF8)
            rc = utf8_fail(vec, t, &sc);
        if (rc != SEQNET_OK)
            break;
        if ((rc = sn_grow(a, (void **)&st.tmp, &st.cap_tmp, st.k + 1, sizeof *st.tmp)) != SEQNET_OK ||
            (rc = sn_grow(a, (void **)&st.cols, &st.cap_c, st.k + 1, sizeof *st.cols)) != SEQNET_OK ||
            (rc = sn_grow(a, (void **)&st.vals, &st.cap_v, st.k + 1, sizeof *st.vals)) != SEQNET_OK)
            break;
        sn_sort_keys(st.keys, st.tmp, st.k, bits);
        for (i = 0, k = 0; i < st.k; i++) { /* counts of equal columns */
            int32_t col = (int32_t)(st.keys[i] >> 32);
            if (k > 0 && st.cols[k - 1] == col) {
                st.vals[k - 1] += 1.0;
            } else {
                st.cols[k] = col;
                st.vals[k] = 1.0;
                k++;
            }
        }
        if (finish && (rc = sn_vectorizer_finish_row(vec, st.cols, st.vals, k)) != SEQNET_OK)
            break;
        for (i = 0; i < k && rc == SEQNET_OK; i++)
            rc = sn_csr_push(a, m, st.cols[i], st.vals[i]);
        if (rc == SEQNET_OK)
            rc = sn_csr_end_row(a, m);
    }
    sn_free(a, st.keys);
    sn_free(a, st.tmp);
    sn_free(a, st.cols);
    sn_free(a, st.vals);
    sn_scratch_free(&sc);
    return rc;
}

/* ---- fit ---------------------------------------------------------------------- */

/* Per call: the provisional terms (ids in first-appearance order) with
 * their total counts and document frequencies, the current document's row
 * (distinct ids and counts; mark[id] is 1 + the id's place in it, 0 when
 * absent, and is reset at the end of the document), and with fit_transform
 * the provisional rows of every document. */
typedef struct fit_state {
    seqnet_vectorizer *vec;
    sn_strtab terms;
    int64_t *tf, *df;
    uint32_t *mark;
    size_t cap_tf, cap_df, cap_mark;
    uint32_t *row_id, *row_cnt;
    size_t k, cap_row_id, cap_row_cnt;
    uint32_t *prov_id, *prov_cnt; /* rows back to back */
    size_t prov_n, cap_prov_id, cap_prov_cnt;
    size_t *prov_end;             /* per document: end of its row in prov_* */
    int rc;
} fit_state;

static void fit_state_free(const sn_alloc *a, fit_state *st)
{
    sn_strtab_free(&st->terms);
    sn_free(a, st->tf);
    sn_free(a, st->df);
    sn_free(a, st->mark);
    sn_free(a, st->row_id);
    sn_free(a, st->row_cnt);
    sn_free(a, st->prov_id);
    sn_free(a, st->prov_cnt);
    sn_free(a, st->prov_end);
}

/* Grow a zero-filled per-id array. */
static int grow_zero(const sn_alloc *a, void **buf, size_t *cap, size_t need, size_t elem)
{
    size_t old = *cap;
    int rc = sn_grow(a, buf, cap, need, elem);
    if (*cap > old)
        memset((char *)*buf + old * elem, 0, (*cap - old) * elem);
    return rc;
}

static int row_reserve(const sn_alloc *a, fit_state *st, size_t need)
{
    int rc = sn_grow(a, (void **)&st->row_id, &st->cap_row_id, need, sizeof *st->row_id);
    if (rc == SEQNET_OK)
        rc = sn_grow(a, (void **)&st->row_cnt, &st->cap_row_cnt, need, sizeof *st->row_cnt);
    return rc;
}

/* Look up (or add) a feature; *id receives its provisional id. */
static int fit_term(fit_state *st, const uint8_t *s, size_t n, uint64_t h, uint32_t *id)
{
    const sn_alloc *a = &st->vec->obj.alloc;
    int inserted, rc = sn_strtab_intern(&st->terms, s, n, h, id, &inserted);
    if (rc == SEQNET_OK && inserted) {
        size_t need = (size_t)*id + 1;
        rc = grow_zero(a, (void **)&st->tf, &st->cap_tf, need, sizeof *st->tf);
        if (rc == SEQNET_OK)
            rc = grow_zero(a, (void **)&st->df, &st->cap_df, need, sizeof *st->df);
        if (rc == SEQNET_OK)
            rc = grow_zero(a, (void **)&st->mark, &st->cap_mark, need, sizeof *st->mark);
    }
    return rc;
}

/* Count one occurrence in the current row (room for it reserved). */
static void row_add(fit_state *st, uint32_t id)
{
    uint32_t m = st->mark[id];
    if (m != 0) {
        st->row_cnt[m - 1]++;
        return;
    }
    st->row_id[st->k] = id;
    st->row_cnt[st->k] = 1;
    st->mark[id] = (uint32_t)++st->k;
}

static int emit_fit(void *user, const uint8_t *s, size_t n, uint64_t h)
{
    fit_state *st = user;
    uint32_t id;
    st->rc = fit_term(st, s, n, h, &id);
    if (st->rc == SEQNET_OK && st->k == st->cap_row_id)
        st->rc = row_reserve(&st->vec->obj.alloc, st, st->k + 1);
    if (st->rc == SEQNET_OK)
        row_add(st, id);
    return st->rc;
}

/* Close document t: fold its row into tf / df, keep it when keep_rows. */
static int end_doc(fit_state *st, size_t t, int keep_rows)
{
    const sn_alloc *a = &st->vec->obj.alloc;
    size_t j, k = st->k;
    int binary = st->vec->binary;
    for (j = 0; j < k; j++) {
        uint32_t id = st->row_id[j];
        st->mark[id] = 0;
        st->df[id]++;
        st->tf[id] += binary ? 1 : (int64_t)st->row_cnt[j];
    }
    st->k = 0;
    if (!keep_rows)
        return SEQNET_OK;
    if (st->prov_n + k > st->cap_prov_id || st->prov_n + k > st->cap_prov_cnt) {
        int rc = sn_grow(a, (void **)&st->prov_id, &st->cap_prov_id, st->prov_n + k, sizeof *st->prov_id);
        if (rc == SEQNET_OK)
            rc = sn_grow(a, (void **)&st->prov_cnt, &st->cap_prov_cnt, st->prov_n + k, sizeof *st->prov_cnt);
        if (rc != SEQNET_OK)
            return rc;
    }
    if (k > 0) {
        memcpy(st->prov_id + st->prov_n, st->row_id, k * sizeof *st->prov_id);
        memcpy(st->prov_cnt + st->prov_n, st->row_cnt, k * sizeof *st->prov_cnt);
    }
    st->prov_n += k;
    st->prov_end[t] = st->prov_n;
    return SEQNET_OK;
}

/* Analyze every text into st (and its rows when keep_rows). */
static int fit_count(seqnet_vectorizer *vec, fit_state *st, const char *const *texts, const size_t *lengths,
                     size_t n_texts, int keep_rows)
{
    const sn_alloc *a = &vec->obj.alloc;
    sn_scratch sc;
    sn_analyzer an;
    size_t t, i, cap_ids = 0;
    uint32_t *ids = NULL;
    int rc = SEQNET_OK, words_only = vec->ngram_min == 1 && vec->ngram_max == 1;

    sn_scratch_init(&sc, a);
    sn_vectorizer_analyzer(vec, &an);
    an.prefetch = &st->terms;
    if (keep_rows && (st->prov_end = sn_malloc(a, (n_texts > 0 ? n_texts : 1) * sizeof *st->prov_end)) == NULL)
        rc = SEQNET_ENOMEM;
    for (t = 0; t < n_texts && rc == SEQNET_OK; t++) {
        size_t len;
        const uint8_t *text = sn_text_at(texts, lengths, t, &len), *base;
        /* Row counts are uint32: a text needs 3 bytes per token. */
        if (len / 3 >= UINT32_MAX) {
            rc = sn_error(&vec->obj, SEQNET_ETOOBIG, "text %zu is too long", t);
            break;
        }
        if (words_only) {
            /* The common case without a callback per token. */
            /* Resolve the ids first (their slots were prefetched while
             * tokenizing) and prefetch each id's counters, then count. */
            rc = sn_analyze_words(&an, &sc, text, len, 1, &base);
            if (rc == SEQNET_OK)
                rc = row_reserve(a, st, sc.n_spans);
            if (rc == SEQNET_OK)
                rc = sn_grow(a, (void **)&ids, &cap_ids, sc.n_spans + 1, sizeof *ids);
            for (i = 0; i < sc.n_spans && rc == SEQNET_OK; i++) {
                rc = fit_term(st, base + sc.spans[i].off, sc.spans[i].len, sc.hashes[i], &ids[i]);
#if defined(__GNUC__)
                __builtin_prefetch(&st->mark[ids[i]]);
                __builtin_prefetch(&st->tf[ids[i]]);
                __builtin_prefetch(&st->df[ids[i]]);
#endif
            }
            for (i = 0; i < sc.n_spans && rc == SEQNET_OK; i++)
                row_add(st, ids[i]);
        } else {
            rc = sn_analyze(&an, &sc, text, len, emit_fit, st);
        }
        if (rc == SEQNET_EUTF8)
            rc = utf8_fail(vec, t, &sc);
        if (rc == SEQNET_OK)
            rc = end_doc(st, t, keep_rows);
    }
    sn_free(a, ids);
    sn_scratch_free(&sc);
    return rc;
}

typedef struct term_ref {
    const char *s;
    uint32_t len, id;
    int64_t tf;
} term_ref;

static int cmp_term(const void *pa, const void *pb)
{
    const term_ref *a = pa, *b = pb;
    return sn_bytes_cmp(a->s, a->len, b->s, b->len);
}

static int cmp_tf_then_term(const void *pa, const void *pb)
{
    const term_ref *a = pa, *b = pb;
    if (a->tf != b->tf)
        return a->tf > b->tf ? -1 : 1;
    return sn_bytes_cmp(a->s, a->len, b->s, b->len);
}

static double df_limit(const sn_df_bound *b, size_t n_docs)
{
    return b->is_fraction ? b->fraction * (double)n_docs : (double)b->count;
}

/* Prune and sort the provisional terms into vec->vocab / vec->pruned;
 * col_of[id] receives the column or -1. */
static int build_vocab(seqnet_vectorizer *vec, fit_state *st, size_t n_docs, int32_t *col_of, sn_strtab *vocab,
                       sn_strtab *pruned)
{
    const sn_alloc *a = &vec->obj.alloc;
    size_t n = st->terms.n, n_keep = 0, n_drop = 0, i;
    double hi = df_limit(&vec->max_df, n_docs), lo = df_limit(&vec->min_df, n_docs);
    term_ref *keep, *drop;
    int rc = SEQNET_OK;
    uint32_t id;

    if (hi < lo)
        return sn_error(&vec->obj, SEQNET_EINVAL, "max_df corresponds to < documents than min_df");
    keep = sn_malloc(a, n * sizeof *keep);
    drop = sn_malloc(a, n * sizeof *drop);
    if (keep == NULL || drop == NULL) {
        sn_free(a, keep);
        sn_free(a, drop);
        return SEQNET_ENOMEM;
    }
    for (i = 0; i < n; i++) {
        term_ref r;
        double df = (double)st->df[i];
        r.s = sn_strtab_str(&st->terms, (uint32_t)i);
        r.len = st->terms.len[i];
        r.id = (uint32_t)i;
        r.tf = st->tf[i];
        if (df <= hi && df >= lo)
            keep[n_keep++] = r;
        else
            drop[n_drop++] = r;
        col_of[i] = -1;
    }
    if (vec->max_features > 0 && n_keep > (size_t)vec->max_features) {
        qsort(keep, n_keep, sizeof *keep, cmp_tf_then_term);
        for (i = (size_t)vec->max_features; i < n_keep; i++)
            drop[n_drop++] = keep[i];
        n_keep = (size_t)vec->max_features;
    }
    if (n_keep == 0)
        rc = sn_error(&vec->obj, SEQNET_EEMPTY,
                      "After pruning, no terms remain. Try a lower min_df or a higher max_df.");
    if (rc == SEQNET_OK) {
        qsort(keep, n_keep, sizeof *keep, cmp_term);
        qsort(drop, n_drop, sizeof *drop, cmp_term);
        rc = sn_strtab_reserve(vocab, n_keep, 1);
    }
    for (i = 0; i < n_keep && rc == SEQNET_OK; i++) {
        rc = sn_strtab_intern(vocab, (const uint8_t *)keep[i].s, keep[i].len,
                              sn_hash_bytes((const uint8_t *)keep[i].s, keep[i].len), &id, NULL);
        col_of[keep[i].id] = (int32_t)id;
    }
    for (i = 0; i < n_drop && rc == SEQNET_OK; i++)
        rc = sn_strtab_intern(pruned, (const uint8_t *)drop[i].s, drop[i].len,
                              sn_hash_bytes((const uint8_t *)drop[i].s, drop[i].len), &id, NULL);
    sn_free(a, keep);
    sn_free(a, drop);
    return rc;
}

static int compute_idf(seqnet_vectorizer *vec, const int64_t *df_by_col, size_t n_cols, size_t n_docs,
                       double **idf_out)
{
    double s = vec->smooth_idf ? 1.0 : 0.0, *idf;
    size_t j;
    *idf_out = NULL;
    if (vec->kind != SEQNET_VECTORIZER_TFIDF)
        return SEQNET_OK;
    idf = sn_malloc(&vec->obj.alloc, (n_cols > 0 ? n_cols : 1) * sizeof *idf);
    if (idf == NULL)
        return SEQNET_ENOMEM;
    for (j = 0; j < n_cols; j++)
        idf[j] = log(((double)n_docs + s) / ((double)df_by_col[j] + s)) + 1.0;
    *idf_out = idf;
    return SEQNET_OK;
}

/* The rows of fit_transform from the provisional rows: each row is
 * remapped to columns as (column << 32 | count) entries, sorted in L1 by
 * sn_sort_keys and written once, in order, straight into the
 * seqnet_free() blocks handed to the caller (their size is known: the
 * kept document frequencies add up to the entry count). */
static int build_rows(seqnet_vectorizer *vec, fit_state *st, const int32_t *col_of, const int64_t *df_col,
                      size_t n_cols, size_t n_rows, sn_csr *m)
{
    const sn_alloc *a = &vec->obj.alloc;
    size_t *indptr = NULL, nnz = 0, r, j, c, b, o = 0, max_row = 1;
    uint64_t *keys = NULL, *tmp = NULL;
    int32_t *indices = NULL;
    double *data = NULL;
    unsigned bits = sn_bits_for(n_cols);
    int rc = SEQNET_OK, finish = vec->kind != SEQNET_VECTORIZER_COUNT || vec->binary;

    for (c = 0; c < n_cols; c++)
        nnz += (size_t)df_col[c];
    for (r = 0, b = 0; r < n_rows; r++) {
        if (st->prov_end[r] - b > max_row)
            max_row = st->prov_end[r] - b;
        b = st->prov_end[r];
    }
    indptr = sn_export_malloc(a, (n_rows + 1) * sizeof *indptr);
    indices = sn_export_malloc(a, (nnz > 0 ? nnz : 1) * sizeof *indices);
    data = sn_export_malloc(a, (nnz > 0 ? nnz : 1) * sizeof *data);
    keys = sn_malloc(a, max_row * sizeof *keys);
    tmp = sn_malloc(a, max_row * sizeof *tmp);
    if (indptr == NULL || indices == NULL || data == NULL || keys == NULL || tmp == NULL)
        rc = SEQNET_ENOMEM;
    if (rc == SEQNET_OK)
        indptr[0] = 0;
    for (r = 0, b = 0; r < n_rows && rc == SEQNET_OK; r++) {
        size_t e = st->prov_end[r], k = 0;
        for (j = b; j < e; j++) {
            int32_t col = col_of[st->prov_id[j]];
            if (col >= 0)
                keys[k++] = (uint64_t)(uint32_t)col << 32 | st->prov_cnt[j];
        }
        b = e;
        sn_sort_keys(keys, tmp, k, bits);
        for (j = 0; j < k; j++) {
            indices[o + j] = (int32_t)(keys[j] >> 32);
            data[o + j] = (double)(uint32_t)keys[j];
        }
        if (finish)
            rc = sn_vectorizer_finish_row(vec, indices + o, data + o, k);
        o += k;
        indptr[r + 1] = o;
    }
    sn_free(a, keys);
    sn_free(a, tmp);
    if (rc == SEQNET_OK) {
        m->indptr = indptr;
        m->indices = indices;
        m->data = data;
        m->n_rows = n_rows;
        m->nnz = nnz;
        m->exported = 1;
    } else {
        seqnet_free(indptr);
        seqnet_free(indices);
        seqnet_free(data);
    }
    return rc;
}

/* The whole fit; on success vec holds the new state and, when m is not
 * NULL, m holds the transformed rows. On failure vec is unchanged. */
static int fit_impl(seqnet_vectorizer *vec, const char *const *texts, const size_t *lengths, size_t n_texts,
                    sn_csr *m)
{
    const sn_alloc *a = &vec->obj.alloc;
    fit_state st;
    sn_strtab vocab, pruned;
    int32_t *col_of = NULL;
    int64_t *df_col = NULL;
    double *idf = NULL;
    size_t i, r;
    int rc;

    if (vec->ngram_min > vec->ngram_max)
        return sn_error(&vec->obj, SEQNET_EINVAL, "Invalid value for ngram_range=(%lld, %lld) lower boundary "
                        "larger than the upper boundary.", (long long)vec->ngram_min, (long long)vec->ngram_max);
    if (vec->fixed) {
        /* No pruning: count with the given vocabulary, then idf from df. */
        sn_csr counts;
        memset(&counts, 0, sizeof counts);
        rc = vocab_transform(vec, texts, lengths, n_texts, 0, &counts);
        if (rc == SEQNET_OK && (df_col = sn_calloc(a, vec->vocab.n > 0 ? vec->vocab.n : 1, sizeof *df_col)) == NULL)
            rc = SEQNET_ENOMEM;
        for (i = 0; rc == SEQNET_OK && i < counts.nnz; i++)
            df_col[counts.indices[i]]++;
        if (rc == SEQNET_OK)
            rc = compute_idf(vec, df_col, vec->vocab.n, n_texts, &idf);
        sn_free(a, df_col);
        if (rc == SEQNET_OK) {
            sn_free(a, vec->idf);
            vec->idf = idf;
            vec->fitted = 1;
            vec->n_docs_fitted = n_texts;
            sn_strtab_free(&vec->pruned);
            for (r = 0; m != NULL && r < counts.n_rows && rc == SEQNET_OK; r++) {
                size_t b = counts.indptr[r], e = counts.indptr[r + 1];
                rc = sn_vectorizer_finish_row(vec, counts.indices + b, counts.data + b, e - b);
            }
            if (m != NULL && rc == SEQNET_OK) {
                *m = counts;
                return SEQNET_OK;
            }
        }
        sn_csr_free(a, &counts);
        return rc;
    }

    memset(&st, 0, sizeof st);
    st.vec = vec;
    sn_strtab_init(&st.terms, a);
    sn_strtab_init(&vocab, a);
    sn_strtab_init(&pruned, a);
    rc = SEQNET_OK;
    if (m != NULL && n_texts >= UINT32_MAX)
        rc = sn_error(&vec->obj, SEQNET_ETOOBIG, "more than %u texts", (unsigned)UINT32_MAX - 1u);
    if (rc == SEQNET_OK)
        rc = fit_count(vec, &st, texts, lengths, n_texts, m != NULL);
    if (rc == SEQNET_OK && st.terms.n == 0)
        rc = sn_error(&vec->obj, SEQNET_EEMPTY, "empty vocabulary; perhaps the documents only contain stop words");
    if (rc == SEQNET_OK && st.terms.n > (size_t)INT32_MAX)
        rc = sn_error(&vec->obj, SEQNET_ETOOBIG, "more than %d terms", INT32_MAX);
    if (rc == SEQNET_OK && (col_of = sn_malloc(a, st.terms.n * sizeof *col_of)) == NULL)
        rc = SEQNET_ENOMEM;
    if (rc == SEQNET_OK)
        rc = build_vocab(vec, &st, n_texts, col_of, &vocab, &pruned);
    if (rc == SEQNET_OK && (df_col = sn_malloc(a, (vocab.n > 0 ? vocab.n : 1) * sizeof *df_col)) == NULL)
        rc = SEQNET_ENOMEM;
    for (i = 0; rc == SEQNET_OK && i < st.terms.n; i++)
        if (col_of[i] >= 0)
            df_col[col_of[i]] = st.df[i];
    if (rc == SEQNET_OK)
        rc = compute_idf(vec, df_col, vocab.n, n_texts, &idf);
    if (rc == SEQNET_OK && m != NULL) {
        double *old_idf = vec->idf;
        vec->idf = idf; /* finish_row reads vec->idf */
        rc = build_rows(vec, &st, col_of, df_col, vocab.n, n_texts, m);
        vec->idf = old_idf;
    }
    if (rc == SEQNET_OK) {
        sn_strtab_free(&vec->vocab);
        sn_strtab_free(&vec->pruned);
        sn_free(a, vec->idf);
        vec->vocab = vocab;
        vec->pruned = pruned;
        vec->idf = idf;
        vec->fitted = 1;
        vec->n_docs_fitted = n_texts;
    } else {
        sn_strtab_free(&vocab);
        sn_strtab_free(&pruned);
        sn_free(a, idf);
    }
    sn_free(a, col_of);
    sn_free(a, df_col);
    fit_state_free(a, &st);
    return rc;
}

/* ---- public entry points ---------------------------------------------------- */

static int begin(seqnet_vectorizer *vec, const char *const *texts, const size_t *lengths, size_t n_texts)
{
    if (vec == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&vec->obj);
    vec->have_bad = 0;
    return sn_check_texts(&vec->obj, texts, lengths, n_texts);
}

/* The start of a call that only reads a fitted object: it writes nothing
 * to the object unless it fails, so threads may share one fitted object. */
static int begin_read(seqnet_vectorizer *vec, const char *const *texts, const size_t *lengths,
                      size_t n_texts)
{
    if (vec == NULL)
        return SEQNET_EINVAL;
    return sn_check_texts(&vec->obj, texts, lengths, n_texts);
}

SEQNET_API int seqnet_vectorizer_fit(seqnet_vectorizer *vec, const char *const *texts, const size_t *lengths,
                                     size_t n_texts)
{
    int rc = begin(vec, texts, lengths, n_texts);
    if (rc != SEQNET_OK)
        return rc;
    if (vec->kind == SEQNET_VECTORIZER_HASHING) {
        if (vec->ngram_min > vec->ngram_max)
            return sn_error(&vec->obj, SEQNET_EINVAL, "ngram_min > ngram_max");
        return SEQNET_OK;
    }
    return fit_impl(vec, texts, lengths, n_texts, NULL);
}

static int transform_csr(seqnet_vectorizer *vec, const char *const *texts, const size_t *lengths, size_t n_texts,
                         int fit, sn_csr *m)
{
    if (vec->kind == SEQNET_VECTORIZER_HASHING)
        return sn_hashing_transform(vec, texts, lengths, n_texts, m);
    if (fit)
        return fit_impl(vec, texts, lengths, n_texts, m);
    if (vec->ngram_min > vec->ngram_max)
        return sn_error(&vec->obj, SEQNET_EINVAL, "ngram_min > ngram_max");
    if (!vec->fitted && !(vec->fixed && vec->kind == SEQNET_VECTORIZER_COUNT))
        return sn_error(&vec->obj, SEQNET_ESTATE, "the vectorizer is not fitted");
    return vocab_transform(vec, texts, lengths, n_texts, 1, m);
}

static int sparse_result(seqnet_vectorizer *vec, const char *const *texts, const size_t *lengths,
                         size_t n_texts, int fit, size_t **indptr_out, int32_t **indices_out, double **data_out)
{
    sn_csr m;
    int rc;
    if (indptr_out != NULL) *indptr_out = NULL;
    if (indices_out != NULL) *indices_out = NULL;
    if (data_out != NULL) *data_out = NULL;
    rc = fit ? begin(vec, texts, lengths, n_texts) : begin_read(vec, texts, lengths, n_texts);
    if (rc != SEQNET_OK)
        return rc;
    if (indptr_out == NULL || indices_out == NULL || data_out == NULL)
        return sn_error(&vec->obj, SEQNET_EINVAL, "the three output pointers must not be NULL");
    memset(&m, 0, sizeof m);
    rc = transform_csr(vec, texts, lengths, n_texts, fit, &m);
    if (rc == SEQNET_OK)
        rc = csr_export(&vec->obj.alloc, &m, n_texts, indptr_out, indices_out, data_out);
    sn_csr_free(&vec->obj.alloc, &m);
    return rc;
}

SEQNET_API int seqnet_vectorizer_transform(seqnet_vectorizer *vec, const char *const *texts, const size_t *lengths,
                                           size_t n_texts, size_t **indptr_out, int32_t **indices_out,
                                           double **data_out)
{
    return sparse_result(vec, texts, lengths, n_texts, 0, indptr_out, indices_out, data_out);
}

SEQNET_API int seqnet_vectorizer_fit_transform(seqnet_vectorizer *vec, const char *const *texts,
                                               const size_t *lengths, size_t n_texts, size_t **indptr_out,
                                               int32_t **indices_out, double **data_out)
{
    return sparse_result(vec, texts, lengths, n_texts, 1, indptr_out, indices_out, data_out);
}

SEQNET_API int seqnet_vectorizer_transform_dense(seqnet_vectorizer *vec, const char *const *texts,
                                                 const size_t *lengths, size_t n_texts, double *out,
                                                 size_t out_len)
{
    sn_csr m;
    size_t width = 0, total, r, i;
    int rc = begin_read(vec, texts, lengths, n_texts);
    if (rc != SEQNET_OK)
        return rc;
    if (vec->kind == SEQNET_VECTORIZER_HASHING)
        width = (size_t)vec->n_features;
    else if ((rc = seqnet_vectorizer_n_features(vec, &width)) != SEQNET_OK)
        return rc;
    if (sn_mul_size(n_texts, width, &total) != 0)
        return sn_error(&vec->obj, SEQNET_ETOOBIG, "dense matrix too large");
    if (out_len < total || (out == NULL && total > 0))
        return sn_error(&vec->obj, SEQNET_EBUFFER, "the dense matrix needs %zu doubles (%zu x %zu), got %zu",
                        total, n_texts, width, out_len);
    memset(&m, 0, sizeof m);
    rc = transform_csr(vec, texts, lengths, n_texts, 0, &m);
    if (rc == SEQNET_OK) {
        if (total > 0)
            memset(out, 0, total * sizeof *out);
        for (r = 0; r < m.n_rows && r < n_texts; r++)
            for (i = m.indptr[r]; i < m.indptr[r + 1]; i++)
                out[r * width + (size_t)m.indices[i]] = m.data[i];
    }
    sn_csr_free(&vec->obj.alloc, &m);
    return rc;
}
