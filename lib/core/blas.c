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

/* ---- padded small products (minimal filtering's chunks) -------------------
 *
 * Thousands of small products per layer (K = 30 or 50, a few hundred rows):
 * through CBLAS each call packs its operands and clears its output first,
 * which cost a third of the convolution's time. Their operands are laid out
 * with row strides that are multiples of 8 floats and cols a multiple of 8,
 * so a register kernel needs no column tails: tiles of 6 rows x 16 columns
 * (12 accumulators keep both FMA pipes busy through their latency), then
 * 4, 2 and 1 rows, and an 8-column tile for a last odd vector.
 */
#if defined(__GNUC__) && defined(__x86_64__)
#define SN_PADDED_FMA 1
#include <immintrin.h>

int sn_gemm_padded_fast(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#define MK_TARGET __attribute__((target("avx2,fma"), always_inline)) static inline

/* C[r][0..8V) (+)= sum_k a(r, k) B[k][0..8V) for r < R, where a(r, k) is
 * A[r*lda + k] (tn = 0) or A[k*lda + r] (tn = 1). */
MK_TARGET void mk_tile(int R, int V, int tn, size_t K, const float *A, size_t lda,
                       const float *B, size_t ldb, float *C, size_t ldc, int acc)
{
    __m256 c[6][2];
    size_t k;
    int r, v;
    for (r = 0; r < R; r++)
        for (v = 0; v < V; v++)
            c[r][v] = acc ? _mm256_loadu_ps(C + (size_t)r * ldc + 8 * (size_t)v)
                          : _mm256_setzero_ps();
    for (k = 0; k < K; k++) {
        __m256 b[2];
        const float *bk = B + k * ldb;
        for (v = 0; v < V; v++)
            b[v] = _mm256_loadu_ps(bk + 8 * v);
        for (r = 0; r < R; r++) {
            __m256 a = _mm256_broadcast_ss(tn ? A + k * lda + (size_t)r : A + (size_t)r * lda + k);
            for (v = 0; v < V; v++)
                c[r][v] = _mm256_fmadd_ps(a, b[v], c[r][v]);
        }
    }
    for (r = 0; r < R; r++)
        for (v = 0; v < V; v++)
            _mm256_storeu_ps(C + (size_t)r * ldc + 8 * (size_t)v, c[r][v]);
}

/* C[M, cols] (+)= op(A) B with cols a multiple of 8; op(A) is A [M, K]
 * (tn = 0) or the transpose of A [K, M] (tn = 1). */
__attribute__((target("avx2,fma"))) static void
mk_product(int tn, size_t M, size_t cols, size_t K, const float *A, size_t lda, const float *B,
           size_t ldb, float *C, size_t ldc, int acc)
{
    size_t i = 0, j;
    /* 6 x 16 tiles: 12 accumulators keep both FMA pipes busy through their
     * latency; then blocks of 4, 2 and 1 rows for the rest. */
#define MK_ROWS(R)                                                                   \
    for (; i + (R) <= M; i += (R)) {                                                 \
        const float *ai = tn ? A + i : A + i * lda;                                  \
        for (j = 0; j + 16 <= cols; j += 16)                                         \
            mk_tile((R), 2, tn, K, ai, lda, B + j, ldb, C + i * ldc + j, ldc, acc);  \
        if (j < cols)                                                                \
            mk_tile((R), 1, tn, K, ai, lda, B + j, ldb, C + i * ldc + j, ldc, acc);  \
    }
    MK_ROWS(6)
    MK_ROWS(4)
    MK_ROWS(2)
    MK_ROWS(1)
#undef MK_ROWS
}
#else
int sn_gemm_padded_fast(void)
{
    return 0;
}
#endif


void sn_gemm_padded(int fast, int tn, size_t m, size_t cols, size_t k, const float *a, size_t lda,
                    const float *b, size_t ldb, float *c, size_t ldc, int accumulate)
{
#if defined(SN_PADDED_FMA)
    if (fast) {
        mk_product(tn, m, cols, k, a, lda, b, ldb, c, ldc, accumulate);
        return;
    }
#endif
    (void)fast;
    sn_gemm(tn, 0, m, cols, k, 1.0f, a, lda, b, ldb, accumulate ? 1.0f : 0.0f, c, ldc);
}
