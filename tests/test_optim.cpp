// test_optim.cpp: the baseline optimizers of nn/optim.h. First steps against arithmetic done
// by hand (the numbers are literals, not the formula again), reset and state round trips,
// argument errors, and convergence on a 10-d quadratic and a small tanh MLP.
#include <cmath>
#include <stdexcept>

#include "doctest/doctest.h"
#include "helpers.h"
#include "autodiff/ops.h"
#include "nn/optim.h"
#include "nn/rng.h"

using namespace l2l;
using l2l::test::same_bits;

namespace {

// The fixed gradients fed to the hand-worked runs: step 1, 2, 3 on a 2-number parameter that
// starts at x0 = (1, -2). (The optimizers never look at where a gradient came from.)
const std::vector<std::vector<real>> kGrads = {{0.5, -1}, {0.25, 2}, {-1, 0.5}};

// Runs `steps` steps from x0 = (1, -2) with kGrads; returns x after each step.
std::vector<Tensor> hand_run(Optimizer& opt, int steps) {
  Tensor x({2}, {1, -2});
  std::vector<Tensor> xs;
  for (int t = 0; t < steps; t++) {
    std::vector<Tensor*> ps = {&x};
    std::vector<Tensor> gs = {Tensor({2}, {kGrads[t][0], kGrads[t][1]})};
    opt.step(ps, gs);
    xs.push_back(x);
  }
  return xs;
}

void check_x(const Tensor& x, double a, double b, double tol = 1e-9) {
  INFO("got " << x.str() << " want (" << a << ", " << b << ")");
  CHECK(std::fabs(x[0] - a) < tol);
  CHECK(std::fabs(x[1] - b) < tol);
}

// Paper's quadratic (section 3.1): f(theta) = ||W theta - y||^2, W (10,10), y (10,1) Gaussian,
// theta0 ~ N(0, 0.01^2). The gradient comes from the tape; the update is off the tape.
double run_quadratic(Optimizer& opt, int steps, uint64_t seed, Tensor* final_theta = nullptr) {
  Rng rng(seed);
  Tensor W = randn({10, 10}, rng), y = randn({10, 1}, rng), theta = randn({10, 1}, rng, 0.01);
  double f = 0;
  for (int t = 0; t <= steps; t++) {
    Tape tape;
    Var th = tape.leaf(theta, true);
    Var loss = sum(square(matmul(tape.constant(W), th) - tape.constant(y)));
    f = loss.item();
    if (t == steps) break;
    std::vector<Tensor> g = tape.grad(loss, {th});
    std::vector<Tensor*> ps = {&theta};
    opt.step(ps, g);
  }
  if (final_theta) *final_theta = theta;
  return f;
}

// Least squares with a 3-16-1 tanh MLP on 64 points, y = sin(x0) + 0.5 x1 x2. Params are
// stepped with step_params, as the meta-optimizer steps the learned optimizer's weights.
struct Mlp {
  Param w1, b1, w2, b2;
  Tensor x, y;
  explicit Mlp(uint64_t seed) {
    Rng rng(seed);
    x = randn({64, 3}, rng);
    y = Tensor({64, 1});
    for (int n = 0; n < 64; n++) y[n] = std::sin(x.at(n, 0)) + 0.5 * x.at(n, 1) * x.at(n, 2);
    w1 = Param("w1", randn({3, 16}, rng, 0.5));
    b1 = Param("b1", Tensor::zeros({16}));
    w2 = Param("w2", randn({16, 1}, rng, 0.25));
    b2 = Param("b2", Tensor::zeros({1}));
  }
  std::vector<Param*> params() { return {&w1, &b1, &w2, &b2}; }
  double loss_and_grad() {  // fills every p.grad
    Tape tape;
    Var h = tanh(matmul(tape.constant(x), tape.param(w1)) + tape.param(b1));  // (64,16)
    Var out = matmul(h, tape.param(w2)) + tape.param(b2);                      // (64,1)
    Var loss = mean(square(out - tape.constant(y)));
    for (Param* p : params()) p->zero_grad();
    tape.backward(loss);
    return loss.item();
  }
};

double run_mlp(Optimizer& opt, int steps, uint64_t seed) {
  Mlp m(seed);
  double f = m.loss_and_grad();
  for (int t = 0; t < steps; t++) {
    step_params(opt, m.params());
    f = m.loss_and_grad();
  }
  return f;
}

}  // namespace

