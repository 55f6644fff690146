// evaluate.cpp: see evaluate.h.
#include "tasks/evaluate.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "nn/lbfgs.h"

namespace l2l {

RunResult run_optimizer(Optimizer& opt, const Task& task, const ProblemId& id, int steps, bool with_final_metrics) {
  ProblemInstance pi = problem_instance(task, id);
  Problem& prob = *pi.problem;
  Tensor theta = std::move(pi.theta0);
  opt.begin(prob.specs());
  Lbfgs* lbfgs = dynamic_cast<Lbfgs*>(&opt);
  RunResult r;
  double evals = 0;
  for (int t = 0; t <= steps; t++) {
    LossAndGrad o;
    const Rng step_batch = pi.batch_rng;  // the state that draws this step's minibatch
    r.evals.push_back(evals);
    if (t < steps) o = prob.loss_and_grad(theta, pi.batch_rng), evals++;
    else o.f = prob.loss_value(theta, pi.batch_rng);  // the last point needs no gradient
    double fv = o.f;
    if (!std::isfinite(fv)) {
      r.diverged = true;
      r.loss.resize(steps + 1, std::numeric_limits<double>::infinity());
      r.evals.resize(steps + 1, evals);
      break;
    }
    r.loss.push_back(fv);
    r.diverged = r.diverged || fv > kExplodeFactor * std::max(r.loss.front(), 1e-30);
    if (t == steps) break;
    if (lbfgs) {
      auto same_minibatch = [&](const Tensor& x, Tensor& g) {
        Rng batch = step_batch;
        LossAndGrad trial = prob.loss_and_grad(x, batch);
        g = std::move(trial.grad);
        return (double)trial.f;
      };
      evals += lbfgs->step_with_oracle(theta, fv, o.grad, same_minibatch).evals;
      continue;
    }
    std::vector<Tensor*> ps = {&theta};
    opt.step(ps, {o.grad});
  }
  r.ended_above_start = !r.diverged && r.loss.back() > r.loss.front();
  if (with_final_metrics && std::isfinite(r.loss.back())) r.final_metrics = prob.final_metrics(theta);
  return r;
}

double final_score(const std::vector<double>& loss) {
  const size_t n = std::min<size_t>(kFinalSteps, loss.size());
  double s = 0;
  for (size_t t = loss.size() - n; t < loss.size(); t++) {
    if (!std::isfinite(loss[t])) return std::numeric_limits<double>::infinity();
    s += loss[t];
  }
  return n ? s / n : std::numeric_limits<double>::infinity();
}

std::vector<double> Curves::mean() const {
  std::vector<double> m(runs.empty() ? 0 : runs[0].size(), 0);
  for (const auto& r : runs)
    for (size_t t = 0; t < m.size(); t++) m[t] += r[t] / runs.size();
  return m;
}

std::vector<double> Curves::mean_evals() const {
  std::vector<double> m(evals.empty() ? 0 : evals[0].size(), 0);
  for (const auto& r : evals)
    for (size_t t = 0; t < m.size(); t++) m[t] += r[t] / evals.size();
  return m;
}

std::vector<double> Curves::stddev() const {
  std::vector<double> m = mean(), s(m.size(), 0);
  for (const auto& r : runs)
    for (size_t t = 0; t < m.size(); t++) s[t] += (r[t] - m[t]) * (r[t] - m[t]) / runs.size();
  for (double& v : s) v = std::sqrt(v);
  return s;
}

Curves evaluate(Optimizer& opt, const Task& task, Split split, int problems, int steps, bool with_final_metrics,
                uint64_t run_seed, const std::function<void(int)>& after_run) {
  Curves c;
  c.name = opt.name();
  for (int i = 0; i < problems; i++) {
    RunResult r = run_optimizer(opt, task, ProblemId{split, (uint64_t)i, run_seed}, steps, with_final_metrics);
    c.diverged += r.diverged;
    c.ended_above_start += r.ended_above_start;
    if (after_run) after_run(i + 1);
    c.runs.push_back(std::move(r.loss));
    c.evals.push_back(std::move(r.evals));
    c.finals.push_back(std::move(r.final_metrics));
  }
  return c;
}

}  // namespace l2l
