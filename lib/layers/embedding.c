/*
 * lib/layers/embedding.c -- Embedding(input_dim, output_dim, mask_zero).
 *
 * Token ids [B, T] -> vectors [B, T, output_dim] by gathering rows of the
 * "embeddings" table [input_dim, output_dim] (uniform(-0.05, 0.05), Keras).
 *
 * Every id is checked before anything is written, so a bad batch leaves the
 * output untouched and the error names the layer, the id and its position.
 *
 * Masks: with mask_zero, id 0 marks a padding step (Keras: inputs != 0). If
 * the token input already carries a mask (explicit lengths), the two are
 * combined: a step is real only when both say so. Keras has no token-input
 * masks, so for Keras models this is exactly Keras's mask.
 *
 * Gradient: sparse. Only the rows a batch uses are written; each touched row
 * is zeroed the first time it is seen (row_flags / touched_rows in sn_exec)
 * and then accumulates one grad_out row per occurrence, so a batch of B*T
 * ids costs O(B*T*output_dim) whatever the vocabulary size. Every step
 * contributes, masked ones included (their incoming gradient is zero when
 * downstream honours the mask), as in Keras's IndexedSlices gradient.
 */
#include <string.h>

#include "layers/layer.h"

typedef struct embedding_config {
    int32_t input_dim;
    int32_t output_dim;
    int32_t mask_zero;
} embedding_config;

static const int32_t embedding_allowed[] = {SEQNET_OPT_INPUT_DIM, SEQNET_OPT_OUTPUT_DIM,
                                            SEQNET_OPT_MASK_ZERO, SEQNET_OPT_TRAINABLE, 0};

/* A required positive int32 option. */
static int read_dim(const sn_layer *L, sn_object *err, int key, const char *what, int32_t *out)
{
    int64_t v = 0;
    int got = sn_opts_int(&L->opts, key, &v);
    if (got == 0)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': Embedding needs %s", L->name, what);
    if (got < 0 || v < 1 || v > INT32_MAX)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': %s must be an integer >= 1", L->name,
                        what);
    *out = (int32_t)v;
    return SEQNET_OK;
}

/* An optional 0/1 flag. */
static int read_flag(const sn_layer *L, sn_object *err, int key, const char *what, int dflt,
                     int32_t *out)
{
    int64_t v = dflt;
    int got = sn_opts_int(&L->opts, key, &v);
    if (got < 0 || v < 0 || v > 1)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': %s must be 0 or 1", L->name, what);
    *out = (int32_t)v;
    return SEQNET_OK;
}

static int embedding_configure(sn_layer *L, sn_object *err)
{
    embedding_config *c = L->config;
    int32_t trainable = 1;
    int rc;
    if ((rc = read_dim(L, err, SEQNET_OPT_INPUT_DIM, "input_dim", &c->input_dim)) != SEQNET_OK ||
        (rc = read_dim(L, err, SEQNET_OPT_OUTPUT_DIM, "output_dim", &c->output_dim)) !=
            SEQNET_OK ||
        (rc = read_flag(L, err, SEQNET_OPT_MASK_ZERO, "mask_zero", 0, &c->mask_zero)) !=
            SEQNET_OK ||
        (rc = read_flag(L, err, SEQNET_OPT_TRAINABLE, "trainable", 1, &trainable)) != SEQNET_OK)
        return rc;
    L->trainable = (int8_t)trainable;
    return SEQNET_OK;
}

static int embedding_infer(const sn_layer *L, const sn_shape *in, int32_t n_in, sn_shape *out,
                           sn_object *err)
{
    const embedding_config *c = L->config;
    (void)n_in;
    if (!in[0].is_tokens)
        return sn_layer_shape_error(L, err, "Embedding expects token ids (an int32 token "
                                            "input), got float values");
    out->time = in[0].time;
    out->features = c->output_dim;
    out->is_tokens = 0;
    /* A vector (no time axis) has nothing to mask. */
    out->masked = (int8_t)(in[0].time != SN_TIME_VECTOR && (c->mask_zero || in[0].masked));
    return SEQNET_OK;
}

static int embedding_declare(sn_layer *L, sn_object *err)
{
    const embedding_config *c = L->config;
    sn_param *p = &L->params[0];
    (void)err;
    memset(p, 0, sizeof *p);
    strncpy(p->name, "embeddings", sizeof p->name - 1);
    p->rank = 2;
    p->dims[0] = c->input_dim;
    p->dims[1] = c->output_dim;
    p->count = (int64_t)c->input_dim * c->output_dim;
    p->init = SN_INIT_UNIFORM_005;
    p->trainable = L->trainable;
    p->sparse_rows = 1;
    L->n_params = 1;
    return SEQNET_OK;
}

