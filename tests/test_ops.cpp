// test_ops.cpp: gradient checks of every elementwise, reduction, shape, matmul and loss op,
// on random shapes, and matmul against the naive triple loop for every transpose pair (also
// when a large product is split into row blocks on the pool).
#include <cstring>

#include "autodiff/blas.h"
#include "autodiff/parallel.h"
#include "helpers.h"

using namespace l2l;
using namespace l2l::test;

using Fn = GradcheckFn;

TEST_CASE("binary ops with broadcasting pass gradcheck") {
  struct Pair { Shape a, b; };
  std::vector<Pair> pairs = {{{3, 4}, {3, 4}}, {{3, 4}, {4}},    {{3, 4}, {1, 4}}, {{3, 4}, {3, 1}},
                             {{3, 4}, {1}},    {{1}, {2, 3}},    {{4}, {3, 4}},    {{2, 1, 3}, {4, 1}},
                             {random_shape(3, 11), random_shape(3, 11)}};
  std::vector<std::pair<const char*, Fn>> ops = {
      {"add", [](Tape&, const std::vector<Var>& v) { return v[0] + v[1]; }},
      {"sub", [](Tape&, const std::vector<Var>& v) { return v[0] - v[1]; }},
      {"mul", [](Tape&, const std::vector<Var>& v) { return v[0] * v[1]; }},
      {"div", [](Tape&, const std::vector<Var>& v) { return v[0] / v[1]; }},
  };
  uint64_t seed = 1;
  for (auto& [name, f] : ops)
    for (auto& p : pairs) {
      CAPTURE(name);
      CAPTURE(shape_str(p.a));
      CAPTURE(shape_str(p.b));
      Tensor b = std::string(name) == "div" ? randu(p.b, seed++, 0.5, 2.0) : randn(p.b, seed++);
      CHECK_GRADS(f, {randn(p.a, seed++), b});
    }
}

TEST_CASE("broadcast forward values and shape errors") {
  Tape t;
  Var a = t.constant(Tensor({2, 3}, {1, 2, 3, 4, 5, 6}));
  Var row = t.constant(Tensor({3}, {10, 20, 30}));
  Var col = t.constant(Tensor({2, 1}, {100, 200}));
  Tensor r = (a + row).value(), c = (a * col).value();
  CHECK(r[0] == 11);
  CHECK(r[5] == 36);
  CHECK(c[2] == 300);
  CHECK(c[3] == 800);
  Var bad = t.constant(Tensor::zeros({4}));
  CHECK_THROWS_WITH_AS(a + bad, doctest::Contains("[add] shapes (2,3) and (4)"), std::invalid_argument);
}

TEST_CASE("unary ops pass gradcheck away from kinks") {
  Shape s = random_shape(2, 5, 6);
  std::vector<std::tuple<const char*, Fn, Tensor>> cases = {
      {"neg", [](Tape&, const std::vector<Var>& v) { return -v[0]; }, randn(s, 1)},
      {"scale", [](Tape&, const std::vector<Var>& v) { return 2.5 * v[0]; }, randn(s, 2)},
      {"add_scalar", [](Tape&, const std::vector<Var>& v) { return 1.5 - v[0]; }, randn(s, 3)},
      {"exp", [](Tape&, const std::vector<Var>& v) { return exp(v[0]); }, randn(s, 4)},
      {"log", [](Tape&, const std::vector<Var>& v) { return log(v[0]); }, randu(s, 5, 0.3, 3)},
      {"sqrt", [](Tape&, const std::vector<Var>& v) { return sqrt(v[0]); }, randu(s, 6, 0.3, 3)},
      {"square", [](Tape&, const std::vector<Var>& v) { return square(v[0]); }, randn(s, 7)},
      {"pow", [](Tape&, const std::vector<Var>& v) { return pow(v[0], 2.7); }, randu(s, 8, 0.3, 3)},
      {"pow_int", [](Tape&, const std::vector<Var>& v) { return pow(v[0], 3); }, randn(s, 8)},
      {"abs", [](Tape&, const std::vector<Var>& v) { return abs(v[0]); }, randn_away_from_zero(s, 9)},
      {"clamp", [](Tape&, const std::vector<Var>& v) { return clamp(v[0], -0.5, 0.5); },
       randn_away_from_zero(s, 10)},  // entries near +-0.5 are moved below
      {"sigmoid", [](Tape&, const std::vector<Var>& v) { return sigmoid(v[0]); }, randn(s, 11, 2)},
      {"tanh", [](Tape&, const std::vector<Var>& v) { return tanh(v[0]); }, randn(s, 12, 2)},
      {"relu", [](Tape&, const std::vector<Var>& v) { return relu(v[0]); }, randn_away_from_zero(s, 13)},
  };
  for (auto& [name, f, x] : cases) {
    CAPTURE(name);
    if (std::string(name) == "clamp")
      for (size_t i = 0; i < x.size(); i++)
        if (std::fabs(std::fabs(x[i]) - 0.5) < 0.05) x[i] *= 1.3;
    CHECK_GRADS(f, {x});
  }
}

