// meta.cpp: see meta.h.
#include "meta.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "nn/checkpoint.h"

namespace l2l {

double unroll_window(LearnedOptimizer& opt, Problem& prob, Tensor& theta, std::vector<NetState>& state,
                     Rng& batch_rng, int U, bool include_start, Tape& tape) {
  tape.clear();
  // theta must require grad so that Tape::grad can differentiate f with respect to it.
  Var th = tape.leaf(theta, true);
  int K = opt.num_nets();
  std::vector<std::vector<Var>> h(K), c(K);
  for (int k = 0; k < K; k++)
    for (size_t l = 0; l < state[k].h.size(); l++) {
      h[k].push_back(tape.constant(state[k].h[l]));
      c[k].push_back(tape.constant(state[k].c[l]));
    }
  Var L;
  auto add_loss = [&](Var f) { L = L.tape ? L + f : f; };
  for (int t = 0; t < U; t++) {
    Var f = prob.loss(tape, th, batch_rng);
    if (t > 0 || include_start) add_loss(f);
    // The optimizee gradient enters the optimizer as a constant: Tape::grad returns plain
    // tensors and leaves no edge from grad_t back to phi. This is the paper's d grad_t / d phi = 0,
    // which spares the Hessian of f. f_t itself stays on the tape, so L still reaches phi
    // through theta_t = theta_{t-1} + m(...; phi).
    Tensor g = tape.grad(f, {th})[0];
    th = th + opt.update(tape, g, h, c);
  }
  add_loss(prob.loss(tape, th, batch_rng));
  tape.backward(L);
  // Carry theta and the state into the next window as plain tensors (truncation).
  theta = th.value();
  for (int k = 0; k < K; k++)
    for (size_t l = 0; l < h[k].size(); l++) {
      state[k].h[l] = h[k][l].value();
      state[k].c[l] = c[k][l].value();
    }
  return L.item();
}

namespace {

bool all_finite(const std::vector<Param*>& ps) {
  for (Param* p : ps)
    for (size_t i = 0; i < p->grad.size(); i++)
      if (!std::isfinite(p->grad[i])) return false;
  return true;
}

// The score of phi for early stopping: mean f over all T+1 points of each validation problem,
// the meta-training objective itself. (Baselines' learning rates are tuned on the final loss
// instead, as the paper does: the two criteria differ on purpose.)
double validate(LearnedOptimizer& opt, const Task& task, const MetaConfig& cfg) {
  Curves c = evaluate(opt, task, Split::val, cfg.val_problems, cfg.steps, false);
  double s = 0;
  for (double v : c.mean()) s += v;
  return s / (cfg.steps + 1);
}

// Per-epoch histories as text in a checkpoint's metadata ("%.17g" round-trips a double).
std::string join_list(const std::vector<double>& v) {
  std::string s;
  char b[32];
  for (double x : v) {
    std::snprintf(b, sizeof b, "%.17g", x);
    s += (s.empty() ? "" : ",") + std::string(b);
  }
  return s;
}
std::vector<double> parse_list(const std::string& s) {
  std::vector<double> v;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    v.push_back(std::stod(s.substr(i, j - i)));
    i = j + 1;
  }
  return v;
}

NamedTensors snapshot(const std::vector<Param*>& ps) {
  NamedTensors t;
  for (Param* p : ps) t.push_back({p->name, p->value});
  return t;
}

void restore(const std::vector<Param*>& ps, const NamedTensors& t) {
  for (size_t i = 0; i < ps.size(); i++) ps[i]->value = t[i].second;
}

// A progress line: a bar with meta-loss and ETA on a terminal, plain lines otherwise.
struct Progress {
  bool tty = isatty(2);
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  long total, last_line = -1;
  explicit Progress(long t) : total(t) {}
  void show(long done, int epoch, double loss) {
    double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double eta = done ? el / done * (total - done) : 0;
    if (tty) {
      int w = 30, fill = (int)(w * done / std::max(total, 1L));
      std::fprintf(stderr, "\r[%.*s%*s] %ld/%ld epoch %d meta-loss %.4g ETA %.0fs ", fill,
                   "##############################", w - fill, "", done, total, epoch, loss, eta);
    } else if (el - last_line >= 10 || done == total) {
      last_line = (long)el;
      std::fprintf(stderr, "  %ld/%ld meta-iterations, epoch %d, meta-loss %.4g, %.0fs elapsed, ETA %.0fs\n", done, total,
                   epoch, loss, el, eta);
    }
  }
  void end_line() { if (tty) std::fprintf(stderr, "\n"); }
};

}  // namespace

