/*
 * lib/layers/conv_winograd.c -- minimal filtering for Conv1D (see
 * conv_winograd.h for the algebra).
 *
 * The matrices come from Toom-Cook: with E_k the n x k matrix evaluating a
 * polynomial of k coefficients at the points (the point at infinity takes
 * the leading coefficient) and I the inverse of E_n, the correlation of a
 * tile d (n rows) with a filter w (r taps) is
 *   y = E_m^T [ (E_r w) .* (I^T d) ]
 * -- the transpose of the polynomial product, so A^T = E_m^T, G = E_r and
 * B^T = I^T. Each row l of B^T is divided by its largest magnitude and row
 * l of G multiplied by it, which keeps B^T's entries in [-1, 1].
 *
 * Tiles are processed in chunks so that the transformed inputs and the
 * GEMM outputs of a chunk stay in the core's cache between the transforms
 * and the products.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "core/blas.h"
#include "layers/conv_winograd.h"

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && defined(__linux__)
#define SN_WINO_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SN_WINO_CLONES
#endif

/* The finite points, in the order they are used: n = 8 takes the first
 * seven, n = 10 all nine; the last point is infinity. Pairs +-a follow the
 * point 0 (the transforms rely on that order). 3/4 was chosen among 3, 1/3,
 * 3/2, 2/3, 4, 1/4, 3/4 and 4/3 for the smallest float32 error of F(4, 7)
 * (measured against double: 4.6e-6 of the output's size, 1.1e-5 with 3). */
static const double POINTS[SN_WINO_MAX_N - 1] = {0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5,
                                                 0.75, -0.75};

static double power(double a, int k)
{
    double p = 1.0;
    while (k-- > 0)
        p *= a;
    return p;
}

/* E_k[j][c] for point j of n and coefficient c < k. */
static double eval(int n, int j, int c, int k)
{
    if (j == n - 1)
        return c == k - 1 ? 1.0 : 0.0;
    return power(POINTS[j], c);
}

/* inv = E_n^{-1} by Gauss-Jordan with partial pivoting; E_n is regular
 * (distinct points), so a pivot is always found. */
static void invert_eval(int n, double inv[SN_WINO_MAX_N][SN_WINO_MAX_N])
{
    double a[SN_WINO_MAX_N][2 * SN_WINO_MAX_N];
    int i, j, c;
    for (i = 0; i < n; i++)
        for (c = 0; c < n; c++) {
            a[i][c] = eval(n, i, c, n);
            a[i][n + c] = i == c ? 1.0 : 0.0;
        }
    for (c = 0; c < n; c++) {
        int piv = c;
        double d;
        for (i = c + 1; i < n; i++)
            if (fabs(a[i][c]) > fabs(a[piv][c]))
                piv = i;
        if (piv != c)
            for (j = 0; j < 2 * n; j++) {
                double t = a[c][j];
                a[c][j] = a[piv][j];
                a[piv][j] = t;
            }
        d = a[c][c];
        for (j = 0; j < 2 * n; j++)
            a[c][j] /= d;
        for (i = 0; i < n; i++)
            if (i != c && a[i][c] != 0.0) {
                double f = a[i][c];
                for (j = 0; j < 2 * n; j++)
                    a[i][j] -= f * a[c][j];
            }
    }
    for (i = 0; i < n; i++)
        for (j = 0; j < n; j++)
            inv[i][j] = a[i][n + j];
}

int sn_wino_points(int r)
{
    return r >= 5 ? 10 : 8;
}

