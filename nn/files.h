// nn/files.h: the project's one atomic write and one bounded read of a regular file.
//
// Is: write_file_atomic (readers see the old file or the new one, never a part; a failed write
//     leaves the old file as it was), read_regular_file (bytes from outside are read only from a
//     regular file of bounded size: a directory, a FIFO or /dev/zero is refused before a byte is
//     read, and no file can make us read or allocate more than the bound), sync_directory.
//     Every file the project writes or reads from outside goes through these (checkpoints,
//     run-directory text files, data sets and their cache, images, VGG weights).
// Is not: a file format (nn/checkpoint.h, tasks/data/), locking (tasks/run/run_dir.h),
//     streaming or memory mapping: files are written and read whole. POSIX only.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace l2l {

using Bytes = std::vector<unsigned char>;

// Writes `bytes` to path atomically: a unique temp file path + ".tmp.XXXXXX" (mkstemp, same
// directory), mode 0644, written in full, fsync'ed, closed, renamed over path; then the
// directory is fsync'ed (best effort) so the rename survives a crash. On any failure the temp
// file is removed, path is untouched, and std::runtime_error names the file and the reason:
//   "cannot <action> <path>: <what failed>: <strerror> (<path> was not changed)"
// `action` is what the caller was doing ("write" by default, "save checkpoint", ...).
// Links: a path that is a symbolic link is refused ("it is a symbolic link ..."): l2l never
// writes into a link's target, and does not silently replace a link it did not make. The rest
// cannot be redirected: mkstemp creates with O_EXCL (a link in its place makes it pick another
// name), and rename replaces the directory entry itself (a link put at path after the check is
// replaced, its target untouched; a hard link keeps the old bytes under its other name).
void write_file_atomic(const std::string& path, const std::string& bytes, const std::string& action = "write");

// Makes a write past the file size limit (ulimit -f, RLIMIT_FSIZE) fail with EFBIG instead of
// killing the process with SIGXFSZ and no message: write_file_atomic then reports it, naming
// the file, and leaves the old file as it was. Every program that writes files calls it first.
void fail_writes_past_size_limit();

// fsync(2) on a directory, so that a rename or create in it survives a crash. Best effort:
// some filesystems refuse, and that is not an error.
void sync_directory(const std::string& dir);

// The whole file at `path`, if it is a regular file of at most max_bytes. Opened with
// O_RDONLY | O_NONBLOCK | O_CLOEXEC (a FIFO cannot hang us) and checked with fstat on the open
// descriptor (the file checked is the file read); refused before anything is read: a path
// that is not a regular file (a directory, a FIFO, a character device such as /dev/zero, ...)
// and a file larger than max_bytes. Reading is capped at the size fstat gave + 1 byte, so a
// file that grows while being read is refused too. Errors are std::runtime_error
//   "<name>: expected <what the path should be>, found <what it is>. Fix: <fix>"
// with <name> = `name` if given (e.g. "checkpoint run/phi.ckpt"), else the path, e.g.
//   "data/mnist/t10k-labels-idx1-ubyte.gz: expected a regular file of at most 256 MiB, found a
//    FIFO (named pipe). Fix: copy the MNIST files again from shared/data"
Bytes read_regular_file(const std::string& path, size_t max_bytes, const std::string& fix,
                        const std::string& name = "");

}  // namespace l2l
