// test_art.cpp: the Neural Art optimizee (tasks/optimizees/art.h, tasks/optimizees/vgg.h): Gram matrix and TV terms
// (values and gradient checks), the VGG loader (file checks naming the file; a 3x3 patch
// through conv1_1 by hand, on made-up files and on the real ones), the whole objective's
// gradient on a tiny image, theta_0 (the crop itself, or grey) and the dominant style term there, the fixed photo sets,
// and a smoke meta-training that lowers the validation meta-loss.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>
#include <fstream>
#include <set>

#include "helpers.h"
#include "tasks/optimizees/art.h"
#include "tasks/data/data.h"
#include "tasks/evaluate.h"
#include "tasks/meta_train.h"
#include "tasks/optimizees/optimizees.h"
#include "tasks/optimizees/vgg.h"

using namespace l2l;
using namespace l2l::test;
namespace fs = std::filesystem;

namespace {

std::string temp_dir(const char* tag) {
  fs::path d = fs::temp_directory_path() / (std::string("l2l_test_art_") + tag + "_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d.string();
}

// The data root if the art data and weights are there ("" otherwise; the test says so).
std::string art_data_root() {
  try {
    std::string d = find_data_dir("", "art");
    if (fs::exists(fs::path(d) / "weights" / "vgg19_conv1_1-conv3_4" / "block1_conv1.f32")) return d;
  } catch (const std::exception& e) {
    MESSAGE("Neural Art data not found, skipping: " << e.what());
  }
  return "";
}

// Writes the first `count` VGG files into dir with values v_i = sin(0.37 i + layer) * 0.1.
void write_fake_vgg(const std::string& dir, int count) {
  for (int l = 0; l < count; l++) {
    const VggLayerInfo& L = vgg19_layers()[l];
    size_t n = (size_t)9 * L.cin * L.cout + L.cout;
    std::vector<float> v(n);
    for (size_t i = 0; i < n; i++) v[i] = (float)(0.1 * std::sin(0.37 * (double)i + l));
    std::ofstream(dir + "/" + L.file, std::ios::binary).write((const char*)v.data(), (std::streamsize)(n * 4));
  }
}

std::vector<float> read_all_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}

// conv1_1's relu output at channel co, pixel (y, x) of an RGB [0,1] image (1,3,H,W), by hand
// from the file's floats as the README describes them: BGR 0..255 minus the mean, zero padding,
// W[ky][kx][ci][co] = f[((ky*3+kx)*3+ci)*64+co], b[co] = f[9*3*64+co].
double conv1_1_by_hand(const std::vector<float>& f, const Tensor& img, int co, int y, int x) {
  int H = img.dim(2), W = img.dim(3);
  const double mean_bgr[3] = {103.939, 116.779, 123.68};
  double s = f[9 * 3 * 64 + co];
  for (int ky = 0; ky < 3; ky++)
    for (int kx = 0; kx < 3; kx++) {
      int yy = y + ky - 1, xx = x + kx - 1;
      if (yy < 0 || yy >= H || xx < 0 || xx >= W) continue;  // zero padding (after the mean)
      for (int ci = 0; ci < 3; ci++) {                        // ci: 0 = B, 1 = G, 2 = R
        double v = 255.0 * img[((size_t)(2 - ci) * H + yy) * W + xx] - mean_bgr[ci];
        s += f[((ky * 3 + kx) * 3 + ci) * 64 + co] * v;
      }
    }
  return std::max(0.0, s);
}

void check_conv1_1_patch(const Vgg& net, const std::string& file) {
  std::vector<float> f = read_all_floats(file);
  Tensor img = randu({1, 3, 6, 5}, 17, 0, 1);
  Tape tape;
  Var r = vgg_features(net, tape.constant(img), "relu1_1").at("relu1_1");
  REQUIRE(r.shape() == Shape({1, 64, 6, 5}));
  int checked = 0, positive = 0;
  for (int co : {0, 1, 7, 33, 63})
    for (auto [y, x] : std::vector<std::pair<int, int>>{{0, 0}, {2, 3}, {5, 4}, {3, 0}}) {
      double want = conv1_1_by_hand(f, img, co, y, x);
      CHECK(r.value()[((size_t)co * 6 + y) * 5 + x] == doctest::Approx(want).epsilon(1e-5));
      checked++, positive += want > 0;
    }
  MESSAGE(file << ": " << checked << " conv1_1 outputs by hand, " << positive << " of them positive");
  CHECK(positive > 0);
}

ArtOptions tiny_art(const std::string& root, int size = 8) {
  ArtOptions o;
  o.data_dir = root;
  o.size = size;
  return o;
}

}  // namespace

