/*
 * lib/train/trainer.c -- the trainer: mini-batches, forward, loss, backward,
 * clipping, the optimizer step; fit / evaluate / predict; history and
 * callbacks.
 *
 * Everything a step needs (gradients, optimizer slots, staging buffers for
 * shuffled rows, the session's activations) is allocated once and reused:
 * after the first batch of a given size, a training step allocates nothing.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/sn_threads.h"
#include "graph/graph_internal.h"
#include "train/loss.h"
#include "train/optim.h"
#include "train/train_internal.h"

#define SN_MAX_METRICS 16
#define SN_MAX_LOGS (1 + SN_MAX_METRICS)
#define SN_LOG_NAME 72

typedef struct metric_slot {
    int32_t output;
    int metric;
} metric_slot;

/* A mini-batch ready to feed: pointers into host arrays or staging. */
typedef struct batch_view {
    int32_t n;
    const int32_t *ids[SN_DATA_MAX_IO];
    const float *x[SN_DATA_MAX_IO];
    const float *y[SN_DATA_MAX_IO];
    const float *w;
} batch_view;

typedef struct stage_buf {
    void *p;
    size_t cap;
} stage_buf;

typedef struct running {
    double loss_sum;      /* sum over batches of loss * batch size */
    double samples;
    double metric_sum[SN_MAX_METRICS];
    double metric_count[SN_MAX_METRICS];
} running;

#define SN_MAX_THREADS SN_POOL_MAX
/* Row-sparse merges and updates with fewer touched rows stay on one thread:
 * they do not pay for waking the others. */
#define SN_ROWS_FOR_THREADS 2048

/* One slice of a mini-batch when a step runs on several threads: its own
 * session (activations), gradient block and row-sparse bookkeeping. Slice
 * 0 borrows the trainer's own. */
typedef struct sn_shard {
    seqnet_session *session;
    float *grads;
    uint8_t **row_flags;
    int32_t **touched;
    int32_t *n_touched;
    uint8_t *rows_finite;
    batch_view bv;
    running run;          /* this step's metric sums */
    double loss;          /* its loss, reduced over its own rows */
    double counted;       /* the denominator of that reduction */
    int status;
} sn_shard;

struct seqnet_trainer {
    sn_object obj;
    seqnet_model *model;
    seqnet_session *session;
    float *grads;
    uint8_t **row_flags;  /* per layer: flags of its row-sparse parameter, or NULL */
    int32_t **touched;
    int32_t *n_touched;
    uint8_t *rows_finite; /* per layer: its backward proved the row gradients finite */
    int64_t **row_step;   /* per layer: last optimizer step each sparse row has seen */
    uint8_t *has_grads;   /* per layer, this step */
    sn_optim optim;
    int *loss;            /* per output; 0 = no loss */
    int32_t n_metrics;
    metric_slot metrics[SN_MAX_METRICS];
    int32_t batch_size, epochs;
    int shuffle;
    uint64_t seed;
    double validation_split, clipvalue, clipnorm, global_clipnorm;
    int reduction;
    seqnet_train_callback callback;
    void *callback_user;
    double *history;      /* per epoch: n_logs train values then n_logs val values */
    int32_t history_len, history_cap;
    char names[2][SN_MAX_LOGS][SN_LOG_NAME];
    stage_buf stage_in[SN_DATA_MAX_IO], stage_out[SN_DATA_MAX_IO], stage_w;
    int64_t *order;
    int64_t order_cap;
    uint64_t step;
    int64_t epochs_done;
    seqnet_data *gen_batch;
    sn_undo undo;         /* what the current optimizer step overwrote */
    int32_t threads;      /* SEQNET_TRAIN_THREADS */
    sn_pool *pool;        /* threads - 1 workers, made on first use */
    sn_shard *shards;     /* [threads]; [0] borrows the fields above */
    int32_t n_shards;     /* shards made (sessions and buffers allocated) */
    const seqnet_data *job_data; /* the step the pool is running */
    int32_t job_shards;
    int job_eval;                /* 1: forward and loss only (evaluation) */
    const sn_param *job_param;   /* the row-sparse update or merge the pool is running */
    int32_t job_layer, job_count;
    const float *job_c;
    int job_finite[SN_MAX_THREADS];
    int32_t job_fresh[SN_MAX_THREADS]; /* rows a merge worker added to the list */
    int32_t **fresh;      /* per row-sparse layer: merge workers' new rows, by range */
};

static void catch_up_all(seqnet_trainer *t);
static void reset_row_steps(seqnet_trainer *t);

/* ---- lifetime ---- */

static void free_sparse(seqnet_trainer *t)
{
    int32_t l;
    const sn_alloc *a = &t->obj.alloc;
    for (l = 0; l < t->model->n_layers; l++) {
        if (t->row_flags != NULL)
            sn_free(a, t->row_flags[l]);
        if (t->touched != NULL)
            sn_free(a, t->touched[l]);
        if (t->row_step != NULL)
            sn_free(a, t->row_step[l]);
    }
    sn_free(a, t->row_step);
    sn_free(a, t->row_flags);
    sn_free(a, t->touched);
    sn_free(a, t->n_touched);
    sn_free(a, t->rows_finite);
}

/* Stop the worker threads and free every slice but 0 (the trainer's own). */
static void free_shards(seqnet_trainer *t)
{
    const sn_alloc *a = &t->obj.alloc;
    int32_t k, l;
    if (t->session != NULL)
        sn_session_set_pool(t->session, NULL, 1);
    sn_pool_free(t->pool);
    t->pool = NULL;
    if (t->shards == NULL)
        return;
    for (k = 1; k < t->n_shards; k++) {
        sn_shard *sh = &t->shards[k];
        seqnet_session_free(sh->session);
        sn_free(a, sh->grads);
        for (l = 0; l < t->model->n_layers; l++) {
            if (sh->row_flags != NULL)
                sn_free(a, sh->row_flags[l]);
            if (sh->touched != NULL)
                sn_free(a, sh->touched[l]);
        }
        sn_free(a, sh->row_flags);
        sn_free(a, sh->touched);
        sn_free(a, sh->n_touched);
        sn_free(a, sh->rows_finite);
    }
    sn_free(a, t->shards);
    t->shards = NULL;
    t->n_shards = 0;
    if (t->fresh != NULL)
        for (l = 0; l < t->model->n_layers; l++)
            sn_free(a, t->fresh[l]);
    sn_free(a, t->fresh);
    t->fresh = NULL;
}

SEQNET_API void seqnet_trainer_free(seqnet_trainer *trainer)
{
    sn_alloc a;
    int32_t i;
    if (trainer == NULL || trainer->obj.magic != SN_MAGIC_TRAINER)
        return;
    a = trainer->obj.alloc;
    free_shards(trainer);
    free_sparse(trainer);
    seqnet_session_free(trainer->session);
    seqnet_data_free(trainer->gen_batch);
    sn_optim_release(&trainer->optim);
    sn_undo_free(&trainer->undo, &a);
    sn_free(&a, trainer->grads);
    sn_free(&a, trainer->has_grads);
    sn_free(&a, trainer->loss);
    sn_free(&a, trainer->history);
    sn_free(&a, trainer->order);
    for (i = 0; i < SN_DATA_MAX_IO; i++) {
        sn_free(&a, trainer->stage_in[i].p);
        sn_free(&a, trainer->stage_out[i].p);
    }
    sn_free(&a, trainer->stage_w.p);
    trainer->obj.magic = 0;
    sn_free(&a, trainer);
}

static int alloc_sparse(seqnet_trainer *t)
{
    const seqnet_model *m = t->model;
    const sn_alloc *a = &t->obj.alloc;
    int32_t l, p;
    t->row_flags = sn_calloc(a, (size_t)m->n_layers, sizeof *t->row_flags);
    t->touched = sn_calloc(a, (size_t)m->n_layers, sizeof *t->touched);
    t->n_touched = sn_calloc(a, (size_t)m->n_layers, sizeof *t->n_touched);
    t->rows_finite = sn_calloc(a, (size_t)m->n_layers, 1);
    t->row_step = sn_calloc(a, (size_t)m->n_layers, sizeof *t->row_step);
    if (t->row_flags == NULL || t->touched == NULL || t->n_touched == NULL ||
        t->rows_finite == NULL || t->row_step == NULL)
        return SEQNET_ENOMEM;
    for (l = 0; l < m->n_layers; l++)
        for (p = 0; p < m->layers[l].n_params; p++) {
            const sn_param *P = &m->layers[l].params[p];
            if (!P->sparse_rows)
                continue;
            t->row_flags[l] = sn_calloc(a, (size_t)P->dims[0], 1);
            t->touched[l] = sn_calloc(a, (size_t)P->dims[0], sizeof(int32_t));
            t->row_step[l] = sn_calloc(a, (size_t)P->dims[0], sizeof(int64_t));
            if (t->row_flags[l] == NULL || t->touched[l] == NULL || t->row_step[l] == NULL)
                return SEQNET_ENOMEM;
        }
    return SEQNET_OK;
}

SEQNET_API int seqnet_trainer_new(seqnet_model *model, seqnet_trainer **out)
{
    const sn_alloc *a;
    seqnet_trainer *t;
    int st;
    if (out == NULL)
        return SEQNET_EINVAL;
    *out = NULL;
    if (model == NULL || model->obj.magic != SN_MAGIC_MODEL)
        return SEQNET_EINVAL;
    if (model->params_borrowed)
        return sn_error(&model->obj, SEQNET_ESTATE,
                        "a model whose weights live in a borrowed buffer cannot be trained");
    a = &model->obj.alloc;
    t = sn_calloc(a, 1, sizeof *t);
    if (t == NULL)
        return SEQNET_ENOMEM;
    sn_object_init(&t->obj, SN_MAGIC_TRAINER, a);
    t->model = model;
    t->batch_size = 32;
    t->epochs = 1;
    t->shuffle = 1;
    t->seed = model->seed;
    t->reduction = SEQNET_REDUCTION_MEAN;
    t->threads = 1;
    if ((st = sn_optim_init(&t->optim, SEQNET_OPTIMIZER_ADAM, a)) != SEQNET_OK)
        goto fail;
    st = SEQNET_ENOMEM;
    t->grads = sn_calloc(a, (size_t)(model->n_params > 0 ? model->n_params : 1), sizeof(float));
    t->has_grads = sn_calloc(a, (size_t)model->n_layers, 1);
    t->loss = sn_calloc(a, (size_t)model->n_outputs, sizeof *t->loss);
    if (t->grads == NULL || t->has_grads == NULL || t->loss == NULL)
        goto fail;
    if (alloc_sparse(t) != SEQNET_OK)
        goto fail;
    if ((st = seqnet_session_new(model, &t->session)) != SEQNET_OK)
        goto fail;
    *out = t;
    return SEQNET_OK;
fail:
    seqnet_trainer_free(t);
    return st;
}

