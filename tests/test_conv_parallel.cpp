// test_conv_parallel.cpp: the parallel conv2d and batch_norm (autodiff/ops_conv.cpp,
// ops_pool_bn.cpp). conv2d cuts the batch into blocks of images (several images per product
// for small outputs) and sums per-block partial weight and bias gradients in block order;
// batch_norm runs one block per channel. Checked here: on shapes with several blocks and a
// partial last one, the blocked conv equals image-by-image convs and passes gradcheck; and the
// whole CIFAR-10 optimizee (tasks/optimizees/cifar.cpp) gives the same bits, f and every gradient entry,
// with 1 and with 2 threads. Also: the stride-1 direct products (values, dx, dw, db) against
// plain loops on shapes that leave partial register tiles, cross the 8-image chunks of
// backward, and take each of the dx paths (pad <= K - 1 direct, pad > K - 1 through col), and
// batches of one image, cut into blocks of rows and of channels.
#include <cmath>
#include <cstring>
#include <vector>

#include "autodiff/parallel.h"
#include "fixtures.h"
#include "helpers.h"
#include "tasks/data/data.h"
#include "tasks/optimizees/optimizees.h"

using namespace l2l;
using namespace l2l::test;

namespace {

// Images n0 .. n0 + count - 1 of x (N,C,H,W).
Tensor images(const Tensor& x, int n0, int count) {
  Tensor out({count, x.dim(1), x.dim(2), x.dim(3)});
  size_t per = x.size() / x.dim(0);
  std::copy(x.data() + n0 * per, x.data() + (n0 + count) * per, out.data());
  return out;
}

}  // namespace

// 8x8 outputs: 4 images per block, so N = 6 is a full block and a partial one.
TEST_CASE("conv2d over several blocks of images equals image-by-image convs") {
  ThreadsRestored restore;
  set_num_threads(2);
  Tensor x = randn({6, 2, 8, 8}, 1), w = randn({3, 2, 3, 3}, 2), b = randn({3}, 3);
  Tape t;
  Tensor y = conv2d(t.constant(x), t.constant(w), t.constant(b), 1, 1).value();
  for (int n = 0; n < 6; n++) {
    Tensor yn = conv2d(t.constant(images(x, n, 1)), t.constant(w), t.constant(b), 1, 1).value();
    Tensor ref = images(y, n, 1);
    for (size_t i = 0; i < yn.size(); i++) CHECK(ref[i] == doctest::Approx(yn[i]).epsilon(1e-12));
  }
}

TEST_CASE("conv2d passes gradcheck over several blocks (partial last block, stride 1 and 2)") {
  ThreadsRestored restore;
  set_num_threads(2);
  GradcheckOptions opt;
  opt.directions = 8;
  // (6,2,8,8) pad 1: 8x8 outputs, blocks of 4 + 2 images. (11,1,9,9) stride 2 pad 2: 5x5
  // outputs, blocks of 10 + 1 images.
  CHECK_GRADS([](Tape&, const std::vector<Var>& v) { return conv2d(v[0], v[1], v[2], 1, 1); },
              {randn({6, 2, 8, 8}, 11), randn({3, 2, 3, 3}, 12), randn({3}, 13)}, opt);
  CHECK_GRADS([](Tape&, const std::vector<Var>& v) { return conv2d(v[0], v[1], v[2], 2, 2); },
              {randn({11, 1, 9, 9}, 14), randn({2, 1, 5, 5}, 15), randn({2}, 16)}, opt);
}

namespace {

struct ConvRef {
  Tensor y, dx, dw, db;
};

// y, and the gradients of sum(y * r), by the defining sums (stride 1).
ConvRef conv_reference(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& r, int pad) {
  const int N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), O = w.dim(0), K = w.dim(2);
  const int Ho = H + 2 * pad - K + 1, Wo = W + 2 * pad - K + 1;
  ConvRef ref{Tensor({N, O, Ho, Wo}), Tensor::zeros(x.shape()), Tensor::zeros(w.shape()), Tensor::zeros(b.shape())};
  for (int n = 0; n < N; n++)
    for (int o = 0; o < O; o++)
      for (int i = 0; i < Ho; i++)
        for (int j = 0; j < Wo; j++) {
          const size_t yi = (((size_t)n * O + o) * Ho + i) * Wo + j;
          double acc = b[o];
          ref.db[o] += r[yi];
          for (int c = 0; c < C; c++)
            for (int ki = 0; ki < K; ki++)
              for (int kj = 0; kj < K; kj++) {
                const int h = i - pad + ki, v = j - pad + kj;
                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                const size_t xi = (((size_t)n * C + c) * H + h) * W + v, wi = (((size_t)o * C + c) * K + ki) * K + kj;
                acc += (double)w[wi] * x[xi];
                ref.dx[xi] += r[yi] * w[wi];
                ref.dw[wi] += r[yi] * x[xi];
              }
          ref.y[yi] = (real)acc;
        }
  return ref;
}

void check_close(const Tensor& got, const Tensor& want, const std::string& what) {
  CAPTURE(what);
  REQUIRE(got.shape() == want.shape());
  for (size_t i = 0; i < want.size(); i++) CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-10));
}

}  // namespace

