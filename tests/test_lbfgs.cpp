// test_lbfgs.cpp: nn/lbfgs.h. Convergence on a convex quadratic (known minimizer) and on
// Rosenbrock from (-1.2, 1); the first iteration against numbers worked by hand (steepest
// descent, the Armijo test, the quadratic interpolation); the two-loop recursion against the
// dense BFGS inverse update; the curvature skip; non-finite values; a zero gradient; and the
// evaluation loop's deterministic-minibatch line search (tasks/evaluate.cpp).
#include <cmath>
#include <stdexcept>
#include <vector>

#include "doctest/doctest.h"
#include "autodiff/ops.h"
#include "nn/lbfgs.h"
#include "tasks/evaluate.h"

using namespace l2l;

namespace {

// f(x) = 1/2 x'Ax - b'x with A = M'M + I (n x n, M fixed pseudo-random), minimizer A^-1 b.
struct Quadratic {
  int n;
  std::vector<double> A, b;
  explicit Quadratic(int n_) : n(n_), A(n_ * n_), b(n_) {
    std::vector<double> M(n * n);
    uint64_t z = 12345;
    auto next = [&] { z = z * 6364136223846793005ULL + 1442695040888963407ULL; return (double)(z >> 11) * 0x1.0p-53 - 0.5; };
    for (double& v : M) v = next();
    for (double& v : b) v = next();
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++) {
        double s = i == j ? 1 : 0;
        for (int k = 0; k < n; k++) s += M[k * n + i] * M[k * n + j];
        A[i * n + j] = s;
      }
  }
  double operator()(const Tensor& x, Tensor& g) const {
    g = Tensor({(int)n});
    double f = 0;
    for (int i = 0; i < n; i++) {
      double ax = 0;
      for (int j = 0; j < n; j++) ax += A[i * n + j] * x[j];
      g[i] = (real)(ax - b[i]);
      f += 0.5 * x[i] * ax - b[i] * x[i];
    }
    return f;
  }
  std::vector<double> minimizer() const {  // Gaussian elimination (A is SPD: no pivoting needed)
    std::vector<double> a = A, x = b;
    for (int k = 0; k < n; k++)
      for (int i = k + 1; i < n; i++) {
        double m = a[i * n + k] / a[k * n + k];
        for (int j = k; j < n; j++) a[i * n + j] -= m * a[k * n + j];
        x[i] -= m * x[k];
      }
    for (int i = n; i-- > 0;) {
      for (int j = i + 1; j < n; j++) x[i] -= a[i * n + j] * x[j];
      x[i] /= a[i * n + i];
    }
    return x;
  }
};

double rosenbrock(const Tensor& x, Tensor& g) {
  double a = x[0], b = x[1];
  g = Tensor({2}, {(real)(-2 * (1 - a) - 400 * a * (b - a * a)), (real)(200 * (b - a * a))});
  return (1 - a) * (1 - a) + 100 * (b - a * a) * (b - a * a);
}

// Iterates until ||g|| <= gtol or max_iters; returns the iterations taken.
int minimize(Lbfgs& opt, Tensor& x, const Lbfgs::Oracle& fg, int max_iters, double gtol) {
  Tensor g;
  double f = fg(x, g);
  for (int k = 0; k < max_iters; k++) {
    double gn = 0;
    for (size_t i = 0; i < g.size(); i++) gn += (double)g[i] * g[i];
    if (std::sqrt(gn) <= gtol) return k;
    LbfgsStep st = opt.step_with_oracle(x, f, g, fg);
    REQUIRE(!st.failed);
    f = fg(x, g);
  }
  return max_iters;
}

}  // namespace

TEST_CASE("lbfgs: a 10-d convex quadratic, m >= n, reaches the exact minimizer to 1e-8") {
  Quadratic q(10);
  Lbfgs opt;  // m = 10
  Tensor x = Tensor::zeros({10});
  int iters = minimize(opt, x, q, 100, 1e-12);
  std::vector<double> xs = q.minimizer();
  double err = 0;
  for (int i = 0; i < 10; i++) err = std::max(err, std::fabs(x[i] - xs[i]));
  INFO("iterations " << iters << ", max |x - x*| " << err << ", evaluations " << opt.evaluations());
  CHECK(err < 1e-8);
  // Inexact (Armijo) line searches lose BFGS's finite termination in n steps (exact line
  // searches would give <= 10); observed: 19 iterations, 20 evaluations.
  CHECK(iters <= 10 + 15);
}

