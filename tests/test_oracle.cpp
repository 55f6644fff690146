// test_oracle.cpp: the optimizee as an oracle, and what it leaves on the meta tape.
//  - loss_and_grad returns the tape's own f and gradient, and clears its scratch tape;
//  - the quadratic's hand-written oracle agrees with its tape loss();
//  - frozen_loss has exactly the derivative of the real loss at its point (first order);
//  - a window's meta tape holds no optimizee node, and its size does not grow with the
//    optimizee's graph;
//  - evaluation tells "diverged" from "ended above its start".
#include <algorithm>

#include "fixtures.h"
#include "helpers.h"
#include "tasks/evaluate.h"
#include "tasks/meta_train.h"
#include "tasks/optimizees/optimizees.h"

using namespace l2l;
using namespace l2l::test;

namespace {

// f(theta) = sum(theta^2) computed through `depth` extra nodes (theta * 1, repeated): the same
// function with a graph as deep as we like, to show that the meta tape does not see it.
class DeepProblem : public Problem {
 public:
  explicit DeepProblem(int depth) : depth_(depth) {}
  std::vector<TensorSpec> specs() const override { return {{"theta", {6}, 0}}; }
  Tensor init(Rng& rng) const override { return randn({6}, rng); }
  Var loss(Tape&, Var theta, Rng&) override {
    Var x = theta;
    for (int i = 0; i < depth_; i++) x = scale(x, 1);
    return sum(square(x));
  }

 private:
  int depth_;
};

class DeepTask : public Task {
 public:
  explicit DeepTask(int depth) : depth_(depth) {}
  std::string name() const override { return "deep"; }
  std::unique_ptr<Problem> sample(const ProblemId&) const override { return std::make_unique<DeepProblem>(depth_); }

 private:
  int depth_;
};

// An optimizer that climbs: x += rate * g.
class Ascent : public Optimizer {
 public:
  explicit Ascent(double r) : rate(r) {}
  std::string name() const override { return "ascent"; }
  void step(std::vector<Tensor*>& ps, const std::vector<Tensor>& gs) override {
    for (size_t i = 0; i < ps[0]->size(); i++) (*ps[0])[i] += (real)(rate * gs[0][i]);
  }
  void reset() override {}
  double rate;
};

}  // namespace

// (Problem::loss_and_grad, qualified: the tape path, which the quadratic overrides.)
TEST_CASE("oracle: loss_and_grad is the tape's f and gradient, and leaves its tape empty") {
  auto task = make_quadratic_task(QuadraticOptions{3, 4, false});
  auto prob = task->sample(ProblemId::train(5, 0));
  Rng ir(1), b1(2), b2(2);
  Tensor theta = prob->init(ir);
  LossAndGrad o = prob->Problem::loss_and_grad(theta, b1);
  Tape tape;
  Var th = tape.leaf(theta, true);
  Var f = prob->loss(tape, th, b2);
  Tensor g = tape.grad(f, {th})[0];
  CHECK(o.f == f.item());
  REQUIRE(o.grad.size() == g.size());
  for (size_t i = 0; i < g.size(); i++) CHECK(o.grad[i] == g[i]);
  CHECK(prob->Problem::loss_value(theta, b1) == f.item());
}

// The quadratic's hand-written oracle (f and grad_b = (2/B) W_b^T r_b) against its tape loss():
// the same sums in other orders, so equal to rounding (double: 1e-12 relative). Float: see
// tests/f32/test_quadratic_f32.cpp.
TEST_CASE("quadratic: the hand-written oracle equals the tape path (double, 1e-12 relative), both variants") {
  for (bool dm : {false, true}) {
    CAPTURE(dm);
    auto task = make_quadratic_task(QuadraticOptions{128, 10, dm});
    auto prob = task->sample(ProblemId::train(3, 0));
    Rng ir(1), b(2);
    Tensor theta = prob->init(ir);
    LossAndGrad h = prob->loss_and_grad(theta, b), t = prob->Problem::loss_and_grad(theta, b);
    CHECK(std::fabs(h.f - t.f) <= 1e-12 * std::fabs(t.f));
    REQUIRE(h.grad.size() == t.grad.size());
    double gmax = 0, gdiff = 0;
    for (size_t i = 0; i < t.grad.size(); i++) {
      gmax = std::max(gmax, std::fabs(t.grad[i]));
      gdiff = std::max(gdiff, std::fabs(h.grad[i] - t.grad[i]));
    }
    CHECK(gmax > 0);
    CHECK(gdiff <= 1e-12 * gmax);
    CHECK(std::fabs(prob->loss_value(theta, b) - prob->Problem::loss_value(theta, b)) <= 1e-12 * std::fabs(t.f));
    CHECK_THROWS_AS(prob->loss_and_grad(Tensor::full({7}, 0), b), std::invalid_argument);
  }
}