TEST_CASE("art: gram = F F^T / (C H W), and its gradient") {
  Tape t;
  Tensor F({1, 2, 1, 2}, {1, 2, 3, 4});
  Tensor G = gram(t.constant(F)).value();
  REQUIRE(G.shape() == Shape({2, 2}));
  CHECK(G[0] == doctest::Approx((1 * 1 + 2 * 2) / 4.0));
  CHECK(G[1] == doctest::Approx((1 * 3 + 2 * 4) / 4.0));
  CHECK(G[2] == doctest::Approx(G[1]));
  CHECK(G[3] == doctest::Approx((9 + 16) / 4.0));
  // The same features at twice the resolution (each value repeated 4 times): the same Gram.
  Tensor F2({1, 2, 2, 4}, {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  Tensor G2 = gram(t.constant(F2)).value();
  for (int i = 0; i < 4; i++) CHECK(G2[i] == doctest::Approx(G[i]));
  CHECK_GRADS([](Tape&, const std::vector<Var>& x) { return gram(x[0]); }, {randn({1, 3, 4, 5}, 3)});
  CHECK_THROWS_WITH(gram(t.constant(Tensor({3, 4}))), doctest::Contains("[gram]"));
}

TEST_CASE("art: total variation by hand, and its gradient") {
  Tape t;
  // x (1,1,2,3) = [[0,1,3],[2,2,2]]: vertical diffs 2,1,-1 -> mean 2; horizontal 1,2,0,0 -> mean 5/4.
  Tensor x({1, 1, 2, 3}, {0, 1, 3, 2, 2, 2});
  CHECK(tv_loss(t.constant(x)).item() == doctest::Approx(2 + 1.25));
  CHECK(tv_loss(t.constant(Tensor::full({1, 3, 4, 4}, 0.7))).item() == doctest::Approx(0));
  CHECK_GRADS([](Tape&, const std::vector<Var>& v) { return tv_loss(v[0]); }, {randn({1, 3, 5, 4}, 5)});
}

TEST_CASE("vgg: the loader reorders HWIO into (O,C,3,3), conv1_1 to RGB; a 3x3 patch by hand (made-up files)") {
  std::string dir = temp_dir("fake");
  write_fake_vgg(dir, 2);
  Vgg net = load_vgg(dir, 2);
  REQUIRE(net.convs.size() == 2);
  CHECK(net.convs[0].w.shape() == Shape({64, 3, 3, 3}));
  CHECK(net.convs[1].w.shape() == Shape({64, 64, 3, 3}));
  std::vector<float> f1 = read_all_floats(dir + "/block1_conv2.f32");
  // conv1_2 keeps its channel order: w[co][ci][ky][kx] = f[((ky*3+kx)*64+ci)*64+co].
  CHECK(net.convs[1].w[(((size_t)5 * 64 + 9) * 3 + 2) * 3 + 1] == doctest::Approx(f1[((2 * 3 + 1) * 64 + 9) * 64 + 5]));
  CHECK(net.convs[1].b[7] == doctest::Approx(f1[9 * 64 * 64 + 7]));
  check_conv1_1_patch(net, dir + "/block1_conv1.f32");
  fs::remove_all(dir);
}

TEST_CASE("vgg: a missing, short, long, non-regular, non-finite or absurd file is refused with its name and sizes") {
  std::string dir = temp_dir("bad");
  write_fake_vgg(dir, 3);
  CHECK_THROWS_WITH(load_vgg(dir, 4), doctest::Contains(("VGG weight file " + dir + "/block2_conv2.f32: expected a "
                                                         "file, found no such file. Fix: copy the files").c_str()));
  std::string f = dir + "/block2_conv1.f32";
  fs::resize_file(f, 295424 - 4);
  CHECK_THROWS_WITH(load_vgg(dir, 3), doctest::Contains((f + " has 295420 bytes, expected 295424").c_str()));
  fs::resize_file(f, 295424 + 8);  // refused by its size, before it is read
  CHECK_THROWS_WITH(load_vgg(dir, 3), doctest::Contains((f + ": expected a regular file of at most 295424 bytes, "
                                                             "found 295432 bytes").c_str()));
  // A directory or a FIFO where the file should be says what it is (a FIFO must not hang us).
  fs::remove(f);
  fs::create_directories(f);
  CHECK_THROWS_WITH(load_vgg(dir, 3), doctest::Contains((f + ": expected a regular file of at most 295424 bytes, "
                                                             "found a directory").c_str()));
  fs::remove(f);
  REQUIRE(mkfifo(f.c_str(), 0600) == 0);
  CHECK_THROWS_WITH(load_vgg(dir, 3), doctest::Contains((f + ": expected a regular file of at most 295424 bytes, "
                                                             "found a FIFO (named pipe)").c_str()));
  fs::remove(f);
  write_fake_vgg(dir, 3);
  {
    std::fstream io(f, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(400);
    float nan = std::nanf("");
    io.write((const char*)&nan, 4);
  }
  CHECK_THROWS_WITH(load_vgg(dir, 3), doctest::Contains((f + ": value 100 is nan, expected a finite number within "
                                                             "+-100").c_str()));
  // A finite but absurd weight (it would overflow the features to inf, which meta-training
  // would report as a diverged run) is refused too.
  write_fake_vgg(dir, 3);
  {
    std::fstream io(f, std::ios::in | std::ios::out | std::ios::binary);
    io.seekp(400);
    float huge = 3.4e38f;
    io.write((const char*)&huge, 4);
  }
  CHECK_THROWS_WITH(load_vgg(dir, 3), doctest::Contains((f + ": value 100 is 3399999952").c_str()));
  CHECK_THROWS_WITH(load_vgg(dir, 3), doctest::Contains("expected a finite number within +-100 (VGG-19's are within"));
  CHECK_NOTHROW(load_vgg(dir, 2));
  if (fs::exists("/dev/zero")) {  // a link to /dev/zero: says what it is, never reads it
    fs::remove(f);
    fs::create_symlink("/dev/zero", f);
    CHECK_THROWS_WITH(load_vgg(dir, 3), doctest::Contains((f + ": expected a regular file of at most 295424 bytes, "
                                                               "found a character device").c_str()));
  }
  fs::remove_all(dir);
}

TEST_CASE("vgg: the real conv1_1: a 3x3 patch by hand, and the README's first values") {
  std::string root = art_data_root();
  if (root.empty()) return;
  std::string dir = root + "/weights/vgg19_conv1_1-conv3_4";
  Vgg net = load_vgg(dir, 8);  // every shipped file passes the checks
  REQUIRE(net.convs.size() == 8);
  // README: "conv1_1's kernel, in Caffe-order NCHW index order, begins 0.341195, 0.339992,
  // -0.0448442, 0.232159" (Caffe's channel 0 is B, ours is R: ours [0][2][0][0..3]).
  const Tensor& w = net.convs[0].w;
  CHECK(w[(0 * 3 + 2) * 9 + 0] == doctest::Approx(0.341195).epsilon(1e-5));
  CHECK(w[(0 * 3 + 2) * 9 + 1] == doctest::Approx(0.339992).epsilon(1e-5));
  CHECK(w[(0 * 3 + 2) * 9 + 2] == doctest::Approx(-0.0448442).epsilon(1e-5));
  CHECK(w[(0 * 3 + 2) * 9 + 3] == doctest::Approx(0.232159).epsilon(1e-5));
  CHECK(net.convs[0].b[0] == doctest::Approx(0.7301776).epsilon(1e-6));
  check_conv1_1_patch(net, dir + "/block1_conv1.f32");
  Tape tape;
  auto F = vgg_features(net, tape.constant(randu({1, 3, 8, 8}, 2, 0, 1)), "relu3_2");
  CHECK(F.size() == 6);  // relu1_1 .. relu3_2, stopped there
  CHECK(F.at("relu3_2").shape() == Shape({1, 256, 2, 2}));
  CHECK_THROWS_WITH(vgg_features(load_vgg(dir, 2), tape.constant(randu({1, 3, 8, 8}, 2, 0, 1)), "relu2_1"),
                    doctest::Contains("not among the 2 loaded"));
}

TEST_CASE("art: the photo sets are disjoint and exist; seeds pick them; problems are reproducible") {
  std::set<std::string> all;
  size_t n = 0;
  for (auto* set : {&art_train_photos(), &art_val_photos(), &art_test_photos()})
    for (const std::string& p : *set) all.insert(p), n++;
  CHECK(all.size() == n);
  std::string root = art_data_root();
  if (root.empty()) return;
  for (const std::string& p : all) CHECK(fs::exists(root + "/art/content/" + p));
  auto task = make_art_task(tiny_art(root, 16));
  for (int i = 0; i < 6; i++) {
    auto check_set = [&](Split s, const std::vector<std::string>& photos) {
      ArtProblemImages im = art_problem_images(*problem_instance(*task, ProblemId{s, (uint64_t)i, 3}).problem);
      CHECK(std::find(photos.begin(), photos.end(), im.photo) != photos.end());
    };
    check_set(Split::train, art_train_photos());
    check_set(Split::val, art_val_photos());
    check_set(Split::test, art_test_photos());
  }
  ProblemInstance a = problem_instance(*task, ProblemId::test(2));
  ProblemInstance b = problem_instance(*task, ProblemId::test(2));
  REQUIRE(a.theta0.size() == 3 * 16 * 16);
  for (size_t i = 0; i < a.theta0.size(); i++) REQUIRE(a.theta0[i] == b.theta0[i]);
  CHECK(a.problem->loss_value(a.theta0, a.batch_rng) == b.problem->loss_value(b.theta0, b.batch_rng));
  ArtOptions bad = tiny_art(root, 16);
  bad.style = "nope";
  CHECK_THROWS_WITH(make_art_task(bad), doctest::Contains("vangogh_starry_night"));
  bad = tiny_art(root, 18);
  CHECK_THROWS_WITH(make_art_task(bad), doctest::Contains("multiple of 4"));
}

TEST_CASE("art: the whole objective passes a gradient check in the image (double, 8x8)") {
  std::string root = art_data_root();
  if (root.empty()) return;
  ArtOptions noisy = tiny_art(root, 8);
  noisy.init_noise = 0.1;  // away from the content term's minimum (the default theta_0 is the crop itself)
  auto task = make_art_task(noisy);
  ProblemInstance pi = problem_instance(*task, ProblemId::train(0, 1));
  Problem& p = *pi.problem;
  auto m = p.final_metrics(pi.theta0);
  REQUIRE(m.size() == 3);
  CHECK(m[0].second > 0);  // every term contributes to the gradient checked
  CHECK(m[1].second > 0);
  CHECK(m[2].second > 0);
  GradcheckOptions go;
  go.max_elementwise = 0;  // random directions: 192 coordinates x 2 VGG passes would also do
  go.directions = 12;
  go.eps = 1e-5;
  CHECK_GRADS([&](Tape& tape, const std::vector<Var>& x) { return p.loss(tape, x[0], pi.batch_rng); }, {pi.theta0}, go);
  // and every coordinate, the oracle's gradient against central differences of loss_value
  LossAndGrad o = p.loss_and_grad(pi.theta0, pi.batch_rng);
  double worst = 0;
  for (size_t i = 0; i < pi.theta0.size(); i += 7) {
    Tensor up = pi.theta0, dn = pi.theta0;
    up[i] += 1e-5, dn[i] -= 1e-5;
    double num = (p.loss_value(up, pi.batch_rng) - p.loss_value(dn, pi.batch_rng)) / 2e-5;
    worst = std::max(worst, std::fabs(num - o.grad[i]) / std::max(1e-3, std::fabs(num)));
  }
  MESSAGE("oracle gradient vs differences, worst relative error " << worst);
  CHECK(worst < 1e-5);
}

// The chosen objective (tasks/optimizees/art.cpp: weights and start measured for styled
// results): theta_0 is the content crop itself, so the content term starts at 0 and the style
// term is what there is to lower; it dominates f there at both resolutions of Figures 8-9.
// A grey start is 0.5 plus the noise; the noise is seeded (the same problem, the same theta_0).
TEST_CASE("art: theta_0 is the crop itself, and the style term dominates f there (64x64 starry night, 128x128 the scream)") {
  std::string root = art_data_root();
  if (root.empty()) return;
  for (auto [size, style] : std::vector<std::pair<int, std::string>>{{64, "vangogh_starry_night"}, {128, "munch_the_scream"}}) {
    ArtOptions o = tiny_art(root, size);
    o.style = style;
    auto task = make_art_task(o);
    for (Split s : {Split::train, Split::test})
      for (int i = 0; i < 3; i++) {
        ProblemInstance pi = problem_instance(*task, ProblemId{s, (uint64_t)i, 1});
        ArtProblemImages im = art_problem_images(*pi.problem);
        for (size_t j = 0; j < pi.theta0.size(); j++) REQUIRE(pi.theta0[j] == real(im.content.pixels[j]));
        auto m = pi.problem->final_metrics(pi.theta0);
        REQUIRE(m.size() == 3);
        double c = m[0].second, st = m[1].second, tv = m[2].second;
        MESSAGE(size << " " << style << " " << std::string(s == Split::train ? "train" : "test") << " " << i
                     << ": content " << c << " style " << st << " tv " << tv << " (" << im.photo << ")");
        CHECK(c == 0);
        CHECK(st > 10 * tv);
        CHECK(pi.problem->loss_value(pi.theta0, pi.batch_rng) == doctest::Approx(c + st + tv).epsilon(1e-6));
      }
  }
  ArtOptions o = tiny_art(root, 16);
  CHECK(make_art_task(o)->describe().find("theta_0 = content; photos") != std::string::npos);  // no noise term
  o.start_from_noise = true;
  o.init_noise = 0.2;
  auto grey = make_art_task(o);
  CHECK(grey->describe().find("theta_0 = 0.5 + N(0,0.2^2); photos") != std::string::npos);
  ProblemInstance a = problem_instance(*grey, ProblemId::test(1)), b = problem_instance(*grey, ProblemId::test(1));
  double mean = 0, var = 0;
  for (size_t j = 0; j < a.theta0.size(); j++) {
    REQUIRE(a.theta0[j] == b.theta0[j]);
    mean += a.theta0[j];
  }
  mean /= a.theta0.size();
  for (size_t j = 0; j < a.theta0.size(); j++) var += (a.theta0[j] - mean) * (a.theta0[j] - mean);
  CHECK(mean == doctest::Approx(0.5).epsilon(0.05));
  CHECK(std::sqrt(var / a.theta0.size()) == doctest::Approx(0.2).epsilon(0.1));
}

// The zoo's Neural Art optimizer was meta-trained partly at 2 threads: the objective at the
// trained size (64x64, where the Gram products run in fixed row blocks) must not depend on it.
TEST_CASE("art: f and gradient are the same bits with 1 and 2 threads (64x64)") {
  std::string root = art_data_root();
  if (root.empty()) return;
  ThreadsRestored restore;
  auto task = make_art_task(tiny_art(root, 64));
  ProblemInstance a = problem_instance(*task, ProblemId::train(1, 0));
  Tensor theta = a.theta0;
  for (size_t i = 0; i < theta.size(); i++) theta[i] += (real)(0.05 * std::sin(7.0 * i));  // off the content crop
  LossAndGrad out[3];
  for (int th = 1; th <= 2; th++) {
    set_num_threads(th);
    Rng batch(9);
    out[th] = a.problem->loss_and_grad(theta, batch);
  }
  CHECK(std::memcmp(&out[1].f, &out[2].f, sizeof(real)) == 0);
  CHECK(same_bits(out[1].grad, out[2].grad));
  double norm = 0;
  for (size_t i = 0; i < out[1].grad.size(); i++) norm += std::fabs(out[1].grad[i]);
  CHECK(norm > 0);
}

TEST_CASE("art: a few meta-training epochs at 8x8 lower the validation meta-loss") {
  std::string root = art_data_root();
  if (root.empty()) return;
  auto task = make_art_task(tiny_art(root, 8));
  NetConfig c = paper_net_config("art");
  c.hidden = 8;
  LearnedOptimizer opt({c}, 3);
  MetaConfig mc;
  mc.steps = 16;
  mc.unroll = 8;
  mc.epochs = 4;
  mc.problems_per_epoch = 4;
  mc.meta_lr = 0.01;
  mc.val_problems = 3;
  MetaResult r = meta_train(opt, *task, mc);
  MESSAGE("validation meta-loss: untrained " << r.untrained_val << ", best " << r.best_val << " (epoch " << r.best_epoch << ")");
  CHECK(r.best_epoch >= 0);
  CHECK(r.best_val < 0.9 * r.untrained_val);
}
