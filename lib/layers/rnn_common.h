/*
 * lib/layers/rnn_common.h -- the machinery SimpleRNN, LSTM, GRU and
 * Bidirectional share: option parsing, weight declaration, scratch planning
 * and the BPTT driver (time loop, masks, dropout, the large GEMMs).
 *
 * One recurrent "direction" (a run) processes a [B, T, I] batch:
 *
 *   1. optional input dropout: X~ = X * m_x, one keep-mask m_x [B, I] per
 *      sequence (Keras: the same mask at every step), scaled by 1/(1-rate);
 *   2. the input projection of every step in one GEMM:
 *      P[B*T, G*H] = X~[B*T, I] W[I, G*H] (+ input bias), rows in (b, t) order;
 *   3. for each step s = 0..T-1 reading time t = s (or T-1-s with
 *      go_backwards): h~ = h_{s-1} * m_h (recurrent dropout, one mask
 *      [B, H] per sequence), one recurrent GEMM [B, H] x [H, G*H] (two for
 *      GRU with reset_after=0, as Keras does), then the cell's fused
 *      element-wise pass writes the gate activations over P's rows of
 *      step s and the new state. Rows (b) whose mask is 0 at time t carry
 *      h and c through unchanged;
 *   4. the output of step s is h_s (a masked step repeats the previous
 *      output, Keras's default), or 0 at masked steps when zero_output_mask
 *      is set (what Keras's Bidirectional asks of its inner layers when it
 *      returns sequences).
 *
 * Backward walks s = T-1..0 with the cell's fused backward pass, which
 * turns the stored gate activations of step s into dZ in place (so P holds
 * dZ for every step when the loop ends; backward therefore runs once per
 * forward), one GEMM dZ_s U^T per step for dh_{s-1}, and after the loop:
 *   dW = X~^T dZ          one GEMM  [I, B*T] x [B*T, G*H]
 *   dU = H~^T dZ_rec      one GEMM  [H, B*T] x [B*T, G*H] over the stored
 *                         recurrent inputs h~ (two GEMMs for GRU)
 *   dX = (dZ W^T) * m_x   one GEMM  [B*T, G*H] x [G*H, I]
 * Masked steps get dZ = 0, so their inputs receive exactly zero gradient and
 * they add nothing to dW, dU or the bias; the carried dh/dc pass through.
 *
 * Everything lives in the layer's scratch (sized by sn_rnn_scratch_bytes):
 * nothing is allocated inside the time loop.
 */
#ifndef SN_RNN_COMMON_H
#define SN_RNN_COMMON_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "layers/activation.h"
#include "layers/fastmath.h"
#include "layers/layer.h"

/* The cell types (also the SEQNET_LAYER_* kind of the plain layer). */
enum sn_rnn_cell {
    SN_CELL_SIMPLE = SEQNET_LAYER_SIMPLE_RNN,
    SN_CELL_LSTM = SEQNET_LAYER_LSTM,
    SN_CELL_GRU = SEQNET_LAYER_GRU
};

/* Bidirectional merge modes (Keras names). */
enum sn_rnn_merge { SN_MERGE_CONCAT = 0, SN_MERGE_SUM = 1, SN_MERGE_MUL = 2, SN_MERGE_AVE = 3 };

typedef struct sn_rnn_config {
    int32_t cell;              /* enum sn_rnn_cell */
    int32_t gates;             /* G: 1, 4 or 3 */
    int32_t units;             /* H */
    int32_t act;               /* activation (candidate / output) */
    int32_t rec_act;           /* recurrent_activation (gates) */
    int32_t use_bias;
    int32_t unit_forget_bias;  /* LSTM; applied by sn_lstm_init_forget_bias */
    int32_t reset_after;       /* GRU */
    int32_t return_sequences;
    int32_t return_state;      /* the final state is readable by SEQNET_LAYER_RNN_STATE nodes */
    int32_t go_backwards;
    float dropout;             /* input dropout rate, training only */
    float recurrent_dropout;   /* state dropout rate, training only */
} sn_rnn_config;

