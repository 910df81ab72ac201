/*
 * lib/train/optim.c -- SGD, Adam, RMSprop, Adagrad with Keras 3's update
 * rules and defaults, and gradient clipping.
 *
 * The update is memory-bound, so each optimizer is one fused pass over the
 * parameters, the gradients and its slots: float arithmetic, restrict
 * pointers and no per-element branch, so that the compiler vectorizes it.
 * The per-step constants are computed once in double and rounded to float,
 * as Keras holds them in float32 variables.
 *
 * Row-sparse gradients (an Embedding's) come with row flags. A flag-0 row is
 * updated as if its gradient were exactly 0 -- the same inline kernel is
 * instantiated with a constant zero gradient, so the result is bit-identical
 * to the dense update with zeros -- and rows where a zero gradient changes
 * nothing (plain SGD, Adagrad) are skipped outright.
 */
#include <math.h>
#include <string.h>

#include "seqnet/train.h"
#include "train/optim.h"

/* The default build is -O2, whose "very cheap" vectorizer cost model
 * refuses loops of unknown trip count; this file opts into the dynamic
 * model for its own functions. */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__INTEL_COMPILER)
#pragma GCC optimize("tree-vectorize", "vect-cost-model=dynamic")
#endif

/* sqrtf: with GCC's default -fmath-errno every sqrtf carries an errno
 * branch that blocks vectorization of the Adam / RMSprop / Adagrad loops;
 * the build should pass -fno-math-errno (nothing in seqnet reads errno).
 * A per-function optimize pragma cannot do it: GCC fixes the attributes of
 * the sqrtf builtin from the command line. */

/* The row loops are memory-latency bound (rows in data order across tables
 * larger than the caches) and their kernels vectorize: build them for AVX2
 * too, picked at load time; the arithmetic is the same IEEE operations in
 * either build (no FMA contraction), so results do not depend on the CPU. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && defined(__linux__)
#define SN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SN_CLONES
#endif

#if defined(__GNUC__)
#define SN_PREFETCH_W(p) __builtin_prefetch((p), 1, 1)
#define SN_PREFETCH(p) __builtin_prefetch((p), 0, 1)
#else
#define SN_PREFETCH_W(p) ((void)(p))
#define SN_PREFETCH(p) ((void)(p))
#endif

#if defined(__GNUC__)
#define SN_INLINE static inline __attribute__((always_inline))
#else
#define SN_INLINE static inline
#endif

/* Number of slot arrays the current hyper-parameters use. */
static int slots_needed(const sn_optim *o)
{
    switch (o->kind) {
    case SEQNET_OPTIMIZER_SGD: return o->momentum > 0.0 ? 1 : 0;   /* momentums */
    case SEQNET_OPTIMIZER_ADAM: return 2;                          /* m, v */
    case SEQNET_OPTIMIZER_RMSPROP: return o->momentum > 0.0 ? 2 : 1; /* v, momentums */
    case SEQNET_OPTIMIZER_ADAGRAD: return 1;                       /* accumulators */
    default: return 0;
    }
}

int sn_optim_init(sn_optim *o, int kind, const sn_alloc *a)
{
    if (o == NULL || a == NULL)
        return SEQNET_EINVAL;
    if (kind < SEQNET_OPTIMIZER_SGD || kind > SEQNET_OPTIMIZER_ADAGRAD)
        return SEQNET_EUNSUPPORTED;
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->alloc = *a;
    o->slot[0] = o->slot[1] = NULL;
    o->beta_1 = 0.9;
    o->beta_2 = 0.999;
    o->epsilon = 1e-7;
    o->rho = 0.9;
    o->initial_accumulator_value = 0.1;
    o->learning_rate = kind == SEQNET_OPTIMIZER_SGD ? 0.01 : 0.001;
    o->momentum = 0.0;
    o->nesterov = 0;
    o->iterations = 0;
    o->n_params = 0;
    o->step_lr = o->learning_rate;
    return SEQNET_OK;
}

