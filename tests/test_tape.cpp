// test_tape.cpp: the semantics of the tape itself: accumulation on shared paths, gradient
// stopping (detach, NoGradGuard, grad()), long chains without recursion, poisoned buffers.
#include <cmath>
#include <limits>

#include "helpers.h"

using namespace l2l;
using namespace l2l::test;

TEST_CASE("a diamond graph accumulates both paths") {
  // y = (2a) * (a + 1): dy/da = 2(a + 1) + 2a = 4a + 2
  Tape t;
  Var a = t.leaf(Tensor({1}, {3}), true);
  Var y = (2.0 * a) * (a + 1.0);
  t.backward(y);
  CHECK(y.item() == 24);
  CHECK(a.grad()[0] == 14);
}

TEST_CASE("the same Var used twice in one op gets both contributions") {
  Tape t;
  Var x = t.leaf(Tensor({2}, {3, -2}), true);
  t.backward(sum(x * x));  // d/dx sum x^2 = 2x
  CHECK(x.grad()[0] == 6);
  CHECK(x.grad()[1] == -4);
}

TEST_CASE("backward twice accumulates; zero_grad forgets") {
  Tape t;
  Var x = t.leaf(Tensor({1}, {5}), true);
  Var y = square(x);
  t.backward(y);
  t.backward(y);
  CHECK(x.grad()[0] == 20);
  t.zero_grad();
  CHECK(x.grad()[0] == 0);
}

TEST_CASE("Params bound to a tape accumulate into Param::grad across tapes") {
  Param p("w", Tensor({2}, {1, 2}));
  for (int k = 0; k < 3; k++) {
    Tape t;
    Var w = t.param(p);
    t.backward(sum(w * w));
  }
  CHECK(p.grad[0] == 6);   // 3 x 2w
  CHECK(p.grad[1] == 12);
  p.zero_grad();
  CHECK(p.grad[0] == 0);
}

TEST_CASE("detach blocks the flow of gradient") {
  Tape t;
  Var x = t.leaf(Tensor({1}, {3}), true);
  Var d = detach(x);
  CHECK(d.item() == 3);
  Var y = x * d;  // dy/dx = d (the detached copy is a constant)
  t.backward(y);
  CHECK(x.grad()[0] == 3);
  CHECK(t.node(d.id).parents.empty());
  CHECK_FALSE(t.node(d.id).requires_grad);
}

TEST_CASE("nothing is recorded under NoGradGuard, and the mode is restored") {
  Tape t;
  Var x = t.leaf(Tensor({2}, {1, 2}), true);
  CHECK(grad_enabled());
  {
    NoGradGuard off;
    CHECK_FALSE(grad_enabled());
    Var y = exp(x) * x;
    CHECK(y.value()[0] == doctest::Approx(std::exp(1.0)));
    for (int i = 1; i < t.size(); i++) {
      CHECK(t.node(i).parents.empty());
      CHECK_FALSE(t.node(i).backward);
      CHECK_FALSE(t.node(i).requires_grad);
    }
    {
      NoGradGuard nested;
    }
    CHECK_FALSE(grad_enabled());  // the nested guard restored "off", not "on"
  }
  CHECK(grad_enabled());
  Var z = sum(x);
  CHECK(t.node(z.id).requires_grad);
}

TEST_CASE("grad() returns dy/dwrt and leaves every accumulated gradient untouched") {
  Tape t;
  Param p("phi", Tensor({1}, {2}));
  Var phi = t.param(p);
  Var x = t.leaf(Tensor({1}, {3}), true);
  t.backward(phi * x);  // accumulates: x.grad = 2, phi.grad = 3
  Var theta = phi * x + 1.0;  // theta depends on phi
  Var f = square(theta);      // df/dtheta = 2 theta = 14
  std::vector<Tensor> g = t.grad(f, {theta});
  CHECK(g[0][0] == 14);
  CHECK(x.grad()[0] == 2);
  CHECK(p.grad[0] == 3);
  CHECK(theta.grad()[0] == 0);  // never received anything through backward()
  // wrt that f does not depend on: zeros, not an error
  Var unrelated = t.leaf(Tensor({2}, {1, 1}), true);
  CHECK(t.grad(f, {unrelated})[0].shape() == Shape{2});
}

TEST_CASE("grad() visits only the nodes recorded after its earliest input") {
  Tape t;
  Var x = t.leaf(Tensor({1}, {0.5}), true);
  Var h = x;
  for (int i = 0; i < 1000; i++) h = tanh(h);  // a long history before theta
  Var theta = h * 2.0;
  Var f = square(theta) + theta;  // two nodes after theta: square and add
  std::vector<Tensor> g = t.grad(f, {theta});
  CHECK(g[0][0] == doctest::Approx(2 * theta.item() + 1));
  CHECK(t.last_sweep_visits() == 2);  // square and add; the 1001 earlier nodes are never touched
  t.backward(f);
  CHECK(t.last_sweep_visits() == 1003);  // a full backward runs all 1000 tanh, theta, square, add
}

TEST_CASE("a 100,000-node chain runs backward without recursion") {
  Tape t;
  Var x = t.leaf(Tensor({1}, {1}), true);
  Var h = x;
  const int n = 100000;
  for (int i = 0; i < n; i++) h = h * 1.00001;
  t.backward(h);
  CHECK(x.grad()[0] == doctest::Approx(std::pow(1.00001, n)).epsilon(1e-9));
}

TEST_CASE("gradients computed from poisoned (+inf) uninitialized buffers are all finite") {
  // Every Tensor allocated without initialization starts as +inf here; an op that forgets to
  // write an entry of its output, or a backward that reads an unwritten temporary, leaks inf.
  set_poison_uninit(true);
  auto r = gradcheck(
      [](Tape&, const std::vector<Var>& v) {
        Var h = sigmoid(matmul(v[0], v[1], false, true) + v[2]);
        Var c = concat({h, slice(h, 1, 0, 2)}, 1);
        return softmax_cross_entropy(c, {0, 4, 1});
      },
      {randn({3, 4}, 1), randn({5, 4}, 2), randn({5}, 3)});
  set_poison_uninit(false);
  INFO(r.report);
  CHECK(r.ok);
  // And the poison is real: an uninitialized tensor really holds +inf while it is on.
  set_poison_uninit(true);
  Tensor u({3});
  set_poison_uninit(false);
  CHECK(std::isinf(u[1]));
}

TEST_CASE("misuse gives clear errors") {
  Tape t, other;
  Var x = t.leaf(Tensor({2}, {1, 2}), true);
  CHECK_THROWS_WITH(t.backward(x), doctest::Contains("one-element output"));
  Var y = other.leaf(Tensor({2}, {1, 2}), true);
  CHECK_THROWS_WITH(x + y, doctest::Contains("does not belong to this tape"));
  t.clear();
  CHECK_THROWS_WITH(x.value(), doctest::Contains("cleared"));
}

TEST_CASE("to_dot lists every node and edge") {
  Tape t;
  Var a = t.leaf(Tensor({1}, {2}), true);
  Var b = a * a + a;
  std::string dot = t.to_dot();
  CHECK(dot.find("digraph") != std::string::npos);
  CHECK(dot.find("n0 -> n1") != std::string::npos);
  CHECK(dot.find("mul") != std::string::npos);
  CHECK(dot.find("n" + std::to_string(b.id)) != std::string::npos);
}
