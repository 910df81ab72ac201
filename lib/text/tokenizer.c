/*
 * lib/text/tokenizer.c -- Keras Tokenizer: settings, tokenizing one text,
 * fit_on_texts and the word ranking.
 *
 * Keras semantics kept exactly (see docs/TEXT.md and the spec):
 *  - word level: lower, replace every filter code point with `split`, then
 *    str.split(split) dropping empty pieces; char level: each code point of
 *    the (lowercased) text is a token and filters/split are ignored;
 *  - fit accumulates over calls; the index ranks words by count descending,
 *    ties in first-appearance order over all fits (Python's stable sort);
 *  - with an oov_token at fit time it takes index 1 and words start at 2.
 * A fit is all-or-nothing: its counts go to per-call arrays first and are
 * merged only once every allocation has succeeded.
 */
#include <stdlib.h>

#include "text/tokenizer_impl.h"

static const char default_filters[] = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n";

/* ---- index_docs map ------------------------------------------------------ */

static size_t int_hash(int32_t key, size_t mask)
{
    uint64_t h = (uint64_t)(uint32_t)key * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 32) & mask;
}

int sn_intmap_reserve(const sn_alloc *a, sn_intmap *m, size_t n)
{
    size_t n_slots = 16, i;
    int32_t *keys;
    int64_t *vals;
    while (n_slots / 2 < n) {
        if (n_slots > SIZE_MAX / 16)
            return SEQNET_ETOOBIG;
        n_slots *= 2;
    }
    if (m->keys != NULL && n_slots <= m->mask + 1)
        return SEQNET_OK;
    keys = sn_malloc(a, n_slots * sizeof *keys);
    vals = sn_malloc(a, n_slots * sizeof *vals);
    if (keys == NULL || vals == NULL) {
        sn_free(a, keys);
        sn_free(a, vals);
        return SEQNET_ENOMEM;
    }
    for (i = 0; i < n_slots; i++)
        keys[i] = -1;
    if (m->keys != NULL) {
        for (i = 0; i <= m->mask; i++) {
            size_t j;
            if (m->keys[i] < 0)
                continue;
            j = int_hash(m->keys[i], n_slots - 1);
            while (keys[j] >= 0)
                j = (j + 1) & (n_slots - 1);
            keys[j] = m->keys[i];
            vals[j] = m->vals[i];
        }
    }
    sn_free(a, m->keys);
    sn_free(a, m->vals);
    m->keys = keys;
    m->vals = vals;
    m->mask = n_slots - 1;
    return SEQNET_OK;
}

void sn_intmap_free(const sn_alloc *a, sn_intmap *m)
{
    sn_free(a, m->keys);
    sn_free(a, m->vals);
    memset(m, 0, sizeof *m);
}

int64_t *sn_intmap_slot(sn_intmap *m, int32_t key)
{
    size_t j = int_hash(key, m->mask);
    while (m->keys[j] >= 0) {
        if (m->keys[j] == key)
            return &m->vals[j];
        j = (j + 1) & m->mask;
    }
    m->keys[j] = key;
    m->vals[j] = 0;
    m->n++;
    return &m->vals[j];
}

int64_t sn_intmap_get(const sn_intmap *m, int32_t key)
{
    size_t j;
    if (m->keys == NULL)
        return 0;
    j = int_hash(key, m->mask);
    while (m->keys[j] >= 0) {
        if (m->keys[j] == key)
            return m->vals[j];
        j = (j + 1) & m->mask;
    }
    return 0;
}

/* ---- lifecycle and settings ---------------------------------------------- */

