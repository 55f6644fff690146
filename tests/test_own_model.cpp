// test_own_model.cpp: the code path of apps/own_model.cpp (the learned optimizer on a model the
// user defines): the committed optimizer zoo/mnist-default/phi.ckpt loads and lowers the loss of
// a tiny sigmoid MLP and of a tiny conv net within a few steps, through the same train_curve
// loop as Adam; the example's data and minibatches are seeded.
#include "apps/own_model.h"
#include "helpers.h"
#include "tasks/learned_optimizer.h"

using namespace l2l;

namespace {

const char* kZooPhi = "zoo/mnist-default/phi.ckpt";

// The mean of the first and of the last k entries of a curve.
double head_mean(const std::vector<double>& c, int k) {
  double s = 0;
  for (int i = 0; i < k; i++) s += c[i] / k;
  return s;
}
double tail_mean(const std::vector<double>& c, int k) {
  double s = 0;
  for (int i = (int)c.size() - k; i < (int)c.size(); i++) s += c[i] / k;
  return s;
}

}  // namespace

TEST_CASE("own model: the committed MNIST optimizer lowers a tiny MLP's loss in 20 steps") {
  std::unique_ptr<LearnedOptimizer> opt = load_learned_optimizer(kZooPhi);
  Rng data_rng(3);
  const ToyData data = clusters(256, 8, 4, 1.0, data_rng);
  auto make = [] { Rng r(5); return std::make_unique<MlpModel>(std::vector<int>{8, 6, 4}, r); };
  std::vector<double> c = train_curve(make, data, *opt, 20, 32, 9);
  REQUIRE(c.size() == 21);
  MESSAGE("learned: loss " << c.front() << " -> " << c.back());
  CHECK(tail_mean(c, 5) < 0.7 * head_mean(c, 1));
  // The same loop runs Adam (the example's baseline) from the same initial weights.
  Adam adam(0.1);
  std::vector<double> a = train_curve(make, data, adam, 20, 32, 9);
  CHECK(a.front() == c.front());
  CHECK(tail_mean(a, 5) < head_mean(a, 1));
}

TEST_CASE("own model: the committed MNIST optimizer lowers a tiny conv net's loss in 20 steps") {
  std::unique_ptr<LearnedOptimizer> opt = load_learned_optimizer(kZooPhi);
  Rng data_rng(4);
  const ToyData data = bars(128, 6, data_rng);
  auto make = [] { Rng r(6); return std::make_unique<ConvModel>(6, 2, 3, r); };
  std::vector<double> c = train_curve(make, data, *opt, 20, 32, 10);
  REQUIRE(c.size() == 21);
  MESSAGE("learned: loss " << c.front() << " -> " << c.back());
  CHECK(tail_mean(c, 5) < head_mean(c, 1));
}

TEST_CASE("own model: minibatches are drawn with replacement from the data, by the given rng") {
  Rng data_rng(1);
  const ToyData data = bars(10, 4, data_rng);
  Rng a(2), b(2);
  ToyData x = minibatch(data, 7, a), y = minibatch(data, 7, b);
  CHECK(x.labels == y.labels);
  CHECK(x.x.shape() == Shape{7, 1, 4, 4});
  for (int i = 0; i < 7; i++) CHECK((x.labels[i] >= 0 && x.labels[i] < 3));
}
