/*
 * lib/graph/session.c -- sessions: per-thread workspaces and the executor
 * that runs a model's layers forward (and backward, for the trainer).
 *
 * A session reads its model and never writes it, so any number of sessions
 * on one model may run concurrently. Buffers are sized for the largest batch
 * and time seen so far and then reused: a run of an already-seen size
 * allocates nothing (first-touch page faults are expensive on the machines
 * we target, see docs/DESIGN.md).
 */
#include <math.h>
#include <string.h>

#include "graph/graph_internal.h"

/* An Embedding whose output only a GlobalAveragePooling1D reads (and which
 * is not a model output) is fused into it: see layers/embedding_pool.c. */
static void find_fusions(const seqnet_model *m, int32_t *fused_from, uint8_t *skipped)
{
    int32_t i, j, k;
    for (j = 0; j < m->n_layers; j++)
        fused_from[j] = -1;
    for (j = 0; j < m->n_layers; j++) {
        const sn_layer *P = &m->layers[j];
        int consumers = 0, is_output = 0;
        if (P->kind != SEQNET_LAYER_GLOBAL_AVERAGE_POOLING1D || P->n_inputs != 1)
            continue;
        i = P->inputs[0];
        if (m->layers[i].kind != SEQNET_LAYER_EMBEDDING)
            continue;
        for (k = 0; k < m->n_layers; k++) {
            int32_t q;
            for (q = 0; q < m->layers[k].n_inputs; q++)
                consumers += m->layers[k].inputs[q] == i;
        }
        for (k = 0; k < m->n_outputs; k++)
            is_output |= m->outputs[k] == i;
        if (consumers == 1 && !is_output) {
            fused_from[j] = i;
            skipped[i] = 1;
        }
    }
}

SEQNET_API int seqnet_session_new(const seqnet_model *model, seqnet_session **out)
{
    const sn_alloc *a;
    seqnet_session *s;
    if (out == NULL)
        return SEQNET_EINVAL;
    *out = NULL;
    if (model == NULL || model->obj.magic != SN_MAGIC_MODEL)
        return SEQNET_EINVAL;
    a = &model->obj.alloc;
    s = sn_calloc(a, 1, sizeof *s);
    if (s == NULL)
        return SEQNET_ENOMEM;
    sn_object_init(&s->obj, SN_MAGIC_SESSION, a);
    s->model = model;
    s->nodes = sn_calloc(a, (size_t)model->n_layers, sizeof *s->nodes);
    s->feeds = sn_calloc(a, (size_t)model->n_inputs, sizeof *s->feeds);
    s->fused_from = sn_calloc(a, (size_t)model->n_layers, sizeof *s->fused_from);
    s->skipped = sn_calloc(a, (size_t)model->n_layers, 1);
    if (s->nodes == NULL || s->feeds == NULL || s->fused_from == NULL || s->skipped == NULL) {
        seqnet_session_free(s);
        return SEQNET_ENOMEM;
    }
    find_fusions(model, s->fused_from, s->skipped);
    *out = s;
    return SEQNET_OK;
}

SEQNET_API void seqnet_session_free(seqnet_session *session)
{
    sn_alloc a;
    int32_t i;
    if (session == NULL || session->obj.magic != SN_MAGIC_SESSION)
        return;
    a = session->obj.alloc;
    if (session->nodes != NULL) {
        for (i = 0; i < session->model->n_layers; i++) {
            sn_node_state *n = &session->nodes[i];
            sn_free(&a, n->x);
            sn_free(&a, n->mask);
            sn_free(&a, n->grad);
            sn_free(&a, n->scratch);
            sn_free(&a, n->state);
            sn_free(&a, n->state_grad);
        }
    }
    sn_free(&a, session->nodes);
    sn_free(&a, session->feeds);
    sn_free(&a, session->fused_from);
    sn_free(&a, session->skipped);
    sn_free(&a, session->row_scratch);
    session->obj.magic = 0;
    sn_free(&a, session);
}

