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

/* The CSR arrays are grown as seqnet_free() blocks from the start
 * (sn_grow_block), so the result is handed over without a copy
 * (m->exported). */
int sn_csr_reserve(const sn_alloc *a, sn_csr *m, size_t nnz)
{
    int rc;
    if (nnz == 0)
        nnz = 1; /* the arrays exist once reserved, even for no entry */
    if (nnz <= m->cap_nnz_i && nnz <= m->cap_nnz_d)
        return SEQNET_OK;
    m->exported = 1;
    if ((rc = sn_grow_block(a, (void **)&m->indices, &m->cap_nnz_i, nnz, sizeof *m->indices, 1)) != SEQNET_OK)
        return rc;
    return sn_grow_block(a, (void **)&m->data, &m->cap_nnz_d, nnz, sizeof *m->data, 1);
}

int sn_csr_push(const sn_alloc *a, sn_csr *m, int32_t col, double v)
{
    int rc;
    if (m->nnz == m->cap_nnz_i || m->nnz == m->cap_nnz_d)
        if ((rc = sn_csr_reserve(a, m, m->nnz + 1)) != SEQNET_OK)
            return rc;
    m->indices[m->nnz] = col;
    m->data[m->nnz] = v;
    m->nnz++;
    return SEQNET_OK;
}

