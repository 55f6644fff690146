// bench_art.h: the Neural Art rows of `make bench` (apps/bench.cpp calls art_rows(data_flag,
// only); the table's rows and timing are apps/bench.h's).
//
//   art step 64x64 / 128x128   one oracle call of the Neural Art optimizee (tasks/optimizees/art.cpp):
//                              VGG forward to relu3_1, the three terms, and d f / d image
//   art meta-iteration 64x64   one window of U = 32 steps with the learned optimizer (33 oracle
//                              calls, the LSTM forward and meta-backward) and the Adam step on phi
// FLOPs: the convolutions only, 2 H W Cin Cout 9 per layer forward, and as much again for the
// backward (the weights are tape constants, so conv2d computes d/d input only, no d/d weight),
// plus the LSTM's for the meta-iteration.
// Is not: a test; like every bench row, it asserts nothing.
#pragma once
#include "apps/bench.h"
#include "tasks/data/data.h"
#include "tasks/optimizees/art.h"
#include "tasks/meta_train.h"
#include "tasks/optimizees/vgg.h"

namespace l2l {
namespace bench_art {

// Forward FLOPs of conv1_1 .. conv3_1 on an S x S image (the layers the objective uses).
inline double vgg_forward_flops(int S) {
  double f = 0;
  const auto& L = vgg19_layers();
  for (int i = 0; i < 5; i++) {
    int side = i < 2 ? S : i < 4 ? S / 2 : S / 4;
    f += 2.0 * side * side * L[i].cin * L[i].cout * 9;
  }
  return f;
}

struct ArtBench {
  std::unique_ptr<Task> task;
  ProblemInstance pi;
  LearnedOptimizer opt{{paper_net_config("art")}, 1};
  Tape tape;
  Adam meta{1e-3};
  ArtBench(const std::string& root, int size) {
    ArtOptions o;
    o.data_dir = root;
    o.size = size;
    task = make_art_task(o);
    pi = problem_instance(*task, ProblemId::test(0));
  }
  void step() { pi.problem->loss_and_grad(pi.theta0, pi.batch_rng); }
  void meta_iteration() {
    std::vector<Param*> phi = opt.params();
    Trajectory tr = start_trajectory(opt, *task, ProblemId::train(1, 0));
    for (Param* p : phi) p->zero_grad();
    meta_window(opt, tr, 32, true, tape);
    step_params(meta, phi);
  }
};

}  // namespace bench_art

inline void art_rows(const std::string& data_flag, const std::string& only) {
  if (!only.empty() && std::string("art").find(only) == std::string::npos && only.find("art") == std::string::npos) return;
  std::string root;
  try {
    root = find_data_dir(data_flag, "art");
  } catch (const std::exception& e) {
    std::printf("(Neural Art rows skipped: %s)\n", e.what());
    return;
  }
  using bench_art::vgg_forward_flops;
  static bench_art::ArtBench a64(root, 64), a128(root, 128);
  std::vector<Row> rows = {
      {"art step 64x64 (loss_and_grad, 12288)", 2 * vgg_forward_flops(64), 5, [] { a64.step(); }},
      {"art step 128x128 (loss_and_grad, 49152)", 2 * vgg_forward_flops(128), 3, [] { a128.step(); }},
      {"art meta-iteration 64x64 (U=32)", 33 * 2 * vgg_forward_flops(64) + lstm_window_flops(3 * 64 * 64, 32), 3,
       [] { a64.meta_iteration(); }},
  };
  for (const Row& r : rows)
    if (r.name.find(only) != std::string::npos) run_row(r);
}

}  // namespace l2l
