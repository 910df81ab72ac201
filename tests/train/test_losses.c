/*
 * tests/train/test_losses.c -- losses, metrics, optimizers and clipping
 * (white-box: lib/train/loss.h and lib/train/optim.h).
 *
 * Expected values are computed independently: hand-worked numbers for the
 * losses and metrics, central finite differences for every loss gradient,
 * and a double-precision re-implementation of Keras 3's update rules for
 * the optimizers.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/sn_core.h"
#include "seqnet/train.h"
#include "train/loss.h"
#include "train/optim.h"

#define ALL_LOSSES 8

static sn_object err_obj;

static void setup(void)
{
    sn_alloc a;
    sn_default_alloc(&a);
    sn_object_init(&err_obj, SN_MAGIC_OTHER, &a);
}

/* Deterministic pseudo-random floats in [lo, hi) (a tiny LCG: tests must not
 * depend on the library's RNG). */
static unsigned long lcg_state;
static float urand(float lo, float hi)
{
    lcg_state = lcg_state * 6364136223846793005ul + 1442695040888963407ul;
    return lo + (hi - lo) * (float)((lcg_state >> 40) & 0xffffff) / 16777216.0f;
}

static double loss_value(int loss, int reduction, const float *pred, const float *target,
                         int32_t batch, int32_t steps, int32_t width, const uint8_t *mask,
                         const float *weights)
{
    double value = -1.0;
    int rc = sn_loss_compute(loss, reduction, pred, target, batch, steps, width, mask, weights,
                             &value, NULL, NULL, &err_obj);
    ck_assert_msg(rc == SEQNET_OK, "loss %d failed: %s", loss, err_obj.errmsg);
    return value;
}

