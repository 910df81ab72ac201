/*
 * lib/train/data.c -- seqnet_data: borrowed host arrays or a host generator.
 *
 * A data set never copies the host's arrays; the trainer gathers mini-batch
 * rows from them into its own reused staging buffers.
 */
#include <string.h>

#include "train/train_internal.h"

SEQNET_API int seqnet_data_new(seqnet_context *ctx, seqnet_data **out)
{
    seqnet_data *d;
    if (out == NULL)
        return SEQNET_EINVAL;
    *out = NULL;
    if (ctx == NULL)
        return SEQNET_EINVAL;
    d = sn_calloc(&ctx->obj.alloc, 1, sizeof *d);
    if (d == NULL)
        return sn_error(&ctx->obj, SEQNET_ENOMEM, "out of memory creating a data set");
    sn_object_init(&d->obj, SN_MAGIC_DATA, &ctx->obj.alloc);
    d->n_samples = -1;
    *out = d;
    return SEQNET_OK;
}

SEQNET_API void seqnet_data_free(seqnet_data *data)
{
    sn_alloc a;
    if (data == NULL || data->obj.magic != SN_MAGIC_DATA)
        return;
    a = data->obj.alloc;
    data->obj.magic = 0;
    sn_free(&a, data);
}

void sn_data_reset(seqnet_data *d)
{
    memset(d->inputs, 0, sizeof d->inputs);
    memset(d->targets, 0, sizeof d->targets);
    d->weights = NULL;
    d->n_samples = -1;
}

static int check_n(seqnet_data *d, int64_t n)
{
    if (n < 1 || n > ((int64_t)1 << 40))
        return sn_error(&d->obj, SEQNET_EINVAL, "n_samples must be >= 1, got %lld", (long long)n);
    if (d->n_samples >= 0 && d->n_samples != n)
        return sn_error(&d->obj, SEQNET_ESHAPE,
                        "arrays of this data set have %lld samples, this one %lld",
                        (long long)d->n_samples, (long long)n);
    return SEQNET_OK;
}

static int set_array(seqnet_data *d, sn_data_array *arr, const int32_t *ids, const float *x,
                     int64_t n, int32_t time, int32_t features)
{
    int st;
    if ((st = check_n(d, n)) != SEQNET_OK)
        return st;
    if (time < 0 || features < 1 || time > (1 << 28) || features > (1 << 28))
        return sn_error(&d->obj, SEQNET_EINVAL, "bad time %d or width %d", (int)time,
                        (int)features);
    arr->ids = ids;
    arr->x = x;
    arr->time = time;
    arr->features = features;
    arr->set = 1;
    d->n_samples = n;
    return SEQNET_OK;
}

SEQNET_API int seqnet_data_set_tokens(seqnet_data *data, int32_t input, const int32_t *ids,
                                      int64_t n_samples, int32_t time)
{
    if (data == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&data->obj);
    if (input < 0 || input >= SN_DATA_MAX_IO)
        return sn_error(&data->obj, SEQNET_ERANGE, "input index %d out of range", (int)input);
    if (ids == NULL || time < 1)
        return sn_error(&data->obj, SEQNET_EINVAL, "token ids need an array and time >= 1");
    return set_array(data, &data->inputs[input], ids, NULL, n_samples, time, 1);
}

SEQNET_API int seqnet_data_set_floats(seqnet_data *data, int32_t input, const float *x,
                                      int64_t n_samples, int32_t time, int32_t features)
{
    if (data == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&data->obj);
    if (input < 0 || input >= SN_DATA_MAX_IO)
        return sn_error(&data->obj, SEQNET_ERANGE, "input index %d out of range", (int)input);
    if (x == NULL)
        return sn_error(&data->obj, SEQNET_EINVAL, "NULL array");
    return set_array(data, &data->inputs[input], NULL, x, n_samples, time, features);
}

SEQNET_API int seqnet_data_set_targets(seqnet_data *data, int32_t output, const float *y,
                                       int64_t n_samples, int32_t time, int32_t width)
{
    if (data == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&data->obj);
    if (output < 0 || output >= SN_DATA_MAX_IO)
        return sn_error(&data->obj, SEQNET_ERANGE, "output index %d out of range", (int)output);
    if (y == NULL)
        return sn_error(&data->obj, SEQNET_EINVAL, "NULL array");
    return set_array(data, &data->targets[output], NULL, y, n_samples, time, width);
}

SEQNET_API int seqnet_data_set_sample_weights(seqnet_data *data, const float *weights,
                                              int64_t n_samples)
{
    int st;
    if (data == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&data->obj);
    if (weights != NULL && (st = check_n(data, n_samples)) != SEQNET_OK)
        return st;
    data->weights = weights;
    if (weights != NULL)
        data->n_samples = n_samples;
    return SEQNET_OK;
}

SEQNET_API int seqnet_data_set_generator(seqnet_data *data, seqnet_batch_fn fn, void *user)
{
    if (data == NULL)
        return SEQNET_EINVAL;
    data->generator = fn;
    data->generator_user = user;
    return SEQNET_OK;
}

SEQNET_API int64_t seqnet_data_n_samples(const seqnet_data *data)
{
    if (data == NULL || data->generator != NULL)
        return -1;
    return data->n_samples;
}