/* Parse the options of a recurrent layer of cell type `cell` (SimpleRNN,
 * LSTM, GRU: Keras defaults) into *c. SEQNET_EINVAL on a bad value. */
int sn_rnn_parse(const sn_layer *L, int32_t cell, sn_rnn_config *c, sn_object *err);

/* Output shape: [T, H] with return_sequences (masked when the input is),
 * else a vector [H]. `width` is H (2H for a concatenating Bidirectional). */
int sn_rnn_infer_shape(const sn_layer *L, const sn_rnn_config *c, int32_t width,
                       const sn_shape *in, sn_shape *out, sn_object *err);

/* Declare kernel, recurrent_kernel and bias (Keras layouts) as params
 * first, first+1, (first+2); names get `prefix` ("" or "forward_").
 * Returns the number of params declared. */
int32_t sn_rnn_declare(sn_layer *L, const sn_rnn_config *c, int32_t in_features, int32_t first,
                       const char *prefix);

/* Bytes of scratch one direction needs. */
size_t sn_rnn_scratch_bytes(const sn_rnn_config *c, int32_t batch, int32_t time,
                            int32_t in_features, int training);

/* One direction's working set for one call. */
typedef struct sn_rnn_run {
    const sn_rnn_config *c;
    int32_t batch, time, in_features, units, gates;
    int training;
    int zero_output_mask;      /* outputs at masked steps are 0 (Bidirectional) */
    const float *kernel;       /* [I, G*H] */
    const float *rkernel;      /* [H, G*H] */
    const float *bias;         /* [G*H] or GRU reset_after [2, G*H]; NULL without bias */
    const float *x;            /* [B, T, I] */
    const uint8_t *mask;       /* [B, T] or NULL */
    const float *h0;           /* [B, H] initial state, or NULL for zeros */
    const float *c0;           /* [B, H] LSTM initial cell state, or NULL for zeros */
    const float *d_hT;         /* backward: gradient of the final h (return_state), or NULL */
    const float *d_cT;         /* backward: gradient of the final LSTM c, or NULL */

    /* scratch views (set by sn_rnn_bind) */
    float *proj;               /* [T*B, G*H], (t, b) rows (time-major: a step's rows are
                                * contiguous): projection, then gates, then dZ */
    float *states;             /* [T, B, H]: h after step s */
    float *cells;              /* [T, B, H]: LSTM c after step s */
    float *hrec;               /* training [T*B, H] (t, b) rows: h~ of each step; else [B, H].
                                * Only its step-0 block when sn_rnn_hrec_in_states */
    float *aux;                /* GRU: training [B*T, H] (b, t); else [B, H] */
    float *rec;                /* [B, G*H]: recurrent projection of the current step */
    float *zeros;              /* [B, H]: the zero initial state */
    float *xdrop;              /* training: [T*B, I] (t, b) rows: the input, dropped when
                                * dropout is set (backward: then dX) */
    float *xh;                 /* LSTM training with GEMMs (sn_rnn_stacked): [T*B, I+H]
                                * (t, b) rows [x~_t | h~_t], the one operand of each step's
                                * product with [W; U]; xdrop and the h~ history are not used */
    float *wu;                 /* with xh: [I+H, G*H], W over U; after backward: their gradient */
    float *dxh;                /* with xh: [B, I+H], a step's d[x~ | h~] */
    float *grad_in;            /* backward with xh: dX, written a step at a time */
    int grad_in_accumulate;
    float *in_keep;            /* [B, I] 0 or 1/(1-rate) */
    float *rec_keep;           /* [B, H] */
    float *dh, *dh_prev, *dc, *tmp; /* [B, H] each, backward */
} sn_rnn_run;

/* Lay out the scratch for a run (the region sn_rnn_scratch_bytes sized). */
void sn_rnn_bind(sn_rnn_run *r, const sn_rnn_config *c, void *scratch, int32_t batch,
                 int32_t time, int32_t in_features, int training);

/* Forward over the whole sequence. rng: draws the dropout masks (training). */
void sn_rnn_forward(sn_rnn_run *r, sn_rng *rng);