/* ---- configuration ---- */

static void rebuild_names(seqnet_trainer *t)
{
    int32_t i;
    const seqnet_model *m = t->model;
    snprintf(t->names[0][0], SN_LOG_NAME, "loss");
    for (i = 0; i < t->n_metrics; i++) {
        const char *base = sn_metric_name(t->metrics[i].metric);
        if (m->n_outputs > 1)
            snprintf(t->names[0][1 + i], SN_LOG_NAME, "%s_%s",
                     m->layers[m->outputs[t->metrics[i].output]].name, base);
        else
            snprintf(t->names[0][1 + i], SN_LOG_NAME, "%s", base);
    }
    for (i = 0; i <= t->n_metrics; i++) {
        char name[SN_LOG_NAME];
        memcpy(name, t->names[0][i], sizeof name);
        snprintf(t->names[1][i], SN_LOG_NAME, "val_%.*s", SN_LOG_NAME - 5, name);
    }
}

SEQNET_API int seqnet_trainer_set_loss(seqnet_trainer *trainer, int32_t output, int loss)
{
    if (trainer == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&trainer->obj);
    if (output < 0 || output >= trainer->model->n_outputs)
        return sn_error(&trainer->obj, SEQNET_ERANGE, "no output %d", (int)output);
    if (!sn_loss_valid(loss))
        return sn_error(&trainer->obj, SEQNET_EUNSUPPORTED, "unknown loss %d", loss);
    trainer->loss[output] = loss;
    return SEQNET_OK;
}

SEQNET_API int seqnet_trainer_add_metric(seqnet_trainer *trainer, int32_t output, int metric)
{
    if (trainer == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&trainer->obj);
    if (output < 0 || output >= trainer->model->n_outputs)
        return sn_error(&trainer->obj, SEQNET_ERANGE, "no output %d", (int)output);
    if (!sn_metric_valid(metric))
        return sn_error(&trainer->obj, SEQNET_EUNSUPPORTED, "unknown metric %d", metric);
    if (trainer->n_metrics >= SN_MAX_METRICS)
        return sn_error(&trainer->obj, SEQNET_ETOOBIG, "at most %d metrics", SN_MAX_METRICS);
    if (trainer->history_len > 0)
        return sn_error(&trainer->obj, SEQNET_ESTATE, "metrics cannot change after training");
    trainer->metrics[trainer->n_metrics].output = output;
    trainer->metrics[trainer->n_metrics].metric = metric;
    trainer->n_metrics++;
    return SEQNET_OK;
}

SEQNET_API int seqnet_trainer_set_optimizer(seqnet_trainer *trainer, int optimizer)
{
    sn_optim fresh;
    int st;
    if (trainer == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&trainer->obj);
    if ((st = sn_optim_init(&fresh, optimizer, &trainer->obj.alloc)) != SEQNET_OK)
        return sn_error(&trainer->obj, st, "unknown optimizer %d", optimizer);
    catch_up_all(trainer);
    sn_optim_release(&trainer->optim);
    trainer->optim = fresh;
    reset_row_steps(trainer);
    return SEQNET_OK;
}

SEQNET_API int seqnet_trainer_set_param(seqnet_trainer *trainer, int param, double value)
{
    int st;
    if (trainer == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&trainer->obj);
    if (!isfinite(value))
        return sn_error(&trainer->obj, SEQNET_EINVAL, "parameter %d: value is not finite", param);
    switch (param) {
    case SEQNET_TRAIN_BATCH_SIZE:
        if (value < 1 || value > (1 << 24) || value != floor(value))
            return sn_error(&trainer->obj, SEQNET_EINVAL, "batch_size must be a positive integer");
        trainer->batch_size = (int32_t)value;
        return SEQNET_OK;
    case SEQNET_TRAIN_EPOCHS:
        if (value < 0 || value > (1 << 24) || value != floor(value))
            return sn_error(&trainer->obj, SEQNET_EINVAL, "epochs must be an integer >= 0");
        trainer->epochs = (int32_t)value;
        return SEQNET_OK;
    case SEQNET_TRAIN_SHUFFLE:
        trainer->shuffle = value != 0.0;
        return SEQNET_OK;
    case SEQNET_TRAIN_SEED:
        if (value < 0 || value != floor(value) || value > 9007199254740992.0)
            return sn_error(&trainer->obj, SEQNET_EINVAL, "seed must be an integer >= 0");
        trainer->seed = (uint64_t)value;
        return SEQNET_OK;
    case SEQNET_TRAIN_VALIDATION_SPLIT:
        if (value < 0 || value >= 1)
            return sn_error(&trainer->obj, SEQNET_EINVAL, "validation_split must be in [0, 1)");
        trainer->validation_split = value;
        return SEQNET_OK;
    case SEQNET_TRAIN_CLIPVALUE:
    case SEQNET_TRAIN_CLIPNORM:
    case SEQNET_TRAIN_GLOBAL_CLIPNORM:
        if (value < 0)
            return sn_error(&trainer->obj, SEQNET_EINVAL, "clipping thresholds must be >= 0");
        if (value > 0 && ((param == SEQNET_TRAIN_CLIPNORM && trainer->global_clipnorm > 0) ||
                          (param == SEQNET_TRAIN_GLOBAL_CLIPNORM && trainer->clipnorm > 0)))
            return sn_error(&trainer->obj, SEQNET_EINVAL,
                            "only one of clipnorm and global_clipnorm can be set (as Keras)");
        if (param == SEQNET_TRAIN_CLIPVALUE)
            trainer->clipvalue = value;
        else if (param == SEQNET_TRAIN_CLIPNORM)
            trainer->clipnorm = value;
        else
            trainer->global_clipnorm = value;
        return SEQNET_OK;
    case SEQNET_TRAIN_LOSS_REDUCTION:
        if (value != SEQNET_REDUCTION_MEAN && value != SEQNET_REDUCTION_SUM_OVER_STEPS)
            return sn_error(&trainer->obj, SEQNET_EINVAL, "unknown reduction");
        trainer->reduction = (int)value;
        return SEQNET_OK;
    case SEQNET_TRAIN_THREADS:
        if (value < 1 || value > SN_MAX_THREADS || value != floor(value))
            return sn_error(&trainer->obj, SEQNET_EINVAL, "threads must be an integer in [1, %d]",
                            SN_MAX_THREADS);
        if ((int32_t)value != trainer->threads)
            free_shards(trainer); /* remade at the size asked, on first use */
        trainer->threads = (int32_t)value;
        return SEQNET_OK;
    default:
        st = sn_optim_set(&trainer->optim, param, value);
        if (st != SEQNET_OK)
            return sn_error(&trainer->obj, st, "parameter %d: %s", param,
                            st == SEQNET_EUNSUPPORTED
                                ? "not a parameter of this optimizer"
                                : "value out of range");
        return SEQNET_OK;
    }
}

SEQNET_API int seqnet_trainer_get_param(const seqnet_trainer *trainer, int param, double *value)
{
    if (trainer == NULL || value == NULL)
        return SEQNET_EINVAL;
    switch (param) {
    case SEQNET_TRAIN_BATCH_SIZE: *value = trainer->batch_size; return SEQNET_OK;
    case SEQNET_TRAIN_EPOCHS: *value = trainer->epochs; return SEQNET_OK;
    case SEQNET_TRAIN_SHUFFLE: *value = trainer->shuffle; return SEQNET_OK;
    case SEQNET_TRAIN_SEED: *value = (double)trainer->seed; return SEQNET_OK;
    case SEQNET_TRAIN_VALIDATION_SPLIT: *value = trainer->validation_split; return SEQNET_OK;
    case SEQNET_TRAIN_CLIPVALUE: *value = trainer->clipvalue; return SEQNET_OK;
    case SEQNET_TRAIN_CLIPNORM: *value = trainer->clipnorm; return SEQNET_OK;
    case SEQNET_TRAIN_GLOBAL_CLIPNORM: *value = trainer->global_clipnorm; return SEQNET_OK;
    case SEQNET_TRAIN_LOSS_REDUCTION: *value = trainer->reduction; return SEQNET_OK;
    case SEQNET_TRAIN_THREADS: *value = trainer->threads; return SEQNET_OK;
    default: return sn_optim_get(&trainer->optim, param, value);
    }
}

SEQNET_API int seqnet_trainer_set_callback(seqnet_trainer *trainer, seqnet_train_callback fn,
                                           void *user)
{
    if (trainer == NULL)
        return SEQNET_EINVAL;
    trainer->callback = fn;
    trainer->callback_user = user;
    return SEQNET_OK;
}

/* ---- data checks and batching ---- */

static int check_data(seqnet_trainer *t, const seqnet_data *d, int need_targets)
{
    const seqnet_model *m = t->model;
    int32_t k;
    if (d->generator != NULL)
        return SEQNET_OK; /* each generated batch is checked when fed */
    if (d->n_samples < 1)
        return sn_error(&t->obj, SEQNET_EEMPTY, "the data set is empty");
    for (k = 0; k < m->n_inputs; k++) {
        const sn_shape *s = &m->layers[m->inputs[k]].out_shape;
        const sn_data_array *a = &d->inputs[k];
        if (!a->set)
            return sn_error(&t->obj, SEQNET_ESHAPE, "no data for input %d ('%s')", (int)k,
                            m->layers[m->inputs[k]].name);
        if ((a->ids != NULL) != (s->is_tokens != 0))
            return sn_error(&t->obj, SEQNET_ESHAPE, "input %d ('%s') takes %s", (int)k,
                            m->layers[m->inputs[k]].name, s->is_tokens ? "token ids" : "floats");
        if ((s->time == SN_TIME_VECTOR) != (a->time == 0) ||
            (s->time > 0 && s->time != a->time) || (!s->is_tokens && s->features != a->features))
            return sn_error(&t->obj, SEQNET_ESHAPE, "data for input %d ('%s') has shape "
                            "(%d, %d), the model wants (%d, %d)", (int)k,
                            m->layers[m->inputs[k]].name, (int)a->time, (int)a->features,
                            (int)s->time, (int)s->features);
    }
    if (need_targets)
        for (k = 0; k < m->n_outputs; k++) {
            const sn_shape *s = &m->layers[m->outputs[k]].out_shape;
            const sn_data_array *a = &d->targets[k];
            if (t->loss[k] == 0)
                continue;
            if (!a->set)
                return sn_error(&t->obj, SEQNET_ESHAPE, "no targets for output %d", (int)k);
            if ((s->time == SN_TIME_VECTOR) != (a->time == 0) ||
                a->features != sn_loss_target_width(t->loss[k], s->features))
                return sn_error(&t->obj, SEQNET_ESHAPE,
                                "targets for output %d ('%s') have shape (%d, %d); the model "
                                "output is (%d, %d) and %s wants width %d",
                                (int)k, m->layers[m->outputs[k]].name, (int)a->time,
                                (int)a->features, (int)s->time, (int)s->features,
                                sn_loss_name(t->loss[k]),
                                (int)sn_loss_target_width(t->loss[k], s->features));
        }
    return SEQNET_OK;
}

