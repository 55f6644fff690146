// lstm.cpp: the LSTM cell twice (composed from ops, and fused with a hand-written backward)
// and the stacked LSTM module. Equations (1)-(11) are in lstm.h.
#include "nn/lstm.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "autodiff/blas.h"
#include "autodiff/parallel.h"
#include "nn/fastmath.h"
#include "nn/init.h"

namespace l2l {

struct CellDims {
  int N, I, H;
};

// x (N,I), h (N,H), c (N,H), W (I+H, 4H), b (4H), all on one tape.
static CellDims check_cell(const char* op, const Var& x, const Var& h, const Var& c, const Var& W, const Var& b) {
  const Shape &xs = x.shape(), &hs = h.shape(), &cs = c.shape(), &ws = W.shape(), &bs = b.shape();
  bool ok = xs.size() == 2 && hs.size() == 2 && hs == cs && ws.size() == 2 && bs.size() == 1 && xs[0] == hs[0];
  if (ok) {
    int I = xs[1], H = hs[1];
    ok = ws[0] == I + H && ws[1] == 4 * H && bs[0] == 4 * H;
  }
  if (!ok)
    throw std::invalid_argument(std::string("[") + op + "] expected x (N,I), h and c (N,H), W (I+H,4H), b (4H); got x " +
                                shape_str(xs) + ", h " + shape_str(hs) + ", c " + shape_str(cs) + ", W " +
                                shape_str(ws) + ", b " + shape_str(bs));
  return {xs[0], xs[1], hs[1]};
}

// ---- the reference cell, from existing ops ----------------------------------------------

LSTMCellOutput lstm_cell_composed(Var x, Var h, Var c, Var W, Var b) {
  int H = check_cell("lstm_cell_composed", x, h, c, W, b).H;
  Var z = add(matmul(concat({x, h}, 1), W), b);  // (1)  (N, 4H)
  Var i = sigmoid(slice(z, 1, 0 * H, 1 * H));     // (2)
  Var f = sigmoid(slice(z, 1, 1 * H, 2 * H));     // (3)
  Var g = tanh(slice(z, 1, 2 * H, 3 * H));        // (4)
  Var o = sigmoid(slice(z, 1, 3 * H, 4 * H));     // (5)
  Var c2 = f * c + i * g;                         // (6)
  Var h2 = o * tanh(c2);                          // (7)
  return {h2, c2};
}

// ---- the fused cell: blocks of rows --------------------------------------------------
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
static int g_block_rows = 512;

void set_lstm_block_rows(int rows) {
  if (rows <= 0) throw std::invalid_argument("[lstm] block rows must be positive, got " + std::to_string(rows));
  g_block_rows = rows;
}
int lstm_block_rows() { return g_block_rows; }

// Rows per block: N over an even number of blocks of at most max_rows rows, so that two cores
// get about the same share also when N is only a few blocks (the quadratics' 1,280 rows: 4
// blocks of 320, not 512 + 512 + 256); then rounded up to a multiple of 8 rows (when max_rows
// >= 8), so that every block starts 32-byte aligned relative to its arrays. The rounding can
// leave a short last block (MNIST: 31 x 504 + 286) or an odd count. Fixed by N and max_rows
// alone, never by the thread count.
static int block_rows_for(int N, int max_rows) {
  if (N <= 0) return 1;
  int blocks = 1 + (N - 1) / max_rows;  // ceil(N / max_rows), without overflow
  blocks += blocks % 2;
  int rows = (N + blocks - 1) / blocks;
  if (max_rows >= 8) rows = std::min(max_rows, (rows + 7) / 8 * 8);
  return std::max(rows, 1);
}

struct RowBlocks {
  int N, rows, count;
  RowBlocks(int N_, int max_rows)
      : N(N_), rows(block_rows_for(N_, max_rows)), count(N_ == 0 ? 0 : (N_ + rows - 1) / rows) {}
  int first(int b) const { return b * rows; }
  int size(int b) const { return std::min(rows, N - b * rows); }
};

// ---- the fused cell: forward ------------------------------------------------------------

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

// Pointers to row 0 of one block of every array the forward reads or writes.
struct ForwardRows {
  const real *x, *h, *c;          // inputs (rows, I), (rows, H), (rows, H)
  real *act, *h2, *c2, *tc;       // saved/outputs (rows, G), (rows, H) x 3
};

// (1)-(7) for `rows` rows, in four passes after the GEMM: sigmoid of all gates (flat), g and c'
// (rows), tanh(c') (flat), h' (rows). Wb2 (K+1, G): [W; b] with the g columns doubled.
static void cell_forward_rows(const ForwardRows& p, const real* Wb2, int rows, int I, int H) {
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

// Two nodes, so that h' and c' are plain (N, H) values with no copies: C = "lstm_cell_c" holds c',
// H = "lstm_cell_h" holds h'; both have the cell's inputs x, h, c, W, b as parents, and H also
// has C. The sweep visits H before C, and by then C's adjoint dc' is complete but for H's own
// term: every other reader of c' came later on the tape. So H's backward does all of (8)-(11)
// with dh' and dc', and writes dct (8) back into C's adjoint, which makes that the true dL/dc'.
// C's backward then has nothing to do, unless H was not reached in this sweep (h' unused):
// then C does (8)-(11) itself with dh' = 0. The sweep's number tells the two cases apart.
struct CellSaved {
  Tensor act, tc;  // [i f g o] (N, 4H), tanh(c') (N, H)
  CellDims d;
  int block_rows;
  unsigned long done_in_sweep = 0;  // the sweep whose H backward did the work (0: none)
};

// Where one backward writes: the gradients of x, h, c, W, b (null: not wanted), from dh' (null:
// zero) and dc' (N, H); dct_out is where (8)'s total is stored (may be dc' itself; needed
// whenever dh2 is given).
struct CellGrads {
  Tensor *dx, *dh, *dc, *dW, *db;  // the inputs' gradients, in parent order
  const real* dh2 = nullptr;
  const real* dc2 = nullptr;
  real* dct_out = nullptr;
  explicit CellGrads(const std::vector<Tensor*>& five)  // x, h, c, W, b's gradient buffers
      : dx(five[0]), dh(five[1]), dc(five[2]), dW(five[3]), db(five[4]) {}
};
static void cell_backward(const CellGrads& g, const std::vector<const Tensor*>& in, const CellSaved& s);

LSTMCellOutput lstm_cell_fused(Var x, Var h, Var c, Var W, Var b) {
  const CellDims d = check_cell("lstm_cell_fused", x, h, c, W, b);
  const int N = d.N, I = d.I, H = d.H, K = I + H, G = 4 * H;

  // (1) z = [x, h] W + b as one GEMM: b is W's extra row, met by a column of ones in xh1.
  // The g columns of W and b are doubled (exact in binary floating point), so those columns of
  // z hold 2 z_g: since tanh(z_g) = 2 sigmoid(2 z_g) - 1, one flat sigmoid pass serves all gates.
  Tensor Wb2({K + 1, G});
  std::copy_n(W.value().data(), (size_t)K * G, Wb2.data());
  std::copy_n(b.value().data(), G, Wb2.data() + (size_t)K * G);
  for (int r = 0; r <= K; r++)
    for (int j = 2 * H; j < 3 * H; j++) Wb2[(size_t)r * G + j] *= 2;
  auto s = std::make_shared<CellSaved>();  // act holds z, then [i f g o]
  s->act = Tensor({N, G}), s->tc = Tensor({N, H});
  s->d = d, s->block_rows = g_block_rows;
  Tensor h2({N, H}), c2({N, H});
  const RowBlocks blocks(N, g_block_rows);
  parallel_for(blocks.count, [&](int bk) {
    size_t n0 = blocks.first(bk);
    ForwardRows p{x.value().data() + n0 * I, h.value().data() + n0 * H, c.value().data() + n0 * H,
                  s->act.data() + n0 * G,         h2.data() + n0 * H,
                  c2.data() + n0 * H,             s->tc.data() + n0 * H};
    cell_forward_rows(p, Wb2.data(), blocks.size(bk), I, H);
  });

  Tape* tape = x.tape;
  Var cv = tape->record("lstm_cell_c", std::move(c2), {x, h, c, W, b}, [s, tape](BackwardCtx& ctx) {
    if (s->done_in_sweep == tape->sweep_count()) return;  // H's backward did it
    CellGrads g(ctx.dx);
    g.dc2 = ctx.dy.data();  // no dh': h' got no gradient in this sweep
    cell_backward(g, ctx.x, *s);
  });
  Var hv = tape->record("lstm_cell_h", std::move(h2), {cv, x, h, c, W, b}, [s, tape](BackwardCtx& ctx) {
    Tensor* dc2 = ctx.dx[0];  // C's adjoint dc' (null if C is out of the sweep: so are the inputs)
    if (!dc2) return;
    CellGrads g({ctx.dx.begin() + 1, ctx.dx.end()});
    g.dh2 = ctx.dy.data();
    g.dc2 = g.dct_out = dc2->data();
    cell_backward(g, {ctx.x.begin() + 1, ctx.x.end()}, *s);
    s->done_in_sweep = tape->sweep_count();
  });
  return {hv, cv};
}

// ---- the fused cell: backward -----------------------------------------------------------

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

// Pointers to row 0 of one block; null gradient pointers skip their work.
struct BackwardRows {
  const real *x, *h, *c;           // the inputs (rows, I), (rows, H), (rows, H)
  const real *act, *tc;            // saved: (rows, G), (rows, H)
  const real *dh2, *dc2;           // incoming dh' (or null: zero) and dc' (rows, H)
  real* dct_out;                   // where (8)'s dct is stored (may be dc2; set whenever dh2 is)
  real *dx, *dh, *dc;              // row gradients, added to (rows, I), (rows, H), (rows, H)
  real* dWb_part;                  // this block's [x,h,1]^T dz (K+1, G) = [dW; db] part, overwritten
};

// W^T with its columns padded to a multiple of 8 with zeros: WT (G, Kp), the B of dz W^T.
struct PaddedWT {
  int Kp;
  std::vector<real> v;
  PaddedWT(const real* W, int K, int G) : Kp((K + 7) / 8 * 8), v((size_t)G * Kp, real(0)) {
    for (int k = 0; k < K; k++)
      for (int g = 0; g < G; g++) v[(size_t)g * Kp + k] = W[(size_t)k * G + g];
  }
};

// Per-thread scratch of a backward block, reused across calls: dz (rows, G), dz W^T (rows, Kp).
struct BackwardScratch {
  std::vector<real> dz, dxh;
};

// (8)-(11) for `rows` rows, every product by gemm_small (autodiff/blas.h).
static void cell_backward_rows(const BackwardRows& p, const PaddedWT& WT, int rows, int I, int H) {
  const int K1 = I + H + 1, G = 4 * H, Kp = WT.Kp;
  thread_local BackwardScratch s;
  if (s.dz.size() < (size_t)rows * G) s.dz.resize((size_t)rows * G);
  real* dz = s.dz.data();
  for (int n = 0; n < rows; n++) {
    size_t r = (size_t)n * H;
    const real* a = p.act + (size_t)n * G;
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
static void add_block_sums(real* dst, const real* parts, int blocks, size_t stride, size_t n) {
  thread_local std::vector<double> acc;
  acc.assign(n, 0.0);
  for (int b = 0; b < blocks; b++)
    for (size_t k = 0; k < n; k++) acc[k] += parts[(size_t)b * stride + k];
  for (size_t k = 0; k < n; k++) dst[k] += (real)acc[k];
}

// (8)-(11) over all rows. in = the values of x, h, c, W, b. Blocks of rows compute dct by (8)
// and dz by (9), add (10) into dc and (11) into dx and dh (their own rows), and their own
// partial [dW; db]; the partials are then added in block order. Every write to a gradient is
// +=; a null gradient skips its work.
static void cell_backward(const CellGrads& g, const std::vector<const Tensor*>& in, const CellSaved& s) {
  const int N = s.d.N, I = s.d.I, H = s.d.H, K = I + H, G = 4 * H;
  Tensor *dx = g.dx, *dh = g.dh, *dc = g.dc, *dW = g.dW, *db = g.db;
  const RowBlocks blocks(N, s.block_rows);
  const size_t part = (size_t)(K + 1) * G;  // one block's [dW; db]
  // Partial sums, reused across calls. thread_local: the calling thread's; the lambda below
  // must use the raw pointer (a thread_local named inside it would be each worker's own).
  thread_local std::vector<real> parts;  // (blocks, K+1, G)
  if (dW || db) parts.resize(blocks.count * part);
  real* part0 = (dW || db) ? parts.data() : nullptr;
  const PaddedWT WT(in[3]->data(), K, G);
  parallel_for(blocks.count, [&](int bk) {
    size_t n0 = blocks.first(bk);
    BackwardRows p{in[0]->data() + n0 * I,
                   in[1]->data() + n0 * H,
                   in[2]->data() + n0 * H,
                   s.act.data() + n0 * G,
                   s.tc.data() + n0 * H,
                   g.dh2 ? g.dh2 + n0 * H : nullptr,
                   g.dc2 + n0 * H,
                   g.dct_out ? g.dct_out + n0 * H : nullptr,
                   dx ? dx->data() + n0 * I : nullptr,
                   dh ? dh->data() + n0 * H : nullptr,
                   dc ? dc->data() + n0 * H : nullptr,
                   part0 ? part0 + bk * part : nullptr};
    cell_backward_rows(p, WT, blocks.size(bk), I, H);
  });
  if (dW) add_block_sums(dW->data(), part0, blocks.count, part, (size_t)K * G);
  if (db) add_block_sums(db->data(), part0 + (size_t)K * G, blocks.count, part, (size_t)G);
}

// ---- the stacked module -----------------------------------------------------------------

LSTMState::LSTMState(int layers, int N, int H) {
  for (int l = 0; l < layers; l++) {
    h.push_back(Tensor::zeros({N, H}));
    c.push_back(Tensor::zeros({N, H}));
  }
}

void LSTMState::to_tape(Tape& tape, std::vector<Var>& hv, std::vector<Var>& cv) const {
  hv.clear();
  cv.clear();
  for (size_t l = 0; l < h.size(); l++) {
    hv.push_back(tape.constant(h[l]));
    cv.push_back(tape.constant(c[l]));
  }
}

LSTMState LSTMState::from_vars(const std::vector<Var>& hv, const std::vector<Var>& cv) {
  LSTMState s;
  for (const Var& v : hv) s.h.push_back(v.value());
  for (const Var& v : cv) s.c.push_back(v.value());
  return s;
}

LSTM::LSTM(int input_, int hidden_, int layers, Rng& rng, const std::string& name, bool fused_)
    : input(input_), hidden(hidden_), fused(fused_) {
  if (input_ <= 0 || hidden_ <= 0 || layers <= 0)
    throw std::invalid_argument("[LSTM] " + name + ": input, hidden and layers must be positive");
  const int H = hidden_;
  for (int l = 0; l < layers; l++) {
    int K = (l == 0 ? input_ : H) + H;
    std::string p = name + "." + std::to_string(l);
    W.emplace_back(p + ".w", init::truncated_normal({K, 4 * H}, rng, 1 / std::sqrt((double)K)));
    Tensor bias = Tensor::zeros({4 * H});
    for (int j = H; j < 2 * H; j++) bias[j] = 1;  // forget gate starts mostly open (see lstm.h)
    b.emplace_back(p + ".b", std::move(bias));
  }
}

std::vector<Param*> LSTM::params() {
  std::vector<Param*> ps;
  for (int l = 0; l < layers(); l++) {
    ps.push_back(&W[l]);
    ps.push_back(&b[l]);
  }
  return ps;
}

Var LSTM::forward(Var x, std::vector<Var>& h, std::vector<Var>& c, ParamSource& src, const LayerMap& after_layer) {
  if ((int)h.size() != layers() || (int)c.size() != layers())
    throw std::invalid_argument("[LSTM] " + (W.empty() ? std::string("(no layers)") : W[0].name) + ": " + std::to_string(layers()) + " layers, got " +
                                std::to_string(h.size()) + " h and " + std::to_string(c.size()) + " c states");
  for (int l = 0; l < layers(); l++) {
    Var Wl = src.get(W[l]), bl = src.get(b[l]);
    LSTMCellOutput s = fused ? lstm_cell_fused(x, h[l], c[l], Wl, bl) : lstm_cell_composed(x, h[l], c[l], Wl, bl);
    h[l] = after_layer ? after_layer(s.h) : s.h;
    c[l] = s.c;
    x = h[l];  // the next layer's input
  }
  return x;
}

}  // namespace l2l
