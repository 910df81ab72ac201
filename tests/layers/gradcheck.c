/*
 * tests/layers/gradcheck.c -- see gradcheck.h.
 *
 * Test code: it allocates with libc and never prints; failures come back as
 * a status and a message for the Check assertion to show.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"

/* ---- options and shapes ------------------------------------------------- */

void gc_opts_init(sn_opts *o)
{
    memset(o, 0, sizeof *o);
}

static sn_opt *opts_slot(sn_opts *o, int key)
{
    int32_t i;
    for (i = 0; i < o->n; i++)
        if (o->items[i].key == key)
            return &o->items[i];
    if (o->n >= SN_MAX_OPTS)
        return NULL;
    memset(&o->items[o->n], 0, sizeof o->items[0]);
    o->items[o->n].key = key;
    return &o->items[o->n++];
}

int gc_opts_int(sn_opts *o, int key, int64_t value)
{
    sn_opt *s = opts_slot(o, key);
    if (s == NULL)
        return -1;
    s->type = SN_OPT_INT;
    s->i = value;
    return 0;
}

int gc_opts_float(sn_opts *o, int key, double value)
{
    sn_opt *s = opts_slot(o, key);
    if (s == NULL)
        return -1;
    s->type = SN_OPT_FLOAT;
    s->f = value;
    return 0;
}

int gc_opts_string(sn_opts *o, int key, const char *value)
{
    sn_opt *s = opts_slot(o, key);
    if (s == NULL || strlen(value) >= sizeof s->s)
        return -1;
    s->type = SN_OPT_STRING;
    strcpy(s->s, value);
    return 0;
}

void gc_fill_uniform(float *x, size_t n, float scale, uint64_t seed)
{
    sn_rng r;
    size_t k;
    sn_rng_seed(&r, seed);
    for (k = 0; k < n; k++)
        x[k] = (2.0f * sn_rng_uniform(&r) - 1.0f) * scale;
}

sn_shape gc_vector(int32_t features)
{
    sn_shape s = {SN_TIME_VECTOR, features, 0, 0};
    return s;
}

sn_shape gc_sequence(int32_t time, int32_t features)
{
    sn_shape s = {time, features, 0, 0};
    return s;
}

sn_shape gc_tokens(int32_t time)
{
    sn_shape s = {time, 1, 1, 0};
    return s;
}

/* ---- building ----------------------------------------------------------- */

static float uniform_pm(sn_rng *r, float half_width)
{
    return (2.0f * sn_rng_uniform(r) - 1.0f) * half_width;
}

static int option_allowed(const sn_layer_ops *ops, int32_t key)
{
    const int32_t *k;
    for (k = ops->allowed_opts; k != NULL && *k != 0; k++)
        if (*k == key)
            return 1;
    return 0;
}

static int alloc_fail(gc_harness *h)
{
    return sn_error(&h->err, SEQNET_ENOMEM, "gradcheck: out of memory");
}