int sn_wino_init(sn_wino *w, int r, size_t f, size_t n, size_t chunk)
{
    double inv[SN_WINO_MAX_N][SN_WINO_MAX_N];
    int l, p, o, k, nn;
    if (r < 2 || r > SN_WINO_MAX_R || f < 8 || n < 8 || chunk < 1)
        return -1;
    memset(w, 0, sizeof *w);
    nn = sn_wino_points(r);
    w->nn = nn;
    w->pairs = (nn - 2) / 2;
    w->r = r;
    w->m = nn + 1 - r;
    w->f = f;
    w->n = n;
    w->f8 = (f + 7) & ~(size_t)7;
    w->n8 = (n + 7) & ~(size_t)7;
    w->chunk = chunk;
    /* The nn blocks of a chunk's transformed rows lie one after another;
     * a block of 256 tiles x 32 floats is 32 KiB, and blocks whose
     * distance is a multiple of 4 KiB make the transforms' loads wait on
     * earlier stores to other blocks (4K aliasing). One cache line more
     * per block staggers them. */
    w->ublock = chunk * w->f8 + 16;
    w->mblock = chunk * w->n8 + 16;
    w->fast = sn_gemm_padded_fast();
    invert_eval(nn, inv);
    for (l = 0; l < nn; l++) {
        double scale = 0.0;
        for (p = 0; p < nn; p++)
            if (fabs(inv[p][l]) > scale)
                scale = fabs(inv[p][l]);
        for (p = 0; p < nn; p++)
            w->bt[l][p] = (float)(inv[p][l] / scale);
        for (k = 0; k < r; k++)
            w->g[l][k] = (float)(eval(nn, l, k, r) * scale);
    }
    for (o = 0; o < w->m; o++)
        for (l = 0; l < nn; l++)
            w->at[o][l] = (float)eval(nn, l, o, w->m);
    /* The symmetric form, checked against the full matrices. */
    for (p = 0; p < nn / 2; p++) {
        int e = 2 * p, d = 2 * p + 1;
        w->r0[p] = w->bt[0][e];
        w->rinf[p] = w->bt[nn - 1][d];
        if (fabsf(w->bt[0][d]) > 1e-6f || fabsf(w->bt[nn - 1][e]) > 1e-6f)
            return -1;
        for (k = 0; k < w->pairs; k++) {
            const float *plus = w->bt[1 + 2 * k], *minus = w->bt[2 + 2 * k];
            w->ev[k][p] = plus[e];
            w->od[k][p] = plus[d];
            if (fabsf(plus[e] - minus[e]) > 1e-6f || fabsf(plus[d] + minus[d]) > 1e-6f)
                return -1;
        }
    }
    for (k = 0; k < w->pairs; k++)
        for (o = 0; o < w->m; o++)
            w->pw[k][o] = w->at[o][1 + 2 * k];
    return 0;
}

void sn_wino_sizes(const sn_wino *w, size_t *v, size_t *u, size_t *mo)
{
    const size_t nn = (size_t)w->nn;
    *v = nn * w->f * w->n8; /* V^T takes nn * n * f8: the larger of the two */
    if (nn * w->n * w->f8 > *v)
        *v = nn * w->n * w->f8;
    *u = nn * w->ublock;
    *mo = nn * w->mblock;
}

/* dst[a][b] += c * src[a][b] over rows x cols, with row strides ldd, lds. */
static void add_scaled(float *dst, size_t ldd, const float *src, size_t lds, size_t rows,
                       size_t cols, float c)
{
    size_t a, b;
    if (c == 0.0f)
        return;
    for (a = 0; a < rows; a++)
        for (b = 0; b < cols; b++)
            dst[a * ldd + b] += c * src[a * lds + b];
}

void sn_wino_kernel(const sn_wino *w, const float *kernel, float *v, float *vt)
{
    const size_t f = w->f, n = w->n, n8 = w->n8, f8 = w->f8;
    size_t a, b;
    int l, j;
    for (l = 0; l < w->nn; l++) {
        float *vl = v + (size_t)l * f * n8;
        memset(vl, 0, f * n8 * sizeof *vl);
        for (j = 0; j < w->r; j++)
            add_scaled(vl, n8, kernel + (size_t)j * f * n, n, f, n, w->g[l][j]);
        if (vt != NULL) {
            float *tl = vt + (size_t)l * n * f8;
            for (b = 0; b < n; b++) {
                for (a = 0; a < f; a++)
                    tl[b * f8 + a] = vl[a * n8 + b];
                for (; a < f8; a++)
                    tl[b * f8 + a] = 0.0f;
            }
        }
    }
}

