/*
 * lib/layers/conv_winograd.h -- minimal filtering (Winograd / Toom-Cook)
 * for Conv1D with stride 1 and dilation 1.
 *
 * F(m, r) computes m consecutive outputs of an r-tap filter from the n =
 * m + r - 1 input rows under them with n products instead of m * r:
 *   y[0..m) = A^T [ (G w) .* (B^T d) ]
 * applied along time, with every product a matrix product over features:
 * the n transformed inputs U_l = sum_p B^T[l][p] x[p] are [tiles, F] blocks,
 * the n transformed kernels V_l = sum_j G[l][j] W_j are [F, filters], and
 * each of the n GEMMs U_l V_l is one m-th of the work of an output row's r
 * tap GEMMs. The backward pass runs the transposed maps through the same
 * matrices: dU_l = (A dY)_l V_l^T, dx += B dU, dV_l = U_l^T (A dY)_l and
 * dW = G^T dV.
 *
 * Points: 0, 1, -1, 2, -2, 1/2, -1/2 and infinity, so n = 8 and m = 9 - r:
 * F(7,2), F(6,3), F(5,4), F(4,5), F(3,6), F(2,7). The GEMM work per output
 * row falls by r*m/8: 1.75x (k 2), 2.25x (k 3), 2.5x (k 5), 1.75x (k 7).
 * With these eight points the float32 error stays near 1e-6 of the output's
 * size (measured against double for every r; more points, 10 for F(4,7),
 * cost a factor 10 in accuracy).
 *
 * The matrices are built in double from the points (Vandermonde evaluation
 * and its inverse for the interpolation), then rounded to float.
 */
#ifndef SN_CONV_WINOGRAD_H
#define SN_CONV_WINOGRAD_H

#include <stddef.h>
#include <stdint.h>

#define SN_WINO_MAX_N 10 /* points, transformed rows per tile: 8 or 10 */
#define SN_WINO_MAX_R 7  /* taps */
#define SN_WINO_MAX_M 7  /* outputs per tile: m = n + 1 - r, 7 for r = 2 */

typedef struct sn_wino {
    int nn;        /* points: 8 (r <= 4) or 10 (r >= 5) */
    int pairs;     /* point pairs +-a: (nn - 2) / 2 */
    int m, r;
    int fast;      /* AVX2 and FMA: sn_gemm_padded uses its register kernel */
    size_t f, n;   /* input features, filters */
    size_t f8, n8; /* the same rounded up to multiples of 8: row strides */
    size_t chunk;  /* tiles per chunk */
    size_t ublock, mblock; /* floats from one transformed block to the next:
                              U (chunk x f8) and M (chunk x n8), staggered */
    float at[SN_WINO_MAX_M][SN_WINO_MAX_N]; /* A^T: m x nn, output transform */
    float g[SN_WINO_MAX_N][SN_WINO_MAX_R];  /* G: nn x r, kernel transform */
    float bt[SN_WINO_MAX_N][SN_WINO_MAX_N]; /* B^T: nn x nn, input transform */
    /* The same B^T and A^T by their symmetry (rows 1 + 2k and 2 + 2k of B^T
     * belong to the points +-a_k, a = 1, 2, 1/2, 3/4: equal on even inputs,
     * opposite on odd ones; row 0 reads even inputs only, the last row odd
     * ones). */
    float r0[SN_WINO_MAX_N / 2], rinf[SN_WINO_MAX_N / 2]; /* B^T[0][even], B^T[nn-1][odd] */
    float ev[(SN_WINO_MAX_N - 2) / 2][SN_WINO_MAX_N / 2]; /* B^T[1 + 2k][even] */
    float od[(SN_WINO_MAX_N - 2) / 2][SN_WINO_MAX_N / 2]; /* B^T[1 + 2k][odd] */
    float pw[(SN_WINO_MAX_N - 2) / 2][SN_WINO_MAX_M];     /* A^T[o][1 + 2k] = a_k^o */
} sn_wino;

/* The number of points used for an r-tap filter: 8 up to 4 taps, 10 from
 * 5 (so F(6,5), F(5,6), F(4,7)). */
int sn_wino_points(int r);

/* Plan F(9 - r, r) for an r-tap filter over f input features and n
 * filters (both at least 8), in chunks of `chunk` tiles. Returns 0, or -1
 * for sizes outside those ranges (or matrices without the symmetry the
 * transforms use, which these points always have). */
int sn_wino_init(sn_wino *w, int r, size_t f, size_t n, size_t chunk);

/* Scratch floats: v for the transformed kernel V (and as much again for
 * its transpose V^T, or for its gradient dV); u for a chunk's transformed
 * inputs (or their gradient); mo for a chunk's products (or theirs). */
void sn_wino_sizes(const sn_wino *w, size_t *v, size_t *u, size_t *mo);

/* V_l = sum_j G[l][j] W_j for l < 8 ([f, n8] each, pad columns zero), with
 * W_j = kernel + j*f*n (tap j of the Keras layout); and, when vt is not
 * NULL, V_l^T ([n, f8] each) for the backward pass. */
void sn_wino_kernel(const sn_wino *w, const float *kernel, float *v, float *vt);

/* dW_j = sum_l G[l][j] dV_l (written, not added). */
void sn_wino_kernel_grad(const sn_wino *w, const float *dv, float *d_kernel);

/*
 * Forward over `tiles` tiles: tile c gives rows y[c*m .. c*m + m) (row
 * stride n) from the nn rows at x[c] (row stride f): each tile names its
 * own input rows, so tiles can read the layer's input in place and only
 * those at a sequence's edge need a padded copy. y is written. u and mo as
 * sn_wino_sizes says.
 */
void sn_wino_forward(const sn_wino *w, const float *const *x, const float *v, size_t tiles,
                     float *y, float *u, float *mo);

/* Zero the pad columns of a dmo buffer once before the sn_wino_backward
 * calls that use it: the dV product reads them, the transforms never write
 * them. */
void sn_wino_clear_pads(const sn_wino *w, float *dmo);

/*
 * Backward over the same tiles, with dy the gradient of y's rows and vt
 * from sn_wino_kernel:
 *   dv (when not NULL) = sum over tiles of U_l^T (A dY)_l, written, or
 *        added to what dv holds when dv_accumulate
 *   dx (when not NULL): the gradient of tile c's input rows is added to
 *        the nn rows at dx[c] (row stride f), tile after tile
 * u and dmo as in forward (dmo's pads cleared); du as large as u (dx only).
 */
void sn_wino_backward(const sn_wino *w, const float *const *x, const float *vt, const float *dy,
                      size_t tiles, float *dv, int dv_accumulate, float *const *dx, float *u,
                      float *dmo, float *du);

/* For tests: how many of a Conv1D run's GEMM rows go through minimal
 * filtering (0: tap GEMMs only) for this batch and input shape. */
struct sn_layer;
size_t sn_conv1d_wino_rows(const struct sn_layer *L, int32_t batch, int32_t in_time,
                           int32_t features);

#endif /* SN_CONV_WINOGRAD_H */
