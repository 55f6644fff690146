// test_data.cpp: doctest cases for tasks/data/data.{h,cpp}.
//
// What this file is: tests of the MNIST / CIFAR-10 readers on small files it
// writes itself (valid and corrupt gzip IDX, valid and corrupt xz CIFAR
// batches) in a fresh temporary directory, plus find_data_dir,
// filter_labels, and a check of the real data under ../shared/data (or
// L2L_DATA) when present. What it is not: no main() — another test file
// defines DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN.
#include "doctest.h"
#include "helpers.h"

#include "tasks/data/data.h"

#include <lzma.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using l2l::test::error_of;
using l2l::test::TempDir;
using Bytes = std::vector<unsigned char>;

namespace {

void write_plain(const std::string& path, const Bytes& b) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  REQUIRE(out.good());
}

Bytes read_plain(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_gzip(const std::string& path, const Bytes& b) {
  gzFile gz = gzopen(path.c_str(), "wb");
  REQUIRE(gz != nullptr);
  if (!b.empty()) REQUIRE(gzwrite(gz, b.data(), unsigned(b.size())) == int(b.size()));
  REQUIRE(gzclose(gz) == Z_OK);
}

void write_xz(const std::string& path, const Bytes& b) {
  lzma_stream strm = LZMA_STREAM_INIT;
  REQUIRE(lzma_easy_encoder(&strm, 1, LZMA_CHECK_CRC64) == LZMA_OK);
  Bytes out(b.size() + 1024);
  strm.next_in = b.data();
  strm.avail_in = b.size();
  strm.next_out = out.data();
  strm.avail_out = out.size();
  lzma_ret r = LZMA_OK;
  while (r == LZMA_OK) {
    if (strm.avail_out == 0) {
      size_t used = out.size();
      out.resize(used * 2);
      strm.next_out = out.data() + used;
      strm.avail_out = out.size() - used;
    }
    r = lzma_code(&strm, LZMA_FINISH);
  }
  REQUIRE(r == LZMA_STREAM_END);
  out.resize(size_t(strm.total_out));
  lzma_end(&strm);
  write_plain(path, out);
}

void put32(Bytes& b, uint32_t v) {  // big-endian, as in IDX headers
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<unsigned char>(v >> s));
}

unsigned char pixel_byte(size_t image, size_t k) { return (image * 31 + k * 7) % 256; }

// IDX images: magic, count, rows, cols, then count*rows*cols pixel bytes.
Bytes idx_images(uint32_t n, uint32_t rows = 28, uint32_t cols = 28, uint32_t magic = 2051) {
  Bytes b;
  for (uint32_t v : {magic, n, rows, cols}) put32(b, v);
  for (size_t i = 0; i < n; ++i)
    for (size_t k = 0; k < size_t(rows) * cols; ++k) b.push_back(pixel_byte(i, k));
  return b;
}

// IDX labels: magic, count, then labels (i*3) % 10.
Bytes idx_labels(uint32_t n, uint32_t magic = 2049) {
  Bytes b;
  put32(b, magic);
  put32(b, n);
  for (uint32_t i = 0; i < n; ++i) b.push_back((i * 3) % 10);
  return b;
}

// CIFAR records: label byte, then 3072 pixel bytes pixel_byte(r, k).
Bytes cifar_records(const std::vector<int>& labels) {
  Bytes b;
  for (size_t r = 0; r < labels.size(); ++r) {
    b.push_back(static_cast<unsigned char>(labels[r]));
    for (size_t k = 0; k < 3072; ++k) b.push_back(pixel_byte(r, k));
  }
  return b;
}

#define CHECK_CONTAINS(text, part)                                  \
  CHECK_MESSAGE(std::string(text).find(part) != std::string::npos, \
                "\"" << (part) << "\" not in: \"" << (text) << "\"")

// Writes a valid 5-image MNIST pair for `prefix` ("train" or "t10k").
void write_mnist_pair(const TempDir& t, const std::string& prefix, uint32_t n = 5) {
  write_gzip(t.file(prefix + "-images-idx3-ubyte.gz"), idx_images(n));
  write_gzip(t.file(prefix + "-labels-idx1-ubyte.gz"), idx_labels(n));
}

}  // namespace

