// tests/fuzz/make_seeds.cpp — writes the fuzz targets' seed corpora: small valid files.
//
// What it is: `make_seeds DIR` writes DIR/checkpoint/ (checkpoints saved by save_checkpoint:
// metadata, several tensors, an empty and a scalar one), DIR/idx/ (gzip IDX images and
// labels, two gzip members in one file), DIR/cifar/ (xz CIFAR batches of 1 and 2
// records) and DIR/image/ (tiny PNGs of 1-4 channels and a JPEG). Valid inputs let libFuzzer start from deep inside the formats instead of
// guessing magic bytes and checksums. What it is not: a test (make fuzz runs it first).
#include <lzma.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "nn/checkpoint.h"
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

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  const fs::path dir = argv[1];
  for (const char* t : {"checkpoint", "idx", "cifar", "image"}) fs::create_directories(dir / t);

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
  std::printf("make_seeds: wrote seed corpora under %s\n", dir.string().c_str());
  return 0;
}
