// training.h: a meta-training run, as `l2l train` makes one: the method (tasks/meta_train.h)
// with its run around it. The run
//   - shares the problems of every meta-update and of validation out over the MPI ranks when
//     started by mpirun (tasks/run/comm.h): rank r runs problems r, r + R, ...; the results are
//     gathered back in problem order, so phi is the same bits for any number of ranks;
//   - shows the progress line and one line per epoch (rank 0);
//   - saves the run's files after every epoch and resumes from them (tasks/run/train_state.h;
//     rank 0 writes, and reads the state that every rank then decodes).
// Is not: the method itself, the run directory's lock and overwrite rules (tasks/run/run_dir.h:
// the caller takes those), or flag parsing (apps/).
#pragma once
#include <functional>
#include <stdexcept>
#include <string>

#include "tasks/meta_train.h"
#include "tasks/run/train_state.h"

namespace l2l {

struct RunOptions {
  std::string out_dir;      // checkpoints and logs; "" = keep nothing on disk
  std::string config_text;  // written as out_dir/config.txt with the first checkpoint
  Settings settings;        // every flag: saved in the checkpoints; a resume must match them
  bool resume = false;
  bool quiet = false;
  AfterWrite after_write;   // a test seam: called with each run file's name once it is written
  int stop_after = 0;       // stop once this call has trained this many epochs (0 = to cfg.epochs)
};

// Meta-trains opt (phi becomes the best validated phi) as a run: fresh, or from
// out_dir/train_state.ckpt with ro.resume (a resume into a directory whose run stopped before
// its first train_state.ckpt moves that run's files aside and starts it afresh). Throws std::runtime_error naming the run directory
// when the state cannot be resumed or meta-training diverged (the message says what was kept),
// TrainingInterrupted after a Ctrl-C.
// `collective_seconds` (if given) receives the time spent in collectives during the
// meta-updates (the part of MetaResult::train_seconds spent communicating; 0 on one rank).
MetaResult train_run(LearnedOptimizer& opt, const Task& task, const MetaConfig& cfg, const RunOptions& ro,
                     double* collective_seconds = nullptr);

// Thrown by train_run when Ctrl-C (SIGINT) arrived during a run on one process: training stops
// after the meta-update (or the epoch's save) under way, so every file in the run directory is
// whole. what() says what is on disk; `saved` is true when OUT/train_state.ckpt holds an epoch
// of this run (then --resume continues it). A second Ctrl-C exits at once (status 130); the
// atomic writes still leave no partial file. Under mpirun SIGINT keeps its default (mpirun stops
// every rank).
// Also thrown, with `asked` true, when the call has trained RunOptions::stop_after epochs (on
// every rank alike).
struct TrainingInterrupted : std::runtime_error {
  TrainingInterrupted(const std::string& what, bool saved, bool asked = false)
      : std::runtime_error(what), saved(saved), asked(asked) {}
  bool saved;
  bool asked;  // a planned stop (--stop-after), not a Ctrl-C
};

// Throws std::invalid_argument unless cfg's meta-batch can be shared out evenly over this run's
// ranks (K a multiple of the rank count). train_run checks it; l2l train calls it early.
void check_ranks(const MetaConfig& cfg);

}  // namespace l2l
