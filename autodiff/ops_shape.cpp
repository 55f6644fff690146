// ops_shape.cpp: reductions (sum, mean) and shape ops (reshape, transpose, slice, concat).
// Forward and backward of each op sit together.
#include <algorithm>
#include <stdexcept>

#include "ops.h"

namespace l2l {

static std::string err(const char* op, const std::string& what) { return std::string("[") + op + "] " + what; }

// View a shape as (outer, n, inner) around `axis`: element (o, i, k) is at (o n + i) inner + k.
struct AxisSplit {
  size_t outer = 1, n = 1, inner = 1;
};
static AxisSplit split_at(const Shape& s, int& axis, const char* op) {
  int nd = (int)s.size();
  if (axis < 0) axis += nd;
  if (axis < 0 || axis >= nd)
    throw std::invalid_argument(err(op, "axis " + std::to_string(axis) + " out of range for shape " + shape_str(s)));
  AxisSplit r;
  for (int i = 0; i < axis; i++) r.outer *= s[i];
  r.n = s[axis];
  for (int i = axis + 1; i < nd; i++) r.inner *= s[i];
  return r;
}

// ---- reductions -------------------------------------------------------------------------

// y = sum_i x_i -> (1);  dx_i += dy
Var sum(Var x) {
  const Tensor& X = x.value();
  double s = 0;
  for (size_t i = 0; i < X.size(); i++) s += X[i];
  return x.tape->record("sum", Tensor::scalar((real)s), {x}, [](BackwardCtx& c) {
    if (!c.dx[0]) return;
    real g = c.dy[0];
    for (size_t i = 0; i < c.dx[0]->size(); i++) (*c.dx[0])[i] += g;
  });
}

// y = (1/n) sum_i x_i;  dx_i += dy / n
Var mean(Var x) { return scale(sum(x), real(1) / x.size()); }

// y[o, k] = sum_i x[o, i, k];  dx[o, i, k] += dy[o, k]
Var sum(Var x, int axis, bool keepdim) {
  const Tensor& X = x.value();
  AxisSplit s = split_at(X.shape(), axis, "sum");
  Shape out = X.shape();
  if (keepdim) out[axis] = 1; else out.erase(out.begin() + axis);
  Tensor y = Tensor::zeros(out);
  for (size_t o = 0; o < s.outer; o++)
    for (size_t i = 0; i < s.n; i++) {
      const real* xr = X.data() + (o * s.n + i) * s.inner;
      real* yr = y.data() + o * s.inner;
      for (size_t k = 0; k < s.inner; k++) yr[k] += xr[k];
    }
  return x.tape->record("sum_axis", std::move(y), {x}, [s](BackwardCtx& c) {
    if (!c.dx[0]) return;
    for (size_t o = 0; o < s.outer; o++)
      for (size_t i = 0; i < s.n; i++) {
        real* dxr = c.dx[0]->data() + (o * s.n + i) * s.inner;
        const real* dyr = c.dy.data() + o * s.inner;
        for (size_t k = 0; k < s.inner; k++) dxr[k] += dyr[k];
      }
  });
}

Var mean(Var x, int axis, bool keepdim) {
  int a = axis;
  AxisSplit s = split_at(x.shape(), a, "mean");
  return scale(sum(x, axis, keepdim), real(1) / s.n);
}

// ---- shape ------------------------------------------------------------------------------

// y = x viewed with shape s;  dx += dy viewed with x's shape
Var reshape(Var x, const Shape& s) {
  if (shape_numel(s) != x.size())
    throw std::invalid_argument(err("reshape", "cannot view " + shape_str(x.shape()) + " as " + shape_str(s)));
  return x.tape->record("reshape", x.value().reshaped(s), {x}, [](BackwardCtx& c) {
    if (!c.dx[0]) return;
    for (size_t i = 0; i < c.dy.size(); i++) (*c.dx[0])[i] += c.dy[i];
  });
}

// y[j, i] = x[i, j] for x (M,N);  dx[i, j] += dy[j, i]
Var transpose(Var x) {
  const Tensor& X = x.value();
  if (X.ndim() != 2) throw std::invalid_argument(err("transpose", "needs a matrix, got " + shape_str(X.shape())));
  int M = X.dim(0), N = X.dim(1);
  Tensor y({N, M});
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) y[(size_t)j * M + i] = X[(size_t)i * N + j];
  return x.tape->record("transpose", std::move(y), {x}, [M, N](BackwardCtx& c) {
    if (!c.dx[0]) return;
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) (*c.dx[0])[(size_t)i * N + j] += c.dy[(size_t)j * M + i];
  });
}

