// l2l: meta-train a learned optimizer, and evaluate it against tuned SGD, NAG, RMSprop, Adam.
//
//   l2l train --task quadratic --out runs/quad           meta-train; writes phi.ckpt, logs
//   l2l eval  --task quadratic --phi runs/quad/phi.ckpt --out results/fig4_left
//   l2l <command> --help                                 every flag with its default
//   mpirun -np 2 build/l2l train --meta-batch 2 ...      data-parallel meta-training (MPI build):
//                                                        the same phi as one rank
//
// Every run saves its full configuration next to its results (config.txt); --verbose also prints
// it. Ctrl-C during train stops at the next meta-update and prints the command that resumes.
// Is not: the method (tasks/meta_train.h) or the run around it (tasks/run/training.h): this file
// reads flags, claims the run directory and reports.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "apps/common.h"
#include "apps/tasks.h"
#include "nn/checkpoint.h"
#include "nn/files.h"
#include "tasks/run/comm.h"
#include "tasks/optimizees/scaled_task.h"
#include "tasks/run/run_dir.h"
#include "tasks/run/training.h"

using namespace l2l;

namespace {

void add_train_flags(Flags& f) {
  add_task_flags(f);
  add_net_flags(f);
  f.add("seed", "1", "seed of the run, 0 or more: training problems and phi's initialization (test and validation problems are fixed)");
  f.add("unroll", "20", "U: steps per truncated-BPTT window");
  f.add("curriculum", "", "horizon curriculum (Chen et al. 2020; beyond the paper): training horizons T of successive stages, "
        "e.g. 100,200,500, each an equal share of the epochs (multiples of --unroll); validation still runs --steps; empty = off");
  f.add("epochs", "10", "epochs (validation and checkpoint after each)");
  f.add("stop-after", "0", "stop once this call has trained this many epochs (saved; --resume continues the run, whose "
        "schedule --epochs still sets); a setting of this call only, like --threads; 0 = train to --epochs");
  f.add("problems-per-epoch", "20", "training problems per epoch (steps/unroll meta-iterations each)");
  f.add("meta-batch", "1", "K: each meta-update averages the meta-gradients of K problems (run side by side; under mpirun "
        "split over the ranks, K a multiple of the rank count; phi does not depend on the rank count)");
  f.add("meta-lr", "0.001", "Adam learning rate on phi (authors' code 1e-3)");
  f.add("clip", "0", "clip meta-gradient entries to [-clip, clip]; 0 = off");
  f.add_bool("include-start", true, "count f at each window's first point in the meta-loss (authors' code)");
  f.add("val-problems", "10", "validation problems scored before training and after every epoch");
  f.add_bool("second-derivatives", false, "unsupported: the paper drops them (d grad / d phi = 0); must be false");
  f.add("out", "runs/train", "output directory");
  f.add_bool("resume", false, "continue from OUT/train_state.ckpt");
  f.add_bool("overwrite", false, "train afresh into an OUT that holds a trained run: its files are moved to OUT/previous-<UTC time>/");
  add_threads_flag(f);
  add_verbose_flag(f);
}

MetaConfig meta_config(const Flags& f) {
  if (f.boolean("second-derivatives"))
    throw std::invalid_argument("--second-derivatives true is not supported: the engine is first-order and the paper's method drops them");
  MetaConfig mc;
  mc.steps = bounded(f, "steps", 1, 1000000);
  mc.unroll = bounded(f, "unroll", 1, 1000000);
  mc.curriculum = parse_ints(f.str("curriculum"), "curriculum");
  mc.epochs = bounded(f, "epochs", 1, 1000000);
  mc.problems_per_epoch = bounded(f, "problems-per-epoch", 1, 1000000);
  mc.meta_batch = bounded(f, "meta-batch", 1, 1000000);
  mc.meta_lr = f.number("meta-lr");
  mc.clip = f.number("clip");
  mc.include_start = f.boolean("include-start");
  mc.val_problems = bounded(f, "val-problems", 1, 100000);
  mc.seed = bounded(f, "seed", 0, 2147483647);
  check_config(mc);
  check_ranks(mc);
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

// With DIR's lock held: temp files of killed writes go, then DIR is claimed for this run.
void take_run_dir(const RunDirLock& lock, bool resume, bool overwrite) {
  for (const std::string& f : lock.remove_stale_temp_files(run_files()))
    std::fprintf(stderr, "l2l train: removed %s/%s, left by a write that did not finish\n", lock.dir().c_str(), f.c_str());
  claim_run_dir(lock.dir(), resume, overwrite);
}

// The shell form of one argument: as is when it is plain, else in single quotes.
std::string shell_word(const std::string& a) {
  if (!a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=,:+@%") == std::string::npos)
    return a;
  std::string q = "'";
  for (char c : a) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// The command line that continues this run: the same arguments without --resume/--overwrite
// (and their true/false value), then --resume.
std::string resume_command(int argc, char** argv) {
  static const std::vector<std::string> bools = {"true", "false", "1", "0", "yes", "no", "on", "off"};
  std::string cmd = shell_word(argv[0]);
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    if (a.rfind("--resume=", 0) == 0 || a.rfind("--overwrite=", 0) == 0) continue;
    if (a == "--resume" || a == "--overwrite") {
      if (i + 1 < argc && std::find(bools.begin(), bools.end(), std::string(argv[i + 1])) != bools.end()) i++;
      continue;
    }
    cmd += " " + shell_word(a);
  }
  return cmd + " --resume";
}

// Ctrl-C: what is on disk, and how to go on. Exit status 130, as a shell reports SIGINT.
int report_interrupted(const TrainingInterrupted& e, int argc, char** argv) {
  std::fprintf(stderr, "\nl2l train: %s\n", e.what());
  if (e.saved)
    std::fprintf(stderr, "Continue it with:\n  %s\n", resume_command(argc, argv).c_str());
  else
    std::fprintf(stderr, "No epoch of this run was saved, so there is nothing to resume: run the same command again.\n");
  return 130;
}

// What the end of a run says: where phi is, and plainly whether training helped at all.
void report_training(const MetaResult& r, const std::string& out) {
  std::printf("untrained phi: validation score %.6g (mean f over the last 10 steps)\n", r.untrained_val);
  if (r.best_epoch < 0) {
    std::printf("WARNING: no epoch beat the untrained optimizer (best epoch score %.6g): meta-training did not help, and\n"
                "%s/phi.ckpt holds the UNTRAINED phi. Start a new run with a smaller --meta-lr, --clip, or more epochs.\n",
                r.val_history.empty() ? NAN : *std::min_element(r.val_history.begin(), r.val_history.end()), out.c_str());
    return;
  }
  std::printf("best validation score %.6g at epoch %d (%.1f%% below the untrained phi); phi saved to %s/phi.ckpt\n",
              r.best_val, r.best_epoch, 100 * (1 - r.best_val / r.untrained_val), out.c_str());
}

// How fast meta-training went, and under MPI how much of it was communication (stderr: not a
// result; scripts/bench-mpi.sh reads it).
void report_speed(const MetaResult& r, double comm_seconds) {
  if (r.meta_updates == 0 || r.train_seconds <= 0) return;
  const std::string ranks = comm::size() > 1 ? " on " + std::to_string(comm::size()) + " ranks" : "";
  std::fprintf(stderr, "speed: %ld meta-updates in %.3f s%s: %.3f meta-updates/s", r.meta_updates, r.train_seconds,
               ranks.c_str(), r.meta_updates / r.train_seconds);
  if (comm::size() > 1)
    std::fprintf(stderr, "; collectives %.4f s (%.2f%%)", comm_seconds, 100 * comm_seconds / r.train_seconds);
  std::fprintf(stderr, "\n");
}

// Everything before meta-training: flags, run directory (rank 0), task. It may fail on one rank
// only (its data, its disk), so every rank learns of any failure and all stop together.
struct TrainSetup {
  std::string cfg_txt;
  NetConfig nc;
  MetaConfig mc;
  RunOptions ro;
  std::unique_ptr<RunDirLock> lock;  // one writer per run directory (rank 0), until this process ends
  std::unique_ptr<Task> task;
  double random_scale = 0;  // --random-scale (beyond the paper; 0 = off)
};

int cmd_train(int argc, char** argv) {
  Flags f("usage: l2l train [flags]\nMeta-train the learned optimizer on a task; writes OUT/phi.ckpt (best validated phi),\n"
          "OUT/train_state.ckpt (for --resume), OUT/config.txt and OUT/train_log.csv.\n"
          "Data-parallel: mpirun -np R build/l2l train --meta-batch K ... (an MPI build; K a multiple of R; rank 0 writes).\n"
          "Ctrl-C stops after the current meta-update, keeps the last epoch's checkpoint and prints the command that resumes.\n\n"
          "The numbers it prints:\n"
          "  progress line 'meta-loss'     the last meta-update's loss: f summed over one window (--unroll steps, plus its\n"
          "                                first point with --include-start), averaged over the --meta-batch problems; noisy\n"
          "  epoch line 'train meta-loss'  the mean of those over all meta-updates of the epoch (train_log.csv)\n"
          "  'validation mean f'           phi's score: f averaged over all --steps + 1 points of the --val-problems\n"
          "                                fixed validation problems; OUT/phi.ckpt keeps the epoch where it is lowest");
  add_train_flags(f);
  const bool root = comm::is_root();
  TrainSetup s;
  std::string err;
  bool help = false;
  try {
    help = !f.parse(argc, argv, 2);
    if (!help) {
      apply_threads_flag(f);
      s.cfg_txt = config_text("train", f);
      s.nc = net_config(f);  // check every flag before anything is loaded or written
      s.mc = meta_config(f);
      s.ro = {f.str("out"), s.cfg_txt, f.all(), f.boolean("resume"), !root, {}};  // no after_write: tests only
      s.ro.stop_after = bounded(f, "stop-after", 0, 1000000);
      s.random_scale = random_scale_flag(f);
      if (root) print_config("train", s.cfg_txt, f);  // after the checks: a refused command saves nothing
      if (root) s.lock = std::make_unique<RunDirLock>(s.ro.out_dir), take_run_dir(*s.lock, s.ro.resume, f.boolean("overwrite"));
      s.task = make_task(f);
      s.task = make_randomly_scaled_task(std::move(s.task), s.random_scale);  // training problems only (scaled_task.h)
    }
  } catch (const std::exception& e) {
    err = e.what();
  }
  comm::raise_if_any(err);
  if (help) return 0;
  LearnedOptimizer opt(std::vector<NetConfig>(s.task->groups(), s.nc), s.mc.seed);
  if (root) std::printf("# task: %s\n# optimizer: %s, %zu parameters\n", s.task->describe().c_str(), s.nc.describe().c_str(), opt.param_count());
  if (root && comm::size() > 1) std::printf("# MPI: %d ranks, %d problem(s) each per meta-update\n", comm::size(), s.mc.meta_batch / comm::size());
  std::fflush(stdout);
  double comm_seconds = 0;
  MetaResult r;
  try {
    r = train_run(opt, *s.task, s.mc, s.ro, &comm_seconds);
  } catch (const TrainingInterrupted& e) {
    if (e.asked) {  // --stop-after: a planned stop, not a failure
      if (root) std::fprintf(stderr, "l2l train: %s\nContinue it with:\n  %s\n", e.what(), resume_command(argc, argv).c_str());
      return 0;
    }
    return report_interrupted(e, argc, argv);
  }
  if (root) report_training(r, s.ro.out_dir), report_speed(r, comm_seconds);
  return 0;
}

}  // namespace

namespace l2l {
int cmd_eval(int argc, char** argv);     // apps/l2l_eval.cpp
int cmd_verdict(int argc, char** argv);  // apps/l2l_verdict.cpp
}

int main(int argc, char** argv) {
  setup_fast_runtime();
  fail_writes_past_size_limit();  // ulimit -f: a clear "File too large" naming the file, not SIGXFSZ
  std::string cmd = argc > 1 ? argv[1] : "";
  int rc = 0;
  try {
    comm::init(argc, argv);
    if (cmd == "train") rc = cmd_train(argc, argv);
    else if (comm::size() > 1) throw std::runtime_error("only `l2l train` runs on several MPI ranks; run `l2l " + cmd + "` without mpirun");
    else if (cmd == "eval") rc = cmd_eval(argc, argv);
    else if (cmd == "verdict") rc = cmd_verdict(argc, argv);
    else if (cmd == "--help" || cmd == "-h" || cmd == "help" || cmd.empty()) {
      std::printf("usage: l2l <command> [flags]\n\ncommands:\n"
                  "  train   meta-train the learned optimizer (truncated BPTT, Adam on phi; data-parallel under mpirun)\n"
                  "  eval    compare it with SGD, NAG, RMSprop and Adam (learning rates tuned)\n"
                  "  verdict judge the paper's claim from an eval folder: paired difference, 95%% interval\n\n"
                  "l2l <command> --help lists every flag with its default.\n");
      rc = cmd.empty() ? 2 : 0;
    } else {
      std::fprintf(stderr, "l2l: unknown command '%s'%s (expected train, eval or verdict; see l2l --help)\n", cmd.c_str(),
                   did_you_mean(cmd, {"train", "eval", "verdict"}).c_str());
      rc = 2;
    }
  } catch (const comm::AgreedError& e) {  // thrown by every rank together: rank 0 says it
    if (comm::is_root()) std::fprintf(stderr, "l2l %s: error: %s\n", cmd.c_str(), e.what());
    rc = 1;
  } catch (const std::exception& e) {
    if (comm::size() == 1) {
      std::fprintf(stderr, "l2l %s: error: %s\n", cmd.c_str(), e.what());
      rc = 1;
    } else {  // one rank of several: the others would wait for it in a collective, so stop them all
      std::fprintf(stderr, "l2l %s: error: rank %d: %s (stopping every rank)\n", cmd.c_str(), comm::rank(), e.what());
      std::fflush(stderr);
      comm::abort_all(1);
    }
  }
  comm::finalize();
  return rc;
}
