// test_nn.cpp: the nn layers. Gradient checks of Linear, MLP, both LSTM cells and the stacked
// LSTM (through the module, so the binding of Params to the tape is tested too); fused vs
// composed cell to rounding; poison and accumulation; names, counts, seeds; independence of
// the coordinates; the initializers and the vectorizable exp.
#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>

#include "autodiff/blas.h"
#include "helpers.h"
#include "nn/fastmath.h"
#include "nn/gradcheck_params.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/lstm.h"

using namespace l2l;
using namespace l2l::test;

namespace {

// Gradient check of a module's Params: nn/gradcheck_params.h hands them to the module as the
// checker's inputs (through a ParamSource), so they get every check an op input gets.
GradcheckResult param_gradcheck(Module& m, const ParamFn& f, const GradcheckOptions& opt = {}) {
  return gradcheck_params(m.params(), f, opt);
}

#define CHECK_PARAM_GRADS(module, f)            \
  do {                                          \
    auto r_ = param_gradcheck(module, f);       \
    INFO(r_.report);                            \
    CHECK(r_.ok);                               \
    CHECK(r_.checks > 0);                       \
  } while (0)

// Turns poisoning off again even if a check throws.
struct PoisonScope {
  PoisonScope() { set_poison_uninit(true); }
  ~PoisonScope() { set_poison_uninit(false); }
};

using CellFn = LSTMCellOutput (*)(Var, Var, Var, Var, Var);

// The cell as a gradcheck function of (x, h, c, W, b): output [h' | c'] (N, 2H).
GradcheckFn cell_fn(CellFn cell) {
  return [cell](Tape&, const std::vector<Var>& v) {
    LSTMCellOutput o = cell(v[0], v[1], v[2], v[3], v[4]);
    return concat({o.h, o.c}, 1);
  };
}

std::vector<Tensor> cell_inputs(int N, int I, int H, uint64_t seed) {
  return {randn({N, I}, seed), randn({N, H}, seed + 1, 0.7), randn({N, H}, seed + 2, 0.7),
          randn({I + H, 4 * H}, seed + 3, 0.5), randn({4 * H}, seed + 4, 0.5)};
}

}  // namespace

// ---- the vectorizable exp ---------------------------------------------------------------

TEST_CASE("exp_poly matches std::exp to about an ulp, in float and in double") {
  double worst_f = 0, worst_d = 0;
  for (double x = -80; x <= 80; x += 0.00731) {
    float xf = (float)x;
    double ref = std::exp((double)xf);
    worst_f = std::max(worst_f, std::fabs(exp_poly(xf) - ref) / ref);
  }
  for (double x = -700; x <= 700; x += 0.0173) worst_d = std::max(worst_d, std::fabs(exp_poly(x) - std::exp(x)) / std::exp(x));
  CAPTURE(worst_f);
  CAPTURE(worst_d);
  CHECK(worst_f < 2.5e-7);  // float epsilon is 1.19e-7
  CHECK(worst_d < 1e-15);   // double epsilon is 2.2e-16
  CHECK(exp_poly(0.0) == 1.0);
  // Out of range: clamped to finite normal numbers, so sigmoid saturates cleanly at 0 and 1.
  CHECK(std::isfinite(exp_poly(1e6)));
  CHECK(exp_poly(-1e6) > 0);
  CHECK(exp_poly(-1e6) < 1e-300);
  CHECK(std::isfinite(exp_poly(1e6f)));
  CHECK(exp_poly(-1e6f) > 0);
  CHECK(std::isnan(exp_poly(std::numeric_limits<double>::quiet_NaN())));
}

// ---- the small-product kernel of the cell -----------------------------------------------