static size_t row_elems(const sn_data_array *a)
{
    return (size_t)(a->time > 0 ? a->time : 1) * (size_t)a->features;
}

static int stage_rows(seqnet_trainer *t, stage_buf *sb, const sn_data_array *a,
                      const int64_t *rows, int32_t n, const void **out)
{
    size_t elems = row_elems(a), esize = a->ids != NULL ? sizeof(int32_t) : sizeof(float);
    size_t bytes = elems * esize * (size_t)n;
    const unsigned char *src = a->ids != NULL ? (const void *)a->ids : (const void *)a->x;
    int32_t i;
    if (sb->cap < bytes) {
        void *p = sn_malloc(&t->obj.alloc, bytes);
        if (p == NULL)
            return sn_error(&t->obj, SEQNET_ENOMEM, "out of memory staging a batch");
        sn_free(&t->obj.alloc, sb->p);
        sb->p = p;
        sb->cap = bytes;
    }
    for (i = 0; i < n; i++)
        memcpy((unsigned char *)sb->p + (size_t)i * elems * esize,
               src + (size_t)rows[i] * elems * esize, elems * esize);
    *out = sb->p;
    return SEQNET_OK;
}

/* Build a batch of rows: either rows[0..n) (gathered) or, when rows is NULL,
 * the contiguous rows start..start+n (pointed at, no copy). */
static int make_batch(seqnet_trainer *t, const seqnet_data *d, const int64_t *rows, int64_t start,
                      int32_t n, int with_targets, batch_view *bv)
{
    const seqnet_model *m = t->model;
    int32_t k;
    int st;
    const void *p;
    memset(bv, 0, sizeof *bv);
    bv->n = n;
    for (k = 0; k < m->n_inputs; k++) {
        const sn_data_array *a = &d->inputs[k];
        if (rows == NULL) {
            if (a->ids != NULL)
                bv->ids[k] = a->ids + (size_t)start * row_elems(a);
            else
                bv->x[k] = a->x + (size_t)start * row_elems(a);
            continue;
        }
        if ((st = stage_rows(t, &t->stage_in[k], a, rows, n, &p)) != SEQNET_OK)
            return st;
        if (a->ids != NULL)
            bv->ids[k] = p;
        else
            bv->x[k] = p;
    }
    for (k = 0; with_targets && k < m->n_outputs; k++) {
        const sn_data_array *a = &d->targets[k];
        if (t->loss[k] == 0 && !a->set)
            continue;
        if (rows == NULL) {
            bv->y[k] = a->x + (size_t)start * row_elems(a);
            continue;
        }
        if ((st = stage_rows(t, &t->stage_out[k], a, rows, n, &p)) != SEQNET_OK)
            return st;
        bv->y[k] = p;
    }
    if (d->weights != NULL) {
        if (rows == NULL) {
            bv->w = d->weights + start;
        } else {
            sn_data_array wa;
            memset(&wa, 0, sizeof wa);
            wa.x = d->weights;
            wa.features = 1;
            if ((st = stage_rows(t, &t->stage_w, &wa, rows, n, &p)) != SEQNET_OK)
                return st;
            bv->w = p;
        }
    }
    return SEQNET_OK;
}

/* Feed a batch to a session; errors are left on the session. */
static int feed_session(const seqnet_model *m, seqnet_session *s, const seqnet_data *d,
                        const batch_view *bv)
{
    int32_t k;
    int st;
    for (k = 0; k < m->n_inputs; k++) {
        const sn_data_array *a = &d->inputs[k];
        if (a->ids != NULL)
            st = seqnet_session_set_input_tokens(s, k, bv->ids[k], bv->n, a->time);
        else
            st = seqnet_session_set_input_floats(s, k, bv->x[k], bv->n, a->time, a->features);
        if (st != SEQNET_OK)
            return st;
    }
    return SEQNET_OK;
}

static int feed_batch(seqnet_trainer *t, const seqnet_data *d, const batch_view *bv)
{
    int st = feed_session(t->model, t->session, d, bv);
    return st == SEQNET_OK ? st : sn_copy_error(&t->obj, &t->session->obj, st);
}

/* Rows [off, off + n) of a batch, as a batch of their own. */
static void slice_view(const seqnet_model *m, const seqnet_data *d, const batch_view *bv,
                       int32_t off, int32_t n, batch_view *out)
{
    int32_t k;
    *out = *bv;
    out->n = n;
    for (k = 0; k < m->n_inputs; k++) {
        size_t e = row_elems(&d->inputs[k]) * (size_t)off;
        if (bv->ids[k] != NULL)
            out->ids[k] = bv->ids[k] + e;
        if (bv->x[k] != NULL)
            out->x[k] = bv->x[k] + e;
    }
    for (k = 0; k < m->n_outputs; k++)
        if (bv->y[k] != NULL)
            out->y[k] = bv->y[k] + row_elems(&d->targets[k]) * (size_t)off;
    if (bv->w != NULL)
        out->w = bv->w + off;
}

/* ---- one step ---- */

/* Loss (and gradients when training) of the last forward pass. */
static int losses_and_metrics(const seqnet_trainer *t, seqnet_session *s, sn_object *err,
                              const seqnet_data *d, const batch_view *bv, int training,
                              double *total, running *run, double *counted)
{
    const seqnet_model *m = t->model;
    int32_t k, i;
    int st;
    *total = 0.0;
    *counted = 0.0;
    for (k = 0; k < m->n_outputs; k++) {
        int32_t node = m->outputs[k];
        const sn_tensor *out = &s->nodes[node].t;
        double value, n_counted = 0.0;
        float *grad = NULL;
        if (t->loss[k] == 0)
            continue;
        if (d->targets[k].time != 0 && d->targets[k].time != out->time)
            return sn_error(err, SEQNET_ESHAPE,
                            "targets for output %d have %d steps, the output has %d", (int)k,
                            (int)d->targets[k].time, (int)out->time);
        if (training) {
            grad = sn_session_grad_buffer(s, node, sn_tensor_size(out));
            if (grad == NULL)
                return sn_error(err, SEQNET_ENOMEM, "out of memory for output gradients");
        }
        st = sn_loss_compute(t->loss[k], t->reduction, out->x, bv->y[k], out->batch, out->time,
                             out->features, out->mask, bv->w, &value, grad, &n_counted, err);
        if (st != SEQNET_OK)
            return st;
        if (training)
            s->nodes[node].grad_written = 1;
        *total += value;
        *counted += n_counted;
    }
    run->loss_sum += *total * bv->n;
    run->samples += bv->n;
    for (i = 0; i < t->n_metrics; i++) {
        const metric_slot *ms = &t->metrics[i];
        const sn_tensor *out = &s->nodes[m->outputs[ms->output]].t;
        if (bv->y[ms->output] == NULL)
            return sn_error(err, SEQNET_ESHAPE, "no targets for metric on output %d",
                            (int)ms->output);
        st = sn_metric_accumulate(ms->metric, out->x, bv->y[ms->output], out->batch, out->time,
                                  out->features, out->mask, bv->w, &run->metric_sum[i],
                                  &run->metric_count[i], err);
        if (st != SEQNET_OK)
            return st;
    }
    return SEQNET_OK;
}

/* Every row of every row-sparse weight brought to the current optimizer
 * step: called before anything outside a training step reads the weights
 * (end of an epoch, of fit, of train_batch), so the model is always exact
 * between public calls. */
static void catch_up_range(seqnet_trainer *t, const sn_param *P, int32_t l, int64_t lo, int64_t hi)
{
    int64_t width = P->dims[P->rank - 1];
    sn_optim_catch_up(&t->optim, t->model->params, P->offset + lo * width, (int32_t)width,
                      hi - lo, t->row_step[l] + lo);
}

/* One thread's share of a catch-up: its range of the table's rows. */
static void catch_up_job(void *arg, int worker)
{
    seqnet_trainer *t = arg;
    int64_t n_rows = t->job_param->dims[0];
    if (worker >= t->threads)
        return;
    catch_up_range(t, t->job_param, t->job_layer, n_rows * worker / t->threads,
                   n_rows * (worker + 1) / t->threads);
}

static void catch_up_all(seqnet_trainer *t)
{
    const seqnet_model *m = t->model;
    int32_t l, p;
    for (l = 0; l < m->n_layers; l++) {
        if (t->row_step[l] == NULL)
            continue;
        for (p = 0; p < m->layers[l].n_params; p++) {
            const sn_param *P = &m->layers[l].params[p];
            if (!P->sparse_rows || !P->trainable)
                continue;
            if (t->pool != NULL && t->threads > 1 && P->dims[0] >= SN_ROWS_FOR_THREADS) {
                /* rows are independent: bit-identical however divided */
                t->job_param = P;
                t->job_layer = l;
                sn_pool_run(t->pool, catch_up_job, t);
            } else {
                catch_up_range(t, P, l, 0, P->dims[0]);
            }
        }
    }
}

/* After the optimizer restarts from step 0 (or a restored step), every row
 * is current at that step. */
static void reset_row_steps(seqnet_trainer *t)
{
    const seqnet_model *m = t->model;
    int32_t l, p;
    int64_t r;
    for (l = 0; l < m->n_layers; l++) {
        if (t->row_step[l] == NULL)
            continue;
        for (p = 0; p < m->layers[l].n_params; p++)
            if (m->layers[l].params[p].sparse_rows)
                for (r = 0; r < m->layers[l].params[p].dims[0]; r++)
                    t->row_step[l][r] = t->optim.iterations;
    }
}

static void clear_flags(const seqnet_model *m, uint8_t **row_flags, int32_t **touched,
                        int32_t *n_touched)
{
    int32_t l, i;
    for (l = 0; l < m->n_layers; l++) {
        if (row_flags[l] == NULL)
            continue;
        for (i = 0; i < n_touched[l]; i++)
            row_flags[l][touched[l][i]] = 0;
        n_touched[l] = 0;
    }
}

