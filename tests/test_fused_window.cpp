// test_fused_window.cpp: the fused window (tasks/fused_window.h) against its definition, the
// window recorded on a tape (unroll_window), and the evaluation step against the tape's.
// In this double build the two differ only in the order of sums (the read-out's dot product,
// phi's gradient summed per block over the steps before the blocks are added): agreement to
// ~1e-12 relative, checked at 1e-10. In float32, tests/test_metagrad_f32.cpp holds the fused
// window's MNIST meta-gradient (what l2l train runs) to the double one within its bound.
// Also: the same bits at 1 and 2 threads, and the window's meta-gradient against finite
// differences of the meta-loss with the optimizee's gradients frozen (tests/test_meta.cpp).
#include <cmath>

#include "fixtures.h"
#include "helpers.h"
#include "autodiff/parallel.h"
#include "tasks/data/data.h"
#include "tasks/fused_window.h"
#include "tasks/meta_train.h"
#include "tasks/optimizees/optimizees.h"

using namespace l2l;
using namespace l2l::test;

namespace {

// max |a - b| / max(1, max |b|) over two equally shaped tensors.
double rel_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.size() == b.size());
  double m = 1;
  for (size_t i = 0; i < b.size(); i++) m = std::max(m, (double)std::fabs(b[i]));
  return max_abs_diff(a, b) / m;
}

// What one window leaves: L, theta, the state, and phi's gradient (one tensor per Param).
struct WindowResult {
  double L;
  Tensor theta;
  OptimizerState state;
  std::vector<Tensor> grads;
};

WindowResult run_window(LearnedOptimizer& opt, const Task& task, int U, bool fused, int windows = 2) {
  Trajectory tr = start_trajectory(opt, task, ProblemId::train(3, 7));
  for (Param* p : opt.params()) p->zero_grad();
  Tape tape;
  double L = 0;
  for (int w = 0; w < windows; w++)  // the second window starts from a non-zero state
    L = fused ? unroll_window_fused(opt, tr, U, true) : unroll_window(opt, tr, U, true, tape);
  WindowResult r{L, tr.theta, tr.state, {}};
  for (Param* p : opt.params()) r.grads.push_back(p->grad);
  return r;
}

void check_same_window(const std::vector<NetConfig>& nets, const Task& task, int U, double tol) {
  LearnedOptimizer opt(nets, 11);
  REQUIRE(fused_window_supported(opt));
  WindowResult tape = run_window(opt, task, U, false), fused = run_window(opt, task, U, true);
  CHECK(std::fabs(fused.L - tape.L) <= tol * std::max(1.0, std::fabs(tape.L)));
  CHECK(rel_diff(fused.theta, tape.theta) < tol);
  for (size_t k = 0; k < tape.state.nets.size(); k++)
    for (size_t l = 0; l < tape.state.nets[k].h.size(); l++) {
      CHECK(rel_diff(fused.state.nets[k].h[l], tape.state.nets[k].h[l]) < tol);
      CHECK(rel_diff(fused.state.nets[k].c[l], tape.state.nets[k].c[l]) < tol);
    }
  std::vector<Param*> phi = opt.params();
  for (size_t i = 0; i < phi.size(); i++) {
    CAPTURE(phi[i]->name);
    CHECK(rel_diff(fused.grads[i], tape.grads[i]) < tol);
    CHECK(max_abs_diff(tape.grads[i], Tensor::zeros(tape.grads[i].shape())) > 0);  // a real gradient
  }
}

NetConfig net(int layers, int hidden, const std::string& pre, double out_scale) {
  NetConfig c;
  c.layers = layers, c.hidden = hidden, c.preprocess = pre, c.out_scale = out_scale;
  return c;
}

}  // namespace

TEST_CASE("fused window = the tape's window: quadratics, 1-3 layers, every preprocessing, several blocks") {
  auto small = make_quadratic_task(small_quadratic());
  check_same_window({tiny_net()}, *small, 5, 1e-10);
  check_same_window({net(3, 4, "adamnorm", 0.3)}, *small, 4, 1e-10);
  QuadraticOptions big;  // 128 x 10 = 1,280 coordinates: several row blocks
  auto paper = make_quadratic_task(big);
  check_same_window({net(2, 20, "logsign", 0.1)}, *paper, 6, 1e-10);
  check_same_window({net(2, 8, "none", 1.0)}, *paper, 3, 1e-10);
}

TEST_CASE("fused window = the tape's window: CIFAR's two nets (conv and fully connected groups)") {
  CifarOptions o;
  o.batch = 4;
  o.train_data = synthetic_images(16, 10, 1);
  o.test_data = synthetic_images(12, 10, 2);
  auto task = make_cifar_task(o);
  check_same_window({net(2, 6, "logsign", 0.1), net(1, 5, "none", 0.1)}, *task, 3, 1e-10);
  // adamnorm divides each gradient by its own running scale: the CIFAR net has coordinates
  // whose gradient is rounding noise (~1e-17), and there a difference in the last bit of theta
  // becomes one in x's first digits. The window itself is as close as above (quadratics).
  check_same_window({net(2, 6, "logsign", 0.1), net(1, 5, "adamnorm", 0.1)}, *task, 3, 1e-6);
}

