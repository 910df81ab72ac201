/*
 * lib/text/utf8.c -- UTF-8 decoding with Python's replacement rule,
 * normalisation (decode + str.lower()) into reusable scratch buffers, and
 * the small helpers every text file needs.
 *
 * Why a hand-written decoder: the replacement behaviour must equal Python's
 * bytes.decode('utf-8', 'replace') byte for byte, which groups invalid bytes
 * by "maximal subpart" (Unicode 6.0, chapter 3, U+FFFD substitution of
 * maximal subparts). utf8proc's decoder stops at the first error instead.
 */
#include <stdlib.h>

#include "text/text_internal.h"

/* Second-byte ranges depend on the lead byte (no overlongs, no surrogates,
 * nothing above U+10FFFF); later continuation bytes are always 80..BF. */
static int second_ok(uint8_t lead, uint8_t b)
{
    switch (lead) {
    case 0xE0: return b >= 0xA0 && b <= 0xBF;
    case 0xED: return b >= 0x80 && b <= 0x9F;
    case 0xF0: return b >= 0x90 && b <= 0xBF;
    case 0xF4: return b >= 0x80 && b <= 0x8F;
    default: return b >= 0x80 && b <= 0xBF;
    }
}

int sn_utf8_next(const uint8_t *s, size_t n, size_t *pos, uint32_t *cp)
{
    size_t i = *pos;
    uint8_t b0 = s[i];
    size_t need, k;
    uint32_t v;

    if (b0 < 0x80) {
        *cp = b0;
        *pos = i + 1;
        return 1;
    }
    if (b0 < 0xC2 || b0 > 0xF4) { /* stray continuation, C0/C1 overlong, F5.. */
        *cp = SN_REPLACEMENT_CHAR;
        *pos = i + 1;
        return 0;
    }
    if (b0 < 0xE0) {
        need = 1;
        v = b0 & 0x1Fu;
    } else if (b0 < 0xF0) {
        need = 2;
        v = b0 & 0x0Fu;
    } else {
        need = 3;
        v = b0 & 0x07u;
    }
    /* Consume the longest valid prefix; an incomplete or broken sequence is
     * one U+FFFD for that prefix, and the offending byte starts afresh. */
    for (k = 1; k <= need; k++) {
        uint8_t b;
        int ok;
        if (i + k >= n) {
            ok = 0;
        } else {
            b = s[i + k];
            ok = (k == 1) ? second_ok(b0, b) : (b >= 0x80 && b <= 0xBF);
            if (ok)
                v = (v << 6) | (b & 0x3Fu);
        }
        if (!ok) {
            *cp = SN_REPLACEMENT_CHAR;
            *pos = i + k;
            return 0;
        }
    }
    *cp = v;
    *pos = i + need + 1;
    return 1;
}

size_t sn_utf8_put(uint32_t cp, uint8_t *out)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- pure-ASCII fast paths ------------------------------------------------ */

int sn_ascii_lower(const uint8_t *s, size_t n, uint8_t *out, int lower)
{
    const uint64_t hi = 0x8080808080808080ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & hi)
            return 0;
        if (lower)
            w = sn_ascii_lower8(w);
        memcpy(out + i, &w, 8);
    }
    for (; i < n; i++) {
        uint8_t c = s[i];
        if (c >= 0x80)
            return 0;
        out[i] = (uint8_t)(lower && c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[n] = 0;
    return 1;
}

#if defined(__GNUC__) && defined(__x86_64__)
#define SN_HAVE_SSSE3_RUNS 1
#include <tmmintrin.h>

/* Token bits of the first m (a multiple of 16) ASCII bytes of p, for any
 * set of byte values: row[lo] has bit hi set when byte (hi << 4 | lo) is in
 * the set, sel[hi] is 1 << hi, and a byte is in the set when
 * row[lo] & sel[hi] is not zero (two table lookups by pshufb). */
__attribute__((target("ssse3"))) static uint64_t token_bits_ssse3(const uint8_t *p, size_t m,
                                                                  const uint8_t *row, const uint8_t *sel)
{
    __m128i t_row = _mm_loadu_si128((const __m128i *)(const void *)row);
    __m128i t_sel = _mm_loadu_si128((const __m128i *)(const void *)sel);
    __m128i low = _mm_set1_epi8(0x0F), zero = _mm_setzero_si128();
    uint64_t w = 0;
    size_t i;
    for (i = 0; i < m; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i r = _mm_shuffle_epi8(t_row, _mm_and_si128(x, low));
        __m128i b = _mm_shuffle_epi8(t_sel, _mm_and_si128(_mm_srli_epi16(x, 4), low));
        unsigned none = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(r, b), zero));
        w |= (uint64_t)(~none & 0xFFFFu) << i;
    }
    return w;
}
#endif

