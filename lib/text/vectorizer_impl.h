/*
 * lib/text/vectorizer_impl.h -- the vectorizer's private layout, shared by
 * vectorizer.c (settings, fit, transform), hashing.c and vectorizer_io.c.
 */
#ifndef SN_VECTORIZER_IMPL_H
#define SN_VECTORIZER_IMPL_H

#include "text/text_internal.h"

typedef struct sn_df_bound {
    int is_fraction;
    double fraction;
    int64_t count;
} sn_df_bound;

struct seqnet_vectorizer {
    sn_object obj;
    int32_t kind;
    /* settings */
    int lower, strict, binary, stop_english, use_idf, smooth_idf, sublinear, alternate_sign;
    int32_t norm;
    int64_t ngram_min, ngram_max, max_features, n_features;
    sn_df_bound max_df, min_df;
    sn_strtab custom_stop; /* the custom list as given */
    sn_strtab stop;        /* english + custom, what the analyzer checks */
    int fixed;             /* vocab was given by the user */
    /* fitted state */
    int fitted;
    uint64_t n_docs_fitted;
    sn_strtab vocab;       /* id = column */
    double *idf;           /* tfidf: one per column */
    sn_strtab pruned;      /* stop_words_, sorted */
    /* last EUTF8 location */
    int have_bad;
    size_t bad_text, bad_offset;
};

/* Growable CSR under construction. */
typedef struct sn_csr {
    size_t *indptr;
    int32_t *indices;
    double *data;
    size_t n_rows, nnz, cap_rows, cap_nnz_i, cap_nnz_d;
    int exported; /* the arrays are seqnet_free() blocks (sn_csr_reserve / end_row make them so) */
} sn_csr;

void sn_csr_free(const sn_alloc *a, sn_csr *m);
/* Room for nnz entries (the arrays are seqnet_free() blocks: exported). */
int sn_csr_reserve(const sn_alloc *a, sn_csr *m, size_t nnz);
int sn_csr_push(const sn_alloc *a, sn_csr *m, int32_t col, double v);
int sn_csr_end_row(const sn_alloc *a, sn_csr *m);
/* Apply binary / sublinear / idf / norm to the entries of one row. */
int sn_vectorizer_finish_row(seqnet_vectorizer *vec, int32_t *cols, double *vals, size_t k);
/* HashingVectorizer transform into a CSR (hashing.c). */
int sn_hashing_transform(seqnet_vectorizer *vec, const char *const *texts, const size_t *lengths,
                         size_t n_texts, sn_csr *m);
void sn_vectorizer_analyzer(const seqnet_vectorizer *vec, sn_analyzer *an);
int sn_vectorizer_create(const sn_alloc *a, int32_t kind, seqnet_vectorizer **out);
int sn_vectorizer_rebuild_stop(seqnet_vectorizer *vec);
/* Sort entries (column << 32 | payload) by column, columns < 2^col_bits;
 * tmp holds k entries. */
void sn_sort_keys(uint64_t *keys, uint64_t *tmp, size_t k, unsigned col_bits);
/* Bits needed for values below n (at least 1). */
unsigned sn_bits_for(size_t n);
/* Sort (col, value) pairs of a row by column. */
void sn_sort_row(int32_t *cols, double *vals, size_t k);

/* A set of column numbers below n, kept as a two-level bitmap (a summary
 * bit per 64-bit word), for ordering a row without sorting it: mark its
 * columns, then take them back in increasing order (which empties the
 * set). Rows of IMDB have a hundred-odd columns among a hundred thousand. */
typedef struct sn_colset {
    uint64_t *bits1, *bits2;
    size_t n_w2;
} sn_colset;

int sn_colset_init(const sn_alloc *a, sn_colset *set, size_t n);
void sn_colset_free(const sn_alloc *a, sn_colset *set);

static inline void sn_colset_mark(sn_colset *set, size_t c)
{
    set->bits1[c >> 6] |= 1ull << (c & 63);
    set->bits2[c >> 12] |= 1ull << ((c >> 6) & 63);
}

/* Write the marked columns in increasing order to cols, unmark them, and
 * return how many there were. */
static inline size_t sn_colset_take(sn_colset *set, int32_t *cols)
{
    size_t w2, k = 0;
    for (w2 = 0; w2 < set->n_w2; w2++) {
        uint64_t x2 = set->bits2[w2];
        if (x2 == 0)
            continue;
        set->bits2[w2] = 0;
        do {
            size_t w1 = w2 * 64 + sn_ctz64(x2);
            uint64_t x1 = set->bits1[w1];
            set->bits1[w1] = 0;
            x2 &= x2 - 1;
            do {
                cols[k++] = (int32_t)(w1 * 64 + sn_ctz64(x1));
                x1 &= x1 - 1;
            } while (x1 != 0);
        } while (x2 != 0);
    }
    return k;
}

#endif /* SN_VECTORIZER_IMPL_H */
