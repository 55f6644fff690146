// image.cpp: see image.h. The only translation unit that compiles the stb implementations.
// Is not: file I/O (nn/files.h reads and writes the bytes).
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#endif
#include "stb/stb_image.h"
#include "stb/stb_image_resize.h"
#include "stb/stb_image_write.h"
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

#include "tasks/data/image.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "nn/files.h"

namespace l2l {

namespace {

// Interleaved HWC floats <-> our CHW.
std::vector<float> to_hwc(const Image& im) {
  std::vector<float> v(im.pixels.size());
  for (int c = 0; c < im.channels; c++)
    for (int y = 0; y < im.height; y++)
      for (int x = 0; x < im.width; x++) v[((size_t)y * im.width + x) * im.channels + c] = im.at(c, y, x);
  return v;
}
Image from_hwc(const float* v, int channels, int height, int width) {
  Image im{channels, height, width, std::vector<float>((size_t)channels * height * width)};
  for (int c = 0; c < channels; c++)
    for (int y = 0; y < height; y++)
      for (int x = 0; x < width; x++) im.at(c, y, x) = v[((size_t)y * width + x) * channels + c];
  return im;
}

// Refuses a width x height over kMaxImagePixels, naming the file.
void check_pixel_count(long long width, long long height, const std::string& path) {
  if (width > kMaxImagePixels || height > kMaxImagePixels || width * height > kMaxImagePixels)  // no overflow
    throw std::runtime_error("image file " + path + " is " + std::to_string(width) + " x " + std::to_string(height) +
                             " pixels, over the limit of " + std::to_string(kMaxImagePixels >> 20) +
                             " megapixels (resize it)");
}

// A PNG's chunks must each fit in the file: stb_image reserves the length an IDAT chunk claims
// before it reads it (a 16 KB file can ask for 2 GB). Walks length (4 bytes, big-endian), type
// (4), data, CRC (4) after the 8-byte signature; throws naming the file when a chunk overruns it.
void check_png_chunks(const std::string& b, const std::string& path) {
  static const char kSig[] = "\x89PNG\r\n\x1a\n";
  if (b.size() < 8 || b.compare(0, 8, kSig, 8) != 0) return;  // not a PNG: stb_image decides
  for (size_t at = 8; at + 8 <= b.size();) {
    const auto u = [&](size_t i) { return (uint32_t)(unsigned char)b[at + i]; };
    const uint64_t len = (u(0) << 24) | (u(1) << 16) | (u(2) << 8) | u(3);
    if (len + 12 > b.size() - at)
      throw std::runtime_error("cannot decode image file " + path + ": a PNG chunk at byte " + std::to_string(at) +
                               " claims " + std::to_string(len) + " bytes, the file has " +
                               std::to_string(b.size() - at) + " left (truncated or corrupt; replace the file)");
    if (at == 8 && len == 13 && b.compare(12, 4, "IHDR") == 0) {  // stb would call a huge one "unknown image type"
      const auto be32 = [&](size_t i) { return (long long)((u(i) << 24) | (u(i + 1) << 16) | (u(i + 2) << 8) | u(i + 3)); };
      check_pixel_count(be32(8), be32(12), path);
    }
    at += 12 + len;
  }
}

}  // namespace

Image load_image(const std::string& path) {
  Bytes b = read_regular_file(path, kMaxImageFileBytes, "pass the path of a PNG or JPEG image (check the path and "
                              "permissions; resize a larger image)", "image file " + path);
  return decode_image(std::string(b.begin(), b.end()), path);
}

Image decode_image(const std::string& bytes, const std::string& path) {
  if (bytes.empty()) throw std::runtime_error("image file " + path + " is empty (expected a PNG or JPEG)");
  if (bytes.size() > (size_t)INT32_MAX) throw std::runtime_error("image file " + path + " is over 2 GB (expected a PNG or JPEG)");
  check_png_chunks(bytes, path);
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  int w = 0, h = 0, n = 0;
  const auto undecodable = [&] {
    return std::runtime_error("cannot decode image file " + path + ": " + stbi_failure_reason() +
                              " (expected an 8-bit PNG or JPEG; replace the file)");
  };
  if (!stbi_info_from_memory(data, (int)bytes.size(), &w, &h, &n)) throw undecodable();
  check_pixel_count(w, h, path);  // before stb allocates what the header claims
  unsigned char* px = stbi_load_from_memory(data, (int)bytes.size(), &w, &h, &n, 3);
  if (!px) throw undecodable();
  Image im{3, h, w, std::vector<float>((size_t)3 * h * w)};
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) im.at(c, y, x) = px[((size_t)y * w + x) * 3 + c] / 255.0f;
  stbi_image_free(px);
  return im;
}

