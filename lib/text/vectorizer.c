/*
 * lib/text/vectorizer.c -- scikit-learn vectorizers: the object, its
 * settings (validated like scikit-learn 1.2's parameter constraints), and
 * the queries (feature names, vocabulary, idf).
 *
 * One object type serves CountVectorizer, TfidfVectorizer and
 * HashingVectorizer: they share the analyzer and most settings, and
 * scikit-learn's TfidfVectorizer is literally a CountVectorizer followed by
 * a TfidfTransformer.
 */
#include <math.h>
#include <stdlib.h>

#include "text/vectorizer_impl.h"

int sn_vectorizer_create(const sn_alloc *a, int32_t kind, seqnet_vectorizer **out)
{
    seqnet_vectorizer *vec;
    if (kind != SEQNET_VECTORIZER_COUNT && kind != SEQNET_VECTORIZER_TFIDF && kind != SEQNET_VECTORIZER_HASHING)
        return SEQNET_EUNSUPPORTED;
    vec = sn_calloc(a, 1, sizeof *vec);
    if (vec == NULL)
        return SEQNET_ENOMEM;
    sn_object_init(&vec->obj, SN_MAGIC_VECTORIZER, a);
    vec->kind = kind;
    vec->lower = 1;
    vec->use_idf = 1;
    vec->smooth_idf = 1;
    vec->alternate_sign = 1;
    vec->norm = SEQNET_NORM_L2;
    vec->ngram_min = 1;
    vec->ngram_max = 1;
    vec->n_features = (int64_t)1 << 20;
    vec->max_df.is_fraction = 1;
    vec->max_df.fraction = 1.0;
    vec->min_df.count = 1;
    sn_strtab_init(&vec->custom_stop, &vec->obj.alloc);
    sn_strtab_init(&vec->stop, &vec->obj.alloc);
    sn_strtab_init(&vec->vocab, &vec->obj.alloc);
    sn_strtab_init(&vec->pruned, &vec->obj.alloc);
    *out = vec;
    return SEQNET_OK;
}

SEQNET_API int seqnet_vectorizer_new(seqnet_context *ctx, int32_t kind, seqnet_vectorizer **out)
{
    if (out == NULL)
        return SEQNET_EINVAL;
    *out = NULL;
    if (ctx == NULL)
        return SEQNET_EINVAL;
    return sn_vectorizer_create(&ctx->obj.alloc, kind, out);
}

SEQNET_API void seqnet_vectorizer_free(seqnet_vectorizer *vec)
{
    sn_alloc a;
    if (vec == NULL || vec->obj.magic != SN_MAGIC_VECTORIZER)
        return;
    /* The tables point at vec->obj.alloc: free them before the object. */
    sn_strtab_free(&vec->custom_stop);
    sn_strtab_free(&vec->stop);
    sn_strtab_free(&vec->vocab);
    sn_strtab_free(&vec->pruned);
    sn_free(&vec->obj.alloc, vec->idf);
    a = vec->obj.alloc;
    vec->obj.magic = 0;
    sn_free(&a, vec);
}

SEQNET_API int32_t seqnet_vectorizer_kind(const seqnet_vectorizer *vec)
{
    return vec == NULL ? 0 : vec->kind;
}

/* Forget a fit (settings that change the vocabulary invalidate it). */
static void drop_fit(seqnet_vectorizer *vec)
{
    if (!vec->fixed)
        sn_strtab_free(&vec->vocab);
    sn_strtab_free(&vec->pruned);
    sn_free(&vec->obj.alloc, vec->idf);
    vec->idf = NULL;
    vec->fitted = 0;
    vec->n_docs_fitted = 0;
}

static int set_flag(seqnet_vectorizer *vec, int *dst, int64_t value, const char *name)
{
    if (value != 0 && value != 1)
        return sn_error(&vec->obj, SEQNET_EINVAL, "%s must be 0 or 1, got %lld", name, (long long)value);
    *dst = (int)value;
    return SEQNET_OK;
}