TEST_CASE("data: a valid gzip IDX pair round-trips pixels and labels exactly") {
  TempDir t;
  write_mnist_pair(t, "train");
  write_mnist_pair(t, "t10k", 3);

  l2l::Dataset d = l2l::load_mnist(t.dir.string(), "train");
  REQUIRE(d.n == 5);
  CHECK(d.channels == 1);
  CHECK(d.height == 28);
  CHECK(d.width == 28);
  CHECK(d.image_size() == 784);
  REQUIRE(d.pixels.size() == 5u * 784u);
  REQUIRE(d.labels.size() == 5u);
  bool all_equal = true;
  for (size_t i = 0; i < 5; ++i)
    for (size_t k = 0; k < 784; ++k)
      all_equal = all_equal && d.pixels[i * 784 + k] == float(pixel_byte(i, k)) / 255.0f;
  CHECK(all_equal);
  CHECK(d.labels == std::vector<int>{0, 3, 6, 9, 2});

  CHECK(l2l::load_mnist(t.dir.string(), "test").n == 3);
  CHECK(l2l::read_idx_labels(t.file("t10k-labels-idx1-ubyte.gz")) == std::vector<int>{0, 3, 6});
  l2l::Dataset imgs = l2l::read_idx_images(t.file("train-images-idx3-ubyte.gz"));
  CHECK(imgs.pixels == d.pixels);
  CHECK(imgs.labels.empty());
}

TEST_CASE("data: load_mnist also accepts the data root holding mnist/") {
  TempDir t;
  fs::create_directories(t.dir / "mnist");
  write_gzip(t.file("mnist/train-images-idx3-ubyte.gz"), idx_images(2));
  write_gzip(t.file("mnist/train-labels-idx1-ubyte.gz"), idx_labels(2));
  CHECK(l2l::load_mnist(t.dir.string(), "train").n == 2);
}

TEST_CASE("data: missing MNIST file and unknown part") {
  TempDir t;
  std::string msg = error_of([&] { l2l::load_mnist(t.dir.string(), "train"); });
  CHECK_CONTAINS(msg, "train-images-idx3-ubyte.gz");
  CHECK_CONTAINS(msg, "no such file");
  CHECK_CONTAINS(msg, "../shared/data/mnist");

  write_gzip(t.file("train-images-idx3-ubyte.gz"), idx_images(2));
  msg = error_of([&] { l2l::load_mnist(t.dir.string(), "train"); });
  CHECK_CONTAINS(msg, "train-labels-idx1-ubyte.gz");

  msg = error_of([&] { l2l::load_mnist(t.dir.string(), "validation"); });
  CHECK_CONTAINS(msg, "validation");
}

TEST_CASE("data: a plain (non-gzip) IDX file is rejected") {
  TempDir t;
  const std::string path = t.file("plain-images.gz");
  write_plain(path, idx_images(2));
  std::string msg = error_of([&] { l2l::read_idx_images(path); });
  CHECK_CONTAINS(msg, "plain-images.gz");
  CHECK_CONTAINS(msg, "gzip");
  CHECK_CONTAINS(msg, "0x1f 0x8b");

  write_plain(path, {});
  CHECK_CONTAINS(error_of([&] { l2l::read_idx_images(path); }), "empty file");
}

TEST_CASE("data: wrong IDX magic is rejected") {
  TempDir t;
  const std::string images = t.file("bad-magic-images.gz");
  const std::string labels = t.file("bad-magic-labels.gz");
  write_gzip(images, idx_images(2, 28, 28, 2049));
  write_gzip(labels, idx_labels(2, 2051));
  std::string msg = error_of([&] { l2l::read_idx_images(images); });
  CHECK_CONTAINS(msg, "bad-magic-images.gz");
  CHECK_CONTAINS(msg, "magic 2051");
  CHECK_CONTAINS(msg, "magic 2049");
  msg = error_of([&] { l2l::read_idx_labels(labels); });
  CHECK_CONTAINS(msg, "bad-magic-labels.gz");
  CHECK_CONTAINS(msg, "magic 2049");
}

