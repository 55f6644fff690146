// tasks/data.cpp — MNIST (gzip IDX) and CIFAR-10 (xz binary) readers.
//
// What this file is: file decompression (zlib for .gz, liblzma for .xz),
// format checks with actionable error messages, and conversion of bytes to
// floats in [0,1]. What it is not: no caching, batching or normalisation;
// everything is decoded afresh on every call (CIFAR train takes seconds).
#include "data.h"

#include <lzma.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace l2l {
namespace {

using Bytes = std::vector<unsigned char>;

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

void require_file(const std::string& path, const std::string& what,
                  const std::string& fix) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec))
    fail(path, what, "no such file", fix);
}

// The first `n` bytes of a file (fewer if the file is shorter).
Bytes read_head(const std::string& path, size_t n) {
  std::ifstream in(path, std::ios::binary);
  Bytes head(n);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(n));
  head.resize(static_cast<size_t>(in.gcount()));
  return head;
}

Bytes read_whole_file(const std::string& path, const std::string& fix) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail(path, "a readable file", "it cannot be opened", fix);
  Bytes all(static_cast<size_t>(in.tellg()));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(all.data()), static_cast<std::streamsize>(all.size()));
  if (!in) fail(path, std::to_string(all.size()) + " readable bytes", "a read error", fix);
  return all;
}

std::string describe_head(const Bytes& head) {
  if (head.empty()) return "an empty file";
  std::ostringstream s;
  s << "first bytes";
  for (unsigned char b : head) s << " 0x" << std::hex << int(b);
  return s.str();
}

// Whole content of a gzip file. gzread would pass non-gzip data through
// unchanged, so the gzip magic 0x1f 0x8b is checked here first.
Bytes read_gzip(const std::string& path, const std::string& fix) {
  require_file(path, "a gzip file", fix);
  Bytes head = read_head(path, 2);
  if (head.size() < 2 || head[0] != 0x1f || head[1] != 0x8b)
    fail(path, "a gzip file (magic bytes 0x1f 0x8b)", describe_head(head), fix);

  gzFile gz = gzopen(path.c_str(), "rb");
  if (!gz) fail(path, "a readable gzip file", "gzopen failed", fix);
  gzbuffer(gz, 1 << 18);
  Bytes out;
  const unsigned chunk = 1u << 20;
  for (;;) {
    size_t old = out.size();
    out.resize(old + chunk);
    int got = gzread(gz, out.data() + old, chunk);
    out.resize(old + (got > 0 ? size_t(got) : 0));
    if (got <= 0) break;
  }
  int err = Z_OK;
  std::string msg = gzerror(gz, &err);
  gzclose(gz);
  if (err != Z_OK)
    fail(path, "a complete, valid gzip stream", "zlib error \"" + msg + "\"", fix);
  return out;
}

std::string lzma_error_name(lzma_ret r) {
  switch (r) {
    case LZMA_FORMAT_ERROR: return "data not in .xz format (LZMA_FORMAT_ERROR)";
    case LZMA_DATA_ERROR: return "corrupt compressed data (LZMA_DATA_ERROR)";
    case LZMA_BUF_ERROR: return "a stream that ends too early, i.e. truncated (LZMA_BUF_ERROR)";
    case LZMA_MEM_ERROR: return "out of memory (LZMA_MEM_ERROR)";
    case LZMA_OPTIONS_ERROR: return "unsupported options (LZMA_OPTIONS_ERROR)";
    case LZMA_UNSUPPORTED_CHECK: return "an unsupported integrity check (LZMA_UNSUPPORTED_CHECK)";
    default: return "liblzma error code " + std::to_string(int(r));
  }
}