/* Grow a buffer to at least `bytes` (contents not kept). */
static int ensure(const sn_alloc *a, void **buf, size_t *cap, size_t bytes)
{
    void *p;
    if (*cap >= bytes && *buf != NULL)
        return SEQNET_OK;
    p = sn_malloc(a, bytes > 0 ? bytes : 1);
    if (p == NULL)
        return SEQNET_ENOMEM;
    sn_free(a, *buf);
    *buf = p;
    *cap = bytes;
    return SEQNET_OK;
}

static int check_feed_index(seqnet_session *s, int32_t input)
{
    if (input < 0 || input >= s->model->n_inputs)
        return sn_error(&s->obj, SEQNET_ERANGE, "model has %d inputs, not %d",
                        (int)s->model->n_inputs, (int)input + 1);
    return SEQNET_OK;
}

SEQNET_API int seqnet_session_set_input_tokens(seqnet_session *session, int32_t input,
                                               const int32_t *ids, int32_t batch, int32_t time)
{
    const sn_shape *decl;
    sn_feed *f;
    int st;
    if (session == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&session->obj);
    if ((st = check_feed_index(session, input)) != SEQNET_OK)
        return st;
    decl = &session->model->layers[session->model->inputs[input]].out_shape;
    if (!decl->is_tokens)
        return sn_error(&session->obj, SEQNET_ERANGE, "input %d takes floats, not token ids",
                        (int)input);
    if (ids == NULL || batch < 1 || time < 1 || batch > SN_MAX_DIM || time > SN_MAX_DIM ||
        (int64_t)batch * time > SN_MAX_DIM)
        return sn_error(&session->obj, SEQNET_EINVAL, "token input %d: bad array or sizes",
                        (int)input);
    if (decl->time > 0 && decl->time != time)
        return sn_error(&session->obj, SEQNET_ESHAPE, "input %d has %d steps, got %d",
                        (int)input, (int)decl->time, (int)time);
    f = &session->feeds[input];
    f->ids = ids;
    f->x = NULL;
    f->batch = batch;
    f->time = time;
    f->features = 1;
    f->fed = 1;
    return SEQNET_OK;
}

SEQNET_API int seqnet_session_set_input_floats(seqnet_session *session, int32_t input,
                                               const float *x, int32_t batch, int32_t time,
                                               int32_t features)
{
    const sn_shape *decl;
    sn_feed *f;
    int st;
    if (session == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&session->obj);
    if ((st = check_feed_index(session, input)) != SEQNET_OK)
        return st;
    decl = &session->model->layers[session->model->inputs[input]].out_shape;
    if (decl->is_tokens)
        return sn_error(&session->obj, SEQNET_ERANGE, "input %d takes token ids, not floats",
                        (int)input);
    if (x == NULL || batch < 1 || batch > SN_MAX_DIM || time < 0 || time > SN_MAX_DIM)
        return sn_error(&session->obj, SEQNET_EINVAL, "float input %d: bad array or sizes",
                        (int)input);
    if (decl->time == SN_TIME_VECTOR) {
        if (time != 0)
            return sn_error(&session->obj, SEQNET_ESHAPE,
                            "input %d is a vector input: pass time 0", (int)input);
    } else if (time < 1 || (decl->time > 0 && decl->time != time)) {
        return sn_error(&session->obj, SEQNET_ESHAPE, "input %d has %d steps, got %d",
                        (int)input, (int)decl->time, (int)time);
    }
    if (features != decl->features)
        return sn_error(&session->obj, SEQNET_ESHAPE, "input %d has %d features, got %d",
                        (int)input, (int)decl->features, (int)features);
    if ((int64_t)batch * (time > 0 ? time : 1) * features > SN_MAX_DIM)
        return sn_error(&session->obj, SEQNET_ETOOBIG, "input %d is too large", (int)input);
    f = &session->feeds[input];
    f->ids = NULL;
    f->x = x;
    f->batch = batch;
    f->time = time > 0 ? time : 1;
    f->features = features;
    f->fed = 1;
    return SEQNET_OK;
}

