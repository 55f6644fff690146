// train_state.h: a meta-training run's files, and --resume. After every epoch a run directory
// gets, in this order (each write atomic):
//   config.txt        the first time only: the run's configuration as it was printed
//   phi.ckpt          the best validated phi with the nets' configuration (what eval loads)
//   train_log.csv     per epoch: the mean meta-loss of its windows and the validation score
//   train_state.ckpt  everything --resume needs: phi, the meta-optimizer's (Adam's) state, the
//                     best phi so far, the MetaState (epochs done, training problems drawn, the
//                     scores and histories) and the settings the run was started with
// train_state.ckpt comes last: it is the commit point of the epoch. A run killed before it
// resumes at that epoch, which rewrites the other files with the same bytes, so a kill at any
// point leaves a directory that --resume completes to the files of an uninterrupted run.
// Resume restores phi, Adam and the MetaState from train_state.ckpt, refusing a run started with
// other settings (only the number of epochs may grow, and not in a run with a --curriculum,
// whose stages are shares of the epochs) or with other nets than the flags build (the nets'
// metadata, digest checked: tasks/net_config.h), and a state whose phi, best phi or Adam
// moments hold a non-finite value.
// Is not: the method (tasks/meta_train.h) or the run's loop around it (tasks/run/training.h).
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "nn/checkpoint.h"
#include "nn/optim.h"
#include "tasks/learned_optimizer.h"
#include "tasks/meta_train.h"

namespace l2l {

using Settings = std::vector<std::pair<std::string, std::string>>;  // flag name -> value

// Called with a file's name ("phi.ckpt", ...) right after it is written: tests throw from it to
// stop a run between two files, as a kill would.
using AfterWrite = std::function<void(const std::string& file)>;

// Writes the four files of the run into `dir` (config.txt only when `config_text` is not empty),
// calling after_write (if set) after each.
void save_run_files(const std::string& dir, LearnedOptimizer& opt, const Adam& meta_opt, const MetaState& st,
                    const Settings& settings, const std::string& config_text, const AfterWrite& after_write = {});

// The state saved in `path` (a train_state.ckpt), its phi and Adam's state loaded into `opt` and
// `meta_opt`. Throws std::runtime_error naming the file when it is missing, damaged, foreign, or
// was trained with other settings than `settings` (names the flags that differ), or with a
// curriculum and another "epochs" (says why, and what to do).
MetaState load_run_state(const std::string& path, const Checkpoint& ck, const Settings& settings, LearnedOptimizer& opt,
                         Adam& meta_opt);

// train_log.csv's text: epoch -1 is the untrained phi.
std::string train_log_csv(const MetaState& st);

}  // namespace l2l