/* One thread's share of clearing a layer's flags: a part of its list. */
static void clear_job(void *arg, int worker)
{
    seqnet_trainer *t = arg;
    int32_t l = t->job_layer, n = t->n_touched[l], i;
    int32_t lo = (int32_t)((int64_t)n * worker / t->threads);
    int32_t hi = (int32_t)((int64_t)n * (worker + 1) / t->threads);
    if (worker >= t->threads)
        return;
    for (i = lo; i < hi; i++)
        t->row_flags[l][t->touched[l][i]] = 0;
}

static void clear_sparse_flags(seqnet_trainer *t)
{
    int32_t k, l;
    if (t->pool != NULL && t->threads > 1)
        for (l = 0; l < t->model->n_layers; l++)
            if (t->row_flags[l] != NULL && t->n_touched[l] >= SN_ROWS_FOR_THREADS) {
                t->job_layer = l;
                sn_pool_run(t->pool, clear_job, t);
                t->n_touched[l] = 0;
            }
    clear_flags(t->model, t->row_flags, t->touched, t->n_touched);
    for (k = 1; k < t->n_shards; k++)
        if (t->shards[k].row_flags != NULL)
            clear_flags(t->model, t->shards[k].row_flags, t->shards[k].touched,
                        t->shards[k].n_touched);
}

/* Put a layer's touched rows in ascending order. The optimizer then walks
 * the weights, both moments, the gradient and row_step from low addresses
 * to high instead of in the batch's token order: a uniform batch of the
 * pooled-embedding model touches 40% of the table, so the walk becomes
 * almost a stream the hardware prefetcher follows, where first-seen order
 * meant a cache and TLB miss in each of five arrays per row. Rows are
 * independent, so the results do not change. A list short against the
 * table is left alone: scanning the flags would cost more than it saves. */
static void sort_touched(seqnet_trainer *t, int32_t l, int64_t n_rows)
{
    const uint8_t *flags = t->row_flags[l];
    int32_t *rows = t->touched[l], n = 0;
    int64_t r;
    int32_t i;
    if (flags == NULL || (int64_t)t->n_touched[l] * 64 < n_rows)
        return;
    for (i = 1; i < t->n_touched[l] && rows[i - 1] < rows[i]; i++)
        ;
    if (i >= t->n_touched[l])
        return; /* listed in order already (the fused backward on threads) */
    for (r = 0; r < n_rows; r++) { /* branch-free: 40% of flags set at random */
        rows[n] = (int32_t)r;
        n += flags[r] != 0;
    }
    t->n_touched[l] = n; /* the same set: each row was listed once */
}

/* Whether the values a dense optimizer step just wrote, weights and
 * optimizer state, are finite (the row-sparse update checks its rows as it
 * writes them). A gradient of 1e21 is finite, but its square overflows
 * Adam's second moment, which would then freeze the weight silently. */
static int updated_finite(const seqnet_trainer *t, const sn_param *P)
{
    return sn_all_finite(t->model->params + P->offset, (size_t)P->count) &&
           sn_optim_state_finite(&t->optim, P->offset, P->count);
}

/* Undo the dense part of the optimizer step up to and including layer
 * last_l's weight last_p, from the undo log (in the order it was written). */
static void rollback(seqnet_trainer *t, int32_t last_l, int32_t last_p)
{
    seqnet_model *m = t->model;
    int32_t l, p;
    t->undo.pos_vals = 0;
    for (l = 0; l <= last_l; l++) {
        const sn_layer *L = &m->layers[l];
        if (!t->has_grads[l])
            continue;
        for (p = 0; p < L->n_params && (l < last_l || p <= last_p); p++) {
            const sn_param *P = &L->params[p];
            if (P->trainable && !P->sparse_rows)
                sn_optim_restore_range(&t->optim, m->params, P->offset, P->count, &t->undo);
        }
    }
    t->optim.iterations--; /* the next step gets this step's number again */
}

/* Clip, check for non-finite gradients, update. */
/* One worker's share of a row-sparse update: a contiguous part of the
 * touched list. Rows are independent, so the result is the one thread's,
 * bit for bit, whatever the split. */
static void rows_job(void *arg, int worker)
{
    seqnet_trainer *t = arg;
    const sn_param *P = t->job_param;
    int32_t l = t->job_layer, n = t->n_touched[l];
    int32_t lo = (int32_t)((int64_t)n * worker / t->threads);
    int32_t hi = (int32_t)((int64_t)n * (worker + 1) / t->threads);
    if (worker >= t->threads)
        return;
    t->job_finite[worker] = 1;
    if (hi <= lo)
        return;
    t->job_finite[worker] = sn_optim_update_rows(&t->optim, t->model->params, t->grads, P->offset,
                                                 (int32_t)P->dims[P->rank - 1], t->touched[l] + lo,
                                                 hi - lo, t->row_step[l]);
}

/* A row-sparse weight's update, on the trainer's threads when it has them
 * and the step touched enough rows to pay for waking them. */
static int update_sparse(seqnet_trainer *t, int32_t l, const sn_param *P)
{
    int32_t w;
    int finite = 1;
    if (t->pool == NULL || t->threads < 2 || t->n_touched[l] < SN_ROWS_FOR_THREADS)
        return sn_optim_update_rows(&t->optim, t->model->params, t->grads, P->offset,
                                    (int32_t)P->dims[P->rank - 1], t->touched[l], t->n_touched[l],
                                    t->row_step[l]);
    t->job_param = P;
    t->job_layer = l;
    sn_pool_run(t->pool, rows_job, t);
    for (w = 0; w < t->threads; w++)
        finite = finite && t->job_finite[w];
    return finite;
}

static int apply_gradients(seqnet_trainer *t)
{
    seqnet_model *m = t->model;
    double global = 0.0;
    int32_t l, p;
    int st, pass;

    if ((st = sn_optim_prepare(&t->optim, m->n_params)) != SEQNET_OK)
        return sn_error(&t->obj, st, "out of memory for optimizer state");
    for (l = 0; l < m->n_layers; l++) {
        const sn_layer *L = &m->layers[l];
        t->has_grads[l] = L->ops != NULL && L->trainable && t->session->nodes[l].grad_written;
        if (!t->has_grads[l])
            continue;
        for (p = 0; p < L->n_params; p++) {
            const sn_param *P = &L->params[p];
            const uint8_t *flags = P->sparse_rows ? t->row_flags[l] : NULL;
            int32_t width = (int32_t)P->dims[P->rank - 1];
            double ss;
            if (!P->trainable)
                continue;
            if (P->sparse_rows) {
                sort_touched(t, l, P->dims[0]);
                /* Without a norm to clip to, only finiteness matters, and
                 * the layer may have proved it while it summed the rows. */
                if (t->clipnorm <= 0 && t->global_clipnorm <= 0) {
                    if (t->rows_finite[l] || sn_grad_rows_finite(t->grads + P->offset, width, t->touched[l],
                                            t->n_touched[l]))
                        continue;
                    return sn_error(&t->obj, SEQNET_ENONFINITE,
                                    "the gradient of layer '%s' weight '%s' is NaN or "
                                    "infinite; weights were not updated",
                                    L->name, P->name);
                }
            }
            ss = sn_grad_sumsq(t->grads + P->offset, P->count, flags, width);
            if (!isfinite(ss))
                return sn_error(&t->obj, SEQNET_ENONFINITE,
                                "the gradient of layer '%s' weight '%s' is NaN or infinite; "
                                "weights were not updated",
                                L->name, P->name);
            if (t->clipnorm > 0 && ss > t->clipnorm * t->clipnorm)
                sn_grad_scale(t->grads + P->offset, P->count, flags, width,
                              (float)(t->clipnorm / sqrt(ss)));
            global += ss;
        }
    }
    for (l = 0; l < m->n_layers; l++) {
        const sn_layer *L = &m->layers[l];
        if (!t->has_grads[l])
            continue;
        for (p = 0; p < L->n_params; p++) {
            const sn_param *P = &L->params[p];
            const uint8_t *flags = P->sparse_rows ? t->row_flags[l] : NULL;
            int32_t width = (int32_t)P->dims[P->rank - 1];
            if (!P->trainable)
                continue;
            /* Keras 3 applies one clipping rule: clipnorm, else
             * global_clipnorm, else clipvalue. */
            if (t->clipnorm > 0)
                continue;
            if (t->global_clipnorm > 0) {
                if (global > t->global_clipnorm * t->global_clipnorm)
                    sn_grad_scale(t->grads + P->offset, P->count, flags, width,
                                  (float)(t->global_clipnorm / sqrt(global)));
            } else if (t->clipvalue > 0) {
                sn_grad_clip_value(t->grads + P->offset, P->count, flags, width,
                                   (float)t->clipvalue);
            }
        }
    }
    /* Size the undo log before anything is written. A dense weight whose
     * update wrote a non-finite value (weight or optimizer state) is rolled
     * back with every dense weight updated before it. Row-sparse weights
     * (embeddings) are updated last and only checked: see sn_undo. */
    {
        size_t n_vals = 0;
        for (l = 0; l < m->n_layers; l++) {
            const sn_layer *L = &m->layers[l];
            if (!t->has_grads[l])
                continue;
            for (p = 0; p < L->n_params; p++)
                if (L->params[p].trainable && !L->params[p].sparse_rows)
                    n_vals += sn_optim_undo_floats(&t->optim, L->params[p].count);
        }
        if ((st = sn_undo_reserve(&t->undo, &t->obj.alloc, n_vals)) != SEQNET_OK)
            return sn_error(&t->obj, st, "out of memory for the optimizer step");
    }
    sn_optim_begin_step(&t->optim);
    /* pass 0: dense weights (logged); pass 1: row-sparse weights */
    for (pass = 0; pass < 2; pass++)
        for (l = 0; l < m->n_layers; l++) {
            const sn_layer *L = &m->layers[l];
            if (!t->has_grads[l])
                continue;
            for (p = 0; p < L->n_params; p++) {
                const sn_param *P = &L->params[p];
                int finite;
                if (!P->trainable || P->sparse_rows != (pass == 1))
                    continue;
                if (P->sparse_rows) {
                    finite = update_sparse(t, l, P);
                } else {
                    sn_optim_save_range(&t->optim, m->params, P->offset, P->count, &t->undo);
                    sn_optim_update(&t->optim, m->params, t->grads, P->offset, P->count, NULL,
                                    0);
                    finite = updated_finite(t, P);
                }
                if (finite)
                    continue;
                if (!P->sparse_rows) {
                    rollback(t, l, p);
                    return sn_error(&t->obj, SEQNET_ENONFINITE,
                                    "the optimizer step overflowed layer '%s' weight '%s' (finite "
                                    "gradient, non-finite result: is the learning rate too "
                                    "large?); the step was undone: the weights are those before it",
                                    L->name, P->name);
                }
                return sn_error(&t->obj, SEQNET_ENONFINITE,
                                "the optimizer step overflowed layer '%s' weight '%s' (finite "
                                "gradient, non-finite result: is the learning rate too large?); "
                                "rows of this embedding that the step touched hold non-finite "
                                "values: the model's weights are no longer usable",
                                L->name, P->name);
            }
        }
    return SEQNET_OK;
}

