// training.cpp: see training.h. The MetaRun of `l2l train` (problems shared over ranks, progress,
// files after every epoch) and the resume or fresh start around meta_train.
#include "tasks/run/training.h"

#include <unistd.h>

#include <csignal>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "nn/files.h"
#include "tasks/run/comm.h"
#include "tasks/run/progress.h"
#include "tasks/run/run_dir.h"

namespace l2l {

namespace {

// Ctrl-C during a serial run: the first SIGINT asks the run to stop at the next safe point
// (DirRun checks the flag after each meta-update and each epoch's save); a second one exits now.
volatile std::sig_atomic_t interrupted = 0;

extern "C" void on_sigint(int) {
  if (interrupted) {
    static const char msg[] = "\nl2l train: second Ctrl-C: stopped at once (the files in the run directory are whole)\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(130);
  }
  interrupted = 1;
}

// Installs on_sigint for its lifetime (one process only: under mpirun the default stays).
class SigintScope {
 public:
  SigintScope() : active_(comm::size() == 1) {
    if (!active_) return;
    interrupted = 0;
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_);
  }
  ~SigintScope() {
    if (active_) sigaction(SIGINT, &old_, nullptr);
  }

 private:
  bool active_;
  struct sigaction old_ {};
};

// Runs `work` on every rank; if it throws on any, every rank throws the first failing rank's
// message (comm::first_error), so none is left waiting in the next collective. Serially it is
// just `work`.
void on_every_rank(const std::function<void()>& work) {
  if (comm::size() == 1) return work();
  std::string err;
  try {
    work();
  } catch (const std::exception& e) {
    err = e.what();
    if (err.empty()) err = "unknown error";
  }
  comm::raise_if_any(err);
}

class DirRun : public MetaRun {
 public:
  DirRun(LearnedOptimizer& opt, const Adam& meta_opt, const MetaConfig& cfg, const RunOptions& ro, const MetaState& st,
         bool fresh)
      : opt_(opt), meta_opt_(meta_opt), cfg_(cfg), ro_(ro), quiet_(ro.quiet || !comm::is_root()),
        writes_(!ro.out_dir.empty() && comm::is_root()), fresh_(fresh), saved_epoch_(st.next_epoch - 1),
        bar_(total(st), quiet_) {}

  // Rank r runs problems r, r + R, r + 2R, ...
  std::vector<int> my_problems(int n) const override {
    std::vector<int> mine;
    for (int i = comm::rank(); i < n; i += comm::size()) mine.push_back(i);
    return mine;
  }

  // Each rank's results padded to ceil(n / R) vectors, gathered, then put back in problem order.
  std::vector<std::vector<double>> gather(std::vector<std::vector<double>> mine, int n, size_t len) const override {
    const int R = comm::size(), per = (n + R - 1) / R;
    if (R == 1) return mine;
    std::vector<double> flat((size_t)per * len, NAN);
    for (size_t j = 0; j < mine.size(); j++) std::copy(mine[j].begin(), mine[j].end(), flat.begin() + j * len);
    std::vector<double> all = comm::allgather(flat);
    std::vector<std::vector<double>> out;
    for (int i = 0; i < n; i++) {
      const double* from = all.data() + ((size_t)(i % R) * per + i / R) * len;
      out.emplace_back(from, from + len);
    }
    return out;
  }

  void run_everywhere(const std::function<void()>& work) const override { on_every_rank(work); }

  void meta_update_done(int epoch, double L) override {
    comm_at_update_ = comm::seconds_in_collectives();
    char what[96];
    std::snprintf(what, sizeof what, "meta-iterations, epoch %d, meta-loss %.4g", epoch, L);
    bar_.show(++done_, what);
    stop_if_interrupted();
  }

