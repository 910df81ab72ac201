/*
 * lib/train/loss.c -- losses and metrics (Keras semantics) over host arrays.
 *
 * Every function here is pure: it reads pred / target / mask / weights and
 * writes the loss, the gradient or metric sums the caller asked for. Sums
 * are accumulated in double; the gradient is written in float.
 *
 * Work is done in two passes. The first validates and counts the (b, t)
 * elements that take part (mask, ignored sparse labels), so the reduction's
 * denominator is known; the second computes the loss and writes the
 * gradient already scaled by w_b / denominator. Nothing is written to grad
 * before validation has passed.
 *
 * Keras details reproduced (Keras 3 backends, see docs/ in the report):
 *  - binary cross-entropy on probabilities clips pred to [eps, 1 - eps]
 *    (eps = 1e-7) and takes -(y log p + (1 - y) log(1 - p)); where the clip
 *    is active the gradient is 0, as for the clip op in Keras;
 *  - categorical (and sparse categorical) cross-entropy on probabilities
 *    first normalises each row to sum 1, then clips to [eps, 1 - eps], then
 *    takes -sum y log q; the gradient includes the normalisation;
 *  - the from-logits forms use the stable max(z, 0) - z y + log1p(exp(-|z|))
 *    and log-softmax.
 */
#include <math.h>
#include <stddef.h>

#include "seqnet/train.h"
#include "train/loss.h"

/* Keras's backend.epsilon(). */
#define SN_LOSS_EPSILON 1e-7

static int is_sparse(int loss)
{
    return loss == SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ||
           loss == SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY_FROM_LOGITS;
}

int sn_loss_valid(int loss)
{
    return loss >= SEQNET_LOSS_BINARY_CROSSENTROPY &&
           loss <= SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY_FROM_LOGITS;
}

const char *sn_loss_name(int loss)
{
    switch (loss) {
    case SEQNET_LOSS_BINARY_CROSSENTROPY: return "binary_crossentropy";
    case SEQNET_LOSS_BINARY_CROSSENTROPY_FROM_LOGITS: return "binary_crossentropy_from_logits";
    case SEQNET_LOSS_CATEGORICAL_CROSSENTROPY: return "categorical_crossentropy";
    case SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY: return "sparse_categorical_crossentropy";
    case SEQNET_LOSS_MEAN_SQUARED_ERROR: return "mean_squared_error";
    case SEQNET_LOSS_MEAN_ABSOLUTE_ERROR: return "mean_absolute_error";
    case SEQNET_LOSS_CATEGORICAL_CROSSENTROPY_FROM_LOGITS:
        return "categorical_crossentropy_from_logits";
    case SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY_FROM_LOGITS:
        return "sparse_categorical_crossentropy_from_logits";
    default: return NULL;
    }
}

int32_t sn_loss_target_width(int loss, int32_t pred_width)
{
    return is_sparse(loss) ? 1 : pred_width;
}

/* ---- shared validation ---------------------------------------------------- */

/* Read a sparse class label: 1 for a valid class in *cls, 0 for an ignored
 * step (the label -1, the course's "missing target"), -1 for a label that is
 * not an integer in range (other negatives, fractions, NaN, infinity). */
static int sparse_class(float label, int32_t n_classes, int32_t *cls)
{
    if (label == -1.0f)
        return 0;
    if (label < 0.0f)
        return -1;
    if (!(label < (float)n_classes))
        return -1; /* also catches NaN */
    *cls = (int32_t)label; /* in [0, n_classes): the cast is defined */
    if ((float)*cls != label)
        return -1; /* not an integer (floorf is a libm call per row) */
    return 1;
}

/* Whether element (b, t) takes part, given its mask and (sparse) label. A
 * label that is out of range or not an integer is reported through *bad. */
