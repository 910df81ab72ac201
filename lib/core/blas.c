/*
 * lib/core/blas.c -- wrappers over CBLAS (OpenBLAS or the reference BLAS).
 *
 * Sizes are size_t inside the library; CBLAS takes int. The graph builder
 * bounds every dimension far below INT_MAX, so the casts here are safe.
 */
#include <cblas.h>
#include <string.h>

#include "core/blas.h"

/* ---- skinny weight gradients, without BLAS -----------------------------------
 * The weight gradients of small layers (the course's SimpleRNN(6) and its
 * Dense(2): A^T B with a [6, 3200] x [3200, 2] shape) cost OpenBLAS more in
 * packing and call overhead than in arithmetic. They are done here with the
 * sums in registers (in a fixed order: see gemm_reduce), then alpha and beta
 * as BLAS applies them (beta 0: C is not read).
 * (The same for narrow products A B, K and N up to 16, was slower than
 * OpenBLAS for the Dense(2) forward: tried and left out.) With GCC on x86-64 also an AVX2 build, chosen at load time;
 * FMA is off, so both builds give the same bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__) && \
    !defined(SN_NO_CLONES)
#define SN_BLAS_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SN_BLAS_CLONES
#endif

typedef float sn_f8 __attribute__((vector_size(32)));

#define SN_SKINNY_M 16 /* output rows of a reduction */

static void store_row(float *c, const sn_f8 *acc, size_t n, float alpha, float beta)
{
    float v[16];
    size_t j;
    memcpy(v, acc, ((n + 7) / 8) * sizeof *acc);
    for (j = 0; j < n; j++)
        c[j] = alpha * v[j] + (beta == 0.0f ? 0.0f : beta * c[j]);
}

/* B's row r as a vector: loaded whole where 8 floats from it stay inside
 * B (end: the floats of B that exist), else through a padded copy. */
static inline void load_row(sn_f8 *br, const float *b, size_t r, size_t ldb, size_t n,
                            size_t end)
{
    if (r * ldb + 8 <= end) {
        memcpy(br, b + r * ldb, sizeof *br);
    } else {
        float v[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        memcpy(v, b + r * ldb, n * sizeof *v);
        memcpy(br, v, sizeof *br);
    }
}

/* C[m, n] = A^T B with A [k, m], B [k, n], m <= 16, n <= 8, k long (the
 * weight gradients of small layers: a sum over every row of a batch). One
 * accumulator vector per output row; with m <= 8 two, for even and odd
 * rows, added at the end, so that twice as many add chains overlap (a
 * layer of 3 inputs has only 3). */
SN_BLAS_CLONES static void gemm_reduce(size_t m, size_t n, size_t k, float alpha,
                                       const float *a, size_t lda, const float *b, size_t ldb,
                                       float beta, float *c, size_t ldc)
{
    sn_f8 acc[SN_SKINNY_M], odd[SN_SKINNY_M / 2];
    size_t i, r = 0, end = (k - 1) * ldb + n;
    for (i = 0; i < m; i++)
        acc[i] = (sn_f8){0, 0, 0, 0, 0, 0, 0, 0};
    if (m <= SN_SKINNY_M / 2) {
        for (i = 0; i < m; i++)
            odd[i] = (sn_f8){0, 0, 0, 0, 0, 0, 0, 0};
        for (; r + 1 < k; r += 2) {
            const float *a0 = a + r * lda, *a1 = a0 + lda;
            sn_f8 b0, b1;
            load_row(&b0, b, r, ldb, n, end);
            load_row(&b1, b, r + 1, ldb, n, end);
            for (i = 0; i < m; i++) {
                acc[i] += a0[i] * b0;
                odd[i] += a1[i] * b1;
            }
        }
        for (i = 0; i < m; i++)
            acc[i] += odd[i];
    }
    for (; r < k; r++) {
        const float *ar = a + r * lda;
        sn_f8 br;
        load_row(&br, b, r, ldb, n, end);
        for (i = 0; i < m; i++)
            acc[i] += ar[i] * br;
    }
    for (i = 0; i < m; i++)
        store_row(c + i * ldc, &acc[i], n, alpha, beta);
}

void sn_gemm(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha,
             const float *a, size_t lda, const float *b, size_t ldb, float beta, float *c,
             size_t ldc)
{
    if (m == 0 || n == 0)
        return;
    if (k > 0 && trans_a && !trans_b && m <= SN_SKINNY_M && n <= 8) {
        gemm_reduce(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
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