  void scored(int epoch, double val, bool best, const MetaState& st) override {
    if (epoch >= 0) comm_training_ += comm_at_update_ - comm_at_score_;  // the epoch's meta-updates
    comm_at_score_ = comm::seconds_in_collectives();
    bar_.end_line();
    if (!quiet_ && epoch < 0) std::fprintf(stderr, "epoch -1 (untrained phi): validation score %.5g\n", val);
    if (epoch < 0) return;
    if (!quiet_)
      std::fprintf(stderr, "epoch %d%s: train meta-loss %.5g, validation score %.5g%s\n", epoch,
                   cfg_.curriculum.empty() ? "" : (" (horizon " + std::to_string(training_horizon(cfg_, epoch)) + ")").c_str(),
                   st.train_history.back(), val, best ? " (best so far)" : "");
    if (writes_) {
      // config.txt comes with the first checkpoint, so a directory never holds one without its run.
      const bool first = saved_epoch_ < 0 && fresh_;
      save_run_files(ro_.out_dir, opt_, meta_opt_, st, ro_.settings, first ? ro_.config_text : "", ro_.after_write);
      saved_epoch_ = epoch;
      stop_if_interrupted();
    }
    stop_if_asked(epoch);
  }

  // --stop-after: this call has trained its epochs (the decision is the same on every rank).
  void stop_if_asked(int epoch) {
    if (ro_.stop_after <= 0 || ++epochs_this_call_ < ro_.stop_after || epoch + 1 >= cfg_.epochs) return;
    bar_.end_line();
    throw TrainingInterrupted("stopped after " + std::to_string(epochs_this_call_) + " epoch(s) of this call, as --stop-after asked." +
                                  kept(), writes_, true);
  }

  // After a Ctrl-C: ends the progress line and throws TrainingInterrupted saying what is on disk.
  void stop_if_interrupted() {
    if (!interrupted) return;
    bar_.end_line();
    const bool saved = saved_epoch_ >= 0 && std::filesystem::exists(ro_.out_dir + "/train_state.ckpt");
    throw TrainingInterrupted("stopped by Ctrl-C." + kept(), saved);
  }

  // Seconds in collectives during the meta-updates (validation excluded), as train_seconds.
  double collective_seconds() const { return comm_training_; }

  // What is on disk now, for a message about a run that stopped.
  std::string kept() const {
    if (ro_.out_dir.empty()) return "";
    if (saved_epoch_ >= 0) return " The checkpoint of epoch " + std::to_string(saved_epoch_) + " in '" + ro_.out_dir + "' is intact.";
    if (std::filesystem::exists(ro_.out_dir + "/phi.ckpt")) return " The files already in '" + ro_.out_dir + "' are untouched.";
    return " No checkpoint had been written to '" + ro_.out_dir + "' yet.";
  }

 private:
  long total(const MetaState& st) const {
    long n = 0;
    for (int e = st.next_epoch; e < cfg_.epochs; e++) n += updates_in_epoch(cfg_, e);
    return n;
  }

