// image.h: images for the Neural Art task: decode PNG/JPEG (stb_image), resize and crop
// (stb_image_resize), write PNG (stb_image_write, atomically).
//
// An Image is float RGB, channel-major (CHW: c * H * W + y * W + x), values in [0, 1]. Every
// error names the file, what was expected and what was found.
// Files are read and written through nn/files.h (bounded read, atomic write).
// Is not: a general image library (8-bit RGB only in and out; grey and alpha are converted).
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace l2l {

struct Image {
  int channels = 3, height = 0, width = 0;
  std::vector<float> pixels;  // CHW, [0, 1]
  float at(int c, int y, int x) const { return pixels[((size_t)c * height + y) * width + x]; }
  float& at(int c, int y, int x) { return pixels[((size_t)c * height + y) * width + x]; }
};

// Decodes a PNG or JPEG file into RGB (grey is replicated, alpha dropped). Throws
// std::runtime_error naming `path` when it cannot be read or decoded. Only a regular file of
// at most kMaxImageFileBytes is read (read_regular_file, nn/files.h): a directory, a FIFO or
// /dev/zero is refused before a byte is read.
Image load_image(const std::string& path);
// 64 MiB: a 16-megapixel RGB image is 48 MiB uncompressed, so no PNG or JPEG we accept is larger.
constexpr size_t kMaxImageFileBytes = size_t(64) << 20;
// The same from the file's bytes (`path` names it in errors; the fuzz target's entry point).
// Images over kMaxImagePixels are refused from their header, before any pixel is decoded.
Image decode_image(const std::string& bytes, const std::string& path);
constexpr long long kMaxImagePixels = 16ll << 20;  // 16 megapixels (4096 x 4096): 192 MB as float RGB

// Resized to height x width with stb_image_resize's default filters (Mitchell when shrinking,
// cubic when enlarging), edges clamped; values clamped back to [0, 1].
// Throws std::invalid_argument for an output over kMaxImagePixels (before any allocation).
Image resize_image(const Image& im, int height, int width);

// The size x size window whose top-left corner is (y0, x0); it must fit.
Image crop_image(const Image& im, int y0, int x0, int size);

// Scaled (aspect kept) so that its short side is `short_side`, then the central square of that
// side: how a painting or photo becomes a square at the task's resolution.
Image resize_short_side(const Image& im, int short_side);
Image center_square(const Image& im, int size);
// load_image, then resize_short_side; an image whose long side is over kMaxImageAspect times
// its short side is refused naming the file (1 x 20000 pixels pass the pixel limit, but their
// resize to a short side of 64 would be 1,280,000 pixels long).
Image load_image_short_side(const std::string& path, int short_side);
constexpr int kMaxImageAspect = 16;

// Mirror image (x -> width - 1 - x).
Image flip_horizontal(const Image& im);

// Side by side, left to right, with `gap` white columns between; all of the same height.
Image hconcat(const std::vector<Image>& ims, int gap = 2);

// 8-bit RGB PNG of the image (values clamped to [0, 1], rounded), written atomically.
void write_png(const std::string& path, const Image& im);

}  // namespace l2l