TEST_CASE("frozen_loss: value f, and d/dtheta exactly the given gradient") {
  DeepProblem prob(3);
  Rng ir(4), unused(0);
  Tensor theta0 = prob.init(ir);
  LossAndGrad o = prob.loss_and_grad(theta0, unused);
  // Downstream use of theta: L = frozen f(theta) + sum(3 theta). dL/dtheta = grad + 3.
  Tape tape;
  Var th = tape.leaf(theta0, true);
  Var L = frozen_loss(th, o.f, o.grad) + sum(scale(th, 3));
  tape.backward(L);
  Tensor d = th.grad();
  for (size_t i = 0; i < d.size(); i++) CHECK(d[i] == doctest::Approx(2 * theta0[i] + 3).epsilon(1e-14));
  // The same through the real graph agrees to rounding.
  Tape t2;
  Var th2 = t2.leaf(theta0, true);
  t2.backward(prob.loss(t2, th2, unused) + sum(scale(th2, 3)));
  for (size_t i = 0; i < d.size(); i++) CHECK(d[i] == doctest::Approx(th2.grad()[i]).epsilon(1e-14));
  CHECK_THROWS_WITH(frozen_loss(th, 1, Tensor::zeros({5})), doctest::Contains("[frozen_loss]"));
}

TEST_CASE("a window's meta tape holds no optimizee node, and does not grow with the optimizee") {
  LearnedOptimizer opt({tiny_net(4)}, 3);
  auto tape_of = [&](int depth, std::vector<std::string>& ops, size_t& bytes) {
    DeepTask task(depth);
    Trajectory tr = start_trajectory(opt, task, ProblemId::train(7, 0));
    Tape tape;
    unroll_window(opt, tr, 5, true, tape);
    bytes = 0;
    for (int i = 0; i < tape.size(); i++) {
      ops.push_back(tape.node(i).op);
      bytes += tape.node(i).value.size() * sizeof(real);
    }
    return tape.size();
  };
  std::vector<std::string> shallow_ops, deep_ops;
  size_t shallow_bytes, deep_bytes;
  int shallow = tape_of(1, shallow_ops, shallow_bytes), deep = tape_of(40, deep_ops, deep_bytes);
  CHECK(shallow == deep);
  CHECK(shallow_bytes == deep_bytes);
  CHECK(shallow_ops == deep_ops);
  // The optimizee's ops (square, sum of it) never appear; its U + 1 losses are frozen_loss nodes.
  CHECK(std::count(deep_ops.begin(), deep_ops.end(), "square") == 0);
  CHECK(std::count(deep_ops.begin(), deep_ops.end(), "frozen_loss") == 6);
}

TEST_CASE("evaluation: 'diverged' (non-finite or exploding) is not 'ended above its start'") {
  auto task = make_simple_task();  // x^2 from x = 1; ascent multiplies x by (1 + 2 rate) per step
  Ascent slow(0.01), fast(1.0);
  RunResult up = run_optimizer(slow, *task, ProblemId::test(1), 20), boom = run_optimizer(fast, *task, ProblemId::test(1), 20);
  CHECK(up.ended_above_start);  // 1.02^40 = 2.2: above the start, far from exploding
  CHECK_FALSE(up.diverged);
  CHECK(boom.diverged);         // 3^40: beyond kExplodeFactor x f_0
  CHECK_FALSE(boom.ended_above_start);
  Sgd good(0.1);
  RunResult down = run_optimizer(good, *task, ProblemId::test(1), 20);
  CHECK_FALSE(down.diverged);
  CHECK_FALSE(down.ended_above_start);
  Curves c = evaluate(slow, *task, Split::test, 3, 5, false);
  CHECK(c.ended_above_start == 3);
  CHECK(c.diverged == 0);
}