  LearnedOptimizer& opt_;
  const Adam& meta_opt_;
  const MetaConfig& cfg_;
  const RunOptions& ro_;
  bool quiet_, writes_, fresh_;
  int saved_epoch_, epochs_this_call_ = 0;
  Progress bar_;
  long done_ = 0;
  double comm_at_score_ = comm::seconds_in_collectives(), comm_at_update_ = comm_at_score_, comm_training_ = 0;
};

// The training state as rank 0 reads it, on every rank (the other ranks may be on machines
// without the run directory).
Checkpoint load_state_everywhere(const std::string& path) {
  std::string bytes;
  on_every_rank([&] {
    if (!comm::is_root()) return;
    if (path.empty() || !std::filesystem::exists(path))
      throw std::runtime_error("--resume: no training state at '" + path + "' (train once without --resume first)");
    if (comm::size() == 1) return;  // the serial path reads the file itself, below
    Bytes b = read_regular_file(path, kMaxCheckpointBytes, "pass the --out of a run l2l train wrote", "checkpoint " + path);
    bytes.assign(b.begin(), b.end());
  });
  if (comm::size() == 1) return load_checkpoint(path);
  comm::broadcast(bytes);
  Checkpoint ck;
  on_every_rank([&] { ck = decode_checkpoint((const unsigned char*)bytes.data(), bytes.size(), path); });
  return ck;
}

// With --resume: whether OUT holds a run that stopped before its first train_state.ckpt (some
// of its other files, but no state). There is nothing to resume, so that run starts afresh; its
// files are moved aside first (run_dir.h), so nothing is lost if the state was removed by hand.
// Rank 0 looks and moves, every rank learns the answer.
bool restart_unsaved_run(const RunOptions& ro) {
  std::string restart;
  on_every_rank([&] {
    if (!comm::is_root() || ro.out_dir.empty() || std::filesystem::exists(ro.out_dir + "/train_state.ckpt")) return;
    PriorRun prior = find_prior_run(ro.out_dir);
    if (prior.files.empty()) return;  // nothing of a run: load_state_everywhere says so
    restart = "1";
    std::string aside = move_run_aside(ro.out_dir);
    if (!ro.quiet)
      std::fprintf(stderr, "--resume: %s holds no train_state.ckpt (its run stopped before its first epoch was saved): "
                   "starting that run afresh; its files are in %s\n", ro.out_dir.c_str(), aside.c_str());
  });
  if (comm::size() > 1) comm::broadcast(restart);
  return restart == "1";
}

// A resumed run: phi, Adam and the state from OUT/train_state.ckpt, on every rank.
MetaState resume_state(LearnedOptimizer& opt, Adam& meta_opt, const MetaConfig& cfg, const RunOptions& ro) {
  const std::string path = ro.out_dir.empty() ? "" : ro.out_dir + "/train_state.ckpt";
  Checkpoint ck = load_state_everywhere(path);
  rename_old_readout(ck);
  MetaState st;
  on_every_rank([&] { st = load_run_state(path, ck, ro.settings, opt, meta_opt); });
  if (cfg.epochs <= st.next_epoch)  // the same on every rank
    throw comm::AgreedError("--resume: " + path + " has already trained " + std::to_string(st.next_epoch) +
                            " epochs, so --epochs " + std::to_string(cfg.epochs) + " adds none: pass --epochs > " +
                            std::to_string(st.next_epoch));
  if (!ro.quiet && comm::is_root()) std::fprintf(stderr, "resuming from %s at epoch %d\n", path.c_str(), st.next_epoch);
  return st;
}

}  // namespace

void check_ranks(const MetaConfig& cfg) {
  if (cfg.meta_batch % comm::size() != 0)
    throw std::invalid_argument("--meta-batch (" + std::to_string(cfg.meta_batch) + ") must be a multiple of the number of MPI ranks (" +
                                std::to_string(comm::size()) + "): each rank runs the same share of every meta-update. Use mpirun -np " +
                                "with a divisor of " + std::to_string(cfg.meta_batch) + ", or a larger --meta-batch.");
}

MetaResult train_run(LearnedOptimizer& opt, const Task& task, const MetaConfig& cfg, const RunOptions& ro,
                     double* collective_seconds) {
  check_config(cfg);
  check_ranks(cfg);
  if (!ro.out_dir.empty() && comm::is_root()) std::filesystem::create_directories(ro.out_dir);
  Adam meta_opt(cfg.meta_lr);
  const bool fresh = !ro.resume || restart_unsaved_run(ro);
  MetaState st = fresh ? MetaState() : resume_state(opt, meta_opt, cfg, ro);
  DirRun run(opt, meta_opt, cfg, ro, st, fresh);
  SigintScope ctrl_c;
  try {
    MetaResult r = meta_train(opt, task, cfg, meta_opt, st, run);
    if (collective_seconds) *collective_seconds = run.collective_seconds();
    return r;
  } catch (const MetaDiverged& e) {  // every rank sees the same gathered numbers: all throw together
    throw comm::AgreedError(std::string(e.what()) + run.kept() +
                            " Start a new run (another --out; --resume keeps the settings) with a smaller --meta-lr (now " +
                            exact_text(cfg.meta_lr) + ") or with --clip, or a smaller --out-scale.");
  }
}

}  // namespace l2l
