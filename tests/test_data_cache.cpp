// test_data_cache.cpp: the decoded-data cache of tasks/data_cache.h: the second load reads the
// cache (no decoding) and gives the same bits; a changed source, a corrupt or a truncated cache
// file each cause a fresh decode; L2L_CACHE=off decodes every time.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "doctest/doctest.h"
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
