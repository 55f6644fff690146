// task.cpp: what every Problem shares: its size and the oracle around loss(). See task.h.
#include "tasks/task.h"

#include <algorithm>

namespace l2l {

size_t Problem::dim() const {
  size_t n = 0;
  for (const TensorSpec& s : specs()) n += shape_numel(s.shape);
  return n;
}

// theta becomes the one leaf that wants a gradient; Tape::grad sweeps only [theta, f] and
// returns d f / d theta as a plain tensor.
LossAndGrad Problem::loss_and_grad(const Tensor& theta, Rng& batch_rng) {
  scratch_.clear();
  Var th = scratch_.leaf(theta, true);
  Var f = loss(scratch_, th, batch_rng);
  LossAndGrad r{f.item(), std::move(scratch_.grad(f, {th})[0])};
  scratch_.clear();
  return r;
}

real Problem::loss_value(const Tensor& theta, Rng& batch_rng) {
  NoGradGuard values_only;
  scratch_.clear();
  real f = loss(scratch_, scratch_.constant(theta), batch_rng).item();
  scratch_.clear();
  return f;
}

int num_groups(const Task& task) {
  int g = 0;
  for (const TensorSpec& s : task.sample(0)->specs()) g = std::max(g, s.group + 1);
  return g;
}

}  // namespace l2l
