/*
 * tests/core/test_blas.c -- lib/core/blas.c (white-box): sn_gemm against a
 * naive product in double, for every shape class it routes differently
 * (the built-in reduction of small weight gradients, and OpenBLAS), with
 * alpha, beta (beta 0 must not read C: it holds NaN here), padded strides
 * and the last rows of B, which the reduction reads through a copy.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/blas.h"

static float frand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* C = alpha op(A) op(B) + beta C, checked element by element. */
static void check_gemm(int ta, int tb, size_t m, size_t n, size_t k, size_t pad, float alpha,
                       float beta)
{
    size_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
    size_t arows = ta ? k : m, brows = tb ? n : k, i, j, q;
    float *a = malloc(arows * lda * sizeof *a), *b = malloc(brows * ldb * sizeof *b);
    float *c = malloc(m * ldc * sizeof *c), *c0 = malloc(m * ldc * sizeof *c0);
    unsigned s = (unsigned)(m * 131 + n * 17 + k + pad);
    ck_assert(a != NULL && b != NULL && c != NULL && c0 != NULL);
    for (i = 0; i < arows * lda; i++)
        a[i] = frand(&s);
    for (i = 0; i < brows * ldb; i++)
        b[i] = frand(&s);
    for (i = 0; i < m * ldc; i++)
        c0[i] = c[i] = beta == 0.0f ? NAN : frand(&s);
    sn_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            double want = 0.0, mag = 0.0;
            for (q = 0; q < k; q++) {
                double x = ta ? a[q * lda + i] : a[i * lda + q];
                double y = tb ? b[j * ldb + q] : b[q * ldb + j];
                want += x * y;
                mag += fabs(x * y);
            }
            want = alpha * want + (beta == 0.0f ? 0.0 : beta * (double)c0[i * ldc + j]);
            ck_assert_msg(fabs(c[i * ldc + j] - want) <= 1e-5 * (mag + 1.0),
                          "ta %d tb %d m %zu n %zu k %zu pad %zu: C[%zu][%zu] = %g, want %g",
                          ta, tb, m, n, k, pad, i, j, (double)c[i * ldc + j], want);
        }
    /* The padding columns of C are never written. */
    for (i = 0; i < m; i++)
        for (j = n; j < ldc; j++)
            ck_assert(memcmp(&c[i * ldc + j], &c0[i * ldc + j], sizeof(float)) == 0);
    free(a);
    free(b);
    free(c);
    free(c0);
}

START_TEST(weight_gradient_shapes_match_the_naive_product)
{
    /* A^T B with m <= 16, n <= 8: the built-in reduction. */
    static const size_t ms[] = {1, 3, 6, 16}, ns[] = {1, 2, 6, 8}, ks[] = {1, 2, 7, 3200};
    size_t x, y, z, pad;
    for (x = 0; x < 4; x++)
        for (y = 0; y < 4; y++)
            for (z = 0; z < 4; z++)
                for (pad = 0; pad < 3; pad += 2) {
                    check_gemm(1, 0, ms[x], ns[y], ks[z], pad, 1.0f, 0.0f);
                    check_gemm(1, 0, ms[x], ns[y], ks[z], pad, 0.5f, 1.0f);
                }
}
END_TEST

START_TEST(other_shapes_match_the_naive_product)
{
    /* Just outside the reduction's limits, and the other transposes:
     * OpenBLAS. */
    check_gemm(1, 0, 17, 6, 500, 0, 1.0f, 0.0f);
    check_gemm(1, 0, 6, 9, 500, 1, 1.0f, 1.0f);
    check_gemm(1, 1, 6, 6, 500, 0, 1.0f, 0.0f);
    check_gemm(0, 0, 300, 6, 3, 0, 1.0f, 0.0f);
    check_gemm(0, 1, 300, 6, 2, 2, 2.0f, 0.5f);
    check_gemm(0, 0, 64, 512, 128, 0, 1.0f, 1.0f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("blas");
    TCase *tc = tcase_create("gemm");
    SRunner *sr;
    int failed;
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, weight_gradient_shapes_match_the_naive_product);
    tcase_add_test(tc, other_shapes_match_the_naive_product);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
