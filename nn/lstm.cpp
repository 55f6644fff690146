// lstm.cpp: the LSTM cell twice (composed from ops, and fused with a hand-written backward)
// and the stacked LSTM module. Equations (1)-(11) are in lstm.h.
#include "nn/lstm.h"

#include <cmath>
#include <cstring>
#include <stdexcept>

#include "autodiff/blas.h"
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

// ---- the fused cell: forward ------------------------------------------------------------

static void fused_cell_backward(BackwardCtx& ctx, const Tensor& xh, const Tensor& act, const Tensor& tc, CellDims d);

// The loops below take restrict-qualified pointers: that is what lets the compiler vectorize
// them (it may then assume the arrays do not overlap). Long flat loops are preferred over
// per-row loops of length H: with H = 20 a row is 16 + 4 lanes, and the 4-lane remainder of a
// loop that calls exp costs about as much as its body.

// t = sigmoid(t) = 1 / (1 + e^-t) over a flat array.
static void sigmoid_inplace(real* __restrict t, size_t n) {
  for (size_t k = 0; k < n; k++) t[k] = 1 / (1 + exp_poly(-t[k]));
}

// t = tanh(t) = 2 sigmoid(2t) - 1 over a flat array.
static void tanh_inplace(real* __restrict t, size_t n) {
  for (size_t k = 0; k < n; k++) t[k] = 2 / (1 + exp_poly(-2 * t[k])) - 1;
}

// [x, h] side by side: xh (N, I+H).
static void gather_xh(const real* __restrict x, const real* __restrict h, real* __restrict xh, int N, int I, int H) {
  const int K = I + H;
  for (int n = 0; n < N; n++) {
    for (int i = 0; i < I; i++) xh[(size_t)n * K + i] = x[(size_t)n * I + i];
    for (int j = 0; j < H; j++) xh[(size_t)n * K + I + j] = h[(size_t)n * H + j];
  }
}

// (4) and (6) for one coordinate. In: a = [i, f, sigmoid(2 z_g), o] (4H), c (H). Out: a's g block
// turned into g = 2 sigmoid(2 z_g) - 1 = tanh(z_g); c' = f c + i g into hc[H:2H] and into tc
// (which the next pass turns into tanh(c')).
static inline void cell_row_state(real* __restrict a, const real* __restrict c, real* __restrict hc,
                                  real* __restrict tc, int H) {
  for (int j = 0; j < H; j++) {
    real g = 2 * a[2 * H + j] - 1;
    real c2 = a[H + j] * c[j] + a[j] * g;
    a[2 * H + j] = g;
    hc[H + j] = c2;
    tc[j] = c2;
  }
}

// (7) for one coordinate: hc[0:H] = h' = o tanh(c').
static inline void cell_row_output(const real* __restrict a, const real* __restrict tc, real* __restrict hc, int H) {
  for (int j = 0; j < H; j++) hc[j] = a[3 * H + j] * tc[j];
}

// y[:, lo:hi] of a matrix y (N, M): the same op as slice(y, 1, lo, hi), written with row-wise
// loops because it sits on the hot path (the general slice computes every index).
// Backward: dy[:, lo:hi] += dout.
static Var column_block(Var y, int lo, int hi) {
  const Tensor& Y = y.value();
  const int N = Y.dim(0), M = Y.dim(1), w = hi - lo;
  Tensor out({N, w});
  for (int n = 0; n < N; n++) {
    const real* src = Y.data() + (size_t)n * M + lo;
    real* dst = out.data() + (size_t)n * w;
    for (int j = 0; j < w; j++) dst[j] = src[j];
  }
  return y.tape->record("lstm_columns", std::move(out), {y}, [N, M, lo, w](BackwardCtx& c) {
    if (!c.dx[0]) return;
    for (int n = 0; n < N; n++) {
      const real* src = c.dy.data() + (size_t)n * w;
      real* dst = c.dx[0]->data() + (size_t)n * M + lo;
      for (int j = 0; j < w; j++) dst[j] += src[j];
    }
  });
}

