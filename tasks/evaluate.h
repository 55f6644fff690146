// evaluate.h: run optimizers on problems of a split and collect their curves.
//
// Every optimizer runs the same problems (ProblemId, tasks/task.h): the same functions, initial
// points and minibatches, so their curves compare problem by problem.
// Is not: meta-training (tasks/meta_train.h) or the baselines' tuning (tasks/tuning.h).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nn/optim.h"
#include "tasks/task.h"

namespace l2l {

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

// T steps of `opt` on problem `id`, from fresh optimizer state (begin(specs)).
// The problem is used as an oracle: loss_and_grad at theta_0 .. theta_T-1, loss_value at theta_T.
// L-BFGS (nn/lbfgs.h): one step = one L-BFGS iteration, so its curve has the same T + 1 points
// at the same kind of theta_t as the others; its line search gets an oracle that evaluates
// every trial on the minibatch of that step's gradient (a copy of the batch Rng from before
// the draw), and RunResult::evals counts the extra calls.
RunResult run_optimizer(Optimizer& opt, const Task& task, const ProblemId& id, int steps, bool with_final_metrics = false);

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

// The score the paper's claims are read on, "the loss at the last steps": the mean of f over the
// last kFinalSteps points of a run, f_{T-9} .. f_T (all T+1 points if T < 9). One definition for
// the baselines' tuning (tasks/tuning.h), early stopping (tasks/meta_train.h) and the verdicts
// (tasks/verdict.h): a single f_T is one minibatch's loss, several times noisier on MNIST.
// +inf if one of those f is not finite.
constexpr int kFinalSteps = 10;
double final_score(const std::vector<double>& loss);

// Problems 0 .. problems-1 of `split` (training problems of run seed `run_seed`).
// `after_run(k)` (if given) is called after the k-th finished run: progress reporting.
Curves evaluate(Optimizer& opt, const Task& task, Split split, int problems, int steps, bool with_final_metrics,
                uint64_t run_seed = 0, const std::function<void(int)>& after_run = nullptr);

// Tuning the baselines' learning rates: tasks/tuning.h.

}  // namespace l2l
