// test_conv.cpp: conv2d against a direct 7-loop convolution, pooling on hand-written examples
// (and 2x2 max pooling on tie-heavy planes), batch norm's normalization (also around a large
// mean), batch_norm_relu against relu(batch_norm), gradient checks of all these ops (also with
// poisoned buffers), and their shape-error messages.
#include <algorithm>
#include <numeric>
#include <random>

#include "helpers.h"

using namespace l2l;
using namespace l2l::test;

namespace {

// The definition of conv2d, written as plainly as possible: the reference for im2col + GEMM.
Tensor conv2d_direct(const Tensor& x, const Tensor& w, const Tensor* b, int stride, int pad) {
  int N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), O = w.dim(0), K = w.dim(2);
  int Ho = (H + 2 * pad - K) / stride + 1, Wo = (W + 2 * pad - K) / stride + 1;
  Tensor y({N, O, Ho, Wo});
  for (int n = 0; n < N; n++)
    for (int o = 0; o < O; o++)
      for (int i = 0; i < Ho; i++)
        for (int j = 0; j < Wo; j++) {
          double s = b ? (*b)[o] : 0;
          for (int c = 0; c < C; c++)
            for (int ki = 0; ki < K; ki++)
              for (int kj = 0; kj < K; kj++) {
                int h = i * stride - pad + ki, v = j * stride - pad + kj;
                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                s += w[((o * C + c) * K + ki) * K + kj] * x[((n * C + c) * H + h) * W + v];
              }
          y[((n * O + o) * Ho + i) * Wo + j] = (real)s;
        }
  return y;
}

struct ConvCase {
  int N, C, H, W, O, K, stride, pad;
  bool bias;
};
std::string str(const ConvCase& k) {
  return "x " + shape_str({k.N, k.C, k.H, k.W}) + " w " + shape_str({k.O, k.C, k.K, k.K}) + " stride " +
         std::to_string(k.stride) + " pad " + std::to_string(k.pad) + (k.bias ? " with bias" : " no bias");
}

// Gradcheck function for conv2d; the bias, when present, is the third input.
GradcheckFn conv_fn(int stride, int pad, bool bias) {
  return [=](Tape&, const std::vector<Var>& v) { return conv2d(v[0], v[1], bias ? v[2] : Var{}, stride, pad); };
}

// Distinct values (a shuffled 0..n-1, spaced 0.05 apart) so no pooling window has a tie
// within reach of the finite-difference step.
Tensor distinct(const Shape& s, uint64_t seed) {
  Tensor t(s);
  std::vector<int> perm(t.size());
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), std::mt19937_64(seed));
  for (size_t i = 0; i < t.size(); i++) t[i] = (real)(0.05 * perm[i] - 1);
  return t;
}

// Poisons every uninitialized tensor while alive (and restores the default even on failure).
struct PoisonScope {
  PoisonScope() { set_poison_uninit(true); }
  ~PoisonScope() { set_poison_uninit(false); }
};

}  // namespace

TEST_CASE("conv2d matches the direct 7-loop convolution") {
  std::vector<ConvCase> cases = {
      {2, 3, 7, 5, 4, 3, 1, 1, true},   {2, 2, 6, 9, 3, 1, 1, 0, false}, {1, 3, 8, 8, 2, 5, 1, 2, true},
      {2, 2, 9, 7, 3, 3, 2, 0, true},   {3, 1, 10, 6, 2, 5, 2, 2, false}, {1, 2, 5, 5, 3, 3, 2, 1, true},
      {2, 4, 6, 11, 5, 3, 1, 0, false}, {1, 2, 4, 4, 2, 1, 2, 1, true},   {1, 1, 3, 3, 1, 5, 1, 1, true},
  };
  uint64_t seed = 1;
  for (const ConvCase& k : cases) {
    std::string config = str(k);
    CAPTURE(config);
    Tensor x = randn({k.N, k.C, k.H, k.W}, seed++), w = randn({k.O, k.C, k.K, k.K}, seed++), b = randn({k.O}, seed++);
    Tape t;
    Var y = conv2d(t.constant(x), t.constant(w), k.bias ? t.constant(b) : Var{}, k.stride, k.pad);
    Tensor ref = conv2d_direct(x, w, k.bias ? &b : nullptr, k.stride, k.pad);
    REQUIRE(y.shape() == ref.shape());
    for (size_t i = 0; i < ref.size(); i++) CHECK(y.value()[i] == doctest::Approx(ref[i]).epsilon(1e-12));
  }
}

