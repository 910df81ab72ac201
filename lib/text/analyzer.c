/*
 * lib/text/analyzer.c -- scikit-learn's default word analyzer:
 * lowercase, re.findall(r"(?u)\b\w\w+\b"), stop words, word n-grams.
 *
 * The token pattern is implemented as "every maximal run of at least two
 * word characters" (\w = str.isalnum() or '_'); the two are equal for all
 * strings (the \b anchors sit exactly at run ends, and \w\w+ is greedy), so
 * no regular-expression engine is needed. Stop words are removed after
 * tokenizing and before n-grams, so n-grams may span a removed word, as in
 * scikit-learn.
 */
#include "text/text_internal.h"

/* n-grams made, hashed and prefetched at a time before they are looked up */
#define SN_GRAM_BLOCK 64

/* 1 for [0-9A-Za-z_]: the ASCII part of \w, checked without utf8proc. */
static const uint8_t ascii_word[128] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
};

#if defined(__SSE2__)
#include <emmintrin.h>

/* Bit i set when byte i of the 16 (all < 0x80) is one of [0-9A-Za-z_]:
 * signed compares are exact below 0x80. */
static inline unsigned word_bits16(__m128i x)
{
    __m128i d = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)), _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
    __m128i u = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('A' - 1)), _mm_cmplt_epi8(x, _mm_set1_epi8('Z' + 1)));
    __m128i l = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('a' - 1)), _mm_cmplt_epi8(x, _mm_set1_epi8('z' + 1)));
    __m128i us = _mm_cmpeq_epi8(x, _mm_set1_epi8('_'));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(d, u), _mm_or_si128(l, us)));
}
#endif

/* Bit i set when byte i of the 8 (all < 0x80) is one of [0-9A-Za-z_]:
 * per-byte range tests by addition (x + 0x80 - c sets bit 7 iff x >= c;
 * nothing carries across bytes below 0x80), then the eight bit 7s gathered
 * into one byte by a multiply whose partial products never overlap. */
static unsigned word_bits8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, hi = 0x8080808080808080ull;
#define SN_GE(c) (w + (0x80u - (c)) * ones)
#define SN_GT(c) (w + (0x7Fu - (c)) * ones)
    uint64_t m = (SN_GE('0') & ~SN_GT('9')) | (SN_GE('A') & ~SN_GT('Z')) | (SN_GE('a') & ~SN_GT('z')) |
                 ~((w ^ ('_' * ones)) + 0x7F * ones);
#undef SN_GE
#undef SN_GT
    m &= hi;
    return (unsigned)(((m >> 7) * 0x0102040810204080ull) >> 56);
}

/* Lowercase (when `lower`) m <= 64 bytes of ASCII src into dst and return
 * their word bits; sets *non_ascii (and stops) at a byte >= 0x80. */
static uint64_t lower_block(const uint8_t *src, uint8_t *dst, size_t m, int lower, int *non_ascii)
{
    uint64_t w = 0;
    size_t i = 0;
#if defined(__SSE2__)
    for (; i + 16 <= m; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
        if (_mm_movemask_epi8(x) != 0) {
            *non_ascii = 1;
            return 0;
        }
        if (lower) {
            __m128i up = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('A' - 1)),
                                       _mm_cmplt_epi8(x, _mm_set1_epi8('Z' + 1)));
            x = _mm_add_epi8(x, _mm_and_si128(up, _mm_set1_epi8(0x20)));
        }
        _mm_storeu_si128((__m128i *)(void *)(dst + i), x);
        w |= (uint64_t)word_bits16(x) << i;
    }
#endif
    for (; i + 8 <= m; i += 8) {
        const uint64_t hi = 0x8080808080808080ull;
        uint64_t x;
        memcpy(&x, src + i, 8);
        if (x & hi) {
            *non_ascii = 1;
            return 0;
        }
        if (lower)
            x = sn_ascii_lower8(x);
        memcpy(dst + i, &x, 8);
        w |= (uint64_t)word_bits8(x) << i;
    }
    for (; i < m; i++) {
        uint8_t c = src[i];
        if (c >= 0x80) {
            *non_ascii = 1;
            return 0;
        }
        if (lower && c >= 'A' && c <= 'Z')
            c = (uint8_t)(c + 32);
        dst[i] = c;
        w |= (uint64_t)ascii_word[c] << i;
    }
    return w;
}

/* The word bits of m <= 64 bytes at s[pos..] of valid UTF-8 s[0..n): the
 * bytes of a code point share its \w class. *cont carries the class of the
 * code point whose continuation bytes start the next block. */
