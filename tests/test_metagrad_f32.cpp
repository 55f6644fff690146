// test_metagrad_f32.cpp (double build): the meta-gradient the programs compute (float32: sgemm,
// the own GEMM kernel, the vectorized exp, the blocked cell) against the same window in double.
// `make test` first has the float32 test binary write its gradient to $L2L_METAGRAD_OUT.
// Tolerance: per tensor, ||g32 - g64|| <= 1e-4 ||g64|| (20 unrolled steps of a float32 LSTM and
// optimizee; measured 3.6e-7 on this machine, see the MESSAGE).
#include <cmath>
#include <cstdlib>

#include "doctest/doctest.h"
#include "tests/metagrad_window.h"

TEST_CASE("float32 meta-gradient of one MNIST window agrees with double" * doctest::skip()) {
  const char* in = std::getenv("L2L_METAGRAD_OUT");
  REQUIRE_MESSAGE(in, "set L2L_METAGRAD_OUT to the float32 binary's output (make test does)");
  l2l::Checkpoint f32 = l2l::load_checkpoint(in);
  l2l::NamedTensors f64 = l2l::test::mnist_window_metagrad();
  REQUIRE(f32.tensors.size() == f64.size());
  double worst = 0;
  for (size_t k = 0; k < f64.size(); k++) {
    CAPTURE(f64[k].first);
    REQUIRE(f32.tensors[k].first == f64[k].first);
    const l2l::Tensor &a = f32.tensors[k].second, &b = f64[k].second;
    REQUIRE(a.size() == b.size());
    double diff = 0, norm = 0;
    for (size_t i = 0; i < a.size(); i++) diff += (a[i] - b[i]) * (a[i] - b[i]), norm += b[i] * b[i];
    double rel = std::sqrt(diff / norm);
    worst = std::max(worst, rel);
    CHECK(norm > 0);
    CHECK(rel <= 1e-4);
  }
  MESSAGE("worst relative difference of a meta-gradient tensor, float32 vs double: " << worst);
}
