// ops_conv.cpp: the image ops of the CIFAR-10 task: conv2d (im2col + GEMM), max and average
// pooling, and batch normalization with batch statistics.
//
// Is: forward and backward of each op side by side, on NCHW tensors (N images, C channels,
// Hh x Ww pixels, row-major). Backward functions add (+=) into their parents' buffers.
// Is not: dilation, groups, non-square kernels, padded pooling, or batch norm's running
// averages for inference (the optimizee is only ever trained, never evaluated in eval mode).
// Read ops_matmul.cpp first: conv2d is "matmul on rearranged pixels".
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "blas.h"
#include "ops.h"

namespace l2l {

static std::string err(const char* op, const std::string& what) { return std::string("[") + op + "] " + what; }

// ---- conv2d -----------------------------------------------------------------------------
//
// y[n, o, i, j] = b[o] + sum_{c, ki, kj} w[o, c, ki, kj] x[n, c, i s - p + ki, j s - p + kj]
// (x read as 0 outside the image: zero padding; s = stride, p = pad).
//
// im2col turns this into one matrix product per image. Lay the input pixels each output
// position reads out as a column:
//   col[(c K + ki) K + kj, i Wo + j] = x[n, c, i s - p + ki, j s - p + kj]     col is (C K K, Ho Wo)
// Then, with w viewed as the matrix (O, C K K) and y[n] as (O, Ho Wo):
//   y[n] = w col (+ b[o] on row o)
// and backward is two matrix products plus the adjoint of im2col:
//   dw   += dy[n] col^T                (O, Ho Wo) (Ho Wo, C K K)
//   dcol  = w^T dy[n]                  (C K K, O) (O, Ho Wo)
//   dx[n] += col2im(dcol)              every col entry adds back to the pixel it was read from
//   db[o] += sum_{n, i, j} dy[n, o, i, j]
//
// One GEMM per image rather than one for the whole batch: the per-image column buffer
// (75 x 1024 for the CIFAR net's first layer) is reused and stays in cache, whereas a batched
// one would be N times larger (~40 MB at N = 128, in float) and its product (O, N Ho Wo) would
// need a transpose back to NCHW. Per image the product is (16 x 75) (75 x 1024), big enough for
// BLAS to run at speed. The columns are recomputed in backward rather than saved, so the tape
// does not keep K K copies of every input alive for a whole unroll.

struct ConvGeom {
  int N, C, Hh, Ww, O, K, stride, pad, Ho, Wo;
  int rows() const { return C * K * K; }  // col rows: one per (c, ki, kj)
  int cols() const { return Ho * Wo; }    // col columns: one per output pixel
};

// Fills col (C K K, Ho Wo) from one image x (C, Hh, Ww); every entry is written.
static void im2col(const real* x, const ConvGeom& g, real* col) {
  for (int c = 0; c < g.C; c++)
    for (int ki = 0; ki < g.K; ki++)
      for (int kj = 0; kj < g.K; kj++) {
        real* row = col + (size_t)((c * g.K + ki) * g.K + kj) * g.cols();
        for (int i = 0; i < g.Ho; i++) {
          real* out = row + (size_t)i * g.Wo;
          int h = i * g.stride - g.pad + ki;
          if (h < 0 || h >= g.Hh) {
            std::fill_n(out, g.Wo, real(0));
            continue;
          }
          const real* in = x + ((size_t)c * g.Hh + h) * g.Ww;
          for (int j = 0, w = kj - g.pad; j < g.Wo; j++, w += g.stride) out[j] = (w >= 0 && w < g.Ww) ? in[w] : 0;
        }
      }
}

// The adjoint of im2col: dx (C, Hh, Ww) += the entries of dcol, each to the pixel it came from.
// A pixel read by several output positions receives the sum; padding entries are dropped.
static void col2im_add(const real* dcol, const ConvGeom& g, real* dx) {
  for (int c = 0; c < g.C; c++)
    for (int ki = 0; ki < g.K; ki++)
      for (int kj = 0; kj < g.K; kj++) {
        const real* row = dcol + (size_t)((c * g.K + ki) * g.K + kj) * g.cols();
        for (int i = 0; i < g.Ho; i++) {
          int h = i * g.stride - g.pad + ki;
          if (h < 0 || h >= g.Hh) continue;
          const real* d = row + (size_t)i * g.Wo;
          real* out = dx + ((size_t)c * g.Hh + h) * g.Ww;
          for (int j = 0, w = kj - g.pad; j < g.Wo; j++, w += g.stride)
            if (w >= 0 && w < g.Ww) out[w] += d[j];
        }
      }
}

static ConvGeom conv_geom(const Tensor& X, const Tensor& Wt, const Tensor* B, int stride, int pad) {
  std::string shapes = "x " + shape_str(X.shape()) + " and w " + shape_str(Wt.shape());
  if (X.ndim() != 4 || Wt.ndim() != 4)
    throw std::invalid_argument(err("conv2d", shapes + ": need x (N,C,Hh,Ww) and w (O,C,K,K)"));
  ConvGeom g{X.dim(0), X.dim(1), X.dim(2), X.dim(3), Wt.dim(0), Wt.dim(2), stride, pad, 0, 0};
  if (Wt.dim(1) != g.C)
    throw std::invalid_argument(err("conv2d", shapes + ": input channels " + std::to_string(g.C) + " and " +
                                                  std::to_string(Wt.dim(1)) + " differ"));
  if (Wt.dim(2) != Wt.dim(3)) throw std::invalid_argument(err("conv2d", shapes + ": kernel must be square"));
  if (stride < 1 || pad < 0)
    throw std::invalid_argument(err("conv2d", shapes + ": need stride >= 1 and pad >= 0, got stride " +
                                                  std::to_string(stride) + ", pad " + std::to_string(pad)));
  if (g.K < 1 || g.Hh + 2 * pad < g.K || g.Ww + 2 * pad < g.K)
    throw std::invalid_argument(err("conv2d", shapes + ": kernel larger than the padded image (pad " +
                                                  std::to_string(pad) + ")"));
  if (B && (B->ndim() != 1 || B->dim(0) != g.O))
    throw std::invalid_argument(err("conv2d", shapes + ": bias " + shape_str(B->shape()) + " must be (" +
                                                  std::to_string(g.O) + ")"));
  g.Ho = (g.Hh + 2 * pad - g.K) / stride + 1;
  g.Wo = (g.Ww + 2 * pad - g.K) / stride + 1;
  return g;
}

Var conv2d(Var x, Var w, Var b, int stride, int pad) {
  const bool has_bias = b.tape != nullptr;
  const Tensor &X = x.value(), &Wt = w.value();
  const ConvGeom g = conv_geom(X, Wt, has_bias ? &b.value() : nullptr, stride, pad);
  const int R = g.rows(), P = g.cols();
  const size_t x_img = (size_t)g.C * g.Hh * g.Ww, y_img = (size_t)g.O * P;

  Tensor y({g.N, g.O, g.Ho, g.Wo}), col({R, P});
  for (int n = 0; n < g.N; n++) {
    real* yn = y.data() + n * y_img;
    im2col(X.data() + n * x_img, g, col.data());
    gemm(false, false, g.O, P, R, 1, Wt.data(), R, col.data(), P, 0, yn, P);  // y[n] = w col
    if (has_bias)
      for (int o = 0; o < g.O; o++) {
        real bo = b.value()[o];
        for (int p = 0; p < P; p++) yn[(size_t)o * P + p] += bo;
      }
  }

  std::vector<Var> parents = {x, w};
  if (has_bias) parents.push_back(b);
  return x.tape->record("conv2d", std::move(y), parents, [g](BackwardCtx& c) {
    const int R = g.rows(), P = g.cols();
    const size_t x_img = (size_t)g.C * g.Hh * g.Ww, y_img = (size_t)g.O * P;
    const Tensor &X = *c.x[0], &Wt = *c.x[1], &dY = c.dy;
    Tensor *dX = c.dx[0], *dW = c.dx[1], *dB = c.dx.size() > 2 ? c.dx[2] : nullptr;
    Tensor col, dcol;
    if (dW) col = Tensor({R, P});
    if (dX) dcol = Tensor({R, P});
    for (int n = 0; n < g.N; n++) {
      const real* dyn = dY.data() + n * y_img;
      if (dW) {  // dw += dy[n] col^T
        im2col(X.data() + n * x_img, g, col.data());
        gemm(false, true, g.O, R, P, 1, dyn, P, col.data(), P, 1, dW->data(), R);
      }
      if (dX) {  // dcol = w^T dy[n]; dx[n] += col2im(dcol)
        gemm(true, false, R, P, g.O, 1, Wt.data(), R, dyn, P, 0, dcol.data(), P);
        col2im_add(dcol.data(), g, dX->data() + n * x_img);
      }
      if (dB)  // db[o] += sum over the pixels of dy[n, o]
        for (int o = 0; o < g.O; o++) {
          double s = 0;
          for (int p = 0; p < P; p++) s += dyn[(size_t)o * P + p];
          (*dB)[o] += (real)s;
        }
    }
  });
}

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
Var max_pool2d(Var x, int k, int stride) {
  const Tensor& X = x.value();
  const PoolGeom g = pool_geom("max_pool2d", X, k, stride);
  Tensor y({X.dim(0), X.dim(1), g.Ho, g.Wo});
  std::vector<int> argmax(y.size());
  size_t o = 0;
  for (int p = 0; p < g.planes; p++) {
    const real* in = X.data() + (size_t)p * g.Hh * g.Ww;
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
  return x.tape->record("max_pool2d", std::move(y), {x}, [g, argmax = std::move(argmax)](BackwardCtx& c) {
    if (!c.dx[0]) return;
    const size_t per_plane = (size_t)g.Ho * g.Wo;
    for (size_t o = 0; o < c.dy.size(); o++)
      (*c.dx[0])[(o / per_plane) * g.Hh * g.Ww + argmax[o]] += c.dy[o];
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
// Only mu and rstd (one number each per channel) are saved; xhat is recomputed from x.

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

  // Two passes (mean, then centered squares) in double: no cancellation in the variance.
  // Loops run n, c, s so both layouts read x in memory order.
  std::vector<double> sum(C, 0.0), sq(C, 0.0);
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++) {
      const real* in = X.data() + ((size_t)n * C + c) * S;
      for (int s = 0; s < S; s++) sum[c] += in[s];
    }
  std::vector<real> mu(C), rstd(C);
  for (int c = 0; c < C; c++) mu[c] = (real)(sum[c] / m);
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++) {
      const real* in = X.data() + ((size_t)n * C + c) * S;
      for (int s = 0; s < S; s++) sq[c] += (double)(in[s] - mu[c]) * (in[s] - mu[c]);
    }
  for (int c = 0; c < C; c++) rstd[c] = (real)(1 / std::sqrt(sq[c] / m + eps));

  Tensor y(X.shape());
  for (int n = 0; n < N; n++)
    for (int c = 0; c < C; c++) {
      size_t base = ((size_t)n * C + c) * S;
      for (int s = 0; s < S; s++) y[base + s] = G[c] * (X[base + s] - mu[c]) * rstd[c] + Bt[c];
    }

  return x.tape->record("batch_norm", std::move(y), {x, gamma, beta}, [N, C, S, m, mu, rstd](BackwardCtx& c) {
    const Tensor &X = *c.x[0], &G = *c.x[1], &dY = c.dy;
    std::vector<double> sum_dy(C, 0.0), sum_dy_xhat(C, 0.0);
    for (int n = 0; n < N; n++)
      for (int ch = 0; ch < C; ch++) {
        size_t base = ((size_t)n * C + ch) * S;
        for (int s = 0; s < S; s++) {
          sum_dy[ch] += dY[base + s];
          sum_dy_xhat[ch] += (double)dY[base + s] * (X[base + s] - mu[ch]) * rstd[ch];
        }
      }
    if (Tensor* dG = c.dx[1])
      for (int ch = 0; ch < C; ch++) (*dG)[ch] += (real)sum_dy_xhat[ch];
    if (Tensor* dB = c.dx[2])
      for (int ch = 0; ch < C; ch++) (*dB)[ch] += (real)sum_dy[ch];
    if (Tensor* dX = c.dx[0])
      for (int n = 0; n < N; n++)
        for (int ch = 0; ch < C; ch++) {
          size_t base = ((size_t)n * C + ch) * S;
          double k = G[ch] * rstd[ch] / m;
          for (int s = 0; s < S; s++) {
            double xhat = (X[base + s] - mu[ch]) * rstd[ch];
            (*dX)[base + s] += (real)(k * (m * dY[base + s] - sum_dy[ch] - xhat * sum_dy_xhat[ch]));
          }
        }
  });
}

}  // namespace l2l
