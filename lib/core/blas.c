/*
 * lib/core/blas.c -- wrappers over CBLAS (OpenBLAS or the reference BLAS).
 *
 * Sizes are size_t inside the library; CBLAS takes int. The graph builder
 * bounds every dimension far below INT_MAX, so the casts here are safe.
 */
#include <cblas.h>

#include "core/blas.h"

void sn_gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
             const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
             size_t ldc)
{
    if (m == 0 || n == 0)
        return;
    if (k == 0) {
        /* CBLAS would still scale C by beta; do it without reading A/B. */
        size_t i, j;
        for (i = 0; i < m; i++)
            for (j = 0; j < n; j++)
                c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
        return;
    }
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha, a, (int)lda,
                b, (int)ldb, beta, c, (int)ldc);
}

void sn_gemv(int trans_a, size_t m, size_t n, float alpha, const float *a, size_t lda,
             const float *x, float beta, float *y)
{
    if (m == 0 || n == 0)
        return;
    if (trans_a && n == 1) {
        /* One output (a Dense(1) on one row): a dot product down the
         * column; OpenBLAS's gemv takes a slow path for a single column. */
        float dot = cblas_sdot((int)m, a, (int)lda, x, 1);
        y[0] = alpha * dot + (beta == 0.0f ? 0.0f : beta * y[0]);
        return;
    }
    cblas_sgemv(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, (int)m, (int)n, alpha, a,
                (int)lda, x, 1, beta, y, 1);
}

void sn_axpy(size_t n, float alpha, const float *x, float *y)
{
    if (n == 0)
        return;
    cblas_saxpy((int)n, alpha, x, 1, y, 1);
}