Image resize_image(const Image& im, int height, int width) {
  if (height <= 0 || width <= 0 || im.height <= 0 || im.width <= 0)
    throw std::invalid_argument("[resize_image] sizes must be positive: " + std::to_string(im.height) + "x" +
                                std::to_string(im.width) + " -> " + std::to_string(height) + "x" + std::to_string(width));
  // stb_image_resize's buffers grow with the output (a 1 x 20000 image to a short side of 64
  // asked for 4 GB): bounded like a decoded image, before anything is allocated.
  if ((long long)height * width > kMaxImagePixels)
    throw std::invalid_argument("[resize_image] " + std::to_string(im.height) + "x" + std::to_string(im.width) + " -> " +
                                std::to_string(height) + "x" + std::to_string(width) + " is over the limit of " +
                                std::to_string(kMaxImagePixels >> 20) + " megapixels");
  std::vector<float> in = to_hwc(im), out((size_t)height * width * im.channels);
  if (!stbir_resize_float(in.data(), im.width, im.height, 0, out.data(), width, height, 0, im.channels))
    throw std::runtime_error("[resize_image] stb_image_resize failed");
  for (float& v : out) v = std::min(1.0f, std::max(0.0f, v));  // cubic filters overshoot a little
  return from_hwc(out.data(), im.channels, height, width);
}

Image crop_image(const Image& im, int y0, int x0, int size) {
  if (size <= 0 || y0 < 0 || x0 < 0 || y0 + size > im.height || x0 + size > im.width)
    throw std::invalid_argument("[crop_image] window " + std::to_string(size) + "x" + std::to_string(size) + " at (" +
                                std::to_string(y0) + "," + std::to_string(x0) + ") does not fit a " +
                                std::to_string(im.height) + "x" + std::to_string(im.width) + " image");
  Image out{im.channels, size, size, std::vector<float>((size_t)im.channels * size * size)};
  for (int c = 0; c < im.channels; c++)
    for (int y = 0; y < size; y++)
      for (int x = 0; x < size; x++) out.at(c, y, x) = im.at(c, y0 + y, x0 + x);
  return out;
}

Image resize_short_side(const Image& im, int short_side) {
  int s = std::min(im.height, im.width);
  int h = std::max(short_side, (int)std::lround((double)im.height * short_side / s));
  int w = std::max(short_side, (int)std::lround((double)im.width * short_side / s));
  return resize_image(im, h, w);
}

Image load_image_short_side(const std::string& path, int short_side) {
  Image im = load_image(path);
  const int lo = std::min(im.height, im.width), hi = std::max(im.height, im.width);
  if (hi > kMaxImageAspect * lo)
    throw std::runtime_error("image file " + path + " is " + std::to_string(im.width) + " x " +
                             std::to_string(im.height) + " pixels: its sides differ by more than " +
                             std::to_string(kMaxImageAspect) + " times (expected a photo or a painting; crop it)");
  return resize_short_side(im, short_side);
}

Image center_square(const Image& im, int size) {
  return crop_image(im, (im.height - size) / 2, (im.width - size) / 2, size);
}

Image flip_horizontal(const Image& im) {
  Image out = im;
  for (int c = 0; c < im.channels; c++)
    for (int y = 0; y < im.height; y++)
      for (int x = 0; x < im.width; x++) out.at(c, y, x) = im.at(c, y, im.width - 1 - x);
  return out;
}

Image hconcat(const std::vector<Image>& ims, int gap) {
  if (ims.empty()) throw std::invalid_argument("[hconcat] no images");
  int h = ims[0].height, w = 0;
  for (const Image& im : ims) {
    if (im.height != h || im.channels != 3) throw std::invalid_argument("[hconcat] images must be RGB of one height");
    w += im.width;
  }
  w += gap * ((int)ims.size() - 1);
  Image out{3, h, w, std::vector<float>((size_t)3 * h * w, 1.0f)};
  int x0 = 0;
  for (const Image& im : ims) {
    for (int c = 0; c < 3; c++)
      for (int y = 0; y < h; y++)
        for (int x = 0; x < im.width; x++) out.at(c, y, x0 + x) = im.at(c, y, x);
    x0 += im.width + gap;
  }
  return out;
}

void write_png(const std::string& path, const Image& im) {
  if (im.channels != 3 || im.height <= 0 || im.width <= 0 || im.pixels.size() != (size_t)3 * im.height * im.width)
    throw std::invalid_argument("[write_png] " + path + ": expected a non-empty RGB image");
  std::vector<unsigned char> px((size_t)3 * im.height * im.width);
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < im.height; y++)
      for (int x = 0; x < im.width; x++) {
        float v = std::min(1.0f, std::max(0.0f, im.at(c, y, x)));
        px[((size_t)y * im.width + x) * 3 + c] = (unsigned char)std::lround(v * 255.0f);
      }
  std::string bytes;
  auto append = [](void* ctx, void* data, int size) { static_cast<std::string*>(ctx)->append((const char*)data, size); };
  if (!stbi_write_png_to_func(append, &bytes, im.width, im.height, 3, px.data(), im.width * 3))
    throw std::runtime_error("cannot encode PNG for " + path);
  write_file_atomic(path, bytes);
}

}  // namespace l2l