TEST_CASE("lbfgs: Rosenbrock from (-1.2, 1) to (1, 1)") {
  Lbfgs opt;
  Tensor x({2}, {-1.2, 1});
  int iters = minimize(opt, x, rosenbrock, 200, 1e-10);
  INFO("iterations " << iters << ", x " << x.str() << ", evaluations " << opt.evaluations());
  CHECK(std::fabs(x[0] - 1) < 1e-8);
  CHECK(std::fabs(x[1] - 1) < 1e-8);
  CHECK(iters <= 60);  // observed: 41 iterations, 48 evaluations
}

TEST_CASE("lbfgs: the first iteration is a steepest-descent step that satisfies Armijo (by hand)") {
  // f(x) = x0^2 + 4 x1^2 at x = (1, 1): f = 5, g = (2, 8), ||g|| = sqrt(68).
  auto f = [](const Tensor& x, Tensor& g) {
    g = Tensor({2}, {(real)(2 * x[0]), (real)(8 * x[1])});
    return (double)(x[0] * x[0] + 4 * x[1] * x[1]);
  };
  SUBCASE("the first trial (length initial_step = 0.1) is accepted") {
    Lbfgs opt(LbfgsOptions{10, 0.1});
    Tensor x({2}, {1, 1}), g({2}, {2, 8});
    LbfgsStep st = opt.step_with_oracle(x, 5, g, f);
    // a = 0.1 / sqrt(68) = 0.012126781..., x = (1 - 2a, 1 - 8a) = (0.975746..., 0.902985...)
    CHECK(st.steepest);
    CHECK(st.evals == 1);
    CHECK(st.step == doctest::Approx(0.0121267813).epsilon(1e-8));
    CHECK(x[0] == doctest::Approx(0.9757464374).epsilon(1e-8));
    CHECK(x[1] == doctest::Approx(0.9029857500).epsilon(1e-8));
    // Armijo: f(x1) = 0.952081 + 3.261533 = 4.213614 <= 5 - 1e-4 * a * 68 = 4.99992
    CHECK(st.f == doctest::Approx(4.2136141690).epsilon(1e-8));
    CHECK(st.f <= 5 - 1e-4 * st.step * 68);
    CHECK(opt.pairs() == 1);  // s'y = 2 s0^2 + 8 s1^2 > 0
  }
  SUBCASE("a too-long first trial is rejected; the quadratic interpolation is the exact line minimum") {
    // Length 4: a1 = 4/sqrt(68) = 0.485071, x = (1 - 2 a1, 1 - 8 a1) -> f = 33.19 > 5: rejected.
    // On a quadratic the interpolant is phi itself, so the 2nd trial is the exact minimizer
    // a* = g'g / g'Ag = 68 / (2*4 + 8*64) = 68/520 = 0.130769, inside [0.1, 0.5] a1 = [0.0485, 0.2425].
    Lbfgs opt(LbfgsOptions{10, 4});
    Tensor x({2}, {1, 1}), g({2}, {2, 8});
    LbfgsStep st = opt.step_with_oracle(x, 5, g, f);
    CHECK(st.evals == 2);
    CHECK(st.step == doctest::Approx(68.0 / 520).epsilon(1e-10));
    CHECK(x[0] == doctest::Approx(1 - 2 * 68.0 / 520).epsilon(1e-10));
    CHECK(x[1] == doctest::Approx(1 - 8 * 68.0 / 520).epsilon(1e-10));
  }
}