TEST_CASE("conv2d passes gradcheck w.r.t. x, w and b") {
  std::vector<ConvCase> cases = {
      {2, 2, 5, 4, 3, 3, 1, 1, true}, {1, 3, 6, 5, 2, 3, 2, 1, true}, {2, 2, 5, 5, 2, 1, 1, 0, false},
      {1, 2, 7, 6, 2, 5, 2, 2, true}, {2, 3, 8, 7, 4, 3, 1, 0, true},  // x has 336 entries: random directions
  };
  uint64_t seed = 100;
  for (const ConvCase& k : cases) {
    std::string config = str(k);
    CAPTURE(config);
    std::vector<Tensor> in = {randn({k.N, k.C, k.H, k.W}, seed++), randn({k.O, k.C, k.K, k.K}, seed++)};
    if (k.bias) in.push_back(randn({k.O}, seed++));
    CHECK_GRADS(conv_fn(k.stride, k.pad, k.bias), in);
  }
}

TEST_CASE("pooling forward on a hand-written image") {
  // One 4x5 plane: x[i][j] = 5 i + j + 1, except a bump of 50 at (2, 1).
  Tensor x({1, 1, 4, 5});
  for (int i = 0; i < 20; i++) x[i] = (real)(i + 1);
  x[2 * 5 + 1] = 50;
  Tape t;
  Var xv = t.constant(x);

  // k = 2: windows at columns 0-1 and 2-3; column 4 is dropped (no window reaches it).
  Tensor mx = max_pool2d(xv, 2).value(), av = avg_pool2d(xv, 2).value();
  REQUIRE(mx.shape() == Shape{1, 1, 2, 2});
  REQUIRE(av.shape() == Shape{1, 1, 2, 2});
  CHECK(mx[0] == 7);
  CHECK(mx[1] == 9);
  CHECK(mx[2] == 50);
  CHECK(mx[3] == 19);
  CHECK(av[0] == doctest::Approx((1 + 2 + 6 + 7) / 4.0));
  CHECK(av[1] == doctest::Approx((3 + 4 + 8 + 9) / 4.0));
  CHECK(av[2] == doctest::Approx((11 + 50 + 16 + 17) / 4.0));
  CHECK(av[3] == doctest::Approx((13 + 14 + 18 + 19) / 4.0));

  // k = 3, stride 1: overlapping windows, (4 - 3) + 1 = 2 by (5 - 3) + 1 = 3.
  Tensor m3 = max_pool2d(xv, 3, 1).value();
  REQUIRE(m3.shape() == Shape{1, 1, 2, 3});
  CHECK(m3[0] == 50);
  CHECK(m3[2] == 15);
  CHECK(m3[3] == 50);
  CHECK(m3[5] == 20);

  // k = 2, stride 3: (4 - 2) / 3 + 1 = 1 row (row 3 dropped), windows at columns 0 and 3.
  Tensor s3 = max_pool2d(xv, 2, 3).value();
  REQUIRE(s3.shape() == Shape{1, 1, 1, 2});
  CHECK(s3[0] == 7);
  CHECK(s3[1] == 10);
}

TEST_CASE("max_pool2d sends the gradient to the first maximum on ties") {
  Tape t;
  Var x = t.leaf(Tensor({1, 1, 2, 2}, {3, 7, 7, 1}), true);
  t.backward(sum(max_pool2d(x, 2)));
  Tensor g = x.grad();
  CHECK(g[0] == 0);
  CHECK(g[1] == 1);  // first 7 in row-major order
  CHECK(g[2] == 0);
  CHECK(g[3] == 0);
}

