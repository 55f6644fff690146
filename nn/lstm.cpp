// lstm.cpp: the LSTM cell twice (composed from ops, and fused with a hand-written backward)
// and the stacked LSTM module. Equations (1)-(11) are in lstm.h.
#include "nn/lstm.h"

#include <algorithm>
#include <cmath>
#include <cstring>
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
// The N rows (coordinates) are independent, so both passes cut them into blocks of
// g_block_rows rows and run the blocks on the thread pool (autodiff/parallel.h). A block does
// its own small GEMM and then its nonlinearities while its rows are still in L2. The block
// size is fixed (it does not depend on the thread count) and the only sums over rows (dW, db)
// are kept per block and added in block order, so any thread count gives the same bits.
//
// Block size, measured with `build/bench --block-sweep` (float, 2x20 LSTM, N = 15,910, fwd+bwd
// ms per step, median of 15, two runs on an otherwise idle moment of the shared machine):
//   rows      32    64   128   256   512  1024  2048  4096  15910 (one block)
//   1 thread  16.0  13.8  13.7  15.9  14.3  12.5  12.6  14.9  17.2..18.3
//   2 threads 11.0  11.4  10.1  10.2  8.3..9.0  8.1..9.2  9.0  10.0  13.5
// 512-1024 rows is best at 2 threads. 512 it is: a block's working set (xh1, act, tc, y, dz:
// 512 x (41 + 80 + 20 + 40 + 80) floats = 530 KB) stays inside the 1 MiB L2.
static int g_block_rows = 512;

void set_lstm_block_rows(int rows) {
  if (rows <= 0) throw std::invalid_argument("[lstm] block rows must be positive, got " + std::to_string(rows));
  g_block_rows = rows;
}
int lstm_block_rows() { return g_block_rows; }

struct RowBlocks {
  int N, rows, count;
  RowBlocks(int N_, int rows_) : N(N_), rows(rows_), count((N_ + rows_ - 1) / rows_) {}
  int first(int b) const { return b * rows; }
  int size(int b) const { return std::min(rows, N - b * rows); }
};

// ---- the fused cell: forward ------------------------------------------------------------

static void fused_cell_backward(BackwardCtx& ctx, const Tensor& xh1, const Tensor& act, const Tensor& tc, CellDims d,
                                int block_rows);

// The loops below take restrict-qualified pointers: that is what lets the compiler vectorize
// them (it may then assume the arrays do not overlap). Long flat loops are preferred over
// per-row loops of length H: with H = 20 a row is 16 + 4 lanes, and the 4-lane remainder of a
// loop that calls exp costs about as much as its body. sigmoid_inplace and tanh_inplace are
// in nn/fastmath.h.

// [x, h, 1] side by side: xh1 (N, I+H+1). The column of ones carries the bias through the GEMM.
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

// Plane k of y (2, N, H), as an (N, H) matrix: y[k] (a contiguous copy). Backward: dy[k] += dout.
static Var plane(Var y, int k) {
  const Tensor& Y = y.value();
  const int N = Y.dim(1), H = Y.dim(2);
  const size_t n = (size_t)N * H, off = (size_t)k * n;
  Tensor out({N, H});
  std::copy_n(Y.data() + off, n, out.data());
  return y.tape->record("lstm_plane", std::move(out), {y}, [n, off](BackwardCtx& c) {
    if (!c.dx[0]) return;
    const real* __restrict src = c.dy.data();
    real* __restrict dst = c.dx[0]->data() + off;
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
  });
}

// Pointers to row 0 of one block of every array the forward reads or writes.
struct ForwardRows {
  const real *x, *h, *c;          // inputs (rows, I), (rows, H), (rows, H)
  real *xh1, *act, *h2, *c2, *tc;  // saved/outputs (rows, K+1), (rows, G), (rows, H) x 3
};

