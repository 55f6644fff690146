// run_dir.cpp: lock, occupancy check and move-aside for run directories.
//
// What this file is: the pieces of run_dir.h (the lock and its clean-up of stale temp files,
// the occupancy check, the move-aside), each a short function over POSIX calls (open with
// O_NOFOLLOW, flock, rename, fsync) and std::filesystem. What it is not: anything that waits or retries, or writes files
// (nn/files.cpp does, atomically).
#include "tasks/run/run_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "nn/checkpoint.h"
#include "nn/files.h"

namespace fs = std::filesystem;

namespace l2l {

namespace {

std::string errno_str(int err) { return std::strerror(err); }

// The pid written into an existing lock file, or "" if it cannot be read yet.
std::string lock_holder(int fd) {
  char buf[32] = {0};
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  std::string s = n > 0 ? std::string(buf, size_t(n)) : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s.find_first_not_of("0123456789") == std::string::npos ? s : "";
}

// What st is, for a .lock that is not the regular file we keep the lock in; "" if it is one.
std::string not_a_lock_file(const struct stat& st) {
  if (S_ISLNK(st.st_mode)) return "a symbolic link";
  if (S_ISDIR(st.st_mode)) return "a directory";
  if (!S_ISREG(st.st_mode)) return "not a regular file";
  if (st.st_nlink != 1) return "a hard link (one of " + std::to_string((long)st.st_nlink) + " names of one file)";
  return "";
}

// DIR/.lock opened read-write (created 0644 if missing), never through a link: O_NOFOLLOW
// refuses a symbolic link, fstat on the open descriptor a hard link or anything but a regular
// file, before a byte is written (the pid goes into this file).
int open_lock_file(const std::string& lock_path) {
  int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
  const int err = errno;
  struct stat st;
  std::string found;
  if (fd >= 0 ? fstat(fd, &st) == 0 : lstat(lock_path.c_str(), &st) == 0) found = not_a_lock_file(st);
  if (fd < 0 && found.empty()) throw std::runtime_error("cannot create lock file " + lock_path + ": " + errno_str(err));
  if (found.empty()) return fd;
  if (fd >= 0) close(fd);
  throw std::runtime_error(lock_path + " is " + found + ", not the regular file l2l keeps its lock in, and l2l " +
                           "does not write through it: remove it (rm " + lock_path + ") and run again");
}

}  // namespace

// ---- the lock -------------------------------------------------------------------------------

RunDirLock::RunDirLock(const std::string& dir) : dir_(dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create run directory " + dir + ": " + ec.message());
  const std::string lock_path = (fs::path(dir) / ".lock").string();
  fd_ = open_lock_file(lock_path);
  if (flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string pid = lock_holder(fd_);
    close(fd_);
    fd_ = -1;
    if (err != EWOULDBLOCK) throw std::runtime_error("cannot lock " + lock_path + ": " + errno_str(err));
    throw RunDirBusy(dir + " is in use by " + (pid.empty() ? "another process" : "pid " + pid) + " (it holds " +
                     lock_path + "); wait for that run to finish or use another directory");
  }
  // Ours now: record who holds it, for the message the next writer gets.
  std::string me = std::to_string((long)getpid()) + "\n";
  if (ftruncate(fd_, 0) != 0 || pwrite(fd_, me.data(), me.size(), 0) != (ssize_t)me.size()) {
    int err = errno;
    close(fd_);
    fd_ = -1;
    throw std::runtime_error("cannot write lock file " + lock_path + ": " + errno_str(err));
  }
}

RunDirLock::~RunDirLock() {
  if (fd_ >= 0) close(fd_);  // closing the last descriptor releases the flock
}

// Whether `file` is "<one of names>.tmp.XXXXXX", X from mkstemp's alphabet [A-Za-z0-9].
static bool is_temp_of(const std::string& file, const std::vector<std::string>& names) {
  for (const std::string& n : names) {
    const std::string head = n + ".tmp.";
    if (file.size() != head.size() + 6 || file.compare(0, head.size(), head) != 0) continue;
    bool ok = true;
    for (size_t i = head.size(); i < file.size(); i++) ok = ok && std::isalnum((unsigned char)file[i]);
    if (ok) return true;
  }
  return false;
}

std::vector<std::string> RunDirLock::remove_stale_temp_files(const std::vector<std::string>& names) const {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir_, ec)) {
    const std::string file = e.path().filename().string();
    std::error_code sec;
    if (!is_temp_of(file, names) || !fs::is_regular_file(e.symlink_status(sec))) continue;
    if (fs::remove(e.path(), sec)) removed.push_back(file);
  }
  return removed;
}

