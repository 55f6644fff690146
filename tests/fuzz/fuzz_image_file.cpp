// tests/fuzz/fuzz_image_file.cpp — libFuzzer target for how the Neural Art task opens an image
// file: load_image_short_side (tasks/data/image.h), through the real file path.
//
// What it is: writes the input to a temporary file and loads it as the art task loads a photo
// (load_image_short_side(path, 64)): the bounded regular-file read, the PNG chunk and size
// checks, stb_image's decoders, the aspect-ratio check and the resize. fuzz_image covers the
// decoder alone, faster; this one covers what comes after it. A std::runtime_error is the
// expected answer to bad bytes; a crash, a sanitizer report, any other exception or a resize
// beyond its bound is a bug. An accepted image has a short side of 64 and values in [0, 1].
// Built by `make fuzz`; seeded by make_seeds (the image seeds).
#include <stdlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include "tasks/data/image.h"

static const std::string& path() {
  static const std::string p = [] {
    char tmpl[] = "/tmp/l2l_fuzz_image_file.XXXXXX";
    if (!mkdtemp(tmpl)) std::abort();
    return std::string(tmpl) + "/input.png";
  }();
  return p;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    std::ofstream f(path(), std::ios::binary | std::ios::trunc);
    f.write((const char*)data, (std::streamsize)size);
    if (!f) std::abort();
  }
  try {
    const l2l::Image im = l2l::load_image_short_side(path(), 64);
    if (im.channels != 3 || std::min(im.height, im.width) != 64 ||
        (long long)im.height * im.width > 64LL * 64 * l2l::kMaxImageAspect + 64 ||
        im.pixels.size() != (size_t)3 * im.height * im.width)
      std::abort();
    for (float v : im.pixels)
      if (!(v >= 0 && v <= 1)) std::abort();
  } catch (const std::runtime_error&) {
  }
  return 0;
}
