/*
 * lib/graph/builder.c -- the graph builder: nodes, validation, shape
 * inference, and compiling a graph into a model.
 *
 * Nodes can only reference earlier nodes, so insertion order is a valid
 * topological order and no cycle can be built. Every check that can be done
 * without data is done when a node is added, so a shape error points at the
 * layer that caused it.
 */
#include <stdio.h>
#include <string.h>

#include "graph/graph_internal.h"

/* ---- layer set-up shared with the model loader ---- */

static int opts_allowed(const sn_layer_ops *ops, const sn_opts *opts, const char *name,
                        sn_object *err)
{
    int32_t i;
    const int32_t *k;
    for (i = 0; opts != NULL && i < opts->n; i++) {
        int found = opts->items[i].key == SEQNET_OPT_TRAINABLE;
        for (k = ops->allowed_opts; k != NULL && *k != 0 && !found; k++)
            found = *k == opts->items[i].key;
        if (!found)
            return sn_error(err, SEQNET_EUNSUPPORTED, "layer '%s' (%s) does not take option %d",
                            name, ops->class_name, (int)opts->items[i].key);
    }
    return SEQNET_OK;
}

void sn_layer_release(sn_layer *L, const sn_alloc *a)
{
    if (L->config != NULL)
        sn_free(a, L->config);
    L->config = NULL;
}

int sn_layer_setup(sn_layer *L, int32_t kind, const sn_opts *opts, const sn_shape *in,
                   int32_t n_in, const sn_alloc *a, sn_object *err)
{
    const sn_layer_ops *ops = sn_layer_ops_for_kind(kind);
    int st;
    int32_t i;
    int64_t trainable = 1;

    if (ops == NULL)
        return sn_error(err, SEQNET_EUNSUPPORTED,
                        "layer '%s': kind %d is not implemented in this version", L->name,
                        (int)kind);
    L->ops = ops;
    L->kind = kind;
    if (n_in < ops->min_inputs || n_in > ops->max_inputs || n_in > SN_MAX_INPUTS)
        return sn_error(err, SEQNET_EINVAL, "layer '%s' (%s) takes %d to %d inputs, got %d",
                        L->name, ops->class_name, (int)ops->min_inputs, (int)ops->max_inputs,
                        (int)n_in);
    if ((st = opts_allowed(ops, opts, L->name, err)) != SEQNET_OK)
        return st;
    if (opts != NULL)
        L->opts = *opts;
    else
        L->opts.n = 0;
    if (sn_opts_int(&L->opts, SEQNET_OPT_TRAINABLE, &trainable) < 0 ||
        (trainable != 0 && trainable != 1))
        return sn_error(err, SEQNET_EINVAL, "layer '%s': trainable must be 0 or 1", L->name);
    L->trainable = (int8_t)trainable;
    {
        int64_t stateful = 0;
        if (sn_opts_int(&L->opts, SEQNET_OPT_STATEFUL, &stateful) < 0 ||
            (stateful != 0 && stateful != 1))
            return sn_error(err, SEQNET_EINVAL, "layer '%s': stateful must be 0 or 1", L->name);
    }
    L->n_inputs = n_in;
    for (i = 0; i < n_in; i++)
        L->in_shapes[i] = in[i];
    if (ops->mask_mode == SN_MASK_REFUSE) {
        for (i = 0; i < n_in; i++)
            if (in[i].masked)
                return sn_layer_shape_error(
                    L, err,
                    "input carries a padding mask this layer cannot honour (pool it over time "
                    "first, or build the Embedding without mask_zero)");
    }
    L->config = NULL;
    if (ops->config_size > 0) {
        L->config = sn_calloc(a, 1, ops->config_size);
        if (L->config == NULL)
            return sn_error(err, SEQNET_ENOMEM, "out of memory configuring layer '%s'", L->name);
    }
    if (ops->configure != NULL && (st = ops->configure(L, err)) != SEQNET_OK)
        goto fail;
    if ((st = ops->infer(L, L->in_shapes, n_in, &L->out_shape, err)) != SEQNET_OK)
        goto fail;
    if (L->out_shape.features < 1 || L->out_shape.features > SN_MAX_DIM ||
        L->out_shape.time > SN_MAX_DIM) {
        st = sn_layer_shape_error(L, err, "output shape out of the supported range");
        goto fail;
    }
    L->n_params = 0;
    if (ops->declare_params != NULL && (st = ops->declare_params(L, err)) != SEQNET_OK)
        goto fail;
    for (i = 0; i < L->n_params; i++) {
        int32_t d;
        int64_t count = 1;
        sn_param *p = &L->params[i];
        for (d = 0; d < p->rank; d++) {
            if (p->dims[d] < 1 || p->dims[d] > SN_MAX_DIM || count > ((int64_t)1 << 40) / p->dims[d]) {
                st = sn_layer_shape_error(L, err, "weight shape out of the supported range");
                goto fail;
            }
            count *= p->dims[d];
        }
        p->count = count;
        if (!L->trainable)
            p->trainable = 0;
    }
    return SEQNET_OK;
fail:
    sn_layer_release(L, a);
    return st;
}