/* ---- steps split over threads ---- */

/* Forward, loss and backward of one slice (or of the whole batch), into
 * the slice's session, gradients and row bookkeeping. Errors are left on
 * the slice's session. Runs on a worker thread: it reads the model and the
 * trainer's settings and writes only what the slice owns. */
static int shard_step(const seqnet_trainer *t, sn_shard *sh, const seqnet_data *d,
                      running *run)
{
    seqnet_session *s = sh->session;
    int st;
    if ((st = feed_session(t->model, s, d, &sh->bv)) != SEQNET_OK)
        return st;
    if ((st = sn_session_forward(s, 1, t->step)) != SEQNET_OK)
        return st;
    sn_session_clear_grads(s);
    st = losses_and_metrics(t, s, &s->obj, d, &sh->bv, 1, &sh->loss, run, &sh->counted);
    if (st != SEQNET_OK)
        return st;
    memset(sh->rows_finite, 0, (size_t)t->model->n_layers);
    return sn_session_backward(s, sh->grads, sh->row_flags, sh->touched, sh->n_touched,
                               sh->rows_finite, NULL);
}

/* Forward and loss of one slice for evaluation (inference mode, no
 * gradient), into the slice's session; errors are left on the session. */
static int shard_eval(const seqnet_trainer *t, sn_shard *sh, const seqnet_data *d, running *run)
{
    seqnet_session *s = sh->session;
    int st;
    if ((st = feed_session(t->model, s, d, &sh->bv)) != SEQNET_OK)
        return st;
    if ((st = sn_session_forward(s, 0, 0)) != SEQNET_OK)
        return st;
    return losses_and_metrics(t, s, &s->obj, d, &sh->bv, 0, &sh->loss, run, &sh->counted);
}

static void shard_job(void *arg, int worker)
{
    seqnet_trainer *t = arg;
    sn_shard *sh;
    if (worker >= t->job_shards)
        return;
    sh = &t->shards[worker];
    sh->status = t->job_eval ? shard_eval(t, sh, t->job_data, &sh->run)
                             : shard_step(t, sh, t->job_data, &sh->run);
}

/* Whether a step may be split into slices of rows without changing what
 * it computes (see SEQNET_TRAIN_THREADS). */
static int splittable(const seqnet_trainer *t)
{
    const seqnet_model *m = t->model;
    int32_t k, l, losses = 0;
    for (k = 0; k < m->n_outputs; k++)
        losses += t->loss[k] != 0;
    if (losses > 1 && t->reduction == SEQNET_REDUCTION_MEAN)
        return 0; /* each output's slices would need their own weights */
    if (t->session->carry)
        return 0;
    for (l = 0; l < m->n_layers; l++) {
        const sn_layer *L = &m->layers[l];
        int64_t v = 0;
        if (L->ops == NULL)
            continue;
        if (L->ops->after_step != NULL) /* BatchNormalization: batch statistics */
            return 0;
        if (L->ops->state_size != NULL && sn_opts_int(&L->opts, SEQNET_OPT_STATEFUL, &v) == 1 &&
            v != 0)
            return 0;
    }
    return 1;
}

/* Whether the trainer's threads should share the work inside each step of
 * d's batches instead of splitting them: when the model's sequence work is
 * all in fused embedding-pools (Embedding -> GlobalAveragePooling1D) and
 * outweighs the rest. Those run on the threads by samples (forward) and by
 * table rows (backward), and the row update by rows as always: no slice's
 * gradient to merge, and the result is one thread's, bit for bit. The
 * weights: per sample, steps x output_dim per fused pair (the steps of d's
 * batches for an input of variable length) against the other layers'
 * weights (about their multiply-adds on a vector). */
static int rows_parallel(const seqnet_trainer *t, const seqnet_data *d)
{
    const seqnet_model *m = t->model;
    const seqnet_session *s = t->session;
    int64_t fused = 0, rest = 0;
    int32_t l, p, k;
    if (t->threads <= 1)
        return 0;
    for (l = 0; l < m->n_layers; l++) {
        const sn_layer *L = &m->layers[l];
        if (L->ops == NULL || s->skipped[l])
            continue;
        if (L->out_shape.time != SN_TIME_VECTOR)
            return 0; /* sequence work outside the fused pairs */
        if (s->fused_from[l] >= 0) {
            const sn_layer *emb = &m->layers[s->fused_from[l]];
            int64_t steps = m->layers[emb->inputs[0]].out_shape.time;
            for (k = 0; steps < 1 && k < m->n_inputs && k < SN_DATA_MAX_IO; k++)
                if (m->inputs[k] == emb->inputs[0] && d != NULL && d->inputs[k].set)
                    steps = d->inputs[k].time;
            fused += (steps > 0 ? steps : 1) * emb->out_shape.features;
            continue;
        }
        for (p = 0; p < L->n_params; p++)
            rest += L->params[p].count;
    }
    return fused > 0 && fused >= rest;
}

/* Before a step or an evaluation of d's batches: the pool, made if need be,
 * and lent to the trainer's session when the steps share their work rather
 * than split the batch (*shared, rows_parallel). */
static int ensure_pool(seqnet_trainer *t, const seqnet_data *d, int *shared)
{
    int st;
    *shared = 0;
    if (t->threads <= 1)
        return SEQNET_OK;
    if (t->pool == NULL && (st = sn_pool_new(&t->obj.alloc, t->threads, &t->pool)) != SEQNET_OK)
        return sn_error(&t->obj, st, "could not start %d training threads", (int)t->threads - 1);
    *shared = rows_parallel(t, d);
    sn_session_set_pool(t->session, *shared ? t->pool : NULL, t->threads);
    return SEQNET_OK;
}

static int32_t step_shards(const seqnet_trainer *t, int32_t n, int shared)
{
    if (t->threads <= 1 || n < 2 || shared || !splittable(t))
        return 1;
    return n < t->threads ? n : t->threads;
}

/* Slices 0 .. count-1 ready (slice 0 is the trainer's own), and the pool. */
static int make_shards(seqnet_trainer *t, int32_t count)
{
    const seqnet_model *m = t->model;
    const sn_alloc *a = &t->obj.alloc;
    int32_t l, p;
    int st;
    if (t->shards == NULL) {
        sn_shard *s0;
        t->shards = sn_calloc(a, (size_t)t->threads, sizeof *t->shards);
        if (t->shards == NULL)
            return sn_error(&t->obj, SEQNET_ENOMEM, "out of memory for the training threads");
        s0 = &t->shards[0];
        s0->session = t->session;
        s0->grads = t->grads;
        s0->row_flags = t->row_flags;
        s0->touched = t->touched;
        s0->n_touched = t->n_touched;
        s0->rows_finite = t->rows_finite;
        t->n_shards = 1;
    }
    while (t->n_shards < count) {
        sn_shard *sh = &t->shards[t->n_shards];
        uint64_t stream = (uint64_t)t->n_shards;
        t->n_shards++; /* counted now: free_shards frees what is half made */
        if ((st = seqnet_session_new(t->model, &sh->session)) != SEQNET_OK)
            return sn_error(&t->obj, st, "out of memory for the training threads");
        sh->session->stream = stream;
        sh->grads = sn_calloc(a, (size_t)(m->n_params > 0 ? m->n_params : 1), sizeof(float));
        sh->row_flags = sn_calloc(a, (size_t)m->n_layers, sizeof *sh->row_flags);
        sh->touched = sn_calloc(a, (size_t)m->n_layers, sizeof *sh->touched);
        sh->n_touched = sn_calloc(a, (size_t)m->n_layers, sizeof *sh->n_touched);
        sh->rows_finite = sn_calloc(a, (size_t)m->n_layers, 1);
        if (sh->grads == NULL || sh->row_flags == NULL || sh->touched == NULL ||
            sh->n_touched == NULL || sh->rows_finite == NULL)
            return sn_error(&t->obj, SEQNET_ENOMEM, "out of memory for the training threads");
        for (l = 0; l < m->n_layers; l++)
            for (p = 0; p < m->layers[l].n_params; p++) {
                const sn_param *P = &m->layers[l].params[p];
                if (!P->sparse_rows)
                    continue;
                sh->row_flags[l] = sn_calloc(a, (size_t)P->dims[0], 1);
                sh->touched[l] = sn_calloc(a, (size_t)P->dims[0], sizeof(int32_t));
                if (sh->row_flags[l] == NULL || sh->touched[l] == NULL)
                    return sn_error(&t->obj, SEQNET_ENOMEM,
                                    "out of memory for the training threads");
            }
    }
    if (t->fresh == NULL) {
        if ((t->fresh = sn_calloc(a, (size_t)m->n_layers, sizeof *t->fresh)) == NULL)
            return sn_error(&t->obj, SEQNET_ENOMEM, "out of memory for the training threads");
        for (l = 0; l < m->n_layers; l++)
            for (p = 0; p < m->layers[l].n_params; p++) {
                const sn_param *P = &m->layers[l].params[p];
                if (P->sparse_rows &&
                    (t->fresh[l] = sn_malloc(a, (size_t)P->dims[0] * sizeof(int32_t))) == NULL)
                    return sn_error(&t->obj, SEQNET_ENOMEM, "out of memory for the training threads");
            }
    }
    if (t->pool == NULL && (st = sn_pool_new(a, t->threads, &t->pool)) != SEQNET_OK)
        return sn_error(&t->obj, st, "could not start %d training threads", (int)t->threads - 1);
    return SEQNET_OK;
}

/* make_shards, or on failure nothing half made: the next step starts over. */
static int ensure_shards(seqnet_trainer *t, int32_t count)
{
    int st;
    if (t->n_shards >= count && t->pool != NULL)
        return SEQNET_OK;
    if ((st = make_shards(t, count)) != SEQNET_OK)
        free_shards(t);
    return st;
}

/* The row-sparse merge of the rows in [lo, hi) of the table, from every
 * slice's list: slice 0's rows scaled by c[0], the others' added (or
 * copied, where slice 0 did not touch the row) and flagged in slice 0;
 * rows new to slice 0 are written to fresh, and their count returned. The
 * slices' flags of these rows are cleared. Several calls on disjoint
 * ranges may run at once: each writes only its rows and flags. */
