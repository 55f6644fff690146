// l2l: meta-train a learned optimizer, and evaluate it against tuned SGD, NAG, RMSprop, Adam.
//
//   l2l train --task quadratic --out runs/quad           meta-train; writes phi.ckpt, logs
//   l2l eval  --task quadratic --phi runs/quad/phi.ckpt --out results/fig4_left
//   l2l <command> --help                                 every flag with its default
//
// Every run prints its full configuration and saves it next to its results (config.txt).
#include <cstdio>
#include <filesystem>

#include "apps/common.h"
#include "nn/checkpoint.h"
#include "tasks/meta.h"

using namespace l2l;

namespace {

int cmd_train(int argc, char** argv) {
  Flags f("usage: l2l train [flags]\nMeta-train the learned optimizer on a task; writes OUT/phi.ckpt (best validated phi),\n"
          "OUT/train_state.ckpt (for --resume), OUT/config.txt and OUT/train_log.csv.");
  add_task_flags(f);
  add_net_flags(f);
  f.add("unroll", "20", "U: steps per truncated-BPTT window");
  f.add("epochs", "10", "epochs (validation and checkpoint after each)");
  f.add("problems-per-epoch", "20", "training problems per epoch (steps/unroll meta-iterations each)");
  f.add("meta-lr", "0.001", "Adam learning rate on phi (authors' code 1e-3)");
  f.add("clip", "0", "clip meta-gradient entries to [-clip, clip]; 0 = off");
  f.add("include-start", "true", "count f at each window's first point in the meta-loss (authors' code)");
  f.add("val-problems", "10", "validation problems scored after every epoch");
  f.add("second-derivatives", "false", "unsupported: the paper drops them (d grad / d phi = 0); must be false");
  f.add("out", "runs/train", "output directory");
  f.add("resume", "false", "continue from OUT/train_state.ckpt");
  if (!f.parse(argc, argv, 2)) return 0;
  if (f.boolean("second-derivatives"))
    throw std::invalid_argument("--second-derivatives true is not supported: the engine is first-order and the paper's method drops them");
  std::string cfg_txt = config_text("train", f);
  std::printf("%s", cfg_txt.c_str());
  NetConfig nc = net_config(f);  // check every flag before anything is loaded or written
  MetaConfig mc;
  mc.steps = (int)f.integer("steps");
  mc.unroll = (int)f.integer("unroll");
  mc.epochs = (int)f.integer("epochs");
  mc.problems_per_epoch = (int)f.integer("problems-per-epoch");
  mc.meta_lr = f.number("meta-lr");
  mc.clip = f.number("clip");
  mc.include_start = f.boolean("include-start");
  mc.val_problems = (int)f.integer("val-problems");
  mc.seed = f.integer("seed");
  mc.out_dir = f.str("out");
  mc.resume = f.boolean("resume");
  if (mc.steps <= 0 || mc.unroll <= 0 || mc.epochs <= 0 || mc.problems_per_epoch <= 0 || mc.val_problems <= 0)
    throw std::invalid_argument("--steps, --unroll, --epochs, --problems-per-epoch and --val-problems must be positive");
  if (mc.steps % mc.unroll != 0)
    throw std::invalid_argument("--steps (" + std::to_string(mc.steps) + ") must be a multiple of --unroll (" +
                                std::to_string(mc.unroll) + ")");
  if (!(mc.meta_lr > 0)) throw std::invalid_argument("--meta-lr must be > 0");
  if (!(mc.clip >= 0)) throw std::invalid_argument("--clip must be >= 0 (0 turns clipping off)");
  std::unique_ptr<Task> task = make_task(f, "train");
  LearnedOptimizer opt(std::vector<NetConfig>(task->num_groups(), nc), f.integer("seed"));
  std::printf("# task: %s\n# optimizer: %s, %zu parameters\n", task->describe().c_str(), nc.describe().c_str(), opt.param_count());
  std::filesystem::create_directories(mc.out_dir);
  if (!mc.resume) write_atomic(mc.out_dir + "/config.txt", cfg_txt);  // a resume keeps the original (and checks it)
  MetaResult r = meta_train(opt, *task, mc, f.all());
  std::string log = "epoch,train_meta_loss,val_mean_f\n";
  for (size_t e = 0; e < r.val_history.size(); e++) {
    char line[128];
    std::snprintf(line, sizeof line, "%zu,%.8g,%.8g\n", e, r.train_history[e], r.val_history[e]);
    log += line;
  }
  write_atomic(mc.out_dir + "/train_log.csv", log);
  std::printf("best validation mean f %.6g at epoch %d; phi saved to %s/phi.ckpt\n", r.best_val, r.best_epoch, mc.out_dir.c_str());
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
