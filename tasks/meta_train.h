// meta_train.h: meta-training of the learned optimizer by truncated backpropagation through time
// (the paper's Section 2).
//
// For each training problem: theta_0 from the problem, zero optimizer state, then T steps cut
// into windows of U. In one window (unroll_window), with the problem as an oracle (task.h):
//
//   for t = 0..U:  f_t, grad_t = loss_and_grad(theta_t)     on the problem's scratch tape
//                  F_t = frozen_loss(theta_t, f_t, grad_t)  ONE node on the meta tape
//                  theta_t+1 = theta_t + m(grad_t, h_t; phi)    (t < U; grad_t a constant)
//   L(phi) = sum_t w_t F_t, w_t = 1, over the window's points (its starting point too when
//            include_start: the authors' code does; it adds no gradient, since the starting
//            point is a constant of the window)
//   backward(L) -> dL/dphi;  Adam step on phi;  theta and state carried to the next window
//   as plain tensors (no gradient crosses a window boundary).
//
// The meta tape holds the optimizer's nodes and the theta chain only: frozen_loss's backward
// adds grad_t into theta_t, which is exactly d f_t / d theta_t under the paper's
// d grad_t / d phi = 0, so f's graph is never on it and its memory does not grow with the
// optimizee.
//
// Meta-batch K: an epoch's problems go in groups of K that run side by side, window by window;
// meta-update w of a group averages the K problems' window-w meta-gradients,
// (1/K) sum_k dL_k/dphi, summed in problem order k = 0..K-1 in double, then one Adam step.
// Problem k of group g is training problem g*K + k of the run; K = 1 is the serial method exactly.
//
// Early stopping: before the first epoch the untrained phi is scored on the validation problems
// (epoch -1); after every epoch phi is frozen and scored on the same fixed problems (final_score,
// tasks/evaluate.h: the mean f over the last 10 steps of each, the metric the paper's claims are
// read on), and the best phi, the untrained one included, is kept.
//
// Horizon curriculum (beyond the paper; off by default): Chen, Zhang, Zhou, Chang, Liu, Amini &
// Wang 2020, "Training stronger baselines for learning to optimize" (NeurIPS), train on short
// optimizee horizons first and lengthen them, so the optimizer first learns to make progress and
// then to keep it. cfg.curriculum = {T_0, T_1, ..., T_{S-1}}: the epochs are cut into S stages of
// (nearly) equal shares, epoch e trains on horizon T_s with s = floor(e S / epochs)
// (training_horizon), the unroll U unchanged, so an epoch of stage s makes
// problems_per_epoch * T_s / U meta-updates. Chen et al. advance a stage when validation stops
// improving; here the stages are fixed shares of the epochs, so the schedule (and its cost) is
// known in advance and follows from the epoch number alone. Validation always runs cfg.steps
// steps, so the scores of different stages compare and the best phi is chosen on one horizon.
//
// Is not: the run around the method. Where the problems run (one process, or shared out over
// MPI ranks), the progress line and checkpoints are a MetaRun's (tasks/run/training.h): the
// method asks it where to run problems and tells it what happened, and the default MetaRun runs
// everything here and keeps nothing. A resume restores a MetaState (with phi and Adam) before
// meta_train is called, which then simply goes on from it.
#pragma once
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "nn/named_tensors.h"
#include "nn/optim.h"
#include "tasks/learned_optimizer.h"
#include "tasks/task.h"

