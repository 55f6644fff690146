// tests/fuzz/make_seeds.cpp — writes the fuzz targets' seed corpora: small valid files.
//
// What it is: `make_seeds DIR` writes DIR/checkpoint/ (checkpoints saved by save_checkpoint:
// metadata, several tensors, an empty and a scalar one), DIR/idx/ (gzip IDX images and
// labels, two gzip members in one file), DIR/cifar/ (xz CIFAR batches of 1 and 2
// records), DIR/image/ and DIR/image_file/ (tiny PNGs of 1-4 channels and a JPEG),
// DIR/data_cache/ (a cache file of 2 images, without its checksum: the target appends it),
// DIR/vgg/ (conv1_1's weights: 7,168 bytes of small floats) and DIR/train_state/ (the
// train_state.ckpt of train_state_seed.h, without its checksum). Valid inputs let libFuzzer
// start from deep inside the formats instead of guessing magic bytes and checksums.
// What it is not: a test (make fuzz runs it first).
#include <lzma.h>
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "nn/checkpoint.h"
#include "tests/fuzz/train_state_seed.h"
#include "stb/stb_image_write.h"  // declarations only: tasks/data/image.cpp compiles the implementation

namespace fs = std::filesystem;
using Bytes = std::vector<unsigned char>;

static void write_file(const fs::path& p, const Bytes& b) {
  std::ofstream f(p, std::ios::binary);
  f.write((const char*)b.data(), (std::streamsize)b.size());
  if (!f) throw std::runtime_error("cannot write " + p.string());
}

