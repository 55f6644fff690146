// bench: the speed table of l2l (`make bench`). Not a test: it asserts nothing and prints
// measured times, throughputs and ratios, each the median of several repetitions inside this
// one run (the machine is small and noisy: compare rows of one run, not across runs).
//
//   sgemm                  GFLOP/s of OpenBLAS on a 1024^3 product (the machine's yardstick)
//   lstm step              one 2x20 coordinatewise-LSTM step over 15,910 coordinates (the
//                          MNIST optimizee), forward and forward+backward, fused and composed
//   quadratic meta-iter    one window of U = 20 steps on 128 10-d quadratics, forward and
//                          meta-backward (the Adam step on phi is not included here)
//   mnist meta-iter        one window of U = 20 steps on the MNIST MLP (batch 128), with the
//                          Adam step on phi
//   mnist eval             optimizee steps per second with the learned optimizer
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <vector>

#include "autodiff/blas.h"
#include "tasks/data.h"
#include "tasks/evaluate.h"
#include "tasks/meta.h"

using namespace l2l;

namespace {

// Median wall time in ms of `reps` calls (after one warm-up call).
double time_ms(int reps, const std::function<void()>& fn) {
  fn();
  std::vector<double> t;
  for (int r = 0; r < reps; r++) {
    auto a = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void row(const char* what, double ms, const char* extra) { std::printf("%-44s %9.3f ms   %s\n", what, ms, extra); }

}  // namespace

int main(int argc, char** argv) {
  std::string data_flag;
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::printf("usage: bench [--data DIR]\nPrints the speed table of l2l (see the comment at the top of apps/bench.cpp).\n");
      return 0;
    } else if (!std::strcmp(argv[i], "--data") && i + 1 < argc) {
      data_flag = argv[++i];
    } else {
      std::fprintf(stderr, "bench: unknown argument '%s' (try --help)\n", argv[i]);
      return 2;
    }
  }
  setup_fast_runtime();
  char buf[160];

  // sgemm yardstick.
  const int S = 1024;
  Tensor A = Tensor::full({S, S}, 0.5f), B = Tensor::full({S, S}, 0.25f), C({S, S});
  double ms = time_ms(5, [&] { gemm(false, false, S, S, S, 1, A.data(), S, B.data(), S, 0, C.data(), S); });
  double sgemm = 2.0 * S * S * S / (ms * 1e6);
  std::snprintf(buf, sizeof buf, "%.1f GFLOP/s", sgemm);
  row("sgemm 1024x1024x1024", ms, buf);

  // One coordinatewise LSTM step, 2 layers x 20 units, input 2 (logsign), N = 15,910.
  const int N = 15910, H = 20, I = 2;
  Rng rng(1);
  double flops = lstm_flops(N, I, H) + lstm_flops(N, H, H);
  for (bool fused : {true, false}) {
    LSTM lstm(I, H, 2, rng, "lstm", fused);
    Tensor x = randn({N, I}, rng);
    LSTMState s0 = lstm.zero_state(N);
    for (auto& h : s0.h) h = randn({N, H}, rng, 0.5);
    for (auto& c : s0.c) c = randn({N, H}, rng, 0.5);
    Tape tape;
    auto step = [&](bool backward) {
      tape.clear();
      std::vector<Var> h, c;
      for (int l = 0; l < 2; l++) h.push_back(tape.constant(s0.h[l])), c.push_back(tape.constant(s0.c[l]));
      Var top = lstm.forward(tape, tape.constant(x), h, c);
      if (backward) tape.backward(sum(top));
    };
    double f = time_ms(20, [&] { step(false); }), fb = time_ms(20, [&] { step(true); });
    std::snprintf(buf, sizeof buf, "%.1f GFLOP/s = %.0f%% of sgemm", flops / (f * 1e6), 100 * flops / (f * 1e6) / sgemm);
    row(fused ? "lstm step 2x20, N=15910, fused, forward" : "lstm step 2x20, N=15910, composed, forward", f, buf);
    std::snprintf(buf, sizeof buf, "%.1f GFLOP/s = %.0f%% of sgemm", 3 * flops / (fb * 1e6), 100 * 3 * flops / (fb * 1e6) / sgemm);
    row(fused ? "lstm step 2x20, N=15910, fused, fwd+bwd" : "lstm step 2x20, N=15910, composed, fwd+bwd", fb, buf);
  }

  // Quadratic meta-iteration: 128 functions x 10 dims, U = 20.
  {
    auto task = make_quadratic_task(QuadraticOptions{});
    LearnedOptimizer opt({NetConfig{}}, 1);
    Tape tape;
    double q = time_ms(30, [&] {
      Trajectory tr = start_trajectory(opt, *task, 3);
      unroll_window(opt, tr, 20, true, tape);
    });
    row("quadratic meta-iteration (128 fns, U=20)", q, "target <= 5 ms; PyTorch CPU ~45 ms");
  }

  // MNIST rows need the data.
  std::string dir;
  try {
    dir = find_data_dir(data_flag, "mnist");
  } catch (const std::exception& e) {
    std::printf("(MNIST rows skipped: %s)\n", e.what());
    return 0;
  }
  MnistOptions mo;
  mo.data_dir = dir;
  auto task = make_mnist_task(mo);
  NetConfig nc;
  nc.preprocess = "logsign";
  nc.out_scale = 0.1;
  LearnedOptimizer opt({nc}, 1);
  Tape tape;
  Adam meta(1e-3);
  std::vector<Param*> phi = opt.params();
  double m = time_ms(10, [&] {
    Trajectory tr = start_trajectory(opt, *task, 3);
    for (Param* p : phi) p->zero_grad();
    unroll_window(opt, tr, 20, true, tape);
    step_params(meta, phi);
  });
  row("mnist meta-iteration (U=20, batch 128, 15910)", m, "target <= 60 ms; PyTorch CPU ~460 ms");
  double e = time_ms(3, [&] { run_optimizer(opt, *task, 7, 100); });
  std::snprintf(buf, sizeof buf, "%.0f optimizee steps/s (target >= 600; PyTorch ~85)", 100 / (e / 1000));
  row("mnist eval, learned optimizer, 100 steps", e, buf);
  return 0;
}