/* Whether `param` (SEQNET_TRAIN_* 1..8) belongs to optimizer `kind`. */
static int has_param(int kind, int param)
{
    switch (param) {
    case SEQNET_TRAIN_LEARNING_RATE: return 1;
    case SEQNET_TRAIN_MOMENTUM:
        return kind == SEQNET_OPTIMIZER_SGD || kind == SEQNET_OPTIMIZER_RMSPROP;
    case SEQNET_TRAIN_NESTEROV: return kind == SEQNET_OPTIMIZER_SGD;
    case SEQNET_TRAIN_BETA_1:
    case SEQNET_TRAIN_BETA_2: return kind == SEQNET_OPTIMIZER_ADAM;
    case SEQNET_TRAIN_EPSILON: return kind != SEQNET_OPTIMIZER_SGD;
    case SEQNET_TRAIN_RHO: return kind == SEQNET_OPTIMIZER_RMSPROP;
    case SEQNET_TRAIN_INITIAL_ACCUMULATOR_VALUE: return kind == SEQNET_OPTIMIZER_ADAGRAD;
    default: return 0;
    }
}

/* Allocate the zeroed slot `i` when prepared and missing. */
static int ensure_slot(sn_optim *o, int i)
{
    if (o->n_params == 0 || o->slot[i] != NULL)
        return SEQNET_OK;
    o->slot[i] = sn_calloc(&o->alloc, (size_t)o->n_params, sizeof(float));
    return o->slot[i] != NULL ? SEQNET_OK : SEQNET_ENOMEM;
}

int sn_optim_set(sn_optim *o, int param, double value)
{
    int ok;
    if (o == NULL)
        return SEQNET_EINVAL;
    if (!has_param(o->kind, param))
        return SEQNET_EUNSUPPORTED;
    switch (param) {
    case SEQNET_TRAIN_LEARNING_RATE: ok = value > 0.0 && isfinite(value); break;
    case SEQNET_TRAIN_MOMENTUM:
    case SEQNET_TRAIN_BETA_1:
    case SEQNET_TRAIN_BETA_2:
    case SEQNET_TRAIN_RHO: ok = value >= 0.0 && value < 1.0; break;
    case SEQNET_TRAIN_NESTEROV: ok = value == 0.0 || value == 1.0; break;
    case SEQNET_TRAIN_EPSILON: ok = value > 0.0 && isfinite(value); break;
    default: ok = value >= 0.0 && isfinite(value); break; /* initial accumulator */
    }
    if (!ok)
        return SEQNET_EINVAL;
    switch (param) {
    case SEQNET_TRAIN_LEARNING_RATE: o->learning_rate = value; break;
    case SEQNET_TRAIN_MOMENTUM:
        /* Turning momentum on after the slots were prepared needs the
         * momentum slot now: sn_optim_update never allocates. */
        if (value > 0.0) {
            int rc = ensure_slot(o, o->kind == SEQNET_OPTIMIZER_SGD ? 0 : 1);
            if (rc != SEQNET_OK)
                return rc;
        }
        o->momentum = value;
        break;
    case SEQNET_TRAIN_NESTEROV: o->nesterov = value != 0.0; break;
    case SEQNET_TRAIN_BETA_1: o->beta_1 = value; break;
    case SEQNET_TRAIN_BETA_2: o->beta_2 = value; break;
    case SEQNET_TRAIN_EPSILON: o->epsilon = value; break;
    case SEQNET_TRAIN_RHO: o->rho = value; break;
    default: o->initial_accumulator_value = value; break;
    }
    return SEQNET_OK;
}

int sn_optim_get(const sn_optim *o, int param, double *value)
{
    if (o == NULL || value == NULL)
        return SEQNET_EINVAL;
    if (!has_param(o->kind, param))
        return SEQNET_EUNSUPPORTED;
    switch (param) {
    case SEQNET_TRAIN_LEARNING_RATE: *value = o->learning_rate; break;
    case SEQNET_TRAIN_MOMENTUM: *value = o->momentum; break;
    case SEQNET_TRAIN_NESTEROV: *value = o->nesterov; break;
    case SEQNET_TRAIN_BETA_1: *value = o->beta_1; break;
    case SEQNET_TRAIN_BETA_2: *value = o->beta_2; break;
    case SEQNET_TRAIN_EPSILON: *value = o->epsilon; break;
    case SEQNET_TRAIN_RHO: *value = o->rho; break;
    default: *value = o->initial_accumulator_value; break;
    }
    return SEQNET_OK;
}

