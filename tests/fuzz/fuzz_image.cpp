// tests/fuzz/fuzz_image.cpp — libFuzzer target for the image decoder of the Neural Art task
// (decode_image, tasks/data/image.h: stb_image's PNG and JPEG readers behind our checks).
//
// What it is: feeds arbitrary bytes to decode_image. A std::runtime_error is the expected answer
// to bad bytes (and to a header claiming more than kMaxImagePixels); a crash, a sanitizer report
// or any other exception is a bug. An accepted image must be 3 channels of at least 1 x 1 pixels,
// every value in [0, 1]. Built by `make fuzz`; seeded by make_seeds (tiny PNGs and a JPEG).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "tasks/data/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const l2l::Image im = l2l::decode_image(std::string((const char*)data, size), "fuzz-input");
    if (im.channels != 3 || im.height < 1 || im.width < 1 || im.pixels.size() != (size_t)3 * im.height * im.width)
      std::abort();
    for (float v : im.pixels)
      if (!(v >= 0 && v <= 1)) std::abort();
  } catch (const std::runtime_error&) {
  }
  return 0;
}