int sn_vectorizer_rebuild_stop(seqnet_vectorizer *vec)
{
    sn_strtab t;
    size_t i;
    int rc = SEQNET_OK;
    uint32_t id;
    sn_strtab_init(&t, &vec->obj.alloc);
    if (vec->stop_english)
        for (i = 0; i < sn_english_stop_words_count && rc == SEQNET_OK; i++) {
            const uint8_t *w = (const uint8_t *)sn_english_stop_words[i];
            size_t n = strlen(sn_english_stop_words[i]);
            rc = sn_strtab_intern(&t, w, n, sn_hash_bytes(w, n), &id, NULL);
        }
    for (i = 0; i < vec->custom_stop.n && rc == SEQNET_OK; i++) {
        const uint8_t *w = (const uint8_t *)sn_strtab_str(&vec->custom_stop, (uint32_t)i);
        size_t n = vec->custom_stop.len[i];
        rc = sn_strtab_intern(&t, w, n, sn_hash_bytes(w, n), &id, NULL);
    }
    if (rc != SEQNET_OK) {
        sn_strtab_free(&t);
        return rc;
    }
    sn_strtab_free(&vec->stop);
    vec->stop = t;
    return SEQNET_OK;
}

SEQNET_API int seqnet_vectorizer_set_int(seqnet_vectorizer *vec, int32_t option, int64_t value)
{
    sn_object *o;
    int rc, old;
    if (vec == NULL)
        return SEQNET_EINVAL;
    o = &vec->obj;
    sn_clear_error(o);
    switch (option) {
    case SEQNET_VECTORIZER_LOWERCASE: return set_flag(vec, &vec->lower, value, "lowercase");
    case SEQNET_VECTORIZER_BINARY: return set_flag(vec, &vec->binary, value, "binary");
    case SEQNET_VECTORIZER_USE_IDF: return set_flag(vec, &vec->use_idf, value, "use_idf");
    case SEQNET_VECTORIZER_SMOOTH_IDF: return set_flag(vec, &vec->smooth_idf, value, "smooth_idf");
    case SEQNET_VECTORIZER_SUBLINEAR_TF: return set_flag(vec, &vec->sublinear, value, "sublinear_tf");
    case SEQNET_VECTORIZER_ALTERNATE_SIGN: return set_flag(vec, &vec->alternate_sign, value, "alternate_sign");
    case SEQNET_VECTORIZER_UTF8_STRICT: return set_flag(vec, &vec->strict, value, "utf8_strict");
    case SEQNET_VECTORIZER_STOP_WORDS_ENGLISH:
        old = vec->stop_english;
        if ((rc = set_flag(vec, &vec->stop_english, value, "stop_words_english")) != SEQNET_OK)
            return rc;
        if ((rc = sn_vectorizer_rebuild_stop(vec)) != SEQNET_OK)
            vec->stop_english = old;
        return rc;
    case SEQNET_VECTORIZER_NGRAM_MIN:
    case SEQNET_VECTORIZER_NGRAM_MAX:
        if (value < 1 || value > 1024)
            return sn_error(o, SEQNET_EINVAL, "ngram bounds must be in [1, 1024], got %lld", (long long)value);
        if (option == SEQNET_VECTORIZER_NGRAM_MIN)
            vec->ngram_min = value;
        else
            vec->ngram_max = value;
        return SEQNET_OK;
    case SEQNET_VECTORIZER_MAX_DF:
    case SEQNET_VECTORIZER_MIN_DF:
        if (value < 0)
            return sn_error(o, SEQNET_EINVAL, "%s as a count must be >= 0, got %lld",
                            option == SEQNET_VECTORIZER_MAX_DF ? "max_df" : "min_df", (long long)value);
        {
            sn_df_bound *b = option == SEQNET_VECTORIZER_MAX_DF ? &vec->max_df : &vec->min_df;
            b->is_fraction = 0;
            b->count = value;
        }
        return SEQNET_OK;
    case SEQNET_VECTORIZER_MAX_FEATURES:
        if (value < 0)
            return sn_error(o, SEQNET_EINVAL, "max_features must be >= 1 (or 0 for None), got %lld",
                            (long long)value);
        vec->max_features = value;
        return SEQNET_OK;
    case SEQNET_VECTORIZER_NORM:
        if (value != SEQNET_NORM_NONE && value != SEQNET_NORM_L1 && value != SEQNET_NORM_L2)
            return sn_error(o, SEQNET_EINVAL, "norm must be 0 (none), 1 (l1) or 2 (l2), got %lld",
                            (long long)value);
        vec->norm = (int32_t)value;
        return SEQNET_OK;
    case SEQNET_VECTORIZER_N_FEATURES:
        if (value < 1 || value >= INT32_MAX)
            return sn_error(o, SEQNET_EINVAL, "n_features must be in [1, %d), got %lld", INT32_MAX,
                            (long long)value);
        vec->n_features = value;
        return SEQNET_OK;
    default:
        return sn_error(o, SEQNET_EUNSUPPORTED, "vectorizer option %d is not an integer option", (int)option);
    }
}

