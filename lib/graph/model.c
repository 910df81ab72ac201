/*
 * lib/graph/model.c -- the compiled model: lifetime, introspection, weights
 * and Keras's initializers.
 *
 * Weights are stored in Keras's own layouts (a Dense kernel is [in, out]
 * row-major), so get/set are plain copies and a Keras weight list maps
 * one-to-one onto a seqnet model.
 */
#include <math.h>
#include <string.h>

#include "graph/graph_internal.h"

SEQNET_API void seqnet_model_free(seqnet_model *model)
{
    sn_alloc a;
    int32_t i;
    if (model == NULL || model->obj.magic != SN_MAGIC_MODEL)
        return;
    a = model->obj.alloc;
    if (model->layers != NULL)
        for (i = 0; i < model->n_layers; i++)
            sn_layer_release(&model->layers[i], &a);
    sn_free(&a, model->layers);
    sn_free(&a, model->inputs);
    sn_free(&a, model->outputs);
    if (!model->params_borrowed)
        sn_free(&a, model->params);
    model->obj.magic = 0;
    sn_free(&a, model);
}

SEQNET_API int32_t seqnet_model_n_inputs(const seqnet_model *model)
{
    return model == NULL ? 0 : model->n_inputs;
}

SEQNET_API int32_t seqnet_model_n_outputs(const seqnet_model *model)
{
    return model == NULL ? 0 : model->n_outputs;
}

SEQNET_API int seqnet_model_input_shape(const seqnet_model *model, int32_t index, int32_t *time,
                                        int32_t *features, int *is_tokens)
{
    const sn_shape *s;
    if (model == NULL)
        return SEQNET_EINVAL;
    if (index < 0 || index >= model->n_inputs)
        return SEQNET_ERANGE;
    s = &model->layers[model->inputs[index]].out_shape;
    if (time != NULL)
        *time = s->time;
    if (features != NULL)
        *features = s->features;
    if (is_tokens != NULL)
        *is_tokens = s->is_tokens;
    return SEQNET_OK;
}

SEQNET_API int seqnet_model_output_shape(const seqnet_model *model, int32_t index, int32_t *time,
                                         int32_t *features)
{
    const sn_shape *s;
    if (model == NULL)
        return SEQNET_EINVAL;
    if (index < 0 || index >= model->n_outputs)
        return SEQNET_ERANGE;
    s = &model->layers[model->outputs[index]].out_shape;
    if (time != NULL)
        *time = s->time;
    if (features != NULL)
        *features = s->features;
    return SEQNET_OK;
}

SEQNET_API int64_t seqnet_model_count_params(const seqnet_model *model, int64_t *trainable,
                                             int64_t *non_trainable)
{
    if (model == NULL)
        return -1;
    if (trainable != NULL)
        *trainable = model->n_trainable;
    if (non_trainable != NULL)
        *non_trainable = model->n_non_trainable;
    return model->n_trainable + model->n_non_trainable;
}

SEQNET_API int32_t seqnet_model_n_layers(const seqnet_model *model)
{
    return model == NULL ? 0 : model->n_layers;
}

SEQNET_API int32_t seqnet_model_find_layer(const seqnet_model *model, const char *name)
{
    int32_t i;
    if (model == NULL || name == NULL)
        return -1;
    for (i = 0; i < model->n_layers; i++)
        if (strcmp(model->layers[i].name, name) == 0)
            return i;
    return -1;
}

SEQNET_API const char *seqnet_model_layer_name(const seqnet_model *model, int32_t layer)
{
    if (model == NULL || layer < 0 || layer >= model->n_layers)
        return NULL;
    return model->layers[layer].name;
}

SEQNET_API int seqnet_model_layer_kind(const seqnet_model *model, int32_t layer)
{
    if (model == NULL || layer < 0 || layer >= model->n_layers)
        return -1;
    return model->layers[layer].kind;
}

SEQNET_API int32_t seqnet_model_layer_n_weights(const seqnet_model *model, int32_t layer)
{
    if (model == NULL || layer < 0 || layer >= model->n_layers)
        return 0;
    return model->layers[layer].n_params;
}

static const sn_param *find_param(const seqnet_model *model, int32_t layer, int32_t weight)
{
    if (layer < 0 || layer >= model->n_layers)
        return NULL;
    if (weight < 0 || weight >= model->layers[layer].n_params)
        return NULL;
    return &model->layers[layer].params[weight];
}

SEQNET_API int seqnet_model_weight_info(const seqnet_model *model, int32_t layer, int32_t weight,
                                        const char **name, int32_t *rank, int64_t *dims,
                                        int64_t *count)
{
    const sn_param *p;
    int32_t d;
    if (model == NULL)
        return SEQNET_EINVAL;
    if ((p = find_param(model, layer, weight)) == NULL)
        return SEQNET_ERANGE;
    if (name != NULL)
        *name = p->name;
    if (rank != NULL)
        *rank = p->rank;
    if (dims != NULL)
        for (d = 0; d < p->rank; d++)
            dims[d] = p->dims[d];
    if (count != NULL)
        *count = p->count;
    return SEQNET_OK;
}

SEQNET_API int seqnet_model_get_weight(const seqnet_model *model, int32_t layer, int32_t weight,
                                       float *dst, int64_t count)
{
    const sn_param *p;
    if (model == NULL || dst == NULL)
        return SEQNET_EINVAL;
    if ((p = find_param(model, layer, weight)) == NULL)
        return SEQNET_ERANGE;
    if (count != p->count)
        return SEQNET_ESHAPE;
    memcpy(dst, model->params + p->offset, (size_t)count * sizeof *dst);
    return SEQNET_OK;
}

