/*
 * lib/io/safetensors.c -- export a model's weights in the safetensors layout
 * (https://github.com/huggingface/safetensors), so Python tools can read them
 * without seqnet.
 *
 * The layout: a u64 little-endian header length N, N bytes of a JSON object
 * (padded with spaces so the data starts on a multiple of 8), then the raw
 * tensor bytes. Every tensor is "<layer>/<weight>" -> {"dtype": "F32",
 * "shape": Keras's layout, "data_offsets": [begin, end)} with offsets
 * relative to the start of the data; "__metadata__" maps strings to strings.
 *
 * The tensors are written in the model's own weight order (layer order, then
 * Keras's get_weights order), which is also the order of the model file's
 * WEIGHTS section (docs/FORMAT.md).
 *
 * The model is only read: exporting may run while other threads run
 * sessions on it, so no error message is written into it (the status code
 * says what failed).
 */
#include <stdio.h>
#include <string.h>

#include "graph/graph_internal.h"
#include "seqnet/io.h"
#include "text/text_io.h"

/* Floats converted per call of the host callback on a big-endian host. */
#define ST_CHUNK 256

typedef int (*st_emit_fn)(void *user, const void *data, size_t size);

/* A JSON string literal: quotes, backslashes and control bytes escaped;
 * other bytes (UTF-8 included) pass through unchanged, as JSON allows. */
static void json_string(sn_sink *s, const char *text)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)text;
    sn_sink_u8(s, '"');
    for (; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            sn_sink_u8(s, '\\');
            sn_sink_u8(s, *p);
        } else if (*p < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
            sn_sink_bytes(s, esc, sizeof esc);
        } else {
            sn_sink_u8(s, *p);
        }
    }
    sn_sink_u8(s, '"');
}

static void json_raw(sn_sink *s, const char *text)
{
    sn_sink_bytes(s, text, strlen(text));
}

static void json_int(sn_sink *s, int64_t v)
{
    char num[24];
    int n = snprintf(num, sizeof num, "%lld", (long long)v);
    sn_sink_bytes(s, num, (size_t)n);
}

/* The padded JSON header; *data_size receives the bytes of tensor data. */
static int build_header(const seqnet_model *m, sn_sink *s, uint64_t *data_size)
{
    uint64_t at = 0;
    int32_t l, w, d;
    int first = 1;
    json_raw(s, "{");
    for (l = 0; l < m->n_layers; l++) {
        const sn_layer *L = &m->layers[l];
        for (w = 0; w < L->n_params; w++) {
            const sn_param *p = &L->params[w];
            char name[SN_NAME_MAX + sizeof p->name + 1];
            snprintf(name, sizeof name, "%s/%s", L->name, p->name);
            if (!first)
                json_raw(s, ",");
            first = 0;
            json_string(s, name);
            json_raw(s, ":{\"dtype\":\"F32\",\"shape\":[");
            for (d = 0; d < p->rank; d++) {
                if (d > 0)
                    json_raw(s, ",");
                json_int(s, p->dims[d]);
            }
            json_raw(s, "],\"data_offsets\":[");
            json_int(s, (int64_t)at);
            json_raw(s, ",");
            at += (uint64_t)p->count * 4u;
            json_int(s, (int64_t)at);
            json_raw(s, "]}");
        }
    }
    if (!first)
        json_raw(s, ",");
    json_raw(s, "\"__metadata__\":{\"format\":\"seqnet\",\"seqnet_version\":");
    json_string(s, SEQNET_VERSION_STRING);
    json_raw(s, ",\"layout\":\"keras\"}}");
    /* safetensors readers expect the data to start 8-byte aligned. */
    while (s->err == SEQNET_OK && (s->len + 8u) % 8u != 0)
        json_raw(s, " ");
    *data_size = at;
    return s->err;
}

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Emit n floats as little-endian f32. */
static int emit_floats(st_emit_fn emit, void *user, const float *x, int64_t n)
{
    uint8_t buf[ST_CHUNK * 4];
    int64_t done = 0;
    if (host_is_little_endian())
        return n > 0 ? emit(user, x, (size_t)n * 4u) : 0;
    while (done < n) {
        int64_t k, count = n - done < ST_CHUNK ? n - done : ST_CHUNK;
        for (k = 0; k < count; k++) {
            uint32_t bits;
            int b;
            memcpy(&bits, &x[done + k], 4);
            for (b = 0; b < 4; b++)
                buf[k * 4 + b] = (uint8_t)(bits >> (8 * b));
        }
        if (emit(user, buf, (size_t)count * 4u) != 0)
            return -1;
        done += count;
    }
    return 0;
}

