// tests/fuzz/fuzz_checkpoint.cpp — libFuzzer target for the checkpoint decoder (nn/checkpoint.h).
//
// What it is: feeds arbitrary bytes to decode_checkpoint, the code behind load_checkpoint. A
// std::runtime_error is the expected answer to bad bytes; anything else (a crash, a sanitizer
// report, another exception such as std::bad_alloc, a hang) is a bug. Accepted bytes must
// also give a checkpoint whose tensors have consistent sizes. Built by `make fuzz`.
// What it is not: part of the doctest suite (tests/corpus/ replays its crashes there).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>

#include "nn/checkpoint.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    l2l::Checkpoint ck = l2l::decode_checkpoint(data, size, "fuzz-input");
    for (const auto& [name, t] : ck.tensors)
      if (name.empty() || t.size() != l2l::shape_numel(t.shape())) std::abort();
  } catch (const std::runtime_error&) {
  }
  return 0;
}
