// fuzz_cifar.cpp: libFuzzer target for the CIFAR-10 batch reader (tasks/data/data.h).
//
// What it is: feeds arbitrary bytes to the CIFAR reader twice: as the content of an .xz file
// (cifar_batch_from_xz: unxz, then the record checks), and as decompressed records
// (cifar_batch_from_bytes: mutations of an xz stream rarely survive its CRC64). A std::runtime_error is the expected answer to bad bytes;
// a crash, a sanitizer report or any other exception is a bug. An accepted batch must hold
// n >= 1 images of 3x32x32 pixels with labels 0..9. Built by `make fuzz`; its crashes are
// replayed by the doctest suite from tests/corpus/cifar/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

#include "tasks/data/data.h"

// Aborts (a bug) unless d is n >= 1 images of 3x32x32 with labels 0..9.
static void check_batch(const l2l::Dataset& d) {
  if (d.n < 1 || d.pixels.size() != size_t(d.n) * 3072 || d.labels.size() != size_t(d.n)) std::abort();
  for (int label : d.labels)
    if (label < 0 || label > 9) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<unsigned char> bytes(data, data + size);
  try {
    check_batch(l2l::cifar_batch_from_xz(bytes, "fuzz-input", 64 << 20));
  } catch (const std::runtime_error&) {
  }
  try {
    check_batch(l2l::cifar_batch_from_bytes(bytes, "fuzz-input"));
  } catch (const std::runtime_error&) {
  }
  return 0;
}
