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
        k = (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
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
    h ^= (uint32_t)len;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

typedef struct hash_state {
    const sn_alloc *alloc;
    int64_t n_features;
    int alternate_sign;
    int32_t *cols;
    double *vals;
    size_t k, cap_c, cap_v;
} hash_state;

static int emit_hash(void *user, const uint8_t *s, size_t n, uint64_t table_hash)
{
    hash_state *st = user;
    uint32_t u = sn_murmur3_32(s, n, 0);
    int32_t col;
    double v = 1.0;
    int rc;
    (void)table_hash; /* the hashing kind uses MurmurHash3, not the table hash */
    /* |INT32_MIN| does not fit an int32; scikit-learn defines its column as
     * (2^31 - 1 - (n_features - 1)) mod n_features, which equals 2^31 mod
     * n_features. Everything else: |h| mod n_features. */
    if (u == 0x80000000u)
        col = (int32_t)((2147483647 - (st->n_features - 1)) % st->n_features);
    else if (u & 0x80000000u)
        col = (int32_t)((int64_t)(~u + 1u) % st->n_features);
    else
        col = (int32_t)((int64_t)u % st->n_features);
    if (st->alternate_sign && (u & 0x80000000u))
        v = -1.0;
    if (st->k == st->cap_c || st->k == st->cap_v) {
        if ((rc = sn_grow(st->alloc, (void **)&st->cols, &st->cap_c, st->k + 1, sizeof *st->cols)) != SEQNET_OK)
            return rc;
        if ((rc = sn_grow(st->alloc, (void **)&st->vals, &st->cap_v, st->k + 1, sizeof *st->vals)) != SEQNET_OK)
            return rc;
    }
    st->cols[st->k] = col;
    st->vals[st->k] = v;
    st->k++;
    return SEQNET_OK;
}

int sn_hashing_transform(seqnet_vectorizer *vec, const char *const *texts, const size_t *lengths,
                         size_t n_texts, sn_csr *m)
{
    const sn_alloc *a = &vec->obj.alloc;
    sn_scratch sc;
    sn_analyzer an;
    hash_state st;
    size_t t, i;
    int rc = SEQNET_OK;

    if (n_texts == 0)
        return sn_error(&vec->obj, SEQNET_EEMPTY, "Cannot vectorize empty sequence.");
    if (vec->ngram_min > vec->ngram_max)
        return sn_error(&vec->obj, SEQNET_EINVAL, "ngram_min > ngram_max");
    memset(&st, 0, sizeof st);
    st.alloc = a;
    st.n_features = vec->n_features;
    st.alternate_sign = vec->alternate_sign;
    sn_scratch_init(&sc, a);
    sn_vectorizer_analyzer(vec, &an);
    for (t = 0; t < n_texts && rc == SEQNET_OK; t++) {
        size_t len, k = 0;
        const uint8_t *text = sn_text_at(texts, lengths, t, &len);
        st.k = 0;
        rc = sn_analyze(&an, &sc, text, len, emit_hash, &st);
        if (rc == SEQNET_EUTF8) {
            vec->have_bad = 1;
            rc = sn_text_utf8_error(&vec->obj, t, sc.bad_offset, &vec->bad_text, &vec->bad_offset);
        }
        if (rc != SEQNET_OK)
            break;
        sn_sort_row(st.cols, st.vals, st.k);
        for (i = 0; i < st.k; i++) { /* sum duplicates, keep zeros */
            if (k > 0 && st.cols[k - 1] == st.cols[i]) {
                st.vals[k - 1] += st.vals[i];
            } else {
                st.cols[k] = st.cols[i];
                st.vals[k] = st.vals[i];
                k++;
            }
        }
        rc = sn_vectorizer_finish_row(vec, st.cols, st.vals, k);
        for (i = 0; i < k && rc == SEQNET_OK; i++)
            rc = sn_csr_push(a, m, st.cols[i], st.vals[i]);
        if (rc == SEQNET_OK)
            rc = sn_csr_end_row(a, m);
    }
    sn_free(a, st.cols);
    sn_free(a, st.vals);
    sn_scratch_free(&sc);
    return rc;
}
