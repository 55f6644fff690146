// lstm.cpp: the LSTM cell twice (composed from ops, and fused with a hand-written backward)
// and the stacked LSTM module. Equations (1)-(11) are in lstm.h; the fused cell's arithmetic
// on one block of rows is in lstm_rows.cpp.
#include "nn/lstm.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "autodiff/blas.h"
#include "autodiff/parallel.h"
#include "nn/lstm_rows.h"
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
// The N rows (coordinates) are independent, so both passes cut them into blocks (RowBlocks,
// lstm_rows.h) and run the blocks on the thread pool (autodiff/parallel.h). A block does its
// own small GEMM and then its nonlinearities while its rows are still in L2. The block size is
// fixed (it does not depend on the thread count) and the only sums over rows (dW, db) are kept
// per block and added in block order, so any thread count gives the same bits.
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


// ---- the fused cell: the op --------------------------------------------------------------

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

  const Tensor Wb2 = doubled_gate_weights(W.value().data(), b.value().data(), K, H);  // (1), see lstm_rows.h
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

// ---- the fused cell: backward over all rows ---------------------------------------------

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