TEST_CASE("sgd: first three steps by hand") {
  Sgd opt(0.1);
  auto xs = hand_run(opt, 3);
  check_x(xs[0], 0.95, -1.9);    // (1, -2) - 0.1 (0.5, -1)
  check_x(xs[1], 0.925, -2.1);   // (0.95, -1.9) - 0.1 (0.25, 2)
  check_x(xs[2], 1.025, -2.15);  // (0.925, -2.1) - 0.1 (-1, 0.5)
}

TEST_CASE("nag: first three steps by hand, equal to Torch7's look-ahead form") {
  Nag opt(0.1, 0.9);
  auto xs = hand_run(opt, 3);
  // step 1: v = 0.9*0 - 0.1 (0.5, -1) = (-0.05, 0.1);  x += -0.9*0 + 1.9 v = (-0.095, 0.19)
  check_x(xs[0], 0.905, -1.81);
  // step 2: v' = 0.9 (-0.05, 0.1) - 0.1 (0.25, 2) = (-0.07, -0.11)
  //         x += -0.9 (-0.05, 0.1) + 1.9 (-0.07, -0.11) = (0.045 - 0.133, -0.09 - 0.209)
  check_x(xs[1], 0.817, -2.109);
  // step 3: v' = 0.9 (-0.07, -0.11) - 0.1 (-1, 0.5) = (0.037, -0.149)
  //         x += -0.9 (-0.07, -0.11) + 1.9 (0.037, -0.149) = (0.063 + 0.0703, 0.099 - 0.2831)
  check_x(xs[2], 0.9503, -2.2931);
  // Torch7 optim.nag keeps z (z0 = x0, v0 = 0): z += 0.9 v; g = grad(z); z -= 0.1 g;
  // v = 0.9 v - 0.1 g. Its z after the shift is where it evaluates g:
  //   call 1: z = (1,-2) - 0.1 (0.5,-1) = (0.95,-1.9), v = (-0.05, 0.1)
  //   call 2: shift to (0.905,-1.81) = our x1; z = (0.88,-2.01), v = (-0.07,-0.11)
  //   call 3: shift to (0.817,-2.109) = our x2; z = (0.917,-2.159), v = (0.037,-0.149)
  //   a 4th call would evaluate at z + 0.9 v = (0.9503,-2.2931) = our x3.
  NamedTensors s = opt.state();
  REQUIRE(s.size() == 1);
  CHECK(s[0].first == "nag.v.0");
  check_x(s[0].second, 0.037, -0.149);
}

TEST_CASE("rmsprop: first three steps by hand (eps = 0 to keep the arithmetic exact)") {
  RmsProp opt(0.01, 0.99, 0);
  auto xs = hand_run(opt, 3);
  // step 1: v = 0.01 (0.25, 1) = (0.0025, 0.01), sqrt v = (0.05, 0.1)
  //         x -= 0.01 (0.5/0.05, -1/0.1) = (0.1, -0.1)
  check_x(xs[0], 0.9, -1.9);
  // step 2: v = 0.99 (0.0025, 0.01) + 0.01 (0.0625, 4) = (0.0031, 0.0499)
  //         sqrt v = (0.0556776436, 0.2233830790)
  //         x -= 0.01 (0.25/0.0556776436, 2/0.2233830790) = (0.0449013255, 0.0895322962)
  check_x(xs[1], 0.855098674493, -1.989532296207);
  // step 3: v = 0.99 (0.0031, 0.0499) + 0.01 (1, 0.25) = (0.013069, 0.051901)
  //         sqrt v = (0.1143197271, 0.2278179097)
  //         x -= 0.01 (-1/0.1143197271, 0.5/0.2278179097) = (-0.0874739667, 0.0219473526)
  check_x(xs[2], 0.942572641194, -2.011479648835);
  CHECK(opt.state()[0].second[1] == doctest::Approx(0.051901).epsilon(1e-12));
}