int gc_build(gc_harness *h, const sn_layer_ops *ops, const sn_opts *opts,
             const gc_input *inputs, int32_t n_inputs, int32_t batch, int training,
             uint64_t seed)
{
    sn_layer *L = &h->layer;
    sn_shape run[SN_MAX_INPUTS];
    sn_alloc libc;
    sn_rng fill;
    int32_t i, p;
    size_t k, total = 0;
    int st;

    memset(h, 0, sizeof *h);
    if (n_inputs < 0 || n_inputs > SN_MAX_INPUTS)
        return sn_error(&h->err, SEQNET_EINVAL, "gradcheck: %d inputs", (int)n_inputs);
    sn_default_alloc(&libc);
    sn_object_init(&h->err, SN_MAGIC_OTHER, &libc);
    h->sparse_param = -1;
    h->batch = batch;
    h->training = training;
    h->rng_seed = sn_seed_mix(seed, 1);
    sn_rng_seed(&fill, sn_seed_mix(seed, 2));
    if (n_inputs < ops->min_inputs || n_inputs > ops->max_inputs || n_inputs > SN_MAX_INPUTS)
        return sn_error(&h->err, SEQNET_EINVAL, "gradcheck: bad input count");

    /* The layer, as the builder makes it. */
    L->ops = ops;
    L->kind = ops->kind;
    snprintf(L->name, sizeof L->name, "%s_under_test", ops->auto_name);
    L->n_inputs = n_inputs;
    for (i = 0; i < n_inputs; i++)
        L->in_shapes[i] = inputs[i].shape;
    if (opts != NULL)
        L->opts = *opts;
    for (i = 0; i < L->opts.n; i++)
        if (!option_allowed(ops, L->opts.items[i].key))
            return sn_error(&h->err, SEQNET_EUNSUPPORTED, "gradcheck: option %d not allowed",
                            (int)L->opts.items[i].key);
    L->trainable = 1;
    L->seed = seed;
    if (ops->config_size > 0 && (L->config = calloc(1, ops->config_size)) == NULL)
        return alloc_fail(h);
    if (ops->configure != NULL && (st = ops->configure(L, &h->err)) != SEQNET_OK)
        return st;
    if ((st = ops->infer(L, L->in_shapes, n_inputs, &L->out_shape, &h->err)) != SEQNET_OK)
        return st;
    if (ops->declare_params != NULL && (st = ops->declare_params(L, &h->err)) != SEQNET_OK)
        return st;
    for (p = 0; p < L->n_params; p++) {
        L->params[p].offset = (int64_t)total;
        if (!L->trainable)
            L->params[p].trainable = 0;
        total += (size_t)L->params[p].count;
        if (L->params[p].sparse_rows)
            h->sparse_param = p;
    }

    /* Concrete shapes, as the executor gives them at run time. */
    for (i = 0; i < n_inputs; i++) {
        run[i] = inputs[i].shape;
        if (run[i].time != SN_TIME_VECTOR)
            run[i].time = inputs[i].time;
        run[i].masked = inputs[i].mask != NULL;
    }
    if ((st = ops->infer(L, run, n_inputs, &h->out_shape, &h->err)) != SEQNET_OK)
        return st;

    h->n_inputs = n_inputs;
    for (i = 0; i < n_inputs; i++) {
        sn_tensor *t = &h->in[i];
        size_t steps;
        t->batch = batch;
        t->time = run[i].time == SN_TIME_VECTOR ? 1 : run[i].time;
        t->features = run[i].features;
        steps = (size_t)batch * (size_t)t->time;
        if (run[i].is_tokens) {
            if ((h->in_ids[i] = calloc(steps, sizeof(int32_t))) == NULL)
                return alloc_fail(h);
            if (inputs[i].ids != NULL)
                memcpy(h->in_ids[i], inputs[i].ids, steps * sizeof(int32_t));
            t->ids = h->in_ids[i];
        } else {
            size_t n = sn_tensor_size(t);
            if ((h->in_x[i] = calloc(n, sizeof(float))) == NULL ||
                (h->grad_in[i] = calloc(n, sizeof(float))) == NULL)
                return alloc_fail(h);
            for (k = 0; k < n; k++)
                h->in_x[i][k] = inputs[i].x != NULL ? inputs[i].x[k] : uniform_pm(&fill, 1.0f);
            t->x = h->in_x[i];
        }
        if (inputs[i].mask != NULL) {
            if ((h->in_mask[i] = malloc(steps)) == NULL)
                return alloc_fail(h);
            memcpy(h->in_mask[i], inputs[i].mask, steps);
            t->mask = h->in_mask[i];
        }
    }

    h->out.batch = batch;
    h->out.time = h->out_shape.time == SN_TIME_VECTOR ? 1 : h->out_shape.time;
    h->out.features = h->out_shape.features;
    if ((h->out.x = calloc(gc_out_size(h), sizeof(float))) == NULL ||
        (h->grad_out = calloc(gc_out_size(h), sizeof(float))) == NULL)
        return alloc_fail(h);
    if (ops->mask_mode == SN_MASK_PASS) {
        h->out.mask = h->in[0].mask;
    } else if (ops->mask_mode == SN_MASK_PRODUCE && h->out_shape.masked) {
        if ((h->out_mask_buf = calloc((size_t)batch * (size_t)h->out.time, 1)) == NULL)
            return alloc_fail(h);
        h->out.mask = h->out_mask_buf;
    }

    h->n_param_floats = total;
    if (total > 0) {
        if ((h->params = calloc(total, sizeof(float))) == NULL ||
            (h->grads = calloc(total, sizeof(float))) == NULL)
            return alloc_fail(h);
        for (k = 0; k < total; k++)
            h->params[k] = uniform_pm(&fill, 0.5f);
    }
    if (h->sparse_param >= 0) {
        size_t rows = (size_t)L->params[h->sparse_param].dims[0];
        if ((h->row_flags = calloc(rows, 1)) == NULL ||
            (h->touched_rows = calloc(rows, sizeof(int32_t))) == NULL)
            return alloc_fail(h);
    }
    h->scratch_bytes =
        ops->scratch_size != NULL ? ops->scratch_size(L, batch, run, training) : 0;
    if (h->scratch_bytes > 0 && (h->scratch = calloc(1, h->scratch_bytes)) == NULL)
        return alloc_fail(h);
    return SEQNET_OK;
}