#define ck_close(got, want, tol)                                                          \
    ck_assert_msg(fabs((double)(got) - (double)(want)) <= (tol) * (1.0 + fabs((double)(want))), \
                  "%s = %.9g, expected %.9g", #got, (double)(got), (double)(want))

/* ---- finite-difference gradient checks ------------------------------------ */

/* Fill pred / target for `loss` with values away from clips and kinks:
 * probabilities in [0.1, 0.9] (rows of categorical losses summing to about
 * 1.5, which exercises the normalisation), logits in [-3, 3], regression
 * targets at least 0.1 away from the prediction (MAE's kink). */
static void fill_case(int loss, float *pred, float *target, int32_t rows, int32_t width)
{
    int32_t r, i;
    for (r = 0; r < rows; r++) {
        float *p = pred + (int64_t)r * width;
        for (i = 0; i < width; i++) {
            switch (loss) {
            case SEQNET_LOSS_BINARY_CROSSENTROPY:
                p[i] = urand(0.1f, 0.9f);
                target[(int64_t)r * width + i] = urand(0.0f, 1.0f) < 0.5f ? 0.0f : 1.0f;
                break;
            case SEQNET_LOSS_BINARY_CROSSENTROPY_FROM_LOGITS:
                p[i] = urand(-3.0f, 3.0f);
                target[(int64_t)r * width + i] = urand(0.0f, 1.0f); /* soft labels */
                break;
            case SEQNET_LOSS_CATEGORICAL_CROSSENTROPY:
            case SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY:
                p[i] = urand(0.2f, 0.8f) * 1.5f / (float)width * 2.0f;
                break;
            case SEQNET_LOSS_CATEGORICAL_CROSSENTROPY_FROM_LOGITS:
            case SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY_FROM_LOGITS:
                p[i] = urand(-3.0f, 3.0f);
                break;
            default: {
                float y = urand(-1.0f, 1.0f);
                target[(int64_t)r * width + i] = y;
                p[i] = y + (urand(0.0f, 1.0f) < 0.5f ? -1.0f : 1.0f) * urand(0.1f, 1.0f);
                break;
            }
            }
        }
        if (loss == SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ||
            loss == SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY_FROM_LOGITS) {
            target[r] = (float)(r % width);
        } else if (loss == SEQNET_LOSS_CATEGORICAL_CROSSENTROPY) {
            /* a soft target row, the shape Keras accepts */
            for (i = 0; i < width; i++)
                target[(int64_t)r * width + i] = i == r % width ? 0.7f : 0.3f / (float)(width - 1);
        } else if (loss == SEQNET_LOSS_CATEGORICAL_CROSSENTROPY_FROM_LOGITS) {
            for (i = 0; i < width; i++)
                target[(int64_t)r * width + i] = i == r % width ? 1.0f : 0.0f;
        }
    }
}

/* Compare the analytic gradient with central differences for every element;
 * elements that do not count must get exactly 0. */
static void gradcheck(int loss, int reduction, int32_t batch, int32_t steps, int32_t width,
                      const uint8_t *mask, const float *weights, int ignore_some)
{
    int32_t rows = batch * steps, twidth = sn_loss_target_width(loss, width);
    int64_t n = (int64_t)rows * width, k;
    float *pred = malloc(sizeof(float) * (size_t)n);
    float *target = malloc(sizeof(float) * (size_t)rows * (size_t)twidth);
    float *grad = malloc(sizeof(float) * (size_t)n);
    double value, counted;
    int rc, n_nonzero = 0;

    lcg_state = (unsigned long)(loss * 1000 + reduction * 100 + steps);
    fill_case(loss, pred, target, rows, width);
    if (ignore_some) /* the course's missing targets */
        for (k = 1; k < rows; k += 3)
            target[k] = -1.0f;

    rc = sn_loss_compute(loss, reduction, pred, target, batch, steps, width, mask, weights,
                         &value, grad, &counted, &err_obj);
    ck_assert_msg(rc == SEQNET_OK, "%s", err_obj.errmsg);
    ck_assert(isfinite(value));

    for (k = 0; k < n; k++) {
        int64_t row = k / width;
        int skipped = (mask != NULL && mask[row] == 0) ||
                      (ignore_some && target[row] < 0.0f);
        float saved = pred[k];
        float plus = saved + 1e-3f, minus = saved - 1e-3f;
        double up, down, numeric;
        pred[k] = plus;
        up = loss_value(loss, reduction, pred, target, batch, steps, width, mask, weights);
        pred[k] = minus;
        down = loss_value(loss, reduction, pred, target, batch, steps, width, mask, weights);
        pred[k] = saved;
        numeric = (up - down) / ((double)plus - (double)minus);
        if (skipped) {
            ck_assert_msg(grad[k] == 0.0f, "element %lld does not count but has gradient %g",
                          (long long)k, (double)grad[k]);
            ck_assert(numeric == 0.0);
            continue;
        }
        if (grad[k] != 0.0f)
            n_nonzero++;
        ck_assert_msg(fabs(grad[k] - numeric) <= 2e-3 * fabs(numeric) + 2e-6,
                      "%s red %d: d/dpred[%lld] analytic %.8g numeric %.8g",
                      sn_loss_name(loss), reduction, (long long)k, (double)grad[k], numeric);
    }
    ck_assert_int_gt(n_nonzero, 0);
    free(pred);
    free(target);
    free(grad);
}

START_TEST(gradcheck_vector_output_mean)
{
    /* _i is the loss id: every loss, vector outputs (steps 1), no mask */
    gradcheck(_i, SEQNET_REDUCTION_MEAN, 3, 1, 4, NULL, NULL, 0);
}
END_TEST

START_TEST(gradcheck_vector_output_sample_weights)
{
    static const float weights[3] = {0.5f, 2.0f, 0.0f};
    gradcheck(_i, SEQNET_REDUCTION_MEAN, 3, 1, 3, NULL, weights, 0);
}
END_TEST

START_TEST(gradcheck_per_step_masked_weighted_mean)
{
    static const uint8_t mask[2 * 4] = {1, 1, 1, 0, 1, 1, 0, 0};
    static const float weights[2] = {1.5f, 0.25f};
    gradcheck(_i, SEQNET_REDUCTION_MEAN, 2, 4, 3, mask, weights, 0);
}
END_TEST

START_TEST(gradcheck_per_step_masked_weighted_sum_over_steps)
{
    static const uint8_t mask[2 * 4] = {0, 1, 1, 1, 1, 1, 1, 0};
    static const float weights[2] = {0.75f, 2.0f};
    gradcheck(_i, SEQNET_REDUCTION_SUM_OVER_STEPS, 2, 4, 3, mask, weights, 0);
}
END_TEST

START_TEST(gradcheck_sparse_ignored_labels)
{
    static const uint8_t mask[3 * 3] = {1, 1, 1, 1, 1, 0, 1, 1, 1};
    int loss = _i == 0 ? SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY
                       : SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY_FROM_LOGITS;
    gradcheck(loss, SEQNET_REDUCTION_MEAN, 3, 3, 4, mask, NULL, 1);
    gradcheck(loss, SEQNET_REDUCTION_SUM_OVER_STEPS, 3, 3, 4, NULL, NULL, 1);
}
END_TEST

/* ---- values against hand-computed numbers --------------------------------- */

START_TEST(bce_probabilities_value)
{
    const float pred[2] = {0.8f, 0.3f}, target[2] = {1.0f, 0.0f};
    /* (-ln 0.8 - ln 0.7) / 2, with the float inputs */
    double want = (-log((double)0.8f) - log(1.0 - (double)0.3f)) / 2.0;
    ck_close(loss_value(SEQNET_LOSS_BINARY_CROSSENTROPY, 0, pred, target, 1, 1, 2, NULL, NULL),
             want, 1e-12);
    ck_close(want, 0.289909247, 1e-7);
}
END_TEST

START_TEST(bce_probabilities_clipped_to_keras_epsilon_with_zero_gradient)
{
    const float pred[3] = {0.0f, 1.0f, 0.5f}, target[3] = {1.0f, 0.0f, 1.0f};
    float grad[3];
    double value;
    ck_assert_int_eq(sn_loss_compute(SEQNET_LOSS_BINARY_CROSSENTROPY, 0, pred, target, 1, 1, 3,
                                     NULL, NULL, &value, grad, NULL, &err_obj),
                     SEQNET_OK);
    /* -ln(1e-7) twice (p clipped to 1e-7 and to 1 - 1e-7) and -ln 0.5 */
    ck_close(value, (2.0 * 16.11809565095832 + 0.6931471805599453) / 3.0, 1e-9);
    ck_assert(grad[0] == 0.0f && grad[1] == 0.0f);
    ck_close(grad[2], -2.0 / 3.0, 1e-6);
}
END_TEST

START_TEST(bce_from_logits_value_is_stable)
{
    const float pred[3] = {2.0f, -1.0f, -200.0f}, target[3] = {1.0f, 1.0f, 0.0f};
    float grad[3];
    double value;
    /* softplus(-2) + softplus(1) + softplus(-200), /3 */
    double want = (0.12692801104297263 + 1.3132616875182228 + exp(-200.0)) / 3.0;
    ck_assert_int_eq(sn_loss_compute(SEQNET_LOSS_BINARY_CROSSENTROPY_FROM_LOGITS, 0, pred, target,
                                     1, 1, 3, NULL, NULL, &value, grad, NULL, &err_obj),
                     SEQNET_OK);
    ck_close(value, want, 1e-12);
    ck_close(grad[0], (1.0 / (1.0 + exp(-2.0)) - 1.0) / 3.0, 1e-6);
    ck_assert(grad[2] >= 0.0f && grad[2] < 1e-30f);
}
END_TEST

START_TEST(categorical_crossentropy_normalises_rows)
{
    const float normalised[3] = {0.2f, 0.6f, 0.2f}, scaled[3] = {1.0f, 3.0f, 1.0f};
    const float onehot[3] = {0.0f, 1.0f, 0.0f}, sparse[1] = {1.0f};
    const double want = 0.5108256237659907; /* -ln 0.6 */
    ck_close(loss_value(SEQNET_LOSS_CATEGORICAL_CROSSENTROPY, 0, normalised, onehot, 1, 1, 3,
                        NULL, NULL), want, 1e-7);
    ck_close(loss_value(SEQNET_LOSS_CATEGORICAL_CROSSENTROPY, 0, scaled, onehot, 1, 1, 3, NULL,
                        NULL), want, 1e-12);
    ck_close(loss_value(SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 0, scaled, sparse, 1, 1, 3,
                        NULL, NULL), want, 1e-12);
}
END_TEST

START_TEST(categorical_crossentropy_clips_after_normalising)
{
    const float pred[2] = {0.0f, 1.0f}, onehot[2] = {1.0f, 0.0f};
    float grad[2];
    double value;
    ck_assert_int_eq(sn_loss_compute(SEQNET_LOSS_CATEGORICAL_CROSSENTROPY, 0, pred, onehot, 1, 1,
                                     2, NULL, NULL, &value, grad, NULL, &err_obj),
                     SEQNET_OK);
    ck_close(value, 16.11809565095832, 1e-9); /* -ln(1e-7) */
    ck_assert(grad[0] == 0.0f && grad[1] == 0.0f);
}
END_TEST

START_TEST(categorical_crossentropy_from_logits_value)
{
    const float logits[3] = {1.0f, 2.0f, 3.0f}, onehot[3] = {0.0f, 0.0f, 1.0f};
    const float sparse[1] = {2.0f};
    const double want = 0.40760596444438013; /* ln(e + e^2 + e^3) - 3 */
    ck_close(loss_value(SEQNET_LOSS_CATEGORICAL_CROSSENTROPY_FROM_LOGITS, 0, logits, onehot, 1, 1,
                        3, NULL, NULL), want, 1e-12);
    ck_close(loss_value(SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY_FROM_LOGITS, 0, logits,
                        sparse, 1, 1, 3, NULL, NULL), want, 1e-12);
}
END_TEST

START_TEST(mse_and_mae_average_over_width)
{
    const float pred[2] = {1.0f, 2.0f}, target[2] = {0.0f, 4.0f};
    ck_close(loss_value(SEQNET_LOSS_MEAN_SQUARED_ERROR, 0, pred, target, 1, 1, 2, NULL, NULL),
             2.5, 1e-15);
    ck_close(loss_value(SEQNET_LOSS_MEAN_ABSOLUTE_ERROR, 0, pred, target, 1, 1, 2, NULL, NULL),
             1.5, 1e-15);
}
END_TEST

START_TEST(mae_gradient_is_zero_at_zero_error)
{
    const float pred[3] = {1.0f, 2.0f, 3.0f}, target[3] = {1.0f, 1.0f, 4.0f};
    float grad[3];
    double value;
    ck_assert_int_eq(sn_loss_compute(SEQNET_LOSS_MEAN_ABSOLUTE_ERROR, 0, pred, target, 1, 1, 3,
                                     NULL, NULL, &value, grad, NULL, &err_obj),
                     SEQNET_OK);
    ck_assert(grad[0] == 0.0f);
    ck_close(grad[1], 1.0 / 3.0, 1e-7);
    ck_close(grad[2], -1.0 / 3.0, 1e-7);
}
END_TEST

/* Per-step MSE, batch 2, steps 3, width 1. Squared errors:
 * sample 0: 1, 4, 9 (step 2 masked); sample 1: 16, 25, 36. Weights 2, 0. */
static const float red_pred[6] = {1, 2, 3, 4, 5, 6};
static const float red_target[6] = {0, 0, 0, 0, 0, 0};
static const uint8_t red_mask[6] = {1, 1, 0, 1, 1, 1};
static const float red_weights[2] = {2.0f, 0.0f};

START_TEST(reduction_mean_averages_unmasked_steps)
{
    double counted = 0.0, value = 0.0;
    ck_close(loss_value(SEQNET_LOSS_MEAN_SQUARED_ERROR, SEQNET_REDUCTION_MEAN, red_pred,
                        red_target, 2, 3, 1, red_mask, NULL),
             (1.0 + 4 + 16 + 25 + 36) / 5.0, 1e-15);
    ck_assert_int_eq(sn_loss_compute(SEQNET_LOSS_MEAN_SQUARED_ERROR, SEQNET_REDUCTION_MEAN,
                                     red_pred, red_target, 2, 3, 1, red_mask, NULL, &value, NULL,
                                     &counted, &err_obj),
                     SEQNET_OK);
    ck_assert(counted == 5.0);
}
END_TEST

START_TEST(reduction_zero_sample_weight_stays_in_denominator)
{
    ck_close(loss_value(SEQNET_LOSS_MEAN_SQUARED_ERROR, SEQNET_REDUCTION_MEAN, red_pred,
                        red_target, 2, 3, 1, red_mask, red_weights),
             2.0 * (1.0 + 4) / 5.0, 1e-15);
}
END_TEST

START_TEST(reduction_sum_over_steps_divides_by_batch)
{
    ck_close(loss_value(SEQNET_LOSS_MEAN_SQUARED_ERROR, SEQNET_REDUCTION_SUM_OVER_STEPS,
                        red_pred, red_target, 2, 3, 1, red_mask, NULL),
             (1.0 + 4 + 16 + 25 + 36) / 2.0, 1e-15);
    ck_close(loss_value(SEQNET_LOSS_MEAN_SQUARED_ERROR, SEQNET_REDUCTION_SUM_OVER_STEPS,
                        red_pred, red_target, 2, 3, 1, red_mask, red_weights),
             2.0 * (1.0 + 4) / 2.0, 1e-15);
}
END_TEST

START_TEST(sparse_ignored_labels_do_not_count)
{
    /* steps with target -1 neither add loss nor count in the mean */
    const float logits[3 * 2] = {0, 0, 5, 0, 0, 5};
    const float target[3] = {0.0f, -1.0f, 1.0f};
    float grad[6];
    double value, counted;
    ck_assert_int_eq(sn_loss_compute(SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY_FROM_LOGITS,
                                     SEQNET_REDUCTION_MEAN, logits, target, 1, 3, 2, NULL, NULL,
                                     &value, grad, &counted, &err_obj),
                     SEQNET_OK);
    ck_assert(counted == 2.0);
    ck_close(value, (log(2.0) + log1p(exp(-5.0))) / 2.0, 1e-12);
    ck_assert(grad[2] == 0.0f && grad[3] == 0.0f);
}
END_TEST

START_TEST(everything_masked_gives_zero_loss)
{
    const uint8_t mask[2] = {0, 0};
    float grad[2] = {7, 7};
    double value = -1.0, counted = -1.0;
    ck_assert_int_eq(sn_loss_compute(SEQNET_LOSS_MEAN_SQUARED_ERROR, SEQNET_REDUCTION_MEAN,
                                     red_pred, red_target, 1, 2, 1, mask, NULL, &value, grad,
                                     &counted, &err_obj),
                     SEQNET_OK);
    ck_assert(value == 0.0 && counted == 0.0 && grad[0] == 0.0f && grad[1] == 0.0f);
}
END_TEST

/* ---- bad arguments ---------------------------------------------------------- */

START_TEST(unknown_loss_or_reduction_is_einval)
{
    double value;
    ck_assert_int_eq(sn_loss_compute(0, 0, red_pred, red_target, 1, 1, 1, NULL, NULL, &value,
                                     NULL, NULL, &err_obj),
                     SEQNET_EINVAL);
    ck_assert_int_eq(sn_loss_compute(99, 0, red_pred, red_target, 1, 1, 1, NULL, NULL, &value,
                                     NULL, NULL, &err_obj),
                     SEQNET_EINVAL);
    ck_assert(strlen(err_obj.errmsg) > 0);
    ck_assert_int_eq(sn_loss_compute(SEQNET_LOSS_MEAN_SQUARED_ERROR, 2, red_pred, red_target, 1,
                                     1, 1, NULL, NULL, &value, NULL, NULL, &err_obj),
                     SEQNET_EINVAL);
    ck_assert_int_eq(sn_loss_compute(SEQNET_LOSS_MEAN_SQUARED_ERROR, 0, NULL, red_target, 1, 1,
                                     1, NULL, NULL, &value, NULL, NULL, &err_obj),
                     SEQNET_EINVAL);
    ck_assert_int_eq(sn_loss_compute(SEQNET_LOSS_MEAN_SQUARED_ERROR, 0, red_pred, red_target, 1,
                                     1, 0, NULL, NULL, &value, NULL, NULL, &err_obj),
                     SEQNET_EINVAL);
    ck_assert(!sn_loss_valid(0) && !sn_loss_valid(9) && sn_loss_name(9) == NULL);
}
END_TEST

START_TEST(bad_class_index_is_erange)
{
    const float pred[3] = {0.2f, 0.3f, 0.5f};
    const float out_of_range[1] = {3.0f}, fractional[1] = {1.5f}, nan_label[1] = {NAN};
    double value, sum = 0, count = 0;
    int loss = _i == 0 ? SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY
                       : SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY_FROM_LOGITS;
    ck_assert_int_eq(sn_loss_compute(loss, 0, pred, out_of_range, 1, 1, 3, NULL, NULL, &value,
                                     NULL, NULL, &err_obj),
                     SEQNET_ERANGE);
    ck_assert_int_eq(sn_loss_compute(loss, 0, pred, fractional, 1, 1, 3, NULL, NULL, &value,
                                     NULL, NULL, &err_obj),
                     SEQNET_ERANGE);
    ck_assert_int_eq(sn_loss_compute(loss, 0, pred, nan_label, 1, 1, 3, NULL, NULL, &value, NULL,
                                     NULL, &err_obj),
                     SEQNET_ERANGE);
    ck_assert_int_eq(sn_metric_accumulate(SEQNET_METRIC_SPARSE_CATEGORICAL_ACCURACY, pred,
                                          out_of_range, 1, 1, 3, NULL, NULL, &sum, &count,
                                          &err_obj),
                     SEQNET_ERANGE);
    ck_assert(sum == 0.0 && count == 0.0);
}
END_TEST

START_TEST(nan_prediction_is_enonfinite)
{
    /* every loss; a NaN in a masked step is fine */
    float pred[2 * 3] = {NAN, 0.5f, 0.5f, 0.2f, 0.3f, 0.5f};
    const float target[2 * 3] = {0, 1, 0, 0, 1, 0};
    const float sparse_target[2] = {1, 1};
    const uint8_t mask[2] = {0, 1};
    int sparse = _i == SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY ||
                 _i == SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY_FROM_LOGITS;
    const float *t = sparse ? sparse_target : target;
    double value;
    ck_assert_int_eq(sn_loss_compute(_i, 0, pred, t, 1, 2, 3, NULL, NULL, &value, NULL, NULL,
                                     &err_obj),
                     SEQNET_ENONFINITE);
    ck_assert_int_eq(sn_loss_compute(_i, 0, pred, t, 1, 2, 3, mask, NULL, &value, NULL, NULL,
                                     &err_obj),
                     SEQNET_OK);
    pred[0] = INFINITY;
    ck_assert_int_eq(sn_loss_compute(_i, 0, pred, t, 1, 2, 3, NULL, NULL, &value, NULL, NULL,
                                     &err_obj),
                     SEQNET_ENONFINITE);
}
END_TEST

START_TEST(probability_row_summing_to_zero_is_enonfinite)
{
    const float pred[2] = {0.0f, 0.0f}, onehot[2] = {1.0f, 0.0f};
    double value;
    ck_assert_int_eq(sn_loss_compute(SEQNET_LOSS_CATEGORICAL_CROSSENTROPY, 0, pred, onehot, 1,
                                     1, 2, NULL, NULL, &value, NULL, NULL, &err_obj),
                     SEQNET_ENONFINITE);
}
END_TEST

START_TEST(target_width_and_names)
{
    ck_assert_int_eq(sn_loss_target_width(SEQNET_LOSS_SPARSE_CATEGORICAL_CROSSENTROPY, 7), 1);
    ck_assert_int_eq(sn_loss_target_width(SEQNET_LOSS_CATEGORICAL_CROSSENTROPY, 7), 7);
    ck_assert_str_eq(sn_loss_name(SEQNET_LOSS_BINARY_CROSSENTROPY), "binary_crossentropy");
    ck_assert_str_eq(sn_metric_name(SEQNET_METRIC_BINARY_ACCURACY), "binary_accuracy");
    ck_assert_str_eq(sn_metric_name(SEQNET_METRIC_CATEGORICAL_ACCURACY),
                     "categorical_accuracy");
    ck_assert(sn_metric_valid(5) && !sn_metric_valid(6) && !sn_metric_valid(0));
}
END_TEST

/* ---- metrics ------------------------------------------------------------------ */

static double metric_value(int metric, const float *pred, const float *target, int32_t batch,
                           int32_t steps, int32_t width, const uint8_t *mask,
                           const float *weights)
{
    double sum = 0.0, count = 0.0;
    ck_assert_int_eq(sn_metric_accumulate(metric, pred, target, batch, steps, width, mask,
                                          weights, &sum, &count, &err_obj),
                     SEQNET_OK);
    return sum / count;
}

START_TEST(binary_accuracy_uses_strict_threshold)
{
    /* 0.5 is not > 0.5, so it predicts class 0 */
    const float pred[4] = {0.6f, 0.4f, 0.5f, 0.9f}, target[4] = {1, 1, 0, 0};
    ck_close(metric_value(SEQNET_METRIC_BINARY_ACCURACY, pred, target, 4, 1, 1, NULL, NULL),
             0.5, 0);
    /* width 2: each sample is the mean over its outputs */
    ck_close(metric_value(SEQNET_METRIC_BINARY_ACCURACY, pred, target, 2, 1, 2, NULL, NULL),
             0.5, 0); /* (0.5 + 0.5) / 2 */
}
END_TEST

START_TEST(categorical_accuracy_takes_first_max_on_ties)
{
    const float pred[2 * 3] = {0.4f, 0.4f, 0.2f, 0.1f, 0.3f, 0.3f};
    const float target[2 * 3] = {1, 0, 0, 0, 0, 1};
    ck_close(metric_value(SEQNET_METRIC_CATEGORICAL_ACCURACY, pred, target, 2, 1, 3, NULL,
                          NULL), 0.5, 0);
}
END_TEST

START_TEST(sparse_accuracy_skips_masked_and_ignored_steps)
{
    const float pred[4 * 2] = {0.9f, 0.1f, 0.2f, 0.8f, 0.7f, 0.3f, 0.6f, 0.4f};
    const float target[4] = {0, 0, -1, 1};
    const uint8_t mask[4] = {1, 1, 1, 0};
    double sum = 0.0, count = 0.0;
    ck_assert_int_eq(sn_metric_accumulate(SEQNET_METRIC_SPARSE_CATEGORICAL_ACCURACY, pred,
                                          target, 2, 2, 2, mask, NULL, &sum, &count, &err_obj),
                     SEQNET_OK);
    ck_assert(sum == 1.0 && count == 2.0);
}
END_TEST

START_TEST(metrics_weight_samples_and_accumulate)
{
    const float pred[2] = {1.0f, 3.0f}, target[2] = {0.0f, 0.0f};
    const float weights[2] = {3.0f, 1.0f};
    double sum = 0.0, count = 0.0;
    ck_close(metric_value(SEQNET_METRIC_MEAN_SQUARED_ERROR, pred, target, 2, 1, 1, NULL,
                          weights), (3.0 * 1 + 9) / 4.0, 0);
    ck_close(metric_value(SEQNET_METRIC_MEAN_ABSOLUTE_ERROR, pred, target, 2, 1, 1, NULL,
                          weights), (3.0 * 1 + 3) / 4.0, 0);
    /* two batches accumulate into one mean */
    ck_assert_int_eq(sn_metric_accumulate(SEQNET_METRIC_MEAN_ABSOLUTE_ERROR, pred, target, 1, 1,
                                          1, NULL, NULL, &sum, &count, &err_obj), SEQNET_OK);
    ck_assert_int_eq(sn_metric_accumulate(SEQNET_METRIC_MEAN_ABSOLUTE_ERROR, pred + 1,
                                          target + 1, 1, 1, 1, NULL, NULL, &sum, &count,
                                          &err_obj), SEQNET_OK);
    ck_assert(sum == 4.0 && count == 2.0);
    ck_assert_int_eq(sn_metric_accumulate(0, pred, target, 1, 1, 1, NULL, NULL, &sum, &count,
                                          &err_obj), SEQNET_EINVAL);
}
END_TEST

/* ---- optimizers: independent double-precision re-implementation ----------- */

typedef struct ref_optim {
    int kind;
    double lr, momentum, beta_1, beta_2, epsilon, rho, init_acc;
    int nesterov;
    long t;
    double *p, *s0, *s1;
} ref_optim;

/* Keras 3's rules, written from their formulas in double. */
static void ref_step(ref_optim *r, const float *g, int n)
{
    int i;
    r->t++;
    for (i = 0; i < n; i++) {
        double gi = g[i];
        switch (r->kind) {
        case SEQNET_OPTIMIZER_SGD:
            if (r->momentum > 0.0) {
                r->s0[i] = r->momentum * r->s0[i] - r->lr * gi;
                if (r->nesterov)
                    r->p[i] += r->momentum * r->s0[i] - r->lr * gi;
                else
                    r->p[i] += r->s0[i];
            } else {
                r->p[i] -= r->lr * gi;
            }
            break;
        case SEQNET_OPTIMIZER_ADAM: {
            double alpha = r->lr * sqrt(1.0 - pow(r->beta_2, (double)r->t)) /
                           (1.0 - pow(r->beta_1, (double)r->t));
            r->s0[i] = r->beta_1 * r->s0[i] + (1.0 - r->beta_1) * gi;
            r->s1[i] = r->beta_2 * r->s1[i] + (1.0 - r->beta_2) * gi * gi;
            r->p[i] -= alpha * r->s0[i] / (sqrt(r->s1[i]) + r->epsilon);
            break;
        }
        case SEQNET_OPTIMIZER_RMSPROP: {
            double inc;
            r->s0[i] = r->rho * r->s0[i] + (1.0 - r->rho) * gi * gi;
            inc = r->lr * gi / sqrt(r->s0[i] + r->epsilon);
            if (r->momentum > 0.0) {
                r->s1[i] = r->momentum * r->s1[i] + inc;
                r->p[i] -= r->s1[i];
            } else {
                r->p[i] -= inc;
            }
            break;
        }
        default:
            r->s0[i] += gi * gi;
            r->p[i] -= r->lr * gi / sqrt(r->s0[i] + r->epsilon);
            break;
        }
    }
}

typedef struct optim_case {
    int kind;
    int n_params;
    int param[3];
    double value[3];
} optim_case;

static const optim_case optim_cases[] = {
    {SEQNET_OPTIMIZER_SGD, 0, {0}, {0}},
    {SEQNET_OPTIMIZER_SGD, 2, {SEQNET_TRAIN_LEARNING_RATE, SEQNET_TRAIN_MOMENTUM}, {0.1, 0.9}},
    {SEQNET_OPTIMIZER_SGD, 3, {SEQNET_TRAIN_LEARNING_RATE, SEQNET_TRAIN_MOMENTUM,
                               SEQNET_TRAIN_NESTEROV}, {0.05, 0.8, 1}},
    {SEQNET_OPTIMIZER_ADAM, 0, {0}, {0}},
    {SEQNET_OPTIMIZER_ADAM, 3, {SEQNET_TRAIN_LEARNING_RATE, SEQNET_TRAIN_BETA_1,
                                SEQNET_TRAIN_BETA_2}, {0.01, 0.5, 0.9}},
    {SEQNET_OPTIMIZER_RMSPROP, 0, {0}, {0}},
    {SEQNET_OPTIMIZER_RMSPROP, 2, {SEQNET_TRAIN_MOMENTUM, SEQNET_TRAIN_RHO}, {0.5, 0.8}},
    {SEQNET_OPTIMIZER_ADAGRAD, 0, {0}, {0}},
    {SEQNET_OPTIMIZER_ADAGRAD, 2, {SEQNET_TRAIN_LEARNING_RATE,
                                   SEQNET_TRAIN_INITIAL_ACCUMULATOR_VALUE}, {0.1, 0.5}},
};
#define N_OPTIM_CASES ((int)(sizeof optim_cases / sizeof optim_cases[0]))

static void make_optim(sn_optim *o, const optim_case *c)
{
    sn_alloc a;
    int i;
    sn_default_alloc(&a);
    ck_assert_int_eq(sn_optim_init(o, c->kind, &a), SEQNET_OK);
    for (i = 0; i < c->n_params; i++)
        ck_assert_int_eq(sn_optim_set(o, c->param[i], c->value[i]), SEQNET_OK);
}

START_TEST(optimizer_matches_double_reference)
{
    enum { N = 37, STEPS = 6 };
    const optim_case *c = &optim_cases[_i];
    sn_optim o;
    ref_optim r;
    float params[N], grads[N];
    double rp[N], rs0[N], rs1[N];
    int i, step;

    make_optim(&o, c);
    memset(&r, 0, sizeof r);
    r.kind = c->kind;
    ck_assert_int_eq(sn_optim_get(&o, SEQNET_TRAIN_LEARNING_RATE, &r.lr), SEQNET_OK);
    sn_optim_get(&o, SEQNET_TRAIN_MOMENTUM, &r.momentum);
    sn_optim_get(&o, SEQNET_TRAIN_BETA_1, &r.beta_1);
    sn_optim_get(&o, SEQNET_TRAIN_BETA_2, &r.beta_2);
    sn_optim_get(&o, SEQNET_TRAIN_EPSILON, &r.epsilon);
    sn_optim_get(&o, SEQNET_TRAIN_RHO, &r.rho);
    sn_optim_get(&o, SEQNET_TRAIN_INITIAL_ACCUMULATOR_VALUE, &r.init_acc);
    r.nesterov = c->kind == SEQNET_OPTIMIZER_SGD && c->n_params == 3;
    r.p = rp;
    r.s0 = rs0;
    r.s1 = rs1;

    lcg_state = 17u + (unsigned long)_i;
    for (i = 0; i < N; i++) {
        params[i] = urand(-1.0f, 1.0f);
        rp[i] = params[i];
        rs0[i] = c->kind == SEQNET_OPTIMIZER_ADAGRAD ? (double)(float)r.init_acc : 0.0;
        rs1[i] = 0.0;
    }
    ck_assert_int_eq(sn_optim_prepare(&o, N), SEQNET_OK);
    for (step = 0; step < STEPS; step++) {
        for (i = 0; i < N; i++)
            grads[i] = urand(-2.0f, 2.0f) * (i % 5 == 0 ? 1e-3f : 1.0f);
        sn_optim_begin_step(&o);
        /* two tensors: [0, 20) and [20, N) */
        sn_optim_update(&o, params, grads, 0, 20, NULL, 0);
        sn_optim_update(&o, params, grads, 20, N - 20, NULL, 0);
        ref_step(&r, grads, N);
        for (i = 0; i < N; i++)
            ck_assert_msg(fabs(params[i] - rp[i]) <= 2e-6 * (1.0 + fabs(rp[i])),
                          "case %d step %d param %d: %.9g vs reference %.9g", _i, step, i,
                          (double)params[i], rp[i]);
    }
    ck_assert_int_eq((int)o.iterations, STEPS);
    sn_optim_release(&o);
    ck_assert(o.slot[0] == NULL && o.slot[1] == NULL);
}
END_TEST

START_TEST(row_sparse_update_equals_dense_update_with_zero_rows)
{
    /* The sparse path must give bit-identical parameters and slots to the
     * dense path fed explicit zeros -- while never reading stale gradient
     * rows (filled with NaN here). */
    enum { ROWS = 9, WIDTH = 5, N = ROWS * WIDTH, STEPS = 4 };
    const optim_case *c = &optim_cases[_i];
    sn_optim dense, sparse;
    float p_dense[N], p_sparse[N], g_dense[N], g_sparse[N];
    uint8_t flags[ROWS];
    int i, step, s;

    make_optim(&dense, c);
    make_optim(&sparse, c);
    ck_assert_int_eq(sn_optim_prepare(&dense, N), SEQNET_OK);
    ck_assert_int_eq(sn_optim_prepare(&sparse, N), SEQNET_OK);
    lcg_state = 99u + (unsigned long)_i;
    for (i = 0; i < N; i++)
        p_dense[i] = p_sparse[i] = urand(-1.0f, 1.0f);
    for (step = 0; step < STEPS; step++) {
        for (i = 0; i < ROWS; i++) /* vary the pattern: runs of both kinds */
            flags[i] = (uint8_t)(((i + step) % 3 == 0 || i == 4) && step != 2);
        for (i = 0; i < N; i++) {
            float g = urand(-1.0f, 1.0f);
            int on = flags[i / WIDTH];
            g_dense[i] = on ? g : 0.0f;
            g_sparse[i] = on ? g : NAN;
        }
        sn_optim_begin_step(&dense);
        sn_optim_begin_step(&sparse);
        sn_optim_update(&dense, p_dense, g_dense, 0, N, NULL, 0);
        sn_optim_update(&sparse, p_sparse, g_sparse, 0, N, flags, WIDTH);
        ck_assert_msg(memcmp(p_dense, p_sparse, sizeof p_dense) == 0,
                      "case %d step %d: parameters differ", _i, step);
        for (s = 0; s < 2; s++) {
            ck_assert((dense.slot[s] == NULL) == (sparse.slot[s] == NULL));
            if (dense.slot[s] != NULL)
                ck_assert_msg(memcmp(dense.slot[s], sparse.slot[s], sizeof(float) * N) == 0,
                              "case %d step %d: slot %d differs", _i, step, s);
        }
    }
    for (i = 0; i < N; i++)
        ck_assert(isfinite(p_sparse[i]));
    sn_optim_release(&dense);
    sn_optim_release(&sparse);
}
END_TEST

/* The lazy row update (rows listed per step, missed steps replayed when a
 * row is next touched, then a final catch-up) must end bit-identical to the
 * dense update fed explicit zero rows, for every lazy optimizer and for row
 * widths below 8 (the scalar path), of 8, and above 8 but not a multiple of
 * it (Adam's AVX2 path, with its last partial group). */
START_TEST(lazy_row_updates_equal_dense_updates)
{
    enum { ROWS = 23, STEPS = 14, MAXW = 33 };
    static const int widths[] = {5, 8, 30, 33};
    const optim_case *c = &optim_cases[_i];
    size_t wi;
    for (wi = 0; wi < sizeof widths / sizeof widths[0]; wi++) {
        const int W = widths[wi], N = ROWS * W;
        sn_optim dense, lazy;
        float p_dense[ROWS * MAXW], p_lazy[ROWS * MAXW], g_dense[ROWS * MAXW],
            g_lazy[ROWS * MAXW];
        int64_t row_step[ROWS];
        int32_t rows[ROWS];
        int i, step, s, n;
        make_optim(&dense, c);
        make_optim(&lazy, c);
        if (!sn_optim_is_lazy(&lazy)) {
            sn_optim_release(&dense);
            sn_optim_release(&lazy);
            return;
        }
        ck_assert_int_eq(sn_optim_prepare(&dense, N), SEQNET_OK);
        ck_assert_int_eq(sn_optim_prepare(&lazy, N), SEQNET_OK);
        lcg_state = 7u + (unsigned long)(_i * 10 + (int)wi);
        for (i = 0; i < N; i++)
            p_dense[i] = p_lazy[i] = urand(-1.0f, 1.0f);
        memset(row_step, 0, sizeof row_step);
        for (step = 0; step < STEPS; step++) {
            n = 0;
            for (i = 0; i < ROWS; i++) { /* some rows wait several steps */
                int on = (i * 7 + step * 3) % 5 < 2 || (i == 3 && step == STEPS - 1);
                int k;
                if (on)
                    rows[n++] = i;
                for (k = 0; k < W; k++) {
                    float g = urand(-1.0f, 1.0f);
                    g_dense[i * W + k] = on ? g : 0.0f;
                    g_lazy[i * W + k] = on ? g : NAN; /* never read */
                }
            }
            sn_optim_begin_step(&dense);
            sn_optim_begin_step(&lazy);
            sn_optim_update(&dense, p_dense, g_dense, 0, N, NULL, 0);
            ck_assert_int_eq(sn_optim_update_rows(&lazy, p_lazy, g_lazy, 0, W, rows, n,
                                                  row_step), 1);
        }
        sn_optim_catch_up(&lazy, p_lazy, 0, W, ROWS, row_step);
        ck_assert_msg(memcmp(p_dense, p_lazy, sizeof(float) * (size_t)N) == 0,
                      "case %d width %d: weights differ", _i, W);
        for (s = 0; s < 2; s++)
            if (dense.slot[s] != NULL)
                ck_assert_msg(memcmp(dense.slot[s], lazy.slot[s], sizeof(float) * (size_t)N) == 0,
                              "case %d width %d: slot %d differs", _i, W, s);
        sn_optim_release(&dense);
        sn_optim_release(&lazy);
    }
}
END_TEST

/* A row update that writes a non-finite value says so (the trainer then
 * rolls the step back): a gradient whose square overflows Adam's second
 * moment, in a wide row (AVX2 path) and a narrow one. */
START_TEST(lazy_row_update_reports_nonfinite_values)
{
    static const int widths[] = {5, 30};
    const optim_case c = {SEQNET_OPTIMIZER_ADAM, 0, {0}, {0}};
    size_t wi;
    for (wi = 0; wi < 2; wi++) {
        const int W = widths[wi];
        sn_optim o;
        float p[2 * 30], g[2 * 30];
        int64_t row_step[2] = {0, 0};
        int32_t rows[1] = {1};
        int i;
        make_optim(&o, &c);
        ck_assert_int_eq(sn_optim_prepare(&o, 2 * W), SEQNET_OK);
        for (i = 0; i < 2 * W; i++) {
            p[i] = 0.5f;
            g[i] = 0.25f;
        }
        sn_optim_begin_step(&o);
        ck_assert_int_eq(sn_optim_update_rows(&o, p, g, 0, W, rows, 1, row_step), 1);
        g[W + W - 1] = 3e20f; /* last column: squared, it overflows */
        sn_optim_begin_step(&o);
        ck_assert_int_eq(sn_optim_update_rows(&o, p, g, 0, W, rows, 1, row_step), 0);
        sn_optim_release(&o);
    }
}
END_TEST

START_TEST(adam_zero_gradient_rows_still_move_by_decayed_moment)
{
    const optim_case c = {SEQNET_OPTIMIZER_ADAM, 0, {0}, {0}};
    sn_optim o;
    float p[2] = {0.0f, 0.0f}, g[2] = {1.0f, 1.0f};
    uint8_t on = 1, off = 0;
    float after_first;
    make_optim(&o, &c);
    ck_assert_int_eq(sn_optim_prepare(&o, 2), SEQNET_OK);
    sn_optim_begin_step(&o);
    sn_optim_update(&o, p, g, 0, 2, &on, 2);
    after_first = p[0];
    ck_assert(after_first < 0.0f);
    sn_optim_begin_step(&o);
    sn_optim_update(&o, p, g, 0, 2, &off, 2);
    ck_assert(p[0] < after_first); /* m decayed but still positive: p keeps moving */
    sn_optim_release(&o);
}
END_TEST

START_TEST(optimizer_defaults_are_keras)
{
    static const struct {
        int kind, param;
        double value;
    } want[] = {
        {SEQNET_OPTIMIZER_SGD, SEQNET_TRAIN_LEARNING_RATE, 0.01},
        {SEQNET_OPTIMIZER_SGD, SEQNET_TRAIN_MOMENTUM, 0.0},
        {SEQNET_OPTIMIZER_SGD, SEQNET_TRAIN_NESTEROV, 0.0},
        {SEQNET_OPTIMIZER_ADAM, SEQNET_TRAIN_LEARNING_RATE, 0.001},
        {SEQNET_OPTIMIZER_ADAM, SEQNET_TRAIN_BETA_1, 0.9},
        {SEQNET_OPTIMIZER_ADAM, SEQNET_TRAIN_BETA_2, 0.999},
        {SEQNET_OPTIMIZER_ADAM, SEQNET_TRAIN_EPSILON, 1e-7},
        {SEQNET_OPTIMIZER_RMSPROP, SEQNET_TRAIN_LEARNING_RATE, 0.001},
        {SEQNET_OPTIMIZER_RMSPROP, SEQNET_TRAIN_RHO, 0.9},
        {SEQNET_OPTIMIZER_RMSPROP, SEQNET_TRAIN_MOMENTUM, 0.0},
        {SEQNET_OPTIMIZER_RMSPROP, SEQNET_TRAIN_EPSILON, 1e-7},
        {SEQNET_OPTIMIZER_ADAGRAD, SEQNET_TRAIN_LEARNING_RATE, 0.001},
        {SEQNET_OPTIMIZER_ADAGRAD, SEQNET_TRAIN_INITIAL_ACCUMULATOR_VALUE, 0.1},
        {SEQNET_OPTIMIZER_ADAGRAD, SEQNET_TRAIN_EPSILON, 1e-7},
    };
    size_t i;
    sn_alloc a;
    sn_default_alloc(&a);
    for (i = 0; i < sizeof want / sizeof want[0]; i++) {
        sn_optim o;
        double v = -1.0;
        ck_assert_int_eq(sn_optim_init(&o, want[i].kind, &a), SEQNET_OK);
        ck_assert_int_eq(sn_optim_get(&o, want[i].param, &v), SEQNET_OK);
        ck_assert_msg(v == want[i].value, "optimizer %d param %d = %g", want[i].kind,
                      want[i].param, v);
    }
}
END_TEST

START_TEST(optimizer_rejects_bad_values_and_foreign_params)
{
    sn_optim o;
    sn_alloc a;
    double v;
    sn_default_alloc(&a);
    ck_assert_int_eq(sn_optim_init(&o, 0, &a), SEQNET_EUNSUPPORTED);
    ck_assert_int_eq(sn_optim_init(&o, 5, &a), SEQNET_EUNSUPPORTED);
    ck_assert_int_eq(sn_optim_init(&o, SEQNET_OPTIMIZER_SGD, &a), SEQNET_OK);
    ck_assert_int_eq(sn_optim_set(&o, SEQNET_TRAIN_LEARNING_RATE, 0.0), SEQNET_EINVAL);
    ck_assert_int_eq(sn_optim_set(&o, SEQNET_TRAIN_LEARNING_RATE, NAN), SEQNET_EINVAL);
    ck_assert_int_eq(sn_optim_set(&o, SEQNET_TRAIN_MOMENTUM, 1.0), SEQNET_EINVAL);
    ck_assert_int_eq(sn_optim_set(&o, SEQNET_TRAIN_MOMENTUM, -0.1), SEQNET_EINVAL);
    ck_assert_int_eq(sn_optim_set(&o, SEQNET_TRAIN_NESTEROV, 0.5), SEQNET_EINVAL);
    ck_assert_int_eq(sn_optim_set(&o, SEQNET_TRAIN_BETA_1, 0.5), SEQNET_EUNSUPPORTED);
    ck_assert_int_eq(sn_optim_set(&o, SEQNET_TRAIN_EPSILON, 1e-3), SEQNET_EUNSUPPORTED);
    ck_assert_int_eq(sn_optim_set(&o, SEQNET_TRAIN_BATCH_SIZE, 3), SEQNET_EUNSUPPORTED);
    ck_assert_int_eq(sn_optim_get(&o, SEQNET_TRAIN_RHO, &v), SEQNET_EUNSUPPORTED);
    ck_assert_int_eq(sn_optim_get(&o, 9, &v), SEQNET_EUNSUPPORTED);
    ck_assert_int_eq(sn_optim_init(&o, SEQNET_OPTIMIZER_ADAM, &a), SEQNET_OK);
    ck_assert_int_eq(sn_optim_set(&o, SEQNET_TRAIN_BETA_1, 1.0), SEQNET_EINVAL);
    ck_assert_int_eq(sn_optim_set(&o, SEQNET_TRAIN_BETA_2, -1e-9), SEQNET_EINVAL);
    ck_assert_int_eq(sn_optim_set(&o, SEQNET_TRAIN_EPSILON, 0.0), SEQNET_EINVAL);
    ck_assert_int_eq(sn_optim_set(&o, SEQNET_TRAIN_MOMENTUM, 0.5), SEQNET_EUNSUPPORTED);
    ck_assert_int_eq(sn_optim_init(&o, SEQNET_OPTIMIZER_RMSPROP, &a), SEQNET_OK);
    ck_assert_int_eq(sn_optim_set(&o, SEQNET_TRAIN_RHO, 1.0), SEQNET_EINVAL);
    ck_assert_int_eq(sn_optim_set(&o, SEQNET_TRAIN_RHO, 0.0), SEQNET_OK);
    ck_assert_int_eq(sn_optim_init(&o, SEQNET_OPTIMIZER_ADAGRAD, &a), SEQNET_OK);
    ck_assert_int_eq(sn_optim_set(&o, SEQNET_TRAIN_INITIAL_ACCUMULATOR_VALUE, -0.1),
                     SEQNET_EINVAL);
    ck_assert_int_eq(sn_optim_set(&o, SEQNET_TRAIN_INITIAL_ACCUMULATOR_VALUE, 0.0), SEQNET_OK);
    ck_assert_int_eq(sn_optim_set(&o, SEQNET_TRAIN_NESTEROV, 1), SEQNET_EUNSUPPORTED);
}
END_TEST

START_TEST(optimizer_prepare_keeps_state_and_momentum_can_be_turned_on)
{
    sn_optim o;
    sn_alloc a;
    float p[4] = {1, 1, 1, 1}, g[4] = {1, 1, 1, 1};
    sn_default_alloc(&a);
    /* Adagrad's slot starts at initial_accumulator_value */
    ck_assert_int_eq(sn_optim_init(&o, SEQNET_OPTIMIZER_ADAGRAD, &a), SEQNET_OK);
    ck_assert_int_eq(sn_optim_prepare(&o, 4), SEQNET_OK);
    ck_assert(o.slot[0][3] == 0.1f && o.slot[1] == NULL);
    sn_optim_begin_step(&o);
    sn_optim_update(&o, p, g, 0, 4, NULL, 0);
    ck_assert(o.slot[0][0] == 1.1f);
    ck_assert_int_eq(sn_optim_prepare(&o, 4), SEQNET_OK); /* same size: state kept */
    ck_assert(o.slot[0][0] == 1.1f);
    ck_assert_int_eq(sn_optim_prepare(&o, 2), SEQNET_OK); /* new size: fresh state */
    ck_assert(o.slot[0][0] == 0.1f && o.n_params == 2);
    sn_optim_release(&o);
    sn_optim_release(&o); /* twice is harmless */

    /* plain SGD needs no slot; momentum switched on later allocates it */
    ck_assert_int_eq(sn_optim_init(&o, SEQNET_OPTIMIZER_SGD, &a), SEQNET_OK);
    ck_assert_int_eq(sn_optim_prepare(&o, 4), SEQNET_OK);
    ck_assert(o.slot[0] == NULL);
    ck_assert_int_eq(sn_optim_set(&o, SEQNET_TRAIN_MOMENTUM, 0.9), SEQNET_OK);
    ck_assert(o.slot[0] != NULL && o.slot[0][2] == 0.0f);
    sn_optim_begin_step(&o);
    sn_optim_update(&o, p, g, 0, 4, NULL, 0);
    ck_assert(o.slot[0][2] == -0.01f);
    sn_optim_release(&o);
}
END_TEST

START_TEST(optimizer_update_out_of_prepared_range_is_ignored)
{
    sn_optim o;
    sn_alloc a;
    float p[4] = {1, 1, 1, 1}, g[4] = {1, 1, 1, 1};
    sn_default_alloc(&a);
    ck_assert_int_eq(sn_optim_init(&o, SEQNET_OPTIMIZER_ADAM, &a), SEQNET_OK);
    sn_optim_begin_step(&o);
    sn_optim_update(&o, p, g, 0, 4, NULL, 0); /* not prepared */
    ck_assert_int_eq(sn_optim_prepare(&o, 2), SEQNET_OK);
    sn_optim_update(&o, p, g, 1, 3, NULL, 0); /* past the slots */
    ck_assert(p[0] == 1.0f && p[3] == 1.0f);
    sn_optim_release(&o);
}
END_TEST

/* ---- clipping ------------------------------------------------------------------- */

START_TEST(clipnorm_scales_one_tensor_like_keras)
{
    float g[2] = {3.0f, 4.0f};
    double sumsq = sn_grad_sumsq(g, 2, NULL, 0);
    float scale;
    ck_assert(sumsq == 25.0);
    scale = sn_grad_clipnorm_scale(sumsq, 1.0);
    sn_grad_scale(g, 2, NULL, 0, scale);
    ck_close(g[0], 0.6, 1e-7);
    ck_close(g[1], 0.8, 1e-7);
    ck_assert(sn_grad_clipnorm_scale(25.0, 5.0) == 1.0f); /* norm == limit: untouched */
    ck_assert(sn_grad_clipnorm_scale(25.0, 10.0) == 1.0f);
    ck_assert(sn_grad_clipnorm_scale(25.0, 0.0) == 1.0f); /* off */
    ck_assert(isnan(sn_grad_clipnorm_scale(INFINITY, 1.0)));
}
END_TEST

START_TEST(global_clipnorm_uses_norm_over_all_tensors)
{
    float a[2] = {3.0f, 4.0f}, b[1] = {12.0f};
    double sumsq = sn_grad_sumsq(a, 2, NULL, 0) + sn_grad_sumsq(b, 1, NULL, 0);
    float scale = sn_grad_clipnorm_scale(sumsq, 1.0);
    sn_grad_scale(a, 2, NULL, 0, scale);
    sn_grad_scale(b, 1, NULL, 0, scale);
    ck_close(a[0], 3.0 / 13.0, 1e-7);
    ck_close(a[1], 4.0 / 13.0, 1e-7);
    ck_close(b[0], 12.0 / 13.0, 1e-7);
}
END_TEST

START_TEST(clipping_skips_flag_zero_rows)
{
    /* rows: [1, 2] flagged, [NaN, NaN] stale, [-3, 5] flagged, tail [7] dense */
    float g[7] = {1.0f, 2.0f, NAN, NAN, -3.0f, 5.0f, 7.0f};
    const uint8_t flags[3] = {1, 0, 1};
    ck_assert(sn_grad_sumsq(g, 7, flags, 2) == 1.0 + 4 + 9 + 25 + 49);
    sn_grad_clip_value(g, 7, flags, 2, 2.5f);
    ck_assert(g[0] == 1.0f && g[1] == 2.0f && isnan(g[2]) && g[4] == -2.5f && g[5] == 2.5f &&
              g[6] == 2.5f);
    sn_grad_scale(g, 7, flags, 2, 2.0f);
    ck_assert(g[0] == 2.0f && isnan(g[3]) && g[4] == -5.0f && g[6] == 5.0f);
}
END_TEST

START_TEST(clip_value_clamps_and_keeps_nan)
{
    float g[5] = {-10.0f, -0.5f, 0.25f, 10.0f, NAN};
    int i;
    float big[1000];
    sn_grad_clip_value(g, 5, NULL, 0, 1.0f);
    ck_assert(g[0] == -1.0f && g[1] == -0.5f && g[2] == 0.25f && g[3] == 1.0f && isnan(g[4]));
    for (i = 0; i < 1000; i++)
        big[i] = (float)(i % 7) - 3.0f;
    ck_assert(sn_grad_sumsq(big, 1000, NULL, 0) == 142.0 * 28 + (9 + 4 + 1 + 0 + 1 + 4));
}
END_TEST

static Suite *losses_suite(void)
{
    Suite *s = suite_create("losses");
    TCase *tc;

    tc = tcase_create("gradcheck");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_loop_test(tc, gradcheck_vector_output_mean, 1, ALL_LOSSES + 1);
    tcase_add_loop_test(tc, gradcheck_vector_output_sample_weights, 1, ALL_LOSSES + 1);
    tcase_add_loop_test(tc, gradcheck_per_step_masked_weighted_mean, 1, ALL_LOSSES + 1);
    tcase_add_loop_test(tc, gradcheck_per_step_masked_weighted_sum_over_steps, 1,
                        ALL_LOSSES + 1);
    tcase_add_loop_test(tc, gradcheck_sparse_ignored_labels, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("values");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, bce_probabilities_value);
    tcase_add_test(tc, bce_probabilities_clipped_to_keras_epsilon_with_zero_gradient);
    tcase_add_test(tc, bce_from_logits_value_is_stable);
    tcase_add_test(tc, categorical_crossentropy_normalises_rows);
    tcase_add_test(tc, categorical_crossentropy_clips_after_normalising);
    tcase_add_test(tc, categorical_crossentropy_from_logits_value);
    tcase_add_test(tc, mse_and_mae_average_over_width);
    tcase_add_test(tc, mae_gradient_is_zero_at_zero_error);
    tcase_add_test(tc, reduction_mean_averages_unmasked_steps);
    tcase_add_test(tc, reduction_zero_sample_weight_stays_in_denominator);
    tcase_add_test(tc, reduction_sum_over_steps_divides_by_batch);
    tcase_add_test(tc, sparse_ignored_labels_do_not_count);
    tcase_add_test(tc, everything_masked_gives_zero_loss);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, unknown_loss_or_reduction_is_einval);
    tcase_add_loop_test(tc, bad_class_index_is_erange, 0, 2);
    tcase_add_loop_test(tc, nan_prediction_is_enonfinite, 1, ALL_LOSSES + 1);
    tcase_add_test(tc, probability_row_summing_to_zero_is_enonfinite);
    tcase_add_test(tc, target_width_and_names);
    suite_add_tcase(s, tc);

    tc = tcase_create("metrics");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, binary_accuracy_uses_strict_threshold);
    tcase_add_test(tc, categorical_accuracy_takes_first_max_on_ties);
    tcase_add_test(tc, sparse_accuracy_skips_masked_and_ignored_steps);
    tcase_add_test(tc, metrics_weight_samples_and_accumulate);
    suite_add_tcase(s, tc);

    tc = tcase_create("optimizers");
    tcase_add_loop_test(tc, optimizer_matches_double_reference, 0, N_OPTIM_CASES);
    tcase_add_loop_test(tc, lazy_row_updates_equal_dense_updates, 0,
                        (int)(sizeof optim_cases / sizeof optim_cases[0]));
    tcase_add_test(tc, lazy_row_update_reports_nonfinite_values);
    tcase_add_loop_test(tc, row_sparse_update_equals_dense_update_with_zero_rows, 0,
                        N_OPTIM_CASES);
    tcase_add_test(tc, adam_zero_gradient_rows_still_move_by_decayed_moment);
    tcase_add_test(tc, optimizer_defaults_are_keras);
    tcase_add_test(tc, optimizer_rejects_bad_values_and_foreign_params);
    tcase_add_test(tc, optimizer_prepare_keeps_state_and_momentum_can_be_turned_on);
    tcase_add_test(tc, optimizer_update_out_of_prepared_range_is_ignored);
    suite_add_tcase(s, tc);

    tc = tcase_create("clipping");
    tcase_add_test(tc, clipnorm_scales_one_tensor_like_keras);
    tcase_add_test(tc, global_clipnorm_uses_norm_over_all_tensors);
    tcase_add_test(tc, clipping_skips_flag_zero_rows);
    tcase_add_test(tc, clip_value_clamps_and_keeps_nan);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(losses_suite());
    int failed;
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