size_t sn_ascii_runs(const uint8_t *s, size_t n, const uint8_t *is_tok, sn_span *spans)
{
    size_t base, k = 0, start = 0;
    uint64_t in = 0;
    int simd = 0;
#if defined(SN_HAVE_SSSE3_RUNS)
    uint8_t row[16], sel[16];
    size_t c;
    simd = __builtin_cpu_supports("ssse3") != 0;
    for (c = 0; c < 16; c++) {
        unsigned hi, r = 0;
        for (hi = 0; hi < 8; hi++)
            r |= (unsigned)is_tok[hi << 4 | c] << hi;
        row[c] = (uint8_t)r;
        sel[c] = (uint8_t)(c < 8 ? 1u << c : 0u);
    }
#endif
    for (base = 0; base < n; base += 64) {
        size_t m = n - base < 64 ? n - base : 64, i = 0;
        uint64_t w = 0;
#if defined(SN_HAVE_SSSE3_RUNS)
        if (simd) {
            i = m & ~(size_t)15;
            w = token_bits_ssse3(s + base, i, row, sel);
        }
#endif
        for (; i < m; i++)
            w |= (uint64_t)is_tok[s[base + i]] << i;
        k = sn_block_runs(w, base, &in, &start, spans, k, 1);
    }
    if (in) {
        spans[k].off = start;
        spans[k].len = n - start;
        k++;
    }
    (void)simd;
    return k;
}

/* ---- growable buffers ---------------------------------------------------- */

int sn_grow_block(const sn_alloc *a, void **buf, size_t *cap, size_t need, size_t elem, int exported)
{
    size_t new_cap, bytes;
    void *p;
    if (need <= *cap)
        return SEQNET_OK;
    new_cap = *cap < 16 ? 16 : *cap;
    while (new_cap < need) {
        if (new_cap > SIZE_MAX / 2)
            return SEQNET_ETOOBIG;
        new_cap *= 2;
    }
    if (sn_mul_size(new_cap, elem, &bytes) != 0)
        return SEQNET_ETOOBIG;
    p = exported ? sn_export_realloc(a, *buf, bytes) : sn_realloc(a, *buf, bytes);
    if (p == NULL)
        return SEQNET_ENOMEM;
    *buf = p;
    *cap = new_cap;
    return SEQNET_OK;
}

int sn_grow(const sn_alloc *a, void **buf, size_t *cap, size_t need, size_t elem)
{
    return sn_grow_block(a, buf, cap, need, elem, 0);
}

int sn_scratch_reserve(const sn_alloc *a, void **buf, size_t *cap, size_t need, size_t elem)
{
    return sn_grow(a, buf, cap, need, elem);
}

void sn_scratch_init(sn_scratch *sc, const sn_alloc *a)
{
    memset(sc, 0, sizeof *sc);
    sc->alloc = a;
}

void sn_scratch_free(sn_scratch *sc)
{
    sn_free(sc->alloc, sc->cps);
    sn_free(sc->alloc, sc->norm);
    sn_free(sc->alloc, sc->aux);
    sn_free(sc->alloc, sc->spans);
    sn_free(sc->alloc, sc->hashes);
    sn_free(sc->alloc, sc->gram_end);
    sn_free(sc->alloc, sc->gram_hash);
    sn_scratch_init(sc, sc->alloc);
}

int sn_spans_push(sn_scratch *sc, size_t off, size_t len)
{
    if (sc->n_spans == sc->spans_cap) {
        int rc = sn_grow(sc->alloc, (void **)&sc->spans, &sc->spans_cap, sc->n_spans + 1,
                         sizeof *sc->spans);
        if (rc != SEQNET_OK)
            return rc;
    }
    sc->spans[sc->n_spans].off = off;
    sc->spans[sc->n_spans].len = len;
    sc->n_spans++;
    return SEQNET_OK;
}

/* ---- normalisation ----------------------------------------------------- */

static int all_ascii(const uint8_t *s, size_t n)
{
    size_t i = 0;
    uint64_t acc = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        acc |= w;
    }
    for (; i < n; i++)
        acc |= s[i];
    return (acc & 0x8080808080808080ull) == 0;
}

