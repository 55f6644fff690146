// evaluate.h: run optimizers on freshly sampled problems and tune the baselines.
//
// Seeds. Problem i of a split is sampled from a fixed seed, so every optimizer sees exactly the
// same functions, initial points and minibatches:
//   train i -> train_base + i   (train_base depends on the run's --seed)
//   val j   -> 2^40 + j         (fixed: validation and learning-rate tuning)
//   test k  -> 2^41 + k         (fixed: the reported curves)
// The ranges never overlap (train_base < 2^40). From a problem seed s come three streams that
// no other problem shares (problem_instance): the function from seed 3s, theta_0 from 3s + 1,
// the minibatches from 3s + 2. (Not s, s + 1, s + 2: problem i + 1 would reuse problem i's.)
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nn/optim.h"
#include "tasks/task.h"

namespace l2l {

enum class Split { train, val, test };
uint64_t problem_seed(Split split, uint64_t index, uint64_t run_seed);

// The problem of seed s, with its theta_0 and its minibatch generator.
struct ProblemInstance {
  std::unique_ptr<Problem> problem;
  Tensor theta0;
  Rng batch_rng;
};
ProblemInstance problem_instance(const Task& task, uint64_t seed);

// How a run ended. Two different things, reported separately:
//   diverged           some f_t is not finite, or f_t > kExplodeFactor * f_0 (exploding)
//   ended_above_start  finite and not diverged, but f_T > f_0 (e.g. a run that sits on the
//                      ln 10 plateau of an MNIST net and ends a hair above where it began)
constexpr double kExplodeFactor = 1000;
struct RunResult {
  std::vector<double> loss;  // f(theta_0) .. f(theta_T): T + 1 values (inf after a non-finite f)
  std::vector<std::pair<std::string, double>> final_metrics;  // Problem::final_metrics(theta_T)
  bool diverged = false;
  bool ended_above_start = false;
  // Oracle calls (loss_and_grad) made before theta_t was reached, t = 0..T (T + 1 values, the
  // last one repeated after a non-finite f): t for the gradient-only optimizers, 1 + the
  // line-search trials per iteration for L-BFGS. The f recorded at theta_t is not counted.
  std::vector<double> evals;
};

// T steps of `opt` on the problem with seed `seed`, from fresh optimizer state (begin(specs)).
// The problem is used as an oracle: loss_and_grad at theta_0 .. theta_T-1, loss_value at theta_T.
// L-BFGS (nn/lbfgs.h): one step = one L-BFGS iteration, so its curve has the same T + 1 points
// at the same kind of theta_t as the others; its line search gets an oracle that evaluates
// every trial on the minibatch of that step's gradient (a copy of the batch Rng from before
// the draw), and RunResult::evals counts the extra calls.
RunResult run_optimizer(Optimizer& opt, const Task& task, uint64_t seed, int steps, bool with_final_metrics = false);

struct Curves {
  std::string name;
  std::vector<std::vector<double>> runs;  // [problem][step]
  std::vector<std::vector<std::pair<std::string, double>>> finals;
  std::vector<double> mean() const;       // per step, over problems (inf if a run diverged)
  std::vector<double> stddev() const;
  int diverged = 0, ended_above_start = 0;  // runs of each kind (see RunResult)
  std::vector<std::vector<double>> evals;  // [problem][step], RunResult::evals
  std::vector<double> mean_evals() const;  // per step, over problems
};

// `after_run(k)` (if given) is called after the k-th finished run: progress reporting.
Curves evaluate(Optimizer& opt, const Task& task, Split split, int problems, int steps, bool with_final_metrics,
                uint64_t run_seed = 0, const std::function<void(int)>& after_run = nullptr);

// Tuning the baselines' learning rates: tasks/tuning.h.

}  // namespace l2l