SEQNET_API int seqnet_vectorizer_set_double(seqnet_vectorizer *vec, int32_t option, double value)
{
    sn_df_bound *b;
    if (vec == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&vec->obj);
    if (option != SEQNET_VECTORIZER_MAX_DF && option != SEQNET_VECTORIZER_MIN_DF)
        return sn_error(&vec->obj, SEQNET_EUNSUPPORTED, "vectorizer option %d is not a floating-point option",
                        (int)option);
    if (!(value >= 0.0 && value <= 1.0))
        return sn_error(&vec->obj, SEQNET_EINVAL,
                        "The '%s' parameter must be a float in the range [0, 1] or an int in the range "
                        "[1, inf). Got %g instead.",
                        option == SEQNET_VECTORIZER_MAX_DF ? "max_df" : "min_df", value);
    b = option == SEQNET_VECTORIZER_MAX_DF ? &vec->max_df : &vec->min_df;
    b->is_fraction = 1;
    b->fraction = value;
    return SEQNET_OK;
}

SEQNET_API int seqnet_vectorizer_get_option(const seqnet_vectorizer *vec, int32_t option, int64_t *ivalue,
                                            double *dvalue, int32_t *is_fraction)
{
    int64_t v;
    if (vec == NULL)
        return SEQNET_EINVAL;
    if (option == SEQNET_VECTORIZER_MAX_DF || option == SEQNET_VECTORIZER_MIN_DF) {
        const sn_df_bound *b = option == SEQNET_VECTORIZER_MAX_DF ? &vec->max_df : &vec->min_df;
        if (is_fraction != NULL)
            *is_fraction = b->is_fraction;
        if (dvalue != NULL)
            *dvalue = b->is_fraction ? b->fraction : (double)b->count;
        if (ivalue != NULL)
            *ivalue = b->is_fraction ? 0 : b->count;
        return SEQNET_OK;
    }
    switch (option) {
    case SEQNET_VECTORIZER_LOWERCASE: v = vec->lower; break;
    case SEQNET_VECTORIZER_NGRAM_MIN: v = vec->ngram_min; break;
    case SEQNET_VECTORIZER_NGRAM_MAX: v = vec->ngram_max; break;
    case SEQNET_VECTORIZER_MAX_FEATURES: v = vec->max_features; break;
    case SEQNET_VECTORIZER_BINARY: v = vec->binary; break;
    case SEQNET_VECTORIZER_STOP_WORDS_ENGLISH: v = vec->stop_english; break;
    case SEQNET_VECTORIZER_NORM: v = vec->norm; break;
    case SEQNET_VECTORIZER_USE_IDF: v = vec->use_idf; break;
    case SEQNET_VECTORIZER_SMOOTH_IDF: v = vec->smooth_idf; break;
    case SEQNET_VECTORIZER_SUBLINEAR_TF: v = vec->sublinear; break;
    case SEQNET_VECTORIZER_N_FEATURES: v = vec->n_features; break;
    case SEQNET_VECTORIZER_ALTERNATE_SIGN: v = vec->alternate_sign; break;
    case SEQNET_VECTORIZER_UTF8_STRICT: v = vec->strict; break;
    default: return SEQNET_EUNSUPPORTED;
    }
    if (ivalue != NULL)
        *ivalue = v;
    if (dvalue != NULL)
        *dvalue = (double)v;
    if (is_fraction != NULL)
        *is_fraction = 0;
    return SEQNET_OK;
}

