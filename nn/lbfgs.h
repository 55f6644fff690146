// lbfgs.h: limited-memory BFGS (L-BFGS) with a backtracking Armijo line search, written by hand
// like the baselines of nn/optim.h. The math follows Nocedal & Wright, Numerical Optimization,
// 2nd ed., ch. 3 (line search, interpolation), ch. 6 (BFGS) and ch. 7.2 (L-BFGS).
//
// Is: an Optimizer that runs OFF the tape (plain loops over doubles; nothing records a node).
//     Unlike sgd/adam it needs function values beyond the one gradient per step, so its real
//     entry point is step_with_oracle(x, f, g, oracle); step(params, grads) without an oracle
//     throws. tasks/evaluate.cpp gives it an oracle that evaluates every line-search trial on
//     the SAME minibatch as the step's gradient (a copy of the batch Rng taken before that
//     gradient was drawn), so (s, y) pairs and Armijo tests compare values of one function.
// Is not: a strong-Wolfe line search, bound constraints (L-BFGS-B), or a stochastic
//     quasi-Newton method with its own variance control.
//
// One iteration k, from x_k with f_k = f(x_k), g_k = grad f(x_k) (given by the caller):
//   1. ||g_k|| == 0: stop (nothing moves, no evaluation).
//   2. Direction d = -H_k g_k by the two-loop recursion over the last m pairs (s_i, y_i),
//      s_i = x_{i+1} - x_i, y_i = g_{i+1} - g_i, rho_i = 1 / y_i's_i:
//        q = g;  for i = newest..oldest: a_i = rho_i s_i'q;  q -= a_i y_i
//        r = gamma q,  gamma = s'y / y'y of the newest pair   (H_0 = gamma I, N&W eq. 7.20)
//        for i = oldest..newest: b = rho_i y_i'r;  r += (a_i - b) s_i
//        d = -r
//      With no pairs (first iteration, or after a reset) d = -g: steepest descent. If d is not
//      a descent direction (g'd >= 0, only from rounding), the history is dropped and d = -g.
//   3. Backtracking line search on phi(a) = f(x + a d), phi'(0) = g'd < 0. First trial a = 1
//      when there are pairs (gamma scales d), else a = initial_step / ||g|| (the first step
//      moves x by initial_step). Accept the first trial with a finite f, a finite gradient and
//        phi(a) <= phi(0) + c1 a phi'(0)                  (Armijo, sufficient decrease)
//      Otherwise: non-finite f or gradient -> a *= 0.1 (shrink; no interpolation through inf);
//      finite -> the minimizer of the quadratic through phi(0), phi'(0), phi(a) (2nd trial) or
//      of the cubic through phi(0), phi'(0) and the last two trials (later trials, N&W eq.
//      3.58), safeguarded into [0.1 a, 0.5 a]. After max_trials rejected trials the iteration
//      fails: x stays, the history is dropped (the next iteration is steepest descent).
//   4. Curvature: with s = x_{k+1} - x_k (as stored, after rounding to `real`) and
//      y = g(x_{k+1}) - g_k (both gradients on the same minibatch), the pair is stored only if
//        s'y > curvature_eps * ||s|| ||y||
//      (a scale-free test: the cosine of the angle between s and y). A skipped pair keeps H
//      positive definite; Armijo alone does not guarantee s'y > 0, the Wolfe curvature
//      condition would.
//
// Why backtracking Armijo and not strong Wolfe: each trial here costs a full forward and
// backward pass (the oracle always returns the gradient), and with the gamma scaling the unit
// step is accepted at the first trial on almost every iteration (measured: 1.02 trials per
// iteration over 100 test quadratics of Figure 4 left; 20 evaluations for 19 iterations on the
// test's 10-d quadratic, 48 for 41 on Rosenbrock), so a Wolfe search would mostly add
// evaluations to enforce s'y > 0, which the curvature skip handles. The price: no finite
// termination on quadratics (that needs exact line searches), only fast superlinear
// convergence; the tests state the iteration counts observed.
#pragma once
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "nn/optim.h"

namespace l2l {

struct LbfgsOptions {
  int history = 10;             // m, pairs kept (>= 1)
  double initial_step = 1.0;    // length of the first trial step when there is no history (> 0)
  double c1 = 1e-4;             // Armijo constant, 0 < c1 < 1
  int max_trials = 30;          // function evaluations per line search before it fails (>= 1)
  double curvature_eps = 1e-10; // store (s, y) only if s'y > curvature_eps ||s|| ||y|| (>= 0)
};

// What one iteration did (the last one is kept in Lbfgs::last()).
struct LbfgsStep {
  int evals = 0;                // oracle calls made by the line search
  double step = 0;              // accepted a (0 if none)
  double f = 0;                 // f at the new point (the old f if nothing moved)
  bool moved = false;           // a trial was accepted and x changed
  bool zero_gradient = false;   // ||g|| == 0: stopped without evaluating
  bool steepest = false;        // d = -g (no history, or history dropped)
  bool stored_pair = false;     // (s, y) went into the history
  bool skipped_pair = false;    // moved, but s'y failed the curvature test
  bool failed = false;          // no trial accepted within max_trials (history dropped)
};

class Lbfgs : public Optimizer {
 public:
  // f at x, with its gradient written into grad (resized by the callee as needed).
  using Oracle = std::function<double(const Tensor& x, Tensor& grad)>;

  explicit Lbfgs(const LbfgsOptions& o = {});
  std::string name() const override { return "lbfgs"; }
  // Throws std::logic_error: L-BFGS needs an oracle (step_with_oracle).
  void step(std::vector<Tensor*>& params, const std::vector<Tensor>& grads) override;
  void reset() override;

  // One iteration from x (flat) with f = f(x), g = grad f(x); updates x in place. Throws
  // std::invalid_argument for bad options or a g whose size differs from x's.
  LbfgsStep step_with_oracle(Tensor& x, double f, const Tensor& g, const Oracle& oracle);

  // d = -H g by the two-loop recursion (d = -g with no history). Exposed for tests.
  std::vector<double> direction(const std::vector<double>& g) const;

  int pairs() const { return (int)s_.size(); }
  const LbfgsStep& last() const { return last_; }
  int64_t iterations() const { return iterations_; }
  int64_t evaluations() const { return evaluations_; }  // oracle calls since reset()

  LbfgsOptions opt;

 private:
  void store_pair(std::vector<double> s, std::vector<double> y, LbfgsStep& info);
  std::deque<std::vector<double>> s_, y_;  // oldest first
  std::deque<double> rho_;                 // 1 / y_i's_i
  LbfgsStep last_;
  int64_t iterations_ = 0, evaluations_ = 0;
};

// Checks the options (std::invalid_argument naming the bad one); the constructor and every
// step call it.
void check_lbfgs_options(const LbfgsOptions& o);

}  // namespace l2l