// 2x2 at stride 2 takes an 8-windows-at-a-time path (ops_pool_bn.cpp): against the plain
// definition on planes 19 and 37 wide (whole groups of 8, a tail, a dropped last column, a
// dropped last row), values in {0, 1, 2} so most windows hold ties: the first maximum in
// row-major order must win, values and gradients.
TEST_CASE("max_pool2d 2x2 matches the plain definition, ties included") {
  for (int W : {19, 37}) {
    CAPTURE(W);
    const int H = 7, Ho = 3, Wo = W / 2;
    Tensor x({2, 3, H, W}), dy = randn({2, 3, Ho, Wo}, 7);
    std::mt19937 gen(W);
    for (size_t i = 0; i < x.size(); i++) x[i] = (real)(gen() % 3);
    Tape t;
    Var xv = t.leaf(x, true);
    Var y = max_pool2d(xv, 2);
    Tensor dx = t.grad(sum(mul(y, t.constant(dy))), {xv})[0];
    Tensor want_dx = Tensor::zeros(x.shape());
    for (int p = 0; p < 6; p++)
      for (int i = 0; i < Ho; i++)
        for (int j = 0; j < Wo; j++) {
          size_t best = ((size_t)p * H + 2 * i) * W + 2 * j;
          for (int a = 0; a < 2; a++)
            for (int b = 0; b < 2; b++) {
              const size_t at = ((size_t)p * H + 2 * i + a) * W + 2 * j + b;
              if (x[at] > x[best]) best = at;
            }
          const size_t o = ((size_t)p * Ho + i) * Wo + j;
          CHECK(y.value()[o] == x[best]);
          want_dx[best] += dy[o];
        }
    CHECK(same_bits(dx, want_dx));
  }
}

TEST_CASE("pooling passes gradcheck") {
  Tensor x = distinct({2, 3, 6, 5}, 3);  // 180 entries, all distinct
  struct Pool { int k, stride; };
  for (Pool p : {Pool{2, 0}, Pool{3, 2}, Pool{3, 1}, Pool{2, 1}}) {
    CAPTURE(p.k);
    CAPTURE(p.stride);
    CHECK_GRADS([p](Tape&, const std::vector<Var>& v) { return max_pool2d(v[0], p.k, p.stride); }, {x});
    CHECK_GRADS([p](Tape&, const std::vector<Var>& v) { return avg_pool2d(v[0], p.k, p.stride); }, {randn(x.shape(), 4)});
  }
}

TEST_CASE("batch_norm normalizes each channel to mean 0 and variance 1") {
  // eps is tiny here so that var / (var + eps) is 1 to well below the 1e-6 tolerance.
  auto check_stats = [](const Tensor& y, int N, int C, int S, double want_mean, double want_var) {
    for (int c = 0; c < C; c++) {
      double s = 0, sq = 0;
      for (int n = 0; n < N; n++)
        for (int k = 0; k < S; k++) s += y[((size_t)n * C + c) * S + k];
      double mu = s / (N * S);
      for (int n = 0; n < N; n++)
        for (int k = 0; k < S; k++) sq += (y[((size_t)n * C + c) * S + k] - mu) * (y[((size_t)n * C + c) * S + k] - mu);
      CAPTURE(c);
      CHECK(std::fabs(mu - want_mean) < 1e-6);
      CHECK(std::fabs(sq / (N * S) - want_var) < 1e-6);
    }
  };
  Tape t;
  Tensor x4 = randn({4, 3, 5, 6}, 1, 3);
  for (size_t i = 0; i < x4.size(); i++) x4[i] += 2;  // a nonzero mean to remove
  Var y4 = batch_norm(t.constant(x4), t.constant(Tensor::full({3}, 1)), t.constant(Tensor::zeros({3})), 1e-12);
  check_stats(y4.value(), 4, 3, 30, 0, 1);

  Tensor x2 = randn({16, 5}, 2, 4);
  Var y2 = batch_norm(t.constant(x2), t.constant(Tensor::full({5}, 1)), t.constant(Tensor::zeros({5})), 1e-12);
  check_stats(y2.value(), 16, 5, 1, 0, 1);

  // gamma and beta then set the scale and the shift.
  Var y3 = batch_norm(t.constant(x2), t.constant(Tensor::full({5}, 2)), t.constant(Tensor::full({5}, -1)), 1e-12);
  check_stats(y3.value(), 16, 5, 1, -1, 4);

  // A mean 1e4 times the spread, and a first value (the moments' shift) far from it.
  Tensor x5 = randn({6, 2, 4, 5}, 3, 1);
  for (size_t i = 0; i < x5.size(); i++) x5[i] += 1e4;
  x5[0] += 8, x5[20] -= 8;  // the first value of channels 0 and 1
  Var y5 = batch_norm(t.constant(x5), t.constant(Tensor::full({2}, 1)), t.constant(Tensor::zeros({2})), 1e-12);
  check_stats(y5.value(), 6, 2, 20, 0, 1);
}

