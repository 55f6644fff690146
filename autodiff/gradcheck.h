// gradcheck.h: compare the engine's gradients with central finite differences.
//
// Meaningful in double (the test build defines L2L_DOUBLE). For an op y = f(x_1..x_k) the
// check projects the output on a fixed random tensor R, L(x) = <R, f(x)>, so every output
// entry matters, then compares dL/dx_i from the tape with
//   (L(x + eps e_j) - L(x - eps e_j)) / (2 eps)         elementwise, for small inputs, or
//   (L(x + eps v) - L(x - eps v)) / (2 eps) vs <dL/dx, v> along random directions v (big inputs).
// It also checks that gradients accumulate (a second backward doubles them) and are finite.
// Pick inputs away from kinks (relu and abs at 0, clamp bounds, max-pool ties).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tape.h"

namespace l2l {

struct GradcheckOptions {
  double eps = 1e-6;
  double rtol = 1e-5;            // |num - ana| <= atol + rtol * max(|num|, |ana|)
  double atol = 1e-7;            // rounding in L(x +- eps) is ~1e-16 |L| / eps
  size_t max_elementwise = 200;  // inputs bigger than this are checked along random directions
  int directions = 8;
  uint64_t seed = 0x5eed0f6c4ecc;  // not a small number: tests draw their inputs from small seeds
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_err = 0;
  int checks = 0;       // number of derivatives compared
  std::string report;   // first failures: input, index or direction, expected, actual
};

// f records a computation on `tape` from the input Vars and returns its output (any shape).
using GradcheckFn = std::function<Var(Tape& tape, const std::vector<Var>& inputs)>;
GradcheckResult gradcheck(const GradcheckFn& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& opt = {});

// For the Params of a module, see nn/gradcheck_params.h (the same checker, Params as inputs).

}  // namespace l2l