MetaResult meta_train(LearnedOptimizer& opt, const Task& task, const MetaConfig& cfg,
                      const std::vector<std::pair<std::string, std::string>>& config_dump) {
  if (cfg.steps % cfg.unroll != 0)
    throw std::invalid_argument("--steps (" + std::to_string(cfg.steps) + ") must be a multiple of --unroll (" +
                                std::to_string(cfg.unroll) + ")");
  std::vector<Param*> phi = opt.params();
  Adam meta_opt(cfg.meta_lr);
  MetaResult res;
  res.best_val = INFINITY;
  NamedTensors best = snapshot(phi);
  int start_epoch = 0;
  uint64_t problem_counter = 0;
  const std::string state_path = cfg.out_dir.empty() ? "" : cfg.out_dir + "/train_state.ckpt";
  const std::string best_path = cfg.out_dir.empty() ? "" : cfg.out_dir + "/phi.ckpt";
  if (!cfg.out_dir.empty()) std::filesystem::create_directories(cfg.out_dir);

  if (cfg.resume) {
    if (state_path.empty() || !std::filesystem::exists(state_path))
      throw std::runtime_error("--resume: no training state at '" + state_path + "' (train once without --resume first)");
    Checkpoint ck = load_checkpoint(state_path);
    load_params(ck, phi, "phi.");
    meta_opt.load_state(tensors_with_prefix(ck, "adam."));
    best = tensors_with_prefix(ck, "best.");
    auto num = [&](const char* k) {
      const std::string* v = ck.meta_value(k);
      if (!v) throw std::runtime_error(state_path + ": missing '" + k + "' (not a training state checkpoint?)");
      return *v;
    };
    // The run must go on with the settings it started with (only --epochs may grow).
    std::string diff;
    for (const auto& [k, v] : config_dump) {
      if (k == "epochs" || k == "resume" || k == "out") continue;
      const std::string* old = ck.meta_value(k);
      if (old && *old != v) diff += "\n  --" + k + " was " + *old + ", now " + v;
    }
    if (!diff.empty())
      throw std::runtime_error("--resume: " + state_path + " was trained with other settings:" + diff +
                               "\nResume with the original flags (see " + cfg.out_dir + "/config.txt), or train into a new --out.");
    start_epoch = std::stoi(num("epoch")) + 1;
    res.train_history = parse_list(num("train_history"));
    res.val_history = parse_list(num("val_history"));
    problem_counter = std::stoull(num("problem_counter"));
    res.best_val = std::stod(num("best_val"));
    res.best_epoch = std::stoi(num("best_epoch"));
    if (!cfg.quiet) std::fprintf(stderr, "resuming from %s at epoch %d\n", state_path.c_str(), start_epoch);
  }

  long windows = cfg.steps / cfg.unroll;
  Progress bar((long)(cfg.epochs - start_epoch) * cfg.problems_per_epoch * windows);
  long done = 0;
  Tape tape;
  for (int epoch = start_epoch; epoch < cfg.epochs; epoch++) {
    double epoch_loss = 0;
    for (int p = 0; p < cfg.problems_per_epoch; p++) {
      uint64_t seed = problem_seed(Split::train, problem_counter++, cfg.seed);
      ProblemInstance pi = problem_instance(task, seed);
      Problem* prob = pi.problem.get();
      Rng& batch_rng = pi.batch_rng;
      Tensor theta = std::move(pi.theta0);
      opt.set_groups(prob->group_sizes());
      std::vector<NetState> state = opt.zero_state();
      for (long w = 0; w < windows; w++) {
        for (Param* q : phi) q->zero_grad();
        double L = unroll_window(opt, *prob, theta, state, batch_rng, cfg.unroll, cfg.include_start, tape);
        if (!std::isfinite(L) || !all_finite(phi))
          throw std::runtime_error("meta-training diverged at epoch " + std::to_string(epoch) + ", problem " +
                                   std::to_string(p) + ", window " + std::to_string(w) + ": meta-loss " +
                                   std::to_string(L) + (all_finite(phi) ? "" : " (non-finite meta-gradient)") +
                                   ". Nothing was saved for this epoch; the last checkpoint in '" + cfg.out_dir +
                                   "' is intact. Try a smaller --meta-lr or --clip.");
        if (cfg.clip > 0)
          for (Param* q : phi)
            for (size_t i = 0; i < q->grad.size(); i++)
              q->grad[i] = std::max((real)-cfg.clip, std::min((real)cfg.clip, q->grad[i]));
        step_params(meta_opt, phi);
        epoch_loss += L / (cfg.problems_per_epoch * windows);
        if (!cfg.quiet) bar.show(++done, epoch, L);
      }
    }
    double val = validate(opt, task, cfg);
    res.train_history.push_back(epoch_loss);
    res.val_history.push_back(val);
    bool improved = val < res.best_val;
    if (improved) res.best_val = val, res.best_epoch = epoch, best = snapshot(phi);
    if (!cfg.quiet) {
      bar.end_line();
      std::fprintf(stderr, "epoch %d: train meta-loss %.5g, validation mean f %.5g%s\n", epoch, epoch_loss, val,
                   improved ? " (best so far)" : "");
    }
    if (!cfg.out_dir.empty()) {
      Checkpoint ck;
      ck.meta = config_dump;
      ck.meta.push_back({"epoch", std::to_string(epoch)});
      ck.meta.push_back({"problem_counter", std::to_string(problem_counter)});
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", res.best_val);
      ck.meta.push_back({"best_val", buf});
      ck.meta.push_back({"best_epoch", std::to_string(res.best_epoch)});
      ck.meta.push_back({"train_history", join_list(res.train_history)});
      ck.meta.push_back({"val_history", join_list(res.val_history)});
      add_params(ck, phi, "phi.");
      add_tensors(ck, "adam.", meta_opt.state());
      add_tensors(ck, "best.", best);
      save_checkpoint(state_path, ck);  // atomic: write, then rename
      Checkpoint b;
      b.meta = config_dump;
      b.meta.push_back({"best_epoch", std::to_string(res.best_epoch)});
      b.meta.push_back({"best_val", buf});
      b.tensors = best;
      save_checkpoint(best_path, b);
    }
  }
  restore(phi, best);
  return res;
}

}  // namespace l2l
