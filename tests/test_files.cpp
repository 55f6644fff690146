// test_files.cpp: the atomic write and the bounded read of nn/files.h.
//
// What this file is: write_file_atomic replaces whole files with mode 0644 and, when it fails
// (no such directory, a directory in the way, a write cut short by the file-size limit), leaves
// the old file as it was and no temp file behind, and refuses a destination that is a symbolic
// link (its target is never written); read_regular_file reads a regular file
// exactly and refuses a missing file, a directory, a FIFO (without hanging), /dev/zero and a
// file over its bound, each with a message naming the file, the expectation and the fix.
// What it is not: the formats read with them (test_checkpoint.cpp, test_data.cpp, ...).
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "doctest/doctest.h"
#include "helpers.h"
#include "nn/files.h"

using namespace l2l;
using l2l::test::error_of;
using l2l::test::slurp;
using l2l::test::TempDir;
namespace fs = std::filesystem;

TEST_CASE("files: write_file_atomic replaces the whole file, mode 0644, no temp file left") {
  TempDir tmp;
  const std::string path = tmp.file("a.txt");
  write_file_atomic(path, "first version\n");
  write_file_atomic(path, std::string("\0second\xff", 8));
  CHECK(slurp(path) == std::string("\0second\xff", 8));
  struct stat st;
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);
  CHECK(tmp.entries() == 1);
  write_file_atomic(path, "");
  CHECK(fs::file_size(path) == 0);
  CHECK(tmp.entries() == 1);
}

TEST_CASE("files: a failed atomic write leaves the old file and no temp file, and says so") {
  TempDir tmp;
  // No such directory: nothing is created anywhere.
  const std::string nowhere = tmp.file("no/such/dir/x.txt");
  std::string msg = error_of([&] { write_file_atomic(nowhere, "x", "save checkpoint"); });
  CHECK(msg.find("cannot save checkpoint " + nowhere + ": cannot create a temporary file in " + tmp.file("no/such/dir")) == 0);
  CHECK(msg.find(nowhere + " was not changed") != std::string::npos);
  CHECK(tmp.entries() == 0);

  // A non-empty directory in the way: the temp file is written, the rename fails, it is removed.
  const std::string blocked = tmp.file("blocked");
  fs::create_directories(blocked + "/inside");
  msg = error_of([&] { write_file_atomic(blocked, "x"); });
  CHECK(msg.find("cannot write " + blocked + ": cannot rename " + blocked + ".tmp.") == 0);
  CHECK(msg.find("(" + blocked + " was not changed)") != std::string::npos);
  CHECK(fs::is_directory(blocked + "/inside"));
  CHECK(tmp.entries() == 1);
}

TEST_CASE("files: a write cut short (file-size limit) leaves the old file and no temp file") {
  TempDir tmp;
  const std::string path = tmp.file("old.txt");
  write_file_atomic(path, "old contents\n");
  // In a child, so that the limit and the ignored SIGXFSZ stay there: a 4 KiB file-size limit
  // makes the write of 64 KiB fail with EFBIG, once fail_writes_past_size_limit() (what the
  // programs call first) has turned the signal off; otherwise SIGXFSZ kills the child.
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    fail_writes_past_size_limit();
    struct rlimit lim = {4096, 4096};
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) _exit(3);
    std::string msg = error_of([&] { write_file_atomic(path, std::string(65536, 'n')); });
    bool says = msg.find("cannot write " + path + ": write failed on " + path + ".tmp.") == 0 &&
                msg.find("(" + path + " was not changed)") != std::string::npos;
    _exit(says ? 0 : 2);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  CHECK_MESSAGE(WIFEXITED(status), "the child was killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(slurp(path) == "old contents\n");
  CHECK(tmp.entries() == 1);
}

TEST_CASE("files: write_file_atomic refuses a destination that is a symbolic link and never writes its target") {
  TempDir tmp;
  const std::string target = tmp.file("victim.txt"), link = tmp.file("config.txt");
  write_file_atomic(target, "DATA\n");
  fs::create_symlink(target, link);
  std::string msg = error_of([&] { write_file_atomic(link, "overwritten\n"); });
  CHECK(msg.find("cannot write " + link + ": it is a symbolic link") == 0);
  CHECK(msg.find("(" + link + " was not changed)") != std::string::npos);
  CHECK(slurp(target) == "DATA\n");
  CHECK(fs::is_symlink(link));  // the link stays a link
  CHECK(tmp.entries() == 2);    // and no temp file is left
  // A dangling link is refused too (nothing is created at its target).
  fs::create_symlink(tmp.file("nowhere.txt"), tmp.file("dangling"));
  CHECK(error_of([&] { write_file_atomic(tmp.file("dangling"), "x"); }).find("is a symbolic link") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp.file("nowhere.txt")));
}

TEST_CASE("files: read_regular_file reads a regular file exactly, up to its bound") {
  TempDir tmp;
  const std::string path = tmp.file("data.bin");
  std::string bytes;
  for (int i = 0; i < 5000; i++) bytes.push_back((char)(i * 7 % 256));
  write_file_atomic(path, bytes);
  Bytes b = read_regular_file(path, bytes.size(), "no fix needed");
  CHECK(std::string(b.begin(), b.end()) == bytes);
  write_file_atomic(path, "");
  CHECK(read_regular_file(path, 0, "no fix needed").empty());
}

TEST_CASE("files: read_regular_file refuses a missing file, a directory, a FIFO, /dev/zero, a file too big") {
  TempDir tmp;
  const std::string fix = "pass the right file";
  const std::string missing = tmp.file("missing");
  CHECK(error_of([&] { read_regular_file(missing, 100, fix); }) ==
        missing + ": expected a file, found no such file. Fix: pass the right file");
  CHECK(error_of([&] { read_regular_file(tmp.dir.string(), 100, fix, "the thing " + tmp.dir.string()); }) ==
        "the thing " + tmp.dir.string() + ": expected a regular file of at most 100 bytes, found a directory. Fix: " + fix);

  const std::string fifo = tmp.file("pipe");
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);  // no writer: a blocking open would hang here
  CHECK(error_of([&] { read_regular_file(fifo, 1 << 20, fix); }) ==
        fifo + ": expected a regular file of at most 1 MiB, found a FIFO (named pipe). Fix: " + fix);
  if (fs::exists("/dev/zero"))  // read to its end, this would never stop
    CHECK(error_of([&] { read_regular_file("/dev/zero", 1 << 20, fix); }) ==
          "/dev/zero: expected a regular file of at most 1 MiB, found a character device. Fix: " + fix);

  const std::string big = tmp.file("big");
  write_file_atomic(big, std::string(101, 'x'));
  CHECK(error_of([&] { read_regular_file(big, 100, fix); }) ==
        big + ": expected a regular file of at most 100 bytes, found 101 bytes. Fix: " + fix);
  const std::string sparse = tmp.file("sparse");  // refused by its size: never read
  { std::ofstream f(sparse); }
  fs::resize_file(sparse, (size_t(1) << 30) + 1);
  CHECK(error_of([&] { read_regular_file(sparse, size_t(1) << 30, fix); }) ==
        sparse + ": expected a regular file of at most 1024 MiB, found 1073741825 bytes. Fix: " + fix);
}