TEST_CASE("data: truncated IDX content, trailing garbage and a cut gzip stream") {
  TempDir t;
  const std::string path = t.file("short-images.gz");
  Bytes b = idx_images(3);

  Bytes shorter(b.begin(), b.end() - 10);
  write_gzip(path, shorter);
  std::string msg = error_of([&] { l2l::read_idx_images(path); });
  CHECK_CONTAINS(msg, "short-images.gz");
  CHECK_CONTAINS(msg, "truncated");
  CHECK_CONTAINS(msg, std::to_string(b.size()));

  Bytes header_only(b.begin(), b.begin() + 10);  // not even a full header
  write_gzip(path, header_only);
  CHECK_CONTAINS(error_of([&] { l2l::read_idx_images(path); }), "truncated");

  Bytes longer = b;
  longer.insert(longer.end(), {1, 2, 3});
  write_gzip(path, longer);
  msg = error_of([&] { l2l::read_idx_images(path); });
  CHECK_CONTAINS(msg, "short-images.gz");
  CHECK_CONTAINS(msg, "trailing garbage");

  write_gzip(path, b);  // valid, then cut the compressed bytes in half
  Bytes gz = read_plain(path);
  write_plain(path, Bytes(gz.begin(), gz.begin() + long(gz.size() / 2)));
  msg = error_of([&] { l2l::read_idx_images(path); });
  CHECK_CONTAINS(msg, "short-images.gz");
  CHECK_CONTAINS(msg, "gzip stream");
}

TEST_CASE("data: IDX images that are not 28x28 are rejected") {
  TempDir t;
  const std::string path = t.file("small-images.gz");
  write_gzip(path, idx_images(2, 27, 28));
  std::string msg = error_of([&] { l2l::read_idx_images(path); });
  CHECK_CONTAINS(msg, "small-images.gz");
  CHECK_CONTAINS(msg, "28x28");
  CHECK_CONTAINS(msg, "27x28");
}

TEST_CASE("data: image and label counts that disagree are rejected") {
  TempDir t;
  write_gzip(t.file("train-images-idx3-ubyte.gz"), idx_images(5));
  write_gzip(t.file("train-labels-idx1-ubyte.gz"), idx_labels(4));
  std::string msg = error_of([&] { l2l::load_mnist(t.dir.string(), "train"); });
  CHECK_CONTAINS(msg, "train-labels-idx1-ubyte.gz");
  CHECK_CONTAINS(msg, "train-images-idx3-ubyte.gz");
  CHECK_CONTAINS(msg, "5 labels");
  CHECK_CONTAINS(msg, "4 labels");
}

TEST_CASE("data: an IDX label above 9 is rejected") {
  TempDir t;
  Bytes b = idx_labels(3);
  b.back() = 10;
  write_gzip(t.file("ten-labels.gz"), b);
  std::string msg = error_of([&] { l2l::read_idx_labels(t.file("ten-labels.gz")); });
  CHECK_CONTAINS(msg, "ten-labels.gz");
  CHECK_CONTAINS(msg, "label 10");
}

TEST_CASE("data: a small xz CIFAR batch round-trips, with CHW R,G,B planes") {
  TempDir t;
  Bytes b = cifar_records({3, 0, 9});
  // Record 1: R plane all 10, G plane all 20, B plane all 30.
  for (size_t c = 0; c < 3; ++c)
    for (size_t k = 0; k < 1024; ++k) b[3073 + 1 + c * 1024 + k] = (unsigned char)(10 * (c + 1));
  write_xz(t.file("three.bin.xz"), b);

  l2l::Dataset d = l2l::read_cifar_batch(t.file("three.bin.xz"));
  REQUIRE(d.n == 3);
  CHECK(d.channels == 3);
  CHECK(d.height == 32);
  CHECK(d.width == 32);
  CHECK(d.image_size() == 3072);
  CHECK(d.labels == std::vector<int>{3, 0, 9});
  REQUIRE(d.pixels.size() == 3u * 3072u);
  bool all_equal = true;
  for (size_t r = 0; r < 3; ++r)
    for (size_t k = 0; k < 3072; ++k)
      all_equal = all_equal && d.pixels[r * 3072 + k] == float(b[r * 3073 + 1 + k]) / 255.0f;
  CHECK(all_equal);
  // pixel (c, y=5, x=7) of image 1
  for (int c = 0; c < 3; ++c)
    CHECK(d.pixels[3072 + size_t(c) * 1024 + 5 * 32 + 7] == float(10 * (c + 1)) / 255.0f);
}