int sn_csr_end_row(const sn_alloc *a, sn_csr *m)
{
    int rc;
    m->exported = 1;
    if ((rc = sn_grow_block(a, (void **)&m->indptr, &m->cap_rows, m->n_rows + 2, sizeof *m->indptr, 1)) != SEQNET_OK)
        return rc;
    if (m->n_rows == 0)
        m->indptr[0] = 0;
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
    if (m->exported && m->indptr != NULL && m->n_rows == n_rows) { /* built in place: hand them over */
        /* rows without entries leave indices and data unallocated */
        if (m->indices == NULL && (m->indices = sn_export_malloc(a, sizeof *m->indices)) == NULL)
            return SEQNET_ENOMEM;
        if (m->data == NULL && (m->data = sn_export_malloc(a, sizeof *m->data)) == NULL)
            return SEQNET_ENOMEM;
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
        if (vec->ngram_min == 1 && vec->ngram_max == 1) {
            /* words only: no callback per token, inline lookups */
            const uint8_t *base;
            rc = sn_analyze_words(&an, &sc, text, len, 1, &base);
            if (rc == SEQNET_OK)
                rc = sn_grow(a, (void **)&st.keys, &st.cap_keys, sc.n_spans + 1, sizeof *st.keys);
            for (i = 0; i < sc.n_spans && rc == SEQNET_OK; i++) {
                uint32_t col;
                if (sn_strtab_find_at(&vec->vocab, base + sc.spans[i].off, sc.spans[i].len, sc.hashes[i],
                                      sc.padded, &col))
                    st.keys[st.k++] = (uint64_t)col << 32;
            }
        } else {
            rc = sn_analyze(&an, &sc, text, len, emit_transform, &st);
        }
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

/* One provisional term's counters, together so that counting a document
 * touches one 16-byte record (one cache line) per distinct term: the total
 * count, the document frequency (fit refuses UINT32_MAX texts or more) and
 * 1 + the term's place in the current document's row (0 when absent). */
typedef struct fit_counts {
    int64_t tf;
    uint32_t df;
    uint32_t mark;
} fit_counts;

/* Per call: the provisional terms (ids in first-appearance order) with
 * their total counts and document frequencies, the current document's row
 * (distinct ids and counts; cnt[id].mark is 1 + the id's place in it, 0
 * when absent, and is reset at the end of the document), and with fit_transform
 * the provisional rows of every document. */
typedef struct fit_state {
    seqnet_vectorizer *vec;
    sn_strtab terms;
    fit_counts *cnt;              /* per provisional id */
    size_t cap_cnt;
    uint32_t *row_id, *row_cnt;
    size_t k, cap_row_id, cap_row_cnt;
    /* With fit_transform, the rows back to back, written straight into
     * the CSR that becomes the result (sn_csr_reserve: seqnet_free()
     * blocks): provisional ids (as uint32) in indices, counts in data, and
     * each document's end in indptr[t + 1]. build_rows turns them into
     * columns in place. */
    sn_csr out;
    int rc;
} fit_state;

static void fit_state_free(const sn_alloc *a, fit_state *st)
{
    sn_strtab_free(&st->terms);
    sn_free(a, st->cnt);
    sn_free(a, st->row_id);
    sn_free(a, st->row_cnt);
    sn_csr_free(a, &st->out);
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
        rc = grow_zero(a, (void **)&st->cnt, &st->cap_cnt, need, sizeof *st->cnt);
    }
    return rc;
}

/* Count one occurrence in the current row (room for it reserved). */
static void row_add(fit_state *st, uint32_t id)
{
    uint32_t m = st->cnt[id].mark;
    if (m != 0) {
        st->row_cnt[m - 1]++;
        return;
    }
    st->row_id[st->k] = id;
    st->row_cnt[st->k] = 1;
    st->cnt[id].mark = (uint32_t)++st->k;
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
    int binary = st->vec->binary, rc;
    for (j = 0; j < k; j++) {
        uint32_t id = st->row_id[j];
        fit_counts *c = &st->cnt[id];
        c->mark = 0;
        c->df++;
        c->tf += binary ? 1 : (int64_t)st->row_cnt[j];
    }
    st->k = 0;
    if (!keep_rows)
        return SEQNET_OK;
    if ((rc = sn_csr_reserve(a, &st->out, st->out.nnz + k)) != SEQNET_OK)
        return rc;
    {
        uint32_t *ix = (uint32_t *)st->out.indices + st->out.nnz;
        double *val = st->out.data + st->out.nnz;
        for (j = 0; j < k; j++) {
            ix[j] = st->row_id[j];
            val[j] = (double)st->row_cnt[j];
        }
    }
    st->out.nnz += k;
    st->out.indptr[t + 1] = st->out.nnz;
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
    if (keep_rows) {
        st->out.exported = 1; /* every block of st->out is a seqnet_free() one */
        if ((st->out.indptr = sn_export_malloc(a, (n_texts + 1) * sizeof *st->out.indptr)) == NULL)
            rc = SEQNET_ENOMEM;
        else
            st->out.indptr[0] = 0;
    }
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
                const uint8_t *w = base + sc.spans[i].off;
                size_t n = sc.spans[i].len;
                uint64_t head, tail;
                int known = 0;
                /* Known words up to 16 bytes: found inline from the slot. */
                if (n <= 16) {
                    sn_key16(w, n, sc.padded, &head, &tail);
                    known = sn_strtab_find16(&st->terms, head, tail, n, sc.hashes[i], &ids[i]);
                }
                if (!known)
                    rc = fit_term(st, w, n, sc.hashes[i], &ids[i]);
#if defined(__GNUC__)
                __builtin_prefetch(&st->cnt[ids[i]]);
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

/* Sort terms into code point order (the order of their UTF-8 bytes): an
 * LSD radix sort, 11 bits a digit, of each term's first 8 bytes read
 * big-endian (zero-padded, so a prefix sorts first), then qsort with the
 * full comparison inside each run of equal first 8 bytes. A hundred
 * thousand terms through qsort alone cost 1.7 million comparator calls. */
typedef struct term_key {
    uint64_t key;
    uint32_t idx, pad;
} term_key;

static int sort_terms(const sn_alloc *a, term_ref *refs, size_t n)
{
    term_key *k1, *k2, *src, *dst;
    term_ref *copy;
    size_t i, j, count[2048];
    unsigned shift;
    if (n < 64) {
        qsort(refs, n, sizeof *refs, cmp_term);
        return SEQNET_OK;
    }
    k1 = sn_malloc(a, n * sizeof *k1);
    k2 = sn_malloc(a, n * sizeof *k2);
    copy = sn_malloc(a, n * sizeof *copy);
    if (k1 == NULL || k2 == NULL || copy == NULL) {
        sn_free(a, k1);
        sn_free(a, k2);
        sn_free(a, copy);
        return SEQNET_ENOMEM;
    }
    for (i = 0; i < n; i++) {
        const uint8_t *p = (const uint8_t *)refs[i].s;
        uint64_t key = 0;
        for (j = 0; j < 8; j++)
            key = key << 8 | (j < refs[i].len ? p[j] : 0u);
        k1[i].key = key;
        k1[i].idx = (uint32_t)i;
        k1[i].pad = 0;
    }
    src = k1;
    dst = k2;
    for (shift = 0; shift < 64; shift += 11) {
        size_t sum = 0;
        memset(count, 0, sizeof count);
        for (i = 0; i < n; i++)
            count[(src[i].key >> shift) & 2047u]++;
        for (i = 0; i < 2048; i++) {
            size_t c = count[i];
            count[i] = sum;
            sum += c;
        }
        for (i = 0; i < n; i++)
            dst[count[(src[i].key >> shift) & 2047u]++] = src[i];
        {
            term_key *t = src;
            src = dst;
            dst = t;
        }
    }
    memcpy(copy, refs, n * sizeof *refs);
    for (i = 0; i < n; i++)
        refs[i] = copy[src[i].idx];
    for (i = 0; i < n; i = j) { /* runs sharing their first 8 bytes */
        for (j = i + 1; j < n && src[j].key == src[i].key; j++)
            ;
        if (j - i > 1)
            qsort(refs + i, j - i, sizeof *refs, cmp_term);
    }
    sn_free(a, k1);
    sn_free(a, k2);
    sn_free(a, copy);
    return SEQNET_OK;
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
        double df = (double)st->cnt[i].df;
        r.s = sn_strtab_str(&st->terms, (uint32_t)i);
        r.len = st->terms.len[i];
        r.id = (uint32_t)i;
        r.tf = st->cnt[i].tf;
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
        rc = sort_terms(a, keep, n_keep);
        if (rc == SEQNET_OK)
            rc = sort_terms(a, drop, n_drop);
        if (rc == SEQNET_OK)
            rc = sn_strtab_reserve(vocab, n_keep, 1);
    }
    for (i = 0; i < n_keep && rc == SEQNET_OK; i++) {
        rc = sn_strtab_intern(vocab, (const uint8_t *)keep[i].s, keep[i].len,
                              sn_hash_bytes((const uint8_t *)keep[i].s, keep[i].len), &id, NULL);
        col_of[keep[i].id] = (int32_t)id;
    }
    for (i = 0; i < n_drop && rc == SEQNET_OK; i++) /* only handed back: no index */
        rc = sn_strtab_append(pruned, (const uint8_t *)drop[i].s, drop[i].len);
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

/* The rows of fit_transform from the provisional rows, in place in the
 * blocks handed to the caller. A row's columns are distinct, so instead of
 * sorting them they are marked in a bitmap over the columns (with a
 * summary bit per 64-bit word) and their counts parked in a per-column
 * array; walking the set bits in order then writes the row sorted. The row
 * is read whole before it is written from its new start, which pruned
 * entries of earlier rows may have moved left (never right). */
static int build_rows(seqnet_vectorizer *vec, fit_state *st, const int32_t *col_of, size_t n_cols,
                      size_t n_rows, sn_csr *m)
{
    const sn_alloc *a = &vec->obj.alloc;
    size_t *indptr = st->out.indptr, r, j, b, o = 0, cap;
    sn_colset cset = {NULL, NULL, 0};
    uint32_t *cnt_col = NULL;
    const uint32_t *prov;
    int32_t *indices;
    double *data;
    int rc, finish = vec->kind != SEQNET_VECTORIZER_COUNT || vec->binary;

    /* an empty result still hands over (one-element) blocks */
    if ((rc = sn_csr_reserve(a, &st->out, 1)) != SEQNET_OK)
        return rc;
    prov = (const uint32_t *)st->out.indices;
    indices = st->out.indices;
    data = st->out.data;
    rc = sn_colset_init(a, &cset, n_cols);
    cnt_col = sn_malloc(a, (n_cols > 0 ? n_cols : 1) * sizeof *cnt_col);
    if (cnt_col == NULL)
        rc = SEQNET_ENOMEM;
    for (r = 0, b = 0; r < n_rows && rc == SEQNET_OK; r++) {
        size_t e = indptr[r + 1], k;
        for (j = b; j < e; j++) {
            int32_t col = col_of[prov[j]];
            if (col >= 0) {
                sn_colset_mark(&cset, (size_t)col);
                cnt_col[col] = (uint32_t)data[j];
            }
        }
        b = e;
        k = sn_colset_take(&cset, indices + o);
        for (j = 0; j < k; j++)
            data[o + j] = (double)cnt_col[indices[o + j]];
        if (finish)
            rc = sn_vectorizer_finish_row(vec, indices + o, data + o, k);
        o += k;
        indptr[r + 1] = o;
    }
    sn_colset_free(a, &cset);
    sn_free(a, cnt_col);
    if (rc != SEQNET_OK)
        return rc;
    /* give back what pruning and the doubling left unused (a shrink that
     * fails is reported like any failed allocation: the hooks said no) */
    cap = st->out.cap_nnz_i < st->out.cap_nnz_d ? st->out.cap_nnz_i : st->out.cap_nnz_d;
    if (cap - o > cap / 8) {
        size_t keep = o > 0 ? o : 1;
        void *p = sn_export_realloc(a, st->out.indices, keep * sizeof *st->out.indices);
        if (p == NULL)
            return SEQNET_ENOMEM;
        st->out.indices = p;
        st->out.cap_nnz_i = keep;
        if ((p = sn_export_realloc(a, st->out.data, keep * sizeof *st->out.data)) == NULL)
            return SEQNET_ENOMEM;
        st->out.data = p;
        st->out.cap_nnz_d = keep;
    }
    st->out.n_rows = n_rows;
    st->out.nnz = o;
    *m = st->out;
    memset(&st->out, 0, sizeof st->out);
    return SEQNET_OK;
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
    if (n_texts >= UINT32_MAX)
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
            df_col[col_of[i]] = st.cnt[i].df;
    if (rc == SEQNET_OK)
        rc = compute_idf(vec, df_col, vocab.n, n_texts, &idf);
    if (rc == SEQNET_OK && m != NULL) {
        double *old_idf = vec->idf;
        vec->idf = idf; /* finish_row reads vec->idf */
        rc = build_rows(vec, &st, col_of, vocab.n, n_texts, m);
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