static uint64_t utf8_block(const uint8_t *s, size_t n, size_t pos, size_t m, int *cont)
{
    uint64_t w = 0;
    size_t i = 0;
    while (i < m) {
#if defined(__SSE2__)
        if (i + 16 <= m) {
            __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + pos + i));
            if (_mm_movemask_epi8(x) == 0) {
                w |= (uint64_t)word_bits16(x) << i;
                i += 16;
                continue;
            }
        }
#endif
        {
            uint8_t b = s[pos + i];
            int is_word;
            if (b < 0x80) {
                is_word = ascii_word[b];
            } else if ((b & 0xC0) == 0x80) {
                is_word = *cont;
            } else {
                size_t at = pos + i;
                uint32_t cp;
                (void)sn_utf8_next(s, n, &at, &cp); /* s is valid: always succeeds */
                is_word = sn_uni_is_word(cp);
                *cont = is_word;
            }
            w |= (uint64_t)is_word << i;
            i++;
        }
    }
    return w;
}

/* sn_analyze_words in one pass over blocks of 64 bytes: ASCII text is
 * lowercased into sc->norm while its word bits are made; text with any
 * byte >= 0x80 is normalized first (sn_text_normalize) and its bits made
 * per code point where a 16-byte chunk is not ASCII. Runs of [\w] come
 * from the bit edges; runs of two or more code points that are not stop
 * words are kept, hashed (when `hash` or for the stop-word check) and
 * their slots prefetched. str.lower() of ASCII is the ASCII mapping and
 * \w is the ASCII table there, so both paths give the general features. */
int sn_analyze_words(const sn_analyzer *an, sn_scratch *sc, const uint8_t *text, size_t len, int hash,
                     const uint8_t **base)
{
    const uint8_t *s;
    sn_span *spans;
    uint64_t *hashes;
    size_t i, k, n_runs, n = len, cap_spans, pos, start = 0;
    uint64_t in = 0;
    int rc, non_ascii = 0, cont = 0;
    const sn_strtab *stop = an->stop != NULL && an->stop->n > 0 ? an->stop : NULL;

    sc->n_spans = 0;
    sc->padded = 0;
    if (len > (SIZE_MAX - 2 - SN_TEXT_PAD) / 2)
        return SEQNET_ETOOBIG;
    cap_spans = len / 2 + 2;
    if ((rc = sn_grow(sc->alloc, (void **)&sc->norm, &sc->norm_cap, len + 1 + SN_TEXT_PAD, 1)) != SEQNET_OK ||
        (rc = sn_grow(sc->alloc, (void **)&sc->spans, &sc->spans_cap, cap_spans, sizeof *sc->spans)) != SEQNET_OK)
        return rc;
    spans = sc->spans;
    n_runs = 0;
    for (pos = 0; pos < len; pos += 64) {
        size_t m = len - pos < 64 ? len - pos : 64;
        uint64_t w = lower_block(text + pos, sc->norm + pos, m, an->lower, &non_ascii);
        if (non_ascii)
            break;
        n_runs = sn_block_runs(w, pos, &in, &start, spans, n_runs, 2);
    }
    if (!non_ascii) {
        s = sc->norm;
        memset(sc->norm + len, 0, 1 + SN_TEXT_PAD);
    } else {
        rc = sn_text_normalize(sc, text, len, an->lower, an->strict, &s, &n);
        if (rc != SEQNET_OK)
            return rc;
        /* s is sc->norm, padded: normalize returns the text itself only
         * when it is all ASCII */
        if (n > (SIZE_MAX - 2) / 2)
            return SEQNET_ETOOBIG;
        if ((rc = sn_grow(sc->alloc, (void **)&sc->spans, &sc->spans_cap, n / 2 + 2, sizeof *sc->spans)) !=
            SEQNET_OK)
            return rc;
        spans = sc->spans;
        n_runs = 0;
        in = 0;
        for (pos = 0; pos < n; pos += 64) {
            size_t m = n - pos < 64 ? n - pos : 64;
            n_runs = sn_block_runs(utf8_block(s, n, pos, m, &cont), pos, &in, &start, spans, n_runs, 2);
        }
    }
    if (in && n - start >= 2) {
        spans[n_runs].off = start;
        spans[n_runs].len = n - start;
        n_runs++;
    }
    sc->padded = 1;
    *base = s;
    if (!non_ascii && !hash && stop == NULL) { /* the runs are the words */
        sc->n_spans = n_runs;
        return SEQNET_OK;
    }
    if ((rc = sn_grow(sc->alloc, (void **)&sc->hashes, &sc->hashes_cap, n_runs + 1, sizeof *sc->hashes)) !=
        SEQNET_OK)
        return rc;
    hashes = sc->hashes;
    /* keep runs (all of two bytes or more) of two or more code points, not
     * stop words; hash and prefetch each (s is padded: keys of up to 16
     * bytes are two masked loads) */
    for (i = 0, k = 0; i < n_runs; i++) {
        sn_span sp = spans[i];
        uint64_t h = 0;
        uint32_t id;
        if (non_ascii && sp.len <= 4) { /* one code point is up to 4 bytes */
            size_t j, cps = 0;
            for (j = 0; j < sp.len; j++)
                cps += (s[sp.off + j] & 0xC0) != 0x80;
            if (cps < 2)
                continue;
        }
        if (hash || stop != NULL) {
            if (sp.len <= 16) {
                uint64_t head, tail;
                sn_key16(s + sp.off, sp.len, 1, &head, &tail);
                h = sn_hash16(head, tail, sp.len);
            } else {
                h = sn_hash_bytes(s + sp.off, sp.len);
            }
            if (stop != NULL && sn_strtab_find(stop, s + sp.off, sp.len, h, &id))
                continue;
            if (an->prefetch != NULL)
                sn_strtab_prefetch(an->prefetch, h);
        }
        spans[k] = sp;
        hashes[k] = h;
        k++;
    }
    sc->n_spans = k;
    return SEQNET_OK;
}

