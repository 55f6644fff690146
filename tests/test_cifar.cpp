// test_cifar.cpp: the CIFAR-10 optimizee (tasks/optimizees/cifar.cpp). On synthetic images (so it runs
// without the data): the layout of theta and its two groups, a gradient check of the whole
// network in theta (batch norm included), and that each learned net only ever sees its own
// group. On the real test split when present: a label subset has 1,000 images per class, no
// foreign label, and is relabelled 0..k-1.
#include <algorithm>

#include "fixtures.h"
#include "helpers.h"
#include "tasks/data/data.h"
#include "tasks/learned_optimizer.h"
#include "tasks/meta_train.h"
#include "tasks/optimizees/optimizees.h"

using namespace l2l;
using namespace l2l::test;

namespace {

std::unique_ptr<Task> synthetic_task(int batch, int classes) {
  CifarOptions o;
  o.batch = batch;
  if (classes < 10)
    for (int k = 0; k < classes; k++) o.labels.push_back(k);
  o.train_data = synthetic_images(16, classes, 1);
  o.test_data = synthetic_images(12, classes, 2);
  return make_cifar_task(o);
}

}  // namespace

TEST_CASE("cifar: theta is the kernels (group 0) then everything else (group 1)") {
  auto task = synthetic_task(4, 10);
  auto p = task->sample(ProblemId::train(0, 0));
  std::vector<TensorSpec> s = p->specs();
  std::vector<GroupRange> g = group_ranges(s);
  REQUIRE(g.size() == 2);
  CHECK(g[0].size == 16 * 3 * 25 + 2 * 16 * 16 * 25);              // 14,000 kernel weights
  CHECK(g[1].size == 3 * (16 + 16) + 256 * 32 + 32 + 32 + 32 * 10 + 10);  // biases, offsets, fc
  CHECK(p->dim() == 22682);
  CHECK(task->groups() == 2);
  for (const TensorSpec& t : s) CHECK((t.group == 0) == (t.shape.size() == 4));  // kernels are the 4-d tensors
  CHECK(std::none_of(s.begin(), s.end(), [](const TensorSpec& t) { return t.name.find("gamma") != std::string::npos; }));
  auto five = synthetic_task(4, 5)->sample(ProblemId::train(0, 0));
  CHECK(five->specs().back().shape == Shape{5});  // a k-way output
}

TEST_CASE("classifier tasks: training and validation problems draw minibatches from the training images, test problems from the test images") {
  auto task = synthetic_task(4, 10);  // training and test images of other seeds
  auto f_of = [&](const ProblemId& id) {
    Rng init(3), batch(5);  // the same theta and the same draws for every problem
    auto p = task->sample(id);
    Tensor theta = p->init(init);
    return p->loss_value(theta, batch);
  };
  CHECK(f_of(ProblemId::train(0, 1)) == f_of(ProblemId::val(4)));  // same images, same draw
  CHECK(f_of(ProblemId::train(0, 1)) != f_of(ProblemId::test(0)));
}

TEST_CASE("cifar: the whole optimizee passes a gradient check in theta (double, 4 images)") {
  auto task = synthetic_task(4, 10);
  auto p = task->sample(ProblemId::train(0, 0));
  Rng ir(3);
  Tensor theta = p->init(ir);
  for (size_t i = 0; i < theta.size(); i++) theta[i] += (real)(0.05 * std::sin(7.0 * i));  // nonzero biases and offsets
  GradcheckOptions opt;
  opt.directions = 6;
  CHECK_GRADS(
      [&](Tape& tape, const std::vector<Var>& v) {
        Rng batch(9);  // the same minibatch at every evaluation
        return p->loss(tape, v[0], batch);
      },
      {theta}, opt);
}

TEST_CASE("cifar: each of the two learned nets only ever sees its own group's coordinates") {
  auto task = synthetic_task(4, 10);
  auto p = task->sample(ProblemId::train(0, 0));
  std::vector<TensorSpec> specs = p->specs();
  std::vector<GroupRange> g = group_ranges(specs);
  NetConfig c;
  c.layers = 1;
  c.hidden = 4;
  c.preprocess = "logsign";
  LearnedOptimizer both({c, c}, 5), kernels_only({c}, 5);  // net 0 of `both` == the net of `kernels_only`
  both.begin(specs);
  kernels_only.begin({{"k", {(int)g[0].size}, 0}});
  Tensor theta = Tensor::zeros({(int)p->dim()}), k = Tensor::zeros({(int)g[0].size});
  for (int step = 0; step < 3; step++) {
    Tensor grad = randn({(int)p->dim()}, 40 + step), gk({(int)g[0].size});
    std::copy(grad.data(), grad.data() + g[0].size, gk.data());
    for (size_t i = g[1].offset; i < grad.size(); i++) grad[i] *= 1000;  // only group 1 changes
    std::vector<Tensor*> pt = {&theta}, pk = {&k};
    both.step(pt, {grad});
    kernels_only.step(pk, {gk});
    bool same = true;
    for (size_t i = 0; i < g[0].size; i++) same = same && theta[i] == k[i];
    CHECK(same);
  }
}

TEST_CASE("cifar: option errors") {
  CifarOptions o;
  o.train_data = o.test_data = synthetic_images(4, 10, 1);
  o.labels = {3};
  CHECK_THROWS_WITH(make_cifar_task(o), doctest::Contains("at least 2 labels"));
  o.labels = {};
  o.batch = 0;
  CHECK_THROWS_WITH(make_cifar_task(o), doctest::Contains("batch must be >= 1"));
}

TEST_CASE("cifar: a label subset of the real test split (if present): 1,000 per class, relabelled") {
  std::string dir;
  try {
    dir = find_data_dir("", "cifar10");
  } catch (const std::exception& e) {
    MESSAGE("CIFAR-10 not found, skipping: " << e.what());
    return;
  }
  Dataset d = filter_labels(load_cifar10(dir, "test"), {7, 2});
  CHECK(d.n == 2000);
  CHECK(std::count(d.labels.begin(), d.labels.end(), 0) == 1000);  // 7 (horse) became 0
  CHECK(std::count(d.labels.begin(), d.labels.end(), 1) == 1000);  // 2 (bird) became 1
  CHECK(std::all_of(d.labels.begin(), d.labels.end(), [](int l) { return l == 0 || l == 1; }));
}

TEST_CASE("cifar: a smoke meta-training of the two nets lowers the validation meta-objective") {
  auto task = synthetic_task(8, 10);
  NetConfig c;
  c.layers = 2;
  c.hidden = 8;
  c.preprocess = "logsign";
  c.out_scale = 0.1;
  LearnedOptimizer opt({c, c}, 3);
  MetaConfig mc = short_meta_config();
  mc.epochs = 4;
  mc.meta_lr = 0.01;
  mc.val_problems = 2;
  MetaResult r = meta_train(opt, *task, mc);
  MESSAGE("validation mean f: untrained " << r.untrained_val << ", best " << r.best_val << " at epoch " << r.best_epoch);
  REQUIRE(r.best_epoch >= 0);  // some epoch beat the untrained phi (epoch -1)
  CHECK(r.best_val < r.untrained_val);
}
