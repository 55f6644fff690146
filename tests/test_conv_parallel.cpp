// test_conv_parallel.cpp: the parallel conv2d and batch_norm (autodiff/ops_conv.cpp,
// ops_pool_bn.cpp). conv2d cuts the batch into blocks of images (several images per product
// for small outputs) and sums per-block partial weight and bias gradients in block order;
// batch_norm runs one block per channel. Checked here: on shapes with several blocks and a
// partial last one, the blocked conv equals image-by-image convs and passes gradcheck; and the
// whole CIFAR-10 optimizee (tasks/cifar.cpp) gives the same bits, f and every gradient entry,
// with 1 and with 2 threads.
#include <cmath>
#include <cstring>
#include <vector>

#include "autodiff/parallel.h"
#include "helpers.h"
#include "tasks/data.h"
#include "tasks/task.h"

using namespace l2l;
using namespace l2l::test;

namespace {

struct ThreadsRestored {
  int threads = num_threads();
  ~ThreadsRestored() { set_num_threads(threads); }
};

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(real)) == 0;
}

// Images n0 .. n0 + count - 1 of x (N,C,H,W).
Tensor images(const Tensor& x, int n0, int count) {
  Tensor out({count, x.dim(1), x.dim(2), x.dim(3)});
  size_t per = x.size() / x.dim(0);
  std::copy(x.data() + n0 * per, x.data() + (n0 + count) * per, out.data());
  return out;
}

// n random 3x32x32 images with labels 0..9.
std::shared_ptr<const Dataset> synthetic(int n, uint64_t seed) {
  auto d = std::make_shared<Dataset>();
  d->n = n, d->channels = 3, d->height = 32, d->width = 32;
  Tensor px = randu({n * 3 * 32 * 32}, seed, 0, 1);
  d->pixels.assign(px.data(), px.data() + px.size());
  for (int i = 0; i < n; i++) d->labels.push_back(i % 10);
  return d;
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
  o.split_data = synthetic(40, 1);
  o.test_data = synthetic(10, 2);
  auto task = make_cifar_task(o);
  auto p = task->sample(0);
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