static int counted(int sparse, const float *target_row, int32_t width,
                   const uint8_t *step_mask, int64_t row, int32_t *cls, int *bad)
{
    int r;
    *bad = 0;
    if (step_mask != NULL && step_mask[row] == 0)
        return 0;
    if (!sparse)
        return 1;
    r = sparse_class(target_row[0], width, cls);
    if (r < 0)
        *bad = 1;
    return r > 0;
}

/* Target i of a categorical row: the dense row y, or one-hot of cls when
 * y is NULL (sparse targets). */
static double target_at(const float *y, int32_t cls, int32_t i)
{
    return y != NULL ? y[i] : (i == cls ? 1.0 : 0.0);
}

static int bad_class_error(sn_object *err, const char *what, float label, int64_t row,
                           int32_t steps, int32_t width)
{
    return sn_error(err, SEQNET_ERANGE,
                    "%s: target %g at sample %lld step %lld is not a class index in [0, %d)",
                    what, (double)label, (long long)(row / steps), (long long)(row % steps),
                    (int)width);
}

static int check_args(const float *pred, const float *target, int32_t batch, int32_t steps,
                      int32_t width, sn_object *err)
{
    if (pred == NULL || target == NULL)
        return sn_error(err, SEQNET_EINVAL, "loss: pred and target must not be NULL");
    if (batch < 0 || steps < 1 || width < 1)
        return sn_error(err, SEQNET_EINVAL,
                        "loss: bad shape [batch %d, steps %d, width %d]", (int)batch,
                        (int)steps, (int)width);
    return SEQNET_OK;
}

