/*
 * lib/io/model_io.c -- the model file: container, graph, weights, trainer
 * state and text objects (docs/FORMAT.md is the specification).
 *
 * Layout: a 64-byte header, a table of 32-byte section entries, then the
 * section payloads, each at a 64-byte aligned offset (so the float32 weights
 * can be used in place from a borrowed buffer). Every payload has its own
 * CRC-32C; the header and the table have theirs.
 *
 * Loading trusts nothing: every count is checked against the bytes left
 * before it sizes an allocation, every node id against the nodes before it,
 * every shape by re-running the builder's own validation on the layers, and
 * the weight count against what the rebuilt graph declares.
 */
#include <math.h>
#include <string.h>

#include "graph/graph_internal.h"
#include "seqnet/io.h"
#include "text/text_io.h"
#include "train/optim.h"
#include "train/train_internal.h"

#define FMT_MAGIC "SEQNMODL"
#define FMT_VERSION 1u
#define FMT_HEADER 64u
#define FMT_ENTRY 32u
#define FMT_ALIGN 64u
#define FMT_MAX_SECTIONS 1024u
#define FMT_MAX_LAYERS SN_MAX_NODES
#define FMT_MAX_TEXTS 64
#define FMT_MAX_META 64
#define FMT_MAX_META_VALUE 65536u

enum { SEC_GRAPH = 1, SEC_WEIGHTS = 2, SEC_TRAINER = 3, SEC_TEXT = 4, SEC_META = 5 };

typedef struct meta_entry {
    char key[64];
    char *value; /* owned */
} meta_entry;

/* ---- saver ---- */

typedef struct text_ref {
    char name[64];
    int kind; /* SN_TEXT_KIND_* */
    const void *obj;
} text_ref;

struct seqnet_saver {
    sn_object obj;
    const seqnet_model *model;
    const seqnet_trainer *trainer;
    int32_t n_texts;
    text_ref texts[FMT_MAX_TEXTS];
    int32_t n_meta;
    meta_entry meta[FMT_MAX_META];
};

static void meta_free(meta_entry *m, int32_t *n, const sn_alloc *a)
{
    int32_t i;
    for (i = 0; i < *n; i++)
        sn_free(a, m[i].value);
    *n = 0;
}

SEQNET_API int seqnet_saver_new(seqnet_context *ctx, seqnet_saver **out)
{
    seqnet_saver *s;
    if (out == NULL)
        return SEQNET_EINVAL;
    *out = NULL;
    if (ctx == NULL)
        return SEQNET_EINVAL;
    s = sn_calloc(&ctx->obj.alloc, 1, sizeof *s);
    if (s == NULL)
        return SEQNET_ENOMEM;
    sn_object_init(&s->obj, SN_MAGIC_OTHER, &ctx->obj.alloc);
    *out = s;
    return SEQNET_OK;
}

SEQNET_API void seqnet_saver_free(seqnet_saver *saver)
{
    sn_alloc a;
    if (saver == NULL || saver->obj.magic != SN_MAGIC_OTHER)
        return;
    a = saver->obj.alloc;
    meta_free(saver->meta, &saver->n_meta, &a);
    saver->obj.magic = 0;
    sn_free(&a, saver);
}

SEQNET_API int seqnet_saver_set_meta(seqnet_saver *saver, const char *key, const char *value)
{
    size_t nk, nv;
    int32_t i;
    char *copy;
    if (saver == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&saver->obj);
    if (key == NULL || value == NULL || (nk = strlen(key)) == 0 || nk >= 64)
        return sn_error(&saver->obj, SEQNET_EINVAL, "metadata keys are 1 to 63 bytes");
    if ((nv = strlen(value)) > FMT_MAX_META_VALUE)
        return sn_error(&saver->obj, SEQNET_ETOOBIG, "metadata value longer than %u bytes",
                        FMT_MAX_META_VALUE);
    for (i = 0; i < saver->n_meta && strcmp(saver->meta[i].key, key) != 0; i++)
        ;
    if (i == saver->n_meta && saver->n_meta >= FMT_MAX_META)
        return sn_error(&saver->obj, SEQNET_ETOOBIG, "at most %d metadata keys", FMT_MAX_META);
    copy = sn_malloc(&saver->obj.alloc, nv + 1);
    if (copy == NULL)
        return sn_error(&saver->obj, SEQNET_ENOMEM, "out of memory for metadata");
    memcpy(copy, value, nv + 1);
    if (i == saver->n_meta) {
        memcpy(saver->meta[i].key, key, nk + 1);
        saver->meta[i].value = NULL;
        saver->n_meta++;
    }
    sn_free(&saver->obj.alloc, saver->meta[i].value);
    saver->meta[i].value = copy;
    return SEQNET_OK;
}

SEQNET_API int seqnet_saver_set_model(seqnet_saver *saver, const seqnet_model *model)
{
    if (saver == NULL || model == NULL)
        return SEQNET_EINVAL;
    saver->model = model;
    return SEQNET_OK;
}

SEQNET_API int seqnet_saver_set_trainer(seqnet_saver *saver, const seqnet_trainer *trainer)
{
    if (saver == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&saver->obj);
    if (trainer != NULL && saver->model != NULL && sn_trainer_model(trainer) != saver->model)
        return sn_error(&saver->obj, SEQNET_EINVAL, "the trainer trains another model");
    saver->trainer = trainer;
    return SEQNET_OK;
}

static int add_text(seqnet_saver *s, const char *name, int kind, const void *obj)
{
    int32_t i;
    size_t n;
    if (s == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&s->obj);
    if (name == NULL || obj == NULL || (n = strlen(name)) == 0 || n >= sizeof s->texts[0].name)
        return sn_error(&s->obj, SEQNET_EINVAL, "text objects need a name of 1 to 63 bytes");
    if (s->n_texts >= FMT_MAX_TEXTS)
        return sn_error(&s->obj, SEQNET_ETOOBIG, "at most %d text objects", FMT_MAX_TEXTS);
    for (i = 0; i < s->n_texts; i++)
        if (strcmp(s->texts[i].name, name) == 0)
            return sn_error(&s->obj, SEQNET_EINVAL, "text object name '%s' used twice", name);
    memcpy(s->texts[s->n_texts].name, name, n + 1);
    s->texts[s->n_texts].kind = kind;
    s->texts[s->n_texts].obj = obj;
    s->n_texts++;
    return SEQNET_OK;
}

SEQNET_API int seqnet_saver_add_tokenizer(seqnet_saver *saver, const char *name,
                                          const seqnet_tokenizer *tokenizer)
{
    return add_text(saver, name, SN_TEXT_KIND_TOKENIZER, tokenizer);
}

SEQNET_API int seqnet_saver_add_vectorizer(seqnet_saver *saver, const char *name,
                                           const seqnet_vectorizer *vectorizer)
{
    return add_text(saver, name, SN_TEXT_KIND_VECTORIZER, vectorizer);
}

/* Section payloads other than the weights are small: they are built in
 * memory first, so sizes and CRCs are known before anything is written. */
