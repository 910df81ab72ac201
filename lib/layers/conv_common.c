/*
 * lib/layers/conv_common.c -- see conv_common.h.
 */
#include <ctype.h>
#include <string.h>

#include "layers/activation.h"
#include "layers/conv_common.h"

int sn_cc_flag(const sn_layer *L, sn_object *err, int key, const char *what, int dflt,
               int32_t *out)
{
    int64_t v = dflt;
    int got = sn_opts_int(&L->opts, key, &v);
    if (got < 0 || v < 0 || v > 1)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': %s must be 0 or 1", L->name, what);
    *out = (int32_t)v;
    return SEQNET_OK;
}

int sn_cc_int(const sn_layer *L, sn_object *err, int key, const char *what, int required,
              int64_t dflt, int64_t min_value, int32_t *out)
{
    int64_t v = dflt;
    int got = sn_opts_int(&L->opts, key, &v);
    if (got == 0 && required)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': %s needs %s", L->name,
                        L->ops != NULL ? L->ops->class_name : "the layer", what);
    if (got < 0 || v < min_value || v > INT32_MAX)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': %s must be an integer >= %lld",
                        L->name, what, (long long)min_value);
    *out = (int32_t)v;
    return SEQNET_OK;
}

int sn_cc_float(const sn_layer *L, sn_object *err, int key, const char *what, double dflt,
                double lo, int lo_inclusive, double hi, int hi_inclusive, double *out)
{
    double v = dflt;
    int got = sn_opts_float(&L->opts, key, &v);
    /* Written so that NaN fails every comparison and is refused. */
    int above = lo_inclusive ? v >= lo : v > lo;
    int below = hi_inclusive ? v <= hi : v < hi;
    if (got < 0 || !above || !below)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': %s must be in %c%g, %g%c", L->name,
                        what, lo_inclusive ? '[' : '(', lo, hi, hi_inclusive ? ']' : ')');
    *out = v;
    return SEQNET_OK;
}

/* Keras lower-cases padding names ("SAME" works there too). */
static int same_word(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++)
        if (tolower((unsigned char)*a) != *b)
            return 0;
    return *a == '\0' && *b == '\0';
}

int sn_cc_padding(const sn_layer *L, sn_object *err, int allow_causal, int32_t *out)
{
    const char *name = "valid";
    if (sn_opts_string(&L->opts, SEQNET_OPT_PADDING, &name) < 0)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': padding must be a string", L->name);
    if (same_word(name, "valid"))
        *out = SN_PAD_VALID;
    else if (same_word(name, "same"))
        *out = SN_PAD_SAME;
    else if (allow_causal && same_word(name, "causal"))
        *out = SN_PAD_CAUSAL;
    else
        return sn_error(err, SEQNET_EINVAL, "layer '%s': padding must be %s, got '%s'",
                        L->name, allow_causal ? "'valid', 'same' or 'causal'" : "'valid' or 'same'",
                        name);
    return SEQNET_OK;
}

int sn_cc_activation(const sn_layer *L, sn_object *err, int32_t *out)
{
    const char *name = "linear";
    if (sn_opts_string(&L->opts, SEQNET_OPT_ACTIVATION, &name) < 0 ||
        sn_act_from_name(name) < 0)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': unknown activation", L->name);
    *out = sn_act_from_name(name);
    return SEQNET_OK;
}

int sn_cc_feature_axis(const sn_layer *L, sn_object *err)
{
    int64_t axis = -1, last;
    if (sn_opts_int(&L->opts, SEQNET_OPT_AXIS, &axis) < 0)
        return sn_error(err, SEQNET_EINVAL, "layer '%s': axis must be an integer", L->name);
    last = L->in_shapes[0].time == SN_TIME_VECTOR ? 1 : 2;
    if (axis != -1 && axis != last)
        return sn_error(err, SEQNET_EINVAL,
                        "layer '%s': only the feature axis (-1 or %lld) is supported, got %lld",
                        L->name, (long long)last, (long long)axis);
    return SEQNET_OK;
}

int sn_cc_trainable(sn_layer *L, sn_object *err)
{
    int32_t trainable = 1;
    int rc = sn_cc_flag(L, err, SEQNET_OPT_TRAINABLE, "trainable", 1, &trainable);
    if (rc == SEQNET_OK)
        L->trainable = (int8_t)trainable;
    return rc;
}

int sn_cc_infer_same(const sn_layer *L, const sn_shape *in, int32_t n_in, sn_shape *out,
                     sn_object *err)
{
    (void)n_in;
    if (in[0].is_tokens)
        return sn_layer_shape_error(L, err, "expects float input, not token ids (add an "
                                            "Embedding first)");
    *out = in[0];
    return SEQNET_OK;
}

void sn_cc_param(sn_param *p, const char *name, int32_t rank, int64_t d0, int64_t d1, int64_t d2,
                 int32_t init, float init_value, int8_t trainable)
{
    int64_t dims[3] = {d0, d1, d2};
    int32_t i;
    memset(p, 0, sizeof *p);
    strncpy(p->name, name, sizeof p->name - 1);
    p->rank = rank;
    p->count = 1;
    for (i = 0; i < rank; i++) {
        p->dims[i] = dims[i];
        p->count *= dims[i];
    }
    p->init = init;
    p->init_value = init_value;
    p->trainable = trainable;
}

int sn_cc_window(int32_t time, int32_t span, int32_t stride, int32_t padding,
                 int32_t *out_time, int32_t *pad_left)
{
    int64_t t = time, out, total;
    *pad_left = 0;
    *out_time = 0;
    if (padding == SN_PAD_CAUSAL)
        *pad_left = span - 1;
    if (time == SN_TIME_VARIABLE)
        return 0;
    switch (padding) {
    case SN_PAD_SAME:
        out = (t + stride - 1) / stride;
        total = (out - 1) * stride + span - t;
        *pad_left = (int32_t)(total > 0 ? total / 2 : 0);
        break;
    case SN_PAD_CAUSAL:
        out = (t - 1) / stride + 1;
        break;
    default:
        if (t < span)
            return -1;
        out = (t - span) / stride + 1;
        break;
    }
    *out_time = (int32_t)out;
    return 0;
}

size_t sn_cc_rows(int32_t batch, const sn_shape *s)
{
    return (size_t)batch * (size_t)(s->time >= 1 ? s->time : 1);
}

void sn_cc_column_sums(const float *x, size_t rows, size_t width, float *sums)
{
    size_t r, j;
    memset(sums, 0, width * sizeof *sums);
    for (r = 0; r < rows; r++) {
        const float *row = x + r * width;
        for (j = 0; j < width; j++)
            sums[j] += row[j];
    }
}
