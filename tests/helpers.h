// helpers.h: small utilities shared by the test suites (random tensors, comparisons, the
// gradcheck assertion). The tasks and nets several suites share: tests/fixtures.h.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>
#include <random>
#include <stdexcept>

#include "autodiff/gradcheck.h"
#include "autodiff/parallel.h"
#include "autodiff/ops.h"
#include "doctest/doctest.h"

namespace l2l::test {

// Normal(0, s) entries, reproducible from `seed`.
inline Tensor randn(const Shape& shape, uint64_t seed, double s = 1) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n(0, s);
  Tensor t(shape);
  for (size_t i = 0; i < t.size(); i++) t[i] = (real)n(rng);
  return t;
}

// Uniform in [lo, hi].
inline Tensor randu(const Shape& shape, uint64_t seed, double lo, double hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  Tensor t(shape);
  for (size_t i = 0; i < t.size(); i++) t[i] = (real)u(rng);
  return t;
}

// Normal entries pushed at least `gap` away from zero (for relu, abs: no kinks in reach of eps).
inline Tensor randn_away_from_zero(const Shape& shape, uint64_t seed, double gap = 0.1) {
  Tensor t = randn(shape, seed);
  for (size_t i = 0; i < t.size(); i++) t[i] += (real)(t[i] >= 0 ? gap : -gap);
  return t;
}

// Random shape with `nd` dimensions, each in [1, maxd].
inline Shape random_shape(int nd, uint64_t seed, int maxd = 5) {
  std::mt19937_64 rng(seed);
  Shape s(nd);
  for (int& d : s) d = 1 + (int)(rng() % maxd);
  return s;
}

// Puts the engine's thread count back as it was when the test ends (tests that compare 1 and 2
// threads set it).
struct ThreadsRestored {
  int threads = num_threads();
  ~ThreadsRestored() { set_num_threads(threads); }
};

// The same shape and the same bits (NaN payloads and -0 included).
inline bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && (a.size() == 0 || std::memcmp(a.data(), b.data(), a.size() * sizeof(real)) == 0);
}

// The largest |a - b| over the entries; a and b must have one shape.
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (size_t i = 0; i < a.size(); i++) m = std::max(m, (double)std::fabs(a[i] - b[i]));
  return m;
}

// The whole file at `path`, bytes as they are ("" when it cannot be read).
inline std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// The message of the std::runtime_error that f() throws, or "" if it throws none.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
struct TempDir {
  std::filesystem::path dir;
  TempDir() {
    static int counter = 0;
    dir = std::filesystem::temp_directory_path() /
          ("l2l_test_" + std::to_string((long)getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (dir / name).string(); }
  int entries() const {
    return (int)std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator());
  }
};

#define CHECK_GRADS(f, inputs, ...)                                           \
  do {                                                                        \
    auto r_ = ::l2l::gradcheck(f, inputs, ##__VA_ARGS__);                     \
    INFO(r_.report);                                                          \
    CHECK(r_.ok);                                                             \
    CHECK(r_.checks > 0);                                                     \
  } while (0)

}  // namespace l2l::test
