// fuzz_idx.cpp: libFuzzer target for the MNIST IDX reader (tasks/data/data.h).
//
// What it is: feeds arbitrary bytes to both IDX readers (images and labels) twice: as the
// content of a gzip file (through gunzip and the IDX checks), and as decompressed IDX bytes
// (the IDX checks directly: mutations of a gzip stream rarely survive its CRC, so the header
// and size checks would otherwise be reached only with the seeds' contents). A std::runtime_error is the
// expected answer to bad bytes; a crash, a sanitizer report or any other exception is a bug.
// Accepted images must have 784 pixels in [0,1] each; labels must be 0..9. Built by
// `make fuzz`; its crashes are replayed by the doctest suite from tests/corpus/idx/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

#include "tasks/data/data.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<unsigned char> bytes(data, data + size);
  const size_t kMaxOut = 64 << 20;  // enough for any input libFuzzer makes; keeps RSS small
  try {
    l2l::Dataset d = l2l::idx_images_from_gzip(bytes, "fuzz-input", kMaxOut);
    if (d.pixels.size() != size_t(d.n) * 784) std::abort();
    for (float p : d.pixels)
      if (!(p >= 0 && p <= 1)) std::abort();
  } catch (const std::runtime_error&) {
  }
  try {
    for (int label : l2l::idx_labels_from_gzip(bytes, "fuzz-input", kMaxOut))
      if (label < 0 || label > 9) std::abort();
  } catch (const std::runtime_error&) {
  }
  try {
    l2l::Dataset d = l2l::idx_images_from_bytes(bytes, "fuzz-input");
    if (d.pixels.size() != size_t(d.n) * 784) std::abort();
  } catch (const std::runtime_error&) {
  }
  try {
    for (int label : l2l::idx_labels_from_bytes(bytes, "fuzz-input"))
      if (label < 0 || label > 9) std::abort();
  } catch (const std::runtime_error&) {
  }
  return 0;
}
