/*
 * lib/layers/activation.c -- element-wise activations with Keras semantics.
 *
 * Every activation is a plain loop selected by a switch *outside* the loop,
 * so the compiler sees straight-line element-wise code it can vectorize (no
 * function pointer per element). Backward works from the outputs y wherever
 * the derivative can be written in terms of y; only gelu needs the
 * pre-activation x (sn_act_needs_input), which keeps the memory a layer must
 * hold between forward and backward to the output it already has.
 *
 * Numerics (see also docs on numerics):
 *   sigmoid   exp(-|x|) form: never overflows, y in [0, 1].
 *   softplus  log1p(exp(-|x|)) + max(x, 0): exact for large |x|; its
 *             derivative sigmoid(x) is recovered from y as -expm1(-y), which
 *             is accurate both for y -> 0 and for large y.
 *   softmax   per row, after subtracting the row maximum.
 *   gelu      exact erf form (Keras default approximate=False).
 */
#include <math.h>
#include <string.h>

#include "layers/activation.h"
#include "layers/fastmath.h"

/* Keras's SELU constants (Klambauer et al. 2017). */
#define SELU_ALPHA 1.6732632423543772848170429916717f
#define SELU_SCALE 1.0507009873554804934193349852946f
#define INV_SQRT2 0.70710678118654752440f
#define INV_SQRT_2PI 0.39894228040143267794f

static const char *const act_names[] = {
    [SN_ACT_LINEAR] = "linear",   [SN_ACT_RELU] = "relu",
    [SN_ACT_SIGMOID] = "sigmoid", [SN_ACT_TANH] = "tanh",
    [SN_ACT_SOFTMAX] = "softmax", [SN_ACT_HARD_SIGMOID] = "hard_sigmoid",
    [SN_ACT_ELU] = "elu",         [SN_ACT_SELU] = "selu",
    [SN_ACT_SOFTPLUS] = "softplus", [SN_ACT_GELU] = "gelu",
};
#define N_ACTS ((int)(sizeof act_names / sizeof act_names[0]))

int sn_act_from_name(const char *name)
{
    int a;
    if (name == NULL)
        return -1;
    for (a = 0; a < N_ACTS; a++)
        if (strcmp(name, act_names[a]) == 0)
            return a;
    return -1;
}

const char *sn_act_name(int act)
{
    return act >= 0 && act < N_ACTS ? act_names[act] : "linear";
}

int sn_act_needs_input(int act)
{
    return act == SN_ACT_GELU;
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__) && \
    !defined(SN_NO_CLONES)
#define SN_ACT_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SN_ACT_CLONES
#endif

/* e^v for every element, in one pass that vectorizes (sn_fast_exp, within
 * 2 ulps; libm's expf, one call per element, was most of the cost of a
 * per-step Dense(2) softmax). Below -87, where e^v is no longer a normal
 * float, the result is 0: a logit pushed down by a large mask value gets
 * probability exactly 0. */
SN_ACT_CLONES static void exp_all(float *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++)
        v[i] = sn_fast_select(v[i] < -87.0f, 0.0f, sn_fast_exp(v[i]));
}

/* Two classes (the course's per-step Dense(2)): the same arithmetic as
 * softmax_rows below, with the row loops unrolled, so that the passes run
 * over whole rows of the block instead of two-float inner loops. */
static void softmax_rows2(const float *x, float *y, size_t rows)
{
    size_t r;
    for (r = 0; r < rows; r++) {
        float x0 = x[2 * r], x1 = x[2 * r + 1], m = x1 > x0 ? x1 : x0;
        y[2 * r] = x0 - m;
        y[2 * r + 1] = x1 - m;
    }
    exp_all(y, 2 * rows);
    for (r = 0; r < rows; r++) {
        float inv = 1.0f / ((0.0f + y[2 * r]) + y[2 * r + 1]);
        y[2 * r] *= inv;
        y[2 * r + 1] *= inv;
    }
}

/* Softmax of each row of [rows, width]: x - the row maximum, e^ of the
 * whole block in one pass, then each row over its sum. y may be x. */
static void softmax_rows(const float *x, float *y, size_t rows, size_t width)
{
    size_t r, i;
    if (width == 2) {
        softmax_rows2(x, y, rows);
        return;
    }
    for (r = 0; r < rows; r++) {
        const float *xr = x + r * width;
        float *yr = y + r * width, row_max = xr[0];
        for (i = 1; i < width; i++)
            row_max = xr[i] > row_max ? xr[i] : row_max;
        for (i = 0; i < width; i++)
            yr[i] = xr[i] - row_max;
    }
    exp_all(y, rows * width);
    for (r = 0; r < rows; r++) {
        float *yr = y + r * width, sum = 0.0f, inv;
        for (i = 0; i < width; i++)
            sum += yr[i];
        /* sum >= 1: the maximum contributes exp(0). */
        inv = 1.0f / sum;
        for (i = 0; i < width; i++)
            yr[i] *= inv;
    }
}