int sn_optim_prepare(sn_optim *o, int64_t n_params)
{
    int i, needed, fresh_accumulators;
    if (o == NULL || n_params < 0 || (uint64_t)n_params > SIZE_MAX / sizeof(float))
        return SEQNET_EINVAL;
    if (n_params != o->n_params)
        sn_optim_release(o);
    if (n_params == 0)
        return SEQNET_OK;
    o->n_params = n_params;
    needed = slots_needed(o);
    fresh_accumulators = o->slot[0] == NULL;
    for (i = 0; i < needed; i++) {
        int rc = ensure_slot(o, i);
        if (rc != SEQNET_OK) {
            sn_optim_release(o);
            return rc;
        }
    }
    if (o->kind == SEQNET_OPTIMIZER_ADAGRAD && fresh_accumulators) {
        /* Keras builds accumulators filled with initial_accumulator_value. */
        float init = (float)o->initial_accumulator_value;
        float *restrict acc = o->slot[0];
        int64_t k;
        for (k = 0; k < n_params; k++)
            acc[k] = init;
    }
    return SEQNET_OK;
}

void sn_optim_release(sn_optim *o)
{
    int i;
    if (o == NULL)
        return;
    for (i = 0; i < 2; i++) {
        sn_free(&o->alloc, o->slot[i]);
        o->slot[i] = NULL;
    }
    o->n_params = 0;
}

void sn_optim_begin_step(sn_optim *o)
{
    o->iterations++;
    if (o->kind == SEQNET_OPTIMIZER_ADAM) {
        double t = (double)o->iterations;
        o->step_lr = o->learning_rate * sqrt(1.0 - pow(o->beta_2, t)) /
                     (1.0 - pow(o->beta_1, t));
    } else {
        o->step_lr = o->learning_rate;
    }
    o->step_lr_ring[o->iterations % SN_OPTIM_RING] = o->step_lr;
}

/* ---- the fused kernels ------------------------------------------------------
 * Each updates n consecutive elements. With zero_grad set (a compile-time
 * constant at every call site) the gradient is the constant 0 and `g` is not
 * read; the arithmetic is otherwise the same expression, so the result is
 * bit-identical to the dense kernel given zeros. The expressions follow
 * Keras 3's optimizer code term by term. */

SN_INLINE void sgd_plain_kernel(float *restrict p, const float *restrict g, int64_t n, float lr)
{
    int64_t i;
    for (i = 0; i < n; i++)
        p[i] -= g[i] * lr;
}

SN_INLINE void sgd_momentum_kernel(float *restrict p, const float *restrict g,
                                   float *restrict m, int64_t n, float lr, float momentum,
                                   int nesterov, const int zero_grad)
{
    int64_t i;
    if (nesterov) {
        for (i = 0; i < n; i++) {
            float gi = zero_grad ? 0.0f : g[i];
            float mi = m[i] * momentum - gi * lr;
            m[i] = mi;
            p[i] += mi * momentum - gi * lr;
        }
    } else {
        for (i = 0; i < n; i++) {
            float gi = zero_grad ? 0.0f : g[i];
            float mi = m[i] * momentum - gi * lr;
            m[i] = mi;
            p[i] += mi;
        }
    }
}

SN_INLINE void adam_kernel(float *restrict p, const float *restrict g, float *restrict m,
                           float *restrict v, int64_t n, float alpha, float one_minus_b1,
                           float one_minus_b2, float eps, const int zero_grad)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        float gi = zero_grad ? 0.0f : g[i];
        float mi = m[i] + (gi - m[i]) * one_minus_b1;
        float vi = v[i] + (gi * gi - v[i]) * one_minus_b2;
        m[i] = mi;
        v[i] = vi;
        p[i] -= (mi * alpha) / (sqrtf(vi) + eps);
    }
}

SN_INLINE void rmsprop_kernel(float *restrict p, const float *restrict g, float *restrict v,
                              float *restrict mom, int64_t n, float lr, float rho,
                              float one_minus_rho, float eps, float momentum,
                              const int zero_grad)
{
    int64_t i;
    if (mom != NULL) {
        for (i = 0; i < n; i++) {
            float gi = zero_grad ? 0.0f : g[i];
            float vi = rho * v[i] + one_minus_rho * (gi * gi);
            float inc = lr * gi / sqrtf(vi + eps);
            float mi = momentum * mom[i] + inc;
            v[i] = vi;
            mom[i] = mi;
            p[i] -= mi;
        }
    } else {
        for (i = 0; i < n; i++) {
            float gi = zero_grad ? 0.0f : g[i];
            float vi = rho * v[i] + one_minus_rho * (gi * gi);
            v[i] = vi;
            p[i] -= lr * gi / sqrtf(vi + eps);
        }
    }
}