/* ---- the graph ---- */

SEQNET_API int seqnet_graph_new(seqnet_context *ctx, seqnet_graph **out)
{
    seqnet_graph *g;
    if (out == NULL)
        return SEQNET_EINVAL;
    *out = NULL;
    if (ctx == NULL)
        return SEQNET_EINVAL;
    g = sn_malloc(&ctx->obj.alloc, sizeof *g);
    if (g == NULL)
        return sn_error(&ctx->obj, SEQNET_ENOMEM, "out of memory creating a graph");
    sn_object_init(&g->obj, SN_MAGIC_GRAPH, &ctx->obj.alloc);
    g->seed = ctx->seed;
    g->n_nodes = 0;
    g->cap = 0;
    g->nodes = NULL;
    *out = g;
    return SEQNET_OK;
}

SEQNET_API void seqnet_graph_free(seqnet_graph *graph)
{
    sn_alloc a;
    int32_t i;
    if (graph == NULL || graph->obj.magic != SN_MAGIC_GRAPH)
        return;
    a = graph->obj.alloc;
    for (i = 0; i < graph->n_nodes; i++)
        sn_layer_release(&graph->nodes[i], &a);
    sn_free(&a, graph->nodes);
    graph->obj.magic = 0;
    sn_free(&a, graph);
}

SEQNET_API int32_t seqnet_graph_n_nodes(const seqnet_graph *graph)
{
    return graph == NULL ? 0 : graph->n_nodes;
}

static int name_taken(const seqnet_graph *g, const char *name)
{
    int32_t i;
    for (i = 0; i < g->n_nodes; i++)
        if (strcmp(g->nodes[i].name, name) == 0)
            return 1;
    return 0;
}

/* Keras's automatic names: "dense", "dense_1", "dense_2", ... */
static void auto_name(const seqnet_graph *g, const char *stem, char *out)
{
    int k;
    snprintf(out, SN_NAME_MAX, "%s", stem);
    for (k = 1; name_taken(g, out); k++)
        snprintf(out, SN_NAME_MAX, "%s_%d", stem, k);
}

/* Reserve a node slot with a validated, unique name. */
static int new_node(seqnet_graph *g, const char *name, const char *stem, sn_layer **out)
{
    sn_layer *L;
    if (g->n_nodes >= SN_MAX_NODES)
        return sn_error(&g->obj, SEQNET_ETOOBIG, "a graph holds at most %d nodes", SN_MAX_NODES);
    if (g->n_nodes == g->cap) {
        int32_t cap = g->cap == 0 ? 16 : g->cap * 2;
        sn_layer *nodes = sn_realloc(&g->obj.alloc, g->nodes, (size_t)cap * sizeof *nodes);
        if (nodes == NULL)
            return sn_error(&g->obj, SEQNET_ENOMEM, "out of memory growing the graph");
        g->nodes = nodes;
        g->cap = cap;
    }
    L = &g->nodes[g->n_nodes];
    memset(L, 0, sizeof *L);
    if (name != NULL) {
        if (name[0] == '\0' || strlen(name) >= SN_NAME_MAX)
            return sn_error(&g->obj, SEQNET_EINVAL, "layer names are 1 to %d bytes",
                            SN_NAME_MAX - 1);
        if (name_taken(g, name))
            return sn_error(&g->obj, SEQNET_EINVAL, "the name '%s' is already used in this graph",
                            name);
        memcpy(L->name, name, strlen(name) + 1);
    } else {
        auto_name(g, stem, L->name);
    }
    *out = L;
    return SEQNET_OK;
}