// N covers every strip layout of the kernel at 256 and 512 bits (full strips of 16 or 80 floats,
// remainders of 8..72 columns, a half vector), M the row remainders of its tiles (4, 6, 8, 12).
TEST_CASE("gemm_small matches the naive triple loop (both op(A), row remainders, strides, fallback N)") {
  for (bool ta : {false, true}) {
    for (int N : {8, 16, 24, 40, 48, 80, 88, 160, 20}) {  // 20: not a multiple of 8, goes to OpenBLAS
      for (int K : {1, 22, 41, 300}) {
        for (int M : {1, 3, 4, 5, 6, 7, 9, 11, 12, 13, 23, 41, 64}) {
          CAPTURE(ta);
          CAPTURE(N);
          CAPTURE(K);
          CAPTURE(M);
          // padded rows: strides are honoured. op(A) (M,K) is stored (M, lda) or, transposed, (K, lda).
          const int lda = (ta ? M : K) + 3, ldb = N + 5, ldc = N + 2;
          Tensor A = randn({ta ? K : M, lda}, 90), B = randn({K, ldb}, 91);
          Tensor C = Tensor::full({M, ldc}, 7), R = Tensor::full({M, ldc}, 7);
          gemm_small(ta, M, N, K, A.data(), lda, B.data(), ldb, C.data(), ldc);
          gemm_naive(ta, false, M, N, K, 1, A.data(), lda, B.data(), ldb, 0, R.data(), ldc);
          CHECK(max_abs_diff(C, R) < 1e-11);  // padding columns untouched: both still hold 7
        }
      }
    }
  }
}

// The promise behind "results do not depend on the tiling": element (i, j) is the chain
// c = fma(op(A)[i][k], B[k][j], c) for k = 0..K-1 from c = 0, so it equals a scalar std::fma loop
// bit for bit, whatever tile, strip or vector width computed it.
TEST_CASE("gemm_small: every element is one FMA chain in k order (bit-equal to a scalar std::fma loop)") {
  for (bool ta : {false, true})
    for (int N : {8, 24, 40, 48, 80, 88})
      for (int K : {1, 23, 80})
        for (int M : {1, 5, 13, 41}) {
          CAPTURE(ta);
          CAPTURE(N);
          CAPTURE(K);
          CAPTURE(M);
          const int lda = ta ? M : K;
          Tensor A = randn({ta ? K : M, lda}, 92), B = randn({K, N}, 93), C({M, N});
          gemm_small(ta, M, N, K, A.data(), lda, B.data(), N, C.data(), N);
          bool same = true;
          for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
              real c = 0;
              for (int k = 0; k < K; k++) c = std::fma(ta ? A[k * lda + i] : A[i * lda + k], B[k * N + j], c);
              same = same && c == C[i * N + j];
            }
          CHECK(same);
        }
}

// ---- initializers -----------------------------------------------------------------------

TEST_CASE("initializers: ranges, moments and reproducibility") {
  Rng a(3), b(3);
  Tensor g = init::glorot_uniform({30, 50}, a);
  CHECK(same_bits(g, init::glorot_uniform({30, 50}, b)));
  double lim = std::sqrt(6.0 / 80), mx = 0;
  for (size_t i = 0; i < g.size(); i++) mx = std::max(mx, (double)std::fabs(g[i]));
  CHECK(mx <= lim);
  CHECK(mx > 0.9 * lim);

  Tensor t = init::truncated_normal({200, 100}, a, 0.3);
  double s2 = 0;
  mx = 0;
  for (size_t i = 0; i < t.size(); i++) {
    mx = std::max(mx, (double)std::fabs(t[i]));
    s2 += (double)t[i] * t[i];
  }
  CHECK(mx <= 0.6);
  // A normal truncated at 2 std has std 0.880 of the untruncated one.
  CHECK(std::sqrt(s2 / t.size()) == doctest::Approx(0.3 * 0.880).epsilon(0.02));

  Tensor n = init::normal({100, 100}, a, 2.0);
  s2 = 0;
  for (size_t i = 0; i < n.size(); i++) s2 += (double)n[i] * n[i];
  CHECK(std::sqrt(s2 / n.size()) == doctest::Approx(2.0).epsilon(0.03));

  Tensor u = init::uniform({1000}, a, -1, 3);
  CHECK(*std::min_element(u.data(), u.data() + u.size()) >= -1);
  CHECK(*std::max_element(u.data(), u.data() + u.size()) < 3);
  CHECK(init::zeros({2, 3})[5] == 0);

  auto [fi, fo] = init::fans({16, 3, 5, 5});
  CHECK(fi == 75);
  CHECK(fo == 400);
  CHECK_THROWS_AS(init::fans({7}), std::invalid_argument);
}

