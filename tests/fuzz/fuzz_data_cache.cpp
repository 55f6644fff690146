// tests/fuzz/fuzz_data_cache.cpp — libFuzzer target for the data-cache decoder
// (decode_cache_file, tasks/data/data_cache.h: what load_cached does with a cache file's bytes).
//
// What it is: the input is a cache file without its last 8 bytes; the target appends their
// FNV-1a checksum and passes the fingerprint stored in the bytes, so that mutations reach the
// dimensions, labels and pixels instead of stopping at the checksum. A rejected file (false) is
// the expected answer to bad bytes; a crash, a sanitizer report or an exception is a bug. An
// accepted data set must be consistent: n images of channels x height x width, labels 0..9,
// pixels in [0, 1]. Built by `make fuzz`; seeded by make_seeds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "nn/checkpoint.h"  // fnv1a64
#include "tasks/data/data_cache.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<unsigned char> b(data, data + size);
  const uint64_t sum = l2l::fnv1a64(b.data(), b.size());
  b.resize(size + 8);
  std::memcpy(b.data() + size, &sum, 8);
  uint64_t fp = 0;
  if (size >= 16) std::memcpy(&fp, data + 8, 8);
  l2l::Dataset d;
  if (!l2l::decode_cache_file(b, fp, d)) return 0;
  if (d.n < 0 || d.labels.size() != (size_t)d.n || d.pixels.size() != (size_t)d.n * d.image_size()) std::abort();
  for (int l : d.labels)
    if (l < 0 || l > 9) std::abort();
  for (float v : d.pixels)
    if (!(v >= 0 && v <= 1)) std::abort();
  return 0;
}