static int add_input(seqnet_graph *g, int32_t time, int32_t features, int is_tokens,
                     const char *name, int32_t *node)
{
    sn_layer *L;
    int st;
    if (g == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&g->obj);
    if (node == NULL)
        return sn_error(&g->obj, SEQNET_EINVAL, "node out-parameter is NULL");
    if (time < -1 || time > SN_MAX_DIM || features < 1 || features > SN_MAX_DIM)
        return sn_error(&g->obj, SEQNET_EINVAL, "input shape out of range (time %d, features %d)",
                        (int)time, (int)features);
    if ((st = new_node(g, name, "input", &L)) != SEQNET_OK)
        return st;
    /* Keras numbers unnamed inputs from 1: input_1, input_2. */
    if (name == NULL) {
        int k = 1;
        do
            snprintf(L->name, SN_NAME_MAX, "input_%d", k++);
        while (name_taken(g, L->name));
    }
    L->ops = NULL;
    L->kind = 0;
    L->out_shape.time = time;
    L->out_shape.features = features;
    L->out_shape.is_tokens = (int8_t)is_tokens;
    L->out_shape.masked = 0;
    L->trainable = 1;
    *node = g->n_nodes++;
    return SEQNET_OK;
}

SEQNET_API int seqnet_graph_input_tokens(seqnet_graph *graph, int32_t time, const char *name,
                                         int32_t *node)
{
    if (time < 0)
        return graph == NULL ? SEQNET_EINVAL
                             : sn_error(&graph->obj, SEQNET_EINVAL, "time must be >= 0");
    return add_input(graph, time, 1, 1, name, node);
}

SEQNET_API int seqnet_graph_input_sequence(seqnet_graph *graph, int32_t time, int32_t features,
                                           const char *name, int32_t *node)
{
    if (time < 0)
        return graph == NULL ? SEQNET_EINVAL
                             : sn_error(&graph->obj, SEQNET_EINVAL, "time must be >= 0");
    return add_input(graph, time, features, 0, name, node);
}

SEQNET_API int seqnet_graph_input_vector(seqnet_graph *graph, int32_t features, const char *name,
                                         int32_t *node)
{
    return add_input(graph, SN_TIME_VECTOR, features, 0, name, node);
}

SEQNET_API int seqnet_graph_add(seqnet_graph *graph, int kind, const seqnet_options *opts,
                                const int32_t *inputs, int32_t n_inputs, const char *name,
                                int32_t *node)
{
    const sn_layer_ops *ops;
    sn_shape in[SN_MAX_INPUTS];
    sn_layer *L;
    int32_t i;
    int st;

    if (graph == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&graph->obj);
    if (node == NULL || (n_inputs > 0 && inputs == NULL) || n_inputs < 0)
        return sn_error(&graph->obj, SEQNET_EINVAL, "NULL node out-parameter or inputs");
    ops = sn_layer_ops_for_kind(kind);
    if (ops == NULL)
        return sn_error(&graph->obj, SEQNET_EUNSUPPORTED,
                        "layer kind %d is not implemented in this version", kind);
    if (n_inputs > SN_MAX_INPUTS)
        return sn_error(&graph->obj, SEQNET_EINVAL, "at most %d inputs per layer", SN_MAX_INPUTS);
    for (i = 0; i < n_inputs; i++) {
        if (inputs[i] < 0 || inputs[i] >= graph->n_nodes)
            return sn_error(&graph->obj, SEQNET_EINVAL, "%s: input %d is not a node of this graph",
                            ops->class_name, (int)inputs[i]);
        in[i] = graph->nodes[inputs[i]].out_shape;
    }
    if ((st = new_node(graph, name, ops->auto_name, &L)) != SEQNET_OK)
        return st;
    for (i = 0; i < n_inputs; i++)
        L->inputs[i] = inputs[i];
    L->seed = sn_seed_mix(graph->seed, 0x1000u + (uint64_t)graph->n_nodes);
    st = sn_layer_setup(L, kind, opts != NULL ? &opts->opts : NULL, in, n_inputs,
                        &graph->obj.alloc, &graph->obj);
    if (st != SEQNET_OK)
        return st;
    if (kind == SEQNET_LAYER_RNN_STATE &&
        (st = sn_rnn_state_check(&graph->nodes[inputs[0]], L, &graph->obj)) != SEQNET_OK) {
        sn_layer_release(L, &graph->obj.alloc);
        return st;
    }
    *node = graph->n_nodes++;
    return SEQNET_OK;
}