namespace l2l {

struct MetaConfig {
  int steps = 100;               // T: optimizee steps per training problem (and per validation problem)
  std::vector<int> curriculum;   // training horizons of successive stages (see above); empty = off
  int unroll = 20;               // U: steps per truncated-BPTT window
  int epochs = 10;
  int problems_per_epoch = 20;   // training problems per epoch (T/U meta-iterations each)
  int meta_batch = 1;            // K: problems whose meta-gradients one meta-update averages
  double meta_lr = 1e-3;         // Adam on phi (DeepMind 1e-3; the paper used random search)
  double clip = 0;               // clip each meta-gradient entry to [-clip, clip]; 0 = off
  bool include_start = true;     // count f at a window's first point in the meta-loss
  int val_problems = 10;
  uint64_t seed = 1;             // the run's training problems (ProblemId::train)
};

// Throws std::invalid_argument naming the flag unless cfg can run (positive counts, steps and
// every curriculum horizon a multiple of unroll, no more stages than epochs, finite meta-lr > 0,
// clip >= 0, problems per epoch a multiple of the meta-batch).
void check_config(const MetaConfig& cfg);

// The training horizon of epoch `epoch`: cfg.steps without a curriculum, else the stage's T_s.
int training_horizon(const MetaConfig& cfg, int epoch);
// Meta-updates of one epoch: (problems / K) groups x (T / U) windows.
long updates_in_epoch(const MetaConfig& cfg, int epoch);

// One training problem on its way: the problem, where it is, the optimizer's state there, and
// its minibatch stream. Carried from window to window.
struct Trajectory {
  std::unique_ptr<Problem> problem;
  Tensor theta;
  OptimizerState state;
  Rng batch_rng;
};
Trajectory start_trajectory(const LearnedOptimizer& opt, const Task& task, const ProblemId& id);

// One window: advances the trajectory by U steps and adds dL/dphi into the Params' grads.
// Returns L. `tape` is cleared first; it is passed in so its memory is reused. U >= 1.
double unroll_window(LearnedOptimizer& opt, Trajectory& tr, int U, bool include_start, Tape& tape);

// The window meta-training runs: the same function as unroll_window, without a tape
// (unroll_window_fused, tasks/fused_window.h) when every net allows it, else unroll_window.
double meta_window(LearnedOptimizer& opt, Trajectory& tr, int U, bool include_start, Tape& tape);

// Where meta-training stands between epochs. With phi and the meta-optimizer's state, it is all
// a run must keep to go on bit for bit (the training problems come from ids, so their counter is
// all the randomness there is).
struct MetaState {
  int next_epoch = 0;              // epochs done
  uint64_t problems_used = 0;      // training problems drawn so far
  bool scored_untrained = false;   // epoch -1 done
  double untrained_val = 0, best_val = 0;
  int best_epoch = -1;             // -1: no epoch beat the untrained phi (which is kept then)
  NamedTensors best_phi;
  std::vector<double> train_history, val_history;  // per epoch, from epoch 0
};

struct MetaResult {
  double best_val = 0;
  int best_epoch = -1;
  double untrained_val = 0;
  std::vector<double> val_history, train_history;
  long meta_updates = 0;        // taken by this call (after a resume: since the resume)
  double train_seconds = 0;     // wall time of those meta-updates (validation and saving excluded)
};

// Thrown when a meta-loss or meta-gradient is not finite (nothing of that epoch is kept).
struct MetaDiverged : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What surrounds the method in a run. The default runs every problem in this process, shows
// nothing and keeps nothing on disk.
class MetaRun {
 public:
  virtual ~MetaRun() = default;
  // The problems of [0, n) this process runs (all of them, in order, unless shared out).
  virtual std::vector<int> my_problems(int n) const;
  // One result vector of `len` numbers per problem of my_problems(n) -> every problem's, in
  // problem order.
  virtual std::vector<std::vector<double>> gather(std::vector<std::vector<double>> mine, int n, size_t len) const;
  // Runs `work`; if it throws in any process, every process throws (none is left waiting).
  virtual void run_everywhere(const std::function<void()>& work) const { work(); }
  // Progress, and what to keep: after each meta-update, after each validation.
  virtual void meta_update_done(int /*epoch*/, double /*meta_loss*/) {}
  virtual void scored(int /*epoch*/, double /*val*/, bool /*best*/, const MetaState&) {}
};

// Trains opt's phi in place from `state` (a fresh MetaState, or one a run restored together with
// phi and meta_opt); on return phi is the best validated phi. Throws MetaDiverged on a
// non-finite meta-loss or meta-gradient.
MetaResult meta_train(LearnedOptimizer& opt, const Task& task, const MetaConfig& cfg, Adam& meta_opt, MetaState& state,
                      MetaRun& run);
// A fresh serial run that keeps nothing on disk.
MetaResult meta_train(LearnedOptimizer& opt, const Task& task, const MetaConfig& cfg);

}  // namespace l2l
