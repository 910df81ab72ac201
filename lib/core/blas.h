/*
 * lib/core/blas.h -- the library's only door to CBLAS.
 *
 * Every matrix product goes through these wrappers, so the BLAS choice,
 * sizes that overflow CBLAS's int, and future threading policy live in one
 * file (blas.c). Row-major throughout.
 */
#ifndef SN_BLAS_H
#define SN_BLAS_H

#include <stddef.h>

/* C[M,N] = alpha * op(A) op(B) + beta * C, row-major; op = transpose when
 * trans_* is non-zero. lda/ldb/ldc are row strides in floats. */
void sn_gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
             const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
             size_t ldc);

/* y[M] = alpha * op(A) x + beta * y (A is M x N row-major before op). */
void sn_gemv(int trans_a, size_t m, size_t n, float alpha, const float *a, size_t lda,
             const float *x, float beta, float *y);

/* y += alpha * x */
void sn_axpy(size_t n, float alpha, const float *x, float *y);

#endif /* SN_BLAS_H */
