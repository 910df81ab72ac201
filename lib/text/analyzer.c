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

static int end_run(const sn_analyzer *an, sn_scratch *sc, const uint8_t *s, size_t start, size_t end,
                   size_t n_cps)
{
    uint32_t id;
    if (n_cps < 2)
        return SEQNET_OK;
    if (an->stop != NULL && an->stop->n > 0 &&
        sn_strtab_find(an->stop, s + start, end - start, sn_hash_bytes(s + start, end - start), &id))
        return SEQNET_OK;
    return sn_spans_push(sc, start, end - start);
}

/* Split valid UTF-8 `s` into word runs of >= 2 code points (sc->spans). */
static int word_runs(const sn_analyzer *an, sn_scratch *sc, const uint8_t *s, size_t n)
{
    size_t pos = 0, start = 0, n_cps = 0;
    int rc;
    sc->n_spans = 0;
    while (pos < n) {
        size_t here = pos;
        int is_word;
        uint8_t b = s[pos];
        if (b < 0x80) {
            is_word = ascii_word[b];
            pos++;
        } else {
            uint32_t cp;
            (void)sn_utf8_next(s, n, &pos, &cp); /* s is valid: always succeeds */
            is_word = sn_uni_is_word(cp);
        }
        if (is_word) {
            if (n_cps == 0)
                start = here;
            n_cps++;
        } else if (n_cps > 0) {
            rc = end_run(an, sc, s, start, here, n_cps);
            if (rc != SEQNET_OK)
                return rc;
            n_cps = 0;
        }
    }
    if (n_cps > 0)
        return end_run(an, sc, s, start, n, n_cps);
    return SEQNET_OK;
}

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

/* The runs of [0-9A-Za-z_] in ASCII s, 64 bytes at a time: as
 * sn_ascii_runs with the word table, the mask built 8 bytes per step. */
static size_t word_runs_ascii(const uint8_t *s, size_t n, sn_span *spans)
{
    size_t base, k = 0, start = 0;
    uint64_t in = 0;
    for (base = 0; base < n; base += 64) {
        size_t m = n - base < 64 ? n - base : 64, i = 0;
        uint64_t w = 0, edges;
        for (; i + 8 <= m; i += 8) {
            uint64_t x;
            memcpy(&x, s + base + i, 8);
            w |= (uint64_t)word_bits8(x) << i;
        }
        for (; i < m; i++)
            w |= (uint64_t)ascii_word[s[base + i]] << i;
        edges = w ^ ((w << 1) | in);
        while (edges != 0) {
            size_t p = base;
#if defined(__GNUC__)
            p += (size_t)__builtin_ctzll(edges);
#else
            {
                uint64_t e = edges;
                while (!(e & 1u)) {
                    e >>= 1;
                    p++;
                }
            }
#endif
            if (!in) {
                start = p;
            } else {
                spans[k].off = start;
                spans[k].len = p - start;
                k++;
            }
            in ^= 1u;
            edges &= edges - 1;
        }
    }
    if (in) {
        spans[k].off = start;
        spans[k].len = n - start;
        k++;
    }
    return k;
}

/* The pure-ASCII case: sn_ascii_lower, then the runs of [0-9A-Za-z_]
 * found 64 bytes at a time from a bit mask (sn_ascii_runs), then the runs
 * of two or more that are not stop words, hashed (when `hash` or for the
 * stop-word check) and their slots prefetched. ASCII text is valid UTF-8,
 * its str.lower() is the ASCII mapping and its \w the ASCII table, so the
 * features equal the general path's. Returns 0 (and the caller takes the
 * general path) when a byte >= 0x80 shows up. */
static int ascii_words(const sn_analyzer *an, sn_scratch *sc, const uint8_t *text, size_t len, int hash, int *rc)
{
    const uint8_t *s;
    sn_span *spans;
    uint64_t *hashes;
    size_t i, k = 0, n_runs, cap_spans = len / 2 + 2;
    const sn_strtab *stop = an->stop != NULL && an->stop->n > 0 ? an->stop : NULL;

    if ((*rc = sn_grow(sc->alloc, (void **)&sc->norm, &sc->norm_cap, len + 1, 1)) != SEQNET_OK ||
        (*rc = sn_grow(sc->alloc, (void **)&sc->spans, &sc->spans_cap, cap_spans, sizeof *sc->spans)) != SEQNET_OK ||
        (*rc = sn_grow(sc->alloc, (void **)&sc->hashes, &sc->hashes_cap, cap_spans, sizeof *sc->hashes)) != SEQNET_OK)
        return 1;
    if (!sn_ascii_lower(text, len, sc->norm, an->lower))
        return 0;
    s = sc->norm;
    spans = sc->spans;
    hashes = sc->hashes;
    n_runs = word_runs_ascii(s, len, spans);
    /* keep runs of two or more, not stop words; hash and prefetch each */
    for (i = 0; i < n_runs; i++) {
        sn_span sp = spans[i];
        uint64_t h;
        uint32_t id;
        if (sp.len < 2)
            continue;
        if (!hash && stop == NULL) {
            spans[k++] = sp;
            continue;
        }
        h = sn_hash_bytes(s + sp.off, sp.len);
        if (stop != NULL && sn_strtab_find(stop, s + sp.off, sp.len, h, &id))
            continue;
        if (an->prefetch != NULL)
            sn_strtab_prefetch(an->prefetch, h);
        spans[k] = sp;
        hashes[k] = h;
        k++;
    }
    sc->n_spans = k;
    *rc = SEQNET_OK;
    return 1;
}

int sn_analyze_words(const sn_analyzer *an, sn_scratch *sc, const uint8_t *text, size_t len, int hash,
                     const uint8_t **base)
{
    const uint8_t *s;
    size_t n;
    int rc;
    sc->n_spans = 0;
    if (ascii_words(an, sc, text, len, hash, &rc)) {
        *base = sc->norm;
        return rc;
    }
    sc->n_spans = 0;
    rc = sn_text_normalize(sc, text, len, an->lower, an->strict, &s, &n);
    if (rc != SEQNET_OK)
        return rc;
    *base = s;
    rc = word_runs(an, sc, s, n);
    if (rc == SEQNET_OK && hash)
        rc = sn_hash_spans(sc, s, an->prefetch);
    return rc;
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
