// bench: the speed table of l2l (`make bench`). Not a test: it asserts nothing and prints
// measured times, throughputs and ratios, each the median of several repetitions inside this
// one run (the machine is small, shared and noisy: compare rows of one run, not across runs).
//
// Every row is measured twice, with the engine's pool at 1 and at 2 threads (OpenBLAS always
// single-threaded inside; see autodiff/parallel.h), and prints for each: ms, GFLOP/s, % of the
// same run's sgemm and of its FMA peak at that many threads, minor page faults per repetition (getrusage), and the
// CPU time of the process per repetition (all threads: on a machine shared with other jobs the
// 1-thread CPU time is the wall time this row would take on an idle core).
//
//   fp32 FMA peak          the machine's float FMA throughput: 16 independent chains of FMAs on
//                          registers, 512-bit (where AVX-512 is compiled in: the %peak yardstick)
//                          and 256-bit, the pool's 2 blocks at 1 and 2 threads
//   sgemm                  OpenBLAS on a 1024^3 product at 1 and 2 OpenBLAS threads (the yardstick)
//   memory triad           a = b + s c over 64 Mi floats each (805 MB moved, not counting the
//                          line fetch before each write), the pool's 2 halves: the DRAM bandwidth
//                          of 1 and of 2 cores, which bounds how well a row that streams its
//                          stored states (the meta-iterations' windows) can scale
//   lstm part              one 2x20 coordinatewise-LSTM step over 15,910 coordinates (the MNIST
//                          optimizee's), fused forward, fused fwd+bwd, composed fwd+bwd
//   kernel                 the products alone of one fused-cell step (forward, dW, dz W^T of both
//                          layers, 32 blocks of 504 rows): our gemm_small, then OpenBLAS
//   quadratic meta-iter    one window of U = 20 steps on 128 10-d quadratics, forward and
//                          meta-backward (FLOPs counted: the LSTM's only), the problem drawn for
//                          each window; then per window of a problem's 5 (T = 100), the problem
//                          drawn once and the Adam step on phi after each window, as in training
//   mnist optimizee part   the 21 loss + gradient evaluations of one window, without the optimizer
//   mnist meta-iter        one window of U = 20 steps on the MNIST MLP (batch 128), with the
//                          Adam step on phi (FLOPs: LSTM + optimizee forward/backward)
//   mnist eval             optimizee steps per second with the learned optimizer
//   cifar conv layers      the CNN's three conv2d layers alone, forward + backward (batch 128)
//   cifar optimizee step   one loss_and_grad of the CIFAR-10 CNN (batch 128): forward + backward
//   cifar meta-iter        one window of U = 20 steps on the CIFAR-10 CNN, two learned nets
//                          (kernels / the rest, 22,682 coordinates), with the Adam step on phi
//
// The meta-iteration rows go through tasks/meta_train.h (start_trajectory, meta_window: the window
// meta-training runs, fused where the net allows), one
// small struct per task (quadratic_window, MetaWindow).
//
// Flags: --data DIR (the data root, or MNIST's folder; CIFAR-10 rows look for cifar10/ in it), --only SUBSTRING (rows whose name contains it),
// --threads 1|2 (measure the rows at that many threads only: for profiling one column), --block-sweep
// (time the LSTM part for several block sizes instead: the measurement behind nn/lstm.cpp).
#include <immintrin.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "apps/bench.h"
#include "autodiff/blas.h"
#include "autodiff/parallel.h"
#include "tasks/data/data.h"
#include "tasks/evaluate.h"
#include "tasks/fused_window.h"
#include "tasks/meta_train.h"
#include "tasks/optimizees/optimizees.h"

using namespace l2l;