void sn_act_forward(int act, const float *x, float *y, size_t rows, size_t width)
{
    size_t n = rows * width, i;
    switch (act) {
    case SN_ACT_RELU:
        for (i = 0; i < n; i++)
            y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case SN_ACT_SIGMOID:
        for (i = 0; i < n; i++) {
            float e = expf(-fabsf(x[i]));
            float r = 1.0f / (1.0f + e);
            y[i] = x[i] >= 0.0f ? r : e * r;
        }
        break;
    case SN_ACT_TANH:
        for (i = 0; i < n; i++)
            y[i] = tanhf(x[i]);
        break;
    case SN_ACT_SOFTMAX:
        if (width == 0)
            break;
        softmax_rows(x, y, rows, width);
        break;
    case SN_ACT_HARD_SIGMOID:
        for (i = 0; i < n; i++) {
            float v = 0.2f * x[i] + 0.5f;
            v = v < 0.0f ? 0.0f : v;
            y[i] = v > 1.0f ? 1.0f : v;
        }
        break;
    case SN_ACT_ELU:
        for (i = 0; i < n; i++)
            y[i] = x[i] > 0.0f ? x[i] : expm1f(x[i]);
        break;
    case SN_ACT_SELU:
        for (i = 0; i < n; i++)
            y[i] = SELU_SCALE * (x[i] > 0.0f ? x[i] : SELU_ALPHA * expm1f(x[i]));
        break;
    case SN_ACT_SOFTPLUS:
        for (i = 0; i < n; i++)
            y[i] = log1pf(expf(-fabsf(x[i]))) + (x[i] > 0.0f ? x[i] : 0.0f);
        break;
    case SN_ACT_GELU:
        for (i = 0; i < n; i++)
            y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * INV_SQRT2));
        break;
    case SN_ACT_LINEAR:
    default:
        if (x != y)
            memmove(y, x, n * sizeof *y);
        break;
    }
}

void sn_act_backward(int act, const float *x, const float *y, float *grad, size_t rows,
                     size_t width)
{
    size_t n = rows * width, i, j;
    switch (act) {
    case SN_ACT_RELU:
        for (i = 0; i < n; i++)
            grad[i] = y[i] > 0.0f ? grad[i] : 0.0f;
        break;
    case SN_ACT_SIGMOID:
        for (i = 0; i < n; i++)
            grad[i] *= y[i] * (1.0f - y[i]);
        break;
    case SN_ACT_TANH:
        for (i = 0; i < n; i++)
            grad[i] *= 1.0f - y[i] * y[i];
        break;
    case SN_ACT_SOFTMAX:
        /* Jacobian-vector product per row: g_i <- y_i (g_i - sum_j g_j y_j). */
        for (i = 0; i < rows; i++) {
            const float *yr = y + i * width;
            float *gr = grad + i * width;
            float dot = 0.0f;
            for (j = 0; j < width; j++)
                dot += gr[j] * yr[j];
            for (j = 0; j < width; j++)
                gr[j] = yr[j] * (gr[j] - dot);
        }
        break;
    case SN_ACT_HARD_SIGMOID:
        /* Slope 0.2 strictly inside the linear segment, 0 where clipped. */
        for (i = 0; i < n; i++)
            grad[i] = y[i] > 0.0f && y[i] < 1.0f ? 0.2f * grad[i] : 0.0f;
        break;
    case SN_ACT_ELU:
        /* x <= 0: d/dx (e^x - 1) = e^x = y + 1. */
        for (i = 0; i < n; i++)
            grad[i] *= y[i] > 0.0f ? 1.0f : y[i] + 1.0f;
        break;
    case SN_ACT_SELU:
        /* x <= 0: scale * alpha * e^x = y + scale * alpha. */
        for (i = 0; i < n; i++)
            grad[i] *= y[i] > 0.0f ? SELU_SCALE : y[i] + SELU_SCALE * SELU_ALPHA;
        break;
    case SN_ACT_SOFTPLUS:
        /* softplus' = sigmoid(x) = 1 - exp(-y). */
        for (i = 0; i < n; i++)
            grad[i] *= -expm1f(-y[i]);
        break;
    case SN_ACT_GELU:
        /* d/dx x Phi(x) = Phi(x) + x phi(x). */
        for (i = 0; i < n; i++) {
            float cdf = 0.5f * (1.0f + erff(x[i] * INV_SQRT2));
            float pdf = INV_SQRT_2PI * expf(-0.5f * x[i] * x[i]);
            grad[i] *= cdf + x[i] * pdf;
        }
        break;
    case SN_ACT_LINEAR:
    default:
        break;
    }
}
