// test_checkpoint.cpp: the checkpoint file format of nn/checkpoint.h. Exact round trips, every
// truncation and many byte flips refused with the file's name, absurd lengths refused without
// a huge allocation, failed saves that leave the old file alone, and Params by name.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <unistd.h>

#include "doctest/doctest.h"
#include "nn/checkpoint.h"
#include "nn/rng.h"

using namespace l2l;
namespace fs = std::filesystem;

namespace {

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
struct TempDir {
  fs::path dir;
  TempDir() {
    static int counter = 0;
    dir = fs::temp_directory_path() /
          ("l2l_test_checkpoint_" + std::to_string((long)getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string file(const std::string& name) const { return (dir / name).string(); }
  int entries() const { return (int)std::distance(fs::directory_iterator(dir), fs::directory_iterator()); }
};

std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(f), {});
}

void write_bytes(const std::string& path, const std::vector<unsigned char>& b, size_t n) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write((const char*)b.data(), (std::streamsize)n);
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(real)) == 0;
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

// Header bytes of a file whose tensor section we then write by hand.
std::vector<unsigned char> header_with_no_meta() {
  std::vector<unsigned char> b = {'L', '2', 'L', 'C', 'K', 'P', 'T', 0, 1, 0, 0, 0, 0, 0, 0, 0};
  return b;  // magic, version 1, meta count 0
}
void put_u32(std::vector<unsigned char>& b, uint32_t v) {
  for (int i = 0; i < 4; i++) b.push_back((unsigned char)(v >> (8 * i)));
}

}  // namespace

TEST_CASE("fnv1a64 matches the published test vectors") {
  CHECK(fnv1a64(nullptr, 0) == 0xcbf29ce484222325ULL);
  CHECK(fnv1a64((const unsigned char*)"a", 1) == 0xaf63dc4c8601ec8cULL);
  CHECK(fnv1a64((const unsigned char*)"foobar", 6) == 0x85944171f73967e8ULL);
}

TEST_CASE("checkpoint round trip is exact for float32-representable values") {
  TempDir tmp;
  Rng rng(5);
  Tensor big = randn({7, 13}, rng);
  for (size_t i = 0; i < big.size(); i++) big[i] = (real)(float)big[i];  // representable in float32
  Checkpoint ck;
  ck.meta = {{"config", "lr=0.1 unroll=20"}, {"empty", ""}, {"bytes", std::string("a\0b\xff", 4)}};
  ck.tensors = {{"big", big},
                {"scalar", Tensor::scalar(-0.0)},
                {"extremes", Tensor({5}, {1e30f, -1.5e-38f, 3.4e38f, (real)INFINITY, (real)-INFINITY})},
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
    CHECK(same_bits(back.tensors[i].second, ck.tensors[i].second));
  }
  CHECK(std::signbit(back.tensor("scalar")->item()));
  CHECK(*back.meta_value("config") == "lr=0.1 unroll=20");
  CHECK(back.meta_value("missing") == nullptr);
  CHECK(back.tensor("missing") == nullptr);
  CHECK(tmp.entries() == 1);  // no temp file left behind

  // A value float32 cannot hold is rounded to the nearest float on save.
  Checkpoint third;
  third.tensors = {{"x", Tensor::scalar(0.1)}};
  save_checkpoint(path, third);  // replaces the old file
  CHECK(load_checkpoint(path).tensors[0].second.item() == (real)0.1f);
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
                                     1, 0, 0, 0,                            // version 1
                                     1, 0, 0, 0,                            // 1 metadata entry
                                     1, 0, 0, 0, 'k', 2, 0, 0, 0, 'v', 'v',  // "k" = "vv"
                                     1, 0, 0, 0,                            // 1 tensor
                                     1, 0, 0, 0, 't',                       // name "t"
                                     2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0,    // ndim 2, dims (1,2)
                                     0x00, 0x00, 0x80, 0x3f,                // 1.0f
                                     0x00, 0x00, 0x00, 0xc0};               // -2.0f
  REQUIRE(b.size() == want.size() + 8);
  CHECK(std::vector<unsigned char>(b.begin(), b.end() - 8) == want);
  uint64_t sum = 0;
  for (int i = 0; i < 8; i++) sum |= (uint64_t)b[want.size() + i] << (8 * i);
  CHECK(sum == fnv1a64(want.data(), want.size()));
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
  write_bytes(cut, b, b.size() - 10);  // inside the data of the last tensor, 's'
  CHECK(load_error(cut).find("tensor 2 ('s') data, shape (1), needs 4 bytes") != std::string::npos);
  write_bytes(cut, b, b.size());
  CHECK(load_error(cut) == "");
}

