// scaled_task.cpp: the random-scaling Task wrapper of scaled_task.h.
#include "tasks/optimizees/scaled_task.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace l2l {

double random_scale_factor(const ProblemId& id, double s) {
  if (s == 0 || id.split != Split::train) return 1;
  Rng rng(id.function_seed() ^ 0x5ca1ab1e0ddba11ULL);  // a stream no problem uses for anything else
  return std::exp(rng.uniform(-s, s));
}

namespace {

class ScaledProblem : public Problem {
 public:
  ScaledProblem(std::unique_ptr<Problem> inner, double c) : inner_(std::move(inner)), c_(c) {}
  std::vector<TensorSpec> specs() const override { return inner_->specs(); }
  Tensor init(Rng& rng) const override { return inner_->init(rng); }
  Var loss(Tape& tape, Var theta, Rng& batch_rng) override { return scale(inner_->loss(tape, theta, batch_rng), (real)c_); }
  std::vector<std::pair<std::string, double>> final_metrics(const Tensor& theta) override {
    return inner_->final_metrics(theta);  // the unscaled problem's: they describe the model
  }

 private:
  std::unique_ptr<Problem> inner_;
  double c_;
};

class RandomlyScaledTask : public Task {
 public:
  RandomlyScaledTask(std::unique_ptr<Task> inner, double s) : inner_(std::move(inner)), s_(s) {}
  std::string name() const override { return inner_->name(); }
  std::string describe() const override {
    std::ostringstream d;
    d << inner_->describe() << "; training problems' f x exp(U(-" << s_ << ", " << s_ << ")) (random scaling)";
    return d.str();
  }
  std::unique_ptr<Problem> sample(const ProblemId& id) const override {
    std::unique_ptr<Problem> p = inner_->sample(id);
    return id.split == Split::train ? scale_problem(std::move(p), random_scale_factor(id, s_)) : std::move(p);
  }
  int groups() const override { return inner_->groups(); }

 private:
  std::unique_ptr<Task> inner_;
  double s_;
};

}  // namespace

std::unique_ptr<Problem> scale_problem(std::unique_ptr<Problem> inner, double c) {
  if (!std::isfinite(c) || !(c > 0)) throw std::invalid_argument("[scale_problem] c must be finite and > 0");
  return std::make_unique<ScaledProblem>(std::move(inner), c);
}

std::unique_ptr<Task> make_randomly_scaled_task(std::unique_ptr<Task> inner, double s) {
  if (!std::isfinite(s) || s < 0 || s > 20)
    throw std::invalid_argument("flag --random-scale must be in [0, 20] (c = exp(U(-s, s)); 0 = off), got " + std::to_string(s));
  if (s == 0) return inner;
  return std::make_unique<RandomlyScaledTask>(std::move(inner), s);
}

}  // namespace l2l
