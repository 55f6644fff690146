// checkpoint.h: a small binary file of named tensors plus string metadata.
//
// Is: save/load of model parameters, optimizer state (Optimizer::state()) and run metadata
//     (config, seeds, Rng state as text) in one file, with errors that say what is wrong.
// Is not: a general serialization library, memory-mapped, or streaming (files are read whole;
//     ours hold at most a few hundred thousand numbers).
//
// Layout, version 2 (every integer and float little-endian):
//   "L2LCKPT\0"                       8 bytes, magic
//   u32 version                       2
//   u32 meta count, then per entry:   u32 key length, key bytes, u32 value length, value bytes
//   u32 tensor count, then per tensor: u32 name length, name bytes, u32 ndim, i32 dims[ndim],
//                                      u8 dtype, data[product of dims]
//   u64 checksum                      FNV-1a 64 of every byte before it
// dtype says how the data is stored: 'f' = IEEE float32 (4 bytes per element), 'd' = IEEE
// float64 (8 bytes). save_checkpoint writes the build's own `real` ('f' in the normal float
// build, 'd' in the -DL2L_DOUBLE build), so every value, NaN payloads and -0 included,
// round-trips bit for bit and a resumed run continues exactly. load_checkpoint reads either
// dtype and converts to `real`: float32 into a double build is exact; float64 into a float
// build rounds to nearest (finite values beyond float's range become +-inf).
// Version 1 (written before dtypes existed) is still read: same layout without the dtype
// byte, data always float32.
//
// Saving is atomic (write_file_atomic, nn/files.h): the bytes go to a unique temp file path +
// ".tmp.XXXXXX" (mkstemp), are fsync'ed, and the temp file is renamed over path. On any
// failure the temp file is removed, a file already at path is left untouched, and
// std::runtime_error "cannot save checkpoint PATH: ..." says why.
// Loading throws std::runtime_error naming the file and the problem: missing or unreadable,
// not a regular file (a directory, a FIFO, /dev/zero: refused before a byte is read, by
// read_regular_file of nn/files.h), larger than kMaxCheckpointBytes, "not an l2l checkpoint" (bad magic), unsupported version,
// truncated (which field, how many bytes it needs and how many are left), absurd sizes
// (every length is checked against the bytes left, at 4 or 8 bytes per element, before
// anything is allocated; a shape whose dimensions multiply past 2^31-1 is refused, so no later
// int arithmetic on it can overflow), an unknown dtype byte, trailing bytes, and "corrupted"
// (checksum).
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "autodiff/tape.h"  // Param
#include "named_tensors.h"

namespace l2l {

struct Checkpoint {
  std::vector<std::pair<std::string, std::string>> meta;  // e.g. {"task", "mnist"}, {"seed", "7"}
  NamedTensors tensors;
  std::string source;  // the file it was loaded from (not saved); used in error messages

  const Tensor* tensor(const std::string& name) const;       // nullptr if absent
  const std::string* meta_value(const std::string& key) const;  // nullptr if absent
};

// Names and keys must be non-empty and unique, and no dimension may be negative
// (std::invalid_argument, before any file is touched).
void save_checkpoint(const std::string& path, const Checkpoint& ck);
Checkpoint load_checkpoint(const std::string& path);

// The largest file load_checkpoint reads (1 GiB). Ours are far smaller (the paper's 2-layer,
// 20-unit LSTM optimizer is ~5,000 numbers; a resumable train state a few MB): anything
// bigger is not one of our checkpoints, and is refused before it is read into memory.
constexpr size_t kMaxCheckpointBytes = size_t(1) << 30;

// The decoder behind load_checkpoint, on bytes already in memory (same checks, same
// messages; `name` stands for the file in them). Used by the fuzz target tests/fuzz/.
Checkpoint decode_checkpoint(const unsigned char* data, size_t n, const std::string& name);

// Checkpoint metadata read back as typed values, for settings and state (layers, hidden,
// epoch, histories, ...). Every error is a std::runtime_error naming the file, the key, the
// value found (cut to 40 characters) and what was expected, e.g.
//   "checkpoint run/phi.ckpt: metadata 'hidden' is '2e9', expected an integer in [1, 4096]
//    (the file is damaged or was not written by l2l)"
//   "checkpoint run/phi.ckpt: has no metadata 'seed' (the file is damaged or was not written
//    by this version of l2l)"
// The reader keeps its own copy of the entries, so it may outlive the Checkpoint it came from.
// x as text that reads back to the same double ("%.17g"): how numbers go into metadata.
std::string exact_text(double x);

class MetadataReader {
 public:
  // `file` names the checkpoint in messages; empty means "(not from a file)".
  MetadataReader(const std::vector<std::pair<std::string, std::string>>& meta, const std::string& file);
  explicit MetadataReader(const Checkpoint& ck);  // ck.meta, named by ck.source

  bool has(const std::string& key) const;
  const std::string& str(const std::string& key) const;  // the raw value; error if absent
  // The value parsed in full as a decimal integer (no spaces, no exponent) in [lo, hi].
  long integer(const std::string& key, long lo, long hi) const;
  // The value parsed in full as a finite number (strtod's syntax, no spaces) in [lo, hi].
  double number(const std::string& key, double lo = -HUGE_VAL, double hi = HUGE_VAL) const;
  // Comma-separated finite numbers ("0.5,1e-3,2"); the empty string is the empty list.
  std::vector<double> list(const std::string& key) const;
  // A score, and a list of them: like number() and list(), but +inf and -inf are allowed (a
  // validation whose runs diverged scores inf); NaN never is.
  double score(const std::string& key) const;
  std::vector<double> scores(const std::string& key) const;

 private:
  [[noreturn]] void bad(const std::string& key, const std::string& expected) const;
  std::vector<std::pair<std::string, std::string>> meta_;
  std::string file_;
};

// Appends `ts` to ck.tensors with every name prefixed (e.g. "opt." + "adam.m.0").
void add_tensors(Checkpoint& ck, const std::string& prefix, const NamedTensors& ts);
// Throws std::runtime_error naming ck.source, the tensor and the index unless every value of
// the tensors whose names start with prefix is finite; `fix` ends the message. A checkpoint
// may hold NaN (save/load round-trip it); a phi or an optimizer's state must not.
void require_finite(const Checkpoint& ck, const std::string& prefix, const std::string& fix);
// The tensors whose names start with prefix, with the prefix removed, in file order.
NamedTensors tensors_with_prefix(const Checkpoint& ck, const std::string& prefix);

// Params by name: the tensor prefix + p->name holds p->value (gradients are not saved).
void add_params(Checkpoint& ck, const std::vector<Param*>& ps, const std::string& prefix = "");
// Copies the checkpoint's tensors into existing Params. Strict: every Param must be present
// with its exact shape, and every checkpoint tensor under `prefix` must belong to a Param;
// otherwise std::runtime_error such as
//   "checkpoint run/best.ckpt has tensor lstm.w of shape (22,80) but the model expects (42,80)".
// All checks run before any Param is written, so a failed load changes nothing.
void load_params(const Checkpoint& ck, const std::vector<Param*>& ps, const std::string& prefix = "");

// One-call versions for a file that holds only Params.
void save_params(const std::string& path, const std::vector<Param*>& ps);
void load_params(const std::string& path, const std::vector<Param*>& ps);

// FNV-1a 64-bit hash (offset basis 0xcbf29ce484222325, prime 0x100000001b3): the checksum.
uint64_t fnv1a64(const unsigned char* data, size_t n);

}  // namespace l2l