TEST_CASE("data: a partial CIFAR record is rejected") {
  TempDir t;
  Bytes b = cifar_records({1, 2, 3});
  b.resize(b.size() + 100, 0);
  write_xz(t.file("partial.bin.xz"), b);
  std::string msg = error_of([&] { l2l::read_cifar_batch(t.file("partial.bin.xz")); });
  CHECK_CONTAINS(msg, "partial.bin.xz");
  CHECK_CONTAINS(msg, "3073");
  CHECK_CONTAINS(msg, "partial record of 100 bytes");
  CHECK_CONTAINS(msg, "../shared/data/cifar10");

  write_xz(t.file("empty.bin.xz"), {});
  CHECK_CONTAINS(error_of([&] { l2l::read_cifar_batch(t.file("empty.bin.xz")); }),
                 "empty.bin.xz");
}

TEST_CASE("data: a CIFAR label of 12 is rejected") {
  TempDir t;
  write_xz(t.file("label12.bin.xz"), cifar_records({1, 12, 3}));
  std::string msg = error_of([&] { l2l::read_cifar_batch(t.file("label12.bin.xz")); });
  CHECK_CONTAINS(msg, "label12.bin.xz");
  CHECK_CONTAINS(msg, "label 12");
  CHECK_CONTAINS(msg, "record 1");
}

TEST_CASE("data: non-xz, cut and padded xz CIFAR files are rejected") {
  TempDir t;
  const std::string path = t.file("batch.bin.xz");
  const Bytes raw = cifar_records({1, 2, 3});

  write_plain(path, raw);
  std::string msg = error_of([&] { l2l::read_cifar_batch(path); });
  CHECK_CONTAINS(msg, "batch.bin.xz");
  CHECK_CONTAINS(msg, "xz");

  write_gzip(path, raw);  // gzip is not xz either
  CHECK_CONTAINS(error_of([&] { l2l::read_cifar_batch(path); }), "0x1f 0x8b");

  write_xz(path, raw);
  Bytes xz = read_plain(path);
  write_plain(path, Bytes(xz.begin(), xz.begin() + long(xz.size() / 2)));
  msg = error_of([&] { l2l::read_cifar_batch(path); });
  CHECK_CONTAINS(msg, "batch.bin.xz");
  CHECK_CONTAINS(msg, "xz stream");

  xz.insert(xz.end(), {'j', 'u', 'n', 'k'});
  write_plain(path, xz);
  CHECK_CONTAINS(error_of([&] { l2l::read_cifar_batch(path); }), "trailing");

  CHECK_CONTAINS(error_of([&] { l2l::read_cifar_batch(t.file("nope.bin.xz")); }),
                 "nope.bin.xz");
}

TEST_CASE("data: load_cifar10 requires 10,000 records per batch") {
  TempDir t;
  write_xz(t.file("test_batch.bin.xz"), cifar_records({1, 2, 3}));
  std::string msg = error_of([&] { l2l::load_cifar10(t.dir.string(), "test"); });
  CHECK_CONTAINS(msg, "test_batch.bin.xz");
  CHECK_CONTAINS(msg, "30,730,000");
  CHECK_CONTAINS(msg, "3 records");

  msg = error_of([&] { l2l::load_cifar10(t.dir.string(), "train"); });
  CHECK_CONTAINS(msg, "data_batch_1.bin.xz");
  CHECK_CONTAINS(msg, "no such file");
}

TEST_CASE("data: filter_labels keeps a label subset and relabels in keep order") {
  l2l::Dataset d;
  d.n = 6;
  d.channels = 1;
  d.height = 1;
  d.width = 2;
  d.labels = {3, 8, 0, 3, 5, 8};
  d.pixels = {0, 0.5f, 1, 1.5f, 2, 2.5f, 3, 3.5f, 4, 4.5f, 5, 5.5f};

  l2l::Dataset f = l2l::filter_labels(d, {8, 3});
  CHECK(f.n == 4);
  CHECK(f.channels == 1);
  CHECK(f.height == 1);
  CHECK(f.width == 2);
  CHECK(f.labels == std::vector<int>{1, 0, 1, 0});
  CHECK(f.pixels == std::vector<float>{0, 0.5f, 1, 1.5f, 3, 3.5f, 5, 5.5f});

  l2l::Dataset none = l2l::filter_labels(d, {});
  CHECK(none.n == 0);
  CHECK(none.pixels.empty());
  CHECK(none.image_size() == 2);

  CHECK_CONTAINS(error_of([&] { l2l::filter_labels(d, {3, 3}); }), "twice");
  CHECK_CONTAINS(error_of([&] { l2l::filter_labels(d, {10}); }), "0..9");
}