TEST_CASE("kinks use the documented one-sided choice") {
  Tape t;
  Var x = t.leaf(Tensor({3}, {-1, 0, 1}), true);
  t.backward(sum(relu(x) + abs(x)));
  Tensor g = x.grad();
  CHECK(g[0] == -1);  // relu' = 0, abs' = -1
  CHECK(g[1] == 0);   // both 0 at 0
  CHECK(g[2] == 2);
}

TEST_CASE("reductions pass gradcheck on every axis") {
  for (int nd = 1; nd <= 4; nd++) {
    Shape s = random_shape(nd, 100 + nd, 4);
    CAPTURE(shape_str(s));
    CHECK_GRADS([](Tape&, const std::vector<Var>& v) { return sum(v[0]); }, {randn(s, 1)});
    CHECK_GRADS([](Tape&, const std::vector<Var>& v) { return mean(v[0]); }, {randn(s, 2)});
    for (int axis = 0; axis < nd; axis++) {
      CAPTURE(axis);
      for (bool keep : {false, true}) {
        CHECK_GRADS([axis, keep](Tape&, const std::vector<Var>& v) { return sum(v[0], axis, keep); }, {randn(s, 3)});
        CHECK_GRADS([axis, keep](Tape&, const std::vector<Var>& v) { return mean(v[0], axis, keep); }, {randn(s, 4)});
      }
    }
  }
  Tape t;
  Var m = t.constant(Tensor({2, 3}, {1, 2, 3, 4, 5, 6}));
  CHECK(sum(m, 0).value().shape() == Shape{3});
  CHECK(sum(m, 1, true).value().shape() == Shape{2, 1});
  CHECK(mean(m, 1).value()[1] == 5);
  CHECK(sum(m, -1).value()[0] == 6);
}

TEST_CASE("shape ops pass gradcheck") {
  CHECK_GRADS([](Tape&, const std::vector<Var>& v) { return reshape(v[0], {6, 2}); }, {randn({3, 4}, 1)});
  CHECK_GRADS([](Tape&, const std::vector<Var>& v) { return transpose(v[0]); }, {randn({3, 5}, 2)});
  for (int axis = 0; axis < 3; axis++) {
    CAPTURE(axis);
    Shape s = {4, 5, 3};
    CHECK_GRADS([axis](Tape&, const std::vector<Var>& v) { return slice(v[0], axis, 1, 3); }, {randn(s, 3)});
    Shape s2 = s;
    s2[axis] = 2;
    CHECK_GRADS([axis](Tape&, const std::vector<Var>& v) { return concat({v[0], v[1], v[0]}, axis); },
                {randn(s, 4), randn(s2, 5)});
  }
  Tape t;
  Var a = t.constant(Tensor({2, 2}, {1, 2, 3, 4}));
  Var b = t.constant(Tensor({2, 1}, {9, 8}));
  Tensor c = concat({a, b}, 1).value();
  CHECK(c.shape() == Shape{2, 3});
  CHECK(c[2] == 9);
  CHECK(c[5] == 8);
  CHECK(slice(a, 1, 1, 2).value()[1] == 4);
  CHECK_THROWS_WITH(concat({a, t.constant(Tensor::zeros({3, 1}))}, 1), doctest::Contains("[concat]"));
  CHECK_THROWS_WITH(slice(a, 0, 1, 5), doctest::Contains("[slice]"));
  CHECK_THROWS_WITH(reshape(a, {3}), doctest::Contains("[reshape]"));
}

