// lstm_rows.cpp: one block of rows of the fused LSTM cell, forward (1)-(7) and backward (8)-(11)
// of nn/lstm.h. See lstm_rows.h for who calls these and what they are not.
#include "nn/lstm_rows.h"

#include <cstring>

#include "autodiff/blas.h"
#include "nn/fastmath.h"

namespace l2l {

// ---- blocks of rows --------------------------------------------------
//
// The N rows (coordinates) are independent, so both passes cut them into blocks of at most
// g_block_rows rows (block_rows_for) and run the blocks on the thread pool (autodiff/parallel.h). A block does
// its own small GEMM and then its nonlinearities while its rows are still in L2. The block
// size is fixed (it does not depend on the thread count) and the only sums over rows (dW, db)
// are kept per block and added in block order, so any thread count gives the same bits.
//
// Block size, measured with `build/bench --block-sweep` (float, 2x20 LSTM, N = 15,910, fwd+bwd
// ms per step, median of 15, one run on an idle moment of the shared machine, 2026-12-03, after
// the cell's products moved to gemm_small; rows is the most per block, see block_rows_for):
//   rows      32    64   128   256   512  1024  2048  4096  15910 (2 blocks)
//   1 thread  13.4  12.4  12.5  12.5  12.0  12.0  12.6  13.3  13.5
//   2 threads  8.6   7.4   7.4   7.2   6.9   7.4   7.8   7.6   9.8
// 512 it is (for N = 15,910: 32 blocks, 31 of 504 rows and one of 286): a block's working set
// (xh1, act, tc, h', c', dz: 504 x (41 + 80 + 20 + 40 + 80) floats = 526 KB) stays inside the
// 1 MiB L2.
// Rows per block: N over an even number of blocks of at most max_rows rows, so that two cores
// get about the same share also when N is only a few blocks (the quadratics' 1,280 rows: 4
// blocks of 320, not 512 + 512 + 256); then rounded up to a multiple of 8 rows (when max_rows
// >= 8), so that every block starts 32-byte aligned relative to its arrays. The rounding can
// leave a short last block (MNIST: 31 x 504 + 286) or an odd count. Fixed by N and max_rows
// alone, never by the thread count.
int block_rows_for(int N, int max_rows) {
  if (N <= 0) return 1;
  int blocks = 1 + (N - 1) / max_rows;  // ceil(N / max_rows), without overflow
  blocks += blocks % 2;
  int rows = (N + blocks - 1) / blocks;
  if (max_rows >= 8) rows = std::min(max_rows, (rows + 7) / 8 * 8);
  return std::max(rows, 1);
}

// ---- forward ------------------------------------------------------------

// The loops below take restrict-qualified pointers: that is what lets the compiler vectorize
// them (it may then assume the arrays do not overlap). Long flat loops are preferred over
// per-row loops of length H: with H = 20 a row is 16 + 4 lanes, and the 4-lane remainder of a
// loop that calls exp costs about as much as its body. sigmoid_inplace and tanh_inplace are
// in nn/fastmath.h.

// [x, h, 1] side by side: xh1 (N, I+H+1). The column of ones carries the bias through the GEMM.
// Built per block, in the calling thread's scratch, by the forward and again by the backward
// (for dW): saving it would write and read back 2.7 MB per layer and step for the MNIST net
// (x and h are there anyway, as the parents' values).
static real* xh1_scratch(int rows, int K1) {
  thread_local std::vector<real> s;
  if (s.size() < (size_t)rows * K1) s.resize((size_t)rows * K1);
  return s.data();
}
// The attribute keeps GCC from turning the two short row copies into calls to memcpy (20 and 2
// floats: a call each cost more than the copy; measured 5% of a meta-iteration).
__attribute__((optimize("no-tree-loop-distribute-patterns")))
static void gather_xh1(const real* __restrict x, const real* __restrict h, real* __restrict xh1, int N, int I, int H) {
  const int K1 = I + H + 1;
  for (int n = 0; n < N; n++) {
    real* row = xh1 + (size_t)n * K1;
    for (int i = 0; i < I; i++) row[i] = x[(size_t)n * I + i];
    for (int j = 0; j < H; j++) row[I + j] = h[(size_t)n * H + j];
    row[I + H] = 1;
  }
}

// (4) and (6) for one coordinate. In: a = [i, f, sigmoid(2 z_g), o] (4H), c (H). Out: a's g block
// turned into g = 2 sigmoid(2 z_g) - 1 = tanh(z_g); c' = f c + i g into c2 and into tc
// (which the next pass turns into tanh(c')).
static inline void cell_row_state(real* __restrict a, const real* __restrict c, real* __restrict c2,
                                  real* __restrict tc, int H) {
  for (int j = 0; j < H; j++) {
    real g = 2 * a[2 * H + j] - 1;
    real cn = a[H + j] * c[j] + a[j] * g;
    a[2 * H + j] = g;
    c2[j] = cn;
    tc[j] = cn;
  }
}

// (7) for one coordinate: h2 = h' = o tanh(c').
static inline void cell_row_output(const real* __restrict a, const real* __restrict tc, real* __restrict h2, int H) {
  for (int j = 0; j < H; j++) h2[j] = a[3 * H + j] * tc[j];
}

// (1)-(7) for `rows` rows, in four passes after the GEMM: sigmoid of all gates (flat), g and c'
// (rows), tanh(c') (flat), h' (rows). Wb2 (K+1, G): [W; b] with the g columns doubled.
void cell_forward_rows(const ForwardRows& p, const real* Wb2, int rows, int I, int H) {
  const int K1 = I + H + 1, G = 4 * H;
  real* xh1 = xh1_scratch(rows, K1);
  gather_xh1(p.x, p.h, xh1, rows, I, H);
  gemm_small(false, rows, G, K1, xh1, K1, Wb2, G, p.act, G);  // (1): z = [x, h, 1] [W; b]
  sigmoid_inplace(p.act, (size_t)rows * G);
  for (int n = 0; n < rows; n++)
    cell_row_state(p.act + (size_t)n * G, p.c + (size_t)n * H, p.c2 + (size_t)n * H, p.tc + (size_t)n * H, H);
  tanh_inplace(p.tc, (size_t)rows * H);
  for (int n = 0; n < rows; n++) cell_row_output(p.act + (size_t)n * G, p.tc + (size_t)n * H, p.h2 + (size_t)n * H, H);
}

// (1) z = [x, h] W + b as one GEMM: b is W's extra row, met by a column of ones in xh1.
// The g columns of W and b are doubled (exact in binary floating point), so those columns of
// z hold 2 z_g: since tanh(z_g) = 2 sigmoid(2 z_g) - 1, one flat sigmoid pass serves all gates.
Tensor doubled_gate_weights(const real* W, const real* b, int K, int H) {
  const int G = 4 * H;
  Tensor Wb2({K + 1, G});
  std::copy_n(W, (size_t)K * G, Wb2.data());
  std::copy_n(b, G, Wb2.data() + (size_t)K * G);
  for (int r = 0; r <= K; r++)
    for (int j = 2 * H; j < 3 * H; j++) Wb2[(size_t)r * G + j] *= 2;
  return Wb2;
}

// ---- backward -----------------------------------------------------------

// (8) for one coordinate: dct = dc' + dh' o (1 - tanh^2 c'), o = a[3H:4H] (H each). dct may be
// dc2 itself (no restrict on those two: each entry is read before it is written).
static inline void row_dct(const real* __restrict a, const real* __restrict tc, const real* __restrict dh,
                           const real* dc2, real* dct, int H) {
  for (int j = 0; j < H; j++) dct[j] = dc2[j] + dh[j] * a[3 * H + j] * (1 - tc[j] * tc[j]);
}

// (9)-(10) for one coordinate. In: a = [i f g o] (4H), tc = tanh(c') (H), dh = dh' (or null:
// zero), dct = the total dL/dc' from (8) and c (H each). Out: dz (4H) written; dc (H) added to
// unless null.
static inline void cell_row_backward(const real* __restrict a, const real* __restrict tc, const real* __restrict dh,
                                     const real* __restrict dct, const real* __restrict c, real* __restrict dz,
                                     real* __restrict dc, int H) {
  for (int j = 0; j < H; j++) {
    real i = a[j], f = a[H + j], g = a[2 * H + j];
    dz[j] = dct[j] * g * i * (1 - i);  // (9)
    dz[H + j] = dct[j] * c[j] * f * (1 - f);
    dz[2 * H + j] = dct[j] * i * (1 - g * g);
  }
  for (int j = 0; j < H; j++) {
    real o = a[3 * H + j];
    dz[3 * H + j] = dh ? dh[j] * tc[j] * o * (1 - o) : 0;
  }
  if (dc)  // (10) dc += dct f
    for (int j = 0; j < H; j++) dc[j] += dct[j] * a[H + j];
}

// (8)-(10) for one coordinate in one pass, when dh' is given and dc is wanted (every step of a
// window but its first): the same arithmetic as row_dct then cell_row_backward, with one loop
// remainder instead of four. dct is stored into dct_out (may be dc2).
static inline void cell_row_backward_full(const real* __restrict a, const real* __restrict tc, const real* __restrict dh,
                                          const real* dc2, real* dct_out, const real* __restrict c, real* __restrict dz,
                                          real* __restrict dc, int H) {
  for (int j = 0; j < H; j++) {
    real i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j], t = tc[j];
    real dct = dc2[j] + dh[j] * o * (1 - t * t);  // (8)
    dct_out[j] = dct;
    dz[j] = dct * g * i * (1 - i);  // (9)
    dz[H + j] = dct * c[j] * f * (1 - f);
    dz[2 * H + j] = dct * i * (1 - g * g);
    dz[3 * H + j] = dh[j] * t * o * (1 - o);
    dc[j] += dct * f;  // (10)
  }
}

