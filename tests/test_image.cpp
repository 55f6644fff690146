// test_image.cpp: tasks/data/image.h: PNG and JPEG decoding, refusal of corrupt files, of
// paths that are not regular files or too big, of images too large or too thin (naming them),
// bounded resizing and cropping, PNG writing round trip. The PNGs are made here with
// stb_image_write (its implementation is compiled in tasks/data/image.cpp); the JPEG is embedded.
#include <cstdio>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>
#include <fstream>

#include "doctest/doctest.h"
#include "stb/stb_image_write.h"
#include "tasks/data/image.h"

using namespace l2l;
namespace fs = std::filesystem;

namespace {

std::string temp_dir() {
  fs::path d = fs::temp_directory_path() / ("l2l_test_image_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d.string();
}

// A 5 x 7 RGB test pattern: R = 10 x + 3, G = 20 y + 5, B = 200 - 17 (x + y) (8-bit, HWC).
std::vector<unsigned char> pattern(int w = 7, int h = 5) {
  std::vector<unsigned char> px((size_t)w * h * 3);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      unsigned char* p = &px[((size_t)y * w + x) * 3];
      p[0] = (unsigned char)(10 * x + 3), p[1] = (unsigned char)(20 * y + 5), p[2] = (unsigned char)(200 - 17 * (x + y));
    }
  return px;
}

}  // namespace

TEST_CASE("image: a PNG decodes exactly to CHW floats in [0,1]") {
  std::string dir = temp_dir(), path = dir + "/p.png";
  std::vector<unsigned char> px = pattern();
  REQUIRE(stbi_write_png(path.c_str(), 7, 5, 3, px.data(), 7 * 3));
  Image im = load_image(path);
  REQUIRE(im.channels == 3);
  REQUIRE(im.height == 5);
  REQUIRE(im.width == 7);
  for (int y = 0; y < 5; y++)
    for (int x = 0; x < 7; x++) {
      CHECK(im.at(0, y, x) == doctest::Approx((10 * x + 3) / 255.0));
      CHECK(im.at(1, y, x) == doctest::Approx((20 * y + 5) / 255.0));
      CHECK(im.at(2, y, x) == doctest::Approx((200 - 17 * (x + y)) / 255.0));
    }
  fs::remove_all(dir);
}

// The smooth 16 x 16 image of the test below, as stb_image_write's stbi_write_jpg (quality 100)
// wrote it. Embedded rather than written at test time: that JPEG encoder left-shifts negative
// values (stb_image_write.h:1263), which UBSan stops on, and `make sanitize` runs this file.
const unsigned char kSmoothJpeg[] = {
    0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xff, 0xdb, 0x00, 0x84, 0x00, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
    0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
    0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
    0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
    0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
    0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
    0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
    0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01,
    0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x00,
    0x10, 0x00, 0x10, 0x03, 0x01, 0x11, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xff, 0xc4, 0x01,
    0xa2, 0x00, 0x00, 0x01, 0x05, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x10, 0x00,
    0x02, 0x01, 0x03, 0x03, 0x02, 0x04, 0x03, 0x05, 0x05, 0x04, 0x04, 0x00, 0x00, 0x01, 0x7d, 0x01,
    0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22,
    0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24,
    0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25, 0x26, 0x27, 0x28, 0x29,
    0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a,
    0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
    0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a,
    0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8,
    0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6,
    0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3,
    0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9,
    0xfa, 0x01, 0x00, 0x03, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x11, 0x00,
    0x02, 0x01, 0x02, 0x04, 0x04, 0x03, 0x04, 0x07, 0x05, 0x04, 0x04, 0x00, 0x01, 0x02, 0x77, 0x00,
    0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13,
    0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15,
    0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18, 0x19, 0x1a, 0x26, 0x27,
    0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49,
    0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88,
    0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
    0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4,
    0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2,
    0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9,
    0xfa, 0xff, 0xda, 0x00, 0x0c, 0x03, 0x01, 0x00, 0x02, 0x11, 0x03, 0x11, 0x00, 0x3f, 0x00, 0xf9,
    0x9f, 0xe1, 0xb7, 0x82, 0x3f, 0xe3, 0xdf, 0xf7, 0x3f, 0xdd, 0xfe, 0x1f, 0xa5, 0x7f, 0x50, 0x1f,
    0xce, 0x67, 0xe8, 0x07, 0xc3, 0x6f, 0x04, 0x7f, 0xc7, 0xbf, 0xee, 0x7f, 0xbb, 0xfc, 0x3f, 0x4a,
    0x00, 0xf3, 0xff, 0x00, 0x86, 0xde, 0x08, 0xff, 0x00, 0x8f, 0x7f, 0xdc, 0xff, 0x00, 0x77, 0xf8,
    0x7e, 0x94, 0x01, 0xfa, 0x01, 0xf0, 0xdb, 0xc1, 0x1f, 0xf1, 0xef, 0xfb, 0x9f, 0xee, 0xff, 0x00,
    0x0f, 0xd2, 0x80, 0x3f, 0xff, 0xd9,
};