/* Python's Final_Sigma: U+03A3 becomes final sigma iff a cased letter
 * precedes it (skipping case-ignorables) and none follows (same skip). The
 * scan crosses word boundaries: it looks at the whole text. */
static uint32_t sigma_lower(const uint32_t *cps, size_t n, size_t i)
{
    size_t j = i;
    int final = 0;
    while (j > 0) {
        uint32_t c = cps[j - 1];
        if (!sn_uni_case_ignorable(c)) {
            final = sn_uni_cased(c);
            break;
        }
        j--;
    }
    if (final) {
        for (j = i + 1; j < n; j++) {
            uint32_t c = cps[j];
            if (!sn_uni_case_ignorable(c)) {
                final = !sn_uni_cased(c);
                break;
            }
        }
    }
    return final ? 0x03C2u : 0x03C3u;
}

int sn_text_normalize(sn_scratch *sc, const uint8_t *s, size_t n, int lower, int strict,
                      const uint8_t **out, size_t *out_len)
{
    size_t pos, n_cps, i, o, need;
    int rc, sigma = 0;

    if (all_ascii(s, n)) {
        if (!lower) {
            *out = s;
            *out_len = n;
            return SEQNET_OK;
        }
        rc = sn_grow(sc->alloc, (void **)&sc->norm, &sc->norm_cap, n + 1 + SN_TEXT_PAD, 1);
        if (rc != SEQNET_OK)
            return rc;
        for (i = 0; i < n; i++) {
            uint8_t c = s[i];
            sc->norm[i] = (uint8_t)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        memset(sc->norm + n, 0, 1 + SN_TEXT_PAD);
        *out = sc->norm;
        *out_len = n;
        return SEQNET_OK;
    }

    /* Output bound: a code point grows at most from 1 input byte to 3 output
     * bytes (an invalid byte becoming U+FFFD); U+0130 is 2 -> 3 bytes. */
    if (n > (SIZE_MAX - 1 - SN_TEXT_PAD) / 3)
        return SEQNET_ETOOBIG;
    need = 3 * n + 1 + SN_TEXT_PAD;
    rc = sn_grow(sc->alloc, (void **)&sc->norm, &sc->norm_cap, need, 1);
    if (rc != SEQNET_OK)
        return rc;
    /* One pass while no capital sigma shows up (its lowercase depends on
     * the letters around it): ASCII bytes by table, others decoded,
     * lowercased and re-encoded. The first bad byte is the same one the
     * full pass below would report. */
    pos = 0;
    o = 0;
    while (pos < n) {
        size_t start = pos;
        uint32_t cp;
        uint8_t b = s[pos];
        if (b < 0x80) {
            /* 8 ASCII bytes at a time where they are (as sn_ascii_lower) */
            const uint64_t hi = 0x8080808080808080ull;
            uint64_t w;
            if (pos + 8 <= n) {
                memcpy(&w, s + pos, 8);
                if ((w & hi) == 0) {
                    if (lower)
                        w = sn_ascii_lower8(w);
                    memcpy(sc->norm + o, &w, 8);
                    o += 8;
                    pos += 8;
                    continue;
                }
            }
            sc->norm[o++] = (uint8_t)(lower && b >= 'A' && b <= 'Z' ? b + 32 : b);
            pos++;
            continue;
        }
        if (!sn_utf8_next(s, n, &pos, &cp) && strict) {
            sc->bad_offset = start;
            return SEQNET_EUTF8;
        }
        if (lower) {
            if (cp == 0x03A3) {
                sigma = 1;
                break;
            }
            if (cp == 0x0130) { /* the only multi-code-point lowercase */
                sc->norm[o++] = 'i';
                cp = 0x0307;
            } else {
                cp = sn_uni_lower1(cp);
            }
        }
        o += sn_utf8_put(cp, sc->norm + o);
    }
    if (!sigma) {
        memset(sc->norm + o, 0, 1 + SN_TEXT_PAD);
        *out = sc->norm;
        *out_len = o;
        return SEQNET_OK;
    }

    /* A capital sigma: decode everything, then lowercase with context.
     * Each input byte yields at most one code point. */
    rc = sn_grow(sc->alloc, (void **)&sc->cps, &sc->cps_cap, n, sizeof(uint32_t));
    if (rc != SEQNET_OK)
        return rc;
    pos = 0;
    n_cps = 0;
    while (pos < n) {
        size_t start = pos;
        uint32_t cp;
        if (!sn_utf8_next(s, n, &pos, &cp) && strict) {
            sc->bad_offset = start;
            return SEQNET_EUTF8;
        }
        sc->cps[n_cps++] = cp;
    }
    o = 0;
    for (i = 0; i < n_cps; i++) {
        uint32_t cp = sc->cps[i];
        if (lower) {
            if (cp < 0x80) {
                if (cp >= 'A' && cp <= 'Z')
                    cp += 32;
            } else if (cp == 0x0130) { /* the only multi-code-point lowercase */
                sc->norm[o++] = 'i';
                cp = 0x0307;
            } else if (cp == 0x03A3) {
                cp = sigma_lower(sc->cps, n_cps, i);
            } else {
                cp = sn_uni_lower1(cp);
            }
        }
        o += sn_utf8_put(cp, sc->norm + o);
    }
    memset(sc->norm + o, 0, 1 + SN_TEXT_PAD);
    *out = sc->norm;
    *out_len = o;
    return SEQNET_OK;
}

/* ---- code point sets ----------------------------------------------------- */

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int sn_cpset_build(const sn_alloc *a, sn_cpset *set, const uint8_t *s, size_t n, int strict,
                   size_t *bad_offset)
{
    size_t pos = 0, n_extra = 0, k, w;
    uint32_t *extra = NULL;
    memset(set, 0, sizeof *set);
    if (n > 0) {
        extra = sn_malloc(a, n * sizeof *extra);
        if (extra == NULL)
            return SEQNET_ENOMEM;
    }
    while (pos < n) {
        size_t start = pos;
        uint32_t cp;
        if (!sn_utf8_next(s, n, &pos, &cp) && strict) {
            sn_free(a, extra);
            if (bad_offset != NULL)
                *bad_offset = start;
            return SEQNET_EUTF8;
        }
        if (cp < 128)
            set->ascii[cp >> 6] |= (uint64_t)1 << (cp & 63);
        else
            extra[n_extra++] = cp;
    }
    if (n_extra == 0) {
        sn_free(a, extra);
        extra = NULL;
    } else {
        qsort(extra, n_extra, sizeof *extra, cmp_u32);
        for (k = 1, w = 1; k < n_extra; k++)
            if (extra[k] != extra[w - 1])
                extra[w++] = extra[k];
        n_extra = w;
    }
    set->extra = extra;
    set->n_extra = n_extra;
    return SEQNET_OK;
}

void sn_cpset_free(const sn_alloc *a, sn_cpset *set)
{
    sn_free(a, set->extra);
    memset(set, 0, sizeof *set);
}

int sn_cpset_has(const sn_cpset *set, uint32_t cp)
{
    size_t lo = 0, hi = set->n_extra;
    if (cp < 128)
        return (int)((set->ascii[cp >> 6] >> (cp & 63)) & 1u);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (set->extra[mid] < cp)
            lo = mid + 1;
        else if (set->extra[mid] > cp)
            hi = mid;
        else
            return 1;
    }
    return 0;
}