namespace {

// ---- the FMA peak ----------------------------------------------------------------------------

// kChains independent chains acc = acc m + a, iters times, in one vector width (V, with its FMA
// intrinsic): 16 chains cover 2 FMA pipes x 4 cycles of latency with room to spare, and stay in
// registers. m < 1 keeps the values near 1 (no overflow, no subnormals). Returns a sum so that
// the work is used.
constexpr int kChains = 16;
template <class V, V (*FMA)(V, V, V), V (*SET1)(float)>
float fma_chains(long iters) {
  V acc[kChains];
  for (int c = 0; c < kChains; c++) acc[c] = SET1(1 + 0.01f * c);
  const V m = SET1(0.999f), a = SET1(0.001f);
  for (long i = 0; i < iters; i++)
    for (int c = 0; c < kChains; c++) acc[c] = FMA(acc[c], m, a);
  float out[sizeof(V) / sizeof(float)], sum = 0;
  for (int c = 0; c < kChains; c++) {
    __builtin_memcpy(out, &acc[c], sizeof out);
    sum += out[0];
  }
  return sum;
}

__m256 fma256(__m256 x, __m256 m, __m256 a) { return _mm256_fmadd_ps(x, m, a); }
__m256 set256(float v) { return _mm256_set1_ps(v); }
#ifdef __AVX512F__
__m512 fma512(__m512 x, __m512 m, __m512 a) { return _mm512_fmadd_ps(x, m, a); }
__m512 set512(float v) { return _mm512_set1_ps(v); }
#endif

// One row: the pool's 2 blocks of `iters` iterations each (serially at 1 thread, side by side at
// 2); the FLOPs of a call are the same at both. Sets g_peak when `yardstick`.
template <class V, V (*FMA)(V, V, V), V (*SET1)(float)>
void peak_row(const char* name, bool yardstick) {
  const long iters = 1 << 21;
  const double flops = 2.0 * iters * kChains * (sizeof(V) / sizeof(float)) * 2;
  volatile float sink = 0;
  Timing t[3];
  for (int th = 1; th <= 2; th++) {
    set_num_threads(th);
    t[th] = measure(9, [&] { parallel_for(2, [&](int) { sink = sink + fma_chains<V, FMA, SET1>(iters); }); });
    if (yardstick) g_peak[th] = flops / (t[th].ms * 1e6);
  }
  print_row(name, flops, t);
}

// The widest vector first: it is the yardstick of %peak.
void peak_rows() {
#ifdef __AVX512F__
  peak_row<__m512, fma512, set512>("fp32 FMA peak (512-bit)", true);
  peak_row<__m256, fma256, set256>("fp32 FMA peak (256-bit)", false);
#else
  peak_row<__m256, fma256, set256>("fp32 FMA peak (256-bit)", true);
#endif
}

void sgemm_row() {
  const int S = 1024;
  static Tensor A = Tensor::full({S, S}, 0.5f), B = Tensor::full({S, S}, 0.25f), C({S, S});
  Timing t[3];
  for (int th = 1; th <= 2; th++) {
    set_blas_threads(th);
    t[th] = measure(5, [&] { gemm(false, false, S, S, S, 1, A.data(), S, B.data(), S, 0, C.data(), S); });
    g_sgemm[th] = 2.0 * S * S * S / (t[th].ms * 1e6);
  }
  set_blas_threads(1);
  print_row("sgemm 1024^3 (1 / 2 OpenBLAS threads)", 2.0 * S * S * S, t);
}

// The memory yardstick: STREAM's triad, a = b + 1.5 c, each thread over its half of the arrays.
void triad_row() {
  const size_t n = size_t(64) << 20;
  static std::vector<float> a(n, 1.f), b(n, 2.f), c(n, 3.f);
  Timing t[3];
  for (int th = 1; th <= 2; th++) {
    set_num_threads(th);
    t[th] = measure(7, [&] {
      parallel_for(2, [&](int half) {
        for (size_t i = half * n / 2, end = (half + 1) * n / 2; i < end; i++) a[i] = b[i] + 1.5f * c[i];
      });
    });
  }
  print_row("memory triad, 805 MB (GB/s = 805 / ms)", 0, t);
}

// ---- the LSTM part ---------------------------------------------------------------------------

const int kN = 15910;  // the MNIST optimizee's coordinates

// 2-layer LSTM step over kN coordinates from a random state; one call = one step.
struct LstmPart {
  LSTM lstm;
  Tensor x;
  LSTMState s0;
  Tape tape;
  explicit LstmPart(bool fused) {
    Rng rng(1);
    lstm = LSTM(kI, kH, 2, rng, "lstm", fused);
    x = randn({kN, kI}, rng);
    s0 = lstm.zero_state(kN);
    for (auto& h : s0.h) h = randn({kN, kH}, rng, 0.5);
    for (auto& c : s0.c) c = randn({kN, kH}, rng, 0.5);
  }
  void step(bool backward) {
    tape.clear();
    std::vector<Var> h, c;
    s0.to_tape(tape, h, c);
    Var top = lstm.forward(tape, tape.constant(x), h, c);
    if (backward) tape.backward(sum(top));
  }
  static double flops() { return lstm_flops(kN, kI, kH) + lstm_flops(kN, kH, kH); }  // forward
};

// Are the fused step's outputs and gradients the same bits at 1 and 2 threads (float)?
bool lstm_same_bits_1_vs_2() {
  std::vector<Tensor> out[3];
  for (int th = 1; th <= 2; th++) {
    set_num_threads(th);
    LstmPart p(true);
    for (Param* q : p.lstm.params()) q->zero_grad();
    p.step(true);
    for (Param* q : p.lstm.params()) out[th].push_back(q->grad);
  }
  for (size_t k = 0; k < out[1].size(); k++)
    if (std::memcmp(out[1][k].data(), out[2][k].data(), out[1][k].size() * sizeof(real))) return false;
  return true;
}

void lstm_rows(const std::string& only) {
  static LstmPart fused(true), composed(false);
  double f = LstmPart::flops();
  std::vector<Row> rows = {
      {"lstm part 2x20, N=15910, fused, forward", f, 15, [] { fused.step(false); }},
      {"lstm part 2x20, N=15910, fused, fwd+bwd", 3 * f, 15, [] { fused.step(true); }},
      {"lstm part 2x20, N=15910, composed, fwd+bwd", 3 * f, 5, [] { composed.step(true); }},
  };
  for (const Row& r : rows)
    if (r.name.find(only) != std::string::npos) run_row(r);
  if (std::string("lstm part").find(only) != std::string::npos || only.empty())
    std::printf("  fused fwd+bwd, float: 1 vs 2 threads give %s\n",
                lstm_same_bits_1_vs_2() ? "the same bits (Param gradients memcmp-equal)" : "DIFFERENT BITS");
}

// The products of one fused-cell step over kN rows in 32 blocks of 504 (both layers, K = I+H =
// 22 and 40, G = 80): forward z = [x,h,1] [W;b], backward dW = [x,h,1]^T dz and dz W^T, by our
// kernel (gemm_small, with W^T padded to 24 / 40 columns as the cell does) or by OpenBLAS (the
// same products, dz W^T as one NT product). The same 3 x lstm FLOPs; random values.
struct CellProducts {
  static constexpr int kRows = 504, kBlocks = 32, kG = 4 * kH;
  std::vector<real> xh1, dz, Wb, WT;
  CellProducts() {
    Rng rng(5);
    Tensor a = randn({kRows, 64}, rng), b = randn({kRows, kG}, rng), w = randn({64, kG}, rng);
    xh1.assign(a.data(), a.data() + a.size());
    dz.assign(b.data(), b.data() + b.size());
    Wb.assign(w.data(), w.data() + w.size());
    WT.assign(w.data(), w.data() + w.size());  // read as (G, Kp <= 40): any values of the right size
  }
  void run(bool own) {
    for (int K : {kI + kH, kH + kH}) {
      const int K1 = K + 1, Kp = (K + 7) / 8 * 8;
      parallel_for(kBlocks, [&](int) {
        thread_local std::vector<real> c((size_t)kRows * kG), d((size_t)(2 * kH + 1) * kG);  // the largest K1
        if (own) {
          gemm_small(false, kRows, kG, K1, xh1.data(), K1, Wb.data(), kG, c.data(), kG);
          gemm_small(true, K1, kG, kRows, xh1.data(), K1, dz.data(), kG, d.data(), kG);
          gemm_small(false, kRows, Kp, kG, dz.data(), kG, WT.data(), Kp, c.data(), Kp);
        } else {
          gemm(false, false, kRows, kG, K1, 1, xh1.data(), K1, Wb.data(), kG, 0, c.data(), kG);
          gemm(true, false, K1, kG, kRows, 1, xh1.data(), K1, dz.data(), kG, 0, d.data(), kG);
          gemm(false, true, kRows, K, kG, 1, dz.data(), kG, Wb.data(), kG, 0, c.data(), K);
        }
      });
    }
  }
};

void kernel_rows(const std::string& only) {
  static CellProducts p;
  double f = 3 * (lstm_flops(kN, kI, kH) + lstm_flops(kN, kH, kH)) * CellProducts::kRows * CellProducts::kBlocks / kN;
  std::vector<Row> rows = {
      {"kernel: cell products of 1 step, gemm_small", f, 15, [] { p.run(true); }},
      {"kernel: cell products of 1 step, OpenBLAS", f, 15, [] { p.run(false); }},
  };
  for (const Row& r : rows)
    if (r.name.find(only) != std::string::npos) run_row(r);
}

void block_sweep() {
  LstmPart p(true);
  std::printf("lstm part 2x20, N=15910, fused fwd+bwd, ms per step (median of 15) by the most rows per block:\n");
  std::printf("%8s %10s %10s\n", "rows", "1 thread", "2 threads");
  for (int rows : {32, 64, 128, 256, 512, 1024, 2048, 4096, kN}) {
    set_lstm_block_rows(rows);
    double ms[3];
    for (int th = 1; th <= 2; th++) {
      set_num_threads(th);
      ms[th] = measure(15, [&] { p.step(true); }).ms;
    }
    std::printf("%8d %10.3f %10.3f\n", rows, ms[1], ms[2]);
  }
}

// ---- meta-iterations (tasks/ API: adapt these functions when it changes) ---------------------


// A problem's 128 functions are drawn in start_trajectory (~14,000 Gaussian draws, serial):
// run() draws one per window, run_problem() one per 5 windows with the Adam step on phi after
// each, as meta-training does (T = 100, U = 20).
struct QuadraticWindow {
  std::unique_ptr<Task> task = make_quadratic_task(QuadraticOptions{});
  LearnedOptimizer opt{{NetConfig{}}, 1};
  Tape tape;
  Adam meta{1e-3};
  void run() {
    Trajectory tr = start_trajectory(opt, *task, ProblemId::train(0, 0));
    meta_window(opt, tr, 20, true, tape);
  }
  void run_problem() {
    std::vector<Param*> phi = opt.params();
    Trajectory tr = start_trajectory(opt, *task, ProblemId::train(0, 0));
    for (int w = 0; w < 5; w++) {
      for (Param* p : phi) p->zero_grad();
      meta_window(opt, tr, 20, true, tape);
      step_params(meta, phi);
    }
  }
};

// One meta-iteration of a task's learned optimizer, and the optimizee's step alone: the
// MNIST and CIFAR rows (training problem 0 of seed 0; theta_0 from Rng 4, minibatches from Rng 5).
struct MetaWindow {
  std::unique_ptr<Task> task;
  LearnedOptimizer opt;
  std::unique_ptr<Problem> prob;
  Rng ir{4}, br{5};
  Tensor theta0;
  Tape tape;
  Adam meta{1e-3};
  MetaWindow(std::unique_ptr<Task> t, const NetConfig& nc)
      : task(std::move(t)), opt(std::vector<NetConfig>(task->groups(), nc), 1) {
    prob = task->sample(ProblemId::train(0, 0));
    theta0 = prob->init(ir);
  }
  void step() { prob->loss_and_grad(theta0, br); }
  // One meta-iteration: a window of 20 steps (21 loss_and_grad) and the Adam step on phi.
  void run() {
    std::vector<Param*> phi = opt.params();
    Trajectory tr = start_trajectory(opt, *task, ProblemId::train(0, 0));
    for (Param* p : phi) p->zero_grad();
    meta_window(opt, tr, 20, true, tape);
    step_params(meta, phi);
  }
};

std::unique_ptr<Task> mnist_task(const std::string& dir) {
  MnistOptions mo;
  mo.data_dir = dir;
  return make_mnist_task(mo);
}
// The optimizee part of an MNIST window: 21 losses and gradients (U + 1 points) of the 784-20-10
// MLP at batch 128: forward, and 2x that for its backward.
const double kMnistWindowFlops = 21 * 3 * (2.0 * 128 * (784 * 20 + 20 * 10));

// FLOPs of one CIFAR-10 optimizee step (tasks/optimizees/cifar.cpp, batch B, k classes), counting the
// multiply-adds of the products only (2 FLOPs each; batch norm, ReLU, pooling, softmax and
// im2col are not counted, they are O(activations) rather than O(activations x K K C)):
//   conv layer (C -> 16 ch, 5x5, S x S output pixels), forward:  2 B 16 S^2 (25 C)
//     layer 0: C = 3, S = 32;  layers 1, 2: C = 16, S = 16 and 8
//   fc1 256 -> 32 and fc2 32 -> k, forward: 2 B (256 32 + 32 k)
//   backward: every layer's weight gradient (as many FLOPs as its forward) and its input
//   gradient (as many again), except conv layer 0, whose input is the images (no gradient).
// step = 3 forward - conv layer 0's forward; at B = 128, k = 10: 2.21 GFLOP (0.84 forward).
double cifar_step_flops(int B, int k) {
  auto conv = [&](int C, int S) { return 2.0 * B * 16 * S * S * 25 * C; };
  double conv0 = conv(3, 32), fwd = conv0 + conv(16, 16) + conv(16, 8) + 2.0 * B * (256 * 32 + 32 * k);
  return 3 * fwd - conv0;
}

// The three conv2d layers of the CIFAR-10 net alone (autodiff/ops_conv.cpp), batch 128, forward
// and backward (dw, db, and dx except for layer 0's images), each layer on its own tape with a
// fixed dy: the conv share of cifar_step_flops, to set the convs beside sgemm on their own.
struct CifarConvs {
  static constexpr int kC[3] = {3, 16, 16}, kS[3] = {32, 16, 8};
  Tensor x[3], w[3], b[3], dy[3];
  CifarConvs() {
    Rng rng(6);
    for (int l = 0; l < 3; l++) {
      x[l] = randn({128, kC[l], kS[l], kS[l]}, rng), w[l] = randn({16, kC[l], 5, 5}, rng, 0.1);
      b[l] = randn({16}, rng), dy[l] = randn({128, 16, kS[l], kS[l]}, rng);
    }
  }
  void step() {
    for (int l = 0; l < 3; l++) {
      Tape t;
      Var xv = l ? t.leaf(x[l], true) : t.constant(x[l]);
      t.backward(conv2d(xv, t.leaf(w[l], true), t.leaf(b[l], true), 1, 2), dy[l]);
    }
  }
  static double flops() {
    double f = 0;
    for (int l = 0; l < 3; l++) f += (l ? 3 : 2) * 2.0 * 128 * 16 * kS[l] * kS[l] * 25 * kC[l];
    return f;
  }
};

const int kCifarN = 22682;  // the CIFAR-10 optimizee's coordinates (tests/test_cifar.cpp checks it)

std::unique_ptr<Task> cifar_task(const std::string& dir) {
  CifarOptions co;
  co.data_dir = dir;
  return make_cifar_task(co);
}

bool selected(const std::string& only, const std::string& family) {
  return only.empty() || family.find(only) != std::string::npos || only.find(family) != std::string::npos;
}

void cifar_rows(const std::string& data_flag, const std::string& only) {
  if (!selected(only, "cifar")) return;
  std::string dir;
  try {
    dir = find_data_dir(data_flag, "cifar10");
  } catch (const std::exception& e) {
    std::printf("(CIFAR-10 rows skipped: %s)\n", e.what());
    return;
  }
  std::unique_ptr<MetaWindow> w;
  try {
    w = std::make_unique<MetaWindow>(cifar_task(dir), paper_net_config("cifar"));
  } catch (const std::exception& e) {
    std::printf("(CIFAR-10 rows skipped: %s)\n", e.what());
    return;
  }
  MetaWindow* c = w.get();
  double step = cifar_step_flops(128, 10);
  static CifarConvs convs;
  std::vector<Row> rows = {
      {"cifar conv layers only (3 conv2d fwd+bwd)", CifarConvs::flops(), 9, [] { convs.step(); }},
      {"cifar optimizee step (fwd+bwd, batch 128)", step, 9, [c] { c->step(); }},
      {"cifar meta-iteration (U=20, 2 LSTMs, 22682)", lstm_window_flops(kCifarN, 20) + 21 * step, 3, [c] { c->run(); }},
  };
  for (const Row& r : rows)
    if (r.name.find(only) != std::string::npos) run_row(r);
}

}  // namespace