void sn_wino_kernel_grad(const sn_wino *w, const float *dv, float *d_kernel)
{
    const size_t f = w->f, n = w->n, n8 = w->n8;
    int l, j;
    for (j = 0; j < w->r; j++) {
        float *dj = d_kernel + (size_t)j * f * n;
        memset(dj, 0, f * n * sizeof *dj);
        for (l = 0; l < w->nn; l++)
            add_scaled(dj, n, dv + (size_t)l * f * n8, n8, f, n, w->g[l][j]);
    }
}

/* ---- the products ---------------------------------------------------------
 *
 * The GEMMs of a chunk are small (K = F or filters, a few hundred rows) and
 * many; they go to sn_gemm_padded (core/blas.c), which runs them in an
 * AVX2/FMA register kernel on the padded layouts the transforms write (row
 * strides f8 and n8, multiples of 8 floats) and takes CBLAS elsewhere.
 */
static void product(const sn_wino *w, int tn, size_t M, size_t cols, size_t K, const float *A,
                    size_t lda, const float *B, size_t ldb, float *C, size_t ldc, int acc)
{
    sn_gemm_padded(w->fast, tn, M, cols, K, A, lda, B, ldb, C, ldc, acc);
}

/*
 * The transforms work on 8 columns at a time in GCC/clang vector types (one
 * AVX register in the AVX2 build, two SSE registers otherwise); a last
 * partial group of columns goes through a zero-padded copy.
 */
#if defined(__GNUC__) && !defined(__clang__)
/* Only static inline helpers take or return v8: the vector ABI note does
 * not apply. */
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
typedef float v8 __attribute__((vector_size(32)));

