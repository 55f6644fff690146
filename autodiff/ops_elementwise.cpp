// ops_elementwise.cpp: binary ops with broadcasting, scalar ops and unary nonlinearities.
// Forward and backward of each op sit together; `dy` is dL/dy, `dx` the buffer to add dL/dx to.
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "ops.h"
#include "parallel.h"

namespace l2l {

// ---- broadcasting -----------------------------------------------------------------------

Shape broadcast_shape(const Shape& a, const Shape& b, const char* op) {
  int n = (int)std::max(a.size(), b.size());
  Shape out(n);
  for (int i = 0; i < n; i++) {
    int da = i < n - (int)a.size() ? 1 : a[i - (n - a.size())];
    int db = i < n - (int)b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      throw std::invalid_argument(std::string("[") + op + "] shapes " + shape_str(a) + " and " +
                                  shape_str(b) + " do not broadcast (dimension " + std::to_string(i) +
                                  ": " + std::to_string(da) + " vs " + std::to_string(db) + ")");
    out[i] = std::max(da, db);
  }
  return out;
}

// Strides of `s` seen through the broadcast shape `out`: 0 along repeated dimensions.
static std::vector<size_t> bcast_strides(const Shape& s, const Shape& out) {
  int n = (int)out.size(), off = n - (int)s.size();
  std::vector<size_t> st(n, 0);
  size_t run = 1;
  for (int i = n - 1; i >= off; i--) {
    int d = s[i - off];
    st[i] = d == 1 ? 0 : run;
    run *= d;
  }
  return st;
}

// Calls f(o, ia, ib) for every output index o with the matching indices of a and b.
// The last dimension runs as a plain inner loop with fixed strides (0 or 1 on that axis); an
// odometer steps through the outer dimensions once per row.
template <class F>
static void for_each_bcast(const Shape& a, const Shape& b, const Shape& out, F f) {
  size_t n = shape_numel(out);
  if (a == out && b == out) {
    for (size_t o = 0; o < n; o++) f(o, o, o);
    return;
  }
  auto sa = bcast_strides(a, out), sb = bcast_strides(b, out);
  int nd = (int)out.size();
  if (nd == 0 || n == 0) {
    if (n) f(0, 0, 0);
    return;
  }
  const size_t row = out[nd - 1], ra = sa[nd - 1], rb = sb[nd - 1];
  std::vector<int> idx(nd, 0);
  size_t ia = 0, ib = 0;
  for (size_t o = 0; o < n; o += row) {
    for (size_t k = 0; k < row; k++) f(o + k, ia + k * ra, ib + k * rb);
    for (int d = nd - 2; d >= 0; d--) {  // odometer increment over the outer dimensions
      idx[d]++;
      ia += sa[d];
      ib += sb[d];
      if (idx[d] < out[d]) break;
      ia -= sa[d] * out[d];
      ib -= sb[d] * out[d];
      idx[d] = 0;
    }
  }
}

// y = a OP b elementwise; dA/dB give dL/da and dL/db for one element from (a, b, y, dy).
template <class Fwd, class DA, class DB>
static Var binary(const char* op, Var a, Var b, Fwd fwd, DA da, DB db) {
  const Tensor &A = a.value(), &B = b.value();
  Shape out = broadcast_shape(A.shape(), B.shape(), op);
  Tensor y(out);
  for_each_bcast(A.shape(), B.shape(), out, [&](size_t o, size_t i, size_t j) { y[o] = fwd(A[i], B[j]); });
  return a.tape->record(op, std::move(y), {a, b}, [da, db](BackwardCtx& c) {
    const Tensor &A = *c.x[0], &B = *c.x[1];
    if (Tensor* dA = c.dx[0])
      for_each_bcast(A.shape(), B.shape(), c.y.shape(),
                     [&](size_t o, size_t i, size_t j) { (*dA)[i] += da(A[i], B[j], c.y[o], c.dy[o]); });
    if (Tensor* dB = c.dx[1])
      for_each_bcast(A.shape(), B.shape(), c.y.shape(),
                     [&](size_t o, size_t i, size_t j) { (*dB)[j] += db(A[i], B[j], c.y[o], c.dy[o]); });
  });
}

// y = a + b;  da += dy,  db += dy (summed over broadcast dimensions)
Var add(Var a, Var b) {
  return binary("add", a, b, [](real x, real z) { return x + z; },
                [](real, real, real, real g) { return g; }, [](real, real, real, real g) { return g; });
}
// y = a - b;  da += dy,  db -= dy
Var sub(Var a, Var b) {
  return binary("sub", a, b, [](real x, real z) { return x - z; },
                [](real, real, real, real g) { return g; }, [](real, real, real, real g) { return -g; });
}
// y = a * b;  da += dy b,  db += dy a
Var mul(Var a, Var b) {
  return binary("mul", a, b, [](real x, real z) { return x * z; },
                [](real, real z, real, real g) { return g * z; }, [](real x, real, real, real g) { return g * x; });
}
// y = a / b;  da += dy / b,  db -= dy a / b^2 = dy y / b
Var div(Var a, Var b) {
  return binary("div", a, b, [](real x, real z) { return x / z; },
                [](real, real z, real, real g) { return g / z; },
                [](real, real z, real y, real g) { return -g * y / z; });
}

// ---- unary ------------------------------------------------------------------------------

// y = f(x) elementwise; dfdx(x, y) is f'(x), written with y where that is cheaper.
template <class F, class D>
static Var unary(const char* op, Var x, F f, D dfdx) {
  const Tensor& X = x.value();
  Tensor y(X.shape());
  const real* xp = X.data();
  real* yp = y.data();
  for (size_t i = 0, n = X.size(); i < n; i++) yp[i] = f(xp[i]);
  return x.tape->record(op, std::move(y), {x}, [dfdx](BackwardCtx& c) {
    if (!c.dx[0]) return;
    const real *xp = c.x[0]->data(), *yp = c.y.data(), *g = c.dy.data();
    real* d = c.dx[0]->data();
    for (size_t i = 0, n = c.y.size(); i < n; i++) d[i] += g[i] * dfdx(xp[i], yp[i]);
  });
}

// y = c x;  dx += c dy
Var scale(Var x, real c) {
  return unary("scale", x, [c](real v) { return c * v; }, [c](real, real) { return c; });
}
// y = x + c;  dx += dy
Var add_scalar(Var x, real c) {
  return unary("add_scalar", x, [c](real v) { return v + c; }, [](real, real) { return real(1); });
}
// y = -x;  dx -= dy
Var neg(Var x) {
  return unary("neg", x, [](real v) { return -v; }, [](real, real) { return real(-1); });
}
// y = e^x;  dx += dy y
Var exp(Var x) {
  return unary("exp", x, [](real v) { return std::exp(v); }, [](real, real y) { return y; });
}
// y = ln x;  dx += dy / x
Var log(Var x) {
  return unary("log", x, [](real v) { return std::log(v); }, [](real v, real) { return 1 / v; });
}
// y = sqrt x;  dx += dy / (2 y)
Var sqrt(Var x) {
  return unary("sqrt", x, [](real v) { return std::sqrt(v); }, [](real, real y) { return 1 / (2 * y); });
}
// y = x^2;  dx += 2 x dy
Var square(Var x) {
  return unary("square", x, [](real v) { return v * v; }, [](real v, real) { return 2 * v; });
}
// y = x^p;  dx += p x^(p-1) dy
Var pow(Var x, real p) {
  return unary("pow", x, [p](real v) { return std::pow(v, p); },
               [p](real v, real) { return p * std::pow(v, p - 1); });
}
// y = |x|;  dx += sign(x) dy
Var abs(Var x) {
  return unary("abs", x, [](real v) { return std::fabs(v); },
               [](real v, real) { return real(v > 0 ? 1 : v < 0 ? -1 : 0); });
}
// y = min(max(x, lo), hi);  dx += dy where lo < x < hi
Var clamp(Var x, real lo, real hi) {
  if (!(lo <= hi)) throw std::invalid_argument("[clamp] lo > hi");
  return unary("clamp", x, [lo, hi](real v) { return v < lo ? lo : v > hi ? hi : v; },
               [lo, hi](real v, real) { return real(v > lo && v < hi ? 1 : 0); });
}
// y = 1 / (1 + e^-x);  dx += dy y (1 - y)
Var sigmoid(Var x) {
  return unary("sigmoid", x, [](real v) { return 1 / (1 + std::exp(-v)); },
               [](real, real y) { return y * (1 - y); });
}
// y = tanh x;  dx += dy (1 - y^2)
Var tanh(Var x) {
  return unary("tanh", x, [](real v) { return std::tanh(v); }, [](real, real y) { return 1 - y * y; });
}
// y = max(x, 0);  dx += dy [x > 0]
// Written out (no `unary`): the CIFAR-10 net runs it on (128,16,32,32) activations, so both
// passes run in parallel over fixed blocks of kReluBlock entries (each entry on its own: the
// same bits at any thread count), and backward reads only y and dy (y > 0 exactly when x > 0).
constexpr size_t kReluBlock = 1 << 15;  // entries per parallel block (128 KB of floats)

static int relu_blocks(size_t n) { return (int)((n + kReluBlock - 1) / kReluBlock); }

Var relu(Var x) {
  const Tensor& X = x.value();
  Tensor y(X.shape());
  const size_t n = X.size();
  parallel_for(relu_blocks(n), [&](int blk) {
    const real* xp = X.data();
    real* yp = y.data();
    for (size_t i = blk * kReluBlock, e = std::min(n, i + kReluBlock); i < e; i++) yp[i] = xp[i] > 0 ? xp[i] : 0;
  });
  return x.tape->record("relu", std::move(y), {x}, [](BackwardCtx& c) {
    if (!c.dx[0]) return;
    const size_t n = c.y.size();
    parallel_for(relu_blocks(n), [&](int blk) {
      const real *yp = c.y.data(), *g = c.dy.data();
      real* d = c.dx[0]->data();
      for (size_t i = blk * kReluBlock, e = std::min(n, i + kReluBlock); i < e; i++) d[i] += g[i] * real(yp[i] > 0);
    });
  });
}


// y = log(1 + e^x), computed as max(x, 0) + log(1 + e^-|x|) so that e^x never overflows.
// dy/dx = e^x / (1 + e^x) = sigmoid(x);  dx += dy sigmoid(x).
// Written out in full (no `unary` helper): this is the worked example of the README.
Var softplus(Var x) {
  const Tensor& X = x.value();
  Tensor y(X.shape());
  for (size_t i = 0; i < X.size(); i++) y[i] = std::max(X[i], real(0)) + std::log1p(std::exp(-std::fabs(X[i])));
  return x.tape->record("softplus", std::move(y), {x}, [](BackwardCtx& c) {
    if (!c.dx[0]) return;  // the input needs no gradient
    const Tensor& X = *c.x[0];
    Tensor& dX = *c.dx[0];
    for (size_t i = 0; i < X.size(); i++) dX[i] += c.dy[i] / (1 + std::exp(-X[i]));  // add, never assign
  });
}

}  // namespace l2l