#include "apps/bench_art.h"  // art_rows: the Neural Art rows (after the anonymous namespace)

void quadratic_rows(const std::string& only) {
  static QuadraticWindow quad;
  std::vector<Row> rows = {
      {"quadratic meta-iteration (128 fns, U=20)", lstm_window_flops(1280, 20), 15, [] { quad.run(); }},
      {"quadratic meta-iter., a problem per 5", lstm_window_flops(1280, 20), 9, [] { quad.run_problem(); }, 5}};
  for (const Row& r : rows)
    if (r.name.find(only) != std::string::npos) run_row(r);
}

void mnist_rows(const std::string& data_flag, const std::string& only) {
  if (!selected(only, "mnist")) return;  // no MNIST row selected: do not load the data
  std::string dir;
  try {
    dir = find_data_dir(data_flag, "mnist");
  } catch (const std::exception& e) {
    std::printf("(MNIST rows skipped: %s)\n", e.what());
    return;
  }
  static MetaWindow mnist(mnist_task(dir), paper_net_config("mnist"));
  std::vector<Row> rows = {
      {"mnist optimizee part (21 loss_and_grad)", kMnistWindowFlops, 9, [] { for (int t = 0; t <= 20; t++) mnist.step(); }},
      {"mnist meta-iteration (U=20, batch 128, 15910)", lstm_window_flops(kN, 20) + kMnistWindowFlops, 7,
       [] { mnist.run(); }},
      {"mnist meta-iteration, gates recomputed", lstm_window_flops(kN, 20) + kMnistWindowFlops, 7, [] {
         set_window_store_gates(false);
         mnist.run();
         set_window_store_gates(true);
       }},
      {"mnist eval, 100 steps (steps/s = 1e5 / ms)", 0, 3, [] { run_optimizer(mnist.opt, *mnist.task, ProblemId::test(0), 100); }},
  };
  for (const Row& r : rows)
    if (r.name.find(only) != std::string::npos) run_row(r);
  std::printf("targets (2 threads): mnist meta-iteration <= 60 ms, quadratic <= 5 ms, eval >= 1,000 steps/s,\n"
              "2-thread figure >= 1.8x the 1-thread one. Medians of one run on a shared machine.\n");
}

