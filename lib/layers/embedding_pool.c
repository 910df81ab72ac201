/*
 * lib/layers/embedding_pool.c -- Embedding followed by GlobalAveragePooling1D,
 * fused.
 *
 * The course's pooled-embedding model spends most of its time writing the
 * [batch, time, dim] embedding output only for the pooling layer to read it
 * back, and the same again for the gradient. When the executor sees an
 * Embedding whose only consumer is a GlobalAveragePooling1D (and which is
 * not a model output), it runs these two functions instead: the pooled mean
 * is summed straight from the table, and the pooled gradient is scattered
 * straight into the table's rows. The arithmetic is the unfused layers'
 * own, term by term, so results are bit-identical to running them one
 * after the other (tests/graph checks this).
 */
#include <string.h>

#include "layers/layer.h"

/* The table is far larger than the caches and rows are visited in data
 * order: ask for a row a few steps ahead so its load overlaps the adds. */
#if defined(__GNUC__)
#define PREFETCH(p) __builtin_prefetch((p), 0, 1)
#define PREFETCH_W(p) __builtin_prefetch((p), 1, 1)
#else
#define PREFETCH(p) ((void)(p))
#define PREFETCH_W(p) ((void)(p))
#endif
#define AHEAD 12
#define ACC_MAX 512

/* Options of the Embedding (validated when it was built). */
static void embedding_shape(const sn_layer *emb, int32_t *input_dim, int *mask_zero)
{
    int64_t v = 0;
    *input_dim = sn_opts_int(&emb->opts, SEQNET_OPT_INPUT_DIM, &v) == 1 ? (int32_t)v : 0;
    v = 0;
    *mask_zero = sn_opts_int(&emb->opts, SEQNET_OPT_MASK_ZERO, &v) == 1 && v != 0;
}

static int step_is_real(const sn_tensor *ids, int mask_zero, size_t i)
{
    if (ids->mask != NULL && ids->mask[i] == 0)
        return 0;
    return !mask_zero || ids->ids[i] != 0;
}

int sn_embedding_avgpool_forward(const sn_layer *emb, const float *params, const sn_tensor *ids,
                                 sn_tensor *out, sn_object *err)
{
    const float *table = params + emb->params[0].offset;
    size_t steps = (size_t)ids->time, dim = (size_t)emb->out_shape.features, b, t, f;
    size_t n_all = (size_t)ids->batch * steps, i;
    int32_t input_dim;
    int mask_zero;

    embedding_shape(emb, &input_dim, &mask_zero);
    for (i = 0; i < n_all; i++) {
        int32_t id = ids->ids[i];
        if (id < 0 || id >= input_dim)
            return sn_error(err, SEQNET_ERANGE,
                            "layer '%s': token id %d at batch %d step %d is outside [0, %d)",
                            emb->name, (int)id, (int)(i / steps), (int)(i % steps),
                            (int)input_dim);
    }
    for (b = 0; b < (size_t)ids->batch; b++) {
        float *o = out->x + b * dim;
        /* Sum into a local accumulator (it cannot alias the table, so it
         * stays in registers), in the same order as the unfused layers. */
        float acc_local[ACC_MAX];
        float *acc = dim <= ACC_MAX ? acc_local : o;
        size_t n = 0;
        float inv;
        for (t = 0; t < steps; t++)
            n += (size_t)step_is_real(ids, mask_zero, b * steps + t);
        inv = n > 0 ? 1.0f / (float)n : 0.0f;
        memset(acc, 0, dim * sizeof *acc);
        for (t = 0; t < steps; t++) {
            const float *row;
            if (t + AHEAD < steps) { /* a row spans two or three cache lines */
                const float *next = table + (size_t)ids->ids[b * steps + t + AHEAD] * dim;
                PREFETCH(next);
                PREFETCH(next + dim - 1);
            }
            if (!step_is_real(ids, mask_zero, b * steps + t))
                continue;
            row = table + (size_t)ids->ids[b * steps + t] * dim;
            for (f = 0; f < dim; f++)
                acc[f] += row[f];
        }
        for (f = 0; f < dim; f++)
            o[f] = acc[f] * inv;
    }
    return SEQNET_OK;
}

int sn_embedding_avgpool_backward(const sn_layer *emb, float *grads, const sn_tensor *ids,
                                  const float *grad_out, uint8_t *row_flags, int32_t *touched,
                                  int32_t *n_touched, uint8_t *rows_finite, sn_object *err)
{
    size_t steps = (size_t)ids->time, dim = (size_t)emb->out_shape.features, b, t, f;
    float *d_table;
    int32_t input_dim;
    int mask_zero;
    double bound = 0.0; /* SN_ROWS_FINITE_BOUND */

    if (rows_finite != NULL)
        *rows_finite = 0;
    if (grads == NULL)
        return SEQNET_OK;
    if (row_flags == NULL || touched == NULL || n_touched == NULL)
        return sn_error(err, SEQNET_ESTATE, "layer '%s': the embedding gradient needs row "
                        "tracking", emb->name);
    embedding_shape(emb, &input_dim, &mask_zero);
    d_table = grads + emb->params[0].offset;
    for (b = 0; b < (size_t)ids->batch; b++) {
        const float *g = grad_out + b * dim;
        size_t n = 0;
        float inv;
        for (t = 0; t < steps; t++)
            n += (size_t)step_is_real(ids, mask_zero, b * steps + t);
        inv = n > 0 ? 1.0f / (float)n : 0.0f;
        /* A row's gradient sums inv * g over its uses in this sample: at
         * most n uses of terms no larger than |g| (inv <= 1). */
        bound += sn_abs_max(g, dim);
        for (t = 0; t < steps; t++) {
            int32_t row;
            float *d_row;
            if (t + AHEAD < steps) {
                float *next = d_table + (size_t)ids->ids[b * steps + t + AHEAD] * dim;
                PREFETCH_W(next);
                PREFETCH_W(next + dim - 1);
            }
            /* A masked step's gradient is exactly zero: its row would only
             * get a zero-gradient update, which the lazy optimizer makes
             * anyway, bit for bit. */
            if (!step_is_real(ids, mask_zero, b * steps + t))
                continue;
            row = ids->ids[b * steps + t];
            d_row = d_table + (size_t)row * dim;
            if (row_flags[row] == 0) {
                row_flags[row] = 1;
                touched[(*n_touched)++] = row;
                memset(d_row, 0, dim * sizeof *d_row);
            }
            for (f = 0; f < dim; f++)
                d_row[f] += inv * g[f];
        }
    }
    if (rows_finite != NULL)
        *rows_finite = bound <= SN_ROWS_FINITE_BOUND;
    return SEQNET_OK;
}