TEST_CASE("data: find_data_dir: explicit choices are strict, defaults in order, clear errors") {
  TempDir t;
  const std::string sub = "l2l_test_sub_" + t.dir.filename().string();
  fs::create_directories(t.dir / sub);
  const std::string root = t.dir.string();

  CHECK(l2l::find_data_dir(root, sub) == root);

  const char* old = std::getenv("L2L_DATA");
  const std::string saved = old ? old : "";
  setenv("L2L_DATA", root.c_str(), 1);
  CHECK(l2l::find_data_dir("", sub) == root);
  // An explicit --data that is wrong fails; it never falls back to L2L_DATA or the defaults.
  std::string flag_msg = error_of([&] { l2l::find_data_dir(root + "/missing", sub); });
  setenv("L2L_DATA", (root + "/missing").c_str(), 1);
  std::string env_msg = error_of([&] { l2l::find_data_dir("", sub); });
  unsetenv("L2L_DATA");
  std::string msg = error_of([&] { l2l::find_data_dir("", "no_such_sub"); });
  if (old) setenv("L2L_DATA", saved.c_str(), 1); else unsetenv("L2L_DATA");

  CHECK_CONTAINS(flag_msg, root + "/missing");
  CHECK_CONTAINS(flag_msg, "--data flag");
  CHECK_CONTAINS(env_msg, "L2L_DATA environment variable");
  CHECK_CONTAINS(msg, "no_such_sub");
  CHECK_CONTAINS(msg, "./data");
  CHECK_CONTAINS(msg, "../shared/data");
  CHECK_CONTAINS(msg, "--data DIR");
}

TEST_CASE("data: a missing MNIST file is reported at its real path DIR/mnist/<file>") {
  TempDir t;
  fs::create_directories(t.dir / "mnist");  // the data root, as find_data_dir returns it
  const std::string root = t.dir.string();
  std::string msg = error_of([&] { l2l::load_mnist(root, "train"); });
  CHECK_CONTAINS(msg, (t.dir / "mnist" / "train-images-idx3-ubyte.gz").string() + ": expected a file, found no such file");

  write_gzip(t.file("mnist/train-images-idx3-ubyte.gz"), idx_images(2));
  msg = error_of([&] { l2l::load_mnist(root, "train"); });
  CHECK_CONTAINS(msg, (t.dir / "mnist" / "train-labels-idx1-ubyte.gz").string() + ": expected a file");
  msg = error_of([&] { l2l::load_mnist(root, "test"); });
  CHECK_CONTAINS(msg, (t.dir / "mnist" / "t10k-images-idx3-ubyte.gz").string());

  write_gzip(t.file("mnist/train-labels-idx1-ubyte.gz"), idx_labels(2));
  CHECK(l2l::load_mnist(root, "train").n == 2);
}

TEST_CASE("data: --data DIR/mnist, the folder itself, is accepted as well as the data root") {
  TempDir t;
  fs::create_directories(t.dir / "mnist");
  write_gzip(t.file("mnist/train-images-idx3-ubyte.gz"), idx_images(3));
  write_gzip(t.file("mnist/train-labels-idx1-ubyte.gz"), idx_labels(3));
  const std::string root = t.dir.string(), folder = (t.dir / "mnist").string();
  CHECK(l2l::find_data_dir(root, "mnist") == root);
  CHECK(l2l::find_data_dir(folder, "mnist") == folder);
  CHECK(l2l::find_data_dir(folder + "/", "mnist") == folder + "/");
  for (const std::string& dir : {root, folder, folder + "/"})
    CHECK(l2l::load_mnist(l2l::find_data_dir(dir, "mnist"), "train").n == 3);
  // A folder that is neither (not named mnist, no mnist/ inside) is still refused.
  fs::create_directories(t.dir / "other");
  CHECK_CONTAINS(error_of([&] { l2l::find_data_dir(t.file("other"), "mnist"); }), "not found");
  CHECK_CONTAINS(error_of([&] { l2l::find_data_dir(folder, "cifar10"); }), "not found");
}

