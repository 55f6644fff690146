// ops_pool_bn.cpp: the other image ops of the CIFAR-10 task: max and average pooling, and
// batch normalization with batch statistics (conv2d is in ops_conv.cpp).
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

Var max_pool2d(Var x, int k, int stride) {
  const Tensor& X = x.value();
  const PoolGeom g = pool_geom("max_pool2d", X, k, stride);
  Tensor y({X.dim(0), X.dim(1), g.Ho, g.Wo});
  std::vector<int> argmax(y.size());
  const size_t per_plane = (size_t)g.Ho * g.Wo;
  const int blocks = (g.planes + kPoolPlanes - 1) / kPoolPlanes;
  parallel_for(blocks, [&](int blk) {  // planes [blk kPoolPlanes, ...) write only their outputs
    for (int p = blk * kPoolPlanes; p < std::min(g.planes, (blk + 1) * kPoolPlanes); p++) {
      const real* in = X.data() + (size_t)p * g.Hh * g.Ww;
      size_t o = p * per_plane;
      for (int i = 0; i < g.Ho; i++)
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
  });
  return x.tape->record("max_pool2d", std::move(y), {x}, [g, blocks, argmax = std::move(argmax)](BackwardCtx& c) {
    if (!c.dx[0]) return;
    const size_t per_plane = (size_t)g.Ho * g.Wo;
    parallel_for(blocks, [&](int blk) {  // each plane's outputs send gradient into that plane only
      size_t o0 = (size_t)blk * kPoolPlanes * per_plane, o1 = std::min(c.dy.size(), o0 + kPoolPlanes * per_plane);
      for (size_t o = o0; o < o1; o++) (*c.dx[0])[(o / per_plane) * g.Hh * g.Ww + argmax[o]] += c.dy[o];
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

Var batch_norm(Var x, Var gamma, Var beta, real eps) {
  const Tensor &X = x.value(), &G = gamma.value(), &Bt = beta.value();
  if (X.ndim() != 2 && X.ndim() != 4)
    throw std::invalid_argument(err("batch_norm", "x " + shape_str(X.shape()) + " must be (N,D) or (N,C,Hh,Ww)"));
  const int N = X.dim(0), C = X.dim(1), S = X.ndim() == 4 ? X.dim(2) * X.dim(3) : 1;
  if (G.shape() != Shape{C} || Bt.shape() != Shape{C})
    throw std::invalid_argument(err("batch_norm", "x " + shape_str(X.shape()) + " needs gamma and beta of shape (" +
                                                      std::to_string(C) + "), got gamma " + shape_str(G.shape()) +
                                                      " and beta " + shape_str(Bt.shape())));
  const double m = (double)N * S;
  if (m == 0) throw std::invalid_argument(err("batch_norm", "x " + shape_str(X.shape()) + " is empty"));

  // One block per channel. Two passes (mean, then centered squares) in double: no
  // cancellation in the variance.
  std::vector<real> mu(C), rstd(C);
  Tensor y(X.shape());
  parallel_for(C, [&](int ch) {
    double sum = 0, sq = 0;
    for (int n = 0; n < N; n++) {
      const real* in = X.data() + bn_at(n, C, ch, S);
      for (int s = 0; s < S; s++) sum += in[s];
    }
    const real mc = (real)(sum / m);
    for (int n = 0; n < N; n++) {
      const real* in = X.data() + bn_at(n, C, ch, S);
      for (int s = 0; s < S; s++) sq += (double)(in[s] - mc) * (in[s] - mc);
    }
    const real rc = (real)(1 / std::sqrt(sq / m + eps));
    mu[ch] = mc, rstd[ch] = rc;
    for (int n = 0; n < N; n++) {
      const size_t base = bn_at(n, C, ch, S);
      for (int s = 0; s < S; s++) y[base + s] = G[ch] * (X[base + s] - mc) * rc + Bt[ch];
    }
  });

  return x.tape->record("batch_norm", std::move(y), {x, gamma, beta}, [N, C, S, m, mu, rstd](BackwardCtx& c) {
    const Tensor &X = *c.x[0], &G = *c.x[1], &dY = c.dy;
    Tensor *dX = c.dx[0], *dG = c.dx[1], *dB = c.dx[2];
    parallel_for(C, [&](int ch) {
      double sum_dy = 0, sum_dy_xhat = 0;
      for (int n = 0; n < N; n++) {
        const size_t base = bn_at(n, C, ch, S);
        for (int s = 0; s < S; s++) {
          sum_dy += dY[base + s];
          sum_dy_xhat += (double)dY[base + s] * (X[base + s] - mu[ch]) * rstd[ch];
        }
      }
      if (dG) (*dG)[ch] += (real)sum_dy_xhat;
      if (dB) (*dB)[ch] += (real)sum_dy;
      if (!dX) return;
      const double k = G[ch] * rstd[ch] / m;
      for (int n = 0; n < N; n++) {
        const size_t base = bn_at(n, C, ch, S);
        for (int s = 0; s < S; s++) {
          double xhat = (X[base + s] - mu[ch]) * rstd[ch];
          (*dX)[base + s] += (real)(k * (m * dY[base + s] - sum_dy - xhat * sum_dy_xhat));
        }
      }
    });
  });
}

}  // namespace l2l