static void write_graph(const seqnet_model *m, sn_sink *s)
{
    int32_t i, j;
    sn_sink_u32(s, (uint32_t)m->n_layers);
    sn_sink_u32(s, (uint32_t)m->n_inputs);
    sn_sink_u32(s, (uint32_t)m->n_outputs);
    for (i = 0; i < m->n_inputs; i++)
        sn_sink_u32(s, (uint32_t)m->inputs[i]);
    for (i = 0; i < m->n_outputs; i++)
        sn_sink_u32(s, (uint32_t)m->outputs[i]);
    sn_sink_u64(s, m->seed);
    for (i = 0; i < m->n_layers; i++) {
        const sn_layer *L = &m->layers[i];
        sn_sink_u32(s, (uint32_t)L->kind);
        sn_sink_str(s, L->name, strlen(L->name));
        if (L->ops == NULL) {
            sn_sink_u32(s, (uint32_t)L->out_shape.time);
            sn_sink_u32(s, (uint32_t)L->out_shape.features);
            sn_sink_u8(s, (uint8_t)L->out_shape.is_tokens);
            continue;
        }
        sn_sink_u32(s, (uint32_t)L->n_inputs);
        for (j = 0; j < L->n_inputs; j++)
            sn_sink_u32(s, (uint32_t)L->inputs[j]);
        sn_sink_u8(s, (uint8_t)L->trainable);
        sn_sink_u64(s, L->seed);
        sn_sink_u32(s, (uint32_t)L->opts.n);
        for (j = 0; j < L->opts.n; j++) {
            const sn_opt *o = &L->opts.items[j];
            sn_sink_u32(s, (uint32_t)o->key);
            sn_sink_u8(s, (uint8_t)o->type);
            if (o->type == SN_OPT_INT)
                sn_sink_i64(s, o->i);
            else if (o->type == SN_OPT_FLOAT)
                sn_sink_f64(s, o->f);
            else
                sn_sink_str(s, o->s, strlen(o->s));
        }
    }
}

static void write_trainer(const seqnet_trainer *t, sn_sink *s)
{
    sn_trainer_state st;
    int32_t i;
    sn_trainer_export(t, &st);
    sn_sink_u32(s, (uint32_t)st.n_outputs);
    for (i = 0; i < st.n_outputs; i++)
        sn_sink_u32(s, (uint32_t)st.loss[i]);
    sn_sink_u32(s, (uint32_t)st.n_metrics);
    for (i = 0; i < st.n_metrics; i++) {
        sn_sink_u32(s, (uint32_t)st.metric_output[i]);
        sn_sink_u32(s, (uint32_t)st.metric_kind[i]);
    }
    sn_sink_u32(s, (uint32_t)st.batch_size);
    sn_sink_u32(s, (uint32_t)st.epochs);
    sn_sink_u8(s, (uint8_t)(st.shuffle != 0));
    sn_sink_u64(s, st.seed);
    sn_sink_f64(s, st.validation_split);
    sn_sink_f64(s, st.clipvalue);
    sn_sink_f64(s, st.clipnorm);
    sn_sink_f64(s, st.global_clipnorm);
    sn_sink_u32(s, (uint32_t)st.reduction);
    sn_sink_u32(s, (uint32_t)st.optimizer);
    for (i = 0; i < 8; i++)
        sn_sink_f64(s, st.hyper[i]);
    sn_sink_i64(s, st.iterations);
    sn_sink_u64(s, st.step);
    sn_sink_i64(s, st.epochs_done);
    sn_sink_i64(s, st.n_params);
    for (i = 0; i < 2; i++) {
        sn_sink_u8(s, (uint8_t)(st.slot[i] != NULL));
        if (st.slot[i] != NULL) {
            int64_t k;
            for (k = 0; k < st.n_params; k++) {
                uint32_t bits;
                memcpy(&bits, &st.slot[i][k], 4);
                sn_sink_u32(s, bits);
            }
        }
    }
}

typedef struct section {
    uint32_t type;
    uint64_t offset, length;
    uint32_t crc;
    sn_sink body;        /* built payload, or empty for the weights */
    const void *raw;     /* the weights, written in place */
} section;