// Saved for backward: xh = [x, h] (N, I+H) for dW, act = [i f g o] (N, 4H) and
// tc = tanh(c') (N, H) for (8)-(9). The previous c is the parent's value, read in backward.
LSTMCellOutput lstm_cell_fused(Var x, Var h, Var c, Var W, Var b) {
  const CellDims d = check_cell("lstm_cell_fused", x, h, c, W, b);
  const int N = d.N, I = d.I, H = d.H, K = I + H, G = 4 * H;

  // (1) z = [x, h] W + b as one GEMM, accumulated onto rows preset to b. The g columns of W
  // and b are doubled first (exact in binary floating point), so those columns of z hold 2 z_g:
  // since tanh(z_g) = 2 sigmoid(2 z_g) - 1, one flat sigmoid pass then serves all four gates.
  Tensor W2 = W.value(), b2 = b.value();
  for (int r = 0; r < K; r++)
    for (int j = 2 * H; j < 3 * H; j++) W2[(size_t)r * G + j] *= 2;
  for (int j = 2 * H; j < 3 * H; j++) b2[j] *= 2;
  Tensor xh({N, K}), act({N, G});  // act holds z, then the gate activations [i f g o]
  gather_xh(x.value().data(), h.value().data(), xh.data(), N, I, H);
  for (int n = 0; n < N; n++) std::memcpy(act.data() + (size_t)n * G, b2.data(), G * sizeof(real));
  gemm(false, false, N, G, K, 1, xh.data(), K, W2.data(), G, 1, act.data(), G);

  // (2)-(7) in four passes: sigmoid of all gates (flat), g and c' (rows), tanh(c') (flat), h' (rows).
  Tensor y({N, 2 * H}), tc({N, H});  // y = [h' | c'] row by row
  sigmoid_inplace(act.data(), act.size());
  const real* cp = c.value().data();
  for (int n = 0; n < N; n++)
    cell_row_state(act.data() + (size_t)n * G, cp + (size_t)n * H, y.data() + (size_t)n * 2 * H,
                   tc.data() + (size_t)n * H, H);
  tanh_inplace(tc.data(), tc.size());
  for (int n = 0; n < N; n++)
    cell_row_output(act.data() + (size_t)n * G, tc.data() + (size_t)n * H, y.data() + (size_t)n * 2 * H, H);

  Var hc = x.tape->record("lstm_cell", std::move(y), {x, h, c, W, b},
                          [xh = std::move(xh), act = std::move(act), tc = std::move(tc), d](BackwardCtx& ctx) {
                            fused_cell_backward(ctx, xh, act, tc, d);
                          });
  return {column_block(hc, 0, H), column_block(hc, H, 2 * H)};
}

// ---- the fused cell: backward -----------------------------------------------------------

// (8)-(10) for one coordinate. In: a = [i f g o] (4H), tc = tanh(c') (H), dhc = [dh' | dc'] (2H),
// c (H). Out: dz (4H) written; dc (H) added to unless null.
static inline void cell_row_backward(const real* __restrict a, const real* __restrict tc, const real* __restrict dhc,
                                     const real* __restrict c, real* __restrict dz, real* __restrict dc, int H) {
  const real* dh = dhc;
  for (int j = 0; j < H; j++) {
    real i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j], t = tc[j];
    real dct = dhc[H + j] + dh[j] * o * (1 - t * t);  // (8)
    dz[j] = dct * g * i * (1 - i);                     // (9)
    dz[H + j] = dct * c[j] * f * (1 - f);
    dz[2 * H + j] = dct * i * (1 - g * g);
    dz[3 * H + j] = dh[j] * t * o * (1 - o);
  }
  if (dc)  // (10) dc += dct f
    for (int j = 0; j < H; j++) dc[j] += (dhc[H + j] + dh[j] * a[3 * H + j] * (1 - tc[j] * tc[j])) * a[H + j];
}

// ctx.dy = [dh' | dc'] (N, 2H). One pass computes dz (N, 4H) by (8)-(9), adds (10) into dc and
// accumulates db; then GEMMs (11) add into dW, dx and dh. Every write is +=; a null
// ctx.dx[k] (an input that needs no gradient) skips its work.
static void fused_cell_backward(BackwardCtx& ctx, const Tensor& xh, const Tensor& act, const Tensor& tc, CellDims d) {
  const int N = d.N, I = d.I, H = d.H, K = I + H, G = 4 * H;
  Tensor *dx = ctx.dx[0], *dh = ctx.dx[1], *dc = ctx.dx[2], *dW = ctx.dx[3], *db = ctx.dx[4];
  const real* cprev = ctx.x[2]->data();
  Tensor dz({N, G});
  std::vector<double> db_sum(G, 0.0);
  for (int n = 0; n < N; n++) {
    real* dzr = dz.data() + (size_t)n * G;
    cell_row_backward(act.data() + (size_t)n * G, tc.data() + (size_t)n * H, ctx.dy.data() + (size_t)n * 2 * H,
                      cprev + (size_t)n * H, dzr, dc ? dc->data() + (size_t)n * H : nullptr, H);
    for (int k = 0; k < G; k++) db_sum[k] += dzr[k];
  }
  if (db)
    for (int k = 0; k < G; k++) (*db)[k] += (real)db_sum[k];
  const real* Wp = ctx.x[3]->data();
  // (11) dW += [x,h]^T dz: (K, N)(N, G);  dx += dz Wx^T, dh += dz Wh^T with W = [Wx; Wh].
  if (dW) gemm(true, false, K, G, N, 1, xh.data(), K, dz.data(), G, 1, dW->data(), G);
  if (dx) gemm(false, true, N, I, G, 1, dz.data(), G, Wp, G, 1, dx->data(), I);
  if (dh) gemm(false, true, N, H, G, 1, dz.data(), G, Wp + (size_t)I * G, G, 1, dh->data(), H);
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
    throw std::invalid_argument("[LSTM] " + W[0].name + ": " + std::to_string(layers()) + " layers, got " +
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