SN_INLINE void adagrad_kernel(float *restrict p, const float *restrict g,
                              float *restrict acc, int64_t n, float lr, float eps)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        float gi = g[i];
        float ai = acc[i] + gi * gi;
        acc[i] = ai;
        p[i] -= lr * gi / sqrtf(ai + eps);
    }
}

/* The update of one dense range [k, k + n) -- or, with zero_grad, of a range
 * whose gradient is 0 -- for the optimizer's current hyper-parameters. */
SN_INLINE void update_range_at(const sn_optim *o, float *params, const float *grads, int64_t k,
                               int64_t n, const int zero_grad, double step_lr)
{
    const float lr = (float)o->learning_rate;
    float *p = params + k;
    const float *g = zero_grad ? NULL : grads + k;
    switch (o->kind) {
    case SEQNET_OPTIMIZER_SGD:
        if (o->momentum > 0.0)
            sgd_momentum_kernel(p, g, o->slot[0] + k, n, lr, (float)o->momentum, o->nesterov,
                                zero_grad);
        else if (!zero_grad) /* p - 0 * lr == p: nothing to do */
            sgd_plain_kernel(p, g, n, lr);
        break;
    case SEQNET_OPTIMIZER_ADAM:
        adam_kernel(p, g, o->slot[0] + k, o->slot[1] + k, n, (float)step_lr,
                    (float)(1.0 - o->beta_1), (float)(1.0 - o->beta_2), (float)o->epsilon,
                    zero_grad);
        break;
    case SEQNET_OPTIMIZER_RMSPROP:
        rmsprop_kernel(p, g, o->slot[0] + k, o->momentum > 0.0 ? o->slot[1] + k : NULL, n, lr,
                       (float)o->rho, (float)(1.0 - o->rho), (float)o->epsilon,
                       (float)o->momentum, zero_grad);
        break;
    default:
        /* acc + 0 and p - 0 change nothing: a zero-gradient range is skipped */
        if (!zero_grad)
            adagrad_kernel(p, g, o->slot[0] + k, n, lr, (float)o->epsilon);
        break;
    }
}

/* update_range_at with the current step's constant. */
SN_INLINE void update_range(const sn_optim *o, float *params, const float *grads, int64_t k, int64_t n,
                            const int zero_grad)
{
    update_range_at(o, params, grads, k, n, zero_grad, o->step_lr);
}

SN_CLONES
void sn_optim_update(sn_optim *o, float *params, const float *grads, int64_t offset,
                     int64_t count, const uint8_t *row_flags, int32_t row_width)
{
    int64_t row, n_rows, end;
    int i;
    /* Preconditions, checked so that a misuse cannot write out of bounds:
     * prepared slots covering the range, every slot in use allocated. */
    if (o == NULL || params == NULL || count <= 0 || offset < 0)
        return;
    for (i = 0; i < slots_needed(o); i++)
        if (o->slot[i] == NULL || offset + count > o->n_params)
            return;
    if (row_flags == NULL || row_width <= 0) {
        if (grads != NULL)
            update_range(o, params, grads, offset, count, 0);
        return;
    }
    /* Row-sparse: runs of flagged rows go through the dense kernel in one
     * call, so long runs still vectorize over their whole length. */
    n_rows = count / row_width;
    row = 0;
    while (row < n_rows) {
        int64_t first = row;
        int flagged = row_flags[row] != 0;
        while (row < n_rows && (row_flags[row] != 0) == flagged)
            row++;
        if (flagged)
            update_range(o, params, grads, offset + first * row_width,
                         (row - first) * row_width, 0);
        else
            update_range(o, params, grads, offset + first * row_width,
                         (row - first) * row_width, 1);
    }
    /* A trailing partial row (count not a multiple of row_width) is dense. */
    end = n_rows * row_width;
    if (end < count && grads != NULL)
        update_range(o, params, grads, offset + end, count - end, 0);
}

/* ---- lazy row updates ----------------------------------------------------- */

int sn_optim_is_lazy(const sn_optim *o)
{
    return (o->kind == SEQNET_OPTIMIZER_SGD && o->momentum > 0.0) ||
           o->kind == SEQNET_OPTIMIZER_ADAM || o->kind == SEQNET_OPTIMIZER_RMSPROP;
}