TEST_CASE("every byte flip is refused: bad magic, bad version, or a checksum mismatch") {
  TempDir tmp;
  const std::string good = tmp.file("good.ckpt"), bad = tmp.file("bad.ckpt");
  save_checkpoint(good, small_checkpoint());
  const std::vector<unsigned char> b = read_bytes(good);
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
  CHECK(msg_for(b).find("tensor 0 name needs 2147483647 bytes") != std::string::npos);

  b = header_with_no_meta();
  put_u32(b, 1);
  put_u32(b, 1);
  b.push_back('x');
  put_u32(b, 3);  // ndim 3: (2^31-1, 2^31-1, 2^31-1), about 10^28 floats
  for (int d = 0; d < 3; d++) put_u32(b, 0x7fffffffu);
  std::string msg = msg_for(b);
  CHECK(msg.find("tensor 0 ('x') data") != std::string::npos);
  CHECK(msg.find("truncated or corrupted") != std::string::npos);

  b = header_with_no_meta();
  put_u32(b, 1);
  put_u32(b, 1);
  b.push_back('x');
  put_u32(b, 1);
  put_u32(b, 0xfffffffeu);  // dimension -2
  put_u32(b, 0);
  CHECK(msg_for(b).find("tensor 0 ('x') has negative dimension -2") != std::string::npos);

  b = header_with_no_meta();
  b[12] = 0xff;  // metadata count 255, no bytes for it
  put_u32(b, 0);
  CHECK(msg_for(b).find("metadata count is 255") != std::string::npos);
}

TEST_CASE("other load errors: missing file, directory, bad magic, version, trailing bytes") {
  TempDir tmp;
  const std::string missing = tmp.file("nope.ckpt");
  CHECK(load_error(missing) == "checkpoint " + missing + ": cannot open: No such file or directory");
  CHECK(load_error(tmp.dir.string()).find("cannot read") != std::string::npos);

  const std::string path = tmp.file("x.ckpt");
  std::vector<unsigned char> text = {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '\n'};
  write_bytes(path, text, text.size());
  CHECK(load_error(path) == "checkpoint " + path + ": not an l2l checkpoint (bad magic bytes)");

  save_checkpoint(path, small_checkpoint());
  std::vector<unsigned char> b = read_bytes(path);
  b[8] = 2;
  write_bytes(path, b, b.size());
  CHECK(load_error(path) == "checkpoint " + path + ": unsupported format version 2 (this build reads version 1)");

  b[8] = 1;
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

TEST_CASE("model, optimizer state and metadata share one checkpoint through prefixes") {
  TempDir tmp;
  const std::string path = tmp.file("run.ckpt");
  Param w("w", Tensor({3}, {1, 2, 3}));
  Adam adam(0.1);
  std::vector<Param*> ps = {&w};
  w.grad = Tensor({3}, {0.5, -1, 2});
  step_params(adam, ps);

  Checkpoint ck;
  ck.meta = {{"step", "1"}};
  add_params(ck, ps, "model.");
  add_tensors(ck, "opt.", adam.state());
  save_checkpoint(path, ck);

  Checkpoint back = load_checkpoint(path);
  Param w_back("w", Tensor::zeros({3}));
  load_params(back, {&w_back}, "model.");  // the "opt." tensors are not the model's business
  Adam resumed(0.1);
  resumed.load_state(tensors_with_prefix(back, "opt."));
  CHECK(resumed.steps() == 1);
  CHECK(*back.meta_value("step") == "1");
  // Adam's moments are rounded to float32 on disk, so the resumed step agrees to float precision.
  w_back.grad = w.grad;
  std::vector<Param*> ps_back = {&w_back};
  step_params(adam, ps);
  step_params(resumed, ps_back);
  for (int i = 0; i < 3; i++) CHECK(w_back.value[i] == doctest::Approx(w.value[i]).epsilon(1e-6));
}
