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

/* The row sums vectorize: build them for AVX2 too, picked at load time
 * (the same IEEE additions either way, no FMA, so results do not depend on
 * the CPU). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && defined(__linux__)
#define SN_EP_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SN_EP_CLONES
#endif
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

int sn_embedding_avgpool_bad_id(const sn_layer *emb, const sn_tensor *ids, int64_t at,
                                sn_object *err)
{
    size_t steps = (size_t)ids->time;
    int32_t input_dim;
    int mask_zero;
    embedding_shape(emb, &input_dim, &mask_zero);
    return sn_error(err, SEQNET_ERANGE,
                    "layer '%s': token id %d at batch %d step %d is outside [0, %d)", emb->name,
                    (int)ids->ids[at], (int)((size_t)at / steps), (int)((size_t)at % steps),
                    (int)input_dim);
}

/* 1 / (the real steps of sample b), or 0 for a sample with none. */
static float inv_length(const sn_tensor *ids, int mask_zero, size_t b)
{
    size_t steps = (size_t)ids->time, t, n = 0;
    if (ids->mask == NULL && !mask_zero)
        n = steps;
    else
        for (t = 0; t < steps; t++)
            n += (size_t)step_is_real(ids, mask_zero, b * steps + t);
    return n > 0 ? 1.0f / (float)n : 0.0f;
}