// ---- Linear and MLP ---------------------------------------------------------------------

TEST_CASE("Linear computes x W + b and passes gradcheck in x and in its params") {
  Rng rng(1);
  Linear lin(3, 4, rng, "fc");
  lin.b.value = randn({4}, 9);
  std::vector<Param*> ps = lin.params();
  REQUIRE(ps.size() == 2);
  CHECK(ps[0]->name == "fc.w");
  CHECK(ps[1]->name == "fc.b");
  CHECK(ps[0]->value.shape() == Shape{3, 4});
  CHECK(lin.param_count() == 16);

  Tensor x = randn({5, 3}, 2);
  Tape t;
  Tensor y = lin.forward(t, t.constant(x)).value();
  REQUIRE(y.shape() == Shape{5, 4});
  for (int n = 0; n < 5; n++)
    for (int o = 0; o < 4; o++) {
      double s = lin.b.value[o];
      for (int i = 0; i < 3; i++) s += x.at(n, i) * lin.W.value.at(i, o);
      CHECK(y.at(n, o) == doctest::Approx(s).epsilon(1e-12));
    }

  CHECK_GRADS([&](Tape& tape, const std::vector<Var>& v) { return lin.forward(tape, v[0]); }, {x});
  CHECK_PARAM_GRADS(lin, [&](Tape& tape, ParamSource& src) { return lin.forward(tape.constant(x), src); });
  CHECK_THROWS_WITH_AS(lin.forward(t, t.constant(randn({5, 2}, 3))), doctest::Contains("expected (N,3)"),
                       std::invalid_argument);
}

TEST_CASE("MLP with each activation passes gradcheck in x and in its params") {
  for (const char* act : {"sigmoid", "relu", "tanh"}) {
    CAPTURE(act);
    Rng rng(5);
    MLP mlp({3, 6, 5, 2}, act, rng);
    for (Param* p : mlp.params())
      if (p->value.ndim() == 1) p->value = randn(p->value.shape(), 17, 0.3);  // nonzero biases
    Tensor x = randn({4, 3}, 6);
    CHECK_GRADS([&](Tape& tape, const std::vector<Var>& v) { return mlp.forward(tape, v[0]); }, {x});
    CHECK_PARAM_GRADS(mlp, [&](Tape& tape, ParamSource& src) { return mlp.forward(tape.constant(x), src); });
  }
}

TEST_CASE("MLP over slices of a flat theta: same values as over its Params, gradcheck in theta") {
  Rng rng(7);
  MLP mlp({3, 5, 2}, "tanh", rng, "m");
  std::vector<Param*> ps = mlp.params();
  std::vector<TensorSpec> specs = specs_of(ps);
  REQUIRE(specs.size() == 4);
  CHECK(specs[0].name == "m.0.w");
  CHECK(specs[3].shape == Shape{2});
  Tensor theta({(int)mlp.param_count()});
  size_t off = 0;
  for (Param* p : ps)
    for (size_t i = 0; i < p->value.size(); i++) theta[off++] = p->value[i] + (real)0.1;  // nonzero biases
  off = 0;
  for (Param* p : ps)
    for (size_t i = 0; i < p->value.size(); i++) p->value[i] = theta[off++];
  Tensor x = randn({4, 3}, 8);
  Tape t;
  ThetaSlices slices(t.constant(theta), ps);
  Tensor a = mlp.forward(t.constant(x), slices).value(), b = mlp.forward(t, t.constant(x)).value();
  for (size_t i = 0; i < a.size(); i++) CHECK(a[i] == b[i]);
  CHECK_GRADS(
      [&](Tape& tape, const std::vector<Var>& v) {
        ThetaSlices src(v[0], ps);
        return mlp.forward(tape.constant(x), src);
      },
      {theta});
  CHECK_THROWS_WITH(ThetaSlices(t.constant(Tensor::zeros({5})), ps), doctest::Contains("theta has 5 coordinates"));
  Param stranger("other", Tensor::zeros({1}));
  CHECK_THROWS_WITH(slices.get(stranger), doctest::Contains("other is not a slice of theta"));
}