static int32_t merge_rows(seqnet_trainer *t, const sn_param *P, int32_t l, int32_t count, const float *c,
                          int32_t lo, int32_t hi, int32_t *fresh)
{
    size_t width = (size_t)P->dims[P->rank - 1], j;
    float *g0 = t->grads + P->offset;
    uint8_t *flags0 = t->row_flags[l];
    int32_t k, i, n_new = 0;
    if (c[0] != 1.0f)
        for (i = 0; i < t->n_touched[l]; i++) {
            int32_t r = t->touched[l][i];
            float *row = g0 + (size_t)r * width;
            if (r < lo || r >= hi)
                continue;
            for (j = 0; j < width; j++)
                row[j] *= c[0];
        }
    for (k = 1; k < count; k++) {
        sn_shard *sh = &t->shards[k];
        const float ck = c[k];
        for (i = 0; i < sh->n_touched[l]; i++) {
            int32_t r = sh->touched[l][i];
            const float *src = sh->grads + P->offset + (size_t)r * width;
            float *dst = g0 + (size_t)r * width;
            if (r < lo || r >= hi)
                continue;
            if (flags0[r]) {
                for (j = 0; j < width; j++)
                    dst[j] += ck * src[j];
            } else {
                for (j = 0; j < width; j++)
                    dst[j] = ck * src[j];
                flags0[r] = 1;
                fresh[n_new++] = r;
            }
            sh->row_flags[l][r] = 0;
        }
    }
    return n_new;
}

/* One thread's part of a row-sparse merge: its range of the table; its
 * new rows go to fresh[l] from the range's start. */
static void merge_job(void *arg, int worker)
{
    seqnet_trainer *t = arg;
    const sn_param *P = t->job_param;
    int64_t n_rows = P->dims[0];
    int32_t lo, hi;
    if (worker >= t->threads)
        return;
    lo = (int32_t)(n_rows * worker / t->threads);
    hi = (int32_t)(n_rows * (worker + 1) / t->threads);
    t->job_fresh[worker] = merge_rows(t, P, t->job_layer, t->job_count, t->job_c, lo, hi,
                                      t->fresh[t->job_layer] + lo);
}

/* The slices' gradients into slice 0's (the trainer's), each weighted by
 * c[k], its share of the loss's denominator. Dense gradients: one pass
 * per slice. Row-sparse ones: slice 0's rows scaled, the others' rows
 * added (or copied, where slice 0 did not touch the row) and listed. */
static void merge_grads(seqnet_trainer *t, int32_t count, const float *c)
{
    const seqnet_model *m = t->model;
    int32_t l, p, k;
    for (l = 0; l < m->n_layers; l++) {
        const sn_layer *L = &m->layers[l];
        if (L->ops == NULL || !L->trainable || !t->session->nodes[l].grad_written)
            continue;
        for (p = 0; p < L->n_params; p++) {
            const sn_param *P = &L->params[p];
            size_t j;
            float *g0 = t->grads + P->offset;
            if (!P->trainable)
                continue;
            if (!P->sparse_rows) {
                size_t n = (size_t)P->count;
                if (c[0] != 1.0f)
                    for (j = 0; j < n; j++)
                        g0[j] *= c[0];
                for (k = 1; k < count; k++) {
                    const float *gk = t->shards[k].grads + P->offset;
                    const float ck = c[k];
                    for (j = 0; j < n; j++)
                        g0[j] += ck * gk[j];
                }
                continue;
            }
            if (t->pool != NULL && t->fresh != NULL && t->threads > 1 &&
                t->n_touched[l] + t->shards[1].n_touched[l] >= SN_ROWS_FOR_THREADS) {
                /* on the threads, each its range of rows */
                int32_t w;
                t->job_param = P;
                t->job_layer = l;
                t->job_count = count;
                t->job_c = c;
                sn_pool_run(t->pool, merge_job, t);
                for (w = 0; w < t->threads; w++) {
                    int32_t lo = (int32_t)(P->dims[0] * w / t->threads);
                    memcpy(t->touched[l] + t->n_touched[l], t->fresh[l] + lo,
                           (size_t)t->job_fresh[w] * sizeof(int32_t));
                    t->n_touched[l] += t->job_fresh[w];
                }
            } else {
                t->n_touched[l] += merge_rows(t, P, l, count, c, 0, (int32_t)P->dims[0],
                                              t->touched[l] + t->n_touched[l]);
            }
            for (k = 1; k < count; k++) {
                t->shards[k].n_touched[l] = 0;
                /* Weights in [0, 1] that sum to 1 keep each slice's
                 * bound (SN_ROWS_FINITE_BOUND) a bound of the sum. */
                t->rows_finite[l] = (uint8_t)(t->rows_finite[l] && t->shards[k].rows_finite[l]);
            }
        }
    }
}

/* Run a batch split into count slices on the pool, one per thread:
 * forward, loss and backward (eval = 0; the gradients are then merged into
 * the trainer's), or forward and loss only (eval = 1). The batch's loss and
 * metrics go to run, as the whole batch on one thread would put them. */
static int parallel_batch(seqnet_trainer *t, const seqnet_data *d, const batch_view *bv, int32_t count,
                          int eval, running *run, double *loss)
{
    float c[SN_MAX_THREADS];
    double total = 0.0, value = 0.0;
    int32_t k, start = 0, i;
    int st;
    if ((st = ensure_shards(t, count)) != SEQNET_OK)
        return st;
    for (k = 0; k < count; k++) {
        int32_t end = (int32_t)((int64_t)bv->n * (k + 1) / count);
        slice_view(t->model, d, bv, start, end - start, &t->shards[k].bv);
        memset(&t->shards[k].run, 0, sizeof t->shards[k].run);
        start = end;
    }
    t->job_data = d;
    t->job_shards = count;
    t->job_eval = eval;
    sn_pool_run(t->pool, shard_job, t);
    for (k = 0; k < count; k++)
        if (t->shards[k].status != SEQNET_OK)
            return sn_copy_error(&t->obj, &t->shards[k].session->obj, t->shards[k].status);
    /* Each slice reduced its loss over its own rows (MEAN: its counted
     * elements; SUM_OVER_STEPS: its samples); the batch's loss weighs the
     * slices by their share of the batch's denominator. */
    for (k = 0; k < count; k++) {
        const sn_shard *sh = &t->shards[k];
        total += t->reduction == SEQNET_REDUCTION_MEAN ? sh->counted : (double)sh->bv.n;
    }
    for (k = 0; k < count; k++) {
        const sn_shard *sh = &t->shards[k];
        double w = t->reduction == SEQNET_REDUCTION_MEAN ? sh->counted : (double)sh->bv.n;
        double ck = total > 0.0 ? w / total : 0.0;
        c[k] = (float)ck;
        value += ck * sh->loss;
        for (i = 0; i < t->n_metrics; i++) {
            run->metric_sum[i] += sh->run.metric_sum[i];
            run->metric_count[i] += sh->run.metric_count[i];
        }
    }
    run->loss_sum += value * bv->n;
    run->samples += bv->n;
    *loss = value;
    if (!eval)
        merge_grads(t, count, c);
    return SEQNET_OK;
}

static int train_step(seqnet_trainer *t, const seqnet_data *d, const batch_view *bv,
                      running *run, double *loss)
{
    int32_t count;
    int st, shared;
    /* The threads start before anything is written, so that failing to
     * start them changes nothing. */
    if ((st = ensure_pool(t, d, &shared)) != SEQNET_OK)
        return st;
    count = step_shards(t, bv->n, shared);
    if (count > 1) {
        st = parallel_batch(t, d, bv, count, 0, run, loss);
    } else {
        sn_shard one;
        memset(&one, 0, sizeof one);
        one.session = t->session;
        one.grads = t->grads;
        one.row_flags = t->row_flags;
        one.touched = t->touched;
        one.n_touched = t->n_touched;
        one.rows_finite = t->rows_finite;
        one.bv = *bv;
        st = shard_step(t, &one, d, run);
        *loss = one.loss;
        if (st != SEQNET_OK)
            st = sn_copy_error(&t->obj, &t->session->obj, st);
    }
    if (st != SEQNET_OK) {
        clear_sparse_flags(t);
        return st;
    }
    st = apply_gradients(t);
    clear_sparse_flags(t);
    if (st == SEQNET_OK) {
        int32_t l;
        for (l = 0; l < t->model->n_layers; l++) {
            const sn_layer *L = &t->model->layers[l];
            if (L->ops != NULL && L->ops->after_step != NULL)
                L->ops->after_step(L, t->model->params, t->session->nodes[l].scratch);
        }
    }
    t->step++;
    /* Lazy rows may lag at most SN_OPTIM_RING - 1 steps. */
    if (t->optim.iterations % (SN_OPTIM_RING / 2) == 0)
        catch_up_all(t);
    return st;
}

static void running_logs(const seqnet_trainer *t, const running *run, double *logs)
{
    int32_t i;
    logs[0] = run->samples > 0 ? run->loss_sum / run->samples : NAN;
    for (i = 0; i < t->n_metrics; i++)
        logs[1 + i] = run->metric_count[i] > 0 ? run->metric_sum[i] / run->metric_count[i] : NAN;
}

static int check_ready(seqnet_trainer *t)
{
    int32_t k;
    for (k = 0; k < t->model->n_outputs; k++)
        if (t->loss[k] != 0)
            return SEQNET_OK;
    return sn_error(&t->obj, SEQNET_ESTATE, "no loss set: call seqnet_trainer_set_loss first");
}