/* The time index step s reads. */
static inline int32_t sn_rnn_step_time(const sn_rnn_run *r, int32_t s)
{
    return r->c->go_backwards ? r->time - 1 - s : s;
}

/* Training without recurrent dropout, in forward order: h~ of step t > 0
 * is the state of step t - 1, already kept (time-major) in r->states, so
 * r->hrec holds only step 0's h~ (the initial state, copied: a stateful
 * layer's buffer is overwritten by the final state). */
static inline int sn_rnn_hrec_in_states(const sn_rnn_run *r)
{
    return r->training && r->xh == NULL && r->rec_keep == NULL && !r->c->go_backwards;
}


/* Output row of batch b at processing step s (a pointer into the states,
 * or to zeros for a masked step with zero_output_mask). */
const float *sn_rnn_output_row(const sn_rnn_run *r, int32_t b, int32_t s);

/* Copy the run's output into out (row stride ld floats): the sequence
 * [B, T, ld] (step s at position s, or T-1-s when `reverse`), or the
 * last state [B, ld]. */
void sn_rnn_write_output(const sn_rnn_run *r, float *out, size_t ld, int sequences, int reverse);

/*
 * Backward. d_out: the gradient of the output as written by
 * sn_rnn_write_output with the same (ld, sequences, reverse). Parameter
 * gradients (d_kernel, d_rkernel, d_bias; any may be NULL) are overwritten;
 * grad_in (may be NULL) is overwritten or, with accumulate, added to.
 */
void sn_rnn_backward(sn_rnn_run *r, const float *d_out, size_t ld, int sequences, int reverse,
                     float *d_kernel, float *d_rkernel, float *d_bias, float *grad_in,
                     int accumulate);

/* ---- the cells' fused element-wise passes (simple_rnn.c, lstm.c, gru.c) --
 * Step s reads time t. h_prev/c_prev: the state before the step ([B, H]);
 * h_out/c_out: after it. The step does its own recurrent GEMM(s) from
 * r->hrec view `h_rec` (row stride ld_rec). */
typedef struct sn_rnn_step {
    int32_t s, t;
    const float *h_prev, *c_prev;
    float *h_out, *c_out;
    const float *h_rec;  /* h~ for this step, row b at h_rec + b * ld_rec */
    size_t ld_rec;
    float *aux;          /* GRU per-step aux rows, row b at aux + b * ld_aux */
    size_t ld_aux;
} sn_rnn_step;

/* LSTM training step backward with the stacked operand (r->xh): d[x~ | h~]
 * of step t in one product with [W; U]^T; dh_prev and the step's rows of
 * dX from it. */
void sn_rnn_stacked_back(sn_rnn_run *r, const sn_rnn_step *st);

void sn_simple_rnn_step_forward(const sn_rnn_run *r, const sn_rnn_step *st);
void sn_lstm_step_forward(const sn_rnn_run *r, const sn_rnn_step *st);
void sn_gru_step_forward(const sn_rnn_run *r, const sn_rnn_step *st);
/* Backward of step s: from r->dh (and r->dc) for the state after the step,
 * write dZ over the gate rows of step s, and leave in r->dh_prev (and r->dc)
 * the gradient of the state before it, recurrent dropout applied. */
void sn_simple_rnn_step_backward(sn_rnn_run *r, const sn_rnn_step *st);
void sn_lstm_step_backward(sn_rnn_run *r, const sn_rnn_step *st);
void sn_gru_step_backward(sn_rnn_run *r, const sn_rnn_step *st);

/* Whether batch row b is a real step at time t. */
static inline int sn_rnn_real(const sn_rnn_run *r, int32_t b, int32_t t)
{
    return r->mask == NULL || r->mask[(size_t)b * (size_t)r->time + (size_t)t] != 0;
}

/* Gate-row pointer of (b, t) in r->proj. */
static inline float *sn_rnn_gate_row(const sn_rnn_run *r, int32_t b, int32_t t)
{
    return r->proj + ((size_t)t * (size_t)r->batch + (size_t)b) * (size_t)(r->gates * r->units);
}

