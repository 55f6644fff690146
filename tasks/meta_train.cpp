// meta_train.cpp: one truncated-BPTT window, the meta-update over K problems, the epoch, and
// validation with early stopping. See meta_train.h for the method; the run around it (where the
// problems run, progress, checkpoints, resume) is a MetaRun's.
#include "tasks/meta_train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "nn/checkpoint.h"
#include "tasks/evaluate.h"
#include "tasks/fused_window.h"

namespace l2l {

Trajectory start_trajectory(const LearnedOptimizer& opt, const Task& task, const ProblemId& id) {
  ProblemInstance pi = problem_instance(task, id);
  Trajectory tr{std::move(pi.problem), std::move(pi.theta0), OptimizerState(), pi.batch_rng};
  tr.state = opt.initial_state(tr.problem->specs());
  return tr;
}

// The meta tape of a window: theta_0 and the state as constants, then per step one
// frozen_loss node, the optimizer's nodes, and theta_t+1 = theta_t + update. The optimizee
// runs on its own scratch tape inside loss_and_grad and leaves nothing here.
double unroll_window(LearnedOptimizer& opt, Trajectory& tr, int U, bool include_start, Tape& tape) {
  if (U < 1) throw std::invalid_argument("[unroll_window] U must be >= 1, got " + std::to_string(U));
  tape.clear();
  Var th = tape.constant(tr.theta);
  OptimizerVars st = OptimizerVars::on_tape(tr.state, tape);
  Var L;
  for (int t = 0; t <= U; t++) {
    LossAndGrad o = tr.problem->loss_and_grad(th.value(), tr.batch_rng);
    if (t > 0 || include_start) {
      Var f = frozen_loss(th, o.f, o.grad);  // value f_t; backward: dtheta_t += grad_t
      L = L.tape ? L + f : f;
    }
    if (t < U) th = th + opt.update(tape, o.grad, st);  // grad_t enters as a constant
  }
  tape.backward(L);
  tr.theta = th.value();  // carried into the next window as plain tensors (truncation)
  tr.state = st.values();
  return L.item();
}

double meta_window(LearnedOptimizer& opt, Trajectory& tr, int U, bool include_start, Tape& tape) {
  return fused_window_supported(opt) ? unroll_window_fused(opt, tr, U, include_start)
                                     : unroll_window(opt, tr, U, include_start, tape);
}

namespace {

// The score of phi for early stopping: the claim's own metric, final_score (tasks/evaluate.h: the
// mean f over the last 10 steps), averaged over the validation problems in problem order. The
// meta-objective (mean f over all steps) rewards a fast start; the paper's curves are read at the
// end. The baselines' rates are tuned on the same score.
double validation_score(LearnedOptimizer& opt, const Task& task, const MetaConfig& cfg, const MetaRun& run) {
  const int n = cfg.val_problems;
  std::vector<std::vector<double>> mine;
  run.run_everywhere([&] {
    for (int i : run.my_problems(n)) mine.push_back(run_optimizer(opt, task, ProblemId::val(i), cfg.steps).loss);
  });
  std::vector<std::vector<double>> all = run.gather(std::move(mine), n, cfg.steps + 1);
  double s = 0;
  for (const std::vector<double>& loss : all) s += final_score(loss) / n;
  return s;
}

// phi's meta-gradient as one vector, entry after entry of each Param, and the window's meta-loss last.
std::vector<double> flat_metagrad(const std::vector<Param*>& phi, double L) {
  std::vector<double> v;
  for (Param* p : phi)
    for (size_t i = 0; i < p->grad.size(); i++) v.push_back(p->grad[i]);
  v.push_back(L);
  return v;
}

// Throws MetaDiverged naming the first problem (in problem order) whose meta-loss or
// meta-gradient is not finite.
void check_finite(const std::vector<std::vector<double>>& all, int epoch, int first_problem, long w) {
  for (size_t k = 0; k < all.size(); k++) {
    const std::vector<double>& g = all[k];
    bool grad_finite = std::all_of(g.begin(), g.end() - 1, [](double x) { return std::isfinite(x); });
    if (!std::isfinite(g.back()) || !grad_finite)
      throw MetaDiverged("meta-training diverged at epoch " + std::to_string(epoch) + ", problem " +
                         std::to_string(first_problem + k) + ", window " + std::to_string(w) + ": meta-loss " +
                         exact_text(g.back()) + (grad_finite ? "" : " (non-finite meta-gradient)") +
                         ". Nothing of this epoch was saved.");
  }
}

// One meta-update: each trajectory of the group advances one window; phi's grads become the
// mean of the K meta-gradients, summed in problem order in double (K = 1: the one meta-gradient
// itself, bit for bit), clipped if asked. Returns the mean meta-loss.
double meta_update(LearnedOptimizer& opt, const MetaConfig& cfg, const MetaRun& run, std::vector<Trajectory>& group,
                   int epoch, int first_problem, long w, Tape& tape) {
  std::vector<Param*> phi = opt.params();
  std::vector<std::vector<double>> mine;
  run.run_everywhere([&] {
    for (Trajectory& tr : group) {
      for (Param* q : phi) q->zero_grad();
      double L = meta_window(opt, tr, cfg.unroll, cfg.include_start, tape);
      mine.push_back(flat_metagrad(phi, L));
    }
  });
  const int K = cfg.meta_batch;
  size_t n = 1;
  for (Param* q : phi) n += q->grad.size();
  std::vector<std::vector<double>> all = run.gather(std::move(mine), K, n);
  check_finite(all, epoch, first_problem, w);
  std::vector<double> sum = all[0];
  for (int k = 1; k < K; k++)
    for (size_t j = 0; j < n; j++) sum[j] += all[k][j];
  size_t j = 0;
  for (Param* q : phi)
    for (size_t i = 0; i < q->grad.size(); i++, j++) {
      q->grad[i] = (real)(sum[j] / K);
      if (cfg.clip > 0) q->grad[i] = std::max((real)-cfg.clip, std::min((real)cfg.clip, q->grad[i]));
    }
  return sum[n - 1] / K;
}

// One epoch: problems_per_epoch fresh training problems in groups of K, T/U meta-updates per
// group (T = the epoch's training horizon). Returns the mean meta-loss of its windows.
double train_epoch(LearnedOptimizer& opt, const Task& task, const MetaConfig& cfg, MetaState& st, Adam& meta_opt,
                   MetaRun& run, Tape& tape) {
  const int epoch = st.next_epoch, K = cfg.meta_batch, groups = cfg.problems_per_epoch / K;
  const long windows = training_horizon(cfg, epoch) / cfg.unroll;
  double epoch_loss = 0;
  for (int g = 0; g < groups; g++) {
    std::vector<Trajectory> group;  // this process's problems of the group
    run.run_everywhere([&] {
      for (int k : run.my_problems(K))
        group.push_back(start_trajectory(opt, task, ProblemId::train(st.problems_used + k, cfg.seed)));
    });
    st.problems_used += K;
    for (long w = 0; w < windows; w++) {
      double L = meta_update(opt, cfg, run, group, epoch, g * K, w, tape);
      step_params(meta_opt, opt.params());
      epoch_loss += L / (groups * windows);
      run.meta_update_done(epoch, L);
    }
  }
  return epoch_loss;
}

NamedTensors snapshot(const std::vector<Param*>& ps) {
  NamedTensors t;
  for (Param* p : ps) t.push_back({p->name, p->value});
  return t;
}

// The curriculum part of check_config: every horizon a positive multiple of U, one epoch per stage at least.
void check_curriculum(const MetaConfig& cfg) {
  for (int T : cfg.curriculum)
    if (T <= 0 || T % cfg.unroll != 0)
      throw std::invalid_argument("--curriculum: every horizon must be a positive multiple of --unroll (" +
                                  std::to_string(cfg.unroll) + "), got " + std::to_string(T));
  if ((long)cfg.curriculum.size() > cfg.epochs)
    throw std::invalid_argument("--curriculum has " + std::to_string(cfg.curriculum.size()) + " stages but --epochs is " +
                                std::to_string(cfg.epochs) + ": each stage needs one epoch at least (more epochs, or fewer stages)");
}

}  // namespace

void check_config(const MetaConfig& cfg) {
  if (cfg.steps <= 0 || cfg.unroll <= 0 || cfg.epochs <= 0 || cfg.problems_per_epoch <= 0 || cfg.val_problems <= 0)
    throw std::invalid_argument("--steps, --unroll, --epochs, --problems-per-epoch and --val-problems must be positive");
  if (cfg.steps % cfg.unroll != 0)
    throw std::invalid_argument("--steps (" + std::to_string(cfg.steps) + ") must be a multiple of --unroll (" +
                                std::to_string(cfg.unroll) + ")");
  check_curriculum(cfg);
  if (!std::isfinite(cfg.meta_lr) || !(cfg.meta_lr > 0)) throw std::invalid_argument("--meta-lr must be finite and > 0");
  if (!std::isfinite(cfg.clip) || !(cfg.clip >= 0)) throw std::invalid_argument("--clip must be finite and >= 0 (0 turns clipping off)");
  if (cfg.meta_batch <= 0 || cfg.problems_per_epoch % cfg.meta_batch != 0)
    throw std::invalid_argument("--problems-per-epoch (" + std::to_string(cfg.problems_per_epoch) +
                                ") must be a multiple of --meta-batch (" + std::to_string(cfg.meta_batch) + ")");
}

std::vector<int> MetaRun::my_problems(int n) const {
  std::vector<int> all(n);
  for (int i = 0; i < n; i++) all[i] = i;
  return all;
}

std::vector<std::vector<double>> MetaRun::gather(std::vector<std::vector<double>> mine, int, size_t) const { return mine; }

int training_horizon(const MetaConfig& cfg, int epoch) {
  if (cfg.curriculum.empty()) return cfg.steps;
  const long S = (long)cfg.curriculum.size();
  const long s = std::min(S - 1, std::max(0L, (long)epoch * S / cfg.epochs));  // stage: an equal share of the epochs
  return cfg.curriculum[s];
}

long updates_in_epoch(const MetaConfig& cfg, int epoch) {
  return (long)(cfg.problems_per_epoch / cfg.meta_batch) * (training_horizon(cfg, epoch) / cfg.unroll);
}

MetaResult meta_train(LearnedOptimizer& opt, const Task& task, const MetaConfig& cfg, Adam& meta_opt, MetaState& st,
                      MetaRun& run) {
  check_config(cfg);
  std::vector<Param*> phi = opt.params();
  if (!st.scored_untrained) {  // epoch -1: the bar every epoch must beat
    st.untrained_val = st.best_val = validation_score(opt, task, cfg, run);
    st.best_phi = snapshot(phi);
    st.scored_untrained = true;
    run.scored(-1, st.untrained_val, true, st);
  }
  MetaResult res;
  Tape tape;
  for (; st.next_epoch < cfg.epochs;) {
    auto t0 = std::chrono::steady_clock::now();
    double train_loss = train_epoch(opt, task, cfg, st, meta_opt, run, tape);
    res.train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    res.meta_updates += updates_in_epoch(cfg, st.next_epoch);
    double val = validation_score(opt, task, cfg, run);
    st.train_history.push_back(train_loss);
    st.val_history.push_back(val);
    bool best = val < st.best_val;
    if (best) st.best_val = val, st.best_epoch = st.next_epoch, st.best_phi = snapshot(phi);
    st.next_epoch++;
    run.scored(st.next_epoch - 1, val, best, st);
  }
  for (size_t i = 0; i < phi.size(); i++) phi[i]->value = st.best_phi[i].second;
  res.best_val = st.best_val, res.best_epoch = st.best_epoch, res.untrained_val = st.untrained_val;
  res.val_history = st.val_history, res.train_history = st.train_history;
  return res;
}

MetaResult meta_train(LearnedOptimizer& opt, const Task& task, const MetaConfig& cfg) {
  Adam meta_opt(cfg.meta_lr);
  MetaState st;
  MetaRun here;
  return meta_train(opt, task, cfg, meta_opt, st, here);
}

}  // namespace l2l