TEST_CASE("matmul matches the naive triple loop for every transpose pair, and passes gradcheck") {
  int M = 5, K = 7, N = 3;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      CAPTURE(ta);
      CAPTURE(tb);
      Tensor A = randn(ta ? Shape{K, M} : Shape{M, K}, 1), B = randn(tb ? Shape{N, K} : Shape{K, N}, 2);
      Tape t;
      Tensor C = matmul(t.constant(A), t.constant(B), ta, tb).value();
      Tensor ref({M, N});
      gemm_naive(ta, tb, M, N, K, 1, A.data(), A.dim(1), B.data(), B.dim(1), 0, ref.data(), N);
      REQUIRE(C.shape() == Shape{M, N});
      for (size_t i = 0; i < C.size(); i++) CHECK(C[i] == doctest::Approx(ref[i]).epsilon(1e-12));
      CHECK_GRADS([ta, tb](Tape&, const std::vector<Var>& v) { return matmul(v[0], v[1], ta, tb); }, {A, B});
    }
  Tape t;
  CHECK_THROWS_WITH(matmul(t.constant(Tensor::zeros({3, 4})), t.constant(Tensor::zeros({5, 2}))),
                    doctest::Contains("[matmul] a (3,4) and b (5,2): inner sizes 4 and 5 differ"));
}

