// quadratic.cpp: the 10-d quadratics of Figure 4 (left) and the 1-d sanity problem.
//
//   f(theta) = (1/B) sum_b ||W_b theta_b - y_b||^2,  W_b (d,d), y_b (d), theta_b (d)
//
// B functions are optimized at once (DeepMind's batching) and theta is their B*d coordinates.
// loss() records f on a tape (the batched product W_b theta_b as mul + sum over the last axis,
// broadcast (B,d,d) by (B,1,d)): the readable reference. The oracle the optimizers call,
// loss_and_grad, is written out instead (the tape's bookkeeping cost several times the
// arithmetic at d = 10):
//   r_b = W_b theta_b - y_b,  f = (1/B) sum_b ||r_b||^2,  grad_b = (2/B) W_b^T r_b
// tests/test_oracle.cpp checks that the two agree.
// Is not: a general least-squares solver; theta is only ever reached through the oracle.
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tasks/optimizees/optimizees.h"

namespace l2l {

namespace {

class QuadraticProblem : public Problem {
 public:
  QuadraticProblem(const QuadraticOptions& o, uint64_t seed) : o_(o), W_({o.batch, o.dims, o.dims}), y_({o.batch, o.dims}) {
    Rng rng(seed);
    for (size_t i = 0; i < W_.size(); i++) W_[i] = (real)(o.dm_variant ? rng.uniform() : rng.normal());
    for (size_t i = 0; i < y_.size(); i++) y_[i] = (real)(o.dm_variant ? rng.uniform() : rng.normal());
  }
  std::vector<TensorSpec> specs() const override { return {{"theta", {o_.batch, o_.dims}, 0}}; }
  Tensor init(Rng& rng) const override {
    return randn({o_.batch * o_.dims}, rng, o_.dm_variant ? 0.01 : 1.0);
  }
  Var loss(Tape& tape, Var theta, Rng&) override {
    Var x = reshape(theta, {o_.batch, 1, o_.dims});
    Var Wx = sum(mul(tape.constant(W_), x), 2);           // (B,d): W_b theta_b
    Var r = sub(Wx, tape.constant(y_));                    // (B,d)
    return scale(sum(square(r)), real(1) / o_.batch);      // mean over the B functions
  }
  LossAndGrad loss_and_grad(const Tensor& theta, Rng&) override {
    const int B = o_.batch, d = o_.dims;
    LossAndGrad out;
    out.f = residuals(theta);
    out.grad = Tensor({B * d});
    const real two_over_B = real(2) / B;
    for (int b = 0; b < B; b++) {  // grad_b = (2/B) W_b^T r_b: column j of W_b against r_b
      const real* W = W_.data() + (size_t)b * d * d;
      const real* r = r_.data() + (size_t)b * d;
      real* g = out.grad.data() + (size_t)b * d;
      for (int j = 0; j < d; j++) {
        real s = 0;
        for (int i = 0; i < d; i++) s += W[i * d + j] * r[i];
        g[j] = two_over_B * s;
      }
    }
    return out;
  }
  real loss_value(const Tensor& theta, Rng&) override { return residuals(theta); }

 private:
  // r_ = W_b theta_b - y_b for every b (B, d); returns f = (1/B) sum r^2 (summed in double).
  real residuals(const Tensor& theta) {
    const int B = o_.batch, d = o_.dims;
    if (theta.size() != (size_t)B * d)
      throw std::invalid_argument("quadratic: theta has " + std::to_string(theta.size()) + " coordinates, expected " +
                                  std::to_string(B * d));
    r_.resize((size_t)B * d);
    double f = 0;
    for (int b = 0; b < B; b++) {
      const real* W = W_.data() + (size_t)b * d * d;
      const real* th = theta.data() + (size_t)b * d;
      for (int i = 0; i < d; i++) {
        real s = 0;
        for (int j = 0; j < d; j++) s += W[i * d + j] * th[j];
        const real r = s - y_[(size_t)b * d + i];
        r_[(size_t)b * d + i] = r;
        f += (double)r * r;
      }
    }
    return (real)(f / B);
  }

  QuadraticOptions o_;
  Tensor W_, y_;
  std::vector<real> r_;  // the residuals of the last call (kept for its capacity)
};

class QuadraticTask : public Task {
 public:
  explicit QuadraticTask(const QuadraticOptions& o) : o_(o) {}
  std::string name() const override { return "quadratic"; }
  std::string describe() const override {
    std::ostringstream s;
    s << "quadratic: " << o_.batch << " functions ||W theta - y||^2 in " << o_.dims << " dims, "
      << (o_.dm_variant ? "W,y ~ U[0,1), theta0 ~ N(0,0.01^2) (authors' code)" : "W,y ~ N(0,1), theta0 ~ N(0,1) (paper)");
    return s.str();
  }
  std::unique_ptr<Problem> sample(const ProblemId& id) const override {
    return std::make_unique<QuadraticProblem>(o_, id.function_seed());
  }

 private:
  QuadraticOptions o_;
};

// f(x) = x^2, x0 = 1.
class SimpleProblem : public Problem {
 public:
  std::vector<TensorSpec> specs() const override { return {{"x", {1}, 0}}; }
  Tensor init(Rng&) const override { return Tensor({1}, {1}); }
  Var loss(Tape&, Var theta, Rng&) override { return sum(square(theta)); }
};

class SimpleTask : public Task {
 public:
  std::string name() const override { return "simple"; }
  std::string describe() const override { return "simple: f(x) = x^2, x0 = 1"; }
  std::unique_ptr<Problem> sample(const ProblemId&) const override { return std::make_unique<SimpleProblem>(); }
};

}  // namespace

std::unique_ptr<Task> make_quadratic_task(const QuadraticOptions& o) { return std::make_unique<QuadraticTask>(o); }
std::unique_ptr<Task> make_simple_task() { return std::make_unique<SimpleTask>(); }

}  // namespace l2l
