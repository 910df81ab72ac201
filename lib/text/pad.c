/*
 * lib/text/pad.c -- Keras pad_sequences.
 *
 * Keras semantics: columns = maxlen or the longest sequence; truncating
 * 'pre' keeps the last columns, 'post' the first; padding 'pre'
 * right-aligns, 'post' left-aligns; empty sequences are rows of `value`;
 * the side options are only checked when a non-empty sequence needs them.
 * Deliberate differences (docs/TEXT.md): maxlen 0 gives zero columns for
 * both truncating sides (Keras fails inside numpy for 'pre'), and casting
 * NaN, infinities or out-of-range values to an integer type is an error
 * (numpy gives platform-defined numbers).
 */
#include <math.h>

#include "text/text_internal.h"

typedef struct pad_job {
    const size_t *offsets;
    size_t n_seqs, cols;
    int32_t padding, truncating;
} pad_job;

static int pad_plan(pad_job *job, const void *values, const size_t *offsets, size_t n_seqs, int64_t maxlen,
                    int32_t padding, int32_t truncating, size_t out_len, int have_out, size_t *cols)
{
    size_t s, total;
    int rc = sn_check_offsets(NULL, values, offsets, n_seqs);
    if (rc != SEQNET_OK)
        return rc;
    if (maxlen < 0) {
        if (n_seqs == 0)
            return SEQNET_EEMPTY; /* Keras: np.max of an empty list */
        job->cols = 0;
        for (s = 0; s < n_seqs; s++)
            if (offsets[s + 1] - offsets[s] > job->cols)
                job->cols = offsets[s + 1] - offsets[s];
    } else {
        if ((uint64_t)maxlen > SIZE_MAX)
            return SEQNET_ETOOBIG;
        job->cols = (size_t)maxlen;
    }
    if (cols != NULL)
        *cols = job->cols;
    if (sn_mul_size(n_seqs, job->cols, &total) != 0)
        return SEQNET_ETOOBIG;
    if (!have_out)
        return total == 0 || out_len == 0 ? 1 : SEQNET_EINVAL; /* 1: size query done */
    if (out_len < total)
        return SEQNET_EBUFFER;
    job->offsets = offsets;
    job->n_seqs = n_seqs;
    job->padding = padding;
    job->truncating = truncating;
    return SEQNET_OK;
}

/* For row s: the source range [*from, *from + *count) and the destination
 * column. Returns SEQNET_EUNSUPPORTED for a bad side, 1 for an empty row. */
static int pad_row(const pad_job *job, size_t s, size_t *from, size_t *count, size_t *dest)
{
    size_t len = job->offsets[s + 1] - job->offsets[s];
    if (len == 0)
        return 1;
    *count = len < job->cols ? len : job->cols;
    if (job->truncating == SEQNET_PAD_PRE)
        *from = job->offsets[s] + (len - *count);
    else if (job->truncating == SEQNET_PAD_POST)
        *from = job->offsets[s];
    else
        return SEQNET_EUNSUPPORTED;
    if (job->padding == SEQNET_PAD_POST)
        *dest = 0;
    else if (job->padding == SEQNET_PAD_PRE)
        *dest = job->cols - *count;
    else
        return SEQNET_EUNSUPPORTED;
    return SEQNET_OK;
}

SEQNET_API int seqnet_pad_sequences(const int32_t *ids, const size_t *offsets, size_t n_seqs, int64_t maxlen,
                                    int32_t padding, int32_t truncating, int32_t value, int32_t *out,
                                    size_t out_len, size_t *cols)
{
    pad_job job;
    size_t s, i;
    int rc = pad_plan(&job, ids, offsets, n_seqs, maxlen, padding, truncating, out_len, out != NULL, cols);
    if (rc != SEQNET_OK)
        return rc == 1 ? SEQNET_OK : rc;
    for (i = 0; i < n_seqs * job.cols; i++)
        out[i] = value;
    for (s = 0; s < n_seqs; s++) {
        size_t from, count, dest;
        rc = pad_row(&job, s, &from, &count, &dest);
        if (rc == 1)
            continue;
        if (rc != SEQNET_OK)
            return rc;
        if (count > 0)
            memcpy(out + s * job.cols + dest, ids + from, count * sizeof *out);
    }
    return SEQNET_OK;
}

/* numpy's astype for one value, except that unrepresentable integers fail. */
static int cast_store(double v, int32_t dtype, void *out, size_t at)
{
    switch (dtype) {
    case SEQNET_DTYPE_INT32: {
        double t = trunc(v);
        int32_t x;
        if (!(t >= -2147483648.0 && t <= 2147483647.0))
            return SEQNET_ERANGE;
        x = (int32_t)t;
        memcpy((char *)out + at * sizeof x, &x, sizeof x);
        return SEQNET_OK;
    }
    case SEQNET_DTYPE_INT64: {
        double t = trunc(v);
        int64_t x;
        if (!(t >= -9223372036854775808.0 && t < 9223372036854775808.0))
            return SEQNET_ERANGE;
        x = (int64_t)t;
        memcpy((char *)out + at * sizeof x, &x, sizeof x);
        return SEQNET_OK;
    }
    case SEQNET_DTYPE_FLOAT32: {
        float x = (float)v;
        memcpy((char *)out + at * sizeof x, &x, sizeof x);
        return SEQNET_OK;
    }
    case SEQNET_DTYPE_FLOAT64:
        memcpy((char *)out + at * sizeof v, &v, sizeof v);
        return SEQNET_OK;
    default:
        return SEQNET_EUNSUPPORTED;
    }
}

SEQNET_API int seqnet_pad_sequences_f64(const double *values, const size_t *offsets, size_t n_seqs,
                                        int64_t maxlen, int32_t padding, int32_t truncating, double value,
                                        int32_t dtype, void *out, size_t out_len, size_t *cols)
{
    pad_job job;
    size_t s, i;
    int rc;
    if (dtype < SEQNET_DTYPE_INT32 || dtype > SEQNET_DTYPE_FLOAT64)
        return SEQNET_EUNSUPPORTED;
    rc = pad_plan(&job, values, offsets, n_seqs, maxlen, padding, truncating, out_len, out != NULL, cols);
    if (rc != SEQNET_OK)
        return rc == 1 ? SEQNET_OK : rc;
    for (i = 0; i < n_seqs * job.cols; i++)
        if ((rc = cast_store(value, dtype, out, i)) != SEQNET_OK)
            return rc;
    for (s = 0; s < n_seqs; s++) {
        size_t from, count, dest;
        rc = pad_row(&job, s, &from, &count, &dest);
        if (rc == 1)
            continue;
        if (rc != SEQNET_OK)
            return rc;
        for (i = 0; i < count; i++)
            if ((rc = cast_store(values[from + i], dtype, out, s * job.cols + dest + i)) != SEQNET_OK)
                return rc;
    }
    return SEQNET_OK;
}