SEQNET_API int seqnet_model_set_weight(seqnet_model *model, int32_t layer, int32_t weight,
                                       const float *src, int64_t count)
{
    const sn_param *p;
    int64_t i;
    if (model == NULL || src == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&model->obj);
    if ((p = find_param(model, layer, weight)) == NULL)
        return sn_error(&model->obj, SEQNET_ERANGE, "no weight %d in layer %d", (int)weight,
                        (int)layer);
    if (model->params_borrowed)
        return sn_error(&model->obj, SEQNET_ESTATE,
                        "the weights live in a borrowed buffer and cannot be changed");
    if (count != p->count)
        return sn_error(&model->obj, SEQNET_ESHAPE,
                        "layer '%s' weight '%s' has %lld values, got %lld",
                        model->layers[layer].name, p->name, (long long)p->count,
                        (long long)count);
    for (i = 0; i < count; i++)
        if (!isfinite(src[i]))
            return sn_error(&model->obj, SEQNET_ENONFINITE,
                            "layer '%s' weight '%s': value %lld is not finite",
                            model->layers[layer].name, p->name, (long long)i);
    memcpy(model->params + p->offset, src, (size_t)count * sizeof *src);
    return SEQNET_OK;
}

/* ---- initializers (Keras semantics) ---- */

/* Keras compute_fans: rank 1: fan_in = fan_out = n; rank 2: (in, out);
 * higher ranks multiply both by the receptive field (leading dims). */
static void fans(const sn_param *p, double *fan_in, double *fan_out)
{
    if (p->rank == 1) {
        *fan_in = *fan_out = (double)p->dims[0];
    } else {
        double receptive = 1.0;
        int32_t d;
        for (d = 0; d + 2 < p->rank; d++)
            receptive *= (double)p->dims[d];
        *fan_in = (double)p->dims[p->rank - 2] * receptive;
        *fan_out = (double)p->dims[p->rank - 1] * receptive;
    }
}

/* Keras Orthogonal(gain 1): a (rows x cols) matrix with orthonormal rows or
 * columns, from the QR decomposition of a normal matrix (signs fixed by the
 * diagonal of R). Done by modified Gram-Schmidt on the shorter side, in
 * double, in place in `w` (float rows x cols). */
static int init_orthogonal(float *w, int64_t rows, int64_t cols, sn_rng *rng, const sn_alloc *a)
{
    int64_t n_vec = rows < cols ? rows : cols; /* vectors to orthonormalise */
    int64_t len = rows < cols ? cols : rows;   /* their length */
    int64_t i, j, k;
    double *v = sn_malloc(a, (size_t)(n_vec * len) * sizeof *v);
    if (v == NULL)
        return SEQNET_ENOMEM;
    for (i = 0; i < n_vec * len; i++)
        v[i] = sn_rng_normal(rng);
    for (i = 0; i < n_vec; i++) {
        double *vi = v + i * len, norm = 0.0;
        for (j = 0; j < i; j++) {
            double *vj = v + j * len, dot = 0.0;
            for (k = 0; k < len; k++)
                dot += vi[k] * vj[k];
            for (k = 0; k < len; k++)
                vi[k] -= dot * vj[k];
        }
        for (k = 0; k < len; k++)
            norm += vi[k] * vi[k];
        norm = sqrt(norm);
        if (norm < 1e-12)
            norm = 1e-12;
        for (k = 0; k < len; k++)
            vi[k] /= norm;
    }
    /* Vectors are columns when rows >= cols, rows otherwise. */
    for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++)
            w[i * cols + j] = (float)(rows >= cols ? v[j * len + i] : v[i * len + j]);
    sn_free(a, v);
    return SEQNET_OK;
}

int sn_model_init_params(seqnet_model *m, uint64_t seed, sn_object *err)
{
    int32_t l, p;
    for (l = 0; l < m->n_layers; l++) {
        const sn_layer *L = &m->layers[l];
        for (p = 0; p < L->n_params; p++) {
            const sn_param *P = &L->params[p];
            float *w = m->params + P->offset;
            sn_rng rng;
            int64_t i;
            sn_rng_seed(&rng, sn_seed_mix(seed, ((uint64_t)l << 8) | (uint64_t)p));
            switch (P->init) {
            case SN_INIT_ZEROS:
                memset(w, 0, (size_t)P->count * sizeof *w);
                break;
            case SN_INIT_ONES:
                for (i = 0; i < P->count; i++)
                    w[i] = 1.0f;
                break;
            case SN_INIT_CONSTANT:
                for (i = 0; i < P->count; i++)
                    w[i] = P->init_value;
                break;
            case SN_INIT_GLOROT_UNIFORM: {
                double fi, fo, limit;
                fans(P, &fi, &fo);
                limit = sqrt(6.0 / (fi + fo));
                for (i = 0; i < P->count; i++)
                    w[i] = (float)((2.0 * sn_rng_uniform_double(&rng) - 1.0) * limit);
                break;
            }
            case SN_INIT_UNIFORM_005:
                for (i = 0; i < P->count; i++)
                    w[i] = (float)((2.0 * sn_rng_uniform_double(&rng) - 1.0) * 0.05);
                break;
            case SN_INIT_ORTHOGONAL: {
                int64_t cols = P->dims[P->rank - 1];
                if (init_orthogonal(w, P->count / cols, cols, &rng, &m->obj.alloc) != SEQNET_OK)
                    return sn_error(err, SEQNET_ENOMEM, "out of memory initialising '%s'",
                                    L->name);
                break;
            }
            default:
                return sn_error(err, SEQNET_EINVAL, "layer '%s': unknown initializer %d",
                                L->name, (int)P->init);
            }
        }
        if (L->ops != NULL && L->ops->post_init != NULL)
            L->ops->post_init(L, m->params);
    }
    return SEQNET_OK;
}
