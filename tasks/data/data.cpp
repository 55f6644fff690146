// data.cpp: MNIST (gzip IDX) and CIFAR-10 (xz binary) readers.
//
// What this file is: the data-set formats (IDX headers, CIFAR records) with actionable
// error messages, conversion of bytes to floats in [0,1], label filtering and the search
// for the data directory. What it is not: bounded file reading (nn/files.cpp) or
// decompression (tasks/data/decompress.cpp); no caching, batching or normalisation;
// everything is decoded afresh on every call (CIFAR train takes seconds).
#include "tasks/data/data.h"

#include "nn/files.h"
#include "tasks/data/decompress.h"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace fs = std::filesystem;

namespace l2l {
namespace {

const char* kMnistFix =
    "re-copy it from ../shared/data/mnist (see ../shared/data/README.md), "
    "or pass --data DIR / set L2L_DATA to a directory holding a good copy";
const char* kCifarFix =
    "re-copy it from ../shared/data/cifar10 (see ../shared/data/README.md), "
    "or pass --data DIR / set L2L_DATA to a directory holding a good copy";

// Throws "<path>: expected <expected>, found <found>. Fix: <fix>".
[[noreturn]] void fail(const std::string& path, const std::string& expected,
                       const std::string& found, const std::string& fix) {
  throw std::runtime_error(path + ": expected " + expected + ", found " +
                           found + ". Fix: " + fix);
}

// The content of a compressed data file: read by nn/files.h, decompressed by decompress.h,
// each bounded.
Bytes read_gzip(const std::string& path, const std::string& fix) {
  return gunzip(read_regular_file(path, kMaxDataFileBytes, fix), path, kMaxDataFileBytes, fix);
}
Bytes read_xz(const std::string& path, const std::string& fix) {
  return unxz(read_regular_file(path, kMaxDataFileBytes, fix), path, kMaxDataFileBytes, fix);
}

uint32_t big_endian32(const Bytes& b, size_t at) {
  return (uint32_t(b[at]) << 24) | (uint32_t(b[at + 1]) << 16) |
         (uint32_t(b[at + 2]) << 8) | uint32_t(b[at + 3]);
}

// Checks the IDX header (magic + `dims` sizes) and the total length; returns
// the sizes. Layout: int32 magic, dims x int32 size, then the product of the
// sizes in bytes.
std::vector<uint32_t> check_idx(const std::string& path, const Bytes& b,
                                uint32_t magic, int dims) {
  const size_t header = 4 * size_t(1 + dims);
  const std::string kind = magic == 2051 ? "IDX image file" : "IDX label file";
  if (b.size() < header)
    fail(path, "an " + kind + " with a " + std::to_string(header) + "-byte header",
         "only " + std::to_string(b.size()) + " bytes after decompression (truncated)",
         kMnistFix);
  if (big_endian32(b, 0) != magic)
    fail(path, "IDX magic " + std::to_string(magic) + " (" + kind + ")",
         "magic " + std::to_string(big_endian32(b, 0)), kMnistFix);
  std::vector<uint32_t> sizes;
  uint64_t payload = 1;
  for (int i = 0; i < dims; ++i) {
    sizes.push_back(big_endian32(b, 4 + 4 * size_t(i)));
    payload *= sizes.back();
  }
  const uint64_t want = header + payload, have = b.size();
  if (have < want)
    fail(path, std::to_string(want) + " bytes (header + data) as the header promises",
         std::to_string(have) + " bytes (file truncated)", kMnistFix);
  if (have > want)
    fail(path, std::to_string(want) + " bytes (header + data) as the header promises",
         std::to_string(have) + " bytes (" + std::to_string(have - want) +
             " bytes of trailing garbage)", kMnistFix);
  return sizes;
}

float to_unit(unsigned char byte) { return static_cast<float>(byte) / 255.0f; }

// The part of a data set: its training or its test images.
void check_part(const std::string& part, const std::string& what) {
  if (part != "train" && part != "test")
    throw std::runtime_error(what + ": unknown part \"" + part +
                             "\"; expected \"train\" or \"test\"");
}

// Where the files of a data set are: `dir` itself if it holds `probe`, else dir/sub if that
// is a directory (dir was the data root: a missing file is then reported at its real path
// dir/sub/<file>), else `dir` (it was meant to be the folder itself).
std::string resolve_dir(const std::string& dir, const std::string& sub,
                        const std::string& probe) {
  std::error_code ec;
  if (fs::exists(fs::path(dir) / probe, ec)) return dir;
  if (fs::is_directory(fs::path(dir) / sub, ec)) return (fs::path(dir) / sub).string();
  return dir;
}

// True if `dir` is a directory named `sub` (e.g. "--data ../shared/data/mnist", with or
// without a trailing slash): the data-set folder itself rather than the data root.
bool is_the_folder_itself(const std::string& dir, const std::string& sub) {
  std::error_code ec;
  fs::path p = fs::path(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  return p.filename() == sub && fs::is_directory(p, ec);
}

constexpr size_t kCifarRecord = 3073;  // 1 label byte + 3 * 32 * 32 pixels
constexpr int kCifarPerBatch = 10000;

}  // namespace

std::string find_data_dir(const std::string& flag_value, const std::string& sub) {
  // An explicit choice (--data, else $L2L_DATA) is the only place looked at: a mistyped path
  // must fail, not silently fall back to other data.
  std::vector<std::pair<std::string, std::string>> tried;  // (path, origin)
  const char* env = std::getenv("L2L_DATA");
  if (!flag_value.empty()) {
    tried.push_back({flag_value, "--data flag"});
  } else if (env && *env) {
    tried.push_back({env, "L2L_DATA environment variable"});
  } else {
    tried.push_back({"./data", "default"});
    tried.push_back({"../shared/data", "default"});
  }
  for (const auto& [dir, origin] : tried) {
    std::error_code ec;
    if (fs::is_directory(fs::path(dir) / sub, ec) || is_the_folder_itself(dir, sub)) return dir;
  }
  std::string msg = "data folder \"" + sub + "\" not found. Tried (working dir " +
                    fs::current_path().string() + "):";
  for (const auto& [dir, origin] : tried)
    msg += "\n  " + (fs::path(dir) / sub).string() + "  (" + origin + ")";
  msg += "\nFix: pass --data DIR or set L2L_DATA=DIR, where DIR contains \"" + sub +
         "/\" or is that folder itself (a copy of ../shared/data, see ../shared/data/README.md), "
         "or run from the repository root next to ../shared.";
  throw std::runtime_error(msg);
}

Dataset read_idx_images(const std::string& path) {
  return idx_images_from_bytes(read_gzip(path, kMnistFix), path);
}

std::vector<int> read_idx_labels(const std::string& path) {
  return idx_labels_from_bytes(read_gzip(path, kMnistFix), path);
}

Dataset read_cifar_batch(const std::string& path) {
  return cifar_batch_from_bytes(read_xz(path, kCifarFix), path);
}

Dataset idx_images_from_gzip(const std::vector<unsigned char>& gz, const std::string& name, size_t max_bytes) {
  return idx_images_from_bytes(gunzip(gz, name, max_bytes, kMnistFix), name);
}

std::vector<int> idx_labels_from_gzip(const std::vector<unsigned char>& gz, const std::string& name,
                                      size_t max_bytes) {
  return idx_labels_from_bytes(gunzip(gz, name, max_bytes, kMnistFix), name);
}

Dataset cifar_batch_from_xz(const std::vector<unsigned char>& xz, const std::string& name, size_t max_bytes) {
  return cifar_batch_from_bytes(unxz(xz, name, max_bytes, kCifarFix), name);
}

Dataset idx_images_from_bytes(const std::vector<unsigned char>& b, const std::string& path) {
  std::vector<uint32_t> s = check_idx(path, b, 2051, 3);
  if (s[1] != 28 || s[2] != 28)
    fail(path, "28x28 images", std::to_string(s[1]) + "x" + std::to_string(s[2]),
         kMnistFix);
  Dataset d;
  d.n = static_cast<int>(s[0]);
  d.channels = 1;
  d.height = 28;
  d.width = 28;
  d.pixels.resize(b.size() - 16);
  for (size_t i = 0; i < d.pixels.size(); ++i) d.pixels[i] = to_unit(b[16 + i]);
  return d;
}

std::vector<int> idx_labels_from_bytes(const std::vector<unsigned char>& b, const std::string& path) {
  check_idx(path, b, 2049, 1);
  std::vector<int> labels(b.begin() + 8, b.end());
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] > 9)
      fail(path, "labels 0..9",
           "label " + std::to_string(labels[i]) + " at index " + std::to_string(i),
           kMnistFix);
  return labels;
}

