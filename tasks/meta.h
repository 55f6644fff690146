// meta.h: meta-training of the learned optimizer by truncated backpropagation through time.
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
// Before the first epoch the untrained phi is scored on the validation problems (epoch -1);
// after every epoch phi is frozen and scored on the same fixed problems (mean f over the T+1
// points of each), and the best phi, the untrained one included, is kept (early stopping). A
// checkpoint with phi, the best phi, the Adam state, the training-problem counter (problems come from
// seeds, so that is all the randomness there is), the nets' configuration and the per-epoch
// histories lets --resume continue bit for bit; a resume with other settings is refused.
//
// Meta-batch K (data parallel, comm.h): an epoch's problems go in groups of K that run side by
// side, window by window; meta-update w of a group averages the K problems' window-w
// meta-gradients, (1/K) sum_k dL_k/dphi, summed in problem order k = 0..K-1, then one Adam step.
// Under mpirun with R ranks (K a multiple of R) rank r runs problems [rK/R, (r+1)K/R) of each
// group; every rank gathers all K meta-gradients, sums them in the same order and takes the same
// Adam step, so phi is the same bits for every R. Problem k of group g is training problem
// g*K + k of the run (its seed does not depend on R); K = 1 is the serial method exactly.
// Validation problems are split over the ranks the same way and their curves gathered; only
// rank 0 writes files and progress; a resume may use another R.
//
// Horizon curriculum (beyond the paper; off by default): Chen, Zhang, Zhou, Chang, Liu, Amini &
// Wang 2020, "Training stronger baselines for learning to optimize" (NeurIPS), train on short
// optimizee horizons first and lengthen them, so the optimizer first learns to make progress and
// then to keep it. cfg.curriculum = {T_0, T_1, ..., T_{S-1}}: the epochs are cut into S stages of
// (nearly) equal shares, epoch e trains on horizon T_s with s = floor(e S / epochs) (training_horizon),
// the unroll U unchanged, so an epoch of stage s makes problems_per_epoch * T_s / U meta-updates.
// Chen et al. advance a stage when validation stops improving; here the stages are fixed shares
// of the epochs, so the schedule (and its cost) is known in advance and follows from the epoch
// number alone (a resume needs no extra state; a resume with more --epochs re-divides the stages
// of the epochs still to come). Validation always runs cfg.steps steps, so the scores of different
// stages compare and the best phi is chosen on one horizon. Empty: every epoch trains on cfg.steps.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "tasks/evaluate.h"
#include "tasks/learned_optimizer.h"

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
  uint64_t seed = 1;
  std::string out_dir;           // checkpoints and logs; "" = keep nothing on disk
  std::string config_text;       // written as out_dir/config.txt with the first checkpoint
  bool resume = false;
  bool quiet = false;
};

// One training problem on its way: the problem, where it is, the optimizer's state there, and
// its minibatch stream. Carried from window to window.
struct Trajectory {
  std::unique_ptr<Problem> problem;
  Tensor theta;
  OptimizerState state;
  Rng batch_rng;
};
Trajectory start_trajectory(const LearnedOptimizer& opt, const Task& task, uint64_t seed);

// One window: advances the trajectory by U steps and adds dL/dphi into the Params' grads.
// Returns L. `tape` is cleared first; it is passed in so its memory is reused. U >= 1.
double unroll_window(LearnedOptimizer& opt, Trajectory& tr, int U, bool include_start, Tape& tape);

struct MetaResult {
  double best_val = 0;
  int best_epoch = -1;          // -1: no epoch beat the untrained phi (which is kept then)
  double untrained_val = 0;     // the score of phi before any training (epoch -1)
  std::vector<double> val_history, train_history;  // per epoch, from epoch 0 (also after a resume)
  long meta_updates = 0;        // taken by this call (after a resume: since the resume)
  double train_seconds = 0;     // wall time of those meta-updates (validation and saving excluded)
  double comm_seconds = 0;      // of which in collectives (gathers and error agreement; 0 serially)
};

// Trains opt's phi in place; on return phi is the best validated phi.
// Throws std::runtime_error on a non-finite meta-loss or meta-gradient (nothing is saved then).
MetaResult meta_train(LearnedOptimizer& opt, const Task& task, const MetaConfig& cfg,
                      const std::vector<std::pair<std::string, std::string>>& config_dump = {});

// The training horizon of epoch `epoch`: cfg.steps without a curriculum, else the stage's T_s.
int training_horizon(const MetaConfig& cfg, int epoch);

// Throws std::invalid_argument naming the flag unless cfg can run (positive counts, steps and
// every curriculum horizon a multiple of unroll, no more stages than epochs, finite meta-lr > 0,
// clip >= 0, problems per epoch a multiple of the meta-batch, the meta-batch a multiple of the
// rank count). meta_train calls it; l2l train calls it before it touches the run directory.
void check_config(const MetaConfig& cfg);

}  // namespace l2l