static Bytes gzip(const Bytes& b) {  // one gzip member
  Bytes out(compressBound(uLong(b.size())) + 64);
  z_stream z{};
  if (deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("deflateInit2");
  z.next_in = const_cast<Bytef*>(b.data());
  z.avail_in = uInt(b.size());
  z.next_out = out.data();
  z.avail_out = uInt(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

static Bytes xz(const Bytes& b) {
  Bytes out(lzma_stream_buffer_bound(b.size()));
  size_t pos = 0;
  if (lzma_easy_buffer_encode(1, LZMA_CHECK_CRC64, nullptr, b.data(), b.size(), out.data(), &pos, out.size()) != LZMA_OK)
    throw std::runtime_error("lzma_easy_buffer_encode");
  out.resize(pos);
  return out;
}

static void put32(Bytes& b, uint32_t v) {  // big-endian, as in IDX headers
  for (int s = 24; s >= 0; s -= 8) b.push_back((unsigned char)(v >> s));
}

static Bytes idx_images(uint32_t n) {
  Bytes b;
  for (uint32_t v : {2051u, n, 28u, 28u}) put32(b, v);
  for (size_t i = 0; i < n * 784; i++) b.push_back((unsigned char)((i * 7) % 256));
  return b;
}

static Bytes idx_labels(uint32_t n) {
  Bytes b;
  put32(b, 2049);
  put32(b, n);
  for (uint32_t i = 0; i < n; i++) b.push_back((unsigned char)(i % 10));
  return b;
}

static Bytes cifar(int n) {
  Bytes b;
  for (int r = 0; r < n; r++) {
    b.push_back((unsigned char)(r * 3 % 10));
    for (int k = 0; k < 3072; k++) b.push_back((unsigned char)((r * 31 + k * 7) % 256));
  }
  return b;
}

static void append(void* ctx, void* data, int size) {
  auto* b = static_cast<Bytes*>(ctx);
  b->insert(b->end(), (unsigned char*)data, (unsigned char*)data + size);
}

// Tiny PNGs (RGB, grey, grey + alpha, RGBA) and a JPEG, for the image decoder.
static void write_images(const fs::path& dir) {
  const int w = 5, h = 4;
  for (int comp : {3, 1, 2, 4}) {
    Bytes px, png;
    for (int i = 0; i < w * h * comp; i++) px.push_back((unsigned char)(i * 37 % 256));
    if (!stbi_write_png_to_func(append, &png, w, h, comp, px.data(), w * comp)) throw std::runtime_error("png");
    write_file(dir / ("tiny" + std::to_string(comp) + ".png"), png);
    if (comp == 3) {
      Bytes jpg;
      if (!stbi_write_jpg_to_func(append, &jpg, w, h, comp, px.data(), 90)) throw std::runtime_error("jpg");
      write_file(dir / "tiny.jpg", jpg);
    }
  }
}

// A data cache file (tasks/data/data_cache.cpp's layout) of 2 grey 3 x 2 images, no checksum.
static Bytes cache_body() {
  Bytes b = {'L', '2', 'L', 'D', 'A', 'T', 'A', '1', 1, 2, 3, 4, 5, 6, 7, 8};
  for (int32_t v : {2, 1, 3, 2})
    for (int i = 0; i < 4; i++) b.push_back((unsigned char)(v >> (8 * i)));
  b.push_back(7), b.push_back(0);
  for (int i = 0; i < 12; i++) b.push_back((unsigned char)(i * 21));
  return b;
}

// conv1_1's file: 64 x 3 x 9 weights and 64 biases, float32, values in [-0.5, 0.5).
static Bytes vgg_weights() {
  Bytes b;
  for (int i = 0; i < 64 * 3 * 9 + 64; i++) {
    float f = (float)((i * 37) % 100) / 100 - 0.5f;
    unsigned char c[4];
    std::memcpy(c, &f, 4);
    b.insert(b.end(), c, c + 4);
  }
  return b;
}

// The file at p without its last 8 bytes (the checksum, which the target appends).
static Bytes without_checksum(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  Bytes b((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (b.size() < 8) throw std::runtime_error("short " + p.string());
  b.resize(b.size() - 8);
  return b;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  const fs::path dir = argv[1];
  for (const char* t : {"checkpoint", "idx", "cifar", "image", "image_file", "data_cache", "vgg", "train_state"})
    fs::create_directories(dir / t);

  l2l::Checkpoint ck;
  ck.meta = {{"task", "quadratic"}, {"epoch", "3"}, {"best_val", "0.25"}};
  ck.tensors = {{"w", l2l::Tensor({2, 3}, {1, -2, 0.5, 0.25, 3, -0.125})},
                {"b", l2l::Tensor({3}, {0, 1, 2})},
                {"s", l2l::Tensor::scalar(42)},
                {"e", l2l::Tensor({0, 4})}};
  l2l::save_checkpoint((dir / "checkpoint" / "small.ckpt").string(), ck);
  l2l::Checkpoint empty;
  l2l::save_checkpoint((dir / "checkpoint" / "empty.ckpt").string(), empty);

  write_file(dir / "idx" / "images1.gz", gzip(idx_images(1)));
  write_file(dir / "idx" / "images0.gz", gzip(idx_images(0)));
  write_file(dir / "idx" / "labels.gz", gzip(idx_labels(12)));
  Bytes two = gzip(idx_labels(3)), tail = gzip({});  // two members: labels, then an empty one
  two.insert(two.end(), tail.begin(), tail.end());
  write_file(dir / "idx" / "labels-two-members.gz", two);

  write_file(dir / "cifar" / "batch1.xz", xz(cifar(1)));
  write_file(dir / "cifar" / "batch2.xz", xz(cifar(2)));
  write_images(dir / "image");
  write_images(dir / "image_file");
  write_file(dir / "data_cache" / "two.l2ldata", cache_body());
  write_file(dir / "vgg" / "block1_conv1.f32", vgg_weights());
  const fs::path run = dir / "train_state" / "run";
  fs::create_directories(run);
  write_file(dir / "train_state" / "state.ckpt", without_checksum(l2l_fuzz::write_state(run.string())));
  write_file(dir / "train_state" / "phi.ckpt", without_checksum(run / "phi.ckpt"));
  fs::remove_all(run);
  std::printf("make_seeds: wrote seed corpora under %s\n", dir.string().c_str());
  return 0;
}