/* Add h~ U (every gate column) to the gate rows of step t in r->proj, in
 * place: one GEMM with beta 1, which spares zeroing a product buffer and a
 * pass adding it. Returns 1 when done; 0, doing nothing, for layers small
 * enough for the built-in row product, whose caller takes the
 * sn_rnn_recurrent_product path. The sum is the same either way: the GEMM
 * adds its dot products to the gate value, as the separate add did. */
int sn_rnn_recurrent_accumulate(const sn_rnn_run *r, const float *h_rec, size_t ld, int32_t t);

/* out = h~ U for rows of h_rec (row stride ld), columns [col, col+n) of U,
 * into rec columns [col, col+n): one GEMM (a GEMV for one row). */
void sn_rnn_recurrent_product(const sn_rnn_run *r, const float *h_rec, size_t ld, int32_t col,
                              int32_t n, float *dst, size_t ld_dst);

/* dst[B, H] = src[B, n] U[:, col:col+n]^T (+ dst when accumulate). */
void sn_rnn_recurrent_back(const sn_rnn_run *r, const float *src, size_t ld_src, int32_t col,
                           int32_t n, float *dst, int accumulate);

/* After a cell's dh_prev = dZ_s U^T: add the direct paths into h~
 * (`direct` [B, H], NULL for none), apply the recurrent keep-mask, and make
 * masked rows carry dh through unchanged. */
void sn_rnn_finish_dh_prev(sn_rnn_run *r, const sn_rnn_step *st, const float *direct);

/* ---- scalar activations usable inside the fused passes ----------------- */
/* Recurrent layers take the activations whose derivative follows from the
 * output alone: linear, relu, sigmoid, tanh, hard_sigmoid. */
int sn_rnn_act_supported(int act);

/* tanh through e^-2|x| (glibc's tanhf, via expm1f, was over half of an
 * LSTM's forward time). A short series near 0 avoids the cancellation of
 * (1 - e) / (1 + e); elsewhere the error is a few ulps. Both are computed
 * and one is selected, so loops over it vectorize. */
static inline float sn_rnn_tanh(float x)
{
    float ax = fabsf(x), x2 = x * x, e, t, small;
    small = x * (1.0f + x2 * (-1.0f / 3.0f + x2 * (2.0f / 15.0f)));
    e = sn_fast_exp(-2.0f * ax);
    t = copysignf((1.0f - e) / (1.0f + e), x);
    return sn_fast_select(ax < 0.0625f, small, t);
}

static inline float sn_rnn_sigmoid(float x)
{
    return 1.0f / (1.0f + sn_fast_exp(-x));
}

static inline float sn_rnn_act(int act, float x)
{
    switch (act) {
    case SN_ACT_TANH: return sn_rnn_tanh(x);
    case SN_ACT_SIGMOID: return sn_rnn_sigmoid(x);
    case SN_ACT_HARD_SIGMOID: {
        float y = 0.2f * x + 0.5f;
        return y < 0.0f ? 0.0f : (y > 1.0f ? 1.0f : y);
    }
    case SN_ACT_RELU: return x > 0.0f ? x : 0.0f;
    default: return x;
    }
}

/* f'(x) from y = f(x). hard_sigmoid: 0.2 strictly inside (0, 1), as the
 * gradient of clip is 0 where it saturates. */
static inline float sn_rnn_act_grad(int act, float y)
{
    switch (act) {
    case SN_ACT_TANH: return 1.0f - y * y;
    case SN_ACT_SIGMOID: return y * (1.0f - y);
    case SN_ACT_HARD_SIGMOID: return (y > 0.0f && y < 1.0f) ? 0.2f : 0.0f;
    case SN_ACT_RELU: return y > 0.0f ? 1.0f : 0.0f;
    default: return 1.0f;
    }
}

