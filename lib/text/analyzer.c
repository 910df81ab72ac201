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

int sn_analyze(const sn_analyzer *an, sn_scratch *sc, const uint8_t *text, size_t len,
               sn_feature_fn emit, void *user)
{
    const uint8_t *s;
    size_t n, i, k, gram;
    int rc;

    rc = sn_text_normalize(sc, text, len, an->lower, an->strict, &s, &n);
    if (rc != SEQNET_OK)
        return rc;
    rc = word_runs(an, sc, s, n);
    if (rc != SEQNET_OK)
        return rc;
    if (an->ngram_min <= 1) {
        if ((rc = sn_hash_spans(sc, s, an->prefetch)) != SEQNET_OK)
            return rc;
        for (i = 0; i < sc->n_spans; i++) {
            rc = emit(user, s + sc->spans[i].off, sc->spans[i].len, sc->hashes[i]);
            if (rc != SEQNET_OK)
                return rc;
        }
    }
    /* n-grams: tokens joined by one space, all windows left to right, for
     * each n in turn. The joined string is built in sc->aux and handed to
     * `emit` at once (emit copies what it keeps). */
    for (gram = an->ngram_min < 2 ? 2 : (size_t)an->ngram_min;
         gram <= (size_t)an->ngram_max && gram <= sc->n_spans; gram++) {
        for (i = 0; i + gram <= sc->n_spans; i++) {
            size_t total = gram - 1, o = 0;
            for (k = 0; k < gram; k++)
                total += sc->spans[i + k].len;
            rc = sn_grow(sc->alloc, (void **)&sc->aux, &sc->aux_cap, total + 1, 1);
            if (rc != SEQNET_OK)
                return rc;
            for (k = 0; k < gram; k++) {
                if (k > 0)
                    sc->aux[o++] = ' ';
                memcpy(sc->aux + o, s + sc->spans[i + k].off, sc->spans[i + k].len);
                o += sc->spans[i + k].len;
            }
            rc = emit(user, sc->aux, o, sn_hash_bytes(sc->aux, o));
            if (rc != SEQNET_OK)
                return rc;
        }
    }
    return SEQNET_OK;
}
