/*
 * tests/text/test_text.c -- Check suite of the text room (white-box: links
 * the internal library, so internal helpers can be tested directly).
 *
 * The full golden file is checked through the Python binding
 * (test_text_py.py); this suite pins the C API's contracts: exact values of
 * the reference examples, Python's UTF-8 replacement rule, the error codes,
 * hostile serialized bytes, and that every allocation failure returns
 * SEQNET_ENOMEM and leaks nothing.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "seqnet/text.h"
#include "text/text_internal.h"
#include "text/text_io.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static seqnet_context *ctx;

static void setup(void)
{
    ck_assert_int_eq(seqnet_context_new(&ctx), SEQNET_OK);
}

static void teardown(void)
{
    seqnet_context_free(ctx);
    ctx = NULL;
}

static void lens_of(const char *const *texts, size_t *lens, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        lens[i] = strlen(texts[i]);
}

static int close_rel(double a, double b)
{
    return a == b || fabs(a - b) <= 1e-12 * fmax(fabs(a), fabs(b));
}

/* ---- UTF-8 and Unicode ---------------------------------------------------- */

/* Expected U+FFFD counts come from Python 3.11:
 * len(b.decode('utf-8', 'replace')) with every char U+FFFD. */
START_TEST(utf8_replacement_groups_maximal_subparts)
{
    static const struct { const char *bytes; size_t n; size_t n_fffd; } cases[] = {
        {"\xe0\x80", 2, 2},         {"\xf0\x90\x80", 3, 1}, {"\xed\xa0\x80", 3, 3},
        {"\xc3", 1, 1},             {"\xf4\x90\x80\x80", 4, 4}, {"\xc0\xaf", 2, 2},
        {"\xe2\x82", 2, 1},         {"\xff\xfe", 2, 2},      {"\xf0\x9f\x98", 3, 1},
    };
    size_t i;
    for (i = 0; i < N_OF(cases); i++) {
        char *out;
        size_t n, k, count = 0;
        ck_assert_int_eq(seqnet_text_lower(cases[i].bytes, cases[i].n, 0, 0, &out, &n, NULL), SEQNET_OK);
        for (k = 0; k + 3 <= n; k += 3)
            if (memcmp(out + k, "\xef\xbf\xbd", 3) == 0)
                count++;
        ck_assert_uint_eq(n, 3 * cases[i].n_fffd);
        ck_assert_uint_eq(count, cases[i].n_fffd);
        seqnet_free(out);
    }
}
END_TEST

START_TEST(utf8_strict_reports_offset)
{
    char *out = (char *)1;
    size_t n, bad = 0;
    ck_assert_int_eq(seqnet_text_lower("ok \xe2\x82 x", 7, 1, 1, &out, &n, &bad), SEQNET_EUTF8);
    ck_assert_ptr_null(out);
    ck_assert_uint_eq(bad, 3);
}
END_TEST

START_TEST(lower_matches_python_special_cases)
{
    static const struct { const char *in, *out; } cases[] = {
        {"\xc4\xb0stanbul", "i\xcc\x87stanbul"},                       /* İ -> i + U+0307 */
        {"\xce\x9f\xce\x94\xce\x9f\xce\xa3 \xce\xa3\xce\x9f\xce\xa6\xce\x9f\xce\xa3",
         "\xce\xbf\xce\xb4\xce\xbf\xcf\x82 \xcf\x83\xce\xbf\xcf\x86\xce\xbf\xcf\x82"}, /* final sigma */
        {"\xce\xa3", "\xcf\x83"},                                         /* lone sigma */
        {"A\xce\xa3'", "a\xcf\x82'"},                                   /* ignorable after */
        {"\xe1\xba\x9e", "\xc3\x9f"},                                     /* capital sharp s */
        {"\xef\xac\x81", "\xef\xac\x81"},                                 /* ligature fi unchanged */
        {"MiXeD", "mixed"},
    };
    size_t i;
    for (i = 0; i < N_OF(cases); i++) {
        char *out;
        size_t n;
        ck_assert_int_eq(seqnet_text_lower(cases[i].in, strlen(cases[i].in), 1, 0, &out, &n, NULL), SEQNET_OK);
        ck_assert_str_eq(out, cases[i].out);
        seqnet_free(out);
    }
}
END_TEST

START_TEST(word_chars_follow_python_re)
{
    ck_assert_int_eq(seqnet_text_is_word_char('_'), 1);
    ck_assert_int_eq(seqnet_text_is_word_char('-'), 0);
    ck_assert_int_eq(seqnet_text_is_word_char(0x00B2), 1);  /* superscript two (No) */
    ck_assert_int_eq(seqnet_text_is_word_char(0x0301), 0);  /* combining acute (Mn) */
    ck_assert_int_eq(seqnet_text_is_word_char(0x200D), 0);  /* ZWJ (Cf) */
    ck_assert_int_eq(seqnet_text_is_word_char(0x1F600), 0); /* emoji */
    ck_assert_int_eq(seqnet_text_is_word_char(0x4E09), 1);  /* CJK */
    ck_assert_int_eq(seqnet_text_is_word_char(0x11F04), 0); /* Kawi: Unicode 15, not in Python 3.11 */
    ck_assert_str_eq(seqnet_text_unicode_version(), "14.0.0");
}
END_TEST