/* The hot loops of the fused passes: with GCC on x86-64 ELF, also an AVX2
 * build, chosen at load time (an ifunc). FMA is not enabled and ISO C mode
 * keeps contraction off, so both builds give the same bits. SN_NO_CLONES
 * turns it off. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__ELF__) && \
    !defined(SN_NO_CLONES)
#define SN_RNN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SN_RNN_CLONES
#endif

#if defined(__GNUC__)
#define SN_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define SN_ALWAYS_INLINE static inline
#endif

/* The same loops inline, for step functions built as SN_RNN_CLONES
 * themselves: per row of a small layer (GRU(32): 64 and 32 elements) the
 * call, the switch and loading the polynomial's constants cost as much as
 * the arithmetic; inlined, the constants stay in registers across rows. */
SN_ALWAYS_INLINE void sn_rnn_act_row(int act, float *restrict x, size_t n)
{
    size_t j;
    if (act == SN_ACT_TANH) {
        for (j = 0; j < n; j++)
            x[j] = sn_rnn_tanh(x[j]);
    } else if (act == SN_ACT_SIGMOID) {
        for (j = 0; j < n; j++)
            x[j] = sn_rnn_sigmoid(x[j]);
    } else {
        for (j = 0; j < n; j++)
            x[j] = sn_rnn_act(act, x[j]);
    }
}

SN_ALWAYS_INLINE void sn_rnn_act_row_into(int act, const float *restrict x, float *restrict y,
                                       size_t n)
{
    size_t j;
    if (act == SN_ACT_TANH) {
        for (j = 0; j < n; j++)
            y[j] = sn_rnn_tanh(x[j]);
    } else if (act == SN_ACT_SIGMOID) {
        for (j = 0; j < n; j++)
            y[j] = sn_rnn_sigmoid(x[j]);
    } else {
        for (j = 0; j < n; j++)
            y[j] = sn_rnn_act(act, x[j]);
    }
}

/* ---- the fused passes' row operations (rnn_common.c) -------------------
 * Loops with the activation chosen outside them, which the compiler turns
 * into SIMD code (on x86-64 with GCC also an AVX2 clone picked at load
 * time). Element by element they compute exactly what sn_rnn_act and
 * sn_rnn_act_grad compute, whatever the length or alignment of the row. */
/* y[j] = act(x[j]), j < n; x and y do not overlap */
void sn_rnn_act_into(int act, const float *x, float *y, size_t n);
/* y[j] *= act'(from the output a[j]), j < n; a and y do not overlap */
void sn_rnn_mul_act_grad(int act, const float *a, float *y, size_t n);

/* ---- the layer glue shared by the three plain layers --------------------- */
/* A layer's scratch starts with a stamp recording the forward call that
 * filled it (training, batch, time); backward refuses a mismatch with
 * SEQNET_ESTATE instead of reading a different layout. The direction
 * scratch follows at SN_RNN_STAMP_BYTES. */
#define SN_RNN_STAMP_BYTES 64u
void sn_rnn_stamp(const sn_exec *e);
int sn_rnn_stamp_check(const sn_exec *e);
int sn_rnn_layer_configure(sn_layer *L, sn_object *err);
int sn_rnn_layer_infer(const sn_layer *L, const sn_shape *in, int32_t n_in, sn_shape *out,
                       sn_object *err);
int sn_rnn_layer_declare(sn_layer *L, sn_object *err);
size_t sn_rnn_layer_scratch(const sn_layer *L, int32_t batch, const sn_shape *in, int training);
int sn_rnn_layer_forward(sn_exec *e);
/* Floats of carried state per sample: H (LSTM: 2H, h then c). */
int32_t sn_rnn_layer_state_size(const sn_layer *L);
int sn_rnn_layer_backward(sn_exec *e);

/*
 * unit_forget_bias for LSTM (and Bidirectional(LSTM)): set the forget-gate
 * slice [H, 2H) of each bias to 1, as Keras's LSTM bias initializer does.
 * To be called once on freshly initialized parameters (the model's block,
 * params[p] at params + L->params[p].offset); a no-op for other layers or
 * when unit_forget_bias or use_bias is off.
 */
void sn_lstm_init_forget_bias(const sn_layer *L, float *params);

#endif /* SN_RNN_COMMON_H */
