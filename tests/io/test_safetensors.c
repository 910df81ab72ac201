/*
 * tests/io/test_safetensors.c -- the safetensors export: a purpose-built
 * parser reads the header back and every tensor's name, dtype, shape,
 * offsets and bytes are checked against seqnet_model_weight_info /
 * seqnet_model_get_weight; names are escaped as JSON requires; the callback
 * variant writes the same bytes; failures (NULLs, a failing callback, every
 * failing allocation) are clean.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <seqnet/seqnet.h>

/* ---- a tiny parser for the subset safetensors headers use ------------------ */

#define MAX_TENSORS 32

typedef struct tensor_entry {
    char name[160];
    char dtype[16];
    int rank;
    long long shape[8];
    long long begin, end;
} tensor_entry;

typedef struct header_info {
    int n;
    tensor_entry t[MAX_TENSORS];
    char format[64];
    int has_metadata;
} header_info;

typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\t' || *c->p == '\r'))
        c->p++;
}

static void expect(cursor *c, char ch)
{
    skip_ws(c);
    ck_assert_msg(c->p < c->end && *c->p == ch, "expected '%c' at '%.20s'", ch, c->p);
    c->p++;
}

static int peek(cursor *c, char ch)
{
    skip_ws(c);
    return c->p < c->end && *c->p == ch;
}

/* A JSON string into dst (escapes \" \\ \/ \uXXXX below 0x80 decoded). */
static void parse_string(cursor *c, char *dst, size_t cap)
{
    size_t n = 0;
    expect(c, '"');
    while (c->p < c->end && *c->p != '"') {
        char ch = *c->p++;
        if (ch == '\\') {
            ck_assert(c->p < c->end);
            ch = *c->p++;
            if (ch == 'u') {
                unsigned v = 0;
                int k;
                ck_assert(c->end - c->p >= 4);
                for (k = 0; k < 4; k++) {
                    char h = *c->p++;
                    v = v * 16 + (unsigned)(h <= '9' ? h - '0' : h - 'a' + 10);
                }
                ck_assert_uint_lt(v, 0x80);
                ch = (char)v;
            } else {
                ck_assert_msg(ch == '"' || ch == '\\' || ch == '/', "escape \\%c", ch);
            }
        } else {
            ck_assert_msg((unsigned char)ch >= 0x20, "raw control byte in a JSON string");
        }
        ck_assert(n + 1 < cap);
        dst[n++] = ch;
    }
    expect(c, '"');
    dst[n] = '\0';
}

static long long parse_int(cursor *c)
{
    long long v = 0;
    skip_ws(c);
    ck_assert(c->p < c->end && *c->p >= '0' && *c->p <= '9');
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
        v = v * 10 + (*c->p++ - '0');
    return v;
}

static int parse_int_array(cursor *c, long long *out, int cap)
{
    int n = 0;
    expect(c, '[');
    if (peek(c, ']')) {
        c->p++;
        return 0;
    }
    do {
        ck_assert_int_lt(n, cap);
        out[n++] = parse_int(c);
    } while (peek(c, ',') && c->p++);
    expect(c, ']');
    return n;
}

static void parse_tensor(cursor *c, tensor_entry *t)
{
    char key[32];
    long long offs[2];
    int seen = 0;
    expect(c, '{');
    do {
        parse_string(c, key, sizeof key);
        expect(c, ':');
        if (strcmp(key, "dtype") == 0) {
            parse_string(c, t->dtype, sizeof t->dtype);
            seen |= 1;
        } else if (strcmp(key, "shape") == 0) {
            t->rank = parse_int_array(c, t->shape, 8);
            seen |= 2;
        } else if (strcmp(key, "data_offsets") == 0) {
            ck_assert_int_eq(parse_int_array(c, offs, 2), 2);
            t->begin = offs[0];
            t->end = offs[1];
            seen |= 4;
        } else {
            ck_abort_msg("unexpected tensor field %s", key);
        }
    } while (peek(c, ',') && c->p++);
    expect(c, '}');
    ck_assert_int_eq(seen, 7);
}