// ---- what a directory holds -----------------------------------------------------------------

const std::vector<std::string>& run_files() {
  static const std::vector<std::string> files = {"phi.ckpt", "train_state.ckpt", "train_log.csv", "config.txt"};
  return files;
}

// "task quadratic, 5 of 20 epochs done, best validation score 0.0123 (epoch 3)", from the
// metadata of train_state.ckpt, or why that cannot be said.
static std::string describe_state(const std::string& state_path) {
  std::error_code ec;
  if (!fs::exists(state_path, ec)) return "no train_state.ckpt (task and epochs unknown)";
  try {
    MetadataReader r(load_checkpoint(state_path));
    std::string s = "task " + (r.has("task") ? r.str("task") : std::string("unknown"));
    long epoch = r.integer("epoch", -1, 1000000000);
    s += ", " + std::to_string(epoch + 1) + (r.has("epochs") ? " of " + r.str("epochs") : std::string()) + " epochs done";
    if (r.has("best_val")) {
      char buf[96];
      std::snprintf(buf, sizeof buf, ", best validation score %.6g", r.score("best_val"));
      s += buf + (r.has("best_epoch") ? " (epoch " + r.str("best_epoch") + ")" : std::string());
    }
    return s;
  } catch (const std::exception& e) {
    return std::string("train_state.ckpt unreadable (") + e.what() + ")";
  }
}

PriorRun find_prior_run(const std::string& dir) {
  PriorRun r;
  std::error_code ec;
  for (const std::string& f : run_files())
    if (fs::is_regular_file(fs::path(dir) / f, ec)) r.files.push_back(f);
  for (const std::string& f : r.files)
    if (f != "config.txt") r.exists = true;  // a config alone is a run that never saved anything
  if (!r.exists) return r;
  std::string listed;
  for (const std::string& f : r.files) listed += (listed.empty() ? "" : ", ") + f;
  r.description = dir + " holds a trained run: " + describe_state((fs::path(dir) / "train_state.ckpt").string()) +
                  " [" + listed + "]";
  return r;
}

// ---- --overwrite ----------------------------------------------------------------------------

std::string move_run_aside(const std::string& dir) {
  char stamp[32];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(stamp, sizeof stamp, "previous-%Y%m%d-%H%M%S", &tm);
  fs::path aside = fs::path(dir) / stamp;
  for (int k = 2; fs::exists(aside); k++) aside = fs::path(dir) / (std::string(stamp) + "-" + std::to_string(k));
  std::error_code ec;
  fs::create_directory(aside, ec);
  if (ec) throw std::runtime_error("cannot create " + aside.string() + " to move the old run into: " + ec.message());
  for (const std::string& f : run_files()) {
    fs::path from = fs::path(dir) / f;
    if (!fs::exists(from, ec)) continue;
    if (std::rename(from.c_str(), (aside / f).c_str()) != 0)
      throw std::runtime_error("cannot move " + from.string() + " to " + (aside / f).string() + ": " +
                               errno_str(errno) + " (files moved so far are in " + aside.string() + ")");
  }
  sync_directory(dir);
  return aside.string();
}

}  // namespace l2l