TEST_CASE("MLP structure: names, counts, no activation on the last layer, errors") {
  Rng rng(1);
  MLP mnist({784, 20, 10}, "sigmoid", rng);
  std::vector<Param*> ps = mnist.params();
  REQUIRE(ps.size() == 4);
  CHECK(ps[0]->name == "mlp.0.w");
  CHECK(ps[3]->name == "mlp.1.b");
  CHECK(mnist.param_count() == 784 * 20 + 20 + 20 * 10 + 10);  // 15,910: the paper's MNIST net

  // The output is linear: a big negative bias gives negative outputs (no sigmoid/relu on top).
  MLP m({2, 3, 1}, "relu", rng);
  m.layers[1].b.value[0] = -100;
  Tape t;
  CHECK(m.forward(t, t.constant(randn({4, 2}, 1))).value()[0] < -50);

  t.backward(sum(m.forward(t, t.constant(randn({4, 2}, 1)))));
  CHECK(m.layers[1].b.grad[0] == 4);
  m.zero_grad();
  CHECK(m.layers[1].b.grad[0] == 0);

  CHECK_THROWS_WITH_AS(MLP({2, 3}, "softplus", rng), doctest::Contains("unknown activation"), std::invalid_argument);
  CHECK_THROWS_AS(MLP({2}, "relu", rng), std::invalid_argument);
}

// ---- LSTM cells -------------------------------------------------------------------------

TEST_CASE("lstm cells (composed and fused) pass gradcheck in x, h, c, W and b") {
  struct Dims { int N, I, H; };
  // The last case has h and c of 256 entries: checked along random directions.
  for (Dims d : {Dims{5, 2, 3}, Dims{3, 1, 4}, Dims{64, 2, 4}}) {
    CAPTURE(d.N);
    CAPTURE(d.H);
    std::vector<Tensor> in = cell_inputs(d.N, d.I, d.H, 10 + d.N);
    CHECK_GRADS(cell_fn(lstm_cell_composed), in);
    CHECK_GRADS(cell_fn(lstm_cell_fused), in);
  }
}

TEST_CASE("lstm cell backward adds to gradients that other uses of its inputs left there") {
  // Two steps sharing x, W and b, with h and c also read by concat: each input's adjoint gets
  // several contributions within ONE backward sweep, so a cell that wrote (=) instead of
  // adding (+=) fails here. (Gradcheck's "second backward doubles" cannot see that: every
  // sweep starts from fresh adjoint buffers.)
  for (CellFn cell : {lstm_cell_composed, lstm_cell_fused}) {
    CHECK_GRADS(
        [cell](Tape&, const std::vector<Var>& v) {
          LSTMCellOutput s1 = cell(v[0], v[1], v[2], v[3], v[4]);
          LSTMCellOutput s2 = cell(v[0], s1.h, s1.c, v[3], v[4]);
          return concat({s2.h, s2.c, v[1], v[2]}, 1);
        },
        cell_inputs(4, 3, 3, 20));
  }
}