int main(int argc, char** argv) {
  std::string data_flag, only;
  bool sweep = false;
  for (int i = 1; i < argc; i++) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::printf("usage: bench [--data DIR] [--only SUBSTRING] [--threads 1|2] [--block-sweep]\n"
                  "Prints the speed table of l2l (see the comment at the top of apps/bench.cpp).\n");
      return 0;
    } else if (!std::strcmp(argv[i], "--data") && i + 1 < argc) {
      data_flag = argv[++i];
    } else if (!std::strcmp(argv[i], "--only") && i + 1 < argc) {
      only = argv[++i];
    } else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      const std::string v = argv[++i];
      g_only_threads = v == "1" ? 1 : v == "2" ? 2 : 0;
      if (!g_only_threads) {
        std::fprintf(stderr, "bench: --threads takes 1 or 2, got '%s'\n", argv[i]);
        return 2;
      }
    } else if (!std::strcmp(argv[i], "--block-sweep")) {
      sweep = true;
    } else {
      std::fprintf(stderr, "bench: unknown argument '%s' (try --help)\n", argv[i]);
      return 2;
    }
  }
  setup_fast_runtime();
  if (sweep) {
    block_sweep();
    return 0;
  }
  print_header();
  peak_rows();
  sgemm_row();
  triad_row();
  lstm_rows(only);
  kernel_rows(only);

  quadratic_rows(only);
  art_rows(data_flag, only);
  cifar_rows(data_flag, only);
  mnist_rows(data_flag, only);
  return 0;
}