SEQNET_API int seqnet_graph_node_shape(const seqnet_graph *graph, int32_t node, int32_t *time,
                                       int32_t *features, int *is_tokens, int *masked)
{
    const sn_shape *s;
    if (graph == NULL)
        return SEQNET_EINVAL;
    if (node < 0 || node >= graph->n_nodes)
        return SEQNET_ERANGE;
    s = &graph->nodes[node].out_shape;
    if (time != NULL)
        *time = s->time;
    if (features != NULL)
        *features = s->features;
    if (is_tokens != NULL)
        *is_tokens = s->is_tokens;
    if (masked != NULL)
        *masked = s->masked;
    return SEQNET_OK;
}

/* ---- compile ---- */

SEQNET_API int seqnet_graph_compile(seqnet_graph *graph, const int32_t *inputs, int32_t n_inputs,
                                    const int32_t *outputs, int32_t n_outputs, seqnet_model **out)
{
    const sn_alloc *a;
    seqnet_model *m = NULL;
    uint8_t *needed = NULL;
    int32_t *remap = NULL;
    int32_t i, j, k;
    int64_t total = 0;
    int st = SEQNET_OK;

    if (graph == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&graph->obj);
    a = &graph->obj.alloc;
    if (out == NULL || inputs == NULL || outputs == NULL || n_inputs < 1 || n_outputs < 1)
        return sn_error(&graph->obj, SEQNET_EINVAL, "compile needs at least one input and output");
    *out = NULL;
    if (n_inputs > SN_MAX_NODES || n_outputs > SN_MAX_NODES)
        return sn_error(&graph->obj, SEQNET_EINVAL, "too many inputs or outputs");
    for (i = 0; i < n_inputs; i++) {
        if (inputs[i] < 0 || inputs[i] >= graph->n_nodes || graph->nodes[inputs[i]].ops != NULL)
            return sn_error(&graph->obj, SEQNET_EINVAL, "compile: node %d is not an input node",
                            (int)inputs[i]);
        for (j = 0; j < i; j++)
            if (inputs[j] == inputs[i])
                return sn_error(&graph->obj, SEQNET_EINVAL, "compile: input %d given twice",
                                (int)inputs[i]);
    }
    for (i = 0; i < n_outputs; i++) {
        if (outputs[i] < 0 || outputs[i] >= graph->n_nodes)
            return sn_error(&graph->obj, SEQNET_EINVAL, "compile: output %d is not a node",
                            (int)outputs[i]);
        /* Outputs are floats; a model that only hands back its token ids
         * has no float tensor to give. A float input as an output is fine
         * (the identity model). */
        if (graph->nodes[outputs[i]].out_shape.is_tokens)
            return sn_error(&graph->obj, SEQNET_EINVAL,
                            "compile: output '%s' is a tensor of token ids; a model's outputs "
                            "are float tensors (add a layer such as Embedding)",
                            graph->nodes[outputs[i]].name);
    }

    needed = sn_calloc(a, (size_t)graph->n_nodes, 1);
    remap = sn_calloc(a, (size_t)graph->n_nodes, sizeof *remap);
    if (needed == NULL || remap == NULL) {
        st = sn_error(&graph->obj, SEQNET_ENOMEM, "out of memory compiling");
        goto done;
    }
    /* Mark what the outputs depend on, walking backwards. */
    for (i = 0; i < n_outputs; i++)
        needed[outputs[i]] = 1;
    for (i = graph->n_nodes - 1; i >= 0; i--)
        if (needed[i])
            for (j = 0; j < graph->nodes[i].n_inputs; j++)
                needed[graph->nodes[i].inputs[j]] = 1;
    for (i = 0; i < graph->n_nodes; i++) {
        if (needed[i] && graph->nodes[i].ops == NULL) {
            int given = 0;
            for (j = 0; j < n_inputs; j++)
                given |= inputs[j] == i;
            if (!given) {
                st = sn_error(&graph->obj, SEQNET_EINVAL,
                              "compile: the outputs depend on input '%s', which is not in the "
                              "inputs list",
                              graph->nodes[i].name);
                goto done;
            }
        }
    }
    for (j = 0; j < n_inputs; j++)
        needed[inputs[j]] = 1; /* an unused input is still fed */

    m = sn_calloc(a, 1, sizeof *m);
    if (m == NULL) {
        st = sn_error(&graph->obj, SEQNET_ENOMEM, "out of memory compiling");
        goto done;
    }
    sn_object_init(&m->obj, SN_MAGIC_MODEL, a);
    m->seed = graph->seed;
    for (i = 0, k = 0; i < graph->n_nodes; i++)
        remap[i] = needed[i] ? k++ : -1;
    m->layers = sn_calloc(a, (size_t)k, sizeof *m->layers);
    m->inputs = sn_calloc(a, (size_t)n_inputs, sizeof *m->inputs);
    m->outputs = sn_calloc(a, (size_t)n_outputs, sizeof *m->outputs);
    if (m->layers == NULL || m->inputs == NULL || m->outputs == NULL) {
        st = sn_error(&graph->obj, SEQNET_ENOMEM, "out of memory compiling");
        goto done;
    }
    m->is_chain = 1;
    for (i = 0; i < graph->n_nodes; i++) {
        const sn_layer *src = &graph->nodes[i];
        sn_layer *dst;
        if (!needed[i])
            continue;
        dst = &m->layers[m->n_layers];
        *dst = *src;
        dst->config = NULL;
        if (src->config != NULL) {
            dst->config = sn_malloc(a, src->ops->config_size);
            if (dst->config == NULL) {
                st = sn_error(&graph->obj, SEQNET_ENOMEM, "out of memory compiling");
                goto done;
            }
            memcpy(dst->config, src->config, src->ops->config_size);
        }
        for (j = 0; j < dst->n_inputs; j++) {
            dst->inputs[j] = remap[src->inputs[j]];
            if (dst->inputs[j] != m->n_layers - 1 || dst->n_inputs != 1)
                m->is_chain = 0;
        }
        for (j = 0; j < dst->n_params; j++) {
            dst->params[j].offset = total;
            total += dst->params[j].count;
            if (dst->params[j].trainable)
                m->n_trainable += dst->params[j].count;
            else
                m->n_non_trainable += dst->params[j].count;
        }
        m->n_layers++;
    }
    m->n_inputs = n_inputs;
    for (i = 0; i < n_inputs; i++)
        m->inputs[i] = remap[inputs[i]];
    if (n_inputs != 1)
        m->is_chain = 0;
    m->n_outputs = n_outputs;
    for (i = 0; i < n_outputs; i++)
        m->outputs[i] = remap[outputs[i]];
    m->n_params = total;
    m->params = sn_calloc(a, (size_t)(total > 0 ? total : 1), sizeof(float));
    if (m->params == NULL) {
        st = sn_error(&graph->obj, SEQNET_ENOMEM, "out of memory allocating %lld weights",
                      (long long)total);
        goto done;
    }
    if ((st = sn_model_init_params(m, graph->seed, &graph->obj)) != SEQNET_OK)
        goto done;
    *out = m;
    m = NULL;
done:
    seqnet_model_free(m);
    sn_free(a, needed);
    sn_free(a, remap);
    return st;
}