SEQNET_API int seqnet_session_set_input_lengths(seqnet_session *session, int32_t input,
                                                const int32_t *lengths, int32_t batch)
{
    int st;
    if (session == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&session->obj);
    if ((st = check_feed_index(session, input)) != SEQNET_OK)
        return st;
    if (session->model->layers[session->model->inputs[input]].out_shape.time == SN_TIME_VECTOR)
        return sn_error(&session->obj, SEQNET_ESHAPE, "input %d has no time axis to mask",
                        (int)input);
    if (lengths != NULL && batch < 1)
        return sn_error(&session->obj, SEQNET_EINVAL, "bad batch size %d", (int)batch);
    session->feeds[input].lengths = lengths;
    (void)batch; /* checked against the fed batch at run time */
    return SEQNET_OK;
}

/* Set up input node `node` (model input number `k`) from its feed. */
static int bind_input(seqnet_session *s, int32_t k, int32_t node, int32_t batch)
{
    const sn_alloc *a = &s->obj.alloc;
    const sn_feed *f = &s->feeds[k];
    const sn_layer *L = &s->model->layers[node];
    sn_node_state *n = &s->nodes[node];
    size_t count;

    n->t.batch = f->batch;
    n->t.time = f->time;
    n->t.features = f->features;
    n->t.ids = f->ids;
    n->t.x = (float *)(uintptr_t)f->x; /* layers never write their inputs */
    n->t.mask = NULL;
    n->shape = L->out_shape;
    if (L->out_shape.time != SN_TIME_VECTOR)
        n->shape.time = f->time;
    count = sn_tensor_size(&n->t);
    if (f->x != NULL && !sn_all_finite(f->x, count)) {
        size_t i;
        for (i = 0; i < count && isfinite(f->x[i]); i++)
            ;
        return sn_error(&s->obj, SEQNET_ENONFINITE,
                        "input '%s': value %zu (sample %zu) is NaN or infinite", L->name, i,
                        i / ((size_t)f->time * (size_t)f->features));
    }
    if (f->lengths != NULL) {
        int32_t b, t;
        if (ensure(a, (void **)&n->mask, &n->mask_cap, (size_t)batch * (size_t)f->time) != SEQNET_OK)
            return sn_error(&s->obj, SEQNET_ENOMEM, "out of memory for the mask of '%s'",
                            L->name);
        for (b = 0; b < batch; b++) {
            int32_t len = f->lengths[b];
            int pre = len < 0;
            if (pre)
                len = -len;
            if (len > f->time)
                return sn_error(&s->obj, SEQNET_ERANGE, "input '%s': length %d > %d steps",
                                L->name, (int)len, (int)f->time);
            for (t = 0; t < f->time; t++)
                n->mask[(size_t)b * f->time + t] =
                    (uint8_t)(pre ? t >= f->time - len : t < len);
        }
        n->t.mask = n->mask;
        n->shape.masked = 1;
    }
    return SEQNET_OK;
}

/* Whether a layer was built with an int option set to 1 (Keras's
 * stateful=True, return_state=True). */
static int layer_flag(const sn_layer *L, int key)
{
    int64_t v = 0;
    return sn_opts_int(&L->opts, key, &v) == 1 && v != 0;
}

/* Give a recurrent layer its carried state when the session carries state
 * (stream mode) or the layer is stateful: zeros on first use or after a
 * reset, then the state the previous run ended with. */
static int bind_state(seqnet_session *s, const sn_layer *L, sn_node_state *n, int32_t batch,
                      sn_exec *e)
{
    int32_t per;
    size_t count;
    int carry, keep;
    if (L->ops->state_size == NULL)
        return SEQNET_OK;
    carry = s->carry || layer_flag(L, SEQNET_OPT_STATEFUL);
    keep = layer_flag(L, SEQNET_OPT_RETURN_STATE);
    per = L->ops->state_size(L);
    if (per <= 0 || (!carry && !keep))
        return SEQNET_OK;
    if (carry && n->state_valid && n->state_batch != batch)
        return sn_error(&s->obj, SEQNET_ESHAPE,
                        "layer '%s' carries state for a batch of %d, this run has %d rows; "
                        "reset the states to change the batch size",
                        L->name, (int)n->state_batch, (int)batch);
    count = (size_t)batch * (size_t)per;
    if (!carry || !n->state_valid) {
        if (ensure(&s->obj.alloc, (void **)&n->state, &n->state_cap, count * sizeof(float)) !=
            SEQNET_OK)
            return sn_error(&s->obj, SEQNET_ENOMEM, "out of memory for the state of '%s'",
                            L->name);
        memset(n->state, 0, count * sizeof(float));
        n->state_batch = batch;
        n->state_valid = carry;
    }
    e->state_in = carry ? n->state : NULL;
    e->state_out = n->state;
    return SEQNET_OK;
}

