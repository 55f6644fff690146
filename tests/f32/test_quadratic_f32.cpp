// tests/f32/test_quadratic_f32.cpp — the quadratic's oracle in float32 against a double reference.
//
// What this file is: QuadraticProblem's hand-written loss_and_grad and its tape path
// (Problem::loss_and_grad, qualified), both in float, against f and grad evaluated in double on
// the same float W, y and theta, within a stated rounding bound. W and y are redrawn here exactly
// as tasks/optimizees/quadratic.cpp draws them (Rng(function_seed), W then y, normal or uniform,
// cast to float); the double suite checks the two paths agree to 1e-12 in double.
// What it is not: a test of the learned optimizer on quadratics (tests/test_meta.cpp).
#include <cmath>
#include <vector>

#include "doctest/doctest.h"
#include "tasks/optimizees/optimizees.h"

using namespace l2l;

static_assert(sizeof(real) == 4, "tests/f32 must be compiled without -DL2L_DOUBLE");

// Bound (Higham 3.5, u = 2^-24, gamma_n = n u / (1 - n u)). With s_i = sum_j |W_ij theta_j| + |y_i|,
// a float r_i (d products, d additions and the subtraction of y) is off by at most gamma_{d+1} s_i;
// then |df| <= (1/B) sum_i (2 |r_i| + gamma_{d+1} s_i) gamma_{d+1} s_i + gamma_{Bd+2} f (the sum of
// squares and the scaling), and |dgrad_j| <= (2/B) sum_i |W_ij| (gamma_{d+1} s_i + gamma_{d+2} |r_i|).
TEST_CASE("f32: quadratic oracle, hand-written and tape, within the float rounding bound of double") {
  const int B = 128, d = 10;
  const double u = std::ldexp(1.0, -24);
  auto gamma = [&](int n) { return n * u / (1 - n * u); };
  for (bool dm : {false, true}) {
    CAPTURE(dm);
    const ProblemId id = ProblemId::train(3, 0);
    auto prob = make_quadratic_task(QuadraticOptions{B, d, dm})->sample(id);
    Rng rng(id.function_seed()), ir(1), br(2);
    std::vector<float> W((size_t)B * d * d), y((size_t)B * d);
    for (float& w : W) w = (float)(dm ? rng.uniform() : rng.normal());
    for (float& v : y) v = (float)(dm ? rng.uniform() : rng.normal());
    Tensor theta = prob->init(ir);
    double f = 0, fbound = 0;
    std::vector<double> g((size_t)B * d, 0), gbound((size_t)B * d, 0);
    for (int b = 0; b < B; b++)
      for (int i = 0; i < d; i++) {
        const float* Wi = &W[((size_t)b * d + i) * d];
        double r = -(double)y[b * d + i], s = std::fabs((double)y[b * d + i]);
        for (int j = 0; j < d; j++) r += (double)Wi[j] * theta[b * d + j], s += std::fabs((double)Wi[j] * theta[b * d + j]);
        f += r * r / B;
        fbound += (2 * std::fabs(r) + gamma(d + 1) * s) * gamma(d + 1) * s / B;
        for (int j = 0; j < d; j++) {
          g[b * d + j] += 2.0 / B * Wi[j] * r;
          gbound[b * d + j] += 2.0 / B * std::fabs((double)Wi[j]) * (gamma(d + 1) * s + gamma(d + 2) * std::fabs(r));
        }
      }
    fbound += gamma(B * d + 2) * f;
    LossAndGrad hand = prob->loss_and_grad(theta, br), tape = prob->Problem::loss_and_grad(theta, br);
    CHECK(std::fabs(hand.f - f) <= fbound);
    CHECK(std::fabs(tape.f - f) <= fbound);
    double worst = 0;
    for (size_t k = 0; k < g.size(); k++)
      worst = std::max({worst, std::fabs(hand.grad[k] - g[k]) / gbound[k], std::fabs(tape.grad[k] - g[k]) / gbound[k]});
    MESSAGE("quadratic (dm " << dm << "): f error / bound: hand " << std::fabs(hand.f - f) / fbound << ", tape "
                             << std::fabs(tape.f - f) / fbound << "; worst grad error / bound " << worst);
    CHECK(worst <= 1);
  }
}
