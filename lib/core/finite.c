/*
 * lib/core/finite.c -- the library's test for NaN and infinity in arrays.
 */
#include "core/sn_core.h"

int sn_all_finite(const float *x, size_t n)
{
    /* x * 0 is 0 for finite x and NaN for NaN or infinity, so a sum of them
     * is a branch-free test that vectorizes (bag-of-words inputs are tens of
     * thousands of values). Eight partial sums keep the adds independent. */
    float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i, j;
    for (i = 0; i + 8 <= n; i += 8)
        for (j = 0; j < 8; j++)
            acc[j] += x[i + j] * 0.0f;
    for (; i < n; i++)
        acc[0] += x[i] * 0.0f;
    for (j = 1; j < 8; j++)
        acc[0] += acc[j];
    return acc[0] == 0.0f;
}