/* Intern a list into a fresh table; duplicates are reported by position. */
static int list_table(seqnet_vectorizer *vec, const char *const *words, const size_t *lengths, size_t n,
                      int reject_duplicates, sn_strtab *out)
{
    size_t i;
    int rc = sn_check_texts(&vec->obj, words, lengths, n);
    sn_strtab_init(out, &vec->obj.alloc);
    for (i = 0; i < n && rc == SEQNET_OK; i++) {
        size_t len;
        const uint8_t *w = sn_text_at(words, lengths, i, &len);
        uint32_t id;
        int inserted;
        rc = sn_strtab_intern(out, w, len, sn_hash_bytes(w, len), &id, &inserted);
        if (rc == SEQNET_OK && !inserted && reject_duplicates)
            rc = sn_error(&vec->obj, SEQNET_EINVAL, "Duplicate term in vocabulary: '%.*s'",
                          (int)(len > 200 ? 200 : len), (const char *)w);
    }
    if (rc != SEQNET_OK)
        sn_strtab_free(out);
    return rc;
}

SEQNET_API int seqnet_vectorizer_set_stop_words(seqnet_vectorizer *vec, const char *const *words,
                                                const size_t *lengths, size_t n_words)
{
    sn_strtab t, old;
    int rc;
    if (vec == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&vec->obj);
    if ((rc = list_table(vec, words, lengths, n_words, 0, &t)) != SEQNET_OK)
        return rc;
    old = vec->custom_stop;
    vec->custom_stop = t;
    if ((rc = sn_vectorizer_rebuild_stop(vec)) != SEQNET_OK) {
        vec->custom_stop = old;
        sn_strtab_free(&t);
        return rc;
    }
    sn_strtab_free(&old);
    return SEQNET_OK;
}

SEQNET_API int seqnet_vectorizer_set_vocabulary(seqnet_vectorizer *vec, const char *const *words,
                                                const size_t *lengths, size_t n_words)
{
    sn_strtab t;
    int rc;
    if (vec == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&vec->obj);
    if (n_words > (size_t)INT32_MAX)
        return sn_error(&vec->obj, SEQNET_ETOOBIG, "vocabulary larger than %d terms", INT32_MAX);
    if ((rc = list_table(vec, words, lengths, n_words, 1, &t)) != SEQNET_OK)
        return rc;
    vec->fixed = 0;
    drop_fit(vec);
    sn_strtab_free(&vec->vocab);
    if (n_words > 0) {
        vec->vocab = t;
        vec->fixed = 1;
    } else {
        sn_strtab_free(&t);
    }
    return SEQNET_OK;
}

/* ---- queries ----------------------------------------------------------- */

static int need_vocab(const seqnet_vectorizer *vec)
{
    if (vec->kind == SEQNET_VECTORIZER_HASHING)
        return sn_error((sn_object *)&vec->obj, SEQNET_ESTATE, "a hashing vectorizer has no vocabulary");
    if (!vec->fitted && !vec->fixed)
        return sn_error((sn_object *)&vec->obj, SEQNET_ESTATE, "the vectorizer is not fitted");
    return SEQNET_OK;
}

SEQNET_API int seqnet_vectorizer_n_features(const seqnet_vectorizer *vec, size_t *n_features)
{
    int rc;
    if (vec == NULL || n_features == NULL)
        return SEQNET_EINVAL;
    if (vec->kind == SEQNET_VECTORIZER_HASHING) {
        *n_features = (size_t)vec->n_features;
        return SEQNET_OK;
    }
    if ((rc = need_vocab(vec)) != SEQNET_OK)
        return rc;
    *n_features = vec->vocab.n;
    return SEQNET_OK;
}

SEQNET_API int seqnet_vectorizer_feature_names(const seqnet_vectorizer *vec, char **names, size_t **offsets,
                                               size_t *n)
{
    int rc;
    if (names != NULL) *names = NULL;
    if (offsets != NULL) *offsets = NULL;
    if (vec == NULL || names == NULL || offsets == NULL || n == NULL)
        return SEQNET_EINVAL;
    if ((rc = need_vocab(vec)) != SEQNET_OK)
        return rc;
    *n = vec->vocab.n;
    return sn_strtab_export(&vec->vocab, NULL, vec->vocab.n, names, offsets);
}

