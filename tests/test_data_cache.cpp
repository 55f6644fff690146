// test_data_cache.cpp: the decoded-data cache of tasks/data/data_cache.h: the second load reads
// the cache (no decoding) and gives the same bits; a changed source, a corrupt or a truncated
// cache file each cause a fresh decode; L2L_CACHE=off decodes every time; a source or a cache
// file that is not a regular file of bounded size (/dev/zero, a FIFO, a directory, a huge
// file) is never read whole and never hangs: the data are decoded instead; so is a cache with
// a label outside 0..9 or absurd dimensions behind a right checksum.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "doctest/doctest.h"
#include "nn/checkpoint.h"  // fnv1a64
#include "nn/files.h"
#include "tasks/data/data_cache.h"

using namespace l2l;
namespace fs = std::filesystem;

namespace {

Dataset tiny() {
  Dataset d;
  d.n = 3, d.channels = 1, d.height = 2, d.width = 2;
  for (int i = 0; i < 12; i++) d.pixels.push_back((float)((i * 37) % 256) / 255.0f);
  d.labels = {4, 0, 9};
  return d;
}

void write(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

// Sets L2L_CACHE for the scope, then puts back what was there.
struct CacheEnv {
  std::string saved;
  bool had;
  explicit CacheEnv(const std::string& value) {
    const char* old = std::getenv("L2L_CACHE");
    had = old != nullptr;
    saved = had ? old : "";
    setenv("L2L_CACHE", value.c_str(), 1);
  }
  ~CacheEnv() {
    if (had) setenv("L2L_CACHE", saved.c_str(), 1);
    else unsetenv("L2L_CACHE");
  }
};

}  // namespace

TEST_CASE("data cache: decode once, then read back the same bits; stale or corrupt caches are rebuilt") {
  fs::path dir = fs::temp_directory_path() / ("l2l_cache_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const char* old = std::getenv("L2L_CACHE");
  std::string saved = old ? old : "";
  setenv("L2L_CACHE", (dir / "cache").c_str(), 1);
  write(dir / "src.bin", "source bytes v1");
  int decodes = 0;
  auto decode = [&] { decodes++; return tiny(); };
  std::vector<std::string> src = {(dir / "src.bin").string()};

  Dataset a = load_cached(src, "t", decode), b = load_cached(src, "t", decode);
  CHECK(decodes == 1);
  CHECK(b.n == 3);
  CHECK(b.labels == tiny().labels);
  CHECK(b.pixels == tiny().pixels);  // exact: bytes / 255 round-trip
  CHECK(a.pixels == b.pixels);

  write(dir / "src.bin", "source bytes v2");  // same size, other bytes
  load_cached(src, "t", decode);
  CHECK(decodes == 2);

  fs::path cache = dir / "cache" / "t.l2ldata";
  REQUIRE(fs::exists(cache));
  {
    std::fstream f(cache, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(40);
    f.put('\x7f');
  }
  load_cached(src, "t", decode);
  CHECK(decodes == 3);
  fs::resize_file(cache, 20);
  CHECK(load_cached(src, "t", decode).n == 3);
  CHECK(decodes == 4);
  load_cached(src, "t", decode);
  CHECK(decodes == 4);  // rebuilt after the truncation

  setenv("L2L_CACHE", "off", 1);
  load_cached(src, "t", decode);
  CHECK(decodes == 5);
  if (old) setenv("L2L_CACHE", saved.c_str(), 1); else unsetenv("L2L_CACHE");
  fs::remove_all(dir);
}

TEST_CASE("data cache: sources and cache files that are not bounded regular files are decoded around, never read whole") {
  fs::path dir = fs::temp_directory_path() / ("l2l_cache_special_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "cache");
  CacheEnv env((dir / "cache").string());
  int decodes = 0;
  auto decode = [&] { decodes++; return tiny(); };
  fs::path cache = dir / "cache" / "t.l2ldata";

  // A source that cannot be read (it would grow without bound, or hang): decoded, not cached;
  // decoding is what reports a real source's error.
  const std::string fifo_src = (dir / "src.fifo").string();
  REQUIRE(mkfifo(fifo_src.c_str(), 0600) == 0);
  std::vector<std::vector<std::string>> unreadable = {{(dir / "missing").string()}, {(dir / "cache").string()}, {fifo_src}};
  if (fs::exists("/dev/zero")) unreadable.push_back({"/dev/zero"});
  for (const auto& src : unreadable) {
    CHECK(load_cached(src, "t", decode).labels == tiny().labels);
    CHECK_FALSE(fs::exists(cache));
  }
  CHECK(decodes == (int)unreadable.size());
  std::vector<std::string> bad = {(dir / "missing").string()};
  CHECK_THROWS_WITH(load_cached(bad, "t", [&]() -> Dataset { throw std::runtime_error("the decoder's own error"); }),
                    "the decoder's own error");

  // The cache file is a FIFO, or a sparse file over the bound: decoded, and replaced by a good cache.
  write(dir / "src.bin", "source bytes");
  std::vector<std::string> src = {(dir / "src.bin").string()};
  REQUIRE(mkfifo(cache.c_str(), 0600) == 0);
  decodes = 0;
  CHECK(load_cached(src, "t", decode).pixels == tiny().pixels);
  CHECK(decodes == 1);
  CHECK(fs::is_regular_file(cache));
  CHECK(load_cached(src, "t", decode).pixels == tiny().pixels);
  CHECK(decodes == 1);  // read back from the new cache
  fs::resize_file(cache, (size_t(1) << 30) + 1);
  CHECK(load_cached(src, "t", decode).n == 3);
  CHECK(decodes == 2);
  CHECK(fs::file_size(cache) < 1000);

  // The cache path is a directory: it can be neither read nor written; decoding still works.
  fs::remove(cache);
  fs::create_directories(cache / "inside");
  CHECK(load_cached(src, "t", decode).labels == tiny().labels);
  CHECK(load_cached(src, "t", decode).labels == tiny().labels);
  CHECK(decodes == 4);
  CHECK(std::distance(fs::directory_iterator(dir / "cache"), fs::directory_iterator()) == 1);  // no temp file left
  fs::remove_all(dir);
}

// A cache file whose checksum and fingerprint are right but whose label is 200 (forged, or
// written by a buggy build) would fail late, in the loss, without naming any file: it is not a
// cache of ours, so the data are decoded again and the cache rewritten.
TEST_CASE("data cache: a cache file with a label outside 0..9 or absurd dimensions is decoded again") {
  fs::path dir = fs::temp_directory_path() / ("l2l_cache_label_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  CacheEnv env((dir / "cache").string());
  write(dir / "src.bin", "source bytes");
  int decodes = 0;
  auto decode = [&] { decodes++; return tiny(); };
  std::vector<std::string> src = {(dir / "src.bin").string()};
  load_cached(src, "t", decode);
  const fs::path cache = dir / "cache" / "t.l2ldata";
  std::string good;
  {
    std::ifstream in(cache, std::ios::binary);
    good.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  // The file with byte `at` set to v and its checksum (the last 8 bytes) made right again.
  auto forge = [&](size_t at, char v) {
    std::string b = good;
    b[at] = v;
    const uint64_t sum = fnv1a64(reinterpret_cast<const unsigned char*>(b.data()), b.size() - 8);
    std::memcpy(&b[b.size() - 8], &sum, 8);
    write(cache, b);
  };
  forge(32, (char)200);  // the first label (after magic 8, fingerprint 8, dimensions 16)
  Dataset d;
  CHECK_FALSE(decode_cache_file(Bytes(good.begin(), good.end()), 0, d));  // another fingerprint
  decodes = 0;
  CHECK(load_cached(src, "t", decode).labels == tiny().labels);
  CHECK(decodes == 1);
  CHECK(load_cached(src, "t", decode).labels == tiny().labels);
  CHECK(decodes == 1);  // the rewritten cache is read back
  forge(19, (char)0x40);  // n's high byte: 2^30 + 3 images claimed (the size check refuses them)
  CHECK(load_cached(src, "t", decode).n == 3);
  forge(23, (char)0x40);  // channels 2^30 + 1: over the bound of 4
  CHECK(load_cached(src, "t", decode).n == 3);
  CHECK(decodes == 3);
  fs::remove_all(dir);
}