// The fused op against the two ops it replaces: values and the gradients of x, gamma and beta,
// bit for bit, in both layouts (S = 15: vectors of 8 and a tail; S = 1).
TEST_CASE("batch_norm_relu is relu(batch_norm) to the bit, values and gradients") {
  for (Shape shape : {Shape{4, 3, 3, 5}, Shape{9, 6}}) {
    CAPTURE(shape_str(shape));
    const int C = shape[1];
    Tensor x = randn(shape, 11), gamma = randn({C}, 12), beta = randn({C}, 13), r = randn(shape, 14);
    std::vector<Tensor> got[2];
    for (int fused = 0; fused < 2; fused++) {
      Tape t;
      Var xv = t.leaf(x, true), gv = t.leaf(gamma, true), bv = t.leaf(beta, true);
      Var y = fused ? batch_norm_relu(xv, gv, bv) : relu(batch_norm(xv, gv, bv));
      got[fused] = t.grad(sum(mul(y, t.constant(r))), {xv, gv, bv});
      got[fused].push_back(y.value());
    }
    for (int i = 0; i < 4; i++) CHECK(same_bits(got[0][i], got[1][i]));
  }
  auto bnr = [](Tape&, const std::vector<Var>& v) { return batch_norm_relu(v[0], v[1], v[2]); };
  CHECK_GRADS(bnr, {randn_away_from_zero({3, 2, 3, 4}, 15), randn({2}, 16), randn({2}, 17)});
}

// The fused op against the three ops it replaces, on planes with a dropped last row or column
// (k = 2 on 7x9, k = 3 on 7x6) and on the CIFAR net's 2x2 path (8x16, the 8-window loop): values
// and the gradients of x, gamma and beta to 1e-12 (its sums run over the pooled outputs, in
// another order), and a gradient check.
TEST_CASE("batch_norm_relu_max_pool matches max_pool2d(relu(batch_norm))") {
  struct Case {
    Shape shape;
    int k;
  };
  for (Case k : {Case{{3, 4, 7, 9}, 2}, Case{{2, 3, 7, 6}, 3}, Case{{5, 2, 8, 16}, 2}}) {
    CAPTURE(shape_str(k.shape));
    const int C = k.shape[1];
    Tensor x = randn(k.shape, 21), gamma = randn({C}, 22), beta = randn({C}, 23);
    Tensor r = randn({k.shape[0], C, k.shape[2] / k.k, k.shape[3] / k.k}, 24);
    std::vector<Tensor> got[2];
    for (int fused = 0; fused < 2; fused++) {
      Tape t;
      Var xv = t.leaf(x, true), gv = t.leaf(gamma, true), bv = t.leaf(beta, true);
      Var y = fused ? batch_norm_relu_max_pool(xv, gv, bv, k.k) : max_pool2d(relu(batch_norm(xv, gv, bv)), k.k);
      got[fused] = t.grad(sum(mul(y, t.constant(r))), {xv, gv, bv});
      got[fused].push_back(y.value());
    }
    for (int i = 0; i < 4; i++) {
      CAPTURE(i);
      REQUIRE(got[0][i].shape() == got[1][i].shape());
      for (size_t e = 0; e < got[0][i].size(); e++) CHECK(got[1][i][e] == doctest::Approx(got[0][i][e]).epsilon(1e-12));
    }
  }
  auto bnp = [](Tape&, const std::vector<Var>& v) { return batch_norm_relu_max_pool(v[0], v[1], v[2], 2); };
  CHECK_GRADS(bnp, {distinct({2, 2, 4, 6}, 25), randn({2}, 26), randn({2}, 27)});
}