TEST_CASE("lbfgs: the two-loop recursion equals the dense BFGS inverse update (one pair)") {
  // H0 = gamma I, gamma = s'y / y'y; H1 = (I - rho s y') H0 (I - rho y s') + rho s s'.
  Lbfgs opt;
  auto f = [](const Tensor& x, Tensor& g) {  // f = x0^2 + 3 x1^2 + x0 x1
    g = Tensor({2}, {(real)(2 * x[0] + x[1]), (real)(6 * x[1] + x[0])});
    return (double)(x[0] * x[0] + 3 * x[1] * x[1] + x[0] * x[1]);
  };
  Tensor x({2}, {1, -2}), g0;
  double f0 = f(x, g0);
  Tensor x0 = x;
  opt.step_with_oracle(x, f0, g0, f);
  REQUIRE(opt.pairs() == 1);
  Tensor g1;
  f(x, g1);
  double s[2] = {x[0] - x0[0], x[1] - x0[1]}, y[2] = {g1[0] - g0[0], g1[1] - g0[1]};
  double sy = s[0] * y[0] + s[1] * y[1], rho = 1 / sy, gamma = sy / (y[0] * y[0] + y[1] * y[1]);
  double H[2][2];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) {
      double h = 0;  // ((I - rho s y') gamma (I - rho y s'))_ij
      for (int k = 0; k < 2; k++) h += ((i == k) - rho * s[i] * y[k]) * gamma * ((k == j) - rho * y[k] * s[j]);
      H[i][j] = h + rho * s[i] * s[j];
    }
  std::vector<double> d = opt.direction({g1[0], g1[1]});
  CHECK(d[0] == doctest::Approx(-(H[0][0] * g1[0] + H[0][1] * g1[1])).epsilon(1e-12));
  CHECK(d[1] == doctest::Approx(-(H[1][0] * g1[0] + H[1][1] * g1[1])).epsilon(1e-12));
}

TEST_CASE("lbfgs: a pair with s'y <= 0 is skipped, the history stays empty") {
  // Concave f = -x^2/2 along the step: y = -s, s'y < 0. (f still decreases: Armijo accepts.)
  auto concave = [](const Tensor& x, Tensor& g) {
    g = Tensor({1}, {(real)(-x[0])});
    return -0.5 * x[0] * x[0];
  };
  Lbfgs opt;
  Tensor x({1}, {1}), g({1}, {-1});
  LbfgsStep st = opt.step_with_oracle(x, -0.5, g, concave);
  CHECK(st.moved);
  CHECK(st.skipped_pair);
  CHECK(!st.stored_pair);
  CHECK(opt.pairs() == 0);
  CHECK(x[0] == doctest::Approx(2));  // steepest descent, length 1, accepted at once
  // The same with a convex f stores the pair: the test can tell the two apart.
  auto convex = [](const Tensor& x, Tensor& g) {
    g = Tensor({1}, {(real)x[0]});
    return 0.5 * x[0] * x[0];
  };
  Tensor x2({1}, {1}), g2({1}, {1});
  Lbfgs opt2(LbfgsOptions{10, 0.5});
  CHECK(opt2.step_with_oracle(x2, 0.5, g2, convex).stored_pair);
  CHECK(opt2.pairs() == 1);
}

TEST_CASE("lbfgs: a non-finite f shrinks the step; all non-finite leaves x where it was") {
  // f = x^2 where |x| < 2, NaN outside. From x = 1.5 with a first trial of length 10:
  // x = -8.5 (NaN) -> a *= 0.1 -> length 1: x = 0.5, f = 0.25, accepted.
  auto walled = [](const Tensor& x, Tensor& g) {
    g = Tensor({1}, {(real)(2 * x[0])});
    return std::fabs(x[0]) < 2 ? (double)(x[0] * x[0]) : std::nan("");
  };
  Lbfgs opt(LbfgsOptions{10, 10});
  Tensor x({1}, {1.5}), g({1}, {3});
  LbfgsStep st = opt.step_with_oracle(x, 2.25, g, walled);
  CHECK(st.evals == 2);
  CHECK(st.moved);
  CHECK(x[0] == doctest::Approx(0.5));
  CHECK(st.f == doctest::Approx(0.25));

  auto nowhere = [](const Tensor& x, Tensor& g) {
    g = Tensor({1}, {(real)x[0]});
    return x[0] == 1.5 ? 1.0 : INFINITY;
  };
  Lbfgs opt2(LbfgsOptions{10, 1, 1e-4, 5});
  Tensor y({1}, {1.5});
  st = opt2.step_with_oracle(y, 1, Tensor({1}, {1}), nowhere);
  CHECK(st.failed);
  CHECK(!st.moved);
  CHECK(st.evals == 5);
  CHECK(y[0] == 1.5);
}