Dataset load_mnist(const std::string& dir, const std::string& part) {
  check_part(part, "load_mnist");
  const std::string prefix = part == "train" ? "train" : "t10k";
  const std::string root =
      resolve_dir(dir, "mnist", prefix + "-images-idx3-ubyte.gz");
  const std::string images = (fs::path(root) / (prefix + "-images-idx3-ubyte.gz")).string();
  const std::string labels = (fs::path(root) / (prefix + "-labels-idx1-ubyte.gz")).string();
  Dataset d = read_idx_images(images);
  d.labels = read_idx_labels(labels);
  if (d.labels.size() != size_t(d.n))
    fail(labels, std::to_string(d.n) + " labels (as many as images in " + images + ")",
         std::to_string(d.labels.size()) + " labels", kMnistFix);
  return d;
}

Dataset cifar_batch_from_bytes(const std::vector<unsigned char>& b, const std::string& path) {
  if (b.empty() || b.size() % kCifarRecord != 0)
    fail(path, "a whole number (>= 1) of 3073-byte CIFAR records after decompression",
         std::to_string(b.size()) + " bytes = " + std::to_string(b.size() / kCifarRecord) +
             " records + a partial record of " + std::to_string(b.size() % kCifarRecord) +
             " bytes",
         kCifarFix);
  Dataset d;
  d.n = static_cast<int>(b.size() / kCifarRecord);
  d.channels = 3;
  d.height = 32;
  d.width = 32;
  d.pixels.resize(size_t(d.n) * (kCifarRecord - 1));
  d.labels.resize(size_t(d.n));
  for (size_t r = 0; r < size_t(d.n); ++r) {
    const unsigned char* rec = b.data() + r * kCifarRecord;
    if (rec[0] > 9)
      fail(path, "label byte 0..9 at the start of each record",
           "label " + std::to_string(int(rec[0])) + " in record " + std::to_string(r) +
               " (byte offset " + std::to_string(r * kCifarRecord) + ")",
           kCifarFix);
    d.labels[r] = rec[0];
    float* out = d.pixels.data() + r * (kCifarRecord - 1);
    for (size_t i = 0; i + 1 < kCifarRecord; ++i) out[i] = to_unit(rec[1 + i]);
  }
  return d;
}