TEST_CASE("conv2d stride 1 (direct products at any depth, im2col for dx when pad > K - 1): values, dx, dw, db match the defining sums; 1 and 2 threads agree") {
  ThreadsRestored restore;
  struct Case {
    int N, C, H, W, O, K, pad;
  };
  // 11 and 13 wide: partial pixel tiles; O = 7, 5: partial channel vectors; C K K = 45, 50, 400;
  // N = 10, 9: a partial 8-image chunk; pad 0, 1, 2 direct dx (with C > 4 in double: more than
  // half of a channel vector), pad 4 > K - 1 and C = 2, 3 through col;
  // C = 64: VGG-like depth on the direct paths, with O = 5 and O = 40 (several channel vectors).
  // N = 1: one image cut into blocks of its own (the Neural Art batch): 19 output rows in blocks
  // of 5 (a partial last one), 9 rows in blocks of 3 (C = 70), and, with pad > K - 1, dx through
  // col in channel groups of 8 with a partial last group (C = 12).
  std::vector<Case> cases = {{10, 5, 11, 11, 7, 3, 1}, {9, 2, 8, 13, 5, 5, 2}, {9, 16, 8, 8, 16, 5, 2},
                             {3, 3, 7, 9, 4, 3, 0}, {2, 2, 5, 6, 3, 3, 4}, {10, 64, 6, 7, 5, 3, 1},
                             {3, 64, 5, 6, 40, 3, 1}, {1, 3, 19, 21, 8, 3, 1}, {1, 70, 9, 10, 5, 3, 1},
                             {1, 70, 9, 7, 40, 3, 1}, {1, 12, 6, 7, 3, 3, 4}, {1, 2, 6, 5, 3, 3, 4}};
  uint64_t seed = 40;
  for (const Case& k : cases) {
    std::string config = "N" + std::to_string(k.N) + " C" + std::to_string(k.C) + " " + std::to_string(k.H) + "x" +
                         std::to_string(k.W) + " O" + std::to_string(k.O) + " K" + std::to_string(k.K) + " pad" +
                         std::to_string(k.pad);
    CAPTURE(config);
    Tensor x = randn({k.N, k.C, k.H, k.W}, seed++), w = randn({k.O, k.C, k.K, k.K}, seed++), b = randn({k.O}, seed++);
    const int Ho = k.H + 2 * k.pad - k.K + 1, Wo = k.W + 2 * k.pad - k.K + 1;
    Tensor r = randn({k.N, k.O, Ho, Wo}, seed++);
    ConvRef ref = conv_reference(x, w, b, r, k.pad);
    Tensor got[3][4];
    for (int th = 1; th <= 2; th++) {
      set_num_threads(th);
      Tape t;
      Var xv = t.leaf(x, true), wv = t.leaf(w, true), bv = t.leaf(b, true);
      Var y = conv2d(xv, wv, bv, 1, k.pad);
      std::vector<Tensor> g = t.grad(sum(mul(y, t.constant(r))), {xv, wv, bv});
      got[th][0] = y.value(), got[th][1] = g[0], got[th][2] = g[1], got[th][3] = g[2];
    }
    check_close(got[1][0], ref.y, "y");
    check_close(got[1][1], ref.dx, "dx");
    check_close(got[1][2], ref.dw, "dw");
    check_close(got[1][3], ref.db, "db");
    for (int i = 0; i < 4; i++) CHECK(same_bits(got[1][i], got[2][i]));
  }
}

// 5 x 16 = 80 planes: blocks of 64 + 16 planes; each image alone is one block.
TEST_CASE("max_pool2d over several blocks of planes equals image-by-image pooling, values and gradients") {
  ThreadsRestored restore;
  set_num_threads(2);
  Tensor x = randn({5, 16, 4, 6}, 21), wy = randn({5, 16, 2, 3}, 22);
  Tape t;
  Var xa = t.leaf(x, true);
  Var ya = max_pool2d(xa, 2);
  Tensor y = ya.value(), dx = t.grad(sum(mul(ya, t.constant(wy))), {xa})[0];
  for (int n = 0; n < 5; n++) {
    Tape tn;
    Var xn = tn.leaf(images(x, n, 1), true);
    Var yn = max_pool2d(xn, 2);
    Tensor dxn = tn.grad(sum(mul(yn, tn.constant(images(wy, n, 1)))), {xn})[0];
    CHECK(same_bits(yn.value(), images(y, n, 1)));
    CHECK(same_bits(dxn, images(dx, n, 1)));
  }
}

TEST_CASE("cifar optimizee: f and gradient are the same bits with 1 and 2 threads") {
  ThreadsRestored restore;
  CifarOptions o;
  o.batch = 24;  // conv layer 2 (8x8 outputs): 6 blocks of 4 images
  o.train_data = synthetic_images(40, 10, 1);
  o.test_data = synthetic_images(10, 10, 2);
  auto task = make_cifar_task(o);
  auto p = task->sample(ProblemId::train(0, 0));
  Rng ir(3);
  Tensor theta = p->init(ir);
  for (size_t i = 0; i < theta.size(); i++) theta[i] += (real)(0.05 * std::sin(7.0 * i));  // nonzero biases
  LossAndGrad out[3];
  for (int th = 1; th <= 2; th++) {
    set_num_threads(th);
    Rng batch(9);  // the same minibatch at both thread counts
    out[th] = p->loss_and_grad(theta, batch);
  }
  CHECK(std::memcmp(&out[1].f, &out[2].f, sizeof(real)) == 0);
  CHECK(same_bits(out[1].grad, out[2].grad));
  double norm = 0;
  for (size_t i = 0; i < out[1].grad.size(); i++) norm += std::fabs(out[1].grad[i]);
  CHECK(norm > 0);  // a gradient, not zeros
}