TEST_CASE("adam: first three steps by hand (eps = 0), and its state") {
  Adam opt(0.1, 0.9, 0.999, 0);
  auto xs = hand_run(opt, 3);
  // step 1: m = 0.1 g = (0.05, -0.1), v = 0.001 g^2 = (0.00025, 0.001)
  //         step_size = 0.1 sqrt(0.001) / 0.1 = 0.0316227766; sqrt v = (0.0158113883, 0.0316227766)
  //         x -= 0.0316227766 (0.05/0.0158113883, -0.1/0.0316227766) = (0.1, -0.1)  (lr * sign g)
  check_x(xs[0], 0.9, -1.9);
  // step 2: m = 0.9 (0.05, -0.1) + 0.1 (0.25, 2) = (0.07, 0.11)
  //         v = 0.999 (0.00025, 0.001) + 0.001 (0.0625, 4) = (0.00031225, 0.004999)
  //         bias1 = 1 - 0.81 = 0.19, bias2 = 1 - 0.998001 = 0.001999
  //         step_size = 0.1 sqrt(0.001999) / 0.19 = 0.1 * 0.0447101778 / 0.19 = 0.0235316725
  //         sqrt v = (0.0176705970, 0.0707036067)
  //         x -= 0.0235316725 (0.07/0.0176705970, 0.11/0.0707036067) = (0.0932179639, 0.0366103527)
  check_x(xs[1], 0.806782036119, -1.936610352704);
  // step 3: m = 0.9 (0.07, 0.11) + 0.1 (-1, 0.5) = (-0.037, 0.149)
  //         v = 0.999 (0.00031225, 0.004999) + 0.001 (1, 0.25) = (0.00131193775, 0.005244001)
  //         bias1 = 1 - 0.729 = 0.271, bias2 = 1 - 0.997002999 = 0.002997001
  //         step_size = 0.1 sqrt(0.002997001) / 0.271 = 0.0202010597
  //         sqrt v = (0.0362206812, 0.0724154749)
  //         x -= 0.0202010597 (-0.037/0.0362206812, 0.149/0.0724154749) = (-0.0206357027, 0.0415651200)
  check_x(xs[2], 0.827417738839, -1.978175472693);

  CHECK(opt.steps() == 3);
  REQUIRE(opt.m().size() == 1);
  check_x(opt.m()[0], -0.037, 0.149, 1e-12);
  check_x(opt.v()[0], 0.00131193775, 0.005244001, 1e-12);
  NamedTensors s = opt.state();
  REQUIRE(s.size() == 3);
  CHECK(s[0].first == "adam.t");
  CHECK(s[0].second.item() == 3);
  CHECK(s[1].first == "adam.m.0");
  CHECK(s[2].first == "adam.v.0");
}

TEST_CASE("default eps = 1e-8 moves the first adam step by less than 1e-6") {
  Adam opt(0.1);  // first step is lr * g / (|g| + eps / sqrt(0.001)) ~ lr * sign g
  auto xs = hand_run(opt, 1);
  check_x(xs[0], 0.9, -1.9, 1e-6);
  CHECK(xs[0][0] != 0.9);  // but eps is really there
}

TEST_CASE("make_optimizer: names, Torch7 defaults, unknown name") {
  CHECK(optimizer_names() == std::vector<std::string>{"sgd", "nag", "rmsprop", "adam"});
  for (const auto& n : optimizer_names()) CHECK(make_optimizer(n, 0.05)->name() == n);
  auto nag = make_optimizer("nag", 0.05);
  CHECK(dynamic_cast<Nag&>(*nag).momentum == 0.9);
  CHECK(dynamic_cast<Nag&>(*nag).lr == 0.05);
  auto rms = make_optimizer("rmsprop", 0.05);
  CHECK(dynamic_cast<RmsProp&>(*rms).alpha == 0.99);
  CHECK(dynamic_cast<RmsProp&>(*rms).eps == 1e-8);
  auto adam = make_optimizer("adam", 0.05);
  CHECK(dynamic_cast<Adam&>(*adam).beta1 == 0.9);
  CHECK(dynamic_cast<Adam&>(*adam).beta2 == 0.999);
  CHECK(dynamic_cast<Adam&>(*adam).eps == 1e-8);
  CHECK_THROWS_WITH_AS(make_optimizer("Adam", 0.1), "unknown optimizer 'Adam' (valid names: sgd, nag, rmsprop, adam)",
                       std::invalid_argument);
}