SEQNET_API int seqnet_vectorizer_pruned_terms(const seqnet_vectorizer *vec, char **terms, size_t **offsets,
                                              size_t *n)
{
    int rc;
    if (terms != NULL) *terms = NULL;
    if (offsets != NULL) *offsets = NULL;
    if (vec == NULL || terms == NULL || offsets == NULL || n == NULL)
        return SEQNET_EINVAL;
    if ((rc = need_vocab(vec)) != SEQNET_OK)
        return rc;
    *n = vec->pruned.n;
    return sn_strtab_export(&vec->pruned, NULL, vec->pruned.n, terms, offsets);
}

SEQNET_API int seqnet_vectorizer_lookup(const seqnet_vectorizer *vec, const char *term, size_t len,
                                        int64_t *column)
{
    uint32_t id;
    int rc;
    if (vec == NULL || column == NULL || (term == NULL && len != 0))
        return SEQNET_EINVAL;
    *column = -1;
    if ((rc = need_vocab(vec)) != SEQNET_OK)
        return rc;
    if (term == NULL)
        term = "";
    if (sn_strtab_find(&vec->vocab, (const uint8_t *)term, len, sn_hash_bytes((const uint8_t *)term, len), &id))
        *column = id;
    return SEQNET_OK;
}

SEQNET_API int seqnet_vectorizer_idf(const seqnet_vectorizer *vec, double *out, size_t out_len)
{
    if (vec == NULL || (out == NULL && out_len != 0))
        return SEQNET_EINVAL;
    if (vec->kind != SEQNET_VECTORIZER_TFIDF || !vec->fitted || vec->idf == NULL || !vec->use_idf)
        return sn_error((sn_object *)&vec->obj, SEQNET_ESTATE, "idf_ exists only on a fitted tfidf vectorizer "
                                                                "with use_idf");
    if (out_len < vec->vocab.n)
        return sn_error((sn_object *)&vec->obj, SEQNET_EBUFFER, "idf_ needs %zu doubles", vec->vocab.n);
    if (vec->vocab.n > 0)
        memcpy(out, vec->idf, vec->vocab.n * sizeof *out);
    return SEQNET_OK;
}

SEQNET_API int seqnet_vectorizer_error_offset(const seqnet_vectorizer *vec, size_t *text, size_t *offset)
{
    if (vec == NULL)
        return SEQNET_EINVAL;
    if (!vec->have_bad)
        return SEQNET_ESTATE;
    if (text != NULL)
        *text = vec->bad_text;
    if (offset != NULL)
        *offset = vec->bad_offset;
    return SEQNET_OK;
}

void sn_vectorizer_analyzer(const seqnet_vectorizer *vec, sn_analyzer *an)
{
    an->lower = vec->lower;
    an->strict = vec->strict;
    an->ngram_min = (int)vec->ngram_min;
    an->ngram_max = (int)vec->ngram_max;
    an->stop = vec->stop.n > 0 ? &vec->stop : NULL;
    an->prefetch = NULL;
}

/* ---- rows: sort, weigh, normalise ------------------------------------------- */

void sn_sort_row(int32_t *cols, double *vals, size_t k)
{
    size_t i, j;
    /* Rows are short (a document's distinct terms): insertion sort, with a
     * shell-sort gap sequence for the rare long row. */
    static const size_t gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
    size_t g;
    for (g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
        size_t gap = gaps[g];
        if (gap >= k)
            continue;
        for (i = gap; i < k; i++) {
            int32_t c = cols[i];
            double v = vals[i];
            for (j = i; j >= gap && cols[j - gap] > c; j -= gap) {
                cols[j] = cols[j - gap];
                vals[j] = vals[j - gap];
            }
            cols[j] = c;
            vals[j] = v;
        }
    }
}

/* Sort 64-bit entries by their high 32 bits (a column below 2^col_bits):
 * insertion sort for short rows, else an LSD radix sort whose digit width
 * follows the row length (few buckets for short rows, so clearing and
 * summing them stays cheaper than the row), skipping digits every entry
 * shares. Stable. tmp holds k entries. */