/* The input an RNN_STATE node reads: a view of one state of its recurrent
 * node, kept in that node's state buffer. */
static const sn_tensor *state_input(seqnet_session *s, const sn_layer *L, int32_t batch)
{
    sn_node_state *p = &s->nodes[L->inputs[0]];
    int32_t units = L->out_shape.features;
    p->state_view.x = p->state + (size_t)sn_rnn_state_index(L) * (size_t)batch * (size_t)units;
    p->state_view.ids = NULL;
    p->state_view.mask = NULL;
    p->state_view.batch = batch;
    p->state_view.time = 1;
    p->state_view.features = units;
    return &p->state_view;
}

SEQNET_API int seqnet_session_set_stateful(seqnet_session *session, int on)
{
    if (session == NULL)
        return SEQNET_EINVAL;
    session->carry = on != 0;
    return seqnet_session_reset_states(session);
}

SEQNET_API int seqnet_session_reset_states(seqnet_session *session)
{
    int32_t i;
    if (session == NULL)
        return SEQNET_EINVAL;
    for (i = 0; i < session->model->n_layers; i++)
        session->nodes[i].state_valid = 0;
    return SEQNET_OK;
}

void sn_session_set_pool(seqnet_session *s, sn_pool *pool, int32_t n)
{
    s->pool = n > 1 ? pool : NULL;
    s->pool_n = s->pool != NULL ? n : 1;
}

/* ---- the fused embedding-pool on the lent threads ---- */

/* Fewer samples, or fewer steps in all, than this: one thread is faster
 * than waking the others. */
#define SN_FUSED_MIN_SAMPLES 2
#define SN_FUSED_MIN_STEPS 4096

typedef struct fused_job {
    const sn_layer *emb;
    const float *params;
    const sn_tensor *ids;
    sn_tensor *out;
    float *d_table;
    const float *grad_out;
    uint8_t *row_flags;
    int32_t *scratch;   /* input_dim entries: worker w's new rows from its lo */
    int32_t input_dim, n;
    int sorted;
    int32_t counts[SN_POOL_MAX];
    int64_t bad[SN_POOL_MAX];
} fused_job;

static int fused_on_pool(const seqnet_session *s, const sn_tensor *ids)
{
    return s->pool != NULL && ids->batch >= SN_FUSED_MIN_SAMPLES &&
           (int64_t)ids->batch * ids->time >= SN_FUSED_MIN_STEPS;
}

static void fused_forward_job(void *arg, int worker)
{
    fused_job *j = arg;
    int32_t b0, b1;
    if (worker >= j->n)
        return;
    b0 = (int32_t)((int64_t)j->ids->batch * worker / j->n);
    b1 = (int32_t)((int64_t)j->ids->batch * (worker + 1) / j->n);
    j->bad[worker] = sn_embedding_avgpool_forward_range(j->emb, j->params, j->ids, j->out, b0, b1);
}

static int fused_forward(seqnet_session *s, const sn_layer *emb, const sn_tensor *ids,
                         sn_tensor *out)
{
    fused_job j;
    int32_t w;
    if (!fused_on_pool(s, ids))
        return sn_embedding_avgpool_forward(emb, s->model->params, ids, out, &s->obj);
    memset(&j, 0, sizeof j);
    j.emb = emb;
    j.params = s->model->params;
    j.ids = ids;
    j.out = out;
    j.n = s->pool_n;
    sn_pool_run(s->pool, fused_forward_job, &j);
    for (w = 0; w < j.n; w++) /* the first bad id in the batch's order */
        if (j.bad[w] >= 0)
            return sn_embedding_avgpool_bad_id(emb, ids, j.bad[w], &s->obj);
    return SEQNET_OK;
}