/* ---- argument checks and messages ---------------------------------------- */

int sn_check_texts(sn_object *o, const char *const *texts, const size_t *lengths, size_t n)
{
    size_t i;
    if (n == 0)
        return SEQNET_OK;
    if (texts == NULL || lengths == NULL)
        return sn_error(o, SEQNET_EINVAL, "texts and lengths must not be NULL when n_texts > 0");
    for (i = 0; i < n; i++)
        if (texts[i] == NULL && lengths[i] != 0)
            return sn_error(o, SEQNET_EINVAL, "text %zu is NULL with length %zu", i, lengths[i]);
    return SEQNET_OK;
}

int sn_check_offsets(sn_object *o, const void *ids, const size_t *offsets, size_t n)
{
    size_t i;
    if (n == 0)
        return SEQNET_OK;
    if (offsets == NULL)
        return sn_error(o, SEQNET_EINVAL, "offsets must not be NULL when n_seqs > 0");
    for (i = 0; i < n; i++)
        if (offsets[i + 1] < offsets[i])
            return sn_error(o, SEQNET_EINVAL, "offsets decrease at sequence %zu", i);
    if (ids == NULL && offsets[n] != offsets[0])
        return sn_error(o, SEQNET_EINVAL, "ids must not be NULL when sequences are non-empty");
    return SEQNET_OK;
}

int sn_text_utf8_error(sn_object *o, size_t text_no, size_t offset, size_t *err_text, size_t *err_off)
{
    *err_text = text_no;
    *err_off = offset;
    return sn_error(o, SEQNET_EUTF8, "invalid UTF-8 in text %zu at byte offset %zu", text_no, offset);
}