static int lazy_ready(const sn_optim *o, int64_t end)
{
    int i;
    for (i = 0; i < slots_needed(o); i++)
        if (o->slot[i] == NULL || end > o->n_params)
            return 0;
    return 1;
}

/* Replay zero-gradient steps from+1 .. to on one row, each with the step
 * constant it had (the ring), through the very kernel the dense path uses.
 * It writes only the row: calls on different rows may run at once. */
SN_INLINE void replay_row(const sn_optim *o, float *params, int64_t k, int32_t width, int64_t from,
                          int64_t to)
{
    int64_t s;
    for (s = from + 1; s <= to; s++)
        update_range_at(o, params, NULL, k, width, 1, o->step_lr_ring[s % SN_OPTIM_RING]);
}

int sn_optim_state_finite(const sn_optim *o, int64_t offset, int64_t count)
{
    int q;
    for (q = 0; q < 2; q++)
        if (o->slot[q] != NULL && offset + count <= o->n_params &&
            !sn_all_finite(o->slot[q] + offset, (size_t)count))
            return 0;
    return 1;
}

/* Nonzero when one of x[0..n) is NaN or infinite (exponent bits all ones).
 * Integer ORs vectorize; a float sum of x * 0 would be one long chain of
 * dependent adds (the compiler may not reorder them). */
SN_INLINE uint32_t nonfinite_bits(const float *x, int32_t n)
{
    uint32_t acc = 0, u;
    int32_t j;
    for (j = 0; j < n; j++) {
        memcpy(&u, x + j, sizeof u);
        acc |= (u & 0x7f800000u) + 0x00800000u; /* carries out of bit 30 only for all ones */
    }
    return acc & 0x80000000u;
}

/* ---- undo log ------------------------------------------------------------- */

size_t sn_optim_undo_floats(const sn_optim *o, int64_t count)
{
    size_t per = 1;
    int q;
    for (q = 0; q < 2; q++)
        per += o->slot[q] != NULL;
    return (size_t)count * per;
}

/* The log's contents never outlive a step, so growing is free + malloc
 * (no copy), with some headroom so that batches of varying sparsity do not
 * reallocate every step. */
static int undo_grow(const sn_alloc *a, void **buf, size_t *cap, size_t need, size_t elem)
{
    size_t n, bytes;
    void *p;
    if (need <= *cap)
        return SEQNET_OK;
    n = need + need / 4;
    if (n < need || sn_mul_size(n, elem, &bytes) != 0)
        return SEQNET_ETOOBIG;
    p = sn_malloc(a, bytes);
    if (p == NULL)
        return SEQNET_ENOMEM;
    sn_free(a, *buf);
    *buf = p;
    *cap = n;
    return SEQNET_OK;
}

int sn_undo_reserve(sn_undo *u, const sn_alloc *a, size_t n_vals)
{
    int rc = undo_grow(a, (void **)&u->vals, &u->cap_vals, n_vals + 1, sizeof *u->vals);
    u->n_vals = u->pos_vals = 0;
    return rc;
}

void sn_undo_free(sn_undo *u, const sn_alloc *a)
{
    sn_free(a, u->vals);
    memset(u, 0, sizeof *u);
}

static void save_floats(sn_undo *u, const float *src, int64_t n)
{
    memcpy(u->vals + u->n_vals, src, (size_t)n * sizeof *src);
    u->n_vals += (size_t)n;
}

static void load_floats(sn_undo *u, float *dst, int64_t n)
{
    memcpy(dst, u->vals + u->pos_vals, (size_t)n * sizeof *dst);
    u->pos_vals += (size_t)n;
}

void sn_optim_save_range(const sn_optim *o, const float *params, int64_t offset, int64_t count,
                         sn_undo *u)
{
    int q;
    save_floats(u, params + offset, count);
    for (q = 0; q < 2; q++)
        if (o->slot[q] != NULL)
            save_floats(u, o->slot[q] + offset, count);
}

void sn_optim_restore_range(sn_optim *o, float *params, int64_t offset, int64_t count,
                            sn_undo *u)
{
    int q;
    load_floats(u, params + offset, count);
    for (q = 0; q < 2; q++)
        if (o->slot[q] != NULL)
            load_floats(u, o->slot[q] + offset, count);
}