/* Evaluate rows [start, start+count) of d (count < 0: a generator). */
static int evaluate_range(seqnet_trainer *t, const seqnet_data *d, int64_t start, int64_t count,
                          double *logs)
{
    running run;
    batch_view bv;
    int64_t b;
    double loss, counted;
    int st, shared;
    memset(&run, 0, sizeof run);
    if (d->generator != NULL) {
        for (b = 0;; b++) {
            int r;
            sn_data_reset(t->gen_batch);
            r = d->generator(d->generator_user, -1, b, t->gen_batch);
            if (r < 0)
                return sn_error(&t->obj, SEQNET_EIO, "the batch generator failed (%d)", r);
            if (r == 0)
                break;
            if ((st = check_data(t, t->gen_batch, 1)) != SEQNET_OK ||
                (st = ensure_pool(t, t->gen_batch, &shared)) != SEQNET_OK)
                return st;
            if ((st = make_batch(t, t->gen_batch, NULL, 0, (int32_t)t->gen_batch->n_samples, 1,
                                 &bv)) != SEQNET_OK ||
                (st = feed_batch(t, t->gen_batch, &bv)) != SEQNET_OK)
                return st;
            if ((st = sn_session_forward(t->session, 0, 0)) != SEQNET_OK)
                return sn_copy_error(&t->obj, &t->session->obj, st);
            if ((st = losses_and_metrics(t, t->session, &t->obj, t->gen_batch, &bv, 0, &loss,
                                         &run, &counted)) != SEQNET_OK)
                return st;
        }
    } else {
        if ((st = ensure_pool(t, d, &shared)) != SEQNET_OK)
            return st;
        for (b = 0; b < count; b += t->batch_size) {
            int32_t n = (int32_t)(count - b < t->batch_size ? count - b : t->batch_size);
            int32_t slices = step_shards(t, n, shared);
            if ((st = make_batch(t, d, NULL, start + b, n, 1, &bv)) != SEQNET_OK)
                return st;
            if (slices > 1) { /* SEQNET_TRAIN_THREADS: the batch's rows split as in training */
                if ((st = parallel_batch(t, d, &bv, slices, 1, &run, &loss)) != SEQNET_OK)
                    return st;
                continue;
            }
            if ((st = feed_batch(t, d, &bv)) != SEQNET_OK)
                return st;
            if ((st = sn_session_forward(t->session, 0, 0)) != SEQNET_OK)
                return sn_copy_error(&t->obj, &t->session->obj, st);
            if ((st = losses_and_metrics(t, t->session, &t->obj, d, &bv, 0, &loss, &run,
                                         &counted)) != SEQNET_OK)
                return st;
        }
    }
    running_logs(t, &run, logs);
    return SEQNET_OK;
}

static int ensure_gen_batch(seqnet_trainer *t)
{
    seqnet_context fake;
    if (t->gen_batch != NULL)
        return SEQNET_OK;
    /* seqnet_data_new wants a context only for its allocator. */
    memset(&fake, 0, sizeof fake);
    sn_object_init(&fake.obj, SN_MAGIC_CONTEXT, &t->obj.alloc);
    if (seqnet_data_new(&fake, &t->gen_batch) != SEQNET_OK)
        return sn_error(&t->obj, SEQNET_ENOMEM, "out of memory");
    return SEQNET_OK;
}

SEQNET_API int seqnet_trainer_evaluate(seqnet_trainer *trainer, const seqnet_data *data,
                                       double *logs, int32_t n_logs)
{
    double all[SN_MAX_LOGS];
    int32_t i;
    int st;
    if (trainer == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&trainer->obj);
    if (data == NULL || (logs == NULL && n_logs > 0))
        return sn_error(&trainer->obj, SEQNET_EINVAL, "NULL data or logs");
    if ((st = check_ready(trainer)) != SEQNET_OK || (st = check_data(trainer, data, 1)) != SEQNET_OK)
        return st;
    if ((st = ensure_gen_batch(trainer)) != SEQNET_OK)
        return st;
    st = evaluate_range(trainer, data, 0, data->generator ? -1 : data->n_samples, all);
    if (st != SEQNET_OK)
        return st;
    for (i = 0; i < n_logs && i <= trainer->n_metrics; i++)
        logs[i] = all[i];
    return SEQNET_OK;
}

SEQNET_API int seqnet_trainer_train_batch(seqnet_trainer *trainer, const seqnet_data *batch,
                                          double *loss)
{
    running run;
    batch_view bv;
    double value;
    int st;
    if (trainer == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&trainer->obj);
    if (batch == NULL || batch->generator != NULL)
        return sn_error(&trainer->obj, SEQNET_EINVAL, "train_batch takes array data");
    if ((st = check_ready(trainer)) != SEQNET_OK || (st = check_data(trainer, batch, 1)) != SEQNET_OK)
        return st;
    if (batch->n_samples > (1 << 24))
        return sn_error(&trainer->obj, SEQNET_ETOOBIG, "batch too large");
    memset(&run, 0, sizeof run);
    if ((st = make_batch(trainer, batch, NULL, 0, (int32_t)batch->n_samples, 1, &bv)) != SEQNET_OK)
        return st;
    st = train_step(trainer, batch, &bv, &run, &value);
    catch_up_all(trainer);
    if (st != SEQNET_OK)
        return st;
    if (loss != NULL)
        *loss = value;
    return SEQNET_OK;
}

static int push_history(seqnet_trainer *t, const double *train_logs, const double *val_logs)
{
    int32_t n = 1 + t->n_metrics, i;
    double *row;
    if (t->history_len == t->history_cap) {
        int32_t cap = t->history_cap ? t->history_cap * 2 : 16;
        double *h = sn_realloc(&t->obj.alloc, t->history, (size_t)cap * 2 * SN_MAX_LOGS * sizeof *h);
        if (h == NULL)
            return sn_error(&t->obj, SEQNET_ENOMEM, "out of memory for the history");
        t->history = h;
        t->history_cap = cap;
    }
    row = t->history + (size_t)t->history_len * 2 * SN_MAX_LOGS;
    for (i = 0; i < n; i++) {
        row[i] = train_logs[i];
        row[SN_MAX_LOGS + i] = val_logs != NULL ? val_logs[i] : NAN;
    }
    t->history_len++;
    return SEQNET_OK;
}

static void shuffle_rows(int64_t *order, int64_t n, sn_rng *rng)
{
    int64_t i;
    for (i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)(sn_rng_uniform_double(rng) * (double)(i + 1));
        int64_t tmp;
        if (j > i)
            j = i;
        tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
}

/* One epoch over array data: rows [0, n_train), shuffled or not. */
static int fit_epoch_arrays(seqnet_trainer *t, const seqnet_data *d, int64_t n_train,
                            int32_t epoch, running *run, int *stop)
{
    int32_t n_batches = (int32_t)((n_train + t->batch_size - 1) / t->batch_size), b;
    double logs[SN_MAX_LOGS], loss;
    batch_view bv;
    int st;
    int64_t i;
    sn_rng rng;
    for (i = 0; i < n_train; i++)
        t->order[i] = i;
    if (t->shuffle) {
        sn_rng_seed(&rng, sn_seed_mix(t->seed, 0x5348u + (uint64_t)t->epochs_done));
        shuffle_rows(t->order, n_train, &rng);
    }
    for (b = 0; b < n_batches && !*stop; b++) {
        int64_t start = (int64_t)b * t->batch_size;
        int32_t n = (int32_t)(n_train - start < t->batch_size ? n_train - start : t->batch_size);
        st = t->shuffle ? make_batch(t, d, t->order + start, 0, n, 1, &bv)
                        : make_batch(t, d, NULL, start, n, 1, &bv);
        if (st != SEQNET_OK || (st = train_step(t, d, &bv, run, &loss)) != SEQNET_OK)
            return st;
        if (t->callback != NULL) {
            int r;
            running_logs(t, run, logs);
            r = t->callback(t->callback_user, SEQNET_EVENT_BATCH_END, epoch, b, n_batches, logs,
                            1 + t->n_metrics);
            if (r < 0)
                return sn_error(&t->obj, SEQNET_ECANCELED, "training canceled by the callback");
            if (r > 0)
                *stop = 1;
        }
    }
    return SEQNET_OK;
}

static int fit_epoch_generator(seqnet_trainer *t, const seqnet_data *d, int32_t epoch,
                               running *run, int *stop)
{
    double logs[SN_MAX_LOGS], loss;
    batch_view bv;
    int64_t b;
    int st;
    for (b = 0; !*stop; b++) {
        int r = 0;
        sn_data_reset(t->gen_batch);
        r = d->generator(d->generator_user, epoch, b, t->gen_batch);
        if (r < 0)
            return sn_error(&t->obj, SEQNET_EIO, "the batch generator failed (%d)", r);
        if (r == 0)
            break;
        if ((st = check_data(t, t->gen_batch, 1)) != SEQNET_OK)
            return st;
        if (t->gen_batch->n_samples > (1 << 24))
            return sn_error(&t->obj, SEQNET_ETOOBIG, "generated batch too large");
        if ((st = make_batch(t, t->gen_batch, NULL, 0, (int32_t)t->gen_batch->n_samples, 1,
                             &bv)) != SEQNET_OK ||
            (st = train_step(t, t->gen_batch, &bv, run, &loss)) != SEQNET_OK)
            return st;
        if (t->callback != NULL) {
            running_logs(t, run, logs);
            r = t->callback(t->callback_user, SEQNET_EVENT_BATCH_END, epoch, (int32_t)b, -1, logs,
                            1 + t->n_metrics);
            if (r < 0)
                return sn_error(&t->obj, SEQNET_ECANCELED, "training canceled by the callback");
            if (r > 0)
                *stop = 1;
        }
    }
    return SEQNET_OK;
}

static int fit_inner(seqnet_trainer *t, const seqnet_data *train, const seqnet_data *validation);

SEQNET_API int seqnet_trainer_fit(seqnet_trainer *trainer, const seqnet_data *train,
                                  const seqnet_data *validation)
{
    int st;
    if (trainer == NULL)
        return SEQNET_EINVAL;
    st = fit_inner(trainer, train, validation);
    catch_up_all(trainer);
    return st;
}

