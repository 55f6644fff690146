// test_image.cpp: tasks/image.h: PNG and JPEG decoding, refusal of corrupt files (naming
// them), resizing and cropping, PNG writing round trip. The files are made here with
// stb_image_write (its implementation is compiled in tasks/image.cpp).
#include <cstdio>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <unistd.h>
#include <fstream>

#include "doctest/doctest.h"
#include "stb/stb_image_write.h"
#include "tasks/image.h"

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

TEST_CASE("image: a JPEG decodes close to what was written (lossy), grey becomes RGB") {
  std::string dir = temp_dir(), path = dir + "/p.jpg", grey = dir + "/g.png";
  // A smooth 16 x 16 image (JPEG is exact on nothing, close on smooth content).
  std::vector<unsigned char> px(16 * 16 * 3);
  for (int y = 0; y < 16; y++)
    for (int x = 0; x < 16; x++)
      for (int c = 0; c < 3; c++) px[(y * 16 + x) * 3 + c] = (unsigned char)(60 + 4 * x + 3 * y + 30 * c);
  REQUIRE(stbi_write_jpg(path.c_str(), 16, 16, 3, px.data(), 100));
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
  CHECK_THROWS_WITH(load_image(dir + "/none.png"), doctest::Contains(("cannot open image file " + dir + "/none.png").c_str()));
  std::ofstream(bad, std::ios::binary) << "not an image at all";
  CHECK_THROWS_WITH(load_image(bad), doctest::Contains(bad.c_str()));
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
