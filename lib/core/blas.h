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

/* C[m, cols] (+)= op(A) B for small products on padded layouts: cols, lda,
 * ldb and ldc multiples of 8 floats; op(A) is A [m, k] (tn = 0) or the
 * transpose of A [k, m] (tn = 1); accumulate: add to C, else overwrite.
 * With fast (sn_gemm_padded_fast() said yes) an AVX2/FMA register kernel
 * runs it, else sn_gemm. */
void sn_gemm_padded(int fast, int tn, size_t m, size_t cols, size_t k, const float *a, size_t lda,
                    const float *b, size_t ldb, float *c, size_t ldc, int accumulate);
/* Whether this CPU runs sn_gemm_padded's register kernel (AVX2 and FMA). */
int sn_gemm_padded_fast(void);

#endif /* SN_BLAS_H */
