// nn/files.cpp: the atomic write and the bounded read of nn/files.h, each a short function over
// POSIX calls (lstat, mkstemp, fsync, rename; open, fstat, read; signal for SIGXFSZ). What it is not: anything that
// waits, retries or knows what the bytes mean.
#include "nn/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace l2l {

namespace {

std::string errno_str(int err) { return std::strerror(err); }

// The directory that holds path ("." for a bare name, "/" for a file in the root).
std::string parent_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// What kind of file st describes, for "not a regular file" messages.
std::string file_kind(const struct stat& st) {
  if (S_ISDIR(st.st_mode)) return "a directory";
  if (S_ISFIFO(st.st_mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(st.st_mode)) return "a character device";
  if (S_ISBLK(st.st_mode)) return "a block device";
  if (S_ISSOCK(st.st_mode)) return "a socket";
  return "a special file";
}

// "256 MiB" for a whole number of MiB, else "295424 bytes".
std::string size_text(size_t n) {
  if (n > 0 && n % (size_t(1) << 20) == 0) return std::to_string(n >> 20) + " MiB";
  return std::to_string(n) + " bytes";
}

// Writes all of bytes to fd (retrying short writes and EINTR); errno on failure, else 0.
int write_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    done += size_t(n);
  }
  return 0;
}

}  // namespace

void fail_writes_past_size_limit() { std::signal(SIGXFSZ, SIG_IGN); }

void sync_directory(const std::string& dir) {
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)fsync(dfd);
    close(dfd);
  }
}

void write_file_atomic(const std::string& path, const std::string& bytes, const std::string& action) {
  const std::string head = "cannot " + action + " " + path + ": ";
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
    throw std::runtime_error(head + "it is a symbolic link, and l2l neither writes through a link nor replaces " +
                             "one it did not make: remove it (rm " + path + ") or choose another path (" + path +
                             " was not changed)");
  std::string tmp = path + ".tmp.XXXXXX";  // unique (mkstemp): two writers never share a temp file
  int fd = mkstemp(&tmp[0]);
  if (fd < 0)
    throw std::runtime_error(head + "cannot create a temporary file in " + parent_of(path) + ": " + errno_str(errno) +
                             " (is the directory there and writable? " + path + " was not changed)");
  auto fail = [&](const std::string& what, int err) {
    if (fd >= 0) close(fd);
    std::remove(tmp.c_str());
    throw std::runtime_error(head + what + ": " + errno_str(err) + " (" + path + " was not changed)");
  };
  (void)fchmod(fd, 0644);  // mkstemp creates 0600; these are ordinary files
  if (int err = write_all(fd, bytes)) fail("write failed on " + tmp, err);
  if (fsync(fd) != 0) fail("fsync failed on " + tmp, errno);
  int rc = close(fd);
  fd = -1;
  if (rc != 0) fail("close failed on " + tmp, errno);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename " + tmp + " to it", errno);
  sync_directory(parent_of(path));
}

Bytes read_regular_file(const std::string& path, size_t max_bytes, const std::string& fix, const std::string& name) {
  auto fail = [&](const std::string& expected, const std::string& found) {
    throw std::runtime_error((name.empty() ? path : name) + ": expected " + expected + ", found " + found +
                             ". Fix: " + fix);
  };
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) fail("a file", "no such file");
    fail("a readable file", "it cannot be opened (" + errno_str(errno) + ")");
  }
  struct stat st;
  std::string problem;
  if (fstat(fd, &st) != 0) problem = "fstat failed (" + errno_str(errno) + ")";
  else if (!S_ISREG(st.st_mode)) problem = file_kind(st);
  else if (uint64_t(st.st_size) > max_bytes) problem = std::to_string((long long)st.st_size) + " bytes";
  if (!problem.empty()) {
    close(fd);
    fail("a regular file of at most " + size_text(max_bytes), problem);
  }
  Bytes all(size_t(st.st_size) + 1);  // one byte more than fstat said: detects a growing file
  size_t got = 0;
  while (got < all.size()) {
    ssize_t n = read(fd, all.data() + got, all.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n < 0) problem = "a read error (" + errno_str(errno) + ")";
      break;
    }
    got += size_t(n);
  }
  close(fd);
  if (problem.empty() && got != size_t(st.st_size))
    problem = std::to_string(got) + " bytes where fstat said " + std::to_string((long long)st.st_size) +
              " (the file changed while being read)";
  if (!problem.empty()) fail("a readable, unchanging file", problem);
  all.resize(got);
  return all;
}

}  // namespace l2l