// (1)-(7) for `rows` rows, in four passes after the GEMM: sigmoid of all gates (flat), g and c'
// (rows), tanh(c') (flat), h' (rows). Wb2 (K+1, G): [W; b] with the g columns doubled.
static void cell_forward_rows(const ForwardRows& p, const real* Wb2, int rows, int I, int H) {
  const int K1 = I + H + 1, G = 4 * H;
  gather_xh1(p.x, p.h, p.xh1, rows, I, H);
  gemm_small_nn(rows, G, K1, p.xh1, K1, Wb2, G, p.act, G);  // (1): z = [x, h, 1] [W; b]
  sigmoid_inplace(p.act, (size_t)rows * G);
  for (int n = 0; n < rows; n++)
    cell_row_state(p.act + (size_t)n * G, p.c + (size_t)n * H, p.c2 + (size_t)n * H, p.tc + (size_t)n * H, H);
  tanh_inplace(p.tc, (size_t)rows * H);
  for (int n = 0; n < rows; n++) cell_row_output(p.act + (size_t)n * G, p.tc + (size_t)n * H, p.h2 + (size_t)n * H, H);
}

// Saved for backward: xh1 = [x, h, 1] (N, I+H+1) for dW and db, act = [i f g o] (N, 4H) and
// tc = tanh(c') (N, H) for (8)-(9). The previous c is the parent's value, read in backward.
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
  // act holds z, then [i f g o]; y = [h' ; c'] as two planes (2, N, H).
  Tensor xh1({N, K + 1}), act({N, G}), y({2, N, H}), tc({N, H});
  const RowBlocks blocks(N, g_block_rows);
  parallel_for(blocks.count, [&](int bk) {
    size_t n0 = blocks.first(bk);
    ForwardRows p{x.value().data() + n0 * I, h.value().data() + n0 * H, c.value().data() + n0 * H,
                  xh1.data() + n0 * (K + 1), act.data() + n0 * G,      y.data() + n0 * H,
                  y.data() + (size_t)N * H + n0 * H,                   tc.data() + n0 * H};
    cell_forward_rows(p, Wb2.data(), blocks.size(bk), I, H);
  });

  Var hc = x.tape->record("lstm_cell", std::move(y), {x, h, c, W, b},
                          [xh1 = std::move(xh1), act = std::move(act), tc = std::move(tc), d,
                           rows = blocks.rows](BackwardCtx& ctx) { fused_cell_backward(ctx, xh1, act, tc, d, rows); });
  return {plane(hc, 0), plane(hc, 1)};
}

// ---- the fused cell: backward -----------------------------------------------------------

// (8)-(10) for one coordinate. In: a = [i f g o] (4H), tc = tanh(c') (H), dh = dh', dc2 = dc' and
// c (H each). Out: dz (4H) written; dc (H) added to unless null.
static inline void cell_row_backward(const real* __restrict a, const real* __restrict tc, const real* __restrict dh,
                                     const real* __restrict dc2, const real* __restrict c, real* __restrict dz,
                                     real* __restrict dc, int H) {
  for (int j = 0; j < H; j++) {
    real i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j], t = tc[j];
    real dct = dc2[j] + dh[j] * o * (1 - t * t);  // (8)
    dz[j] = dct * g * i * (1 - i);                     // (9)
    dz[H + j] = dct * c[j] * f * (1 - f);
    dz[2 * H + j] = dct * i * (1 - g * g);
    dz[3 * H + j] = dh[j] * t * o * (1 - o);
  }
  if (dc)  // (10) dc += dct f
    for (int j = 0; j < H; j++) dc[j] += (dc2[j] + dh[j] * a[3 * H + j] * (1 - tc[j] * tc[j])) * a[H + j];
}

// Pointers to row 0 of one block; null gradient pointers skip their work.
struct BackwardRows {
  const real *xh1, *act, *tc, *c;  // saved: (rows, K+1), (rows, G), (rows, H); previous c (rows, H)
  const real *dh2, *dc2;           // incoming dh', dc' (rows, H)
  real *dx, *dh, *dc;              // row gradients, added to (rows, I), (rows, H), (rows, H)
  real* dWb_part;                  // this block's [x,h,1]^T dz (K+1, G) = [dW; db] part, overwritten
};