START_TEST(murmur3_matches_sklearn)
{
    /* sklearn.utils.murmurhash3_32(s, 0) on Debian's python3-sklearn. */
    ck_assert_int_eq((int32_t)sn_murmur3_32((const uint8_t *)"foo", 3, 0), -156908512);
    ck_assert_int_eq((int32_t)sn_murmur3_32((const uint8_t *)"", 0, 0), 0);
    ck_assert_int_eq((int32_t)sn_murmur3_32((const uint8_t *)"hello world", 11, 0), 1586663183);
    ck_assert_int_eq((int32_t)sn_murmur3_32((const uint8_t *)"caf\xc3\xa9", 5, 0), 605818632);
    ck_assert_int_eq((int32_t)sn_murmur3_32((const uint8_t *)"abcde", 5, 0), -392455434);
}
END_TEST

/* ---- Tokenizer --------------------------------------------------------------- */

static const char *lecture[] = {"The cat sat on the mat.", "The dog ate my homework."};

/* Bit by bit, as the definition: reflected 0x82F63B78, inverted in and out. */
static uint32_t crc32c_bitwise(uint32_t crc, const uint8_t *p, size_t n)
{
    size_t i;
    int b;
    crc = ~crc;
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        for (b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

START_TEST(crc32c_matches_the_definition)
{
    static uint8_t buf[4096 + 16];
    uint32_t x = 12345u;
    size_t i, n, off;
    ck_assert_uint_eq(sn_crc32c(0, "123456789", 9), 0xE3069283u); /* the standard check value */
    ck_assert_uint_eq(sn_crc32c(0, "", 0), 0u);
    for (i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    /* every length up to 80 at every alignment, then long ones, and a CRC
     * carried across calls */
    for (off = 0; off < 8; off++)
        for (n = 0; n <= 80; n++)
            ck_assert_uint_eq(sn_crc32c(0, buf + off, n), crc32c_bitwise(0, buf + off, n));
    for (n = 4000; n <= 4096; n += 13)
        ck_assert_uint_eq(sn_crc32c(7u, buf + 3, n), crc32c_bitwise(7u, buf + 3, n));
    ck_assert_uint_eq(sn_crc32c(sn_crc32c(0, buf, 1000), buf + 1000, 3000), crc32c_bitwise(0, buf, 4000));
}
END_TEST

/* The pruned terms (stop_words_) are loaded as a plain list that must be
 * in strictly increasing order, as fit writes them: a record whose list is
 * reordered or repeats a term (CRC made right again) is refused. */
static void put_le32(uint8_t *p, uint32_t v)
{
    int i;
    for (i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

START_TEST(pruned_terms_must_be_in_order_on_load)
{
    const char *texts[] = {"aa bb cc", "aa dd", "aa ee"};
    const size_t lens[] = {8, 5, 5};
    seqnet_context *ctx = NULL;
    seqnet_vectorizer *vec = NULL, *back = NULL;
    void *data = NULL;
    uint8_t *buf, *b, *c;
    size_t size, n = 0, *offs = NULL;
    char *terms = NULL;
    int mode;
    ck_assert_int_eq(seqnet_context_new(&ctx), SEQNET_OK);
    ck_assert_int_eq(seqnet_vectorizer_new(ctx, SEQNET_VECTORIZER_COUNT, &vec), SEQNET_OK);
    ck_assert_int_eq(seqnet_vectorizer_set_int(vec, SEQNET_VECTORIZER_MIN_DF, 2), SEQNET_OK);
    ck_assert_int_eq(seqnet_vectorizer_fit(vec, texts, lens, 3), SEQNET_OK);
    ck_assert_int_eq(seqnet_vectorizer_save(vec, &data, &size), SEQNET_OK);
    /* as saved: loads, and hands the terms back in order */
    ck_assert_int_eq(seqnet_vectorizer_load(ctx, data, size, &back), SEQNET_OK);
    ck_assert_int_eq(seqnet_vectorizer_pruned_terms(back, &terms, &offs, &n), SEQNET_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert(memcmp(terms, "bbccddee", 8) == 0);
    seqnet_free(terms);
    seqnet_free(offs);
    seqnet_vectorizer_free(back);
    buf = malloc(size);
    ck_assert(buf != NULL);
    for (mode = 0; mode < 2; mode++) {
        memcpy(buf, data, size);
        /* the last "bb" and "cc" of the record are the pruned terms */
        for (b = NULL, c = buf; c + 2 <= buf + size; c++)
            if (memcmp(c, "bb", 2) == 0)
                b = c;
        for (c = b; c + 2 <= buf + size && memcmp(c, "cc", 2) != 0; c++)
            ;
        ck_assert(b != NULL && c + 2 <= buf + size);
        if (mode == 0) { /* cc bb: out of order */
            memcpy(b, "cc", 2);
            memcpy(c, "bb", 2);
        } else { /* bb bb: repeated */
            memcpy(c, "bb", 2);
        }
        put_le32(buf + size - 4, sn_crc32c(0, buf, size - 4));
        back = NULL;
        ck_assert_int_eq(seqnet_vectorizer_load(ctx, buf, size, &back), SEQNET_EFORMAT);
        ck_assert_ptr_null(back);
        ck_assert(strstr(seqnet_errmsg(ctx), "pruned terms") != NULL);
    }
    free(buf);
    seqnet_free(data);
    seqnet_vectorizer_free(vec);
    seqnet_context_free(ctx);
}
END_TEST

START_TEST(tokenizer_lecture_example)
{
    seqnet_tokenizer *tok;
    size_t lens[2], *offs, width;
    int32_t *ids, idx;
    double *m;
    static const int32_t want[] = {1, 2, 3, 4, 1, 5, 1, 6, 7, 8, 9};
    size_t i;
    lens_of(lecture, lens, 2);
    ck_assert_int_eq(seqnet_tokenizer_new(ctx, &tok), SEQNET_OK);
    ck_assert_int_eq(seqnet_tokenizer_set_int(tok, SEQNET_TOKENIZER_NUM_WORDS, 1000), SEQNET_OK);
    ck_assert_int_eq(seqnet_tokenizer_fit(tok, lecture, lens, 2), SEQNET_OK);
    ck_assert_int_eq(seqnet_tokenizer_lookup(tok, "homework", 8, &idx), SEQNET_OK);
    ck_assert_int_eq(idx, 9);
    ck_assert_int_eq(seqnet_tokenizer_texts_to_sequences(tok, lecture, lens, 2, &ids, &offs), SEQNET_OK);
    ck_assert_uint_eq(offs[1], 6);
    ck_assert_uint_eq(offs[2], 11);
    for (i = 0; i < 11; i++)
        ck_assert_int_eq(ids[i], want[i]);
    seqnet_free(ids);
    seqnet_free(offs);
    ck_assert_int_eq(seqnet_tokenizer_matrix_width(tok, &width), SEQNET_OK);
    ck_assert_uint_eq(width, 1000);
    m = malloc(2000 * sizeof *m);
    ck_assert_int_eq(seqnet_tokenizer_texts_to_matrix(tok, lecture, lens, 2, SEQNET_MODE_TFIDF, m, 1999),
                     SEQNET_EBUFFER);
    ck_assert_int_eq(seqnet_tokenizer_texts_to_matrix(tok, lecture, lens, 2, SEQNET_MODE_TFIDF, m, 2000),
                     SEQNET_OK);
    ck_assert(close_rel(m[1], 0.8649029646371624));
    ck_assert(close_rel(m[2], 0.6931471805599453));
    ck_assert(close_rel(m[1000 + 1], 0.5108256237659906));
    ck_assert(m[0] == 0.0 && m[1000] == 0.0);
    free(m);
    seqnet_tokenizer_free(tok);
}
END_TEST

START_TEST(tokenizer_oov_collision_leaves_index_one_empty)
{
    /* oov_token "b" is also a word: word_index["b"] = its rank + 2, and no
     * word has index 1 (dict(zip()) semantics). */
    static const char *texts[] = {"a a b"};
    size_t lens[1] = {5}, n;
    seqnet_tokenizer *tok;
    int32_t idx;
    const char *w;
    ck_assert_int_eq(seqnet_tokenizer_new(ctx, &tok), SEQNET_OK);
    ck_assert_int_eq(seqnet_tokenizer_set_string(tok, SEQNET_TOKENIZER_OOV_TOKEN, "b", 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_tokenizer_fit(tok, texts, lens, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_tokenizer_lookup(tok, "b", 1, &idx), SEQNET_OK);
    ck_assert_int_eq(idx, 3);
    ck_assert_int_eq(seqnet_tokenizer_index_word(tok, 1, &w, NULL), SEQNET_ERANGE);
    ck_assert_int_eq(seqnet_tokenizer_index_size(tok, &n), SEQNET_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(seqnet_tokenizer_matrix_width(tok, &n), SEQNET_OK);
    ck_assert_uint_eq(n, 3);
    seqnet_tokenizer_free(tok);
}
END_TEST

START_TEST(tokenizer_errors)
{
    seqnet_tokenizer *tok;
    size_t offs[2] = {0, 2}, width;
    int32_t ids[2] = {1, -1}, big[2] = {1, 7};
    double m[8];
    static const char *texts[] = {"a b"};
    size_t lens[1] = {3};
    int64_t v;
    ck_assert_int_eq(seqnet_tokenizer_new(ctx, &tok), SEQNET_OK);
    ck_assert_int_eq(seqnet_tokenizer_matrix_width(tok, &width), SEQNET_ESTATE);
    ck_assert_int_eq(seqnet_tokenizer_set_int(tok, 999, 1), SEQNET_EUNSUPPORTED);
    ck_assert_int_eq(seqnet_tokenizer_set_int(tok, SEQNET_TOKENIZER_OOV_TOKEN, 1), SEQNET_EUNSUPPORTED);
    ck_assert_int_eq(seqnet_tokenizer_set_string(tok, SEQNET_TOKENIZER_NUM_WORDS, "x", 1), SEQNET_EUNSUPPORTED);
    ck_assert_int_eq(seqnet_tokenizer_get_int(tok, 999, &v), SEQNET_EUNSUPPORTED);
    ck_assert_int_eq(seqnet_tokenizer_set_int(tok, SEQNET_TOKENIZER_NUM_WORDS, -1), SEQNET_EINVAL);
    ck_assert_int_eq(seqnet_tokenizer_set_int(tok, SEQNET_TOKENIZER_NUM_WORDS, 4), SEQNET_OK);
    ck_assert_int_eq(seqnet_tokenizer_sequences_to_matrix(tok, ids, offs, 1, SEQNET_MODE_COUNT, m, 8), SEQNET_ERANGE);
    ck_assert_str_ne(seqnet_errmsg(tok), "");
    /* Keras drops ids >= width; strict mode refuses them. */
    ck_assert_int_eq(seqnet_tokenizer_sequences_to_matrix(tok, big, offs, 1, SEQNET_MODE_FREQ, m, 8), SEQNET_OK);
    ck_assert(m[1] == 0.5);
    ck_assert_int_eq(seqnet_tokenizer_set_int(tok, SEQNET_TOKENIZER_STRICT_IDS, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_tokenizer_sequences_to_matrix(tok, big, offs, 1, SEQNET_MODE_FREQ, m, 8), SEQNET_ERANGE);
    ck_assert_int_eq(seqnet_tokenizer_sequences_to_matrix(tok, big, offs, 1, SEQNET_MODE_TFIDF, m, 8), SEQNET_ESTATE);
    ck_assert_int_eq(seqnet_tokenizer_set_string(tok, SEQNET_TOKENIZER_SPLIT, "", 0), SEQNET_OK);
    ck_assert_int_eq(seqnet_tokenizer_fit(tok, texts, lens, 1), SEQNET_EINVAL);
    ck_assert_int_eq(seqnet_tokenizer_set_int(tok, SEQNET_TOKENIZER_CHAR_LEVEL, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_tokenizer_fit(tok, texts, lens, 1), SEQNET_OK);
    seqnet_tokenizer_free(tok);
    seqnet_tokenizer_free(NULL);
}
END_TEST

START_TEST(tokenizer_strict_utf8_offset)
{
    seqnet_tokenizer *tok;
    static const char *texts[] = {"fine", "bad \xc3 byte"};
    size_t lens[2] = {4, 10}, t, off;
    ck_assert_int_eq(seqnet_tokenizer_new(ctx, &tok), SEQNET_OK);
    ck_assert_int_eq(seqnet_tokenizer_set_int(tok, SEQNET_TOKENIZER_UTF8_STRICT, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_tokenizer_fit(tok, texts, lens, 2), SEQNET_EUTF8);
    ck_assert_int_eq(seqnet_tokenizer_error_offset(tok, &t, &off), SEQNET_OK);
    ck_assert_uint_eq(t, 1);
    ck_assert_uint_eq(off, 4);
    ck_assert_int_eq(seqnet_tokenizer_word_count(tok, &t), SEQNET_OK);
    ck_assert_uint_eq(t, 0); /* all-or-nothing: "fine" was not kept */
    seqnet_tokenizer_free(tok);
}
END_TEST

/* ---- pad_sequences ------------------------------------------------------------ */

START_TEST(pad_keras_examples)
{
    static const int32_t ids[] = {1, 2, 3, 4, 5, 6};
    static const size_t offs[] = {0, 1, 3, 6};
    static const int32_t pre[] = {0, 0, 1, 0, 2, 3, 4, 5, 6}, post2[] = {1, 0, 2, 3, 4, 5};
    int32_t out[9];
    size_t cols, i;
    ck_assert_int_eq(seqnet_pad_sequences(ids, offs, 3, -1, SEQNET_PAD_PRE, SEQNET_PAD_PRE, 0, NULL, 0, &cols),
                     SEQNET_OK);
    ck_assert_uint_eq(cols, 3);
    ck_assert_int_eq(seqnet_pad_sequences(ids, offs, 3, -1, SEQNET_PAD_PRE, SEQNET_PAD_PRE, 0, out, 9, &cols),
                     SEQNET_OK);
    for (i = 0; i < 9; i++)
        ck_assert_int_eq(out[i], pre[i]);
    ck_assert_int_eq(seqnet_pad_sequences(ids, offs, 3, 2, SEQNET_PAD_POST, SEQNET_PAD_POST, 0, out, 6, &cols),
                     SEQNET_OK);
    for (i = 0; i < 6; i++)
        ck_assert_int_eq(out[i], post2[i]);
    ck_assert_int_eq(seqnet_pad_sequences(ids, offs, 3, 2, 7, SEQNET_PAD_PRE, 0, out, 6, &cols), SEQNET_EUNSUPPORTED);
    ck_assert_int_eq(seqnet_pad_sequences(ids, offs, 3, 3, 0, 0, 0, out, 8, &cols), SEQNET_EBUFFER);
    ck_assert_int_eq(seqnet_pad_sequences(NULL, NULL, 0, -1, 0, 0, 0, out, 9, &cols), SEQNET_EEMPTY);
    ck_assert_int_eq(seqnet_pad_sequences(ids, offs, 3, 0, 0, 0, 0, out, 0, &cols), SEQNET_OK);
    ck_assert_uint_eq(cols, 0);
}
END_TEST

START_TEST(pad_f64_casts_and_rejects_nan)
{
    double vals[] = {1.9, -1.9, 2.5}, bad[] = {NAN};
    size_t offs[] = {0, 3}, offs1[] = {0, 1}, cols;
    int32_t out[3];
    float outf[4];
    ck_assert_int_eq(seqnet_pad_sequences_f64(vals, offs, 1, -1, 0, 0, 0.0, SEQNET_DTYPE_INT32, out, 3, &cols),
                     SEQNET_OK);
    ck_assert_int_eq(out[0], 1);
    ck_assert_int_eq(out[1], -1);
    ck_assert_int_eq(out[2], 2);
    ck_assert_int_eq(seqnet_pad_sequences_f64(bad, offs1, 1, -1, 0, 0, 0.0, SEQNET_DTYPE_INT32, out, 3, &cols),
                     SEQNET_ERANGE);
    ck_assert_int_eq(seqnet_pad_sequences_f64(vals, offs, 1, 4, 0, 0, -1.0, SEQNET_DTYPE_FLOAT32, outf, 4, &cols),
                     SEQNET_OK);
    ck_assert(outf[0] == -1.0f && outf[1] == 1.9f);
    ck_assert_int_eq(seqnet_pad_sequences_f64(vals, offs, 1, 4, 0, 0, 0.0, 42, outf, 4, &cols), SEQNET_EUNSUPPORTED);
}
END_TEST

/* ---- vectorizers --------------------------------------------------------------- */

static const char *bow[] = {"The cat sat on the hat", "The dog ate the cat and the hat"};

START_TEST(tfidf_bag_of_words_example)
{
    seqnet_vectorizer *vec;
    size_t lens[2], *indptr, n;
    int32_t *indices;
    double *data, idf[8];
    char *names;
    size_t *noffs;
    static const double row0[] = {0.3170107295865702, 0.3170107295865702, 0.44554751932983694,
                                  0.44554751932983694, 0.6340214591731403};
    static const int32_t cols0[] = {2, 4, 5, 6, 7};
    size_t i;
    lens_of(bow, lens, 2);
    ck_assert_int_eq(seqnet_vectorizer_new(ctx, SEQNET_VECTORIZER_TFIDF, &vec), SEQNET_OK);
    ck_assert_int_eq(seqnet_vectorizer_fit_transform(vec, bow, lens, 2, &indptr, &indices, &data), SEQNET_OK);
    ck_assert_uint_eq(indptr[1], 5);
    for (i = 0; i < 5; i++) {
        ck_assert_int_eq(indices[i], cols0[i]);
        ck_assert(close_rel(data[i], row0[i]));
    }
    seqnet_free(indptr);
    seqnet_free(indices);
    seqnet_free(data);
    ck_assert_int_eq(seqnet_vectorizer_idf(vec, idf, 8), SEQNET_OK);
    ck_assert(close_rel(idf[0], log(1.5) + 1.0));
    ck_assert_int_eq(seqnet_vectorizer_feature_names(vec, &names, &noffs, &n), SEQNET_OK);
    ck_assert_uint_eq(n, 8);
    ck_assert_str_eq(names, "andatecatdoghatonsatthe");
    seqnet_free(names);
    seqnet_free(noffs);
    seqnet_vectorizer_free(vec);
}
END_TEST

START_TEST(vectorizer_errors)
{
    seqnet_vectorizer *vec;
    size_t lens[2], *indptr, n;
    int32_t *indices;
    double *data;
    static const char *stops[] = {"the the"};
    lens_of(bow, lens, 2);
    ck_assert_int_eq(seqnet_vectorizer_new(ctx, 77, &vec), SEQNET_EUNSUPPORTED);
    ck_assert_int_eq(seqnet_vectorizer_new(ctx, SEQNET_VECTORIZER_COUNT, &vec), SEQNET_OK);
    ck_assert_int_eq(seqnet_vectorizer_transform(vec, bow, lens, 2, &indptr, &indices, &data), SEQNET_ESTATE);
    ck_assert_ptr_null(indptr);
    ck_assert_int_eq(seqnet_vectorizer_set_double(vec, SEQNET_VECTORIZER_MAX_DF, 3.0), SEQNET_EINVAL);
    ck_assert_int_eq(seqnet_vectorizer_set_double(vec, SEQNET_VECTORIZER_NORM, 1.0), SEQNET_EUNSUPPORTED);
    ck_assert_int_eq(seqnet_vectorizer_set_int(vec, 1234, 1), SEQNET_EUNSUPPORTED);
    ck_assert_int_eq(seqnet_vectorizer_set_int(vec, SEQNET_VECTORIZER_MIN_DF, 3), SEQNET_OK);
    ck_assert_int_eq(seqnet_vectorizer_set_int(vec, SEQNET_VECTORIZER_MAX_DF, 2), SEQNET_OK);
    ck_assert_int_eq(seqnet_vectorizer_fit(vec, bow, lens, 2), SEQNET_EINVAL);
    ck_assert_int_eq(seqnet_vectorizer_set_int(vec, SEQNET_VECTORIZER_MIN_DF, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_vectorizer_set_int(vec, SEQNET_VECTORIZER_MAX_DF, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_vectorizer_fit(vec, bow, lens, 2), SEQNET_OK); /* df <= 1: 5 terms */
    ck_assert_int_eq(seqnet_vectorizer_n_features(vec, &n), SEQNET_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(seqnet_vectorizer_set_int(vec, SEQNET_VECTORIZER_MIN_DF, 2), SEQNET_OK);
    ck_assert_int_eq(seqnet_vectorizer_set_int(vec, SEQNET_VECTORIZER_MAX_DF, 2), SEQNET_OK);
    ck_assert_int_eq(seqnet_vectorizer_set_int(vec, SEQNET_VECTORIZER_MAX_FEATURES, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_vectorizer_fit(vec, bow, lens, 2), SEQNET_OK);
    ck_assert_int_eq(seqnet_vectorizer_n_features(vec, &n), SEQNET_OK);
    ck_assert_uint_eq(n, 1); /* cat, hat, the tie on df; 'the' has the largest count */
    lens[0] = 7;
    ck_assert_int_eq(seqnet_vectorizer_set_vocabulary(vec, stops, lens, 1), SEQNET_OK);
    ck_assert_int_eq(seqnet_vectorizer_n_features(vec, &n), SEQNET_OK);
    ck_assert_uint_eq(n, 1);
    seqnet_vectorizer_free(vec);
    ck_assert_int_eq(seqnet_vectorizer_new(ctx, SEQNET_VECTORIZER_HASHING, &vec), SEQNET_OK);
    ck_assert_int_eq(seqnet_vectorizer_transform(vec, NULL, NULL, 0, &indptr, &indices, &data), SEQNET_EEMPTY);
    ck_assert_int_eq(seqnet_vectorizer_set_int(vec, SEQNET_VECTORIZER_N_FEATURES, 0), SEQNET_EINVAL);
    seqnet_vectorizer_free(vec);
}
END_TEST

/* ---- serialization against hostile bytes ------------------------------------------ */

static int save_both(seqnet_context *c, void **tok_bytes, size_t *tok_size, void **vec_bytes, size_t *vec_size)
{
    static const char *texts[] = {"Grüße aus München", "the cat and the hat", "ΟΔΟΣ ΣΟΦΟΣ x"};
    size_t lens[3];
    seqnet_tokenizer *tok = NULL;
    seqnet_vectorizer *vec = NULL;
    int32_t ids[] = {1, 2, 9};
    size_t offs[] = {0, 3};
    int rc;
    lens_of(texts, lens, 3);
    *tok_bytes = *vec_bytes = NULL;
    rc = seqnet_tokenizer_new(c, &tok);
    if (rc == SEQNET_OK) rc = seqnet_tokenizer_set_string(tok, SEQNET_TOKENIZER_OOV_TOKEN, "<OOV>", 5);
    if (rc == SEQNET_OK) rc = seqnet_tokenizer_fit(tok, texts, lens, 3);
    if (rc == SEQNET_OK) rc = seqnet_tokenizer_fit_sequences(tok, ids, offs, 1);
    if (rc == SEQNET_OK) rc = seqnet_tokenizer_save(tok, tok_bytes, tok_size);
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_new(c, SEQNET_VECTORIZER_TFIDF, &vec);
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_set_int(vec, SEQNET_VECTORIZER_NGRAM_MAX, 2);
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_set_int(vec, SEQNET_VECTORIZER_STOP_WORDS_ENGLISH, 1);
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_set_int(vec, SEQNET_VECTORIZER_MAX_FEATURES, 5);
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_fit(vec, texts, lens, 3);
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_save(vec, vec_bytes, vec_size);
    seqnet_tokenizer_free(tok);
    seqnet_vectorizer_free(vec);
    return rc;
}

START_TEST(load_survives_every_truncation_and_flip)
{
    void *tb, *vb;
    size_t ts, vs, cut, bit;
    seqnet_tokenizer *tok;
    seqnet_vectorizer *vec;
    ck_assert_int_eq(save_both(ctx, &tb, &ts, &vb, &vs), SEQNET_OK);
    ck_assert_int_eq(seqnet_tokenizer_load(ctx, tb, ts, &tok), SEQNET_OK);
    seqnet_tokenizer_free(tok);
    ck_assert_int_eq(seqnet_vectorizer_load(ctx, vb, vs, &vec), SEQNET_OK);
    seqnet_vectorizer_free(vec);
    ck_assert_int_eq(seqnet_vectorizer_load(ctx, tb, ts, &vec), SEQNET_EWRONGTYPE);
    for (cut = 0; cut < ts; cut++) {
        int rc = seqnet_tokenizer_load(ctx, tb, cut, &tok);
        ck_assert_msg(rc == SEQNET_ETRUNCATED, "cut %zu gave %d", cut, rc);
        ck_assert_ptr_null(tok);
    }
    for (bit = 0; bit < 8 * vs; bit += 3) {
        unsigned char *p = vb;
        int rc;
        p[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        rc = seqnet_vectorizer_load(ctx, vb, vs, &vec);
        ck_assert_msg(rc != SEQNET_OK, "flip %zu accepted", bit);
        p[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    ((unsigned char *)tb)[8] = 9; /* version 9 */
    ck_assert_int_eq(seqnet_tokenizer_load(ctx, tb, ts, &tok), SEQNET_EVERSION);
    seqnet_free(tb);
    seqnet_free(vb);
}
END_TEST

typedef struct stream {
    const unsigned char *p;
    size_t n, pos;
} stream;

static int stream_read(void *user, void *data, size_t size)
{
    stream *s = user;
    if (size > s->n - s->pos)
        return 1;
    memcpy(data, s->p + s->pos, size);
    s->pos += size;
    return 0;
}

static int stream_write(void *user, const void *data, size_t size)
{
    stream *s = user;
    unsigned char *dst = (unsigned char *)s->p;
    if (size > s->n - s->pos)
        return 1;
    memcpy(dst + s->pos, data, size);
    s->pos += size;
    return 0;
}

START_TEST(callbacks_round_trip)
{
    void *tb, *vb;
    size_t ts, vs;
    unsigned char buf[8192];
    stream w = {buf, sizeof buf, 0}, r;
    seqnet_tokenizer *tok, *tok2;
    ck_assert_int_eq(save_both(ctx, &tb, &ts, &vb, &vs), SEQNET_OK);
    ck_assert_int_eq(seqnet_tokenizer_load(ctx, tb, ts, &tok), SEQNET_OK);
    ck_assert_int_eq(seqnet_tokenizer_save_to(tok, stream_write, &w), SEQNET_OK);
    ck_assert_int_eq(seqnet_tokenizer_save_to(tok, stream_write, &w), SEQNET_OK);
    ck_assert_uint_eq(w.pos, 2 * ts);
    ck_assert(memcmp(buf, tb, ts) == 0);
    r.p = buf;
    r.n = w.pos;
    r.pos = 0;
    ck_assert_int_eq(seqnet_tokenizer_load_from(ctx, stream_read, &r, &tok2), SEQNET_OK);
    seqnet_tokenizer_free(tok2);
    ck_assert_uint_eq(r.pos, ts); /* never reads past the object */
    r.n = r.pos + ts - 1;
    ck_assert_int_eq(seqnet_tokenizer_load_from(ctx, stream_read, &r, &tok2), SEQNET_ETRUNCATED);
    w.n = 10;
    w.pos = 0;
    ck_assert_int_eq(seqnet_tokenizer_save_to(tok, stream_write, &w), SEQNET_EIO);
    seqnet_tokenizer_free(tok);
    seqnet_free(tb);
    seqnet_free(vb);
}
END_TEST

/* ---- allocation failures ----------------------------------------------------------- */

typedef struct fail_alloc {
    long countdown; /* fail when it reaches 0; negative: never */
    long live;      /* blocks currently allocated */
} fail_alloc;

static void *fa_alloc(void *user, size_t size)
{
    fail_alloc *f = user;
    void *p;
    if (f->countdown == 0)
        return NULL;
    if (f->countdown > 0)
        f->countdown--;
    p = malloc(size);
    if (p != NULL)
        f->live++;
    return p;
}

static void *fa_realloc(void *user, void *ptr, size_t old_size, size_t new_size)
{
    fail_alloc *f = user;
    (void)old_size;
    if (f->countdown == 0)
        return NULL;
    if (f->countdown > 0)
        f->countdown--;
    return realloc(ptr, new_size);
}

static void fa_free(void *user, void *ptr, size_t size)
{
    fail_alloc *f = user;
    (void)size;
    f->live--;
    free(ptr);
}

/* Everything the room does, on one context; returns the first error. */
static int scenario(seqnet_context *c)
{
    static const char *texts[] = {"The cat sat on the mat.", "ΟΔΟΣ \xff Grüße", "a b c d e f g h i j k"};
    size_t lens[3], *offs = NULL, *indptr = NULL, n;
    int32_t *ids = NULL, *indices = NULL;
    double *data = NULL, m[64];
    char *words = NULL, *s = NULL;
    size_t *woffs = NULL, *soffs = NULL;
    void *tb = NULL, *vb = NULL;
    size_t ts = 0, vs = 0;
    seqnet_tokenizer *tok = NULL, *tok2 = NULL;
    seqnet_vectorizer *vec = NULL, *vec2 = NULL, *hv = NULL;
    int32_t *ix = NULL;
    int64_t *dv = NULL;
    int rc;
    lens_of(texts, lens, 3);
    rc = seqnet_tokenizer_new(c, &tok);
    if (rc == SEQNET_OK) rc = seqnet_tokenizer_set_string(tok, SEQNET_TOKENIZER_OOV_TOKEN, "<OOV>", 5);
    if (rc == SEQNET_OK) rc = seqnet_tokenizer_set_string(tok, SEQNET_TOKENIZER_FILTERS, ".\xc3\xa9", 3);
    if (rc == SEQNET_OK) rc = seqnet_tokenizer_fit(tok, texts, lens, 3);
    if (rc == SEQNET_OK) rc = seqnet_tokenizer_set_string(tok, SEQNET_TOKENIZER_SPLIT, "a ", 2);
    if (rc == SEQNET_OK) rc = seqnet_tokenizer_fit(tok, texts, lens, 3);
    if (rc == SEQNET_OK) rc = seqnet_tokenizer_texts_to_sequences(tok, texts, lens, 3, &ids, &offs);
    if (rc == SEQNET_OK) rc = seqnet_tokenizer_sequences_to_texts(tok, ids, offs, 3, &s, &soffs);
    if (rc == SEQNET_OK) rc = seqnet_tokenizer_fit_sequences(tok, ids, offs, 3);
    if (rc == SEQNET_OK) rc = seqnet_tokenizer_set_int(tok, SEQNET_TOKENIZER_NUM_WORDS, 20);
    if (rc == SEQNET_OK) rc = seqnet_tokenizer_texts_to_matrix(tok, texts, lens, 3, SEQNET_MODE_TFIDF, m, 64);
    if (rc == SEQNET_OK) rc = seqnet_tokenizer_export_words(tok, &words, &woffs, NULL, NULL, NULL, &n);
    if (rc == SEQNET_OK) rc = seqnet_tokenizer_export_index_docs(tok, &ix, &dv, &n);
    if (rc == SEQNET_OK) rc = seqnet_tokenizer_save(tok, &tb, &ts);
    if (rc == SEQNET_OK) rc = seqnet_tokenizer_load(c, tb, ts, &tok2);
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_new(c, SEQNET_VECTORIZER_TFIDF, &vec);
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_set_int(vec, SEQNET_VECTORIZER_NGRAM_MAX, 3);
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_set_int(vec, SEQNET_VECTORIZER_STOP_WORDS_ENGLISH, 1);
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_set_stop_words(vec, texts, lens, 1);
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_set_int(vec, SEQNET_VECTORIZER_MAX_FEATURES, 6);
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_fit_transform(vec, texts, lens, 3, &indptr, &indices, &data);
    seqnet_free(indptr); seqnet_free(indices); seqnet_free(data);
    indptr = NULL; indices = NULL; data = NULL;
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_transform(vec, texts, lens, 3, &indptr, &indices, &data);
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_transform_dense(vec, texts, lens, 3, m, 64);
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_save(vec, &vb, &vs);
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_load(c, vb, vs, &vec2);
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_set_vocabulary(vec2, texts, lens, 3);
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_fit(vec2, texts, lens, 3);
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_new(c, SEQNET_VECTORIZER_HASHING, &hv);
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_set_int(hv, SEQNET_VECTORIZER_NGRAM_MAX, 2);
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_transform_dense(hv, texts, lens, 1, NULL, 0) == SEQNET_EBUFFER
                                  ? SEQNET_OK : -100;
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_set_int(hv, SEQNET_VECTORIZER_N_FEATURES, 16);
    if (rc == SEQNET_OK) rc = seqnet_vectorizer_transform_dense(hv, texts, lens, 3, m, 64);
    seqnet_free(offs); seqnet_free(ids); seqnet_free(s); seqnet_free(soffs);
    seqnet_free(words); seqnet_free(woffs); seqnet_free(ix); seqnet_free(dv);
    seqnet_free(indptr); seqnet_free(indices); seqnet_free(data);
    seqnet_free(tb); seqnet_free(vb);
    seqnet_tokenizer_free(tok); seqnet_tokenizer_free(tok2);
    seqnet_vectorizer_free(vec); seqnet_vectorizer_free(vec2); seqnet_vectorizer_free(hv);
    return rc;
}

START_TEST(every_allocation_failure_is_enomem_without_leaks)
{
    long nth;
    int done = 0;
    for (nth = 0; !done && nth < 100000; nth++) {
        fail_alloc f = {-1, 0};
        seqnet_context *c;
        int rc;
        ck_assert_int_eq(seqnet_context_new_with_allocator(fa_alloc, fa_realloc, fa_free, &f, &c), SEQNET_OK);
        f.countdown = nth;
        rc = scenario(c);
        ck_assert_msg(rc == SEQNET_OK || rc == SEQNET_ENOMEM, "failure %ld gave %d", nth, rc);
        done = rc == SEQNET_OK;
        seqnet_context_free(c);
        ck_assert_msg(f.live == 0, "failure %ld leaked %ld blocks", nth, f.live);
    }
    ck_assert(done);
}
END_TEST

static Suite *text_suite(void)
{
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("text");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, utf8_replacement_groups_maximal_subparts);
    tcase_add_test(tc, utf8_strict_reports_offset);
    tcase_add_test(tc, lower_matches_python_special_cases);
    tcase_add_test(tc, word_chars_follow_python_re);
    tcase_add_test(tc, murmur3_matches_sklearn);
    tcase_add_test(tc, crc32c_matches_the_definition);
    tcase_add_test(tc, pruned_terms_must_be_in_order_on_load);
    tcase_add_test(tc, tokenizer_lecture_example);
    tcase_add_test(tc, tokenizer_oov_collision_leaves_index_one_empty);
    tcase_add_test(tc, tokenizer_errors);
    tcase_add_test(tc, tokenizer_strict_utf8_offset);
    tcase_add_test(tc, pad_keras_examples);
    tcase_add_test(tc, pad_f64_casts_and_rejects_nan);
    tcase_add_test(tc, tfidf_bag_of_words_example);
    tcase_add_test(tc, vectorizer_errors);
    tcase_add_test(tc, load_survives_every_truncation_and_flip);
    tcase_add_test(tc, callbacks_round_trip);
    tcase_add_test(tc, every_allocation_failure_is_enomem_without_leaks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(text_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