static char *dup_bytes(const sn_alloc *a, const char *s, size_t n)
{
    char *p = sn_malloc(a, n + 1);
    if (p != NULL) {
        if (n > 0)
            memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

int sn_tokenizer_create(const sn_alloc *a, seqnet_tokenizer **out)
{
    seqnet_tokenizer *tok = sn_calloc(a, 1, sizeof *tok);
    int rc;
    if (tok == NULL)
        return SEQNET_ENOMEM;
    sn_object_init(&tok->obj, SN_MAGIC_TOKENIZER, a);
    tok->lower = 1;
    sn_strtab_init(&tok->words, &tok->obj.alloc);
    tok->filters_len = sizeof default_filters - 1;
    tok->filters = dup_bytes(a, default_filters, tok->filters_len);
    tok->split_len = 1;
    tok->split = dup_bytes(a, " ", 1);
    rc = (tok->filters == NULL || tok->split == NULL) ? SEQNET_ENOMEM : SEQNET_OK;
    if (rc == SEQNET_OK)
        rc = sn_cpset_build(a, &tok->filter_set, (const uint8_t *)tok->filters, tok->filters_len, 0, NULL);
    if (rc != SEQNET_OK) {
        seqnet_tokenizer_free(tok);
        return rc;
    }
    *out = tok;
    return SEQNET_OK;
}

SEQNET_API int seqnet_tokenizer_new(seqnet_context *ctx, seqnet_tokenizer **out)
{
    if (out == NULL)
        return SEQNET_EINVAL;
    *out = NULL;
    if (ctx == NULL)
        return SEQNET_EINVAL;
    return sn_tokenizer_create(&ctx->obj.alloc, out);
}

SEQNET_API void seqnet_tokenizer_free(seqnet_tokenizer *tok)
{
    sn_alloc a;
    if (tok == NULL || tok->obj.magic != SN_MAGIC_TOKENIZER)
        return;
    a = tok->obj.alloc;
    sn_free(&a, tok->filters);
    sn_cpset_free(&a, &tok->filter_set);
    sn_free(&a, tok->split);
    sn_free(&a, tok->oov);
    sn_free(&a, tok->fit_oov);
    tok->words.alloc = &a;
    sn_strtab_free(&tok->words);
    sn_free(&a, tok->counts);
    sn_free(&a, tok->docs);
    sn_free(&a, tok->index);
    sn_free(&a, tok->by_rank);
    sn_intmap_free(&a, &tok->idocs);
    tok->obj.magic = 0;
    sn_free(&a, tok);
}

static int flag_value(sn_object *o, int64_t value, int *dst, const char *name)
{
    if (value != 0 && value != 1)
        return sn_error(o, SEQNET_EINVAL, "%s must be 0 or 1, got %lld", name, (long long)value);
    *dst = (int)value;
    return SEQNET_OK;
}

SEQNET_API int seqnet_tokenizer_set_int(seqnet_tokenizer *tok, int32_t option, int64_t value)
{
    if (tok == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&tok->obj);
    switch (option) {
    case SEQNET_TOKENIZER_NUM_WORDS:
        if (value < 0 || value > INT32_MAX)
            return sn_error(&tok->obj, SEQNET_EINVAL, "num_words must be in [0, %d], got %lld", INT32_MAX,
                            (long long)value);
        tok->num_words = value;
        return SEQNET_OK;
    case SEQNET_TOKENIZER_LOWER: return flag_value(&tok->obj, value, &tok->lower, "lower");
    case SEQNET_TOKENIZER_CHAR_LEVEL: return flag_value(&tok->obj, value, &tok->char_level, "char_level");
    case SEQNET_TOKENIZER_UTF8_STRICT: return flag_value(&tok->obj, value, &tok->strict, "utf8_strict");
    case SEQNET_TOKENIZER_STRICT_IDS: return flag_value(&tok->obj, value, &tok->strict_ids, "strict_ids");
    default:
        return sn_error(&tok->obj, SEQNET_EUNSUPPORTED, "tokenizer option %d is not an integer option",
                        (int)option);
    }
}

SEQNET_API int seqnet_tokenizer_get_int(const seqnet_tokenizer *tok, int32_t option, int64_t *value)
{
    if (tok == NULL || value == NULL)
        return SEQNET_EINVAL;
    switch (option) {
    case SEQNET_TOKENIZER_NUM_WORDS: *value = tok->num_words; return SEQNET_OK;
    case SEQNET_TOKENIZER_LOWER: *value = tok->lower; return SEQNET_OK;
    case SEQNET_TOKENIZER_CHAR_LEVEL: *value = tok->char_level; return SEQNET_OK;
    case SEQNET_TOKENIZER_UTF8_STRICT: *value = tok->strict; return SEQNET_OK;
    case SEQNET_TOKENIZER_STRICT_IDS: *value = tok->strict_ids; return SEQNET_OK;
    default: return SEQNET_EUNSUPPORTED;
    }
}

/* The split string is matched against normalised (valid) UTF-8, so it is
 * stored normalised too: invalid bytes become U+FFFD, or fail in strict mode. */
static int set_split(seqnet_tokenizer *tok, const char *value, size_t len)
{
    sn_scratch sc;
    const uint8_t *norm;
    size_t n;
    char *copy = NULL;
    int rc;
    sn_scratch_init(&sc, &tok->obj.alloc);
    rc = sn_text_normalize(&sc, (const uint8_t *)value, len, 0, tok->strict, &norm, &n);
    if (rc == SEQNET_EUTF8) {
        tok->have_bad = 1;
        rc = sn_text_utf8_error(&tok->obj, 0, sc.bad_offset, &tok->bad_text, &tok->bad_offset);
    } else if (rc == SEQNET_OK) {
        copy = dup_bytes(&tok->obj.alloc, (const char *)norm, n);
        if (copy == NULL) {
            rc = SEQNET_ENOMEM;
        } else {
            sn_free(&tok->obj.alloc, tok->split);
            tok->split = copy;
            tok->split_len = n;
        }
    }
    sn_scratch_free(&sc);
    return rc;
}

SEQNET_API int seqnet_tokenizer_set_string(seqnet_tokenizer *tok, int32_t option, const char *value,
                                           size_t len)
{
    const sn_alloc *a;
    char *copy;
    sn_cpset set;
    int rc;
    if (tok == NULL)
        return SEQNET_EINVAL;
    a = &tok->obj.alloc;
    sn_clear_error(&tok->obj);
    tok->have_bad = 0;
    switch (option) {
    case SEQNET_TOKENIZER_FILTERS:
        if (value == NULL && len != 0)
            return sn_error(&tok->obj, SEQNET_EINVAL, "filters is NULL");
        if (value == NULL)
            value = "";
        rc = sn_cpset_build(a, &set, (const uint8_t *)value, len, tok->strict, &tok->bad_offset);
        if (rc == SEQNET_EUTF8) {
            tok->have_bad = 1;
            return sn_text_utf8_error(&tok->obj, 0, tok->bad_offset, &tok->bad_text, &tok->bad_offset);
        }
        if (rc != SEQNET_OK)
            return rc;
        copy = dup_bytes(a, value, len);
        if (copy == NULL) {
            sn_cpset_free(a, &set);
            return SEQNET_ENOMEM;
        }
        sn_free(a, tok->filters);
        sn_cpset_free(a, &tok->filter_set);
        tok->filters = copy;
        tok->filters_len = len;
        tok->filter_set = set;
        return SEQNET_OK;
    case SEQNET_TOKENIZER_SPLIT:
        if (value == NULL && len != 0)
            return sn_error(&tok->obj, SEQNET_EINVAL, "split is NULL");
        return set_split(tok, value != NULL ? value : "", len);
    case SEQNET_TOKENIZER_OOV_TOKEN:
        if (value == NULL) {
            sn_free(a, tok->oov);
            tok->oov = NULL;
            tok->oov_len = 0;
            return SEQNET_OK;
        }
        copy = dup_bytes(a, value, len);
        if (copy == NULL)
            return SEQNET_ENOMEM;
        sn_free(a, tok->oov);
        tok->oov = copy;
        tok->oov_len = len;
        return SEQNET_OK;
    default:
        return sn_error(&tok->obj, SEQNET_EUNSUPPORTED, "tokenizer option %d is not a string option",
                        (int)option);
    }
}

SEQNET_API int seqnet_tokenizer_get_string(const seqnet_tokenizer *tok, int32_t option, const char **value,
                                           size_t *len)
{
    const char *v;
    size_t n;
    if (tok == NULL || value == NULL)
        return SEQNET_EINVAL;
    switch (option) {
    case SEQNET_TOKENIZER_FILTERS: v = tok->filters; n = tok->filters_len; break;
    case SEQNET_TOKENIZER_SPLIT: v = tok->split; n = tok->split_len; break;
    case SEQNET_TOKENIZER_OOV_TOKEN: v = tok->oov; n = tok->oov_len; break;
    default: return SEQNET_EUNSUPPORTED;
    }
    *value = v;
    if (len != NULL)
        *len = n;
    return SEQNET_OK;
}

/* ---- tokenizing one text ------------------------------------------------- */

/* Python's str.split(sep) on valid UTF-8: byte matching is safe because a
 * valid pattern can only match at code point boundaries. */
static int split_general(const seqnet_tokenizer *tok, sn_scratch *sc, const uint8_t *s, size_t n)
{
    const uint8_t *sep = (const uint8_t *)tok->split;
    size_t m = tok->split_len, start = 0, i = 0;
    int rc;
    while (i + m <= n) {
        if (s[i] == sep[0] && memcmp(s + i, sep, m) == 0) {
            if (i > start && (rc = sn_spans_push(sc, start, i - start)) != SEQNET_OK)
                return rc;
            i += m;
            start = i;
        } else {
            i++;
        }
    }
    if (n > start)
        return sn_spans_push(sc, start, n - start);
    return SEQNET_OK;
}

/* The pure-ASCII case of a one-code-point split: sn_ascii_lower, then the
 * maximal runs of bytes that are neither filters nor the split character
 * (tested after lowercasing, as Keras translates the lowered text), found
 * 64 bytes at a time by sn_ascii_runs. ASCII text is valid UTF-8 and its
 * str.lower() is the ASCII mapping, so the tokens equal the general path's.
 * Returns 0 (the caller takes the general path) when a byte >= 0x80 shows
 * up. */
static int ascii_tokens(const seqnet_tokenizer *tok, sn_scratch *sc, const uint8_t *text, size_t len,
                        uint32_t split_cp, int *rc)
{
    uint8_t is_tok[128];
    size_t c, cap_spans = len / 2 + 2;

    if (len > SIZE_MAX - 1 - SN_TEXT_PAD) {
        *rc = SEQNET_ETOOBIG;
        return 1;
    }
    if ((*rc = sn_grow(sc->alloc, (void **)&sc->norm, &sc->norm_cap, len + 1 + SN_TEXT_PAD, 1)) != SEQNET_OK ||
        (*rc = sn_grow(sc->alloc, (void **)&sc->spans, &sc->spans_cap, cap_spans, sizeof *sc->spans)) != SEQNET_OK)
        return 1;
    if (!sn_ascii_lower(text, len, sc->norm, tok->lower))
        return 0;
    memset(sc->norm + len, 0, 1 + SN_TEXT_PAD);
    sc->padded = 1;
    for (c = 0; c < 128; c++)
        is_tok[c] = (uint8_t)(((tok->filter_set.ascii[c >> 6] >> (c & 63)) & 1u) == 0 && c != split_cp);
    sc->n_spans = sn_ascii_runs(sc->norm, len, is_tok, sc->spans);
    return 1;
}

int sn_tokenizer_tokens(const seqnet_tokenizer *tok, sn_scratch *sc, const uint8_t *text, size_t len,
                        const uint8_t **base)
{
    const uint8_t *s;
    size_t n, pos = 0, start = 0, split_pos = 0;
    uint32_t split_cp = 0;
    int rc, single = 0;

    sc->n_spans = 0;
    sc->padded = 0;
    if (!tok->char_level && tok->split_len == 0)
        return sn_error((sn_object *)&tok->obj, SEQNET_EINVAL,
                        "empty separator: split must not be empty unless char_level is set");
    if (!tok->char_level) {
        (void)sn_utf8_next((const uint8_t *)tok->split, tok->split_len, &split_pos, &split_cp);
        single = split_pos == tok->split_len;
        if (single && ascii_tokens(tok, sc, text, len, split_cp, &rc)) {
            *base = sc->norm;
            return rc;
        }
        sc->n_spans = 0;
    }
    rc = sn_text_normalize(sc, text, len, tok->lower, tok->strict, &s, &n);
    if (rc != SEQNET_OK)
        return rc;
    *base = s;
    sc->padded = s == sc->norm; /* sn_text_normalize pads what it writes */
    if (tok->char_level) {
        while (pos < n) {
            size_t here = pos;
            uint32_t cp;
            (void)sn_utf8_next(s, n, &pos, &cp);
            if ((rc = sn_spans_push(sc, here, pos - here)) != SEQNET_OK)
                return rc;
        }
        return SEQNET_OK;
    }
    if (single) {
        /* One-code-point split: tokens are the maximal runs free of the
         * split character and of filter characters. */
        int in_tok = 0;
        uint64_t ascii_sep[2];
        ascii_sep[0] = tok->filter_set.ascii[0];
        ascii_sep[1] = tok->filter_set.ascii[1];
        if (split_cp < 128)
            ascii_sep[split_cp >> 6] |= (uint64_t)1 << (split_cp & 63);
        while (pos < n) {
            size_t here = pos;
            uint32_t cp = s[pos];
            int sep;
            if (cp < 0x80) {
                pos++;
                sep = (int)((ascii_sep[cp >> 6] >> (cp & 63)) & 1u);
            } else {
                (void)sn_utf8_next(s, n, &pos, &cp);
                sep = cp == split_cp || sn_cpset_has(&tok->filter_set, cp);
            }
            if (!sep && !in_tok) {
                start = here;
                in_tok = 1;
            } else if (sep && in_tok) {
                if ((rc = sn_spans_push(sc, start, here - start)) != SEQNET_OK)
                    return rc;
                in_tok = 0;
            }
        }
        if (in_tok)
            return sn_spans_push(sc, start, n - start);
        return SEQNET_OK;
    }
    /* Several-character split: translate filters into copies of split
     * (into sc->aux), then split on the substring. */
    {
        size_t cap_need, o = 0;
        if (n > (SIZE_MAX - 1) / (tok->split_len + 1))
            return SEQNET_ETOOBIG;
        cap_need = n * (tok->split_len > 4 ? tok->split_len : 4) + 1;
        rc = sn_grow(sc->alloc, (void **)&sc->aux, &sc->aux_cap, cap_need, 1);
        if (rc != SEQNET_OK)
            return rc;
        while (pos < n) {
            size_t here = pos;
            uint32_t cp;
            (void)sn_utf8_next(s, n, &pos, &cp);
            if (sn_cpset_has(&tok->filter_set, cp)) {
                memcpy(sc->aux + o, tok->split, tok->split_len);
                o += tok->split_len;
            } else {
                memcpy(sc->aux + o, s + here, pos - here);
                o += pos - here;
            }
        }
        *base = sc->aux;
        sc->padded = 0;
        return split_general(tok, sc, sc->aux, o);
    }
}

/* ---- word index ---------------------------------------------------------- */

int32_t sn_tokenizer_index_of(const seqnet_tokenizer *tok, const uint8_t *w, size_t n)
{
    return sn_tokenizer_index_hashed(tok, w, n, sn_hash_bytes(w, n));
}

int32_t sn_tokenizer_index_hashed(const seqnet_tokenizer *tok, const uint8_t *w, size_t n, uint64_t h)
{
    uint32_t id;
    if (sn_strtab_find(&tok->words, w, n, h, &id))
        return tok->index[id];
    if (tok->has_fit_oov && n == tok->fit_oov_len && (n == 0 || memcmp(w, tok->fit_oov, n) == 0))
        return 1;
    return 0;
}

int sn_tokenizer_reserve(seqnet_tokenizer *tok, size_t n_words)
{
    const sn_alloc *a = &tok->obj.alloc;
    size_t c1 = tok->arr_cap, c2 = tok->arr_cap, c3 = tok->arr_cap, c4 = tok->arr_cap, old = tok->arr_cap;
    int rc;
    if (n_words <= tok->arr_cap)
        return sn_intmap_reserve(a, &tok->idocs, tok->idocs.n + n_words);
    rc = sn_grow(a, (void **)&tok->counts, &c1, n_words, sizeof *tok->counts);
    if (rc == SEQNET_OK)
        rc = sn_grow(a, (void **)&tok->docs, &c2, n_words, sizeof *tok->docs);
    if (rc == SEQNET_OK)
        rc = sn_grow(a, (void **)&tok->index, &c3, n_words, sizeof *tok->index);
    if (rc == SEQNET_OK)
        rc = sn_grow(a, (void **)&tok->by_rank, &c4, n_words, sizeof *tok->by_rank);
    /* Arrays that grew keep their old contents; new tails are zeroed so the
     * merge in fit can add into them. */
    if (c1 > old)
        memset(tok->counts + old, 0, (c1 - old) * sizeof *tok->counts);
    if (c2 > old)
        memset(tok->docs + old, 0, (c2 - old) * sizeof *tok->docs);
    tok->arr_cap = c1;
    if (c2 < tok->arr_cap) tok->arr_cap = c2;
    if (c3 < tok->arr_cap) tok->arr_cap = c3;
    if (c4 < tok->arr_cap) tok->arr_cap = c4;
    if (rc == SEQNET_OK)
        rc = sn_intmap_reserve(a, &tok->idocs, tok->idocs.n + n_words);
    return rc;
}

/* (count desc, first appearance asc) is a total order, so an unstable
 * in-place heap sort gives exactly Python's stable sort, with no memory. */
static int rank_before(const seqnet_tokenizer *tok, uint32_t a, uint32_t b)
{
    if (tok->counts[a] != tok->counts[b])
        return tok->counts[a] > tok->counts[b];
    return a < b;
}

static void sift_down(const seqnet_tokenizer *tok, uint32_t *v, size_t root, size_t n)
{
    for (;;) {
        size_t child = 2 * root + 1;
        uint32_t t;
        if (child >= n)
            return;
        if (child + 1 < n && rank_before(tok, v[child], v[child + 1]))
            child++;
        if (!rank_before(tok, v[root], v[child]))
            return;
        t = v[root];
        v[root] = v[child];
        v[child] = t;
        root = child;
    }
}

void sn_tokenizer_rank(seqnet_tokenizer *tok)
{
    size_t n = tok->words.n, i;
    uint32_t *v = tok->by_rank;
    int32_t base = tok->has_fit_oov ? 2 : 1;
    /* Heap sort ascending in rank order: the max-heap root is the word that
     * ranks last, and each pop moves it to the end. */
    for (i = 0; i < n; i++)
        v[i] = (uint32_t)i;
    for (i = n / 2; i-- > 0;)
        sift_down(tok, v, i, n);
    for (i = n; i-- > 1;) {
        uint32_t t = v[0];
        v[0] = v[i];
        v[i] = t;
        sift_down(tok, v, 0, i);
    }
    for (i = 0; i < n; i++)
        tok->index[v[i]] = (int32_t)i + base;
    /* Keras: index_docs[word_index[w]] = word_docs[w], overwriting. */
    for (i = 0; i < n; i++)
        *sn_intmap_slot(&tok->idocs, tok->index[i]) = tok->docs[i];
}

int sn_tokenizer_set_oov_fit(seqnet_tokenizer *tok)
{
    char *copy = NULL;
    if (tok->oov != NULL) {
        copy = dup_bytes(&tok->obj.alloc, tok->oov, tok->oov_len);
        if (copy == NULL)
            return SEQNET_ENOMEM;
    }
    sn_free(&tok->obj.alloc, tok->fit_oov);
    tok->fit_oov = copy;
    tok->fit_oov_len = tok->oov_len;
    tok->has_fit_oov = tok->oov != NULL;
    return SEQNET_OK;
}

/* ---- fit_on_texts -------------------------------------------------------- */

typedef struct fit_delta {
    int64_t *counts, *docs;
    size_t *last_doc; /* 1 + number of the last text that had the word */
    size_t cap;
} fit_delta;

static int delta_grow(const sn_alloc *a, fit_delta *d, size_t need)
{
    size_t c1 = d->cap, c2 = d->cap, c3 = d->cap, old = d->cap;
    int rc;
    if (need <= d->cap)
        return SEQNET_OK;
    rc = sn_grow(a, (void **)&d->counts, &c1, need, sizeof *d->counts);
    if (rc == SEQNET_OK)
        rc = sn_grow(a, (void **)&d->docs, &c2, need, sizeof *d->docs);
    if (rc == SEQNET_OK)
        rc = sn_grow(a, (void **)&d->last_doc, &c3, need, sizeof *d->last_doc);
    if (c1 > old) memset(d->counts + old, 0, (c1 - old) * sizeof *d->counts);
    if (c2 > old) memset(d->docs + old, 0, (c2 - old) * sizeof *d->docs);
    if (c3 > old) memset(d->last_doc + old, 0, (c3 - old) * sizeof *d->last_doc);
    d->cap = c1 < c2 ? c1 : c2;
    if (c3 < d->cap)
        d->cap = c3;
    return rc;
}

SEQNET_API int seqnet_tokenizer_fit(seqnet_tokenizer *tok, const char *const *texts, const size_t *lengths,
                                    size_t n_texts)
{
    const sn_alloc *a;
    sn_scratch sc;
    fit_delta d;
    size_t old_n, t, i, cap_ids = 0;
    uint32_t *ids = NULL;
    int rc;

    if (tok == NULL)
        return SEQNET_EINVAL;
    a = &tok->obj.alloc;
    sn_clear_error(&tok->obj);
    tok->have_bad = 0;
    if ((rc = sn_check_texts(&tok->obj, texts, lengths, n_texts)) != SEQNET_OK)
        return rc;
    old_n = tok->words.n;
    memset(&d, 0, sizeof d);
    sn_scratch_init(&sc, a);
    rc = delta_grow(a, &d, old_n > 0 ? old_n : 1);
    for (t = 0; t < n_texts && rc == SEQNET_OK; t++) {
        size_t len;
        const uint8_t *text = sn_text_at(texts, lengths, t, &len), *base = NULL;
        rc = sn_tokenizer_tokens(tok, &sc, text, len, &base);
        if (rc == SEQNET_EUTF8) {
            tok->have_bad = 1;
            rc = sn_text_utf8_error(&tok->obj, t, sc.bad_offset, &tok->bad_text, &tok->bad_offset);
        }
        if (rc == SEQNET_OK)
            rc = sn_hash_spans(&sc, base, &tok->words);
        if (rc == SEQNET_OK)
            rc = sn_grow(a, (void **)&ids, &cap_ids, sc.n_spans + 1, sizeof *ids);
        /* Resolve the ids (their slots were prefetched while hashing),
         * prefetching each id's counters, then count: the cache misses
         * overlap. */
        for (i = 0; i < sc.n_spans && rc == SEQNET_OK; i++) {
            const uint8_t *w = base + sc.spans[i].off;
            uint32_t id;
            if (!sn_strtab_find_at(&tok->words, w, sc.spans[i].len, sc.hashes[i], sc.padded, &id))
                rc = sn_strtab_intern(&tok->words, w, sc.spans[i].len, sc.hashes[i], &id, NULL);
            if (rc == SEQNET_OK && id >= d.cap)
                rc = delta_grow(a, &d, (size_t)id + 1);
            if (rc != SEQNET_OK)
                break;
            ids[i] = id;
#if defined(__GNUC__)
            __builtin_prefetch(&d.counts[id]);
            __builtin_prefetch(&d.last_doc[id]);
#endif
        }
        for (i = 0; i < sc.n_spans && rc == SEQNET_OK; i++) {
            uint32_t id = ids[i];
            d.counts[id]++;
            if (d.last_doc[id] != t + 1) {
                d.last_doc[id] = t + 1;
                d.docs[id]++;
            }
        }
    }
    if (rc == SEQNET_OK && tok->words.n > (size_t)INT32_MAX - 2)
        rc = sn_error(&tok->obj, SEQNET_ETOOBIG, "more than %d distinct words", INT32_MAX - 2);
    if (rc == SEQNET_OK)
        rc = sn_tokenizer_reserve(tok, tok->words.n);
    if (rc == SEQNET_OK)
        rc = sn_tokenizer_set_oov_fit(tok);
    if (rc == SEQNET_OK) {
        /* Commit: nothing below can fail. */
        for (i = 0; i < tok->words.n; i++) {
            tok->counts[i] += d.counts[i];
            tok->docs[i] += d.docs[i];
        }
        tok->document_count += (int64_t)n_texts;
        sn_tokenizer_rank(tok);
    } else {
        sn_strtab_truncate(&tok->words, old_n);
        if (rc == SEQNET_ENOMEM)
            sn_error(&tok->obj, rc, "out of memory while fitting");
    }
    sn_free(a, d.counts);
    sn_free(a, d.docs);
    sn_free(a, d.last_doc);
    sn_free(a, ids);
    sn_scratch_free(&sc);
    return rc;
}