void gc_free(gc_harness *h)
{
    int32_t i;
    for (i = 0; i < SN_MAX_INPUTS; i++) {
        free(h->in_x[i]);
        free(h->in_ids[i]);
        free(h->in_mask[i]);
        free(h->grad_in[i]);
    }
    free(h->out.x);
    free(h->out_mask_buf);
    free(h->grad_out);
    free(h->params);
    free(h->grads);
    free(h->row_flags);
    free(h->touched_rows);
    free(h->scratch);
    free(h->layer.config);
    memset(h, 0, sizeof *h);
}

float *gc_param(gc_harness *h, int p)
{
    return h->params + h->layer.params[p].offset;
}

float *gc_param_grad(gc_harness *h, int p)
{
    return h->grads + h->layer.params[p].offset;
}

int64_t gc_param_count(const gc_harness *h)
{
    int64_t n = 0;
    int32_t p;
    for (p = 0; p < h->layer.n_params; p++)
        n += h->layer.params[p].count;
    return n;
}

size_t gc_out_size(const gc_harness *h)
{
    return sn_tensor_size(&h->out);
}

/* ---- running ------------------------------------------------------------ */

static void exec_init(gc_harness *h, sn_exec *e)
{
    int32_t i;
    memset(e, 0, sizeof *e);
    e->layer = &h->layer;
    e->params = h->params;
    e->n_inputs = h->n_inputs;
    for (i = 0; i < h->n_inputs; i++)
        e->in[i] = &h->in[i];
    e->out = &h->out;
    e->scratch = h->scratch;
    e->rng = &h->rng;
    e->err = &h->err;
}

int gc_forward(gc_harness *h)
{
    sn_exec e;
    exec_init(h, &e);
    sn_rng_seed(&h->rng, h->rng_seed);
    e.training = h->training;
    return h->layer.ops->forward(&e);
}

int gc_backward(gc_harness *h, const float *grad_out, int accumulate)
{
    sn_exec e;
    int32_t i;
    exec_init(h, &e);
    /* Reset sparse row tracking as the trainer does before each backward. */
    for (i = 0; i < h->n_touched; i++)
        h->row_flags[h->touched_rows[i]] = 0;
    h->n_touched = 0;
    e.grads = h->layer.trainable ? h->grads : NULL;
    e.row_flags = h->row_flags;
    e.touched_rows = h->touched_rows;
    e.n_touched = h->row_flags != NULL ? &h->n_touched : NULL;
    e.grad_out = grad_out != NULL ? grad_out : h->grad_out;
    for (i = 0; i < h->n_inputs; i++) {
        e.grad_in[i] = h->grad_in[i];
        e.grad_in_accumulate[i] = accumulate;
    }
    e.training = 1; /* as the executor runs backward */
    return h->layer.ops->backward(&e);
}

/* ---- the check ---------------------------------------------------------- */

void gc_default_options(gc_options *o)
{
    o->eps = 1e-3;
    o->rtol = 1e-2;
    o->floor = 1e-2;
    o->check_inputs = 1;
    o->check_params = 1;
    o->skip_masked_outputs = 1;
    o->max_kink_fraction = 0.05;
}