TEST_CASE("data: only regular files are read: a directory, a FIFO, /dev/zero, an oversized file") {
  TempDir t;
  fs::create_directories(t.dir / "adir");
  std::string msg = error_of([&] { l2l::read_idx_images(t.file("adir")); });
  CHECK_CONTAINS(msg, t.file("adir") + ": expected a regular file of at most 256 MiB, found a directory");

  const std::string fifo = t.file("pipe.gz");
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);  // a blocking open would hang without a writer
  CHECK_CONTAINS(error_of([&] { l2l::read_idx_labels(fifo); }), fifo + ": expected a regular file");
  CHECK_CONTAINS(error_of([&] { l2l::read_idx_labels(fifo); }), "found a FIFO (named pipe)");
  if (fs::exists("/dev/zero"))
    CHECK_CONTAINS(error_of([&] { l2l::read_cifar_batch("/dev/zero"); }), "/dev/zero: expected a regular file of at "
                                                                           "most 256 MiB, found a character device");
  const std::string big = t.file("big.bin.xz");  // sparse: refused by its size, never read
  write_plain(big, {});
  fs::resize_file(big, l2l::kMaxDataFileBytes + 1);
  CHECK_CONTAINS(error_of([&] { l2l::read_cifar_batch(big); }),
                 big + ": expected a regular file of at most 256 MiB, found 268435457 bytes. Fix: ");
}

TEST_CASE("data: decompression stops at the size limit (a gzip or xz bomb is refused)") {
  TempDir t;
  const size_t limit = 1 << 20;
  Bytes idx = idx_images(1);
  idx.resize(limit, 0);  // exactly the limit: accepted by the decompressor (the IDX check then fails)
  write_gzip(t.file("exact.gz"), idx);
  std::string msg = error_of([&] { l2l::idx_images_from_gzip(read_plain(t.file("exact.gz")), "exact.gz", limit); });
  CHECK_CONTAINS(msg, "trailing garbage");
  idx.push_back(0);  // one byte more: refused by the decompressor
  write_gzip(t.file("over.gz"), idx);
  msg = error_of([&] { l2l::idx_images_from_gzip(read_plain(t.file("over.gz")), "over.gz", limit); });
  CHECK_CONTAINS(msg, "over.gz: expected a complete, valid gzip stream of at most 1 MiB, found more than 1048576 "
                      "bytes after decompression");

  Bytes zeros(8 << 20, 0);  // 8 MiB of zeros: a few KB compressed
  write_xz(t.file("bomb.xz"), zeros);
  CHECK(read_plain(t.file("bomb.xz")).size() < 10000);
  msg = error_of([&] { l2l::cifar_batch_from_xz(read_plain(t.file("bomb.xz")), "bomb.xz", limit); });
  CHECK_CONTAINS(msg, "bomb.xz: expected a complete, valid xz stream of at most 1 MiB, found more than 1048576 bytes");
}

TEST_CASE("data: concatenated gzip members are read as one file, as gzip(1) does") {
  TempDir t;
  Bytes labels = idx_labels(4);
  write_gzip(t.file("a.gz"), Bytes(labels.begin(), labels.begin() + 5));
  write_gzip(t.file("b.gz"), Bytes(labels.begin() + 5, labels.end()));
  Bytes both = read_plain(t.file("a.gz")), b = read_plain(t.file("b.gz"));
  both.insert(both.end(), b.begin(), b.end());
  write_plain(t.file("both.gz"), both);
  CHECK(l2l::read_idx_labels(t.file("both.gz")) == std::vector<int>{0, 3, 6, 9});
  both.insert(both.end(), {'x', 'y'});  // bytes after the last member that are not a member
  write_plain(t.file("both.gz"), both);
  CHECK_CONTAINS(error_of([&] { l2l::read_idx_labels(t.file("both.gz")); }), "2 bytes after the end of the gzip stream");
}

// Every file in tests/corpus/<target>/ (inputs the fuzzers found interesting, crashes among
// them) must be read or refused with a std::runtime_error: no crash, no other exception.
namespace {
std::vector<Bytes> corpus(const std::string& target) {
  std::vector<Bytes> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("tests/corpus/" + target, ec))
    if (e.is_regular_file()) files.push_back(read_plain(e.path().string()));
  return files;
}
}  // namespace