static inline v8 ld8(const float *p)
{
    v8 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void st8(float *p, v8 v)
{
    memcpy(p, &v, sizeof v);
}

/*
 * The bodies below take NN (8 or 10) as a constant: each driver calls them
 * in two branches with a literal, so the loops unroll. Row 0 of B^T (the
 * point 0) reads even inputs only and the last row (infinity) odd ones; a
 * pair +-a has equal even coefficients and opposite odd ones, so
 * u_+ = e + o and u_- = e - o: half the products of a dense B^T.
 */
#define BODY static inline __attribute__((always_inline))

/* u[0..NN) = B^T d[0..NN). */
BODY void in_body(const sn_wino *w, const int NN, const v8 *d, v8 *u)
{
    int k, p;
    v8 a = w->r0[0] * d[0], z = w->rinf[0] * d[1];
    for (p = 1; p < NN / 2; p++) {
        a += w->r0[p] * d[2 * p];
        z += w->rinf[p] * d[2 * p + 1];
    }
    u[0] = a;
    u[NN - 1] = z;
    for (k = 0; k < (NN - 2) / 2; k++) {
        v8 e = w->ev[k][0] * d[0], o = w->od[k][0] * d[1];
        for (p = 1; p < NN / 2; p++) {
            e += w->ev[k][p] * d[2 * p];
            o += w->od[k][p] * d[2 * p + 1];
        }
        u[1 + 2 * k] = e + o;
        u[2 + 2 * k] = e - o;
    }
}

/* d[0..NN) = B g[0..NN): the transpose of in_body. */
BODY void in_body_t(const sn_wino *w, const int NN, const v8 *g, v8 *d)
{
    v8 ps[(SN_WINO_MAX_N - 2) / 2], qs[(SN_WINO_MAX_N - 2) / 2];
    int j, k;
    for (k = 0; k < (NN - 2) / 2; k++) {
        ps[k] = g[1 + 2 * k] + g[2 + 2 * k];
        qs[k] = g[1 + 2 * k] - g[2 + 2 * k];
    }
    for (j = 0; j < NN / 2; j++) {
        v8 e = w->r0[j] * g[0], o = w->rinf[j] * g[NN - 1];
        for (k = 0; k < (NN - 2) / 2; k++) {
            e += w->ev[k][j] * ps[k];
            o += w->od[k][j] * qs[k];
        }
        d[2 * j] = e;
        d[2 * j + 1] = o;
    }
}

/* y[0..m) = A^T mo[0..NN): M_0 goes to output 0 only, the last to output
 * m - 1 only, and the pair +-a gives a^o (M_+ + M_-) to even outputs and
 * a^o (M_+ - M_-) to odd ones. */
BODY void out_body(const sn_wino *w, const int NN, const int m, const v8 *mo, v8 *y)
{
    v8 sd[2][(SN_WINO_MAX_N - 2) / 2];
    int o, k;
    for (k = 0; k < (NN - 2) / 2; k++) {
        sd[0][k] = mo[1 + 2 * k] + mo[2 + 2 * k];
        sd[1][k] = mo[1 + 2 * k] - mo[2 + 2 * k];
    }
    for (o = 0; o < m; o++) {
        v8 acc = w->pw[0][o] * sd[o & 1][0];
        for (k = 1; k < (NN - 2) / 2; k++)
            acc += w->pw[k][o] * sd[o & 1][k];
        y[o] = acc;
    }
    y[0] += mo[0];
    y[m - 1] += mo[NN - 1];
}

/* mo[0..NN) = A dy[0..m): the transpose of out_body. */
BODY void out_body_t(const sn_wino *w, const int NN, const int m, const v8 *dy, v8 *mo)
{
    v8 eo[2][(SN_WINO_MAX_N - 2) / 2];
    int o, k;
    for (k = 0; k < (NN - 2) / 2; k++)
        eo[0][k] = eo[1][k] = (v8){0, 0, 0, 0, 0, 0, 0, 0};
    for (o = 0; o < m; o++)
        for (k = 0; k < (NN - 2) / 2; k++)
            eo[o & 1][k] += w->pw[k][o] * dy[o];
    mo[0] = dy[0];
    for (k = 0; k < (NN - 2) / 2; k++) {
        mo[1 + 2 * k] = eo[0][k] + eo[1][k];
        mo[2 + 2 * k] = eo[0][k] - eo[1][k];
    }
    mo[NN - 1] = dy[m - 1];
}

/*
 * Columns are taken 8 at a time. The last group, when the width is not a
 * multiple of 8, is the last 8 columns (the width is at least 8): it
 * overlaps the group before, and a call that adds to its destination masks
 * the lanes already done to exact zeros (a bitwise AND: 0 * inf would be
 * NaN). lanes_mask(skip) keeps lanes skip..7.
 */
typedef int32_t v8i __attribute__((vector_size(32)));

static inline v8i lanes_mask(size_t skip)
{
    v8i m;
    int32_t lane[8];
    size_t i;
    for (i = 0; i < 8; i++)
        lane[i] = i < skip ? 0 : -1;
    memcpy(&m, lane, sizeof m);
    return m;
}

static inline void load_rows(const float *src, size_t stride, int rows, v8 *v)
{
    int r;
    for (r = 0; r < rows; r++)
        v[r] = ld8(src + (size_t)r * stride);
}

static inline void store_rows(float *dst, size_t stride, int rows, const v8 *v)
{
    int r;
    for (r = 0; r < rows; r++)
        st8(dst + (size_t)r * stride, v[r]);
}

static inline void add_rows(float *dst, size_t stride, int rows, const v8 *v, v8i keep)
{
    int r;
    for (r = 0; r < rows; r++) {
        float *p = dst + (size_t)r * stride;
        st8(p, ld8(p) + (v8)((v8i)v[r] & keep));
    }
}

/* The start of column group i of a width-w row (w >= 8), and the lanes of
 * it that an adding call must skip. */
static inline size_t group_start(size_t i, size_t width, size_t *skip)
{
    if (i + 8 <= width) {
        *skip = 0;
        return i;
    }
    *skip = i + 8 - width;
    return width - 8;
}

/* U_l[c] = sum_p B^T[l][p] x[c*m + p] for the chunk's tiles (U_l row
 * stride f8; its pad columns are never read). */
BODY void input_transform_n(const sn_wino *w, const int NN, const float *const *rows, size_t nc,
                            float *u)
{
    const size_t f = w->f, ld = w->f8, block = w->ublock;
    size_t c, i, at, skip;
    v8 d[SN_WINO_MAX_N], t[SN_WINO_MAX_N];
    for (c = 0; c < nc; c++)
        for (i = 0; i < f; i += 8) {
            at = group_start(i, f, &skip);
            load_rows(rows[c] + at, f, NN, d);
            in_body(w, NN, d, t);
            store_rows(u + c * ld + at, block, NN, t);
        }
}

/* dx[c*m + p] += sum_l B^T[l][p] dU_l[c]; neighbouring tiles overlap by
 * r - 1 rows, which add up. */
BODY void input_transform_t_n(const sn_wino *w, const int NN, const float *du, size_t nc,
                              float *const *dx)
{
    const size_t f = w->f, ld = w->f8, block = w->ublock;
    size_t c, i, at, skip;
    v8 g[SN_WINO_MAX_N], t[SN_WINO_MAX_N];
    for (c = 0; c < nc; c++)
        for (i = 0; i < f; i += 8) {
            at = group_start(i, f, &skip);
            load_rows(du + c * ld + at, block, NN, g);
            in_body_t(w, NN, g, t);
            add_rows(dx[c] + at, f, NN, t, lanes_mask(skip));
        }
}

/* y[c*m + o] = sum_l A^T[o][l] M_l[c] (M_l row stride n8). */
BODY void output_transform_n(const sn_wino *w, const int NN, const int M, const float *mo,
                             size_t nc, float *y)
{
    const size_t n = w->n, step = (size_t)M * n, ld = w->n8, block = w->mblock;
    size_t c, i, at, skip;
    v8 q[SN_WINO_MAX_N], t[SN_WINO_MAX_M];
    for (c = 0; c < nc; c++)
        for (i = 0; i < n; i += 8) {
            at = group_start(i, n, &skip);
            load_rows(mo + c * ld + at, block, NN, q);
            out_body(w, NN, M, q, t);
            store_rows(y + c * step + at, n, M, t);
        }
}

/* dM_l[c] = sum_o A^T[o][l] dy[c*m + o] (columns < n; the pad columns
 * are zeroed by sn_wino_clear_pads and stay zero). */
BODY void output_transform_t_n(const sn_wino *w, const int NN, const int M, const float *dy,
                               size_t nc, float *dmo)
{
    const size_t n = w->n, step = (size_t)M * n, ld = w->n8, block = w->mblock;
    size_t c, i, at, skip;
    v8 q[SN_WINO_MAX_M], t[SN_WINO_MAX_N];
    for (c = 0; c < nc; c++)
        for (i = 0; i < n; i += 8) {
            at = group_start(i, n, &skip);
            load_rows(dy + c * step + at, n, M, q);
            out_body_t(w, NN, M, q, t);
            store_rows(dmo + c * ld + at, block, NN, t);
        }
}

/* The drivers for both point counts. */
SN_WINO_CLONES
static void input_transform(const sn_wino *w, const float *const *rows, size_t nc, float *u)
{
    if (w->nn == 10)
        input_transform_n(w, 10, rows, nc, u);
    else
        input_transform_n(w, 8, rows, nc, u);
}

SN_WINO_CLONES
static void input_transform_t(const sn_wino *w, const float *du, size_t nc, float *const *dx)
{
    if (w->nn == 10)
        input_transform_t_n(w, 10, du, nc, dx);
    else
        input_transform_t_n(w, 8, du, nc, dx);
}

/* The output transforms also take m as a literal (one branch per tap
 * count): their loops over the outputs then unroll and the pair sums stay
 * in registers. */
SN_WINO_CLONES
static void output_transform(const sn_wino *w, const float *mo, size_t nc, float *y)
{
    switch (w->r) {
    case 2: output_transform_n(w, 8, 7, mo, nc, y); break;
    case 3: output_transform_n(w, 8, 6, mo, nc, y); break;
    case 4: output_transform_n(w, 8, 5, mo, nc, y); break;
    case 5: output_transform_n(w, 10, 6, mo, nc, y); break;
    case 6: output_transform_n(w, 10, 5, mo, nc, y); break;
    default: output_transform_n(w, 10, 4, mo, nc, y); break;
    }
}

SN_WINO_CLONES
static void output_transform_t(const sn_wino *w, const float *dy, size_t nc, float *dmo)
{
    switch (w->r) {
    case 2: output_transform_t_n(w, 8, 7, dy, nc, dmo); break;
    case 3: output_transform_t_n(w, 8, 6, dy, nc, dmo); break;
    case 4: output_transform_t_n(w, 8, 5, dy, nc, dmo); break;
    case 5: output_transform_t_n(w, 10, 6, dy, nc, dmo); break;
    case 6: output_transform_t_n(w, 10, 5, dy, nc, dmo); break;
    default: output_transform_t_n(w, 10, 4, dy, nc, dmo); break;
    }
}

void sn_wino_forward(const sn_wino *w, const float *const *x, const float *v, size_t tiles, float *y,
                     float *u, float *mo)
{
    const size_t m = (size_t)w->m, f = w->f, n = w->n, f8 = w->f8, n8 = w->n8;
    const size_t chunk = w->chunk;
    size_t c0;
    int l;
    for (c0 = 0; c0 < tiles; c0 += chunk) {
        size_t nc = tiles - c0 < chunk ? tiles - c0 : chunk;
        input_transform(w, x + c0, nc, u);
        for (l = 0; l < w->nn; l++)
            product(w, 0, nc, n8, f, u + (size_t)l * w->ublock, f8, v + (size_t)l * f * n8, n8,
                    mo + (size_t)l * w->mblock, n8, 0);
        output_transform(w, mo, nc, y + c0 * m * n);
    }
}

void sn_wino_clear_pads(const sn_wino *w, float *dmo)
{
    size_t row;
    int l;
    if (w->n8 > w->n)
        for (l = 0; l < w->nn; l++)
            for (row = 0; row < w->chunk; row++)
                memset(dmo + (size_t)l * w->mblock + row * w->n8 + w->n, 0,
                       (w->n8 - w->n) * sizeof *dmo);
}

void sn_wino_backward(const sn_wino *w, const float *const *x, const float *vt, const float *dy,
                      size_t tiles, float *dv, int dv_accumulate, float *const *dx, float *u,
                      float *dmo, float *du)
{
    const size_t m = (size_t)w->m, f = w->f, n = w->n, f8 = w->f8, n8 = w->n8;
    const size_t chunk = w->chunk;
    size_t c0;
    int l;
    if (dv != NULL && tiles == 0 && !dv_accumulate)
        memset(dv, 0, (size_t)w->nn * f * n8 * sizeof *dv);
    for (c0 = 0; c0 < tiles; c0 += chunk) {
        size_t nc = tiles - c0 < chunk ? tiles - c0 : chunk;
        output_transform_t(w, dy + c0 * m * n, nc, dmo);
        if (dv != NULL) {
            input_transform(w, x + c0, nc, u);
            for (l = 0; l < w->nn; l++)
                product(w, 1, f, n8, nc, u + (size_t)l * w->ublock, f8,
                        dmo + (size_t)l * w->mblock, n8, dv + (size_t)l * f * n8, n8,
                        dv_accumulate || c0 > 0);
        }
        if (dx != NULL) {
            for (l = 0; l < w->nn; l++)
                product(w, 0, nc, f8, n, dmo + (size_t)l * w->mblock, n8,
                        vt + (size_t)l * n * f8, f8, du + (size_t)l * w->ublock, f8, 0);
            input_transform_t(w, du, nc, dx + c0);
        }
    }
}
