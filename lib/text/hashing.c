/*
 * lib/text/hashing.c -- scikit-learn's HashingVectorizer: MurmurHash3
 * (x86, 32-bit, seed 0) of each feature's UTF-8 bytes, read as a signed
 * int32 h; column = |h| mod n_features; with alternate_sign the value is
 * +1 for h >= 0 and -1 otherwise. Per document the values of equal columns
 * are summed (scipy's sum_duplicates: cancelled entries stay as explicit
 * zeros), then binary sets every stored value to 1, then the row is
 * normalised.
 */
#include <stdlib.h>

#include "text/vectorizer_impl.h"

static uint32_t rotl32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

/* MurmurHash3's finalizer. */
static inline uint32_t fmix32(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    return h ^ (h >> 16);
}

/* MurmurHash3_x86_32 (Austin Appleby's public-domain algorithm), blocks
 * read little-endian whatever the host order, as scikit-learn's x86 build. */
uint32_t sn_murmur3_32(const uint8_t *data, size_t len, uint32_t seed)
{
    const uint32_t c1 = 0xcc9e2d51u, c2 = 0x1b873593u;
    uint32_t h = seed, k;
    size_t i, nblocks = len / 4;
    const uint8_t *tail = data + nblocks * 4;

    for (i = 0; i < nblocks; i++) {
        const uint8_t *b = data + 4 * i;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        memcpy(&k, b, 4);
#else
        k = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
#endif
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
        h = rotl32(h, 13);
        h = h * 5u + 0xe6546b64u;
    }
    k = 0;
    switch (len & 3u) {
    case 3: k ^= (uint32_t)tail[2] << 16; /* fall through */
    case 2: k ^= (uint32_t)tail[1] << 8;  /* fall through */
    case 1:
        k ^= tail[0];
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
        break;
    default: break;
    }
    return fmix32(h ^ (uint32_t)len);
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
/* sn_murmur3_32 (seed 0) of p[0..n) for n <= 16 when p[0..16) may be read
 * (a padded buffer): the four block rounds are always computed and kept
 * only for the blocks that exist, and the tail is a masked load, so word
 * lengths cost no mispredicted branches. Same value as sn_murmur3_32. */
static uint32_t murmur3_16_padded(const uint8_t *p, size_t n)
{
    static const uint32_t tail_mask[4] = {0u, 0xFFu, 0xFFFFu, 0xFFFFFFu};
    const uint32_t c1 = 0xcc9e2d51u, c2 = 0x1b873593u;
    uint32_t w[4], h = 0, k;
    size_t nblocks = n / 4, i;
    memcpy(w, p, 16);
    for (i = 0; i < 4; i++) {
        uint32_t g;
        k = w[i] * c1;
        k = rotl32(k, 15) * c2;
        g = rotl32(h ^ k, 13) * 5u + 0xe6546b64u;
        h = i < nblocks ? g : h;
    }
    k = (nblocks < 4 ? w[nblocks < 4 ? nblocks : 3] : 0u) & tail_mask[n & 3u];
    k = rotl32(k * c1, 15) * c2;
    h ^= (n & 3u) ? k : 0u;
    return fmix32(h ^ (uint32_t)n);
}
#endif

/* Per document, each feature becomes one entry (column << 32 | negative):
 * the row is then sorted by column (sn_sort_keys) and equal columns are
 * summed in order. */
typedef struct hash_state {
    const sn_alloc *alloc;
    int64_t n_features;
    int alternate_sign;
    uint64_t *keys, *tmp;
    size_t k, cap_keys, cap_tmp;
} hash_state;

static uint64_t hash_key(const hash_state *st, const uint8_t *s, size_t n, int padded)
{
    uint32_t u;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (padded && n <= 16)
        u = murmur3_16_padded(s, n);
    else
#endif
        u = sn_murmur3_32(s, n, 0);
    (void)padded;
    uint32_t col;
    /* |INT32_MIN| does not fit an int32; scikit-learn defines its column as
     * (2^31 - 1 - (n_features - 1)) mod n_features, which equals 2^31 mod
     * n_features. Everything else: |h| mod n_features. */
    uint32_t nf = (uint32_t)st->n_features; /* in [1, 2^31 - 1) */
    if (u == 0x80000000u)
        col = (uint32_t)((2147483647 - (st->n_features - 1)) % st->n_features);
    else if ((nf & (nf - 1u)) == 0) /* a power of two: no division */
        col = ((u & 0x80000000u) ? ~u + 1u : u) & (nf - 1u);
    else
        col = ((u & 0x80000000u) ? ~u + 1u : u) % nf;
    return (uint64_t)col << 32 | (st->alternate_sign && (u & 0x80000000u) ? 1u : 0u);
}

static int reserve_keys(hash_state *st, size_t need)
{
    int rc = sn_grow(st->alloc, (void **)&st->keys, &st->cap_keys, need, sizeof *st->keys);
    if (rc == SEQNET_OK)
        rc = sn_grow(st->alloc, (void **)&st->tmp, &st->cap_tmp, need, sizeof *st->tmp);
    return rc;
}

static int emit_hash(void *user, const uint8_t *s, size_t n, uint64_t table_hash)
{
    hash_state *st = user;
    int rc;
    (void)table_hash; /* the hashing kind uses MurmurHash3, not the table hash */
    if (st->k == st->cap_keys || st->k == st->cap_tmp)
        if ((rc = reserve_keys(st, st->k + 1)) != SEQNET_OK)
            return rc;
    st->keys[st->k++] = hash_key(st, s, n, 0);
    return SEQNET_OK;
}

int sn_hashing_transform(seqnet_vectorizer *vec, const char *const *texts, const size_t *lengths,
                         size_t n_texts, sn_csr *m)
{
    const sn_alloc *a = &vec->obj.alloc;
    sn_scratch sc;
    sn_analyzer an;
    hash_state st;
    size_t t, i, total = 0;
    sn_colset cset = {NULL, NULL, 0};
    int32_t *sum_col = NULL;
    unsigned bits;
    int rc = SEQNET_OK, words_only = vec->ngram_min == 1 && vec->ngram_max == 1;

    if (n_texts == 0)
        return sn_error(&vec->obj, SEQNET_EEMPTY, "Cannot vectorize empty sequence.");
    if (vec->ngram_min > vec->ngram_max)
        return sn_error(&vec->obj, SEQNET_EINVAL, "ngram_min > ngram_max");
    memset(&st, 0, sizeof st);
    st.alloc = a;
    st.n_features = vec->n_features;
    st.alternate_sign = vec->alternate_sign;
    bits = sn_bits_for((size_t)vec->n_features);
    /* Rows are ordered by a bitmap walk (below) when the texts are large
     * enough to pay for its tables (a short message is sorted instead: it
     * must cost what the message costs), and n_features is at most 2^22
     * (16 MiB of sums); otherwise by sorting. */
    for (t = 0; t < n_texts; t++) {
        size_t len;
        (void)sn_text_at(texts, lengths, t, &len);
        total += len;
    }
    if (vec->n_features <= ((int64_t)1 << 22) && total >= (size_t)vec->n_features / 4) {
        size_t nf = (size_t)vec->n_features;
        if ((rc = sn_colset_init(a, &cset, nf)) != SEQNET_OK)
            return rc;
        if ((sum_col = sn_calloc(a, nf, sizeof *sum_col)) == NULL) {
            sn_colset_free(a, &cset);
            return SEQNET_ENOMEM;
        }
    }
    sn_scratch_init(&sc, a);
    sn_vectorizer_analyzer(vec, &an);
    for (t = 0; t < n_texts && rc == SEQNET_OK; t++) {
        size_t len, k = 0;
        const uint8_t *text = sn_text_at(texts, lengths, t, &len), *base;
        st.k = 0;
        if (words_only) {
            /* No callback per token, and no table hash. */
            rc = sn_analyze_words(&an, &sc, text, len, 0, &base);
            if (rc == SEQNET_OK)
                rc = reserve_keys(&st, sc.n_spans + 1);
            for (i = 0; i < sc.n_spans && rc == SEQNET_OK; i++) {
                st.keys[i] = hash_key(&st, base + sc.spans[i].off, sc.spans[i].len, sc.padded);
#if defined(__GNUC__)
                /* the bitmap walk's random accesses: start them now */
                if (sum_col != NULL)
                    __builtin_prefetch(&sum_col[st.keys[i] >> 32]);
#endif
            }
            st.k = rc == SEQNET_OK ? sc.n_spans : 0;
        } else {
            rc = sn_analyze(&an, &sc, text, len, emit_hash, &st);
        }
        if (rc == SEQNET_EUTF8) {
            vec->have_bad = 1;
            rc = sn_text_utf8_error(&vec->obj, t, sc.bad_offset, &vec->bad_text, &vec->bad_offset);
        }
        if (rc != SEQNET_OK)
            break;
        if ((rc = sn_csr_reserve(a, m, m->nnz + st.k)) != SEQNET_OK)
            break;
        if (sum_col != NULL && st.k < INT32_MAX) {
            /* Mark the columns in a two-level bitmap and sum their values
             * in sum_col, then walk the set bits, clearing them and the
             * sums: the row comes out in column order with duplicates
             * summed (a sum of 0 stays, as an explicit zero). */
            int32_t *cols = m->indices + m->nnz;
            double *vals = m->data + m->nnz;
            for (i = 0; i < st.k; i++) { /* no branch: sum_col is all 0 between rows */
                size_t c = (size_t)(st.keys[i] >> 32);
                sum_col[c] += 1 - 2 * (int32_t)(st.keys[i] & 1u);
                sn_colset_mark(&cset, c);
            }
            k = sn_colset_take(&cset, cols);
            for (i = 0; i < k; i++) {
                vals[i] = (double)sum_col[cols[i]];
                sum_col[cols[i]] = 0;
            }
        } else {
            sn_sort_keys(st.keys, st.tmp, st.k, bits);
            for (i = 0; i < st.k; i++) { /* sum duplicates, keep zeros */
                int32_t col = (int32_t)(st.keys[i] >> 32);
                double v = (st.keys[i] & 1u) ? -1.0 : 1.0;
                if (k > 0 && m->indices[m->nnz + k - 1] == col) {
                    m->data[m->nnz + k - 1] += v;
                } else {
                    m->indices[m->nnz + k] = col;
                    m->data[m->nnz + k] = v;
                    k++;
                }
            }
        }
        rc = sn_vectorizer_finish_row(vec, m->indices + m->nnz, m->data + m->nnz, k);
        if (rc == SEQNET_OK)
            m->nnz += k;
        if (rc == SEQNET_OK)
            rc = sn_csr_end_row(a, m);
    }
    sn_free(a, st.keys);
    sn_free(a, st.tmp);
    sn_colset_free(a, &cset);
    sn_free(a, sum_col);
    sn_scratch_free(&sc);
    return rc;
}