static int all_finite(const float *x, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

static double row_sum(const float *x, int32_t n)
{
    double s = 0.0;
    int32_t i;
    for (i = 0; i < n; i++)
        s += x[i];
    return s;
}

/* ---- per-element losses ------------------------------------------------------
 * Each takes one (b, t) row and `scale` = w_b / denominator; it returns the
 * unweighted element loss and, when g is not NULL, writes scale * dl/dpred. */

static double row_bce(const float *p, const float *y, int32_t width, double scale, float *g)
{
    const double lo = SN_LOSS_EPSILON, hi = 1.0 - SN_LOSS_EPSILON;
    double sum = 0.0, gscale = scale / width;
    int32_t i;
    for (i = 0; i < width; i++) {
        double pi = p[i], yi = y[i];
        int clipped = pi < lo || pi > hi;
        double c = pi < lo ? lo : (pi > hi ? hi : pi);
        sum -= yi * log(c) + (1.0 - yi) * log(1.0 - c);
        if (g != NULL)
            g[i] = clipped ? 0.0f : (float)(gscale * ((1.0 - yi) / (1.0 - c) - yi / c));
    }
    return sum / width;
}

static double row_bce_logits(const float *z, const float *y, int32_t width, double scale,
                             float *g)
{
    double sum = 0.0, gscale = scale / width;
    int32_t i;
    for (i = 0; i < width; i++) {
        double zi = z[i], yi = y[i];
        sum += (zi > 0.0 ? zi : 0.0) - zi * yi + log1p(exp(-fabs(zi)));
        if (g != NULL) {
            /* sigmoid written so that exp never overflows */
            double e = exp(-fabs(zi));
            double sig = zi >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
            g[i] = (float)(gscale * (sig - yi));
        }
    }
    return sum / width;
}

/* Categorical cross-entropy on probabilities. `y` is the one-hot (or soft)
 * target row, or NULL for a sparse target `cls`. With s = sum p,
 * q = p / s, c = clip(q), L = -sum y log c:
 *   dL/dp_k = (u_k - sum_i u_i q_i) / s,  u_i = -y_i / c_i (0 where clipped). */
static double row_cce(const float *p, const float *y, int32_t cls, int32_t width,
                      double scale, float *g)
{
    const double lo = SN_LOSS_EPSILON, hi = 1.0 - SN_LOSS_EPSILON;
    double s = row_sum(p, width), loss = 0.0, uq = 0.0;
    int32_t i;
    if (y == NULL) {
        /* A class index k: L = -log(p_k / s) with s the row sum, so
         * dL/dp_i = 1/s - [i = k] / p_k (and 0 where the clip holds q).
         * Two divisions per row instead of the general loop's two per
         * element and two more for the quotient's chain rule. */
        double q = p[cls] / s, c = q < lo ? lo : (q > hi ? hi : q);
        int inside = !(q < lo || q > hi);
        loss -= log(c);
        if (g != NULL) {
            double t = inside ? scale / s : 0.0;
            for (i = 0; i < width; i++)
                g[i] = (float)t;
            if (inside)
                g[cls] = (float)(t - scale / p[cls]);
        }
        return loss;
    }
    for (i = 0; i < width; i++) {
        double yi = target_at(y, cls, i);
        double q = p[i] / s;
        double c = q < lo ? lo : (q > hi ? hi : q);
        if (yi != 0.0) {
            loss -= yi * log(c);
            if (!(q < lo || q > hi))
                uq += -yi / c * q;
        }
    }
    if (g != NULL) {
        for (i = 0; i < width; i++) {
            double yi = target_at(y, cls, i);
            double q = p[i] / s;
            double u = (yi != 0.0 && !(q < lo || q > hi)) ? -yi / q : 0.0;
            g[i] = (float)(scale * (u - uq) / s);
        }
    }
    return loss;
}

/* Categorical cross-entropy on logits through log-softmax:
 * L = -sum y_i (z_i - lse), dL/dz_k = softmax_k * sum(y) - y_k. */
static double row_cce_logits(const float *z, const float *y, int32_t cls, int32_t width,
                             double scale, float *g)
{
    double zmax = z[0], se = 0.0, lse, loss = 0.0, ysum = 0.0;
    int32_t i;
    for (i = 1; i < width; i++)
        if (z[i] > zmax)
            zmax = z[i];
    for (i = 0; i < width; i++)
        se += exp(z[i] - zmax);
    lse = zmax + log(se);
    for (i = 0; i < width; i++) {
        double yi = target_at(y, cls, i);
        if (yi != 0.0)
            loss -= yi * (z[i] - lse);
        ysum += yi;
    }
    if (g != NULL) {
        for (i = 0; i < width; i++) {
            double yi = target_at(y, cls, i);
            g[i] = (float)(scale * (exp(z[i] - lse) * ysum - yi));
        }
    }
    return loss;
}

static double row_mse(const float *p, const float *y, int32_t width, double scale, float *g)
{
    double sum = 0.0, gscale = 2.0 * scale / width;
    int32_t i;
    for (i = 0; i < width; i++) {
        double d = (double)p[i] - (double)y[i];
        sum += d * d;
        if (g != NULL)
            g[i] = (float)(gscale * d);
    }
    return sum / width;
}

static double row_mae(const float *p, const float *y, int32_t width, double scale, float *g)
{
    double sum = 0.0, gscale = scale / width;
    int32_t i;
    for (i = 0; i < width; i++) {
        double d = (double)p[i] - (double)y[i];
        sum += fabs(d);
        if (g != NULL) /* sign(0) = 0, as the subgradient Keras/TF uses */
            g[i] = (float)(d > 0.0 ? gscale : (d < 0.0 ? -gscale : 0.0));
    }
    return sum / width;
}

int sn_loss_compute(int loss, int reduction, const float *pred, const float *target,
                    int32_t batch, int32_t steps, int32_t width, const uint8_t *step_mask,
                    const float *sample_weight, double *loss_out, float *grad,
                    double *n_counted, sn_object *err)
{
    const int sparse = is_sparse(loss);
    const int32_t twidth = sparse ? 1 : width;
    const int64_t n_rows = (int64_t)batch * steps;
    int64_t row, n_count = 0;
    double total = 0.0, denom;
    int rc;

    if (!sn_loss_valid(loss))
        return sn_error(err, SEQNET_EINVAL, "loss: unknown loss id %d", loss);
    if (reduction != SEQNET_REDUCTION_MEAN && reduction != SEQNET_REDUCTION_SUM_OVER_STEPS)
        return sn_error(err, SEQNET_EINVAL, "loss: unknown reduction %d", reduction);
    if (loss_out == NULL)
        return sn_error(err, SEQNET_EINVAL, "loss: loss_out must not be NULL");
    rc = check_args(pred, target, batch, steps, width, err);
    if (rc != SEQNET_OK)
        return rc;

    /* pass 1: validate and count */
    for (row = 0; row < n_rows; row++) {
        const float *p = pred + row * width, *y = target + row * twidth;
        int32_t cls = 0;
        int bad;
        if (!counted(sparse, y, width, step_mask, row, &cls, &bad)) {
            if (bad)
                return bad_class_error(err, sn_loss_name(loss), y[0], row, steps, width);
            continue;
        }
        if (!all_finite(p, width) || (!sparse && !all_finite(y, twidth)))
            return sn_error(err, SEQNET_ENONFINITE,
                            "%s: non-finite prediction or target at sample %lld step %lld",
                            sn_loss_name(loss), (long long)(row / steps),
                            (long long)(row % steps));
        if ((loss == SEQNET_LOSS_CATEGORICAL_CROSSENTROPY ||
             loss == SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY) &&
            !(row_sum(p, width) > 0.0))
            return sn_error(err, SEQNET_ENONFINITE,
                            "%s: prediction row at sample %lld step %lld sums to 0 or less: "
                            "it cannot be normalised to probabilities",
                            sn_loss_name(loss), (long long)(row / steps),
                            (long long)(row % steps));
        n_count++;
    }
    denom = reduction == SEQNET_REDUCTION_MEAN ? (double)n_count : (double)batch;

    /* pass 2: loss and scaled gradient */
    for (row = 0; row < n_rows; row++) {
        const float *p = pred + row * width, *y = target + row * twidth;
        float *g = grad != NULL ? grad + row * width : NULL;
        double w = sample_weight != NULL ? sample_weight[row / steps] : 1.0;
        double scale, l = 0.0;
        int32_t cls = 0, i;
        int bad;
        if (!counted(sparse, y, width, step_mask, row, &cls, &bad)) {
            if (g != NULL)
                for (i = 0; i < width; i++)
                    g[i] = 0.0f;
            continue;
        }
        scale = w / denom; /* denom >= 1 here: this row is counted */
        switch (loss) {
        case SEQNET_LOSS_BINARY_CROSSENTROPY: l = row_bce(p, y, width, scale, g); break;
        case SEQNET_LOSS_BINARY_CROSSENTROPY_FROM_LOGITS:
            l = row_bce_logits(p, y, width, scale, g);
            break;
        case SEQNET_LOSS_CATEGORICAL_CROSSENTROPY: l = row_cce(p, y, 0, width, scale, g); break;
        case SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY:
            l = row_cce(p, NULL, cls, width, scale, g);
            break;
        case SEQNET_LOSS_CATEGORICAL_CROSSENTROPY_FROM_LOGITS:
            l = row_cce_logits(p, y, 0, width, scale, g);
            break;
        case SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY_FROM_LOGITS:
            l = row_cce_logits(p, NULL, cls, width, scale, g);
            break;
        case SEQNET_LOSS_MEAN_SQUARED_ERROR: l = row_mse(p, y, width, scale, g); break;
        default: l = row_mae(p, y, width, scale, g); break;
        }
        total += w * l;
    }
    total = n_count > 0 && denom > 0.0 ? total / denom : 0.0;
    if (n_counted != NULL)
        *n_counted = (double)n_count;
    *loss_out = total;
    if (!isfinite(total))
        return sn_error(err, SEQNET_ENONFINITE,
                        "%s: the loss is not finite (a prediction row summing to 0, "
                        "or a non-finite sample weight?)",
                        sn_loss_name(loss));
    return SEQNET_OK;
}

/* ---- metrics --------------------------------------------------------------- */

int sn_metric_valid(int metric)
{
    return metric >= SEQNET_METRIC_BINARY_ACCURACY &&
           metric <= SEQNET_METRIC_MEAN_ABSOLUTE_ERROR;
}

const char *sn_metric_name(int metric)
{
    switch (metric) {
    case SEQNET_METRIC_BINARY_ACCURACY: return "binary_accuracy";
    case SEQNET_METRIC_CATEGORICAL_ACCURACY: return "categorical_accuracy";
    case SEQNET_METRIC_SPARSE_CATEGORICAL_ACCURACY: return "sparse_categorical_accuracy";
    case SEQNET_METRIC_MEAN_SQUARED_ERROR: return "mean_squared_error";
    case SEQNET_METRIC_MEAN_ABSOLUTE_ERROR: return "mean_absolute_error";
    default: return NULL;
    }
}

/* Index of the first maximum (Keras/numpy argmax on ties). */
static int32_t argmax_first(const float *x, int32_t width)
{
    int32_t i, best = 0;
    for (i = 1; i < width; i++)
        if (x[i] > x[best])
            best = i;
    return best;
}

int sn_metric_accumulate(int metric, const float *pred, const float *target, int32_t batch,
                         int32_t steps, int32_t width, const uint8_t *step_mask,
                         const float *sample_weight, double *sum, double *count,
                         sn_object *err)
{
    const int sparse = metric == SEQNET_METRIC_SPARSE_CATEGORICAL_ACCURACY;
    const int32_t twidth = sparse ? 1 : width;
    const int64_t n_rows = (int64_t)batch * steps;
    double batch_sum = 0.0, batch_count = 0.0;
    int64_t row;
    int rc;

    if (!sn_metric_valid(metric))
        return sn_error(err, SEQNET_EINVAL, "metric: unknown metric id %d", metric);
    if (sum == NULL || count == NULL)
        return sn_error(err, SEQNET_EINVAL, "metric: sum and count must not be NULL");
    rc = check_args(pred, target, batch, steps, width, err);
    if (rc != SEQNET_OK)
        return rc;

    for (row = 0; row < n_rows; row++) {
        const float *p = pred + row * width, *y = target + row * twidth;
        double w = sample_weight != NULL ? sample_weight[row / steps] : 1.0;
        double v = 0.0;
        int32_t cls = 0, i;
        int bad;
        if (!counted(sparse, y, width, step_mask, row, &cls, &bad)) {
            if (bad)
                return bad_class_error(err, sn_metric_name(metric), y[0], row, steps, width);
            continue;
        }
        switch (metric) {
        case SEQNET_METRIC_BINARY_ACCURACY:
            for (i = 0; i < width; i++)
                v += (p[i] > 0.5f) == (y[i] > 0.5f);
            v /= width;
            break;
        case SEQNET_METRIC_CATEGORICAL_ACCURACY:
            v = argmax_first(p, width) == argmax_first(y, width);
            break;
        case SEQNET_METRIC_SPARSE_CATEGORICAL_ACCURACY:
            v = argmax_first(p, width) == cls;
            break;
        case SEQNET_METRIC_MEAN_SQUARED_ERROR:
            for (i = 0; i < width; i++) {
                double d = (double)p[i] - (double)y[i];
                v += d * d;
            }
            v /= width;
            break;
        default:
            for (i = 0; i < width; i++)
                v += fabs((double)p[i] - (double)y[i]);
            v /= width;
            break;
        }
        batch_sum += w * v;
        batch_count += w;
    }
    /* Only touch the caller's sums once the whole batch was valid. */
    *sum += batch_sum;
    *count += batch_count;
    return SEQNET_OK;
}
