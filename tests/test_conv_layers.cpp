// test_conv_layers.cpp: the Conv2d, MaxPool2d and BatchNorm modules of nn/conv.h: parameter
// names and shapes, gradient checks of their Params, and a small CNN block end to end.
#include "helpers.h"
#include "nn/conv.h"
#include "nn/gradcheck_params.h"

using namespace l2l;
using namespace l2l::test;

TEST_CASE("Conv2d: names, shapes, SAME padding, and gradcheck of its params") {
  Rng rng(3);
  Conv2d conv(3, 4, 3, rng, 1, -1, "c1");
  auto ps = conv.params();
  REQUIRE(ps.size() == 2);
  CHECK(ps[0]->name == "c1.w");
  CHECK(ps[0]->value.shape() == Shape{4, 3, 3, 3});
  CHECK(ps[1]->value.shape() == Shape{4});
  CHECK(conv.param_count() == 4 * 3 * 9 + 4);
  Tensor x = randn({2, 3, 5, 6}, 21);
  Tape t;
  CHECK(conv.forward(t, t.constant(x)).shape() == Shape{2, 4, 5, 6});  // pad = K/2 keeps the size
  auto r = gradcheck_params(ps, [&](Tape& tape, ParamSource& src) { return conv.forward(tape.constant(x), src); });
  INFO(r.report);
  CHECK(r.ok);
  Conv2d nobias(3, 2, 1, rng, 2, 0, "c2", false);
  CHECK(nobias.params().size() == 1);
  CHECK(nobias.forward(t, t.constant(x)).shape() == Shape{2, 2, 3, 3});
}

TEST_CASE("BatchNorm: gamma ones, beta zeros, gradcheck in both layouts") {
  BatchNorm bn(4, "bn1");
  CHECK(bn.gamma.value[2] == 1);
  CHECK(bn.beta.value[2] == 0);
  for (Shape s : {Shape{5, 4}, Shape{3, 4, 2, 3}}) {
    CAPTURE(shape_str(s));
    Tensor x = randn(s, 22);
    bn.gamma.value = randu({4}, 23, 0.5, 1.5);  // away from the init so gamma matters
    auto r = gradcheck_params(bn.params(), [&](Tape& tape, ParamSource& src) { return tanh(bn.forward(tape.constant(x), src)); });
    INFO(r.report);
    CHECK(r.ok);
  }
}

TEST_CASE("a conv -> batch norm -> relu -> max-pool -> linear block passes gradcheck in all params") {
  Rng rng(5);
  Conv2d conv(2, 3, 3, rng, 1, 1, "conv");
  BatchNorm bn(3, "bn");
  MaxPool2d pool(2);
  Param fc("fc.w", randn({3 * 2 * 2, 4}, 24, 0.5));
  Tensor x = randn({4, 2, 4, 4}, 25);
  std::vector<int> labels = {0, 3, 1, 2};
  std::vector<Param*> ps = conv.params();
  for (Param* p : bn.params()) ps.push_back(p);
  ps.push_back(&fc);
  auto net = [&](Tape& tape, ParamSource& src) {
    Var h = pool.forward(tape, relu(bn.forward(conv.forward(tape.constant(x), src), src)));
    return softmax_cross_entropy(matmul(reshape(h, {4, 12}), src.get(fc)), labels);
  };
  // relu and max-pool kinks: a random network is almost surely away from them at eps = 1e-6.
  auto r = gradcheck_params(ps, net);
  INFO(r.report);
  CHECK(r.ok);
}