static void parse_metadata(cursor *c, header_info *h)
{
    char key[64], value[64];
    expect(c, '{');
    if (!peek(c, '}')) {
        do {
            parse_string(c, key, sizeof key);
            expect(c, ':');
            parse_string(c, value, sizeof value); /* safetensors: string values only */
            if (strcmp(key, "format") == 0)
                snprintf(h->format, sizeof h->format, "%s", value);
        } while (peek(c, ',') && c->p++);
    }
    expect(c, '}');
    h->has_metadata = 1;
}

/* Parse a whole export; returns a pointer to the data area. */
static const unsigned char *parse_file(const unsigned char *buf, size_t size, header_info *h)
{
    unsigned long long n = 0;
    cursor c;
    char key[160];
    int i;
    memset(h, 0, sizeof *h);
    ck_assert_uint_ge(size, 8);
    for (i = 0; i < 8; i++)
        n |= (unsigned long long)buf[i] << (8 * i);
    ck_assert_uint_le(n, size - 8);
    ck_assert_msg(n % 8 == 0, "header length %llu is not a multiple of 8", n);
    c.p = (const char *)buf + 8;
    c.end = c.p + n;
    expect(&c, '{');
    do {
        parse_string(&c, key, sizeof key);
        expect(&c, ':');
        if (strcmp(key, "__metadata__") == 0) {
            parse_metadata(&c, h);
        } else {
            ck_assert_int_lt(h->n, MAX_TENSORS);
            snprintf(h->t[h->n].name, sizeof h->t[h->n].name, "%s", key);
            parse_tensor(&c, &h->t[h->n]);
            h->n++;
        }
    } while (peek(&c, ',') && c.p++);
    expect(&c, '}');
    /* Only the padding spaces may follow. */
    for (; c.p < c.end; c.p++)
        ck_assert_int_eq(*c.p, ' ');
    return buf + 8 + n;
}

/* ---- models ---------------------------------------------------------------- */

static seqnet_model *model_named(seqnet_context *ctx, const char *hidden_name)
{
    seqnet_graph *g = NULL;
    seqnet_options *o = NULL;
    seqnet_model *m = NULL;
    int32_t in, x;
    ck_assert_int_eq(seqnet_graph_new(ctx, &g), SEQNET_OK);
    ck_assert_int_eq(seqnet_options_new(ctx, &o), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_input_tokens(g, 0, NULL, &in), SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_INPUT_DIM, 11);
    seqnet_options_set_int(o, SEQNET_OPT_OUTPUT_DIM, 3);
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_EMBEDDING, o, &in, 1, NULL, &x), SEQNET_OK);
    seqnet_options_clear(o);
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_GLOBAL_MAX_POOLING1D, o, &x, 1, NULL, &x),
                     SEQNET_OK);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 5);
    seqnet_options_set_string(o, SEQNET_OPT_ACTIVATION, "relu");
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &x, 1, hidden_name, &x),
                     SEQNET_OK);
    seqnet_options_clear(o);
    seqnet_options_set_int(o, SEQNET_OPT_UNITS, 2);
    seqnet_options_set_int(o, SEQNET_OPT_USE_BIAS, 0);
    ck_assert_int_eq(seqnet_graph_add(g, SEQNET_LAYER_DENSE, o, &x, 1, NULL, &x), SEQNET_OK);
    ck_assert_int_eq(seqnet_graph_compile(g, &in, 1, &x, 1, &m), SEQNET_OK);
    seqnet_options_free(o);
    seqnet_graph_free(g);
    return m;
}