// (8)-(11) for `rows` rows. dz lives in a per-thread scratch that is reused across calls.
static void cell_backward_rows(const BackwardRows& p, const real* W, int rows, int I, int H) {
  const int K1 = I + H + 1, G = 4 * H;
  thread_local std::vector<real> dz_scratch;
  if (dz_scratch.size() < (size_t)rows * G) dz_scratch.resize((size_t)rows * G);
  real* dz = dz_scratch.data();
  for (int n = 0; n < rows; n++) {
    size_t r = (size_t)n * H;
    cell_row_backward(p.act + (size_t)n * G, p.tc + r, p.dh2 + r, p.dc2 + r, p.c + r, dz + (size_t)n * G,
                      p.dc ? p.dc + r : nullptr, H);
  }
  // (11) [dW; db] part = [x,h,1]^T dz: (K+1, rows)(rows, G); its last row is the column sum of dz.
  // dx += dz Wx^T, dh += dz Wh^T with W = [Wx; Wh].
  if (p.dWb_part) gemm(true, false, K1, G, rows, 1, p.xh1, K1, dz, G, 0, p.dWb_part, G);
  if (p.dx) gemm(false, true, rows, I, G, 1, dz, G, W, G, 1, p.dx, I);
  if (p.dh) gemm(false, true, rows, H, G, 1, dz, G, W + (size_t)I * G, G, 1, p.dh, H);
}

// dst[k] += sum over blocks b (in block order, in double) of parts[b * stride + k], k < n.
static void add_block_sums(real* dst, const real* parts, int blocks, size_t stride, size_t n) {
  thread_local std::vector<double> acc;
  acc.assign(n, 0.0);
  for (int b = 0; b < blocks; b++)
    for (size_t k = 0; k < n; k++) acc[k] += parts[(size_t)b * stride + k];
  for (size_t k = 0; k < n; k++) dst[k] += (real)acc[k];
}

// ctx.dy = [dh' ; dc'] (2, N, H). Blocks of rows compute dz by (8)-(9), add (10) into dc and
// (11) into dx and dh (their own rows), and their own partial [dW; db]; the partials are then
// added in block order. Every write to a gradient is +=; a null ctx.dx[k] skips its work.
static void fused_cell_backward(BackwardCtx& ctx, const Tensor& xh1, const Tensor& act, const Tensor& tc, CellDims d,
                                int block_rows) {
  const int N = d.N, I = d.I, H = d.H, K = I + H, G = 4 * H;
  Tensor *dx = ctx.dx[0], *dh = ctx.dx[1], *dc = ctx.dx[2], *dW = ctx.dx[3], *db = ctx.dx[4];
  const RowBlocks blocks(N, block_rows);
  const size_t part = (size_t)(K + 1) * G;  // one block's [dW; db]
  // Partial sums, reused across calls. thread_local: the calling thread's; the lambda below
  // must use the raw pointer (a thread_local named inside it would be each worker's own).
  thread_local std::vector<real> parts;  // (blocks, K+1, G)
  if (dW || db) parts.resize(blocks.count * part);
  real* part0 = (dW || db) ? parts.data() : nullptr;
  const real* Wp = ctx.x[3]->data();
  parallel_for(blocks.count, [&](int bk) {
    size_t n0 = blocks.first(bk);
    BackwardRows p{xh1.data() + n0 * (K + 1),
                   act.data() + n0 * G,
                   tc.data() + n0 * H,
                   ctx.x[2]->data() + n0 * H,
                   ctx.dy.data() + n0 * H,
                   ctx.dy.data() + (size_t)N * H + n0 * H,
                   dx ? dx->data() + n0 * I : nullptr,
                   dh ? dh->data() + n0 * H : nullptr,
                   dc ? dc->data() + n0 * H : nullptr,
                   part0 ? part0 + bk * part : nullptr};
    cell_backward_rows(p, Wp, blocks.size(bk), I, H);
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

Var LSTM::forward(Var x, std::vector<Var>& h, std::vector<Var>& c, ParamSource& src) {
  if ((int)h.size() != layers() || (int)c.size() != layers())
    throw std::invalid_argument("[LSTM] " + (W.empty() ? std::string("(no layers)") : W[0].name) + ": " + std::to_string(layers()) + " layers, got " +
                                std::to_string(h.size()) + " h and " + std::to_string(c.size()) + " c states");
  for (int l = 0; l < layers(); l++) {
    Var Wl = src.get(W[l]), bl = src.get(b[l]);
    LSTMCellOutput s = fused ? lstm_cell_fused(x, h[l], c[l], Wl, bl) : lstm_cell_composed(x, h[l], c[l], Wl, bl);
    h[l] = s.h;
    c[l] = s.c;
    x = s.h;  // the next layer's input
  }
  return x;
}

}  // namespace l2l