static int fit_inner(seqnet_trainer *t, const seqnet_data *train, const seqnet_data *validation)
{
    int64_t n_train = 0, n_val_split = 0;
    int32_t epoch;
    int st, stop = 0;

    if (t == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&t->obj);
    if (train == NULL)
        return sn_error(&t->obj, SEQNET_EINVAL, "NULL training data");
    if ((st = check_ready(t)) != SEQNET_OK || (st = check_data(t, train, 1)) != SEQNET_OK)
        return st;
    if (validation != NULL && (st = check_data(t, validation, 1)) != SEQNET_OK)
        return st;
    if ((st = ensure_gen_batch(t)) != SEQNET_OK)
        return st;
    rebuild_names(t);
    if (train->generator == NULL) {
        n_train = train->n_samples;
        if (validation == NULL && t->validation_split > 0) {
            /* Keras: the last fraction, taken before any shuffling. */
            n_train = (int64_t)floor((double)train->n_samples * (1.0 - t->validation_split));
            n_val_split = train->n_samples - n_train;
            if (n_train < 1 || n_val_split < 1)
                return sn_error(&t->obj, SEQNET_EEMPTY,
                                "validation_split leaves no training or no validation rows");
        }
        if (t->order_cap < n_train) {
            int64_t *o = sn_malloc(&t->obj.alloc, (size_t)n_train * sizeof *o);
            if (o == NULL)
                return sn_error(&t->obj, SEQNET_ENOMEM, "out of memory for the shuffle order");
            sn_free(&t->obj.alloc, t->order);
            t->order = o;
            t->order_cap = n_train;
        }
    }
    for (epoch = 0; epoch < t->epochs && !stop; epoch++) {
        running run;
        double logs[SN_MAX_LOGS], val_logs[2 * SN_MAX_LOGS];
        int has_val = 0;
        memset(&run, 0, sizeof run);
        st = train->generator != NULL ? fit_epoch_generator(t, train, epoch, &run, &stop)
                                      : fit_epoch_arrays(t, train, n_train, epoch, &run, &stop);
        catch_up_all(t); /* validation and callbacks see exact weights */
        if (st != SEQNET_OK)
            return st;
        running_logs(t, &run, logs);
        t->epochs_done++;
        if (validation != NULL) {
            st = evaluate_range(t, validation, 0,
                                validation->generator ? -1 : validation->n_samples, val_logs);
            has_val = 1;
        } else if (n_val_split > 0) {
            st = evaluate_range(t, train, n_train, n_val_split, val_logs);
            has_val = 1;
        }
        if (st != SEQNET_OK)
            return st;
        if ((st = push_history(t, logs, has_val ? val_logs : NULL)) != SEQNET_OK)
            return st;
        if (t->callback != NULL) {
            double all[2 * SN_MAX_LOGS];
            int32_t n = 1 + t->n_metrics, i, r;
            for (i = 0; i < n; i++) {
                all[i] = logs[i];
                all[n + i] = has_val ? val_logs[i] : NAN;
            }
            r = t->callback(t->callback_user, SEQNET_EVENT_EPOCH_END, epoch,
                            train->generator ? -1
                                             : (int32_t)((n_train + t->batch_size - 1) /
                                                         t->batch_size),
                            train->generator ? -1
                                             : (int32_t)((n_train + t->batch_size - 1) /
                                                         t->batch_size),
                            all, has_val ? 2 * n : n);
            if (r < 0)
                return sn_error(&t->obj, SEQNET_ECANCELED, "training canceled by the callback");
            if (r > 0)
                stop = 1;
        }
    }
    return SEQNET_OK;
}

SEQNET_API int seqnet_trainer_reset_states(seqnet_trainer *trainer)
{
    if (trainer == NULL)
        return SEQNET_EINVAL;
    return seqnet_session_reset_states(trainer->session);
}

/* ---- history ---- */

SEQNET_API int32_t seqnet_trainer_n_logs(const seqnet_trainer *trainer)
{
    return trainer == NULL ? 0 : 1 + trainer->n_metrics;
}

SEQNET_API const char *seqnet_trainer_log_name(const seqnet_trainer *trainer, int32_t index,
                                               int validation)
{
    seqnet_trainer *t = (seqnet_trainer *)(uintptr_t)trainer;
    if (t == NULL || index < 0 || index > t->n_metrics)
        return NULL;
    rebuild_names(t); /* names are derived data: cheap to refresh */
    return t->names[validation ? 1 : 0][index];
}

SEQNET_API int32_t seqnet_trainer_history_len(const seqnet_trainer *trainer)
{
    return trainer == NULL ? 0 : trainer->history_len;
}

SEQNET_API int seqnet_trainer_history_value(const seqnet_trainer *trainer, int32_t epoch,
                                            int32_t index, int validation, double *value)
{
    if (trainer == NULL || value == NULL)
        return SEQNET_EINVAL;
    if (epoch < 0 || epoch >= trainer->history_len || index < 0 || index > trainer->n_metrics)
        return SEQNET_ERANGE;
    *value = trainer->history[(size_t)epoch * 2 * SN_MAX_LOGS + (validation ? SN_MAX_LOGS : 0) +
                              (size_t)index];
    return SEQNET_OK;
}

/* ---- batched prediction ---- */

SEQNET_API int seqnet_session_predict(seqnet_session *session, const seqnet_data *data,
                                      int32_t output, float *dst, int64_t count,
                                      int32_t batch_size)
{
    const seqnet_model *m;
    int64_t done = 0, written = 0;
    int32_t k;
    int st;
    if (session == NULL)
        return SEQNET_EINVAL;
    sn_clear_error(&session->obj);
    m = session->model;
    if (data == NULL || dst == NULL || batch_size < 1 || data->generator != NULL)
        return sn_error(&session->obj, SEQNET_EINVAL, "predict needs array data, dst, batch_size");
    if (output < 0 || output >= m->n_outputs)
        return sn_error(&session->obj, SEQNET_ERANGE, "no output %d", (int)output);
    if (data->n_samples < 1)
        return sn_error(&session->obj, SEQNET_EEMPTY, "the data set is empty");
    while (done < data->n_samples) {
        int32_t n = (int32_t)(data->n_samples - done < batch_size ? data->n_samples - done
                                                                   : batch_size);
        size_t size;
        for (k = 0; k < m->n_inputs; k++) {
            const sn_data_array *a = &data->inputs[k];
            if (!a->set)
                return sn_error(&session->obj, SEQNET_ESHAPE, "no data for input %d", (int)k);
            if (a->ids != NULL)
                st = seqnet_session_set_input_tokens(session, k, a->ids + (size_t)done * row_elems(a),
                                                     n, a->time);
            else
                st = seqnet_session_set_input_floats(session, k, a->x + (size_t)done * row_elems(a),
                                                     n, a->time, a->features);
            if (st != SEQNET_OK)
                return st;
        }
        if ((st = sn_session_forward(session, 0, 0)) != SEQNET_OK)
            return st;
        size = sn_tensor_size(&session->nodes[m->outputs[output]].t);
        if (count - written < (int64_t)size)
            return sn_error(&session->obj, SEQNET_EBUFFER, "dst holds %lld floats, need more",
                            (long long)count);
        memcpy(dst + written, session->nodes[m->outputs[output]].t.x, size * sizeof *dst);
        written += (int64_t)size;
        done += n;
    }
    return SEQNET_OK;
}

/* ---- state for the file format ---- */

const seqnet_model *sn_trainer_model(const seqnet_trainer *t)
{
    return t->model;
}

void sn_trainer_export(const seqnet_trainer *t, sn_trainer_state *st)
{
    int32_t i;
    memset(st, 0, sizeof *st);
    st->n_outputs = t->model->n_outputs;
    for (i = 0; i < st->n_outputs && i < SN_DATA_MAX_IO; i++)
        st->loss[i] = t->loss[i];
    st->n_metrics = t->n_metrics;
    for (i = 0; i < t->n_metrics; i++) {
        st->metric_output[i] = t->metrics[i].output;
        st->metric_kind[i] = t->metrics[i].metric;
    }
    st->batch_size = t->batch_size;
    st->epochs = t->epochs;
    st->shuffle = t->shuffle;
    st->seed = t->seed;
    st->validation_split = t->validation_split;
    st->clipvalue = t->clipvalue;
    st->clipnorm = t->clipnorm;
    st->global_clipnorm = t->global_clipnorm;
    st->reduction = t->reduction;
    st->optimizer = t->optim.kind;
    for (i = 0; i < 8; i++)
        if (sn_optim_get(&t->optim, i + 1, &st->hyper[i]) != SEQNET_OK)
            st->hyper[i] = 0.0;
    st->iterations = t->optim.iterations;
    st->n_params = t->optim.n_params;
    st->n_slots = 2;
    for (i = 0; i < 2; i++)
        st->slot[i] = t->optim.slot[i];
    st->step = t->step;
    st->epochs_done = t->epochs_done;
}

int sn_trainer_import(seqnet_trainer *t, const sn_trainer_state *st)
{
    int32_t i;
    int st_code;
    if (st->n_outputs != t->model->n_outputs || st->n_metrics > SN_MAX_METRICS)
        return sn_error(&t->obj, SEQNET_EINVAL, "saved training state is for another model");
    if ((st->n_slots > 0 && st->n_params != t->model->n_params) || st->n_slots > 2)
        return sn_error(&t->obj, SEQNET_EINVAL, "saved optimizer state has %lld values, the "
                        "model %lld", (long long)st->n_params, (long long)t->model->n_params);
    for (i = 0; i < st->n_outputs; i++)
        if (st->loss[i] != 0 && !sn_loss_valid(st->loss[i]))
            return sn_error(&t->obj, SEQNET_EINVAL, "saved loss %d unknown", st->loss[i]);
    for (i = 0; i < st->n_metrics; i++)
        if (!sn_metric_valid(st->metric_kind[i]) || st->metric_output[i] < 0 ||
            st->metric_output[i] >= st->n_outputs)
            return sn_error(&t->obj, SEQNET_EINVAL, "saved metric %d invalid", (int)i);
    if ((st_code = seqnet_trainer_set_optimizer(t, st->optimizer)) != SEQNET_OK)
        return st_code;
    for (i = 0; i < 8; i++) {
        double v;
        if (sn_optim_get(&t->optim, i + 1, &v) == SEQNET_OK &&
            (st_code = sn_optim_set(&t->optim, i + 1, st->hyper[i])) != SEQNET_OK)
            return sn_error(&t->obj, st_code, "saved optimizer parameter %d invalid", (int)i + 1);
    }
    if (st->n_slots > 0) {
        if ((st_code = sn_optim_prepare(&t->optim, t->model->n_params)) != SEQNET_OK)
            return sn_error(&t->obj, st_code, "out of memory for optimizer state");
        for (i = 0; i < st->n_slots; i++) {
            if (st->slot[i] == NULL)
                continue;
            if (t->optim.slot[i] == NULL)
                return sn_error(&t->obj, SEQNET_EINVAL, "saved optimizer has more state "
                                "than this optimizer keeps");
            memcpy(t->optim.slot[i], st->slot[i], (size_t)st->n_params * sizeof(float));
        }
    }
    t->optim.iterations = st->iterations;
    reset_row_steps(t);
    for (i = 0; i < st->n_outputs; i++)
        t->loss[i] = st->loss[i];
    t->n_metrics = st->n_metrics;
    for (i = 0; i < st->n_metrics; i++) {
        t->metrics[i].output = st->metric_output[i];
        t->metrics[i].metric = st->metric_kind[i];
    }
    t->batch_size = st->batch_size;
    t->epochs = st->epochs;
    t->shuffle = st->shuffle;
    t->seed = st->seed;
    t->validation_split = st->validation_split;
    t->clipvalue = st->clipvalue;
    t->clipnorm = st->clipnorm;
    t->global_clipnorm = st->global_clipnorm;
    t->reduction = st->reduction;
    t->step = st->step;
    t->epochs_done = st->epochs_done;
    return SEQNET_OK;
}
