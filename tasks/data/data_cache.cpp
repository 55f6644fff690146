// data_cache.cpp: see data_cache.h. File layout (native byte order):
//   "L2LDATA1"  u64 fingerprint  i32 n, channels, height, width  u8 labels[n]  u8 pixels[...]
//   u64 FNV-1a of every byte before it
#include "tasks/data/data_cache.h"

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "nn/checkpoint.h"  // fnv1a64

namespace fs = std::filesystem;

namespace l2l {

namespace {

constexpr char kMagic[8] = {'L', '2', 'L', 'D', 'A', 'T', 'A', '1'};

std::vector<unsigned char> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(in), {});
}

// Each source's size and content hash, folded into one number.
uint64_t fingerprint(const std::vector<std::string>& sources) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const std::string& s : sources) {
    std::vector<unsigned char> b = read_all(s);
    uint64_t parts[2] = {b.size(), fnv1a64(b.data(), b.size())};
    for (uint64_t p : parts) h = (h ^ p) * 0x100000001b3ULL;
  }
  return h;
}

template <class T>
void put(std::vector<unsigned char>& out, const T& v) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(&v);
  out.insert(out.end(), p, p + sizeof v);
}

std::vector<unsigned char> encode(const Dataset& d, uint64_t fp) {
  std::vector<unsigned char> out(kMagic, kMagic + 8);
  put(out, fp);
  for (int32_t v : {d.n, d.channels, d.height, d.width}) put(out, v);
  for (int l : d.labels) out.push_back((unsigned char)l);
  for (float p : d.pixels) out.push_back((unsigned char)std::lround(p * 255.0f));
  put(out, fnv1a64(out.data(), out.size()));
  return out;
}

// The data set in b if b is a valid cache file for fingerprint fp; otherwise false.
bool decode(const std::vector<unsigned char>& b, uint64_t fp, Dataset& d) {
  const size_t head = 8 + 8 + 16;
  if (b.size() < head + 8 || std::memcmp(b.data(), kMagic, 8) != 0) return false;
  uint64_t sum, stored_fp;
  std::memcpy(&sum, b.data() + b.size() - 8, 8);
  std::memcpy(&stored_fp, b.data() + 8, 8);
  if (sum != fnv1a64(b.data(), b.size() - 8) || stored_fp != fp) return false;
  int32_t dims[4];
  std::memcpy(dims, b.data() + 16, 16);
  if (dims[0] < 0 || dims[1] <= 0 || dims[2] <= 0 || dims[3] <= 0) return false;
  size_t n = (size_t)dims[0], img = (size_t)dims[1] * dims[2] * dims[3];
  if (b.size() != head + n + n * img + 8) return false;
  d.n = dims[0], d.channels = dims[1], d.height = dims[2], d.width = dims[3];
  d.labels.assign(b.begin() + head, b.begin() + head + n);
  d.pixels.resize(n * img);
  const unsigned char* px = b.data() + head + n;
  for (size_t i = 0; i < d.pixels.size(); i++) d.pixels[i] = px[i] / 255.0f;
  return true;
}

}  // namespace

std::string data_cache_dir() {
  if (const char* c = std::getenv("L2L_CACHE")) return std::string(c) == "off" ? "" : c;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/l2l";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.cache/l2l";
  return "";
}

Dataset load_cached(const std::vector<std::string>& sources, const std::string& name,
                    const std::function<Dataset()>& decode_sources) {
  const std::string dir = data_cache_dir();
  if (dir.empty()) return decode_sources();
  const std::string path = dir + "/" + name + ".l2ldata";
  const uint64_t fp = fingerprint(sources);
  Dataset d;
  if (decode(read_all(path), fp, d)) return d;
  d = decode_sources();
  std::error_code ec;
  fs::create_directories(dir, ec);
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  std::vector<unsigned char> bytes = encode(d, fp);
  {
    std::ofstream out(tmp, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), (std::streamsize)bytes.size());
    if (!out.flush()) {  // an unwritable cache only costs the next run the decoding
      fs::remove(tmp, ec);
      return d;
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) fs::remove(tmp, ec);
  return d;
}

}  // namespace l2l