TEST_CASE("fused cell: h' alone, c' alone, and sweeps that reach only one of them") {
  // The fused cell is two nodes (c', then h', whose backward does the whole cell and writes the
  // total dc' into c''s adjoint): a
  // loss of h' only or of c' only must still give every gradient, the gradient of h' with
  // respect to the c' node must be right, and a sweep that reaches c' but not h' must not reuse
  // the dh' of an earlier sweep.
  std::vector<Tensor> in = cell_inputs(5, 2, 3, 60);
  auto only = [](bool want_h) {
    return [want_h](Tape&, const std::vector<Var>& v) {
      LSTMCellOutput s = lstm_cell_fused(v[0], v[1], v[2], v[3], v[4]);
      return want_h ? s.h : s.c;
    };
  };
  CHECK_GRADS(only(true), in);
  CHECK_GRADS(only(false), in);
  Tape t;
  std::vector<Var> v;
  for (const Tensor& x : in) v.push_back(t.leaf(x, true));
  LSTMCellOutput s = lstm_cell_fused(v[0], v[1], v[2], v[3], v[4]);
  Tape r;  // the reference: the composed cell, differentiated the same two ways
  std::vector<Var> w;
  for (const Tensor& x : in) w.push_back(r.leaf(x, true));
  LSTMCellOutput q = lstm_cell_composed(w[0], w[1], w[2], w[3], w[4]);
  // d sum(h') / d c' = o (1 - tanh^2 c'): a sweep that stops at c' (h''s backward runs, c''s
  // does not), followed by one that reaches c' only.
  CHECK(max_abs_diff(t.grad(sum(s.h), {s.c})[0], r.grad(sum(q.h), {q.c})[0]) < 1e-12);
  std::vector<Tensor> via_c = t.grad(sum(s.c), v), via_h = t.grad(sum(s.h), v);
  std::vector<Tensor> ref_h = r.grad(sum(q.h), w), ref_c = r.grad(sum(q.c), w);
  for (int k = 0; k < 5; k++) {
    CAPTURE(k);
    CHECK(max_abs_diff(via_h[k], ref_h[k]) < 1e-12);
    CHECK(max_abs_diff(via_c[k], ref_c[k]) < 1e-12);
  }
  // Tape::backward keeps the adjoint of c' as its .grad: the total, through h' too.
  t.backward(sum(s.h) + sum(s.c));
  r.backward(sum(q.h) + sum(q.c));
  CHECK(max_abs_diff(s.c.grad(), q.c.grad()) < 1e-12);
  CHECK(max_abs_diff(v[1].grad(), w[1].grad()) < 1e-12);
}

TEST_CASE("fused cell with no rows (an empty group of coordinates)") {
  Tape t;
  Var x = t.leaf(Tensor::zeros({0, 2}), true), h = t.leaf(Tensor::zeros({0, 4}), true);
  Var c = t.leaf(Tensor::zeros({0, 4}), true), W = t.leaf(randn({6, 16}, 1), true);
  Var b = t.leaf(Tensor::zeros({16}), true);
  LSTMCellOutput o = lstm_cell_fused(x, h, c, W, b);
  CHECK(o.h.value().shape() == Shape{0, 4});
  t.backward(sum(o.h) + sum(o.c));
  CHECK(max_abs_diff(W.grad(), Tensor::zeros({6, 16})) == 0);
}

TEST_CASE("fused and composed cells agree to rounding on values and on every gradient") {
  const int N = 7, I = 2, H = 5;
  std::vector<Tensor> in = cell_inputs(N, I, H, 31);
  in[4] = randn({4 * H}, 40, 2.0);  // push some gates towards saturation
  Tensor R = randn({N, 2 * H}, 41);
  std::vector<Tensor> out, grads;
  for (CellFn cell : {lstm_cell_composed, lstm_cell_fused}) {
    Tape t;
    std::vector<Var> v;
    for (const Tensor& x : in) v.push_back(t.leaf(x, true));
    Var y = cell_fn(cell)(t, v);
    t.backward(y, R);
    out.push_back(y.value());
    for (const Var& x : v) grads.push_back(x.grad());
  }
  CHECK(max_abs_diff(out[0], out[1]) < 1e-12);
  const char* names[] = {"x", "h", "c", "W", "b"};
  for (int k = 0; k < 5; k++) {
    CAPTURE(names[k]);
    CHECK(max_abs_diff(grads[k], grads[5 + k]) < 1e-12);
  }
}

TEST_CASE("the fused cell writes every entry it reads (poisoned allocations)") {
  std::vector<Tensor> in = cell_inputs(6, 2, 3, 50);  // made before poisoning: finite inputs
  {
    PoisonScope poison;
    CHECK_GRADS(cell_fn(lstm_cell_fused), in);
    // Also through backward paths where some inputs need no gradient (null dx buffers).
    Tape t;
    Var c = t.leaf(in[2], true), W = t.leaf(in[3], true);
    Var y = cell_fn(lstm_cell_fused)(t, {t.constant(in[0]), t.constant(in[1]), c, W, t.constant(in[4])});
    t.backward(sum(y));
    for (const Var& v : {c, W}) {
      Tensor g = v.grad();
      for (size_t i = 0; i < g.size(); i++) REQUIRE(std::isfinite(g[i]));
    }
  }
  CHECK_FALSE(poison_uninit());
}

