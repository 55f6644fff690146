// l2l: meta-train a learned optimizer, and evaluate it against tuned SGD, NAG, RMSprop, Adam.
//
//   l2l train --task quadratic --out runs/quad           meta-train; writes phi.ckpt, logs
//   l2l eval  --task quadratic --phi runs/quad/phi.ckpt --out results/fig4_left
//   l2l <command> --help                                 every flag with its default
//
// Every run prints its full configuration and saves it next to its results (config.txt).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "apps/common.h"
#include "nn/checkpoint.h"
#include "tasks/meta.h"
#include "tasks/scaled_task.h"

using namespace l2l;

namespace {

void add_train_flags(Flags& f) {
  add_task_flags(f);
  add_net_flags(f);
  f.add("seed", "1", "seed of the run: training problems and phi's initialization (test and validation problems are fixed)");
  f.add("unroll", "20", "U: steps per truncated-BPTT window");
  f.add("epochs", "10", "epochs (validation and checkpoint after each)");
  f.add("problems-per-epoch", "20", "training problems per epoch (steps/unroll meta-iterations each)");
  f.add("meta-lr", "0.001", "Adam learning rate on phi (authors' code 1e-3)");
  f.add("clip", "0", "clip meta-gradient entries to [-clip, clip]; 0 = off");
  f.add("include-start", "true", "count f at each window's first point in the meta-loss (authors' code)");
  f.add("val-problems", "10", "validation problems scored before training and after every epoch");
  f.add("second-derivatives", "false", "unsupported: the paper drops them (d grad / d phi = 0); must be false");
  f.add("out", "runs/train", "output directory");
  f.add("resume", "false", "continue from OUT/train_state.ckpt");
  f.add("overwrite", "false", "train afresh into an OUT that holds a trained run: its files are moved to OUT/previous-<UTC time>/");
  add_threads_flag(f);
}

MetaConfig meta_config(const Flags& f, const std::string& config_text) {
  if (f.boolean("second-derivatives"))
    throw std::invalid_argument("--second-derivatives true is not supported: the engine is first-order and the paper's method drops them");
  MetaConfig mc;
  mc.steps = bounded(f, "steps", 1, 1000000);
  mc.unroll = bounded(f, "unroll", 1, 1000000);
  mc.epochs = bounded(f, "epochs", 1, 1000000);
  mc.problems_per_epoch = bounded(f, "problems-per-epoch", 1, 1000000);
  mc.meta_lr = f.number("meta-lr");
  mc.clip = f.number("clip");
  mc.include_start = f.boolean("include-start");
  mc.val_problems = bounded(f, "val-problems", 1, 100000);
  mc.seed = f.integer("seed");
  mc.out_dir = f.str("out");
  mc.config_text = config_text;
  mc.resume = f.boolean("resume");
  check_config(mc);
  return mc;
}

// A fresh run never replaces a trained one silently: it stops and says what DIR holds, unless
// --overwrite moves the old run aside.
void claim_run_dir(const std::string& dir, bool resume, bool overwrite) {
  if (resume && overwrite) throw std::invalid_argument("--resume true and --overwrite true contradict each other: choose one");
  PriorRun prior = find_prior_run(dir);
  if (!prior.exists || resume) return;
  if (!overwrite)
    throw std::runtime_error(prior.description + "\nA fresh train would replace it. Continue it with --resume true, or start over with "
                             "--overwrite true (moves its files to " + dir + "/previous-<UTC time>/), or choose another --out.");
  std::fprintf(stderr, "l2l train: moved the earlier run in %s to %s\n", dir.c_str(), move_run_aside(dir).c_str());
}

// What the end of a run says: where phi is, and plainly whether training helped at all.
void report_training(const MetaResult& r, const std::string& out) {
  std::printf("untrained phi: validation mean f %.6g\n", r.untrained_val);
  if (r.best_epoch < 0) {
    std::printf("WARNING: no epoch beat the untrained optimizer (best epoch score %.6g): meta-training did not help, and\n"
                "%s/phi.ckpt holds the UNTRAINED phi. Start a new run with a smaller --meta-lr, --clip, or more epochs.\n",
                r.val_history.empty() ? NAN : *std::min_element(r.val_history.begin(), r.val_history.end()), out.c_str());
    return;
  }
  std::printf("best validation mean f %.6g at epoch %d (%.1f%% below the untrained phi); phi saved to %s/phi.ckpt\n",
              r.best_val, r.best_epoch, 100 * (1 - r.best_val / r.untrained_val), out.c_str());
}

int cmd_train(int argc, char** argv) {
  Flags f("usage: l2l train [flags]\nMeta-train the learned optimizer on a task; writes OUT/phi.ckpt (best validated phi),\n"
          "OUT/train_state.ckpt (for --resume), OUT/config.txt and OUT/train_log.csv.");
  add_train_flags(f);
  if (!f.parse(argc, argv, 2)) return 0;
  apply_threads_flag(f);
  std::string cfg_txt = config_text("train", f);
  std::printf("%s", cfg_txt.c_str());
  NetConfig nc = net_config(f);  // check every flag before anything is loaded or written
  MetaConfig mc = meta_config(f, cfg_txt);
  double random_scale = random_scale_flag(f);
  RunDirLock lock(mc.out_dir);  // one writer per run directory, until this process ends
  claim_run_dir(mc.out_dir, mc.resume, f.boolean("overwrite"));
  std::unique_ptr<Task> task = make_task(f, "train");
  task = make_randomly_scaled_task(std::move(task), random_scale);  // training problems only (scaled_task.h)
  LearnedOptimizer opt(std::vector<NetConfig>(num_groups(*task), nc), f.integer("seed"));
  std::printf("# task: %s\n# optimizer: %s, %zu parameters\n", task->describe().c_str(), nc.describe().c_str(), opt.param_count());
  std::fflush(stdout);
  report_training(meta_train(opt, *task, mc, f.all()), mc.out_dir);
  return 0;
}

}  // namespace

namespace l2l {
int cmd_eval(int argc, char** argv);  // apps/l2l_eval.cpp
}

int main(int argc, char** argv) {
  setup_fast_runtime();
  std::string cmd = argc > 1 ? argv[1] : "";
  try {
    if (cmd == "train") return cmd_train(argc, argv);
    if (cmd == "eval") return cmd_eval(argc, argv);
    if (cmd == "--help" || cmd == "-h" || cmd == "help" || cmd.empty()) {
      std::printf("usage: l2l <command> [flags]\n\ncommands:\n"
                  "  train   meta-train the learned optimizer (truncated BPTT, Adam on phi)\n"
                  "  eval    compare it with SGD, NAG, RMSprop and Adam (learning rates tuned)\n\n"
                  "l2l <command> --help lists every flag with its default.\n");
      return cmd.empty() ? 2 : 0;
    }
    std::fprintf(stderr, "l2l: unknown command '%s' (expected train or eval; see l2l --help)\n", cmd.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "l2l %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  }
}