typedef struct check_state {
    gc_harness *h;
    const gc_options *o;
    gc_result *r;
    const double *u; /* loss weights */
    double loss0;
} check_state;

static double loss_of(const gc_harness *h, const double *u)
{
    size_t n = gc_out_size(h), k;
    double sum = 0.0;
    for (k = 0; k < n; k++)
        sum += u[k] * (double)h->out.x[k];
    return sum;
}

static void fail(gc_result *r, const char *fmt, const char *what, long index, double a,
                 double n)
{
    if (r->n_failed++ == 0)
        snprintf(r->message, sizeof r->message, fmt, what, index, a, n);
}

/* Central and one-sided differences of the loss in one element. */
static int differences(check_state *s, float *value, double eps, double *central,
                       double *right, double *left)
{
    gc_harness *h = s->h;
    float orig = *value, plus = (float)(orig + eps), minus = (float)(orig - eps);
    double loss_plus, loss_minus;

    *value = plus;
    if (gc_forward(h) != SEQNET_OK)
        return -1;
    loss_plus = loss_of(h, s->u);
    *value = minus;
    if (gc_forward(h) != SEQNET_OK)
        return -1;
    loss_minus = loss_of(h, s->u);
    *value = orig;
    /* Divide by the steps float32 actually took. */
    *central = (loss_plus - loss_minus) / ((double)plus - (double)minus);
    *right = (loss_plus - s->loss0) / ((double)plus - (double)orig);
    *left = (s->loss0 - loss_minus) / ((double)orig - (double)minus);
    return 0;
}

static double rel_err(double analytic, double numeric, double floor)
{
    return fabs(analytic - numeric) / fmax(fmax(fabs(analytic), fabs(numeric)), floor);
}

/*
 * Compare the analytic derivative of one element with central differences.
 * A mismatch is retried with 10 and 100 times smaller steps (and floors
 * as much larger, since float32 rounding noise grows as the step shrinks):
 * agreement there means a kink lay within the first step. Failing that, a
 * mismatch no larger than the disagreement of the one-sided differences is
 * still a kink. Anything else fails.
 */
static int check_element(check_state *s, float *value, double analytic, const char *what,
                         long index)
{
    const gc_options *o = s->o;
    double numeric, right, left, err, small_numeric, small_right, small_left, shrink;

    if (differences(s, value, o->eps, &numeric, &right, &left) != 0)
        return -1;
    s->r->n_checked++;
    if (!isfinite(analytic)) {
        fail(s->r, "%s[%ld]: analytic gradient %g is not finite (numeric %g)", what, index,
             analytic, numeric);
        return 0;
    }
    err = rel_err(analytic, numeric, o->floor);
    if (err <= o->rtol) {
        if (err > s->r->max_err)
            s->r->max_err = err;
        return 0;
    }
    for (shrink = 10.0; shrink <= 100.0; shrink *= 10.0) {
        if (differences(s, value, o->eps / shrink, &small_numeric, &small_right, &small_left) !=
            0)
            return -1;
        if (rel_err(analytic, small_numeric, shrink * o->floor) <= o->rtol) {
            s->r->n_kinks++;
            return 0;
        }
    }
    if (fabs(right - left) >= fabs(analytic - numeric)) {
        s->r->n_kinks++;
        s->r->n_weak_kinks++;
        return 0;
    }
    if (err > s->r->max_err)
        s->r->max_err = err;
    fail(s->r, "%s[%ld]: analytic %.6g vs numeric %.6g", what, index, analytic, numeric);
    return 0;
}

static void fill_nan(float *x, size_t n)
{
    size_t k;
    for (k = 0; k < n; k++)
        x[k] = NAN;
}