TEST_CASE("batch_norm passes gradcheck in both layouts") {
  auto bn = [](Tape&, const std::vector<Var>& v) { return batch_norm(v[0], v[1], v[2]); };
  CHECK_GRADS(bn, {randn({3, 2, 3, 4}, 1, 2), randn({2}, 2), randn({2}, 3)});
  CHECK_GRADS(bn, {randn({5, 4}, 4, 2), randn({4}, 5), randn({4}, 6)});
  CHECK_GRADS(bn, {randn({4, 3, 5, 5}, 17), randn({3}, 18), randn({3}, 19)});  // 300 entries: random directions
}

TEST_CASE("a conv -> batch_norm -> tanh -> avg_pool block passes gradcheck") {
  CHECK_GRADS(
      [](Tape&, const std::vector<Var>& v) {
        Var h = batch_norm(conv2d(v[0], v[1], v[2], 1, 1), v[3], v[4]);
        return avg_pool2d(tanh(h), 2);
      },
      {randn({2, 2, 6, 6}, 1), randn({3, 2, 3, 3}, 2), randn({3}, 3), randn({3}, 4), randn({3}, 5)});
}

TEST_CASE("no output entry or temporary is left unwritten (poisoned buffers)") {
  PoisonScope poison;
  CHECK_GRADS(conv_fn(2, 1, true), {randn({2, 2, 5, 6}, 1), randn({3, 2, 3, 3}, 2), randn({3}, 3)});
  CHECK_GRADS(conv_fn(1, 2, false), {randn({1, 2, 4, 3}, 4), randn({2, 2, 5, 5}, 5)});
  CHECK_GRADS([](Tape&, const std::vector<Var>& v) { return max_pool2d(v[0], 3, 2); }, {distinct({2, 2, 7, 6}, 6)});
  CHECK_GRADS([](Tape&, const std::vector<Var>& v) { return avg_pool2d(v[0], 2); }, {randn({2, 2, 5, 4}, 14)});
  auto bn = [](Tape&, const std::vector<Var>& v) { return batch_norm(v[0], v[1], v[2]); };
  CHECK_GRADS(bn, {randn({3, 2, 3, 4}, 8), randn({2}, 9), randn({2}, 10)});
  CHECK_GRADS(bn, {randn({5, 4}, 11), randn({4}, 12), randn({4}, 13)});
}

TEST_CASE("conv, pooling and batch_norm shape errors name the op and the shapes") {
  Tape t;
  auto z = [&](const Shape& s) { return t.constant(Tensor::zeros(s)); };
  using doctest::Contains;
  CHECK_THROWS_WITH_AS(conv2d(z({2, 3, 8, 8}), z({4, 2, 3, 3}), Var{}),
                       Contains("[conv2d] x (2,3,8,8) and w (4,2,3,3): input channels 3 and 2 differ"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(conv2d(z({3, 8, 8}), z({4, 3, 3, 3}), Var{}), Contains("[conv2d] x (3,8,8) and w (4,3,3,3)"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(conv2d(z({1, 3, 8, 8}), z({4, 3, 3, 2}), Var{}), Contains("kernel must be square"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(conv2d(z({1, 3, 8, 8}), z({4, 3, 3, 3}), z({3})), Contains("bias (3) must be (4)"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(conv2d(z({1, 1, 2, 2}), z({1, 1, 5, 5}), Var{}, 1, 1),
                       Contains("[conv2d] x (1,1,2,2) and w (1,1,5,5): kernel larger than the padded image"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(conv2d(z({1, 1, 4, 4}), z({1, 1, 3, 3}), Var{}, 0), Contains("stride >= 1"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(max_pool2d(z({1, 2, 3, 3}), 4), Contains("[max_pool2d] x (1,2,3,3): window 4x4 does not fit"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(avg_pool2d(z({2, 3}), 2), Contains("[avg_pool2d] x (2,3) must be (N,C,Hh,Ww)"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(batch_norm(z({4, 3, 2, 2}), z({4}), z({3})),
                       Contains("[batch_norm] x (4,3,2,2) needs gamma and beta of shape (3), got gamma (4) and beta (3)"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(batch_norm(z({4, 3, 2}), z({3}), z({3})), Contains("[batch_norm] x (4,3,2) must be"),
                       std::invalid_argument);
}
