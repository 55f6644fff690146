// task.h: the paper's "distribution of functions". A Task samples Problems; a Problem is one
// function f(theta) to optimize, with its initial point and (for MNIST/CIFAR) its minibatches.
//
// Which problem is named by a ProblemId: the split it belongs to (training, validation or test
// problems, never shared) and its index there. Every optimizer that runs problem (split, i)
// meets exactly the same function, theta_0 and minibatches. problem_instance(task, id) is the one
// place that turns an id into a problem with its theta_0 and its minibatch stream; training,
// validation, tuning and testing all go through it.
//
// theta is always ONE flat vector of N coordinates, the concatenation of the optimizee's
// tensors in the order of specs(). The learned optimizer is coordinatewise, so a flat vector
// is all it needs; the Problem itself cuts theta back into tensors (nn's ThetaSlices) to
// compute f. Tensors belong to groups (specs()[k].group): one optimizer net per group, so a
// problem can be shared by several nets (CIFAR: conv parameters vs the rest). Groups are
// contiguous ranges of theta, in increasing group order; the specs are their source (and
// Task::groups() must count the same: the learned optimizer refuses a mismatch when it lays out
// its state).
//
// To everything above it a Problem is an ORACLE: loss_and_grad(theta) -> {f, grad}, computed
// on the problem's own scratch tape, which is cleared before it returns. Meta-training puts
// only the two numbers on its tape (frozen_loss, autodiff/ops.h), never f's graph.
//
// Is not: an optimizer, a training loop (tasks/meta_train.h), data loading (tasks/data/), or
// the optimizees themselves (tasks/optimizees/optimizees.h).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "autodiff/ops.h"
#include "nn/module.h"
#include "nn/rng.h"

namespace l2l {

// The three disjoint sets of problems: meta-training draws training problems, early stopping
// and the baselines' learning-rate tuning use validation problems, every reported curve uses
// test problems.
enum class Split { train, val, test };
const char* split_name(Split s);  // "train", "val", "test"

// Problem `index` of `split`. Training problems also depend on the run's seed (--seed picks
// another sequence of training problems); validation and test problems are fixed.
//
// Seeds. The id maps to one number, seed() (the ranges never overlap; train_base < 2^40):
//   train i -> train_base(run_seed) + i     val j -> 2^40 + j     test k -> 2^41 + k
// and from it come three random streams that no other problem shares: the function from 3 seed,
// theta_0 from 3 seed + 1, the minibatches from 3 seed + 2. (Not seed, seed + 1, seed + 2: problem
// i + 1 would reuse problem i's.)
struct ProblemId {
  Split split = Split::test;
  uint64_t index = 0;
  uint64_t run_seed = 0;  // training problems only; ignored for validation and test

  static ProblemId train(uint64_t i, uint64_t run_seed) { return {Split::train, i, run_seed}; }
  static ProblemId val(uint64_t j) { return {Split::val, j, 0}; }
  static ProblemId test(uint64_t k) { return {Split::test, k, 0}; }

  uint64_t seed() const;
  uint64_t function_seed() const { return 3 * seed(); }  // what Task::sample draws the function from
  uint64_t init_seed() const { return 3 * seed() + 1; }
  uint64_t batch_seed() const { return 3 * seed() + 2; }
};

struct LossAndGrad {
  real f = 0;   // f(theta)
  Tensor grad;  // df/dtheta (N)
};

class Problem {
 public:
  virtual ~Problem() = default;
  virtual std::vector<TensorSpec> specs() const = 0;
  virtual Tensor init(Rng& rng) const = 0;  // theta_0, flat (N)
  // f(theta) as a scalar Var recorded on `tape`. `batch_rng` draws the minibatch where the
  // problem has one (MNIST: a fresh minibatch per call); deterministic problems ignore it.
  virtual Var loss(Tape& tape, Var theta, Rng& batch_rng) = 0;
  // Extra evaluation of a final theta (e.g. whole-test-set loss and accuracy): name -> value.
  virtual std::vector<std::pair<std::string, double>> final_metrics(const Tensor& /*theta*/) { return {}; }

  // The oracle: f(theta) and its gradient from one call of loss() (one minibatch draw) on the
  // scratch tape, which is cleared before returning (nothing of f's graph outlives the call).
  // Virtual so that a problem may compute both by hand where the tape's bookkeeping dominates
  // (the quadratics); loss() then stays the readable reference, and the tests compare the two
  // (Problem::loss_and_grad, qualified, is the tape path).
  virtual LossAndGrad loss_and_grad(const Tensor& theta, Rng& batch_rng);
  // f(theta) alone: the same draw, recorded without a graph.
  virtual real loss_value(const Tensor& theta, Rng& batch_rng);

  size_t dim() const;  // N, the number of coordinates

 private:
  Tape scratch_;  // kept between calls so its node list keeps its capacity
};

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;
  // The function of problem `id` (its theta_0 and minibatches come from problem_instance). A
  // Task draws what varies between its problems from id.function_seed(), and may look at
  // id.split (MNIST's test problems draw minibatches from the test images).
  virtual std::unique_ptr<Problem> sample(const ProblemId& id) const = 0;
  // How many groups (learned-optimizer nets) its problems have: 1 + the largest spec .group.
  virtual int groups() const { return 1; }
  virtual std::string describe() const { return name(); }  // one line with the settings
};

// A problem ready to run: the function, its theta_0, and its minibatch generator.
struct ProblemInstance {
  std::unique_ptr<Problem> problem;
  Tensor theta0;
  Rng batch_rng;
};
ProblemInstance problem_instance(const Task& task, const ProblemId& id);

}  // namespace l2l
