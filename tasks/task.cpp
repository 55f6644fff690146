// task.cpp: what every Problem shares (its size and the oracle around loss()), and how a
// ProblemId becomes a problem. See task.h.
#include "tasks/task.h"

namespace l2l {

const char* split_name(Split s) {
  switch (s) {
    case Split::train: return "train";
    case Split::val: return "val";
    case Split::test: return "test";
  }
  return "?";
}

uint64_t ProblemId::seed() const {
  switch (split) {
    case Split::train: return ((run_seed * 0x9e3779b97f4a7c15ULL) & ((1ULL << 39) - 1)) + index % (1ULL << 39);
    case Split::val: return (1ULL << 40) + index;
    case Split::test: return (1ULL << 41) + index;
  }
  return 0;
}

ProblemInstance problem_instance(const Task& task, const ProblemId& id) {
  ProblemInstance pi{task.sample(id), Tensor(), Rng(id.batch_seed())};
  Rng init_rng(id.init_seed());
  pi.theta0 = pi.problem->init(init_rng);
  return pi;
}

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

}  // namespace l2l