static void fused_rows_lo_hi(const fused_job *j, int worker, int32_t *lo, int32_t *hi)
{
    *lo = (int32_t)((int64_t)j->input_dim * worker / j->n);
    *hi = (int32_t)((int64_t)j->input_dim * (worker + 1) / j->n);
}

static void fused_backward_job(void *arg, int worker)
{
    fused_job *j = arg;
    int32_t lo, hi;
    if (worker >= j->n)
        return;
    fused_rows_lo_hi(j, worker, &lo, &hi);
    j->counts[worker] = sn_embedding_avgpool_backward_rows(j->emb, j->d_table, j->ids, j->grad_out,
                                                           j->row_flags, lo, hi, j->scratch + lo,
                                                           j->sorted);
}

static int fused_backward(seqnet_session *s, const sn_layer *emb, float *grads,
                          const sn_tensor *ids, const float *grad_out, uint8_t *row_flags,
                          int32_t *touched, int32_t *n_touched, uint8_t *rows_finite)
{
    fused_job j;
    int64_t v = 0;
    int32_t w;
    if (grads == NULL || row_flags == NULL || touched == NULL || n_touched == NULL ||
        !fused_on_pool(s, ids))
        return sn_embedding_avgpool_backward(emb, grads, ids, grad_out, row_flags, touched,
                                             n_touched, rows_finite, &s->obj);
    memset(&j, 0, sizeof j);
    j.input_dim = sn_opts_int(&emb->opts, SEQNET_OPT_INPUT_DIM, &v) == 1 ? (int32_t)v : 0;
    if (ensure(&s->obj.alloc, (void **)&s->row_scratch, &s->row_scratch_cap,
               (size_t)(j.input_dim > 0 ? j.input_dim : 1) * sizeof(int32_t)) != SEQNET_OK)
        return sn_error(&s->obj, SEQNET_ENOMEM, "out of memory for the gradient of '%s'",
                        emb->name);
    j.emb = emb;
    j.ids = ids;
    j.d_table = grads + emb->params[0].offset;
    j.grad_out = grad_out;
    j.row_flags = row_flags;
    j.scratch = s->row_scratch;
    j.n = s->pool_n;
    /* With no row listed yet, every flag is clear: the threads can list
     * their rows in ascending order, which the row update wants. */
    j.sorted = *n_touched == 0;
    sn_pool_run(s->pool, fused_backward_job, &j);
    for (w = 0; w < j.n; w++) { /* each thread's rows, in the threads' order */
        int32_t lo, hi;
        fused_rows_lo_hi(&j, w, &lo, &hi);
        memcpy(touched + *n_touched, s->row_scratch + lo, (size_t)j.counts[w] * sizeof(int32_t));
        *n_touched += j.counts[w];
    }
    if (rows_finite != NULL)
        *rows_finite = (uint8_t)sn_embedding_avgpool_backward_bound(emb, grad_out, ids->batch);
    return SEQNET_OK;
}