/* How many token rows ahead the gather and the scatter prefetch. */
#define EMB_AHEAD 12
#if defined(__GNUC__)
#define EMB_PREFETCH(p, w) __builtin_prefetch((p), (w), 1)
#else
#define EMB_PREFETCH(p, w) ((void)(p))
#endif

static int embedding_forward(sn_exec *e)
{
    const sn_layer *L = e->layer;
    const embedding_config *c = L->config;
    const sn_tensor *in = e->in[0];
    sn_tensor *out = e->out;
    const float *table = e->params + L->params[0].offset;
    size_t n = (size_t)in->batch * (size_t)in->time, dim = (size_t)c->output_dim, i;

    for (i = 0; i < n; i++) {
        int32_t id = in->ids[i];
        if (id < 0 || id >= c->input_dim)
            return sn_error(e->err, SEQNET_ERANGE,
                            "layer '%s': token id %d at batch %d step %d is outside [0, %d)",
                            L->name, (int)id, (int)(i / (size_t)in->time),
                            (int)(i % (size_t)in->time), (int)c->input_dim);
    }
    /* Rows of a large table are cache misses: ask for them some way
     * ahead (every cache line of the row: 16 floats apart, and the last). */
    for (i = 0; i < n; i++) {
        if (i + EMB_AHEAD < n) {
            const float *next = table + (size_t)in->ids[i + EMB_AHEAD] * dim;
            size_t f;
            for (f = 0; f < dim; f += 16)
                EMB_PREFETCH(next + f, 0);
            EMB_PREFETCH(next + dim - 1, 0);
        }
        memcpy(out->x + i * dim, table + (size_t)in->ids[i] * dim, dim * sizeof *out->x);
    }

    /* Element by element, so this is also right if the executor aliases the masks. */
    if (L->out_shape.masked && out->mask != NULL) {
        for (i = 0; i < n; i++) {
            uint8_t real = in->mask != NULL ? in->mask[i] != 0 : 1;
            out->mask[i] = (uint8_t)(real && (!c->mask_zero || in->ids[i] != 0));
        }
    }
    return SEQNET_OK;
}

static int embedding_backward(sn_exec *e)
{
    const sn_layer *L = e->layer;
    const embedding_config *c = L->config;
    const sn_tensor *in = e->in[0];
    size_t n = (size_t)in->batch * (size_t)in->time, dim = (size_t)c->output_dim, i, j;
    float *d_table;
    double bound = 0.0; /* SN_ROWS_FINITE_BOUND */

    if (e->rows_finite != NULL)
        *e->rows_finite = 0;
    if (e->grads == NULL)
        return SEQNET_OK;
    if (e->row_flags == NULL || e->touched_rows == NULL || e->n_touched == NULL)
        return sn_error(e->err, SEQNET_ESTATE,
                        "layer '%s': the embedding gradient needs row tracking", L->name);
    d_table = e->grads + L->params[0].offset;
    for (i = 0; i < n; i++) {
        int32_t row = in->ids[i]; /* validated by forward */
        if (i + EMB_AHEAD < n) {
            int32_t ahead = in->ids[i + EMB_AHEAD];
            size_t f;
            for (f = 0; f < dim; f += 16)
                EMB_PREFETCH(d_table + (size_t)ahead * dim + f, 1);
            EMB_PREFETCH(d_table + (size_t)ahead * dim + dim - 1, 1);
            EMB_PREFETCH(e->row_flags + ahead, 1);
        }
        float *d_row = d_table + (size_t)row * dim;
        const float *g = e->grad_out + i * dim;
        if (e->row_flags[row] == 0) {
            e->row_flags[row] = 1;
            e->touched_rows[(*e->n_touched)++] = row;
            memset(d_row, 0, dim * sizeof *d_row);
        }
        for (j = 0; j < dim; j++)
            d_row[j] += g[j];
        bound += sn_abs_max(g, dim); /* every term of every row's sum is below it */
    }
    if (e->rows_finite != NULL)
        *e->rows_finite = bound <= SN_ROWS_FINITE_BOUND;
    return SEQNET_OK;
}

const sn_layer_ops sn_embedding_ops = {
    .kind = SEQNET_LAYER_EMBEDDING,
    .class_name = "Embedding",
    .auto_name = "embedding",
    .min_inputs = 1,
    .max_inputs = 1,
    .mask_mode = SN_MASK_PRODUCE,
    .config_size = sizeof(embedding_config),
    .allowed_opts = embedding_allowed,
    .configure = embedding_configure,
    .infer = embedding_infer,
    .declare_params = embedding_declare,
    .scratch_size = NULL,
    .forward = embedding_forward,
    .backward = embedding_backward,
};
