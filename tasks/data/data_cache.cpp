// data_cache.cpp: see data_cache.h. File layout (native byte order):
//   "L2LDATA1"  u64 fingerprint  i32 n, channels, height, width  u8 labels[n]  u8 pixels[...]
//   u64 FNV-1a of every byte before it
// Sources and the cache file are read with read_regular_file and the cache is written with
// write_file_atomic (nn/files.h). Is not: a decoder of the sources (tasks/data/data.cpp).
#include "tasks/data/data_cache.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "nn/checkpoint.h"  // fnv1a64
#include "nn/files.h"

namespace fs = std::filesystem;

namespace l2l {

namespace {

constexpr char kMagic[8] = {'L', '2', 'L', 'D', 'A', 'T', 'A', '1'};

// The largest cache file read back: the CIFAR-10 training split's is 50,000 x 3,073 bytes + 40
// (146.5 MiB); anything bigger is not one of ours, and is rebuilt rather than read.
constexpr size_t kMaxCacheFileBytes = size_t(1) << 30;

// Each source's size and content hash, folded into one number; false if a source cannot be
// read (a missing file, a directory, a FIFO, /dev/zero, a file over kMaxDataFileBytes).
bool fingerprint(const std::vector<std::string>& sources, uint64_t& fp) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const std::string& s : sources) {
    Bytes b;
    try {
      b = read_regular_file(s, kMaxDataFileBytes, "see the data set's own error");
    } catch (const std::runtime_error&) {
      return false;
    }
    uint64_t parts[2] = {b.size(), fnv1a64(b.data(), b.size())};
    for (uint64_t p : parts) h = (h ^ p) * 0x100000001b3ULL;
  }
  fp = h;
  return true;
}

// The cache file's bytes, or none if it cannot be read (absent, not a regular file, too big):
// any of these means "decode again".
Bytes read_cache_file(const std::string& path) {
  try {
    return read_regular_file(path, kMaxCacheFileBytes, "it is rebuilt");
  } catch (const std::runtime_error&) {
    return {};
  }
}

template <class T>
void put(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// The cache file's bytes (a std::string: what write_file_atomic takes, without a copy).
std::string encode(const Dataset& d, uint64_t fp) {
  std::string out(kMagic, kMagic + 8);
  put(out, fp);
  for (int32_t v : {d.n, d.channels, d.height, d.width}) put(out, v);
  for (int l : d.labels) out.push_back((char)(unsigned char)l);
  for (float p : d.pixels) out.push_back((char)(unsigned char)std::lround(p * 255.0f));
  put(out, fnv1a64(reinterpret_cast<const unsigned char*>(out.data()), out.size()));
  return out;
}

}  // namespace

bool decode_cache_file(const Bytes& b, uint64_t fp, Dataset& d) {
  const size_t head = 8 + 8 + 16;
  if (b.size() < head + 8 || std::memcmp(b.data(), kMagic, 8) != 0) return false;
  uint64_t sum, stored_fp;
  std::memcpy(&sum, b.data() + b.size() - 8, 8);
  std::memcpy(&stored_fp, b.data() + 8, 8);
  if (sum != fnv1a64(b.data(), b.size() - 8) || stored_fp != fp) return false;
  int32_t dims[4];
  std::memcpy(dims, b.data() + 16, 16);
  // Bounded, so that n * channels * height * width cannot overflow (and int image_size() neither).
  if (dims[0] < 0 || dims[1] < 1 || dims[1] > 4 || dims[2] < 1 || dims[2] > 4096 || dims[3] < 1 || dims[3] > 4096)
    return false;
  size_t n = (size_t)dims[0], img = (size_t)dims[1] * dims[2] * dims[3];
  if (b.size() != head + n + n * img + 8) return false;
  const unsigned char* labels = b.data() + head;
  for (size_t i = 0; i < n; i++)
    if (labels[i] > 9) return false;  // not a data set of ours (labels 0..9): decoded again
  d.n = dims[0], d.channels = dims[1], d.height = dims[2], d.width = dims[3];
  d.labels.assign(labels, labels + n);
  d.pixels.resize(n * img);
  const unsigned char* px = b.data() + head + n;
  for (size_t i = 0; i < d.pixels.size(); i++) d.pixels[i] = px[i] / 255.0f;
  return true;
}

std::string data_cache_dir() {
  if (const char* c = std::getenv("L2L_CACHE")) return std::string(c) == "off" ? "" : c;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/l2l";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/l2l";
  return "";
}

Dataset load_cached(const std::vector<std::string>& sources, const std::string& name,
                    const std::function<Dataset()>& decode_sources) {
  const std::string dir = data_cache_dir();
  uint64_t fp = 0;
  // A source that cannot be read: decoding reports the proper error (or the data anyway).
  if (dir.empty() || !fingerprint(sources, fp)) return decode_sources();
  const std::string path = dir + "/" + name + ".l2ldata";
  Dataset d;
  if (decode_cache_file(read_cache_file(path), fp, d)) return d;
  d = decode_sources();
  std::error_code ec;
  fs::create_directories(dir, ec);
  try {
    write_file_atomic(path, encode(d, fp));
  } catch (const std::runtime_error&) {
    // An unwritable cache only costs the next run the decoding.
  }
  return d;
}

}  // namespace l2l