int sn_session_forward(seqnet_session *s, int training, uint64_t step)
{
    const seqnet_model *m = s->model;
    const sn_alloc *a = &s->obj.alloc;
    int32_t i, j, k, batch = -1;
    int st;

    s->ran = 0;
    for (k = 0; k < m->n_inputs; k++) {
        if (!s->feeds[k].fed)
            return sn_error(&s->obj, SEQNET_ESTATE, "input %d ('%s') was not fed", (int)k,
                            m->layers[m->inputs[k]].name);
        if (batch >= 0 && s->feeds[k].batch != batch)
            return sn_error(&s->obj, SEQNET_ESHAPE, "inputs have different batch sizes (%d, %d)",
                            (int)batch, (int)s->feeds[k].batch);
        batch = s->feeds[k].batch;
    }
    for (k = 0; k < m->n_inputs; k++)
        if ((st = bind_input(s, k, m->inputs[k], batch)) != SEQNET_OK)
            return st;

    for (i = 0; i < m->n_layers; i++) {
        const sn_layer *L = &m->layers[i];
        sn_node_state *n = &s->nodes[i];
        sn_shape in_shapes[SN_MAX_INPUTS];
        sn_exec e;
        sn_rng rng;
        size_t count, scratch;
        int32_t time;

        if (L->ops == NULL)
            continue; /* inputs are bound above */
        memset(&e, 0, sizeof e);
        for (j = 0; j < L->n_inputs; j++) {
            const sn_node_state *src = &s->nodes[L->inputs[j]];
            in_shapes[j] = src->shape;
            in_shapes[j].masked = src->t.mask != NULL;
            e.in[j] = L->kind == SEQNET_LAYER_RNN_STATE ? state_input(s, L, batch) : &src->t;
            if (L->ops->mask_mode == SN_MASK_REFUSE && src->t.mask != NULL)
                return sn_layer_shape_error(L, &s->obj,
                                            "input carries a padding mask this layer cannot "
                                            "honour");
        }
        if ((st = L->ops->infer(L, in_shapes, L->n_inputs, &n->shape, &s->obj)) != SEQNET_OK)
            return st;
        time = n->shape.time == SN_TIME_VECTOR ? 1 : n->shape.time;
        n->t.batch = batch;
        n->t.time = time;
        n->t.features = n->shape.features;
        n->t.ids = NULL;
        if (s->skipped[i]) {
            /* Runs inside the pooling that reads it: no buffer, no mask. */
            n->t.x = NULL;
            n->t.mask = NULL;
            continue;
        }
        count = sn_tensor_size(&n->t);
        if (ensure(a, (void **)&n->x, &n->x_cap, count * sizeof(float)) != SEQNET_OK)
            return sn_error(&s->obj, SEQNET_ENOMEM, "out of memory for the output of '%s'",
                            L->name);
        n->t.x = n->x;
        n->t.mask = NULL;
        if (L->ops->mask_mode == SN_MASK_PASS && L->n_inputs > 0) {
            n->t.mask = s->nodes[L->inputs[0]].t.mask;
        } else if (L->ops->mask_mode == SN_MASK_PRODUCE && n->shape.masked) {
            if (ensure(a, (void **)&n->mask, &n->mask_cap, (size_t)batch * (size_t)time) !=
                SEQNET_OK)
                return sn_error(&s->obj, SEQNET_ENOMEM, "out of memory for the mask of '%s'",
                                L->name);
            n->t.mask = n->mask;
        }
        n->shape.masked = n->t.mask != NULL;
        scratch = L->ops->scratch_size != NULL
                      ? L->ops->scratch_size(L, batch, in_shapes, training)
                      : 0;
        if (scratch > 0 && ensure(a, &n->scratch, &n->scratch_cap, scratch) != SEQNET_OK)
            return sn_error(&s->obj, SEQNET_ENOMEM, "out of memory for the workspace of '%s'",
                            L->name);
        if ((st = bind_state(s, L, n, batch, &e)) != SEQNET_OK)
            return st;
        sn_rng_seed(&rng, s->stream == 0 ? sn_seed_mix(L->seed, step)
                                         : sn_seed_mix(sn_seed_mix(L->seed, step), s->stream));
        e.layer = L;
        e.params = m->params;
        e.n_inputs = L->n_inputs;
        e.out = &n->t;
        e.scratch = scratch > 0 ? n->scratch : NULL;
        e.training = training;
        e.rng = &rng;
        e.err = &s->obj;
        if (s->fused_from[i] >= 0) {
            const sn_layer *emb = &m->layers[s->fused_from[i]];
            st = fused_forward(s, emb, &s->nodes[emb->inputs[0]].t, &n->t);
            if (st != SEQNET_OK)
                return st;
            continue;
        }
        if ((st = L->ops->forward(&e)) != SEQNET_OK)
            return st;
        /* A run-time mask on a token input (explicit lengths) survives an
         * Embedding that makes its own mask: both must hold. */
        if (L->ops->mask_mode == SN_MASK_PRODUCE && n->t.mask != NULL && L->n_inputs > 0 &&
            s->nodes[L->inputs[0]].t.mask != NULL) {
            const uint8_t *im = s->nodes[L->inputs[0]].t.mask;
            size_t q, nm = (size_t)batch * (size_t)time;
            for (q = 0; q < nm; q++)
                n->t.mask[q] = (uint8_t)(n->t.mask[q] & im[q]);
        }
    }
    s->batch = batch;
    s->ran = 1;
    return SEQNET_OK;
}