// Whole decompressed content of a single-stream .xz file.
Bytes read_xz(const std::string& path, const std::string& fix) {
  require_file(path, "an xz file", fix);
  Bytes in = read_whole_file(path, fix);
  static const unsigned char kMagic[6] = {0xFD, '7', 'z', 'X', 'Z', 0x00};
  if (in.size() < 6 || !std::equal(kMagic, kMagic + 6, in.begin()))
    fail(path, "an xz file (magic bytes 0xfd '7zXZ' 0x00)",
         describe_head(Bytes(in.begin(), in.begin() + std::min<size_t>(6, in.size()))), fix);

  lzma_stream strm = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&strm, UINT64_MAX, 0) != LZMA_OK)
    fail(path, "an xz decoder", "lzma_stream_decoder failed to initialise", fix);
  Bytes out(std::max<size_t>(in.size() * 2, 1 << 20));
  strm.next_in = in.data();
  strm.avail_in = in.size();
  strm.next_out = out.data();
  strm.avail_out = out.size();
  lzma_ret r = LZMA_OK;
  while (r == LZMA_OK) {
    if (strm.avail_out == 0) {  // grow the output buffer and continue
      size_t used = out.size();
      out.resize(used * 2);
      strm.next_out = out.data() + used;
      strm.avail_out = out.size() - used;
    }
    r = lzma_code(&strm, LZMA_FINISH);
  }
  out.resize(static_cast<size_t>(strm.total_out));
  size_t left = strm.avail_in;
  lzma_end(&strm);
  if (r != LZMA_STREAM_END)
    fail(path, "a complete, valid xz stream", lzma_error_name(r), fix);
  if (left != 0)
    fail(path, "nothing after the xz stream",
         std::to_string(left) + " trailing bytes", fix);
  return out;
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

void check_split(const std::string& split, const std::string& what) {
  if (split != "train" && split != "test")
    throw std::runtime_error(what + ": unknown split \"" + split +
                             "\"; expected \"train\" or \"test\"");
}

// `dir` itself if it holds `probe`, else dir/sub if that does (dir was the
// data root), else `dir` (so the later error names the expected path).
std::string resolve_dir(const std::string& dir, const std::string& sub,
                        const std::string& probe) {
  std::error_code ec;
  if (fs::exists(fs::path(dir) / probe, ec)) return dir;
  if (fs::exists(fs::path(dir) / sub / probe, ec)) return (fs::path(dir) / sub).string();
  return dir;
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
    if (fs::is_directory(fs::path(dir) / sub, ec)) return dir;
  }
  std::string msg = "data folder \"" + sub + "\" not found. Tried (working dir " +
                    fs::current_path().string() + "):";
  for (const auto& [dir, origin] : tried)
    msg += "\n  " + (fs::path(dir) / sub).string() + "  (" + origin + ")";
  msg += "\nFix: pass --data DIR or set L2L_DATA=DIR, where DIR contains \"" + sub +
         "/\" (a copy of ../shared/data, see ../shared/data/README.md), "
         "or run from the repository root next to ../shared.";
  throw std::runtime_error(msg);
}

Dataset read_idx_images(const std::string& path) {
  Bytes b = read_gzip(path, kMnistFix);
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

std::vector<int> read_idx_labels(const std::string& path) {
  Bytes b = read_gzip(path, kMnistFix);
  check_idx(path, b, 2049, 1);
  std::vector<int> labels(b.begin() + 8, b.end());
  for (size_t i = 0; i < labels.size(); ++i)
    if (labels[i] > 9)
      fail(path, "labels 0..9",
           "label " + std::to_string(labels[i]) + " at index " + std::to_string(i),
           kMnistFix);
  return labels;
}

Dataset load_mnist(const std::string& dir, const std::string& split) {
  check_split(split, "load_mnist");
  const std::string prefix = split == "train" ? "train" : "t10k";
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

Dataset read_cifar_batch(const std::string& path) {
  Bytes b = read_xz(path, kCifarFix);
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

Dataset load_cifar10(const std::string& dir, const std::string& split) {
  check_split(split, "load_cifar10");
  std::vector<std::string> names;
  if (split == "train")
    for (int i = 1; i <= 5; ++i) names.push_back("data_batch_" + std::to_string(i) + ".bin.xz");
  else
    names.push_back("test_batch.bin.xz");
  const std::string root = resolve_dir(dir, "cifar10", names[0]);

  Dataset all;
  all.channels = 3;
  all.height = 32;
  all.width = 32;
  all.pixels.reserve(names.size() * kCifarPerBatch * (kCifarRecord - 1));
  all.labels.reserve(names.size() * kCifarPerBatch);
  for (const std::string& name : names) {
    const std::string path = (fs::path(root) / name).string();
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
