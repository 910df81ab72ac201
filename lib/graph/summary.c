/*
 * lib/graph/summary.c -- a Keras-style model summary as a string.
 *
 * Keras prints "Layer (type) | Output Shape | Param #" and, for graphs that
 * are not a plain chain, "Connected to". We follow that shape, with columns
 * wide enough that long class names are not wrapped, and the same totals
 * (with thousands separators).
 */
#include <stdio.h>
#include <string.h>

#include "graph/graph_internal.h"

/* A growable string built with the model's allocator. */
typedef struct sbuf {
    const sn_alloc *a;
    char *p;
    size_t len, cap;
    int failed;
} sbuf;

static void sb_add(sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        char *q;
        while (cap < b->len + n + 1)
            cap *= 2;
        q = sn_realloc(b->a, b->p, cap);
        if (q == NULL) {
            b->failed = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

/* Add s left-aligned in a field of `width` columns (UTF-8 unaware: names
 * are ASCII in practice; longer text simply widens the row). */
static void sb_field(sbuf *b, const char *s, int width)
{
    char pad[128];
    int n = (int)strlen(s);
    sb_add(b, s);
    if (n < width) {
        int k = width - n;
        if (k > (int)sizeof pad - 1)
            k = (int)sizeof pad - 1;
        memset(pad, ' ', (size_t)k);
        pad[k] = '\0';
        sb_add(b, pad);
    }
}

static void sb_rule(sbuf *b, char c, int width)
{
    char line[256];
    if (width > (int)sizeof line - 2)
        width = (int)sizeof line - 2;
    memset(line, c, (size_t)width);
    line[width] = '\n';
    line[width + 1] = '\0';
    sb_add(b, line);
}

/* 1869551 -> "1,869,551" */
static void group_digits(int64_t v, char *out, size_t size)
{
    char raw[32];
    int n, i, o = 0;
    snprintf(raw, sizeof raw, "%lld", (long long)v);
    n = (int)strlen(raw);
    for (i = 0; i < n && o + 2 < (int)size; i++) {
        out[o++] = raw[i];
        if (raw[i] != '-' && (n - i - 1) % 3 == 0 && i != n - 1)
            out[o++] = ',';
    }
    out[o] = '\0';
}

/* Keras's shapes: a token input has no feature axis, (None, 2332), and an
 * input layer's shape is a list of one, [(None, 2332)]. */
static void shape_text(const sn_shape *s, int is_input, char *out, size_t size)
{
    if (is_input) {
        char inner[96];
        if (s->is_tokens) {
            if (s->time == SN_TIME_VARIABLE)
                snprintf(inner, sizeof inner, "(None, None)");
            else
                snprintf(inner, sizeof inner, "(None, %d)", (int)s->time);
        } else {
            shape_text(s, 0, inner, sizeof inner);
        }
        snprintf(out, size, "[%s]", inner);
    } else if (s->time == SN_TIME_VECTOR)
        snprintf(out, size, "(None, %d)", (int)s->features);
    else if (s->time == SN_TIME_VARIABLE)
        snprintf(out, size, "(None, None, %d)", (int)s->features);
    else
        snprintf(out, size, "(None, %d, %d)", (int)s->time, (int)s->features);
}

SEQNET_API int seqnet_model_summary(const seqnet_model *model, char **out)
{
    enum { W_NAME = 54, W_SHAPE = 22, W_PARAMS = 14, W_CONN = 30 };
    sbuf b;
    char cell[256], num[32];
    int32_t i, p;
    int width;
    char *result;

    if (model == NULL || out == NULL)
        return SEQNET_EINVAL;
    *out = NULL;
    memset(&b, 0, sizeof b);
    b.a = &model->obj.alloc;
    width = W_NAME + W_SHAPE + W_PARAMS + (model->is_chain ? 0 : W_CONN);

    sb_add(&b, model->is_chain ? "Model: \"sequential\"\n" : "Model: \"model\"\n");
    sb_rule(&b, '_', width);
    sb_field(&b, " Layer (type)", W_NAME);
    sb_field(&b, "Output Shape", W_SHAPE);
    sb_field(&b, "Param #", W_PARAMS);
    if (!model->is_chain)
        sb_add(&b, "Connected to");
    sb_add(&b, "\n");
    sb_rule(&b, '=', width);
    for (i = 0; i < model->n_layers; i++) {
        const sn_layer *L = &model->layers[i];
        int64_t count = 0;
        /* Keras's Sequential summary does not list the input layer. */
        if (model->is_chain && L->ops == NULL)
            continue;
        for (p = 0; p < L->n_params; p++)
            count += L->params[p].count;
        snprintf(cell, sizeof cell, " %s (%s)", L->name,
                 L->ops != NULL ? L->ops->class_name : "InputLayer");
        sb_field(&b, cell, W_NAME);
        shape_text(&L->out_shape, L->ops == NULL, cell, sizeof cell);
        sb_field(&b, cell, W_SHAPE);
        snprintf(num, sizeof num, "%lld", (long long)count);
        sb_field(&b, num, W_PARAMS);
        if (!model->is_chain) {
            int32_t j;
            cell[0] = '\0';
            for (j = 0; j < L->n_inputs; j++) {
                size_t used = strlen(cell);
                snprintf(cell + used, sizeof cell - used, "%s%s", j ? ", " : "",
                         model->layers[L->inputs[j]].name);
            }
            sb_add(&b, L->n_inputs ? cell : "[]");
        }
        sb_add(&b, "\n");
    }
    sb_rule(&b, '=', width);
    group_digits(model->n_trainable + model->n_non_trainable, num, sizeof num);
    sb_add(&b, "Total params: ");
    sb_add(&b, num);
    group_digits(model->n_trainable, num, sizeof num);
    sb_add(&b, "\nTrainable params: ");
    sb_add(&b, num);
    group_digits(model->n_non_trainable, num, sizeof num);
    sb_add(&b, "\nNon-trainable params: ");
    sb_add(&b, num);
    sb_add(&b, "\n");
    sb_rule(&b, '_', width);
    if (b.failed) {
        sn_free(b.a, b.p);
        return SEQNET_ENOMEM;
    }
    result = sn_export_malloc(b.a, b.len + 1);
    if (result == NULL) {
        sn_free(b.a, b.p);
        return SEQNET_ENOMEM;
    }
    memcpy(result, b.p, b.len + 1);
    sn_free(b.a, b.p);
    *out = result;
    return SEQNET_OK;
}