// y = x[..., start:end, ...];  dx[..., start:end, ...] += dy
Var slice(Var x, int axis, int start, int end) {
  const Tensor& X = x.value();
  AxisSplit s = split_at(X.shape(), axis, "slice");
  if (start < 0 || end > (int)s.n || start >= end)
    throw std::invalid_argument(err("slice", "range [" + std::to_string(start) + ", " + std::to_string(end) +
                                                 ") is empty or outside axis " + std::to_string(axis) +
                                                 " of shape " + shape_str(X.shape())));
  Shape out = X.shape();
  out[axis] = end - start;
  size_t m = end - start;
  Tensor y(out);
  const size_t block = m * s.inner;  // contiguous run per outer index
  for (size_t o = 0; o < s.outer; o++)
    std::copy_n(X.data() + (o * s.n + start) * s.inner, block, y.data() + o * block);
  return x.tape->record("slice", std::move(y), {x}, [s, block, start](BackwardCtx& c) {
    if (!c.dx[0]) return;
    for (size_t o = 0; o < s.outer; o++) {
      real* d = c.dx[0]->data() + (o * s.n + start) * s.inner;
      const real* g = c.dy.data() + o * block;
      for (size_t k = 0; k < block; k++) d[k] += g[k];
    }
  });
}

// y = [x0 | x1 | ...] along axis;  dx_j += the matching block of dy
Var concat(const std::vector<Var>& xs, int axis) {
  if (xs.empty()) throw std::invalid_argument(err("concat", "no inputs"));
  Shape out = xs[0].shape();
  AxisSplit s0 = split_at(out, axis, "concat");
  std::vector<size_t> offs;  // start of each input along the axis
  size_t total = 0;
  for (const Var& x : xs) {
    Shape a = x.shape(), b = out;
    if (a.size() != b.size() || (a[axis] = b[axis] = 0, a != b))
      throw std::invalid_argument(err("concat", "shape " + shape_str(x.shape()) + " differs from " +
                                                    shape_str(out) + " outside axis " + std::to_string(axis)));
    offs.push_back(total);
    total += x.shape()[axis];
  }
  out[axis] = (int)total;
  Tensor y(out);
  for (size_t j = 0; j < xs.size(); j++) {
    const Tensor& X = xs[j].value();
    size_t block = (size_t)X.dim(axis) * s0.inner;
    for (size_t o = 0; o < s0.outer; o++)
      std::copy_n(X.data() + o * block, block, y.data() + (o * total + offs[j]) * s0.inner);
  }
  size_t outer = s0.outer, inner = s0.inner;
  return xs[0].tape->record("concat", std::move(y), xs, [offs, total, outer, inner, axis](BackwardCtx& c) {
    for (size_t j = 0; j < c.dx.size(); j++) {
      if (!c.dx[j]) continue;
      size_t block = (size_t)c.x[j]->dim(axis) * inner;
      for (size_t o = 0; o < outer; o++) {
        real* d = c.dx[j]->data() + o * block;
        const real* g = c.dy.data() + (o * total + offs[j]) * inner;
        for (size_t k = 0; k < block; k++) d[k] += g[k];
      }
    }
  });
}

// ---- column means (the learned optimizer's global averaging cells) ----------------------

// The mean of each of the first A columns over the n rows, summed in row order in double (one
// thread, fixed order: the same bits for any thread count). Forward and backward are the same map.
static void average_first_cols(const real* src, real* dst, int n, int H, int A) {
  std::copy_n(src, (size_t)n * H, dst);
  if (A == 0 || n == 0) return;
  std::vector<double> sum(A, 0.0);
  for (int m = 0; m < n; m++)
    for (int j = 0; j < A; j++) sum[j] += src[(size_t)m * H + j];
  for (int j = 0; j < A; j++) {
    real mean = (real)(sum[j] / n);
    for (int i = 0; i < n; i++) dst[(size_t)i * H + j] = mean;
  }
}

// y = h with columns j < A replaced by their row mean. The map is linear and symmetric
// (its matrix is block-diagonal: identity, and (1/n) 1 1^T per averaged column), so its
// backward applies the same map to dy: dh'[i, j] += (1/n) sum_m dy[m, j] for j < A, dy[i, j] otherwise.
Var global_average_cols(Var h, int cols) {
  const Shape& s = h.shape();
  if (s.size() != 2 || cols < 0 || cols > s[1])
    throw std::invalid_argument("[global_average_cols] expected h (n, H) and 0 <= cols <= H; got h " + shape_str(s) +
                                ", cols " + std::to_string(cols));
  const int n = s[0], H = s[1], A = cols;
  Tensor y(s);
  average_first_cols(h.value().data(), y.data(), n, H, A);
  return h.tape->record("global_average_cols", std::move(y), {h}, [n, H, A](BackwardCtx& c) {
    if (!c.dx[0]) return;
    Tensor d(c.dy.shape());
    average_first_cols(c.dy.data(), d.data(), n, H, A);
    real* dst = c.dx[0]->data();
    for (size_t i = 0; i < d.size(); i++) dst[i] += d[i];
  });
}

}  // namespace l2l
