// meta.cpp: one truncated-BPTT window, and the epochs, validation and checkpoints around it.
// See meta.h for the method.
#include "tasks/meta.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "tasks/run/comm.h"
#include "nn/checkpoint.h"
#include "tasks/run/progress.h"
#include "tasks/run/run_dir.h"

namespace l2l {

Trajectory start_trajectory(const LearnedOptimizer& opt, const Task& task, uint64_t seed) {
  ProblemInstance pi = problem_instance(task, seed);
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

namespace {

// Runs `step` on this rank; if it throws on any rank, every rank throws the first failing
// rank's message (comm::first_error), so no rank is left waiting in the next collective.
template <class F>
void on_every_rank(F&& step) {
  std::string err;
  try {
    step();
  } catch (const std::exception& e) {
    err = e.what();
    if (err.empty()) err = "unknown error";
  }
  comm::raise_if_any(err);
}

// The score of phi for early stopping: mean f over all T+1 points of each validation problem,
// the meta-training objective itself. (Baselines' learning rates are tuned on the final loss
// instead, as the paper does: the two criteria differ on purpose.) Rank r runs problems
// r, r+R, ...; the curves are gathered and averaged in problem order, as evaluate() does.
double validate(LearnedOptimizer& opt, const Task& task, const MetaConfig& cfg) {
  const int n = cfg.val_problems, R = comm::size(), r = comm::rank(), per = (n + R - 1) / R;
  const size_t len = cfg.steps + 1;
  std::vector<double> mine(per * len, NAN);
  on_every_rank([&] {
    for (int j = 0; j < per && r + j * R < n; j++) {
      RunResult rr = run_optimizer(opt, task, problem_seed(Split::val, r + j * R, 0), cfg.steps, false);
      std::copy(rr.loss.begin(), rr.loss.end(), mine.begin() + j * len);
    }
  });
  std::vector<double> all = comm::allgather(mine);
  Curves c;
  for (int i = 0; i < n; i++) {
    const double* from = all.data() + ((i % R) * per + i / R) * len;
    c.runs.emplace_back(from, from + len);
  }
  double s = 0;
  for (double v : c.mean()) s += v;
  return s / (cfg.steps + 1);
}

std::string exact(double x) {  // "%.17g" round-trips a double
  char b[32];
  std::snprintf(b, sizeof b, "%.17g", x);
  return b;
}

// Per-epoch histories as text in a checkpoint's metadata.
std::string join_list(const std::vector<double>& v) {
  std::string s;
  for (double x : v) s += (s.empty() ? "" : ",") + exact(x);
  return s;
}

NamedTensors snapshot(const std::vector<Param*>& ps) {
  NamedTensors t;
  for (Param* p : ps) t.push_back({p->name, p->value});
  return t;
}

void restore(const std::vector<Param*>& ps, const NamedTensors& t) {
  for (size_t i = 0; i < ps.size(); i++) ps[i]->value = t[i].second;
}

// Everything a run carries from epoch to epoch, and what --resume restores.
struct RunState {
  MetaResult res;
  NamedTensors best;
  int start_epoch = 0;
  uint64_t problem_counter = 0;
  int saved_epoch = -1;  // the epoch of the newest checkpoint on disk (-1: none yet)
};

// A metadata value of a training-state checkpoint; errors name the file and the key.
struct StateReader {
  const Checkpoint& ck;
  const std::string& path;
  const std::string& str(const char* k) const {
    const std::string* v = ck.meta_value(k);
    if (!v) throw std::runtime_error(path + ": missing '" + k + "' (not a training state checkpoint?)");
    return *v;
  }
  double number(const char* k) const {
    const std::string& v = str(k);
    char* end = nullptr;
    double x = std::strtod(v.c_str(), &end);
    if (v.empty() || *end) throw std::runtime_error(path + ": metadata " + k + " = '" + v + "' is not a number");
    return x;
  }
  long integer(const char* k, long lo, long hi) const {
    double x = number(k);
    if (x != std::floor(x) || x < lo || x > hi)
      throw std::runtime_error(path + ": metadata " + k + " = '" + str(k) + "' is not an integer in " + std::to_string(lo) +
                               ".." + std::to_string(hi));
    return (long)x;
  }
  std::vector<double> list(const char* k) const {
    std::vector<double> v;
    const std::string& s = str(k);
    for (size_t i = 0; i < s.size();) {
      size_t j = std::min(s.find(',', i), s.size());
      char* end = nullptr;
      std::string item = s.substr(i, j - i);
      v.push_back(std::strtod(item.c_str(), &end));
      if (item.empty() || *end) throw std::runtime_error(path + ": metadata " + k + " holds '" + item + "', not a number");
      i = j + 1;
    }
    return v;
  }
};

// The run must go on with the settings it started with (only --epochs may grow).
void check_same_settings(const Checkpoint& ck, const std::vector<std::pair<std::string, std::string>>& config_dump,
                         const std::string& path, const std::string& dir) {
  std::string diff;
  for (const auto& [k, v] : config_dump) {
    if (k == "epochs" || k == "resume" || k == "out" || k == "overwrite" || k == "threads") continue;
    const std::string* old = ck.meta_value(k);
    static const std::string one = "1";
    if (!old && k == "meta-batch") old = &one;  // a run from before --meta-batch existed had K = 1
    if (old && *old != v) diff += "\n  --" + k + " was " + *old + ", now " + v;
  }
  if (!diff.empty())
    throw std::runtime_error("--resume: " + path + " was trained with other settings:" + diff +
                             "\nResume with the original flags (see " + dir + "/config.txt), or train into a new --out.");
}

// The training state as rank 0 reads it, on every rank (the other ranks may be on machines
// without the run directory).
Checkpoint load_state_everywhere(const std::string& path) {
  std::string bytes;
  on_every_rank([&] {
    if (!comm::is_root()) return;
    if (path.empty() || !std::filesystem::exists(path))
      throw std::runtime_error("--resume: no training state at '" + path + "' (train once without --resume first)");
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (!in && !in.eof()) throw std::runtime_error("--resume: cannot read '" + path + "'");
    bytes = ss.str();
  });
  if (comm::size() == 1) return load_checkpoint(path);  // the serial path, as before
  comm::broadcast(bytes);
  Checkpoint ck;
  on_every_rank([&] { ck = decode_checkpoint((const unsigned char*)bytes.data(), bytes.size(), path); });
  return ck;
}

RunState resume_run(const MetaConfig& cfg, const std::vector<std::pair<std::string, std::string>>& config_dump,
                    const std::vector<Param*>& phi, Adam& meta_opt, const std::string& path) {
  Checkpoint ck = load_state_everywhere(path);
  check_same_settings(ck, config_dump, path, cfg.out_dir);
  StateReader r{ck, path};
  RunState run;
  run.saved_epoch = (int)r.integer("epoch", 0, 1000000000);
  run.start_epoch = run.saved_epoch + 1;
  if (cfg.epochs <= run.start_epoch)
    throw std::runtime_error("--resume: " + path + " has already trained " + std::to_string(run.start_epoch) +
                             " epochs, so --epochs " + std::to_string(cfg.epochs) + " adds none: pass --epochs > " +
                             std::to_string(run.start_epoch));
  load_params(ck, phi, "phi.");
  meta_opt.load_state(tensors_with_prefix(ck, "adam."));
  run.best = tensors_with_prefix(ck, "best.");
  bool best_fits = run.best.size() == phi.size();
  for (size_t i = 0; best_fits && i < phi.size(); i++)
    best_fits = run.best[i].first == phi[i]->name && run.best[i].second.shape() == phi[i]->value.shape();
  if (!best_fits) throw std::runtime_error(path + ": its best.* tensors do not match the optimizer's phi (a foreign or damaged training state)");
  run.res.train_history = r.list("train_history");
  run.res.val_history = r.list("val_history");
  run.problem_counter = (uint64_t)r.integer("problem_counter", 0, 1L << 39);
  run.res.best_val = r.number("best_val");
  run.res.best_epoch = (int)r.integer("best_epoch", -1, run.saved_epoch);
  run.res.untrained_val = r.number("untrained_val");
  if (!cfg.quiet) std::fprintf(stderr, "resuming from %s at epoch %d\n", path.c_str(), run.start_epoch);
  return run;
}

// A fresh run starts by scoring the untrained phi: the bar every epoch must beat.
RunState fresh_run(LearnedOptimizer& opt, const Task& task, const MetaConfig& cfg, const std::vector<Param*>& phi) {
  RunState run;
  run.best = snapshot(phi);
  run.res.untrained_val = run.res.best_val = validate(opt, task, cfg);
  if (!cfg.quiet) std::fprintf(stderr, "epoch -1 (untrained phi): validation mean f %.5g\n", run.res.untrained_val);
  return run;
}

std::string divergence_message(const MetaConfig& cfg, const RunState& run, int epoch, int p, long w, double L,
                               bool grad_finite) {
  std::string where;
  if (cfg.out_dir.empty()) where = "";
  else if (run.saved_epoch >= 0) where = " The checkpoint of epoch " + std::to_string(run.saved_epoch) + " in '" + cfg.out_dir + "' is intact.";
  else if (std::filesystem::exists(cfg.out_dir + "/phi.ckpt")) where = " The files already in '" + cfg.out_dir + "' are untouched.";
  else where = " No checkpoint had been written to '" + cfg.out_dir + "' yet.";
  return "meta-training diverged at epoch " + std::to_string(epoch) + ", problem " + std::to_string(p) + ", window " +
         std::to_string(w) + ": meta-loss " + exact(L) + (grad_finite ? "" : " (non-finite meta-gradient)") +
         ". Nothing of this epoch was saved." + where +
         " Start a new run (another --out; --resume keeps the settings) with a smaller --meta-lr (now " + exact(cfg.meta_lr) +
         ") or with --clip, or a smaller --out-scale.";
}

// The meta-gradient of phi as one buffer, entry after entry of each Param, and the window's
// meta-loss last: what a rank contributes per problem to a meta-update's gather.
std::vector<double> flat_metagrad(const std::vector<Param*>& phi, double L) {
  std::vector<double> v;
  for (Param* p : phi)
    for (size_t i = 0; i < p->grad.size(); i++) v.push_back(p->grad[i]);
  v.push_back(L);
  return v;
}

// One meta-update of a group: this rank advances its trajectories one window each; the K
// meta-gradients are gathered; every rank averages them in problem order into phi's grads
// (K = 1: the one meta-gradient itself, bit for bit) and returns the mean meta-loss. Throws
// naming the first problem (in problem order) whose meta-loss or meta-gradient is not finite.
double group_update(LearnedOptimizer& opt, const MetaConfig& cfg, const RunState& run, std::vector<Trajectory>& mine,
                    int epoch, int first_problem, long w, Tape& tape) {
  std::vector<Param*> phi = opt.params();
  size_t n = 1;
  for (Param* q : phi) n += q->grad.size();
  std::vector<double> local;
  on_every_rank([&] {
    for (Trajectory& tr : mine) {
      for (Param* q : phi) q->zero_grad();
      double L = unroll_window(opt, tr, cfg.unroll, cfg.include_start, tape);
      std::vector<double> g = flat_metagrad(phi, L);
      local.insert(local.end(), g.begin(), g.end());
    }
  });
  std::vector<double> all = comm::allgather(local);  // [problem k][entry], k = 0..K-1 in rank order
  const int K = cfg.meta_batch;
  for (int k = 0; k < K; k++) {
    const double* g = all.data() + k * n;
    bool grad_finite = true;
    for (size_t j = 0; j + 1 < n; j++) grad_finite = grad_finite && std::isfinite(g[j]);
    if (!std::isfinite(g[n - 1]) || !grad_finite)
      throw comm::AgreedError(divergence_message(cfg, run, epoch, first_problem + k, w, g[n - 1], grad_finite));
  }
  size_t j = 0;
  for (Param* q : phi)
    for (size_t i = 0; i < q->grad.size(); i++, j++) {
      double s = all[j];
      for (int k = 1; k < K; k++) s += all[k * n + j];
      q->grad[i] = (real)(s / K);
    }
  double L = all[n - 1];
  for (int k = 1; k < K; k++) L += all[k * n + n - 1];
  return L / K;
}

// One epoch: problems_per_epoch fresh training problems in groups of K, T/U meta-updates per
// group (T = the epoch's training horizon). Returns the mean meta-loss of its windows.
double train_epoch(LearnedOptimizer& opt, const Task& task, const MetaConfig& cfg, RunState& run, int epoch,
                   Adam& meta_opt, Progress& bar, long& done, Tape& tape) {
  std::vector<Param*> phi = opt.params();
  const long windows = training_horizon(cfg, epoch) / cfg.unroll;
  const int K = cfg.meta_batch, share = K / comm::size(), groups = cfg.problems_per_epoch / K;
  double epoch_loss = 0;
  for (int g = 0; g < groups; g++) {
    std::vector<Trajectory> mine;  // this rank's problems of the group: [rank*share, (rank+1)*share)
    on_every_rank([&] {
      for (int k = comm::rank() * share; k < (comm::rank() + 1) * share; k++)
        mine.push_back(start_trajectory(opt, task, problem_seed(Split::train, run.problem_counter + k, cfg.seed)));
    });
    run.problem_counter += K;
    for (long w = 0; w < windows; w++) {
      double L = group_update(opt, cfg, run, mine, epoch, g * K, w, tape);
      if (cfg.clip > 0)
        for (Param* q : phi)
          for (size_t i = 0; i < q->grad.size(); i++)
            q->grad[i] = std::max((real)-cfg.clip, std::min((real)cfg.clip, q->grad[i]));
      step_params(meta_opt, phi);
      epoch_loss += L / (groups * windows);
      char what[96];
      std::snprintf(what, sizeof what, "meta-iterations, epoch %d, meta-loss %.4g", epoch, L);
      bar.show(++done, what);
    }
  }
  return epoch_loss;
}

// train_log.csv: epoch -1 is the untrained phi.
std::string train_log(const MetaResult& r) {
  std::string log = "epoch,train_meta_loss,val_mean_f\n-1,," + exact(r.untrained_val) + "\n";
  for (size_t e = 0; e < r.val_history.size(); e++)
    log += std::to_string(e) + "," + exact(r.train_history[e]) + "," + exact(r.val_history[e]) + "\n";
  return log;
}

// After an epoch: train_state.ckpt (everything --resume needs), phi.ckpt (the best phi and the
// nets' configuration), train_log.csv, and config.txt the first time, so that a run directory
// never holds a config.txt without the run it describes. Each write is atomic.
void save_run(const LearnedOptimizer& opt, const std::vector<Param*>& phi, const Adam& meta_opt, const MetaConfig& cfg,
              const std::vector<std::pair<std::string, std::string>>& config_dump, RunState& run, int epoch) {
  std::vector<std::pair<std::string, std::string>> meta = config_dump, nets = net_config_meta(opt.configs());
  meta.insert(meta.end(), nets.begin(), nets.end());
  meta.push_back({"best_epoch", std::to_string(run.res.best_epoch)});
  meta.push_back({"best_val", exact(run.res.best_val)});
  meta.push_back({"untrained_val", exact(run.res.untrained_val)});
  Checkpoint state;
  state.meta = meta;
  state.meta.push_back({"epoch", std::to_string(epoch)});
  state.meta.push_back({"problem_counter", std::to_string(run.problem_counter)});
  state.meta.push_back({"train_history", join_list(run.res.train_history)});
  state.meta.push_back({"val_history", join_list(run.res.val_history)});
  add_params(state, phi, "phi.");
  add_tensors(state, "adam.", meta_opt.state());
  add_tensors(state, "best.", run.best);
  if (run.saved_epoch < 0 && !cfg.resume && !cfg.config_text.empty()) write_file_atomic(cfg.out_dir + "/config.txt", cfg.config_text);
  save_checkpoint(cfg.out_dir + "/train_state.ckpt", state);
  Checkpoint best;
  best.meta = meta;
  best.tensors = run.best;
  save_checkpoint(cfg.out_dir + "/phi.ckpt", best);
  write_file_atomic(cfg.out_dir + "/train_log.csv", train_log(run.res));
  run.saved_epoch = epoch;
}

// Meta-updates of one epoch: (problems / K) groups x (T / U) windows.
long updates_in_epoch(const MetaConfig& cfg, int epoch) {
  return (long)(cfg.problems_per_epoch / cfg.meta_batch) * (training_horizon(cfg, epoch) / cfg.unroll);
}

// The curriculum part of check_config: every horizon a positive multiple of U, one epoch per stage at least.
void check_curriculum(const MetaConfig& cfg) {
  for (int T : cfg.curriculum)
    if (T <= 0 || T % cfg.unroll != 0)
      throw std::invalid_argument("--curriculum: every horizon must be a positive multiple of --unroll (" + std::to_string(cfg.unroll) +
                                  "), got " + std::to_string(T));
  if ((long)cfg.curriculum.size() > cfg.epochs)
    throw std::invalid_argument("--curriculum has " + std::to_string(cfg.curriculum.size()) + " stages but --epochs is " +
                                std::to_string(cfg.epochs) + ": each stage needs one epoch at least (more epochs, or fewer stages)");
}

}  // namespace

int training_horizon(const MetaConfig& cfg, int epoch) {
  if (cfg.curriculum.empty()) return cfg.steps;
  const long S = (long)cfg.curriculum.size();
  const long s = std::min(S - 1, std::max(0L, (long)epoch * S / cfg.epochs));  // stage: an equal share of the epochs
  return cfg.curriculum[s];
}

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
    throw std::invalid_argument("--problems-per-epoch (" + std::to_string(cfg.problems_per_epoch) + ") must be a multiple of --meta-batch (" +
                                std::to_string(cfg.meta_batch) + ")");
  if (cfg.meta_batch % comm::size() != 0)
    throw std::invalid_argument("--meta-batch (" + std::to_string(cfg.meta_batch) + ") must be a multiple of the number of MPI ranks (" +
                                std::to_string(comm::size()) + "): each rank runs the same share of every meta-update. Use mpirun -np " +
                                "with a divisor of " + std::to_string(cfg.meta_batch) + ", or a larger --meta-batch.");
}


MetaResult meta_train(LearnedOptimizer& opt, const Task& task, const MetaConfig& cfg_in,
                      const std::vector<std::pair<std::string, std::string>>& config_dump) {
  check_config(cfg_in);
  MetaConfig cfg = cfg_in;
  cfg.quiet = cfg.quiet || !comm::is_root();
  const bool writes = !cfg.out_dir.empty() && comm::is_root();
  std::vector<Param*> phi = opt.params();
  Adam meta_opt(cfg.meta_lr);
  if (writes) std::filesystem::create_directories(cfg.out_dir);
  RunState run = cfg.resume ? resume_run(cfg, config_dump, phi, meta_opt, cfg.out_dir.empty() ? "" : cfg.out_dir + "/train_state.ckpt")
                            : fresh_run(opt, task, cfg, phi);
  long total = 0;
  for (int e = run.start_epoch; e < cfg.epochs; e++) total += updates_in_epoch(cfg, e);
  Progress bar(total, cfg.quiet);
  long done = 0;
  Tape tape;
  for (int epoch = run.start_epoch; epoch < cfg.epochs; epoch++) {
    auto t0 = std::chrono::steady_clock::now();
    double comm0 = comm::seconds_in_collectives();
    double train_loss = train_epoch(opt, task, cfg, run, epoch, meta_opt, bar, done, tape);
    run.res.train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    run.res.comm_seconds += comm::seconds_in_collectives() - comm0;
    run.res.meta_updates += updates_in_epoch(cfg, epoch);
    double val = validate(opt, task, cfg);
    run.res.train_history.push_back(train_loss);
    run.res.val_history.push_back(val);
    bool improved = val < run.res.best_val;
    if (improved) run.res.best_val = val, run.res.best_epoch = epoch, run.best = snapshot(phi);
    bar.end_line();
    if (!cfg.quiet)
      std::fprintf(stderr, "epoch %d%s: train meta-loss %.5g, validation mean f %.5g%s\n", epoch,
                   cfg.curriculum.empty() ? "" : (" (horizon " + std::to_string(training_horizon(cfg, epoch)) + ")").c_str(),
                   train_loss, val, improved ? " (best so far)" : "");
    if (writes) save_run(opt, phi, meta_opt, cfg, config_dump, run, epoch);
  }
  restore(phi, run.best);
  return run.res;
}

}  // namespace l2l
