// run_dir.h: a run directory belongs to one run: lock, occupancy, overwrite.
//
// What this file is: what `l2l train --out DIR` (and `l2l eval --out DIR`) need so that no run
// is lost and no two runs mix their files in one directory:
//   RunDirLock          one writer per directory: flock(2) on DIR/.lock, held for the lifetime
//                       of the object (in practice the process). The kernel drops the lock when
//                       the process dies, however it dies, so a killed run never leaves a stale
//                       lock; the file DIR/.lock itself stays (harmless: the lock is the flock,
//                       not the file's existence). A second writer fails at once with
//                       "DIR is in use by pid N". A .lock that is a symbolic or hard link, or
//                       not a regular file, is refused (its target is never opened for writing).
//                       Holding it, a run removes the temp files killed writes left behind.
//   find_prior_run      whether DIR already holds a trained run, described in one line (task,
//                       epochs done, best validation score, read from train_state.ckpt).
//   move_run_aside      for --overwrite: moves the old run's files into DIR/previous-<UTC time>/
//                       (rename(2): same filesystem, nothing copied, files byte-identical).
// What it is not: a general file-locking or lock-waiting facility (no blocking, no timeouts),
// and no knowledge of training itself (tasks/run/train_state.cpp writes the checkpoints).
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace l2l {

// Thrown by RunDirLock when another process holds DIR's lock.
struct RunDirBusy : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Creates DIR (and parents) if needed and takes an exclusive, non-blocking flock on DIR/.lock,
// writing this process's pid into it. Throws RunDirBusy
//   "DIR is in use by pid N (it holds DIR/.lock); wait for that run to finish or use another
//    directory"
// if another process (or another RunDirLock in this one) holds it, std::runtime_error if the
// directory or the lock file cannot be created, or if DIR/.lock is a symbolic link, a hard link
// or not a regular file:
//   "DIR/.lock is a symbolic link, not the regular file l2l keeps its lock in, and l2l does not
//    write through it: remove it (rm DIR/.lock) and run again"
// The lock is released by the destructor.
class RunDirLock {
 public:
  explicit RunDirLock(const std::string& dir);
  ~RunDirLock();
  RunDirLock(const RunDirLock&) = delete;
  RunDirLock& operator=(const RunDirLock&) = delete;
  const std::string& dir() const { return dir_; }

  // Removes what killed atomic writes left in DIR: the temp files "<name>.tmp.XXXXXX"
  // (write_file_atomic's mkstemp names) of the given file names, regular files only (a link or
  // a directory of such a name stays). Safe while the lock is held: no writer of ours is
  // writing into DIR. Returns the names removed; a file that cannot be removed is left.
  std::vector<std::string> remove_stale_temp_files(const std::vector<std::string>& names) const;

 private:
  std::string dir_;
  int fd_ = -1;
};

// The files of a trained run, as `l2l train` writes them into its --out directory.
const std::vector<std::string>& run_files();  // phi.ckpt, train_state.ckpt, train_log.csv, config.txt

struct PriorRun {
  bool exists = false;             // DIR holds phi.ckpt, train_state.ckpt or train_log.csv
  std::vector<std::string> files;  // those of run_files() present in DIR
  std::string description;         // one line, e.g. "runs/quad holds a trained run: task quadratic,
                                   // 5 of 20 epochs done, best validation score 0.0123 (epoch 3)"
};

// Looks at DIR (which need not exist) without changing anything. If train_state.ckpt is
// missing or unreadable the description says so instead of the numbers; it never throws.
PriorRun find_prior_run(const std::string& dir);

// Moves every file of run_files() present in DIR into a new directory DIR/previous-YYYYMMDD-
// HHMMSS (UTC; "-2", "-3", ... appended if that exists) and returns its path. Nothing is
// copied or deleted. Throws std::runtime_error naming the file if a rename fails (files
// already moved stay moved; the message says where).
std::string move_run_aside(const std::string& dir);

}  // namespace l2l