int sn_analyze(const sn_analyzer *an, sn_scratch *sc, const uint8_t *text, size_t len,
               sn_feature_fn emit, void *user)
{
    const uint8_t *s;
    size_t i, k, gram;
    int rc;

    rc = sn_analyze_words(an, sc, text, len, an->ngram_min <= 1, &s);
    if (rc != SEQNET_OK)
        return rc;
    if (an->ngram_min <= 1) {
        for (i = 0; i < sc->n_spans; i++) {
            rc = emit(user, s + sc->spans[i].off, sc->spans[i].len, sc->hashes[i]);
            if (rc != SEQNET_OK)
                return rc;
        }
    }
    /* n-grams: tokens joined by one space, all windows left to right, for
     * each n in turn. The grams are made in blocks of SN_GRAM_BLOCK: joined
     * back to back in sc->aux and hashed (prefetching their vocabulary
     * slots, so the lookups that follow rarely miss the cache), then handed
     * to `emit` in order (emit copies what it keeps). Blocks keep aux to
     * the size of SN_GRAM_BLOCK grams, however long the text or large n. */
    for (gram = an->ngram_min < 2 ? 2 : (size_t)an->ngram_min;
         gram <= (size_t)an->ngram_max && gram <= sc->n_spans; gram++) {
        size_t n_grams = sc->n_spans - gram + 1, first, last;
        if ((rc = sn_grow(sc->alloc, (void **)&sc->gram_end, &sc->gram_end_cap, SN_GRAM_BLOCK,
                          sizeof *sc->gram_end)) != SEQNET_OK ||
            (rc = sn_grow(sc->alloc, (void **)&sc->gram_hash, &sc->gram_hash_cap, SN_GRAM_BLOCK,
                          sizeof *sc->gram_hash)) != SEQNET_OK)
            return rc;
        for (first = 0; first < n_grams; first = last) {
            size_t total = 0, o = 0, start;
            last = n_grams - first < SN_GRAM_BLOCK ? n_grams : first + SN_GRAM_BLOCK;
            /* the block's grams span tokens first .. last + gram - 2; each
             * token is in at most `gram` of them, with a separator after */
            for (i = first; i < last + gram - 1; i++) {
                if (total > SIZE_MAX / gram - sc->spans[i].len - 1)
                    return SEQNET_ETOOBIG;
                total += sc->spans[i].len + 1;
            }
            if ((rc = sn_grow(sc->alloc, (void **)&sc->aux, &sc->aux_cap, total * gram + 1, 1)) !=
                SEQNET_OK)
                return rc;
            for (i = first; i < last; i++) {
                start = o;
                for (k = 0; k < gram; k++) {
                    if (k > 0)
                        sc->aux[o++] = ' ';
                    memcpy(sc->aux + o, s + sc->spans[i + k].off, sc->spans[i + k].len);
                    o += sc->spans[i + k].len;
                }
                sc->gram_end[i - first] = o;
                sc->gram_hash[i - first] = sn_hash_bytes(sc->aux + start, o - start);
                if (an->prefetch != NULL)
                    sn_strtab_prefetch(an->prefetch, sc->gram_hash[i - first]);
            }
            for (i = first, start = 0; i < last; i++) {
                rc = emit(user, sc->aux + start, sc->gram_end[i - first] - start,
                          sc->gram_hash[i - first]);
                if (rc != SEQNET_OK)
                    return rc;
                start = sc->gram_end[i - first];
            }
        }
    }
    return SEQNET_OK;
}
