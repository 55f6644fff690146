// train_state.cpp: see train_state.h.
#include "tasks/run/train_state.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "nn/files.h"

namespace l2l {

namespace {

std::string join_list(const std::vector<double>& v) {
  std::string s;
  for (double x : v) s += (s.empty() ? "" : ",") + exact_text(x);
  return s;
}

// What both checkpoints carry: the settings, the nets, and the scores so far.
Settings common_meta(LearnedOptimizer& opt, const MetaState& st, const Settings& settings) {
  Settings meta = settings, nets = net_config_meta(opt.configs());
  meta.insert(meta.end(), nets.begin(), nets.end());
  meta.push_back({"best_epoch", std::to_string(st.best_epoch)});
  meta.push_back({"best_val", exact_text(st.best_val)});
  meta.push_back({"untrained_val", exact_text(st.untrained_val)});
  return meta;
}

// With a curriculum, its stages are shares of the epochs (training_horizon): resumed with
// another --epochs, the run would train another schedule than a fresh run with the same flags.
void check_same_schedule(const Checkpoint& ck, const std::string& epochs, const std::string& path) {
  const std::string* curriculum = ck.meta_value("curriculum");
  const std::string* old = ck.meta_value("epochs");
  if (!curriculum || curriculum->empty() || !old || *old == epochs) return;
  throw std::runtime_error("--resume: " + path + " was trained with --curriculum " + *curriculum + " over --epochs " +
                           *old + ": its stages are shares of the epochs, so --epochs " + epochs +
                           " would train another schedule than a fresh run with these flags.\nResume with --epochs " +
                           *old + ", or train afresh with --epochs " + epochs + " (another --out, or --overwrite true).");
}

// The run must go on with the settings it started with (only --epochs may grow, and not with a
// curriculum).
void check_same_settings(const Checkpoint& ck, const Settings& settings, const std::string& path) {
  const std::string config = (std::filesystem::path(path).parent_path() / "config.txt").string();
  std::string diff;
  for (const auto& [k, v] : settings) {
    if (k == "epochs") check_same_schedule(ck, v, path);
    if (k == "epochs" || k == "resume" || k == "out" || k == "overwrite" || k == "threads" || k == "verbose" ||
        k == "stop-after")
      continue;
    const std::string* old = ck.meta_value(k);
    static const std::string one = "1";
    if (!old && k == "meta-batch") old = &one;  // a run from before --meta-batch existed had K = 1
    if (old && *old != v) diff += "\n  --" + k + " was " + *old + ", now " + v;
  }
  if (!diff.empty())
    throw std::runtime_error("--resume: " + path + " was trained with other settings:" + diff +
                             "\nResume with the original flags (see " + config + "), or train into a new --out.");
}

// best.* must be a phi of this optimizer.
void check_best_fits(const NamedTensors& best, const std::vector<Param*>& phi, const std::string& path) {
  bool fits = best.size() == phi.size();
  for (size_t i = 0; fits && i < phi.size(); i++)
    fits = best[i].first == phi[i]->name && best[i].second.shape() == phi[i]->value.shape();
  if (!fits)
    throw std::runtime_error(path + ": its best.* tensors do not match the optimizer's phi (a foreign or damaged training state)");
}

// The file's optimizer (its nets' metadata, digest checked) must be the one the flags build.
void check_same_nets(const Checkpoint& ck, const std::vector<NetConfig>& now, const std::string& path) {
  if (!MetadataReader(ck).has("nets")) return;  // a state from before the nets were recorded
  const std::vector<NetConfig> was = net_configs_from_meta(ck.meta, path);
  std::string diff;
  for (size_t k = 0; k < std::max(was.size(), now.size()); k++) {
    const std::string a = k < was.size() ? was[k].describe() : "none", b = k < now.size() ? now[k].describe() : "none";
    if (a != b) diff += "\n  net" + std::to_string(k) + " was " + a + ", now " + b;
  }
  if (!diff.empty())
    throw std::runtime_error("--resume: " + path + " was trained with another optimizer:" + diff +
                             "\nResume with the original flags (see config.txt beside it), or train into a new --out.");
}

}  // namespace

std::string train_log_csv(const MetaState& st) {
  std::string log = "epoch,train_meta_loss,val_score\n-1,," + exact_text(st.untrained_val) + "\n";
  for (size_t e = 0; e < st.val_history.size(); e++)
    log += std::to_string(e) + "," + exact_text(st.train_history[e]) + "," + exact_text(st.val_history[e]) + "\n";
  return log;
}

void save_run_files(const std::string& dir, LearnedOptimizer& opt, const Adam& meta_opt, const MetaState& st,
                    const Settings& settings, const std::string& config_text, const AfterWrite& after_write) {
  auto written = [&](const std::string& file) {
    if (after_write) after_write(file);
  };
  const Settings meta = common_meta(opt, st, settings);
  Checkpoint state;
  state.meta = meta;
  state.meta.push_back({"epoch", std::to_string(st.next_epoch - 1)});
  state.meta.push_back({"problem_counter", std::to_string(st.problems_used)});
  state.meta.push_back({"train_history", join_list(st.train_history)});
  state.meta.push_back({"val_history", join_list(st.val_history)});
  add_params(state, opt.params(), "phi.");
  add_tensors(state, "adam.", meta_opt.state());
  add_tensors(state, "best.", st.best_phi);
  Checkpoint best;
  best.meta = meta;
  best.tensors = st.best_phi;
  // train_state.ckpt last: it is the commit point. Killed before it, the epoch is trained again
  // on --resume and rewrites the other files with the same bytes.
  if (!config_text.empty()) write_file_atomic(dir + "/config.txt", config_text), written("config.txt");
  save_checkpoint(dir + "/phi.ckpt", best);
  written("phi.ckpt");
  write_file_atomic(dir + "/train_log.csv", train_log_csv(st));
  written("train_log.csv");
  save_checkpoint(dir + "/train_state.ckpt", state);
  written("train_state.ckpt");
}

MetaState load_run_state(const std::string& path, const Checkpoint& ck, const Settings& settings, LearnedOptimizer& opt,
                         Adam& meta_opt) {
  check_same_settings(ck, settings, path);
  check_same_nets(ck, opt.configs(), path);
  for (const char* part : {"phi.", "adam.", "best."})
    require_finite(ck, part, "resume from a state saved before the damage, or train afresh into a new --out");
  MetadataReader r(ck.meta, path);
  MetaState st;
  const long epoch = r.integer("epoch", 0, 1000000000);
  st.next_epoch = (int)epoch + 1;
  std::vector<Param*> phi = opt.params();
  load_params(ck, phi, "phi.");
  try {
    meta_opt.load_state(tensors_with_prefix(ck, "adam."));
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(path + ": its Adam state (adam.*) does not fit the optimizer: " + e.what() +
                             " (a foreign or damaged training state)");
  }
  st.best_phi = tensors_with_prefix(ck, "best.");
  check_best_fits(st.best_phi, phi, path);
  st.train_history = r.scores("train_history");
  st.val_history = r.scores("val_history");
  if (st.train_history.size() != (size_t)st.next_epoch || st.val_history.size() != (size_t)st.next_epoch)
    throw std::runtime_error(path + ": its histories hold " + std::to_string(st.train_history.size()) + " and " +
                             std::to_string(st.val_history.size()) + " epochs, its epoch counter " +
                             std::to_string(st.next_epoch) + " (a damaged training state)");
  st.problems_used = (uint64_t)r.integer("problem_counter", 0, 1L << 39);
  st.best_val = r.score("best_val");
  st.best_epoch = (int)r.integer("best_epoch", -1, epoch);
  st.untrained_val = r.score("untrained_val");
  st.scored_untrained = true;
  return st;
}

}  // namespace l2l