#ifndef SN_ROWS_AHEAD
#define SN_ROWS_AHEAD 64
#endif

/* Ask for row k (width floats) in every array a row update touches: all
 * its cache lines (a row of 30 floats spans two or three). */
SN_INLINE void prefetch_row(const sn_optim *o, const float *params, const float *grads,
                            int64_t k, int32_t width)
{
    int64_t kl = k + width - 1, f;
    int q;
    /* 16 floats apart, and the last: every line of the row */
    for (f = k; f < kl; f += 16) {
        SN_PREFETCH_W(params + f);
        SN_PREFETCH(grads + f);
        for (q = 0; q < 2; q++)
            if (o->slot[q] != NULL)
                SN_PREFETCH_W(o->slot[q] + f);
    }
    SN_PREFETCH_W(params + kl);
    SN_PREFETCH(grads + kl);
    for (q = 0; q < 2; q++)
        if (o->slot[q] != NULL)
            SN_PREFETCH_W(o->slot[q] + kl);
}

#if defined(__GNUC__) && defined(__x86_64__)
#define SN_ADAM_ROWS_AVX2 1
#include <immintrin.h>

/*
 * Adam over a list of rows with AVX2, each row's replayed zero-gradient
 * steps and its real step done on registers: 8 columns of weights and both
 * moments are loaded once, go through every step, and are stored once.
 * Rows of at least 8 columns only. The operations are
 * those of adam_kernel in the same order -- m + (g - m) * (1 - b1),
 * v + (g * g - v) * (1 - b2), p - (m * alpha) / (sqrt(v) + eps), each
 * rounded, no FMA -- so the results are bit-identical to the scalar and
 * dense paths. Returns nonzero when a written value is NaN or infinite.
 */
__attribute__((target("avx2"))) static uint32_t
adam_rows_avx2(const sn_optim *o, float *params, const float *grads, int64_t offset,
               int32_t width, const int32_t *rows, int32_t n_rows, int64_t *row_step)
{
    /* grads NULL: catch up instead -- replay every missed step up to and
     * including the current one, no gradient step; rows NULL: rows 0 ..
     * n_rows - 1 */
    const int64_t t = o->iterations, last = grads != NULL ? t : t + 1;
    const __m256 c1 = _mm256_set1_ps((float)(1.0 - o->beta_1));
    const __m256 c2 = _mm256_set1_ps((float)(1.0 - o->beta_2));
    const __m256 eps = _mm256_set1_ps((float)o->epsilon);
    const __m256 zero = _mm256_setzero_ps();
    const __m256 alpha_now = _mm256_set1_ps((float)o->step_lr);
    const __m256i expo = _mm256_set1_epi32(0x7f800000);
    const int32_t tail_at = width % 8 != 0 ? width - 8 : -1;
    __m256 tp = _mm256_setzero_ps(), tm = tp, tv = tp;
    float *mo = o->slot[0], *ve = o->slot[1];
    __m256i bad = _mm256_setzero_si256();
    int32_t i, j;
    for (i = 0; i < n_rows; i++) {
        const int32_t row = rows != NULL ? rows[i] : i;
        int64_t k = offset + (int64_t)row * width, from = row_step[row], s;
        if (from + 1 >= last && grads == NULL)
            continue; /* up to date */
        if (rows != NULL && i + SN_ROWS_AHEAD < n_rows)
            prefetch_row(o, params, grads, offset + (int64_t)rows[i + SN_ROWS_AHEAD] * width,
                         width);
        /* A last partial group is the row's last 8 columns, loaded before
         * anything of the row is stored: the columns it shares with the
         * group before it are then computed twice from the same values,
         * to the same results. (Loaded after that group's store, a load
         * that half overlaps a store in flight waits for it.) */
        if (tail_at >= 0) {
            tp = _mm256_loadu_ps(params + k + tail_at);
            tm = _mm256_loadu_ps(mo + k + tail_at);
            tv = _mm256_loadu_ps(ve + k + tail_at);
        }
        for (j = 0; j < width; j += 8) {
            int32_t at = j + 8 <= width ? j : tail_at;
            float *pp = params + k + at, *pm = mo + k + at, *pv = ve + k + at;
            __m256 p, m, v;
            if (at == j) {
                p = _mm256_loadu_ps(pp);
                m = _mm256_loadu_ps(pm);
                v = _mm256_loadu_ps(pv);
            } else {
                p = tp;
                m = tm;
                v = tv;
            }
            for (s = from + 1; s < last; s++) { /* replayed steps: gradient 0 */
                __m256 a = _mm256_set1_ps((float)o->step_lr_ring[s % SN_OPTIM_RING]);
                m = _mm256_add_ps(m, _mm256_mul_ps(_mm256_sub_ps(zero, m), c1));
                v = _mm256_add_ps(v, _mm256_mul_ps(_mm256_sub_ps(_mm256_mul_ps(zero, zero), v), c2));
                p = _mm256_sub_ps(p, _mm256_div_ps(_mm256_mul_ps(m, a),
                                                   _mm256_add_ps(_mm256_sqrt_ps(v), eps)));
            }
            if (grads != NULL) {
                __m256 g = _mm256_loadu_ps(grads + k + at);
                m = _mm256_add_ps(m, _mm256_mul_ps(_mm256_sub_ps(g, m), c1));
                v = _mm256_add_ps(v, _mm256_mul_ps(_mm256_sub_ps(_mm256_mul_ps(g, g), v), c2));
                p = _mm256_sub_ps(p, _mm256_div_ps(_mm256_mul_ps(m, alpha_now),
                                                   _mm256_add_ps(_mm256_sqrt_ps(v), eps)));
            }
            bad = _mm256_or_si256(bad, _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_castps_si256(p), expo), expo));
            bad = _mm256_or_si256(bad, _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_castps_si256(m), expo), expo));
            bad = _mm256_or_si256(bad, _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_castps_si256(v), expo), expo));
            _mm256_storeu_ps(pp, p);
            _mm256_storeu_ps(pm, m);
            _mm256_storeu_ps(pv, v);
        }
        row_step[row] = t;
    }
    return (uint32_t)_mm256_movemask_epi8(bad);
}
#endif

