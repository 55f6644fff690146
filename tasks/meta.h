// meta.h: meta-training of the learned optimizer by truncated backpropagation through time.
//
// For each training problem: theta_0 from the problem, zero optimizer state, then T steps cut
// into windows of U. In one window (unroll_window):
//
//   for t = 1..U:  f_t = f(theta_t)                         recorded on the tape
//                  grad_t = df_t/dtheta_t, as a constant    (Tape::grad: d grad_t / d phi = 0)
//                  theta_t+1 = theta_t + m(grad_t, h_t; phi)
//   L(phi) = sum_t w_t f(theta_t), w_t = 1, over the window's points (its starting point
//            too when include_start: the authors' code does; it adds no gradient, since the
//            starting point is a constant of the window)
//   backward(L) -> dL/dphi;  Adam step on phi;  theta and state carried to the next window
//   as plain tensors (no gradient crosses a window boundary).
//
// After every epoch, phi is frozen and scored on fixed validation problems (mean f over the
// T steps); the best phi is kept (early stopping). A checkpoint with phi, the best phi, the
// Adam state, the training-problem counter (problems come from seeds, so that is all the
// randomness there is) and the per-epoch histories lets --resume continue bit for bit; a resume
// with other settings than the first run's is refused.
#pragma once
#include <functional>
#include <string>

#include "evaluate.h"
#include "learned_optimizer.h"

namespace l2l {

struct MetaConfig {
  int steps = 100;               // T: optimizee steps per training problem
  int unroll = 20;               // U: steps per truncated-BPTT window
  int epochs = 10;
  int problems_per_epoch = 20;   // training problems per epoch (T/U meta-iterations each)
  double meta_lr = 1e-3;         // Adam on phi (DeepMind 1e-3; the paper used random search)
  double clip = 0;               // clip each meta-gradient entry to [-clip, clip]; 0 = off
  bool include_start = true;     // count f at a window's first point in the meta-loss
  int val_problems = 10;
  uint64_t seed = 1;
  std::string out_dir;           // checkpoints and logs; "" = keep nothing on disk
  bool resume = false;
  bool quiet = false;
};

// One window: advances theta and state by U steps and adds dL/dphi into the Params' grads.
// Returns L. `tape` is cleared first; it is passed in so its memory is reused.
double unroll_window(LearnedOptimizer& opt, Problem& prob, Tensor& theta, std::vector<NetState>& state,
                     Rng& batch_rng, int U, bool include_start, Tape& tape);

struct MetaResult {
  double best_val = 0;
  int best_epoch = -1;
  std::vector<double> val_history, train_history;  // per epoch, from epoch 0 (also after a resume)
};

// Trains opt's phi in place; on return phi is the best validated phi.
// Throws std::runtime_error on a non-finite meta-loss or meta-gradient (nothing is saved then).
MetaResult meta_train(LearnedOptimizer& opt, const Task& task, const MetaConfig& cfg,
                      const std::vector<std::pair<std::string, std::string>>& config_dump = {});

}  // namespace l2l