TEST_CASE("bad hyper-parameters throw at construction and at step") {
  CHECK_THROWS_WITH_AS(Sgd(0), doctest::Contains("[sgd] lr = 0"), std::invalid_argument);
  CHECK_THROWS_AS(Sgd(-1), std::invalid_argument);
  CHECK_THROWS_AS(Sgd(NAN), std::invalid_argument);
  CHECK_THROWS_WITH_AS(Nag(0.1, 1.0), doctest::Contains("[nag] momentum"), std::invalid_argument);
  CHECK_THROWS_AS(Nag(0.1, 0.0), std::invalid_argument);  // Torch7: NAG needs momentum > 0
  CHECK_THROWS_AS(RmsProp(0.1, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(RmsProp(0.1, 0.99, -1), std::invalid_argument);
  CHECK_THROWS_AS(Adam(0.1, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(Adam(0.1, 0.9, -0.1), std::invalid_argument);
  Adam a(0.1);
  a.beta2 = 2;  // public members are checked again when used
  CHECK_THROWS_WITH_AS(hand_run(a, 1), doctest::Contains("[adam] beta2"), std::invalid_argument);
  CHECK(a.steps() == 0);
}

TEST_CASE("reset() makes the next steps identical to a fresh optimizer") {
  for (const auto& n : optimizer_names()) {
    CAPTURE(n);
    auto used = make_optimizer(n, 0.1), fresh = make_optimizer(n, 0.1);
    hand_run(*used, 3);
    used->reset();
    auto a = hand_run(*used, 3), b = hand_run(*fresh, 3);
    for (int t = 0; t < 3; t++) CHECK(same_bits(a[t], b[t]));
  }
}

TEST_CASE("state() / load_state() resume a run bit for bit") {
  for (const auto& n : optimizer_names()) {
    CAPTURE(n);
    // 3 steps straight, versus 1 step, a save, a load into a new optimizer, 2 more steps.
    auto straight = make_optimizer(n, 0.1);
    Tensor want = hand_run(*straight, 3)[2];

    auto first = make_optimizer(n, 0.1), second = make_optimizer(n, 0.1);
    Tensor x({2}, {1, -2});
    std::vector<Tensor*> ps = {&x};
    std::vector<Tensor> g1 = {Tensor({2}, {0.5, -1})};
    first->step(ps, g1);
    second->load_state(first->state());
    for (int t = 1; t < 3; t++) {
      std::vector<Tensor> g = {Tensor({2}, {kGrads[t][0], kGrads[t][1]})};
      second->step(ps, g);
    }
    CHECK(same_bits(x, want));
  }
  // Wrong names or layouts are refused, and the old state survives the refusal.
  Adam a(0.1);
  hand_run(a, 2);
  NamedTensors s = a.state();
  NamedTensors swapped = {s[0], s[2], s[1]};
  CHECK_THROWS_WITH_AS(a.load_state(swapped), "[adam] load_state: entry 1 is 'adam.v.0' but 'adam.m.0' was expected",
                       std::invalid_argument);
  CHECK(a.steps() == 2);
  NamedTensors frac = s;
  frac[0].second = Tensor::scalar(2.5);
  CHECK_THROWS_AS(a.load_state(frac), std::invalid_argument);
  CHECK_THROWS_AS(a.load_state({}), std::invalid_argument);
  Nag nag(0.1);
  CHECK_THROWS_WITH_AS(nag.load_state(s), doctest::Contains("'adam.t' but 'nag.v.0' was expected"),
                       std::invalid_argument);
  Sgd sgd(0.1);
  CHECK(sgd.state().empty());
  CHECK_THROWS_AS(sgd.load_state(s), std::invalid_argument);
}

TEST_CASE("step rejects mismatched counts and shapes, and changes nothing when it does") {
  for (const auto& n : optimizer_names()) {
    CAPTURE(n);
    auto opt = make_optimizer(n, 0.1);
    Tensor a = Tensor::full({2, 3}, 1), b = Tensor::full({4}, 1);
    std::vector<Tensor*> ps = {&a, &b};
    std::vector<Tensor> gs = {Tensor::full({2, 3}, 0.5), Tensor::full({4}, 0.5)};

    std::vector<Tensor> too_few = {gs[0]};
    CHECK_THROWS_WITH_AS(opt->step(ps, too_few), doctest::Contains("step got 2 parameter tensors but 1 gradients"),
                         std::invalid_argument);
    std::vector<Tensor> bad_shape = {Tensor::full({3, 2}, 0.5), gs[1]};
    CHECK_THROWS_WITH_AS(opt->step(ps, bad_shape),
                         doctest::Contains("parameter 0 has shape (2,3) but its gradient has shape (3,2)"),
                         std::invalid_argument);
    CHECK(a[0] == 1);  // untouched

    opt->step(ps, gs);  // builds the state for {(2,3), (4)}
    NamedTensors before = opt->state();
    Tensor a_before = a;
    if (n == "sgd") continue;  // stateless: any parameter list is fine from step to step
    std::vector<Tensor*> one = {&a};
    std::vector<Tensor> one_g = {gs[0]};
    CHECK_THROWS_WITH_AS(opt->step(one, one_g),
                         doctest::Contains("step got 1 parameter tensors but its state was built for 2"),
                         std::invalid_argument);
    Tensor c = Tensor::full({5}, 1);
    std::vector<Tensor*> other = {&a, &c};
    std::vector<Tensor> other_g = {gs[0], Tensor::full({5}, 0.5)};
    CHECK_THROWS_WITH_AS(opt->step(other, other_g),
                         doctest::Contains("parameter 1 has shape (5) but its state was built for (4)"),
                         std::invalid_argument);
    CHECK(same_bits(a, a_before));
    NamedTensors after = opt->state();
    REQUIRE(after.size() == before.size());
    for (size_t i = 0; i < after.size(); i++) CHECK(same_bits(after[i].second, before[i].second));
    opt->reset();
    CHECK_NOTHROW(opt->step(other, other_g));  // after reset any parameters will do
  }
}

TEST_CASE("optimizers work off the tape: stepping records nothing") {
  Mlp m(3);
  Tape tape;
  Var w = tape.param(m.w1);
  (void)sum(square(w));
  int nodes = tape.size();
  m.loss_and_grad();
  for (const auto& n : optimizer_names()) {
    auto opt = make_optimizer(n, 0.01);
    step_params(*opt, m.params());
  }
  CHECK(tape.size() == nodes);
}

// Thresholds were set from measured runs (double build) with about a 10x margin:
//   quadratic, seed 1, initial loss 9.534, after 200 steps:
//     sgd lr 0.01 -> 7.1e-4, nag lr 0.01 -> 1.2e-7, rmsprop lr 0.03 -> 7.8e-4, adam lr 0.1 -> 4.5e-7
//   tanh MLP, seed 2, initial loss 0.928, after 300 steps:
//     sgd lr 0.1 -> 0.036, nag lr 0.03 -> 0.015, rmsprop lr 0.01 -> 0.0094, adam lr 0.03 -> 0.00045
TEST_CASE("each optimizer minimizes the paper's 10-d quadratic and a small tanh MLP") {
  struct Case { const char* name; double lr_quad, max_quad, lr_mlp, max_mlp; };
  for (Case c : {Case{"sgd", 0.01, 5e-3, 0.1, 0.1}, Case{"nag", 0.01, 1e-5, 0.03, 0.05},
                 Case{"rmsprop", 0.03, 5e-3, 0.01, 0.03}, Case{"adam", 0.1, 1e-5, 0.03, 5e-3}}) {
    CAPTURE(c.name);
    auto q = make_optimizer(c.name, c.lr_quad);
    CHECK(run_quadratic(*q, 0, 1) > 9);
    double fq = run_quadratic(*q, 200, 1);
    CHECK(fq < c.max_quad);
    auto m = make_optimizer(c.name, c.lr_mlp);
    double fm = run_mlp(*m, 300, 2);
    CHECK(fm < c.max_mlp);
  }
}

TEST_CASE("runs are deterministic: same seed and optimizer, same bits") {
  for (const auto& n : optimizer_names()) {
    CAPTURE(n);
    auto a = make_optimizer(n, 0.01), b = make_optimizer(n, 0.01);
    Tensor ta, tb;
    double fa = run_quadratic(*a, 50, 4, &ta), fb = run_quadratic(*b, 50, 4, &tb);
    CHECK(fa == fb);
    CHECK(same_bits(ta, tb));
  }
}