SN_CLONES
int sn_optim_update_rows(const sn_optim *o, float *params, const float *grads, int64_t offset,
                         int32_t row_width, const int32_t *rows, int32_t n_rows,
                         int64_t *row_step)
{
    int64_t t = o->iterations;
    int lazy = sn_optim_is_lazy(o);
    int32_t i;
    int q;
    uint32_t bad = 0; /* nonzero once a written value is NaN or infinite */
    if (params == NULL || grads == NULL || row_width <= 0 || n_rows <= 0)
        return 1;
#if defined(SN_ADAM_ROWS_AVX2)
    if (o->kind == SEQNET_OPTIMIZER_ADAM && row_width >= 8 && lazy_ready(o, o->n_params) &&
        __builtin_cpu_supports("avx2")) {
        int32_t n_ok = 0; /* rows up to the first out of range, as below */
        while (n_ok < n_rows && lazy_ready(o, offset + ((int64_t)rows[n_ok] + 1) * row_width))
            n_ok++;
        return adam_rows_avx2(o, params, grads, offset, row_width, rows, n_ok, row_step) == 0;
    }
#endif
    for (i = 0; i < n_rows; i++) {
        int64_t k = offset + (int64_t)rows[i] * row_width;
        if (i + SN_ROWS_AHEAD < n_rows)
            prefetch_row(o, params, grads, offset + (int64_t)rows[i + SN_ROWS_AHEAD] * row_width,
                         row_width);
        if (!lazy_ready(o, k + row_width))
            break;
        if (lazy && row_step[rows[i]] < t - 1)
            replay_row(o, params, k, row_width, row_step[rows[i]], t - 1);
        update_range(o, params, grads, k, row_width, 0);
        row_step[rows[i]] = t;
        /* the row is in L1 now: checking it here costs almost nothing,
         * checking all rows afterwards meant a cache miss per row */
        bad |= nonfinite_bits(params + k, row_width);
        for (q = 0; q < 2; q++) /* and the optimizer's state of the row */
            if (o->slot[q] != NULL)
                bad |= nonfinite_bits(o->slot[q] + k, row_width);
    }
    return bad == 0;
}

SN_CLONES
int sn_grad_rows_finite(const float *grads, int32_t row_width, const int32_t *rows,
                        int32_t n_rows)
{
    uint32_t bad = 0;
    int32_t i;
    if (grads == NULL || row_width <= 0)
        return 1;
    for (i = 0; i < n_rows; i++)
        bad |= nonfinite_bits(grads + (int64_t)rows[i] * row_width, row_width);
    return bad == 0;
}