void sn_session_clear_grads(seqnet_session *s)
{
    int32_t i;
    for (i = 0; i < s->model->n_layers; i++) {
        s->nodes[i].grad_written = 0;
        s->nodes[i].state_grad_written = 0;
    }
}

float *sn_session_grad_buffer(seqnet_session *s, int32_t node, size_t count)
{
    sn_node_state *n = &s->nodes[node];
    if (ensure(&s->obj.alloc, (void **)&n->grad, &n->grad_cap, count * sizeof(float)) !=
        SEQNET_OK)
        return NULL;
    return n->grad;
}

int sn_session_backward(seqnet_session *s, float *grads, uint8_t **row_flags, int32_t **touched,
                        int32_t *n_touched, uint8_t *rows_finite, const uint8_t *frozen)
{
    const seqnet_model *m = s->model;
    int32_t i, j;
    int st;

    for (i = m->n_layers - 1; i >= 0; i--) {
        const sn_layer *L = &m->layers[i];
        sn_node_state *n = &s->nodes[i];
        sn_exec e;

        if (L->ops == NULL || (!n->grad_written && !n->state_grad_written) || s->skipped[i])
            continue;
        if (!n->grad_written) {
            /* Only the final state is read (return_state): the output's
             * gradient is zero. */
            if (sn_session_grad_buffer(s, i, sn_tensor_size(&n->t)) == NULL)
                return sn_error(&s->obj, SEQNET_ENOMEM, "out of memory for gradients of '%s'",
                                L->name);
            memset(n->grad, 0, sn_tensor_size(&n->t) * sizeof(float));
            n->grad_written = 1;
        }
        if (s->fused_from[i] >= 0) {
            int32_t ei = s->fused_from[i];
            const sn_layer *emb = &m->layers[ei];
            int trains = grads != NULL && emb->trainable && !(frozen != NULL && frozen[ei]);
            st = fused_backward(
                s, emb, trains ? grads : NULL, &s->nodes[emb->inputs[0]].t, n->grad,
                row_flags != NULL ? row_flags[ei] : NULL, touched != NULL ? touched[ei] : NULL,
                n_touched != NULL ? &n_touched[ei] : NULL,
                rows_finite != NULL ? &rows_finite[ei] : NULL);
            if (st != SEQNET_OK)
                return st;
            s->nodes[ei].grad_written = 1; /* its weights have gradients now */
            continue;
        }
        memset(&e, 0, sizeof e);
        for (j = 0; j < L->n_inputs; j++) {
            int32_t src = L->inputs[j];
            sn_node_state *sn = &s->nodes[src];
            e.in[j] = &sn->t;
            if (m->layers[src].ops == NULL) {
                e.grad_in[j] = NULL; /* no gradient for model inputs */
                continue;
            }
            if (L->kind == SEQNET_LAYER_RNN_STATE) {
                /* Into the recurrent node's final-state gradient. */
                size_t per = (size_t)m->layers[src].ops->state_size(&m->layers[src]);
                size_t units = (size_t)L->out_shape.features, batch = (size_t)n->t.batch;
                if (ensure(&s->obj.alloc, (void **)&sn->state_grad, &sn->state_grad_cap,
                           batch * per * sizeof(float)) != SEQNET_OK)
                    return sn_error(&s->obj, SEQNET_ENOMEM, "out of memory for state gradients");
                if (!sn->state_grad_written)
                    memset(sn->state_grad, 0, batch * per * sizeof(float));
                sn->state_grad_written = 1;
                e.in[j] = state_input(s, L, n->t.batch);
                e.grad_in[j] = sn->state_grad + (size_t)sn_rnn_state_index(L) * batch * units;
                e.grad_in_accumulate[j] = 1;
                continue;
            }
            if (sn_session_grad_buffer(s, src, sn_tensor_size(&sn->t)) == NULL)
                return sn_error(&s->obj, SEQNET_ENOMEM, "out of memory for gradients of '%s'",
                                m->layers[src].name);
            e.grad_in[j] = sn->grad;
            e.grad_in_accumulate[j] = sn->grad_written;
        }
        e.layer = L;
        e.params = m->params;
        e.grads = (grads != NULL && L->trainable && !(frozen != NULL && frozen[i])) ? grads : NULL;
        if (row_flags != NULL) {
            e.row_flags = row_flags[i];
            e.touched_rows = touched[i];
            e.n_touched = &n_touched[i];
            e.rows_finite = rows_finite != NULL ? &rows_finite[i] : NULL;
        }
        e.n_inputs = L->n_inputs;
        e.out = &n->t;
        e.grad_out = n->grad;
        e.scratch = n->scratch;
        e.state_grad = n->state_grad_written ? n->state_grad : NULL;
        e.training = 1;
        e.err = &s->obj;
        if (L->ops->backward == NULL)
            return sn_error(&s->obj, SEQNET_EUNSUPPORTED, "layer '%s' cannot be trained",
                            L->name);
        if ((st = L->ops->backward(&e)) != SEQNET_OK)
            return st;
        for (j = 0; j < L->n_inputs; j++)
            if (e.grad_in[j] != NULL && L->kind != SEQNET_LAYER_RNN_STATE)
                s->nodes[L->inputs[j]].grad_written = 1;
    }
    return SEQNET_OK;
}