void sn_sort_keys(uint64_t *keys, uint64_t *tmp, size_t k, unsigned col_bits)
{
    uint32_t count[2048];
    unsigned w = 4, shift;
    size_t i;
    uint64_t *src = keys, *dst = tmp;
    if (k <= 24) {
        for (i = 1; i < k; i++) {
            uint64_t v = keys[i];
            size_t j = i;
            while (j > 0 && (keys[j - 1] >> 32) > (v >> 32)) {
                keys[j] = keys[j - 1];
                j--;
            }
            keys[j] = v;
        }
        return;
    }
    while (w < 11 && ((size_t)1 << (w + 1)) <= k)
        w++;
    for (shift = 0; shift < col_bits; shift += w) {
        uint32_t mask = (1u << w) - 1u, sum = 0;
        size_t nb = (size_t)1 << w;
        uint64_t *t;
        memset(count, 0, nb * sizeof count[0]);
        for (i = 0; i < k; i++)
            count[(uint32_t)(src[i] >> (32 + shift)) & mask]++;
        if (count[(uint32_t)(src[0] >> (32 + shift)) & mask] == k)
            continue; /* one bucket: this digit is already in order */
        for (i = 0; i < nb; i++) {
            uint32_t c = count[i];
            count[i] = sum;
            sum += c;
        }
        for (i = 0; i < k; i++)
            dst[count[(uint32_t)(src[i] >> (32 + shift)) & mask]++] = src[i];
        t = src;
        src = dst;
        dst = t;
    }
    if (src != keys)
        memcpy(keys, src, k * sizeof *keys);
}

int sn_colset_init(const sn_alloc *a, sn_colset *set, size_t n)
{
    size_t n_w1 = (n + 63) / 64;
    set->n_w2 = (n_w1 + 63) / 64;
    set->bits1 = sn_calloc(a, n_w1 > 0 ? n_w1 : 1, sizeof *set->bits1);
    set->bits2 = sn_calloc(a, set->n_w2 > 0 ? set->n_w2 : 1, sizeof *set->bits2);
    if (set->bits1 == NULL || set->bits2 == NULL) {
        sn_colset_free(a, set);
        return SEQNET_ENOMEM;
    }
    return SEQNET_OK;
}

void sn_colset_free(const sn_alloc *a, sn_colset *set)
{
    sn_free(a, set->bits1);
    sn_free(a, set->bits2);
    memset(set, 0, sizeof *set);
}

unsigned sn_bits_for(size_t n)
{
    unsigned b = 1;
    while (b < 32 && ((size_t)1 << b) < n)
        b++;
    return b;
}

int sn_vectorizer_finish_row(seqnet_vectorizer *vec, int32_t *cols, double *vals, size_t k)
{
    size_t i;
    int norm = vec->kind == SEQNET_VECTORIZER_COUNT ? SEQNET_NORM_NONE : vec->norm;
    if (vec->binary)
        for (i = 0; i < k; i++)
            vals[i] = 1.0;
    if (vec->kind == SEQNET_VECTORIZER_TFIDF) {
        if (vec->sublinear)
            for (i = 0; i < k; i++)
                vals[i] = log(vals[i]) + 1.0;
        if (vec->use_idf)
            for (i = 0; i < k; i++) {
                double w = vec->idf[cols[i]];
                if (isinf(w))
                    return sn_error(&vec->obj, SEQNET_ENONFINITE,
                                    "term %d has an infinite idf (never seen in fit, smooth_idf off)",
                                    (int)cols[i]);
                vals[i] *= w;
            }
    }
    if (norm == SEQNET_NORM_L2) {
        double s = 0.0;
        for (i = 0; i < k; i++)
            s += vals[i] * vals[i];
        s = sqrt(s);
        if (s != 0.0)
            for (i = 0; i < k; i++)
                vals[i] /= s;
    } else if (norm == SEQNET_NORM_L1) {
        double s = 0.0;
        for (i = 0; i < k; i++)
            s += fabs(vals[i]);
        if (s != 0.0)
            for (i = 0; i < k; i++)
                vals[i] /= s;
    }
    return SEQNET_OK;
}