SN_CLONES
void sn_optim_catch_up(sn_optim *o, float *params, int64_t offset, int32_t row_width,
                       int64_t n_rows, int64_t *row_step)
{
    int64_t t = o->iterations, r;
    int lazy = sn_optim_is_lazy(o);
    if (params == NULL || row_width <= 0 || !lazy_ready(o, offset + n_rows * row_width))
        return;
#if defined(SN_ADAM_ROWS_AVX2)
    if (o->kind == SEQNET_OPTIMIZER_ADAM && row_width >= 8 && n_rows <= INT32_MAX &&
        __builtin_cpu_supports("avx2")) {
        (void)adam_rows_avx2(o, params, NULL, offset, row_width, NULL, (int32_t)n_rows, row_step);
        return;
    }
#endif
    for (r = 0; r < n_rows; r++) {
        if (lazy && row_step[r] < t)
            replay_row(o, params, offset + r * row_width, row_width, row_step[r], t);
        row_step[r] = t;
    }
}

/* ---- clipping ----------------------------------------------------------------- */

/* Sum of squares in double with eight independent partial sums: the chains
 * do not depend on each other, so the loop pipelines and vectorizes. */
static double sumsq_dense(const float *restrict x, int64_t n)
{
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    int j;
    for (; i + 8 <= n; i += 8)
        for (j = 0; j < 8; j++)
            acc[j] += (double)x[i + j] * (double)x[i + j];
    for (; i < n; i++)
        acc[0] += (double)x[i] * (double)x[i];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

double sn_grad_sumsq(const float *grads, int64_t count, const uint8_t *row_flags,
                     int32_t row_width)
{
    double total = 0.0;
    int64_t row, n_rows;
    if (grads == NULL || count <= 0)
        return 0.0;
    if (row_flags == NULL || row_width <= 0)
        return sumsq_dense(grads, count);
    n_rows = count / row_width;
    for (row = 0; row < n_rows; row++)
        if (row_flags[row])
            total += sumsq_dense(grads + row * row_width, row_width);
    return total + sumsq_dense(grads + n_rows * row_width, count - n_rows * row_width);
}

static void scale_dense(float *restrict x, int64_t n, float scale)
{
    int64_t i;
    for (i = 0; i < n; i++)
        x[i] *= scale;
}

void sn_grad_scale(float *grads, int64_t count, const uint8_t *row_flags, int32_t row_width,
                   float scale)
{
    int64_t row, n_rows;
    if (grads == NULL || count <= 0)
        return;
    if (row_flags == NULL || row_width <= 0) {
        scale_dense(grads, count, scale);
        return;
    }
    n_rows = count / row_width;
    for (row = 0; row < n_rows; row++)
        if (row_flags[row])
            scale_dense(grads + row * row_width, row_width, scale);
    scale_dense(grads + n_rows * row_width, count - n_rows * row_width, scale);
}

/* Clamp keeping NaN as NaN (both comparisons false), so the trainer's
 * non-finite check still sees it; fminf/fmaxf would hide it. */
static void clip_dense(float *restrict x, int64_t n, float value)
{
    int64_t i;
    for (i = 0; i < n; i++) {
        float xi = x[i];
        xi = xi > value ? value : xi;
        xi = xi < -value ? -value : xi;
        x[i] = xi;
    }
}

void sn_grad_clip_value(float *grads, int64_t count, const uint8_t *row_flags,
                        int32_t row_width, float value)
{
    int64_t row, n_rows;
    if (grads == NULL || count <= 0)
        return;
    if (row_flags == NULL || row_width <= 0) {
        clip_dense(grads, count, value);
        return;
    }
    n_rows = count / row_width;
    for (row = 0; row < n_rows; row++)
        if (row_flags[row])
            clip_dense(grads + row * row_width, row_width, value);
    clip_dense(grads + n_rows * row_width, count - n_rows * row_width, value);
}

float sn_grad_clipnorm_scale(double sumsq, double clipnorm)
{
    double norm;
    if (!isfinite(sumsq))
        return NAN;
    norm = sqrt(sumsq);
    /* Keras clip_by_norm: t * clip_norm / max(norm, clip_norm) */
    if (clipnorm <= 0.0 || norm <= clipnorm)
        return 1.0f;
    return (float)(clipnorm / norm);
}