/* Analytic parameter gradients in dense form; checks sparse row tracking. */
static int collect_param_grads(gc_harness *h, float *dense, gc_result *r)
{
    const sn_layer *L = &h->layer;
    int32_t p, i;
    for (p = 0; p < L->n_params; p++) {
        const sn_param *P = &L->params[p];
        float *dst = dense + P->offset;
        const float *src = h->grads + P->offset;
        if (!P->sparse_rows) {
            memcpy(dst, src, (size_t)P->count * sizeof *dst);
            continue;
        }
        {
            size_t rows = (size_t)P->dims[0], width = (size_t)(P->count / P->dims[0]), k;
            size_t n_flagged = 0;
            memset(dst, 0, (size_t)P->count * sizeof *dst);
            for (k = 0; k < rows; k++)
                n_flagged += h->row_flags[k] != 0;
            if (n_flagged != (size_t)h->n_touched) {
                snprintf(r->message, sizeof r->message,
                         "%s: %zu rows flagged but %d listed as touched", P->name, n_flagged,
                         (int)h->n_touched);
                return -1;
            }
            for (i = 0; i < h->n_touched; i++) {
                int32_t row = h->touched_rows[i];
                if (row < 0 || (size_t)row >= rows || !h->row_flags[row]) {
                    snprintf(r->message, sizeof r->message, "%s: bad touched row %d", P->name,
                             (int)row);
                    return -1;
                }
                memcpy(dst + (size_t)row * width, src + (size_t)row * width,
                       width * sizeof *dst);
            }
        }
    }
    return 0;
}

