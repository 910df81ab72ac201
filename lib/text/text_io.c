/*
 * lib/text/text_io.c -- the record container for text objects (magic,
 * version, kind, length, payload, CRC-32C), byte sinks and sources, and
 * the public save / load functions of tokenizers and vectorizers.
 *
 * Loading trusts nothing: the header is checked before the payload length
 * is used, every field read is bounds-checked by sn_source, and counts are
 * compared with the bytes left before anything is allocated for them. A
 * callback loader reads the payload in chunks, so a forged length cannot
 * make it allocate more than the bytes actually delivered (plus one chunk).
 */
#include <stdlib.h>

#include "text/text_internal.h"
#include "text/text_io.h"

static const uint8_t record_magic[8] = {'S', 'N', 'T', 'X', 0x0D, 0x0A, 0x1A, 0x0A};

/* ---- sink ---------------------------------------------------------------------- */

void sn_sink_init(sn_sink *s, const sn_alloc *a)
{
    memset(s, 0, sizeof *s);
    s->alloc = a;
}

void sn_sink_free(sn_sink *s)
{
    sn_free(s->alloc, s->buf);
    sn_sink_init(s, s->alloc);
}

void sn_sink_bytes(sn_sink *s, const void *p, size_t n)
{
    if (s->err != SEQNET_OK || n == 0)
        return;
    if (s->len > SIZE_MAX - n) {
        s->err = SEQNET_ETOOBIG;
        return;
    }
    s->err = sn_grow(s->alloc, (void **)&s->buf, &s->cap, s->len + n, 1);
    if (s->err != SEQNET_OK)
        return;
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

void sn_sink_u8(sn_sink *s, uint8_t v)
{
    sn_sink_bytes(s, &v, 1);
}

void sn_sink_u32(sn_sink *s, uint32_t v)
{
    uint8_t b[4];
    int i;
    for (i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    sn_sink_bytes(s, b, 4);
}

void sn_sink_u64(sn_sink *s, uint64_t v)
{
    uint8_t b[8];
    int i;
    for (i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    sn_sink_bytes(s, b, 8);
}

void sn_sink_i64(sn_sink *s, int64_t v)
{
    sn_sink_u64(s, (uint64_t)v);
}

void sn_sink_f64(sn_sink *s, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    sn_sink_u64(s, bits);
}

void sn_sink_str(sn_sink *s, const char *p, size_t n)
{
    sn_sink_u64(s, (uint64_t)n);
    sn_sink_bytes(s, p, n);
}

/* ---- source -------------------------------------------------------------------- */

void sn_source_init(sn_source *s, const void *p, size_t len)
{
    s->p = p;
    s->len = len;
    s->pos = 0;
    s->err = SEQNET_OK;
}

size_t sn_source_left(const sn_source *s)
{
    return s->len - s->pos;
}

static const uint8_t *take(sn_source *s, size_t n)
{
    const uint8_t *p;
    if (s->err != SEQNET_OK)
        return NULL;
    if (n > s->len - s->pos) {
        s->err = SEQNET_ETRUNCATED;
        return NULL;
    }
    p = s->p + s->pos;
    s->pos += n;
    return p;
}

uint8_t sn_source_u8(sn_source *s)
{
    const uint8_t *p = take(s, 1);
    return p != NULL ? p[0] : 0;
}

uint32_t sn_source_u32(sn_source *s)
{
    const uint8_t *p = take(s, 4);
    uint32_t v = 0;
    int i;
    if (p != NULL)
        for (i = 0; i < 4; i++)
            v |= (uint32_t)p[i] << (8 * i);
    return v;
}

uint64_t sn_source_u64(sn_source *s)
{
    const uint8_t *p = take(s, 8);
    uint64_t v = 0;
    int i;
    if (p != NULL)
        for (i = 0; i < 8; i++)
            v |= (uint64_t)p[i] << (8 * i);
    return v;
}

int64_t sn_source_i64(sn_source *s)
{
    return (int64_t)sn_source_u64(s);
}

double sn_source_f64(sn_source *s)
{
    uint64_t bits = sn_source_u64(s);
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

int sn_source_flag(sn_source *s)
{
    uint8_t v = sn_source_u8(s);
    if (s->err == SEQNET_OK && v > 1)
        s->err = SEQNET_EFORMAT;
    return v;
}

int sn_source_str(sn_source *s, const uint8_t **p, size_t *n)
{
    uint64_t len = sn_source_u64(s);
    *p = NULL;
    *n = 0;
    if (s->err != SEQNET_OK)
        return s->err;
    if (len > sn_source_left(s)) {
        s->err = SEQNET_ETRUNCATED;
        return s->err;
    }
    *p = take(s, (size_t)len);
    *n = (size_t)len;
    return s->err;
}

int sn_source_count(sn_source *s, size_t min_item_size, size_t *n)
{
    uint64_t count = sn_source_u64(s);
    *n = 0;
    if (s->err != SEQNET_OK)
        return s->err;
    if (min_item_size > 0 && count > sn_source_left(s) / min_item_size) {
        s->err = SEQNET_ETRUNCATED;
        return s->err;
    }
    *n = (size_t)count;
    return SEQNET_OK;
}

/* ---- CRC-32C (Castagnoli, reflected 0x82F63B78): the crc32 instruction, or
 * four bits at a time ------------------------------------------------------ */

static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x105EC76Fu, 0x20BD8EDEu, 0x30E349B1u, 0x417B1DBCu, 0x5125DAD3u, 0x61C69362u, 0x7198540Du,
    0x82F63B78u, 0x92A8FC17u, 0xA24BB5A6u, 0xB21572C9u, 0xC38D26C4u, 0xD3D3E1ABu, 0xE330A81Au, 0xF36E6F75u,
};

#if defined(__GNUC__) && defined(__x86_64__)
#define SN_HAVE_CRC32_INSN 1
#include <nmmintrin.h>

/* The same CRC with SSE4.2's crc32 instruction (it computes CRC-32C),
 * 8 bytes at a time: a model of 11 MB is checked in milliseconds. */
__attribute__((target("sse4.2"))) static uint32_t crc32c_insn(uint32_t crc, const uint8_t *p, size_t n)
{
    uint64_t c = crc;
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = _mm_crc32_u64(c, w);
    }
    crc = (uint32_t)c;
    for (; n > 0; n--, p++)
        crc = _mm_crc32_u8(crc, *p);
    return crc;
}
#endif

uint32_t sn_crc32c(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    size_t i;
    crc = ~crc;
#if defined(SN_HAVE_CRC32_INSN)
    if (__builtin_cpu_supports("sse4.2"))
        return ~crc32c_insn(crc, p, n);
#endif
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ crc_nibble[crc & 15u];
        crc = (crc >> 4) ^ crc_nibble[crc & 15u];
    }
    return ~crc;
}

/* ---- records ------------------------------------------------------------------- */

int sn_text_write_record(uint32_t kind, const void *obj, sn_sink *sink)
{
    size_t start = sink->len, len_at;
    uint64_t payload;
    int rc, i;
    sn_sink_bytes(sink, record_magic, sizeof record_magic);
    sn_sink_u32(sink, SN_TEXT_FORMAT_VERSION);
    sn_sink_u32(sink, kind);
    len_at = sink->len;
    sn_sink_u64(sink, 0); /* patched below */
    if (kind == SN_TEXT_KIND_TOKENIZER)
        rc = sn_tokenizer_write_payload(obj, sink);
    else
        rc = sn_vectorizer_write_payload(obj, sink);
    if (rc == SEQNET_OK)
        rc = sink->err;
    if (rc != SEQNET_OK)
        return rc;
    payload = (uint64_t)(sink->len - len_at - 8);
    for (i = 0; i < 8; i++)
        sink->buf[len_at + (size_t)i] = (uint8_t)(payload >> (8 * i));
    sn_sink_u32(sink, sn_crc32c(0, sink->buf + start, sink->len - start));
    return sink->err;
}

/* Check the 24-byte header; *payload_len receives the payload length. */
static int check_header(seqnet_context *ctx, uint32_t kind, const uint8_t *h, uint64_t *payload_len)
{
    sn_source s;
    uint32_t version, got_kind;
    if (memcmp(h, record_magic, sizeof record_magic) != 0)
        return sn_error(&ctx->obj, SEQNET_EFORMAT, "not a seqnet text object (bad magic)");
    sn_source_init(&s, h + 8, SN_TEXT_HEADER_SIZE - 8);
    version = sn_source_u32(&s);
    got_kind = sn_source_u32(&s);
    *payload_len = sn_source_u64(&s);
    if (version == 0 || version > SN_TEXT_FORMAT_VERSION)
        return sn_error(&ctx->obj, SEQNET_EVERSION, "text object format version %u, this library reads up to %u",
                        (unsigned)version, (unsigned)SN_TEXT_FORMAT_VERSION);
    if (got_kind != kind) {
        if (got_kind == SN_TEXT_KIND_TOKENIZER || got_kind == SN_TEXT_KIND_VECTORIZER)
            return sn_error(&ctx->obj, SEQNET_EWRONGTYPE, "the data holds a %s, not a %s",
                            got_kind == SN_TEXT_KIND_TOKENIZER ? "tokenizer" : "vectorizer",
                            kind == SN_TEXT_KIND_TOKENIZER ? "tokenizer" : "vectorizer");
        return sn_error(&ctx->obj, SEQNET_EFORMAT, "unknown text object kind %u", (unsigned)got_kind);
    }
    if (*payload_len > SN_TEXT_MAX_PAYLOAD)
        return sn_error(&ctx->obj, SEQNET_ETOOBIG, "payload of %llu bytes exceeds the 1 GiB limit",
                        (unsigned long long)*payload_len);
    return SEQNET_OK;
}

static int read_payload(seqnet_context *ctx, uint32_t kind, const uint8_t *payload, size_t n, void **out)
{
    sn_source src;
    int rc;
    sn_source_init(&src, payload, n);
    if (kind == SN_TEXT_KIND_TOKENIZER)
        rc = sn_tokenizer_read_payload(ctx, &src, (seqnet_tokenizer **)out);
    else
        rc = sn_vectorizer_read_payload(ctx, &src, (seqnet_vectorizer **)out);
    if (rc == SEQNET_OK && sn_source_left(&src) != 0) {
        if (kind == SN_TEXT_KIND_TOKENIZER)
            seqnet_tokenizer_free(*out);
        else
            seqnet_vectorizer_free(*out);
        *out = NULL;
        rc = sn_error(&ctx->obj, SEQNET_EFORMAT, "%zu unexpected bytes after the payload", sn_source_left(&src));
    }
    return rc;
}

int sn_text_read_record(seqnet_context *ctx, uint32_t kind, const void *data, size_t size, void **out,
                        size_t *used)
{
    const uint8_t *p = data;
    uint64_t payload_len;
    uint32_t crc_stored;
    size_t total;
    int rc;
    *out = NULL;
    if (size < SN_TEXT_HEADER_SIZE)
        return sn_error(&ctx->obj, size >= 8 && memcmp(p, record_magic, 8) != 0 ? SEQNET_EFORMAT : SEQNET_ETRUNCATED,
                        "%zu bytes are too few for a text object header", size);
    if ((rc = check_header(ctx, kind, p, &payload_len)) != SEQNET_OK)
        return rc;
    if (payload_len + 4 > size - SN_TEXT_HEADER_SIZE)
        return sn_error(&ctx->obj, SEQNET_ETRUNCATED, "the payload needs %llu bytes, %zu are left",
                        (unsigned long long)payload_len + 4, size - SN_TEXT_HEADER_SIZE);
    total = SN_TEXT_HEADER_SIZE + (size_t)payload_len;
    crc_stored = (uint32_t)p[total] | ((uint32_t)p[total + 1] << 8) | ((uint32_t)p[total + 2] << 16) |
                 ((uint32_t)p[total + 3] << 24);
    if (sn_crc32c(0, p, total) != crc_stored)
        return sn_error(&ctx->obj, SEQNET_ECHECKSUM, "text object checksum mismatch");
    rc = read_payload(ctx, kind, p + SN_TEXT_HEADER_SIZE, (size_t)payload_len, out);
    if (rc == SEQNET_OK && used != NULL)
        *used = total + 4;
    return rc;
}

/* ---- public save / load ------------------------------------------------------ */

static int save_block(sn_object *o, uint32_t kind, const void *obj, void **data, size_t *size)
{
    sn_sink sink;
    int rc;
    if (data != NULL)
        *data = NULL;
    if (size != NULL)
        *size = 0;
    if (obj == NULL || data == NULL || size == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(o);
    sn_sink_init(&sink, &o->alloc);
    rc = sn_text_write_record(kind, obj, &sink);
    if (rc == SEQNET_OK) {
        *data = sn_export_malloc(&o->alloc, sink.len);
        if (*data == NULL)
            rc = SEQNET_ENOMEM;
        else {
            memcpy(*data, sink.buf, sink.len);
            *size = sink.len;
        }
    }
    sn_sink_free(&sink);
    if (rc != SEQNET_OK)
        sn_error(o, rc, "saving failed: %s", seqnet_strerror(rc));
    return rc;
}

static int save_callback(sn_object *o, uint32_t kind, const void *obj, seqnet_write_fn write, void *user)
{
    sn_sink sink;
    int rc;
    if (obj == NULL || write == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(o);
    sn_sink_init(&sink, &o->alloc);
    rc = sn_text_write_record(kind, obj, &sink);
    if (rc == SEQNET_OK && write(user, sink.buf, sink.len) != 0)
        rc = sn_error(o, SEQNET_EIO, "the write callback failed");
    sn_sink_free(&sink);
    return rc;
}

static int load_callback(seqnet_context *ctx, uint32_t kind, seqnet_read_fn read, void *user, void **out)
{
    uint8_t header[SN_TEXT_HEADER_SIZE];
    uint8_t *buf = NULL;
    size_t cap = 0, have, need;
    uint64_t payload_len;
    int rc;
    if (read(user, header, sizeof header) != 0)
        return sn_error(&ctx->obj, SEQNET_ETRUNCATED, "the read callback gave no complete header");
    if ((rc = check_header(ctx, kind, header, &payload_len)) != SEQNET_OK)
        return rc;
    need = SN_TEXT_HEADER_SIZE + (size_t)payload_len + 4;
    /* Grow with the data actually delivered, 64 KiB at a time, so a forged
     * length costs at most one chunk before the callback runs dry. */
    rc = sn_grow(&ctx->obj.alloc, (void **)&buf, &cap, SN_TEXT_HEADER_SIZE, 1);
    have = 0;
    if (rc == SEQNET_OK) {
        memcpy(buf, header, SN_TEXT_HEADER_SIZE);
        have = SN_TEXT_HEADER_SIZE;
    }
    while (rc == SEQNET_OK && have < need) {
        size_t chunk = need - have < 65536 ? need - have : 65536;
        rc = sn_grow(&ctx->obj.alloc, (void **)&buf, &cap, have + chunk, 1);
        if (rc != SEQNET_OK)
            break;
        if (read(user, buf + have, chunk) != 0) {
            rc = sn_error(&ctx->obj, SEQNET_ETRUNCATED, "the read callback stopped after %zu of %zu bytes", have,
                          need);
            break;
        }
        have += chunk;
    }
    if (rc == SEQNET_OK)
        rc = sn_text_read_record(ctx, kind, buf, have, out, NULL);
    sn_free(&ctx->obj.alloc, buf);
    return rc;
}

SEQNET_API int seqnet_tokenizer_save(const seqnet_tokenizer *tok, void **data, size_t *size)
{
    return save_block((sn_object *)tok, SN_TEXT_KIND_TOKENIZER, tok, data, size);
}

SEQNET_API int seqnet_tokenizer_save_to(const seqnet_tokenizer *tok, seqnet_write_fn write, void *user)
{
    return save_callback((sn_object *)tok, SN_TEXT_KIND_TOKENIZER, tok, write, user);
}

SEQNET_API int seqnet_vectorizer_save(const seqnet_vectorizer *vec, void **data, size_t *size)
{
    return save_block((sn_object *)vec, SN_TEXT_KIND_VECTORIZER, vec, data, size);
}

SEQNET_API int seqnet_vectorizer_save_to(const seqnet_vectorizer *vec, seqnet_write_fn write, void *user)
{
    return save_callback((sn_object *)vec, SN_TEXT_KIND_VECTORIZER, vec, write, user);
}

static int load_args(seqnet_context *ctx, void *out)
{
    if (out == NULL || ctx == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&ctx->obj);
    return SEQNET_OK;
}

SEQNET_API int seqnet_tokenizer_load(seqnet_context *ctx, const void *data, size_t size, seqnet_tokenizer **out)
{
    int rc = load_args(ctx, out);
    if (rc != SEQNET_OK)
        return rc;
    *out = NULL;
    if (data == NULL && size != 0)
        return SEQNET_EINVAL;
    return sn_text_read_record(ctx, SN_TEXT_KIND_TOKENIZER, data != NULL ? data : "", size, (void **)out, NULL);
}

SEQNET_API int seqnet_tokenizer_load_from(seqnet_context *ctx, seqnet_read_fn read, void *user,
                                          seqnet_tokenizer **out)
{
    int rc = load_args(ctx, out);
    if (rc != SEQNET_OK)
        return rc;
    *out = NULL;
    if (read == NULL)
        return SEQNET_EINVAL;
    return load_callback(ctx, SN_TEXT_KIND_TOKENIZER, read, user, (void **)out);
}

SEQNET_API int seqnet_vectorizer_load(seqnet_context *ctx, const void *data, size_t size, seqnet_vectorizer **out)
{
    int rc = load_args(ctx, out);
    if (rc != SEQNET_OK)
        return rc;
    *out = NULL;
    if (data == NULL && size != 0)
        return SEQNET_EINVAL;
    return sn_text_read_record(ctx, SN_TEXT_KIND_VECTORIZER, data != NULL ? data : "", size, (void **)out, NULL);
}

SEQNET_API int seqnet_vectorizer_load_from(seqnet_context *ctx, seqnet_read_fn read, void *user,
                                           seqnet_vectorizer **out)
{
    int rc = load_args(ctx, out);
    if (rc != SEQNET_OK)
        return rc;
    *out = NULL;
    if (read == NULL)
        return SEQNET_EINVAL;
    return load_callback(ctx, SN_TEXT_KIND_VECTORIZER, read, user, (void **)out);
}
