// init.h: parameter initializers. Each returns a fresh Tensor drawn from an explicit Rng, so
// the same seed and the same order of calls give the same bits on every machine.
//
// Fan conventions (used by glorot_uniform): a matrix is stored (in, out) as in Linear
// (y = x W), so fan_in = shape[0], fan_out = shape[1]; a conv kernel is (O, C, K, K), so
// fan_in = C K K and fan_out = O K K.
// Is not: a registry of schemes; callers pick one and may overwrite Param::value freely.
#pragma once
#include <cmath>
#include <stdexcept>
#include <utility>

#include "autodiff/tensor.h"
#include "nn/rng.h"

namespace l2l::init {

// Every entry 0.
inline Tensor zeros(const Shape& shape) { return Tensor::zeros(shape); }

// Every entry ~ N(0, std^2).
inline Tensor normal(const Shape& shape, Rng& rng, double std) { return randn(shape, rng, std); }

// Every entry ~ N(0, std^2) conditioned on |value| <= 2 std (out-of-range draws are redrawn),
// as TensorFlow's truncated_normal, which Sonnet's default initializers use.
inline Tensor truncated_normal(const Shape& shape, Rng& rng, double std) {
  Tensor t(shape);
  for (size_t i = 0; i < t.size(); i++) {
    double v;
    do v = rng.normal(); while (std::fabs(v) > 2);
    t[i] = (real)(std * v);
  }
  return t;
}

// Every entry ~ U[lo, hi).
inline Tensor uniform(const Shape& shape, Rng& rng, double lo, double hi) { return randu(shape, rng, lo, hi); }

// (fan_in, fan_out) of a weight of this shape, see the conventions above.
inline std::pair<double, double> fans(const Shape& s) {
  if (s.size() == 2) return {(double)s[0], (double)s[1]};
  if (s.size() == 4) return {(double)s[1] * s[2] * s[3], (double)s[0] * s[2] * s[3]};
  throw std::invalid_argument("[init::fans] needs an (in,out) matrix or an (O,C,K,K) kernel, got " + shape_str(s));
}

// Glorot & Bengio (2010), "Xavier uniform": U[-a, a] with a = sqrt(6 / (fan_in + fan_out)),
// which keeps the variance of activations and of gradients roughly constant across layers.
inline Tensor glorot_uniform(const Shape& shape, Rng& rng) {
  auto [fi, fo] = fans(shape);
  double a = std::sqrt(6.0 / (fi + fo));
  return uniform(shape, rng, -a, a);
}

}  // namespace l2l::init