/* Every tensor of the export is the model's weight, in order, bit for bit. */
static void check_export(const seqnet_model *m, const unsigned char *buf, size_t size,
                         const char *hidden_name)
{
    header_info h;
    const unsigned char *data = parse_file(buf, size, &h);
    long long at = 0;
    int32_t l, w, k = 0, d;
    ck_assert(h.has_metadata);
    ck_assert_str_eq(h.format, "seqnet");
    for (l = 0; l < seqnet_model_n_layers(m); l++) {
        for (w = 0; w < seqnet_model_layer_n_weights(m, l); w++) {
            const char *wname;
            int32_t rank;
            int64_t dims[4], count;
            char expect_name[160];
            float *values;
            tensor_entry *t = &h.t[k++];
            ck_assert_int_le(k, h.n);
            ck_assert_int_eq(seqnet_model_weight_info(m, l, w, &wname, &rank, dims, &count),
                             SEQNET_OK);
            snprintf(expect_name, sizeof expect_name, "%s/%s", seqnet_model_layer_name(m, l),
                     wname);
            ck_assert_str_eq(t->name, expect_name);
            ck_assert_str_eq(t->dtype, "F32");
            ck_assert_int_eq(t->rank, rank);
            for (d = 0; d < rank; d++)
                ck_assert_int_eq(t->shape[d], dims[d]);
            ck_assert_int_eq(t->begin, at);
            ck_assert_int_eq(t->end, at + count * 4);
            values = malloc((size_t)count * sizeof *values);
            ck_assert_int_eq(seqnet_model_get_weight(m, l, w, values, count), SEQNET_OK);
            /* little-endian hosts: the bytes are the floats */
            ck_assert_int_eq(memcmp(data + at, values, (size_t)count * 4), 0);
            free(values);
            at = t->end;
        }
    }
    ck_assert_int_eq(k, h.n);
    ck_assert_uint_eq((size_t)(data - buf) + (size_t)at, size);
    if (hidden_name != NULL) {
        char expect_name[160];
        snprintf(expect_name, sizeof expect_name, "%s/kernel", hidden_name);
        ck_assert_str_eq(h.t[1].name, expect_name);
    }
}

START_TEST(export_matches_weight_info_and_values)
{
    seqnet_context *ctx = NULL;
    seqnet_model *m;
    void *buf = NULL;
    size_t size = 0;
    header_info h;
    ck_assert_int_eq(seqnet_context_new(&ctx), SEQNET_OK);
    m = model_named(ctx, NULL);
    ck_assert_int_eq(seqnet_model_export_safetensors(m, &buf, &size), SEQNET_OK);
    check_export(m, buf, size, NULL);
    parse_file(buf, size, &h);
    ck_assert_int_eq(h.n, 4);
    ck_assert_str_eq(h.t[0].name, "embedding/embeddings");
    ck_assert_int_eq(h.t[0].shape[0], 11);
    ck_assert_int_eq(h.t[0].shape[1], 3);
    ck_assert_str_eq(h.t[1].name, "dense/kernel");
    ck_assert_str_eq(h.t[2].name, "dense/bias");
    ck_assert_int_eq(h.t[2].rank, 1);
    ck_assert_str_eq(h.t[3].name, "dense_1/kernel"); /* use_bias 0: no dense_1/bias */
    seqnet_free(buf);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

START_TEST(layer_names_are_escaped_as_json_requires)
{
    static const char *names[] = {"quote\"d", "back\\slash", "tab\there", "caf\xc3\xa9/x"};
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        seqnet_context *ctx = NULL;
        seqnet_model *m;
        void *buf = NULL;
        size_t size = 0;
        ck_assert_int_eq(seqnet_context_new(&ctx), SEQNET_OK);
        m = model_named(ctx, names[i]);
        ck_assert_int_eq(seqnet_model_export_safetensors(m, &buf, &size), SEQNET_OK);
        check_export(m, buf, size, names[i]);
        seqnet_free(buf);
        seqnet_model_free(m);
        seqnet_context_free(ctx);
    }
}
END_TEST

typedef struct sink {
    unsigned char *buf;
    size_t len, cap;
    int calls, fail_at;
} sink;

static int sink_write(void *user, const void *data, size_t size)
{
    sink *s = user;
    if (++s->calls == s->fail_at)
        return 1;
    if (s->len + size > s->cap) {
        size_t cap = (s->len + size) * 2;
        unsigned char *p = realloc(s->buf, cap);
        if (p == NULL)
            return 1;
        s->buf = p;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, size);
    s->len += size;
    return 0;
}