// Products of 8e6 multiply-adds or more run as blocks of 16 rows on the pool (ops_matmul.cpp):
// here M = 40 (blocks 16, 16, 8) and the backward products' K = 700 rows; also A^T A-style use
// of one Var on both sides (the Gram matrix of the Neural Art task).
TEST_CASE("matmul split into row blocks: values and gradients match the naive loops; 1 and 2 threads agree") {
  const int threads = num_threads();
  int M = 40, K = 700, N = 300;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      CAPTURE(ta);
      CAPTURE(tb);
      Tensor A = randn(ta ? Shape{K, M} : Shape{M, K}, 3), B = randn(tb ? Shape{N, K} : Shape{K, N}, 4);
      Tensor R = randn({M, N}, 5);
      Tensor got[3][3];
      for (int th = 1; th <= 2; th++) {
        set_num_threads(th);
        Tape t;
        Var a = t.leaf(A, true), b = t.leaf(B, true);
        Var c = matmul(a, b, ta, tb);
        std::vector<Tensor> g = t.grad(sum(mul(c, t.constant(R))), {a, b});
        got[th][0] = c.value(), got[th][1] = g[0], got[th][2] = g[1];
      }
      Tensor C({M, N}), dA = Tensor::zeros(A.shape()), dB = Tensor::zeros(B.shape());
      gemm_naive(ta, tb, M, N, K, 1, A.data(), A.dim(1), B.data(), B.dim(1), 0, C.data(), N);
      for (int m = 0; m < M; m++)  // dL/dop(A)[m, k] = sum_n R[m, n] op(B)[k, n], and so on
        for (int k = 0; k < K; k++)
          for (int n = 0; n < N; n++) {
            const real r = R[(size_t)m * N + n];
            const size_t ai = ta ? (size_t)k * M + m : (size_t)m * K + k, bi = tb ? (size_t)n * K + k : (size_t)k * N + n;
            dA[ai] += r * B[bi];
            dB[bi] += r * A[ai];
          }
      const Tensor* want[3] = {&C, &dA, &dB};
      for (int i = 0; i < 3; i++) {
        CAPTURE(i);
        for (size_t j = 0; j < want[i]->size(); j++) CHECK(got[1][i][j] == doctest::Approx((*want[i])[j]).epsilon(1e-10));
        CHECK(std::memcmp(got[1][i].data(), got[2][i].data(), got[1][i].size() * sizeof(real)) == 0);
      }
    }
  set_num_threads(2);
  Tensor F = randn({40, 1000}, 6);
  Tape t;
  Var f = t.leaf(F, true);
  Tensor G = matmul(f, f, false, true).value();  // F F^T (40 x 40), 1.6e6 MACs: one call
  Var big = t.leaf(randn({48, 4000}, 7), true);
  Tensor dF = t.grad(sum(matmul(big, big, false, true)), {big})[0];  // 9.2e6 MACs: split
  Tensor rowsum = Tensor::zeros({4000});  // d sum(F F^T) / dF[i, k] = 2 sum_j F[j, k]
  for (int j = 0; j < 48; j++)
    for (int k = 0; k < 4000; k++) rowsum[k] += big.value()[(size_t)j * 4000 + k];
  for (int i = 0; i < 48; i++)
    for (int k = 0; k < 4000; k += 97) CHECK(dF[(size_t)i * 4000 + k] == doctest::Approx(2 * rowsum[k]).epsilon(1e-10));
  double g00 = 0;
  for (int k = 0; k < 1000; k++) g00 += (double)F[k] * F[k];
  CHECK(G[0] == doctest::Approx(g00).epsilon(1e-12));
  set_num_threads(threads);
}

TEST_CASE("softmax cross-entropy: value, stability and gradcheck") {
  std::vector<int> labels = {2, 0, 1, 2};
  CHECK_GRADS([labels](Tape&, const std::vector<Var>& v) { return softmax_cross_entropy(v[0], labels); },
              {randn({4, 3}, 1, 3)});
  Tape t;
  // Uniform logits: loss = log C. Huge logits must not overflow.
  CHECK(softmax_cross_entropy(t.constant(Tensor::zeros({2, 4})), {0, 3}).item() == doctest::Approx(std::log(4.0)));
  Var big = t.constant(Tensor({1, 2}, {1000, 0}));
  CHECK(softmax_cross_entropy(big, {0}).item() == doctest::Approx(0).epsilon(1e-12));
  CHECK(softmax_cross_entropy(big, {1}).item() == doctest::Approx(1000));
  CHECK_THROWS_WITH(softmax_cross_entropy(big, {2}), doctest::Contains("label 2"));
}

TEST_CASE("a composite expression passes gradcheck") {
  // A small MLP-like expression mixing many ops.
  CHECK_GRADS(
      [](Tape&, const std::vector<Var>& v) {
        Var h = tanh(matmul(v[0], v[1]) + v[2]);
        return mean(square(sigmoid(h) - 0.5), 1);
      },
      {randn({4, 3}, 1), randn({3, 5}, 2), randn({5}, 3)});
}

TEST_CASE("softplus: value, no overflow, gradcheck") {
  Tape t;
  Tensor v = softplus(t.constant(Tensor({3}, {0, 1000, -1000}))).value();
  CHECK(v[0] == doctest::Approx(std::log(2.0)));
  CHECK(v[1] == doctest::Approx(1000));
  CHECK(v[2] == doctest::Approx(0).epsilon(1e-12));
  CHECK_GRADS([](Tape&, const std::vector<Var>& x) { return softplus(x[0]); }, {randn({4, 5}, 31, 3)});
}