TEST_CASE("image: a JPEG decodes close to what was encoded (lossy), grey becomes RGB") {
  std::string dir = temp_dir(), path = dir + "/p.jpg", grey = dir + "/g.png";
  // pixel (y, x, c) = 60 + 4 x + 3 y + 30 c (JPEG is exact on nothing, close on smooth content)
  std::vector<unsigned char> px(16 * 16 * 3);
  for (int y = 0; y < 16; y++)
    for (int x = 0; x < 16; x++)
      for (int c = 0; c < 3; c++) px[(y * 16 + x) * 3 + c] = (unsigned char)(60 + 4 * x + 3 * y + 30 * c);
  std::ofstream(path, std::ios::binary).write((const char*)kSmoothJpeg, sizeof kSmoothJpeg);
  Image im = load_image(path);
  REQUIRE(im.height == 16);
  REQUIRE(im.width == 16);
  double worst = 0;
  for (int y = 0; y < 16; y++)
    for (int x = 0; x < 16; x++)
      for (int c = 0; c < 3; c++) worst = std::max(worst, std::fabs(im.at(c, y, x) * 255.0 - px[(y * 16 + x) * 3 + c]));
  MESSAGE("JPEG q100 worst error: " << worst << " / 255");
  CHECK(worst < 6);
  unsigned char g[4] = {0, 85, 170, 255};
  REQUIRE(stbi_write_png(grey.c_str(), 2, 2, 1, g, 2));
  Image gi = load_image(grey);
  for (int c = 0; c < 3; c++) CHECK(gi.at(c, 1, 0) == doctest::Approx(170 / 255.0));
  fs::remove_all(dir);
}

TEST_CASE("image: corrupt, empty and missing files are refused with the file's name") {
  std::string dir = temp_dir(), good = dir + "/good.png", bad = dir + "/bad.png", empty = dir + "/empty.jpg";
  std::vector<unsigned char> px = pattern();
  REQUIRE(stbi_write_png(good.c_str(), 7, 5, 3, px.data(), 7 * 3));
  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  std::ofstream(bad, std::ios::binary) << bytes.substr(0, bytes.size() / 2);  // truncated PNG
  std::ofstream(empty, std::ios::binary) << "";
  CHECK_THROWS_WITH(load_image(bad), doctest::Contains(("cannot decode image file " + bad).c_str()));
  CHECK_THROWS_WITH(load_image(empty), doctest::Contains((empty + " is empty").c_str()));
  CHECK_THROWS_WITH(load_image(dir + "/none.png"),
                    doctest::Contains(("image file " + dir + "/none.png: expected a file, found no such file").c_str()));
  std::ofstream(bad, std::ios::binary) << "not an image at all";
  CHECK_THROWS_WITH(load_image(bad), doctest::Contains(bad.c_str()));
  fs::remove_all(dir);
}

TEST_CASE("image: a directory, a FIFO, /dev/zero and a file over the size bound are refused at once") {
  std::string dir = temp_dir();
  const std::string sub = dir + "/a_dir.png", fifo = dir + "/pipe.png", big = dir + "/big.png";
  fs::create_directories(sub);
  CHECK_THROWS_WITH(load_image(sub), doctest::Contains(("image file " + sub + ": expected a regular file of at most "
                                                        "64 MiB, found a directory. Fix: pass the path of a PNG or JPEG").c_str()));
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);  // no writer: reading it whole would hang here
  CHECK_THROWS_WITH(load_image(fifo), doctest::Contains(("image file " + fifo + ": expected a regular file of at "
                                                         "most 64 MiB, found a FIFO (named pipe)").c_str()));
  if (fs::exists("/dev/zero"))  // read to its end, this would never stop
    CHECK_THROWS_WITH(load_image("/dev/zero"), doctest::Contains("image file /dev/zero: expected a regular file of at "
                                                                 "most 64 MiB, found a character device"));
  { std::ofstream f(big); }
  fs::resize_file(big, kMaxImageFileBytes + 1);  // sparse: refused by its size, never read
  CHECK_THROWS_WITH(load_image(big), doctest::Contains(("image file " + big + ": expected a regular file of at most "
                                                        "64 MiB, found 67108865 bytes").c_str()));
  fs::remove_all(dir);
}

