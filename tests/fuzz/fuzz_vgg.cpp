// tests/fuzz/fuzz_vgg.cpp — libFuzzer target for the VGG weights reader (load_vgg,
// tasks/optimizees/vgg.h), through the real file path.
//
// What it is: writes the input as conv1_1's file (block1_conv1.f32) in a temporary directory
// and loads that layer with load_vgg: the bounded regular-file read, the exact size check and
// the value check. A std::runtime_error is the expected answer to bad bytes; a crash, a
// sanitizer report or any other exception is a bug. Accepted weights must be finite and within
// +-100, in the shapes of conv1_1. Built by `make fuzz`; seeded by make_seeds (one file of
// plausible weights, 7,168 bytes).
#include <stdlib.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include "tasks/optimizees/vgg.h"

// A directory of our own for the whole run (removed by nobody: it is under /tmp).
static const std::string& dir() {
  static const std::string d = [] {
    char tmpl[] = "/tmp/l2l_fuzz_vgg.XXXXXX";
    if (!mkdtemp(tmpl)) std::abort();
    return std::string(tmpl);
  }();
  return d;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    std::ofstream f(dir() + "/block1_conv1.f32", std::ios::binary | std::ios::trunc);
    f.write((const char*)data, (std::streamsize)size);
    if (!f) std::abort();
  }
  try {
    l2l::Vgg net = l2l::load_vgg(dir(), 1);
    const l2l::VggConv& c = net.convs.at(0);
    if (c.w.size() != 64 * 3 * 9 || c.b.size() != 64) std::abort();
    for (size_t i = 0; i < c.w.size(); i++)
      if (!(std::fabs(c.w[i]) <= 100)) std::abort();
  } catch (const std::runtime_error&) {
  }
  return 0;
}