START_TEST(callback_writes_the_same_bytes_and_reports_failure)
{
    seqnet_context *ctx = NULL;
    seqnet_model *m;
    void *buf = NULL;
    size_t size = 0;
    sink s;
    int fail;
    ck_assert_int_eq(seqnet_context_new(&ctx), SEQNET_OK);
    m = model_named(ctx, NULL);
    ck_assert_int_eq(seqnet_model_export_safetensors(m, &buf, &size), SEQNET_OK);
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(seqnet_model_export_safetensors_to(m, sink_write, &s), SEQNET_OK);
    ck_assert_uint_eq(s.len, size);
    ck_assert_int_eq(memcmp(s.buf, buf, size), 0);
    ck_assert_int_gt(s.calls, 2);
    for (fail = 1; fail <= s.calls; fail++) {
        sink f;
        memset(&f, 0, sizeof f);
        f.fail_at = fail;
        ck_assert_int_eq(seqnet_model_export_safetensors_to(m, sink_write, &f), SEQNET_EIO);
        free(f.buf);
    }
    free(s.buf);
    seqnet_free(buf);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

START_TEST(bad_arguments_are_refused)
{
    seqnet_context *ctx = NULL;
    seqnet_model *m;
    void *buf = (void *)1;
    size_t size = 7;
    ck_assert_int_eq(seqnet_context_new(&ctx), SEQNET_OK);
    m = model_named(ctx, NULL);
    ck_assert_int_eq(seqnet_model_export_safetensors(NULL, &buf, &size), SEQNET_EINVAL);
    ck_assert_ptr_null(buf);
    ck_assert_uint_eq(size, 0);
    ck_assert_int_eq(seqnet_model_export_safetensors(m, NULL, &size), SEQNET_EINVAL);
    ck_assert_int_eq(seqnet_model_export_safetensors(m, &buf, NULL), SEQNET_EINVAL);
    ck_assert_int_eq(seqnet_model_export_safetensors_to(m, NULL, NULL), SEQNET_EINVAL);
    ck_assert_int_eq(seqnet_model_export_safetensors_to(NULL, sink_write, NULL), SEQNET_EINVAL);
    seqnet_model_free(m);
    seqnet_context_free(ctx);
}
END_TEST

/* A host allocator that fails from the Nth allocation on, counting blocks. */
typedef struct failing {
    long calls, fail_from, live;
} failing;

static void *f_alloc(void *user, size_t size)
{
    failing *f = user;
    void *p;
    if (++f->calls >= f->fail_from)
        return NULL;
    p = malloc(size);
    f->live += p != NULL;
    return p;
}

static void *f_realloc(void *user, void *ptr, size_t old, size_t size)
{
    failing *f = user;
    (void)old;
    if (++f->calls >= f->fail_from)
        return NULL;
    return realloc(ptr, size);
}

static void f_free(void *user, void *ptr, size_t size)
{
    failing *f = user;
    (void)size;
    f->live--;
    free(ptr);
}

START_TEST(every_failing_allocation_is_clean)
{
    long n;
    int succeeded = 0;
    for (n = 1; n < 200 && !succeeded; n++) {
        failing f = {0, 1L << 30, 0};
        seqnet_context *ctx = NULL;
        seqnet_model *m;
        void *buf = NULL;
        size_t size = 0;
        long before;
        int st;
        ck_assert_int_eq(seqnet_context_new_with_allocator(f_alloc, f_realloc, f_free, &f, &ctx),
                         SEQNET_OK);
        m = model_named(ctx, NULL);
        before = f.live;
        f.fail_from = f.calls + n;
        st = seqnet_model_export_safetensors(m, &buf, &size);
        f.fail_from = 1L << 30;
        if (st == SEQNET_OK) {
            succeeded = 1;
            check_export(m, buf, size, NULL);
            seqnet_free(buf);
        } else {
            ck_assert_int_eq(st, SEQNET_ENOMEM);
            ck_assert_ptr_null(buf);
        }
        ck_assert_int_eq(f.live, before);
        seqnet_model_free(m);
        seqnet_context_free(ctx);
        ck_assert_int_eq(f.live, 0);
    }
    ck_assert(succeeded);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("all");
    SRunner *sr;
    int failed;
    tcase_add_test(tc, export_matches_weight_info_and_values);
    tcase_add_test(tc, layer_names_are_escaped_as_json_requires);
    tcase_add_test(tc, callback_writes_the_same_bytes_and_reports_failure);
    tcase_add_test(tc, bad_arguments_are_refused);
    tcase_add_test(tc, every_failing_allocation_is_clean);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