TEST_CASE("lstm cells reject inconsistent shapes") {
  Tape t;
  std::vector<Tensor> in = cell_inputs(4, 2, 3, 60);
  in[3] = randn({4, 12}, 1);  // W must be (I+H, 4H) = (5, 12)
  std::vector<Var> v;
  for (const Tensor& x : in) v.push_back(t.constant(x));
  CHECK_THROWS_WITH_AS(lstm_cell_fused(v[0], v[1], v[2], v[3], v[4]), doctest::Contains("W (4,12)"),
                       std::invalid_argument);
  CHECK_THROWS_AS(lstm_cell_composed(v[0], v[1], v[2], v[3], v[4]), std::invalid_argument);
}

// ---- the stacked LSTM module ------------------------------------------------------------

// Three steps of a 2-layer LSTM from a given state; returns the top h of every step, side by side.
// W and b from `src` if given, else bound to the tape.
static Var run_steps(LSTM& lstm, Tape& tape, const std::vector<Tensor>& xs, const LSTMState& s0,
                     ParamSource* src = nullptr) {
  std::vector<Var> h, c, tops;
  s0.to_tape(tape, h, c);
  BoundParams own(tape);
  for (const Tensor& x : xs) tops.push_back(lstm.forward(tape.constant(x), h, c, src ? *src : own));
  return concat(tops, 1);
}

TEST_CASE("2-layer LSTM over 3 time steps passes a gradcheck in its params (fused and composed)") {
  const int N = 6, I = 2, H = 4;
  std::vector<Tensor> xs = {randn({N, I}, 70), randn({N, I}, 71), randn({N, I}, 72)};
  for (bool fused : {true, false}) {
    CAPTURE(fused);
    Rng rng(8);
    LSTM lstm(I, H, 2, rng, "lstm", fused);
    LSTMState s0 = lstm.zero_state(N);
    s0.h[1] = randn({N, H}, 73, 0.5);  // a nonzero initial state in one layer
    s0.c[0] = randn({N, H}, 74, 0.5);
    CHECK_PARAM_GRADS(lstm, [&](Tape& tape, ParamSource& src) { return run_steps(lstm, tape, xs, s0, &src); });
  }
}

TEST_CASE("fused and composed LSTM modules agree on outputs and parameter gradients") {
  const int N = 5, I = 2, H = 3;
  std::vector<Tensor> xs = {randn({N, I}, 80), randn({N, I}, 81), randn({N, I}, 82)};
  Rng r1(9), r2(9);
  LSTM a(I, H, 2, r1, "lstm", true), b(I, H, 2, r2, "lstm", false);
  Tape ta, tb;
  Var ya = run_steps(a, ta, xs, a.zero_state(N)), yb = run_steps(b, tb, xs, b.zero_state(N));
  CHECK(max_abs_diff(ya.value(), yb.value()) < 1e-12);
  ta.backward(sum(ya));
  tb.backward(sum(yb));
  for (size_t k = 0; k < a.params().size(); k++) {
    CAPTURE(a.params()[k]->name);
    CHECK(max_abs_diff(a.params()[k]->grad, b.params()[k]->grad) < 1e-12);
  }
}

TEST_CASE("LSTM parameter names, shapes, count and initialization") {
  Rng rng(42);
  LSTM lstm(2, 20, 2, rng);
  std::vector<Param*> ps = lstm.params();
  REQUIRE(ps.size() == 4);
  CHECK(ps[0]->name == "lstm.0.w");
  CHECK(ps[1]->name == "lstm.0.b");
  CHECK(ps[2]->name == "lstm.1.w");
  CHECK(ps[3]->name == "lstm.1.b");
  CHECK(ps[0]->value.shape() == Shape{22, 80});
  CHECK(ps[1]->value.shape() == Shape{80});
  CHECK(ps[2]->value.shape() == Shape{40, 80});
  CHECK(ps[3]->value.shape() == Shape{80});
  CHECK(lstm.param_count() == 1760 + 80 + 3200 + 80);  // 5120
  CHECK(lstm.layers() == 2);

  // Biases: 1 on the forget block [H, 2H), 0 elsewhere. Weights: truncated normal, std 1/sqrt(I+H).
  for (int k = 0; k < 80; k++) CHECK(ps[1]->value[k] == (k >= 20 && k < 40 ? 1 : 0));
  double bound = 2 / std::sqrt(22.0), mx = 0;
  for (size_t i = 0; i < ps[0]->value.size(); i++) mx = std::max(mx, (double)std::fabs(ps[0]->value[i]));
  CHECK(mx <= bound);
  CHECK(mx > 0.8 * bound);
  for (Param* p : ps) {
    CHECK(p->grad.shape() == p->value.shape());
    CHECK(max_abs_diff(p->grad, Tensor::zeros(p->grad.shape())) == 0);
  }
}