// Headers that claim more than the file holds are refused before stb_image allocates for them,
// and past fuzz crashes (tests/corpus/image/: JPEGs whose Huffman table overran stb's size list,
// whose code pointed past the symbol table, or whose scan used tables it never defined; all
// fixed in third_party/stb/stb_image.h) decode or are refused with a message.
TEST_CASE("image: oversized headers and lying PNG chunks are refused; fuzz regressions stay fixed") {
  std::string dir = temp_dir(), good = dir + "/good.png";
  std::vector<unsigned char> px = pattern();
  REQUIRE(stbi_write_png(good.c_str(), 7, 5, 3, px.data(), 7 * 3));
  std::string bytes;
  {
    std::ifstream in(good, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  REQUIRE(decode_image(bytes, "good.png").width == 7);
  std::string big = bytes;  // IHDR (bytes 16-23): 5000 x 5000 = 25 megapixels (stb checks no CRC)
  for (int i : {16, 20}) big[i] = 0, big[i + 1] = 0, big[i + 2] = (char)0x13, big[i + 3] = (char)0x88;
  CHECK_THROWS_WITH(decode_image(big, "big.png"), doctest::Contains("big.png is 5000 x 5000 pixels, over the limit of 16 megapixels"));
  for (int i = 16; i < 24; i++) big[i] = (char)0xff;  // 2^32 - 1 squared overflowed the pixel count (a fuzz find)
  CHECK_THROWS_WITH(decode_image(big, "big.png"), doctest::Contains("big.png is 4294967295 x 4294967295 pixels, over the limit"));
  std::string lying = bytes;  // IHDR's length (bytes 8-11) says 2^30
  lying[8] = 0x40, lying[9] = lying[10] = lying[11] = 0;
  CHECK_THROWS_WITH(decode_image(lying, "lying.png"), doctest::Contains("lying.png: a PNG chunk at byte 8 claims 1073741824 bytes"));
  std::error_code ec;
  int files = 0;
  for (const auto& e : fs::directory_iterator("tests/corpus/image", ec)) {
    std::ifstream in(e.path(), std::ios::binary);
    std::string b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CAPTURE(e.path().string());
    try {
      Image im = decode_image(b, e.path().string());
      CHECK(im.pixels.size() == (size_t)3 * im.height * im.width);
    } catch (const std::runtime_error& err) {
      CHECK(std::string(err.what()).find(e.path().string()) != std::string::npos);
    }
    files++;
  }
  CHECK(files >= 4);
  fs::remove_all(dir);
}

// stb_image gives up on a PNG this large with "unknown image type"; our own header check says
// what it is.
TEST_CASE("image: a 100000 x 100000 PNG is called too large, not an unknown image type") {
  std::string dir = temp_dir(), huge = dir + "/huge.png";
  std::vector<unsigned char> px = pattern();
  std::string bytes;
  auto append = [](void* ctx, void* data, int size) { static_cast<std::string*>(ctx)->append((const char*)data, size); };
  REQUIRE(stbi_write_png_to_func(append, &bytes, 7, 5, 3, px.data(), 7 * 3));
  for (int i : {16, 20}) bytes[i] = 0, bytes[i + 1] = (char)0x01, bytes[i + 2] = (char)0x86, bytes[i + 3] = (char)0xa0;
  std::ofstream(huge, std::ios::binary) << bytes;
  const std::string said = huge + " is 100000 x 100000 pixels, over the limit of 16 megapixels (resize it)";
  CHECK_THROWS_WITH(decode_image(bytes, huge), doctest::Contains(said.c_str()));
  CHECK_THROWS_WITH(load_image(huge), doctest::Contains(said.c_str()));
  fs::remove_all(dir);
}

// A 1 x 20000 PNG is a 621-byte file of 20,000 pixels; scaled to a short side of 64 it would be
// 64 x 1,280,000 (stb_image_resize asked for 4 GB). Refused before anything is allocated.
TEST_CASE("image: a thin image is refused before its resize, naming the file; the resize is bounded") {
  std::string dir = temp_dir(), thin = dir + "/thin.png", wide = dir + "/wide.png";
  std::vector<unsigned char> px((size_t)20000 * 3, 128);
  REQUIRE(stbi_write_png(thin.c_str(), 20000, 1, 3, px.data(), 20000 * 3));
  CHECK(fs::file_size(thin) < 2000);
  CHECK_THROWS_WITH(load_image_short_side(thin, 64),
                    doctest::Contains((thin + " is 20000 x 1 pixels: its sides differ by more than 16 times "
                                              "(expected a photo or a painting; crop it)").c_str()));
  const Image im = load_image(thin);
  CHECK_THROWS_WITH(resize_short_side(im, 64), doctest::Contains("1x20000 -> 64x1280000 is over the limit of 16 megapixels"));
  REQUIRE(stbi_write_png(wide.c_str(), 32, 2, 3, px.data(), 32 * 3));  // 16:1, the widest accepted
  const Image ok = load_image_short_side(wide, 8);
  CHECK(ok.height == 8);
  CHECK(ok.width == 128);
  fs::remove_all(dir);
}

TEST_CASE("image: resize keeps a constant image constant and averages when halving; crops and flips") {
  Image c{3, 8, 12, std::vector<float>(3 * 8 * 12, 0.25f)};
  Image r = resize_image(c, 4, 6);
  REQUIRE(r.height == 4);
  REQUIRE(r.width == 6);
  for (float v : r.pixels) CHECK(v == doctest::Approx(0.25).epsilon(1e-5));
  // Vertical stripes 0,1,0,1 ... halved horizontally: every output near 0.5.
  Image s{3, 4, 16, std::vector<float>(3 * 4 * 16)};
  for (int ch = 0; ch < 3; ch++)
    for (int y = 0; y < 4; y++)
      for (int x = 0; x < 16; x++) s.at(ch, y, x) = (float)(x % 2);
  Image h = resize_image(s, 4, 8);
  for (int x = 1; x < 7; x++) CHECK(h.at(0, 2, x) == doctest::Approx(0.5).epsilon(0.05));
  Image p{3, 5, 7, std::vector<float>(3 * 5 * 7)};
  for (size_t i = 0; i < p.pixels.size(); i++) p.pixels[i] = (float)i;
  Image k = crop_image(p, 1, 2, 3);
  CHECK(k.at(2, 0, 0) == p.at(2, 1, 2));
  CHECK(k.at(1, 2, 2) == p.at(1, 3, 4));
  CHECK_THROWS_WITH(crop_image(p, 3, 0, 3), doctest::Contains("does not fit"));
  Image f = flip_horizontal(p);
  CHECK(f.at(1, 4, 0) == p.at(1, 4, 6));
  Image sq = center_square(resize_short_side(Image{3, 10, 30, std::vector<float>(900, 0.5f)}, 4), 4);
  CHECK(sq.height == 4);
  CHECK(sq.width == 4);
}

TEST_CASE("image: write_png round-trips 8-bit values; side by side with white gaps") {
  std::string dir = temp_dir(), path = dir + "/out.png";
  Image a{3, 2, 3, std::vector<float>(18)};
  for (size_t i = 0; i < 18; i++) a.pixels[i] = (float)(i * 14) / 255.0f;
  Image b = a;
  Image both = hconcat({a, b}, 2);
  CHECK(both.width == 8);
  CHECK(both.at(0, 0, 3) == 1.0f);  // the gap
  CHECK(both.at(2, 1, 7) == a.at(2, 1, 2));
  write_png(path, both);
  Image back = load_image(path);
  REQUIRE(back.width == 8);
  for (size_t i = 0; i < both.pixels.size(); i++) CHECK(back.pixels[i] == doctest::Approx(both.pixels[i]).epsilon(1e-6));
  CHECK_THROWS_WITH(write_png(dir + "/x.png", Image{}), doctest::Contains("x.png"));
  fs::remove_all(dir);
}