SN_EP_CLONES
int64_t sn_embedding_avgpool_forward_range(const sn_layer *emb, const float *params,
                                           const sn_tensor *ids, sn_tensor *out, int32_t b0,
                                           int32_t b1)
{
    const float *table = params + emb->params[0].offset;
    size_t steps = (size_t)ids->time, dim = (size_t)emb->out_shape.features, b, t, f;
    int32_t input_dim;
    int mask_zero;

    embedding_shape(emb, &input_dim, &mask_zero);
    for (b = (size_t)b0; b < (size_t)b1; b++) {
        float *o = out->x + b * dim;
        /* Sum into a local accumulator (it cannot alias the table, so it
         * stays in registers), in the same order as the unfused layers. */
        float acc_local[ACC_MAX];
        float *acc = dim <= ACC_MAX ? acc_local : o;
        float inv;
        uint32_t bad = 0;
        for (t = 0; t < steps; t++) /* every id of the sample, before any is read */
            bad |= (uint32_t)ids->ids[b * steps + t] >= (uint32_t)input_dim;
        if (bad)
            for (t = 0; t < steps; t++)
                if ((uint32_t)ids->ids[b * steps + t] >= (uint32_t)input_dim)
                    return (int64_t)(b * steps + t);
        inv = inv_length(ids, mask_zero, b);
        memset(acc, 0, dim * sizeof *acc);
        for (t = 0; t < steps; t++) {
            const float *row;
            if (t + AHEAD < steps) { /* a row of 30 floats spans two or three lines */
                const float *next = table + (size_t)ids->ids[b * steps + t + AHEAD] * dim;
                for (f = 0; f < dim; f += 16) /* every cache line of the row */
                    PREFETCH(next + f);
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
    return -1;
}

int sn_embedding_avgpool_forward(const sn_layer *emb, const float *params, const sn_tensor *ids,
                                 sn_tensor *out, sn_object *err)
{
    int64_t bad = sn_embedding_avgpool_forward_range(emb, params, ids, out, 0, ids->batch);
    return bad < 0 ? SEQNET_OK : sn_embedding_avgpool_bad_id(emb, ids, bad, err);
}

int sn_embedding_avgpool_backward_bound(const sn_layer *emb, const float *grad_out, int32_t batch)
{
    size_t dim = (size_t)emb->out_shape.features, b;
    double bound = 0.0;
    /* A row's gradient sums inv * g over its uses in a sample: at most n
     * uses of terms no larger than |g| (inv <= 1). */
    for (b = 0; b < (size_t)batch; b++)
        bound += sn_abs_max(grad_out + b * dim, dim);
    return bound <= SN_ROWS_FINITE_BOUND;
}

/* Steps looked at per pass: their ids in [lo, hi) are picked first, without
 * a branch, then scattered with the prefetch running ahead of the picks. */
#define PICK 256

SN_EP_CLONES
int32_t sn_embedding_avgpool_backward_rows(const sn_layer *emb, float *d_table,
                                           const sn_tensor *ids, const float *grad_out,
                                           uint8_t *row_flags, int32_t lo, int32_t hi,
                                           int32_t *new_rows, int sorted)
{
    size_t steps = (size_t)ids->time, dim = (size_t)emb->out_shape.features, b, t0, f;
    const uint32_t span = (uint32_t)(hi - lo);
    int32_t input_dim, n_new = 0;
    int mask_zero;

    embedding_shape(emb, &input_dim, &mask_zero);
    for (b = 0; b < (size_t)ids->batch; b++) {
        const int32_t *sid = ids->ids + b * steps;
        const uint8_t *smask = ids->mask != NULL ? ids->mask + b * steps : NULL;
        const float inv = inv_length(ids, mask_zero, b), *g = grad_out + b * dim;
        /* Each use of a row in this sample adds inv * g: the products once. */
        float ig_local[ACC_MAX];
        const float *ig = ig_local;
        if (dim <= ACC_MAX)
            for (f = 0; f < dim; f++)
                ig_local[f] = inv * g[f];
        for (t0 = 0; t0 < steps; t0 += PICK) {
            int32_t pick[PICK];
            size_t end = steps - t0 < PICK ? steps : t0 + PICK, t, n = 0, k;
            /* A masked step's gradient is exactly zero: its row would only
             * get a zero-gradient update, which the lazy optimizer makes
             * anyway, bit for bit. */
            for (t = t0; t < end; t++) {
                int32_t id = sid[t];
                int take = (uint32_t)(id - lo) < span;
                if (smask != NULL)
                    take &= smask[t] != 0;
                if (mask_zero)
                    take &= id != 0;
                pick[n] = id;
                n += (size_t)take;
            }
            for (k = 0; k < n; k++) {
                int32_t row = pick[k];
                float *d_row = d_table + (size_t)row * dim;
                if (k + AHEAD < n) {
                    float *next = d_table + (size_t)pick[k + AHEAD] * dim;
                    for (f = 0; f < dim; f += 16) /* every cache line of the row */
                        PREFETCH_W(next + f);
                    PREFETCH_W(next + dim - 1);
                }
                if (dim > ACC_MAX) {
                    if (row_flags[row] == 0)
                        memset(d_row, 0, dim * sizeof *d_row);
                    for (f = 0; f < dim; f++)
                        d_row[f] += inv * g[f];
                } else if (row_flags[row] == 0) {
                    /* the unfused sum starts from zero: 0 + x, not x,
                     * so that a -0 term gives +0 as there */
                    for (f = 0; f < dim; f++)
                        d_row[f] = 0.0f + ig[f];
                } else {
                    for (f = 0; f < dim; f++)
                        d_row[f] += ig[f];
                }
                if (row_flags[row] == 0) {
                    row_flags[row] = 1;
                    if (!sorted)
                        new_rows[n_new] = row;
                    n_new++;
                }
            }
        }
    }
    if (sorted) { /* every flag in the range is new: list them in order */
        int32_t r;
        n_new = 0;
        for (r = lo; r < hi; r++) { /* branch-free: flags set at random */
            new_rows[n_new] = r;
            n_new += row_flags[r] != 0;
        }
    }
    return n_new;
}

int sn_embedding_avgpool_backward(const sn_layer *emb, float *grads, const sn_tensor *ids,
                                  const float *grad_out, uint8_t *row_flags, int32_t *touched,
                                  int32_t *n_touched, uint8_t *rows_finite, sn_object *err)
{
    int32_t input_dim;
    int mask_zero;

    if (rows_finite != NULL)
        *rows_finite = 0;
    if (grads == NULL)
        return SEQNET_OK;
    if (row_flags == NULL || touched == NULL || n_touched == NULL)
        return sn_error(err, SEQNET_ESTATE, "layer '%s': the embedding gradient needs row "
                        "tracking", emb->name);
    embedding_shape(emb, &input_dim, &mask_zero);
    *n_touched += sn_embedding_avgpool_backward_rows(emb, grads + emb->params[0].offset, ids,
                                                     grad_out, row_flags, 0, input_dim,
                                                     touched + *n_touched, 0);
    if (rows_finite != NULL)
        *rows_finite = (uint8_t)sn_embedding_avgpool_backward_bound(emb, grad_out, ids->batch);
    return SEQNET_OK;
}