TEST_CASE("fused window = the tape's window: the paper's MNIST net on the MNIST optimizee") {
  MnistOptions mo;
  mo.data_dir = find_data_dir("", "mnist");
  auto task = make_mnist_task(mo);
  check_same_window({paper_net_config("mnist")}, *task, 5, 1e-10);
}

TEST_CASE("fused window: the same bits at 1 and 2 threads") {
  QuadraticOptions big;
  auto task = make_quadratic_task(big);
  LearnedOptimizer opt({net(2, 20, "logsign", 0.1)}, 3);
  set_num_threads(1);
  WindowResult one = run_window(opt, *task, 5, true);
  set_num_threads(2);
  WindowResult two = run_window(opt, *task, 5, true);
  CHECK(one.L == two.L);
  CHECK(same_bits(one.theta, two.theta));
  for (size_t i = 0; i < one.grads.size(); i++) CHECK(same_bits(one.grads[i], two.grads[i]));
}

TEST_CASE("fused evaluation step = the tape's step, and it stores nothing between steps") {
  QuadraticOptions big;
  auto task = make_quadratic_task(big);
  auto prob = task->sample(ProblemId::test(0));
  LearnedOptimizer opt({net(2, 20, "adamnorm", 0.1)}, 4);
  OptimizerState fused = opt.initial_state(prob->specs());
  Trajectory tape_tr = start_trajectory(opt, *task, ProblemId::test(0));
  Tensor theta = tape_tr.theta;
  Rng unused(0);
  for (int t = 0; t < 5; t++) {
    Tensor g = prob->loss_and_grad(theta, unused).grad;
    Tape tape;
    OptimizerVars st = OptimizerVars::on_tape(tape_tr.state, tape);
    Tensor u_tape = opt.update(tape, g, st).value();
    tape_tr.state = st.values();
    Tensor u = fused_update(opt, fused, g);
    CHECK(rel_diff(u, u_tape) < 1e-10);
    for (size_t i = 0; i < theta.size(); i++) theta[i] += u_tape[i];
  }
  CHECK(rel_diff(fused.nets[0].h[1], tape_tr.state.nets[0].h[1]) < 1e-10);
  CHECK(rel_diff(fused.moments[0].v, tape_tr.state.moments[0].v) < 1e-12);
}

TEST_CASE("fused window: nets it cannot run are refused, and meta-training keeps them on the tape") {
  NetConfig avg = net(2, 4, "none", 1.0);
  avg.gac = 1;
  NetConfig composed = net(1, 3, "none", 1.0);
  composed.fused = false;
  for (const NetConfig& c : {avg, composed, net(0, 4, "none", 1.0)}) {
    LearnedOptimizer opt({c}, 1);
    CHECK_FALSE(fused_window_supported(opt));
    auto task = make_quadratic_task(small_quadratic());
    Trajectory tr = start_trajectory(opt, *task, ProblemId::train(0, 1));
    CHECK_THROWS_WITH(unroll_window_fused(opt, tr, 2, true), doctest::Contains("fused cells without averaging"));
  }
}

TEST_CASE("fused window: two windows of 3 steps move theta and the state exactly like one window of 6") {
  QuadraticOptions big;
  auto task = make_quadratic_task(big);
  LearnedOptimizer opt({net(2, 20, "adamnorm", 0.1)}, 6);
  Trajectory a = start_trajectory(opt, *task, ProblemId::train(1, 2)), b = start_trajectory(opt, *task, ProblemId::train(1, 2));
  unroll_window_fused(opt, a, 3, true);
  unroll_window_fused(opt, a, 3, true);
  unroll_window_fused(opt, b, 6, true);
  CHECK(same_bits(a.theta, b.theta));
  CHECK(same_bits(a.state.nets[0].c[1], b.state.nets[0].c[1]));
  CHECK(same_bits(a.state.moments[0].m, b.state.moments[0].m));
}

TEST_CASE("fused window: recomputing the gates in the backward gives the same bits as storing them") {
  QuadraticOptions big;
  auto task = make_quadratic_task(big);
  LearnedOptimizer opt({net(2, 20, "logsign", 0.1)}, 9);
  WindowResult stored = run_window(opt, *task, 4, true);
  set_window_store_gates(false);
  WindowResult again = run_window(opt, *task, 4, true);
  set_window_store_gates(true);
  CHECK(stored.L == again.L);
  CHECK(same_bits(stored.theta, again.theta));
  for (size_t i = 0; i < stored.grads.size(); i++) CHECK(same_bits(stored.grads[i], again.grads[i]));
}