std::vector<std::string> cifar10_files(const std::string& dir, const std::string& part) {
  check_part(part, "cifar10_files");
  std::vector<std::string> names;
  if (part == "train")
    for (int i = 1; i <= 5; ++i) names.push_back("data_batch_" + std::to_string(i) + ".bin.xz");
  else
    names.push_back("test_batch.bin.xz");
  const std::string root = resolve_dir(dir, "cifar10", names[0]);
  std::vector<std::string> paths;
  for (const std::string& n : names) paths.push_back((fs::path(root) / n).string());
  return paths;
}

Dataset load_cifar10(const std::string& dir, const std::string& part) {
  check_part(part, "load_cifar10");
  const std::vector<std::string> paths = cifar10_files(dir, part);
  Dataset all;
  all.channels = 3;
  all.height = 32;
  all.width = 32;
  all.pixels.reserve(paths.size() * kCifarPerBatch * (kCifarRecord - 1));
  all.labels.reserve(paths.size() * kCifarPerBatch);
  for (const std::string& path : paths) {
    Dataset b = read_cifar_batch(path);
    if (b.n != kCifarPerBatch)
      fail(path, "30,730,000 bytes (10,000 records) after decompression",
           std::to_string(size_t(b.n) * kCifarRecord) + " bytes (" +
               std::to_string(b.n) + " records)",
           kCifarFix);
    all.pixels.insert(all.pixels.end(), b.pixels.begin(), b.pixels.end());
    all.labels.insert(all.labels.end(), b.labels.begin(), b.labels.end());
    all.n += b.n;
  }
  return all;
}

Dataset filter_labels(const Dataset& d, const std::vector<int>& keep) {
  std::vector<int> new_label(10, -1);  // old label -> new label, -1 = drop
  for (size_t i = 0; i < keep.size(); ++i) {
    int k = keep[i];
    if (k < 0 || k > 9)
      throw std::runtime_error("filter_labels: label " + std::to_string(k) +
                               " is outside 0..9");
    if (new_label[size_t(k)] != -1)
      throw std::runtime_error("filter_labels: label " + std::to_string(k) +
                               " appears twice in the keep list");
    new_label[size_t(k)] = static_cast<int>(i);
  }
  Dataset out;
  out.channels = d.channels;
  out.height = d.height;
  out.width = d.width;
  const size_t sz = size_t(d.image_size());
  for (size_t i = 0; i < size_t(d.n); ++i) {
    int l = d.labels[i];
    if (l < 0 || l > 9 || new_label[size_t(l)] < 0) continue;
    out.labels.push_back(new_label[size_t(l)]);
    out.pixels.insert(out.pixels.end(), d.pixels.begin() + long(i * sz),
                      d.pixels.begin() + long((i + 1) * sz));
    ++out.n;
  }
  return out;
}

}  // namespace l2l