static uint64_t align_up(uint64_t v)
{
    return (v + FMT_ALIGN - 1) & ~(uint64_t)(FMT_ALIGN - 1);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    int i;
    for (i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    int i;
    for (i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

/* The weights as little-endian bytes: on little-endian hosts (every
 * supported one; checked at build time by a test) they are the floats. */
static int host_little_endian(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

typedef struct plan {
    int n;
    section sec[4 + FMT_MAX_TEXTS];
    uint8_t head[FMT_HEADER];
    uint8_t *table;
    uint64_t total;
} plan;

static void plan_free(plan *p, const sn_alloc *a)
{
    int i;
    for (i = 0; i < p->n; i++)
        sn_sink_free(&p->sec[i].body);
    sn_free(a, p->table);
    p->table = NULL;
    p->n = 0;
}

static int plan_build(seqnet_saver *sv, plan *p)
{
    const sn_alloc *a = &sv->obj.alloc;
    const seqnet_model *m = sv->model;
    uint64_t off;
    int i, st;
    memset(p, 0, sizeof *p);
    if (m == NULL)
        return sn_error(&sv->obj, SEQNET_ESTATE, "no model set");
    if (!host_little_endian())
        return sn_error(&sv->obj, SEQNET_EUNSUPPORTED, "big-endian hosts are not supported");
    for (i = 0; i < 4 + sv->n_texts; i++)
        sn_sink_init(&p->sec[i].body, a);
    p->sec[p->n].type = SEC_GRAPH;
    write_graph(m, &p->sec[p->n].body);
    p->n++;
    p->sec[p->n].type = SEC_WEIGHTS;
    p->sec[p->n].raw = m->params;
    p->sec[p->n].length = (uint64_t)m->n_params * 4u;
    p->n++;
    if (sv->trainer != NULL) {
        p->sec[p->n].type = SEC_TRAINER;
        write_trainer(sv->trainer, &p->sec[p->n].body);
        p->n++;
    }
    if (sv->n_meta > 0) {
        sn_sink *b = &p->sec[p->n].body;
        p->sec[p->n].type = SEC_META;
        sn_sink_u32(b, (uint32_t)sv->n_meta);
        for (i = 0; i < sv->n_meta; i++) {
            sn_sink_str(b, sv->meta[i].key, strlen(sv->meta[i].key));
            sn_sink_str(b, sv->meta[i].value, strlen(sv->meta[i].value));
        }
        p->n++;
    }
    for (i = 0; i < sv->n_texts; i++) {
        sn_sink *b = &p->sec[p->n].body;
        p->sec[p->n].type = SEC_TEXT;
        sn_sink_str(b, sv->texts[i].name, strlen(sv->texts[i].name));
        sn_sink_u32(b, (uint32_t)sv->texts[i].kind);
        if (!b->err && (st = sn_text_write_record((uint32_t)sv->texts[i].kind, sv->texts[i].obj,
                                                  b)) != SEQNET_OK) {
            p->n++;
            plan_free(p, a);
            return sn_error(&sv->obj, st, "could not serialize text object '%s'",
                            sv->texts[i].name);
        }
        p->n++;
    }
    for (i = 0; i < p->n; i++)
        if (p->sec[i].body.err) {
            plan_free(p, a);
            return sn_error(&sv->obj, SEQNET_ENOMEM, "out of memory serializing the model");
        }
    p->table = sn_calloc(a, (size_t)p->n, FMT_ENTRY);
    if (p->table == NULL) {
        p->n = 4 + sv->n_texts;
        plan_free(p, a);
        return sn_error(&sv->obj, SEQNET_ENOMEM, "out of memory serializing the model");
    }
    off = align_up(FMT_HEADER + (uint64_t)p->n * FMT_ENTRY);
    for (i = 0; i < p->n; i++) {
        section *s = &p->sec[i];
        uint8_t *e = p->table + (size_t)i * FMT_ENTRY;
        if (s->raw == NULL) {
            s->length = s->body.len;
            s->crc = sn_crc32c(0, s->body.buf, s->body.len);
        } else {
            s->crc = sn_crc32c(0, s->raw, (size_t)s->length);
        }
        s->offset = off;
        off = align_up(off + s->length);
        put_u32(e, s->type);
        put_u32(e + 4, 0);
        put_u64(e + 8, s->offset);
        put_u64(e + 16, s->length);
        put_u32(e + 24, s->crc);
        put_u32(e + 28, 0);
    }
    p->total = off;
    memset(p->head, 0, sizeof p->head);
    memcpy(p->head, FMT_MAGIC, 8);
    put_u32(p->head + 8, FMT_VERSION);
    put_u32(p->head + 12, (uint32_t)p->n);
    put_u64(p->head + 16, p->total);
    put_u32(p->head + 24, sn_crc32c(0, p->table, (size_t)p->n * FMT_ENTRY));
    put_u32(p->head + 28, sn_crc32c(0, p->head, 28));
    return SEQNET_OK;
}

/* Emit the planned file through `emit` in order, padding with zeros. */
typedef int (*emit_fn)(void *user, const void *data, size_t size);

static int plan_emit(const plan *p, emit_fn emit, void *user)
{
    static const uint8_t zeros[FMT_ALIGN] = {0};
    uint64_t pos;
    int i;
    if (emit(user, p->head, FMT_HEADER) != 0 ||
        emit(user, p->table, (size_t)p->n * FMT_ENTRY) != 0)
        return SEQNET_EIO;
    pos = FMT_HEADER + (uint64_t)p->n * FMT_ENTRY;
    for (i = 0; i < p->n; i++) {
        const section *s = &p->sec[i];
        if (s->offset > pos && emit(user, zeros, (size_t)(s->offset - pos)) != 0)
            return SEQNET_EIO;
        if (s->length > 0 &&
            emit(user, s->raw != NULL ? s->raw : (const void *)s->body.buf, (size_t)s->length) != 0)
            return SEQNET_EIO;
        pos = s->offset + s->length;
    }
    if (p->total > pos && emit(user, zeros, (size_t)(p->total - pos)) != 0)
        return SEQNET_EIO;
    return SEQNET_OK;
}

SEQNET_API int seqnet_saver_size(seqnet_saver *saver, size_t *size)
{
    plan p;
    int st;
    if (saver == NULL || size == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&saver->obj);
    if ((st = plan_build(saver, &p)) != SEQNET_OK)
        return st;
    *size = (size_t)p.total;
    plan_free(&p, &saver->obj.alloc);
    return SEQNET_OK;
}

typedef struct mem_writer {
    uint8_t *buf;
    size_t cap, len;
} mem_writer;

static int mem_emit(void *user, const void *data, size_t size)
{
    mem_writer *w = user;
    if (size > w->cap - w->len)
        return -1;
    memcpy(w->buf + w->len, data, size);
    w->len += size;
    return 0;
}

SEQNET_API int seqnet_saver_write_buffer(seqnet_saver *saver, void *buffer, size_t capacity,
                                         size_t *written)
{
    plan p;
    mem_writer w;
    int st;
    if (saver == NULL || buffer == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&saver->obj);
    if ((st = plan_build(saver, &p)) != SEQNET_OK)
        return st;
    if (p.total > capacity) {
        st = sn_error(&saver->obj, SEQNET_EBUFFER, "the file needs %llu bytes, the buffer has %zu",
                      (unsigned long long)p.total, capacity);
        plan_free(&p, &saver->obj.alloc);
        return st;
    }
    w.buf = buffer;
    w.cap = capacity;
    w.len = 0;
    st = plan_emit(&p, mem_emit, &w);
    plan_free(&p, &saver->obj.alloc);
    if (st != SEQNET_OK)
        return sn_error(&saver->obj, st, "internal size mismatch while writing");
    if (written != NULL)
        *written = w.len;
    return SEQNET_OK;
}

typedef struct host_writer {
    seqnet_write_fn fn;
    void *user;
} host_writer;

static int host_emit(void *user, const void *data, size_t size)
{
    host_writer *h = user;
    return h->fn(h->user, data, size);
}

SEQNET_API int seqnet_saver_write_callback(seqnet_saver *saver, seqnet_write_fn fn, void *user)
{
    plan p;
    host_writer h;
    int st;
    if (saver == NULL || fn == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&saver->obj);
    if ((st = plan_build(saver, &p)) != SEQNET_OK)
        return st;
    h.fn = fn;
    h.user = user;
    st = plan_emit(&p, host_emit, &h);
    plan_free(&p, &saver->obj.alloc);
    if (st != SEQNET_OK)
        return sn_error(&saver->obj, st, "the host write callback failed");
    return SEQNET_OK;
}

SEQNET_API int seqnet_saver_write_alloc(seqnet_saver *saver, void **out, size_t *size)
{
    plan p;
    mem_writer w;
    int st;
    if (saver == NULL || out == NULL || size == NULL)
        return SEQNET_EINVAL;
    *out = NULL;
    sn_clear_error(&saver->obj);
    if ((st = plan_build(saver, &p)) != SEQNET_OK)
        return st;
    w.buf = sn_export_malloc(&saver->obj.alloc, (size_t)p.total);
    if (w.buf == NULL) {
        plan_free(&p, &saver->obj.alloc);
        return sn_error(&saver->obj, SEQNET_ENOMEM, "out of memory for a %llu-byte file",
                        (unsigned long long)p.total);
    }
    w.cap = (size_t)p.total;
    w.len = 0;
    st = plan_emit(&p, mem_emit, &w);
    plan_free(&p, &saver->obj.alloc);
    if (st != SEQNET_OK) {
        seqnet_free(w.buf);
        return sn_error(&saver->obj, st, "internal size mismatch while writing");
    }
    *out = w.buf;
    *size = w.len;
    return SEQNET_OK;
}

/* ---- loader ---- */

typedef struct loaded_text {
    char name[64];
    int kind;
    void *obj;  /* owned until taken */
} loaded_text;

struct seqnet_loader {
    sn_object obj;
    seqnet_context ctx_copy;   /* allocator for objects made while loading */
    uint8_t *copy;             /* our copy of the file (not when borrowed) */
    seqnet_model *model;
    int has_trainer;
    sn_trainer_state trainer;
    float *slots[2];
    int32_t n_texts;
    loaded_text texts[FMT_MAX_TEXTS];
    int32_t n_meta;
    meta_entry meta[FMT_MAX_META];
};

SEQNET_API int seqnet_loader_new(seqnet_context *ctx, seqnet_loader **out)
{
    seqnet_loader *l;
    if (out == NULL)
        return SEQNET_EINVAL;
    *out = NULL;
    if (ctx == NULL)
        return SEQNET_EINVAL;
    l = sn_calloc(&ctx->obj.alloc, 1, sizeof *l);
    if (l == NULL)
        return SEQNET_ENOMEM;
    sn_object_init(&l->obj, SN_MAGIC_OTHER, &ctx->obj.alloc);
    l->ctx_copy = *ctx;
    *out = l;
    return SEQNET_OK;
}

static void free_texts(seqnet_loader *l)
{
    int32_t i;
    for (i = 0; i < l->n_texts; i++) {
        if (l->texts[i].obj == NULL)
            continue;
        if (l->texts[i].kind == SN_TEXT_KIND_TOKENIZER)
            seqnet_tokenizer_free(l->texts[i].obj);
        else
            seqnet_vectorizer_free(l->texts[i].obj);
    }
    l->n_texts = 0;
}

static void loader_clear(seqnet_loader *l)
{
    const sn_alloc *a = &l->obj.alloc;
    seqnet_model_free(l->model);
    l->model = NULL;
    free_texts(l);
    sn_free(a, l->slots[0]);
    sn_free(a, l->slots[1]);
    l->slots[0] = l->slots[1] = NULL;
    l->has_trainer = 0;
    meta_free(l->meta, &l->n_meta, a);
    /* The copy of the file may be referenced by nothing now. */
    sn_free(a, l->copy);
    l->copy = NULL;
}

SEQNET_API void seqnet_loader_free(seqnet_loader *loader)
{
    sn_alloc a;
    if (loader == NULL || loader->obj.magic != SN_MAGIC_OTHER)
        return;
    loader_clear(loader);
    a = loader->obj.alloc;
    loader->obj.magic = 0;
    sn_free(&a, loader);
}

/* Read a name (<= 63 bytes, no NUL inside) into dst. */
static int read_name(sn_source *src, char *dst, size_t cap)
{
    const uint8_t *p;
    size_t n;
    if (sn_source_str(src, &p, &n) != SEQNET_OK)
        return src->err ? src->err : SEQNET_ETRUNCATED;
    if (n == 0 || n >= cap || memchr(p, 0, n) != NULL)
        return SEQNET_EFORMAT;
    memcpy(dst, p, n);
    dst[n] = '\0';
    return SEQNET_OK;
}

/* Rebuild the graph section into a model (weights not yet attached). */
/* Every byte of the file is covered by a checksum or must be zero: the
 * reserved header bytes, the reserved table fields and the padding between
 * sections. So no flipped bit can load silently. */
static int check_zero_bytes(seqnet_loader *l, const uint8_t *p, uint32_t n_sections,
                            uint64_t total)
{
    uint64_t (*span)[2];
    uint64_t pos = FMT_HEADER + (uint64_t)n_sections * FMT_ENTRY, k;
    uint32_t i, j;
    int st = SEQNET_OK;
    for (k = 32; k < FMT_HEADER; k++)
        if (p[k] != 0)
            return sn_error(&l->obj, SEQNET_EFORMAT, "reserved header byte %llu is not zero",
                            (unsigned long long)k);
    span = sn_malloc(&l->obj.alloc, (size_t)n_sections * sizeof *span);
    if (span == NULL)
        return sn_error(&l->obj, SEQNET_ENOMEM, "out of memory checking the file");
    for (i = 0; i < n_sections; i++) {
        const uint8_t *e = p + FMT_HEADER + (size_t)i * FMT_ENTRY;
        if (get_u32(e + 4) != 0 || get_u32(e + 28) != 0) {
            st = sn_error(&l->obj, SEQNET_EFORMAT, "section %u: reserved fields not zero", i);
            goto done;
        }
        /* insertion sort by offset (sections do not overlap) */
        for (j = i; j > 0 && span[j - 1][0] > get_u64(e + 8); j--) {
            span[j][0] = span[j - 1][0];
            span[j][1] = span[j - 1][1];
        }
        span[j][0] = get_u64(e + 8);
        span[j][1] = get_u64(e + 8) + get_u64(e + 16);
    }
    for (i = 0; i <= n_sections; i++) {
        uint64_t gap_end = i < n_sections ? span[i][0] : total;
        for (k = pos; k < gap_end; k++)
            if (p[k] != 0) {
                st = sn_error(&l->obj, SEQNET_EFORMAT, "padding byte %llu is not zero",
                              (unsigned long long)k);
                goto done;
            }
        if (i < n_sections && span[i][1] > pos)
            pos = span[i][1];
    }
done:
    sn_free(&l->obj.alloc, span);
    return st;
}

static int read_graph(seqnet_loader *l, const uint8_t *data, size_t len, seqnet_model **out)
{
    const sn_alloc *a = &l->obj.alloc;
    sn_source src;
    seqnet_model *m;
    uint32_t n_layers, n_in, n_out, i, j;
    int64_t total = 0;
    int st = SEQNET_OK;
    sn_source_init(&src, data, len);
    n_layers = sn_source_u32(&src);
    n_in = sn_source_u32(&src);
    n_out = sn_source_u32(&src);
    if (src.err)
        return sn_error(&l->obj, SEQNET_ETRUNCATED, "graph section truncated");
    if (n_layers < 1 || n_layers > FMT_MAX_LAYERS || n_in < 1 || n_in > n_layers || n_out < 1 ||
        n_out > n_layers)
        return sn_error(&l->obj, SEQNET_EFORMAT, "graph section: bad counts (%u layers, %u "
                        "inputs, %u outputs)", n_layers, n_in, n_out);
    /* Each layer takes at least 4+8+1 bytes: refuse counts the bytes cannot hold. */
    if ((uint64_t)n_layers * 13u + ((uint64_t)n_in + n_out) * 4u > sn_source_left(&src))
        return sn_error(&l->obj, SEQNET_ETRUNCATED, "graph section shorter than its counts");
    m = sn_calloc(a, 1, sizeof *m);
    if (m == NULL)
        return sn_error(&l->obj, SEQNET_ENOMEM, "out of memory loading");
    sn_object_init(&m->obj, SN_MAGIC_MODEL, a);
    m->layers = sn_calloc(a, n_layers, sizeof *m->layers);
    m->inputs = sn_calloc(a, n_in, sizeof *m->inputs);
    m->outputs = sn_calloc(a, n_out, sizeof *m->outputs);
    if (m->layers == NULL || m->inputs == NULL || m->outputs == NULL) {
        st = sn_error(&l->obj, SEQNET_ENOMEM, "out of memory loading");
        goto fail;
    }
    m->n_inputs = (int32_t)n_in;
    m->n_outputs = (int32_t)n_out;
    for (i = 0; i < n_in; i++)
        m->inputs[i] = (int32_t)sn_source_u32(&src);
    for (i = 0; i < n_out; i++)
        m->outputs[i] = (int32_t)sn_source_u32(&src);
    m->seed = sn_source_u64(&src);
    m->is_chain = n_in == 1;
    for (i = 0; i < n_layers && !src.err; i++) {
        sn_layer *L = &m->layers[i];
        uint32_t kind = sn_source_u32(&src);
        if ((st = read_name(&src, L->name, sizeof L->name)) != SEQNET_OK) {
            st = sn_error(&l->obj, st, "layer %u: bad name", i);
            goto fail;
        }
        for (j = 0; j < i; j++)
            if (strcmp(m->layers[j].name, L->name) == 0) {
                st = sn_error(&l->obj, SEQNET_EFORMAT, "layer name '%s' appears twice", L->name);
                goto fail;
            }
        if (kind == 0) {
            int32_t time = (int32_t)sn_source_u32(&src), feat = (int32_t)sn_source_u32(&src);
            int tok = sn_source_flag(&src);
            if (src.err)
                break;
            if (time < -1 || time > SN_MAX_DIM || feat < 1 || feat > SN_MAX_DIM ||
                (tok && (feat != 1 || time == -1))) {
                st = sn_error(&l->obj, SEQNET_EFORMAT, "input '%s': bad shape", L->name);
                goto fail;
            }
            L->out_shape.time = time;
            L->out_shape.features = feat;
            L->out_shape.is_tokens = (int8_t)tok;
            L->trainable = 1;
            m->n_layers = (int32_t)i + 1;
            continue;
        } else {
            sn_shape in[SN_MAX_INPUTS];
            sn_opts opts;
            uint32_t n_inputs = sn_source_u32(&src), n_opts;
            int trainable;
            if (src.err)
                break;
            if (n_inputs > SN_MAX_INPUTS) {
                st = sn_error(&l->obj, SEQNET_EFORMAT, "layer '%s': %u inputs", L->name, n_inputs);
                goto fail;
            }
            for (j = 0; j < n_inputs; j++) {
                uint32_t id = sn_source_u32(&src);
                if (src.err)
                    break;
                if (id >= i) {
                    st = sn_error(&l->obj, SEQNET_EFORMAT,
                                  "layer '%s' reads node %u, which does not come before it",
                                  L->name, id);
                    goto fail;
                }
                L->inputs[j] = (int32_t)id;
                in[j] = m->layers[id].out_shape;
                if (n_inputs != 1 || id != i - 1)
                    m->is_chain = 0;
            }
            trainable = sn_source_flag(&src);
            L->seed = sn_source_u64(&src);
            n_opts = sn_source_u32(&src);
            if (src.err)
                break;
            if (n_opts > SN_MAX_OPTS) {
                st = sn_error(&l->obj, SEQNET_EFORMAT, "layer '%s': %u options", L->name, n_opts);
                goto fail;
            }
            memset(&opts, 0, sizeof opts);
            for (j = 0; j < n_opts && !src.err; j++) {
                sn_opt *o = &opts.items[j];
                o->key = (int32_t)sn_source_u32(&src);
                o->type = sn_source_u8(&src);
                if (o->type == SN_OPT_INT) {
                    o->i = sn_source_i64(&src);
                    o->f = (double)o->i;
                } else if (o->type == SN_OPT_FLOAT) {
                    o->f = sn_source_f64(&src);
                    if (!isfinite(o->f)) {
                        st = sn_error(&l->obj, SEQNET_EFORMAT, "layer '%s': non-finite option",
                                      L->name);
                        goto fail;
                    }
                } else if (o->type == SN_OPT_STRING) {
                    if ((st = read_name(&src, o->s, sizeof o->s)) != SEQNET_OK) {
                        st = sn_error(&l->obj, st, "layer '%s': bad string option", L->name);
                        goto fail;
                    }
                } else if (!src.err) {
                    st = sn_error(&l->obj, SEQNET_EFORMAT, "layer '%s': option type %d",
                                  L->name, (int)o->type);
                    goto fail;
                }
            }
            if (src.err)
                break;
            opts.n = (int32_t)n_opts;
            /* Rebuild with the builder's own validation: shapes, options and
             * weight declarations are checked exactly as when it was made. */
            st = sn_layer_setup(L, (int32_t)kind, &opts, in, (int32_t)n_inputs, a, &l->obj);
            m->n_layers = (int32_t)i + 1;
            /* Options or shapes the builder refuses mean malformed bytes (the
             * message says which layer); an unknown kind stays EUNSUPPORTED. */
            if (st == SEQNET_EINVAL || st == SEQNET_ESHAPE)
                st = SEQNET_EFORMAT;
            if (st != SEQNET_OK)
                goto fail;
            if (kind == SEQNET_LAYER_RNN_STATE &&
                sn_rnn_state_check(&m->layers[L->inputs[0]], L, &l->obj) != SEQNET_OK) {
                st = SEQNET_EFORMAT;
                goto fail;
            }
            if ((L->trainable != 0) != (trainable != 0) && trainable == 0) {
                /* trainable was saved separately from the options in older writers */
                L->trainable = 0;
            }
            for (j = 0; j < (uint32_t)L->n_params; j++) {
                L->params[j].offset = total;
                total += L->params[j].count;
                if (L->params[j].trainable)
                    m->n_trainable += L->params[j].count;
                else
                    m->n_non_trainable += L->params[j].count;
            }
        }
    }
    if (src.err) {
        st = sn_error(&l->obj, src.err, "graph section %s", src.err == SEQNET_ETRUNCATED
                                                                  ? "truncated"
                                                                  : "malformed");
        goto fail;
    }
    if (sn_source_left(&src) != 0) {
        st = sn_error(&l->obj, SEQNET_EFORMAT, "graph section has %zu stray bytes",
                      sn_source_left(&src));
        goto fail;
    }
    for (i = 0; i < n_in; i++) {
        if (m->inputs[i] < 0 || m->inputs[i] >= m->n_layers ||
            m->layers[m->inputs[i]].ops != NULL) {
            st = sn_error(&l->obj, SEQNET_EFORMAT, "model input %u is not an input layer", i);
            goto fail;
        }
        for (j = 0; j < i; j++)
            if (m->inputs[j] == m->inputs[i]) {
                st = sn_error(&l->obj, SEQNET_EFORMAT, "model input listed twice");
                goto fail;
            }
    }
    for (i = 0; i < (uint32_t)m->n_layers; i++)
        if (m->layers[i].ops == NULL) {
            int listed = 0;
            for (j = 0; j < n_in; j++)
                listed |= m->inputs[j] == (int32_t)i;
            if (!listed) {
                st = sn_error(&l->obj, SEQNET_EFORMAT, "input layer '%s' is not a model input",
                              m->layers[i].name);
                goto fail;
            }
        }
    for (i = 0; i < n_out; i++) {
        if (m->outputs[i] < 0 || m->outputs[i] >= m->n_layers) {
            st = sn_error(&l->obj, SEQNET_EFORMAT, "model output %u out of range", i);
            goto fail;
        }
        /* as seqnet_graph_compile: outputs are float tensors */
        if (m->layers[m->outputs[i]].out_shape.is_tokens) {
            st = sn_error(&l->obj, SEQNET_EFORMAT, "model output %u is a tensor of token ids", i);
            goto fail;
        }
    }
    m->n_params = total;
    *out = m;
    return SEQNET_OK;
fail:
    seqnet_model_free(m);
    return st;
}

static int read_trainer(seqnet_loader *l, const uint8_t *data, size_t len, int64_t n_params)
{
    sn_source src;
    sn_trainer_state *st = &l->trainer;
    int32_t i;
    memset(st, 0, sizeof *st);
    sn_source_init(&src, data, len);
    st->n_outputs = (int32_t)sn_source_u32(&src);
    if (!src.err && (st->n_outputs < 1 || st->n_outputs > SN_DATA_MAX_IO))
        return sn_error(&l->obj, SEQNET_EFORMAT, "trainer section: bad output count");
    for (i = 0; i < st->n_outputs && !src.err; i++)
        st->loss[i] = (int)sn_source_u32(&src);
    st->n_metrics = (int32_t)sn_source_u32(&src);
    if (!src.err && (st->n_metrics < 0 || st->n_metrics > SN_TRAINER_MAX_METRICS))
        return sn_error(&l->obj, SEQNET_EFORMAT, "trainer section: bad metric count");
    for (i = 0; i < st->n_metrics && !src.err; i++) {
        st->metric_output[i] = (int32_t)sn_source_u32(&src);
        st->metric_kind[i] = (int)sn_source_u32(&src);
    }
    st->batch_size = (int32_t)sn_source_u32(&src);
    st->epochs = (int32_t)sn_source_u32(&src);
    st->shuffle = sn_source_flag(&src);
    st->seed = sn_source_u64(&src);
    st->validation_split = sn_source_f64(&src);
    st->clipvalue = sn_source_f64(&src);
    st->clipnorm = sn_source_f64(&src);
    st->global_clipnorm = sn_source_f64(&src);
    st->reduction = (int)sn_source_u32(&src);
    st->optimizer = (int)sn_source_u32(&src);
    for (i = 0; i < 8; i++)
        st->hyper[i] = sn_source_f64(&src);
    st->iterations = sn_source_i64(&src);
    st->step = sn_source_u64(&src);
    st->epochs_done = sn_source_i64(&src);
    st->n_params = sn_source_i64(&src);
    if (src.err)
        return sn_error(&l->obj, src.err, "trainer section truncated or malformed");
    if (st->n_params != n_params || st->batch_size < 1 || st->epochs < 0 ||
        st->iterations < 0 || st->epochs_done < 0 || !(st->validation_split >= 0 &&
        st->validation_split < 1) || !(st->clipvalue >= 0) || !(st->clipnorm >= 0) ||
        !(st->global_clipnorm >= 0))
        return sn_error(&l->obj, SEQNET_EFORMAT, "trainer section: values out of range");
    st->n_slots = 2;
    for (i = 0; i < 2; i++) {
        int present = sn_source_flag(&src);
        int64_t k;
        if (src.err)
            break;
        if (!present)
            continue;
        if ((uint64_t)n_params * 4u > sn_source_left(&src))
            return sn_error(&l->obj, SEQNET_ETRUNCATED, "trainer section: moments truncated");
        l->slots[i] = sn_malloc(&l->obj.alloc, (size_t)(n_params > 0 ? n_params : 1) * 4u);
        if (l->slots[i] == NULL)
            return sn_error(&l->obj, SEQNET_ENOMEM, "out of memory loading optimizer state");
        for (k = 0; k < n_params; k++) {
            uint32_t bits = sn_source_u32(&src);
            memcpy(&l->slots[i][k], &bits, 4);
            if (!isfinite(l->slots[i][k]))
                return sn_error(&l->obj, SEQNET_ENONFINITE, "optimizer state is not finite");
        }
        st->slot[i] = l->slots[i];
    }
    if (src.err)
        return sn_error(&l->obj, src.err, "trainer section truncated or malformed");
    if (sn_source_left(&src) != 0)
        return sn_error(&l->obj, SEQNET_EFORMAT, "trainer section has stray bytes");
    l->has_trainer = 1;
    return SEQNET_OK;
}

static int read_text(seqnet_loader *l, const uint8_t *data, size_t len)
{
    sn_source src;
    loaded_text *t;
    uint32_t kind;
    size_t used = 0;
    int st;
    if (l->n_texts >= FMT_MAX_TEXTS)
        return sn_error(&l->obj, SEQNET_ETOOBIG, "more than %d text objects", FMT_MAX_TEXTS);
    t = &l->texts[l->n_texts];
    sn_source_init(&src, data, len);
    if ((st = read_name(&src, t->name, sizeof t->name)) != SEQNET_OK)
        return sn_error(&l->obj, st, "text section: bad name");
    kind = sn_source_u32(&src);
    if (src.err)
        return sn_error(&l->obj, src.err, "text section truncated");
    if (kind != SN_TEXT_KIND_TOKENIZER && kind != SN_TEXT_KIND_VECTORIZER)
        return sn_error(&l->obj, SEQNET_EFORMAT, "text section: unknown kind %u", kind);
    st = sn_text_read_record(&l->ctx_copy, kind, data + src.pos, len - src.pos, &t->obj, &used);
    if (st != SEQNET_OK)
        return sn_error(&l->obj, st, "text object '%s': %s", t->name,
                        seqnet_errmsg(&l->ctx_copy));
    t->kind = (int)kind;
    l->n_texts++;
    if (used != len - src.pos)
        return sn_error(&l->obj, SEQNET_EFORMAT, "text section '%s' has stray bytes", t->name);
    return SEQNET_OK;
}

static int read_meta(seqnet_loader *l, const uint8_t *data, size_t len)
{
    sn_source src;
    uint32_t n, i, j;
    sn_source_init(&src, data, len);
    n = sn_source_u32(&src);
    if (src.err)
        return sn_error(&l->obj, SEQNET_ETRUNCATED, "metadata section truncated");
    if (n > FMT_MAX_META || l->n_meta != 0)
        return sn_error(&l->obj, SEQNET_EFORMAT, "metadata section: %u entries", n);
    for (i = 0; i < n; i++) {
        meta_entry *m = &l->meta[i];
        const uint8_t *v;
        size_t nv;
        int st = read_name(&src, m->key, sizeof m->key);
        if (st != SEQNET_OK)
            return sn_error(&l->obj, st, "metadata entry %u: bad key", i);
        for (j = 0; j < i; j++)
            if (strcmp(l->meta[j].key, m->key) == 0)
                return sn_error(&l->obj, SEQNET_EFORMAT, "metadata key '%s' twice", m->key);
        if (sn_source_str(&src, &v, &nv) != SEQNET_OK || src.err)
            return sn_error(&l->obj, src.err ? src.err : SEQNET_ETRUNCATED,
                            "metadata entry '%s' truncated", m->key);
        if (nv > FMT_MAX_META_VALUE || memchr(v, 0, nv) != NULL)
            return sn_error(&l->obj, SEQNET_EFORMAT, "metadata value of '%s' malformed", m->key);
        m->value = sn_malloc(&l->obj.alloc, nv + 1);
        if (m->value == NULL)
            return sn_error(&l->obj, SEQNET_ENOMEM, "out of memory for metadata");
        memcpy(m->value, v, nv);
        m->value[nv] = '\0';
        l->n_meta = (int32_t)i + 1;
    }
    if (sn_source_left(&src) != 0)
        return sn_error(&l->obj, SEQNET_EFORMAT, "metadata section has stray bytes");
    return SEQNET_OK;
}

SEQNET_API int seqnet_loader_read_buffer(seqnet_loader *loader, const void *data, size_t size,
                                         unsigned flags)
{
    seqnet_loader *l = loader;
    const uint8_t *p = data;
    const uint8_t *weights = NULL;
    uint64_t total, weights_len = 0;
    uint32_t version, n_sections, i, j;
    int st, seen_graph = 0, seen_weights = 0;
    const uint8_t *graph = NULL, *trainer = NULL;
    uint64_t graph_len = 0, trainer_len = 0;

    if (l == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&l->obj);
    if (data == NULL || (flags & ~(unsigned)SEQNET_LOAD_BORROW) != 0)
        return sn_error(&l->obj, SEQNET_EINVAL, "NULL data or unknown flags");
    loader_clear(l);
    if (size < FMT_HEADER)
        return sn_error(&l->obj, SEQNET_ETRUNCATED, "%zu bytes: shorter than the header", size);
    if (memcmp(p, FMT_MAGIC, 8) != 0) {
        if (size >= 8 && memcmp(p, "SNTX", 4) == 0)
            return sn_error(&l->obj, SEQNET_EWRONGTYPE, "this is a text-object file, not a model");
        return sn_error(&l->obj, SEQNET_EFORMAT, "not a seqnet model file (bad magic)");
    }
    if (get_u32(p + 28) != sn_crc32c(0, p, 28))
        return sn_error(&l->obj, SEQNET_ECHECKSUM, "header checksum mismatch");
    version = get_u32(p + 8);
    if (version > FMT_VERSION || version == 0)
        return sn_error(&l->obj, SEQNET_EVERSION,
                        "format version %u; this library reads versions 1 to %u", version,
                        FMT_VERSION);
    n_sections = get_u32(p + 12);
    total = get_u64(p + 16);
    if (n_sections < 2 || n_sections > FMT_MAX_SECTIONS)
        return sn_error(&l->obj, SEQNET_EFORMAT, "%u sections", n_sections);
    if (total > size)
        return sn_error(&l->obj, SEQNET_ETRUNCATED, "the file is %llu bytes, only %zu given",
                        (unsigned long long)total, size);
    if (total < FMT_HEADER + (uint64_t)n_sections * FMT_ENTRY)
        return sn_error(&l->obj, SEQNET_EFORMAT, "declared size smaller than the section table");
    if (get_u32(p + 24) != sn_crc32c(0, p + FMT_HEADER, (size_t)n_sections * FMT_ENTRY))
        return sn_error(&l->obj, SEQNET_ECHECKSUM, "section table checksum mismatch");
    for (i = 0; i < n_sections; i++) {
        const uint8_t *e = p + FMT_HEADER + (size_t)i * FMT_ENTRY;
        uint32_t type = get_u32(e);
        uint64_t off = get_u64(e + 8), len = get_u64(e + 16);
        if (off % FMT_ALIGN != 0 || off < FMT_HEADER + (uint64_t)n_sections * FMT_ENTRY ||
            off > total || len > total - off)
            return sn_error(&l->obj, SEQNET_EFORMAT, "section %u lies outside the file", i);
        for (j = 0; j < i; j++) {
            const uint8_t *f = p + FMT_HEADER + (size_t)j * FMT_ENTRY;
            uint64_t o2 = get_u64(f + 8), l2 = get_u64(f + 16);
            if (off < o2 + l2 && o2 < off + len)
                return sn_error(&l->obj, SEQNET_EFORMAT, "sections %u and %u overlap", j, i);
        }
        if (get_u32(e + 24) != sn_crc32c(0, p + off, (size_t)len))
            return sn_error(&l->obj, SEQNET_ECHECKSUM, "section %u (type %u) checksum mismatch",
                            i, type);
        if (type == SEC_GRAPH) {
            if (seen_graph++)
                return sn_error(&l->obj, SEQNET_EFORMAT, "two graph sections");
            graph = p + off;
            graph_len = len;
        } else if (type == SEC_WEIGHTS) {
            if (seen_weights++)
                return sn_error(&l->obj, SEQNET_EFORMAT, "two weight sections");
            weights = p + off;
            weights_len = len;
        } else if (type == SEC_TRAINER) {
            if (trainer != NULL)
                return sn_error(&l->obj, SEQNET_EFORMAT, "two trainer sections");
            trainer = p + off;
            trainer_len = len;
        } else if (type != SEC_TEXT) {
            /* Unknown section types are skipped: newer writers may add optional ones. */
        }
    }
    if (!seen_graph || !seen_weights)
        return sn_error(&l->obj, SEQNET_EFORMAT, "the file has no %s section",
                        seen_graph ? "weights" : "graph");
    if ((st = check_zero_bytes(l, p, n_sections, total)) != SEQNET_OK)
        return st;
    if ((st = read_graph(l, graph, (size_t)graph_len, &l->model)) != SEQNET_OK)
        goto fail;
    if (weights_len != (uint64_t)l->model->n_params * 4u) {
        st = sn_error(&l->obj, SEQNET_EFORMAT, "the weights section holds %llu bytes, the graph "
                      "declares %lld weights", (unsigned long long)weights_len,
                      (long long)l->model->n_params);
        goto fail;
    }
    {
        const float *w;
        int64_t k;
        if (flags & SEQNET_LOAD_BORROW) {
            if (((uintptr_t)weights % sizeof(float)) != 0) {
                st = sn_error(&l->obj, SEQNET_EINVAL, "a borrowed buffer must be aligned");
                goto fail;
            }
            w = (const float *)(const void *)weights;
            l->model->params = (float *)(uintptr_t)w;
            l->model->params_borrowed = 1;
        } else {
            l->model->params = sn_malloc(&l->obj.alloc,
                                         (size_t)(l->model->n_params > 0 ? l->model->n_params : 1) *
                                             sizeof(float));
            if (l->model->params == NULL) {
                st = sn_error(&l->obj, SEQNET_ENOMEM, "out of memory for %lld weights",
                              (long long)l->model->n_params);
                goto fail;
            }
            memcpy(l->model->params, weights, (size_t)weights_len);
            w = l->model->params;
        }
        for (k = 0; k < l->model->n_params; k++)
            if (!isfinite(w[k])) {
                st = sn_error(&l->obj, SEQNET_ENONFINITE, "weight %lld is not finite",
                              (long long)k);
                goto fail;
            }
    }
    if (trainer != NULL &&
        (st = read_trainer(l, trainer, (size_t)trainer_len, l->model->n_params)) != SEQNET_OK)
        goto fail;
    for (i = 0; i < n_sections; i++) {
        const uint8_t *e = p + FMT_HEADER + (size_t)i * FMT_ENTRY;
        if (get_u32(e) == SEC_TEXT &&
            (st = read_text(l, p + get_u64(e + 8), (size_t)get_u64(e + 16))) != SEQNET_OK)
            goto fail;
        if (get_u32(e) == SEC_META &&
            (st = read_meta(l, p + get_u64(e + 8), (size_t)get_u64(e + 16))) != SEQNET_OK)
            goto fail;
    }
    return SEQNET_OK;
fail:
    loader_clear(l);
    return st;
}

SEQNET_API int seqnet_loader_read_callback(seqnet_loader *loader, seqnet_read_fn fn, void *user,
                                           size_t max_size)
{
    uint8_t head[FMT_HEADER];
    uint64_t total;
    uint8_t *buf;
    int st;
    if (loader == NULL || fn == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&loader->obj);
    loader_clear(loader);
    if (fn(user, head, sizeof head) != 0)
        return sn_error(&loader->obj, SEQNET_ETRUNCATED, "could not read the header");
    if (memcmp(head, FMT_MAGIC, 8) != 0)
        return sn_error(&loader->obj, SEQNET_EFORMAT, "not a seqnet model file (bad magic)");
    if (get_u32(head + 28) != sn_crc32c(0, head, 28))
        return sn_error(&loader->obj, SEQNET_ECHECKSUM, "header checksum mismatch");
    total = get_u64(head + 16);
    if (total < FMT_HEADER || total > max_size || total > SIZE_MAX)
        return sn_error(&loader->obj, SEQNET_ETOOBIG, "the file declares %llu bytes (limit %zu)",
                        (unsigned long long)total, max_size);
    buf = sn_malloc(&loader->obj.alloc, (size_t)total);
    if (buf == NULL)
        return sn_error(&loader->obj, SEQNET_ENOMEM, "out of memory for a %llu-byte file",
                        (unsigned long long)total);
    memcpy(buf, head, sizeof head);
    if (total > FMT_HEADER && fn(user, buf + FMT_HEADER, (size_t)total - FMT_HEADER) != 0) {
        sn_free(&loader->obj.alloc, buf);
        return sn_error(&loader->obj, SEQNET_ETRUNCATED, "the stream ended early");
    }
    /* Parse our private copy; the model copies the weights out of it. */
    st = seqnet_loader_read_buffer(loader, buf, (size_t)total, 0);
    sn_free(&loader->obj.alloc, buf);
    return st;
}

SEQNET_API int seqnet_loader_take_model(seqnet_loader *loader, seqnet_model **out)
{
    if (loader == NULL || out == NULL)
        return SEQNET_EINVAL;
    *out = NULL;
    if (loader->model == NULL)
        return sn_error(&loader->obj, SEQNET_ESTATE, "no model loaded, or already taken");
    *out = loader->model;
    loader->model = NULL;
    return SEQNET_OK;
}

SEQNET_API int seqnet_loader_has_optimizer(const seqnet_loader *loader)
{
    return loader != NULL && loader->has_trainer;
}

SEQNET_API int seqnet_loader_restore_trainer(const seqnet_loader *loader, seqnet_trainer *trainer)
{
    if (loader == NULL || trainer == NULL)
        return SEQNET_EINVAL;
    if (!loader->has_trainer)
        return SEQNET_ESTATE;
    return sn_trainer_import(trainer, &loader->trainer);
}

SEQNET_API int32_t seqnet_loader_n_texts(const seqnet_loader *loader)
{
    return loader == NULL ? 0 : loader->n_texts;
}

SEQNET_API int seqnet_loader_text_info(const seqnet_loader *loader, int32_t index,
                                       const char **name, int *kind)
{
    if (loader == NULL)
        return SEQNET_EINVAL;
    if (index < 0 || index >= loader->n_texts)
        return SEQNET_ERANGE;
    if (name != NULL)
        *name = loader->texts[index].name;
    if (kind != NULL)
        *kind = loader->texts[index].kind;
    return SEQNET_OK;
}

static int take_text(seqnet_loader *l, int32_t index, int kind, void **out)
{
    if (l == NULL || out == NULL)
        return SEQNET_EINVAL;
    *out = NULL;
    if (index < 0 || index >= l->n_texts)
        return SEQNET_ERANGE;
    if (l->texts[index].kind != kind)
        return sn_error(&l->obj, SEQNET_EWRONGTYPE, "text object %d is another kind", (int)index);
    if (l->texts[index].obj == NULL)
        return sn_error(&l->obj, SEQNET_ESTATE, "text object %d already taken", (int)index);
    *out = l->texts[index].obj;
    l->texts[index].obj = NULL;
    return SEQNET_OK;
}

SEQNET_API int seqnet_loader_take_tokenizer(seqnet_loader *loader, int32_t index,
                                            seqnet_tokenizer **out)
{
    void *p = NULL;
    int st = take_text(loader, index, SN_TEXT_KIND_TOKENIZER, &p);
    if (out != NULL)
        *out = p;
    return st;
}

SEQNET_API int seqnet_loader_take_vectorizer(seqnet_loader *loader, int32_t index,
                                             seqnet_vectorizer **out)
{
    void *p = NULL;
    int st = take_text(loader, index, SN_TEXT_KIND_VECTORIZER, &p);
    if (out != NULL)
        *out = p;
    return st;
}

SEQNET_API const char *seqnet_loader_get_meta(const seqnet_loader *loader, const char *key)
{
    int32_t i;
    if (loader == NULL || key == NULL)
        return NULL;
    for (i = 0; i < loader->n_meta; i++)
        if (strcmp(loader->meta[i].key, key) == 0)
            return loader->meta[i].value;
    return NULL;
}

SEQNET_API int32_t seqnet_loader_n_meta(const seqnet_loader *loader)
{
    return loader == NULL ? 0 : loader->n_meta;
}

SEQNET_API int seqnet_loader_meta(const seqnet_loader *loader, int32_t index, const char **key,
                                  const char **value)
{
    if (loader == NULL)
        return SEQNET_EINVAL;
    if (index < 0 || index >= loader->n_meta)
        return SEQNET_ERANGE;
    if (key != NULL)
        *key = loader->meta[index].key;
    if (value != NULL)
        *value = loader->meta[index].value;
    return SEQNET_OK;
}