int gc_check(gc_harness *h, const gc_options *opts, gc_result *r)
{
    gc_options o;
    check_state s;
    const sn_layer *L = &h->layer;
    size_t n_out = gc_out_size(h), k;
    double *u = NULL;
    float *param_grads = NULL, *input_grads[SN_MAX_INPUTS] = {0}, *pattern = NULL;
    int use_params, ok = 0, st;
    int32_t i, p;
    sn_rng rng;

    if (opts != NULL)
        o = *opts;
    else
        gc_default_options(&o);
    memset(r, 0, sizeof *r);
    use_params = o.check_params && h->n_param_floats > 0 && L->trainable;
    sn_rng_seed(&rng, sn_seed_mix(h->rng_seed, 99));

    if ((u = calloc(n_out > 0 ? n_out : 1, sizeof *u)) == NULL ||
        (use_params && (param_grads = calloc(h->n_param_floats, sizeof(float))) == NULL))
        goto oom;
    for (i = 0; i < h->n_inputs; i++)
        if (h->grad_in[i] != NULL &&
            (input_grads[i] = calloc(sn_tensor_size(&h->in[i]), sizeof(float))) == NULL)
            goto oom;

    /* Loss weights, and the analytic gradients from one backward pass. */
    if ((st = gc_forward(h)) != SEQNET_OK) {
        snprintf(r->message, sizeof r->message, "forward failed (%d): %s", st, h->err.errmsg);
        goto out;
    }
    for (k = 0; k < n_out; k++) {
        size_t step = k / (size_t)h->out.features;
        int real = !o.skip_masked_outputs || h->out.mask == NULL || h->out.mask[step] != 0;
        float weight = 2.0f * sn_rng_uniform(&rng) - 1.0f; /* drawn always: replayed below */
        u[k] = real ? (double)weight : 0.0;
        h->grad_out[k] = (float)u[k];
    }
    s.h = h;
    s.o = &o;
    s.r = r;
    s.u = u;
    s.loss0 = loss_of(h, u);
    if (h->grads != NULL)
        fill_nan(h->grads, h->n_param_floats);
    for (i = 0; i < h->n_inputs; i++)
        if (h->grad_in[i] != NULL)
            fill_nan(h->grad_in[i], sn_tensor_size(&h->in[i]));
    if ((st = gc_backward(h, NULL, 0)) != SEQNET_OK) {
        snprintf(r->message, sizeof r->message, "backward failed (%d): %s", st, h->err.errmsg);
        goto out;
    }
    if (use_params && collect_param_grads(h, param_grads, r) != 0)
        goto out;
    for (i = 0; i < h->n_inputs; i++)
        if (input_grads[i] != NULL)
            memcpy(input_grads[i], h->grad_in[i], sn_tensor_size(&h->in[i]) * sizeof(float));

    /* Central differences, element by element. */
    if (use_params) {
        for (p = 0; p < L->n_params; p++) {
            const sn_param *P = &L->params[p];
            if (!P->trainable)
                continue;
            for (k = 0; k < (size_t)P->count; k++)
                if (check_element(&s, h->params + P->offset + k,
                                  param_grads[(size_t)P->offset + k], P->name, (long)k) < 0)
                    goto forward_failed;
        }
    }
    if (o.check_inputs) {
        for (i = 0; i < h->n_inputs; i++) {
            char what[32];
            if (input_grads[i] == NULL)
                continue;
            snprintf(what, sizeof what, "input %d", (int)i);
            for (k = 0; k < sn_tensor_size(&h->in[i]); k++)
                if (check_element(&s, h->in_x[i] + k, input_grads[i][k], what, (long)k) < 0)
                    goto forward_failed;
        }
    }
    if (r->n_failed > 0)
        goto out;
    if (r->n_weak_kinks > 2 + (int)(o.max_kink_fraction * r->n_checked)) {
        snprintf(r->message, sizeof r->message,
                 "%d of %d elements disagree even with a smaller step", r->n_weak_kinks,
                 r->n_checked);
        goto out;
    }

    /* grad_in_accumulate = 1 adds to what was there; parameter gradients are
     * still overwritten. The forward is rerun so scratch is current. */
    if (gc_forward(h) != SEQNET_OK)
        goto forward_failed;
    for (i = 0; i < h->n_inputs; i++) {
        size_t n = sn_tensor_size(&h->in[i]);
        if (input_grads[i] == NULL)
            continue;
        for (k = 0; k < n; k++)
            h->grad_in[i][k] = 2.0f * sn_rng_uniform(&rng) - 1.0f;
    }
    if (h->grads != NULL)
        fill_nan(h->grads, h->n_param_floats);
    if ((st = gc_backward(h, NULL, 1)) != SEQNET_OK) {
        snprintf(r->message, sizeof r->message, "accumulating backward failed (%d): %s", st,
                 h->err.errmsg);
        goto out;
    }
    sn_rng_seed(&rng, sn_seed_mix(h->rng_seed, 99));
    for (k = 0; k < n_out; k++) /* replay the stream to recover the patterns */
        (void)sn_rng_uniform(&rng);
    for (i = 0; i < h->n_inputs; i++) {
        size_t n = sn_tensor_size(&h->in[i]);
        if (input_grads[i] == NULL)
            continue;
        for (k = 0; k < n; k++) {
            double before = (double)(2.0f * sn_rng_uniform(&rng) - 1.0f);
            double want = before + input_grads[i][k], got = h->grad_in[i][k];
            if (!(fabs(got - want) <= 1e-5 * (1.0 + fabs(want)))) {
                snprintf(r->message, sizeof r->message,
                         "accumulate: input %d[%zu] is %g, expected %g + %g", (int)i, k, got,
                         before, (double)input_grads[i][k]);
                goto out;
            }
        }
    }
    if (use_params) {
        if ((pattern = calloc(h->n_param_floats, sizeof(float))) == NULL)
            goto oom;
        if (collect_param_grads(h, pattern, r) != 0)
            goto out;
        for (k = 0; k < h->n_param_floats; k++) {
            double want = param_grads[k], got = pattern[k];
            if (!(fabs(got - want) <= 1e-5 * (1.0 + fabs(want)))) {
                snprintf(r->message, sizeof r->message,
                         "parameter gradient %zu not overwritten on the second backward "
                         "(%g vs %g)", k, got, want);
                goto out;
            }
        }
    }
    snprintf(r->message, sizeof r->message, "%d elements checked, %d kinks, max err %.3g",
             r->n_checked, r->n_kinks, r->max_err);
    ok = 1;
    goto out;

forward_failed:
    snprintf(r->message, sizeof r->message, "forward failed: %s", h->err.errmsg);
    goto out;
oom:
    snprintf(r->message, sizeof r->message, "gradcheck: out of memory");
out:
    free(u);
    free(param_grads);
    free(pattern);
    for (i = 0; i < SN_MAX_INPUTS; i++)
        free(input_grads[i]);
    return ok;
}