TEST_CASE("LSTM: same seed, same bits; the same forward twice gives the same bits") {
  Rng r1(42), r2(42);
  LSTM a(2, 20, 2, r1), b(2, 20, 2, r2);
  for (size_t k = 0; k < a.params().size(); k++) CHECK(same_bits(a.params()[k]->value, b.params()[k]->value));
  const int N = 33;
  std::vector<Tensor> xs = {randn({N, 2}, 90), randn({N, 2}, 91)};
  Tape t1, t2;
  Var y1 = run_steps(a, t1, xs, a.zero_state(N)), y2 = run_steps(a, t2, xs, a.zero_state(N));
  CHECK(same_bits(y1.value(), y2.value()));
  Var y3 = run_steps(b, t1, xs, b.zero_state(N));
  CHECK(same_bits(y1.value(), y3.value()));
}

TEST_CASE("LSTM coordinates are independent: permuting the rows permutes the outputs") {
  const int N = 11, I = 2, H = 5;
  std::vector<int> perm(N);
  for (int i = 0; i < N; i++) perm[i] = (i * 7 + 3) % N;  // a permutation (7 and 11 coprime)
  auto permute = [&](const Tensor& t) {
    Tensor p(t.shape());
    int w = t.dim(1);
    for (int i = 0; i < N; i++)
      for (int j = 0; j < w; j++) p.at(i, j) = t.at(perm[i], j);
    return p;
  };
  std::vector<Tensor> xs = {randn({N, I}, 100), randn({N, I}, 101)}, pxs;
  for (const Tensor& x : xs) pxs.push_back(permute(x));
  for (bool fused : {true, false}) {
    CAPTURE(fused);
    Rng rng(11);
    LSTM lstm(I, H, 2, rng, "lstm", fused);
    LSTMState s0 = lstm.zero_state(N), ps0;
    for (int l = 0; l < 2; l++) {
      s0.h[l] = randn({N, H}, 102 + l);
      s0.c[l] = randn({N, H}, 104 + l);
      ps0.h.push_back(permute(s0.h[l]));
      ps0.c.push_back(permute(s0.c[l]));
    }
    Tape t;
    Tensor y = run_steps(lstm, t, xs, s0).value(), py = run_steps(lstm, t, pxs, ps0).value();
    CHECK(max_abs_diff(permute(y), py) < 1e-14);
  }
}

TEST_CASE("LSTM state helpers and errors") {
  LSTMState s(2, 4, 3);
  REQUIRE(s.h.size() == 2);
  CHECK(s.c[1].shape() == Shape{4, 3});
  CHECK(s.h[0][11] == 0);
  Rng rng(1);
  LSTM lstm(1, 3, 2, rng);
  Tape t;
  std::vector<Var> h, c;
  s.to_tape(t, h, c);
  lstm.forward(t, t.constant(randn({4, 1}, 1)), h, c);
  LSTMState s1 = LSTMState::from_vars(h, c);
  CHECK(same_bits(s1.c[1], c[1].value()));
  CHECK(max_abs_diff(s1.h[0], s.h[0]) > 0);  // the state moved
  std::vector<Var> one = {h[0]};
  CHECK_THROWS_WITH_AS(lstm.forward(t, t.constant(randn({4, 1}, 1)), one, c), doctest::Contains("2 layers"),
                       std::invalid_argument);
  CHECK(lstm_flops(15910, 2, 20) == 2.0 * 15910 * 22 * 80);
}