SEQNET_API int seqnet_session_run(seqnet_session *session)
{
    const seqnet_model *m;
    int32_t k;
    int st;
    if (session == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&session->obj);
    if ((st = sn_session_forward(session, 0, 0)) != SEQNET_OK)
        return st;
    /* Finite inputs can still overflow inside the model: never hand back a
     * NaN or an infinity as if it were a prediction. */
    m = session->model;
    for (k = 0; k < m->n_outputs; k++) {
        const sn_tensor *t = &session->nodes[m->outputs[k]].t;
        if (t->x != NULL && !sn_all_finite(t->x, sn_tensor_size(t))) {
            session->ran = 0;
            return sn_error(&session->obj, SEQNET_ENONFINITE,
                            "output %d ('%s') overflowed: it holds NaN or infinity", (int)k,
                            m->layers[m->outputs[k]].name);
        }
    }
    return SEQNET_OK;
}

static const sn_node_state *output_node(const seqnet_session *s, int32_t index, int *status)
{
    *status = SEQNET_OK;
    if (index < 0 || index >= s->model->n_outputs) {
        *status = SEQNET_ERANGE;
        return NULL;
    }
    if (!s->ran) {
        *status = SEQNET_ESTATE;
        return NULL;
    }
    return &s->nodes[s->model->outputs[index]];
}

SEQNET_API int seqnet_session_output_shape(const seqnet_session *session, int32_t index,
                                           int32_t *batch, int32_t *time, int32_t *features)
{
    const sn_node_state *n;
    int st;
    if (session == NULL)
        return SEQNET_EINVAL;
    if ((n = output_node(session, index, &st)) == NULL)
        return st;
    if (batch != NULL)
        *batch = n->t.batch;
    if (time != NULL)
        *time = n->shape.time == SN_TIME_VECTOR ? 0 : n->t.time;
    if (features != NULL)
        *features = n->t.features;
    return SEQNET_OK;
}

SEQNET_API int seqnet_session_get_output(const seqnet_session *session, int32_t index,
                                         float *dst, int64_t count)
{
    const sn_node_state *n;
    int st;
    size_t size;
    if (session == NULL || dst == NULL)
        return SEQNET_EINVAL;
    if ((n = output_node(session, index, &st)) == NULL)
        return st;
    size = sn_tensor_size(&n->t);
    if (count < 0 || (uint64_t)count < size)
        return SEQNET_EBUFFER;
    memcpy(dst, n->t.x, size * sizeof *dst);
    return SEQNET_OK;
}

SEQNET_API const float *seqnet_session_output(const seqnet_session *session, int32_t index)
{
    const sn_node_state *n;
    int st;
    if (session == NULL)
        return NULL;
    n = output_node(session, index, &st);
    return n == NULL ? NULL : n->t.x;
}
