// rng.h: the one random number generator of l2l, seeded explicitly everywhere.
//
// xoshiro256** (Blackman & Vigna) seeded through splitmix64. Every stream of the project is
// made from a seed (tasks/evaluate.h says which), so no Rng state is ever saved: --resume
// restarts the streams from their seeds (meta-training counts its training problems). Normal
// samples use Box-Muller written here, not std::normal_distribution, whose output differs
// between standard libraries: the same seed gives the same bits on every machine.
// Is not: cryptographic, or thread-safe (one Rng per thread or per use).
#pragma once
#include <array>
#include <cmath>
#include <cstdint>

#include "autodiff/tensor.h"

namespace l2l {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { reseed(seed); }
  void reseed(uint64_t seed) {
    for (auto& w : s_) {  // splitmix64
      seed += 0x9e3779b97f4a7c15ULL;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      w = z ^ (z >> 31);
    }
  }
  uint64_t next() {
    uint64_t r = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return r;
  }
  double uniform() { return (next() >> 11) * 0x1.0p-53; }            // [0, 1)
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  uint64_t below(uint64_t n) { return next() % n; }                   // [0, n); bias < 2^-40 for our n
  double normal() {                                                   // N(0, 1), Box-Muller
    double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<uint64_t, 4> s_{};
};

// Tensors filled from an Rng.
inline Tensor randn(const Shape& shape, Rng& rng, double std = 1.0) {
  Tensor t(shape);
  for (size_t i = 0; i < t.size(); i++) t[i] = (real)(std * rng.normal());
  return t;
}
inline Tensor randu(const Shape& shape, Rng& rng, double lo, double hi) {
  Tensor t(shape);
  for (size_t i = 0; i < t.size(); i++) t[i] = (real)rng.uniform(lo, hi);
  return t;
}

}  // namespace l2l