/* Emit the whole file: the length, the padded header, the tensors. */
static int write_file(const seqnet_model *m, const sn_sink *header, st_emit_fn emit, void *user)
{
    uint8_t len_bytes[8];
    int32_t l, w, b;
    for (b = 0; b < 8; b++)
        len_bytes[b] = (uint8_t)((uint64_t)header->len >> (8 * b));
    if (emit(user, len_bytes, sizeof len_bytes) != 0 || emit(user, header->buf, header->len) != 0)
        return SEQNET_EIO;
    for (l = 0; l < m->n_layers; l++) {
        const sn_layer *L = &m->layers[l];
        for (w = 0; w < L->n_params; w++)
            if (emit_floats(emit, user, m->params + L->params[w].offset, L->params[w].count) != 0)
                return SEQNET_EIO;
    }
    return SEQNET_OK;
}

typedef struct st_block {
    uint8_t *buf;
    size_t cap, len;
} st_block;

static int block_emit(void *user, const void *data, size_t size)
{
    st_block *b = user;
    if (size > b->cap - b->len)
        return -1;
    memcpy(b->buf + b->len, data, size);
    b->len += size;
    return 0;
}

static int valid_model(const seqnet_model *m)
{
    return m != NULL && m->obj.magic == SN_MAGIC_MODEL;
}

SEQNET_API int seqnet_model_export_safetensors(const seqnet_model *model, void **out, size_t *size)
{
    sn_sink header;
    st_block block;
    uint64_t data_size = 0, total;
    int st;
    if (out != NULL)
        *out = NULL;
    if (size != NULL)
        *size = 0;
    if (!valid_model(model) || out == NULL || size == NULL)
        return SEQNET_EINVAL;
    sn_sink_init(&header, &model->obj.alloc);
    if ((st = build_header(model, &header, &data_size)) != SEQNET_OK) {
        sn_sink_free(&header);
        return st;
    }
    total = 8u + (uint64_t)header.len + data_size;
    block.buf = total <= SIZE_MAX ? sn_export_malloc(&model->obj.alloc, (size_t)total) : NULL;
    if (block.buf == NULL) {
        sn_sink_free(&header);
        return total <= SIZE_MAX ? SEQNET_ENOMEM : SEQNET_ETOOBIG;
    }
    block.cap = (size_t)total;
    block.len = 0;
    /* The block was sized from this very header: writing into it cannot fail. */
    st = write_file(model, &header, block_emit, &block);
    sn_sink_free(&header);
    if (st != SEQNET_OK) {
        seqnet_free(block.buf);
        return st;
    }
    *out = block.buf;
    *size = block.len;
    return SEQNET_OK;
}

SEQNET_API int seqnet_model_export_safetensors_to(const seqnet_model *model, seqnet_write_fn fn,
                                                  void *user)
{
    sn_sink header;
    uint64_t data_size = 0;
    int st;
    if (!valid_model(model) || fn == NULL)
        return SEQNET_EINVAL;
    sn_sink_init(&header, &model->obj.alloc);
    st = build_header(model, &header, &data_size);
    if (st == SEQNET_OK)
        st = write_file(model, &header, fn, user);
    sn_sink_free(&header);
    return st;
}