TEST_CASE("lbfgs: a zero gradient stops without evaluating or moving") {
  int calls = 0;
  auto f = [&](const Tensor& x, Tensor& g) {
    calls++;
    g = Tensor::zeros({1});
    return (double)x[0];
  };
  Lbfgs opt;
  Tensor x({1}, {3});
  LbfgsStep st = opt.step_with_oracle(x, 3, Tensor::zeros({1}), f);
  CHECK(st.zero_gradient);
  CHECK(!st.moved);
  CHECK(calls == 0);
  CHECK(x[0] == 3);
}

TEST_CASE("lbfgs: bad options and step() without an oracle throw") {
  CHECK_THROWS_AS(Lbfgs(LbfgsOptions{0}), std::invalid_argument);
  CHECK_THROWS_AS(Lbfgs(LbfgsOptions{10, -1}), std::invalid_argument);
  Lbfgs opt;
  Tensor x({2}, {1, 2});
  std::vector<Tensor*> ps = {&x};
  CHECK_THROWS_AS(opt.step(ps, {Tensor({2}, {1, 1})}), std::logic_error);
  auto f = [](const Tensor&, Tensor& g) { g = Tensor::zeros({2}); return 0.0; };
  CHECK_THROWS_AS(opt.step_with_oracle(x, 0, Tensor({3}, {1, 1, 1}), f), std::invalid_argument);
}

namespace {

// f(theta) = sum (theta - c)^2 with c drawn from batch_rng at each call: a "minibatch" of one
// number. Records every c, so the test sees which draws the line search used.
struct DrawProblem : Problem {
  std::vector<double>* draws;
  explicit DrawProblem(std::vector<double>* d) : draws(d) {}
  std::vector<TensorSpec> specs() const override { return {{"theta", {3}, 0}}; }
  Tensor init(Rng&) const override { return Tensor({3}, {1, -1, 2}); }
  Var loss(Tape& tape, Var theta, Rng& batch_rng) override {
    double c = batch_rng.uniform();
    draws->push_back(c);
    (void)tape;
    return sum(square(add_scalar(theta, (real)-c)));
  }
};
struct DrawTask : Task {
  std::vector<double>* draws;
  explicit DrawTask(std::vector<double>* d) : draws(d) {}
  std::string name() const override { return "draws"; }
  std::unique_ptr<Problem> sample(const ProblemId&) const override { return std::make_unique<DrawProblem>(draws); }
};

}  // namespace

TEST_CASE("lbfgs in run_optimizer: line-search trials reuse the step's minibatch; oracle calls are counted") {
  std::vector<double> draws;
  DrawTask task(&draws);
  Lbfgs opt(LbfgsOptions{10, 10});  // length 10 first: at least one rejected trial at step 0
  const int T = 4;
  RunResult r = run_optimizer(opt, task, ProblemId::train(7, 0), T);
  REQUIRE(r.loss.size() == T + 1);
  REQUIRE(r.evals.size() == T + 1);
  CHECK(r.evals[0] == 0);
  CHECK(r.evals[1] >= 3);  // the step's gradient + >= 2 trials
  // draws = [g_0's draw, its trials..., g_1's draw, its trials..., ..., f(theta_T)'s draw].
  CHECK((int)draws.size() == (int)r.evals[T] + 1);
  size_t k = 0;
  for (int t = 0; t < T; t++) {
    int calls = (int)(r.evals[t + 1] - r.evals[t]);
    for (int j = 1; j < calls; j++) CHECK(draws[k + j] == draws[k]);  // same minibatch
    if (t + 1 < T) CHECK(draws[k + calls] != draws[k]);              // the next step draws anew
    k += calls;
  }
  // Steps move towards the (noisy) minimizer c ~ U[0, 1): f falls from ||(1,-1,2) - c||^2.
  CHECK(r.loss.back() < r.loss.front());
}