constexpr int kPrefetchRows = 4;  // how far ahead the backward prefetches the saved gates (measured ~5%)

// Per-thread scratch of a backward block, reused across calls: dz (rows, G), dz W^T (rows, Kp).
struct BackwardScratch {
  std::vector<real> dz, dxh;
};

// (8)-(11) for `rows` rows, every product by gemm_small (autodiff/blas.h).
void cell_backward_rows(const BackwardRows& p, const PaddedWT& WT, int rows, int I, int H) {
  const int K1 = I + H + 1, G = 4 * H, Kp = WT.Kp;
  thread_local BackwardScratch s;
  if (s.dz.size() < (size_t)rows * G) s.dz.resize((size_t)rows * G);
  real* dz = s.dz.data();
  for (int n = 0; n < rows; n++) {
    size_t r = (size_t)n * H;
    const real* a = p.act + (size_t)n * G;
    if (n + kPrefetchRows < rows)  // the saved rows come from memory: ask for them early
      for (int k = 0; k < G; k += 16) __builtin_prefetch(a + (size_t)kPrefetchRows * G + k);
    if (p.dh2 && p.dc) {
      cell_row_backward_full(a, p.tc + r, p.dh2 + r, p.dc2 + r, p.dct_out + r, p.c + r, dz + (size_t)n * G, p.dc + r, H);
      continue;
    }
    const real* dct = p.dc2 + r;  // no dh': dct = dc'
    if (p.dh2) {
      row_dct(a, p.tc + r, p.dh2 + r, p.dc2 + r, p.dct_out + r, H);
      dct = p.dct_out + r;
    }
    cell_row_backward(a, p.tc + r, p.dh2 ? p.dh2 + r : nullptr, dct, p.c + r, dz + (size_t)n * G,
                      p.dc ? p.dc + r : nullptr, H);
  }
  // (11) [dW; db] part = [x,h,1]^T dz: (K+1, rows)(rows, G); its last row is the column sum of dz.
  if (p.dWb_part) {
    real* xh1 = xh1_scratch(rows, K1);
    gather_xh1(p.x, p.h, xh1, rows, I, H);
    gemm_small(true, K1, G, rows, xh1, K1, dz, G, p.dWb_part, G);
  }
  if (!p.dx && !p.dh) return;
  // [dx, dh] += dz W^T: one product (rows, G)(G, Kp), then each part added to its own rows.
  if (s.dxh.size() < (size_t)rows * Kp) s.dxh.resize((size_t)rows * Kp);
  real* dxh = s.dxh.data();
  gemm_small(false, rows, Kp, G, dz, G, WT.v.data(), Kp, dxh, Kp);
  for (int n = 0; n < rows; n++) {
    const real* __restrict src = dxh + (size_t)n * Kp;
    if (p.dx)
      for (int i = 0; i < I; i++) p.dx[(size_t)n * I + i] += src[i];
    if (p.dh)
      for (int j = 0; j < H; j++) p.dh[(size_t)n * H + j] += src[I + j];
  }
}

// dst[k] += sum over blocks b (in block order, in double) of parts[b * stride + k], k < n.
void add_block_sums(real* dst, const real* parts, int blocks, size_t stride, size_t n) {
  thread_local std::vector<double> acc;
  acc.assign(n, 0.0);
  for (int b = 0; b < blocks; b++)
    for (size_t k = 0; k < n; k++) acc[k] += parts[(size_t)b * stride + k];
  for (size_t k = 0; k < n; k++) dst[k] += (real)acc[k];
}

}  // namespace l2l