// True if read() returns or throws std::runtime_error (a clean refusal); false for any other
// exception. A crash or a sanitizer report ends the test binary, which fails the suite.
template <class F>
bool reads_cleanly(F&& read, int& refused) {
  try {
    read();
  } catch (const std::runtime_error&) {
    ++refused;
  } catch (...) {
    return false;
  }
  return true;
}

TEST_CASE("data: fuzz regressions in tests/corpus/idx and tests/corpus/cifar are refused cleanly") {
  for (const std::string target : {"idx", "cifar"}) {
    std::vector<Bytes> files = corpus(target);
    INFO("tests/corpus/" << target << " (tests run from the repository root)");
    REQUIRE(files.size() > 0);
    int refused = 0, reads = 0;
    for (const Bytes& b : files) {
      if (target == "cifar") {
        CHECK(reads_cleanly([&] { l2l::cifar_batch_from_xz(b, "corpus file", 64 << 20); }, refused));
        reads += 1;
      } else {
        CHECK(reads_cleanly([&] { l2l::idx_images_from_gzip(b, "corpus file", 64 << 20); }, refused));
        CHECK(reads_cleanly([&] { l2l::idx_labels_from_gzip(b, "corpus file", 64 << 20); }, refused));
        reads += 2;
      }
    }
    MESSAGE("tests/corpus/" << target << ": " << files.size() << " files, " << reads << " reads, " << refused
                            << " refused with a message");
  }
}

// Real data: present in CI at ../shared/data (tests run from the repo root).
namespace {
std::string real_data_root(const std::string& sub) {
  try {
    return l2l::find_data_dir("", sub);
  } catch (const std::runtime_error& e) {
    MESSAGE("real " << sub << " data not found; test skipped. " << std::string(e.what()));
    return "";
  }
}

std::vector<int> class_counts(const l2l::Dataset& d, int classes) {
  std::vector<int> c(size_t(classes), 0);
  for (int l : d.labels) ++c.at(size_t(l));
  return c;
}

bool pixels_in_unit_range(const l2l::Dataset& d) {
  for (float p : d.pixels)
    if (!(p >= 0.0f && p <= 1.0f)) return false;
  return true;
}
}  // namespace

TEST_CASE("data: real MNIST (if present)") {
  const std::string root = real_data_root("mnist");
  if (root.empty()) return;
  const std::string dir = root + "/mnist";

  l2l::Dataset train = l2l::load_mnist(dir, "train");
  CHECK(train.n == 60000);
  CHECK(train.image_size() == 784);
  CHECK(train.pixels.size() == 60000u * 784u);
  CHECK(std::vector<int>(train.labels.begin(), train.labels.begin() + 10) ==
        std::vector<int>{5, 0, 4, 1, 9, 2, 1, 3, 1, 4});
  CHECK(class_counts(train, 10) ==
        std::vector<int>{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949});
  CHECK(pixels_in_unit_range(train));

  l2l::Dataset test = l2l::load_mnist(dir, "test");
  CHECK(test.n == 10000);
  CHECK(std::vector<int>(test.labels.begin(), test.labels.begin() + 10) ==
        std::vector<int>{7, 2, 1, 0, 4, 1, 4, 9, 5, 9});
  CHECK(class_counts(test, 10) ==
        std::vector<int>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009});
}

TEST_CASE("data: real CIFAR-10 test split (if present)") {
  const std::string root = real_data_root("cifar10");
  if (root.empty()) return;

  l2l::Dataset test = l2l::load_cifar10(root + "/cifar10", "test");
  CHECK(test.n == 10000);
  CHECK(test.image_size() == 3072);
  CHECK(test.pixels.size() == 10000u * 3072u);
  CHECK(std::vector<int>(test.labels.begin(), test.labels.begin() + 10) ==
        std::vector<int>{3, 8, 8, 0, 6, 6, 1, 6, 3, 1});
  CHECK(class_counts(test, 10) == std::vector<int>(10, 1000));
  CHECK(pixels_in_unit_range(test));

  l2l::Dataset five = l2l::filter_labels(test, {0, 1, 2, 3, 4});
  CHECK(five.n == 5000);
  CHECK(class_counts(five, 5) == std::vector<int>(5, 1000));
  l2l::Dataset two = l2l::filter_labels(test, {3, 5});  // cat, dog
  CHECK(two.n == 2000);
  CHECK(two.labels[0] == 0);  // test image 0 is a cat
}
