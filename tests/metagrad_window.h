// metagrad_window.h: one MNIST meta-iteration's meta-gradient, the same code for the float32
// and the double test binaries (tests/f32/test_metagrad_f32.cpp writes it, tests/
// test_metagrad_f32.cpp compares it with its own, in double). The window: the paper's MNIST
// optimizer (2x20 LSTM, logsign p = 10, output x 0.1, phi from seed 1), training problem 0 of
// seed 1, the first window of U = 20 steps, as meta-training runs it (meta_window).
#pragma once
#include <string>

#include "nn/checkpoint.h"
#include "tasks/data/data.h"
#include "tasks/meta_train.h"
#include "tasks/optimizees/optimizees.h"

namespace l2l::test {

// dL/dphi as named tensors (Param names), or throws when MNIST is missing.
inline NamedTensors mnist_window_metagrad() {
  MnistOptions mo;
  mo.data_dir = find_data_dir("", "mnist");
  auto task = make_mnist_task(mo);
  LearnedOptimizer opt({paper_net_config("mnist")}, 1);
  Trajectory tr = start_trajectory(opt, *task, ProblemId::train(0, 1));
  Tape tape;
  for (Param* p : opt.params()) p->zero_grad();
  meta_window(opt, tr, 20, true, tape);  // what l2l train runs: the fused window
  NamedTensors g;
  for (Param* p : opt.params()) g.push_back({p->name, p->grad});
  return g;
}

}  // namespace l2l::test
