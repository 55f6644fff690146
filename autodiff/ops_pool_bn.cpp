// ops_pool_bn.cpp: the other image ops of the CIFAR-10 task: max and average pooling, and
// batch normalization with batch statistics, alone or fused with the ReLU after it
// (batch_norm_relu; conv2d is in ops_conv.cpp).
//
// Is: forward and backward of each op side by side, on NCHW tensors (N images, C channels,
// Hh x Ww pixels, row-major) and, for batch norm, (N, D) features. Backward functions add (+=)
// into their parents' buffers. Max pooling runs blocks of planes in parallel and batch norm
// its channels (parallel.h), each block writing only its own outputs, each channel's sums in
// one fixed order: the same bits at any thread count.
// Is not: padded pooling, or batch norm's running averages for inference (the optimizee is
// only ever trained, never evaluated in eval mode).
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "ops.h"
#include "parallel.h"

namespace l2l {

static std::string err(const char* op, const std::string& what) { return std::string("[") + op + "] " + what; }

// ---- pooling ----------------------------------------------------------------------------
//
// x (N,C,Hh,Ww) -> y (N,C,Ho,Wo), Ho = (Hh - k) / stride + 1 (integer division): windows
// start at multiples of `stride` and must fit, so when (Hh - k) % stride != 0 the last
// rows (columns) that no window reaches are dropped, as in PyTorch's default. Each of the
// N C planes is pooled on its own.

struct PoolGeom {
  int planes, Hh, Ww, k, stride, Ho, Wo;
};

static PoolGeom pool_geom(const char* op, const Tensor& X, int k, int stride) {
  if (stride == 0) stride = k;
  if (X.ndim() != 4)
    throw std::invalid_argument(err(op, "x " + shape_str(X.shape()) + " must be (N,C,Hh,Ww)"));
  if (k < 1 || stride < 1)
    throw std::invalid_argument(err(op, "x " + shape_str(X.shape()) + ": need k >= 1 and stride >= 1, got k " +
                                            std::to_string(k) + ", stride " + std::to_string(stride)));
  if (X.dim(2) < k || X.dim(3) < k)
    throw std::invalid_argument(err(op, "x " + shape_str(X.shape()) + ": window " + std::to_string(k) + "x" +
                                            std::to_string(k) + " does not fit the image"));
  PoolGeom g{X.dim(0) * X.dim(1), X.dim(2), X.dim(3), k, stride, 0, 0};
  g.Ho = (g.Hh - k) / stride + 1;
  g.Wo = (g.Ww - k) / stride + 1;
  return g;
}

// y[., i, j] = max over the window at (i s, j s);  dx[argmax] += dy[., i, j].
// The forward saves each window's argmax (offset inside its plane); on ties the first
// maximum in row-major order wins, so exactly one input receives each output's gradient.
constexpr int kPoolPlanes = 64;  // planes per parallel block (fixed: not the thread count)

// One plane, any window: in (Hh, Ww) -> y, argmax (Ho, Wo), offsets inside the plane.
static void max_pool_plane(const real* in, const PoolGeom& g, real* y, int* argmax) {
  for (int i = 0, o = 0; i < g.Ho; i++)
    for (int j = 0; j < g.Wo; j++, o++) {
      int best = i * g.stride * g.Ww + j * g.stride;
      for (int a = 0; a < g.k; a++)
        for (int b = 0; b < g.k; b++) {
          int at = (i * g.stride + a) * g.Ww + j * g.stride + b;
          if (in[at] > in[best]) best = at;  // strict: the first maximum is kept
        }
      y[o] = in[best];
      argmax[o] = best;
    }
}

// The same for 2x2 windows at stride 2 (the CIFAR net's), 8 windows at a time: the even and odd
// columns of both rows split into the four candidates a b / c d of each window, which replace
// the best in row-major order only when greater (the first maximum is kept, as above).
typedef real P8 __attribute__((vector_size(8 * sizeof(real))));
typedef decltype(P8{} < P8{}) M8;  // comparison masks: integers as wide as real
static inline P8 load_p8(const real* p) {
  P8 v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
static void max_pool_plane_2x2(const real* in, const PoolGeom& g, real* y, int* argmax) {
  const int Ww = g.Ww, Wo = g.Wo;
  for (int i = 0; i < g.Ho; i++) {
    const real *r0 = in + (size_t)2 * i * Ww, *r1 = r0 + Ww;
    real* yr = y + (size_t)i * Wo;
    int* ar = argmax + (size_t)i * Wo;
    int j = 0;
    for (; j + 8 <= Wo; j += 8) {
      const P8 t0 = load_p8(r0 + 2 * j), t1 = load_p8(r0 + 2 * j + 8);
      const P8 u0 = load_p8(r1 + 2 * j), u1 = load_p8(r1 + 2 * j + 8);
      const P8 b = __builtin_shufflevector(t0, t1, 1, 3, 5, 7, 9, 11, 13, 15);
      const P8 c = __builtin_shufflevector(u0, u1, 0, 2, 4, 6, 8, 10, 12, 14);
      const P8 d = __builtin_shufflevector(u0, u1, 1, 3, 5, 7, 9, 11, 13, 15);
      P8 v = __builtin_shufflevector(t0, t1, 0, 2, 4, 6, 8, 10, 12, 14);
      M8 at = 2 * i * Ww + 2 * (j + M8{0, 1, 2, 3, 4, 5, 6, 7});  // the window's top left
      M8 m = b > v;
      at = m ? at + 1 : at, v = m ? b : v;
      m = c > v;  // (the left column of the next row: at - at % 2 + Ww, from the top left)
      at = m ? 2 * i * Ww + 2 * (j + M8{0, 1, 2, 3, 4, 5, 6, 7}) + Ww : at, v = m ? c : v;
      m = d > v;
      at = m ? 2 * i * Ww + 2 * (j + M8{0, 1, 2, 3, 4, 5, 6, 7}) + Ww + 1 : at, v = m ? d : v;
      __builtin_memcpy(yr + j, &v, sizeof v);
      for (int l = 0; l < 8; l++) ar[j + l] = (int)at[l];
    }
    for (; j < Wo; j++) {
      const int at0 = 2 * i * Ww + 2 * j;
      int at = at0;
      for (int off : {1, Ww, Ww + 1})
        if (in[at0 + off] > in[at]) at = at0 + off;
      yr[j] = in[at], ar[j] = at;
    }
  }
}

Var max_pool2d(Var x, int k, int stride) {
  const Tensor& X = x.value();
  const PoolGeom g = pool_geom("max_pool2d", X, k, stride);
  Tensor y({X.dim(0), X.dim(1), g.Ho, g.Wo});
  std::vector<int> argmax(y.size());
  const size_t per_plane = (size_t)g.Ho * g.Wo;
  const int blocks = (g.planes + kPoolPlanes - 1) / kPoolPlanes;
  const bool two = g.k == 2 && g.stride == 2;
  parallel_for(blocks, [&](int blk) {  // planes [blk kPoolPlanes, ...) write only their outputs
    for (int p = blk * kPoolPlanes; p < std::min(g.planes, (blk + 1) * kPoolPlanes); p++) {
      const real* in = X.data() + (size_t)p * g.Hh * g.Ww;
      (two ? max_pool_plane_2x2 : max_pool_plane)(in, g, y.data() + p * per_plane, argmax.data() + p * per_plane);
    }
  });
  return x.tape->record("max_pool2d", std::move(y), {x}, [g, blocks, argmax = std::move(argmax)](BackwardCtx& c) {
    if (!c.dx[0]) return;
    const size_t per_plane = (size_t)g.Ho * g.Wo;
    parallel_for(blocks, [&](int blk) {  // each plane's outputs send gradient into that plane only
      for (int p = blk * kPoolPlanes; p < std::min(g.planes, (blk + 1) * kPoolPlanes); p++) {
        real* dx = c.dx[0]->data() + (size_t)p * g.Hh * g.Ww;
        const real* dy = c.dy.data() + p * per_plane;
        const int* at = argmax.data() + p * per_plane;
        for (size_t o = 0; o < per_plane; o++) dx[at[o]] += dy[o];
      }
    });
  });
}

// y[., i, j] = (1 / k^2) sum over the window at (i s, j s);  every x in that window gets
// dx += dy[., i, j] / k^2 (overlapping windows, stride < k, add up).
Var avg_pool2d(Var x, int k, int stride) {
  const Tensor& X = x.value();
  const PoolGeom g = pool_geom("avg_pool2d", X, k, stride);
  const real inv = real(1) / (k * k);
  Tensor y({X.dim(0), X.dim(1), g.Ho, g.Wo});
  size_t o = 0;
  for (int p = 0; p < g.planes; p++) {
    const real* in = X.data() + (size_t)p * g.Hh * g.Ww;
    for (int i = 0; i < g.Ho; i++)
      for (int j = 0; j < g.Wo; j++, o++) {
        double s = 0;
        for (int a = 0; a < g.k; a++)
          for (int b = 0; b < g.k; b++) s += in[(i * g.stride + a) * g.Ww + j * g.stride + b];
        y[o] = (real)(s * inv);
      }
  }
  return x.tape->record("avg_pool2d", std::move(y), {x}, [g, inv](BackwardCtx& c) {
    if (!c.dx[0]) return;
    size_t o = 0;
    for (int p = 0; p < g.planes; p++) {
      real* d = c.dx[0]->data() + (size_t)p * g.Hh * g.Ww;
      for (int i = 0; i < g.Ho; i++)
        for (int j = 0; j < g.Wo; j++, o++) {
          real share = c.dy[o] * inv;
          for (int a = 0; a < g.k; a++)
            for (int b = 0; b < g.k; b++) d[(i * g.stride + a) * g.Ww + j * g.stride + b] += share;
        }
    }
  });
}

// ---- batch norm -------------------------------------------------------------------------
//
// View x as (N, C, S): S = Hh Ww for images (N,C,Hh,Ww), S = 1 for features (N,D) with C = D.
// Channel c is normalized over its m = N S values:
//   mu = (1/m) sum x,   var = (1/m) sum (x - mu)^2   (biased),   rstd = 1 / sqrt(var + eps)
//   xhat = (x - mu) rstd,   y = gamma[c] xhat + beta[c]
// Backward (sums over the m values of channel c). With g = gamma dy the gradient on xhat,
// and using dmu/dx_i = 1/m, drstd/dx_i = -rstd^2 xhat_i / m, one gets
//   dxhat_j/dx_i = rstd (delta_ij - 1/m - xhat_i xhat_j / m), hence
//   dx_i     += gamma rstd / m * (m dy_i - sum(dy) - xhat_i sum(dy xhat))
//   dgamma   += sum(dy xhat)
//   dbeta    += sum(dy)
// Only mu and rstd (one number each per channel) are saved; xhat is recomputed from x. Each
// channel is one parallel block: it writes only its own mu, rstd, y, dgamma, dbeta and dx.

// Channel ch of x viewed as (N, C, S): value s of image n is at ((n C + ch) S + s).
static size_t bn_at(int n, int C, int ch, int S) { return ((size_t)n * C + ch) * S; }

// The channel sums run in double in 8 lanes: value s of every image goes to lane s % 8 (whole
// vectors of 8, then a scalar tail, image after image), and the lanes are added 0 .. 7 at the
// end: a fixed order, whatever the thread count, without the latency of one serial sum.
typedef double D8 __attribute__((vector_size(64)));
typedef real R8 __attribute__((vector_size(8 * sizeof(real))));
static inline D8 load8(const real* p) {
  R8 v;
  __builtin_memcpy(&v, p, sizeof v);
  return __builtin_convertvector(v, D8);
}
static double lanes_total(D8 a) {
  double s = 0;
  for (int l = 0; l < 8; l++) s += a[l];
  return s;
}

// sum over the channel of d and of d^2, d = x - shift, in double (the lanes above), in one pass.
static void channel_moments(const real* X, int N, int C, int ch, int S, double shift, double* s1, double* s2) {
  D8 a = {}, b = {};
  for (int n = 0; n < N; n++) {
    const real* in = X + bn_at(n, C, ch, S);
    int s = 0;
    for (; s + 8 <= S; s += 8) {
      const D8 d = load8(in + s) - shift;
      a += d, b += d * d;
    }
    for (; s < S; s++) a[s % 8] += in[s] - shift, b[s % 8] += (in[s] - shift) * (in[s] - shift);
  }
  *s1 = lanes_total(a), *s2 = lanes_total(b);
}

// The gradient reaching batch norm's output: dy, or through a fused ReLU (Y its output) dy
// where y > 0 and 0 elsewhere.
static inline real grad_in(const real* dy, const real* Y, int s) { return Y && !(Y[s] > 0) ? real(0) : dy[s]; }
static inline D8 load8_grad(const real* dy, const real* Y) {
  R8 d;
  __builtin_memcpy(&d, dy, sizeof d);
  if (Y) {
    R8 y;
    __builtin_memcpy(&y, Y, sizeof y);
    d = y > 0 ? d : R8{};
  }
  return __builtin_convertvector(d, D8);
}

// sum(g) and sum(g xhat) over the channel, g = grad_in, xhat = (x - mu) rstd, in double (the
// lanes above).
static void channel_dy_sums(const real* X, const real* Y, const real* dY, int N, int C, int ch, int S, double mu,
                            double rstd, double* sum_dy, double* sum_dy_xhat) {
  D8 a = {}, b = {};
  for (int n = 0; n < N; n++) {
    const size_t base = bn_at(n, C, ch, S);
    const real *x = X + base, *dy = dY + base, *y = Y ? Y + base : nullptr;
    int s = 0;
    for (; s + 8 <= S; s += 8) {
      const D8 d = load8_grad(dy + s, y ? y + s : nullptr);
      a += d;
      b += d * ((load8(x + s) - mu) * rstd);
    }
    for (; s < S; s++) a[s % 8] += grad_in(dy, y, s), b[s % 8] += grad_in(dy, y, s) * ((x[s] - mu) * rstd);
  }
  *sum_dy = lanes_total(a), *sum_dy_xhat = lanes_total(b);
}

// Channel ch forward: its mu and rstd, and y = gamma xhat + beta (max(0, .) of it with `relu`).
// One pass for the moments, in double, around a shift K (the channel's first value): mean =
// K + E[x - K], var = E[(x - K)^2] - E[x - K]^2. The shift keeps the cancellation small (a
// relative error of about 1e-16 (mean - K)^2 / var), where the moments around 0 would lose
// everything to a large mean; a second pass over x is saved.
static void bn_stats(const real* X, int N, int C, int ch, int S, real eps, real* mu, real* rstd) {
  const double m = (double)N * S, K = X[bn_at(0, C, ch, S)];
  double s1, s2;
  channel_moments(X, N, C, ch, S, K, &s1, &s2);
  const double mean_d = s1 / m, var = std::max(0.0, s2 / m - mean_d * mean_d);
  *mu = (real)(K + mean_d), *rstd = (real)(1 / std::sqrt(var + eps));
}
static void bn_forward_channel(const real* X, int N, int C, int ch, int S, real eps, real gamma, real beta, bool relu,
                               real* mu, real* rstd, real* Y) {
  bn_stats(X, N, C, ch, S, eps, mu, rstd);
  const real mc = *mu, scale = gamma * *rstd;
  for (int n = 0; n < N; n++) {
    const real* in = X + bn_at(n, C, ch, S);
    real* out = Y + bn_at(n, C, ch, S);
    if (relu)
      for (int s = 0; s < S; s++) out[s] = std::max(real(0), (in[s] - mc) * scale + beta);
    else
      for (int s = 0; s < S; s++) out[s] = (in[s] - mc) * scale + beta;
  }
}

// Channel ch backward, with g = grad_in (Y: the fused ReLU's output, or null):
//   dgamma += sum(g xhat), dbeta += sum(g), dx += k (m g - sum(g) - xhat sum(g xhat))
// dx as a g + (x - mu) b + c0 in float (x - mu first: no cancellation when the mean is large).
static void bn_backward_channel(const real* X, const real* Y, const real* dY, int N, int C, int ch, int S, real gamma,
                                real mu, real rstd, real* dgamma, real* dbeta, real* dX) {
  const double m = (double)N * S;
  double sum_dy, sum_dy_xhat;
  channel_dy_sums(X, Y, dY, N, C, ch, S, mu, rstd, &sum_dy, &sum_dy_xhat);
  if (dgamma) *dgamma += (real)sum_dy_xhat;
  if (dbeta) *dbeta += (real)sum_dy;
  if (!dX) return;
  const double k = gamma * rstd / m;
  const real a = (real)(k * m), b = (real)(-k * rstd * sum_dy_xhat), c0 = (real)(-k * sum_dy);
  for (int n = 0; n < N; n++) {
    const size_t base = bn_at(n, C, ch, S);
    const real *x = X + base, *dy = dY + base, *y = Y ? Y + base : nullptr;
    real* dx = dX + base;
    if (y)
      for (int s = 0; s < S; s++) dx[s] += a * (y[s] > 0 ? dy[s] : real(0)) + (x[s] - mu) * b + c0;
    else
      for (int s = 0; s < S; s++) dx[s] += a * dy[s] + (x[s] - mu) * b + c0;
  }
}

// batch_norm, or with `relu` max(0, batch_norm) as one op: one pass less over the activations
// each way, and no separate ReLU output and gradient buffers.
static Var batch_norm_op(const char* name, Var x, Var gamma, Var beta, real eps, bool relu) {
  const Tensor &X = x.value(), &G = gamma.value(), &Bt = beta.value();
  if (X.ndim() != 2 && X.ndim() != 4)
    throw std::invalid_argument(err(name, "x " + shape_str(X.shape()) + " must be (N,D) or (N,C,Hh,Ww)"));
  const int N = X.dim(0), C = X.dim(1), S = X.ndim() == 4 ? X.dim(2) * X.dim(3) : 1;
  if (G.shape() != Shape{C} || Bt.shape() != Shape{C})
    throw std::invalid_argument(err(name, "x " + shape_str(X.shape()) + " needs gamma and beta of shape (" +
                                              std::to_string(C) + "), got gamma " + shape_str(G.shape()) +
                                              " and beta " + shape_str(Bt.shape())));
  if ((size_t)N * S == 0) throw std::invalid_argument(err(name, "x " + shape_str(X.shape()) + " is empty"));
  std::vector<real> mu(C), rstd(C);
  Tensor y(X.shape());
  parallel_for(C, [&](int ch) {  // one block per channel
    bn_forward_channel(X.data(), N, C, ch, S, eps, G[ch], Bt[ch], relu, &mu[ch], &rstd[ch], y.data());
  });
  return x.tape->record(name, std::move(y), {x, gamma, beta}, [N, C, S, relu, mu, rstd](BackwardCtx& c) {
    Tensor *dX = c.dx[0], *dG = c.dx[1], *dB = c.dx[2];
    parallel_for(C, [&](int ch) {
      bn_backward_channel(c.x[0]->data(), relu ? c.y.data() : nullptr, c.dy.data(), N, C, ch, S, (*c.x[1])[ch],
                          mu[ch], rstd[ch], dG ? dG->data() + ch : nullptr, dB ? dB->data() + ch : nullptr,
                          dX ? dX->data() : nullptr);
    });
  });
}

Var batch_norm(Var x, Var gamma, Var beta, real eps) { return batch_norm_op("batch_norm", x, gamma, beta, eps, false); }
Var batch_norm_relu(Var x, Var gamma, Var beta, real eps) {
  return batch_norm_op("batch_norm_relu", x, gamma, beta, eps, true);
}

// ---- batch norm, ReLU and max pooling as one op --------------------------------------------
//
// y = max_pool2d(relu(batch_norm(x)), k), k x k windows at stride k (the CIFAR net's
// bn -> relu -> pool). Forward, per channel: the statistics, then each image's plane normalized
// into a scratch plane (in L1) and pooled from there by the pooling above, the ReLU applied to
// the pooled values: the max of max(0, v) over a window is max(0, max v), and the first maximum
// of the ReLU'd window is the first maximum of v whenever that is > 0 (when it is not, no
// gradient flows either way). Nothing full-size is written but the argmax of each output.
// Backward: the gradient reaching batch norm's output is g = dy[p] at the argmax of each pooled
// output p with y[p] > 0, and 0 everywhere else, so sum(g) and sum(g xhat) run over the pooled
// outputs only (8 double lanes by output index), and dx = a g + (x - mu) b + c0 (as above) is a
// dense pass of (x - mu) b + c0, then a g added at each such argmax.

static void bnp_forward_channel(const real* X, const PoolGeom& g, int N, int C, int ch, real eps, real gamma,
                                real beta, real* mu, real* rstd, real* Y, int* argmax) {
  const int S = g.Hh * g.Ww, P = g.Ho * g.Wo;
  bn_stats(X, N, C, ch, S, eps, mu, rstd);
  const real mc = *mu, scale = gamma * *rstd;
  thread_local std::vector<real> plane;
  plane.resize(S);
  for (int n = 0; n < N; n++) {
    const real* in = X + bn_at(n, C, ch, S);
    for (int s = 0; s < S; s++) plane[s] = (in[s] - mc) * scale + beta;
    real* y = Y + bn_at(n, C, ch, P);
    (g.k == 2 && g.stride == 2 ? max_pool_plane_2x2 : max_pool_plane)(plane.data(), g, y, argmax + bn_at(n, C, ch, P));
    for (int p = 0; p < P; p++) y[p] = std::max(real(0), y[p]);
  }
}

static void bnp_backward_channel(const real* X, const real* Y, const int* argmax, const real* dY, const PoolGeom& g,
                                 int N, int C, int ch, real gamma, real mu, real rstd, real* dgamma, real* dbeta,
                                 real* dX) {
  const int S = g.Hh * g.Ww, P = g.Ho * g.Wo;
  D8 a8 = {}, b8 = {};  // lane p % 8, branch-free: g = 0 where y <= 0
  for (int n = 0; n < N; n++) {
    const real *x = X + bn_at(n, C, ch, S), *y = Y + bn_at(n, C, ch, P), *dy = dY + bn_at(n, C, ch, P);
    const int* at = argmax + bn_at(n, C, ch, P);
    int p = 0;
    for (; p + 8 <= P; p += 8) {
      R8 xa;
      for (int l = 0; l < 8; l++) xa[l] = x[at[p + l]];
      const D8 gv = load8_grad(dy + p, y + p);
      a8 += gv, b8 += gv * ((__builtin_convertvector(xa, D8) - mu) * (double)rstd);
    }
    for (; p < P; p++) {
      const double gp = grad_in(dy, y, p);
      a8[p % 8] += gp, b8[p % 8] += gp * ((x[at[p]] - mu) * (double)rstd);
    }
  }
  const double sum_dy = lanes_total(a8), sum_dy_xhat = lanes_total(b8);
  if (dgamma) *dgamma += (real)sum_dy_xhat;
  if (dbeta) *dbeta += (real)sum_dy;
  if (!dX) return;
  const double m = (double)N * S, k = gamma * rstd / m;
  const real a = (real)(k * m), b = (real)(-k * rstd * sum_dy_xhat), c0 = (real)(-k * sum_dy);
  for (int n = 0; n < N; n++) {
    const real *x = X + bn_at(n, C, ch, S), *y = Y + bn_at(n, C, ch, P), *dy = dY + bn_at(n, C, ch, P);
    const int* at = argmax + bn_at(n, C, ch, P);
    real* dx = dX + bn_at(n, C, ch, S);
    for (int s = 0; s < S; s++) dx[s] += (x[s] - mu) * b + c0;
    for (int p = 0; p < P; p++)
      if (y[p] > 0) dx[at[p]] += a * dy[p];
  }
}

Var batch_norm_relu_max_pool(Var x, Var gamma, Var beta, int k, real eps) {
  const char* name = "batch_norm_relu_max_pool";
  const Tensor &X = x.value(), &G = gamma.value(), &Bt = beta.value();
  const PoolGeom pg = pool_geom(name, X, k, k);
  const int N = X.dim(0), C = X.dim(1);
  if (G.shape() != Shape{C} || Bt.shape() != Shape{C})
    throw std::invalid_argument(err(name, "x " + shape_str(X.shape()) + " needs gamma and beta of shape (" +
                                              std::to_string(C) + "), got gamma " + shape_str(G.shape()) +
                                              " and beta " + shape_str(Bt.shape())));
  if (N == 0 || C == 0) throw std::invalid_argument(err(name, "x " + shape_str(X.shape()) + " is empty"));
  std::vector<real> mu(C), rstd(C);
  Tensor y({N, C, pg.Ho, pg.Wo});
  std::vector<int> argmax(y.size());
  parallel_for(C, [&](int ch) {  // one block per channel
    bnp_forward_channel(X.data(), pg, N, C, ch, eps, G[ch], Bt[ch], &mu[ch], &rstd[ch], y.data(), argmax.data());
  });
  return x.tape->record(name, std::move(y), {x, gamma, beta},
                        [N, C, pg, mu, rstd, argmax = std::move(argmax)](BackwardCtx& c) {
                          Tensor *dX = c.dx[0], *dG = c.dx[1], *dB = c.dx[2];
                          parallel_for(C, [&](int ch) {
                            bnp_backward_channel(c.x[0]->data(), c.y.data(), argmax.data(), c.dy.data(), pg, N, C, ch,
                                                 (*c.x[1])[ch], mu[ch], rstd[ch], dG ? dG->data() + ch : nullptr,
                                                 dB ? dB->data() + ch : nullptr, dX ? dX->data() : nullptr);
                          });
                        });
}

}  // namespace l2l
