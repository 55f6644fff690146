// lstm_rows.h: the fused LSTM cell's arithmetic on one block of rows, forward and backward,
// equations (1)-(11) of nn/lstm.h. Two callers put these blocks together: the fused cell op
// (nn/lstm.cpp: one step of one layer over all N rows, recorded on a tape) and the learned
// optimizer's fused window (tasks/fused_window.cpp: all steps of a window, no tape).
//
// A block is `rows` consecutive coordinates; every pointer below points at the block's row 0
// of a row-major array. Nothing here runs threads or allocates per call beyond the calling
// thread's reused scratch.
// Is not: an op (no tape, no Vars), or the sums over blocks (the callers add the blocks' [dW; db]
// parts in block order, so that results are the same bits at any thread count).
#pragma once
#include <algorithm>
#include <vector>

#include "autodiff/tensor.h"

namespace l2l {

// Rows per block: N over an even number of blocks of at most max_rows rows (see lstm_rows.cpp).
int block_rows_for(int N, int max_rows);

// N rows cut into blocks of block_rows_for(N, max_rows) rows (the last may be shorter).
struct RowBlocks {
  int N, rows, count;
  RowBlocks(int N_, int max_rows)
      : N(N_), rows(block_rows_for(N_, max_rows)), count(N_ == 0 ? 0 : (N_ + rows - 1) / rows) {}
  int first(int b) const { return b * rows; }
  int size(int b) const { return std::min(rows, N - b * rows); }
};

// [W; b] (K+1, 4H) with the g columns doubled, the B of the forward's one GEMM (see lstm.cpp):
// column block g then holds 2 z_g, and tanh(z_g) = 2 sigmoid(2 z_g) - 1.
Tensor doubled_gate_weights(const real* W, const real* b, int K, int H);

// ---- forward ----------------------------------------------------------------------------

// Pointers to row 0 of one block of every array the forward reads or writes.
struct ForwardRows {
  const real *x, *h, *c;     // inputs (rows, I), (rows, H), (rows, H)
  real *act, *h2, *c2, *tc;  // saved/outputs: [i f g o] (rows, 4H), h', c', tanh(c') (rows, H)
};

// (1)-(7) for `rows` rows. Wb2 from doubled_gate_weights. h2 and c2 must not overlap h and c.
void cell_forward_rows(const ForwardRows& p, const real* Wb2, int rows, int I, int H);

// ---- backward ---------------------------------------------------------------------------

// Pointers to row 0 of one block; null gradient pointers skip their work.
struct BackwardRows {
  const real *x, *h, *c;  // the inputs (rows, I), (rows, H), (rows, H)
  const real *act, *tc;   // saved: (rows, 4H), (rows, H)
  const real *dh2, *dc2;  // incoming dh' (or null: zero) and dc' (rows, H)
  real* dct_out;          // where (8)'s dct is stored (may be dc2; set whenever dh2 is)
  real *dx, *dh, *dc;     // row gradients, added to (rows, I), (rows, H), (rows, H)
  real* dWb_part;         // this block's [x,h,1]^T dz (K+1, 4H) = [dW; db] part, overwritten
};

// W^T with its columns padded to a multiple of 8 with zeros: WT (4H, Kp), the B of dz W^T.
struct PaddedWT {
  int Kp;
  std::vector<real> v;
  PaddedWT(const real* W, int K, int G) : Kp((K + 7) / 8 * 8), v((size_t)G * Kp, real(0)) {
    for (int k = 0; k < K; k++)
      for (int g = 0; g < G; g++) v[(size_t)g * Kp + k] = W[(size_t)k * G + g];
  }
};

// (8)-(11) for `rows` rows, every product by gemm_small (autodiff/blas.h).
void cell_backward_rows(const BackwardRows& p, const PaddedWT& WT, int rows, int I, int H);

// dst[k] += sum over blocks b (in block order, in double) of parts[b * stride + k], k < n.
void add_block_sums(real* dst, const real* parts, int blocks, size_t stride, size_t n);

}  // namespace l2l
