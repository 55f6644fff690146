// test_checkpoint.cpp: the checkpoint file format of nn/checkpoint.h. Round trips exact in the
// build's own precision, float32 / float64 / version-1 records written by hand, every
// truncation and many byte flips refused with the file's name, absurd lengths refused without
// a huge allocation, failed saves that leave the old file alone, Params by name, and an Adam
// run resumed from a file that continues bit for bit.
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

#include "doctest/doctest.h"
#include "helpers.h"
#include "nn/checkpoint.h"
#include "nn/optim.h"
#include "nn/rng.h"

using namespace l2l;
using l2l::test::TempDir;
using l2l::test::same_bits;
namespace fs = std::filesystem;

namespace {

std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(f), {});
}

void write_bytes(const std::string& path, const std::vector<unsigned char>& b, size_t n) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write((const char*)b.data(), (std::streamsize)n);
}

// Message of the runtime_error thrown by load_checkpoint(path), or "" if it did not throw.
std::string load_error(const std::string& path) {
  try {
    load_checkpoint(path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

// A small checkpoint with metadata and three tensors (about 140 bytes on disk).
Checkpoint small_checkpoint() {
  Checkpoint ck;
  ck.meta = {{"task", "quadratic"}, {"seed", "7"}};
  ck.tensors = {{"w", Tensor({2, 3}, {1, -2, 0.5, 0.25, 3, -0.125})},
                {"b", Tensor({3}, {0, 1, 2})},
                {"s", Tensor::scalar(42)}};
  return ck;
}

// Hand-built files: a header with no metadata, then tensor records, then the checksum.
std::vector<unsigned char> header_with_no_meta(unsigned char version = 2) {
  return {'L', '2', 'L', 'C', 'K', 'P', 'T', 0, version, 0, 0, 0, 0, 0, 0, 0};  // magic, version, 0 meta
}
void put_u32(std::vector<unsigned char>& b, uint32_t v) {
  for (int i = 0; i < 4; i++) b.push_back((unsigned char)(v >> (8 * i)));
}
void put_u64(std::vector<unsigned char>& b, uint64_t v) {
  for (int i = 0; i < 8; i++) b.push_back((unsigned char)(v >> (8 * i)));
}
void put_f32(std::vector<unsigned char>& b, float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  put_u32(b, bits);
}
void put_f64(std::vector<unsigned char>& b, double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  put_u64(b, bits);
}
// Name, ndim and dims of one tensor record (the dtype byte and data follow).
void put_record_head(std::vector<unsigned char>& b, const std::string& name, const std::vector<uint32_t>& dims) {
  put_u32(b, (uint32_t)name.size());
  b.insert(b.end(), name.begin(), name.end());
  put_u32(b, (uint32_t)dims.size());
  for (uint32_t d : dims) put_u32(b, d);
}
void put_checksum(std::vector<unsigned char>& b) { put_u64(b, fnv1a64(b.data(), b.size())); }

// The dtype byte this build writes, and the bytes per element.
const unsigned char kNative = sizeof(real) == 8 ? 'd' : 'f';
const size_t kWidth = sizeof(real);

}  // namespace

TEST_CASE("fnv1a64 matches the published test vectors") {
  CHECK(fnv1a64(nullptr, 0) == 0xcbf29ce484222325ULL);
  CHECK(fnv1a64((const unsigned char*)"a", 1) == 0xaf63dc4c8601ec8cULL);
  CHECK(fnv1a64((const unsigned char*)"foobar", 6) == 0x85944171f73967e8ULL);
}

TEST_CASE("checkpoint round trip is exact for every value of the build's real type") {
  TempDir tmp;
  Rng rng(5);
  using lim = std::numeric_limits<real>;
  Checkpoint ck;
  ck.meta = {{"config", "lr=0.1 unroll=20"}, {"empty", ""}, {"bytes", std::string("a\0b\xff", 4)}};
  ck.tensors = {{"big", randn({7, 13}, rng)},  // random doubles in the double build: all 53 bits matter
                {"scalar", Tensor::scalar(-0.0)},
                {"thirds", Tensor({4}, {(real)0.1, (real)1 / 3, (real)2 / 3, (real)1e-300})},
                {"extremes", Tensor({7}, {lim::max(), lim::lowest(), lim::min(), lim::denorm_min(), lim::infinity(),
                                          -lim::infinity(), lim::quiet_NaN()})},
                {"no rows", Tensor::zeros({0, 4})},
                {"three d", Tensor({2, 1, 2}, {1, 2, 3, 4})},
                {"rank 0", Tensor::full(Shape{}, 9)}};
  const std::string path = tmp.file("round.ckpt");
  save_checkpoint(path, ck);
  Checkpoint back = load_checkpoint(path);
  CHECK(back.source == path);
  CHECK(back.meta == ck.meta);
  REQUIRE(back.tensors.size() == ck.tensors.size());
  for (size_t i = 0; i < ck.tensors.size(); i++) {
    CAPTURE(ck.tensors[i].first);
    CHECK(back.tensors[i].first == ck.tensors[i].first);
    CHECK(same_bits(back.tensors[i].second, ck.tensors[i].second));  // NaN too: bits, not ==
  }
  CHECK(std::signbit(back.tensor("scalar")->item()));
  CHECK((*back.tensor("thirds"))[0] == (real)0.1);  // not rounded through float32
  CHECK((*back.tensor("thirds"))[1] == (real)1 / 3);
  if (sizeof(real) == 8) CHECK((*back.tensor("thirds"))[3] == 1e-300);  // 0 in float32
  CHECK(*back.meta_value("config") == "lr=0.1 unroll=20");
  CHECK(back.meta_value("missing") == nullptr);
  CHECK(back.tensor("missing") == nullptr);
  CHECK(tmp.entries() == 1);  // no temp file left behind

  Checkpoint third;
  third.tensors = {{"x", Tensor::scalar((real)0.1)}};
  save_checkpoint(path, third);  // replaces the old file
  CHECK(load_checkpoint(path).tensors[0].second.item() == (real)0.1);
  CHECK(load_checkpoint(path).tensors.size() == 1);
}

TEST_CASE("the layout on disk is the documented one") {
  TempDir tmp;
  Checkpoint ck;
  ck.meta = {{"k", "vv"}};
  ck.tensors = {{"t", Tensor({1, 2}, {1, -2})}};
  const std::string path = tmp.file("layout.ckpt");
  save_checkpoint(path, ck);
  std::vector<unsigned char> b = read_bytes(path);
  std::vector<unsigned char> want = {'L', '2', 'L', 'C', 'K', 'P', 'T', 0,  // magic
                                     2, 0, 0, 0,                            // version 2
                                     1, 0, 0, 0,                            // 1 metadata entry
                                     1, 0, 0, 0, 'k', 2, 0, 0, 0, 'v', 'v',  // "k" = "vv"
                                     1, 0, 0, 0,                            // 1 tensor
                                     1, 0, 0, 0, 't',                       // name "t"
                                     2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0};   // ndim 2, dims (1,2)
  if (sizeof(real) == 8)
    want.insert(want.end(), {'d',                                             // dtype float64
                             0, 0, 0, 0, 0, 0, 0xf0, 0x3f,                    // 1.0
                             0, 0, 0, 0, 0, 0, 0x00, 0xc0});                  // -2.0
  else
    want.insert(want.end(), {'f',                                             // dtype float32
                             0x00, 0x00, 0x80, 0x3f,                          // 1.0f
                             0x00, 0x00, 0x00, 0xc0});                        // -2.0f
  REQUIRE(b.size() == want.size() + 8);
  CHECK(std::vector<unsigned char>(b.begin(), b.end() - 8) == want);
  uint64_t sum = 0;
  for (int i = 0; i < 8; i++) sum |= (uint64_t)b[want.size() + i] << (8 * i);
  CHECK(sum == fnv1a64(want.data(), want.size()));
}

TEST_CASE("hand-written float32 and float64 records, and version-1 files, load converted to real") {
  TempDir tmp;
  const std::string path = tmp.file("hand.ckpt");
  const float fs[4] = {0.1f, -3.5f, 1e-40f, INFINITY};  // 1e-40f is a float32 denormal
  const double ds[3] = {0.1, 1.0 / 3, -0.0};

  std::vector<unsigned char> b = header_with_no_meta(2);
  put_u32(b, 2);
  put_record_head(b, "f32", {2, 2});
  b.push_back('f');
  for (float f : fs) put_f32(b, f);
  put_record_head(b, "f64", {3});
  b.push_back('d');
  for (double d : ds) put_f64(b, d);
  put_checksum(b);
  write_bytes(path, b, b.size());
  Checkpoint ck = load_checkpoint(path);
  REQUIRE(ck.tensors.size() == 2);
  const Tensor& f32 = *ck.tensor("f32");
  CHECK(f32.shape() == Shape{2, 2});
  for (int i = 0; i < 4; i++) CHECK(f32[i] == (real)fs[i]);  // exact in both builds
  const Tensor& f64 = *ck.tensor("f64");
  CHECK(f64.shape() == Shape{3});
  for (int i = 0; i < 3; i++) CHECK(f64[i] == (real)ds[i]);  // rounded to nearest in the float build
  CHECK(std::signbit(f64[2]));
  if (sizeof(real) == 8) CHECK(f64[1] != (double)(float)(1.0 / 3));

  // Version 1: the same float32 record without the dtype byte.
  b = header_with_no_meta(1);
  put_u32(b, 1);
  put_record_head(b, "f32", {2, 2});
  for (float f : fs) put_f32(b, f);
  put_checksum(b);
  write_bytes(path, b, b.size());
  Checkpoint v1 = load_checkpoint(path);
  REQUIRE(v1.tensors.size() == 1);
  CHECK(same_bits(*v1.tensor("f32"), f32));
}

TEST_CASE("an unknown dtype byte is refused, naming the tensor and the byte") {
  TempDir tmp;
  const std::string path = tmp.file("dtype.ckpt");
  for (int dtype : {(int)'q', (int)'F', (int)'D', 0, 0xff}) {
    CAPTURE((int)dtype);
    std::vector<unsigned char> b = header_with_no_meta();
    put_u32(b, 1);
    put_record_head(b, "w", {2});
    b.push_back((unsigned char)dtype);
    put_f64(b, 1);
    put_f64(b, 2);
    put_checksum(b);  // a valid checksum: only the dtype is wrong
    write_bytes(path, b, b.size());
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", dtype);
    CHECK(load_error(path) == "checkpoint " + path + ": corrupted: tensor 0 ('w') has unknown dtype byte " + hex +
                                  " (expected 'f' for float32 or 'd' for float64)");
  }
}

TEST_CASE("every truncation of a checkpoint is refused, naming the file") {
  TempDir tmp;
  const std::string good = tmp.file("good.ckpt"), cut = tmp.file("cut.ckpt");
  save_checkpoint(good, small_checkpoint());
  std::vector<unsigned char> b = read_bytes(good);
  REQUIRE(b.size() > 100);
  for (size_t n = 0; n < b.size(); n++) {
    CAPTURE(n);
    write_bytes(cut, b, n);
    std::string msg = load_error(cut);
    CHECK(msg.find(cut) != std::string::npos);
    CHECK(msg.find("truncated") != std::string::npos);
  }
  write_bytes(cut, b, 0);
  CHECK(load_error(cut) == "checkpoint " + cut +
                               ": truncated or corrupted: magic needs 8 bytes at offset 0 but only 0 remain (file is 0 bytes)");
  write_bytes(cut, b, b.size() - 3);
  CHECK(load_error(cut).find("checksum needs 8 bytes") != std::string::npos);
  // The last tensor, 's', ends with: dtype byte, kWidth data bytes, then the 8 checksum bytes.
  const size_t s_dtype = b.size() - 8 - kWidth - 1;
  CHECK(b[s_dtype] == kNative);
  write_bytes(cut, b, b.size() - 10);  // inside the data of 's'
  CHECK(load_error(cut).find("tensor 2 ('s') data, shape (1), needs " + std::to_string(kWidth) + " bytes") !=
        std::string::npos);
  write_bytes(cut, b, s_dtype);  // just before its dtype byte
  CHECK(load_error(cut).find("tensor 2 ('s') dtype needs 1 bytes") != std::string::npos);
  write_bytes(cut, b, b.size());
  CHECK(load_error(cut) == "");
}

TEST_CASE("every byte flip is refused: bad magic, bad version, or a checksum mismatch") {
  TempDir tmp;
  const std::string good = tmp.file("good.ckpt"), bad = tmp.file("bad.ckpt");
  save_checkpoint(good, small_checkpoint());
  const std::vector<unsigned char> b = read_bytes(good);
  const size_t s_dtype = b.size() - 8 - kWidth - 1;  // the dtype byte of the last tensor, 's'
  int checksum_caught = 0;
  for (size_t i = 0; i < b.size(); i++)
    for (unsigned char mask : {0x01, 0x80, 0xff}) {
      CAPTURE(i);
      CAPTURE((int)mask);
      std::vector<unsigned char> f = b;
      f[i] ^= mask;
      write_bytes(bad, f, f.size());
      std::string msg = load_error(bad);
      CHECK(msg.find(bad) != std::string::npos);
      if (i < 8) CHECK(msg.find("not an l2l checkpoint") != std::string::npos);
      else if (i < 12) CHECK(msg.find("unsupported format version") != std::string::npos);
      else if (i == s_dtype) CHECK(msg.find("tensor 2 ('s') has unknown dtype byte") != std::string::npos);
      checksum_caught += msg.find("checksum mismatch") != std::string::npos;
    }
  // Flips in names and data leave the layout intact: only the checksum can catch them.
  CHECK(checksum_caught > (int)b.size());
  std::vector<unsigned char> f = b;
  f[f.size() - 9] ^= 0x04;  // the last data byte of tensor 's'
  write_bytes(bad, f, f.size());
  CHECK(load_error(bad) == "checkpoint " + bad + ": corrupted: checksum mismatch");
}

TEST_CASE("absurd lengths are refused before anything is allocated") {
  TempDir tmp;
  const std::string path = tmp.file("absurd.ckpt");
  auto msg_for = [&](const std::vector<unsigned char>& b) {
    write_bytes(path, b, b.size());
    return load_error(path);
  };
  std::vector<unsigned char> b = header_with_no_meta();
  put_u32(b, 0xffffffffu);  // 4 billion tensors in a 20-byte file
  CHECK(msg_for(b).find("tensor count is 4294967295") != std::string::npos);

  b = header_with_no_meta();
  put_u32(b, 1);
  put_u32(b, 0x7fffffffu);  // a 2 GB name
  put_u32(b, 0);
  b.push_back('d');  // 9 bytes after the count: the least one tensor record needs
  CHECK(msg_for(b).find("tensor 0 name needs 2147483647 bytes") != std::string::npos);
  b.pop_back();  // 8 bytes cannot hold even one record
  CHECK(msg_for(b).find("tensor count is 1, but that many entries need at least 9 bytes and only 8 remain") !=
        std::string::npos);

  b = header_with_no_meta();
  put_u32(b, 1);
  put_u32(b, 1);
  b.push_back('x');
  put_u32(b, 3);  // ndim 3: (2^31-1, 2^31-1, 2^31-1), about 10^28 doubles
  for (int d = 0; d < 3; d++) put_u32(b, 0x7fffffffu);
  b.push_back('d');
  std::string msg = msg_for(b);  // refused at the second dimension, before the data size
  CHECK(msg == "checkpoint " + path + ": corrupted: tensor 0 ('x') has dimensions whose product exceeds "
               "2^31-1 ((2147483647,2147483647)...)");

  // Bounds count 8 bytes per float64 element: 12 data bytes hold three floats, not three doubles.
  for (unsigned char dtype : {'f', 'd'}) {
    b = header_with_no_meta();
    put_u32(b, 1);
    put_record_head(b, "x", {3});
    b.push_back(dtype);
    for (int j = 0; j < 3; j++) put_f32(b, 1.5f);
    put_checksum(b);
    if (dtype == 'f') CHECK(msg_for(b) == "");
    else CHECK(msg_for(b) == "checkpoint " + path + ": truncated or corrupted: tensor 0 ('x') data, shape (3), needs "
                               "24 bytes at offset 34 but only 20 remain (file is 54 bytes)");
  }

  b = header_with_no_meta();
  put_u32(b, 1);
  put_u32(b, 1);
  b.push_back('x');
  put_u32(b, 1);
  put_u32(b, 0xfffffffeu);  // dimension -2
  put_u32(b, 0);
  CHECK(msg_for(b).find("tensor 0 ('x') has negative dimension -2") != std::string::npos);

  b = header_with_no_meta(1);  // version 1 records have no dtype byte: 4 bytes per element
  put_u32(b, 1);
  put_record_head(b, "x", {30000, 30000});  // 9e8 elements: a legal shape, but not in this file
  CHECK(msg_for(b).find("tensor 0 ('x') data, shape (30000,30000), needs 3600000000 bytes") != std::string::npos);

  // Shapes whose product overflows an int are refused, also when a zero makes them empty:
  // (0, 65536, 65536) holds no data, but its strides would overflow an int.
  for (std::vector<uint32_t> shape : {std::vector<uint32_t>{0x10000, 0x10000}, {0, 0x10000, 0x10000}}) {
    b = header_with_no_meta(1);
    put_u32(b, 1);
    put_record_head(b, "x", shape);
    CHECK(msg_for(b).find("tensor 0 ('x') has dimensions whose product exceeds 2^31-1") != std::string::npos);
  }
  b = header_with_no_meta(1);  // the largest legal product, 2^31-1, still gets to the data check
  put_u32(b, 1);
  put_record_head(b, "x", {1, 0x7fffffff});
  CHECK(msg_for(b).find("tensor 0 ('x') data, shape (1,2147483647), needs 8589934588 bytes") != std::string::npos);

  b = header_with_no_meta();
  b[12] = 0xff;  // metadata count 255, no bytes for it
  put_u32(b, 0);
  CHECK(msg_for(b).find("metadata count is 255") != std::string::npos);
}

TEST_CASE("other load errors: missing file, directory, bad magic, version, trailing bytes") {
  TempDir tmp;
  const std::string missing = tmp.file("nope.ckpt");
  CHECK(load_error(missing) == "checkpoint " + missing +
                                 ": expected a file, found no such file. Fix: pass the path of a .ckpt file written by l2l");
  CHECK(load_error(tmp.dir.string()) == "checkpoint " + tmp.dir.string() +
                                          ": expected a regular file of at most 1024 MiB, found a directory. Fix: pass "
                                          "the path of a .ckpt file written by l2l");

  const std::string path = tmp.file("x.ckpt");
  std::vector<unsigned char> text = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '\n'};
  write_bytes(path, text, text.size());
  CHECK(load_error(path) == "checkpoint " + path + ": not an l2l checkpoint (bad magic bytes)");

  save_checkpoint(path, small_checkpoint());
  std::vector<unsigned char> b = read_bytes(path);
  b[8] = 3;
  write_bytes(path, b, b.size());
  CHECK(load_error(path) == "checkpoint " + path + ": unsupported format version 3 (this build reads versions 1 and 2)");
  b[8] = 0;
  write_bytes(path, b, b.size());
  CHECK(load_error(path).find("unsupported format version 0") != std::string::npos);

  b[8] = 2;
  b.push_back(0);
  write_bytes(path, b, b.size());
  CHECK(load_error(path) == "checkpoint " + path + ": corrupted: 1 unexpected bytes after the checksum");
}

TEST_CASE("a failed save leaves the old file untouched and no temp file behind") {
  TempDir tmp;
  // Into a directory that does not exist: nothing is created anywhere.
  const std::string nowhere = tmp.file("no/such/dir/x.ckpt");
  CHECK_THROWS_WITH_AS(save_checkpoint(nowhere, small_checkpoint()),
                       doctest::Contains(("cannot save checkpoint " + nowhere + ": cannot create").c_str()), std::runtime_error);
  CHECK(tmp.entries() == 0);

  // Over a directory: the temp file is written, the rename fails, the temp file is removed.
  const std::string dir_path = tmp.file("is_a_dir");
  fs::create_directories(dir_path + "/inside");
  CHECK_THROWS_WITH_AS(save_checkpoint(dir_path, small_checkpoint()), doctest::Contains("cannot rename"),
                       std::runtime_error);
  CHECK(fs::is_directory(dir_path + "/inside"));
  CHECK(tmp.entries() == 1);

  // An invalid checkpoint is refused before the disk is touched; the old file stays as it was.
  const std::string path = tmp.file("keep.ckpt");
  save_checkpoint(path, small_checkpoint());
  std::vector<unsigned char> before = read_bytes(path);
  Checkpoint dup = small_checkpoint();
  dup.tensors.push_back({"w", Tensor::scalar(1)});
  CHECK_THROWS_WITH_AS(save_checkpoint(path, dup), doctest::Contains("tensor name 'w' appears twice"),
                       std::invalid_argument);
  Checkpoint empty_name;
  empty_name.tensors = {{"", Tensor::scalar(1)}};
  CHECK_THROWS_AS(save_checkpoint(path, empty_name), std::invalid_argument);
  Checkpoint no_shape;
  no_shape.tensors = {{"t", Tensor()}};
  CHECK_THROWS_AS(save_checkpoint(path, no_shape), std::invalid_argument);
  Checkpoint dup_meta;
  dup_meta.meta = {{"a", "1"}, {"a", "2"}};
  CHECK_THROWS_AS(save_checkpoint(path, dup_meta), std::invalid_argument);
  CHECK(read_bytes(path) == before);
  CHECK(tmp.entries() == 2);  // is_a_dir and keep.ckpt
}

TEST_CASE("Params by name: round trip, and clear errors for mismatched names and shapes") {
  TempDir tmp;
  const std::string path = tmp.file("params.ckpt");
  Param w("lstm.w", Tensor({2, 2}, {1, 2, 3, 4})), b("lstm.b", Tensor({2}, {0.5, -0.5}));
  save_params(path, {&w, &b});

  Param w2("lstm.w", Tensor::zeros({2, 2})), b2("lstm.b", Tensor::zeros({2}));
  load_params(path, {&b2, &w2});  // order does not matter, names do
  CHECK(same_bits(w2.value, w.value));
  CHECK(same_bits(b2.value, b.value));

  // The shape error of the brief, and nothing loaded when any check fails.
  Param big_w("lstm.w", Tensor::zeros({42, 80})), small_w("lstm.w", Tensor::zeros({22, 80}));
  save_params(path, {&small_w});
  Param untouched("lstm.w", Tensor::full({42, 80}, 7));
  CHECK_THROWS_WITH_AS(load_params(path, {&untouched}),
                       ("checkpoint " + path + " has tensor lstm.w of shape (22,80) but the model expects (42,80)").c_str(),
                       std::runtime_error);
  CHECK(untouched.value[0] == 7);

  save_params(path, {&w, &b});
  Param other("lstm.u", Tensor::zeros({2, 2}));
  CHECK_THROWS_WITH_AS(load_params(path, {&other, &b2}),
                       ("checkpoint " + path + " has no tensor lstm.u (the model expects shape (2,2)); it has: lstm.b, lstm.w")
                           .c_str(),
                       std::runtime_error);
  Param b3("lstm.b", Tensor::full({2}, 3));
  CHECK_THROWS_WITH_AS(load_params(path, {&b3}),
                       ("checkpoint " + path + " has tensor lstm.w of shape (2,2) that the model does not have").c_str(),
                       std::runtime_error);
  CHECK(b3.value[0] == 3);
  CHECK_THROWS_AS(load_params(path, {&w2, &w2, &b2}), std::invalid_argument);
}

TEST_CASE("model, optimizer state and metadata share one checkpoint; a resumed Adam run matches bit for bit") {
  TempDir tmp;
  const std::string path = tmp.file("run.ckpt");
  Rng init(3);
  const Tensor w0 = randn({3, 4}, init), b0 = randn({4}, init);
  // The gradient of step k: random values with all of real's bits in use.
  auto set_grads = [](std::vector<Param*>& ps, int k) {
    Rng g(100 + (uint64_t)k);
    for (Param* p : ps) p->grad = randn(p->value.shape(), g);
  };
  const int kSteps = 8, kSaveAt = 4;

  // Straight through.
  Param w("w", w0), b("b", b0);
  std::vector<Param*> ps = {&w, &b};
  Adam adam(0.01);
  for (int k = 0; k < kSteps; k++) set_grads(ps, k), step_params(adam, ps);

  // Half, a checkpoint, then a fresh model and optimizer from the file for the other half.
  Param w1("w", w0), b1("b", b0);
  std::vector<Param*> ps1 = {&w1, &b1};
  Adam first(0.01);
  for (int k = 0; k < kSaveAt; k++) set_grads(ps1, k), step_params(first, ps1);
  Checkpoint ck;
  ck.meta = {{"step", std::to_string(kSaveAt)}};
  add_params(ck, ps1, "model.");
  add_tensors(ck, "opt.", first.state());
  save_checkpoint(path, ck);

  Checkpoint back = load_checkpoint(path);
  Param w2("w", Tensor::zeros({3, 4})), b2("b", Tensor::zeros({4}));
  std::vector<Param*> ps2 = {&w2, &b2};
  load_params(back, ps2, "model.");  // the "opt." tensors are not the model's business
  Adam resumed(0.01);
  resumed.load_state(tensors_with_prefix(back, "opt."));
  CHECK(resumed.steps() == kSaveAt);
  CHECK(*back.meta_value("step") == "4");
  for (int k = kSaveAt; k < kSteps; k++) set_grads(ps2, k), step_params(resumed, ps2);

  CHECK(resumed.steps() == kSteps);
  CHECK(same_bits(w2.value, w.value));
  CHECK(same_bits(b2.value, b.value));
  for (size_t k = 0; k < 2; k++) {
    CHECK(same_bits(resumed.m()[k], adam.m()[k]));
    CHECK(same_bits(resumed.v()[k], adam.v()[k]));
  }
}

TEST_CASE("Adam's step count survives a checkpoint exactly up to 2^digits of real, and is refused beyond") {
  TempDir tmp;
  const std::string path = tmp.file("adam.ckpt");
  const int64_t limit = int64_t(1) << std::numeric_limits<real>::digits;  // 2^53 in double, 2^24 in float
  const Tensor m = Tensor::full({2}, (real)0.25), v = Tensor::full({2}, (real)0.5);
  Adam adam(0.1);
  adam.load_state({{"adam.t", Tensor::scalar((real)(limit - 1))}, {"adam.m.0", m}, {"adam.v.0", v}});
  Tensor x({2}, {1, -1});
  std::vector<Tensor*> xs = {&x};
  std::vector<Tensor> g = {Tensor({2}, {0.5, -0.5})};
  adam.step(xs, g);  // t = limit: still exact
  CHECK(adam.steps() == limit);

  Checkpoint ck;
  add_tensors(ck, "opt.", adam.state());
  save_checkpoint(path, ck);
  Adam resumed(0.1);
  resumed.load_state(tensors_with_prefix(load_checkpoint(path), "opt."));
  CHECK(resumed.steps() == limit);
  CHECK(same_bits(resumed.m()[0], adam.m()[0]));

  adam.step(xs, g);  // t = limit + 1: a real cannot hold it, so state() refuses to round it
  const std::string too_many =
      "[adam] state: step count " + std::to_string(limit + 1) + " is beyond " + std::to_string(limit);
  CHECK_THROWS_WITH_AS(adam.state(), doctest::Contains(too_many.c_str()), std::invalid_argument);
  const std::string bad_t = "'adam.t' must hold one whole number in [0, " + std::to_string(limit) + "]";
  CHECK_THROWS_WITH_AS(resumed.load_state({{"adam.t", Tensor::scalar((real)(2 * limit))}, {"adam.m.0", m}, {"adam.v.0", v}}),
                       doctest::Contains(bad_t.c_str()), std::invalid_argument);
  CHECK(resumed.steps() == limit);  // a refused load changes nothing
}

// ---- bounded reading and range-checked metadata ---------------------------------------------

TEST_CASE("only regular files are read: a FIFO, /dev/zero and an oversized file are refused at once") {
  TempDir tmp;
  const std::string fifo = tmp.file("pipe.ckpt");
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  // Without a writer, a blocking open of the FIFO would hang here forever.
  CHECK(load_error(fifo) == "checkpoint " + fifo + ": expected a regular file of at most 1024 MiB, found a FIFO "
                            "(named pipe). Fix: pass the path of a .ckpt file written by l2l");
  if (fs::exists("/dev/zero"))  // read to the end, this would never stop
    CHECK(load_error("/dev/zero").find("checkpoint /dev/zero: expected a regular file of at most 1024 MiB, found a "
                                       "character device") == 0);

  // A sparse file one byte over the cap: refused by its size, before a byte is read.
  const std::string big = tmp.file("big.ckpt");
  { std::ofstream f(big); }
  fs::resize_file(big, kMaxCheckpointBytes + 1);
  CHECK(load_error(big) == "checkpoint " + big + ": expected a regular file of at most 1024 MiB, found 1073741825 "
                           "bytes. Fix: pass the path of a .ckpt file written by l2l");
}

TEST_CASE("decode_checkpoint on bytes in memory is load_checkpoint without the file") {
  TempDir tmp;
  const std::string path = tmp.file("mem.ckpt");
  save_checkpoint(path, small_checkpoint());
  std::vector<unsigned char> b = read_bytes(path);
  Checkpoint ck = decode_checkpoint(b.data(), b.size(), "bytes");
  CHECK(ck.meta == small_checkpoint().meta);
  CHECK(same_bits(*ck.tensor("w"), *small_checkpoint().tensor("w")));
  b[b.size() - 1] ^= 1;
  CHECK_THROWS_WITH_AS(decode_checkpoint(b.data(), b.size(), "bytes"), "checkpoint bytes: corrupted: checksum mismatch",
                       std::runtime_error);
}

TEST_CASE("save uses a unique temporary name: a stale temp file of the same pid is not clobbered") {
  TempDir tmp;
  const std::string path = tmp.file("x.ckpt");
  const std::string stale = path + ".tmp." + std::to_string((long)getpid());  // the old fixed name
  write_bytes(stale, {'k', 'e', 'e', 'p'}, 4);
  save_checkpoint(path, small_checkpoint());
  CHECK(read_bytes(stale) == std::vector<unsigned char>{'k', 'e', 'e', 'p'});
  CHECK(tmp.entries() == 2);  // x.ckpt and the stale file: no temp file of ours left behind
  CHECK(load_checkpoint(path).meta == small_checkpoint().meta);
}

TEST_CASE("MetadataReader: typed and range-checked, errors name the file, the key, the value and the expectation") {
  Checkpoint ck;
  ck.source = "run/phi.ckpt";
  ck.meta = {{"layers", "2"},  {"hidden", "2e9"},  {"huge", "100000000000000000000"}, {"lr", "0.1"},
             {"inf", "inf"},   {"empty", ""},      {"space", " 3"},                   {"tail", "3x"},
             {"nan", "nan"},   {"hist", "0.5,-1e-3,2"}, {"one", "7"}, {"gap", "1,,2"}, {"comma", "1,2,"},
             {"long", std::string(60, '9') + "x"}};
  MetadataReader r(ck);
  CHECK(r.has("layers"));
  CHECK_FALSE(r.has("seed"));
  CHECK(r.str("layers") == "2");
  CHECK(r.integer("layers", 1, 8) == 2);
  CHECK(r.number("lr", 0, 1) == doctest::Approx(0.1));
  CHECK(r.number("hidden", 1, 1e10) == 2e9);
  CHECK(r.number("hidden") == 2e9);
  CHECK(r.list("hist") == std::vector<double>{0.5, -1e-3, 2});
  CHECK(r.list("one") == std::vector<double>{7});
  CHECK(r.list("empty").empty());
  auto error = [](auto f) {
    try {
      f();
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(error([&] { r.integer("hidden", 1, 4096); }) ==
        "checkpoint run/phi.ckpt: metadata 'hidden' is '2e9', expected an integer in [1, 4096] (the file is "
        "damaged or was not written by l2l)");
  CHECK(error([&] { MetadataReader(ck.meta, "other.ckpt").integer("layers", 3, 8); })
            .find("checkpoint other.ckpt: metadata 'layers' is '2'") == 0);
  CHECK(error([&] { MetadataReader(ck.meta, "").integer("layers", 3, 8); })
            .find("checkpoint (not from a file): metadata 'layers'") == 0);
  for (const char* key : {"huge", "empty", "space", "tail", "lr"})
    CHECK(error([&] { r.integer(key, 0, 1000000); }).find(std::string("metadata '") + key + "'") != std::string::npos);
  for (const char* key : {"inf", "nan", "empty", "tail", "space"})
    CHECK(error([&] { r.number(key, -1e300, 1e300); }).find(std::string("metadata '") + key + "'") != std::string::npos);
  CHECK(error([&] { r.number("lr", 0.5, 1); }) ==
        "checkpoint run/phi.ckpt: metadata 'lr' is '0.1', expected a finite number in [0.5, 1] (the file is "
        "damaged or was not written by l2l)");
  CHECK(error([&] { r.number("inf"); }) ==
        "checkpoint run/phi.ckpt: metadata 'inf' is 'inf', expected a finite number (the file is damaged or was "
        "not written by l2l)");
  CHECK(error([&] { r.list("gap"); }) ==
        "checkpoint run/phi.ckpt: metadata 'gap' is '1,,2', expected a comma-separated list of finite numbers "
        "(item 1 is '') (the file is damaged or was not written by l2l)");
  CHECK(error([&] { r.list("comma"); }).find("(item 2 is '')") != std::string::npos);
  CHECK(error([&] { r.list("tail"); }).find("(item 0 is '3x')") != std::string::npos);
  CHECK(error([&] { r.list("nan"); }).find("metadata 'nan' is 'nan'") != std::string::npos);
  CHECK(error([&] { r.number("long"); }) ==
        "checkpoint run/phi.ckpt: metadata 'long' is '" + std::string(40, '9') + "...', expected a finite number "
        "(the file is damaged or was not written by l2l)");
  for (auto f : {+[](const MetadataReader& m) { m.str("seed"); }, +[](const MetadataReader& m) { m.integer("seed", 0, 10); },
                 +[](const MetadataReader& m) { m.number("seed"); }, +[](const MetadataReader& m) { m.list("seed"); }})
    CHECK(error([&] { f(r); }) ==
          "checkpoint run/phi.ckpt: has no metadata 'seed' (the file is damaged or was not written by this "
          "version of l2l)");
  // The reader holds its own copy: it outlives the Checkpoint it was made from.
  MetadataReader kept = [] {
    Checkpoint tmp;
    tmp.meta = {{"k", "5"}};
    return MetadataReader(tmp);
  }();
  CHECK(kept.integer("k", 0, 9) == 5);
}

TEST_CASE("fuzz regressions in tests/corpus/checkpoint are decoded or refused cleanly") {
  std::vector<std::vector<unsigned char>> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("tests/corpus/checkpoint", ec))
    if (e.is_regular_file()) files.push_back(read_bytes(e.path().string()));
  INFO("tests/corpus/checkpoint (tests run from the repository root)");
  REQUIRE(files.size() > 0);
  int refused = 0;
  for (const auto& b : files) {
    bool clean = true;  // decoded, or refused with std::runtime_error; a crash ends the binary
    try {
      decode_checkpoint(b.data(), b.size(), "corpus file");
    } catch (const std::runtime_error&) {
      ++refused;
    } catch (...) {
      clean = false;
    }
    CHECK(clean);
  }
  MESSAGE("tests/corpus/checkpoint: " << files.size() << " files, " << refused << " refused with a message");
}
