// test_run_dir.cpp: doctest cases for tasks/run/run_dir.{h,cpp}.
//
// What this file is: the lock tested across processes (fork: a child holds the lock, the
// parent is refused with the child's pid; a child killed with SIGKILL leaves no stale lock; a
// .lock that is a link or not a regular file is refused and its target left alone; the holder
// removes the stale temp files of the run's files and nothing else),
// the description of an occupied directory, --overwrite's move-aside (old files byte-identical
// in their new place), and atomic writes (no temp file left after success or failure).
// What it is not: a test of `l2l train` itself (apps/ wire these calls in).
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "doctest/doctest.h"
#include "helpers.h"
#include "nn/checkpoint.h"
#include "nn/files.h"
#include "tasks/run/run_dir.h"

using namespace l2l;
using l2l::test::slurp;
using l2l::test::TempDir;
namespace fs = std::filesystem;

namespace {

void spit(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

// The message of the RunDirBusy that locking dir throws here, or "" if the lock was granted.
std::string busy_message(const std::string& dir) {
  try {
    RunDirLock lock(dir);
  } catch (const RunDirBusy& e) {
    return e.what();
  }
  return "";
}

// Forks a child that takes the lock on dir, reports through a pipe that it holds it, then
// waits (until killed or until the parent closes the other pipe). Returns the child's pid.
struct LockHolder {
  pid_t pid = -1;
  int release_fd = -1;  // closing it tells the child to exit
  explicit LockHolder(const std::string& dir) {
    int ready[2], release[2];
    REQUIRE(pipe(ready) == 0);
    REQUIRE(pipe(release) == 0);
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {  // child: no doctest calls here, only _exit codes
      close(ready[0]);
      close(release[1]);
      try {
        RunDirLock lock(dir);
        char ok = 'y';
        if (write(ready[1], &ok, 1) != 1) _exit(3);
        char c;
        while (read(release[0], &c, 1) > 0) {
        }
      } catch (...) {
        _exit(2);
      }
      _exit(0);
    }
    close(ready[1]);
    close(release[0]);
    release_fd = release[1];
    char ok = 0;
    REQUIRE(read(ready[0], &ok, 1) == 1);  // the child holds the lock now
    close(ready[0]);
    CHECK(ok == 'y');
  }
  int finish() {  // lets the child exit normally; returns its exit code
    close(release_fd);
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  void kill9() {
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    close(release_fd);
    CHECK(WIFSIGNALED(status));
  }
};

// A directory holding what `l2l train` leaves: state checkpoint with metadata, phi, log, config.
void write_trained_run(const std::string& dir) {
  Checkpoint st;
  st.meta = {{"task", "quadratic"}, {"epochs", "20"}, {"epoch", "4"}, {"best_val", "0.0123456789"},
             {"best_epoch", "3"}};
  st.tensors = {{"phi.w", Tensor({2}, {1, 2})}};
  save_checkpoint(dir + "/train_state.ckpt", st);
  Checkpoint phi;
  phi.tensors = {{"w", Tensor({2}, {1, 2})}};
  save_checkpoint(dir + "/phi.ckpt", phi);
  spit(dir + "/train_log.csv", "epoch,train,val\n0,1,2\n");
  spit(dir + "/config.txt", "task quadratic\n");
}

}  // namespace

TEST_CASE("run_dir: a second writer is refused with the holder's pid while the first holds the lock") {
  TempDir tmp;
  const std::string dir = tmp.file("run");
  LockHolder holder(dir);
  CHECK(busy_message(dir) == dir + " is in use by pid " + std::to_string((long)holder.pid) + " (it holds " + dir +
                                 "/.lock); wait for that run to finish or use another directory");
  CHECK(holder.finish() == 0);
  CHECK(busy_message(dir) == "");  // released on a normal exit
  // Within one process, a second lock on the same directory is refused too (with our pid).
  RunDirLock first(dir);
  CHECK(busy_message(dir).find("is in use by pid " + std::to_string((long)getpid())) != std::string::npos);
}

TEST_CASE("run_dir: a writer killed with SIGKILL leaves no stale lock") {
  TempDir tmp;
  const std::string dir = tmp.file("run");
  LockHolder holder(dir);
  CHECK(busy_message(dir) != "");
  holder.kill9();
  CHECK(fs::exists(dir + "/.lock"));  // the file stays, the lock does not
  CHECK(busy_message(dir) == "");
}

// The message of the std::runtime_error that locking dir throws, or "" if the lock was granted.
static std::string lock_error(const std::string& dir) {
  try {
    RunDirLock lock(dir);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("run_dir: a .lock that is a link or not a regular file is refused, naming it; its target is never written") {
  TempDir tmp;
  const std::string victim = tmp.file("victim.txt"), dir = tmp.file("run"), lock = dir + "/.lock";
  spit(victim, "DATA\n");
  fs::create_directories(dir);
  fs::create_symlink(victim, lock);  // a symbolic link
  std::string msg = lock_error(dir);
  CHECK(msg.find(lock + " is a symbolic link") == 0);
  CHECK(msg.find("remove it (rm " + lock + ")") != std::string::npos);
  CHECK(slurp(victim) == "DATA\n");
  fs::remove(lock);
  fs::create_symlink(tmp.file("nowhere"), lock);  // a dangling one: nothing is created at its target
  CHECK(lock_error(dir).find("is a symbolic link") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp.file("nowhere")));
  fs::remove(lock);
  fs::create_hard_link(victim, lock);  // another name of the victim
  CHECK(lock_error(dir).find(lock + " is a hard link") == 0);
  CHECK(slurp(victim) == "DATA\n");
  fs::remove(lock);
  fs::create_directory(lock);  // not a file at all
  CHECK(lock_error(dir).find(lock + " is a directory") == 0);
  fs::remove(lock);
  REQUIRE(mkfifo(lock.c_str(), 0644) == 0);
  CHECK(lock_error(dir).find(lock + " is not a regular file") == 0);
  fs::remove(lock);
  CHECK(lock_error(dir) == "");  // removed, as the message says: the lock is taken again
}

TEST_CASE("run_dir: the lock holder removes stale temp files of the run's files, regular files only") {
  TempDir tmp;
  const std::string dir = tmp.file("run"), victim = tmp.file("victim.txt");
  fs::create_directories(dir);
  spit(victim, "DATA\n");
  for (const std::string& f : run_files()) spit(dir + "/" + f + ".tmp.aB3xY9", "partial");
  spit(dir + "/phi.ckpt", "kept");
  spit(dir + "/notes.md.tmp.aB3xY9", "not a run file");
  spit(dir + "/phi.ckpt.tmp.longer1", "not a mkstemp name");
  spit(dir + "/phi.ckpt.tmp.ab-12c", "not mkstemp's alphabet");
  fs::create_symlink(victim, dir + "/phi.ckpt.tmp.L1nk00");
  fs::create_directory(dir + "/train_log.csv.tmp.D1r000");
  RunDirLock lock(dir);
  std::vector<std::string> removed = lock.remove_stale_temp_files(run_files());
  std::sort(removed.begin(), removed.end());
  CHECK(removed == std::vector<std::string>{"config.txt.tmp.aB3xY9", "phi.ckpt.tmp.aB3xY9", "train_log.csv.tmp.aB3xY9",
                                            "train_state.ckpt.tmp.aB3xY9"});
  for (const std::string& f : run_files()) CHECK_FALSE(fs::exists(dir + "/" + f + ".tmp.aB3xY9"));
  for (const char* f : {"phi.ckpt", "notes.md.tmp.aB3xY9", "phi.ckpt.tmp.longer1", "phi.ckpt.tmp.ab-12c"})
    CHECK_MESSAGE(fs::exists(dir + "/" + f), f);
  CHECK(fs::is_symlink(dir + "/phi.ckpt.tmp.L1nk00"));
  CHECK(slurp(victim) == "DATA\n");
  CHECK(fs::is_directory(dir + "/train_log.csv.tmp.D1r000"));
  CHECK(lock.remove_stale_temp_files(run_files()).empty());
}

TEST_CASE("run_dir: an occupied directory is described from train_state.ckpt; an empty one is free") {
  TempDir tmp;
  const std::string dir = tmp.file("run");
  CHECK_FALSE(find_prior_run(dir).exists);  // does not exist yet
  fs::create_directories(dir);
  spit(dir + "/config.txt", "task quadratic\n");
  CHECK_FALSE(find_prior_run(dir).exists);  // a config alone: a run that never saved anything
  write_trained_run(dir);
  PriorRun r = find_prior_run(dir);
  CHECK(r.exists);
  CHECK(r.files == run_files());
  CHECK(r.description == dir + " holds a trained run: task quadratic, 5 of 20 epochs done, best validation score "
                               "0.0123457 (epoch 3) [phi.ckpt, train_state.ckpt, train_log.csv, config.txt]");

  spit(dir + "/train_state.ckpt", "garbage");  // unreadable state: still described, no throw
  r = find_prior_run(dir);
  CHECK(r.exists);
  CHECK(r.description.find("train_state.ckpt unreadable (checkpoint " + dir + "/train_state.ckpt") != std::string::npos);
  fs::remove(dir + "/train_state.ckpt");
  CHECK(find_prior_run(dir).description.find("no train_state.ckpt") != std::string::npos);
}

TEST_CASE("run_dir: move_run_aside moves the old run, byte-identical, and leaves the directory free") {
  TempDir tmp;
  const std::string dir = tmp.file("run");
  fs::create_directories(dir);
  write_trained_run(dir);
  spit(dir + "/notes.md", "mine");  // not a run file: stays where it is
  std::vector<std::string> before;
  for (const std::string& f : run_files()) before.push_back(slurp(dir + "/" + f));

  std::string aside = move_run_aside(dir);
  CHECK(fs::path(aside).parent_path() == fs::path(dir));
  CHECK(fs::path(aside).filename().string().rfind("previous-", 0) == 0);
  for (size_t i = 0; i < run_files().size(); i++) {
    CHECK_FALSE(fs::exists(dir + "/" + run_files()[i]));
    CHECK(slurp(aside + "/" + run_files()[i]) == before[i]);
  }
  CHECK(slurp(dir + "/notes.md") == "mine");
  CHECK_FALSE(find_prior_run(dir).exists);
  CHECK(load_checkpoint(aside + "/train_state.ckpt").meta_value("epoch") != nullptr);

  write_trained_run(dir);  // twice in the same second: a second, distinct directory
  std::string aside2 = move_run_aside(dir);
  CHECK(aside2 != aside);
  CHECK(fs::exists(aside2 + "/phi.ckpt"));
  CHECK(fs::exists(aside + "/phi.ckpt"));
}

TEST_CASE("run_dir: write_file_atomic replaces whole files and leaves no temp file, also on failure") {
  TempDir tmp;
  const std::string path = tmp.file("config.txt");
  write_file_atomic(path, "first\n");
  write_file_atomic(path, "second\n");
  CHECK(slurp(path) == "second\n");
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  auto entries = [&] { return std::distance(fs::directory_iterator(tmp.dir), fs::directory_iterator()); };
  CHECK(entries() == 1);

  // Failure at the rename: the target is a non-empty directory. The temp file must go.
  const std::string blocked = tmp.file("blocked");
  fs::create_directories(blocked + "/inside");
  CHECK_THROWS_WITH_AS(write_file_atomic(blocked, "x"), doctest::Contains(("cannot write " + blocked).c_str()),
                       std::runtime_error);
  CHECK(entries() == 2);  // config.txt and blocked/, nothing else
  CHECK(fs::is_directory(blocked + "/inside"));

  // Failure at the start: no such directory.
  CHECK_THROWS_WITH_AS(write_file_atomic(tmp.file("nope/x.txt"), "x"),
                       doctest::Contains("cannot create a temporary file in"), std::runtime_error);
  CHECK(entries() == 2);
}
